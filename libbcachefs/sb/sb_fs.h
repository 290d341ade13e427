/* The superblocks of an open filesystem: keeping the in-memory copies in step, writing them all, marking replicas. */
#ifndef BCH_SB_SB_FS_H
#define BCH_SB_SB_FS_H

#include "core/fs_types.h"
#include "util/printbuf.h"

/*
 * After a device's superblock buffer was edited (it may have moved):
 * c->disk_sb and the decoded c->sb follow it.
 */
void bch_fs_sb_refresh(struct bch_fs *c);

/* Before a device's superblock buffer is edited: whoever reads it beside us stops (c->sb_edit). */
static inline void bch_fs_sb_edit_begin(struct bch_fs *c)
{
	if (c->sb_edit)
		c->sb_edit(c);
}

/* Writes every open device's superblock with the next seq (as it is: clean or not). */
int bch_fs_sb_write_all(struct bch_fs *c, struct printbuf *err);

/*
 * Makes sure the superblocks list replicas entry e (devices sorted), as
 * the kernel requires before any journal entry or key refers to it: adds
 * it to every device's superblock and sets c->sb_dirty when missing.
 */
int bch_fs_replicas_mark(struct bch_fs *c, const struct bch_replicas_entry_v1 *e,
			 struct printbuf *err);

/* Whether the superblock lists replicas entry e (devices sorted). */
bool bch_fs_replicas_marked(struct bch_fs *c, const struct bch_replicas_entry_v1 *e);

/*
 * Sets feature bit `feature` (BCH_FEATURE_*) in every device's superblock
 * when missing, as the kernel does before writing the first compressed
 * or inline data extent; c->sb_dirty tells the next commit to write them.
 */
void bch_fs_feature_set(struct bch_fs *c, unsigned feature);

/*
 * The btrees that lost keys (an unreadable node nothing replaced): the ext
 * section's btrees_lost_data, which the kernel's fsck reads to rebuild
 * what those keys named (snapshots, subvolumes, inodes) instead of
 * deleting the keys that name them.  0 without an ext section.
 */
u64 bch_fs_lost_data(const struct bch_fs *c);

/*
 * Sets btrees_lost_data to mask on every device's superblock (the ext
 * section added when missing); c->sb_dirty has the next commit, or the
 * clean shutdown, write them.
 */
int bch_fs_lost_data_set(struct bch_fs *c, u64 mask, struct printbuf *err);
/* The superblock's version_min lowered to version (nothing if it is not higher). */
void bch_fs_version_min_lower(struct bch_fs *c, u16 version);

#endif

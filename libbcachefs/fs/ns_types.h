/* Types of the filesystem namespace layer: the session handle and a directory's (or file's) string hash parameters. */
#ifndef BCH_FS_NS_TYPES_H
#define BCH_FS_NS_TYPES_H

#include "btree/trans.h"
#include "core/fs_types.h"
#include "fs/snapshot_table.h"

/* The first subvolume and its snapshot, as format creates them. */
#define BCH_NS_ROOT_SUBVOL	1
#define BCH_NS_ROOT_SNAPSHOT	0xffffffffU

/*
 * A writing session on the namespace of an open, writable filesystem
 * (after bch_fs_start_write): every operation runs in `t` and commits.
 */
struct bch_ns {
	struct bch_fs *c;
	struct btree_trans t;
	u32 subvol;
	u32 snapshot;
	/*
	 * A snapshot with ancestors (entered by bch_ns_subvol_enter, to
	 * read) sees their keys too: lookups go through the table.
	 */
	bool see_ancestors;
	struct bch_snapshot_table snaps;
	const struct bch_snapshot_table *table;	/* what lookups use: snaps, or the caller's */
	/*
	 * fsck (bch_ns_fsck_at): every write is of one key at exactly
	 * `snapshot`, as the kernel's fsck writes, and may be committed there
	 */
	bool exact;
	unsigned new_hash_type;		/* enum bch_str_hash_type of new inodes */
	u64 inum_max;			/* inode numbers are below this */
	u64 inum_hint;			/* where the search for a free number starts */
	s64 now_override;		/* nonzero: the time every operation uses (tests) */
};

/* What hashes a directory's entries or a file's xattrs: the inode's type and seed. */
struct bch_hash_info {
	unsigned type;
	u64 seed;
};

#endif

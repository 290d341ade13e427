/* Inodes of the namespace: time, reading and writing, new inodes and their numbers, link counts, removal. */
#ifndef BCH_FS_INODE_ALLOC_H
#define BCH_FS_INODE_ALLOC_H

#include <sys/stat.h>
#include <time.h>

#include "fs/ns_types.h"
#include "keys/inode.h"

/* A time as stored in inodes: units of time_precision since the superblock's time base. */
s64 bch_fs_time_from_timespec(const struct bch_fs *, struct timespec);
struct timespec bch_fs_time_to_timespec(const struct bch_fs *, s64 t);
/* Now, in inode time (or the session's override). */
s64 bch_ns_now(const struct bch_ns *);

/* DT_* of a mode (its file type bits). */
static inline u8 bch_mode_to_dtype(unsigned mode)
{
	return (mode >> 12) & 15;
}

/* Stored link counts are biased: 1 for files, 2 for directories (their "." and ".."). */
unsigned bch_inode_nlink_get(const struct bch_inode_unpacked *);
int bch_inode_nlink_inc(struct bch_inode_unpacked *, struct printbuf *err);
int bch_inode_nlink_dec(struct bch_inode_unpacked *, struct printbuf *err);

static inline bool bch_inode_is_dir(const struct bch_inode_unpacked *u)
{
	return S_ISDIR(u->bi_mode);
}

/* Directories (not subvolume roots) count in their parent's link count. */
static inline bool bch_inode_is_subdir_for_nlink(const struct bch_inode_unpacked *u)
{
	return bch_inode_is_dir(u) && !u->bi_subvol;
}

static inline struct bch_hash_info bch_inode_hash_info(const struct bch_inode_unpacked *u)
{
	return (struct bch_hash_info) { bch_inode_str_hash(u), u->bi_hash_seed };
}

/*
 * The inode inum in the session's snapshot, as the transaction sees it
 * (pending updates first): 0, -BCH_ERR_not_found, or another error.
 */
int bch_ns_inode_get(struct bch_ns *, u64 inum, struct bch_inode_unpacked *,
		     struct printbuf *err);
/* Queues u (packed as inode_v3 at (0, bi_inum, session snapshot)). */
int bch_ns_inode_write(struct bch_ns *, struct bch_inode_unpacked *, struct printbuf *err);

/*
 * A new inode as the kernel fills it (inode_init_early + _late): the
 * session's string hash type in bi_flags, a random hash seed, mode, uid,
 * gid, dev, the four times = now, link count 0 stored (one link, or two
 * for a directory); from a parent: its io options, and its gid (and setgid
 * for directories) when the parent is setgid.  No number yet.
 */
void bch_ns_inode_init(struct bch_ns *, struct bch_inode_unpacked *u,
		       const struct bch_inode_unpacked *parent, unsigned mode,
		       u32 uid, u32 gid, u32 dev, s64 now);

/*
 * A free inode number: the first one at or after the session's hint with
 * no key of any snapshot in the inodes btree (nor a pending one), from
 * BLOCKDEV_INODE_MAX when the search passes the end.  Generation 0.
 */
int bch_ns_inum_alloc(struct bch_ns *, u64 *inum, struct printbuf *err);

/*
 * Removes an inode for good, as the kernel does when the last link goes
 * and nothing holds it open: its extents, xattrs and dirents (a deleted
 * directory may keep hash whiteouts) are deleted and the inode key becomes
 * an inode_generation key with the next generation.  Queued in the
 * session's transaction; reads committed keys, so the keys deleted are
 * those committed before.
 */
int bch_ns_inode_remove(struct bch_ns *, const struct bch_inode_unpacked *,
			struct printbuf *err);

/* Queues a deleted key over [start, end) of inum: the transaction trims what it covers. */
int bch_ns_extent_range_delete(struct bch_ns *, u64 inum, u64 start, u64 end);

/*
 * Extents of inum in [start, end) (sectors) are deleted, the ones crossing
 * start or end trimmed (one around the range split in two);
 * *sectors_removed the allocated sectors that go (the caller takes them
 * off bi_sectors).
 */
int bch_ns_extents_punch(struct bch_ns *, u64 inum, u64 start, u64 end, u64 *sectors_removed,
			 struct printbuf *err);

#endif

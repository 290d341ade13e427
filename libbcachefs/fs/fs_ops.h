/* Namespace operations: a session on a writable filesystem; create, link, unlink, rename, truncate, setattr, xattrs, each one committed transaction. */
#ifndef BCH_FS_FS_OPS_H
#define BCH_FS_FS_OPS_H

#include <time.h>

#include "fs/ns_types.h"
#include "keys/inode.h"

/*
 * Starts a session on c (opened for writing, bch_fs_start_write done) in
 * the root subvolume: its snapshot from the subvolume key, the hash type
 * of new inodes from the str_hash option (and new_siphash), inode numbers
 * below 2^31 with inodes_32bit, else 2^63.
 */
int bch_ns_init(struct bch_ns *, struct bch_fs *c, struct printbuf *err);
/* The same in no subvolume (snapshot 0): for fsck, whose repairs name their snapshot (bch_ns_fsck_at). */
int bch_ns_init_detached(struct bch_ns *, struct bch_fs *c, struct printbuf *err);
void bch_ns_exit(struct bch_ns *);

/*
 * Moves the session into subvolume subvol (*root its root directory), to
 * read: in a snapshot with ancestors, lookups (bch_ns_key_get) see the
 * ancestors' keys where the snapshot has none of its own.
 */
int bch_ns_subvol_enter(struct bch_ns *, u32 subvol, u64 *root, struct printbuf *err);

/*
 * For fsck: the session works in snapshot `snapshot` of table t (which
 * must outlive the session's use of it), seeing ancestors' keys, and its
 * commits write exactly the keys queued, at that snapshot: no whiteouts
 * for descendants, as the kernel's repairs do. 0, or not_found when t
 * has no such snapshot.
 */
int bch_ns_fsck_at(struct bch_ns *, const struct bch_snapshot_table *t, u32 snapshot,
		   struct printbuf *err);

/*
 * The key at (inode, offset) the session's snapshot sees, into k (room
 * for u64s): 1, 0 when there is none, or an error. Whiteouts are
 * returned as they are: they hide what an ancestor has there.
 */
int bch_ns_key_get(struct bch_ns *, enum btree_id btree, u64 inode, u64 offset,
		   struct bkey_i *k, unsigned u64s, struct printbuf *err);

/*
 * Commits what the session's transaction holds (the operations below do
 * it themselves); the commit keeps the journal from filling itself.
 */
int bch_ns_commit(struct bch_ns *, struct printbuf *err);

/* What a new inode gets besides what the kernel fills in. */
struct bch_create_args {
	unsigned mode;			/* file type and permission bits */
	u32 uid, gid;
	u32 rdev;			/* bi_dev of device nodes, as given */
	u64 size;			/* bi_size (a symlink: its target's length) */
	bool set_times;			/* atime, mtime, ctime below; else now */
	struct timespec atime, mtime, ctime;
};

/*
 * A new inode named name in directory dir, as the kernel's create: the
 * inode (number, seed, hash type, io options from dir, backpointer to its
 * dirent), the dirent (d_type from the mode), dir's mtime and ctime = now
 * and, for a directory, dir's link count + 1.  *out (optional) the new
 * inode as written.  Errors: exists, not_dir, name errors.
 */
int bch_ns_create(struct bch_ns *, u64 dir, const char *name, const struct bch_create_args *,
		  struct bch_inode_unpacked *out, struct printbuf *err);

/*
 * A hardlink name in dir to inode inum (not a directory): link count + 1,
 * the inode's ctime and dir's mtime/ctime = now, and its backpointer
 * moves to the new dirent, as the kernel's link does.
 */
int bch_ns_link(struct bch_ns *, u64 dir, const char *name, u64 inum, struct printbuf *err);

/* Unlink flags */
#define BCH_UNLINK_KEEP_OPEN	(1U << 0)	/* the inode is open: keep it flagged unlinked */

/*
 * Removes name from dir: the dirent (a whiteout if its probe chain goes
 * on), the target's link count - 1 and backpointer cleared if it named
 * this dirent, dir's mtime/ctime and the target's ctime = now, dir's link
 * count - 1 for a subdirectory (which must be empty).  At link count 0 the
 * inode goes with its extents and xattrs (an inode_generation key is
 * left), as when the kernel evicts it; with KEEP_OPEN it stays flagged
 * unlinked (and in deleted_inodes), as while a file is open.
 */
int bch_ns_unlink(struct bch_ns *, u64 dir, const char *name, unsigned flags,
		  struct printbuf *err);

/* Rename flags */
#define BCH_RENAME_NOREPLACE	(1U << 0)	/* fail if dst exists */
#define BCH_RENAME_EXCHANGE	(1U << 1)	/* swap src and dst (both must exist) */

/*
 * Renames src_dir/src_name to dst_dir/dst_name as the kernel's rename:
 * the moved dirent at a free slot of dst (or over the replaced entry),
 * src deleted (a whiteout if needed; a hash collision in one directory
 * reuses src's slot), backpointers moved, directories' link counts
 * moved, a replaced inode's link count - 1 (removed at 0; a replaced
 * directory must be empty, and directories replace only directories),
 * mtime/ctime of both directories and ctime of both inodes = now.
 * Renaming onto a name for the same inode does nothing.
 */
int bch_ns_rename(struct bch_ns *, u64 src_dir, const char *src_name, u64 dst_dir,
		  const char *dst_name, unsigned flags, struct printbuf *err);

/*
 * i_size = size; the extents from size rounded up to a block on are
 * deleted (the one crossing it trimmed) and bi_sectors drops by the
 * allocated sectors that went; mtime/ctime = now when the size changes.
 * Zeroing the tail of the last block is the data path's business.
 */
int bch_ns_truncate(struct bch_ns *, u64 inum, u64 size, struct printbuf *err);
/* The same with the times left alone: a logged truncate finished after a crash, as the kernel does. */
int bch_ns_truncate_resume(struct bch_ns *, u64 inum, u64 size, struct printbuf *err);

/*
 * An insert (dst > src) or collapse (dst < src) of a range, as the
 * kernel's fallocate makes it, from the state op says: op is the
 * operation's logged_op_finsert key in the logged_ops btree, rewritten
 * with every commit so that a run cut short is resumed where it stopped.
 * Start: i_size grows by the length (an insert), or the range
 * [src, src + len) is punched (a collapse, bi_sectors dropping with it);
 * then the extents past src move dst - src sectors, from the last for an
 * insert (the one crossing src split), from the first for a collapse, a
 * batch per commit with op's pos; last, a collapse's i_size shrinks and
 * mtime and ctime are now.  The session must be in op's subvolume; op is
 * left for the caller to delete.  Errors: bad_argument (an insert at or
 * past the end of the file; a snapshot with ancestors), not_found.
 */
int bch_ns_finsert(struct bch_ns *, struct bkey_i *op, struct printbuf *err);

/* setattr: which fields apply */
#define BCH_ATTR_MODE	(1U << 0)	/* permission bits (and suid, sgid, sticky) */
#define BCH_ATTR_UID	(1U << 1)
#define BCH_ATTR_GID	(1U << 2)
#define BCH_ATTR_ATIME	(1U << 3)
#define BCH_ATTR_MTIME	(1U << 4)
#define BCH_ATTR_CTIME	(1U << 5)	/* an explicit ctime; else now */

struct bch_setattr {
	unsigned valid;
	unsigned mode;
	u32 uid, gid;
	struct timespec atime, mtime, ctime;
};

int bch_ns_setattr(struct bch_ns *, u64 inum, const struct bch_setattr *, struct printbuf *err);

/* Writes u back as it is (format --source sets sizes and times this way). */
int bch_ns_inode_update(struct bch_ns *, struct bch_inode_unpacked *u, struct printbuf *err);

/* setxattr / removexattr (xattr_ops.h says what they do), committed. */
int bch_ns_xattr_set(struct bch_ns *, u64 inum, const char *name, const void *value,
		     size_t size, unsigned flags, struct printbuf *err);
int bch_ns_xattr_remove(struct bch_ns *, u64 inum, const char *name, struct printbuf *err);

#endif

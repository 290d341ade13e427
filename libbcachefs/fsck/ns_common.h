/* Shared by the namespace fsck passes: the inode table (sorted by number), the repair session, key iteration. */
#ifndef BCH_FSCK_NS_COMMON_H
#define BCH_FSCK_NS_COMMON_H

#include <dirent.h>

#include "fsck/fsck.h"
#include "fs/inode_alloc.h"
#include "fs/ns_types.h"
#include "keys/inode.h"

/* What the passes need of each inode (root snapshot only), filled from the inodes btree. */
struct ns_inode {
	u64 inum;
	u64 size, sectors;
	u64 dir, dir_offset;
	u64 hash_seed;
	u32 flags;
	u32 nlink;		/* stored (biased) bi_nlink */
	u32 subvol;
	u16 mode;
	u32 count;		/* per pass: names, subdirectories, ... */
	u64 counted;		/* per pass: sectors, ... */
	u8 state;		/* per pass */
};

struct ns_itab {
	struct ns_inode *d;
	size_t nr, size;
};

/*
 * The inode table the passes share (f->itab): read from the inodes btree
 * by the first pass that asks, again only after a namespace repair was
 * committed (ns_fix_commit marks it stale); the per-pass fields come
 * back zeroed.  0, or an error (reported through f).
 */
int ns_itab_get(struct bch_fsck *, struct ns_itab **);
/* Filling a stale table from a walk of the inodes: begin (1: fill), fill each, end (ok: the walk finished). */
int ns_itab_fill_begin(struct bch_fsck *);
int ns_itab_fill(struct bch_fsck *, const struct bch_inode_unpacked *);
void ns_itab_fill_end(struct bch_fsck *, bool ok);
struct ns_inode *ns_itab_find(struct ns_itab *, u64 inum);
static inline bool ns_unlinked(const struct ns_inode *i)
{
	return i->flags & (1U << BCH_INODE_unlinked);
}

/* The repair session, started at the first repair. */
struct ns_fix {
	struct bch_fsck *f;
	struct bch_ns ns;
	bool started;
};

int ns_fix_begin(struct ns_fix *);
void ns_fix_end(struct ns_fix *);
/* Commits the session's transaction (reporting an error through f). */
int ns_fix_commit(struct ns_fix *, const char *what);

/* Rewrites inode inum after fn changed it: read, fn, write, commit. */
typedef void (*ns_inode_edit_fn)(struct bch_inode_unpacked *, void *ctx);
int ns_fix_inode(struct ns_fix *, u64 inum, ns_inode_edit_fn, void *ctx);

/* Deletes the key at pos in btree (with triggers) and commits. */
int ns_fix_delete(struct ns_fix *, enum btree_id, struct bpos pos);
/* Writes k (its triggers run) and commits. */
int ns_fix_put(struct ns_fix *, enum btree_id, const struct bkey_i *k);

/* Puts inum into lost+found (made if missing) under its number, as the kernel reattaches. */
int ns_fix_reattach(struct ns_fix *, u64 inum);

/* The key is in the root snapshot: 0, 1 when not (deleted if repaired), or an error. */
int ns_key_in_missing_snapshot(struct bch_fsck *, struct ns_fix *, enum btree_id, struct bkey_s_c,
			       struct printbuf *);

/* The key's inode exists and may own it: 0, 1 when not (deleted if repaired), or an error. */
int ns_key_has_inode(struct bch_fsck *, struct ns_fix *, struct ns_itab *, enum btree_id,
		     struct bkey_s_c, struct printbuf *, struct ns_inode **);

int bch_check_snapshot_trees(struct bch_fsck *);
int bch_check_snapshots(struct bch_fsck *);
int bch_check_subvols(struct bch_fsck *);
int bch_check_subvol_children(struct bch_fsck *);
int bch_check_inodes(struct bch_fsck *);
int bch_check_extents(struct bch_fsck *);
int bch_check_dirents(struct bch_fsck *);
int bch_check_xattrs(struct bch_fsck *);
int bch_check_root(struct bch_fsck *);
int bch_check_unreachable_inodes(struct bch_fsck *);
int bch_check_directory_structure(struct bch_fsck *);
int bch_check_nlinks(struct bch_fsck *);

#endif

/* Shared by the snapshot passes (fsck/snap_checks.c, fsck/snap_dead.c): reads and queued writes of the small btrees, parent walks of the table, id lists. */
#ifndef BCH_FSCK_SNAP_COMMON_H
#define BCH_FSCK_SNAP_COMMON_H

#include "fsck/ns_common.h"

/* The key at pos: 1 (of any type), 0 when there is none, or an error (reported). */
int snap_key_get(struct bch_fsck *, enum btree_id, struct bpos, union snap_key *);

/* The snapshot id (zero-filled past a short value); k (may be NULL) gets the whole key. */
int snap_snapshot_get(struct bch_fsck *, u32 id, struct bch_snapshot *, union snap_key *k);

/* The first id past the last snapshot tree, as the kernel numbers a new one. */
int snap_tree_id_next(struct bch_fsck *, u32 *id);

/*
 * Repairs are queued in the session's transaction and committed together;
 * a commit after a snapshots update has f->snaps read again.
 */
struct snap_fix {
	struct ns_fix x;
	struct printbuf buf;		/* key texts for messages */
	bool snaps_dirty;
	unsigned queued;
};

int snap_q_put(struct snap_fix *, enum btree_id, const struct bkey_i *, unsigned flags);
/* An exact delete: only the key at pos goes (no extent overwriting). */
int snap_q_del(struct snap_fix *, enum btree_id, struct bpos);
int snap_q_snapshot(struct snap_fix *, u32 id, const struct bch_snapshot *);
int snap_q_tree(struct snap_fix *, u32 id, const struct bch_snapshot_tree *);
/* The subvolume_children entry (parent, child): set or removed. */
int snap_q_child_entry(struct snap_fix *, u32 parent, u32 child, bool set);
/*
 * Subvolume id written with value v (NULL: deleted); the transaction's
 * subvolume trigger moves its subvolume_children entry, as the kernel's.
 */
int snap_q_subvol(struct snap_fix *, u32 id, const struct bch_subvolume *v);
int snap_q_commit(struct snap_fix *, const char *what);
void snap_fix_exit(struct snap_fix *);

/* ns_walk, fn given the session and ctx. */
typedef int (*snap_key_fn)(struct snap_fix *, struct bkey_s_c, void *ctx);
int snap_walk(struct snap_fix *, enum btree_id, snap_key_fn, void *ctx);

/*
 * Until check_snapshots has repaired them, skiplists may name anything:
 * these walks follow parent pointers alone, as the kernel does before
 * that pass is done.  Parents have larger ids, so the walks end.
 */
bool snap_is_ancestor(const struct bch_snapshot_table *, u32 id, u32 anc);
/* The root of id's tree: the last node reached going up (possibly one missing from the table). */
u32 snap_root(const struct bch_snapshot_table *, u32 id);
u32 snap_nth_parent(const struct bch_snapshot_table *, u32 id, u32 nth);
/*
 * The smallest subvolume of a node at or below id (0: none): for a tree's
 * root, the kernel's oldest subvolume of the tree.
 */
u32 snap_tree_oldest_subvol(const struct bch_snapshot_table *, u32 id);
/* Sorts a skiplist ascending, as the kernel keeps them. */
void snap_skip_sort(struct bch_snapshot *);

/*
 * The inode inum as snapshot snap sees it: its own version or its nearest
 * ancestor's; 1, 0 when that is no inode (or there is none), or an error.
 */
int snap_inode_get(struct bch_fsck *, u64 inum, u32 snap, struct bch_inode_unpacked *);


#endif

/* The snapshots btree in memory: each snapshot's parent, skiplist and subvolume, and which snapshots see which keys. */
#ifndef BCH_FS_SNAPSHOT_TABLE_H
#define BCH_FS_SNAPSHOT_TABLE_H

#include "core/fs_types.h"

/*
 * One snapshot. New snapshots take ids below their parent's, so every
 * ancestor of a snapshot has a larger id than it.
 */
struct bch_snapshot_node {
	u32 id;
	u32 parent;			/* 0: a tree's root */
	u32 skip[3];			/* ancestors further up, for long jumps */
	u32 subvol;
	u32 tree;
	u32 depth;
	bool is_subvol, deleted;
};

/* Sorted by id. */
struct bch_snapshot_table {
	struct bch_snapshot_node *n;
	size_t nr;
};

/* Reads the snapshots btree of c into t (emptied first); 0 or an error, said in err. */
int bch_snapshot_table_load(struct bch_fs *c, struct bch_snapshot_table *t, struct printbuf *err);
void bch_snapshot_table_exit(struct bch_snapshot_table *t);

/* The snapshot of that id, NULL if there is none. */
const struct bch_snapshot_node *bch_snapshot_get(const struct bch_snapshot_table *t, u32 id);

/*
 * Whether keys written in snapshot anc are seen from snapshot id: anc is
 * id itself or one of its ancestors. Steps only to larger ids, so a
 * damaged table cannot make it loop.
 */
bool bch_snapshot_is_ancestor(const struct bch_snapshot_table *t, u32 id, u32 anc);

#endif

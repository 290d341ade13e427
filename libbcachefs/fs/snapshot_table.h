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

/*
 * The key at (inode, offset) of btree that snapshot snap sees: its own, or
 * its nearest ancestor's (keys of one position come in snapshot order, so
 * the first ancestor met is the nearest); whiteouts are returned as they
 * are. Into k (room for u64s): 1, 0 when there is none, or an error said
 * in err.
 */
int bch_snapshot_key_get(struct bch_fs *c, const struct bch_snapshot_table *t, enum btree_id btree,
			 u64 inode, u64 offset, u32 snap, struct bkey_i *k, unsigned u64s,
			 struct printbuf *err);

/*
 * A walk over the keys of every snapshot (fsck) meets the keys of one
 * position together, in ascending snapshot order: this list holds the
 * snapshots that had a key at the current position so far.
 */
struct bch_snapshots_seen {
	struct bpos pos;
	u32 *ids;
	size_t nr, size;
};

/* The key at pos was met: a new position empties the list; 0 or -BCH_ERR_nomem. */
int bch_snapshots_seen_add(struct bch_snapshots_seen *s, struct bpos pos);
void bch_snapshots_seen_exit(struct bch_snapshots_seen *s);

/*
 * Whether the key of snapshot anc at the position of s (the last one
 * added) is what snapshot id sees there: anc is id or an ancestor, and no
 * snapshot between them (a descendant of anc that id descends from) has a
 * key of its own there, whiteouts included.
 */
bool bch_snapshot_key_visible(const struct bch_snapshot_table *t,
			      const struct bch_snapshots_seen *s, u32 id, u32 anc);

#endif

/* Iterating a btree in key order, with the journal's keys overlaid at every level. */
#ifndef BCH_BTREE_ITER_H
#define BCH_BTREE_ITER_H

#include "btree/btree_types.h"
#include "btree/overlay.h"
#include "core/fs_types.h"

/*
 * The iterator pins one node of the node cache per level on the path from
 * the root to the current position, and moves the pins as the path moves.
 * Overlay keys (c->overlay: replayed journal keys and committed updates
 * not yet in nodes) of the same btree and level override node keys at
 * equal positions, so the btree reads as it will once they are written.
 * Keys may be inserted into the overlay while an iterator is open: the
 * next peek sees those after the key it returned last.
 */
struct btree_iter {
	struct bch_fs *c;
	enum btree_id btree_id;
	unsigned level;			/* level of the keys returned */
	struct bpos pos;		/* next position to search from */
	unsigned root_level;
	bool have_root;			/* false: the btree is empty on disk */
	bool no_journal;		/* the nodes alone, without the overlay */
	unsigned node_level;		/* node iteration: level of the current node */
	bool node_end;
	bool key_end;			/* the key returned last was at SPOS_MAX */
	struct btree *path[BTREE_MAX_DEPTH];	/* pinned, or NULL */
	size_t node_idx;		/* cursor in path[level].keys */
	struct bch_overlay_iter ov_iter;	/* cursor in c->overlay at `level` */
	struct bkey k;			/* the key returned last */
	struct printbuf err;
	/*
	 * the path was set by a traverse (path_ok) when the overlay's change
	 * count and the roots' were these: while they stay so and the position
	 * moves on inside the leaf, the path stays right (peek need not
	 * descend from the root again)
	 */
	bool path_ok;
	u64 path_ov_gen;
	u64 path_roots_gen;
	/* per level: the parent, index and position of the child the path moved to last (read-ahead) */
	const struct btree *ra_parent[BTREE_MAX_DEPTH];
	size_t ra_idx[BTREE_MAX_DEPTH];
	struct bpos ra_pos[BTREE_MAX_DEPTH];
};

/*
 * A btree without a root whose overlay holds node pointers (fsck put the
 * nodes a scan found there): iterators start from an empty interior node
 * at the highest such level, and the flush writes it as the new root.
 * That level, or 0.
 */
unsigned bch_btree_virtual_root_level(const struct bch_fs *, enum btree_id);

void bch_btree_iter_init(struct btree_iter *, struct bch_fs *, enum btree_id,
			 struct bpos start, unsigned level);
void bch_btree_iter_exit(struct btree_iter *);

/*
 * The first live key at or after the iterator's position: 1 and *k set,
 * 0 at the end of the btree, or a negative error (it.err says what).
 * Deleted keys are skipped; whiteouts are returned.
 */
int bch_btree_iter_peek(struct btree_iter *, struct bkey_s_c *k);

/* Moves the position just past the key peek returned. */
void bch_btree_iter_advance(struct btree_iter *);

/*
 * Node iteration, in the kernel's order: the nodes at the iterator's level
 * from its position on, each interior node (above that level) coming right
 * after its last child, the root last.  peek_node gives the current node
 * (*b): 1, 0 past the end, or a negative error; next_node moves on.  A
 * btree with no root on disk has one empty leaf whose key is a bare
 * btree_ptr at SPOS_MAX, as the kernel makes in memory.
 */
int bch_btree_iter_peek_node(struct btree_iter *, const struct btree **b);
void bch_btree_iter_next_node(struct btree_iter *);

#endif

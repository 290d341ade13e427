/* Writing the overlay into btree nodes: leaves first, copy-on-write, then the interior levels and roots. */
#ifndef BCH_BTREE_FLUSH_H
#define BCH_BTREE_FLUSH_H

#include "core/fs_types.h"
#include "util/printbuf.h"

/*
 * Writes every overlay entry into btree nodes, as the kernel's
 * interior-update path leaves them:
 *  - per btree, per level from the leaves up, the overlay entries are
 *    grouped by the node covering them; a node takes them as one more
 *    bset appended after its written sectors when they fit, else the
 *    node's keys and the updates are merged and written as new nodes
 *    (split when more than one node's worth, in newly allocated space,
 *    new random seq, generation + 1), and small neighbours are merged;
 *  - every node pointer that changes (new node, sectors_written after an
 *    append, removed node) is a level + 1 update committed through a
 *    transaction (its triggers mark the new buckets and release the old
 *    ones); a new root goes through bch_trans_set_root(); the tree grows
 *    a level when the root splits (the children's pointers are committed
 *    as updates of the new level with it, for their triggers) and, as in
 *    the kernel, never shrinks;
 *  - those commits add overlay entries of their own (alloc, backpointers,
 *    accounting, the parent level): passes repeat until the overlay is
 *    empty.
 * Before any node is written the journal is flushed up to the newest seq
 * of its keys.  After the last pass the journal's last_seq advances.
 *
 * Order per node: write the new node(s), fsync, commit the pointer
 * changes, then drop from the overlay exactly the entries written (a
 * commit may have added entries in the same range, e.g. alloc keys of
 * the new node's bucket while flushing the alloc btree: they stay for the
 * next pass).  Needs the allocator (bch_allocator_start) and an open
 * journal.  After an error the in-memory state may be half updated: the
 * caller must not go on writing.
 */
int bch_btree_flush_all(struct bch_fs *c, struct printbuf *err);

/*
 * Journal reclaim, called by every commit outside a flush: when the
 * journal is half full (bch_journal_needs_reclaim) or the overlay holds
 * more than BCH_OVERLAY_BYTES_MAX, flushes the btree and writes a flush
 * jset, so the journal never fills and the overlay's memory stays bounded.
 */
#define BCH_OVERLAY_BYTES_MAX	(256ULL << 20)
int bch_btree_reclaim(struct bch_fs *c, struct printbuf *err);

/* ---- the planner: what becomes of one node, without I/O ---- */

/* An existing node as the planner sees it (struct btree gives all of it). */
struct bch_flush_node {
	struct bpos min_key, max_key;
	const struct bkey *keys;	/* live keys, sorted */
	const void *const *vals;
	size_t nr;
	struct bkey_format format;
	unsigned written;		/* sectors; 0: nothing on disk (no append) */
	bool rewrite;			/* rewritten whole even if no update changes it */
	size_t live_u64s;		/* of the keys as stored */
	u64 max_journal_seq;
};

/* One overlay entry: a key, or a deleted key removing the node's key there. */
struct bch_flush_update {
	const struct bkey_i *k;
	u64 journal_seq;
};

struct bch_flush_geom {
	unsigned block_sectors;
	unsigned node_sectors;
	bool is_root;			/* never merged with a neighbour */
	bool no_merge;			/* a merge would not make one node: append when it fits */
};

/* u64s of keys a node holds, and the kernel's split / merge thresholds. */
static inline size_t bch_btree_max_u64s(const struct bch_flush_geom *g)
{
	return (((size_t)g->node_sectors << 9) - sizeof(struct btree_node)) / 8;
}
/*
 * A new node is filled to at most 2/3, and never into its last block: a
 * node written to its end takes no appends, so the next update to it is a
 * rewrite, which allocates, which updates the alloc and backpointers
 * btrees again; with nodes of two or three blocks that never ends.
 */
static inline size_t bch_flush_split_u64s(const struct bch_flush_geom *g)
{
	size_t max = bch_btree_max_u64s(g), block = (size_t)g->block_sectors << 6;

	if (g->node_sectors >= 2 * g->block_sectors && max - block < max * 2 / 3)
		return max - block;
	return max * 2 / 3;
}
#define BCH_FLUSH_SPLIT_U64s(g)	bch_flush_split_u64s(g)
#define BCH_FLUSH_MERGE_U64s(g)	(bch_btree_max_u64s(g) / 3)

enum bch_flush_action {
	BCH_FLUSH_NOTHING,	/* every update is already in the node */
	BCH_FLUSH_APPEND,	/* keys[] are one more bset of the node */
	BCH_FLUSH_REWRITE,	/* keys[] split into pieces[], each a new node */
};

/* One new node of a rewrite: keys[start, start + nr) of the plan. */
struct bch_flush_piece {
	size_t start, nr;
	struct bpos min_key, max_key;
	struct bkey_format format;
	size_t u64s;			/* of the keys in that format */
	u64 journal_seq;		/* newest seq of its keys (inputs' bsets included) */
};

struct bch_flush_plan {
	enum bch_flush_action action;
	/* append: the bset (whiteouts for removed keys); rewrite: all keys */
	struct bkey *keys;
	const void **vals;
	u64 *seqs;
	size_t nr, size;
	u64 journal_seq;		/* append: newest seq of the bset */
	size_t u64s;			/* append: u64s of the bset; rewrite: of all keys */
	size_t live_u64s_after;		/* append: estimated live u64s of the node after */
	struct bch_flush_piece *pieces;
	size_t nr_pieces, size_pieces;
};

/*
 * Decides for nodes[0..nr_nodes) (consecutive: each starts right after
 * the one before; more than one when merging neighbours) and the sorted
 * updates of their range: APPEND (one node, written, the bset fits after
 * its written sectors, block aligned, and the node does not shrink below
 * the merge threshold unless it is the root), else REWRITE: the merged
 * keys (updates win, deleted ones remove) cut into the fewest pieces of
 * at most 2/3 of a node each, of even size, each with the format the
 * kernel computes for it; the first piece starts at nodes[0].min_key, the
 * last ends at the last node's max_key, each ends at its last key.  An
 * empty result is one empty piece.  Buffers of *out are reused.
 * 0, -BCH_ERR_nomem, or -BCH_ERR_bad_argument (an update outside the range).
 */
int bch_flush_plan(const struct bch_flush_geom *, const struct bch_flush_node *nodes,
		   unsigned nr_nodes, const struct bch_flush_update *upd, size_t nr_upd,
		   struct bch_flush_plan *out);
void bch_flush_plan_exit(struct bch_flush_plan *);

#endif

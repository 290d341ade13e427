/* Scanning the devices for btree nodes: what is left of a btree when its pointers are lost. */
#ifndef BCH_BTREE_NODE_SCAN_H
#define BCH_BTREE_NODE_SCAN_H

#include "core/fs_types.h"
#include "keys/extents.h"
#include "util/printbuf.h"

/*
 * A node found on disk: where it is (its replicas), the range and level
 * it covers in which btree, and how new it is (the header's seq, then the
 * newest journal seq of its bsets).  After the scan resolves overlaps a
 * node may cover less than its header says (range_updated).
 */
struct bch_found_node {
	u8 btree_id;
	u8 level;
	u8 nr_ptrs;
	bool range_updated;
	bool overwritten;
	u16 sectors_written;
	u32 node_seq;			/* BTREE_NODE_SEQ of the header */
	u64 cookie;			/* keys.seq: the same for every replica of a node */
	u64 journal_seq;
	struct bpos min_key, max_key;
	struct bch_extent_ptr ptrs[BCH_REPLICAS_MAX];
};

struct bch_node_scan {
	struct bch_found_node *nodes;	/* by btree, level (higher first), min_key */
	size_t nr, size;
	bool done;
	u64 sectors_read, nodes_seen;
};

/*
 * The btrees the allocation passes rebuild from the others (the kernel's
 * btree_id_is_alloc): never scanned for, emptied when lost.
 */
bool bch_btree_id_derived(enum btree_id id);

/*
 * Reads the start of every btree-node-sized slot the members' btree
 * bitmaps allow, keeps the nodes that read and validate whole (of the
 * btrees the allocation btrees are not derived from: those are rebuilt,
 * never scanned for), merges replicas and lets newer nodes win where
 * ranges overlap, as the kernel's scan does.  Once per scan structure.
 */
int bch_node_scan(struct bch_fs *, struct bch_node_scan *, struct printbuf *err);
void bch_node_scan_exit(struct bch_node_scan *);

/* Whether the scan found nodes of btree `id` (at any level). */
bool bch_node_scan_has(const struct bch_node_scan *, enum btree_id id);

/*
 * The found nodes of (id, level) overlapping [min, max], clipped to it, in
 * order: calls fn with each one's pointer key (a btree_ptr_v2, range
 * updated where clipped); stops at fn's first non-zero return.
 */
int bch_node_scan_range(const struct bch_node_scan *, enum btree_id id, unsigned level,
			struct bpos min, struct bpos max,
			int (*fn)(void *ctx, const struct bkey_i *ptr), void *ctx);

void bch_found_node_to_text(struct printbuf *, const struct bch_found_node *);

#endif

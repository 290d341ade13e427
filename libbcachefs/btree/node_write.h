/* Writing btree nodes: the bytes of a node's first write and of its later bsets, checksummed, ready for the device. */
#ifndef BCH_BTREE_NODE_WRITE_H
#define BCH_BTREE_NODE_WRITE_H

#include "btree/btree_types.h"
#include "core/fs_types.h"

/* What the header of a node's first write records. */
struct bch_node_hdr {
	enum btree_id btree_id;
	unsigned level;
	struct bpos min_key;
	struct bpos max_key;		/* inclusive */
	u64 seq;			/* bset seq: random per node, = btree_ptr_v2.seq */
	u32 node_gen;			/* header SEQ: the kernel adds 1 on each rewrite */
	struct bkey_format format;
};

/*
 * The keys of one bset: unpacked, in strictly increasing position order,
 * each value beside (vals[i] holds bkey_val_bytes(&keys[i]) bytes).  The
 * pad byte and the needs_whiteout bit of the keys are ignored.
 */
struct bch_bset_keys {
	const struct bkey *keys;
	const void *const *vals;
	size_t nr;
	u64 journal_seq;		/* newest journal seq of these keys; 0: none */
};

/*
 * The first write of a node into `node` (node_bytes, at least the node
 * size): struct btree_node, one bset of the keys (packed in h->format when
 * they fit it, else unpacked), zero padding to the block, checksum of the
 * filesystem's metadata checksum type.  Returns the sectors to write (from
 * the start of the node), or a negative error with the reason in err:
 * keys out of order or of bad size, more keys than the node holds, an
 * encrypted filesystem (not supported yet).  Nothing outside those
 * sectors is touched; after an error what they hold is of no use.
 */
int bch_btree_node_write_first(const struct bch_fs *c, const struct bch_node_hdr *h,
			       const struct bch_bset_keys *keys,
			       void *node, size_t node_bytes, struct printbuf *err);

/*
 * A later write: a btree_node_entry and one bset at sector `offset` of
 * `node` (a block boundary, past everything written so far), its keys
 * packed in the format and with the seq of the first write found in
 * `node`.  Returns the sectors written from offset; 0 when there are no
 * keys, as an empty later bset is damage the kernel reports.
 */
int bch_btree_node_write_next(const struct bch_fs *c, void *node, size_t node_bytes,
			      unsigned offset, const struct bch_bset_keys *keys,
			      struct printbuf *err);

/* u64s the keys take in a bset written in format f. */
size_t bch_bset_keys_u64s(const struct bkey_format *f, const struct bch_bset_keys *keys);

/*
 * What a rewrite writes: node b (as read, any number of bsets) as a first
 * write of one bset holding its live keys, in the format the kernel would
 * compute for them (the old one when the keys would not fit the node in
 * the new one), with journal seq the newest of b's bsets.  The caller
 * chooses the bset seq and the generation (a rewrite elsewhere takes a
 * new random seq and b->node_seq + 1).  Returns sectors as above.
 */
int bch_btree_node_compact(const struct bch_fs *c, const struct btree *b,
			   u64 seq, u32 node_gen, void *node, size_t node_bytes,
			   struct printbuf *err);

/* The format bch_btree_node_compact() writes b in. */
struct bkey_format bch_btree_node_compact_format(const struct bch_fs *c,
						 const struct btree *b);

/*
 * The btree_ptr_v2 key of a node covering [min_key, max_key] with bset
 * seq `seq`, `sectors` written, at the nr device pointers ptrs (k has
 * room for them); flags clear.
 */
void bch_btree_ptr_v2_init(struct bkey_i *k, struct bpos max_key, struct bpos min_key, u64 seq,
			   unsigned sectors, const struct bch_extent_ptr *ptrs, unsigned nr);

#endif

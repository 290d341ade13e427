/* One write of a btree node (btree_node or btree_node_entry and its bset): its size and checksum. */
#ifndef BCH_BTREE_BSET_H
#define BCH_BTREE_BSET_H

#include "bcachefs/format.h"

/* Bytes of a write: its header (btree_node or btree_node_entry) and its keys. */
static inline size_t bch_bset_write_bytes(const struct bset *i, size_t hdr_bytes)
{
	return hdr_bytes + 8 * (size_t)le16_to_cpu(i->u64s);
}

/*
 * The checksum of the write at `start` (byte offset `byte_offset` in the
 * node) whose bset is i, of the bset's checksum type: it covers everything
 * after the csum field up to the end of the keys; the nonce is the byte
 * offset, the bset seq, and the journal seq in the btree nonce domain.
 */
struct bch_csum bch_bset_csum(const void *start, const struct bset *i, size_t hdr_bytes,
			      unsigned byte_offset);

#endif

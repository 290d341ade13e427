/* On-disk btree nodes: the node header, bsets and later-write entries. */
#ifndef BCACHEFS_BTREE_FORMAT_H
#define BCACHEFS_BTREE_FORMAT_H

#include "bcachefs/types.h"
#include "bcachefs/csum_format.h"
#include "bcachefs/bkey_format.h"

/*
 * A bset: one sorted run of keys.  A node is a log of bsets: the first
 * inside struct btree_node, each later one inside a btree_node_entry at the
 * next block-aligned offset.
 */
struct bset {
	__le64 seq;		/* per node, equal in all its bsets */
	__le64 journal_seq;	/* newest journal seq of a key in this bset */
	__le32 flags;
	__le16 version;
	__le16 u64s;		/* size of the key area */
	u64 _data[];
} __packed __aligned(8);

BCH_LE32_BITS(bset_csum_type,		struct bset, flags, 0, 4)
BCH_LE32_BITS(bset_big_endian,		struct bset, flags, 4, 1)
BCH_LE32_BITS(bset_separate_whiteouts,	struct bset, flags, 5, 1)
BCH_LE32_BITS(bset_offset,		struct bset, flags, 16, 16) /* sectors */

struct btree_node {
	struct bch_csum csum;
	__le64 magic;		/* sb magic ^ BSET_MAGIC_XOR */
	__le64 flags;
	struct bpos min_key;
	struct bpos max_key;	/* inclusive */
	u64 _unused_ptr;
	struct bkey_format format;
	struct bset keys;
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct btree_node) == 160, "btree_node header");

BCH_LE64_BITS(btree_node_id_lo,		struct btree_node, flags, 0, 4)
BCH_LE64_BITS(btree_node_level,		struct btree_node, flags, 4, 4)
BCH_LE64_BITS(btree_node_new_extent_overwrite, struct btree_node, flags, 8, 1)
BCH_LE64_BITS(btree_node_id_hi,		struct btree_node, flags, 9, 16)
BCH_LE64_BITS(btree_node_seq,		struct btree_node, flags, 32, 32)

static inline unsigned btree_node_id(const struct btree_node *n)
{
	return btree_node_id_lo(n) | btree_node_id_hi(n) << 4;
}

struct btree_node_entry {
	struct bch_csum csum;
	struct bset keys;
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct btree_node_entry) == 40, "btree_node_entry header");

#endif

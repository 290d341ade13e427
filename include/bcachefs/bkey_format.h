/* On-disk key formats: positions, key headers, packed-key formats, btree ids, key types. */
#ifndef BCACHEFS_BKEY_FORMAT_H
#define BCACHEFS_BKEY_FORMAT_H

#include "bcachefs/types.h"

/*
 * A position: (inode, offset, snapshot), compared in that order as unsigned
 * integers.  On disk the fields are little-endian with snapshot first, so
 * the 20 bytes read as one little-endian 160-bit number are the sort key.
 * Keys are used in place, so the fields are host integers: we build only
 * for little-endian hosts (types.h checks).
 */
struct bpos {
	u32 snapshot;
	u64 offset;
	u64 inode;
} __packed;
BCH_STATIC_ASSERT(sizeof(struct bpos) == 20, "bpos is 20 bytes");

/* A key's version (bversion): 96 bits, stored lo (8 bytes) then hi (4). */
struct bversion {
	u64 lo;
	u32 hi;
} __packed;

/*
 * The unpacked key header, 40 bytes.  `u64s` counts the key and its value
 * in 8-byte words.  The second byte holds the format (7 bits; 0 = the
 * node's packed format, 1 = this unpacked layout) and bit 7 needs_whiteout.
 */
struct bkey {
	u8 u64s;
	u8 format_whiteout;
	u8 type;
	u8 pad;
	struct bversion bversion;
	u32 size;		/* extents: length in sectors; else 0 */
	struct bpos p;
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct bkey) == 40, "bkey is 40 bytes");

#define BKEY_U64s		(sizeof(struct bkey) / sizeof(u64))
#define BKEY_U64s_MAX		255
#define BKEY_VAL_U64s_MAX	(BKEY_U64s_MAX - BKEY_U64s)
#define KEY_FORMAT_LOCAL_BTREE	0
#define KEY_FORMAT_CURRENT	1
#define BKEY_FORMAT_MASK	0x7f
#define BKEY_NEEDS_WHITEOUT	0x80

/* A packed key: the same three header bytes, then node-format fields. */
struct bkey_packed {
	u8 u64s;
	u8 format_whiteout;
	u8 type;
	u8 key_start[];
} __packed __aligned(8);

/* An unpacked key followed by its value, as in journal entries. */
struct bkey_i {
	struct bkey k;
	u64 v[];
};

/*
 * A node's packed-key format: how many bits each field takes and the
 * offset subtracted before packing.  Field order is fixed.
 */
enum bkey_field {
	BKEY_FIELD_INODE,
	BKEY_FIELD_OFFSET,
	BKEY_FIELD_SNAPSHOT,
	BKEY_FIELD_SIZE,
	BKEY_FIELD_VERSION_HI,
	BKEY_FIELD_VERSION_LO,
	BKEY_NR_FIELDS,
};

struct bkey_format {
	u8 key_u64s;
	u8 nr_fields;
	u8 bits_per_field[6];
	__le64 field_offset[6];
} __packed;
BCH_STATIC_ASSERT(sizeof(struct bkey_format) == 56, "bkey_format is 56 bytes");

/* Widths of the fields in the unpacked layout. */
#define BKEY_FIELD_WIDTHS { 64, 64, 32, 32, 32, 64 }

/*
 * Btree ids.  x(name, id, flags, allowed leaf key types as a bitmask
 * expression).  Flags: extents (keys are ranges ending at p.offset),
 * snapshots (p.snapshot is a snapshot id), snapshot_field (p.snapshot is
 * data), data (keys point at user data).
 */
#define BTREE_FL_EXTENTS	(1U << 0)
#define BTREE_FL_SNAPSHOTS	(1U << 1)
#define BTREE_FL_SNAPSHOT_FIELD	(1U << 2)
#define BTREE_FL_DATA		(1U << 3)

#define KT(t)	(1ULL << KEY_TYPE_##t)

#define BCH_BTREE_IDS()							\
	x(extents,		0, BTREE_FL_EXTENTS|BTREE_FL_SNAPSHOTS|BTREE_FL_DATA, \
	  KT(whiteout)|KT(error)|KT(cookie)|KT(extent)|KT(reservation)|	\
	  KT(reflink_p)|KT(inline_data))				\
	x(inodes,		1, BTREE_FL_SNAPSHOTS,			\
	  KT(whiteout)|KT(inode)|KT(inode_v2)|KT(inode_v3)|KT(inode_generation)) \
	x(dirents,		2, BTREE_FL_SNAPSHOTS,			\
	  KT(whiteout)|KT(hash_whiteout)|KT(dirent))			\
	x(xattrs,		3, BTREE_FL_SNAPSHOTS,			\
	  KT(whiteout)|KT(cookie)|KT(hash_whiteout)|KT(xattr))		\
	x(alloc,		4, 0,					\
	  KT(alloc)|KT(alloc_v2)|KT(alloc_v3)|KT(alloc_v4))		\
	x(quotas,		5, 0, KT(quota))			\
	x(stripes,		6, 0, KT(stripe))			\
	x(reflink,		7, BTREE_FL_EXTENTS|BTREE_FL_DATA,	\
	  KT(reflink_v)|KT(indirect_inline_data)|KT(error))		\
	x(subvolumes,		8, 0, KT(subvolume))			\
	x(snapshots,		9, 0, KT(snapshot))			\
	x(lru,			10, 0, KT(set))				\
	x(freespace,		11, BTREE_FL_EXTENTS, KT(set))		\
	x(need_discard,		12, 0, KT(set))				\
	x(backpointers,		13, 0, KT(backpointer))			\
	x(bucket_gens,		14, 0, KT(bucket_gens))			\
	x(snapshot_trees,	15, 0, KT(snapshot_tree))		\
	x(deleted_inodes,	16, BTREE_FL_SNAPSHOT_FIELD, KT(set))	\
	x(logged_ops,		17, 0,					\
	  KT(logged_op_truncate)|KT(logged_op_finsert))			\
	x(rebalance_work,	18, BTREE_FL_SNAPSHOT_FIELD, KT(set)|KT(cookie)) \
	x(subvolume_children,	19, 0, KT(set))				\
	x(accounting,		20, BTREE_FL_SNAPSHOT_FIELD, KT(accounting))

enum btree_id {
#define x(name, nr, ...) BTREE_ID_##name = nr,
	BCH_BTREE_IDS()
#undef x
	BTREE_ID_NR
};

#define BTREE_ID_NR_MAX		63
#define BTREE_MAX_DEPTH		4

/* Key types.  x(name, number, minimum value size in bytes) */
#define BCH_BKEY_TYPES()				\
	x(deleted,		0,	0)		\
	x(whiteout,		1,	0)		\
	x(error,		2,	0)		\
	x(cookie,		3,	8)		\
	x(hash_whiteout,	4,	0)		\
	x(btree_ptr,		5,	0)		\
	x(extent,		6,	0)		\
	x(reservation,		7,	8)		\
	x(inode,		8,	16)		\
	x(inode_generation,	9,	8)		\
	x(dirent,		10,	16)		\
	x(xattr,		11,	8)		\
	x(alloc,		12,	8)		\
	x(quota,		13,	32)		\
	x(stripe,		14,	8)		\
	x(reflink_p,		15,	16)		\
	x(reflink_v,		16,	8)		\
	x(inline_data,		17,	0)		\
	x(btree_ptr_v2,		18,	40)		\
	x(indirect_inline_data,	19,	8)		\
	x(alloc_v2,		20,	8)		\
	x(subvolume,		21,	16)		\
	x(snapshot,		22,	24)		\
	x(inode_v2,		23,	32)		\
	x(alloc_v3,		24,	16)		\
	x(set,			25,	0)		\
	x(lru,			26,	8)		\
	x(alloc_v4,		27,	48)		\
	x(backpointer,		28,	32)		\
	x(inode_v3,		29,	48)		\
	x(bucket_gens,		30,	0)		\
	x(snapshot_tree,	31,	8)		\
	x(logged_op_truncate,	32,	24)		\
	x(logged_op_finsert,	33,	24)		\
	x(accounting,		34,	8)

enum bch_bkey_type {
#define x(name, nr, min) KEY_TYPE_##name = nr,
	BCH_BKEY_TYPES()
#undef x
	KEY_TYPE_MAX
};

#endif

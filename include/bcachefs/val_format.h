/* On-disk key values: extents and pointers, inodes, dirents, xattrs, alloc, snapshots, accounting... */
#ifndef BCACHEFS_VAL_FORMAT_H
#define BCACHEFS_VAL_FORMAT_H

#include "bcachefs/types.h"
#include "bcachefs/csum_format.h"
#include "bcachefs/bkey_format.h"

/* ---- extents: a value is a sequence of 8-byte-aligned entries ---- */

/*
 * The type of an extent entry is the index of the lowest set bit of its
 * first little-endian u64.  Sizes are in bytes.  x(name, type, bytes)
 */
#define BCH_EXTENT_ENTRY_TYPES()		\
	x(ptr, 0, 8) x(crc32, 1, 8) x(crc64, 2, 16) \
	x(crc128, 3, 24) x(stripe_ptr, 4, 8) x(rebalance, 5, 8)

enum bch_extent_entry_type {
#define x(name, nr, bytes) BCH_EXTENT_ENTRY_##name = nr,
	BCH_EXTENT_ENTRY_TYPES()
#undef x
	BCH_EXTENT_ENTRY_MAX
};

/* A device pointer, one u64:
 * bit 0 type marker; 1 cached; 3 unwritten; 4..47 offset (sectors);
 * 48..55 dev; 56..63 gen */
struct bch_extent_ptr {
	__le64 v;
};

BCH_LE64_BITS(ptr_cached,	struct bch_extent_ptr, v, 1, 1)
BCH_LE64_BITS(ptr_unwritten,	struct bch_extent_ptr, v, 3, 1)
BCH_LE64_BITS(ptr_offset,	struct bch_extent_ptr, v, 4, 44)
BCH_LE64_BITS(ptr_dev,		struct bch_extent_ptr, v, 48, 8)
BCH_LE64_BITS(ptr_gen,		struct bch_extent_ptr, v, 56, 8)

#define BCH_DEV_NONE	0xff

/* crc32: sizes are stored minus one, up to 128 sectors; csum in bits 32..63 */
struct bch_extent_crc32 {
	__le64 v;
};

BCH_LE64_BITS(crc32_compressed_size,	struct bch_extent_crc32, v, 2, 7)
BCH_LE64_BITS(crc32_uncompressed_size,	struct bch_extent_crc32, v, 9, 7)
BCH_LE64_BITS(crc32_offset,		struct bch_extent_crc32, v, 16, 7)
BCH_LE64_BITS(crc32_csum_type,		struct bch_extent_crc32, v, 24, 4)
BCH_LE64_BITS(crc32_compression_type,	struct bch_extent_crc32, v, 28, 4)
BCH_LE64_BITS(crc32_csum,		struct bch_extent_crc32, v, 32, 32)

/* crc64: 16 bytes; 16 high csum bits in word 0, the low 64 in word 1 */
struct bch_extent_crc64 {
	__le64 v;
	__le64 csum_lo;
};

BCH_LE64_BITS(crc64_compressed_size,	struct bch_extent_crc64, v, 3, 9)
BCH_LE64_BITS(crc64_uncompressed_size,	struct bch_extent_crc64, v, 12, 9)
BCH_LE64_BITS(crc64_offset,		struct bch_extent_crc64, v, 21, 9)
BCH_LE64_BITS(crc64_nonce,		struct bch_extent_crc64, v, 30, 10)
BCH_LE64_BITS(crc64_csum_type,		struct bch_extent_crc64, v, 40, 4)
BCH_LE64_BITS(crc64_compression_type,	struct bch_extent_crc64, v, 44, 4)
BCH_LE64_BITS(crc64_csum_hi,		struct bch_extent_crc64, v, 48, 16)

/* crc128: 24 bytes, a full 16-byte checksum */
struct bch_extent_crc128 {
	__le64 v;
	struct bch_csum csum;
};

BCH_LE64_BITS(crc128_compressed_size,	struct bch_extent_crc128, v, 4, 13)
BCH_LE64_BITS(crc128_uncompressed_size,	struct bch_extent_crc128, v, 17, 13)
BCH_LE64_BITS(crc128_offset,		struct bch_extent_crc128, v, 30, 13)
BCH_LE64_BITS(crc128_nonce,		struct bch_extent_crc128, v, 43, 13)
BCH_LE64_BITS(crc128_csum_type,		struct bch_extent_crc128, v, 56, 4)
BCH_LE64_BITS(crc128_compression_type,	struct bch_extent_crc128, v, 60, 4)

struct bch_extent_stripe_ptr {
	__le64 v;
};

BCH_LE64_BITS(stripe_ptr_block,		struct bch_extent_stripe_ptr, v, 5, 8)
BCH_LE64_BITS(stripe_ptr_redundancy,	struct bch_extent_stripe_ptr, v, 13, 4)
BCH_LE64_BITS(stripe_ptr_idx,		struct bch_extent_stripe_ptr, v, 17, 47)

struct bch_extent_rebalance {
	__le64 v;
};

BCH_LE64_BITS(rebalance_compression,	struct bch_extent_rebalance, v, 40, 8)
BCH_LE64_BITS(rebalance_target,		struct bch_extent_rebalance, v, 48, 16)

/* btree_ptr_v2: a child node pointer in an interior node or a root entry */
struct bch_btree_ptr_v2 {
	__le64 mem_ptr;		/* zero on disk */
	__le64 seq;		/* the child's bset seq */
	__le16 sectors_written;
	__le16 flags;
	struct bpos min_key;
	struct bch_extent_ptr start[];
} __packed __aligned(8);

BCH_LE16_BITS(btree_ptr_range_updated,	struct bch_btree_ptr_v2, flags, 0, 1)

struct bch_reservation {
	__le32 generation;
	u8 nr_replicas;
	u8 pad[3];
} __packed __aligned(8);

struct bch_cookie {
	__le64 cookie;
};

/* reflink */
struct bch_reflink_p {
	__le64 idx;
	__le32 front_pad;
	__le32 back_pad;
} __packed __aligned(8);

struct bch_reflink_v {
	__le64 refcount;
	u64 start[];		/* extent entries */
} __packed __aligned(8);

struct bch_indirect_inline_data {
	__le64 refcount;
	u8 data[];
};

/* ---- inodes ---- */

#define BLOCKDEV_INODE_MAX	4096
#define BCACHEFS_ROOT_INO	4096

/* Fields after the fixed part, in order, packed as varints. x(name, bits) */
#define BCH_INODE_FIELDS_V2()				\
	x(bi_atime, 96) x(bi_ctime, 96) x(bi_mtime, 96) \
	x(bi_otime, 96) x(bi_size, 64) x(bi_sectors, 64) \
	x(bi_uid, 32) x(bi_gid, 32) x(bi_nlink, 32) \
	x(bi_generation, 32) x(bi_dev, 32) x(bi_data_checksum, 8) \
	x(bi_compression, 8) x(bi_project, 32) x(bi_background_compression, 8) \
	x(bi_data_replicas, 8) x(bi_promote_target, 16) x(bi_foreground_target, 16) \
	x(bi_background_target, 16) x(bi_erasure_code, 16) x(bi_fields_set, 16) \
	x(bi_dir, 64) x(bi_dir_offset, 64) x(bi_subvol, 32) \
	x(bi_parent_subvol, 32)

/* v3 moved size and sectors into the fixed part and added nocow */
#define BCH_INODE_FIELDS_V3()				\
	x(bi_atime, 96) x(bi_ctime, 96) x(bi_mtime, 96) \
	x(bi_otime, 96) x(bi_uid, 32) x(bi_gid, 32) \
	x(bi_nlink, 32) x(bi_generation, 32) x(bi_dev, 32) \
	x(bi_data_checksum, 8) x(bi_compression, 8) x(bi_project, 32) \
	x(bi_background_compression, 8) x(bi_data_replicas, 8) x(bi_promote_target, 16) \
	x(bi_foreground_target, 16) x(bi_background_target, 16) x(bi_erasure_code, 16) \
	x(bi_fields_set, 16) x(bi_dir, 64) x(bi_dir_offset, 64) \
	x(bi_subvol, 32) x(bi_parent_subvol, 32) x(bi_nocow, 8)

/* Inode flags (low bits of bi_flags). x(name, bit) */
#define BCH_INODE_FLAGS()			\
	x(sync, 0) x(immutable, 1) x(append, 2) \
	x(nodump, 3) x(noatime, 4) x(i_size_dirty, 5) \
	x(i_sectors_dirty, 6) x(unlinked, 7) x(backptr_untrusted, 8) \
	x(has_child_snapshot, 9)

enum bch_inode_flag {
#define x(name, bit) BCH_INODE_##name = bit,
	BCH_INODE_FLAGS()
#undef x
};

/* type 8: the original inode */
struct bch_inode {
	__le64 bi_hash_seed;
	__le32 bi_flags;
	__le16 bi_mode;
	u8 fields[];
} __packed __aligned(8);

BCH_LE32_BITS(inode_v1_str_hash,	struct bch_inode, bi_flags, 20, 4)
BCH_LE32_BITS(inode_v1_nr_fields,	struct bch_inode, bi_flags, 24, 7)
BCH_LE32_BITS(inode_v1_new_varint,	struct bch_inode, bi_flags, 31, 1)

/* type 23 */
struct bch_inode_v2 {
	__le64 bi_journal_seq;
	__le64 bi_hash_seed;
	__le64 bi_flags;
	__le16 bi_mode;
	u8 fields[];
} __packed __aligned(8);

BCH_LE64_BITS(inode_v2_str_hash,	struct bch_inode_v2, bi_flags, 20, 4)
BCH_LE64_BITS(inode_v2_nr_fields,	struct bch_inode_v2, bi_flags, 24, 7)

/* type 29: mode lives in bi_flags; varint fields start fields_start u64s in */
struct bch_inode_v3 {
	__le64 bi_journal_seq;
	__le64 bi_hash_seed;
	__le64 bi_flags;
	__le64 bi_sectors;
	__le64 bi_size;
	__le64 bi_version;
	u8 fields[];
} __packed __aligned(8);

BCH_LE64_BITS(inode_v3_str_hash,	struct bch_inode_v3, bi_flags, 20, 4)
BCH_LE64_BITS(inode_v3_nr_fields,	struct bch_inode_v3, bi_flags, 24, 7)
BCH_LE64_BITS(inode_v3_fields_start,	struct bch_inode_v3, bi_flags, 31, 5)
BCH_LE64_BITS(inode_v3_mode,		struct bch_inode_v3, bi_flags, 36, 16)

#define INODE_V3_FIELDS_START_INITIAL	6	/* u64s, key header excluded */

struct bch_inode_generation {
	__le32 bi_generation;
	__le32 pad;
} __packed __aligned(8);

/* ---- dirents and xattrs ---- */

#define DT_SUBVOL	16
#define BCH_DT_MAX	17
#define BCH_NAME_MAX	512

struct bch_dirent {
	union {
		__le64 d_inum;
		struct {
			__le32 d_child_subvol;
			__le32 d_parent_subvol;
		};
	};
	u8 d_type;
	u8 d_name[];
} __packed __aligned(8);

#define BCH_XATTR_TYPES()			\
	x(user, 0) x(posix_acl_access, 1) x(posix_acl_default, 2) \
	x(trusted, 3) x(security, 4)

struct bch_xattr {
	u8 x_type;
	u8 x_name_len;
	__le16 x_val_len;
	u8 x_name[];		/* name, then value */
} __packed __aligned(8);

/* ---- alloc ---- */

struct bch_alloc {
	u8 fields;
	u8 gen;
	u8 data[];
} __packed __aligned(8);

/* v1 fields, fixed width, present when their bit is set. x(name, bits) */
#define BCH_ALLOC_FIELDS_V1()			\
	x(read_time, 16) x(write_time, 16) x(data_type, 8) \
	x(dirty_sectors, 16) x(cached_sectors, 16) x(oldest_gen, 8) \
	x(stripe, 32) x(stripe_redundancy, 8)

struct bch_alloc_v2 {
	u8 nr_fields;
	u8 gen;
	u8 oldest_gen;
	u8 data_type;
	u8 data[];
} __packed __aligned(8);

/* v2 and v3 fields, varints. x(name, bits) */
#define BCH_ALLOC_FIELDS_V2()			\
	x(read_time, 64) x(write_time, 64) x(dirty_sectors, 32) \
	x(cached_sectors, 32) x(stripe, 32) x(stripe_redundancy, 8)

struct bch_alloc_v3 {
	__le64 journal_seq;
	__le32 flags;
	u8 nr_fields;
	u8 gen;
	u8 oldest_gen;
	u8 data_type;
	u8 data[];
} __packed __aligned(8);

BCH_LE32_BITS(alloc_v3_need_discard,	struct bch_alloc_v3, flags, 0, 1)
BCH_LE32_BITS(alloc_v3_need_inc_gen,	struct bch_alloc_v3, flags, 1, 1)

struct bch_alloc_v4 {
	__le64 journal_seq;
	__le32 flags;
	u8 gen;
	u8 oldest_gen;
	u8 data_type;
	u8 stripe_redundancy;
	__le32 dirty_sectors;
	__le32 cached_sectors;
	__le64 io_time[2];	/* read, write */
	__le32 stripe;
	__le32 nr_external_backpointers;
	/* the first version ended here (6 u64s) */
	__le64 fragmentation_lru;
	__le32 stripe_sectors;
	__le32 pad;
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct bch_alloc_v4) == 64, "alloc_v4 is 8 u64s");

#define BCH_ALLOC_V4_U64s_V0	6
#define BCH_ALLOC_V4_U64s	8

BCH_LE32_BITS(alloc_v4_need_discard,	struct bch_alloc_v4, flags, 0, 1)
BCH_LE32_BITS(alloc_v4_need_inc_gen,	struct bch_alloc_v4, flags, 1, 1)
BCH_LE32_BITS(alloc_v4_backpointers_start, struct bch_alloc_v4, flags, 2, 6)
BCH_LE32_BITS(alloc_v4_nr_backpointers,	struct bch_alloc_v4, flags, 8, 6)

#define BUCKET_GENS_BITS	8
#define BUCKET_GENS_NR		(1U << BUCKET_GENS_BITS)

struct bch_bucket_gens {
	u8 gens[BUCKET_GENS_NR];
} __packed __aligned(8);

/* lru (legacy value; 1.13 lru keys are of type set) */
struct bch_lru {
	__le64 idx;
} __packed __aligned(8);

#define LRU_TIME_BITS		48
#define LRU_TIME_MAX		((1ULL << LRU_TIME_BITS) - 1)
#define BCH_LRU_FRAGMENTATION_START 0xffff

/* backpointer: bucket_offset is 40 bits: sector << 10 | sub-sector index */
struct bch_backpointer {
	u8 btree_id;
	u8 level;
	u8 data_type;
	u8 bucket_offset[5];	/* 40-bit little-endian */
	__le32 bucket_len;
	struct bpos pos;
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct bch_backpointer) == 32, "backpointer is 32 bytes");

#define MAX_EXTENT_COMPRESS_RATIO_SHIFT	10

/* ---- quotas ---- */

#define BCH_QUOTA_TYPES()	x(usr, 0) x(grp, 1) x(prj, 2)
#define BCH_QUOTA_COUNTERS()	x(space, 0) x(inodes, 1)

struct bch_quota_counter {
	__le64 hardlimit;
	__le64 softlimit;
};

struct bch_quota {
	struct bch_quota_counter c[2];
} __packed __aligned(8);

/* ---- erasure coding ---- */

struct bch_stripe {
	__le16 sectors;
	u8 algorithm;
	u8 nr_blocks;
	u8 nr_redundant;
	u8 csum_granularity_bits;
	u8 csum_type;
	u8 disk_label;
	struct bch_extent_ptr ptrs[];
} __packed __aligned(8);

/* ---- subvolumes and snapshots ---- */

struct bch_subvolume {
	__le32 flags;
	__le32 snapshot;
	__le64 inode;
	__le32 creation_parent;	/* 0 unless a snapshot */
	__le32 fs_path_parent;
	__le64 otime_lo;
	__le64 otime_hi;
} __packed __aligned(8);

BCH_LE32_BITS(subvol_ro,		struct bch_subvolume, flags, 0, 1)
BCH_LE32_BITS(subvol_snap,		struct bch_subvolume, flags, 1, 1)
BCH_LE32_BITS(subvol_unlinked,		struct bch_subvolume, flags, 2, 1)

#define BCACHEFS_ROOT_SUBVOL	1

struct bch_snapshot {
	__le32 flags;
	__le32 parent;
	__le32 children[2];
	__le32 subvol;
	__le32 tree;
	__le32 depth;
	__le32 skip[3];
	__le64 btime_lo;
	__le64 btime_hi;
} __packed __aligned(8);

BCH_LE32_BITS(snapshot_deleted,		struct bch_snapshot, flags, 0, 1)
BCH_LE32_BITS(snapshot_is_subvol,	struct bch_snapshot, flags, 1, 1)

struct bch_snapshot_tree {
	__le32 master_subvol;
	__le32 root_snapshot;
} __packed __aligned(8);

/* ---- logged operations ---- */

struct bch_logged_op_truncate {
	__le32 subvol;
	__le32 pad;
	__le64 inum;
	__le64 new_i_size;
} __packed __aligned(8);

#define BCH_LOGGED_OP_FINSERT_STATES() x(start, 0) x(shift_extents, 1) x(finish, 2)

enum bch_logged_op_finsert_state {
#define x(n, v) BCH_LOGGED_OP_FINSERT_##n = v,
	BCH_LOGGED_OP_FINSERT_STATES()
#undef x
};

struct bch_logged_op_finsert {
	u8 state;
	u8 pad[3];
	__le32 subvol;
	__le64 inum;
	__le64 dst_offset;
	__le64 src_offset;
	__le64 pos;
} __packed __aligned(8);

/* ---- accounting: the key position encodes what is counted ---- */

#define BCH_DISK_ACCOUNTING_TYPES()		\
	x(nr_inodes, 0) x(persistent_reserved, 1) x(replicas, 2) \
	x(dev_data_type, 3) x(compression, 4) x(snapshot, 5) \
	x(btree, 6) x(rebalance_work, 7) x(inum, 8)

enum disk_accounting_type {
#define x(name, nr) BCH_DISK_ACCOUNTING_##name = nr,
	BCH_DISK_ACCOUNTING_TYPES()
#undef x
	BCH_DISK_ACCOUNTING_TYPE_NR
};

/*
 * The 20 bytes of the accounting key's bpos, read in memory (LE) order:
 * byte 0 is the type, the rest depends on it.
 */
struct disk_accounting_pos {
	union {
		struct {
			u8 type;
			union {
				struct { u8 nr_replicas; } __packed persistent_reserved;
				struct {
					u8 data_type;
					u8 nr_devs;
					u8 nr_required;
					u8 devs[16];
				} __packed replicas;
				struct { u8 dev; u8 data_type; } __packed dev_data_type;
				struct { u8 type; } __packed compression;
				struct { __le32 id; } __packed snapshot;
				struct { __le32 id; } __packed btree;
				struct { __le64 inum; } __packed inum;
			} __packed;
		} __packed;
		u8 raw[20];
	};
} __packed;
BCH_STATIC_ASSERT(sizeof(struct disk_accounting_pos) == 20, "accounting pos");

#define BCH_ACCOUNTING_MAX_COUNTERS	3

struct bch_accounting {
	__le64 d[0];
};

#endif

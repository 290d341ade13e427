/* In-memory superblock: the raw copy we read and the fields decoded from it. */
#ifndef BCH_SB_SB_TYPES_H
#define BCH_SB_SB_TYPES_H

#include "bcachefs/format.h"

/* A superblock as read from disk: a buffer of `bytes` holding it whole. */
struct bch_sb_buf {
	struct bch_sb *sb;
	size_t bytes;
	u64 sector;		/* where this copy was read from */
	bool from_backup;	/* the primary was unusable */
};

/* One member (device) of the filesystem, decoded. */
struct bch_member_cpu {
	bool exists;		/* uuid non-zero */
	u8 uuid[16];
	u64 nbuckets;
	u16 first_bucket;
	u16 bucket_size;	/* sectors */
	u8 state;
	u8 durability;		/* decoded: 0..3 */
	u8 data_allowed;
	u8 group;		/* disk group index + 1, 0 = none */
	bool discard;
	bool freespace_initialized;
	u8 btree_bitmap_shift;
	u64 btree_allocated_bitmap;
};

/* The superblock fields the rest of the library reads often. */
struct bch_sb_cpu {
	u16 version;
	u16 version_min;
	u16 version_upgrade_complete;
	u8 uuid[16];
	u8 user_uuid[16];
	u64 magic;		/* first 8 bytes of uuid, as LE u64 */
	u64 jset_magic;
	u64 bset_magic;
	unsigned nr_devices;
	unsigned block_size;	/* sectors */
	unsigned btree_node_size; /* sectors */
	unsigned encoded_extent_max; /* sectors */
	unsigned meta_csum_type; /* option value (none/crc32c/crc64/xxhash) */
	unsigned data_csum_type;
	unsigned str_hash_type;	/* option value */
	unsigned encryption_type;
	bool clean;
	bool initialized;
	u64 features;
	u64 compat;
	u64 time_base_lo;
	u32 time_precision;
	struct bch_member_cpu members[BCH_SB_MEMBERS_MAX];
};

#endif

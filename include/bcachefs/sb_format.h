/* On-disk superblock: layout, header, option bits, versions, features and field sections. */
#ifndef BCACHEFS_SB_FORMAT_H
#define BCACHEFS_SB_FORMAT_H

#include "bcachefs/types.h"
#include "bcachefs/csum_format.h"
#include "bcachefs/bkey_format.h"

/* c68573f6-66ce-90a9-d96a-60cf803df7ef, as stored */
#define BCHFS_MAGIC_BYTES { 0xc6, 0x85, 0x73, 0xf6, 0x66, 0xce, 0x90, 0xa9, \
			    0xd9, 0x6a, 0x60, 0xcf, 0x80, 0x3d, 0xf7, 0xef }
/* c68573f6-4e1a-45ca-8265-f57f48ba6d81: bcache's, accepted on old filesystems */
#define BCACHE_MAGIC_BYTES { 0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, \
			     0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81 }

/* XORed with the first 8 bytes of the internal uuid to make these magics */
#define JSET_MAGIC_XOR		0x245235c1a3625032ULL
#define BSET_MAGIC_XOR		0x90135c78b99e07f5ULL

/* Sector 7 (the last 512 bytes of the first 4 KiB) holds a layout copy. */
#define BCH_SB_LAYOUT_SECTOR	7
#define BCH_SB_SECTOR		8
#define BCH_SB_LAYOUT_SIZE_BITS_MAX 16
#define BCH_SB_MEMBERS_MAX	64
/* A device index that names no device (a replicas entry's removed device) */
#define BCH_SB_MEMBER_INVALID	255
#define BCH_SB_LABEL_SIZE	32
#define BCH_SB_HEADER_BYTES	752

/* Metadata versions: (major << 10) | minor.  x(name, major, minor) */
#define BCH_VERSION(major, minor)	(((major) << 10) | (minor))
#define BCH_VERSION_MAJOR(v)		((v) >> 10)
#define BCH_VERSION_MINOR(v)		((v) & 1023)

#define BCH_METADATA_VERSIONS()					\
	x(bkey_renumber, 0, 10) x(inode_btree_change, 0, 11) x(snapshot, 0, 12) \
	x(inode_backpointers, 0, 13) x(btree_ptr_sectors_written, 0, 14) x(snapshot_2, 0, 15) \
	x(reflink_p_fix, 0, 16) x(subvol_dirent, 0, 17) x(inode_v2, 0, 18) \
	x(freespace, 0, 19) x(alloc_v4, 0, 20) x(new_data_types, 0, 21) \
	x(backpointers, 0, 22) x(inode_v3, 0, 23) x(unwritten_extents, 0, 24) \
	x(bucket_gens, 0, 25) x(lru_v2, 0, 26) x(fragmentation_lru, 0, 27) \
	x(no_bps_in_alloc_keys, 0, 28) x(snapshot_trees, 0, 29) x(major_minor, 1, 0) \
	x(snapshot_skiplists, 1, 1) x(deleted_inodes, 1, 2) x(rebalance_work, 1, 3) \
	x(member_seq, 1, 4) x(subvolume_fs_parent, 1, 5) x(btree_subvolume_children, 1, 6) \
	x(mi_btree_bitmap, 1, 7) x(bucket_stripe_sectors, 1, 8) x(disk_accounting_v2, 1, 9) \
	x(disk_accounting_v3, 1, 10) x(disk_accounting_inum, 1, 11) x(rebalance_work_acct_fix, 1, 12) \
	x(inode_has_child_snapshots, 1, 13)

enum bcachefs_metadata_version {
	bcachefs_metadata_version_min = BCH_VERSION(0, 9),
#define x(name, major, minor) bcachefs_metadata_version_##name = BCH_VERSION(major, minor),
	BCH_METADATA_VERSIONS()
#undef x
};

#define bcachefs_metadata_version_current	bcachefs_metadata_version_inode_has_child_snapshots
#define bcachefs_metadata_required_upgrade_below bcachefs_metadata_version_rebalance_work

/* Incompatible features (features[0]).  x(name, bit) */
#define BCH_SB_FEATURES()				\
	x(lz4, 0) x(gzip, 1) x(zstd, 2) \
	x(atomic_nlink, 3) x(ec, 4) x(journal_seq_blacklist_v3, 5) \
	x(reflink, 6) x(new_siphash, 7) x(inline_data, 8) \
	x(new_extent_overwrite, 9) x(incompressible, 10) x(btree_ptr_v2, 11) \
	x(extents_above_btree_updates, 12) x(btree_updates_journalled, 13) x(reflink_inline_data, 14) \
	x(new_varint, 15) x(journal_no_flush, 16) x(alloc_v2, 17) \
	x(extents_across_btree_nodes, 18)

enum bch_sb_feature {
#define x(name, bit) BCH_FEATURE_##name = bit,
	BCH_SB_FEATURES()
#undef x
	BCH_FEATURE_NR
};

/* What format sets, before a clean shutdown clears the two journalled ones */
#define BCH_SB_FEATURES_ALL					\
	((1ULL << BCH_FEATURE_new_siphash) |			\
	 (1ULL << BCH_FEATURE_new_extent_overwrite) |		\
	 (1ULL << BCH_FEATURE_btree_ptr_v2) |			\
	 (1ULL << BCH_FEATURE_extents_above_btree_updates) |	\
	 (1ULL << BCH_FEATURE_btree_updates_journalled) |	\
	 (1ULL << BCH_FEATURE_new_varint) |			\
	 (1ULL << BCH_FEATURE_journal_no_flush) |		\
	 (1ULL << BCH_FEATURE_alloc_v2) |			\
	 (1ULL << BCH_FEATURE_extents_across_btree_nodes))

#define BCH_SB_COMPAT()					\
	x(alloc_info, 0) x(alloc_metadata, 1) x(extents_above_btree_updates_done, 2) \
	x(bformat_overflow_done, 3)

enum bch_sb_compat {
#define x(name, bit) BCH_COMPAT_##name = bit,
	BCH_SB_COMPAT()
#undef x
	BCH_COMPAT_NR
};

/* Data types: of buckets, of replicas entries, of accounting. */
#define BCH_DATA_TYPES()		\
	x(free, 0) x(sb, 1) x(journal, 2) \
	x(btree, 3) x(user, 4) x(cached, 5) \
	x(parity, 6) x(stripe, 7) x(need_gc_gens, 8) \
	x(need_discard, 9) x(unstriped, 10)

enum bch_data_type {
#define x(name, nr) BCH_DATA_##name = nr,
	BCH_DATA_TYPES()
#undef x
	BCH_DATA_NR
};

/* Small enumerations stored in option bits. x(name, value) */
#define BCH_ERROR_ACTIONS()	x(continue, 0) x(fix_safe, 1) x(panic, 2) x(ro, 3)
#define BCH_STR_HASH_TYPES()	x(crc32c, 0) x(crc64, 1) x(siphash_old, 2) x(siphash, 3)
#define BCH_STR_HASH_OPTS()	x(crc32c, 0) x(crc64, 1) x(siphash, 2)
#define BCH_COMPRESSION_TYPES()	x(none, 0) x(lz4_old, 1) x(gzip, 2) x(lz4, 3) \
	x(zstd, 4) x(incompressible, 5)
#define BCH_COMPRESSION_OPTS()	x(none, 0) x(lz4, 1) x(gzip, 2) x(zstd, 3)
#define BCH_VERSION_UPGRADE_OPTS() x(compatible, 0) x(incompatible, 1) x(none, 2)
#define BCH_MEMBER_STATES()	x(rw, 0) x(ro, 1) x(failed, 2) x(spare, 3)

enum bch_error_action {
#define x(n, v) BCH_ON_ERROR_##n = v,
	BCH_ERROR_ACTIONS()
#undef x
};
enum bch_str_hash_type {
#define x(n, v) BCH_STR_HASH_##n = v,
	BCH_STR_HASH_TYPES()
#undef x
	BCH_STR_HASH_NR
};
enum bch_str_hash_opt {
#define x(n, v) BCH_STR_HASH_OPT_##n = v,
	BCH_STR_HASH_OPTS()
#undef x
	BCH_STR_HASH_OPT_NR
};
enum bch_compression_type {
#define x(n, v) BCH_COMPRESSION_TYPE_##n = v,
	BCH_COMPRESSION_TYPES()
#undef x
	BCH_COMPRESSION_TYPE_NR
};
enum bch_compression_opt {
#define x(n, v) BCH_COMPRESSION_OPT_##n = v,
	BCH_COMPRESSION_OPTS()
#undef x
	BCH_COMPRESSION_OPT_NR
};
enum bch_member_state {
#define x(n, v) BCH_MEMBER_STATE_##n = v,
	BCH_MEMBER_STATES()
#undef x
	BCH_MEMBER_STATE_NR
};

/* The layout: where the superblock copies are. */
struct bch_sb_layout {
	u8 magic[16];
	u8 layout_type;		/* 0 */
	u8 sb_max_size_bits;	/* log2 of the largest copy, in sectors */
	u8 nr_superblocks;
	u8 pad[5];
	__le64 sb_offset[61];	/* sectors */
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct bch_sb_layout) == 512, "layout is 512 bytes");

/* A field section header; the next section starts u64s words later. */
struct bch_sb_field {
	__le32 u64s;
	__le32 type;
	u64 data[];
};

#define BCH_SB_FIELDS()				\
	x(journal, 0) x(members_v1, 1) x(crypt, 2) \
	x(replicas_v0, 3) x(quota, 4) x(disk_groups, 5) \
	x(clean, 6) x(replicas, 7) x(journal_seq_blacklist, 8) \
	x(journal_v2, 9) x(counters, 10) x(members_v2, 11) \
	x(errors, 12) x(ext, 13) x(downgrade, 14)

enum bch_sb_field_type {
#define x(name, nr) BCH_SB_FIELD_##name = nr,
	BCH_SB_FIELDS()
#undef x
	BCH_SB_FIELD_NR
};

struct bch_sb {
	struct bch_csum csum;
	__le16 version;
	__le16 version_min;
	__le16 pad[2];
	u8 magic[16];
	u8 uuid[16];		/* internal */
	u8 user_uuid[16];	/* the one users see */
	u8 label[BCH_SB_LABEL_SIZE];
	__le64 offset;		/* sector this copy lives at */
	__le64 seq;
	__le16 block_size;	/* sectors */
	u8 dev_idx;
	u8 nr_devices;
	__le32 u64s;		/* size of the field area */
	__le64 time_base_lo;	/* ns since the epoch at format time */
	__le32 time_base_hi;
	__le32 time_precision;	/* ns per inode time unit */
	__le64 flags[7];
	__le64 write_time;	/* seconds */
	__le64 features[2];
	__le64 compat[2];
	struct bch_sb_layout layout;
	struct bch_sb_field fields[];
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct bch_sb) == BCH_SB_HEADER_BYTES, "sb header");

/* Option bits in bch_sb.flags[] (word, first bit, width). */
BCH_LE64_BITS(sb_initialized,		struct bch_sb, flags[0], 0, 1)
BCH_LE64_BITS(sb_clean,			struct bch_sb, flags[0], 1, 1)
BCH_LE64_BITS(sb_csum_type,		struct bch_sb, flags[0], 2, 6)
BCH_LE64_BITS(sb_error_action,		struct bch_sb, flags[0], 8, 4)
BCH_LE64_BITS(sb_btree_node_size,	struct bch_sb, flags[0], 12, 16)
BCH_LE64_BITS(sb_gc_reserve,		struct bch_sb, flags[0], 28, 5)
BCH_LE64_BITS(sb_root_reserve,		struct bch_sb, flags[0], 33, 7)
BCH_LE64_BITS(sb_meta_csum_type,	struct bch_sb, flags[0], 40, 4)
BCH_LE64_BITS(sb_data_csum_type,	struct bch_sb, flags[0], 44, 4)
BCH_LE64_BITS(sb_meta_replicas_want,	struct bch_sb, flags[0], 48, 4)
BCH_LE64_BITS(sb_data_replicas_want,	struct bch_sb, flags[0], 52, 4)
BCH_LE64_BITS(sb_posix_acl,		struct bch_sb, flags[0], 56, 1)
BCH_LE64_BITS(sb_usrquota,		struct bch_sb, flags[0], 57, 1)
BCH_LE64_BITS(sb_grpquota,		struct bch_sb, flags[0], 58, 1)
BCH_LE64_BITS(sb_prjquota,		struct bch_sb, flags[0], 59, 1)
BCH_LE64_BITS(sb_has_errors,		struct bch_sb, flags[0], 60, 1)
BCH_LE64_BITS(sb_has_topology_errors,	struct bch_sb, flags[0], 61, 1)
BCH_LE64_BITS(sb_big_endian,		struct bch_sb, flags[0], 62, 1)
BCH_LE64_BITS(sb_promote_whole_extents,	struct bch_sb, flags[0], 63, 1)
BCH_LE64_BITS(sb_str_hash_type,		struct bch_sb, flags[1], 0, 4)
BCH_LE64_BITS(sb_compression_lo,	struct bch_sb, flags[1], 4, 4)
BCH_LE64_BITS(sb_inodes_32bit,		struct bch_sb, flags[1], 8, 1)
BCH_LE64_BITS(sb_wide_macs,		struct bch_sb, flags[1], 9, 1)
BCH_LE64_BITS(sb_encryption_type,	struct bch_sb, flags[1], 10, 4)
BCH_LE64_BITS(sb_encoded_extent_max_bits, struct bch_sb, flags[1], 14, 6)
BCH_LE64_BITS(sb_meta_replicas_req,	struct bch_sb, flags[1], 20, 4)
BCH_LE64_BITS(sb_data_replicas_req,	struct bch_sb, flags[1], 24, 4)
BCH_LE64_BITS(sb_promote_target,	struct bch_sb, flags[1], 28, 12)
BCH_LE64_BITS(sb_foreground_target,	struct bch_sb, flags[1], 40, 12)
BCH_LE64_BITS(sb_background_target,	struct bch_sb, flags[1], 52, 12)
BCH_LE64_BITS(sb_background_compression_lo, struct bch_sb, flags[2], 0, 4)
BCH_LE64_BITS(sb_gc_reserve_bytes,	struct bch_sb, flags[2], 4, 60)
BCH_LE64_BITS(sb_erasure_code,		struct bch_sb, flags[3], 0, 16)
BCH_LE64_BITS(sb_metadata_target,	struct bch_sb, flags[3], 16, 12)
BCH_LE64_BITS(sb_shard_inums,		struct bch_sb, flags[3], 28, 1)
BCH_LE64_BITS(sb_inodes_use_key_cache,	struct bch_sb, flags[3], 29, 1)
BCH_LE64_BITS(sb_journal_flush_delay,	struct bch_sb, flags[3], 30, 32)
BCH_LE64_BITS(sb_journal_flush_disabled, struct bch_sb, flags[3], 62, 1)
BCH_LE64_BITS(sb_journal_reclaim_delay,	struct bch_sb, flags[4], 0, 32)
BCH_LE64_BITS(sb_journal_transaction_names, struct bch_sb, flags[4], 32, 1)
BCH_LE64_BITS(sb_nocow,			struct bch_sb, flags[4], 33, 1)
BCH_LE64_BITS(sb_write_buffer_size,	struct bch_sb, flags[4], 34, 20)
BCH_LE64_BITS(sb_version_upgrade,	struct bch_sb, flags[4], 54, 2)
BCH_LE64_BITS(sb_compression_hi,	struct bch_sb, flags[4], 56, 4)
BCH_LE64_BITS(sb_background_compression_hi, struct bch_sb, flags[4], 60, 4)
BCH_LE64_BITS(sb_version_upgrade_complete, struct bch_sb, flags[5], 0, 16)
BCH_LE64_BITS(sb_allocator_stuck_timeout, struct bch_sb, flags[5], 16, 16)

/* Compression options are split across two nibbles: lo | hi << 4. */
static inline u64 sb_compression(const struct bch_sb *sb)
{
	return sb_compression_lo(sb) | sb_compression_hi(sb) << 4;
}

static inline u64 sb_background_compression(const struct bch_sb *sb)
{
	return sb_background_compression_lo(sb) |
		sb_background_compression_hi(sb) << 4;
}

/* Members: one per device, in members_v2 with a stride of member_bytes. */
struct bch_member {
	u8 uuid[16];
	__le64 nbuckets;
	__le16 first_bucket;
	__le16 bucket_size;	/* sectors */
	u8 btree_bitmap_shift;
	u8 pad[3];
	__le64 last_mount;	/* seconds */
	__le64 flags;
	__le32 iops[4];
	__le64 errors[3];	/* read, write, checksum */
	__le64 errors_at_reset[3];
	__le64 errors_reset_time;
	__le64 seq;
	__le64 btree_allocated_bitmap;
	__le32 last_journal_bucket;
	__le32 last_journal_bucket_offset;
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct bch_member) == 144, "member is 144 bytes");

/* members_v1 uses the first 56 bytes of a member as its fixed stride. */
#define BCH_MEMBER_V1_BYTES	56

BCH_LE64_BITS(member_state,		struct bch_member, flags, 0, 4)
BCH_LE64_BITS(member_discard,		struct bch_member, flags, 14, 1)
BCH_LE64_BITS(member_data_allowed,	struct bch_member, flags, 15, 5)
BCH_LE64_BITS(member_group,		struct bch_member, flags, 20, 8)
BCH_LE64_BITS(member_durability,	struct bch_member, flags, 28, 2)
BCH_LE64_BITS(member_freespace_initialized, struct bch_member, flags, 30, 1)

#define BCH_IOPS_MEASUREMENTS()	x(seqread, 0) x(seqwrite, 1) x(randread, 2) x(randwrite, 3)
#define BCH_MEMBER_ERROR_TYPES() x(read, 0) x(write, 1) x(checksum, 2)

struct bch_sb_field_members_v1 {
	struct bch_sb_field field;
	u8 members[];		/* BCH_MEMBER_V1_BYTES each */
};

struct bch_sb_field_members_v2 {
	struct bch_sb_field field;
	__le16 member_bytes;
	u8 pad[6];
	u8 members[];		/* member_bytes each */
};

/* journal (legacy): bucket numbers; journal_v2: (start, nr) ranges */
struct bch_sb_field_journal {
	struct bch_sb_field field;
	__le64 buckets[];
};

struct bch_sb_field_journal_v2 {
	struct bch_sb_field field;
	struct bch_journal_bucket_range {
		__le64 start;
		__le64 nr;
	} d[];
};

/* crypt: the encrypted master key and how to derive the passphrase key */
struct bch_key {
	__le64 key[4];
};

struct bch_encrypted_key {
	__le64 magic;
	struct bch_key key;
};

#define BCH_KEY_MAGIC	0x79656b2a2a686362ULL /* "bch**key" read as LE */

struct bch_sb_field_crypt {
	struct bch_sb_field field;
	__le64 flags;
	__le64 kdf_flags;
	struct bch_encrypted_key key;
};

BCH_LE64_BITS(crypt_kdf_type,		struct bch_sb_field_crypt, flags, 0, 4)
BCH_LE64_BITS(crypt_scrypt_n,		struct bch_sb_field_crypt, kdf_flags, 0, 16)
BCH_LE64_BITS(crypt_scrypt_r,		struct bch_sb_field_crypt, kdf_flags, 16, 16)
BCH_LE64_BITS(crypt_scrypt_p,		struct bch_sb_field_crypt, kdf_flags, 32, 16)

/* replicas entries, byte packed: v0 has no nr_required */
struct bch_replicas_entry_v0 {
	u8 data_type;
	u8 nr_devs;
	u8 devs[];
} __packed;

struct bch_replicas_entry_v1 {
	u8 data_type;
	u8 nr_devs;
	u8 nr_required;
	u8 devs[];
} __packed;

struct bch_sb_field_replicas_v0 {
	struct bch_sb_field field;
	u8 entries[];
};

struct bch_sb_field_replicas {
	struct bch_sb_field field;
	u8 entries[];
};

/* quota timers and warning limits, per quota type */
struct bch_sb_quota_counter {
	__le32 timelimit;
	__le32 warnlimit;
};

struct bch_sb_quota_type {
	__le64 flags;
	struct bch_sb_quota_counter c[2];	/* space, inodes */
};

struct bch_sb_field_quota {
	struct bch_sb_field field;
	struct bch_sb_quota_type q[3];		/* usr, grp, prj */
};

/* disk groups (labels) */
struct bch_disk_group {
	u8 label[BCH_SB_LABEL_SIZE];
	__le64 flags[2];
} __packed __aligned(8);

BCH_LE64_BITS(group_deleted,		struct bch_disk_group, flags[0], 0, 1)
BCH_LE64_BITS(group_data_allowed,	struct bch_disk_group, flags[0], 1, 5)
BCH_LE64_BITS(group_parent,		struct bch_disk_group, flags[0], 6, 18)

struct bch_sb_field_disk_groups {
	struct bch_sb_field field;
	struct bch_disk_group entries[];
};

/* clean: written at clean shutdown, holds the roots and journal position */
struct bch_sb_field_clean {
	struct bch_sb_field field;
	__le32 flags;
	__le16 _read_clock;
	__le16 _write_clock;
	__le64 journal_seq;
	u64 start[];		/* jset entries */
};

/* journal_seq_blacklist: [start, end) */
struct journal_seq_blacklist_entry {
	__le64 start;
	__le64 end;
};

struct bch_sb_field_journal_seq_blacklist {
	struct bch_sb_field field;
	struct journal_seq_blacklist_entry start[];
};

/* counters: indexed by stable counter id */
struct bch_sb_field_counters {
	struct bch_sb_field field;
	__le64 d[];
};

/* errors: every error type seen, with its count and when */
struct bch_sb_field_error_entry {
	__le64 v;
	__le64 last_error_time;
};

BCH_LE64_BITS(sb_error_entry_id,	struct bch_sb_field_error_entry, v, 0, 16)
BCH_LE64_BITS(sb_error_entry_nr,	struct bch_sb_field_error_entry, v, 16, 48)

struct bch_sb_field_errors {
	struct bch_sb_field field;
	struct bch_sb_field_error_entry entries[];
};

/* ext: recovery passes to run, errors to keep quiet, btrees that lost data */
struct bch_sb_field_ext {
	struct bch_sb_field field;
	__le64 recovery_passes_required[2];	/* bitmask of stable pass ids */
	__le64 errors_silent[8];		/* bitmask of error ids */
	__le64 btrees_lost_data;		/* bitmask of btree ids */
};
BCH_STATIC_ASSERT(sizeof(struct bch_sb_field_ext) == 8 + 88, "ext field: 11 words after the header");

/* downgrade: what to run and which errors to expect when going back */
struct bch_sb_field_downgrade_entry {
	__le16 version;
	__le64 recovery_passes[2];
	__le16 nr_errors;
	__le16 errors[];
} __packed __aligned(2);

struct bch_sb_field_downgrade {
	struct bch_sb_field field;
	u8 entries[];
};

#endif

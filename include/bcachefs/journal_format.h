/* On-disk journal: jset (one journal write) and the entries inside it. */
#ifndef BCACHEFS_JOURNAL_FORMAT_H
#define BCACHEFS_JOURNAL_FORMAT_H

#include "bcachefs/types.h"
#include "bcachefs/csum_format.h"
#include "bcachefs/bkey_format.h"
#include "bcachefs/sb_format.h"

/*
 * A journal entry inside a jset or the superblock's clean section: an
 * 8-byte header and u64s words of payload.  Entries with u64s 0 are legal.
 */
struct jset_entry {
	__le16 u64s;
	u8 btree_id;
	u8 level;
	u8 type;
	u8 pad[3];
	u64 _data[];
} __packed __aligned(8);

#define BCH_JSET_ENTRY_TYPES()			\
	x(btree_keys,		0)		\
	x(btree_root,		1)		\
	x(prio_ptrs,		2)		\
	x(blacklist,		3)		\
	x(blacklist_v2,		4)		\
	x(usage,		5)		\
	x(data_usage,		6)		\
	x(clock,		7)		\
	x(dev_usage,		8)		\
	x(log,			9)		\
	x(overwrite,		10)		\
	x(write_buffer_keys,	11)		\
	x(datetime,		12)

enum bch_jset_entry_type {
#define x(name, nr) BCH_JSET_ENTRY_##name = nr,
	BCH_JSET_ENTRY_TYPES()
#undef x
	BCH_JSET_ENTRY_NR
};

/* usage entries: btree_id holds which counter */
#define BCH_FS_USAGE_TYPES()	x(reserved, 0) x(inodes, 1) x(key_version, 2)

enum bch_fs_usage_type {
#define x(name, nr) BCH_FS_USAGE_##name = nr,
	BCH_FS_USAGE_TYPES()
#undef x
	BCH_FS_USAGE_NR
};

struct jset_entry_blacklist {
	struct jset_entry entry;
	__le64 seq;
};

struct jset_entry_blacklist_v2 {
	struct jset_entry entry;
	__le64 start;
	__le64 end;		/* inclusive */
};

struct jset_entry_usage {
	struct jset_entry entry;
	__le64 v;
};
BCH_STATIC_ASSERT(sizeof(struct jset_entry_usage) == 16, "usage entry: header and one value");

struct jset_entry_data_usage {
	struct jset_entry entry;
	__le64 v;
	struct bch_replicas_entry_v1 r;
};
BCH_STATIC_ASSERT(sizeof(struct jset_entry_data_usage) == 24, "data_usage entry: value then replicas entry");

struct jset_entry_clock {
	struct jset_entry entry;
	u8 rw;
	u8 pad[7];
	__le64 time;
};
BCH_STATIC_ASSERT(sizeof(struct jset_entry_clock) == 24, "clock entry: rw byte, padding, time");

struct jset_entry_dev_usage_type {
	__le64 buckets;
	__le64 sectors;
	__le64 fragmented;
};
BCH_STATIC_ASSERT(sizeof(struct jset_entry_dev_usage_type) == 24, "three counters per data type");

struct jset_entry_dev_usage {
	struct jset_entry entry;
	__le32 dev;
	u32 pad;
	__le64 _buckets_ec;	/* no longer used */
	__le64 _buckets_unavailable;
	struct jset_entry_dev_usage_type d[];
};
BCH_STATIC_ASSERT(sizeof(struct jset_entry_dev_usage) == 32, "dev_usage header before the per-type counters");

struct jset_entry_log {
	struct jset_entry entry;
	u8 d[];
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct jset_entry_log) == 8, "log text follows the entry header");

struct jset_entry_datetime {
	struct jset_entry entry;
	__le64 seconds;
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct jset_entry_datetime) == 16, "datetime entry: seconds since the epoch");

/* One journal write. */
struct jset {
	struct bch_csum csum;
	__le64 magic;		/* sb magic ^ JSET_MAGIC_XOR */
	__le64 seq;
	__le32 version;
	__le32 flags;
	__le32 u64s;		/* size of the entry area */
	__le16 _read_clock;	/* no longer used */
	__le16 _write_clock;
	__le64 last_seq;	/* oldest entry still needed; 0 if no_flush */
	struct jset_entry start[];
} __packed __aligned(8);
BCH_STATIC_ASSERT(sizeof(struct jset) == 56, "jset header");

/* encryption (when enabled) covers a jset from this offset */
#define JSET_ENCRYPTED_START	offsetof(struct jset, _read_clock)

BCH_LE32_BITS(jset_csum_type,		struct jset, flags, 0, 4)
BCH_LE32_BITS(jset_big_endian,		struct jset, flags, 4, 1)
BCH_LE32_BITS(jset_no_flush,		struct jset, flags, 5, 1)

#define BCH_JOURNAL_BUCKETS_MIN	8

#endif

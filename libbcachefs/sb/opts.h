/* Filesystem options stored in the superblock: one table for show-super, validation and format. */
#ifndef BCH_SB_OPTS_H
#define BCH_SB_OPTS_H

#include "bcachefs/format.h"
#include "util/printbuf.h"

enum bch_opt_type {
	BCH_OPT_BOOL,
	BCH_OPT_UINT,
	BCH_OPT_STR,		/* index into choices */
	BCH_OPT_COMPRESSION,	/* type | level << 4 */
	BCH_OPT_TARGET,		/* 0 none, 1 + device, 257 + disk group */
};

/* How the stored value relates to the option's value, and how to print it. */
enum bch_opt_flags {
	OPT_FORMAT	= 1 << 0,	/* `format` takes it */
	OPT_HUMAN	= 1 << 1,	/* print as a size: "128 KiB" */
	OPT_POW2	= 1 << 2,
	OPT_SECTORS	= 1 << 3,	/* stored in 512-byte sectors, value in bytes */
	OPT_ILOG2	= 1 << 4,	/* stored as log2 */
};

#define BCH_OPT_SIZE	(OPT_HUMAN | OPT_POW2 | OPT_SECTORS)

/*
 * x(name, type, flags, min, max, default, field, choices)
 *
 * Values are the option's own units (bytes for sizes).  A value is valid
 * when min <= v < max; max 0 means no upper bound.  `field` names the
 * superblock accessor pair sb_<field>() / set_sb_<field>().  The order is
 * the order show-super prints them in.  block_size and btree_node_size
 * default to 0: format derives them from the device.
 */
#define BCH_SB_OPTS()								\
	x(block_size,		UINT,	BCH_OPT_SIZE | OPT_FORMAT,		\
	  512,	1U << 16,	0,	hdr_block_size,		NULL)		\
	x(btree_node_size,	UINT,	BCH_OPT_SIZE | OPT_FORMAT,		\
	  512,	1U << 20,	0,	btree_node_size,	NULL)		\
	x(errors,		STR,	OPT_FORMAT,				\
	  0,	0,	BCH_ON_ERROR_fix_safe, error_action, bch_error_action_names) \
	x(metadata_replicas,	UINT,	OPT_FORMAT,				\
	  1,	4,	1,	meta_replicas_want,	NULL)			\
	x(data_replicas,	UINT,	OPT_FORMAT,				\
	  1,	4,	1,	data_replicas_want,	NULL)			\
	x(metadata_replicas_required, UINT, OPT_FORMAT,				\
	  1,	4,	1,	meta_replicas_req,	NULL)			\
	x(data_replicas_required, UINT,	OPT_FORMAT,				\
	  1,	4,	1,	data_replicas_req,	NULL)			\
	x(encoded_extent_max,	UINT,	BCH_OPT_SIZE | OPT_ILOG2 | OPT_FORMAT,	\
	  4096,	2U << 20,	64 << 10, encoded_extent_max_bits,	NULL)	\
	x(metadata_checksum,	STR,	OPT_FORMAT,				\
	  0,	0,	BCH_CSUM_OPT_crc32c, meta_csum_type,	bch_csum_opt_names) \
	x(data_checksum,	STR,	OPT_FORMAT,				\
	  0,	0,	BCH_CSUM_OPT_crc32c, data_csum_type,	bch_csum_opt_names) \
	x(compression,		COMPRESSION, OPT_FORMAT,			\
	  0,	0,	0,	compression,		NULL)			\
	x(background_compression, COMPRESSION, OPT_FORMAT,			\
	  0,	0,	0,	background_compression,	NULL)			\
	x(str_hash,		STR,	OPT_FORMAT,				\
	  0,	0,	BCH_STR_HASH_OPT_siphash, str_hash_type, bch_str_hash_opt_names) \
	x(metadata_target,	TARGET,	OPT_FORMAT,				\
	  0,	0,	0,	metadata_target,	NULL)			\
	x(foreground_target,	TARGET,	OPT_FORMAT,				\
	  0,	0,	0,	foreground_target,	NULL)			\
	x(background_target,	TARGET,	OPT_FORMAT,				\
	  0,	0,	0,	background_target,	NULL)			\
	x(promote_target,	TARGET,	OPT_FORMAT,				\
	  0,	0,	0,	promote_target,		NULL)			\
	x(erasure_code,		BOOL,	OPT_FORMAT,				\
	  0,	2,	0,	erasure_code,		NULL)			\
	x(inodes_32bit,		BOOL,	OPT_FORMAT,				\
	  0,	2,	1,	inodes_32bit,		NULL)			\
	x(shard_inode_numbers,	BOOL,	OPT_FORMAT,				\
	  0,	2,	1,	shard_inums,		NULL)			\
	x(inodes_use_key_cache,	BOOL,	OPT_FORMAT,				\
	  0,	2,	1,	inodes_use_key_cache,	NULL)			\
	x(gc_reserve_percent,	UINT,	OPT_FORMAT,				\
	  5,	21,	8,	gc_reserve,		NULL)			\
	x(gc_reserve_bytes,	UINT,	OPT_HUMAN | OPT_SECTORS | OPT_FORMAT,	\
	  0,	0,	0,	gc_reserve_bytes,	NULL)			\
	x(root_reserve_percent,	UINT,	OPT_FORMAT,				\
	  0,	100,	0,	root_reserve,		NULL)			\
	x(wide_macs,		BOOL,	OPT_FORMAT,				\
	  0,	2,	0,	wide_macs,		NULL)			\
	x(promote_whole_extents, BOOL,	0,					\
	  0,	2,	1,	promote_whole_extents,	NULL)			\
	x(acl,			BOOL,	OPT_FORMAT,				\
	  0,	2,	1,	posix_acl,		NULL)			\
	x(usrquota,		BOOL,	OPT_FORMAT,				\
	  0,	2,	0,	usrquota,		NULL)			\
	x(grpquota,		BOOL,	OPT_FORMAT,				\
	  0,	2,	0,	grpquota,		NULL)			\
	x(prjquota,		BOOL,	OPT_FORMAT,				\
	  0,	2,	0,	prjquota,		NULL)			\
	x(journal_flush_delay,	UINT,	0,					\
	  1,	UINT32_MAX, 1000, journal_flush_delay,	NULL)			\
	x(journal_flush_disabled, BOOL,	0,					\
	  0,	2,	0,	journal_flush_disabled,	NULL)			\
	x(journal_reclaim_delay, UINT,	0,					\
	  0,	UINT32_MAX, 100, journal_reclaim_delay,	NULL)			\
	x(journal_transaction_names, BOOL, OPT_FORMAT,				\
	  0,	2,	1,	journal_transaction_names, NULL)		\
	x(allocator_stuck_timeout, UINT, OPT_FORMAT,				\
	  0,	UINT16_MAX, 30,	allocator_stuck_timeout, NULL)			\
	x(version_upgrade,	STR,	0,					\
	  0,	0,	0,	version_upgrade,	bch_version_upgrade_names) \
	x(nocow,		BOOL,	OPT_FORMAT,				\
	  0,	2,	0,	nocow,			NULL)

enum bch_sb_opt_id {
#define x(name, ...) BCH_SB_OPT_##name,
	BCH_SB_OPTS()
#undef x
	BCH_SB_OPT_NR
};

struct bch_sb_opt {
	const char *name;
	enum bch_opt_type type;
	unsigned flags;
	u64 min, max;
	u64 def;
	const char * const *choices;
	u64 (*get)(const struct bch_sb *);	/* the stored value */
	void (*set)(struct bch_sb *, u64);
};

extern const struct bch_sb_opt bch_sb_opts[BCH_SB_OPT_NR];

/* -1 if there is no such option */
int bch_sb_opt_lookup(const char *name);

/* The option's value in its own units, from the stored field, and back. */
u64 bch_sb_opt_get(const struct bch_sb *, enum bch_sb_opt_id);
void bch_sb_opt_set(struct bch_sb *, enum bch_sb_opt_id, u64 v);

/* "name: too big (max N)" and friends; -BCH_ERR_sb_invalid if out of range */
int bch_sb_opt_validate(const struct bch_sb_opt *, u64 v, struct printbuf *err);

/*
 * The value as show-super prints it: sizes in human units, choices as the
 * full list with the selected one in brackets, targets by device uuid or
 * disk group path (looked up in sb).
 */
void bch_sb_opt_to_text(struct printbuf *, const struct bch_sb *,
			const struct bch_sb_opt *, u64 v);

#endif

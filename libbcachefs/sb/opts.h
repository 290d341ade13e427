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
 * x(name, type, flags, when, min, max, default, field, choices, hint, help)
 *
 * Values are the option's own units (bytes for sizes).  A value is valid
 * when min <= v < max; max 0 means no upper bound.  `field` names the
 * superblock accessor pair sb_<field>() / set_sb_<field>().  `when` is
 * FORMAT for the options `format` takes (they get OPT_FORMAT), MOUNT for
 * those set on a mounted filesystem (format writes their default).  hint
 * names the value in help text (NULL: a flag, or one of `choices`).  The
 * order is the order show-super prints them in.  block_size and
 * btree_node_size default to 0: format derives them from the devices.
 */
#define BCH_SB_OPTS()								\
	x(block_size,		UINT,	BCH_OPT_SIZE,	FORMAT,			\
	  512,	1U << 16,	0,	hdr_block_size,		NULL,		\
	  "SIZE",	"Block size (default: the largest device block size)")	\
	x(btree_node_size,	UINT,	BCH_OPT_SIZE,	FORMAT,			\
	  512,	1U << 20,	0,	btree_node_size,	NULL,		\
	  "SIZE",	"Btree node size (default: 256k, or the smallest bucket if less)") \
	x(errors,		STR,	0,		FORMAT,			\
	  0,	0,	BCH_ON_ERROR_fix_safe, error_action, bch_error_action_names, \
	  NULL,		"What to do when an error is found")		\
	x(metadata_replicas,	UINT,	0,		FORMAT,			\
	  1,	4,	1,	meta_replicas_want,	NULL,			\
	  "N",		"Copies of metadata to keep")			\
	x(data_replicas,	UINT,	0,		FORMAT,			\
	  1,	4,	1,	data_replicas_want,	NULL,			\
	  "N",		"Copies of data to keep")			\
	x(metadata_replicas_required, UINT, 0,		FORMAT,			\
	  1,	4,	1,	meta_replicas_req,	NULL,			\
	  "N",		"Copies of metadata a write must make to succeed") \
	x(data_replicas_required, UINT,	0,		FORMAT,			\
	  1,	4,	1,	data_replicas_req,	NULL,			\
	  "N",		"Copies of data a write must make to succeed")	\
	x(encoded_extent_max,	UINT,	BCH_OPT_SIZE | OPT_ILOG2, FORMAT,	\
	  4096,	2U << 20,	64 << 10, encoded_extent_max_bits,	NULL,	\
	  "SIZE",	"Largest extent checksummed or compressed as one piece") \
	x(metadata_checksum,	STR,	0,		FORMAT,			\
	  0,	0,	BCH_CSUM_OPT_crc32c, meta_csum_type,	bch_csum_opt_names, \
	  NULL,		"Checksum of metadata")				\
	x(data_checksum,	STR,	0,		FORMAT,			\
	  0,	0,	BCH_CSUM_OPT_crc32c, data_csum_type,	bch_csum_opt_names, \
	  NULL,		"Checksum of data")				\
	x(compression,		COMPRESSION, 0,		FORMAT,			\
	  0,	0,	0,	compression,		NULL,			\
	  "TYPE[:LEVEL]", "Compress data as it is written: lz4, gzip or zstd") \
	x(background_compression, COMPRESSION, 0,	FORMAT,			\
	  0,	0,	0,	background_compression,	NULL,			\
	  "TYPE[:LEVEL]", "Compress data later, in the background")	\
	x(str_hash,		STR,	0,		FORMAT,			\
	  0,	0,	BCH_STR_HASH_OPT_siphash, str_hash_type, bch_str_hash_opt_names, \
	  NULL,		"Hash of directory entry and xattr names")	\
	x(metadata_target,	TARGET,	0,		FORMAT,			\
	  0,	0,	0,	metadata_target,	NULL,			\
	  "TARGET",	"Device or label to write metadata to")		\
	x(foreground_target,	TARGET,	0,		FORMAT,			\
	  0,	0,	0,	foreground_target,	NULL,			\
	  "TARGET",	"Device or label to write new data to")		\
	x(background_target,	TARGET,	0,		FORMAT,			\
	  0,	0,	0,	background_target,	NULL,			\
	  "TARGET",	"Device or label to move data to in the background") \
	x(promote_target,	TARGET,	0,		FORMAT,			\
	  0,	0,	0,	promote_target,		NULL,			\
	  "TARGET",	"Device or label to copy data to when it is read") \
	x(erasure_code,		BOOL,	0,		FORMAT,			\
	  0,	2,	0,	erasure_code,		NULL,			\
	  NULL,		"Erasure coding (experimental)")		\
	x(inodes_32bit,		BOOL,	0,		FORMAT,			\
	  0,	2,	1,	inodes_32bit,		NULL,			\
	  NULL,		"Keep inode numbers below 2^32")		\
	x(shard_inode_numbers,	BOOL,	0,		FORMAT,			\
	  0,	2,	1,	shard_inums,		NULL,			\
	  NULL,		"Give each CPU its own range of inode numbers")	\
	x(inodes_use_key_cache,	BOOL,	0,		FORMAT,			\
	  0,	2,	1,	inodes_use_key_cache,	NULL,			\
	  NULL,		"Keep inodes in the btree key cache")		\
	x(gc_reserve_percent,	UINT,	0,		FORMAT,			\
	  5,	21,	8,	gc_reserve,		NULL,			\
	  "PERCENT",	"Share of the space held back for copying garbage collection") \
	x(gc_reserve_bytes,	UINT,	OPT_HUMAN | OPT_SECTORS, FORMAT,	\
	  0,	0,	0,	gc_reserve_bytes,	NULL,			\
	  "SIZE",	"Space held back for copying garbage collection; overrides gc_reserve_percent") \
	x(root_reserve_percent,	UINT,	0,		FORMAT,			\
	  0,	100,	0,	root_reserve,		NULL,			\
	  "PERCENT",	"Share of the space only root may use")		\
	x(wide_macs,		BOOL,	0,		FORMAT,			\
	  0,	2,	0,	wide_macs,		NULL,			\
	  NULL,		"Keep 128-bit MACs instead of 80-bit ones (encrypted filesystems)") \
	x(promote_whole_extents, BOOL,	0,		MOUNT,			\
	  0,	2,	1,	promote_whole_extents,	NULL,			\
	  NULL,		"Promote whole extents rather than the part read") \
	x(acl,			BOOL,	0,		FORMAT,			\
	  0,	2,	1,	posix_acl,		NULL,			\
	  NULL,		"POSIX access control lists")			\
	x(usrquota,		BOOL,	0,		FORMAT,			\
	  0,	2,	0,	usrquota,		NULL,			\
	  NULL,		"User quotas")					\
	x(grpquota,		BOOL,	0,		FORMAT,			\
	  0,	2,	0,	grpquota,		NULL,			\
	  NULL,		"Group quotas")					\
	x(prjquota,		BOOL,	0,		FORMAT,			\
	  0,	2,	0,	prjquota,		NULL,			\
	  NULL,		"Project quotas")				\
	x(journal_flush_delay,	UINT,	0,		MOUNT,			\
	  1,	UINT32_MAX, 1000, journal_flush_delay,	NULL,			\
	  "MS",		"Milliseconds between journal flushes")		\
	x(journal_flush_disabled, BOOL,	0,		MOUNT,			\
	  0,	2,	0,	journal_flush_disabled,	NULL,			\
	  NULL,		"Flush the journal only when asked to (fsync, sync)") \
	x(journal_reclaim_delay, UINT,	0,		MOUNT,			\
	  0,	UINT32_MAX, 100, journal_reclaim_delay,	NULL,			\
	  "MS",		"Milliseconds between journal reclaim runs")	\
	x(journal_transaction_names, BOOL, 0,		FORMAT,			\
	  0,	2,	1,	journal_transaction_names, NULL,		\
	  NULL,		"Name each transaction in the journal")		\
	x(allocator_stuck_timeout, UINT, 0,		FORMAT,			\
	  0,	UINT16_MAX, 30,	allocator_stuck_timeout, NULL,			\
	  "SECONDS",	"Seconds before a stuck allocator is reported")	\
	x(version_upgrade,	STR,	0,		MOUNT,			\
	  0,	0,	0,	version_upgrade,	bch_version_upgrade_names, \
	  NULL,		"Which metadata version upgrades mounting may do") \
	x(nocow,		BOOL,	0,		FORMAT,			\
	  0,	2,	0,	nocow,			NULL,			\
	  NULL,		"Overwrite data in place when possible (no data checksums or compression)")

/* `when` column: which options carry OPT_FORMAT */
#define BCH_OPT_WHEN_FORMAT	OPT_FORMAT
#define BCH_OPT_WHEN_MOUNT	0

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
	const char *hint;	/* the value in help text; NULL: flag or choice */
	const char *help;
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
 * Parses a value given as text (format's command line): flags "0"/"1" (no
 * text: 1), numbers in decimal, sizes with units (see bch_parse_size()),
 * choices by name, compression as "type[:level]"; then checks it with
 * bch_sb_opt_validate().  Targets cannot be parsed without the devices:
 * -BCH_ERR_bad_argument.  Errors start with the option's name.
 */
int bch_sb_opt_parse(const struct bch_sb_opt *, const char *val, u64 *v,
		     struct printbuf *err);

/*
 * A size in bytes as people write it: "4096", "128k", "1.5M", "2GiB";
 * single-letter units k M G T P E Z Y and KiB, MiB... are powers of 1024,
 * "B" is bytes.  -EINVAL for anything else, -ERANGE past 2^64.
 */
int bch_parse_size(const char *s, u64 *v);

/* A decimal number, nothing else; -EINVAL or -ERANGE. */
int bch_parse_u64(const char *s, u64 *v);

/*
 * The value as show-super prints it: sizes in human units, choices as the
 * full list with the selected one in brackets, targets by device uuid or
 * disk group path (looked up in sb).
 */
void bch_sb_opt_to_text(struct printbuf *, const struct bch_sb *,
			const struct bch_sb_opt *, u64 v);

#endif

/* Formatting: the options, each device's geometry, the superblock each device gets, writing it. */
#ifndef BCH_FORMAT_FORMAT_H
#define BCH_FORMAT_FORMAT_H

#include "bcachefs/format.h"
#include "sb/opts.h"
#include "import/import.h"
#include "util/printbuf.h"

struct bch_dev;

/*
 * Format runs in stages over the two structs below, each stage a call:
 *
 *   bch_format_opts_init(), bch_format_dev_init()   defaults
 *   (the caller fills in what was asked for)
 *   bch_format_dev_open(), bch_format_check_existing()   per device
 *   bch_format_validate()    the request makes sense
 *   bch_format_geometry()    block, bucket and btree node sizes, layout...
 *   bch_format_sb_build()    the superblock of one device, in memory
 *   bch_format_write_sb()    onto the device
 *
 * Nothing is written before the last stage, so stopping before it is a
 * dry run.  Each stage returns 0 or a negative error code with the reason
 * in err, naming the device and the numbers involved.
 */

#define BCH_FORMAT_SB_SIZE_DEFAULT	(1U << 20)	/* bytes per superblock copy */
#define BCH_FORMAT_MIN_BUCKETS		64		/* per device */
#define BCH_FORMAT_BUCKET_MAX		(65535ULL << 9)	/* le16 sectors */
#define BCH_FORMAT_NBUCKETS_MAX		(0x7fffffffULL - 64)
#define BCH_FORMAT_DURABILITY_MAX	2		/* stored + 1 in two bits */
#define BCH_FORMAT_BLOCK_MAX		4096		/* the page size */
#define BCH_FORMAT_BTREE_NODE_DEFAULT	(256U << 10)
#define BCH_FORMAT_DATA_ALLOWED_DEFAULT				\
	((1U << BCH_DATA_journal) | (1U << BCH_DATA_btree) | (1U << BCH_DATA_user))
#define BCH_FORMAT_WIPE_MAX		8

/* Filesystem-wide: what was asked for, and what geometry decided. */
struct bch_format_opts {
	/*
	 * Every superblock option in its own units (bytes for sizes),
	 * starting at the table's defaults; opt_set has bit i for each option
	 * the caller gave.  block_size and btree_node_size stay 0 unless
	 * given until bch_format_geometry() picks them.
	 */
	u64 opt[BCH_SB_OPT_NR];
	u64 opt_set;
	/* target options as given: a device path or a label path */
	const char *target[BCH_SB_OPT_NR];
	const char *label;		/* NULL: none */
	u8 user_uuid[16];		/* zero: random */
	u32 superblock_size;		/* bytes: the largest a copy may grow to */
	u16 version;			/* metadata version written */

	/* a directory tree copied in by bch_format_initialize() (NULL: none) */
	const char *source;
	const struct bch_import_opts *import;	/* progress and warnings, may be NULL */
	struct bch_import_stats *import_stats;	/* filled when source is set */

	/* set by bch_format_geometry() when zero (preset them to repeat a format) */
	u8 uuid[16];			/* internal uuid */
	u64 time_base_ns;		/* creation time, ns since the epoch */
};

/* A signature libblkid found, to be zeroed before writing. */
struct bch_format_wipe {
	u64 offset;
	u32 len;
};

/* One device: what was asked for, what it is, and its geometry. */
struct bch_format_dev {
	const char *path;
	u64 fs_size;			/* bytes to use; 0: the whole device */
	u64 bucket_size;		/* bytes; 0: picked by geometry */
	const char *label;		/* disk group path, "ssd.fast"; NULL: none */
	unsigned durability;		/* 0..BCH_FORMAT_DURABILITY_MAX */
	unsigned data_allowed;		/* bitmask of BCH_DATA_{journal,btree,user} */
	bool discard;

	/* bch_format_dev_open() (or the caller, without a device) */
	struct bch_dev *ca;
	u64 dev_size;			/* bytes */
	unsigned dev_block_size;	/* bytes: the smallest block it allows */
	bool is_file;			/* a regular file: writes may extend it */

	/* bch_format_check_existing() */
	char existing[96];		/* "a bcachefs filesystem", "" if none */
	struct bch_format_wipe wipe[BCH_FORMAT_WIPE_MAX];
	unsigned nr_wipe;

	/* bch_format_geometry() */
	u64 size;			/* bytes used */
	u64 nbuckets;
	u16 first_bucket;
	unsigned nr_journal_buckets;	/* allocated when the filesystem is initialized */
	struct bch_sb_layout layout;
	u8 uuid[16];			/* member uuid; zero: random */
};

void bch_format_opts_init(struct bch_format_opts *);
void bch_format_dev_init(struct bch_format_dev *, const char *path);

/* Sets option id as given by the caller. */
void bch_format_opt_set(struct bch_format_opts *, enum bch_sb_opt_id, u64 v);

/* Opens the device for writing (exclusively, for a block device); its size and block size. */
int bch_format_dev_open(struct bch_format_dev *, struct printbuf *err);
void bch_format_dev_close(struct bch_format_dev *);

/*
 * Looks for filesystems and partition tables with libblkid.  Without
 * force, one found is an error naming the device and what is there; with
 * force, their signatures are recorded, to be zeroed by
 * bch_format_write_sb(), and dev->existing says what they were.
 */
int bch_format_check_existing(struct bch_format_dev *, bool force,
			      struct printbuf *err);

/* Whether the request can make a filesystem, before any geometry. */
int bch_format_validate(const struct bch_format_opts *,
			const struct bch_format_dev *, unsigned nr,
			struct printbuf *err);

/*
 * The reference implementation's choices: block size, bucket sizes,
 * bucket counts, btree node size, journal size, superblock layouts; then
 * the uuids and creation time that were not preset.
 */
int bch_format_geometry(struct bch_format_opts *, struct bch_format_dev *,
			unsigned nr, struct printbuf *err);

/*
 * The superblock of device idx as format writes it, before the filesystem
 * is initialized: seq 0, no checksum, members, disk groups for labels and
 * targets, every option.  *out is malloc'd; it passes bch_sb_validate().
 */
int bch_format_sb_build(const struct bch_format_opts *,
			const struct bch_format_dev *, unsigned nr, unsigned idx,
			struct bch_sb **out, struct printbuf *err);

/*
 * Onto the device: zeroes the signatures found, and sectors 0-7, then
 * writes the layout and every superblock copy.
 */
int bch_format_write_sb(const struct bch_format_dev *, const struct bch_sb *,
			struct printbuf *err);

/*
 * After bch_format_write_sb() on every device (and with the devices
 * closed): opens the new filesystem and initializes it as the kernel's
 * first mount would (journal buckets, superblock and journal bucket
 * marks, free space, root subvolume, snapshot and snapshot tree, root
 * directory and lost+found), copies opts->source in when given
 * (import/import.h), then shuts it down cleanly.
 */
int bch_format_initialize(const struct bch_format_opts *, const struct bch_format_dev *,
			  unsigned nr, struct printbuf *err);

/* Journal buckets a device of nbuckets buckets of bucket_sectors gets. */
unsigned bch_format_journal_buckets(u64 nbuckets, unsigned bucket_sectors);

#endif

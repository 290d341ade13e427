/* Format's first stages: defaults, validating a request, and the geometry the reference picks. */
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "format/format.h"
#include "core/fs_types.h"
#include "util/errcode.h"
#include "util/names.h"

BCH_STATIC_ASSERT(BCH_SB_OPT_NR <= 64, "opt_set has a bit per option");

void bch_format_opts_init(struct bch_format_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++)
		opts->opt[i] = bch_sb_opts[i].def;
	opts->superblock_size = BCH_FORMAT_SB_SIZE_DEFAULT;
	opts->version = bcachefs_metadata_version_current;
}

void bch_format_dev_init(struct bch_format_dev *dev, const char *path)
{
	memset(dev, 0, sizeof(*dev));
	dev->path = path;
	dev->durability = 1;
	dev->data_allowed = BCH_FORMAT_DATA_ALLOWED_DEFAULT;
}

void bch_format_opt_set(struct bch_format_opts *opts, enum bch_sb_opt_id id, u64 v)
{
	opts->opt[id] = v;
	opts->opt_set |= 1ULL << id;
}

static bool opt_given(const struct bch_format_opts *opts, enum bch_sb_opt_id id)
{
	return opts->opt_set & (1ULL << id);
}

static u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

static u64 max_u64(u64 a, u64 b)
{
	return a > b ? a : b;
}

static unsigned ilog2_u64(u64 v)
{
	return v ? 63 - __builtin_clzll(v) : 0;
}

/* ---- validation ---- */

/* A label path: components of 1..32 bytes separated by dots. */
static int label_path_check(const char *what, const char *path, struct printbuf *err)
{
	const char *s = path;

	do {
		size_t len = strcspn(s, ".");

		if (!len || len > BCH_SB_LABEL_SIZE) {
			pb_printf(err, "%s '%s': each dot-separated part must be 1 to %u bytes long",
				  what, path, BCH_SB_LABEL_SIZE);
			return -BCH_ERR_bad_argument;
		}
		s += len;
	} while (*s++);
	return 0;
}

/* Does label path `label` start with the components of `prefix`? */
static bool label_has_prefix(const char *label, const char *prefix)
{
	size_t len = strlen(prefix);

	return label && !strncmp(label, prefix, len) &&
		(label[len] == '\0' || label[len] == '.');
}

static int target_check(const struct bch_format_opts *opts,
			const struct bch_format_dev *devs, unsigned nr,
			enum bch_sb_opt_id id, struct printbuf *err)
{
	const char *t = opts->target[id];

	if (!t || !*t || !strcmp(t, "none"))
		return 0;
	for (unsigned i = 0; i < nr; i++)
		if (!strcmp(devs[i].path, t) || label_has_prefix(devs[i].label, t))
			return 0;
	pb_printf(err, "%s '%s' is neither a device being formatted nor a device label",
		  bch_sb_opts[id].name, t);
	return -BCH_ERR_bad_argument;
}

static int dev_check(const struct bch_format_dev *dev, struct printbuf *err)
{
	const unsigned allowed = BCH_FORMAT_DATA_ALLOWED_DEFAULT;

	if (dev->durability > BCH_FORMAT_DURABILITY_MAX) {
		pb_printf(err, "%s: durability %u is above the maximum of %u",
			  dev->path, dev->durability, BCH_FORMAT_DURABILITY_MAX);
		return -BCH_ERR_bad_argument;
	}
	if (!dev->data_allowed || (dev->data_allowed & ~allowed)) {
		pb_printf(err, "%s: data_allowed must be some of journal, btree and user",
			  dev->path);
		return -BCH_ERR_bad_argument;
	}
	if (dev->bucket_size & 511) {
		pb_printf(err, "%s: bucket size %llu is not a multiple of 512",
			  dev->path, (unsigned long long)dev->bucket_size);
		return -BCH_ERR_bad_argument;
	}
	if (dev->bucket_size > BCH_FORMAT_BUCKET_MAX) {
		pb_printf(err, "%s: bucket size %llu is above the maximum of %llu",
			  dev->path, (unsigned long long)dev->bucket_size, BCH_FORMAT_BUCKET_MAX);
		return -BCH_ERR_bad_argument;
	}
	if (!dev->is_file && dev->fs_size > dev->dev_size) {
		pb_printf(err, "%s: fs_size %llu is larger than the device (%llu bytes)",
			  dev->path, (unsigned long long)dev->fs_size,
			  (unsigned long long)dev->dev_size);
		return -BCH_ERR_bad_argument;
	}
	return dev->label ? label_path_check("device label", dev->label, err) : 0;
}

static int devs_check(const struct bch_format_dev *devs, unsigned nr, struct printbuf *err)
{
	if (!nr || nr > BCH_SB_MEMBERS_MAX) {
		pb_printf(err, "a filesystem has 1 to %u devices, not %u", BCH_SB_MEMBERS_MAX, nr);
		return -BCH_ERR_bad_argument;
	}
	for (unsigned i = 0; i < nr; i++) {
		int ret = dev_check(&devs[i], err);

		if (ret)
			return ret;
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(devs[i].path, devs[j].path)) {
				pb_printf(err, "%s is given twice", devs[i].path);
				return -BCH_ERR_bad_argument;
			}
	}
	return 0;
}

/* Every option in its table's range (the command line checks too; library callers may not). */
static int opts_range_check(const struct bch_format_opts *opts, struct printbuf *err)
{
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++) {
		const struct bch_sb_opt *o = &bch_sb_opts[i];

		if (!opt_given(opts, i) || o->type == BCH_OPT_TARGET)
			continue;
		if (!(o->flags & OPT_FORMAT)) {
			pb_printf(err, "%s cannot be set by format", o->name);
			return -BCH_ERR_bad_argument;
		}
		int ret = bch_sb_opt_validate(o, opts->opt[i], err);
		if (ret)
			return ret;
	}
	return 0;
}

static int version_check(unsigned v, struct printbuf *err)
{
	if (v < bcachefs_metadata_version_min || v > bcachefs_metadata_version_current) {
		pb_printf(err, "metadata version %u.%u is outside the versions this tool writes (%u.%u to %u.%u)",
			  BCH_VERSION_MAJOR(v), BCH_VERSION_MINOR(v),
			  BCH_VERSION_MAJOR(bcachefs_metadata_version_min),
			  BCH_VERSION_MINOR(bcachefs_metadata_version_min),
			  BCH_VERSION_MAJOR(bcachefs_metadata_version_current),
			  BCH_VERSION_MINOR(bcachefs_metadata_version_current));
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

/* Superblock copies are at most 2^16 sectors; at least one sector. */
static int sb_size_check(u32 bytes, struct printbuf *err)
{
	if (bytes < 512 || (bytes >> 9) > (1U << BCH_SB_LAYOUT_SIZE_BITS_MAX)) {
		pb_printf(err, "superblock_size %u is outside 512 to %u bytes",
			  bytes, 512U << BCH_SB_LAYOUT_SIZE_BITS_MAX);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

static int fs_check(const struct bch_format_opts *opts, struct printbuf *err)
{
	if (opts->label && strlen(opts->label) > BCH_SB_LABEL_SIZE) {
		pb_printf(err, "filesystem label '%s' is %zu bytes long; the maximum is %u",
			  opts->label, strlen(opts->label), BCH_SB_LABEL_SIZE);
		return -BCH_ERR_bad_argument;
	}
	return  version_check(opts->version, err) ?:
		sb_size_check(opts->superblock_size, err) ?:
		opts_range_check(opts, err);
}

static unsigned max_dev_block_size(const struct bch_format_dev *devs, unsigned nr)
{
	unsigned bs = 0;

	for (unsigned i = 0; i < nr; i++)
		bs = max_u64(bs, devs[i].dev_block_size);
	return bs;
}

static int block_size_check(const struct bch_format_opts *opts,
			    const struct bch_format_dev *devs, unsigned nr,
			    struct printbuf *err)
{
	u64 bs = opts->opt[BCH_SB_OPT_block_size];

	if (!opt_given(opts, BCH_SB_OPT_block_size))
		bs = max_dev_block_size(devs, nr);
	for (unsigned i = 0; i < nr; i++)
		if (bs < devs[i].dev_block_size) {
			pb_printf(err, "block size %llu is smaller than the block size of %s (%u)",
				  (unsigned long long)bs, devs[i].path, devs[i].dev_block_size);
			return -BCH_ERR_bad_argument;
		}
	if (bs < 512) {
		pb_printf(err, "block size %llu is below 512 (no device block size known?)",
			  (unsigned long long)bs);
		return -BCH_ERR_bad_argument;
	}
	if (bs > BCH_FORMAT_BLOCK_MAX) {
		pb_printf(err, "block size %llu is above %u, the largest that can be mounted",
			  (unsigned long long)bs, BCH_FORMAT_BLOCK_MAX);
		return -BCH_ERR_bad_argument;
	}
	/*
	 * A node of one block is written once: every later change to it
	 * allocates a new node, whose allocation changes the alloc btree's
	 * nodes again, without end (the reference's format hangs on it).
	 */
	if (opt_given(opts, BCH_SB_OPT_btree_node_size) &&
	    opts->opt[BCH_SB_OPT_btree_node_size] < 2 * bs) {
		pb_printf(err, "btree node size %llu is below twice the block size (%llu): "
			  "a node of one block takes no later writes",
			  (unsigned long long)opts->opt[BCH_SB_OPT_btree_node_size],
			  (unsigned long long)bs);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

/* Sum of the durability of the devices that take data of a type. */
static unsigned durability_for(const struct bch_format_dev *devs, unsigned nr,
			       unsigned data_type)
{
	unsigned sum = 0;

	for (unsigned i = 0; i < nr; i++)
		if (devs[i].data_allowed & (1U << data_type))
			sum += devs[i].durability;
	return sum;
}

static int replicas_check_one(const struct bch_format_opts *opts,
			      const struct bch_format_dev *devs, unsigned nr,
			      enum bch_sb_opt_id want, enum bch_sb_opt_id req,
			      unsigned data_type, struct printbuf *err)
{
	unsigned have = durability_for(devs, nr, data_type);

	if (opts->opt[req] > opts->opt[want]) {
		pb_printf(err, "%s (%llu) is more than %s (%llu)", bch_sb_opts[req].name,
			  (unsigned long long)opts->opt[req], bch_sb_opts[want].name,
			  (unsigned long long)opts->opt[want]);
		return -BCH_ERR_bad_argument;
	}
	if (opts->opt[req] > have) {
		pb_printf(err, "%s is %llu, but the devices that take %s data add up to a durability of %u",
			  bch_sb_opts[req].name, (unsigned long long)opts->opt[req],
			  bch_data_type_names[data_type], have);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

/* Initialization needs somewhere to write the journal and btree nodes. */
static int replicas_check(const struct bch_format_opts *opts,
			  const struct bch_format_dev *devs, unsigned nr,
			  struct printbuf *err)
{
	if (!durability_for(devs, nr, BCH_DATA_journal)) {
		pb_str(err, "no device with a durability above 0 takes journal data (see data_allowed)");
		return -BCH_ERR_bad_argument;
	}
	return  replicas_check_one(opts, devs, nr, BCH_SB_OPT_metadata_replicas,
				   BCH_SB_OPT_metadata_replicas_required, BCH_DATA_btree, err) ?:
		replicas_check_one(opts, devs, nr, BCH_SB_OPT_data_replicas,
				   BCH_SB_OPT_data_replicas_required, BCH_DATA_user, err);
}

static int targets_check(const struct bch_format_opts *opts,
			 const struct bch_format_dev *devs, unsigned nr,
			 struct printbuf *err)
{
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++) {
		int ret = bch_sb_opts[i].type == BCH_OPT_TARGET
			? target_check(opts, devs, nr, i, err) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

int bch_format_validate(const struct bch_format_opts *opts,
			const struct bch_format_dev *devs, unsigned nr,
			struct printbuf *err)
{
	return  devs_check(devs, nr, err) ?:
		fs_check(opts, err) ?:
		block_size_check(opts, devs, nr, err) ?:
		replicas_check(opts, devs, nr, err) ?:
		targets_check(opts, devs, nr, err);
}

/* ---- geometry ---- */

/* A device needs room for the minimum number of buckets of this size. */
static u64 min_dev_size(u64 bucket_size)
{
	return BCH_FORMAT_MIN_BUCKETS * bucket_size;
}

/*
 * The reference's bucket size: at least the block and btree node sizes
 * and 128 KiB, scaled up with the device (doubling per factor of 16 above
 * the minimum size) to at most 1 MiB; halved on devices too small for it.
 */
static u64 pick_bucket_size(const struct bch_format_opts *opts, u64 size)
{
	u64 bucket = opts->opt[BCH_SB_OPT_block_size];

	if (opt_given(opts, BCH_SB_OPT_btree_node_size))
		bucket = max_u64(bucket, opts->opt[BCH_SB_OPT_btree_node_size]);
	bucket = max_u64(bucket, 128 << 10);

	if (size >= min_dev_size(bucket)) {
		unsigned scale = ilog2_u64(size / min_dev_size(bucket)) / 4;

		scale = scale ? 1U << ilog2_u64(scale) : 1;
		return min_u64(bucket * scale, 1 << 20);
	}
	do {
		bucket /= 2;
	} while (size < min_dev_size(bucket));
	return bucket;
}

static int dev_size_check(const struct bch_format_dev *dev, u64 block_size,
			  struct printbuf *err)
{
	if (dev->size < min_dev_size(block_size)) {
		pb_printf(err, "%s is too small: %llu bytes, the minimum is %llu (%u blocks of %llu)",
			  dev->path, (unsigned long long)dev->size,
			  (unsigned long long)min_dev_size(block_size), BCH_FORMAT_MIN_BUCKETS,
			  (unsigned long long)block_size);
		return -BCH_ERR_device_short;
	}
	return 0;
}

static int bucket_check(const struct bch_format_opts *opts,
			const struct bch_format_dev *dev, struct printbuf *err)
{
	u64 block = opts->opt[BCH_SB_OPT_block_size];
	u64 node = opts->opt[BCH_SB_OPT_btree_node_size];

	if (dev->bucket_size < block || dev->bucket_size % block) {
		pb_printf(err, "%s: bucket size %llu is not a multiple of the block size %llu",
			  dev->path, (unsigned long long)dev->bucket_size, (unsigned long long)block);
		return -BCH_ERR_bad_argument;
	}
	if (opt_given(opts, BCH_SB_OPT_btree_node_size) && dev->bucket_size < node) {
		pb_printf(err, "%s: bucket size %llu is smaller than the btree node size %llu",
			  dev->path, (unsigned long long)dev->bucket_size, (unsigned long long)node);
		return -BCH_ERR_bad_argument;
	}
	if (dev->nbuckets < BCH_FORMAT_MIN_BUCKETS) {
		pb_printf(err, "%s: %llu buckets of %llu bytes, the minimum is %u buckets",
			  dev->path, (unsigned long long)dev->nbuckets,
			  (unsigned long long)dev->bucket_size, BCH_FORMAT_MIN_BUCKETS);
		return -BCH_ERR_device_short;
	}
	if (dev->nbuckets > BCH_FORMAT_NBUCKETS_MAX) {
		pb_printf(err, "%s: %llu buckets of %llu bytes, the maximum is %llu buckets",
			  dev->path, (unsigned long long)dev->nbuckets,
			  (unsigned long long)dev->bucket_size, BCH_FORMAT_NBUCKETS_MAX);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

/*
 * Buckets: each device without a bucket size gets the smallest size among
 * the sizes given and the sizes picked for the others, as the reference
 * does, so that all buckets in a filesystem tend to be alike.
 */
static int buckets_compute(const struct bch_format_opts *opts,
			   struct bch_format_dev *devs, unsigned nr,
			   struct printbuf *err)
{
	u64 smallest = UINT64_MAX;
	int ret;

	for (unsigned i = 0; i < nr; i++) {
		struct bch_format_dev *dev = &devs[i];

		dev->size = dev->fs_size ?: dev->dev_size;
		if (!dev->bucket_size) {
			ret = dev_size_check(dev, opts->opt[BCH_SB_OPT_block_size], err);
			if (ret)
				return ret;
		}
		smallest = min_u64(smallest, dev->bucket_size ?:
				   pick_bucket_size(opts, dev->size));
	}
	for (unsigned i = 0; i < nr; i++) {
		struct bch_format_dev *dev = &devs[i];

		dev->bucket_size = dev->bucket_size ?: smallest;
		dev->nbuckets = dev->size / dev->bucket_size;
		dev->first_bucket = 0;
		ret = bucket_check(opts, dev, err);
		if (ret)
			return ret;
		dev->nr_journal_buckets =
			bch_format_journal_buckets(dev->nbuckets, dev->bucket_size >> 9);
	}
	return 0;
}

/* 1/128 of the device, at least 8 buckets, at most 8192 buckets or 8 GiB. */
unsigned bch_format_journal_buckets(u64 nbuckets, unsigned bucket_sectors)
{
	u64 nr = nbuckets >> 7;
	u64 max = min_u64(1 << 13, (1 << 24) / (bucket_sectors ?: 1));

	nr = max_u64(nr, 8);
	return min_u64(nr, max);
}

static void btree_node_size_compute(struct bch_format_opts *opts,
				    const struct bch_format_dev *devs, unsigned nr)
{
	u64 size = BCH_FORMAT_BTREE_NODE_DEFAULT;

	if (opt_given(opts, BCH_SB_OPT_btree_node_size))
		return;
	for (unsigned i = 0; i < nr; i++)
		size = min_u64(size, devs[i].bucket_size);
	opts->opt[BCH_SB_OPT_btree_node_size] = size;
}

/*
 * Two copies from sector 8, the second block aligned, each
 * superblock_size long; a third, the backup, in the last bucket that
 * holds a whole copy before the end of the device.
 */
static int layout_compute(const struct bch_format_opts *opts, struct bch_format_dev *dev,
			  struct printbuf *err)
{
	struct bch_sb_layout *l = &dev->layout;
	static const u8 magic[16] = BCHFS_MAGIC_BYTES;
	u64 sb_sectors = opts->superblock_size >> 9;
	u64 block_sectors = opts->opt[BCH_SB_OPT_block_size] >> 9;
	u64 dev_sectors = dev->size >> 9, pos = BCH_SB_SECTOR, backup;

	memset(l, 0, sizeof(*l));
	memcpy(l->magic, magic, sizeof(magic));
	l->sb_max_size_bits = ilog2_u64(sb_sectors);
	for (unsigned i = 0; i < 2; i++) {
		if (pos != BCH_SB_SECTOR)
			pos = (pos + block_sectors - 1) / block_sectors * block_sectors;
		l->sb_offset[l->nr_superblocks++] = cpu_to_le64(pos);
		pos += sb_sectors;
	}
	backup = dev_sectors > (1ULL << l->sb_max_size_bits)
		? dev_sectors - (1ULL << l->sb_max_size_bits) : 0;
	backup = backup / (dev->bucket_size >> 9) * (dev->bucket_size >> 9);
	if (pos > dev_sectors || backup < pos) {
		pb_printf(err, "%s: %llu sectors is too small for three superblock copies of %llu sectors",
			  dev->path, (unsigned long long)dev_sectors, (unsigned long long)sb_sectors);
		return -BCH_ERR_device_short;
	}
	l->sb_offset[l->nr_superblocks++] = cpu_to_le64(backup);
	return 0;
}

static void identity_compute(struct bch_format_opts *opts, struct bch_format_dev *devs,
			     unsigned nr)
{
	static const u8 zero[16];
	struct timespec now;

	if (!memcmp(opts->user_uuid, zero, 16))
		uuid_generate(opts->user_uuid);
	if (!memcmp(opts->uuid, zero, 16))
		uuid_generate(opts->uuid);
	for (unsigned i = 0; i < nr; i++)
		if (!memcmp(devs[i].uuid, zero, 16))
			uuid_generate(devs[i].uuid);
	if (!opts->time_base_ns && !clock_gettime(CLOCK_REALTIME, &now))
		opts->time_base_ns = (u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
}

int bch_format_geometry(struct bch_format_opts *opts, struct bch_format_dev *devs,
			unsigned nr, struct printbuf *err)
{
	int ret;

	if (!opt_given(opts, BCH_SB_OPT_block_size))
		opts->opt[BCH_SB_OPT_block_size] = max_dev_block_size(devs, nr);
	ret = buckets_compute(opts, devs, nr, err);
	if (ret)
		return ret;
	btree_node_size_compute(opts, devs, nr);
	for (unsigned i = 0; i < nr; i++) {
		ret = layout_compute(opts, &devs[i], err);
		if (ret)
			return ret;
	}
	/* a regular file grows to the size asked for */
	for (unsigned i = 0; i < nr; i++)
		if (devs[i].ca && devs[i].is_file && devs[i].ca->size < devs[i].size)
			devs[i].ca->size = devs[i].size;
	identity_compute(opts, devs, nr);
	return 0;
}

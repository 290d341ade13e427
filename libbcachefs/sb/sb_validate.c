/* Superblock validation: the header, options, layout, then each field section through its ops. */
#include <string.h>

#include "sb/opts.h"
#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"
#include "util/names.h"

#define NSEC_PER_SEC	1000000000U
/* blocks may not be larger than a 4 KiB page */
#define SB_BLOCK_SECTORS_MAX	8

static const u8 bchfs_magic[16] = BCHFS_MAGIC_BYTES;
static const u8 bcache_magic[16] = BCACHE_MAGIC_BYTES;

bool bch_sb_magic_ok(const u8 magic[16])
{
	return !memcmp(magic, bchfs_magic, 16) || !memcmp(magic, bcache_magic, 16);
}

/* Readable versions: major no newer than ours, and at least 0.9. */
static bool version_readable(unsigned v)
{
	return BCH_VERSION_MAJOR(v) <= BCH_VERSION_MAJOR(bcachefs_metadata_version_current) &&
		v >= bcachefs_metadata_version_min;
}

static void version_range_err(struct printbuf *err, const char *what, unsigned v)
{
	pb_printf(err, "Unsupported superblock %s ", what);
	bch_version_to_text(err, v);
	pb_str(err, " (min ");
	bch_version_to_text(err, bcachefs_metadata_version_min);
	pb_str(err, ", max ");
	bch_version_to_text(err, bcachefs_metadata_version_current);
	pb_str(err, ")");
}

int bch_sb_check_versions(const struct bch_sb *sb, struct printbuf *err)
{
	unsigned version = le16_to_cpu(sb->version);
	unsigned version_min = le16_to_cpu(sb->version_min);

	if (!version_readable(version)) {
		version_range_err(err, "version", version);
		return -BCH_ERR_sb_version;
	}
	if (!version_readable(version_min)) {
		version_range_err(err, "version_min", version_min);
		return -BCH_ERR_sb_version;
	}
	if (version_min > version) {
		pb_str(err, "Bad minimum version ");
		bch_version_to_text(err, version_min);
		pb_str(err, ", greater than version field ");
		bch_version_to_text(err, version);
		return -BCH_ERR_sb_version;
	}
	return 0;
}

int bch_sb_layout_validate(const struct bch_sb_layout *l, struct printbuf *err)
{
	u64 max_sectors = 1ULL << (l->sb_max_size_bits & 63);

	if (!bch_sb_magic_ok(l->magic)) {
		pb_str(err, "Not a bcachefs superblock layout");
		return -BCH_ERR_sb_invalid;
	}
	if (l->layout_type) {
		pb_printf(err, "Invalid superblock layout type %u", l->layout_type);
		return -BCH_ERR_sb_invalid;
	}
	if (!l->nr_superblocks) {
		pb_str(err, "Invalid superblock layout: no superblocks");
		return -BCH_ERR_sb_invalid;
	}
	if (l->nr_superblocks > sizeof(l->sb_offset) / sizeof(l->sb_offset[0])) {
		pb_str(err, "Invalid superblock layout: too many superblocks");
		return -BCH_ERR_sb_invalid;
	}

	/* copies are listed in ascending order, each max_sectors long */
	for (unsigned i = 1; i < l->nr_superblocks; i++) {
		u64 prev_end = le64_to_cpu(l->sb_offset[i - 1]) + max_sectors;
		u64 next = le64_to_cpu(l->sb_offset[i]);

		if (next < prev_end) {
			pb_printf(err, "Invalid superblock layout: superblocks overlap\n"
				  "  (sb %u ends at %llu next starts at %llu",
				  i - 1, (unsigned long long)prev_end,
				  (unsigned long long)next);
			return -BCH_ERR_sb_invalid;
		}
	}
	return 0;
}

/* Header facts that do not depend on the field sections. */
static int validate_header(const struct bch_sb *sb, struct printbuf *err)
{
	u64 features0 = le64_to_cpu(sb->features[0]);
	unsigned block_size = le16_to_cpu(sb->block_size);
	u32 precision = le32_to_cpu(sb->time_precision);

	if (sb->features[1] || (features0 >> BCH_FEATURE_NR)) {
		pb_str(err, "Filesystem has incompatible features");
		return -BCH_ERR_unsupported;
	}
	if (block_size > SB_BLOCK_SECTORS_MAX) {
		pb_printf(err, "Block size too big (got %u, max %u)",
			  block_size, SB_BLOCK_SECTORS_MAX);
		return -BCH_ERR_sb_invalid;
	}
	if (mem_is_zero(sb->user_uuid, 16)) {
		pb_str(err, "Bad user UUID (got zeroes)");
		return -BCH_ERR_sb_invalid;
	}
	if (mem_is_zero(sb->uuid, 16)) {
		pb_str(err, "Bad internal UUID (got zeroes)");
		return -BCH_ERR_sb_invalid;
	}
	if (!sb->nr_devices || sb->nr_devices > BCH_SB_MEMBERS_MAX) {
		pb_printf(err, "Bad number of member devices %u (max %u)",
			  sb->nr_devices, BCH_SB_MEMBERS_MAX);
		return -BCH_ERR_sb_invalid;
	}
	if (sb->dev_idx >= sb->nr_devices) {
		pb_printf(err, "Bad dev_idx (got %u, nr_devices %u)",
			  sb->dev_idx, sb->nr_devices);
		return -BCH_ERR_sb_invalid;
	}
	if (!precision || precision > NSEC_PER_SEC) {
		pb_printf(err, "Invalid time precision: %u (min 1, max %u)",
			  precision, NSEC_PER_SEC);
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

static int validate_opts(const struct bch_sb *sb, struct printbuf *err)
{
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++) {
		struct printbuf why = PRINTBUF;
		int ret = bch_sb_opt_validate(&bch_sb_opts[i],
					      bch_sb_opt_get(sb, i), &why);

		if (ret)
			pb_printf(err, "Invalid option %s", pb_cstr(&why));
		pb_exit(&why);
		if (ret)
			return ret;
	}
	return 0;
}

/* Every section has a size and lies inside the superblock. */
static int validate_field_sizes(const struct bch_sb *sb, struct printbuf *err)
{
	const u8 *end = bch_sb_end(sb);
	const u8 *p = (const u8 *)sb->fields;

	while (p < end) {
		const struct bch_sb_field *f = (const void *)p;

		/* the field area is whole words, so a header always fits */
		if (!f->u64s) {
			pb_printf(err, "Invalid superblock: optional field with size 0 (type %u)",
				  le32_to_cpu(f->type));
			return -BCH_ERR_sb_invalid;
		}
		if (sb_field_bytes(f) > (size_t)(end - p)) {
			pb_printf(err, "Invalid superblock: optional field extends past end of superblock (type %u)",
				  le32_to_cpu(f->type));
			return -BCH_ERR_sb_invalid;
		}
		p += sb_field_bytes(f);
	}
	return 0;
}

static int validate_field(const struct bch_sb *sb, const struct bch_sb_field *f,
			  struct printbuf *err)
{
	unsigned type = le32_to_cpu(f->type);
	struct printbuf why = PRINTBUF;
	int ret;

	/* unknown types are kept and ignored: newer versions add them */
	if (type >= BCH_SB_FIELD_NR || !bch_sb_field_ops[type]->validate)
		return 0;

	ret = bch_sb_field_ops[type]->validate(sb, f, &why);
	if (ret) {
		pb_printf(err, "Invalid superblock section %s: %s",
			  bch_sb_field_names[type], pb_cstr(&why));
		pb_newline(err);
		bch_sb_field_to_text(err, sb, f);
	}
	pb_exit(&why);
	return ret;
}

int bch_sb_validate(const struct bch_sb_buf *buf, struct printbuf *err)
{
	const struct bch_sb *sb = buf->sb;
	const struct bch_sb_field *members;
	int ret;

	if (buf->bytes < BCH_SB_HEADER_BYTES || buf->bytes < sb_bytes(sb)) {
		pb_printf(err, "superblock buffer too small (%zu bytes, need %zu)",
			  buf->bytes, buf->bytes < BCH_SB_HEADER_BYTES
			  ? (size_t)BCH_SB_HEADER_BYTES : sb_bytes(sb));
		return -BCH_ERR_sb_invalid;
	}

	ret =   bch_sb_check_versions(sb, err) ?:
		validate_header(sb, err) ?:
		validate_opts(sb, err) ?:
		bch_sb_layout_validate(&sb->layout, err) ?:
		validate_field_sizes(sb, err);
	if (ret)
		return ret;

	/* the other sections are checked against the members, so they go first */
	members = bch_sb_field_get(sb, BCH_SB_FIELD_members_v1);
	if (!members) {
		pb_str(err, "Invalid superblock: member info area missing");
		return -BCH_ERR_sb_invalid;
	}
	ret = validate_field(sb, members, err);
	if (ret)
		return ret;

	sb_for_each_field(f, sb) {
		if (le32_to_cpu(f->type) == BCH_SB_FIELD_members_v1)
			continue;
		ret = validate_field(sb, f, err);
		if (ret)
			return ret;
	}
	return 0;
}

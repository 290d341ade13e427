/* Format's superblock: each device's superblock built in memory from the geometry, and written. */
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "sb/sb.h"
#include "sb/sb_write.h"
#include "core/fs.h"
#include "util/errcode.h"

/* member_group holds group index + 1 in 8 bits */
#define FORMAT_GROUPS_MAX	254

/* The disk groups the device labels make, in the order they are met. */
struct format_groups {
	struct bch_disk_group *g;
	unsigned nr;
	unsigned member_group[BCH_SB_MEMBERS_MAX];	/* index + 1, 0: none */
};

static int group_find(const struct format_groups *gs, unsigned parent,
		      const char *name, size_t len)
{
	for (unsigned i = 0; i < gs->nr; i++) {
		const struct bch_disk_group *g = &gs->g[i];

		if (group_parent(g) == parent &&
		    strnlen((const char *)g->label, BCH_SB_LABEL_SIZE) == len &&
		    !memcmp(g->label, name, len))
			return i;
	}
	return -1;
}

static unsigned group_add(struct format_groups *gs, unsigned parent,
			  const char *name, size_t len)
{
	struct bch_disk_group *g = &gs->g[gs->nr];

	memset(g, 0, sizeof(*g));
	memcpy(g->label, name, len);
	set_group_parent(g, parent);
	/* every data type, as a new group gets in the kernel */
	set_group_data_allowed(g, ~0ULL);
	return gs->nr++;
}

/* A label path's groups, created as needed; returns the last one's index + 1. */
static int label_groups(struct format_groups *gs, const char *label, struct printbuf *err)
{
	unsigned parent = 0;
	const char *s = label;

	do {
		size_t len = strcspn(s, ".");
		int idx = group_find(gs, parent, s, len);

		if (idx < 0) {
			if (gs->nr == FORMAT_GROUPS_MAX) {
				pb_printf(err, "label %s: more than %u labels in all",
					  label, FORMAT_GROUPS_MAX);
				return -BCH_ERR_bad_argument;
			}
			idx = group_add(gs, parent, s, len);
		}
		parent = idx + 1;
		s += len;
	} while (*s++);
	return parent;
}

static unsigned label_parts(const char *label)
{
	unsigned nr = 1;

	for (; *label; label++)
		nr += *label == '.';
	return nr;
}

static int groups_build(const struct bch_format_dev *devs, unsigned nr,
			struct format_groups *gs, struct printbuf *err)
{
	unsigned max = 0;

	memset(gs, 0, sizeof(*gs));
	for (unsigned i = 0; i < nr; i++)
		max += devs[i].label ? label_parts(devs[i].label) : 0;
	if (!max)
		return 0;
	gs->g = calloc(max, sizeof(*gs->g));
	if (!gs->g)
		return -BCH_ERR_nomem;
	for (unsigned i = 0; i < nr; i++) {
		int ret = devs[i].label ? label_groups(gs, devs[i].label, err) : 0;

		if (ret < 0)
			return ret;
		gs->member_group[i] = ret;
	}
	return 0;
}

/* Targets: 0 none, 1 + device index, 257 + group index */
#define FORMAT_TARGET_DEV	1
#define FORMAT_TARGET_GROUP	257

static int group_path_find(const struct format_groups *gs, const char *path)
{
	unsigned parent = 0;
	int idx = -1;

	do {
		size_t len = strcspn(path, ".");

		idx = group_find(gs, parent, path, len);
		if (idx < 0)
			return -1;
		parent = idx + 1;
		path += len;
	} while (*path++);
	return idx;
}

/* A device path as given on the command line, else a label path. */
static int target_resolve(const char *t, const struct bch_format_dev *devs,
			  unsigned nr, const struct format_groups *gs, u64 *v,
			  struct printbuf *err)
{
	int idx;

	*v = 0;
	if (!t || !*t || !strcmp(t, "none"))
		return 0;
	for (unsigned i = 0; i < nr; i++)
		if (!strcmp(devs[i].path, t)) {
			*v = FORMAT_TARGET_DEV + i;
			return 0;
		}
	idx = group_path_find(gs, t);
	if (idx < 0) {
		pb_printf(err, "target '%s' is neither a device nor a label", t);
		return -BCH_ERR_bad_argument;
	}
	*v = FORMAT_TARGET_GROUP + idx;
	return 0;
}

static int opts_to_sb(struct bch_sb *sb, const struct bch_format_opts *opts,
		      const struct bch_format_dev *devs, unsigned nr,
		      const struct format_groups *gs, struct printbuf *err)
{
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++) {
		u64 v = opts->opt[i];

		if (bch_sb_opts[i].type == BCH_OPT_TARGET) {
			int ret = target_resolve(opts->target[i], devs, nr, gs, &v, err);

			if (ret)
				return ret;
		}
		bch_sb_opt_set(sb, i, v);
	}
	return 0;
}

static void header_init(struct bch_sb *sb, const struct bch_format_opts *opts,
			const struct bch_format_dev *dev, unsigned nr, unsigned idx)
{
	static const u8 magic[16] = BCHFS_MAGIC_BYTES;

	sb->version = sb->version_min = cpu_to_le16(opts->version);
	memcpy(sb->magic, magic, sizeof(magic));
	memcpy(sb->uuid, opts->uuid, 16);
	memcpy(sb->user_uuid, opts->user_uuid, 16);
	if (opts->label)
		memcpy(sb->label, opts->label, strnlen(opts->label, BCH_SB_LABEL_SIZE));
	sb->offset = dev->layout.sb_offset[0];
	sb->dev_idx = idx;
	sb->nr_devices = nr;
	sb->time_base_lo = cpu_to_le64(opts->time_base_ns);
	sb->time_precision = cpu_to_le32(1);
	/* the journalled features are cleared by the first clean shutdown */
	if (opts->version == bcachefs_metadata_version_current)
		sb->features[0] = cpu_to_le64(BCH_SB_FEATURES_ALL);
	sb->layout = dev->layout;
}

static struct bch_sb_field *field_append(struct bch_sb *sb, enum bch_sb_field_type type,
					 unsigned u64s)
{
	struct bch_sb_field *f = bch_sb_end(sb);

	f->u64s = cpu_to_le32(u64s);
	f->type = cpu_to_le32(type);
	sb->u64s = cpu_to_le32(le32_to_cpu(sb->u64s) + u64s);
	return f;
}

static void member_init(struct bch_member *m, const struct bch_format_dev *dev,
			unsigned group)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->uuid, dev->uuid, 16);
	m->nbuckets = cpu_to_le64(dev->nbuckets);
	m->first_bucket = cpu_to_le16(dev->first_bucket);
	m->bucket_size = cpu_to_le16(dev->bucket_size >> 9);
	set_member_discard(m, dev->discard);
	set_member_data_allowed(m, dev->data_allowed);
	set_member_durability(m, dev->durability + 1);
	set_member_group(m, group);
}

/* Section sizes in u64s, header included. */
static unsigned members_v2_u64s(unsigned nr)
{
	return (sizeof(struct bch_sb_field_members_v2) + nr * sizeof(struct bch_member)) / 8;
}

static unsigned members_v1_u64s(unsigned nr)
{
	return (sizeof(struct bch_sb_field_members_v1) + nr * BCH_MEMBER_V1_BYTES + 7) / 8;
}

static unsigned groups_u64s(unsigned nr_groups)
{
	return (sizeof(struct bch_sb_field_disk_groups) +
		nr_groups * sizeof(struct bch_disk_group)) / 8;
}

/* The sections, in the order the reference creates them. */
static void fields_build(struct bch_sb *sb, const struct bch_format_dev *devs,
			 unsigned nr, const struct format_groups *gs)
{
	struct bch_sb_field_members_v2 *mi2 = (void *)
		field_append(sb, BCH_SB_FIELD_members_v2, members_v2_u64s(nr));
	struct bch_sb_field_members_v1 *mi1;
	struct bch_member m;

	mi2->member_bytes = cpu_to_le16(sizeof(struct bch_member));
	for (unsigned i = 0; i < nr; i++) {
		member_init(&m, &devs[i], gs->member_group[i]);
		memcpy(mi2->members + i * sizeof(m), &m, sizeof(m));
	}
	if (gs->nr) {
		struct bch_sb_field_disk_groups *g = (void *)
			field_append(sb, BCH_SB_FIELD_disk_groups, groups_u64s(gs->nr));

		memcpy(g->entries, gs->g, gs->nr * sizeof(*gs->g));
	}
	mi1 = (void *)field_append(sb, BCH_SB_FIELD_members_v1, members_v1_u64s(nr));
	for (unsigned i = 0; i < nr; i++)
		memcpy(mi1->members + i * BCH_MEMBER_V1_BYTES,
		       mi2->members + i * sizeof(m), BCH_MEMBER_V1_BYTES);
}

/* Our own reader must accept what we are about to write. */
static int self_check(struct bch_sb *sb, size_t bytes, const char *path,
		      struct printbuf *err)
{
	struct bch_sb_buf buf = { .sb = sb, .bytes = bytes };
	struct printbuf why = PRINTBUF;
	int ret = bch_sb_validate(&buf, &why);

	if (ret)
		pb_printf(err, "%s: the superblock built would be invalid: %s",
			  path, pb_cstr(&why));
	pb_exit(&why);
	return ret;
}

int bch_format_sb_build(const struct bch_format_opts *opts,
			const struct bch_format_dev *devs, unsigned nr, unsigned idx,
			struct bch_sb **out, struct printbuf *err)
{
	const struct bch_format_dev *dev = &devs[idx];
	struct format_groups gs;
	struct bch_sb *sb = NULL;
	size_t bytes, max = 512ULL << dev->layout.sb_max_size_bits;
	int ret;

	*out = NULL;
	ret = groups_build(devs, nr, &gs, err);
	if (ret)
		goto out;
	bytes = BCH_SB_HEADER_BYTES + 8 * (members_v2_u64s(nr) + members_v1_u64s(nr) +
					   (gs.nr ? groups_u64s(gs.nr) : 0));
	if (bytes > max) {
		pb_printf(err, "the superblock needs %zu bytes, more than superblock_size allows (%zu)",
			  bytes, max);
		ret = -BCH_ERR_bad_argument;
		goto out;
	}
	sb = calloc(1, bytes);
	ret = -BCH_ERR_nomem;
	if (!sb)
		goto out;
	header_init(sb, opts, dev, nr, idx);
	ret = opts_to_sb(sb, opts, devs, nr, &gs, err);
	if (ret)
		goto out;
	fields_build(sb, devs, nr, &gs);
	ret = self_check(sb, bytes, dev->path, err);
out:
	free(gs.g);
	if (ret)
		free(sb);
	else
		*out = sb;
	return ret;
}

static int zero_range(const struct bch_dev *ca, u64 off, u64 len, struct printbuf *err)
{
	static const u8 zeroes[4096];
	int ret = 0;

	while (!ret && len) {
		size_t n = len < sizeof(zeroes) ? len : sizeof(zeroes);

		ret = bch_dev_pwrite(ca, zeroes, n, off, err);
		off += n;
		len -= n;
	}
	return ret;
}

int bch_format_write_sb(const struct bch_format_dev *dev, const struct bch_sb *sb,
			struct printbuf *err)
{
	int ret = 0;

	if (!dev->ca) {
		pb_printf(err, "%s: not open", dev->path);
		return -BCH_ERR_bad_argument;
	}
	for (unsigned i = 0; !ret && i < dev->nr_wipe; i++)
		ret = zero_range(dev->ca, dev->wipe[i].offset, dev->wipe[i].len, err);
	return  ret ?:
		zero_range(dev->ca, 0, BCH_SB_SECTOR << 9, err) ?:
		bch_sb_write(dev->ca, sb, err);
}

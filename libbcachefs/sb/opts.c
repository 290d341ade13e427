/* The superblock options table: reading, checking and printing each option by its row. */
#include <string.h>

#include "sb/opts.h"
#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"
#include "util/names.h"

/* Accessors the format header does not generate: they are not flag bits. */
static u64 sb_hdr_block_size(const struct bch_sb *sb)
{
	return le16_to_cpu(sb->block_size);
}

static void set_sb_hdr_block_size(struct bch_sb *sb, u64 v)
{
	sb->block_size = cpu_to_le16(v);
}

static void set_sb_compression(struct bch_sb *sb, u64 v)
{
	set_sb_compression_lo(sb, v & 15);
	set_sb_compression_hi(sb, v >> 4);
}

static void set_sb_background_compression(struct bch_sb *sb, u64 v)
{
	set_sb_background_compression_lo(sb, v & 15);
	set_sb_background_compression_hi(sb, v >> 4);
}

const struct bch_sb_opt bch_sb_opts[BCH_SB_OPT_NR] = {
#define x(_name, _type, _flags, _min, _max, _def, _field, _choices)	\
	[BCH_SB_OPT_##_name] = {					\
		.name	= #_name,					\
		.type	= BCH_OPT_##_type,				\
		.flags	= _flags,					\
		.min	= _min,						\
		.max	= _max,						\
		.def	= _def,						\
		.choices = _choices,					\
		.get	= sb_##_field,					\
		.set	= set_sb_##_field,				\
	},
	BCH_SB_OPTS()
#undef x
};

int bch_sb_opt_lookup(const char *name)
{
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++)
		if (!strcmp(bch_sb_opts[i].name, name))
			return i;
	return -1;
}

u64 bch_sb_opt_get(const struct bch_sb *sb, enum bch_sb_opt_id id)
{
	const struct bch_sb_opt *opt = &bch_sb_opts[id];
	u64 v = opt->get(sb);

	if (opt->flags & OPT_ILOG2)
		v = 1ULL << (v & 63);
	if (opt->flags & OPT_SECTORS)
		v <<= 9;
	return v;
}

void bch_sb_opt_set(struct bch_sb *sb, enum bch_sb_opt_id id, u64 v)
{
	const struct bch_sb_opt *opt = &bch_sb_opts[id];

	if (opt->flags & OPT_SECTORS)
		v >>= 9;
	if ((opt->flags & OPT_ILOG2) && v)
		v = 63 - __builtin_clzll(v);
	opt->set(sb, v);
}

static unsigned nr_choices(const struct bch_sb_opt *opt)
{
	unsigned nr = 0;

	while (opt->choices[nr])
		nr++;
	return nr;
}

/*
 * The bound a choice option is checked against is one past the NULL at the
 * end of its list, as the kernel does: the value just past the last name
 * is accepted and then printed as invalid.
 */
static u64 opt_max(const struct bch_sb_opt *opt)
{
	return opt->type == BCH_OPT_STR ? nr_choices(opt) + 1 : opt->max;
}

/* A compression option is valid when the type is known and "none" has no level. */
static bool compression_opt_valid(u64 v)
{
	unsigned type = v & 15, level = v >> 4;

	return type < BCH_COMPRESSION_OPT_NR && !(!type && level);
}

int bch_sb_opt_validate(const struct bch_sb_opt *opt, u64 v, struct printbuf *err)
{
	u64 max = opt_max(opt);

	if (v < opt->min) {
		pb_printf(err, "%s: too small (min %llu)", opt->name,
			  (unsigned long long)opt->min);
		return -BCH_ERR_sb_invalid;
	}
	if (max && v >= max) {
		pb_printf(err, "%s: too big (max %llu)", opt->name,
			  (unsigned long long)max);
		return -BCH_ERR_sb_invalid;
	}
	if ((opt->flags & OPT_SECTORS) && (v & 511)) {
		pb_printf(err, "%s: not a multiple of 512", opt->name);
		return -BCH_ERR_sb_invalid;
	}
	if ((opt->flags & OPT_POW2) && (v & (v - 1))) {
		pb_printf(err, "%s: must be a power of two", opt->name);
		return -BCH_ERR_sb_invalid;
	}
	if (opt->type == BCH_OPT_COMPRESSION && !compression_opt_valid(v)) {
		pb_printf(err, "invalid compression opt %llu", (unsigned long long)v);
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

static void compression_to_text(struct printbuf *out, u64 v)
{
	unsigned type = 0, level = 0;

	/* an invalid value reads as "none", as the kernel decodes it */
	if (compression_opt_valid(v)) {
		type = v & 15;
		level = v >> 4;
	}
	pb_str(out, bch_compression_opt_names[type]);
	if (level)
		pb_printf(out, ":%u", level);
}

/* Targets: 0 = none, 1..256 = device + 1, 257.. = disk group + 257 */
#define TARGET_DEV_START	1
#define TARGET_GROUP_START	257

static void target_to_text(struct printbuf *out, const struct bch_sb *sb, u64 v)
{
	struct bch_member tmp;

	if (v < TARGET_DEV_START) {
		pb_str(out, "none");
	} else if (v < TARGET_GROUP_START) {
		unsigned dev = v - TARGET_DEV_START;

		if (bch_sb_member_exists(sb, dev)) {
			pb_str(out, "Device ");
			pb_uuid(out, bch_sb_member(sb, dev, &tmp)->uuid);
			pb_printf(out, " (%u)", dev);
		} else {
			pb_printf(out, "Bad device %u", dev);
		}
	} else {
		bch_sb_disk_path_to_text(out, sb, v - TARGET_GROUP_START);
	}
}

void bch_sb_opt_to_text(struct printbuf *out, const struct bch_sb *sb,
			const struct bch_sb_opt *opt, u64 v)
{
	switch (opt->type) {
	case BCH_OPT_BOOL:
	case BCH_OPT_UINT:
		if (opt->flags & OPT_HUMAN)
			pb_human_u64(out, v);
		else
			pb_printf(out, "%lli", (long long)v);
		break;
	case BCH_OPT_STR:
		if (v >= nr_choices(opt))
			pb_printf(out, "(invalid option %lli)", (long long)v);
		else
			pb_choice(out, opt->choices, v);
		break;
	case BCH_OPT_COMPRESSION:
		compression_to_text(out, v);
		break;
	case BCH_OPT_TARGET:
		target_to_text(out, sb, v);
		break;
	}
}

/* The superblock options table: reading, checking and printing each option by its row. */
#include <ctype.h>
#include <errno.h>
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
#define x(_name, _type, _flags, _when, _min, _max, _def, _field, _choices, _hint, _help) \
	[BCH_SB_OPT_##_name] = {					\
		.name	= #_name,					\
		.type	= BCH_OPT_##_type,				\
		.flags	= (_flags) | BCH_OPT_WHEN_##_when,		\
		.min	= _min,						\
		.max	= _max,						\
		.def	= _def,						\
		.choices = _choices,					\
		.hint	= _hint,					\
		.help	= _help,					\
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

int bch_parse_u64(const char *s, u64 *v)
{
	u64 n = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = *s - '0';

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	if (*s)
		return -EINVAL;
	*v = n;
	return 0;
}

/*
 * Leading digits of s into *v; returns how many, or -ERANGE on overflow.
 * With scale (a fraction), *scale = 10^digits kept; digits beyond 19 are
 * too small to matter and are skipped.
 */
static int parse_digits(const char *s, u64 *v, u64 *scale)
{
	int n = 0;

	*v = 0;
	if (scale)
		*scale = 1;
	for (; isdigit((unsigned char)s[n]); n++) {
		unsigned d = s[n] - '0';

		if (scale && *scale > UINT64_MAX / 10)
			continue;
		if (*v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		*v = *v * 10 + d;
		if (scale)
			*scale *= 10;
	}
	return n;
}

/* The multiplier a unit suffix names and its length; 1 and 0 for none. */
static int parse_unit(const char *s, u64 *mult)
{
	static const char letters[] = "kMGTPEZY";
	static const char *const binary[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	const char *l = *s ? strchr(letters, *s) : NULL;
	unsigned power = 0, len = 0;

	*mult = 1;
	for (unsigned i = 0; i < sizeof(binary) / sizeof(binary[0]); i++)
		if (!strncmp(s, binary[i], 3)) {
			power = i + 1;
			len = 3;
		}
	if (!len && l) {
		power = l - letters + 1;
		len = 1;
	} else if (!len && *s == 'B') {
		len = 1;
	}
	for (unsigned i = 0; i < power; i++) {
		if (*mult > UINT64_MAX / 1024)
			return -ERANGE;
		*mult *= 1024;
	}
	return len;
}

int bch_parse_size(const char *s, u64 *v)
{
	u64 whole, frac = 0, frac_scale = 1, mult;
	int n;

	if (*s == '+')
		s++;
	n = parse_digits(s, &whole, NULL);
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	s += n;
	if (*s == '.') {
		n = parse_digits(++s, &frac, &frac_scale);
		if (n <= 0)
			return n < 0 ? n : -EINVAL;
		s += n;
	}
	if (*s == ' ')
		s++;
	n = parse_unit(s, &mult);
	if (n < 0)
		return n;
	s += n;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	if (whole > UINT64_MAX / mult || (frac && frac > UINT64_MAX / mult))
		return -ERANGE;
	frac = frac * mult / frac_scale;
	if (whole * mult + frac < whole * mult)
		return -ERANGE;
	*v = whole * mult + frac;
	return 0;
}

static int choice_parse(const struct bch_sb_opt *opt, const char *val, u64 *v)
{
	for (unsigned i = 0; opt->choices[i]; i++)
		if (!strcmp(opt->choices[i], val)) {
			*v = i;
			return 0;
		}
	return -EINVAL;
}

/* "type" or "type:level"; a level needs a type and is at most 15. */
static int compression_parse(const char *val, u64 *v)
{
	const char *colon = strchr(val, ':');
	size_t len = colon ? (size_t)(colon - val) : strlen(val);
	u64 level = 0;

	for (unsigned type = 0; type < BCH_COMPRESSION_OPT_NR; type++) {
		if (strlen(bch_compression_opt_names[type]) != len ||
		    strncmp(bch_compression_opt_names[type], val, len))
			continue;
		if (colon && (bch_parse_u64(colon + 1, &level) || level > 15 ||
			      (!type && level)))
			return -ERANGE;
		*v = type | level << 4;
		return 0;
	}
	return -EINVAL;
}

static int parse_by_type(const struct bch_sb_opt *opt, const char *val, u64 *v,
			 struct printbuf *err)
{
	switch (opt->type) {
	case BCH_OPT_BOOL:
		*v = 1;
		if (val && (bch_parse_u64(val, v) || *v > 1)) {
			pb_printf(err, "%s: must be 0 or 1", opt->name);
			return -BCH_ERR_bad_argument;
		}
		return 0;
	case BCH_OPT_UINT:
		if (!val || ((opt->flags & OPT_HUMAN) ? bch_parse_size(val, v)
						      : bch_parse_u64(val, v))) {
			pb_printf(err, "%s: must be a number%s", opt->name,
				  (opt->flags & OPT_HUMAN) ? " (units: k, M, G...)" : "");
			return -BCH_ERR_bad_argument;
		}
		return 0;
	case BCH_OPT_STR:
		if (!val || choice_parse(opt, val, v)) {
			pb_printf(err, "%s: must be one of ", opt->name);
			pb_bitflags(err, opt->choices, ~0ULL >> (64 - nr_choices(opt)));
			return -BCH_ERR_bad_argument;
		}
		return 0;
	case BCH_OPT_COMPRESSION:
		if (!val || compression_parse(val, v)) {
			pb_printf(err, "%s: must be one of ", opt->name);
			pb_bitflags(err, bch_compression_opt_names, ~0ULL);
			pb_str(err, ", optionally with :LEVEL (up to 15)");
			return -BCH_ERR_bad_argument;
		}
		return 0;
	case BCH_OPT_TARGET:
		break;
	}
	pb_printf(err, "%s: a target is a device or label of the filesystem", opt->name);
	return -BCH_ERR_bad_argument;
}

int bch_sb_opt_parse(const struct bch_sb_opt *opt, const char *val, u64 *v,
		     struct printbuf *err)
{
	return parse_by_type(opt, val, v, err) ?:
		bch_sb_opt_validate(opt, *v, err);
}

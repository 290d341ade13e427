/* show-super text: the header, the options, the layout and each field section through its ops. */
#include <string.h>
#include <time.h>

#include "sb/opts.h"
#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/names.h"

const struct bch_sb_field_ops *const bch_sb_field_ops[BCH_SB_FIELD_NR] = {
#define x(name, nr) [BCH_SB_FIELD_##name] = &bch_sb_field_ops_##name,
	BCH_SB_FIELDS()
#undef x
};

#define NSEC_PER_SEC	1000000000ULL

/* ctime() in local time, without its newline */
void bch_sb_datetime_to_text(struct printbuf *out, s64 seconds)
{
	time_t t = seconds;
	char buf[64];
	size_t len;

	if (!ctime_r(&t, buf)) {
		pb_printf(out, "%lli", (long long)seconds);
		return;
	}
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = 0;
	pb_str(out, buf);
}

static const char *field_name(unsigned type)
{
	return type < BCH_SB_FIELD_NR ? bch_sb_field_names[type] : NULL;
}

void bch_sb_field_body_to_text(struct printbuf *out, const struct bch_sb *sb,
			       const struct bch_sb_field *f)
{
	unsigned type = le32_to_cpu(f->type);

	if (!out->nr_tabstops)
		pb_tabstop_push(out, 32);
	if (type < BCH_SB_FIELD_NR && bch_sb_field_ops[type]->to_text)
		bch_sb_field_ops[type]->to_text(out, sb, f);
}

void bch_sb_field_to_text(struct printbuf *out, const struct bch_sb *sb,
			  const struct bch_sb_field *f)
{
	unsigned type = le32_to_cpu(f->type);

	if (field_name(type))
		pb_str(out, field_name(type));
	else
		pb_printf(out, "(unknown field %u)", type);
	pb_printf(out, " (size %zu):", sb_field_bytes(f));
	pb_newline(out);

	bch_sb_field_body_to_text(out, sb, f);
}

void bch_sb_layout_to_text(struct printbuf *out, const struct bch_sb_layout *l)
{
	pb_printf(out, "Type:                    %u", l->layout_type);
	pb_newline(out);

	pb_str(out, "Superblock max size:     ");
	pb_units_u64(out, 512ULL << (l->sb_max_size_bits & 63));
	pb_newline(out);

	pb_printf(out, "Nr superblocks:          %u", l->nr_superblocks);
	pb_newline(out);

	pb_str(out, "Offsets:                 ");
	for (unsigned i = 0; i < l->nr_superblocks && i < 61; i++)
		pb_printf(out, "%s%llu", i ? ", " : "",
			  (unsigned long long)le64_to_cpu(l->sb_offset[i]));
	pb_newline(out);
}

static void label_to_text(struct printbuf *out, const struct bch_sb *sb)
{
	if (!sb->label[0])
		pb_str(out, "(none)");
	else
		pb_printf(out, "%.*s", BCH_SB_LABEL_SIZE, (const char *)sb->label);
}

static void identity_to_text(struct printbuf *out, const struct bch_sb *sb)
{
	pb_printf(out, "External UUID:\t");
	pb_uuid(out, sb->user_uuid);
	pb_newline(out);
	pb_printf(out, "Internal UUID:\t");
	pb_uuid(out, sb->uuid);
	pb_newline(out);
	pb_printf(out, "Magic number:\t");
	pb_uuid(out, sb->magic);
	pb_newline(out);
	pb_printf(out, "Device index:\t%u\n", sb->dev_idx);
	pb_printf(out, "Label:\t");
	label_to_text(out, sb);
	pb_newline(out);
}

static void versions_to_text(struct printbuf *out, const struct bch_sb *sb)
{
	pb_printf(out, "Version:\t");
	bch_version_to_text(out, le16_to_cpu(sb->version));
	pb_newline(out);
	pb_printf(out, "Version upgrade complete:\t");
	bch_version_to_text(out, sb_version_upgrade_complete(sb));
	pb_newline(out);
	pb_printf(out, "Oldest version on disk:\t");
	bch_version_to_text(out, le16_to_cpu(sb->version_min));
	pb_newline(out);
}

static void times_to_text(struct printbuf *out, const struct bch_sb *sb)
{
	/* time_base_lo is in ns, write_time in seconds */
	pb_printf(out, "Created:\t");
	if (sb->time_base_lo)
		bch_sb_datetime_to_text(out, le64_to_cpu(sb->time_base_lo) / NSEC_PER_SEC);
	else
		pb_str(out, "(not set)");
	pb_newline(out);

	pb_printf(out, "Sequence number:\t");
	pb_printf(out, "%llu", (unsigned long long)le64_to_cpu(sb->seq));
	pb_newline(out);

	pb_printf(out, "Time of last write:\t");
	bch_sb_datetime_to_text(out, le64_to_cpu(sb->write_time));
	pb_newline(out);
}

static void contents_to_text(struct printbuf *out, const struct bch_sb *sb)
{
	u64 have = 0;

	pb_printf(out, "Superblock size:\t");
	pb_units_u64(out, sb_bytes(sb));
	pb_str(out, "/");
	pb_units_u64(out, 512ULL << (sb->layout.sb_max_size_bits & 63));
	pb_newline(out);

	pb_printf(out, "Clean:\t%llu\n", (unsigned long long)sb_clean(sb));
	pb_printf(out, "Devices:\t%u\n", bch_sb_nr_members_alive(sb));

	sb_for_each_field(f, sb)
		if (le32_to_cpu(f->type) < 64)
			have |= 1ULL << le32_to_cpu(f->type);
	pb_printf(out, "Sections:\t");
	pb_bitflags(out, bch_sb_field_names, have);
	pb_newline(out);

	pb_printf(out, "Features:\t");
	pb_bitflags(out, bch_sb_feature_names, le64_to_cpu(sb->features[0]));
	pb_newline(out);
	pb_printf(out, "Compat features:\t");
	pb_bitflags(out, bch_sb_compat_names, le64_to_cpu(sb->compat[0]));
	pb_newline(out);
}

static void opts_to_text(struct printbuf *out, const struct bch_sb *sb)
{
	pb_newline(out);
	pb_printf(out, "Options:");
	pb_newline(out);
	pb_indent_add(out, 2);
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++) {
		pb_printf(out, "%s:\t", bch_sb_opts[i].name);
		bch_sb_opt_to_text(out, sb, &bch_sb_opts[i], bch_sb_opt_get(sb, i));
		pb_newline(out);
	}
	pb_indent_sub(out, 2);
}

void bch_sb_to_text(struct printbuf *out, const struct bch_sb *sb, bool print_layout,
		    u64 fields)
{
	if (!out->nr_tabstops)
		pb_tabstop_push(out, 44);

	identity_to_text(out, sb);
	versions_to_text(out, sb);
	times_to_text(out, sb);
	contents_to_text(out, sb);
	opts_to_text(out, sb);

	if (print_layout) {
		pb_newline(out);
		pb_printf(out, "layout:");
		pb_newline(out);
		pb_indent_add(out, 2);
		bch_sb_layout_to_text(out, &sb->layout);
		pb_indent_sub(out, 2);
	}

	sb_for_each_field(f, sb)
		if (le32_to_cpu(f->type) < 64 && (fields & (1ULL << le32_to_cpu(f->type)))) {
			pb_newline(out);
			bch_sb_field_to_text(out, sb, f);
		}
}

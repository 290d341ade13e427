/* Members sections (v1 and v2): one entry per device, looked up, checked and printed. */
#include <string.h>

#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"
#include "util/names.h"

/* A device needs this many buckets past first_bucket to be usable. */
#define MEMBER_MIN_BUCKETS	64
#define MEMBER_MAX_BUCKETS	(0x7fffffffULL - 64)

/*
 * Copies member idx out of a members section with the given stride; bytes
 * the stride does not cover (v1, or an older v2) read as zero.
 */
static const struct bch_member *member_copy(const struct bch_sb_field *f,
					    size_t fixed, size_t stride,
					    unsigned idx, struct bch_member *tmp)
{
	size_t off = fixed + (size_t)idx * stride;
	size_t bytes = stride < sizeof(*tmp) ? stride : sizeof(*tmp);

	if (off + bytes > sb_field_bytes(f))
		return NULL;
	memset(tmp, 0, sizeof(*tmp));
	memcpy(tmp, (const u8 *)f + off, bytes);
	return tmp;
}

static size_t members_v2_stride(const struct bch_sb_field *f)
{
	const struct bch_sb_field_members_v2 *mi = (const void *)f;

	return le16_to_cpu(mi->member_bytes);
}

static const struct bch_member *field_member(const struct bch_sb_field *f,
					     unsigned idx, struct bch_member *tmp)
{
	if (le32_to_cpu(f->type) == BCH_SB_FIELD_members_v2)
		return member_copy(f, sizeof(struct bch_sb_field_members_v2),
				   members_v2_stride(f), idx, tmp);
	return member_copy(f, sizeof(struct bch_sb_field_members_v1),
			   BCH_MEMBER_V1_BYTES, idx, tmp);
}

const struct bch_member *bch_sb_member(const struct bch_sb *sb, unsigned idx,
				       struct bch_member *tmp)
{
	const struct bch_sb_field *f = bch_sb_field_get(sb, BCH_SB_FIELD_members_v2);

	if (!f)
		f = bch_sb_field_get(sb, BCH_SB_FIELD_members_v1);
	if (!f || idx >= BCH_SB_MEMBERS_MAX)
		return NULL;
	return field_member(f, idx, tmp);
}

/* A slot is in use when its uuid is set. */
static bool member_alive(const struct bch_member *m)
{
	return m && !mem_is_zero(m->uuid, sizeof(m->uuid));
}

bool bch_sb_member_exists(const struct bch_sb *sb, unsigned idx)
{
	struct bch_member tmp;

	return idx < sb->nr_devices && member_alive(bch_sb_member(sb, idx, &tmp));
}

unsigned bch_sb_nr_members_alive(const struct bch_sb *sb)
{
	unsigned nr = 0;

	for (unsigned i = 0; i < sb->nr_devices; i++)
		nr += bch_sb_member_exists(sb, i);
	return nr;
}

static int member_validate(const struct bch_sb *sb, const struct bch_member *m,
			   unsigned i, struct printbuf *err)
{
	u64 nbuckets = le64_to_cpu(m->nbuckets);
	unsigned bucket_size = le16_to_cpu(m->bucket_size);

	if (nbuckets > MEMBER_MAX_BUCKETS) {
		pb_printf(err, "device %u: too many buckets (got %llu, max %llu)",
			  i, (unsigned long long)nbuckets, MEMBER_MAX_BUCKETS);
		return -BCH_ERR_sb_invalid;
	}
	/* unsigned on purpose: first_bucket past nbuckets wraps and is caught here */
	if (nbuckets - le16_to_cpu(m->first_bucket) < MEMBER_MIN_BUCKETS) {
		pb_printf(err, "device %u: not enough buckets (got %llu, max %u)",
			  i, (unsigned long long)nbuckets, MEMBER_MIN_BUCKETS);
		return -BCH_ERR_sb_invalid;
	}
	if (bucket_size < le16_to_cpu(sb->block_size)) {
		pb_printf(err, "device %u: bucket size %u smaller than block size %u",
			  i, bucket_size, le16_to_cpu(sb->block_size));
		return -BCH_ERR_sb_invalid;
	}
	if (bucket_size < sb_btree_node_size(sb)) {
		pb_printf(err, "device %u: bucket size %u smaller than btree node size %llu",
			  i, bucket_size, (unsigned long long)sb_btree_node_size(sb));
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

static int members_validate_all(const struct bch_sb *sb,
				const struct bch_sb_field *f, struct printbuf *err)
{
	struct bch_member tmp;

	for (unsigned i = 0; i < sb->nr_devices; i++) {
		int ret = member_validate(sb, field_member(f, i, &tmp), i, err);

		if (ret)
			return ret;
	}
	return 0;
}

static int members_v1_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			       struct printbuf *err)
{
	size_t need = sizeof(struct bch_sb_field_members_v1) +
		(size_t)sb->nr_devices * BCH_MEMBER_V1_BYTES;

	if (need > sb_field_bytes(f)) {
		pb_str(err, "too many devices for section size");
		return -BCH_ERR_sb_invalid;
	}
	return members_validate_all(sb, f, err);
}

static int members_v2_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			       struct printbuf *err)
{
	size_t fixed = sizeof(struct bch_sb_field_members_v2);
	size_t need;

	/* member_bytes lies in the section's fixed part: it must be there */
	if (sb_field_bytes(f) < fixed) {
		pb_printf(err, "section too small (%zu > %zu)", fixed, sb_field_bytes(f));
		return -BCH_ERR_sb_invalid;
	}
	need = fixed + (size_t)sb->nr_devices * members_v2_stride(f);
	if (need > sb_field_bytes(f)) {
		pb_printf(err, "section too small (%zu > %zu)", need, sb_field_bytes(f));
		return -BCH_ERR_sb_invalid;
	}
	return members_validate_all(sb, f, err);
}

static void member_label_to_text(struct printbuf *out, const struct bch_sb *sb,
				 const struct bch_member *m)
{
	const struct bch_sb_field *f = bch_sb_field_get(sb, BCH_SB_FIELD_disk_groups);
	unsigned group = member_group(m);
	size_t nr;

	if (!group) {
		pb_str(out, "(none)");
		return;
	}
	nr = f ? sb_field_nr_entries(f, sizeof(struct bch_sb_field_disk_groups),
				     sizeof(struct bch_disk_group)) : 0;
	if (group - 1 < nr) {
		const struct bch_disk_group *g =
			&((const struct bch_sb_field_disk_groups *)f)->entries[group - 1];

		pb_printf(out, "%.*s (%u)", BCH_SB_LABEL_SIZE, (const char *)g->label,
			  group - 1);
	} else {
		pb_str(out, "(bad disk labels section)");
	}
}

static void data_types_to_text(struct printbuf *out, unsigned mask)
{
	if (mask)
		pb_bitflags(out, bch_data_type_names, mask);
	else
		pb_str(out, "(none)");
}

static void bits64_to_text(struct printbuf *out, u64 v)
{
	for (int bit = 63; bit >= 0; bit--)
		pb_char(out, '0' + ((v >> bit) & 1));
}

/* Size, errors, iops: the counts and measurements of a device. */
static void member_usage_to_text(struct printbuf *out, const struct bch_member *m)
{
	u64 bucket_size = le16_to_cpu(m->bucket_size);

	pb_printf(out, "Size:\t");
	pb_units_u64(out, le64_to_cpu(m->nbuckets) * bucket_size << 9);
	pb_newline(out);

	for (unsigned i = 0; i < 3; i++)
		pb_printf(out, "%s errors:\t%llu\n", bch_member_error_names[i],
			  (unsigned long long)le64_to_cpu(m->errors[i]));
	for (unsigned i = 0; i < 4; i++)
		pb_printf(out, "%s iops:\t%u\n", bch_iops_names[i],
			  le32_to_cpu(m->iops[i]));

	pb_printf(out, "Bucket size:\t");
	pb_units_u64(out, bucket_size << 9);
	pb_newline(out);
	pb_printf(out, "First bucket:\t%u\n", le16_to_cpu(m->first_bucket));
	pb_printf(out, "Buckets:\t%llu\n", (unsigned long long)le64_to_cpu(m->nbuckets));
}

static void member_state_to_text(struct printbuf *out, const struct bch_sb *sb,
				  const struct bch_member *m, unsigned idx)
{
	unsigned state = member_state(m);
	unsigned durability = member_durability(m);

	pb_printf(out, "Last mount:\t");
	if (m->last_mount)
		bch_sb_datetime_to_text(out, le64_to_cpu(m->last_mount));
	else
		pb_str(out, "(never)");
	pb_newline(out);

	pb_printf(out, "Last superblock write:\t%llu\n",
		  (unsigned long long)le64_to_cpu(m->seq));
	pb_printf(out, "State:\t%s\n",
		  state < BCH_MEMBER_STATE_NR ? bch_member_state_names[state] : "unknown");

	pb_printf(out, "Data allowed:\t");
	data_types_to_text(out, member_data_allowed(m));
	pb_newline(out);
	pb_printf(out, "Has data:\t");
	data_types_to_text(out, bch_sb_dev_has_data(sb, idx));
	pb_newline(out);

	/* the shift counts sectors, but is shown as a byte count of 1 << shift */
	pb_printf(out, "Btree allocated bitmap blocksize:\t");
	pb_units_u64(out, 1ULL << (m->btree_bitmap_shift & 63));
	pb_newline(out);
	pb_printf(out, "Btree allocated bitmap:\t");
	bits64_to_text(out, le64_to_cpu(m->btree_allocated_bitmap));
	pb_newline(out);

	/* stored as durability + 1; 0 means the default of 1 */
	pb_printf(out, "Durability:\t%u\n", durability ? durability - 1 : 1);
	pb_printf(out, "Discard:\t%llu\n", (unsigned long long)member_discard(m));
	pb_printf(out, "Freespace initialized:\t%llu\n",
		  (unsigned long long)member_freespace_initialized(m));
}

static void member_to_text(struct printbuf *out, const struct bch_sb *sb,
			   const struct bch_member *m, unsigned idx)
{
	if (!member_alive(m))
		return;

	pb_printf(out, "Device:\t%u\n", idx);
	pb_indent_add(out, 2);

	pb_printf(out, "Label:\t");
	member_label_to_text(out, sb, m);
	pb_newline(out);
	pb_printf(out, "UUID:\t");
	pb_uuid(out, m->uuid);
	pb_newline(out);

	member_usage_to_text(out, m);
	member_state_to_text(out, sb, m, idx);
	pb_indent_sub(out, 2);
}

static void members_to_text(struct printbuf *out, const struct bch_sb *sb,
			    const struct bch_sb_field *f)
{
	struct bch_member tmp;

	for (unsigned i = 0; i < sb->nr_devices; i++)
		member_to_text(out, sb, field_member(f, i, &tmp), i);
}

const struct bch_sb_field_ops bch_sb_field_ops_members_v1 = {
	.validate	= members_v1_validate,
	.to_text	= members_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_members_v2 = {
	.validate	= members_v2_validate,
	.to_text	= members_to_text,
};

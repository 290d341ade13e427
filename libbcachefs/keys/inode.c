/* Inode keys: unpacking the three on-disk versions, checks, and their text form. */
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "keys/inode.h"
#include "keys/key_ops.h"
#include "util/errcode.h"
#include "util/names.h"
#include "util/varint.h"

/* A variable-length inode field: where it lands and its on-disk width. */
struct inode_field {
	const char *name;
	u16 offset;
	u8 bits;
};

/* v1 and v2 order: size and sectors still among the varints. */
static const struct inode_field fields_v2[] = {
#define x(_name, _bits) { #_name, offsetof(struct bch_inode_unpacked, _name), _bits },
	BCH_INODE_FIELDS_V2()
#undef x
};

/* v3 order, also the order of the text form. */
static const struct inode_field fields_v3[] = {
#define x(_name, _bits) { #_name, offsetof(struct bch_inode_unpacked, _name), _bits },
	BCH_INODE_FIELDS_V3()
#undef x
};

#define NR_FIELDS_V2	(sizeof(fields_v2) / sizeof(fields_v2[0]))
#define NR_FIELDS_V3	(sizeof(fields_v3) / sizeof(fields_v3[0]))

static u64 *field_ptr(struct bch_inode_unpacked *u, const struct inode_field *f)
{
	return (u64 *)((u8 *)u + f->offset);
}

static u64 field_get(const struct bch_inode_unpacked *u, const struct inode_field *f)
{
	return *(const u64 *)((const u8 *)u + f->offset);
}

/* Values wider than the field's on-disk width are corrupt. */
static bool fits(u64 v, unsigned bits)
{
	return bits >= 64 || !(v >> bits);
}

/* Legacy fields: each its own length-prefixed big-endian number. */
static int unpack_v1_fields(struct bch_inode_unpacked *u, const u8 *in, const u8 *end,
			    unsigned nr_fields)
{
	for (unsigned i = 0; i < NR_FIELDS_V2 && i < nr_fields; i++) {
		const struct inode_field *f = &fields_v2[i];
		u128 v;
		int ret = bch_inode_v1_field_decode(in, end, &v);

		if (ret < 0 || (v >> 64) || !fits((u64)v, f->bits))
			return -BCH_ERR_bkey_invalid;
		*field_ptr(u, f) = (u64)v;
		in += ret;
	}
	return 0;
}

/* Current fields: varints, two of them (low, high) for the 96-bit times. */
static int unpack_varint_fields(struct bch_inode_unpacked *u, const u8 *in, const u8 *end,
				unsigned nr_fields, const struct inode_field *fields,
				unsigned nr)
{
	for (unsigned i = 0; i < nr && i < nr_fields; i++) {
		const struct inode_field *f = &fields[i];
		u64 lo, hi = 0;
		int ret = bch_varint_decode(in, end, &lo);

		if (ret < 0)
			return -BCH_ERR_bkey_invalid;
		in += ret;
		if (f->bits > 64) {
			ret = bch_varint_decode(in, end, &hi);
			if (ret < 0)
				return -BCH_ERR_bkey_invalid;
			in += ret;
		}
		if (hi || !fits(lo, f->bits))
			return -BCH_ERR_bkey_invalid;
		*field_ptr(u, f) = lo;
	}
	return 0;
}

static int unpack_v1(struct bkey_s_c k, struct bch_inode_unpacked *u)
{
	struct bch_inode v;
	const u8 *fields = (const u8 *)k.v + offsetof(struct bch_inode, fields);

	bkey_val_copy(&v, sizeof(v), k);
	u->bi_hash_seed = le64_to_cpu(v.bi_hash_seed);
	u->bi_flags = le32_to_cpu(v.bi_flags);
	u->bi_mode = le16_to_cpu(v.bi_mode);

	if (bkey_val_bytes(k.k) < offsetof(struct bch_inode, fields))
		return -BCH_ERR_bkey_invalid;
	/* the new_varint flag: fields in the current encoding */
	if (inode_v1_new_varint(&v))
		return unpack_varint_fields(u, fields, bkey_val_end(k),
					    inode_v1_nr_fields(&v), fields_v2, NR_FIELDS_V2);
	return unpack_v1_fields(u, fields, bkey_val_end(k), inode_v1_nr_fields(&v));
}

static int unpack_v2(struct bkey_s_c k, struct bch_inode_unpacked *u)
{
	struct bch_inode_v2 v;
	const u8 *fields = (const u8 *)k.v + offsetof(struct bch_inode_v2, fields);

	bkey_val_copy(&v, sizeof(v), k);
	u->bi_journal_seq = le64_to_cpu(v.bi_journal_seq);
	u->bi_hash_seed = le64_to_cpu(v.bi_hash_seed);
	u->bi_flags = (u32)le64_to_cpu(v.bi_flags);
	u->bi_mode = le16_to_cpu(v.bi_mode);

	if (bkey_val_bytes(k.k) < offsetof(struct bch_inode_v2, fields))
		return -BCH_ERR_bkey_invalid;
	return unpack_varint_fields(u, fields, bkey_val_end(k), inode_v2_nr_fields(&v),
				    fields_v2, NR_FIELDS_V2);
}

/* The varints start right after the fixed part, whatever fields_start says. */
static int unpack_v3(struct bkey_s_c k, struct bch_inode_unpacked *u)
{
	struct bch_inode_v3 v;
	const u8 *fields = (const u8 *)k.v + offsetof(struct bch_inode_v3, fields);

	bkey_val_copy(&v, sizeof(v), k);
	u->bi_journal_seq = le64_to_cpu(v.bi_journal_seq);
	u->bi_hash_seed = le64_to_cpu(v.bi_hash_seed);
	u->bi_flags = (u32)le64_to_cpu(v.bi_flags);
	u->bi_sectors = le64_to_cpu(v.bi_sectors);
	u->bi_size = le64_to_cpu(v.bi_size);
	u->bi_version = le64_to_cpu(v.bi_version);
	u->bi_mode = inode_v3_mode(&v);

	if (bkey_val_bytes(k.k) < offsetof(struct bch_inode_v3, fields))
		return -BCH_ERR_bkey_invalid;
	return unpack_varint_fields(u, fields, bkey_val_end(k), inode_v3_nr_fields(&v),
				    fields_v3, NR_FIELDS_V3);
}

/* v3 fields: a zero is one zero byte; a 96-bit field has a second, always zero, high part. */
static unsigned pack_fields(const struct bch_inode_unpacked *u, u8 *out, unsigned *nr_fields)
{
	unsigned used = 0, last = 0;

	*nr_fields = 0;
	for (unsigned i = 0; i < NR_FIELDS_V3; i++) {
		const struct inode_field *f = &fields_v3[i];
		u64 v = field_get(u, f);

		if (v)
			used += bch_varint_encode(out + used, v);
		else
			out[used++] = 0;
		if (f->bits > 64)
			out[used++] = 0;
		if (v) {
			last = used;
			*nr_fields = i + 1;
		}
	}
	return last;
}

int bch_inode_pack(const struct bch_inode_unpacked *u, struct bkey_i *out, unsigned out_u64s)
{
	u8 fields[NR_FIELDS_V3 * (BCH_VARINT_MAX_BYTES + 1)];
	unsigned nr_fields, bytes = pack_fields(u, fields, &nr_fields);
	unsigned val_bytes = offsetof(struct bch_inode_v3, fields) + bytes;
	unsigned u64s = BKEY_U64s + (val_bytes + 7) / 8;
	struct bch_inode_v3 *v = (struct bch_inode_v3 *)out->v;

	if (u64s > out_u64s)
		return -BCH_ERR_bad_argument;
	memset(out, 0, u64s * 8);
	out->k.u64s = u64s;
	out->k.format_whiteout = KEY_FORMAT_CURRENT;
	out->k.type = KEY_TYPE_inode_v3;
	out->k.p = SPOS(0, u->bi_inum, u->bi_snapshot);
	v->bi_journal_seq = cpu_to_le64(u->bi_journal_seq);
	v->bi_hash_seed = cpu_to_le64(u->bi_hash_seed);
	v->bi_flags = cpu_to_le64(u->bi_flags);
	v->bi_sectors = cpu_to_le64(u->bi_sectors);
	v->bi_size = cpu_to_le64(u->bi_size);
	v->bi_version = cpu_to_le64(u->bi_version);
	set_inode_v3_mode(v, u->bi_mode);
	set_inode_v3_nr_fields(v, nr_fields);
	set_inode_v3_fields_start(v, offsetof(struct bch_inode_v3, fields) / 8);
	memcpy((u8 *)v + offsetof(struct bch_inode_v3, fields), fields, bytes);
	return 0;
}

int bch_inode_unpack(struct bkey_s_c k, struct bch_inode_unpacked *u)
{
	memset(u, 0, sizeof(*u));
	u->bi_inum = k.k->p.offset;
	u->bi_snapshot = k.k->p.snapshot;

	switch (k.k->type) {
	case KEY_TYPE_inode:
		return unpack_v1(k, u);
	case KEY_TYPE_inode_v2:
		return unpack_v2(k, u);
	case KEY_TYPE_inode_v3:
		return unpack_v3(k, u);
	default:
		return -BCH_ERR_bkey_invalid;
	}
}

/* The low 20 bits of bi_flags are the inode flags proper. */
#define INODE_FLAGS_MASK	((1U << 20) - 1)

void bch_inode_unpacked_to_text(struct printbuf *out, const struct bch_inode_unpacked *u)
{
	pb_printf(out, "\n");
	pb_indent_add(out, 2);
	pb_printf(out, "mode=%o\n", u->bi_mode);

	pb_str(out, "flags=");
	pb_bitflags(out, bch_inode_flag_names, u->bi_flags & INODE_FLAGS_MASK);
	pb_printf(out, "(%x)\n", u->bi_flags);

	pb_printf(out, "journal_seq=%llu\n", (unsigned long long)u->bi_journal_seq);
	pb_printf(out, "bi_size=%llu\n", (unsigned long long)u->bi_size);
	pb_printf(out, "bi_sectors=%llu\n", (unsigned long long)u->bi_sectors);
	pb_printf(out, "bi_version=%llu\n", (unsigned long long)u->bi_version);
	for (unsigned i = 0; i < NR_FIELDS_V3; i++)
		pb_printf(out, "%s=%llu\n", fields_v3[i].name,
			  (unsigned long long)field_get(u, &fields_v3[i]));

	pb_strip_trailing_newline(out);
	pb_indent_sub(out, 2);
}

void bch_inode_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_inode_unpacked u;

	if (bch_inode_unpack(k, &u)) {
		pb_str(out, "(unpack error)");
		return;
	}
	bch_inode_unpacked_to_text(out, &u);
}

/* Compression option values are stored plus one; 0 means unset. */
static bool compression_opt_valid(unsigned v)
{
	unsigned type = v & 15, level = v >> 4;

	return type < BCH_COMPRESSION_OPT_NR && !(!type && level);
}

static int check_str_hash(struct bkey_check *chk, unsigned type)
{
	if (type >= BCH_STR_HASH_NR)
		return bkey_invalid(chk, BCH_FSERR_inode_str_hash_invalid,
				    "invalid str hash type (%u >= %u)", type, BCH_STR_HASH_NR);
	return 0;
}

/* What every version must satisfy once unpacked. */
static int check_unpacked(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_inode_unpacked u;

	if (k.k->p.inode)
		return bkey_invalid(chk, BCH_FSERR_inode_pos_inode_nonzero, "nonzero k.p.inode");
	if (k.k->p.offset < BLOCKDEV_INODE_MAX)
		return bkey_invalid(chk, BCH_FSERR_inode_pos_blockdev_range,
				    "fs inode in blockdev range");
	if (bch_inode_unpack(k, &u))
		return bkey_invalid(chk, BCH_FSERR_inode_unpack_error,
				    "invalid variable length fields");
	if (u.bi_data_checksum >= BCH_CSUM_OPT_NR + 1)
		return bkey_invalid(chk, BCH_FSERR_inode_checksum_type_invalid,
				    "invalid data checksum type (%llu >= %u",
				    (unsigned long long)u.bi_data_checksum, BCH_CSUM_OPT_NR + 1);
	if (u.bi_compression && !compression_opt_valid(u.bi_compression - 1))
		return bkey_invalid(chk, BCH_FSERR_inode_compression_type_invalid,
				    "invalid compression opt %llu",
				    (unsigned long long)u.bi_compression - 1);
	if ((u.bi_flags & (1U << BCH_INODE_unlinked)) && u.bi_nlink)
		return bkey_invalid(chk, BCH_FSERR_inode_unlinked_but_nlink_nonzero,
				    "flagged as unlinked but bi_nlink != 0");
	if (u.bi_subvol && !S_ISDIR(u.bi_mode))
		return bkey_invalid(chk, BCH_FSERR_inode_subvol_root_but_not_dir,
				    "subvolume root but not a directory");
	return 0;
}

static int check_v3_header(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_inode_v3 v;
	unsigned start;

	bkey_val_copy(&v, sizeof(v), k);
	start = inode_v3_fields_start(&v);
	if (start < INODE_V3_FIELDS_START_INITIAL || start > bkey_val_u64s(k.k))
		return bkey_invalid(chk, BCH_FSERR_inode_v3_fields_start_bad,
				    "invalid fields_start (got %u, min %u max %u)",
				    start, INODE_V3_FIELDS_START_INITIAL, bkey_val_u64s(k.k));
	return check_str_hash(chk, inode_v3_str_hash(&v));
}

int bch_inode_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	int ret = 0;

	if (k.k->type == KEY_TYPE_inode) {
		struct bch_inode v;

		bkey_val_copy(&v, sizeof(v), k);
		ret = check_str_hash(chk, inode_v1_str_hash(&v));
	} else if (k.k->type == KEY_TYPE_inode_v2) {
		struct bch_inode_v2 v;

		bkey_val_copy(&v, sizeof(v), k);
		ret = check_str_hash(chk, inode_v2_str_hash(&v));
	} else {
		ret = check_v3_header(chk, k);
	}
	return ret ?: check_unpacked(chk, k);
}

int bch_inode_generation_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	if (k.k->p.inode)
		return bkey_invalid(chk, BCH_FSERR_inode_pos_inode_nonzero, "nonzero k.p.inode");
	return 0;
}

void bch_inode_generation_to_text(struct printbuf *out, const struct bch_fs *c,
				  struct bkey_s_c k)
{
	struct bch_inode_generation g;

	bkey_val_copy(&g, sizeof(g), k);
	pb_printf(out, "generation: %u", le32_to_cpu(g.bi_generation));
}

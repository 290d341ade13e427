/* Packed-key formats: validation, unpacking into struct bkey, packing, and text forms. */
#include <string.h>

#include "bkey.h"
#include "util/names.h"

static const u8 unpacked_widths[BKEY_NR_FIELDS] = BKEY_FIELD_WIDTHS;

/* Header bytes (u64s, format, type) take the low 24 bits of a packed key. */
#define PACKED_BITS_START	24

const struct bkey_format bch_bkey_format_current = {
	.key_u64s	= BKEY_U64s,
	.nr_fields	= BKEY_NR_FIELDS,
	.bits_per_field	= BKEY_FIELD_WIDTHS,
};

static u64 low_mask(unsigned bits)
{
	return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

/* Can a value of this field, once unpacked, exceed the unpacked width? */
static bool field_overflows(const struct bkey_format *f, unsigned i)
{
	unsigned bits = f->bits_per_field[i];
	unsigned width = unpacked_widths[i];
	u64 offset = le64_to_cpu(f->field_offset[i]);
	u64 max = low_mask(bits);

	if (bits > width)
		return true;
	if (bits == width)
		return offset != 0;
	return offset + max < offset || offset + max > low_mask(width);
}

int bch_bkey_format_validate(const struct bkey_format *f, struct printbuf *err)
{
	unsigned bits = PACKED_BITS_START;

	if (f->nr_fields != BKEY_NR_FIELDS) {
		pb_printf(err, "bad number of fields %u (expected %u)",
			  f->nr_fields, BKEY_NR_FIELDS);
		return -1;
	}
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		if (field_overflows(f, i)) {
			pb_printf(err, "field %u overflows: %u bits at offset %llu",
				  i, f->bits_per_field[i],
				  (unsigned long long)le64_to_cpu(f->field_offset[i]));
			return -1;
		}
		bits += f->bits_per_field[i];
	}
	if (f->key_u64s != (bits + 63) / 64) {
		pb_printf(err, "key_u64s %u does not match its fields (%u)",
			  f->key_u64s, (bits + 63) / 64);
		return -1;
	}
	return 0;
}

/*
 * A packed key is key_u64s little-endian words forming one integer whose
 * last word is most significant.  Fields are laid from the top bit down in
 * field order; field i occupies bits [shift, shift + bits).
 */
void bch_bkey_unpacker_init(struct bkey_unpacker *u, const struct bkey_format *f)
{
	unsigned top = f->key_u64s * 64;

	u->key_u64s = f->key_u64s;
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		top -= f->bits_per_field[i];
		u->bits[i] = f->bits_per_field[i];
		u->shift[i] = top;
		u->offset[i] = le64_to_cpu(f->field_offset[i]);
	}
}

static u64 get_bits(const u64 *w, unsigned lo, unsigned bits)
{
	unsigned word = lo / 64, b = lo % 64;
	u64 v;

	if (!bits)
		return 0;
	v = w[word] >> b;
	if (b && b + bits > 64)
		v |= w[word + 1] << (64 - b);
	return v & low_mask(bits);
}

static void put_bits(u64 *w, unsigned lo, unsigned bits, u64 v)
{
	unsigned word = lo / 64, b = lo % 64;

	if (!bits)
		return;
	w[word] |= v << b;
	if (b && b + bits > 64)
		w[word + 1] |= v >> (64 - b);
}

bool bch_bkey_unpack(const struct bkey_unpacker *u, const struct bkey_packed *k,
		     struct bkey *out)
{
	const u64 *w = (const void *)k;
	u64 f[BKEY_NR_FIELDS];

	switch (bkeyp_format_of(k)) {
	case KEY_FORMAT_CURRENT:
		memcpy(out, k, sizeof(*out));
		return true;
	case KEY_FORMAT_LOCAL_BTREE:
		break;
	default:
		return false;
	}

	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++)
		f[i] = get_bits(w, u->shift[i], u->bits[i]) + u->offset[i];

	out->u64s = k->u64s - u->key_u64s + BKEY_U64s;
	out->format_whiteout = (k->format_whiteout & BKEY_NEEDS_WHITEOUT) |
		KEY_FORMAT_CURRENT;
	out->type = k->type;
	out->pad = 0;
	out->p.inode = f[BKEY_FIELD_INODE];
	out->p.offset = f[BKEY_FIELD_OFFSET];
	out->p.snapshot = f[BKEY_FIELD_SNAPSHOT];
	out->size = f[BKEY_FIELD_SIZE];
	out->bversion.hi = f[BKEY_FIELD_VERSION_HI];
	out->bversion.lo = f[BKEY_FIELD_VERSION_LO];
	return true;
}

bool bch_bkey_pack(const struct bkey_format *fmt, const struct bkey *in,
		   struct bkey_packed *out)
{
	struct bkey_unpacker u;
	u64 *w = (void *)out;
	const u64 v[BKEY_NR_FIELDS] = {
		[BKEY_FIELD_INODE]	= in->p.inode,
		[BKEY_FIELD_OFFSET]	= in->p.offset,
		[BKEY_FIELD_SNAPSHOT]	= in->p.snapshot,
		[BKEY_FIELD_SIZE]	= in->size,
		[BKEY_FIELD_VERSION_HI]	= in->bversion.hi,
		[BKEY_FIELD_VERSION_LO]	= in->bversion.lo,
	};

	bch_bkey_unpacker_init(&u, fmt);
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++)
		if (v[i] < u.offset[i] || v[i] - u.offset[i] > low_mask(u.bits[i]))
			return false;

	memset(w, 0, u.key_u64s * 8);
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++)
		put_bits(w, u.shift[i], u.bits[i], v[i] - u.offset[i]);
	out->u64s = in->u64s - BKEY_U64s + u.key_u64s;
	out->format_whiteout = (in->format_whiteout & BKEY_NEEDS_WHITEOUT) |
		KEY_FORMAT_LOCAL_BTREE;
	out->type = in->type;
	return true;
}

void bch_bkey_format_to_text(struct printbuf *out, const struct bkey_format *f)
{
	pb_printf(out, "u64s %u fields ", f->key_u64s);
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++)
		pb_printf(out, "%s%u:%llu", i ? ", " : "", f->bits_per_field[i],
			  (unsigned long long)le64_to_cpu(f->field_offset[i]));
}

static void u64_or_max(struct printbuf *out, u64 v)
{
	if (v == ~0ULL)
		pb_str(out, "U64_MAX");
	else
		pb_u64(out, v);
}

void bch_bpos_to_text(struct printbuf *out, struct bpos p)
{
	if (bpos_eq(p, POS_MIN)) {
		pb_str(out, "POS_MIN");
	} else if (bpos_eq(p, POS_MAX)) {
		pb_str(out, "POS_MAX");
	} else if (bpos_eq(p, SPOS_MAX)) {
		pb_str(out, "SPOS_MAX");
	} else {
		u64_or_max(out, p.inode);
		pb_char(out, ':');
		u64_or_max(out, p.offset);
		pb_char(out, ':');
		if (p.snapshot == ~0U)
			pb_str(out, "U32_MAX");
		else
			pb_printf(out, "%u", p.snapshot);
	}
}

/* One decimal field of s[0..len), or the name of its maximum. */
static bool parse_pos_field(const char *s, size_t len, u64 max, u64 *out)
{
	u64 v = 0;

	if (len == 7 && !strncmp(s, max == ~0U ? "U32_MAX" : "U64_MAX", 7)) {
		*out = max;
		return true;
	}
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool bch_bpos_parse(const char *s, struct bpos *p)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	u64 ino, off, snap = 0;

	if (!strcmp(s, "POS_MIN")) { *p = POS_MIN; return true; }
	if (!strcmp(s, "POS_MAX")) { *p = POS_MAX; return true; }
	if (!strcmp(s, "SPOS_MAX")) { *p = SPOS_MAX; return true; }
	if (!c1 ||
	    !parse_pos_field(s, c1 - s, ~0ULL, &ino) ||
	    !parse_pos_field(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), ~0ULL, &off) ||
	    (c2 && !parse_pos_field(c2 + 1, strlen(c2 + 1), ~0U, &snap)))
		return false;
	*p = SPOS(ino, off, snap);
	return true;
}

void bch_bkey_to_text(struct printbuf *out, const struct bkey *k)
{
	pb_printf(out, "u64s %u type ", k->u64s);
	if (k->type < KEY_TYPE_MAX)
		pb_printf(out, "%s ", bch_bkey_type_names[k->type]);
	else
		pb_printf(out, "%u ", k->type);
	bch_bpos_to_text(out, k->p);
	pb_printf(out, " len %u ver %llu", k->size, (unsigned long long)k->bversion.lo);
}

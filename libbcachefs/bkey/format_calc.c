/* Packed key format of a new btree node, computed from its range and keys by the kernel's rules. */
#include "format_calc.h"

static const u8 field_width[BKEY_NR_FIELDS] = BKEY_FIELD_WIDTHS;

/* Header bytes (u64s, format, type) take the low 24 bits of a packed key. */
#define HEADER_BITS		24
/* Extents may grow by merging: up to this many spare bits for their size. */
#define SIZE_HEADROOM_BITS	4

static u64 ones(unsigned bits)
{
	return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

static unsigned bits_for(u64 v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

void bch_format_calc_init(struct bch_format_calc *s)
{
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		s->lo[i] = ~0ULL;
		s->hi[i] = 0;
	}
	/* a key of size 0 must always pack, whatever sizes the node holds */
	s->lo[BKEY_FIELD_SIZE] = 0;
}

static void widen(struct bch_format_calc *s, unsigned field, u64 v)
{
	if (v < s->lo[field])
		s->lo[field] = v;
	if (v > s->hi[field])
		s->hi[field] = v;
}

void bch_format_calc_add_pos(struct bch_format_calc *s, struct bpos p)
{
	widen(s, BKEY_FIELD_INODE, p.inode);
	widen(s, BKEY_FIELD_OFFSET, p.offset);
	widen(s, BKEY_FIELD_SNAPSHOT, p.snapshot);
}

void bch_format_calc_add_key(struct bch_format_calc *s, const struct bkey *k)
{
	bch_format_calc_add_pos(s, k->p);
	widen(s, BKEY_FIELD_SIZE, k->size);
	widen(s, BKEY_FIELD_VERSION_HI, k->bversion.hi);
	widen(s, BKEY_FIELD_VERSION_LO, k->bversion.lo);
}

/*
 * Sets a field, never letting it describe values wider than the unpacked
 * field: a full-width field has offset 0, a narrower one an offset low
 * enough that offset + all ones still fits (it may move down for that).
 */
static void set_field(struct bkey_format *f, unsigned i, unsigned bits, u64 offset)
{
	unsigned width = field_width[i];

	if (bits >= width) {
		bits = width;
		offset = 0;
	} else if (offset > ones(width) - ones(bits)) {
		offset = ones(width) - ones(bits);
	}
	f->bits_per_field[i] = bits;
	f->field_offset[i] = cpu_to_le64(offset);
}

struct bkey_format bch_format_calc_done(const struct bch_format_calc *s)
{
	struct bkey_format f = { .nr_fields = BKEY_NR_FIELDS };
	unsigned used = HEADER_BITS, spare;

	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		/* a field nothing was added to has lo > hi: store it as 0 bits at 0 */
		u64 lo = s->lo[i] <= s->hi[i] ? s->lo[i] : s->hi[i];

		set_field(&f, i, bits_for(s->hi[i] - lo), lo);
		used += f.bits_per_field[i];
	}

	unsigned size_bits = f.bits_per_field[BKEY_FIELD_SIZE];
	if (size_bits) {
		unsigned extra = field_width[BKEY_FIELD_SIZE] - size_bits;

		if (extra > SIZE_HEADROOM_BITS)
			extra = SIZE_HEADROOM_BITS;
		f.bits_per_field[BKEY_FIELD_SIZE] += extra;
		used += extra;
	}

	f.key_u64s = (used + 63) / 64;

	/* bits left in the last word go to byte-aligning fields, first come first served */
	spare = f.key_u64s * 64 - used;
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		unsigned bits = f.bits_per_field[i];
		unsigned pad = (8 - bits % 8) % 8;

		if (pad > spare)
			continue;
		set_field(&f, i, bits + pad, le64_to_cpu(f.field_offset[i]));
		spare -= pad;
	}
	return f;
}

struct bkey_format bch_format_calc_node(struct bpos min_key, struct bpos max_key,
					const struct bkey *keys, size_t nr)
{
	struct bch_format_calc s;

	bch_format_calc_init(&s);
	bch_format_calc_add_pos(&s, min_key);
	bch_format_calc_add_pos(&s, max_key);
	for (size_t i = 0; i < nr; i++)
		if (keys[i].type != KEY_TYPE_deleted)
			bch_format_calc_add_key(&s, &keys[i]);
	return bch_format_calc_done(&s);
}

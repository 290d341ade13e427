/* Keys in memory: positions, the unpacked view, unpacking from a node's packed format. */
#ifndef BCH_BKEY_BKEY_H
#define BCH_BKEY_BKEY_H

#include "bcachefs/format.h"
#include "util/printbuf.h"

/* A key and its value, both read-only, usually pointing into a node buffer. */
struct bkey_s_c {
	const struct bkey *k;
	const void *v;
};

#define POS(ino, off)		((struct bpos) { .inode = (ino), .offset = (off) })
#define SPOS(ino, off, snap)	((struct bpos) { .inode = (ino), .offset = (off), .snapshot = (snap) })
#define POS_MIN			SPOS(0, 0, 0)
#define POS_MAX			SPOS(~0ULL, ~0ULL, 0)
#define SPOS_MAX		SPOS(~0ULL, ~0ULL, ~0U)

static inline int bpos_cmp(struct bpos l, struct bpos r)
{
	if (l.inode != r.inode)
		return l.inode < r.inode ? -1 : 1;
	if (l.offset != r.offset)
		return l.offset < r.offset ? -1 : 1;
	if (l.snapshot != r.snapshot)
		return l.snapshot < r.snapshot ? -1 : 1;
	return 0;
}

static inline bool bpos_eq(struct bpos l, struct bpos r)
{
	return l.inode == r.inode && l.offset == r.offset && l.snapshot == r.snapshot;
}

static inline bool bpos_lt(struct bpos l, struct bpos r) { return bpos_cmp(l, r) < 0; }
static inline bool bpos_le(struct bpos l, struct bpos r) { return bpos_cmp(l, r) <= 0; }
static inline bool bpos_gt(struct bpos l, struct bpos r) { return bpos_cmp(l, r) > 0; }
static inline bool bpos_ge(struct bpos l, struct bpos r) { return bpos_cmp(l, r) >= 0; }

/* The next position in (inode, offset, snapshot) order; SPOS_MAX stays. */
static inline struct bpos bpos_successor(struct bpos p)
{
	if (bpos_eq(p, SPOS_MAX))
		return p;
	if (++p.snapshot)
		return p;
	if (++p.offset)
		return p;
	++p.inode;
	return p;
}

static inline struct bpos bpos_predecessor(struct bpos p)
{
	if (p.snapshot--)
		return p;
	if (p.offset--)
		return p;
	p.inode--;
	return p;
}

static inline unsigned bkey_format_of(const struct bkey *k)
{
	return k->format_whiteout & BKEY_FORMAT_MASK;
}

static inline unsigned bkeyp_format_of(const struct bkey_packed *k)
{
	return k->format_whiteout & BKEY_FORMAT_MASK;
}

static inline unsigned bkey_val_u64s(const struct bkey *k)
{
	return k->u64s - BKEY_U64s;
}

static inline unsigned bkey_val_bytes(const struct bkey *k)
{
	return bkey_val_u64s(k) * 8;
}

static inline const void *bkey_i_val(const struct bkey_i *k)
{
	return k->v;
}

static inline struct bkey_s_c bkey_i_to_s_c(const struct bkey_i *k)
{
	return (struct bkey_s_c) { &k->k, k->v };
}

/* Start of an extent: p.offset is its end. */
static inline struct bpos bkey_start_pos(const struct bkey *k)
{
	return SPOS(k->p.inode, k->p.offset - k->size, k->p.snapshot);
}

static inline bool bversion_zero(struct bversion v)
{
	return !v.hi && !v.lo;
}

static inline int bversion_cmp(struct bversion l, struct bversion r)
{
	if (l.hi != r.hi)
		return l.hi < r.hi ? -1 : 1;
	if (l.lo != r.lo)
		return l.lo < r.lo ? -1 : 1;
	return 0;
}

/* Next key in a run of keys (packed or not: the first byte is u64s). */
static inline const struct bkey_packed *bkeyp_next(const struct bkey_packed *k)
{
	return (const void *)((const u64 *)k + k->u64s);
}

/* ---- packed formats ---- */

extern const struct bkey_format bch_bkey_format_current;

/* Checks a node's format; says what is wrong into err. */
int bch_bkey_format_validate(const struct bkey_format *, struct printbuf *err);

/*
 * A format prepared for fast unpacking: per field the bit position of its
 * top bit within the packed key (counted from bit 0 of word 0, words
 * little-endian, the last word most significant) and its width.
 */
struct bkey_unpacker {
	u8 key_u64s;
	u8 bits[BKEY_NR_FIELDS];
	u16 shift[BKEY_NR_FIELDS];
	u64 offset[BKEY_NR_FIELDS];
};

void bch_bkey_unpacker_init(struct bkey_unpacker *, const struct bkey_format *);

/*
 * Unpacks k (packed in the unpacker's format, or already unpacked when its
 * format byte says so) into out.  Values are not touched: the value starts
 * at bkeyp_val(). Returns false if the key's format byte is unknown.
 */
bool bch_bkey_unpack(const struct bkey_unpacker *, const struct bkey_packed *k,
		     struct bkey *out);

static inline unsigned bkeyp_key_u64s(const struct bkey_unpacker *f,
				      const struct bkey_packed *k)
{
	return bkeyp_format_of(k) == KEY_FORMAT_LOCAL_BTREE ? f->key_u64s : BKEY_U64s;
}

static inline const void *bkeyp_val(const struct bkey_unpacker *f,
				    const struct bkey_packed *k)
{
	return (const u64 *)k + bkeyp_key_u64s(f, k);
}

/* Packs an unpacked key into the format; false if a field does not fit. */
bool bch_bkey_pack(const struct bkey_format *, const struct bkey *in,
		   struct bkey_packed *out);

void bch_bkey_format_to_text(struct printbuf *, const struct bkey_format *);

/* ---- text ---- */

void bch_bpos_to_text(struct printbuf *, struct bpos);
/*
 * The inverse: POS_MIN, POS_MAX, SPOS_MAX, or inode:offset[:snapshot] with
 * decimal fields (U64_MAX / U32_MAX allowed); a missing snapshot is 0.
 */
bool bch_bpos_parse(const char *s, struct bpos *p);
/* "u64s 16 type inode_v3 0:4096:U32_MAX len 0 ver 0" */
void bch_bkey_to_text(struct printbuf *, const struct bkey *);

#endif

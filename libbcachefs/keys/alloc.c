/* Alloc keys of every version, bucket gens, lru entries and backpointers: checks and text. */
#include <stddef.h>

#include "keys/alloc.h"
#include "keys/key_ops.h"
#include "util/names.h"
#include "util/varint.h"

/* The counters of alloc v1-v3, decoded before conversion to v4. */
struct alloc_old {
	u64 journal_seq;
	u8 gen;
	bool need_discard;
	u64 read_time;
	u64 write_time;
	u64 data_type;
	u64 oldest_gen;
	u64 dirty_sectors;
	u64 cached_sectors;
	u64 stripe;
	u64 stripe_redundancy;
};

struct alloc_field {
	u16 offset;
	u8 bits;
};

/* v1: fixed-width fields, present when their bit in `fields` is set. */
static const struct alloc_field fields_v1[] = {
#define x(name, bits) { offsetof(struct alloc_old, name), bits },
	BCH_ALLOC_FIELDS_V1()
#undef x
};

/* v2 and v3: varints, the first nr_fields of them present. */
static const struct alloc_field fields_v2[] = {
#define x(name, bits) { offsetof(struct alloc_old, name), bits },
	BCH_ALLOC_FIELDS_V2()
#undef x
};

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static u64 *old_field(struct alloc_old *a, const struct alloc_field *f)
{
	return (u64 *)((u8 *)a + f->offset);
}

static u64 le_bytes(const u8 *p, unsigned bytes)
{
	u64 v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

static void unpack_v1(struct bkey_s_c k, struct alloc_old *a)
{
	const struct bch_alloc *v = k.v;
	const u8 *p = v->data, *end = bkey_val_end(k);

	a->gen = v->gen;
	for (unsigned i = 0; i < ARRAY_LEN(fields_v1); i++) {
		unsigned bytes = fields_v1[i].bits / 8;

		if (!(v->fields & (1U << i)))
			continue;
		if (p + bytes > end)
			break;
		*old_field(a, &fields_v1[i]) = le_bytes(p, bytes);
		p += bytes;
	}
}

/*
 * Varint fields; a value too wide for its field is kept truncated and
 * ends the decoding, like a varint running past the value.
 */
static int unpack_varints(struct alloc_old *a, const u8 *in, const u8 *end, unsigned nr)
{
	for (unsigned i = 0; i < ARRAY_LEN(fields_v2) && i < nr; i++) {
		const struct alloc_field *f = &fields_v2[i];
		u64 v, mask = f->bits < 64 ? (1ULL << f->bits) - 1 : ~0ULL;
		int ret = bch_varint_decode(in, end, &v);

		if (ret < 0)
			return ret;
		in += ret;
		*old_field(a, f) = v & mask;
		if (v & ~mask)
			return -1;
	}
	return 0;
}

static int unpack_v2(struct bkey_s_c k, struct alloc_old *a)
{
	const struct bch_alloc_v2 *v = k.v;

	a->gen = v->gen;
	a->oldest_gen = v->oldest_gen;
	a->data_type = v->data_type;
	return unpack_varints(a, v->data, bkey_val_end(k), v->nr_fields);
}

static int unpack_v3(struct bkey_s_c k, struct alloc_old *a)
{
	const struct bch_alloc_v3 *v = k.v;

	a->journal_seq = le64_to_cpu(v->journal_seq);
	a->need_discard = alloc_v3_need_discard(v);
	a->gen = v->gen;
	a->oldest_gen = v->oldest_gen;
	a->data_type = v->data_type;
	return unpack_varints(a, v->data, bkey_val_end(k), v->nr_fields);
}

static void old_to_v4(const struct alloc_old *a, struct bch_alloc_v4 *out)
{
	memset(out, 0, sizeof(*out));
	out->journal_seq = cpu_to_le64(a->journal_seq);
	/* need_inc_gen is not carried over */
	out->flags = cpu_to_le32(a->need_discard);
	out->gen = a->gen;
	out->oldest_gen = a->oldest_gen;
	out->data_type = a->data_type;
	out->stripe_redundancy = a->stripe_redundancy;
	out->dirty_sectors = cpu_to_le32(a->dirty_sectors);
	out->cached_sectors = cpu_to_le32(a->cached_sectors);
	out->io_time[0] = cpu_to_le64(a->read_time);
	out->io_time[1] = cpu_to_le64(a->write_time);
	out->stripe = cpu_to_le32(a->stripe);
}

/*
 * A v4 key whose backpointers do not start at 8 u64s is older: the bytes
 * from where they start on are not counters, and read as zero.
 */
static void v4_normalize(struct bch_alloc_v4 *a)
{
	unsigned start = alloc_v4_backpointers_start(a);

	if (start == BCH_ALLOC_V4_U64s)
		return;
	if (!start)
		start = BCH_ALLOC_V4_U64s_V0;
	if (start < BCH_ALLOC_V4_U64s)
		memset((u64 *)a + start, 0, (BCH_ALLOC_V4_U64s - start) * 8);
	set_alloc_v4_backpointers_start(a, BCH_ALLOC_V4_U64s);
	set_alloc_v4_nr_backpointers(a, 0);
}

void bch_alloc_to_v4(struct bkey_s_c k, struct bch_alloc_v4 *out)
{
	struct alloc_old a = { 0 };

	switch (k.k->type) {
	case KEY_TYPE_alloc_v4:
		bkey_val_copy(out, sizeof(*out), k);
		v4_normalize(out);
		return;
	case KEY_TYPE_alloc:
		unpack_v1(k, &a);
		break;
	case KEY_TYPE_alloc_v2:
		unpack_v2(k, &a);
		break;
	case KEY_TYPE_alloc_v3:
		unpack_v3(k, &a);
		break;
	}
	old_to_v4(&a, out);
	set_alloc_v4_backpointers_start(out, BCH_ALLOC_V4_U64s);
}

/* ---- the counters ---- */

static u32 sectors_dirty(const struct bch_alloc_v4 *a)
{
	return le32_to_cpu(a->stripe_sectors) + le32_to_cpu(a->dirty_sectors);
}

static u32 sectors_used(const struct bch_alloc_v4 *a)
{
	return a->data_type == BCH_DATA_cached ? le32_to_cpu(a->cached_sectors)
					       : sectors_dirty(a);
}

enum bch_data_type bch_alloc_data_type(const struct bch_alloc_v4 *a, enum bch_data_type t)
{
	if (a->stripe)
		return t == BCH_DATA_parity ? t : BCH_DATA_stripe;
	if (sectors_dirty(a))
		return t;
	if (a->cached_sectors)
		return BCH_DATA_cached;
	if (alloc_v4_need_discard(a))
		return BCH_DATA_need_discard;
	if ((u8)(a->gen - a->oldest_gen) >= BUCKET_GC_GEN_MAX)
		return BCH_DATA_need_gc_gens;
	return BCH_DATA_free;
}

/* Buckets copygc may move: btree, user and stripe data. */
static bool data_type_movable(unsigned t)
{
	return t == BCH_DATA_btree || t == BCH_DATA_user || t == BCH_DATA_stripe;
}

/*
 * The fragmentation lru index: the used fraction of a partly empty
 * movable bucket, scaled to 2^31.
 */
static u64 fragmentation(const struct bch_alloc_v4 *a, const struct bch_member_cpu *m)
{
	int used = (int)sectors_used(a);
	u64 d;

	if (!data_type_movable(a->data_type) || !used || (s64)m->bucket_size - used <= 0)
		return 0;
	d = sectors_dirty(a) < m->bucket_size ? sectors_dirty(a) : m->bucket_size;
	return (d << 31) / m->bucket_size;
}

/* The member for an alloc key's device, when the bucket is one of its buckets. */
static const struct bch_member_cpu *bucket_member(const struct bch_fs *c, struct bpos p)
{
	const struct bch_member_cpu *m = bch_key_member(c, p.inode);

	if (!m || p.offset - m->first_bucket >= m->nbuckets - m->first_bucket)
		return NULL;
	return m;
}

void bch_alloc_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	const struct bch_member_cpu *m = bucket_member(c, k.k->p);
	struct bch_alloc_v4 a;

	bch_alloc_to_v4(k, &a);
	pb_newline(out);
	pb_indent_add(out, 2);

	pb_printf(out, "gen %u oldest_gen %u data_type ", a.gen, a.oldest_gen);
	bch_prt_name(out, bch_data_type_names, BCH_DATA_NR, "data_type", a.data_type);
	pb_newline(out);
	pb_printf(out, "journal_seq       %llu\n", (unsigned long long)le64_to_cpu(a.journal_seq));
	pb_printf(out, "need_discard      %u\n", (unsigned)alloc_v4_need_discard(&a));
	pb_printf(out, "need_inc_gen      %u\n", (unsigned)alloc_v4_need_inc_gen(&a));
	pb_printf(out, "dirty_sectors     %u\n", le32_to_cpu(a.dirty_sectors));
	pb_printf(out, "stripe_sectors    %u\n", le32_to_cpu(a.stripe_sectors));
	pb_printf(out, "cached_sectors    %u\n", le32_to_cpu(a.cached_sectors));
	pb_printf(out, "stripe            %u\n", le32_to_cpu(a.stripe));
	pb_printf(out, "stripe_redundancy %u\n", a.stripe_redundancy);
	pb_printf(out, "io_time[READ]     %llu\n", (unsigned long long)le64_to_cpu(a.io_time[0]));
	pb_printf(out, "io_time[WRITE]    %llu\n", (unsigned long long)le64_to_cpu(a.io_time[1]));
	if (m)
		pb_printf(out, "fragmentation     %llu\n",
			  (unsigned long long)fragmentation(&a, m));
	pb_printf(out, "bp_start          %u\n", (unsigned)alloc_v4_backpointers_start(&a));
	pb_indent_sub(out, 2);
}

/* ---- validation ---- */

static unsigned v1_val_u64s(const struct bch_alloc *a)
{
	unsigned bytes = offsetof(struct bch_alloc, data);

	for (unsigned i = 0; i < ARRAY_LEN(fields_v1); i++)
		if (a->fields & (1U << i))
			bytes += fields_v1[i].bits / 8;
	return (bytes + 7) / 8;
}

static int check_empty_bucket(struct bkey_check *chk, const struct bch_alloc_v4 *a,
			      u32 stripe_sectors)
{
	if (stripe_sectors || a->dirty_sectors || a->cached_sectors || a->stripe)
		return bkey_invalid(chk, BCH_FSERR_alloc_key_empty_but_have_data,
				    "empty data type free but have data %u.%u.%u %u",
				    stripe_sectors, le32_to_cpu(a->dirty_sectors),
				    le32_to_cpu(a->cached_sectors), le32_to_cpu(a->stripe));
	return 0;
}

/*
 * The counters against the data type.  (The kernel's check that a cached
 * bucket has a read time runs only late in recovery: not here.)
 */
static int check_v4_data_type(struct bkey_check *chk, const struct bch_alloc_v4 *a)
{
	u32 stripe_sectors = alloc_v4_backpointers_start(a) * 8 >
		offsetof(struct bch_alloc_v4, stripe_sectors) ? le32_to_cpu(a->stripe_sectors) : 0;

	switch (a->data_type) {
	case BCH_DATA_free:
	case BCH_DATA_need_gc_gens:
	case BCH_DATA_need_discard:
		return check_empty_bucket(chk, a, stripe_sectors);
	case BCH_DATA_sb:
	case BCH_DATA_journal:
	case BCH_DATA_btree:
	case BCH_DATA_user:
	case BCH_DATA_parity:
		if (!a->dirty_sectors && !stripe_sectors)
			return bkey_invalid(chk, BCH_FSERR_alloc_key_dirty_sectors_0,
					    "data_type %s but dirty_sectors==0",
					    bch_data_type_names[a->data_type]);
		return 0;
	case BCH_DATA_cached:
		if (!a->cached_sectors || a->dirty_sectors || stripe_sectors || a->stripe)
			return bkey_invalid(chk, BCH_FSERR_alloc_key_cached_inconsistency,
					    "data type inconsistency");
		return 0;
	default:
		return 0;
	}
}

static int validate_v4(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_alloc_v4 a;
	unsigned start, need;

	bkey_val_copy(&a, sizeof(a), k);
	start = alloc_v4_backpointers_start(&a);
	need = (start ? start : BCH_ALLOC_V4_U64s_V0) +
		alloc_v4_nr_backpointers(&a) * (sizeof(struct bch_backpointer) / 8);

	if (need > bkey_val_u64s(k.k))
		return bkey_invalid(chk, BCH_FSERR_alloc_v4_val_size_bad,
				    "bad val size (%u > %u)", need, bkey_val_u64s(k.k));
	if (!start && alloc_v4_nr_backpointers(&a))
		return bkey_invalid(chk, BCH_FSERR_alloc_v4_backpointers_start_bad,
				    "invalid backpointers_start");
	if (bch_alloc_data_type(&a, a.data_type) != a.data_type)
		return bkey_invalid(chk, BCH_FSERR_alloc_key_data_type_bad,
				    "invalid data type (got %u should be %u)", a.data_type,
				    bch_alloc_data_type(&a, a.data_type));
	for (unsigned i = 0; i < 2; i++)
		if (le64_to_cpu(a.io_time[i]) > LRU_TIME_MAX)
			return bkey_invalid(chk, BCH_FSERR_alloc_key_io_time_bad,
					    "invalid io_time[%s]: %llu, max %llu",
					    i ? "write" : "read",
					    (unsigned long long)le64_to_cpu(a.io_time[i]),
					    (unsigned long long)LRU_TIME_MAX);
	return check_v4_data_type(chk, &a);
}

int bch_alloc_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct alloc_old a = { 0 };

	switch (k.k->type) {
	case KEY_TYPE_alloc:
		/* longer values may hold fields of newer versions */
		if (bkey_val_u64s(k.k) < v1_val_u64s(k.v))
			return bkey_invalid(chk, BCH_FSERR_alloc_v1_val_size_bad,
					    "incorrect value size (%u < %u)",
					    bkey_val_u64s(k.k), v1_val_u64s(k.v));
		return 0;
	case KEY_TYPE_alloc_v2:
	case KEY_TYPE_alloc_v3:
		/* the kernel reports both versions under the v2 error type */
		if ((k.k->type == KEY_TYPE_alloc_v2 ? unpack_v2(k, &a) : unpack_v3(k, &a)))
			return bkey_invalid(chk, BCH_FSERR_alloc_v2_unpack_error, "unpack error");
		return 0;
	default:
		return validate_v4(chk, k);
	}
}

/* ---- bucket gens ---- */

int bch_bucket_gens_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	if (bkey_val_bytes(k.k) != sizeof(struct bch_bucket_gens))
		return bkey_invalid(chk, BCH_FSERR_bucket_gens_val_size_bad,
				    "bad val size (%u != %zu)", bkey_val_bytes(k.k),
				    sizeof(struct bch_bucket_gens));
	return 0;
}

void bch_bucket_gens_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	const u8 *gens = k.v;
	unsigned nr = bkey_val_bytes(k.k);

	if (nr > BUCKET_GENS_NR)
		nr = BUCKET_GENS_NR;
	for (unsigned i = 0; i < nr; i++)
		pb_printf(out, i ? " %u" : "%u", gens[i]);
}

/* ---- lru (the legacy value type) ---- */

int bch_lru_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	if (!bch_lru_pos_time(k.k->p))
		return bkey_invalid(chk, BCH_FSERR_lru_entry_at_time_0, "lru entry at time=0");
	return 0;
}

void bch_lru_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	const struct bch_lru *l = k.v;

	pb_printf(out, "idx %llu", (unsigned long long)le64_to_cpu(l->idx));
}

/* ---- backpointers ---- */

int bch_backpointer_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	const struct bch_backpointer *bp = k.v;
	const struct bch_member_cpu *m = bch_key_member(chk->c, k.k->p.inode);
	u64 offset = bch_backpointer_bucket_offset(bp), bucket;

	/* a missing device is fsck's to report */
	if (!m || !m->bucket_size)
		return 0;
	bucket = (k.k->p.offset >> BP_SECTOR_SHIFT) / m->bucket_size;
	if ((offset >> BP_SECTOR_SHIFT) >= m->bucket_size ||
	    !bpos_eq(k.k->p, POS(k.k->p.inode,
				 ((bucket * m->bucket_size) << BP_SECTOR_SHIFT) + offset)))
		return bkey_invalid(chk, BCH_FSERR_backpointer_bucket_offset_wrong,
				    "backpointer bucket_offset wrong");
	return 0;
}

void bch_backpointer_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	const struct bch_backpointer *bp = k.v;
	const struct bch_member_cpu *m = bch_key_member(c, k.k->p.inode);
	u64 offset = bch_backpointer_bucket_offset(bp);

	if (m && m->bucket_size) {
		pb_str(out, "bucket=");
		bch_bpos_to_text(out, POS(k.k->p.inode,
					  (k.k->p.offset >> BP_SECTOR_SHIFT) / m->bucket_size));
		pb_char(out, ' ');
	}
	pb_printf(out, "btree=%s l=%u offset=%llu:%u len=%u pos=",
		  bp->btree_id < BTREE_ID_NR ? bch_btree_id_names[bp->btree_id] : "(unknown)",
		  bp->level, (unsigned long long)(offset >> BP_SECTOR_SHIFT),
		  (unsigned)(offset & ((1U << BP_SECTOR_SHIFT) - 1)),
		  le32_to_cpu(bp->bucket_len));
	bch_bpos_to_text(out, bp->pos);
}

/* Unit tests for the overlay index, against a sorted array as the reference model. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btree/cache.h"
#include "btree/iter.h"
#include "btree/overlay.h"
#include "unit_rng.h"

/* ---- the model: a sorted array of what each entry must be ---- */

struct ref {
	u8 btree_id;
	u8 level;
	struct bpos pos;
	u64 seq;
	u64 val;		/* v[0] of the key, to tell replaced keys apart */
	unsigned u64s;
	size_t order;		/* model_sort's: the order of appends */
};

/*
 * Check marks a checkpoint (a write to its log) at every ck_assert: in the
 * loops over thousands of keys that cost more than the work checked, so
 * these test first and only call Check to fail.
 */
#define hot_assert(c)							\
	do {								\
		if (!(c))						\
			ck_abort_msg("Assertion '%s' failed", #c);	\
	} while (0)
#define hot_assert_msg(c, ...)						\
	do {								\
		if (!(c))						\
			ck_abort_msg(__VA_ARGS__);			\
	} while (0)

struct model {
	struct ref *r;
	size_t nr, size;
};

static int ref_cmp(const struct ref *a, unsigned btree, unsigned level, struct bpos pos)
{
	if (a->btree_id != btree)
		return a->btree_id < btree ? -1 : 1;
	if (a->level != level)
		return a->level < level ? -1 : 1;
	return bpos_cmp(a->pos, pos);
}

/* First model entry >= (btree, level, pos). */
static size_t model_lower(const struct model *m, unsigned btree, unsigned level, struct bpos pos)
{
	size_t l = 0, r = m->nr;

	while (l < r) {
		size_t mid = l + (r - l) / 2;

		if (ref_cmp(&m->r[mid], btree, level, pos) < 0)
			l = mid + 1;
		else
			r = mid;
	}
	return l;
}

static void model_set(struct model *m, const struct ref *n)
{
	size_t i = model_lower(m, n->btree_id, n->level, n->pos);

	if (i < m->nr && !ref_cmp(&m->r[i], n->btree_id, n->level, n->pos)) {
		m->r[i] = *n;
		return;
	}
	if (m->nr == m->size) {
		m->size = m->size ? m->size * 2 : 1024;
		m->r = realloc(m->r, m->size * sizeof(*m->r));
	}
	memmove(&m->r[i + 1], &m->r[i], (m->nr - i) * sizeof(*m->r));
	m->r[i] = *n;
	m->nr++;
}

/*
 * Many inserts before the next look: appended as they come, then one
 * stable sort that keeps the last of equal positions (model_set moves the
 * tail at every insert, quadratic over the 50000 keys of an ordered load).
 */
static void model_append(struct model *m, const struct ref *n)
{
	if (m->nr == m->size) {
		m->size = m->size ? m->size * 2 : 1024;
		m->r = realloc(m->r, m->size * sizeof(*m->r));
	}
	m->r[m->nr++] = *n;
}

static int ref_order_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = ref_cmp(x, y->btree_id, y->level, y->pos);

	/* equal positions: the one appended last goes last */
	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

static void model_sort(struct model *m)
{
	size_t out = 0;

	for (size_t i = 0; i < m->nr; i++)
		m->r[i].order = i;
	qsort(m->r, m->nr, sizeof(*m->r), ref_order_cmp);
	for (size_t i = 0; i < m->nr; i++) {
		if (i + 1 < m->nr && !ref_cmp(&m->r[i + 1], m->r[i].btree_id, m->r[i].level, m->r[i].pos))
			continue;
		m->r[out++] = m->r[i];
	}
	m->nr = out;
}

static void model_drop(struct model *m, unsigned btree, unsigned level,
		       struct bpos start, struct bpos end)
{
	size_t i = model_lower(m, btree, level, start), j = i;

	if (bpos_gt(start, end))
		return;
	while (j < m->nr && ref_cmp(&m->r[j], btree, level, end) <= 0)
		j++;
	memmove(&m->r[i], &m->r[j], (m->nr - j) * sizeof(*m->r));
	m->nr -= j - i;
}

/* ---- keys ---- */

static void rng_seed(u64 seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
}

/* A key of u64s u64s (at least one value word) at pos, v[0] = val. */
static struct bkey_i *key_fill(void *buf, struct bpos pos, u64 val, unsigned u64s)
{
	struct bkey_i *k = buf;

	memset(k, 0, u64s * 8);
	k->k.u64s = u64s;
	k->k.type = KEY_TYPE_cookie;
	k->k.p = pos;
	k->v[0] = val;
	for (unsigned i = 1; i < u64s - BKEY_U64s; i++)
		k->v[i] = val + i;
	return k;
}

static bool key_matches(const struct bkey_i *k, const struct ref *r)
{
	if (!bpos_eq(k->k.p, r->pos) || k->k.u64s != r->u64s || k->v[0] != r->val)
		return false;
	for (unsigned i = 1; i < r->u64s - BKEY_U64s; i++)
		if (k->v[i] != r->val + i)
			return false;
	return true;
}

static void check_entry(const struct bch_overlay_entry *e, const struct ref *r)
{
	hot_assert(e != NULL);
	hot_assert(e->btree_id == r->btree_id);
	hot_assert(e->level == r->level);
	hot_assert(e->journal_seq == r->seq);
	hot_assert_msg(key_matches(e->k, r), "key at %llu:%llu:%u differs",
		       (unsigned long long)r->pos.inode, (unsigned long long)r->pos.offset,
		       r->pos.snapshot);
}

/* The whole index walked in order equals the model; counts and seqs agree. */
static void check_all(const struct bch_overlay *ov, const struct model *m)
{
	struct bch_overlay_iter it;
	u64 oldest = 0;

	bch_overlay_iter_seek(&it, ov, 0, 0, POS_MIN);
	for (size_t i = 0; i < m->nr; i++) {
		check_entry(bch_overlay_iter_peek(&it), &m->r[i]);
		bch_overlay_iter_next(&it);
		if (m->r[i].seq && (!oldest || m->r[i].seq < oldest))
			oldest = m->r[i].seq;
	}
	ck_assert_ptr_null(bch_overlay_iter_peek(&it));
	ck_assert_uint_eq(bch_overlay_nr_total(ov), m->nr);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), oldest);
}

static void check_counts(const struct bch_overlay *ov, const struct model *m,
			 unsigned nr_btrees, unsigned nr_levels)
{
	for (unsigned b = 0; b < nr_btrees; b++)
		for (unsigned l = 0; l < nr_levels; l++) {
			size_t want = 0;

			for (size_t i = 0; i < m->nr; i++)
				want += m->r[i].btree_id == b && m->r[i].level == l;
			hot_assert(bch_overlay_nr(ov, b, l) == want);
		}
}

/* ---- random operations against the model ---- */

#define R_BTREES	3
#define R_LEVELS	5	/* one more than BTREE_MAX_DEPTH: counted by walking */

static struct bpos rand_pos(unsigned spread)
{
	static const u32 snaps[] = { 0, 1, 7, ~0U };

	return SPOS(rng() % 4 == 0 ? ~0ULL : rng() % spread, rng() % (spread * 4),
		    snaps[rng() % 4]);
}

/* Keys for insert_ref: each allocated alone, freed after the index. */
struct borrowed {
	void **k;
	size_t nr, size;
};

static struct bkey_i *borrow(struct borrowed *b)
{
	if (b->nr == b->size) {
		b->size = b->size ? b->size * 2 : 256;
		b->k = realloc(b->k, b->size * sizeof(*b->k));
	}
	return b->k[b->nr++] = malloc(16 * sizeof(u64));
}

static void random_ops(u64 seed, unsigned nr_ops, unsigned spread)
{
	struct bch_overlay *ov = bch_overlay_new();
	struct model m = { 0 };
	struct borrowed bw = { 0 };
	u64 buf[32];

	rng_seed(seed);
	ck_assert_ptr_nonnull(ov);
	for (unsigned op = 0; op < nr_ops; op++) {
		unsigned what = rng() % 100;
		struct ref r = {
			.btree_id	= rng() % R_BTREES,
			.level		= rng() % R_LEVELS,
			.pos		= rand_pos(spread),
			.seq		= rng() % 8 ? 100 + rng() % 50 : 0,
			.val		= rng(),
			.u64s		= BKEY_U64s + 1 + (rng() % 8 ? 0 : rng() % 20),
		};

		if (what < 55) {
			struct bkey_i *k = key_fill(buf, r.pos, r.val, r.u64s);

			hot_assert(bch_overlay_insert(ov, r.btree_id, r.level, k, r.seq) == 0);
			model_set(&m, &r);
		} else if (what < 75) {
			struct bkey_i *k = borrow(&bw);

			r.u64s = BKEY_U64s + 1 + rng() % 10;
			key_fill(k, r.pos, r.val, r.u64s);
			hot_assert(bch_overlay_insert_ref(ov, r.btree_id, r.level, k, r.seq) == 0);
			hot_assert(bch_overlay_get(ov, r.btree_id, r.level, r.pos)->k == k);
			model_set(&m, &r);
		} else if (what < 80) {
			struct bpos end = rand_pos(spread);

			if (rng() % 4 == 0)
				end = SPOS_MAX;
			bch_overlay_drop(ov, r.btree_id, r.level, r.pos, end);
			model_drop(&m, r.btree_id, r.level, r.pos, end);
		} else if (what < 92) {
			size_t i = model_lower(&m, r.btree_id, r.level, r.pos);
			const struct bch_overlay_entry *e = bch_overlay_get(ov, r.btree_id, r.level, r.pos);

			if (i < m.nr && !ref_cmp(&m.r[i], r.btree_id, r.level, r.pos))
				check_entry(e, &m.r[i]);
			else
				hot_assert(e == NULL);
		} else {
			/* seek, then a few steps */
			struct bch_overlay_iter it;
			size_t i = model_lower(&m, r.btree_id, r.level, r.pos);

			memset(&it, 0xa5, sizeof(it));	/* garbage: seek must not trust it */
			bch_overlay_iter_seek(&it, ov, r.btree_id, r.level, r.pos);
			for (unsigned s = 0; s < 20; s++, i++) {
				const struct bch_overlay_entry *e = bch_overlay_iter_peek(&it);

				if (i == m.nr) {
					hot_assert(e == NULL);
					break;
				}
				check_entry(e, &m.r[i]);
				bch_overlay_iter_next(&it);
			}
		}
		if (op % 997 == 0)
			check_all(ov, &m);
	}
	check_all(ov, &m);
	check_counts(ov, &m, R_BTREES, R_LEVELS);

	/* dropping everything leaves an empty index that still works */
	for (unsigned b = 0; b < R_BTREES; b++)
		for (unsigned l = 0; l < R_LEVELS; l++) {
			bch_overlay_drop(ov, b, l, POS_MIN, SPOS_MAX);
			model_drop(&m, b, l, POS_MIN, SPOS_MAX);
		}
	check_all(ov, &m);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 0);
	for (unsigned i = 0; i < 1000; i++) {
		struct ref r = { rng() % R_BTREES, 0, rand_pos(spread), 5, rng(), BKEY_U64s + 1 };

		hot_assert(bch_overlay_insert(ov, r.btree_id, 0, key_fill(buf, r.pos, r.val, r.u64s), 5) == 0);
		model_set(&m, &r);
	}
	check_all(ov, &m);

	bch_overlay_free(ov);
	for (size_t i = 0; i < bw.nr; i++)
		free(bw.k[i]);
	free(bw.k);
	free(m.r);
}

START_TEST(test_random_small)
{
	/* few positions: many replaces and drops that empty blocks */
	random_ops(_i + 1, 20000, 8);
}
END_TEST

START_TEST(test_random_large)
{
	/* many positions: several levels of blocks */
	random_ops(_i + 100, 60000, 2000);
}
END_TEST

/* ---- ordered loads ---- */

static void load_and_check(const struct bpos *pos, size_t nr)
{
	struct bch_overlay *ov = bch_overlay_new();
	struct model m = { 0 };
	u64 buf[8];

	for (size_t i = 0; i < nr; i++) {
		struct ref r = { BTREE_ID_extents, 0, pos[i], 1 + i / 100, i, BKEY_U64s + 1 };

		hot_assert(bch_overlay_insert(ov, r.btree_id, 0,
						    key_fill(buf, r.pos, r.val, r.u64s), r.seq) == 0);
		model_append(&m, &r);
	}
	model_sort(&m);
	check_all(ov, &m);
	for (size_t i = 0; i < nr; i += 7) {
		size_t j = model_lower(&m, BTREE_ID_extents, 0, pos[i]);

		check_entry(bch_overlay_get(ov, BTREE_ID_extents, 0, pos[i]), &m.r[j]);
	}
	/* drop from the front in slices, as a flush does */
	for (size_t i = 0; i < m.nr; i += 1000) {
		struct bpos end = m.r[i + 999 < m.nr ? i + 999 : m.nr - 1].pos;

		bch_overlay_drop(ov, BTREE_ID_extents, 0, POS_MIN, end);
		hot_assert((bch_overlay_nr_total(ov)) == (m.nr - (i + 1000 < m.nr ? i + 1000 : m.nr)));
	}
	ck_assert_uint_eq(bch_overlay_nr_total(ov), 0);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 0);
	bch_overlay_free(ov);
	free(m.r);
}

START_TEST(test_sequential_and_reverse)
{
	size_t nr = 50000;
	struct bpos *pos = malloc(nr * sizeof(*pos));

	for (size_t i = 0; i < nr; i++)
		pos[i] = SPOS(i / 300, i % 300, ~0U);
	load_and_check(pos, nr);
	for (size_t i = 0; i < nr; i++)
		pos[i] = SPOS((nr - i) / 300, (nr - i) % 300, 0);
	load_and_check(pos, nr);
	/* interleaved runs, as keys of several btrees or inodes arrive */
	for (size_t i = 0; i < nr; i++)
		pos[i] = SPOS(i % 5, i / 5, 0);
	load_and_check(pos, nr);
	free(pos);
}
END_TEST

/* ---- cursors across changes ---- */

START_TEST(test_cursor_across_inserts)
{
	struct bch_overlay *ov = bch_overlay_new();
	struct model m = { 0 };
	u64 buf[8];

	rng_seed(42);
	for (unsigned i = 0; i < 5000; i++) {
		struct ref r = { 1, 0, SPOS(0, rng() % 100000, 0), 3, rng(), BKEY_U64s + 1 };

		bch_overlay_insert(ov, 1, 0, key_fill(buf, r.pos, r.val, r.u64s), 3);
		model_set(&m, &r);
	}

	/*
	 * Walk, inserting keys (before, at, just after and far after the
	 * cursor) and dropping ranges between steps: the cursor always gives
	 * the first entry after the one it gave last.
	 */
	struct bch_overlay_iter it;
	struct bpos last = POS_MIN;
	bool have_last = false;
	unsigned steps = 0;

	bch_overlay_iter_seek(&it, ov, 1, 0, POS_MIN);
	while (1) {
		const struct bch_overlay_entry *e = bch_overlay_iter_peek(&it);
		size_t i = have_last ? model_lower(&m, 1, 0, bpos_successor(last)) : 0;

		if (have_last && bpos_eq(last, SPOS_MAX))
			i = m.nr;
		while (i < m.nr && m.r[i].btree_id != 1)
			i++;
		if (i == m.nr) {
			hot_assert(e == NULL);
			break;
		}
		check_entry(e, &m.r[i]);
		last = e->k->k.p;
		have_last = true;
		bch_overlay_iter_next(&it);
		steps++;

		switch (rng() % 6) {
		case 0: case 1: {
			/* near the cursor: offset -2..+2 of the entry just passed */
			u64 off = last.offset + rng() % 5 - 2;
			struct ref r = { 1, 0, SPOS(0, off, 0), 4, rng(), BKEY_U64s + 1 };

			bch_overlay_insert(ov, 1, 0, key_fill(buf, r.pos, r.val, r.u64s), 4);
			model_set(&m, &r);
			break;
		}
		case 2: {
			struct ref r = { 1, 0, SPOS(0, rng() % 100000, 0), 5, rng(), BKEY_U64s + 1 };

			bch_overlay_insert(ov, 1, 0, key_fill(buf, r.pos, r.val, r.u64s), 5);
			model_set(&m, &r);
			break;
		}
		case 3: {
			/* the entry the cursor stands on, and a little more */
			struct bpos s = bpos_successor(last), t = SPOS(0, last.offset + rng() % 50, 0);

			bch_overlay_drop(ov, 1, 0, s, t);
			model_drop(&m, 1, 0, s, t);
			break;
		}
		default:
			break;
		}
	}
	ck_assert_uint_gt(steps, 3000);
	check_all(ov, &m);

	/* a cursor at the end sees what is appended after it */
	bch_overlay_iter_seek(&it, ov, 2, 0, POS_MIN);
	ck_assert_ptr_null(bch_overlay_iter_peek(&it));

	struct ref r = { 2, 0, POS(1, 1), 0, 77, BKEY_U64s + 1 };

	bch_overlay_insert(ov, 2, 0, key_fill(buf, r.pos, r.val, r.u64s), 0);
	check_entry(bch_overlay_iter_peek(&it), &r);

	/* a NULL index is empty */
	bch_overlay_iter_seek(&it, NULL, 0, 0, POS_MIN);
	ck_assert_ptr_null(bch_overlay_iter_peek(&it));
	ck_assert_ptr_null(bch_overlay_get(NULL, 0, 0, POS_MIN));
	ck_assert_uint_eq(bch_overlay_nr_total(NULL), 0);

	bch_overlay_free(ov);
	free(m.r);
}
END_TEST

START_TEST(test_seek_near)
{
	struct bch_overlay *ov = bch_overlay_new();
	struct bch_overlay_iter it = { 0 };
	u64 buf[8];

	for (u64 i = 0; i < 1000; i++)
		bch_overlay_insert(ov, 3, 1, key_fill(buf, POS(1, i * 2), i, BKEY_U64s + 1), 0);

	/* walking by seek_near to just past each entry, as the btree iterator does */
	struct bpos pos = POS_MIN;
	const struct bch_overlay_entry *e;
	u64 want = 0, n = 0;

	for (;;) {
		bch_overlay_iter_seek_near(&it, ov, 3, 1, pos);
		e = bch_overlay_iter_peek(&it);
		if (!e || e->btree_id != 3)
			break;
		hot_assert(e->k->k.p.offset == want);
		bch_overlay_iter_next(&it);
		pos = bpos_successor(e->k->k.p);
		n++;
		want += 2;
		if (want == 1000) {
			/* a key appears right where the cursor stands: it is next */
			bch_overlay_insert(ov, 3, 1, key_fill(buf, POS(1, 999), 9, BKEY_U64s + 1), 0);
			want = 999;
		} else if (want == 1001) {
			want = 1000;
		}
	}
	ck_assert_uint_eq(n, 1001);

	/* backwards and far seeks fall back to a search */
	bch_overlay_iter_seek_near(&it, ov, 3, 1, POS(1, 7));
	ck_assert_uint_eq(bch_overlay_iter_peek(&it)->k->k.p.offset, 8);
	bch_overlay_iter_seek_near(&it, ov, 3, 1, POS(1, 1500));
	ck_assert_uint_eq(bch_overlay_iter_peek(&it)->k->k.p.offset, 1500);
	bch_overlay_iter_seek_near(&it, ov, 3, 1, POS(1, 3));
	ck_assert_uint_eq(bch_overlay_iter_peek(&it)->k->k.p.offset, 4);
	bch_overlay_free(ov);
}
END_TEST

/* ---- arena and seqs ---- */

START_TEST(test_arena_reclaim)
{
	struct bch_overlay *ov = bch_overlay_new();
	size_t empty = bch_overlay_bytes(ov);
	u64 buf[64];

	/* many chunks' worth of keys in two btrees */
	for (u64 i = 0; i < 100000; i++) {
		bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, i), i, 40), i / 1000 + 1);
		bch_overlay_insert(ov, 2, 0, key_fill(buf, POS(0, i), i, 40), i / 1000 + 1);
	}
	size_t full = bch_overlay_bytes(ov);

	ck_assert_uint_gt(full, 2 * 100000 * 40 * 8);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 1);

	/* half the keys (one btree) out: chunks hold both btrees, none freed yet */
	bch_overlay_drop(ov, 1, 0, POS_MIN, SPOS_MAX);
	ck_assert_uint_ge(bch_overlay_bytes(ov), full / 2);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 1);

	/* replacing the rest makes the old copies garbage, kept until a drop */
	for (u64 i = 0; i < 100000; i++)
		bch_overlay_insert(ov, 2, 0, key_fill(buf, POS(0, i), i + 1, 40), 500);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 500);
	ck_assert_uint_ge(bch_overlay_bytes(ov), full);
	bch_overlay_drop(ov, 0, 0, POS_MIN, SPOS_MAX);	/* nothing there: nothing reclaimed */
	ck_assert_uint_ge(bch_overlay_bytes(ov), full);
	bch_overlay_drop(ov, 2, 0, POS_MIN, POS(0, 49999));
	/* the first copies and half the replacements are freed */
	ck_assert_uint_lt(bch_overlay_bytes(ov), full * 3 / 4);
	/* one key left: its chunk stays */
	bch_overlay_drop(ov, 2, 0, POS_MIN, POS(0, 99998));
	ck_assert_uint_eq(bch_overlay_nr_total(ov), 1);
	ck_assert_uint_lt(bch_overlay_bytes(ov), empty + (3U << 20));

	const struct bkey_i *last = bch_overlay_get(ov, 2, 0, POS(0, 99999))->k;

	ck_assert_uint_eq(last->k.u64s, 40);
	ck_assert_uint_eq(last->v[0], 100000);
	ck_assert_uint_eq(last->v[34], 100034);
	bch_overlay_drop(ov, 2, 0, POS_MIN, SPOS_MAX);
	ck_assert_uint_eq(bch_overlay_nr_total(ov), 0);
	/* at most the chunk being filled and a leaf are left */
	ck_assert_uint_le(bch_overlay_bytes(ov), empty + (2U << 20));
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 0);

	/* and the index works as new */
	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(5, 5), 5, 6), 9);
	ck_assert_uint_eq(bch_overlay_get(ov, 1, 0, POS(5, 5))->k->v[0], 5);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 9);
	bch_overlay_free(ov);
}
END_TEST

/*
 * Rounds of big keys into several btrees, each round dropping a btree or
 * part of one: chunks are freed and reused while others stay, and every
 * key must keep its contents.
 */
START_TEST(test_arena_churn)
{
	struct bch_overlay *ov = bch_overlay_new();
	struct model m = { 0 };
	size_t bytes = 0, freed = 0;
	u64 buf[64];

	rng_seed(99);
	for (unsigned round = 0; round < 40; round++) {
		for (unsigned i = 0; i < 3000; i++) {
			/* mostly one btree per round, so a chunk dies with its btree */
			struct ref r = { rng() % 8 ? 1 + round % 4 : 1 + rng() % 4, 0,
					 SPOS(0, rng() % 20000, 0),
					 round + 1, rng(), BKEY_U64s + 1 + rng() % 50 };

			hot_assert(bch_overlay_insert(ov, r.btree_id, 0,
							    key_fill(buf, r.pos, r.val, r.u64s),
							    r.seq) == 0);
			model_append(&m, &r);
		}

		model_sort(&m);

		unsigned b = 1 + rng() % 4;
		struct bpos start = rng() % 2 ? POS_MIN : SPOS(0, rng() % 20000, 0);
		struct bpos end = rng() % 2 ? SPOS_MAX : SPOS(0, start.offset + rng() % 10000, 0);

		bch_overlay_drop(ov, b, 0, start, end);
		model_drop(&m, b, 0, start, end);
		check_all(ov, &m);
		freed += bch_overlay_bytes(ov) < bytes;
		bytes = bch_overlay_bytes(ov);
	}
	ck_assert_uint_gt(freed, 5);
	bch_overlay_free(ov);
	free(m.r);
}
END_TEST

START_TEST(test_keys_stay_put)
{
	struct bch_overlay *ov = bch_overlay_new();
	u64 buf[8];

	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(1, 1), 11, 6), 0);

	const struct bkey_i *k = bch_overlay_get(ov, 1, 0, POS(1, 1))->k;

	/* replaced, and many inserts around it: the old copy is still readable */
	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(1, 1), 12, 6), 0);
	for (u64 i = 0; i < 20000; i++)
		bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, i), i, 6), 0);
	ck_assert_uint_eq(k->v[0], 11);
	ck_assert_uint_eq(bch_overlay_get(ov, 1, 0, POS(1, 1))->k->v[0], 12);
	bch_overlay_free(ov);
}
END_TEST

START_TEST(test_oldest_seq)
{
	struct bch_overlay *ov = bch_overlay_new();
	u64 buf[8];

	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 0);
	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, 1), 0, 6), 1000);
	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, 2), 0, 6), 0);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 1000);
	/* seqs below and far above the range seen so far */
	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, 3), 0, 6), 10);
	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, 4), 0, 6), 100000);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 10);
	/* replacing the oldest entry with a newer seq */
	bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, 3), 0, 6), 2000);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 1000);
	bch_overlay_drop(ov, 1, 0, POS(0, 1), POS(0, 1));
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 2000);
	bch_overlay_drop(ov, 1, 0, POS(0, 3), POS(0, 3));
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 100000);
	/* a seq range too wide to count is refused, and nothing changes */
	ck_assert_int_lt(bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, 9), 0, 6), 1ULL << 40), 0);
	ck_assert_ptr_null(bch_overlay_get(ov, 1, 0, POS(0, 9)));
	ck_assert_uint_eq(bch_overlay_nr_total(ov), 2);
	bch_overlay_drop(ov, 1, 0, POS_MIN, SPOS_MAX);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 0);
	/* with nothing counted, any seq is fine again */
	ck_assert_int_eq(bch_overlay_insert(ov, 1, 0, key_fill(buf, POS(0, 9), 0, 6), 1ULL << 40), 0);
	ck_assert_uint_eq(bch_overlay_oldest_seq(ov), 1ULL << 40);
	bch_overlay_free(ov);
}
END_TEST

START_TEST(test_changes)
{
	struct bch_overlay *ov = bch_overlay_new();
	u64 buf[8];

	ck_assert_uint_eq(bch_overlay_changes(NULL, 3), 0);
	ck_assert_uint_eq(bch_overlay_changes(ov, 3), 0);
	bch_overlay_insert(ov, 3, 0, key_fill(buf, POS(0, 1), 0, 6), 0);
	ck_assert_uint_eq(bch_overlay_changes(ov, 3), 1);
	/* another btree's, and another level's of this one */
	bch_overlay_insert(ov, 4, 0, key_fill(buf, POS(0, 1), 0, 6), 0);
	ck_assert_uint_eq(bch_overlay_changes(ov, 3), 1);
	bch_overlay_insert(ov, 3, 1, key_fill(buf, POS(0, 1), 0, 6), 0);
	ck_assert_uint_eq(bch_overlay_changes(ov, 3), 2);
	/* replacing an entry leaves the change count of the index alone, not this one */
	u64 gen = bch_overlay_gen(ov);

	bch_overlay_insert(ov, 3, 0, key_fill(buf, POS(0, 1), 0, 7), 0);
	ck_assert_uint_eq(bch_overlay_gen(ov), gen);
	ck_assert_uint_eq(bch_overlay_changes(ov, 3), 3);
	/* a drop that finds nothing changes nothing */
	bch_overlay_drop(ov, 3, 0, POS(0, 5), POS(0, 9));
	ck_assert_uint_eq(bch_overlay_changes(ov, 3), 3);
	bch_overlay_drop(ov, 3, 0, POS_MIN, SPOS_MAX);
	ck_assert_uint_eq(bch_overlay_changes(ov, 3), 4);
	ck_assert_uint_eq(bch_overlay_changes(ov, 4), 1);
	bch_overlay_free(ov);
}
END_TEST

/* ---- the btree iterator over the overlay ---- */

/*
 * A filesystem with no roots: each btree is the kernel's empty in-memory
 * leaf, so the iterator shows the overlay alone.  Deleted keys are
 * skipped, whiteouts returned; keys committed while the iterator walks
 * show up when they are ahead of it.
 */
START_TEST(test_btree_iter_merges)
{
	struct bch_fs *c = calloc(1, sizeof(*c));
	struct model m = { 0 };
	struct btree_iter it;
	struct bkey_s_c k;
	u64 buf[8];
	int ret;

	c->overlay = bch_overlay_new();
	rng_seed(5);
	for (unsigned i = 0; i < 3000; i++) {
		struct ref r = { BTREE_ID_xattrs, 0, SPOS(1, rng() % 10000, 0), 1, rng(), BKEY_U64s + 1 };
		struct bkey_i *key = key_fill(buf, r.pos, r.val, r.u64s);

		if (rng() % 5 == 0)
			key->k.type = rng() % 2 ? KEY_TYPE_deleted : KEY_TYPE_whiteout;
		bch_overlay_insert(c->overlay, r.btree_id, 0, key, 1);
		/*
		 * other btrees and levels around it must not show (not level 1 of
		 * xattrs: without a root, pointers there wait for one and are walked)
		 */
		bch_overlay_insert(c->overlay, BTREE_ID_inodes, 1, key, 1);
		bch_overlay_insert(c->overlay, BTREE_ID_inodes, 0, key, 1);
		bch_overlay_insert(c->overlay, BTREE_ID_dirents, 0, key, 1);
	}

	bch_btree_iter_init(&it, c, BTREE_ID_xattrs, POS_MIN, 0);
	struct bpos last = POS_MIN;
	size_t seen = 0, added = 0;

	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		const struct bch_overlay_entry *e = bch_overlay_get(c->overlay, BTREE_ID_xattrs, 0, k.k->p);

		hot_assert(e != NULL);
		hot_assert(k.k->type != KEY_TYPE_deleted);
		hot_assert(k.k->type == e->k->k.type);
		hot_assert(k.v == e->k->v);
		if (seen)
			hot_assert(bpos_gt(k.k->p, last));
		last = k.k->p;
		seen++;
		bch_btree_iter_advance(&it);

		/* a commit meanwhile: one key just ahead, one behind */
		if (seen % 3 == 0) {
			struct bkey_i *ahead = key_fill(buf, SPOS(1, last.offset, 1), 1, BKEY_U64s + 1);

			bch_overlay_insert(c->overlay, BTREE_ID_xattrs, 0, ahead, 2);
			added++;
			bch_overlay_insert(c->overlay, BTREE_ID_xattrs, 0,
					   key_fill(buf, SPOS(1, last.offset, 0), 7, BKEY_U64s + 1), 2);
		}
		/* a flush meanwhile: entries just ahead leave (blocks are freed) */
		if (seen % 50 == 0)
			bch_overlay_drop(c->overlay, BTREE_ID_xattrs, 0, SPOS(1, last.offset + 1, 0),
					 SPOS(1, last.offset + 300, 0));
	}
	ck_assert_int_eq(ret, 0);
	bch_btree_iter_exit(&it);

	/* every live entry of the btree was seen once, those added ahead included */
	size_t live = 0;
	struct bch_overlay_iter oi;
	const struct bch_overlay_entry *e;

	bch_overlay_iter_seek(&oi, c->overlay, BTREE_ID_xattrs, 0, POS_MIN);
	while ((e = bch_overlay_iter_peek(&oi)) && e->btree_id == BTREE_ID_xattrs && !e->level) {
		live += e->k->k.type != KEY_TYPE_deleted;
		bch_overlay_iter_next(&oi);
	}
	ck_assert_uint_gt(added, 200);
	/* keys behind the iterator (offset:0 replaced) do not add; those ahead (:1) do */
	ck_assert_uint_eq(seen, live);

	/* no_journal: the nodes alone, here nothing */
	bch_btree_iter_init(&it, c, BTREE_ID_xattrs, POS_MIN, 0);
	it.no_journal = true;
	ck_assert_int_eq(bch_btree_iter_peek(&it, &k), 0);
	bch_btree_iter_exit(&it);

	bch_btree_cache_exit(c);
	bch_overlay_free(c->overlay);
	free(c);
	free(m.r);
}
END_TEST

/* Not an assertion (machines differ): how long 1M random inserts take here. */
START_TEST(test_timing)
{
	struct bch_overlay *ov = bch_overlay_new();
	struct timespec t0, t1;
	u64 buf[8];

	rng_seed(7);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (unsigned i = 0; i < 1000000; i++)
		bch_overlay_insert(ov, 1, 0, key_fill(buf, SPOS(rng() % 100000, rng(), 0), i, BKEY_U64s), 1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	printf("overlay: 1M random inserts of 40-byte keys: %.3f s CPU\n",
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
	ck_assert_uint_eq(bch_overlay_nr_total(ov), 1000000);
	bch_overlay_free(ov);
}
END_TEST

static Suite *overlay_suite(void)
{
	Suite *s = suite_create("overlay");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_random_small, 0, 4);
	tcase_add_loop_test(tc, test_random_large, 0, 2);
	tcase_add_test(tc, test_sequential_and_reverse);
	tcase_add_test(tc, test_cursor_across_inserts);
	tcase_add_test(tc, test_seek_near);
	tcase_add_test(tc, test_arena_reclaim);
	tcase_add_test(tc, test_arena_churn);
	tcase_add_test(tc, test_keys_stay_put);
	tcase_add_test(tc, test_oldest_seq);
	tcase_add_test(tc, test_changes);
	tcase_add_test(tc, test_btree_iter_merges);
	tcase_add_test(tc, test_timing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(overlay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

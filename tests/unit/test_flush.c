/* Unit tests for the flush planner: append or rewrite, splits, merges, whiteouts, without I/O. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bkey/bkey.h"
#include "bkey/format_calc.h"
#include "btree/btree_types.h"
#include "btree/flush.h"
#include "util/errcode.h"

#define BLOCK_SECTORS	8
#define NODE_SECTORS	64		/* 32 KiB: 4091 u64s of keys */

/* Keys of a test: cookie keys in inode 1 with `val_u64s` of value each, stored in one arena. */
struct keyset {
	struct bkey *keys;
	const void **vals;
	u64 *vbuf;
	size_t nr;
};

static void keyset_make(struct keyset *s, const u64 *offsets, size_t nr, unsigned val_u64s,
			u64 tag)
{
	s->keys = calloc(nr + 1, sizeof(*s->keys));
	s->vals = calloc(nr + 1, sizeof(*s->vals));
	s->vbuf = calloc(nr * val_u64s + 1, 8);
	s->nr = nr;
	for (size_t i = 0; i < nr; i++) {
		struct bkey *k = &s->keys[i];

		k->u64s = BKEY_U64s + val_u64s;
		k->format_whiteout = KEY_FORMAT_CURRENT;
		k->type = KEY_TYPE_cookie;
		k->p = POS(1, offsets[i]);
		for (unsigned j = 0; j < val_u64s; j++)
			s->vbuf[i * val_u64s + j] = tag ^ offsets[i] ^ j;
		s->vals[i] = &s->vbuf[i * val_u64s];
	}
}

static void keyset_free(struct keyset *s)
{
	free(s->keys);
	free(s->vals);
	free(s->vbuf);
}

/* Overlay entries as bkey_i copies. */
struct updset {
	struct bch_flush_update *u;
	u64 *buf;
	size_t nr;
};

/* val_u64s 0 with deleted: a deletion at that offset. */
static void updset_make(struct updset *s, const u64 *offsets, const bool *deleted, size_t nr,
			unsigned val_u64s, u64 tag, u64 seq0)
{
	size_t stride = BKEY_U64s + val_u64s;

	s->u = calloc(nr + 1, sizeof(*s->u));
	s->buf = calloc(nr * stride + 1, 8);
	s->nr = nr;
	for (size_t i = 0; i < nr; i++) {
		struct bkey_i *k = (void *)&s->buf[i * stride];
		bool del = deleted && deleted[i];

		k->k.u64s = BKEY_U64s + (del ? 0 : val_u64s);
		k->k.format_whiteout = KEY_FORMAT_CURRENT;
		k->k.type = del ? KEY_TYPE_deleted : KEY_TYPE_cookie;
		k->k.p = POS(1, offsets[i]);
		for (unsigned j = 0; !del && j < val_u64s; j++)
			k->v[j] = tag ^ offsets[i] ^ j;
		s->u[i] = (struct bch_flush_update) { k, seq0 + i };
	}
}

static void updset_free(struct updset *s)
{
	free(s->u);
	free(s->buf);
}

/* A node holding ks as a first write of `written` sectors, keys packed in its format. */
static struct bch_flush_node node_of(const struct keyset *ks, struct bpos min, struct bpos max,
				     unsigned written)
{
	struct bch_flush_node n = {
		.min_key = min, .max_key = max, .keys = ks->keys,
		.vals = (const void *const *)ks->vals, .nr = ks->nr, .written = written,
		.max_journal_seq = 5,
	};

	n.format = bch_format_calc_node(min, max, ks->keys, ks->nr);
	for (size_t i = 0; i < ks->nr; i++) {
		ks->keys[i].pad = BKEY_PAD_WAS_PACKED;
		n.live_u64s += n.format.key_u64s + bkey_val_u64s(&ks->keys[i]);
	}
	return n;
}

static const struct bch_flush_geom geom = {
	.block_sectors = BLOCK_SECTORS, .node_sectors = NODE_SECTORS,
};

/* Every rewrite invariant: pieces cover [min, max] contiguously, keys sorted, sizes bounded. */
static void check_pieces(const struct bch_flush_plan *p, struct bpos min, struct bpos max)
{
	size_t next = 0;

	ck_assert_uint_ge(p->nr_pieces, 1);
	ck_assert(bpos_eq(p->pieces[0].min_key, min));
	ck_assert(bpos_eq(p->pieces[p->nr_pieces - 1].max_key, max));
	for (size_t i = 0; i < p->nr_pieces; i++) {
		const struct bch_flush_piece *pc = &p->pieces[i];

		ck_assert_uint_eq(pc->start, next);
		next += pc->nr;
		ck_assert(bpos_le(pc->min_key, pc->max_key));
		if (i)
			ck_assert(bpos_eq(pc->min_key, bpos_successor(p->pieces[i - 1].max_key)));
		if (i + 1 < p->nr_pieces) {
			ck_assert_uint_gt(pc->nr, 0);
			ck_assert(bpos_eq(pc->max_key, p->keys[pc->start + pc->nr - 1].p));
		}
		for (size_t j = 0; j < pc->nr; j++) {
			ck_assert(bpos_ge(p->keys[pc->start + j].p, pc->min_key));
			ck_assert(bpos_le(p->keys[pc->start + j].p, pc->max_key));
		}
		ck_assert_uint_le(pc->u64s, BCH_FLUSH_SPLIT_U64s(&geom));

		/* the piece's format is the one the kernel computes for it */
		struct bkey_format f = bch_format_calc_node(pc->min_key, pc->max_key,
							    p->keys + pc->start, pc->nr);
		ck_assert(!memcmp(&f, &pc->format, sizeof(f)));
	}
	ck_assert_uint_eq(next, p->nr);
	for (size_t i = 1; i < p->nr; i++)
		ck_assert(bpos_lt(p->keys[i - 1].p, p->keys[i].p));
}

START_TEST(test_append)
{
	u64 off[] = { 10, 20, 30, 40, 50 };
	u64 uoff[] = { 5, 20, 30, 35, 40 };
	bool del[] = { false, false, true, true, false };
	struct keyset ks;
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;

	keyset_make(&ks, off, 5, 2, 0xaa);
	/* 5: new; 20: changed; 30: deleted; 35: deleted, absent; 40: identical */
	updset_make(&us, uoff, del, 5, 2, 0xbb, 100);
	memcpy((void *)us.u[4].k->v, ks.vals[3], 16);
	n = node_of(&ks, POS_MIN, SPOS_MAX, BLOCK_SECTORS);

	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, us.u, us.nr, &p), 0);
	ck_assert_int_eq(p.action, BCH_FLUSH_APPEND);
	ck_assert_uint_eq(p.nr, 3);
	ck_assert_uint_eq(p.keys[0].p.offset, 5);
	ck_assert_uint_eq(p.keys[0].type, KEY_TYPE_cookie);
	ck_assert_uint_eq(p.keys[1].p.offset, 20);
	ck_assert(!memcmp(p.vals[1], us.u[1].k->v, 16));
	ck_assert_uint_eq(p.keys[2].p.offset, 30);
	ck_assert_uint_eq(p.keys[2].type, KEY_TYPE_deleted);
	ck_assert_uint_eq(p.keys[2].u64s, BKEY_U64s);
	ck_assert_uint_eq(p.keys[2].size, 0);
	/* the newest seq of what is written: not the skipped identical key's */
	ck_assert_uint_eq(p.journal_seq, 102);
	ck_assert_uint_eq(p.u64s, 3 * n.format.key_u64s + 4);

	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&ks);
}
END_TEST

/*
 * Updates that change nothing (a deletion of an absent key, an identical
 * key): nothing to write, unless the node's read dropped keys, which
 * rewrites it whole with every live key.
 */
static void plan_no_change(bool rewrite)
{
	u64 off[] = { 10, 20 };
	u64 uoff[] = { 15, 20 };
	bool del[] = { true, false };
	struct keyset ks;
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;

	keyset_make(&ks, off, 2, 1, 0xaa);
	updset_make(&us, uoff, del, 2, 1, 0xaa, 1);
	n = node_of(&ks, POS_MIN, SPOS_MAX, BLOCK_SECTORS);
	n.rewrite = rewrite;
	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, us.u, us.nr, &p), 0);
	if (!rewrite) {
		ck_assert_int_eq(p.action, BCH_FLUSH_NOTHING);
		ck_assert_uint_eq(p.nr, 0);
	} else {
		ck_assert_int_eq(p.action, BCH_FLUSH_REWRITE);
		check_pieces(&p, POS_MIN, SPOS_MAX);
		ck_assert_uint_eq(p.nr, 2);
		ck_assert_uint_eq(p.keys[0].p.offset, 10);
		ck_assert_uint_eq(p.keys[1].p.offset, 20);
	}
	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&ks);
}

START_TEST(test_nothing)
{
	plan_no_change(false);
}
END_TEST

START_TEST(test_nothing_but_must_rewrite)
{
	plan_no_change(true);
}
END_TEST

/* A full node, or one never written, is rewritten: the merge is exact. */
START_TEST(test_rewrite_merge)
{
	u64 off[] = { 10, 20, 30, 40, 50 };
	u64 uoff[] = { 5, 20, 30, 35, 60 };
	bool del[] = { false, false, true, true, false };
	u64 want[] = { 5, 10, 20, 40, 50, 60 };
	struct keyset ks;
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;

	keyset_make(&ks, off, 5, 1, 0xaa);
	updset_make(&us, uoff, del, 5, 3, 0xbb, 100);
	n = node_of(&ks, POS(1, 0), POS(1, 100), _i ? 0 : NODE_SECTORS);

	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, us.u, us.nr, &p), 0);
	ck_assert_int_eq(p.action, BCH_FLUSH_REWRITE);
	ck_assert_uint_eq(p.nr, 6);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_uint_eq(p.keys[i].p.offset, want[i]);
		ck_assert_uint_eq(p.keys[i].type, KEY_TYPE_cookie);
	}
	ck_assert_uint_eq(bkey_val_u64s(&p.keys[2]), 3);	/* the update's value */
	ck_assert_uint_eq(bkey_val_u64s(&p.keys[1]), 1);	/* the node's */
	ck_assert_ptr_eq(p.vals[1], ks.vals[0]);
	ck_assert_uint_eq(p.nr_pieces, 1);
	check_pieces(&p, POS(1, 0), POS(1, 100));
	/* newest of the node's bsets (5) and the updates (100..104) */
	ck_assert_uint_eq(p.pieces[0].journal_seq, 104);

	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&ks);
}
END_TEST

/* A bulk load into an empty root: even pieces of at most 2/3 of a node. */
START_TEST(test_split_bulk)
{
	size_t nr = 1000 + _i * 7919;
	u64 *uoff = malloc(nr * sizeof(*uoff));
	struct keyset empty = { 0 };
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;

	for (size_t i = 0; i < nr; i++)
		uoff[i] = i * 3 + 1;
	updset_make(&us, uoff, NULL, nr, 1 + _i % 5, 0xcc, 1);
	n = node_of(&empty, POS_MIN, SPOS_MAX, 0);

	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, us.u, us.nr, &p), 0);
	ck_assert_int_eq(p.action, BCH_FLUSH_REWRITE);
	ck_assert_uint_eq(p.nr, nr);
	check_pieces(&p, POS_MIN, SPOS_MAX);

	size_t limit = BCH_FLUSH_SPLIT_U64s(&geom);
	size_t want = p.u64s <= limit ? 1 : (p.u64s + limit - 1) / limit;
	size_t lo = ~0UL, hi = 0;

	ck_assert_uint_eq(p.nr_pieces, want);
	for (size_t i = 0; i < p.nr_pieces; i++) {
		lo = p.pieces[i].nr < lo ? p.pieces[i].nr : lo;
		hi = p.pieces[i].nr > hi ? p.pieces[i].nr : hi;
		/* the journal seq of the piece is its newest key's */
		ck_assert_uint_eq(p.pieces[i].journal_seq,
				  us.u[p.pieces[i].start + p.pieces[i].nr - 1].journal_seq);
	}
	/* even split: pieces differ by about one key (formats may differ by a word) */
	ck_assert_uint_le(hi - lo, 1 + hi / 16);

	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&empty);
	free(uoff);
}
END_TEST

/*
 * Deleting most keys of a non-root node: rewritten (to be merged), though
 * it would fit; the root (_i 1), and a node whose merge would not make one
 * node (_i 2, no_merge), take the whiteouts as an append.
 */
START_TEST(test_shrink_rewrites)
{
	size_t nr = 300;
	u64 *off = malloc(nr * sizeof(*off));
	bool *del = malloc(nr);
	struct keyset ks;
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;
	struct bch_flush_geom g = geom;

	for (size_t i = 0; i < nr; i++) {
		off[i] = i;
		del[i] = i >= 10;
	}
	keyset_make(&ks, off, nr, 4, 0xaa);
	updset_make(&us, off + 10, del + 10, nr - 10, 0, 0, 7);
	n = node_of(&ks, POS(1, 0), POS(1, 1000), BLOCK_SECTORS * 2);
	ck_assert_uint_ge(n.live_u64s, BCH_FLUSH_MERGE_U64s(&g));

	g.is_root = _i == 1;
	g.no_merge = _i == 2;
	ck_assert_int_eq(bch_flush_plan(&g, &n, 1, us.u, us.nr, &p), 0);
	if (_i) {
		ck_assert_int_eq(p.action, BCH_FLUSH_APPEND);
		ck_assert_uint_eq(p.nr, nr - 10);
		ck_assert_uint_eq(p.keys[0].type, KEY_TYPE_deleted);
	} else {
		ck_assert_int_eq(p.action, BCH_FLUSH_REWRITE);
		ck_assert_uint_eq(p.nr, 10);
		ck_assert_uint_eq(p.nr_pieces, 1);
		check_pieces(&p, POS(1, 0), POS(1, 1000));
	}

	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&ks);
	free(off);
	free(del);
}
END_TEST

/* Two neighbours merged: one range, keys of both, updates of both. */
START_TEST(test_merge_neighbours)
{
	u64 a_off[] = { 1, 2, 3 }, b_off[] = { 11, 12, 13 };
	u64 uoff[] = { 2, 5, 12 };
	bool del[] = { true, false, true };
	u64 want[] = { 1, 3, 5, 11, 13 };
	struct keyset a, b;
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n[2];

	keyset_make(&a, a_off, 3, 1, 1);
	keyset_make(&b, b_off, 3, 1, 2);
	updset_make(&us, uoff, del, 3, 1, 3, 50);
	n[0] = node_of(&a, POS(1, 0), POS(1, 9), BLOCK_SECTORS);
	n[1] = node_of(&b, POS(1, 10), SPOS_MAX, BLOCK_SECTORS);

	ck_assert_int_eq(bch_flush_plan(&geom, n, 2, us.u, us.nr, &p), 0);
	ck_assert_int_eq(p.action, BCH_FLUSH_REWRITE);
	ck_assert_uint_eq(p.nr, 5);
	for (size_t i = 0; i < 5; i++)
		ck_assert_uint_eq(p.keys[i].p.offset, want[i]);
	ck_assert_uint_eq(p.nr_pieces, 1);
	check_pieces(&p, POS(1, 0), SPOS_MAX);

	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&a);
	keyset_free(&b);
}
END_TEST

/* Everything deleted: one empty piece over the whole range. */
START_TEST(test_all_deleted)
{
	u64 off[] = { 1, 2 };
	bool del[] = { true, true };
	struct keyset ks;
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;

	keyset_make(&ks, off, 2, 1, 1);
	updset_make(&us, off, del, 2, 0, 0, 9);
	n = node_of(&ks, POS_MIN, SPOS_MAX, 0);
	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, us.u, us.nr, &p), 0);
	ck_assert_int_eq(p.action, BCH_FLUSH_REWRITE);
	ck_assert_uint_eq(p.nr, 0);
	ck_assert_uint_eq(p.nr_pieces, 1);
	ck_assert_uint_eq(p.pieces[0].nr, 0);
	check_pieces(&p, POS_MIN, SPOS_MAX);

	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&ks);
}
END_TEST

/* An append that does not fit after the written sectors becomes a rewrite. */
START_TEST(test_append_does_not_fit)
{
	size_t nr = 200;
	u64 *off = malloc(nr * sizeof(*off));
	struct keyset ks;
	struct updset us;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;

	for (size_t i = 0; i < nr; i++)
		off[i] = i * 2;
	keyset_make(&ks, off, 1, 1, 1);
	updset_make(&us, off, NULL, nr, 8, 1, 1);
	/* 200 keys of ~10 u64s: 16 KiB, 4 blocks; the node has 3 blocks left */
	n = node_of(&ks, POS_MIN, SPOS_MAX, NODE_SECTORS - 3 * BLOCK_SECTORS);
	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, us.u, us.nr, &p), 0);
	ck_assert_int_eq(p.action, BCH_FLUSH_REWRITE);
	check_pieces(&p, POS_MIN, SPOS_MAX);

	/* with room for it, the same is an append */
	n.written = BLOCK_SECTORS;
	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, us.u, us.nr, &p), 0);
	ck_assert_int_eq(p.action, BCH_FLUSH_APPEND);
	ck_assert_uint_eq(p.nr, nr);

	bch_flush_plan_exit(&p);
	updset_free(&us);
	keyset_free(&ks);
	free(off);
}
END_TEST

START_TEST(test_bad_updates)
{
	u64 off[] = { 10 };
	u64 out[] = { 200 };
	u64 unsorted[] = { 30, 20 };
	struct keyset ks;
	struct updset a, b;
	struct bch_flush_plan p = { 0 };
	struct bch_flush_node n;

	keyset_make(&ks, off, 1, 1, 1);
	updset_make(&a, out, NULL, 1, 1, 1, 1);
	updset_make(&b, unsorted, NULL, 2, 1, 1, 1);
	n = node_of(&ks, POS(1, 0), POS(1, 100), BLOCK_SECTORS);
	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, a.u, a.nr, &p), -BCH_ERR_bad_argument);
	ck_assert_int_eq(bch_flush_plan(&geom, &n, 1, b.u, b.nr, &p), -BCH_ERR_bad_argument);

	bch_flush_plan_exit(&p);
	updset_free(&a);
	updset_free(&b);
	keyset_free(&ks);
}
END_TEST

static Suite *flush_suite(void)
{
	Suite *s = suite_create("flush");
	TCase *tp = tcase_create("plan");

	tcase_add_test(tp, test_append);
	tcase_add_test(tp, test_nothing);
	tcase_add_test(tp, test_nothing_but_must_rewrite);
	tcase_add_loop_test(tp, test_rewrite_merge, 0, 2);
	tcase_add_loop_test(tp, test_split_bulk, 0, 8);
	tcase_add_loop_test(tp, test_shrink_rewrites, 0, 3);
	tcase_add_test(tp, test_merge_neighbours);
	tcase_add_test(tp, test_all_deleted);
	tcase_add_test(tp, test_append_does_not_fit);
	tcase_add_test(tp, test_bad_updates);
	suite_add_tcase(s, tp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flush_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests for the snapshot table's ancestor test: against a walk of parents, on trees with skiplists, and on damaged tables. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fs/snapshot_table.h"
#include "unit_rng.h"

#define TOP	0xffffffffU

/* The node of id in a table whose ids are TOP - index (every one present). */
static struct bch_snapshot_node *node(struct bch_snapshot_table *t, u32 id)
{
	return &t->n[t->nr - 1 - (TOP - id)];
}

/* Whether anc is id or above it, by parents only. */
static bool walk_parents(struct bch_snapshot_table *t, u32 id, u32 anc)
{
	while (id) {
		if (id == anc)
			return true;
		id = node(t, id)->parent;
	}
	return false;
}

/*
 * nr snapshots as the kernel makes them: each new one (the next lower id)
 * a child of one before it, with depth and three sorted skiplist entries
 * picked among its ancestors. chain: each the child of the one before.
 */
static void tree_make(struct bch_snapshot_table *t, unsigned nr, bool chain)
{
	t->nr = nr;
	t->n = calloc(nr, sizeof(*t->n));
	ck_assert_ptr_nonnull(t->n);
	for (unsigned i = 0; i < nr; i++) {
		u32 id = TOP - i;
		struct bch_snapshot_node *n = node(t, id);

		n->id = id;
		if (!i)
			continue;
		n->parent = chain ? id + 1 : id + 1 + rng() % i;

		struct bch_snapshot_node *p = node(t, n->parent);
		u32 anc[3];

		n->depth = p->depth + 1;
		for (unsigned s = 0; s < 3; s++) {
			/* an ancestor: climb a random number of steps up from the parent */
			u32 a = n->parent;

			for (unsigned k = rng() % (n->depth ? n->depth : 1); k && node(t, a)->parent; k--)
				a = node(t, a)->parent;
			anc[s] = a;
		}
		for (unsigned s = 0; s < 3; s++)
			for (unsigned u = s + 1; u < 3; u++)
				if (anc[u] < anc[s]) {
					u32 x = anc[s];

					anc[s] = anc[u];
					anc[u] = x;
				}
		memcpy(n->skip, anc, sizeof(anc));
	}
}

START_TEST(test_random_trees)
{
	rng_state = 12345 + _i;
	for (unsigned round = 0; round < 20; round++) {
		struct bch_snapshot_table t;
		unsigned nr = 2 + rng() % 300;

		tree_make(&t, nr, round % 4 == 0);
		for (unsigned q = 0; q < 5000; q++) {
			u32 id = TOP - rng() % nr, anc = TOP - rng() % nr;

			if (bch_snapshot_is_ancestor(&t, id, anc) != walk_parents(&t, id, anc))
				ck_abort_msg("tree of %u: is %u an ancestor of %u: wrong answer", nr, anc, id);
		}
		bch_snapshot_table_exit(&t);
	}
}
END_TEST

START_TEST(test_lookup)
{
	struct bch_snapshot_table t;

	rng_state = 7;
	tree_make(&t, 50, false);
	for (u32 i = 0; i < 50; i++)
		ck_assert_uint_eq(bch_snapshot_get(&t, TOP - i)->id, TOP - i);
	ck_assert_ptr_null(bch_snapshot_get(&t, TOP - 50));
	ck_assert_ptr_null(bch_snapshot_get(&t, 0));
	/* an id missing from the table is nobody's ancestor, and has none */
	ck_assert(!bch_snapshot_is_ancestor(&t, TOP - 49, TOP - 60));
	ck_assert(!bch_snapshot_is_ancestor(&t, TOP - 60, TOP));
	ck_assert(bch_snapshot_is_ancestor(&t, TOP - 60, TOP - 60));
	bch_snapshot_table_exit(&t);
}
END_TEST

/* Parents and skip entries that point down or sideways end the walk: no loop, no claim. */
START_TEST(test_damaged)
{
	struct bch_snapshot_table t;

	rng_state = 99;
	tree_make(&t, 10, true);
	/* by parents only, so that the walks below pass the damage */
	for (size_t i = 0; i < t.nr; i++)
		memset(t.n[i].skip, 0, sizeof(t.n[i].skip));
	/* a loop: the top's parent is the bottom */
	node(&t, TOP)->parent = TOP - 9;
	ck_assert(bch_snapshot_is_ancestor(&t, TOP - 9, TOP));
	ck_assert(!bch_snapshot_is_ancestor(&t, TOP, TOP - 9));
	/* a node that is its own parent, with skip entries below it */
	node(&t, TOP - 5)->parent = TOP - 5;
	node(&t, TOP - 5)->skip[0] = TOP - 7;
	node(&t, TOP - 5)->skip[1] = TOP - 6;
	node(&t, TOP - 5)->skip[2] = TOP - 8;
	ck_assert(!bch_snapshot_is_ancestor(&t, TOP - 9, TOP));
	ck_assert(bch_snapshot_is_ancestor(&t, TOP - 9, TOP - 5));
	bch_snapshot_table_exit(&t);
}
END_TEST

/*
 * Keys at one position in a random set of snapshots: snapshot id sees the
 * key of the nearest of them that is id or an ancestor, and no other.
 */
START_TEST(test_key_visible)
{
	struct bch_snapshot_table t;
	struct bch_snapshots_seen seen = { 0 };

	rng_state = 4242 + _i;
	tree_make(&t, 2 + rng() % 200, false);
	for (unsigned pos = 1; pos <= 300; pos++) {
		/* the snapshots with a key here, met in ascending order */
		for (size_t i = 0; i < t.nr; i++)
			if (rng() % 4 == 0)
				ck_assert_int_eq(bch_snapshots_seen_add(&seen, SPOS(1, pos, t.n[i].id)), 0);
		if (seen.pos.offset != pos)
			continue;
		for (unsigned q = 0; q < 50; q++) {
			u32 id = t.n[rng() % t.nr].id, nearest = 0;

			for (size_t i = 0; i < seen.nr && !nearest; i++)
				if (walk_parents(&t, id, seen.ids[i]))
					nearest = seen.ids[i];
			for (size_t i = 0; i < seen.nr; i++)
				if (bch_snapshot_key_visible(&t, &seen, id, seen.ids[i]) !=
				    (seen.ids[i] == nearest))
					ck_abort_msg("position %u: does %u see the key of %u: wrong answer",
						     pos, id, seen.ids[i]);
		}
	}
	bch_snapshots_seen_exit(&seen);
	bch_snapshot_table_exit(&t);
}
END_TEST

static Suite *snapshot_table_suite(void)
{
	Suite *s = suite_create("snapshot_table");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_random_trees, 0, 4);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_damaged);
	tcase_add_loop_test(tc, test_key_visible, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(snapshot_table_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

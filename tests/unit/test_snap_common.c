/* Unit tests for the snapshot passes' table walks: parent pointers only (skiplists ignored), roots, n-th parents, a tree's oldest subvolume, id lists; the inode table's search. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fsck/snap_common.h"
#include "unit_rng.h"

#define TOP	0xffffffffU

/*
 * Two trees as the kernel-snapshots image has them, and a chain:
 *   TOP (subvol 1)
 *   TOP-1 -> TOP-2 -> {TOP-6 (subvol 3), TOP-7 (subvol 5)}
 *         -> TOP-3 -> {TOP-4 (subvol 4), TOP-10 (subvol 2)}
 *   TOP-8 (subvol 6)
 * Skiplists all point at a node of the other tree: the walks must not use them.
 */
static const struct { u32 id, parent, subvol; } shape[] = {
	{ TOP - 10, TOP - 3, 2 }, { TOP - 8, 0, 6 }, { TOP - 7, TOP - 2, 5 },
	{ TOP - 6, TOP - 2, 3 }, { TOP - 4, TOP - 3, 4 }, { TOP - 3, TOP - 1, 0 },
	{ TOP - 2, TOP - 1, 0 }, { TOP - 1, 0, 0 }, { TOP, 0, 1 },
};

static struct bch_snapshot_table table(void)
{
	size_t nr = sizeof(shape) / sizeof(shape[0]);
	struct bch_snapshot_table t = { calloc(nr, sizeof(*t.n)), nr };

	ck_assert_ptr_nonnull(t.n);
	for (size_t i = 0; i < nr; i++) {
		t.n[i].id = shape[i].id;
		t.n[i].parent = shape[i].parent;
		t.n[i].subvol = shape[i].subvol;
		t.n[i].is_subvol = shape[i].subvol != 0;
		for (unsigned s = 0; s < 3; s++)
			t.n[i].skip[s] = TOP - 8;
	}
	return t;
}

START_TEST(test_walks)
{
	struct bch_snapshot_table t = table();

	ck_assert(snap_is_ancestor(&t, TOP - 6, TOP - 6));
	ck_assert(snap_is_ancestor(&t, TOP - 6, TOP - 2));
	ck_assert(snap_is_ancestor(&t, TOP - 6, TOP - 1));
	ck_assert(!snap_is_ancestor(&t, TOP - 6, TOP - 3));
	ck_assert(!snap_is_ancestor(&t, TOP - 6, TOP - 8));
	ck_assert(!snap_is_ancestor(&t, TOP - 6, TOP));
	ck_assert(!snap_is_ancestor(&t, TOP - 6, 0));
	ck_assert(!snap_is_ancestor(&t, TOP - 2, TOP - 6));
	ck_assert_uint_eq(snap_root(&t, TOP - 10), TOP - 1);
	ck_assert_uint_eq(snap_root(&t, TOP - 8), TOP - 8);
	/* a node missing from the table: the walk ends at it */
	ck_assert_uint_eq(snap_root(&t, TOP - 5), TOP - 5);
	ck_assert_uint_eq(snap_nth_parent(&t, TOP - 10, 0), TOP - 10);
	ck_assert_uint_eq(snap_nth_parent(&t, TOP - 10, 1), TOP - 3);
	ck_assert_uint_eq(snap_nth_parent(&t, TOP - 10, 2), TOP - 1);
	ck_assert_uint_eq(snap_nth_parent(&t, TOP - 10, 9), TOP - 1);
	ck_assert_uint_eq(snap_tree_oldest_subvol(&t, TOP - 1), 2);
	ck_assert_uint_eq(snap_tree_oldest_subvol(&t, TOP - 2), 3);
	ck_assert_uint_eq(snap_tree_oldest_subvol(&t, TOP), 1);
	t.n[0].is_subvol = false;
	ck_assert_uint_eq(snap_tree_oldest_subvol(&t, TOP - 1), 3);
	free(t.n);
}
END_TEST

/* A parent pointer that does not go up (damage) ends the walks. */
START_TEST(test_damaged)
{
	struct bch_snapshot_table t = table();

	t.n[5].parent = TOP - 10;	/* TOP - 3 points down to its own child */
	ck_assert(!snap_is_ancestor(&t, TOP - 10, TOP - 1));
	ck_assert_uint_eq(snap_root(&t, TOP - 10), TOP - 3);
	ck_assert_uint_eq(snap_nth_parent(&t, TOP - 10, 5), TOP - 3);
	free(t.n);
}
END_TEST

START_TEST(test_skip_sort_and_ids)
{
	struct bch_snapshot v = { .skip = { cpu_to_le32(9), cpu_to_le32(3), cpu_to_le32(5) } };
	struct snap_ids l = { 0 };

	snap_skip_sort(&v);
	ck_assert_uint_eq(le32_to_cpu(v.skip[0]), 3);
	ck_assert_uint_eq(le32_to_cpu(v.skip[1]), 5);
	ck_assert_uint_eq(le32_to_cpu(v.skip[2]), 9);
	for (u32 i = 0; i < 100; i++)
		ck_assert_int_eq(snap_ids_add(NULL, &l, i * 3), 0);
	ck_assert_uint_eq(l.nr, 100);
	ck_assert(snap_ids_has(&l, 297));
	ck_assert(!snap_ids_has(&l, 298));
	snap_ids_exit(&l);
	ck_assert_uint_eq(l.nr, 0);
	ck_assert_ptr_null(l.d);
}
END_TEST

/*
 * The inode table's search (a guess from the spread of the numbers, a
 * widening window, a binary search) finds each number's first version,
 * as a plain scan does: tables with runs of versions, gaps, clusters.
 */
START_TEST(test_itab_find)
{
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (unsigned round = 0; round < 200; round++) {
		struct ns_itab t = { 0 };
		u64 inum = 4096 + rng() % 64;

		t.nr = 1 + rng() % 300;
		t.d = calloc(t.nr, sizeof(*t.d));
		ck_assert_ptr_nonnull(t.d);
		for (size_t i = 0; i < t.nr; i++) {
			/* mostly consecutive, some repeated (versions), a few big jumps */
			unsigned r = rng() % 16;

			inum += r < 5 ? 0 : r < 14 ? 1 : 1 + rng() % 100000;
			t.d[i].inum = inum;
			t.d[i].snapshot = (u32)i;
		}
		for (unsigned q = 0; q < 400; q++) {
			u64 want = t.d[0].inum - 2 + rng() % (t.d[t.nr - 1].inum - t.d[0].inum + 5);
			size_t i = 0;
			struct ns_inode *got = ns_itab_find(&t, want);

			while (i < t.nr && t.d[i].inum < want)
				i++;
			if (i < t.nr && t.d[i].inum == want)
				ck_assert_ptr_eq(got, &t.d[i]);
			else
				ck_assert_ptr_null(got);
		}
		free(t.d);
	}
}
END_TEST

static Suite *snap_common_suite(void)
{
	Suite *s = suite_create("snap_common");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_walks);
	tcase_add_test(tc, test_damaged);
	tcase_add_test(tc, test_skip_sort_and_ids);
	tcase_add_test(tc, test_itab_find);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(snap_common_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

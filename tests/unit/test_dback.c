/* Unit tests for fsck's table of dirents by target inode: the in-place radix sort and the merge lookup. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fsck/dback.h"
#include "unit_rng.h"

static int full_cmp(const void *a, const void *b)
{
	const struct bch_dback *x = a, *y = b;

	if (x->inum != y->inum)
		return x->inum < y->inum ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->snapshot < y->snapshot ? -1 : x->snapshot > y->snapshot;
}

/* inode numbers as filesystems have them: dense, sharded by cpu in the high bits, any */
static u64 inum_of(unsigned kind, size_t i)
{
	switch (kind) {
	case 0:
		return 4096 + rng() % (i + 1);			/* dense, with hard links */
	case 1:
		return ((rng() % 4) << 60) | (4096 + rng() % 100000);
	case 2:
		return rng();
	case 3:
		return 77;					/* one inode only */
	case 4:
		return 4096 + (rng() % 3) * 256 + (rng() & 0xff);	/* differ in 10 bits */
	default:
		return 4096 | (rng() & 1);				/* in the lowest bit only */
	}
}

static struct bch_dback_tab fill(unsigned kind, size_t n)
{
	struct bch_dback_tab t = { 0 };
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = bch_dback_add(&t, inum_of(kind, i), SPOS(rng() % 50, rng(), (u32)rng() | 1));
	ck_assert_int_eq(ret, 0);
	return t;
}

START_TEST(test_sort)
{
	static const size_t sizes[] = { 0, 1, 2, 31, 32, 33, 300, 5000, 70000 };

	rng_state = 0x5eed;
	for (unsigned kind = 0; kind < 6; kind++)
		for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct bch_dback_tab t = fill(kind, sizes[s]);
			struct bch_dback *want = malloc((t.nr + 1) * sizeof(*want));
			size_t disorder = 0;

			ck_assert_ptr_nonnull(want);
			if (t.nr) {	/* an empty table has no array */
				memcpy(want, t.d, t.nr * sizeof(*want));
				qsort(want, t.nr, sizeof(*want), full_cmp);
			}
			bch_dback_sort(&t);
			for (size_t i = 1; i < t.nr; i++)
				disorder += t.d[i - 1].inum > t.d[i].inum;
			ck_assert_msg(!disorder, "kind %u, %zu entries: %zu out of order", kind, t.nr, disorder);
			/* the same entries: sorted fully, the two agree */
			if (t.nr)
				qsort(t.d, t.nr, sizeof(*t.d), full_cmp);
			ck_assert_msg(!t.nr || !memcmp(t.d, want, t.nr * sizeof(*want)),
				      "kind %u, %zu entries: entries lost or changed", kind, t.nr);
			free(want);
			bch_dback_exit(&t);
		}
}
END_TEST

START_TEST(test_find)
{
	rng_state = 0xd1e;
	for (unsigned kind = 0; kind < 6; kind++) {
		/* one inode's entries are scanned for each: fewer when they are all one inode's */
		struct bch_dback_tab t = fill(kind, kind == 3 || kind == 5 ? 500 : 20000);
		struct bch_dback *e;

		bch_dback_sort(&t);
		e = malloc(t.nr * sizeof(*e));
		ck_assert_ptr_nonnull(e);
		memcpy(e, t.d, t.nr * sizeof(*e));
		/* in inode order (the merge), then in random order (binary searches) */
		for (unsigned pass = 0; pass < 2; pass++) {
			size_t missed = 0, wrong = 0;

			for (size_t j = 0; j < t.nr; j++) {
				const struct bch_dback *x = &e[pass ? rng() % t.nr : j];
				struct bpos p = SPOS(x->dir, x->offset, x->snapshot);

				missed += !bch_dback_find(&t, x->inum, p);
				/* positions are unique: any field off finds nothing */
				wrong += bch_dback_find(&t, x->inum, SPOS(p.inode + 50, p.offset, p.snapshot));
				wrong += bch_dback_find(&t, x->inum, SPOS(p.inode, p.offset + 1, p.snapshot));
				wrong += bch_dback_find(&t, x->inum, SPOS(p.inode, p.offset, p.snapshot - 1));
				wrong += kind != 3 && bch_dback_find(&t, x->inum ^ (1ULL << 63), p);
			}
			/* one assertion per pass: Check records every assertion it passes */
			ck_assert_msg(!missed && !wrong, "kind %u pass %u: %zu entries not found, %zu found wrongly",
				      kind, pass, missed, wrong);
		}
		ck_assert(!bch_dback_find(&t, 1, SPOS(0, 0, 0)));
		free(e);
		bch_dback_exit(&t);
	}
}
END_TEST

static Suite *dback_suite(void)
{
	Suite *s = suite_create("dback");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sort);
	tcase_add_test(tc, test_find);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dback_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Times (CPU) the overlay index: inserts (random, sequential), lookups, a full walk, replaces, drops, and a btree iterator over it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "btree/cache.h"
#include "btree/iter.h"
#include "btree/overlay.h"

#define RUNS	3

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static u64 rng_state = 88172645463325252ULL;

static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* 40 bytes: a bare struct bkey (BKEY_U64s), the size of many small keys. */
static void key_at(struct bkey_i *k, struct bpos p)
{
	memset(k, 0, sizeof(k->k));
	k->k.u64s = BKEY_U64s;
	k->k.type = KEY_TYPE_deleted;
	k->k.p = p;
}

static struct bpos *positions(size_t nr, bool sequential)
{
	struct bpos *p = malloc(nr * sizeof(*p));

	for (size_t i = 0; i < nr; i++)
		p[i] = sequential ? SPOS(i / 1000 + 1, i % 1000, ~0U)
				  : SPOS(rng() % 100000, rng(), ~0U);
	return p;
}

struct result {
	double insert, get, walk, replace, drop;
	size_t bytes, nr;
};

static void run(const struct bpos *pos, size_t nr, bool by_ref, struct bkey_i *keys,
		struct result *r)
{
	struct bch_overlay *ov = bch_overlay_new();
	struct bkey_i k;
	double t;

	t = now();
	for (size_t i = 0; i < nr; i++) {
		if (by_ref) {
			key_at(&keys[i], pos[i]);
			bch_overlay_insert_ref(ov, BTREE_ID_extents, 0, &keys[i], 1 + i / 4096);
		} else {
			key_at(&k, pos[i]);
			bch_overlay_insert(ov, BTREE_ID_extents, 0, &k, 1 + i / 4096);
		}
	}
	r->insert = now() - t;
	r->bytes = bch_overlay_bytes(ov);
	r->nr = bch_overlay_nr_total(ov);

	size_t found = 0;

	t = now();
	for (size_t i = 0; i < nr; i++)
		found += bch_overlay_get(ov, BTREE_ID_extents, 0, pos[(i * 7919) % nr]) != NULL;
	r->get = now() - t;

	struct bch_overlay_iter it = { 0 };
	size_t walked = 0;

	t = now();
	bch_overlay_iter_seek(&it, ov, BTREE_ID_extents, 0, POS_MIN);
	while (bch_overlay_iter_peek(&it)) {
		walked++;
		bch_overlay_iter_next(&it);
	}
	r->walk = now() - t;

	t = now();
	for (size_t i = 0; i < nr; i++) {
		key_at(&k, pos[i]);
		bch_overlay_insert(ov, BTREE_ID_extents, 0, &k, 1 + i / 4096);
	}
	r->replace = now() - t;

	t = now();
	bch_overlay_drop(ov, BTREE_ID_extents, 0, POS_MIN, SPOS_MAX);
	r->drop = now() - t;

	if (found != nr || walked != r->nr || bch_overlay_nr_total(ov))
		fprintf(stderr, "bench/overlay: inconsistent counts\n");
	bch_overlay_free(ov);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(*v), cmp_double);
	return v[RUNS / 2];
}

static void bench(const char *name, size_t nr, bool sequential, bool by_ref)
{
	struct bpos *pos = positions(nr, sequential);
	struct bkey_i *keys = by_ref ? malloc(nr * sizeof(struct bkey)) : NULL;
	double ins[RUNS], get[RUNS], walk[RUNS], rep[RUNS], drop[RUNS];
	struct result r;

	for (unsigned i = 0; i < RUNS; i++) {
		run(pos, nr, by_ref, keys, &r);
		ins[i] = r.insert;
		get[i] = r.get;
		walk[i] = r.walk;
		rep[i] = r.replace;
		drop[i] = r.drop;
	}
	printf("%-22s %8zu keys: insert %.3f s, get %.3f s, walk %.3f s, replace %.3f s, drop %.3f s, %zu MB\n",
	       name, r.nr, median(ins), median(get), median(walk), median(rep), median(drop),
	       r.bytes >> 20);
	free(keys);
	free(pos);
}

/* The btree iterator over an overlay of nr keys and no nodes (a btree with no root). */
static void bench_iter(size_t nr)
{
	double t[RUNS];
	size_t seen = 0;

	for (unsigned r = 0; r < RUNS; r++) {
		struct bch_fs *c = calloc(1, sizeof(*c));
		struct btree_iter it;
		struct bkey_s_c k;
		struct bkey_i key;

		c->overlay = bch_overlay_new();
		for (size_t i = 0; i < nr; i++) {
			key_at(&key, SPOS(i / 1000 + 1, i % 1000, ~0U));
			key.k.type = KEY_TYPE_cookie;
			bch_overlay_insert(c->overlay, BTREE_ID_xattrs, 0, &key, 1);
		}
		t[r] = now();
		seen = 0;
		bch_btree_iter_init(&it, c, BTREE_ID_xattrs, POS_MIN, 0);
		while (bch_btree_iter_peek(&it, &k) > 0) {
			seen++;
			bch_btree_iter_advance(&it);
		}
		t[r] = now() - t[r];
		bch_btree_iter_exit(&it);
		bch_btree_cache_exit(c);
		bch_overlay_free(c->overlay);
		free(c);
	}
	printf("%-22s %8zu keys: %.3f s\n", "btree iterator", seen, median(t));
}

int main(int argc, char **argv)
{
	size_t nr = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;

	printf("overlay index, 40-byte keys, CPU time, median of %u runs\n", RUNS);
	bench("random", nr, false, false);
	bench("sequential", nr, true, false);
	bench("random, borrowed", nr, false, true);
	bench("sequential, borrowed", nr, true, true);
	bench_iter(nr);
	return 0;
}

/* Test helper: two names with the same dirent hash in a directory (crc32c directories have 32-bit hashes, so 2^18 candidates hold a pair). */
#ifndef BCH_TESTS_COLLIDE_H
#define BCH_TESTS_COLLIDE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs/dirent_ops.h"

/* 12 letters and digits from i (CRCs are linear: names differing in a few bytes never collide). */
static inline void collide_name_of(u32 i, char *n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	u64 z = (i + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	for (unsigned j = 0; j < 12; j++, z = z / 62 + (z % 62) * 0x2545f4914f6cdd1dULL)
		n[j] = set[z % 62];
	n[12] = 0;
}

struct collide_hashed {
	u64 h;
	u32 i;
};

static inline int collide_cmp(const void *x, const void *y)
{
	const struct collide_hashed *p = x, *q = y;

	return p->h < q->h ? -1 : p->h > q->h;
}

/* a and b (16 bytes each): two names of one hash in directory d; false if none found. */
static inline bool collide_names(const struct bch_inode_unpacked *d, char *a, char *b)
{
	enum { NR = 1 << 18 };
	struct collide_hashed *v = calloc(NR, sizeof(*v));
	bool found = false;
	char n[16];

	if (!v)
		return false;
	for (u32 i = 0; i < NR; i++) {
		collide_name_of(i, n);
		v[i] = (struct collide_hashed) { bch_dirent_name_hash(d, n, strlen(n)), i };
	}
	qsort(v, NR, sizeof(*v), collide_cmp);
	for (u32 i = 1; i < NR && !found; i++)
		if (v[i].h == v[i - 1].h) {
			collide_name_of(v[i - 1].i, a);
			collide_name_of(v[i].i, b);
			found = true;
		}
	free(v);
	return found;
}

#endif

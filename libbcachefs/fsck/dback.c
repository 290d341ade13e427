/* The dirents by the inode they point to: filled in key order, radix-sorted in place, walked in inode order. */
#include <stdlib.h>
#include <string.h>

#include "fsck/dback.h"
#include "util/grow.h"

int bch_dback_add(struct bch_dback_tab *t, u64 inum, struct bpos pos)
{
	int ret = bch_grow(&t->d, &t->size, t->nr, 1024);

	if (!ret)
		t->d[t->nr++] = (struct bch_dback) {
			.inum = inum, .dir = pos.inode, .offset = pos.offset, .snapshot = pos.snapshot,
		};
	return ret;
}

/*
 * An MSD radix sort, 8 bits a level from the highest bit in which any two
 * entries differ, buckets of 32 or less by insertion: in place, so the
 * table never needs a second copy.  shift < 0 at the last level when the
 * differing bits are not a multiple of 8: the digit is the low bits, moved up.
 */
static inline unsigned digit(u64 inum, int shift)
{
	return (shift >= 0 ? inum >> shift : inum << -shift) & 0xff;
}

static void sort_level(struct bch_dback *d, size_t n, int shift)
{
	size_t next[256], end[256], sum = 0;

	if (shift <= -8)
		return;			/* no differing bit left: the inums are equal */
	if (n <= 32) {
		for (size_t i = 1; i < n; i++) {
			struct bch_dback x = d[i];
			size_t j = i;

			for (; j && d[j - 1].inum > x.inum; j--)
				d[j] = d[j - 1];
			d[j] = x;
		}
		return;
	}
	memset(end, 0, sizeof(end));
	for (size_t i = 0; i < n; i++)
		end[digit(d[i].inum, shift)]++;
	for (unsigned b = 0; b < 256; b++) {
		next[b] = sum;
		sum += end[b];
		end[b] = sum;
	}
	/* an entry out of place is carried to its bucket, and the one there onward */
	for (unsigned b = 0; b < 256; b++)
		while (next[b] < end[b]) {
			struct bch_dback x = d[next[b]];
			unsigned to;

			while ((to = digit(x.inum, shift)) != b) {
				struct bch_dback y = d[next[to]];

				d[next[to]++] = x;
				x = y;
			}
			d[next[b]++] = x;
		}
	for (unsigned b = 0; b < 256; b++) {
		size_t start = b ? end[b - 1] : 0;

		if (end[b] - start > 1)
			sort_level(d + start, end[b] - start, shift - 8);
	}
}

void bch_dback_sort(struct bch_dback_tab *t)
{
	u64 differ = 0;

	for (size_t i = 1; i < t->nr; i++)
		differ |= t->d[i].inum ^ t->d[0].inum;
	if (differ)
		sort_level(t->d, t->nr, 64 - __builtin_clzll(differ) - 8);
	t->cur = 0;
}

bool bch_dback_find(struct bch_dback_tab *t, u64 inum, struct bpos pos)
{
	size_t i = t->cur;

	/* the cursor is past inum's entries, or not just before them: search */
	if ((i < t->nr && t->d[i].inum > inum) || (i && t->d[i - 1].inum >= inum)) {
		size_t l = 0, r = t->nr;

		while (l < r) {
			size_t m = l + (r - l) / 2;

			if (t->d[m].inum < inum)
				l = m + 1;
			else
				r = m;
		}
		i = l;
	} else {
		while (i < t->nr && t->d[i].inum < inum)
			i++;
	}
	t->cur = i;
	for (; i < t->nr && t->d[i].inum == inum; i++)
		if (t->d[i].dir == pos.inode && t->d[i].offset == pos.offset &&
		    t->d[i].snapshot == pos.snapshot)
			return true;
	return false;
}

void bch_dback_exit(struct bch_dback_tab *t)
{
	free(t->d);
	memset(t, 0, sizeof(*t));
}

/* Choosing the packed key format of a new btree node from the range and keys it will hold. */
#ifndef BCH_BKEY_FORMAT_CALC_H
#define BCH_BKEY_FORMAT_CALC_H

#include "bkey/bkey.h"

/*
 * Running bounds of every key field over what a node will hold: feed it
 * the node's min_key and max_key and each of its live keys (in any order),
 * then ask for the format.  The result is the format the kernel picks for
 * a node it builds from the same input (a split half, a merge, a rewrite,
 * a new root): each field stored as its distance from the smallest value,
 * in as few bits as the spread needs, the size field with headroom for
 * extents to grow, and fields widened to whole bytes while that costs no
 * extra word per key.
 */
struct bch_format_calc {
	u64 lo[BKEY_NR_FIELDS];
	u64 hi[BKEY_NR_FIELDS];
};

void bch_format_calc_init(struct bch_format_calc *);
/* The node's bounds: only the position fields. */
void bch_format_calc_add_pos(struct bch_format_calc *, struct bpos);
/* A key: position, size and version.  Deleted keys are not to be added. */
void bch_format_calc_add_key(struct bch_format_calc *, const struct bkey *);
struct bkey_format bch_format_calc_done(const struct bch_format_calc *);

/* All of the above for a node covering min..max holding keys[0..nr). */
struct bkey_format bch_format_calc_node(struct bpos min_key, struct bpos max_key,
					const struct bkey *keys, size_t nr);

#endif

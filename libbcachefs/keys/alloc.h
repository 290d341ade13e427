/* Bucket state keys: alloc (every version), bucket gens, lru and backpointers. */
#ifndef BCH_KEYS_ALLOC_H
#define BCH_KEYS_ALLOC_H

#include "keys/key_types.h"

/*
 * Any alloc key as an alloc_v4: older versions are converted field by
 * field, v4 keys are copied with their inline backpointers dropped.  The
 * result always has backpointers_start = BCH_ALLOC_V4_U64s.
 */
void bch_alloc_to_v4(struct bkey_s_c, struct bch_alloc_v4 *out);

static inline bool bkey_is_alloc(const struct bkey *k)
{
	return k->type == KEY_TYPE_alloc || k->type == KEY_TYPE_alloc_v2 ||
	       k->type == KEY_TYPE_alloc_v3 || k->type == KEY_TYPE_alloc_v4;
}

/* The data type an alloc key's counters imply (what the kernel stores). */
enum bch_data_type bch_alloc_data_type(const struct bch_alloc_v4 *, enum bch_data_type);

/* The gc generation distance past which a bucket needs a gc pass. */
#define BUCKET_GC_GEN_MAX	96U

/* Backpointer keys: sector in the device << 10 | sub-sector index. */
#define BP_SECTOR_SHIFT		MAX_EXTENT_COMPRESS_RATIO_SHIFT

/* The 40-bit bucket_offset of a backpointer. */
static inline u64 bch_backpointer_bucket_offset(const struct bch_backpointer *bp)
{
	u64 v = 0;

	for (unsigned i = 0; i < 5; i++)
		v |= (u64)bp->bucket_offset[i] << (8 * i);
	return v;
}

/* lru keys: the lru id in the top 16 bits of p.inode, the time below. */
static inline u64 bch_lru_pos_time(struct bpos p)
{
	return p.inode & LRU_TIME_MAX;
}

#endif

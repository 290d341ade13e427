/* What a key implies for the derived metadata (bucket usage, backpointers, accounting, alloc indexes): pure functions, no I/O. */
#ifndef BCH_ALLOC_DERIVE_H
#define BCH_ALLOC_DERIVE_H

#include "core/fs_types.h"
#include "keys/alloc.h"
#include "keys/extents.h"

/*
 * These functions say what the kernel's triggers keep in step with a key
 * when it is inserted: the bucket sectors and backpointer of each pointer,
 * the accounting counters it adds to, and for an alloc key the entries of
 * the freespace, need_discard, lru and bucket_gens btrees.  Removing a key
 * undoes exactly what inserting it did (negate the accounting deltas).
 * Nothing here reads a device or allocates; results go into the caller's
 * buffers.  The filesystem handle is only read: superblock members, btree
 * node size, disk groups, and the bucket generations loaded at open.
 *
 * `level` is the level the kernel's trigger sees: 0 for leaf keys, the
 * level of the interior node holding a node pointer, and root level + 1
 * for a btree root.  Backpointers of node pointers carry this level.
 */

/* How a pointer's generation compares with its bucket's. */
enum bch_ptr_gen_state {
	BCH_PTR_GEN_OK,
	BCH_PTR_GEN_STALE,	/* bucket reused since: a cached pointer counts for nothing */
	BCH_PTR_GEN_TOO_STALE,	/* more than BUCKET_GC_GEN_MAX generations behind */
	BCH_PTR_GEN_NEWER,	/* newer than its bucket: damage */
};

/* One pointer of a key and what it adds to its bucket. */
struct bch_ptr_derived {
	struct extent_ptr_decoded p;
	u8 dev;
	bool dev_exists;	/* a member; the bucket fields are set only then */
	bool bucket_valid;	/* in [first_bucket, nbuckets) */
	u64 bucket;
	u32 bucket_offset;	/* sectors into the bucket */
	/* on-disk sectors: the node size for node pointers, else the key's
	 * size scaled by the compression ratio, rounded up */
	u32 sectors;
	enum bch_data_type data_type;	/* btree, user, or stripe (erasure coded) */
	enum bch_ptr_gen_state gen_state;	/* OK when the bucket's gen is unknown */
	u8 bucket_gen;
	/* false for a stale cached pointer: no sectors, no accounting */
	bool counts;
	/* exactly one of these is the pointer's sectors when it counts */
	u32 dirty_sectors, cached_sectors, stripe_sectors;
	/* the backpointer: dirty pointers to an existing device only */
	bool has_bp;
	struct bpos bp_pos;
	struct bch_backpointer bp;
};

/*
 * The pointers of a key that has any (extent, reflink_v, btree_ptr,
 * btree_ptr_v2), at most BCH_BKEY_PTRS_MAX, in order; returns how many.
 * Stripe keys are not handled here (0): erasure coding marks buckets
 * through the stripe, not through pointers.
 */
unsigned bch_key_ptrs_derive(const struct bch_fs *, enum btree_id, unsigned level,
			     struct bkey_s_c, struct bch_ptr_derived out[BCH_BKEY_PTRS_MAX]);

/*
 * Judges a derived pointer against bucket generation gen instead of the
 * one loaded at open: the kernel's triggers and gc compare with the alloc
 * key's generation.  Updates gen_state, counts and the sector counters.
 */
void bch_ptr_derived_judge_gen(struct bch_ptr_derived *, u8 bucket_gen);

/* The backpointer key position of a device sector: sector << 10 | sub-sector index. */
static inline struct bpos bch_bp_pos(unsigned dev, u64 sector, unsigned sub_sector)
{
	return POS(dev, (sector << BP_SECTOR_SHIFT) + sub_sector);
}

/*
 * Whether a member's btree_allocated_bitmap covers sectors [start, start +
 * sectors): each bit stands for 2^btree_bitmap_shift sectors that may hold
 * btree nodes, and every node pointer must land on set bits.
 */
bool bch_member_btree_bitmap_covers(const struct bch_member_cpu *, u64 start, unsigned sectors);

/* ---- accounting ---- */

/* One counter update: the counter's position and up to three deltas. */
struct bch_acc_delta {
	struct disk_accounting_pos pos;
	unsigned nr;
	s64 d[BCH_ACCOUNTING_MAX_COUNTERS];
};

/*
 * Enough for any key: replicas, snapshot, btree or inum, rebalance, one
 * cached-replicas and one compression entry per pointer.
 */
#define BCH_ACC_DELTAS_MAX	(2 * BCH_BKEY_PTRS_MAX + 6)

struct bch_acc_deltas {
	unsigned nr;
	struct bch_acc_delta d[BCH_ACC_DELTAS_MAX];
};

/*
 * The accounting deltas inserting k adds (replicas with sorted devices,
 * cached replicas, compression, snapshot, btree or inum, rebalance_work,
 * persistent_reserved, nr_inodes), appended to *out in the kernel's order;
 * one position may appear more than once.
 */
void bch_key_accounting(const struct bch_fs *, enum btree_id, unsigned level,
			struct bkey_s_c, struct bch_acc_deltas *out);

/* The same from pointers already derived by bch_key_ptrs_derive(). */
void bch_key_accounting_ptrs(const struct bch_fs *, enum btree_id, unsigned level,
			     struct bkey_s_c, const struct bch_ptr_derived *ptrs,
			     unsigned nr_ptrs, struct bch_acc_deltas *out);

/*
 * Sectors of k that rebalance still has to move or recompress, per its
 * rebalance entry (0 without one).  A key with a nonzero count has a `set`
 * key at its position in the rebalance_work btree.
 */
u64 bch_key_sectors_need_rebalance(const struct bch_fs *, struct bkey_s_c);

/* ---- alloc keys ---- */

/* lru keys: lru id and time in p.inode, (dev << 48 | bucket) in p.offset. */
static inline struct bpos bch_lru_pos(u16 lru_id, unsigned dev, u64 bucket, u64 time)
{
	return POS(((u64)lru_id << LRU_TIME_BITS) | (time & LRU_TIME_MAX),
		   ((u64)dev << 48) | bucket);
}

/* What the alloc trigger keeps for one bucket in the index btrees. */
struct bch_alloc_derived {
	enum bch_data_type data_type;
	bool need_discard;		/* need_discard: `set` at dev:bucket */
	bool free;			/* freespace: `set` of size 1 ending at freespace_pos */
	struct bpos freespace_pos;	/* dev : bucket | genbits << 56, plus one */
	u64 genbits;			/* ((gen - oldest_gen) >> 4) << 56 */
	u64 lru_read_time;		/* cached buckets: read lru (id = dev); 0 = none */
	u64 lru_frag_time;		/* movable partly used buckets: id 0xffff; 0 = none */
	struct bpos gens_pos;		/* bucket_gens key holding this bucket's gen */
	unsigned gens_offset;
	u8 gen;
};

#define BCH_LRU_READ_ID(dev)	(dev)
#define BCH_LRU_FRAG_ID		BCH_LRU_FRAGMENTATION_START

void bch_alloc_derive(const struct bch_member_cpu *, struct bpos bucket,
		      const struct bch_alloc_v4 *, struct bch_alloc_derived *out);

/* Sectors a bucket counts as used: cached sectors for a cached bucket, else dirty + stripe. */
s64 bch_alloc_sectors(const struct bch_alloc_v4 *);
/* Bucket size minus used sectors, for a bucket holding any. */
s64 bch_alloc_sectors_fragmented(const struct bch_member_cpu *, const struct bch_alloc_v4 *);

/*
 * What one bucket counts in the dev_data_type accounting (buckets,
 * sectors, fragmented for its data type, and the unstriped counter):
 * the counters are these summed over the device's buckets.
 */
void bch_alloc_dev_accounting(const struct bch_member_cpu *, unsigned dev,
			      const struct bch_alloc_v4 *, struct bch_acc_deltas *out);

/* ---- superblock and journal buckets ---- */

/* Called once per bucket: its data type (sb or journal) and sectors used. */
typedef int (*bch_meta_bucket_fn)(void *ctx, u64 bucket, enum bch_data_type, unsigned sectors);

/*
 * The buckets a device's superblock copies (with the zeroed sectors before
 * the first) and journal buckets occupy, as the kernel marks them: one call
 * per run of sb sectors in one bucket, one per journal bucket (the whole
 * bucket).  Buckets past the device's end are skipped.  Stops at the first
 * nonzero return of fn and returns it.
 */
int bch_dev_metadata_buckets(const struct bch_sb_layout *, const struct bch_member_cpu *,
			     const u64 *journal_buckets, unsigned nr_journal_buckets,
			     bch_meta_bucket_fn fn, void *ctx);

#endif

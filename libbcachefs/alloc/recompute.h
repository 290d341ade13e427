/* Recomputing a filesystem's derived metadata from its keys and comparing it with what is stored. */
#ifndef BCH_ALLOC_RECOMPUTE_H
#define BCH_ALLOC_RECOMPUTE_H

#include "core/fs_types.h"

/*
 * What is compared, one kind per stored structure; x(name, what).
 * The name starts each line describing a difference.
 */
#define BCH_RECOMPUTE_KINDS()							\
	x(ptr,		"pointers, superblock and journal buckets that cannot be counted: missing device, invalid bucket, wrong generation, data types mixed in a bucket, sectors past the bucket size") \
	x(alloc,	"alloc keys against the sectors every pointer, superblock and journal bucket adds") \
	x(backpointers,	"the backpointers btree against the dirty pointers of every key and node") \
	x(accounting,	"accounting counters against the sums over every key and bucket") \
	x(need_discard,	"the need_discard btree against the alloc keys") \
	x(freespace,	"the freespace btree against the alloc keys") \
	x(lru,		"the read and fragmentation lrus against the alloc keys") \
	x(bucket_gens,	"the bucket_gens btree against the alloc keys' generations") \
	x(rebalance_work, "the rebalance_work btree against the extents rebalance has work for") \
	x(btree_bitmap,	"each member's btree_allocated_bitmap against where node pointers point")

enum bch_recompute_kind {
#define x(name, what) BCH_RECOMPUTE_##name,
	BCH_RECOMPUTE_KINDS()
#undef x
	BCH_RECOMPUTE_NR
};

extern const char * const bch_recompute_kind_names[];
extern const char * const bch_recompute_kind_what[];

struct bch_recompute_opts {
	/* lines described per kind; past that differences are only counted (0: all) */
	unsigned max_reports;
};

struct bch_recompute_result {
	u64 keys;		/* keys walked that add to derived metadata */
	u64 ptrs;		/* pointers counted */
	u64 buckets;		/* buckets compared */
	u64 backpointers;	/* backpointer keys read */
	u64 accounting;		/* accounting positions compared */
	u64 nr[BCH_RECOMPUTE_NR];	/* differences by kind */
	u64 total;
};

/*
 * Walks every btree of c (as the journal overlay shows it: an unclean
 * filesystem is seen as after replay), recomputes bucket usage,
 * backpointers and accounting, and compares them and the alloc keys'
 * indexes (freespace, need_discard, lru, bucket_gens) and rebalance_work
 * with what is stored.  Each difference is one line in out: kind, where
 * (device:bucket, btree position or accounting counter), the field,
 * expected and found.  Lines starting "note:" say what was not compared
 * and why.  Memory grows with the number of buckets, accounting counters
 * and the differences found, not with the number of keys.
 * Returns 0 (differences or not) or a negative error when a btree cannot
 * be read (the reason in out).
 */
int bch_recompute(struct bch_fs *, const struct bch_recompute_opts *, struct printbuf *out,
		  struct bch_recompute_result *);

/* "keys N ptrs N ... differences N (alloc N, ...)" */
void bch_recompute_result_to_text(struct printbuf *, const struct bch_recompute_result *);

#endif

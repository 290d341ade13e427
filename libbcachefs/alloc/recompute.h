/* Recomputing a filesystem's derived metadata from its keys and comparing it with what is stored. */
#ifndef BCH_ALLOC_RECOMPUTE_H
#define BCH_ALLOC_RECOMPUTE_H

#include "core/fs_types.h"
#include "keys/accounting.h"

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
	x(btree_bitmap,	"each member's btree_allocated_bitmap against where node pointers point") \
	x(reflink,	"the refcounts of indirect extents against the reflink pointers to them, and pointers to missing ones") \
	x(key_version,	"key versions against the newest the clean section or the journal records")

enum bch_recompute_kind {
#define x(name, what) BCH_RECOMPUTE_##name,
	BCH_RECOMPUTE_KINDS()
#undef x
	BCH_RECOMPUTE_NR
};

extern const char * const bch_recompute_kind_names[];
extern const char * const bch_recompute_kind_what[];

/* What a difference is, for a caller that repairs it (fsck). */
enum bch_recompute_what {
	BCH_RC_other,		/* only described */
	BCH_RC_ptr,		/* a pointer that cannot be counted: ptr_problem */
	BCH_RC_alloc_field,	/* field of dev:bucket differs; want is the corrected key */
	BCH_RC_alloc_read_time,	/* cached bucket with read time 0 */
	BCH_RC_alloc_bad_bucket, /* alloc key at pos for no member's bucket */
	BCH_RC_index_missing,	/* btree (need_discard, freespace, lru) lacks the entry at pos
				   (freespace: buckets bucket..bucket_end, ending at pos) */
	BCH_RC_index_extra,	/* btree has an entry at pos it should not (freespace: one slot) */
	BCH_RC_index_bad_bucket, /* entry at pos for no member's bucket */
	BCH_RC_gen,		/* bucket_gens: gen of dev:bucket should be want_gen */
	BCH_RC_gens_bad_bucket,	/* bucket_gens key at pos for no member's buckets */
	BCH_RC_bp_missing,	/* backpointer bp at pos missing */
	BCH_RC_bp_extra,	/* backpointer bp at pos no pointer has */
	BCH_RC_bp_differ,	/* at pos: bp expected, found_bp found */
	BCH_RC_bp_bad_bucket,	/* backpointer at pos for no member's bucket */
	BCH_RC_accounting,	/* counter at pos: want, found (nr each) */
	BCH_RC_btree_bitmap,	/* node pointer not in the member's btree bitmap: dev, sectors start..+size */
	BCH_RC_reflink_refcount, /* indirect extent at pos: refcount found, want (0: unreferenced) */
	BCH_RC_reflink_missing,	/* reflink pointer at pos (extents): no indirect extent at start..end */
	BCH_RC_key_version,	/* key at btree:pos has version, newer than recorded */
};

enum bch_rc_ptr_problem {
	BCH_RC_PTR_bad_dev,
	BCH_RC_PTR_bad_bucket,
	BCH_RC_PTR_gen_newer,
	BCH_RC_PTR_too_stale,
	BCH_RC_PTR_stale_dirty,
	BCH_RC_PTR_type_mismatch,
	BCH_RC_PTR_overflow,
	BCH_RC_PTR_meta,	/* superblock or journal bucket that cannot be marked */
	BCH_RC_PTR_missing_alloc, /* the bucket has no alloc key (the first pointer into it) */
	BCH_RC_PTR_missing_stripe, /* a stripe entry names stripe_idx, which does not exist */
};

enum bch_rc_alloc_field {
	BCH_RC_F_data_type,
	BCH_RC_F_dirty_sectors,
	BCH_RC_F_cached_sectors,
	BCH_RC_F_stripe_sectors,
	BCH_RC_F_stripe,
	BCH_RC_F_stripe_redundancy,
	BCH_RC_F_gen,
};

/* How a dirty pointer newer than its bucket is made to agree with it. */
enum bch_rc_gen_fix {
	BCH_RC_GEN_FIX_none,	/* a node pointer into a bucket other data holds */
	BCH_RC_GEN_FIX_bucket,	/* the bucket's generation moves on (an alloc_field gen finding) */
	BCH_RC_GEN_FIX_ptr,	/* the key's pointer ptr_idx takes want_gen, the bucket's */
};

struct bch_recompute_finding {
	enum bch_recompute_kind kind;
	enum bch_recompute_what what;
	const char *line;		/* the line as described (kind first, no newline) */
	unsigned sub;			/* ptr: bch_rc_ptr_problem; alloc_field: bch_rc_alloc_field */
	unsigned dev;
	u64 bucket, bucket_end;		/* bucket_end: one past the last */
	bool have_key;			/* the bucket has an alloc key (not a hole); accounting: a key */
	enum btree_id btree;
	unsigned level;			/* ptr: the level of the key holding the pointer */
	struct bpos pos;
	u32 size;			/* index_bad_bucket: the freespace key's size */
	u64 genbits;			/* freespace: generation bits of the entry (>> 56) */
	struct bch_alloc_v4 want;	/* alloc_field, alloc_read_time */
	u8 want_gen;
	struct bch_backpointer bp, found_bp;
	unsigned nr;
	s64 want_d[BCH_ACCOUNTING_MAX_COUNTERS], found_d[BCH_ACCOUNTING_MAX_COUNTERS];
	u64 start, end;			/* reflink_missing: the range of indirect extents */
	u64 refcount, found_refcount;	/* reflink_refcount */
	u64 version;			/* key_version: the key's (bversion.lo) */
	u64 stripe_idx;			/* ptr missing_stripe: the first missing stripe the key names */
	/*
	 * ptr, in a leaf: the pointers (bits by index) the kernel's gc drops
	 * from the key, which had nr_ptrs pointers (0: no rewrite repairs it)
	 */
	u32 drop;
	unsigned nr_ptrs;
	/*
	 * ptr gen_newer, and stale_dirty or too_stale of a node pointer: how
	 * it is repaired; want_gen is the generation agreed on
	 */
	enum bch_rc_gen_fix gen_fix;
	unsigned ptr_idx;
};

struct bch_recompute_opts {
	/* lines described per kind; past that differences are only counted (0: all) */
	unsigned max_reports;
	/* when set: called for every difference described, after its line */
	void (*found)(void *ctx, const struct bch_recompute_finding *);
	void *ctx;
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

/*
 * Whether no stripe key exists at idx in filesystem c (a struct bch_fs;
 * void for bch_extent_drop_stripes): a read error counts as present.
 */
bool bch_stripe_missing(void *c, u64 idx);

#endif

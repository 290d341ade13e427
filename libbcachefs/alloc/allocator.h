/* The allocator: bucket state in memory, space for btree nodes and data. */
#ifndef BCH_ALLOC_ALLOCATOR_H
#define BCH_ALLOC_ALLOCATOR_H

#include "core/fs_types.h"
#include "keys/alloc.h"
#include "keys/extents.h"
#include "util/printbuf.h"

/*
 * Per device, one small record per bucket (data type, generation, dirty
 * sectors, journal seq of its last change) loaded from the alloc btree
 * as the overlay shows it, and kept current by the alloc trigger
 * (bch_allocator_bucket_update).  The allocator never writes alloc keys
 * itself: space it hands out becomes used when the caller commits the
 * key that points to it, whose triggers update the alloc keys.
 *
 * A bucket is allocatable when its data type is free and it is neither
 * open nor changed by a journal seq newer than the newest flushed one
 * (its old contents may still be referenced by nodes on disk).
 * Buckets are taken in order from a per-device cursor, devices in turn
 * among those that allow metadata (btree nodes) or the data target.
 * Open buckets are filled sequentially: several btree nodes share a
 * bucket when the bucket is larger than a node.
 */

int bch_allocator_start(struct bch_fs *c, struct printbuf *err);
void bch_allocator_exit(struct bch_fs *c);

/*
 * Space for one btree node on metadata_replicas devices: ptrs[] get dev,
 * offset and gen of the bucket; *nr how many.  -BCH_ERR_no_space (err names the
 * devices) when not enough devices have a free bucket.  Buckets inside
 * the member's btree_allocated_bitmap are preferred (as the kernel does);
 * a node outside it gets its bits set in c's in-memory superblocks
 * (bch_allocator_btree_bitmap_mark): the superblock must be written
 * before the filesystem is left, else fsck reports btree_bitmap_not_marked.
 * Free buckets waiting only for a journal flush make it flush the journal.
 */
int bch_alloc_btree_node(struct bch_fs *c, struct bch_extent_ptr *ptrs, unsigned *nr,
			 struct printbuf *err);

/*
 * Space for user data: up to `sectors` contiguous sectors on each of
 * nr_replicas devices of the target (0: any device with data allowed);
 * *got the sectors every pointer has (<= sectors: the open bucket ran out).
 */
int bch_alloc_data(struct bch_fs *c, unsigned target, unsigned nr_replicas,
		   unsigned sectors, struct bch_extent_ptr *ptrs, unsigned *nr,
		   unsigned *got, struct printbuf *err);

/*
 * The sectors the next bch_alloc_data() with the same target and replicas
 * gives at most (its open buckets are filled first, nothing is taken):
 * data writers size compressed extents to the space at hand, as the
 * kernel sizes them to its write point.
 */
int bch_alloc_data_avail(struct bch_fs *c, unsigned target, unsigned nr_replicas,
			 unsigned *avail, struct printbuf *err);

/*
 * Called by the alloc trigger when a bucket's alloc key changes (the new
 * key, converted to v4, and the seq of the journal entry holding it).  A
 * bucket that becomes empty (free, need_discard, need_gc_gens) is not
 * reused before that seq is flushed.  Also keeps ca->bucket_gens current.
 */
void bch_allocator_bucket_update(struct bch_fs *c, unsigned dev, u64 bucket,
				 const struct bch_alloc_v4 *a, u64 journal_seq);

/* The journal is durable up to seq: buckets changed up to it may be reused. */
void bch_allocator_journal_flushed(struct bch_fs *c, u64 seq);

/*
 * The bucket is in a write point (being filled).  The alloc trigger needs
 * it: the kernel increments an emptied bucket's gen (need_inc_gen) only
 * when the bucket is not open.
 */
bool bch_allocator_bucket_is_open(const struct bch_fs *c, unsigned dev, u64 bucket);

/* Closes every open bucket (before a clean shutdown); their rest stays unused. */
void bch_allocator_close_all(struct bch_fs *c);

/*
 * Sets the btree_allocated_bitmap bits covering a btree node at each
 * pointer, in c->sb, the open devices' mi and every in-memory superblock
 * buffer, widening the bitmap's granularity as the kernel does; true if
 * anything changed (the superblock then needs writing).
 */
bool bch_allocator_btree_bitmap_mark(struct bch_fs *c, const struct bch_extent_ptr *ptrs,
				     unsigned nr);

/*
 * The kernel's discard pass without the device discard: every
 * need_discard bucket that is not open and whose emptying seq is flushed
 * gets its alloc key committed with need_discard cleared (the alloc
 * trigger then makes it free, bumping the gen if need_inc_gen is set).
 * Returns how many, or a negative error.  Never called implicitly (a
 * commit inside an allocation could land in a range being flushed): the
 * flush calls it at the start of each pass.
 */
int bch_allocator_do_discards(struct bch_fs *c, struct printbuf *err);

#endif

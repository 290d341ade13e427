/* Updates not yet written into btree nodes: a sorted index of the newest key per (btree, level, position). */
#ifndef BCH_BTREE_OVERLAY_H
#define BCH_BTREE_OVERLAY_H

#include "bkey/bkey.h"

/*
 * Every key committed (or found in the journal at recovery) lives here
 * until a flush writes it into the btree nodes.  The iterator merges it
 * over the nodes at every level (overlay wins at equal positions), so
 * the filesystem reads as if the nodes were already written.
 *
 * The index is a B+tree whose leaves are sorted blocks of up to 128
 * entries (inner nodes of 64), so inserting n keys costs O(n log n) with
 * memmoves bounded by a block, ordered loads fill blocks completely, and
 * a cursor walks the blocks in order.  Keys are copied into an arena of
 * 1 MiB chunks (no allocation per key); a chunk is freed by the first
 * drop after no entry uses it any more (replaced or dropped).
 *
 * Order: (btree_id, level, pos) with bpos_cmp (snapshot included).  One
 * entry per position: inserting at an occupied position replaces the
 * key.  A key of type deleted is an entry like any other: it masks the
 * node key at its position until the flush removes both.
 */
struct bch_overlay;

struct bch_overlay_entry {
	u8 btree_id;
	u8 level;
	u64 journal_seq;	/* of the jset holding the key; 0 = none yet */
	struct bkey_i *k;	/* in the arena, or borrowed (bch_overlay_insert_ref) */
};

struct bch_overlay *bch_overlay_new(void);
void bch_overlay_free(struct bch_overlay *);

/* Copies k in; replaces the entry at its position. 0 or -BCH_ERR_nomem. */
int bch_overlay_insert(struct bch_overlay *, enum btree_id, unsigned level,
		       const struct bkey_i *k, u64 journal_seq);
/*
 * The same without copying: k must outlive the entry (keys in jsets read
 * at recovery) and must not be memory of this overlay.
 */
int bch_overlay_insert_ref(struct bch_overlay *, enum btree_id, unsigned level,
			   struct bkey_i *k, u64 journal_seq);

/*
 * The functions that only read (get, the cursors, the sizes) take NULL
 * for an empty index.
 *
 * Lifetimes: an entry pointer (from get or peek) is valid until the next
 * insert or drop; a key copied in stays at its address, replaced or not,
 * until the next drop, so values handed out stay readable while later
 * updates are inserted.
 */

/* The entry at exactly this position, or NULL. */
const struct bch_overlay_entry *bch_overlay_get(const struct bch_overlay *, enum btree_id,
						unsigned level, struct bpos pos);

/*
 * A cursor.  It stays valid across inserts and drops (it notices the
 * index changed and finds its place again by position), so an iterator
 * may walk while a transaction commits.
 */
struct bch_overlay_iter {
	const struct bch_overlay *ov;
	u64 gen;		/* ov's change count when blk/idx were set */
	size_t blk;		/* the block (its address); 0 past the end */
	unsigned idx;
	/*
	 * Where the cursor stands, for re-finding: at the first entry >=
	 * (btree_id, level, pos), or > it when `after` (set by next).
	 */
	u8 btree_id;
	u8 level;
	bool after;
	struct bpos pos;
};

/*
 * Positions the cursor at the first entry >= (btree, level, pos); the
 * cursor's earlier contents are ignored.  ov may be NULL: an empty index.
 */
void bch_overlay_iter_seek(struct bch_overlay_iter *, const struct bch_overlay *,
			   enum btree_id, unsigned level, struct bpos pos);
/*
 * The same for a cursor that is zeroed or was set by an earlier seek:
 * O(1) when it already stands there (seeking to the position just past
 * the entry last returned, as an iterator does before every peek).
 */
void bch_overlay_iter_seek_near(struct bch_overlay_iter *, const struct bch_overlay *,
				enum btree_id, unsigned level, struct bpos pos);
/* The entry at the cursor, NULL past the last entry of the whole index. */
const struct bch_overlay_entry *bch_overlay_iter_peek(struct bch_overlay_iter *);
void bch_overlay_iter_next(struct bch_overlay_iter *);

/* Entries of (btree, level); of everything; bytes of memory in use. */
size_t bch_overlay_nr(const struct bch_overlay *, enum btree_id, unsigned level);
size_t bch_overlay_nr_total(const struct bch_overlay *);
size_t bch_overlay_bytes(const struct bch_overlay *);
/*
 * The oldest journal_seq of any entry (0 if empty or none has one); O(1).
 * Live entries' seqs must span less than 2^24 (inserts fail with nomem
 * beyond).
 */
u64 bch_overlay_oldest_seq(const struct bch_overlay *);

/* The change count: any insert or drop changes it (0 for NULL). */
u64 bch_overlay_gen(const struct bch_overlay *);
/*
 * Inserts (replacing an entry too) and drops of one btree's entries so
 * far: what was read of that btree still stands while it is unchanged.
 */
u64 bch_overlay_changes(const struct bch_overlay *, enum btree_id);

/*
 * Removes the entries of (btree, level) in [start, end] (a flush wrote
 * them).  Arena space is reclaimed once nothing of a chunk is in use.
 */
void bch_overlay_drop(struct bch_overlay *, enum btree_id, unsigned level,
		      struct bpos start, struct bpos end);

#endif

/* Transactions: a set of key updates committed together, with the triggers that keep derived metadata in step, through the journal into the overlay. */
#ifndef BCH_BTREE_TRANS_H
#define BCH_BTREE_TRANS_H

#include "core/fs_types.h"
#include "util/printbuf.h"

/*
 * Usage:
 *	struct btree_trans t;
 *	bch_trans_init(&t, c);
 *	bch_trans_update(&t, BTREE_ID_inodes, 0, k, 0);	 (any number)
 *	ret = bch_trans_commit(&t, err);
 *	bch_trans_exit(&t);
 *
 * bch_trans_update() copies the key; a later update at the same position
 * replaces an earlier one.  bch_trans_commit():
 *  1. extent btrees: an update overwriting parts of older extents of the
 *     same inode and snapshot adds the trims and splits of those extents
 *     (the keys the kernel journals).  This is done when the update is
 *     queued, against the committed keys and the transaction's earlier
 *     updates;
 *  2. triggers run for every (old, new) key pair, alloc keys last: node
 *     and extent pointers → alloc sector counts and backpointers (skipped
 *     when the pointers are unchanged, as the kernel does); alloc keys →
 *     freespace, need_discard, lru, bucket_gens, gens and journal seq,
 *     the allocator's bucket state; inodes → deleted_inodes, their
 *     journal seq; every key → its accounting deltas, which are merged per
 *     counter.  An update equal to the key it replaces is dropped, so
 *     repeated flushes converge;
 *  3. every key goes into the open journal entry (accounting as deltas,
 *     one btree_keys entry each, bversion = seq << 32 | offset),
 *     then into the overlay (accounting as the new totals).
 * The journal entry is written when full or by bch_journal_flush().  On
 * error nothing of the transaction is applied.
 *
 * Snapshots: extent overwrites consider keys of the update's own snapshot
 * only, which is exact while a filesystem has one snapshot.
 */

/* Update flags */
#define BCH_UPDATE_NO_TRIGGERS	(1U << 0)	/* the caller keeps derived metadata itself */
#define BCH_UPDATE_NO_EXTENT_OVERWRITE (1U << 1) /* the caller already trimmed what it overwrites */
/* committed even when it changes nothing: the node is written again (fsck: a node holding an invalid key) */
#define BCH_UPDATE_FORCE	(1U << 2)

struct btree_update {
	u8 btree_id;
	u8 level;
	unsigned flags;
	struct bkey_i *k;		/* in the transaction's arena */
	struct bkey_i *old;		/* the committed key (deleted if none), filled by commit */
	bool triggered;
};

struct btree_root_update {
	u8 btree_id;
	u8 level;			/* level of the new root node */
	struct bkey_i *k;		/* its pointer; NULL: the btree becomes empty */
};

struct trans_chunk;

/* Accounting deltas of a transaction, merged per counter. */
struct trans_acc {
	struct bpos pos;
	unsigned nr;
	s64 d[3];
};

struct btree_trans {
	struct bch_fs *c;
	struct trans_chunk *chunks;	/* arena of keys: freed by reset and exit */
	struct btree_update *updates;
	size_t nr_updates, size_updates;
	/* (btree, level, pos) → update index + 1, open addressing */
	u32 *hash;
	size_t hash_size;
	struct btree_root_update roots[BTREE_ID_NR_MAX];
	unsigned nr_roots;
	struct trans_acc *acc;
	size_t nr_acc, size_acc;
	const char *name;		/* journaled as the transaction's name (optional) */
	u64 seq;			/* journal seq, during commit */
	struct printbuf err;		/* why a queued update failed; commit reports it */
};

void bch_trans_init(struct btree_trans *, struct bch_fs *);
void bch_trans_exit(struct btree_trans *);
/* Forgets pending updates (after an error, or to reuse the transaction). */
void bch_trans_reset(struct btree_trans *);

/* Queues k for (btree, level): copied; a later update at the same position wins. */
int bch_trans_update(struct btree_trans *, enum btree_id, unsigned level,
		     const struct bkey_i *k, unsigned flags);
/*
 * Extent k keeps [start, where): its end (position) moves to where, inline
 * data shrinks with it; at length 0 it becomes a deleted key.
 */
void bch_extent_cut_back(struct bkey_i *k, u64 where);
/*
 * Extent k keeps [where, end): its start moves to where, its pointers,
 * checksum offsets, reflink index or inline data follow.
 */
void bch_extent_cut_front(struct bkey_i *k, u64 where);
/* Deletes the key at pos (a deleted key of size 0). */
int bch_trans_delete(struct btree_trans *, enum btree_id, unsigned level,
		     struct bpos pos, unsigned flags);

/*
 * A new root for btree id: the node at `level` that k points to.  The old
 * root's pointer and the new one go through the node pointer triggers at
 * level + 1, c->roots is updated at commit and the journal entry records
 * it.
 */
int bch_trans_set_root(struct btree_trans *, enum btree_id, unsigned level,
		       const struct bkey_i *k);

/*
 * The root of btree id forgotten, for fsck when it cannot be read: the
 * btree is empty from commit on (updates then grow a new root), no
 * trigger runs for the old pointer (what the node held is rebuilt), and
 * journal entries carry no root for it.
 */
int bch_trans_drop_root(struct btree_trans *, enum btree_id);

/*
 * Adds deltas to an accounting counter directly (counters no key's
 * trigger maintains, such as the free buckets a new device starts with).
 */
int bch_trans_accounting_add(struct btree_trans *, const struct disk_accounting_pos *,
			     const s64 *d, unsigned nr);

/*
 * The current key at exactly (btree, level, pos): the transaction's pending
 * update, else the overlay, else the nodes.  Copied into out (out_u64s
 * u64s at most): 1 found, 0 none (or deleted), negative error.
 */
int bch_trans_lookup(struct btree_trans *, enum btree_id, unsigned level,
		     struct bpos pos, struct bkey_i *out, unsigned out_u64s,
		     struct printbuf *err);

int bch_trans_commit(struct btree_trans *, struct printbuf *err);

#endif

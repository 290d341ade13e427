/* In-memory journal state after reading: the entries found and the keys to overlay. */
#ifndef BCH_JOURNAL_JOURNAL_TYPES_H
#define BCH_JOURNAL_JOURNAL_TYPES_H

#include "bcachefs/format.h"

struct jset_builder;

/* Where one copy of a journal entry was found. */
struct journal_ptr {
	u8 dev;
	u32 bucket;		/* index into the device's journal buckets */
	u32 bucket_offset;	/* sectors into that bucket */
	u64 sector;		/* absolute sector on the device */
	bool csum_good;
};

#define JOURNAL_MAX_COPIES	8

/* One journal entry (jset) read from disk, possibly found on several devices. */
struct journal_replay {
	struct journal_ptr ptrs[JOURNAL_MAX_COPIES];
	unsigned nr_ptrs;
	bool csum_good;
	bool ignore_blacklisted;	/* seq is blacklisted */
	bool ignore_not_dirty;		/* older than last_seq */
	struct jset *j;			/* owned copy, vstruct size */
};

static inline bool journal_replay_ignore(const struct journal_replay *i)
{
	return !i || i->ignore_blacklisted || i->ignore_not_dirty;
}

/*
 * A key from a btree_keys entry of the replay range, pointing into its
 * jset.  The array is sorted by (btree_id, level, pos, journal_seq,
 * journal_offset) and holds one key per position (the newest), except
 * accounting keys which are deltas and are all kept.
 */
struct journal_key {
	u64 journal_seq;
	u32 journal_offset;	/* u64s from the start of the jset's entries */
	u8 btree_id;
	u8 level;
	bool overwritten;
	bool allocated;		/* k is owned (malloc'd), not in a jset */
	struct bkey_i *k;
};

struct journal_keys {
	struct journal_key *data;
	size_t nr;
	size_t size;
};

/*
 * After an unclean shutdown, btree nodes may already name the seqs that
 * come after the newest journal entry found: the journal restarts this
 * many seqs further on, and the skipped ones are blacklisted.
 */
#define JOURNAL_SEQS_SKIPPED_UNCLEAN	8

struct journal_seq_blacklist_range {
	u64 start;		/* first blacklisted seq */
	u64 end;		/* first seq past the range */
};

/* Where one device's next journal write goes (journal/journal_write.c). */
struct journal_dev_pos {
	u32 cur_idx;		/* ring index of the journal bucket being filled */
	u32 sectors_used;	/* of that bucket, already written */
	u64 *bucket_seq;	/* newest seq in each journal bucket, 0 if none */
};

/*
 * The write side of the journal: the seq of the next jset, which seqs are
 * still needed, and the per-device positions.  Set up by one of the
 * bch_journal_write_start*() functions, freed by bch_journal_write_exit().
 */
struct journal_write_state {
	bool started;
	bool need_flush;	/* the first write after a start must be a flush */
	u64 seq;		/* of the next jset */
	u64 last_seq;		/* oldest seq still dirty, as the caller says */
	u64 last_seq_ondisk;	/* last_seq of the newest flush jset on disk */
	/* seqs [start, end) skipped after an unclean shutdown, for the sb blacklist */
	u64 blacklist_start;
	u64 blacklist_end;
	u64 key_version;	/* for the usage entry */
	u64 io_clock[2];	/* read, write: for the clock entries */
	struct journal_dev_pos dev[BCH_SB_MEMBERS_MAX];
	/* the open jset transactions add to (journal/journal_commit.c) */
	struct jset_builder *open;
	bool open_used;		/* something was added since it was last written */
	u64 flushed_seq;	/* newest seq durable on disk (a flush write covered it) */
	u64 now;		/* wall clock for datetime entries; 0: time() */
	/* the device sets jsets were written to (bit per device), for the replicas section */
#define JOURNAL_DEV_SETS_MAX	16
	u64 dev_sets[JOURNAL_DEV_SETS_MAX];
	unsigned nr_dev_sets;
};

struct bch_journal {
	/* entries read, sorted by seq; NULL slots for missing seqs are not kept */
	struct journal_replay **entries;
	size_t nr_entries;
	u64 last_seq;		/* oldest seq in the replay range */
	u64 blacklist_seq;	/* first seq past the replay range */
	u64 max_seq;		/* newest seq found on disk */
	bool read_done;
	struct journal_seq_blacklist_range *blacklist;
	size_t nr_blacklist;
	/*
	 * The seq of the newest entry, used alone though the superblock
	 * blacklists it (nothing else to recover from): the first write takes
	 * it out of the superblock's blacklist, as the nodes replay writes
	 * carry it.  0: none.
	 */
	u64 unblacklist_seq;
	struct journal_keys keys;
	/*
	 * Write side; bch_journal_exit() does not free it: call
	 * bch_journal_write_exit() first.
	 */
	struct journal_write_state w;
};

#endif

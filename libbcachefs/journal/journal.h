/* Journal read path: find every journal entry on every device, validate, order, choose the replay range. */
#ifndef BCH_JOURNAL_JOURNAL_H
#define BCH_JOURNAL_JOURNAL_H

#include "core/fs_types.h"

/*
 * Reads the journal of every open device into c->journal: entries sorted by
 * seq with their copies, last_seq/blacklist_seq of the replay range (the
 * newest flush entry decides), blacklisted and stale entries marked
 * ignored, the superblock's journal_seq_blacklist honoured.  Problems found
 * (bad checksums, gaps) are described in c->log; only an unreadable journal
 * is an error.
 */
int bch_journal_read(struct bch_fs *c, struct printbuf *err);

/* Builds c->journal.keys from the btree_keys entries of the replay range. */
int bch_journal_keys_build(struct bch_fs *c);

/* Index of the first key >= (btree, level, pos); nr if none. */
size_t bch_journal_keys_search(const struct journal_keys *, enum btree_id,
			       unsigned level, struct bpos pos);

/*
 * Sets c->roots from the btree_root entries of the replay range (unclean),
 * or of the superblock's clean section (clean, unless the journal was read
 * and is not empty).  Also what else recovery takes from those entries
 * before reading btrees: blacklist entries, and after an unclean shutdown
 * the seqs from blacklist_seq to 8 past the newest entry, which are added
 * to c->journal.blacklist.
 */
int bch_journal_read_roots(struct bch_fs *c, struct printbuf *err);

/* By the superblock's journal_seq_blacklist field or c->journal.blacklist. */
bool bch_journal_seq_blacklisted(const struct bch_fs *c, u64 seq);

void bch_journal_exit(struct bch_journal *);

/*
 * Where an entry's copies are, as dev:journal bucket index:sectors into
 * it: "0:1:0 (sector 4608) 1:1:0 (sector 4608)"
 */
void bch_journal_ptrs_to_text(struct printbuf *, const struct journal_replay *);

/* list_journal: one entry as the reference prints it */
void bch_jset_entry_to_text(struct printbuf *, const struct bch_fs *,
			    const struct jset_entry *);

#define jset_entry_for_each(e, first, end)				\
	for (const struct jset_entry *e = (first);			\
	     (const void *)e < (const void *)(end);			\
	     e = (const void *)((const u64 *)(e)->_data + le16_to_cpu((e)->u64s)))

#endif

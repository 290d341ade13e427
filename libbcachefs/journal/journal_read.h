/* Journal read internals shared by the read path, the replay-range choice and the unit tests. */
#ifndef BCH_JOURNAL_JOURNAL_READ_H
#define BCH_JOURNAL_JOURNAL_READ_H

#include "core/fs_types.h"

/*
 * Adds one copy of a jset found on disk to c->journal.entries (kept sorted
 * by seq).  A second copy of a seq only adds its location, unless the
 * kept copy differs and the new one has a good checksum, which then
 * replaces the contents.  Copies on the same device, or good copies that
 * differ, are noted in c->log.
 */
int bch_journal_entry_add(struct bch_fs *c, const struct jset *j,
			  const struct journal_ptr *ptr);

/*
 * Scans one journal bucket (ring index idx of ca) already read into data,
 * adding every jset found.  read_buf_bytes carries the size the
 * reference's read buffer has grown to on this device (4096 at first).
 * Returns an error only for what ends the whole journal read.
 */
int bch_journal_scan_bucket(struct bch_fs *c, struct bch_dev *ca, unsigned idx,
			    u8 *data, size_t *read_buf_bytes, struct printbuf *err);

/* Index of the entry with this seq, or of where it would go. */
size_t bch_journal_entry_find(const struct bch_journal *, u64 seq, bool *found);

/*
 * Chooses the replay range over the entries read: walking down from the
 * newest, noflush entries and the first torn (bad checksum) flush entry
 * are marked blacklisted; the first other flush entry gives last_seq and
 * blacklist_seq.  Entries older than last_seq are marked not dirty,
 * entries the superblock blacklists are marked blacklisted, and gaps in
 * the range are reported in c->log.
 */
void bch_journal_choose_range(struct bch_fs *c);

/*
 * Validates (and repairs) every entry of the replay range; copies with bad
 * checksums are reported.  Returns an error only for damage that stops
 * the reference too.
 */
int bch_journal_validate_range(struct bch_fs *c, struct printbuf *err);

/*
 * An unclean filesystem whose replay range came out empty is recovered
 * from its newest entry alone, as the reference does.
 */
bool bch_journal_use_newest_only(const struct bch_fs *c);

/* Sorts keys by (btree, level, pos, seq, offset) and drops all but the newest per position. */
void bch_journal_keys_sort(struct journal_keys *keys);

/* Whether the superblock's journal_seq_blacklist field covers seq. */
bool bch_sb_journal_seq_blacklisted(const struct bch_fs *c, u64 seq);

/* Appends [start, end) to c->journal.blacklist. */
int bch_journal_blacklist_add(struct bch_journal *, u64 start, u64 end);

/*
 * Rewrites the journal_seq_blacklist section of sb: its ranges, with
 * [start, end) added (none when start >= end) and seq keep taken out (0:
 * none), sorted and merged; an empty list removes the section.  Sets the
 * journal_seq_blacklist_v3 feature when a range is left.  Nothing changes
 * on error (no room in the superblock, no memory).
 */
int bch_sb_journal_blacklist_update(struct bch_sb_buf *sb, u64 start, u64 end, u64 keep,
				    struct printbuf *err);

void bch_journal_replay_free(struct journal_replay *);

#endif

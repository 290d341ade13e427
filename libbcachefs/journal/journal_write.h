/* Journal write side: building jsets, placing them in the journal buckets, the clean section. */
#ifndef BCH_JOURNAL_JOURNAL_WRITE_H
#define BCH_JOURNAL_JOURNAL_WRITE_H

#include "core/fs_types.h"
#include "keys/extents.h"

/* The biggest btree root key: header, btree_ptr_v2 value, its pointers. */
#define JOURNAL_ROOT_KEY_U64s_MAX					\
	(BKEY_U64s + (sizeof(struct bch_btree_ptr_v2) +			\
		      sizeof(struct bch_extent_ptr) * BCH_REPLICAS_MAX) / 8)

/*
 * What the kernel reserves in every jset for the entries appended when it
 * is written: a root entry for every btree and the two clock entries.
 * The clean section's payload is exactly this size (321 u64s in 1.13).
 */
#define JOURNAL_ENTRY_U64s_RESERVED					\
	(BTREE_ID_NR * (1 + JOURNAL_ROOT_KEY_U64s_MAX) +		\
	 2 * (sizeof(struct jset_entry_clock) / 8))

/* u64s of the clean section a clean shutdown writes, its header included. */
#define BCH_SB_CLEAN_U64s						\
	(sizeof(struct bch_sb_field_clean) / 8 + JOURNAL_ENTRY_U64s_RESERVED)

/*
 * A jset being built in one buffer allocated up front.  Entries are
 * appended in order; a key for the same btree, level and entry type as
 * the newest entry joins that entry.  Room is kept for what
 * bch_jset_finish() appends.
 */
struct jset_builder {
	struct jset *j;
	size_t bytes;			/* of the buffer */
	struct jset_entry *last;	/* newest entry, NULL if none */
	bool finished;
};

/* A buffer of bytes (rounded up to 4 KiB); the jset starts empty. */
int bch_jset_builder_init(struct jset_builder *, size_t bytes);
void bch_jset_builder_exit(struct jset_builder *);
/* Empties the jset for the next one. */
void bch_jset_builder_reset(struct jset_builder *);
/* u64s of entry payload that still fit. */
size_t bch_jset_builder_room(const struct jset_builder *);

/*
 * A new entry with u64s zeroed payload words, or NULL (the jset is full or
 * finished).  The bch_jset_add_*() helpers return -BCH_ERR_jset_full then.
 */
struct jset_entry *bch_jset_entry_add(struct jset_builder *, unsigned type,
				      unsigned btree, unsigned level, unsigned u64s);

/* A key to replay into (btree, level). */
int bch_jset_add_key(struct jset_builder *, enum btree_id, unsigned level,
		     const struct bkey_i *);
/* The old version of a key an update overwrites (a debugging aid). */
int bch_jset_add_overwrite(struct jset_builder *, enum btree_id, unsigned level,
			   const struct bkey_i *);
/* A new btree root; k NULL writes an empty entry (root unreadable). */
int bch_jset_add_root(struct jset_builder *, enum btree_id, unsigned level,
		      const struct bkey_i *k);
/* A log message, NUL padded to whole u64s, as the kernel logs them. */
int bch_jset_add_log(struct jset_builder *, const char *msg);
/* A transaction name: always 32 bytes, cut or NUL padded. */
int bch_jset_add_trans_name(struct jset_builder *, const char *name);
int bch_jset_add_datetime(struct jset_builder *, u64 seconds);
int bch_jset_add_usage(struct jset_builder *, enum bch_fs_usage_type, u64 v);
int bch_jset_add_clock(struct jset_builder *, unsigned rw, u64 time);
/* Seqs start to end, both included, are never to be replayed. */
int bch_jset_add_blacklist_v2(struct jset_builder *, u64 start, u64 end);

/*
 * Completes the jset as the kernel completes every journal write: roots
 * named by btree_root entries become c's roots, then c's other live roots
 * are appended, a datetime (now, seconds), usage(key_version), clock read
 * and clock write.  The header gets the next seq, last_seq (0 unless
 * flush), NO_FLUSH, the metadata checksum type, sb version and magic; the
 * checksum is computed and the buffer zeroed to the block boundary.
 * After an error the jset is half done: reset the builder.
 */
int bch_jset_finish(struct bch_fs *c, struct jset_builder *, bool flush, u64 now,
		    struct printbuf *err);

/*
 * Writes a finished jset at the journal position of as many devices as
 * metadata_replicas wants (in device order, each device holding the
 * journal once), moving a device to its next journal bucket when the
 * jset does not fit.  A bucket holding seqs >= the on-disk last_seq is
 * never overwritten, and the last free one only by a flush write that
 * frees another: -BCH_ERR_journal_full, err says which bucket holds
 * what.  Flush writes are synced.  Advances the seq and updates every
 * member's last_journal_bucket/_offset in the in-memory superblocks.
 */
int bch_journal_write_jset(struct bch_fs *c, struct jset_builder *, struct printbuf *err);

/*
 * Where the journal write state starts (one of these, then
 * bch_journal_write_exit()):
 *  - new: a journal nothing was written to (format); seq, and each
 *    device's first write goes to its journal bucket 1.
 *  - clean: after a clean shutdown, from the superblock: clean
 *    journal_seq + 1, key_version and clocks from the clean section, each
 *    member's last_journal_bucket/_offset.
 *  - unclean: after bch_journal_read(): the newest seq found + 1 + 8,
 *    w.blacklist_start/_end the seqs to add to the superblock's
 *    blacklist, last_seq that of the newest entry replayed, each device
 *    after its newest entry.
 *  - bch_journal_write_start(): clean or unclean, as c's state says.
 */
int bch_journal_write_start_new(struct bch_fs *c, u64 seq);
int bch_journal_write_start_clean(struct bch_fs *c, struct printbuf *err);
int bch_journal_write_start_unclean(struct bch_fs *c, struct printbuf *err);
int bch_journal_write_start(struct bch_fs *c, struct printbuf *err);
void bch_journal_write_exit(struct bch_fs *c);

/*
 * The key version recovery starts from, without starting to write: the
 * clean section's, else that of the entries it replays.  Keys newer than
 * it are what fsck reports as bkey_version_in_future.
 */
u64 bch_journal_recorded_key_version(struct bch_fs *c);

/*
 * The oldest seq still dirty (its updates not yet in btree nodes on disk);
 * the next seq when nothing is.  It never goes back.
 */
int bch_journal_set_last_seq(struct bch_fs *c, u64 seq);

/*
 * Some journal device has less than half its journal buckets free (as of
 * the last_seq on disk): the btree should be flushed so that a flush
 * write can move last_seq on before the journal fills.
 */
bool bch_journal_needs_reclaim(const struct bch_fs *c);

/* Last seq written (or, before any write, the one the start state implies). */
static inline u64 bch_journal_last_written_seq(const struct bch_fs *c)
{
	return c->journal.w.seq - 1;
}

/*
 * The open journal entry transactions add their keys to (journal/journal_commit.c):
 * bch_journal_reserve() makes room for u64s of entries (writing the open
 * jset first, unflushed, when they do not fit) and returns the builder and
 * the seq they will carry; bch_journal_flush() writes the open jset as a
 * flush entry (an empty one if nothing is open) and syncs: everything
 * committed before is durable.  bch_journal_flushed_seq(): the newest seq
 * known durable.
 */
int bch_journal_reserve(struct bch_fs *c, size_t u64s, struct jset_builder **jb,
			u64 *seq, struct printbuf *err);
int bch_journal_flush(struct bch_fs *c, struct printbuf *err);

u64 bch_journal_flushed_seq(const struct bch_fs *c);

/* Sets every member's last_journal_bucket/_offset in the in-memory superblocks. */
void bch_journal_pos_to_sb(struct bch_fs *c);

/*
 * The clean section a clean shutdown writes, in a buffer of u64s
 * (BCH_SB_CLEAN_U64s): flags 0, journal_seq the last seq written,
 * usage(key_version), clock read, clock write, a btree_root entry for
 * every live root, the rest zero.
 */
int bch_sb_clean_build(const struct bch_fs *c, struct bch_sb_field_clean *clean,
		       size_t u64s, struct printbuf *err);

#endif

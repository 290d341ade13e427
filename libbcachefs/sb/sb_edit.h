/* Editing a superblock in memory: resizing sections, and the sections and flags an initialized filesystem has. */
#ifndef BCH_SB_SB_EDIT_H
#define BCH_SB_SB_EDIT_H

#include "bcachefs/format.h"
#include "sb/sb_types.h"
#include "util/printbuf.h"

/*
 * Sets the section of this type to u64s words, its header included (as
 * field.u64s counts).  A section that exists keeps its place and its
 * contents up to the new size, and the sections after it move; a missing
 * one is added at the end, as the kernel adds sections.  New space is
 * zeroed.  buf->sb is reallocated as needed (buf->bytes is its capacity,
 * and the bytes past the superblock's end stay zero).
 *
 * Returns the section, or NULL: with u64s 0 the section is removed (and
 * NULL is no error); otherwise err says why (the superblock would not fit
 * the 512 << sb_max_size_bits bytes its layout allows, or no memory), and
 * nothing was changed.
 */
void *bch_sb_field_resize(struct bch_sb_buf *buf, enum bch_sb_field_type type,
			  unsigned u64s, struct printbuf *err);
#define bch_sb_field_resize_t(buf, name, u64s, err)			\
	((struct bch_sb_field_##name *)					\
	 bch_sb_field_resize(buf, BCH_SB_FIELD_##name, u64s, err))

void bch_sb_field_delete(struct bch_sb_buf *buf, enum bch_sb_field_type type);

/*
 * The section at least u64s long: added if missing, grown if shorter,
 * left alone otherwise.
 */
void *bch_sb_field_get_minsize(struct bch_sb_buf *buf, enum bch_sb_field_type type,
			       unsigned u64s, struct printbuf *err);

/*
 * A device's journal buckets (this device's own superblock: the section is
 * per device), in journal order: journal_v2 with one {start, nr} range per
 * run of consecutive bucket numbers; the legacy journal section is removed.
 * nr 0 removes both.
 */
int bch_sb_journal_v2_set(struct bch_sb_buf *buf, const u64 *buckets, unsigned nr,
			  struct printbuf *err);

/*
 * The replicas section for these entries (bch_replicas_entry_v1, any
 * order, devices in any order; duplicates dropped): replicas_v0 when every
 * entry has nr_required 1, else replicas (v1), and the other version is
 * removed.  As the kernel stores them: each entry's devices sorted, the
 * entries ordered by memcmp() of their zero-padded v1 form, then laid out
 * in eytzinger (breadth-first search tree) order.  Entries without devices,
 * with a bad nr_required or a device that is no member are refused.
 */
int bch_sb_replicas_set(struct bch_sb_buf *buf,
			const struct bch_replicas_entry_v1 *const *entries,
			unsigned nr, struct printbuf *err);

/*
 * The downgrade section: for each version of the superblock's major
 * version that changed something a downgrade must repair, the recovery
 * passes (stable ids) and fsck errors that downgrading below it needs.
 * Written as the 1.13 kernel writes it on every superblock write of a
 * running filesystem (one without stripes); a longer section already
 * there is kept.
 */
int bch_sb_downgrade_set(struct bch_sb_buf *buf, struct printbuf *err);

/*
 * What initializing a new filesystem and its first clean shutdown change
 * besides the journal, replicas, downgrade, clean and member sections:
 *  - flags: INITIALIZED; version_upgrade_complete = version;
 *  - features: the two the kernel clears at a clean shutdown
 *    (extents_above_btree_updates, btree_updates_journalled);
 *  - compat: alloc_info, alloc_metadata, extents_above_btree_updates_done,
 *    bformat_overflow_done;
 *  - sections counters (every counter, zero), errors (empty), ext (zero)
 *    added in that order where missing.
 * CLEAN is left to whoever writes the clean section; the superblock's
 * checksum type and member seqs are set by bch_sb_next_seq() before each
 * write.  For the kernel's section order call this first, then
 * bch_sb_journal_v2_set(), bch_sb_downgrade_set(), bch_sb_replicas_set(),
 * and add the clean section last.
 */
int bch_sb_mark_initialized(struct bch_sb_buf *buf, struct printbuf *err);

/*
 * Member edits, made in members_v2 and in the member's members_v1 copy
 * (which holds the first BCH_MEMBER_V1_BYTES of each member, bitmap shift
 * and flags included).  A device without a members_v2 entry is ignored.
 */
/*
 * Member dev in place in members_v2, for other edits (last_mount, journal
 * position); NULL if there is none or its entries are shorter than 1.13's.
 * Follow with bch_sb_members_v1_sync() when the first
 * BCH_MEMBER_V1_BYTES changed.
 */
struct bch_member *bch_sb_member_v2_mut(struct bch_sb *sb, unsigned dev);
/* The same for members_v2 entries of at least min_bytes (older, shorter members). */
struct bch_member *bch_sb_member_v2_mut_min(struct bch_sb *sb, unsigned dev, size_t min_bytes);

void bch_sb_member_set_freespace_initialized(struct bch_sb *sb, unsigned dev, bool v);

/*
 * Marks [start_sector, start_sector + sectors) of device dev as possibly
 * holding btree nodes in its btree_allocated_bitmap: 64 bits of 1 <<
 * btree_bitmap_shift sectors each; the shift grows (bits folded) until the
 * range fits, as the kernel marks every new btree node.
 */
void bch_sb_member_btree_bitmap_mark(struct bch_sb *sb, unsigned dev,
				     u64 start_sector, unsigned sectors);

/*
 * members_v1 made the copy of members_v2 the kernel keeps (the first
 * BCH_MEMBER_V1_BYTES of each of nr_devices members) before every write.
 */
int bch_sb_members_v1_sync(struct bch_sb_buf *buf, struct printbuf *err);

#endif

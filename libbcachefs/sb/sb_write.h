/* Writing a device's superblock: every copy its layout lists, the layout in sector 7, checksums, seq. */
#ifndef BCH_SB_SB_WRITE_H
#define BCH_SB_SB_WRITE_H

#include "bcachefs/format.h"
#include "util/printbuf.h"

struct bch_dev;

/*
 * Writes sb to the device ca: the layout into the last 512 bytes of the
 * first 4 KiB (sector BCH_SB_LAYOUT_SECTOR), then one copy at each offset
 * sb->layout lists, each with its own `offset` and its own checksum, of the
 * type the superblock names for itself (sb_csum_type()).  A copy is padded
 * with zeroes to a multiple of the device's logical block size.  sb itself
 * is left as it was.  Flushes the device at the end.
 */
int bch_sb_write(const struct bch_dev *ca, const struct bch_sb *sb,
		 struct printbuf *err);

/*
 * Prepares a rewrite of a filesystem's superblocks (after format, each
 * write of the same superblock): the next seq, the write time in seconds,
 * the superblock checksum type the metadata_checksum option selects, and
 * member.seq = seq for each device in `written` (bit i: device i), which
 * is how a reader tells which devices saw the latest write.
 */
void bch_sb_next_seq(struct bch_sb *sb, u64 write_time, u64 written);

#endif

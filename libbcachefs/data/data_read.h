/* Reading file data: extents (any replica, checksums verified, decompressed), inline data, holes, reflinks. */
#ifndef BCH_DATA_DATA_READ_H
#define BCH_DATA_DATA_READ_H

#include "core/fs_types.h"
#include "fs/snapshot_table.h"
#include "util/printbuf.h"

/*
 * Reads len bytes at byte offset of inode (inum, snapshot) into buf, as
 * the kernel's read path (io_read.c) finds them: holes, reservations and
 * unwritten extents read as zeros, inline data from the key, reflinked
 * ranges through the reflink btree.  An extent is read from the first of
 * its pointers on an open device that is not a stale cached copy; when
 * checksummed or compressed its whole encoded data is read and its
 * checksum verified, and a checksum, decompression or device error moves
 * on to the next replica.  The file's size is not looked at: the caller
 * bounds the read by bi_size.  0, or a negative error with err naming the
 * extent and what failed on every replica.
 */
int bch_data_read(struct bch_fs *c, u64 inum, u32 snapshot, u64 offset, void *buf, size_t len,
		  struct printbuf *err);

/*
 * The same as seen from snapshot: at each position its own key or else
 * its nearest ancestor's (snaps: the snapshot table; NULL reads only the
 * keys of snapshot itself, as bch_data_read).
 */
int bch_data_read_snap(struct bch_fs *c, const struct bch_snapshot_table *snaps, u64 inum,
		       u32 snapshot, u64 offset, void *buf, size_t len, struct printbuf *err);

#endif

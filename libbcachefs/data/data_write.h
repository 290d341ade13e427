/* Writing file data: extents (checksummed, compressed, replicated), inline data, reservations, with the inode's sizes. */
#ifndef BCH_DATA_DATA_WRITE_H
#define BCH_DATA_DATA_WRITE_H

#include "core/fs_types.h"
#include "data/io_opts.h"
#include "util/printbuf.h"

/*
 * One file range to write: the inode (committed before), where, and how.
 * The counters at the end add up over calls, so a caller streaming a
 * large file in chunks (one call per chunk, one more per data range when
 * it skips holes) can report the totals.
 */
struct bch_write_req {
	u64 inum;
	u32 snapshot;
	u64 offset;		/* bytes, a multiple of the block size */
	/*
	 * bi_size grows to min(end of the extent written, new_i_size), as
	 * the kernel's write path grows it; 0: to offset + len.  Inline
	 * data is limited to the bytes below it.
	 */
	u64 new_i_size;
	struct bch_io_opts opts;
	unsigned nr_replicas;	/* 0: opts.data_replicas */
	bool no_inline_data;	/* the kernel's inline_data mount option, off */

	/* results, added to */
	u64 nr_extents;		/* keys committed */
	u64 sectors_written;	/* on disk, every replica */
	s64 i_sectors_delta;	/* what bi_sectors changed by */
};

/*
 * Writes len bytes of buf at req->offset of the file, as the kernel's
 * write path does (io_write.c): a write whose bytes below new_i_size fit
 * in half a block (1 KiB at most) becomes an inline_data key; otherwise
 * the data is cut into extents no bigger than the space left in the open
 * buckets, nor than encoded_extent_max when checksummed or compressed
 * (compressed pieces take what fits the space), each compressed when it
 * saves a block (else marked incompressible when compression is on),
 * checksummed, written to every replica (the bytes past len, up to the
 * block, as zeros) and committed in its own transaction with the inode
 * update: bi_sectors by the sectors newly allocated, bi_size grown.
 * Extents overwritten are trimmed or split by the transaction, whose
 * triggers account the space.  The journal is reclaimed (btree written)
 * when it runs half full, and space freed by overwrites is reused after
 * a flush when the devices fill.  Zero ranges are written like any
 * other: a caller skipping holes writes each data range by itself.
 */
int bch_data_write(struct bch_fs *c, struct bch_write_req *req, const void *buf, size_t len,
		   struct printbuf *err);

/*
 * Copies the data ranges of an open file (SEEK_DATA / SEEK_HOLE; all of
 * it where they are not supported) in chunks of chunk bytes (0: 1 MiB)
 * through bch_data_write(); holes stay holes.  req->offset is where the
 * file's first byte goes; new_i_size, when 0, becomes offset + the
 * file's size.
 */
int bch_data_write_fd(struct bch_fs *c, struct bch_write_req *req, int fd, size_t chunk,
		      struct printbuf *err);

/*
 * fallocate(): every hole in [offset, offset + len) (block-rounded), and
 * every reservation of fewer replicas, becomes a reservation key of
 * opts.data_replicas; data is left alone.  bi_sectors counts them; bi_size
 * grows to offset + len unless keep_size.
 */
int bch_data_fallocate(struct bch_fs *c, struct bch_write_req *req, u64 len, bool keep_size,
		       struct printbuf *err);

#endif

/* Opening a filesystem: devices, superblocks, journal, roots; the entry point for every command. */
#ifndef BCH_CORE_FS_H
#define BCH_CORE_FS_H

#include "core/fs_types.h"

/*
 * Opens the filesystem made of the devices at paths (read-only when
 * opts->read_only).  Reads every device's superblock, checks they belong
 * together, reads the journal when the filesystem is unclean (or
 * opts->read_journal), builds the journal key overlay and the btree roots.
 * On failure returns a negative error with the reason in err, and *out is
 * NULL.
 */
int bch_fs_open(char * const *paths, unsigned nr, const struct bch_open_opts *opts,
		struct bch_fs **out, struct printbuf *err);
void bch_fs_close(struct bch_fs *);

/* Reads exactly bytes at byte offset off; errors name the device. */
int bch_dev_pread(const struct bch_dev *, void *buf, size_t bytes, u64 off,
		  struct printbuf *err);

/*
 * Writes exactly bytes at byte offset off, within the device's size;
 * errors name the device.  Every write to a device goes through here.
 */
int bch_dev_pwrite(const struct bch_dev *, const void *buf, size_t bytes, u64 off,
		   struct printbuf *err);

/* fsync: what was written reaches stable storage. */
int bch_dev_flush(const struct bch_dev *, struct printbuf *err);

/* Opens one device and reads its superblock, without forming a filesystem. */
int bch_dev_open(const char *path, const struct bch_open_opts *opts,
		 struct bch_dev **out, struct printbuf *err);
void bch_dev_close(struct bch_dev *);

#endif

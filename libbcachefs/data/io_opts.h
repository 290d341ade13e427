/* The options a file's data is written with: the filesystem's, overridden per inode. */
#ifndef BCH_DATA_IO_OPTS_H
#define BCH_DATA_IO_OPTS_H

#include "core/fs_types.h"
#include "keys/inode.h"
#include "util/printbuf.h"

/*
 * Option values as the superblock stores them: data_checksum a
 * BCH_CSUM_OPT_*, compressions type | level << 4, targets 0 (none),
 * 1 + device or 257 + disk group.
 */
struct bch_io_opts {
	u8 data_checksum;
	u8 compression;
	u8 background_compression;
	u8 data_replicas;
	u16 promote_target;
	u16 foreground_target;
	u16 background_target;
	u8 erasure_code;
	u8 nocow;
	u32 project;
};

/* The filesystem-wide values, from the superblock. */
void bch_io_opts_from_fs(const struct bch_fs *c, struct bch_io_opts *opts);

/*
 * Overrides opts with the inode's option fields: each stores the value
 * plus one, zero meaning "the filesystem's".  With nocow the data has no
 * checksum and no compression (erasure coding off too).
 */
void bch_io_opts_apply_inode(struct bch_io_opts *opts, const struct bch_inode_unpacked *u);

/* The options of inode (inum, snapshot): -BCH_ERR_inode_not_found if none. */
int bch_io_opts_get(struct bch_fs *c, u64 inum, u32 snapshot, struct bch_io_opts *opts,
		    struct printbuf *err);

/* Background compression falls back to the foreground option. */
static inline unsigned bch_io_opts_bg_compression(const struct bch_io_opts *opts)
{
	return opts->background_compression ? opts->background_compression : opts->compression;
}

/* The data checksum type (BCH_CSUM_*) writes use. */
unsigned bch_io_opts_csum_type(const struct bch_io_opts *opts);

#endif

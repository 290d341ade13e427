/* Names to inode numbers: one component in a directory, or a whole path from the root. */
#ifndef BCH_FS_NAMEI_H
#define BCH_FS_NAMEI_H

#include "fs/ns_types.h"

/* The inode name stands for in directory dir: 0 and *inum (and *d_type if not NULL), or -BCH_ERR_not_found / not_dir. */
int bch_ns_lookup(struct bch_ns *, u64 dir, const char *name, u64 *inum, u8 *d_type,
		  struct printbuf *err);

/*
 * The inode of a '/'-separated path from the root directory (leading,
 * repeated and trailing slashes ignored; "." the directory itself, ".."
 * its parent by the backpointer, the root's parent the root). An entry
 * for a subvolume moves the session into it (bch_ns_subvol_enter), ".."
 * of a subvolume's root back out: the session's snapshot is the one the
 * inode is seen from.
 */
int bch_ns_path_lookup(struct bch_ns *, const char *path, u64 *inum, struct printbuf *err);

#endif

/* The dirents by the inode they point to: check_inodes' backpointer check as a merge, not a lookup per inode. */
#ifndef BCH_FSCK_DBACK_H
#define BCH_FSCK_DBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "bkey/bkey.h"

/*
 * Every inode's backpointer (bi_dir, bi_dir_offset) names the dirent that
 * should point to it.  check_inodes reads the dirents once, in key order,
 * into this table, sorts it by target inode and walks it beside the
 * inodes (which come in inode number order), instead of a btree lookup
 * per inode.  The table can only say "good": what it does not hold is
 * looked up as before.
 */
struct bch_dback {
	u64 inum;			/* the dirent's d_inum */
	u64 dir;			/* its position */
	u64 offset;
	u32 snapshot;
} __attribute__((packed, aligned(4)));	/* 28 bytes: a million dirents take 28 MB */

struct bch_dback_tab {
	struct bch_dback *d;
	size_t nr, size;
	size_t cur;			/* where the last inode's entries start */
};

/* The dirent at pos points to inode inum: 0 or -BCH_ERR_nomem. */
int bch_dback_add(struct bch_dback_tab *, u64 inum, struct bpos pos);
/* Sorts by inum, in place (the order among one inode's entries is any). */
void bch_dback_sort(struct bch_dback_tab *);
/*
 * Whether the sorted table holds a dirent at exactly pos pointing to
 * inum.  Asked in ascending inum order it walks the table once; any other
 * order costs a binary search.
 */
bool bch_dback_find(struct bch_dback_tab *, u64 inum, struct bpos pos);
void bch_dback_exit(struct bch_dback_tab *);

#endif

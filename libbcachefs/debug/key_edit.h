/* One key of a btree changed precisely: damage for fsck tests and bug reports (bcachefs debug). */
#ifndef BCH_DEBUG_KEY_EDIT_H
#define BCH_DEBUG_KEY_EDIT_H

#include "core/fs_types.h"
#include "util/printbuf.h"

union bch_key_buf {
	struct bkey_i k;
	u64 u64s[BKEY_U64s_MAX];
};

/*
 * Applies one FIELD=VALUE to k (room for BKEY_U64s_MAX u64s):
 *   type=NAME, size=N              the key header
 *   bi_NAME=N                      any field of an inode key (repacked as inode_v3)
 *   gen, data_type, dirty_sectors, cached_sectors, ...   an alloc_v4 field
 *   d_inum=N, d_type=N             a dirent
 *   u8@OFF=N u16@ u32@ u64@        little-endian bytes at OFF in the value
 * VALUE is a number (decimal, 0x hex, 0 octal) or, for data_type and type, a name.
 * 0, or -BCH_ERR_bad_argument with the reason in err.
 */
int bch_key_set_field(struct bkey_i *k, const char *assign, struct printbuf *err);

/*
 * WIDTH@OFF=VALUE (WIDTH u8, u16, u32 or u64) on size bytes at base:
 * VALUE stored little-endian OFF bytes in.  0, or -BCH_ERR_bad_argument
 * with the reason in err.
 */
int bch_bytes_set_field(void *base, size_t size, const char *assign, struct printbuf *err);

/*
 * Rewrites the leaf holding the key at (btree, pos) where it lies, its
 * bset checksummed again, bypassing the journal: the newest copy of the
 * key becomes a deleted key (new NULL) or gets new's value, which must be
 * as long.  For clean filesystems (a key in the journal would win) and
 * for damage the journal could not carry without the allocator acting on
 * it.  Every replica of the node is written.
 */
int bch_key_rewrite_in_place(struct bch_fs *c, enum btree_id btree, struct bpos pos,
			     const struct bkey_i *new, struct printbuf *err);

/*
 * Zeroes what was written of the node at `level` of btree that covers
 * pos, on every replica, bypassing the journal: a lost node write, for
 * fsck's topology repair.  The root node counts too.  keep_copy first
 * writes the node (as read) to a free bucket of its device where
 * the btree bitmap allows nodes: the older copy copy-on-write leaves
 * behind, for fsck's scan to find; *copy is its bucket (device:bucket, as
 * the alloc key's position), POS_MAX when none was written.
 */
int bch_node_kill(struct bch_fs *c, enum btree_id btree, unsigned level, struct bpos pos,
		  bool keep_copy, struct bpos *copy, struct printbuf *err);

/* One node's header or bset changed where it lies: damage for fsck tests. */
struct bch_node_edit {
	enum btree_id btree;
	unsigned level;
	struct bpos pos;		/* the node at level covering it */
	int bset;			/* 0: the node header's bset */
	const char *const *sets;	/* FIELD=VALUE */
	unsigned nr_sets;
	bool keep_csum;			/* leave the old checksum */
};

/*
 * Applies e->sets to the chosen bset of the node, on every replica,
 * bypassing the journal, and checksums that bset again unless keep_csum.
 * FIELD is magic, flags, btree_id, level, min_key or max_key (the node
 * header, bset 0 only), seq, journal_seq, bset_flags, csum_type, offset,
 * version or u64s (the bset), or WIDTH@OFF (bytes into the node header or
 * btree_node_entry).  A description goes to out.  0, or a negative error
 * with the reason in err.
 */
int bch_node_edit(struct bch_fs *c, const struct bch_node_edit *e, struct printbuf *out,
		  struct printbuf *err);

#endif

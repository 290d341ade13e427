/* Inside the keys module: the per-type methods each family file provides, and what they share. */
#ifndef BCH_KEYS_KEY_OPS_H
#define BCH_KEYS_KEY_OPS_H

#include <string.h>

#include "keys/key_types.h"

/*
 * Records the first failed check of a key: its fsck error type and a
 * message naming the field, expected and found values.  Always returns
 * -BCH_ERR_bkey_invalid, so a check reads `return bkey_invalid(...)`.
 */
int bkey_invalid(struct bkey_check *, enum bch_sb_error_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The member entry of device dev when the superblock lists it, else NULL. */
const struct bch_member_cpu *bch_key_member(const struct bch_fs *, u64 dev);

static inline const void *bkey_val_end(struct bkey_s_c k)
{
	return (const u8 *)k.v + bkey_val_bytes(k.k);
}

/*
 * Copies the value into a zeroed object of `size` bytes: a value shorter
 * than its struct (older versions, or damage) reads as zero-extended, and
 * nothing past the value is ever read.
 */
static inline void bkey_val_copy(void *dst, size_t size, struct bkey_s_c k)
{
	size_t n = bkey_val_bytes(k.k);

	memset(dst, 0, size);
	memcpy(dst, k.v, n < size ? n : size);
}

/* Whole-key position comparisons that ignore the snapshot field. */
static inline int bkey_pos_cmp(struct bpos l, struct bpos r)
{
	return bpos_cmp(SPOS(l.inode, l.offset, 0), SPOS(r.inode, r.offset, 0));
}

/* "(unknown <what> N)" for values past the end of a name table. */
void bch_prt_name(struct printbuf *, const char * const names[], unsigned nr,
		  const char *what, unsigned v);

#define KEY_METHODS(name)						\
	int bch_##name##_validate(struct bkey_check *, struct bkey_s_c);	\
	void bch_##name##_to_text(struct printbuf *, const struct bch_fs *,	\
				  struct bkey_s_c);

/* key_types.c */
int bch_empty_val_validate(struct bkey_check *, struct bkey_s_c);
void bch_cookie_to_text(struct printbuf *, const struct bch_fs *, struct bkey_s_c);

/* extents.c */
KEY_METHODS(btree_ptr)
KEY_METHODS(btree_ptr_v2)
KEY_METHODS(extent)
KEY_METHODS(reservation)
KEY_METHODS(reflink_p)
KEY_METHODS(reflink_v)
void bch_inline_data_to_text(struct printbuf *, const struct bch_fs *, struct bkey_s_c);
void bch_indirect_inline_data_to_text(struct printbuf *, const struct bch_fs *,
				      struct bkey_s_c);

/* inode.c */
KEY_METHODS(inode)
KEY_METHODS(inode_generation)

/* dirent.c, xattr.c */
KEY_METHODS(dirent)
KEY_METHODS(xattr)

/* alloc.c */
KEY_METHODS(alloc)
KEY_METHODS(bucket_gens)
KEY_METHODS(lru)
KEY_METHODS(backpointer)

/* snapshot.c */
KEY_METHODS(snapshot)
KEY_METHODS(snapshot_tree)
KEY_METHODS(subvolume)

/* quota.c, stripe.c, logged_ops.c, accounting.c */
KEY_METHODS(quota)
KEY_METHODS(stripe)
void bch_logged_op_truncate_to_text(struct printbuf *, const struct bch_fs *, struct bkey_s_c);
void bch_logged_op_finsert_to_text(struct printbuf *, const struct bch_fs *, struct bkey_s_c);
KEY_METHODS(accounting)

#undef KEY_METHODS

#endif

/* The key-type table: for every key type, its name, validation and text form. */
#ifndef BCH_KEYS_KEY_TYPES_H
#define BCH_KEYS_KEY_TYPES_H

#include "bkey/bkey.h"
#include "core/fs_types.h"

/* Where a key was found, for validation rules that depend on it. */
struct bkey_where {
	enum btree_id btree;
	unsigned level;
	bool from_journal;
	/*
	 * Keys read from disk are checked without the checks the kernel makes
	 * only when a key is written (sectors_written of node pointers, size
	 * of encoded extents) or inserted by an update (key type allowed in a
	 * leaf of this btree, name length, size of encoded extents).
	 */
	bool write;
	bool commit;
};

/* One key's validation: its place, and what failed first. */
struct bkey_check {
	const struct bch_fs *c;
	const struct bkey_where *where;
	struct printbuf *err;
	enum bch_sb_error_id id;	/* fsck error type of the failed check */
};

struct bch_key_ops {
	/*
	 * Checks the value (the generic checks — type allowed in this btree,
	 * size, position rules — are done by bch_bkey_validate()).  Returns 0
	 * or, through bkey_invalid(), -BCH_ERR_bkey_invalid with a message in
	 * check->err naming the field.
	 */
	int (*validate)(struct bkey_check *, struct bkey_s_c);
	/* The value as `list` prints it after "...: " */
	void (*val_to_text)(struct printbuf *, const struct bch_fs *, struct bkey_s_c);
};

/* Indexed by key type; entries for types without value methods are empty. */
extern const struct bch_key_ops bch_key_ops[KEY_TYPE_MAX];

/* Generic and per-type checks of a key in its place. */
int bch_bkey_validate(const struct bch_fs *, struct bkey_s_c,
		      const struct bkey_where *, struct printbuf *err);
/* The same, also giving the fsck error type of the failed check in *id. */
int bch_bkey_validate_id(const struct bch_fs *, struct bkey_s_c,
			 const struct bkey_where *, struct printbuf *err,
			 enum bch_sb_error_id *id);

/* BTREE_FL_* flags of a btree (extents, snapshots, ...); 0 for unknown ids. */
unsigned bch_btree_flags(enum btree_id);

static inline bool bch_btree_is_extents(enum btree_id id)
{
	return bch_btree_flags(id) & BTREE_FL_EXTENTS;
}

/* "u64s 16 type inode_v3 0:4096:U32_MAX len 0 ver 0: <value>" */
void bch_bkey_val_to_text(struct printbuf *, const struct bch_fs *, struct bkey_s_c);
void bch_val_to_text(struct printbuf *, const struct bch_fs *, struct bkey_s_c);

#endif

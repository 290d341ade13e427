/* Inodes of every version decoded into one in-memory form. */
#ifndef BCH_KEYS_INODE_H
#define BCH_KEYS_INODE_H

#include "keys/key_types.h"

/*
 * An inode of any version (inode, inode_v2, inode_v3).  The variable-length
 * fields are widened to u64 here; unpacking fails when a stored value does
 * not fit the field's on-disk width (the 96-bit times must fit in 64 bits).
 * bi_flags keeps the low 32 bits of the stored flags: the inode flags and
 * the string hash type; v3's nr_fields/fields_start/mode bits above them
 * are decoded into their own fields.
 */
struct bch_inode_unpacked {
	u64 bi_inum;
	u32 bi_snapshot;
	u64 bi_journal_seq;
	u64 bi_hash_seed;	/* stored little-endian on disk; a host value here */
	u64 bi_size;
	u64 bi_sectors;
	u64 bi_version;
	u32 bi_flags;
	u16 bi_mode;
#define x(name, bits) u64 name;
	BCH_INODE_FIELDS_V3()
#undef x
};

/* The string hash type of the inode's directory entries or xattrs. */
static inline unsigned bch_inode_str_hash(const struct bch_inode_unpacked *u)
{
	return (u->bi_flags >> 20) & 15;
}

static inline bool bkey_is_inode(const struct bkey *k)
{
	return k->type == KEY_TYPE_inode || k->type == KEY_TYPE_inode_v2 ||
	       k->type == KEY_TYPE_inode_v3;
}

/* 0, or -BCH_ERR_bkey_invalid when a field cannot be decoded. */
int bch_inode_unpack(struct bkey_s_c, struct bch_inode_unpacked *);

/*
 * Packs u as an inode_v3 key at (0, bi_inum, bi_snapshot) into out (room
 * for out_u64s u64s): fields as varints, trailing zero fields dropped, a
 * zero field one zero byte.  0, or -BCH_ERR_bad_argument if it does not fit.
 */
int bch_inode_pack(const struct bch_inode_unpacked *u, struct bkey_i *out, unsigned out_u64s);

/* The multi-line text `list` prints for an inode key's value. */
void bch_inode_unpacked_to_text(struct printbuf *, const struct bch_inode_unpacked *);

#endif

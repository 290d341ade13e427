/* Directory entries: the name and target of a dirent key. */
#ifndef BCH_KEYS_DIRENT_H
#define BCH_KEYS_DIRENT_H

#include "keys/key_types.h"

/* Byte offset of the name in the value: after d_inum and d_type. */
#define BCH_DIRENT_NAME_OFFSET	9

/*
 * Length of the name: the value's bytes after d_type, less the NUL padding
 * of the last u64.  Computed in 32 bits like the kernel, so a value that is
 * all padding gives a huge length that validation rejects.
 */
unsigned bch_dirent_name_len(struct bkey_s_c);

static inline const char *bch_dirent_name(struct bkey_s_c k)
{
	return (const char *)k.v + BCH_DIRENT_NAME_OFFSET;
}

/* Name bytes that can be read safely: the length clamped to the value. */
unsigned bch_dirent_name_len_safe(struct bkey_s_c);

static inline unsigned bch_dirent_type(struct bkey_s_c k)
{
	return ((const struct bch_dirent *)k.v)->d_type;
}

/* The inode number, for every type but DT_SUBVOL. */
static inline u64 bch_dirent_inum(struct bkey_s_c k)
{
	return le64_to_cpu(((const struct bch_dirent *)k.v)->d_inum);
}

/* DT_SUBVOL: the subvolume the entry points to, and the one it lives in. */
static inline u32 bch_dirent_child_subvol(struct bkey_s_c k)
{
	return le32_to_cpu(((const struct bch_dirent *)k.v)->d_child_subvol);
}

static inline u32 bch_dirent_parent_subvol(struct bkey_s_c k)
{
	return le32_to_cpu(((const struct bch_dirent *)k.v)->d_parent_subvol);
}

/* "reg", "dir", ... or "(bad d_type)". */
const char *bch_d_type_str(unsigned d_type);

/* u64s of a dirent value holding a name of len bytes. */
static inline unsigned bch_dirent_val_u64s(unsigned len)
{
	return (BCH_DIRENT_NAME_OFFSET + len + 7) / 8;
}

#endif

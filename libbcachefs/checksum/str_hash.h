/* The string hash that places dirents and xattrs in their btrees: per-directory type and seed. */
#ifndef BCH_CHECKSUM_STR_HASH_H
#define BCH_CHECKSUM_STR_HASH_H

#include "bcachefs/types.h"
#include "checksum/siphash.h"

/*
 * x(name, nr): the hash type of a directory (or of a file, for its
 * xattrs), stored in its inode's bi_flags bits 20-23.
 */
#define BCH_STR_HASH_TYPES()				\
	x(crc32c,		0)			\
	x(crc64,		1)			\
	x(siphash_old,		2)			\
	x(siphash,		3)

enum bch_str_hash_type {
#define x(name, nr) BCH_STR_HASH_##name = nr,
	BCH_STR_HASH_TYPES()
#undef x
	BCH_STR_HASH_NR
};

/*
 * x(name, nr): values of the str_hash option, kept in the superblock's
 * str_hash field; siphash picks a type by feature new_siphash.
 */
#define BCH_STR_HASH_OPTS()				\
	x(crc32c,		0)			\
	x(crc64,		1)			\
	x(siphash,		2)

enum bch_str_hash_opt {
#define x(name, nr) BCH_STR_HASH_OPT_##name = nr,
	BCH_STR_HASH_OPTS()
#undef x
	BCH_STR_HASH_OPT_NR
};

struct bch_str_hash_ctx {
	unsigned type;
	union {
		u32 crc32c;
		u64 crc64;
		struct bch_siphash sip;
	} u;
};

/*
 * seed is the directory inode's bi_hash_seed.  Returns 0, or
 * -BCH_ERR_bad_argument for an unknown type (the context then hashes
 * everything to 0).
 */
int bch_str_hash_init(struct bch_str_hash_ctx *ctx, unsigned type, u64 seed);
void bch_str_hash_update(struct bch_str_hash_ctx *ctx, const void *data, size_t len);
u64 bch_str_hash_final(struct bch_str_hash_ctx *ctx);

/*
 * Key offsets of a dirent and of an xattr in a directory (or file) with
 * hash type and seed; the type must be valid (an unknown one gives 0, or 2
 * for dirents).  Dirent offsets 0 and 1 are never used.
 */
u64 bch_dirent_hash(unsigned type, u64 seed, const void *name, size_t len);
u64 bch_xattr_hash(unsigned type, u64 seed, u8 xattr_type, const void *name, size_t len);

bool bch_str_hash_type_valid(unsigned type);
const char *bch_str_hash_type_name(unsigned type);
const char *bch_str_hash_opt_name(unsigned opt);

/*
 * The type new directories get for an option value: siphash means the
 * SHA-256-keyed siphash_old unless the superblock has feature new_siphash.
 * BCH_STR_HASH_NR for an unknown option.
 */
enum bch_str_hash_type bch_str_hash_opt_to_type(unsigned opt, bool new_siphash);

#endif

/* The string hash that places dirents and xattrs in their btrees: per-directory type and seed. */
#ifndef BCH_CHECKSUM_STR_HASH_H
#define BCH_CHECKSUM_STR_HASH_H

#include "bcachefs/format.h"
#include "checksum/siphash.h"

/* enum bch_str_hash_type (per directory, in bi_flags bits 20-23) and
 * enum bch_str_hash_opt (the superblock option) come from the format header. */

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

/* Building extent keys as the kernel's write path does: checksum entry, pointers, rebalance entry. */
#ifndef BCH_DATA_EXTENT_BUILD_H
#define BCH_DATA_EXTENT_BUILD_H

#include "core/fs_types.h"
#include "data/io_opts.h"
#include "keys/extents.h"

/* Largest uncompressed size (sectors) and nonce each checksum entry width holds. */
#define BCH_CRC32_SIZE_MAX	(1U << 7)
#define BCH_CRC32_NONCE_MAX	0U
#define BCH_CRC64_SIZE_MAX	(1U << 9)
#define BCH_CRC64_NONCE_MAX	((1U << 10) - 1)
#define BCH_CRC128_SIZE_MAX	(1U << 13)
#define BCH_CRC128_NONCE_MAX	((1U << 13) - 1)

/* An extent key with all its entries: crc128, 16 pointers, a rebalance entry. */
#define BCH_EXTENT_KEY_U64s_MAX	(BKEY_U64s + 3 + BCH_BKEY_PTRS_MAX + 1)

union bch_extent_buf {
	struct bkey_i k;
	u64 u64s[BCH_EXTENT_KEY_U64s_MAX];
};

/* An empty key of type at pos (its end), size sectors; val_u64s of value zeroed. */
void bch_key_init(struct bkey_i *k, unsigned type, struct bpos pos, u32 size, unsigned val_u64s);

/*
 * The narrowest checksum entry the kernel packs crc into (crc32, else
 * crc64, else crc128, by checksum bytes, uncompressed size and nonce),
 * appended to k.  -BCH_ERR_bad_argument if even crc128 cannot hold it.
 */
int bch_extent_crc_append(struct bkey_i *k, const struct bch_extent_crc *crc);

void bch_extent_ptr_append(struct bkey_i *k, struct bch_extent_ptr ptr);

/*
 * Adds the rebalance entry (background compression, else compression;
 * background target) when the kernel's write path adds one: some pointer
 * is not in the target, or not compressed as wanted (an incompressible
 * extent is never recompressed).  An existing entry gets the options, or
 * is dropped when nothing is left to do.
 */
void bch_extent_set_needs_rebalance(const struct bch_fs *c, struct bkey_i *k,
				    const struct bch_io_opts *opts);

/* The key type holds or reserves space (the kernel's i_sectors count). */
bool bch_key_is_allocation(const struct bkey *k);

/* Replicas a key fully allocates: a reservation's, or pointers neither cached nor compressed. */
unsigned bch_key_ptrs_fully_allocated(struct bkey_s_c k);

#endif

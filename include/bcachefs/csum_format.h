/* On-disk checksum facts: the stored csum field, type numbers and sizes, option values. */
#ifndef BCACHEFS_CSUM_FORMAT_H
#define BCACHEFS_CSUM_FORMAT_H

#include "bcachefs/types.h"

/*
 * A checksum or MAC as stored on disk (btree node and journal entry
 * headers, extent crc entries, superblock).  The value is little-endian
 * starting at the first byte of lo; bytes past the type's size are zero.
 */
struct bch_csum {
	__le64 lo;
	__le64 hi;
} __aligned(8);

BCH_STATIC_ASSERT(sizeof(struct bch_csum) == 16, "bch_csum is 16 bytes on disk");

/*
 * x(name, type number stored on disk, bytes of the stored value).
 * The *_nonzero variants start from all ones and invert the result (the
 * standard CRCs); the plain crc32c/crc64 start from zero and are not
 * inverted, which keeps them mergeable for data extents.  chacha20_poly1305
 * types are Poly1305 MACs truncated to 80 or 128 bits.
 */
#define BCH_CSUM_TYPES()				\
	x(none,			0,	0)		\
	x(crc32c_nonzero,	1,	4)		\
	x(crc64_nonzero,	2,	8)		\
	x(chacha20_poly1305_80,	3,	10)		\
	x(chacha20_poly1305_128, 4,	16)		\
	x(crc32c,		5,	4)		\
	x(crc64,		6,	8)		\
	x(xxhash,		7,	8)

enum bch_csum_type {
#define x(name, nr, bytes) BCH_CSUM_##name = nr,
	BCH_CSUM_TYPES()
#undef x
	BCH_CSUM_NR
};

/*
 * x(name, value): the metadata_checksum / data_checksum option values as
 * stored in the superblock flags and inode options; not checksum types.
 */
#define BCH_CSUM_OPTS()					\
	x(none,			0)			\
	x(crc32c,		1)			\
	x(crc64,		2)			\
	x(xxhash,		3)

enum bch_csum_opt {
#define x(name, nr) BCH_CSUM_OPT_##name = nr,
	BCH_CSUM_OPTS()
#undef x
	BCH_CSUM_OPT_NR
};

/*
 * The 128-bit ChaCha20 IV (d[0] is the block counter), in memory only.
 * Unused by the CRC and xxhash types.  Words are little-endian when the IV
 * is handed to the cipher.
 */
struct bch_nonce {
	u32 d[4];
};

/*
 * XORed into d[3] to separate the nonce spaces of the structures that are
 * encrypted; BCH_NONCE_POLY derives the Poly1305 one-time key.
 */
#define BCH_NONCE_EXTENT	(1U << 28)
#define BCH_NONCE_BTREE		(2U << 28)
#define BCH_NONCE_JOURNAL	(3U << 28)
#define BCH_NONCE_PRIO		(4U << 28)
#define BCH_NONCE_POLY		(1U << 31)

#endif

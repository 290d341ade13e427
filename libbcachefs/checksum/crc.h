/* Raw CRC-32C and CRC-64 (ECMA-182) register updates: the building blocks of checksums. */
#ifndef BCH_CHECKSUM_CRC_H
#define BCH_CHECKSUM_CRC_H

#include "bcachefs/types.h"

/*
 * These are the bare register updates, like the kernel's crc32c() and
 * crc64_be(): no initial value and no final inversion are applied here.
 * The caller passes the running register in and gets it back, so a buffer
 * may be fed in any number of pieces.
 */

/* CRC-32C (Castagnoli, poly 0x1EDC6F41, bit-reflected), fastest available. */
u32 bch_crc32c(u32 crc, const void *data, size_t len);

/* The same, always through the portable lookup tables (for tests, benchmarks). */
u32 bch_crc32c_table(u32 crc, const void *data, size_t len);

/* True when bch_crc32c() uses the SSE4.2 crc32 instruction. */
bool bch_crc32c_hw_available(void);

/* CRC-64 with the ECMA-182 polynomial, most significant bit first. */
u64 bch_crc64_be(u64 crc, const void *data, size_t len);

#endif

/* SipHash-2-4 as bcachefs computes it, including its multi-update quirk (string hash keys). */
#ifndef BCH_CHECKSUM_SIPHASH_H
#define BCH_CHECKSUM_SIPHASH_H

#include "bcachefs/types.h"

#define BCH_SIPHASH_KEY_BYTES	16

/*
 * A single update over a whole message gives standard SipHash-2-4.  When
 * a message is fed in several pieces the result follows bcachefs' own
 * streaming code, which differs from standard SipHash (see siphash.c);
 * on-disk xattr keys depend on that, so it is reproduced exactly.
 */
struct bch_siphash {
	u64 v[4];
	u8 tail[8];	/* bytes waiting for a full 8-byte word */
	u32 len;	/* message length mod 2^32 */
};

/* key: 16 bytes, read as two little-endian u64 halves k0, k1. */
void bch_siphash_init(struct bch_siphash *s, const u8 key[BCH_SIPHASH_KEY_BYTES]);
void bch_siphash_update(struct bch_siphash *s, const void *data, size_t len);
u64 bch_siphash_final(struct bch_siphash *s);

/* One-shot SipHash-2-4 of a buffer (standard SipHash). */
u64 bch_siphash(const u8 key[BCH_SIPHASH_KEY_BYTES], const void *data, size_t len);

#endif

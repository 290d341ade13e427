/* Metadata and data checksums by on-disk checksum type: one-shot and streaming. */
#ifndef BCH_CHECKSUM_CHECKSUM_H
#define BCH_CHECKSUM_CHECKSUM_H

#include "bcachefs/csum_format.h"

/*
 * Running state of one checksum.  Btree nodes and journal entries are
 * checksummed in one pass, extent data may arrive in pieces: feed it with
 * bch_csum_update() in order and call bch_csum_final() once.
 */
struct bch_csum_state {
	unsigned type;
	union {
		u64 crc;		/* crc32c in the low 32 bits */
		u64 xxh64[12];		/* an XXH64_state_t, kept opaque */
	} u;
};

/*
 * Returns 0, -BCH_ERR_encrypted for the chacha20_poly1305 types (not
 * implemented yet) or -BCH_ERR_bad_argument for an unknown type.  After an
 * error the state is usable and produces a zero checksum.
 */
int bch_csum_init(struct bch_csum_state *st, unsigned type, struct bch_nonce nonce);
void bch_csum_update(struct bch_csum_state *st, const void *data, size_t len);
struct bch_csum bch_csum_final(struct bch_csum_state *st);

/*
 * One-shot checksum of a buffer.  The nonce only matters to the encryption
 * types, which are not implemented yet: they, and unknown types, give a
 * zero checksum, so check bch_csum_type_valid() and
 * bch_csum_type_is_encryption() first.
 */
struct bch_csum bch_checksum(unsigned type, struct bch_nonce nonce,
			     const void *data, size_t len);

bool bch_csum_type_valid(unsigned type);
bool bch_csum_type_is_encryption(unsigned type);
/* Bytes of struct bch_csum the type uses; 0 for an unknown type. */
unsigned bch_csum_bytes(unsigned type);
/* "crc32c_nonzero", ...; "(unknown)" for an unknown type. */
const char *bch_csum_type_name(unsigned type);
const char *bch_csum_opt_name(unsigned opt);

/*
 * The checksum type an option value selects: metadata uses the inverted
 * (nonzero) CRCs, data the plain mergeable ones.  BCH_CSUM_NR for an
 * unknown option.
 */
enum bch_csum_type bch_csum_opt_to_type(unsigned opt, bool data);

/* Compares all 16 bytes, as unused bytes must be zero on disk. */
static inline bool bch_csum_eq(struct bch_csum a, struct bch_csum b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

static inline struct bch_nonce bch_nonce_null(void)
{
	return (struct bch_nonce) { { 0, 0, 0, 0 } };
}

#endif

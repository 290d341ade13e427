/* Checksums by on-disk type: CRC-32C and CRC-64 with bcachefs' seeds, XXH64; names and sizes. */
#include <stdalign.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "checksum/checksum.h"
#include "checksum/crc.h"
#include "util/errcode.h"

BCH_STATIC_ASSERT(sizeof(XXH64_state_t) <= sizeof(((struct bch_csum_state *) 0)->u.xxh64),
		  "bch_csum_state has room for an XXH64 state");
BCH_STATIC_ASSERT(alignof(XXH64_state_t) <= alignof(u64),
		  "XXH64 state fits u64 alignment");

enum csum_algo {
	CSUM_ALGO_none,
	CSUM_ALGO_crc32c,
	CSUM_ALGO_crc64,
	CSUM_ALGO_xxh64,
	CSUM_ALGO_mac,		/* ChaCha20/Poly1305: not implemented yet */
};

/*
 * How each type computes its value.  invert is both the initial register
 * and the final XOR: all ones for the *_nonzero types (making them the
 * standard CRC-32C and CRC-64/WE), zero for the mergeable data CRCs.
 * xxhash is XXH64 with seed 0.
 */
static const struct {
	u8 algo;
	u64 invert;
} csum_algos[BCH_CSUM_NR] = {
	[BCH_CSUM_none]			= { CSUM_ALGO_none,	0 },
	[BCH_CSUM_crc32c_nonzero]	= { CSUM_ALGO_crc32c,	0xffffffffULL },
	[BCH_CSUM_crc64_nonzero]	= { CSUM_ALGO_crc64,	~0ULL },
	[BCH_CSUM_chacha20_poly1305_80]	= { CSUM_ALGO_mac,	0 },
	[BCH_CSUM_chacha20_poly1305_128] = { CSUM_ALGO_mac,	0 },
	[BCH_CSUM_crc32c]		= { CSUM_ALGO_crc32c,	0 },
	[BCH_CSUM_crc64]		= { CSUM_ALGO_crc64,	0 },
	[BCH_CSUM_xxhash]		= { CSUM_ALGO_xxh64,	0 },
};

static const char * const csum_type_names[] = {
#define x(name, nr, bytes) [nr] = #name,
	BCH_CSUM_TYPES()
#undef x
};

static const u8 csum_type_bytes[] = {
#define x(name, nr, bytes) [nr] = bytes,
	BCH_CSUM_TYPES()
#undef x
};

static const char * const csum_opt_names[] = {
#define x(name, nr) [nr] = #name,
	BCH_CSUM_OPTS()
#undef x
};

bool bch_csum_type_valid(unsigned type)
{
	return type < BCH_CSUM_NR;
}

bool bch_csum_type_is_encryption(unsigned type)
{
	return type < BCH_CSUM_NR && csum_algos[type].algo == CSUM_ALGO_mac;
}

unsigned bch_csum_bytes(unsigned type)
{
	return type < BCH_CSUM_NR ? csum_type_bytes[type] : 0;
}

const char *bch_csum_type_name(unsigned type)
{
	return type < BCH_CSUM_NR ? csum_type_names[type] : "(unknown)";
}

const char *bch_csum_opt_name(unsigned opt)
{
	return opt < BCH_CSUM_OPT_NR ? csum_opt_names[opt] : "(unknown)";
}

/* Per option value: the type metadata is checksummed with, and data. */
static const u8 csum_opt_types[BCH_CSUM_OPT_NR][2] = {
	[BCH_CSUM_OPT_none]	= { BCH_CSUM_none,		BCH_CSUM_none },
	[BCH_CSUM_OPT_crc32c]	= { BCH_CSUM_crc32c_nonzero,	BCH_CSUM_crc32c },
	[BCH_CSUM_OPT_crc64]	= { BCH_CSUM_crc64_nonzero,	BCH_CSUM_crc64 },
	[BCH_CSUM_OPT_xxhash]	= { BCH_CSUM_xxhash,		BCH_CSUM_xxhash },
};

enum bch_csum_type bch_csum_opt_to_type(unsigned opt, bool data)
{
	return opt < BCH_CSUM_OPT_NR ? csum_opt_types[opt][data] : BCH_CSUM_NR;
}

static inline XXH64_state_t *csum_xxh(struct bch_csum_state *st)
{
	return (XXH64_state_t *) st->u.xxh64;
}

static unsigned csum_algo_of(const struct bch_csum_state *st)
{
	return st->type < BCH_CSUM_NR ? csum_algos[st->type].algo : CSUM_ALGO_none;
}

int bch_csum_init(struct bch_csum_state *st, unsigned type, struct bch_nonce nonce)
{
	memset(st, 0, sizeof(*st));
	st->type = type;

	if (type >= BCH_CSUM_NR)
		return -BCH_ERR_bad_argument;

	switch (csum_algos[type].algo) {
	case CSUM_ALGO_crc32c:
	case CSUM_ALGO_crc64:
		st->u.crc = csum_algos[type].invert;
		return 0;
	case CSUM_ALGO_xxh64:
		XXH64_reset(csum_xxh(st), 0);
		return 0;
	case CSUM_ALGO_mac:
		/*
		 * Poly1305 needs the filesystem key and the nonce; encrypted
		 * filesystems are not supported yet.
		 */
		return -BCH_ERR_encrypted;
	default:
		return 0;
	}
}

void bch_csum_update(struct bch_csum_state *st, const void *data, size_t len)
{
	switch (csum_algo_of(st)) {
	case CSUM_ALGO_crc32c:
		st->u.crc = bch_crc32c((u32) st->u.crc, data, len);
		break;
	case CSUM_ALGO_crc64:
		st->u.crc = bch_crc64_be(st->u.crc, data, len);
		break;
	case CSUM_ALGO_xxh64:
		XXH64_update(csum_xxh(st), data, len);
		break;
	}
}

struct bch_csum bch_csum_final(struct bch_csum_state *st)
{
	struct bch_csum ret = { 0, 0 };

	switch (csum_algo_of(st)) {
	case CSUM_ALGO_crc32c:
	case CSUM_ALGO_crc64:
		ret.lo = cpu_to_le64(st->u.crc ^ csum_algos[st->type].invert);
		break;
	case CSUM_ALGO_xxh64:
		ret.lo = cpu_to_le64(XXH64_digest(csum_xxh(st)));
		break;
	}
	return ret;
}

struct bch_csum bch_checksum(unsigned type, struct bch_nonce nonce,
			     const void *data, size_t len)
{
	struct bch_csum_state st;

	if (bch_csum_init(&st, type, nonce))
		return (struct bch_csum) { 0, 0 };

	bch_csum_update(&st, data, len);
	return bch_csum_final(&st);
}

/* String hash of dirent and xattr names: crc32c, crc64 or SipHash keyed by the hash seed. */
#include <string.h>
#include <sodium.h>

#include "checksum/crc.h"
#include "checksum/str_hash.h"
#include "util/errcode.h"

static const char * const str_hash_type_names[] = {
#define x(name, nr) [nr] = #name,
	BCH_STR_HASH_TYPES()
#undef x
};

static const char * const str_hash_opt_names[] = {
#define x(name, nr) [nr] = #name,
	BCH_STR_HASH_OPTS()
#undef x
};

bool bch_str_hash_type_valid(unsigned type)
{
	return type < BCH_STR_HASH_NR;
}

const char *bch_str_hash_type_name(unsigned type)
{
	return type < BCH_STR_HASH_NR ? str_hash_type_names[type] : "(unknown)";
}

const char *bch_str_hash_opt_name(unsigned opt)
{
	return opt < BCH_STR_HASH_OPT_NR ? str_hash_opt_names[opt] : "(unknown)";
}

/*
 * Per option value: the type without and with feature new_siphash (before
 * it, siphash meant the SHA-256-keyed variant).
 */
static const u8 str_hash_opt_types[BCH_STR_HASH_OPT_NR][2] = {
	[BCH_STR_HASH_OPT_crc32c]  = { BCH_STR_HASH_crc32c,	 BCH_STR_HASH_crc32c },
	[BCH_STR_HASH_OPT_crc64]   = { BCH_STR_HASH_crc64,	 BCH_STR_HASH_crc64 },
	[BCH_STR_HASH_OPT_siphash] = { BCH_STR_HASH_siphash_old, BCH_STR_HASH_siphash },
};

enum bch_str_hash_type bch_str_hash_opt_to_type(unsigned opt, bool new_siphash)
{
	return opt < BCH_STR_HASH_OPT_NR ? str_hash_opt_types[opt][new_siphash]
					 : BCH_STR_HASH_NR;
}

/*
 * The SipHash key.  siphash: bi_hash_seed (as stored, little-endian)
 * followed by 8 zero bytes.  siphash_old: the first 16 bytes of the
 * SHA-256 digest of those 8 seed bytes.
 */
static void str_hash_sip_key(unsigned type, const u8 seed[8], u8 key[BCH_SIPHASH_KEY_BYTES])
{
	u8 digest[crypto_hash_sha256_BYTES];

	if (type == BCH_STR_HASH_siphash) {
		memcpy(key, seed, 8);
		memset(key + 8, 0, 8);
		return;
	}

	/* SHA-256 has no CPU-dependent code in libsodium, so this cannot fail. */
	crypto_hash_sha256(digest, seed, 8);
	memcpy(key, digest, BCH_SIPHASH_KEY_BYTES);
}

/*
 * The CRC types start from the all-ones register run over the seed's 8
 * bytes; the names are then fed raw with no final inversion.
 */
int bch_str_hash_init(struct bch_str_hash_ctx *ctx, unsigned type, u64 seed)
{
	__le64 seed_le = cpu_to_le64(seed);
	u8 seed_bytes[8], key[BCH_SIPHASH_KEY_BYTES];

	memcpy(seed_bytes, &seed_le, 8);
	memset(ctx, 0, sizeof(*ctx));
	ctx->type = type;

	switch (type) {
	case BCH_STR_HASH_crc32c:
		ctx->u.crc32c = bch_crc32c(~0U, seed_bytes, 8);
		return 0;
	case BCH_STR_HASH_crc64:
		ctx->u.crc64 = bch_crc64_be(~0ULL, seed_bytes, 8);
		return 0;
	case BCH_STR_HASH_siphash_old:
	case BCH_STR_HASH_siphash:
		str_hash_sip_key(type, seed_bytes, key);
		bch_siphash_init(&ctx->u.sip, key);
		return 0;
	default:
		return -BCH_ERR_bad_argument;
	}
}

void bch_str_hash_update(struct bch_str_hash_ctx *ctx, const void *data, size_t len)
{
	switch (ctx->type) {
	case BCH_STR_HASH_crc32c:
		ctx->u.crc32c = bch_crc32c(ctx->u.crc32c, data, len);
		break;
	case BCH_STR_HASH_crc64:
		ctx->u.crc64 = bch_crc64_be(ctx->u.crc64, data, len);
		break;
	case BCH_STR_HASH_siphash_old:
	case BCH_STR_HASH_siphash:
		bch_siphash_update(&ctx->u.sip, data, len);
		break;
	}
}

/* The 64-bit hashes lose their top bit; crc32c is used as is. */
u64 bch_str_hash_final(struct bch_str_hash_ctx *ctx)
{
	switch (ctx->type) {
	case BCH_STR_HASH_crc32c:
		return ctx->u.crc32c;
	case BCH_STR_HASH_crc64:
		return ctx->u.crc64 >> 1;
	case BCH_STR_HASH_siphash_old:
	case BCH_STR_HASH_siphash:
		return bch_siphash_final(&ctx->u.sip) >> 1;
	default:
		return 0;
	}
}

/* Offsets 0 and 1 are kept free in every directory, so small hashes become 2. */
u64 bch_dirent_hash(unsigned type, u64 seed, const void *name, size_t len)
{
	struct bch_str_hash_ctx ctx;
	u64 h;

	bch_str_hash_init(&ctx, type, seed);
	bch_str_hash_update(&ctx, name, len);
	h = bch_str_hash_final(&ctx);
	return h > 2 ? h : 2;
}

/*
 * The xattr type byte and the name are hashed as two updates; for
 * SipHash that is not the same as hashing them concatenated.
 */
u64 bch_xattr_hash(unsigned type, u64 seed, u8 xattr_type, const void *name, size_t len)
{
	struct bch_str_hash_ctx ctx;

	bch_str_hash_init(&ctx, type, seed);
	bch_str_hash_update(&ctx, &xattr_type, 1);
	bch_str_hash_update(&ctx, name, len);
	return bch_str_hash_final(&ctx);
}

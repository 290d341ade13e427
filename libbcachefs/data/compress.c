/* Compressing and decompressing encoded extents: lz4, gzip (raw deflate) and zstd as the kernel frames them. */
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lz4hc.h>
#include <zlib.h>
#include <zstd.h>

#include "data/compress.h"
#include "util/errcode.h"

/* zlib's default memory level, which the kernel's deflate uses */
#define GZIP_MEM_LEVEL		8
/* zstd output room kept free past the frame, as the kernel keeps it */
#define ZSTD_SLACK		7
/* the le32 of the frame's exact length that precedes a zstd frame on disk */
#define ZSTD_LEN_BYTES		4

struct bch_compress_ctx {
	ZSTD_CCtx *zstd;
	void *lz4hc_state;
};

struct bch_compress_ctx *bch_compress_ctx_new(void)
{
	return calloc(1, sizeof(struct bch_compress_ctx));
}

void bch_compress_ctx_free(struct bch_compress_ctx *ctx)
{
	if (!ctx)
		return;
	ZSTD_freeCCtx(ctx->zstd);
	free(ctx->lz4hc_state);
	free(ctx);
}

unsigned bch_compression_opt_type(unsigned opt)
{
	static const u8 types[] = {
		[BCH_COMPRESSION_OPT_none]	= BCH_COMPRESSION_TYPE_none,
		[BCH_COMPRESSION_OPT_lz4]	= BCH_COMPRESSION_TYPE_lz4,
		[BCH_COMPRESSION_OPT_gzip]	= BCH_COMPRESSION_TYPE_gzip,
		[BCH_COMPRESSION_OPT_zstd]	= BCH_COMPRESSION_TYPE_zstd,
	};
	unsigned type = opt & 15, level = opt >> 4;

	if (type >= sizeof(types) || (!type && level))
		return BCH_COMPRESSION_TYPE_none;
	return types[type];
}

/*
 * One attempt: the output length (> 0), or <= 0 when it did not fit; a
 * negative value from lz4 is minus the input length that would fit.
 */
static long try_lz4(struct bch_compress_ctx *ctx, unsigned level, const void *src,
		    size_t src_len, void *dst, size_t dst_cap)
{
	if (level < LZ4HC_CLEVEL_MIN) {
		int in = src_len;
		int out = LZ4_compress_destSize(src, dst, &in, dst_cap);

		return (size_t)in < src_len ? -(long)in : out;
	}
	if (!ctx->lz4hc_state && !(ctx->lz4hc_state = malloc(LZ4_sizeofStateHC())))
		return 0;
	int out = LZ4_compress_HC_extStateHC(ctx->lz4hc_state, src, dst, src_len, dst_cap, level);

	return out ? out : -1;
}

static long try_gzip(unsigned level, const void *src, size_t src_len, void *dst, size_t dst_cap)
{
	z_stream s = {
		.next_in = (void *)src, .avail_in = src_len,
		.next_out = dst, .avail_out = dst_cap,
	};
	int zlevel = !level ? Z_DEFAULT_COMPRESSION : level > Z_BEST_COMPRESSION ?
		Z_BEST_COMPRESSION : (int)level;
	long ret = 0;

	/* negative window bits: a raw deflate stream, no zlib header */
	if (deflateInit2(&s, zlevel, Z_DEFLATED, -MAX_WBITS, GZIP_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	if (deflate(&s, Z_FINISH) == Z_STREAM_END)
		ret = s.total_out;
	deflateEnd(&s);
	return ret;
}

static long try_zstd(struct bch_compress_ctx *ctx, unsigned level, const void *src,
		     size_t src_len, void *dst, size_t dst_cap)
{
	/* the option's levels go to 15, zstd's to 22 */
	int zlevel = level * 3 / 2;
	size_t out;
	u32 len_le;

	if (dst_cap <= ZSTD_LEN_BYTES + ZSTD_SLACK)
		return 0;
	if (zlevel > ZSTD_maxCLevel())
		zlevel = ZSTD_maxCLevel();
	if (!ctx->zstd && !(ctx->zstd = ZSTD_createCCtx()))
		return 0;
	out = ZSTD_compressCCtx(ctx->zstd, (u8 *)dst + ZSTD_LEN_BYTES,
				dst_cap - ZSTD_LEN_BYTES - ZSTD_SLACK, src, src_len, zlevel);
	if (ZSTD_isError(out))
		return 0;
	len_le = cpu_to_le32(out);
	memcpy(dst, &len_le, sizeof(len_le));
	return out + ZSTD_LEN_BYTES;
}

static long try_compress(struct bch_compress_ctx *ctx, unsigned type, unsigned level,
			 const void *src, size_t src_len, void *dst, size_t dst_cap)
{
	switch (type) {
	case BCH_COMPRESSION_TYPE_lz4:
		return try_lz4(ctx, level, src, src_len, dst, dst_cap);
	case BCH_COMPRESSION_TYPE_gzip:
		return try_gzip(level, src, src_len, dst, dst_cap);
	case BCH_COMPRESSION_TYPE_zstd:
		return try_zstd(ctx, level, src, src_len, dst, dst_cap);
	}
	return 0;
}

int bch_compress(struct bch_compress_ctx *ctx, unsigned opt, unsigned block_bytes,
		 const void *src, size_t *src_len, void *dst, size_t dst_cap,
		 size_t *dst_len)
{
	unsigned type = bch_compression_opt_type(opt), level = opt >> 4;
	size_t in = *src_len, out, padded;
	long r;

	if (!type || !ctx)
		return BCH_COMPRESSION_TYPE_incompressible;
	if (dst_cap > in)
		dst_cap = in;
	for (;;) {
		if (in <= block_bytes)
			return BCH_COMPRESSION_TYPE_incompressible;
		r = try_compress(ctx, type, level, src, in, dst, dst_cap);
		if (r > 0)
			break;
		if (in <= dst_cap)
			return BCH_COMPRESSION_TYPE_incompressible;
		in = r < 0 ? (size_t)-r : in - (in - dst_cap) / 2;
		in -= in % block_bytes;
	}
	out = r;
	padded = (out + block_bytes - 1) / block_bytes * block_bytes;
	if (padded >= in)
		return BCH_COMPRESSION_TYPE_incompressible;
	memset((u8 *)dst + out, 0, padded - out);
	*src_len = in;
	*dst_len = padded;
	return type;
}

static int inflate_raw(const void *src, size_t src_len, void *dst, size_t dst_len)
{
	z_stream s = {
		.next_in = (void *)src, .avail_in = src_len,
		.next_out = dst, .avail_out = dst_len,
	};
	int ret;

	if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
		return -BCH_ERR_nomem;
	ret = inflate(&s, Z_FINISH);
	inflateEnd(&s);
	return ret == Z_STREAM_END && s.total_out == dst_len ? 0 : -BCH_ERR_decompress;
}

static int unzstd(const void *src, size_t src_len, void *dst, size_t dst_len)
{
	u32 len_le;
	size_t len, out;

	if (src_len < ZSTD_LEN_BYTES)
		return -BCH_ERR_decompress;
	memcpy(&len_le, src, sizeof(len_le));
	len = le32_to_cpu(len_le);
	if (len > src_len - ZSTD_LEN_BYTES)
		return -BCH_ERR_decompress;
	out = ZSTD_decompress(dst, dst_len, (const u8 *)src + ZSTD_LEN_BYTES, len);
	return !ZSTD_isError(out) && out == dst_len ? 0 : -BCH_ERR_decompress;
}

int bch_decompress(unsigned type, const void *src, size_t src_len, void *dst, size_t dst_len)
{
	switch (type) {
	case BCH_COMPRESSION_TYPE_lz4_old:
	case BCH_COMPRESSION_TYPE_lz4:
		return LZ4_decompress_safe_partial(src, dst, src_len, dst_len, dst_len) ==
			(int)dst_len ? 0 : -BCH_ERR_decompress;
	case BCH_COMPRESSION_TYPE_gzip:
		return inflate_raw(src, src_len, dst, dst_len);
	case BCH_COMPRESSION_TYPE_zstd:
		return unzstd(src, src_len, dst, dst_len);
	}
	return -BCH_ERR_decompress;
}

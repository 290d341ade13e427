/* Compressing and decompressing encoded extents: lz4, gzip (raw deflate) and zstd as the kernel frames them. */
#ifndef BCH_DATA_COMPRESS_H
#define BCH_DATA_COMPRESS_H

#include <stddef.h>

#include "bcachefs/format.h"

/* Biggest output a compressor is given: the encoded extent limit's range. */
#define BCH_COMPRESS_MAX_BYTES	(2U << 20)

/* Reusable compressor state (zstd contexts, scratch), one per writer. */
struct bch_compress_ctx;

struct bch_compress_ctx *bch_compress_ctx_new(void);
void bch_compress_ctx_free(struct bch_compress_ctx *);

/*
 * Compresses a prefix of src into dst with the compression option `opt`
 * (type | level << 4), as the kernel decides:
 *  - *src_len bytes offered (block multiple) and dst_cap bytes of room
 *    (at most *src_len is used);
 *  - one block or less is not worth trying;
 *  - when the output does not fit, a shorter prefix is tried (lz4 says
 *    how much fits; others halve the excess), in whole blocks;
 *  - the result must save at least one block once padded to blocks.
 * Returns the compression type (BCH_COMPRESSION_TYPE_lz4/gzip/zstd) with
 * *src_len the bytes consumed and *dst_len the output padded with zeros
 * to a block, or BCH_COMPRESSION_TYPE_incompressible (src_len and
 * dst_len untouched).  -BCH_ERR_nomem when a context cannot be made.
 */
int bch_compress(struct bch_compress_ctx *ctx, unsigned opt, unsigned block_bytes,
		 const void *src, size_t *src_len, void *dst, size_t dst_cap,
		 size_t *dst_len);

/*
 * Decompresses src (src_len bytes as stored, padding included) of type
 * into exactly dst_len bytes.  0 or -BCH_ERR_decompress.
 */
int bch_decompress(unsigned type, const void *src, size_t src_len, void *dst, size_t dst_len);

/* The compression type an option value selects (0 for none or an invalid one). */
unsigned bch_compression_opt_type(unsigned opt);

static inline bool bch_compression_is_encoded(unsigned type)
{
	return type != BCH_COMPRESSION_TYPE_none && type != BCH_COMPRESSION_TYPE_incompressible;
}

#endif

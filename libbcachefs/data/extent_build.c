/* Building extent keys as the kernel's write path does: checksum entry, pointers, rebalance entry. */
#include <string.h>

#include "data/extent_build.h"
#include "alloc/derive.h"
#include "checksum/checksum.h"
#include "data/compress.h"
#include "util/errcode.h"

void bch_key_init(struct bkey_i *k, unsigned type, struct bpos pos, u32 size, unsigned val_u64s)
{
	memset(k, 0, sizeof(k->k) + val_u64s * 8);
	k->k.u64s = BKEY_U64s + val_u64s;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = type;
	k->k.p = pos;
	k->k.size = size;
}

static u64 *val_end(struct bkey_i *k)
{
	return (u64 *)k + k->k.u64s;
}

static void crc32_pack(u64 *e, const struct bch_extent_crc *c)
{
	struct bch_extent_crc32 *p = (void *)e;

	p->v = cpu_to_le64(1ULL << BCH_EXTENT_ENTRY_crc32);
	set_crc32_compressed_size(p, c->compressed_size - 1);
	set_crc32_uncompressed_size(p, c->uncompressed_size - 1);
	set_crc32_offset(p, c->offset);
	set_crc32_csum_type(p, c->csum_type);
	set_crc32_compression_type(p, c->compression_type);
	set_crc32_csum(p, (u32)c->csum.lo);
}

static void crc64_pack(u64 *e, const struct bch_extent_crc *c)
{
	struct bch_extent_crc64 *p = (void *)e;

	p->v = cpu_to_le64(1ULL << BCH_EXTENT_ENTRY_crc64);
	set_crc64_compressed_size(p, c->compressed_size - 1);
	set_crc64_uncompressed_size(p, c->uncompressed_size - 1);
	set_crc64_offset(p, c->offset);
	set_crc64_nonce(p, c->nonce);
	set_crc64_csum_type(p, c->csum_type);
	set_crc64_compression_type(p, c->compression_type);
	/* 80 bits: the low 64 in their own word, 16 more beside the fields */
	p->csum_lo = cpu_to_le64(c->csum.lo);
	set_crc64_csum_hi(p, c->csum.hi & 0xffff);
}

static void crc128_pack(u64 *e, const struct bch_extent_crc *c)
{
	struct bch_extent_crc128 *p = (void *)e;

	p->v = cpu_to_le64(1ULL << BCH_EXTENT_ENTRY_crc128);
	set_crc128_compressed_size(p, c->compressed_size - 1);
	set_crc128_uncompressed_size(p, c->uncompressed_size - 1);
	set_crc128_offset(p, c->offset);
	set_crc128_nonce(p, c->nonce);
	set_crc128_csum_type(p, c->csum_type);
	set_crc128_compression_type(p, c->compression_type);
	p->csum = c->csum;
}

static bool crc_fits(const struct bch_extent_crc *c, unsigned csum_bytes, unsigned size_max,
		     unsigned nonce_max)
{
	return bch_csum_bytes(c->csum_type) <= csum_bytes && c->uncompressed_size <= size_max &&
	       c->nonce <= nonce_max;
}

int bch_extent_crc_append(struct bkey_i *k, const struct bch_extent_crc *c)
{
	u64 *e = val_end(k);
	unsigned type;

	if (crc_fits(c, 4, BCH_CRC32_SIZE_MAX, BCH_CRC32_NONCE_MAX))
		type = BCH_EXTENT_ENTRY_crc32;
	else if (crc_fits(c, 10, BCH_CRC64_SIZE_MAX, BCH_CRC64_NONCE_MAX))
		type = BCH_EXTENT_ENTRY_crc64;
	else if (crc_fits(c, 16, BCH_CRC128_SIZE_MAX, BCH_CRC128_NONCE_MAX))
		type = BCH_EXTENT_ENTRY_crc128;
	else
		type = 0;
	if (!type || !c->compressed_size || !c->uncompressed_size)
		return -BCH_ERR_bad_argument;

	memset(e, 0, bch_extent_entry_u64s(type) * 8);
	if (type == BCH_EXTENT_ENTRY_crc32)
		crc32_pack(e, c);
	else if (type == BCH_EXTENT_ENTRY_crc64)
		crc64_pack(e, c);
	else
		crc128_pack(e, c);
	k->k.u64s += bch_extent_entry_u64s(type);
	return 0;
}

void bch_extent_ptr_append(struct bkey_i *k, struct bch_extent_ptr ptr)
{
	memcpy(val_end(k), &ptr, sizeof(ptr));
	k->k.u64s++;
}

/* The rebalance entry of k, or NULL. */
static struct bch_extent_rebalance *rebalance_find(struct bkey_i *k)
{
	struct bkey_ptrs_c ptrs = bch_bkey_ptrs(bkey_i_to_s_c(k));

	for (const u64 *e = ptrs.start; e < ptrs.end;) {
		unsigned type = bch_extent_entry_type(e, ptrs.end);

		if (type == BCH_EXTENT_ENTRY_MAX)
			break;
		if (type == BCH_EXTENT_ENTRY_rebalance)
			return (struct bch_extent_rebalance *)e;
		e += bch_extent_entry_u64s(type);
	}
	return NULL;
}

static void rebalance_drop(struct bkey_i *k, struct bch_extent_rebalance *r)
{
	u64 *end = val_end(k), *e = (u64 *)r;

	memmove(e, e + 1, (end - e - 1) * 8);
	k->k.u64s--;
}

void bch_extent_set_needs_rebalance(const struct bch_fs *c, struct bkey_i *k,
				    const struct bch_io_opts *opts)
{
	unsigned compression = bch_io_opts_bg_compression(opts);
	unsigned target = opts->background_target;
	struct bch_extent_rebalance *r;

	if (k->k.type != KEY_TYPE_extent)
		return;
	r = rebalance_find(k);
	if (!r) {
		r = (struct bch_extent_rebalance *)val_end(k);
		r->v = cpu_to_le64(1ULL << BCH_EXTENT_ENTRY_rebalance);
		k->k.u64s++;
	}
	set_rebalance_compression(r, compression);
	set_rebalance_target(r, target);
	/*
	 * The work an entry with these options implies is exactly what the
	 * kernel's pointer test finds (every counted pointer has sectors).
	 */
	if (!bch_key_sectors_need_rebalance(c, bkey_i_to_s_c(k)))
		rebalance_drop(k, r);
}

/* Key types that stand for allocated (or reserved) file space. */
#define ALLOCATION_KEY_TYPES						\
	(KT(extent) | KT(reservation) | KT(reflink_p) | KT(reflink_v) |	\
	 KT(inline_data) | KT(indirect_inline_data) | KT(error))

bool bch_key_is_allocation(const struct bkey *k)
{
	return k->type < 64 && (ALLOCATION_KEY_TYPES & (1ULL << k->type));
}

unsigned bch_key_ptrs_fully_allocated(struct bkey_s_c k)
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	unsigned n = 0;

	if (k.k->type == KEY_TYPE_reservation)
		return ((const struct bch_reservation *)k.v)->nr_replicas;
	bch_ptr_iter_init(&it, k);
	while (bch_ptr_iter_next(&it, &p))
		if (!ptr_cached(&p.ptr) && !bch_compression_is_encoded(p.crc.compression_type))
			n++;
	return n;
}

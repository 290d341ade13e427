/* Erasure-coded stripe keys: checks and text form. */
#include "checksum/checksum.h"
#include "keys/extents.h"
#include "keys/key_ops.h"
#include "util/names.h"

/*
 * After the header and the block pointers come, per block, one checksum
 * per csum granule of the stripe, then per block a le16 count of live
 * sectors.
 */
static u64 csums_per_block(const struct bch_stripe *s)
{
	u64 granule = 1ULL << (s->csum_granularity_bits & 63);

	return (le16_to_cpu(s->sectors) + granule - 1) / granule;
}

static u64 blockcount_offset(const struct bch_stripe *s, unsigned idx)
{
	return sizeof(*s) + 8ULL * s->nr_blocks +
		(u64)s->nr_blocks * csums_per_block(s) * bch_csum_bytes(s->csum_type) +
		2ULL * idx;
}

static u64 stripe_val_u64s(const struct bch_stripe *s)
{
	return (blockcount_offset(s, s->nr_blocks) + 7) / 8;
}

/* Stripe ids are u32s, never 0. */
int bch_stripe_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_stripe s;

	bkey_val_copy(&s, sizeof(s), k);
	if (!bkey_pos_cmp(k.k->p, POS_MIN) || bpos_gt(k.k->p, POS(0, UINT32_MAX)))
		return bkey_invalid(chk, BCH_FSERR_stripe_pos_bad, "stripe at bad pos");
	if (bkey_val_u64s(k.k) < stripe_val_u64s(&s))
		return bkey_invalid(chk, BCH_FSERR_stripe_val_size_bad,
				    "incorrect value size (%u < %llu)", bkey_val_u64s(k.k),
				    (unsigned long long)stripe_val_u64s(&s));
	return bch_bkey_ptrs_validate(chk, k);
}

void bch_stripe_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_stripe s;
	unsigned bytes = bkey_val_bytes(k.k);
	unsigned nr_data;

	bkey_val_copy(&s, sizeof(s), k);
	nr_data = s.nr_blocks - s.nr_redundant;

	pb_printf(out, "algo %u sectors %u blocks %u:%u csum ", s.algorithm,
		  le16_to_cpu(s.sectors), nr_data, s.nr_redundant);
	bch_prt_name(out, bch_csum_type_names, BCH_CSUM_NR, "csum_type", s.csum_type);
	/* the shift as x86 does it: only its low 5 bits count */
	pb_printf(out, " gran %u", 1U << (s.csum_granularity_bits & 31));
	if (s.disk_label) {
		pb_str(out, " label");
		bch_disk_path_to_text(out, c, s.disk_label - 1);
	}

	for (unsigned i = 0; i < s.nr_blocks; i++) {
		const u8 *ptr = (const u8 *)k.v + sizeof(s) + 8 * i;
		u64 off = blockcount_offset(&s, i);

		if (ptr + 8 > (const u8 *)bkey_val_end(k))
			break;
		pb_char(out, ' ');
		bch_extent_ptr_to_text(out, c, (const void *)ptr);
		if (s.csum_type < BCH_CSUM_NR && i < nr_data && off + 2 <= bytes)
			pb_printf(out, "#%u", ((const u8 *)k.v)[off] |
				  ((const u8 *)k.v)[off + 1] << 8);
	}
}

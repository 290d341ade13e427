/* Checksums of btree node writes, shared by the node reader and writer. */
#include "bset.h"
#include "checksum/checksum.h"

struct bch_csum bch_bset_csum(const void *start, const struct bset *i, size_t hdr_bytes,
			      unsigned byte_offset)
{
	u64 seq = le64_to_cpu(i->seq);
	struct bch_nonce nonce = { {
		byte_offset, (u32)seq, (u32)(seq >> 32),
		(u32)le64_to_cpu(i->journal_seq) ^ BCH_NONCE_BTREE,
	} };

	return bch_checksum(bset_csum_type(i), nonce,
			    (const u8 *)start + sizeof(struct bch_csum),
			    bch_bset_write_bytes(i, hdr_bytes) - sizeof(struct bch_csum));
}

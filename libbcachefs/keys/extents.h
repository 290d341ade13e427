/* Extent entries (pointers, checksum, stripe and rebalance entries) and keys made of them. */
#ifndef BCH_KEYS_EXTENTS_H
#define BCH_KEYS_EXTENTS_H

#include "keys/key_types.h"

#define BCH_REPLICAS_MAX	4U	/* pointers of a btree node pointer */
#define BCH_BKEY_PTRS_MAX	16U	/* pointers of any key */

/*
 * A checksum entry of any width, decoded.  Data without one is stored as
 * is: no checksum, no compression, sizes equal to the key's size.
 */
struct bch_extent_crc {
	u32 compressed_size;	/* sectors on disk */
	u32 uncompressed_size;	/* sectors once decompressed */
	u32 live_size;		/* the key's size */
	u32 offset;		/* of the key's data within the uncompressed data */
	u32 nonce;
	u8 csum_type;
	u8 compression_type;
	struct bch_csum csum;
};

/* Checksummed or compressed: read only whole, so at most encoded_extent_max long. */
bool bch_crc_is_encoded(const struct bch_extent_crc *);

/* The run of extent entries of a key, as u64 words; empty for other types. */
struct bkey_ptrs_c {
	const u64 *start;
	const u64 *end;
};

struct bkey_ptrs_c bch_bkey_ptrs(struct bkey_s_c);

/* Size of an entry of a known type, in u64s. */
unsigned bch_extent_entry_u64s(unsigned type);

/*
 * The type of the entry at e: the lowest set bit of its first word.
 * BCH_EXTENT_ENTRY_MAX when the word is zero, the type unknown, or the
 * entry runs past end.
 */
unsigned bch_extent_entry_type(const u64 *e, const u64 *end);

/* Decodes a crc32/crc64/crc128 entry; e NULL gives the defaults for k. */
struct bch_extent_crc bch_extent_crc_unpack(const struct bkey *k, const u64 *e,
					    unsigned type);

/* A pointer with the checksum entry and stripe entry that apply to it. */
struct extent_ptr_decoded {
	struct bch_extent_ptr ptr;
	struct bch_extent_crc crc;
	bool has_ec;
	struct bch_extent_stripe_ptr ec;
};

/* Walks a key's pointers in order; stops at the first invalid entry. */
struct bch_ptr_iter {
	const struct bkey *k;
	const u64 *pos;
	const u64 *end;
	struct bch_extent_crc crc;
};

void bch_ptr_iter_init(struct bch_ptr_iter *, struct bkey_s_c);
bool bch_ptr_iter_next(struct bch_ptr_iter *, struct extent_ptr_decoded *);

/* Copies of the data the key's pointers guarantee, as the kernel counts them. */
unsigned bch_bkey_durability(const struct bch_fs *, struct bkey_s_c);

/* "ptr: 0:54:8 gen 0": device, bucket, offset in bucket (sectors), generation. */
void bch_extent_ptr_to_text(struct printbuf *, const struct bch_fs *,
			    const struct bch_extent_ptr *);
void bch_extent_crc_to_text(struct printbuf *, const struct bch_extent_crc *);
/* The entries of any key that has pointers, preceded by its durability. */
void bch_bkey_ptrs_to_text(struct printbuf *, const struct bch_fs *, struct bkey_s_c);

/* "none", "/dev/<name>" or a disk label path: where a target points. */
void bch_target_to_text(struct printbuf *, const struct bch_fs *, unsigned target);
/* A disk label path ("ssd.fast") from the superblock's disk groups. */
void bch_disk_path_to_text(struct printbuf *, const struct bch_fs *, unsigned group);
/* A compression option value: type in the low 4 bits, level above. */
void bch_compression_opt_to_text(struct printbuf *, unsigned v);

/*
 * Drops the pointers of k whose bit (their index, in order) is set in
 * mask, as the kernel drops pointers gc cannot count: the checksum entry
 * no other pointer uses and the stripe entry go with a pointer; an erasure
 * coded pointer stays, pointing to no device.  A key whose last dirty
 * pointer went becomes an error key (the data is lost); one left with no
 * pointer at all is deleted.
 */
void bch_extent_drop_ptrs(struct bkey_i *k, u32 mask);

/*
 * Drops the stripe entries of k whose stripe missing(ctx, idx) says does
 * not exist; the data pointers they described stay, as plain pointers (the
 * kernel's gc repair of ptr_to_missing_stripe).  The number dropped.
 */
unsigned bch_extent_drop_stripes(struct bkey_i *k, bool (*missing)(void *ctx, u64 idx), void *ctx);

/* Gives pointer number idx generation gen; false when k has no such pointer. */
bool bch_extent_ptr_set_gen(struct bkey_i *k, unsigned idx, u8 gen);

/* Checks the entries of a key, as the kernel does for every key with pointers. */
int bch_bkey_ptrs_validate(struct bkey_check *, struct bkey_s_c);

#endif

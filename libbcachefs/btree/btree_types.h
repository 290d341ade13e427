/* In-memory btree nodes: a node read from disk, its bsets merged into one sorted array of unpacked keys. */
#ifndef BCH_BTREE_BTREE_TYPES_H
#define BCH_BTREE_BTREE_TYPES_H

#include "bkey/bkey.h"

/*
 * A node as read: `data` is the raw node (sectors_written sectors), `keys`
 * the live keys of all its bsets merged in position order (newest bset
 * wins at equal positions, deleted keys dropped), values pointing into
 * `data`.  Buffers are reused when a struct btree is refilled, so walking a
 * btree allocates nothing per key or per node once warm.
 */
struct btree {
	enum btree_id btree_id;
	u8 level;
	struct bpos min_key;
	struct bpos max_key;
	u64 seq;			/* bset seq (btree_ptr_v2.seq) */
	u64 node_seq;			/* header flags SEQ: generation */
	u64 max_journal_seq;
	unsigned written;		/* sectors of valid bsets */
	unsigned nr_bsets;
	struct bkey_format format;
	struct bkey_unpacker unpacker;

	/* the pointer this node was read through (btree_ptr_v2 or btree_ptr) */
	union {
		struct bkey_i key;
		u8 _key_buf[sizeof(struct bkey) + 8 * 40];
	};
	u8 dev;				/* device it was read from */
	u64 sector;

	void *data;
	size_t data_size;		/* allocated bytes */

	struct bkey *keys;
	const void **vals;
	size_t nr_keys;
	size_t keys_size;		/* allocated entries */

	/* live keys as stored: u64s, and how many were packed or not */
	size_t live_u64s;
	size_t nr_packed;
	size_t nr_unpacked;
	/* the read dropped keys (invalid): a flush rewrites it whole, never appends */
	bool dropped_keys;
	/*
	 * The pointer has BTREE_PTR_RANGE_UPDATED (fsck moved the node's
	 * bounds): min_key and max_key are the pointer's, not the header's,
	 * and a flush rewrites the node whole.
	 */
	bool range_updated;
	/* why the last read failed: a bch_sb_error_id (0 when it did not) */
	u16 read_err;
	/* this read takes bsets whose checksum is wrong; it did (csum_bad) */
	bool csum_tolerate;
	bool csum_bad;
	/*
	 * a fault fsck reads past, as the kernel's does (a bset at the wrong
	 * sector offset, one older than the superblock's version_min): its
	 * type, 0 for none, and what it was
	 */
	u16 fixable_err;
	char fixable_msg[128];
	/* read by the read-ahead thread: it stops at anything to report */
	bool quiet;

	/* node cache (btree/cache.c) */
	u64 hash;
	unsigned pins;
	struct btree *lru_prev, *lru_next;
	bool in_lru;
};

/*
 * In memory only, struct bkey's pad byte says whether the key was packed
 * in its node (its stored size then is key_u64s, not BKEY_U64s).
 */
#define BKEY_PAD_WAS_PACKED	1

static inline struct bkey_s_c btree_key(const struct btree *b, size_t i)
{
	return (struct bkey_s_c) { &b->keys[i], b->vals[i] };
}

#endif

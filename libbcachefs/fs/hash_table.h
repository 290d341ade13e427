/* Hashed btrees (dirents, xattrs): linear probing from the name's hash, whiteouts where a probe chain continues. */
#ifndef BCH_FS_HASH_TABLE_H
#define BCH_FS_HASH_TABLE_H

#include "fs/ns_types.h"
#include "bkey/bkey.h"

/* Room for any key: a key's u64s field is 8 bits. */
#define BCH_HASH_KEY_U64s	256

/*
 * A table is the keys of one inode (directory or file) in btree; the
 * entries are keys of key_type, each at the first free slot at or after
 * the hash of its name.  A deleted entry whose slot a later entry's probe
 * chain passes through leaves a hash_whiteout, which probes step over.
 */
struct bch_hash_desc {
	enum btree_id btree;
	u8 key_type;
	/* the hash (start slot) of an entry */
	u64 (*hash_bkey)(const struct bch_hash_info *, struct bkey_s_c);
	/* the entry is the one the search key names */
	bool (*matches)(struct bkey_s_c, const void *search);
	/* two entries have one name (a table holds one of them) */
	bool (*same_entry)(struct bkey_s_c, struct bkey_s_c);
};

/* Insert modes */
#define BCH_HASH_MUST_CREATE	(1U << 0)	/* an existing entry is an error (EEXIST) */
#define BCH_HASH_MUST_REPLACE	(1U << 1)	/* a missing entry is an error (ENOENT) */

/*
 * The entry `search` names (its hash `hash`) in inum's table, as the
 * session's transaction sees it: 1 with the key in out (BCH_HASH_KEY_U64s
 * u64s) and its offset in *pos, 0 when absent, or a negative error.
 */
int bch_hash_lookup(struct bch_ns *, const struct bch_hash_desc *, const struct bch_hash_info *,
		    u64 inum, u64 hash, const void *search, struct bkey_i *out, u64 *pos,
		    struct printbuf *err);

/*
 * Queues k as the entry `search` names: over the existing entry, else in
 * the first whiteout or empty slot of the probe chain.  k's position is
 * set; *pos its offset.  Errors: -BCH_ERR_exists (MUST_CREATE),
 * -BCH_ERR_not_found (MUST_REPLACE), -BCH_ERR_str_hash_full.
 */
int bch_hash_insert(struct bch_ns *, const struct bch_hash_desc *, const struct bch_hash_info *,
		    u64 inum, u64 hash, const void *search, struct bkey_i *k, unsigned mode,
		    u64 *pos, struct printbuf *err);

/* The first slot from hash on holding no entry (empty or whiteout). */
int bch_hash_hole(struct bch_ns *, const struct bch_hash_desc *, u64 inum, u64 hash,
		  u64 *pos, struct printbuf *err);

/*
 * Deleting the entry at offset needs a whiteout: some entry further along
 * the run of occupied slots hashes at or before offset.  1, 0, or an error.
 */
int bch_hash_needs_whiteout(struct bch_ns *, const struct bch_hash_desc *,
			    const struct bch_hash_info *, u64 inum, u64 offset,
			    struct printbuf *err);

/* Queues the deletion of the entry at offset: a hash_whiteout or a plain delete. */
int bch_hash_delete_at(struct bch_ns *, const struct bch_hash_desc *,
		       const struct bch_hash_info *, u64 inum, u64 offset, struct printbuf *err);

#endif

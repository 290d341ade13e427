/* Hashed btrees (dirents, xattrs): linear probing from the name's hash, whiteouts where a probe chain continues. */
#include <string.h>

#include "fs/hash_table.h"
#include "fs/fs_ops.h"
#include "keys/key_types.h"
#include "util/errcode.h"

enum slot_state { SLOT_EMPTY, SLOT_WHITEOUT, SLOT_ENTRY, SLOT_OTHER };

/* The key at (inum, offset) the session's snapshot sees, and what it is (a snapshot whiteout: other). */
static int slot_read(struct bch_ns *ns, const struct bch_hash_desc *d, u64 inum, u64 offset,
		     struct bkey_i *k, enum slot_state *state, struct printbuf *err)
{
	int ret = bch_ns_key_get(ns, d->btree, inum, offset, k, BCH_HASH_KEY_U64s, err);

	if (ret < 0)
		return ret;
	if (!ret)
		*state = SLOT_EMPTY;
	else if (k->k.type == KEY_TYPE_hash_whiteout)
		*state = SLOT_WHITEOUT;
	else if (k->k.type == d->key_type)
		*state = SLOT_ENTRY;
	else
		*state = SLOT_OTHER;
	return 0;
}

static int chain_end(u64 inum, struct printbuf *err)
{
	pb_printf(err, "inode %llu: hash table probe reached the last slot",
		  (unsigned long long)inum);
	return -BCH_ERR_str_hash_full;
}

int bch_hash_lookup(struct bch_ns *ns, const struct bch_hash_desc *d,
		    const struct bch_hash_info *info, u64 inum, u64 hash, const void *search,
		    struct bkey_i *out, u64 *pos, struct printbuf *err)
{
	for (u64 off = hash; off != ~0ULL; off++) {
		enum slot_state st;
		int ret = slot_read(ns, d, inum, off, out, &st, err);

		if (ret)
			return ret;
		if (st == SLOT_ENTRY && d->matches(bkey_i_to_s_c(out), search)) {
			*pos = off;
			return 1;
		}
		if (st == SLOT_EMPTY || st == SLOT_OTHER)
			return 0;
	}
	return 0;
}

int bch_hash_insert(struct bch_ns *ns, const struct bch_hash_desc *d,
		    const struct bch_hash_info *info, u64 inum, u64 hash, const void *search,
		    struct bkey_i *k, unsigned mode, u64 *pos, struct printbuf *err)
{
	u64 buf[BCH_HASH_KEY_U64s], off, free_slot = ~0ULL;
	struct bkey_i *cur = (struct bkey_i *)buf;
	bool found = false;

	for (off = hash; off != ~0ULL; off++) {
		enum slot_state st;
		int ret = slot_read(ns, d, inum, off, cur, &st, err);

		if (ret)
			return ret;
		if (st == SLOT_ENTRY) {
			if (d->matches(bkey_i_to_s_c(cur), search)) {
				found = true;
				break;
			}
			continue;	/* a collision: probe on */
		}
		if (free_slot == ~0ULL)
			free_slot = off;
		if (st != SLOT_WHITEOUT)
			break;
	}
	if (off == ~0ULL && free_slot == ~0ULL)
		return chain_end(inum, err);
	if (found && (mode & BCH_HASH_MUST_CREATE)) {
		pb_printf(err, "inode %llu: the entry exists", (unsigned long long)inum);
		return -BCH_ERR_exists;
	}
	if (!found && (mode & BCH_HASH_MUST_REPLACE)) {
		pb_printf(err, "inode %llu: no such entry", (unsigned long long)inum);
		return -BCH_ERR_not_found;
	}
	*pos = found ? off : free_slot;
	k->k.p = SPOS(inum, *pos, ns->snapshot);
	return bch_trans_update(&ns->t, d->btree, 0, k, 0);
}

int bch_hash_hole(struct bch_ns *ns, const struct bch_hash_desc *d, u64 inum, u64 hash,
		  u64 *pos, struct printbuf *err)
{
	u64 buf[BCH_HASH_KEY_U64s];

	for (u64 off = hash; off != ~0ULL; off++) {
		enum slot_state st;
		int ret = slot_read(ns, d, inum, off, (struct bkey_i *)buf, &st, err);

		if (ret)
			return ret;
		if (st != SLOT_ENTRY) {
			*pos = off;
			return 0;
		}
	}
	return chain_end(inum, err);
}

int bch_hash_needs_whiteout(struct bch_ns *ns, const struct bch_hash_desc *d,
			    const struct bch_hash_info *info, u64 inum, u64 offset,
			    struct printbuf *err)
{
	u64 buf[BCH_HASH_KEY_U64s];
	struct bkey_i *k = (struct bkey_i *)buf;

	for (u64 off = offset + 1; off && off != ~0ULL; off++) {
		enum slot_state st;
		int ret = slot_read(ns, d, inum, off, k, &st, err);

		if (ret)
			return ret;
		if (st == SLOT_EMPTY || st == SLOT_OTHER)
			return 0;
		if (st == SLOT_ENTRY && d->hash_bkey(info, bkey_i_to_s_c(k)) <= offset)
			return 1;
	}
	return 0;
}

int bch_hash_delete_at(struct bch_ns *ns, const struct bch_hash_desc *d,
		       const struct bch_hash_info *info, u64 inum, u64 offset,
		       struct printbuf *err)
{
	struct bkey_i k;
	int ret = bch_hash_needs_whiteout(ns, d, info, inum, offset, err);

	if (ret < 0)
		return ret;
	memset(&k, 0, sizeof(k));
	k.k.u64s = BKEY_U64s;
	k.k.format_whiteout = KEY_FORMAT_CURRENT;
	k.k.type = ret ? KEY_TYPE_hash_whiteout : KEY_TYPE_deleted;
	k.k.p = SPOS(inum, offset, ns->snapshot);
	return bch_trans_update(&ns->t, d->btree, 0, &k, 0);
}

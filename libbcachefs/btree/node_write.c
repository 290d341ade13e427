/* Serializing btree nodes: header, bsets of packed keys, block padding and checksums; no device I/O. */
#include <string.h>

#include "node_write.h"
#include "bset.h"
#include "bkey/format_calc.h"
#include "checksum/checksum.h"
#include "util/errcode.h"

/* Where one write goes in the node buffer and what it is made of. */
struct bset_write {
	u8 *start;			/* btree_node or btree_node_entry */
	struct bset *i;
	size_t hdr_bytes;
	size_t room;			/* bytes from start to the end of the node */
	unsigned offset;		/* sectors from the start of the node */
};

static size_t block_bytes(const struct bch_fs *c)
{
	return (size_t)c->sb.block_size << 9;
}

/* The metadata checksum type, or a negative error. */
static int meta_csum_type(const struct bch_fs *c, struct printbuf *err)
{
	enum bch_csum_type type;

	if (c->sb.encryption_type) {
		pb_str(err, "writing btree nodes of an encrypted filesystem is not supported yet");
		return -BCH_ERR_encrypted;
	}
	type = bch_csum_opt_to_type(c->sb.meta_csum_type, false);
	if (type >= BCH_CSUM_NR) {
		pb_printf(err, "unknown metadata checksum option %u", c->sb.meta_csum_type);
		return -BCH_ERR_unsupported;
	}
	return type;
}

static int check_key(const struct bch_bset_keys *keys, size_t n, struct printbuf *err)
{
	const struct bkey *k = &keys->keys[n];

	/* u64s is a u8: BKEY_U64s_MAX bounds it already */
	if (k->u64s < BKEY_U64s) {
		pb_printf(err, "key %zu has bad size %u u64s", n, k->u64s);
		return -BCH_ERR_bad_argument;
	}
	if (n && !bpos_lt(keys->keys[n - 1].p, k->p)) {
		pb_printf(err, "key %zu at ", n);
		bch_bpos_to_text(err, k->p);
		pb_str(err, " does not come after the key before it");
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

/*
 * Writes key k (and its value) at out, packed if it fits f; returns the
 * u64s used.  The caller has checked there is room for k unpacked.
 */
static unsigned put_key(const struct bkey_format *f, const struct bkey *k,
			const void *val, u64 *out)
{
	struct bkey_packed *p = (void *)out;
	unsigned key_u64s;

	if (bch_bkey_pack(f, k, p)) {
		key_u64s = f->key_u64s;
	} else {
		struct bkey *u = (void *)out;

		*u = *k;
		u->format_whiteout = KEY_FORMAT_CURRENT;
		u->pad = 0;
		key_u64s = BKEY_U64s;
	}
	/* on disk needs_whiteout is always clear */
	p->format_whiteout &= ~BKEY_NEEDS_WHITEOUT;
	memcpy(out + key_u64s, val, bkey_val_bytes(k));
	return key_u64s + bkey_val_u64s(k);
}

/* Fills the key area of w's bset; the header must be set except u64s. */
static int put_keys(struct bset_write *w, const struct bkey_format *f,
		    const struct bch_bset_keys *keys, struct printbuf *err)
{
	size_t room_u64s = (w->room - w->hdr_bytes) / 8;
	size_t used = 0;
	int ret;

	for (size_t n = 0; n < keys->nr; n++) {
		ret = check_key(keys, n, err);
		if (ret)
			return ret;
		if (used + keys->keys[n].u64s > room_u64s) {
			pb_printf(err, "keys do not fit the node: %zu of %zu written in %zu u64s",
				  n, keys->nr, used);
			return -BCH_ERR_bad_argument;
		}
		used += put_key(f, &keys->keys[n], keys->vals[n], w->i->_data + used);
	}
	if (used > 0xffff) {
		pb_printf(err, "bset of %zu u64s is too big", used);
		return -BCH_ERR_bad_argument;
	}
	w->i->u64s = cpu_to_le16(used);
	return 0;
}

/* Fills the bset header, pads to the block and checksums; returns sectors. */
static int seal(const struct bch_fs *c, struct bset_write *w, unsigned csum_type,
		u64 journal_seq)
{
	struct bset *i = w->i;
	size_t bytes = w->hdr_bytes + 8 * (size_t)le16_to_cpu(i->u64s);
	size_t block = block_bytes(c);
	size_t padded = (bytes + block - 1) / block * block;

	i->journal_seq = cpu_to_le64(journal_seq);
	i->flags = 0;
	set_bset_csum_type(i, csum_type);
	set_bset_offset(i, w->offset);
	i->version = cpu_to_le16(c->sb.version);
	memset(w->start + bytes, 0, padded - bytes);

	*(struct bch_csum *)w->start = bch_bset_csum(w->start, i, w->hdr_bytes, w->offset << 9);
	return padded >> 9;
}

static int check_geometry(const struct bch_fs *c, size_t node_bytes, struct printbuf *err)
{
	size_t node_size = (size_t)c->sb.btree_node_size << 9;

	if (!c->sb.block_size || !node_size || node_size % block_bytes(c)) {
		pb_printf(err, "bad geometry: block %u sectors, node %u sectors",
			  c->sb.block_size, c->sb.btree_node_size);
		return -BCH_ERR_bad_argument;
	}
	if (node_bytes < node_size) {
		pb_printf(err, "node buffer of %zu bytes is smaller than a node (%zu)",
			  node_bytes, node_size);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

int bch_btree_node_write_first(const struct bch_fs *c, const struct bch_node_hdr *h,
			       const struct bch_bset_keys *keys,
			       void *node, size_t node_bytes, struct printbuf *err)
{
	struct btree_node *bn = node;
	struct bset_write w = {
		.start = node, .i = &bn->keys, .hdr_bytes = sizeof(*bn),
		.room = (size_t)c->sb.btree_node_size << 9,
	};
	int csum_type = meta_csum_type(c, err);
	int ret = check_geometry(c, node_bytes, err);

	if (ret)
		return ret;
	if (csum_type < 0)
		return csum_type;
	if (bch_bkey_format_validate(&h->format, err))
		return -BCH_ERR_bad_argument;

	memset(bn, 0, sizeof(*bn));
	bn->magic = cpu_to_le64(c->sb.bset_magic);
	set_btree_node_id_lo(bn, h->btree_id & 15);
	set_btree_node_id_hi(bn, h->btree_id >> 4);
	set_btree_node_level(bn, h->level);
	/* 1.13 writes every node so; readers refuse extents nodes without it */
	set_btree_node_new_extent_overwrite(bn, 1);
	set_btree_node_seq(bn, h->node_gen);
	bn->min_key = h->min_key;
	bn->max_key = h->max_key;
	bn->format = h->format;
	bn->keys.seq = cpu_to_le64(h->seq);

	ret = put_keys(&w, &h->format, keys, err);
	if (ret)
		return ret;
	return seal(c, &w, csum_type, keys->journal_seq);
}

int bch_btree_node_write_next(const struct bch_fs *c, void *node, size_t node_bytes,
			      unsigned offset, const struct bch_bset_keys *keys,
			      struct printbuf *err)
{
	const struct btree_node *bn = node;
	size_t node_size = (size_t)c->sb.btree_node_size << 9;
	int csum_type = meta_csum_type(c, err);
	int ret = check_geometry(c, node_bytes, err);

	if (ret)
		return ret;
	if (csum_type < 0)
		return csum_type;
	if (!offset || ((size_t)offset << 9) % block_bytes(c) ||
	    ((size_t)offset << 9) + sizeof(struct btree_node_entry) > node_size) {
		pb_printf(err, "bad offset %u for a later bset (block %u, node %u sectors)",
			  offset, c->sb.block_size, c->sb.btree_node_size);
		return -BCH_ERR_bad_argument;
	}
	if (le64_to_cpu(bn->magic) != c->sb.bset_magic) {
		pb_str(err, "node buffer does not hold a first write of this filesystem");
		return -BCH_ERR_bad_argument;
	}
	if (!keys->nr)
		return 0;

	struct btree_node_entry *bne = (void *)((u8 *)node + ((size_t)offset << 9));
	struct bset_write w = {
		.start = (void *)bne, .i = &bne->keys, .hdr_bytes = sizeof(*bne),
		.room = node_size - ((size_t)offset << 9), .offset = offset,
	};

	memset(bne, 0, sizeof(*bne));
	bne->keys.seq = bn->keys.seq;
	ret = put_keys(&w, &bn->format, keys, err);
	if (ret)
		return ret;
	return seal(c, &w, csum_type, keys->journal_seq);
}

size_t bch_bset_keys_u64s(const struct bkey_format *f, const struct bch_bset_keys *keys)
{
	size_t u64s = 0;

	for (size_t n = 0; n < keys->nr; n++) {
		const struct bkey *k = &keys->keys[n];
		u64 tmp[BKEY_U64s];

		u64s += bkey_val_u64s(k) +
			(bch_bkey_pack(f, k, (void *)tmp) ? f->key_u64s : BKEY_U64s);
	}
	return u64s;
}

struct bkey_format bch_btree_node_compact_format(const struct bch_fs *c,
						 const struct btree *b)
{
	struct bkey_format f = bch_format_calc_node(b->min_key, b->max_key,
						    b->keys, b->nr_keys);
	/*
	 * Like the kernel, estimate as if every key packs in the new format;
	 * keys that grow could overflow the node, and then the old format
	 * (in which they all fit) is kept.
	 */
	long delta = ((long)f.key_u64s - b->format.key_u64s) * (long)b->nr_packed +
		((long)f.key_u64s - (long)BKEY_U64s) * (long)b->nr_unpacked;
	size_t bytes = sizeof(struct btree_node) + 8 * (b->live_u64s + delta);

	return bytes < ((size_t)c->sb.btree_node_size << 9) ? f : b->format;
}

int bch_btree_node_compact(const struct bch_fs *c, const struct btree *b,
			   u64 seq, u32 node_gen, void *node, size_t node_bytes,
			   struct printbuf *err)
{
	struct bch_node_hdr h = {
		.btree_id	= b->btree_id,
		.level		= b->level,
		.min_key	= b->min_key,
		.max_key	= b->max_key,
		.seq		= seq,
		.node_gen	= node_gen,
		.format		= bch_btree_node_compact_format(c, b),
	};
	struct bch_bset_keys keys = {
		.keys		= b->keys,
		.vals		= b->vals,
		.nr		= b->nr_keys,
		.journal_seq	= b->max_journal_seq,
	};

	return bch_btree_node_write_first(c, &h, &keys, node, node_bytes, err);
}

void bch_btree_ptr_v2_init(struct bkey_i *k, struct bpos max_key, struct bpos min_key, u64 seq,
			   unsigned sectors, const struct bch_extent_ptr *ptrs, unsigned nr)
{
	struct bch_btree_ptr_v2 *bp = (void *)k->v;

	memset(k, 0, sizeof(k->k) + sizeof(*bp));
	k->k.u64s = BKEY_U64s + (sizeof(*bp) + nr * sizeof(*ptrs)) / 8;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = KEY_TYPE_btree_ptr_v2;
	k->k.p = max_key;
	bp->seq = cpu_to_le64(seq);
	bp->sectors_written = cpu_to_le16(sectors);
	bp->min_key = min_key;
	memcpy(bp->start, ptrs, nr * sizeof(*ptrs));
}

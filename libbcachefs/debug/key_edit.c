/* Precise changes to one key: through a field name, or in place in its leaf. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "debug/key_edit.h"
#include "alloc/derive.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "keys/extents.h"
#include "keys/inode.h"
#include "util/errcode.h"
#include "util/names.h"

struct field {
	const char *name;
	unsigned offset, bytes;
	unsigned bits;		/* the widest value it takes (0: bytes * 8) */
};

#define F(type, name) { #name, offsetof(type, name), sizeof(((type *)0)->name), 0 }

static const struct field inode_fields[] = {
	F(struct bch_inode_unpacked, bi_journal_seq),
	F(struct bch_inode_unpacked, bi_hash_seed),
	F(struct bch_inode_unpacked, bi_size),
	F(struct bch_inode_unpacked, bi_sectors),
	F(struct bch_inode_unpacked, bi_version),
	F(struct bch_inode_unpacked, bi_flags),
	F(struct bch_inode_unpacked, bi_mode),
	/* on disk the times are 96 bits wide, but 64 here */
#define x(name, bits) { #name, offsetof(struct bch_inode_unpacked, name), 8, bits < 64 ? bits : 64 },
	BCH_INODE_FIELDS_V3()
#undef x
	{ NULL }
};

static const struct field alloc_fields[] = {
	F(struct bch_alloc_v4, journal_seq),
	F(struct bch_alloc_v4, flags),
	F(struct bch_alloc_v4, gen),
	F(struct bch_alloc_v4, oldest_gen),
	F(struct bch_alloc_v4, data_type),
	F(struct bch_alloc_v4, stripe_redundancy),
	F(struct bch_alloc_v4, dirty_sectors),
	F(struct bch_alloc_v4, cached_sectors),
	{ "io_time_read", offsetof(struct bch_alloc_v4, io_time[0]), 8 },
	{ "io_time_write", offsetof(struct bch_alloc_v4, io_time[1]), 8 },
	F(struct bch_alloc_v4, stripe),
	F(struct bch_alloc_v4, nr_external_backpointers),
	F(struct bch_alloc_v4, fragmentation_lru),
	F(struct bch_alloc_v4, stripe_sectors),
	{ NULL }
};

static const struct field dirent_fields[] = {
	{ "d_inum", 0, 8 },
	{ "d_type", 8, 1 },
	{ NULL }
};

/* A node pointer (btree_ptr_v2): min_key is set whole, range_updated is bit 0 of flags. */
static const struct field btree_ptr_fields[] = {
	{ "seq", offsetof(struct bch_btree_ptr_v2, seq), 8 },
	{ "sectors_written", offsetof(struct bch_btree_ptr_v2, sectors_written), 2 },
	{ "flags", offsetof(struct bch_btree_ptr_v2, flags), 2 },
	{ NULL }
};

#undef F

static const struct field *field_find(const struct field *t, const char *name, size_t len)
{
	for (; t->name; t++)
		if (strlen(t->name) == len && !memcmp(t->name, name, len))
			return t;
	return NULL;
}

/* A host value into bytes bytes at p, little-endian; false if it does not fit. */
static bool put_le(void *p, unsigned bytes, u64 v)
{
	if (bytes < 8 && v >> (bytes * 8))
		return false;
	for (unsigned i = 0; i < bytes; i++)
		((u8 *)p)[i] = v >> (i * 8);
	return true;
}

/* A host-order field of an in-memory struct (the unpacked inode). */
static bool put_host(void *p, unsigned bytes, u64 v)
{
	switch (bytes) {
	case 8: *(u64 *)p = v; return true;
	case 4: *(u32 *)p = v; return v == (u32)v;
	case 2: *(u16 *)p = v; return v == (u16)v;
	case 1: *(u8 *)p = v; return v == (u8)v;
	}
	return false;
}

/* A number: decimal, 0x hex or 0 octal, the whole string; false if not. */
static bool parse_num(const char *s, u64 *v)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

static int bad(struct printbuf *err, const char *assign, const char *why)
{
	pb_printf(err, "%s: %s", assign, why);
	return -BCH_ERR_bad_argument;
}

static int set_inode(struct bkey_i *k, const struct field *f, u64 v, const char *assign,
		     struct printbuf *err)
{
	struct bch_inode_unpacked u;

	if (!bkey_is_inode(&k->k))
		return bad(err, assign, "not an inode key");
	if (bch_inode_unpack(bkey_i_to_s_c(k), &u))
		return bad(err, assign, "the inode cannot be decoded");
	if (f->bits && f->bits < 64 && v >> f->bits)
		return bad(err, assign, "value too large for the field");
	if (!put_host((u8 *)&u + f->offset, f->bytes, v))
		return bad(err, assign, "value too large for the field");
	if (bch_inode_pack(&u, k, BKEY_U64s_MAX))
		return bad(err, assign, "the inode does not fit a key");
	return 0;
}

static int set_value_bytes(struct bkey_i *k, unsigned off, unsigned bytes, u64 v,
			   const char *assign, struct printbuf *err)
{
	if (off + bytes > bkey_val_bytes(&k->k))
		return bad(err, assign, "past the end of the value");
	if (!put_le((u8 *)k->v + off, bytes, v))
		return bad(err, assign, "value too large for the field");
	return 0;
}

int bch_bytes_set_field(void *base, size_t size, const char *assign, struct printbuf *err)
{
	static const struct { const char *name; unsigned bytes; } widths[] = {
		{ "u8", 1 }, { "u16", 2 }, { "u32", 4 }, { "u64", 8 },
	};
	const char *eq = strchr(assign, '='), *at = strchr(assign, '@');
	char num[24];
	u64 off, v;

	if (!eq || !at || at > eq)
		return bad(err, assign, "expected WIDTH@OFFSET=VALUE");
	if ((size_t)(eq - at - 1) >= sizeof(num))
		return bad(err, assign, "bad offset");
	memcpy(num, at + 1, eq - at - 1);
	num[eq - at - 1] = 0;
	if (!parse_num(num, &off))
		return bad(err, assign, "bad offset");
	if (!parse_num(eq + 1, &v))
		return bad(err, assign, "the value is not a number");
	for (unsigned i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		if (strlen(widths[i].name) != (size_t)(at - assign) ||
		    memcmp(widths[i].name, assign, at - assign))
			continue;
		if (off + widths[i].bytes > size)
			return bad(err, assign, "past the end of the value");
		if (!put_le((u8 *)base + off, widths[i].bytes, v))
			return bad(err, assign, "value too large for the field");
		return 0;
	}
	return bad(err, assign, "width must be u8, u16, u32 or u64");
}

int bch_key_set_field(struct bkey_i *k, const char *assign, struct printbuf *err)
{
	const char *eq = strchr(assign, '='), *val;
	const struct field *f;
	size_t len;
	u64 v;
	int i;

	if (!eq || eq == assign)
		return bad(err, assign, "expected FIELD=VALUE");
	len = eq - assign;
	val = eq + 1;
	if (k->k.type == KEY_TYPE_btree_ptr_v2 && len == 7 && !memcmp(assign, "min_key", 7)) {
		struct bch_btree_ptr_v2 *v = (void *)k->v;

		if (!bch_bpos_parse(val, &v->min_key))
			return bad(err, assign, "expected a position inode:offset[:snapshot]");
		return 0;
	}
	if (len == 3 && !memcmp(assign, "pos", 3)) {
		if (!bch_bpos_parse(val, &k->k.p))
			return bad(err, assign, "expected a position inode:offset[:snapshot]");
		return 0;
	}
	if (len == 4 && !memcmp(assign, "type", 4)) {
		i = bch_name_index(bch_bkey_type_names, KEY_TYPE_MAX, val);
		if (i < 0 && !parse_num(val, &v))
			return bad(err, assign, "unknown key type");
		k->k.type = i >= 0 ? (unsigned)i : v;
		return 0;
	}
	if (len == 9 && !memcmp(assign, "data_type", 9) && k->k.type == KEY_TYPE_alloc_v4 &&
	    (i = bch_name_index(bch_data_type_names, BCH_DATA_NR, val)) >= 0)
		v = i;
	else if (!parse_num(val, &v))
		return bad(err, assign, "the value is not a number");

	if (len == 7 && !memcmp(assign, "version", 7)) {
		k->k.bversion.lo = v;
		return 0;
	}
	if (len == 4 && !memcmp(assign, "size", 4)) {
		if (v != (u32)v)
			return bad(err, assign, "value too large for the field");
		k->k.size = v;
		return 0;
	}
	if (memchr(assign, '@', len))
		return bch_bytes_set_field(k->v, bkey_val_bytes(&k->k), assign, err);
	if ((f = field_find(inode_fields, assign, len)))
		return set_inode(k, f, v, assign, err);
	if (k->k.type == KEY_TYPE_alloc_v4 && (f = field_find(alloc_fields, assign, len)))
		return set_value_bytes(k, f->offset, f->bytes, v, assign, err);
	if (k->k.type == KEY_TYPE_dirent && (f = field_find(dirent_fields, assign, len)))
		return set_value_bytes(k, f->offset, f->bytes, v, assign, err);
	if (k->k.type == KEY_TYPE_btree_ptr_v2 && len == 13 && !memcmp(assign, "range_updated", 13)) {
		if (v > 1)
			return bad(err, assign, "value too large for the field");
		set_btree_ptr_range_updated((struct bch_btree_ptr_v2 *)k->v, v);
		return 0;
	}
	if (k->k.type == KEY_TYPE_btree_ptr_v2 && (f = field_find(btree_ptr_fields, assign, len)))
		return set_value_bytes(k, f->offset, f->bytes, v, assign, err);
	return bad(err, assign, "no such field for this key type");
}

/* ---- in place ---- */

/* A bset as written: where it starts in the node, its header and the bytes it covers. */
struct bset_loc {
	u8 *start;
	struct bset *i;
	size_t bytes;
	unsigned offset;	/* sectors into the node */
};

static struct bset_loc bset_at(u8 *data, unsigned offset)
{
	struct bset_loc l = { data + ((size_t)offset << 9), NULL, 0, offset };
	size_t hdr = offset ? sizeof(struct btree_node_entry) : sizeof(struct btree_node);

	l.i = offset ? &((struct btree_node_entry *)l.start)->keys
		     : &((struct btree_node *)l.start)->keys;
	l.bytes = hdr + 8 * (size_t)le16_to_cpu(l.i->u64s);
	return l;
}

static unsigned bset_sectors(const struct bch_fs *c, const struct bset_loc *l)
{
	size_t block = (size_t)c->sb.block_size << 9;

	return (l->bytes + block - 1) / block * block >> 9;
}

/* The newest copy of the key at pos among the node's bsets, and its bset. */
static struct bkey_packed *newest_copy(const struct bch_fs *c, const struct btree *b, u8 *data,
				       struct bpos pos, struct bset_loc *where)
{
	struct bkey_packed *found = NULL;

	for (unsigned off = 0; off < b->written;) {
		struct bset_loc l = bset_at(data, off);
		struct bkey_packed *k = (void *)l.i->_data;
		const void *end = l.i->_data + le16_to_cpu(l.i->u64s);

		for (; (const void *)k < end && k->u64s; k = (void *)bkeyp_next(k)) {
			struct bkey u;

			if (bch_bkey_unpack(&b->unpacker, k, &u) && bpos_eq(u.p, pos)) {
				found = k;
				*where = l;
			}
		}
		off += bset_sectors(c, &l);
	}
	return found;
}

static void bset_reseal(const struct bset_loc *l)
{
	u64 seq = le64_to_cpu(l->i->seq);
	struct bch_nonce nonce = { {
		l->offset << 9, (u32)seq, (u32)(seq >> 32),
		(u32)le64_to_cpu(l->i->journal_seq) ^ (2U << 28),
	} };

	*(struct bch_csum *)l->start = bch_checksum(bset_csum_type(l->i), nonce,
						    l->start + sizeof(struct bch_csum),
						    l->bytes - sizeof(struct bch_csum));
}

static int node_write_replicas(struct bch_fs *c, const struct btree *b, const u8 *data,
			       struct printbuf *err)
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	int ret = 0;

	bch_ptr_iter_init(&it, bkey_i_to_s_c(&b->key));
	while (!ret && bch_ptr_iter_next(&it, &p)) {
		struct bch_dev *ca = bch_dev_get(c, ptr_dev(&p.ptr));

		if (!ca) {
			pb_printf(err, "the node's device %u is missing", (unsigned)ptr_dev(&p.ptr));
			return -BCH_ERR_sb_missing_device;
		}
		ret = bch_dev_pwrite(ca, data, (size_t)b->written << 9, ptr_offset(&p.ptr) << 9, err) ?:
		      bch_dev_flush(ca, err);
	}
	return ret;
}

/*
 * The header of the key where it lies: its type, size, version and position
 * as new has them, packed in the node's format when the key is packed (a
 * value the format cannot hold is refused), its length unchanged.
 */
static int key_header_replace(const struct btree *b, struct bkey_packed *k, const struct bkey *old,
			      const struct bkey *new, struct printbuf *err)
{
	struct bkey h = *new;

	if (h.type == old->type && h.size == old->size && bpos_eq(h.p, old->p) &&
	    h.bversion.lo == old->bversion.lo && h.bversion.hi == old->bversion.hi)
		return 0;
	h.u64s = old->u64s;
	h.format_whiteout = old->format_whiteout;
	if (bkeyp_format_of(k) == KEY_FORMAT_CURRENT) {
		memcpy(k, &h, sizeof(h));
		return 0;
	}
	if (!bch_bkey_pack(&b->format, &h, k)) {
		pb_str(err, "the changed key does not fit the node's key format: it cannot be written in place");
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

static int key_replace(const struct btree *b, struct bkey_packed *k, const struct bkey_i *new,
		       struct printbuf *err)
{
	struct bkey u;

	bch_bkey_unpack(&b->unpacker, k, &u);
	if (new) {
		if (bkey_val_bytes(&new->k) != (k->u64s - bkeyp_key_u64s(&b->unpacker, k)) * 8) {
			pb_str(err, "the new value is not as long as the old one: it cannot be written in place");
			return -BCH_ERR_bad_argument;
		}
		memcpy((void *)bkeyp_val(&b->unpacker, k), new->v, bkey_val_bytes(&new->k));
		return key_header_replace(b, k, &u, &new->k, err);
	}
	/* a deleted key of size 0, as the kernel writes one in every btree */
	u.type = KEY_TYPE_deleted;
	u.size = 0;
	if (bkeyp_format_of(k) == KEY_FORMAT_CURRENT)
		memcpy(k, &u, sizeof(u));
	else if (!bch_bkey_pack(&b->format, &u, k)) {
		pb_str(err, "the deleted key does not fit the node's key format");
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

int bch_key_rewrite_in_place(struct bch_fs *c, enum btree_id btree, struct bpos pos,
			     const struct bkey_i *new, struct printbuf *err)
{
	struct btree_iter it;
	const struct btree *b;
	struct bset_loc where;
	struct bkey_packed *k;
	u8 *data = NULL;
	int ret;

	bch_btree_iter_init(&it, c, btree, pos, 0);
	ret = bch_btree_iter_peek_node(&it, &b);
	if (ret <= 0 || !it.have_root || b->level) {
		pb_printf(err, "no leaf of btree %s holds that position", bch_btree_id_names[btree]);
		ret = ret < 0 ? ret : -BCH_ERR_not_found;
		goto out;
	}
	data = malloc((size_t)b->written << 9);
	if (!data) {
		ret = -BCH_ERR_nomem;
		goto out;
	}
	memcpy(data, b->data, (size_t)b->written << 9);
	k = newest_copy(c, b, data, pos, &where);
	if (!k) {
		pb_str(err, "the leaf has no key at that position");
		ret = -BCH_ERR_not_found;
		goto out;
	}
	ret = key_replace(b, k, new, err);
	if (!ret) {
		bset_reseal(&where);
		ret = node_write_replicas(c, b, data, err);
	}
out:
	free(data);
	bch_btree_iter_exit(&it);
	return ret;
}

/*
 * A bucket of the node's device holding nothing where the btree bitmap
 * allows nodes, for the copy kill-node leaves behind: the first with no
 * alloc key (never used: the same repair whatever the image's history),
 * else the first whose alloc key says empty; -1 when there is none.
 */
static s64 free_btree_bucket(struct bch_fs *c, unsigned dev, struct printbuf *err)
{
	const struct bch_dev *ca = bch_dev_get(c, dev);
	union bch_key_buf *k = malloc(sizeof(*k));
	struct btree_trans t;
	s64 found = -1, emptied = -1;

	if (!ca || !k) {
		free(k);
		return -1;
	}
	bch_trans_init(&t, c);
	for (u64 b = ca->mi.first_bucket; b < ca->mi.nbuckets && found < 0; b++) {
		int ret;

		if (!bch_member_btree_bitmap_covers(&ca->mi, b * ca->mi.bucket_size, ca->mi.bucket_size))
			continue;
		ret = bch_trans_lookup(&t, BTREE_ID_alloc, 0, POS(dev, b), &k->k, BKEY_U64s_MAX, err);
		if (ret < 0)
			break;
		if (!ret || k->k.k.type != KEY_TYPE_alloc_v4) {
			found = b;
			continue;
		}
		const struct bch_alloc_v4 *a = (const void *)k->k.v;

		if (emptied < 0 && !a->data_type && !a->dirty_sectors && !a->cached_sectors && !a->stripe)
			emptied = b;
	}
	bch_trans_exit(&t);
	free(k);
	return found >= 0 ? found : emptied;
}

int bch_node_kill(struct bch_fs *c, enum btree_id btree, unsigned level, struct bpos pos,
		  bool keep_copy, struct bpos *copy, struct printbuf *err)
{
	struct btree_iter it;
	const struct btree *b;
	u8 *zeroes = NULL;
	int ret;

	*copy = POS_MAX;
	bch_btree_iter_init(&it, c, btree, pos, level);
	ret = bch_btree_iter_peek_node(&it, &b);
	if (ret <= 0 || !it.have_root || b->level != level) {
		pb_printf(err, "no node of btree %s at level %u holds that position",
			  bch_btree_id_names[btree], level);
		ret = ret < 0 ? ret : -BCH_ERR_not_found;
		goto out;
	}
	if (keep_copy) {
		const struct bch_dev *ca = bch_dev_get(c, b->dev);
		s64 bucket = free_btree_bucket(c, b->dev, err);

		if (bucket < 0 || !ca) {
			pb_printf(err, "no free bucket where btree nodes may lie on device %u for the copy",
				  (unsigned)b->dev);
			ret = -BCH_ERR_not_found;
			goto out;
		}
		ret = bch_dev_pwrite(ca, b->data, (size_t)b->written << 9,
				     ((u64)bucket * ca->mi.bucket_size) << 9, err);
		if (ret)
			goto out;
		*copy = POS(b->dev, bucket);
	}
	zeroes = calloc(1, (size_t)b->written << 9);
	ret = zeroes ? node_write_replicas(c, b, zeroes, err) : -BCH_ERR_nomem;
out:
	free(zeroes);
	bch_btree_iter_exit(&it);
	return ret;
}

/* ---- node headers ---- */

/*
 * A field node-edit knows: bytes at offset of the node header (node_only)
 * or of the chosen bset's struct bset, or a bit range of such a word.
 */
struct node_field {
	const char *name;
	bool node_only;
	unsigned offset, bytes;
	unsigned shift, width;		/* width 0: the whole word */
};

static const struct node_field node_fields[] = {
	{ "magic",	 true,  offsetof(struct btree_node, magic), 8 },
	{ "flags",	 true,  offsetof(struct btree_node, flags), 8 },
	{ "level",	 true,  offsetof(struct btree_node, flags), 8, 4, 4 },
	{ "seq",	 false, offsetof(struct bset, seq), 8 },
	{ "journal_seq", false, offsetof(struct bset, journal_seq), 8 },
	{ "bset_flags",	 false, offsetof(struct bset, flags), 4 },
	{ "csum_type",	 false, offsetof(struct bset, flags), 4, 0, 4 },
	{ "offset",	 false, offsetof(struct bset, flags), 4, 16, 16 },
	{ "version",	 false, offsetof(struct bset, version), 2 },
	{ "u64s",	 false, offsetof(struct bset, u64s), 2 },
	{ NULL }
};

static u64 get_le(const void *p, unsigned bytes)
{
	u64 v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (u64)((const u8 *)p)[i] << (i * 8);
	return v;
}

/* One FIELD=VALUE on the bset at l (first: the node header's). */
static int node_set_field(struct bset_loc *l, bool first, const char *assign, struct printbuf *err)
{
	const char *eq = strchr(assign, '='), *val = eq ? eq + 1 : NULL;
	size_t len = eq ? (size_t)(eq - assign) : 0;
	struct btree_node *bn = (struct btree_node *)l->start;
	const struct node_field *f;
	u64 v;
	int i;

	if (!eq || !len)
		return bad(err, assign, "expected FIELD=VALUE");
	if (memchr(assign, '@', len))
		return bch_bytes_set_field(l->start, l->bytes, assign, err);
	if ((len == 7 && !memcmp(assign, "min_key", 7)) || (len == 7 && !memcmp(assign, "max_key", 7))) {
		struct bpos p;

		if (!first)
			return bad(err, assign, "a field of the node header: only bset 0 has it");
		if (!bch_bpos_parse(val, &p))
			return bad(err, assign, "expected a position inode:offset[:snapshot]");
		*(assign[1] == 'i' ? &bn->min_key : &bn->max_key) = p;
		return 0;
	}
	if (len == 8 && !memcmp(assign, "btree_id", 8)) {
		if (!first)
			return bad(err, assign, "a field of the node header: only bset 0 has it");
		if ((i = bch_name_index(bch_btree_id_names, BTREE_ID_NR, val)) >= 0)
			v = i;
		else if (!parse_num(val, &v) || v >> 20)
			return bad(err, assign, "unknown btree");
		set_btree_node_id_lo(bn, v & 15);
		set_btree_node_id_hi(bn, v >> 4);
		return 0;
	}
	for (f = node_fields; f->name; f++)
		if (strlen(f->name) == len && !memcmp(f->name, assign, len))
			break;
	if (!f->name)
		return bad(err, assign, "no such field of a btree node or bset");
	if (f->node_only && !first)
		return bad(err, assign, "a field of the node header: only bset 0 has it");
	if (!parse_num(val, &v))
		return bad(err, assign, "the value is not a number");

	u8 *p = f->node_only ? l->start + f->offset : (u8 *)l->i + f->offset;

	if (f->width) {
		u64 mask = (~0ULL >> (64 - f->width)) << f->shift;

		if (v >> f->width)
			return bad(err, assign, "value too large for the field");
		v = (get_le(p, f->bytes) & ~mask) | (v << f->shift);
	}
	if (!put_le(p, f->bytes, v))
		return bad(err, assign, "value too large for the field");
	return 0;
}

int bch_node_edit(struct bch_fs *c, const struct bch_node_edit *e, struct printbuf *out,
		  struct printbuf *err)
{
	struct btree_iter it;
	const struct btree *b;
	struct bset_loc l;
	u8 *data = NULL;
	unsigned off = 0;
	size_t node_bytes;
	int ret;

	bch_btree_iter_init(&it, c, e->btree, e->pos, e->level);
	ret = bch_btree_iter_peek_node(&it, &b);
	if (ret <= 0 || !it.have_root || b->level != e->level) {
		pb_printf(err, "no node of btree %s at level %u holds that position",
			  bch_btree_id_names[e->btree], e->level);
		ret = ret < 0 ? ret : -BCH_ERR_not_found;
		goto out;
	}
	ret = 0;
	node_bytes = (size_t)b->written << 9;
	data = malloc(node_bytes);
	if (!data) {
		ret = -BCH_ERR_nomem;
		goto out;
	}
	memcpy(data, b->data, node_bytes);
	for (int n = 0;; n++) {
		l = bset_at(data, off);
		if (n == e->bset)
			break;
		off += bset_sectors(c, &l);
		if (off >= b->written) {
			pb_printf(err, "the node has %d bsets, no bset %d", n + 1, e->bset);
			ret = -BCH_ERR_not_found;
			goto out;
		}
	}
	for (unsigned i = 0; i < e->nr_sets && !ret; i++)
		ret = node_set_field(&l, !off, e->sets[i], err);
	if (ret)
		goto out;
	l = bset_at(data, off);
	if (!e->keep_csum) {
		if (l.start + l.bytes > data + node_bytes) {
			pb_str(err, "the bset now runs past what was written of the node: "
			       "its checksum cannot be computed (use --keep-csum)");
			ret = -BCH_ERR_bad_argument;
			goto out;
		}
		if (!bch_csum_type_valid(bset_csum_type(l.i)) ||
		    bch_csum_type_is_encryption(bset_csum_type(l.i))) {
			pb_printf(err, "checksum type %u cannot be computed here (use --keep-csum)",
				  (unsigned)bset_csum_type(l.i));
			ret = -BCH_ERR_bad_argument;
			goto out;
		}
		bset_reseal(&l);
	}
	ret = node_write_replicas(c, b, data, err);
	if (!ret) {
		pb_printf(out, "btree %s level %u node ", bch_btree_id_names[e->btree], e->level);
		bch_bpos_to_text(out, ((const struct btree_node *)b->data)->min_key);
		pb_str(out, "..");
		bch_bpos_to_text(out, ((const struct btree_node *)b->data)->max_key);
		pb_printf(out, ": bset %d at sector %u changed%s\n", e->bset, off,
			  e->keep_csum ? ", old checksum kept" : "");
	}
out:
	free(data);
	bch_btree_iter_exit(&it);
	return ret;
}

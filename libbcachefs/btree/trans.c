/* Transactions: queue updates, split overwritten extents, run triggers, journal, then apply to the overlay. */
#include <stdlib.h>
#include <string.h>

#include "btree/trans.h"
#include "btree/flush.h"
#include "btree/iter.h"
#include "btree/overlay.h"
#include "alloc/allocator.h"
#include "alloc/derive.h"
#include "journal/journal_write.h"
#include "keys/accounting.h"
#include "keys/alloc.h"
#include "keys/extents.h"
#include "keys/key_ops.h"
#include "keys/inode.h"
#include "keys/key_types.h"
#include "sb/sb_fs.h"
#include "util/errcode.h"

/* ---- the arena ---- */

#define CHUNK_MIN	(64U << 10)

struct trans_chunk {
	struct trans_chunk *next;
	size_t used, size;
	u64 data[];
};

static void *trans_alloc(struct btree_trans *t, size_t bytes)
{
	struct trans_chunk *ch = t->chunks;
	void *p;

	bytes = (bytes + 7) & ~(size_t)7;
	if (!ch || ch->used + bytes > ch->size) {
		size_t size = bytes > CHUNK_MIN ? bytes : CHUNK_MIN;

		ch = malloc(sizeof(*ch) + size);
		if (!ch)
			return NULL;
		ch->next = t->chunks;
		ch->used = 0;
		ch->size = size;
		t->chunks = ch;
	}
	p = (u8 *)ch->data + ch->used;
	ch->used += bytes;
	return p;
}

static struct bkey_i *key_dup(struct btree_trans *t, const struct bkey_i *k)
{
	struct bkey_i *n = trans_alloc(t, k->k.u64s * 8);

	if (n)
		memcpy(n, k, k->k.u64s * 8);
	return n;
}

static struct bkey_i *key_new(struct btree_trans *t, unsigned type, struct bpos pos,
			      unsigned val_bytes)
{
	unsigned u64s = BKEY_U64s + (val_bytes + 7) / 8;
	struct bkey_i *k = trans_alloc(t, u64s * 8);

	if (!k)
		return NULL;
	memset(k, 0, u64s * 8);
	k->k.u64s = u64s;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = type;
	k->k.p = pos;
	return k;
}

/* An arena copy of a key read from a node or the overlay, as a bkey_i. */
static struct bkey_i *key_copy_s_c(struct btree_trans *t, struct bkey_s_c k)
{
	struct bkey_i *n = trans_alloc(t, (BKEY_U64s + bkey_val_u64s(k.k)) * 8);

	if (n) {
		n->k = *k.k;
		n->k.format_whiteout = KEY_FORMAT_CURRENT;
		n->k.u64s = BKEY_U64s + bkey_val_u64s(k.k);
		memcpy(n->v, k.v, bkey_val_bytes(k.k));
	}
	return n;
}

/* ---- init, reset, exit ---- */

void bch_trans_init(struct btree_trans *t, struct bch_fs *c)
{
	memset(t, 0, sizeof(*t));
	t->c = c;
}

void bch_trans_reset(struct btree_trans *t)
{
	struct trans_chunk *ch = t->chunks;

	/* keep one chunk for the next transaction */
	if (ch) {
		while (ch->next) {
			struct trans_chunk *n = ch->next->next;

			free(ch->next);
			ch->next = n;
		}
		ch->used = 0;
	}
	t->nr_updates = 0;
	if (t->hash)
		memset(t->hash, 0, t->hash_size * sizeof(*t->hash));
	t->nr_roots = 0;
	t->nr_acc = 0;
	t->seq = 0;
	pb_reset(&t->err);
}

void bch_trans_exit(struct btree_trans *t)
{
	while (t->chunks) {
		struct trans_chunk *n = t->chunks->next;

		free(t->chunks);
		t->chunks = n;
	}
	free(t->updates);
	free(t->hash);
	free(t->acc);
	pb_exit(&t->err);
	memset(t, 0, sizeof(*t));
}

/* ---- the update set: an array, and a hash of positions ---- */

static u64 pos_hash(unsigned btree, unsigned level, struct bpos p)
{
	u64 h = p.inode * 0x9e3779b97f4a7c15ULL;

	h ^= (p.offset + ((u64)p.snapshot << 32) + (btree << 8) + level) * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	return h * 0x165667b19e3779f9ULL;
}

static bool upd_at(const struct btree_update *u, unsigned btree, unsigned level, struct bpos p)
{
	return u->btree_id == btree && u->level == level && bpos_eq(u->k->k.p, p);
}

static u32 *hash_slot(struct btree_trans *t, unsigned btree, unsigned level, struct bpos p)
{
	size_t mask = t->hash_size - 1;

	for (size_t i = pos_hash(btree, level, p) & mask;; i = (i + 1) & mask) {
		u32 *s = &t->hash[i];

		if (!*s || upd_at(&t->updates[*s - 1], btree, level, p))
			return s;
	}
}

static int hash_grow(struct btree_trans *t)
{
	size_t size = t->hash_size ? t->hash_size * 2 : 256;
	u32 *h = calloc(size, sizeof(*h));

	if (!h)
		return -BCH_ERR_nomem;
	free(t->hash);
	t->hash = h;
	t->hash_size = size;
	for (size_t i = 0; i < t->nr_updates; i++) {
		struct btree_update *u = &t->updates[i];

		*hash_slot(t, u->btree_id, u->level, u->k->k.p) = i + 1;
	}
	return 0;
}

static struct btree_update *upd_find(struct btree_trans *t, unsigned btree, unsigned level,
				     struct bpos p)
{
	u32 s;

	if (!t->hash_size)
		return NULL;
	s = *hash_slot(t, btree, level, p);
	return s ? &t->updates[s - 1] : NULL;
}

/* Queues k (copied) without extent processing; replaces an update at its position. */
static struct btree_update *upd_set(struct btree_trans *t, unsigned btree, unsigned level,
				    const struct bkey_i *k, unsigned flags)
{
	struct btree_update *u = upd_find(t, btree, level, k->k.p);
	struct bkey_i *n = key_dup(t, k);

	if (!n)
		return NULL;
	if (u) {
		u->k = n;
		u->flags = flags;
		return u;
	}
	if ((t->nr_updates + 1) * 2 > t->hash_size && hash_grow(t))
		return NULL;
	if (t->nr_updates == t->size_updates) {
		size_t size = t->size_updates ? t->size_updates * 2 : 64;
		struct btree_update *a = realloc(t->updates, size * sizeof(*a));

		if (!a)
			return NULL;
		t->updates = a;
		t->size_updates = size;
	}
	u = &t->updates[t->nr_updates++];
	*u = (struct btree_update) { .btree_id = btree, .level = level, .flags = flags, .k = n };
	*hash_slot(t, btree, level, n->k.p) = t->nr_updates;
	return u;
}

/* ---- reading committed keys ---- */

static bool key_deleted(const struct bkey *k)
{
	return k->type == KEY_TYPE_deleted;
}

/*
 * The committed key at exactly (btree, level, pos), an arena copy in *out:
 * 1, or 0 when there is none (or it is deleted).
 */
static int committed_get(struct btree_trans *t, unsigned btree, unsigned level,
			 struct bpos pos, struct bkey_i **out, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	const struct bch_overlay_entry *e = c->overlay
		? bch_overlay_get(c->overlay, btree, level, pos) : NULL;
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	*out = NULL;
	if (e) {
		if (key_deleted(&e->k->k))
			return 0;
		*out = key_dup(t, e->k);
		return *out ? 1 : -BCH_ERR_nomem;
	}
	/* a btree without a root may still have node pointers waiting for one */
	unsigned root_level = c->roots[btree].alive ? c->roots[btree].level
						    : bch_btree_virtual_root_level(c, btree);

	if ((!c->roots[btree].alive && !root_level) || level > root_level)
		return 0;
	bch_btree_iter_init(&it, c, btree, pos, level);
	ret = bch_btree_iter_peek(&it, &k);
	if (ret > 0 && bpos_eq(k.k->p, pos) && !key_deleted(k.k)) {
		*out = key_copy_s_c(t, k);
		ret = *out ? 1 : -BCH_ERR_nomem;
	} else if (ret >= 0) {
		ret = 0;
	} else {
		pb_printf(err, "%s", pb_cstr(&it.err));
	}
	bch_btree_iter_exit(&it);
	return ret;
}

/* The current key: the pending update, else the committed one. */
static int current_get(struct btree_trans *t, unsigned btree, unsigned level,
		       struct bpos pos, struct bkey_i **out, struct printbuf *err)
{
	struct btree_update *u = upd_find(t, btree, level, pos);

	if (u) {
		*out = key_deleted(&u->k->k) ? NULL : u->k;
		return *out ? 1 : 0;
	}
	return committed_get(t, btree, level, pos, out, err);
}

int bch_trans_lookup(struct btree_trans *t, enum btree_id btree, unsigned level,
		     struct bpos pos, struct bkey_i *out, unsigned out_u64s,
		     struct printbuf *err)
{
	struct bkey_i *k;
	int ret = current_get(t, btree, level, pos, &k, err);

	if (ret <= 0)
		return ret;
	if (k->k.u64s > out_u64s) {
		pb_printf(err, "key of %u u64s does not fit a %u u64s buffer", k->k.u64s, out_u64s);
		return -BCH_ERR_bad_argument;
	}
	memcpy(out, k, k->k.u64s * 8);
	return 1;
}

/* ---- extents: trimming what an update overwrites ---- */

static u64 key_start(const struct bkey *k)
{
	return k->p.offset - k->size;
}

static void val_shrink(struct bkey_i *k, unsigned val_u64s)
{
	unsigned old = bkey_val_u64s(&k->k);

	if (val_u64s < old) {
		memset(&k->v[val_u64s], 0, (old - val_u64s) * 8);
		k->k.u64s = BKEY_U64s + val_u64s;
	}
}

static bool entry_is_crc(unsigned type)
{
	return type == BCH_EXTENT_ENTRY_crc32 || type == BCH_EXTENT_ENTRY_crc64 ||
	       type == BCH_EXTENT_ENTRY_crc128;
}

/* Moves pointers and checksum entries `sub` sectors on, as the front is cut. */
static void entries_advance(struct bkey_i *k, u64 sub)
{
	struct bkey_ptrs_c ptrs = bch_bkey_ptrs(bkey_i_to_s_c(k));
	bool seen_crc = false;

	for (u64 *e = (u64 *)ptrs.start; e < ptrs.end;) {
		unsigned type = bch_extent_entry_type(e, ptrs.end);

		if (type >= BCH_EXTENT_ENTRY_MAX)
			break;
		switch (type) {
		case BCH_EXTENT_ENTRY_ptr:
			if (!seen_crc) {
				struct bch_extent_ptr *p = (void *)e;

				set_ptr_offset(p, ptr_offset(p) + sub);
			}
			break;
		case BCH_EXTENT_ENTRY_crc32:
			set_crc32_offset((void *)e, crc32_offset((void *)e) + sub);
			break;
		case BCH_EXTENT_ENTRY_crc64:
			set_crc64_offset((void *)e, crc64_offset((void *)e) + sub);
			break;
		case BCH_EXTENT_ENTRY_crc128:
			set_crc128_offset((void *)e, crc128_offset((void *)e) + sub);
			break;
		}
		seen_crc |= entry_is_crc(type);
		e += bch_extent_entry_u64s(type);
	}
}

/* Bytes before the inline data in the value. */
static unsigned inline_data_offset(const struct bkey *k)
{
	return k->type == KEY_TYPE_indirect_inline_data ? 8 : 0;
}

void bch_extent_cut_front(struct bkey_i *k, u64 where)
{
	u64 sub = where - key_start(&k->k);

	k->k.size -= sub;
	if (!k->k.size) {
		k->k.type = KEY_TYPE_deleted;
		val_shrink(k, 0);
		return;
	}
	switch (k->k.type) {
	case KEY_TYPE_extent:
	case KEY_TYPE_reflink_v:
		entries_advance(k, sub);
		break;
	case KEY_TYPE_reflink_p: {
		struct bch_reflink_p *p = (void *)k->v;

		p->idx = cpu_to_le64(le64_to_cpu(p->idx) + sub);
		break;
	}
	case KEY_TYPE_inline_data:
	case KEY_TYPE_indirect_inline_data: {
		u8 *d = (u8 *)k->v + inline_data_offset(&k->k);
		unsigned bytes = bkey_val_bytes(&k->k) - inline_data_offset(&k->k);
		u64 cut = sub << 9 < bytes ? sub << 9 : bytes;

		memmove(d, d + cut, bytes - cut);
		val_shrink(k, bkey_val_u64s(&k->k) - cut / 8);
		break;
	}
	}
}

void bch_extent_cut_back(struct bkey_i *k, u64 where)
{
	u64 len = where - key_start(&k->k);

	k->k.p.offset = where;
	k->k.size = len;
	if (!len) {
		k->k.type = KEY_TYPE_deleted;
		val_shrink(k, 0);
		return;
	}
	if (k->k.type == KEY_TYPE_inline_data || k->k.type == KEY_TYPE_indirect_inline_data) {
		unsigned off = inline_data_offset(&k->k);
		unsigned bytes = bkey_val_bytes(&k->k) - off;
		u64 keep = len << 9 < bytes ? len << 9 : bytes;

		val_shrink(k, (off + keep) / 8);
	}
}

/* The extents of k's inode and snapshot overlapping [s, e), committed and pending merged. */
struct overlaps {
	struct bkey_i **k;
	size_t nr, size;
};

static int overlaps_push(struct btree_trans *t, struct overlaps *o, struct bkey_i *k)
{
	for (size_t i = 0; i < o->nr; i++)
		if (bpos_eq(o->k[i]->k.p, k->k.p)) {
			o->k[i] = k;	/* pending wins: pushed after committed */
			return 0;
		}
	if (o->nr == o->size) {
		size_t size = o->size ? o->size * 2 : 16;
		struct bkey_i **n = trans_alloc(t, size * sizeof(*n));

		if (!n)
			return -BCH_ERR_nomem;
		if (o->nr)
			memcpy(n, o->k, o->nr * sizeof(*n));
		o->k = n;
		o->size = size;
	}
	o->k[o->nr++] = k;
	return 0;
}

static bool overlaps_range(const struct bkey *k, struct bpos p, u64 s, u64 e)
{
	return k->p.inode == p.inode && k->p.snapshot == p.snapshot &&
	       k->p.offset > s && key_start(k) < e;
}

static int overlaps_committed(struct btree_trans *t, unsigned btree, struct bpos p, u64 s,
			      u64 e, struct overlaps *o, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	if (!c->roots[btree].alive && !c->overlay)
		return 0;
	bch_btree_iter_init(&it, c, btree, SPOS(p.inode, s + 1, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == p.inode) {
		if (k.k->p.snapshot == p.snapshot && !key_deleted(k.k)) {
			if (key_start(k.k) >= e)
				break;
			struct bkey_i *n = key_copy_s_c(t, k);

			if (!n) {
				ret = -BCH_ERR_nomem;
				break;
			}
			if (overlaps_range(&n->k, p, s, e) && (ret = overlaps_push(t, o, n)))
				break;
			if (k.k->p.offset >= e)
				break;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && *pb_cstr(&it.err))
		pb_printf(err, "%s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

static int overlaps_pending(struct btree_trans *t, unsigned btree, struct bpos p, u64 s, u64 e,
			    struct overlaps *o)
{
	for (size_t i = 0; i < t->nr_updates; i++) {
		struct btree_update *u = &t->updates[i];
		int ret;

		if (u->btree_id != btree || u->level)
			continue;
		/* a pending update replaces the committed key at its position */
		for (size_t j = 0; j < o->nr; j++)
			if (bpos_eq(o->k[j]->k.p, u->k->k.p))
				o->k[j--] = o->k[--o->nr];
		if (!key_deleted(&u->k->k) && overlaps_range(&u->k->k, p, s, e) &&
		    (ret = overlaps_push(t, o, u->k)))
			return ret;
	}
	return 0;
}

/* The trims, splits and deletes of the extents new overwrites. */
static int extent_overwrite(struct btree_trans *t, unsigned btree, const struct bkey_i *new,
			    unsigned flags, struct printbuf *err)
{
	struct bpos p = new->k.p;
	u64 s = key_start(&new->k), e = p.offset;
	struct overlaps o = { 0 };
	int ret = overlaps_committed(t, btree, p, s, e, &o, err) ?:
		overlaps_pending(t, btree, p, s, e, &o);

	flags |= BCH_UPDATE_NO_EXTENT_OVERWRITE;
	for (size_t i = 0; !ret && i < o.nr; i++) {
		const struct bkey_i *old = o.k[i];
		u64 os = key_start(&old->k), oe = old->k.p.offset;

		if (os < s) {
			struct bkey_i *front = key_dup(t, old);

			if (!front)
				return -BCH_ERR_nomem;
			bch_extent_cut_back(front, s);
			if (!upd_set(t, btree, 0, front, flags))
				return -BCH_ERR_nomem;
		}
		if (oe > e) {
			struct bkey_i *back = key_dup(t, old);

			if (!back)
				return -BCH_ERR_nomem;
			bch_extent_cut_front(back, e);
			if (!upd_set(t, btree, 0, back, flags))
				return -BCH_ERR_nomem;
		} else if (oe != e || key_deleted(&new->k)) {
			/* gone, unless the new key takes its position */
			struct bkey_i *del = key_new(t, KEY_TYPE_deleted, old->k.p, 0);

			if (!del || !upd_set(t, btree, 0, del, flags))
				return -BCH_ERR_nomem;
		}
	}
	return ret;
}

/* ---- queueing ---- */

static int update_check(struct btree_trans *t, unsigned btree, unsigned level,
			const struct bkey_i *k, struct printbuf *err)
{
	if (btree >= BTREE_ID_NR || level >= BTREE_MAX_DEPTH) {
		pb_printf(err, "update of btree %u level %u: no such btree", btree, level);
		return -BCH_ERR_bad_argument;
	}
	if (k->k.u64s < BKEY_U64s) {
		pb_printf(err, "update of btree %u: key of %u u64s", btree, k->k.u64s);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

static int trans_update(struct btree_trans *t, enum btree_id btree, unsigned level,
			const struct bkey_i *k, unsigned flags, struct printbuf *err)
{
	int ret = update_check(t, btree, level, k, err);

	if (ret)
		return ret;
	if (!level && bch_btree_is_extents(btree) && !(flags & BCH_UPDATE_NO_EXTENT_OVERWRITE) &&
	    k->k.size) {
		ret = extent_overwrite(t, btree, k, flags, err);
		if (ret)
			return ret;
		/* deleting a range: the trims are the update */
		if (key_deleted(&k->k))
			return 0;
	}
	return upd_set(t, btree, level, k, flags) ? 0 : -BCH_ERR_nomem;
}

int bch_trans_update(struct btree_trans *t, enum btree_id btree, unsigned level,
		     const struct bkey_i *k, unsigned flags)
{
	return trans_update(t, btree, level, k, flags, &t->err);
}

int bch_trans_delete(struct btree_trans *t, enum btree_id btree, unsigned level,
		     struct bpos pos, unsigned flags)
{
	struct bkey_i k;

	memset(&k, 0, sizeof(k));
	k.k.u64s = BKEY_U64s;
	k.k.format_whiteout = KEY_FORMAT_CURRENT;
	k.k.p = pos;
	return bch_trans_update(t, btree, level, &k, flags | BCH_UPDATE_NO_EXTENT_OVERWRITE);
}

/* The transaction's root update of btree (a new one if it has none). */
static struct btree_root_update *root_update(struct btree_trans *t, enum btree_id btree)
{
	for (unsigned i = 0; i < t->nr_roots; i++)
		if (t->roots[i].btree_id == btree)
			return &t->roots[i];
	t->roots[t->nr_roots].btree_id = btree;
	return &t->roots[t->nr_roots++];
}

int bch_trans_set_root(struct btree_trans *t, enum btree_id btree, unsigned level,
		       const struct bkey_i *k)
{
	struct btree_root_update *r;

	if (btree >= BTREE_ID_NR || level >= BTREE_MAX_DEPTH)
		return -BCH_ERR_bad_argument;
	r = root_update(t, btree);
	r->level = level;
	r->k = key_dup(t, k);
	return r->k ? 0 : -BCH_ERR_nomem;
}

int bch_trans_drop_root(struct btree_trans *t, enum btree_id btree)
{
	struct btree_root_update *r;

	if (btree >= BTREE_ID_NR)
		return -BCH_ERR_bad_argument;
	r = root_update(t, btree);
	r->level = 0;
	r->k = NULL;
	return 0;
}

/* ---- accounting ---- */

static int acc_add(struct btree_trans *t, const struct bch_acc_delta *d, int sign)
{
	struct bpos pos = bch_accounting_to_bpos(&d->pos);
	struct trans_acc *a = NULL;

	for (size_t i = 0; i < t->nr_acc; i++)
		if (bpos_eq(t->acc[i].pos, pos)) {
			a = &t->acc[i];
			break;
		}
	if (!a) {
		if (t->nr_acc == t->size_acc) {
			size_t size = t->size_acc ? t->size_acc * 2 : 16;
			struct trans_acc *n = realloc(t->acc, size * sizeof(*n));

			if (!n)
				return -BCH_ERR_nomem;
			t->acc = n;
			t->size_acc = size;
		}
		a = &t->acc[t->nr_acc++];
		memset(a, 0, sizeof(*a));
		a->pos = pos;
	}
	if (d->nr > a->nr)
		a->nr = d->nr < 3 ? d->nr : 3;
	for (unsigned i = 0; i < a->nr; i++)
		a->d[i] += sign * d->d[i];
	return 0;
}

static int acc_add_all(struct btree_trans *t, const struct bch_acc_deltas *ds, int sign)
{
	int ret = 0;

	for (unsigned i = 0; i < ds->nr && !ret; i++)
		ret = acc_add(t, &ds->d[i], sign);
	return ret;
}

int bch_trans_accounting_add(struct btree_trans *t, const struct disk_accounting_pos *pos,
			     const s64 *d, unsigned nr)
{
	struct bch_acc_delta delta = { .pos = *pos, .nr = nr < 3 ? nr : 3 };

	for (unsigned i = 0; i < delta.nr; i++)
		delta.d[i] = d[i];
	return acc_add(t, &delta, 1);
}

/* ---- triggers ---- */

enum trigger_class { TRIG_NONE, TRIG_PTRS, TRIG_INODE, TRIG_RESERVATION, TRIG_SUBVOL };

static enum trigger_class trigger_class(const struct bkey *k)
{
	if (!k)
		return TRIG_NONE;
	switch (k->type) {
	case KEY_TYPE_extent:
	case KEY_TYPE_reflink_v:
	case KEY_TYPE_btree_ptr:
	case KEY_TYPE_btree_ptr_v2:
		return TRIG_PTRS;
	case KEY_TYPE_inode:
	case KEY_TYPE_inode_v2:
	case KEY_TYPE_inode_v3:
		return TRIG_INODE;
	case KEY_TYPE_reservation:
		return TRIG_RESERVATION;
	case KEY_TYPE_subvolume:
		return TRIG_SUBVOL;
	default:
		return TRIG_NONE;
	}
}

static bool ptrs_equal(const struct bkey_i *a, const struct bkey_i *b)
{
	struct bkey_ptrs_c pa = a ? bch_bkey_ptrs(bkey_i_to_s_c(a)) : (struct bkey_ptrs_c) { 0 };
	struct bkey_ptrs_c pb = b ? bch_bkey_ptrs(bkey_i_to_s_c(b)) : (struct bkey_ptrs_c) { 0 };
	size_t la = (const u8 *)pa.end - (const u8 *)pa.start;
	size_t lb = (const u8 *)pb.end - (const u8 *)pb.start;

	return la == lb && (!la || !memcmp(pa.start, pb.start, la));
}

static struct bkey_i *alloc_key_new(struct btree_trans *t, struct bpos pos)
{
	struct bkey_i *k = key_new(t, KEY_TYPE_alloc_v4, pos, sizeof(struct bch_alloc_v4));

	if (k)
		set_alloc_v4_backpointers_start((struct bch_alloc_v4 *)k->v, BCH_ALLOC_V4_U64s);
	return k;
}

/* An alloc key as v4, in a new arena key at pos (zeroes: a bucket never used). */
static struct bkey_i *alloc_key_from(struct btree_trans *t, struct bpos pos,
				     const struct bkey_i *k)
{
	struct bkey_i *n = alloc_key_new(t, pos);

	if (n && k && bkey_is_alloc(&k->k)) {
		bch_alloc_to_v4(bkey_i_to_s_c(k), (struct bch_alloc_v4 *)n->v);
		n->k.bversion = k->k.bversion;
	}
	return n;
}

/* The transaction's alloc key for a bucket, created from the committed one. */
static int alloc_pending(struct btree_trans *t, unsigned dev, u64 bucket,
			 struct bch_alloc_v4 **a, struct printbuf *err)
{
	struct bpos pos = POS(dev, bucket);
	struct btree_update *u = upd_find(t, BTREE_ID_alloc, 0, pos);
	struct bkey_i *old, *n;
	int ret;

	if (u && u->k->k.type == KEY_TYPE_alloc_v4) {
		*a = (struct bch_alloc_v4 *)u->k->v;
		return 0;
	}
	ret = current_get(t, BTREE_ID_alloc, 0, pos, &old, err);
	if (ret < 0)
		return ret;
	n = alloc_key_from(t, pos, ret ? old : NULL);
	if (!n)
		return -BCH_ERR_nomem;
	u = upd_set(t, BTREE_ID_alloc, 0, n, 0);
	if (!u)
		return -BCH_ERR_nomem;
	*a = (struct bch_alloc_v4 *)u->k->v;
	return 0;
}

static int sectors_add(__le32 *dst, s64 delta, const struct bch_ptr_derived *d,
		       struct printbuf *err)
{
	s64 v = (s64)le32_to_cpu(*dst) + delta;

	if (v < 0 || v > (s64)UINT32_MAX) {
		pb_printf(err, "bucket %u:%llu sector count would become %lld",
			  d->dev, (unsigned long long)d->bucket, (long long)v);
		return -BCH_ERR_update_invalid;
	}
	*dst = cpu_to_le32((u32)v);
	return 0;
}

static int bp_update(struct btree_trans *t, const struct bch_ptr_derived *d, bool insert)
{
	struct bkey_i *k;

	if (!insert) {
		struct btree_update *u = upd_find(t, BTREE_ID_backpointers, 0, d->bp_pos);

		/*
		 * Another key of the transaction points at the same sector: the
		 * kernel runs every overwrite before any insert, so its insert wins.
		 */
		if (u && !key_deleted(&u->k->k))
			return 0;
		k = key_new(t, KEY_TYPE_deleted, d->bp_pos, 0);
	} else {
		k = key_new(t, KEY_TYPE_backpointer, d->bp_pos, sizeof(d->bp));
		if (k)
			memcpy(k->v, &d->bp, sizeof(d->bp));
	}
	return k && upd_set(t, BTREE_ID_backpointers, 0, k, 0) ? 0 : -BCH_ERR_nomem;
}

/* One pointer's share of its bucket, added or taken away. */
static int ptr_trigger(struct btree_trans *t, const struct bch_ptr_derived *derived,
		       bool insert, struct printbuf *err)
{
	struct bch_ptr_derived d = *derived;
	struct bch_alloc_v4 *a;
	s64 sign = insert ? 1 : -1;
	int ret;

	if (!d.dev_exists || !d.bucket_valid) {
		pb_printf(err, "pointer to %s %u:%llu", d.dev_exists ? "invalid bucket" : "missing device",
			  d.dev, (unsigned long long)d.bucket);
		return -BCH_ERR_update_invalid;
	}
	ret = alloc_pending(t, d.dev, d.bucket, &a, err);
	if (ret)
		return ret;
	bch_ptr_derived_judge_gen(&d, a->gen);
	if (d.gen_state == BCH_PTR_GEN_NEWER ||
	    (!ptr_cached(&d.p.ptr) && d.gen_state != BCH_PTR_GEN_OK)) {
		pb_printf(err, "pointer to bucket %u:%llu gen %u, bucket gen %u",
			  d.dev, (unsigned long long)d.bucket, (unsigned)ptr_gen(&d.p.ptr), a->gen);
		return -BCH_ERR_update_invalid;
	}
	if (!d.counts)
		return 0;
	ret = sectors_add(&a->dirty_sectors, sign * d.dirty_sectors, &d, err) ?:
		sectors_add(&a->cached_sectors, sign * d.cached_sectors, &d, err) ?:
		sectors_add(&a->stripe_sectors, sign * d.stripe_sectors, &d, err);
	if (ret)
		return ret;
	a->data_type = bch_alloc_data_type(a, d.data_type);
	return d.has_bp ? bp_update(t, &d, insert) : 0;
}

static int bit_update(struct btree_trans *t, enum btree_id btree, struct bpos pos, bool set)
{
	struct bkey_i *k = key_new(t, set ? KEY_TYPE_set : KEY_TYPE_deleted, pos, 0);

	return k && upd_set(t, btree, 0, k, BCH_UPDATE_NO_EXTENT_OVERWRITE) ? 0 : -BCH_ERR_nomem;
}

static int ptrs_side(struct btree_trans *t, unsigned btree, unsigned level,
		     const struct bkey_i *k, bool insert, bool *rebalance, struct printbuf *err)
{
	struct bch_ptr_derived ptrs[BCH_BKEY_PTRS_MAX];
	struct bch_acc_deltas acc = { 0 };
	struct bkey_s_c s = bkey_i_to_s_c(k);
	unsigned nr = bch_key_ptrs_derive(t->c, btree, level, s, ptrs);
	int ret = 0;

	for (unsigned i = 0; i < nr && !ret; i++)
		ret = ptr_trigger(t, &ptrs[i], insert, err);
	if (ret)
		return ret;
	bch_key_accounting_ptrs(t->c, btree, level, s, ptrs, nr, &acc);
	*rebalance = !level && bch_key_sectors_need_rebalance(t->c, s);
	return acc_add_all(t, &acc, insert ? 1 : -1);
}

static int trigger_ptrs(struct btree_trans *t, unsigned btree, unsigned level,
			const struct bkey_i *old, const struct bkey_i *new, struct printbuf *err)
{
	bool rb_old = false, rb_new = false;
	int ret;

	if (ptrs_equal(old, new))
		return 0;
	ret = (old ? ptrs_side(t, btree, level, old, false, &rb_old, err) : 0) ?:
	      (new ? ptrs_side(t, btree, level, new, true, &rb_new, err) : 0);
	if (ret)
		return ret;
	if (rb_old != rb_new)
		ret = bit_update(t, BTREE_ID_rebalance_work, (new ? new : old)->k.p, rb_new);
	return ret;
}

static bool inode_unlinked(const struct bkey_i *k)
{
	struct bch_inode_unpacked u;

	if (!k || bch_inode_unpack(bkey_i_to_s_c(k), &u))
		return false;
	/* the kernel masks has_child_snapshot away before testing it: unlinked alone decides */
	return u.bi_flags & (1U << BCH_INODE_unlinked);
}

static int trigger_simple(struct btree_trans *t, unsigned btree, unsigned level,
			  const struct bkey_i *k, int sign)
{
	struct bch_acc_deltas acc = { 0 };

	if (!k)
		return 0;
	bch_key_accounting(t->c, btree, level, bkey_i_to_s_c(k), &acc);
	return acc_add_all(t, &acc, sign);
}

/* A subvolume's fs_path_parent of a key that may be absent, or short (0). */
static u32 subvol_parent(const struct bkey_i *k)
{
	struct bch_subvolume v;

	if (!k)
		return 0;
	bkey_val_copy(&v, sizeof(v), bkey_i_to_s_c(k));
	return le32_to_cpu(v.fs_path_parent);
}

/* subvolume_children has (parent, id) for each subvolume with a parent: it follows fs_path_parent. */
static int subvol_children_move(struct btree_trans *t, const struct bkey_i *old, const struct bkey_i *new)
{
	u64 id = (new ?: old)->k.p.offset;
	u32 op = subvol_parent(old), np = subvol_parent(new);
	int ret = 0;

	if (op == np)
		return 0;
	if (op)
		ret = bit_update(t, BTREE_ID_subvolume_children, POS(op, id), false);
	if (!ret && np)
		ret = bit_update(t, BTREE_ID_subvolume_children, POS(np, id), true);
	return ret;
}

static int trigger_class_run(struct btree_trans *t, enum trigger_class cls, unsigned btree,
			     unsigned level, const struct bkey_i *old, const struct bkey_i *new,
			     struct printbuf *err)
{
	int ret;

	switch (cls) {
	case TRIG_PTRS:
		return trigger_ptrs(t, btree, level, old, new, err);
	case TRIG_INODE:
		ret = trigger_simple(t, btree, level, old, -1) ?:
		      trigger_simple(t, btree, level, new, 1);
		if (!ret && inode_unlinked(old) != inode_unlinked(new))
			ret = bit_update(t, BTREE_ID_deleted_inodes, (new ? new : old)->k.p,
					 inode_unlinked(new));
		return ret;
	case TRIG_RESERVATION:
		return trigger_simple(t, btree, level, old, -1) ?:
		       trigger_simple(t, btree, level, new, 1);
	case TRIG_SUBVOL:
		return subvol_children_move(t, old, new);
	default:
		return 0;
	}
}

/* Runs the triggers of one (old, new) pair as the kernel pairs them by trigger. */
static int trigger_key(struct btree_trans *t, unsigned btree, unsigned level,
		       const struct bkey_i *old, const struct bkey_i *new, struct printbuf *err)
{
	enum trigger_class co = trigger_class(old ? &old->k : NULL);
	enum trigger_class cn = trigger_class(new ? &new->k : NULL);

	if (co == cn)
		return trigger_class_run(t, cn, btree, level, old, new, err);
	return trigger_class_run(t, cn, btree, level, NULL, new, err) ?:
	       trigger_class_run(t, co, btree, level, old, NULL, err);
}

/* ---- the alloc trigger ---- */

static bool data_type_empty(unsigned t)
{
	return t == BCH_DATA_free || t == BCH_DATA_need_gc_gens || t == BCH_DATA_need_discard;
}

static u64 sectors_total(const struct bch_alloc_v4 *a)
{
	return (u64)le32_to_cpu(a->dirty_sectors) + le32_to_cpu(a->cached_sectors) +
	       le32_to_cpu(a->stripe_sectors);
}

static u64 io_time_now(const struct bch_fs *c, unsigned rw)
{
	u64 v = c->journal.w.io_clock[rw] & LRU_TIME_MAX;

	return v ? v : 1;
}

static bool bucket_is_open(struct bch_fs *c, unsigned dev, u64 bucket)
{
	return c->allocator && bch_allocator_bucket_is_open(c, dev, bucket);
}

static int lru_change(struct btree_trans *t, u16 id, unsigned dev, u64 bucket, u64 old, u64 new)
{
	int ret = 0;

	if (old == new)
		return 0;
	if (old)
		ret = bit_update(t, BTREE_ID_lru, bch_lru_pos(id, dev, bucket, old), false);
	if (!ret && new)
		ret = bit_update(t, BTREE_ID_lru, bch_lru_pos(id, dev, bucket, new), true);
	return ret;
}

/* freespace entries are size-1 extents; removing one trims whatever covers it */
static int freespace_update(struct btree_trans *t, struct bpos end, bool set,
			    struct printbuf *err)
{
	struct bkey_i *k = key_new(t, set ? KEY_TYPE_set : KEY_TYPE_deleted, end, 0);

	if (!k)
		return -BCH_ERR_nomem;
	k->k.size = 1;
	return trans_update(t, BTREE_ID_freespace, 0, k, 0, err);
}

static int alloc_index(struct btree_trans *t, const struct bch_alloc_derived *d,
		       struct bpos bucket, bool set, struct printbuf *err)
{
	if (d->need_discard)
		return bit_update(t, BTREE_ID_need_discard, bucket, set);
	if (d->free)
		return freespace_update(t, d->freespace_pos, set, err);
	return 0;
}

static int bucket_gen_set(struct btree_trans *t, const struct bch_alloc_derived *d,
			  struct printbuf *err)
{
	struct btree_update *u = upd_find(t, BTREE_ID_bucket_gens, 0, d->gens_pos);
	struct bkey_i *k;
	int ret;

	if (!u) {
		struct bkey_i *old;

		ret = current_get(t, BTREE_ID_bucket_gens, 0, d->gens_pos, &old, err);
		if (ret < 0)
			return ret;
		k = key_new(t, KEY_TYPE_bucket_gens, d->gens_pos, sizeof(struct bch_bucket_gens));
		if (!k)
			return -BCH_ERR_nomem;
		if (ret && old->k.type == KEY_TYPE_bucket_gens)
			memcpy(k->v, old->v, bkey_val_bytes(&old->k) < sizeof(struct bch_bucket_gens)
			       ? bkey_val_bytes(&old->k) : sizeof(struct bch_bucket_gens));
		u = upd_set(t, BTREE_ID_bucket_gens, 0, k, 0);
		if (!u)
			return -BCH_ERR_nomem;
	}
	((u8 *)u->k->v)[d->gens_offset] = d->gen;	/* bch_bucket_gens: one byte per bucket */
	return 0;
}

static int trigger_alloc(struct btree_trans *t, struct btree_update *u, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	struct bpos p = u->k->k.p;
	const struct bch_member_cpu *m = p.inode < BCH_SB_MEMBERS_MAX && c->sb.members[p.inode].exists
		? &c->sb.members[p.inode] : NULL;
	struct bch_alloc_v4 old_a, *a;
	struct bch_alloc_derived od, nd;
	struct bch_acc_deltas acc = { 0 };
	int ret;

	if (!m) {
		pb_printf(err, "alloc key %llu:%llu for a missing device",
			  (unsigned long long)p.inode, (unsigned long long)p.offset);
		return -BCH_ERR_update_invalid;
	}
	if (u->k->k.type != KEY_TYPE_alloc_v4) {
		struct bkey_i *n = alloc_key_from(t, p, u->k);

		if (!n)
			return -BCH_ERR_nomem;
		u->k = n;
	}
	a = (struct bch_alloc_v4 *)u->k->v;
	memset(&old_a, 0, sizeof(old_a));
	if (u->old)
		bch_alloc_to_v4(bkey_i_to_s_c(u->old), &old_a);
	else
		old_a.data_type = BCH_DATA_free;

	a->data_type = bch_alloc_data_type(a, a->data_type);
	if (sectors_total(a) > sectors_total(&old_a)) {
		a->io_time[0] = cpu_to_le64(io_time_now(c, 0));
		a->io_time[1] = cpu_to_le64(io_time_now(c, 1));
		set_alloc_v4_need_inc_gen(a, 1);
		set_alloc_v4_need_discard(a, 1);
	}
	if (data_type_empty(a->data_type) && alloc_v4_need_inc_gen(a) &&
	    !bucket_is_open(c, p.inode, p.offset)) {
		a->gen++;
		set_alloc_v4_need_inc_gen(a, 0);
		a->data_type = bch_alloc_data_type(a, a->data_type);
	}
	bch_alloc_derive(m, p, &old_a, &od);
	bch_alloc_derive(m, p, a, &nd);
	if (old_a.data_type != a->data_type || (nd.free && od.genbits != nd.genbits)) {
		ret = alloc_index(t, &od, p, false, err) ?:
		      alloc_index(t, &nd, p, true, err);
		if (ret)
			return ret;
	}
	if (a->data_type == BCH_DATA_cached && !a->io_time[0]) {
		a->io_time[0] = cpu_to_le64(io_time_now(c, 0));
		bch_alloc_derive(m, p, a, &nd);
	}
	ret = lru_change(t, BCH_LRU_READ_ID(p.inode), p.inode, p.offset,
			 od.lru_read_time, nd.lru_read_time) ?:
	      lru_change(t, BCH_LRU_FRAG_ID, p.inode, p.offset,
			 od.lru_frag_time, nd.lru_frag_time);
	if (!ret && old_a.gen != a->gen)
		ret = bucket_gen_set(t, &nd, err);
	if (ret)
		return ret;
	bch_alloc_dev_accounting(m, p.inode, &old_a, &acc);
	ret = acc_add_all(t, &acc, -1);
	acc.nr = 0;
	bch_alloc_dev_accounting(m, p.inode, a, &acc);
	return ret ?: acc_add_all(t, &acc, 1);
}

/* ---- commit ---- */

/* Alloc keys (leaves of the alloc btree) run their trigger last. */
static bool is_alloc_key(const struct btree_update *u)
{
	return u->btree_id == BTREE_ID_alloc && !u->level;
}

static int old_get(struct btree_trans *t, struct btree_update *u, struct printbuf *err)
{
	int ret = committed_get(t, u->btree_id, u->level, u->k->k.p, &u->old, err);

	return ret < 0 ? ret : 0;
}

/* Trigger level: the kernel's triggers see a key's node level; a root, its level + 1. */
static int run_triggers(struct btree_trans *t, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	int ret = 0;

	for (unsigned i = 0; i < t->nr_roots && !ret; i++) {
		struct btree_root_update *r = &t->roots[i];
		const struct btree_root *cur = &c->roots[r->btree_id];
		const struct bkey_i *old = cur->alive && !cur->error ? &cur->key : NULL;

		if (!r->k)
			continue;	/* a dropped root: no triggers */
		if (old && cur->level == r->level)
			ret = trigger_key(t, r->btree_id, r->level + 1, old, r->k, err);
		else
			ret = (old ? trigger_key(t, r->btree_id, cur->level + 1, old, NULL, err) : 0) ?:
			      trigger_key(t, r->btree_id, r->level + 1, NULL, r->k, err);
	}
	/* everything but alloc keys first: pointer triggers accumulate into them */
	for (size_t i = 0; i < t->nr_updates && !ret; i++) {
		struct btree_update *u = &t->updates[i];

		if (u->triggered || is_alloc_key(u))
			continue;
		u->triggered = true;
		ret = old_get(t, u, err);
		if (!ret && !(u->flags & BCH_UPDATE_NO_TRIGGERS))
			ret = trigger_key(t, u->btree_id, u->level, u->old,
					  key_deleted(&u->k->k) ? NULL : u->k, err);
		u = &t->updates[i];	/* the array may have moved */
	}
	for (size_t i = 0; i < t->nr_updates && !ret; i++) {
		struct btree_update *u = &t->updates[i];

		if (u->triggered)
			continue;
		u->triggered = true;
		ret = old_get(t, u, err);
		if (!ret && is_alloc_key(u) && !(u->flags & BCH_UPDATE_NO_TRIGGERS) &&
		    !key_deleted(&t->updates[i].k->k))
			ret = trigger_alloc(t, &t->updates[i], err);
	}
	return ret;
}

static bool update_is_noop(const struct btree_update *u)
{
	if (u->flags & BCH_UPDATE_FORCE)
		return false;
	if (key_deleted(&u->k->k))
		return !u->old;
	return u->old && u->old->k.u64s == u->k->k.u64s &&
	       !memcmp(u->old, u->k, u->k->k.u64s * 8);
}

static bool acc_is_zero(const struct trans_acc *a)
{
	for (unsigned i = 0; i < a->nr; i++)
		if (a->d[i])
			return false;
	return true;
}

/* Whether the delta adds to any counter (a replicas entry it names must then be marked). */
static bool acc_adds(const struct trans_acc *a)
{
	for (unsigned i = 0; i < a->nr; i++)
		if (a->d[i] > 0)
			return true;
	return false;
}

static size_t journal_u64s_needed(const struct btree_trans *t)
{
	size_t u64s = 8;	/* the transaction name entry */

	for (size_t i = 0; i < t->nr_updates; i++)
		u64s += 1 + t->updates[i].k->k.u64s;
	return u64s + t->nr_acc * (1 + BKEY_U64s + 3);
}

/* Fields the kernel sets once the journal seq is known. */
static void seq_fields_set(struct btree_trans *t, struct btree_update *u)
{
	u64 seq = t->seq;

	if (u->k->k.type == KEY_TYPE_inode_v3 && !(u->flags & BCH_UPDATE_NO_TRIGGERS)) {
		((struct bch_inode_v3 *)u->k->v)->bi_journal_seq = cpu_to_le64(seq);
		return;
	}
	if (u->btree_id == BTREE_ID_alloc && u->k->k.type == KEY_TYPE_alloc_v4 &&
	    !(u->flags & BCH_UPDATE_NO_TRIGGERS)) {
		struct bch_alloc_v4 old_a, *a = (struct bch_alloc_v4 *)u->k->v;

		memset(&old_a, 0, sizeof(old_a));
		if (u->old)
			bch_alloc_to_v4(bkey_i_to_s_c(u->old), &old_a);
		else
			old_a.data_type = BCH_DATA_free;
		if (data_type_empty(old_a.data_type) != data_type_empty(a->data_type))
			a->journal_seq = cpu_to_le64(data_type_empty(a->data_type) &&
						     le64_to_cpu(a->journal_seq) == seq ? 0 : seq);
	}
}

/*
 * The accounting key of a delta, versioned by where it goes in the journal
 * (offset: the jset's size before it), and added to jb when there is one.
 */
static int acc_journal(struct btree_trans *t, struct jset_builder *jb, const struct trans_acc *a,
		       struct bkey_i *k)
{
	struct jset_entry *e;
	u64 offset = jb ? le32_to_cpu(jb->j->u64s) : 0;

	memset(k, 0, sizeof(*k));
	k->k.u64s = BKEY_U64s + a->nr;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = KEY_TYPE_accounting;
	k->k.p = a->pos;
	k->k.bversion.hi = t->seq >> 32;
	k->k.bversion.lo = (t->seq << 32) | offset;
	for (unsigned i = 0; i < a->nr; i++)
		k->v[i] = cpu_to_le64((u64)a->d[i]);
	if (!jb)
		return 0;
	/* Linux 6.12 journals accounting deltas as btree_keys, and replays only those */
	e = bch_jset_entry_add(jb, BCH_JSET_ENTRY_btree_keys, BTREE_ID_accounting, 0,
			       k->k.u64s);
	if (!e)
		return -BCH_ERR_jset_full;
	memcpy(e->_data, k, k->k.u64s * 8);
	return 0;
}

/* The new total of a counter after the delta k: the overlay's key. */
static int acc_apply(struct btree_trans *t, const struct bkey_i *delta, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	const struct bch_overlay_entry *e = bch_overlay_get(c->overlay, BTREE_ID_accounting, 0,
							    delta->k.p);
	u64 seq = e && e->journal_seq && e->journal_seq < t->seq ? e->journal_seq : t->seq;
	struct bkey_i *cur, *n;
	bool zero = true;
	int ret = committed_get(t, BTREE_ID_accounting, 0, delta->k.p, &cur, err);

	if (ret < 0)
		return ret;
	n = key_dup(t, delta);
	if (!n)
		return -BCH_ERR_nomem;
	for (unsigned i = 0; i < bkey_val_u64s(&n->k); i++) {
		u64 v = le64_to_cpu(n->v[i]);

		if (cur && i < bkey_val_u64s(&cur->k))
			v += le64_to_cpu(cur->v[i]);
		n->v[i] = cpu_to_le64(v);
		zero &= !v;
	}
	if (zero) {
		n->k.type = KEY_TYPE_deleted;
		n->k.u64s = BKEY_U64s;
	}
	return bch_overlay_insert(c->overlay, BTREE_ID_accounting, 0, n, seq);
}

static int commit_apply(struct btree_trans *t, struct jset_builder *jb, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	struct bkey_i *acc_keys = trans_alloc(t, (t->nr_acc + 1) * (BKEY_U64s + 3) * 8);
	size_t nr_acc_keys = 0;
	int ret = 0;

	if (!acc_keys)
		return -BCH_ERR_nomem;
	/* jb NULL: a memory-only filesystem, nothing journaled */
	if (t->name && jb)
		ret = bch_jset_add_trans_name(jb, t->name);
	for (size_t i = 0; i < t->nr_updates && !ret; i++) {
		struct btree_update *u = &t->updates[i];

		if (update_is_noop(u))
			continue;
		seq_fields_set(t, u);
		if (jb)
			ret = bch_jset_add_key(jb, u->btree_id, u->level, u->k);
	}
	for (size_t i = 0; i < t->nr_acc && !ret; i++) {
		struct bkey_i *k = (void *)((u64 *)acc_keys + nr_acc_keys * (BKEY_U64s + 3));

		if (acc_is_zero(&t->acc[i]))
			continue;
		ret = acc_journal(t, jb, &t->acc[i], k);
		nr_acc_keys++;
	}
	if (ret) {
		pb_str(err, "transaction does not fit its journal reservation");
		return ret;
	}

	/* the journal has it all: now the overlay, the roots and the allocator */
	for (size_t i = 0; i < t->nr_updates && !ret; i++) {
		struct btree_update *u = &t->updates[i];

		if (update_is_noop(u))
			continue;
		ret = bch_overlay_insert(c->overlay, u->btree_id, u->level, u->k, t->seq);
		if (!ret && u->btree_id == BTREE_ID_alloc && c->allocator &&
		    u->k->k.type == KEY_TYPE_alloc_v4)
			bch_allocator_bucket_update(c, u->k->k.p.inode, u->k->k.p.offset,
						    (struct bch_alloc_v4 *)u->k->v, t->seq);
	}
	for (size_t i = 0; i < nr_acc_keys && !ret; i++)
		ret = acc_apply(t, (void *)((u64 *)acc_keys + i * (BKEY_U64s + 3)), err);
	for (unsigned i = 0; i < t->nr_roots && !ret; i++) {
		struct btree_root *r = bch_fs_root_change(c, t->roots[i].btree_id);

		memset(r, 0, sizeof(*r));
		if (!t->roots[i].k)
			continue;	/* dropped: empty, not alive */
		r->alive = true;
		r->level = t->roots[i].level;
		memcpy(&r->key, t->roots[i].k, t->roots[i].k->k.u64s * 8);
	}
	return ret;
}

/*
 * What the superblock must say before the journal may: replicas entries of
 * the accounting added to (a delta that only takes away, as the repair of
 * a key naming a device that is gone, marks nothing), and the btree bitmap
 * the allocator extended.
 * A new filesystem's superblock is written once, at the end of format.
 */
static int sb_prepare(struct btree_trans *t, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	int ret = 0;

	for (size_t i = 0; i < t->nr_acc && !ret; i++) {
		struct disk_accounting_pos acc = bch_bpos_to_accounting(t->acc[i].pos);

		if (acc.type == BCH_DISK_ACCOUNTING_replicas && acc_adds(&t->acc[i]))
			ret = bch_fs_replicas_mark(c, (const struct bch_replicas_entry_v1 *)&acc.replicas,
						   err);
	}
	if (!ret && c->sb_dirty && !c->opts.new_fs && !c->memory_only)
		ret = bch_fs_sb_write_all(c, err);
	return ret;
}

int bch_trans_commit(struct btree_trans *t, struct printbuf *err)
{
	struct bch_fs *c = t->c;
	struct jset_builder *jb = NULL;
	int ret = 0;

	if (*pb_cstr(&t->err)) {
		pb_printf(err, "%s", pb_cstr(&t->err));
		ret = -BCH_ERR_update_invalid;
		goto out;
	}
	if (!c->overlay && !(c->overlay = bch_overlay_new())) {
		ret = -BCH_ERR_nomem;
		goto out;
	}
	/* before the triggers: the flush commits alloc keys they may read */
	ret = bch_btree_reclaim(c, err);
	if (ret)
		goto out;
	ret = run_triggers(t, err) ?: sb_prepare(t, err);
	if (ret)
		goto out;
	/* memory-only: no journal entry (jb stays NULL), the overlay alone takes it */
	if (c->memory_only)
		t->seq = c->memory_seq;
	else
		ret = bch_journal_reserve(c, journal_u64s_needed(t), &jb, &t->seq, err);
	if (!ret)
		ret = commit_apply(t, jb, err);
out:
	bch_trans_reset(t);
	return ret;
}

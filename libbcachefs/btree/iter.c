/* Btree iteration with the overlay: descend to the node holding a position, merge node and overlay keys. */
#include <stdint.h>
#include <string.h>

#include "iter.h"
#include "cache.h"
#include "overlay.h"
#include "node_read.h"
#include "prefetch.h"
#include "util/errcode.h"
#include "util/names.h"

void bch_btree_iter_init(struct btree_iter *it, struct bch_fs *c, enum btree_id id,
			 struct bpos start, unsigned level)
{
	memset(it, 0, sizeof(*it));
	it->c = c;
	it->btree_id = id;
	it->level = level;
	it->pos = start;
}

/* Unpins the path's nodes at levels 0..level. */
static void path_put(struct btree_iter *it, unsigned level)
{
	for (unsigned l = 0; l <= level && l < BTREE_MAX_DEPTH; l++) {
		bch_btree_node_put(it->c, it->path[l]);
		it->path[l] = NULL;
	}
}

void bch_btree_iter_exit(struct btree_iter *it)
{
	path_put(it, BTREE_MAX_DEPTH - 1);
	pb_exit(&it->err);
}

static size_t node_lower_bound(const struct btree *b, size_t hint, struct bpos pos)
{
	if (hint <= b->nr_keys &&
	    (hint == b->nr_keys || bpos_ge(b->keys[hint].p, pos)) &&
	    (!hint || bpos_lt(b->keys[hint - 1].p, pos)))
		return hint;
	return bch_btree_node_lower_bound(b, pos);
}

/*
 * The first live key at or after pos in node b at `level`, node keys and
 * overlay entries merged (the overlay wins at equal positions): 1 if found,
 * 0 if the node has none.  At the iterator's level both cursors are kept
 * for the next call, which usually starts just past the key returned; the
 * overlay cursor finds its place again if entries were inserted since.
 */
static int merged_peek(struct btree_iter *it, const struct btree *b, unsigned level,
		       struct bpos pos, struct bkey_s_c *out)
{
	const struct bch_overlay *ov = it->no_journal ? NULL : it->c->overlay;
	struct bch_overlay_iter interior = { 0 };
	struct bch_overlay_iter *oi = level == it->level ? &it->ov_iter : &interior;
	size_t i = node_lower_bound(b, level == it->level ? it->node_idx : 0, pos);
	int ret = 0;

	bch_overlay_iter_seek_near(oi, ov, it->btree_id, level, pos);
	while (1) {
		const struct bkey *bk = i < b->nr_keys ? &b->keys[i] : NULL;
		struct bpos end = bk ? bk->p : b->max_key;
		const struct bch_overlay_entry *e = bch_overlay_iter_peek(oi);
		struct bkey_s_c k;

		/* entries up to the next node key (or the node's end) come first */
		if (e && (e->btree_id != it->btree_id || e->level != level ||
			  bpos_gt(e->k->k.p, end)))
			e = NULL;
		if (!bk && !e)
			break;
		if (e) {
			k = bkey_i_to_s_c(e->k);
			if (bk && bpos_eq(bk->p, e->k->k.p))
				i++;	/* masked by the overlay key */
			bch_overlay_iter_next(oi);
		} else {
			k = btree_key(b, i);
			i++;
		}
		if (k.k->type == KEY_TYPE_deleted)
			continue;
		*out = k;
		ret = 1;
		break;
	}
	if (level == it->level)
		it->node_idx = i;
	return ret;
}

static bool same_ptr(const struct bkey_i *a, const struct bkey_i *b)
{
	return a->k.u64s == b->k.u64s && a->k.type == b->k.type &&
		!memcmp(a, b, a->k.u64s * 8);
}

/* Points the path at level `level` to the node ptr names. */
static int path_set(struct btree_iter *it, const struct bkey_i *ptr, unsigned level)
{
	if (it->path[level] && same_ptr(&it->path[level]->key, ptr))
		return 0;
	path_put(it, level);
	it->node_idx = 0;
	return bch_btree_node_get(it->c, ptr, it->btree_id, level, &it->path[level],
				  &it->err);
}

unsigned bch_btree_virtual_root_level(const struct bch_fs *c, enum btree_id id)
{
	if (c->roots[id].alive || !c->overlay)
		return 0;
	for (unsigned l = BTREE_MAX_DEPTH - 1; l; l--)
		if (bch_overlay_nr(c->overlay, id, l))
			return l;
	return 0;
}

static int load_root(struct btree_iter *it)
{
	const struct btree_root *r = &it->c->roots[it->btree_id];

	if (!r->alive) {
		struct bkey_i fake;

		it->have_root = false;
		it->root_level = bch_btree_virtual_root_level(it->c, it->btree_id);
		bch_btree_fake_root_key(&fake);
		return path_set(it, &fake, it->root_level);
	}
	if (r->error) {
		pb_printf(&it->err, "btree %s: root is unreadable (empty root entry)",
			  bch_btree_id_names[it->btree_id]);
		return -BCH_ERR_btree_root_missing;
	}
	it->have_root = true;
	it->root_level = r->level;
	return path_set(it, &r->key, r->level);
}

/*
 * The path moved to another child of `parent` at level `level` (the one
 * at ptr's position): when it is the one after the child before, the walk
 * goes along the level, and the next children are read ahead.  A lookup
 * (the first child an iterator reaches in a parent) costs no search.
 */
static void read_ahead(struct btree_iter *it, const struct btree *parent, unsigned level,
		       const struct bkey_i *ptr)
{
	size_t idx;

	if (!it->c->opts.read_ahead)
		return;
	if (it->ra_parent[level] != parent) {
		it->ra_parent[level] = parent;
		it->ra_idx[level] = SIZE_MAX;	/* not looked up: the hint below is 0 */
		it->ra_pos[level] = ptr->k.p;
		return;
	}
	idx = node_lower_bound(parent, it->ra_idx[level] + 1, ptr->k.p);
	if (idx && idx < parent->nr_keys && bpos_eq(parent->keys[idx - 1].p, it->ra_pos[level]))
		bch_btree_prefetch_children(it->c, it->btree_id, parent, idx + 1);
	it->ra_idx[level] = idx;
	it->ra_pos[level] = ptr->k.p;
}

/* Makes path[it->level] the node covering it->pos; 0 if above the root. */
static int traverse(struct btree_iter *it)
{
	int ret;

	it->path_ok = false;
	ret = load_root(it);
	if (ret)
		return ret;
	if (it->level > it->root_level)
		return 0;

	for (unsigned l = it->root_level; l > it->level; l--) {
		struct bkey_s_c child;

		if (!merged_peek(it, it->path[l], l, it->pos, &child)) {
			pb_printf(&it->err, "btree %s level %u: no child node covers ",
				  bch_btree_id_names[it->btree_id], l);
			bch_bpos_to_text(&it->err, it->pos);
			return -BCH_ERR_btree_node_invalid;
		}
		if (child.k->type != KEY_TYPE_btree_ptr_v2 &&
		    child.k->type != KEY_TYPE_btree_ptr) {
			pb_printf(&it->err, "btree %s level %u: child pointer of type %u",
				  bch_btree_id_names[it->btree_id], l, child.k->type);
			return -BCH_ERR_btree_node_invalid;
		}
		/* child.k and child.v are contiguous for overlay keys, not node keys */
		union {
			struct bkey_i k;
			u8 buf[sizeof(struct bkey) + 8 * BKEY_VAL_U64s_MAX];
		} ptr;
		ptr.k.k = *child.k;
		memcpy(ptr.k.v, child.v, bkey_val_bytes(child.k));

		const struct btree *was = it->path[l - 1];

		ret = path_set(it, &ptr.k, l - 1);
		if (ret)
			return ret;
		if (it->path[l - 1] != was)
			read_ahead(it, it->path[l], l - 1, &ptr.k);
	}
	it->path_ok = true;
	it->path_ov_gen = bch_overlay_gen(it->c->overlay);
	it->path_roots_gen = it->c->roots_gen;
	return 1;
}

/*
 * Whether path[it->level] is still the node a traverse would reach: the
 * position only moves on, and while it stays inside the node (whose max
 * key is its pointer's) and nothing above the leaves can have changed
 * (no overlay insert or drop, no new root), every level would pick the
 * same child again.
 */
static bool path_current(const struct btree_iter *it)
{
	const struct btree *b = it->path[it->level];

	return it->path_ok && b &&
		it->path_ov_gen == bch_overlay_gen(it->c->overlay) &&
		it->path_roots_gen == it->c->roots_gen &&
		bpos_ge(it->pos, b->min_key) && bpos_le(it->pos, b->max_key);
}

int bch_btree_iter_peek(struct btree_iter *it, struct bkey_s_c *k)
{
	if (it->key_end)
		return 0;
	while (1) {
		int ret = path_current(it) ? 1 : traverse(it);
		if (ret <= 0)
			return ret;

		struct btree *b = it->path[it->level];

		if (merged_peek(it, b, it->level, it->pos, k)) {
			it->k = *k->k;
			k->k = &it->k;
			return 1;
		}
		if (bpos_eq(b->max_key, SPOS_MAX))
			return 0;
		it->pos = bpos_successor(b->max_key);
	}
}

void bch_btree_iter_advance(struct btree_iter *it)
{
	struct bch_fs *c = it->c;

	/* nothing follows SPOS_MAX (interior levels end with a key there) */
	if (bpos_eq(it->k.p, SPOS_MAX))
		it->key_end = true;
	it->pos = bpos_successor(it->k.p);
	if (c->progress && !(++c->keys_walked % BCH_PROGRESS_KEYS))
		c->progress(c->progress_ctx, c->keys_walked);
}

int bch_btree_iter_peek_node(struct btree_iter *it, const struct btree **b)
{
	if (it->node_end)
		return 0;
	if (it->node_level < it->level)
		it->node_level = it->level;
	if (it->node_level == it->level) {
		int ret = traverse(it);
		if (ret <= 0)
			return ret;
	}
	*b = it->path[it->node_level];
	return 1;
}

void bch_btree_iter_next_node(struct btree_iter *it)
{
	const struct btree *b = it->path[it->node_level];

	if (it->node_level >= it->root_level) {
		it->node_end = true;
		return;
	}
	/* the last child of its parent: the parent comes next */
	if (bpos_eq(b->key.k.p, it->path[it->node_level + 1]->key.k.p)) {
		it->node_level++;
		return;
	}
	it->pos = bpos_successor(b->key.k.p);
	it->node_level = it->level;
}

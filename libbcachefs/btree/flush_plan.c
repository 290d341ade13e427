/* The flush planner: what becomes of a node and its pending updates (append, rewrite, split, merge), without I/O. */
#include <stdlib.h>
#include <string.h>

#include "flush.h"
#include "btree_types.h"
#include "node_write.h"
#include "bkey/format_calc.h"
#include "util/errcode.h"

static const u64 no_val;	/* a non-NULL value pointer for keys without one */

static int plan_grow(struct bch_flush_plan *p, size_t n)
{
	if (n <= p->size)
		return 0;

	size_t size = p->size ? p->size : 64;

	while (size < n)
		size *= 2;

	struct bkey *keys = realloc(p->keys, size * sizeof(*keys));
	if (keys)
		p->keys = keys;
	const void **vals = realloc(p->vals, size * sizeof(*vals));
	if (vals)
		p->vals = vals;
	u64 *seqs = realloc(p->seqs, size * sizeof(*seqs));
	if (seqs)
		p->seqs = seqs;
	if (!keys || !vals || !seqs)
		return -BCH_ERR_nomem;
	p->size = size;
	return 0;
}

static int plan_push(struct bch_flush_plan *p, const struct bkey *k, const void *v, u64 seq)
{
	int ret = plan_grow(p, p->nr + 1);

	if (ret)
		return ret;
	p->keys[p->nr] = *k;
	p->keys[p->nr].pad = 0;
	p->vals[p->nr] = v ? v : &no_val;
	p->seqs[p->nr++] = seq;
	return 0;
}

static struct bch_flush_piece *piece_add(struct bch_flush_plan *p)
{
	if (p->nr_pieces == p->size_pieces) {
		size_t size = p->size_pieces ? p->size_pieces * 2 : 8;
		struct bch_flush_piece *n = realloc(p->pieces, size * sizeof(*n));

		if (!n)
			return NULL;
		p->pieces = n;
		p->size_pieces = size;
	}
	memset(&p->pieces[p->nr_pieces], 0, sizeof(p->pieces[0]));
	return &p->pieces[p->nr_pieces++];
}

void bch_flush_plan_exit(struct bch_flush_plan *p)
{
	free(p->keys);
	free(p->vals);
	free(p->seqs);
	free(p->pieces);
	memset(p, 0, sizeof(*p));
}

static bool same_key(const struct bkey *a, const void *av, const struct bkey *b, const void *bv)
{
	return a->type == b->type && a->u64s == b->u64s && a->size == b->size &&
		bpos_eq(a->p, b->p) &&
		a->bversion.hi == b->bversion.hi && a->bversion.lo == b->bversion.lo &&
		!memcmp(av, bv, bkey_val_bytes(a));
}

/* u64s of k in a bset of format f: packed when it fits. */
static size_t key_u64s_in(const struct bkey_format *f, const struct bkey *k)
{
	u64 tmp[BKEY_U64s];

	return bkey_val_u64s(k) +
		(bch_bkey_pack(f, k, (void *)tmp) ? f->key_u64s : BKEY_U64s);
}

/* u64s a node key takes as stored. */
static size_t stored_u64s(const struct bch_flush_node *n, size_t i)
{
	const struct bkey *k = &n->keys[i];

	return bkey_val_u64s(k) +
		((k->pad & BKEY_PAD_WAS_PACKED) ? n->format.key_u64s : BKEY_U64s);
}

static int update_check(const struct bch_flush_node *first, const struct bch_flush_node *last,
			const struct bch_flush_update *upd, size_t nr_upd)
{
	for (size_t i = 0; i < nr_upd; i++) {
		struct bpos p = upd[i].k->k.p;

		if (bpos_lt(p, first->min_key) || bpos_gt(p, last->max_key) ||
		    (i && !bpos_lt(upd[i - 1].k->k.p, p)))
			return -BCH_ERR_bad_argument;
	}
	return 0;
}

/* 1: the updates fit as one more bset of n (plan set), 0: rewrite instead. */
static int plan_append(const struct bch_flush_geom *g, const struct bch_flush_node *n,
		       const struct bch_flush_update *upd, size_t nr_upd,
		       struct bch_flush_plan *p)
{
	size_t removed = 0, added = 0, i = 0;
	u64 seq = 0;
	int ret;

	if (n->rewrite)
		return 0;
	for (size_t u = 0; u < nr_upd; u++) {
		const struct bkey_i *k = upd[u].k;

		while (i < n->nr && bpos_lt(n->keys[i].p, k->k.p))
			i++;

		bool have = i < n->nr && bpos_eq(n->keys[i].p, k->k.p);

		if (k->k.type == KEY_TYPE_deleted) {
			if (!have)
				continue;

			struct bkey w = {
				.u64s = BKEY_U64s, .format_whiteout = KEY_FORMAT_CURRENT,
				.type = KEY_TYPE_deleted, .p = k->k.p,
			};
			ret = plan_push(p, &w, NULL, upd[u].journal_seq);
		} else {
			if (have && same_key(&n->keys[i], n->vals[i], &k->k, k->v))
				continue;
			ret = plan_push(p, &k->k, k->v, upd[u].journal_seq);
			added += key_u64s_in(&n->format, &k->k);
		}
		if (ret)
			return ret;
		if (have)
			removed += stored_u64s(n, i);
		p->u64s += key_u64s_in(&n->format, &p->keys[p->nr - 1]);
		if (upd[u].journal_seq > seq)
			seq = upd[u].journal_seq;
	}
	if (!p->nr) {
		p->action = BCH_FLUSH_NOTHING;
		return 1;
	}

	size_t block = (size_t)g->block_sectors << 9;
	size_t bytes = sizeof(struct btree_node_entry) + 8 * p->u64s;
	unsigned sectors = (bytes + block - 1) / block * g->block_sectors;
	size_t after = n->live_u64s + added > removed ? n->live_u64s + added - removed : 0;

	p->live_u64s_after = after;
	if (!n->written || n->written + sectors > g->node_sectors || p->u64s > 0xffff)
		return 0;
	if (!g->is_root && !g->no_merge && after < BCH_FLUSH_MERGE_U64s(g) && after < n->live_u64s)
		return 0;
	p->action = BCH_FLUSH_APPEND;
	p->journal_seq = seq;
	return 1;
}

/* The node keys of nodes[] and the updates merged: updates win, deleted ones remove. */
static int plan_merge(const struct bch_flush_node *nodes, unsigned nr_nodes,
		      const struct bch_flush_update *upd, size_t nr_upd,
		      struct bch_flush_plan *p)
{
	size_t u = 0;
	int ret = 0;

	for (unsigned ni = 0; ni < nr_nodes && !ret; ni++) {
		const struct bch_flush_node *n = &nodes[ni];

		for (size_t i = 0; i < n->nr && !ret; i++) {
			for (; u < nr_upd && bpos_le(upd[u].k->k.p, n->keys[i].p) && !ret; u++)
				if (upd[u].k->k.type != KEY_TYPE_deleted)
					ret = plan_push(p, &upd[u].k->k, upd[u].k->v, upd[u].journal_seq);
			/* an update at the node key's position replaces or removes it */
			if (!ret && !(u && bpos_eq(upd[u - 1].k->k.p, n->keys[i].p)))
				ret = plan_push(p, &n->keys[i], n->vals[i], 0);
		}
	}
	for (; u < nr_upd && !ret; u++)
		if (upd[u].k->k.type != KEY_TYPE_deleted)
			ret = plan_push(p, &upd[u].k->k, upd[u].k->v, upd[u].journal_seq);
	return ret;
}

static size_t keys_u64s(const struct bkey_format *f, const struct bkey *keys, size_t nr)
{
	size_t u64s = 0;

	for (size_t i = 0; i < nr; i++)
		u64s += f->key_u64s + bkey_val_u64s(&keys[i]);
	return u64s;
}

static int piece_finish(const struct bch_flush_geom *g, struct bch_flush_plan *p,
			struct bch_flush_piece *pc, u64 base_seq)
{
	const struct bkey *keys = p->keys + pc->start;

	pc->format = bch_format_calc_node(pc->min_key, pc->max_key, keys, pc->nr);
	pc->u64s = keys_u64s(&pc->format, keys, pc->nr);
	if (pc->u64s > bch_btree_max_u64s(g))
		return -BCH_ERR_bad_argument;
	pc->journal_seq = base_seq;
	for (size_t i = 0; i < pc->nr; i++)
		if (p->seqs[pc->start + i] > pc->journal_seq)
			pc->journal_seq = p->seqs[pc->start + i];
	return 0;
}

/* Cuts the merged keys into the fewest pieces of at most 2/3 of a node, of even size. */
static int plan_cut(const struct bch_flush_geom *g, struct bpos min_key, struct bpos max_key,
		    u64 base_seq, struct bch_flush_plan *p)
{
	struct bkey_format f = bch_format_calc_node(min_key, max_key, p->keys, p->nr);
	size_t limit = BCH_FLUSH_SPLIT_U64s(g);
	size_t total = keys_u64s(&f, p->keys, p->nr);
	size_t n = total <= limit ? 1 : (total + limit - 1) / limit;
	size_t target = (total + n - 1) / n, acc = 0;
	struct bch_flush_piece *pc = piece_add(p);

	p->u64s = total;
	if (!pc)
		return -BCH_ERR_nomem;
	pc->min_key = min_key;
	for (size_t i = 0; i < p->nr; i++) {
		acc += f.key_u64s + bkey_val_u64s(&p->keys[i]);
		pc->nr++;
		if (p->nr_pieces < n && acc >= target * p->nr_pieces && i + 1 < p->nr) {
			pc->max_key = p->keys[i].p;

			struct bpos next = bpos_successor(p->keys[i].p);
			size_t start = i + 1;
			int ret = piece_finish(g, p, pc, base_seq);

			if (ret)
				return ret;
			if (!(pc = piece_add(p)))
				return -BCH_ERR_nomem;
			pc->min_key = next;
			pc->start = start;
		}
	}
	pc->max_key = max_key;
	return piece_finish(g, p, pc, base_seq);
}

int bch_flush_plan(const struct bch_flush_geom *g, const struct bch_flush_node *nodes,
		   unsigned nr_nodes, const struct bch_flush_update *upd, size_t nr_upd,
		   struct bch_flush_plan *p)
{
	u64 base_seq = 0;
	int ret;

	p->action = BCH_FLUSH_NOTHING;
	p->nr = p->nr_pieces = 0;
	p->u64s = p->live_u64s_after = 0;
	p->journal_seq = 0;
	if (!nr_nodes || !g->block_sectors || g->node_sectors < g->block_sectors)
		return -BCH_ERR_bad_argument;
	ret = update_check(&nodes[0], &nodes[nr_nodes - 1], upd, nr_upd);
	if (ret)
		return ret;
	if (nr_nodes == 1) {
		ret = plan_append(g, nodes, upd, nr_upd, p);
		if (ret)
			return ret < 0 ? ret : 0;
		p->nr = 0;
		p->u64s = 0;
	}

	p->action = BCH_FLUSH_REWRITE;
	ret = plan_merge(nodes, nr_nodes, upd, nr_upd, p);
	if (ret)
		return ret;
	for (unsigned i = 0; i < nr_nodes; i++)
		if (nodes[i].max_journal_seq > base_seq)
			base_seq = nodes[i].max_journal_seq;
	return plan_cut(g, nodes[0].min_key, nodes[nr_nodes - 1].max_key, base_seq, p);
}


/* Flushing the overlay into btree nodes: per node append or rewrite (split, merge), pointer updates through transactions, passes until nothing is left. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "flush.h"
#include "cache.h"
#include "iter.h"
#include "node_write.h"
#include "overlay.h"
#include "trans.h"
#include "alloc/allocator.h"
#include "bkey/format_calc.h"
#include "core/fs.h"
#include "journal/journal_write.h"
#include "keys/extents.h"
#include "util/errcode.h"
#include "util/grow.h"
#include "util/names.h"

/* Passes before giving up: each pass only adds what its pointer commits imply. */
#define FLUSH_PASSES_MAX	64

/* ---- writing ---- */

/* A btree node pointer key. */
union ptr_buf {
	struct bkey_i k;
	u8 buf[sizeof(struct bkey) + sizeof(struct bch_btree_ptr_v2) +
	       BCH_REPLICAS_MAX * sizeof(struct bch_extent_ptr)];
};

/* A growable run of node pointers (the new nodes of one rewrite or level). */
struct ptr_list {
	union ptr_buf *p;
	size_t nr, size;
};

struct drop_run {
	struct bpos start, end;
};

struct flush_ctx {
	struct bch_fs *c;
	struct printbuf *err;
	void *buf;
	size_t buf_bytes;
	struct bch_flush_geom geom;
	struct bch_flush_plan plan;
	struct bch_flush_plan up_plan;		/* levels added above a split root */
	struct bch_flush_update *upd;
	size_t nr_upd, size_upd;
	struct ptr_list new_ptrs, up_ptrs;
	struct drop_run *runs;
	size_t nr_runs, size_runs;
	u64 dirty_devs;
	struct btree_trans trans;
	/* what the flush did, for tests and messages */
	u64 nr_appends, nr_rewrites, nr_nodes_written;
};

static int ptr_list_add(struct ptr_list *l, union ptr_buf **out)
{
	int ret = bch_grow(&l->p, &l->size, l->nr, 16);

	if (ret)
		return ret;
	*out = &l->p[l->nr++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static u64 random_seq(void)
{
	u64 v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (u64)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (u64)ts.tv_sec;
	}
	return v ? v : 1;
}

static int journal_flush_to(struct flush_ctx *x, u64 seq)
{
	struct bch_fs *c = x->c;
	int ret;

	if (seq <= bch_journal_flushed_seq(c))
		return 0;
	ret = bch_journal_flush(x->c, x->err);
	if (!ret)
		bch_allocator_journal_flushed(c, bch_journal_flushed_seq(c));
	return ret;
}

/* Writes sectors of buf (from sector `from` of the node) to every replica of the node at ptr. */
static int node_pwrite(struct flush_ctx *x, const struct bkey_i *ptr, unsigned from,
		       unsigned sectors)
{
	const struct bch_btree_ptr_v2 *bp = (const void *)ptr->v;
	unsigned nr = (bkey_val_bytes(&ptr->k) - sizeof(*bp)) / sizeof(struct bch_extent_ptr);

	for (unsigned i = 0; i < nr; i++) {
		unsigned dev = ptr_dev(&bp->start[i]);
		struct bch_dev *ca = bch_dev_get(x->c, dev);
		int ret;

		if (!ca) {
			pb_printf(x->err, "writing a btree node: device %u is not open", dev);
			return -BCH_ERR_sb_missing_device;
		}
		ret = bch_dev_pwrite(ca, (u8 *)x->buf + ((size_t)from << 9), (size_t)sectors << 9,
				     (ptr_offset(&bp->start[i]) + from) << 9, x->err);
		if (ret)
			return ret;
		x->dirty_devs |= 1ULL << dev;
	}
	return 0;
}

static int devs_sync(struct flush_ctx *x)
{
	for (unsigned d = 0; d < 64 && x->dirty_devs; d++) {
		if (!(x->dirty_devs & (1ULL << d)))
			continue;

		int ret = bch_dev_flush(x->c->devs[d], x->err);
		if (ret)
			return ret;
		x->dirty_devs &= ~(1ULL << d);
	}
	return 0;
}

/* Writes the pieces of plan p as new nodes of (id, level); their pointers go to out. */
static int write_pieces(struct flush_ctx *x, enum btree_id id, unsigned level, u32 node_gen,
			struct bch_flush_plan *p, struct ptr_list *out)
{
	struct bch_fs *c = x->c;

	for (size_t i = 0; i < p->nr_pieces; i++) {
		const struct bch_flush_piece *pc = &p->pieces[i];
		struct bch_extent_ptr ptrs[BCH_REPLICAS_MAX];
		unsigned nr_ptrs;
		union ptr_buf *k;
		struct bch_node_hdr h = {
			.btree_id = id, .level = level, .min_key = pc->min_key,
			.max_key = pc->max_key, .seq = random_seq(), .node_gen = node_gen,
			.format = pc->format,
		};
		struct bch_bset_keys keys = {
			.keys = p->keys + pc->start, .vals = p->vals + pc->start,
			.nr = pc->nr, .journal_seq = pc->journal_seq,
		};
		int ret = journal_flush_to(x, pc->journal_seq) ?:
			bch_alloc_btree_node(c, ptrs, &nr_ptrs, x->err) ?:
			ptr_list_add(out, &k);

		if (ret)
			return ret;
		ret = bch_btree_node_write_first(c, &h, &keys, x->buf, x->buf_bytes, x->err);
		if (ret < 0)
			return ret;
		bch_btree_ptr_v2_init(&k->k, pc->max_key, pc->min_key, h.seq, ret, ptrs, nr_ptrs);
		ret = node_pwrite(x, &k->k, 0, ret);
		if (ret)
			return ret;
		x->nr_nodes_written++;
	}
	return 0;
}

/* The bset of an append, after the node's written sectors; the new pointer goes to out. */
static int write_append(struct flush_ctx *x, const struct btree *b, struct ptr_list *out)
{
	struct bch_flush_plan *p = &x->plan;
	struct bch_bset_keys keys = {
		.keys = p->keys, .vals = p->vals, .nr = p->nr, .journal_seq = p->journal_seq,
	};
	union ptr_buf *k;
	int ret = journal_flush_to(x, p->journal_seq) ?: ptr_list_add(out, &k);

	if (ret)
		return ret;
	memcpy(x->buf, b->data, (size_t)b->written << 9);
	ret = bch_btree_node_write_next(x->c, x->buf, x->buf_bytes, b->written, &keys, x->err);
	if (ret <= 0)
		return ret ? ret : -BCH_ERR_bad_argument;

	unsigned sectors = ret;

	memcpy(&k->k, &b->key, b->key.k.u64s * 8);
	((struct bch_btree_ptr_v2 *)k->k.v)->sectors_written = cpu_to_le16(b->written + sectors);
	ret = node_pwrite(x, &b->key, b->written, sectors);
	x->nr_nodes_written++;
	return ret;
}

/* ---- one node ---- */

static int upd_collect(struct flush_ctx *x, enum btree_id id, unsigned level,
		       struct bpos min_key, struct bpos max_key)
{
	struct bch_overlay_iter it;
	const struct bch_overlay_entry *e;

	x->nr_upd = 0;
	bch_overlay_iter_seek(&it, x->c->overlay, id, level, min_key);
	while ((e = bch_overlay_iter_peek(&it)) && e->btree_id == id && e->level == level &&
	       bpos_le(e->k->k.p, max_key)) {
		if (x->nr_upd == x->size_upd) {
			size_t size = x->size_upd ? x->size_upd * 2 : 256;
			struct bch_flush_update *n = realloc(x->upd, size * sizeof(*n));

			if (!n)
				return -BCH_ERR_nomem;
			x->upd = n;
			x->size_upd = size;
		}
		x->upd[x->nr_upd++] = (struct bch_flush_update) { e->k, e->journal_seq };
		bch_overlay_iter_next(&it);
	}
	return 0;
}

static int run_add(struct flush_ctx *x, struct bpos start, struct bpos end)
{
	int ret = bch_grow(&x->runs, &x->size_runs, x->nr_runs, 16);

	if (ret)
		return ret;
	x->runs[x->nr_runs++] = (struct drop_run) { start, end };
	return 0;
}

/*
 * Drops the collected entries that are still what was written: an entry
 * replaced or added since (by the commit that just ran) stays.
 */
static int upd_drop_written(struct flush_ctx *x, enum btree_id id, unsigned level,
			    struct bpos min_key, struct bpos max_key)
{
	struct bch_overlay_iter it;
	const struct bch_overlay_entry *e;
	size_t j = 0;
	bool in_run = false;
	struct bpos start = min_key, end = min_key;
	int ret = 0;

	x->nr_runs = 0;
	bch_overlay_iter_seek(&it, x->c->overlay, id, level, min_key);
	while (!ret && (e = bch_overlay_iter_peek(&it)) && e->btree_id == id &&
	       e->level == level && bpos_le(e->k->k.p, max_key)) {
		while (j < x->nr_upd && bpos_lt(x->upd[j].k->k.p, e->k->k.p))
			j++;

		bool same = j < x->nr_upd && x->upd[j].k == e->k &&
			x->upd[j].journal_seq == e->journal_seq;

		if (same) {
			if (!in_run)
				start = e->k->k.p;
			end = e->k->k.p;
			in_run = true;
		} else if (in_run) {
			ret = run_add(x, start, end);
			in_run = false;
		}
		bch_overlay_iter_next(&it);
	}
	if (!ret && in_run)
		ret = run_add(x, start, end);
	for (size_t i = 0; i < x->nr_runs; i++)
		bch_overlay_drop(x->c->overlay, id, level, x->runs[i].start, x->runs[i].end);
	return ret;
}

static void node_to_plan_input(const struct btree *b, struct bch_flush_node *n)
{
	bool v2 = b->key.k.type == KEY_TYPE_btree_ptr_v2;

	*n = (struct bch_flush_node) {
		.min_key = b->min_key, .max_key = b->max_key,
		.keys = b->keys, .vals = (const void *const *)b->vals, .nr = b->nr_keys,
		.format = b->format,
		/* only a btree_ptr_v2 records sectors_written: older nodes are rewritten */
		.written = v2 ? b->written : 0,
		/* and so are nodes holding keys their read dropped, or with moved bounds */
		.rewrite = b->dropped_keys || b->range_updated,
		.live_u64s = b->live_u64s, .max_journal_seq = b->max_journal_seq,
	};
}

/* The node at level whose pointer is the first key at or after pos, pinned. */
static int node_at(struct flush_ctx *x, enum btree_id id, unsigned level, struct bpos pos,
		   bool exact, struct btree **out)
{
	struct btree_iter it;
	struct bkey_s_c k;
	union {
		struct bkey_i k;
		u8 buf[sizeof(struct bkey) + 8 * BKEY_VAL_U64s_MAX];
	} ptr;
	int ret;

	*out = NULL;
	bch_btree_iter_init(&it, x->c, id, pos, level + 1);
	ret = bch_btree_iter_peek(&it, &k);
	if (ret < 0)
		pb_str(x->err, pb_cstr(&it.err));
	if (ret > 0 && (!exact || bpos_eq(k.k->p, pos))) {
		ptr.k.k = *k.k;
		memcpy(ptr.k.v, k.v, bkey_val_bytes(k.k));
		ret = bch_btree_node_get(x->c, &ptr.k, id, level, out, x->err);
	} else if (ret > 0) {
		ret = 0;
	}
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : !!*out;
}

/*
 * A small node's neighbour under the same parent: the next one if the
 * node is not its parent's last child, else the previous one.  0 if none.
 */
static int sibling_get(struct flush_ctx *x, enum btree_id id, const struct btree *b,
		       const struct btree *parent, struct btree **sib, bool *before)
{
	int ret;

	*sib = NULL;
	if (bpos_lt(b->max_key, parent->max_key)) {
		*before = false;
		ret = node_at(x, id, b->level, bpos_successor(b->max_key), false, sib);
		if (ret > 0 && !bpos_eq((*sib)->min_key, bpos_successor(b->max_key)))
			goto bad;
		return ret;
	}
	if (bpos_gt(b->min_key, parent->min_key)) {
		*before = true;
		ret = node_at(x, id, b->level, bpos_predecessor(b->min_key), true, sib);
		if (ret > 0 && !bpos_eq((*sib)->max_key, bpos_predecessor(b->min_key)))
			goto bad;
		return ret;
	}
	return 0;
bad:
	pb_printf(x->err, "btree %s level %u: neighbour of the node ending at ",
		  bch_btree_id_names[id], b->level);
	bch_bpos_to_text(x->err, b->max_key);
	pb_str(x->err, " does not start right after it");
	bch_btree_node_put(x->c, *sib);
	*sib = NULL;
	return -BCH_ERR_btree_node_invalid;
}

static bool ptr_list_has_pos(const struct ptr_list *l, struct bpos pos)
{
	for (size_t i = 0; i < l->nr; i++)
		if (bpos_eq(l->p[i].k.k.p, pos))
			return true;
	return false;
}

/* Pointer changes of a non-root rewrite or append: new pointers, removed positions. */
static int commit_ptrs(struct flush_ctx *x, enum btree_id id, unsigned level,
		       struct btree *const *old, unsigned nr_old)
{
	struct btree_trans *t = &x->trans;
	int ret = 0;

	for (size_t i = 0; i < x->new_ptrs.nr && !ret; i++)
		ret = bch_trans_update(t, id, level + 1, &x->new_ptrs.p[i].k, 0);
	for (unsigned i = 0; i < nr_old && !ret; i++)
		if (!ptr_list_has_pos(&x->new_ptrs, old[i]->key.k.p))
			ret = bch_trans_delete(t, id, level + 1, old[i]->key.k.p, 0);
	ret = ret ?: bch_trans_commit(t, x->err);
	if (ret)
		bch_trans_reset(t);
	return ret;
}

static int commit_root(struct flush_ctx *x, enum btree_id id, unsigned level,
		       const struct bkey_i *k)
{
	int ret = bch_trans_set_root(&x->trans, id, level, k) ?:
		bch_trans_commit(&x->trans, x->err);

	if (ret)
		bch_trans_reset(&x->trans);
	return ret;
}

/* A root split into several nodes: levels above until one node holds them all. */
static int grow_root(struct flush_ctx *x, enum btree_id id, unsigned level, u32 node_gen)
{
	struct bch_flush_node empty = {
		.min_key = POS_MIN, .max_key = SPOS_MAX,
		.format = bch_format_calc_node(POS_MIN, SPOS_MAX, NULL, 0),
	};
	struct bch_flush_geom g = x->geom;
	struct ptr_list *cur = &x->new_ptrs, *next = &x->up_ptrs;
	int ret;

	g.is_root = true;
	while (cur->nr > 1) {
		struct bch_flush_update *u = malloc(cur->nr * sizeof(*u));

		if (!u)
			return -BCH_ERR_nomem;
		for (size_t i = 0; i < cur->nr; i++)
			u[i] = (struct bch_flush_update) { &cur->p[i].k, 0 };
		if (++level >= BTREE_MAX_DEPTH) {
			free(u);
			pb_printf(x->err, "btree %s would grow past %u levels",
				  bch_btree_id_names[id], BTREE_MAX_DEPTH);
			return -BCH_ERR_bad_argument;
		}
		next->nr = 0;
		ret = bch_flush_plan(&g, &empty, 1, u, cur->nr, &x->up_plan) ?:
			write_pieces(x, id, level, node_gen, &x->up_plan, next);
		free(u);
		/*
		 * The children's pointers are in the new node already; as updates
		 * of its level they get their triggers (bucket sectors,
		 * backpointers, accounting), and the next sweep finds them written.
		 */
		for (size_t i = 0; i < cur->nr && !ret; i++)
			ret = bch_trans_update(&x->trans, id, level, &cur->p[i].k, 0);
		if (ret) {
			bch_trans_reset(&x->trans);
			return ret;
		}

		struct ptr_list *tmp = cur;
		cur = next;
		next = tmp;
	}
	ret = devs_sync(x) ?: commit_root(x, id, level, &cur->p[0].k);
	return ret;
}

/* The root: one node, its new pointer (or pointers, then a new level) through set_root. */
static int finish_root(struct flush_ctx *x, const struct btree *b, u32 node_gen)
{
	if (x->new_ptrs.nr == 1) {
		int ret = devs_sync(x);

		return ret ?: commit_root(x, b->btree_id, b->level, &x->new_ptrs.p[0].k);
	}
	return grow_root(x, b->btree_id, b->level, node_gen);
}

/*
 * Plans the node, with a neighbour when it ends up small.  A merge that
 * would still need two nodes only moves keys around (and a rewrite
 * allocates, which changes the alloc and freespace btrees again, so
 * repeating it every pass would never converge): the node is then planned
 * alone, appending when the updates fit.
 */
static int plan_node(struct flush_ctx *x, enum btree_id id, struct btree *b,
		     const struct btree *parent, struct btree **nodes, unsigned *nr_nodes)
{
	struct bch_flush_node in[2];
	struct btree *sib = NULL;
	bool before = false;
	int ret;

	nodes[0] = b;
	*nr_nodes = 1;
	node_to_plan_input(b, &in[0]);
	x->geom.is_root = !parent;
	x->geom.no_merge = false;
	ret = upd_collect(x, id, b->level, b->min_key, b->max_key) ?:
		bch_flush_plan(&x->geom, in, 1, x->upd, x->nr_upd, &x->plan);
	if (ret || !parent || x->plan.action != BCH_FLUSH_REWRITE ||
	    x->plan.nr_pieces != 1 || x->plan.u64s >= BCH_FLUSH_MERGE_U64s(&x->geom))
		return ret;

	ret = sibling_get(x, id, b, parent, &sib, &before);
	if (ret < 0)
		return ret;
	if (ret) {
		node_to_plan_input(before ? sib : b, &in[0]);
		node_to_plan_input(before ? b : sib, &in[1]);
		ret = upd_collect(x, id, b->level, in[0].min_key, in[1].max_key) ?:
			bch_flush_plan(&x->geom, in, 2, x->upd, x->nr_upd, &x->plan);
		if (ret || x->plan.nr_pieces == 1) {
			nodes[before ? 0 : 1] = sib;
			nodes[before ? 1 : 0] = b;
			*nr_nodes = 2;
			return ret;
		}
		bch_btree_node_put(x->c, sib);
	}
	x->geom.no_merge = true;
	node_to_plan_input(b, &in[0]);
	return upd_collect(x, id, b->level, b->min_key, b->max_key) ?:
		bch_flush_plan(&x->geom, in, 1, x->upd, x->nr_upd, &x->plan);
}

static u32 next_gen(struct btree *const *nodes, unsigned nr)
{
	u64 gen = 0;

	for (unsigned i = 0; i < nr; i++)
		if (nodes[i]->node_seq > gen)
			gen = nodes[i]->node_seq;
	return gen + 1;
}

/* Writes the node covering pos at level with the overlay entries of its range; *end its max_key. */
static int flush_node(struct flush_ctx *x, enum btree_id id, unsigned level, struct bpos pos,
		      struct bpos *end)
{
	struct btree_iter it;
	const struct btree *cb;
	struct btree *b, *nodes[2] = { NULL, NULL };
	unsigned nr_nodes = 0;
	int ret;

	bch_btree_iter_init(&it, x->c, id, pos, level);
	ret = bch_btree_iter_peek_node(&it, &cb);
	if (ret <= 0) {
		if (ret < 0)
			pb_str(x->err, pb_cstr(&it.err));
		else
			pb_printf(x->err, "btree %s: overlay entries at level %u, above the root",
				  bch_btree_id_names[id], level);
		bch_btree_iter_exit(&it);
		return ret < 0 ? ret : -BCH_ERR_btree_node_invalid;
	}
	b = (struct btree *)cb;

	const struct btree *parent = level < it.root_level ? it.path[level + 1] : NULL;

	x->new_ptrs.nr = 0;
	ret = plan_node(x, id, b, parent, nodes, &nr_nodes);
	if (ret)
		goto out;

	struct bpos min_key = nodes[0]->min_key;

	*end = nodes[nr_nodes - 1]->max_key;
	switch (x->plan.action) {
	case BCH_FLUSH_NOTHING:
		break;
	case BCH_FLUSH_APPEND:
		x->nr_appends++;
		ret = write_append(x, b, &x->new_ptrs) ?: devs_sync(x);
		if (!ret)
			ret = parent ? commit_ptrs(x, id, level, nodes, nr_nodes)
				     : commit_root(x, id, level, &x->new_ptrs.p[0].k);
		break;
	case BCH_FLUSH_REWRITE:
		x->nr_rewrites++;
		if (!x->plan.nr && level && !parent) {
			pb_printf(x->err, "btree %s: the root at level %u would be empty",
				  bch_btree_id_names[id], level);
			ret = -BCH_ERR_btree_node_invalid;
			break;
		}
		ret = write_pieces(x, id, level, next_gen(nodes, nr_nodes), &x->plan, &x->new_ptrs);
		if (ret)
			break;
		ret = parent ? devs_sync(x) ?: commit_ptrs(x, id, level, nodes, nr_nodes)
			     : finish_root(x, b, next_gen(nodes, nr_nodes));
		break;
	}
	if (!ret)
		ret = upd_drop_written(x, id, level, min_key, *end);
out:
	for (unsigned i = 0; i < nr_nodes; i++)
		if (nodes[i] != b)
			bch_btree_node_put(x->c, nodes[i]);
	bch_btree_iter_exit(&it);
	return ret;
}

/* Every overlay entry of (id, level), node by node in key order. */
static int flush_level(struct flush_ctx *x, enum btree_id id, unsigned level)
{
	struct bpos pos = POS_MIN;

	while (1) {
		struct bch_overlay_iter oi;
		const struct bch_overlay_entry *e;
		struct bpos end = SPOS_MAX;
		int ret;

		bch_overlay_iter_seek(&oi, x->c->overlay, id, level, pos);
		e = bch_overlay_iter_peek(&oi);
		if (!e || e->btree_id != id || e->level != level)
			return 0;
		ret = flush_node(x, id, level, e->k->k.p, &end);
		if (ret) {
			pb_printf(x->err, " (flushing btree %s level %u at ",
				  bch_btree_id_names[id], level);
			bch_bpos_to_text(x->err, e->k->k.p);
			pb_str(x->err, ")");
			return ret;
		}
		if (bpos_eq(end, SPOS_MAX))
			return 0;
		pos = bpos_successor(end);
	}
}

static int flush_pass(struct flush_ctx *x)
{
	for (unsigned id = 0; id < BTREE_ID_NR_MAX; id++)
		for (unsigned level = 0; level < BTREE_MAX_DEPTH; level++) {
			if (!bch_overlay_nr(x->c->overlay, id, level))
				continue;

			int ret = flush_level(x, id, level);
			if (ret)
				return ret;
		}
	return 0;
}

static void ctx_exit(struct flush_ctx *x)
{
	bch_trans_exit(&x->trans);
	bch_flush_plan_exit(&x->plan);
	bch_flush_plan_exit(&x->up_plan);
	free(x->upd);
	free(x->new_ptrs.p);
	free(x->up_ptrs.p);
	free(x->runs);
	free(x->buf);
}

int bch_btree_flush_all(struct bch_fs *c, struct printbuf *err)
{
	struct flush_ctx x = {
		.c = c, .err = err,
		.buf_bytes = (size_t)c->sb.btree_node_size << 9,
		.geom = { .block_sectors = c->sb.block_size, .node_sectors = c->sb.btree_node_size },
	};
	unsigned pass;
	int ret = 0;

	if (c->memory_only) {
		pb_str(err, "the filesystem is memory-only: nothing may be written");
		return -BCH_ERR_bad_argument;
	}

	if (!c->overlay || !bch_overlay_nr_total(c->overlay))
		return 0;
	if (!c->allocator) {
		pb_str(err, "flushing btree updates needs the allocator");
		return -BCH_ERR_bad_argument;
	}
	x.buf = aligned_alloc(4096, (x.buf_bytes + 4095) & ~(size_t)4095);
	if (!x.buf)
		return -BCH_ERR_nomem;
	bch_trans_init(&x.trans, c);
	x.trans.name = "btree_node_flush";

	c->flushing = true;
	ret = bch_allocator_do_discards(c, err);
	for (pass = 0; ret >= 0 && pass < FLUSH_PASSES_MAX; pass++) {
		if (!bch_overlay_nr_total(c->overlay))
			break;
		ret = flush_pass(&x);
	}
	if (ret >= 0 && bch_overlay_nr_total(c->overlay)) {
		pb_printf(err, "btree flush: %zu updates left after %u passes",
			  bch_overlay_nr_total(c->overlay), pass);
		ret = -BCH_ERR_bad_argument;
	}
	if (ret >= 0)
		ret = devs_sync(&x) ?: bch_journal_set_last_seq(c, c->journal.w.seq);
	ctx_exit(&x);
	c->flushing = false;
	return ret < 0 ? ret : 0;
}

int bch_btree_reclaim(struct bch_fs *c, struct printbuf *err)
{
	if (c->flushing || !c->allocator || !c->overlay || c->memory_only)
		return 0;
	if (!bch_journal_needs_reclaim(c) && bch_overlay_bytes(c->overlay) <= BCH_OVERLAY_BYTES_MAX)
		return 0;
	return bch_btree_flush_all(c, err) ?: bch_journal_flush(c, err);
}

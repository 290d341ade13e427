/*
 * fsck: btree topology.  A node that cannot be read is dropped from its
 * parent, and the children of every interior node are made to tile it
 * again (a gap closed by moving the next node's min_key, an overlap by
 * moving or dropping the older node), as the kernel's check_topology
 * does.  Nothing here reads a btree until a pass has met an unreadable
 * node in it: the node cache's hook records the node, the pass fails,
 * and passes.c calls bch_fsck_topology_repair() and runs the passes
 * again.
 */
#include <stdlib.h>
#include <string.h>

#include "fsck/fsck.h"
#include "fsck/passes.h"
#include "btree/cache.h"
#include "btree/iter.h"
#include "btree/node_scan.h"
#include "btree/node_write.h"
#include "btree/trans.h"
#include "alloc/allocator.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/names.h"

union node_ptr {
	struct bkey_i k;
	u8 buf[sizeof(struct bkey) + 8 * BKEY_VAL_U64s_MAX];
};

struct bch_fsck_bad_node {
	enum btree_id btree;
	unsigned level;
	struct bpos pos;
	unsigned err;			/* bch_sb_error_id of the read, 0: none */
	char *msg;
	bool reported;			/* its read error type was reported */
};

static struct bch_fsck_bad_node *bad_node_find(struct bch_fsck *f, enum btree_id id,
					       unsigned level, struct bpos pos)
{
	for (size_t i = 0; i < f->nr_bad_nodes; i++)
		if (f->bad_nodes[i].btree == id && f->bad_nodes[i].level == level &&
		    bpos_eq(f->bad_nodes[i].pos, pos))
			return &f->bad_nodes[i];
	return NULL;
}

static bool bad_node_in(struct bch_fsck *f, enum btree_id id)
{
	for (size_t i = 0; i < f->nr_bad_nodes; i++)
		if (f->bad_nodes[i].btree == id)
			return true;
	return false;
}

/* The node cache's hook: a node of `id` could not be read. */
static void node_unreadable_seen(void *ctx, enum btree_id id, unsigned level,
				 const struct bkey_i *ptr, unsigned err, const char *msg)
{
	struct bch_fsck *f = ctx;
	struct bch_fsck_bad_node *n;

	if (id >= BTREE_ID_NR || bad_node_find(f, id, level, ptr->k.p))
		return;
	if (f->nr_bad_nodes == f->bad_nodes_size) {
		size_t size = f->bad_nodes_size ? f->bad_nodes_size * 2 : 8;

		n = realloc(f->bad_nodes, size * sizeof(*n));
		if (!n)
			return;
		f->bad_nodes = n;
		f->bad_nodes_size = size;
	}
	n = &f->bad_nodes[f->nr_bad_nodes++];
	*n = (struct bch_fsck_bad_node) {
		.btree = id, .level = level, .pos = ptr->k.p, .err = err,
		.msg = strdup(msg ?: ""),
	};
	f->topology_btrees |= 1ULL << id;
}

void bch_fsck_topology_init(struct bch_fsck *f)
{
	f->c->node_unreadable = node_unreadable_seen;
	f->c->node_unreadable_ctx = f;
}

void bch_fsck_topology_exit(struct bch_fsck *f)
{
	if (f->c && f->c->node_unreadable_ctx == f) {
		f->c->node_unreadable = NULL;
		f->c->node_unreadable_ctx = NULL;
	}
	for (size_t i = 0; i < f->nr_bad_nodes; i++)
		free(f->bad_nodes[i].msg);
	free(f->bad_nodes);
	f->bad_nodes = NULL;
	if (f->scan) {
		bch_node_scan_exit(f->scan);
		free(f->scan);
		f->scan = NULL;
	}
	f->nr_bad_nodes = f->bad_nodes_size = 0;
}

/* The read error of node n, once: what was wrong with it, by its 1.13 type. */
static void bad_node_report(struct bch_fsck *f, struct bch_fsck_bad_node *n)
{
	if (n->reported)
		return;
	n->reported = true;
	/* repaired by dropping the node */
	if (n->err && n->err < BCH_FSCK_ERR_NR)
		bch_fsck_problem(f, n->err, "error reading %s", n->msg);
}

/* ---- repairs ---- */

/*
 * Unreadable children dropped but not yet committed: their deletion goes
 * in the commit that moves a neighbour's bounds over the hole, so that a
 * crash never leaves a gap without the unreadable node that explains it.
 */
#define PENDING_MAX	8

struct pending {
	struct bpos pos[PENDING_MAX];
	unsigned nr;
};

/*
 * A topology repair's transaction, writing started; pd's pending
 * deletions (at level) go in first, so a pointer the repair puts at the
 * same place wins.  On error there is no transaction left to end.
 */
static int topo_begin(struct bch_fsck *f, struct btree_trans *t, enum btree_id id, unsigned level,
		      const struct pending *pd)
{
	int ret = bch_fsck_start_write(f);

	if (ret)
		return ret;
	bch_trans_init(t, f->c);
	t->name = "fsck topology";
	for (unsigned i = 0; pd && i < pd->nr && !ret; i++)
		ret = bch_trans_delete(t, id, level, pd->pos[i], BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_FORCE);
	if (ret)
		bch_trans_exit(t);
	return ret;
}

/* Commits it when ret is 0 and commit is set (pd is then done with), names an error. */
static int topo_end(struct bch_fsck *f, struct btree_trans *t, enum btree_id id, struct pending *pd,
		    int ret, bool commit)
{
	struct printbuf err = PRINTBUF;

	if (!ret && commit) {
		ret = bch_trans_commit(t, &err);
		if (!ret && pd)
			pd->nr = 0;
	}
	bch_trans_exit(t);
	if (ret)
		bch_fsck_op_error(f, ret, "repairing btree %s: %s", bch_btree_id_names[id], pb_cstr(&err));
	pb_exit(&err);
	return ret;
}

/* One commit: the pending deletions, del's deletion, put's update (each optional). */
static int commit_one(struct bch_fsck *f, enum btree_id id, unsigned level, struct pending *pd,
		      const struct bkey_i *del, const struct bkey_i *put)
{
	unsigned flags = BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_FORCE;
	struct btree_trans t;
	int ret = topo_begin(f, &t, id, level, pd);

	if (ret)
		return ret;
	if (del)
		ret = bch_trans_delete(&t, id, level, del->k.p, flags);
	if (!ret && put)
		ret = bch_trans_update(&t, id, level, put, flags);
	return topo_end(f, &t, id, pd, ret, true);
}

/*
 * ptr with its range moved to [min, max]: a btree_ptr_v2 with
 * BTREE_PTR_RANGE_UPDATED, which makes readers take the node's bounds
 * from the pointer (the node's own header keeps the old ones until it
 * is rewritten).
 */
static void ptr_moved(const struct bkey_i *ptr, u64 seq, struct bpos min, struct bpos max,
		      union node_ptr *out)
{
	struct bch_btree_ptr_v2 *v = (void *)out->k.v;

	if (ptr->k.type == KEY_TYPE_btree_ptr_v2)
		memcpy(out, ptr, ptr->k.u64s * 8);
	else	/* a btree_ptr's value is its device pointers */
		bch_btree_ptr_v2_init(&out->k, max, min, seq, 0, (const void *)ptr->v,
				      bkey_val_bytes(&ptr->k) / sizeof(struct bch_extent_ptr));
	out->k.k.p = max;
	v->min_key = min;
	set_btree_ptr_range_updated(v, 1);
}

/* ---- one interior node's children ---- */

enum { TOPO_DROP_THIS = 1 };

struct child {
	union node_ptr ptr;
	struct bpos min, max;
	u64 seq, node_seq;
	bool have;
};

static void topo_where(struct printbuf *out, struct bch_fs *c, enum btree_id id, unsigned level,
		       const struct bkey_i *parent, const struct child *prev,
		       const struct bkey_i *next)
{
	pb_printf(out, "btree %s level %u: parent ", bch_btree_id_names[id], level);
	bch_bkey_val_to_text(out, c, bkey_i_to_s_c(parent));
	if (prev && prev->have) {
		pb_str(out, "; prev ");
		bch_bkey_val_to_text(out, c, bkey_i_to_s_c(&prev->ptr.k));
	}
	if (next) {
		pb_str(out, "; next ");
		bch_bkey_val_to_text(out, c, bkey_i_to_s_c(next));
	}
}

/* The child pointers of parent (at level), node keys and the overlay merged, in order. */
static int children_next(struct btree_iter *it, const struct bkey_i *parent, struct bpos min,
			 union node_ptr *out)
{
	struct bkey_s_c k;
	int ret = bch_btree_iter_peek(it, &k);

	if (ret <= 0)
		return ret;
	if (bpos_lt(k.k->p, min) || bpos_gt(k.k->p, parent->k.p))
		return 0;
	if (k.k->type != KEY_TYPE_btree_ptr_v2 && k.k->type != KEY_TYPE_btree_ptr)
		return -BCH_ERR_btree_node_invalid;
	out->k.k = *k.k;
	memcpy(out->k.v, k.v, bkey_val_bytes(k.k));
	bch_btree_iter_advance(it);
	return 1;
}

static int node_bounds(struct bch_fsck *f, enum btree_id id, unsigned level,
		       const struct bkey_i *ptr, struct child *ch, struct printbuf *err)
{
	struct btree *b;
	int ret = bch_btree_node_get(f->c, ptr, id, level, &b, err);

	if (ret)
		return ret;
	memcpy(&ch->ptr, ptr, ptr->k.u64s * 8);
	ch->min = b->min_key;
	ch->max = b->max_key;
	ch->seq = b->seq;
	ch->node_seq = b->node_seq;
	ch->have = true;
	bch_btree_node_put(f->c, b);
	return 0;
}

/* The devices scanned for btree nodes, once per fsck run. */
static int scan_once(struct bch_fsck *f)
{
	struct printbuf err = PRINTBUF;
	int ret = 0;

	if (!f->scan && !(f->scan = calloc(1, sizeof(*f->scan))))
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "out of memory");
	if (f->scan->done)
		return 0;
	bch_fsck_info(f, "scanning the devices for btree nodes");
	ret = bch_node_scan(f->c, f->scan, &err);
	if (ret)
		bch_fsck_op_error(f, ret, "%s", pb_cstr(&err));
	else
		bch_fsck_info(f, "the scan found %zu btree nodes", f->scan->nr);
	pb_exit(&err);
	return ret;
}

/*
 * A recovered node's buckets, in use for the allocator from now on: its
 * pointer goes in without triggers, as the kernel's does (the allocation
 * passes then find the buckets' alloc keys wrong and repair them), and no
 * flush before that may hand them out.
 */
static void reserve_buckets(struct bch_fs *c, const struct bkey_i *ptr)
{
	const struct bch_btree_ptr_v2 *v = (const void *)ptr->v;
	unsigned nr = (bkey_val_bytes(&ptr->k) - sizeof(*v)) / sizeof(v->start[0]);

	if (!c->allocator)
		return;
	for (unsigned i = 0; i < nr; i++) {
		const struct bch_extent_ptr *p = &v->start[i];
		struct bch_dev *ca = bch_dev_get(c, ptr_dev(p));
		struct bch_alloc_v4 a = {
			.gen = ptr_gen(p),
			.data_type = BCH_DATA_btree,
			.dirty_sectors = cpu_to_le32(c->sb.btree_node_size),
		};

		if (ca)
			bch_allocator_bucket_update(c, ptr_dev(p), ptr_offset(p) / ca->mi.bucket_size, &a, 0);
	}
}

struct fill_ctx {
	struct btree_trans *t;
	enum btree_id id;
	unsigned level;
	unsigned nr;
	struct bch_fsck *f;
};

static int fill_one(void *ctx, const struct bkey_i *ptr)
{
	struct fill_ctx *x = ctx;
	struct printbuf m = PRINTBUF;

	bch_bkey_val_to_text(&m, x->f->c, bkey_i_to_s_c(ptr));
	bch_fsck_info(x->f, "btree %s: recovering a node found by the scan: %s",
		      bch_btree_id_names[x->id], pb_cstr(&m));
	pb_exit(&m);
	x->nr++;
	reserve_buckets(x->f->c, ptr);
	return bch_trans_update(x->t, x->id, x->level, ptr, BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_FORCE);
}

/*
 * A hole [min, max] among the leaves under a level 1 node of a btree the
 * others are not derived from: the nodes a scan of the devices found
 * there (older copies of what was lost) are put in it, with the pending
 * deletions, as the kernel does before it moves any bound.  The number
 * of nodes put in, or an error.
 */
static int scan_fill(struct bch_fsck *f, enum btree_id id, struct pending *pd,
		     struct bpos min, struct bpos max)
{
	struct btree_trans t;
	struct fill_ctx x = { .t = &t, .id = id, .level = 1, .f = f };
	int ret = scan_once(f) ?: topo_begin(f, &t, id, 1, pd);

	if (ret)
		return ret;
	ret = bch_node_scan_range(f->scan, id, 0, min, max, fill_one, &x);
	ret = topo_end(f, &t, id, pd, ret, x.nr);
	return ret ?: (int)x.nr;
}

/*
 * One walk over parent's children: unreadable ones dropped, each one's
 * range checked against where the previous one ended.  1 when the walk
 * must be made again (a previous node was dropped).
 */
static int children_check(struct bch_fsck *f, enum btree_id id, unsigned level,
			  const struct bkey_i *parent, struct bpos parent_min, unsigned *nr_children,
			  struct bpos *pulled)
{
	struct bch_fs *c = f->c;
	struct btree_iter it;
	struct child prev = { .have = false }, cur;
	struct pending pd = { .nr = 0 };
	union node_ptr *p = malloc(sizeof(*p)), *moved = malloc(sizeof(*moved));
	struct printbuf msg = PRINTBUF, err = PRINTBUF;
	int ret;

	*nr_children = 0;
	if (!p || !moved) {
		free(p);
		free(moved);
		return -BCH_ERR_nomem;
	}
	bch_btree_iter_init(&it, c, id, parent_min, level);
	while ((ret = children_next(&it, parent, parent_min, p)) > 0) {
		struct bpos expected = prev.have ? bpos_successor(prev.max) : parent_min;

		cur.have = false;
		pb_reset(&err);
		ret = node_bounds(f, id, level - 1, &p->k, &cur, &err);
		if (ret == -BCH_ERR_nomem)
			break;
		if (ret) {
			struct bch_fsck_bad_node *n = bad_node_find(f, id, level - 1, p->k.k.p);

			if (n)
				bad_node_report(f, n);
			pb_reset(&msg);
			pb_printf(&msg, "btree %s level %u: ", bch_btree_id_names[id], level - 1);
			bch_bkey_val_to_text(&msg, c, bkey_i_to_s_c(&p->k));
			if (!n)
				pb_printf(&msg, " (%s)", pb_cstr(&err));
			ret = 0;
			if (!bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_unreadable,
					      "unreadable btree node dropped from its parent: %s",
					      pb_cstr(&msg))) {
				ret = bch_fsck_op_error(f, -BCH_ERR_btree_node_invalid,
							"btree %s has an unreadable node: the passes cannot run",
							bch_btree_id_names[id]);
				break;
			}
			if (pd.nr == PENDING_MAX && (ret = commit_one(f, id, level, &pd, NULL, NULL)))
				break;
			pd.pos[pd.nr++] = p->k.k.p;
			continue;
		}
		(*nr_children)++;
		if (bpos_eq(expected, cur.min)) {
			prev = cur;
			continue;
		}
		pb_reset(&msg);
		topo_where(&msg, c, id, level, parent, &prev, &cur.ptr.k);
		if (bpos_lt(expected, cur.min) && level == 1 && !bch_btree_id_derived(id) &&
		    bpos_lt(*pulled, cur.min)) {
			/* a gap: first what the scan found there */
			*pulled = cur.min;
			ret = scan_fill(f, id, &pd, expected, bpos_predecessor(cur.min));
			if (ret > 0) {
				ret = 1;	/* walk again with them */
				break;
			}
			if (ret)
				break;
		}
		if (bpos_lt(expected, cur.min)) {
			/* a gap: the next node starts earlier */
			if (bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_topology_bad_min_key,
					     "btree node with a gap before it: %s", pb_cstr(&msg))) {
				ptr_moved(&cur.ptr.k, cur.seq, expected, cur.max, moved);
				ret = commit_one(f, id, level, &pd, NULL, &moved->k);
				cur.ptr = *moved;
				cur.min = expected;
			}
		} else if (prev.have && cur.node_seq > prev.node_seq) {
			/* an overlap where the next node is newer: the previous one gives way */
			if (!bpos_lt(prev.min, cur.min)) {
				if (bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_topology_overwritten_by_next_node,
						     "btree node overwritten by the next one: %s", pb_cstr(&msg))) {
					ret = commit_one(f, id, level, &pd, &prev.ptr.k, NULL);
					if (!ret)
						ret = 1;	/* walk again without it */
				}
			} else if (bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_topology_bad_max_key,
						    "btree node ending past the next one's start: %s",
						    pb_cstr(&msg))) {
				ptr_moved(&prev.ptr.k, prev.seq, prev.min, bpos_predecessor(cur.min), moved);
				ret = commit_one(f, id, level, &pd, &prev.ptr.k, &moved->k);
			}
		} else if (!bpos_lt(expected, cur.max)) {
			/* wholly covered by the previous, newer node */
			if (bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_topology_overwritten_by_prev_node,
					     "btree node overwritten by the previous one: %s", pb_cstr(&msg))) {
				(*nr_children)--;
				ret = commit_one(f, id, level, &pd, &cur.ptr.k, NULL);
				if (ret)
					break;
				continue;
			}
		} else if (bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_topology_bad_min_key,
					    "btree node starting inside the previous one: %s", pb_cstr(&msg))) {
			ptr_moved(&cur.ptr.k, cur.seq, expected, cur.max, moved);
			ret = commit_one(f, id, level, &pd, NULL, &moved->k);
			cur.ptr = *moved;
			cur.min = expected;
		}
		if (ret)
			break;
		prev = cur;
	}
	if (!ret && (!prev.have || !bpos_eq(prev.max, parent->k.p)) &&
	    level == 1 && !bch_btree_id_derived(id) && bpos_lt(*pulled, parent->k.p)) {
		/* a hole at the end, or no child at all: first what the scan found there */
		*pulled = parent->k.p;
		ret = scan_fill(f, id, &pd, prev.have ? bpos_successor(prev.max) : parent_min,
				parent->k.p);
		if (ret > 0)
			ret = 1;
	}
	if (!ret && prev.have && !bpos_eq(prev.max, parent->k.p)) {
		pb_reset(&msg);
		topo_where(&msg, c, id, level, parent, &prev, NULL);
		if (bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_topology_bad_max_key,
				     "last child not ending where its parent does: %s", pb_cstr(&msg))) {
			ptr_moved(&prev.ptr.k, prev.seq, prev.min, parent->k.p, moved);
			ret = commit_one(f, id, level, &pd, &prev.ptr.k, &moved->k);
		}
	}
	/* nothing to move over the hole (no child is left): the deletions alone */
	if (!ret && pd.nr)
		ret = commit_one(f, id, level, &pd, NULL, NULL);
	if (ret < 0 && !f->op_error)
		bch_fsck_op_error(f, ret, "checking btree %s level %u: %s", bch_btree_id_names[id],
				  level, pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	pb_exit(&msg);
	pb_exit(&err);
	free(p);
	free(moved);
	return ret;
}

/* parent (at level >= 1) and the interior nodes below it; TOPO_DROP_THIS when it is left empty. */
static int topo_node(struct bch_fsck *f, enum btree_id id, unsigned level,
		     const struct bkey_i *parent, struct bpos parent_min, struct bpos *pulled)
{
	unsigned nr_children;
	int ret;

	while ((ret = children_check(f, id, level, parent, parent_min, &nr_children, pulled)) == 1)
		;
	if (ret)
		return ret;
	if (level > 1 && nr_children) {
		struct btree_iter it;
		union node_ptr *p = malloc(sizeof(*p));
		struct bpos min = parent_min;

		if (!p)
			return -BCH_ERR_nomem;
		nr_children = 0;
		bch_btree_iter_init(&it, f->c, id, parent_min, level);
		while (!ret && (ret = children_next(&it, parent, parent_min, p)) > 0) {
			ret = topo_node(f, id, level - 1, &p->k, min, pulled);
			if (ret == TOPO_DROP_THIS)
				ret = commit_one(f, id, level, NULL, &p->k, NULL);
			else if (!ret)
				nr_children++;
			min = bpos_successor(p->k.k.p);
		}
		bch_btree_iter_exit(&it);
		free(p);
		if (ret < 0)
			return ret;
	}
	if (!nr_children) {
		struct printbuf msg = PRINTBUF;

		pb_printf(&msg, "btree %s level %u: ", bch_btree_id_names[id], level);
		bch_bkey_val_to_text(&msg, f->c, bkey_i_to_s_c(parent));
		ret = bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_topology_interior_node_empty,
				       "interior btree node without children: %s", pb_cstr(&msg))
			? TOPO_DROP_THIS : 0;
		pb_exit(&msg);
	}
	return ret;
}

static struct bch_fsck_bad_node *bad_root(struct bch_fsck *f, enum btree_id id)
{
	const struct btree_root *r = &f->c->roots[id];

	return r->alive && !r->error ? bad_node_find(f, id, r->level, r->key.k.p) : NULL;
}

/*
 * The leaves the scan found of btree id become the children of a new
 * root (empty until the flush writes it: bch_btree_virtual_root_level),
 * in the commit that forgets the unreadable one; then the children are
 * made to tile it, as below any other interior node.  The number of
 * leaves put in (nothing is committed when there are none), or an error.
 */
static int root_rebuild(struct bch_fsck *f, enum btree_id id)
{
	union node_ptr *fake = malloc(sizeof(*fake));
	struct btree_trans t;
	struct fill_ctx x = { .t = &t, .id = id, .level = 1, .f = f };
	struct bpos pulled = SPOS_MAX;	/* every node found is in already */
	int ret = fake ? scan_once(f) ?: topo_begin(f, &t, id, 1, NULL) : -BCH_ERR_nomem;

	if (ret) {
		free(fake);
		return ret;
	}
	ret = bch_trans_drop_root(&t, id) ?:
	      bch_node_scan_range(f->scan, id, 0, POS_MIN, SPOS_MAX, fill_one, &x);
	ret = topo_end(f, &t, id, NULL, ret, x.nr);
	if (!ret && x.nr) {
		bch_fsck_info(f, "btree %s: a new root over the %u leaves the scan found",
			      bch_btree_id_names[id], x.nr);
		bch_btree_fake_root_key(&fake->k);
		ret = topo_node(f, id, 1, &fake->k, POS_MIN, &pulled);
		/* nothing readable after all: the btree stays empty */
		ret = ret == TOPO_DROP_THIS ? 0 : ret;
	}
	free(fake);
	return ret ?: (int)x.nr;
}

/* The btree forgets its root and is empty (one commit). */
static int btree_empty(struct bch_fsck *f, enum btree_id id)
{
	struct btree_trans t;
	int ret = topo_begin(f, &t, id, 0, NULL);

	if (ret)
		return ret;
	return topo_end(f, &t, id, NULL, bch_trans_drop_root(&t, id), true);
}

/*
 * A root that cannot be read: rebuilt from the leaves a scan of the
 * devices finds, else the btree is made empty (the btrees the allocation
 * passes derive are rebuilt by them, never scanned for).  Its read error
 * is not counted apart, as the kernel reads roots before any pass, when
 * such errors are silent.
 */
static int root_replace(struct bch_fsck *f, enum btree_id id)
{
	int ret;

	if (!bch_btree_id_derived(id)) {
		ret = root_rebuild(f, id);
		if (ret)
			return ret < 0 ? ret : 0;
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_btree_root_unreadable_and_scan_found_nothing,
				      "btree %s: the scan found no node of it; it is emptied",
				      bch_btree_id_names[id]))
			return bch_fsck_op_error(f, -BCH_ERR_btree_node_invalid,
						 "btree %s has an unreadable root: the passes cannot run",
						 bch_btree_id_names[id]);
	}
	return btree_empty(f, id);
}

static int root_drop(struct bch_fsck *f, enum btree_id id, struct bch_fsck_bad_node *n)
{
	if (!bch_fsck_problem(f, BCH_FSCK_ERR_btree_root_read_error,
			      "btree %s: the root node cannot be read: %s", bch_btree_id_names[id], n->msg))
		return bch_fsck_op_error(f, -BCH_ERR_btree_node_invalid,
					 "btree %s has an unreadable root: the passes cannot run",
					 bch_btree_id_names[id]);
	return root_replace(f, id);
}

int bch_fsck_roots_check(struct bch_fsck *f)
{
	int ret = 0;

	for (unsigned id = 0; id < BTREE_ID_NR && !ret; id++) {
		const struct btree_root *r = &f->c->roots[id];

		if (!r->alive || !r->error)
			continue;
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_btree_root_bkey_invalid,
				      "btree %s: the journal's root entry holds no valid key",
				      bch_btree_id_names[id]))
			return bch_fsck_op_error(f, -BCH_ERR_btree_node_invalid,
						 "btree %s has no root: the passes cannot run",
						 bch_btree_id_names[id]);
		ret = bch_fsck_lost_data(f, id) ?: root_replace(f, id);
	}
	return ret;
}

/*
 * After a pass failed on unreadable nodes: their read errors reported,
 * then each btree holding one checked from its root down.  0 when the
 * passes can run again.
 */
int bch_fsck_topology_repair(struct bch_fsck *f)
{
	struct bch_fs *c = f->c;
	u64 btrees = f->topology_btrees, tiles = f->topology_tiles;
	int ret = 0;

	f->topology_btrees = f->topology_tiles = 0;
	for (size_t i = 0; i < f->nr_bad_nodes; i++) {
		struct bch_fsck_bad_node *n = &f->bad_nodes[i];

		if (n != bad_root(f, n->btree))
			bad_node_report(f, n);
	}
	for (unsigned id = 0; id < BTREE_ID_NR && !ret; id++) {
		const struct btree_root *r = &c->roots[id];
		struct bch_fsck_bad_node *root;

		if (!(btrees & (1ULL << id)))
			continue;
		/* as the kernel flags it on a read error, before any scan puts nodes back */
		ret = bch_fsck_lost_data(f, id);
		if (ret)
			break;
		if ((root = bad_root(f, id))) {
			root->reported = true;
			ret = root_drop(f, id, root);
			continue;
		}
		/* the kernel's gc fails on nodes not tiling their parent as on a read error */
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_btree_node_read_error,
				      (tiles & (1ULL << id)) && !bad_node_in(f, id)
				      ? "btree %s: its nodes do not tile their parents; checking the btree's topology"
				      : "btree %s: a node could not be read; checking the btree's topology",
				      bch_btree_id_names[id]))
			return bch_fsck_op_error(f, -BCH_ERR_btree_node_invalid,
						 "btree %s has an unreadable node: the passes cannot run",
						 bch_btree_id_names[id]);
		if (!r->alive || r->error || !r->level)
			return bch_fsck_op_error(f, -BCH_ERR_btree_node_invalid,
						 "btree %s: a node below no readable root failed",
						 bch_btree_id_names[id]);
		struct bpos pulled = POS_MIN;

		ret = topo_node(f, id, r->level, &r->key, POS_MIN, &pulled);
		if (ret == TOPO_DROP_THIS)
			/* every child was dropped: the btree is empty, as the kernel leaves it */
			ret = btree_empty(f, id);
	}
	return ret;
}

/* ---- the check gc makes of every interior node ---- */

/*
 * Whether the pointers of the interior node parent (at level, covering
 * parent_min..parent->k.p) tile its range: each child starting where the
 * previous one ended, the last ending where the parent does, one child at
 * least; then the same below.  As the kernel's gc checks each node it
 * visits: a mismatch is reported by its 1.13 type and the btree's
 * topology is checked (bch_fsck_topology_repair), so 1 stops the walk.
 */
static int tiles_node(struct bch_fsck *f, enum btree_id id, unsigned level,
		      const struct bkey_i *parent, struct bpos parent_min)
{
	struct btree_iter it;
	union node_ptr *p = malloc(sizeof(*p)), *prev = malloc(sizeof(*prev));
	struct printbuf msg = PRINTBUF;
	struct bpos expected = parent_min;
	enum bch_fsck_err err = BCH_FSCK_ERR_NR;
	bool have_prev = false;
	int ret;

	if (!p || !prev) {
		ret = -BCH_ERR_nomem;
		goto out;
	}
	bch_btree_iter_init(&it, f->c, id, parent_min, level);
	while ((ret = children_next(&it, parent, parent_min, p)) > 0) {
		struct bpos min = p->k.k.type == KEY_TYPE_btree_ptr_v2
			? ((const struct bch_btree_ptr_v2 *)p->k.v)->min_key : expected;

		if (!bpos_eq(min, expected)) {
			err = BCH_FSCK_ERR_btree_node_topology_bad_min_key;
			pb_str(&msg, "the previous node does not end where the next one starts");
			break;
		}
		memcpy(prev, p, p->k.k.u64s * 8);
		have_prev = true;
		expected = bpos_successor(p->k.k.p);
	}
	bch_btree_iter_exit(&it);
	if (ret < 0)
		goto out;
	if (err == BCH_FSCK_ERR_NR && !have_prev) {
		err = BCH_FSCK_ERR_btree_node_topology_empty_interior_node;
		pb_str(&msg, "interior node without children");
	} else if (err == BCH_FSCK_ERR_NR && !bpos_eq(prev->k.k.p, parent->k.p)) {
		err = BCH_FSCK_ERR_btree_node_topology_bad_max_key;
		pb_str(&msg, "the last child does not end where its parent does");
	}
	if (err != BCH_FSCK_ERR_NR) {
		pb_printf(&msg, ": btree %s level %u node ", bch_btree_id_names[id], level);
		bch_bkey_val_to_text(&msg, f->c, bkey_i_to_s_c(parent));
		if (have_prev) {
			pb_str(&msg, "; previous ");
			bch_bkey_val_to_text(&msg, f->c, bkey_i_to_s_c(&prev->k));
		}
		if (err == BCH_FSCK_ERR_btree_node_topology_bad_min_key) {
			pb_str(&msg, "; next ");
			bch_bkey_val_to_text(&msg, f->c, bkey_i_to_s_c(&p->k));
		}
		bch_fsck_problem(f, err, "%s", pb_cstr(&msg));
		f->topology_btrees |= 1ULL << id;
		f->topology_tiles |= 1ULL << id;
		ret = 1;
		goto out;
	}
	if (level > 1) {
		struct bpos min = parent_min;

		bch_btree_iter_init(&it, f->c, id, parent_min, level);
		while ((ret = children_next(&it, parent, parent_min, p)) > 0) {
			ret = tiles_node(f, id, level - 1, &p->k, min);
			if (ret)
				break;
			min = bpos_successor(p->k.k.p);
		}
		bch_btree_iter_exit(&it);
	}
out:
	pb_exit(&msg);
	free(p);
	free(prev);
	return ret;
}

/*
 * A root's node must span POS_MIN..SPOS_MAX (the kernel's gc checks it,
 * btree_root_bad_min_key / _max_key, and 1.13 repairs neither): the root
 * pointer is written again with that range (BTREE_PTR_RANGE_UPDATED, as
 * any moved node pointer), which readers take over the node's header.
 */
static int root_range_check(struct bch_fsck *f, enum btree_id id)
{
	const struct btree_root *r = &f->c->roots[id];
	struct printbuf err = PRINTBUF, msg = PRINTBUF;
	union node_ptr *p = NULL;
	struct btree *b;
	struct bpos min, max;
	bool fix = false;
	u64 seq;
	int ret = bch_btree_node_get(f->c, &r->key, id, r->level, &b, &err);

	if (ret) {
		/* an unreadable root is the passes' to find */
		ret = ret == -BCH_ERR_nomem ? ret : 0;
		goto out;
	}
	/* the header's range, or the pointer's when it was moved (as the kernel reads it) */
	min = b->min_key;
	max = b->max_key;
	seq = b->seq;
	bch_btree_node_put(f->c, b);
	if (!bpos_eq(min, POS_MIN)) {
		pb_printf(&msg, "btree %s: root with min_key ", bch_btree_id_names[id]);
		bch_bpos_to_text(&msg, min);
		fix |= bch_fsck_problem(f, BCH_FSCK_ERR_btree_root_bad_min_key, "%s", pb_cstr(&msg));
	}
	if (!bpos_eq(max, SPOS_MAX)) {
		pb_reset(&msg);
		pb_printf(&msg, "btree %s: root with max_key ", bch_btree_id_names[id]);
		bch_bpos_to_text(&msg, max);
		fix |= bch_fsck_problem(f, BCH_FSCK_ERR_btree_root_bad_max_key, "%s", pb_cstr(&msg));
	}
	if (!fix)
		goto out;
	ret = bch_fsck_start_write(f);
	if (ret)
		goto out;
	p = malloc(sizeof(*p));
	if (!p) {
		ret = -BCH_ERR_nomem;
		goto out;
	}
	struct btree_trans t;

	ptr_moved(&r->key, seq, POS_MIN, SPOS_MAX, p);
	bch_trans_init(&t, f->c);
	t.name = "fsck";
	ret = bch_trans_set_root(&t, id, r->level, &p->k) ?: bch_trans_commit(&t, &err);
	bch_trans_exit(&t);
	if (ret)
		bch_fsck_op_error(f, ret, "btree %s: writing the root pointer: %s",
				  bch_btree_id_names[id], pb_cstr(&err));
out:
	free(p);
	pb_exit(&msg);
	pb_exit(&err);
	return ret;
}

int bch_fsck_topology_tiles(struct bch_fsck *f)
{
	int ret = 0;

	for (unsigned id = 0; id < BTREE_ID_NR && ret >= 0; id++) {
		const struct btree_root *r = &f->c->roots[id];

		if (!r->alive || r->error || (f->topology_btrees & (1ULL << id)))
			continue;
		ret = root_range_check(f, id);
		if (!ret && r->level)
			ret = tiles_node(f, id, r->level, &r->key, POS_MIN);
	}
	return ret < 0 ? ret : 0;
}

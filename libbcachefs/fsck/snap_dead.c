/* fsck's delete_dead_snapshots: snapshots no subvolume needs go with their keys, chains of single children collapse. */
#include <stdlib.h>
#include <string.h>

#include "fsck/snap_common.h"
#include "fsck/passes.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/grow.h"
#include "util/names.h"

/*
 * What the pass works from: its own copy of the table (repairs reload
 * f->snaps), with per node the one it collapses into (equiv: a node with
 * exactly one live child stands for that child's class, else itself) and
 * whether it goes.
 */
struct dead_ctx {
	struct snap_fix s;
	struct bch_snapshot_table t;
	u32 *equiv;
	u8 *nr_live;			/* children that exist and are not deleted (0, 1, 2) */
	u32 *live_child;		/* the last of them */
	/* the per-key walk of btree: classes kept at the current inode:offset */
	enum btree_id btree;
	struct bpos pos;
	struct snap_ids seen;
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } *key;	/* a key being moved */
	/* inode numbers whose versions moved or went (ascending) */
	u64 *inums;
	size_t nr_inums, inums_size;
};

static size_t node_idx(const struct bch_snapshot_table *t, const struct bch_snapshot_node *n)
{
	return n - t->n;
}

static u32 equiv_of(const struct dead_ctx *d, u32 id)
{
	const struct bch_snapshot_node *n = bch_snapshot_get(&d->t, id);

	return n ? d->equiv[node_idx(&d->t, n)] : 0;
}

/* A copy of f's table, with live children and classes (children first: ascending ids). */
static int dead_load(struct dead_ctx *d)
{
	const struct bch_snapshot_table *t = ns_snaps_get(d->s.x.f);
	size_t nr;

	if (!t)
		return -BCH_ERR_nomem;
	nr = t->nr;
	free(d->t.n);
	free(d->equiv);
	free(d->nr_live);
	free(d->live_child);
	d->t.n = malloc((nr ?: 1) * sizeof(*d->t.n));
	d->equiv = calloc(nr ?: 1, sizeof(*d->equiv));
	d->nr_live = calloc(nr ?: 1, sizeof(*d->nr_live));
	d->live_child = calloc(nr ?: 1, sizeof(*d->live_child));
	if (!d->t.n || !d->equiv || !d->nr_live || !d->live_child)
		return bch_fsck_op_error(d->s.x.f, -BCH_ERR_nomem, "snapshot table");
	memcpy(d->t.n, t->n, nr * sizeof(*d->t.n));
	d->t.nr = nr;
	for (size_t i = 0; i < nr; i++) {
		const struct bch_snapshot_node *n = &d->t.n[i];
		const struct bch_snapshot_node *p = bch_snapshot_get(&d->t, n->parent);

		if (n->parent && p && !n->deleted) {
			size_t pi = node_idx(&d->t, p);

			if (d->nr_live[pi] < 2)
				d->nr_live[pi]++;
			d->live_child[pi] = n->id;
		}
	}
	for (size_t i = 0; i < nr; i++)
		d->equiv[i] = d->nr_live[i] == 1 ? equiv_of(d, d->live_child[i]) : d->t.n[i].id;
	return 0;
}

static bool node_redundant(const struct dead_ctx *d, size_t i)
{
	return !d->t.n[i].deleted && !d->t.n[i].is_subvol && !d->nr_live[i];
}

/* Whether the pass has work: a deleted node, a redundant one, or a chain to collapse. */
static bool dead_work(const struct dead_ctx *d)
{
	for (size_t i = 0; i < d->t.nr; i++)
		if (d->t.n[i].deleted || node_redundant(d, i) || d->equiv[i] != d->t.n[i].id)
			return true;
	return false;
}

/*
 * Nodes with no subvolume and no live child are marked deleted, children
 * first, so a parent left with no live child follows in the same sweep
 * (its count of live children drops here; one commit, then the table is
 * read again).
 */
static int redundant_mark(struct dead_ctx *d)
{
	int ret = 0;

	for (size_t i = 0; i < d->t.nr; i++) {
		struct bch_snapshot_node *n = &d->t.n[i];
		const struct bch_snapshot_node *p;
		struct bch_snapshot v;

		if (!node_redundant(d, i))
			continue;
		ret = snap_snapshot_get(d->s.x.f, n->id, &v, NULL);
		if (ret <= 0)
			return ret;
		set_snapshot_deleted(&v, 1);
		set_snapshot_is_subvol(&v, 0);
		v.subvol = 0;
		ret = snap_q_snapshot(&d->s, n->id, &v);
		if (ret)
			return ret;
		n->deleted = true;
		p = bch_snapshot_get(&d->t, n->parent);
		if (n->parent && p)
			d->nr_live[node_idx(&d->t, p)]--;
	}
	if (!d->s.queued)
		return 0;
	return snap_q_commit(&d->s, "redundant snapshots") ?: dead_load(d);
}

/* Commits of the per-key walk take this many updates at a time. */
#define DEAD_BATCH	256

static int inum_touched(struct dead_ctx *d, u64 inum)
{
	if (d->nr_inums && d->inums[d->nr_inums - 1] == inum)
		return 0;
	if (bch_grow(&d->inums, &d->inums_size, d->nr_inums, 64))
		return bch_fsck_op_error(d->s.x.f, -BCH_ERR_nomem, "inode list");
	d->inums[d->nr_inums++] = inum;
	return 0;
}

static int child_flags_fix_all(struct dead_ctx *d)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr_inums; i++) {
		ret = ns_child_flags_queue(&d->s.x, &d->t, d->inums[i]);
		if (ret > 0)
			d->s.queued += ret;
		ret = ret < 0 ? ret : 0;
		if (!ret && d->s.queued >= DEAD_BATCH)
			ret = snap_q_commit(&d->s, "inode flags");
	}
	return ret ?: snap_q_commit(&d->s, "inode flags");
}

/*
 * The key goes to snapshot equiv: a copy there (written as it is, with no
 * extent overwriting, as the kernel's all-snapshots update) and the
 * original deleted.  Their triggers move its accounting and backpointers.
 */
static int dead_key_move(struct dead_ctx *d, enum btree_id btree, struct bkey_s_c k, u32 equiv)
{
	struct bkey_i *n = &d->key->k;

	n->k = *k.k;
	n->k.p.snapshot = equiv;
	memcpy(n->v, k.v, bkey_val_bytes(k.k));
	return snap_q_put(&d->s, btree, n, BCH_UPDATE_NO_EXTENT_OVERWRITE) ?:
	       snap_q_del(&d->s, btree, k.k->p);
}

/*
 * Per key: gone with a deleted snapshot; gone when a key of a lower id of
 * its class is kept at this position (that one is newer); else kept, and
 * moved to its class's id.
 */
static int dead_key(struct dead_ctx *d, enum btree_id btree, struct bkey_s_c k)
{
	struct bch_fsck *f = d->s.x.f;
	const struct bch_snapshot_node *n = bch_snapshot_get(&d->t, k.k->p.snapshot);
	u32 equiv;
	int ret;

	if (!n) {
		ns_key_text(&d->s.buf, f, k);
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_bkey_in_missing_snapshot,
				      "key in missing snapshot: %s", d->s.buf.buf))
			return 0;
		return snap_q_del(&d->s, btree, k.k->p);
	}
	if (k.k->p.inode != d->pos.inode || k.k->p.offset != d->pos.offset)
		d->seen.nr = 0;
	d->pos = k.k->p;
	equiv = d->equiv[node_idx(&d->t, n)];
	if (btree == BTREE_ID_inodes && bkey_is_inode(k.k) &&
	    (n->deleted || equiv != k.k->p.snapshot || snap_ids_has(&d->seen, equiv)) &&
	    (ret = inum_touched(d, k.k->p.offset)))
		return ret;
	if (n->deleted)
		return snap_q_del(&d->s, btree, k.k->p);
	if (snap_ids_has(&d->seen, equiv))
		return snap_q_del(&d->s, btree, k.k->p);
	ret = snap_ids_add(f, &d->seen, equiv);
	if (ret || equiv == k.k->p.snapshot)
		return ret;
	return dead_key_move(d, btree, k, equiv);
}

/* snap_walk's step: one key, its repairs committed in batches */
static int dead_walk_key(struct snap_fix *s, struct bkey_s_c k, void *ctx)
{
	struct dead_ctx *d = ctx;
	int ret = dead_key(d, d->btree, k);

	return ret ?: d->s.queued >= DEAD_BATCH ? snap_q_commit(&d->s, "keys of dead snapshots") : 0;
}

static int dead_keys(struct dead_ctx *d, enum btree_id btree)
{
	d->seen.nr = 0;
	d->pos = POS_MIN;
	d->btree = btree;
	return snap_walk(&d->s, btree, dead_walk_key, d) ?: snap_q_commit(&d->s, "keys of dead snapshots");
}

/*
 * A node below collapsed ones: its depth drops by their number, and
 * skiplist entries naming them are replaced by the nearest ancestor that
 * stays (the kernel draws one at random).
 */
static int dead_child_fix(struct dead_ctx *d, u32 id, const struct snap_ids *gone)
{
	struct bch_snapshot v;
	u32 nr_above = 0, depth, up;
	int ret;

	for (size_t i = 0; i < gone->nr; i++)
		nr_above += snap_is_ancestor(&d->t, id, gone->d[i]) && gone->d[i] != id;
	if (!nr_above)
		return 0;
	ret = snap_snapshot_get(d->s.x.f, id, &v, NULL);
	if (ret <= 0)
		return ret;
	depth = le32_to_cpu(v.depth) > nr_above ? le32_to_cpu(v.depth) - nr_above : 0;
	v.depth = cpu_to_le32(depth);
	up = le32_to_cpu(v.parent);
	while (snap_ids_has(gone, up)) {
		const struct bch_snapshot_node *n = bch_snapshot_get(&d->t, up);

		up = n ? n->parent : 0;
	}
	for (unsigned i = 0; i < 3; i++)
		if (!depth)
			v.skip[i] = 0;
		else if (snap_ids_has(gone, le32_to_cpu(v.skip[i])))
			v.skip[i] = cpu_to_le32(up);
	snap_skip_sort(&v);
	return snap_q_snapshot(&d->s, id, &v) ?: snap_q_commit(&d->s, "a snapshot below removed ones");
}

/*
 * Removes node id, which has one child at most: the child takes its place
 * under its parent, or as its tree's root (the tree goes with its last
 * node).
 */
static int node_remove(struct dead_ctx *d, u32 id)
{
	struct bch_fsck *f = d->s.x.f;
	struct bch_snapshot v, o;
	struct bch_snapshot_tree st;
	u32 parent, child;
	int ret = snap_snapshot_get(f, id, &v, NULL);

	if (ret <= 0)
		return ret;
	parent = le32_to_cpu(v.parent);
	child = le32_to_cpu(v.children[0]);
	if (v.children[1])
		return bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
					 "snapshot %u to remove has two children", id);
	if (parent) {
		ret = snap_snapshot_get(f, parent, &o, NULL);
		if (ret <= 0)
			return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						       "missing snapshot %u", parent);
		if (le32_to_cpu(o.children[0]) == id)
			o.children[0] = cpu_to_le32(child);
		else if (le32_to_cpu(o.children[1]) == id)
			o.children[1] = cpu_to_le32(child);
		else
			return bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						 "snapshot %u missing child pointer to %u", parent, id);
		if (le32_to_cpu(o.children[0]) < le32_to_cpu(o.children[1])) {
			__le32 c = o.children[0];

			o.children[0] = o.children[1];
			o.children[1] = c;
		}
		ret = snap_q_snapshot(&d->s, parent, &o);
		if (ret)
			return ret;
	}
	if (child) {
		ret = snap_snapshot_get(f, child, &o, NULL);
		if (ret <= 0)
			return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						       "missing snapshot %u", child);
		o.parent = cpu_to_le32(parent);
		if (!parent)
			memset(o.skip, 0, sizeof(o.skip));
		ret = snap_q_snapshot(&d->s, child, &o);
		if (ret)
			return ret;
	}
	if (!parent) {
		ret = ns_tree_get(f, le32_to_cpu(v.tree), &st);
		if (ret < 0)
			return ret;
		if (ret && child) {
			st.root_snapshot = cpu_to_le32(child);
			ret = snap_q_tree(&d->s, le32_to_cpu(v.tree), &st);
		} else if (ret) {
			ret = snap_q_del(&d->s, BTREE_ID_snapshot_trees, POS(0, le32_to_cpu(v.tree)));
		}
		if (ret)
			return ret;
	}
	return snap_q_del(&d->s, BTREE_ID_snapshots, POS(0, id)) ?:
	       snap_q_commit(&d->s, "a snapshot removal");
}

/* The ids of nodes that are deleted (collapse false) or have one live child (true), ascending. */
static int dead_list(struct dead_ctx *d, bool collapse, struct snap_ids *l)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < d->t.nr; i++) {
		const struct bch_snapshot_node *n = &d->t.n[i];

		if (collapse ? d->equiv[i] != n->id : n->deleted)
			ret = snap_ids_add(d->s.x.f, l, n->id);
	}
	return ret;
}

static int dead_run(struct dead_ctx *d)
{
	static const enum btree_id btrees[] = {
		BTREE_ID_extents, BTREE_ID_inodes, BTREE_ID_dirents, BTREE_ID_xattrs,
	};
	struct snap_ids gone = { 0 }, collapsed = { 0 };
	int ret = redundant_mark(d) ?: dead_list(d, false, &gone);

	for (unsigned i = 0; !ret && i < sizeof(btrees) / sizeof(btrees[0]); i++)
		ret = dead_keys(d, btrees[i]);
	ret = ret ?: child_flags_fix_all(d);
	ret = ret ?: dead_list(d, true, &collapsed);
	/* depths first: a crash before the removals leaves depths check_snapshots repairs */
	for (size_t i = 0; !ret && i < d->t.nr; i++)
		if (!d->t.n[i].deleted && !snap_ids_has(&collapsed, d->t.n[i].id))
			ret = dead_child_fix(d, d->t.n[i].id, &collapsed);
	for (size_t i = 0; !ret && i < gone.nr; i++)
		ret = node_remove(d, gone.d[i]);
	/* a deleted node with one live child is on both lists: removed once */
	for (size_t i = 0; !ret && i < collapsed.nr; i++)
		if (!snap_ids_has(&gone, collapsed.d[i]))
			ret = node_remove(d, collapsed.d[i]);
	snap_ids_exit(&gone);
	snap_ids_exit(&collapsed);
	return ret;
}

/*
 * Snapshots that are deleted or left without a subvolume and a live
 * child go, with every key in them; a chain of nodes with one live child
 * each collapses into its lowest member, which keeps the newest version
 * of each key.  Nothing to do on a filesystem without such nodes.
 */
int bch_delete_dead_snapshots(struct bch_fsck *f)
{
	struct dead_ctx d = { .s = { .x.f = f, .buf = PRINTBUF } };
	int ret = dead_load(&d);

	if (!ret && dead_work(&d)) {
		d.key = malloc(sizeof(*d.key));
		ret = d.key ? dead_run(&d) : bch_fsck_op_error(f, -BCH_ERR_nomem, "a key buffer");
	}
	free(d.key);
	free(d.inums);
	snap_ids_exit(&d.seen);
	free(d.t.n);
	free(d.equiv);
	free(d.nr_live);
	free(d.live_child);
	snap_fix_exit(&d.s);
	return ret;
}


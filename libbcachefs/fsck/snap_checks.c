/* fsck passes over snapshot trees, snapshots and subvolumes (any number of each), and the subvolume hierarchy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck/snap_common.h"
#include "fsck/passes.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "keys/dirent.h"
#include "keys/key_ops.h"
#include "keys/key_types.h"
#include "util/errcode.h"

/* ---- snapshot trees ---- */

/* The first subvolume of root's tree that is not a snapshot. */
struct master_pick {
	const struct bch_snapshot_table *t;
	u32 root, id;
};

static int master_pick_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct master_pick *m = p;
	const struct bch_subvolume *v = k.v;

	if (k.k->type == KEY_TYPE_subvolume && bkey_val_bytes(k.k) >= 16 && !subvol_snap(v) &&
	    snap_is_ancestor(m->t, le32_to_cpu(v->snapshot), m->root))
		m->id = k.k->p.offset;
	return m->id != 0;
}

/*
 * The subvolume a tree should name as its master: the first (lowest id)
 * subvolume of the tree that is not a snapshot, else the tree's oldest
 * one, which stops being a snapshot.  1 and *id, 0 when there is none, or
 * an error.
 */
static int tree_master_pick(struct snap_fix *s, const struct bch_snapshot_table *t, u32 root,
			    u32 *id)
{
	struct bch_fsck *f = s->x.f;
	struct master_pick m = { t, root, 0 };
	struct bch_subvolume sv;
	int ret = ns_walk(f, BTREE_ID_subvolumes, master_pick_key, &m);

	*id = m.id;
	if (ret || m.id)
		return ret ?: 1;

	*id = snap_tree_oldest_subvol(t, root);
	ret = *id ? ns_subvol_get(f, *id, &sv) : 0;
	if (ret <= 0)
		return ret;
	set_subvol_snap(&sv, 0);
	return snap_q_subvol(s, *id, &sv) ?: 1;
}

static int snapshot_tree_key(struct snap_fix *s, struct bkey_s_c k, void *ctx)
{
	struct bch_fsck *f = s->x.f;
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	struct bch_snapshot_tree st;
	const struct bch_snapshot_node *root;
	struct bch_subvolume sv;
	enum bch_fsck_err e;
	const char *msg;
	u32 root_id, master;
	int ret;

	if (k.k->type != KEY_TYPE_snapshot_tree)
		return 0;
	if (!t)
		return -BCH_ERR_nomem;
	bkey_val_copy(&st, sizeof(st), k);
	root_id = le32_to_cpu(st.root_snapshot);
	root = bch_snapshot_get(t, root_id);
	msg = !root ? "a missing snapshot" : root->parent ? "a snapshot that is not a root" :
	      root->tree != k.k->p.offset ? "a snapshot that is not in it" : NULL;
	if (msg) {
		ns_key_text(&s->buf, f, k);
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_tree_to_missing_snapshot,
				      "snapshot tree points to %s: %s", msg, s->buf.buf))
			return 0;
		return snap_q_del(s, BTREE_ID_snapshot_trees, k.k->p) ?:
		       snap_q_commit(s, "a snapshot tree");
	}

	ret = ns_subvol_get(f, le32_to_cpu(st.master_subvol), &sv);
	if (ret < 0)
		return ret;
	if (!ret) {
		e = BCH_FSCK_ERR_snapshot_tree_to_missing_subvol;
		msg = "a missing subvolume";
	} else if (!snap_is_ancestor(t, le32_to_cpu(sv.snapshot), root_id)) {
		e = BCH_FSCK_ERR_snapshot_tree_to_wrong_subvol;
		msg = "a subvolume whose snapshot is not in this tree";
	} else if (subvol_snap(&sv)) {
		e = BCH_FSCK_ERR_snapshot_tree_to_snapshot_subvol;
		msg = "a snapshot subvolume";
	} else {
		return 0;
	}
	ns_key_text(&s->buf, f, k);
	if (!bch_fsck_problem(f, e, "snapshot tree points to %s: %s", msg, s->buf.buf))
		return 0;
	/* with no subvolume to name, the tree stays as it is (as the kernel leaves it) */
	ret = tree_master_pick(s, t, root_id, &master);
	if (ret <= 0)
		return ret;
	st.master_subvol = cpu_to_le32(master);
	return snap_q_tree(s, k.k->p.offset, &st) ?: snap_q_commit(s, "a snapshot tree");
}

int bch_check_snapshot_trees(struct bch_fsck *f)
{
	struct snap_fix s = { .x.f = f, .buf = PRINTBUF };
	int ret = snap_walk(&s, BTREE_ID_snapshot_trees, snapshot_tree_key, NULL);

	snap_fix_exit(&s);
	return ret;
}

/* ---- snapshots ---- */

/* The ids of every snapshot key, ascending (copied: the pass's repairs read the table again). */
static int snapshot_ids(struct bch_fsck *f, struct snap_ids *ids)
{
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	int ret = 0;

	if (!t)
		return -BCH_ERR_nomem;
	for (size_t i = 0; !ret && i < t->nr; i++)
		ret = snap_ids_add(f, ids, t->n[i].id);
	return ret;
}

/*
 * Parent and children must name each other; the kernel stops there (no
 * repair), and so does this pass.
 */
static int snapshot_links_check(struct bch_fsck *f, u32 id, const struct bch_snapshot *v)
{
	struct bch_snapshot o;
	u32 parent = le32_to_cpu(v->parent);
	int ret;

	if (parent) {
		ret = snap_snapshot_get(f, parent, &o, NULL);
		if (ret <= 0)
			return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						       "snapshot %u has a nonexistent parent %u", id, parent);
		if (le32_to_cpu(o.children[0]) != id && le32_to_cpu(o.children[1]) != id)
			return bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						 "snapshot parent %u missing pointer to child %u", parent, id);
	}
	for (unsigned i = 0; i < 2 && v->children[i]; i++) {
		u32 child = le32_to_cpu(v->children[i]);

		ret = snap_snapshot_get(f, child, &o, NULL);
		if (ret <= 0)
			return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						       "snapshot %u has a nonexistent child %u", id, child);
		if (le32_to_cpu(o.parent) != id)
			return bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						 "snapshot child %u has wrong parent (got %u, should be %u)",
						 child, le32_to_cpu(o.parent), id);
	}
	return 0;
}

/*
 * Subvolume subvol, which snapshot id names, went with a node of the
 * subvolumes btree that was lost: it is made again from its root, the
 * inode version id sees whose bi_subvol names it (its fs_path_parent from
 * the root's bi_parent_subvol; whether it was a snapshot, and of what, is
 * not known).  The kernel rebuilds it so in check_inodes, but stops
 * before, here.  1 when made, 0 when there is no such root or the repair
 * was declined, or an error.
 */
static int subvol_remake(struct snap_fix *s, u32 id, u32 subvol)
{
	struct bch_fsck *f = s->x.f;
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	const struct ns_inode *root = NULL;
	struct bch_subvolume sv = {};
	struct ns_itab *tab;
	int ret = t ? ns_itab_get(f, &tab) : -BCH_ERR_nomem;

	if (ret)
		return ret;
	/* the nearest version: the smallest id among id's ancestors-or-self */
	for (size_t i = 0; i < tab->nr; i++)
		if (tab->d[i].subvol == subvol && snap_is_ancestor(t, id, tab->d[i].snapshot) &&
		    (!root || tab->d[i].snapshot < root->snapshot))
			root = &tab->d[i];
	if (!root || !bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_subvol_missing,
				       "inode %llu:%u bi_subvol points to missing subvolume %u; the "
				       "subvolumes btree lost data: the subvolume is made again",
				       (unsigned long long)root->inum, root->snapshot, subvol))
		return 0;
	sv.snapshot = cpu_to_le32(id);
	sv.inode = cpu_to_le64(root->inum);
	sv.fs_path_parent = cpu_to_le32(root->parent_subvol);
	return snap_q_subvol(s, subvol, &sv) ?: snap_q_commit(s, "a subvolume made again") ?: 1;
}

/*
 * A snapshot flagged as a subvolume's must be its subvolume's; one that
 * is not (or is deleted) names no subvolume.  Where the root subvolume
 * names this snapshot, the flag is what was lost (the kernel clears the
 * subvolume and then finds the root missing): it is set again.
 */
static int snapshot_subvol_check(struct snap_fix *s, struct bkey_s_c k, struct bch_snapshot *v,
				 bool *changed)
{
	struct bch_fsck *f = s->x.f;
	u32 id = k.k->p.offset, subvol = le32_to_cpu(v->subvol);
	struct bch_subvolume sv;
	int ret;

	if (snapshot_is_subvol(v) && !snapshot_deleted(v)) {
		ret = ns_subvol_get(f, subvol, &sv);
		if (!ret && (f->lost_data & (1ULL << BTREE_ID_subvolumes)) &&
		    (ret = subvol_remake(s, id, subvol)) > 0)
			ret = ns_subvol_get(f, subvol, &sv);
		if (ret <= 0)
			return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						       "snapshot %u points to nonexistent subvolume %u",
						       id, subvol);
		if (le32_to_cpu(sv.snapshot) != id)
			return bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						 "snapshot %u has wrong BCH_SNAPSHOT_SUBVOL: subvolume %u is in snapshot %u",
						 id, subvol, le32_to_cpu(sv.snapshot));
		return 0;
	}
	if (!subvol)
		return 0;
	ns_key_text(&s->buf, f, k);
	if (!bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_should_not_have_subvol,
			      "snapshot should not point to subvol: %s", s->buf.buf))
		return 0;
	ret = subvol == BCH_NS_ROOT_SUBVOL && !snapshot_deleted(v) ? ns_subvol_get(f, subvol, &sv) : 0;
	if (ret < 0)
		return ret;
	if (ret && le32_to_cpu(sv.snapshot) == id)
		set_snapshot_is_subvol(v, 1);
	else
		v->subvol = 0;
	*changed = true;
	return 0;
}

/*
 * A snapshot's tree must be a tree whose root is an ancestor-or-self.
 * The repair takes the tree of this snapshot's root, first giving the
 * root a new tree if its own is missing or names another root.
 */
static int snapshot_tree_repair(struct snap_fix *s, const struct bch_snapshot_table *t, u32 id,
				struct bch_snapshot *v)
{
	struct bch_fsck *f = s->x.f;
	u32 root_id = snap_root(t, id), tree_id;
	struct bch_snapshot root;
	struct bch_snapshot_tree st;
	int ret = root_id == id ? (root = *v, 1) : snap_snapshot_get(f, root_id, &root, NULL);

	if (ret <= 0)
		return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
					       "snapshot %u: its root %u is missing", id, root_id);
	tree_id = le32_to_cpu(root.tree);
	ret = ns_tree_get(f, tree_id, &st);
	if (ret < 0)
		return ret;
	if (!ret || le32_to_cpu(st.root_snapshot) != root_id) {
		ret = snap_tree_id_next(f, &tree_id);
		if (ret)
			return ret;
		st.master_subvol = cpu_to_le32(snap_tree_oldest_subvol(t, root_id));
		st.root_snapshot = cpu_to_le32(root_id);
		root.tree = cpu_to_le32(tree_id);
		ret = snap_q_tree(s, tree_id, &st);
		if (!ret && root_id != id)
			ret = snap_q_snapshot(s, root_id, &root);
		if (ret)
			return ret;
	}
	v->tree = cpu_to_le32(tree_id);
	return 0;
}

/*
 * A skiplist entry for a child of parent: an ancestor-or-self of parent
 * below the tree's root (the root itself when parent is the root), as the
 * kernel draws them, but picked by a hash of the child and the slot so
 * every run repairs alike.
 */
static u32 skip_pick(const struct bch_snapshot_table *t, u32 id, u32 parent, unsigned slot)
{
	const struct bch_snapshot_node *p = bch_snapshot_get(t, parent);
	u32 h = (id + slot * 0x9e3779b9U) * 0x85ebca6bU;

	if (!p || !p->parent || !p->depth)
		return parent;
	h ^= h >> 15;
	return snap_nth_parent(t, parent, h % p->depth);
}

/* Depth and skiplist, from the (already checked) parent in the table. */
static bool snapshot_shape_check(struct snap_fix *s, const struct bch_snapshot_table *t,
				 struct bkey_s_c k, struct bch_snapshot *v)
{
	struct bch_fsck *f = s->x.f;
	u32 id = k.k->p.offset, parent = le32_to_cpu(v->parent), depth = 0;
	const struct bch_snapshot_node *p = parent ? bch_snapshot_get(t, parent) : NULL;
	bool changed = false, good = true;

	if (p)
		depth = p->depth + 1;
	if (le32_to_cpu(v->depth) != depth) {
		ns_key_text(&s->buf, f, k);
		if (bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_bad_depth,
				     "snapshot with incorrect depth field, should be %u: %s",
				     depth, s->buf.buf)) {
			v->depth = cpu_to_le32(depth);
			changed = true;
		}
	}
	for (unsigned i = 0; i < 3; i++)
		good &= parent ? snap_is_ancestor(t, id, le32_to_cpu(v->skip[i])) : !v->skip[i];
	if (good)
		return changed;
	ns_key_text(&s->buf, f, k);
	if (!bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_bad_skiplist,
			      "snapshot with bad skiplist field: %s", s->buf.buf))
		return changed;
	for (unsigned i = 0; i < 3; i++)
		v->skip[i] = cpu_to_le32(parent ? skip_pick(t, id, parent, i) : 0);
	snap_skip_sort(v);
	return true;
}

static int snapshot_check(struct snap_fix *s, u32 id)
{
	struct bch_fsck *f = s->x.f;
	const struct bch_snapshot_table *t;
	struct bch_snapshot v;
	struct bch_snapshot_tree st;
	union snap_key key;
	struct bkey_s_c k;
	bool changed = false;
	int ret = snap_snapshot_get(f, id, &v, &key);

	if (ret <= 0)
		return ret;
	k = bkey_i_to_s_c(&key.k);
	ret = snapshot_links_check(f, id, &v) ?:
	      snapshot_subvol_check(s, k, &v, &changed);
	if (ret)
		return ret;
	t = ns_snaps_get(f);
	if (!t)
		return -BCH_ERR_nomem;

	ret = ns_tree_get(f, le32_to_cpu(v.tree), &st);
	if (ret < 0)
		return ret;
	if (!ret || !snap_is_ancestor(t, id, le32_to_cpu(st.root_snapshot))) {
		ns_key_text(&s->buf, f, k);
		if (bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_to_bad_snapshot_tree,
				     "snapshot points to missing/incorrect tree: %s", s->buf.buf)) {
			ret = snapshot_tree_repair(s, t, id, &v);
			if (ret)
				return ret;
			changed = true;
		}
	}
	changed |= snapshot_shape_check(s, t, k, &v);
	ret = changed ? snap_q_snapshot(s, id, &v) : 0;
	return ret ?: snap_q_commit(s, "a snapshot");
}

/*
 * Highest id first: parents before their children, so a parent's depth
 * is right before its children's are checked against it.
 */
int bch_check_snapshots(struct bch_fsck *f)
{
	struct snap_fix s = { .x.f = f, .buf = PRINTBUF };
	struct snap_ids ids = { 0 };
	int ret = snapshot_ids(f, &ids);

	while (!ret && ids.nr--)
		ret = snapshot_check(&s, ids.d[ids.nr]);
	snap_ids_exit(&ids);
	snap_fix_exit(&s);
	return ret;
}

/* ---- subvolumes ---- */

/* A subvolume key's value, zero-filled past a short one. */
static struct bch_subvolume subvol_val(struct bkey_s_c k)
{
	struct bch_subvolume v;

	bkey_val_copy(&v, sizeof(v), k);
	return v;
}

/*
 * Subvolumes made as snapshots of id now count as made from what id was
 * made from (the kernel's reparenting before a subvolume goes).
 */
struct reparent {
	u32 id, new_parent;
};

static int reparent_key(struct snap_fix *s, struct bkey_s_c k, void *p)
{
	const struct reparent *r = p;
	struct bch_subvolume v = subvol_val(k);

	if (k.k->type != KEY_TYPE_subvolume || k.k->p.inode || le32_to_cpu(v.creation_parent) != r->id)
		return 0;
	v.creation_parent = cpu_to_le32(r->new_parent);
	return snap_q_subvol(s, k.k->p.offset, &v);
}

static int subvols_reparent(struct snap_fix *s, u32 id, u32 new_parent)
{
	struct reparent r = { id, new_parent };

	return snap_walk(s, BTREE_ID_subvolumes, reparent_key, &r) ?:
	       snap_q_commit(s, "reparented subvolumes");
}

/*
 * Deletes subvolume id (value v) as the kernel does: the subvolume key
 * goes and its snapshot is marked deleted, for delete_dead_snapshots to
 * remove with everything in it.
 */
static int subvol_delete(struct snap_fix *s, u32 id, const struct bch_subvolume *v)
{
	struct bch_fsck *f = s->x.f;
	u32 snap = le32_to_cpu(v->snapshot);
	struct bch_snapshot sn;
	int ret = subvols_reparent(s, id, le32_to_cpu(v->creation_parent)) ?:
		  snap_snapshot_get(f, snap, &sn, NULL);

	if (ret < 0)
		return ret;
	if (ret && !snapshot_deleted(&sn)) {
		set_snapshot_deleted(&sn, 1);
		set_snapshot_is_subvol(&sn, 0);
		sn.subvol = 0;
		ret = snap_q_snapshot(s, snap, &sn);
	} else {
		ret = 0;
	}
	if (f->verbose)
		bch_fsck_info(f, "deleting subvolume %u (snapshot %u)", id, snap);
	return ret ?: snap_q_subvol(s, id, NULL) ?:
	       snap_q_commit(s, "a subvolume deletion");
}

static void set_bi_subvol(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_subvol = *(const u32 *)ctx;
}

/*
 * The root subvolume's root inode is gone: a new, empty root directory
 * under the same number (the kernel deletes the subvolume, which for the
 * root one loses everything); the entries still keyed under it are found
 * again, and the dirents pass sets its link count.
 */
static int subvol_root_make(struct snap_fix *s, u32 id, const struct bch_subvolume *v)
{
	struct ns_fix *x = &s->x;
	struct bch_inode_unpacked u;
	int ret = ns_fix_at(x, le32_to_cpu(v->snapshot));

	if (ret)
		return ret;
	bch_ns_inode_init(&x->ns, &u, NULL, S_IFDIR | 0755, 0, 0, 0, bch_ns_now(&x->ns));
	u.bi_inum = le64_to_cpu(v->inode);
	u.bi_subvol = id;
	u.bi_parent_subvol = le32_to_cpu(v->fs_path_parent);
	ret = bch_ns_inode_write(&x->ns, &u, &x->f->err);
	if (ret) {
		bch_trans_reset(&x->ns.t);
		return bch_fsck_op_error(x->f, ret, "making a new root for subvolume %u", id);
	}
	return ns_fix_commit(x, "a new subvolume root");
}

/*
 * The root inode, seen in the subvolume's snapshot: 1 when fine or
 * repaired, 0 when the subvolume went, or an error.
 */
static int subvol_root_check(struct snap_fix *s, struct bkey_s_c k, const struct bch_subvolume *v)
{
	struct bch_fsck *f = s->x.f;
	struct bch_inode_unpacked u;
	u32 id = k.k->p.offset, snap = le32_to_cpu(v->snapshot);
	int ret = snap_inode_get(f, le64_to_cpu(v->inode), snap, &u);

	if (ret < 0)
		return ret;
	if (!ret) {
		ns_key_text(&s->buf, f, k);
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_subvol_to_missing_root,
				      "subvolume points to a missing root inode: %s", s->buf.buf))
			return 1;
		if (id == BCH_NS_ROOT_SUBVOL)
			return subvol_root_make(s, id, v) ?: 1;
		return subvol_delete(s, id, v);
	}
	if (u.bi_subvol == id ||
	    !bch_fsck_problem(f, BCH_FSCK_ERR_subvol_root_wrong_bi_subvol,
			      "subvol root %llu has wrong bi_subvol field: got %llu, should be %u",
			      (unsigned long long)u.bi_inum, (unsigned long long)u.bi_subvol, id))
		return 1;
	/* a new version below the one seen: the flags around it follow */
	ret = ns_fix_inode(&s->x, u.bi_inum, snap, set_bi_subvol, &id) ?:
	      (u.bi_snapshot != snap ? ns_fix_child_flags(&s->x, u.bi_inum) : 0);
	return ret ?: 1;
}

/* A subvolume that is not a snapshot must be its tree's master. */
static int subvol_master_check(struct snap_fix *s, const struct bch_snapshot_table *t, u32 id,
			       struct bch_subvolume *v, bool *changed)
{
	struct bch_fsck *f = s->x.f;
	const struct bch_snapshot_node *root;
	struct bch_snapshot_tree st;
	u32 tree;
	int ret;

	if (subvol_snap(v))
		return 0;
	root = bch_snapshot_get(t, snap_root(t, le32_to_cpu(v->snapshot)));
	tree = root ? root->tree : 0;
	ret = ns_tree_get(f, tree, &st);
	if (ret <= 0)
		return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
					       "subvolume %u: snapshot tree %u not found", id, tree);
	if (le32_to_cpu(st.master_subvol) != id &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_subvol_not_master_and_not_snapshot,
			     "subvolume %u is not set as snapshot but is not master subvolume", id)) {
		set_subvol_snap(v, 1);
		*changed = true;
	}
	return 0;
}

static int subvol_key(struct snap_fix *s, struct bkey_s_c k, void *ctx)
{
	struct bch_fsck *f = s->x.f;
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	struct bch_subvolume v = subvol_val(k);
	u32 id = k.k->p.offset, parent = le32_to_cpu(v.fs_path_parent);
	union snap_key ck;
	bool changed = false;
	int ret;

	if (k.k->type != KEY_TYPE_subvolume)
		return 0;
	if (!t)
		return -BCH_ERR_nomem;
	if (!bch_snapshot_get(t, le32_to_cpu(v.snapshot)))
		return bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
					 "subvolume %u points to nonexistent snapshot %u",
					 id, le32_to_cpu(v.snapshot));
	if (subvol_unlinked(&v))
		return subvol_delete(s, id, &v);

	if (id == BCH_NS_ROOT_SUBVOL && parent) {
		ns_key_text(&s->buf, f, k);
		if (bch_fsck_problem(f, BCH_FSCK_ERR_subvol_root_fs_path_parent_nonzero,
				     "root subvolume has nonzero fs_path_parent: %s", s->buf.buf)) {
			v.fs_path_parent = 0;
			changed = true;
		}
	}
	if (v.fs_path_parent) {
		u32 p = le32_to_cpu(v.fs_path_parent);

		ret = snap_key_get(f, BTREE_ID_subvolume_children, POS(p, id), &ck);
		if (ret < 0)
			return ret;
		if (!ret || ck.k.k.type != KEY_TYPE_set) {
			ns_key_text(&s->buf, f, k);
			if (bch_fsck_problem(f, BCH_FSCK_ERR_subvol_children_not_set,
					     "subvolume not set in subvolume_children btree at %u:%u: %s",
					     p, id, s->buf.buf)) {
				ret = snap_q_child_entry(s, p, id, true);
				if (ret)
					return ret;
			}
		}
	}
	ret = subvol_root_check(s, k, &v);
	if (ret <= 0)
		return ret;
	t = ns_snaps_get(f);
	ret = t ? subvol_master_check(s, t, id, &v, &changed) : -BCH_ERR_nomem;
	if (!ret && changed)
		ret = snap_q_subvol(s, id, &v);
	return ret ?: snap_q_commit(s, "a subvolume");
}

int bch_check_subvols(struct bch_fsck *f)
{
	struct snap_fix s = { .x.f = f, .buf = PRINTBUF };
	int ret = snap_walk(&s, BTREE_ID_subvolumes, subvol_key, NULL);

	snap_fix_exit(&s);
	return ret;
}

/*
 * Each subvolume_children entry (parent, child) names a subvolume whose
 * fs_path_parent is that parent; others go.
 */
static int subvol_child_key(struct snap_fix *s, struct bkey_s_c k, void *ctx)
{
	struct bch_fsck *f = s->x.f;
	struct bch_subvolume v;
	int ret;

	if (k.k->type == KEY_TYPE_deleted || k.k->type == KEY_TYPE_whiteout)
		return 0;
	ret = ns_subvol_get(f, k.k->p.offset, &v);
	if (ret < 0)
		return ret;
	if (ret && le32_to_cpu(v.fs_path_parent) == k.k->p.inode)
		return 0;
	if (!bch_fsck_problem(f, BCH_FSCK_ERR_subvol_children_bad,
			      "incorrect entry in subvolume_children btree %llu:%llu",
			      (unsigned long long)k.k->p.inode, (unsigned long long)k.k->p.offset))
		return 0;
	return snap_q_del(s, BTREE_ID_subvolume_children, k.k->p) ?:
	       snap_q_commit(s, "a subvolume_children entry");
}

int bch_check_subvol_children(struct bch_fsck *f)
{
	struct snap_fix s = { .x.f = f, .buf = PRINTBUF };
	int ret = snap_walk(&s, BTREE_ID_subvolume_children, subvol_child_key, NULL);

	snap_fix_exit(&s);
	return ret;
}

/* ---- check_subvolume_structure ---- */

static void subvol_key_text(struct printbuf *b, struct bch_fsck *f, u32 id,
			    const struct bch_subvolume *v)
{
	union snap_key k;

	snap_val_key(&k, KEY_TYPE_subvolume, id, v, sizeof(*v));
	ns_key_text(b, f, bkey_i_to_s_c(&k.k));
}

/*
 * The dirent a subvolume root's backpointer names goes, if it is there
 * and names this subvolume.  It lies in the parent subvolume's snapshot
 * (the kernel looks in the root inode's own, where it is not seen).
 */
static int subvol_dirent_remove(struct snap_fix *s, u32 id, const struct bch_inode_unpacked *u)
{
	struct ns_fix *x = &s->x;
	struct bch_fsck *f = x->f;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } dk;
	struct bch_inode_unpacked dir;
	struct bch_subvolume pv;
	u32 snap = u->bi_snapshot;
	int ret;

	if (!u->bi_dir)
		return 0;
	ret = u->bi_parent_subvol ? ns_subvol_get(f, u->bi_parent_subvol, &pv) : 0;
	if (ret < 0)
		return ret;
	if (ret && ns_snapshot_exists(f, le32_to_cpu(pv.snapshot)))
		snap = le32_to_cpu(pv.snapshot);
	ret = ns_fix_at(x, snap);
	if (ret)
		return ret;
	ret = bch_ns_key_get(&x->ns, BTREE_ID_dirents, u->bi_dir, u->bi_dir_offset, &dk.k,
			     BCH_HASH_KEY_U64s, &f->err);
	if (ret <= 0 || dk.k.k.type != KEY_TYPE_dirent ||
	    bch_dirent_type(bkey_i_to_s_c(&dk.k)) != DT_SUBVOL ||
	    bch_dirent_child_subvol(bkey_i_to_s_c(&dk.k)) != id)
		goto out;
	/* deleted in the snapshot of its own key */
	ret = ns_fix_at(x, dk.k.k.p.snapshot) ?:
	      bch_ns_inode_get(&x->ns, u->bi_dir, &dir, &f->err) ?:
	      bch_ns_dirent_delete(&x->ns, &dir, u->bi_dir_offset, &f->err);
	if (!ret)
		return ns_fix_commit(x, "a subvolume's dirent");
out:
	if (ret < 0) {
		bch_trans_reset(&x->ns.t);
		return bch_fsck_op_error(f, ret, "removing the dirent of subvolume %u", id);
	}
	return 0;
}

/*
 * Subvolume id (root inode u) is put into the root subvolume's lost+found
 * as "subvol-<id>" (ns_fix_reattach), its old entry removed first.
 */
static int subvol_reattach(struct snap_fix *s, u32 id, const struct bch_inode_unpacked *u)
{
	u64 dir, offset;

	return snap_q_commit(s, "the subvolumes") ?:
	       subvol_dirent_remove(s, id, u) ?:
	       ns_fix_reattach(&s->x, u->bi_inum, u->bi_snapshot, &dir, &offset);
}

/*
 * From each subvolume, its fs_path_parent links must reach the root
 * subvolume: a link to a subvolume already on the way is a loop, one to
 * no subvolume leaves it unreachable; either way the subvolume where the
 * walk stopped goes into lost+found.
 */
static int subvol_path_key(struct snap_fix *s, struct bkey_s_c k, void *ctx)
{
	struct snap_ids *path = ctx;	/* the subvolumes met on the way */
	struct bch_fsck *f = s->x.f;
	struct bch_subvolume v = subvol_val(k), pv;
	struct bch_inode_unpacked u;
	u32 id = k.k->p.offset, parent;
	int ret;

	if (k.k->type != KEY_TYPE_subvolume)
		return 0;
	path->nr = 0;
	while (id != BCH_NS_ROOT_SUBVOL) {
		ret = snap_ids_add(f, path, id);
		if (!ret)
			ret = snap_inode_get(f, le64_to_cpu(v.inode), le32_to_cpu(v.snapshot), &u);
		if (ret <= 0)
			return ret ?: bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						       "subvolume %u: root inode %llu not found", id,
						       (unsigned long long)le64_to_cpu(v.inode));
		parent = le32_to_cpu(v.fs_path_parent);
		if (snap_ids_has(path, parent)) {
			subvol_key_text(&s->buf, f, id, &v);
			if (bch_fsck_problem(f, BCH_FSCK_ERR_subvol_loop, "subvolume loop: %s",
					     s->buf.buf))
				return subvol_reattach(s, id, &u);
			return 0;
		}
		ret = ns_subvol_get(f, parent, &pv);
		if (ret < 0)
			return ret;
		if (!ret) {
			subvol_key_text(&s->buf, f, id, &v);
			if (bch_fsck_problem(f, BCH_FSCK_ERR_subvol_unreachable,
					     "unreachable subvolume %s", s->buf.buf))
				return subvol_reattach(s, id, &u);
			return 0;
		}
		id = parent;
		v = pv;
	}
	return 0;
}

int bch_check_subvolume_structure(struct bch_fsck *f)
{
	struct snap_fix s = { .x.f = f, .buf = PRINTBUF };
	struct snap_ids path = { 0 };
	int ret = snap_walk(&s, BTREE_ID_subvolumes, subvol_path_key, &path);

	snap_ids_exit(&path);
	snap_fix_exit(&s);
	return ret;
}

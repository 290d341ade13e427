/* fsck passes over snapshots, subvolumes, inodes, extents, the root, reachability and link counts (one snapshot). */
#include <stdlib.h>
#include <string.h>

#include "fsck/ns_common.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "fs/dirent_ops.h"
#include "fs/hash_table.h"
#include "fs/inode_alloc.h"
#include "keys/dirent.h"
#include "keys/key_types.h"
#include "util/errcode.h"

/* Calls fn on every live key of btree; fn returns 0 to go on, else stops the walk. */
typedef int (*ns_key_fn)(struct bch_fsck *, struct bkey_s_c, void *ctx);

static int ns_walk(struct bch_fsck *f, enum btree_id btree, ns_key_fn fn, void *ctx)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, f->c, btree, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		ret = fn(f, k, ctx);
		if (ret)
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && !f->op_error)
		bch_fsck_op_error(f, ret, "walking btree %u: %s", btree, it.err.buf ?: "");
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

static void key_text(struct printbuf *b, struct bch_fsck *f, struct bkey_s_c k)
{
	pb_reset(b);
	bch_bkey_val_to_text(b, f->c, k);
}

/* ---- snapshots and subvolumes: only the root subvolume and its snapshot ---- */

struct single_ctx {
	struct printbuf buf;
	unsigned nr;
	struct ns_fix x;
};

/* The root snapshot's value: 1, 0 when it has none (or a short one), or an error. */
static int root_snapshot_get(struct bch_fsck *f, struct bch_snapshot *v)
{
	struct btree_trans t;
	union { struct bkey_i k; u64 pad[BKEY_U64s + 16]; } sk;
	int ret;

	bch_trans_init(&t, f->c);
	ret = bch_trans_lookup(&t, BTREE_ID_snapshots, 0, POS(0, BCH_NS_ROOT_SNAPSHOT), &sk.k,
			       BKEY_U64s + 16, &f->err);
	bch_trans_exit(&t);
	if (ret < 0)
		return bch_fsck_op_error(f, ret, "reading the root snapshot");
	if (!ret || sk.k.k.type != KEY_TYPE_snapshot || bkey_val_bytes(&sk.k.k) < sizeof(*v))
		return 0;
	memcpy(v, sk.k.v, sizeof(*v));
	return 1;
}

/* Writes k again with the value v (bytes: whole u64s, at most 8 of them). */
static int put_value(struct single_ctx *s, enum btree_id btree, struct bkey_s_c k,
		     const void *v, size_t bytes)
{
	union { struct bkey_i k; u64 pad[BKEY_U64s + 8]; } nk;

	if (bytes % 8 || bytes > 64)
		return 0;
	nk.k.k = *k.k;
	nk.k.k.u64s = BKEY_U64s + bytes / 8;
	memcpy(nk.k.v, v, bytes);
	return ns_fix_put(&s->x, btree, &nk.k);
}

/* A pass over one of these small btrees, its repairs in one session. */
static int single_walk(struct bch_fsck *f, enum btree_id btree, ns_key_fn fn)
{
	struct single_ctx s = { PRINTBUF, .x.f = f };
	int ret = ns_walk(f, btree, fn, &s);

	ns_fix_end(&s.x);
	pb_exit(&s.buf);
	return ret;
}

static int snapshot_tree_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct single_ctx *s = p;
	const struct bch_snapshot_tree *st = k.v;
	struct bch_snapshot sn;
	int ret;

	if (k.k->type != KEY_TYPE_snapshot_tree)
		return 0;
	s->nr++;
	key_text(&s->buf, f, k);
	if (le32_to_cpu(st->root_snapshot) != BCH_NS_ROOT_SNAPSHOT) {
		if (bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_tree_to_missing_snapshot,
				     "snapshot tree points to a missing snapshot: %s", s->buf.buf))
			bch_fsck_fix_failed(f, BCH_FSCK_ERR_snapshot_tree_to_missing_snapshot);
		return 0;
	}
	ret = root_snapshot_get(f, &sn);
	if (ret < 0)
		return ret;
	if (ret && le32_to_cpu(sn.tree) != k.k->p.offset) {
		/* as the kernel: the tree goes, the snapshots pass gives its root a new one */
		if (bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_tree_to_missing_snapshot,
				     "snapshot tree points to a snapshot that is not in it: %s", s->buf.buf))
			return ns_fix_delete(&s->x, BTREE_ID_snapshot_trees, k.k->p);
		return 0;
	}
	if (le32_to_cpu(st->master_subvol) != BCH_NS_ROOT_SUBVOL &&
		 bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_tree_to_missing_subvol,
				  "snapshot tree points to a missing subvolume: %s", s->buf.buf)) {
		/* one snapshot, the root one: its subvolume is the root subvolume */
		struct bch_snapshot_tree v = *st;

		if (bkey_val_bytes(k.k) != sizeof(v))
			return 0;
		v.master_subvol = cpu_to_le32(BCH_NS_ROOT_SUBVOL);
		return put_value(s, BTREE_ID_snapshot_trees, k, &v, sizeof(v));
	}
	return 0;
}

int bch_check_snapshot_trees(struct bch_fsck *f)
{
	return single_walk(f, BTREE_ID_snapshot_trees, snapshot_tree_key);
}

/* The snapshot tree whose root is the root snapshot: its id, 0 if none, or an error. */
static int root_snapshot_tree(struct bch_fsck *f)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, f->c, BTREE_ID_snapshot_trees, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (k.k->type == KEY_TYPE_snapshot_tree && k.k->p.offset <= 0xffffffffULL &&
		    le32_to_cpu(((const struct bch_snapshot_tree *)k.v)->root_snapshot) == BCH_NS_ROOT_SNAPSHOT) {
			ret = k.k->p.offset;
			break;
		}
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	return ret;
}

/* A new snapshot tree (the first free id) for the root snapshot: its id, or an error. */
static int snapshot_tree_make(struct single_ctx *s, const struct bch_snapshot *v)
{
	struct bch_fsck *f = s->x.f;
	union { struct bkey_i k; u64 pad[BKEY_U64s + 1]; } nk;
	struct bch_snapshot_tree *st = (struct bch_snapshot_tree *)nk.k.v;
	struct btree_iter it;
	struct bkey_s_c k;
	u64 id = 1;
	int ret;

	bch_btree_iter_init(&it, f->c, BTREE_ID_snapshot_trees, POS(0, 1), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == 0 && k.k->p.offset == id) {
		id++;
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	if (ret < 0)
		return bch_fsck_op_error(f, ret, "reading the snapshot trees");
	memset(&nk, 0, sizeof(nk));
	nk.k.k.u64s = BKEY_U64s + 1;
	nk.k.k.format_whiteout = KEY_FORMAT_CURRENT;
	nk.k.k.type = KEY_TYPE_snapshot_tree;
	nk.k.k.p = POS(0, id);
	st->root_snapshot = cpu_to_le32(BCH_NS_ROOT_SNAPSHOT);
	st->master_subvol = snapshot_is_subvol(v) ? v->subvol : 0;
	ret = ns_fix_put(&s->x, BTREE_ID_snapshot_trees, &nk.k);
	return ret ? ret : (int)id;
}

/*
 * The root snapshot, checked as the kernel checks every snapshot: no
 * subvolume unless flagged as a subvolume's, the tree whose root it is,
 * depth 0 and an empty skiplist (it has no ancestors).
 */
static int snapshot_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct single_ctx *s = p;
	struct bch_snapshot v;
	bool changed = false;
	int tree;

	if (k.k->type != KEY_TYPE_snapshot)
		return 0;
	key_text(&s->buf, f, k);
	if (bkey_val_bytes(k.k) < sizeof(v) || k.k->p.offset != BCH_NS_ROOT_SNAPSHOT ||
	    le32_to_cpu(((const struct bch_snapshot *)k.v)->parent)) {
		if (bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_parent_bad,
				     "snapshot other than the root one (not supported here): %s", s->buf.buf))
			bch_fsck_fix_failed(f, BCH_FSCK_ERR_snapshot_parent_bad);
		return 0;
	}
	memcpy(&v, k.v, sizeof(v));
	if ((!snapshot_is_subvol(&v) || snapshot_deleted(&v)) && v.subvol &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_should_not_have_subvol,
			     "snapshot should not point to subvol: %s", s->buf.buf)) {
		/*
		 * The kernel clears the subvolume (and then gives up on the
		 * root subvolume); when that subvolume points back, the flag
		 * is what was lost.
		 */
		if (le32_to_cpu(v.subvol) == BCH_NS_ROOT_SUBVOL && !snapshot_deleted(&v))
			set_snapshot_is_subvol(&v, 1);
		else
			v.subvol = 0;
		changed = true;
	}
	tree = root_snapshot_tree(f);
	if (tree < 0)
		return bch_fsck_op_error(f, tree, "reading the snapshot trees");
	if ((unsigned)tree != le32_to_cpu(v.tree) &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_to_bad_snapshot_tree,
			     "snapshot points to missing/incorrect tree: %s", s->buf.buf)) {
		if (!tree) {
			int ret = snapshot_tree_make(s, &v);

			if (ret <= 0)
				return ret;
			tree = ret;
		}
		v.tree = cpu_to_le32(tree);
		changed = true;
	}
	if (v.depth && bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_bad_depth,
					"snapshot with incorrect depth field, should be 0: %s", s->buf.buf)) {
		v.depth = 0;
		changed = true;
	}
	if ((v.skip[0] || v.skip[1] || v.skip[2]) &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_bad_skiplist,
			     "snapshot with bad skiplist field: %s", s->buf.buf)) {
		memset(v.skip, 0, sizeof(v.skip));
		changed = true;
	}
	return changed ? put_value(s, BTREE_ID_snapshots, k, &v, sizeof(v)) : 0;
}

int bch_check_snapshots(struct bch_fsck *f)
{
	return single_walk(f, BTREE_ID_snapshots, snapshot_key);
}

static void set_subvol(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_subvol = *(const u64 *)ctx;
}

/*
 * A subvolume whose root inode is gone gets a new, empty root directory
 * under the same number (the kernel deletes the subvolume, which for the
 * root one loses everything): the entries still keyed under it are then
 * found again, and the link count is set by the dirents pass.
 */
static int subvol_root_make(struct ns_fix *x, struct bkey_s_c k)
{
	const struct bch_subvolume *sv = k.v;
	struct bch_inode_unpacked u;
	int ret = ns_fix_begin(x);

	if (ret)
		return ret;
	bch_ns_inode_init(&x->ns, &u, NULL, S_IFDIR | 0755, 0, 0, 0, bch_ns_now(&x->ns));
	u.bi_inum = le64_to_cpu(sv->inode);
	u.bi_subvol = k.k->p.offset;
	u.bi_parent_subvol = le32_to_cpu(sv->fs_path_parent);
	ret = bch_ns_inode_write(&x->ns, &u, &x->f->err);
	if (ret) {
		bch_trans_reset(&x->ns.t);
		return bch_fsck_op_error(x->f, ret, "making a new root for subvolume %llu",
					 (unsigned long long)k.k->p.offset);
	}
	return ns_fix_commit(x, "a new subvolume root");
}

static int subvol_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct single_ctx *s = p;
	const struct bch_subvolume *sv = k.v;
	struct bch_inode_unpacked u;
	struct btree_trans t;
	union { struct bkey_i k; u64 pad[64]; } ik;
	int ret;

	if (k.k->type != KEY_TYPE_subvolume)
		return 0;
	key_text(&s->buf, f, k);
	if (le32_to_cpu(sv->snapshot) != BCH_NS_ROOT_SNAPSHOT) {
		if (bch_fsck_problem(f, BCH_FSCK_ERR_subvol_snapshot_bad,
				     "subvolume in a snapshot other than the root one (not supported here): %s",
				     s->buf.buf))
			bch_fsck_fix_failed(f, BCH_FSCK_ERR_subvol_snapshot_bad);
		return 0;
	}
	if (k.k->p.offset == BCH_NS_ROOT_SUBVOL && sv->fs_path_parent &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_subvol_root_fs_path_parent_nonzero,
			     "root subvolume has nonzero fs_path_parent: %s", s->buf.buf)) {
		u64 v[8];

		if (bkey_val_bytes(k.k) < sizeof(*sv) || bkey_val_bytes(k.k) > sizeof(v))
			return 0;
		memcpy(v, k.v, bkey_val_bytes(k.k));
		((struct bch_subvolume *)v)->fs_path_parent = 0;
		ret = put_value(s, BTREE_ID_subvolumes, k, v, bkey_val_bytes(k.k));
		if (ret)
			return ret;
	}
	bch_trans_init(&t, f->c);
	ret = bch_trans_lookup(&t, BTREE_ID_inodes, 0,
			       SPOS(0, le64_to_cpu(sv->inode), BCH_NS_ROOT_SNAPSHOT),
			       &ik.k, 64, &f->err);
	bch_trans_exit(&t);
	if (ret < 0)
		return ret;
	if (!ret || !bkey_is_inode(&ik.k.k) || bch_inode_unpack(bkey_i_to_s_c(&ik.k), &u)) {
		if (bch_fsck_problem(f, BCH_FSCK_ERR_subvol_to_missing_root,
				     "subvolume points to a missing root inode: %s", s->buf.buf))
			return subvol_root_make(&s->x, k);
		return 0;
	}
	if (u.bi_subvol != k.k->p.offset &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_subvol_root_wrong_bi_subvol,
			     "subvol root %llu has wrong bi_subvol field: got %llu, should be %llu",
			     (unsigned long long)u.bi_inum, (unsigned long long)u.bi_subvol,
			     (unsigned long long)k.k->p.offset)) {
		u64 subvol = k.k->p.offset;

		return ns_fix_inode(&s->x, u.bi_inum, set_subvol, &subvol);
	}
	return 0;
}

int bch_check_subvols(struct bch_fsck *f)
{
	return single_walk(f, BTREE_ID_subvolumes, subvol_key);
}

/*
 * Each subvolume_children entry (parent, child) names a subvolume whose
 * fs_path_parent is that parent; others go.
 */
static int subvol_child_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct single_ctx *s = p;
	union { struct bkey_i k; u64 pad[BKEY_U64s + 8]; } sk;
	struct btree_trans t;
	int ret;

	if (k.k->type == KEY_TYPE_deleted || k.k->type == KEY_TYPE_whiteout)
		return 0;
	bch_trans_init(&t, f->c);
	ret = bch_trans_lookup(&t, BTREE_ID_subvolumes, 0, POS(0, k.k->p.offset), &sk.k,
			       BKEY_U64s + 8, &f->err);
	bch_trans_exit(&t);
	if (ret < 0)
		return bch_fsck_op_error(f, ret, "reading the subvolumes");
	if (ret && sk.k.k.type == KEY_TYPE_subvolume &&
	    bkey_val_bytes(&sk.k.k) >= sizeof(struct bch_subvolume) &&
	    le32_to_cpu(((struct bch_subvolume *)sk.k.v)->fs_path_parent) == k.k->p.inode)
		return 0;
	if (bch_fsck_problem(f, BCH_FSCK_ERR_subvol_children_bad,
			     "incorrect entry in subvolume_children btree %llu:%llu",
			     (unsigned long long)k.k->p.inode, (unsigned long long)k.k->p.offset))
		return ns_fix_delete(&s->x, BTREE_ID_subvolume_children, k.k->p);
	return 0;
}

int bch_check_subvol_children(struct bch_fsck *f)
{
	return single_walk(f, BTREE_ID_subvolume_children, subvol_child_key);
}

/* ---- inodes ---- */

struct inode_ctx {
	struct ns_fix x;
	bool fill;			/* the pass fills the inode table (ns_itab_fill) */
	struct btree_trans t;		/* lookups only */
	struct printbuf buf;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } key;
};

static void clear_backpointer(struct bch_inode_unpacked *u, void *ctx)
{
	(void)ctx;
	u->bi_dir = 0;
	u->bi_dir_offset = 0;
}

static void clear_unlinked(struct bch_inode_unpacked *u, void *ctx)
{
	(void)ctx;
	u->bi_flags &= ~(1U << BCH_INODE_unlinked);
}

static int lookup(struct inode_ctx *s, enum btree_id btree, struct bpos pos)
{
	int ret = bch_trans_lookup(&s->t, btree, 0, pos, &s->key.k, BCH_HASH_KEY_U64s, &s->x.f->err);

	bch_trans_reset(&s->t);
	return ret;
}

/* Subvolume id into s->key: 1, 0 when there is none, or an error. */
static int subvol_get(struct inode_ctx *s, u64 id)
{
	int ret = lookup(s, BTREE_ID_subvolumes, SPOS(0, id, 0));

	return ret > 0 ? s->key.k.k.type == KEY_TYPE_subvolume : ret;
}

static int inode_dirent_check(struct bch_fsck *f, struct inode_ctx *s,
			      const struct bch_inode_unpacked *u)
{
	enum bch_fsck_err e;
	int ret = 1;

	/* the root of a subvolume is named in its parent subvolume, which must exist */
	if (u->bi_subvol)
		ret = subvol_get(s, u->bi_parent_subvol);
	if (ret > 0)
		ret = lookup(s, BTREE_ID_dirents, SPOS(u->bi_dir, u->bi_dir_offset, u->bi_snapshot));
	if (ret < 0)
		return ret;
	if (!ret || s->key.k.k.type != KEY_TYPE_dirent)
		e = BCH_FSCK_ERR_inode_points_to_missing_dirent;
	else if (bch_dirent_inum(bkey_i_to_s_c(&s->key.k)) != u->bi_inum)
		e = BCH_FSCK_ERR_inode_points_to_wrong_dirent;
	else
		return 0;
	if (!bch_fsck_problem(f, e, "inode %llu points to %s dirent %llu:%llu",
			      (unsigned long long)u->bi_inum,
			      e == BCH_FSCK_ERR_inode_points_to_missing_dirent ? "a missing" : "a wrong",
			      (unsigned long long)u->bi_dir, (unsigned long long)u->bi_dir_offset))
		return 0;
	return ns_fix_inode(&s->x, u->bi_inum, clear_backpointer, NULL);
}

static int deleted_list_add(struct inode_ctx *s, struct bpos p)
{
	struct bkey_i k = { .k = { .u64s = BKEY_U64s, .type = KEY_TYPE_set, .p = p } };
	int ret = ns_fix_begin(&s->x) ?:
		  bch_trans_update(&s->x.ns.t, BTREE_ID_deleted_inodes, 0, &k, BCH_UPDATE_NO_TRIGGERS);

	return ret ?: ns_fix_commit(&s->x, "a deleted_inodes key");
}

/* What inode_fields_check() found wrong and the repair clears. */
struct field_fixes {
	bool child_snapshot_flag, parent_subvol, subvol;
};

static void fields_fix(struct bch_inode_unpacked *u, void *ctx)
{
	const struct field_fixes *x = ctx;

	if (x->child_snapshot_flag)
		u->bi_flags &= ~(1U << BCH_INODE_has_child_snapshot);
	if (x->parent_subvol || x->subvol)
		u->bi_parent_subvol = 0;
	if (x->subvol)
		u->bi_subvol = 0;
}

/* The flags and subvolume fields of an inode, with one snapshot and one subvolume. */
static int inode_fields_check(struct bch_fsck *f, struct inode_ctx *s,
			      const struct bch_inode_unpacked *u)
{
	struct field_fixes x = { 0 };
	int ret;

	if ((u->bi_flags & (1U << BCH_INODE_has_child_snapshot)) &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_inode_has_child_snapshots_wrong,
			     "inode %llu has_child_snapshots flag wrong (should be 0)",
			     (unsigned long long)u->bi_inum))
		x.child_snapshot_flag = true;
	if (u->bi_parent_subvol && (!u->bi_subvol || u->bi_subvol == BCH_NS_ROOT_SUBVOL) &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_parent_nonzero,
			     "inode %llu has subvol %llu but nonzero parent subvol %llu",
			     (unsigned long long)u->bi_inum, (unsigned long long)u->bi_subvol,
			     (unsigned long long)u->bi_parent_subvol))
		x.parent_subvol = true;
	if (u->bi_subvol) {
		u64 root;

		ret = subvol_get(s, u->bi_subvol);
		if (ret < 0)
			return ret;
		root = ret ? le64_to_cpu(((const struct bch_subvolume *)s->key.k.v)->inode) : 0;
		if (!ret)
			x.subvol = bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_subvol_missing,
						    "inode %llu bi_subvol points to missing subvolume %llu",
						    (unsigned long long)u->bi_inum,
						    (unsigned long long)u->bi_subvol);
		else if (root != u->bi_inum)
			x.subvol = bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_subvol_wrong,
						    "inode %llu points to subvol %llu, which points to inode %llu",
						    (unsigned long long)u->bi_inum,
						    (unsigned long long)u->bi_subvol, (unsigned long long)root);
	}
	if (!x.child_snapshot_flag && !x.parent_subvol && !x.subvol)
		return 0;
	return ns_fix_inode(&s->x, u->bi_inum, fields_fix, &x);
}

static int inode_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct inode_ctx *s = p;
	struct bch_inode_unpacked u;
	bool unlinked;
	int ret = 0;

	ret = ns_key_in_missing_snapshot(f, &s->x, BTREE_ID_inodes, k, &s->buf);
	if (ret)
		return ret < 0 ? ret : 0;
	if (!bkey_is_inode(k.k) || bch_inode_unpack(k, &u))
		return 0;
	if (s->fill && (ret = ns_itab_fill(f, &u)))
		return ret;
	if (u.bi_dir || u.bi_dir_offset)
		ret = inode_dirent_check(f, s, &u);
	if (ret)
		return ret;
	ret = inode_fields_check(f, s, &u);
	if (ret)
		return ret;
	unlinked = u.bi_flags & (1U << BCH_INODE_unlinked);
	if (unlinked && u.bi_dir && !f->op_error) {
		/* fixed or not, the deleted list is not its problem */
		unlinked = false;
		if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_unlinked_but_has_dirent,
				     "inode %llu unlinked but has dirent %llu:%llu",
				     (unsigned long long)u.bi_inum, (unsigned long long)u.bi_dir,
				     (unsigned long long)u.bi_dir_offset))
			ret = ns_fix_inode(&s->x, u.bi_inum, clear_unlinked, NULL);
	}
	if (ret || !unlinked)
		return ret;
	ret = lookup(s, BTREE_ID_deleted_inodes, k.k->p);
	if (ret < 0)
		return ret;
	if ((!ret || s->key.k.k.type != KEY_TYPE_set) &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_unlinked_inode_not_on_deleted_list,
			     "inode %llu:%u unlinked, but not on deleted list",
			     (unsigned long long)u.bi_inum, k.k->p.snapshot))
		return deleted_list_add(s, k.k->p);
	return 0;
}

int bch_check_inodes(struct bch_fsck *f)
{
	struct inode_ctx s = { .x.f = f, .buf = PRINTBUF };
	int ret;

	bch_trans_init(&s.t, f->c);
	s.fill = ns_itab_fill_begin(f);
	ret = ns_walk(f, BTREE_ID_inodes, inode_key, &s);
	if (s.fill)
		ns_itab_fill_end(f, !ret && !f->op_error);
	bch_trans_exit(&s.t);
	ns_fix_end(&s.x);
	pb_exit(&s.buf);
	return ret;
}

/* ---- extents ---- */

struct extent_ctx {
	struct ns_fix x;
	struct ns_itab *tab;
	struct ns_inode *cur;
	u64 cur_inum;
	struct printbuf buf;
};

static bool extent_is_allocation(unsigned type)
{
	return type == KEY_TYPE_extent || type == KEY_TYPE_reservation ||
	       type == KEY_TYPE_reflink_p || type == KEY_TYPE_reflink_v ||
	       type == KEY_TYPE_inline_data || type == KEY_TYPE_indirect_inline_data ||
	       type == KEY_TYPE_error;
}

static void set_sectors(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_sectors = *(u64 *)ctx;
}

static int i_sectors_check(struct bch_fsck *f, struct extent_ctx *s)
{
	struct ns_inode *i = s->cur;

	if (!i || i->sectors == i->counted || (i->flags & (1U << BCH_INODE_i_sectors_dirty)))
		return 0;
	if (!bch_fsck_problem(f, BCH_FSCK_ERR_inode_i_sectors_wrong,
			      "inode %llu:%u has incorrect i_sectors: got %llu, should be %llu",
			      (unsigned long long)i->inum, BCH_NS_ROOT_SNAPSHOT,
			      (unsigned long long)i->sectors, (unsigned long long)i->counted))
		return 0;
	return ns_fix_inode(&s->x, i->inum, set_sectors, &i->counted);
}

/*
 * Keys of the snapshotted btrees belong to the root snapshot, the only one
 * (filesystems with more are refused): another snapshot field names a
 * missing snapshot, and the kernel deletes the key.
 */
int ns_key_in_missing_snapshot(struct bch_fsck *f, struct ns_fix *x, enum btree_id btree,
			       struct bkey_s_c k, struct printbuf *buf)
{
	if (k.k->p.snapshot == BCH_NS_ROOT_SNAPSHOT)
		return 0;
	key_text(buf, f, k);
	if (bch_fsck_problem(f, BCH_FSCK_ERR_bkey_in_missing_snapshot, "key in missing snapshot: %s", buf->buf))
		return ns_fix_delete(x, btree, k.k->p) ?: 1;
	return 1;
}

/* The key belongs to an existing inode of a type that may have it (key_in_missing_inode etc.). */
int ns_key_has_inode(struct bch_fsck *f, struct ns_fix *x, struct ns_itab *tab, enum btree_id btree,
		     struct bkey_s_c k, struct printbuf *buf, struct ns_inode **out)
{
	struct ns_inode *i = ns_itab_find(tab, k.k->p.inode);
	unsigned dt = i ? bch_mode_to_dtype(i->mode) : 0;
	bool ok_type = btree == BTREE_ID_extents ? dt == DT_REG || dt == DT_LNK :
		       btree == BTREE_ID_dirents ? dt == DT_DIR : true;
	enum bch_fsck_err e = !i ? BCH_FSCK_ERR_key_in_missing_inode : BCH_FSCK_ERR_key_in_wrong_inode_type;

	*out = i;
	if (i && ok_type)
		return 0;
	key_text(buf, f, k);
	*out = NULL;
	if (bch_fsck_problem(f, e, "key in %s inode:\n  %s", i ? "wrong type of" : "missing", buf->buf))
		return ns_fix_delete(x, btree, k.k->p) ?: 1;
	return 1;
}

static int extent_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct extent_ctx *s = p;
	struct ns_inode *i;
	u64 end;
	int ret;

	ret = ns_key_in_missing_snapshot(f, &s->x, BTREE_ID_extents, k, &s->buf);
	if (ret)
		return ret < 0 ? ret : 0;
	if (k.k->type == KEY_TYPE_whiteout || k.k->type == KEY_TYPE_deleted)
		return 0;
	if (k.k->p.inode != s->cur_inum) {
		ret = i_sectors_check(f, s);
		if (ret)
			return ret;
		s->cur = NULL;
		s->cur_inum = k.k->p.inode;
		ret = ns_key_has_inode(f, &s->x, s->tab, BTREE_ID_extents, k, &s->buf, &s->cur);
		if (ret)
			return ret < 0 ? ret : 0;
		s->cur->counted = 0;
	}
	i = s->cur;
	if (!i) {
		ret = ns_key_has_inode(f, &s->x, s->tab, BTREE_ID_extents, k, &s->buf, &i);
		return ret < 0 ? ret : 0;
	}
	end = (i->size + ((u64)f->c->sb.block_size << 9) - 1) / ((u64)f->c->sb.block_size << 9) *
	      f->c->sb.block_size;
	if (k.k->p.offset > end && k.k->type != KEY_TYPE_reservation) {
		key_text(&s->buf, f, k);
		if (bch_fsck_problem(f, BCH_FSCK_ERR_extent_past_end_of_inode,
				     "extent type past end of inode %llu:%u, i_size %llu\n  %s",
				     (unsigned long long)i->inum, k.k->p.snapshot,
				     (unsigned long long)i->size, s->buf.buf))
			return ns_fix_delete(&s->x, BTREE_ID_extents, k.k->p);
	}
	if (extent_is_allocation(k.k->type))
		i->counted += k.k->size;
	return 0;
}

int bch_check_extents(struct bch_fsck *f)
{
	struct extent_ctx s = { .x.f = f, .buf = PRINTBUF };
	int ret = ns_itab_get(f, &s.tab) ?:
		  ns_walk(f, BTREE_ID_extents, extent_key, &s);

	if (!ret && !f->op_error)
		ret = i_sectors_check(f, &s);
	ns_fix_end(&s.x);
	pb_exit(&s.buf);
	return ret;
}

/* ---- the root ---- */

int bch_check_root(struct bch_fsck *f)
{
	struct btree_trans t;
	union { struct bkey_i k; u64 pad[64]; } ik;
	struct bch_inode_unpacked u;
	int ret;

	bch_trans_init(&t, f->c);
	ret = bch_trans_lookup(&t, BTREE_ID_subvolumes, 0, POS(0, BCH_NS_ROOT_SUBVOL), &ik.k, 64, &f->err);
	if (ret == 0 && bch_fsck_problem(f, BCH_FSCK_ERR_root_subvol_missing, "root subvol missing"))
		bch_fsck_fix_failed(f, BCH_FSCK_ERR_root_subvol_missing);
	if (ret >= 0) {
		bch_trans_reset(&t);
		ret = bch_trans_lookup(&t, BTREE_ID_inodes, 0, SPOS(0, BCACHEFS_ROOT_INO, BCH_NS_ROOT_SNAPSHOT),
				       &ik.k, 64, &f->err);
	}
	bch_trans_exit(&t);
	if (ret < 0)
		return bch_fsck_op_error(f, ret, "looking up the root");
	if (!ret || !bkey_is_inode(&ik.k.k) || bch_inode_unpack(bkey_i_to_s_c(&ik.k), &u)) {
		if (bch_fsck_problem(f, BCH_FSCK_ERR_root_dir_missing, "root directory missing"))
			bch_fsck_fix_failed(f, BCH_FSCK_ERR_root_dir_missing);
	} else if (bch_mode_to_dtype(u.bi_mode) != DT_DIR &&
		   bch_fsck_problem(f, BCH_FSCK_ERR_root_inode_not_dir, "root inode not a directory")) {
		bch_fsck_fix_failed(f, BCH_FSCK_ERR_root_inode_not_dir);
	}
	return 0;
}

/* ---- reachability ---- */

/*
 * No backpointer, or one into a directory that does not exist (its inode
 * was lost: the kernel's fsck gives up on those, exit 8).
 */
static bool should_reattach(struct ns_itab *tab, const struct ns_inode *i)
{
	if (ns_unlinked(i) || (i->inum == BCACHEFS_ROOT_INO && i->subvol == BCH_NS_ROOT_SUBVOL))
		return false;
	return (!i->dir && !i->dir_offset) || (i->dir && !ns_itab_find(tab, i->dir));
}

static int reattach_problem(struct bch_fsck *f, struct ns_fix *x, struct ns_inode *i)
{
	if (!bch_fsck_problem(f, BCH_FSCK_ERR_inode_unreachable, "unreachable inode %llu type %u",
			      (unsigned long long)i->inum, bch_mode_to_dtype(i->mode)))
		return 0;
	return ns_fix_reattach(x, i->inum);
}

int bch_check_unreachable_inodes(struct bch_fsck *f)
{
	struct ns_fix x = { .f = f };
	struct ns_itab *tab;
	int ret = ns_itab_get(f, &tab);

	for (size_t n = 0; !ret && n < tab->nr; n++)
		if (should_reattach(tab, &tab->d[n]))
			ret = reattach_problem(f, &x, &tab->d[n]);
	ns_fix_end(&x);
	return ret;
}

/*
 * A loop is broken where the walk came back: that directory's dirent goes
 * (its parent counts one subdirectory less) and the directory is put in
 * lost+found, with everything below it.
 */
static int loop_break(struct ns_fix *x, struct ns_inode *p)
{
	struct bch_fsck *f = x->f;
	struct bch_inode_unpacked dir;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } bk;
	int ret = ns_fix_begin(x);

	if (ret)
		return ret;
	ret = bch_trans_lookup(&x->ns.t, BTREE_ID_dirents, 0, SPOS(p->dir, p->dir_offset, x->ns.snapshot),
			       &bk.k, BCH_HASH_KEY_U64s, &f->err);
	if (ret > 0 && bk.k.k.type == KEY_TYPE_dirent &&
	    bch_dirent_inum(bkey_i_to_s_c(&bk.k)) == p->inum) {
		ret = bch_ns_inode_get(&x->ns, p->dir, &dir, &f->err) ?:
		      bch_ns_dirent_delete(&x->ns, &dir, p->dir_offset, &f->err);
		if (!ret && dir.bi_nlink) {
			dir.bi_nlink--;
			ret = bch_ns_inode_write(&x->ns, &dir, &f->err);
		}
		ret = ret ?: ns_fix_commit(x, "a dirent deletion");
	}
	if (ret < 0) {
		bch_trans_reset(&x->ns.t);
		return bch_fsck_op_error(f, ret, "removing the dirent of inode %llu", (unsigned long long)p->inum);
	}
	p->dir = p->dir_offset = 0;
	return ns_fix_reattach(x, p->inum);
}

/*
 * Every directory's chain of parents (bi_dir) reaches the root; state
 * marks directories known to reach it (1) and those on the current
 * chain (2), so each directory is walked once.
 */
static int dir_path_check(struct bch_fsck *f, struct ns_fix *x, struct ns_itab *tab, struct ns_inode *d)
{
	struct ns_inode *i = d, *p, *loop = NULL;

	while (i->state != 1) {
		if (i->inum == BCACHEFS_ROOT_INO) {
			i->state = 1;
			break;
		}
		i->state = 2;
		p = i->dir ? ns_itab_find(tab, i->dir) : NULL;
		if (!p)
			break;
		if (p->state == 2) {
			loop = p;
			break;
		}
		i = p;
	}
	for (i = d; i && i->state == 2; i = i->dir ? ns_itab_find(tab, i->dir) : NULL)
		i->state = 1;
	if (loop && bch_fsck_problem(f, BCH_FSCK_ERR_dir_loop, "directory structure loop at inode %llu",
				     (unsigned long long)loop->inum))
		return loop_break(x, loop);
	return 0;
}

int bch_check_directory_structure(struct bch_fsck *f)
{
	struct ns_fix x = { .f = f };
	struct ns_itab *tab;
	int ret = ns_itab_get(f, &tab);

	for (size_t n = 0; !ret && n < tab->nr; n++) {
		struct ns_inode *i = &tab->d[n];

		if (bch_mode_to_dtype(i->mode) != DT_DIR || ns_unlinked(i) || i->state)
			continue;
		if (should_reattach(tab, i))
			ret = reattach_problem(f, &x, i);
		else
			ret = dir_path_check(f, &x, tab, i);
	}
	ns_fix_end(&x);
	return ret;
}

/* ---- link counts ---- */

static int count_link(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct ns_itab *tab = p;
	struct ns_inode *i;

	(void)f;
	if (k.k->type != KEY_TYPE_dirent || bch_dirent_type(k) == 16 ||
	    k.k->p.snapshot != BCH_NS_ROOT_SNAPSHOT)
		return 0;
	i = ns_itab_find(tab, bch_dirent_inum(k));
	if (i)
		i->count++;
	return 0;
}

static void set_nlink(struct bch_inode_unpacked *u, void *ctx)
{
	u32 nr = *(u32 *)ctx;

	if (nr) {
		u->bi_nlink = nr - 1;
		u->bi_flags &= ~(1U << BCH_INODE_unlinked);
	} else {
		u->bi_nlink = 0;
		u->bi_flags |= 1U << BCH_INODE_unlinked;
	}
}

int bch_check_nlinks(struct bch_fsck *f)
{
	struct ns_fix x = { .f = f };
	struct ns_itab *tab;
	int ret = ns_itab_get(f, &tab) ?: ns_walk(f, BTREE_ID_dirents, count_link, tab);

	for (size_t n = 0; !ret && n < tab->nr; n++) {
		struct ns_inode *i = &tab->d[n];
		u32 have = ns_unlinked(i) ? 0 : i->nlink + 1;

		if (bch_mode_to_dtype(i->mode) == DT_DIR || !i->nlink || have == i->count)
			continue;
		if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_wrong_nlink,
				     "inode %llu type %u has wrong i_nlink (%u, should be %u)",
				     (unsigned long long)i->inum, bch_mode_to_dtype(i->mode), have, i->count))
			ret = ns_fix_inode(&x, i->inum, set_nlink, &i->count);
	}
	ns_fix_end(&x);
	return ret;
}

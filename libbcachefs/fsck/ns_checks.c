/* fsck passes over inodes, extents, the root, reachability and link counts, every inode version in every snapshot. */
#include <stdlib.h>
#include <string.h>

#include "fsck/dback.h"
#include "fsck/ns_common.h"
#include "fsck/passes.h"
#include "fsck/snap_common.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/hash_table.h"
#include "fs/inode_alloc.h"
#include "keys/dirent.h"
#include "keys/extents.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/grow.h"

/* ---- inodes ---- */

/*
 * The dirents as check_inodes read them (fsck/dback.h), and what they were
 * read from: the table stands while that is unchanged.
 */
struct dback_read {
	struct bch_dback_tab tab;
	bool ok;
	const struct bch_overlay *ov;
	u64 changes;
	u64 roots_gen;
};

/* Reads the table; on any failure it stays unused (every inode is looked up). */
static void dback_load(struct bch_fsck *f, struct dback_read *r)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	r->ov = f->c->overlay;
	r->changes = bch_overlay_changes(f->c->overlay, BTREE_ID_dirents);
	r->roots_gen = f->c->roots_gen;
	bch_btree_iter_init(&it, f->c, BTREE_ID_dirents, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (k.k->type == KEY_TYPE_dirent && bch_dirent_type(k) != DT_SUBVOL &&
		    (ret = bch_dback_add(&r->tab, bch_dirent_inum(k), k.k->p)))
			break;
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	if (!ret)
		bch_dback_sort(&r->tab);
	r->ok = !ret;
}

/*
 * Whether the table shows u's backpointer good: its dirent, in u's own
 * snapshot, points to u (what the lookup would find); false: look it up.
 */
static bool dback_good(struct bch_fsck *f, struct dback_read *r, const struct bch_inode_unpacked *u)
{
	return r->ok && !u->bi_subvol && r->ov == f->c->overlay &&
	       r->changes == bch_overlay_changes(f->c->overlay, BTREE_ID_dirents) &&
	       r->roots_gen == f->c->roots_gen &&
	       bch_dback_find(&r->tab, u->bi_inum, SPOS(u->bi_dir, u->bi_dir_offset, u->bi_snapshot));
}

struct inode_ctx {
	struct ns_fix x;
	bool fill;			/* the pass fills the inode table (ns_itab_fill) */
	struct btree_trans t;		/* lookups only */
	struct printbuf buf;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } key;
	/* the versions of the current inode number met so far: lower snapshots come first */
	u64 inum;
	struct snap_ids vers;
	u64 first_seed;			/* what every version must share with the first */
	unsigned first_dtype;
	struct dback_read dback;
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

/* A dirent version's target: the child subvolume of a subvolume entry, else the inode number. */
static u64 dirent_target(struct bkey_s_c k)
{
	return bch_dirent_type(k) == DT_SUBVOL ? bch_dirent_child_subvol(k) : bch_dirent_inum(k);
}

/*
 * The dirent the inode names, as the inode's snapshot sees it (the root of
 * a subvolume is named in its parent subvolume, as that one's snapshot sees
 * it), must point back at it.
 */
static int inode_dirent_check(struct bch_fsck *f, struct inode_ctx *s,
			      const struct bch_inode_unpacked *u)
{
	struct bch_subvolume pv;
	u32 snap = u->bi_snapshot;
	enum bch_fsck_err e;
	int ret = 1;

	if (dback_good(f, &s->dback, u))
		return 0;
	if (u->bi_subvol) {
		ret = ns_subvol_get(f, u->bi_parent_subvol, &pv);
		if (ret > 0)
			snap = le32_to_cpu(pv.snapshot);
	}
	if (ret > 0)
		ret = ns_key_visible(f, BTREE_ID_dirents, u->bi_dir, u->bi_dir_offset, snap,
				     &s->key.k, BCH_HASH_KEY_U64s);
	if (ret < 0)
		return ret;
	if (!ret || s->key.k.k.type != KEY_TYPE_dirent)
		e = BCH_FSCK_ERR_inode_points_to_missing_dirent;
	else if (dirent_target(bkey_i_to_s_c(&s->key.k)) != (u->bi_subvol ? u->bi_subvol : u->bi_inum))
		e = BCH_FSCK_ERR_inode_points_to_wrong_dirent;
	else
		return 0;
	if (!bch_fsck_problem(f, e, "inode %llu%s points to %s dirent %llu:%llu",
			      (unsigned long long)u->bi_inum, ns_snap_str(u->bi_snapshot).s,
			      e == BCH_FSCK_ERR_inode_points_to_missing_dirent ? "a missing" : "a wrong",
			      (unsigned long long)u->bi_dir, (unsigned long long)u->bi_dir_offset))
		return 0;
	return ns_fix_inode(&s->x, u->bi_inum, u->bi_snapshot, clear_backpointer, NULL);
}

static int deleted_list_add(struct inode_ctx *s, struct bpos p)
{
	struct bkey_i k = { .k = { .u64s = BKEY_U64s, .type = KEY_TYPE_set, .p = p } };
	int ret = ns_fix_begin(&s->x) ?:
		  bch_trans_update(&s->x.ns.t, BTREE_ID_deleted_inodes, 0, &k, BCH_UPDATE_NO_TRIGGERS);

	return ret ?: ns_fix_commit(&s->x, "a deleted_inodes key");
}

/* What inode_fields_check() found wrong and the repair changes. */
struct field_fixes {
	bool child_snapshot_flag, child_snapshot_want, parent_subvol, subvol;
};

static void fields_fix(struct bch_inode_unpacked *u, void *ctx)
{
	const struct field_fixes *x = ctx;

	if (x->child_snapshot_flag) {
		u->bi_flags &= ~(1U << BCH_INODE_has_child_snapshot);
		u->bi_flags |= (u32)x->child_snapshot_want << BCH_INODE_has_child_snapshot;
	}
	if (x->parent_subvol || x->subvol)
		u->bi_parent_subvol = 0;
	if (x->subvol)
		u->bi_subvol = 0;
}

/* The flags and subvolume fields of an inode version. */
static int inode_fields_check(struct bch_fsck *f, struct inode_ctx *s,
			      const struct bch_inode_unpacked *u, bool *has_child)
{
	struct field_fixes x = { 0 };
	bool flag = u->bi_flags & (1U << BCH_INODE_has_child_snapshot);
	int ret;

	*has_child = snap_ids_has_below(&f->snaps, &s->vers, s->vers.nr, u->bi_snapshot);
	if (flag != *has_child &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_inode_has_child_snapshots_wrong,
			     "inode %llu%s has_child_snapshots flag wrong (should be %u)",
			     (unsigned long long)u->bi_inum, ns_snap_str(u->bi_snapshot).s, *has_child)) {
		x.child_snapshot_flag = true;
		x.child_snapshot_want = *has_child;
	}
	if (u->bi_parent_subvol && (!u->bi_subvol || u->bi_subvol == BCH_NS_ROOT_SUBVOL) &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_parent_nonzero,
			     "inode %llu%s has subvol %llu but nonzero parent subvol %llu",
			     (unsigned long long)u->bi_inum, ns_snap_str(u->bi_snapshot).s, (unsigned long long)u->bi_subvol,
			     (unsigned long long)u->bi_parent_subvol))
		x.parent_subvol = true;
	if (u->bi_subvol) {
		struct bch_subvolume sv;
		u64 root;
		u32 snap;

		ret = ns_subvol_get(f, u->bi_subvol, &sv);
		if (ret < 0)
			return ret;
		root = le64_to_cpu(sv.inode);
		snap = le32_to_cpu(sv.snapshot);
		if (!ret)
			x.subvol = bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_subvol_missing,
						    "inode %llu%s bi_subvol points to missing subvolume %llu",
						    (unsigned long long)u->bi_inum, ns_snap_str(u->bi_snapshot).s,
						    (unsigned long long)u->bi_subvol);
		else if (root != u->bi_inum)
			x.subvol = bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_subvol_wrong,
						    "inode %llu%s points to subvol %llu, which points to inode %llu",
						    (unsigned long long)u->bi_inum, ns_snap_str(u->bi_snapshot).s,
						    (unsigned long long)u->bi_subvol, (unsigned long long)root);
		else if (!bch_snapshot_is_ancestor(&f->snaps, snap, u->bi_snapshot))
			x.subvol = bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_subvol_wrong,
						    "inode %llu:%u points to subvol %llu, whose snapshot %u does not descend from the inode's",
						    (unsigned long long)u->bi_inum, u->bi_snapshot,
						    (unsigned long long)u->bi_subvol, snap);
	}
	if (!x.child_snapshot_flag && !x.parent_subvol && !x.subvol)
		return 0;
	if (x.child_snapshot_flag)
		*has_child = x.child_snapshot_want;
	return ns_fix_inode(&s->x, u->bi_inum, u->bi_snapshot, fields_fix, &x);
}

static unsigned inode_dtype(const struct bch_inode_unpacked *u)
{
	return u->bi_subvol ? DT_SUBVOL : bch_mode_to_dtype(u->bi_mode);
}

struct seed_type {
	u64 seed;
	unsigned mode_fmt;
};

static void set_seed_type(struct bch_inode_unpacked *u, void *ctx)
{
	const struct seed_type *st = ctx;

	u->bi_hash_seed = st->seed;
	u->bi_mode = (u->bi_mode & ~S_IFMT) | st->mode_fmt;
}

/*
 * Every version of an inode number shares the first one's hash seed and
 * type; each joins s->vers: 0, or an error.  Neither ever changes, so a
 * version that differs was damaged: the kernel knows no repair; here the
 * version in the higher snapshot id (older, as ids are given downwards:
 * the one the others were copied from) is taken as right, and the
 * versions met before it get its seed and type.  A subvolume root's type
 * is not guessed.
 */
static int versions_check(struct bch_fsck *f, struct inode_ctx *s, const struct bch_inode_unpacked *u)
{
	int ret = 0;

	if (u->bi_inum != s->inum) {
		s->inum = u->bi_inum;
		s->vers.nr = 0;
		s->first_seed = u->bi_hash_seed;
		s->first_dtype = inode_dtype(u);
	} else if ((u->bi_hash_seed != s->first_seed || inode_dtype(u) != s->first_dtype) &&
		   bch_fsck_problem(f, BCH_FSCK_ERR_inode_snapshot_mismatch,
				    "inode %llu:%u: hash seed or type differs from its version in snapshot %u",
				    (unsigned long long)u->bi_inum, u->bi_snapshot, s->vers.d[0])) {
		struct seed_type st = { u->bi_hash_seed, u->bi_mode & S_IFMT };

		if (s->first_dtype == DT_SUBVOL || inode_dtype(u) == DT_SUBVOL) {
			bch_fsck_fix_failed(f, BCH_FSCK_ERR_inode_snapshot_mismatch);
		} else {
			for (size_t i = 0; i < s->vers.nr && !ret; i++)
				ret = ns_fix_inode(&s->x, u->bi_inum, s->vers.d[i], set_seed_type, &st);
			s->first_seed = u->bi_hash_seed;
			s->first_dtype = inode_dtype(u);
		}
	}
	return ret ?: snap_ids_add(f, &s->vers, u->bi_snapshot);
}

/*
 * A directory flagged unlinked (and with no dirent) loses the flag, as in
 * the kernel whatever the answer: with entries the problem is reported, an
 * empty one loses it unreported; either is then reattached as unreachable.
 */
static int unlinked_dir_keep(struct bch_fsck *f, struct inode_ctx *s, const struct bch_inode_unpacked *u)
{
	int ret = ns_dir_sees_entry(f, u->bi_inum, u->bi_snapshot);

	if (ret < 0)
		return ret;
	if (ret)
		bch_fsck_problem(f, BCH_FSCK_ERR_inode_dir_unlinked_but_not_empty,
				 "directory %llu%s unlinked but not empty",
				 (unsigned long long)u->bi_inum, ns_snap_str(u->bi_snapshot).s);
	return ns_fix_inode(&s->x, u->bi_inum, u->bi_snapshot, clear_unlinked, NULL);
}

static int inode_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct inode_ctx *s = p;
	struct bch_inode_unpacked u;
	bool unlinked, has_child = false;
	int ret = 0;

	ret = ns_key_in_missing_snapshot(f, &s->x, BTREE_ID_inodes, k, &s->buf);
	if (ret)
		return ret < 0 ? ret : 0;
	if (!bkey_is_inode(k.k) || bch_inode_unpack(k, &u))
		return 0;
	if (s->fill && (ret = ns_itab_fill(f, &u)))
		return ret;
	ret = versions_check(f, s, &u);
	if (!ret && (u.bi_dir || u.bi_dir_offset))
		ret = inode_dirent_check(f, s, &u);
	if (ret)
		return ret;
	ret = inode_fields_check(f, s, &u, &has_child);
	if (ret)
		return ret;
	unlinked = u.bi_flags & (1U << BCH_INODE_unlinked);
	if (unlinked && u.bi_dir && !f->op_error) {
		/* fixed or not, the deleted list is not its problem */
		unlinked = false;
		if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_unlinked_but_has_dirent,
				     "inode %llu%s unlinked but has dirent %llu:%llu",
				     (unsigned long long)u.bi_inum, ns_snap_str(u.bi_snapshot).s, (unsigned long long)u.bi_dir,
				     (unsigned long long)u.bi_dir_offset))
			ret = ns_fix_inode(&s->x, u.bi_inum, u.bi_snapshot, clear_unlinked, NULL);
	}
	if (!ret && unlinked && S_ISDIR(u.bi_mode) && !f->op_error) {
		/* as the kernel does: kept, and check_unreachable_inodes reattaches it */
		unlinked = false;
		ret = unlinked_dir_keep(f, s, &u);
	}
	/* a version descendants still see stays until they go */
	if (ret || !unlinked || has_child)
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
	struct inode_ctx s = { .x.f = f, .buf = PRINTBUF, .inum = ~0ULL };
	int ret;

	if (!ns_snaps_get(f))
		return -BCH_ERR_nomem;
	bch_trans_init(&s.t, f->c);
	s.fill = ns_itab_fill_begin(f);
	dback_load(f, &s.dback);
	ret = ns_walk(f, BTREE_ID_inodes, inode_key, &s);
	bch_dback_exit(&s.dback.tab);
	if (s.fill)
		ns_itab_fill_end(f, !ret && !f->op_error);
	bch_trans_exit(&s.t);
	ns_fix_end(&s.x);
	pb_exit(&s.buf);
	snap_ids_exit(&s.vers);
	return ret;
}

/* ---- extents ---- */

/*
 * Where the last extent of a snapshot (of the inode being walked) ends,
 * and the snapshots whose keys sat at that end position when it was met:
 * which later snapshots it is hidden from.
 */
struct extent_end {
	u32 snapshot;
	u64 end;
	struct bch_snapshots_seen seen;
};

union extent_buf {
	struct bkey_i k;
	u64 pad[BKEY_U64s_MAX];
};

struct extent_ctx {
	struct ns_fix x;
	struct ns_itab *tab;
	struct ns_walker w;
	struct bch_snapshots_seen seen;
	struct printbuf buf;
	struct extent_end *ends;	/* ascending snapshot */
	size_t nr_ends, ends_size;
	size_t ends_made;		/* slots whose seen list is set up (kept past nr_ends for reuse) */
	bool recount;			/* a repair across snapshots: i_sectors recounted from the btree */
	struct snap_ids below;		/* snapshot whiteouts: the descendants met at a position */
	union extent_buf key, cur, old, piece;
};

static bool extent_is_allocation(unsigned type)
{
	return type == KEY_TYPE_extent || type == KEY_TYPE_reservation ||
	       type == KEY_TYPE_reflink_p || type == KEY_TYPE_reflink_v ||
	       type == KEY_TYPE_inline_data || type == KEY_TYPE_indirect_inline_data ||
	       type == KEY_TYPE_error;
}

/* The sectors snapshot snap of inode inum sees, counted from the btree: 0, or an error. */
static int extent_sectors_count(struct bch_fsck *f, u64 inum, u32 snap, u64 *sectors)
{
	struct btree_iter it;
	struct bkey_s_c k;
	u64 done = 0;		/* the offset whose visible key was met (offsets start at 1) */
	int ret;

	*sectors = 0;
	bch_btree_iter_init(&it, f->c, BTREE_ID_extents, SPOS(inum, 0, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == inum) {
		/* at one position, the nearest of snap's line has the lowest id */
		if (k.k->p.offset != done && bch_snapshot_is_ancestor(&f->snaps, snap, k.k->p.snapshot)) {
			done = k.k->p.offset;
			if (extent_is_allocation(k.k->type))
				*sectors += k.k->size;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		bch_fsck_op_error(f, ret, "counting the sectors of inode %llu: %s", (unsigned long long)inum,
				  it.err.buf ?: "");
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

static void set_sectors(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_sectors = *(u64 *)ctx;
}

static int i_sectors_check(struct bch_fsck *f, struct extent_ctx *s)
{
	int ret = 0;

	for (size_t n = 0; n < s->w.nr && !ret; n++) {
		struct ns_walker_entry *e = &s->w.e[n];
		struct ns_inode *i = e->v;

		if (i->sectors == e->counted || (i->flags & (1U << BCH_INODE_i_sectors_dirty)))
			continue;
		/*
		 * after a repair across snapshots the walk's count is not the
		 * truth (the pieces cut behind it went uncounted): the kernel
		 * counts again, and reports even when the count now agrees
		 */
		if (s->recount && (ret = extent_sectors_count(f, i->inum, e->snapshot, &e->counted)))
			break;
		if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_i_sectors_wrong,
				     "inode %llu:%u has incorrect i_sectors: got %llu, should be %llu",
				     (unsigned long long)i->inum, e->snapshot,
				     (unsigned long long)i->sectors, (unsigned long long)e->counted))
			ret = ns_fix_entry(&s->x, e, set_sectors, &e->counted);
	}
	return ret;
}

/* Keys whose snapshot is not in the snapshots table are deleted, as the kernel does. */
int ns_key_in_missing_snapshot(struct bch_fsck *f, struct ns_fix *x, enum btree_id btree,
			       struct bkey_s_c k, struct printbuf *buf)
{
	if (!ns_snaps_get(f))
		return -BCH_ERR_nomem;
	if (ns_snapshot_exists(f, k.k->p.snapshot))
		return 0;
	ns_key_text(buf, f, k);
	if (bch_fsck_problem(f, BCH_FSCK_ERR_bkey_in_missing_snapshot, "key in missing snapshot: %s", buf->buf))
		return ns_fix_delete(x, btree, k.k->p) ?: 1;
	return 1;
}

/* The key belongs to an existing inode of a type that may have it (key_in_missing_inode etc.). */
int ns_key_owner(struct bch_fsck *f, struct ns_fix *x, struct ns_walker *w, enum btree_id btree,
		 struct bkey_s_c k, bool add, struct printbuf *buf, struct ns_walker_entry **e)
{
	const struct ns_inode *i;
	unsigned dt;
	enum bch_fsck_err err;
	int ret;

	*e = NULL;
	if (k.k->type == KEY_TYPE_whiteout || k.k->type == KEY_TYPE_deleted)
		return 1;
	ret = ns_walker_find(f, w, k.k->p.snapshot, add, e);
	if (ret)
		return ret;
	i = *e ? (*e)->v : NULL;
	dt = i ? bch_mode_to_dtype(i->mode) : 0;
	if (i && (btree == BTREE_ID_extents ? dt == DT_REG || dt == DT_LNK :
		  btree == BTREE_ID_dirents ? dt == DT_DIR : true))
		return 0;
	err = !i ? BCH_FSCK_ERR_key_in_missing_inode : BCH_FSCK_ERR_key_in_wrong_inode_type;
	ns_key_text(buf, f, k);
	if (bch_fsck_problem(f, err, "key in %s inode:\n  %s", i ? "wrong type of" : "missing", buf->buf))
		return ns_fix_delete(x, btree, k.k->p) ?: 1;
	return 1;
}

/* The end of the last block i_size reaches, in sectors. */
static u64 size_end(struct bch_fsck *f, const struct ns_inode *i)
{
	u64 bs = (u64)f->c->sb.block_size << 9;

	return (i->size + bs - 1) / bs * f->c->sb.block_size;
}

/* A whiteout over extent k in snapshot snap (a descendant of k's). */
static int extent_hide(struct extent_ctx *s, struct bkey_s_c k, u32 snap)
{
	struct bkey_i w = { .k = *k.k };

	w.k.u64s = BKEY_U64s;
	w.k.size = 0;		/* a snapshot whiteout hides the key at its position, the extent's end */
	w.k.type = KEY_TYPE_whiteout;
	w.k.p.snapshot = snap;
	return ns_fix_put(&s->x, BTREE_ID_extents, &w);
}

/*
 * Extent k goes; where an ancestor has a key at its position, which the
 * deletion would bring back, a whiteout takes its place.
 */
static int extent_drop(struct extent_ctx *s, struct bkey_s_c k)
{
	const struct bch_snapshot_node *n = bch_snapshot_get(&s->x.f->snaps, k.k->p.snapshot);
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } *a;
	int ret = 0;

	if (n && n->parent) {
		a = malloc(sizeof(*a));
		if (!a)
			return bch_fsck_op_error(s->x.f, -BCH_ERR_nomem, "an extent lookup");
		ret = ns_key_visible(s->x.f, BTREE_ID_extents, k.k->p.inode, k.k->p.offset, n->parent,
				     &a->k, BKEY_U64s_MAX);
		if (ret > 0)
			ret = a->k.k.type != KEY_TYPE_whiteout && a->k.k.type != KEY_TYPE_deleted;
		free(a);
	}
	if (ret < 0)
		return ret;
	return ret ? extent_hide(s, k, k.k->p.snapshot) : ns_fix_delete(&s->x, BTREE_ID_extents, k.k->p);
}

/*
 * Checksummed or compressed data longer than the filesystem's
 * encoded_extent_max cannot have been written by a correct kernel: only
 * reported (as the kernel's fsck does), the key is readable as it is.
 */
static void extent_overbig(struct bch_fsck *f, struct bkey_s_c k, struct printbuf *buf)
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;

	bch_ptr_iter_init(&it, k);
	while (bch_ptr_iter_next(&it, &p))
		if (bch_crc_is_encoded(&p.crc) && p.crc.uncompressed_size > f->c->sb.encoded_extent_max) {
			ns_key_text(buf, f, k);
			bch_fsck_info(f, "overbig encoded extent, please report this:\n  %s", pb_cstr(buf));
			return;
		}
}

/*
 * The entry of snapshot snap, added (ending at 0, nothing seen) in
 * snapshot order when it has none; NULL without memory.  Adding moves
 * the entries after it.
 */
static struct extent_end *extent_end_get(struct extent_ctx *s, u32 snap)
{
	struct extent_end n;
	size_t i = 0;

	while (i < s->nr_ends && s->ends[i].snapshot < snap)
		i++;
	if (i < s->nr_ends && s->ends[i].snapshot == snap)
		return &s->ends[i];
	if (bch_grow(&s->ends, &s->ends_size, s->nr_ends, 8))
		return NULL;
	if (s->nr_ends == s->ends_made)
		memset(&s->ends[s->ends_made++], 0, sizeof(n));
	n = s->ends[s->nr_ends];	/* a spare slot: its list's memory goes to the new entry */
	memmove(&s->ends[i + 1], &s->ends[i], (s->nr_ends - i) * sizeof(n));
	n.snapshot = snap;
	n.end = 0;
	n.seen.nr = 0;
	s->ends[i] = n;
	s->nr_ends++;
	return &s->ends[i];
}

static int seen_copy(struct bch_snapshots_seen *d, const struct bch_snapshots_seen *from)
{
	if (d->size < from->nr) {
		u32 *p = realloc(d->ids, from->nr * sizeof(*p));

		if (!p)
			return -BCH_ERR_nomem;
		d->ids = p;
		d->size = from->nr;
	}
	memcpy(d->ids, from->ids, from->nr * sizeof(*d->ids));
	d->nr = from->nr;
	d->pos = from->pos;
	return 0;
}

/* id joins the (ascending) list, once. */
static int seen_insert(struct bch_snapshots_seen *d, u32 id)
{
	size_t i = 0;

	while (i < d->nr && d->ids[i] < id)
		i++;
	if (i < d->nr && d->ids[i] == id)
		return 0;
	if (bch_grow(&d->ids, &d->size, d->nr, 8))
		return -BCH_ERR_nomem;
	memmove(&d->ids[i + 1], &d->ids[i], (d->nr - i) * sizeof(*d->ids));
	d->ids[i] = id;
	d->nr++;
	return 0;
}

/*
 * Whether the extent ending at end and extent k (seen: the snapshots met
 * at k's position) are both visible in some snapshot: the one of the
 * higher snapshot id (the ancestor, when they are related) is not hidden
 * from the other's snapshot at its own position.
 */
static bool extent_ends_meet(struct bch_fsck *f, struct extent_ctx *s, struct bkey_s_c k,
			     const struct extent_end *end)
{
	u32 snap = k.k->p.snapshot;

	return end->snapshot > snap ? bch_snapshot_key_visible(&f->snaps, &end->seen, snap, end->snapshot) :
				      bch_snapshot_key_visible(&f->snaps, &s->seen, end->snapshot, snap);
}

static void sectors_sub(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_sectors -= *(u64 *)ctx;
}

/*
 * The extent ending at end (read into s->key) and k2 overlap: reported,
 * saying which of them the repair overwrites.  1 to repair, 0 not (or
 * the first is not where end says), or an error.
 */
static int overlap_report(struct bch_fsck *f, struct extent_ctx *s, struct bkey_s_c k2,
			  const struct extent_end *end, const char *which)
{
	struct bkey_i *k1 = &s->key.k;
	struct bpos p1 = SPOS(k2.k->p.inode, end->end, end->snapshot);
	int ret = ns_key_visible(f, BTREE_ID_extents, p1.inode, p1.offset, p1.snapshot, k1, BKEY_U64s_MAX);

	if (ret <= 0 || !bpos_eq(k1->k.p, p1) || k1->k.size > p1.offset)
		return ret < 0 ? ret : 0;
	pb_reset(&s->buf);
	pb_str(&s->buf, "\n  ");
	bch_bkey_val_to_text(&s->buf, f->c, bkey_i_to_s_c(k1));
	pb_str(&s->buf, "\n  ");
	bch_bkey_val_to_text(&s->buf, f->c, k2);
	return bch_fsck_problem(f, BCH_FSCK_ERR_extent_overlapping, "overlapping extents%s\n  overwriting %s extent",
				s->buf.buf, which);
}

/*
 * Two extents of one snapshot overlap: as the kernel does, the first
 * (ending first, at *end) gives way: it ends where the second starts, or
 * goes when the second starts at or before it.  The sectors it gave up
 * leave i_sectors of the versions that saw it (the kernel's repair leaves
 * them counted, and its next run finds i_sectors wrong).
 */
static int extents_overlap(struct bch_fsck *f, struct extent_ctx *s, struct bkey_s_c k2, struct extent_end *end)
{
	struct bpos p1 = SPOS(k2.k->p.inode, end->end, k2.k->p.snapshot);
	u64 start2 = k2.k->p.offset - k2.k->size, start1, gone;
	struct bkey_i *k1 = &s->key.k;
	int ret;

	ret = overlap_report(f, s, k2, end, "first");
	if (ret <= 0)
		return ret;
	start1 = p1.offset - k1->k.size;
	gone = p1.offset - (start1 > start2 ? start1 : start2);
	ret = ns_fix_at(&s->x, p1.snapshot) ?:
	      bch_trans_delete(&s->x.ns.t, BTREE_ID_extents, 0, p1, 0);
	if (!ret && start1 < start2) {
		bch_extent_cut_back(k1, start2);
		ret = bch_trans_update(&s->x.ns.t, BTREE_ID_extents, 0, k1, BCH_UPDATE_NO_EXTENT_OVERWRITE);
	}
	if (ret) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(f, ret, "trimming an overlapping extent");
	}
	ret = ns_fix_commit(&s->x, "a trimmed extent");
	if (ret)
		return ret;
	end->end = start2;
	if (!extent_is_allocation(k1->k.type))
		return 0;
	for (size_t n = 0; n < s->w.nr && !ret; n++) {
		struct ns_walker_entry *e = &s->w.e[n];

		if (!ns_walker_sees(f, &s->seen, e, p1.snapshot) || e->v->sectors < gone || e->counted < gone)
			continue;
		e->v->sectors -= gone;
		e->counted -= gone;
		ret = ns_fix_entry(&s->x, e, sectors_sub, &gone);
	}
	return ret;
}

/* A whiteout (size 0: it hides the key of an ancestor at its position) at p. */
static void whiteout_at(struct bkey_i *w, struct bpos p)
{
	memset(w, 0, sizeof(*w));
	w->k.u64s = BKEY_U64s;
	w->k.format_whiteout = KEY_FORMAT_CURRENT;
	w->k.type = KEY_TYPE_whiteout;
	w->k.p = p;
}

static void key_set(struct bkey_i *d, struct bkey_s_c k)
{
	d->k = *k.k;
	memcpy(d->v, k.v, bkey_val_bytes(k.k));
}

/*
 * A piece of extent `old` moves from old's position to piece's: the
 * descendants of old's snapshot that hid it with a key at its position
 * (the nearest of each line) get a whiteout at the piece's position where
 * they have no key, so that it stays hidden from them.
 */
static int extent_piece_hide(struct extent_ctx *s, struct bpos old, struct bpos piece)
{
	struct bch_fsck *f = s->x.f;
	struct btree_trans *t = &s->x.ns.t;
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	s->below.nr = 0;
	bch_btree_iter_init(&it, f->c, BTREE_ID_extents, SPOS(old.inode, old.offset, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == old.inode &&
	       k.k->p.offset == old.offset && k.k->p.snapshot < old.snapshot) {
		if (bch_snapshot_is_ancestor(&f->snaps, k.k->p.snapshot, old.snapshot) &&
		    (ret = snap_ids_add(f, &s->below, k.k->p.snapshot)))
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		bch_fsck_op_error(f, ret, "reading extents at %llu:%llu: %s", (unsigned long long)old.inode,
				  (unsigned long long)old.offset, it.err.buf ?: "");
	bch_btree_iter_exit(&it);
	if (ret < 0)
		return ret;
	/* the nearest descendants first; those below one already done need nothing */
	for (size_t i = s->below.nr; i-- > 0;) {
		u32 id = s->below.d[i];
		struct bkey_i w;
		bool covered = false;

		for (size_t j = i + 1; j < s->below.nr && !covered; j++)
			covered = s->below.d[j] != 0 && bch_snapshot_is_ancestor(&f->snaps, id, s->below.d[j]);
		if (covered) {
			s->below.d[i] = 0;
			continue;
		}
		ret = bch_trans_lookup(t, BTREE_ID_extents, 0, SPOS(piece.inode, piece.offset, id),
				       &s->key.k, BKEY_U64s_MAX, &f->err);
		if (ret < 0)
			return ret;
		if (ret)
			continue;
		whiteout_at(&w, SPOS(piece.inode, piece.offset, id));
		ret = bch_trans_update(t, BTREE_ID_extents, 0, &w, BCH_UPDATE_NO_EXTENT_OVERWRITE);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The kernel's overwrite of extent old (a copy, in s->old) by extent nw
 * of another snapshot, queued: old stays whole in its own snapshot, cut
 * at nw's start and end (the part before nw, the part under it, the part
 * after it: the last keeps old's position); nw's snapshot gets a whiteout
 * at old's position when old ends within nw.
 */
static int extent_overwrite_snap(struct extent_ctx *s, const struct bkey *nw)
{
	struct btree_trans *t = &s->x.ns.t;
	struct bkey_i *old = &s->old.k, *piece = &s->piece.k;
	u64 os = old->k.p.offset - old->k.size, oe = old->k.p.offset;
	u64 ns = nw->p.offset - nw->size, ne = nw->p.offset;
	bool front = os < ns, back = oe > ne;
	int ret;

	if (front) {
		key_set(piece, bkey_i_to_s_c(old));
		bch_extent_cut_back(piece, ns);
		ret = extent_piece_hide(s, old->k.p, piece->k.p) ?:
		      bch_trans_update(t, BTREE_ID_extents, 0, piece, BCH_UPDATE_NO_EXTENT_OVERWRITE);
		if (ret)
			return ret;
	}
	if (front || back) {
		key_set(piece, bkey_i_to_s_c(old));
		if (front)
			bch_extent_cut_front(piece, ns);
		if (back)
			bch_extent_cut_back(piece, ne);
		ret = extent_piece_hide(s, old->k.p, piece->k.p) ?:
		      bch_trans_update(t, BTREE_ID_extents, 0, piece, BCH_UPDATE_NO_EXTENT_OVERWRITE);
		if (ret)
			return ret;
	}
	if (oe <= ne) {
		struct bkey_i w;

		whiteout_at(&w, SPOS(old->k.p.inode, oe, nw->p.snapshot));
		ret = bch_trans_update(t, BTREE_ID_extents, 0, &w, BCH_UPDATE_NO_EXTENT_OVERWRITE);
		if (ret)
			return ret;
	}
	if (back) {
		key_set(piece, bkey_i_to_s_c(old));
		bch_extent_cut_front(piece, ne);
		ret = bch_trans_update(t, BTREE_ID_extents, 0, piece, BCH_UPDATE_NO_EXTENT_OVERWRITE);
	}
	return ret;
}

/*
 * Extents of two snapshots overlap where both are visible (one snapshot
 * descends from the other and the ancestor's extent is not hidden from
 * it): as the kernel does, the extent of the lower snapshot id (the
 * descendant) wins, the other is cut around it (extent_overwrite_snap).
 * When that is k2, the current key, its last part takes its place and
 * *again asks for it to be checked anew.
 */
static int extents_overlap_snap(struct bch_fsck *f, struct extent_ctx *s, struct bkey_s_c k2,
				struct extent_end *end, bool *again)
{
	bool first = end->snapshot > k2.k->p.snapshot;
	struct bkey_i *k1 = &s->key.k;
	struct bkey nw;
	int ret;

	ret = overlap_report(f, s, k2, end, first ? "first" : "second");
	if (ret <= 0)
		return ret;
	if (first) {
		key_set(&s->old.k, bkey_i_to_s_c(k1));
		nw = *k2.k;
	} else {
		key_set(&s->old.k, k2);
		nw = k1->k;
	}
	ret = ns_fix_at(&s->x, s->old.k.k.p.snapshot);
	if (ret)
		return ret;
	ret = extent_overwrite_snap(s, &nw);
	if (ret) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(f, ret, "cutting an overlapping extent");
	}
	ret = ns_fix_commit(&s->x, "a cut extent");
	if (ret)
		return ret;
	s->recount = true;
	if (first)
		/* the first is hidden from k2's snapshot at its position now */
		return seen_insert(&end->seen, k2.k->p.snapshot) ?
		       bch_fsck_op_error(f, -BCH_ERR_nomem, "snapshots seen") : 0;
	*again = true;
	return 0;
}

static int extent_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct extent_ctx *s = p;
	struct ns_walker_entry *e;
	u32 snap = k.k->p.snapshot;
	bool alloc;
	int ret;

	ret = ns_key_in_missing_snapshot(f, &s->x, BTREE_ID_extents, k, &s->buf);
	if (ret)
		return ret < 0 ? ret : 0;
	if (bch_snapshots_seen_add(&s->seen, k.k->p))
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "snapshots seen");
	if (k.k->p.inode != s->w.inum) {
		s->nr_ends = 0;
		ret = i_sectors_check(f, s) ?:
		      ns_walker_load(f, &s->w, s->tab, k.k->p.inode);
		s->recount = false;
		if (ret)
			return ret;
	}
	extent_overbig(f, k, &s->buf);
	ret = ns_key_owner(f, &s->x, &s->w, BTREE_ID_extents, k, true, &s->buf, &e);
	if (ret < 0)
		return ret;
	if (ret) {
		/*
		 * Deleted as in an inode of the wrong type: the kernel still
		 * measures it against that inode's size, one problem more
		 * (the same deletion repairs both)
		 */
		if (e && k.k->type != KEY_TYPE_whiteout && k.k->type != KEY_TYPE_reservation &&
		    k.k->p.offset > size_end(f, e->v)) {
			ns_key_text(&s->buf, f, k);
			bch_fsck_problem(f, BCH_FSCK_ERR_extent_past_end_of_inode,
					 "extent type past end of inode %llu:%u, i_size %llu\n  %s",
					 (unsigned long long)e->v->inum, e->snapshot,
					 (unsigned long long)e->v->size, s->buf.buf);
		}
		return 0;
	}
	if (k.k->type != KEY_TYPE_whiteout) {
		struct extent_end *end;
again:
		for (size_t n = 0; n < s->nr_ends; n++) {
			bool redo = false;

			end = &s->ends[n];
			if (end->end <= k.k->p.offset - k.k->size || !extent_ends_meet(f, s, k, end))
				continue;
			ret = end->snapshot == snap ? extents_overlap(f, s, k, end) :
						      extents_overlap_snap(f, s, k, end, &redo);
			if (ret)
				return ret;
			if (redo) {
				/* k was cut: what is left at its position is checked anew */
				ret = ns_key_visible(f, BTREE_ID_extents, k.k->p.inode, k.k->p.offset, snap,
						     &s->cur.k, BKEY_U64s_MAX);
				if (ret < 0)
					return ret;
				if (!ret || !bpos_eq(s->cur.k.k.p, k.k->p) || s->cur.k.k.type == KEY_TYPE_whiteout)
					return 0;
				k = bkey_i_to_s_c(&s->cur.k);
				goto again;
			}
		}
		end = extent_end_get(s, snap);
		if (!end || seen_copy(&end->seen, &s->seen))
			return bch_fsck_op_error(f, -BCH_ERR_nomem, "extent ends");
		end->end = k.k->p.offset;
	}
	/* every version that sees the extent: within its size, and it counts the sectors */
	for (size_t n = 0; n < s->w.nr; n++) {
		struct ns_walker_entry *x = &s->w.e[n];

		if (x->hidden || k.k->type == KEY_TYPE_reservation ||
		    k.k->p.offset <= size_end(f, x->v) || !ns_walker_sees(f, &s->seen, x, snap))
			continue;
		ns_key_text(&s->buf, f, k);
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_extent_past_end_of_inode,
				      "extent type past end of inode %llu:%u, i_size %llu\n  %s",
				      (unsigned long long)x->v->inum, x->snapshot,
				      (unsigned long long)x->v->size, s->buf.buf))
			continue;
		if (x->snapshot == snap) {
			/* the key is gone for every version */
			for (size_t m = 0; m < s->w.nr; m++)
				s->w.e[m].hidden = false;
			return extent_drop(s, k);
		}
		/* an ancestor's extent: hidden from this version and those below it by a whiteout */
		ret = extent_hide(s, k, x->snapshot);
		if (ret)
			return ret;
		for (size_t m = 0; m < s->w.nr; m++)
			if (bch_snapshot_is_ancestor(&f->snaps, s->w.e[m].snapshot, x->snapshot))
				s->w.e[m].hidden = true;
	}
	/* hidden is per key: cleared for the next as the sectors are counted */
	alloc = extent_is_allocation(k.k->type);
	for (size_t n = 0; n < s->w.nr; n++) {
		struct ns_walker_entry *x = &s->w.e[n];

		if (alloc && !x->hidden && ns_walker_sees(f, &s->seen, x, snap))
			x->counted += k.k->size;
		x->hidden = false;
	}
	return 0;
}

int bch_check_extents(struct bch_fsck *f)
{
	struct extent_ctx s = { .x.f = f, .buf = PRINTBUF, .w.inum = ~0ULL };
	int ret = bch_reconstruct_inodes(f) ?:
		  ns_itab_get(f, &s.tab) ?:
		  ns_walk(f, BTREE_ID_extents, extent_key, &s);

	if (!ret && !f->op_error)
		ret = i_sectors_check(f, &s);
	ns_fix_end(&s.x);
	ns_walker_exit(&s.w);
	bch_snapshots_seen_exit(&s.seen);
	pb_exit(&s.buf);
	for (size_t i = 0; i < s.ends_made; i++)
		bch_snapshots_seen_exit(&s.ends[i].seen);
	free(s.ends);
	snap_ids_exit(&s.below);
	return ret;
}

/* ---- indirect extents: the reflink btree has no inode or snapshot to check against ---- */

static int indirect_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	extent_overbig(f, k, p);
	return 0;
}

int bch_check_indirect_extents(struct bch_fsck *f)
{
	struct printbuf buf = PRINTBUF;
	int ret = ns_walk(f, BTREE_ID_reflink, indirect_key, &buf);

	pb_exit(&buf);
	return ret;
}

/* ---- the root ---- */

int bch_check_root(struct bch_fsck *f)
{
	struct bch_subvolume sv;
	struct bch_inode_unpacked u;
	u32 snap = BCH_NS_ROOT_SNAPSHOT;
	int ret = ns_subvol_get(f, BCH_NS_ROOT_SUBVOL, &sv);

	if (ret < 0)
		return ret;
	if (!ret && bch_fsck_problem(f, BCH_FSCK_ERR_root_subvol_missing, "root subvol missing"))
		bch_fsck_fix_failed(f, BCH_FSCK_ERR_root_subvol_missing);
	if (ret)
		snap = le32_to_cpu(sv.snapshot);
	ret = snap_inode_get(f, BCACHEFS_ROOT_INO, snap, &u);
	if (ret < 0)
		return ret;
	if (!ret) {
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
 * No backpointer, or one into a directory that the version's snapshot
 * does not have (its inode was lost: the kernel's fsck gives up on those,
 * exit 8). The root of a subvolume is named in its parent subvolume:
 * only a missing backpointer counts there.
 */
static bool should_reattach(struct bch_fsck *f, struct ns_itab *tab, const struct ns_inode *i)
{
	if (ns_unlinked(i) || (i->inum == BCACHEFS_ROOT_INO && i->subvol == BCH_NS_ROOT_SUBVOL))
		return false;
	if (!i->dir && !i->dir_offset)
		return true;
	return i->dir && !i->subvol && !ns_itab_find_snap(&f->snaps, tab, i->dir, i->snapshot);
}

static void set_dirent(struct bch_inode_unpacked *u, void *ctx)
{
	const u64 *d = ctx;

	u->bi_dir = d[0];
	u->bi_dir_offset = d[1];
}


/*
 * After version i was put into lost+found: the versions of snapshots
 * below it see the new name too. Those unreachable as well take it (their
 * backpointer names it); from the others, and all below them, it is
 * hidden by a whiteout in their snapshot.
 */
static int reattach_descendants(struct bch_fsck *f, struct ns_fix *x, struct ns_itab *tab,
				const struct ns_inode *i, u64 *d)
{
	size_t nr, nr_hidden = 0;
	struct ns_inode *v = ns_itab_versions(tab, i->inum, &nr);
	u32 *hidden = nr ? calloc(nr, sizeof(*hidden)) : NULL;
	int ret = 0;

	if (nr && !hidden)
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "reattaching inode versions");
	for (size_t n = nr; n-- && !ret;) {
		struct ns_inode *c = &v[n];
		bool under = false;

		if (c->snapshot >= i->snapshot || !bch_snapshot_is_ancestor(&f->snaps, c->snapshot, i->snapshot))
			continue;
		for (size_t h = 0; h < nr_hidden; h++)
			under |= bch_snapshot_is_ancestor(&f->snaps, c->snapshot, hidden[h]);
		if (under)
			continue;
		if (should_reattach(f, tab, c)) {
			c->dir = d[0];
			c->dir_offset = d[1];
			ret = ns_fix_inode(x, c->inum, c->snapshot, set_dirent, d);
		} else {
			struct bkey_i w = { .k = { .u64s = BKEY_U64s, .type = KEY_TYPE_whiteout,
						   .p = SPOS(d[0], d[1], c->snapshot) } };

			hidden[nr_hidden++] = c->snapshot;
			ret = ns_fix_put(x, BTREE_ID_dirents, &w);
		}
	}
	free(hidden);
	return ret;
}

/*
 * After the root of subvolume i->subvol was put into lost+found (a name in
 * the parent subvolume, naming the subvolume): the versions below it of
 * that subvolume's root that are unreachable too take the backpointer,
 * the one in the subvolume's own snapshot among them, which the name leads
 * to (the kernel's next check_dirents would find it missing).
 */
static int reattach_subvol_versions(struct bch_fsck *f, struct ns_fix *x, struct ns_itab *tab,
				    const struct ns_inode *i, u64 *d)
{
	size_t nr;
	struct ns_inode *v = ns_itab_versions(tab, i->inum, &nr);
	int ret = 0;

	for (size_t n = 0; n < nr && !ret; n++) {
		struct ns_inode *c = &v[n];

		if (c->snapshot >= i->snapshot || c->subvol != i->subvol ||
		    !bch_snapshot_is_ancestor(&f->snaps, c->snapshot, i->snapshot) || !should_reattach(f, tab, c))
			continue;
		c->dir = d[0];
		c->dir_offset = d[1];
		ret = ns_fix_inode(x, c->inum, c->snapshot, set_dirent, d);
	}
	return ret;
}

static int reattach(struct bch_fsck *f, struct ns_fix *x, struct ns_itab *tab, struct ns_inode *i)
{
	u64 d[2];
	int ret = ns_fix_reattach(x, i->inum, i->snapshot, &d[0], &d[1]);
	if (ret)
		return ret;
	i->dir = d[0];
	i->dir_offset = d[1];
	return i->subvol ? reattach_subvol_versions(f, x, tab, i, d) : reattach_descendants(f, x, tab, i, d);
}

/*
 * A version whose nearest ancestor version is unreachable too is put back
 * with it (the kernel reattaches the oldest one).
 */
static bool ancestor_reattached(struct bch_fsck *f, struct ns_itab *tab, const struct ns_inode *i)
{
	size_t nr;
	struct ns_inode *v = ns_itab_versions(tab, i->inum, &nr);

	for (size_t n = 0; n < nr; n++)
		if (v[n].snapshot > i->snapshot && bch_snapshot_is_ancestor(&f->snaps, i->snapshot, v[n].snapshot))
			return should_reattach(f, tab, &v[n]);
	return false;
}

/*
 * An inode version that should be reattached: reported and put into
 * lost+found, unless an ancestor version goes back with it.
 */
static int reattach_problem(struct bch_fsck *f, struct ns_fix *x, struct ns_itab *tab, struct ns_inode *i)
{
	if (ancestor_reattached(f, tab, i) ||
	    !bch_fsck_problem(f, BCH_FSCK_ERR_inode_unreachable, "unreachable inode %llu%s type %u",
			      (unsigned long long)i->inum, ns_snap_str(i->snapshot).s, bch_mode_to_dtype(i->mode)))
		return 0;
	return reattach(f, x, tab, i);
}

int bch_check_unreachable_inodes(struct bch_fsck *f)
{
	struct ns_fix x = { .f = f };
	struct ns_itab *tab;
	int ret = ns_itab_get(f, &tab);

	for (size_t n = 0; !ret && n < tab->nr; n++)
		if (should_reattach(f, tab, &tab->d[n]))
			ret = reattach_problem(f, &x, tab, &tab->d[n]);
	ns_fix_end(&x);
	return ret;
}

/* The directory version p's parent, as p's snapshot sees it. */
static struct ns_inode *dir_parent(struct bch_fsck *f, struct ns_itab *tab, const struct ns_inode *p)
{
	return p->dir ? ns_itab_find_snap(&f->snaps, tab, p->dir, p->snapshot) : NULL;
}

/*
 * A loop is broken where the walk came back: that directory's dirent goes
 * (its parent counts one subdirectory less) and the directory is put in
 * lost+found, with everything below it.
 */
static int loop_break(struct ns_fix *x, struct ns_itab *tab, struct ns_inode *p)
{
	struct bch_fsck *f = x->f;
	struct bch_inode_unpacked dir;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } bk;
	int ret = ns_fix_at(x, p->snapshot);

	if (ret)
		return ret;
	ret = bch_ns_key_get(&x->ns, BTREE_ID_dirents, p->dir, p->dir_offset, &bk.k, BCH_HASH_KEY_U64s,
			     &f->err);
	if (ret > 0 && bk.k.k.type == KEY_TYPE_dirent && bk.k.k.p.snapshot == p->snapshot &&
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
		return bch_fsck_op_error(f, ret, "removing the dirent of inode %llu:%u",
					 (unsigned long long)p->inum, p->snapshot);
	}
	p->dir = p->dir_offset = 0;
	return reattach(f, x, tab, p);
}

/*
 * Every directory version's chain of parents (bi_dir, as each one's
 * snapshot sees it) reaches a subvolume's root; state marks versions known
 * to reach one (1) and those on the current chain (2), so each is walked
 * once. Loops of subvolumes are the subvolume structure pass's.
 */
static int dir_path_check(struct bch_fsck *f, struct ns_fix *x, struct ns_itab *tab, struct ns_inode *d)
{
	struct ns_inode *i = d, *p, *loop = NULL;

	while (i->state != 1) {
		if (i->subvol) {
			i->state = 1;
			break;
		}
		i->state = 2;
		p = dir_parent(f, tab, i);
		if (!p)
			break;
		if (p->state == 2) {
			loop = p;
			break;
		}
		i = p;
	}
	for (i = d; i && i->state == 2; i = dir_parent(f, tab, i))
		i->state = 1;
	if (loop && bch_fsck_problem(f, BCH_FSCK_ERR_dir_loop, "directory structure loop at inode %llu%s",
				     (unsigned long long)loop->inum, ns_snap_str(loop->snapshot).s))
		return loop_break(x, tab, loop);
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
		ret = should_reattach(f, tab, i) ? reattach_problem(f, &x, tab, i) :
						   dir_path_check(f, &x, tab, i);
	}
	ns_fix_end(&x);
	return ret;
}

/* ---- link counts ---- */

struct nlink_ctx {
	struct ns_itab *tab;
	struct bch_snapshots_seen seen;
};

/*
 * A name of snapshot S counts for every version of its inode that sees it:
 * descendants' it is not hidden from, and the nearest of S or its ancestors.
 */
static int count_link(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct nlink_ctx *c = p;
	u32 snap = k.k->p.snapshot;
	size_t nr;
	struct ns_inode *v;

	if (!ns_snapshot_exists(f, snap))
		return 0;
	if (bch_snapshots_seen_add(&c->seen, k.k->p))
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "snapshots seen");
	if (k.k->type != KEY_TYPE_dirent || bch_dirent_type(k) == DT_SUBVOL || bch_dirent_type(k) == DT_DIR)
		return 0;
	v = ns_itab_versions(c->tab, bch_dirent_inum(k), &nr);
	for (size_t n = 0; n < nr; n++) {
		u32 vs = v[n].snapshot;

		if (!ns_version_sees_key(f, &c->seen, vs, snap))
			continue;
		v[n].count++;
		if (vs >= snap)
			break;
	}
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
	struct nlink_ctx c = { 0 };
	int ret = ns_itab_get(f, &c.tab) ?: ns_walk(f, BTREE_ID_dirents, count_link, &c);

	for (size_t n = 0; !ret && n < c.tab->nr; n++) {
		struct ns_inode *i = &c.tab->d[n];
		u32 have = ns_unlinked(i) ? 0 : i->nlink + 1;

		if (bch_mode_to_dtype(i->mode) == DT_DIR || !i->nlink || have == i->count)
			continue;
		if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_wrong_nlink,
				     "inode %llu%s type %u has wrong i_nlink (%u, should be %u)",
				     (unsigned long long)i->inum, ns_snap_str(i->snapshot).s, bch_mode_to_dtype(i->mode),
				     have, i->count))
			ret = ns_fix_inode(&x, i->inum, i->snapshot, set_nlink, &i->count);
	}
	bch_snapshots_seen_exit(&c.seen);
	ns_fix_end(&x);
	return ret;
}

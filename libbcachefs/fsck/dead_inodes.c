/*
 * delete_dead_inodes: the inodes on the deleted list (unlinked, no name
 * left, kept while open) are removed with their data, as every mount of
 * the kernel does; a list entry that names no such inode goes.
 */
#include <stdlib.h>

#include "fsck/ns_common.h"
#include "fsck/passes.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "util/errcode.h"
#include "util/grow.h"

struct dead_ctx {
	struct bch_fsck *f;
	struct ns_fix x;
	struct btree_trans t;
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } key;
	struct snap_ids vers;
};

/* The inode version at exactly pos: 1 (in *u), 0 when there is none, or an error. */
static int version_get(struct dead_ctx *d, struct bpos pos, struct bch_inode_unpacked *u)
{
	int ret = bch_trans_lookup(&d->t, BTREE_ID_inodes, 0, pos, &d->key.k, BKEY_U64s_MAX, &d->f->err);

	if (ret < 0)
		return bch_fsck_op_error(d->f, ret, "reading inode %llu:%u",
					 (unsigned long long)pos.offset, pos.snapshot);
	return ret && bkey_is_inode(&d->key.k.k) && !bch_inode_unpack(bkey_i_to_s_c(&d->key.k), u);
}

static void set_child_flag(struct bch_inode_unpacked *u, void *ctx)
{
	(void)ctx;
	u->bi_flags |= 1U << BCH_INODE_has_child_snapshot;
}

/*
 * Why the entry at pos must go without its inode (1, the problem
 * reported), 0 when the inode may be removed, or an error.
 */
static int entry_stale(struct dead_ctx *d, struct bpos pos, const struct bch_inode_unpacked *u)
{
	struct bch_fsck *f = d->f;
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	int ret;

	if (!t)
		return -BCH_ERR_nomem;
	if (S_ISDIR(u->bi_mode)) {
		ret = ns_dir_sees_entry(f, pos.offset, pos.snapshot);
		if (ret)
			return ret < 0 ? ret : (bch_fsck_problem(f, BCH_FSCK_ERR_deleted_inode_is_dir,
					"non empty directory %llu:%u in deleted_inodes btree",
					(unsigned long long)pos.offset, pos.snapshot), 1);
	}
	if (!(u->bi_flags & (1U << BCH_INODE_unlinked)))
		return bch_fsck_problem(f, BCH_FSCK_ERR_deleted_inode_not_unlinked,
					"non-deleted inode %llu:%u in deleted_inodes btree",
					(unsigned long long)pos.offset, pos.snapshot), 1;
	if (u->bi_flags & (1U << BCH_INODE_has_child_snapshot))
		return bch_fsck_problem(f, BCH_FSCK_ERR_deleted_inode_has_child_snapshots,
					"inode with child snapshots %llu:%u in deleted_inodes btree",
					(unsigned long long)pos.offset, pos.snapshot), 1;
	ret = ns_inode_versions(f, pos.offset, &d->vers);
	if (ret)
		return ret;
	if (!snap_ids_has_below(t, &d->vers, d->vers.nr, pos.snapshot))
		return 0;
	/* a version below still sees this one: it stays, flagged */
	if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_has_child_snapshots_wrong,
			     "inode %llu:%u has_child_snapshots flag wrong (should be 1)",
			     (unsigned long long)pos.offset, pos.snapshot) &&
	    (ret = ns_fix_inode(&d->x, pos.offset, pos.snapshot, set_child_flag, NULL)))
		return ret;
	return 1;
}

/* Removes the version at pos, its keys with it; the inode trigger takes it off the list. */
static int version_remove(struct dead_ctx *d, struct bpos pos)
{
	struct bch_inode_unpacked u;
	int ret = ns_fix_at(&d->x, pos.snapshot) ?:
		  bch_ns_inode_get(&d->x.ns, pos.offset, &u, &d->f->err) ?:
		  bch_ns_inode_remove(&d->x.ns, &u, &d->f->err);

	if (ret) {
		bch_trans_reset(&d->x.ns.t);
		return bch_fsck_op_error(d->f, ret, "removing unlinked inode %llu:%u",
					 (unsigned long long)pos.offset, pos.snapshot);
	}
	return ns_fix_commit(&d->x, "an inode removal");
}

/*
 * After a version goes, the version its snapshot saw (the nearest ancestor
 * one) goes too when it is unlinked as well, and so on up: nothing open
 * can hold them offline.
 */
static int ancestors_remove(struct dead_ctx *d, struct bpos pos)
{
	const struct bch_snapshot_table *t = ns_snaps_get(d->f);
	struct bch_inode_unpacked u;
	int ret;

	while (t) {
		size_t i = 0;

		ret = ns_inode_versions(d->f, pos.offset, &d->vers);
		if (ret)
			return ret;
		/* ascending ids: the first version above pos.snapshot is the nearest */
		while (i < d->vers.nr && (d->vers.d[i] <= pos.snapshot ||
					  !bch_snapshot_is_ancestor(t, pos.snapshot, d->vers.d[i])))
			i++;
		if (i == d->vers.nr)
			return 0;
		pos.snapshot = d->vers.d[i];
		ret = version_get(d, pos, &u);
		if (ret <= 0 || !(u.bi_flags & (1U << BCH_INODE_unlinked)))
			return ret < 0 ? ret : 0;
		ret = version_remove(d, pos);
		if (ret)
			return ret;
	}
	return -BCH_ERR_nomem;
}

static int dead_inode(struct dead_ctx *d, struct bpos pos)
{
	struct bch_fsck *f = d->f;
	struct bch_inode_unpacked u;
	int ret = version_get(d, pos, &u);

	if (ret < 0)
		return ret;
	if (!ret) {
		bch_fsck_problem(f, BCH_FSCK_ERR_deleted_inode_missing,
				 "nonexistent inode %llu:%u in deleted_inodes btree",
				 (unsigned long long)pos.offset, pos.snapshot);
		return ns_fix_delete(&d->x, BTREE_ID_deleted_inodes, pos);
	}
	ret = entry_stale(d, pos, &u);
	if (ret)
		return ret < 0 ? ret : ns_fix_delete(&d->x, BTREE_ID_deleted_inodes, pos);
	/* a clean shutdown removes them: one left means the filesystem was not really clean */
	if (f->was_clean &&
	    !bch_fsck_problem(f, BCH_FSCK_ERR_deleted_inode_but_clean,
			      "filesystem marked as clean but have deleted inode %llu:%u",
			      (unsigned long long)pos.offset, pos.snapshot))
		return 0;
	if (f->verbose)
		bch_fsck_info(f, "deleting unlinked inode %llu:%u", (unsigned long long)pos.offset,
			      pos.snapshot);
	return version_remove(d, pos) ?: ancestors_remove(d, pos);
}

int bch_delete_dead_inodes(struct bch_fsck *f)
{
	struct dead_ctx d = { .f = f, .x.f = f };
	struct btree_iter it;
	struct bkey_s_c k;
	struct bpos *pos = NULL;
	size_t nr = 0, size = 0;
	int ret;

	/* the list first: the removals change it */
	bch_btree_iter_init(&it, f->c, BTREE_ID_deleted_inodes, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (k.k->type == KEY_TYPE_set) {
			if (bch_grow(&pos, &size, nr, 64)) {
				ret = -BCH_ERR_nomem;
				break;
			}
			pos[nr++] = k.k->p;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		bch_fsck_op_error(f, ret, "reading the deleted inodes list: %s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);

	bch_trans_init(&d.t, f->c);
	for (size_t i = 0; !ret && i < nr; i++) {
		/* gone already when it was the ancestor of one removed */
		ret = bch_trans_lookup(&d.t, BTREE_ID_deleted_inodes, 0, pos[i], &d.key.k,
				       BKEY_U64s_MAX, &f->err);
		if (ret < 0)
			bch_fsck_op_error(f, ret, "reading the deleted inodes list");
		else
			ret = ret && d.key.k.k.type == KEY_TYPE_set ? dead_inode(&d, pos[i]) : 0;
	}
	bch_trans_exit(&d.t);
	ns_fix_end(&d.x);
	snap_ids_exit(&d.vers);
	free(pos);
	return ret;
}

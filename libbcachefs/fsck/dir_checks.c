/* fsck passes over the hashed btrees: directory entries (placement, targets, backpointers, d_type, subdirectory counts) and xattrs. */
#include <stdlib.h>
#include <string.h>

#include "fsck/ns_common.h"
#include "fsck/snap_common.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "fs/xattr_ops.h"
#include "keys/dirent.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/grow.h"

/* A key moved forward in its probe chain, which the walk reaches again. */
struct moved_key {
	u64 offset;
	u32 snapshot;
};

struct hash_ctx {
	struct bch_fsck *f;
	const struct bch_hash_desc *desc;
	struct ns_fix x;
	struct ns_itab *tab;
	struct ns_walker w;		/* the versions of the owner of the keys being walked */
	struct bch_snapshots_seen seen;
	struct printbuf buf;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } key;	/* a key being moved or rewritten */
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } probe;	/* lookups */
	/* where keys (of the current owner) were moved forward to, a min-heap */
	struct moved_key *moved;
	size_t nr_moved, moved_size;
};

static bool moved_before(const struct moved_key *a, const struct moved_key *b)
{
	return a->offset != b->offset ? a->offset < b->offset : a->snapshot < b->snapshot;
}

static int moved_push(struct hash_ctx *s, struct moved_key m)
{
	size_t i = s->nr_moved;

	if (bch_grow(&s->moved, &s->moved_size, i, 16))
		return bch_fsck_op_error(s->f, -BCH_ERR_nomem, "remembering moved hashed keys");
	for (s->nr_moved++; i && moved_before(&m, &s->moved[(i - 1) / 2]); i = (i - 1) / 2)
		s->moved[i] = s->moved[(i - 1) / 2];
	s->moved[i] = m;
	return 0;
}

static void moved_pop(struct hash_ctx *s)
{
	struct moved_key last = s->moved[--s->nr_moved];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < s->nr_moved) {
		if (c + 1 < s->nr_moved && moved_before(&s->moved[c + 1], &s->moved[c]))
			c++;
		if (!moved_before(&s->moved[c], &last))
			break;
		s->moved[i] = s->moved[c];
		i = c;
	}
	if (s->nr_moved)
		s->moved[i] = last;
}

/* Whether the walk has come to a key it already checked (moved there). */
static bool moved_here(struct hash_ctx *s, struct bkey_s_c k)
{
	struct moved_key at = { k.k->p.offset, k.k->p.snapshot };
	bool here = false;

	while (s->nr_moved && !moved_before(&at, &s->moved[0])) {
		here |= s->moved[0].offset == at.offset && s->moved[0].snapshot == at.snapshot;
		moved_pop(s);
	}
	return here;
}

static struct bch_hash_info owner_hash(const struct ns_inode *i)
{
	return (struct bch_hash_info) { (i->flags >> 20) & 15, i->hash_seed };
}

/*
 * Every slot from hash up to k's holds a key k's snapshot sees (a snapshot
 * whiteout there is a hole): else k is at a wrong offset (0); 2 when one of
 * them has k's name (k is a second copy), 1 when k is where it belongs.  One walk over
 * the slots' keys of every snapshot: at each offset they come in snapshot
 * order, so the first that k's snapshot descends from is the one it sees.
 */
static int hash_chain_ok(struct hash_ctx *s, struct bkey_s_c k, u64 hash)
{
	const struct bch_snapshot_table *t = ns_snaps_get(s->f);
	struct btree_iter it;
	struct bkey_s_c p;
	u64 want = hash;
	int ret = 1;

	if (!t)
		return -BCH_ERR_nomem;
	if (k.k->p.offset < hash)
		return 0;
	bch_btree_iter_init(&it, s->f->c, s->desc->btree, SPOS(k.k->p.inode, hash, 0), 0);
	while (want < k.k->p.offset && (ret = bch_btree_iter_peek(&it, &p)) > 0) {
		if (p.k->p.inode != k.k->p.inode || p.k->p.offset > want) {
			ret = 0;
			break;
		}
		if (p.k->p.offset == want && bch_snapshot_is_ancestor(t, k.k->p.snapshot, p.k->p.snapshot)) {
			if (p.k->type == KEY_TYPE_whiteout || p.k->type == KEY_TYPE_deleted) {
				ret = 0;
				break;
			}
			if (p.k->type == k.k->type && s->desc->same_entry(p, k)) {
				ret = 2;
				break;
			}
			want++;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && !s->f->op_error)
		bch_fsck_op_error(s->f, ret, "walking the probe chain of %llu:%llu: %s",
				  (unsigned long long)k.k->p.inode, (unsigned long long)k.k->p.offset,
				  pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret;
}

/* Moves k (copied into s->key) to the first free slot of its probe chain in its snapshot; 1 when done. */
static int hash_redo(struct hash_ctx *s, struct bkey_s_c k, const struct ns_inode *owner, u64 hash)
{
	struct bch_hash_info info = owner_hash(owner);
	u64 pos;
	int ret = ns_fix_at(&s->x, k.k->p.snapshot);

	if (ret)
		return ret;
	memcpy(&s->key.k, k.k, sizeof(*k.k));
	memcpy(s->key.k.v, k.v, bkey_val_bytes(k.k));
	ret = bch_hash_delete_at(&s->x.ns, s->desc, &info, k.k->p.inode, k.k->p.offset, &s->f->err) ?:
	      bch_hash_hole(&s->x.ns, s->desc, k.k->p.inode, hash, &pos, &s->f->err);
	if (!ret) {
		s->key.k.k.p.offset = pos;
		ret = bch_trans_update(&s->x.ns.t, s->desc->btree, 0, &s->key.k, 0);
	}
	if (ret) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(s->f, ret, "moving a hashed key");
	}
	return ns_fix_commit(&s->x, "a moved hashed key") ?:
	       (pos > k.k->p.offset ? moved_push(s, (struct moved_key) { pos, k.k->p.snapshot }) : 0) ?: 1;
}

/* Deletes k, a second entry of a name its probe chain holds before it; 2 when done. */
static int hash_duplicate_drop(struct hash_ctx *s, struct bkey_s_c k, const struct ns_inode *owner)
{
	struct bch_hash_info info = owner_hash(owner);
	int ret;

	ns_key_text(&s->buf, s->f, k);
	if (!bch_fsck_problem(s->f, BCH_FSCK_ERR_hash_table_key_duplicate,
			      "duplicate hash table keys:\n%s", s->buf.buf))
		return 0;
	ret = ns_fix_at(&s->x, k.k->p.snapshot) ?:
	      bch_hash_delete_at(&s->x.ns, s->desc, &info, k.k->p.inode, k.k->p.offset, &s->f->err);
	if (ret) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(s->f, ret, "deleting a duplicate hashed key");
	}
	return ns_fix_commit(&s->x, "a duplicate hashed key deleted") ?: 2;
}

/* 0: in place; 1: moved (s->key holds it at its new slot); 2: deleted (a duplicate); or an error. */
static int hash_check(struct hash_ctx *s, struct bkey_s_c k, const struct ns_inode *owner)
{
	struct bch_hash_info info = owner_hash(owner);
	u64 hash;
	int ret;

	if (k.k->type != s->desc->key_type)
		return 0;
	hash = s->desc->hash_bkey(&info, k);
	if (hash == k.k->p.offset)
		return 0;
	ret = hash_chain_ok(s, k, hash);
	if (ret == 2)
		return hash_duplicate_drop(s, k, owner);
	if (ret)
		return ret < 0 ? ret : 0;
	ns_key_text(&s->buf, s->f, k);
	if (!bch_fsck_problem(s->f, BCH_FSCK_ERR_hash_table_key_wrong_offset,
			      "hash table key at wrong offset: btree %s inode %llu offset %llu, hashed to %llu\n%s",
			      s->desc->btree == BTREE_ID_dirents ? "dirents" : "xattrs",
			      (unsigned long long)k.k->p.inode, (unsigned long long)k.k->p.offset,
			      (unsigned long long)hash, s->buf.buf))
		return 0;
	return hash_redo(s, k, owner, hash);
}

/* ---- dirents ---- */

static void dir_set_nlink(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_nlink = *(u32 *)ctx;
}

/* Each version of the directory: its link count is its number of subdirectories. */
static int subdir_count_check(struct hash_ctx *s)
{
	int ret = 0;

	for (size_t n = 0; n < s->w.nr && !ret; n++) {
		struct ns_walker_entry *e = &s->w.e[n];
		struct ns_inode *d = e->v;

		if (d->nlink == e->count)
			continue;
		if (bch_fsck_problem(s->f, BCH_FSCK_ERR_inode_dir_wrong_nlink,
				     "directory %llu:%u with wrong i_nlink: got %u, should be %u",
				     (unsigned long long)d->inum, e->snapshot, d->nlink, e->count)) {
			ret = ns_fix_entry(&s->x, e, dir_set_nlink, &e->count);
		}
	}
	return ret;
}

struct bp_edit {
	u64 dir, offset;
	bool nlink_inc;
};

static void set_backpointer(struct bch_inode_unpacked *u, void *ctx)
{
	struct bp_edit *e = ctx;

	u->bi_dir = e->dir;
	u->bi_dir_offset = e->offset;
	u->bi_flags &= ~(1U << BCH_INODE_unlinked);
	if (e->nlink_inc)
		u->bi_nlink++;
}

/* Deletes the dirent at p in its snapshot (a hash whiteout stays where the chain needs one); 1, or an error. */
static int dirent_delete(struct hash_ctx *s, struct bpos p)
{
	struct bch_inode_unpacked dir;
	int ret = ns_fix_at(&s->x, p.snapshot) ?:
		  bch_ns_inode_get(&s->x.ns, p.inode, &dir, &s->f->err) ?:
		  bch_ns_dirent_delete(&s->x.ns, &dir, p.offset, &s->f->err);

	if (ret) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(s->f, ret, "deleting dirent %llu:%llu:%u",
					 (unsigned long long)p.inode, (unsigned long long)p.offset, p.snapshot);
	}
	return ns_fix_commit(&s->x, "a dirent deletion") ?: 1;
}

/* The dirent version t's backpointer names, as t's snapshot sees it: 1 if there is one, 0, or an error. */
static int bp_dirent_exists(struct hash_ctx *s, const struct ns_inode *t)
{
	int ret = ns_key_visible(s->f, BTREE_ID_dirents, t->dir, t->dir_offset, t->snapshot,
				 &s->probe.k, BCH_HASH_KEY_U64s);

	return ret > 0 ? s->probe.k.k.type == KEY_TYPE_dirent : ret;
}

/* The target version's backpointer names this dirent: 0, 1 when the dirent went, or an error. */
static int backpointer_check(struct hash_ctx *s, struct bkey_s_c k, struct ns_inode *t)
{
	struct bch_fsck *f = s->f;
	struct bp_edit e = { k.k->p.inode, k.k->p.offset, false };
	bool is_dir = bch_mode_to_dtype(t->mode) == DT_DIR, fix;
	int ret;

	if (t->dir == e.dir && t->dir_offset == e.offset)
		return 0;
	if (!t->dir && !t->dir_offset) {
		if (is_dir)
			bch_fsck_problem(f, BCH_FSCK_ERR_inode_dir_missing_backpointer,
					 "directory %llu%s with missing backpointer",
					 (unsigned long long)t->inum, ns_snap_str(t->snapshot).s);
		if (ns_unlinked(t))
			bch_fsck_problem(f, BCH_FSCK_ERR_inode_unlinked_but_has_dirent,
					 "inode %llu%s unlinked but has dirent",
					 (unsigned long long)t->inum, ns_snap_str(t->snapshot).s);
		goto set;
	}
	if ((is_dir || !t->nlink) &&
	    !bch_fsck_problem(f, BCH_FSCK_ERR_inode_wrong_backpointer,
			      "dirent %llu:%llu%s points to inode %llu%s that does not point back",
			      (unsigned long long)e.dir, (unsigned long long)e.offset, ns_snap_str(k.k->p.snapshot).s,
			      (unsigned long long)t->inum, ns_snap_str(t->snapshot).s))
		return 0;
	ret = bp_dirent_exists(s, t);
	if (ret < 0)
		return ret;
	if (!ret) {
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_inode_wrong_backpointer,
				      "inode %llu:%u has wrong backpointer: got %llu:%llu, should be %llu:%llu",
				      (unsigned long long)t->inum, t->snapshot,
				      (unsigned long long)t->dir, (unsigned long long)t->dir_offset,
				      (unsigned long long)e.dir, (unsigned long long)e.offset))
			return 0;
		goto set;
	}
	if (is_dir || t->subvol) {
		if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_dir_multiple_links,
				     "directory %llu%s with multiple links",
				     (unsigned long long)t->inum, ns_snap_str(t->snapshot).s))
			return dirent_delete(s, k.k->p);
		return 0;
	}
	fix = !t->nlink && bch_fsck_problem(f, BCH_FSCK_ERR_inode_multiple_links_but_nlink_0,
					    "inode %llu%s has multiple links but i_nlink 0",
					    (unsigned long long)t->inum, ns_snap_str(t->snapshot).s);
	if (!fix)
		return 0;
	e.dir = t->dir;
	e.offset = t->dir_offset;
	e.nlink_inc = true;
	t->nlink++;
set:
	t->dir = e.dir;
	t->dir_offset = e.offset;
	t->flags &= ~(1U << BCH_INODE_unlinked);
	return ns_fix_inode(&s->x, t->inum, t->snapshot, set_backpointer, &e);
}

/* Writes the dirent k again with type dt and target (DT_SUBVOL: child | parent << 32), in its snapshot. */
static int dirent_rewrite(struct hash_ctx *s, struct bkey_s_c k, unsigned dt, u64 target)
{
	int ret = ns_fix_at(&s->x, k.k->p.snapshot) ?:
		  bch_ns_dirent_put(&s->x.ns, k.k->p.inode, k.k->p.offset, bch_dirent_name(k),
				    bch_dirent_name_len_safe(k), dt, target, &s->f->err);

	if (ret) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(s->f, ret, "rewriting a dirent");
	}
	return ns_fix_commit(&s->x, "a dirent");
}

static const char *dtype_name(unsigned dt)
{
	static const char *const n[] = { "unknown", "fifo", "chr", "?3", "dir", "?5", "blk", "?7",
					 "reg", "?9", "lnk", "?11", "sock", "?13", "whiteout", "?15", "subvol" };
	return dt < 17 ? n[dt] : "?";
}

/* One target version of a dirent: backpointer and d_type. 0, 1 when the dirent went, or an error. */
static int target_version_check(struct hash_ctx *s, struct bkey_s_c k, struct ns_inode *t, unsigned *dt)
{
	unsigned want = bch_mode_to_dtype(t->mode);
	int ret = backpointer_check(s, k, t);

	if (ret || *dt == want)
		return ret;
	ns_key_text(&s->buf, s->f, k);
	if (bch_fsck_problem(s->f, BCH_FSCK_ERR_dirent_d_type_wrong,
			     "incorrect d_type: got %s, should be %s:\n%s", dtype_name(*dt),
			     dtype_name(want), s->buf.buf) &&
	    (ret = dirent_rewrite(s, k, want, bch_dirent_inum(k))))
		return ret;
	*dt = want;
	return 0;
}

/*
 * An ordinary dirent of snapshot S names every version of its inode that
 * sees it: those of descendants it is not hidden from, then the nearest
 * version of S or an ancestor.
 */
static int dirent_inode_check(struct hash_ctx *s, struct bkey_s_c k, unsigned *dt)
{
	u32 snap = k.k->p.snapshot;
	size_t nr;
	struct ns_inode *v = ns_itab_versions(s->tab, bch_dirent_inum(k), &nr);
	bool found = false;
	int ret;

	for (size_t i = 0; i < nr; i++) {
		u32 vs = v[i].snapshot;

		if (!ns_version_sees_key(s->f, &s->seen, vs, snap))
			continue;
		found = true;
		ret = target_version_check(s, k, &v[i], dt);
		if (ret)
			return ret;
		if (vs >= snap)
			break;
	}
	if (found)
		return 0;
	ns_key_text(&s->buf, s->f, k);
	if (bch_fsck_problem(s->f, BCH_FSCK_ERR_dirent_to_missing_inode,
			     "dirent points to missing inode:\n%s", s->buf.buf))
		return dirent_delete(s, k.k->p);
	return 1;
}

static void set_parent_subvol(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_parent_subvol = *(u32 *)ctx;
}

/*
 * A subvolume entry: the subvolume it lives in holds its snapshot, the
 * subvolume it names exists, and that one's parent and root agree. 0, 1
 * when the dirent went, or an error.
 */
static int dirent_subvol_check(struct hash_ctx *s, struct bkey_s_c k)
{
	struct bch_fsck *f = s->f;
	u32 snap = k.k->p.snapshot, parent = bch_dirent_parent_subvol(k), child = bch_dirent_child_subvol(k);
	struct bch_subvolume pv, cv;
	struct ns_inode *root;
	int ret = ns_subvol_get(f, parent, &pv);

	if (ret < 0)
		return ret;
	if (!ret || !bch_snapshot_is_ancestor(&f->snaps, le32_to_cpu(pv.snapshot), snap)) {
		enum bch_fsck_err e = !ret ? BCH_FSCK_ERR_dirent_to_missing_parent_subvol :
				      BCH_FSCK_ERR_dirent_not_visible_in_parent_subvol;

		ns_key_text(&s->buf, s->f, k);
		if (bch_fsck_problem(f, e, "dirent %s parent subvolume %u:\n%s",
				     !ret ? "points to missing" : "not visible in", parent, s->buf.buf)) {
			/* the lowest subvolume whose snapshot is snap or below it, as the kernel's */
			u32 to = snap_tree_oldest_subvol(&f->snaps, snap);

			if (!to) {
				bch_fsck_fix_failed(f, e);
			} else {
				ret = dirent_rewrite(s, k, DT_SUBVOL, child | (u64)to << 32);
				if (ret)
					return ret;
				/* the rest is checked against the subvolume the entry now lives in */
				parent = to;
			}
		}
	}
	ret = ns_subvol_get(f, child, &cv);
	if (ret < 0)
		return ret;
	if (!ret) {
		ns_key_text(&s->buf, s->f, k);
		if (bch_fsck_problem(f, BCH_FSCK_ERR_dirent_to_missing_subvol,
				     "dirent points to missing subvolume:\n%s", s->buf.buf))
			return dirent_delete(s, k.k->p);
		return 1;
	}
	if (le32_to_cpu(cv.fs_path_parent) != parent &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_subvol_fs_path_parent_wrong,
			     "subvol with wrong fs_path_parent, should be be %u: subvolume %u fs_parent %u",
			     parent, child, le32_to_cpu(cv.fs_path_parent)) &&
	    (ret = ns_fix_subvol_parent(&s->x, child, parent)))
		return ret;
	root = ns_itab_find_snap(&f->snaps, s->tab, le64_to_cpu(cv.inode), le32_to_cpu(cv.snapshot));
	if (!root) {
		/* the subvolumes pass has given it a root, or could not */
		bch_fsck_info(f, "subvolume %u: root inode %llu not found", child,
			      (unsigned long long)le64_to_cpu(cv.inode));
		return 0;
	}
	if (root->parent_subvol != parent &&
	    bch_fsck_problem(f, BCH_FSCK_ERR_inode_bi_parent_wrong,
			     "subvol root %llu has wrong bi_parent_subvol: got %u, should be %u",
			     (unsigned long long)root->inum, root->parent_subvol, parent)) {
		root->parent_subvol = parent;
		ret = ns_fix_inode(&s->x, root->inum, le32_to_cpu(cv.snapshot), set_parent_subvol, &parent);
		if (ret)
			return ret;
	}
	return backpointer_check(s, k, root);
}

static int dirent_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct hash_ctx *s = p;
	struct ns_walker_entry *e;
	u32 snap = k.k->p.snapshot;
	unsigned dt;
	int ret;

	ret = ns_key_in_missing_snapshot(f, &s->x, s->desc->btree, k, &s->buf);
	if (ret)
		return ret < 0 ? ret : 0;
	if (bch_snapshots_seen_add(&s->seen, k.k->p))
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "snapshots seen");
	if (k.k->p.inode != s->w.inum) {
		s->nr_moved = 0;
		ret = subdir_count_check(s) ?:
		      ns_walker_load(f, &s->w, s->tab, k.k->p.inode);
		if (ret)
			return ret;
	}
	ret = ns_key_owner(f, &s->x, &s->w, s->desc->btree, k, true, &s->buf, &e);
	if (ret)
		return ret < 0 ? ret : 0;
	if (moved_here(s, k))
		return 0;
	ret = hash_check(s, k, e->v);
	if (ret < 0 || ret == 2)
		return ret < 0 ? ret : 0;
	if (ret)
		k = bkey_i_to_s_c(&s->key.k);
	if (k.k->type != KEY_TYPE_dirent)
		return 0;
	dt = bch_dirent_type(k);
	ret = dt == DT_SUBVOL ? dirent_subvol_check(s, k) : dirent_inode_check(s, k, &dt);
	if (ret)
		return ret < 0 ? ret : 0;
	if (dt != DT_DIR)
		return 0;
	for (size_t n = 0; n < s->w.nr; n++)
		if (ns_walker_sees(f, &s->seen, &s->w.e[n], snap))
			s->w.e[n].count++;
	return 0;
}

/* ---- xattrs ---- */

static int xattr_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct hash_ctx *s = p;
	struct ns_walker_entry *e;
	int ret = ns_key_in_missing_snapshot(f, &s->x, s->desc->btree, k, &s->buf);

	if (ret)
		return ret < 0 ? ret : 0;
	if (k.k->p.inode != s->w.inum) {
		s->nr_moved = 0;
		ret = ns_walker_load(f, &s->w, s->tab, k.k->p.inode);
		if (ret)
			return ret;
	}
	ret = ns_key_owner(f, &s->x, &s->w, s->desc->btree, k, false, &s->buf, &e);
	if (ret)
		return ret < 0 ? ret : 0;
	if (moved_here(s, k))
		return 0;
	ret = hash_check(s, k, e->v);
	return ret < 0 ? ret : 0;
}

static int hash_pass(struct bch_fsck *f, const struct bch_hash_desc *desc, ns_key_fn fn)
{
	struct hash_ctx s = { .f = f, .desc = desc, .x.f = f, .buf = PRINTBUF, .w.inum = ~0ULL };
	int ret = ns_itab_get(f, &s.tab) ?:
		  ns_walk(f, desc->btree, fn, &s);

	if (!ret && fn == dirent_key)
		ret = subdir_count_check(&s);
	ns_fix_end(&s.x);
	ns_walker_exit(&s.w);
	bch_snapshots_seen_exit(&s.seen);
	pb_exit(&s.buf);
	free(s.moved);
	return ret < 0 ? ret : 0;
}

int bch_check_dirents(struct bch_fsck *f)
{
	return hash_pass(f, &bch_dirent_hash_desc, dirent_key);
}

int bch_check_xattrs(struct bch_fsck *f)
{
	return hash_pass(f, &bch_xattr_hash_desc, xattr_key);
}

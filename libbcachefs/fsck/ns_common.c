/* The namespace passes' shared pieces: the sorted inode table, the repair session, deletes, reattaching to lost+found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck/ns_common.h"
#include "fsck/snap_common.h"
#include "btree/iter.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "keys/key_ops.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/grow.h"
#include "util/names.h"

static int itab_push(struct ns_itab *t, const struct bch_inode_unpacked *u)
{
	int ret = bch_grow(&t->d, &t->size, t->nr, 256);

	if (ret)
		return ret;
	t->d[t->nr++] = (struct ns_inode) {
		.inum = u->bi_inum, .snapshot = u->bi_snapshot, .size = u->bi_size, .sectors = u->bi_sectors,
		.dir = u->bi_dir, .dir_offset = u->bi_dir_offset, .hash_seed = u->bi_hash_seed, .flags = u->bi_flags,
		.nlink = u->bi_nlink, .subvol = u->bi_subvol, .parent_subvol = u->bi_parent_subvol,
		.mode = u->bi_mode,
	};
	return 0;
}

void ns_walker_exit(struct ns_walker *w)
{
	free(w->e);
	memset(w, 0, sizeof(*w));
}

static int walker_push(struct bch_fsck *f, struct ns_walker *w, size_t at, struct ns_inode *v, u32 snap)
{
	if (bch_grow(&w->e, &w->size, w->nr, 8))
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "inode versions");
	memmove(&w->e[at + 1], &w->e[at], (w->nr - at) * sizeof(*w->e));
	w->e[at] = (struct ns_walker_entry) { .v = v, .snapshot = snap };
	w->nr++;
	return 0;
}

int ns_walker_load(struct bch_fsck *f, struct ns_walker *w, struct ns_itab *t, u64 inum)
{
	size_t nr;
	struct ns_inode *v = ns_itab_versions(t, inum, &nr);
	int ret = 0;

	w->inum = inum;
	w->nr = 0;
	for (size_t i = 0; i < nr && !ret; i++)
		ret = walker_push(f, w, w->nr, &v[i], v[i].snapshot);
	return ret;
}

int ns_walker_find(struct bch_fsck *f, struct ns_walker *w, u32 snap, bool add,
		   struct ns_walker_entry **e)
{
	size_t i, at;
	int ret;

	*e = NULL;
	for (i = 0; i < w->nr; i++)
		if (bch_snapshot_is_ancestor(&f->snaps, snap, w->e[i].snapshot))
			break;
	if (i == w->nr)
		return 0;
	if (w->e[i].snapshot == snap || !add) {
		*e = &w->e[i];
		return 0;
	}
	for (at = 0; at < w->nr && w->e[at].snapshot < snap; at++)
		;
	ret = walker_push(f, w, at, w->e[i].v, snap);
	if (!ret)
		*e = &w->e[at];
	return ret;
}

/*
 * Inodes come in key order, so the table is sorted as it fills; versions
 * in snapshots that do not exist are left out (check_inodes deletes them).
 */
static int itab_load(struct bch_fsck *f, struct ns_itab *t)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	t->nr = 0;
	if (!ns_snaps_get(f))
		return -BCH_ERR_nomem;
	bch_btree_iter_init(&it, f->c, BTREE_ID_inodes, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		struct bch_inode_unpacked u;

		if (bkey_is_inode(k.k) && ns_snapshot_exists(f, k.k->p.snapshot) && !bch_inode_unpack(k, &u) &&
		    (ret = itab_push(t, &u)))
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		bch_fsck_op_error(f, ret, "reading inodes: %s", it.err.buf ?: "");
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

/*
 * A pass that walks the inodes anyway (check_inodes) fills a stale table
 * as it goes: ns_itab_fill_begin says whether it should (1), ns_itab_fill
 * adds each inode version in an existing snapshot (the caller skips the
 * others), in key order, and ns_itab_fill_end
 * keeps the table only if no repair was committed meanwhile.
 */
int ns_itab_fill_begin(struct bch_fsck *f)
{
	if (f->itab && !f->itab_stale)
		return 0;
	if (!f->itab && !(f->itab = calloc(1, sizeof(*f->itab))))
		return 0;
	f->itab->nr = 0;
	f->itab_stale = false;
	return 1;
}

int ns_itab_fill(struct bch_fsck *f, const struct bch_inode_unpacked *u)
{
	return itab_push(f->itab, u) ? bch_fsck_op_error(f, -BCH_ERR_nomem, "inode table") : 0;
}

void ns_itab_fill_end(struct bch_fsck *f, bool ok)
{
	if (!ok || f->itab_stale) {
		f->itab->nr = 0;
		f->itab_stale = true;
	}
}

int ns_itab_get(struct bch_fsck *f, struct ns_itab **out)
{
	struct ns_itab *t = f->itab;
	int ret;

	if (!t) {
		t = f->itab = calloc(1, sizeof(*t));
		if (!t)
			return bch_fsck_op_error(f, -BCH_ERR_nomem, "inode table");
		f->itab_stale = true;
	}
	if (f->itab_stale) {
		ret = itab_load(f, t);
		if (ret)
			return ret;
		f->itab_stale = false;
	} else {
		for (size_t n = 0; n < t->nr; n++) {
			t->d[n].count = 0;
			t->d[n].counted = 0;
			t->d[n].state = 0;
		}
	}
	*out = t;
	return 0;
}

void bch_fsck_ns_exit(struct bch_fsck *f)
{
	if (f->itab)
		free(f->itab->d);
	free(f->itab);
	f->itab = NULL;
	bch_snapshot_table_exit(&f->snaps);
	f->snaps_loaded = false;
}

const struct bch_snapshot_table *ns_snaps_get(struct bch_fsck *f)
{
	int ret;

	if (f->snaps_loaded)
		return &f->snaps;
	ret = bch_snapshot_table_load(f->c, &f->snaps, &f->err);
	if (ret) {
		bch_fsck_op_error(f, ret, "reading the snapshots");
		return NULL;
	}
	f->snaps_loaded = true;
	return &f->snaps;
}

/*
 * Inode numbers are handed out in order, so the table is nearly an array
 * indexed by number: the search starts where the number would be if the
 * numbers were evenly spread, and widens from there to a window that
 * holds it before the binary search.
 */
struct ns_inode *ns_itab_find(struct ns_itab *t, u64 inum)
{
	size_t l = 0, r = t->nr;

	if (t->nr > 16 && inum >= t->d[0].inum && inum <= t->d[t->nr - 1].inum) {
		u64 span = t->d[t->nr - 1].inum - t->d[0].inum;
		size_t g = span ? (size_t)((double)(inum - t->d[0].inum) / span * (t->nr - 1)) : 0;
		size_t step = 8;

		if (g >= t->nr)
			g = t->nr - 1;
		l = g;
		r = g + 1;
		/*
		 * widen until d[l].inum < inum <= d[r].inum (l == 0: from the
		 * start, r == nr: past the end): inum's first version is in (l, r]
		 */
		while (l > 0 && t->d[l].inum >= inum) {
			r = l;
			l = l > step ? l - step : 0;
			step *= 2;
		}
		step = 8;
		while (r < t->nr && t->d[r].inum < inum) {
			l = r;
			r = r + step < t->nr ? r + step : t->nr;
			step *= 2;
		}
	}
	while (l < r) {
		size_t m = l + (r - l) / 2;

		if (t->d[m].inum < inum)
			l = m + 1;
		else
			r = m;
	}
	return l < t->nr && t->d[l].inum == inum ? &t->d[l] : NULL;
}

struct ns_inode *ns_itab_versions(struct ns_itab *t, u64 inum, size_t *nr)
{
	struct ns_inode *i = ns_itab_find(t, inum), *end = t->d + t->nr, *e = i;

	while (e && e < end && e->inum == inum)
		e++;
	*nr = i ? (size_t)(e - i) : 0;
	return i;
}

struct ns_inode *ns_itab_find_snap(const struct bch_snapshot_table *s, struct ns_itab *t, u64 inum, u32 snap)
{
	size_t nr;
	struct ns_inode *i = ns_itab_versions(t, inum, &nr);

	for (size_t n = 0; n < nr; n++)
		if (bch_snapshot_is_ancestor(s, snap, i[n].snapshot))
			return &i[n];
	return NULL;
}

int ns_walk(struct bch_fsck *f, enum btree_id btree, ns_key_fn fn, void *ctx)
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
		bch_fsck_op_error(f, ret, "walking %s: %s", bch_btree_id_names[btree], it.err.buf ?: "");
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

void snap_val_key(union snap_key *k, unsigned type, u64 id, const void *v, size_t bytes)
{
	memset(k, 0, sizeof(*k));
	k->k.k.u64s = BKEY_U64s + (bytes + 7) / 8;
	k->k.k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.k.type = type;
	k->k.k.p = POS(0, id);
	memcpy(k->k.v, v, bytes);
}

void ns_key_text(struct printbuf *b, struct bch_fsck *f, struct bkey_s_c k)
{
	pb_reset(b);
	bch_bkey_val_to_text(b, f->c, k);
}

int ns_val_get(struct bch_fsck *f, enum btree_id btree, unsigned type, u64 id, void *v, size_t bytes,
	       struct bkey_i *k, unsigned u64s)
{
	struct btree_trans t;
	int ret;

	memset(v, 0, bytes);
	bch_trans_init(&t, f->c);
	ret = bch_trans_lookup(&t, btree, 0, POS(0, id), k, u64s, &f->err);
	bch_trans_exit(&t);
	if (ret < 0)
		return bch_fsck_op_error(f, ret, "reading %s %llu", bch_btree_id_names[btree],
					 (unsigned long long)id);
	if (!ret || k->k.type != type)
		return 0;
	bkey_val_copy(v, bytes, bkey_i_to_s_c(k));
	return 1;
}

int ns_subvol_get(struct bch_fsck *f, u64 id, struct bch_subvolume *v)
{
	union snap_key k;

	return ns_val_get(f, BTREE_ID_subvolumes, KEY_TYPE_subvolume, id, v, sizeof(*v), &k.k, SNAP_KEY_U64s);
}

int ns_tree_get(struct bch_fsck *f, u32 id, struct bch_snapshot_tree *v)
{
	union snap_key k;

	return ns_val_get(f, BTREE_ID_snapshot_trees, KEY_TYPE_snapshot_tree, id, v, sizeof(*v),
			  &k.k, SNAP_KEY_U64s);
}

int ns_key_visible(struct bch_fsck *f, enum btree_id btree, u64 inode, u64 offset, u32 snap,
		   struct bkey_i *k, unsigned u64s)
{
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	struct printbuf err = PRINTBUF;
	int ret = t ? bch_snapshot_key_get(f->c, t, btree, inode, offset, snap, k, u64s, &err) :
		      -BCH_ERR_nomem;

	if (ret < 0 && !f->op_error)
		bch_fsck_op_error(f, ret, "looking up %llu:%llu in snapshot %u: %s",
				  (unsigned long long)inode, (unsigned long long)offset, snap, pb_cstr(&err));
	pb_exit(&err);
	return ret;
}

int ns_fix_begin(struct ns_fix *x)
{
	struct printbuf err = PRINTBUF;
	u64 root;
	int ret;

	if (x->started)
		return 0;
	ret = bch_fsck_start_write(x->f);
	if (ret)
		return ret;
	ret = bch_ns_init_detached(&x->ns, x->f->c, &x->f->err);
	if (ret)
		return bch_fsck_op_error(x->f, ret, "starting a namespace session");
	x->started = true;
	/* in the root subvolume when there is one: the repairs that make it again need none */
	ret = bch_ns_subvol_enter(&x->ns, BCH_NS_ROOT_SUBVOL, &root, &err);
	if (ret && ret != -BCH_ERR_not_found)
		bch_fsck_op_error(x->f, ret, "entering the root subvolume: %s", pb_cstr(&err));
	pb_exit(&err);
	return ret == -BCH_ERR_not_found ? 0 : ret;
}

int ns_fix_at(struct ns_fix *x, u32 snapshot)
{
	const struct bch_snapshot_table *s = ns_snaps_get(x->f);
	int ret = s ? ns_fix_begin(x) : -BCH_ERR_nomem;

	if (ret)
		return ret;
	ret = bch_ns_fsck_at(&x->ns, s, snapshot, &x->f->err);
	return ret ? bch_fsck_op_error(x->f, ret, "working in snapshot %u", snapshot) : 0;
}

void ns_fix_end(struct ns_fix *x)
{
	if (x->started)
		bch_ns_exit(&x->ns);
	x->started = false;
}

int ns_fix_commit(struct ns_fix *x, const char *what)
{
	int ret = bch_ns_commit(&x->ns, &x->f->err);

	x->f->itab_stale = true;
	if (ret)
		bch_fsck_op_error(x->f, ret, "committing %s", what);
	return ret;
}

int ns_fix_inode(struct ns_fix *x, u64 inum, u32 snapshot, ns_inode_edit_fn fn, void *ctx)
{
	struct bch_inode_unpacked u;
	int ret = ns_fix_at(x, snapshot);

	if (ret)
		return ret;
	ret = bch_ns_inode_get(&x->ns, inum, &u, &x->f->err);
	if (!ret) {
		fn(&u, ctx);
		ret = bch_ns_inode_write(&x->ns, &u, &x->f->err);
	}
	if (ret) {
		bch_trans_reset(&x->ns.t);
		return bch_fsck_op_error(x->f, ret, "rewriting inode %llu:%u", (unsigned long long)inum, snapshot);
	}
	return ns_fix_commit(x, "an inode");
}

int snap_ids_add(struct bch_fsck *f, struct snap_ids *l, u32 id)
{
	if (bch_grow(&l->d, &l->size, l->nr, 16))
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "a list of snapshots");
	l->d[l->nr++] = id;
	return 0;
}

bool snap_ids_has(const struct snap_ids *l, u32 id)
{
	for (size_t i = 0; i < l->nr; i++)
		if (l->d[i] == id)
			return true;
	return false;
}

bool snap_ids_has_below(const struct bch_snapshot_table *t, const struct snap_ids *l, size_t n,
			u32 snap)
{
	for (size_t i = 0; i < n; i++)
		if (l->d[i] != snap && bch_snapshot_is_ancestor(t, l->d[i], snap))
			return true;
	return false;
}

void snap_ids_exit(struct snap_ids *l)
{
	free(l->d);
	memset(l, 0, sizeof(*l));
}

/* Sets or clears has_child_snapshot on the inode version at (inum, snap), queued: 1 if it changed. */
static int child_flag_queue(struct ns_fix *x, u64 inum, u32 snap, bool set)
{
	struct bch_fsck *f = x->f;
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } key;
	struct bch_inode_unpacked u;
	int ret = bch_trans_lookup(&x->ns.t, BTREE_ID_inodes, 0, SPOS(0, inum, snap), &key.k,
				   BKEY_U64s_MAX, &f->err);

	if (ret < 0)
		return bch_fsck_op_error(f, ret, "reading inode %llu:%u", (unsigned long long)inum, snap);
	if (!ret || !bkey_is_inode(&key.k.k) || bch_inode_unpack(bkey_i_to_s_c(&key.k), &u) ||
	    !(u.bi_flags & (1U << BCH_INODE_has_child_snapshot)) == !set)
		return 0;
	u.bi_flags ^= 1U << BCH_INODE_has_child_snapshot;
	ret = bch_inode_pack(&u, &key.k, BKEY_U64s_MAX) ?:
	      bch_trans_update(&x->ns.t, BTREE_ID_inodes, 0, &key.k, 0);
	return ret ? bch_fsck_op_error(f, ret, "rewriting inode %llu:%u", (unsigned long long)inum, snap) : 1;
}

int ns_inode_versions(struct bch_fsck *f, u64 inum, struct snap_ids *v)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	v->nr = 0;
	bch_btree_iter_init(&it, f->c, BTREE_ID_inodes, SPOS(0, inum, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && !k.k->p.inode && k.k->p.offset == inum) {
		if (bkey_is_inode(k.k) && (ret = snap_ids_add(f, v, k.k->p.snapshot)))
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && !f->op_error)
		bch_fsck_op_error(f, ret, "reading inode %llu: %s", (unsigned long long)inum,
				  it.err.buf ?: "");
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

int ns_child_flags_queue(struct ns_fix *x, const struct bch_snapshot_table *t, u64 inum)
{
	struct bch_fsck *f = x->f;
	struct snap_ids v = { 0 };
	int ret = ns_fix_begin(x) ?: ns_inode_versions(f, inum, &v), queued = 0;

	for (size_t i = 0; ret >= 0 && i < v.nr; i++) {
		ret = child_flag_queue(x, inum, v.d[i], snap_ids_has_below(t, &v, i, v.d[i]));
		queued += ret > 0;
	}
	snap_ids_exit(&v);
	return ret < 0 ? ret : queued;
}

int ns_dir_sees_entry(struct bch_fsck *f, u64 dir, u32 snap)
{
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	struct btree_iter it;
	struct bkey_s_c k;
	u64 seen = 0;
	bool any = false;
	int ret;

	if (!t)
		return -BCH_ERR_nomem;
	bch_btree_iter_init(&it, f->c, BTREE_ID_dirents, SPOS(dir, 0, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == dir) {
		/* at one offset the nearest ancestor comes first: the version snap sees */
		if ((!any || k.k->p.offset != seen) && bch_snapshot_is_ancestor(t, snap, k.k->p.snapshot)) {
			if (k.k->type == KEY_TYPE_dirent)
				break;
			any = true;
			seen = k.k->p.offset;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		bch_fsck_op_error(f, ret, "reading directory %llu: %s", (unsigned long long)dir,
				  pb_cstr(&it.err));
	else
		ret = ret > 0 && k.k->p.inode == dir;
	bch_btree_iter_exit(&it);
	return ret;
}

int ns_fix_child_flags(struct ns_fix *x, u64 inum)
{
	const struct bch_snapshot_table *t = ns_snaps_get(x->f);
	int ret = t ? ns_child_flags_queue(x, t, inum) : -BCH_ERR_nomem;

	return ret > 0 ? ns_fix_commit(x, "inode flags") : ret;
}

int ns_fix_entry(struct ns_fix *x, struct ns_walker_entry *e, ns_inode_edit_fn fn, void *ctx)
{
	return ns_fix_inode(x, e->v->inum, e->snapshot, fn, ctx) ?:
	       (e->snapshot != e->v->snapshot ? ns_fix_child_flags(x, e->v->inum) : 0);
}

/* One key written (k) or deleted (k NULL, at pos), and committed. */
static int fix_key(struct ns_fix *x, enum btree_id btree, struct bpos pos, const struct bkey_i *k)
{
	int ret = ns_fix_begin(x);

	if (ret)
		return ret;
	ret = k ? bch_trans_update(&x->ns.t, btree, 0, k, 0) :
		  bch_trans_delete(&x->ns.t, btree, 0, pos, 0);
	if (ret) {
		bch_trans_reset(&x->ns.t);
		return bch_fsck_op_error(x->f, ret, k ? "updating a key" : "deleting a key");
	}
	if (btree == BTREE_ID_snapshots)
		x->f->snaps_loaded = false;
	return ns_fix_commit(x, k ? "an update" : "a deletion");
}

int ns_fix_delete(struct ns_fix *x, enum btree_id btree, struct bpos pos)
{
	return fix_key(x, btree, pos, NULL);
}

int ns_fix_put(struct ns_fix *x, enum btree_id btree, const struct bkey_i *k)
{
	return fix_key(x, btree, k->k.p, k);
}

/*
 * The root directory of snapshot snap's tree: the root of the tree's main
 * subvolume (the root subvolume's, 4096, when the tree names none).
 */
static int tree_root_inum(struct ns_fix *x, u32 snap, u64 *inum)
{
	const struct bch_snapshot_node *n = bch_snapshot_get(&x->f->snaps, snap);
	struct bch_snapshot_tree st;
	struct bch_subvolume sv;
	int ret = n ? ns_tree_get(x->f, n->tree, &st) : 0;

	*inum = BCACHEFS_ROOT_INO;
	if (ret > 0 && st.master_subvol)
		ret = ns_subvol_get(x->f, le32_to_cpu(st.master_subvol), &sv);
	if (ret > 0 && st.master_subvol)
		*inum = le64_to_cpu(sv.inode);
	return ret < 0 ? ret : 0;
}

static void nlink_inc(struct bch_inode_unpacked *u, void *ctx)
{
	(void)ctx;
	u->bi_nlink++;
}

/*
 * lost+found is made in the root snapshot of the tree, so every branch
 * shares it: the root directory's versions in the snapshots below, which
 * see it too, count one more subdirectory.
 */
static int lostfound_make(struct ns_fix *x, u64 root_inum, u32 snap)
{
	struct bch_create_args a = { .mode = 040700 };
	struct bch_inode_unpacked lf;
	struct btree_iter it;
	struct bkey_s_c k;
	struct snap_ids below = { 0 };
	u32 rs = snap_root(&x->f->snaps, snap);
	int ret;

	ret = ns_fix_at(x, rs) ?:
	      bch_ns_create(&x->ns, root_inum, "lost+found", &a, &lf, &x->f->err) ?:
	      ns_fix_commit(x, "lost+found");
	if (ret)
		return ret;
	bch_btree_iter_init(&it, x->f->c, BTREE_ID_inodes, SPOS(0, root_inum, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.offset == root_inum &&
	       k.k->p.snapshot < rs) {
		if (bkey_is_inode(k.k) && bch_snapshot_is_ancestor(&x->f->snaps, k.k->p.snapshot, rs) &&
		    (ret = snap_ids_add(x->f, &below, k.k->p.snapshot)))
			break;
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	for (size_t i = 0; i < below.nr && ret >= 0; i++)
		ret = ns_fix_inode(x, root_inum, below.d[i], nlink_inc, NULL);
	snap_ids_exit(&below);
	return ret < 0 ? ret : 0;
}

/* lost+found as snapshot snap sees it (the session left there), made if missing. */
static int lostfound_get(struct ns_fix *x, u64 root_inum, u32 snap, struct bch_inode_unpacked *lf)
{
	struct bch_inode_unpacked root;
	struct bch_dirent_target t;
	int ret;

	for (unsigned pass = 0; pass < 2; pass++) {
		ret = ns_fix_at(x, snap) ?:
		      bch_ns_inode_get(&x->ns, root_inum, &root, &x->f->err);
		if (ret)
			return ret;
		ret = bch_ns_dirent_lookup(&x->ns, &root, "lost+found", 10, &t, &x->f->err);
		if (ret < 0)
			return ret;
		if (ret)
			return bch_ns_inode_get(&x->ns, t.inum, lf, &x->f->err);
		if (pass || (ret = lostfound_make(x, root_inum, snap)))
			break;
	}
	if (!ret) {
		pb_str(&x->f->err, "lost+found not found after making it");
		ret = -BCH_ERR_not_found;
	}
	return ret;
}

int ns_fix_subvol_parent(struct ns_fix *x, u32 child, u32 parent)
{
	union snap_key k;
	struct bch_subvolume v;
	int ret = ns_val_get(x->f, BTREE_ID_subvolumes, KEY_TYPE_subvolume, child, &v, sizeof(v),
			     &k.k, SNAP_KEY_U64s);

	if (ret <= 0)
		return ret;
	v.fs_path_parent = cpu_to_le32(parent);
	snap_val_key(&k, KEY_TYPE_subvolume, child, &v, sizeof(v));
	/* the subvolume trigger moves its subvolume_children entry */
	return ns_fix_put(x, BTREE_ID_subvolumes, &k.k);
}

int ns_fix_reattach(struct ns_fix *x, u64 inum, u32 snap, u64 *dir_out, u64 *offset_out)
{
	struct bch_inode_unpacked lf, u;
	char name[24];
	u64 offset, root, target = inum;
	u32 dsnap = snap;
	unsigned dt;
	int ret = ns_fix_at(x, snap);

	if (ret)
		return ret;
	ret = bch_ns_inode_get(&x->ns, inum, &u, &x->f->err);
	if (ret)
		goto err;
	dt = bch_mode_to_dtype(u.bi_mode);
	if (u.bi_subvol) {
		struct bch_subvolume rv;

		/* a subvolume's root is named in lost+found of the root subvolume */
		ret = ns_subvol_get(x->f, BCH_NS_ROOT_SUBVOL, &rv);
		if (ret <= 0)
			return ret ?: bch_fsck_op_error(x->f, -BCH_ERR_fs_inconsistent,
						       "reattaching subvolume %llu: no root subvolume",
						       u.bi_subvol);
		dsnap = le32_to_cpu(rv.snapshot);
		snprintf(name, sizeof(name), "subvol-%llu", (unsigned long long)u.bi_subvol);
		target = u.bi_subvol | (u64)BCH_NS_ROOT_SUBVOL << 32;
		dt = DT_SUBVOL;
	} else {
		snprintf(name, sizeof(name), "%llu", (unsigned long long)inum);
	}
	ret = tree_root_inum(x, dsnap, &root) ?:
	      lostfound_get(x, root, dsnap, &lf);
	if (ret)
		goto err;
	/* lost+found gets a version of its own in the snapshot of the new name */
	lf.bi_nlink += bch_inode_is_subdir_for_nlink(&u);
	ret = bch_ns_inode_write(&x->ns, &lf, &x->f->err) ?:
	      bch_ns_dirent_create(&x->ns, &lf, name, strlen(name), dt, target, &offset, &x->f->err);
	if (ret)
		goto err;
	ret = ns_fix_commit(x, "a lost+found entry") ?:
	      ns_fix_at(x, snap);
	if (ret)
		return ret;
	u.bi_dir = lf.bi_inum;
	u.bi_dir_offset = offset;
	if (u.bi_subvol)
		u.bi_parent_subvol = BCH_NS_ROOT_SUBVOL;
	ret = bch_ns_inode_write(&x->ns, &u, &x->f->err);
	if (ret)
		goto err;
	*dir_out = lf.bi_inum;
	*offset_out = offset;
	/* u's version was there already; lost+found's may be new in dsnap */
	return ns_fix_commit(x, "a reattached inode") ?:
	       (u.bi_subvol ? ns_fix_subvol_parent(x, u.bi_subvol, BCH_NS_ROOT_SUBVOL) : 0) ?:
	       ns_fix_child_flags(x, lf.bi_inum);
err:
	bch_trans_reset(&x->ns.t);
	return bch_fsck_op_error(x->f, ret, "reattaching inode %llu:%u", (unsigned long long)inum, snap);
}

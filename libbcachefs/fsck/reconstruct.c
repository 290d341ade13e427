/*
 * Rebuilding what lost keys named, from the keys that name it: snapshot
 * nodes from the snapshot ids of the namespace keys, inodes from the
 * extents, dirents and xattrs of their numbers.  Each runs only when its
 * btree lost data (f->lost_data): otherwise a missing snapshot or inode
 * means its keys are the stray ones, and the passes delete them.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsck/passes.h"
#include "fsck/snap_common.h"
#include "btree/iter.h"
#include "fs/inode_alloc.h"
#include "keys/dirent.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/grow.h"
#include "util/names.h"

/* The btrees whose keys carry a snapshot id (btree_type_has_snapshots). */
static const enum btree_id snapshot_btrees[] = {
	BTREE_ID_extents, BTREE_ID_inodes, BTREE_ID_dirents, BTREE_ID_xattrs,
};

/* ---- snapshot nodes ---- */

/*
 * Snapshot ids met on keys of one object (an inode number) belong to one
 * tree: every id seen is a node, and ids seen on one object are joined.
 * The ids are few (one per snapshot), the keys many: a key costs a look
 * at the current object's short list, an object its ids' joins.
 */
struct snap_groups {
	u64 *ids;			/* sorted */
	size_t *up;			/* union-find: index of the parent, by index into ids */
	size_t nr, size;
	u64 *joins;			/* pairs of ids of one object (smaller << 32 | larger), sorted, unique */
	size_t nr_joins, joins_size;
	struct snap_ids cur;		/* the current object's ids */
	u64 cur_obj;
	bool have_cur;
};

/* Where v is, or goes, in the sorted a[0..nr). */
static size_t u64_slot(const u64 *a, size_t nr, u64 v)
{
	size_t l = 0, r = nr;

	while (l < r) {
		size_t m = l + (r - l) / 2;

		if (a[m] < v)
			l = m + 1;
		else
			r = m;
	}
	return l;
}

/* v into the sorted array a of unique values: 0, or -BCH_ERR_nomem. */
static int u64_insert(u64 **a, size_t *nr, size_t *size, u64 v)
{
	size_t at = u64_slot(*a, *nr, v);

	if (at < *nr && (*a)[at] == v)
		return 0;
	if (bch_grow(a, size, *nr, 16))
		return -BCH_ERR_nomem;
	memmove(&(*a)[at + 1], &(*a)[at], (*nr - at) * sizeof(**a));
	(*a)[at] = v;
	(*nr)++;
	return 0;
}

static size_t id_slot(const struct snap_groups *g, u32 id)
{
	return u64_slot(g->ids, g->nr, id);
}

static int join_add(struct snap_groups *g, u32 a, u32 b)
{
	return u64_insert(&g->joins, &g->nr_joins, &g->joins_size,
			  a < b ? (u64)a << 32 | b : (u64)b << 32 | a);
}

/* The current object is done: its ids become nodes, joined to its first. */
static int group_flush(struct snap_groups *g)
{
	int ret = 0;

	for (size_t i = 0; i < g->cur.nr && !ret; i++)
		ret = u64_insert(&g->ids, &g->nr, &g->size, g->cur.d[i]) ?:
		      (i ? join_add(g, g->cur.d[0], g->cur.d[i]) : 0);
	g->cur.nr = 0;
	return ret;
}

struct group_walk {
	struct snap_groups *g;
	enum btree_id btree;
};

static int group_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct group_walk *w = p;
	struct snap_groups *g = w->g;
	u64 obj = w->btree == BTREE_ID_inodes ? k.k->p.offset : k.k->p.inode;
	int ret = 0;

	if (!g->have_cur || obj != g->cur_obj) {
		ret = group_flush(g);
		if (ret)
			return bch_fsck_op_error(f, ret, "grouping snapshot ids");
		g->cur_obj = obj;
		g->have_cur = true;
	}
	/* snap_ids_add reports its own failure */
	return snap_ids_has(&g->cur, k.k->p.snapshot) ? 0 : snap_ids_add(f, &g->cur, k.k->p.snapshot);
}

static size_t uf_find(struct snap_groups *g, size_t i)
{
	while (g->up[i] != i) {
		g->up[i] = g->up[g->up[i]];
		i = g->up[i];
	}
	return i;
}

static void groups_exit(struct snap_groups *g)
{
	free(g->ids);
	free(g->up);
	free(g->joins);
	snap_ids_exit(&g->cur);
}

/* The ids of tree `root` (a union-find root index), for messages. */
static void group_text(struct printbuf *b, struct snap_groups *g, size_t root)
{
	unsigned n = 0;

	pb_reset(b);
	for (size_t i = g->nr; i-- > 0;)
		if (uf_find(g, i) == root && n++ < 8)
			pb_printf(b, "%s%u", n > 1 ? " " : "", (u32)g->ids[i]);
	if (n > 8)
		pb_printf(b, " and %u more", n - 8);
}

/* The lowest subvolume whose snapshot is id (0: none). */
struct subvol_of {
	u32 snap, subvol;
};

static int subvol_of_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct subvol_of *s = p;
	const struct bch_subvolume *v = k.v;

	if (k.k->type == KEY_TYPE_subvolume && bkey_val_bytes(k.k) >= 16 &&
	    le32_to_cpu(v->snapshot) == s->snap)
		s->subvol = k.k->p.offset;
	return s->subvol != 0;
}

/*
 * Missing node id, alone in its tree, is made again as a tree of its own
 * (a new snapshot_trees key naming it as root), as the kernel rebuilds it;
 * when a subvolume lives in it, the node names that subvolume too, which
 * the kernel leaves out and its later passes then cannot repair.  The new
 * tree names no subvolume: check_snapshot_trees picks it.
 */
static int node_make(struct snap_fix *s, u32 id)
{
	struct bch_fsck *f = s->x.f;
	struct subvol_of sv = { .snap = id };
	struct bch_snapshot v = {};
	struct bch_snapshot_tree st = {};
	u32 tree;
	int ret = snap_tree_id_next(f, &tree) ?:
		  ns_walk(f, BTREE_ID_subvolumes, subvol_of_key, &sv) ?:
		  ns_fix_begin(&s->x);

	if (ret)
		return ret;
	v.tree = cpu_to_le32(tree);
	v.btime_lo = cpu_to_le64(bch_ns_now(&s->x.ns));
	if (sv.subvol) {
		v.subvol = cpu_to_le32(sv.subvol);
		set_snapshot_is_subvol(&v, 1);
	}
	st.root_snapshot = cpu_to_le32(id);
	return snap_q_tree(s, tree, &st) ?: snap_q_snapshot(s, id, &v) ?:
	       snap_q_commit(s, "a snapshot node made again");
}

static int nodes_check(struct snap_fix *s, struct snap_groups *g)
{
	struct bch_fsck *f = s->x.f;
	struct printbuf ids = PRINTBUF;
	int ret = 0;

	/* parents have the larger ids: the roots come first */
	for (size_t i = g->nr; i-- > 0 && !ret;) {
		const struct bch_snapshot_table *t = ns_snaps_get(f);
		size_t root = uf_find(g, i), n = 0;

		if (!t) {
			ret = -BCH_ERR_nomem;
			break;
		}
		if (bch_snapshot_get(t, (u32)g->ids[i]))
			continue;
		for (size_t j = 0; j < g->nr; j++)
			n += uf_find(g, j) == root;
		group_text(&ids, g, root);
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_snapshot_node_missing,
				      "snapshot node %u of the tree of snapshots %s is missing, recreate",
				      (u32)g->ids[i], ids.buf))
			continue;
		if (n > 1) {
			ret = bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent,
						"snapshot node %u: its tree has %zu nodes (%s), whose parents cannot "
						"be told from the keys alone; nothing was changed for it",
						(u32)g->ids[i], n, ids.buf);
			break;
		}
		ret = node_make(s, (u32)g->ids[i]);
	}
	pb_exit(&ids);
	return ret;
}

int bch_reconstruct_snapshots(struct bch_fsck *f)
{
	struct snap_groups g = {};
	struct snap_fix s = { .x.f = f, .buf = PRINTBUF };
	int ret = 0;

	if (!(f->lost_data & (1ULL << BTREE_ID_snapshots)))
		return 0;
	for (unsigned b = 0; b < sizeof(snapshot_btrees) / sizeof(snapshot_btrees[0]) && !ret; b++) {
		struct group_walk w = { &g, snapshot_btrees[b] };

		g.have_cur = false;
		ret = ns_walk(f, w.btree, group_key, &w) ?: group_flush(&g);
	}
	if (!ret && g.nr && !(g.up = malloc(g.nr * sizeof(g.up[0]))))
		ret = -BCH_ERR_nomem;
	if (!ret) {
		for (size_t i = 0; i < g.nr; i++)
			g.up[i] = i;
		for (size_t i = 0; i < g.nr_joins; i++) {
			size_t a = uf_find(&g, id_slot(&g, g.joins[i] >> 32));
			size_t b = uf_find(&g, id_slot(&g, (u32)g.joins[i]));

			g.up[a > b ? b : a] = a > b ? a : b;
		}
		ret = nodes_check(&s, &g);
	}
	if (ret && !f->op_error)
		bch_fsck_op_error(f, ret, "reconstructing snapshot nodes");
	snap_fix_exit(&s);
	groups_exit(&g);
	return ret;
}

/* ---- inodes ---- */

/*
 * What the surviving dirents say of an inode that is gone: its type, how
 * many names it has and one of them, by (number, snapshot of the dirent).
 */
struct lost_target {
	u64 inum;
	u32 snap;
	u8 dtype;
	u32 links;
	u64 dir, dir_offset;
};

/* The versions one inode number's keys need, as its keys are walked. */
struct inode_need {
	u32 snap;
	u64 end;			/* extents: where the last one ends, in sectors */
};

struct inode_walk {
	struct ns_fix x;
	struct ns_itab *tab;
	enum btree_id btree;		/* whose keys are walked; BTREE_ID_NR: the dirents' targets */
	u64 inum;
	struct inode_need *need;
	size_t nr, size;
	struct snap_ids made;		/* versions made for inum */
	struct lost_target *lost;	/* sorted by inum, then snapshot */
	size_t nr_lost, lost_size;
};

static bool version_seen(struct inode_walk *w, const struct bch_snapshot_table *t, u64 inum, u32 snap)
{
	if (ns_itab_find_snap(t, w->tab, inum, snap))
		return true;
	for (size_t i = 0; inum == w->inum && i < w->made.nr; i++)
		if (bch_snapshot_is_ancestor(t, snap, w->made.d[i]))
			return true;
	return false;
}

static int lost_target_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct inode_walk *w = p;
	const struct bch_snapshot_table *t = ns_snaps_get(f);
	unsigned dt;
	u64 inum;

	if (k.k->type != KEY_TYPE_dirent || !ns_snapshot_exists(f, k.k->p.snapshot))
		return 0;
	dt = bch_dirent_type(k);
	inum = bch_dirent_inum(k);
	if (dt == DT_SUBVOL || version_seen(w, t, inum, k.k->p.snapshot))
		return 0;
	if (bch_grow(&w->lost, &w->lost_size, w->nr_lost, 16))
		return bch_fsck_op_error(f, -BCH_ERR_nomem, "lost inodes");
	w->lost[w->nr_lost++] = (struct lost_target) { inum, k.k->p.snapshot, dt, 1 };
	/* the name's place holds only while its directory keeps its hash seed, which a remade one does not */
	if (version_seen(w, t, k.k->p.inode, k.k->p.snapshot)) {
		w->lost[w->nr_lost - 1].dir = k.k->p.inode;
		w->lost[w->nr_lost - 1].dir_offset = k.k->p.offset;
	}
	return 0;
}

static int lost_cmp(const void *l, const void *r)
{
	const struct lost_target *a = l, *b = r;

	if (a->inum != b->inum)
		return a->inum < b->inum ? -1 : 1;
	if (a->snap != b->snap)
		return a->snap < b->snap ? -1 : 1;
	/* a name whose place holds first */
	return (a->dir == 0) - (b->dir == 0);
}

/* Sorted, one entry per (number, snapshot): its first name, its names counted. */
static void lost_sort(struct inode_walk *w)
{
	size_t n = 0;

	qsort(w->lost, w->nr_lost, sizeof(w->lost[0]), lost_cmp);
	for (size_t i = 0; i < w->nr_lost; i++) {
		struct lost_target *p = n ? &w->lost[n - 1] : NULL;

		if (p && p->inum == w->lost[i].inum && p->snap == w->lost[i].snap)
			p->links++;
		else
			w->lost[n++] = w->lost[i];
	}
	w->nr_lost = n;
}

static const struct lost_target *lost_find(const struct inode_walk *w, u64 inum, u32 snap)
{
	size_t l = 0, r = w->nr_lost;

	while (l < r) {
		size_t m = l + (r - l) / 2;
		const struct lost_target *e = &w->lost[m];

		if (e->inum < inum || (e->inum == inum && e->snap < snap))
			l = m + 1;
		else
			r = m;
	}
	return l < w->nr_lost && w->lost[l].inum == inum && w->lost[l].snap == snap ? &w->lost[l] : NULL;
}

/*
 * The lost inode's type: what a dirent naming it says, when the keys it
 * owns allow it, else the kernel's choice (a directory when dirents are
 * its own, else a regular file).  Its real mode bits are lost: rw for
 * the owner only.
 */
static unsigned lost_mode(enum btree_id owner, const struct lost_target *l)
{
	unsigned dt = l ? l->dtype : 0;
	bool fits = owner == BTREE_ID_extents ? dt == DT_REG || dt == DT_LNK :
		    owner == BTREE_ID_dirents ? dt == DT_DIR : dt && dt != DT_WHT;

	if (!fits)
		dt = owner == BTREE_ID_dirents ? DT_DIR : DT_REG;
	return dt << 12 | (dt == DT_DIR ? 0700 : 0600);
}

static int inode_make(struct inode_walk *w, u64 inum, u32 snap, u64 end)
{
	struct bch_fsck *f = w->x.f;
	const struct lost_target *l = lost_find(w, inum, snap);
	unsigned mode = lost_mode(w->btree, l);
	struct bch_inode_unpacked u;
	int ret;

	if (!bch_fsck_problem(f, BCH_FSCK_ERR_key_in_missing_inode,
			      "inode %llu:%u is missing and the inodes btree lost data: "
			      "made again (a %s) for %s",
			      (unsigned long long)inum, snap, bch_d_type_str(mode >> 12),
			      w->btree == BTREE_ID_NR ? "the dirents naming it" :
			      w->btree == BTREE_ID_extents ? "its extents" :
			      w->btree == BTREE_ID_dirents ? "its dirents" : "its xattrs"))
		return 0;
	ret = ns_fix_at(&w->x, snap);
	if (ret)
		return ret;
	bch_ns_inode_init(&w->x.ns, &u, NULL, mode, 0, 0, 0, bch_ns_now(&w->x.ns));
	u.bi_inum = inum;
	u.bi_snapshot = snap;
	u.bi_size = end << 9;
	if (l) {
		/* a name it had (the link count is check_nlinks' to set) */
		u.bi_dir = l->dir;
		u.bi_dir_offset = l->dir_offset;
		if (!S_ISDIR(mode))
			u.bi_nlink = l->links - 1;
	}
	ret = bch_ns_inode_write(&w->x.ns, &u, &f->err);
	if (ret) {
		bch_trans_reset(&w->x.ns.t);
		return bch_fsck_op_error(f, ret, "making inode %llu:%u again", (unsigned long long)inum, snap);
	}
	ret = ns_fix_commit(&w->x, "an inode made again");
	return ret ?: inum == w->inum ? snap_ids_add(f, &w->made, snap) : 0;
}

static int need_cmp(const void *l, const void *r)
{
	const struct inode_need *a = l, *b = r;

	return a->snap < b->snap ? 1 : a->snap > b->snap ? -1 : 0;
}

/* The number's keys are all seen: the versions none of them finds are made, ancestors first. */
static int inode_flush(struct inode_walk *w)
{
	const struct bch_snapshot_table *t = ns_snaps_get(w->x.f);
	int ret = t ? 0 : -BCH_ERR_nomem;

	qsort(w->need, w->nr, sizeof(w->need[0]), need_cmp);
	for (size_t i = 0; i < w->nr && !ret; i++)
		if (!version_seen(w, t, w->inum, w->need[i].snap))
			ret = inode_make(w, w->inum, w->need[i].snap, w->need[i].end);
	w->nr = 0;
	w->made.nr = 0;
	return ret;
}

static int inode_need_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct inode_walk *w = p;
	u32 snap = k.k->p.snapshot;
	size_t i;
	int ret = 0;

	if (k.k->type == KEY_TYPE_whiteout || k.k->type == KEY_TYPE_deleted ||
	    !ns_snapshot_exists(f, snap))
		return 0;
	if (k.k->p.inode != w->inum) {
		ret = inode_flush(w);
		w->inum = k.k->p.inode;
	}
	for (i = 0; i < w->nr && w->need[i].snap != snap; i++)
		;
	if (!ret && i == w->nr) {
		if (bch_grow(&w->need, &w->size, w->nr, 4))
			return bch_fsck_op_error(f, -BCH_ERR_nomem, "inodes to make again");
		w->need[w->nr++] = (struct inode_need) { .snap = snap };
	}
	if (!ret && w->btree == BTREE_ID_extents && k.k->p.offset > w->need[i].end)
		w->need[i].end = k.k->p.offset;
	return ret;
}

/*
 * Inodes lost with a node of the inodes btree are made again from what
 * still names them: for the extents, dirents and xattrs they own (as the
 * kernel's fsck does, instead of deleting those keys), and, beyond the
 * kernel, for the dirents that name them, which also give their type,
 * a name to point back to and their number of links.  Their data, names
 * and place in the tree survive; permissions, owner and times do not.
 */
int bch_reconstruct_inodes(struct bch_fsck *f)
{
	static const enum btree_id owners[] = { BTREE_ID_extents, BTREE_ID_dirents, BTREE_ID_xattrs };
	struct inode_walk w = { .x.f = f };
	int ret = 0;

	if (!(f->lost_data & (1ULL << BTREE_ID_inodes)))
		return 0;
	w.inum = ~0ULL;
	ret = ns_itab_get(f, &w.tab) ?: ns_walk(f, BTREE_ID_dirents, lost_target_key, &w);
	lost_sort(&w);
	for (unsigned b = 0; b < sizeof(owners) / sizeof(owners[0]) && !ret; b++) {
		w.btree = owners[b];
		w.inum = 0;
		w.nr = 0;
		ret = ns_itab_get(f, &w.tab) ?:
		      ns_walk(f, w.btree, inode_need_key, &w) ?:
		      inode_flush(&w);
	}
	/* the dirents' targets that own no key: empty files, symlinks, devices, ... */
	w.btree = BTREE_ID_NR;
	w.inum = ~0ULL;
	ret = ret ?: ns_itab_get(f, &w.tab);
	/* backwards: a number's larger snapshot ids, its ancestors, first */
	for (size_t i = w.nr_lost; i-- > 0 && !ret;) {
		const struct bch_snapshot_table *t = ns_snaps_get(f);

		/* versions made for this number count for its later (descendant) entries */
		if (w.lost[i].inum != w.inum) {
			w.inum = w.lost[i].inum;
			w.made.nr = 0;
		}
		if (!t)
			ret = -BCH_ERR_nomem;
		else if (!version_seen(&w, t, w.lost[i].inum, w.lost[i].snap))
			ret = inode_make(&w, w.lost[i].inum, w.lost[i].snap, 0);
	}
	ns_fix_end(&w.x);
	free(w.need);
	free(w.lost);
	snap_ids_exit(&w.made);
	return ret;
}

/* The snapshot passes' shared pieces: reads and queued writes of the small btrees, parent walks, id lists, inode child flags. */
#include <stdlib.h>
#include <string.h>

#include "fsck/snap_common.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/names.h"

/* ---- reading and writing the small btrees ---- */

int snap_key_get(struct bch_fsck *f, enum btree_id btree, struct bpos pos, union snap_key *k)
{
	struct btree_trans t;
	int ret;

	bch_trans_init(&t, f->c);
	ret = bch_trans_lookup(&t, btree, 0, pos, &k->k, SNAP_KEY_U64s, &f->err);
	bch_trans_exit(&t);
	if (ret < 0)
		return bch_fsck_op_error(f, ret, "reading %s %llu:%llu", bch_btree_id_names[btree],
					 (unsigned long long)pos.inode, (unsigned long long)pos.offset);
	return ret;
}

int snap_snapshot_get(struct bch_fsck *f, u32 id, struct bch_snapshot *v, union snap_key *k)
{
	union snap_key tmp;

	return ns_val_get(f, BTREE_ID_snapshots, KEY_TYPE_snapshot, id, v, sizeof(*v),
			  &(k ?: &tmp)->k, SNAP_KEY_U64s);
}

static int last_tree_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	if (!k.k->p.inode)
		*(u64 *)p = k.k->p.offset;
	return 0;
}

int snap_tree_id_next(struct bch_fsck *f, u32 *id)
{
	u64 last = 0;
	int ret = ns_walk(f, BTREE_ID_snapshot_trees, last_tree_key, &last);

	if (!ret && last >= 0xffffffffULL)
		ret = bch_fsck_op_error(f, -BCH_ERR_fs_inconsistent, "no snapshot tree id left");
	*id = last + 1;
	return ret;
}

/* An update of btree was queued (ret 0) or failed: counted, or the session reset and the failure said. */
static int snap_q_done(struct snap_fix *s, enum btree_id btree, int ret)
{
	if (ret && !s->x.f->op_error) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(s->x.f, ret, "updating %s", bch_btree_id_names[btree]);
	}
	s->snaps_dirty |= btree == BTREE_ID_snapshots;
	s->queued++;
	return ret;
}

int snap_q_put(struct snap_fix *s, enum btree_id btree, const struct bkey_i *k, unsigned flags)
{
	return snap_q_done(s, btree, ns_fix_begin(&s->x) ?:
			   bch_trans_update(&s->x.ns.t, btree, 0, k, flags));
}

int snap_q_del(struct snap_fix *s, enum btree_id btree, struct bpos pos)
{
	return snap_q_done(s, btree, ns_fix_begin(&s->x) ?:
			   bch_trans_delete(&s->x.ns.t, btree, 0, pos, 0));
}

/* A value at POS(0, id) of btree, queued. */
static int q_val(struct snap_fix *s, enum btree_id btree, unsigned type, u64 id,
		 const void *v, size_t bytes)
{
	union snap_key k;

	snap_val_key(&k, type, id, v, bytes);
	return snap_q_put(s, btree, &k.k, 0);
}

int snap_q_snapshot(struct snap_fix *s, u32 id, const struct bch_snapshot *v)
{
	return q_val(s, BTREE_ID_snapshots, KEY_TYPE_snapshot, id, v, sizeof(*v));
}

int snap_q_tree(struct snap_fix *s, u32 id, const struct bch_snapshot_tree *v)
{
	return q_val(s, BTREE_ID_snapshot_trees, KEY_TYPE_snapshot_tree, id, v, sizeof(*v));
}

int snap_q_child_entry(struct snap_fix *s, u32 parent, u32 child, bool set)
{
	struct bkey_i k = { .k = { .u64s = BKEY_U64s, .format_whiteout = KEY_FORMAT_CURRENT,
				   .type = set ? KEY_TYPE_set : KEY_TYPE_deleted,
				   .p = POS(parent, child) } };

	return snap_q_put(s, BTREE_ID_subvolume_children, &k, 0);
}

int snap_q_subvol(struct snap_fix *s, u32 id, const struct bch_subvolume *v)
{
	return v ? q_val(s, BTREE_ID_subvolumes, KEY_TYPE_subvolume, id, v, sizeof(*v)) :
		   snap_q_del(s, BTREE_ID_subvolumes, POS(0, id));
}

int snap_q_commit(struct snap_fix *s, const char *what)
{
	int ret;

	if (!s->queued)
		return 0;
	ret = ns_fix_commit(&s->x, what);
	if (s->snaps_dirty)
		s->x.f->snaps_loaded = false;
	s->snaps_dirty = false;
	s->queued = 0;
	return ret;
}

void snap_fix_exit(struct snap_fix *s)
{
	ns_fix_end(&s->x);
	pb_exit(&s->buf);
}

struct snap_walk_ctx {
	struct snap_fix *s;
	snap_key_fn fn;
	void *ctx;
};

static int snap_walk_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct snap_walk_ctx *w = p;

	return w->fn(w->s, k, w->ctx);
}

int snap_walk(struct snap_fix *s, enum btree_id btree, snap_key_fn fn, void *ctx)
{
	struct snap_walk_ctx w = { s, fn, ctx };

	return ns_walk(s->x.f, btree, snap_walk_key, &w);
}

/* ---- the snapshot table, walked by parent pointers only ---- */

bool snap_is_ancestor(const struct bch_snapshot_table *t, u32 id, u32 anc)
{
	while (id && id < anc) {
		const struct bch_snapshot_node *n = bch_snapshot_get(t, id);

		if (!n || n->parent <= id)
			return false;
		id = n->parent;
	}
	return id == anc;
}

u32 snap_root(const struct bch_snapshot_table *t, u32 id)
{
	const struct bch_snapshot_node *n;

	while ((n = bch_snapshot_get(t, id)) && n->parent > id)
		id = n->parent;
	return id;
}

u32 snap_nth_parent(const struct bch_snapshot_table *t, u32 id, u32 nth)
{
	const struct bch_snapshot_node *n;

	while (nth-- && (n = bch_snapshot_get(t, id)) && n->parent > id)
		id = n->parent;
	return id;
}

u32 snap_tree_oldest_subvol(const struct bch_snapshot_table *t, u32 id)
{
	u32 best = 0;

	for (size_t i = 0; i < t->nr; i++) {
		const struct bch_snapshot_node *n = &t->n[i];

		if (n->is_subvol && n->subvol && (!best || n->subvol < best) &&
		    snap_is_ancestor(t, n->id, id))
			best = n->subvol;
	}
	return best;
}

int snap_inode_get(struct bch_fsck *f, u64 inum, u32 snap, struct bch_inode_unpacked *u)
{
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } k;
	int ret = ns_key_visible(f, BTREE_ID_inodes, 0, inum, snap, &k.k, BKEY_U64s_MAX);

	if (ret <= 0)
		return ret;
	return bkey_is_inode(&k.k.k) && !bch_inode_unpack(bkey_i_to_s_c(&k.k), u);
}

static int u32_cmp(const void *l, const void *r)
{
	u32 a = *(const u32 *)l, b = *(const u32 *)r;

	return a < b ? -1 : a > b;
}

void snap_skip_sort(struct bch_snapshot *v)
{
	u32 skip[3];

	for (unsigned i = 0; i < 3; i++)
		skip[i] = le32_to_cpu(v->skip[i]);
	qsort(skip, 3, sizeof(skip[0]), u32_cmp);
	for (unsigned i = 0; i < 3; i++)
		v->skip[i] = cpu_to_le32(skip[i]);
}

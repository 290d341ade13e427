/* The snapshots btree in memory: each snapshot's parent, skiplist and subvolume, and which snapshots see which keys. */
#include <stdlib.h>
#include <string.h>

#include "fs/snapshot_table.h"
#include "btree/iter.h"
#include "keys/key_ops.h"
#include "util/errcode.h"
#include "util/grow.h"

void bch_snapshot_table_exit(struct bch_snapshot_table *t)
{
	free(t->n);
	t->n = NULL;
	t->nr = 0;
}

int bch_snapshot_table_load(struct bch_fs *c, struct bch_snapshot_table *t, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	size_t size = 0;
	int ret;

	bch_snapshot_table_exit(t);
	bch_btree_iter_init(&it, c, BTREE_ID_snapshots, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		struct bch_snapshot v;
		struct bch_snapshot_node *n;

		bch_btree_iter_advance(&it);
		/* keys are in id order: the table is sorted as it is read */
		if (k.k->type != KEY_TYPE_snapshot || k.k->p.inode || !k.k->p.offset ||
		    k.k->p.offset > 0xffffffffULL)
			continue;
		ret = bch_grow(&t->n, &size, t->nr, 16);
		if (ret)
			break;
		/* older snapshot keys end before depth and skiplist: those read as 0 */
		bkey_val_copy(&v, sizeof(v), k);
		n = &t->n[t->nr++];
		n->id = k.k->p.offset;
		n->parent = le32_to_cpu(v.parent);
		for (unsigned i = 0; i < 3; i++)
			n->skip[i] = le32_to_cpu(v.skip[i]);
		n->subvol = le32_to_cpu(v.subvol);
		n->tree = le32_to_cpu(v.tree);
		n->depth = le32_to_cpu(v.depth);
		n->is_subvol = snapshot_is_subvol(&v);
		n->deleted = snapshot_deleted(&v);
	}
	if (ret < 0)
		pb_printf(err, "reading the snapshots btree: %s", it.err.buf ?: bch_err_str(ret));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

static int node_cmp(const void *key, const void *elem)
{
	u32 id = *(const u32 *)key, e = ((const struct bch_snapshot_node *)elem)->id;

	return id < e ? -1 : id > e;
}

const struct bch_snapshot_node *bch_snapshot_get(const struct bch_snapshot_table *t, u32 id)
{
	return t->nr ? bsearch(&id, t->n, t->nr, sizeof(*t->n), node_cmp) : NULL;
}

bool bch_snapshot_is_ancestor(const struct bch_snapshot_table *t, u32 id, u32 anc)
{
	while (id && id < anc) {
		const struct bch_snapshot_node *n = bch_snapshot_get(t, id);
		u32 next;

		if (!n)
			return false;
		/*
		 * Every ancestor of id not above anc lies between the two on
		 * the way up: the furthest such skip entry is a safe jump.
		 */
		next = n->parent;
		for (unsigned i = 0; i < 3; i++)
			if (n->skip[i] > next && n->skip[i] <= anc)
				next = n->skip[i];
		if (next <= id)
			return false;
		id = next;
	}
	return id == anc;
}

int bch_snapshot_key_get(struct bch_fs *c, const struct bch_snapshot_table *t, enum btree_id btree,
			 u64 inode, u64 offset, u32 snap, struct bkey_i *k, unsigned u64s,
			 struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c c2;
	int ret;

	bch_btree_iter_init(&it, c, btree, SPOS(inode, offset, snap), 0);
	while ((ret = bch_btree_iter_peek(&it, &c2)) > 0) {
		if (c2.k->p.inode != inode || c2.k->p.offset != offset) {
			ret = 0;
			break;
		}
		if (bch_snapshot_is_ancestor(t, snap, c2.k->p.snapshot)) {
			if (c2.k->u64s > u64s) {
				pb_printf(err, "key at %llu:%llu:%u of %u u64s: too large",
					  (unsigned long long)inode, (unsigned long long)offset,
					  c2.k->p.snapshot, c2.k->u64s);
				ret = -BCH_ERR_bad_argument;
				break;
			}
			k->k = *c2.k;
			memcpy(k->v, c2.v, bkey_val_bytes(c2.k));
			ret = 1;
			break;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && it.err.pos)
		pb_str(err, pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret;
}

void bch_snapshots_seen_exit(struct bch_snapshots_seen *s)
{
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

int bch_snapshots_seen_add(struct bch_snapshots_seen *s, struct bpos pos)
{
	if (s->pos.inode != pos.inode || s->pos.offset != pos.offset)
		s->nr = 0;
	s->pos = pos;
	if (s->nr && s->ids[s->nr - 1] == pos.snapshot)
		return 0;
	int ret = bch_grow(&s->ids, &s->size, s->nr, 8);

	if (ret)
		return ret;
	s->ids[s->nr++] = pos.snapshot;
	return 0;
}

bool bch_snapshot_key_visible(const struct bch_snapshot_table *t,
			      const struct bch_snapshots_seen *s, u32 id, u32 anc)
{
	if (id == anc)
		return true;
	if (!bch_snapshot_is_ancestor(t, id, anc))
		return false;
	/* a key between them hides anc's: the ids in [id, anc) that id descends from */
	for (size_t i = 0; i < s->nr; i++) {
		u32 x = s->ids[i];

		if (x >= id && x < anc && bch_snapshot_is_ancestor(t, id, x))
			return false;
	}
	return true;
}

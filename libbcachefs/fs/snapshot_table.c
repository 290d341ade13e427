/* The snapshots btree in memory: each snapshot's parent, skiplist and subvolume, and which snapshots see which keys. */
#include <stdlib.h>
#include <string.h>

#include "fs/snapshot_table.h"
#include "btree/iter.h"
#include "util/errcode.h"

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
		struct bch_snapshot v = { 0 };
		struct bch_snapshot_node *n;
		size_t bytes = bkey_val_bytes(k.k);

		bch_btree_iter_advance(&it);
		/* keys are in id order: the table is sorted as it is read */
		if (k.k->type != KEY_TYPE_snapshot || k.k->p.inode || !k.k->p.offset ||
		    k.k->p.offset > 0xffffffffULL)
			continue;
		if (t->nr == size) {
			size = size ? size * 2 : 16;
			n = realloc(t->n, size * sizeof(*n));
			if (!n) {
				ret = -BCH_ERR_nomem;
				break;
			}
			t->n = n;
		}
		/* older snapshot keys end before depth and skiplist: those read as 0 */
		memcpy(&v, k.v, bytes < sizeof(v) ? bytes : sizeof(v));
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

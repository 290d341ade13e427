/* The namespace passes' shared pieces: the sorted inode table, the repair session, deletes, reattaching to lost+found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck/ns_common.h"
#include "btree/iter.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "keys/key_types.h"
#include "util/errcode.h"

static int itab_push(struct ns_itab *t, const struct bch_inode_unpacked *u)
{
	if (t->nr == t->size) {
		size_t size = t->size ? t->size * 2 : 256;
		struct ns_inode *d = realloc(t->d, size * sizeof(*d));

		if (!d)
			return -BCH_ERR_nomem;
		t->d = d;
		t->size = size;
	}
	t->d[t->nr++] = (struct ns_inode) {
		.inum = u->bi_inum, .size = u->bi_size, .sectors = u->bi_sectors,
		.dir = u->bi_dir, .dir_offset = u->bi_dir_offset, .hash_seed = u->bi_hash_seed, .flags = u->bi_flags,
		.nlink = u->bi_nlink, .subvol = u->bi_subvol, .mode = u->bi_mode,
	};
	return 0;
}

/* Inodes come in key order, so the table is sorted as it fills. */
static int itab_load(struct bch_fsck *f, struct ns_itab *t)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	t->nr = 0;
	bch_btree_iter_init(&it, f->c, BTREE_ID_inodes, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		struct bch_inode_unpacked u;

		if (bkey_is_inode(k.k) && k.k->p.snapshot == BCH_NS_ROOT_SNAPSHOT && !bch_inode_unpack(k, &u) &&
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
 * adds each inode of the root snapshot (the caller skips the others), in
 * key order, and ns_itab_fill_end
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
		/* widen: d[l].inum <= inum < d[r].inum (r == nr: past the end) */
		while (l > 0 && t->d[l].inum > inum) {
			r = l;
			l = l > step ? l - step : 0;
			step *= 2;
		}
		step = 8;
		while (r < t->nr && t->d[r].inum <= inum) {
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

int ns_fix_begin(struct ns_fix *x)
{
	int ret;

	if (x->started)
		return 0;
	ret = bch_fsck_start_write(x->f);
	if (ret)
		return ret;
	ret = bch_ns_init(&x->ns, x->f->c, &x->f->err);
	if (ret)
		return bch_fsck_op_error(x->f, ret, "starting a namespace session");
	x->started = true;
	return 0;
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

int ns_fix_inode(struct ns_fix *x, u64 inum, ns_inode_edit_fn fn, void *ctx)
{
	struct bch_inode_unpacked u;
	int ret = ns_fix_begin(x);

	if (ret)
		return ret;
	ret = bch_ns_inode_get(&x->ns, inum, &u, &x->f->err);
	if (!ret) {
		fn(&u, ctx);
		ret = bch_ns_inode_write(&x->ns, &u, &x->f->err);
	}
	if (ret) {
		bch_trans_reset(&x->ns.t);
		return bch_fsck_op_error(x->f, ret, "rewriting inode %llu", (unsigned long long)inum);
	}
	return ns_fix_commit(x, "an inode");
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

static int lostfound_get(struct ns_fix *x, struct bch_inode_unpacked *lf)
{
	struct bch_inode_unpacked root;
	struct bch_dirent_target t;
	struct bch_create_args a = { .mode = 040700 };
	int ret = bch_ns_inode_get(&x->ns, BCACHEFS_ROOT_INO, &root, &x->f->err);

	if (ret)
		return ret;
	ret = bch_ns_dirent_lookup(&x->ns, &root, "lost+found", 10, &t, &x->f->err);
	if (ret < 0)
		return ret;
	if (ret)
		return bch_ns_inode_get(&x->ns, t.inum, lf, &x->f->err);
	return bch_ns_create(&x->ns, BCACHEFS_ROOT_INO, "lost+found", &a, lf, &x->f->err);
}

int ns_fix_reattach(struct ns_fix *x, u64 inum)
{
	struct bch_inode_unpacked lf, u;
	char name[24];
	u64 offset;
	int ret = ns_fix_begin(x);

	if (ret)
		return ret;
	ret = lostfound_get(x, &lf) ?:
	      bch_ns_inode_get(&x->ns, inum, &u, &x->f->err);
	if (ret)
		goto err;
	snprintf(name, sizeof(name), "%llu", (unsigned long long)inum);
	if (bch_inode_is_subdir_for_nlink(&u)) {
		lf.bi_nlink++;
		ret = bch_ns_inode_write(&x->ns, &lf, &x->f->err);
		if (ret)
			goto err;
	}
	ret = bch_ns_dirent_create(&x->ns, &lf, name, strlen(name), bch_mode_to_dtype(u.bi_mode),
				   inum, &offset, &x->f->err);
	if (ret)
		goto err;
	u.bi_dir = lf.bi_inum;
	u.bi_dir_offset = offset;
	ret = bch_ns_inode_write(&x->ns, &u, &x->f->err);
	if (ret)
		goto err;
	return ns_fix_commit(x, "a reattached inode");
err:
	bch_trans_reset(&x->ns.t);
	return bch_fsck_op_error(x->f, ret, "reattaching inode %llu", (unsigned long long)inum);
}

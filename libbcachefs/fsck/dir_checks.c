/* fsck passes over the hashed btrees: directory entries (placement, targets, backpointers, d_type, subdirectory counts) and xattrs. */
#include <stdlib.h>
#include <string.h>

#include "fsck/ns_common.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "fs/xattr_ops.h"
#include "keys/dirent.h"
#include "keys/key_types.h"
#include "util/errcode.h"

#define DT_SUBVOL	16

struct hash_ctx {
	struct bch_fsck *f;
	const struct bch_hash_desc *desc;
	struct ns_fix x;
	struct ns_itab *tab;
	struct ns_inode *cur;		/* the owner of the keys being walked */
	u64 cur_inum;
	bool cur_bad;			/* its keys were reported (missing owner) */
	struct printbuf buf;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } key;	/* a key being moved or rewritten */
	/*
	 * The offsets (in the current owner) that keys were moved forward to,
	 * a min-heap: the walk reaches them again and must not count them twice.
	 */
	u64 *moved;
	size_t nr_moved, moved_size;
};

static int moved_push(struct hash_ctx *s, u64 offset)
{
	size_t i = s->nr_moved;

	if (i == s->moved_size) {
		size_t n = i ? i * 2 : 16;
		u64 *m = realloc(s->moved, n * sizeof(*m));

		if (!m)
			return bch_fsck_op_error(s->f, -BCH_ERR_nomem, "remembering moved hashed keys");
		s->moved = m;
		s->moved_size = n;
	}
	for (s->nr_moved++; i && s->moved[(i - 1) / 2] > offset; i = (i - 1) / 2)
		s->moved[i] = s->moved[(i - 1) / 2];
	s->moved[i] = offset;
	return 0;
}

static void moved_pop(struct hash_ctx *s)
{
	u64 last = s->moved[--s->nr_moved];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < s->nr_moved) {
		if (c + 1 < s->nr_moved && s->moved[c + 1] < s->moved[c])
			c++;
		if (last <= s->moved[c])
			break;
		s->moved[i] = s->moved[c];
		i = c;
	}
	if (s->nr_moved)
		s->moved[i] = last;
}

/* 1 when the walk has come to a key it already checked (moved there), 0 otherwise. */
static bool moved_here(struct hash_ctx *s, struct bkey_s_c k)
{
	bool here = false;

	while (s->nr_moved && s->moved[0] <= k.k->p.offset) {
		here |= s->moved[0] == k.k->p.offset;
		moved_pop(s);
	}
	return here;
}

static struct bch_hash_info owner_hash(const struct ns_inode *i)
{
	return (struct bch_hash_info) { (i->flags >> 20) & 15, i->hash_seed };
}

/* Every slot from hash up to k's is occupied: else k is at a wrong offset. */
static int hash_chain_ok(struct hash_ctx *s, struct bkey_s_c k, u64 hash)
{
	struct btree_iter it;
	struct bkey_s_c k2;
	u64 want = hash;
	int ret;

	if (k.k->p.offset < hash)
		return 0;
	bch_btree_iter_init(&it, s->f->c, s->desc->btree, SPOS(k.k->p.inode, hash, k.k->p.snapshot), 0);
	while ((ret = bch_btree_iter_peek(&it, &k2)) > 0) {
		if (k2.k->p.inode != k.k->p.inode || k2.k->p.offset != want) {
			ret = 0;
			break;
		}
		if (bpos_ge(k2.k->p, k.k->p)) {
			ret = 1;
			break;
		}
		want++;
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	return ret;
}

/* Moves k (copied into s->key) to the first free slot of its probe chain; 1 when done. */
static int hash_redo(struct hash_ctx *s, struct bkey_s_c k, u64 hash)
{
	struct bch_hash_info info = owner_hash(s->cur);
	u64 pos;
	int ret = ns_fix_begin(&s->x);

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
	       (pos > k.k->p.offset ? moved_push(s, pos) : 0) ?: 1;
}

/* 0: in place; 1: moved (s->key holds it at its new slot); or an error. */
static int hash_check(struct hash_ctx *s, struct bkey_s_c k)
{
	struct bch_hash_info info = owner_hash(s->cur);
	u64 hash;
	int ret;

	if (k.k->type != s->desc->key_type)
		return 0;
	hash = s->desc->hash_bkey(&info, k);
	if (hash == k.k->p.offset)
		return 0;
	ret = hash_chain_ok(s, k, hash);
	if (ret)
		return ret < 0 ? ret : 0;
	pb_reset(&s->buf);
	bch_bkey_val_to_text(&s->buf, s->f->c, k);
	if (!bch_fsck_problem(s->f, BCH_FSCK_ERR_hash_table_key_wrong_offset,
			      "hash table key at wrong offset: btree %s inode %llu offset %llu, hashed to %llu\n%s",
			      s->desc->btree == BTREE_ID_dirents ? "dirents" : "xattrs",
			      (unsigned long long)k.k->p.inode, (unsigned long long)k.k->p.offset,
			      (unsigned long long)hash, s->buf.buf))
		return 0;
	return hash_redo(s, k, hash);
}

/* A new owner: 0 with s->cur set, 1 when its keys are to be skipped, or an error. */
static int owner_change(struct hash_ctx *s, struct bkey_s_c k)
{
	int ret;

	s->cur_inum = k.k->p.inode;
	s->nr_moved = 0;
	ret = ns_key_has_inode(s->f, &s->x, s->tab, s->desc->btree, k, &s->buf, &s->cur);
	s->cur_bad = ret != 0;
	if (s->cur)
		s->cur->count = 0;
	return ret;
}

/* ---- dirents ---- */

static void dir_set_nlink(struct bch_inode_unpacked *u, void *ctx)
{
	u->bi_nlink = *(u32 *)ctx;
}

static int subdir_count_check(struct hash_ctx *s)
{
	struct ns_inode *d = s->cur;

	if (!d || s->cur_bad || d->nlink == d->count)
		return 0;
	if (!bch_fsck_problem(s->f, BCH_FSCK_ERR_inode_dir_wrong_nlink,
			      "directory %llu:%u with wrong i_nlink: got %u, should be %u",
			      (unsigned long long)d->inum, BCH_NS_ROOT_SNAPSHOT, d->nlink, d->count))
		return 0;
	d->nlink = d->count;
	return ns_fix_inode(&s->x, d->inum, dir_set_nlink, &d->count);
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

static int dirent_delete(struct hash_ctx *s, struct bpos p)
{
	struct bch_inode_unpacked dir;
	int ret = ns_fix_begin(&s->x) ?:
		  bch_ns_inode_get(&s->x.ns, p.inode, &dir, &s->f->err) ?:
		  bch_ns_dirent_delete(&s->x.ns, &dir, p.offset, &s->f->err);

	if (ret) {
		bch_trans_reset(&s->x.ns.t);
		return bch_fsck_op_error(s->f, ret, "deleting dirent %llu:%llu",
					 (unsigned long long)p.inode, (unsigned long long)p.offset);
	}
	return ns_fix_commit(&s->x, "a dirent deletion") ?: 1;
}

static int bp_dirent_exists(struct hash_ctx *s, const struct ns_inode *t)
{
	struct btree_trans tr;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } bk;
	int ret;

	bch_trans_init(&tr, s->f->c);
	ret = bch_trans_lookup(&tr, BTREE_ID_dirents, 0, SPOS(t->dir, t->dir_offset, BCH_NS_ROOT_SNAPSHOT),
			       &bk.k, BCH_HASH_KEY_U64s, &s->f->err);
	bch_trans_exit(&tr);
	return ret > 0 ? bk.k.k.type == KEY_TYPE_dirent : ret;
}

/* The target's backpointer names this dirent: 0, 1 when the dirent went, or an error. */
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
					 "directory %llu with missing backpointer", (unsigned long long)t->inum);
		if (ns_unlinked(t))
			bch_fsck_problem(f, BCH_FSCK_ERR_inode_unlinked_but_has_dirent,
					 "inode %llu unlinked but has dirent", (unsigned long long)t->inum);
		goto set;
	}
	if ((is_dir || !t->nlink) &&
	    !bch_fsck_problem(f, BCH_FSCK_ERR_inode_wrong_backpointer,
			      "dirent %llu:%llu points to inode %llu that does not point back",
			      (unsigned long long)e.dir, (unsigned long long)e.offset, (unsigned long long)t->inum))
		return 0;
	ret = bp_dirent_exists(s, t);
	if (ret < 0)
		return ret;
	if (!ret) {
		if (!bch_fsck_problem(f, BCH_FSCK_ERR_inode_wrong_backpointer,
				      "inode %llu:%u has wrong backpointer: got %llu:%llu, should be %llu:%llu",
				      (unsigned long long)t->inum, BCH_NS_ROOT_SNAPSHOT,
				      (unsigned long long)t->dir, (unsigned long long)t->dir_offset,
				      (unsigned long long)e.dir, (unsigned long long)e.offset))
			return 0;
		goto set;
	}
	if (is_dir || t->subvol) {
		if (bch_fsck_problem(f, BCH_FSCK_ERR_inode_dir_multiple_links,
				     "directory %llu with multiple links", (unsigned long long)t->inum))
			return dirent_delete(s, k.k->p);
		return 0;
	}
	fix = !t->nlink && bch_fsck_problem(f, BCH_FSCK_ERR_inode_multiple_links_but_nlink_0,
					    "inode %llu has multiple links but i_nlink 0",
					    (unsigned long long)t->inum);
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
	return ns_fix_inode(&s->x, t->inum, set_backpointer, &e);
}

static int dtype_fix(struct hash_ctx *s, struct bkey_s_c k, unsigned dt)
{
	int ret = ns_fix_begin(&s->x) ?:
		  bch_ns_dirent_put(&s->x.ns, k.k->p.inode, k.k->p.offset, bch_dirent_name(k),
				    bch_dirent_name_len_safe(k), dt, bch_dirent_inum(k), &s->f->err);

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

static int dirent_target_check(struct hash_ctx *s, struct bkey_s_c k)
{
	struct ns_inode *t;
	unsigned dt = bch_dirent_type(k);
	int ret;

	if (dt == DT_SUBVOL)
		return 0;
	t = ns_itab_find(s->tab, bch_dirent_inum(k));
	if (!t) {
		pb_reset(&s->buf);
		bch_bkey_val_to_text(&s->buf, s->f->c, k);
		if (bch_fsck_problem(s->f, BCH_FSCK_ERR_dirent_to_missing_inode,
				     "dirent points to missing inode:\n%s", s->buf.buf))
			{
			ret = dirent_delete(s, k.k->p);
			return ret < 0 ? ret : 0;
		}
		return 0;
	}
	ret = backpointer_check(s, k, t);
	if (ret)
		return ret < 0 ? ret : 0;
	if (dt != bch_mode_to_dtype(t->mode)) {
		pb_reset(&s->buf);
		bch_bkey_val_to_text(&s->buf, s->f->c, k);
		if (bch_fsck_problem(s->f, BCH_FSCK_ERR_dirent_d_type_wrong,
				     "incorrect d_type: got %s, should be %s:\n%s", dtype_name(dt),
				     dtype_name(bch_mode_to_dtype(t->mode)), s->buf.buf) &&
		    (ret = dtype_fix(s, k, bch_mode_to_dtype(t->mode))))
			return ret;
		dt = bch_mode_to_dtype(t->mode);
	}
	if (dt == DT_DIR)
		s->cur->count++;
	return 0;
}

static int dirent_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct hash_ctx *s = p;
	int ret;

	ret = ns_key_in_missing_snapshot(f, &s->x, s->desc->btree, k, &s->buf);
	if (ret)
		return ret < 0 ? ret : 0;
	if (k.k->p.inode != s->cur_inum) {
		ret = subdir_count_check(s);
		if (ret)
			return ret;
		ret = owner_change(s, k);
		if (ret)
			return ret < 0 ? ret : 0;
	} else if (s->cur_bad) {
		ret = ns_key_has_inode(f, &s->x, s->tab, s->desc->btree, k, &s->buf, &s->cur);
		return ret < 0 ? ret : 0;
	}
	if (moved_here(s, k))
		return 0;
	ret = hash_check(s, k);
	if (ret < 0)
		return ret;
	if (ret)
		k = bkey_i_to_s_c(&s->key.k);
	if (k.k->type != KEY_TYPE_dirent)
		return 0;
	return dirent_target_check(s, k);
}

/* ---- xattrs ---- */

static int xattr_key(struct bch_fsck *f, struct bkey_s_c k, void *p)
{
	struct hash_ctx *s = p;
	int ret = ns_key_in_missing_snapshot(f, &s->x, s->desc->btree, k, &s->buf);

	if (ret)
		return ret < 0 ? ret : 0;
	if (k.k->p.inode != s->cur_inum || s->cur_bad) {
		ret = k.k->p.inode != s->cur_inum ? owner_change(s, k) :
		      ns_key_has_inode(f, &s->x, s->tab, s->desc->btree, k, &s->buf, &s->cur);
		if (ret)
			return ret < 0 ? ret : 0;
	}
	if (moved_here(s, k))
		return 0;
	ret = hash_check(s, k);
	return ret < 0 ? ret : 0;
}

static int hash_pass(struct bch_fsck *f, const struct bch_hash_desc *desc,
		     int (*fn)(struct bch_fsck *, struct bkey_s_c, void *))
{
	struct hash_ctx s = { .f = f, .desc = desc, .x.f = f, .buf = PRINTBUF, .cur_inum = ~0ULL };
	struct btree_iter it;
	struct bkey_s_c k;
	int ret = ns_itab_get(f, &s.tab);

	if (ret)
		return ret;
	bch_btree_iter_init(&it, f->c, desc->btree, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		ret = fn(f, k, &s);
		if (ret)
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && !f->op_error)
		bch_fsck_op_error(f, ret, "walking btree %u: %s", desc->btree, it.err.buf ?: "");
	bch_btree_iter_exit(&it);
	if (!ret && fn == dirent_key)
		ret = subdir_count_check(&s);
	ns_fix_end(&s.x);
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

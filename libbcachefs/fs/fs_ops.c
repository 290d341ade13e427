/* Namespace operations: a session on a writable filesystem; create, link, unlink, rename, truncate, setattr, xattrs, each one committed transaction. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/fs_ops.h"
#include "btree/iter.h"
#include "btree/flush.h"
#include "checksum/str_hash.h"
#include "data/extent_build.h"
#include "data/io_opts.h"
#include "fs/dirent_ops.h"
#include "fs/inode_alloc.h"
#include "fs/xattr_ops.h"
#include "journal/journal_write.h"
#include "sb/opts.h"
#include "util/errcode.h"
#include "util/grow.h"


/* ---- the session ---- */

/* The subvolume's key: its root inode in *inum, its snapshot in *snapshot. */
static int subvol_read(struct bch_ns *ns, u32 subvol, u64 *inum, u32 *snapshot,
		       struct printbuf *err)
{
	u64 buf[BKEY_U64s + 16];
	struct bkey_i *k = (struct bkey_i *)buf;
	int ret = bch_trans_lookup(&ns->t, BTREE_ID_subvolumes, 0, POS(0, subvol), k,
				   sizeof(buf) / 8, err);

	if (ret < 0)
		return ret;
	if (!ret || k->k.type != KEY_TYPE_subvolume || bkey_val_bytes(&k->k) < 16) {
		pb_printf(err, "subvolume %u not found", subvol);
		return -BCH_ERR_not_found;
	}
	*inum = le64_to_cpu(((const struct bch_subvolume *)k->v)->inode);
	*snapshot = le32_to_cpu(((const struct bch_subvolume *)k->v)->snapshot);
	return 0;
}

int bch_ns_subvol_enter(struct bch_ns *ns, u32 subvol, u64 *root, struct printbuf *err)
{
	const struct bch_snapshot_node *n;
	u32 snapshot;
	int ret = subvol_read(ns, subvol, root, &snapshot, err);

	if (ret)
		return ret;
	ns->subvol = subvol;
	ns->snapshot = snapshot;
	ns->see_ancestors = false;
	ns->exact = false;
	/* the first snapshot of a filesystem never snapshotted: no table needed */
	if (snapshot == BCH_NS_ROOT_SNAPSHOT)
		return 0;
	if (!ns->snaps.n && (ret = bch_snapshot_table_load(ns->c, &ns->snaps, err)))
		return ret;
	ns->table = &ns->snaps;
	n = bch_snapshot_get(&ns->snaps, snapshot);
	if (!n) {
		pb_printf(err, "subvolume %u: its snapshot %u is missing", subvol, snapshot);
		return -BCH_ERR_not_found;
	}
	ns->see_ancestors = n->parent != 0;
	return 0;
}

int bch_ns_key_get(struct bch_ns *ns, enum btree_id btree, u64 inode, u64 offset,
		   struct bkey_i *k, unsigned u64s, struct printbuf *err)
{
	if (!ns->see_ancestors)
		return bch_trans_lookup(&ns->t, btree, 0, SPOS(inode, offset, ns->snapshot), k, u64s,
					err);
	return bch_snapshot_key_get(ns->c, ns->table, btree, inode, offset, ns->snapshot, k, u64s, err);
}

int bch_ns_init(struct bch_ns *ns, struct bch_fs *c, struct printbuf *err)
{
	u64 root;

	return bch_ns_init_detached(ns, c, err) ?:
	       bch_ns_subvol_enter(ns, BCH_NS_ROOT_SUBVOL, &root, err);
}

int bch_ns_init_detached(struct bch_ns *ns, struct bch_fs *c, struct printbuf *err)
{
	bool new_siphash = c->sb.features & (1ULL << BCH_FEATURE_new_siphash);

	memset(ns, 0, sizeof(*ns));
	ns->c = c;
	bch_trans_init(&ns->t, c);
	ns->subvol = BCH_NS_ROOT_SUBVOL;
	ns->new_hash_type = bch_str_hash_opt_to_type(c->sb.str_hash_type, new_siphash);
	ns->inum_max = bch_sb_opt_get(c->disk_sb.sb, BCH_SB_OPT_inodes_32bit)
		? 1ULL << 31 : 1ULL << 63;
	ns->inum_hint = BLOCKDEV_INODE_MAX;
	if (ns->new_hash_type >= BCH_STR_HASH_NR) {
		pb_printf(err, "unknown str_hash option %u", c->sb.str_hash_type);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

int bch_ns_fsck_at(struct bch_ns *ns, const struct bch_snapshot_table *t, u32 snapshot,
		   struct printbuf *err)
{
	const struct bch_snapshot_node *n = bch_snapshot_get(t, snapshot);

	if (!n) {
		pb_printf(err, "snapshot %u is missing", snapshot);
		return -BCH_ERR_not_found;
	}
	ns->snapshot = snapshot;
	ns->table = t;
	ns->see_ancestors = n->parent != 0;
	ns->exact = true;
	return 0;
}

void bch_ns_exit(struct bch_ns *ns)
{
	bch_snapshot_table_exit(&ns->snaps);
	bch_trans_exit(&ns->t);
}

/* The commit flushes the btree itself when the journal is half full (bch_btree_reclaim). */
int bch_ns_commit(struct bch_ns *ns, struct printbuf *err)
{
	if (ns->see_ancestors && !ns->exact) {
		/* a write there would need the kernel's snapshot whiteouts and copies */
		bch_trans_reset(&ns->t);
		pb_printf(err, "subvolume %u: writing into a snapshot with ancestors (%u) is not supported",
			  ns->subvol, ns->snapshot);
		return -BCH_ERR_bad_argument;
	}
	return bch_trans_commit(&ns->t, err);
}

/* Commits the operation's updates, or forgets them after an error. */
static int op_end(struct bch_ns *ns, int ret, struct printbuf *err)
{
	if (ret) {
		bch_trans_reset(&ns->t);
		return ret;
	}
	return bch_ns_commit(ns, err);
}

static int dir_get(struct bch_ns *ns, u64 inum, struct bch_inode_unpacked *u,
		   struct printbuf *err)
{
	int ret = bch_ns_inode_get(ns, inum, u, err);

	if (!ret && !bch_inode_is_dir(u)) {
		pb_printf(err, "inode %llu is not a directory", (unsigned long long)inum);
		ret = -BCH_ERR_not_dir;
	}
	return ret;
}

/* ---- create, link ---- */

static void create_times(struct bch_ns *ns, struct bch_inode_unpacked *u,
			 const struct bch_create_args *a)
{
	if (!a->set_times)
		return;
	u->bi_atime = bch_fs_time_from_timespec(ns->c, a->atime);
	u->bi_mtime = bch_fs_time_from_timespec(ns->c, a->mtime);
	u->bi_ctime = bch_fs_time_from_timespec(ns->c, a->ctime);
}

static int create_trans(struct bch_ns *ns, u64 dir, const char *name,
			const struct bch_create_args *a, struct bch_inode_unpacked *u,
			struct printbuf *err)
{
	struct bch_inode_unpacked dir_u;
	s64 now = bch_ns_now(ns);
	u64 offset;
	int ret = bch_dirent_name_check(name, strlen(name), err) ?: dir_get(ns, dir, &dir_u, err);

	if (ret)
		return ret;
	bch_ns_inode_init(ns, u, &dir_u, a->mode, a->uid, a->gid, a->rdev, now);
	ret = bch_ns_inum_alloc(ns, &u->bi_inum, err);
	if (ret)
		return ret;
	if (bch_inode_is_subdir_for_nlink(u))
		dir_u.bi_nlink++;
	dir_u.bi_mtime = dir_u.bi_ctime = now;
	ret = bch_ns_inode_write(ns, &dir_u, err) ?:
	      bch_ns_dirent_create(ns, &dir_u, name, strlen(name), bch_mode_to_dtype(a->mode),
				   u->bi_inum, &offset, err);
	if (ret)
		return ret;
	u->bi_dir = dir;
	u->bi_dir_offset = offset;
	u->bi_size = a->size;
	create_times(ns, u, a);
	return bch_ns_inode_write(ns, u, err);
}

int bch_ns_create(struct bch_ns *ns, u64 dir, const char *name, const struct bch_create_args *a,
		  struct bch_inode_unpacked *out, struct printbuf *err)
{
	struct bch_inode_unpacked u;
	int ret = create_trans(ns, dir, name, a, &u, err);

	ret = op_end(ns, ret, err);
	if (!ret && out)
		*out = u;
	return ret;
}

static int link_trans(struct bch_ns *ns, u64 dir, const char *name, u64 inum,
		      struct printbuf *err)
{
	struct bch_inode_unpacked u, dir_u;
	s64 now = bch_ns_now(ns);
	u64 offset;
	int ret = bch_ns_inode_get(ns, inum, &u, err) ?: dir_get(ns, dir, &dir_u, err);

	if (ret)
		return ret;
	if (bch_inode_is_dir(&u)) {
		pb_printf(err, "inode %llu: no hardlinks to directories", (unsigned long long)inum);
		return -BCH_ERR_is_dir;
	}
	u.bi_ctime = now;
	ret = bch_inode_nlink_inc(&u, err);
	if (ret)
		return ret;
	dir_u.bi_mtime = dir_u.bi_ctime = now;
	ret = bch_ns_dirent_create(ns, &dir_u, name, strlen(name), bch_mode_to_dtype(u.bi_mode),
				   inum, &offset, err);
	if (ret)
		return ret;
	u.bi_dir = dir;
	u.bi_dir_offset = offset;
	return bch_ns_inode_write(ns, &dir_u, err) ?: bch_ns_inode_write(ns, &u, err);
}

int bch_ns_link(struct bch_ns *ns, u64 dir, const char *name, u64 inum, struct printbuf *err)
{
	return op_end(ns, link_trans(ns, dir, name, inum, err), err);
}

/* ---- unlink ---- */

/* A subdirectory may go only when empty; subvolume roots are not handled here. */
static int removable(struct bch_ns *ns, const struct bch_inode_unpacked *u, struct printbuf *err)
{
	int ret;

	if (u->bi_subvol) {
		pb_printf(err, "inode %llu is a subvolume root", (unsigned long long)u->bi_inum);
		return -BCH_ERR_unsupported;
	}
	if (!bch_inode_is_dir(u))
		return 0;
	ret = bch_ns_dir_empty(ns, u->bi_inum, err);
	if (ret == 0) {
		pb_printf(err, "directory %llu is not empty", (unsigned long long)u->bi_inum);
		return -BCH_ERR_dir_not_empty;
	}
	return ret < 0 ? ret : 0;
}

/* The inode after losing a link: written, or removed when that was the last one. */
static int inode_put(struct bch_ns *ns, struct bch_inode_unpacked *u, bool keep_open,
		     struct printbuf *err)
{
	if (bch_inode_nlink_get(u) || keep_open)
		return bch_ns_inode_write(ns, u, err);
	return bch_ns_inode_remove(ns, u, err);
}

static int unlink_trans(struct bch_ns *ns, u64 dir, const char *name, unsigned flags,
			struct printbuf *err)
{
	struct bch_inode_unpacked dir_u, u;
	struct bch_dirent_target t;
	s64 now = bch_ns_now(ns);
	int ret = dir_get(ns, dir, &dir_u, err);

	if (ret)
		return ret;
	ret = bch_ns_dirent_lookup(ns, &dir_u, name, strlen(name), &t, err);
	if (ret <= 0) {
		if (!ret)
			pb_printf(err, "\"%s\" not found in directory %llu", name,
				  (unsigned long long)dir);
		return ret ?: -BCH_ERR_not_found;
	}
	ret = bch_ns_inode_get(ns, t.inum, &u, err) ?: removable(ns, &u, err) ?:
	      bch_inode_nlink_dec(&u, err);
	if (ret)
		return ret;
	if (u.bi_dir == dir && u.bi_dir_offset == t.offset)
		u.bi_dir = u.bi_dir_offset = 0;
	dir_u.bi_mtime = dir_u.bi_ctime = u.bi_ctime = now;
	dir_u.bi_nlink -= bch_inode_is_subdir_for_nlink(&u);
	return bch_ns_dirent_delete(ns, &dir_u, t.offset, err) ?:
	       bch_ns_inode_write(ns, &dir_u, err) ?:
	       inode_put(ns, &u, flags & BCH_UNLINK_KEEP_OPEN, err);
}

int bch_ns_unlink(struct bch_ns *ns, u64 dir, const char *name, unsigned flags,
		  struct printbuf *err)
{
	return op_end(ns, unlink_trans(ns, dir, name, flags, err), err);
}

/* ---- truncate, setattr, inode update ---- */

static int truncate_trans(struct bch_ns *ns, u64 inum, u64 size, bool times, struct printbuf *err)
{
	struct bch_inode_unpacked u;
	u64 block = (u64)ns->c->sb.block_size << 9, removed;
	int ret = bch_ns_inode_get(ns, inum, &u, err);

	if (ret)
		return ret;
	if (bch_inode_is_dir(&u)) {
		pb_printf(err, "inode %llu is a directory", (unsigned long long)inum);
		return -BCH_ERR_is_dir;
	}
	ret = bch_ns_extents_punch(ns, inum, (size + block - 1) / block * block >> 9, UINT64_MAX,
				   &removed, err);
	if (ret)
		return ret;
	u.bi_sectors -= removed < u.bi_sectors ? removed : u.bi_sectors;
	if (times && u.bi_size != size)
		u.bi_mtime = u.bi_ctime = bch_ns_now(ns);
	u.bi_size = size;
	return bch_ns_inode_write(ns, &u, err);
}

int bch_ns_truncate(struct bch_ns *ns, u64 inum, u64 size, struct printbuf *err)
{
	return op_end(ns, truncate_trans(ns, inum, size, true, err), err);
}

int bch_ns_truncate_resume(struct bch_ns *ns, u64 inum, u64 size, struct printbuf *err)
{
	return op_end(ns, truncate_trans(ns, inum, size, false, err), err);
}

/* ---- inserting or collapsing a range: a logged operation ---- */

/* Moves between commits of a long insert or collapse (each commit saves the op's pos). */
#define FINSERT_BATCH	64

struct finsert {
	struct bch_ns *ns;
	struct bkey_i *op;		/* logged_op_finsert, written with every commit */
	struct bch_logged_op_finsert *v;
	u64 inum, src, len;
	s64 shift;			/* dst - src: > 0 an insert */
	struct bch_io_opts opts;
	u64 *ends;			/* the extents left to move, by their end */
	size_t nr, size;
};

static int finsert_commit(struct finsert *fi, struct printbuf *err)
{
	return bch_trans_update(&fi->ns->t, BTREE_ID_logged_ops, 0, fi->op, 0) ?:
	       bch_ns_commit(fi->ns, err);
}

/*
 * i_size moves by delta bytes (growing only from inside the file, as the
 * kernel refuses otherwise), bi_sectors drops by `removed`, and mtime and
 * ctime are now.
 */
static int finsert_inode(struct finsert *fi, s64 delta, u64 removed, bool times,
			 struct printbuf *err)
{
	struct bch_inode_unpacked u;
	int ret = bch_ns_inode_get(fi->ns, fi->inum, &u, err);

	if (ret)
		return ret;
	if (delta > 0 && (fi->src << 9 >= u.bi_size || (u64)INT64_MAX - u.bi_size < (u64)delta)) {
		pb_printf(err, "inode %llu: inserting %llu bytes at %llu, in a file of %llu bytes",
			  (unsigned long long)fi->inum, (unsigned long long)delta,
			  (unsigned long long)fi->src << 9, (unsigned long long)u.bi_size);
		return -BCH_ERR_bad_argument;
	}
	u.bi_size += delta;
	u.bi_sectors -= removed < u.bi_sectors ? removed : u.bi_sectors;
	if (times)
		u.bi_mtime = u.bi_ctime = bch_ns_now(fi->ns);
	return bch_ns_inode_write(fi->ns, &u, err);
}

/*
 * The extents still to move, by their end: an insert moves those after
 * src up to pos (pos: the start of the last one moved), from the last;
 * a collapse those after pos (the end of the last one moved), from the first.
 */
static int finsert_collect(struct finsert *fi, u64 pos, struct printbuf *err)
{
	bool insert = fi->shift > 0;
	u64 from = insert ? fi->src : pos;
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	fi->nr = 0;
	bch_btree_iter_init(&it, fi->ns->c, BTREE_ID_extents,
			    SPOS(fi->inum, from == UINT64_MAX ? from : from + 1, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == fi->inum) {
		if (insert && k.k->p.offset > pos)
			break;
		if (k.k->p.snapshot == fi->ns->snapshot && k.k->type != KEY_TYPE_deleted &&
		    k.k->type != KEY_TYPE_whiteout) {
			if (bch_grow(&fi->ends, &fi->size, fi->nr, 64)) {
				ret = -BCH_ERR_nomem;
				break;
			}
			fi->ends[fi->nr++] = k.k->p.offset;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "inode %llu: extents: %s", (unsigned long long)fi->inum,
			  pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

/* The extent ending at `end` goes dst - src on (an insert takes only its part past src). */
static int finsert_move(struct finsert *fi, u64 end, struct printbuf *err)
{
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } b;
	struct bch_ns *ns = fi->ns;
	u64 start;
	int ret = bch_trans_lookup(&ns->t, BTREE_ID_extents, 0, SPOS(fi->inum, end, ns->snapshot),
				   &b.k, BKEY_U64s_MAX - 1, err);

	if (ret <= 0)
		return ret;
	if (fi->shift > 0 && end - b.k.k.size < fi->src)
		bch_extent_cut_front(&b.k, fi->src);
	start = end - b.k.k.size;
	b.k.k.p.offset += fi->shift;
	bch_extent_set_needs_rebalance(ns->c, &b.k, &fi->opts);
	fi->v->pos = cpu_to_le64(fi->shift > 0 ? start : end);
	return bch_ns_extent_range_delete(ns, fi->inum, start, end) ?:
	       bch_trans_update(&ns->t, BTREE_ID_extents, 0, &b.k, 0);
}

static int finsert_shift(struct finsert *fi, struct printbuf *err)
{
	bool insert = fi->shift > 0;
	int ret = finsert_collect(fi, le64_to_cpu(fi->v->pos), err);

	for (size_t i = 0; !ret && i < fi->nr; i++) {
		ret = finsert_move(fi, fi->ends[insert ? fi->nr - 1 - i : i], err);
		if (!ret && (i + 1) % FINSERT_BATCH == 0)
			ret = finsert_commit(fi, err);
	}
	if (ret) {
		bch_trans_reset(&fi->ns->t);
		return ret;
	}
	/* the last moves commit with the new size: a collapse's file shrinks, an insert's times move */
	fi->v->state = BCH_LOGGED_OP_FINSERT_finish;
	ret = finsert_inode(fi, insert ? 0 : fi->shift << 9, 0, true, err);
	return op_end(fi->ns, ret, err) ?: finsert_commit(fi, err);
}

int bch_ns_finsert(struct bch_ns *ns, struct bkey_i *op, struct printbuf *err)
{
	struct finsert fi = { .ns = ns, .op = op, .v = (void *)op->v };
	u64 removed;
	int ret;

	if (op->k.type != KEY_TYPE_logged_op_finsert || bkey_val_bytes(&op->k) < sizeof(*fi.v)) {
		pb_printf(err, "not a logged insert or collapse");
		return -BCH_ERR_bad_argument;
	}
	if (ns->see_ancestors && !ns->exact) {
		pb_printf(err, "subvolume %u: moving extents in a snapshot with ancestors (%u) is not supported",
			  ns->subvol, ns->snapshot);
		return -BCH_ERR_bad_argument;
	}
	fi.inum = le64_to_cpu(fi.v->inum);
	fi.src = le64_to_cpu(fi.v->src_offset);
	fi.shift = (s64)(le64_to_cpu(fi.v->dst_offset) - fi.src);
	fi.len = fi.shift < 0 ? -(u64)fi.shift : (u64)fi.shift;
	ret = bch_io_opts_get(ns->c, fi.inum, ns->snapshot, &fi.opts, err);
	if (ret)
		return ret;

	switch (fi.v->state) {
	case BCH_LOGGED_OP_FINSERT_start:
		fi.v->state = BCH_LOGGED_OP_FINSERT_shift_extents;
		if (fi.shift > 0)
			ret = finsert_inode(&fi, fi.len << 9, 0, true, err);
		else
			ret = bch_ns_extents_punch(ns, fi.inum, fi.src, fi.src + fi.len, &removed, err) ?:
			      (removed ? finsert_inode(&fi, 0, removed, false, err) : 0);
		if (ret) {
			bch_trans_reset(&ns->t);
			return ret;
		}
		ret = finsert_commit(&fi, err);
		if (ret)
			return ret;
		/* fall through */
	case BCH_LOGGED_OP_FINSERT_shift_extents:
		ret = finsert_shift(&fi, err);
		break;
	default:
		/* finished but for the op's deletion */
		break;
	}
	free(fi.ends);
	return ret;
}

static int setattr_trans(struct bch_ns *ns, u64 inum, const struct bch_setattr *a,
			 struct printbuf *err)
{
	struct bch_inode_unpacked u;
	int ret = bch_ns_inode_get(ns, inum, &u, err);

	if (ret)
		return ret;
	if (a->valid & BCH_ATTR_MODE)
		u.bi_mode = (u.bi_mode & S_IFMT) | (a->mode & ~S_IFMT);
	if (a->valid & BCH_ATTR_UID)
		u.bi_uid = a->uid;
	if (a->valid & BCH_ATTR_GID)
		u.bi_gid = a->gid;
	if (a->valid & BCH_ATTR_ATIME)
		u.bi_atime = bch_fs_time_from_timespec(ns->c, a->atime);
	if (a->valid & BCH_ATTR_MTIME)
		u.bi_mtime = bch_fs_time_from_timespec(ns->c, a->mtime);
	u.bi_ctime = a->valid & BCH_ATTR_CTIME
		? bch_fs_time_from_timespec(ns->c, a->ctime) : bch_ns_now(ns);
	return bch_ns_inode_write(ns, &u, err);
}

int bch_ns_setattr(struct bch_ns *ns, u64 inum, const struct bch_setattr *a,
		   struct printbuf *err)
{
	return op_end(ns, setattr_trans(ns, inum, a, err), err);
}

int bch_ns_inode_update(struct bch_ns *ns, struct bch_inode_unpacked *u, struct printbuf *err)
{
	return op_end(ns, bch_ns_inode_write(ns, u, err), err);
}

/* ---- xattrs ---- */

int bch_ns_xattr_set(struct bch_ns *ns, u64 inum, const char *name, const void *value,
		     size_t size, unsigned flags, struct printbuf *err)
{
	return op_end(ns, bch_ns_xattr_set_trans(ns, inum, name, value ? value : "", size, flags,
						 err), err);
}

int bch_ns_xattr_remove(struct bch_ns *ns, u64 inum, const char *name, struct printbuf *err)
{
	return op_end(ns, bch_ns_xattr_set_trans(ns, inum, name, NULL, 0, BCH_XATTR_REPLACE, err),
		      err);
}

/* Rename: moving a dirent within or across directories, replacing or exchanging, with the kernel's link count and backpointer rules. */
#include <string.h>

#include "fs/fs_ops.h"
#include "fs/dirent_ops.h"
#include "fs/inode_alloc.h"
#include "util/errcode.h"

enum rename_mode { RENAME_PLAIN, RENAME_OVERWRITE, RENAME_EXCHANGE };

struct rename_side {
	u64 dir;
	const char *name;
	size_t len;
	struct bch_inode_unpacked *dir_u;
	struct bch_dirent_target t;	/* the entry (t.inum 0: none) */
	struct bch_inode_unpacked inode;
	u64 new_offset;			/* where the entry naming this side goes */
};

struct rename {
	struct bch_ns *ns;
	struct bch_inode_unpacked src_dir_u, dst_dir_u;
	struct rename_side src, dst;
	enum rename_mode mode;
	s64 now;
};

static int side_lookup(struct rename *r, struct rename_side *s, struct printbuf *err)
{
	int ret = bch_ns_dirent_lookup(r->ns, s->dir_u, s->name, s->len, &s->t, err);

	if (ret <= 0) {
		s->t.inum = 0;
		return ret;
	}
	return bch_ns_inode_get(r->ns, s->t.inum, &s->inode, err);
}

static int dirs_get(struct rename *r, struct printbuf *err)
{
	int ret = bch_ns_inode_get(r->ns, r->src.dir, &r->src_dir_u, err);

	r->src.dir_u = &r->src_dir_u;
	r->dst.dir_u = &r->src_dir_u;
	if (!ret && r->dst.dir != r->src.dir) {
		ret = bch_ns_inode_get(r->ns, r->dst.dir, &r->dst_dir_u, err);
		r->dst.dir_u = &r->dst_dir_u;
	}
	if (!ret && (!bch_inode_is_dir(r->src.dir_u) || !bch_inode_is_dir(r->dst.dir_u))) {
		pb_str(err, "rename: a parent is not a directory");
		ret = -BCH_ERR_not_dir;
	}
	return ret;
}

/* Which mode, and whether the arguments fit it. */
static int mode_pick(struct rename *r, unsigned flags, struct printbuf *err)
{
	bool exists = r->dst.t.inum != 0;

	if (!r->src.t.inum) {
		pb_printf(err, "rename: \"%s\" not found", r->src.name);
		return -BCH_ERR_not_found;
	}
	if ((flags & BCH_RENAME_EXCHANGE) && !exists) {
		pb_printf(err, "rename: \"%s\" not found", r->dst.name);
		return -BCH_ERR_not_found;
	}
	if ((flags & BCH_RENAME_NOREPLACE) && exists) {
		pb_printf(err, "rename: \"%s\" exists", r->dst.name);
		return -BCH_ERR_exists;
	}
	r->mode = flags & BCH_RENAME_EXCHANGE ? RENAME_EXCHANGE
		: exists ? RENAME_OVERWRITE : RENAME_PLAIN;
	if (r->mode != RENAME_OVERWRITE)
		return 0;
	if (bch_inode_is_dir(&r->src.inode) != bch_inode_is_dir(&r->dst.inode)) {
		pb_str(err, "rename: a directory replaces only a directory");
		return bch_inode_is_dir(&r->src.inode) ? -BCH_ERR_not_dir : -BCH_ERR_is_dir;
	}
	if (bch_inode_is_dir(&r->dst.inode)) {
		int ret = bch_ns_dir_empty(r->ns, r->dst.t.inum, err);

		if (!ret)
			pb_printf(err, "rename: directory \"%s\" is not empty", r->dst.name);
		return ret < 0 ? ret : ret ? 0 : -BCH_ERR_dir_not_empty;
	}
	return 0;
}

/*
 * The dirents: the entry for src's inode under dst's name at dst's slot
 * (a hole when dst does not exist), and at src's slot a whiteout, nothing,
 * or (exchange) the entry for dst's inode under src's name.
 */
static int dirents_move(struct rename *r, struct printbuf *err)
{
	struct bch_ns *ns = r->ns;
	struct rename_side *s = &r->src, *d = &r->dst;
	u64 dst_hash = bch_dirent_name_hash(d->dir_u, d->name, d->len);
	struct bch_hash_info src_info = bch_inode_hash_info(s->dir_u);
	bool whiteout;
	int ret = 0;

	if (r->mode == RENAME_PLAIN)
		ret = bch_hash_hole(ns, &bch_dirent_hash_desc, d->dir, dst_hash, &d->new_offset, err);
	else
		d->new_offset = d->t.offset;
	if (!ret && r->mode == RENAME_EXCHANGE) {
		s->new_offset = s->t.offset;
		return bch_ns_dirent_put(ns, s->dir, s->t.offset, s->name, s->len, d->t.d_type,
					 d->t.inum, err) ?:
		       bch_ns_dirent_put(ns, d->dir, d->new_offset, d->name, d->len, s->t.d_type,
					 s->t.inum, err);
	}
	if (ret)
		return ret;
	if (s->dir == d->dir && dst_hash <= s->t.offset && s->t.offset < d->new_offset) {
		/* src lies on the probe path to dst's slot: take src's slot, or leave a whiteout */
		if (r->mode == RENAME_PLAIN) {
			d->new_offset = s->t.offset;
			return bch_ns_dirent_put(ns, d->dir, d->new_offset, d->name, d->len,
						 s->t.d_type, s->t.inum, err);
		}
		whiteout = true;
	} else {
		ret = bch_hash_needs_whiteout(ns, &bch_dirent_hash_desc, &src_info, s->dir,
					      s->t.offset, err);
		if (ret < 0)
			return ret;
		whiteout = ret;
	}
	ret = bch_ns_dirent_put(ns, d->dir, d->new_offset, d->name, d->len, s->t.d_type,
				s->t.inum, err);
	if (!ret) {
		struct bkey_i k;

		memset(&k, 0, sizeof(k));
		k.k.u64s = BKEY_U64s;
		k.k.format_whiteout = KEY_FORMAT_CURRENT;
		k.k.type = whiteout ? KEY_TYPE_hash_whiteout : KEY_TYPE_deleted;
		k.k.p = SPOS(s->dir, s->t.offset, ns->snapshot);
		ret = bch_trans_update(&ns->t, BTREE_ID_dirents, 0, &k, 0);
	}
	return ret;
}

/* Backpointers, link counts and times of the inodes and directories. */
static int inodes_update(struct rename *r, struct printbuf *err)
{
	struct rename_side *s = &r->src, *d = &r->dst;
	struct bch_inode_unpacked *si = &s->inode, *di = &d->inode;
	bool exists = d->t.inum != 0;

	si->bi_dir = d->dir;
	si->bi_dir_offset = d->new_offset;
	if (r->mode == RENAME_EXCHANGE) {
		di->bi_dir = s->dir;
		di->bi_dir_offset = s->new_offset;
	}
	if (r->mode == RENAME_OVERWRITE && di->bi_dir == d->dir &&
	    di->bi_dir_offset == d->t.offset)
		di->bi_dir = di->bi_dir_offset = 0;
	if (bch_inode_is_subdir_for_nlink(si)) {
		s->dir_u->bi_nlink--;
		d->dir_u->bi_nlink++;
	}
	if (exists && bch_inode_is_subdir_for_nlink(di)) {
		d->dir_u->bi_nlink--;
		s->dir_u->bi_nlink += r->mode == RENAME_EXCHANGE;
	}
	s->dir_u->bi_mtime = s->dir_u->bi_ctime = r->now;
	d->dir_u->bi_mtime = d->dir_u->bi_ctime = r->now;
	si->bi_ctime = r->now;
	if (exists)
		di->bi_ctime = r->now;
	return r->mode == RENAME_OVERWRITE ? bch_inode_nlink_dec(di, err) : 0;
}

static int inodes_write(struct rename *r, struct printbuf *err)
{
	struct bch_ns *ns = r->ns;
	struct rename_side *d = &r->dst;
	int ret = bch_ns_inode_write(ns, r->src.dir_u, err);

	if (!ret && d->dir != r->src.dir)
		ret = bch_ns_inode_write(ns, d->dir_u, err);
	ret = ret ?: bch_ns_inode_write(ns, &r->src.inode, err);
	if (ret || !d->t.inum)
		return ret;
	/* a replaced inode that lost its last link goes, as when the kernel evicts it */
	return bch_inode_nlink_get(&d->inode) ? bch_ns_inode_write(ns, &d->inode, err)
					       : bch_ns_inode_remove(ns, &d->inode, err);
}

static int rename_trans(struct rename *r, unsigned flags, struct printbuf *err)
{
	int ret = bch_dirent_name_check(r->dst.name, r->dst.len, err) ?: dirs_get(r, err) ?:
		  side_lookup(r, &r->src, err) ?: side_lookup(r, &r->dst, err);

	if (ret < 0)
		return ret;
	ret = mode_pick(r, flags, err);
	if (ret)
		return ret;
	/* the same inode under both names: nothing to do */
	if (r->dst.t.inum == r->src.t.inum)
		return 1;
	if (r->src.inode.bi_subvol || (r->dst.t.inum && r->dst.inode.bi_subvol)) {
		pb_str(err, "rename: subvolume roots are not handled");
		return -BCH_ERR_unsupported;
	}
	return dirents_move(r, err) ?: inodes_update(r, err) ?: inodes_write(r, err);
}

int bch_ns_rename(struct bch_ns *ns, u64 src_dir, const char *src_name, u64 dst_dir,
		  const char *dst_name, unsigned flags, struct printbuf *err)
{
	struct rename r = {
		.ns = ns,
		.src = { .dir = src_dir, .name = src_name, .len = strlen(src_name) },
		.dst = { .dir = dst_dir, .name = dst_name, .len = strlen(dst_name) },
		.now = bch_ns_now(ns),
	};
	int ret = rename_trans(&r, flags, err);

	if (ret) {
		bch_trans_reset(&ns->t);
		return ret > 0 ? 0 : ret;
	}
	return bch_ns_commit(ns, err);
}

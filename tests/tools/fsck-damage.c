/* Test tool: one precise namespace damage on an image, committed without triggers (except where noted), for the fsck tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btree/trans.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "fs/namei.h"
#include "keys/inode.h"
#include "util/errcode.h"

static const char usage[] =
"usage: fsck-damage DEVICE ACTION PATH [N]\n"
"  rm-inode PATH      delete the inode (with triggers)\n"
"  dtype PATH N       set the d_type of PATH's dirent\n"
"  nlink PATH N       set bi_nlink (stored)\n"
"  sectors PATH N     set bi_sectors\n"
"  isize PATH N       set bi_size\n"
"  unlinked PATH      set the unlinked flag\n"
"  bp-offset PATH     bump bi_dir_offset\n"
"  rm-dirent PATH     delete PATH's dirent\n"
"  move-dirent PATH   move PATH's dirent 1000 slots on\n"
"  xattr-orphan N     an xattr user.a=b of inode N (which should not exist)\n";

struct dmg {
	struct bch_fs *c;
	struct bch_ns ns;
	struct printbuf err;
	union { struct bkey_i k; u64 pad[BCH_HASH_KEY_U64s]; } key;
};

static int put(struct dmg *d, enum btree_id btree, const struct bkey_i *k)
{
	return bch_trans_update(&d->ns.t, btree, 0, k, BCH_UPDATE_NO_TRIGGERS) ?:
	       bch_ns_commit(&d->ns, &d->err);
}

static int inode_edit(struct dmg *d, u64 inum, const char *what, u64 n)
{
	struct bch_inode_unpacked u;
	int ret = bch_ns_inode_get(&d->ns, inum, &u, &d->err);

	if (ret)
		return ret;
	if (!strcmp(what, "nlink"))
		u.bi_nlink = n;
	else if (!strcmp(what, "sectors"))
		u.bi_sectors = n;
	else if (!strcmp(what, "isize"))
		u.bi_size = n;
	else if (!strcmp(what, "unlinked"))
		u.bi_flags |= 1U << BCH_INODE_unlinked;
	else if (!strcmp(what, "bp-offset"))
		u.bi_dir_offset += 1;
	u.bi_snapshot = d->ns.snapshot;
	ret = bch_inode_pack(&u, &d->key.k, BCH_HASH_KEY_U64s);
	return ret ?: put(d, BTREE_ID_inodes, &d->key.k);
}

static int dirent_get(struct dmg *d, u64 inum, struct bch_inode_unpacked *u)
{
	int ret = bch_ns_inode_get(&d->ns, inum, u, &d->err);

	if (ret)
		return ret;
	ret = bch_trans_lookup(&d->ns.t, BTREE_ID_dirents, 0,
			       SPOS(u->bi_dir, u->bi_dir_offset, d->ns.snapshot),
			       &d->key.k, BCH_HASH_KEY_U64s, &d->err);
	return ret == 1 ? 0 : -BCH_ERR_not_found;
}

static int damage(struct dmg *d, const char *act, const char *arg, u64 n)
{
	struct bch_inode_unpacked u;
	struct bpos p;
	u64 inum = 0;
	int ret;

	if (!strcmp(act, "xattr-orphan")) {
		d->key.k.k = (struct bkey) { .u64s = BKEY_U64s + 1, .type = KEY_TYPE_xattr,
					     .p = SPOS(n, 12345, d->ns.snapshot) };
		memcpy(d->key.k.v, "\0\1\1\0ab\0\0", 8);
		return put(d, BTREE_ID_xattrs, &d->key.k);
	}
	ret = bch_ns_path_lookup(&d->ns, arg, &inum, &d->err);
	if (ret)
		return ret;
	if (!strcmp(act, "rm-inode")) {
		ret = bch_trans_delete(&d->ns.t, BTREE_ID_inodes, 0, SPOS(0, inum, d->ns.snapshot), 0);
		return ret ?: bch_ns_commit(&d->ns, &d->err);
	}
	if (strcmp(act, "dtype") && strcmp(act, "rm-dirent") && strcmp(act, "move-dirent"))
		return inode_edit(d, inum, act, n);
	ret = dirent_get(d, inum, &u);
	if (ret)
		return ret;
	p = d->key.k.k.p;
	if (!strcmp(act, "dtype")) {
		((u8 *)d->key.k.v)[8] = n;
		return put(d, BTREE_ID_dirents, &d->key.k);
	}
	ret = bch_trans_delete(&d->ns.t, BTREE_ID_dirents, 0, p, BCH_UPDATE_NO_TRIGGERS);
	if (ret || !strcmp(act, "rm-dirent"))
		return ret ?: bch_ns_commit(&d->ns, &d->err);
	d->key.k.k.p.offset += 1000;
	return put(d, BTREE_ID_dirents, &d->key.k);
}

int main(int argc, char **argv)
{
	struct bch_open_opts oo = { 0 };
	struct dmg d = { .err = PRINTBUF };
	int ret;

	if (argc < 4) {
		fputs(usage, stderr);
		return 2;
	}
	ret = bch_fs_open(argv + 1, 1, &oo, &d.c, &d.err) ?:
	      bch_fs_start_write(d.c, &d.err) ?: bch_ns_init(&d.ns, d.c, &d.err);
	if (!ret)
		ret = damage(&d, argv[2], argv[3], argc > 4 ? strtoull(argv[4], NULL, 0) :
			     strtoull(argv[3], NULL, 0));
	if (!ret)
		ret = bch_fs_clean_shutdown(d.c, &d.err);
	if (ret)
		fprintf(stderr, "fsck-damage: %s (%d)\n", d.err.buf ?: "", ret);
	bch_ns_exit(&d.ns);
	if (d.c)
		bch_fs_close(d.c);
	pb_exit(&d.err);
	return ret ? 1 : 0;
}

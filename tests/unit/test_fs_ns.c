/* Unit tests for the namespace layer (libbcachefs/fs): hash probing and whiteouts, big directories, names, xattrs, ACLs, links, renames, unlinks, truncates on a small formatted image. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/collide.h"
#include "btree/trans.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "format/format.h"
#include "fs/acl.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "fs/namei.h"
#include "fs/xattr_ops.h"
#include "util/errcode.h"

#define ROOT		BCACHEFS_ROOT_INO
#define IMG_BYTES	(128ULL << 20)

struct env {
	char path[64];
	struct bch_fs *c;
	struct bch_ns ns;
	struct printbuf err;
};

static struct env E;

#define OK(expr) do {							\
	int _r = (expr);						\
	ck_assert_msg(!_r, "%s: %s: %s", #expr, bch_err_str(_r), pb_cstr(&E.err)); \
} while (0)

static void format_image(const char *path)
{
	struct bch_format_opts opts;
	struct bch_format_dev dev;
	struct bch_sb *sb = NULL;
	struct printbuf err = PRINTBUF;
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, IMG_BYTES), 0);
	close(fd);
	bch_format_opts_init(&opts);
	bch_format_dev_init(&dev, path);
	ck_assert_msg(!(bch_format_dev_open(&dev, &err) ?:
			bch_format_validate(&opts, &dev, 1, &err) ?:
			bch_format_geometry(&opts, &dev, 1, &err) ?:
			bch_format_sb_build(&opts, &dev, 1, 0, &sb, &err) ?:
			bch_format_write_sb(&dev, sb, &err)), "format: %s", pb_cstr(&err));
	free(sb);
	bch_format_dev_close(&dev);
	ck_assert_msg(!bch_format_initialize(&opts, &dev, 1, &err), "init: %s", pb_cstr(&err));
	pb_exit(&err);
}

static void fs_up(void)
{
	struct bch_open_opts oo = { 0 };
	char *paths[1] = { E.path };

	OK(bch_fs_open(paths, 1, &oo, &E.c, &E.err));
	OK(bch_fs_start_write(E.c, &E.err));
	OK(bch_ns_init(&E.ns, E.c, &E.err));
}

static void fs_down(void)
{
	OK(bch_fs_clean_shutdown(E.c, &E.err));
	bch_ns_exit(&E.ns);
	bch_fs_close(E.c);
	E.c = NULL;
}

static void setup(void)
{
	int fd;

	memset(&E, 0, sizeof(E));
	E.err = PRINTBUF;
	strcpy(E.path, "/tmp/test_fs_ns.XXXXXX");
	fd = mkstemp(E.path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	format_image(E.path);
	fs_up();
}

static void teardown(void)
{
	if (E.c)
		fs_down();
	unlink(E.path);
	pb_exit(&E.err);
}

/* Shut down cleanly and open again: what follows reads the nodes written. */
static void remount(void)
{
	fs_down();
	fs_up();
}

static u64 mk(u64 dir, const char *name, unsigned mode)
{
	struct bch_create_args a = { .mode = mode, .uid = 10, .gid = 20 };
	struct bch_inode_unpacked u;

	OK(bch_ns_create(&E.ns, dir, name, &a, &u, &E.err));
	return u.bi_inum;
}

static struct bch_inode_unpacked iget(u64 inum)
{
	struct bch_inode_unpacked u;

	OK(bch_ns_inode_get(&E.ns, inum, &u, &E.err));
	return u;
}

static u64 lookup(u64 dir, const char *name)
{
	u64 inum = 0;
	int ret = bch_ns_lookup(&E.ns, dir, name, &inum, NULL, &E.err);

	pb_reset(&E.err);
	return ret ? 0 : inum;
}

/* The dirent key type at (dir, offset): KEY_TYPE_dirent, _hash_whiteout, or 0 for none. */
static unsigned slot_type(u64 dir, u64 offset)
{
	u64 buf[BCH_HASH_KEY_U64s];
	int ret = bch_trans_lookup(&E.ns.t, BTREE_ID_dirents, 0, SPOS(dir, offset, E.ns.snapshot),
				   (struct bkey_i *)buf, BCH_HASH_KEY_U64s, &E.err);

	ck_assert_int_ge(ret, 0);
	return ret ? ((struct bkey_i *)buf)->k.type : 0;
}

static u64 slot_of(u64 dir, const char *name)
{
	struct bch_inode_unpacked d = iget(dir);
	struct bch_dirent_target t;

	ck_assert_int_eq(bch_ns_dirent_lookup(&E.ns, &d, name, strlen(name), &t, &E.err), 1);
	return t.offset;
}

START_TEST(test_create_fields)
{
	struct bch_inode_unpacked root0 = iget(ROOT), root, f, d;
	u64 fi = mk(ROOT, "file", S_IFREG | 0640), di = mk(ROOT, "dir", S_IFDIR | 0755);

	root = iget(ROOT);
	f = iget(fi);
	d = iget(di);
	ck_assert_uint_ge(fi, BLOCKDEV_INODE_MAX);
	ck_assert_uint_ne(fi, di);
	ck_assert_uint_eq(f.bi_mode, S_IFREG | 0640);
	ck_assert_uint_eq(f.bi_uid, 10);
	ck_assert_uint_eq(f.bi_gid, 20);
	ck_assert_uint_eq(f.bi_nlink, 0);
	ck_assert_uint_eq(bch_inode_nlink_get(&f), 1);
	ck_assert_uint_eq(bch_inode_nlink_get(&d), 2);
	ck_assert_uint_eq(bch_inode_str_hash(&f), E.ns.new_hash_type);
	ck_assert(f.bi_hash_seed != d.bi_hash_seed);
	ck_assert_uint_eq(f.bi_dir, ROOT);
	ck_assert_uint_eq(f.bi_dir_offset, slot_of(ROOT, "file"));
	ck_assert(f.bi_atime == f.bi_mtime && f.bi_mtime == f.bi_ctime && f.bi_ctime == f.bi_otime);
	ck_assert_uint_eq(root.bi_nlink, root0.bi_nlink + 1);
	ck_assert_int_ge((s64)root.bi_mtime, (s64)root0.bi_mtime);
	ck_assert_uint_eq(lookup(ROOT, "file"), fi);
	remount();
	ck_assert_uint_eq(lookup(ROOT, "dir"), di);
	ck_assert_uint_eq(iget(fi).bi_hash_seed, f.bi_hash_seed);
}
END_TEST

START_TEST(test_hash_collisions)
{
	char a[16], b[16];
	u64 d, ia, ib, h;
	struct bch_inode_unpacked du;

	E.ns.new_hash_type = BCH_STR_HASH_crc32c;
	d = mk(ROOT, "crc", S_IFDIR | 0755);
	du = iget(d);
	ck_assert_uint_eq(bch_inode_str_hash(&du), BCH_STR_HASH_crc32c);
	ck_assert(collide_names(&du, a, b));
	h = bch_dirent_name_hash(&du, a, strlen(a));
	ia = mk(d, a, S_IFREG | 0644);
	ib = mk(d, b, S_IFREG | 0644);
	/* linear probing: the second name takes the next slot */
	ck_assert_uint_eq(slot_of(d, a), h);
	ck_assert_uint_eq(slot_of(d, b), h + 1);
	ck_assert_uint_eq(iget(ib).bi_dir_offset, h + 1);
	ck_assert_int_eq(bch_ns_create(&E.ns, d, b, &(struct bch_create_args) { .mode = S_IFREG },
				       NULL, &E.err), -BCH_ERR_exists);
	pb_reset(&E.err);
	/* the first goes: its slot is on b's probe path, so a whiteout stays */
	OK(bch_ns_unlink(&E.ns, d, a, 0, &E.err));
	ck_assert_uint_eq(slot_type(d, h), KEY_TYPE_hash_whiteout);
	ck_assert_uint_eq(lookup(d, b), ib);
	ck_assert_uint_eq(lookup(d, a), 0);
	remount();
	ck_assert_uint_eq(lookup(d, b), ib);
	/* a new entry of that hash fills the whiteout */
	ia = mk(d, a, S_IFREG | 0644);
	ck_assert_uint_eq(slot_of(d, a), h);
	/* the last of the chain goes without a whiteout */
	OK(bch_ns_unlink(&E.ns, d, b, 0, &E.err));
	ck_assert_uint_eq(slot_type(d, h + 1), 0);
	ck_assert_uint_eq(lookup(d, a), ia);
	/* a rename within the directory onto the colliding name takes the hole after a */
	OK(bch_ns_rename(&E.ns, d, a, d, b, 0, &E.err));
	ck_assert_uint_eq(lookup(d, b), ia);
	ck_assert_uint_eq(slot_of(d, b), h);
	ck_assert_uint_eq(iget(ia).bi_dir_offset, h);
}
END_TEST

START_TEST(test_big_dir)
{
	enum { NR = 10000 };
	u64 d = mk(ROOT, "big", S_IFDIR | 0755), *inums = calloc(NR, sizeof(u64));
	char n[32];

	for (unsigned i = 0; i < NR; i++) {
		snprintf(n, sizeof(n), "entry %u", i);
		inums[i] = mk(d, n, i % 10 == 1 ? S_IFDIR | 0700 : S_IFREG | 0644);
	}
	ck_assert_uint_eq(iget(d).bi_nlink, NR / 10);
	remount();
	for (unsigned i = 0; i < NR; i += 7) {
		snprintf(n, sizeof(n), "entry %u", i);
		ck_assert_uint_eq(lookup(d, n), inums[i]);
	}
	for (unsigned i = 0; i < NR; i += 2) {
		snprintf(n, sizeof(n), "entry %u", i);
		OK(bch_ns_unlink(&E.ns, d, n, 0, &E.err));
	}
	ck_assert_uint_eq(iget(d).bi_nlink, NR / 10);
	remount();
	for (unsigned i = 0; i < NR; i++) {
		snprintf(n, sizeof(n), "entry %u", i);
		ck_assert_uint_eq(lookup(d, n), i % 2 ? inums[i] : 0);
	}
	free(inums);
}
END_TEST

START_TEST(test_names)
{
	char n255[256], n512[513], n513[514];
	const char *utf8 = "\xce\xb1\xce\xb2\xce\xb3-\xe2\x9c\x93";
	u64 i1, i255, i512, iu;

	memset(n255, 'x', 255);
	n255[255] = 0;
	memset(n512, 'y', 512);
	n512[512] = 0;
	memset(n513, 'z', 513);
	n513[513] = 0;
	i1 = mk(ROOT, "q", S_IFREG | 0644);
	i255 = mk(ROOT, n255, S_IFREG | 0644);
	i512 = mk(ROOT, n512, S_IFREG | 0644);
	iu = mk(ROOT, utf8, S_IFREG | 0644);
	ck_assert_int_eq(bch_ns_create(&E.ns, ROOT, n513, &(struct bch_create_args) { .mode = S_IFREG },
				       NULL, &E.err), -BCH_ERR_name_too_long);
	ck_assert_int_eq(bch_ns_create(&E.ns, ROOT, "..", &(struct bch_create_args) { .mode = S_IFREG },
				       NULL, &E.err), -BCH_ERR_name_invalid);
	ck_assert_int_eq(bch_ns_create(&E.ns, ROOT, "a/b", &(struct bch_create_args) { .mode = S_IFREG },
				       NULL, &E.err), -BCH_ERR_name_invalid);
	pb_reset(&E.err);
	remount();
	ck_assert_uint_eq(lookup(ROOT, "q"), i1);
	ck_assert_uint_eq(lookup(ROOT, n255), i255);
	ck_assert_uint_eq(lookup(ROOT, n512), i512);
	ck_assert_uint_eq(lookup(ROOT, utf8), iu);
}
END_TEST

START_TEST(test_xattrs)
{
	u64 f = mk(ROOT, "xf", S_IFREG | 0644);
	char name[64], val[64], got[64], list[8192];
	long n;

	for (unsigned i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "user.k%u", i);
		snprintf(val, sizeof(val), "v%u", i * 3);
		OK(bch_ns_xattr_set(&E.ns, f, name, val, strlen(val), BCH_XATTR_CREATE, &E.err));
	}
	ck_assert_int_eq(bch_ns_xattr_set(&E.ns, f, "user.k1", "x", 1, BCH_XATTR_CREATE, &E.err),
			 -BCH_ERR_exists);
	ck_assert_int_eq(bch_ns_xattr_set(&E.ns, f, "user.none", "x", 1, BCH_XATTR_REPLACE, &E.err),
			 -BCH_ERR_no_xattr);
	ck_assert_int_eq(bch_ns_xattr_set(&E.ns, f, "os2.k", "x", 1, 0, &E.err),
			 -BCH_ERR_xattr_unsupported);
	pb_reset(&E.err);
	OK(bch_ns_xattr_set(&E.ns, f, "user.k1", "replaced", 8, BCH_XATTR_REPLACE, &E.err));
	OK(bch_ns_xattr_set(&E.ns, f, "trusted.k1", "t", 1, 0, &E.err));
	OK(bch_ns_xattr_remove(&E.ns, f, "user.k2", &E.err));
	remount();
	ck_assert_int_eq(bch_ns_xattr_get(&E.ns, f, "user.k1", got, sizeof(got), &E.err), 8);
	ck_assert(!memcmp(got, "replaced", 8));
	ck_assert_int_eq(bch_ns_xattr_get(&E.ns, f, "user.k149", got, sizeof(got), &E.err), 4);
	ck_assert(!memcmp(got, "v447", 4));
	ck_assert_int_eq(bch_ns_xattr_get(&E.ns, f, "trusted.k1", got, sizeof(got), &E.err), 1);
	ck_assert_int_eq(bch_ns_xattr_get(&E.ns, f, "user.k2", got, sizeof(got), &E.err),
			 -BCH_ERR_no_xattr);
	n = bch_ns_xattr_list(&E.ns, f, list, sizeof(list), &E.err);
	ck_assert_int_gt(n, 0);
	unsigned count = 0;
	for (char *p = list; p < list + n; p += strlen(p) + 1)
		count++;
	ck_assert_uint_eq(count, 150);
	ck_assert_ptr_nonnull(memmem(list, n, "trusted.k1", 11));
	ck_assert_int_eq(bch_ns_xattr_list(&E.ns, f, list, 10, &E.err), -BCH_ERR_xattr_range);
	/* the last link goes: so do its xattrs */
	OK(bch_ns_unlink(&E.ns, ROOT, "xf", 0, &E.err));
	remount();
	ck_assert_int_eq(bch_ns_xattr_list(&E.ns, f, NULL, 0, &E.err), 0);
}
END_TEST

/* user_obj rw, user 1001 r, group_obj r, mask rw, other r (Linux form) */
static const u8 vfs_acl[] = {
	2, 0, 0, 0,
	0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
	0x02, 0, 4, 0, 0xe9, 0x03, 0, 0,
	0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
	0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
	0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
};

START_TEST(test_acl_encoding)
{
	static const u8 disk[] = {
		1, 0, 0, 0,
		0x01, 0, 6, 0,
		0x02, 0, 4, 0, 0xe9, 0x03, 0, 0,
		0x04, 0, 4, 0,
		0x10, 0, 6, 0,
		0x20, 0, 4, 0,
	};
	u8 out[64], back[64], bad[sizeof(vfs_acl)];
	unsigned mode = S_IFREG | 0777;

	ck_assert_int_eq(bch_acl_from_vfs(vfs_acl, sizeof(vfs_acl), out, sizeof(out), &E.err),
			 sizeof(disk));
	ck_assert(!memcmp(out, disk, sizeof(disk)));
	ck_assert_int_eq(bch_acl_to_vfs(disk, sizeof(disk), back, sizeof(back), &E.err),
			 sizeof(vfs_acl));
	ck_assert(!memcmp(back, vfs_acl, sizeof(vfs_acl)));
	ck_assert_int_eq(bch_acl_equiv_mode(vfs_acl, sizeof(vfs_acl), &mode), 0);
	ck_assert_uint_eq(mode, S_IFREG | 0664);
	/* entries out of order are refused */
	memcpy(bad, vfs_acl, sizeof(bad));
	memcpy(bad + 4, vfs_acl + 12, 8);
	memcpy(bad + 12, vfs_acl + 4, 8);
	ck_assert_int_eq(bch_acl_from_vfs(bad, sizeof(bad), out, sizeof(out), &E.err),
			 -BCH_ERR_acl_invalid);
	/* a mode-equivalent acl: three entries */
	static const u8 plain[] = {
		2, 0, 0, 0,
		0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
		0x04, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 1, 0, 0xff, 0xff, 0xff, 0xff,
	};
	mode = S_IFDIR | 0;
	ck_assert_int_eq(bch_acl_equiv_mode(plain, sizeof(plain), &mode), 1);
	ck_assert_uint_eq(mode, S_IFDIR | 0751);
	pb_reset(&E.err);
}
END_TEST

START_TEST(test_acl_xattrs)
{
	u64 f = mk(ROOT, "af", S_IFREG | 0600), d = mk(ROOT, "ad", S_IFDIR | 0700);
	u8 got[64];

	OK(bch_ns_xattr_set(&E.ns, f, "system.posix_acl_access", vfs_acl, sizeof(vfs_acl), 0, &E.err));
	OK(bch_ns_xattr_set(&E.ns, d, "system.posix_acl_default", vfs_acl, sizeof(vfs_acl), 0, &E.err));
	ck_assert_int_eq(bch_ns_xattr_set(&E.ns, f, "system.posix_acl_default", vfs_acl,
					  sizeof(vfs_acl), 0, &E.err), -BCH_ERR_acl_invalid);
	pb_reset(&E.err);
	remount();
	ck_assert_uint_eq(iget(f).bi_mode, S_IFREG | 0664);
	ck_assert_int_eq(bch_ns_xattr_get(&E.ns, f, "system.posix_acl_access", got, sizeof(got),
					  &E.err), sizeof(vfs_acl));
	ck_assert(!memcmp(got, vfs_acl, sizeof(vfs_acl)));
	ck_assert_int_eq(bch_ns_xattr_get(&E.ns, d, "system.posix_acl_default", NULL, 0, &E.err),
			 sizeof(vfs_acl));
	OK(bch_ns_xattr_remove(&E.ns, f, "system.posix_acl_access", &E.err));
	ck_assert_int_eq(bch_ns_xattr_get(&E.ns, f, "system.posix_acl_access", got, sizeof(got),
					  &E.err), -BCH_ERR_no_xattr);
	pb_reset(&E.err);
}
END_TEST

START_TEST(test_hardlinks)
{
	u64 d = mk(ROOT, "hd", S_IFDIR | 0755), f = mk(ROOT, "orig", S_IFREG | 0644);
	struct bch_inode_unpacked u;

	OK(bch_ns_link(&E.ns, d, "l1", f, &E.err));
	OK(bch_ns_link(&E.ns, d, "l2", f, &E.err));
	u = iget(f);
	ck_assert_uint_eq(bch_inode_nlink_get(&u), 3);
	ck_assert_uint_eq(u.bi_dir, d);
	ck_assert_uint_eq(u.bi_dir_offset, slot_of(d, "l2"));
	ck_assert_int_eq(bch_ns_link(&E.ns, ROOT, "dirlink", d, &E.err), -BCH_ERR_is_dir);
	pb_reset(&E.err);
	OK(bch_ns_unlink(&E.ns, d, "l2", 0, &E.err));
	u = iget(f);
	ck_assert_uint_eq(bch_inode_nlink_get(&u), 2);
	ck_assert_uint_eq(u.bi_dir, 0);
	OK(bch_ns_unlink(&E.ns, ROOT, "orig", 0, &E.err));
	ck_assert_uint_eq(lookup(d, "l1"), f);
	OK(bch_ns_unlink(&E.ns, d, "l1", 0, &E.err));
	ck_assert_int_eq(bch_ns_inode_get(&E.ns, f, &u, &E.err), -BCH_ERR_not_found);
	pb_reset(&E.err);
}
END_TEST

START_TEST(test_rename)
{
	u64 d1 = mk(ROOT, "r1", S_IFDIR | 0755), d2 = mk(ROOT, "r2", S_IFDIR | 0755);
	u64 a = mk(d1, "a", S_IFREG | 0644), b = mk(d2, "b", S_IFREG | 0644);
	u64 s = mk(d1, "s", S_IFDIR | 0755), t = mk(d2, "t", S_IFDIR | 0755);
	struct bch_inode_unpacked u;

	mk(t, "inside", S_IFREG | 0644);
	ck_assert_uint_eq(iget(d1).bi_nlink, 1);
	/* a directory across: link counts move */
	OK(bch_ns_rename(&E.ns, d1, "s", d2, "s2", 0, &E.err));
	ck_assert_uint_eq(iget(d1).bi_nlink, 0);
	ck_assert_uint_eq(iget(d2).bi_nlink, 2);
	u = iget(s);
	ck_assert_uint_eq(u.bi_dir, d2);
	ck_assert_uint_eq(u.bi_dir_offset, slot_of(d2, "s2"));
	/* replacing a file: it loses its only link and goes */
	OK(bch_ns_rename(&E.ns, d1, "a", d2, "b", 0, &E.err));
	ck_assert_uint_eq(lookup(d2, "b"), a);
	ck_assert_uint_eq(lookup(d1, "a"), 0);
	ck_assert_int_eq(bch_ns_inode_get(&E.ns, b, &u, &E.err), -BCH_ERR_not_found);
	/* a non-empty directory is not replaced; a file does not replace a directory */
	ck_assert_int_eq(bch_ns_rename(&E.ns, d2, "s2", d2, "t", 0, &E.err), -BCH_ERR_dir_not_empty);
	ck_assert_int_eq(bch_ns_rename(&E.ns, d2, "b", d2, "t", 0, &E.err), -BCH_ERR_is_dir);
	ck_assert_int_eq(bch_ns_rename(&E.ns, d2, "b", d2, "s2", BCH_RENAME_NOREPLACE, &E.err),
			 -BCH_ERR_exists);
	pb_reset(&E.err);
	/* exchange a file and a directory across directories */
	OK(bch_ns_rename(&E.ns, d2, "b", d1, "x", 0, &E.err));
	OK(bch_ns_rename(&E.ns, d1, "x", d2, "t", BCH_RENAME_EXCHANGE, &E.err));
	ck_assert_uint_eq(lookup(d1, "x"), t);
	ck_assert_uint_eq(lookup(d2, "t"), a);
	ck_assert_uint_eq(iget(d1).bi_nlink, 1);
	ck_assert_uint_eq(iget(d2).bi_nlink, 1);
	ck_assert_uint_eq(iget(t).bi_dir, d1);
	remount();
	ck_assert_uint_eq(lookup(t, "inside") != 0, 1);
	u64 x;
	OK(bch_ns_path_lookup(&E.ns, "/r1/x/inside", &x, &E.err));
	OK(bch_ns_path_lookup(&E.ns, "r2/s2/../t", &x, &E.err));
	ck_assert_uint_eq(x, a);
}
END_TEST

START_TEST(test_unlink)
{
	u64 d = mk(ROOT, "ud", S_IFDIR | 0755), f = mk(d, "f", S_IFREG | 0644);
	struct bch_inode_unpacked u;

	ck_assert_int_eq(bch_ns_unlink(&E.ns, ROOT, "ud", 0, &E.err), -BCH_ERR_dir_not_empty);
	ck_assert_int_eq(bch_ns_unlink(&E.ns, d, "nope", 0, &E.err), -BCH_ERR_not_found);
	pb_reset(&E.err);
	/* an open file: flagged unlinked, kept */
	OK(bch_ns_unlink(&E.ns, d, "f", BCH_UNLINK_KEEP_OPEN, &E.err));
	u = iget(f);
	ck_assert(u.bi_flags & (1U << BCH_INODE_unlinked));
	ck_assert_uint_eq(bch_inode_nlink_get(&u), 0);
	OK(bch_ns_unlink(&E.ns, ROOT, "ud", 0, &E.err));
	ck_assert_int_eq(bch_ns_inode_get(&E.ns, d, &u, &E.err), -BCH_ERR_not_found);
	pb_reset(&E.err);
	ck_assert_uint_eq(iget(ROOT).bi_nlink, 1);
}
END_TEST

static int reserve(u64 inum, u64 start, u64 end)
{
	struct {
		struct bkey_i k;
		struct bch_reservation r;
	} key;

	memset(&key, 0, sizeof(key));
	key.k.k.u64s = sizeof(key) / 8;
	key.k.k.format_whiteout = KEY_FORMAT_CURRENT;
	key.k.k.type = KEY_TYPE_reservation;
	key.k.k.p = SPOS(inum, end, E.ns.snapshot);
	key.k.k.size = end - start;
	key.r.nr_replicas = 1;
	return bch_trans_update(&E.ns.t, BTREE_ID_extents, 0, &key.k, 0);
}

START_TEST(test_truncate)
{
	u64 f = mk(ROOT, "tf", S_IFREG | 0644);
	struct bch_inode_unpacked u;

	OK(reserve(f, 0, 16) ?: reserve(f, 32, 96));
	u = iget(f);
	u.bi_sectors = 80;
	u.bi_size = 96 << 9;
	OK(bch_ns_inode_update(&E.ns, &u, &E.err));
	/* 40 sectors and a bit: rounded up to the 4 KiB block at sector 48 */
	OK(bch_ns_truncate(&E.ns, f, (40 << 9) + 1, &E.err));
	u = iget(f);
	ck_assert_uint_eq(u.bi_size, (40 << 9) + 1);
	ck_assert_uint_eq(u.bi_sectors, 16 + 16);
	remount();
	OK(bch_ns_truncate(&E.ns, f, 0, &E.err));
	u = iget(f);
	ck_assert_uint_eq(u.bi_sectors, 0);
	ck_assert_int_eq(bch_ns_truncate(&E.ns, ROOT, 0, &E.err), -BCH_ERR_is_dir);
	pb_reset(&E.err);
}
END_TEST

START_TEST(test_setattr_times)
{
	struct bch_create_args a = {
		.mode = S_IFCHR | 0600, .uid = 5, .gid = 6, .rdev = 0x103, .set_times = true,
		.atime = { 1700000000, 5 }, .mtime = { 1700000001, 6 }, .ctime = { 1700000002, 7 },
	};
	struct bch_setattr s = { .valid = BCH_ATTR_MODE | BCH_ATTR_UID | BCH_ATTR_MTIME,
				 .mode = 0644, .uid = 99, .mtime = { 1600000000, 999999999 } };
	struct bch_inode_unpacked u;
	struct timespec ts;

	OK(bch_ns_create(&E.ns, ROOT, "cdev", &a, &u, &E.err));
	ck_assert_uint_eq(u.bi_dev, 0x103);
	ts = bch_fs_time_to_timespec(E.c, u.bi_atime);
	ck_assert_int_eq(ts.tv_sec, 1700000000);
	ck_assert_int_eq(ts.tv_nsec, 5);
	OK(bch_ns_setattr(&E.ns, u.bi_inum, &s, &E.err));
	u = iget(u.bi_inum);
	ck_assert_uint_eq(u.bi_mode, S_IFCHR | 0644);
	ck_assert_uint_eq(u.bi_uid, 99);
	ck_assert_uint_eq(u.bi_gid, 6);
	ts = bch_fs_time_to_timespec(E.c, u.bi_mtime);
	ck_assert_int_eq(ts.tv_sec, 1600000000);
	ck_assert_int_eq(ts.tv_nsec, 999999999);
}
END_TEST

static Suite *fs_ns_suite(void)
{
	Suite *s = suite_create("fs_ns");
	TCase *tc = tcase_create("ops");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_create_fields);
	tcase_add_test(tc, test_hash_collisions);
	tcase_add_test(tc, test_big_dir);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_xattrs);
	tcase_add_test(tc, test_acl_encoding);
	tcase_add_test(tc, test_acl_xattrs);
	tcase_add_test(tc, test_hardlinks);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_unlink);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_setattr_times);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fs_ns_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

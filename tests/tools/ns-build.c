/* Test driver: builds a namespace through libbcachefs/fs (directories, many files, odd names, device nodes, xattrs, ACLs, hardlinks, renames, unlinks, truncates) on a formatted image, then shuts down cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/collide.h"
#include "btree/trans.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "fs/namei.h"
#include "checksum/str_hash.h"
#include "fs/dirent_ops.h"
#include "fs/xattr_ops.h"
#include "util/errcode.h"

static const char usage[] =
"usage: ns-build [--files N] DEVICE...\n"
"Creates on a formatted filesystem: /big with N files (default 10000),\n"
"/names (names of 1, 255 and 512 bytes, non-ASCII), /dev (char, block,\n"
"fifo, socket, symlink inodes), /x (a file with 120 xattrs and ACLs),\n"
"hardlinks, renames within and across directories (replacing, exchanging),\n"
"unlinks (files, a directory, the last link of a file with xattrs) and\n"
"truncates of a file with reserved extents; checks each step through\n"
"lookups, then shuts down cleanly.  Prints what it made; exit 0 or 1.\n";

struct build {
	struct bch_fs *c;
	struct bch_ns ns;
	struct printbuf err;
	const char *step;
};

static int fail(struct build *b, int ret)
{
	fprintf(stderr, "ns-build: %s: %s: %s\n", b->step, bch_err_str(ret), pb_cstr(&b->err));
	return ret;
}

#define TRY(b, what, expr) do {					\
	int _r;							\
	(b)->step = (what);					\
	if ((_r = (expr)))					\
		return fail((b), _r);				\
} while (0)

static int mk(struct build *b, u64 dir, const char *name, unsigned mode, u64 *inum)
{
	struct bch_create_args a = { .mode = mode, .uid = 1000, .gid = 100 };
	struct bch_inode_unpacked u;
	int ret = bch_ns_create(&b->ns, dir, name, &a, &u, &b->err);

	if (!ret && inum)
		*inum = u.bi_inum;
	return ret;
}

static int expect_path(struct build *b, const char *path, u64 want)
{
	u64 inum = 0;
	int ret = bch_ns_path_lookup(&b->ns, path, &inum, &b->err);

	if (ret == -BCH_ERR_not_found && !want)
		return 0;
	if (ret)
		return ret;
	if (inum != want) {
		pb_printf(&b->err, "%s is inode %llu, not %llu", path, (unsigned long long)inum,
			  (unsigned long long)want);
		return -BCH_ERR_fs_inconsistent;
	}
	return 0;
}

static int big_dir(struct build *b, unsigned nr)
{
	u64 dir, inum;
	char name[32];

	TRY(b, "mkdir /big", mk(b, BCACHEFS_ROOT_INO, "big", S_IFDIR | 0755, &dir));
	for (unsigned i = 0; i < nr; i++) {
		snprintf(name, sizeof(name), "file-%06u", i);
		TRY(b, "create in /big", mk(b, dir, name, S_IFREG | 0644, &inum));
	}
	TRY(b, "lookup in /big", expect_path(b, "big/file-000000", 4098 + 1));
	printf("big: %u files\n", nr);
	return 0;
}

static int names(struct build *b)
{
	char n255[256], n512[513], n513[514];
	u64 dir, inum;

	memset(n255, 'l', 255);
	n255[255] = 0;
	memset(n512, 'm', 512);
	n512[512] = 0;
	memset(n513, 'n', 513);
	n513[513] = 0;
	TRY(b, "mkdir /names", mk(b, BCACHEFS_ROOT_INO, "names", S_IFDIR | 0755, &dir));
	TRY(b, "1-byte name", mk(b, dir, "a", S_IFREG | 0644, NULL));
	TRY(b, "255-byte name", mk(b, dir, n255, S_IFREG | 0644, NULL));
	TRY(b, "512-byte name", mk(b, dir, n512, S_IFREG | 0644, &inum));
	TRY(b, "non-ASCII name", mk(b, dir, "h\xc3\xa9llo-\xe6\x97\xa5\xe6\x9c\xac", S_IFREG | 0644, NULL));
	b->step = "513-byte name refused";
	if (mk(b, dir, n513, S_IFREG | 0644, NULL) != -BCH_ERR_name_too_long)
		return fail(b, -BCH_ERR_fs_inconsistent);
	b->step = "duplicate refused";
	if (mk(b, dir, "a", S_IFREG | 0644, NULL) != -BCH_ERR_exists)
		return fail(b, -BCH_ERR_fs_inconsistent);
	pb_reset(&b->err);
	printf("names: 1, 255, 512 bytes, non-ASCII\n");
	return 0;
}

static int special(struct build *b)
{
	struct bch_create_args a = {
		.mode = S_IFCHR | 0600, .rdev = 0x103, .set_times = true,
		.atime = { 1600000000, 123456789 }, .mtime = { 1600000001, 1 },
		.ctime = { 1600000002, 999999999 },
	};
	u64 dir;

	TRY(b, "mkdir /dev", mk(b, BCACHEFS_ROOT_INO, "dev", S_IFDIR | 0755, &dir));
	TRY(b, "char device", bch_ns_create(&b->ns, dir, "null", &a, NULL, &b->err));
	a.mode = S_IFBLK | 0660;
	a.rdev = 0x801;
	TRY(b, "block device", bch_ns_create(&b->ns, dir, "sda1", &a, NULL, &b->err));
	TRY(b, "fifo", mk(b, dir, "fifo", S_IFIFO | 0644, NULL));
	TRY(b, "socket", mk(b, dir, "sock", S_IFSOCK | 0755, NULL));
	TRY(b, "symlink", mk(b, dir, "link", S_IFLNK | 0777, NULL));
	printf("dev: char, block, fifo, socket, symlink\n");
	return 0;
}

/* system.posix_acl_access: user_obj rw, user 1001 r, group_obj r, mask rw, other - */
static const u8 acl_access[] = {
	2, 0, 0, 0,
	0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
	0x02, 0, 4, 0, 0xe9, 0x03, 0, 0,
	0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
	0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
	0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
};

static int xattrs(struct build *b)
{
	u64 dir, f;
	char name[64], val[64], got[sizeof(acl_access)];

	TRY(b, "mkdir /x", mk(b, BCACHEFS_ROOT_INO, "x", S_IFDIR | 0755, &dir));
	TRY(b, "create /x/f", mk(b, dir, "f", S_IFREG | 0644, &f));
	for (unsigned i = 0; i < 120; i++) {
		snprintf(name, sizeof(name), "user.attr%03u", i);
		snprintf(val, sizeof(val), "value %u", i * 7);
		TRY(b, "set xattr", bch_ns_xattr_set(&b->ns, f, name, val, strlen(val), 0, &b->err));
	}
	TRY(b, "trusted xattr", bch_ns_xattr_set(&b->ns, f, "trusted.t", "T", 1, 0, &b->err));
	TRY(b, "security xattr", bch_ns_xattr_set(&b->ns, f, "security.s", "S", 1, 0, &b->err));
	TRY(b, "remove xattr", bch_ns_xattr_remove(&b->ns, f, "user.attr007", &b->err));
	TRY(b, "access acl", bch_ns_xattr_set(&b->ns, f, "system.posix_acl_access", acl_access,
					      sizeof(acl_access), 0, &b->err));
	TRY(b, "default acl", bch_ns_xattr_set(&b->ns, dir, "system.posix_acl_default", acl_access,
					       sizeof(acl_access), 0, &b->err));
	b->step = "acl read back";
	if (bch_ns_xattr_get(&b->ns, f, "system.posix_acl_access", got, sizeof(got), &b->err) !=
	    (int)sizeof(acl_access) || memcmp(got, acl_access, sizeof(got)))
		return fail(b, -BCH_ERR_fs_inconsistent);
	printf("x: 121 user xattrs set, 1 removed, trusted, security, access and default acl\n");
	return 0;
}

static int links(struct build *b)
{
	u64 d1, d2, f, g, sub, sub2;

	TRY(b, "mkdir /l1", mk(b, BCACHEFS_ROOT_INO, "l1", S_IFDIR | 0755, &d1));
	TRY(b, "mkdir /l2", mk(b, BCACHEFS_ROOT_INO, "l2", S_IFDIR | 0755, &d2));
	TRY(b, "create /l1/f", mk(b, d1, "f", S_IFREG | 0644, &f));
	TRY(b, "link /l2/hard1", bch_ns_link(&b->ns, d2, "hard1", f, &b->err));
	TRY(b, "link /l2/hard2", bch_ns_link(&b->ns, d2, "hard2", f, &b->err));
	TRY(b, "unlink /l2/hard2 (the backpointer)", bch_ns_unlink(&b->ns, d2, "hard2", 0, &b->err));
	TRY(b, "create /l1/g", mk(b, d1, "g", S_IFREG | 0644, &g));
	TRY(b, "rename g -> g2 in l1", bch_ns_rename(&b->ns, d1, "g", d1, "g2", 0, &b->err));
	TRY(b, "rename l1/g2 -> l2/g3", bch_ns_rename(&b->ns, d1, "g2", d2, "g3", 0, &b->err));
	TRY(b, "rename l2/g3 over l2/hard1", bch_ns_rename(&b->ns, d2, "g3", d2, "hard1", 0, &b->err));
	TRY(b, "mkdir /l1/sub", mk(b, d1, "sub", S_IFDIR | 0755, &sub));
	TRY(b, "mkdir /l2/sub2", mk(b, d2, "sub2", S_IFDIR | 0755, &sub2));
	TRY(b, "rename dir l1/sub -> l2/sub", bch_ns_rename(&b->ns, d1, "sub", d2, "sub", 0, &b->err));
	TRY(b, "exchange l2/sub and l1/f", bch_ns_rename(&b->ns, d2, "sub", d1, "f",
							BCH_RENAME_EXCHANGE, &b->err));
	TRY(b, "rmdir l2/sub2", bch_ns_unlink(&b->ns, d2, "sub2", 0, &b->err));
	TRY(b, "check l1/f", expect_path(b, "l1/f", sub));
	TRY(b, "check l2/sub", expect_path(b, "/l2/sub/", f));
	TRY(b, "check l2/hard1", expect_path(b, "l2/hard1", g));
	TRY(b, "check l2/sub2 gone", expect_path(b, "l2/sub2", 0));
	printf("l1, l2: hardlinks, renames, exchange, rmdir\n");
	return 0;
}

/* A reservation extent [start, end) of inum: allocated sectors without data. */
static int reserve(struct build *b, u64 inum, u64 start, u64 end)
{
	struct {
		struct bkey_i k;
		struct bch_reservation r;
	} key;

	memset(&key, 0, sizeof(key));
	key.k.k.u64s = sizeof(key) / 8;
	key.k.k.format_whiteout = KEY_FORMAT_CURRENT;
	key.k.k.type = KEY_TYPE_reservation;
	key.k.k.p = SPOS(inum, end, b->ns.snapshot);
	key.k.k.size = end - start;
	key.r.nr_replicas = 1;
	return bch_trans_update(&b->ns.t, BTREE_ID_extents, 0, &key.k, 0);
}

static int truncates(struct build *b)
{
	struct bch_inode_unpacked u;
	u64 dir, f, gone;

	TRY(b, "mkdir /t", mk(b, BCACHEFS_ROOT_INO, "t", S_IFDIR | 0755, &dir));
	TRY(b, "create /t/f", mk(b, dir, "f", S_IFREG | 0644, &f));
	TRY(b, "create /t/gone", mk(b, dir, "gone", S_IFREG | 0644, &gone));
	TRY(b, "reserve", reserve(b, f, 0, 64) ?: reserve(b, f, 128, 256) ?:
			  reserve(b, gone, 0, 32) ?: bch_ns_inode_get(&b->ns, f, &u, &b->err));
	u.bi_sectors = 64 + 128;
	u.bi_size = 256 << 9;
	TRY(b, "size f", bch_ns_inode_write(&b->ns, &u, &b->err) ?:
			 bch_ns_inode_get(&b->ns, gone, &u, &b->err));
	u.bi_sectors = 32;
	u.bi_size = 32 << 9;
	TRY(b, "size gone", bch_ns_inode_write(&b->ns, &u, &b->err) ?: bch_ns_commit(&b->ns, &b->err));
	TRY(b, "truncate f to 100000", bch_ns_truncate(&b->ns, f, 100000, &b->err));
	TRY(b, "read f", bch_ns_inode_get(&b->ns, f, &u, &b->err));
	b->step = "bi_sectors after truncate";
	/* 100000 bytes round up to sector 200 (4 KiB blocks): [128, 200) of the second extent stays */
	if (u.bi_sectors != 64 + 72 || u.bi_size != 100000) {
		pb_printf(&b->err, "sectors %llu size %llu", (unsigned long long)u.bi_sectors,
			  (unsigned long long)u.bi_size);
		return fail(b, -BCH_ERR_fs_inconsistent);
	}
	TRY(b, "truncate f to 1000", bch_ns_truncate(&b->ns, f, 1000, &b->err));
	TRY(b, "unlink /t/gone (with extents)", bch_ns_unlink(&b->ns, dir, "gone", 0, &b->err));
	printf("t: truncates, unlink of a file with extents\n");
	return 0;
}

/* A crc32c directory with a hash collision; the first entry's unlink leaves a whiteout. */
static int collisions(struct build *b)
{
	struct bch_inode_unpacked d;
	char n[32], a[16] = "", c[16] = "";
	u64 dir, inum;
	unsigned saved = b->ns.new_hash_type;

	b->ns.new_hash_type = BCH_STR_HASH_crc32c;
	TRY(b, "mkdir /crc", mk(b, BCACHEFS_ROOT_INO, "crc", S_IFDIR | 0755, &dir));
	b->ns.new_hash_type = saved;
	TRY(b, "read /crc", bch_ns_inode_get(&b->ns, dir, &d, &b->err));
	b->step = "find a collision";
	if (!collide_names(&d, a, c))
		return fail(b, -BCH_ERR_fs_inconsistent);
	for (u32 i = 0; i < 1000; i++) {
		snprintf(n, sizeof(n), "n%u", i);
		TRY(b, "create in /crc", mk(b, dir, n, S_IFREG | 0644, NULL));
	}
	TRY(b, "create colliding names", mk(b, dir, a, S_IFREG | 0644, NULL) ?:
					  mk(b, dir, c, S_IFREG | 0644, &inum));
	TRY(b, "unlink the first of them", bch_ns_unlink(&b->ns, dir, a, 0, &b->err));
	snprintf(n, sizeof(n), "crc/%s", c);
	TRY(b, "lookup the second", expect_path(b, n, inum));
	printf("crc: 1002 files, colliding names %s and %s, a whiteout left\n", a, c);
	return 0;
}

static int build(struct build *b, unsigned nr_files)
{
	return big_dir(b, nr_files) ?: names(b) ?: special(b) ?: xattrs(b) ?: links(b) ?:
	       truncates(b) ?: collisions(b);
}

int main(int argc, char **argv)
{
	struct bch_open_opts oo = { 0 };
	struct build b = { .err = PRINTBUF };
	unsigned nr_files = 10000;
	int i = 1, ret;

	if (i + 1 < argc && !strcmp(argv[i], "--files")) {
		nr_files = strtoul(argv[i + 1], NULL, 0);
		i += 2;
	}
	if (i >= argc || argv[i][0] == '-') {
		fputs(usage, i < argc && !strcmp(argv[i], "--help") ? stdout : stderr);
		return i < argc && !strcmp(argv[i], "--help") ? 0 : 2;
	}
	b.step = "open";
	ret = bch_fs_open(argv + i, argc - i, &oo, &b.c, &b.err) ?:
	      bch_fs_start_write(b.c, &b.err) ?: bch_ns_init(&b.ns, b.c, &b.err);
	if (ret)
		return fail(&b, ret), 1;
	ret = build(&b, nr_files);
	b.step = "clean shutdown";
	if (!ret && (ret = bch_fs_clean_shutdown(b.c, &b.err)))
		fail(&b, ret);
	bch_ns_exit(&b.ns);
	bch_fs_close(b.c);
	pb_exit(&b.err);
	if (!ret)
		printf("done\n");
	return ret ? 1 : 0;
}

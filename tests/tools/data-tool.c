/* Test driver for the data path: copies host files into a filesystem's root directory, prints files back by path. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "btree/iter.h"
#include "btree/trans.h"
#include "checksum/checksum.h"
#include "checksum/str_hash.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "data/data_read.h"
#include "data/data_write.h"
#include "fs/fs_ops.h"
#include "fs/xattr_ops.h"
#include "import/import.h"
#include "keys/dirent.h"
#include "keys/inode.h"
#include "sb/opts.h"
#include "util/errcode.h"

static const char usage[] =
"usage: data-tool copy-in [OPTION]... SRCDIR DEVICE...\n"
"       data-tool cat DEVICE... -- PATH\n"
"       data-tool falloc DEVICE... -- NAME BYTES\n"
"       data-tool cmp-tree [--padded] [--meta] DEVICE... -- HOSTDIR PREFIX [SKIP]...\n"
"copy-in: every regular file of SRCDIR becomes a file of the root\n"
"directory (data ranges only: holes stay holes), then a clean shutdown.\n"
"  --inode-compression TYPE  set the files' compression option (lz4, ...)\n"
"  --inode-csum TYPE         set the files' data_checksum option\n"
"  --chunk BYTES             bytes per write call (default 1 MiB)\n"
"cat: the file at PATH (from the root directory) to stdout.\n"
"falloc: a new file NAME in the root with BYTES preallocated.\n"
"cmp-tree: every regular file under HOSTDIR (but those whose path relative\n"
"to it matches a SKIP pattern) reads back identical from PREFIX/ its path\n"
"(PREFIX \"\" for the root), the filesystem opened once; prints the count.\n"
"  --padded  zeros at the end of either file do not count (a file whose\n"
"            inode fsck made again has the size where its data ends)\n"
"  --meta    every entry (directories, symlinks, devices too) has the host's\n"
"            type, permissions, owner, group, xattrs (and ACLs), symlink\n"
"            target and device number; prints the count of entries as well\n";

#define SNAP		0xffffffffU
#define ROOT_INO	BCACHEFS_ROOT_INO
#define DT_REG_TYPE	8

union key_buf {
	struct bkey_i k;
	u64 u64s[BKEY_U64s_MAX];
};

struct tool {
	struct bch_fs *c;
	struct printbuf err;
	unsigned hash_type;
	u64 root_seed;
	u64 next_inum;
	unsigned inode_compression;	/* option + 1, 0 none given */
	unsigned inode_csum;
	size_t chunk;
	u64 rng;
};

static int die(struct tool *t, const char *what, int ret)
{
	fprintf(stderr, "data-tool: %s: %s: %s\n", what, bch_err_str(ret), pb_cstr(&t->err));
	return 1;
}

static u64 rnd(struct tool *t)
{
	u64 z = (t->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int inode_read(struct tool *t, u64 inum, struct bch_inode_unpacked *u)
{
	union key_buf b;
	struct btree_trans tr;
	int ret;

	bch_trans_init(&tr, t->c);
	ret = bch_trans_lookup(&tr, BTREE_ID_inodes, 0, SPOS(0, inum, SNAP), &b.k, BKEY_U64s_MAX,
			       &t->err);
	bch_trans_exit(&tr);
	if (ret == 0) {
		pb_printf(&t->err, "no inode %llu", (unsigned long long)inum);
		return -BCH_ERR_inode_not_found;
	}
	return ret < 0 ? ret : bch_inode_unpack(bkey_i_to_s_c(&b.k), u);
}

/* The highest inode number in use, so new ones follow it. */
static int inum_next(struct tool *t)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	t->next_inum = ROOT_INO + 1;
	bch_btree_iter_init(&it, t->c, BTREE_ID_inodes, POS(0, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (bkey_is_inode(k.k) && k.k->p.offset >= t->next_inum)
			t->next_inum = k.k->p.offset + 1;
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	return ret;
}

static int fs_open(struct tool *t, char **devs, unsigned nr, bool write)
{
	struct bch_open_opts oo = { .read_only = !write };
	struct bch_inode_unpacked root;
	int ret = bch_fs_open(devs, nr, &oo, &t->c, &t->err);

	if (ret)
		return ret;
	ret = inode_read(t, ROOT_INO, &root);
	if (ret)
		return ret;
	t->hash_type = bch_inode_str_hash(&root);
	t->root_seed = root.bi_hash_seed;
	t->rng = (u64)time(NULL) ^ (u64)getpid() << 32;
	return write ? inum_next(t) ?: bch_fs_start_write(t->c, &t->err) : 0;
}

/* A new empty file `name` in the root directory: its inode and dirent, committed. */
static int file_create(struct tool *t, const char *name, const struct stat *st, u64 *inum)
{
	size_t len = strlen(name);
	u64 offset = bch_dirent_hash(t->hash_type, t->root_seed, name, len);
	u64 now = (u64)time(NULL) * 1000000000ULL;
	struct bch_inode_unpacked u = { 0 };
	union key_buf b;
	struct btree_trans tr;
	int ret;

	*inum = t->next_inum++;
	bch_trans_init(&tr, t->c);
	ret = bch_trans_lookup(&tr, BTREE_ID_dirents, 0, SPOS(ROOT_INO, offset, SNAP), &b.k,
			       BKEY_U64s_MAX, &t->err);
	if (ret > 0) {
		pb_printf(&t->err, "%s: dirent slot taken (hash collision)", name);
		ret = -BCH_ERR_bad_argument;
	}
	if (ret < 0)
		goto out;

	memset(&b, 0, sizeof(b.k) + offsetof(struct bch_dirent, d_name) + len + 8);
	b.k.k.u64s = BKEY_U64s + (offsetof(struct bch_dirent, d_name) + len + 7) / 8;
	b.k.k.format_whiteout = KEY_FORMAT_CURRENT;
	b.k.k.type = KEY_TYPE_dirent;
	b.k.k.p = SPOS(ROOT_INO, offset, SNAP);
	struct bch_dirent *d = (void *)b.k.v;

	d->d_inum = cpu_to_le64(*inum);
	d->d_type = DT_REG_TYPE;
	memcpy(d->d_name, name, len);
	ret = bch_trans_update(&tr, BTREE_ID_dirents, 0, &b.k, 0);
	if (ret)
		goto out;

	u.bi_inum = *inum;
	u.bi_snapshot = SNAP;
	u.bi_hash_seed = rnd(t);
	u.bi_flags = t->hash_type << 20;
	u.bi_mode = S_IFREG | (st ? (st->st_mode & 07777) : 0644);
	u.bi_atime = u.bi_ctime = u.bi_mtime = u.bi_otime = now;
	u.bi_dir = ROOT_INO;
	u.bi_dir_offset = offset;
	u.bi_compression = t->inode_compression;
	u.bi_data_checksum = t->inode_csum;
	ret = bch_inode_pack(&u, &b.k, BKEY_U64s_MAX) ?:
	      bch_trans_update(&tr, BTREE_ID_inodes, 0, &b.k, 0) ?:
	      bch_trans_commit(&tr, &t->err);
out:
	bch_trans_exit(&tr);
	return ret;
}

static int copy_one(struct tool *t, const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	struct bch_write_req r;
	u64 inum;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		pb_printf(&t->err, "%s: cannot open", path);
		return -BCH_ERR_device_open;
	}
	ret = file_create(t, name, &st, &inum);
	if (!ret) {
		memset(&r, 0, sizeof(r));
		r.inum = inum;
		r.snapshot = SNAP;
		ret = bch_io_opts_get(t->c, inum, SNAP, &r.opts, &t->err) ?:
		      bch_data_write_fd(t->c, &r, fd, t->chunk, &t->err);
		if (!ret)
			printf("%s: inode %llu, %llu extents, %llu sectors written\n", name,
			       (unsigned long long)inum, (unsigned long long)r.nr_extents,
			       (unsigned long long)r.sectors_written);
	}
	close(fd);
	return ret;
}

static int opt_value(const char *opt, const char *val, unsigned *out)
{
	int id = bch_sb_opt_lookup(opt);
	struct printbuf err = PRINTBUF;
	u64 v;
	int ret = id < 0 ? -BCH_ERR_bad_argument : bch_sb_opt_parse(&bch_sb_opts[id], val, &v, &err);

	if (ret)
		fprintf(stderr, "data-tool: %s=%s: %s\n", opt, val, pb_cstr(&err));
	pb_exit(&err);
	*out = v + 1;	/* inode options are stored plus one */
	return ret;
}

static int cmd_copy_in(int argc, char **argv)
{
	struct tool t = { .err = PRINTBUF, .chunk = 1 << 20 };
	struct dirent *de;
	DIR *d;
	int i, ret;

	for (i = 0; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "--inode-compression"))
			ret = opt_value("compression", argv[i + 1], &t.inode_compression);
		else if (!strcmp(argv[i], "--inode-csum"))
			ret = opt_value("data_checksum", argv[i + 1], &t.inode_csum);
		else if (!strcmp(argv[i], "--chunk"))
			ret = (t.chunk = strtoull(argv[i + 1], NULL, 0)) ? 0 : -1;
		else
			ret = -1;
		if (ret)
			return 2;
	}
	if (argc - i < 2)
		return 2;
	d = opendir(argv[i]);
	if (!d) {
		perror(argv[i]);
		return 1;
	}
	ret = fs_open(&t, argv + i + 1, argc - i - 1, true);
	if (ret)
		return die(&t, "open", ret);
	while (!ret && (de = readdir(d)))
		if (de->d_name[0] != '.')
			ret = copy_one(&t, argv[i], de->d_name);
	closedir(d);
	if (ret)
		return die(&t, "copy", ret);
	ret = bch_fs_clean_shutdown(t.c, &t.err);
	if (ret)
		return die(&t, "clean shutdown", ret);
	bch_fs_close(t.c);
	pb_exit(&t.err);
	return 0;
}

/* The inode a name in directory dir points to: 1 found, 0 none, negative error. */
static int lookup(struct tool *t, u64 dir, const char *name, u64 *inum)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, t->c, BTREE_ID_dirents, SPOS(dir, 0, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == dir) {
		if (k.k->type == KEY_TYPE_dirent && k.k->p.snapshot == SNAP &&
		    bch_dirent_name_len_safe(k) == strlen(name) &&
		    !memcmp(bch_dirent_name(k), name, strlen(name))) {
			*inum = bch_dirent_inum(k);
			break;
		}
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : ret > 0 && k.k->p.inode == dir;
}

static int cat_file(struct tool *t, u64 inum)
{
	struct bch_inode_unpacked u;
	size_t chunk = 1 << 20;
	u8 *buf = malloc(chunk);
	int ret = buf ? inode_read(t, inum, &u) : -BCH_ERR_nomem;

	for (u64 pos = 0; !ret && pos < u.bi_size; pos += chunk) {
		size_t n = u.bi_size - pos < chunk ? u.bi_size - pos : chunk;

		ret = bch_data_read(t->c, inum, SNAP, pos, buf, n, &t->err);
		if (!ret && fwrite(buf, 1, n, stdout) != n)
			ret = -BCH_ERR_device_write;
	}
	free(buf);
	return ret;
}

static int split_devs(int argc, char **argv, int *nr)
{
	for (*nr = 0; *nr < argc && strcmp(argv[*nr], "--"); (*nr)++)
		;
	return *nr < argc ? *nr + 1 : -1;
}

static int cmd_cat(int argc, char **argv)
{
	struct tool t = { .err = PRINTBUF };
	int nr, a = split_devs(argc, argv, &nr), ret;
	u64 inum = ROOT_INO;

	if (a < 0 || a + 1 != argc || !nr)
		return 2;
	ret = fs_open(&t, argv, nr, false);
	if (ret)
		return die(&t, "open", ret);
	for (char *p = strtok(argv[a], "/"); p && !ret; p = strtok(NULL, "/")) {
		ret = lookup(&t, inum, p, &inum);
		if (!ret) {
			pb_printf(&t.err, "%s", p);
			ret = -BCH_ERR_inode_not_found;
		}
		ret = ret > 0 ? 0 : ret;
	}
	ret = ret ?: cat_file(&t, inum);
	if (ret)
		return die(&t, "cat", ret);
	bch_fs_close(t.c);
	return fflush(stdout) ? 1 : 0;
}

static int cmd_falloc(int argc, char **argv)
{
	struct tool t = { .err = PRINTBUF };
	int nr, a = split_devs(argc, argv, &nr), ret;
	struct bch_write_req r = { .snapshot = SNAP };

	if (a < 0 || a + 2 != argc || !nr)
		return 2;
	ret = fs_open(&t, argv, nr, true) ?:
	      file_create(&t, argv[a], NULL, &r.inum) ?:
	      bch_io_opts_get(t.c, r.inum, SNAP, &r.opts, &t.err) ?:
	      bch_data_fallocate(t.c, &r, strtoull(argv[a + 1], NULL, 0), false, &t.err) ?:
	      bch_fs_clean_shutdown(t.c, &t.err);
	if (ret)
		return die(&t, "falloc", ret);
	bch_fs_close(t.c);
	return 0;
}

/* The inode at path (from the root, '/' separated): 0, or an error naming the missing name. */
static int path_lookup(struct tool *t, const char *path, u64 *inum)
{
	char *copy = strdup(path), *save = NULL;
	int ret = copy ? 0 : -BCH_ERR_nomem;

	*inum = ROOT_INO;
	for (char *p = copy ? strtok_r(copy, "/", &save) : NULL; p && !ret;
	     p = strtok_r(NULL, "/", &save)) {
		ret = lookup(t, *inum, p, inum);
		if (!ret) {
			pb_printf(&t->err, "%s: no such name", path);
			ret = -BCH_ERR_inode_not_found;
		}
		ret = ret > 0 ? 0 : ret;
	}
	free(copy);
	return ret;
}

/*
 * File inum's bytes against the host file at host: 0 same, 1 different,
 * negative error.  padded: bytes past either one's end read as zeros.
 */
static int file_same(struct tool *t, u64 inum, const char *host, bool padded)
{
	struct bch_inode_unpacked u;
	size_t chunk = 1 << 20;
	u8 *a = malloc(chunk), *b = malloc(chunk);
	FILE *f = fopen(host, "rb");
	int ret = a && b && f ? inode_read(t, inum, &u) : -BCH_ERR_nomem;
	struct stat st;
	u64 end = 0;

	if (!ret && fstat(fileno(f), &st))
		ret = -BCH_ERR_source_read;
	if (!ret && !padded && (u64)st.st_size != u.bi_size)
		ret = 1;
	if (!ret)
		end = u.bi_size > (u64)st.st_size ? u.bi_size : (u64)st.st_size;
	for (u64 pos = 0; !ret && pos < end; pos += chunk) {
		size_t n = end - pos < chunk ? end - pos : chunk;
		size_t in_fs = pos >= u.bi_size ? 0 : u.bi_size - pos < n ? u.bi_size - pos : n;
		size_t got = fread(b, 1, n, f);

		memset(a + in_fs, 0, n - in_fs);
		memset(b + got, 0, n - got);
		ret = in_fs ? bch_data_read(t->c, inum, SNAP, pos, a, in_fs, &t->err) : 0;
		if (!ret && memcmp(a, b, n))
			ret = 1;
	}
	if (f)
		fclose(f);
	free(a);
	free(b);
	return ret;
}

struct cmp_walk {
	struct tool *t;
	struct bch_ns ns;
	const char *prefix;
	bool padded;
	bool meta;
	u64 nr_meta;
	char **skip;
	int nr_skip;
	size_t root_len;
	u64 nr;
	int ret;
};

static struct cmp_walk *cmp_walk;

/*
 * The xattrs of host path against inode inum's: the same names (those
 * bcachefs has a namespace for) with the same values.  0 same, 1 not.
 */
static int xattrs_same(struct cmp_walk *w, const char *host, u64 inum, const char *fs_path)
{
	static char hl[65536], fl[65536], hv[65536], fv[65536];
	struct printbuf *err = &w->t->err;
	ssize_t hn = llistxattr(host, hl, sizeof(hl));
	long fn = bch_ns_xattr_list(&w->ns, inum, fl, sizeof(fl), err);
	size_t host_nr = 0, fs_nr = 0;

	if (fn < 0)
		return fn;
	for (const char *p = fl; p < fl + fn; p += strlen(p) + 1)
		fs_nr++;
	/* each host name bcachefs can hold must be there with the same value */
	for (const char *p = hl; hn > 0 && p < hl + hn; p += strlen(p) + 1) {
		struct printbuf e = PRINTBUF;
		const char *name;
		u8 type;
		bool held = !bch_xattr_name_parse(p, &type, &name, &e);

		pb_exit(&e);
		if (!held)
			continue;
		host_nr++;

		ssize_t hlen = lgetxattr(host, p, hv, sizeof(hv));
		int flen = bch_ns_xattr_get(&w->ns, inum, p, fv, sizeof(fv), err);

		if (flen == -BCH_ERR_no_xattr) {
			pb_reset(err);
			pb_printf(err, "%s: xattr %s is missing", fs_path, p);
			return 1;
		}
		if (flen < 0)
			return flen;
		if (hlen != flen || memcmp(hv, fv, flen)) {
			pb_printf(err, "%s: xattr %s differs (%zd bytes on the host, %d here)",
				  fs_path, p, hlen, flen);
			return 1;
		}
	}
	/* and no other */
	if (host_nr != fs_nr) {
		pb_printf(err, "%s: %zu xattrs, the host's %zu", fs_path, fs_nr, host_nr);
		return 1;
	}
	return 0;
}

/* What stat and readlink say of host path against inode inum: 0 same, 1 not. */
static int meta_same(struct cmp_walk *w, const char *host, const struct stat *st, u64 inum,
		     const char *fs_path)
{
	struct printbuf *err = &w->t->err;
	struct bch_inode_unpacked u;
	int ret = inode_read(w->t, inum, &u);

	if (ret)
		return ret;
	if (u.bi_mode != st->st_mode || u.bi_uid != st->st_uid || u.bi_gid != st->st_gid) {
		pb_printf(err, "%s: mode %o uid %u gid %u, the host's %o %u %u", fs_path,
			  (unsigned)u.bi_mode, (unsigned)u.bi_uid, (unsigned)u.bi_gid,
			  st->st_mode, st->st_uid, st->st_gid);
		return 1;
	}
	if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) &&
	    u.bi_dev != bch_kernel_dev(st->st_rdev)) {
		pb_printf(err, "%s: device %u:%u, the host's %u:%u", fs_path,
			  (unsigned)(u.bi_dev >> 20), (unsigned)(u.bi_dev & 0xfffff),
			  major(st->st_rdev), minor(st->st_rdev));
		return 1;
	}
	if (S_ISLNK(st->st_mode)) {
		char want[4097], got[4097];
		ssize_t n = readlink(host, want, sizeof(want) - 1);

		if (n < 0)
			return -BCH_ERR_source_read;
		if ((u64)n != u.bi_size) {
			pb_printf(err, "%s: symlink of %llu bytes, the host's of %zd", fs_path,
				  (unsigned long long)u.bi_size, n);
			return 1;
		}
		ret = bch_data_read(w->t->c, inum, SNAP, 0, got, n, err);
		if (ret)
			return ret;
		if (memcmp(want, got, n)) {
			pb_printf(err, "%s: symlink target differs", fs_path);
			return 1;
		}
	}
	return xattrs_same(w, host, inum, fs_path);
}

static int cmp_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct cmp_walk *w = cmp_walk;
	const char *rel = strlen(path) > w->root_len ? path + w->root_len + 1 : "";
	bool reg = type == FTW_F && S_ISREG(st->st_mode);
	char fs_path[4096];
	u64 inum;
	int ret;

	if (!reg && (!w->meta || !*rel || (type != FTW_F && type != FTW_D && type != FTW_SL)))
		return 0;
	for (int i = 0; i < w->nr_skip; i++)
		if (!fnmatch(w->skip[i], rel, 0))
			return 0;
	snprintf(fs_path, sizeof(fs_path), "%s%s%s", w->prefix, *w->prefix ? "/" : "", rel);
	ret = path_lookup(w->t, fs_path, &inum);
	if (!ret && reg) {
		ret = file_same(w->t, inum, path, w->padded);
		if (ret > 0)
			pb_printf(&w->t->err, "%s: differs", fs_path);
	}
	if (!ret && w->meta)
		ret = meta_same(w, path, st, inum, fs_path);
	if (ret) {
		w->ret = ret > 0 ? -BCH_ERR_fs_inconsistent : ret;
		return 1;
	}
	w->nr += reg;
	w->nr_meta++;
	return 0;
}

static int cmd_cmp_tree(int argc, char **argv)
{
	struct tool t = { .err = PRINTBUF };
	struct cmp_walk w = { .t = &t };
	int nr, a, ret;

	for (;;) {
		if (argc && !strcmp(argv[0], "--padded"))
			w.padded = true;
		else if (argc && !strcmp(argv[0], "--meta"))
			w.meta = true;
		else
			break;
		argc--;
		argv++;
	}
	a = split_devs(argc, argv, &nr);
	if (a < 0 || a + 2 > argc || !nr)
		return 2;
	w.prefix = argv[a + 1];
	w.skip = argv + a + 2;
	w.nr_skip = argc - a - 2;
	w.root_len = strlen(argv[a]);
	cmp_walk = &w;
	ret = fs_open(&t, argv, nr, false) ?: (w.meta ? bch_ns_init(&w.ns, t.c, &t.err) : 0);
	if (ret)
		return die(&t, "open", ret);
	if (nftw(argv[a], cmp_one, 16, FTW_PHYS) < 0)
		w.ret = -BCH_ERR_source_read;
	if (w.ret)
		return die(&t, "cmp-tree", w.ret);
	printf("%llu files read back\n", (unsigned long long)w.nr);
	if (w.meta) {
		printf("%llu entries with the host's metadata\n", (unsigned long long)w.nr_meta);
		bch_ns_exit(&w.ns);
	}
	bch_fs_close(t.c);
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	if (argc > 1 && !strcmp(argv[1], "copy-in"))
		ret = cmd_copy_in(argc - 2, argv + 2);
	else if (argc > 1 && !strcmp(argv[1], "cat"))
		ret = cmd_cat(argc - 2, argv + 2);
	else if (argc > 1 && !strcmp(argv[1], "falloc"))
		ret = cmd_falloc(argc - 2, argv + 2);
	else if (argc > 1 && !strcmp(argv[1], "cmp-tree"))
		ret = cmd_cmp_tree(argc - 2, argv + 2);
	if (ret == 2)
		fputs(usage, stderr);
	return ret;
}

/* Copying a host directory tree into a filesystem: directories, files (data ranges), symlinks, special files, hardlinks, xattrs, times. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "import/import.h"
#include "data/data_write.h"
#include "data/io_opts.h"
#include "fs/fs_ops.h"
#include "fs/ns_types.h"
#include "util/errcode.h"

/* (st_dev, st_ino) of a source inode with several links → the inode made for it */
struct link_slot {
	u64 dev, ino;
	u64 inum;		/* 0: empty slot */
	struct timespec atime, mtime, ctime;	/* set again at the end: each link sets ctime */
};

struct import_ctx {
	struct bch_fs *c;
	struct bch_ns ns;
	const struct bch_import_opts *opts;
	struct bch_import_stats *stats;
	struct printbuf *err;
	char *path;		/* the source path of the entry being copied */
	size_t path_len, path_size;
	struct link_slot *links;
	size_t nr_links, links_size;	/* size: a power of two */
	void *buf;		/* symlink targets */
	size_t buf_size;
};

static u64 link_hash(u64 dev, u64 ino)
{
	u64 h = (ino ^ (dev << 32) ^ (dev >> 32)) * 0x9e3779b97f4a7c15ULL;

	return h ^ (h >> 29);
}

static struct link_slot *link_find(struct import_ctx *x, u64 dev, u64 ino)
{
	size_t mask = x->links_size - 1;

	for (size_t i = link_hash(dev, ino) & mask;; i = (i + 1) & mask) {
		struct link_slot *s = &x->links[i];

		if (!s->inum || (s->dev == dev && s->ino == ino))
			return s;
	}
}

static int links_grow(struct import_ctx *x)
{
	size_t old_size = x->links_size, size = old_size ? 2 * old_size : 1024;
	struct link_slot *old = x->links;

	x->links = calloc(size, sizeof(*x->links));
	if (!x->links) {
		x->links = old;
		return -BCH_ERR_nomem;
	}
	x->links_size = size;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].inum)
			*link_find(x, old[i].dev, old[i].ino) = old[i];
	free(old);
	return 0;
}

static int link_add(struct import_ctx *x, const struct stat *st, u64 inum)
{
	if (2 * (x->nr_links + 1) > x->links_size) {
		int ret = links_grow(x);

		if (ret)
			return ret;
	}

	struct link_slot *s = link_find(x, st->st_dev, st->st_ino);

	*s = (struct link_slot) {
		.dev = st->st_dev, .ino = st->st_ino, .inum = inum,
		.atime = st->st_atim, .mtime = st->st_mtim, .ctime = st->st_ctim,
	};
	x->nr_links++;
	return 0;
}

static u64 link_get(struct import_ctx *x, const struct stat *st)
{
	return x->links_size ? link_find(x, st->st_dev, st->st_ino)->inum : 0;
}

/* Appends "/name" to the current path; returns the old length to restore. */
static int path_push(struct import_ctx *x, const char *name, size_t *old_len)
{
	size_t len = strlen(name), need = x->path_len + 1 + len + 1;

	if (need > x->path_size) {
		size_t size = x->path_size * 2 > need ? x->path_size * 2 : need + 256;
		char *p = realloc(x->path, size);

		if (!p)
			return -BCH_ERR_nomem;
		x->path = p;
		x->path_size = size;
	}
	*old_len = x->path_len;
	x->path[x->path_len++] = '/';
	memcpy(x->path + x->path_len, name, len + 1);
	x->path_len += len;
	return 0;
}

static void path_pop(struct import_ctx *x, size_t old_len)
{
	x->path_len = old_len;
	x->path[old_len] = 0;
}

/* Prefixes what the library put in err with the source path. */
static int fail(struct import_ctx *x, int ret, const char *what)
{
	struct printbuf msg = PRINTBUF;

	pb_printf(&msg, "%s: %s", x->path, what);
	if (x->err->pos)
		pb_printf(&msg, ": %s", pb_cstr(x->err));
	pb_reset(x->err);
	pb_str(x->err, pb_cstr(&msg));
	pb_exit(&msg);
	return ret;
}

static int fail_errno(struct import_ctx *x, const char *what)
{
	int e = errno;

	pb_reset(x->err);
	pb_printf(x->err, "%s: %s: %s", x->path, what, strerror(e));
	return e == ENOMEM ? -BCH_ERR_nomem : -BCH_ERR_source_read;
}

u32 bch_kernel_dev(dev_t d)
{
	return (u32)major(d) << 20 | (minor(d) & 0xfffff);
}

static int copy_xattrs(struct import_ctx *x, u64 inum)
{
	ssize_t len = llistxattr(x->path, NULL, 0);
	char *names, *val = NULL;
	size_t val_size = 0;
	int ret = 0;

	if (len < 0)
		return errno == ENOTSUP ? 0 : fail_errno(x, "listing xattrs");
	if (!len)
		return 0;
	if (!(names = malloc(len)))
		return -BCH_ERR_nomem;
	len = llistxattr(x->path, names, len);
	if (len < 0)
		ret = fail_errno(x, "listing xattrs");
	for (ssize_t i = 0; !ret && i < len; i += strlen(names + i) + 1) {
		const char *name = names + i;
		ssize_t n = lgetxattr(x->path, name, NULL, 0);

		if (n >= 0 && (size_t)n + 1 > val_size) {
			free(val);
			val_size = n + 1;
			if (!(val = malloc(val_size))) {
				ret = -BCH_ERR_nomem;
				break;
			}
		}
		if (n > 0)
			n = lgetxattr(x->path, name, val, val_size);
		if (n < 0) {
			ret = fail_errno(x, "reading an xattr");
			break;
		}
		ret = bch_ns_xattr_set(&x->ns, inum, name, val, n, 0, x->err);
		if (ret == -BCH_ERR_xattr_unsupported && x->opts && x->opts->warnings) {
			pb_printf(x->opts->warnings, "%s: xattr %s not copied: bcachefs has no such namespace\n",
				  x->path, name);
			pb_reset(x->err);
			ret = 0;
		} else if (ret) {
			struct printbuf what = PRINTBUF;

			pb_printf(&what, "xattr %s", name);
			ret = fail(x, ret, pb_cstr(&what));
			pb_exit(&what);
		} else {
			x->stats->xattrs++;
		}
	}
	free(val);
	free(names);
	return ret;
}

static void write_req_init(struct import_ctx *x, struct bch_write_req *req,
			   const struct bch_inode_unpacked *u, u64 size)
{
	memset(req, 0, sizeof(*req));
	req->inum = u->bi_inum;
	req->snapshot = x->ns.snapshot;
	req->new_i_size = size;
	bch_io_opts_from_fs(x->c, &req->opts);
	bch_io_opts_apply_inode(&req->opts, u);
}

static int copy_file(struct import_ctx *x, int dirfd, const char *name,
		     const struct stat *st, const struct bch_inode_unpacked *u)
{
	struct bch_write_req req;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOATIME);
	int ret;

	if (fd < 0 && errno == EPERM)	/* O_NOATIME: not the owner */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return fail_errno(x, "opening");
	if (!st->st_size) {
		close(fd);
		return 0;
	}
	write_req_init(x, &req, u, st->st_size);
	ret = bch_data_write_fd(x->c, &req, fd, 0, x->err);
	close(fd);
	if (ret)
		return fail(x, ret, "copying data");
	x->stats->bytes += st->st_size;
	return 0;
}

/* A symlink's target is its data, zero-padded to a block; i_size its length. */
static int copy_symlink(struct import_ctx *x, int dirfd, const char *name,
			const struct stat *st, const struct bch_inode_unpacked *u)
{
	size_t block = (size_t)x->c->sb.block_size << 9;
	size_t want = ((size_t)st->st_size + 1 + block - 1) / block * block;
	struct bch_write_req req;
	ssize_t n;
	int ret;

	if (want > x->buf_size) {
		free(x->buf);
		if (!(x->buf = malloc(want)))
			return -BCH_ERR_nomem;
		x->buf_size = want;
	}
	n = readlinkat(dirfd, name, x->buf, x->buf_size);
	if (n < 0)
		return fail_errno(x, "reading the symlink");
	if ((size_t)n >= x->buf_size || n != st->st_size) {
		pb_reset(x->err);
		pb_printf(x->err, "%s: the symlink changed while being copied", x->path);
		return -BCH_ERR_source_read;
	}
	if (!n)
		return 0;
	memset((char *)x->buf + n, 0, want - n);
	write_req_init(x, &req, u, n);
	ret = bch_data_write(x->c, &req, x->buf, (n + block - 1) / block * block, x->err);
	if (ret)
		return fail(x, ret, "writing the symlink target");
	x->stats->bytes += n;
	return 0;
}

/* Mode, owner and times of the source, set last (creating children changes a directory's times). */
static int copy_attrs(struct import_ctx *x, u64 inum, const struct stat *st)
{
	struct bch_setattr a = {
		.valid = BCH_ATTR_MODE | BCH_ATTR_UID | BCH_ATTR_GID |
			 BCH_ATTR_ATIME | BCH_ATTR_MTIME | BCH_ATTR_CTIME,
		.mode = st->st_mode & 07777,
		.uid = st->st_uid,
		.gid = st->st_gid,
		.atime = st->st_atim,
		.mtime = st->st_mtim,
		.ctime = st->st_ctim,
	};
	int ret = bch_ns_setattr(&x->ns, inum, &a, x->err);

	return ret ? fail(x, ret, "setting mode, owner and times") : 0;
}

static int copy_dir(struct import_ctx *x, int fd, u64 dir_inum, bool top);

/* The kernel's link sets the inode's ctime: the times of inodes with several names, again. */
static int links_times(struct import_ctx *x)
{
	for (size_t i = 0; i < x->links_size; i++) {
		const struct link_slot *l = &x->links[i];
		struct bch_setattr a = {
			.valid = BCH_ATTR_ATIME | BCH_ATTR_MTIME | BCH_ATTR_CTIME,
			.atime = l->atime, .mtime = l->mtime, .ctime = l->ctime,
		};
		int ret = l->inum ? bch_ns_setattr(&x->ns, l->inum, &a, x->err) : 0;

		if (ret)
			return fail(x, ret, "setting the times of a file with hardlinks");
	}
	return 0;
}

static int copy_entry(struct import_ctx *x, int dirfd, u64 dir_inum, const char *name)
{
	struct bch_inode_unpacked u;
	struct stat st;
	u64 inum;
	int ret;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return fail_errno(x, "stat");
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && (inum = link_get(x, &st))) {
		ret = bch_ns_link(&x->ns, dir_inum, name, inum, x->err);
		if (ret)
			return fail(x, ret, "making a hardlink");
		x->stats->hardlinks++;
		return 0;
	}

	struct bch_create_args args = {
		.mode = st.st_mode,
		.uid = st.st_uid,
		.gid = st.st_gid,
		.rdev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? bch_kernel_dev(st.st_rdev) : 0,
		/* the size first: a file ending in a hole has no data that would grow it */
		.size = S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ? st.st_size : 0,
	};

	ret = bch_ns_create(&x->ns, dir_inum, name, &args, &u, x->err);
	if (ret)
		return fail(x, ret, "creating");
	x->stats->entries++;
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && (ret = link_add(x, &st, u.bi_inum)))
		return ret;
	ret = copy_xattrs(x, u.bi_inum);
	if (ret)
		return ret;
	if (S_ISREG(st.st_mode)) {
		ret = copy_file(x, dirfd, name, &st, &u);
	} else if (S_ISLNK(st.st_mode)) {
		ret = copy_symlink(x, dirfd, name, &st, &u);
	} else if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME);

		if (fd < 0 && errno == EPERM)
			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0)
			return fail_errno(x, "opening the directory");
		ret = copy_dir(x, fd, u.bi_inum, false);
		close(fd);
	}
	return ret ?: copy_attrs(x, u.bi_inum, &st);
}

struct name_list {
	char *buf;
	size_t used, size;
	size_t *offs;
	size_t nr, offs_size;
};

static int names_add(struct name_list *l, const char *name)
{
	size_t len = strlen(name) + 1;

	if (l->used + len > l->size) {
		size_t size = l->size ? 2 * l->size : 4096;

		while (size < l->used + len)
			size *= 2;
		char *b = realloc(l->buf, size);

		if (!b)
			return -BCH_ERR_nomem;
		l->buf = b;
		l->size = size;
	}
	if (l->nr == l->offs_size) {
		size_t size = l->offs_size ? 2 * l->offs_size : 64;
		size_t *o = realloc(l->offs, size * sizeof(*o));

		if (!o)
			return -BCH_ERR_nomem;
		l->offs = o;
		l->offs_size = size;
	}
	memcpy(l->buf + l->used, name, len);
	l->offs[l->nr++] = l->used;
	l->used += len;
	return 0;
}

static void names_free(struct name_list *l)
{
	free(l->buf);
	free(l->offs);
}

static int name_cmp(const void *a, const void *b, void *buf)
{
	return strcmp((const char *)buf + *(const size_t *)a, (const char *)buf + *(const size_t *)b);
}

/*
 * The names of a directory, read in full first (the directory stream is
 * closed while copying) and sorted: the same tree gets the same inode
 * numbers whatever order the source filesystem lists it in.
 */
static int read_names(struct import_ctx *x, int fd, bool top, struct name_list *l)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return fail_errno(x, "reading the directory");
	}
	errno = 0;
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (top && !strcmp(de->d_name, "lost+found")))
			continue;
		ret = names_add(l, de->d_name);
	}
	if (!ret && errno)
		ret = fail_errno(x, "reading the directory");
	closedir(d);
	if (!ret)
		qsort_r(l->offs, l->nr, sizeof(l->offs[0]), name_cmp, l->buf);
	return ret;
}

static int copy_dir(struct import_ctx *x, int fd, u64 dir_inum, bool top)
{
	struct name_list l = { 0 };
	int ret = read_names(x, fd, top, &l);

	for (size_t i = 0; !ret && i < l.nr; i++) {
		const char *name = l.buf + l.offs[i];
		size_t old_len;

		ret = path_push(x, name, &old_len);
		if (ret)
			break;
		x->stats->path = x->path;
		ret = copy_entry(x, fd, dir_inum, name);
		if (!ret && x->opts && x->opts->progress)
			x->opts->progress(x->opts->progress_ctx, x->stats);
		if (!ret)
			path_pop(x, old_len);
	}
	names_free(&l);
	return ret;
}

int bch_import_tree(struct bch_fs *c, const char *src, const struct bch_import_opts *opts,
		    struct bch_import_stats *stats, struct printbuf *err)
{
	struct import_ctx x = { .c = c, .opts = opts, .stats = stats, .err = err };
	struct stat st;
	int fd, ret;

	memset(stats, 0, sizeof(*stats));
	x.path_size = strlen(src) + 256;
	if (!(x.path = malloc(x.path_size)))
		return -BCH_ERR_nomem;
	strcpy(x.path, src);
	x.path_len = strlen(src);
	while (x.path_len > 1 && x.path[x.path_len - 1] == '/')
		x.path[--x.path_len] = 0;
	size_t root_len = x.path_len;

	fd = open(src, O_RDONLY | O_DIRECTORY | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(src, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		ret = fail_errno(&x, "opening the source directory");
		free(x.path);
		return ret;
	}
	ret = bch_ns_init(&x.ns, c, err);
	if (!ret && fstat(fd, &st))
		ret = fail_errno(&x, "stat");
	if (!ret) {
		stats->entries = 1;
		ret = copy_dir(&x, fd, BCACHEFS_ROOT_INO, true);
	}
	if (!ret) {
		path_pop(&x, root_len);	/* the root: the source directory itself */
		ret = links_times(&x) ?: copy_xattrs(&x, BCACHEFS_ROOT_INO) ?:
			copy_attrs(&x, BCACHEFS_ROOT_INO, &st);
	}
	bch_ns_exit(&x.ns);
	close(fd);
	free(x.links);
	free(x.buf);
	free(x.path);
	return ret;
}

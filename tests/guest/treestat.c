/* treestat: one line per entry of a directory tree with everything a copy must keep, for comparing a source tree with a filesystem image's contents (built static, runs in the test VM too). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sodium.h>

/*
 * usage: treestat [-c] ROOT
 * Prints, sorted by path (relative to ROOT, ROOT itself as "."), tab
 * separated:
 *	path type mode uid gid size nlink rdev atime mtime ctime link content xattrs
 * type is one of d f l c b p s; a directory's size is printed as 0 (it
 * differs between filesystems); times are seconds.nanoseconds; link is the
 * first path (in sort order) of the entry's hardlink group, "-" when it
 * has one link or is a directory; content is the sha256 of a file's bytes,
 * a symlink's target, "-" otherwise; xattrs is name=sha256(value)[:16]/len
 * for each, sorted, comma separated.  -c leaves out ctime (a copy made
 * through the VFS cannot set it).  Every lstat comes before the entry is
 * read and before any file is, so reading does not change the atime
 * printed.
 */

struct entry {
	char *path;
	struct stat st;
	char *content;
	char *xattrs;
	const char *link;
};

struct tree {
	struct entry *e;
	size_t nr, size;
	int root_len;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

static char *hex(const unsigned char *b, size_t n)
{
	char *s = xmalloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

static char *file_hash(const char *path)
{
	crypto_hash_sha256_state st;
	unsigned char out[32];
	static unsigned char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOATIME);

	if (fd < 0)	/* O_NOATIME needs the owner or CAP_FOWNER */
		fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t r;

	if (fd < 0)
		return strdup("(unreadable)");
	crypto_hash_sha256_init(&st);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		crypto_hash_sha256_update(&st, buf, r);
	close(fd);
	if (r < 0)
		return strdup("(read error)");
	crypto_hash_sha256_final(&st, out);
	return hex(out, 32);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *xattrs_of(const char *path)
{
	ssize_t len = llistxattr(path, NULL, 0);
	char *names, **v, *out;
	size_t nr = 0, outlen = 1;

	if (len <= 0)
		return strdup("-");
	names = xmalloc(len);
	len = llistxattr(path, names, len);
	if (len <= 0) {
		free(names);
		return strdup("(listxattr error)");
	}
	for (ssize_t i = 0; i < len; i += strlen(names + i) + 1)
		nr++;
	v = xmalloc(nr * sizeof(*v));
	nr = 0;
	for (ssize_t i = 0; i < len; i += strlen(names + i) + 1) {
		const char *name = names + i;
		ssize_t vlen = lgetxattr(path, name, NULL, 0);
		unsigned char *val = xmalloc(vlen > 0 ? vlen : 1), h[32];
		char *hs;

		vlen = vlen > 0 ? lgetxattr(path, name, val, vlen) : vlen;
		crypto_hash_sha256(h, val, vlen > 0 ? vlen : 0);
		hs = hex(h, 8);
		v[nr] = xmalloc(strlen(name) + 40);
		sprintf(v[nr], "%s=%s/%zd", name, hs, vlen);
		outlen += strlen(v[nr]) + 1;
		nr++;
		free(hs);
		free(val);
	}
	qsort(v, nr, sizeof(*v), cmp_str);
	out = xmalloc(outlen);
	out[0] = 0;
	for (size_t i = 0; i < nr; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, v[i]);
		free(v[i]);
	}
	free(v);
	free(names);
	return out;
}

static struct entry *add(struct tree *t, const char *path)
{
	if (t->nr == t->size) {
		t->size = t->size ? 2 * t->size : 1024;
		t->e = realloc(t->e, t->size * sizeof(*t->e));
		if (!t->e) {
			perror("realloc");
			exit(2);
		}
	}
	memset(&t->e[t->nr], 0, sizeof(t->e[0]));
	t->e[t->nr].path = strdup(path);
	return &t->e[t->nr++];
}

static void walk(struct tree *t, const char *path)
{
	struct entry *e = add(t, path);
	struct stat st;

	if (lstat(path, &st)) {
		fprintf(stderr, "treestat: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	e->st = st;
	e->xattrs = xattrs_of(path);
	if (S_ISLNK(st.st_mode)) {
		char *buf = xmalloc(st.st_size + 1);
		ssize_t n = readlink(path, buf, st.st_size + 1);

		buf[n > 0 ? n : 0] = 0;
		e->content = buf;
	} else if (S_ISDIR(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOATIME);
		DIR *d = fdopendir(fd >= 0 ? fd : open(path, O_RDONLY | O_DIRECTORY));
		struct dirent *de;
		char **names = NULL;
		size_t nr = 0, size = 0;

		if (!d) {
			fprintf(stderr, "treestat: %s: %s\n", path, strerror(errno));
			exit(2);
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (nr == size) {
				size = size ? 2 * size : 64;
				names = realloc(names, size * sizeof(*names));
			}
			names[nr++] = strdup(de->d_name);
		}
		closedir(d);
		qsort(names, nr, sizeof(*names), cmp_str);
		for (size_t i = 0; i < nr; i++) {
			char *sub = xmalloc(strlen(path) + strlen(names[i]) + 2);

			sprintf(sub, "%s/%s", path, names[i]);
			walk(t, sub);
			free(sub);
			free(names[i]);
		}
		free(names);
	}
}

static char type_of(mode_t m)
{
	return S_ISDIR(m) ? 'd' : S_ISREG(m) ? 'f' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' :
	       S_ISBLK(m) ? 'b' : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '?';
}

static struct tree *sort_tree;

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + sort_tree->root_len,
		      *(char *const *)b + sort_tree->root_len);
}

static int cmp_ino(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;

	if (x->st.st_ino != y->st.st_ino)
		return x->st.st_ino < y->st.st_ino ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Names each hardlink group by its first path. */
static void link_groups(struct tree *t)
{
	struct entry **v = xmalloc(t->nr * sizeof(*v));

	for (size_t i = 0; i < t->nr; i++)
		v[i] = &t->e[i];
	qsort(v, t->nr, sizeof(*v), cmp_ino);
	for (size_t i = 0; i < t->nr; i++) {
		struct entry *e = v[i];

		if (S_ISDIR(e->st.st_mode) || e->st.st_nlink < 2)
			continue;
		e->link = i && v[i - 1]->st.st_ino == e->st.st_ino ? v[i - 1]->link
								    : e->path + t->root_len;
	}
	free(v);
}

static void print_name(const char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\\' || (unsigned char)*s < 32)
			printf("\\%03o", (unsigned char)*s);
		else
			putchar(*s);
}

int main(int argc, char **argv)
{
	struct tree t = { 0 };
	bool no_ctime = false;
	int i = 1;

	if (argc > 1 && !strcmp(argv[1], "-c")) {
		no_ctime = true;
		i++;
	}
	if (i + 1 != argc || sodium_init() < 0) {
		fprintf(stderr, "usage: treestat [-c] ROOT\n");
		return 2;
	}
	t.root_len = strlen(argv[i]);
	walk(&t, argv[i]);
	/* contents last: reading a file changes the atime its other links show */
	for (size_t k = 0; k < t.nr; k++)
		if (S_ISREG(t.e[k].st.st_mode))
			t.e[k].content = file_hash(t.e[k].path);
	sort_tree = &t;
	link_groups(&t);
	qsort(t.e, t.nr, sizeof(t.e[0]), cmp_path);
	for (size_t k = 0; k < t.nr; k++) {
		const struct entry *e = &t.e[k];
		const struct stat *st = &e->st;
		const char *rel = e->path + t.root_len;

		print_name(*rel ? rel + 1 : ".");
		printf("\t%c\t%04o\t%u\t%u\t%lld\t%lu\t", type_of(st->st_mode),
		       (unsigned)(st->st_mode & 07777), st->st_uid, st->st_gid,
		       S_ISDIR(st->st_mode) ? 0LL : (long long)st->st_size,
		       (unsigned long)st->st_nlink);
		if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
			printf("%u:%u", major(st->st_rdev), minor(st->st_rdev));
		else
			putchar('-');
		printf("\t%lld.%09ld\t%lld.%09ld", (long long)st->st_atim.tv_sec, st->st_atim.tv_nsec,
		       (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		if (no_ctime)
			printf("\t-");
		else
			printf("\t%lld.%09ld", (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
		putchar('\t');
		if (e->link)
			print_name(e->link);
		else
			putchar('-');
		putchar('\t');
		print_name(e->content ? e->content : "-");
		printf("\t");
		print_name(e->xattrs);
		putchar('\n');
	}
	return 0;
}

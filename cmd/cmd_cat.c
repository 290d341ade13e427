/* bcachefs cat: a file's contents out of an unmounted filesystem, by path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "core/fs.h"
#include "data/data_read.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "fs/namei.h"
#include "fs/ns_types.h"

enum cat_opt {
	CO_offset,
	CO_length,
	CO_verbose,
	CO_NR
};

static const struct cmd_option cat_opts[] = {
	[CO_offset]	= { "offset", 0, CMD_ARG_REQUIRED, "BYTES", "Start this many bytes into the file" },
	[CO_length]	= { "length", 0, CMD_ARG_REQUIRED, "BYTES", "Copy at most this many bytes" },
	[CO_verbose]	= { "verbose", 'v', CMD_ARG_NONE, NULL, "Print what opening the filesystem did" },
	{ 0 }
};

struct cat_args {
	u64 offset, length;
	bool verbose;
	char **devs;
	int nr_devs;
	const char *path;
};

static int num_arg(const struct cmd_def *def, const char *opt, const char *arg, u64 *v)
{
	char *end;

	errno = 0;
	*v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || *arg == '-') {
		cmd_usage_error(def, "invalid --%s '%s'", opt, arg);
		return CMD_EXIT_USAGE;
	}
	return 0;
}

static int parse_args(const struct cmd_def *def, int argc, char **argv, struct cat_args *a)
{
	struct cmd_opts_state st;
	int o, ret;

	memset(a, 0, sizeof(*a));
	a->length = UINT64_MAX;
	cmd_opts_init(&st, argc, argv);
	while ((o = cmd_next_opt(def, &st)) >= 0) {
		switch (o) {
		case CO_offset:
			if ((ret = num_arg(def, "offset", st.arg, &a->offset)))
				return ret;
			break;
		case CO_length:
			if ((ret = num_arg(def, "length", st.arg, &a->length)))
				return ret;
			break;
		case CO_verbose:
			a->verbose = true;
			break;
		}
	}
	ret = cmd_opts_finish(def, &st, o, 2, -1);
	if (ret)
		return ret == CMD_OPTS_HELP ? -1 : ret;
	a->devs = argv + st.optind;
	a->nr_devs = argc - st.optind - 1;
	a->path = argv[argc - 1];
	return 0;
}

static bool write_all(const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(1, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* Streams [offset, offset + length) of the file, clamped to its size. */
static int cat_file(struct bch_fs *c, const struct bch_snapshot_table *snaps, u32 snapshot,
		    const struct bch_inode_unpacked *u,
		    const struct cat_args *a, struct printbuf *err)
{
	const size_t chunk = 1 << 20;
	u64 pos = a->offset, end = u->bi_size;
	char *buf = malloc(chunk);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (a->length < end - (pos < end ? pos : end))
		end = pos + a->length;
	while (!ret && pos < end) {
		size_t n = end - pos < chunk ? end - pos : chunk;

		ret = bch_data_read_snap(c, snaps, u->bi_inum, snapshot, pos, buf, n, err);
		if (!ret && !write_all(buf, n)) {
			pb_printf(err, "writing to standard output: %s", strerror(errno));
			ret = -EIO;
		}
		pos += n;
	}
	free(buf);
	return ret;
}

static int cat(struct bch_fs *c, const struct cat_args *a, struct printbuf *err)
{
	struct bch_inode_unpacked u;
	struct bch_ns ns;
	u64 inum;
	int ret = bch_ns_init(&ns, c, err) ?:
		bch_ns_path_lookup(&ns, a->path, &inum, err) ?:
		bch_ns_inode_get(&ns, inum, &u, err);

	if (!ret) {
		if (S_ISDIR(u.bi_mode)) {
			pb_printf(err, "%s: is a directory", a->path);
			ret = -EISDIR;
		} else if (!S_ISREG(u.bi_mode) && !S_ISLNK(u.bi_mode)) {
			pb_printf(err, "%s: not a regular file (mode %o)", a->path, u.bi_mode);
			ret = -EINVAL;
		} else {
			/* a symlink prints its target, as its contents are */
			ret = cat_file(c, ns.see_ancestors ? &ns.snaps : NULL, ns.snapshot, &u, a, err);
		}
	}
	bch_ns_exit(&ns);
	return ret;
}

static int cmd_cat(const struct cmd_def *def, int argc, char **argv)
{
	struct bch_open_opts opts = { .read_only = true, .degraded = true };
	struct printbuf err = PRINTBUF;
	struct cat_args a;
	struct bch_fs *c;
	int ret = parse_args(def, argc, argv, &a);

	if (ret)
		return ret < 0 ? CMD_EXIT_OK : ret;
	ret = bch_fs_open(a.devs, a.nr_devs, &opts, &c, &err);
	if (ret) {
		cmd_err("%s", pb_cstr(&err));
		pb_exit(&err);
		return CMD_EXIT_ERROR;
	}
	if (a.verbose && c->log.pos)
		fputs(pb_cstr(&c->log), stderr);
	ret = cat(c, &a, &err);
	if (ret)
		cmd_err("%s", pb_cstr(&err));
	bch_fs_close(c);
	pb_exit(&err);
	return ret ? CMD_EXIT_ERROR : CMD_EXIT_OK;
}

const struct cmd_def cmd_cat_def = {
	.name		= "cat",
	.synopsis	= "[OPTION]... DEVICE... PATH",
	.summary	= "Print a file of an unmounted filesystem",
	.options	= cat_opts,
	.run		= cmd_cat,
	.group		= "Filesystem contents",
	.epilog		= "PATH is relative to the root directory of the filesystem (a leading / is\n"
			  "allowed) and goes into subvolumes and snapshots as a mount would. An\n"
			  "unclean filesystem is read as after journal replay; nothing is written.\n"
			  "A symbolic link prints its target.\n",
};

/* bcachefs show-super: print a device's superblock, read-only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include "cmd.h"
#include "sb/sb.h"
#include "util/errcode.h"
#include "util/names.h"

enum { OPT_FIELDS, OPT_FIELD_ONLY, OPT_LAYOUT };

static const struct cmd_option show_super_opts[] = {
	[OPT_FIELDS]	 = { "fields", 'f', CMD_ARG_REQUIRED, "FIELDS",
			     "Sections to print, comma separated, or \"all\"" },
	[OPT_FIELD_ONLY] = { "field-only", 0, CMD_ARG_REQUIRED, "FIELD",
			     "Print only this section, without the header" },
	[OPT_LAYOUT]	 = { "layout", 'l', CMD_ARG_NONE, NULL,
			     "Print the superblock layout" },
	{ 0 }
};

struct show_super_args {
	u64 fields;
	bool default_fields;	/* no -f or --field-only given */
	int field_only;		/* -1: print everything */
	bool layout;
	const char *dev;
};

/* "all", or names separated by ',' or ';' (blanks around the list are ignored) */
static bool parse_fields(const struct cmd_def *def, const char *arg, u64 *out)
{
	char *copy, *s, *name;
	size_t len;
	bool ok = true;

	if (!strcmp(arg, "all")) {
		*out = ~0ULL;
		return true;
	}
	for (; *arg == ' ' || *arg == '\t' || *arg == '\n'; arg++)
		;
	copy = s = strdup(arg);
	if (!copy)
		return false;
	for (len = strlen(s); len && strchr(" \t\n", s[len - 1]); len--)
		s[len - 1] = 0;

	*out = 0;
	while (ok && (name = strsep(&s, ",;"))) {
		int i = bch_name_index(bch_sb_field_names, BCH_SB_FIELD_NR, name);

		if (i < 0) {
			cmd_usage_error(def, "unknown superblock field '%s'", name);
			ok = false;
		} else {
			*out |= 1ULL << i;
		}
	}
	free(copy);
	return ok;
}

static int parse_args(const struct cmd_def *def, int argc, char **argv,
		      struct show_super_args *a)
{
	struct cmd_opts_state st;
	int o;

	*a = (struct show_super_args) { .default_fields = true, .field_only = -1 };
	cmd_opts_init(&st, argc, argv);
	while ((o = cmd_next_opt(def, &st)) >= 0) {
		switch (o) {
		case OPT_FIELDS:
			if (!parse_fields(def, st.arg, &a->fields))
				return CMD_EXIT_USAGE;
			a->default_fields = false;
			break;
		case OPT_FIELD_ONLY:
			a->field_only = bch_name_index(bch_sb_field_names, BCH_SB_FIELD_NR, st.arg);
			if (a->field_only < 0) {
				cmd_usage_error(def, "unknown superblock field '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			a->default_fields = false;
			break;
		case OPT_LAYOUT:
			a->layout = true;
			break;
		}
	}
	o = cmd_opts_finish(def, &st, o, 1, 1);
	if (o)
		return o == CMD_OPTS_HELP ? -1 : o;
	a->dev = argv[st.optind];
	return 0;
}

/* A sysfs attribute, without its trailing newline; false if unreadable or empty. */
static bool read_sysfs_str(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (!f)
		return false;
	len = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[len] = 0;
	if (len && buf[len - 1] == '\n')
		buf[--len] = 0;
	return len > 0;
}

/*
 * What the reference prints after "Device:": "(reg file)" for a file, else
 * the disk's model from sysfs (a partition's comes from its disk).
 */
static void dev_model(struct printbuf *out, int fd)
{
	char sysdev[64], path[PATH_MAX + 32], real[PATH_MAX], model[256];
	struct stat st;
	char *slash;

	if (fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
		pb_str(out, "(reg file)");
		return;
	}
	snprintf(sysdev, sizeof(sysdev), "/sys/dev/block/%u:%u",
		 major(st.st_rdev), minor(st.st_rdev));
	snprintf(path, sizeof(path), "%s/device/model", sysdev);
	if (read_sysfs_str(path, model, sizeof(model))) {
		pb_str(out, model);
		return;
	}
	if (realpath(sysdev, real) && (slash = strrchr(real, '/'))) {
		*slash = 0;
		snprintf(path, sizeof(path), "%s/device/model", real);
		if (read_sysfs_str(path, model, sizeof(model))) {
			pb_str(out, model);
			return;
		}
	}
	pb_str(out, "(unknown device)");
}

static u64 dev_size(int fd)
{
	struct stat st;
	u64 bytes = 0;

	if (fstat(fd, &st))
		return 0;
	if (!S_ISBLK(st.st_mode))
		return st.st_size;
	return ioctl(fd, BLKGETSIZE64, &bytes) ? 0 : bytes;
}

static void render(struct printbuf *out, int fd, const struct bch_sb *sb,
		   const struct show_super_args *a)
{
	u64 fields = a->fields;

	out->human_units = true;
	if (a->field_only >= 0) {
		const struct bch_sb_field *f = bch_sb_field_get(sb, a->field_only);

		if (f)
			bch_sb_field_body_to_text(out, sb, f);
		return;
	}
	if (a->default_fields)
		fields |= (bch_sb_field_get(sb, BCH_SB_FIELD_members_v2)
			   ? 1ULL << BCH_SB_FIELD_members_v2
			   : 1ULL << BCH_SB_FIELD_members_v1) |
			1ULL << BCH_SB_FIELD_errors;

	pb_tabstop_push(out, 44);
	pb_str(out, "Device:");
	pb_tab(out);
	dev_model(out, fd);
	pb_newline(out);
	bch_sb_to_text(out, sb, a->layout, fields);
}

/* Everything show-super prints on stdout, in out. */
static void show_super_text(struct printbuf *out, int fd, const struct bch_sb_buf *sb,
			    const struct printbuf *log, const struct show_super_args *a)
{
	size_t start;

	/* the reference reports a rejected primary copy on stdout, this same way */
	if (sb->from_backup) {
		pb_printf(out, "bcachefs (%s): error reading default superblock: %s",
			  a->dev, pb_cstr(log));
		pb_newline(out);
	}
	start = out->pos;
	render(out, fd, sb->sb, a);
	/*
	 * An absent or empty section prints as "(null)" in the reference (it
	 * hands printf() a buffer that was never allocated); kept so that the
	 * two tools' outputs can be compared byte for byte.
	 */
	if (out->pos == start)
		pb_str(out, "(null)");
}

/* Read-only; a directory is refused here rather than read as zeroes. */
static int open_dev(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		cmd_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fstat(fd, &st) && S_ISDIR(st.st_mode)) {
		cmd_err("cannot open %s: %s", path, strerror(EISDIR));
		close(fd);
		return -1;
	}
	return fd;
}

static int show_super(const struct show_super_args *a)
{
	struct printbuf out = PRINTBUF, log = PRINTBUF, err = PRINTBUF;
	struct bch_sb_buf sb;
	int fd = open_dev(a->dev);
	int ret;

	if (fd < 0)
		return CMD_EXIT_ERROR;
	ret = bch_sb_read(fd, dev_size(fd), 0, &sb, &log, &err);
	if (ret) {
		pb_strip_trailing_newline(&err);
		cmd_err("%s: %s", a->dev, err.pos ? pb_cstr(&err) : bch_err_str(ret));
		goto out;
	}
	if (sb.from_backup)
		cmd_err("%s: using the backup superblock at sector %llu", a->dev,
			(unsigned long long)sb.sector);
	show_super_text(&out, fd, &sb, &log, a);
	if (!cmd_write_stdout(pb_cstr(&out), out.pos))
		ret = -EIO;
	bch_sb_buf_exit(&sb);
out:
	close(fd);
	pb_exit(&out);
	pb_exit(&log);
	pb_exit(&err);
	return ret ? CMD_EXIT_ERROR : CMD_EXIT_OK;
}

static int cmd_show_super(const struct cmd_def *def, int argc, char **argv)
{
	struct show_super_args a;
	int ret = parse_args(def, argc, argv, &a);

	if (ret)
		return ret < 0 ? CMD_EXIT_OK : ret;
	return show_super(&a);
}

const struct cmd_def cmd_show_super_def = {
	.name		= "show-super",
	.synopsis	= "[OPTION]... DEVICE",
	.summary	= "Dump superblock information to stdout",
	.options	= show_super_opts,
	.run		= cmd_show_super,
	.group		= "Superblock commands",
};

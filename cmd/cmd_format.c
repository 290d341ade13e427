/* bcachefs format: parse the options, then validate, compute geometry and write through libbcachefs/format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "cmd.h"
#include "format/format.h"
#include "sb/sb.h"
#include "util/names.h"

/*
 * The option table.  Its first rows are the superblock options format
 * takes, made from the superblock options table (sb/opts.h) so the two
 * cannot differ; then the other filesystem options, the device options
 * and the general ones.  --help prints the groups in this order.
 */
#define FO_ROW_ID_FORMAT(name)	FO_##name,
#define FO_ROW_ID_MOUNT(name)

enum format_opt {
#define x(name, type, flags, when, ...) FO_ROW_ID_##when(name)
	BCH_SB_OPTS()
#undef x
	FO_SB_END,
	FO_replicas = FO_SB_END,
	FO_fs_label,
	FO_uuid,
	FO_superblock_size,
	FO_version,
	FO_encrypted,
	FO_no_passphrase,
	FO_source,
	FO_no_initialize,
	FO_dry_run,
	FO_DEV_FIRST,
	FO_fs_size = FO_DEV_FIRST,
	FO_bucket,
	FO_bucket_size,
	FO_durability,
	FO_data_allowed,
	FO_discard,
	FO_label,
	FO_DEV_END,
	FO_force = FO_DEV_END,
	FO_quiet,
	FO_verbose,
	FO_NR
};

BCH_STATIC_ASSERT(FO_NR <= 64, "options seen are a bitmask");

#define FO_GROUP_FS	"Filesystem options"
#define FO_GROUP_DEV	"Device options, for the devices after them"
#define FO_GROUP_GENERAL "General options"

/* flags that are superblock options also take =0 or =1 (--acl=0) */
#define FO_ROW_FORMAT(name, type, choices, hint, help)			\
	[FO_##name] = { #name, 0,					\
		BCH_OPT_##type == BCH_OPT_BOOL ? CMD_ARG_OPTIONAL : CMD_ARG_REQUIRED, \
		BCH_OPT_##type == BCH_OPT_BOOL ? "0|1" : hint, help,	\
		choices, FO_GROUP_FS },
#define FO_ROW_MOUNT(name, type, choices, hint, help)

static const struct cmd_option format_opts[] = {
#define x(name, type, flags, when, min, max, def, field, choices, hint, help) \
	FO_ROW_##when(name, type, choices, hint, help)
	BCH_SB_OPTS()
#undef x
	[FO_replicas]	= { "replicas", 0, CMD_ARG_REQUIRED, "N",
			    "Sets both metadata_replicas and data_replicas",
			    .group = FO_GROUP_FS },
	[FO_fs_label]	= { "fs_label", 'L', CMD_ARG_REQUIRED, "LABEL",
			    "Filesystem label (up to 32 bytes)" },
	[FO_uuid]	= { "uuid", 'U', CMD_ARG_REQUIRED, "UUID",
			    "Filesystem uuid (default: random)" },
	[FO_superblock_size] = { "superblock_size", 0, CMD_ARG_REQUIRED, "SIZE",
			    "Largest size of a superblock copy (default 1M)" },
	[FO_version]	= { "version", 0, CMD_ARG_REQUIRED, "VERSION",
			    "Metadata version to write, as 1037 or 1.13; an older one implies --no_initialize" },
	[FO_encrypted]	= { "encrypted", 0, CMD_ARG_NONE, NULL,
			    "Encrypt the filesystem (chacha20/poly1305; not implemented yet)" },
	[FO_no_passphrase] = { "no_passphrase", 0, CMD_ARG_NONE, NULL,
			    "With --encrypted: leave the master key unencrypted" },
	[FO_source]	= { "source", 0, CMD_ARG_REQUIRED, "DIR",
			    "Copy this directory tree into the new filesystem (owners, modes, times, xattrs, hardlinks)" },
	[FO_no_initialize] = { "no_initialize", 0, CMD_ARG_NONE, NULL,
			    "Write only the superblocks; the kernel initializes the filesystem at first mount" },
	[FO_dry_run]	= { "dry_run", 'n', CMD_ARG_NONE, NULL,
			    "Check everything and print the superblock, but write nothing" },
	[FO_fs_size]	= { "fs_size", 0, CMD_ARG_REQUIRED, "SIZE",
			    "Size of the filesystem on the next device (default: all of it)",
			    .group = FO_GROUP_DEV },
	[FO_bucket]	= { "bucket", 0, CMD_ARG_REQUIRED, "SIZE",
			    "Bucket size (default: picked from the device size)" },
	[FO_bucket_size] = { "bucket_size", 0, CMD_ARG_REQUIRED, "SIZE",
			    "Same as --bucket" },
	[FO_durability]	= { "durability", 0, CMD_ARG_REQUIRED, "N",
			    "Copies each write to the device counts for (0-2, default 1)" },
	[FO_data_allowed] = { "data_allowed", 0, CMD_ARG_REQUIRED, "TYPES",
			    "Data the device may hold: some of journal,btree,user (default all)" },
	[FO_discard]	= { "discard", 0, CMD_ARG_NONE, NULL,
			    "Issue discards (TRIM) for freed buckets" },
	[FO_label]	= { "label", 'l', CMD_ARG_REQUIRED, "LABEL",
			    "Device label, a dot-separated path such as ssd.fast" },
	[FO_force]	= { "force", 'f', CMD_ARG_NONE, NULL,
			    "Format even over an existing filesystem",
			    .group = FO_GROUP_GENERAL },
	[FO_quiet]	= { "quiet", 'q', CMD_ARG_NONE, NULL,
			    "Print only errors" },
	[FO_verbose]	= { "verbose", 'v', CMD_ARG_NONE, NULL,
			    "Say more about what is done" },
	{ 0 }
};

/* The superblock option behind each of the first rows. */
#define FO_SB_ID_FORMAT(name)	[FO_##name] = BCH_SB_OPT_##name,
#define FO_SB_ID_MOUNT(name)

static const u8 fo_sb_id[] = {
#define x(name, type, flags, when, ...) FO_SB_ID_##when(name)
	BCH_SB_OPTS()
#undef x
};

BCH_STATIC_ASSERT(sizeof(fo_sb_id) == FO_SB_END, "a superblock option behind each first row");

/* Pairs of options that cannot be used together, or where one needs the other. */
static const struct {
	enum format_opt a, b;
	bool needs;		/* a needs b; else a excludes b */
	const char *why;
} format_conflicts[] = {
	{ FO_source, FO_no_initialize, false, "the source is copied when the filesystem is initialized" },
	{ FO_quiet, FO_verbose, false, "they ask for less and more output" },
	{ FO_no_passphrase, FO_encrypted, true, "it says how to encrypt" },
};

struct format_args {
	struct bch_format_opts opts;
	struct bch_format_dev devs[BCH_SB_MEMBERS_MAX];
	unsigned nr_devs;
	struct bch_format_dev next_dev;	/* device options for the devices to come */
	int unused_dev_opt;		/* a device option with no device after it, or -1 */
	u64 seen;			/* bit per enum format_opt */
	bool force, quiet, verbose, no_initialize, dry_run;
};

/* ---- parsing ---- */

static int sb_opt_arg(const struct cmd_def *def, struct format_args *a, unsigned row,
		      const char *arg)
{
	enum bch_sb_opt_id id = fo_sb_id[row];
	struct printbuf err = PRINTBUF;
	u64 v = 0;
	int ret = 0;

	if (bch_sb_opts[id].type == BCH_OPT_TARGET) {
		a->opts.target[id] = arg;
		a->opts.opt_set |= 1ULL << id;
		return 0;
	}
	if (bch_sb_opt_parse(&bch_sb_opts[id], arg, &v, &err)) {
		cmd_usage_error(def, "invalid --%s: %s", bch_sb_opts[id].name, pb_cstr(&err));
		ret = CMD_EXIT_USAGE;
	} else {
		bch_format_opt_set(&a->opts, id, v);
	}
	pb_exit(&err);
	return ret;
}

static int size_arg(const struct cmd_def *def, const char *opt, const char *arg, u64 *v)
{
	if (bch_parse_size(arg, v)) {
		cmd_usage_error(def, "invalid %s '%s': a size such as 4096, 128k or 1G", opt, arg);
		return CMD_EXIT_USAGE;
	}
	return 0;
}

static int replicas_arg(const struct cmd_def *def, struct format_args *a, const char *arg)
{
	const struct bch_sb_opt *o = &bch_sb_opts[BCH_SB_OPT_metadata_replicas];
	struct printbuf why = PRINTBUF;
	bool bad;
	u64 v;

	bad = bch_parse_u64(arg, &v) || bch_sb_opt_validate(o, v, &why);
	pb_exit(&why);
	if (bad) {
		cmd_usage_error(def, "invalid --replicas '%s': %llu to %llu", arg,
				(unsigned long long)o->min, (unsigned long long)o->max - 1);
		return CMD_EXIT_USAGE;
	}
	bch_format_opt_set(&a->opts, BCH_SB_OPT_metadata_replicas, v);
	bch_format_opt_set(&a->opts, BCH_SB_OPT_data_replicas, v);
	return 0;
}

/* "1037" or "1.13" */
static int version_arg(const struct cmd_def *def, struct format_args *a, const char *arg)
{
	const char *dot = strchr(arg, '.');
	char major[16];
	u64 v, minor;

	if (dot && (size_t)(dot - arg) < sizeof(major)) {
		memcpy(major, arg, dot - arg);
		major[dot - arg] = 0;
		if (!bch_parse_u64(major, &v) && !bch_parse_u64(dot + 1, &minor) &&
		    v < 64 && minor < 1024) {
			a->opts.version = BCH_VERSION(v, minor);
			return 0;
		}
	} else if (!dot && !bch_parse_u64(arg, &v) && v <= UINT16_MAX) {
		a->opts.version = v;
		return 0;
	}
	cmd_usage_error(def, "invalid --version '%s': a number such as 1037, or 1.13", arg);
	return CMD_EXIT_USAGE;
}

static int fs_arg(const struct cmd_def *def, struct format_args *a, unsigned row,
		  const char *arg)
{
	u64 v;

	switch (row) {
	case FO_replicas:
		return replicas_arg(def, a, arg);
	case FO_fs_label:
		a->opts.label = arg;
		return 0;
	case FO_uuid:
		if (uuid_parse(arg, a->opts.user_uuid)) {
			cmd_usage_error(def, "invalid --uuid '%s'", arg);
			return CMD_EXIT_USAGE;
		}
		return 0;
	case FO_superblock_size:
		if (size_arg(def, "--superblock_size", arg, &v))
			return CMD_EXIT_USAGE;
		a->opts.superblock_size = v > UINT32_MAX ? UINT32_MAX : v;
		return 0;
	case FO_version:
		return version_arg(def, a, arg);
	case FO_source:
		a->opts.source = arg;
		return 0;
	}
	return 0;
}

static int data_allowed_arg(const struct cmd_def *def, const char *arg, unsigned *out)
{
	char *copy = strdup(arg), *s = copy, *name;
	int ret = 0;

	*out = 0;
	while (copy && !ret && (name = strsep(&s, ",;"))) {
		int i = 0;

		while (bch_data_type_names[i] && strcmp(bch_data_type_names[i], name))
			i++;
		if (!bch_data_type_names[i]) {
			cmd_usage_error(def, "invalid --data_allowed: unknown data type '%s'", name);
			ret = CMD_EXIT_USAGE;
		}
		*out |= 1U << i;
	}
	free(copy);
	return copy ? ret : CMD_EXIT_ERROR;
}

/* Device options go into next_dev, which the devices after them copy. */
static int dev_arg(const struct cmd_def *def, struct format_args *a, unsigned row,
		   const char *arg)
{
	struct bch_format_dev *d = &a->next_dev;
	u64 v;

	a->unused_dev_opt = row;
	switch (row) {
	case FO_fs_size:
		return size_arg(def, "--fs_size", arg, &d->fs_size);
	case FO_bucket:
	case FO_bucket_size:
		return size_arg(def, "--bucket", arg, &d->bucket_size);
	case FO_durability:
		if (bch_parse_u64(arg, &v) || v > BCH_FORMAT_DURABILITY_MAX) {
			cmd_usage_error(def, "invalid --durability '%s': 0 to %u", arg,
					BCH_FORMAT_DURABILITY_MAX);
			return CMD_EXIT_USAGE;
		}
		d->durability = v;
		return 0;
	case FO_data_allowed:
		return data_allowed_arg(def, arg, &d->data_allowed);
	case FO_discard:
		d->discard = true;
		return 0;
	case FO_label:
		d->label = arg;
		return 0;
	}
	return 0;
}

static int general_arg(struct format_args *a, unsigned row)
{
	switch (row) {
	case FO_force:		a->force = true; break;
	case FO_quiet:		a->quiet = true; break;
	case FO_verbose:	a->verbose = true; break;
	case FO_no_initialize:	a->no_initialize = true; break;
	case FO_dry_run:	a->dry_run = true; break;
	}
	return 0;
}

/* The devices among the first nr operands not taken yet get the device options given so far. */
static int devices_take(const struct cmd_def *def, struct format_args *a,
			char **operands, unsigned nr)
{
	for (; a->nr_devs < nr; a->nr_devs++) {
		struct bch_format_dev *d = &a->devs[a->nr_devs];

		if (a->nr_devs == BCH_SB_MEMBERS_MAX) {
			cmd_usage_error(def, "too many devices: a filesystem has at most %u",
					BCH_SB_MEMBERS_MAX);
			return CMD_EXIT_USAGE;
		}
		*d = a->next_dev;
		d->path = operands[a->nr_devs];
		a->next_dev.fs_size = 0;	/* for the next device only */
		a->unused_dev_opt = -1;
	}
	return 0;
}

static int one_arg(const struct cmd_def *def, struct format_args *a, unsigned row,
		   const char *arg)
{
	if (row < FO_SB_END)
		return sb_opt_arg(def, a, row, arg);
	if (row < FO_DEV_FIRST)
		return arg ? fs_arg(def, a, row, arg) : general_arg(a, row);
	if (row < FO_DEV_END)
		return dev_arg(def, a, row, arg);
	return general_arg(a, row);
}

static int conflicts_check(const struct cmd_def *def, const struct format_args *a)
{
	for (unsigned i = 0; i < sizeof(format_conflicts) / sizeof(format_conflicts[0]); i++) {
		bool has_a = a->seen & (1ULL << format_conflicts[i].a);
		bool has_b = a->seen & (1ULL << format_conflicts[i].b);

		if (has_a && has_b != format_conflicts[i].needs) {
			cmd_usage_error(def, "--%s %s --%s: %s",
					format_opts[format_conflicts[i].a].long_name,
					format_conflicts[i].needs ? "needs" : "cannot go with",
					format_opts[format_conflicts[i].b].long_name,
					format_conflicts[i].why);
			return CMD_EXIT_USAGE;
		}
	}
	return 0;
}

/* A superblock flag: --name alone is 1, or --name=0 / --name=1. */
static int sb_flag_arg(const struct cmd_def *def, struct format_args *a, unsigned row,
		       const char *arg)
{
	if (arg && strcmp(arg, "0") && strcmp(arg, "1")) {
		cmd_usage_error(def, "--%s takes 0 or 1, not '%s'", format_opts[row].long_name, arg);
		return CMD_EXIT_USAGE;
	}
	return sb_opt_arg(def, a, row, arg ? arg : "1");
}

static int parse_opts(const struct cmd_def *def, int argc, char **argv,
		      struct format_args *a)
{
	struct cmd_opts_state st;
	int o, ret = 0;

	cmd_opts_init(&st, argc, argv);
	while (!ret && (o = cmd_next_opt(def, &st)) >= 0) {
		const char *arg = st.arg;

		/* the operands seen so far are argv[optind, next) */
		ret = devices_take(def, a, argv + st.optind, st.next - st.optind);
		if (!ret && o < (int)FO_SB_END && format_opts[o].arg == CMD_ARG_OPTIONAL)
			ret = sb_flag_arg(def, a, o, arg);
		else if (!ret)
			ret = one_arg(def, a, o, arg);
		a->seen |= 1ULL << o;
	}
	if (ret)
		return ret;
	if (o == CMD_OPTS_HELP) {
		cmd_help(stdout, def);
		return -1;
	}
	if (o == CMD_OPTS_ERROR)
		return CMD_EXIT_USAGE;
	return devices_take(def, a, argv + st.optind, argc - st.optind);
}

static int parse_args(const struct cmd_def *def, int argc, char **argv,
		      struct format_args *a)
{
	int ret;

	bch_format_opts_init(&a->opts);
	bch_format_dev_init(&a->next_dev, NULL);
	a->unused_dev_opt = -1;
	ret = parse_opts(def, argc, argv, a);
	if (ret)
		return ret;
	if (a->unused_dev_opt >= 0) {
		cmd_usage_error(def, "--%s is a device option: it applies to the devices after it, and none follows",
				format_opts[a->unused_dev_opt].long_name);
		return CMD_EXIT_USAGE;
	}
	if (!a->nr_devs) {
		cmd_usage_error(def, "no device given");
		return CMD_EXIT_USAGE;
	}
	return conflicts_check(def, a);
}

/* ---- running ---- */

static void devs_close(struct format_args *a)
{
	for (unsigned i = 0; i < a->nr_devs; i++)
		bch_format_dev_close(&a->devs[i]);
}

static int devs_open(struct format_args *a, struct printbuf *err)
{
	for (unsigned i = 0; i < a->nr_devs; i++) {
		struct bch_format_dev *d = &a->devs[i];
		int ret = bch_format_dev_open(d, err) ?:
			bch_format_check_existing(d, a->force, err);

		if (ret)
			return ret;
		if (d->existing[0] && !a->quiet)
			cmd_err("%s contains %s; formatting it anyway (--force)",
				d->path, d->existing);
	}
	return 0;
}

/* What the reference prints after formatting: the last device's superblock, members. */
static bool print_sb(const struct bch_sb *sb)
{
	struct printbuf out = PRINTBUF;
	bool ok;

	out.human_units = true;
	bch_sb_to_text(&out, sb, false, 1ULL << BCH_SB_FIELD_members_v2);
	ok = cmd_write_stdout(pb_cstr(&out), out.pos);
	pb_exit(&out);
	return ok;
}

/*
 * Every superblock is built (and checked) before the first one is written;
 * nothing is written on a dry run or when refusing.
 */
static int build_and_write(struct format_args *a, bool write, struct printbuf *err)
{
	struct bch_sb *sbs[BCH_SB_MEMBERS_MAX] = { NULL };
	unsigned nr = a->nr_devs;
	int ret = 0;

	for (unsigned i = 0; !ret && i < nr; i++)
		ret = bch_format_sb_build(&a->opts, a->devs, nr, i, &sbs[i], err);
	for (unsigned i = 0; !ret && write && i < nr; i++)
		ret = bch_format_write_sb(&a->devs[i], sbs[i], err);
	if (!ret && (write || a->dry_run) && !a->quiet && !print_sb(sbs[nr - 1]))
		ret = -EIO;
	for (unsigned i = 0; i < nr; i++)
		free(sbs[i]);
	return ret;
}

/* An older metadata version is left for the kernel to initialize (and upgrade). */
static bool initializes(const struct format_args *a)
{
	return !a->no_initialize && a->opts.version == bcachefs_metadata_version_current;
}

static int not_implemented(const struct format_args *a)
{
	if (a->seen & (1ULL << FO_encrypted)) {
		cmd_err("--encrypted: encryption is not implemented yet; nothing was written");
		return CMD_EXIT_ERROR;
	}
	return 0;
}

/* The source must be a readable directory before anything is written. */
static int source_check(const struct format_args *a)
{
	struct stat st;

	if (!a->opts.source)
		return 0;
	if (stat(a->opts.source, &st)) {
		cmd_err("--source %s: %s; nothing was written", a->opts.source, strerror(errno));
		return CMD_EXIT_ERROR;
	}
	if (!S_ISDIR(st.st_mode)) {
		cmd_err("--source %s: not a directory; nothing was written", a->opts.source);
		return CMD_EXIT_ERROR;
	}
	if (access(a->opts.source, R_OK | X_OK)) {
		cmd_err("--source %s: %s; nothing was written", a->opts.source, strerror(errno));
		return CMD_EXIT_ERROR;
	}
	return 0;
}

struct copy_progress {
	struct timespec last;
	bool shown;
};

/* A status line on a terminal, at most ten times a second. */
static void copy_progress(void *ctx, const struct bch_import_stats *s)
{
	struct copy_progress *p = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - p->last.tv_sec) * 1000000000LL + now.tv_nsec - p->last.tv_nsec < 100000000LL)
		return;
	p->last = now;
	p->shown = true;
	fprintf(stderr, "\rcopying: %llu entries, %llu MiB\033[K",
		(unsigned long long)s->entries, (unsigned long long)(s->bytes >> 20));
}

static int format(struct format_args *a)
{
	struct printbuf err = PRINTBUF;
	bool init = initializes(a) && !a->dry_run;
	int ret = source_check(a);

	if (ret)
		return ret;
	ret = devs_open(a, &err) ?:
		bch_format_validate(&a->opts, a->devs, a->nr_devs, &err) ?:
		bch_format_geometry(&a->opts, a->devs, a->nr_devs, &err) ?:
		build_and_write(a, !a->dry_run, &err);

	/* the filesystem opens the devices itself */
	devs_close(a);
	if (!ret && init) {
		struct copy_progress p = { .shown = false };
		struct printbuf warnings = PRINTBUF;
		struct bch_import_stats stats = { 0 };
		struct bch_import_opts io = {
			.progress = !a->quiet && isatty(2) ? copy_progress : NULL,
			.progress_ctx = &p,
			.warnings = &warnings,
		};

		a->opts.import = &io;
		a->opts.import_stats = &stats;
		ret = bch_format_initialize(&a->opts, a->devs, a->nr_devs, &err);
		if (p.shown)
			fputc('\n', stderr);
		if (warnings.pos)
			cmd_err("%s", pb_cstr(&warnings));
		if (a->opts.source && !ret && a->verbose)
			printf("copied %llu entries (%llu hardlinks, %llu xattrs), %llu bytes from %s\n",
			       (unsigned long long)stats.entries, (unsigned long long)stats.hardlinks,
			       (unsigned long long)stats.xattrs, (unsigned long long)stats.bytes,
			       a->opts.source);
		pb_exit(&warnings);
	}
	if (err.pos)
		cmd_err("%s", pb_cstr(&err));
	pb_exit(&err);
	return ret ? CMD_EXIT_ERROR : CMD_EXIT_OK;
}

static int cmd_format(const struct cmd_def *def, int argc, char **argv)
{
	struct format_args *a = calloc(1, sizeof(*a));
	int ret;

	if (!a) {
		cmd_err("out of memory");
		return CMD_EXIT_ERROR;
	}
	ret = parse_args(def, argc, argv, a);
	if (!ret)
		ret = not_implemented(a) ?: format(a);
	free(a);
	return ret < 0 ? CMD_EXIT_OK : ret;
}

const struct cmd_def cmd_format_def = {
	.name		= "format",
	.synopsis	= "[OPTION]... DEVICE...",
	.summary	= "Create a new bcachefs filesystem on one or more devices",
	.options	= format_opts,
	.run		= cmd_format,
	.group		= "Superblock commands",
	.epilog		= "Device options apply to every device after them (--fs_size only to the next), e.g.\n"
			  "  bcachefs format --label=ssd /dev/sda /dev/sdb --label=hdd /dev/sdc\n"
			  "\nWithout --no_initialize the filesystem is initialized: journal, allocation\n"
			  "information, the root subvolume, root directory and lost+found.\n",
};

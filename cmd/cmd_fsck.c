/* bcachefs fsck: open (journal replayed in memory), run the passes, exit as fsck(8) does. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "btree/cache.h"
#include "core/fs.h"
#include "fsck/fsck.h"

enum fsck_opt {
	FK_no,
	FK_yes,
	FK_preen,
	FK_auto,
	FK_force,
	FK_verbose,
	FK_progress,
	FK_no_read_ahead,
	FK_fail_after_writes,
	FK_NR
};

static const struct cmd_option fsck_opts[] = {
	[FK_no]		= { "no", 'n', CMD_ARG_NONE, NULL, "Check only: report every problem, write nothing" },
	[FK_yes]	= { "yes", 'y', CMD_ARG_NONE, NULL, "Fix every problem found" },
	[FK_preen]	= { "preen", 'p', CMD_ARG_NONE, NULL, "Fix the problems that are safe to fix; report the rest" },
	[FK_auto]	= { "auto", 'a', CMD_ARG_NONE, NULL, "The same as -p" },
	[FK_force]	= { "force", 'f', CMD_ARG_NONE, NULL, "Check even a clean filesystem (always done; accepted for fsck(8))" },
	[FK_verbose]	= { "verbose", 'v', CMD_ARG_NONE, NULL, "Name each pass and what recovery did" },
	[FK_progress]	= { "progress", 0, CMD_ARG_REQUIRED, "SECONDS",
			    "How often long passes say how far they are (default 10; 0: as often as possible)" },
	[FK_no_read_ahead] = { "no-read-ahead", 0, CMD_ARG_NONE, NULL,
			    "Read every btree node in the checking thread (no second thread reading ahead)" },
	[FK_fail_after_writes] = { "fail-after-writes", 0, CMD_ARG_REQUIRED, "N",
			    "Simulate a crash: every device write after the first N fails", NULL, "Testing" },
	{ 0 }
};

static void print_line(void *ctx, const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
}

static enum bch_fsck_answer ask_tty(void *ctx, const char *question)
{
	char buf[16];

	for (;;) {
		printf("%s\nFix? (y,n, Y: yes to all, N: no to all) ", question);
		fflush(stdout);
		if (!fgets(buf, sizeof(buf), stdin))
			return BCH_FSCK_ANSWER_ALL_NO;
		switch (buf[0]) {
		case 'y': return BCH_FSCK_ANSWER_YES;
		case 'n': return BCH_FSCK_ANSWER_NO;
		case 'Y': return BCH_FSCK_ANSWER_ALL_YES;
		case 'N': return BCH_FSCK_ANSWER_ALL_NO;
		}
	}
}

struct fsck_args {
	enum bch_fsck_mode mode;
	bool verbose;
	unsigned progress;
	bool no_read_ahead;
	u64 fail_after;
	int first_dev;
};

static int parse_args(const struct cmd_def *def, int argc, char **argv, struct fsck_args *a)
{
	struct cmd_opts_state st;
	unsigned long long v;
	int o, nr_modes = 0, ret;

	memset(a, 0, sizeof(*a));
	a->mode = BCH_FSCK_ASK;
	a->progress = 10;
	cmd_opts_init(&st, argc, argv);
	while ((o = cmd_next_opt(def, &st)) >= 0) {
		switch (o) {
		case FK_no:	a->mode = BCH_FSCK_NO; nr_modes++; break;
		case FK_yes:	a->mode = BCH_FSCK_YES; nr_modes++; break;
		case FK_preen:
		case FK_auto:	a->mode = BCH_FSCK_PREEN; nr_modes++; break;
		case FK_verbose: a->verbose = true; break;
		case FK_no_read_ahead: a->no_read_ahead = true; break;
		case FK_progress:
			if (!cmd_parse_u64(def, "--progress", st.arg, &v))
				return BCH_FSCK_EXIT_USAGE;
			a->progress = v < 86400 ? v : 86400;
			break;
		case FK_fail_after_writes:
			if (!cmd_parse_u64(def, "--fail-after-writes", st.arg, &v))
				return BCH_FSCK_EXIT_USAGE;
			if (!v) {
				cmd_usage_error(def, "--fail-after-writes needs at least 1");
				return BCH_FSCK_EXIT_USAGE;
			}
			a->fail_after = v;
			break;
		}
	}
	if (o == CMD_OPTS_ERROR)
		return BCH_FSCK_EXIT_USAGE;
	ret = cmd_opts_finish(def, &st, o, 1, -1);
	if (ret)
		return ret == CMD_OPTS_HELP ? -1 : BCH_FSCK_EXIT_USAGE;
	if (nr_modes > 1) {
		cmd_usage_error(def, "only one of -n, -y and -p");
		return BCH_FSCK_EXIT_USAGE;
	}
	if (a->mode == BCH_FSCK_ASK && !isatty(0)) {
		cmd_err("fsck: a terminal is needed to ask about repairs; use -n, -y or -p");
		return BCH_FSCK_EXIT_ERROR;
	}
	a->first_dev = st.optind;
	return 0;
}

static int cmd_fsck(const struct cmd_def *def, int argc, char **argv)
{
	struct bch_open_opts opts = { .degraded = true };
	struct printbuf err = PRINTBUF;
	struct fsck_args a;
	struct bch_fsck f;
	struct bch_fs *c;
	int ret = parse_args(def, argc, argv, &a);

	if (ret)
		return ret < 0 ? CMD_EXIT_OK : ret;
	opts.read_only = a.mode == BCH_FSCK_NO;
	opts.verbose = a.verbose;
	opts.fail_after_writes = a.fail_after;
	opts.read_ahead = !a.no_read_ahead;
	ret = bch_fs_open(argv + a.first_dev, argc - a.first_dev, &opts, &c, &err);
	if (ret) {
		cmd_err("%s", pb_cstr(&err));
		pb_exit(&err);
		return BCH_FSCK_EXIT_ERROR;
	}
	/* what was damaged with a known error type is reported by fsck as a problem */
	struct printbuf log = PRINTBUF;

	bch_typed_log_rest(&log, &c->log, &c->log_types);
	if (log.pos)
		fputs(pb_cstr(&log), stdout);
	pb_exit(&log);

	bch_fsck_init(&f, c, a.mode);
	f.verbose = a.verbose;
	f.progress_interval = a.progress;
	f.msg = print_line;
	f.ask = ask_tty;
	bch_fsck_run(&f);
	if (a.verbose) {
		struct bch_btree_cache_stats st = bch_btree_cache_stats(c);

		printf("btree nodes read: %llu, %llu of them by the read-ahead thread\n",
		       (unsigned long long)st.nr_read, (unsigned long long)st.nr_read_ahead);
	}
	if (f.op_error)
		cmd_err("fsck: %s", pb_cstr(&f.err));
	if (f.nr_found)
		printf("%llu problems found, %llu fixed\n", (unsigned long long)f.nr_found,
		       (unsigned long long)f.nr_fixed);
	ret = bch_fsck_exit_status(&f);
	bch_fsck_exit(&f);
	bch_fs_close(c);
	pb_exit(&err);
	return ret;
}

const struct cmd_def cmd_fsck_def = {
	.name		= "fsck",
	.synopsis	= "[OPTION]... DEVICE...",
	.summary	= "Check a filesystem and repair it",
	.options	= fsck_opts,
	.run		= cmd_fsck,
	.group		= "Repair",
	.epilog		= "An unclean filesystem is checked as after journal replay (in memory with -n).\n"
			  "With -n nothing is written: the repairs -y would make are made in memory\n"
			  "only, so that each problem is reported once, not again as its consequences.\n"
			  "Without -n, -y or -p each repair is asked about on the terminal.\n"
			  "\nRepairs go through the journal: after a crash, fsck -y again finishes them.\n"
			  "A key that fails validation is dropped (an older version of it in the same\n"
			  "node stays); a node that cannot be read is replaced by copies a scan of the\n"
			  "devices finds, or dropped, and what can be derived is rebuilt. Encrypted\n"
			  "filesystems are not supported yet (exit status 8, nothing written).\n"
			  "\nExit status: 0 no problems, 1 problems fixed, 4 problems left unfixed,\n"
			  "8 operational error (fsck could not check the filesystem), 16 usage error.\n",
};

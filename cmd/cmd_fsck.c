/* bcachefs fsck: open (journal replayed in memory), run the passes, exit as fsck(8) does. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/fs.h"
#include "fsck/fsck.h"

enum fsck_opt {
	FK_no,
	FK_yes,
	FK_preen,
	FK_auto,
	FK_force,
	FK_verbose,
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

static int parse_args(const struct cmd_def *def, int argc, char **argv,
		      enum bch_fsck_mode *mode, bool *verbose, u64 *fail_after, int *first_dev)
{
	struct cmd_opts_state st;
	int o, nr_modes = 0, ret;

	*mode = BCH_FSCK_ASK;
	*verbose = false;
	cmd_opts_init(&st, argc, argv);
	while ((o = cmd_next_opt(def, &st)) >= 0) {
		switch (o) {
		case FK_no:	*mode = BCH_FSCK_NO; nr_modes++; break;
		case FK_yes:	*mode = BCH_FSCK_YES; nr_modes++; break;
		case FK_preen:
		case FK_auto:	*mode = BCH_FSCK_PREEN; nr_modes++; break;
		case FK_verbose: *verbose = true; break;
		case FK_fail_after_writes: {
			unsigned long long v;

			if (!cmd_parse_u64(def, "--fail-after-writes", st.arg, &v) || !v) {
				if (v == 0)
					cmd_usage_error(def, "--fail-after-writes needs at least 1");
				return BCH_FSCK_EXIT_USAGE;
			}
			*fail_after = v;
			break;
		}
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
	if (*mode == BCH_FSCK_ASK && !isatty(0)) {
		cmd_err("fsck: a terminal is needed to ask about repairs; use -n, -y or -p");
		return BCH_FSCK_EXIT_ERROR;
	}
	*first_dev = st.optind;
	return 0;
}

static int cmd_fsck(const struct cmd_def *def, int argc, char **argv)
{
	struct bch_open_opts opts = { .degraded = true };
	struct printbuf err = PRINTBUF;
	enum bch_fsck_mode mode;
	struct bch_fsck f;
	struct bch_fs *c;
	bool verbose;
	int first, ret = parse_args(def, argc, argv, &mode, &verbose, &opts.fail_after_writes, &first);

	if (ret)
		return ret < 0 ? CMD_EXIT_OK : ret;
	opts.read_only = mode == BCH_FSCK_NO;
	opts.verbose = verbose;
	ret = bch_fs_open(argv + first, argc - first, &opts, &c, &err);
	if (ret) {
		cmd_err("%s", pb_cstr(&err));
		pb_exit(&err);
		return BCH_FSCK_EXIT_ERROR;
	}
	if (c->log.pos)
		fputs(pb_cstr(&c->log), stdout);

	bch_fsck_init(&f, c, mode);
	f.verbose = verbose;
	f.msg = print_line;
	f.ask = ask_tty;
	/* an unclean filesystem is left clean by any fixing mode: its journal replayed */
	if (mode != BCH_FSCK_NO && !c->sb.clean)
		bch_fsck_start_write(&f);
	if (!f.op_error)
		bch_fsck_run(&f);
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
			  "\nExit status: 0 no problems, 1 problems fixed, 4 problems left unfixed,\n"
			  "8 operational error (fsck could not check the filesystem), 16 usage error.\n",
};

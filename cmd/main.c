/* The bcachefs command: a table of commands, dispatch by name or by the name it was run as. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

extern const struct cmd_def cmd_version_def;
extern const struct cmd_def cmd_format_def;
extern const struct cmd_def cmd_list_def;
extern const struct cmd_def cmd_show_super_def;
extern const struct cmd_def cmd_list_journal_def;
extern const struct cmd_def cmd_cat_def;
extern const struct cmd_def cmd_fsck_def;
extern const struct cmd_def cmd_debug_def;

const struct cmd_def *const bch_cmds[] = {
	&cmd_format_def,
	&cmd_fsck_def,
	&cmd_show_super_def,
	&cmd_list_def,
	&cmd_list_journal_def,
	&cmd_cat_def,
	&cmd_debug_def,
	&cmd_version_def,
	NULL,
};

/* Entry points by program name: mkfs.bcachefs runs `format`, and so on. */
static const struct {
	const char *argv0;
	const char *cmd;
} aliases[] = {
	{ "mkfs.bcachefs", "format" },
	{ "fsck.bcachefs", "fsck" },
};

static const struct cmd_def *find_cmd(const char *name)
{
	for (unsigned i = 0; bch_cmds[i]; i++)
		if (!strcmp(bch_cmds[i]->name, name))
			return bch_cmds[i];
	return NULL;
}

static void top_help(FILE *f)
{
	const char *group = NULL;

	fprintf(f, "bcachefs - tool for managing bcachefs filesystems\n"
		"Usage: bcachefs <command> [<args>]\n");
	for (unsigned i = 0; bch_cmds[i]; i++) {
		const struct cmd_def *d = bch_cmds[i];

		if (!group || strcmp(group, d->group)) {
			group = d->group;
			fprintf(f, "\n%s:\n", group);
		}
		fprintf(f, "  %-22s %s\n", d->name, d->summary);
	}
	fprintf(f, "\nRun 'bcachefs <command> --help' for a command's options.\n");
}

/* roff text, in a form that needs no escaping beyond dashes */
static void roff(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\\')
			fputs("\\e", f);
		else
			fputc(*s, f);
	}
}

/* The man page, made from the same tables as dispatch and --help. */
static void man_page(FILE *f)
{
	fprintf(f, ".TH BCACHEFS 8 \"\" \"bcachefs-tools %s\" \"System Administration\"\n",
		BCH_TOOLS_VERSION);
	fprintf(f, ".SH NAME\nbcachefs \\- manage bcachefs filesystems\n"
		".SH SYNOPSIS\n.B bcachefs\n.I command\n[options]\n"
		".SH DESCRIPTION\nA userspace implementation of the bcachefs tools for "
		"the on\\-disk format of metadata version 1.13.\n"
		"Every command answers \\fB\\-\\-help\\fR.\n.SH COMMANDS\n");
	for (unsigned i = 0; bch_cmds[i]; i++) {
		const struct cmd_def *d = bch_cmds[i];

		fprintf(f, ".SS \"%s ", d->name);
		roff(f, d->synopsis);
		fprintf(f, "\"\n");
		roff(f, d->summary);
		fputc('\n', f);
		const char *group = NULL;

		for (const struct cmd_option *o = d->options; o && o->long_name; o++) {
			char spelling[128];

			if (o->group && (!group || strcmp(group, o->group))) {
				fprintf(f, ".PP\n.I ");
				roff(f, group = o->group);
				fputc('\n', f);
			}
			cmd_option_spelling(spelling, sizeof(spelling), o);
			fprintf(f, ".TP\n.B ");
			roff(f, spelling);
			fputc('\n', f);
			roff(f, o->help);
			fputc('\n', f);
		}
		if (d->epilog) {
			fprintf(f, ".PP\n");
			roff(f, d->epilog);
		}
	}
	fprintf(f, ".SH EXIT STATUS\n0 on success, 1 on failure, 2 on a usage error.\n");
}

static int run(const struct cmd_def *d, int argc, char **argv)
{
	int ret = d->run(d, argc, argv);

	if (fflush(stdout) || ferror(stdout)) {
		cmd_err("error writing output");
		return ret ? ret : CMD_EXIT_ERROR;
	}
	return ret;
}

int main(int argc, char **argv)
{
	const char *self = basename(argv[0]);
	const struct cmd_def *d;

	for (unsigned i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(self, aliases[i].argv0))
			continue;
		d = find_cmd(aliases[i].cmd);
		if (!d) {
			cmd_err("%s is not available yet", aliases[i].cmd);
			return CMD_EXIT_ERROR;
		}
		return run(d, argc, argv);
	}

	if (argc < 2) {
		top_help(stderr);
		return CMD_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		top_help(stdout);
		return CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		argv[1] = "version";
	if (!strcmp(argv[1], "--man-page")) {
		man_page(stdout);
		return CMD_EXIT_OK;
	}
	if (!strcmp(argv[1], "--list-commands")) {
		for (unsigned i = 0; bch_cmds[i]; i++)
			printf("%s\n", bch_cmds[i]->name);
		return CMD_EXIT_OK;
	}

	d = find_cmd(argv[1]);
	if (!d) {
		cmd_err("unknown command '%s'; see 'bcachefs --help'", argv[1]);
		return CMD_EXIT_USAGE;
	}
	return run(d, argc - 1, argv + 1);
}

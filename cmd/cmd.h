/* Command framework: each command is a table row with an options table; parsing and --help come from it. */
#ifndef BCH_CMD_CMD_H
#define BCH_CMD_CMD_H

#include <stdbool.h>
#include <stdio.h>

enum cmd_arg {
	CMD_ARG_NONE,
	CMD_ARG_REQUIRED,
	CMD_ARG_OPTIONAL,	/* only attached: --name=VALUE, or -xVALUE */
};

struct cmd_option {
	const char *long_name;
	char short_name;	/* 0: long only */
	enum cmd_arg arg;
	const char *arg_name;	/* for help: "BTREE" */
	const char *help;
	const char * const *choices; /* help shows =(a|b|c); NULL-terminated */
	const char *group;	/* heading this option and the next ones go under */
};

struct cmd_def;
typedef int (*cmd_fn)(const struct cmd_def *, int argc, char **argv);

struct cmd_def {
	const char *name;
	const char *synopsis;	/* after the command name: "[OPTION]... DEVICE..." */
	const char *summary;	/* one line, for the command list and man page */
	const struct cmd_option *options; /* ends with an all-zero row */
	cmd_fn run;
	const char *group;	/* heading in `bcachefs --help` */
	const char *epilog;	/* printed after the options in --help */
};

/* Every command, for the dispatcher, help and completions. */
extern const struct cmd_def *const bch_cmds[];

/* Exit statuses of the tools (fsck(8) style values are fsck's own). */
#define CMD_EXIT_OK		0
#define CMD_EXIT_ERROR		1
#define CMD_EXIT_USAGE		2

/*
 * Option parsing state over argv.  cmd_next_opt() returns the index of
 * the option found in def->options, CMD_OPTS_END when only operands are
 * left (they start at st->optind), or CMD_OPTS_ERROR after printing what
 * was wrong.  -h/--help is handled here: it prints help and returns
 * CMD_OPTS_HELP.  "--" ends options.  Operands and options may mix; the
 * operands are moved to the end in order (like GNU getopt).
 */
struct cmd_opts_state {
	int argc;
	char **argv;
	int optind;
	int next;		/* next argv element to look at */
	const char *arg;	/* the option's argument */
	const char *short_rest;	/* remaining chars of a -abc cluster */
};

#define CMD_OPTS_END	(-1)
#define CMD_OPTS_ERROR	(-2)
#define CMD_OPTS_HELP	(-3)

void cmd_opts_init(struct cmd_opts_state *, int argc, char **argv);

/*
 * After the last cmd_next_opt() (which returned `last`): prints help or
 * checks the number of operands (min..max; max < 0: no limit).  Returns
 * 0 to go on, CMD_OPTS_HELP when help was printed (exit 0), or
 * CMD_EXIT_USAGE after a usage error.  Operands are argv[st->optind..].
 */
int cmd_opts_finish(const struct cmd_def *, struct cmd_opts_state *, int last,
		    int min_operands, int max_operands);
int cmd_next_opt(const struct cmd_def *, struct cmd_opts_state *);
void cmd_help(FILE *, const struct cmd_def *);
/* "--name=(a|b)", "--name[=0|1]", "-x, --name=ARG": an option as help shows it */
void cmd_option_spelling(char *buf, size_t size, const struct cmd_option *);
void cmd_usage_error(const struct cmd_def *, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Helpers for option values; they print an error naming the option. */
bool cmd_parse_u64(const struct cmd_def *, const char *opt, const char *s,
		   unsigned long long *out);

/* Prints "bcachefs: " + message to stderr. */
void cmd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes a whole buffer to stdout; false (and a message) on failure. */
bool cmd_write_stdout(const char *buf, size_t len);

#endif

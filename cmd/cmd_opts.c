/* Option parsing and help text driven by each command's option table. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "cmd.h"

void cmd_opts_init(struct cmd_opts_state *st, int argc, char **argv)
{
	*st = (struct cmd_opts_state) {
		.argc = argc, .argv = argv, .optind = 1, .next = 1,
	};
}

void cmd_err(const char *fmt, ...)
{
	va_list args;

	fputs("bcachefs: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

void cmd_usage_error(const struct cmd_def *def, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "bcachefs %s: ", def->name);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\nTry 'bcachefs %s --help' for more information.\n",
		def->name);
}

void cmd_option_spelling(char *buf, size_t size, const struct cmd_option *o)
{
	int n;

	if (o->short_name)
		n = snprintf(buf, size, "-%c, --%s", o->short_name, o->long_name);
	else
		n = snprintf(buf, size, "--%s", o->long_name);
	for (unsigned i = 0; o->choices && o->choices[i] && n < (int)size; i++)
		n += snprintf(buf + n, size - n, "%s%s", i ? "|" : "=(", o->choices[i]);
	if (o->choices && o->choices[0] && n < (int)size)
		n += snprintf(buf + n, size - n, ")");
	else if (o->arg == CMD_ARG_REQUIRED && n < (int)size)
		snprintf(buf + n, size - n, "=%s", o->arg_name ? o->arg_name : "VALUE");
	else if (o->arg == CMD_ARG_OPTIONAL && n < (int)size)
		snprintf(buf + n, size - n, "[=%s]", o->arg_name ? o->arg_name : "VALUE");
}

/* One option: the spelling in a 32-column field, the help after it. */
static void help_row(FILE *f, const char *spelling, bool has_short, const char *help)
{
	char left[160];

	snprintf(left, sizeof(left), "%s%s", has_short ? "  " : "      ", spelling);
	if (strlen(left) >= 32)
		fprintf(f, "%s\n%-32s %s\n", left, "", help);
	else
		fprintf(f, "%-32s %s\n", left, help);
}

void cmd_help(FILE *f, const struct cmd_def *def)
{
	const char *group = NULL;

	fprintf(f, "Usage: bcachefs %s %s\n%s\n", def->name, def->synopsis,
		def->summary);
	if (!def->options || !def->options[0].long_name || !def->options[0].group)
		fprintf(f, "\nOptions:\n");
	for (const struct cmd_option *o = def->options; o && o->long_name; o++) {
		char spelling[128];

		if (o->group && (!group || strcmp(group, o->group)))
			fprintf(f, "\n%s:\n", group = o->group);
		cmd_option_spelling(spelling, sizeof(spelling), o);
		help_row(f, spelling, o->short_name, o->help);
	}
	help_row(f, "-h, --help", true, "Display this help and exit");
	if (def->epilog)
		fprintf(f, "\n%s", def->epilog);
}

/* Moves argv[from] to just before argv[to] (rotating), keeping order. */
static void rotate_to(char **argv, int to, int from)
{
	char *a = argv[from];

	memmove(argv + to + 1, argv + to, (from - to) * sizeof(*argv));
	argv[to] = a;
}

static int find_long(const struct cmd_def *def, const char *name, size_t len)
{
	for (int i = 0; def->options && def->options[i].long_name; i++)
		if (strlen(def->options[i].long_name) == len &&
		    !strncmp(def->options[i].long_name, name, len))
			return i;
	return -1;
}

static int find_short(const struct cmd_def *def, char c)
{
	for (int i = 0; def->options && def->options[i].long_name; i++)
		if (def->options[i].short_name == c)
			return i;
	return -1;
}

static int take_arg(const struct cmd_def *def, struct cmd_opts_state *st,
		    int i, const char *inline_arg, const char *spelled)
{
	const struct cmd_option *o = &def->options[i];

	if (o->arg == CMD_ARG_OPTIONAL) {
		st->arg = inline_arg;	/* never the next element */
		return i;
	}
	if (o->arg == CMD_ARG_NONE) {
		if (inline_arg) {
			cmd_usage_error(def, "option '%s' takes no argument", spelled);
			return CMD_OPTS_ERROR;
		}
		st->arg = NULL;
		return i;
	}
	if (inline_arg) {
		st->arg = inline_arg;
		return i;
	}
	if (st->next >= st->argc) {
		cmd_usage_error(def, "option '%s' requires an argument", spelled);
		return CMD_OPTS_ERROR;
	}
	/* the argument is the next element: take it out of the operands */
	rotate_to(st->argv, st->optind, st->next);
	st->arg = st->argv[st->optind++];
	st->next++;
	return i;
}

static int next_short(const struct cmd_def *def, struct cmd_opts_state *st)
{
	char c = *st->short_rest++;
	char spelled[3] = { '-', c, 0 };
	int i;

	if (c == 'h')
		return CMD_OPTS_HELP;
	i = find_short(def, c);
	if (i < 0) {
		cmd_usage_error(def, "invalid option -- '%c'", c);
		return CMD_OPTS_ERROR;
	}
	if (def->options[i].arg != CMD_ARG_NONE && *st->short_rest) {
		const char *a = st->short_rest;

		st->short_rest = NULL;
		return take_arg(def, st, i, a, spelled);
	}
	if (!*st->short_rest)
		st->short_rest = NULL;
	return take_arg(def, st, i, NULL, spelled);
}

int cmd_next_opt(const struct cmd_def *def, struct cmd_opts_state *st)
{
	if (st->short_rest)
		return next_short(def, st);

	while (st->next < st->argc) {
		char *a = st->argv[st->next];

		if (!strcmp(a, "--")) {
			rotate_to(st->argv, st->optind, st->next);
			st->optind++;
			st->next = st->argc;
			return CMD_OPTS_END;
		}
		if (a[0] != '-' || !a[1]) {
			st->next++;	/* an operand: leave it in place */
			continue;
		}
		/* an option: move it before the operands seen so far */
		rotate_to(st->argv, st->optind, st->next);
		st->optind++;
		st->next++;

		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int i;

			if (len == 4 && !strncmp(name, "help", 4))
				return CMD_OPTS_HELP;
			i = find_long(def, name, len);
			if (i < 0) {
				cmd_usage_error(def, "unrecognized option '%s'", a);
				return CMD_OPTS_ERROR;
			}
			return take_arg(def, st, i, eq ? eq + 1 : NULL, a);
		}
		st->short_rest = a + 1;
		return next_short(def, st);
	}
	return CMD_OPTS_END;
}

int cmd_opts_finish(const struct cmd_def *def, struct cmd_opts_state *st, int last,
		    int min_operands, int max_operands)
{
	int nr = st->argc - st->optind;

	if (last == CMD_OPTS_HELP) {
		cmd_help(stdout, def);
		return CMD_OPTS_HELP;
	}
	if (last == CMD_OPTS_ERROR)
		return CMD_EXIT_USAGE;
	if (nr < min_operands) {
		cmd_usage_error(def, min_operands == 1 ? "no device given" : "missing arguments");
		return CMD_EXIT_USAGE;
	}
	if (max_operands >= 0 && nr > max_operands) {
		cmd_usage_error(def, "unexpected argument '%s'", st->argv[st->optind + max_operands]);
		return CMD_EXIT_USAGE;
	}
	return 0;
}

bool cmd_parse_u64(const struct cmd_def *def, const char *opt, const char *s,
		   unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		cmd_usage_error(def, "invalid value '%s' for %s", s, opt);
		return false;
	}
	return true;
}

bool cmd_write_stdout(const char *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, stdout) != len) {
		cmd_err("error writing output: %s", strerror(errno));
		return false;
	}
	return true;
}

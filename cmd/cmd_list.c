/* bcachefs list: print the keys or nodes of a btree, as the kernel sees the filesystem before journal replay. */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "btree/iter.h"
#include "btree/node_read.h"
#include "core/fs.h"
#include "keys/key_types.h"
#include "util/names.h"

enum list_mode { MODE_KEYS, MODE_FORMATS, MODE_NODES, MODE_NODES_ONDISK };

static const char * const list_modes[] = { "keys", "formats", "nodes", "nodes-ondisk", NULL };
#define LIST_MODES_NR	(sizeof(list_modes) / sizeof(list_modes[0]) - 1)

enum { OPT_BTREE, OPT_TYPE, OPT_LEVEL, OPT_START, OPT_END, OPT_MODE, OPT_VERBOSE,
       OPT_CACHE, OPT_NO_READ_AHEAD };

static const struct cmd_option list_opts[] = {
	[OPT_BTREE]	= { "btree", 'b', CMD_ARG_REQUIRED, "BTREE", "Btree to list (default extents)" },
	[OPT_TYPE]	= { "bkey-type", 'k', CMD_ARG_REQUIRED, "TYPE", "Only keys of this type" },
	[OPT_LEVEL]	= { "level", 'l', CMD_ARG_REQUIRED, "LEVEL", "Btree level for nodes and formats modes (0 = leaves)" },
	[OPT_START]	= { "start", 's', CMD_ARG_REQUIRED, "POS", "Start position (inode:offset[:snapshot], POS_MIN)" },
	[OPT_END]	= { "end", 'e', CMD_ARG_REQUIRED, "POS", "End position (default SPOS_MAX)" },
	[OPT_MODE]	= { "mode", 'm', CMD_ARG_REQUIRED, "MODE", "keys, formats, nodes or nodes-ondisk (default keys)" },
	[OPT_VERBOSE]	= { "verbose", 'v', CMD_ARG_NONE, NULL, "Report what opening the filesystem found" },
	[OPT_CACHE]	= { "cache-size", 0, CMD_ARG_REQUIRED, "BYTES", "Memory for btree nodes (default 64 MiB)" },
	[OPT_NO_READ_AHEAD] = { "no-read-ahead", 0, CMD_ARG_NONE, NULL,
			    "Read every btree node in the listing thread (no second thread reading ahead)" },
	{ 0 }
};

struct list_args {
	enum btree_id btree;
	int key_type;		/* -1: all */
	unsigned level;
	struct bpos start, end;
	enum list_mode mode;
	bool verbose;
	u64 cache_bytes;
	bool no_read_ahead;
};

static int parse_args(const struct cmd_def *def, int *argc, char ***argv,
		      struct list_args *a)
{
	struct cmd_opts_state st;
	unsigned long long v;
	int o;

	*a = (struct list_args) {
		.btree = BTREE_ID_extents, .key_type = -1,
		.start = POS_MIN, .end = SPOS_MAX, .mode = MODE_KEYS,
	};
	cmd_opts_init(&st, *argc, *argv);
	while ((o = cmd_next_opt(def, &st)) >= 0) {
		switch (o) {
		case OPT_BTREE:
			if ((o = bch_name_index(bch_btree_id_names, BTREE_ID_NR, st.arg)) < 0) {
				cmd_usage_error(def, "unknown btree '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			a->btree = o;
			break;
		case OPT_TYPE:
			if ((a->key_type = bch_name_index(bch_bkey_type_names, KEY_TYPE_MAX, st.arg)) < 0) {
				cmd_usage_error(def, "unknown key type '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			break;
		case OPT_LEVEL:
			if (!cmd_parse_u64(def, "--level", st.arg, &v))
				return CMD_EXIT_USAGE;
			if (v >= BTREE_MAX_DEPTH) {
				cmd_usage_error(def, "level %llu is past the maximum depth %u",
						v, BTREE_MAX_DEPTH - 1);
				return CMD_EXIT_USAGE;
			}
			a->level = v;
			break;
		case OPT_START:
		case OPT_END:
			if (!bch_bpos_parse(st.arg, o == OPT_START ? &a->start : &a->end)) {
				cmd_usage_error(def, "invalid position '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			break;
		case OPT_MODE:
			if ((o = bch_name_index(list_modes, LIST_MODES_NR, st.arg)) < 0) {
				cmd_usage_error(def, "unknown mode '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			a->mode = o;
			break;
		case OPT_VERBOSE:
			a->verbose = true;
			break;
		case OPT_CACHE:
			if (!cmd_parse_u64(def, "--cache-size", st.arg, &v))
				return CMD_EXIT_USAGE;
			a->cache_bytes = v;
			break;
		case OPT_NO_READ_AHEAD:
			a->no_read_ahead = true;
			break;
		}
	}
	o = cmd_opts_finish(def, &st, o, 1, -1);
	if (o)
		return o == CMD_OPTS_HELP ? -1 : o;
	*argc -= st.optind;
	*argv += st.optind;
	return 0;
}

static bool flush_line(struct printbuf *out)
{
	pb_char(out, '\n');
	bool ok = cmd_write_stdout(pb_cstr(out), out->pos);
	pb_reset(out);
	return ok;
}

static int list_keys(struct bch_fs *c, const struct list_args *a, struct btree_iter *it)
{
	struct printbuf out = PRINTBUF;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(it, c, a->btree, a->start, 0);
	while ((ret = bch_btree_iter_peek(it, &k)) > 0) {
		if (bpos_gt(k.k->p, a->end))
			break;
		if (a->key_type < 0 || k.k->type == a->key_type) {
			bch_bkey_val_to_text(&out, c, k);
			if (!flush_line(&out)) {
				ret = -1;
				break;
			}
		}
		bch_btree_iter_advance(it);
	}
	pb_exit(&out);
	return ret;
}

static int list_nodes(struct bch_fs *c, const struct list_args *a, struct btree_iter *it)
{
	struct printbuf out = PRINTBUF;
	const struct btree *b;
	int ret;

	bch_btree_iter_init(it, c, a->btree, a->start, a->level);
	while ((ret = bch_btree_iter_peek_node(it, &b)) > 0) {
		if (bpos_gt(b->key.k.p, a->end))
			break;
		if (a->mode == MODE_NODES)
			bch_bkey_val_to_text(&out, c, bkey_i_to_s_c(&b->key));
		else if (a->mode == MODE_FORMATS)
			bch_btree_node_to_text(&out, c, b);
		else
			bch_btree_node_ondisk_to_text(&out, c, b);
		if (!flush_line(&out)) {
			ret = -1;
			break;
		}
		bch_btree_iter_next_node(it);
	}
	pb_exit(&out);
	return ret;
}

static void print_log(struct bch_fs *c)
{
	if (c->log.pos) {
		fputs(pb_cstr(&c->log), stderr);
		pb_reset(&c->log);
		bch_typed_log_exit(&c->log_types);
	}
}

static int cmd_list(const struct cmd_def *def, int argc, char **argv)
{
	struct bch_open_opts opts = { .read_only = true, .degraded = true };
	struct printbuf err = PRINTBUF;
	struct list_args a;
	struct btree_iter it;
	struct bch_fs *c;
	int ret = parse_args(def, &argc, &argv, &a);

	if (ret)
		return ret < 0 ? CMD_EXIT_OK : ret;

	opts.btree_cache_bytes = a.cache_bytes;
	opts.read_ahead = !a.no_read_ahead;
	ret = bch_fs_open(argv, argc, &opts, &c, &err);
	if (ret) {
		cmd_err("%s", pb_cstr(&err));
		pb_exit(&err);
		return CMD_EXIT_ERROR;
	}
	if (a.verbose)
		print_log(c);

	ret = a.mode == MODE_KEYS ? list_keys(c, &a, &it) : list_nodes(c, &a, &it);
	print_log(c);
	if (ret < 0 && it.err.pos)
		cmd_err("%s", pb_cstr(&it.err));
	/* damage was listed around, but a script must not take it for clean */
	if (ret >= 0 && c->nr_errors)
		cmd_err("the filesystem is damaged: %u problem(s) reported above", c->nr_errors);
	ret = ret < 0 || c->nr_errors ? CMD_EXIT_ERROR : CMD_EXIT_OK;
	bch_btree_iter_exit(&it);
	bch_fs_close(c);
	pb_exit(&err);
	return ret;
}

const struct cmd_def cmd_list_def = {
	.name		= "list",
	.synopsis	= "[OPTION]... DEVICE...",
	.summary	= "List filesystem metadata: the keys or nodes of a btree",
	.options	= list_opts,
	.run		= cmd_list,
	.group		= "Debug",
};

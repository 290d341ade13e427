/* bcachefs debug: print, change, copy or delete one key of an unmounted filesystem. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "btree/trans.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "journal/journal_write.h"
#include "debug/journal_edit.h"
#include "debug/key_edit.h"
#include "fs/dirent_ops.h"
#include "fs/fs_ops.h"
#include "fs/inode_alloc.h"
#include "fs/namei.h"
#include "keys/dirent.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/names.h"

enum debug_opt {
	DO_btree,
	DO_pos,
	DO_inode,
	DO_dirent,
	DO_set,
	DO_to,
	DO_to_btree,
	DO_to_dir,
	DO_triggers,
	DO_in_place,
	DO_overlap,
	DO_unclean,
	DO_level,
	DO_keep_copy,
	DO_seq,
	DO_entry,
	DO_entry_type,
	DO_key,
	DO_dev,
	DO_keep_csum,
	DO_bset,
	DO_NR
};

static const struct cmd_option debug_opts[] = {
	[DO_btree]	= { "btree", 'b', CMD_ARG_REQUIRED, "BTREE", "Btree of the key", NULL, "Which key" },
	[DO_pos]	= { "pos", 'p', CMD_ARG_REQUIRED, "POS", "Its position (inode:offset[:snapshot])" },
	[DO_inode]	= { "inode", 0, CMD_ARG_REQUIRED, "PATH", "The inode of PATH (instead of -b and -p)" },
	[DO_dirent]	= { "dirent", 0, CMD_ARG_REQUIRED, "PATH", "The dirent naming PATH (instead of -b and -p)" },
	[DO_set]	= { "set", 's', CMD_ARG_REQUIRED, "FIELD=VALUE",
			    "Change a field (repeatable; for set, copy and move)", NULL, "What to do" },
	[DO_to]		= { "to", 0, CMD_ARG_REQUIRED, "POS", "Where copy and move put the key" },
	[DO_to_btree]	= { "to-btree", 0, CMD_ARG_REQUIRED, "BTREE", "The btree they put it in (default: its own)" },
	[DO_to_dir]	= { "to-dir", 0, CMD_ARG_REQUIRED, "PATH",
			    "Where copy and move put a dirent: directory PATH, at its name's hash" },
	[DO_triggers]	= { "triggers", 0, CMD_ARG_NONE, NULL,
			    "Run the key's triggers, so derived metadata follows (default: the key alone changes)" },
	[DO_in_place]	= { "in-place", 0, CMD_ARG_NONE, NULL,
			    "Rewrite the leaf holding the key, bypassing the journal (set and delete on a clean filesystem)" },
	[DO_overlap]	= { "overlap", 0, CMD_ARG_NONE, NULL,
			    "copy and move: leave the extents the key overlaps whole (overlapping extents)" },
	[DO_unclean]	= { "unclean", 0, CMD_ARG_NONE, NULL,
			    "set, delete, copy, move: leave the change in the journal only, the filesystem unclean (as after a crash)" },
	[DO_level]	= { "level", 'l', CMD_ARG_REQUIRED, "LEVEL",
			    "The level of the key or node (default 0, a leaf's; not for copy and move)" },
	[DO_keep_copy]	= { "keep-copy", 0, CMD_ARG_NONE, NULL,
			    "kill-node: first copy the node to a free bucket (an older copy for fsck's scan to find)" },
	[DO_seq]	= { "seq", 0, CMD_ARG_REQUIRED, "SEQ", "journal-edit: the journal entry (jset) to change",
			    NULL, "Which journal entry" },
	[DO_entry]	= { "entry", 0, CMD_ARG_REQUIRED, "N", "journal-edit: its Nth entry (from 0; default the jset header)" },
	[DO_entry_type]	= { "entry-type", 0, CMD_ARG_REQUIRED, "TYPE",
			    "journal-edit: count only entries of TYPE (btree_keys, clock, ...); with -b, of that btree" },
	[DO_key]	= { "key", 0, CMD_ARG_REQUIRED, "N", "journal-edit: the Nth key of that entry (from 0)" },
	[DO_dev]	= { "dev", 0, CMD_ARG_REQUIRED, "N",
			    "journal-edit: only the copy on device N (default: every copy)" },
	[DO_keep_csum]	= { "keep-csum", 0, CMD_ARG_NONE, NULL,
			    "journal-edit, node-edit: leave the old checksum (a torn write)" },
	[DO_bset]	= { "bset", 0, CMD_ARG_REQUIRED, "N",
			    "node-edit: the node's Nth bset (from 0, the one in the node header)" },
	[DO_NR]		= { 0 }
};

enum debug_action {
	DA_print, DA_set, DA_delete, DA_copy, DA_move, DA_kill_node, DA_node_edit, DA_journal_edit
};
static const char *const action_names[] = {
	"print", "set", "delete", "copy", "move", "kill-node", "node-edit", "journal-edit", NULL
};

#define MAX_SETS 16

struct debug_args {
	enum debug_action action;
	int btree, to_btree;
	bool have_pos, have_to, triggers, in_place, overlap, keep_copy, have_seq, keep_csum, unclean;
	u64 seq;
	int entry, key, entry_type, bset, dev;
	unsigned level;
	struct bpos pos, to;
	const char *inode_path, *dirent_path, *to_dir;
	const char *sets[MAX_SETS];
	unsigned nr_sets;
	char **devs;
	int nr_devs;
};

static int journal_args_check(const struct cmd_def *def, const struct debug_args *a)
{
	if ((!a->have_seq && a->entry_type < 0 && a->btree < 0) || (a->key >= 0 && a->entry < 0) ||
	    (a->have_seq && !a->seq)) {
		cmd_usage_error(def, "journal-edit needs --seq or --entry-type/-b (and --entry with --key)");
		return CMD_EXIT_USAGE;
	}
	if ((a->entry_type >= 0 || a->btree >= 0) && a->entry < 0) {
		cmd_usage_error(def, "--entry-type and -b choose among entries: give --entry");
		return CMD_EXIT_USAGE;
	}
	if (!a->nr_sets && !a->keep_csum) {
		cmd_usage_error(def, "journal-edit needs at least one --set FIELD=VALUE");
		return CMD_EXIT_USAGE;
	}
	if (a->have_pos || a->inode_path || a->dirent_path || a->have_to ||
	    a->to_dir || a->to_btree >= 0 || a->triggers || a->in_place || a->overlap ||
	    a->level || a->keep_copy) {
		cmd_usage_error(def, "journal-edit takes --seq, --entry, --entry-type, -b, --key, --dev, --set and --keep-csum only");
		return CMD_EXIT_USAGE;
	}
	return 0;
}

static int node_args_check(const struct cmd_def *def, const struct debug_args *a)
{
	if (a->btree < 0 || !a->have_pos) {
		cmd_usage_error(def, "node-edit needs -b and -p (and -l for an interior node)");
		return CMD_EXIT_USAGE;
	}
	if (!a->nr_sets && !a->keep_csum) {
		cmd_usage_error(def, "node-edit needs at least one --set FIELD=VALUE");
		return CMD_EXIT_USAGE;
	}
	if (a->inode_path || a->dirent_path || a->have_to || a->to_dir || a->to_btree >= 0 ||
	    a->triggers || a->in_place || a->overlap || a->keep_copy || a->unclean) {
		cmd_usage_error(def, "node-edit takes -b, -p, -l, --bset, --set and --keep-csum only");
		return CMD_EXIT_USAGE;
	}
	return 0;
}

static int parse_args(const struct cmd_def *def, int argc, char **argv, struct debug_args *a)
{
	struct cmd_opts_state st;
	int o, ret, i;

	memset(a, 0, sizeof(*a));
	a->btree = a->to_btree = -1;
	a->entry = a->key = a->entry_type = a->bset = a->dev = -1;
	cmd_opts_init(&st, argc, argv);
	while ((o = cmd_next_opt(def, &st)) >= 0) {
		switch (o) {
		case DO_btree:
			if ((a->btree = bch_name_index(bch_btree_id_names, BTREE_ID_NR, st.arg)) < 0) {
				cmd_usage_error(def, "unknown btree '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			break;
		case DO_to_btree:
			if ((a->to_btree = bch_name_index(bch_btree_id_names, BTREE_ID_NR, st.arg)) < 0) {
				cmd_usage_error(def, "unknown btree '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			break;
		case DO_pos:
		case DO_to:
			if (!bch_bpos_parse(st.arg, o == DO_pos ? &a->pos : &a->to)) {
				cmd_usage_error(def, "invalid position '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			*(o == DO_pos ? &a->have_pos : &a->have_to) = true;
			break;
		case DO_inode:
			a->inode_path = st.arg;
			break;
		case DO_dirent:
			a->dirent_path = st.arg;
			break;
		case DO_to_dir:
			a->to_dir = st.arg;
			break;
		case DO_set:
			if (a->nr_sets == MAX_SETS) {
				cmd_usage_error(def, "at most %u --set", MAX_SETS);
				return CMD_EXIT_USAGE;
			}
			a->sets[a->nr_sets++] = st.arg;
			break;
		case DO_triggers:
			a->triggers = true;
			break;
		case DO_in_place:
			a->in_place = true;
			break;
		case DO_overlap:
			a->overlap = true;
			break;
		case DO_unclean:
			a->unclean = true;
			break;
		case DO_keep_copy:
			a->keep_copy = true;
			break;
		case DO_entry_type:
			if ((a->entry_type = bch_name_index(bch_jset_entry_type_names, BCH_JSET_ENTRY_NR,
							    st.arg)) < 0) {
				cmd_usage_error(def, "unknown journal entry type '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			break;
		case DO_keep_csum:
			a->keep_csum = true;
			break;
		case DO_seq:
		case DO_entry:
		case DO_bset:
		case DO_dev:
		case DO_key: {
			char *end;
			unsigned long long v = strtoull(st.arg, &end, 10);

			if (*end || !*st.arg || *st.arg == '-' || (o != DO_seq && v > INT32_MAX)) {
				cmd_usage_error(def, "invalid number '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			if (o == DO_seq) {
				a->seq = v;
				a->have_seq = true;
			} else {
				*(o == DO_entry ? &a->entry : o == DO_bset ? &a->bset :
				  o == DO_dev ? &a->dev : &a->key) = v;
			}
			break;
		}
		case DO_level: {
			char *end;

			a->level = strtoul(st.arg, &end, 10);
			if (*end || !*st.arg || a->level >= BTREE_MAX_DEPTH) {
				cmd_usage_error(def, "invalid level '%s'", st.arg);
				return CMD_EXIT_USAGE;
			}
			break;
		}
		}
	}
	ret = cmd_opts_finish(def, &st, o, 2, -1);
	if (ret)
		return ret == CMD_OPTS_HELP ? -1 : ret;
	for (i = 0; action_names[i] && strcmp(action_names[i], argv[st.optind]); i++)
		;
	if (!action_names[i]) {
		cmd_usage_error(def, "unknown action '%s'", argv[st.optind]);
		return CMD_EXIT_USAGE;
	}
	a->action = i;
	a->devs = argv + st.optind + 1;
	a->nr_devs = argc - st.optind - 1;
	if (a->action == DA_journal_edit)
		return journal_args_check(def, a);
	if (a->have_seq || a->entry >= 0 || a->key >= 0 || a->entry_type >= 0 || a->dev >= 0) {
		cmd_usage_error(def, "--seq, --entry, --entry-type, --key and --dev are for journal-edit");
		return CMD_EXIT_USAGE;
	}
	if (a->action == DA_node_edit)
		return node_args_check(def, a);
	if (a->keep_csum || a->bset >= 0) {
		cmd_usage_error(def, "--keep-csum is for journal-edit and node-edit, --bset for node-edit");
		return CMD_EXIT_USAGE;
	}
	if (!!a->inode_path + !!a->dirent_path + (a->btree >= 0 || a->have_pos) != 1 ||
	    (a->btree >= 0) != a->have_pos) {
		cmd_usage_error(def, "choose the key with -b and -p, or --inode, or --dirent");
		return CMD_EXIT_USAGE;
	}
	if ((a->action == DA_copy || a->action == DA_move) != (a->have_to || a->to_dir) ||
	    (a->have_to && a->to_dir) || (a->to_btree >= 0 && !a->have_to)) {
		cmd_usage_error(def, "copy and move take one of --to and --to-dir, and only they do");
		return CMD_EXIT_USAGE;
	}
	if (a->action == DA_set && !a->nr_sets) {
		cmd_usage_error(def, "set needs at least one --set FIELD=VALUE");
		return CMD_EXIT_USAGE;
	}
	if (((a->action == DA_print || a->action == DA_delete) ||
	     (a->action == DA_move && a->to_dir)) && a->nr_sets) {
		cmd_usage_error(def, "--set does not go with %s%s", action_names[a->action],
				a->to_dir ? " --to-dir" : "");
		return CMD_EXIT_USAGE;
	}
	if (a->in_place && a->action != DA_set && a->action != DA_delete) {
		cmd_usage_error(def, "--in-place is for set and delete");
		return CMD_EXIT_USAGE;
	}
	if (a->action == DA_kill_node && (a->nr_sets || a->triggers || a->in_place || a->btree < 0)) {
		cmd_usage_error(def, "kill-node takes -b, -p and -l only");
		return CMD_EXIT_USAGE;
	}
	if ((a->level && (a->action == DA_copy || a->action == DA_move || a->in_place ||
			  a->inode_path || a->dirent_path)) ||
	    (a->keep_copy && a->action != DA_kill_node)) {
		cmd_usage_error(def, "--level is not for copy, move, --in-place, --inode or --dirent; --keep-copy is for kill-node");
		return CMD_EXIT_USAGE;
	}
	if (a->overlap && a->action != DA_copy && a->action != DA_move) {
		cmd_usage_error(def, "--overlap is for copy and move");
		return CMD_EXIT_USAGE;
	}
	if (a->unclean && (a->action == DA_print || a->action == DA_kill_node || a->in_place || a->to_dir)) {
		cmd_usage_error(def, "--unclean is for set, delete, copy and move (not --in-place or --to-dir)");
		return CMD_EXIT_USAGE;
	}
	if (a->in_place && a->triggers) {
		cmd_usage_error(def, "--in-place runs no triggers");
		return CMD_EXIT_USAGE;
	}
	return 0;
}

/* The btree and position the arguments name (a path through the namespace). */
static int resolve(struct bch_fs *c, struct debug_args *a, struct printbuf *err)
{
	struct bch_inode_unpacked u;
	struct bch_ns ns;
	u64 inum;
	int ret;

	if (!a->inode_path && !a->dirent_path)
		return 0;
	ret = bch_ns_init(&ns, c, err) ?:
	      bch_ns_path_lookup(&ns, a->inode_path ?: a->dirent_path, &inum, err) ?:
	      bch_ns_inode_get(&ns, inum, &u, err);
	if (!ret && a->inode_path) {
		a->btree = BTREE_ID_inodes;
		a->pos = SPOS(0, inum, ns.snapshot);
	} else if (!ret) {
		u64 root;

		/* a subvolume's root is named in its parent subvolume, as that one sees it */
		if (u.bi_subvol && u.bi_parent_subvol)
			ret = bch_ns_subvol_enter(&ns, u.bi_parent_subvol, &root, err);
		if (!ret && !u.bi_dir && !u.bi_dir_offset) {
			pb_printf(err, "%s: its inode has no backpointer to its dirent", a->dirent_path);
			ret = -BCH_ERR_not_found;
		}
		a->btree = BTREE_ID_dirents;
		a->pos = SPOS(u.bi_dir, u.bi_dir_offset, ns.snapshot);
	}
	if (!ret && ns.see_ancestors) {
		/* in a snapshot the key may be an ancestor's: the one the path sees */
		union { struct bkey_i k; u64 pad[BKEY_U64s + 512]; } k;

		ret = bch_ns_key_get(&ns, a->btree, a->pos.inode, a->pos.offset, &k.k,
				     BKEY_U64s + 512, err);
		if (ret > 0)
			a->pos = k.k.k.p;
		ret = ret < 0 ? ret : 0;
	}
	bch_ns_exit(&ns);
	return ret;
}

/*
 * --to-dir: directory to_dir and the slot of the dirent's name there.
 * copy puts the key in that slot, which must be free; move renames the
 * entry there as the kernel's rename does (bch_ns_rename: the inode's
 * backpointer and the directories' link counts follow), which checks for
 * no loop: that is the point of moving a directory below itself.
 */
static int to_dir_resolve(struct bch_ns *ns, struct debug_args *a, const struct bkey_i *k,
			  struct printbuf *err)
{
	struct bkey_s_c d = bkey_i_to_s_c(k);
	struct bch_inode_unpacked dir;
	union { struct bkey_i k; u64 pad[BKEY_U64s + 64]; } slot;
	u64 inum;
	int ret;

	if (a->btree != BTREE_ID_dirents || k->k.type != KEY_TYPE_dirent) {
		pb_str(err, "--to-dir moves dirents only");
		return -BCH_ERR_bad_argument;
	}
	ret = bch_ns_path_lookup(ns, a->to_dir, &inum, err) ?:
	      bch_ns_inode_get(ns, inum, &dir, err);
	if (ret)
		return ret;
	if (bch_mode_to_dtype(dir.bi_mode) != DT_DIR) {
		pb_printf(err, "%s: not a directory", a->to_dir);
		return -BCH_ERR_bad_argument;
	}
	a->to = SPOS(inum, bch_dirent_name_hash(&dir, bch_dirent_name(d), bch_dirent_name_len(d)),
		     k->k.p.snapshot);
	a->have_to = true;
	if (a->action == DA_move)
		return 0;
	ret = bch_trans_lookup(&ns->t, BTREE_ID_dirents, 0, a->to, &slot.k, BKEY_U64s + 64, err);
	if (ret > 0 && slot.k.k.type != KEY_TYPE_deleted) {
		pb_printf(err, "%s: the slot of \"%.*s\" is taken (a hash collision)", a->to_dir,
			  (int)bch_dirent_name_len(d), bch_dirent_name(d));
		return -BCH_ERR_bad_argument;
	}
	return ret < 0 ? ret : 0;
}

static int to_dir(struct bch_fs *c, struct debug_args *a, const struct bkey_i *k, struct printbuf *err)
{
	struct bkey_s_c d = bkey_i_to_s_c(k);
	char name[256];
	struct bch_ns ns;
	int ret = bch_ns_init(&ns, c, err);

	if (ret)
		return ret;
	ret = to_dir_resolve(&ns, a, k, err);
	if (!ret && a->action == DA_move) {
		snprintf(name, sizeof(name), "%.*s", (int)bch_dirent_name_len(d), bch_dirent_name(d));
		ret = bch_fs_start_write(c, err) ?:
		      bch_ns_rename(&ns, k->k.p.inode, name, a->to.inode, name, BCH_RENAME_NOREPLACE, err) ?:
		      bch_fs_clean_shutdown(c, err) ?: 1;
	}
	bch_ns_exit(&ns);
	return ret;
}

static void key_print(struct bch_fs *c, const struct bkey_i *k)
{
	struct printbuf buf = PRINTBUF;

	bch_bkey_val_to_text(&buf, c, bkey_i_to_s_c(k));
	pb_str(&buf, "\n");
	cmd_write_stdout(buf.buf, buf.pos);
	pb_exit(&buf);
}

static int edit(struct bch_fs *c, struct debug_args *a, struct printbuf *err)
{
	union bch_key_buf *k = malloc(sizeof(*k));
	struct btree_trans t;
	unsigned flags = a->triggers ? 0 : BCH_UPDATE_NO_TRIGGERS;
	int ret;

	if (!k)
		return -BCH_ERR_nomem;
	bch_trans_init(&t, c);
	if (a->action == DA_journal_edit) {
		struct bch_journal_edit e = {
			.seq = a->seq, .entry = a->entry, .key = a->key,
			.entry_type = a->entry_type, .btree = a->btree,
			.sets = a->sets, .nr_sets = a->nr_sets, .keep_csum = a->keep_csum,
			.dev = a->dev,
		};
		struct printbuf out = PRINTBUF;

		ret = bch_journal_edit(c, &e, &out, err);
		cmd_write_stdout(out.buf, out.pos);
		pb_exit(&out);
		goto out;
	}
	ret = resolve(c, a, err);
	if (ret)
		goto out;
	if (a->action == DA_node_edit) {
		struct bch_node_edit e = {
			.btree = a->btree, .level = a->level, .pos = a->pos,
			.bset = a->bset < 0 ? 0 : a->bset,
			.sets = a->sets, .nr_sets = a->nr_sets, .keep_csum = a->keep_csum,
		};
		struct printbuf out = PRINTBUF;

		ret = bch_node_edit(c, &e, &out, err);
		cmd_write_stdout(out.buf, out.pos);
		pb_exit(&out);
		goto out;
	}
	if (a->action == DA_kill_node) {
		struct bpos copy;

		ret = bch_node_kill(c, a->btree, a->level, a->pos, a->keep_copy, &copy, err);
		if (!ret && !bpos_eq(copy, POS_MAX))
			printf("kept a copy of the node in bucket %llu:%llu\n",
			       (unsigned long long)copy.inode, (unsigned long long)copy.offset);
		goto out;
	}
	ret = bch_trans_lookup(&t, a->btree, a->level, a->pos, &k->k, BKEY_U64s_MAX, err);
	if (!ret) {
		pb_str(err, "no key at ");
		bch_bpos_to_text(err, a->pos);
		pb_printf(err, " in btree %s", bch_btree_id_names[a->btree]);
		if (a->level)
			pb_printf(err, " level %u", a->level);
		ret = -BCH_ERR_not_found;
	}
	if (ret < 0)
		goto out;
	ret = 0;
	for (unsigned i = 0; i < a->nr_sets && !ret; i++)
		ret = bch_key_set_field(&k->k, a->sets[i], err);
	if (!ret && !a->in_place && !bpos_eq(k->k.k.p, a->pos)) {
		pb_str(err, "pos= is for --in-place (copy and move --to write a key elsewhere)");
		ret = -BCH_ERR_bad_argument;
	}
	if (!ret && a->to_dir)
		ret = to_dir(c, a, &k->k, err);
	if (ret || a->action == DA_print) {
		if (!ret)
			key_print(c, &k->k);
		ret = ret < 0 ? ret : 0;
		goto out;
	}
	if (a->in_place) {
		if (c->journal.keys.nr) {
			pb_str(err, "--in-place needs a clean filesystem (the journal has keys that would win)");
			ret = -BCH_ERR_bad_argument;
		} else {
			ret = bch_key_rewrite_in_place(c, a->btree, a->pos,
						       a->action == DA_delete ? NULL : &k->k, err);
		}
		goto out;
	}
	ret = bch_fs_start_write(c, err);
	if (ret)
		goto out;
	if (a->action == DA_delete || a->action == DA_move)
		ret = bch_trans_delete(&t, a->btree, a->level, a->pos, flags);
	if (!ret && a->action != DA_delete) {
		if (a->have_to)
			k->k.k.p = a->to;
		ret = bch_trans_update(&t, a->to_btree >= 0 ? a->to_btree : a->btree, a->level, &k->k,
				       flags | (a->overlap ? BCH_UPDATE_NO_EXTENT_OVERWRITE : 0));
	}
	ret = ret ?: bch_trans_commit(&t, err) ?:
		(a->unclean ? bch_journal_flush(c, err) : bch_fs_clean_shutdown(c, err));
out:
	bch_trans_exit(&t);
	free(k);
	return ret;
}

static int cmd_debug(const struct cmd_def *def, int argc, char **argv)
{
	struct printbuf err = PRINTBUF;
	struct debug_args a;
	struct bch_fs *c;
	int ret = parse_args(def, argc, argv, &a);

	if (ret)
		return ret < 0 ? CMD_EXIT_OK : ret;
	struct bch_open_opts opts = {
		.read_only = a.action == DA_print, .degraded = a.action == DA_print,
		.read_journal = a.action == DA_journal_edit,
	};

	ret = bch_fs_open(a.devs, a.nr_devs, &opts, &c, &err);
	if (!ret) {
		ret = edit(c, &a, &err);
		bch_fs_close(c);
	}
	if (ret)
		cmd_err("debug: %s", pb_cstr(&err));
	pb_exit(&err);
	return ret ? CMD_EXIT_ERROR : CMD_EXIT_OK;
}

const struct cmd_def cmd_debug_def = {
	.name		= "debug",
	.synopsis	= "[OPTION]... ACTION DEVICE...",
	.summary	= "Print or change one key precisely (damage for testing fsck)",
	.options	= debug_opts,
	.run		= cmd_debug,
	.group		= "Debug",
	.epilog		= "ACTION is one of:\n"
			  "  print   print the key\n"
			  "  set     change fields of the key (--set)\n"
			  "  delete  delete the key\n"
			  "  copy    write the key (with any --set changes) at --to as well\n"
			  "  move    the same, and delete the original\n"
			  "  kill-node  zero the node at --level of btree -b that holds -p, on disk\n"
			  "          (a lost node write: fsck drops the node and repairs the rest)\n"
			  "  node-edit  change the header of the node at --level of btree -b that\n"
			  "          holds -p, or of its --bset, on every replica, checksummed again\n"
			  "          unless --keep-csum.  FIELD is magic, flags, btree_id, level,\n"
			  "          min_key, max_key (the node header: bset 0), seq, journal_seq,\n"
			  "          bset_flags, csum_type, offset, version, u64s (the bset) or\n"
			  "          WIDTH@OFF (bytes into the node header or btree_node_entry)\n"
			  "  journal-edit  change the jset --seq (its header, its --entry, or that\n"
			  "          entry's --key) where it lies on disk, checksummed again unless\n"
			  "          --keep-csum.  With --entry-type or -b, --entry counts only the\n"
			  "          entries of that type and btree, in the first jset of the replay\n"
			  "          range holding one (unless --seq).  FIELD is u64s, type, last_seq,\n"
			  "          version, flags, btree_id, level, format, size or WIDTH@OFF (bytes\n"
			  "          into the header, entry or key).  The journal is read, not replayed\n"
			  "A dirent moved with --to-dir is renamed there (the inode's backpointer and\n"
			  "the directories' link counts follow), unchecked: a directory may be moved\n"
			  "below itself.\n"
			  "FIELD is type, size or version (the key header; with --in-place pos\n"
			  "too: the key is rewritten where it lies, out of order if so asked),\n"
			  "bi_* (an inode: every field of\n"
			  "`list`), an alloc_v4 field (gen, data_type, dirty_sectors, cached_sectors,\n"
			  "...), d_inum or d_type (a dirent), seq, sectors_written, flags,\n"
			  "range_updated or min_key (a node pointer, with --level), or u8@OFF,\n"
			  "u16@OFF, u32@OFF, u64@OFF\n"
			  "(little-endian bytes OFF bytes into the value).\n"
			  "Changes go through the journal and end with a clean shutdown; without\n"
			  "--triggers no derived metadata (alloc, backpointers, accounting) follows,\n"
			  "which is what makes the result an inconsistency for fsck to find. This\n"
			  "command damages filesystems on purpose: use it on copies.\n",
};

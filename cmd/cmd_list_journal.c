/* bcachefs list_journal: print the journal entries found on the devices, entry by entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "bkey/bkey.h"
#include "core/fs.h"
#include "journal/journal.h"
#include "journal/jset.h"
#include "util/names.h"

/* what the reference highlights matching entries with */
#define COLOR_MATCH	"\x1B[31m"
#define COLOR_NORMAL	"\x1B[0m"

#define FILTERS_MAX	16

enum { OPT_ALL, OPT_NR, OPT_TRANS, OPT_KEY, OPT_VERBOSE };

static const struct cmd_option list_journal_opts[] = {
	[OPT_ALL]	= { "all", 'a', CMD_ARG_NONE, NULL,
			    "Read entire journal, not just dirty entries" },
	[OPT_NR]	= { "nr-entries", 'n', CMD_ARG_REQUIRED, "NR",
			    "Number of journal entries to print, starting from the most recent (implies -a)" },
	[OPT_TRANS]	= { "transaction-filter", 't', CMD_ARG_REQUIRED, "BBPOS[-BBPOS]",
			    "Only transactions updating keys in this range (BBPOS is "
			    "btree:inode:offset[:snapshot]); entry headers are left out" },
	[OPT_KEY]	= { "key-filter", 'k', CMD_ARG_REQUIRED, "BTREE",
			    "Only key entries of this btree (may be repeated)" },
	[OPT_VERBOSE]	= { "verbose", 'v', CMD_ARG_NONE, NULL,
			    "Accepted for compatibility; what reading found is always reported on stderr" },
	{ 0 }
};

struct bbpos {
	unsigned btree;
	struct bpos pos;
};

struct bbpos_range {
	struct bbpos start, end;
};

struct list_journal_args {
	bool all;
	u64 nr_entries;			/* 0: all */
	struct bbpos_range trans[FILTERS_MAX];
	unsigned nr_trans;
	unsigned key_btrees[FILTERS_MAX];
	unsigned nr_key_btrees;
};

static int bbpos_cmp(struct bbpos l, struct bbpos r)
{
	if (l.btree != r.btree)
		return l.btree < r.btree ? -1 : 1;
	return bpos_cmp(l.pos, r.pos);
}

/* ---- option values ---- */

/* Decimal, or the names the reference accepts for the largest values. */
static bool parse_pos_field(const char *s, u64 max, u64 *v)
{
	char *end;

	if (!strcmp(s, "U64_MAX"))
		*v = ~0ULL;
	else if (!strcmp(s, "U32_MAX"))
		*v = ~0U;
	else if (*s >= '0' && *s <= '9') {
		errno = 0;
		*v = strtoull(s, &end, 10);
		if (errno || *end)
			return false;
	} else {
		return false;
	}
	return *v <= max;
}

/* btree:inode:offset[:snapshot]; s is modified */
static bool parse_bbpos(char *s, struct bbpos *out)
{
	char *f[5] = { NULL };
	unsigned nr = 0;
	u64 ino, off, snap = 0;
	int btree;

	for (char *p = s; p && nr < 5; nr++)
		f[nr] = strsep(&p, ":");
	if (nr < 3 || nr > 4 || (btree = bch_name_index(bch_btree_id_names, BTREE_ID_NR, f[0])) < 0 ||
	    !parse_pos_field(f[1], ~0ULL, &ino) ||
	    !parse_pos_field(f[2], ~0ULL, &off) ||
	    (f[3] && !parse_pos_field(f[3], ~0U, &snap)))
		return false;
	*out = (struct bbpos) { btree, SPOS(ino, off, snap) };
	return true;
}

/* BBPOS or BBPOS-BBPOS; a single position is the range [pos, pos] */
static bool parse_bbpos_range(const char *arg, struct bbpos_range *r)
{
	char *s = strdup(arg), *p = s;
	char *start = s ? strsep(&p, "-") : NULL, *end = p;
	bool ok = start && parse_bbpos(start, &r->start) &&
		(end ? !strchr(end, '-') && parse_bbpos(end, &r->end) : true);

	if (ok && !end)
		r->end = r->start;
	free(s);
	return ok;
}

static int parse_opt(const struct cmd_def *def, int o, const char *arg,
		     struct list_journal_args *a)
{
	unsigned long long v;
	int btree;

	switch (o) {
	case OPT_ALL:
		a->all = true;
		break;
	case OPT_NR:
		if (!cmd_parse_u64(def, "--nr-entries", arg, &v))
			return CMD_EXIT_USAGE;
		a->nr_entries = v;
		a->all = true;
		break;
	case OPT_TRANS:
		if (a->nr_trans == FILTERS_MAX ||
		    !parse_bbpos_range(arg, &a->trans[a->nr_trans])) {
			cmd_usage_error(def, "invalid transaction filter '%s'", arg);
			return CMD_EXIT_USAGE;
		}
		a->nr_trans++;
		break;
	case OPT_KEY:
		if (a->nr_key_btrees == FILTERS_MAX || (btree = bch_name_index(bch_btree_id_names, BTREE_ID_NR, arg)) < 0) {
			cmd_usage_error(def, "invalid btree '%s'", arg);
			return CMD_EXIT_USAGE;
		}
		a->key_btrees[a->nr_key_btrees++] = btree;
		break;
	case OPT_VERBOSE:
		break;
	}
	return 0;
}

static int parse_args(const struct cmd_def *def, int *argc, char ***argv,
		      struct list_journal_args *a)
{
	struct cmd_opts_state st;
	int o, ret;

	*a = (struct list_journal_args) { 0 };
	cmd_opts_init(&st, *argc, *argv);
	while ((o = cmd_next_opt(def, &st)) >= 0)
		if ((ret = parse_opt(def, o, st.arg, a)))
			return ret;
	o = cmd_opts_finish(def, &st, o, 1, -1);
	if (o)
		return o == CMD_OPTS_HELP ? -1 : o;
	*argc -= st.optind;
	*argv += st.optind;
	return 0;
}

/* ---- filters ---- */

/* The entry types whose keys the filters look at (not write_buffer_keys). */
static bool entry_is_filtered(const struct jset_entry *e)
{
	return e->type == BCH_JSET_ENTRY_btree_root ||
	       e->type == BCH_JSET_ENTRY_btree_keys ||
	       e->type == BCH_JSET_ENTRY_overwrite;
}

#define entry_for_each_key(e, k)						\
	for (const struct bkey_i *k = (const void *)(e)->_data;			\
	     k < jset_entry_keys_end(e) && k->k.u64s >= BKEY_U64s &&		\
	     bkey_i_next(k) <= jset_entry_keys_end(e);				\
	     k = bkey_i_next(k))

/* Overlap test of the reference: strict at both ends. */
static bool key_in_ranges(const struct list_journal_args *a, const struct jset_entry *e,
			  const struct bkey_i *k)
{
	struct bbpos start = { e->btree_id, bkey_start_pos(&k->k) };
	struct bbpos end = { e->btree_id, k->k.p };

	for (unsigned i = 0; i < a->nr_trans; i++)
		if (bbpos_cmp(start, a->trans[i].end) < 0 &&
		    bbpos_cmp(end, a->trans[i].start) > 0)
			return true;
	return false;
}

static bool entry_matches_trans(const struct list_journal_args *a, const struct jset_entry *e)
{
	if (entry_is_filtered(e))
		entry_for_each_key(e, k)
			if (key_in_ranges(a, e, k))
				return true;
	return false;
}

/* A log entry at level 0 is written first by every transaction commit. */
static bool entry_starts_transaction(const struct jset_entry *e)
{
	return e->type == BCH_JSET_ENTRY_log && !e->level;
}

static bool transaction_wanted(const struct list_journal_args *a,
			       const struct jset_entry *e, const void *end)
{
	if (!a->nr_trans)
		return true;
	for (e = jset_entry_next(e);
	     jset_entry_fits(e, end) && !entry_starts_transaction(e);
	     e = jset_entry_next(e))
		if (entry_matches_trans(a, e))
			return true;
	return false;
}

/* With a key filter, key entries are shown only for those btrees (so never when empty). */
static bool entry_wanted(const struct list_journal_args *a, const struct jset_entry *e)
{
	if (!a->nr_key_btrees || !entry_is_filtered(e))
		return true;
	entry_for_each_key(e, k)
		for (unsigned i = 0; i < a->nr_key_btrees; i++)
			if (e->btree_id == a->key_btrees[i])
				return true;
	return false;
}

/* ---- output ---- */

/* Blacklisted entries are marked by a '*' in place of the first space of each line. */
static void star_lines(struct printbuf *buf)
{
	char *p = buf->buf;

	if (!p)
		return;
	if (*p == ' ')
		*p = '*';
	while ((p = strstr(p, "\n ")))
		p[1] = '*';
}

static bool emit(struct printbuf *buf, bool star)
{
	if (star)
		star_lines(buf);
	pb_char(buf, '\n');

	bool ok = cmd_write_stdout(pb_cstr(buf), buf->pos);

	/* every block starts without indent or tabstops */
	pb_exit(buf);
	*buf = PRINTBUF;
	return ok;
}

static bool print_header(const struct journal_replay *i, bool blacklisted)
{
	struct printbuf buf = PRINTBUF;
	const struct jset *j = i->j;

	pb_printf(&buf, "%sjournal entry     %llu\n", blacklisted ? "blacklisted " : "",
		  (unsigned long long)le64_to_cpu(j->seq));
	if (!cmd_write_stdout(pb_cstr(&buf), buf.pos)) {
		pb_exit(&buf);
		return false;
	}
	pb_reset(&buf);
	pb_printf(&buf, "  version         %u\n"
		  "  last seq        %llu\n"
		  "  flush           %u\n"
		  "  written at      ",
		  le32_to_cpu(j->version),
		  (unsigned long long)le64_to_cpu(j->last_seq),
		  !jset_no_flush(j));
	bch_journal_ptrs_to_text(&buf, i);
	return emit(&buf, blacklisted);
}

static bool print_one(const struct bch_fs *c, const struct list_journal_args *a,
		      struct printbuf *buf, const struct jset_entry *e, const void *end,
		      bool blacklisted)
{
	bool highlight = a->nr_trans && entry_matches_trans(a, e);

	if (highlight && !cmd_write_stdout(COLOR_MATCH, strlen(COLOR_MATCH)))
		return false;
	pb_indent_add(buf, 4);
	bch_jset_entry_to_text_within(buf, c, e, end);
	if (!emit(buf, blacklisted))
		return false;
	return !highlight || cmd_write_stdout(COLOR_NORMAL, strlen(COLOR_NORMAL));
}

/*
 * The entries of a jset, stopping at one that runs past its end (possible
 * in jsets outside the replay range, which are not validated).
 */
static bool print_entries(const struct bch_fs *c, const struct list_journal_args *a,
			  const struct journal_replay *i, bool blacklisted)
{
	const void *end = jset_entries_end(i->j);
	const struct jset_entry *e = i->j->start;
	struct printbuf buf = PRINTBUF;
	bool ok = true;

	while (ok && jset_entry_fits(e, end)) {
		if (entry_starts_transaction(e)) {
			if (!transaction_wanted(a, e, end)) {
				do
					e = jset_entry_next(e);
				while (jset_entry_fits(e, end) && !entry_starts_transaction(e));
				continue;
			}
			pb_newline(&buf);
		}
		if (entry_wanted(a, e))
			ok = print_one(c, a, &buf, e, end, blacklisted);
		e = jset_entry_next(e);
	}
	pb_exit(&buf);
	return ok;
}

/*
 * Without -a the reference drops, while reading, every entry older than
 * the newest last_seq any flush entry names, even one later found torn.
 */
static u64 oldest_shown(const struct bch_journal *jn)
{
	u64 oldest = 0;

	for (size_t n = 0; n < jn->nr_entries; n++) {
		const struct jset *j = jn->entries[n]->j;

		if (!jset_no_flush(j) && le64_to_cpu(j->last_seq) > oldest)
			oldest = le64_to_cpu(j->last_seq);
	}
	return oldest;
}

static bool entry_shown(const struct bch_journal *jn, const struct list_journal_args *a,
			const struct journal_replay *i, u64 oldest)
{
	u64 seq = le64_to_cpu(i->j->seq);

	if (!a->all && (i->ignore_not_dirty || seq < oldest))
		return false;
	return !a->nr_entries || seq + a->nr_entries > jn->max_seq;
}

static bool print_journal(const struct bch_fs *c, const struct list_journal_args *a)
{
	const struct bch_journal *jn = &c->journal;
	u64 oldest = oldest_shown(jn);

	for (size_t n = 0; n < jn->nr_entries; n++) {
		const struct journal_replay *i = jn->entries[n];

		if (!entry_shown(jn, a, i, oldest))
			continue;
		if (!a->nr_trans && !print_header(i, i->ignore_blacklisted))
			return false;
		if (!print_entries(c, a, i, i->ignore_blacklisted))
			return false;
	}
	return true;
}

static int cmd_list_journal(const struct cmd_def *def, int argc, char **argv)
{
	struct bch_open_opts opts = {
		.read_only = true, .degraded = true, .read_journal = true,
	};
	struct printbuf err = PRINTBUF;
	struct list_journal_args a;
	struct bch_fs *c;
	int ret = parse_args(def, &argc, &argv, &a);

	if (ret)
		return ret < 0 ? CMD_EXIT_OK : ret;

	ret = bch_fs_open(argv, argc, &opts, &c, &err);
	if (ret) {
		cmd_err("%s", pb_cstr(&err));
		pb_exit(&err);
		return CMD_EXIT_ERROR;
	}
	pb_exit(&err);

	/* what reading found (damage, the replay range) goes to stderr */
	if (c->log.pos)
		fputs(pb_cstr(&c->log), stderr);

	bool ok = print_journal(c, &a);
	unsigned damage = c->nr_errors;

	bch_fs_close(c);
	/* damage was listed around, but a script must not take it for clean */
	if (ok && damage)
		cmd_err("the journal is damaged: %u problem(s) reported above", damage);
	return ok && !damage ? CMD_EXIT_OK : CMD_EXIT_ERROR;
}

const struct cmd_def cmd_list_journal_def = {
	.name		= "list_journal",
	.synopsis	= "[OPTION]... DEVICE...",
	.summary	= "Print the contents of the journal",
	.options	= list_journal_opts,
	.run		= cmd_list_journal,
	.group		= "Debug",
};

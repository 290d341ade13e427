/* Test helper: recompute derived metadata and list what differs from the stored; damage a key in place to prove it is noticed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc/recompute.h"
#include "btree/iter.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "sb/opts.h"
#include "keys/extents.h"
#include "util/names.h"
#include "btree/trans.h"
#include "debug/key_edit.h"
#include "core/shutdown.h"

static const char usage[] =
	"usage: recompute [-a] DEVICE...\n"
	"       recompute damage alloc DEV:BUCKET FIELD VALUE DEVICE...\n"
	"       recompute damage delete BTREE POS DEVICE...\n"
	"       recompute damage put BTREE POS set [SIZE] DEVICE...\n"
	"       recompute damage put BTREE POS copy FROM_POS DEVICE...\n"
	"\n"
	"Recomputes bucket usage, backpointers and accounting from every key and\n"
	"compares them, and the alloc keys' freespace, need_discard, lru and\n"
	"bucket_gens entries, with what is stored.  Prints one line per\n"
	"difference (at most 50 per kind without -a) and a summary; exits 1 if\n"
	"anything differs, 2 if the filesystem cannot be read.\n"
	"\n"
	"damage: rewrites, in place, the leaf holding a key (its newest copy; the\n"
	"bset re-checksummed): `alloc` sets FIELD (dirty_sectors, cached_sectors, gen)\n"
	"of the alloc_v4 key of a bucket, `delete` turns the key at POS into a\n"
	"deleted key.  Only for clean filesystems: a key the journal holds wins.\n"
	"`put` commits, without triggers, a `set` key (SIZE for the extent\n"
	"btrees) or a copy of the value at FROM_POS at POS, then shuts down cleanly.\n";

static int open_fs(char **devs, int nr, bool read_only, struct bch_fs **c)
{
	struct bch_open_opts opts = { .read_only = read_only };
	struct printbuf err = PRINTBUF;
	int ret = bch_fs_open(devs, nr, &opts, c, &err);

	if (ret)
		fprintf(stderr, "recompute: %s\n", pb_cstr(&err));
	pb_exit(&err);
	return ret;
}

static int cmd_check(int argc, char **argv)
{
	struct bch_recompute_opts opts = { .max_reports = 50 };
	struct bch_recompute_result res;
	struct printbuf out = PRINTBUF;
	struct bch_fs *c;
	int ret;

	if (argc && !strcmp(argv[0], "-a")) {
		opts.max_reports = 0;
		argc--;
		argv++;
	}
	if (!argc || argv[0][0] == '-') {
		fputs(usage, stderr);
		return 2;
	}
	if (open_fs(argv, argc, true, &c))
		return 2;
	ret = bch_recompute(c, &opts, &out, &res);
	bch_recompute_result_to_text(&out, &res);
	pb_char(&out, '\n');
	fputs(pb_cstr(&out), stdout);
	pb_exit(&out);
	bch_fs_close(c);
	if (fflush(stdout) || ferror(stdout))
		return 2;
	return ret ? 2 : res.total ? 1 : 0;
}

/* ---- damage ---- */


/* alloc FIELD VALUE, or delete (field NULL): the key rewritten in its leaf (debug/key_edit.h). */
static int damage(struct bch_fs *c, enum btree_id id, struct bpos pos, const char *field, u64 value)
{
	union bch_key_buf *k = malloc(sizeof(*k));
	struct printbuf err = PRINTBUF;
	struct btree_trans t;
	char assign[64];
	int ret = k ? 0 : -1;

	bch_trans_init(&t, c);
	if (!ret && field) {
		snprintf(assign, sizeof(assign), "%s=%llu", field, (unsigned long long)value);
		ret = bch_trans_lookup(&t, id, 0, pos, &k->k, BKEY_U64s_MAX, &err) == 1 ? 0 : -1;
		if (ret)
			pb_str(&err, "no key at that position");
		else if (k->k.k.type != KEY_TYPE_alloc_v4) {
			pb_printf(&err, "the key is a %s, not an alloc_v4", bch_bkey_type_names[k->k.k.type]);
			ret = -1;
		}
		ret = ret ?: bch_key_set_field(&k->k, assign, &err);
	}
	ret = ret ?: bch_key_rewrite_in_place(c, id, pos, field ? &k->k : NULL, &err);
	if (ret)
		fprintf(stderr, "recompute: %s\n", pb_cstr(&err));
	bch_trans_exit(&t);
	pb_exit(&err);
	free(k);
	return ret;
}

/* put: one key written through a transaction without triggers. */
static int damage_put(int argc, char **argv)
{
	struct { struct bkey_i k; u64 v[64]; } b;
	struct printbuf err = PRINTBUF;
	struct btree_trans t;
	struct bpos pos, from;
	struct bch_fs *c;
	int id = argc >= 4 ? bch_name_index(bch_btree_id_names, BTREE_ID_NR, argv[0]) : -1, nr_args = 3, ret;
	u64 size = 0;

	if (id < 0 || !bch_bpos_parse(argv[1], &pos)) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[2], "set") && argc >= 5 && !bch_parse_u64(argv[3], &size))
		nr_args = 4;
	else if (!strcmp(argv[2], "copy") && argc >= 5 && bch_bpos_parse(argv[3], &from))
		nr_args = 4;
	else if (strcmp(argv[2], "set")) {
		fputs(usage, stderr);
		return 2;
	}
	if (open_fs(argv + nr_args, argc - nr_args, false, &c))
		return 2;
	bch_trans_init(&t, c);
	memset(&b, 0, sizeof(b));
	ret = 0;
	if (!strcmp(argv[2], "copy") &&
	    bch_trans_lookup(&t, id, 0, from, &b.k, sizeof(b) / 8, &err) <= 0) {
		fprintf(stderr, "recompute: no key at the FROM position\n");
		ret = -1;
	} else if (strcmp(argv[2], "copy")) {
		b.k.k.u64s = BKEY_U64s;
		b.k.k.format_whiteout = KEY_FORMAT_CURRENT;
		b.k.k.type = KEY_TYPE_set;
		b.k.k.size = size;
	}
	b.k.k.p = pos;
	ret = ret ?: bch_fs_start_write(c, &err) ?:
		bch_trans_update(&t, id, 0, &b.k, BCH_UPDATE_NO_TRIGGERS) ?:
		bch_trans_commit(&t, &err) ?:
		bch_fs_clean_shutdown(c, &err);
	if (ret && err.pos)
		fprintf(stderr, "recompute: %s\n", pb_cstr(&err));
	bch_trans_exit(&t);
	pb_exit(&err);
	bch_fs_close(c);
	return ret ? 1 : 0;
}

static int cmd_damage(int argc, char **argv)
{
	const char *field = NULL;
	struct bpos pos;
	struct bch_fs *c;
	u64 v = 0;
	int id, nr_args, ret;

	if (argc >= 1 && !strcmp(argv[0], "put"))
		return damage_put(argc - 1, argv + 1);
	if (argc >= 5 && !strcmp(argv[0], "alloc")) {
		id = BTREE_ID_alloc;
		field = argv[2];
		nr_args = 4;
		if (!bch_bpos_parse(argv[1], &pos) || bch_parse_u64(argv[3], &v) || v > ~0U)
			id = -1;
	} else if (argc >= 4 && !strcmp(argv[0], "delete")) {
		id = bch_name_index(bch_btree_id_names, BTREE_ID_NR, argv[1]);
		nr_args = 3;
		if (!bch_bpos_parse(argv[2], &pos))
			id = -1;
	} else {
		id = -1;
		nr_args = 0;
	}
	if (id < 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (open_fs(argv + nr_args, argc - nr_args, false, &c))
		return 2;
	if (c->journal.keys.nr)
		fprintf(stderr, "recompute: warning: the journal holds keys; they win over the node\n");
	ret = damage(c, id, pos, field, v);
	bch_fs_close(c);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "damage"))
		return cmd_damage(argc - 2, argv + 2);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		puts("\nWhat each line's first word compares:");
		for (unsigned k = 0; k < BCH_RECOMPUTE_NR; k++)
			printf("  %-15s %s\n", bch_recompute_kind_names[k], bch_recompute_kind_what[k]);
		return 0;
	}
	return cmd_check(argc - 1, argv + 1);
}

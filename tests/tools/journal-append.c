/* Test driver: append journal entries to a cleanly shut down filesystem with the library's journal writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "btree/iter.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "journal/journal_write.h"
#include "sb/sb.h"
#include "sb/sb_write.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"
#include "util/names.h"

static const char usage[] =
"usage: journal-append [OPTION]... DEVICE...\n"
"Appends one flush jset (the roots, datetime, usage, clocks) after the\n"
"clean shutdown's journal_seq, then marks the superblock not clean.\n"
"  --unclean           the filesystem may be unclean: start after the\n"
"                      journal read, as recovery does, with nothing dirty\n"
"                      (only right when its entries change nothing)\n"
"  --log TEXT          add a log entry\n"
"  --rejournal BTREE   journal the first key of BTREE again, unchanged\n"
"  --noflush N         then append N noflush jsets\n"
"  --clean             leave the filesystem clean: rewrite the clean\n"
"                      section for the new journal_seq instead\n"
"  --time SECONDS      the datetime entries' time (default: now)\n";

struct append_opts {
	const char *log;
	int rejournal;		/* btree id, -1 for none */
	unsigned noflush;
	bool clean;
	bool unclean;
	u64 now;
};

static int die(const char *what, int ret, const struct printbuf *msg)
{
	fprintf(stderr, "journal-append: %s: %s%s%s\n", what, bch_err_str(ret),
		msg && msg->pos ? ": " : "", msg && msg->pos ? pb_cstr(msg) : "");
	return 1;
}

/* The first key of a btree, copied whole into buf. */
static int first_key(struct bch_fs *c, enum btree_id btree, u64 *buf, size_t u64s)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, c, btree, POS_MIN, 0);
	ret = bch_btree_iter_peek(&it, &k);
	if (ret > 0 && k.k->u64s <= u64s) {
		memcpy(buf, k.k, sizeof(*k.k));
		memcpy(buf + BKEY_U64s, k.v, 8 * (size_t)(k.k->u64s - BKEY_U64s));
		ret = 0;
	} else if (!ret) {
		ret = -BCH_ERR_bad_argument;
	}
	bch_btree_iter_exit(&it);
	return ret;
}

static int append(struct bch_fs *c, struct jset_builder *b, const struct append_opts *o,
		  bool flush, struct printbuf *err)
{
	u64 key[BKEY_U64s_MAX];
	int ret = 0;

	bch_jset_builder_reset(b);
	if (flush && o->log)
		ret = bch_jset_add_log(b, o->log);
	if (!ret && flush && o->rejournal >= 0) {
		ret = first_key(c, o->rejournal, key, BKEY_U64s_MAX);
		if (!ret)
			ret = bch_jset_add_key(b, o->rejournal, 0, (struct bkey_i *)key);
	}
	if (ret)
		return ret;
	ret = bch_jset_finish(c, b, flush, o->now, err) ?:
		bch_journal_write_jset(c, b, err);
	if (!ret)
		printf("seq %llu %s\n", (unsigned long long)bch_journal_last_written_seq(c),
		       flush ? "flush" : "noflush");
	return ret;
}

/* Set while the filesystem is not clean: the journal may hold btree updates. */
#define FEATURES_WHILE_DIRTY					\
	((1ULL << BCH_FEATURE_new_extent_overwrite) |		\
	 (1ULL << BCH_FEATURE_extents_above_btree_updates) |	\
	 (1ULL << BCH_FEATURE_btree_updates_journalled) |	\
	 (1ULL << BCH_FEATURE_alloc_v2) |			\
	 (1ULL << BCH_FEATURE_extents_across_btree_nodes))

/* Not clean, or clean with a clean section for the journal as it now is. */
static int sb_update(struct bch_fs *c, bool clean, struct printbuf *err)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		struct bch_dev *ca = c->devs[i];
		struct bch_sb_field_clean *f;
		int ret;

		if (!ca)
			continue;
		set_sb_clean(ca->sb.sb, clean);
		if (!clean)
			ca->sb.sb->features[0] |= cpu_to_le64(FEATURES_WHILE_DIRTY);
		f = bch_sb_field_get_t(ca->sb.sb, clean);
		if (clean && (!f || le32_to_cpu(f->field.u64s) != BCH_SB_CLEAN_U64s)) {
			pb_str(err, "the clean section is not of the size a clean shutdown writes");
			return -BCH_ERR_unsupported;
		}
		ret = (clean ? bch_sb_clean_build(c, f, BCH_SB_CLEAN_U64s, err) : 0) ?:
			bch_sb_write(ca, ca->sb.sb, err);
		if (ret)
			return ret;
	}
	return 0;
}

static int run(char **devs, unsigned nr, const struct append_opts *o)
{
	struct bch_open_opts opts = { 0 };
	struct printbuf err = PRINTBUF;
	struct jset_builder b = { 0 };
	struct bch_fs *c;
	int ret = bch_fs_open(devs, nr, &opts, &c, &err);

	if (ret)
		return die("open", ret, &err);
	if (!c->sb.clean && !o->unclean) {
		fprintf(stderr, "journal-append: the filesystem must be clean (or --unclean)\n");
		bch_fs_close(c);
		return 1;
	}
	ret = bch_journal_write_start(c, &err);
	if (!ret && !c->sb.clean) {
		printf("blacklist %llu-%llu\n", (unsigned long long)c->journal.w.blacklist_start,
		       (unsigned long long)c->journal.w.blacklist_end - 1);
		ret = bch_journal_set_last_seq(c, c->journal.w.seq);
	}
	ret = ret ?: bch_jset_builder_init(&b, 64 << 10) ?:
		append(c, &b, o, true, &err);
	for (unsigned n = 0; !ret && n < o->noflush; n++)
		ret = append(c, &b, o, false, &err);
	ret = ret ?: sb_update(c, o->clean, &err);
	for (unsigned i = 0; !ret && i < BCH_SB_MEMBERS_MAX; i++)
		if (c->journal.w.dev[i].bucket_seq)
			printf("dev %u: journal bucket %u offset %u\n", i,
			       c->journal.w.dev[i].cur_idx, c->journal.w.dev[i].sectors_used);
	if (ret)
		die("append", ret, &err);
	pb_exit(&err);
	bch_jset_builder_exit(&b);
	bch_journal_write_exit(c);
	bch_fs_close(c);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct append_opts o = { .rejournal = -1, .now = time(NULL) };
	int i = 1;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--clean") || !strcmp(argv[i], "--unclean")) {
			*(argv[i][2] == 'c' ? &o.clean : &o.unclean) = true;
			continue;
		}
		if (!arg)
			break;
		if (!strcmp(argv[i], "--log"))
			o.log = arg;
		else if (!strcmp(argv[i], "--rejournal") && (o.rejournal = bch_name_index(bch_btree_id_names, BTREE_ID_NR, arg)) >= 0)
			;
		else if (!strcmp(argv[i], "--noflush"))
			o.noflush = strtoul(arg, NULL, 10);
		else if (!strcmp(argv[i], "--time"))
			o.now = strtoull(arg, NULL, 10);
		else
			break;
		i++;
	}
	if (i >= argc || !strncmp(argv[i], "--", 2)) {
		fputs(usage, stderr);
		return 2;
	}
	return run(argv + i, argc - i, &o);
}

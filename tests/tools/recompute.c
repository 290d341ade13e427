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


static int btree_by_name(const char *s)
{
	for (unsigned id = 0; id < BTREE_ID_NR; id++)
		if (bch_btree_id_names[id] && !strcmp(bch_btree_id_names[id], s))
			return id;
	return -1;
}

/* Where a write of the node starts: its bset header and the bytes it covers. */
struct bset_loc {
	u8 *start;
	struct bset *i;
	size_t bytes;
	unsigned offset;	/* sectors into the node */
};

static struct bset_loc bset_at(const struct bch_fs *c, u8 *data, unsigned offset)
{
	struct bset_loc l = { data + ((size_t)offset << 9), NULL, 0, offset };
	size_t hdr = offset ? sizeof(struct btree_node_entry) : sizeof(struct btree_node);

	l.i = offset ? &((struct btree_node_entry *)l.start)->keys
		     : &((struct btree_node *)l.start)->keys;
	l.bytes = hdr + 8 * (size_t)le16_to_cpu(l.i->u64s);
	return l;
}

static unsigned bset_sectors(const struct bch_fs *c, const struct bset_loc *l)
{
	size_t block = (size_t)c->sb.block_size << 9;

	return (l->bytes + block - 1) / block * block >> 9;
}

/* The newest copy of the key at pos in the node's raw bsets: the packed key and its bset. */
static struct bkey_packed *find_key(const struct bch_fs *c, const struct btree *b, u8 *data,
				    struct bpos pos, struct bset_loc *where)
{
	struct bkey_packed *found = NULL;

	for (unsigned off = 0; off < b->written;) {
		struct bset_loc l = bset_at(c, data, off);
		struct bkey_packed *k = (void *)l.i->_data;
		const void *end = l.i->_data + le16_to_cpu(l.i->u64s);

		for (; (const void *)k < end && k->u64s; k = (void *)bkeyp_next(k)) {
			struct bkey u;

			if (bch_bkey_unpack(&b->unpacker, k, &u) && bpos_eq(u.p, pos)) {
				found = k;
				*where = l;
			}
		}
		off += bset_sectors(c, &l);
	}
	return found;
}

static void reseal(const struct bset_loc *l)
{
	u64 seq = le64_to_cpu(l->i->seq);
	struct bch_nonce nonce = { {
		l->offset << 9, (u32)seq, (u32)(seq >> 32),
		(u32)le64_to_cpu(l->i->journal_seq) ^ (2U << 28),
	} };

	*(struct bch_csum *)l->start = bch_checksum(bset_csum_type(l->i), nonce,
						    l->start + sizeof(struct bch_csum),
						    l->bytes - sizeof(struct bch_csum));
}

/* Writes the node's written sectors to every replica its pointer names. */
static int write_node(struct bch_fs *c, const struct btree *b, const u8 *data)
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	struct printbuf err = PRINTBUF;
	int ret = 0;

	bch_ptr_iter_init(&it, bkey_i_to_s_c(&b->key));
	while (!ret && bch_ptr_iter_next(&it, &p)) {
		struct bch_dev *ca = bch_dev_get(c, ptr_dev(&p.ptr));

		ret = ca ? bch_dev_pwrite(ca, data, (size_t)b->written << 9,
					  ptr_offset(&p.ptr) << 9, &err) ?:
			   bch_dev_flush(ca, &err) : -1;
	}
	if (ret)
		fprintf(stderr, "recompute: writing the node: %s\n", pb_cstr(&err));
	pb_exit(&err);
	return ret;
}

struct damage {
	const char *field;	/* alloc: the field; NULL: delete the key */
	u32 value;
};

static int apply_damage(struct bkey_packed *k, const struct btree *b, const struct damage *d)
{
	struct bkey u;
	u8 *val = (u8 *)bkeyp_val(&b->unpacker, k);
	size_t off;

	bch_bkey_unpack(&b->unpacker, k, &u);
	if (!d->field) {
		/*
		 * A deleted key as the kernel writes one: size 0 in every btree
		 * (a sized one is invalid, would be dropped on read and let an
		 * older version of the key from an earlier bset show again).
		 */
		u.type = KEY_TYPE_deleted;
		u.size = 0;
		if (bkeyp_format_of(k) == KEY_FORMAT_CURRENT)
			memcpy(k, &u, sizeof(u));
		else if (!bch_bkey_pack(&b->format, &u, k)) {
			fprintf(stderr, "recompute: the deleted key does not fit the node format\n");
			return -1;
		}
		return 0;
	}
	if (u.type != KEY_TYPE_alloc_v4) {
		fprintf(stderr, "recompute: the key is a %s, not an alloc_v4\n",
			bch_bkey_type_names[u.type]);
		return -1;
	}
	if (!strcmp(d->field, "gen")) {
		struct bch_alloc_v4 *a = (void *)val;

		printf("gen was %u, now %u\n", a->gen, (u8)d->value);
		a->gen = d->value;
		return 0;
	}
	if (!strcmp(d->field, "dirty_sectors"))
		off = offsetof(struct bch_alloc_v4, dirty_sectors);
	else if (!strcmp(d->field, "cached_sectors"))
		off = offsetof(struct bch_alloc_v4, cached_sectors);
	else {
		fprintf(stderr, "recompute: unknown field %s\n", d->field);
		return -1;
	}
	printf("%s was %u, now %u\n", d->field, le32_to_cpu(*(__le32 *)(val + off)), d->value);
	*(__le32 *)(val + off) = cpu_to_le32(d->value);
	return 0;
}

static int damage(struct bch_fs *c, enum btree_id id, struct bpos pos, const struct damage *d)
{
	struct btree_iter it;
	const struct btree *b;
	struct bset_loc where;
	struct bkey_packed *k;
	u8 *data = NULL;
	int ret = -1;

	bch_btree_iter_init(&it, c, id, pos, 0);
	if (bch_btree_iter_peek_node(&it, &b) <= 0 || !it.have_root || b->level) {
		fprintf(stderr, "recompute: no leaf holds that position\n");
		goto out;
	}
	data = malloc((size_t)b->written << 9);
	if (!data)
		goto out;
	memcpy(data, b->data, (size_t)b->written << 9);
	k = find_key(c, b, data, pos, &where);
	if (!k) {
		fprintf(stderr, "recompute: the leaf has no key at that position\n");
		goto out;
	}
	ret = apply_damage(k, b, d);
	if (ret)
		goto out;
	reseal(&where);
	ret = write_node(c, b, data);
	if (!ret)
		printf("leaf at dev %u sector %llu: bset at sector %u rewritten\n",
		       b->dev, (unsigned long long)b->sector, where.offset);
out:
	free(data);
	bch_btree_iter_exit(&it);
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
	int id = argc >= 4 ? btree_by_name(argv[0]) : -1, nr_args = 3, ret;
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
	struct damage d = { 0 };
	struct bpos pos;
	struct bch_fs *c;
	int id, nr_args, ret;

	if (argc >= 1 && !strcmp(argv[0], "put"))
		return damage_put(argc - 1, argv + 1);
	if (argc >= 5 && !strcmp(argv[0], "alloc")) {
		u64 v;

		id = BTREE_ID_alloc;
		d.field = argv[2];
		nr_args = 4;
		if (!bch_bpos_parse(argv[1], &pos) || bch_parse_u64(argv[3], &v) ||
		    v > ~0U)
			id = -1;
		d.value = v;
	} else if (argc >= 4 && !strcmp(argv[0], "delete")) {
		id = btree_by_name(argv[1]);
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
	ret = damage(c, id, pos, &d);
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

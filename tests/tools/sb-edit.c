/* Test driver: edit one device's superblock with sb/sb_edit.c and write every copy back. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "sb/sb_write.h"
#include "util/errcode.h"
#include "util/names.h"

static const char usage[] =
"usage: sb-edit [OPTION]... DEVICE\n"
"Edits the superblock of DEVICE in the order the options are given, then\n"
"writes it (next seq, checksum type from metadata_checksum, every copy).\n"
"  --init                      bch_sb_mark_initialized()\n"
"  --journal B[-E][,...]       journal_v2 of these buckets (E inclusive)\n"
"  --downgrade                 bch_sb_downgrade_set()\n"
"  --replicas T:R:D[.D...][,...]  replicas of these entries: data type name,\n"
"                              nr_required, devices (e.g. btree:1:0,journal:1:0)\n"
"  --freespace DEV             member DEV freespace_initialized\n"
"  --bitmap DEV:SECTOR:SECTORS mark a btree node in DEV's bitmap\n"
"  --bitmap-clear DEV          empty DEV's btree bitmap (nodes there unmarked)\n"
"  --resize TYPE:U64S          resize a section (name or number)\n"
"  --blacklist START:END       add journal seqs [START, END) to journal_seq_blacklist\n"
"  --last-mount SECONDS        every member's last_mount, then members_v1 sync\n"
"  --clean                     set the CLEAN flag\n"
"  --encoded-extent-max BITS   the largest checksummed or compressed extent,\n"
"                              2^BITS sectors (7: 64 KiB, the default)\n"
"  --time SECONDS              the write time (default 0)\n";

static int die(const char *what, int ret, const struct printbuf *msg)
{
	fprintf(stderr, "sb-edit: %s: %s%s%s\n", what, bch_err_str(ret),
		msg && msg->pos ? ": " : "", msg && msg->pos ? pb_cstr(msg) : "");
	return 1;
}

static int parse_u64(const char *s, u64 *v, char **end)
{
	errno = 0;
	*v = strtoull(s, end, 0);
	return errno || *end == s ? -BCH_ERR_bad_argument : 0;
}

static int name_to_idx(const char * const *names, unsigned nr, const char *s, size_t len)
{
	for (unsigned i = 0; i < nr; i++)
		if (names[i] && strlen(names[i]) == len && !strncmp(names[i], s, len))
			return i;
	return -1;
}

static const char * const field_names[] = {
#define x(name, nr) [nr] = #name,
	BCH_SB_FIELDS()
#undef x
};

static int do_journal(struct bch_sb_buf *sb, const char *arg, struct printbuf *err)
{
	u64 *b = NULL, start, end;
	unsigned nr = 0;
	char *p = (char *)arg;
	int ret = 0;

	while (!ret && *p) {
		ret = parse_u64(p, &start, &p);
		end = start;
		if (!ret && *p == '-')
			ret = parse_u64(p + 1, &end, &p);
		if (!ret && end >= start) {
			u64 *n = realloc(b, (nr + end - start + 1) * sizeof(*b));

			if (!n)
				ret = -BCH_ERR_nomem;
			for (b = n ? n : b; !ret && start <= end; start++)
				b[nr++] = start;
		}
		if (*p == ',')
			p++;
		else if (*p)
			ret = -BCH_ERR_bad_argument;
	}
	ret = ret ?: bch_sb_journal_v2_set(sb, b, nr, err);
	free(b);
	return ret;
}

/* T:R:D.D.D entries, comma separated */
static int do_replicas(struct bch_sb_buf *sb, const char *arg, struct printbuf *err)
{
	u8 store[BCH_SB_MEMBERS_MAX][3 + BCH_SB_MEMBERS_MAX];
	const struct bch_replicas_entry_v1 *e[BCH_SB_MEMBERS_MAX];
	unsigned nr = 0;
	const char *p = arg;

	while (*p && nr < BCH_SB_MEMBERS_MAX) {
		struct bch_replicas_entry_v1 *r = (void *)store[nr];
		size_t len = strcspn(p, ":");
		int type = name_to_idx(bch_data_type_names, BCH_DATA_NR, p, len);
		u64 v;
		char *q;

		if (type < 0 || p[len] != ':' || parse_u64(p + len + 1, &v, &q) || *q != ':')
			return -BCH_ERR_bad_argument;
		r->data_type = type;
		r->nr_required = v;
		r->nr_devs = 0;
		do {
			if (parse_u64(q + 1, &v, &q))
				return -BCH_ERR_bad_argument;
			r->devs[r->nr_devs++] = v;
		} while (*q == '.' && r->nr_devs < BCH_SB_MEMBERS_MAX);
		e[nr++] = r;
		p = *q == ',' ? q + 1 : q;
		if (*q && *q != ',')
			return -BCH_ERR_bad_argument;
	}
	return bch_sb_replicas_set(sb, e, nr, err);
}

/* a:b:c numbers */
static int parse_triple(const char *arg, u64 *v, unsigned n)
{
	char *p = (char *)arg;

	for (unsigned i = 0; i < n; i++)
		if (parse_u64(i ? p + 1 : p, &v[i], &p) || *p != (i + 1 < n ? ':' : 0))
			return -BCH_ERR_bad_argument;
	return 0;
}

static int do_resize(struct bch_sb_buf *sb, const char *arg, struct printbuf *err)
{
	size_t len = strcspn(arg, ":");
	int type = name_to_idx(field_names, BCH_SB_FIELD_NR, arg, len);
	u64 u64s;
	char *p;

	if (type < 0 && parse_u64(arg, &u64s, &p) == 0 && p == arg + len)
		type = u64s;
	if (type < 0 || arg[len] != ':' || parse_u64(arg + len + 1, &u64s, &p) || *p)
		return -BCH_ERR_bad_argument;
	if (!bch_sb_field_resize(sb, type, u64s, err) && u64s)
		return -BCH_ERR_no_space;
	return 0;
}

static int do_blacklist(struct bch_sb_buf *sb, const char *arg, struct printbuf *err)
{
	struct bch_sb_field_journal_seq_blacklist *bl = bch_sb_field_get_t(sb->sb, journal_seq_blacklist);
	unsigned u64s = bl ? le32_to_cpu(bl->field.u64s) : 1;
	u64 v[2];

	if (parse_triple(arg, v, 2) || v[0] >= v[1])
		return -BCH_ERR_bad_argument;
	bl = bch_sb_field_resize_t(sb, journal_seq_blacklist, u64s + 2, err);
	if (!bl)
		return -BCH_ERR_no_space;
	bl->start[(u64s - 1) / 2].start = cpu_to_le64(v[0]);
	bl->start[(u64s - 1) / 2].end = cpu_to_le64(v[1]);
	return 0;
}

static int do_last_mount(struct bch_sb_buf *sb, const char *arg, struct printbuf *err)
{
	u64 t;
	char *p;

	if (parse_u64(arg, &t, &p) || *p)
		return -BCH_ERR_bad_argument;
	for (unsigned i = 0; i < sb->sb->nr_devices; i++) {
		struct bch_member *m = bch_sb_member_v2_mut(sb->sb, i);

		if (m)
			m->last_mount = cpu_to_le64(t);
	}
	return bch_sb_members_v1_sync(sb, err);
}

enum { O_INIT = 256, O_JOURNAL, O_DOWNGRADE, O_REPLICAS, O_FREESPACE, O_BITMAP, O_BITMAP_CLEAR,
       O_RESIZE, O_LAST_MOUNT, O_CLEAN, O_TIME, O_ENCODED_EXTENT_MAX, O_BLACKLIST };

static const struct option longopts[] = {
	{ "init",	no_argument,		NULL, O_INIT },
	{ "journal",	required_argument,	NULL, O_JOURNAL },
	{ "downgrade",	no_argument,		NULL, O_DOWNGRADE },
	{ "replicas",	required_argument,	NULL, O_REPLICAS },
	{ "freespace",	required_argument,	NULL, O_FREESPACE },
	{ "bitmap",	required_argument,	NULL, O_BITMAP },
	{ "bitmap-clear", required_argument,	NULL, O_BITMAP_CLEAR },
	{ "resize",	required_argument,	NULL, O_RESIZE },
	{ "blacklist",	required_argument,	NULL, O_BLACKLIST },
	{ "last-mount",	required_argument,	NULL, O_LAST_MOUNT },
	{ "clean",	no_argument,		NULL, O_CLEAN },
	{ "time",	required_argument,	NULL, O_TIME },
	{ "encoded-extent-max", required_argument, NULL, O_ENCODED_EXTENT_MAX },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int apply(struct bch_sb_buf *sb, int opt, const char *arg, u64 *time,
		 struct printbuf *err)
{
	u64 v[3];
	char *p;

	switch (opt) {
	case O_INIT:		return bch_sb_mark_initialized(sb, err);
	case O_JOURNAL:		return do_journal(sb, arg, err);
	case O_DOWNGRADE:	return bch_sb_downgrade_set(sb, err);
	case O_REPLICAS:	return do_replicas(sb, arg, err);
	case O_RESIZE:		return do_resize(sb, arg, err);
	case O_BLACKLIST:	return do_blacklist(sb, arg, err);
	case O_LAST_MOUNT:	return do_last_mount(sb, arg, err);
	case O_CLEAN:
		set_sb_clean(sb->sb, 1);
		return 0;
	case O_FREESPACE:
		if (parse_u64(arg, v, &p) || *p)
			return -BCH_ERR_bad_argument;
		bch_sb_member_set_freespace_initialized(sb->sb, v[0], true);
		return 0;
	case O_BITMAP:
		if (parse_triple(arg, v, 3))
			return -BCH_ERR_bad_argument;
		bch_sb_member_btree_bitmap_mark(sb->sb, v[0], v[1], v[2]);
		return 0;
	case O_BITMAP_CLEAR: {
		struct bch_member *m;

		if (parse_u64(arg, v, &p) || *p ||
		    !(m = bch_sb_member_v2_mut_min(sb->sb, v[0], offsetof(struct bch_member, btree_allocated_bitmap) + 8)))
			return -BCH_ERR_bad_argument;
		m->btree_allocated_bitmap = 0;
		return bch_sb_members_v1_sync(sb, err);
	}
	case O_TIME:
		return parse_u64(arg, time, &p) || *p ? -BCH_ERR_bad_argument : 0;
	case O_ENCODED_EXTENT_MAX:
		if (parse_u64(arg, v, &p) || *p || v[0] > 31)
			return -BCH_ERR_bad_argument;
		set_sb_encoded_extent_max_bits(sb->sb, v[0]);
		return 0;
	}
	return -BCH_ERR_bad_argument;
}

int main(int argc, char **argv)
{
	struct bch_open_opts opts = { 0 };
	struct printbuf err = PRINTBUF;
	struct bch_dev *ca;
	u64 time = 0;
	int opt, ret;

	/* first pass: only check the options and find the device */
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		if (opt == 'h' || opt == '?') {
			fputs(usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	if (optind + 1 != argc) {
		fputs(usage, stderr);
		return 2;
	}
	ret = bch_dev_open(argv[optind], &opts, &ca, &err);
	if (ret)
		return die(argv[optind], ret, &err);

	optind = 1;
	while (!ret && (opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		ret = apply(&ca->sb, opt, optarg, &time, &err);
		if (ret)
			die(argv[optind - 1], ret, &err);
	}
	if (!ret) {
		bch_sb_next_seq(ca->sb.sb, time, ~0ULL);
		ret = bch_sb_write(ca, ca->sb.sb, &err);
		if (ret)
			die("writing the superblock", ret, &err);
	}
	bch_dev_close(ca);
	pb_exit(&err);
	return ret ? 1 : 0;
}

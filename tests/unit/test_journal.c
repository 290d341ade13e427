/* Unit tests for the journal read path: scanning, validation, replay range, keys, roots, text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bkey/bkey.h"
#include "checksum/checksum.h"
#include "journal/journal.h"
#include "journal/journal_read.h"
#include "journal/jset.h"

#define TEST_JSET_MAGIC		0x1234567887654321ULL
#define BLOCK_SECTORS		8
#define BUCKET_SECTORS		64

/* ---- building jsets by hand ---- */

static struct jset *jset_new(u64 seq, u64 last_seq, bool flush)
{
	struct jset *j = calloc(1, 64 << 10);

	j->magic = cpu_to_le64(TEST_JSET_MAGIC);
	j->seq = cpu_to_le64(seq);
	j->version = cpu_to_le32(bcachefs_metadata_version_current);
	j->last_seq = cpu_to_le64(flush ? last_seq : 0);
	set_jset_csum_type(j, BCH_CSUM_crc32c_nonzero);
	set_jset_no_flush(j, !flush);
	return j;
}

static struct jset_entry *jset_add(struct jset *j, unsigned type, unsigned btree,
				   unsigned level, const void *payload, unsigned u64s)
{
	struct jset_entry *e = jset_entries_end(j);

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->btree_id = btree;
	e->level = level;
	e->u64s = cpu_to_le16(u64s);
	if (payload)
		memcpy(e->_data, payload, u64s * 8);
	else
		memset(e->_data, 0, u64s * 8);
	j->u64s = cpu_to_le32(le32_to_cpu(j->u64s) + 1 + u64s);
	return e;
}

/* An unpacked key with val_u64s zero words of value. */
static struct bkey_i *key_make(u64 *buf, unsigned type, struct bpos p, unsigned val_u64s)
{
	struct bkey_i *k = (void *)buf;

	memset(buf, 0, (BKEY_U64s + val_u64s) * 8);
	k->k.u64s = BKEY_U64s + val_u64s;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = type;
	k->k.p = p;
	return k;
}

/* A btree_keys entry holding one key per position given. */
static struct jset_entry *jset_add_keys(struct jset *j, unsigned btree, unsigned type,
					const struct bpos *pos, unsigned nr)
{
	u64 buf[64 * BKEY_U64s];

	for (unsigned i = 0; i < nr; i++)
		key_make(buf + i * BKEY_U64s, type, pos[i], 0);
	return jset_add(j, BCH_JSET_ENTRY_btree_keys, btree, 0, buf, nr * BKEY_U64s);
}

static void jset_seal(struct jset *j)
{
	j->csum = bch_checksum(BCH_CSUM_crc32c_nonzero, jset_nonce(j), &j->magic,
			       jset_bytes(j) - offsetof(struct jset, magic));
}

static struct bch_fs *fs_new(void)
{
	struct bch_fs *c = calloc(1, sizeof(*c));

	c->sb.block_size = BLOCK_SECTORS;
	c->sb.jset_magic = TEST_JSET_MAGIC;
	c->sb.version = bcachefs_metadata_version_current;
	c->sb.members[0].exists = true;
	return c;
}

static void fs_free(struct bch_fs *c)
{
	bch_journal_exit(&c->journal);
	pb_exit(&c->log);
	bch_typed_log_exit(&c->log_types);
	free(c->disk_sb.sb);
	free(c);
}

/* A superblock holding only a journal_seq_blacklist field of [start, end) ranges. */
static void fs_set_sb_blacklist(struct bch_fs *c, const u64 (*ranges)[2], unsigned nr)
{
	size_t field_bytes = sizeof(struct bch_sb_field_journal_seq_blacklist) + nr * 16;
	struct bch_sb *sb = calloc(1, sizeof(*sb) + field_bytes);
	struct bch_sb_field_journal_seq_blacklist *bl = (void *)sb->fields;

	sb->u64s = cpu_to_le32(field_bytes / 8);
	bl->field.u64s = cpu_to_le32(field_bytes / 8);
	bl->field.type = cpu_to_le32(BCH_SB_FIELD_journal_seq_blacklist);
	for (unsigned i = 0; i < nr; i++) {
		bl->start[i].start = cpu_to_le64(ranges[i][0]);
		bl->start[i].end = cpu_to_le64(ranges[i][1]);
	}
	c->disk_sb.sb = sb;
}

/* Adds j as if read from dev 0, bucket 0 at sector seq*8; j is freed. */
static void add_read(struct bch_fs *c, struct jset *j, bool csum_good)
{
	struct journal_ptr ptr = {
		.sector = le64_to_cpu(j->seq) * BLOCK_SECTORS, .csum_good = csum_good,
	};

	ck_assert_int_eq(bch_journal_entry_add(c, j, &ptr), 0);
	free(j);
}

static struct journal_replay *entry_by_seq(struct bch_fs *c, u64 seq)
{
	bool found;
	size_t idx = bch_journal_entry_find(&c->journal, seq, &found);

	return found ? c->journal.entries[idx] : NULL;
}

/* A device with one journal bucket (bucket 10), for scanning a bucket image. */
struct fake_dev {
	struct bch_dev ca;
	u64 buckets[1];
	u8 data[BUCKET_SECTORS << 9];
};

static void fake_dev_init(struct fake_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->buckets[0] = 10;
	d->ca.journal_buckets = d->buckets;
	d->ca.nr_journal_buckets = 1;
	d->ca.mi.bucket_size = BUCKET_SECTORS;
}

/* Copies j into the bucket at sector, as much of it as fits. */
static void place(struct fake_dev *d, unsigned sector, const struct jset *j)
{
	size_t room = sizeof(d->data) - sector * 512;
	size_t bytes = jset_bytes(j) < room ? jset_bytes(j) : room;

	memcpy(d->data + sector * 512, j, bytes);
}

static int scan(struct bch_fs *c, struct fake_dev *d)
{
	struct printbuf err = PRINTBUF;
	size_t read_buf = 4096;
	int ret = bch_journal_scan_bucket(c, &d->ca, 0, d->data, &read_buf, &err);

	pb_exit(&err);
	return ret;
}

/* ---- scanning a bucket ---- */

START_TEST(test_scan_finds_entries_in_order)
{
	struct bch_fs *c = fs_new();
	struct fake_dev *d = malloc(sizeof(*d));

	fake_dev_init(d);
	for (unsigned seq = 1; seq <= 3; seq++) {
		struct jset *j = jset_new(seq, 1, true);

		jset_add(j, BCH_JSET_ENTRY_log, 0, 0, "abcdefgh", 1);
		jset_seal(j);
		place(d, (seq - 1) * BLOCK_SECTORS, j);
		free(j);
	}
	ck_assert_int_eq(scan(c, d), 0);
	ck_assert_uint_eq(c->journal.nr_entries, 3);

	struct journal_replay *i = entry_by_seq(c, 2);

	ck_assert_ptr_nonnull(i);
	ck_assert(i->csum_good);
	ck_assert_uint_eq(i->ptrs[0].bucket_offset, BLOCK_SECTORS);
	ck_assert_uint_eq(i->ptrs[0].sector, 10 * BUCKET_SECTORS + BLOCK_SECTORS);
	free(d);
	fs_free(c);
}
END_TEST

START_TEST(test_scan_rejects_bad_magic)
{
	struct bch_fs *c = fs_new();
	struct fake_dev *d = malloc(sizeof(*d));
	struct jset *j = jset_new(1, 1, true);

	fake_dev_init(d);
	j->magic = cpu_to_le64(TEST_JSET_MAGIC ^ 1);
	jset_seal(j);
	place(d, 0, j);
	free(j);
	ck_assert_int_eq(scan(c, d), 0);
	ck_assert_uint_eq(c->journal.nr_entries, 0);
	free(d);
	fs_free(c);
}
END_TEST

/* A bad checksum is kept (marked) and the scan goes on block by block past garbage. */
START_TEST(test_scan_bad_csum_continues)
{
	struct bch_fs *c = fs_new();
	struct fake_dev *d = malloc(sizeof(*d));
	struct jset *j1 = jset_new(1, 1, true), *j2 = jset_new(2, 1, true);

	fake_dev_init(d);
	jset_seal(j1);
	j1->csum.lo ^= cpu_to_le64(1);
	place(d, 0, j1);
	/* one block of garbage, then a good entry */
	memset(d->data + BLOCK_SECTORS * 512, 0xa5, BLOCK_SECTORS * 512);
	jset_seal(j2);
	place(d, 2 * BLOCK_SECTORS, j2);

	ck_assert_int_eq(scan(c, d), 0);
	ck_assert_uint_eq(c->journal.nr_entries, 2);
	ck_assert(!entry_by_seq(c, 1)->csum_good);
	ck_assert(entry_by_seq(c, 2)->csum_good);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&c->log), "checksum error"));
	free(j1);
	free(j2);
	free(d);
	fs_free(c);
}
END_TEST

/* Without a bad checksum first, garbage ends the bucket; so does seq going backwards. */
START_TEST(test_scan_stops)
{
	struct bch_fs *c = fs_new();
	struct fake_dev *d = malloc(sizeof(*d));
	struct jset *j5 = jset_new(5, 5, true), *j3 = jset_new(3, 3, true);

	fake_dev_init(d);
	jset_seal(j5);
	jset_seal(j3);
	place(d, 0, j5);
	place(d, BLOCK_SECTORS, j3);		/* older: left from a previous lap */
	place(d, 3 * BLOCK_SECTORS, j5);	/* after garbage: never reached */
	memset(d->data + 2 * BLOCK_SECTORS * 512, 0xa5, BLOCK_SECTORS * 512);

	ck_assert_int_eq(scan(c, d), 0);
	ck_assert_uint_eq(c->journal.nr_entries, 1);
	ck_assert_uint_eq(entry_by_seq(c, 5)->nr_ptrs, 1);
	free(j5);
	free(j3);
	free(d);
	fs_free(c);
}
END_TEST

/* A jset claiming more than the bucket holds is cut to fit (and then fails its checksum). */
START_TEST(test_scan_too_big)
{
	struct bch_fs *c = fs_new();
	struct fake_dev *d = malloc(sizeof(*d));
	struct jset *j = jset_new(1, 1, true);

	fake_dev_init(d);
	jset_seal(j);
	j->u64s = cpu_to_le32(BUCKET_SECTORS * 64);	/* a whole bucket of words */
	place(d, 0, j);
	ck_assert_int_eq(scan(c, d), 0);
	ck_assert_uint_eq(c->journal.nr_entries, 1);
	ck_assert_uint_eq(jset_bytes(entry_by_seq(c, 1)->j), BUCKET_SECTORS << 9);
	ck_assert(!entry_by_seq(c, 1)->csum_good);
	free(j);
	free(d);
	fs_free(c);
}
END_TEST

/* ---- validation ---- */

static void check_text(const struct jset_entry *e, const char *want);

static int validate(struct bch_fs *c, struct jset *j)
{
	struct jset_validate_ctx ctx;

	bch_jset_validate_ctx_init(&ctx, c, &c->log, j, NULL);
	ctx.types = &c->log_types;
	return bch_jset_validate(&ctx);
}

START_TEST(test_validate_entry_past_end)
{
	struct bch_fs *c = fs_new();
	struct jset *j = jset_new(1, 1, true);
	struct jset_entry *e;

	jset_add(j, BCH_JSET_ENTRY_log, 0, 0, "abcdefgh", 1);
	e = jset_add(j, BCH_JSET_ENTRY_log, 0, 0, "abcdefgh", 1);
	e->u64s = cpu_to_le16(5);		/* 4 words past the jset */

	ck_assert_int_eq(validate(c, j), 0);
	ck_assert_uint_eq(le32_to_cpu(j->u64s), 2);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&c->log), "past the end of the jset"));
	free(j);
	fs_free(c);
}
END_TEST

START_TEST(test_validate_root_two_keys)
{
	struct bch_fs *c = fs_new();
	struct jset *j = jset_new(1, 1, true);
	u64 keys[2 * BKEY_U64s];
	struct jset_entry *e, *clock;

	key_make(keys, KEY_TYPE_deleted, POS(1, 1), 0);
	key_make(keys + BKEY_U64s, KEY_TYPE_deleted, POS(1, 2), 0);
	e = jset_add(j, BCH_JSET_ENTRY_btree_root, BTREE_ID_inodes, 0, keys, 2 * BKEY_U64s);
	clock = jset_add(j, BCH_JSET_ENTRY_clock, 0, 0, (u64[2]) { 1, 99 }, 2);

	ck_assert_int_eq(validate(c, j), 0);
	/* the header stays (a root was meant to be there), the payload becomes empty entries */
	ck_assert_uint_eq(e->type, BCH_JSET_ENTRY_btree_root);
	ck_assert_uint_eq(e->u64s, 0);
	for (u64 *w = e->_data; w < (u64 *)clock; w++)
		ck_assert_uint_eq(*w, 0);
	ck_assert_uint_eq(clock->type, BCH_JSET_ENTRY_clock);
	ck_assert_uint_eq(le32_to_cpu(j->u64s), 1 + 2 * BKEY_U64s + 3);
	free(j);
	fs_free(c);
}
END_TEST

START_TEST(test_validate_bad_keys_and_entries)
{
	struct bch_fs *c = fs_new();
	struct jset *j = jset_new(1, 1, true);
	u64 keys[3 * BKEY_U64s];
	struct jset_entry *e, *clock, *bl;

	key_make(keys, KEY_TYPE_deleted, SPOS(1, 1, ~0U), 0);
	key_make(keys + BKEY_U64s, KEY_TYPE_deleted, SPOS(1, 2, ~0U), 0);
	((struct bkey_i *)(keys + BKEY_U64s))->k.format_whiteout = KEY_FORMAT_LOCAL_BTREE;
	key_make(keys + 2 * BKEY_U64s, KEY_TYPE_deleted, SPOS(1, 3, ~0U), 0);
	e = jset_add(j, BCH_JSET_ENTRY_btree_keys, BTREE_ID_xattrs, 0, keys, 3 * BKEY_U64s);
	clock = jset_add(j, BCH_JSET_ENTRY_clock, 0, 0, (u64[2]) { 2, 99 }, 2);	/* rw 2 */
	bl = jset_add(j, BCH_JSET_ENTRY_blacklist_v2, 0, 0, (u64[2]) { 9, 3 }, 2);

	ck_assert_int_eq(validate(c, j), 0);
	/* each repair's message is typed, and only those lines */
	ck_assert_uint_eq(c->log_types.nr, 3);
	ck_assert_uint_eq(c->log_types.lines[0].id, BCH_FSERR_journal_entry_bkey_bad_format);
	ck_assert_uint_eq(c->log_types.lines[1].id, BCH_FSERR_journal_entry_clock_bad_rw);
	ck_assert_uint_eq(c->log_types.lines[2].id, BCH_FSERR_journal_entry_blacklist_v2_start_past_end);
	pb_str(&c->log, "untyped\n");

	struct printbuf rest = PRINTBUF;

	bch_typed_log_rest(&rest, &c->log, &c->log_types);
	ck_assert_str_eq(pb_cstr(&rest), "untyped\n");
	pb_exit(&rest);
	/* the packed key is cut out, the others close up */
	ck_assert_uint_eq(le16_to_cpu(e->u64s), 2 * BKEY_U64s);
	ck_assert(bpos_eq(((struct bkey_i *)e->_data)[0].k.p, SPOS(1, 1, ~0U)));
	ck_assert(bpos_eq(bkey_i_next((struct bkey_i *)e->_data)->k.p, SPOS(1, 3, ~0U)));
	/* bad entries become runs of empty entries */
	ck_assert_uint_eq(clock->type, 0);
	ck_assert_uint_eq(clock->u64s, 0);
	ck_assert_uint_eq(bl->type, 0);
	free(j);
	fs_free(c);
}
END_TEST

/* The data_usage payload is packed: 8 bytes of value, then 3 + nr_devs of replicas entry. */
START_TEST(test_validate_data_usage)
{
	struct bch_fs *c = fs_new();
	struct jset *j = jset_new(1, 1, true);
	u8 payload[16] = { 5, 0, 0, 0, 0, 0, 0, 0, BCH_DATA_journal, 1, 1, 0 };
	struct jset_entry *good, *bad;

	good = jset_add(j, BCH_JSET_ENTRY_data_usage, 0, 0, payload, 2);
	payload[11] = 7;	/* a device that is not a member */
	bad = jset_add(j, BCH_JSET_ENTRY_data_usage, 0, 0, payload, 2);

	ck_assert_int_eq(validate(c, j), 0);
	ck_assert_uint_eq(good->type, BCH_JSET_ENTRY_data_usage);
	ck_assert_uint_eq(bad->type, 0);
	check_text(good, "data_usage: journal: 1/1 [0]=5");
	free(j);
	fs_free(c);
}
END_TEST

START_TEST(test_validate_key_u64s_zero)
{
	struct bch_fs *c = fs_new();
	struct jset *j = jset_new(1, 1, true);
	u64 keys[2 * BKEY_U64s];
	struct jset_entry *e;

	key_make(keys, KEY_TYPE_deleted, SPOS(1, 1, ~0U), 0);
	memset(keys + BKEY_U64s, 0, BKEY_U64s * 8);
	e = jset_add(j, BCH_JSET_ENTRY_btree_keys, BTREE_ID_xattrs, 0, keys, 2 * BKEY_U64s);

	ck_assert_int_eq(validate(c, j), 0);
	ck_assert_uint_eq(le16_to_cpu(e->u64s), BKEY_U64s);
	fs_free(c);
	free(j);
}
END_TEST

/* ---- replay range ---- */

/*
 * 1 flush (last 1), 2 noflush, 3 flush (last 2), 4 noflush, 5 flush torn
 * (last 2), 6 noflush: the newest good flush entry is 3.
 */
static struct bch_fs *range_fixture(void)
{
	struct bch_fs *c = fs_new();
	const struct { u64 seq, last; bool flush, good; } e[] = {
		{ 1, 1, true, true }, { 2, 0, false, true }, { 3, 2, true, true },
		{ 4, 0, false, true }, { 5, 2, true, false }, { 6, 0, false, true },
	};

	for (unsigned n = 0; n < 6; n++)
		add_read(c, jset_new(e[n].seq, e[n].last, e[n].flush), e[n].good);
	return c;
}

START_TEST(test_range_newest_flush)
{
	struct bch_fs *c = range_fixture();

	bch_journal_choose_range(c);
	ck_assert_uint_eq(c->journal.last_seq, 2);
	ck_assert_uint_eq(c->journal.blacklist_seq, 4);
	ck_assert_uint_eq(c->journal.max_seq, 6);
	ck_assert(entry_by_seq(c, 1)->ignore_not_dirty);
	ck_assert(!journal_replay_ignore(entry_by_seq(c, 2)));
	ck_assert(!journal_replay_ignore(entry_by_seq(c, 3)));
	ck_assert(entry_by_seq(c, 4)->ignore_blacklisted);
	ck_assert(entry_by_seq(c, 5)->ignore_blacklisted);
	ck_assert(entry_by_seq(c, 6)->ignore_blacklisted);
	fs_free(c);
}
END_TEST

/*
 * As the reference reads: the newest last_seq any flush entry names, a
 * torn one's too, drops the entries before it; the older flush entry that
 * is then the newest good one starts its range at an entry dropped: a gap.
 */
START_TEST(test_range_torn_last_seq_drops)
{
	struct bch_fs *c = fs_new();

	add_read(c, jset_new(1, 1, true), true);
	add_read(c, jset_new(2, 1, true), true);
	add_read(c, jset_new(3, 3, true), false);
	bch_journal_choose_range(c);
	ck_assert(entry_by_seq(c, 1)->ignore_not_dirty);
	ck_assert(entry_by_seq(c, 2)->ignore_not_dirty);
	ck_assert(entry_by_seq(c, 3)->ignore_blacklisted);
	ck_assert_uint_eq(c->journal.last_seq, 0);
	ck_assert(bch_journal_use_newest_only(c));
	ck_assert_uint_eq(c->log_types.nr, 1);
	ck_assert_uint_eq(c->log_types.lines[0].id,
			  BCH_FSERR_dirty_but_no_journal_entries_post_drop_nonflushes);
	fs_free(c);
}
END_TEST

/* Only one torn flush write is forgiven. */
START_TEST(test_range_two_torn)
{
	struct bch_fs *c = fs_new();

	add_read(c, jset_new(1, 1, true), true);
	add_read(c, jset_new(2, 1, true), false);
	add_read(c, jset_new(3, 2, true), false);
	bch_journal_choose_range(c);
	ck_assert_uint_eq(c->journal.last_seq, 1);
	ck_assert_uint_eq(c->journal.blacklist_seq, 3);
	ck_assert(!journal_replay_ignore(entry_by_seq(c, 2)));
	ck_assert(entry_by_seq(c, 3)->ignore_blacklisted);
	fs_free(c);
}
END_TEST

START_TEST(test_range_gap_and_sb_blacklist)
{
	struct bch_fs *c = fs_new();
	const u64 bl[][2] = { { 3, 5 } };

	fs_set_sb_blacklist(c, bl, 1);
	add_read(c, jset_new(1, 1, true), true);
	add_read(c, jset_new(3, 1, true), true);	/* blacklisted by the superblock */
	add_read(c, jset_new(7, 1, true), true);	/* 2 and 5-6 missing, 3-4 blacklisted */
	bch_journal_choose_range(c);

	ck_assert_uint_eq(c->journal.last_seq, 1);
	ck_assert(entry_by_seq(c, 3)->ignore_blacklisted);
	ck_assert(!journal_replay_ignore(entry_by_seq(c, 7)));
	ck_assert_ptr_nonnull(strstr(pb_cstr(&c->log), "journal entries 2-2 missing"));
	ck_assert_ptr_nonnull(strstr(pb_cstr(&c->log), "journal entries 5-6 missing"));
	ck_assert(bch_journal_seq_blacklisted(c, 4));
	ck_assert(!bch_journal_seq_blacklisted(c, 5));
	fs_free(c);
}
END_TEST

START_TEST(test_range_only_noflush)
{
	struct bch_fs *c = fs_new();

	add_read(c, jset_new(4, 0, false), true);
	add_read(c, jset_new(5, 0, false), true);
	bch_journal_choose_range(c);
	ck_assert_uint_eq(c->journal.last_seq, 0);
	ck_assert(entry_by_seq(c, 4)->ignore_blacklisted);
	ck_assert(bch_journal_use_newest_only(c));
	fs_free(c);
}
END_TEST

/* Two copies: locations kept in order found, a good copy replaces a bad one. */
START_TEST(test_entry_copies)
{
	struct bch_fs *c = fs_new();
	struct jset *a = jset_new(1, 1, true), *b = jset_new(1, 1, true);
	struct journal_ptr p0 = { .dev = 0, .sector = 100 };
	struct journal_ptr p1 = { .dev = 1, .sector = 200, .csum_good = true };

	jset_add(b, BCH_JSET_ENTRY_log, 0, 0, "newer...", 1);
	ck_assert_int_eq(bch_journal_entry_add(c, a, &p0), 0);
	ck_assert_int_eq(bch_journal_entry_add(c, b, &p1), 0);
	ck_assert_uint_eq(c->journal.nr_entries, 1);

	struct journal_replay *i = entry_by_seq(c, 1);

	ck_assert_uint_eq(i->nr_ptrs, 2);
	ck_assert_uint_eq(i->ptrs[0].dev, 0);
	ck_assert_uint_eq(i->ptrs[1].dev, 1);
	ck_assert(i->csum_good);
	ck_assert_uint_eq(le32_to_cpu(i->j->u64s), 2);
	free(a);
	free(b);
	fs_free(c);
}
END_TEST

/* ---- keys ---- */

START_TEST(test_keys_sort_dedup)
{
	struct bch_fs *c = fs_new();
	struct jset *j2 = jset_new(2, 0, false), *j3 = jset_new(3, 2, true);
	const struct bpos p2[] = { POS(5, 1), POS(1, 1), POS(5, 1) };
	const struct bpos p3[] = { POS(1, 1), POS(2, 0) };
	const struct bpos acct[] = { POS(0, 7) };

	jset_add_keys(j2, BTREE_ID_inodes, KEY_TYPE_deleted, p2, 3);
	jset_add_keys(j2, BTREE_ID_accounting, KEY_TYPE_accounting, acct, 1);
	jset_add_keys(j2, BTREE_ID_extents, KEY_TYPE_deleted, p2, 1);
	jset_add_keys(j3, BTREE_ID_inodes, KEY_TYPE_deleted, p3, 2);
	jset_add_keys(j3, BTREE_ID_accounting, KEY_TYPE_accounting, acct, 1);
	jset_add(j3, BCH_JSET_ENTRY_overwrite, BTREE_ID_dirents, 0,
		 key_make((u64[BKEY_U64s]) { 0 }, KEY_TYPE_deleted, POS(9, 9), 0), BKEY_U64s);
	add_read(c, jset_new(1, 1, true), true);
	add_read(c, j2, true);
	add_read(c, j3, true);
	bch_journal_choose_range(c);
	ck_assert_int_eq(bch_journal_keys_build(c), 0);

	const struct journal_keys *keys = &c->journal.keys;
	/* extents 5:1; inodes 1:1 (seq 3), 2:0, 5:1 (second of seq 2); accounting x2 */
	const struct { unsigned btree; struct bpos p; u64 seq; } want[] = {
		{ BTREE_ID_extents, POS(5, 1), 2 },
		{ BTREE_ID_inodes, POS(1, 1), 3 },
		{ BTREE_ID_inodes, POS(2, 0), 3 },
		{ BTREE_ID_inodes, POS(5, 1), 2 },
		{ BTREE_ID_accounting, POS(0, 7), 2 },
		{ BTREE_ID_accounting, POS(0, 7), 3 },
	};

	ck_assert_uint_eq(keys->nr, 6);
	for (unsigned n = 0; n < 6; n++) {
		ck_assert_uint_eq(keys->data[n].btree_id, want[n].btree);
		ck_assert(bpos_eq(keys->data[n].k->k.p, want[n].p));
		ck_assert_uint_eq(keys->data[n].journal_seq, want[n].seq);
	}
	/* the later of the two 5:1 keys in seq 2: the third key of its entry */
	ck_assert_uint_eq(keys->data[3].journal_offset, 1 + 2 * BKEY_U64s);

	ck_assert_uint_eq(bch_journal_keys_search(keys, BTREE_ID_inodes, 0, POS(1, 5)), 2);
	ck_assert_uint_eq(bch_journal_keys_search(keys, BTREE_ID_inodes, 0, POS_MIN), 1);
	ck_assert_uint_eq(bch_journal_keys_search(keys, BTREE_ID_inodes, 1, POS_MIN), 4);
	ck_assert_uint_eq(bch_journal_keys_search(keys, BTREE_ID_NR, 0, POS_MIN), 6);
	fs_free(c);
}
END_TEST

START_TEST(test_keys_clean_none)
{
	struct bch_fs *c = fs_new();
	struct jset *j = jset_new(1, 1, true);
	const struct bpos p[] = { POS(1, 1) };

	jset_add_keys(j, BTREE_ID_inodes, KEY_TYPE_deleted, p, 1);
	add_read(c, j, true);
	bch_journal_choose_range(c);
	entry_by_seq(c, 1)->ignore_not_dirty = true;	/* nothing in range */
	c->sb.clean = true;
	ck_assert_int_eq(bch_journal_keys_build(c), 0);
	ck_assert_uint_eq(c->journal.keys.nr, 0);
	/* unclean with nothing in range: the newest entry alone */
	c->sb.clean = false;
	ck_assert_int_eq(bch_journal_keys_build(c), 0);
	ck_assert_uint_eq(c->journal.keys.nr, 1);
	fs_free(c);
}
END_TEST

/* ---- roots ---- */

START_TEST(test_roots_later_override)
{
	struct bch_fs *c = fs_new();
	struct jset *j1 = jset_new(1, 1, true), *j2 = jset_new(2, 1, true);
	u64 k[BKEY_U64s + 1];

	key_make(k, KEY_TYPE_btree_ptr_v2, POS(1, 1), 1);
	jset_add(j1, BCH_JSET_ENTRY_btree_root, BTREE_ID_inodes, 0, k, BKEY_U64s + 1);
	jset_add(j1, BCH_JSET_ENTRY_btree_root, BTREE_ID_dirents, 0, k, BKEY_U64s + 1);
	key_make(k, KEY_TYPE_btree_ptr_v2, POS(2, 2), 1);
	jset_add(j2, BCH_JSET_ENTRY_btree_root, BTREE_ID_inodes, 1, k, BKEY_U64s + 1);
	jset_add(j2, BCH_JSET_ENTRY_btree_root, BTREE_ID_dirents, 0, NULL, 0);
	add_read(c, j1, true);
	add_read(c, j2, true);
	bch_journal_choose_range(c);
	c->journal.read_done = true;

	ck_assert_int_eq(bch_journal_read_roots(c, &c->log), 0);
	ck_assert(c->roots[BTREE_ID_inodes].alive);
	ck_assert(!c->roots[BTREE_ID_inodes].error);
	ck_assert_uint_eq(c->roots[BTREE_ID_inodes].level, 1);
	ck_assert(bpos_eq(c->roots[BTREE_ID_inodes].key.k.p, POS(2, 2)));
	ck_assert(c->roots[BTREE_ID_dirents].alive);
	ck_assert(c->roots[BTREE_ID_dirents].error);
	ck_assert(!c->roots[BTREE_ID_extents].alive);
	/* unclean: the seqs past the last flush entry up to 8 past the newest are blacklisted */
	ck_assert(!bch_journal_seq_blacklisted(c, 2));
	ck_assert(bch_journal_seq_blacklisted(c, 3));
	ck_assert(bch_journal_seq_blacklisted(c, 10));
	ck_assert(!bch_journal_seq_blacklisted(c, 11));
	fs_free(c);
}
END_TEST

/* ---- text ---- */

static void check_text(const struct jset_entry *e, const char *want)
{
	struct printbuf out = PRINTBUF;

	bch_jset_entry_to_text(&out, NULL, e);
	ck_assert_str_eq(pb_cstr(&out), want);
	pb_exit(&out);
}

START_TEST(test_entry_text)
{
	struct jset *j = jset_new(1, 1, true);
	struct jset_entry *e;

	check_text(jset_add(j, BCH_JSET_ENTRY_clock, 0, 0, (u64[2]) { 1, 2304 }, 2),
		   "clock: write=2304");
	check_text(jset_add(j, BCH_JSET_ENTRY_usage, BCH_FS_USAGE_key_version, 0, (u64[1]) { 7 }, 1),
		   "usage: type=key_version v=7");
	check_text(jset_add(j, BCH_JSET_ENTRY_usage, 9, 0, (u64[1]) { 7 }, 1),
		   "usage: type=(unknown fs_usage_type 9) v=7");
	check_text(jset_add(j, BCH_JSET_ENTRY_blacklist_v2, 0, 0, (u64[2]) { 3, 9 }, 2),
		   "blacklist_v2: start=3 end=9");
	check_text(jset_add(j, BCH_JSET_ENTRY_log, 0, 0, "bch2_fs_initialize\0\0\0\0\0", 3),
		   "log: bch2_fs_initialize");
	check_text(jset_add(j, BCH_JSET_ENTRY_btree_keys, 0, 0, NULL, 0), "btree_keys: ");
	check_text(jset_add(j, BCH_JSET_ENTRY_prio_ptrs, 0, 0, NULL, 0), "prio_ptrs: ");
	e = jset_add(j, 0, 0, 0, NULL, 0);
	e->type = 200;
	check_text(e, "(unknown jset_entry_type 200)");
	/* local time, as ctime(3) */
	setenv("TZ", "UTC", 1);
	tzset();
	check_text(jset_add(j, BCH_JSET_ENTRY_datetime, 0, 0, (u64[1]) { 86400 * 365 }, 1),
		   "datetime: Fri Jan  1 00:00:00 1971");
	/* the indent is also printed where it is added, as the reference does */
	check_text(jset_add(j, BCH_JSET_ENTRY_dev_usage, 0, 0,
			    (u64[9]) { 3, 0, 0, 1, 2, 3, 0, 0, 0 }, 9),
		   "dev_usage: dev=3  \n"
		   "  free: buckets=1 sectors=2 fragmented=3\n"
		   "  sb: buckets=0 sectors=0 fragmented=0");
	/* too short: fields past the entry read as zero */
	check_text(jset_add(j, BCH_JSET_ENTRY_clock, 0, 0, NULL, 0), "clock: read=0");
	free(j);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_scan_finds_entries_in_order);
	tcase_add_test(tc, test_scan_rejects_bad_magic);
	tcase_add_test(tc, test_scan_bad_csum_continues);
	tcase_add_test(tc, test_scan_stops);
	tcase_add_test(tc, test_scan_too_big);
	tcase_add_test(tc, test_validate_entry_past_end);
	tcase_add_test(tc, test_validate_root_two_keys);
	tcase_add_test(tc, test_validate_bad_keys_and_entries);
	tcase_add_test(tc, test_validate_data_usage);
	tcase_add_test(tc, test_validate_key_u64s_zero);
	tcase_add_test(tc, test_range_newest_flush);
	tcase_add_test(tc, test_range_two_torn);
	tcase_add_test(tc, test_range_torn_last_seq_drops);
	tcase_add_test(tc, test_range_gap_and_sb_blacklist);
	tcase_add_test(tc, test_range_only_noflush);
	tcase_add_test(tc, test_entry_copies);
	tcase_add_test(tc, test_keys_sort_dedup);
	tcase_add_test(tc, test_keys_clean_none);
	tcase_add_test(tc, test_roots_later_override);
	tcase_add_test(tc, test_entry_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(journal_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests for the journal write side: jsets built, written to a file device, read back by our reader. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bkey/bkey.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "journal/journal.h"
#include "journal/journal_read.h"
#include "journal/journal_write.h"
#include "journal/jset.h"
#include "sb/sb.h"
#include "util/errcode.h"

#define TEST_JSET_MAGIC		0x1234567887654321ULL
#define BLOCK_SECTORS		8
#define BUCKET_SECTORS		64		/* 32 KiB */
#define DEV_BUCKETS		64
#define NR_JBUCKETS		8
#define ROOT_BUCKET		40		/* where the roots' nodes are said to be */
#define NOW			1700000000ULL

/* Journal buckets in a ring order that is not the bucket order. */
static const u64 ring[NR_JBUCKETS] = { 20, 13, 21, 14, 22, 15, 23, 16 };

/* ---- a filesystem of file-backed devices, built by hand ---- */

static struct bch_sb *sb_make(unsigned nr_devs, unsigned replicas)
{
	size_t mi_bytes = sizeof(struct bch_sb_field_members_v2) + nr_devs * 144;
	size_t clean_bytes = 8 * BCH_SB_CLEAN_U64s;
	struct bch_sb *sb = calloc(1, sizeof(*sb) + mi_bytes + clean_bytes);
	struct bch_sb_field_members_v2 *mi = (void *)sb->fields;
	struct bch_sb_field *clean = (void *)((u8 *)mi + mi_bytes);

	ck_assert_uint_eq(sizeof(struct bch_member), 144);
	sb->u64s = cpu_to_le32((mi_bytes + clean_bytes) / 8);
	sb->nr_devices = nr_devs;
	mi->field.u64s = cpu_to_le32(mi_bytes / 8);
	mi->field.type = cpu_to_le32(BCH_SB_FIELD_members_v2);
	mi->member_bytes = cpu_to_le16(144);
	for (unsigned d = 0; d < nr_devs; d++) {
		struct bch_member *m = (void *)(mi->members + d * 144);

		m->uuid[0] = d + 1;
		m->nbuckets = cpu_to_le64(DEV_BUCKETS);
		m->bucket_size = cpu_to_le16(BUCKET_SECTORS);
	}
	clean->u64s = cpu_to_le32(BCH_SB_CLEAN_U64s);
	clean->type = cpu_to_le32(BCH_SB_FIELD_clean);
	set_sb_meta_replicas_want(sb, replicas);
	set_sb_meta_replicas_req(sb, 1);
	return sb;
}

static struct bch_dev *dev_make(unsigned idx)
{
	struct bch_dev *ca = calloc(1, sizeof(*ca));
	char path[] = "/tmp/test_journal_write.XXXXXX";

	ca->idx = idx;
	ca->fd = mkstemp(path);
	ck_assert_int_ge(ca->fd, 0);
	ca->path = strdup(path);
	ca->size = (u64)DEV_BUCKETS * BUCKET_SECTORS * 512;
	ck_assert_int_eq(ftruncate(ca->fd, ca->size), 0);
	ca->mi = (struct bch_member_cpu) {
		.exists = true, .nbuckets = DEV_BUCKETS, .bucket_size = BUCKET_SECTORS,
		.state = BCH_MEMBER_STATE_rw, .durability = 1,
	};
	ca->journal_buckets = malloc(sizeof(ring));
	memcpy(ca->journal_buckets, ring, sizeof(ring));
	ca->nr_journal_buckets = NR_JBUCKETS;
	return ca;
}

/* A btree_ptr_v2 root key as the kernel writes one (u64s 11). */
static void root_key(struct btree_root *r, u64 seq)
{
	struct bkey_i *k = &r->key;
	struct bch_btree_ptr_v2 *bp = (void *)k->v;
	struct bch_extent_ptr *ptr = bp->start;

	memset(r, 0, sizeof(*r));
	r->alive = true;
	k->k.u64s = BKEY_U64s + (sizeof(*bp) + sizeof(*ptr)) / 8;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = KEY_TYPE_btree_ptr_v2;
	k->k.p = SPOS_MAX;
	bp->seq = cpu_to_le64(seq);
	bp->sectors_written = cpu_to_le16(8);
	ptr->v = cpu_to_le64(1);
	set_ptr_offset(ptr, ROOT_BUCKET * BUCKET_SECTORS);
}

static struct bch_fs *fs_make(unsigned nr_devs, unsigned replicas, unsigned csum_opt)
{
	struct bch_fs *c = calloc(1, sizeof(*c));

	c->sb.block_size = BLOCK_SECTORS;
	c->sb.btree_node_size = BUCKET_SECTORS;
	c->sb.jset_magic = TEST_JSET_MAGIC;
	c->sb.version = bcachefs_metadata_version_current;
	c->sb.meta_csum_type = csum_opt;
	c->sb.nr_devices = nr_devs;
	c->disk_sb.sb = sb_make(nr_devs, replicas);
	for (unsigned d = 0; d < nr_devs; d++) {
		c->devs[d] = dev_make(d);
		c->sb.members[d] = c->devs[d]->mi;
		c->nr_devs++;
	}
	root_key(&c->roots[BTREE_ID_inodes], 0x1111);
	root_key(&c->roots[BTREE_ID_alloc], 0x4444);
	return c;
}

static void fs_destroy(struct bch_fs *c)
{
	bch_journal_write_exit(c);
	bch_journal_exit(&c->journal);
	for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX; d++) {
		if (!c->devs[d])
			continue;
		unlink(c->devs[d]->path);
		bch_dev_close(c->devs[d]);
	}
	pb_exit(&c->log);
	free(c->disk_sb.sb);
	free(c);
}

/* Another handle on the same devices, for reading back what c wrote. */
static struct bch_fs *reader_make(const struct bch_fs *c)
{
	struct bch_fs *r = malloc(sizeof(*r));

	memcpy(r, c, sizeof(*r));
	memset(&r->journal, 0, sizeof(r->journal));
	r->log = PRINTBUF;
	r->nr_errors = 0;
	return r;
}

static void reader_free(struct bch_fs *r)
{
	bch_journal_write_exit(r);
	bch_journal_exit(&r->journal);
	pb_exit(&r->log);
	free(r);
}

static struct bch_fs *read_back(const struct bch_fs *c)
{
	struct bch_fs *r = reader_make(c);
	struct printbuf err = PRINTBUF;

	ck_assert_msg(!bch_journal_read(r, &err), "journal read: %s", pb_cstr(&err));
	pb_exit(&err);
	ck_assert_msg(!r->nr_errors, "damage found reading back: %s", pb_cstr(&r->log));
	return r;
}

/* ---- building jsets ---- */

static struct bkey_i *key_make(u64 *buf, struct bpos p)
{
	struct bkey_i *k = (void *)buf;

	memset(buf, 0, BKEY_U64s * 8);
	k->k.u64s = BKEY_U64s;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = KEY_TYPE_deleted;
	k->k.p = p;
	return k;
}

/* nr keys for xattrs: inode seq, offsets 0.. */
static void add_keys(struct jset_builder *b, u64 seq, unsigned nr)
{
	u64 buf[BKEY_U64s];

	for (unsigned i = 0; i < nr; i++)
		ck_assert_int_eq(bch_jset_add_key(b, BTREE_ID_xattrs, 0,
						  key_make(buf, SPOS(seq, i, ~0U))), 0);
}

/* Builds and writes the next jset: a log line and nr keys. */
static int write_one(struct bch_fs *c, struct jset_builder *b, unsigned nr_keys,
		     bool flush, struct printbuf *err)
{
	u64 seq = c->journal.w.seq;
	char msg[32];
	int ret;

	bch_jset_builder_reset(b);
	snprintf(msg, sizeof(msg), "entry %llu", (unsigned long long)seq);
	ck_assert_int_eq(bch_jset_add_log(b, msg), 0);
	add_keys(b, seq, nr_keys);
	ret = bch_jset_finish(c, b, flush, NOW + seq, err);
	return ret ?: bch_journal_write_jset(c, b, err);
}

static void write_ok(struct bch_fs *c, struct jset_builder *b, unsigned nr_keys, bool flush)
{
	struct printbuf err = PRINTBUF;

	ck_assert_msg(!write_one(c, b, nr_keys, flush, &err), "write: %s", pb_cstr(&err));
	pb_exit(&err);
}

static unsigned count_entries(const struct jset *j, unsigned type)
{
	unsigned nr = 0;

	jset_entry_for_each(e, j->start, jset_entries_end(j))
		nr += e->type == type;
	return nr;
}

static struct journal_replay *entry_by_seq(struct bch_fs *c, u64 seq)
{
	bool found;
	size_t idx = bch_journal_entry_find(&c->journal, seq, &found);

	return found ? c->journal.entries[idx] : NULL;
}

/* The keys written by add_keys(seq, nr) are all there, in one entry. */
static void check_keys(const struct jset *j, u64 seq, unsigned nr)
{
	unsigned found = 0;

	jset_entry_for_each(e, j->start, jset_entries_end(j)) {
		if (e->type != BCH_JSET_ENTRY_btree_keys)
			continue;
		ck_assert_uint_eq(e->btree_id, BTREE_ID_xattrs);
		for (const struct bkey_i *k = (const void *)e->_data;
		     k < jset_entry_keys_end(e); k = bkey_i_next(k)) {
			ck_assert(bpos_eq(k->k.p, SPOS(seq, found, ~0U)));
			found++;
		}
	}
	ck_assert_uint_eq(found, nr);
	ck_assert_uint_le(count_entries(j, BCH_JSET_ENTRY_btree_keys), 1);
}

START_TEST(test_builder_joins_keys)
{
	struct jset_builder b;
	u64 buf[BKEY_U64s];

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);

	size_t fresh = bch_jset_builder_room(&b);

	ck_assert_uint_eq(fresh, (16384 - sizeof(struct jset)) / 8 - JOURNAL_ENTRY_U64s_RESERVED - 4);
	add_keys(&b, 1, 100);
	ck_assert_uint_eq(count_entries(b.j, BCH_JSET_ENTRY_btree_keys), 1);
	ck_assert_uint_eq(le32_to_cpu(b.j->u64s), 1 + 100 * BKEY_U64s);

	/* another level, another type, another btree: new entries */
	ck_assert_int_eq(bch_jset_add_key(&b, BTREE_ID_xattrs, 1, key_make(buf, POS(1, 1))), 0);
	ck_assert_int_eq(bch_jset_add_overwrite(&b, BTREE_ID_xattrs, 1, key_make(buf, POS(1, 1))), 0);
	ck_assert_int_eq(bch_jset_add_overwrite(&b, BTREE_ID_xattrs, 1, key_make(buf, POS(1, 2))), 0);
	ck_assert_int_eq(bch_jset_add_key(&b, BTREE_ID_dirents, 1, key_make(buf, POS(1, 1))), 0);
	ck_assert_int_eq(bch_jset_add_trans_name(&b, "a_transaction_name_longer_than_32_bytes"), 0);
	ck_assert_int_eq(bch_jset_add_key(&b, BTREE_ID_dirents, 1, key_make(buf, POS(1, 2))), 0);
	ck_assert_uint_eq(count_entries(b.j, BCH_JSET_ENTRY_btree_keys), 4);
	ck_assert_uint_eq(count_entries(b.j, BCH_JSET_ENTRY_overwrite), 1);
	ck_assert_uint_eq(count_entries(b.j, BCH_JSET_ENTRY_log), 1);

	/* fill up: the trailer's room is kept */
	size_t room = bch_jset_builder_room(&b);
	int ret;

	while (!(ret = bch_jset_add_key(&b, BTREE_ID_xattrs, 0, key_make(buf, POS(2, 0)))))
		;
	ck_assert_int_eq(ret, -BCH_ERR_jset_full);
	ck_assert_uint_lt(bch_jset_builder_room(&b), BKEY_U64s);
	ck_assert_uint_gt(room, bch_jset_builder_room(&b));
	ck_assert_int_eq(bch_jset_add_datetime(&b, 1), -BCH_ERR_jset_full);

	bch_jset_builder_reset(&b);
	ck_assert_uint_eq(le32_to_cpu(b.j->u64s), 0);
	ck_assert_uint_eq(bch_jset_builder_room(&b), fresh);
	bch_jset_builder_exit(&b);
}
END_TEST

static void check_text(const struct jset_entry *e, const char *want)
{
	struct printbuf out = PRINTBUF;

	bch_jset_entry_to_text(&out, NULL, e);
	ck_assert_str_eq(pb_cstr(&out), want);
	pb_exit(&out);
}

START_TEST(test_entry_payloads)
{
	struct jset_builder b;
	struct jset_entry *e;

	ck_assert_int_eq(bch_jset_builder_init(&b, 4096), 0);
	ck_assert_int_eq(bch_jset_add_log(&b, "twelve bytes"), 0);
	ck_assert_int_eq(bch_jset_add_trans_name(&b, "bch2_fs_initialize"), 0);
	ck_assert_int_eq(bch_jset_add_usage(&b, BCH_FS_USAGE_key_version, 7), 0);
	ck_assert_int_eq(bch_jset_add_clock(&b, 1, 2304), 0);
	ck_assert_int_eq(bch_jset_add_clock(&b, 2, 2304), -BCH_ERR_bad_argument);
	ck_assert_int_eq(bch_jset_add_blacklist_v2(&b, 3, 9), 0);
	ck_assert_int_eq(bch_jset_add_blacklist_v2(&b, 9, 3), -BCH_ERR_bad_argument);
	ck_assert_int_eq(bch_jset_add_root(&b, BTREE_ID_extents, 0, NULL), 0);

	e = b.j->start;
	ck_assert_uint_eq(le16_to_cpu(e->u64s), 2);	/* 12 bytes, NUL padded */
	ck_assert_uint_eq(e->level, 1);
	check_text(e, "log: twelve bytes");
	e = jset_entry_next(e);
	ck_assert_uint_eq(le16_to_cpu(e->u64s), 4);
	ck_assert_uint_eq(e->level, 0);
	check_text(e, "log: bch2_fs_initialize");
	check_text(e = jset_entry_next(e), "usage: type=key_version v=7");
	check_text(e = jset_entry_next(e), "clock: write=2304");
	check_text(e = jset_entry_next(e), "blacklist_v2: start=3 end=9");
	e = jset_entry_next(e);
	ck_assert_uint_eq(e->type, BCH_JSET_ENTRY_btree_root);
	ck_assert_uint_eq(e->u64s, 0);
	ck_assert_ptr_eq(jset_entry_next(e), jset_entries_end(b.j));
	bch_jset_builder_exit(&b);
}
END_TEST

/* The trailer in the kernel's order, and the header. */
START_TEST(test_finish)
{
	struct bch_fs *c = fs_make(1, 1, 1);
	struct jset_builder b;
	struct printbuf err = PRINTBUF;
	struct btree_root dirents;
	const struct jset_entry *e;

	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_jset_finish(c, &b, true, NOW, &err), -BCH_ERR_bad_argument);
	ck_assert_int_eq(bch_journal_write_start_new(c, 5), 0);
	c->journal.w.key_version = 9;
	c->journal.w.io_clock[0] = 11;
	c->journal.w.io_clock[1] = 2304;
	ck_assert_int_eq(bch_journal_set_last_seq(c, 4), 0);	/* never goes back */
	ck_assert_int_eq(bch_journal_set_last_seq(c, 6), -BCH_ERR_bad_argument);

	/* an explicit new root for inodes; dirents gets its first root */
	root_key(&dirents, 0x2222);
	ck_assert_int_eq(bch_jset_add_root(&b, BTREE_ID_dirents, 0, &dirents.key), 0);
	add_keys(&b, 5, 3);
	ck_assert_int_eq(bch_jset_finish(c, &b, true, NOW, &err), 0);
	ck_assert_int_eq(bch_jset_finish(c, &b, true, NOW, &err), -BCH_ERR_bad_argument);

	const struct jset *j = b.j;

	ck_assert_uint_eq(le64_to_cpu(j->magic), TEST_JSET_MAGIC);
	ck_assert_uint_eq(le64_to_cpu(j->seq), 5);
	ck_assert_uint_eq(le64_to_cpu(j->last_seq), 5);
	ck_assert_uint_eq(le32_to_cpu(j->version), bcachefs_metadata_version_current);
	ck_assert_uint_eq(jset_csum_type(j), BCH_CSUM_crc32c_nonzero);
	ck_assert(!jset_no_flush(j));
	ck_assert(bch_jset_csum_good(j, &(struct bch_csum) { 0 }));
	ck_assert(c->roots[BTREE_ID_dirents].alive);

	e = j->start;
	ck_assert_uint_eq(e->type, BCH_JSET_ENTRY_btree_root);
	ck_assert_uint_eq(e->btree_id, BTREE_ID_dirents);
	e = jset_entry_next(jset_entry_next(e));	/* past the keys */
	ck_assert_uint_eq(e->type, BCH_JSET_ENTRY_btree_root);
	ck_assert_uint_eq(e->btree_id, BTREE_ID_inodes);
	ck_assert_uint_eq(le16_to_cpu(e->u64s), 11);
	e = jset_entry_next(e);
	ck_assert_uint_eq(e->btree_id, BTREE_ID_alloc);
	check_text(e = jset_entry_next(e), "datetime: Tue Nov 14 22:13:20 2023");
	check_text(e = jset_entry_next(e), "usage: type=key_version v=9");
	check_text(e = jset_entry_next(e), "clock: read=11");
	check_text(e = jset_entry_next(e), "clock: write=2304");
	ck_assert_ptr_eq(jset_entry_next(e), jset_entries_end(j));
	ck_assert_uint_eq(count_entries(j, BCH_JSET_ENTRY_btree_root), 3);

	/* the block's tail is zero */
	for (const u8 *p = (const u8 *)j + jset_bytes(j); p < (const u8 *)j + 4096; p++)
		ck_assert_uint_eq(*p, 0);

	/* noflush: last_seq 0 */
	bch_jset_builder_reset(&b);
	ck_assert_int_eq(bch_jset_finish(c, &b, false, NOW, &err), 0);
	ck_assert(jset_no_flush(b.j));
	ck_assert_uint_eq(b.j->last_seq, 0);
	ck_assert_uint_eq(count_entries(b.j, BCH_JSET_ENTRY_btree_root), 3);
	pb_exit(&err);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

/* ---- writing and reading back ---- */

START_TEST(test_roundtrip_many)
{
	struct bch_fs *c = fs_make(1, 1, 1);
	struct jset_builder b;
	struct printbuf err = PRINTBUF;

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 1), 0);
	/* the first write after a start must be a flush */
	ck_assert_int_eq(write_one(c, &b, 1, false, &err), -BCH_ERR_bad_argument);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&err), "must be a flush"));
	for (unsigned seq = 1; seq <= 12; seq++)
		write_ok(c, &b, 10 * seq, seq % 3 == 1);	/* flush 1, 4, 7, 10 */
	ck_assert_uint_eq(c->journal.w.seq, 13);
	/* 1-8 (8 sectors each) fill journal bucket 1, 9-12 (9: 8, then 16) bucket 2 */
	ck_assert_uint_eq(c->journal.w.dev[0].bucket_seq[0], 0);
	ck_assert_uint_eq(c->journal.w.dev[0].bucket_seq[1], 8);
	ck_assert_uint_eq(c->journal.w.dev[0].bucket_seq[2], 12);
	ck_assert_uint_eq(c->journal.w.dev[0].sectors_used, 56);

	struct bch_fs *r = read_back(c);

	ck_assert_uint_eq(r->journal.nr_entries, 12);
	ck_assert_uint_eq(r->journal.last_seq, 1);
	ck_assert_uint_eq(r->journal.blacklist_seq, 11);
	for (unsigned seq = 1; seq <= 12; seq++) {
		struct journal_replay *i = entry_by_seq(r, seq);

		ck_assert_ptr_nonnull(i);
		ck_assert(i->csum_good);
		ck_assert_uint_eq(i->ptrs[0].dev, 0);
		ck_assert_uint_eq(jset_no_flush(i->j), seq % 3 != 1);
		ck_assert_uint_eq(i->ignore_blacklisted, seq > 10);
		check_keys(i->j, seq, 10 * seq);
		ck_assert_uint_eq(count_entries(i->j, BCH_JSET_ENTRY_btree_root), 2);
		ck_assert_uint_eq(count_entries(i->j, BCH_JSET_ENTRY_clock), 2);
	}
	ck_assert_uint_eq(entry_by_seq(r, 1)->ptrs[0].bucket, 1);
	ck_assert_uint_eq(entry_by_seq(r, 1)->ptrs[0].bucket_offset, 0);
	ck_assert_uint_eq(entry_by_seq(r, 1)->ptrs[0].sector, ring[1] * BUCKET_SECTORS);
	reader_free(r);
	pb_exit(&err);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

/* last_seq as the caller says: older entries are not replayed. */
START_TEST(test_replay_range)
{
	struct bch_fs *c = fs_make(1, 1, 1);
	struct jset_builder b;

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 100), 0);
	write_ok(c, &b, 1, true);		/* 100, last_seq 100 */
	write_ok(c, &b, 1, false);		/* 101 */
	ck_assert_int_eq(bch_journal_set_last_seq(c, 101), 0);
	write_ok(c, &b, 1, true);		/* 102, last_seq 101 */
	write_ok(c, &b, 1, false);		/* 103 */

	struct bch_fs *r = read_back(c);

	ck_assert_uint_eq(r->journal.last_seq, 101);
	ck_assert_uint_eq(r->journal.blacklist_seq, 103);
	ck_assert(entry_by_seq(r, 100)->ignore_not_dirty);
	ck_assert(!journal_replay_ignore(entry_by_seq(r, 101)));
	ck_assert(!journal_replay_ignore(entry_by_seq(r, 102)));
	ck_assert(entry_by_seq(r, 103)->ignore_blacklisted);
	ck_assert_uint_eq(le64_to_cpu(entry_by_seq(r, 102)->j->last_seq), 101);
	ck_assert_uint_eq(entry_by_seq(r, 101)->j->last_seq, 0);
	reader_free(r);

	/* nothing dirty: the newest flush entry alone */
	ck_assert_int_eq(bch_journal_set_last_seq(c, 104), 0);
	write_ok(c, &b, 0, true);
	r = read_back(c);
	ck_assert_uint_eq(r->journal.last_seq, 104);
	ck_assert_uint_eq(r->journal.blacklist_seq, 105);
	reader_free(r);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

/* Every metadata checksum option: the reader verifies what was written. */
START_TEST(test_csum_types)
{
	static const unsigned want[] = {
		BCH_CSUM_none, BCH_CSUM_crc32c_nonzero, BCH_CSUM_crc64_nonzero, BCH_CSUM_xxhash,
	};
	unsigned opt = _i;
	struct bch_fs *c = fs_make(1, 1, opt);
	struct jset_builder b;

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 1), 0);
	for (unsigned n = 0; n < 4; n++)
		write_ok(c, &b, 50, n != 2);

	struct bch_fs *r = read_back(c);

	ck_assert_uint_eq(r->journal.nr_entries, 4);
	for (unsigned seq = 1; seq <= 4; seq++) {
		struct journal_replay *i = entry_by_seq(r, seq);

		ck_assert(i->csum_good);
		ck_assert_uint_eq(jset_csum_type(i->j), want[opt]);
		check_keys(i->j, seq, 50);
	}
	reader_free(r);

	/* a flipped bit is caught (but not without a checksum) */
	if (opt) {
		u8 byte;
		/* in seq 1's log text */
		off_t off = (off_t)ring[1] * BUCKET_SECTORS * 512 + sizeof(struct jset) + 10;

		ck_assert_int_eq(pread(c->devs[0]->fd, &byte, 1, off), 1);
		byte ^= 1;
		ck_assert_int_eq(pwrite(c->devs[0]->fd, &byte, 1, off), 1);
		r = reader_make(c);
		struct printbuf err = PRINTBUF;

		ck_assert_int_eq(bch_journal_read(r, &err), 0);
		ck_assert(!entry_by_seq(r, 1)->csum_good);
		ck_assert(entry_by_seq(r, 2)->csum_good);
		pb_exit(&err);
		reader_free(r);
	}
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

/* Keys enough for a jset of 16 KiB: two per journal bucket. */
#define HALF_BUCKET_KEYS	300

/* Round and round the ring, the caller keeping nothing dirty. */
START_TEST(test_wrap_around)
{
	struct bch_fs *c = fs_make(1, 1, 1);
	struct jset_builder b;
	unsigned last_idx = 0;

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 1), 0);
	for (unsigned n = 0; n < 5 * 2 * NR_JBUCKETS; n++) {
		ck_assert_int_eq(bch_journal_set_last_seq(c, c->journal.w.seq), 0);
		write_ok(c, &b, HALF_BUCKET_KEYS, n % 4 != 3);

		unsigned idx = c->journal.w.dev[0].cur_idx;

		/* two jsets a bucket, buckets in ring order */
		ck_assert_uint_eq(idx, (n / 2 + 1) % NR_JBUCKETS);
		ck_assert_uint_eq(c->journal.w.dev[0].sectors_used, (n % 2 + 1) * 32);
		last_idx = idx;
	}

	struct bch_fs *r = read_back(c);
	u64 max = c->journal.w.seq - 1;

	/* the ring holds the newest 2 * NR_JBUCKETS entries */
	ck_assert_uint_eq(r->journal.nr_entries, 2 * NR_JBUCKETS);
	ck_assert_uint_eq(le64_to_cpu(r->journal.entries[0]->j->seq), max - 2 * NR_JBUCKETS + 1);
	ck_assert_uint_eq(r->journal.max_seq, max);
	ck_assert_uint_eq(entry_by_seq(r, max)->ptrs[0].bucket, last_idx);
	/* max is a noflush entry (n % 4 == 3): the flush before it is the range */
	ck_assert_uint_eq(r->journal.last_seq, max - 1);
	ck_assert_uint_eq(r->journal.blacklist_seq, max);
	for (unsigned seq = max - 2 * NR_JBUCKETS + 1; seq <= max; seq++)
		check_keys(entry_by_seq(r, seq)->j, seq, HALF_BUCKET_KEYS);
	reader_free(r);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

/*
 * With everything dirty since seq 1 the ring fills: seven buckets of
 * two jsets (bucket 0, free too, is the last one: kept for a flush that
 * frees another).  Once the caller's last_seq moves on, only a flush may
 * take it; after that, space is back.
 */
START_TEST(test_journal_full)
{
	struct bch_fs *c = fs_make(1, 1, 1);
	struct jset_builder b;
	struct printbuf err = PRINTBUF;
	unsigned written = 0;
	int ret;

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 1), 0);
	while (!(ret = write_one(c, &b, HALF_BUCKET_KEYS, true, &err)))
		written++;
	ck_assert_int_eq(ret, -BCH_ERR_journal_full);
	ck_assert_uint_eq(written, 2 * (NR_JBUCKETS - 1));
	ck_assert_ptr_nonnull(strstr(pb_cstr(&err), "journal full writing seq 15"));
	ck_assert_ptr_nonnull(strstr(pb_cstr(&err), "journal bucket 1 (bucket 13) holds seq 2"));
	ck_assert_uint_eq(c->journal.w.seq, 15);

	/* still dirty from 1: nothing read back is lost */
	struct bch_fs *r = read_back(c);

	ck_assert_uint_eq(r->journal.nr_entries, 14);
	ck_assert_uint_eq(r->journal.last_seq, 1);
	reader_free(r);

	ck_assert_int_eq(bch_journal_set_last_seq(c, 5), 0);
	pb_reset(&err);
	ck_assert_int_eq(write_one(c, &b, HALF_BUCKET_KEYS, false, &err), -BCH_ERR_journal_full);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&err), "kept for a flush write"));
	pb_reset(&err);
	ck_assert_int_eq(write_one(c, &b, HALF_BUCKET_KEYS, false, &err), -BCH_ERR_journal_full);
	write_ok(c, &b, HALF_BUCKET_KEYS, true);	/* 15, last_seq 5, in bucket 0 */
	ck_assert_uint_eq(c->journal.w.dev[0].cur_idx, 0);
	write_ok(c, &b, HALF_BUCKET_KEYS, false);	/* 16 */
	write_ok(c, &b, HALF_BUCKET_KEYS, false);	/* 17: bucket 1, seqs 1-2 gone */
	ck_assert_uint_eq(c->journal.w.dev[0].cur_idx, 1);

	r = read_back(c);
	ck_assert_uint_eq(r->journal.last_seq, 5);
	ck_assert_uint_eq(r->journal.blacklist_seq, 16);
	ck_assert_ptr_null(entry_by_seq(r, 1));
	ck_assert_ptr_nonnull(entry_by_seq(r, 3));
	reader_free(r);

	/* a jset bigger than a bucket never fits */
	struct jset_builder big;

	ck_assert_int_eq(bch_jset_builder_init(&big, 64 << 10), 0);
	ck_assert_int_eq(bch_journal_set_last_seq(c, c->journal.w.seq), 0);
	pb_reset(&err);
	ck_assert_int_eq(write_one(c, &big, 1000, true, &err), -BCH_ERR_jset_full);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&err), "does not fit a journal bucket"));
	bch_jset_builder_exit(&big);
	pb_exit(&err);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

/* Two replicas wanted: every jset on both devices. */
START_TEST(test_two_replicas)
{
	struct bch_fs *c = fs_make(2, 2, 1);
	struct jset_builder b;

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 1), 0);
	for (unsigned n = 0; n < 6; n++)
		write_ok(c, &b, HALF_BUCKET_KEYS, true);

	struct bch_fs *r = read_back(c);

	ck_assert_uint_eq(r->journal.nr_entries, 6);
	for (unsigned seq = 1; seq <= 6; seq++) {
		struct journal_replay *i = entry_by_seq(r, seq);

		ck_assert_uint_eq(i->nr_ptrs, 2);
		ck_assert_uint_ne(i->ptrs[0].dev, i->ptrs[1].dev);
		ck_assert_uint_eq(i->ptrs[0].bucket, (seq + 1) / 2);
	}
	reader_free(r);

	/* one device read-only: one replica is still enough (replicas_req 1) */
	c->devs[1]->mi.state = BCH_MEMBER_STATE_ro;
	write_ok(c, &b, 1, true);
	r = read_back(c);
	ck_assert_uint_eq(entry_by_seq(r, 7)->nr_ptrs, 1);
	reader_free(r);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

static const struct bch_member *member(const struct bch_fs *c, unsigned idx)
{
	static struct bch_member tmp;

	return bch_sb_member(c->disk_sb.sb, idx, &tmp);
}

/* A clean shutdown's section, and starting again from it. */
START_TEST(test_clean_section)
{
	struct bch_fs *c = fs_make(1, 1, 1);
	struct jset_builder b;
	struct printbuf err = PRINTBUF;
	struct bch_sb_field_clean *clean = bch_sb_field_get_t(c->disk_sb.sb, clean);

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 1), 0);
	c->journal.w.key_version = 3;
	c->journal.w.io_clock[1] = 2304;
	for (unsigned n = 0; n < 5; n++)
		write_ok(c, &b, HALF_BUCKET_KEYS, true);
	ck_assert_uint_eq(le32_to_cpu(member(c, 0)->last_journal_bucket), 3);
	ck_assert_uint_eq(le32_to_cpu(member(c, 0)->last_journal_bucket_offset), 32);

	ck_assert_int_eq(bch_sb_clean_build(c, clean, BCH_SB_CLEAN_U64s, &err), 0);
	ck_assert_uint_eq(le32_to_cpu(clean->field.u64s), 324);
	ck_assert_uint_eq(le64_to_cpu(clean->journal_seq), 5);
	ck_assert_uint_eq(clean->flags, 0);

	const struct jset_entry *e = (const void *)clean->start;

	check_text(e, "usage: type=key_version v=3");
	check_text(e = jset_entry_next(e), "clock: read=0");
	check_text(e = jset_entry_next(e), "clock: write=2304");
	e = jset_entry_next(e);
	ck_assert_uint_eq(e->type, BCH_JSET_ENTRY_btree_root);
	ck_assert_uint_eq(e->btree_id, BTREE_ID_inodes);
	e = jset_entry_next(jset_entry_next(e));
	for (const u64 *p = (const u64 *)e; p < (const u64 *)clean + BCH_SB_CLEAN_U64s; p++)
		ck_assert_uint_eq(*p, 0);
	ck_assert_int_eq(bch_sb_clean_build(c, clean, 20, &err), -BCH_ERR_jset_full);
	ck_assert_int_eq(bch_sb_clean_build(c, clean, BCH_SB_CLEAN_U64s, &err), 0);

	/* the clean start: from the section and the member fields */
	struct journal_write_state before = c->journal.w;

	c->journal.w.dev[0].bucket_seq = NULL;	/* owned by before */
	bch_journal_write_exit(c);
	ck_assert_int_eq(bch_journal_write_start_clean(c, &err), -BCH_ERR_bad_argument);
	c->sb.clean = true;
	ck_assert_int_eq(bch_journal_write_start_clean(c, &err), 0);
	ck_assert_uint_eq(c->journal.w.seq, 6);
	ck_assert_uint_eq(c->journal.w.last_seq, 6);
	ck_assert_uint_eq(c->journal.w.key_version, 3);
	ck_assert_uint_eq(c->journal.w.io_clock[1], 2304);
	ck_assert_uint_eq(c->journal.w.dev[0].cur_idx, before.dev[0].cur_idx);
	ck_assert_uint_eq(c->journal.w.dev[0].sectors_used, before.dev[0].sectors_used);
	free(before.dev[0].bucket_seq);

	/* the journal goes on where it was */
	write_ok(c, &b, 1, true);

	struct bch_fs *r = read_back(c);

	ck_assert_uint_eq(r->journal.nr_entries, 6);
	ck_assert_uint_eq(entry_by_seq(r, 6)->ptrs[0].bucket, 3);
	ck_assert_uint_eq(entry_by_seq(r, 6)->ptrs[0].bucket_offset, 32);
	ck_assert_uint_eq(r->journal.last_seq, 6);
	reader_free(r);
	pb_exit(&err);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

/* After reading an unclean journal: 8 seqs skipped, positions after the newest entry. */
START_TEST(test_unclean_start)
{
	struct bch_fs *c = fs_make(1, 1, 1);
	struct jset_builder b;
	struct printbuf err = PRINTBUF;

	ck_assert_int_eq(bch_jset_builder_init(&b, 16 << 10), 0);
	ck_assert_int_eq(bch_journal_write_start_new(c, 1), 0);
	c->journal.w.key_version = 77;
	c->journal.w.io_clock[0] = 5;
	for (unsigned n = 0; n < 6; n++) {
		if (n == 3)
			ck_assert_int_eq(bch_journal_set_last_seq(c, 3), 0);
		write_ok(c, &b, HALF_BUCKET_KEYS, n < 4);	/* 5 and 6 noflush */
	}

	struct bch_fs *r = read_back(c);

	ck_assert_int_eq(bch_journal_write_start_unclean(r, &err), 0);
	ck_assert_uint_eq(r->journal.w.seq, 6 + 1 + 8);
	ck_assert_uint_eq(r->journal.w.blacklist_start, 5);
	ck_assert_uint_eq(r->journal.w.blacklist_end, 15);
	ck_assert_uint_eq(r->journal.w.last_seq, 3);
	ck_assert_uint_eq(r->journal.w.last_seq_ondisk, 3);
	ck_assert_uint_eq(r->journal.w.key_version, 77);
	ck_assert_uint_eq(r->journal.w.io_clock[0], 5);
	ck_assert_uint_eq(r->journal.w.dev[0].cur_idx, c->journal.w.dev[0].cur_idx);
	ck_assert_uint_eq(r->journal.w.dev[0].sectors_used, c->journal.w.dev[0].sectors_used);
	for (unsigned i = 0; i < NR_JBUCKETS; i++)
		ck_assert_uint_eq(r->journal.w.dev[0].bucket_seq[i],
				  c->journal.w.dev[0].bucket_seq[i]);

	/* replayed and flushed: the new entry alone is the range */
	ck_assert_int_eq(bch_journal_set_last_seq(r, 15), 0);
	write_ok(r, &b, 1, true);

	struct bch_fs *r2 = read_back(r);

	ck_assert_uint_eq(r2->journal.last_seq, 15);
	ck_assert_uint_eq(r2->journal.blacklist_seq, 16);
	/* bucket 3 was full */
	ck_assert_uint_eq(entry_by_seq(r2, 15)->ptrs[0].bucket, 4);
	ck_assert_uint_eq(entry_by_seq(r2, 15)->ptrs[0].bucket_offset, 0);
	reader_free(r2);
	reader_free(r);
	pb_exit(&err);
	bch_jset_builder_exit(&b);
	fs_destroy(c);
}
END_TEST

static Suite *journal_write_suite(void)
{
	Suite *s = suite_create("journal_write");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_builder_joins_keys);
	tcase_add_test(tc, test_entry_payloads);
	tcase_add_test(tc, test_finish);
	tcase_add_test(tc, test_roundtrip_many);
	tcase_add_test(tc, test_replay_range);
	tcase_add_loop_test(tc, test_csum_types, 0, 4);
	tcase_add_test(tc, test_wrap_around);
	tcase_add_test(tc, test_journal_full);
	tcase_add_test(tc, test_two_replicas);
	tcase_add_test(tc, test_clean_section);
	tcase_add_test(tc, test_unclean_start);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(journal_write_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests for the superblock: reading with backups, validation of every kind of damage, text. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum/checksum.h"
#include "sb/opts.h"
#include "sb/sb.h"
#include "util/errcode.h"

/* A small superblock built in memory: one device, members v1 and v2. */
#define TEST_SB_BYTES		4096
#define TEST_BACKUP_SECTOR	2056
#define TEST_NBUCKETS		512
#define TEST_BUCKET_SECTORS	256

struct test_sb {
	union {
		struct bch_sb sb;
		u8 bytes[TEST_SB_BYTES];
	};
};

static const u8 test_magic[16] = BCHFS_MAGIC_BYTES;

static struct bch_sb_field *add_field(struct bch_sb *sb, unsigned type, size_t payload)
{
	struct bch_sb_field *f = bch_sb_end(sb);
	unsigned u64s = 1 + (payload + 7) / 8;

	memset(f, 0, u64s * 8);
	f->u64s = cpu_to_le32(u64s);
	f->type = cpu_to_le32(type);
	sb->u64s = cpu_to_le32(le32_to_cpu(sb->u64s) + u64s);
	return f;
}

static void fill_member(u8 *p)
{
	struct bch_member m = { 0 };

	memset(m.uuid, 0x5a, sizeof(m.uuid));
	m.nbuckets = cpu_to_le64(TEST_NBUCKETS);
	m.bucket_size = cpu_to_le16(TEST_BUCKET_SECTORS);
	m.last_mount = cpu_to_le64(1700000000);
	set_member_data_allowed(&m, 0x1c);
	set_member_durability(&m, 2);
	memcpy(p, &m, sizeof(m));
}

static void add_members(struct bch_sb *sb)
{
	struct bch_sb_field_members_v2 *mi2;
	struct bch_sb_field *f;

	f = add_field(sb, BCH_SB_FIELD_members_v1, BCH_MEMBER_V1_BYTES);
	fill_member((u8 *)f->data);
	/* v1 holds only the first 56 bytes of a member */
	memset((u8 *)f->data + BCH_MEMBER_V1_BYTES, 0, 8 * le32_to_cpu(f->u64s) - 8 - BCH_MEMBER_V1_BYTES);

	mi2 = (void *)add_field(sb, BCH_SB_FIELD_members_v2, 8 + sizeof(struct bch_member));
	mi2->member_bytes = cpu_to_le16(sizeof(struct bch_member));
	fill_member(mi2->members);
}

static void set_defaults(struct bch_sb *sb)
{
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++)
		if (bch_sb_opts[i].def)
			bch_sb_opt_set(sb, i, bch_sb_opts[i].def);
	bch_sb_opt_set(sb, BCH_SB_OPT_block_size, 4096);
	bch_sb_opt_set(sb, BCH_SB_OPT_btree_node_size, 128 << 10);
	set_sb_version_upgrade_complete(sb, bcachefs_metadata_version_current);
	set_sb_csum_type(sb, BCH_CSUM_crc32c_nonzero);
	set_sb_initialized(sb, 1);
}

static void set_layout(struct bch_sb_layout *l)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->magic, test_magic, 16);
	l->sb_max_size_bits = 11;
	l->nr_superblocks = 2;
	l->sb_offset[0] = cpu_to_le64(BCH_SB_SECTOR);
	l->sb_offset[1] = cpu_to_le64(TEST_BACKUP_SECTOR);
}

static void sb_csum_fix(struct bch_sb *sb)
{
	size_t bytes = BCH_SB_HEADER_BYTES + 8 * le32_to_cpu(sb->u64s);

	sb->csum = bch_checksum(sb_csum_type(sb), bch_nonce_null(),
				(u8 *)sb + sizeof(sb->csum), bytes - sizeof(sb->csum));
}

static void build_sb(struct test_sb *t)
{
	struct bch_sb *sb = &t->sb;

	memset(t, 0, sizeof(*t));
	sb->version = sb->version_min = cpu_to_le16(bcachefs_metadata_version_current);
	memcpy(sb->magic, test_magic, 16);
	memset(sb->uuid, 0x11, 16);
	memset(sb->user_uuid, 0x22, 16);
	strcpy((char *)sb->label, "test");
	sb->offset = cpu_to_le64(BCH_SB_SECTOR);
	sb->seq = cpu_to_le64(1);
	sb->nr_devices = 1;
	sb->time_base_lo = cpu_to_le64(1700000000ULL * 1000000000ULL);
	sb->time_precision = cpu_to_le32(1);
	set_defaults(sb);
	set_layout(&sb->layout);
	add_members(sb);
	sb_csum_fix(sb);
}

static struct bch_sb_buf buf_of(struct test_sb *t)
{
	return (struct bch_sb_buf) { .sb = &t->sb, .bytes = sizeof(*t), .sector = 8 };
}

/* Validates, expecting ret and (if ret) an error message containing want. */
static void expect_validate(struct test_sb *t, int ret, const char *want)
{
	struct bch_sb_buf buf = buf_of(t);
	struct printbuf err = PRINTBUF;
	int r = bch_sb_validate(&buf, &err);

	ck_assert_msg(r == ret, "validate returned %d (%s), wanted %d", r, pb_cstr(&err), ret);
	if (want)
		ck_assert_msg(strstr(pb_cstr(&err), want), "message '%s' lacks '%s'",
			      pb_cstr(&err), want);
	pb_exit(&err);
}

START_TEST(test_valid)
{
	struct test_sb t;
	struct bch_sb_cpu c;

	build_sb(&t);
	expect_validate(&t, 0, NULL);

	bch_sb_to_cpu(&t.sb, &c);
	ck_assert_uint_eq(c.nr_devices, 1);
	ck_assert(c.members[0].exists);
	ck_assert_uint_eq(c.members[0].durability, 1);
	ck_assert_uint_eq(c.members[0].bucket_size, TEST_BUCKET_SECTORS);
	ck_assert_uint_eq(c.btree_node_size, 256);
	ck_assert_uint_eq(c.encoded_extent_max, 128);
	ck_assert_uint_eq(c.jset_magic, 0x1111111111111111ULL ^ JSET_MAGIC_XOR);
}
END_TEST

START_TEST(test_bad_version)
{
	struct test_sb t;

	build_sb(&t);
	t.sb.version = cpu_to_le16(BCH_VERSION(2, 0));
	expect_validate(&t, -BCH_ERR_sb_version, "Unsupported superblock version 2.0");

	build_sb(&t);
	t.sb.version = cpu_to_le16(5);
	expect_validate(&t, -BCH_ERR_sb_version, "Unsupported superblock version 0.5");

	build_sb(&t);
	t.sb.version = cpu_to_le16(bcachefs_metadata_version_disk_accounting_v2);
	expect_validate(&t, -BCH_ERR_sb_version, "Bad minimum version");
}
END_TEST

START_TEST(test_bad_header)
{
	struct test_sb t;

	build_sb(&t);
	memset(t.sb.user_uuid, 0, 16);
	expect_validate(&t, -BCH_ERR_sb_invalid, "Bad user UUID");

	build_sb(&t);
	memset(t.sb.uuid, 0, 16);
	expect_validate(&t, -BCH_ERR_sb_invalid, "Bad internal UUID");

	build_sb(&t);
	t.sb.block_size = cpu_to_le16(16);
	expect_validate(&t, -BCH_ERR_sb_invalid, "Block size too big");

	build_sb(&t);
	t.sb.nr_devices = 0;
	expect_validate(&t, -BCH_ERR_sb_invalid, "Bad number of member devices");

	build_sb(&t);
	t.sb.dev_idx = 1;
	expect_validate(&t, -BCH_ERR_sb_invalid, "Bad dev_idx");

	build_sb(&t);
	t.sb.time_precision = 0;
	expect_validate(&t, -BCH_ERR_sb_invalid, "Invalid time precision");

	build_sb(&t);
	t.sb.features[1] = cpu_to_le64(1);
	expect_validate(&t, -BCH_ERR_unsupported, "incompatible features");
}
END_TEST

START_TEST(test_bad_options)
{
	struct test_sb t;

	build_sb(&t);
	set_sb_gc_reserve(&t.sb, 30);
	expect_validate(&t, -BCH_ERR_sb_invalid, "gc_reserve_percent: too big (max 21)");

	build_sb(&t);
	set_sb_btree_node_size(&t.sb, 3);
	expect_validate(&t, -BCH_ERR_sb_invalid, "btree_node_size: must be a power of two");

	build_sb(&t);
	set_sb_journal_flush_delay(&t.sb, 0);
	expect_validate(&t, -BCH_ERR_sb_invalid, "journal_flush_delay: too small (min 1)");

	build_sb(&t);
	set_sb_compression_lo(&t.sb, 0);
	set_sb_compression_hi(&t.sb, 3);
	expect_validate(&t, -BCH_ERR_sb_invalid, "invalid compression opt 48");

	/* one past the last choice passes, as in the kernel */
	build_sb(&t);
	set_sb_str_hash_type(&t.sb, 3);
	expect_validate(&t, 0, NULL);
	set_sb_str_hash_type(&t.sb, 4);
	expect_validate(&t, -BCH_ERR_sb_invalid, "str_hash: too big (max 4)");
}
END_TEST

START_TEST(test_bad_layout)
{
	struct test_sb t;

	build_sb(&t);
	t.sb.layout.layout_type = 1;
	expect_validate(&t, -BCH_ERR_sb_invalid, "layout type 1");

	build_sb(&t);
	t.sb.layout.nr_superblocks = 0;
	expect_validate(&t, -BCH_ERR_sb_invalid, "no superblocks");

	build_sb(&t);
	t.sb.layout.sb_offset[1] = cpu_to_le64(100);
	expect_validate(&t, -BCH_ERR_sb_invalid, "superblocks overlap");
}
END_TEST

static struct bch_sb_field *last_field(struct bch_sb *sb)
{
	struct bch_sb_field *last = NULL;

	sb_for_each_field(f, sb)
		last = f;
	return last;
}

START_TEST(test_bad_field_geometry)
{
	struct test_sb t;

	build_sb(&t);
	last_field(&t.sb)->u64s = cpu_to_le32(le32_to_cpu(last_field(&t.sb)->u64s) + 1);
	expect_validate(&t, -BCH_ERR_sb_invalid, "extends past end of superblock");

	build_sb(&t);
	add_field(&t.sb, BCH_SB_FIELD_quota, 72)->u64s = 0;
	t.sb.u64s = cpu_to_le32(le32_to_cpu(t.sb.u64s) + 1);
	expect_validate(&t, -BCH_ERR_sb_invalid, "optional field with size 0");

	build_sb(&t);
	bch_sb_field_get(&t.sb, BCH_SB_FIELD_members_v1)->type =
		cpu_to_le32(BCH_SB_FIELD_quota);
	expect_validate(&t, -BCH_ERR_sb_invalid, "member info area missing");

	/* unknown types are allowed and skipped */
	build_sb(&t);
	add_field(&t.sb, 40, 16);
	expect_validate(&t, 0, NULL);
}
END_TEST

static struct bch_member *v2_member(struct bch_sb *sb)
{
	return (void *)bch_sb_field_get_t(sb, members_v2)->members;
}

START_TEST(test_bad_members)
{
	struct test_sb t;

	build_sb(&t);
	v2_member(&t.sb)->bucket_size = 0;
	expect_validate(&t, -BCH_ERR_sb_invalid, "device 0: bucket size 0 smaller than block size 8");

	build_sb(&t);
	v2_member(&t.sb)->bucket_size = cpu_to_le16(128);
	expect_validate(&t, -BCH_ERR_sb_invalid, "smaller than btree node size");

	build_sb(&t);
	v2_member(&t.sb)->nbuckets = cpu_to_le64(10);
	expect_validate(&t, -BCH_ERR_sb_invalid, "not enough buckets");

	build_sb(&t);
	t.sb.nr_devices = 2;
	expect_validate(&t, -BCH_ERR_sb_invalid, "too many devices for section size");
}
END_TEST

static void add_journal_v2(struct bch_sb *sb, const u64 *ranges, unsigned nr)
{
	struct bch_sb_field_journal_v2 *j =
		(void *)add_field(sb, BCH_SB_FIELD_journal_v2, nr * 16);

	for (unsigned i = 0; i < nr; i++) {
		j->d[i].start = cpu_to_le64(ranges[2 * i]);
		j->d[i].nr = cpu_to_le64(ranges[2 * i + 1]);
	}
}

START_TEST(test_bad_journal)
{
	static const u64 ok[] = { 17, 8, 40, 8 };
	static const u64 overlap[] = { 40, 8, 17, 25 };
	static const u64 past_end[] = { 500, 100 };
	static const u64 at_zero[] = { 0, 4 };
	static const u64 empty[] = { 20, 0 };
	struct test_sb t;

	build_sb(&t);
	add_journal_v2(&t.sb, ok, 2);
	expect_validate(&t, 0, NULL);

	build_sb(&t);
	add_journal_v2(&t.sb, overlap, 2);
	expect_validate(&t, -BCH_ERR_sb_invalid, "duplicate journal buckets in ranges 17-42, 40-48");

	build_sb(&t);
	add_journal_v2(&t.sb, past_end, 1);
	expect_validate(&t, -BCH_ERR_sb_invalid, "past end of device");

	build_sb(&t);
	add_journal_v2(&t.sb, at_zero, 1);
	expect_validate(&t, -BCH_ERR_sb_invalid, "journal bucket at sector 0");

	build_sb(&t);
	add_journal_v2(&t.sb, empty, 1);
	expect_validate(&t, -BCH_ERR_sb_invalid, "bad nr");
}
END_TEST

START_TEST(test_bad_sections)
{
	struct test_sb t;
	struct bch_sb_field *f;

	build_sb(&t);
	f = add_field(&t.sb, BCH_SB_FIELD_replicas_v0, 3);
	memcpy(f->data, (u8[]) { BCH_DATA_btree, 1, 7 }, 3);
	expect_validate(&t, -BCH_ERR_sb_invalid, "invalid device 7 in entry btree: 1/1 [7]");

	build_sb(&t);
	f = add_field(&t.sb, BCH_SB_FIELD_replicas, 8);
	memcpy(f->data, (u8[]) { BCH_DATA_user, 1, 0, 0, BCH_DATA_user, 1, 0, 0 }, 8);
	expect_validate(&t, -BCH_ERR_sb_invalid, "duplicate replicas entry");

	build_sb(&t);
	f = add_field(&t.sb, BCH_SB_FIELD_errors, 32);
	f->data[0] = cpu_to_le64(5 | 1 << 16);
	f->data[2] = cpu_to_le64(3 | 1 << 16);
	expect_validate(&t, -BCH_ERR_sb_invalid, "entries out of order");

	build_sb(&t);
	f = add_field(&t.sb, BCH_SB_FIELD_journal_seq_blacklist, 16);
	f->data[0] = f->data[1] = cpu_to_le64(9);
	expect_validate(&t, -BCH_ERR_sb_invalid, "start >= end");

	build_sb(&t);
	f = add_field(&t.sb, BCH_SB_FIELD_disk_groups, 2 * sizeof(struct bch_disk_group));
	strcpy((char *)((struct bch_sb_field_disk_groups *)f)->entries[0].label, "a");
	strcpy((char *)((struct bch_sb_field_disk_groups *)f)->entries[1].label, "a");
	expect_validate(&t, -BCH_ERR_sb_invalid, "duplicate label 0.a");

	build_sb(&t);
	add_field(&t.sb, BCH_SB_FIELD_ext, 72);
	expect_validate(&t, -BCH_ERR_sb_invalid, "field too small (80 < 88)");

	build_sb(&t);
	add_field(&t.sb, BCH_SB_FIELD_crypt, 8);
	expect_validate(&t, -BCH_ERR_sb_invalid, "wrong size");

	build_sb(&t);
	f = add_field(&t.sb, BCH_SB_FIELD_clean, 24);
	((struct jset_entry *)((struct bch_sb_field_clean *)f)->start)->u64s = cpu_to_le16(5);
	expect_validate(&t, -BCH_ERR_sb_invalid, "overruns end of section");
}
END_TEST

/*
 * Every field type with every small size and garbage contents: validation
 * and printing must stay inside the section (run under ASan).
 */
START_TEST(test_fields_fuzz)
{
	struct test_sb t;
	unsigned seed = 1;

	for (unsigned type = 0; type < BCH_SB_FIELD_NR + 1; type++)
		for (unsigned bytes = 0; bytes < 200; bytes += 8)
			for (unsigned round = 0; round < 4; round++) {
				struct bch_sb_buf buf;
				struct printbuf out = PRINTBUF;
				struct bch_sb_field *f;

				build_sb(&t);
				/* the fuzzed section is the one lookups find */
				if (type < BCH_SB_FIELD_NR && bch_sb_field_get(&t.sb, type))
					bch_sb_field_get(&t.sb, type)->type = cpu_to_le32(50);
				f = add_field(&t.sb, type, bytes);
				for (unsigned i = 0; i < bytes; i++)
					((u8 *)f->data)[i] = round ? rand_r(&seed) >> (round * 3) : 0;
				buf = buf_of(&t);
				bch_sb_validate(&buf, &out);
				bch_sb_field_to_text(&out, &t.sb, f);
				bch_sb_to_text(&out, &t.sb, true, ~0ULL);
				pb_exit(&out);
			}
}
END_TEST

/* Random option bits, layout and counts: printing must cope with any of them. */
START_TEST(test_header_fuzz)
{
	struct test_sb t;
	unsigned seed = 7;

	for (unsigned round = 0; round < 2000; round++) {
		struct bch_sb_buf buf;
		struct printbuf out = PRINTBUF;

		build_sb(&t);
		for (unsigned i = 0; i < 7; i++)
			t.sb.flags[i] = (u64)rand_r(&seed) << 33 ^ (u64)rand_r(&seed) << 11 ^
				rand_r(&seed);
		t.sb.layout.sb_max_size_bits = rand_r(&seed);
		t.sb.layout.nr_superblocks = rand_r(&seed);
		t.sb.nr_devices = rand_r(&seed) % 70;
		t.sb.dev_idx = rand_r(&seed) % 70;
		buf = buf_of(&t);
		bch_sb_validate(&buf, &out);
		bch_sb_to_text(&out, &t.sb, true, ~0ULL);
		pb_exit(&out);
	}
}
END_TEST

static void expect_line(const struct printbuf *out, const char *line)
{
	const char *p = pb_cstr(out);
	size_t len = strlen(line);

	for (; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, len) && p[len] == '\n')
			return;
	ck_abort_msg("no line '%s' in:\n%s", line, pb_cstr(out));
}

START_TEST(test_text)
{
	struct test_sb t;
	struct printbuf out = PRINTBUF;

	build_sb(&t);
	out.human_units = true;
	bch_sb_to_text(&out, &t.sb, true, 1ULL << BCH_SB_FIELD_members_v2);

	expect_line(&out, "Label:                                     test");
	expect_line(&out, "  btree_node_size:                         128 KiB");
	expect_line(&out, "  str_hash:                                crc32c crc64 [siphash] ");
	expect_line(&out, "  Offsets:                 8, 2056");
	expect_line(&out, "members_v2 (size 160):");
	expect_line(&out, "Device:                                    0");
	expect_line(&out, "  Durability:                              1");
	pb_exit(&out);
}
END_TEST

START_TEST(test_opts_round_trip)
{
	struct test_sb t;

	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++) {
		const struct bch_sb_opt *opt = &bch_sb_opts[i];

		build_sb(&t);
		ck_assert_int_eq(bch_sb_opt_lookup(opt->name), (int)i);
		if (!opt->def)
			continue;
		bch_sb_opt_set(&t.sb, i, opt->def);
		ck_assert_uint_eq(bch_sb_opt_get(&t.sb, i), opt->def);
		ck_assert_int_eq(bch_sb_opt_validate(opt, opt->def, NULL), 0);
	}
	ck_assert_int_eq(bch_sb_opt_lookup("no_such_option"), -1);
}
END_TEST

/* An image file: layout at sector 7, copies at 8 and the backup sector. */
static int write_image(struct test_sb *t, char *path)
{
	int fd = mkstemp(path);
	u64 backup_offset = cpu_to_le64(TEST_BACKUP_SECTOR);
	struct test_sb backup = *t;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4 << 20), 0);
	backup.sb.offset = backup_offset;
	sb_csum_fix(&backup.sb);
	ck_assert_int_eq(pwrite(fd, &t->sb.layout, 512, 7 * 512), 512);
	ck_assert_int_eq(pwrite(fd, t, sizeof(*t), 8 * 512), (ssize_t)sizeof(*t));
	ck_assert_int_eq(pwrite(fd, &backup, sizeof(backup), TEST_BACKUP_SECTOR * 512),
			 (ssize_t)sizeof(backup));
	return fd;
}

static int read_image(int fd, u64 sector, struct bch_sb_buf *buf,
		      struct printbuf *log, struct printbuf *err)
{
	return bch_sb_read(fd, 4 << 20, sector, buf, log, err);
}

START_TEST(test_read_primary)
{
	char path[] = "/tmp/test_sb.XXXXXX";
	struct printbuf log = PRINTBUF, err = PRINTBUF;
	struct bch_sb_buf buf;
	struct test_sb t;
	int fd;

	build_sb(&t);
	set_sb_journal_flush_delay(&t.sb, 0);	/* the reader fills this in */
	sb_csum_fix(&t.sb);
	fd = write_image(&t, path);

	ck_assert_int_eq(read_image(fd, 0, &buf, &log, &err), 0);
	ck_assert(!buf.from_backup);
	ck_assert_uint_eq(buf.sector, 8);
	ck_assert_uint_eq(log.pos, 0);
	ck_assert_uint_eq(sb_journal_flush_delay(buf.sb), 1000);
	bch_sb_buf_exit(&buf);

	close(fd);
	unlink(path);
	pb_exit(&log);
	pb_exit(&err);
}
END_TEST

START_TEST(test_read_backup)
{
	char path[] = "/tmp/test_sb.XXXXXX";
	struct printbuf log = PRINTBUF, err = PRINTBUF;
	u8 zero[512] = { 0 };
	struct bch_sb_buf buf;
	struct test_sb t;
	int fd;

	build_sb(&t);
	fd = write_image(&t, path);
	ck_assert_int_eq(pwrite(fd, zero, 512, 8 * 512), 512);

	ck_assert_int_eq(read_image(fd, 0, &buf, &log, &err), 0);
	ck_assert(buf.from_backup);
	ck_assert_uint_eq(buf.sector, TEST_BACKUP_SECTOR);
	ck_assert_uint_eq(le64_to_cpu(buf.sb->offset), TEST_BACKUP_SECTOR);
	ck_assert(strstr(pb_cstr(&log), "Not a bcachefs superblock (got magic 00000000-"));
	bch_sb_buf_exit(&buf);

	/* a location asked for explicitly has no fallback */
	ck_assert_int_eq(read_image(fd, 8, &buf, &log, &err), -BCH_ERR_no_superblock);
	ck_assert(strstr(pb_cstr(&err), "superblock at sector 8: Not a bcachefs superblock"));

	close(fd);
	unlink(path);
	pb_exit(&log);
	pb_exit(&err);
}
END_TEST

START_TEST(test_read_bad_csum)
{
	char path[] = "/tmp/test_sb.XXXXXX";
	struct printbuf log = PRINTBUF, err = PRINTBUF;
	u8 zero[512] = { 0 };
	struct bch_sb_buf buf;
	struct test_sb t;
	int fd;

	build_sb(&t);
	fd = write_image(&t, path);
	/* damage the primary's label without fixing its checksum */
	ck_assert_int_eq(pwrite(fd, "X", 1, 8 * 512 + 72), 1);

	ck_assert_int_eq(read_image(fd, 0, &buf, &log, &err), 0);
	ck_assert(buf.from_backup);
	ck_assert(strstr(pb_cstr(&log), "checksum error, type crc32c_nonzero: got "));
	ck_assert(strstr(pb_cstr(&log), " should be "));
	bch_sb_buf_exit(&buf);

	/* and with the layout gone too, nothing is left */
	ck_assert_int_eq(pwrite(fd, zero, 512, 7 * 512), 512);
	pb_reset(&err);
	ck_assert_int_ne(read_image(fd, 0, &buf, &log, &err), 0);
	ck_assert(strstr(pb_cstr(&err), "superblock at sector 8: checksum error"));
	ck_assert(strstr(pb_cstr(&err), "layout at sector 7: Not a bcachefs superblock layout"));

	close(fd);
	unlink(path);
	pb_exit(&log);
	pb_exit(&err);
}
END_TEST

START_TEST(test_read_invalid_not_retried)
{
	char path[] = "/tmp/test_sb.XXXXXX";
	struct printbuf log = PRINTBUF, err = PRINTBUF;
	struct bch_sb_buf buf;
	struct test_sb t;
	int fd;

	/* a copy that reads fine but does not validate is an error, as in the kernel */
	build_sb(&t);
	v2_member(&t.sb)->bucket_size = 0;
	sb_csum_fix(&t.sb);
	fd = write_image(&t, path);

	ck_assert_int_eq(read_image(fd, 0, &buf, &log, &err), -BCH_ERR_sb_invalid);
	ck_assert(strstr(pb_cstr(&err), "superblock at sector 8 is invalid: "
			 "Invalid superblock section members_v2: device 0: bucket size 0"));
	ck_assert(!buf.sb);

	close(fd);
	unlink(path);
	pb_exit(&log);
	pb_exit(&err);
}
END_TEST

static Suite *sb_suite(void)
{
	Suite *s = suite_create("sb");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_bad_version);
	tcase_add_test(tc, test_bad_header);
	tcase_add_test(tc, test_bad_options);
	tcase_add_test(tc, test_bad_layout);
	tcase_add_test(tc, test_bad_field_geometry);
	tcase_add_test(tc, test_bad_members);
	tcase_add_test(tc, test_bad_journal);
	tcase_add_test(tc, test_bad_sections);
	tcase_add_test(tc, test_fields_fuzz);
	tcase_add_test(tc, test_header_fuzz);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_opts_round_trip);
	tcase_add_test(tc, test_read_primary);
	tcase_add_test(tc, test_read_backup);
	tcase_add_test(tc, test_read_bad_csum);
	tcase_add_test(tc, test_read_invalid_not_retried);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sb_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

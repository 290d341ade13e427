/* Unit tests for superblock editing: resizing sections, journal/replicas/downgrade sections, init flags, members. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/journal_write.h"
#include "sb/opts.h"
#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"

#define TEST_NR_DEVS		3
#define TEST_NBUCKETS		8192
#define TEST_BUCKET_SECTORS	256

static const u8 test_magic[16] = BCHFS_MAGIC_BYTES;

static struct bch_sb_field *append(struct bch_sb *sb, unsigned type, unsigned u64s)
{
	struct bch_sb_field *f = bch_sb_end(sb);

	memset(f, 0, 8 * u64s);
	f->u64s = cpu_to_le32(u64s);
	f->type = cpu_to_le32(type);
	sb->u64s = cpu_to_le32(le32_to_cpu(sb->u64s) + u64s);
	return f;
}

static void member_init(struct bch_member *m, unsigned i)
{
	memset(m, 0, sizeof(*m));
	memset(m->uuid, 0x40 + i, sizeof(m->uuid));
	m->nbuckets = cpu_to_le64(TEST_NBUCKETS);
	m->first_bucket = cpu_to_le16(1);
	m->bucket_size = cpu_to_le16(TEST_BUCKET_SECTORS);
	set_member_data_allowed(m, 0x1c);
	set_member_durability(m, 2);
}

/*
 * A --no_initialize style superblock of TEST_NR_DEVS devices: members_v2
 * then members_v1, in a buffer of exactly its size (so edits must grow it).
 */
static struct bch_sb_buf test_sb(unsigned max_size_bits)
{
	size_t v2 = (sizeof(struct bch_sb_field_members_v2) + TEST_NR_DEVS * sizeof(struct bch_member)) / 8;
	size_t v1 = (sizeof(struct bch_sb_field_members_v1) + TEST_NR_DEVS * BCH_MEMBER_V1_BYTES + 7) / 8;
	size_t bytes = BCH_SB_HEADER_BYTES + 8 * (v2 + v1);
	struct bch_sb *sb = calloc(1, bytes);
	struct bch_sb_field_members_v2 *mi2;
	struct bch_sb_field_members_v1 *mi1;

	ck_assert_ptr_nonnull(sb);
	sb->version = sb->version_min = cpu_to_le16(bcachefs_metadata_version_current);
	memcpy(sb->magic, test_magic, 16);
	memset(sb->uuid, 0x11, 16);
	memset(sb->user_uuid, 0x22, 16);
	sb->offset = cpu_to_le64(BCH_SB_SECTOR);
	sb->nr_devices = TEST_NR_DEVS;
	sb->time_base_lo = cpu_to_le64(1700000000ULL * 1000000000ULL);
	sb->time_precision = cpu_to_le32(1);
	sb->features[0] = cpu_to_le64(BCH_SB_FEATURES_ALL);
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++)
		if (bch_sb_opts[i].def)
			bch_sb_opt_set(sb, i, bch_sb_opts[i].def);
	bch_sb_opt_set(sb, BCH_SB_OPT_block_size, 4096);
	bch_sb_opt_set(sb, BCH_SB_OPT_btree_node_size, 128 << 10);

	memcpy(sb->layout.magic, test_magic, 16);
	sb->layout.sb_max_size_bits = max_size_bits;
	sb->layout.nr_superblocks = 2;
	sb->layout.sb_offset[0] = cpu_to_le64(BCH_SB_SECTOR);
	sb->layout.sb_offset[1] = cpu_to_le64(BCH_SB_SECTOR + (1U << max_size_bits));

	mi2 = (void *)append(sb, BCH_SB_FIELD_members_v2, v2);
	mi2->member_bytes = cpu_to_le16(sizeof(struct bch_member));
	mi1 = (void *)append(sb, BCH_SB_FIELD_members_v1, v1);
	for (unsigned i = 0; i < TEST_NR_DEVS; i++) {
		struct bch_member m;

		member_init(&m, i);
		memcpy(mi2->members + i * sizeof(m), &m, sizeof(m));
		memcpy(mi1->members + i * BCH_MEMBER_V1_BYTES, &m, BCH_MEMBER_V1_BYTES);
	}
	return (struct bch_sb_buf) { .sb = sb, .bytes = bytes, .sector = BCH_SB_SECTOR };
}

/* Field types in on-disk order, and their sizes; returns how many. */
static unsigned field_list(const struct bch_sb *sb, unsigned *types, unsigned *u64s)
{
	unsigned n = 0;

	sb_for_each_field(f, sb) {
		types[n] = le32_to_cpu(f->type);
		u64s[n++] = le32_to_cpu(f->u64s);
	}
	return n;
}

static void expect_fields(const struct bch_sb *sb, const unsigned *types,
			  const unsigned *u64s, unsigned nr)
{
	unsigned t[32], u[32], n = field_list(sb, t, u), total = 0;

	ck_assert_uint_eq(n, nr);
	for (unsigned i = 0; i < nr; i++) {
		ck_assert_msg(t[i] == types[i] && (!u64s || u[i] == u64s[i]),
			      "field %u: type %u u64s %u, wanted type %u u64s %u",
			      i, t[i], u[i], types[i], u64s ? u64s[i] : u[i]);
		total += u[i];
	}
	ck_assert_uint_eq(le32_to_cpu(sb->u64s), total);
}

static void expect_valid(const struct bch_sb_buf *buf)
{
	struct printbuf err = PRINTBUF;
	int ret = bch_sb_validate(buf, &err);

	ck_assert_msg(!ret, "invalid: %s", pb_cstr(&err));
	pb_exit(&err);
}

/* Everything past the end of the superblock in the buffer stays zero. */
static void expect_tail_zero(const struct bch_sb_buf *buf)
{
	const u8 *p = (const u8 *)bch_sb_end(buf->sb);
	const u8 *end = (const u8 *)buf->sb + buf->bytes;

	ck_assert(p <= end);
	for (; p < end; p++)
		ck_assert_msg(!*p, "byte %zu past the end is not zero", (size_t)(p - (const u8 *)buf->sb));
}

static void fill(struct bch_sb_field *f, u8 v)
{
	memset(f->data, v, 8 * (le32_to_cpu(f->u64s) - 1));
}

static bool all(const void *p, size_t n, u8 v)
{
	for (size_t i = 0; i < n; i++)
		if (((const u8 *)p)[i] != v)
			return false;
	return true;
}

START_TEST(test_resize)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	struct bch_sb_field *a, *b, *c;

	a = bch_sb_field_resize(&buf, BCH_SB_FIELD_counters, 3, &err);
	ck_assert_ptr_nonnull(a);
	fill(a, 0xaa);
	b = bch_sb_field_resize(&buf, BCH_SB_FIELD_errors, 2, &err);
	ck_assert_ptr_nonnull(b);
	fill(b, 0xbb);
	c = bch_sb_field_resize(&buf, BCH_SB_FIELD_ext, 4, &err);
	ck_assert_ptr_nonnull(c);
	fill(c, 0xcc);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 10, 12, 13 }, (unsigned[]){ 56, 22, 3, 2, 4 }, 5);
	expect_tail_zero(&buf);

	/* growing a middle section: its place kept, new words zero, later ones moved */
	b = bch_sb_field_resize(&buf, BCH_SB_FIELD_errors, 5, &err);
	ck_assert_ptr_nonnull(b);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 10, 12, 13 }, (unsigned[]){ 56, 22, 3, 5, 4 }, 5);
	ck_assert(all(b->data, 8, 0xbb) && all((u8 *)b->data + 8, 24, 0));
	c = bch_sb_field_get(buf.sb, BCH_SB_FIELD_ext);
	ck_assert(all(c->data, 24, 0xcc));
	a = bch_sb_field_get(buf.sb, BCH_SB_FIELD_counters);
	ck_assert(all(a->data, 16, 0xaa));

	/* shrinking: contents up to the new size kept, the tail zeroed */
	b = bch_sb_field_resize(&buf, BCH_SB_FIELD_errors, 2, &err);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 10, 12, 13 }, (unsigned[]){ 56, 22, 3, 2, 4 }, 5);
	ck_assert(all(b->data, 8, 0xbb));
	ck_assert(all(bch_sb_field_get(buf.sb, BCH_SB_FIELD_ext)->data, 24, 0xcc));
	expect_tail_zero(&buf);

	/* removing */
	ck_assert_ptr_null(bch_sb_field_resize(&buf, BCH_SB_FIELD_counters, 0, &err));
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 12, 13 }, (unsigned[]){ 56, 22, 2, 4 }, 4);
	ck_assert(all(bch_sb_field_get(buf.sb, BCH_SB_FIELD_errors)->data, 8, 0xbb));
	ck_assert(all(bch_sb_field_get(buf.sb, BCH_SB_FIELD_ext)->data, 24, 0xcc));
	expect_tail_zero(&buf);
	bch_sb_field_delete(&buf, BCH_SB_FIELD_counters);
	bch_sb_field_delete(&buf, BCH_SB_FIELD_ext);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 12 }, (unsigned[]){ 56, 22, 2 }, 3);
	expect_tail_zero(&buf);
	ck_assert_str_eq(pb_cstr(&err), "");
	expect_valid(&buf);

	/* minsize: only grows */
	ck_assert_ptr_nonnull(bch_sb_field_get_minsize(&buf, BCH_SB_FIELD_errors, 1, &err));
	ck_assert_ptr_nonnull(bch_sb_field_get_minsize(&buf, BCH_SB_FIELD_ext, 12, &err));
	ck_assert_ptr_nonnull(bch_sb_field_get_minsize(&buf, BCH_SB_FIELD_errors, 3, &err));
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 12, 13 }, (unsigned[]){ 56, 22, 3, 12 }, 4);

	free(buf.sb);
	pb_exit(&err);
}
END_TEST

START_TEST(test_resize_limit)
{
	/* 512 << 3 = 4096 bytes in all */
	struct bch_sb_buf buf = test_sb(3);
	struct printbuf err = PRINTBUF;
	unsigned room = (4096 - BCH_SB_HEADER_BYTES) / 8 - le32_to_cpu(buf.sb->u64s);
	size_t before = sb_bytes(buf.sb);
	u8 *copy = malloc(before);

	memcpy(copy, buf.sb, before);
	ck_assert_ptr_null(bch_sb_field_resize(&buf, BCH_SB_FIELD_clean, room + 1, &err));
	ck_assert_msg(strstr(pb_cstr(&err), "would not fit"), "%s", pb_cstr(&err));
	ck_assert_uint_eq(sb_bytes(buf.sb), before);
	ck_assert(!memcmp(copy, buf.sb, before));

	pb_reset(&err);
	ck_assert_ptr_nonnull(bch_sb_field_resize(&buf, BCH_SB_FIELD_clean, room, &err));
	ck_assert_uint_eq(sb_bytes(buf.sb), 4096);
	ck_assert_uint_le(buf.bytes, 4096);
	ck_assert_ptr_null(bch_sb_field_resize(&buf, BCH_SB_FIELD_ext, 1, &err));
	/* shrinking is always possible */
	ck_assert_ptr_nonnull(bch_sb_field_resize(&buf, BCH_SB_FIELD_clean, 1, &err));
	free(copy);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

START_TEST(test_clean_field)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	struct bch_sb_field_clean *c = bch_sb_field_resize_t(&buf, clean, BCH_SB_CLEAN_U64s, &err);

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(le32_to_cpu(c->field.u64s), 324);
	ck_assert(all(&c->flags, 8 * 324 - 8, 0));
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 6 }, (unsigned[]){ 56, 22, 324 }, 3);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

static void expect_ranges(const struct bch_sb *sb, const u64 *want, unsigned nr)
{
	const struct bch_sb_field_journal_v2 *j = bch_sb_field_get_t(sb, journal_v2);

	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(le32_to_cpu(j->field.u64s), 1 + 2 * nr);
	for (unsigned i = 0; i < nr; i++) {
		ck_assert_uint_eq(le64_to_cpu(j->d[i].start), want[2 * i]);
		ck_assert_uint_eq(le64_to_cpu(j->d[i].nr), want[2 * i + 1]);
	}
}

START_TEST(test_journal_v2)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	u64 b[64];
	struct bch_sb_field_journal *old;

	for (unsigned i = 0; i < 64; i++)
		b[i] = 17 + i;
	ck_assert_int_eq(bch_sb_journal_v2_set(&buf, b, 64, &err), 0);
	expect_ranges(buf.sb, (u64[]){ 17, 64 }, 1);
	expect_valid(&buf);

	/* a legacy journal section goes; v2 keeps its place */
	old = bch_sb_field_resize_t(&buf, journal, 3, &err);
	old->buckets[0] = cpu_to_le64(5);
	old->buckets[1] = cpu_to_le64(6);
	ck_assert_int_eq(bch_sb_journal_v2_set(&buf, (u64[]){ 3, 4, 5, 9, 10, 2 }, 6, &err), 0);
	expect_ranges(buf.sb, (u64[]){ 3, 3, 9, 2, 2, 1 }, 3);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 9 }, NULL, 3);

	ck_assert_int_eq(bch_sb_journal_v2_set(&buf, (u64[]){ 100 }, 1, &err), 0);
	expect_ranges(buf.sb, (u64[]){ 100, 1 }, 1);

	ck_assert_int_eq(bch_sb_journal_v2_set(&buf, NULL, 0, &err), 0);
	expect_fields(buf.sb, (unsigned[]){ 11, 1 }, NULL, 2);
	expect_tail_zero(&buf);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

/* A v1 entry in a small buffer */
struct test_entry {
	u8 data_type, nr_devs, nr_required, devs[5];
};

static int set_replicas(struct bch_sb_buf *buf, struct test_entry *e, unsigned nr,
			struct printbuf *err)
{
	const struct bch_replicas_entry_v1 *p[64];

	for (unsigned i = 0; i < nr; i++)
		p[i] = (const void *)&e[i];
	return bch_sb_replicas_set(buf, p, nr, err);
}

static void expect_body(const struct bch_sb *sb, unsigned type, const u8 *want,
			size_t n, unsigned u64s)
{
	const struct bch_sb_field *f = bch_sb_field_get(sb, type);

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(le32_to_cpu(f->u64s), u64s);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(((const u8 *)f->data)[i] == want[i], "byte %zu: %02x, wanted %02x",
			      i, ((const u8 *)f->data)[i], want[i]);
	ck_assert(all((const u8 *)f->data + n, 8 * (u64s - 1) - n, 0));
}

START_TEST(test_replicas_reference)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	/* as the reference's format writes: 1 device, then 3 devices --replicas=2 */
	struct test_entry one[] = {
		{ BCH_DATA_journal, 1, 1, { 0 } },
		{ BCH_DATA_btree, 1, 1, { 0 } },
		{ BCH_DATA_journal, 1, 1, { 0 } },
	};
	struct test_entry three[] = {
		{ BCH_DATA_journal, 2, 1, { 2, 1 } },
		{ BCH_DATA_btree, 2, 1, { 2, 0 } },
		{ BCH_DATA_journal, 2, 1, { 0, 1 } },
		{ BCH_DATA_btree, 2, 1, { 1, 2 } },
		{ BCH_DATA_journal, 2, 1, { 2, 0 } },
	};

	ck_assert_int_eq(set_replicas(&buf, one, 3, &err), 0);
	expect_body(buf.sb, BCH_SB_FIELD_replicas_v0,
		    (u8[]){ 3, 1, 0, 2, 1, 0 }, 6, 2);
	ck_assert_int_eq(set_replicas(&buf, three, 5, &err), 0);
	expect_body(buf.sb, BCH_SB_FIELD_replicas_v0,
		    (u8[]){ 3, 2, 0, 2,  2, 2, 0, 2,  3, 2, 1, 2,  2, 2, 0, 1,  2, 2, 1, 2 }, 20, 4);
	expect_valid(&buf);
	expect_tail_zero(&buf);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

START_TEST(test_replicas_v1)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	struct test_entry e[] = {
		{ BCH_DATA_user, 3, 2, { 2, 0, 1 } },
		{ BCH_DATA_btree, 1, 1, { 0 } },
	};

	ck_assert_int_eq(set_replicas(&buf, e, 1, &err), 0);
	ck_assert_int_eq(set_replicas(&buf, e + 1, 1, &err), 0);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 3 }, NULL, 3);

	/* one entry needing nr_required: v1 replaces v0 */
	ck_assert_int_eq(set_replicas(&buf, e, 2, &err), 0);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 7 }, NULL, 3);
	/* sorted: btree (3) before user (4); two entries, eytzinger: [user, btree] */
	expect_body(buf.sb, BCH_SB_FIELD_replicas,
		    (u8[]){ 4, 3, 2, 0, 1, 2,  3, 1, 1, 0 }, 10, 3);
	expect_valid(&buf);

	/* and back */
	ck_assert_int_eq(set_replicas(&buf, e + 1, 1, &err), 0);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 3 }, NULL, 3);

	/* nothing: an empty v0 section, as the kernel leaves it */
	ck_assert_int_eq(set_replicas(&buf, NULL, 0, &err), 0);
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 3 }, (unsigned[]){ 56, 22, 1 }, 3);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

START_TEST(test_replicas_bad)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	struct test_entry bad[] = {
		{ BCH_DATA_btree, 0, 1, { 0 } },
		{ BCH_DATA_btree, 2, 2, { 0, 1 } },
		{ BCH_DATA_btree, 1, 1, { 7 } },
		{ BCH_DATA_btree, 2, 1, { 1, 1 } },
		{ 0, 1, 1, { 0 } },
	};
	const char *why[] = { "without devices", "requiring 2 of 2", "not a member",
			      "twice", "data type 0" };
	size_t before = sb_bytes(buf.sb);

	for (unsigned i = 0; i < 5; i++) {
		pb_reset(&err);
		ck_assert_int_eq(set_replicas(&buf, &bad[i], 1, &err), -BCH_ERR_bad_argument);
		ck_assert_msg(strstr(pb_cstr(&err), why[i]), "%u: '%s'", i, pb_cstr(&err));
	}
	ck_assert_uint_eq(sb_bytes(buf.sb), before);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

/* In-order walk of the eytzinger tree of the stored entries must be sorted. */
static void inorder(const u8 **e, unsigned n, unsigned p, const u8 **out, unsigned *k)
{
	if (p >= n)
		return;
	inorder(e, n, 2 * p + 1, out, k);
	out[(*k)++] = e[p];
	inorder(e, n, 2 * p + 2, out, k);
}

static int entry_cmp(const u8 *l, const u8 *r)
{
	u8 a[8] = { 0 }, b[8] = { 0 };

	memcpy(a, l, 2 + l[1]);
	memcpy(b, r, 2 + r[1]);
	/* v0 as v1: nr_required 1 between nr_devs and the devices */
	u8 la[9] = { a[0], a[1], 1 }, lb[9] = { b[0], b[1], 1 };
	memcpy(la + 3, a + 2, 6);
	memcpy(lb + 3, b + 2, 6);
	return memcmp(la, lb, sizeof(la));
}

START_TEST(test_replicas_eytzinger)
{
	struct test_entry all_e[64];
	unsigned nr_all = 0;

	/* every data type that may have replicas, on every nonempty set of 3 devices */
	for (unsigned t = BCH_DATA_sb; t <= BCH_DATA_cached; t++)
		for (unsigned set = 1; set < 8; set++) {
			struct test_entry *e = &all_e[nr_all++];

			memset(e, 0, sizeof(*e));
			e->data_type = t;
			e->nr_required = 1;
			for (unsigned d = 3; d-- > 0;)
				if (set & (1U << d))
					e->devs[e->nr_devs++] = d;
		}

	for (unsigned n = 1; n <= nr_all; n++) {
		struct bch_sb_buf buf = test_sb(11);
		struct printbuf err = PRINTBUF;
		const struct bch_sb_field *f;
		const u8 *e[64], *sorted[64], *p;
		unsigned k = 0, got = 0;

		/* a scrambled subset */
		struct test_entry in[64];
		for (unsigned i = 0; i < n; i++)
			in[i] = all_e[(i * 37) % nr_all];
		ck_assert_int_eq(set_replicas(&buf, in, n, &err), 0);
		f = bch_sb_field_get(buf.sb, BCH_SB_FIELD_replicas_v0);
		ck_assert_ptr_nonnull(f);
		for (p = (const u8 *)f->data; p < (const u8 *)sb_field_end(f) && *p; p += 2 + p[1])
			e[got++] = p;
		ck_assert_uint_eq(got, n);
		inorder(e, got, 0, sorted, &k);
		for (unsigned i = 0; i + 1 < got; i++)
			ck_assert_msg(entry_cmp(sorted[i], sorted[i + 1]) < 0, "n %u: not in order at %u", n, i);
		expect_valid(&buf);
		free(buf.sb);
		pb_exit(&err);
	}
}
END_TEST

/* The downgrade section the reference's format wrote (1.13, no stripes). */
static const char downgrade_ref_hex[] =
	"0904200000000000000000000000000000000c004c004d004e00440045004600470048004a0049004b0050000a04"
	"200000000000000000000000000000000d004c004d004e00440045004600470048004a0049004b00110150000c04"
	"2000000000000000000000000000000001001001";

START_TEST(test_downgrade)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	u8 want[sizeof(downgrade_ref_hex) / 2];
	size_t n = strlen(downgrade_ref_hex) / 2;

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(sscanf(downgrade_ref_hex + 2 * i, "%2hhx", &want[i]), 1);
	ck_assert_uint_eq(n, 112);
	ck_assert_int_eq(bch_sb_downgrade_set(&buf, &err), 0);
	expect_body(buf.sb, BCH_SB_FIELD_downgrade, want, n, 15);
	expect_valid(&buf);

	/* a longer section stays as long */
	ck_assert_ptr_nonnull(bch_sb_field_resize(&buf, BCH_SB_FIELD_downgrade, 20, &err));
	ck_assert_int_eq(bch_sb_downgrade_set(&buf, &err), 0);
	expect_body(buf.sb, BCH_SB_FIELD_downgrade, want, n, 20);

	/* another major version has none of these */
	buf.sb->version = cpu_to_le16(BCH_VERSION(2, 0));
	bch_sb_field_delete(&buf, BCH_SB_FIELD_downgrade);
	ck_assert_int_eq(bch_sb_downgrade_set(&buf, &err), 0);
	expect_body(buf.sb, BCH_SB_FIELD_downgrade, want, 0, 1);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

START_TEST(test_mark_initialized)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	u64 flags0 = le64_to_cpu(buf.sb->flags[0]);
	size_t bytes;
	u8 *copy;

	ck_assert_uint_eq(le64_to_cpu(buf.sb->features[0]), 0x7ba80);
	ck_assert_int_eq(bch_sb_mark_initialized(&buf, &err), 0);
	ck_assert_uint_eq(le64_to_cpu(buf.sb->flags[0]), flags0 | 1);
	ck_assert_uint_eq(sb_version_upgrade_complete(buf.sb), bcachefs_metadata_version_current);
	ck_assert_uint_eq(le64_to_cpu(buf.sb->features[0]), 0x78a80);
	ck_assert_uint_eq(le64_to_cpu(buf.sb->compat[0]), 0xf);
	ck_assert(!sb_clean(buf.sb));
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 10, 12, 13 },
		      (unsigned[]){ 56, 22, 80, 1, 12 }, 5);
	ck_assert(all(bch_sb_field_get(buf.sb, BCH_SB_FIELD_counters)->data, 8 * 79, 0));
	ck_assert(all(bch_sb_field_get(buf.sb, BCH_SB_FIELD_ext)->data, 8 * 11, 0));
	expect_valid(&buf);

	/* again: nothing changes */
	bytes = sb_bytes(buf.sb);
	copy = malloc(bytes);
	memcpy(copy, buf.sb, bytes);
	ck_assert_int_eq(bch_sb_mark_initialized(&buf, &err), 0);
	ck_assert_uint_eq(sb_bytes(buf.sb), bytes);
	ck_assert(!memcmp(copy, buf.sb, bytes));
	free(copy);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

/* The order the kernel's format leaves, with the clean section last */
START_TEST(test_init_order)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;
	struct test_entry e[] = { { BCH_DATA_btree, 1, 1, { 0 } }, { BCH_DATA_journal, 1, 1, { 0 } } };
	u64 b[64];

	for (unsigned i = 0; i < 64; i++)
		b[i] = 17 + i;
	ck_assert_int_eq(bch_sb_mark_initialized(&buf, &err), 0);
	ck_assert_int_eq(bch_sb_journal_v2_set(&buf, b, 64, &err), 0);
	ck_assert_int_eq(bch_sb_downgrade_set(&buf, &err), 0);
	ck_assert_int_eq(set_replicas(&buf, e, 2, &err), 0);
	ck_assert_ptr_nonnull(bch_sb_field_resize(&buf, BCH_SB_FIELD_clean, BCH_SB_CLEAN_U64s, &err));
	expect_fields(buf.sb, (unsigned[]){ 11, 1, 10, 12, 13, 9, 14, 3, 6 },
		      (unsigned[]){ 56, 22, 80, 1, 12, 3, 15, 2, 324 }, 9);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

static const struct bch_member *v2(const struct bch_sb *sb, unsigned i)
{
	const struct bch_sb_field_members_v2 *mi = bch_sb_field_get_t(sb, members_v2);

	return (const void *)(mi->members + i * sizeof(struct bch_member));
}

static const struct bch_member *v1(const struct bch_sb *sb, unsigned i)
{
	const struct bch_sb_field_members_v1 *mi = bch_sb_field_get_t(sb, members_v1);

	return (const void *)(mi->members + i * BCH_MEMBER_V1_BYTES);
}

START_TEST(test_member_freespace)
{
	struct bch_sb_buf buf = test_sb(11);
	u64 before = le64_to_cpu(v2(buf.sb, 1)->flags);

	bch_sb_member_set_freespace_initialized(buf.sb, 1, true);
	ck_assert_uint_eq(le64_to_cpu(v2(buf.sb, 1)->flags), before | (1ULL << 30));
	ck_assert(!memcmp(v1(buf.sb, 1), v2(buf.sb, 1), BCH_MEMBER_V1_BYTES));
	ck_assert(!member_freespace_initialized(v2(buf.sb, 0)));
	ck_assert(!member_freespace_initialized(v1(buf.sb, 2)));
	bch_sb_member_set_freespace_initialized(buf.sb, 1, false);
	ck_assert_uint_eq(le64_to_cpu(v1(buf.sb, 1)->flags), before);
	/* no such member: nothing */
	bch_sb_member_set_freespace_initialized(buf.sb, 7, true);
	bch_sb_member_set_freespace_initialized(buf.sb, 1000, true);
	expect_valid(&buf);
	free(buf.sb);
}
END_TEST

START_TEST(test_member_bitmap)
{
	struct bch_sb_buf buf = test_sb(11);
	/* the reference's default 1 GiB format: its 9 nodes of 256 sectors */
	static const u64 nodes[] = { 24832, 25600, 20992, 24064, 23296, 21760, 24320, 22528, 21504 };
	const struct bch_member *m = v2(buf.sb, 0);

	for (unsigned i = 0; i < 9; i++)
		bch_sb_member_btree_bitmap_mark(buf.sb, 0, nodes[i], 256);
	ck_assert_uint_eq(m->btree_bitmap_shift, 9);
	ck_assert_uint_eq(le64_to_cpu(m->btree_allocated_bitmap), 0x5b60000000000ULL);
	ck_assert_uint_eq(v1(buf.sb, 0)->btree_bitmap_shift, 9);
	ck_assert_uint_eq(v2(buf.sb, 1)->btree_bitmap_shift, 0);

	/* small first: bits at shift 0, folded when the shift grows */
	m = v2(buf.sb, 1);
	bch_sb_member_btree_bitmap_mark(buf.sb, 1, 0, 8);
	ck_assert_uint_eq(m->btree_bitmap_shift, 0);
	ck_assert_uint_eq(le64_to_cpu(m->btree_allocated_bitmap), 0xff);
	bch_sb_member_btree_bitmap_mark(buf.sb, 1, 60, 4);
	ck_assert_uint_eq(le64_to_cpu(m->btree_allocated_bitmap), 0xf0000000000000ffULL);
	/* end 65: 128 sectors → shift 1 */
	bch_sb_member_btree_bitmap_mark(buf.sb, 1, 64, 1);
	ck_assert_uint_eq(m->btree_bitmap_shift, 1);
	ck_assert_uint_eq(le64_to_cpu(m->btree_allocated_bitmap), 0xfULL | (3ULL << 30) | (1ULL << 32));
	/* end 1 << 20: shift 14, everything below folds into bit 0 */
	bch_sb_member_btree_bitmap_mark(buf.sb, 1, (1 << 20) - 1, 1);
	ck_assert_uint_eq(m->btree_bitmap_shift, 14);
	ck_assert_uint_eq(le64_to_cpu(m->btree_allocated_bitmap), 1 | (1ULL << 63));
	/* a range spanning several bits */
	bch_sb_member_btree_bitmap_mark(buf.sb, 1, 3 << 14, 2 << 14);
	ck_assert_uint_eq(le64_to_cpu(m->btree_allocated_bitmap), 1 | (3ULL << 3) | (1ULL << 63));
	ck_assert(!memcmp(v1(buf.sb, 1), v2(buf.sb, 1), BCH_MEMBER_V1_BYTES));

	/* order of marking does not matter */
	for (unsigned i = 9; i-- > 0;)
		bch_sb_member_btree_bitmap_mark(buf.sb, 2, nodes[i], 256);
	ck_assert_uint_eq(v2(buf.sb, 2)->btree_bitmap_shift, 9);
	ck_assert_uint_eq(le64_to_cpu(v2(buf.sb, 2)->btree_allocated_bitmap), 0x5b60000000000ULL);
	expect_valid(&buf);
	free(buf.sb);
}
END_TEST

START_TEST(test_members_v1_sync)
{
	struct bch_sb_buf buf = test_sb(11);
	struct printbuf err = PRINTBUF;

	for (unsigned i = 0; i < TEST_NR_DEVS; i++)
		bch_sb_member_v2_mut(buf.sb, i)->last_mount = cpu_to_le64(1700000000 + i);
	ck_assert_uint_eq(le64_to_cpu(v1(buf.sb, 2)->last_mount), 0);
	ck_assert_int_eq(bch_sb_members_v1_sync(&buf, &err), 0);
	for (unsigned i = 0; i < TEST_NR_DEVS; i++)
		ck_assert(!memcmp(v1(buf.sb, i), v2(buf.sb, i), BCH_MEMBER_V1_BYTES));
	ck_assert_ptr_null(bch_sb_member_v2_mut(buf.sb, TEST_NR_DEVS));

	/* a missing members_v1 is added at the end */
	bch_sb_field_delete(&buf, BCH_SB_FIELD_members_v1);
	ck_assert_int_eq(bch_sb_members_v1_sync(&buf, &err), 0);
	expect_fields(buf.sb, (unsigned[]){ 11, 1 }, (unsigned[]){ 56, 22 }, 2);
	for (unsigned i = 0; i < TEST_NR_DEVS; i++)
		ck_assert(!memcmp(v1(buf.sb, i), v2(buf.sb, i), BCH_MEMBER_V1_BYTES));
	expect_valid(&buf);
	free(buf.sb);
	pb_exit(&err);
}
END_TEST

static Suite *sb_edit_suite(void)
{
	Suite *s = suite_create("sb_edit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_resize);
	tcase_add_test(tc, test_resize_limit);
	tcase_add_test(tc, test_clean_field);
	tcase_add_test(tc, test_journal_v2);
	tcase_add_test(tc, test_replicas_reference);
	tcase_add_test(tc, test_replicas_v1);
	tcase_add_test(tc, test_replicas_bad);
	tcase_add_test(tc, test_replicas_eytzinger);
	tcase_add_test(tc, test_downgrade);
	tcase_add_test(tc, test_mark_initialized);
	tcase_add_test(tc, test_init_order);
	tcase_add_test(tc, test_member_freespace);
	tcase_add_test(tc, test_member_bitmap);
	tcase_add_test(tc, test_members_v1_sync);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sb_edit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

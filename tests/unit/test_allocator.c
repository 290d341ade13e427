/* Unit tests for the allocator: bucket choice, open buckets shared by nodes, replicas, journal-flush waits, the btree bitmap. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc/allocator.h"
#include "alloc/derive.h"
#include "btree/cache.h"
#include "core/fs.h"
#include "journal/journal.h"
#include "sb/opts.h"
#include "sb/sb.h"
#include "util/errcode.h"

#define BLOCK_SECTORS	8
#define BUCKET_SECTORS	64
#define NODE_SECTORS	16		/* four nodes per bucket */
#define DEV_BUCKETS	32
#define FIRST_BUCKET	2
#define DATA_ALL	((1U << BCH_DATA_journal) | (1U << BCH_DATA_btree) | (1U << BCH_DATA_user))

static const u64 jbuckets[] = { 3, 4 };

static struct bch_sb *sb_make(unsigned nr_devs, unsigned replicas)
{
	size_t mi_bytes = sizeof(struct bch_sb_field_members_v2) + nr_devs * 144;
	struct bch_sb *sb = calloc(1, sizeof(*sb) + mi_bytes);
	struct bch_sb_field_members_v2 *mi = (void *)sb->fields;

	sb->u64s = cpu_to_le32(mi_bytes / 8);
	sb->nr_devices = nr_devs;
	mi->field.u64s = cpu_to_le32(mi_bytes / 8);
	mi->field.type = cpu_to_le32(BCH_SB_FIELD_members_v2);
	mi->member_bytes = cpu_to_le16(144);
	for (unsigned d = 0; d < nr_devs; d++) {
		struct bch_member *m = (void *)(mi->members + d * 144);

		m->uuid[0] = d + 1;
		m->nbuckets = cpu_to_le64(DEV_BUCKETS);
		m->first_bucket = cpu_to_le16(FIRST_BUCKET);
		m->bucket_size = cpu_to_le16(BUCKET_SECTORS);
	}
	set_sb_meta_replicas_want(sb, replicas);
	set_sb_meta_replicas_req(sb, 1);
	set_sb_data_replicas_want(sb, 1);
	set_sb_data_replicas_req(sb, 1);
	return sb;
}

static struct bch_dev *dev_make(unsigned idx)
{
	struct bch_dev *ca = calloc(1, sizeof(*ca));
	char path[] = "/tmp/test_allocator.XXXXXX";

	ca->idx = idx;
	ca->fd = mkstemp(path);
	ck_assert_int_ge(ca->fd, 0);
	ca->path = strdup(path);
	ca->size = (u64)DEV_BUCKETS * BUCKET_SECTORS * 512;
	ck_assert_int_eq(ftruncate(ca->fd, ca->size), 0);
	ca->mi = (struct bch_member_cpu) {
		.exists = true, .nbuckets = DEV_BUCKETS, .first_bucket = FIRST_BUCKET,
		.bucket_size = BUCKET_SECTORS, .state = BCH_MEMBER_STATE_rw, .durability = 1,
		.data_allowed = DATA_ALL,
	};
	ca->nr_bucket_gens = DEV_BUCKETS;
	ca->bucket_gens = calloc(DEV_BUCKETS, 1);
	for (unsigned b = 0; b < DEV_BUCKETS; b++)
		ca->bucket_gens[b] = b * 3 + idx;
	ca->journal_buckets = malloc(sizeof(jbuckets));
	memcpy(ca->journal_buckets, jbuckets, sizeof(jbuckets));
	ca->nr_journal_buckets = 2;
	return ca;
}

static struct bch_fs *fs_make(unsigned nr_devs, unsigned replicas)
{
	struct bch_fs *c = calloc(1, sizeof(*c));
	struct printbuf err = PRINTBUF;

	c->sb.block_size = BLOCK_SECTORS;
	c->sb.btree_node_size = NODE_SECTORS;
	c->sb.version = bcachefs_metadata_version_current;
	c->sb.nr_devices = nr_devs;
	c->disk_sb.sb = sb_make(nr_devs, replicas);
	for (unsigned d = 0; d < nr_devs; d++) {
		c->devs[d] = dev_make(d);
		c->sb.members[d] = c->devs[d]->mi;
		c->nr_devs++;
	}
	ck_assert_msg(!bch_allocator_start(c, &err), "%s", pb_cstr(&err));
	pb_exit(&err);
	return c;
}

static void fs_free(struct bch_fs *c)
{
	bch_allocator_exit(c);
	bch_btree_cache_exit(c);
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

static u64 ptr_bucket(const struct bch_extent_ptr *p)
{
	return ptr_offset(p) / BUCKET_SECTORS;
}

static void node_alloc(struct bch_fs *c, struct bch_extent_ptr *ptrs, unsigned *nr)
{
	struct printbuf err = PRINTBUF;

	ck_assert_msg(!bch_alloc_btree_node(c, ptrs, nr, &err), "%s", pb_cstr(&err));
	pb_exit(&err);
}

/* The alloc trigger's view: the bucket now holds data of this type. */
static void bucket_set(struct bch_fs *c, unsigned dev, u64 bucket, unsigned type, u64 seq)
{
	struct bch_alloc_v4 a = { .data_type = type, .gen = c->devs[dev]->bucket_gens[bucket] };

	bch_allocator_bucket_update(c, dev, bucket, &a, seq);
}

/* Nodes fill a bucket in order, then the next free one; metadata buckets are skipped. */
START_TEST(test_nodes_share_bucket)
{
	struct bch_fs *c = fs_make(1, 1);
	struct bch_extent_ptr p[BCH_REPLICAS_MAX];
	unsigned nr;
	u64 first = 0;

	for (unsigned i = 0; i < 12; i++) {
		node_alloc(c, p, &nr);
		ck_assert_uint_eq(nr, 1);
		ck_assert_uint_eq(ptr_dev(&p[0]), 0);
		if (!i)
			first = ptr_bucket(&p[0]);
		/* below first_bucket and the journal buckets are never handed out */
		ck_assert_uint_ge(ptr_bucket(&p[0]), FIRST_BUCKET);
		ck_assert_uint_ne(ptr_bucket(&p[0]), 3);
		ck_assert_uint_ne(ptr_bucket(&p[0]), 4);
		ck_assert_uint_eq(ptr_offset(&p[0]) % BUCKET_SECTORS, (i % 4) * NODE_SECTORS);
		ck_assert_uint_eq(ptr_gen(&p[0]), c->devs[0]->bucket_gens[ptr_bucket(&p[0])]);
		ck_assert(bch_allocator_bucket_is_open(c, 0, ptr_bucket(&p[0])));
		/* the pointer's type bit, as extent entries have it */
		ck_assert_uint_eq(le64_to_cpu(p[0].v) & 1, 1);
	}
	ck_assert_uint_eq(first, FIRST_BUCKET);
	/* 12 nodes: three buckets, 2, 5, 6 */
	ck_assert_uint_eq(ptr_bucket(&p[0]), 6);
	ck_assert(!bch_allocator_bucket_is_open(c, 0, 2));
	ck_assert(!bch_allocator_bucket_is_open(c, 0, 5));
	fs_free(c);
}
END_TEST

/* metadata_replicas 2: one pointer per device; a device without btree data gets none. */
START_TEST(test_replicas)
{
	struct bch_fs *c = fs_make(3, 2);
	struct bch_extent_ptr p[BCH_REPLICAS_MAX];
	unsigned nr;
	struct printbuf err = PRINTBUF;

	c->sb.members[1].data_allowed = 1U << BCH_DATA_user;
	for (unsigned i = 0; i < 6; i++) {
		node_alloc(c, p, &nr);
		ck_assert_uint_eq(nr, 2);
		ck_assert_uint_ne(ptr_dev(&p[0]), ptr_dev(&p[1]));
		ck_assert_uint_ne(ptr_dev(&p[0]), 1);
		ck_assert_uint_ne(ptr_dev(&p[1]), 1);
	}
	/* only one device left for btree nodes: degraded to metadata_replicas_required */
	c->sb.members[2].state = BCH_MEMBER_STATE_ro;
	node_alloc(c, p, &nr);
	ck_assert_uint_eq(nr, 1);
	ck_assert_uint_eq(ptr_dev(&p[0]), 0);
	/* none: an error that names the devices */
	c->sb.members[0].state = BCH_MEMBER_STATE_ro;
	ck_assert_int_eq(bch_alloc_btree_node(c, p, &nr, &err), -BCH_ERR_no_space);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&err), "btree nodes"));
	pb_exit(&err);
	fs_free(c);
}
END_TEST

/* A bucket emptied by an unflushed journal seq waits; a used one is never taken. */
START_TEST(test_journal_wait)
{
	struct bch_fs *c = fs_make(1, 1);
	struct bch_extent_ptr p[BCH_REPLICAS_MAX];
	unsigned nr;

	bucket_set(c, 0, 2, BCH_DATA_user, 5);
	bucket_set(c, 0, 5, BCH_DATA_btree, 5);
	bucket_set(c, 0, 5, BCH_DATA_need_discard, 7);
	bucket_set(c, 0, 5, BCH_DATA_free, 8);
	c->journal.w.flushed_seq = 6;
	bch_allocator_journal_flushed(c, 6);
	node_alloc(c, p, &nr);
	ck_assert_uint_eq(ptr_bucket(&p[0]), 6);	/* 2 used, 3-4 journal, 5 waits for seq 7 */

	/* the journal catches up: bucket 5 is next once the cursor wraps */
	c->journal.w.flushed_seq = 8;
	bch_allocator_journal_flushed(c, 8);
	for (unsigned i = 0; i < 3; i++)
		node_alloc(c, p, &nr);
	for (unsigned b = 7; b < DEV_BUCKETS; b++)
		bucket_set(c, 0, b, BCH_DATA_user, 1);
	node_alloc(c, p, &nr);
	ck_assert_uint_eq(ptr_bucket(&p[0]), 5);
	fs_free(c);
}
END_TEST

/* Nodes outside the btree bitmap mark it; later nodes prefer marked buckets, data avoids them. */
START_TEST(test_btree_bitmap)
{
	struct bch_fs *c = fs_make(1, 1);
	struct bch_extent_ptr p[BCH_REPLICAS_MAX];
	struct bch_member tmp;
	const struct bch_member *m;
	unsigned nr, got;
	struct printbuf err = PRINTBUF;

	node_alloc(c, p, &nr);
	ck_assert(bch_member_btree_bitmap_covers(&c->sb.members[0], ptr_offset(&p[0]),
						 NODE_SECTORS));
	ck_assert(bch_member_btree_bitmap_covers(&c->devs[0]->mi, ptr_offset(&p[0]),
						 NODE_SECTORS));
	m = bch_sb_member(c->disk_sb.sb, 0, &tmp);
	ck_assert_uint_eq(le64_to_cpu(m->btree_allocated_bitmap),
			  c->sb.members[0].btree_allocated_bitmap);
	ck_assert_uint_eq(m->btree_bitmap_shift, c->sb.members[0].btree_bitmap_shift);
	/* 64 bits must cover the node's end: 2048 sectors need shift 5 */
	ck_assert_uint_ge(64ULL << c->sb.members[0].btree_bitmap_shift,
			  ptr_offset(&p[0]) + NODE_SECTORS);

	/* user data goes where no btree node may be */
	ck_assert(!bch_alloc_data(c, 0, 1, 100, p, &nr, &got, &err));
	ck_assert_uint_eq(nr, 1);
	ck_assert_uint_eq(got, BUCKET_SECTORS);
	ck_assert(!bch_member_btree_bitmap_covers(&c->sb.members[0], ptr_offset(&p[0]),
						  BUCKET_SECTORS));
	/* the rest of the data bucket, then a new one */
	ck_assert(!bch_alloc_data(c, 0, 1, 10, p, &nr, &got, &err));
	ck_assert_uint_eq(got, 10);
	ck_assert_uint_eq(ptr_offset(&p[0]) % BUCKET_SECTORS, 0);
	ck_assert(!bch_alloc_data(c, 0, 1, 60, p, &nr, &got, &err));
	ck_assert_uint_eq(got, 54);
	ck_assert_uint_eq(ptr_offset(&p[0]) % BUCKET_SECTORS, 10);
	pb_exit(&err);
	fs_free(c);
}
END_TEST

/* The kernel's bitmap growth: bits are merged when the shift grows. */
START_TEST(test_bitmap_grow)
{
	struct bch_fs *c = fs_make(1, 1);
	struct bch_extent_ptr p = { 0 };
	struct bch_member_cpu *m = &c->sb.members[0];

	m->btree_bitmap_shift = 4;
	m->btree_allocated_bitmap = 0;
	set_ptr_dev(&p, 0);
	set_ptr_offset(&p, 32);
	ck_assert(bch_allocator_btree_bitmap_mark(c, &p, 1));
	ck_assert_uint_eq(m->btree_bitmap_shift, 4);
	ck_assert_uint_eq(m->btree_allocated_bitmap, 1ULL << 2);
	ck_assert(!bch_allocator_btree_bitmap_mark(c, &p, 1));

	/* past 64 << 4 = 1024 sectors: shift 5, bit 2 becomes bit 1 */
	set_ptr_offset(&p, 1600);
	ck_assert(bch_allocator_btree_bitmap_mark(c, &p, 1));
	ck_assert_uint_eq(m->btree_bitmap_shift, 5);
	ck_assert_uint_eq(m->btree_allocated_bitmap, (1ULL << 1) | (1ULL << 50));
	fs_free(c);
}
END_TEST

static Suite *allocator_suite(void)
{
	Suite *s = suite_create("allocator");
	TCase *t = tcase_create("alloc");

	tcase_add_test(t, test_nodes_share_bucket);
	tcase_add_test(t, test_replicas);
	tcase_add_test(t, test_journal_wait);
	tcase_add_test(t, test_btree_bitmap);
	tcase_add_test(t, test_bitmap_grow);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(allocator_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

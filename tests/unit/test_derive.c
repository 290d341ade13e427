/* Unit tests for alloc/derive: backpointers, bucket usage and accounting of hand-built keys, alloc key indexes, sb and journal buckets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/derive.h"
#include "keys/accounting.h"

typedef u64 __attribute__((may_alias)) val_word;

struct test_key {
	struct bkey k;
	val_word v[BKEY_VAL_U64s_MAX];
};

#define NBUCKETS	8192

/* Two devices of 8192 buckets of 256 sectors (128 KiB), btree nodes of 256 sectors. */
static struct bch_fs *test_fs(void)
{
	static struct bch_fs *c;

	if (!c) {
		c = calloc(1, sizeof(*c));
		c->sb.nr_devices = 2;
		c->sb.btree_node_size = 256;
		for (unsigned i = 0; i < 2; i++) {
			struct bch_member_cpu *m = &c->sb.members[i];

			m->exists = true;
			m->bucket_size = 256;
			m->nbuckets = NBUCKETS;
			m->durability = 1;
			m->state = BCH_MEMBER_STATE_rw;
			m->data_allowed = (1 << BCH_DATA_journal) | (1 << BCH_DATA_btree) |
				(1 << BCH_DATA_user);
			c->devs[i] = calloc(1, sizeof(struct bch_dev));
			c->devs[i]->idx = i;
			c->devs[i]->nr_bucket_gens = NBUCKETS;
			c->devs[i]->bucket_gens = calloc(NBUCKETS, 1);
		}
	}
	return c;
}

static void key_init(struct test_key *t, unsigned type, struct bpos p, unsigned size)
{
	memset(t, 0, sizeof(*t));
	t->k.u64s = BKEY_U64s;
	t->k.format_whiteout = KEY_FORMAT_CURRENT;
	t->k.type = type;
	t->k.p = p;
	t->k.size = size;
}

static void key_push(struct test_key *t, u64 word)
{
	t->v[t->k.u64s++ - BKEY_U64s] = cpu_to_le64(word);
}

static struct bkey_s_c key_s_c(const struct test_key *t)
{
	return (struct bkey_s_c) { &t->k, (const void *)t->v };
}

/* Extent entries, built field by field as the format describes them. */
static u64 ptr_word(unsigned dev, u64 offset, unsigned gen, bool cached)
{
	struct bch_extent_ptr p = { cpu_to_le64(1 | (cached ? 2 : 0)) };

	set_ptr_offset(&p, offset);
	set_ptr_dev(&p, dev);
	set_ptr_gen(&p, gen);
	return le64_to_cpu(p.v);
}

static u64 crc32_word(unsigned comp, unsigned uncomp, unsigned offset, unsigned csum_type,
		      unsigned compression, u32 csum)
{
	struct bch_extent_crc32 e = { cpu_to_le64(2) };

	set_crc32_compressed_size(&e, comp - 1);
	set_crc32_uncompressed_size(&e, uncomp - 1);
	set_crc32_offset(&e, offset);
	set_crc32_csum_type(&e, csum_type);
	set_crc32_compression_type(&e, compression);
	set_crc32_csum(&e, csum);
	return le64_to_cpu(e.v);
}

static u64 rebalance_word(unsigned compression, unsigned target)
{
	struct bch_extent_rebalance e = { cpu_to_le64(1 << BCH_EXTENT_ENTRY_rebalance) };

	set_rebalance_compression(&e, compression);
	set_rebalance_target(&e, target);
	return le64_to_cpu(e.v);
}

static u64 bp_offset(const struct bch_backpointer *bp)
{
	return bch_backpointer_bucket_offset(bp);
}

static void check_bp(const struct bch_ptr_derived *d, struct bpos pos, enum btree_id btree,
		     unsigned level, enum bch_data_type type, u64 offset, unsigned len,
		     struct bpos key_pos)
{
	ck_assert(d->has_bp);
	ck_assert(bpos_eq(d->bp_pos, pos));
	ck_assert_uint_eq(d->bp.btree_id, btree);
	ck_assert_uint_eq(d->bp.level, level);
	ck_assert_uint_eq(d->bp.data_type, type);
	ck_assert_uint_eq(bp_offset(&d->bp), offset);
	ck_assert_uint_eq(le32_to_cpu(d->bp.bucket_len), len);
	ck_assert(bpos_eq(d->bp.pos, key_pos));
}

/* The delta at index i has this position and these counters. */
static void check_acc(const struct bch_acc_deltas *a, unsigned i,
		      const struct disk_accounting_pos *pos, unsigned nr, s64 d0, s64 d1, s64 d2)
{
	ck_assert_uint_lt(i, a->nr);
	ck_assert_uint_eq(a->d[i].pos.type, pos->type);
	ck_assert(!memcmp(&a->d[i].pos, pos, sizeof(*pos)));
	ck_assert_uint_eq(a->d[i].nr, nr);
	ck_assert_int_eq(a->d[i].d[0], d0);
	if (nr > 1) {
		ck_assert_int_eq(a->d[i].d[1], d1);
		ck_assert_int_eq(a->d[i].d[2], d2);
	}
}

static struct disk_accounting_pos acc(enum disk_accounting_type type)
{
	struct disk_accounting_pos p;

	memset(&p, 0, sizeof(p));
	p.type = type;
	return p;
}

static struct disk_accounting_pos replicas(enum bch_data_type type, unsigned nr_required,
					   unsigned nr, const u8 *devs)
{
	struct disk_accounting_pos p = acc(BCH_DISK_ACCOUNTING_replicas);

	p.replicas.data_type = type;
	p.replicas.nr_required = nr_required;
	p.replicas.nr_devs = nr;
	memcpy(p.replicas.devs, devs, nr);
	return p;
}

static struct disk_accounting_pos snapshot(u32 id)
{
	struct disk_accounting_pos p = acc(BCH_DISK_ACCOUNTING_snapshot);

	p.snapshot.id = cpu_to_le32(id);
	return p;
}

static struct disk_accounting_pos inum(u64 inum)
{
	struct disk_accounting_pos p = acc(BCH_DISK_ACCOUNTING_inum);

	p.inum.inum = cpu_to_le64(inum);
	return p;
}

static struct disk_accounting_pos compression(unsigned type)
{
	struct disk_accounting_pos p = acc(BCH_DISK_ACCOUNTING_compression);

	p.compression.type = type;
	return p;
}

/*
 * crc32, zstd-compressed 128 -> 40 sectors, the key living at offset 5 of
 * the uncompressed data and 100 sectors long, on two devices (listed in
 * descending order).  On disk it takes ceil(100 * 40 / 128) = 32 sectors;
 * the crc offset is the backpointer's sub-sector index.
 */
START_TEST(test_compressed_two_replicas)
{
	struct bch_fs *c = test_fs();
	struct test_key t;
	struct bch_ptr_derived d[BCH_BKEY_PTRS_MAX];
	struct bch_acc_deltas a = { 0 };
	struct bpos p = SPOS(4200, 105, UINT32_MAX);
	struct disk_accounting_pos pos;
	static const u8 devs[] = { 0, 1 };

	key_init(&t, KEY_TYPE_extent, p, 100);
	key_push(&t, crc32_word(40, 128, 5, BCH_CSUM_crc32c, BCH_COMPRESSION_TYPE_zstd, 0x1234));
	key_push(&t, ptr_word(1, 2000 * 256 + 20, 0, false));
	key_push(&t, ptr_word(0, 1000 * 256 + 10, 0, false));

	ck_assert_uint_eq(bch_key_ptrs_derive(c, BTREE_ID_extents, 0, key_s_c(&t), d), 2);
	ck_assert_uint_eq(d[0].dev, 1);
	ck_assert_uint_eq(d[0].bucket, 2000);
	ck_assert_uint_eq(d[0].bucket_offset, 20);
	ck_assert_uint_eq(d[0].sectors, 32);
	ck_assert_uint_eq(d[0].dirty_sectors, 32);
	ck_assert_uint_eq(d[0].cached_sectors, 0);
	ck_assert_uint_eq(d[0].data_type, BCH_DATA_user);
	ck_assert(d[0].counts && d[0].bucket_valid && d[0].gen_state == BCH_PTR_GEN_OK);
	check_bp(&d[0], POS(1, ((2000ULL * 256 + 20) << 10) + 5), BTREE_ID_extents, 0,
		 BCH_DATA_user, (20 << 10) + 5, 32, p);
	check_bp(&d[1], POS(0, ((1000ULL * 256 + 10) << 10) + 5), BTREE_ID_extents, 0,
		 BCH_DATA_user, (10 << 10) + 5, 32, p);

	bch_key_accounting(c, BTREE_ID_extents, 0, key_s_c(&t), &a);
	ck_assert_uint_eq(a.nr, 4);
	pos = replicas(BCH_DATA_user, 1, 2, devs);
	check_acc(&a, 0, &pos, 1, 64, 0, 0);
	pos = snapshot(UINT32_MAX);
	check_acc(&a, 1, &pos, 1, 64, 0, 0);
	/* both copies count: uncompressed and compressed sizes twice */
	pos = compression(BCH_COMPRESSION_TYPE_zstd);
	check_acc(&a, 2, &pos, 3, 1, 256, 80);
	pos = inum(4200);
	check_acc(&a, 3, &pos, 3, 1, 100, 64);
}
END_TEST

/*
 * A key of the reference's full-zstd-xxhash image:
 *   extent 4106:128:U32_MAX len 128: crc: c_size 32 size 128 offset 0
 *   csum xxhash compress zstd ptr: 0:103:56 gen 0
 * and the backpointer the image holds for it:
 *   0:27058176:0 bucket=0:103:0 btree=extents l=0 offset=56:0 len=32 pos=4106:128:U32_MAX
 */
START_TEST(test_reference_compressed_extent)
{
	struct bch_fs *c = test_fs();
	struct test_key t;
	struct bch_ptr_derived d[BCH_BKEY_PTRS_MAX];
	struct bch_extent_crc64 crc = { cpu_to_le64(4), cpu_to_le64(0xd755a1c6f16c4eadULL) };
	struct bpos p = SPOS(4106, 128, UINT32_MAX);

	set_crc64_compressed_size(&crc, 31);
	set_crc64_uncompressed_size(&crc, 127);
	set_crc64_csum_type(&crc, BCH_CSUM_xxhash);
	set_crc64_compression_type(&crc, BCH_COMPRESSION_TYPE_zstd);
	key_init(&t, KEY_TYPE_extent, p, 128);
	key_push(&t, le64_to_cpu(crc.v));
	key_push(&t, le64_to_cpu(crc.csum_lo));
	key_push(&t, ptr_word(0, 103 * 256 + 56, 0, false));

	ck_assert_uint_eq(bch_key_ptrs_derive(c, BTREE_ID_extents, 0, key_s_c(&t), d), 1);
	check_bp(&d[0], POS(0, 27058176), BTREE_ID_extents, 0, BCH_DATA_user, 56 << 10, 32, p);
}
END_TEST

/*
 * kernel-multi (replicas=2, written by Linux 6.12): extent 4102:16:U32_MAX
 * len 16, crc32c, ptrs 0:49:0 and 1:49:0; backpointers 0:12845056 and
 * 1:12845056, len 16; accounting replicas user: 1/2 [0 1], snapshot and
 * inum counting both copies.
 */
START_TEST(test_reference_two_replicas)
{
	struct bch_fs *c = test_fs();
	struct test_key t;
	struct bch_ptr_derived d[BCH_BKEY_PTRS_MAX];
	struct bch_acc_deltas a = { 0 };
	struct bpos p = SPOS(4102, 16, UINT32_MAX);
	struct disk_accounting_pos pos;
	static const u8 devs[] = { 0, 1 };

	key_init(&t, KEY_TYPE_extent, p, 16);
	key_push(&t, crc32_word(16, 16, 0, BCH_CSUM_crc32c, 0, 0x6d81f9a2));
	key_push(&t, ptr_word(0, 49 * 256, 0, false));
	key_push(&t, ptr_word(1, 49 * 256, 0, false));

	ck_assert_uint_eq(bch_key_ptrs_derive(c, BTREE_ID_extents, 0, key_s_c(&t), d), 2);
	check_bp(&d[0], POS(0, 12845056), BTREE_ID_extents, 0, BCH_DATA_user, 0, 16, p);
	check_bp(&d[1], POS(1, 12845056), BTREE_ID_extents, 0, BCH_DATA_user, 0, 16, p);

	bch_key_accounting(c, BTREE_ID_extents, 0, key_s_c(&t), &a);
	ck_assert_uint_eq(a.nr, 3);
	pos = replicas(BCH_DATA_user, 1, 2, devs);
	check_acc(&a, 0, &pos, 1, 32, 0, 0);
	pos = snapshot(UINT32_MAX);
	check_acc(&a, 1, &pos, 1, 32, 0, 0);
	pos = inum(4102);
	check_acc(&a, 2, &pos, 3, 1, 16, 32);
}
END_TEST

/*
 * A cached copy adds cached sectors and its own replicas entry, no
 * backpointer; once its bucket is reused (gen moved on) it counts for
 * nothing at all.
 */
START_TEST(test_cached_pointer)
{
	struct bch_fs *c = test_fs();
	struct test_key t;
	struct bch_ptr_derived d[BCH_BKEY_PTRS_MAX];
	struct bch_acc_deltas a = { 0 };
	struct bpos p = SPOS(4300, 8, UINT32_MAX);
	struct disk_accounting_pos pos;
	static const u8 dev0[] = { 0 }, dev1[] = { 1 };

	key_init(&t, KEY_TYPE_extent, p, 8);
	key_push(&t, ptr_word(0, 10 * 256, 0, false));
	key_push(&t, ptr_word(1, 11 * 256 + 8, 3, true));
	c->devs[1]->bucket_gens[11] = 3;

	ck_assert_uint_eq(bch_key_ptrs_derive(c, BTREE_ID_extents, 0, key_s_c(&t), d), 2);
	ck_assert(!d[1].has_bp);
	ck_assert(d[1].counts);
	ck_assert_uint_eq(d[1].cached_sectors, 8);
	ck_assert_uint_eq(d[1].dirty_sectors, 0);
	ck_assert_uint_eq(d[1].data_type, BCH_DATA_user);

	bch_key_accounting(c, BTREE_ID_extents, 0, key_s_c(&t), &a);
	ck_assert_uint_eq(a.nr, 4);
	pos = replicas(BCH_DATA_cached, 1, 1, dev1);
	check_acc(&a, 0, &pos, 1, 8, 0, 0);
	pos = replicas(BCH_DATA_user, 1, 1, dev0);
	check_acc(&a, 1, &pos, 1, 8, 0, 0);
	pos = snapshot(UINT32_MAX);
	check_acc(&a, 2, &pos, 1, 8, 0, 0);
	pos = inum(4300);
	check_acc(&a, 3, &pos, 3, 1, 8, 8);

	/* the bucket was invalidated: gen 4 */
	c->devs[1]->bucket_gens[11] = 4;
	bch_key_ptrs_derive(c, BTREE_ID_extents, 0, key_s_c(&t), d);
	ck_assert_uint_eq(d[1].gen_state, BCH_PTR_GEN_STALE);
	ck_assert(!d[1].counts);
	ck_assert_uint_eq(d[1].cached_sectors, 0);
	a.nr = 0;
	bch_key_accounting(c, BTREE_ID_extents, 0, key_s_c(&t), &a);
	ck_assert_uint_eq(a.nr, 3);
	pos = replicas(BCH_DATA_user, 1, 1, dev0);
	check_acc(&a, 0, &pos, 1, 8, 0, 0);
	c->devs[1]->bucket_gens[11] = 0;
}
END_TEST

/*
 * The alloc btree's root of the reference's fresh 1 GiB image, a level 0
 * node in bucket 82: its pointer is marked at level 1, as the whole node
 * (256 sectors); the image holds
 *   backpointer 0:21495808:0: bucket=0:82:0 btree=alloc l=1 offset=0:0 len=256 pos=SPOS_MAX
 * and accounting "replicas btree: 1/1 [0]" and "btree btree=alloc" 256 each.
 */
START_TEST(test_btree_ptr_v2)
{
	struct bch_fs *c = test_fs();
	struct test_key t;
	struct bch_ptr_derived d[BCH_BKEY_PTRS_MAX];
	struct bch_acc_deltas a = { 0 };
	struct disk_accounting_pos pos;
	static const u8 dev0[] = { 0 };

	key_init(&t, KEY_TYPE_btree_ptr_v2, SPOS_MAX, 0);
	key_push(&t, 0);			/* mem_ptr */
	key_push(&t, 0xc29ba8fed6ff453eULL);	/* seq */
	key_push(&t, 40);			/* sectors_written 40, flags 0 */
	key_push(&t, 0);			/* min_key POS_MIN */
	key_push(&t, 0);
	key_push(&t, ptr_word(0, 82 * 256, 0, false));

	ck_assert_uint_eq(bch_key_ptrs_derive(c, BTREE_ID_alloc, 1, key_s_c(&t), d), 1);
	ck_assert_uint_eq(d[0].data_type, BCH_DATA_btree);
	ck_assert_uint_eq(d[0].dirty_sectors, 256);
	check_bp(&d[0], POS(0, 21495808), BTREE_ID_alloc, 1, BCH_DATA_btree, 0, 256, SPOS_MAX);

	bch_key_accounting(c, BTREE_ID_alloc, 1, key_s_c(&t), &a);
	ck_assert_uint_eq(a.nr, 2);
	pos = replicas(BCH_DATA_btree, 1, 1, dev0);
	check_acc(&a, 0, &pos, 1, 256, 0, 0);
	pos = acc(BCH_DISK_ACCOUNTING_btree);
	pos.btree.id = cpu_to_le32(BTREE_ID_alloc);
	check_acc(&a, 1, &pos, 1, 256, 0, 0);
}
END_TEST

/* kernel-clean: a 1 MiB fallocate is "persistent_reserved replicas=1 2048". */
START_TEST(test_reservation)
{
	struct test_key t;
	struct bch_acc_deltas a = { 0 };
	struct bch_ptr_derived d[BCH_BKEY_PTRS_MAX];
	struct disk_accounting_pos pos = acc(BCH_DISK_ACCOUNTING_persistent_reserved);

	key_init(&t, KEY_TYPE_reservation, SPOS(4110, 2048, UINT32_MAX), 2048);
	key_push(&t, 1ULL << 32);	/* generation 0, nr_replicas 1 */
	ck_assert_uint_eq(bch_key_ptrs_derive(test_fs(), BTREE_ID_extents, 0, key_s_c(&t), d), 0);
	bch_key_accounting(test_fs(), BTREE_ID_extents, 0, key_s_c(&t), &a);
	pos.persistent_reserved.nr_replicas = 1;
	ck_assert_uint_eq(a.nr, 1);
	check_acc(&a, 0, &pos, 1, 2048, 0, 0);
}
END_TEST

/* Any inode version counts once in nr_inodes; a whiteout or a dirent not at all. */
START_TEST(test_inode)
{
	struct test_key t;
	struct bch_acc_deltas a = { 0 };
	struct disk_accounting_pos pos = acc(BCH_DISK_ACCOUNTING_nr_inodes);
	static const unsigned types[] = { KEY_TYPE_inode, KEY_TYPE_inode_v2, KEY_TYPE_inode_v3 };

	for (unsigned i = 0; i < 3; i++) {
		key_init(&t, types[i], SPOS(0, 4096, UINT32_MAX), 0);
		for (unsigned w = 0; w < 8; w++)
			key_push(&t, 0);
		a.nr = 0;
		bch_key_accounting(test_fs(), BTREE_ID_inodes, 0, key_s_c(&t), &a);
		ck_assert_uint_eq(a.nr, 1);
		check_acc(&a, 0, &pos, 1, 1, 0, 0);
	}
	key_init(&t, KEY_TYPE_whiteout, SPOS(0, 4096, UINT32_MAX), 0);
	a.nr = 0;
	bch_key_accounting(test_fs(), BTREE_ID_inodes, 0, key_s_c(&t), &a);
	ck_assert_uint_eq(a.nr, 0);
}
END_TEST

/*
 * A rebalance entry asking for zstd on uncompressed data: its compressed
 * size is work; an incompressible pointer means none at all.
 */
START_TEST(test_rebalance_compression)
{
	struct bch_fs *c = test_fs();
	struct test_key t;
	struct bch_acc_deltas a = { 0 };
	struct disk_accounting_pos pos = acc(BCH_DISK_ACCOUNTING_rebalance_work);

	key_init(&t, KEY_TYPE_extent, SPOS(4500, 16, UINT32_MAX), 16);
	key_push(&t, crc32_word(16, 16, 0, BCH_CSUM_crc32c, 0, 1));
	key_push(&t, ptr_word(0, 300 * 256, 0, false));
	key_push(&t, rebalance_word(BCH_COMPRESSION_OPT_zstd, 0));
	ck_assert_uint_eq(bch_key_sectors_need_rebalance(c, key_s_c(&t)), 16);
	bch_key_accounting(c, BTREE_ID_extents, 0, key_s_c(&t), &a);
	ck_assert_uint_eq(a.nr, 4);
	check_acc(&a, 3, &pos, 1, 16, 0, 0);

	t.v[0] = cpu_to_le64(crc32_word(16, 16, 0, BCH_CSUM_crc32c,
					BCH_COMPRESSION_TYPE_incompressible, 1));
	ck_assert_uint_eq(bch_key_sectors_need_rebalance(c, key_s_c(&t)), 0);
	/* already zstd: nothing to do */
	t.v[0] = cpu_to_le64(crc32_word(8, 16, 0, BCH_CSUM_crc32c, BCH_COMPRESSION_TYPE_zstd, 1));
	ck_assert_uint_eq(bch_key_sectors_need_rebalance(c, key_s_c(&t)), 0);
}
END_TEST

static struct bch_alloc_v4 alloc_v4(u8 gen, u8 oldest_gen, enum bch_data_type type,
				    u32 dirty, u32 cached)
{
	struct bch_alloc_v4 a;

	memset(&a, 0, sizeof(a));
	a.gen = gen;
	a.oldest_gen = oldest_gen;
	a.data_type = type;
	a.dirty_sectors = cpu_to_le32(dirty);
	a.cached_sectors = cpu_to_le32(cached);
	set_alloc_v4_backpointers_start(&a, BCH_ALLOC_V4_U64s);
	return a;
}

/*
 * btree256k: a 256 KiB btree node in a 512 KiB bucket is half full; the
 * image's fragmentation lru holds 18446462599806582784:21:0, that is
 * id 0xffff, time 2^30, dev 0 bucket 21.
 */
START_TEST(test_alloc_fragmentation_lru)
{
	struct bch_member_cpu m = { .exists = true, .bucket_size = 1024, .nbuckets = 2048 };
	struct bch_alloc_v4 a = alloc_v4(0, 0, BCH_DATA_btree, 512, 0);
	struct bch_alloc_derived d;
	struct bch_acc_deltas acc_out = { 0 };
	struct disk_accounting_pos pos = acc(BCH_DISK_ACCOUNTING_dev_data_type);

	bch_alloc_derive(&m, POS(0, 21), &a, &d);
	ck_assert_uint_eq(d.lru_frag_time, 1ULL << 30);
	ck_assert_uint_eq(d.lru_read_time, 0);
	ck_assert(!d.free && !d.need_discard);
	ck_assert(bpos_eq(bch_lru_pos(BCH_LRU_FRAG_ID, 0, 21, d.lru_frag_time),
			  POS(18446462599806582784ULL, 21)));

	bch_alloc_dev_accounting(&m, 0, &a, &acc_out);
	pos.dev_data_type.data_type = BCH_DATA_btree;
	ck_assert_uint_eq(acc_out.nr, 1);
	check_acc(&acc_out, 0, &pos, 3, 1, 512, 512);

	/* a full bucket is not fragmented */
	a.dirty_sectors = cpu_to_le32(1024);
	bch_alloc_derive(&m, POS(0, 21), &a, &d);
	ck_assert_uint_eq(d.lru_frag_time, 0);
}
END_TEST

/* Free buckets go to freespace with the gc generation bits, need_discard ones to need_discard. */
START_TEST(test_alloc_indexes)
{
	struct bch_member_cpu m = { .exists = true, .bucket_size = 256, .nbuckets = 8192 };
	struct bch_alloc_v4 a = alloc_v4(20, 2, BCH_DATA_free, 0, 0);
	struct bch_alloc_derived d;

	bch_alloc_derive(&m, POS(1, 300), &a, &d);
	ck_assert(d.free && !d.need_discard);
	ck_assert_uint_eq(d.genbits, 1ULL << 56);
	ck_assert(bpos_eq(d.freespace_pos, POS(1, (300 | (1ULL << 56)) + 1)));
	ck_assert(bpos_eq(d.gens_pos, POS(1, 1)));
	ck_assert_uint_eq(d.gens_offset, 300 - 256);
	ck_assert_uint_eq(d.gen, 20);

	set_alloc_v4_need_discard(&a, 1);
	a.data_type = BCH_DATA_need_discard;
	bch_alloc_derive(&m, POS(1, 300), &a, &d);
	ck_assert(!d.free && d.need_discard);

	/* cached data only: the read lru at its read time, id = device */
	a = alloc_v4(3, 3, BCH_DATA_cached, 0, 8);
	a.io_time[0] = cpu_to_le64(1234);
	bch_alloc_derive(&m, POS(1, 77), &a, &d);
	ck_assert_uint_eq(d.lru_read_time, 1234);
	ck_assert_uint_eq(d.lru_frag_time, 0);
	ck_assert(bpos_eq(bch_lru_pos(BCH_LRU_READ_ID(1), 1, 77, 1234),
			  POS((1ULL << 48) | 1234, (1ULL << 48) | 77)));
}
END_TEST

struct meta_sums {
	u64 buckets[BCH_DATA_NR], sectors[BCH_DATA_NR], fragmented[BCH_DATA_NR];
	u64 first, last;
};

static int meta_sum(void *ctx, u64 b, enum bch_data_type type, unsigned sectors)
{
	struct meta_sums *s = ctx;

	s->buckets[type]++;
	s->sectors[type] += sectors;
	s->fragmented[type] += 256 - sectors;
	if (!s->first)
		s->first = b + 1;
	s->last = b;
	return 0;
}

/*
 * The fresh 1 GiB image: copies at 8, 2056 and 2095104, 2048 sectors
 * each, 64 journal buckets from 17; its accounting says
 * "dev_data_type sb 25 6152 248" and "journal 64 16384 0".
 */
START_TEST(test_metadata_buckets)
{
	struct bch_member_cpu m = { .exists = true, .bucket_size = 256, .nbuckets = 8192 };
	struct bch_sb_layout layout;
	struct meta_sums s;
	u64 journal[64];

	memset(&layout, 0, sizeof(layout));
	memset(&s, 0, sizeof(s));
	layout.sb_max_size_bits = 11;
	layout.nr_superblocks = 3;
	layout.sb_offset[0] = cpu_to_le64(8);
	layout.sb_offset[1] = cpu_to_le64(2056);
	layout.sb_offset[2] = cpu_to_le64(2095104);
	for (unsigned i = 0; i < 64; i++)
		journal[i] = 17 + i;

	ck_assert_int_eq(bch_dev_metadata_buckets(&layout, &m, journal, 64, meta_sum, &s), 0);
	ck_assert_uint_eq(s.buckets[BCH_DATA_sb], 25);
	ck_assert_uint_eq(s.sectors[BCH_DATA_sb], 6152);
	ck_assert_uint_eq(s.fragmented[BCH_DATA_sb], 248);
	ck_assert_uint_eq(s.buckets[BCH_DATA_journal], 64);
	ck_assert_uint_eq(s.sectors[BCH_DATA_journal], 16384);
	ck_assert_uint_eq(s.first - 1, 0);

	/* a device cut short: the backup copy lies past the last bucket */
	memset(&s, 0, sizeof(s));
	m.nbuckets = 8000;
	bch_dev_metadata_buckets(&layout, &m, journal, 0, meta_sum, &s);
	ck_assert_uint_eq(s.buckets[BCH_DATA_sb], 17);
	ck_assert_uint_eq(s.last, 16);
}
END_TEST

/*
 * The fresh 1 GiB image's member: btree_bitmap_shift 9, bitmap
 * 0x5b60000000000, its nodes in buckets 82, 84, 85, 88, 91, 94, 95, 97
 * and 100 (bits 41, 42, 44, 45, 47, 48, 50).
 */
START_TEST(test_btree_bitmap)
{
	struct bch_member_cpu m = {
		.exists = true, .bucket_size = 256, .nbuckets = 8192,
		.btree_bitmap_shift = 9, .btree_allocated_bitmap = 0x5b60000000000ULL,
	};
	static const unsigned nodes[] = { 82, 84, 85, 88, 91, 94, 95, 97, 100 };

	for (unsigned i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		ck_assert(bch_member_btree_bitmap_covers(&m, nodes[i] * 256ULL, 256));
	ck_assert(!bch_member_btree_bitmap_covers(&m, 86 * 256ULL, 256));
	/* past what 64 bits of 512 sectors cover */
	ck_assert(!bch_member_btree_bitmap_covers(&m, 64ULL << 9, 256));
}
END_TEST

static Suite *derive_suite(void)
{
	Suite *s = suite_create("derive");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_compressed_two_replicas);
	tcase_add_test(tc, test_reference_compressed_extent);
	tcase_add_test(tc, test_reference_two_replicas);
	tcase_add_test(tc, test_cached_pointer);
	tcase_add_test(tc, test_btree_ptr_v2);
	tcase_add_test(tc, test_reservation);
	tcase_add_test(tc, test_inode);
	tcase_add_test(tc, test_rebalance_compression);
	tcase_add_test(tc, test_alloc_fragmentation_lru);
	tcase_add_test(tc, test_alloc_indexes);
	tcase_add_test(tc, test_metadata_buckets);
	tcase_add_test(tc, test_btree_bitmap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(derive_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests for format: geometry against the reference's numbers, validation, the superblock built and written. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum/checksum.h"
#include "core/fs.h"
#include "format/format.h"
#include "sb/opts.h"
#include "sb/sb.h"
#include "sb/sb_write.h"
#include "util/errcode.h"

#define KiB(x)	((u64)(x) << 10)
#define MiB(x)	((u64)(x) << 20)
#define GiB(x)	((u64)(x) << 30)
#define TiB(x)	((u64)(x) << 40)

struct fmt {
	struct bch_format_opts opts;
	struct bch_format_dev devs[BCH_SB_MEMBERS_MAX + 1];
	unsigned nr;
	struct printbuf err;
};

/* Devices without a device behind them: a size and a block size are all geometry needs. */
static void fmt_init(struct fmt *f, unsigned nr, const u64 *sizes, unsigned block)
{
	static char paths[BCH_SB_MEMBERS_MAX + 1][24];

	memset(f, 0, sizeof(*f));
	bch_format_opts_init(&f->opts);
	memset(f->opts.user_uuid, 0x11, 16);
	memset(f->opts.uuid, 0x22, 16);
	f->opts.time_base_ns = 1700000000ULL * 1000000000ULL;
	f->nr = nr;
	for (unsigned i = 0; i < nr; i++) {
		snprintf(paths[i], sizeof(paths[i]), "dev%u.img", i);
		bch_format_dev_init(&f->devs[i], paths[i]);
		f->devs[i].dev_size = sizes[i];
		f->devs[i].dev_block_size = block;
		f->devs[i].is_file = true;
		memset(f->devs[i].uuid, 0x30 + i, 16);
	}
}

static int fmt_run(struct fmt *f)
{
	pb_reset(&f->err);
	return  bch_format_validate(&f->opts, f->devs, f->nr, &f->err) ?:
		bch_format_geometry(&f->opts, f->devs, f->nr, &f->err);
}

/* A run that must fail, with a message containing what. */
static void fmt_must_fail(struct fmt *f, const char *what)
{
	int ret = fmt_run(f);

	ck_assert_msg(ret < 0, "expected failure mentioning '%s'", what);
	ck_assert_msg(strstr(pb_cstr(&f->err), what), "message '%s' lacks '%s'",
		      pb_cstr(&f->err), what);
	pb_exit(&f->err);
}

/* What the reference's format --no_initialize gives, and its journal once initialized. */
static const struct geometry_case {
	u64 size;
	u64 bucket;
	u64 nbuckets;
	u64 btree_node;
	u64 backup_sb;
	unsigned journal;
} geometry_cases[] = {
	{ MiB(5),	KiB(64),  80,		KiB(64),  8192,		8 },
	{ MiB(8),	KiB(128), 64,		KiB(128), 14336,	8 },
	{ MiB(64),	KiB(128), 512,		KiB(128), 129024,	8 },
	{ MiB(128),	KiB(128), 1024,		KiB(128), 260096,	8 },
	{ MiB(256),	KiB(128), 2048,		KiB(128), 522240,	16 },
	{ GiB(1),	KiB(128), 8192,		KiB(128), 2095104,	64 },
	{ GiB(2),	KiB(256), 8192,		KiB(256), 4192256,	64 },
	{ GiB(4),	KiB(256), 16384,	KiB(256), 8386560,	128 },
	{ GiB(16),	KiB(256), 65536,	KiB(256), 33552384,	512 },
	{ GiB(64),	KiB(256), 262144,	KiB(256), 134215680,	2048 },
	{ GiB(256),	KiB(256), 1048576,	KiB(256), 536868864,	8192 },
	{ TiB(1),	KiB(512), 2097152,	KiB(256), 2147481600,	8192 },
	{ TiB(4),	KiB(512), 8388608,	KiB(256), 8589932544ULL, 8192 },
};

START_TEST(test_geometry_sizes)
{
	const struct geometry_case *c = &geometry_cases[_i];
	struct fmt f;

	fmt_init(&f, 1, &c->size, 4096);
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_uint_eq(f.opts.opt[BCH_SB_OPT_block_size], 4096);
	ck_assert_uint_eq(f.devs[0].bucket_size, c->bucket);
	ck_assert_uint_eq(f.devs[0].nbuckets, c->nbuckets);
	ck_assert_uint_eq(f.opts.opt[BCH_SB_OPT_btree_node_size], c->btree_node);
	ck_assert_uint_eq(f.devs[0].nr_journal_buckets, c->journal);
	ck_assert_uint_eq(f.devs[0].layout.nr_superblocks, 3);
	ck_assert_uint_eq(f.devs[0].layout.sb_max_size_bits, 11);
	ck_assert_uint_eq(le64_to_cpu(f.devs[0].layout.sb_offset[0]), 8);
	ck_assert_uint_eq(le64_to_cpu(f.devs[0].layout.sb_offset[1]), 2056);
	ck_assert_uint_eq(le64_to_cpu(f.devs[0].layout.sb_offset[2]), c->backup_sb);
	pb_exit(&f.err);
}
END_TEST

/* Devices without a bucket size get the smallest of all the sizes, given or picked. */
START_TEST(test_geometry_multi_device)
{
	const u64 sizes[] = { GiB(1), GiB(2), MiB(512) };
	struct fmt f;

	fmt_init(&f, 3, sizes, 4096);
	f.devs[2].bucket_size = KiB(64);
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_uint_eq(f.devs[0].bucket_size, KiB(64));
	ck_assert_uint_eq(f.devs[1].bucket_size, KiB(64));
	ck_assert_uint_eq(f.devs[0].nbuckets, 16384);
	ck_assert_uint_eq(f.devs[1].nbuckets, 32768);
	ck_assert_uint_eq(f.devs[2].nbuckets, 8192);
	ck_assert_uint_eq(f.opts.opt[BCH_SB_OPT_btree_node_size], KiB(64));

	const u64 sizes2[] = { GiB(1), GiB(4) };

	fmt_init(&f, 2, sizes2, 4096);
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_uint_eq(f.devs[0].bucket_size, KiB(128));
	ck_assert_uint_eq(f.devs[1].bucket_size, KiB(128));
	ck_assert_uint_eq(le64_to_cpu(f.devs[1].layout.sb_offset[2]), 8386560);
	pb_exit(&f.err);
}
END_TEST

START_TEST(test_geometry_options)
{
	u64 size = MiB(256);
	struct fmt f;

	/* 512-byte blocks (a loop device made with -b 512) */
	fmt_init(&f, 1, &size, 512);
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_uint_eq(f.opts.opt[BCH_SB_OPT_block_size], 512);
	ck_assert_uint_eq(f.devs[0].bucket_size, KiB(128));
	ck_assert_uint_eq(le64_to_cpu(f.devs[0].layout.sb_offset[2]), 522240);

	/* a given btree node size raises the bucket size */
	size = GiB(1);
	fmt_init(&f, 1, &size, 4096);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_btree_node_size, KiB(512));
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_uint_eq(f.devs[0].bucket_size, KiB(512));
	ck_assert_uint_eq(f.devs[0].nbuckets, 2048);

	/* superblock_size that is not a power of two: 6 sectors, 2 KiB max, block aligned */
	fmt_init(&f, 1, &size, 4096);
	f.opts.superblock_size = 3072;
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_uint_eq(f.devs[0].layout.sb_max_size_bits, 2);
	ck_assert_uint_eq(le64_to_cpu(f.devs[0].layout.sb_offset[1]), 16);
	ck_assert_uint_eq(le64_to_cpu(f.devs[0].layout.sb_offset[2]), 2096896);

	/* fs_size: the filesystem uses part of the device */
	size = GiB(4);
	fmt_init(&f, 1, &size, 4096);
	f.devs[0].fs_size = GiB(3);
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_uint_eq(f.devs[0].bucket_size, KiB(256));
	ck_assert_uint_eq(f.devs[0].nbuckets, 12288);
	pb_exit(&f.err);
}
END_TEST

START_TEST(test_journal_buckets)
{
	ck_assert_uint_eq(bch_format_journal_buckets(64, 256), 8);
	ck_assert_uint_eq(bch_format_journal_buckets(8192, 256), 64);
	ck_assert_uint_eq(bch_format_journal_buckets(1 << 30, 256), 8192);
	/* at most 8 GiB of journal: 2^24 sectors */
	ck_assert_uint_eq(bch_format_journal_buckets(1 << 30, 2048), 8192);
	ck_assert_uint_eq(bch_format_journal_buckets(1 << 30, 65535), 256);
}
END_TEST

START_TEST(test_validate_rejects)
{
	u64 sizes[BCH_SB_MEMBERS_MAX + 1];
	struct fmt f;

	for (unsigned i = 0; i <= BCH_SB_MEMBERS_MAX; i++)
		sizes[i] = GiB(1);

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].bucket_size = 2048;
	fmt_must_fail(&f, "bucket size 2048 is not a multiple of the block size 4096");

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].bucket_size = KiB(64);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_btree_node_size, KiB(128));
	fmt_must_fail(&f, "bucket size 65536 is smaller than the btree node size 131072");

	sizes[0] = MiB(32);
	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].bucket_size = MiB(1);
	fmt_must_fail(&f, "dev0.img: 32 buckets of 1048576 bytes, the minimum is 64");

	sizes[0] = KiB(200);
	fmt_init(&f, 1, sizes, 4096);
	fmt_must_fail(&f, "dev0.img is too small: 204800 bytes, the minimum is 262144");

	sizes[0] = MiB(2);
	fmt_init(&f, 1, sizes, 4096);
	fmt_must_fail(&f, "dev0.img: 4096 sectors is too small for three superblock copies");

	sizes[0] = GiB(1);
	fmt_init(&f, BCH_SB_MEMBERS_MAX + 1, sizes, 4096);
	fmt_must_fail(&f, "1 to 64 devices, not 65");

	fmt_init(&f, 2, sizes, 4096);
	f.devs[1].path = f.devs[0].path;
	fmt_must_fail(&f, "dev0.img is given twice");

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].durability = 3;
	fmt_must_fail(&f, "dev0.img: durability 3 is above the maximum of 2");

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].data_allowed = 1U << BCH_DATA_cached;
	fmt_must_fail(&f, "data_allowed must be some of journal, btree and user");

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].data_allowed = 1U << BCH_DATA_user;
	fmt_must_fail(&f, "takes journal data");

	fmt_init(&f, 2, sizes, 4096);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_metadata_replicas, 2);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_metadata_replicas_required, 2);
	f.devs[1].durability = 0;
	fmt_must_fail(&f, "metadata_replicas_required is 2, but the devices that take btree data add up to a durability of 1");

	fmt_init(&f, 1, sizes, 4096);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_data_replicas_required, 2);
	fmt_must_fail(&f, "data_replicas_required (2) is more than data_replicas (1)");

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].label = "ssd.fast";
	f.opts.target[BCH_SB_OPT_foreground_target] = "hdd";
	fmt_must_fail(&f, "foreground_target 'hdd' is neither a device being formatted nor a device label");

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].label = "ssd..fast";
	fmt_must_fail(&f, "device label 'ssd..fast'");

	fmt_init(&f, 1, sizes, 4096);
	f.opts.label = "0123456789abcdef0123456789abcdefX";
	fmt_must_fail(&f, "is 33 bytes long; the maximum is 32");

	fmt_init(&f, 1, sizes, 4096);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_block_size, 512);
	fmt_must_fail(&f, "block size 512 is smaller than the block size of dev0.img (4096)");

	fmt_init(&f, 1, sizes, 0);
	fmt_must_fail(&f, "block size 0 is below 512");

	fmt_init(&f, 1, sizes, 4096);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_block_size, 8192);
	fmt_must_fail(&f, "block size 8192 is above 4096");

	fmt_init(&f, 1, sizes, 4096);
	f.opts.superblock_size = 100;
	fmt_must_fail(&f, "superblock_size 100 is outside 512 to");

	fmt_init(&f, 1, sizes, 4096);
	f.opts.version = BCH_VERSION(1, 99);
	fmt_must_fail(&f, "metadata version 1.99 is outside");

	fmt_init(&f, 1, sizes, 4096);
	bch_format_opt_set(&f.opts, BCH_SB_OPT_journal_flush_delay, 10);
	fmt_must_fail(&f, "journal_flush_delay cannot be set by format");

	fmt_init(&f, 1, sizes, 4096);
	f.devs[0].is_file = false;
	f.devs[0].fs_size = GiB(2);
	fmt_must_fail(&f, "dev0.img: fs_size 2147483648 is larger than the device");
}
END_TEST

static struct bch_sb *build(struct fmt *f, unsigned idx)
{
	struct bch_sb *sb = NULL;

	ck_assert_int_eq(fmt_run(f), 0);
	ck_assert_msg(!bch_format_sb_build(&f->opts, f->devs, f->nr, idx, &sb, &f->err),
		      "%s", pb_cstr(&f->err));
	return sb;
}

static const struct bch_member *member(const struct bch_sb *sb, unsigned i,
				       struct bch_member *tmp)
{
	const struct bch_member *m = bch_sb_member(sb, i, tmp);

	ck_assert_ptr_nonnull(m);
	return m;
}

/* The words the reference writes for a 1 GiB file with default options. */
START_TEST(test_sb_build_default)
{
	u64 size = GiB(1);
	struct bch_member tmp;
	struct fmt f;
	struct bch_sb *sb;

	fmt_init(&f, 1, &size, 4096);
	sb = build(&f, 0);
	ck_assert_uint_eq(le32_to_cpu(sb->u64s), 28);	/* 976 bytes */
	ck_assert_uint_eq(le16_to_cpu(sb->version), bcachefs_metadata_version_current);
	ck_assert_uint_eq(le16_to_cpu(sb->version_min), bcachefs_metadata_version_current);
	ck_assert_uint_eq(le16_to_cpu(sb->block_size), 8);
	ck_assert_uint_eq(le64_to_cpu(sb->seq), 0);
	ck_assert_uint_eq(le64_to_cpu(sb->flags[0]), 0x8111110080100100ULL);
	ck_assert_uint_eq(le64_to_cpu(sb->flags[1]), 0x111c102ULL);
	ck_assert_uint_eq(le64_to_cpu(sb->flags[2]), 0);
	ck_assert_uint_eq(le64_to_cpu(sb->flags[3]), 0xfa30000000ULL);
	ck_assert_uint_eq(le64_to_cpu(sb->flags[4]), 0x100000064ULL);
	ck_assert_uint_eq(le64_to_cpu(sb->flags[5]), 0x1e0000ULL);
	ck_assert_uint_eq(le64_to_cpu(sb->features[0]), 0x7ba80);
	ck_assert_uint_eq(le64_to_cpu(sb->compat[0]), 0);
	ck_assert_uint_eq(le64_to_cpu(sb->time_base_lo), f.opts.time_base_ns);
	ck_assert_uint_eq(le32_to_cpu(sb->time_precision), 1);
	ck_assert_uint_eq(sb_csum_type(sb), BCH_CSUM_none);
	ck_assert_uint_eq(le64_to_cpu(member(sb, 0, &tmp)->flags), 0x200e0000);
	ck_assert_uint_eq(le64_to_cpu(member(sb, 0, &tmp)->nbuckets), 8192);
	ck_assert_uint_eq(le16_to_cpu(member(sb, 0, &tmp)->bucket_size), 256);
	/* members_v2 first, then members_v1 */
	ck_assert_uint_eq(le32_to_cpu(sb->fields[0].type), BCH_SB_FIELD_members_v2);
	ck_assert_uint_eq(le32_to_cpu(sb->fields[0].u64s), 20);
	ck_assert_uint_eq(le32_to_cpu(bch_sb_field_next(sb->fields)->type),
			  BCH_SB_FIELD_members_v1);
	ck_assert_uint_eq(le32_to_cpu(bch_sb_field_next(sb->fields)->u64s), 8);
	free(sb);

	/* an older version: no features */
	fmt_init(&f, 1, &size, 4096);
	f.opts.version = bcachefs_metadata_version_disk_accounting_v3;
	sb = build(&f, 0);
	ck_assert_uint_eq(le64_to_cpu(sb->features[0]), 0);
	ck_assert_uint_eq(le16_to_cpu(sb->version), 1034);
	free(sb);
	pb_exit(&f.err);
}
END_TEST

/*
 * Labels and targets, as the reference lays them out for
 *   --label=ssd.fast a --label=hdd.slow --durability=2 --discard b
 *   --label=ssd.slow --bucket=64k --data_allowed=user c
 *   --foreground_target=ssd --background_target=b --promote_target=ssd.fast
 */
START_TEST(test_sb_build_labels)
{
	const u64 sizes[] = { GiB(1), GiB(2), MiB(512) };
	const struct bch_sb_field_disk_groups *g;
	struct bch_member tmp;
	struct fmt f;
	struct bch_sb *sb;

	fmt_init(&f, 3, sizes, 4096);
	f.devs[0].label = "ssd.fast";
	f.devs[1].label = "hdd.slow";
	f.devs[1].durability = 2;
	f.devs[1].discard = true;
	f.devs[2] = f.devs[1];
	f.devs[2].path = "dev2.img";
	memset(f.devs[2].uuid, 0x32, 16);
	f.devs[2].label = "ssd.slow";
	f.devs[2].bucket_size = KiB(64);
	f.devs[2].data_allowed = 1U << BCH_DATA_user;
	f.opts.target[BCH_SB_OPT_foreground_target] = "ssd";
	f.opts.target[BCH_SB_OPT_background_target] = "dev1.img";
	f.opts.target[BCH_SB_OPT_promote_target] = "ssd.fast";
	sb = build(&f, 2);

	ck_assert_uint_eq(sb->dev_idx, 2);
	ck_assert_uint_eq(sb->nr_devices, 3);
	ck_assert_uint_eq(le64_to_cpu(member(sb, 0, &tmp)->flags), 0x202e0000);
	ck_assert_uint_eq(le64_to_cpu(member(sb, 1, &tmp)->flags), 0x304e4000);
	ck_assert_uint_eq(le64_to_cpu(member(sb, 2, &tmp)->flags), 0x30584000);
	ck_assert_uint_eq(sb_foreground_target(sb), 257);
	ck_assert_uint_eq(sb_background_target(sb), 2);
	ck_assert_uint_eq(sb_promote_target(sb), 258);

	g = bch_sb_field_get_t(sb, disk_groups);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(le32_to_cpu(g->field.u64s), 31);
	ck_assert_str_eq((const char *)g->entries[0].label, "ssd");
	ck_assert_str_eq((const char *)g->entries[1].label, "fast");
	ck_assert_str_eq((const char *)g->entries[3].label, "slow");
	ck_assert_uint_eq(le64_to_cpu(g->entries[0].flags[0]), 0x3e);
	ck_assert_uint_eq(le64_to_cpu(g->entries[1].flags[0]), 0x7e);
	ck_assert_uint_eq(le64_to_cpu(g->entries[3].flags[0]), 0xfe);
	ck_assert_uint_eq(le64_to_cpu(g->entries[4].flags[0]), 0x7e);
	/* section order: members_v2, disk_groups, members_v1 */
	ck_assert_uint_eq(le32_to_cpu(bch_sb_field_next(sb->fields)->type),
			  BCH_SB_FIELD_disk_groups);
	free(sb);
	pb_exit(&f.err);
}
END_TEST

/* A superblock larger than superblock_size allows is refused, not truncated. */
START_TEST(test_sb_build_too_big)
{
	u64 sizes[8];
	struct fmt f;
	struct bch_sb *sb = NULL;

	for (unsigned i = 0; i < 8; i++)
		sizes[i] = GiB(1);
	fmt_init(&f, 8, sizes, 4096);
	f.opts.superblock_size = 512;
	ck_assert_int_eq(fmt_run(&f), 0);
	ck_assert_int_lt(bch_format_sb_build(&f.opts, f.devs, f.nr, 0, &sb, &f.err), 0);
	ck_assert_ptr_null(sb);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&f.err), "more than superblock_size allows (512)"));
	pb_exit(&f.err);
}
END_TEST

/* A bch_dev on a temporary file of size bytes. */
static struct bch_dev *temp_dev(u64 size, char *path)
{
	struct bch_dev *ca = calloc(1, sizeof(*ca));
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	ca->fd = fd;
	ca->path = strdup(path);
	ca->size = size;
	ca->logical_block_size = 512;
	return ca;
}

/* Format writes, our reader reads back: every copy, the layout, the padding. */
START_TEST(test_write_read_back)
{
	char path[] = "/tmp/test_format.XXXXXX";
	u64 size = MiB(64);
	struct bch_sb_buf buf;
	struct printbuf log = PRINTBUF;
	struct bch_sb_layout layout;
	struct bch_dev *ca = temp_dev(size, path);
	struct fmt f;
	struct bch_sb *sb, *expect = malloc(976);
	u8 pad[32];

	fmt_init(&f, 1, &size, 4096);
	sb = build(&f, 0);
	f.devs[0].ca = ca;
	ck_assert_msg(!bch_format_write_sb(&f.devs[0], sb, &f.err), "%s", pb_cstr(&f.err));

	ck_assert_int_eq(pread(ca->fd, &layout, sizeof(layout), 7 * 512), sizeof(layout));
	ck_assert_mem_eq(&layout, &sb->layout, sizeof(layout));
	for (unsigned i = 0; i < sb->layout.nr_superblocks; i++) {
		u64 sector = le64_to_cpu(sb->layout.sb_offset[i]);

		ck_assert_int_eq(bch_sb_read(ca->fd, size, sector, &buf, &log, &f.err), 0);
		ck_assert_uint_eq(buf.bytes, 976);
		/* what differs: the copy's offset; reading fills in upgrade_complete */
		memcpy(expect, sb, 976);
		expect->offset = cpu_to_le64(sector);
		set_sb_version_upgrade_complete(expect, bcachefs_metadata_version_current);
		ck_assert_mem_eq(buf.sb, expect, 976);
		bch_sb_buf_exit(&buf);
		/* past the superblock, up to the next 512 bytes: zeroes */
		ck_assert_int_eq(pread(ca->fd, pad, sizeof(pad), (sector << 9) + 976), sizeof(pad));
		for (unsigned j = 0; j < sizeof(pad); j++)
			ck_assert_uint_eq(pad[j], 0);
	}

	/* a rewrite: seq, write time, checksum of the metadata_checksum type, member seq */
	bch_sb_next_seq(sb, 1700000123, 1);
	ck_assert_int_eq(bch_sb_write(ca, sb, &f.err), 0);
	ck_assert_int_eq(bch_sb_read(ca->fd, size, 0, &buf, &log, &f.err), 0);
	ck_assert_uint_eq(le64_to_cpu(buf.sb->seq), 1);
	ck_assert_uint_eq(le64_to_cpu(buf.sb->write_time), 1700000123);
	ck_assert_uint_eq(sb_csum_type(buf.sb), BCH_CSUM_crc32c_nonzero);
	ck_assert_uint_ne(le64_to_cpu(buf.sb->csum.lo), 0);
	ck_assert_uint_eq(le64_to_cpu(bch_sb_member(buf.sb, 0, &(struct bch_member){ 0 })->seq), 1);
	bch_sb_buf_exit(&buf);

	free(sb);
	free(expect);
	unlink(path);
	bch_dev_close(ca);
	pb_exit(&log);
	pb_exit(&f.err);
}
END_TEST

/* Writes stay inside the device, and a layout that does not fit the superblock is refused. */
START_TEST(test_write_refused)
{
	char path[] = "/tmp/test_format.XXXXXX";
	u64 size = MiB(64);
	struct bch_dev *ca = temp_dev(size, path);
	struct fmt f;
	struct bch_sb *sb;
	u8 block[512] = { 0 };

	fmt_init(&f, 1, &size, 4096);
	ck_assert_int_eq(bch_dev_pwrite(ca, block, sizeof(block), size - 256, &f.err),
			 -BCH_ERR_device_short);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&f.err), "past the end of the device"));
	sb = build(&f, 0);
	sb->layout.sb_max_size_bits = 0;	/* 512 bytes: the superblock is 976 */
	sb->layout.sb_offset[1] = cpu_to_le64(9);
	ck_assert_int_lt(bch_sb_write(ca, sb, &f.err), 0);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&f.err), "does not fit the layout's 512"));
	free(sb);
	unlink(path);
	bch_dev_close(ca);
	pb_exit(&f.err);
}
END_TEST

START_TEST(test_parse_size)
{
	static const struct { const char *s; int ret; u64 v; } cases[] = {
		{ "4096", 0, 4096 },		{ "128k", 0, KiB(128) },
		{ "1M", 0, MiB(1) },		{ "1.5M", 0, MiB(3) / 2 },
		{ "2GiB", 0, GiB(2) },		{ "512B", 0, 512 },
		{ "64 KiB", 0, KiB(64) },	{ "1T", 0, TiB(1) },
		{ "4K", -EINVAL, 0 },		{ "4kB", -EINVAL, 0 },
		{ "", -EINVAL, 0 },		{ "k", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },		{ "99999999999999999999", -ERANGE, 0 },
		{ "16E", -ERANGE, 0 },		{ "10000000000000000000", 0, 10000000000000000000ULL },
		{ "1.0000000000000000000000001k", 0, 1024 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u64 v = 0;
		int ret = bch_parse_size(cases[i].s, &v);

		ck_assert_msg(ret == cases[i].ret, "'%s': %d", cases[i].s, ret);
		if (!ret)
			ck_assert_uint_eq(v, cases[i].v);
	}
}
END_TEST

START_TEST(test_opt_parse)
{
	static const struct { enum bch_sb_opt_id id; const char *s; int ok; u64 v; } cases[] = {
		{ BCH_SB_OPT_compression, "zstd:3", 1, 3 | 3 << 4 },
		{ BCH_SB_OPT_compression, "lz4", 1, 1 },
		{ BCH_SB_OPT_compression, "none:1", 0, 0 },
		{ BCH_SB_OPT_compression, "zstd:16", 0, 0 },
		{ BCH_SB_OPT_compression, "lzo", 0, 0 },
		{ BCH_SB_OPT_errors, "ro", 1, BCH_ON_ERROR_ro },
		{ BCH_SB_OPT_errors, "abort", 0, 0 },
		{ BCH_SB_OPT_acl, NULL, 1, 1 },
		{ BCH_SB_OPT_acl, "0", 1, 0 },
		{ BCH_SB_OPT_acl, "2", 0, 0 },
		{ BCH_SB_OPT_block_size, "4k", 1, 4096 },
		{ BCH_SB_OPT_block_size, "3k", 0, 0 },	/* not a power of two */
		{ BCH_SB_OPT_metadata_replicas, "4", 0, 0 },
		{ BCH_SB_OPT_gc_reserve_bytes, "1M", 1, MiB(1) },
		{ BCH_SB_OPT_gc_reserve_bytes, "100", 0, 0 },	/* not whole sectors */
		{ BCH_SB_OPT_foreground_target, "ssd", 0, 0 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct printbuf err = PRINTBUF;
		u64 v = 0;
		int ret = bch_sb_opt_parse(&bch_sb_opts[cases[i].id], cases[i].s, &v, &err);

		ck_assert_msg((ret == 0) == cases[i].ok, "%s '%s': %d %s", bch_sb_opts[cases[i].id].name,
			      cases[i].s, ret, pb_cstr(&err));
		if (!ret)
			ck_assert_uint_eq(v, cases[i].v);
		else
			ck_assert_ptr_nonnull(strstr(pb_cstr(&err), bch_sb_opts[cases[i].id].name));
		pb_exit(&err);
	}
}
END_TEST

/* Every option format takes has a help text; the others are not taken. */
START_TEST(test_opts_table_format)
{
	for (unsigned i = 0; i < BCH_SB_OPT_NR; i++)
		ck_assert_msg(bch_sb_opts[i].help && *bch_sb_opts[i].help, "%s", bch_sb_opts[i].name);
	ck_assert(bch_sb_opts[BCH_SB_OPT_acl].flags & OPT_FORMAT);
	ck_assert(!(bch_sb_opts[BCH_SB_OPT_version_upgrade].flags & OPT_FORMAT));
	ck_assert(!(bch_sb_opts[BCH_SB_OPT_promote_whole_extents].flags & OPT_FORMAT));
}
END_TEST

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_geometry_sizes, 0,
			    sizeof(geometry_cases) / sizeof(geometry_cases[0]));
	tcase_add_test(tc, test_geometry_multi_device);
	tcase_add_test(tc, test_geometry_options);
	tcase_add_test(tc, test_journal_buckets);
	tcase_add_test(tc, test_validate_rejects);
	tcase_add_test(tc, test_sb_build_default);
	tcase_add_test(tc, test_sb_build_labels);
	tcase_add_test(tc, test_sb_build_too_big);
	tcase_add_test(tc, test_write_read_back);
	tcase_add_test(tc, test_write_refused);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_opt_parse);
	tcase_add_test(tc, test_opts_table_format);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(format_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

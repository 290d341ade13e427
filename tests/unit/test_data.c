/* Unit tests for the data path: compression, checksum entries, writes and reads of files on small filesystems, through a clean shutdown. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "btree/iter.h"
#include "btree/trans.h"
#include "checksum/checksum.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "data/compress.h"
#include "data/data_read.h"
#include "data/data_write.h"
#include "data/extent_build.h"
#include "format/format.h"
#include "keys/inode.h"
#include "util/errcode.h"

#define SNAP		0xffffffffU
#define INUM		4200
#define DEV_BYTES	(96ULL << 20)
#define MAX_DEVS	2

/* ---- data to write ---- */

static u64 rng_next(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Compressible text-like bytes (words from a small set), or random ones. */
static void fill(u8 *buf, size_t len, u64 seed, bool random)
{
	static const char *const words[] = { "extent ", "bucket ", "journal ", "btree ", "inode " };
	size_t i = 0;

	while (i < len) {
		u64 r = rng_next(&seed);

		if (random) {
			size_t n = len - i < 8 ? len - i : 8;

			memcpy(buf + i, &r, n);
			i += n;
		} else {
			const char *w = words[r % 5];
			size_t n = strlen(w) < len - i ? strlen(w) : len - i;

			memcpy(buf + i, w, n);
			i += n;
		}
	}
}

/* ---- a filesystem on temporary files ---- */

struct tfs {
	char paths[MAX_DEVS][64];
	char *argv[MAX_DEVS];
	unsigned nr;
	struct bch_fs *c;
	struct printbuf err;
};

struct tfs_opts {
	unsigned nr_devs;
	unsigned csum;		/* BCH_CSUM_OPT_* */
	unsigned compression;	/* option value */
	unsigned background_compression;
	unsigned replicas;
	u64 block_size;		/* 0: default */
};

static void tfs_format(struct tfs *t, const struct tfs_opts *o)
{
	struct bch_format_opts fo;
	struct bch_format_dev d[MAX_DEVS];
	struct bch_sb *sb;

	t->err = PRINTBUF;
	t->nr = o->nr_devs;
	bch_format_opts_init(&fo);
	bch_format_opt_set(&fo, BCH_SB_OPT_data_checksum, o->csum);
	bch_format_opt_set(&fo, BCH_SB_OPT_compression, o->compression);
	bch_format_opt_set(&fo, BCH_SB_OPT_background_compression, o->background_compression);
	bch_format_opt_set(&fo, BCH_SB_OPT_data_replicas, o->replicas ? o->replicas : 1);
	bch_format_opt_set(&fo, BCH_SB_OPT_metadata_replicas, o->replicas ? o->replicas : 1);
	if (o->block_size)
		bch_format_opt_set(&fo, BCH_SB_OPT_block_size, o->block_size);
	for (unsigned i = 0; i < t->nr; i++) {
		int fd;

		snprintf(t->paths[i], sizeof(t->paths[i]), "/tmp/test_data.XXXXXX");
		fd = mkstemp(t->paths[i]);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, DEV_BYTES), 0);
		close(fd);
		t->argv[i] = t->paths[i];
		bch_format_dev_init(&d[i], t->paths[i]);
		ck_assert_int_eq(bch_format_dev_open(&d[i], &t->err), 0);
		if (o->block_size)
			d[i].dev_block_size = o->block_size;	/* as a device of small sectors */
	}
	ck_assert_msg(!bch_format_validate(&fo, d, t->nr, &t->err) &&
		      !bch_format_geometry(&fo, d, t->nr, &t->err), "%s", pb_cstr(&t->err));
	for (unsigned i = 0; i < t->nr; i++) {
		ck_assert_int_eq(bch_format_sb_build(&fo, d, t->nr, i, &sb, &t->err), 0);
		ck_assert_int_eq(bch_format_write_sb(&d[i], sb, &t->err), 0);
		free(sb);
	}
	for (unsigned i = 0; i < t->nr; i++)
		bch_format_dev_close(&d[i]);
	ck_assert_msg(!bch_format_initialize(&fo, d, t->nr, &t->err), "%s", pb_cstr(&t->err));
}

static void tfs_open(struct tfs *t, bool write)
{
	struct bch_open_opts oo = { .read_only = !write };
	int ret = bch_fs_open(t->argv, t->nr, &oo, &t->c, &t->err);

	ck_assert_msg(!ret, "open: %s", pb_cstr(&t->err));
	if (write)
		ck_assert_msg(!bch_fs_start_write(t->c, &t->err), "%s", pb_cstr(&t->err));
}

static void tfs_shutdown_reopen(struct tfs *t)
{
	ck_assert_msg(!bch_fs_clean_shutdown(t->c, &t->err), "%s", pb_cstr(&t->err));
	bch_fs_close(t->c);
	tfs_open(t, false);
	ck_assert(t->c->sb.clean);
}

static void tfs_destroy(struct tfs *t)
{
	bch_fs_close(t->c);
	for (unsigned i = 0; i < t->nr; i++)
		unlink(t->paths[i]);
	pb_exit(&t->err);
}

static void inode_create(struct tfs *t, u64 inum, const struct bch_inode_unpacked *opts)
{
	union {
		struct bkey_i k;
		u64 u64s[BKEY_U64s_MAX];
	} b;
	struct bch_inode_unpacked u = opts ? *opts : (struct bch_inode_unpacked) { 0 };
	struct btree_trans tr;

	u.bi_inum = inum;
	u.bi_snapshot = SNAP;
	u.bi_mode = S_IFREG | 0644;
	u.bi_dir = BCACHEFS_ROOT_INO;
	ck_assert_int_eq(bch_inode_pack(&u, &b.k, BKEY_U64s_MAX), 0);
	bch_trans_init(&tr, t->c);
	ck_assert_int_eq(bch_trans_update(&tr, BTREE_ID_inodes, 0, &b.k, 0), 0);
	ck_assert_msg(!bch_trans_commit(&tr, &t->err), "%s", pb_cstr(&t->err));
	bch_trans_exit(&tr);
}

static void inode_get(struct tfs *t, u64 inum, struct bch_inode_unpacked *u)
{
	union {
		struct bkey_i k;
		u64 u64s[BKEY_U64s_MAX];
	} b;
	struct btree_trans tr;

	bch_trans_init(&tr, t->c);
	ck_assert_int_eq(bch_trans_lookup(&tr, BTREE_ID_inodes, 0, SPOS(0, inum, SNAP), &b.k,
					  BKEY_U64s_MAX, &t->err), 1);
	bch_trans_exit(&tr);
	ck_assert_int_eq(bch_inode_unpack(bkey_i_to_s_c(&b.k), u), 0);
}

static void req_init(struct tfs *t, struct bch_write_req *r, u64 inum, u64 offset)
{
	memset(r, 0, sizeof(*r));
	r->inum = inum;
	r->snapshot = SNAP;
	r->offset = offset;
	ck_assert_int_eq(bch_io_opts_get(t->c, inum, SNAP, &r->opts, &t->err), 0);
}

static void write_at(struct tfs *t, u64 inum, u64 offset, const void *buf, size_t len)
{
	struct bch_write_req r;

	req_init(t, &r, inum, offset);
	ck_assert_msg(!bch_data_write(t->c, &r, buf, len, &t->err), "write: %s", pb_cstr(&t->err));
}

static void check_read(struct tfs *t, u64 inum, u64 offset, const u8 *want, size_t len)
{
	u8 *got = malloc(len + 1);
	int ret = bch_data_read(t->c, inum, SNAP, offset, got, len, &t->err);

	ck_assert_msg(!ret, "read: %s", pb_cstr(&t->err));
	/* one check per buffer: Check records every assertion it passes */
	if (memcmp(got, want, len)) {
		size_t i = 0;

		while (got[i] == want[i])
			i++;
		ck_abort_msg("byte %zu of %zu at %llu: %02x != %02x", i, len,
			     (unsigned long long)offset, got[i], want[i]);
	}
	free(got);
}

/* Every extent key of inum: visit(k) for each. */
struct ext_stats {
	unsigned nr, crc_entries[4], compression[BCH_COMPRESSION_TYPE_NR], csum_types;
	unsigned inline_keys, reservations, rebalance, max_ptrs;
	u64 sectors;
};

static void ext_stats(struct tfs *t, u64 inum, struct ext_stats *s)
{
	struct btree_iter it;
	struct bkey_s_c k;

	memset(s, 0, sizeof(*s));
	bch_btree_iter_init(&it, t->c, BTREE_ID_extents, SPOS(inum, 0, 0), 0);
	while (bch_btree_iter_peek(&it, &k) > 0 && k.k->p.inode == inum) {
		struct bkey_ptrs_c p = bch_bkey_ptrs(k);
		unsigned ptrs = 0;

		s->nr++;
		s->sectors += k.k->size;
		s->inline_keys += k.k->type == KEY_TYPE_inline_data;
		s->reservations += k.k->type == KEY_TYPE_reservation;
		for (const u64 *e = p.start; e < p.end;) {
			unsigned type = bch_extent_entry_type(e, p.end);

			ck_assert_uint_lt(type, BCH_EXTENT_ENTRY_MAX);
			if (type >= BCH_EXTENT_ENTRY_crc32 && type <= BCH_EXTENT_ENTRY_crc128) {
				struct bch_extent_crc c = bch_extent_crc_unpack(k.k, e, type);

				s->crc_entries[type]++;
				s->compression[c.compression_type]++;
				s->csum_types |= 1U << c.csum_type;
				ck_assert_uint_le(c.uncompressed_size, t->c->sb.encoded_extent_max *
						  (c.csum_type || bch_compression_is_encoded(c.compression_type) ? 1 : 16));
			}
			ptrs += type == BCH_EXTENT_ENTRY_ptr;
			s->rebalance += type == BCH_EXTENT_ENTRY_rebalance;
			e += bch_extent_entry_u64s(type);
		}
		if (ptrs > s->max_ptrs)
			s->max_ptrs = ptrs;
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
}

/* ---- compression alone ---- */

START_TEST(test_compress_round_trip)
{
	static const unsigned opts[] = {
		BCH_COMPRESSION_OPT_lz4, BCH_COMPRESSION_OPT_gzip, BCH_COMPRESSION_OPT_zstd,
		BCH_COMPRESSION_OPT_lz4 | 5 << 4, BCH_COMPRESSION_OPT_gzip | 9 << 4,
		BCH_COMPRESSION_OPT_zstd | 15 << 4,
	};
	struct bch_compress_ctx *ctx = bch_compress_ctx_new();
	size_t len = 64 << 10;
	u8 *src = malloc(len), *dst = malloc(len), *back = malloc(len);

	fill(src, len, 1, false);
	for (unsigned i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		size_t in = len, out = 0;
		int type = bch_compress(ctx, opts[i], 4096, src, &in, dst, len, &out);

		ck_assert_int_eq(type, bch_compression_opt_type(opts[i]));
		ck_assert_uint_eq(in, len);
		ck_assert_uint_eq(out % 4096, 0);
		ck_assert_uint_lt(out, len);
		memset(back, 0, len);
		ck_assert_int_eq(bch_decompress(type, dst, out, back, in), 0);
		ck_assert_mem_eq(back, src, in);
		/* a frame cut short is an error, not garbage */
		ck_assert_int_ne(bch_decompress(type, dst, out / 8, back, in), 0);
	}
	bch_compress_ctx_free(ctx);
	free(src);
	free(dst);
	free(back);
}
END_TEST

START_TEST(test_compress_incompressible)
{
	struct bch_compress_ctx *ctx = bch_compress_ctx_new();
	size_t len = 64 << 10, in = len, out = 0;
	u8 *src = malloc(len), *dst = malloc(len);

	fill(src, len, 2, true);
	ck_assert_int_eq(bch_compress(ctx, BCH_COMPRESSION_OPT_zstd, 4096, src, &in, dst, len, &out),
			 BCH_COMPRESSION_TYPE_incompressible);
	/* one block is never tried */
	fill(src, len, 2, false);
	in = 4096;
	ck_assert_int_eq(bch_compress(ctx, BCH_COMPRESSION_OPT_lz4, 4096, src, &in, dst, len, &out),
			 BCH_COMPRESSION_TYPE_incompressible);
	/* lz4 with little room takes a shorter prefix that fits */
	in = len;
	ck_assert_int_eq(bch_compress(ctx, BCH_COMPRESSION_OPT_lz4, 4096, src, &in, dst, 8192, &out),
			 BCH_COMPRESSION_TYPE_lz4);
	ck_assert_uint_lt(in, len);
	ck_assert_uint_le(out, 8192);
	bch_compress_ctx_free(ctx);
	free(src);
	free(dst);
}
END_TEST

/* ---- checksum entries ---- */

START_TEST(test_crc_entry_width)
{
	static const struct {
		unsigned csum_type, size, nonce, want;
	} cases[] = {
		{ BCH_CSUM_none,	128,	0, BCH_EXTENT_ENTRY_crc32 },
		{ BCH_CSUM_crc32c,	128,	0, BCH_EXTENT_ENTRY_crc32 },
		{ BCH_CSUM_crc32c,	129,	0, BCH_EXTENT_ENTRY_crc64 },
		{ BCH_CSUM_crc64,	8,	0, BCH_EXTENT_ENTRY_crc64 },
		{ BCH_CSUM_xxhash,	512,	0, BCH_EXTENT_ENTRY_crc64 },
		{ BCH_CSUM_xxhash,	513,	0, BCH_EXTENT_ENTRY_crc128 },
		{ BCH_CSUM_crc32c,	8,	1, BCH_EXTENT_ENTRY_crc64 },
		{ BCH_CSUM_none,	8192,	0, BCH_EXTENT_ENTRY_crc128 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		union bch_extent_buf b;
		struct bch_extent_crc c = {
			.compressed_size = cases[i].size, .uncompressed_size = cases[i].size,
			.live_size = cases[i].size, .nonce = cases[i].nonce,
			.csum_type = cases[i].csum_type,
			.compression_type = BCH_COMPRESSION_TYPE_incompressible,
			.csum = { .lo = 0x1122334455667788ULL },
		};

		if (bch_csum_bytes(c.csum_type) <= 4)
			c.csum.lo &= 0xffffffff;
		bch_key_init(&b.k, KEY_TYPE_extent, POS(1, cases[i].size), cases[i].size, 0);
		ck_assert_int_eq(bch_extent_crc_append(&b.k, &c), 0);
		const u64 *e = b.k.v;
		unsigned type = bch_extent_entry_type(e, (u64 *)&b.k + b.k.k.u64s);

		ck_assert_uint_eq(type, cases[i].want);
		struct bch_extent_crc back = bch_extent_crc_unpack(&b.k.k, e, type);

		ck_assert_uint_eq(back.uncompressed_size, c.uncompressed_size);
		ck_assert_uint_eq(back.nonce, c.nonce);
		ck_assert_uint_eq(back.csum_type, c.csum_type);
		ck_assert(bch_csum_eq(back.csum, c.csum));
	}
}
END_TEST

/* ---- round trips on a filesystem ---- */

/*
 * A file of several extents (compressible text, then random bytes), read
 * back before and after a clean shutdown; the keys carry the expected
 * checksum type and compression.
 */
static void round_trip(unsigned csum, unsigned compression, unsigned nr_devs)
{
	struct tfs_opts o = { .nr_devs = nr_devs, .csum = csum, .compression = compression,
			      .replicas = nr_devs };
	size_t half = 300 << 10, len = 2 * half + 1000;
	u8 *data = malloc(len);
	struct ext_stats s;
	struct bch_inode_unpacked u;
	struct tfs t;
	unsigned want_csum = bch_csum_opt_to_type(csum, true);

	fill(data, half, 3, false);
	fill(data + half, len - half, 4, true);
	tfs_format(&t, &o);
	tfs_open(&t, true);
	inode_create(&t, INUM, NULL);
	write_at(&t, INUM, 0, data, len);
	check_read(&t, INUM, 0, data, len);
	check_read(&t, INUM, 4097, data + 4097, 70000);

	inode_get(&t, INUM, &u);
	ck_assert_uint_eq(u.bi_size, len);
	ext_stats(&t, INUM, &s);
	ck_assert_uint_eq(u.bi_sectors, s.sectors);
	ck_assert_uint_eq(s.max_ptrs, nr_devs);
	if (csum)
		ck_assert_uint_eq(s.csum_types, 1U << want_csum);
	if (compression) {
		ck_assert_uint_gt(s.compression[bch_compression_opt_type(compression)], 0);
		ck_assert_uint_gt(s.compression[BCH_COMPRESSION_TYPE_incompressible], 0);
	}
	if (!csum && !compression)
		ck_assert_uint_eq(s.crc_entries[1] + s.crc_entries[2] + s.crc_entries[3], 0);
	if (want_csum == BCH_CSUM_crc32c)
		ck_assert_uint_gt(s.crc_entries[BCH_EXTENT_ENTRY_crc32], 0);
	if (want_csum == BCH_CSUM_crc64 || want_csum == BCH_CSUM_xxhash)
		ck_assert_uint_eq(s.crc_entries[BCH_EXTENT_ENTRY_crc32], 0);

	tfs_shutdown_reopen(&t);
	check_read(&t, INUM, 0, data, len);
	tfs_destroy(&t);
	free(data);
}

START_TEST(test_round_trip_matrix)
{
	static const unsigned compressions[] = {
		BCH_COMPRESSION_OPT_none, BCH_COMPRESSION_OPT_lz4,
		BCH_COMPRESSION_OPT_gzip, BCH_COMPRESSION_OPT_zstd,
	};
	unsigned csum = _i / 8, compression = compressions[(_i / 2) % 4], devs = 1 + _i % 2;

	round_trip(csum, compression, devs);
}
END_TEST

/* A second replica whose copy is damaged: the read checks and moves on. */
START_TEST(test_read_other_replica)
{
	struct tfs_opts o = { .nr_devs = 2, .csum = BCH_CSUM_OPT_crc32c, .replicas = 2 };
	size_t len = 64 << 10;
	u8 *data = malloc(len), junk[4096];
	struct btree_iter it;
	struct bkey_s_c k;
	struct bch_ptr_iter pi;
	struct extent_ptr_decoded p;
	struct tfs t;

	fill(data, len, 5, true);
	memset(junk, 0xa5, sizeof(junk));
	tfs_format(&t, &o);
	tfs_open(&t, true);
	inode_create(&t, INUM, NULL);
	write_at(&t, INUM, 0, data, len);
	tfs_shutdown_reopen(&t);

	bch_btree_iter_init(&it, t.c, BTREE_ID_extents, SPOS(INUM, 0, 0), 0);
	ck_assert_int_eq(bch_btree_iter_peek(&it, &k), 1);
	bch_ptr_iter_init(&pi, k);
	ck_assert(bch_ptr_iter_next(&pi, &p));
	/* damage the first copy (the filesystem is open read-only) */
	int fd = open(t.paths[ptr_dev(&p.ptr)], O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), (ptr_offset(&p.ptr) << 9) + 8192),
			 sizeof(junk));
	close(fd);
	bch_btree_iter_exit(&it);
	check_read(&t, INUM, 0, data, len);
	tfs_destroy(&t);
	free(data);
}
END_TEST

/* Overwrites in the middle of compressed and checksummed extents, and a hole. */
START_TEST(test_partial_overwrite_and_holes)
{
	struct tfs_opts o = { .nr_devs = 1, .csum = BCH_CSUM_OPT_xxhash,
			      .compression = BCH_COMPRESSION_OPT_zstd };
	size_t len = 512 << 10;
	u8 *data = malloc(len + (1 << 20)), *patch = malloc(40960);
	struct bch_inode_unpacked u;
	struct ext_stats s;
	struct tfs t;

	fill(data, len, 6, false);
	fill(patch, 40960, 7, true);
	tfs_format(&t, &o);
	tfs_open(&t, true);
	inode_create(&t, INUM, NULL);
	write_at(&t, INUM, 0, data, len);
	inode_get(&t, INUM, &u);
	ck_assert_uint_eq(u.bi_sectors, len >> 9);
	/* 10 blocks over the middle of the second and third extents */
	write_at(&t, INUM, 100 << 10, patch, 40960);
	memcpy(data + (100 << 10), patch, 40960);
	/* a hole of 1 MiB, then more data */
	write_at(&t, INUM, len + (1 << 20), data, 8192);
	check_read(&t, INUM, 0, data, len);
	check_read(&t, INUM, 90 << 10, data + (90 << 10), 60 << 10);

	u8 *zeros = calloc(1, 1 << 20), *tail = malloc(8192);

	memcpy(tail, data, 8192);
	check_read(&t, INUM, len, zeros, 1 << 20);
	check_read(&t, INUM, len + (1 << 20), tail, 8192);
	inode_get(&t, INUM, &u);
	ck_assert_uint_eq(u.bi_size, len + (1 << 20) + 8192);
	ck_assert_uint_eq(u.bi_sectors, (len + 8192) >> 9);
	ext_stats(&t, INUM, &s);
	ck_assert_uint_eq(s.sectors, (len + 8192) >> 9);

	tfs_shutdown_reopen(&t);
	check_read(&t, INUM, 0, data, len);
	check_read(&t, INUM, len, zeros, 1 << 20);
	tfs_destroy(&t);
	free(data);
	free(patch);
	free(zeros);
	free(tail);
}
END_TEST

/* Small files: inline data (and not when the option is off); sizes. */
START_TEST(test_inline_data)
{
	struct tfs_opts o = { .nr_devs = 1, .csum = BCH_CSUM_OPT_crc32c };
	const char msg[] = "a small file, kept in its extent key\n";
	struct bch_write_req r;
	struct bch_inode_unpacked u;
	struct ext_stats s;
	struct tfs t;
	u8 want[4096] = { 0 };

	memcpy(want, msg, sizeof(msg) - 1);
	tfs_format(&t, &o);
	tfs_open(&t, true);
	inode_create(&t, INUM, NULL);
	inode_create(&t, INUM + 1, NULL);
	write_at(&t, INUM, 0, msg, sizeof(msg) - 1);
	req_init(&t, &r, INUM + 1, 0);
	r.no_inline_data = true;
	ck_assert_int_eq(bch_data_write(t.c, &r, msg, sizeof(msg) - 1, &t.err), 0);

	ext_stats(&t, INUM, &s);
	ck_assert_uint_eq(s.inline_keys, 1);
	ext_stats(&t, INUM + 1, &s);
	ck_assert_uint_eq(s.inline_keys, 0);
	ck_assert_uint_eq(s.nr, 1);
	for (u64 i = INUM; i <= INUM + 1; i++) {
		inode_get(&t, i, &u);
		ck_assert_uint_eq(u.bi_size, sizeof(msg) - 1);
		ck_assert_uint_eq(u.bi_sectors, t.c->sb.block_size);
		check_read(&t, i, 0, want, sizeof(want));
	}
	ck_assert(t.c->sb.features & (1ULL << BCH_FEATURE_inline_data));
	tfs_shutdown_reopen(&t);
	check_read(&t, INUM, 0, want, sizeof(want));
	check_read(&t, INUM, 3, want + 3, 10);
	tfs_destroy(&t);
}
END_TEST

/* 512-byte blocks: extents and inline data in sectors; inline data only up to half a block. */
START_TEST(test_small_blocks)
{
	struct tfs_opts o = { .nr_devs = 1, .csum = BCH_CSUM_OPT_crc32c,
			      .compression = BCH_COMPRESSION_OPT_lz4, .block_size = 512 };
	size_t len = 200000;
	u8 *data = malloc(len);
	struct ext_stats s;
	struct tfs t;

	fill(data, len, 10, false);
	tfs_format(&t, &o);
	tfs_open(&t, true);
	ck_assert_uint_eq(t.c->sb.block_size, 1);
	inode_create(&t, INUM, NULL);
	inode_create(&t, INUM + 1, NULL);
	inode_create(&t, INUM + 2, NULL);
	write_at(&t, INUM, 0, data, len);
	write_at(&t, INUM + 1, 0, data, 256);
	write_at(&t, INUM + 2, 0, data, 257);
	ext_stats(&t, INUM + 1, &s);
	ck_assert_uint_eq(s.inline_keys, 1);
	ext_stats(&t, INUM + 2, &s);
	ck_assert_uint_eq(s.inline_keys, 0);
	ext_stats(&t, INUM, &s);
	ck_assert_uint_gt(s.compression[BCH_COMPRESSION_TYPE_lz4], 0);
	tfs_shutdown_reopen(&t);
	check_read(&t, INUM, 0, data, len);
	check_read(&t, INUM + 1, 0, data, 256);
	check_read(&t, INUM + 2, 0, data, 257);
	tfs_destroy(&t);
	free(data);
}
END_TEST

/* fallocate: reservations over the holes only, counted in bi_sectors. */
START_TEST(test_fallocate)
{
	struct tfs_opts o = { .nr_devs = 2, .replicas = 2 };
	size_t len = 16384;
	u8 *data = malloc(len), *zeros = calloc(1, 1 << 20);
	struct bch_write_req r;
	struct bch_inode_unpacked u;
	struct ext_stats s;
	struct btree_iter it;
	struct bkey_s_c k;
	struct tfs t;

	fill(data, len, 8, true);
	tfs_format(&t, &o);
	tfs_open(&t, true);
	inode_create(&t, INUM, NULL);
	write_at(&t, INUM, 65536, data, len);
	req_init(&t, &r, INUM, 0);
	ck_assert_msg(!bch_data_fallocate(t.c, &r, 1 << 20, false, &t.err), "%s", pb_cstr(&t.err));
	ext_stats(&t, INUM, &s);
	ck_assert_uint_eq(s.reservations, 2);
	ck_assert_uint_eq(s.sectors, 2048);
	inode_get(&t, INUM, &u);
	ck_assert_uint_eq(u.bi_sectors, 2048);
	ck_assert_uint_eq(u.bi_size, 1 << 20);

	bch_btree_iter_init(&it, t.c, BTREE_ID_extents, SPOS(INUM, 0, 0), 0);
	ck_assert_int_eq(bch_btree_iter_peek(&it, &k), 1);
	ck_assert_uint_eq(k.k->type, KEY_TYPE_reservation);
	ck_assert_uint_eq(((const struct bch_reservation *)k.v)->nr_replicas, 2);
	bch_btree_iter_exit(&it);

	/* again: nothing to do */
	ck_assert_int_eq(bch_data_fallocate(t.c, &r, 1 << 20, true, &t.err), 0);
	ext_stats(&t, INUM, &s);
	ck_assert_uint_eq(s.nr, 3);
	tfs_shutdown_reopen(&t);
	check_read(&t, INUM, 0, zeros, 65536);
	check_read(&t, INUM, 65536, data, len);
	check_read(&t, INUM, 65536 + len, zeros, (1 << 20) - 65536 - len);
	tfs_destroy(&t);
	free(data);
	free(zeros);
}
END_TEST

/* Inode options override the filesystem's; background compression adds the rebalance entry. */
START_TEST(test_inode_opts_rebalance)
{
	struct tfs_opts o = { .nr_devs = 1, .csum = BCH_CSUM_OPT_crc32c };
	struct bch_inode_unpacked opts = {
		.bi_data_checksum = BCH_CSUM_OPT_crc64 + 1,
		.bi_background_compression = BCH_COMPRESSION_OPT_zstd + 1,
	};
	size_t len = 256 << 10;
	u8 *data = malloc(len);
	struct bch_io_opts io;
	struct ext_stats s;
	struct tfs t;

	fill(data, len, 9, false);
	tfs_format(&t, &o);
	tfs_open(&t, true);
	inode_create(&t, INUM, &opts);
	ck_assert_int_eq(bch_io_opts_get(t.c, INUM, SNAP, &io, &t.err), 0);
	ck_assert_uint_eq(io.data_checksum, BCH_CSUM_OPT_crc64);
	ck_assert_uint_eq(io.background_compression, BCH_COMPRESSION_OPT_zstd);
	ck_assert_uint_eq(io.compression, 0);
	write_at(&t, INUM, 0, data, len);
	ext_stats(&t, INUM, &s);
	ck_assert_uint_eq(s.csum_types, 1U << BCH_CSUM_crc64);
	ck_assert_uint_eq(s.rebalance, s.nr);
	ck_assert_uint_eq(s.nr, len / (t.c->sb.encoded_extent_max << 9));
	tfs_shutdown_reopen(&t);
	check_read(&t, INUM, 0, data, len);
	tfs_destroy(&t);
	free(data);
}
END_TEST

/* Many extents streamed in chunks, more than the journal holds without reclaim. */
START_TEST(test_large_streamed)
{
	struct tfs_opts o = { .nr_devs = 1, .csum = BCH_CSUM_OPT_crc32c,
			      .compression = BCH_COMPRESSION_OPT_lz4 };
	size_t chunk = 1 << 20, total = 48 << 20;
	u8 *buf = malloc(chunk);
	struct bch_write_req r;
	struct bch_inode_unpacked u;
	struct tfs t;

	tfs_format(&t, &o);
	tfs_open(&t, true);
	inode_create(&t, INUM, NULL);
	req_init(&t, &r, INUM, 0);
	r.new_i_size = total;
	for (size_t off = 0; off < total; off += chunk) {
		fill(buf, chunk, off, (off / chunk) % 3 == 0);
		r.offset = off;
		ck_assert_msg(!bch_data_write(t.c, &r, buf, chunk, &t.err), "at %zu: %s", off,
			      pb_cstr(&t.err));
	}
	ck_assert_uint_ge(r.nr_extents, total / (64 << 10));
	tfs_shutdown_reopen(&t);
	inode_get(&t, INUM, &u);
	ck_assert_uint_eq(u.bi_size, total);
	ck_assert_uint_eq(u.bi_sectors, total >> 9);
	for (size_t off = 0; off < total; off += chunk) {
		fill(buf, chunk, off, (off / chunk) % 3 == 0);
		check_read(&t, INUM, off, buf, chunk);
	}
	tfs_destroy(&t);
	free(buf);
}
END_TEST

static Suite *data_suite(void)
{
	Suite *s = suite_create("data");
	TCase *tc = tcase_create("compress");

	tcase_add_test(tc, test_compress_round_trip);
	tcase_add_test(tc, test_compress_incompressible);
	tcase_add_test(tc, test_crc_entry_width);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 300);
	/* checksum option (4) x compression (4) x devices (2) */
	tcase_add_loop_test(tc, test_round_trip_matrix, 0, 32);
	tcase_add_test(tc, test_read_other_replica);
	tcase_add_test(tc, test_partial_overwrite_and_holes);
	tcase_add_test(tc, test_inline_data);
	tcase_add_test(tc, test_small_blocks);
	tcase_add_test(tc, test_fallocate);
	tcase_add_test(tc, test_inode_opts_rebalance);
	tcase_add_test(tc, test_large_streamed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(data_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests of the node writer and format calculation: nodes written, read back through node_read, compared. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bkey/format_calc.h"
#include "btree/node_read.h"
#include "btree/node_write.h"
#include "checksum/checksum.h"
#include "keys/dirent.h"
#include "util/errcode.h"
#include "util/varint.h"
#include "unit_rng.h"

/* Values are built through their structs: the words may alias them. */
typedef u64 __attribute__((may_alias)) val_word;

#define NODE_SECTORS	256
#define BUCKET_SECTORS	256
#define NR_BUCKETS	64
#define MAX_KEYS	8192
#define VAL_U64s_MAX	32
#define U32_MAX		0xffffffffU

/* ---- a filesystem of one device on an unlinked temporary file ---- */

static struct bch_fs *fs_new(unsigned block_sectors, unsigned csum_opt)
{
	struct bch_fs *c = calloc(1, sizeof(*c));
	struct bch_dev *ca = calloc(1, sizeof(*ca));
	char path[] = "/tmp/test_node_write.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ca->size = (u64)NR_BUCKETS * BUCKET_SECTORS << 9;
	ck_assert_int_eq(ftruncate(fd, ca->size), 0);
	ca->fd = fd;
	ca->path = "test-dev";

	c->sb.version = bcachefs_metadata_version_current;
	c->sb.version_min = bcachefs_metadata_version_current;
	c->sb.block_size = block_sectors;
	c->sb.btree_node_size = NODE_SECTORS;
	c->sb.encoded_extent_max = 128;
	c->sb.meta_csum_type = csum_opt;
	c->sb.bset_magic = 0x4154e3f9d4457540ULL;
	c->sb.nr_devices = 1;
	c->sb.members[0].exists = true;
	c->sb.members[0].bucket_size = BUCKET_SECTORS;
	c->sb.members[0].nbuckets = NR_BUCKETS;
	c->sb.members[0].first_bucket = 1;
	c->sb.members[0].durability = 1;
	c->devs[0] = ca;
	c->nr_devs = 1;
	return c;
}

static void fs_free(struct bch_fs *c)
{
	close(c->devs[0]->fd);
	free(c->devs[0]);
	pb_exit(&c->log);
	free(c);
}

static void dev_write(struct bch_fs *c, const void *buf, unsigned sectors, u64 sector)
{
	size_t len = (size_t)sectors << 9;

	ck_assert_int_eq(pwrite(c->devs[0]->fd, buf, len, sector << 9), (ssize_t)len);
}

/* ---- deterministic randomness (unit_rng.h) ---- */

static u64 rnd_below(u64 n)
{
	return n ? rng() % n : 0;
}

/* ---- key sets ---- */

struct key_set {
	struct bkey keys[MAX_KEYS];
	const void *vals[MAX_KEYS];
	val_word vbuf[MAX_KEYS][VAL_U64s_MAX];
	size_t nr;
};

static struct key_set *set_new(void)
{
	return calloc(1, sizeof(struct key_set));
}

/* Appends a key at p with val_bytes of value (zeroed); returns the value. */
static void *set_add(struct key_set *s, unsigned type, struct bpos p, unsigned val_bytes)
{
	struct bkey *k = &s->keys[s->nr];

	ck_assert_uint_lt(s->nr, MAX_KEYS);
	ck_assert_uint_le(val_bytes, VAL_U64s_MAX * 8);
	memset(k, 0, sizeof(*k));
	memset(s->vbuf[s->nr], 0, sizeof(s->vbuf[s->nr]));
	k->u64s = BKEY_U64s + (val_bytes + 7) / 8;
	k->format_whiteout = KEY_FORMAT_CURRENT;
	k->type = type;
	k->p = p;
	s->vals[s->nr] = s->vbuf[s->nr];
	return s->vbuf[s->nr++];
}

static struct bch_bset_keys set_keys(const struct key_set *s, u64 journal_seq)
{
	return (struct bch_bset_keys) { s->keys, s->vals, s->nr, journal_seq };
}

/* Sometimes a version, so that the version fields take part in formats. */
static void maybe_version(struct bkey *k)
{
	if (rnd_below(4))
		return;
	k->bversion.lo = rnd_below(1 << 20);
	if (!rnd_below(4))
		k->bversion.hi = rnd_below(100);
}

/* ---- values of the real layouts ---- */

static u8 *put_varint(u8 *out, u64 v)
{
	return out + bch_varint_encode(out, v);
}

static void add_inode(struct key_set *s, struct bpos p)
{
	struct bch_inode_v3 *v = set_add(s, KEY_TYPE_inode_v3, p, VAL_U64s_MAX * 8);
	u8 *f = v->fields;

	v->bi_journal_seq = cpu_to_le64(rnd_below(1000));
	v->bi_hash_seed = cpu_to_le64(rng());
	set_inode_v3_str_hash(v, 3);
	set_inode_v3_nr_fields(v, 22);
	set_inode_v3_fields_start(v, INODE_V3_FIELDS_START_INITIAL);
	set_inode_v3_mode(v, rnd_below(2) ? 040755 : 0100644);
	v->bi_size = cpu_to_le64(rnd_below(1 << 30));
	v->bi_sectors = cpu_to_le64(rnd_below(1 << 20));
	for (unsigned i = 0; i < 8; i++)		/* times, lo and hi */
		f = put_varint(f, i & 1 ? 0 : rnd_below(1ULL << 40));
	f = put_varint(f, rnd_below(65536));		/* uid */
	f = put_varint(f, rnd_below(65536));		/* gid */
	f = put_varint(f, 1 + rnd_below(10));		/* nlink */
	/* generation .. subvol: a subvolume root must be a directory, so none */
	for (unsigned i = 0; i < 15; i++)
		f = put_varint(f, 0);
	s->keys[s->nr - 1].u64s = BKEY_U64s + (f - (u8 *)v + 7) / 8;
	maybe_version(&s->keys[s->nr - 1]);
}

static void add_extent(struct key_set *s, struct bpos end, unsigned size)
{
	val_word *v = set_add(s, KEY_TYPE_extent, end, 16);
	struct bch_extent_crc32 *crc = (void *)&v[0];
	struct bch_extent_ptr *ptr = (void *)&v[1];
	u64 bucket = 1 + rnd_below(NR_BUCKETS - 1);

	s->keys[s->nr - 1].size = size;
	crc->v = 1ULL << BCH_EXTENT_ENTRY_crc32;
	/* crc32 entries store sizes minus one */
	set_crc32_compressed_size(crc, size - 1);
	set_crc32_uncompressed_size(crc, size - 1);
	set_crc32_csum_type(crc, BCH_CSUM_crc32c);
	set_crc32_csum(crc, rng());
	ptr->v = 1ULL << BCH_EXTENT_ENTRY_ptr;
	set_ptr_offset(ptr, bucket * BUCKET_SECTORS + rnd_below(BUCKET_SECTORS - size + 1));
	set_ptr_gen(ptr, rnd_below(4));
	maybe_version(&s->keys[s->nr - 1]);
}

static void add_dirent(struct key_set *s, struct bpos p)
{
	unsigned len = 1 + rnd_below(60);
	struct bch_dirent *d = set_add(s, KEY_TYPE_dirent, p, BCH_DIRENT_NAME_OFFSET + len);

	d->d_inum = cpu_to_le64(p.inode + 1 + rnd_below(1000));
	d->d_type = rnd_below(2) ? 4 : 8;	/* DT_DIR, DT_REG */
	for (unsigned i = 0; i < len; i++)
		d->d_name[i] = 'a' + rnd_below(26);
}

static void add_alloc(struct key_set *s, struct bpos p)
{
	struct bch_alloc_v4 *a = set_add(s, KEY_TYPE_alloc_v4, p, sizeof(*a));

	a->journal_seq = cpu_to_le64(rnd_below(1000));
	set_alloc_v4_backpointers_start(a, BCH_ALLOC_V4_U64s);
	a->gen = rnd_below(256);
	a->oldest_gen = a->gen;
	if (rnd_below(2)) {
		a->data_type = BCH_DATA_user;
		a->dirty_sectors = cpu_to_le32(1 + rnd_below(BUCKET_SECTORS));
		a->io_time[1] = cpu_to_le64(rnd_below(1 << 30));
	}
}

static void add_btree_ptr(struct key_set *s, struct bpos min, struct bpos max)
{
	struct bch_btree_ptr_v2 *v = set_add(s, KEY_TYPE_btree_ptr_v2, max, sizeof(*v) + 8);

	v->seq = cpu_to_le64(rng());
	v->sectors_written = cpu_to_le16(1 + rnd_below(NODE_SECTORS));
	v->min_key = min;
	v->start[0].v = 1ULL << BCH_EXTENT_ENTRY_ptr;
	set_ptr_offset(&v->start[0], (1 + rnd_below(NR_BUCKETS - 1)) * BUCKET_SECTORS);
}

/* ---- random nodes of each kind ---- */

enum node_kind { NODE_INODES, NODE_EXTENTS, NODE_DIRENTS, NODE_ALLOC, NODE_INTERIOR, NODE_KINDS };

static const enum btree_id kind_btree[NODE_KINDS] = {
	BTREE_ID_inodes, BTREE_ID_extents, BTREE_ID_dirents, BTREE_ID_alloc, BTREE_ID_extents,
};

/* The key after p for kind k, spaced randomly; its value is random too. */
static struct bpos next_pos(enum node_kind kind, struct bpos p, unsigned *size)
{
	switch (kind) {
	case NODE_INODES:
		return SPOS(0, p.offset + 1 + rnd_below(3), U32_MAX);
	case NODE_EXTENTS:
		*size = 1 + rnd_below(128);
		if (!rnd_below(20))
			return SPOS(p.inode + 1, *size + rnd_below(64), U32_MAX);
		return SPOS(p.inode, p.offset + *size + rnd_below(16), U32_MAX);
	case NODE_DIRENTS:
		if (!rnd_below(30))
			return SPOS(p.inode + 1, 2 + rnd_below(1ULL << 40), U32_MAX);
		return SPOS(p.inode, p.offset + 1 + rnd_below(1ULL << 50), U32_MAX);
	case NODE_ALLOC:
		return POS(0, p.offset + 1 + rnd_below(2));
	default:
		return SPOS(p.inode + 1 + rnd_below(100), rng(), U32_MAX);
	}
}

static struct bpos first_pos(enum node_kind kind)
{
	switch (kind) {
	case NODE_INODES:	return SPOS(0, 4095 + rnd_below(100), U32_MAX);
	case NODE_EXTENTS:	return SPOS(4096 + rnd_below(100), 0, U32_MAX);
	case NODE_DIRENTS:	return SPOS(4096 + rnd_below(100), 2, U32_MAX);
	case NODE_ALLOC:	return POS(0, rnd_below(10));
	default:		return SPOS(rnd_below(100), 0, U32_MAX);
	}
}

/* A key of kind at p; prev is the key before (interior nodes tile their range). */
static void add_key_of(struct key_set *s, enum node_kind kind, struct bpos p,
		       unsigned size, struct bpos prev_end)
{
	switch (kind) {
	case NODE_INODES:
		if (!rnd_below(10)) {
			set_add(s, KEY_TYPE_whiteout, p, 0);
			return;
		}
		add_inode(s, p);
		return;
	case NODE_EXTENTS:
		add_extent(s, p, size);
		return;
	case NODE_DIRENTS:
		if (!rnd_below(10)) {
			set_add(s, KEY_TYPE_hash_whiteout, p, 0);
			return;
		}
		add_dirent(s, p);
		return;
	case NODE_ALLOC:
		add_alloc(s, p);
		return;
	default:
		add_btree_ptr(s, bpos_successor(prev_end), p);
	}
}

/* Up to nr keys of the kind, stopping before the node would overflow unpacked. */
static void fill(struct key_set *s, enum node_kind kind, size_t nr)
{
	struct bpos p = first_pos(kind), prev = p;
	size_t u64s = 0, room = ((NODE_SECTORS << 9) - sizeof(struct btree_node)) / 8;

	for (size_t i = 0; i < nr; i++) {
		unsigned size = 0;

		prev = p;
		p = next_pos(kind, p, &size);
		add_key_of(s, kind, p, size, prev);
		u64s += s->keys[s->nr - 1].u64s;
		if (u64s > room) {
			s->nr--;
			break;
		}
	}
}

/* ---- writing, reading back, comparing ---- */

static struct bkey_i *make_ptr(u64 *buf, struct bpos min, struct bpos max, u64 seq,
			       unsigned sectors, u64 sector)
{
	struct bkey_i *k = (void *)buf;
	struct bch_extent_ptr ptr = { .v = 1ULL << BCH_EXTENT_ENTRY_ptr };

	set_ptr_offset(&ptr, sector);
	bch_btree_ptr_v2_init(k, max, min, seq, sectors, &ptr, 1);
	return k;
}

/* Reads the node at sector through node_read: it must read without complaint. */
static void read_node(struct bch_fs *c, enum btree_id id, unsigned level, struct bpos min,
		      struct bpos max, u64 seq, unsigned sectors, u64 sector, struct btree *b)
{
	u64 ptr_buf[16];
	struct printbuf err = PRINTBUF;
	int ret = bch_btree_node_read(c, make_ptr(ptr_buf, min, max, seq, sectors, sector),
				      id, level, b, &err);

	ck_assert_msg(!ret, "read: %.400s", pb_cstr(&err));
	ck_assert_msg(!c->nr_errors, "read: %.400s", pb_cstr(&c->log));
	ck_assert_uint_eq(b->written, sectors);
	pb_exit(&err);
}

static void assert_same_keys(const struct btree *b, const struct key_set *want)
{
	ck_assert_uint_eq(b->nr_keys, want->nr);
	for (size_t i = 0; i < want->nr; i++) {
		const struct bkey *g = &b->keys[i], *w = &want->keys[i];

		ck_assert_msg(bpos_eq(g->p, w->p), "key %zu at wrong position", i);
		ck_assert_uint_eq(g->u64s, w->u64s);
		ck_assert_uint_eq(g->type, w->type);
		ck_assert_uint_eq(g->size, w->size);
		ck_assert_uint_eq(g->bversion.lo, w->bversion.lo);
		ck_assert_uint_eq(g->bversion.hi, w->bversion.hi);
		ck_assert_int_eq(memcmp(b->vals[i], want->vals[i], bkey_val_bytes(w)), 0);
	}
}

static bool formats_equal(const struct bkey_format *a, const struct bkey_format *b)
{
	return !memcmp(a, b, sizeof(*a));
}

struct node_case {
	enum node_kind kind;
	unsigned csum_opt;
	unsigned block;			/* sectors */
	bool tight;			/* node range = first..last key, else POS_MIN..SPOS_MAX */
};

static struct node_case case_of(int i)
{
	return (struct node_case) {
		.kind = i % NODE_KINDS,
		.csum_opt = (i / NODE_KINDS) % BCH_CSUM_OPT_NR,
		.block = (i / (NODE_KINDS * BCH_CSUM_OPT_NR)) % 2 ? 8 : 1,
		.tight = (i / (2 * NODE_KINDS * BCH_CSUM_OPT_NR)) % 2,
	};
}

#define NR_CASES	(2 * 2 * NODE_KINDS * BCH_CSUM_OPT_NR)

static void node_range(const struct node_case *nc, const struct key_set *s,
		       struct bpos *min, struct bpos *max)
{
	*min = POS_MIN;
	*max = SPOS_MAX;
	if (nc->tight && s->nr) {
		*min = nc->kind == NODE_INTERIOR
			? ((const struct bch_btree_ptr_v2 *)s->vals[0])->min_key
			: s->keys[0].p;
		*max = s->keys[s->nr - 1].p;
	}
}

/* ---- format calculation ---- */

static struct bkey_format calc(struct bpos min, struct bpos max, const struct bkey *k, size_t nr)
{
	return bch_format_calc_node(min, max, k, nr);
}

static void assert_format(const struct bkey_format *f, const char *want)
{
	struct printbuf buf = PRINTBUF;

	bch_bkey_format_to_text(&buf, f);
	ck_assert_str_eq(pb_cstr(&buf), want);
	pb_exit(&buf);
}

START_TEST(test_format_empty_root)
{
	struct bkey_format f = calc(POS_MIN, SPOS_MAX, NULL, 0);

	/* what a new root gets: extents with a size will not pack in it */
	assert_format(&f, "u64s 3 fields 64:0, 64:0, 32:0, 0:0, 0:0, 0:0");
}
END_TEST

START_TEST(test_format_inodes_leaf)
{
	struct bkey k[2] = {
		{ .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(0, 4621, U32_MAX) },
		{ .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(0, 5189, U32_MAX) },
	};
	struct bkey_format f = calc(SPOS(0, 4621, 0), SPOS(0, 5189, U32_MAX), k, 2);

	/* 10 bits of inode number spread, rounded up to 16: still 2 words */
	assert_format(&f, "u64s 2 fields 0:0, 16:4621, 32:0, 0:0, 0:0, 0:0");
}
END_TEST

START_TEST(test_format_all_keys_equal)
{
	struct bkey k[3];

	for (unsigned i = 0; i < 3; i++)
		k[i] = (struct bkey) { .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(5, 7, 9) };
	struct bkey_format f = calc(SPOS(5, 7, 9), SPOS(5, 7, 9), k, 3);

	/* nothing varies: the key is its 3 header bytes */
	assert_format(&f, "u64s 1 fields 0:5, 0:7, 0:9, 0:0, 0:0, 0:0");

	u64 buf[BKEY_U64s];
	struct bkey_unpacker u;
	struct bkey out;

	ck_assert(bch_bkey_pack(&f, &k[0], (void *)buf));
	bch_bkey_unpacker_init(&u, &f);
	ck_assert(bch_bkey_unpack(&u, (void *)buf, &out));
	ck_assert(bpos_eq(out.p, k[0].p));
}
END_TEST

START_TEST(test_format_full_range)
{
	struct bkey k[2] = {
		{ .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(0, 0, 0), .size = 0 },
		{ .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(~0ULL, ~0ULL, U32_MAX), .size = U32_MAX,
		  .bversion = { .hi = U32_MAX, .lo = ~0ULL } },
	};
	struct bkey_format f = calc(POS_MIN, SPOS_MAX, k, 2);

	/* every field at full width is the unpacked layout */
	ck_assert(formats_equal(&f, &bch_bkey_format_current));
}
END_TEST

START_TEST(test_format_size_headroom)
{
	struct bkey k = { .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(1, 100, 0), .size = 8 };
	struct bkey_format f = calc(SPOS(1, 0, 0), SPOS(1, 200, 0), &k, 1);

	/* 4 bits for size 8, 4 more for merging, then byte-aligned */
	ck_assert_uint_eq(f.bits_per_field[BKEY_FIELD_SIZE], 8);

	k.size = 1U << 30;
	f = calc(SPOS(1, 0, 0), SPOS(1, 200, 0), &k, 1);
	/* 31 bits: the headroom stops at the unpacked width */
	ck_assert_uint_eq(f.bits_per_field[BKEY_FIELD_SIZE], 32);
}
END_TEST

START_TEST(test_format_offset_clamped)
{
	/* a 1-bit spread near the top of the snapshot field, widened to 8 bits */
	struct bkey k = { .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(1, 1, U32_MAX) };
	struct bkey_format f = calc(SPOS(1, 1, U32_MAX - 1), SPOS(1, 1, U32_MAX), &k, 1);
	struct printbuf err = PRINTBUF;

	ck_assert_uint_eq(f.bits_per_field[BKEY_FIELD_SNAPSHOT], 8);
	/* the offset moves down so that offset + 255 is still a u32 */
	ck_assert_uint_eq(le64_to_cpu(f.field_offset[BKEY_FIELD_SNAPSHOT]), U32_MAX - 255);
	ck_assert_msg(!bch_bkey_format_validate(&f, &err), "%s", pb_cstr(&err));
	pb_exit(&err);
}
END_TEST

static unsigned bits_needed(u64 v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* Random keys: the format validates, every key packs and comes back, no word is wasted. */
START_TEST(test_format_random)
{
	rng_state = 0x9e3779b97f4a7c15ULL + _i;
	for (unsigned n = 0; n < 2000; n++) {
		struct bkey k[16];
		unsigned nr = 1 + rnd_below(16);
		unsigned shift[6];
		u64 base[6];

		for (unsigned f = 0; f < 6; f++) {
			shift[f] = rnd_below(65);
			base[f] = rng();
		}
		for (unsigned i = 0; i < nr; i++) {
			u64 v[6];

			for (unsigned f = 0; f < 6; f++)
				v[f] = base[f] + (shift[f] ? rng() >> (64 - shift[f]) : 0);
			k[i] = (struct bkey) {
				.u64s = BKEY_U64s, .type = KEY_TYPE_cookie,
				.p = SPOS(v[0], v[1], (u32)v[2]),
				.size = (u32)v[3], .bversion = { .hi = (u32)v[4], .lo = v[5] },
			};
		}
		struct bpos min = k[0].p, max = k[0].p;

		for (unsigned i = 1; i < nr; i++) {
			if (bpos_lt(k[i].p, min))
				min = k[i].p;
			if (bpos_gt(k[i].p, max))
				max = k[i].p;
		}
		struct bkey_format f = calc(min, max, k, nr);
		struct printbuf err = PRINTBUF;

		ck_assert_msg(!bch_bkey_format_validate(&f, &err), "%s", pb_cstr(&err));
		pb_exit(&err);

		/* order of feeding does not matter */
		struct bch_format_calc s;

		bch_format_calc_init(&s);
		for (unsigned i = nr; i--;)
			bch_format_calc_add_key(&s, &k[i]);
		bch_format_calc_add_pos(&s, max);
		bch_format_calc_add_pos(&s, min);
		struct bkey_format g = bch_format_calc_done(&s);
		ck_assert(formats_equal(&f, &g));

		/* the words are what the spreads need (plus size headroom), no more */
		u64 lo[6], hi[6];
		unsigned need = 24;

		for (unsigned fld = 0; fld < 6; fld++) {
			lo[fld] = ~0ULL;
			hi[fld] = 0;
		}
		lo[BKEY_FIELD_SIZE] = 0;
		for (unsigned i = 0; i < nr + 2; i++) {
			const struct bkey *kk = i < nr ? &k[i] : NULL;
			struct bpos p = kk ? kk->p : i == nr ? min : max;
			u64 v[6] = { p.inode, p.offset, p.snapshot,
				     kk ? kk->size : 0, kk ? kk->bversion.hi : 0, kk ? kk->bversion.lo : 0 };
			unsigned nf = kk ? 6 : 3;

			for (unsigned fld = 0; fld < nf; fld++) {
				lo[fld] = v[fld] < lo[fld] ? v[fld] : lo[fld];
				hi[fld] = v[fld] > hi[fld] ? v[fld] : hi[fld];
			}
		}
		for (unsigned fld = 0; fld < 6; fld++) {
			unsigned b = bits_needed(hi[fld] - (lo[fld] <= hi[fld] ? lo[fld] : hi[fld]));

			if (fld == BKEY_FIELD_SIZE && b)
				b = b + 4 > 32 ? 32 : b + 4;
			need += b;
		}
		ck_assert_uint_eq(f.key_u64s, (need + 63) / 64);

		for (unsigned i = 0; i < nr; i++) {
			u64 buf[BKEY_U64s];
			struct bkey_unpacker u;
			struct bkey out;

			ck_assert(bch_bkey_pack(&f, &k[i], (void *)buf));
			bch_bkey_unpacker_init(&u, &f);
			ck_assert(bch_bkey_unpack(&u, (void *)buf, &out));
			ck_assert(bpos_eq(out.p, k[i].p));
			ck_assert_uint_eq(out.size, k[i].size);
			ck_assert_uint_eq(out.bversion.lo, k[i].bversion.lo);
			ck_assert_uint_eq(out.bversion.hi, k[i].bversion.hi);
		}
	}
}
END_TEST

/* ---- first writes ---- */

/* Random node of the case's kind, written at bucket 2, read back: same keys. */
START_TEST(test_round_trip)
{
	struct node_case nc = case_of(_i);
	struct bch_fs *c = fs_new(nc.block, nc.csum_opt);
	struct key_set *s = set_new();
	size_t bytes = NODE_SECTORS << 9;
	u8 *node = malloc(bytes);
	struct btree b = { 0 };
	struct printbuf err = PRINTBUF;
	struct bpos min, max;
	u64 seq;

	rng_state = 0x2545f4914f6cdd1dULL * (_i + 1);
	seq = rng();
	fill(s, nc.kind, rnd_below(3) ? rnd_below(2000) : rnd_below(4));
	node_range(&nc, s, &min, &max);

	struct bch_node_hdr h = {
		.btree_id = kind_btree[nc.kind], .level = nc.kind == NODE_INTERIOR,
		.min_key = min, .max_key = max, .seq = seq, .node_gen = 1 + rnd_below(100),
		.format = calc(min, max, s->keys, s->nr),
	};
	struct bch_bset_keys keys = set_keys(s, rnd_below(1000));
	int sectors = bch_btree_node_write_first(c, &h, &keys, node, bytes, &err);

	ck_assert_msg(sectors > 0, "write: %s", pb_cstr(&err));
	ck_assert_uint_eq(sectors % nc.block, 0);

	/* header fields as written */
	const struct btree_node *bn = (const void *)node;

	ck_assert_uint_eq(bset_csum_type(&bn->keys), bch_csum_opt_to_type(nc.csum_opt, false));
	ck_assert_uint_eq(bset_offset(&bn->keys), 0);
	ck_assert_uint_eq(le16_to_cpu(bn->keys.version), c->sb.version);
	ck_assert_uint_eq(le64_to_cpu(bn->keys.journal_seq), keys.journal_seq);
	ck_assert_uint_eq(btree_node_seq(bn), h.node_gen);
	ck_assert(btree_node_new_extent_overwrite(bn));
	ck_assert_uint_eq(le16_to_cpu(bn->keys.u64s), bch_bset_keys_u64s(&h.format, &keys));

	dev_write(c, node, sectors, 2 * BUCKET_SECTORS);
	read_node(c, h.btree_id, h.level, min, max, seq, sectors, 2 * BUCKET_SECTORS, &b);
	assert_same_keys(&b, s);
	ck_assert_uint_eq(b.nr_bsets, 1);
	ck_assert_uint_eq(b.node_seq, h.node_gen);
	ck_assert_uint_eq(b.max_journal_seq, keys.journal_seq);
	/* the format was computed from these keys: all of them pack */
	ck_assert_uint_eq(b.nr_unpacked, 0);

	/* and compacting it gives the same bytes */
	u8 *again = malloc(bytes);
	int sectors2 = bch_btree_node_compact(c, &b, seq, h.node_gen, again, bytes, &err);

	ck_assert_int_eq(sectors2, sectors);
	ck_assert_int_eq(memcmp(again, node, (size_t)sectors << 9), 0);

	free(again);
	bch_btree_node_free(&b);
	pb_exit(&err);
	free(node);
	free(s);
	fs_free(c);
}
END_TEST

/* Keys that do not fit the node's format are written unpacked and read back the same. */
START_TEST(test_unpacked_keys)
{
	struct bch_fs *c = fs_new(1, BCH_CSUM_OPT_crc32c);
	struct key_set *s = set_new();
	size_t bytes = NODE_SECTORS << 9;
	u8 *node = malloc(bytes);
	struct btree b = { 0 };
	struct printbuf err = PRINTBUF;

	rng_state = 77;
	fill(s, NODE_EXTENTS, 300);

	/* a new root's format has no bits for size */
	struct bch_node_hdr h = {
		.btree_id = BTREE_ID_extents, .min_key = POS_MIN, .max_key = SPOS_MAX,
		.seq = 0x1234, .node_gen = 1, .format = calc(POS_MIN, SPOS_MAX, NULL, 0),
	};
	struct bch_bset_keys keys = set_keys(s, 5);
	int sectors = bch_btree_node_write_first(c, &h, &keys, node, bytes, &err);

	ck_assert_msg(sectors > 0, "%s", pb_cstr(&err));
	dev_write(c, node, sectors, 3 * BUCKET_SECTORS);
	read_node(c, BTREE_ID_extents, 0, POS_MIN, SPOS_MAX, 0x1234, sectors, 3 * BUCKET_SECTORS, &b);
	assert_same_keys(&b, s);
	ck_assert_uint_eq(b.nr_unpacked, s->nr);
	ck_assert_uint_eq(b.nr_packed, 0);

	bch_btree_node_free(&b);
	pb_exit(&err);
	free(node);
	free(s);
	fs_free(c);
}
END_TEST

/* Any flipped byte in the written range is caught by the checksum. */
START_TEST(test_checksum_covers_node)
{
	unsigned opt = 1 + _i;		/* crc32c, crc64, xxhash */
	struct bch_fs *c = fs_new(1, opt);
	struct key_set *s = set_new();
	size_t bytes = NODE_SECTORS << 9;
	u8 *node = malloc(bytes);
	struct btree b = { 0 };
	struct printbuf err = PRINTBUF;
	u64 ptr_buf[16];

	rng_state = 99 + _i;
	fill(s, NODE_INODES, 50);
	struct bch_node_hdr h = {
		.btree_id = BTREE_ID_inodes, .min_key = POS_MIN, .max_key = SPOS_MAX,
		.seq = 42, .node_gen = 1, .format = calc(POS_MIN, SPOS_MAX, s->keys, s->nr),
	};
	struct bch_bset_keys keys = set_keys(s, 9);
	int sectors = bch_btree_node_write_first(c, &h, &keys, node, bytes, &err);
	size_t used = sizeof(struct btree_node) + 8 * le16_to_cpu(((struct btree_node *)node)->keys.u64s);

	ck_assert_int_gt(sectors, 0);
	for (unsigned n = 0; n < 20; n++) {
		/* past the checksum field, before the padding */
		size_t at = 16 + rnd_below(used - 16);

		node[at] ^= 1 << rnd_below(8);
		dev_write(c, node, sectors, 4 * BUCKET_SECTORS);
		pb_reset(&err);
		ck_assert_int_ne(bch_btree_node_read(c, make_ptr(ptr_buf, POS_MIN, SPOS_MAX, 42, sectors,
								 4 * BUCKET_SECTORS),
						     BTREE_ID_inodes, 0, &b, &err), 0);
		/* back to the node as written */
		ck_assert_int_eq(bch_btree_node_write_first(c, &h, &keys, node, bytes, &err), sectors);
	}
	bch_btree_node_free(&b);
	pb_exit(&err);
	free(node);
	free(s);
	fs_free(c);
}
END_TEST

/*
 * The worked example of FORMAT-1.13 §4: the first write of a fresh
 * filesystem's empty inodes root, byte for byte.
 */
START_TEST(test_empty_root_bytes)
{
	static const u8 want[160] = {
		0x6d, 0x4c, 0xaf, 0x46, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x40, 0x75, 0x45, 0xd4, 0xf9, 0xe3, 0x54, 0x41, 0x01, 0x01, 0, 0, 0x01, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
		0x03, 0x06, 0x40, 0x40, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		[128] = 0, 0, 0, 0, 0, 0, 0, 0, 0x3e, 0x45, 0xff, 0xd6, 0xfe, 0xa8, 0x9b, 0xc2,
		[144] = 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x0d, 0x04, 0, 0,
	};
	struct bch_fs *c = fs_new(8, BCH_CSUM_OPT_crc32c);
	size_t bytes = NODE_SECTORS << 9;
	u8 *node = malloc(bytes);
	struct printbuf err = PRINTBUF;
	struct bch_node_hdr h = {
		.btree_id = BTREE_ID_inodes, .min_key = POS_MIN, .max_key = SPOS_MAX,
		.seq = 0xc29ba8fed6ff453eULL, .node_gen = 1,
		.format = calc(POS_MIN, SPOS_MAX, NULL, 0),
	};
	struct bch_bset_keys none = { 0 };

	memset(node, 0xaa, bytes);
	/* one 4 KiB block */
	ck_assert_int_eq(bch_btree_node_write_first(c, &h, &none, node, bytes, &err), 8);
	ck_assert_int_eq(memcmp(node, want, sizeof(want)), 0);
	for (size_t i = sizeof(want); i < 4096; i++)
		ck_assert_uint_eq(node[i], 0);
	/* nothing past the block is touched */
	ck_assert_uint_eq(node[4096], 0xaa);

	pb_exit(&err);
	free(node);
	fs_free(c);
}
END_TEST

/* ---- later writes ---- */

static void push_copy(struct key_set *dst, const struct bkey *k, const void *val)
{
	ck_assert_uint_lt(dst->nr, MAX_KEYS);
	dst->keys[dst->nr] = *k;
	memcpy(dst->vbuf[dst->nr], val, bkey_val_bytes(k));
	dst->vals[dst->nr] = dst->vbuf[dst->nr];
	dst->nr++;
}

static void copy_set(struct key_set *dst, const struct key_set *src)
{
	dst->nr = 0;
	for (size_t i = 0; i < src->nr; i++)
		push_copy(dst, &src->keys[i], src->vals[i]);
}

/* Overwrites key k in upd: same position, a new value, perhaps a version that does not pack. */
static void overwrite(enum node_kind kind, struct key_set *upd, const struct bkey *k,
		      const void *old_val)
{
	size_t n = upd->nr;

	add_key_of(upd, kind, k->p, k->size ? k->size : 1, k->p);
	if (kind == NODE_INTERIOR)
		((struct bch_btree_ptr_v2 *)upd->vbuf[n])->min_key =
			((const struct bch_btree_ptr_v2 *)old_val)->min_key;
	if (!rnd_below(3))
		upd->keys[n].bversion.lo = rng();
}

/*
 * A later bset against the live keys of `cur`: some overwritten, some
 * deleted, for inodes some new keys in between.  `next` gets the merged
 * result the reader must produce (deleted keys gone).
 */
static void make_update(enum node_kind kind, const struct key_set *cur,
			struct key_set *upd, struct key_set *next)
{
	upd->nr = next->nr = 0;
	for (size_t i = 0; i < cur->nr; i++) {
		const struct bkey *k = &cur->keys[i];
		unsigned what = rnd_below(10);

		if (what == 1 || what == 2) {
			/* masks the older key, then is dropped itself */
			set_add(upd, KEY_TYPE_deleted, k->p, 0);
			continue;
		}
		if (what == 3) {
			overwrite(kind, upd, k, cur->vals[i]);
			push_copy(next, &upd->keys[upd->nr - 1], upd->vals[upd->nr - 1]);
			continue;
		}
		push_copy(next, k, cur->vals[i]);
		if (what == 0 && kind == NODE_INODES && i + 1 < cur->nr &&
		    cur->keys[i + 1].p.offset > k->p.offset + 1) {
			add_inode(upd, SPOS(0, k->p.offset + 1, U32_MAX));
			push_copy(next, &upd->keys[upd->nr - 1], upd->vals[upd->nr - 1]);
		}
	}
}

/* A node with two later bsets of overwrites and deletions: the read merges them. */
START_TEST(test_append_merge)
{
	struct node_case nc = case_of(_i);
	struct bch_fs *c = fs_new(nc.block, nc.csum_opt);
	struct key_set *cur = set_new(), *upd = set_new(), *next = set_new();
	size_t bytes = NODE_SECTORS << 9;
	u8 *node = calloc(1, bytes);
	struct btree b = { 0 };
	struct printbuf err = PRINTBUF;
	struct bpos min, max;
	u64 seq, jseq = 10;
	unsigned written;

	rng_state = 0x853c49e6748fea9bULL * (_i + 3);
	seq = rng();
	fill(cur, nc.kind, 150 + rnd_below(350));
	node_range(&nc, cur, &min, &max);

	struct bch_node_hdr h = {
		.btree_id = kind_btree[nc.kind], .level = nc.kind == NODE_INTERIOR,
		.min_key = min, .max_key = max, .seq = seq, .node_gen = 7,
		.format = calc(min, max, cur->keys, cur->nr),
	};
	struct bch_bset_keys keys = set_keys(cur, jseq);
	int sectors = bch_btree_node_write_first(c, &h, &keys, node, bytes, &err);

	ck_assert_msg(sectors > 0, "%s", pb_cstr(&err));
	written = sectors;

	for (unsigned round = 0; round < 2; round++) {
		make_update(nc.kind, cur, upd, next);
		keys = set_keys(upd, ++jseq);
		sectors = bch_btree_node_write_next(c, node, bytes, written, &keys, &err);
		ck_assert_msg(sectors >= 0, "%s", pb_cstr(&err));
		if (upd->nr) {
			struct btree_node_entry *e = (void *)(node + ((size_t)written << 9));

			ck_assert_uint_eq(bset_offset(&e->keys), written);
			ck_assert_uint_eq(e->keys.seq, ((struct btree_node *)node)->keys.seq);
		} else {
			ck_assert_int_eq(sectors, 0);
		}
		written += sectors;
		copy_set(cur, next);
	}
	dev_write(c, node, written, 5 * BUCKET_SECTORS);
	read_node(c, h.btree_id, h.level, min, max, seq, written, 5 * BUCKET_SECTORS, &b);
	assert_same_keys(&b, cur);
	ck_assert_uint_eq(b.max_journal_seq, jseq);

	/* the rewrite: one bset, its own format, everything packed, same keys */
	u8 *fresh = malloc(bytes);
	int n = bch_btree_node_compact(c, &b, seq + 1, h.node_gen + 1, fresh, bytes, &err);
	struct bkey_format want = calc(min, max, cur->keys, cur->nr);

	ck_assert_msg(n > 0, "%s", pb_cstr(&err));
	ck_assert_uint_le(n, written);
	ck_assert(formats_equal(&((struct btree_node *)fresh)->format, &want));
	dev_write(c, fresh, n, 6 * BUCKET_SECTORS);
	read_node(c, h.btree_id, h.level, min, max, seq + 1, n, 6 * BUCKET_SECTORS, &b);
	assert_same_keys(&b, cur);
	ck_assert_uint_eq(b.nr_bsets, 1);
	ck_assert_uint_eq(b.nr_unpacked, 0);
	ck_assert_uint_eq(b.node_seq, h.node_gen + 1);
	ck_assert_uint_eq(b.max_journal_seq, jseq);

	free(fresh);
	bch_btree_node_free(&b);
	pb_exit(&err);
	free(node);
	free(cur);
	free(upd);
	free(next);
	fs_free(c);
}
END_TEST

/* ---- compaction keeps the old format when the new one would overflow ---- */

START_TEST(test_compact_format_fallback)
{
	struct bch_fs *c = fs_new(1, BCH_CSUM_OPT_none);
	struct bkey keys[2] = {
		{ .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(0, 1, 0) },
		{ .u64s = BKEY_U64s, .type = KEY_TYPE_cookie, .p = SPOS(0, 2, 0),
		  .bversion = { .lo = ~0ULL } },
	};
	struct btree b = {
		.min_key = POS_MIN, .max_key = SPOS_MAX,
		.keys = keys, .nr_keys = 2,
		.format = calc(SPOS(0, 1, 0), SPOS(0, 2, 0), keys, 1),
	};
	struct bkey_format fresh = calc(b.min_key, b.max_key, keys, 2), got;
	size_t room = ((NODE_SECTORS << 9) - sizeof(struct btree_node)) / 8;

	/* the old format is 1 word, the new one wider */
	ck_assert_uint_eq(b.format.key_u64s, 1);
	ck_assert_uint_gt(fresh.key_u64s, 1);

	/* plenty of room: the new format */
	b.nr_packed = 100;
	b.live_u64s = 100;
	got = bch_btree_node_compact_format(c, &b);
	ck_assert(formats_equal(&got, &fresh));

	/* a node full of 1-word keys would overflow if each grew: the old one */
	b.nr_packed = room - 10;
	b.live_u64s = room - 10;
	got = bch_btree_node_compact_format(c, &b);
	ck_assert(formats_equal(&got, &b.format));
	fs_free(c);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_write_errors)
{
	struct bch_fs *c = fs_new(8, BCH_CSUM_OPT_crc32c);
	struct key_set *s = set_new();
	size_t bytes = NODE_SECTORS << 9;
	u8 *node = calloc(1, bytes);
	struct printbuf err = PRINTBUF;
	struct bch_node_hdr h = {
		.btree_id = BTREE_ID_inodes, .min_key = POS_MIN, .max_key = SPOS_MAX,
		.seq = 1, .node_gen = 1, .format = calc(POS_MIN, SPOS_MAX, NULL, 0),
	};
	struct bch_bset_keys keys;

	rng_state = 5;
	fill(s, NODE_INODES, 10);

	/* out of order */
	struct bkey tmp = s->keys[3];
	s->keys[3] = s->keys[4];
	s->keys[4] = tmp;
	keys = set_keys(s, 1);
	ck_assert_int_eq(bch_btree_node_write_first(c, &h, &keys, node, bytes, &err),
			 -BCH_ERR_bad_argument);
	ck_assert_ptr_nonnull(strstr(pb_cstr(&err), "does not come after"));
	s->keys[4] = s->keys[3];
	s->keys[3] = tmp;

	/* a buffer smaller than a node */
	ck_assert_int_eq(bch_btree_node_write_first(c, &h, &keys, node, bytes - 512, &err),
			 -BCH_ERR_bad_argument);

	/* more keys than a node holds */
	struct key_set *big = set_new();

	for (unsigned i = 0; i < 2000; i++)
		add_inode(big, SPOS(0, 4096 + i, U32_MAX));
	keys = set_keys(big, 1);
	ck_assert_int_eq(bch_btree_node_write_first(c, &h, &keys, node, bytes, &err),
			 -BCH_ERR_bad_argument);

	/* a later write needs a first write, a block boundary and keys */
	keys = set_keys(s, 1);
	memset(node, 0, bytes);
	ck_assert_int_eq(bch_btree_node_write_next(c, node, bytes, 8, &keys, &err),
			 -BCH_ERR_bad_argument);
	ck_assert_int_eq(bch_btree_node_write_first(c, &h, &keys, node, bytes, &err), 8);
	ck_assert_int_eq(bch_btree_node_write_next(c, node, bytes, 4, &keys, &err),
			 -BCH_ERR_bad_argument);
	ck_assert_int_eq(bch_btree_node_write_next(c, node, bytes, NODE_SECTORS, &keys, &err),
			 -BCH_ERR_bad_argument);
	struct bch_bset_keys none = { 0 };
	ck_assert_int_eq(bch_btree_node_write_next(c, node, bytes, 8, &none, &err), 0);

	/* encrypted filesystems are not written yet */
	c->sb.encryption_type = 1;
	ck_assert_int_eq(bch_btree_node_write_first(c, &h, &keys, node, bytes, &err),
			 -BCH_ERR_encrypted);

	pb_exit(&err);
	free(node);
	free(s);
	free(big);
	fs_free(c);
}
END_TEST

static Suite *node_write_suite(void)
{
	Suite *s = suite_create("node_write");
	TCase *tf = tcase_create("format_calc");
	TCase *tw = tcase_create("write");

	tcase_add_test(tf, test_format_empty_root);
	tcase_add_test(tf, test_format_inodes_leaf);
	tcase_add_test(tf, test_format_all_keys_equal);
	tcase_add_test(tf, test_format_full_range);
	tcase_add_test(tf, test_format_size_headroom);
	tcase_add_test(tf, test_format_offset_clamped);
	tcase_add_loop_test(tf, test_format_random, 0, 4);
	suite_add_tcase(s, tf);

	tcase_set_timeout(tw, 120);
	tcase_add_loop_test(tw, test_round_trip, 0, NR_CASES);
	tcase_add_test(tw, test_unpacked_keys);
	tcase_add_loop_test(tw, test_checksum_covers_node, 0, 3);
	tcase_add_test(tw, test_empty_root_bytes);
	tcase_add_loop_test(tw, test_append_merge, 0, NR_CASES);
	tcase_add_test(tw, test_compact_format_fallback);
	tcase_add_test(tw, test_write_errors);
	suite_add_tcase(s, tw);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(node_write_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

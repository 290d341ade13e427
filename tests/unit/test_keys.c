/* Unit tests for the key types: validation of every type, text against the reference tool. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/accounting.h"
#include "keys/alloc.h"
#include "keys/dirent.h"
#include "keys/extents.h"
#include "keys/inode.h"
#include "keys/key_types.h"
#include "util/names.h"
#include "util/varint.h"

/* Values are built through their structs: the words may alias them. */
typedef u64 __attribute__((may_alias)) val_word;

/* A key and room for the largest value. */
struct test_key {
	struct bkey k;
	val_word v[BKEY_VAL_U64s_MAX];
};

/*
 * A filesystem as the printers see it: devices like the reference's
 * 256 MiB test images (256-sector buckets), device 1 with durability 2.
 */
static struct bch_fs *test_fs(void)
{
	static struct bch_fs *c;

	if (!c) {
		c = calloc(1, sizeof(*c));
		c->sb.nr_devices = 3;
		c->sb.btree_node_size = 256;
		c->sb.encoded_extent_max = 128;
		for (unsigned i = 0; i < 3; i++) {
			c->sb.members[i].exists = true;
			c->sb.members[i].bucket_size = 256;
			c->sb.members[i].nbuckets = 2048;
			c->sb.members[i].durability = i == 1 ? 2 : 1;
		}
	}
	return c;
}

static void key_init(struct test_key *t, unsigned type, struct bpos p, unsigned val_bytes)
{
	memset(t, 0, sizeof(*t));
	t->k.u64s = BKEY_U64s + (val_bytes + 7) / 8;
	t->k.format_whiteout = KEY_FORMAT_CURRENT;
	t->k.type = type;
	t->k.p = p;
}

static struct bkey_s_c key_s_c(const struct test_key *t)
{
	return (struct bkey_s_c) { &t->k, (const void *)t->v };
}

/* The key's text must be exactly what the reference printed. */
static void check_text(const struct test_key *t, const char *want)
{
	struct printbuf buf = PRINTBUF;

	bch_bkey_val_to_text(&buf, test_fs(), key_s_c(t));
	ck_assert_str_eq(pb_cstr(&buf), want);
	pb_exit(&buf);
}

static int validate(const struct test_key *t, enum btree_id btree, unsigned level,
		    enum bch_sb_error_id *id)
{
	struct bkey_where where = { .btree = btree, .level = level };
	struct printbuf err = PRINTBUF;
	int ret = bch_bkey_validate_id(test_fs(), key_s_c(t), &where, &err, id);

	/* a failure always says what failed */
	if (ret)
		ck_assert_uint_gt(strlen(pb_cstr(&err)), 0);
	pb_exit(&err);
	return ret;
}

/* ---- every key type ---- */

static const u8 min_val_bytes[KEY_TYPE_MAX] = {
#define x(name, nr, min) [nr] = min,
	BCH_BKEY_TYPES()
#undef x
};

static const u64 btree_leaf_types[BTREE_ID_NR] = {
#define x(name, nr, flags, types) [nr] = types,
	BCH_BTREE_IDS()
#undef x
};

static const u32 btree_flags[BTREE_ID_NR] = {
#define x(name, nr, flags, types) [nr] = flags,
	BCH_BTREE_IDS()
#undef x
};

/* A place where keys of this type live, and a position valid there. */
static void home_of(unsigned type, enum btree_id *btree, unsigned *level, struct test_key *t)
{
	*btree = BTREE_ID_alloc;
	*level = type == KEY_TYPE_btree_ptr || type == KEY_TYPE_btree_ptr_v2;
	if (*level) {
		*btree = BTREE_ID_extents;
		return;
	}
	for (unsigned b = 0; b < BTREE_ID_NR; b++)
		if (btree_leaf_types[b] & (1ULL << type)) {
			*btree = b;
			break;
		}
	if (btree_flags[*btree] & BTREE_FL_SNAPSHOTS)
		t->k.p.snapshot = UINT32_MAX;
	if (btree_flags[*btree] & BTREE_FL_EXTENTS) {
		t->k.p.offset = 16;
		t->k.size = 8;
	}
}

START_TEST(test_too_small_values_rejected)
{
	for (unsigned type = 0; type < KEY_TYPE_MAX; type++) {
		struct test_key t;
		enum bch_sb_error_id id = 0;
		enum btree_id btree;
		unsigned level;

		if (!min_val_bytes[type])
			continue;
		key_init(&t, type, SPOS(1, 4096, 0), min_val_bytes[type] - 8);
		home_of(type, &btree, &level, &t);
		ck_assert_msg(validate(&t, btree, level, &id), "type %s", bch_bkey_type_names[type]);
		ck_assert_int_eq(id, BCH_FSERR_bkey_val_size_too_small);
	}
}
END_TEST

static u64 rand64(void)
{
	return (u64)rand() << 42 ^ (u64)rand() << 21 ^ (u64)rand();
}

/*
 * Random values of every size in a buffer of exactly that size, so the
 * sanitizers see any read past the value.  Some words are made into
 * valid-looking extent entries so the entry walkers go deep.
 */
static void random_key(struct bkey *k, u64 **v, unsigned type, unsigned u64s)
{
	memset(k, 0, sizeof(*k));
	k->u64s = BKEY_U64s + u64s;
	k->type = type;
	k->size = rand() & 1 ? rand64() : rand() & 255;
	k->p = SPOS(rand() & 1 ? rand() & 3 : rand64(), rand64(), rand64());
	k->bversion.lo = rand64();

	*v = malloc(u64s ? u64s * 8 : 1);
	for (unsigned i = 0; i < u64s; i++) {
		(*v)[i] = rand64();
		if (rand() & 1)
			(*v)[i] = ((*v)[i] & ~0x3fULL) | (1ULL << (rand() % 7));
		if (!(rand() & 7))
			(*v)[i] &= 0xffff;
	}
}

START_TEST(test_random_values_every_type)
{
	srand(_i + 1);
	for (unsigned type = 0; type <= KEY_TYPE_MAX; type++)
		for (unsigned u64s = 0; u64s <= BKEY_VAL_U64s_MAX; u64s++) {
			struct printbuf buf = PRINTBUF;
			struct bkey k;
			u64 *v;

			random_key(&k, &v, type, u64s);
			struct bkey_s_c s = { &k, v };

			bch_bkey_val_to_text(&buf, test_fs(), s);
			bch_bkey_val_to_text(&buf, NULL, s);
			for (unsigned b = 0; b <= BTREE_ID_NR; b++) {
				struct bkey_where w = { .btree = b, .level = rand() & 1,
							.write = rand() & 1,
							.commit = rand() & 1 };

				bch_bkey_validate(test_fs(), s, &w, &buf);
				bch_bkey_validate(NULL, s, &w, NULL);
			}
			ck_assert(!buf.oom);
			pb_exit(&buf);
			free(v);
		}
}
END_TEST

/* ---- known text: keys as the reference's format wrote them ---- */

/* Appends a varint; the 96-bit times take a second (high) varint. */
static u8 *put_varint(u8 *out, u64 v)
{
	return out + bch_varint_encode(out, v);
}

/* The root directory of a `format --source` image. */
static void root_inode_v3(struct test_key *t)
{
	static const u64 fields[] = {
		2206963, 0, 18206963, 0, 18206963, 0, 2206963, 0,	/* times */
		0, 0, 4, 0, 0,		/* uid gid nlink generation dev */
		0, 0, 0, 0, 0,		/* data_checksum .. data_replicas */
		0, 0, 0, 0, 0,		/* targets, erasure_code, fields_set */
		0, 0, 1,		/* dir, dir_offset, subvol */
	};
	struct bch_inode_v3 *v = (void *)t->v;
	u8 *p = v->fields;

	key_init(t, KEY_TYPE_inode_v3, SPOS(0, 4096, UINT32_MAX), 0);
	v->bi_journal_seq = 4;
	v->bi_hash_seed = 0x0123456789abcdefULL;
	set_inode_v3_str_hash(v, 3);
	set_inode_v3_nr_fields(v, 22);
	set_inode_v3_fields_start(v, INODE_V3_FIELDS_START_INITIAL);
	set_inode_v3_mode(v, 040755);
	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		p = put_varint(p, fields[i]);
	t->k.u64s = BKEY_U64s + (p - (u8 *)v + 7) / 8;
}

START_TEST(test_inode_v3_text)
{
	struct test_key t;
	struct bch_inode_unpacked u;

	root_inode_v3(&t);
	check_text(&t,
		   "u64s 16 type inode_v3 0:4096:U32_MAX len 0 ver 0: \n"
		   "  mode=40755\n  flags=(16300000)\n  journal_seq=4\n"
		   "  bi_size=0\n  bi_sectors=0\n  bi_version=0\n"
		   "  bi_atime=2206963\n  bi_ctime=18206963\n  bi_mtime=18206963\n"
		   "  bi_otime=2206963\n  bi_uid=0\n  bi_gid=0\n  bi_nlink=4\n"
		   "  bi_generation=0\n  bi_dev=0\n  bi_data_checksum=0\n"
		   "  bi_compression=0\n  bi_project=0\n  bi_background_compression=0\n"
		   "  bi_data_replicas=0\n  bi_promote_target=0\n  bi_foreground_target=0\n"
		   "  bi_background_target=0\n  bi_erasure_code=0\n  bi_fields_set=0\n"
		   "  bi_dir=0\n  bi_dir_offset=0\n  bi_subvol=1\n  bi_parent_subvol=0\n"
		   "  bi_nocow=0");
	ck_assert_int_eq(validate(&t, BTREE_ID_inodes, 0, NULL), 0);

	ck_assert_int_eq(bch_inode_unpack(key_s_c(&t), &u), 0);
	ck_assert_uint_eq(u.bi_inum, 4096);
	ck_assert_uint_eq(u.bi_mode, 040755);
	ck_assert_uint_eq(bch_inode_str_hash(&u), 3);
	ck_assert_uint_eq(u.bi_hash_seed, 0x0123456789abcdefULL);
	ck_assert_uint_eq(u.bi_subvol, 1);

	/* a varint running past the value */
	t.k.u64s = BKEY_U64s + 7;
	ck_assert_int_ne(bch_inode_unpack(key_s_c(&t), &u), 0);
}
END_TEST

/* inode_v2 keeps size and sectors among the varints, mode in its own field. */
START_TEST(test_inode_v2_unpack)
{
	struct test_key t;
	struct bch_inode_v2 *v = (void *)t.v;
	struct bch_inode_unpacked u;
	u8 *p;

	key_init(&t, KEY_TYPE_inode_v2, SPOS(0, 5000, UINT32_MAX), 0);
	v->bi_flags = 3 << 24 | 2 << 20 | 1 << BCH_INODE_nodump;
	v->bi_mode = 0100644;
	p = v->fields;
	p = put_varint(put_varint(p, 7), 0);	/* atime */
	p = put_varint(put_varint(p, 8), 0);	/* ctime */
	p = put_varint(put_varint(p, 9), 0);	/* mtime */
	t.k.u64s = BKEY_U64s + (p - (u8 *)v + 7) / 8;

	ck_assert_int_eq(bch_inode_unpack(key_s_c(&t), &u), 0);
	ck_assert_uint_eq(u.bi_mtime, 9);
	ck_assert_uint_eq(u.bi_size, 0);
	ck_assert_uint_eq(u.bi_mode, 0100644);
	ck_assert_uint_eq(bch_inode_str_hash(&u), 2);
	ck_assert_int_eq(validate(&t, BTREE_ID_inodes, 0, NULL), 0);

	/* a time with a non-zero high half does not fit */
	p = v->fields;
	p = put_varint(put_varint(p, 7), 1);
	ck_assert_int_ne(bch_inode_unpack(key_s_c(&t), &u), 0);
}
END_TEST

START_TEST(test_inode_checks)
{
	struct test_key t;
	enum bch_sb_error_id id;

	root_inode_v3(&t);
	t.k.p.inode = 1;
	ck_assert_int_ne(validate(&t, BTREE_ID_inodes, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_inode_pos_inode_nonzero);

	root_inode_v3(&t);
	t.k.p.offset = 10;
	ck_assert_int_ne(validate(&t, BTREE_ID_inodes, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_inode_pos_blockdev_range);

	root_inode_v3(&t);
	set_inode_v3_fields_start((struct bch_inode_v3 *)t.v, 2);
	ck_assert_int_ne(validate(&t, BTREE_ID_inodes, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_inode_v3_fields_start_bad);

	root_inode_v3(&t);
	t.k.p.snapshot = 0;
	ck_assert_int_ne(validate(&t, BTREE_ID_inodes, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_bkey_snapshot_zero);
}
END_TEST

/* A 4 KiB block with a crc32c entry, as format --source writes small files. */
static void small_extent(struct test_key *t)
{
	struct bch_extent_crc32 *crc = (void *)&t->v[0];
	struct bch_extent_ptr *ptr = (void *)&t->v[1];

	key_init(t, KEY_TYPE_extent, SPOS(4099, 8, UINT32_MAX), 16);
	t->k.size = 8;
	crc->v = 1ULL << BCH_EXTENT_ENTRY_crc32;
	set_crc32_compressed_size(crc, 7);
	set_crc32_uncompressed_size(crc, 7);
	set_crc32_csum_type(crc, BCH_CSUM_crc32c);
	set_crc32_csum(crc, 0x5f20a93a);
	ptr->v = 1ULL << BCH_EXTENT_ENTRY_ptr;
	set_ptr_offset(ptr, 54 * 256);
}

START_TEST(test_extent_text)
{
	struct test_key t;
	struct printbuf buf = PRINTBUF;

	small_extent(&t);
	check_text(&t, "u64s 7 type extent 4099:8:U32_MAX len 8 ver 0: durability: 1 "
		   "crc: c_size 8 size 8 offset 0 nonce 0 csum crc32c 0:5f20a93a  "
		   "compress none ptr: 0:54:0 gen 0");
	ck_assert_int_eq(validate(&t, BTREE_ID_extents, 0, NULL), 0);

	/* without a filesystem: no durability, pointers as raw sectors */
	bch_val_to_text(&buf, NULL, key_s_c(&t));
	ck_assert_str_eq(pb_cstr(&buf), "crc: c_size 8 size 8 offset 0 nonce 0 csum crc32c "
			 "0:5f20a93a  compress none ptr: 0:13824 gen 0");
	pb_exit(&buf);
}
END_TEST

/* A promoted extent: a cached copy on device 0, the data on device 1 (durability 2). */
START_TEST(test_extent_cached_text)
{
	struct test_key t;
	struct bch_extent_ptr *p0 = (void *)&t.v[1], *p1 = (void *)&t.v[2];

	small_extent(&t);
	t.k.p.offset = t.k.size = 128;
	t.k.u64s++;
	set_crc32_compressed_size((void *)&t.v[0], 127);
	set_crc32_uncompressed_size((void *)&t.v[0], 127);
	set_crc32_csum((void *)&t.v[0], 0xaf2af2e8);
	set_ptr_offset(p0, 25 * 256 + 128);
	set_ptr_cached(p0, 1);
	p1->v = 1;
	set_ptr_dev(p1, 1);
	set_ptr_offset(p1, 25 * 256);
	check_text(&t, "u64s 8 type extent 4099:128:U32_MAX len 128 ver 0: durability: 2 "
		   "crc: c_size 128 size 128 offset 0 nonce 0 csum crc32c 0:af2af2e8  "
		   "compress none ptr: 0:25:128 gen 0 cached ptr: 1:25:0 gen 0 d=2");
}
END_TEST

START_TEST(test_extent_checks)
{
	struct test_key t;
	enum bch_sb_error_id id;

	small_extent(&t);
	t.k.u64s--;		/* the crc alone */
	ck_assert_int_ne(validate(&t, BTREE_ID_extents, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_extent_ptrs_no_ptrs);

	small_extent(&t);
	t.v[2] = t.v[0];	/* a second crc after the pointer */
	t.k.u64s++;
	ck_assert_int_ne(validate(&t, BTREE_ID_extents, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_extent_ptrs_redundant_crc);

	small_extent(&t);
	set_ptr_offset((void *)&t.v[1], 54 * 256 + 250);
	ck_assert_int_ne(validate(&t, BTREE_ID_extents, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_ptr_spans_multiple_buckets);

	small_extent(&t);
	t.v[1] = 0;
	ck_assert_int_ne(validate(&t, BTREE_ID_extents, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_extent_ptrs_invalid_entry);

	small_extent(&t);
	t.k.size = 0;
	ck_assert_int_ne(validate(&t, BTREE_ID_extents, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_bkey_extent_size_zero);
}
END_TEST

/* crc, cached pointer on device 0, crc, dirty pointer on device 1 (each pointer its own crc when two) */
static void two_ptr_extent(struct test_key *t, bool second_crc)
{
	struct bch_extent_ptr *p0 = (void *)&t->v[1], *p1;

	small_extent(t);
	set_ptr_cached(p0, 1);
	if (second_crc) {
		t->v[2] = t->v[0];
		p1 = (void *)&t->v[3];
		t->k.u64s += 2;
	} else {
		p1 = (void *)&t->v[2];
		t->k.u64s++;
	}
	p1->v = 1ULL << BCH_EXTENT_ENTRY_ptr;
	set_ptr_dev(p1, 1);
	set_ptr_offset(p1, 60 * 256);
}

START_TEST(test_extent_drop_ptrs)
{
	struct test_key t;
	struct bkey_i *k = (struct bkey_i *)&t;

	/* the cached pointer goes; the crc stays for the pointer after it */
	two_ptr_extent(&t, false);
	bch_extent_drop_ptrs(k, 1);
	check_text(&t, "u64s 7 type extent 4099:8:U32_MAX len 8 ver 0: durability: 2 "
		   "crc: c_size 8 size 8 offset 0 nonce 0 csum crc32c 0:5f20a93a  "
		   "compress none ptr: 1:60:0 gen 0 d=2");

	/* with its own crc, that goes too */
	two_ptr_extent(&t, true);
	bch_extent_drop_ptrs(k, 1);
	check_text(&t, "u64s 7 type extent 4099:8:U32_MAX len 8 ver 0: durability: 2 "
		   "crc: c_size 8 size 8 offset 0 nonce 0 csum crc32c 0:5f20a93a  "
		   "compress none ptr: 1:60:0 gen 0 d=2");

	/* the last dirty pointer gone: an error key, though a cached one is left */
	two_ptr_extent(&t, false);
	bch_extent_drop_ptrs(k, 2);
	check_text(&t, "u64s 5 type error 4099:8:U32_MAX len 8 ver 0");

	/* only cached pointers, all gone: deleted */
	two_ptr_extent(&t, true);
	set_ptr_cached((void *)&t.v[3], 1);
	bch_extent_drop_ptrs(k, 3);
	ck_assert_uint_eq(t.k.type, KEY_TYPE_deleted);
	ck_assert_uint_eq(t.k.u64s, BKEY_U64s);

	/* an erasure coded pointer stays, pointing to no device */
	small_extent(&t);
	t.v[2] = t.v[1];
	t.v[1] = 1ULL << BCH_EXTENT_ENTRY_stripe_ptr;
	t.k.u64s++;
	bch_extent_drop_ptrs(k, 1);
	ck_assert_uint_eq(t.k.u64s, 8);
	ck_assert_uint_eq(ptr_dev((void *)&t.v[2]), BCH_DEV_NONE);
}
END_TEST

START_TEST(test_btree_ptr_v2_text)
{
	struct test_key t;
	struct bch_btree_ptr_v2 *bp = (void *)t.v;

	key_init(&t, KEY_TYPE_btree_ptr_v2, SPOS_MAX, sizeof(*bp) + 8);
	bp->seq = 0xcdd8caaa3f52d02aULL;
	bp->sectors_written = 24;
	bp->start[0].v = 1;
	set_ptr_offset(&bp->start[0], 56 * 256);
	check_text(&t, "u64s 11 type btree_ptr_v2 SPOS_MAX len 0 ver 0: seq cdd8caaa3f52d02a "
		   "written 24 min_key POS_MIN durability: 1 ptr: 0:56:0 gen 0");
	ck_assert_int_eq(validate(&t, BTREE_ID_extents, 1, NULL), 0);
}
END_TEST

static void dirent_key(struct test_key *t, const char *name, u64 inum, u8 type)
{
	struct bch_dirent *d = (void *)t->v;

	key_init(t, KEY_TYPE_dirent, SPOS(4096, 110532140919437969ULL, UINT32_MAX),
		 BCH_DIRENT_NAME_OFFSET + strlen(name));
	d->d_inum = inum;
	d->d_type = type;
	memcpy(d->d_name, name, strlen(name));
}

START_TEST(test_dirent_text)
{
	struct test_key t;
	enum bch_sb_error_id id;

	dirent_key(&t, "sparse.bin", 4102, 8);
	check_text(&t, "u64s 8 type dirent 4096:110532140919437969:U32_MAX len 0 ver 0: "
		   "sparse.bin -> 4102 type reg");
	ck_assert_uint_eq(bch_dirent_name_len(key_s_c(&t)), 10);
	ck_assert_int_eq(validate(&t, BTREE_ID_dirents, 0, NULL), 0);

	dirent_key(&t, "sv", 0, DT_SUBVOL);
	((struct bch_dirent *)t.v)->d_parent_subvol = 1;
	((struct bch_dirent *)t.v)->d_child_subvol = 2;
	check_text(&t, "u64s 7 type dirent 4096:110532140919437969:U32_MAX len 0 ver 0: "
		   "sv -> 1 -> 2 type subvol");

	dirent_key(&t, "..", 4097, 4);
	ck_assert_int_ne(validate(&t, BTREE_ID_dirents, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_dirent_name_dot_or_dotdot);

	dirent_key(&t, "a/b", 4097, 4);
	ck_assert_int_ne(validate(&t, BTREE_ID_dirents, 0, &id), 0);
	ck_assert_int_eq(id, BCH_FSERR_dirent_name_has_slash);
}
END_TEST

START_TEST(test_xattr_acl_text)
{
	static const u8 acl[] = {
		1, 0, 0, 0,			/* version */
		1, 0, 6, 0,			/* user_obj rw */
		2, 0, 4, 0, 0xe8, 3, 0, 0,	/* user 1000 r */
		4, 0, 4, 0, 0x10, 0, 4, 0, 0x20, 0, 4, 0,
	};
	struct test_key t;
	struct bch_xattr *x = (void *)t.v;

	key_init(&t, KEY_TYPE_xattr, SPOS(4098, 5314849332714008744ULL, UINT32_MAX),
		 4 + sizeof(acl));
	x->x_type = 1;
	x->x_val_len = sizeof(acl);
	memcpy(x->x_name, acl, sizeof(acl));
	check_text(&t, "u64s 9 type xattr 4098:5314849332714008744:U32_MAX len 0 ver 0: "
		   "(type 1):\x01 user_obj 6 user uid 1000 4 group_obj 4 mask 4 other 4");
	ck_assert_int_eq(validate(&t, BTREE_ID_xattrs, 0, NULL), 0);
}
END_TEST

/* The superblock bucket as format leaves it. */
static void sb_bucket_alloc_v4(struct test_key *t)
{
	struct bch_alloc_v4 *a = (void *)t->v;

	key_init(t, KEY_TYPE_alloc_v4, POS_MIN, sizeof(*a));
	a->journal_seq = 1;
	set_alloc_v4_need_discard(a, 1);
	set_alloc_v4_need_inc_gen(a, 1);
	set_alloc_v4_backpointers_start(a, BCH_ALLOC_V4_U64s);
	a->data_type = BCH_DATA_sb;
	a->dirty_sectors = 256;
	a->io_time[0] = a->io_time[1] = 1;
}

static const char sb_bucket_text[] =
	"  gen 0 oldest_gen 0 data_type sb\n"
	"  journal_seq       1\n  need_discard      1\n  need_inc_gen      1\n"
	"  dirty_sectors     256\n  stripe_sectors    0\n  cached_sectors    0\n"
	"  stripe            0\n  stripe_redundancy 0\n  io_time[READ]     1\n"
	"  io_time[WRITE]    1\n  fragmentation     0\n  bp_start          8\n";

START_TEST(test_alloc_v4_text)
{
	struct test_key t;
	char want[1024];

	sb_bucket_alloc_v4(&t);
	snprintf(want, sizeof(want), "u64s 13 type alloc_v4 POS_MIN len 0 ver 0: \n%s",
		 sb_bucket_text);
	check_text(&t, want);
	ck_assert_int_eq(validate(&t, BTREE_ID_alloc, 0, NULL), 0);
}
END_TEST

/* v2 keys convert to v4 with their varint counters. */
START_TEST(test_alloc_v2_to_v4)
{
	struct test_key t;
	struct bch_alloc_v2 *a = (void *)t.v;
	struct bch_alloc_v4 v4;
	u8 *p = a->data;

	key_init(&t, KEY_TYPE_alloc_v2, POS(0, 7), 0);
	a->nr_fields = 4;
	a->gen = 3;
	a->data_type = BCH_DATA_user;
	p = put_varint(p, 11);		/* read_time */
	p = put_varint(p, 12);		/* write_time */
	p = put_varint(p, 100);		/* dirty_sectors */
	p = put_varint(p, 0);		/* cached_sectors */
	t.k.u64s = BKEY_U64s + (p - (u8 *)a + 7) / 8;

	bch_alloc_to_v4(key_s_c(&t), &v4);
	ck_assert_uint_eq(v4.gen, 3);
	ck_assert_uint_eq(v4.dirty_sectors, 100);
	ck_assert_uint_eq(v4.io_time[0], 11);
	ck_assert_uint_eq(v4.io_time[1], 12);
	ck_assert_uint_eq(alloc_v4_backpointers_start(&v4), BCH_ALLOC_V4_U64s);
	ck_assert_int_eq(validate(&t, BTREE_ID_alloc, 0, NULL), 0);

	/* dirty_sectors is 32 bits wide */
	p = put_varint(a->data + 2, 1ULL << 40);
	put_varint(p, 0);
	t.k.u64s = BKEY_U64s + 2;
	ck_assert_int_ne(validate(&t, BTREE_ID_alloc, 0, NULL), 0);
}
END_TEST

START_TEST(test_accounting_text)
{
	struct test_key t;
	struct disk_accounting_pos acc = { .type = BCH_DISK_ACCOUNTING_dev_data_type };

	acc.dev_data_type.data_type = BCH_DATA_free;
	key_init(&t, KEY_TYPE_accounting, bch_accounting_to_bpos(&acc), 24);
	t.k.bversion.lo = 47244640306ULL;
	t.v[0] = 1989;
	check_text(&t, "u64s 8 type accounting 0:0:3 len 0 ver 47244640306: "
		   "dev_data_type dev=0 data_type=free 1989 0 0");
	ck_assert_int_eq(validate(&t, BTREE_ID_accounting, 0, NULL), 0);

	memset(&acc, 0, sizeof(acc));
	acc.type = BCH_DISK_ACCOUNTING_replicas;
	acc.replicas.data_type = BCH_DATA_btree;
	acc.replicas.nr_devs = 2;
	acc.replicas.nr_required = 1;
	acc.replicas.devs[1] = 1;
	key_init(&t, KEY_TYPE_accounting, bch_accounting_to_bpos(&acc), 8);
	t.k.bversion.lo = 55834574886ULL;
	t.v[0] = 6144;
	check_text(&t, "u64s 6 type accounting 0:256:16909058 len 0 ver 55834574886: "
		   "replicas btree: 1/2 [0 1] 6144");

	memset(&acc, 0, sizeof(acc));
	key_init(&t, KEY_TYPE_accounting, bch_accounting_to_bpos(&acc), 8);
	t.k.bversion.lo = 1;
	t.v[0] = 81;
	check_text(&t, "u64s 6 type accounting POS_MIN len 0 ver 1: nr_inodes  81");

	/* junk after what the type uses */
	t.k.p.offset = 1;
	ck_assert_int_ne(validate(&t, BTREE_ID_accounting, 0, NULL), 0);
}
END_TEST

START_TEST(test_small_types_text)
{
	struct test_key t;
	struct bch_backpointer *bp = (void *)t.v;
	struct bch_snapshot *s = (void *)t.v;
	struct bch_subvolume *sv = (void *)t.v;
	struct bch_reservation *r = (void *)t.v;

	key_init(&t, KEY_TYPE_backpointer, POS(0, 8912896), sizeof(*bp));
	bp->btree_id = BTREE_ID_alloc;
	bp->level = 1;
	bp->bucket_len = 256;
	bp->pos = SPOS_MAX;
	check_text(&t, "u64s 9 type backpointer 0:8912896:0 len 0 ver 0: bucket=0:34:0 "
		   "btree=alloc l=1 offset=0:0 len=256 pos=SPOS_MAX");
	ck_assert_int_eq(validate(&t, BTREE_ID_backpointers, 0, NULL), 0);

	key_init(&t, KEY_TYPE_snapshot, POS(0, UINT32_MAX), sizeof(*s));
	s->flags = 2;
	s->subvol = 1;
	s->tree = 1;
	check_text(&t, "u64s 12 type snapshot 0:4294967295:0 len 0 ver 0: is_subvol 1 deleted 0 "
		   "parent          0 children          0          0 subvol 1 tree 1 "
		   "depth 0 skiplist 0 0 0");
	ck_assert_int_eq(validate(&t, BTREE_ID_snapshots, 0, NULL), 0);

	key_init(&t, KEY_TYPE_subvolume, POS(0, 1), sizeof(*sv));
	sv->inode = 4096;
	sv->snapshot = UINT32_MAX;
	check_text(&t, "u64s 10 type subvolume 0:1:0 len 0 ver 0: root 4096 snapshot id "
		   "4294967295 creation_parent 0 fs_parent 0");
	ck_assert_int_eq(validate(&t, BTREE_ID_subvolumes, 0, NULL), 0);

	key_init(&t, KEY_TYPE_reservation, SPOS(4100, 16, UINT32_MAX), 8);
	t.k.size = 16;
	r->nr_replicas = 1;
	check_text(&t, "u64s 6 type reservation 4100:16:U32_MAX len 16 ver 0: "
		   "generation 0 replicas 1");

	key_init(&t, KEY_TYPE_set, POS(0, 34), 0);
	t.k.size = 1;
	check_text(&t, "u64s 5 type set 0:34:0 len 1 ver 0");
	ck_assert_int_eq(validate(&t, BTREE_ID_freespace, 0, NULL), 0);
}
END_TEST

/* crc128 entries hold big compressed extents and full 128-bit checksums. */
START_TEST(test_crc128_text)
{
	struct test_key t;
	struct bch_extent_crc128 *crc = (void *)&t.v[0];
	struct bch_extent_ptr *ptr = (void *)&t.v[3];

	key_init(&t, KEY_TYPE_extent, SPOS(4200, 1200, UINT32_MAX), 32);
	t.k.size = 1200;
	crc->v = 1ULL << BCH_EXTENT_ENTRY_crc128;
	set_crc128_compressed_size(crc, 599);
	set_crc128_uncompressed_size(crc, 1199);
	set_crc128_nonce(crc, 5);
	set_crc128_csum_type(crc, BCH_CSUM_xxhash);
	set_crc128_compression_type(crc, BCH_COMPRESSION_TYPE_zstd);
	crc->csum.lo = 0xabcd;
	crc->csum.hi = 0x1234;
	ptr->v = 1;
	set_ptr_offset(ptr, 3000 * 256);
	check_text(&t, "u64s 9 type extent 4200:1200:U32_MAX len 1200 ver 0: durability: 1 "
		   "crc: c_size 600 size 1200 offset 0 nonce 5 csum xxhash 1234:abcd  "
		   "compress zstd ptr: 0:3000:0 gen 0 invalid");
}
END_TEST

START_TEST(test_stripe_text)
{
	struct test_key t;
	struct bch_stripe *s = (void *)t.v;
	u8 *counts = (u8 *)t.v + sizeof(*s) + 3 * 8 + 3 * 4;

	/* 3 blocks of 256 sectors, 1 redundant, one crc32c per block */
	key_init(&t, KEY_TYPE_stripe, POS(0, 1), sizeof(*s) + 3 * 8 + 3 * 4 + 3 * 2);
	s->sectors = 256;
	s->nr_blocks = 3;
	s->nr_redundant = 1;
	s->csum_granularity_bits = 8;
	s->csum_type = BCH_CSUM_crc32c;
	for (unsigned i = 0; i < 3; i++) {
		s->ptrs[i].v = 1;
		set_ptr_dev(&s->ptrs[i], i);
		set_ptr_offset(&s->ptrs[i], (10 + i) * 256);
		counts[2 * i] = 100 + i;
	}
	check_text(&t, "u64s 12 type stripe 0:1:0 len 0 ver 0: algo 0 sectors 256 blocks 2:1 "
		   "csum crc32c gran 256 ptr: 0:10:0 gen 0#100 ptr: 1:11:0 gen 0 d=2#101 "
		   "ptr: 2:12:0 gen 0");
	ck_assert_int_eq(validate(&t, BTREE_ID_stripes, 0, NULL), 0);

	t.k.u64s--;
	ck_assert_int_ne(validate(&t, BTREE_ID_stripes, 0, NULL), 0);
}
END_TEST

START_TEST(test_logged_ops_text)
{
	struct test_key t;
	struct bch_logged_op_finsert *f = (void *)t.v;
	struct bch_logged_op_truncate *tr = (void *)t.v;

	key_init(&t, KEY_TYPE_logged_op_finsert, POS(0, 3), sizeof(*f));
	f->subvol = 1;
	f->inum = 4100;
	f->dst_offset = (u64)-64;
	f->src_offset = 128;
	check_text(&t, "u64s 10 type logged_op_finsert 0:3:0 len 0 ver 0: "
		   "subvol=1 inum=4100 dst_offset=-64 src_offset=128");

	key_init(&t, KEY_TYPE_logged_op_truncate, POS(0, 4), sizeof(*tr));
	tr->subvol = 1;
	tr->inum = 4101;
	tr->new_i_size = 4096;
	check_text(&t, "u64s 8 type logged_op_truncate 0:4:0 len 0 ver 0: "
		   "subvol=1 inum=4101 new_i_size=4096");
}
END_TEST

/* The first inodes: fields as big-endian numbers after a length marker. */
START_TEST(test_inode_v1_unpack)
{
	static const u8 fields[] = {
		0x81,			/* atime 1 (one byte) */
		0x40, 0x01,		/* ctime 1 (two bytes) */
		0x20, 0x00, 0x02,	/* mtime 2 (three bytes) */
		0x80,			/* otime 0 */
		0xff,			/* size 127 */
	};
	struct test_key t;
	struct bch_inode *v = (void *)t.v;
	struct bch_inode_unpacked u;

	key_init(&t, KEY_TYPE_inode, SPOS(0, 4097, UINT32_MAX), 14 + sizeof(fields));
	v->bi_flags = 5 << 24 | 1 << 20;
	v->bi_mode = 040700;
	memcpy(v->fields, fields, sizeof(fields));

	ck_assert_int_eq(bch_inode_unpack(key_s_c(&t), &u), 0);
	ck_assert_uint_eq(u.bi_atime, 1);
	ck_assert_uint_eq(u.bi_ctime, 1);
	ck_assert_uint_eq(u.bi_mtime, 2);
	ck_assert_uint_eq(u.bi_size, 127);
	ck_assert_uint_eq(u.bi_sectors, 0);
	ck_assert_uint_eq(bch_inode_str_hash(&u), 1);
	ck_assert_int_eq(validate(&t, BTREE_ID_inodes, 0, NULL), 0);

	/* a zero first byte is no field */
	v->fields[0] = 0;
	ck_assert_int_ne(bch_inode_unpack(key_s_c(&t), &u), 0);
}
END_TEST

static Suite *keys_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_too_small_values_rejected);
	tcase_add_loop_test(tc, test_random_values_every_type, 0, 3);
	tcase_add_test(tc, test_inode_v3_text);
	tcase_add_test(tc, test_inode_v2_unpack);
	tcase_add_test(tc, test_inode_checks);
	tcase_add_test(tc, test_extent_text);
	tcase_add_test(tc, test_extent_cached_text);
	tcase_add_test(tc, test_extent_checks);
	tcase_add_test(tc, test_extent_drop_ptrs);
	tcase_add_test(tc, test_btree_ptr_v2_text);
	tcase_add_test(tc, test_dirent_text);
	tcase_add_test(tc, test_xattr_acl_text);
	tcase_add_test(tc, test_alloc_v4_text);
	tcase_add_test(tc, test_alloc_v2_to_v4);
	tcase_add_test(tc, test_accounting_text);
	tcase_add_test(tc, test_small_types_text);
	tcase_add_test(tc, test_crc128_text);
	tcase_add_test(tc, test_stripe_text);
	tcase_add_test(tc, test_logged_ops_text);
	tcase_add_test(tc, test_inode_v1_unpack);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(keys_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

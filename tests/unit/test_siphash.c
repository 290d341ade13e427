/* Unit tests for SipHash-2-4 (reference vectors, multi-update quirk) and the dirent/xattr hash. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checksum/siphash.h"
#include "checksum/str_hash.h"

/*
 * The SipHash-2-4 reference test vectors (the paper's reference code):
 * key 00 01 .. 0f, message 00 01 .. n-1 for n = 0..63.
 */
static const u64 sip_vectors[64] = {
	0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
	0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
	0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
	0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
	0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
	0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
	0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
	0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
	0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
	0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
	0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
	0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
	0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
	0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
	0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
	0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
};

static u8 ref_key[16], ref_msg[64];

static void ref_setup(void)
{
	for (unsigned i = 0; i < 16; i++)
		ref_key[i] = i;
	for (unsigned i = 0; i < 64; i++)
		ref_msg[i] = i;
}

/* Hashes ref_msg fed as consecutive updates of the given lengths. */
static u64 sip_split(const unsigned *lens, unsigned nr)
{
	struct bch_siphash s;
	unsigned off = 0;

	bch_siphash_init(&s, ref_key);
	for (unsigned i = 0; i < nr; i++) {
		bch_siphash_update(&s, ref_msg + off, lens[i]);
		off += lens[i];
	}
	return bch_siphash_final(&s);
}

START_TEST(test_reference_vectors)
{
	for (unsigned n = 0; n < 64; n++)
		ck_assert_uint_eq(bch_siphash(ref_key, ref_msg, n), sip_vectors[n]);
}
END_TEST

/* Updates that each start on a word boundary hash like one update. */
START_TEST(test_word_aligned_updates_standard)
{
	for (unsigned n = 0; n < 64; n++) {
		struct bch_siphash s;
		unsigned off;

		bch_siphash_init(&s, ref_key);
		for (off = 0; off + 8 <= n; off += 8)
			bch_siphash_update(&s, ref_msg + off, 8);
		bch_siphash_update(&s, ref_msg + off, n - off);
		ck_assert_uint_eq(bch_siphash_final(&s), sip_vectors[n]);
	}
}
END_TEST

/*
 * Update sequences hashed by bcachefs' own SipHash code, key and message
 * as for the reference vectors.  Where a later update flushes the partial
 * word and leaves a tail, the result departs from standard SipHash.
 */
START_TEST(test_multi_update_quirk)
{
	static const unsigned a[] = { 1, 14 }, b[] = { 3, 10, 20 };
	static const unsigned c[] = { 7, 1, 7, 1 }, d[] = { 2, 2, 2, 2, 2, 2, 2, 2 };
	static const unsigned e[] = { 6, 13, 2 };
	/* 5 then 10: the tail overruns the buffer into the length counter. */
	static const unsigned f[] = { 5, 10 };

	ck_assert_uint_eq(sip_split(a, 2), 0xcef9b109d9c6eb24);
	ck_assert_uint_ne(sip_split(a, 2), sip_vectors[15]);
	ck_assert_uint_eq(sip_split(b, 3), 0x0e15bce7c93c238c);
	ck_assert_uint_eq(sip_split(c, 4), sip_vectors[16]);
	ck_assert_uint_eq(sip_split(d, 8), sip_vectors[16]);
	ck_assert_uint_eq(sip_split(e, 3), 0x49da8ab0e259ff3a);
	ck_assert_uint_eq(sip_split(f, 2), 0x52fabc5f8aacae92);
}
END_TEST

/*
 * The quirk for the xattr pattern (1 byte, then L bytes), derived from
 * the update rule: with t = (L - 7) % 8 != 0 and L >= 7 the final word
 * holds the first byte again followed by the first t - 1 tail bytes, so
 * the hash equals standard SipHash of
 *	x ‖ name[0, L-t) ‖ x ‖ name[L-t, L-1)
 * (same length, 1 + L).  Otherwise it is standard SipHash of x ‖ name.
 */
static void xattr_model_message(u8 x, const u8 *name, unsigned len, u8 *out)
{
	unsigned t = len >= 7 ? (len - 7) % 8 : 0;

	out[0] = x;
	memcpy(out + 1, name, len);
	if (t) {
		out[1 + len - t] = x;
		memcpy(out + 2 + len - t, name + len - t, t - 1);
	}
}

START_TEST(test_two_update_model)
{
	u8 name[64], model[65];

	srand(7);
	for (unsigned len = 0; len < 64; len++) {
		struct bch_siphash s;
		u8 x = (u8) rand();

		for (unsigned i = 0; i < len; i++)
			name[i] = (u8) rand();

		bch_siphash_init(&s, ref_key);
		bch_siphash_update(&s, &x, 1);
		bch_siphash_update(&s, name, len);

		xattr_model_message(x, name, len, model);
		ck_assert_uint_eq(bch_siphash_final(&s), bch_siphash(ref_key, model, len + 1));
	}
}
END_TEST

#define TEST_SEED	0x0123456789abcdefULL

static void seed_key(u8 key[16])
{
	for (unsigned i = 0; i < 8; i++)
		key[i] = (u8) (TEST_SEED >> (8 * i));
	memset(key + 8, 0, 8);
}

/*
 * Xattr hashes, type byte 1 (posix_acl_access), seed TEST_SEED: computed with
 * bcachefs' SipHash code and, independently, with a standard SipHash over
 * the message rearranged as in test_two_update_model.
 */
START_TEST(test_xattr_siphash)
{
	static const struct {
		const char *name;
		u64 hash;
	} v[] = {
		{ "foobar12x",			0x10fecde7fcffb729 },
		{ "abcdefghijklmnopq",		0x457a0ccbef3aa77f },
		{ "abcdefg",			0x1cc97638f5741ce6 },
		{ "user",			0x4a40067790faf632 },
		{ "security.selinux",		0x45d0aceda8dd4d85 },
		{ "x",				0x6890602bcd74e435 },
		{ "0123456789abcdefghij",	0x7ba49d3799a2c538 },
	};

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_uint_eq(bch_xattr_hash(BCH_STR_HASH_siphash, TEST_SEED, 1,
						 v[i].name, strlen(v[i].name)),
				  v[i].hash);
}
END_TEST

/* "foobar12x" differs from a one-update SipHash of the same bytes. */
START_TEST(test_xattr_differs_from_standard)
{
	u8 key[16], msg[10] = { 1 };

	seed_key(key);
	memcpy(msg + 1, "foobar12x", 9);
	ck_assert_uint_ne(bch_xattr_hash(BCH_STR_HASH_siphash, TEST_SEED, 1, "foobar12x", 9),
			  bch_siphash(key, msg, 10) >> 1);
	memcpy(msg + 1, "abcdefg", 7);
	ck_assert_uint_eq(bch_xattr_hash(BCH_STR_HASH_siphash, TEST_SEED, 1, "abcdefg", 7),
			  bch_siphash(key, msg, 8) >> 1);
}
END_TEST

/*
 * Dirent hashes for seed TEST_SEED, computed independently from the
 * definitions (SHA-256 key for siphash_old; raw CRCs seeded with the
 * CRC of the seed bytes from all ones).
 */
START_TEST(test_dirent_hash_types)
{
	static const struct {
		const char *name;
		u64 h[BCH_STR_HASH_NR];
	} v[] = {
		{ "lost+found", { 0xa295c59b, 0x6166454a27b5b88b,
				  0x548dec06e1dbd4f9, 0x0f2eef3782c4236f } },
		{ "hello.txt",	{ 0x2cce2059, 0x79c92661adce5120,
				  0x330ab90a2d4aac43, 0x3bc82308e2ccc6b6 } },
		{ "a",		{ 0x0da7713d, 0x2393562109972e8e,
				  0x02533cc1ae278b99, 0x3fb723ae3b303e09 } },
	};

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (unsigned t = 0; t < BCH_STR_HASH_NR; t++)
			ck_assert_uint_eq(bch_dirent_hash(t, TEST_SEED, v[i].name,
							  strlen(v[i].name)),
					  v[i].h[t]);
}
END_TEST

START_TEST(test_xattr_hash_other_types)
{
	ck_assert_uint_eq(bch_xattr_hash(BCH_STR_HASH_crc32c, TEST_SEED, 1, "foobar12x", 9),
			  0x697b4039);
	ck_assert_uint_eq(bch_xattr_hash(BCH_STR_HASH_crc64, TEST_SEED, 1, "foobar12x", 9),
			  0x58b12647b2c39db9);
	ck_assert_uint_eq(bch_xattr_hash(BCH_STR_HASH_siphash_old, TEST_SEED, 1, "foobar12x", 9),
			  0x254322e9a1460a5b);
}
END_TEST

START_TEST(test_dirent_hash_single_update)
{
	u8 key[16];
	char name[40];

	seed_key(key);
	srand(11);
	for (unsigned len = 1; len < sizeof(name); len++) {
		u64 want;

		for (unsigned i = 0; i < len; i++)
			name[i] = 'a' + rand() % 26;
		want = bch_siphash(key, name, len) >> 1;
		if (want < 2)
			want = 2;
		ck_assert_uint_eq(bch_dirent_hash(BCH_STR_HASH_siphash, TEST_SEED, name, len), want);
	}
}
END_TEST

/*
 * Key offsets the reference tool wrote (format --str_hash=TYPE --source,
 * then list -b dirents / -b xattrs), with the bi_hash_seed of the
 * directory and of the file carrying the xattrs read from the image.
 * Xattrs are in the user namespace (type byte 0), names without "user.".
 */
START_TEST(test_reference_image_offsets)
{
	/* bi_hash_seed of the root directory and of the file, per image */
	static const u64 seeds[BCH_STR_HASH_NR][2] = {
		[BCH_STR_HASH_crc32c]	= { 0x96e21fb608d19873, 0x3f8869abff381845 },
		[BCH_STR_HASH_crc64]	= { 0x7a8bf80d5e6ae89d, 0x67841f9c5ae19fee },
		[BCH_STR_HASH_siphash]	= { 0x613bbd673af6d325, 0x55acaf666f8eb23c },
	};
	enum { CRC32C = BCH_STR_HASH_crc32c, CRC64 = BCH_STR_HASH_crc64,
	       SIPHASH = BCH_STR_HASH_siphash, DIRENT = 0, XATTR = 1 };
	static const struct {
		u8 type, xattr;
		u64 offset;
		const char *name;
	} v[] = {
		{ CRC32C, DIRENT, 0x000000004ac254e5, "a" },
		{ CRC32C, DIRENT, 0x00000000721be30c, "0123456789abcdefghij" },
		{ CRC32C, DIRENT, 0x000000007d286f27, "hello.txt" },
		{ CRC32C, DIRENT, 0x000000007f24c8fe, "lost+found" },
		{ CRC32C, DIRENT, 0x000000009ea149a1, "lost_and_found" },
		{ CRC32C, DIRENT, 0x00000000e94c4c94, "abcdefghijklmnopq" },
		{ CRC32C, DIRENT, 0x00000000ed89c064, "sub" },
		{ CRC32C, DIRENT, 0x00000000f9671b0c, "foobar12x" },
		{ CRC32C, XATTR, 0x000000000019b420, "abcdefghijklmnopq" },
		{ CRC32C, XATTR, 0x00000000287418e9, "foobar12x" },
		{ CRC32C, XATTR, 0x000000002c1933a7, "x" },
		{ CRC32C, XATTR, 0x00000000464e9b4b, "aaaaaaaaaaaaaaaaaaaaaaaaa" },
		{ CRC32C, XATTR, 0x000000004b5e952b, "0123456789abcdefghij" },
		{ CRC32C, XATTR, 0x000000008e213d30, "abcdefg" },
		{ CRC64, DIRENT, 0x19179935366b3bf8, "foobar12x" },
		{ CRC64, DIRENT, 0x1a6e5c563fc22cb3, "0123456789abcdefghij" },
		{ CRC64, DIRENT, 0x1f2de2563ddffc88, "hello.txt" },
		{ CRC64, DIRENT, 0x426992dd86778367, "a" },
		{ CRC64, DIRENT, 0x58188086f98a746d, "abcdefghijklmnopq" },
		{ CRC64, DIRENT, 0x5f0f24a2a021bb03, "lost+found" },
		{ CRC64, DIRENT, 0x67050d31b327b2ef, "lost_and_found" },
		{ CRC64, DIRENT, 0x753335e0f3e772c5, "sub" },
		{ CRC64, XATTR, 0x1ff356cc8d1ad5a2, "x" },
		{ CRC64, XATTR, 0x377eb8056c8ccac8, "foobar12x" },
		{ CRC64, XATTR, 0x4891c863be28ed8d, "aaaaaaaaaaaaaaaaaaaaaaaaa" },
		{ CRC64, XATTR, 0x4d5c009ee67a0909, "0123456789abcdefghij" },
		{ CRC64, XATTR, 0x665e83d0e89d79e6, "abcdefghijklmnopq" },
		{ CRC64, XATTR, 0x66dc22d1ec86591f, "abcdefg" },
		{ SIPHASH, DIRENT, 0x0692b564117e7b9b, "sub" },
		{ SIPHASH, DIRENT, 0x109da53cb1c7b239, "lost+found" },
		{ SIPHASH, DIRENT, 0x1b43887fd77abf69, "lost_and_found" },
		{ SIPHASH, DIRENT, 0x363a24994c7f5ce4, "0123456789abcdefghij" },
		{ SIPHASH, DIRENT, 0x3a38719a4a4153ec, "abcdefghijklmnopq" },
		{ SIPHASH, DIRENT, 0x4c942fa6bf917047, "hello.txt" },
		{ SIPHASH, DIRENT, 0x77caa0b83c6890df, "a" },
		{ SIPHASH, DIRENT, 0x7a76b2dc292739dc, "foobar12x" },
		{ SIPHASH, XATTR, 0x31c943ba6c83833b, "abcdefg" },
		{ SIPHASH, XATTR, 0x371ff72bcc0f86f4, "foobar12x" },
		{ SIPHASH, XATTR, 0x3e81cb476015459f, "0123456789abcdefghij" },
		{ SIPHASH, XATTR, 0x466f7990b573a73c, "x" },
		{ SIPHASH, XATTR, 0x5757299062ceb3ad, "abcdefghijklmnopq" },
		{ SIPHASH, XATTR, 0x7ca3c22d081a48a1, "aaaaaaaaaaaaaaaaaaaaaaaaa" },
	};

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		u64 seed = seeds[v[i].type][v[i].xattr];
		size_t len = strlen(v[i].name);
		u64 h = v[i].xattr
			? bch_xattr_hash(v[i].type, seed, 0, v[i].name, len)
			: bch_dirent_hash(v[i].type, seed, v[i].name, len);

		ck_assert_msg(h == v[i].offset, "%s %s: got %llx want %llx",
			      bch_str_hash_type_name(v[i].type), v[i].name,
			      (unsigned long long) h, (unsigned long long) v[i].offset);
	}
}
END_TEST

START_TEST(test_str_hash_misc)
{
	struct bch_str_hash_ctx ctx;

	ck_assert_int_lt(bch_str_hash_init(&ctx, BCH_STR_HASH_NR, 1), 0);
	bch_str_hash_update(&ctx, "abc", 3);
	ck_assert_uint_eq(bch_str_hash_final(&ctx), 0);
	ck_assert_uint_eq(bch_dirent_hash(BCH_STR_HASH_NR, 1, "abc", 3), 2);
	ck_assert(bch_str_hash_type_valid(BCH_STR_HASH_siphash));
	ck_assert(!bch_str_hash_type_valid(BCH_STR_HASH_NR));
	ck_assert_str_eq(bch_str_hash_type_name(BCH_STR_HASH_siphash_old), "siphash_old");
	ck_assert_str_eq(bch_str_hash_opt_name(BCH_STR_HASH_OPT_siphash), "siphash");
	ck_assert_uint_eq(bch_str_hash_opt_to_type(BCH_STR_HASH_OPT_siphash, true),
			  BCH_STR_HASH_siphash);
	ck_assert_uint_eq(bch_str_hash_opt_to_type(BCH_STR_HASH_OPT_siphash, false),
			  BCH_STR_HASH_siphash_old);
	ck_assert_uint_eq(bch_str_hash_opt_to_type(BCH_STR_HASH_OPT_crc64, true),
			  BCH_STR_HASH_crc64);
	ck_assert_uint_eq(bch_str_hash_opt_to_type(9, true), BCH_STR_HASH_NR);
}
END_TEST

static Suite *siphash_suite(void)
{
	Suite *s = suite_create("siphash");
	TCase *sip = tcase_create("siphash");
	TCase *str = tcase_create("str_hash");

	tcase_add_checked_fixture(sip, ref_setup, NULL);
	tcase_add_test(sip, test_reference_vectors);
	tcase_add_test(sip, test_word_aligned_updates_standard);
	tcase_add_test(sip, test_multi_update_quirk);
	tcase_add_test(sip, test_two_update_model);
	suite_add_tcase(s, sip);

	tcase_add_test(str, test_xattr_siphash);
	tcase_add_test(str, test_xattr_differs_from_standard);
	tcase_add_test(str, test_dirent_hash_types);
	tcase_add_test(str, test_xattr_hash_other_types);
	tcase_add_test(str, test_dirent_hash_single_update);
	tcase_add_test(str, test_reference_image_offsets);
	tcase_add_test(str, test_str_hash_misc);
	suite_add_tcase(s, str);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(siphash_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

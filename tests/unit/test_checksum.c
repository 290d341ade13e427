/* Unit tests for the CRCs and bch_checksum(): known answers, fast vs table paths, streaming. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checksum/checksum.h"
#include "checksum/crc.h"

static const char check_str[] = "123456789";

/* Bit-at-a-time CRCs straight from the definitions, to judge the fast ones. */
static u32 crc32c_bitwise(u32 crc, const u8 *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78U : crc >> 1;
	}
	return crc;
}

static u64 crc64_bitwise(u64 crc, const u8 *p, size_t len)
{
	while (len--) {
		crc ^= (u64) *p++ << 56;
		for (int i = 0; i < 8; i++)
			crc = crc >> 63 ? (crc << 1) ^ 0x42F0E1EBA9EA3693ULL : crc << 1;
	}
	return crc;
}

static void fill_random(u8 *buf, size_t len, unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < len; i++)
		buf[i] = (u8) rand();
}

static u64 csum_u64(unsigned type, const void *data, size_t len)
{
	return le64_to_cpu(bch_checksum(type, bch_nonce_null(), data, len).lo);
}

START_TEST(test_crc_check_values)
{
	ck_assert_uint_eq(bch_crc32c(~0U, check_str, 9) ^ ~0U, 0xE3069283);
	ck_assert_uint_eq(bch_crc32c_table(~0U, check_str, 9) ^ ~0U, 0xE3069283);
	ck_assert_uint_eq(bch_crc64_be(~0ULL, check_str, 9) ^ ~0ULL, 0x62EC59E3F1A4F00AULL);
	ck_assert_uint_eq(bch_crc64_be(0, check_str, 9), 0x6C40DF5F0B497347ULL);
	/* Raw updates of nothing leave the register alone. */
	ck_assert_uint_eq(bch_crc32c(0x12345678, check_str, 0), 0x12345678);
	ck_assert_uint_eq(bch_crc64_be(42, check_str, 0), 42);
}
END_TEST

START_TEST(test_checksum_check_values)
{
	ck_assert_uint_eq(csum_u64(BCH_CSUM_crc32c_nonzero, check_str, 9), 0xE3069283);
	ck_assert_uint_eq(csum_u64(BCH_CSUM_crc64_nonzero, check_str, 9), 0x62EC59E3F1A4F00AULL);
	ck_assert_uint_eq(csum_u64(BCH_CSUM_crc64, check_str, 9), 0x6C40DF5F0B497347ULL);
	ck_assert_uint_eq(csum_u64(BCH_CSUM_crc32c, check_str, 9),
			  crc32c_bitwise(0, (const u8 *) check_str, 9));
	ck_assert_uint_eq(csum_u64(BCH_CSUM_xxhash, "", 0), 0xEF46DB3751D8E999ULL);
	ck_assert_uint_eq(csum_u64(BCH_CSUM_none, check_str, 9), 0);
	/* The plain CRCs of nothing are 0, the inverted ones too (~0 ^ ~0). */
	ck_assert_uint_eq(csum_u64(BCH_CSUM_crc32c, "", 0), 0);
	ck_assert_uint_eq(csum_u64(BCH_CSUM_crc32c_nonzero, "", 0), 0);
}
END_TEST

START_TEST(test_checksum_layout)
{
	struct bch_csum c = bch_checksum(BCH_CSUM_crc32c_nonzero, bch_nonce_null(),
					 check_str, 9);
	const u8 *b = (const u8 *) &c;

	/* Stored little-endian from the first byte; the rest zero. */
	ck_assert_uint_eq(b[0], 0x83);
	ck_assert_uint_eq(b[1], 0x92);
	ck_assert_uint_eq(b[2], 0x06);
	ck_assert_uint_eq(b[3], 0xE3);
	for (int i = 4; i < 16; i++)
		ck_assert_uint_eq(b[i], 0);
}
END_TEST

START_TEST(test_crc32c_paths_agree)
{
	static u8 buf[300 + 8];

	fill_random(buf, sizeof(buf), 1);

	for (size_t start = 0; start < 8; start++)
		for (size_t len = 0; len + start <= sizeof(buf) && len <= 300; len++) {
			const u8 *p = buf + start;
			u32 seed = (u32) (len * 2654435761U);
			u32 want = crc32c_bitwise(seed, p, len);

			ck_assert_uint_eq(bch_crc32c(seed, p, len), want);
			ck_assert_uint_eq(bch_crc32c_table(seed, p, len), want);
		}
}
END_TEST

START_TEST(test_crc32c_hw_detection)
{
#ifdef __x86_64__
	__builtin_cpu_init();
	ck_assert_int_eq(bch_crc32c_hw_available(), !!__builtin_cpu_supports("sse4.2"));
#else
	ck_assert(!bch_crc32c_hw_available());
#endif
}
END_TEST

START_TEST(test_crc64_matches_bitwise)
{
	static u8 buf[300 + 8];

	fill_random(buf, sizeof(buf), 2);

	for (size_t start = 0; start < 8; start++)
		for (size_t len = 0; len <= 300; len++) {
			u64 seed = len * 0x9E3779B97F4A7C15ULL;

			ck_assert_uint_eq(bch_crc64_be(seed, buf + start, len),
					  crc64_bitwise(seed, buf + start, len));
		}
}
END_TEST

static const unsigned streamed_types[] = {
	BCH_CSUM_none, BCH_CSUM_crc32c_nonzero, BCH_CSUM_crc64_nonzero,
	BCH_CSUM_crc32c, BCH_CSUM_crc64, BCH_CSUM_xxhash,
};

/* Feeds buf in random-sized pieces and checks the result matches one shot. */
static void check_streaming(unsigned type, const u8 *buf, size_t len)
{
	struct bch_csum_state st;
	struct bch_csum one = bch_checksum(type, bch_nonce_null(), buf, len);
	size_t done = 0;

	ck_assert_int_eq(bch_csum_init(&st, type, bch_nonce_null()), 0);
	while (done < len) {
		size_t piece = (size_t) rand() % 70;

		if (piece > len - done)
			piece = len - done;
		bch_csum_update(&st, buf + done, piece);
		done += piece;
	}
	ck_assert(bch_csum_eq(bch_csum_final(&st), one));
}

START_TEST(test_streaming_equals_one_shot)
{
	static u8 buf[4096];

	fill_random(buf, sizeof(buf), 3);
	for (size_t t = 0; t < sizeof(streamed_types) / sizeof(streamed_types[0]); t++)
		for (size_t len = 0; len < sizeof(buf); len += 1 + len / 3)
			check_streaming(streamed_types[t], buf, len);
}
END_TEST

START_TEST(test_encryption_types_unimplemented)
{
	struct bch_csum_state st;
	struct bch_csum c;

	ck_assert_int_lt(bch_csum_init(&st, BCH_CSUM_chacha20_poly1305_80,
				       bch_nonce_null()), 0);
	ck_assert_int_lt(bch_csum_init(&st, 99, bch_nonce_null()), 0);
	c = bch_checksum(BCH_CSUM_chacha20_poly1305_128, bch_nonce_null(), check_str, 9);
	ck_assert(c.lo == 0 && c.hi == 0);
	ck_assert(bch_csum_type_is_encryption(BCH_CSUM_chacha20_poly1305_80));
	ck_assert(bch_csum_type_is_encryption(BCH_CSUM_chacha20_poly1305_128));
	ck_assert(!bch_csum_type_is_encryption(BCH_CSUM_xxhash));
	ck_assert(!bch_csum_type_is_encryption(BCH_CSUM_NR));
}
END_TEST

START_TEST(test_type_table)
{
	static const unsigned bytes[BCH_CSUM_NR] = { 0, 4, 8, 10, 16, 4, 8, 8 };

	for (unsigned t = 0; t < BCH_CSUM_NR; t++) {
		ck_assert(bch_csum_type_valid(t));
		ck_assert_uint_eq(bch_csum_bytes(t), bytes[t]);
	}
	ck_assert(!bch_csum_type_valid(BCH_CSUM_NR));
	ck_assert_uint_eq(bch_csum_bytes(BCH_CSUM_NR), 0);
	ck_assert_str_eq(bch_csum_type_name(BCH_CSUM_crc32c_nonzero), "crc32c_nonzero");
	ck_assert_str_eq(bch_csum_type_name(BCH_CSUM_chacha20_poly1305_128),
			 "chacha20_poly1305_128");
	ck_assert_str_eq(bch_csum_type_name(BCH_CSUM_xxhash), "xxhash");
	ck_assert_str_eq(bch_csum_type_name(200), "(unknown)");
	ck_assert_str_eq(bch_csum_opt_name(BCH_CSUM_OPT_crc64), "crc64");
}
END_TEST

START_TEST(test_opt_to_type)
{
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_none, false), BCH_CSUM_none);
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_crc32c, false), BCH_CSUM_crc32c_nonzero);
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_crc32c, true), BCH_CSUM_crc32c);
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_crc64, false), BCH_CSUM_crc64_nonzero);
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_crc64, true), BCH_CSUM_crc64);
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_xxhash, false), BCH_CSUM_xxhash);
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_xxhash, true), BCH_CSUM_xxhash);
	ck_assert_uint_eq(bch_csum_opt_to_type(BCH_CSUM_OPT_NR, true), BCH_CSUM_NR);
}
END_TEST

START_TEST(test_csum_eq)
{
	struct bch_csum a = { cpu_to_le64(1), 0 }, b = a;

	ck_assert(bch_csum_eq(a, b));
	b.hi = cpu_to_le64(1);
	ck_assert(!bch_csum_eq(a, b));
}
END_TEST

static Suite *checksum_suite(void)
{
	Suite *s = suite_create("checksum");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_crc_check_values);
	tcase_add_test(tc, test_checksum_check_values);
	tcase_add_test(tc, test_checksum_layout);
	tcase_add_test(tc, test_crc32c_paths_agree);
	tcase_add_test(tc, test_crc32c_hw_detection);
	tcase_add_test(tc, test_crc64_matches_bitwise);
	tcase_add_test(tc, test_streaming_equals_one_shot);
	tcase_add_test(tc, test_encryption_types_unimplemented);
	tcase_add_test(tc, test_type_table);
	tcase_add_test(tc, test_opt_to_type);
	tcase_add_test(tc, test_csum_eq);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(checksum_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

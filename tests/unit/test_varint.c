/* Unit tests for varint encode/decode and the legacy inode v1 field decoder. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/varint.h"

/* Encodes v, decodes it back from a buffer of exactly the encoded size. */
static void check_round_trip(u64 v)
{
	u8 out[BCH_VARINT_MAX_BYTES + 4];
	unsigned n = bch_varint_encode(out, v);
	u8 *exact = malloc(n);
	u64 back = ~v;

	ck_assert_uint_eq(n, bch_varint_bytes(v));
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, BCH_VARINT_MAX_BYTES);

	memcpy(exact, out, n);
	ck_assert_int_eq(bch_varint_decode(exact, exact + n, &back), (int) n);
	ck_assert_uint_eq(back, v);

	free(exact);

	/*
	 * With slack after it (the one-load path): bytes past the varint,
	 * here all ones, do not leak into the value; an end before the
	 * varint's last byte still refuses it.
	 */
	u8 slack[BCH_VARINT_MAX_BYTES * 2 + 9];

	memset(slack, 0xff, sizeof(slack));
	memcpy(slack, out, n);
	back = ~v;
	ck_assert_int_eq(bch_varint_decode(slack, slack + sizeof(slack), &back), (int) n);
	ck_assert_uint_eq(back, v);
	back = ~v;
	ck_assert_int_eq(bch_varint_decode(slack, slack + n, &back), (int) n);
	ck_assert_uint_eq(back, v);
	if (n > 1)
		ck_assert_int_eq(bch_varint_decode(slack, slack + n - 1, &back), -EBADMSG);

	/* Every truncation is refused without reading past its end. */
	for (unsigned len = 0; len < n; len++) {
		u8 *cut = malloc(len ? len : 1);

		memcpy(cut, out, len);
		ck_assert_int_eq(bch_varint_decode(cut, cut + len, &back), -EBADMSG);
		free(cut);
	}
}

START_TEST(test_round_trip_edges)
{
	static const u64 v[] = {
		0, 1, 2, 126, 127, 128, 255, 256, 16383, 16384,
		(1ULL << 21) - 1, 1ULL << 21, (1ULL << 49) - 1, 1ULL << 49,
		(1ULL << 56) - 1, 1ULL << 56, (1ULL << 63) - 1, 1ULL << 63, ~0ULL,
	};

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check_round_trip(v[i]);
}
END_TEST

START_TEST(test_round_trip_every_width)
{
	srand(5);
	for (unsigned bits = 0; bits <= 64; bits++)
		for (unsigned i = 0; i < 200; i++) {
			u64 r = (u64) rand() << 42 ^ (u64) rand() << 21 ^ (u64) rand();
			u64 mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;

			check_round_trip(r & mask);
			check_round_trip(mask);
		}
}
END_TEST

START_TEST(test_sizes)
{
	ck_assert_uint_eq(bch_varint_bytes(0), 1);
	ck_assert_uint_eq(bch_varint_bytes(127), 1);
	ck_assert_uint_eq(bch_varint_bytes(128), 2);
	ck_assert_uint_eq(bch_varint_bytes((1ULL << 14) - 1), 2);
	ck_assert_uint_eq(bch_varint_bytes(1ULL << 14), 3);
	ck_assert_uint_eq(bch_varint_bytes((1ULL << 56) - 1), 8);
	ck_assert_uint_eq(bch_varint_bytes(1ULL << 56), 9);
	ck_assert_uint_eq(bch_varint_bytes(~0ULL), 9);
}
END_TEST

/*
 * Encodings worked out by hand: n bytes hold (v << n) | (2^(n-1) - 1)
 * little-endian; 9-byte form is 0xff then v little-endian.
 */
START_TEST(test_exact_encodings)
{
	static const struct {
		u64 v;
		unsigned n;
		u8 b[9];
	} e[] = {
		{ 0,			1, { 0x00 } },
		{ 1,			1, { 0x02 } },
		{ 127,			1, { 0xfe } },
		{ 128,			2, { 0x01, 0x02 } },
		{ 300,			2, { 0xb1, 0x04 } },
		{ 16383,		2, { 0xfd, 0xff } },
		{ 16384,		3, { 0x03, 0x00, 0x02 } },
		{ (1ULL << 56) - 1,	8, { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
		{ 1ULL << 56,		9, { 0xff, 0, 0, 0, 0, 0, 0, 0, 0x01 } },
		{ ~0ULL,		9, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
	};

	for (unsigned i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		u8 out[BCH_VARINT_MAX_BYTES];
		u64 back;

		memset(out, 0xaa, sizeof(out));
		ck_assert_uint_eq(bch_varint_encode(out, e[i].v), e[i].n);
		ck_assert_mem_eq(out, e[i].b, e[i].n);
		if (e[i].n < sizeof(out))
			ck_assert_uint_eq(out[e[i].n], 0xaa);

		ck_assert_int_eq(bch_varint_decode(e[i].b, e[i].b + e[i].n, &back), (int) e[i].n);
		ck_assert_uint_eq(back, e[i].v);
	}
}
END_TEST

START_TEST(test_decode_sequence)
{
	u8 buf[64];
	u8 *p = buf;
	const u8 *q = buf;
	u64 v;

	p += bch_varint_encode(p, 5);
	p += bch_varint_encode(p, 1ULL << 40);
	p += bch_varint_encode(p, ~0ULL);

	q += bch_varint_decode(q, p, &v);
	ck_assert_uint_eq(v, 5);
	q += bch_varint_decode(q, p, &v);
	ck_assert_uint_eq(v, 1ULL << 40);
	q += bch_varint_decode(q, p, &v);
	ck_assert_uint_eq(v, ~0ULL);
	ck_assert_ptr_eq(q, p);
	ck_assert_int_lt(bch_varint_decode(q, p, &v), 0);
}
END_TEST

/* Legacy fields: leading zeros of byte 0 pick 1,2,3,4,6,8,10,13 bytes. */
START_TEST(test_inode_v1_fields)
{
	static const struct {
		unsigned n;
		u8 b[13];
		u64 hi, lo;
	} f[] = {
		{ 1,  { 0x85 },					0, 0x05 },
		{ 1,  { 0xff },					0, 0x7f },
		{ 2,  { 0x41, 0x23 },				0, 0x0123 },
		{ 3,  { 0x21, 0x00, 0x01 },			0, 0x010001 },
		{ 4,  { 0x10, 0xaa, 0xbb, 0xcc },		0, 0xaabbcc },
		{ 6,  { 0x0f, 0x01, 0x02, 0x03, 0x04, 0x05 },	0, 0x070102030405 },
		{ 8,  { 0x04, 1, 2, 3, 4, 5, 6, 7 },		0, 0x01020304050607 },
		{ 10, { 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9 },	0x0101, 0x0203040506070809 },
		{ 13, { 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff },	0xffffffff, ~0ULL },
	};

	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		u8 *exact = malloc(f[i].n);
		u128 v;

		memcpy(exact, f[i].b, f[i].n);
		ck_assert_int_eq(bch_inode_v1_field_decode(exact, exact + f[i].n, &v), (int) f[i].n);
		ck_assert_uint_eq((u64) (v >> 64), f[i].hi);
		ck_assert_uint_eq((u64) v, f[i].lo);

		for (unsigned len = 0; len < f[i].n; len++)
			ck_assert_int_eq(bch_inode_v1_field_decode(exact, exact + len, &v),
					 -EBADMSG);
		free(exact);
	}
}
END_TEST

START_TEST(test_inode_v1_zero_byte_rejected)
{
	static const u8 zero[13];
	u128 v;

	ck_assert_int_eq(bch_inode_v1_field_decode(zero, zero + sizeof(zero), &v), -EBADMSG);
}
END_TEST

static Suite *varint_suite(void)
{
	Suite *s = suite_create("varint");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip_edges);
	tcase_add_test(tc, test_round_trip_every_width);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_exact_encodings);
	tcase_add_test(tc, test_decode_sequence);
	tcase_add_test(tc, test_inode_v1_fields);
	tcase_add_test(tc, test_inode_v1_zero_byte_rejected);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(varint_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

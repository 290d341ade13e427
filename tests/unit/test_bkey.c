/* Unit tests of key formats: packing round trips, format validation, position order and text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bkey/bkey.h"

static struct bkey_format make_format(const u8 bits[6], const u64 offset[6])
{
	struct bkey_format f = { .nr_fields = BKEY_NR_FIELDS };
	unsigned total = 24;

	for (unsigned i = 0; i < 6; i++) {
		f.bits_per_field[i] = bits[i];
		f.field_offset[i] = cpu_to_le64(offset[i]);
		total += bits[i];
	}
	f.key_u64s = (total + 63) / 64;
	return f;
}

static u64 rnd64(void)
{
	return (u64)random() << 42 ^ (u64)random() << 21 ^ (u64)random();
}

static u64 fit(u64 v, unsigned bits)
{
	return bits >= 64 ? v : v & ((1ULL << bits) - 1);
}

/* Random formats and keys that fit them: pack then unpack gives the key back. */
START_TEST(pack_unpack_round_trip)
{
	srandom(1);
	for (unsigned n = 0; n < 20000; n++) {
		u8 bits[6] = { random() % 65, random() % 65, random() % 33,
			       random() % 33, random() % 33, random() % 65 };
		const u8 width[6] = BKEY_FIELD_WIDTHS;
		u64 off[6];

		for (unsigned i = 0; i < 6; i++)
			off[i] = bits[i] == width[i] ? 0 : fit(rnd64(), width[i] - bits[i] > 8 ? 8 : 0);
		struct bkey_format f = make_format(bits, off);
		struct printbuf err = PRINTBUF;

		ck_assert_msg(!bch_bkey_format_validate(&f, &err), "%s", pb_cstr(&err));
		pb_exit(&err);

		struct bkey k = { .u64s = BKEY_U64s + 2, .format_whiteout = KEY_FORMAT_CURRENT,
				  .type = KEY_TYPE_cookie };
		k.p.inode = off[0] + fit(rnd64(), bits[0]);
		k.p.offset = off[1] + fit(rnd64(), bits[1]);
		k.p.snapshot = off[2] + fit(rnd64(), bits[2]);
		k.size = off[3] + fit(rnd64(), bits[3]);
		k.bversion.hi = off[4] + fit(rnd64(), bits[4]);
		k.bversion.lo = off[5] + fit(rnd64(), bits[5]);

		u64 buf[8] = { 0 };
		struct bkey_packed *p = (void *)buf;
		ck_assert(bch_bkey_pack(&f, &k, p));
		ck_assert_uint_eq(p->u64s, f.key_u64s + 2);

		struct bkey_unpacker u;
		struct bkey out;
		bch_bkey_unpacker_init(&u, &f);
		ck_assert(bch_bkey_unpack(&u, p, &out));
		ck_assert(bpos_eq(out.p, k.p));
		ck_assert_uint_eq(out.size, k.size);
		ck_assert_uint_eq(out.bversion.hi, k.bversion.hi);
		ck_assert_uint_eq(out.bversion.lo, k.bversion.lo);
		ck_assert_uint_eq(out.type, k.type);
		ck_assert_uint_eq(out.u64s, k.u64s);
		ck_assert_ptr_eq(bkeyp_val(&u, p), buf + f.key_u64s);
	}
}
END_TEST

/* The unpacked layout is the packed encoding with the current format. */
START_TEST(current_format_is_struct_layout)
{
	struct bkey k = { .u64s = BKEY_U64s, .type = KEY_TYPE_deleted,
			  .format_whiteout = KEY_FORMAT_CURRENT,
			  .p = SPOS(0x1122334455667788ULL, 0x99aabbccddeeff00ULL, 0xdeadbeef),
			  .size = 0x12345678, .bversion = { .lo = 0x0102030405060708ULL, .hi = 0x0a0b0c0d } };
	u64 buf[5] = { 0 };
	struct bkey_packed *p = (void *)buf;

	ck_assert(bch_bkey_pack(&bch_bkey_format_current, &k, p));
	/* only the format byte differs: 0 = node format, 1 = current */
	((u8 *)buf)[1] = KEY_FORMAT_CURRENT;
	ck_assert_mem_eq(buf, &k, sizeof(k));
}
END_TEST

START_TEST(format_validation)
{
	const u8 bits[6] = { 64, 64, 32, 32, 32, 64 };
	const u64 zero[6] = { 0 };
	struct bkey_format f = make_format(bits, zero);
	struct printbuf err = PRINTBUF;

	ck_assert(!bch_bkey_format_validate(&f, &err));
	f.key_u64s = 4;
	ck_assert(bch_bkey_format_validate(&f, &err));
	f = make_format(bits, zero);
	f.field_offset[0] = cpu_to_le64(1);	/* full width plus an offset overflows */
	ck_assert(bch_bkey_format_validate(&f, &err));
	f = make_format(bits, zero);
	f.nr_fields = 5;
	ck_assert(bch_bkey_format_validate(&f, &err));

	const u8 small[6] = { 8, 8, 0, 0, 0, 0 };
	const u64 high[6] = { ~0ULL - 100, 0, 0, 0, 0, 0 };
	f = make_format(small, high);	/* offset + 255 wraps past 2^64 */
	ck_assert(bch_bkey_format_validate(&f, &err));
	pb_exit(&err);
}
END_TEST

START_TEST(bpos_order_and_successor)
{
	ck_assert_int_lt(bpos_cmp(SPOS(1, 0, 5), SPOS(1, 1, 0)), 0);
	ck_assert_int_lt(bpos_cmp(SPOS(1, ~0ULL, ~0U), SPOS(2, 0, 0)), 0);
	ck_assert(bpos_eq(bpos_successor(SPOS(1, ~0ULL, ~0U)), SPOS(2, 0, 0)));
	ck_assert(bpos_eq(bpos_successor(SPOS(1, 5, ~0U)), SPOS(1, 6, 0)));
	ck_assert(bpos_eq(bpos_predecessor(SPOS(2, 0, 0)), SPOS(1, ~0ULL, ~0U)));
	/* nothing follows the last position: it does not wrap to POS_MIN */
	ck_assert(bpos_eq(bpos_successor(SPOS_MAX), SPOS_MAX));
}
END_TEST

START_TEST(bpos_text)
{
	struct printbuf out = PRINTBUF;

	bch_bpos_to_text(&out, POS_MIN);
	pb_char(&out, ' ');
	bch_bpos_to_text(&out, SPOS_MAX);
	pb_char(&out, ' ');
	bch_bpos_to_text(&out, POS_MAX);
	pb_char(&out, ' ');
	bch_bpos_to_text(&out, SPOS(0, 4096, ~0U));
	pb_char(&out, ' ');
	bch_bpos_to_text(&out, SPOS(~0ULL, 3, 0));
	ck_assert_str_eq(pb_cstr(&out), "POS_MIN SPOS_MAX POS_MAX 0:4096:U32_MAX U64_MAX:3:0");
	pb_exit(&out);

	/* and back */
	struct bpos p;
	ck_assert(bch_bpos_parse("0:4096:U32_MAX", &p) && bpos_eq(p, SPOS(0, 4096, ~0U)));
	ck_assert(bch_bpos_parse("U64_MAX:3", &p) && bpos_eq(p, SPOS(~0ULL, 3, 0)));
	ck_assert(bch_bpos_parse("SPOS_MAX", &p) && bpos_eq(p, SPOS_MAX));
	ck_assert(!bch_bpos_parse("1:x", &p));
	ck_assert(!bch_bpos_parse("1", &p));
	ck_assert(!bch_bpos_parse("1:2:4294967296", &p));
	ck_assert(!bch_bpos_parse("1:2:U64_MAX", &p));
	ck_assert(!bch_bpos_parse("18446744073709551616:0", &p));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bkey");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pack_unpack_round_trip);
	tcase_add_test(tc, current_format_is_struct_layout);
	tcase_add_test(tc, format_validation);
	tcase_add_test(tc, bpos_order_and_successor);
	tcase_add_test(tc, bpos_text);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

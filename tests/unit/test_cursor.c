/*
 * Unit tests for the bounded cursor (include/fc/cursor.h).
 */
#include <check.h>
#include <stdlib.h>

#include "fc/cursor.h"
#include "fc/err.h"
#include "check_run.h"

START_TEST(reads_big_endian)
{
	static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
				    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12};
	struct fc_cur c;

	fc_cur_init(&c, b, sizeof(b));
	ck_assert_uint_eq(fc_cur_u8(&c), 0x01);
	ck_assert_uint_eq(fc_cur_be16(&c), 0x0203);
	ck_assert_uint_eq(fc_cur_be24(&c), 0x040506);
	ck_assert_uint_eq(fc_cur_be32(&c), 0x0708090a);
	ck_assert_uint_eq(fc_cur_be64(&c), 0x0b0c0d0e0f101112ull);
	ck_assert_int_eq(c.err, 0);
	ck_assert_uint_eq(fc_cur_left(&c), 0);
}
END_TEST

START_TEST(short_read_is_sticky)
{
	static const uint8_t b[] = {0xff, 0xee, 0xdd};
	struct fc_cur c;

	fc_cur_init(&c, b, sizeof(b));
	ck_assert_uint_eq(fc_cur_be32(&c), 0);
	ck_assert_int_eq(c.err, FC_ETRUNC);
	/* Even a read that would fit in the original buffer now fails. */
	ck_assert_uint_eq(fc_cur_u8(&c), 0);
	ck_assert_int_eq(c.err, FC_ETRUNC);
	ck_assert(!fc_cur_has(&c, 0));
}
END_TEST

START_TEST(reduced_size_integers)
{
	static const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
	struct fc_cur c;

	fc_cur_init(&c, b, sizeof(b));
	ck_assert_uint_eq(fc_cur_beN(&c, 3), 0x123456);
	ck_assert_uint_eq(fc_cur_beN(&c, 2), 0x789a);
	fc_cur_init(&c, b, sizeof(b));
	ck_assert_uint_eq(fc_cur_beN(&c, 9), 0);
	ck_assert_int_eq(c.err, FC_EMALFORMED);
	fc_cur_init(&c, b, sizeof(b));
	ck_assert_uint_eq(fc_cur_beN(&c, 0), 0);
	ck_assert_int_eq(c.err, FC_EMALFORMED);
}
END_TEST

START_TEST(sub_cursor_bounds)
{
	static const uint8_t b[] = {1, 2, 3, 4, 5, 6};
	struct fc_cur c, s;

	fc_cur_init(&c, b, sizeof(b));
	ck_assert(fc_cur_sub(&c, 4, &s));
	ck_assert_uint_eq(fc_cur_left(&s), 4);
	ck_assert_uint_eq(fc_cur_left(&c), 2);
	ck_assert_uint_eq(fc_cur_be32(&s), 0x01020304);
	ck_assert_uint_eq(fc_cur_u8(&s), 0);
	ck_assert_int_eq(s.err, FC_ETRUNC);
	ck_assert_int_eq(c.err, 0); /* child errors do not leak to the parent */
	ck_assert(!fc_cur_sub(&c, 3, &s));
	ck_assert_int_eq(c.err, FC_ETRUNC);
	ck_assert_uint_eq(fc_cur_left(&s), 0);
}
END_TEST

START_TEST(huge_lengths_do_not_wrap)
{
	static const uint8_t b[] = {1, 2, 3, 4};
	struct fc_cur c;

	fc_cur_init(&c, b, sizeof(b));
	fc_cur_skip(&c, 1);
	ck_assert_ptr_null(fc_cur_view(&c, SIZE_MAX));
	ck_assert_int_eq(c.err, FC_ETRUNC);
	fc_cur_init(&c, b, sizeof(b));
	fc_cur_skip(&c, SIZE_MAX - 1);
	ck_assert_int_eq(c.err, FC_ETRUNC);
}
END_TEST

START_TEST(copy_zero_fills_on_short_read)
{
	static const uint8_t b[] = {9, 9};
	uint8_t out[4] = {1, 1, 1, 1};
	struct fc_cur c;

	fc_cur_init(&c, b, sizeof(b));
	fc_cur_copy(&c, out, sizeof(out));
	ck_assert_int_eq(c.err, FC_ETRUNC);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(out[i], 0);
}
END_TEST

static Suite *cursor_suite(void)
{
	Suite *s = suite_create("cursor");
	TCase *tc = tcase_create("reads");

	tcase_add_test(tc, reads_big_endian);
	tcase_add_test(tc, short_read_is_sticky);
	tcase_add_test(tc, reduced_size_integers);
	tcase_add_test(tc, sub_cursor_bounds);
	tcase_add_test(tc, huge_lengths_do_not_wrap);
	tcase_add_test(tc, copy_zero_fills_on_short_read);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fc_check_run(cursor_suite());
}

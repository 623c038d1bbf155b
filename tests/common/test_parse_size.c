// SPDX-License-Identifier: MIT
/*
 * test_parse_size.c - parse_size(), the one size parser: the knobs'
 * grammar (flags 0), cudasim's (byte suffix) and the replay tools' (all).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>

#include "../check_run.h"
#include "parse_size.h"

#define ALL	(PARSE_SIZE_FRACTION | PARSE_SIZE_BYTE_SUFFIX)

static uint64_t ok(const char *s, unsigned int flags)
{
	uint64_t v = 0xdead;

	ck_assert_msg(parse_size(s, flags, &v) == 0, "'%s' (flags %u) refused", s, flags);
	return v;
}

static int err(const char *s, unsigned int flags)
{
	uint64_t v = 0xdead;
	int ret = parse_size(s, flags, &v);

	ck_assert_msg(v == 0xdead, "'%s': value set on error", s ? s : "(null)");
	return ret;
}

START_TEST(plain_and_units)
{
	ck_assert_uint_eq(ok("0", 0), 0);
	ck_assert_uint_eq(ok("4096", 0), 4096);
	ck_assert_uint_eq(ok("4k", 0), 4096);
	ck_assert_uint_eq(ok("2M", 0), 2ull << 20);
	ck_assert_uint_eq(ok("3g", 0), 3ull << 30);
	ck_assert_uint_eq(ok("1T", 0), 1ull << 40);
	ck_assert_uint_eq(ok("18446744073709551615", 0), UINT64_MAX);
	ck_assert_uint_eq(ok("16777215T", 0), 16777215ull << 40);
}
END_TEST

START_TEST(knob_grammar_refuses)
{
	static const char *const bad[] = {
		"", "abc", "12abc", "-1", "+1", " 1", "1 ", "1\n", "2P", "12MB", "2MiB",
		"512B", "1.5G", "0x10", "1..5G", "K",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(err(bad[i], 0) == -EINVAL, "'%s' accepted", bad[i]);
	ck_assert_int_eq(err(NULL, 0), -EINVAL);
}
END_TEST

START_TEST(byte_suffix)
{
	ck_assert_uint_eq(ok("2MiB", PARSE_SIZE_BYTE_SUFFIX), 2ull << 20);
	ck_assert_uint_eq(ok("2Mi", PARSE_SIZE_BYTE_SUFFIX), 2ull << 20);
	ck_assert_uint_eq(ok("2mb", PARSE_SIZE_BYTE_SUFFIX), 2ull << 20);
	ck_assert_uint_eq(ok("512B", PARSE_SIZE_BYTE_SUFFIX), 512);
	ck_assert_int_eq(err("512i", PARSE_SIZE_BYTE_SUFFIX), -EINVAL);
	ck_assert_int_eq(err("2MiBB", PARSE_SIZE_BYTE_SUFFIX), -EINVAL);
	ck_assert_int_eq(err("1.5G", PARSE_SIZE_BYTE_SUFFIX), -EINVAL);
}
END_TEST

START_TEST(fraction)
{
	ck_assert_uint_eq(ok("1.5G", ALL), 3ull << 29);
	ck_assert_uint_eq(ok("1.5GiB", ALL), 3ull << 29);
	ck_assert_uint_eq(ok("0.5K", ALL), 512);
	ck_assert_uint_eq(ok("0.1K", ALL), 102);	/* rounded down */
	ck_assert_uint_eq(ok("2.0M", ALL), 2ull << 20);
	/* digits past the twelfth change nothing */
	ck_assert_uint_eq(ok("1.99999999999999999999K", ALL), 2047);
	ck_assert_int_eq(err("1.5", ALL), -EINVAL);	/* a fraction of a byte */
	ck_assert_int_eq(err("1.G", ALL), -EINVAL);
	ck_assert_int_eq(err(".5G", ALL), -EINVAL);
}
END_TEST

START_TEST(overflow)
{
	ck_assert_int_eq(err("18446744073709551616", 0), -ERANGE);
	ck_assert_int_eq(err("99999999999999999999999", 0), -ERANGE);
	ck_assert_int_eq(err("16777216T", 0), -ERANGE);
	ck_assert_int_eq(err("16777216.5T", ALL), -ERANGE);
	/* the largest whole number of a unit takes any fraction of it */
	ck_assert_uint_eq(ok("16777215.999999999999T", ALL), UINT64_MAX - 1);
	ck_assert_uint_eq(ok("16777215.5T", ALL), (16777215ull << 40) + (1ull << 39));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse_size");
	TCase *tc = tcase_create("grammar");

	tcase_add_test(tc, plain_and_units);
	tcase_add_test(tc, knob_grammar_refuses);
	tcase_add_test(tc, byte_suffix);
	tcase_add_test(tc, fraction);
	tcase_add_test(tc, overflow);
	suite_add_tcase(s, tc);
	return check_run(s);
}

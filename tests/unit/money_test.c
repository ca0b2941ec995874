/* SPDX-License-Identifier: MIT */
/* Unit tests for money.h: exact major -> minor conversion, text and double forms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/money.h"

static void
assert_minor(double major, int exp, int64_t expected)
{
    int64_t minor = -42424242;

    assert_int_equal(money_from_major(major, exp, &minor), MONEY_OK);
    assert_int_equal(minor, expected);
}

static void
assert_rc(double major, int exp, enum money_rc expected)
{
    int64_t minor = 0;

    assert_int_equal(money_from_major(major, exp, &minor), expected);
}

static void
test_from_major_exact(void **state)
{
    (void)state;
    assert_minor(85.90, 2, 8590);
    assert_minor(85.9, 2, 8590);
    assert_minor(0, 2, 0);
    assert_minor(0.01, 2, 1);
    assert_minor(0.05, 2, 5);
    assert_minor(1.1, 2, 110);
    assert_minor(19.99, 2, 1999);
    assert_minor(100, 2, 10000);
    /* EUR 90.85, a value whose binary form is below the decimal one */
    assert_minor(90.85, 2, 9085);
}

static void
test_from_major_binary_float_noise(void **state)
{
    /* volatile: the sum is computed at run time, in binary floating point, as a client
     * computing in doubles would do (0.30000000000000004) */
    volatile double a = 0.1, b = 0.2;
    double sum = a + b;

    (void)state;
    assert_true(sum != 0.3);
    assert_minor(31.009999999999998, 2, 3101);
    assert_minor(sum, 2, 30);
    assert_minor(a * 3, 2, 30);          /* 0.30000000000000004 */
    assert_minor(1.005 * 1000, 0, 1005); /* 1004.9999999999999 */
}

static void
test_from_major_not_exact(void **state)
{
    (void)state;
    assert_rc(85.905, 2, MONEY_NOT_EXACT);
    assert_rc(0.001, 2, MONEY_NOT_EXACT);
    assert_rc(0.005, 2, MONEY_NOT_EXACT);
    assert_rc(1e-7, 2, MONEY_NOT_EXACT);
    assert_rc(12.5, 0, MONEY_NOT_EXACT); /* JPY */
    assert_rc(0.5, 0, MONEY_NOT_EXACT);
    assert_rc(1.2345, 3, MONEY_NOT_EXACT);  /* KWD */
    assert_rc(1.00001, 4, MONEY_NOT_EXACT); /* CLF */
}

static void
test_from_major_range(void **state)
{
    (void)state;
    assert_rc(1e20, 2, MONEY_RANGE);
    assert_rc(-1e20, 2, MONEY_RANGE);
    assert_rc(1e300, 0, MONEY_RANGE);
    assert_rc(NAN, 2, MONEY_RANGE);
    assert_rc(-NAN, 2, MONEY_RANGE);
    assert_rc(INFINITY, 2, MONEY_RANGE);
    assert_rc(-INFINITY, 2, MONEY_RANGE);
    /* 2^53 minor units is still exact, 2^53 + 2 is beyond */
    assert_minor(9007199254740992.0, 0, INT64_C(9007199254740992));
    assert_rc(9007199254740994.0, 0, MONEY_RANGE);
    assert_rc(90071992547409.94, 2, MONEY_RANGE);
    /* exponents outside 0..4 */
    assert_rc(1.0, -1, MONEY_RANGE);
    assert_rc(1.0, 5, MONEY_RANGE);
}

static void
test_from_major_negative(void **state)
{
    (void)state;
    assert_minor(-85.9, 2, -8590);
    assert_minor(-0.05, 2, -5);
    assert_minor(-31.009999999999998, 2, -3101);
    assert_minor(-12, 0, -12);
    assert_minor(-0.0, 2, 0);
    assert_rc(-85.905, 2, MONEY_NOT_EXACT);
    assert_rc(-12.5, 0, MONEY_NOT_EXACT);
}

static void
test_from_major_exponents(void **state)
{
    (void)state;
    assert_minor(12, 0, 12);        /* JPY */
    assert_minor(1500, 0, 1500);    /* JPY */
    assert_minor(1.234, 3, 1234);   /* KWD */
    assert_minor(0.001, 3, 1);      /* KWD */
    assert_minor(1.2345, 4, 12345); /* CLF */
    assert_minor(0.0001, 4, 1);     /* CLF */
}

static void
assert_format(int64_t minor, int exp, const char *expected)
{
    char out[MONEY_TEXT_LEN];

    memset(out, 'x', sizeof out);
    money_format(minor, exp, out);
    assert_string_equal(out, expected);
}

static void
test_format(void **state)
{
    (void)state;
    assert_format(8590, 2, "85.9");
    assert_format(8500, 2, "85");
    assert_format(8501, 2, "85.01");
    assert_format(5, 2, "0.05");
    assert_format(50, 2, "0.5");
    assert_format(-5, 2, "-0.05");
    assert_format(-8590, 2, "-85.9");
    assert_format(-8500, 2, "-85");
    assert_format(0, 2, "0");
    assert_format(1234, 3, "1.234");
    assert_format(1230, 3, "1.23");
    assert_format(1, 3, "0.001");
    assert_format(1200, 0, "1200");
    assert_format(0, 0, "0");
    assert_format(-7, 0, "-7");
    assert_format(12345, 4, "1.2345");
    assert_format(10, 4, "0.001");
}

static void
test_format_extremes(void **state)
{
    (void)state;
    assert_format(INT64_MAX, 2, "92233720368547758.07");
    assert_format(INT64_MIN, 2, "-92233720368547758.08");
    assert_format(INT64_MAX, 0, "9223372036854775807");
    assert_format(INT64_MIN, 0, "-9223372036854775808");
    assert_format(INT64_MAX, 4, "922337203685477.5807");
    assert_format(INT64_MIN, 4, "-922337203685477.5808");
    assert_format(INT64_MIN + 1, 3, "-9223372036854775.807");
}

static void
test_to_major(void **state)
{
    (void)state;
    assert_true(money_to_major(8590, 2) == 85.9);
    assert_true(money_to_major(9085, 2) == 90.85);
    assert_true(money_to_major(3101, 2) == 31.01);
    assert_true(money_to_major(-5, 2) == -0.05);
    assert_true(money_to_major(0, 2) == 0.0);
    assert_true(money_to_major(1234, 3) == 1.234);
    assert_true(money_to_major(1200, 0) == 1200.0);
    assert_true(money_to_major(12345, 4) == 1.2345);
}

/* Every cent amount up to 1 000 000.00 survives minor -> double -> minor. */
static void
test_round_trip(void **state)
{
    int64_t minor;

    (void)state;
    for (int64_t i = -1000; i <= 100000000; i += (i < 100000 ? 1 : 997)) {
        assert_int_equal(money_from_major(money_to_major(i, 2), 2, &minor), MONEY_OK);
        assert_int_equal(minor, i);
    }
    for (int64_t i = 0; i <= 100000; i++) {
        assert_int_equal(money_from_major(money_to_major(i, 3), 3, &minor), MONEY_OK);
        assert_int_equal(minor, i);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_major_exact),
        cmocka_unit_test(test_from_major_binary_float_noise),
        cmocka_unit_test(test_from_major_not_exact),
        cmocka_unit_test(test_from_major_range),
        cmocka_unit_test(test_from_major_negative),
        cmocka_unit_test(test_from_major_exponents),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_extremes),
        cmocka_unit_test(test_to_major),
        cmocka_unit_test(test_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for the ISO 4217 currency and ISO 3166-1 country tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/country.h"
#include "core/currency.h"

struct expected_exponent {
    const char *code;
    int exponent;
};

static void
test_currency_known_exponents(void **state)
{
    static const struct expected_exponent cases[] = {
        {"EUR", 2}, {"USD", 2}, {"CHF", 2}, {"GBP", 2}, {"JPY", 0}, {"KRW", 0}, {"CLP", 0},
        {"VND", 0}, {"XAF", 0}, {"XOF", 0}, {"XPF", 0}, {"PYG", 0}, {"UGX", 0}, {"RWF", 0},
        {"ISK", 0}, {"KMF", 0}, {"DJF", 0}, {"GNF", 0}, {"VUV", 0}, {"BIF", 0}, {"UYI", 0},
        {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3}, {"TND", 3},
        {"CLF", 4}, {"UYW", 4}, {"ZWG", 2}, {"VED", 2}, {"XCG", 2}, {"SLE", 2}, {"XAD", 2},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(currency_exponent(cases[i].code), cases[i].exponent);
    }
}

static void
assert_all_unknown(const char *const *codes, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++) {
        assert_int_equal(currency_exponent(codes[i]), -1);
    }
}

static void
test_currency_unknown_withdrawn_and_metals(void **state)
{
    /* never assigned */
    static const char *const unknown[] = {"ABC", "AAA", "ZZZ", "QQQ"};
    /* withdrawn (moved to List Three) */
    static const char *const withdrawn[] = {"HRK", "SLL", "ZWL", "ANG", "CUC",
                                            "BGN", "VEF", "DEM", "FRF"};
    /* minor unit "N.A.", plus the XTS testing code */
    static const char *const no_minor_unit[] = {"XAU", "XAG", "XPT", "XPD", "XDR", "XBA", "XBB",
                                                "XBC", "XBD", "XSU", "XUA", "XXX", "XTS"};

    (void)state;
    assert_all_unknown(unknown, sizeof(unknown) / sizeof(unknown[0]));
    assert_all_unknown(withdrawn, sizeof(withdrawn) / sizeof(withdrawn[0]));
    assert_all_unknown(no_minor_unit, sizeof(no_minor_unit) / sizeof(no_minor_unit[0]));
}

static void
test_currency_malformed_input(void **state)
{
    (void)state;
    assert_int_equal(currency_exponent("eur"), -1);
    assert_int_equal(currency_exponent("Eur"), -1);
    assert_int_equal(currency_exponent("EUr"), -1);
    assert_int_equal(currency_exponent("EURO"), -1);
    assert_int_equal(currency_exponent("EU"), -1);
    assert_int_equal(currency_exponent("E"), -1);
    assert_int_equal(currency_exponent(""), -1);
    assert_int_equal(currency_exponent(" EUR"), -1);
    assert_int_equal(currency_exponent("EUR "), -1);
    assert_int_equal(currency_exponent("E1R"), -1);
    assert_int_equal(currency_exponent(NULL), -1);
}

/* bsearch only finds all of these if the table is strictly sorted. */
static void
test_currency_table_sorted(void **state)
{
    static const struct expected_exponent cases[] = {
        {"AED", 2}, {"BHD", 3}, {"CAD", 2}, {"DKK", 2}, {"EGP", 2}, {"FJD", 2}, {"GEL", 2},
        {"HKD", 2}, {"INR", 2}, {"JMD", 2}, {"KZT", 2}, {"LAK", 2}, {"MXV", 2}, {"NZD", 2},
        {"OMR", 3}, {"PAB", 2}, {"QAR", 2}, {"RSD", 2}, {"SZL", 2}, {"TWD", 2}, {"UZS", 2},
        {"VES", 2}, {"WST", 2}, {"XAF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZWG", 2},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(currency_exponent(cases[i].code), cases[i].exponent);
    }
}

/* Walk every 3-letter code: exponents stay in 0..4 and the table holds
 * exactly the expected number of codes (update on ISO 4217 amendments). */
static void
test_currency_all_codes(void **state)
{
    char code[4] = {0};
    int count = 0;
    int exponent;
    char a;
    char b;
    char c;

    (void)state;
    for (a = 'A'; a <= 'Z'; a++) {
        for (b = 'A'; b <= 'Z'; b++) {
            for (c = 'A'; c <= 'Z'; c++) {
                code[0] = a;
                code[1] = b;
                code[2] = c;
                exponent = currency_exponent(code);
                assert_in_range(exponent + 1, 0, 5);
                if (exponent >= 0) {
                    count++;
                }
            }
        }
    }
    assert_int_equal(count, 165);
}

static void
test_country_valid(void **state)
{
    static const char *const codes[] = {
        "FR", "DE", "US", "GB", "XK", "AD", "ZW", "AX", "BQ",
        "CW", "SS", "SX", "TL", "PS", "EH", "AQ", "UM",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_true(country_is_valid(codes[i]));
    }
}

static void
test_country_invalid(void **state)
{
    /* exceptionally, transitionally or indeterminately reserved */
    static const char *const reserved[] = {"UK", "EU", "UN", "EZ", "AC",
                                           "TA", "FX", "YU", "AN", "CS"};
    /* user-assigned */
    static const char *const user[] = {"AA", "QM", "QZ", "XA", "XZ", "ZZ"};
    /* malformed */
    static const char *const malformed[] = {"fr", "Fr", "fR", "F", "FRA", "", " F", "F1"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_false(country_is_valid(reserved[i]));
    }
    for (i = 0; i < sizeof(user) / sizeof(user[0]); i++) {
        assert_false(country_is_valid(user[i]));
    }
    for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        assert_false(country_is_valid(malformed[i]));
    }
    assert_false(country_is_valid(NULL));
}

static void
test_country_count(void **state)
{
    char code[3] = {0};
    int count = 0;
    char a;
    char b;

    (void)state;
    for (a = 'A'; a <= 'Z'; a++) {
        for (b = 'A'; b <= 'Z'; b++) {
            code[0] = a;
            code[1] = b;
            if (country_is_valid(code)) {
                count++;
            }
        }
    }
    assert_int_equal(count, 250);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_currency_known_exponents),
        cmocka_unit_test(test_currency_unknown_withdrawn_and_metals),
        cmocka_unit_test(test_currency_malformed_input),
        cmocka_unit_test(test_currency_table_sorted),
        cmocka_unit_test(test_currency_all_codes),
        cmocka_unit_test(test_country_valid),
        cmocka_unit_test(test_country_invalid),
        cmocka_unit_test(test_country_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

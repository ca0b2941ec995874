/* SPDX-License-Identifier: MIT */
/* Unit tests for core/cherry_rules.h: the Cherry Checkout token (the vendor docs' test
 * vector), crypto_base64, the Accept-Language choice and the price scale. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/cherry_rules.h"
#include "core/crypto.h"

static void
test_token_vector(void **state)
{
    char tok[CHERRY_TOKEN_LEN];

    (void)state;
    assert_int_equal(cherry_token("pk_test_abc", "sk_test_456", 11, "1500000000", tok), 0);
    assert_string_equal(
        tok,
        "MzZhZTI4NTYxNDE0MWFjOGNjOWVhYWUyZjk4NmU2NTU0MjFjYzhlNmMwODgxZDljY2Q1ZWIxMzQ2YzVjYmI1Ng==");
    assert_int_equal(cherry_token("pk_test_abc", "sk_test_456", 11, "1500000001", tok), 0);
    assert_string_not_equal(
        tok,
        "MzZhZTI4NTYxNDE0MWFjOGNjOWVhYWUyZjk4NmU2NTU0MjFjYzhlNmMwODgxZDljY2Q1ZWIxMzQ2YzVjYmI1Ng==");
}

static void
test_base64(void **state)
{
    char out[16];

    (void)state;
    assert_int_equal(crypto_base64((const uint8_t *)"", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(crypto_base64((const uint8_t *)"f", 1, out, sizeof out), 0);
    assert_string_equal(out, "Zg==");
    assert_int_equal(crypto_base64((const uint8_t *)"foob", 4, out, sizeof out), 0);
    assert_string_equal(out, "Zm9vYg==");
    assert_int_equal(crypto_base64((const uint8_t *)"foobar", 6, out, 8), -1);
}

static void
test_lang(void **state)
{
    (void)state;
    assert_false(cherry_lang_fr(NULL));
    assert_false(cherry_lang_fr(""));
    assert_true(cherry_lang_fr("fr"));
    assert_true(cherry_lang_fr("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"));
    assert_true(cherry_lang_fr("en;q=0.5, fr"));
    assert_true(cherry_lang_fr("FR-fr"));
    assert_false(cherry_lang_fr("en-US,en;q=0.9,fr;q=0.8"));
    assert_false(cherry_lang_fr("fr;q=0, en"));
    assert_false(cherry_lang_fr("fy, fr;q=0.9"));
    assert_false(cherry_lang_fr("fra"));
    assert_false(cherry_lang_fr("*"));
    assert_false(cherry_lang_fr("fr;q=abc"));
}

static void
test_scale(void **state)
{
    struct cherry_scale s;
    char norm[256], err[256];

    (void)state;
    assert_int_equal(cherry_scale_parse("[{\"from\":0,\"to\":50,\"amount\":1},"
                                        "{\"from\":50,\"to\":100.5,\"amount\":2}]",
                                        &s, norm, sizeof norm, err, sizeof err),
                     0);
    assert_int_equal(s.n, 2);
    assert_string_equal(norm, "[{\"from\":0,\"to\":50,\"amount\":1},"
                              "{\"from\":50,\"to\":100.5,\"amount\":2}]");
    assert_int_equal(cherry_scale_min(&s, 0), 1);    /* outside: first entry */
    assert_int_equal(cherry_scale_min(&s, 5000), 1); /* 50 is in (0, 50] */
    assert_int_equal(cherry_scale_min(&s, 5001), 2); /* (50, 100.5] */
    assert_int_equal(cherry_scale_min(&s, 10050), 2);
    assert_int_equal(cherry_scale_min(&s, 99999), 1); /* beyond: first entry */
    assert_int_equal(cherry_scale_parse(cherry_scale_default, &s, NULL, 0, err, sizeof err), 0);
    assert_int_equal(cherry_scale_min(&s, 8590), 1);
    assert_int_equal(cherry_scale_parse("[]", &s, NULL, 0, err, sizeof err), -1);
    assert_int_equal(cherry_scale_parse("{}", &s, NULL, 0, err, sizeof err), -1);
    assert_int_equal(
        cherry_scale_parse("[{\"from\":10,\"to\":5,\"amount\":1}]", &s, NULL, 0, err, sizeof err),
        -1);
    assert_int_equal(cherry_scale_parse("[{\"from\":0,\"to\":5.001,\"amount\":1}]", &s, NULL, 0,
                                        err, sizeof err),
                     -1);
    assert_int_equal(
        cherry_scale_parse("[{\"from\":0,\"to\":5,\"amount\":1.5}]", &s, NULL, 0, err, sizeof err),
        -1);
    assert_int_equal(cherry_scale_parse("[{\"from\":0,\"to\":50,\"amount\":1},"
                                        "{\"from\":40,\"to\":100,\"amount\":2}]",
                                        &s, NULL, 0, err, sizeof err),
                     -1);
    assert_int_equal(cherry_scale_parse("[{\"from\":0,\"to\":5,\"amount\":1,\"x\":1}]", &s, NULL, 0,
                                        err, sizeof err),
                     -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_vector),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_lang),
        cmocka_unit_test(test_scale),
    };

    if (crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

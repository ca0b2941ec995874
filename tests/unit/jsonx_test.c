/* SPDX-License-Identifier: MIT */
/* Unit tests for core/jsonx.h: a parse error's text is printable ASCII, and jsonx_text
 * keeps message text that is not UTF-8, so that the APIs can quote both in their JSON
 * error answers (the fuzz targets found answers whose message had vanished: jansson
 * quotes the input near a parse error, cut inside a UTF-8 sequence, and a decoded path
 * may hold any byte; such strings cannot be put into JSON). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/jsonx.h"

static void
assert_printable(const char *s)
{
    for (; *s; s++)
        assert_true(*s >= 0x20 && *s < 0x7f);
}

/* The body fuzz_kohort found (fuzz/corpus/kohort/crash-error-text-not-utf8), cut short. */
static void
test_error_text_ascii(void **state)
{
    static const char body[] = "{\"custom\\\xe7\x9d\xaetGj:R \x82\xee\x85(\"}";
    struct jsonx_error err;
    struct jsonx *msg;

    (void)state;
    assert_null(jsonx_parse(body, sizeof body - 1, 32, &err));
    assert_int_equal(err.code, JX_ERR_SYNTAX);
    assert_true(strlen(err.text) > 0);
    assert_printable(err.text);
    assert_non_null(strstr(err.text, "\\xe7"));
    msg = jsonx_string(err.text);
    assert_non_null(msg);
    jsonx_free(msg);
}

static void
test_error_text_bytes(void **state)
{
    static const char *const bodies[] = {"\xff",     "[\"\x01\"]", "{\"a\":\"\xc3\"}",
                                         "\xe2\x82", "[1,\x7f]",   NULL};
    struct jsonx_error err;

    (void)state;
    for (int i = 0; bodies[i] != NULL; i++) {
        assert_null(jsonx_parse(bodies[i], strlen(bodies[i]), 32, &err));
        assert_printable(err.text);
        assert_true(strlen(err.text) < sizeof err.text);
    }
}

/* Message text quoting a decoded path or cut inside a character stays in the answer
 * (fuzz/fuzz_route found Dropday's 404 without "error", Kohort's without "message"). */
static void
test_text_lossy(void **state)
{
    struct jsonx *t;

    (void)state;
    t = jsonx_text("no route for / \xd7G{{v\xd9{{}");
    assert_non_null(t);
    assert_string_equal(jsonx_str(t), "no route for / ?G{{v?{{}");
    jsonx_free(t);
    t = jsonx_text("cut in a character: caf\xc3");
    assert_non_null(t);
    assert_string_equal(jsonx_str(t), "cut in a character: caf?");
    jsonx_free(t);
    t = jsonx_text("caf\xc3\xa9");
    assert_string_equal(jsonx_str(t), "caf\xc3\xa9");
    jsonx_free(t);
    t = jsonx_text(NULL);
    assert_int_equal(jsonx_type(t), JX_NULL);
    jsonx_free(t);
    assert_null(jsonx_string("caf\xc3"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_text_ascii),
        cmocka_unit_test(test_error_text_bytes),
        cmocka_unit_test(test_text_lossy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for core/jsonx.h: a parse error's text is printable ASCII, so that the
 * APIs can quote it in their JSON error answers (fuzz/fuzz_kohort found an answer whose
 * message had vanished: jansson quotes the input near the error, cut inside a UTF-8
 * sequence, and such a string cannot be put into JSON). */
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_text_ascii),
        cmocka_unit_test(test_error_text_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

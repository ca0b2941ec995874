/* SPDX-License-Identifier: MIT */
/* Unit tests for core/settings.h (orderd org set): values that are not UTF-8 are
 * refused instead of leaving the stored value silently unchanged, as is a stored
 * settings text that is not a JSON object (both found by fuzz/fuzz_settings), and an
 * accepted value is stored normalised. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/settings.h"

/* The input fuzz_settings found: cherry.plugin.en set to a snippet with 0xA1 bytes. */
static void
test_not_utf8_refused(void **state)
{
    char *out = (char *)"untouched", err[256] = "";

    (void)state;
    assert_int_equal(settings_apply("{}", "cherry.plugin.en",
                                    "<div>{\xa1\xa1\xa1"
                                    "cherryPrike}</div>\n/<p>x</p>",
                                    &out, err, sizeof err),
                     -1);
    assert_null(out);
    assert_non_null(strstr(err, "cherry.plugin.en"));
    assert_non_null(strstr(err, "UTF-8"));
}

/* Before the fix the old value stayed and the call reported success. */
static void
test_not_utf8_keeps_nothing_silently(void **state)
{
    char *out = NULL, err[256] = "";

    (void)state;
    assert_int_equal(settings_apply("{\"cherry.charity\":\"Old\"}", "cherry.charity",
                                    "Caf\xe9 du Coeur", &out, err, sizeof err),
                     -1);
    assert_null(out);
    assert_non_null(strstr(err, "UTF-8"));
}

static void
test_utf8_accepted(void **state)
{
    char *out = NULL, err[256] = "", got[LIMIT_SETTING_LEN];

    (void)state;
    assert_int_equal(settings_apply("{\"cherry.charity\":\"Old\"}", "cherry.charity",
                                    "Caf\xc3\xa9 du C\xc5\x93ur", &out, err, sizeof err),
                     0);
    assert_non_null(out);
    settings_get(out, "cherry.charity", got, sizeof got);
    assert_string_equal(got, "Caf\xc3\xa9 du C\xc5\x93ur");
    free(out);
}

/* Stored settings that are JSON but not an object are as corrupt as unparseable ones:
 * before, setting a key on them was a silent no-op reported as success (found by
 * fuzz/fuzz_settings with the stored text "0"). */
static void
test_stored_not_object(void **state)
{
    static const char *const stored[] = {"0", "[]", "\"x\"", "null", "{", NULL};
    char *out = NULL, err[256];

    (void)state;
    for (int i = 0; stored[i] != NULL; i++) {
        err[0] = '\0';
        assert_int_equal(
            settings_apply(stored[i], "cherry.charity", "Croix-Rouge", &out, err, sizeof err), -1);
        assert_null(out);
        assert_non_null(strstr(err, "corrupt"));
        assert_int_equal(settings_apply(stored[i], "cherry.plugin.en", "", &out, err, sizeof err),
                         -1);
        assert_null(out);
    }
}

/* An accepted value is stored normalised, and the normalised value is accepted as is. */
static void
test_normalised(void **state)
{
    char *out = NULL, *again = NULL, err[256] = "", got[LIMIT_SETTING_LEN];

    (void)state;
    assert_int_equal(
        settings_apply("{}", "cherry.charity_percentage", "50.50", &out, err, sizeof err), 0);
    settings_get(out, "cherry.charity_percentage", got, sizeof got);
    assert_string_equal(got, "50.5");
    assert_int_equal(settings_apply(out, "cherry.charity_percentage", got, &again, err, sizeof err),
                     0);
    assert_string_equal(again, out);
    free(out);
    free(again);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_utf8_refused),
        cmocka_unit_test(test_not_utf8_keeps_nothing_silently),
        cmocka_unit_test(test_utf8_accepted),
        cmocka_unit_test(test_stored_not_object),
        cmocka_unit_test(test_normalised),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for validate.h (tables of good and bad inputs) and clock.h parsing and
 * formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/validate.h"

struct vcase {
    const char *s;
    bool ok;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
run_table(const char *what, bool (*fn)(const char *), const struct vcase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool got = fn(c[i].s);
        if (got != c[i].ok)
            fail_msg("%s(\"%s\") = %s, expected %s", what, c[i].s, got ? "true" : "false",
                     c[i].ok ? "true" : "false");
    }
}

/* A malloc'd string of n copies of ch (caller frees). */
static char *
repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---- e-mail ---------------------------------------------------------------------- */

static void
test_email_table(void **state)
{
    static const struct vcase cases[] = {
        {"a@b.co", true},
        {"ada@example.com", true},
        {"Ada.Lovelace+orders@mail.example.co.uk", true},
        {"a_b-c@x-y.example", true},
        {"x@a-b.com", true},
        {"1@2.3", true},
        {"", false},
        {"ab.co", false},       /* no @ */
        {"a@b@c.co", false},    /* two @ */
        {"@b.co", false},       /* empty local part */
        {"a@", false},          /* empty domain */
        {"a@localhost", false}, /* domain without a dot */
        {"a@-b.co", false},     /* label starting with '-' */
        {"a@b.-co", false},
        {"a@b-.co", false}, /* label ending with '-' */
        {"a@b.co-", false},
        {"a b@c.co", false}, /* space */
        {" a@b.co", false},
        {"a@b.co ", false},
        {"a@b .co", false},
        {"a..b@x.com", false}, /* consecutive dots */
        {".a@x.com", false},
        {"a.@x.com", false},
        {"a@x..com", false},
        {"a@.x.com", false},
        {"a@x_y.com", false}, /* underscore in the domain */
        {"a\"b@x.com", false},
        {"a,b@x.com", false},
        {"a(b)@x.com", false},
        {"a\tb@x.com", false},
        {"\xc3\xa9@x.com", false}, /* ASCII only */
        {"a@\xc3\xa9.com", false},
    };

    (void)state;
    run_table("validate_email", validate_email, cases, N(cases));
}

static void
test_email_lengths(void **state)
{
    char buf[512];
    char *l64 = repeat('a', 64), *l65 = repeat('a', 65), *lab63 = repeat('b', 63),
         *lab64 = repeat('b', 64);

    (void)state;
    /* local part: 64 ok, 65 not */
    snprintf(buf, sizeof buf, "%s@example.com", l64);
    assert_true(validate_email(buf));
    snprintf(buf, sizeof buf, "%s@example.com", l65);
    assert_false(validate_email(buf));
    /* a label of 63 is fine, 64 is not */
    snprintf(buf, sizeof buf, "a@%s.com", lab63);
    assert_true(validate_email(buf));
    snprintf(buf, sizeof buf, "a@%s.com", lab64);
    assert_false(validate_email(buf));
    /* whole address: 254 ok, 255 and more not.
     * 64 + 1 + (63 + 1 + 63 + 1 + 57 + 1 + 3) = 254 */
    {
        char *t57 = repeat('c', 57), *t58 = repeat('c', 58), *t59 = repeat('c', 59);
        snprintf(buf, sizeof buf, "%s@%s.%s.%s.com", l64, lab63, lab63, t57);
        assert_int_equal(strlen(buf), 254);
        assert_true(validate_email(buf));
        snprintf(buf, sizeof buf, "%s@%s.%s.%s.com", l64, lab63, lab63, t58);
        assert_int_equal(strlen(buf), 255);
        assert_false(validate_email(buf));
        snprintf(buf, sizeof buf, "%s@%s.%s.%s.com", l64, lab63, lab63, t59);
        assert_false(validate_email(buf));
        free(t57);
        free(t58);
        free(t59);
    }
    free(l64);
    free(l65);
    free(lab63);
    free(lab64);
}

/* ---- phone, country ------------------------------------------------------------------ */

static void
test_phone_table(void **state)
{
    static const struct vcase cases[] = {
        {"+33612345678", true},
        {"+14155552671", true},
        {"+12", true},              /* 2 digits */
        {"+123456789012345", true}, /* 15 digits */
        {"", false},
        {"+", false},
        {"33612345678", false}, /* no + */
        {"0033612345678", false},
        {"+0612345678", false},       /* first digit 0 */
        {"+1", false},                /* 1 digit */
        {"+1234567890123456", false}, /* 16 digits */
        {"+33a12345678", false},      /* letter */
        {"+33 612345678", false},
        {"+33-612345678", false},
        {"++33612345678", false},
        {"+33612345678 ", false},
    };

    (void)state;
    run_table("validate_phone_e164", validate_phone_e164, cases, N(cases));
}

static void
test_country_table(void **state)
{
    static const struct vcase cases[] = {
        {"FR", true},  {"XK", true},  {"DE", true},   {"US", true},  {"GB", true},
        {"fr", false}, {"Fr", false}, {"UK", false},  {"ZZ", false}, {"EU", false},
        {"", false},   {"F", false},  {"FRA", false}, {"F1", false},
    };

    (void)state;
    run_table("validate_country", validate_country, cases, N(cases));
}

/* ---- dates ---------------------------------------------------------------------- */

static bool
date_any(const char *s)
{
    return validate_date(s, false);
}

static bool
date_past(const char *s)
{
    return validate_date(s, true);
}

static void
test_date_table(void **state)
{
    static const struct vcase cases[] = {
        {"2024-02-29", true}, /* leap year */
        {"2000-02-29", true}, /* divisible by 400 */
        {"2023-02-28", true},
        {"1990-12-10", true},
        {"1900-01-01", true},
        {"2024-12-31", true},
        {"2024-04-30", true},
        {"2023-02-29", false}, /* not a leap year */
        {"1900-02-29", false}, /* divisible by 100 */
        {"2024-13-01", false},
        {"2024-00-10", false},
        {"2024-01-00", false},
        {"2024-01-32", false},
        {"2024-04-31", false},
        {"2024-1-01", false},
        {"2024-01-1", false},
        {"24-01-01", false},
        {"2024/01/01", false},
        {"2024-01-01T00:00:00Z", false},
        {"2024-01-01 ", false},
        {" 2024-01-01", false},
        {"abcd-ef-gh", false},
        {"2024-0a-01", false},
        {"", false},
    };

    (void)state;
    run_table("validate_date", date_any, cases, N(cases));
    run_table("validate_date(not_future)", date_past, cases, N(cases));
}

static void
test_date_not_future(void **state)
{
    char today[CLOCK_RFC3339_LEN], yesterday[CLOCK_RFC3339_LEN], tomorrow[CLOCK_RFC3339_LEN],
        next_year[CLOCK_RFC3339_LEN];
    int64_t now = clock_now_ms();

    (void)state;
    clock_format_ms(now, today);
    today[10] = '\0';
    clock_format_ms(now - 86400000, yesterday);
    yesterday[10] = '\0';
    clock_format_ms(now + 86400000, tomorrow);
    tomorrow[10] = '\0';
    clock_format_ms(now + 366LL * 86400000, next_year);
    next_year[10] = '\0';

    assert_true(validate_date(today, true));
    assert_true(validate_date(yesterday, true));
    assert_false(validate_date(tomorrow, true));
    assert_true(validate_date(tomorrow, false));
    assert_false(validate_date(next_year, true));
    assert_true(validate_date(next_year, false));
    assert_false(validate_date("9999-12-31", true));
    assert_true(validate_date("9999-12-31", false));
}

/* ---- url, ean13, locale ------------------------------------------------------------ */

static void
test_url_table(void **state)
{
    static const struct vcase cases[] = {
        {"http://a", true},
        {"https://example.com", true},
        {"https://example.com/x/y.png?w=1&h=2#f", true},
        {"https://example.com:8443/p", true},
        {"http://127.0.0.1/img.jpg", true},
        {"", false},
        {"example.com", false},
        {"ftp://example.com/a", false},
        {"javascript:alert(1)", false},
        {"https://", false},
        {"http://", false},
        {"https:///path", false},
        {"https://:443/", false},
        {"https//example.com", false},
        {"http://a b", false},
        {"http://a\tb", false},
        {"http://a\nb", false},
        {"http://a\x7f", false},
        {"https://example.com/ x", false},
    };

    (void)state;
    run_table("validate_url", validate_url, cases, N(cases));
}

static void
test_ean13_table(void **state)
{
    static const struct vcase cases[] = {
        {"4006381333931", true},   {"9780306406157", true},  {"0000000000000", true},
        {"5901234123457", true},   {"4006381333932", false}, /* wrong check digit */
        {"4006381333930", false},  {"9780306406158", false}, {"400638133393", false}, /* 12 */
        {"40063813339311", false},                                                    /* 14 */
        {"400638133393a", false},  {"4006381 33931", false}, {"", false},
    };

    (void)state;
    run_table("validate_ean13", validate_ean13, cases, N(cases));
}

static void
test_locale_table(void **state)
{
    static const struct vcase cases[] = {
        {"fr", true},
        {"fr-FR", true},
        {"en-us", true},
        {"fil", true},
        {"zh-Hant-TW", true},
        {"es-419", true},
        {"fr-abcdefgh-abcdefgh-abcdefgh-abcde", true},   /* 35 */
        {"fr-abcdefgh-abcdefgh-abcdefgh-abcdef", false}, /* 36 */
        {"f", false},
        {"f1", false},
        {"12", false},
        {"fr_FR", false},
        {"", false},
        {"-fr", false},
        {"fr-", false},
        {"fr--FR", false},
        {"fr FR", false},
        {"fr-abcdefghi", false}, /* subtag over 8 */
        {"abcd-FR", false},      /* language of 4 letters */
    };

    (void)state;
    assert_int_equal(strlen(cases[6].s), 35);
    assert_int_equal(strlen(cases[7].s), 36);
    run_table("validate_locale", validate_locale, cases, N(cases));
}

/* ---- text, utf8 ------------------------------------------------------------------- */

static void
test_text(void **state)
{
    (void)state;
    assert_true(validate_text("hello", 5, false));
    assert_true(validate_text("", 0, false));
    assert_true(validate_text("h\xc3\xa9llo", 6, false));
    assert_false(validate_text("a\x01"
                               "b",
                               3, false));
    assert_false(validate_text("a\x01"
                               "b",
                               3, true));
    assert_false(validate_text("a\x1f"
                               "b",
                               3, true));
    assert_false(validate_text("a\x7f"
                               "b",
                               3, false));
    assert_false(validate_text("a\x7f"
                               "b",
                               3, true));
    assert_false(validate_text("a\x1b[31m", 7, true)); /* ESC */
    assert_false(validate_text("a\tb", 3, false));
    assert_true(validate_text("a\tb", 3, true));
    assert_false(validate_text("a\nb", 3, false));
    assert_true(validate_text("a\nb", 3, true));
    assert_false(validate_text("a\rb", 3, false));
    assert_true(validate_text("a\r\nb", 4, true));
    assert_false(validate_text("a\vb", 3, true));
    /* an embedded NUL inside len is a control character */
    assert_false(validate_text("a\0b", 3, false));
    assert_false(validate_text("a\0b", 3, true));
    /* only len bytes are looked at */
    assert_true(validate_text("ab\x01", 2, false));
}

static void
test_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(validate_utf8_len("h\xc3\xa9llo"), 5); /* héllo */
    assert_int_equal(validate_utf8_len(""), 0);
    assert_int_equal(validate_utf8_len("abc"), 3);
    assert_int_equal(validate_utf8_len("\xe6\x97\xa5\xe6\x9c\xac"), 2); /* 日本 */
    assert_int_equal(validate_utf8_len("\xf0\x9f\x98\x80"), 1);         /* U+1F600 */
    assert_int_equal(validate_utf8_len("a\xe2\x82\xac"
                                       "b"),
                     3); /* a€b */
}

/* ---- origins ------------------------------------------------------------------------ */

static bool
origin_pattern(const char *s)
{
    return validate_origin(s, true);
}

static bool
origin_header(const char *s)
{
    return validate_origin(s, false);
}

static void
test_origin_validate(void **state)
{
    static const struct vcase patterns[] = {
        {"https://shop.example.com", true},
        {"https://example.com:8443", true},
        {"https://example.com:65535", true},
        {"http://localhost:1", true},
        {"http://localhost:8080", true},
        {"http://localhost", true},
        {"http://127.0.0.1:3000", true},
        {"https://*.example.org", true},
        {"https://*.example.org:8443", true},
        {"", false},
        {"shop.example.com", false},
        {"://shop.example.com", false},
        {"https://", false},
        {"https://shop.example.com/", false},
        {"https://shop.example.com/path", false},
        {"https://shop.example.com:", false},
        {"https://shop.example.com:80a", false},
        {"https://shop.example.com:123456", false},
        {"https://shop.example.com:65536", false},
        {"https://shop.example.com:99999", false},
        {"https://shop.example.com:0", false},
        {"https://shop example.com", false},
        {"https://-shop.example.com", false},
        {"ht1p://shop.example.com", false},
        {"https://*", false},
        {"https://*.", false},
        {"https://a.*.example.org", false},
        {"https://*example.org", false},
        {"https://shop.example.com?x", false},
        {"https://user@shop.example.com", false},
    };
    static const struct vcase headers[] = {
        {"https://shop.example.com", true},
        {"http://localhost:8080", true},
        {"https://*.example.org", false}, /* no wildcard in a real Origin */
        {"null", false},
        {"https://shop.example.com/", false},
        {"", false},
    };

    (void)state;
    run_table("validate_origin(pattern)", origin_pattern, patterns, N(patterns));
    run_table("validate_origin(header)", origin_header, headers, N(headers));
}

static void
test_origin_match(void **state)
{
    static const struct {
        const char *pattern, *origin;
        bool ok;
    } cases[] = {
        {"https://shop.example.com", "https://shop.example.com", true},
        {"https://shop.example.com", "https://www.example.com", false},
        {"https://shop.example.com", "https://shop.example.com.evil.com", false},
        {"https://example.org", "https://a.example.org", false},
        /* port must match */
        {"https://shop.example.com:8443", "https://shop.example.com:8443", true},
        {"https://shop.example.com:8443", "https://shop.example.com", false},
        {"https://shop.example.com", "https://shop.example.com:8443", false},
        {"https://shop.example.com:8443", "https://shop.example.com:9443", false},
        {"http://localhost:3000", "http://localhost:3000", true},
        {"http://localhost:3000", "http://localhost:3001", false},
        /* scheme must match */
        {"https://shop.example.com", "http://shop.example.com", false},
        {"http://shop.example.com", "https://shop.example.com", false},
        /* wildcards */
        {"https://*.example.org", "https://a.example.org", true},
        {"https://*.example.org", "https://a.b.example.org", true},
        {"https://*.example.org", "https://example.org", false},
        {"https://*.example.org", "https://evil-example.org", false},
        {"https://*.example.org", "https://a.example.org.evil.com", false},
        {"https://*.example.org", "https://aexample.org", false},
        {"https://*.example.org", "http://a.example.org", false},
        {"https://*.example.org", "https://a.example.org:8443", false},
        {"https://*.example.org:8443", "https://a.example.org:8443", true},
        {"https://*.example.org:8443", "https://a.example.org", false},
        /* case-insensitive */
        {"https://Shop.Example.COM", "https://shop.example.com", true},
        {"https://shop.example.com", "https://SHOP.EXAMPLE.COM", true},
        {"HTTPS://shop.example.com", "https://shop.example.com", true},
        {"https://*.Example.Org", "https://A.EXAMPLE.org", true},
        /* malformed */
        {"https://shop.example.com", "", false},
        {"", "https://shop.example.com", false},
        {"https://shop.example.com", "shop.example.com", false},
    };

    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        bool got = validate_origin_match(cases[i].pattern, cases[i].origin);
        if (got != cases[i].ok)
            fail_msg("validate_origin_match(\"%s\", \"%s\") = %s", cases[i].pattern,
                     cases[i].origin, got ? "true" : "false");
    }
}

/* ---- clock -------------------------------------------------------------------------- */

static void
assert_parse(const char *s, int64_t expected)
{
    int64_t ms = -1;

    if (clock_parse(s, &ms) != 0)
        fail_msg("clock_parse(\"%s\") failed", s);
    if (ms != expected)
        fail_msg("clock_parse(\"%s\") = %lld, expected %lld", s, (long long)ms,
                 (long long)expected);
}

static void
test_clock_parse_good(void **state)
{
    (void)state;
    /* 2026-11-23T14:00:00Z = 1795442400 s */
    assert_parse("2026-11-23T14:00:00Z", INT64_C(1795442400000));
    assert_parse("2026-11-23t14:00:00z", INT64_C(1795442400000));
    assert_parse("2026-11-23T14:00:00.123Z", INT64_C(1795442400123));
    assert_parse("2026-11-23T14:00:00.1Z", INT64_C(1795442400100));
    assert_parse("2026-11-23T14:00:00.123456789Z", INT64_C(1795442400123));
    assert_parse("2026-11-23T14:00:00+02:00", INT64_C(1795435200000));
    assert_parse("2026-11-23T14:00:00.123+02:00", INT64_C(1795435200123));
    assert_parse("2026-11-23T14:00:00-05:30", INT64_C(1795442400000) + (5 * 3600 + 1800) * 1000);
    assert_parse("2026-11-23T14:00:00+00:00", INT64_C(1795442400000));
    assert_parse("1970-01-01T00:00:00Z", 0);
    assert_parse("2024-02-29T00:00:00Z", INT64_C(1709164800000));
    assert_parse("1700000000", INT64_C(1700000000000));
    assert_parse("0", 0);
}

static void
test_clock_parse_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "now",
        "2026-11-23",
        "2026-11-23T14:00:00", /* no zone */
        "2026-11-23 14:00:00Z",
        "2026-11-23T14:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T14:60:00Z",
        "2026-11-23T14:00:61Z",
        "2026-02-30T14:00:00Z",
        "2026-13-01T14:00:00Z",
        "2026-11-23T14:00:00.Z",
        "2026-11-23T14:00:00ZZ",
        "2026-11-23T14:00:00Z ",
        "2026-11-23T14:00:00+0200",
        "2026-11-23T14:00:00+24:00",
        "2026-11-23T14:00:00+02:60",
        "2026-11-23T14:00:00+02:00x",
        "-1700000000",
        "1700000000.5",
        "17000000000000", /* more than 12 digits */
        " 1700000000",
        "1700000000 ",
    };
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < N(bad); i++) {
        if (clock_parse(bad[i], &ms) != -1)
            fail_msg("clock_parse accepted \"%s\"", bad[i]);
    }
}

/* Truncated offsets must be refused without reading past the end of the string (the
 * strings are heap copies of their exact size so that AddressSanitizer sees it). */
static void
test_clock_parse_truncated_offset(void **state)
{
    static const char *const bad[] = {
        "2026-11-23T14:00:00+",    "2026-11-23T14:00:00+0",    "2026-11-23T14:00:00+02",
        "2026-11-23T14:00:00+02:", "2026-11-23T14:00:00+02:0", "2026-11-23T14:00:00.5-01",
    };
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < N(bad); i++) {
        char *s = strdup(bad[i]);
        assert_non_null(s);
        if (clock_parse(s, &ms) != -1)
            fail_msg("clock_parse accepted \"%s\"", bad[i]);
        free(s);
    }
}

static void
test_clock_format(void **state)
{
    char out[CLOCK_RFC3339_LEN];

    (void)state;
    clock_format_ms(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    clock_format_ms(INT64_C(1795442400123), out);
    assert_string_equal(out, "2026-11-23T14:00:00.123Z");
    clock_format_ms(INT64_C(1709164800000) + 86399999, out);
    assert_string_equal(out, "2024-02-29T23:59:59.999Z");
    clock_format_ms(INT64_C(253402300799999), out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

static void
test_clock_round_trip(void **state)
{
    char out[CLOCK_RFC3339_LEN];
    int64_t ms;

    (void)state;
    for (int64_t t = 0; t < INT64_C(4102444800000); t += INT64_C(7777777777)) {
        clock_format_ms(t, out);
        assert_int_equal(clock_parse(out, &ms), 0);
        assert_int_equal(ms, t);
    }
    ms = clock_now_ms();
    assert_true(ms > INT64_C(1700000000000));
}

static void
test_clock_date_valid(void **state)
{
    int64_t days = -1;

    (void)state;
    assert_true(clock_date_valid("1970-01-01", &days));
    assert_int_equal(days, 0);
    assert_true(clock_date_valid("2024-02-29", &days));
    assert_int_equal(days, 19782);
    assert_true(clock_date_valid("1969-12-31", &days));
    assert_int_equal(days, -1);
    assert_true(clock_date_valid("2024-03-01", NULL));
    assert_false(clock_date_valid("1899-12-31", &days));
    assert_false(clock_date_valid("2023-02-29", &days));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_table),
        cmocka_unit_test(test_email_lengths),
        cmocka_unit_test(test_phone_table),
        cmocka_unit_test(test_country_table),
        cmocka_unit_test(test_date_table),
        cmocka_unit_test(test_date_not_future),
        cmocka_unit_test(test_url_table),
        cmocka_unit_test(test_ean13_table),
        cmocka_unit_test(test_locale_table),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_origin_validate),
        cmocka_unit_test(test_origin_match),
        cmocka_unit_test(test_clock_parse_good),
        cmocka_unit_test(test_clock_parse_bad),
        cmocka_unit_test(test_clock_format),
        cmocka_unit_test(test_clock_round_trip),
        cmocka_unit_test(test_clock_date_valid),
        /* last: under ASan a read past the string aborts the program */
        cmocka_unit_test(test_clock_parse_truncated_offset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

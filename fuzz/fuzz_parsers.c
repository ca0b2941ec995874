/* SPDX-License-Identifier: MIT */
/*
 * fuzz_parsers.c -- libFuzzer target for the small parsers of untrusted text: dates and
 * times (query filters, expiresAt, birthdays), key shapes (Authorization), e-mail,
 * phone, country (codes and Dropday's country names), currency codes, URL, EAN-13,
 * locale, origins and origin matching, money (a JSON number's double, and the decimal
 * text a client sends), Accept-Language, the Cherry price scale, Kohort tiers and
 * durations, rate limit settings, and org setting values. The input is split at the first NUL into
 * two strings (for the two-argument checks). Round trips are checked: a parsed time formats and
 * parses back to itself, an exact amount formats and converts back to itself, tiers format and
 * parse back to the same tiers.
 */
#include "core/cherry_rules.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/currency.h"
#include "core/dropday_country.h"
#include "core/ids.h"
#include "core/kohort_rules.h"
#include "core/money.h"
#include "core/ratelimit.h"
#include "core/settings.h"
#include "core/validate.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RFC3339_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An exact amount survives format -> text -> double -> minor units. */
static void
money_round_trip(double d)
{
    char text[MONEY_TEXT_LEN];
    int64_t minor, back;

    for (int e = 0; e <= 4; e++) {
        if (money_from_major(d, e, &minor) != MONEY_OK)
            continue;
        money_format(minor, e, text);
        assert(strlen(text) < MONEY_TEXT_LEN);
        assert(money_from_major(strtod(text, NULL), e, &back) == MONEY_OK);
        assert(back == minor);
        (void)money_to_major(minor, e);
    }
}

static void
time_round_trip(const char *s)
{
    char text[CLOCK_RFC3339_LEN];
    int64_t ms, back;

    if (clock_parse(s, &ms) != 0 || ms < 0 || ms > MAX_RFC3339_MS)
        return;
    clock_format_ms(ms, text);
    assert(clock_parse(text, &back) == 0);
    assert(back == ms);
}

static void
rules(const char *a)
{
    struct cherry_scale scale;
    struct kohort_tiers t, t2;
    struct ratelimit_policy policy, policy2;
    char err[256], norm[4096];
    int64_t ms;

    if (cherry_scale_parse(a, &scale, norm, sizeof norm, err, sizeof err) == 0) {
        assert(scale.n >= 1 && scale.n <= CHERRY_SCALE_MAX);
        (void)cherry_scale_min(&scale, 0);
        (void)cherry_scale_min(&scale, INT64_MAX / 2);
        assert(cherry_scale_parse(norm, &scale, NULL, 0, err, sizeof err) == 0);
    }
    if (kohort_tiers_parse(a, &t, err, sizeof err) == 0) {
        kohort_tiers_format(&t, norm, sizeof norm);
        assert(kohort_tiers_parse(norm, &t2, err, sizeof err) == 0);
        assert(t2.n == t.n && t2.fixed == t.fixed);
        for (int i = 0; i < t.n; i++)
            assert(t2.t[i].members == t.t[i].members && t2.t[i].value == t.t[i].value);
        for (int m = 0; m <= KOHORT_MAX_PARTICIPANTS; m += 97)
            (void)kohort_cashback(&t, kohort_tier_reached(&t, m), 123456);
    }
    if (kohort_duration_parse(a, &ms, err, sizeof err) == 0)
        assert(ms >= KOHORT_MIN_DURATION_MS && ms <= KOHORT_MAX_DURATION_MS);
    if (ratelimit_parse(a, &policy, norm, sizeof norm, err, sizeof err) == 0) {
        assert(ratelimit_parse(norm, &policy2, NULL, 0, err, sizeof err) == 0);
        assert(policy2.rate == policy.rate && policy2.burst == policy.burst);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 2), *b, *out = NULL, err[256], code[3];
    size_t alen;
    int64_t ms;
    double d;
    enum key_kind kind;
    enum key_mode mode;

    if (a == NULL)
        return 0;
    memcpy(a, data, size);
    a[size] = a[size + 1] = '\0';
    alen = strlen(a);
    b = a + alen + 1 <= a + size ? a + alen + 1 : a + size + 1;
    (void)clock_parse(a, &ms);
    time_round_trip(a);
    (void)clock_date_valid(a, NULL);
    (void)validate_date(a, false);
    (void)validate_date(a, true);
    (void)ids_key_parse(a, &kind, &mode);
    (void)ids_is_uuid(a);
    (void)ids_is_short(a);
    (void)validate_email(a);
    (void)validate_phone_e164(a);
    (void)validate_country(a);
    if (dropday_country_resolve(a, code))
        assert(strlen(code) == 2 && validate_country(code));
    (void)currency_exponent(a);
    (void)validate_url(a);
    (void)validate_ean13(a);
    (void)validate_locale(a);
    (void)validate_text(a, alen, true);
    (void)validate_utf8_len(a);
    (void)validate_origin(a, true);
    (void)validate_origin_match(a, b);
    (void)cherry_lang_fr(a);
    rules(a);
    if (size >= sizeof d) {
        memcpy(&d, data, sizeof d);
        money_round_trip(d);
    }
    money_round_trip(strtod(a, NULL));
    if (settings_apply("{}", "allowed_origins", a, &out, err, sizeof err) == 0)
        assert(settings_origin_allowed(out, b) == settings_origin_allowed(out, b));
    free(out);
    free(a);
    return 0;
}

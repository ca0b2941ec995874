/* SPDX-License-Identifier: MIT */
/*
 * fuzz_parsers.c -- libFuzzer target for the small parsers of untrusted text: dates and
 * times (query filters), key shapes (Authorization), e-mail, phone, country, URL,
 * EAN-13, locale, origins and origin matching, money conversion, and org setting values.
 * The input is split at the first NUL into two strings (for the two-argument checks).
 */
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/settings.h"
#include "core/validate.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 2), *b, *out = NULL, err[256], text[MONEY_TEXT_LEN];
    size_t alen;
    int64_t ms, minor;
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
    (void)clock_date_valid(a, NULL);
    (void)ids_key_parse(a, &kind, &mode);
    (void)ids_is_uuid(a);
    (void)validate_email(a);
    (void)validate_phone_e164(a);
    (void)validate_country(a);
    (void)validate_url(a);
    (void)validate_ean13(a);
    (void)validate_locale(a);
    (void)validate_text(a, alen, true);
    (void)validate_origin(a, true);
    (void)validate_origin_match(a, b);
    if (size >= sizeof d) {
        memcpy(&d, data, sizeof d);
        for (int e = 0; e <= 4; e++)
            if (money_from_major(d, e, &minor) == MONEY_OK) {
                money_format(minor, e, text);
                assert(strlen(text) < MONEY_TEXT_LEN);
            }
    }
    if (settings_apply("{}", "allowed_origins", a, &out, err, sizeof err) == 0)
        assert(settings_origin_allowed(out, b) == settings_origin_allowed(out, b));
    free(out);
    free(a);
    return 0;
}

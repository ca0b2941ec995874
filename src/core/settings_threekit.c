/* SPDX-License-Identifier: MIT */
/*
 * settings_threekit.c -- the org settings of the Threekit API ("threekit.*"), with their checks.
 */
#include "core/settings.h"

#include "core/currency.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* An ISO 4217 code, stored upper-case. */
static int
check_currency(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    char code[4];

    if (strlen(value) != 3 || normlen < sizeof code) {
        snprintf(err, errlen, "threekit.currency: '%s' is not an ISO 4217 code such as USD", value);
        return -1;
    }
    for (int i = 0; i < 3; i++)
        code[i] = (char)toupper((unsigned char)value[i]);
    code[3] = '\0';
    if (currency_exponent(code) < 0) {
        snprintf(err, errlen, "threekit.currency: '%s' is not an ISO 4217 code such as USD", value);
        return -1;
    }
    memcpy(norm, code, sizeof code);
    return 0;
}

/* "refuse" (the default) or "allow". */
static int
check_no_origin(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    if (strcmp(value, "refuse") != 0 && strcmp(value, "allow") != 0) {
        snprintf(err, errlen,
                 "threekit.public_token_without_origin: must be refuse or allow, not '%s'", value);
        return -1;
    }
    snprintf(norm, normlen, "%s", value);
    return 0;
}

const struct setting_def settings_threekit[] = {
    {"threekit.currency", check_currency,
     "ISO 4217 currency of the orders the Threekit API creates (they carry no prices; "
     "default USD)"},
    {"threekit.public_token_without_origin", check_no_origin,
     "refuse (default) or allow: whether a Threekit public token sent with neither Origin "
     "nor Referer (a server-side script) is accepted"},
    {NULL, NULL, NULL},
};

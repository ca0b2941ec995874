/* SPDX-License-Identifier: MIT */
/*
 * settings_dropday.c -- the org settings of the Dropday API ("dropday.*"), with their checks.
 */
#include "core/settings.h"

#include "core/currency.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* dropday.currency: Dropday's amounts are bare numbers; this is their ISO 4217 currency. */
static int
check_currency(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    char code[4];

    if (strlen(value) != 3) {
        snprintf(err, errlen, "dropday.currency must be an ISO 4217 code such as EUR");
        return -1;
    }
    for (int i = 0; i < 3; i++)
        code[i] = (char)toupper((unsigned char)value[i]);
    code[3] = '\0';
    if (currency_exponent(code) < 0) {
        snprintf(err, errlen, "dropday.currency: %s is not an ISO 4217 currency", code);
        return -1;
    }
    snprintf(norm, normlen, "%s", code);
    return 0;
}

const struct setting_def settings_dropday[] = {
    {"dropday.currency", check_currency,
     "ISO 4217 currency of the amounts the Dropday API receives and answers (default EUR)"},
    {NULL, NULL, NULL},
};

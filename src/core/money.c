/* SPDX-License-Identifier: MIT */
/*
 * money.c -- exact conversions between decimal JSON numbers and minor units (money.h).
 */
#include "core/money.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const int64_t pow10_tab[] = {1, 10, 100, 1000, 10000};

enum money_rc
money_from_major(double major, int exp, int64_t *minor)
{
    double scaled, whole;

    if (exp < 0 || exp > 4 || !isfinite(major))
        return MONEY_RANGE;
    scaled = major * (double)pow10_tab[exp];
    if (fabs(scaled) > 9007199254740992.0) /* 2^53: beyond it doubles skip integers */
        return MONEY_RANGE;
    whole = nearbyint(scaled);
    /* The product itself carries a relative rounding error of ~1e-16; the 1e-6 window
     * accepts that and nothing a human would type. */
    if (fabs(scaled - whole) > 1e-6)
        return MONEY_NOT_EXACT;
    *minor = (int64_t)whole;
    return MONEY_OK;
}

void
money_format(int64_t minor, int exp, char *out)
{
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    int e = exp < 0 || exp > 4 ? 0 : exp;
    uint64_t div = (uint64_t)pow10_tab[e], ip = mag / div, fp = mag % div;
    char frac[5];
    int n = e;

    /* the e fraction digits, then trailing zeros dropped */
    for (int i = e - 1; i >= 0; i--, fp /= 10)
        frac[i] = (char)('0' + fp % 10);
    while (n > 0 && frac[n - 1] == '0')
        n--;
    snprintf(out, MONEY_TEXT_LEN, "%s%llu%s%.*s", minor < 0 ? "-" : "", (unsigned long long)ip,
             n > 0 ? "." : "", n, frac);
}

double
money_to_major(int64_t minor, int exp)
{
    char text[MONEY_TEXT_LEN];
    double d = 0;

    /* Via the decimal text so the result is the double nearest the decimal value. */
    money_format(minor, exp, text);
    sscanf(text, "%lf", &d);
    return d;
}

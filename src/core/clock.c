/* SPDX-License-Identifier: MIT */
/*
 * clock.c -- time helpers (see clock.h). Date arithmetic is done with the civil
 * calendar algorithm (days from civil), not with timegm, so it is thread-safe and
 * independent of the TZ environment.
 */
#include "core/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

int64_t
clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
clock_format_ms(int64_t ms, char *out)
{
    char tmp[64];
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&sec, &tm);
    /* the fields are bounded by gmtime; tell the compiler so */
    tm.tm_year = tm.tm_year < -1900 ? -1900 : tm.tm_year > 8099 ? 8099 : tm.tm_year;
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    memcpy(out, tmp, CLOCK_RFC3339_LEN - 1);
    out[CLOCK_RFC3339_LEN - 1] = '\0';
}

/* Reads exactly n digits; returns -1 when one is missing. */
static int
digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool
clock_date_valid(const char *s, int64_t *days)
{
    int y, m, d;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    y = digits(s, 4);
    m = digits(s + 5, 2);
    d = digits(s + 8, 2);
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return false;
    if (days != NULL)
        *days = days_from_civil(y, m, d);
    return true;
}

int
clock_parse(const char *s, int64_t *ms)
{
    int64_t days, v = 0, frac = 0;
    int hh, mi, ss, fdig = 0, sign, oh, om;
    const char *p;
    char date[11];

    if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
        if (strlen(s) > 12)
            return -1;
        for (p = s; *p; p++)
            v = v * 10 + (*p - '0');
        *ms = v * 1000;
        return 0;
    }
    if (strlen(s) < 20)
        return -1;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!clock_date_valid(date, &days) || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    hh = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    ss = digits(s + 17, 2);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, fdig++)
            if (fdig < 3)
                frac = frac * 10 + (*p - '0');
        if (fdig == 0)
            return -1;
        for (int i = fdig; i < 3; i++)
            frac *= 10;
    }
    v = ((days * 24 + hh) * 60 + mi) * 60 + ss;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        /* "+hh:mm": check the shape before reading the digits (no read past the end) */
        if (strlen(p) < 6 || p[3] != ':')
            return -1;
        oh = digits(p + 1, 2);
        om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        v -= sign * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *ms = v * 1000 + frac;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * settings_kohort.c -- the org settings of the Kohort API ("kohort.*"), with their checks.
 * Each group copies the settings it was created under, so later changes do not touch
 * open groups.
 */
#include "core/kohort_rules.h"
#include "core/limits.h"
#include "core/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
check_tiers(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    struct kohort_tiers t;

    if (kohort_tiers_parse(value, &t, err, errlen) != 0)
        return -1;
    kohort_tiers_format(&t, norm, normlen);
    return 0;
}

static int
check_duration(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    int64_t ms;

    if (kohort_duration_parse(value, &ms, err, errlen) != 0)
        return -1;
    snprintf(norm, normlen, "%s", value);
    return 0;
}

/* A decimal integer in [min, max]. */
static int
check_int(const char *key, const char *value, long long min, long long max, char *norm,
          size_t normlen, char *err, size_t errlen)
{
    char *end = NULL;
    long long v;

    v = strtoll(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || v < min || v > max) {
        snprintf(err, errlen, "%s: want an integer from %lld to %lld", key, min, max);
        return -1;
    }
    snprintf(norm, normlen, "%lld", v);
    return 0;
}

static int
check_max(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    return check_int("kohort.max_participants", value, KOHORT_MIN_PARTICIPANTS,
                     KOHORT_MAX_PARTICIPANTS, norm, normlen, err, errlen);
}

static int
check_min_amount(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    return check_int("kohort.min_amount", value, 0, LIMIT_AMOUNT_MAX, norm, normlen, err, errlen);
}

static int
check_case(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    if (strcmp(value, "camel") != 0 && strcmp(value, "snake") != 0) {
        snprintf(err, errlen, "kohort.response_case: want camel or snake");
        return -1;
    }
    snprintf(norm, normlen, "%s", value);
    return 0;
}

const struct setting_def settings_kohort[] = {
    {"kohort.tiers", check_tiers,
     "cashback levels MEMBERS:PERCENT% or MEMBERS:CENTS, up to 5, first at 2 "
     "(default 2:5%,5:10%,10:15%)"},
    {"kohort.group_duration", check_duration,
     "group lifetime such as 90d, 12h, 10m, 30s (1s..90d; default 90d live, 10m test)"},
    {"kohort.max_participants", check_max, "orders per group, creator included (2..1000; 15)"},
    {"kohort.min_amount", check_min_amount, "minimum order amount in cents (default 0)"},
    {"kohort.response_case", check_case,
     "camel (default, as documented) or snake (as Kohort's backend answers)"},
    {NULL, NULL, NULL},
};

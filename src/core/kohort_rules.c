/* SPDX-License-Identifier: MIT */
/*
 * kohort_rules.c -- Kohort group rules (kohort_rules.h). Integer arithmetic only.
 */
#include "core/kohort_rules.h"

#include "core/crypto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char upper36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

void
kohort_tiers_default(struct kohort_tiers *t)
{
    memset(t, 0, sizeof *t);
    t->n = 3;
    t->t[0] = (struct kohort_tier){2, 5};
    t->t[1] = (struct kohort_tier){5, 10};
    t->t[2] = (struct kohort_tier){10, 15};
}

/* Reads a decimal integer of at most 13 digits at *p; advances *p. */
static int
read_int(const char **p, int64_t *v)
{
    const char *s = *p;
    int n = 0;

    *v = 0;
    while (isdigit((unsigned char)*s) && n < 14) {
        *v = *v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n == 0 || n > 13)
        return -1;
    *p = s;
    return 0;
}

int
kohort_tiers_parse(const char *s, struct kohort_tiers *t, char *err, size_t errlen)
{
    const char *p = s;
    int kinds = 0; /* bit 0: percent seen, bit 1: fixed seen */

    memset(t, 0, sizeof *t);
    while (*p != '\0') {
        int64_t members, value;
        bool percent;

        while (*p == ' ')
            p++;
        if (t->n == KOHORT_MAX_TIERS) {
            snprintf(err, errlen, "kohort.tiers: at most %d levels", KOHORT_MAX_TIERS);
            return -1;
        }
        if (read_int(&p, &members) != 0 || *p != ':') {
            snprintf(err, errlen,
                     "kohort.tiers: want MEMBERS:PERCENT%% or MEMBERS:CENTS levels separated by "
                     "commas, e.g. 2:5%%,5:10%%,10:15%%");
            return -1;
        }
        p++;
        if (read_int(&p, &value) != 0) {
            snprintf(err, errlen, "kohort.tiers: level %d has no value", t->n + 1);
            return -1;
        }
        percent = *p == '%';
        if (percent)
            p++;
        while (*p == ' ')
            p++;
        if (*p != ',' && *p != '\0') {
            snprintf(err, errlen, "kohort.tiers: unexpected '%c' in level %d", *p, t->n + 1);
            return -1;
        }
        if (*p == ',')
            p++;
        kinds |= percent ? 1 : 2;
        if (kinds == 3) {
            snprintf(err, errlen, "kohort.tiers: levels must all be percents or all amounts");
            return -1;
        }
        if (t->n == 0 && members != 2) {
            snprintf(err, errlen, "kohort.tiers: the first level must unlock at 2 members");
            return -1;
        }
        if (members > KOHORT_MAX_PARTICIPANTS) {
            snprintf(err, errlen, "kohort.tiers: at most %d members", KOHORT_MAX_PARTICIPANTS);
            return -1;
        }
        if (value < 1 || (percent && value > 100)) {
            snprintf(err, errlen, "kohort.tiers: level %d: value must be %s", t->n + 1,
                     percent ? "1% to 100%" : "at least 1 cent");
            return -1;
        }
        if (t->n > 0 && (members <= t->t[t->n - 1].members || value <= t->t[t->n - 1].value)) {
            snprintf(err, errlen, "kohort.tiers: members and values must strictly increase");
            return -1;
        }
        t->t[t->n].members = (int)members;
        t->t[t->n].value = value;
        t->n++;
    }
    if (t->n == 0) {
        snprintf(err, errlen, "kohort.tiers: at least one level");
        return -1;
    }
    t->fixed = kinds == 2;
    return 0;
}

void
kohort_tiers_format(const struct kohort_tiers *t, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (int i = 0; i < t->n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%d:%lld%s", i ? "," : "",
                                 t->t[i].members, (long long)t->t[i].value, t->fixed ? "" : "%");
}

int
kohort_tier_reached(const struct kohort_tiers *t, int members)
{
    int level = -1;

    for (int i = 0; i < t->n; i++)
        if (members >= t->t[i].members)
            level = i;
    return level;
}

/* a * b / d rounded half up, for non-negative a and small b, d. */
static int64_t
mul_div_round(int64_t a, int64_t b, int64_t d)
{
    __int128 x = (__int128)a * b;

    return (int64_t)((x + d / 2) / d);
}

int64_t
kohort_cashback(const struct kohort_tiers *t, int level, int64_t amount)
{
    if (level < 0 || level >= t->n || amount <= 0)
        return 0;
    if (t->fixed)
        return t->t[level].value;
    return mul_div_round(amount, t->t[level].value, 100);
}

int64_t
kohort_fee(int64_t amount)
{
    int64_t fee = mul_div_round(amount, KOHORT_FEE_PERCENT, 100);

    return fee + mul_div_round(fee, KOHORT_VAT_PERCENT, 100);
}

int
kohort_duration_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
    const char *p = s;
    int64_t n, unit;

    if (read_int(&p, &n) != 0 || p[0] == '\0' || p[1] != '\0') {
        snprintf(err, errlen,
                 "kohort.group_duration: want a number and a unit s, m, h or d "
                 "(e.g. 90d, 10m, 30s)");
        return -1;
    }
    switch (p[0]) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60 * 1000;
        break;
    case 'h':
        unit = 3600 * 1000;
        break;
    case 'd':
        unit = 24LL * 3600 * 1000;
        break;
    default:
        snprintf(err, errlen, "kohort.group_duration: unknown unit '%c' (s, m, h or d)", p[0]);
        return -1;
    }
    if (n > KOHORT_MAX_DURATION_MS / unit || n * unit < KOHORT_MIN_DURATION_MS) {
        snprintf(err, errlen, "kohort.group_duration: must be from 1s to 90d");
        return -1;
    }
    *ms = n * unit;
    return 0;
}

void
kohort_id(const char *prefix, char out[24])
{
    uint8_t r[14];
    size_t n = strlen(prefix);

    crypto_random(r, sizeof r);
    memcpy(out, prefix, n);
    for (int i = 0; i < 14; i++)
        out[n + (size_t)i] = b62[r[i] % 62]; /* 256 % 62 bias is irrelevant for ids */
    out[n + 14] = '\0';
}

void
kohort_customer_id_for(const char *org_id, enum key_mode mode, const char *email, char out[24])
{
    char text[512];
    uint8_t h[CRYPTO_HASH_LEN];
    int n = snprintf(text, sizeof text, "kohort-customer|%s|%d|%s", org_id, (int)mode, email);

    crypto_sha256(text, n > 0 && (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, h);
    memcpy(out, "cus_", 4);
    for (int i = 0; i < 14; i++)
        out[4 + i] = b62[h[i] % 62];
    out[18] = '\0';
}

void
kohort_share_code(enum key_mode mode, char out[32])
{
    const char *prefix = mode == MODE_LIVE ? "KHT-" : "KHT-test-";
    size_t n = strlen(prefix);

    memcpy(out, prefix, n);
    for (int i = 0; i < 8; i++)
        out[n + (size_t)i] = upper36[crypto_random_below(36)];
    out[n + 8] = '\0';
}

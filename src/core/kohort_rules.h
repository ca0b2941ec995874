/* SPDX-License-Identifier: MIT */
/*
 * kohort_rules.h -- the Kohort group rules, without I/O: cashback tiers, group
 * durations, the cashback of a settled group, Kohort's fee on referred orders, and
 * Kohort-style identifiers (ord_/pg_/cus_ ids, KHT- share codes).
 */
#ifndef ORDERD_KOHORT_RULES_H
#define ORDERD_KOHORT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ids.h"

#define KOHORT_MAX_TIERS        5
#define KOHORT_DEFAULT_MAX      15
#define KOHORT_MIN_PARTICIPANTS 2
#define KOHORT_MAX_PARTICIPANTS 1000
#define KOHORT_MIN_DURATION_MS  1000LL
#define KOHORT_MAX_DURATION_MS  (90LL * 24 * 3600 * 1000)
#define KOHORT_FEE_PERCENT      10 /* Kohort's acquisition fee on a referred order */
#define KOHORT_VAT_PERCENT      20 /* VAT added to that fee */

/* One cashback level: from `members` orders in the group, `value` percent (or cents
 * when the tiers are fixed amounts). */
struct kohort_tier {
    int members;
    int64_t value;
};

struct kohort_tiers {
    bool fixed; /* false: percent of each member's amount; true: fixed cents */
    int n;
    struct kohort_tier t[KOHORT_MAX_TIERS];
};

/* The default tiers: 2 -> 5 %, 5 -> 10 %, 10 -> 15 %. */
void kohort_tiers_default(struct kohort_tiers *t);
/* Parses "2:5%,5:10%,10:15%" (percent) or "2:500,5:1000" (fixed cents). Rules: 1 to 5
 * levels, all of one kind, the first at 2 members, members and values strictly
 * increasing, percents 1..100. Returns 0, or -1 with a message in err. */
int kohort_tiers_parse(const char *s, struct kohort_tiers *t, char *err, size_t errlen);
/* The normal text form of t. */
void kohort_tiers_format(const struct kohort_tiers *t, char *out, size_t size);
/* The highest level reached with `members` orders: its index, or -1 for none. */
int kohort_tier_reached(const struct kohort_tiers *t, int members);
/* Cashback of one order of `amount` cents in a group that reached level i (-1: 0). */
int64_t kohort_cashback(const struct kohort_tiers *t, int level, int64_t amount);
/* Kohort's fee on a referred order: round(amount x 10 %) plus 20 % VAT, half up. */
int64_t kohort_fee(int64_t amount);

/* Parses a duration "90d", "12h", "10m", "30s" (one number and one unit) into ms, within
 * 1 s .. 90 days. Returns 0 or -1 with err. */
int kohort_duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);

/* "pg_" / "cus_" / "ord_" + 14 random base62 characters. */
void kohort_id(const char *prefix, char out[24]);
/* "cus_" + 14 base62 characters derived from org, mode and the lower-case e-mail: a
 * customer created implicitly by an order gets the same id in concurrent requests. */
void kohort_customer_id_for(const char *org_id, enum key_mode mode, const char *email,
                            char out[24]);
/* "KHT-" + 8 upper-case alphanumerics; "KHT-test-" + 8 in test mode. */
void kohort_share_code(enum key_mode mode, char out[32]);

#endif

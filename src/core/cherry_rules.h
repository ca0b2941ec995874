/* SPDX-License-Identifier: MIT */
/*
 * cherry_rules.h -- the pure rules of the Cherry Checkout dialect, shared by its API
 * (api/cherry.c), its settings (core/settings_cherry.c) and the unit tests: the request
 * token, the Accept-Language choice, the price scale and the plugin languages.
 */
#ifndef ORDERD_CHERRY_RULES_H
#define ORDERD_CHERRY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHERRY_TOKEN_LEN    89        /* Base64 of 64 hex digits (88) + NUL */
#define CHERRY_SCALE_MAX    32        /* entries in cherry.price_scale */
#define CHERRY_AMOUNT_MAX   1000      /* a contribution, in currency units (the module's cap) */
#define CHERRY_SCALE_TO_MAX 100000000 /* a scale bound, in currency units */

/* token = Base64(lower-hex(HMAC-SHA256(sk, pk + ts))), as the vendor's clients compute
 * it. Returns 0, or -1 when an argument is too long. */
int cherry_token(const char *pk, const char *sk, size_t sk_len, const char *ts,
                 char out[CHERRY_TOKEN_LEN]);

/* Does this Accept-Language header prefer French (the highest q-value whose primary
 * subtag is fr; ties go to the first listed)? NULL or unparseable -> false. */
bool cherry_lang_fr(const char *accept_language);

struct cherry_scale_entry {
    int64_t from, to; /* order totals in cents, the range is (from, to] */
    int64_t amount;   /* minimum contribution, in currency units */
};

struct cherry_scale {
    int n;
    struct cherry_scale_entry e[CHERRY_SCALE_MAX];
};

/* The scale used when cherry.price_scale is unset. */
extern const char cherry_scale_default[];

/* Parses a price scale: a JSON array of 1 to CHERRY_SCALE_MAX objects {from, to,
 * amount}, from and to in currency units (at most two decimals, 0 <= from < to), amount
 * an integer 0..CHERRY_AMOUNT_MAX, ranges in ascending order without overlap. norm (may
 * be NULL) receives the compact JSON. Returns 0, or -1 with a message in err. */
int cherry_scale_parse(const char *text, struct cherry_scale *out, char *norm, size_t normlen,
                       char *err, size_t errlen);

/* The minimum contribution (currency units) for an order total in cents: the amount of
 * the first range holding it, else the first range's amount (as the vendor's module
 * does); 0 for an empty scale. */
int64_t cherry_scale_min(const struct cherry_scale *s, int64_t order_cents);

/* The languages a cherry.plugin.<lang> setting may name (NULL-terminated). */
extern const char *const cherry_plugin_langs[];

#endif

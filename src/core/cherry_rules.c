/* SPDX-License-Identifier: MIT */
/*
 * cherry_rules.c -- the Cherry Checkout dialect's pure rules (cherry_rules.h): token,
 * language choice, price scale.
 */
#include "core/cherry_rules.h"

#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/money.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX 512

const char cherry_scale_default[] = "[{\"from\":0,\"to\":100000000,\"amount\":1}]";

const char *const cherry_plugin_langs[] = {"en", "fr", "de", "it", "es", "nl", "pt", NULL};

int
cherry_token(const char *pk, const char *sk, size_t sk_len, const char *ts,
             char out[CHERRY_TOKEN_LEN])
{
    char msg[MSG_MAX], hex[CRYPTO_HASH_LEN * 2 + 1];
    uint8_t mac[CRYPTO_HASH_LEN];
    int n = snprintf(msg, sizeof msg, "%s%s", pk, ts);
    int rc = -1;

    out[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof msg)
        goto out;
    crypto_hmac_sha256(sk, sk_len, msg, (size_t)n, mac);
    crypto_hex(mac, sizeof mac, hex);
    rc = crypto_base64((const uint8_t *)hex, strlen(hex), out, CHERRY_TOKEN_LEN);
out:
    return rc;
}

/* q-value of one Accept-Language entry's parameters (";q=0.8"); 1 when absent, -1 when
 * malformed. */
static double
lang_q(const char *p, size_t n)
{
    char buf[32], *end = NULL;
    size_t i = 0;
    double q;

    while (i < n && (p[i] == ' ' || p[i] == ';'))
        i++;
    if (i == n)
        return 1.0;
    if (n - i < 3 || (p[i] != 'q' && p[i] != 'Q') || p[i + 1] != '=' || n - i - 2 >= sizeof buf)
        return -1.0;
    memcpy(buf, p + i + 2, n - i - 2);
    buf[n - i - 2] = '\0';
    q = strtod(buf, &end);
    while (end != NULL && *end == ' ')
        end++;
    if (end == buf || end == NULL || *end != '\0' || q < 0 || q > 1)
        return -1.0;
    return q;
}

bool
cherry_lang_fr(const char *h)
{
    double best = 0.0;
    bool fr = false;

    if (h == NULL)
        return false;
    while (*h != '\0') {
        size_t n = strcspn(h, ","), tag = 0, a = 0;
        double q;
        while (a < n && h[a] == ' ')
            a++;
        tag = a;
        while (tag < n && h[tag] != ';' && h[tag] != ' ')
            tag++;
        q = lang_q(h + tag, n - tag);
        if (q > best && tag > a) {
            best = q;
            fr = tag - a >= 2 && tolower((unsigned char)h[a]) == 'f' &&
                 tolower((unsigned char)h[a + 1]) == 'r' &&
                 (tag - a == 2 || h[a + 2] == '-' || h[a + 2] == '_');
        }
        h += n;
        if (*h == ',')
            h++;
    }
    return fr;
}

/* A scale bound in currency units -> cents, exactly. */
static int
scale_bound(const struct jsonx *v, int64_t *cents)
{
    if (v == NULL || (jsonx_type(v) != JX_INT && jsonx_type(v) != JX_REAL))
        return -1;
    if (money_from_major(jsonx_real(v), 2, cents) != MONEY_OK)
        return -1;
    return *cents >= 0 && *cents <= (int64_t)CHERRY_SCALE_TO_MAX * 100 ? 0 : -1;
}

int
cherry_scale_parse(const char *text, struct cherry_scale *out, char *norm, size_t normlen,
                   char *err, size_t errlen)
{
    struct jsonx_error jerr;
    struct jsonx *doc = jsonx_parse(text, strlen(text), 4, &jerr), *copy = NULL;
    char *dump = NULL;
    size_t n;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (doc == NULL || jsonx_type(doc) != JX_ARRAY) {
        snprintf(err, errlen,
                 "must be a JSON array such as [{\"from\":0,\"to\":50,\"amount\":1},"
                 "{\"from\":50,\"to\":100,\"amount\":2}]");
        goto out;
    }
    n = jsonx_size(doc);
    if (n == 0 || n > CHERRY_SCALE_MAX) {
        snprintf(err, errlen, "must have 1 to %d entries", CHERRY_SCALE_MAX);
        goto out;
    }
    copy = jsonx_array();
    for (size_t i = 0; i < n; i++) {
        const struct jsonx *e = jsonx_at(doc, i), *amount;
        struct cherry_scale_entry *se = &out->e[i];
        struct jsonx *o;

        if (jsonx_type(e) != JX_OBJECT || jsonx_size(e) != 3 ||
            (amount = jsonx_get(e, "amount")) == NULL) {
            snprintf(err, errlen, "entry %zu must be an object with exactly from, to and amount",
                     i);
            goto out;
        }
        if (scale_bound(jsonx_get(e, "from"), &se->from) != 0 ||
            scale_bound(jsonx_get(e, "to"), &se->to) != 0) {
            snprintf(err, errlen,
                     "entry %zu: from and to must be numbers from 0 to %d with at most two "
                     "decimals",
                     i, CHERRY_SCALE_TO_MAX);
            goto out;
        }
        if (se->to <= se->from) {
            snprintf(err, errlen, "entry %zu: to must be greater than from", i);
            goto out;
        }
        if (i > 0 && se->from < out->e[i - 1].to) {
            snprintf(err, errlen, "entry %zu overlaps the one before (ranges go up, no overlap)",
                     i);
            goto out;
        }
        if (jsonx_type(amount) != JX_INT || jsonx_int(amount) < 0 ||
            jsonx_int(amount) > CHERRY_AMOUNT_MAX) {
            snprintf(err, errlen, "entry %zu: amount must be an integer from 0 to %d", i,
                     CHERRY_AMOUNT_MAX);
            goto out;
        }
        se->amount = jsonx_int(amount);
        o = jsonx_object();
        jsonx_set(o, "from", jsonx_copy(jsonx_get(e, "from")));
        jsonx_set(o, "to", jsonx_copy(jsonx_get(e, "to")));
        jsonx_set_int(o, "amount", se->amount);
        jsonx_append(copy, o);
        out->n = (int)i + 1;
    }
    if (norm != NULL) {
        dump = jsonx_dump(copy, NULL);
        if (dump == NULL || strlen(dump) >= normlen) {
            snprintf(err, errlen, "too long");
            goto out;
        }
        memcpy(norm, dump, strlen(dump) + 1);
    }
    rc = 0;
out:
    if (rc != 0)
        out->n = 0;
    free(dump);
    jsonx_free(copy);
    jsonx_free(doc);
    return rc;
}

int64_t
cherry_scale_min(const struct cherry_scale *s, int64_t order_cents)
{
    if (s->n == 0)
        return 0;
    for (int i = 0; i < s->n; i++)
        if (order_cents > s->e[i].from && order_cents <= s->e[i].to)
            return s->e[i].amount;
    return s->e[0].amount;
}

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_settings.c -- libFuzzer target: org settings, `orderd org set ORG KEY=VALUE`
 * (core/settings*.c: settings_apply with each key's check, settings_get,
 * settings_origin_allowed) and the stored settings JSON they edit. Invariants: an
 * accepted value is stored normalised, setting the normalised value again changes
 * nothing, and what the APIs parse back from it (price scale, tiers, duration, origins)
 * parses. The first byte picks the stored settings (empty, a full set, the input's
 * first line as the stored JSON, or corrupt text) and the key (one of the known keys,
 * or line 1 when its index is 0); the rest of the input is the value.
 */
#include "core/cherry_rules.h"
#include "core/jsonx.h"
#include "core/kohort_rules.h"
#include "core/limits.h"
#include "core/ratelimit.h"
#include "core/settings.h"
#include "core/validate.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char full[] =
    "{\"allowed_origins\":\"https://shop.example.com,https://*.example.org:8443\","
    "\"cherry.charity\":\"Croix-Rouge\",\"cherry.allow_extra\":\"false\","
    "\"cherry.price_scale\":\"[{\\\"from\\\":0,\\\"to\\\":50,\\\"amount\\\":1}]\","
    "\"dropday.currency\":\"JPY\",\"kohort.tiers\":\"2:500,5:1000\","
    "\"kohort.group_duration\":\"1h\",\"kohort.response_case\":\"snake\"}";

/* The n-th known key (1-based), or NULL. */
static const char *
known_key(int n)
{
    static const struct setting_def *const tables[] = {settings_cherry, settings_dropday,
                                                       settings_threekit, settings_kohort};

    if (n == 1)
        return "allowed_origins";
    n -= 2;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const struct setting_def *d = tables[t]; d->key != NULL; d++)
            if (n-- == 0)
                return d->key;
    /* the core settings after allowed_origins (listed here, their table is private) */
    return n == 0 ? "rate_limit.secret" : n == 1 ? "rate_limit.publishable" : NULL;
}

/* What the APIs do with a stored value must succeed on any value the check let in. */
static void
reread(const char *key, const char *v)
{
    char err[256], norm[LIMIT_SETTING_LEN], *save = NULL, list[LIMIT_SETTING_LEN];
    struct cherry_scale scale;
    struct kohort_tiers tiers;
    struct ratelimit_policy policy;
    int64_t ms;

    if (v[0] == '\0')
        return;
    if (strcmp(key, "cherry.price_scale") == 0) {
        assert(cherry_scale_parse(v, &scale, norm, sizeof norm, err, sizeof err) == 0);
        assert(strcmp(norm, v) == 0);
        (void)cherry_scale_min(&scale, 4250);
    } else if (strcmp(key, "kohort.tiers") == 0) {
        assert(kohort_tiers_parse(v, &tiers, err, sizeof err) == 0);
        kohort_tiers_format(&tiers, norm, sizeof norm);
        assert(strcmp(norm, v) == 0);
    } else if (strcmp(key, "kohort.group_duration") == 0) {
        assert(kohort_duration_parse(v, &ms, err, sizeof err) == 0);
        assert(ms >= KOHORT_MIN_DURATION_MS && ms <= KOHORT_MAX_DURATION_MS);
    } else if (strncmp(key, "rate_limit.", 11) == 0) {
        assert(ratelimit_parse(v, &policy, norm, sizeof norm, err, sizeof err) == 0);
        assert(strcmp(norm, v) == 0);
        assert(policy.rate <= RATELIMIT_MAX && policy.burst <= RATELIMIT_MAX);
    } else if (strcmp(key, "allowed_origins") == 0) {
        snprintf(list, sizeof list, "%s", v);
        for (char *tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
            assert(validate_origin(tok, true));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jsonx_error jerr;
    struct jsonx *a, *b;
    char *buf, *line, *value, *out = NULL, *again = NULL, err[512], got[LIMIT_SETTING_LEN];
    const char *cur, *key;
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    buf = malloc(size);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    line = buf;
    value = strchr(buf, '\n');
    if (value != NULL)
        *value++ = '\0';
    else
        value = buf + strlen(buf);
    switch (sel & 3) {
    case 0:
        cur = "{}";
        break;
    case 1:
        cur = full;
        break;
    case 2:
        cur = line; /* the stored JSON is fuzzed; the key is a known one */
        break;
    default:
        cur = "{\"allowed_origins\":";
        break;
    }
    key = known_key(sel >> 2);
    if (key == NULL)
        key = (sel & 3) == 2 ? "allowed_origins" : line;
    settings_get(cur, key, got, sizeof got);
    (void)settings_origin_allowed(cur, value);
    err[0] = '\0';
    if (settings_apply(cur, key, value, &out, err, sizeof err) == 0) {
        a = jsonx_parse(out, strlen(out), 8, &jerr);
        assert(a != NULL && jsonx_type(a) == JX_OBJECT);
        settings_get(out, key, got, sizeof got);
        if (value[0] == '\0')
            assert(got[0] == '\0');
        else
            assert(got[0] != '\0');
        reread(key, got);
        /* the normalised value is a fixed point */
        if (got[0] != '\0') {
            assert(settings_apply(out, key, got, &again, err, sizeof err) == 0);
            b = jsonx_parse(again, strlen(again), 8, &jerr);
            assert(b != NULL && jsonx_equal(a, b));
            jsonx_free(b);
        }
        (void)settings_origin_allowed(out, value);
        jsonx_free(a);
    } else {
        assert(out == NULL && err[0] != '\0');
    }
    free(out);
    free(again);
    free(buf);
    return 0;
}

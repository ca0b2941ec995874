/* SPDX-License-Identifier: MIT */
/*
 * settings.c -- known org settings and their checks (settings.h). Adding a setting:
 * one row in its API's table (settings_core here, settings_<api>.c for a dialect), a
 * check function, and a line in the README's settings table.
 */
#include "core/settings.h"

#include "core/jsonx.h"
#include "core/limits.h"
#include "core/ratelimit.h"
#include "core/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks and normalises a comma-separated origin list (wildcard hosts allowed). */
static int
check_origins(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    char item[512];
    const char *p = value;
    size_t used = 0;
    int count = 0;

    norm[0] = '\0';
    while (*p != '\0') {
        size_t n = strcspn(p, ","), a = 0, b = n;
        while (a < b && p[a] == ' ')
            a++;
        while (b > a && p[b - 1] == ' ')
            b--;
        if (b - a == 0 || b - a >= sizeof item) {
            snprintf(err, errlen, "allowed_origins: empty or overlong entry");
            return -1;
        }
        memcpy(item, p + a, b - a);
        item[b - a] = '\0';
        if (!validate_origin(item, true)) {
            snprintf(err, errlen,
                     "allowed_origins: '%s' is not an origin like https://shop.example.com "
                     "or https://*.example.com[:port]",
                     item);
            return -1;
        }
        if (++count > LIMIT_ORIGINS) {
            snprintf(err, errlen, "allowed_origins: at most %d origins", LIMIT_ORIGINS);
            return -1;
        }
        used += (size_t)snprintf(norm + used, normlen - used, "%s%s", used ? "," : "", item);
        if (used >= normlen) {
            snprintf(err, errlen, "allowed_origins: too long");
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* A per-key rate limit: "RATE", "RATE,BURST" or "off". */
static int
check_rate_limit(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    struct ratelimit_policy p;
    char why[160];

    if (ratelimit_parse(value, &p, norm, normlen, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "rate_limit: %s", why);
    return -1;
}

static const struct setting_def settings_core[] = {
    {"allowed_origins", check_origins,
     "comma-separated origins scheme://host[:port] allowed to create orders with a "
     "publishable key; a host may start with *. to match any subdomain"},
    {"rate_limit.secret", check_rate_limit,
     "requests per second per secret key, and the burst: RATE or RATE,BURST, or off "
     "(default 100,500)"},
    {"rate_limit.publishable", check_rate_limit,
     "requests per second per publishable key, and the burst: RATE or RATE,BURST, or off "
     "(default 10,50)"},
    {NULL, NULL, NULL},
};

static const struct setting_def *const tables[] = {
    settings_core, settings_cherry, settings_dropday, settings_threekit, settings_kohort,
};

static const struct setting_def *
setting_find(const char *key)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const struct setting_def *d = tables[t]; d->key != NULL; d++)
            if (strcmp(d->key, key) == 0)
                return d;
    return NULL;
}

int
settings_apply(const char *cur, const char *key, const char *value, char **out, char *err,
               size_t errlen)
{
    struct jsonx_error jerr;
    struct jsonx *doc = NULL, *v;
    char norm[LIMIT_SETTING_LEN];
    const struct setting_def *def = setting_find(key);
    int rc = -1;

    *out = NULL;
    if (def == NULL) {
        snprintf(err, errlen, "unknown setting '%s' (orderd --help lists them)", key);
        goto out;
    }
    if (strlen(value) >= LIMIT_SETTING_LEN) {
        snprintf(err, errlen, "%s: value longer than %d bytes", key, LIMIT_SETTING_LEN - 1);
        goto out;
    }
    doc = jsonx_parse(cur, strlen(cur), 8, &jerr);
    if (doc == NULL || jsonx_type(doc) != JX_OBJECT) {
        snprintf(err, errlen, "stored settings are corrupt");
        goto out;
    }
    if (value[0] == '\0') {
        jsonx_del(doc, key);
    } else {
        if (def->check(value, norm, sizeof norm, err, errlen) != 0)
            goto out;
        /* JSON text holds UTF-8 only: refused here, not silently left unchanged */
        if ((v = jsonx_string(norm)) == NULL) {
            snprintf(err, errlen, "%s: the value is not valid UTF-8", key);
            goto out;
        }
        jsonx_set(doc, key, v);
    }
    *out = jsonx_dump(doc, NULL);
    rc = *out != NULL ? 0 : -1;
out:
    jsonx_free(doc);
    return rc;
}

void
settings_get(const char *settings, const char *key, char *out, size_t size)
{
    struct jsonx_error jerr;
    struct jsonx *doc = jsonx_parse(settings, strlen(settings), 8, &jerr);
    const struct jsonx *v = doc ? jsonx_get(doc, key) : NULL;

    snprintf(out, size, "%s", v != NULL && jsonx_type(v) == JX_STRING ? jsonx_str(v) : "");
    jsonx_free(doc);
}

bool
settings_origin_allowed(const char *settings, const char *origin)
{
    char list[LIMIT_SETTING_LEN], *save = NULL, *tok;
    bool ok = false;

    if (origin == NULL || !validate_origin(origin, false))
        return false;
    settings_get(settings, "allowed_origins", list, sizeof list);
    for (tok = strtok_r(list, ",", &save); tok != NULL && !ok; tok = strtok_r(NULL, ",", &save))
        ok = validate_origin_match(tok, origin);
    return ok;
}

const char *
settings_help(void)
{
    static char text[4096];

    if (text[0] == '\0') {
        size_t used = 0;
        for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
            for (const struct setting_def *d = tables[t]; d->key != NULL && used < sizeof text; d++)
                used += (size_t)snprintf(text + used, sizeof text - used, "  %s\n    %s\n", d->key,
                                         d->help);
    }
    return text;
}

/* SPDX-License-Identifier: MIT */
/*
 * settings_cherry.c -- the org settings of the Cherry Checkout API ("cherry.*"), with
 * their checks. The API reads them in api/cherry.c; defaults are documented in
 * docs/dialects/cherry.md.
 */
#include "core/settings.h"

#include "core/cherry_rules.h"
#include "core/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
copy_norm(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    if (strlen(value) >= normlen) {
        snprintf(err, errlen, "value too long");
        return -1;
    }
    memcpy(norm, value, strlen(value) + 1);
    return 0;
}

static int
check_charity(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    size_t n = validate_utf8_len(value);

    if (n == 0 || n > 255 || !validate_text(value, strlen(value), false)) {
        snprintf(err, errlen,
                 "cherry.charity: the charity's name, 1 to 255 characters without control "
                 "characters");
        return -1;
    }
    return copy_norm(value, norm, normlen, err, errlen);
}

static int
check_scale(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    struct cherry_scale s;
    char why[256];

    if (cherry_scale_parse(value, &s, norm, normlen, why, sizeof why) != 0) {
        snprintf(err, errlen, "cherry.price_scale: %s", why);
        return -1;
    }
    return 0;
}

static int
check_bool(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "1", "yes", "on", NULL};
    static const char *const no[] = {"false", "0", "no", "off", NULL};

    for (int i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(value, yes[i]) == 0)
            return copy_norm("true", norm, normlen, err, errlen);
        if (strcasecmp(value, no[i]) == 0)
            return copy_norm("false", norm, normlen, err, errlen);
    }
    snprintf(err, errlen, "cherry.allow_extra: must be true or false");
    return -1;
}

/* A percentage 0..100 with at most two decimals, normalised ("50.50" -> "50.5"). */
static int
check_percent(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    const char *dot = strchr(value, '.');
    size_t digits = strspn(value, "0123456789");
    char *end = NULL;
    double v;

    if (digits == 0 || digits > 3 ||
        (dot != NULL && (dot != value + digits || strlen(dot + 1) == 0 || strlen(dot + 1) > 2 ||
                         strspn(dot + 1, "0123456789") != strlen(dot + 1))) ||
        (dot == NULL && value[digits] != '\0')) {
        snprintf(err, errlen, "a percentage is a number from 0 to 100 (at most two decimals)");
        return -1;
    }
    v = strtod(value, &end);
    if (end == NULL || *end != '\0' || v < 0 || v > 100) {
        snprintf(err, errlen, "a percentage is a number from 0 to 100 (at most two decimals)");
        return -1;
    }
    if (snprintf(norm, normlen, "%.2f", v) >= (int)normlen) {
        snprintf(err, errlen, "value too long");
        return -1;
    }
    /* drop trailing zeros and a trailing dot */
    for (size_t n = strlen(norm); n > 0 && (norm[n - 1] == '0' || norm[n - 1] == '.'); n--) {
        bool was_dot = norm[n - 1] == '.';
        norm[n - 1] = '\0';
        if (was_dot)
            break;
    }
    if (norm[0] == '\0')
        return copy_norm("0", norm, normlen, err, errlen);
    return 0;
}

static int
check_plugin(const char *value, char *norm, size_t normlen, char *err, size_t errlen)
{
    if (value[0] == '\0' || !validate_text(value, strlen(value), true)) {
        snprintf(err, errlen,
                 "cherry.plugin.<lang>: an HTML snippet (UTF-8, no control characters but "
                 "tab/CR/LF); {cherryPrice} is replaced by the contribution");
        return -1;
    }
    return copy_norm(value, norm, normlen, err, errlen);
}

const struct setting_def settings_cherry[] = {
    {"cherry.charity", check_charity, "charity name; unset -> Cherry error 3004"},
    {"cherry.price_scale", check_scale,
     "JSON [{from,to,amount}]: minimum contribution per order total (units)"},
    {"cherry.allow_extra", check_bool, "true (default) or false: contributions above the minimum"},
    {"cherry.charity_percentage", check_percent, "0..100 (default 100)"},
    {"cherry.game_percentage", check_percent, "0..100 (default 0)"},
    {"cherry.plugin.en", check_plugin, "cart snippet (HTML), {cherryPrice} filled in"},
    {"cherry.plugin.fr", check_plugin, "the same in French"},
    {"cherry.plugin.de", check_plugin, "German"},
    {"cherry.plugin.it", check_plugin, "Italian"},
    {"cherry.plugin.es", check_plugin, "Spanish"},
    {"cherry.plugin.nl", check_plugin, "Dutch"},
    {"cherry.plugin.pt", check_plugin, "Portuguese"},
    {NULL, NULL, NULL},
};

/* SPDX-License-Identifier: MIT */
/*
 * validate.c -- format checks (validate.h). Rules follow the anchors in
 * reference/order-api-anchors.md section 5: RFC 5321 lengths for e-mail, E.164 for
 * phones, ISO 3166-1 with XK.
 */
#include "core/validate.h"

#include "core/clock.h"
#include "core/country.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
is_label_char(char c)
{
    return isalnum((unsigned char)c) || c == '-';
}

/* A dot-separated list of DNS labels: each 1..63 of [A-Za-z0-9-], no hyphen at an end. */
static bool
dns_name(const char *s, size_t len, bool need_dot)
{
    size_t label = 0;
    bool dot = false;

    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            dot = true;
            continue;
        }
        if (!is_label_char(s[i]) || (label == 0 && s[i] == '-') || ++label > 63)
            return false;
    }
    return label > 0 && s[len - 1] != '-' && (dot || !need_dot);
}

bool
validate_email(const char *s)
{
    const char *at = strchr(s, '@');
    size_t len = strlen(s), local;

    if (at == NULL || strchr(at + 1, '@') != NULL || len > 254)
        return false;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
        return false;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("()<>[]:;@\\,\"", c) != NULL)
            return false;
    }
    return dns_name(at + 1, len - local - 1, true);
}

bool
validate_phone_e164(const char *s)
{
    size_t n;

    if (s[0] != '+' || s[1] < '1' || s[1] > '9')
        return false;
    n = strlen(s + 1);
    return n >= 2 && n <= 15 && strspn(s + 1, "0123456789") == n;
}

bool
validate_country(const char *s)
{
    return country_is_valid(s);
}

bool
validate_date(const char *s, bool not_future)
{
    int64_t days;

    if (!clock_date_valid(s, &days))
        return false;
    return !not_future || days <= clock_now_ms() / 86400000;
}

bool
validate_url(const char *s)
{
    const char *host;
    size_t hl;

    if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    hl = strcspn(host, ":/?#");
    return hl > 0;
}

bool
validate_ean13(const char *s)
{
    int sum = 0;

    if (strlen(s) != 13 || strspn(s, "0123456789") != 13)
        return false;
    for (int i = 0; i < 12; i++)
        sum += (s[i] - '0') * (i % 2 ? 3 : 1);
    return (10 - sum % 10) % 10 == s[12] - '0';
}

bool
validate_locale(const char *s)
{
    size_t n = strlen(s), sub = 0, first = 0;
    bool in_first = true;

    if (n == 0 || n > 35)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (s[i] == '-' || s[i] == '\0') {
            if (sub == 0 || sub > 8)
                return false;
            if (in_first)
                first = sub;
            in_first = false;
            sub = 0;
            continue;
        }
        if (!isalnum((unsigned char)s[i]) || (in_first && !isalpha((unsigned char)s[i])))
            return false;
        sub++;
    }
    return first >= 2 && first <= 3;
}

bool
validate_text(const char *s, size_t len, bool allow_ws)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            if (!allow_ws || (c != '\t' && c != '\n' && c != '\r'))
                return false;
        }
    }
    return true;
}

size_t
validate_utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Splits "scheme://host[:port]" into parts; returns false when malformed. */
static bool
origin_split(const char *s, const char **host, size_t *host_len, const char **port,
             size_t *scheme_len)
{
    const char *sep = strstr(s, "://"), *colon;
    const char *p;

    if (sep == NULL || sep == s)
        return false;
    for (p = s; p < sep; p++)
        if (!isalpha((unsigned char)*p))
            return false;
    *scheme_len = (size_t)(sep - s);
    *host = sep + 3;
    colon = strchr(*host, ':');
    *host_len = colon ? (size_t)(colon - *host) : strlen(*host);
    *port = colon ? colon + 1 : "";
    if (colon != NULL &&
        (strlen(*port) == 0 || strlen(*port) > 5 || strspn(*port, "0123456789") != strlen(*port) ||
         strtol(*port, NULL, 10) < 1 || strtol(*port, NULL, 10) > 65535))
        return false;
    return *host_len > 0;
}

bool
validate_origin(const char *s, bool is_pattern)
{
    const char *host, *port;
    size_t hl, sl;

    if (!origin_split(s, &host, &hl, &port, &sl))
        return false;
    if (is_pattern && hl > 2 && host[0] == '*' && host[1] == '.') {
        host += 2;
        hl -= 2;
    }
    /* hosts are DNS names, IPv4 literals (also DNS-shaped) or localhost */
    return dns_name(host, hl, false);
}

bool
validate_origin_match(const char *pattern, const char *origin)
{
    const char *ph, *pp, *oh, *op;
    size_t phl, psl, ohl, osl;

    if (!origin_split(pattern, &ph, &phl, &pp, &psl) || !origin_split(origin, &oh, &ohl, &op, &osl))
        return false;
    if (psl != osl || strncasecmp(pattern, origin, psl) != 0 || strcmp(pp, op) != 0)
        return false;
    if (phl > 2 && ph[0] == '*' && ph[1] == '.') {
        /* "*.example.org" matches "a.example.org" and "a.b.example.org" only */
        size_t suffix = phl - 1; /* ".example.org" */
        return ohl > suffix && strncasecmp(oh + ohl - suffix, ph + 1, suffix) == 0;
    }
    return phl == ohl && strncasecmp(ph, oh, phl) == 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * validate.h -- format checks shared by every API: e-mail, E.164 phone, ISO 3166
 * country, calendar dates, URLs, EAN-13, locale tags, printable text, origins.
 * Pure functions, no allocation.
 */
#ifndef ORDERD_VALIDATE_H
#define ORDERD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* One '@', local part 1..64, domain of DNS labels (letters, digits, hyphen, not at a
 * label's ends) with at least one dot, <= 255, whole <= 254. ASCII only. */
bool validate_email(const char *s);
/* '+' then 2..15 digits, the first not 0. */
bool validate_phone_e164(const char *s);
/* Assigned ISO 3166-1 alpha-2 (upper case) or XK. */
bool validate_country(const char *s);
/* "YYYY-MM-DD" existing date; when not_future, not after today (UTC). */
bool validate_date(const char *s, bool not_future);
/* http:// or https:// followed by a host, no spaces or control characters. */
bool validate_url(const char *s);
/* 13 digits with a correct GS1 check digit. */
bool validate_ean13(const char *s);
/* "ll", "lll", "ll-RR", "ll-Scrp-RR"... letters/digits in hyphen-separated subtags. */
bool validate_locale(const char *s);
/* No control characters (below 0x20 or 0x7f); when allow_ws, tab, CR and LF pass. */
bool validate_text(const char *s, size_t len, bool allow_ws);
/* Number of Unicode code points of a valid UTF-8 string. */
size_t validate_utf8_len(const char *s);
/* An origin pattern "scheme://host[:port]" where host may start with "*."; or an origin
 * from an Origin header when is_pattern is false (no wildcard). */
bool validate_origin(const char *s, bool is_pattern);
/* Does origin (from the Origin header) match pattern (from allowed_origins)? Scheme and
 * port must be equal; "*.example.org" matches any subdomain of example.org, not the
 * bare domain. Case-insensitive. */
bool validate_origin_match(const char *pattern, const char *origin);

#endif

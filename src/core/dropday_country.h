/* SPDX-License-Identifier: MIT */
/*
 * dropday_country.h -- Dropday's shops send a country as an ISO 3166-1 alpha-2 code or
 * as a name, in English or in the shop's language ("Nederland", "Deutschland",
 * "Royaume-Uni"). This resolves either to the ISO-2 code.
 */
#ifndef ORDERD_DROPDAY_COUNTRY_H
#define ORDERD_DROPDAY_COUNTRY_H

#include <stdbool.h>

/* Writes the upper-case ISO-2 code of s (code in any case, or a known name; case,
 * accents, punctuation and a leading "the" are ignored) into out[3]. Returns false when
 * s names no country. */
bool dropday_country_resolve(const char *s, char out[3]);

#endif

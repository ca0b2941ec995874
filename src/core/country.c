/* SPDX-License-Identifier: MIT */
/* ISO 3166-1 alpha-2 table (249 officially assigned codes plus XK) and its
 * lookup. */
#include "core/country.h"

#include <stdlib.h>
#include <string.h>

#define COUNTRY_CODE_LEN 2

/*
 * Officially assigned alpha-2 codes, sorted for bsearch, plus XK (Kosovo,
 * user-assigned but in common use).  Not included: the user-assigned ranges
 * (AA, QM-QZ, XA-XZ other than XK, ZZ) and the exceptionally, transitionally
 * or indeterminately reserved codes (UK, EU, UN, EZ, AC, ...).
 */
static const char country_table[][COUNTRY_CODE_LEN + 1] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
};

static bool
is_upper_code(const char *code)
{
    bool ok = true;
    size_t i;

    for (i = 0; ok && i < COUNTRY_CODE_LEN; i++) {
        ok = code[i] >= 'A' && code[i] <= 'Z';
    }
    return ok && code[COUNTRY_CODE_LEN] == '\0';
}

static int
country_entry_cmp(const void *key, const void *elem)
{
    return memcmp(key, elem, COUNTRY_CODE_LEN);
}

bool
country_is_valid(const char *code)
{
    bool found = false;

    if (code != NULL && is_upper_code(code)) {
        found = bsearch(code, country_table, sizeof(country_table) / sizeof(country_table[0]),
                        sizeof(country_table[0]), country_entry_cmp) != NULL;
    }
    return found;
}

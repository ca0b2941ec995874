/* SPDX-License-Identifier: MIT */
/* ISO 3166-1 alpha-2 country codes: validation of country fields. */
#ifndef ORDERD_CORE_COUNTRY_H
#define ORDERD_CORE_COUNTRY_H

#include <stdbool.h>

/* True when code is an officially assigned ISO 3166-1 alpha-2 code (upper case), or XK. */
bool country_is_valid(const char *code);

#endif /* ORDERD_CORE_COUNTRY_H */

/* SPDX-License-Identifier: MIT */
/* ISO 4217 currency codes: minor-unit exponent lookup for order amounts. */
#ifndef ORDERD_CORE_CURRENCY_H
#define ORDERD_CORE_CURRENCY_H

/* Returns the ISO 4217 minor-unit exponent (0..4) of an upper-case 3-letter code,
 * or -1 when the code is not an active ISO 4217 currency with minor units. */
int currency_exponent(const char *code);

#endif /* ORDERD_CORE_CURRENCY_H */

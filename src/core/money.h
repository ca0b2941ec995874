/* SPDX-License-Identifier: MIT */
/*
 * money.h -- amounts are int64 minor units with an ISO 4217 exponent (currency.h).
 * Converting a JSON decimal number is exact or refused: a double within 1e-6 of a minor
 * unit of a whole minor unit is that unit (clients computing in binary floating point
 * send 31.009999999999998 for 31.01); anything further off (85.905 EUR) or beyond what
 * a double holds exactly (2^53) is an error, never a silent rounding.
 */
#ifndef ORDERD_MONEY_H
#define ORDERD_MONEY_H

#include <stdint.h>

#define MONEY_TEXT_LEN 32

enum money_rc { MONEY_OK = 0, MONEY_NOT_EXACT = -1, MONEY_RANGE = -2 };

/* Major units (85.90) -> minor units (8590) for a currency with exponent exp (0..4). */
enum money_rc money_from_major(double major, int exp, int64_t *minor);
/* Minor units -> shortest decimal text of the major amount: 8590,2 -> "85.9";
 * 8500,2 -> "85"; -5,2 -> "-0.05". out has MONEY_TEXT_LEN bytes. */
void money_format(int64_t minor, int exp, char *out);
/* Minor units -> the double nearest the major amount (for dialects that send numbers). */
double money_to_major(int64_t minor, int exp);

#endif

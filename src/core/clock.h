/* SPDX-License-Identifier: MIT */
/*
 * clock.h -- wall-clock time in milliseconds and its RFC 3339 text form, plus
 * calendar-date checks used by validation.
 */
#ifndef ORDERD_CLOCK_H
#define ORDERD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOCK_RFC3339_LEN 25 /* "2026-11-23T14:00:00.123Z" + NUL */

int64_t clock_now_ms(void);
/* Monotonic microseconds, for durations. */
int64_t clock_mono_us(void);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least CLOCK_RFC3339_LEN bytes). */
void clock_format_ms(int64_t ms, char *out);
/* Parses RFC 3339 ("2026-11-23T14:00:00Z", fraction and offsets allowed) or a decimal
 * count of Unix seconds. Returns 0 and sets *ms, or -1. */
int clock_parse(const char *s, int64_t *ms);
/* True for an existing calendar date "YYYY-MM-DD" (years 1900..9999); sets *days since
 * 1970-01-01 when days is not NULL. */
bool clock_date_valid(const char *s, int64_t *days);

#endif

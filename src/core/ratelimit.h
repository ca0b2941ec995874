/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.h -- per-key token buckets. Every authenticated request takes one token
 * from its key's bucket; an empty bucket means 429 with Retry-After. The table is
 * process-wide and shared by every HTTP thread (sharded locks); several orderd
 * processes each hold their own buckets (README: "Rate limits").
 *
 * A bucket remembers its policy (rate and burst, from the org's settings) for
 * RATELIMIT_POLICY_TTL_MS, so a setting change reaches a running server within that
 * time without a settings read on every request.
 */
#ifndef ORDERD_RATELIMIT_H
#define ORDERD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ids.h"

#define RATELIMIT_POLICY_TTL_MS 5000
#define RATELIMIT_MAX           1000000 /* largest rate or burst a setting accepts */

/* rate tokens per second, up to burst tokens saved; rate 0: unlimited. */
struct ratelimit_policy {
    uint32_t rate;
    uint32_t burst;
};

/* What the response headers say: the bucket after this request. limit 0: no limit
 * applied (no headers). */
struct ratelimit_verdict {
    uint32_t limit;       /* the burst: requests allowed at once */
    uint32_t remaining;   /* tokens left */
    uint32_t reset_s;     /* seconds until the bucket is full again */
    uint32_t window_s;    /* burst / rate, rounded up: the policy's window */
    uint32_t retry_after; /* when limited: seconds until one token is back (>= 1) */
};

enum ratelimit_rc { RL_OK = 0, RL_LIMITED = 1, RL_NEED_POLICY = 2 };

struct ratelimit;

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Takes a token from key's bucket at now_us (monotonic). With policy NULL the bucket's
 * remembered policy is used, or RL_NEED_POLICY is returned when there is none or it is
 * older than RATELIMIT_POLICY_TTL_MS; the caller then reads it and calls again with it.
 * Fills v (zeroed when the policy is unlimited). */
enum ratelimit_rc ratelimit_take(struct ratelimit *rl, const uint8_t key[32],
                                 const struct ratelimit_policy *policy, int64_t now_us,
                                 struct ratelimit_verdict *v);

/* The default policy of a key kind (README: secret 100/s burst 500, publishable 10/s
 * burst 50). */
void ratelimit_default(enum key_kind kind, struct ratelimit_policy *p);
/* Parses a setting value "RATE", "RATE,BURST" or "off" into p; writes the normalised
 * text to norm. Returns 0, or -1 with a message in err. */
int ratelimit_parse(const char *text, struct ratelimit_policy *p, char *norm, size_t normlen,
                    char *err, size_t errlen);

#endif

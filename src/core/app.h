/* SPDX-License-Identifier: MIT */
/*
 * app.h -- process-wide state handed to every request: the store, the master key and
 * the in-flight idempotency keys, the rate limits. Immutable after start-up except where locked.
 */
#ifndef ORDERD_APP_H
#define ORDERD_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/crypto.h"

struct store;
struct idem_inflight;
struct ratelimit;

struct app {
    struct store *store;
    uint8_t master[CRYPTO_MASTER_LEN];
    bool access_log;
    struct idem_inflight *inflight;
    struct ratelimit *ratelimit; /* per-key buckets; NULL: no limits (CLI) */
};

#endif

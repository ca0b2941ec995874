/* SPDX-License-Identifier: MIT */
/*
 * metrics.h -- process-wide counters for GET /metrics (Prometheus text format 0.0.4).
 * Recording is lock-free on the hot paths (atomics); the per-route series live in a
 * fixed table claimed once per (api, route, method, status). Only aggregates are kept:
 * no org, key or order ever becomes a label.
 */
#ifndef ORDERD_METRICS_H
#define ORDERD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* One answered HTTP request. api and route are static strings (NULL: unmatched). */
void metrics_http(const char *api, const char *route, const char *method, int status,
                  int64_t latency_us);
/* One group-commit transaction of n writes; ok is false when COMMIT failed. */
void metrics_commit(int n, int ok);
/* The store's writes started (1) or stopped (0) failing for want of the database. */
void metrics_store_failing(int failing);
/* Writes waiting for the committer: +1 on submit, -n when a batch is taken. */
void metrics_queue_add(int delta);
/* One webhook delivery attempt: outcome "delivered", "failed" or "abandoned". */
void metrics_webhook(const char *outcome);
/* One run of an API's settlement job that settled n groups. */
void metrics_settlement(int n);
/* An HTTP connection opened (+1) or closed (-1). */
void metrics_conn_open(int delta);
/* A connection closed by the reaper: too slow sending its headers, or its body. */
void metrics_conn_reaped(int body);
/* What is read from the store at each scrape rather than counted in this process. */
struct metrics_scrape {
    bool backlog_ok; /* false: the store did not answer; the backlog series is left out */
    int64_t wh_pending, wh_retrying; /* webhook deliveries not yet attempted / to retry */
};

/* Appends the whole exposition to b. */
void metrics_render(struct buf *b, const struct metrics_scrape *sc);

#endif

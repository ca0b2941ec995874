/* SPDX-License-Identifier: MIT */
/*
 * orderio.h -- bulk import of orders (`orderd import`). Each input line is one order in
 * the /v1 create format or in the export format (the /v1 order object, as `orderd
 * export` writes it). A line is checked by order_validate_create and written by
 * svc_order_create, like POST /v1/orders: the same rules and error codes, the same
 * order.created event. Many creates are kept in flight at once, so that the store's
 * committer batches them into few fsync'd transactions (group commit).
 *
 * Export format: `id`, `short_id`, `created_at`, `status` (any of the four),
 * `canceled_at`, `cancellation_reason`, `dialect` and the dialect's own block are kept;
 * `object`, `livemode`, `mode`, `version`, `updated_at`, `subtotal_amount` and each
 * line's `amount` are recomputed. Idempotency: a line whose `external_id` (create
 * format) or `id` (export format) already exists in the org and mode is skipped as
 * "existing"; a create-format line without `external_id` is refused.
 *
 * Threads: every call is made from one thread (the caller's), and reports are made on
 * it too; the committer thread only queues completions.
 */
#ifndef ORDERD_ORDERIO_H
#define ORDERD_ORDERIO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/app.h"
#include "core/ids.h"
#include "core/problem.h"

enum orderio_outcome { ORDERIO_CREATED, ORDERIO_EXISTING, ORDERIO_FAILED };

/* What became of one line. */
struct orderio_report {
    long line;
    enum orderio_outcome outcome;
    char order_id[IDS_UUID_LEN]; /* created or existing: the order ("" when unknown) */
    /* ORDERIO_FAILED: the answer POST /v1/orders would give */
    int status;
    const char *code; /* static: a stable /v1 problem code */
    char detail[256];
    const struct problems *fields; /* validation_failed: the field errors, else NULL */
};

struct orderio_opts {
    struct app *app; /* store and in-flight set */
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char request_id[IDS_REQUEST_LEN]; /* the order.created events' request id */
    /* Is name an API whose orders may be imported (their `dialect`)? */
    bool (*dialect_known)(const char *name);
    /* Called once per line, on the caller's thread. */
    void (*report)(void *arg, const struct orderio_report *r);
    void *arg;
};

struct orderio_import;

/* NULL on OOM. */
struct orderio_import *orderio_import_new(const struct orderio_opts *o);
/* Imports one line (text without its newline; it may hold NUL bytes). Blocks while the
 * window of creates in flight is full. Reports may come from this call or a later one. */
void orderio_import_line(struct orderio_import *im, long line, const char *text, size_t len);
/* Reports a line longer than the API's body limit, which the reader skipped. */
void orderio_import_too_long(struct orderio_import *im, long line, size_t len);
/* Waits for every create in flight and reports it. */
void orderio_import_finish(struct orderio_import *im);
/* Finishes (if needed) and frees. */
void orderio_import_free(struct orderio_import *im);

#endif

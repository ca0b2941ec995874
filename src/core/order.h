/* SPDX-License-Identifier: MIT */
/*
 * order.h -- the order model. An order is stored as its canonical JSON document (the
 * /v1 representation, see docs/api-v1.md) plus the scalar columns the store indexes
 * (struct order_row). Every API builds a canonical create document and passes it
 * through order_validate_create, so the rules live here once.
 */
#ifndef ORDERD_ORDER_H
#define ORDERD_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/jsonx.h"
#include "core/problem.h"
#include "store/store.h"

/* Validates a create document in the canonical shape. On success (0) *out is a new
 * canonical order object (every field present, amounts computed; no ids, version or
 * times yet) and row's currency, total_amount, status, external_id and customer_email
 * are set. On failure (-1) p holds field errors. */
int order_validate_create(const struct jsonx *in, struct problems *p, struct jsonx **out,
                          struct order_row *row);

/* Gives the validated order its identity: id, short id, org, mode, dialect, version 1,
 * timestamps; renders row->body. Returns 0 or -1 (OOM). canon is updated in place. */
int order_finalize_new(struct jsonx *canon, struct order_row *row, const char *org_id,
                       enum key_mode mode, const char *dialect, int64_t now_ms);

/* New short id for an order whose short id collided; re-renders row->body. */
int order_reshort(struct order_row *row);

/* Validates a PATCH document. Returns 0 or -1 with field errors. */
int order_validate_patch(const struct jsonx *patch, struct problems *p);

/* Applies a validated patch to the current row into next (a copy of cur): returns 1
 * when something changed (version + 1, updated_at, body re-rendered), 0 when nothing
 * did, -1 on an illegal status change, -2 on OOM. *event_type is set to
 * "order.updated" or "order.canceled". */
int order_apply_patch(const struct order_row *cur, const struct jsonx *patch,
                      struct order_row *next, int64_t now_ms, const char **event_type);

/* Parses row's stored body into a new document (for an API's own change). */
struct jsonx *order_doc(const struct order_row *row);
/* Makes doc (a changed copy of the order document) the new state of next: status,
 * currency, total_amount and customer e-mail columns from doc, version + 1, updated_at,
 * body re-rendered. Returns 1, or -2 on OOM. */
int order_commit_doc(struct jsonx *doc, struct order_row *next, int64_t now_ms);

/* Cancels: 1 changed, 0 already canceled, -1 not cancelable (fulfilled), -2 OOM. */
int order_cancel(const struct order_row *cur, const char *reason, struct order_row *next,
                 int64_t now_ms);

/* Status machine: may an order go from `from` to `to`? */
bool order_transition_ok(const char *from, const char *to);
bool order_status_valid(const char *s);

#endif

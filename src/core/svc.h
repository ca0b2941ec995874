/* SPDX-License-Identifier: MIT */
/*
 * svc.h -- the order write service shared by every API: create and change orders
 * through the store's committer, with idempotency keys, events in the same
 * transaction, and an answer only once the transaction is durable.
 *
 * A caller (an API dialect) validates its input into the canonical form, then calls
 * svc_order_create / svc_order_change with hooks that render its own success body
 * (ok) and its own error bodies (err). Both return REQ_PENDING when the request was
 * suspended (the answer comes later on the committer thread via req->resume) or
 * REQ_DONE when it was answered at once.
 */
#ifndef ORDERD_SVC_H
#define ORDERD_SVC_H

#include "core/jsonx.h"
#include "core/req.h"
#include "store/store.h"

enum svc_err {
    SVC_EXTERNAL_ID_CONFLICT, /* info.existing_id */
    SVC_IDEM_BAD_KEY,
    SVC_IDEM_IN_USE,
    SVC_IDEM_MISMATCH,
    SVC_NOT_FOUND,
    SVC_INVALID_TRANSITION, /* info.status: the current status */
    SVC_VERSION_CONFLICT,   /* info.current_version */
    SVC_PRECONDITION,       /* info.current_version */
    SVC_UNAVAILABLE,
    SVC_INTERNAL,
    SVC_HOOK_FAILED, /* a dialect's before/after hook undid the write: its tx_arg says why */
};

struct svc_info {
    char existing_id[IDS_UUID_LEN];
    int64_t current_version;
    char status[16];
};

struct svc_hooks {
    /* Renders the success answer for row into req->resp. For a create it runs inside
     * the write transaction, after `after`, so it may use what the hooks wrote. */
    void (*ok)(struct req *req, const struct order_row *row, bool created, void *arg);
    /* Renders an error answer into req->resp. */
    void (*err)(struct req *req, enum svc_err err, const struct svc_info *info, void *arg);
    void *arg;
    /* Optional: the dialect's own rows, written in the same transaction as the order
     * (store.h: store_write.before/after), with tx_arg. */
    store_tx_fn before, after;
    void *tx_arg;
    /* Optional, creates only: runs in the same transaction after `before`, with the row
     * about to be inserted (id, short id and body final). It may rewrite row->body (e.g.
     * to add a number allocated in the transaction to the dialect's data); the
     * order.created event is then rebuilt from it. Any result but STORE_OK undoes the
     * write (SVC_HOOK_FAILED). */
    enum store_rc (*before_row)(struct store_conn *c, struct order_row *row, void *tx_arg);
    /* Optional: called exactly once per svc_order_create / svc_order_change call, after
     * the last ok/err call, so that a dialect can free what arg and tx_arg point to. */
    void (*release)(void *arg);
};

/* What a change does to the current order. */
struct svc_change {
    enum { SVC_PATCH, SVC_CANCEL, SVC_CUSTOM } kind;
    struct jsonx *patch; /* SVC_PATCH: validated patch (taken) */
    char *reason;        /* SVC_CANCEL: optional (taken) */
    /* SVC_CUSTOM: an API's own change, run inside the transaction on the current row.
     * Returns 1 when it changed next (use order_commit_doc), 0 for no change, -1 for
     * an illegal change (answered SVC_INVALID_TRANSITION), -2 on failure. Sets
     * *event_type ("order.updated" by default). mutate_arg lives until the answer. */
    int (*mutate)(void *arg, const struct order_row *cur, struct order_row *next,
                  const char **event_type);
    void *mutate_arg;
    int64_t if_match;         /* > 0: If-Match version */
    int64_t expected_version; /* > 0: body "version" */
};

struct idem_inflight;

struct idem_inflight *svc_inflight_new(void);
void svc_inflight_free(struct idem_inflight *set);

/* canon and row are taken (validated by order_validate_create). The hooks struct is
 * copied; hooks->arg and hooks->tx_arg must live until the answer is sent. */
enum req_result svc_order_create(struct req *req, struct jsonx *canon, struct order_row *row,
                                 const char *dialect, const struct svc_hooks *hooks);
/* Applies change to the order ref (id or short id) of the caller's org and mode. change
 * members are taken. */
enum req_result svc_order_change(struct req *req, const char *ref, struct svc_change *change,
                                 const struct svc_hooks *hooks);

#endif

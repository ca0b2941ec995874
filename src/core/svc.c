/* SPDX-License-Identifier: MIT */
/*
 * svc.c -- order writes (svc.h).
 *
 * Idempotency: a key is first claimed in this process's in-flight set (a second
 * request with the key while the first runs gets SVC_IDEM_IN_USE); then a stored
 * record is looked up (replay, or SVC_IDEM_MISMATCH); else the write runs and its 2xx
 * answer is inserted with it in the same transaction. Across processes the primary key
 * on (org, mode, key) decides: the loser's write is rolled back and it replays the
 * winner's record.
 */
#include "core/svc.h"

#include "core/app.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/order.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFLIGHT_BUCKETS 256
#define SHORT_ID_RETRIES 5

struct inflight_slot {
    struct inflight_slot *next;
    char key[]; /* "org|mode|key" */
};

struct idem_inflight {
    pthread_mutex_t lock;
    struct inflight_slot *b[INFLIGHT_BUCKETS];
};

struct op {
    struct store_write w;
    struct req *req;
    struct svc_hooks hooks;
    struct order_row row;
    struct event_row ev;
    struct idem_row idem;
    bool has_idem;
    char slot[IDS_ORG_LEN + LIMIT_IDEM_KEY_LEN + 8];
    int attempts;
    /* change */
    struct svc_change change;
    enum svc_err abort_err;
    struct svc_info info;
};

struct idem_inflight *
svc_inflight_new(void)
{
    struct idem_inflight *s = calloc(1, sizeof *s);

    if (s != NULL)
        pthread_mutex_init(&s->lock, NULL);
    return s;
}

void
svc_inflight_free(struct idem_inflight *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < INFLIGHT_BUCKETS; i++) {
        while (s->b[i] != NULL) {
            struct inflight_slot *n = s->b[i]->next;
            free(s->b[i]);
            s->b[i] = n;
        }
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static unsigned
slot_hash(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % INFLIGHT_BUCKETS;
}

/* Claims key; false when already claimed (or OOM). */
static bool
inflight_add(struct idem_inflight *s, const char *key)
{
    unsigned h = slot_hash(key);
    struct inflight_slot *p;
    bool ok = true;

    pthread_mutex_lock(&s->lock);
    for (p = s->b[h]; p != NULL && ok; p = p->next)
        ok = strcmp(p->key, key) != 0;
    if (ok) {
        p = malloc(sizeof *p + strlen(key) + 1);
        if (p == NULL) {
            ok = false;
        } else {
            memcpy(p->key, key, strlen(key) + 1);
            p->next = s->b[h];
            s->b[h] = p;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void
inflight_remove(struct idem_inflight *s, const char *key)
{
    unsigned h = slot_hash(key);
    struct inflight_slot **pp, *p;

    pthread_mutex_lock(&s->lock);
    for (pp = &s->b[h]; (p = *pp) != NULL; pp = &p->next) {
        if (strcmp(p->key, key) == 0) {
            *pp = p->next;
            free(p);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void
op_free(struct op *op)
{
    if (op->slot[0] != '\0')
        inflight_remove(op->req->app->inflight, op->slot);
    order_row_free(&op->row);
    event_row_free(&op->ev);
    idem_row_free(&op->idem);
    idem_row_free(&op->w.existing);
    jsonx_free(op->change.patch);
    free(op->change.reason);
    if (op->hooks.release != NULL)
        op->hooks.release(op->hooks.arg);
    free(op);
}

static void
fingerprint(const struct req *req, const char *endpoint, uint8_t out[CRYPTO_HASH_LEN])
{
    uint8_t ctx[CRYPTO_HASH_LEN * 2];

    crypto_sha256(endpoint, strlen(endpoint), ctx);
    crypto_sha256(req->body ? req->body : "", req->body_len, ctx + CRYPTO_HASH_LEN);
    crypto_sha256(ctx, sizeof ctx, out);
}

/* Puts a stored answer back into req->resp. */
static void
replay(struct req *req, const struct idem_row *r)
{
    static const char *const names[] = {"Location", "ETag"};
    struct jsonx_error jerr;
    struct jsonx *h = jsonx_parse(r->headers, strlen(r->headers), 4, &jerr);
    char *body = strdup(r->body);

    resp_clear(&req->resp);
    resp_json(&req->resp, r->status, body, body ? strlen(body) : 0);
    for (size_t i = 0; h != NULL && i < sizeof names / sizeof names[0]; i++) {
        const struct jsonx *v = jsonx_get(h, names[i]);
        if (v != NULL && jsonx_type(v) == JX_STRING)
            resp_header(&req->resp, names[i], jsonx_str(v));
    }
    resp_header(&req->resp, "Idempotent-Replayed", "true");
    jsonx_free(h);
}

/* Stored record vs this request: replay it, or the key was reused for another one. */
static void
replay_or_mismatch(struct op *op, const struct idem_row *stored)
{
    if (strcmp(stored->endpoint, op->idem.endpoint) == 0 &&
        crypto_equal(stored->fingerprint, op->idem.fingerprint, CRYPTO_HASH_LEN))
        replay(op->req, stored);
    else
        op->hooks.err(op->req, SVC_IDEM_MISMATCH, &op->info, op->hooks.arg);
}

/* Reads the Idempotency-Key and prepares op->idem. Returns 0 to go on, 1 when the
 * request was answered (bad key, in use, replay, mismatch). */
static int
idem_begin(struct op *op, const char *endpoint)
{
    struct req *req = op->req;
    const char *key = req_header(req, "Idempotency-Key");
    struct idem_row stored;
    enum store_rc rc;
    size_t n;

    if (key == NULL)
        return 0;
    n = strlen(key);
    if (n == 0 || n > LIMIT_IDEM_KEY_LEN ||
        strspn(key, " !\"#$%&'()*+,-./0123456789:;<=>?@"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                    "abcdefghijklmnopqrstuvwxyz{|}~") != n) {
        op->hooks.err(req, SVC_IDEM_BAD_KEY, &op->info, op->hooks.arg);
        return 1;
    }
    op->has_idem = true;
    memcpy(op->idem.org_id, req->auth.org_id, sizeof op->idem.org_id);
    op->idem.mode = req->auth.mode;
    op->idem.key = strdup(key);
    snprintf(op->idem.endpoint, sizeof op->idem.endpoint, "%s", endpoint);
    fingerprint(req, endpoint, op->idem.fingerprint);
    snprintf(op->slot, sizeof op->slot, "%s|%d|%s", req->auth.org_id, (int)req->auth.mode, key);
    if (op->idem.key == NULL || !inflight_add(req->app->inflight, op->slot)) {
        op->slot[0] = '\0'; /* not ours to remove */
        op->hooks.err(req, SVC_IDEM_IN_USE, &op->info, op->hooks.arg);
        return 1;
    }
    rc = req->app->store->ops->idem_get(req->app->store, req->auth.org_id, req->auth.mode, key,
                                        &stored);
    if (rc == STORE_OK) {
        replay_or_mismatch(op, &stored);
        idem_row_free(&stored);
        return 1;
    }
    if (rc != STORE_NOT_FOUND) {
        op->hooks.err(req, SVC_UNAVAILABLE, &op->info, op->hooks.arg);
        return 1;
    }
    return 0;
}

/* Snapshot of the rendered 2xx answer into the idempotency record. */
static int
idem_capture(struct op *op)
{
    struct resp *r = &op->req->resp;
    struct jsonx *h;
    const char *v;

    if (!op->has_idem)
        return 0;
    h = jsonx_object();
    if ((v = resp_header_get(r, "Location")) != NULL)
        jsonx_set_str(h, "Location", v);
    if ((v = resp_header_get(r, "ETag")) != NULL)
        jsonx_set_str(h, "ETag", v);
    free(op->idem.headers);
    free(op->idem.body);
    op->idem.headers = jsonx_dump(h, NULL);
    op->idem.body = r->body ? strndup(r->body, r->body_len) : strdup("");
    op->idem.status = r->status;
    op->idem.created_ms = clock_now_ms();
    jsonx_free(h);
    return op->idem.headers && op->idem.body ? 0 : -1;
}

static void
event_fill(struct event_row *ev, const struct order_row *row, const char *type,
           const char *request_id)
{
    free(ev->data);
    memset(ev, 0, sizeof *ev);
    ids_event(row->updated_ms, ev->id);
    memcpy(ev->org_id, row->org_id, sizeof ev->org_id);
    ev->mode = row->mode;
    snprintf(ev->type, sizeof ev->type, "%s", type);
    memcpy(ev->order_id, row->id, sizeof ev->order_id);
    ev->created_ms = row->updated_ms;
    snprintf(ev->request_id, sizeof ev->request_id, "%s", request_id);
    ev->data = strndup(row->body, row->body_len);
}

/* Common tail of both writes, on the committer thread. */
static void
finish(struct op *op)
{
    struct req *req = op->req;
    struct store_write *w = &op->w;

    if (w->rc == STORE_CONFLICT && w->conflict == SC_IDEMPOTENCY) {
        replay_or_mismatch(op, &w->existing);
    } else if (w->rc != STORE_OK && w->rc != STORE_UNAVAILABLE && w->hook_code != 0) {
        resp_clear(&req->resp);
        op->hooks.err(req, SVC_HOOK_FAILED, &op->info, op->hooks.arg);
    } else if (w->rc == STORE_CONFLICT && w->conflict == SC_EXTERNAL_ID) {
        memcpy(op->info.existing_id, w->conflict_id, sizeof op->info.existing_id);
        resp_clear(&req->resp);
        op->hooks.err(req, SVC_EXTERNAL_ID_CONFLICT, &op->info, op->hooks.arg);
    } else if (w->rc == STORE_NOT_FOUND) {
        resp_clear(&req->resp);
        op->hooks.err(req, SVC_NOT_FOUND, &op->info, op->hooks.arg);
    } else if (w->rc == STORE_UNAVAILABLE) {
        resp_clear(&req->resp);
        op->hooks.err(req, SVC_UNAVAILABLE, &op->info, op->hooks.arg);
    } else if (w->rc != STORE_OK) {
        log_error("%s: store write failed (rc %d, conflict %d)", req->id, (int)w->rc,
                  (int)w->conflict);
        resp_clear(&req->resp);
        op->hooks.err(req, SVC_INTERNAL, &op->info, op->hooks.arg);
    } else if (w->kind == SW_ORDER_MUTATE && w->mutate_result == STORE_MUTATE_ABORT) {
        resp_clear(&req->resp);
        op->hooks.err(req, op->abort_err, &op->info, op->hooks.arg);
    }
    op_free(op);
    req->resume(req);
}

/* Inside the transaction: the dialect's hook first. */
static enum store_rc
svc_before(struct store_conn *c, void *arg)
{
    struct op *op = arg;
    enum store_rc rc;

    if (op->hooks.before != NULL && (rc = op->hooks.before(c, op->hooks.tx_arg)) != STORE_OK)
        return rc;
    if (op->w.kind != SW_ORDER_INSERT || op->hooks.before_row == NULL)
        return STORE_OK;
    if ((rc = op->hooks.before_row(c, &op->row, op->hooks.tx_arg)) != STORE_OK)
        return rc;
    event_fill(&op->ev, &op->row, "order.created", op->req->id);
    return op->ev.data != NULL ? STORE_OK : STORE_FAIL;
}

/* Inside the transaction, once the order row and its event are written: the dialect's
 * hook, then the answer and its idempotency snapshot. */
static enum store_rc
svc_after_create(struct store_conn *c, void *arg)
{
    struct op *op = arg;
    enum store_rc rc;

    if (op->hooks.after != NULL && (rc = op->hooks.after(c, op->hooks.tx_arg)) != STORE_OK)
        return rc;
    resp_clear(&op->req->resp);
    op->hooks.ok(op->req, &op->row, true, op->hooks.arg);
    return idem_capture(op) == 0 ? STORE_OK : STORE_FAIL;
}

static enum store_rc
svc_after_change(struct store_conn *c, void *arg)
{
    struct op *op = arg;

    return op->hooks.after != NULL ? op->hooks.after(c, op->hooks.tx_arg) : STORE_OK;
}

static void
create_done(struct store_write *w)
{
    struct op *op = w->arg;

    if (w->rc == STORE_CONFLICT && w->conflict == SC_SHORT_ID &&
        ++op->attempts < SHORT_ID_RETRIES && order_reshort(&op->row) == 0) {
        event_fill(&op->ev, &op->row, "order.created", op->req->id);
        if (op->ev.data != NULL) {
            store_submit(op->req->app->store, w);
            return;
        }
        w->rc = STORE_FAIL;
    }
    finish(op);
}

static struct op *
op_new(struct req *req, const struct svc_hooks *hooks)
{
    struct op *op = calloc(1, sizeof *op);

    if (op != NULL) {
        op->req = req;
        op->hooks = *hooks;
        op->w.arg = op;
    }
    return op;
}

enum req_result
svc_order_create(struct req *req, struct jsonx *canon, struct order_row *row, const char *dialect,
                 const struct svc_hooks *hooks)
{
    struct op *op = op_new(req, hooks);
    char endpoint[96];

    if (op == NULL) {
        hooks->err(req, SVC_INTERNAL, NULL, hooks->arg);
        if (hooks->release != NULL)
            hooks->release(hooks->arg);
        jsonx_free(canon);
        order_row_free(row);
        return REQ_DONE;
    }
    op->row = *row;
    memset(row, 0, sizeof *row);
    snprintf(endpoint, sizeof endpoint, "%s %s", req->method, req->path);
    if (idem_begin(op, endpoint) != 0)
        goto answered;
    if (order_finalize_new(canon, &op->row, req->auth.org_id, req->auth.mode, dialect,
                           clock_now_ms()) != 0)
        goto oom;
    event_fill(&op->ev, &op->row, "order.created", req->id);
    if (op->ev.data == NULL)
        goto oom;
    jsonx_free(canon);
    op->w.kind = SW_ORDER_INSERT;
    op->w.order = &op->row;
    op->w.event = &op->ev;
    op->w.idem = op->has_idem ? &op->idem : NULL;
    op->w.before = svc_before;
    op->w.after = svc_after_create;
    op->w.hook_arg = op;
    /* without dialect hooks they only render the answer */
    op->w.hooks_no_sql =
        op->hooks.before == NULL && op->hooks.before_row == NULL && op->hooks.after == NULL;
    op->w.done = create_done;
    req->suspend(req); /* before submit: the answer may come at once */
    store_submit(req->app->store, &op->w);
    return REQ_PENDING;
oom:
    resp_clear(&req->resp);
    hooks->err(req, SVC_INTERNAL, &op->info, hooks->arg);
answered:
    jsonx_free(canon);
    op_free(op);
    return REQ_DONE;
}

/* On the committer thread, inside the transaction. */
static enum store_mutate
change_mutate(void *arg, const struct order_row *cur, struct order_row *next)
{
    struct op *op = arg;
    struct svc_change *c = &op->change;
    const char *type = "order.updated";
    int rc;

    op->info.current_version = cur->version;
    snprintf(op->info.status, sizeof op->info.status, "%s", cur->status);
    if (c->if_match > 0 && c->if_match != cur->version) {
        op->abort_err = SVC_PRECONDITION;
        return STORE_MUTATE_ABORT;
    }
    if (c->expected_version > 0 && c->expected_version != cur->version) {
        op->abort_err = SVC_VERSION_CONFLICT;
        return STORE_MUTATE_ABORT;
    }
    if (c->kind == SVC_CANCEL) {
        rc = order_cancel(cur, c->reason, next, clock_now_ms());
        type = "order.canceled";
    } else if (c->kind == SVC_CUSTOM) {
        rc = c->mutate(c->mutate_arg, cur, next, &type);
    } else {
        rc = order_apply_patch(cur, c->patch, next, clock_now_ms(), &type);
    }
    if (rc < 0) {
        op->abort_err = rc == -1 ? SVC_INVALID_TRANSITION : SVC_INTERNAL;
        return STORE_MUTATE_ABORT;
    }
    resp_clear(&op->req->resp);
    op->hooks.ok(op->req, rc == 1 ? next : cur, false, op->hooks.arg);
    if (idem_capture(op) != 0) {
        op->abort_err = SVC_INTERNAL;
        return STORE_MUTATE_ABORT;
    }
    if (rc == 0)
        return STORE_MUTATE_NOOP;
    event_fill(&op->ev, next, type, op->req->id);
    if (op->ev.data == NULL) {
        op->abort_err = SVC_INTERNAL;
        return STORE_MUTATE_ABORT;
    }
    return STORE_MUTATE_WRITE;
}

static void
change_done(struct store_write *w)
{
    finish(w->arg);
}

enum req_result
svc_order_change(struct req *req, const char *ref, struct svc_change *change,
                 const struct svc_hooks *hooks)
{
    struct op *op = op_new(req, hooks);
    char endpoint[96];

    if (op == NULL) {
        hooks->err(req, SVC_INTERNAL, NULL, hooks->arg);
        if (hooks->release != NULL)
            hooks->release(hooks->arg);
        jsonx_free(change->patch);
        free(change->reason);
        return REQ_DONE;
    }
    op->change = *change;
    memset(change, 0, sizeof *change);
    snprintf(endpoint, sizeof endpoint, "%s %s", req->method, req->path);
    if (idem_begin(op, endpoint) != 0) {
        op_free(op);
        return REQ_DONE;
    }
    op->w.kind = SW_ORDER_MUTATE;
    memcpy(op->w.org_id, req->auth.org_id, sizeof op->w.org_id);
    op->w.mode = req->auth.mode;
    op->w.ref = ref;
    op->w.mutate = change_mutate;
    op->w.mutate_arg = op;
    op->w.event = &op->ev;
    op->w.idem = op->has_idem ? &op->idem : NULL;
    op->w.before = svc_before;
    op->w.after = svc_after_change;
    op->w.hook_arg = op;
    op->w.done = change_done;
    req->suspend(req);
    store_submit(req->app->store, &op->w);
    return REQ_PENDING;
}

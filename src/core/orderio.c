/* SPDX-License-Identifier: MIT */
/*
 * orderio.c -- bulk import (orderio.h). A line becomes a canonical create document (the
 * export format's read-only members checked and taken aside), passes
 * order_validate_create, and goes to svc_order_create on a request of its own (POST
 * /v1/orders with the org's secret-key identity, no HTTP behind it). For an export-format
 * line a before_row hook puts the kept id, short id and creation time back inside the
 * transaction, so the order.created event carries them. A window of ORDERIO_WINDOW such
 * requests is in flight; the committer hands finished ones back through a list under a
 * mutex, and the caller's thread reports them.
 */
#include "core/orderio.h"

#include "core/clock.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/order.h"
#include "core/svc.h"
#include "core/validate.h"
#include "store/store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDERIO_WINDOW 1024 /* creates in flight: four full commit batches */

/* One create in flight. req is the first member: the committer's resume call gets it. */
struct slot {
    struct req req;
    struct orderio_import *im;
    struct slot *next; /* the free list or the done list */
    long line;
    bool keep;                    /* export format: the hook restores what follows */
    char id[IDS_UUID_LEN];        /* the exported id; "": keep the new one */
    char short_id[IDS_SHORT_LEN]; /* "": keep the new one */
    int64_t created_ms;
    int attempts; /* before_row calls (a short id collision retries the write) */
    /* the outcome, set by the hooks on the committer thread */
    int status;
    const char *code;
    char detail[128];
    char order_id[IDS_UUID_LEN];
};

struct orderio_import {
    struct orderio_opts o;
    struct slot *slots;
    struct slot *free_slots; /* caller's thread only */
    int in_flight;           /* caller's thread only */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct slot *done; /* under lock: finished, newest first */
};

/* One line made ready for svc_order_create. */
struct prep {
    struct jsonx *canon; /* owned until submitted */
    struct order_row row;
    char dialect[16];
    bool keep; /* export format */
    char id[IDS_UUID_LEN];
    char short_id[IDS_SHORT_LEN];
    int64_t created_ms;
    char status[16];      /* "": the validated one */
    int64_t canceled_ms;  /* 0: null */
    struct jsonx *reason; /* owned: cancellation_reason string, or NULL */
    struct jsonx *block;  /* owned: the dialect's own data, or NULL */
    bool empty_cart;      /* a Threekit order without lines */
};

static void prep_free(struct prep *pp);

static void fail(struct orderio_import *im, long line, int status, const char *code,
                 const struct problems *fields, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
fail(struct orderio_import *im, long line, int status, const char *code,
     const struct problems *fields, const char *fmt, ...)
{
    struct orderio_report r;
    va_list ap;

    memset(&r, 0, sizeof r);
    r.line = line;
    r.outcome = ORDERIO_FAILED;
    r.status = status;
    r.code = code;
    r.fields = fields;
    va_start(ap, fmt);
    vsnprintf(r.detail, sizeof r.detail, fmt, ap);
    va_end(ap);
    im->o.report(im->o.arg, &r);
}

static void
existing(struct orderio_import *im, long line, const char *id)
{
    struct orderio_report r;

    memset(&r, 0, sizeof r);
    r.line = line;
    r.outcome = ORDERIO_EXISTING;
    snprintf(r.order_id, sizeof r.order_id, "%s", id);
    im->o.report(im->o.arg, &r);
}

/* ---- the request each create runs on ---- */

static const char *
no_header(struct req *req, const char *name)
{
    (void)req;
    (void)name;
    return NULL;
}

static void
no_suspend(struct req *req)
{
    (void)req;
}

/* On the committer thread once the create is durable or failed (or at once). */
static void
slot_resume(struct req *req)
{
    struct slot *s = (struct slot *)req; /* req is the first member */
    struct orderio_import *im = s->im;

    pthread_mutex_lock(&im->lock);
    s->next = im->done;
    im->done = s;
    pthread_cond_signal(&im->cond);
    pthread_mutex_unlock(&im->lock);
}

static void
hook_ok(struct req *req, const struct order_row *row, bool created, void *arg)
{
    struct slot *s = arg;

    (void)req;
    s->status = created ? 201 : 200;
    s->code = NULL;
    memcpy(s->order_id, row->id, sizeof s->order_id);
}

/* The /v1 answer for each error a create can meet (api/v1.c's v1_err). */
static void
hook_err(struct req *req, enum svc_err err, const struct svc_info *info, void *arg)
{
    struct slot *s = arg;

    s->order_id[0] = '\0';
    if (err == SVC_EXTERNAL_ID_CONFLICT && info != NULL) {
        s->status = 409;
        s->code = "external_id_conflict";
        snprintf(s->detail, sizeof s->detail, "an order with this external_id already exists");
        memcpy(s->order_id, info->existing_id, sizeof s->order_id);
    } else if (err == SVC_UNAVAILABLE) {
        s->status = 503;
        s->code = "store_unavailable";
        snprintf(s->detail, sizeof s->detail, "the order store is unavailable; retry");
    } else {
        s->status = 500;
        s->code = "internal_error";
        snprintf(s->detail, sizeof s->detail, "internal error; quote request id %s", req->id);
    }
}

/* Inside the create's transaction: the kept identity replaces the new one. */
static enum store_rc
hook_before_row(struct store_conn *c, struct order_row *row, void *tx_arg)
{
    struct slot *s = tx_arg;
    struct jsonx *doc;
    char ts[CLOCK_RFC3339_LEN], *body = NULL;
    size_t len = 0;

    (void)c;
    if (s->id[0] != '\0')
        memcpy(row->id, s->id, sizeof row->id);
    /* a retry after a short id collision keeps the new short id svc picked */
    if (s->attempts++ == 0 && s->short_id[0] != '\0')
        memcpy(row->short_id, s->short_id, sizeof row->short_id);
    row->created_ms = s->created_ms;
    clock_format_ms(row->created_ms, ts);
    /* the keys exist already: setting them keeps their place in the body */
    if ((doc = order_doc(row)) != NULL) {
        jsonx_set_str(doc, "id", row->id);
        jsonx_set_str(doc, "short_id", row->short_id);
        jsonx_set_str(doc, "created_at", ts);
        body = jsonx_dump(doc, &len);
        jsonx_free(doc);
    }
    if (body != NULL) {
        free(row->body);
        row->body = body;
        row->body_len = len;
    }
    return body != NULL ? STORE_OK : STORE_FAIL;
}

/* ---- lines ---- */

static bool
blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* The string member key of in: NULL when absent or null; *bad when another type. */
static const char *
opt_str(const struct jsonx *in, const char *key, bool *bad)
{
    const struct jsonx *v = jsonx_get(in, key);
    bool present = v != NULL && jsonx_type(v) != JX_NULL;

    *bad = present && jsonx_type(v) != JX_STRING;
    return present ? jsonx_str(v) : NULL;
}

/* The identity members of an export-format line: checked, kept in pp, removed from in. */
static void
export_identity(struct orderio_import *im, struct jsonx *in, struct prep *pp, struct problems *p)
{
    int64_t now = clock_now_ms(), ms = 0;
    const char *s;
    bool bad;

    pp->keep = true;
    pp->created_ms = now;
    s = opt_str(in, "id", &bad);
    if (bad || (s != NULL && (!ids_is_uuid(s) || s[14] != '7')))
        problems_add(p, "id", "invalid_value", "must be the exported order id (a UUIDv7)");
    else if (s != NULL)
        snprintf(pp->id, sizeof pp->id, "%s", s);
    s = opt_str(in, "short_id", &bad);
    if (bad || (s != NULL && !ids_is_short(s)))
        problems_add(p, "short_id", "invalid_value", "must be the exported short id");
    else if (s != NULL)
        snprintf(pp->short_id, sizeof pp->short_id, "%s", s);
    s = opt_str(in, "created_at", &bad);
    if (bad || (s != NULL && (clock_parse(s, &ms) != 0 || ms > now || ms <= 0)))
        problems_add(p, "created_at", "invalid_date",
                     "must be an RFC 3339 time, not in the future");
    else if (s != NULL)
        pp->created_ms = ms;
    s = opt_str(in, "dialect", &bad);
    if (bad || (s != NULL && (strlen(s) >= sizeof pp->dialect || !im->o.dialect_known(s))))
        problems_add(p, "dialect", "invalid_value", "is not an API this server speaks");
    else if (s != NULL)
        snprintf(pp->dialect, sizeof pp->dialect, "%s", s);
    jsonx_del(in, "id");
    jsonx_del(in, "short_id");
    jsonx_del(in, "created_at");
    jsonx_del(in, "dialect");
}

/* The state members of an export-format line (status beyond a create's, cancellation,
 * the dialect's block), and the recomputed ones dropped. */
static void
export_state(struct jsonx *in, struct prep *pp, struct problems *p)
{
    static const char *const recomputed[] = {"object",     "livemode",        "mode", "version",
                                             "updated_at", "subtotal_amount", NULL};
    struct jsonx *items = jsonx_get(in, "line_items"), *v;
    const char *s;
    int64_t ms;
    bool bad;

    for (int i = 0; recomputed[i] != NULL; i++)
        jsonx_del(in, recomputed[i]);
    if (items != NULL && jsonx_type(items) != JX_ARRAY)
        items = NULL; /* order_validate_create reports it */
    for (size_t i = 0; items != NULL && i < jsonx_size(items); i++)
        if (jsonx_type(jsonx_at(items, i)) == JX_OBJECT)
            jsonx_del(jsonx_at(items, i), "amount");
    s = opt_str(in, "status", &bad);
    if (bad || (s != NULL && !order_status_valid(s))) {
        problems_add(p, "status", "invalid_status",
                     "must be pending, confirmed, fulfilled or canceled");
        jsonx_del(in, "status");
    } else if (s != NULL) {
        snprintf(pp->status, sizeof pp->status, "%s", s);
        if (strcmp(s, "pending") != 0 && strcmp(s, "confirmed") != 0)
            jsonx_del(in, "status"); /* validated as a create, then restored */
    }
    s = opt_str(in, "canceled_at", &bad);
    if (bad || (s != NULL && (clock_parse(s, &ms) != 0 || ms <= 0)))
        problems_add(p, "canceled_at", "invalid_date", "must be an RFC 3339 time or null");
    else if (s != NULL)
        pp->canceled_ms = ms;
    s = opt_str(in, "cancellation_reason", &bad);
    if (bad)
        problems_add(p, "cancellation_reason", "invalid_type", "must be a string or null");
    else if (s != NULL && validate_utf8_len(s) > LIMIT_STR_TEXT)
        problems_add(p, "cancellation_reason", "too_long", "must be at most %d characters",
                     LIMIT_STR_TEXT);
    else if (s != NULL &&
             !validate_text(s, jsonx_strlen(jsonx_get(in, "cancellation_reason")), true))
        problems_add(p, "cancellation_reason", "invalid_value",
                     "must not contain control characters");
    else if (s != NULL)
        pp->reason = jsonx_string(s);
    jsonx_del(in, "canceled_at");
    jsonx_del(in, "cancellation_reason");
    if (strcmp(pp->dialect, "v1") != 0 && (v = jsonx_get(in, pp->dialect)) != NULL) {
        if (jsonx_type(v) == JX_OBJECT)
            pp->block = jsonx_ref(v);
        else if (jsonx_type(v) != JX_NULL)
            problems_add(p, pp->dialect, "invalid_type", "must be an object, not %s",
                         jsonx_type_name(v));
        jsonx_del(in, pp->dialect);
    }
    /* Threekit orders may have an empty cart: validated with a free placeholder line,
     * as the Threekit API does, then emptied again */
    if (strcmp(pp->dialect, "threekit") == 0 && items != NULL && jsonx_size(items) == 0) {
        struct jsonx *line = jsonx_object();
        jsonx_set_str(line, "name", "empty cart");
        jsonx_set_int(line, "quantity", 1);
        jsonx_set_int(line, "unit_price", 0);
        jsonx_append(items, line);
        pp->empty_cart = true;
    }
}

/* Puts the export format's kept state into the validated order. */
static void
export_restore(struct prep *pp)
{
    char ts[CLOCK_RFC3339_LEN];

    if (pp->empty_cart)
        jsonx_set(pp->canon, "line_items", jsonx_array());
    if (pp->status[0] != '\0') {
        jsonx_set_str(pp->canon, "status", pp->status);
        snprintf(pp->row.status, sizeof pp->row.status, "%s", pp->status);
    }
    if (pp->canceled_ms > 0) {
        clock_format_ms(pp->canceled_ms, ts);
        jsonx_set_str(pp->canon, "canceled_at", ts);
    } else {
        jsonx_set_null(pp->canon, "canceled_at");
    }
    jsonx_set(pp->canon, "cancellation_reason", pp->reason ? pp->reason : jsonx_null());
    pp->reason = NULL;
    if (pp->block != NULL)
        jsonx_set(pp->canon, pp->dialect, pp->block);
    pp->block = NULL;
}

/* Parses and validates a line into pp. Returns 0, or -1 when the line was reported. */
static int
prepare(struct orderio_import *im, long line, const char *text, size_t len, struct prep *pp)
{
    struct problems p;
    struct jsonx_error err;
    struct jsonx *doc;
    const struct jsonx *obj;
    bool export;
    int rc = -1;

    p.n = p.dropped = 0;
    snprintf(pp->dialect, sizeof pp->dialect, "v1");
    doc = blank(text, len) ? NULL : jsonx_parse(text, len, LIMIT_JSON_DEPTH, &err);
    if (doc == NULL) {
        if (blank(text, len))
            fail(im, line, 400, "invalid_json", NULL, "the line is blank");
        else if (err.code == JX_ERR_DEPTH)
            fail(im, line, 400, "json_too_deep", NULL, "JSON nesting deeper than %d",
                 LIMIT_JSON_DEPTH);
        else
            fail(im, line, 400, "invalid_json", NULL, "column %d: %s", err.column, err.text);
        goto out;
    }
    if (jsonx_type(doc) != JX_OBJECT) {
        fail(im, line, 400, "invalid_body", NULL, "the order must be a JSON object, not %s",
             jsonx_type_name(doc));
        goto out;
    }
    obj = jsonx_get(doc, "object");
    export = obj != NULL && jsonx_type(obj) == JX_STRING && strcmp(jsonx_str(obj), "order") == 0;
    if (export) {
        export_identity(im, doc, pp, &p);
        export_state(doc, pp, &p);
    }
    if (order_validate_create(doc, &p, &pp->canon, &pp->row) == 0 && p.n == 0 &&
        pp->row.external_id == NULL && pp->id[0] == '\0')
        problems_add(&p, "external_id", "required",
                     "is required by import without an exported id (a re-run skips orders "
                     "whose external_id exists)");
    if (p.n > 0 || p.dropped > 0) {
        fail(im, line, 422, "validation_failed", &p, "%d field%s invalid", p.n + p.dropped,
             p.n + p.dropped == 1 ? " is" : "s are");
        goto out;
    }
    if (export)
        export_restore(pp);
    rc = 0;
out:
    jsonx_free(doc);
    if (rc != 0)
        prep_free(pp);
    return rc;
}

static void
prep_free(struct prep *pp)
{
    jsonx_free(pp->canon);
    jsonx_free(pp->reason);
    jsonx_free(pp->block);
    order_row_free(&pp->row);
    pp->canon = pp->reason = pp->block = NULL;
}

/* ---- the window ---- */

/* Is there an order with this id in the org and mode? 1 yes, 0 no, -1 store trouble. */
static int
order_exists(struct orderio_import *im, const char *id)
{
    struct store *st = im->o.app->store;
    struct order_row row;
    enum store_rc rc = st->ops->order_get(st, im->o.org_id, im->o.mode, id, &row);

    if (rc == STORE_OK)
        order_row_free(&row);
    return rc == STORE_OK ? 1 : rc == STORE_NOT_FOUND ? 0 : -1;
}

/* Is the line's order there already, by its exported id or by its external id (per org,
 * mode and API)? 1 yes (its id in found_id), 0 no, -1 store trouble. A read, so that a
 * re-run does not queue writes for what exists; the database's constraints still decide
 * when another writer races this one. */
static int
line_exists(struct orderio_import *im, const struct prep *pp, char found_id[IDS_UUID_LEN])
{
    struct store *st = im->o.app->store;
    struct order_query q;
    struct order_row *rows = NULL;
    size_t n = 0;
    bool more;
    int rc = pp->keep && pp->id[0] != '\0' ? order_exists(im, pp->id) : 0;

    if (rc == 1)
        memcpy(found_id, pp->id, IDS_UUID_LEN);
    if (rc == 0 && pp->row.external_id != NULL) {
        memset(&q, 0, sizeof q);
        memcpy(q.org_id, im->o.org_id, sizeof q.org_id);
        q.mode = im->o.mode;
        q.limit = 1;
        q.external_id = pp->row.external_id;
        q.dialect = pp->dialect;
        rc = st->ops->order_list(st, &q, &rows, &n, &more) != STORE_OK ? -1 : n > 0;
        if (n > 0)
            memcpy(found_id, rows[0].id, IDS_UUID_LEN);
        order_rows_free(rows, n);
    }
    return rc;
}

/* Reports a finished create and frees its slot. */
static void
settle(struct orderio_import *im, struct slot *s)
{
    struct orderio_report r;

    memset(&r, 0, sizeof r);
    r.line = s->line;
    if (s->status == 201) {
        r.outcome = ORDERIO_CREATED;
        memcpy(r.order_id, s->order_id, sizeof r.order_id);
    } else if (s->code != NULL && strcmp(s->code, "external_id_conflict") == 0) {
        r.outcome = ORDERIO_EXISTING;
        memcpy(r.order_id, s->order_id, sizeof r.order_id);
    } else if (s->keep && s->id[0] != '\0' && order_exists(im, s->id) == 1) {
        /* another import of the same line won the race for the id */
        r.outcome = ORDERIO_EXISTING;
        memcpy(r.order_id, s->id, sizeof r.order_id);
    } else {
        r.outcome = ORDERIO_FAILED;
        r.status = s->status != 0 ? s->status : 500;
        r.code = s->code != NULL ? s->code : "internal_error";
        snprintf(r.detail, sizeof r.detail, "%s", s->detail);
    }
    resp_clear(&s->req.resp);
    s->next = im->free_slots;
    im->free_slots = s;
    im->in_flight--;
    im->o.report(im->o.arg, &r);
}

/* Reports the finished creates; with wait, waits for at least one first. */
static void
collect(struct orderio_import *im, bool wait)
{
    struct slot *list, *rev = NULL;

    pthread_mutex_lock(&im->lock);
    while (wait && im->done == NULL)
        pthread_cond_wait(&im->cond, &im->lock);
    list = im->done;
    im->done = NULL;
    pthread_mutex_unlock(&im->lock);
    while (list != NULL) { /* oldest first */
        struct slot *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev != NULL) {
        struct slot *n = rev->next;
        settle(im, rev);
        rev = n;
    }
}

static void
submit(struct orderio_import *im, long line, struct prep *pp)
{
    struct svc_hooks h = {.ok = hook_ok, .err = hook_err};
    struct slot *s;

    while (im->free_slots == NULL)
        collect(im, true);
    s = im->free_slots;
    im->free_slots = s->next;
    im->in_flight++;
    s->line = line;
    s->keep = pp->keep;
    memcpy(s->id, pp->id, sizeof s->id);
    memcpy(s->short_id, pp->short_id, sizeof s->short_id);
    s->created_ms = pp->created_ms;
    s->attempts = 0;
    s->status = 0;
    s->code = NULL;
    s->detail[0] = s->order_id[0] = '\0';
    s->req.start_ms = clock_now_ms();
    h.arg = h.tx_arg = s;
    h.before_row = pp->keep ? hook_before_row : NULL;
    /* svc takes canon and the row; a REQ_DONE answer was given without a commit */
    if (svc_order_create(&s->req, pp->canon, &pp->row, pp->dialect, &h) == REQ_DONE)
        slot_resume(&s->req);
    pp->canon = NULL;
    memset(&pp->row, 0, sizeof pp->row);
}

struct orderio_import *
orderio_import_new(const struct orderio_opts *o)
{
    struct orderio_import *im = calloc(1, sizeof *im);

    if (im == NULL || (im->slots = calloc(ORDERIO_WINDOW, sizeof *im->slots)) == NULL) {
        free(im);
        return NULL;
    }
    im->o = *o;
    pthread_mutex_init(&im->lock, NULL);
    pthread_cond_init(&im->cond, NULL);
    for (int i = ORDERIO_WINDOW - 1; i >= 0; i--) {
        struct slot *s = &im->slots[i];
        s->im = im;
        memcpy(s->req.id, o->request_id, sizeof s->req.id);
        s->req.method = "POST";
        s->req.path = "/v1/orders";
        s->req.route = "/v1/orders";
        s->req.app = o->app;
        s->req.auth.ok = true;
        memcpy(s->req.auth.org_id, o->org_id, sizeof s->req.auth.org_id);
        s->req.auth.mode = o->mode;
        s->req.auth.kind = KEY_SECRET;
        s->req.header = no_header;
        s->req.query = no_header;
        s->req.suspend = no_suspend;
        s->req.resume = slot_resume;
        s->next = im->free_slots;
        im->free_slots = s;
    }
    return im;
}

void
orderio_import_line(struct orderio_import *im, long line, const char *text, size_t len)
{
    struct prep pp;
    char found_id[IDS_UUID_LEN];
    int found;

    memset(&pp, 0, sizeof pp);
    collect(im, false);
    if (prepare(im, line, text, len, &pp) != 0)
        return;
    found = line_exists(im, &pp, found_id);
    if (found == 1)
        existing(im, line, found_id);
    else if (found < 0)
        fail(im, line, 503, "store_unavailable", NULL, "the order store is unavailable; retry");
    else
        submit(im, line, &pp);
    prep_free(&pp);
}

void
orderio_import_too_long(struct orderio_import *im, long line, size_t len)
{
    collect(im, false);
    fail(im, line, 413, "body_too_large", NULL, "the line has %zu bytes; at most %d are allowed",
         len, LIMIT_BODY_MAX);
}

void
orderio_import_finish(struct orderio_import *im)
{
    while (im->in_flight > 0)
        collect(im, true);
}

void
orderio_import_free(struct orderio_import *im)
{
    if (im == NULL)
        return;
    orderio_import_finish(im);
    pthread_mutex_destroy(&im->lock);
    pthread_cond_destroy(&im->cond);
    free(im->slots);
    free(im);
}

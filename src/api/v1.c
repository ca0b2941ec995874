/* SPDX-License-Identifier: MIT */
/*
 * v1.c -- orderd's own API, /v1 (docs/api-v1.md, docs/openapi.json). Maps HTTP
 * requests to core calls and core results to RFC 9457 problems. The order rules live
 * in core/order.c; the write path (idempotency, group commit) in core/svc.c.
 */
#include "api/api.h"

#include "core/metrics.h"
#include "core/app.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/order.h"
#include "core/problem.h"
#include "core/settings.h"
#include "core/svc.h"
#include "core/validate.h"
#include "store/store.h"
#include "store/webhook_store.h"
#include "webhook/webhook.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const char orderd_openapi_json[];
extern const size_t orderd_openapi_json_len;

/* ---- common steps: each answers the request itself when it fails ---- */

static bool
store_error(struct req *req, enum store_rc rc)
{
    if (rc == STORE_OK || rc == STORE_NOT_FOUND)
        return false;
    if (rc == STORE_UNAVAILABLE) {
        problem_sendf(req, 503, "store_unavailable", "the order store is unavailable; retry");
        resp_header(&req->resp, "Retry-After", "1");
    } else {
        problem_sendf(req, 500, "internal_error", "internal error; quote request id %s", req->id);
    }
    return true;
}

/* Authenticates; publishable keys only where pk_ok, and only from an allowed Origin. */
static bool
v1_auth(struct req *req, bool pk_ok)
{
    enum auth_rc rc = auth_bearer(req);
    const char *origin;
    struct org_rec org;
    bool allowed;

    switch (rc) {
    case AUTH_OK:
        break;
    case AUTH_MISSING:
        problem_sendf(req, 401, "missing_api_key", "send your key as Authorization: Bearer sk_...");
        resp_header(&req->resp, "WWW-Authenticate", "Bearer");
        return false;
    case AUTH_INVALID:
        problem_sendf(req, 401, "invalid_api_key", "the API key is not valid");
        resp_header(&req->resp, "WWW-Authenticate", "Bearer");
        return false;
    case AUTH_UNAVAILABLE:
        store_error(req, STORE_UNAVAILABLE);
        return false;
    case AUTH_RATE_LIMITED:
        problem_sendf(req, 429, "rate_limited",
                      "too many requests with this key; retry after %u s (Retry-After)",
                      (unsigned)req->auth.rate.retry_after);
        return false;
    }
    if (req->auth.kind == KEY_SECRET)
        return true;
    if (!pk_ok) {
        problem_sendf(req, 403, "permission_denied",
                      "a publishable key may only create orders; use a secret key");
        return false;
    }
    origin = req_header(req, "Origin");
    if (origin == NULL) {
        problem_sendf(req, 403, "origin_not_allowed",
                      "a publishable key needs an Origin listed in allowed_origins");
        return false;
    }
    if (store_error(req, req->app->store->ops->org_get(req->app->store, req->auth.org_id, &org)))
        return false;
    allowed = org.settings != NULL && settings_origin_allowed(org.settings, origin);
    org_rec_free(&org);
    if (!allowed) {
        problem_sendf(req, 403, "origin_not_allowed", "this Origin is not in allowed_origins");
        return false;
    }
    snprintf(req->cors_origin, sizeof req->cors_origin, "%s", origin);
    return true;
}

/* Parses the JSON object body. With optional, an empty body yields an empty object. */
static struct jsonx *
v1_body(struct req *req, bool optional)
{
    const char *ct = req_header(req, "Content-Type");
    struct jsonx_error err;
    struct jsonx *doc;

    if (optional && req->body_len == 0)
        return jsonx_object();
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
        problem_sendf(req, 415, "unsupported_media_type",
                      "send the body as Content-Type: application/json");
        return NULL;
    }
    doc = jsonx_parse(req->body, req->body_len, LIMIT_JSON_DEPTH, &err);
    if (doc == NULL) {
        if (err.code == JX_ERR_DEPTH)
            problem_sendf(req, 400, "json_too_deep", "JSON nesting deeper than %d",
                          LIMIT_JSON_DEPTH);
        else
            problem_sendf(req, 400, "invalid_json", "line %d, column %d: %s", err.line, err.column,
                          err.text);
        return NULL;
    }
    if (jsonx_type(doc) != JX_OBJECT) {
        problem_sendf(req, 400, "invalid_body", "the body must be a JSON object, not %s",
                      jsonx_type_name(doc));
        jsonx_free(doc);
        return NULL;
    }
    return doc;
}

static void
validation_failed(struct req *req, const struct problems *p)
{
    char detail[96];

    snprintf(detail, sizeof detail, "%d field%s invalid", p->n + p->dropped,
             p->n + p->dropped == 1 ? " is" : "s are");
    problem_send(req, 422, "validation_failed", detail, p, NULL);
}

/* ---- svc hooks: /v1 answers ---- */

static void
v1_ok(struct req *req, const struct order_row *row, bool created, void *arg)
{
    char hdr[96], *body = strndup(row->body, row->body_len);

    (void)arg;
    resp_json(&req->resp, created ? 201 : 200, body, body ? row->body_len : 0);
    if (created) {
        snprintf(hdr, sizeof hdr, "/v1/orders/%s", row->id);
        resp_header(&req->resp, "Location", hdr);
    }
    snprintf(hdr, sizeof hdr, "\"%lld\"", (long long)row->version);
    resp_header(&req->resp, "ETag", hdr);
}

static void
v1_err(struct req *req, enum svc_err err, const struct svc_info *info, void *arg)
{
    char extra[128], loc[96];

    (void)arg;
    switch (err) {
    case SVC_EXTERNAL_ID_CONFLICT:
        snprintf(extra, sizeof extra, "{\"existing_order_id\":\"%s\"}", info->existing_id);
        problem_send(req, 409, "external_id_conflict",
                     "an order with this external_id already exists", NULL, extra);
        snprintf(loc, sizeof loc, "/v1/orders/%s", info->existing_id);
        resp_header(&req->resp, "Location", loc);
        break;
    case SVC_IDEM_BAD_KEY:
        problem_sendf(req, 400, "invalid_header",
                      "Idempotency-Key must be 1 to %d printable ASCII characters",
                      LIMIT_IDEM_KEY_LEN);
        break;
    case SVC_IDEM_IN_USE:
        problem_sendf(req, 409, "idempotency_key_in_use",
                      "a request with this Idempotency-Key is still running; retry");
        resp_header(&req->resp, "Retry-After", "1");
        break;
    case SVC_IDEM_MISMATCH:
        problem_sendf(req, 422, "idempotency_key_reused",
                      "this Idempotency-Key was used with a different request");
        break;
    case SVC_NOT_FOUND:
        problem_sendf(req, 404, "order_not_found", "no such order");
        break;
    case SVC_INVALID_TRANSITION:
        problem_sendf(req, 409, "invalid_state_transition",
                      "the order is %s; that status change is not allowed", info->status);
        break;
    case SVC_VERSION_CONFLICT:
        snprintf(extra, sizeof extra, "{\"current_version\":%lld}",
                 (long long)info->current_version);
        problem_send(req, 409, "version_conflict", "the order has a newer version", NULL, extra);
        break;
    case SVC_PRECONDITION:
        snprintf(extra, sizeof extra, "{\"current_version\":%lld}",
                 (long long)info->current_version);
        problem_send(req, 412, "precondition_failed", "If-Match does not match the ETag", NULL,
                     extra);
        break;
    case SVC_UNAVAILABLE:
        store_error(req, STORE_UNAVAILABLE);
        break;
    case SVC_INTERNAL:
    case SVC_HOOK_FAILED: /* /v1 sets no hooks */
        store_error(req, STORE_FAIL);
        break;
    }
}

static const struct svc_hooks v1_hooks = {.ok = v1_ok, .err = v1_err};

/* ---- orders ---- */

static enum req_result
h_create(struct req *req)
{
    struct problems p = {0};
    struct jsonx *doc, *canon = NULL;
    struct order_row row;
    enum req_result rc;

    if (!v1_auth(req, true) || (doc = v1_body(req, false)) == NULL)
        return REQ_DONE;
    if (order_validate_create(doc, &p, &canon, &row) != 0) {
        validation_failed(req, &p);
        jsonx_free(doc);
        return REQ_DONE;
    }
    jsonx_free(doc);
    rc = svc_order_create(req, canon, &row, "v1", &v1_hooks);
    return rc;
}

static bool
order_ref_ok(const char *ref)
{
    return ids_is_uuid(ref) || ids_is_short(ref);
}

static enum req_result
h_get(struct req *req)
{
    struct order_row row;
    enum store_rc rc;

    if (!v1_auth(req, false))
        return REQ_DONE;
    if (!order_ref_ok(req->param[0])) {
        problem_sendf(req, 404, "order_not_found", "no such order");
        return REQ_DONE;
    }
    rc = req->app->store->ops->order_get(req->app->store, req->auth.org_id, req->auth.mode,
                                         req->param[0], &row);
    if (rc == STORE_NOT_FOUND)
        problem_sendf(req, 404, "order_not_found", "no such order");
    else if (!store_error(req, rc))
        v1_ok(req, &row, false, NULL);
    order_row_free(&row);
    return REQ_DONE;
}

static void
bad_query(struct req *req, const char *name, const char *code, const char *msg)
{
    struct problems p = {0};

    problems_add(&p, name, code, "%s", msg);
    problem_send(req, 400, "invalid_query", "invalid query parameter", &p, NULL);
}

/* Common list parameters. Returns false after answering. */
static bool
list_params(struct req *req, const char *const *allowed, bool (*id_ok)(const char *), int *limit,
            const char **after, const char **before)
{
    const char *bad = req_query_unknown(req, allowed), *l = req_query(req, "limit");
    char *end = NULL;
    long v;

    if (bad != NULL) {
        bad_query(req, bad, "unknown_field", "unknown query parameter");
        return false;
    }
    *limit = LIMIT_LIST_DEFAULT;
    if (l != NULL) {
        v = strtol(l, &end, 10);
        if (l[0] == '\0' || *end != '\0' || v < 1 || v > LIMIT_LIST_MAX) {
            bad_query(req, "limit", "out_of_range", "limit must be an integer from 1 to 100");
            return false;
        }
        *limit = (int)v;
    }
    *after = req_query(req, "starting_after");
    *before = req_query(req, "ending_before");
    if (*after != NULL && *before != NULL) {
        bad_query(req, "ending_before", "invalid_value",
                  "send starting_after or ending_before, not both");
        return false;
    }
    if ((*after != NULL && !id_ok(*after)) || (*before != NULL && !id_ok(*before))) {
        bad_query(req, *after ? "starting_after" : "ending_before", "invalid_value",
                  "must be an id from a previous page");
        return false;
    }
    return true;
}

static bool
time_param(struct req *req, const char *name, bool *has, int64_t *ms)
{
    const char *v = req_query(req, name);

    *has = v != NULL;
    if (v != NULL && clock_parse(v, ms) != 0) {
        bad_query(req, name, "invalid_date", "must be RFC 3339 or Unix seconds");
        return false;
    }
    return true;
}

static void
list_head(struct buf *b, const char *url, bool has_more)
{
    buf_printf(b, "{\"object\":\"list\",\"url\":\"%s\",\"has_more\":%s,\"data\":[", url,
               has_more ? "true" : "false");
}

static void
list_send(struct req *req, struct buf *b)
{
    size_t len = 0;
    char *body;

    buf_puts(b, "]}");
    body = buf_take(b, &len);
    if (body == NULL)
        store_error(req, STORE_FAIL);
    else
        resp_json(&req->resp, 200, body, len);
}

static enum req_result
h_list(struct req *req)
{
    static const char *const allowed[] = {
        "limit",          "starting_after", "ending_before", "status",  "external_id",
        "customer_email", "created_gte",    "created_lte",   "dialect", NULL};
    struct order_query q;
    struct order_row *rows = NULL;
    size_t n = 0;
    bool more = false;
    char email[LIMIT_EMAIL_LEN + 1];
    struct buf b = {0};

    if (!v1_auth(req, false))
        return REQ_DONE;
    memset(&q, 0, sizeof q);
    if (!list_params(req, allowed, ids_is_uuid, &q.limit, &q.starting_after, &q.ending_before) ||
        !time_param(req, "created_gte", &q.has_created_gte, &q.created_gte) ||
        !time_param(req, "created_lte", &q.has_created_lte, &q.created_lte))
        return REQ_DONE;
    memcpy(q.org_id, req->auth.org_id, sizeof q.org_id);
    q.mode = req->auth.mode;
    q.status = req_query(req, "status");
    if (q.status != NULL && !order_status_valid(q.status)) {
        bad_query(req, "status", "invalid_status",
                  "must be pending, confirmed, fulfilled or canceled");
        return REQ_DONE;
    }
    q.external_id = req_query(req, "external_id");
    q.dialect = req_query(req, "dialect");
    if (req_query(req, "customer_email") != NULL) {
        snprintf(email, sizeof email, "%s", req_query(req, "customer_email"));
        for (char *c = email; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        q.customer_email = email;
    }
    if (store_error(req, req->app->store->ops->order_list(req->app->store, &q, &rows, &n, &more)))
        return REQ_DONE;
    list_head(&b, "/v1/orders", more);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_puts(&b, ",");
        buf_append(&b, rows[i].body, rows[i].body_len);
    }
    order_rows_free(rows, n);
    list_send(req, &b);
    return REQ_DONE;
}

/* If-Match: "3", W/"3" or 3. Returns 0 (absent), the version, or -1 when malformed. */
static int64_t
if_match(struct req *req)
{
    const char *h = req_header(req, "If-Match");
    char *end = NULL;
    long long v;

    if (h == NULL)
        return 0;
    if (strlen(h) > 24) /* "W/" + quotes + 19 digits */
        return -1;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    if (*h == '"')
        h++;
    v = strtoll(h, &end, 10);
    if (end == h || v < 1 || (*end != '\0' && strcmp(end, "\"") != 0))
        return -1;
    return v;
}

static enum req_result
h_patch(struct req *req)
{
    struct problems p = {0};
    struct svc_change change = {0};
    const struct jsonx *ver;
    struct jsonx *doc;

    if (!v1_auth(req, false) || (doc = v1_body(req, false)) == NULL)
        return REQ_DONE;
    change.kind = SVC_PATCH;
    change.if_match = if_match(req);
    if (change.if_match < 0) {
        problem_sendf(req, 400, "invalid_header", "If-Match must be an ETag such as \"3\"");
        jsonx_free(doc);
        return REQ_DONE;
    }
    if (order_validate_patch(doc, &p) != 0) {
        validation_failed(req, &p);
        jsonx_free(doc);
        return REQ_DONE;
    }
    ver = jsonx_get(doc, "version");
    change.expected_version = ver != NULL && jsonx_type(ver) == JX_INT ? jsonx_int(ver) : 0;
    change.patch = doc;
    if (!order_ref_ok(req->param[0])) {
        jsonx_free(doc);
        problem_sendf(req, 404, "order_not_found", "no such order");
        return REQ_DONE;
    }
    return svc_order_change(req, req->param[0], &change, &v1_hooks);
}

static enum req_result
h_cancel(struct req *req)
{
    static const char *const allowed[] = {"reason", NULL};
    struct svc_change change = {0};
    struct problems p = {0};
    struct jsonx *doc, *reason;

    if (!v1_auth(req, false) || (doc = v1_body(req, true)) == NULL)
        return REQ_DONE;
    for (void *it = jsonx_iter(doc); it != NULL; it = jsonx_next(doc, it))
        if (strcmp(jsonx_iter_key(it), allowed[0]) != 0)
            problems_add(&p, jsonx_iter_key(it), "unknown_field", "unknown field");
    reason = jsonx_get(doc, "reason");
    if (reason != NULL && jsonx_type(reason) != JX_NULL && jsonx_type(reason) != JX_STRING)
        problems_add(&p, "reason", "invalid_type", "must be a string, not %s",
                     jsonx_type_name(reason));
    else if (reason != NULL && jsonx_type(reason) == JX_STRING &&
             validate_utf8_len(jsonx_str(reason)) > LIMIT_STR_TEXT)
        problems_add(&p, "reason", "too_long", "must be at most %d characters", LIMIT_STR_TEXT);
    else if (reason != NULL && jsonx_type(reason) == JX_STRING &&
             !validate_text(jsonx_str(reason), jsonx_strlen(reason), true))
        problems_add(&p, "reason", "invalid_value", "must not contain control characters");
    if (p.n > 0 || !order_ref_ok(req->param[0])) {
        if (p.n > 0)
            validation_failed(req, &p);
        else
            problem_sendf(req, 404, "order_not_found", "no such order");
        jsonx_free(doc);
        return REQ_DONE;
    }
    change.kind = SVC_CANCEL;
    change.reason =
        reason != NULL && jsonx_type(reason) == JX_STRING ? strdup(jsonx_str(reason)) : NULL;
    jsonx_free(doc);
    return svc_order_change(req, req->param[0], &change, &v1_hooks);
}

/* ---- events ---- */

static enum req_result
h_events(struct req *req)
{
    static const char *const allowed[] = {"limit", "starting_after", "ending_before",
                                          "type",  "order_id",       NULL};
    struct event_query q;
    struct event_row *rows = NULL;
    char ts[CLOCK_RFC3339_LEN];
    size_t n = 0;
    bool more = false;
    struct buf b = {0};

    if (!v1_auth(req, false))
        return REQ_DONE;
    memset(&q, 0, sizeof q);
    if (!list_params(req, allowed, ids_is_event, &q.limit, &q.starting_after, &q.ending_before))
        return REQ_DONE;
    memcpy(q.org_id, req->auth.org_id, sizeof q.org_id);
    q.mode = req->auth.mode;
    q.type = req_query(req, "type");
    q.order_id = req_query(req, "order_id");
    if (store_error(req, req->app->store->ops->event_list(req->app->store, &q, &rows, &n, &more)))
        return REQ_DONE;
    list_head(&b, "/v1/events", more);
    for (size_t i = 0; i < n; i++) {
        const struct event_row *e = &rows[i];
        clock_format_ms(e->created_ms, ts);
        buf_printf(&b,
                   "%s{\"object\":\"event\",\"id\":\"%s\",\"type\":\"%s\",\"livemode\":%s,"
                   "\"created_at\":\"%s\",\"request_id\":\"%s\",\"order_id\":\"%s\","
                   "\"data\":{\"object\":",
                   i ? "," : "", e->id, e->type, e->mode == MODE_LIVE ? "true" : "false", ts,
                   e->request_id, e->order_id);
        buf_puts(&b, e->data);
        buf_puts(&b, "}}");
    }
    event_rows_free(rows, n);
    list_send(req, &b);
    return REQ_DONE;
}

/* ---- webhook endpoints (docs/webhooks.md); the workers are in webhook/webhook.c ---- */

enum wh_op_kind { WH_CREATE, WH_UPDATE, WH_DELETE, WH_REDELIVER };

/* One webhook write: validated input, then the committer's outcome. */
struct wh_op {
    struct store_write w;
    struct req *req;
    enum wh_op_kind kind;
    struct wh_endpoint ep; /* create: the new endpoint; update: the changed fields */
    bool has_url, has_description, has_events, has_disabled, disabled;
    char secret[WEBHOOK_SECRET_LEN];
    char delivery_id[WH_ID_LEN], new_id[WH_ID_LEN];
    int outcome; /* 0, or the HTTP status of a refusal */
    struct wh_endpoint result;
    struct wh_delivery delivery;
};

static void
wh_op_free(struct wh_op *op)
{
    wh_endpoint_free(&op->ep);
    wh_endpoint_free(&op->result);
    wh_delivery_free(&op->delivery);
    crypto_random(op->secret, sizeof op->secret); /* scrub */
    free(op);
}

static void
wh_not_found(struct req *req)
{
    problem_sendf(req, 404, "webhook_endpoint_not_found", "no such webhook endpoint");
}

static bool
wh_endpoint_ref(struct req *req)
{
    if (webhook_is_endpoint_id(req->param[0]))
        return true;
    wh_not_found(req);
    return false;
}

/* Validates a create (all of url, enabled_events) or an update body into op. */
static void
wh_validate(const struct jsonx *doc, bool create, struct wh_op *op, struct problems *p)
{
    static const char *const fields[] = {"url", "enabled_events", "description", "disabled", NULL};
    const struct jsonx *v;
    char path[48];
    size_t used = 1;

    for (void *it = jsonx_iter(doc); it != NULL; it = jsonx_next(doc, it)) {
        bool ok = false;
        for (int i = 0; fields[i] != NULL && !ok; i++)
            ok = strcmp(fields[i], jsonx_iter_key(it)) == 0 && (i < 3 || !create);
        if (!ok)
            problems_add(p, jsonx_iter_key(it), "unknown_field", "unknown field");
    }
    v = jsonx_get(doc, "url");
    if (v == NULL && create) {
        problems_add(p, "url", "required", "is required");
    } else if (v != NULL && jsonx_type(v) != JX_STRING) {
        problems_add(p, "url", "invalid_type", "must be a string, not %s", jsonx_type_name(v));
    } else if (v != NULL && jsonx_strlen(v) > WEBHOOK_URL_MAX) {
        problems_add(p, "url", "too_long", "must be at most %d characters", WEBHOOK_URL_MAX);
    } else if (v != NULL && !validate_url(jsonx_str(v))) {
        problems_add(p, "url", "invalid_url", "must be an absolute http:// or https:// URL");
    } else if (v != NULL) {
        op->has_url = true;
        op->ep.url = strdup(jsonx_str(v));
    }
    v = jsonx_get(doc, "enabled_events");
    if (v == NULL && create) {
        problems_add(p, "enabled_events", "required", "is required");
    } else if (v != NULL && jsonx_type(v) != JX_ARRAY) {
        problems_add(p, "enabled_events", "invalid_type", "must be an array, not %s",
                     jsonx_type_name(v));
    } else if (v != NULL && (jsonx_size(v) == 0 || jsonx_size(v) > WEBHOOK_MAX_EVENT_TYPES)) {
        problems_add(p, "enabled_events", "invalid_value", "must list 1 to %d event types",
                     WEBHOOK_MAX_EVENT_TYPES);
    } else if (v != NULL) {
        op->has_events = true;
        op->ep.events[0] = ',';
        op->ep.events[1] = '\0';
        for (size_t i = 0; i < jsonx_size(v); i++) {
            const struct jsonx *t = jsonx_at(v, i);
            const char *s = jsonx_type(t) == JX_STRING ? jsonx_str(t) : NULL;
            char framed[64];
            snprintf(path, sizeof path, "enabled_events[%zu]", i);
            if (s == NULL) {
                problems_add(p, path, "invalid_type", "must be a string, not %s",
                             jsonx_type_name(t));
                continue;
            }
            if (strcmp(s, "*") == 0 ? jsonx_size(v) != 1 : !webhook_event_type_known(s)) {
                problems_add(p, path, "invalid_value",
                             strcmp(s, "*") == 0 ? "\"*\" must be alone"
                                                 : "unknown event type (see docs/webhooks.md)");
                continue;
            }
            snprintf(framed, sizeof framed, ",%s,", s);
            if (strstr(op->ep.events, framed) != NULL) {
                problems_add(p, path, "invalid_value", "listed twice");
                continue;
            }
            used += (size_t)snprintf(op->ep.events + used, sizeof op->ep.events - used, "%s,", s);
        }
    }
    v = jsonx_get(doc, "description");
    if (v != NULL && jsonx_type(v) == JX_NULL) {
        op->has_description = true;
    } else if (v != NULL && jsonx_type(v) != JX_STRING) {
        problems_add(p, "description", "invalid_type", "must be a string, not %s",
                     jsonx_type_name(v));
    } else if (v != NULL && validate_utf8_len(jsonx_str(v)) > WEBHOOK_DESCRIPTION_MAX) {
        problems_add(p, "description", "too_long", "must be at most %d characters",
                     WEBHOOK_DESCRIPTION_MAX);
    } else if (v != NULL && !validate_text(jsonx_str(v), jsonx_strlen(v), true)) {
        problems_add(p, "description", "invalid_value", "must not contain control characters");
    } else if (v != NULL) {
        op->has_description = true;
        op->ep.description = strdup(jsonx_str(v));
    }
    v = jsonx_get(doc, "disabled");
    if (v != NULL && !create && jsonx_type(v) != JX_BOOL) {
        problems_add(p, "disabled", "invalid_type", "must be a boolean, not %s",
                     jsonx_type_name(v));
    } else if (v != NULL && !create) {
        op->has_disabled = true;
        op->disabled = jsonx_bool(v);
    }
}

static enum store_rc
wh_tx(struct store_conn *c, void *arg)
{
    struct wh_op *op = arg;
    struct wh_endpoint *cur = &op->result;
    enum store_rc rc;
    int n = 0;
    bool was_disabled;

    switch (op->kind) {
    case WH_CREATE:
        rc = wh_endpoint_count(c, op->ep.org_id, op->ep.mode, &n);
        if (rc == STORE_OK && n >= WEBHOOK_MAX_ENDPOINTS) {
            op->outcome = 409;
            return STORE_OK;
        }
        if (rc == STORE_OK)
            rc = wh_endpoint_insert(c, &op->ep);
        break;
    case WH_UPDATE:
        rc = wh_endpoint_get(c, op->ep.org_id, op->ep.mode, op->ep.id, cur);
        if (rc != STORE_OK)
            break;
        was_disabled = cur->disabled_ms != 0;
        if (op->has_url) {
            free(cur->url);
            cur->url = op->ep.url;
            op->ep.url = NULL;
        }
        if (op->has_description) {
            free(cur->description);
            cur->description = op->ep.description;
            op->ep.description = NULL;
        }
        if (op->has_events)
            memcpy(cur->events, op->ep.events, sizeof cur->events);
        cur->updated_ms = clock_now_ms();
        rc = wh_endpoint_update(c, cur, op->has_disabled && !op->disabled && was_disabled,
                                op->has_disabled && op->disabled && !was_disabled, "manual");
        wh_endpoint_free(cur);
        if (rc == STORE_OK)
            rc = wh_endpoint_get(c, op->ep.org_id, op->ep.mode, op->ep.id, cur);
        break;
    case WH_DELETE:
        rc = wh_endpoint_delete(c, op->ep.org_id, op->ep.mode, op->ep.id);
        break;
    case WH_REDELIVER:
        rc = wh_endpoint_get(c, op->ep.org_id, op->ep.mode, op->ep.id, cur);
        if (rc == STORE_OK && cur->disabled_ms != 0) {
            op->outcome = 409;
            return STORE_OK;
        }
        if (rc == STORE_OK) {
            rc = wh_redeliver(c, op->ep.org_id, op->ep.mode, op->ep.id, op->delivery_id, op->new_id,
                              clock_now_ms());
            if (rc == STORE_NOT_FOUND)
                op->outcome = 404;
        }
        if (rc == STORE_OK)
            rc = wh_delivery_get(c, op->ep.org_id, op->ep.mode, op->ep.id, op->new_id,
                                 &op->delivery);
        break;
    default:
        rc = STORE_FAIL;
    }
    return rc;
}

static void
wh_done(struct store_write *w)
{
    struct wh_op *op = w->arg;
    struct req *req = op->req;
    struct buf b = {0};
    char loc[96];
    size_t len = 0;
    char *body;
    int status = 200;

    if (w->rc == STORE_NOT_FOUND && op->outcome == 404 && op->kind == WH_REDELIVER) {
        problem_sendf(req, 404, "webhook_delivery_not_found", "no such delivery of this endpoint");
    } else if (w->rc == STORE_NOT_FOUND) {
        wh_not_found(req);
    } else if (store_error(req, w->rc)) {
        ;
    } else if (op->outcome == 409 && op->kind == WH_CREATE) {
        problem_sendf(req, 409, "too_many_webhook_endpoints",
                      "at most %d webhook endpoints per org and mode", WEBHOOK_MAX_ENDPOINTS);
    } else if (op->outcome == 409) {
        problem_sendf(req, 409, "webhook_endpoint_disabled",
                      "the endpoint is disabled; re-enable it with PATCH {\"disabled\":false}");
    } else {
        switch (op->kind) {
        case WH_CREATE:
            status = 201;
            webhook_endpoint_json(&b, &op->ep, op->secret);
            snprintf(loc, sizeof loc, "/v1/webhook_endpoints/%s", op->ep.id);
            break;
        case WH_UPDATE:
            webhook_endpoint_json(&b, &op->result, NULL);
            break;
        case WH_DELETE:
            buf_printf(&b, "{\"id\":\"%s\",\"object\":\"webhook_endpoint\",\"deleted\":true}",
                       op->ep.id);
            break;
        case WH_REDELIVER:
            status = 202;
            webhook_delivery_json(&b, &op->delivery);
            break;
        }
        body = b.failed ? NULL : buf_take(&b, &len);
        if (body == NULL) {
            store_error(req, STORE_FAIL);
        } else {
            resp_json(&req->resp, status, body, len);
            if (op->kind == WH_CREATE)
                resp_header(&req->resp, "Location", loc);
        }
    }
    buf_free(&b);
    wh_op_free(op);
    req->resume(req);
}

static enum req_result
wh_submit(struct req *req, struct wh_op *op)
{
    memcpy(op->ep.org_id, req->auth.org_id, sizeof op->ep.org_id);
    op->ep.mode = req->auth.mode;
    op->req = req;
    op->w.kind = SW_CUSTOM;
    op->w.custom = wh_tx;
    op->w.hook_arg = op;
    op->w.done = wh_done;
    op->w.arg = op;
    req->suspend(req); /* before submit: the answer may come at once */
    store_submit(req->app->store, &op->w);
    return REQ_PENDING;
}

/* Auth (secret key), body, validation; NULL after answering. */
static struct wh_op *
wh_begin(struct req *req, bool create, bool with_body)
{
    struct problems p = {0};
    struct jsonx *doc = NULL;
    struct wh_op *op;

    if (!v1_auth(req, false) || (!create && !wh_endpoint_ref(req)))
        return NULL;
    if (with_body && (doc = v1_body(req, false)) == NULL)
        return NULL;
    op = calloc(1, sizeof *op);
    if (op == NULL) {
        jsonx_free(doc);
        store_error(req, STORE_FAIL);
        return NULL;
    }
    if (doc != NULL)
        wh_validate(doc, create, op, &p);
    jsonx_free(doc);
    if (p.n > 0) {
        validation_failed(req, &p);
        wh_op_free(op);
        return NULL;
    }
    if (op->has_url && op->ep.url == NULL) {
        store_error(req, STORE_FAIL);
        wh_op_free(op);
        return NULL;
    }
    if (!create)
        snprintf(op->ep.id, sizeof op->ep.id, "%.36s", req->param[0]);
    return op;
}

static enum req_result
h_wh_create(struct req *req)
{
    struct wh_op *op = wh_begin(req, true, true);
    size_t len;

    if (op == NULL)
        return REQ_DONE;
    op->kind = WH_CREATE;
    op->ep.created_ms = op->ep.updated_ms = clock_now_ms();
    webhook_endpoint_id_new(op->ep.created_ms, op->ep.id);
    webhook_secret_new(op->secret);
    len = strlen(op->secret);
    op->ep.secret_sealed = malloc(len + CRYPTO_SEAL_EXTRA);
    if (op->ep.secret_sealed == NULL) {
        store_error(req, STORE_FAIL);
        wh_op_free(op);
        return REQ_DONE;
    }
    crypto_seal(req->app->master, op->secret, len, op->ep.secret_sealed);
    op->ep.secret_sealed_len = len + CRYPTO_SEAL_EXTRA;
    return wh_submit(req, op);
}

static enum req_result
h_wh_update(struct req *req)
{
    struct wh_op *op = wh_begin(req, false, true);

    if (op == NULL)
        return REQ_DONE;
    op->kind = WH_UPDATE;
    return wh_submit(req, op);
}

static enum req_result
h_wh_delete(struct req *req)
{
    struct wh_op *op = wh_begin(req, false, false);

    if (op == NULL)
        return REQ_DONE;
    op->kind = WH_DELETE;
    return wh_submit(req, op);
}

static enum req_result
h_wh_redeliver(struct req *req)
{
    struct wh_op *op = wh_begin(req, false, false);

    if (op == NULL)
        return REQ_DONE;
    if (!webhook_is_delivery_id(req->param[1])) {
        problem_sendf(req, 404, "webhook_delivery_not_found", "no such delivery of this endpoint");
        wh_op_free(op);
        return REQ_DONE;
    }
    op->kind = WH_REDELIVER;
    snprintf(op->delivery_id, sizeof op->delivery_id, "%.36s", req->param[1]);
    webhook_delivery_id_new(clock_now_ms(), op->new_id);
    return wh_submit(req, op);
}

struct wh_read {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *id;
    struct wh_endpoint ep, *eps;
    size_t n;
    const char *after, *before;
    int limit;
    struct wh_delivery *dl;
    bool more;
};

static enum store_rc
wh_read_list(struct store_conn *c, void *arg)
{
    struct wh_read *r = arg;

    return wh_endpoint_list(c, r->org_id, r->mode, &r->eps, &r->n);
}

static enum store_rc
wh_read_one(struct store_conn *c, void *arg)
{
    struct wh_read *r = arg;

    return wh_endpoint_get(c, r->org_id, r->mode, r->id, &r->ep);
}

static enum store_rc
wh_read_deliveries(struct store_conn *c, void *arg)
{
    struct wh_read *r = arg;
    enum store_rc rc = wh_endpoint_get(c, r->org_id, r->mode, r->id, &r->ep);

    if (rc == STORE_OK)
        rc = wh_delivery_list(c, r->org_id, r->mode, r->id, r->after, r->before, r->limit, &r->dl,
                              &r->n, &r->more);
    return rc;
}

static void
wh_read_init(struct req *req, struct wh_read *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->org_id, req->auth.org_id, sizeof r->org_id);
    r->mode = req->auth.mode;
    r->id = req->param[0];
}

static bool
wh_no_query(struct req *req)
{
    static const char *const allowed[] = {NULL};
    const char *bad = req_query_unknown(req, allowed);

    if (bad != NULL)
        bad_query(req, bad, "unknown_field", "unknown query parameter");
    return bad == NULL;
}

static enum req_result
h_wh_list(struct req *req)
{
    struct wh_read r;
    struct buf b = {0};

    if (!v1_auth(req, false) || !wh_no_query(req))
        return REQ_DONE;
    wh_read_init(req, &r);
    if (store_error(req, req->app->store->ops->read(req->app->store, wh_read_list, &r)))
        return REQ_DONE;
    list_head(&b, "/v1/webhook_endpoints", false);
    for (size_t i = 0; i < r.n; i++) {
        if (i > 0)
            buf_puts(&b, ",");
        webhook_endpoint_json(&b, &r.eps[i], NULL);
    }
    wh_endpoints_free(r.eps, r.n);
    list_send(req, &b);
    return REQ_DONE;
}

static enum req_result
h_wh_get(struct req *req)
{
    struct wh_read r;
    struct buf b = {0};
    enum store_rc rc;
    size_t len = 0;
    char *body;

    if (!v1_auth(req, false) || !wh_endpoint_ref(req) || !wh_no_query(req))
        return REQ_DONE;
    wh_read_init(req, &r);
    rc = req->app->store->ops->read(req->app->store, wh_read_one, &r);
    if (rc == STORE_NOT_FOUND) {
        wh_not_found(req);
    } else if (!store_error(req, rc)) {
        webhook_endpoint_json(&b, &r.ep, NULL);
        body = b.failed ? NULL : buf_take(&b, &len);
        if (body == NULL)
            store_error(req, STORE_FAIL);
        else
            resp_json(&req->resp, 200, body, len);
    }
    buf_free(&b);
    wh_endpoint_free(&r.ep);
    return REQ_DONE;
}

static enum req_result
h_wh_deliveries(struct req *req)
{
    static const char *const allowed[] = {"limit", "starting_after", "ending_before", NULL};
    struct wh_read r;
    struct buf b = {0};
    enum store_rc rc;
    char url[96];

    if (!v1_auth(req, false) || !wh_endpoint_ref(req))
        return REQ_DONE;
    wh_read_init(req, &r);
    if (!list_params(req, allowed, webhook_is_delivery_id, &r.limit, &r.after, &r.before))
        return REQ_DONE;
    rc = req->app->store->ops->read(req->app->store, wh_read_deliveries, &r);
    if (rc == STORE_NOT_FOUND) {
        wh_not_found(req);
    } else if (!store_error(req, rc)) {
        snprintf(url, sizeof url, "/v1/webhook_endpoints/%s/deliveries", r.id);
        list_head(&b, url, r.more);
        for (size_t i = 0; i < r.n; i++) {
            if (i > 0)
                buf_puts(&b, ",");
            webhook_delivery_json(&b, &r.dl[i]);
        }
        list_send(req, &b);
    }
    wh_endpoint_free(&r.ep);
    wh_deliveries_free(r.dl, r.n);
    return REQ_DONE;
}

/* ---- service endpoints ---- */

static enum req_result
h_openapi(struct req *req)
{
    char *body = malloc(orderd_openapi_json_len);

    if (body == NULL)
        return store_error(req, STORE_FAIL), REQ_DONE;
    memcpy(body, orderd_openapi_json, orderd_openapi_json_len);
    resp_json(&req->resp, 200, body, orderd_openapi_json_len);
    return REQ_DONE;
}

static enum store_rc
metrics_backlog(struct store_conn *c, void *arg)
{
    struct metrics_scrape *sc = arg;

    return wh_backlog(c, &sc->wh_pending, &sc->wh_retrying);
}

static enum req_result
h_metrics(struct req *req)
{
    struct store *st = req->app->store;
    struct metrics_scrape sc = {0};
    struct buf b = {0};
    size_t len = 0;
    char *body;

    sc.backlog_ok = st->ops->read(st, metrics_backlog, &sc) == STORE_OK;
    metrics_render(&b, &sc);
    body = buf_take(&b, &len);
    if (body == NULL)
        return store_error(req, STORE_FAIL), REQ_DONE;
    resp_json(&req->resp, 200, body, len);
    req->resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return REQ_DONE;
}

static enum req_result
h_healthz(struct req *req)
{
    char *body = strdup("{\"status\":\"ok\"}");

    resp_json(&req->resp, 200, body, body ? strlen(body) : 0);
    return REQ_DONE;
}

static enum req_result
h_readyz(struct req *req)
{
    struct store *st = req->app->store;
    char why[64], *body;

    if (st->ops->ping(st) != STORE_OK) {
        problem_sendf(req, 503, "store_unavailable", "the order store does not answer");
        return REQ_DONE;
    }
    if (st->ops->write_health != NULL && st->ops->write_health(st, why, sizeof why) != STORE_OK) {
        problem_sendf(req, 503, "store_unavailable", "writes are failing: %s", why);
        resp_header(&req->resp, "Retry-After", "1");
        return REQ_DONE;
    }
    body = strdup("{\"status\":\"ready\"}");
    resp_json(&req->resp, 200, body, body ? strlen(body) : 0);
    return REQ_DONE;
}

struct origin_scan {
    const char *origin;
    bool allowed;
};

static bool
origin_scan_one(void *arg, const char *settings)
{
    struct origin_scan *s = arg;

    s->allowed = settings_origin_allowed(settings, s->origin);
    return !s->allowed; /* stop at the first org that allows it */
}

static enum req_result
v1_preflight(struct req *req)
{
    struct origin_scan scan = {req_header(req, "Origin"), false};

    if (scan.origin == NULL || !validate_origin(scan.origin, false)) {
        problem_sendf(req, 403, "origin_not_allowed", "a preflight needs a valid Origin");
        return REQ_DONE;
    }
    if (store_error(
            req, req->app->store->ops->orgs_settings_each(req->app->store, origin_scan_one, &scan)))
        return REQ_DONE;
    if (!scan.allowed) {
        problem_sendf(req, 403, "origin_not_allowed", "this Origin is not in allowed_origins");
        return REQ_DONE;
    }
    resp_json(&req->resp, 204, NULL, 0);
    req->resp.content_type = NULL;
    snprintf(req->cors_origin, sizeof req->cors_origin, "%s", scan.origin);
    resp_header(&req->resp, "Access-Control-Allow-Methods", "GET, POST, PATCH, OPTIONS");
    resp_header(&req->resp, "Access-Control-Allow-Headers",
                "Authorization, Content-Type, Idempotency-Key, If-Match");
    resp_header(&req->resp, "Access-Control-Max-Age", "600");
    return REQ_DONE;
}

static const struct api_route v1_routes[] = {
    {"GET", "/healthz", h_healthz},
    {"GET", "/readyz", h_readyz},
    {"GET", "/metrics", h_metrics},
    {"GET", "/v1/openapi.json", h_openapi},
    {"POST", "/v1/orders", h_create},
    {"GET", "/v1/orders", h_list},
    {"GET", "/v1/orders/{}", h_get},
    {"PATCH", "/v1/orders/{}", h_patch},
    {"POST", "/v1/orders/{}/cancel", h_cancel},
    {"GET", "/v1/events", h_events},
    {"POST", "/v1/webhook_endpoints", h_wh_create},
    {"GET", "/v1/webhook_endpoints", h_wh_list},
    {"GET", "/v1/webhook_endpoints/{}", h_wh_get},
    {"PATCH", "/v1/webhook_endpoints/{}", h_wh_update},
    {"DELETE", "/v1/webhook_endpoints/{}", h_wh_delete},
    {"GET", "/v1/webhook_endpoints/{}/deliveries", h_wh_deliveries},
    {"POST", "/v1/webhook_endpoints/{}/deliveries/{}/redeliver", h_wh_redeliver},
    {NULL, NULL, NULL},
};

static void
v1_http_error(struct req *req, int status, const char *code, const char *detail)
{
    problem_send(req, status, code, detail, NULL, NULL);
}

const struct api_dialect api_dialect_v1 = {
    .name = "v1",
    .prefix = "",
    .routes = v1_routes,
    .http_error = v1_http_error,
    .preflight = v1_preflight,
    .start = webhook_start,
    .stop = webhook_stop,
};

/* SPDX-License-Identifier: MIT */
/*
 * v1.c -- orderd's own API, /v1 (docs/api-v1.md, docs/openapi.json). Maps HTTP
 * requests to core calls and core results to RFC 9457 problems. The order rules live
 * in core/order.c; the write path (idempotency, group commit) in core/svc.c.
 */
#include "api/api.h"

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

struct query_check {
    const char *const *allowed;
    const char *bad;
};

static void
query_check_one(void *arg, const char *k, const char *v)
{
    struct query_check *qc = arg;
    bool ok = false;

    (void)v;
    for (int i = 0; qc->allowed[i] != NULL && !ok; i++)
        ok = strcmp(qc->allowed[i], k) == 0;
    if (!ok && qc->bad == NULL)
        qc->bad = k;
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
    struct query_check qc = {allowed, NULL};
    const char *l = req_query(req, "limit");
    char *end = NULL;
    long v;

    req->query_each(req, query_check_one, &qc);
    if (qc.bad != NULL) {
        bad_query(req, qc.bad, "unknown_field", "unknown query parameter");
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
    char *body;

    if (req->app->store->ops->ping(req->app->store) != STORE_OK) {
        problem_sendf(req, 503, "store_unavailable", "the order store does not answer");
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
    {"GET", "/healthz", h_healthz},         {"GET", "/readyz", h_readyz},
    {"GET", "/v1/openapi.json", h_openapi}, {"POST", "/v1/orders", h_create},
    {"GET", "/v1/orders", h_list},          {"GET", "/v1/orders/{}", h_get},
    {"PATCH", "/v1/orders/{}", h_patch},    {"POST", "/v1/orders/{}/cancel", h_cancel},
    {"GET", "/v1/events", h_events},        {NULL, NULL, NULL},
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
};

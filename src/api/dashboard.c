/* SPDX-License-Identifier: MIT */
/*
 * dashboard.c -- the merchant dashboard at /dashboard (docs/dashboard.md): its files,
 * compiled into the binary (tools/embed_assets.py), and its private JSON API under
 * /dashboard/api/. A secret key signs in once and is exchanged for a random session
 * token in an HttpOnly, SameSite=Strict cookie; the session lives in the store (token
 * hashed) with a sliding expiry, so several processes on one database share it and
 * sign-out ends it everywhere. Cookies are honoured here only: /v1 stays key-only.
 * Every answer carries a strict Content-Security-Policy and the other security
 * headers; state-changing calls also pass a same-origin check (CSRF).
 */
#include "api/api.h"

#include "core/app.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/order.h"
#include "core/problem.h"
#include "store/dashboard_store.h"
#include "store/store.h"
#include "store/webhook_store.h"
#include "webhook/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* tools/embed_assets.py writes the table with this same struct */
struct dashboard_asset {
    const char *path, *type;
    const unsigned char *data;
    size_t len;
};
extern const struct dashboard_asset orderd_dashboard_assets[];

#define COOKIE_NAME    "orderd_dashboard"
#define TOKEN_BYTES    32
#define TOKEN_HEX      (2 * TOKEN_BYTES)
#define CSRF_HEADER    "X-Orderd-Dashboard"
#define LIST_DEFAULT   25
#define EVENTS_MAX     100
#define HOUR_MS        (3600LL * 1000)
#define DAY_MS         (24 * HOUR_MS)
#define TOUCH_EVERY_MS (60LL * 1000)

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                          "data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/* Session lifetime: idle (sliding) and absolute, ORDERD_DASHBOARD_IDLE_MS and
 * ORDERD_DASHBOARD_MAX_AGE_MS; read once at start. */
static int64_t idle_ms = 12 * HOUR_MS;
static int64_t max_age_ms = 7 * DAY_MS;

/* ---- answers ---- */

/* The security headers of every dashboard answer (http.c adds Cache-Control: no-store
 * and X-Content-Type-Options: nosniff to every answer of orderd). */
static void
secure(struct req *req)
{
    struct resp *r = &req->resp;

    if (resp_header_get(r, "Content-Security-Policy") != NULL)
        return;
    resp_header(r, "Content-Security-Policy", csp);
    resp_header(r, "X-Frame-Options", "DENY");
    resp_header(r, "Referrer-Policy", "no-referrer");
    resp_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    resp_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

static void
store_error(struct req *req, enum store_rc rc)
{
    if (rc == STORE_UNAVAILABLE) {
        problem_sendf(req, 503, "store_unavailable", "the order store is unavailable; retry");
        resp_header(&req->resp, "Retry-After", "1");
    } else {
        problem_sendf(req, 500, "internal_error", "internal error; quote request id %s", req->id);
    }
}

static void
send_buf(struct req *req, int status, struct buf *b)
{
    size_t len = 0;
    char *body = b->failed ? NULL : buf_take(b, &len);

    if (body == NULL)
        store_error(req, STORE_FAIL);
    else
        resp_json(&req->resp, status, body, len);
    buf_free(b);
}

static void
cookie_set(struct req *req, const char *token)
{
    char v[160];

    if (token != NULL)
        snprintf(v, sizeof v, COOKIE_NAME "=%s; Path=/dashboard; HttpOnly; SameSite=Strict%s",
                 token, req->tls ? "; Secure" : "");
    else
        snprintf(v, sizeof v,
                 COOKIE_NAME "=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Strict%s",
                 req->tls ? "; Secure" : "");
    resp_header(&req->resp, "Set-Cookie", v);
}

static void
json_time(struct buf *b, const char *name, int64_t ms)
{
    char ts[CLOCK_RFC3339_LEN];

    if (ms == 0) {
        buf_printf(b, "\"%s\":null", name);
    } else {
        clock_format_ms(ms, ts);
        buf_printf(b, "\"%s\":\"%s\"", name, ts);
    }
}

static void
json_str(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, "\"%s\":", name);
    if (value == NULL)
        buf_puts(b, "null");
    else
        jsonx_quote(b, value);
}

/* ---- the session ---- */

/* The cookie's token (TOKEN_HEX lower-case hex digits) into token; false when absent or
 * malformed. */
static bool
cookie_token(struct req *req, char token[TOKEN_HEX + 1])
{
    const char *h = req_header(req, "Cookie"), *p = h;
    size_t n = strlen(COOKIE_NAME);
    bool found = false;

    while (p != NULL && *p != '\0' && !found) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, COOKIE_NAME, n) == 0 && p[n] == '=') {
            p += n + 1;
            found = strspn(p, "0123456789abcdef") == TOKEN_HEX &&
                    (p[TOKEN_HEX] == '\0' || p[TOKEN_HEX] == ';' || p[TOKEN_HEX] == ' ');
            if (found) {
                memcpy(token, p, TOKEN_HEX);
                token[TOKEN_HEX] = '\0';
            }
            break;
        }
        p = strchr(p, ';');
    }
    return found;
}

struct sess_read {
    uint8_t hash[CRYPTO_HASH_LEN];
    int64_t now;
    struct dash_session s;
};

static enum store_rc
sess_read_fn(struct store_conn *c, void *arg)
{
    struct sess_read *r = arg;

    return dash_session_get(c, r->hash, r->now, &r->s);
}

/* A use of the session, written in the background (not on every request). */
struct touch_op {
    struct store_write w;
    uint8_t hash[CRYPTO_HASH_LEN];
    int64_t seen_ms, expires_ms;
};

static enum store_rc
touch_tx(struct store_conn *c, void *arg)
{
    struct touch_op *t = arg;

    return dash_session_touch(c, t->hash, t->seen_ms, t->expires_ms);
}

static void
touch_done(struct store_write *w)
{
    free(w->arg);
}

static int64_t
session_expiry(int64_t created_ms, int64_t now)
{
    int64_t idle_end = now + idle_ms, hard_end = created_ms + max_age_ms;

    return idle_end < hard_end ? idle_end : hard_end;
}

static void
session_touch(struct req *req, const struct dash_session *s, int64_t now)
{
    int64_t every = idle_ms / 4 < TOUCH_EVERY_MS ? idle_ms / 4 : TOUCH_EVERY_MS;
    struct touch_op *t;

    if (now - s->seen_ms < every || (t = calloc(1, sizeof *t)) == NULL)
        return;
    memcpy(t->hash, s->token_hash, sizeof t->hash);
    t->seen_ms = now;
    t->expires_ms = session_expiry(s->created_ms, now);
    t->w.kind = SW_CUSTOM;
    t->w.custom = touch_tx;
    t->w.hook_arg = t;
    t->w.done = touch_done;
    t->w.arg = t;
    store_submit(req->app->store, &t->w);
}

/* The caller's session into s; answers 401 (and clears the cookie) when there is none. */
static bool
session_auth(struct req *req, struct dash_session *s)
{
    struct sess_read r;
    char token[TOKEN_HEX + 1];
    enum store_rc rc = STORE_NOT_FOUND;

    memset(&r, 0, sizeof r);
    r.now = clock_now_ms();
    if (cookie_token(req, token)) {
        crypto_sha256(token, TOKEN_HEX, r.hash);
        rc = req->app->store->ops->read(req->app->store, sess_read_fn, &r);
    }
    if (rc == STORE_OK) {
        *s = r.s;
        session_touch(req, s, r.now);
    } else if (rc == STORE_NOT_FOUND) {
        problem_sendf(req, 401, "not_signed_in",
                      "sign in with your secret key; the session is missing or has ended");
        cookie_set(req, NULL);
    } else {
        store_error(req, rc);
    }
    return rc == STORE_OK;
}

static bool
session_has_mode(const struct dash_session *s, enum key_mode m)
{
    return m == s->mode || (s->has_other && s->other_ok);
}

/* The mode a read is for: ?mode=test|live, by default the mode signed in with. */
static bool
session_mode(struct req *req, const struct dash_session *s, enum key_mode *mode)
{
    const char *m = req_query(req, "mode");
    bool ok = true;

    *mode = s->mode;
    if (m != NULL && strcmp(m, "test") != 0 && strcmp(m, "live") != 0) {
        problem_sendf(req, 400, "invalid_query", "mode must be test or live");
        ok = false;
    } else if (m != NULL) {
        *mode = strcmp(m, "live") == 0 ? MODE_LIVE : MODE_TEST;
        if (!session_has_mode(s, *mode)) {
            problem_sendf(req, 403, "mode_not_allowed",
                          "this session may read %s data only; sign in with the %s secret key "
                          "too to see %s data",
                          ids_mode_name(s->mode), m, m);
            ok = false;
        }
    }
    return ok;
}

/* The host[:port] of an origin ("https://shop.example:8443" -> "shop.example:8443"). */
static const char *
origin_authority(const char *origin)
{
    if (strncmp(origin, "http://", 7) == 0)
        return origin + 7;
    if (strncmp(origin, "https://", 8) == 0)
        return origin + 8;
    return NULL;
}

/* Against CSRF, for every state-changing call: our own request header (a cross-site
 * page cannot send it without a CORS preflight, which /dashboard never grants), and an
 * Origin and Sec-Fetch-Site, when the browser sends them, that name this very host. */
static bool
same_origin(struct req *req)
{
    const char *mark = req_header(req, CSRF_HEADER), *origin = req_header(req, "Origin");
    const char *site = req_header(req, "Sec-Fetch-Site"), *host = req_header(req, "Host");
    const char *auth = origin != NULL ? origin_authority(origin) : NULL;
    bool ok = mark != NULL && strcmp(mark, "1") == 0;

    if (ok && site != NULL)
        ok = strcmp(site, "same-origin") == 0;
    if (ok && origin != NULL)
        ok = auth != NULL && host != NULL && strcasecmp(auth, host) == 0;
    if (!ok)
        problem_sendf(req, 403, "cross_origin_refused",
                      "state-changing dashboard calls must come from the dashboard itself "
                      "(same Origin and the " CSRF_HEADER " header)");
    return ok;
}

/* ---- unknown query parameters ---- */

static bool
bad_query(struct req *req, const char *name, const char *msg)
{
    struct problems p = {0};

    problems_add(&p, name, "invalid_value", "%s", msg);
    problem_send(req, 400, "invalid_query", "invalid query parameter", &p, NULL);
    return false;
}

static bool
query_known(struct req *req, const char *const *allowed)
{
    const char *bad = req_query_unknown(req, allowed);

    return bad == NULL || bad_query(req, bad, "unknown query parameter");
}

static bool
query_limit(struct req *req, int dflt, int *limit)
{
    const char *l = req_query(req, "limit");
    char *end = NULL;
    long v;

    *limit = dflt;
    if (l == NULL)
        return true;
    v = strtol(l, &end, 10);
    if (l[0] == '\0' || *end != '\0' || v < 1 || v > LIMIT_LIST_MAX)
        return bad_query(req, "limit", "limit must be an integer from 1 to 100");
    *limit = (int)v;
    return true;
}

/* ---- files ---- */

static enum req_result
send_asset(struct req *req, const char *path)
{
    const struct dashboard_asset *a = orderd_dashboard_assets;
    char *body;

    secure(req);
    while (a->path != NULL && strcmp(a->path, path) != 0)
        a++;
    if (a->path == NULL) {
        problem_sendf(req, 404, "route_not_found", "no such dashboard file");
    } else if ((body = malloc(a->len + 1)) == NULL) {
        store_error(req, STORE_FAIL);
    } else {
        memcpy(body, a->data, a->len);
        resp_json(&req->resp, 200, body, a->len);
        req->resp.content_type = a->type;
    }
    return REQ_DONE;
}

static enum req_result
h_index(struct req *req)
{
    if (strcmp(req->path, "/dashboard") == 0) {
        secure(req);
        resp_json(&req->resp, 308, NULL, 0);
        req->resp.content_type = NULL;
        resp_header(&req->resp, "Location", "/dashboard/");
        return REQ_DONE;
    }
    return send_asset(req, "/index.html");
}

static enum req_result
h_asset(struct req *req)
{
    char path[130];

    snprintf(path, sizeof path, "/%s", req->param[0]);
    return send_asset(req, path);
}

/* ---- sign in, who am I, sign out ---- */

struct signin_op {
    struct store_write w;
    struct req *req;
    struct dash_session s;
    char token[TOKEN_HEX + 1];
};

static enum store_rc
signin_tx(struct store_conn *c, void *arg)
{
    struct signin_op *op = arg;
    enum store_rc rc = dash_session_purge(c, op->s.created_ms);

    if (rc == STORE_OK)
        rc = dash_session_insert(c, &op->s);
    return rc;
}

static void
session_json(struct buf *b, const struct dash_session *s, const char *org_name)
{
    buf_printf(b, "{\"object\":\"dashboard_session\",\"org\":{\"id\":\"%s\",", s->org_id);
    json_str(b, "name", org_name);
    buf_printf(b, "},\"mode\":\"%s\",\"modes\":[\"%s\"", ids_mode_name(s->mode),
               ids_mode_name(s->mode));
    if (s->has_other && s->other_ok)
        buf_printf(b, ",\"%s\"", ids_mode_name(s->mode == MODE_TEST ? MODE_LIVE : MODE_TEST));
    buf_puts(b, "],");
    json_time(b, "created_at", s->created_ms);
    buf_puts(b, ",");
    json_time(b, "expires_at", s->expires_ms);
    buf_printf(b, ",\"idle_timeout_seconds\":%lld}", (long long)(idle_ms / 1000));
}

static void
signin_done(struct store_write *w)
{
    struct signin_op *op = w->arg;
    struct req *req = op->req;
    struct org_rec org;
    struct buf b = {0};

    memset(&org, 0, sizeof org);
    if (w->rc != STORE_OK) {
        store_error(req, w->rc);
    } else {
        req->app->store->ops->org_get(req->app->store, op->s.org_id, &org);
        op->s.other_ok = op->s.has_other;
        session_json(&b, &op->s, org.name);
        send_buf(req, 201, &b);
        cookie_set(req, op->token);
    }
    org_rec_free(&org);
    crypto_random(op->token, sizeof op->token); /* scrub */
    free(op);
    req->resume(req);
}

/* A secret key of the request body's field name into a; answers 401/503 when it is not
 * a valid secret key. */
static bool
signin_key(struct req *req, const struct jsonx *doc, const char *name, struct auth *a)
{
    const struct jsonx *v = jsonx_get(doc, name);
    enum auth_rc rc = AUTH_INVALID;

    if (v != NULL && jsonx_type(v) == JX_STRING && jsonx_strlen(v) < IDS_KEY_LEN)
        rc = auth_key(req->app, jsonx_str(v), a);
    if (rc == AUTH_UNAVAILABLE) {
        store_error(req, STORE_UNAVAILABLE);
    } else if (rc == AUTH_RATE_LIMITED) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", (unsigned)a->rate.retry_after);
        problem_sendf(req, 429, "rate_limited", "too many requests with this key; retry after %s s",
                      ra);
        resp_header(&req->resp, "Retry-After", ra);
    } else if (rc != AUTH_OK)
        problem_sendf(req, 401, "invalid_api_key", "%s is not a valid API key",
                      strcmp(name, "key") == 0 ? "the key" : "the other mode's key");
    else if (a->kind != KEY_SECRET)
        problem_sendf(req, 401, "secret_key_required",
                      "sign in with a secret key (sk_test_... or sk_live_...), not a "
                      "publishable key");
    return rc == AUTH_OK && a->kind == KEY_SECRET;
}

static enum req_result
h_signin(struct req *req)
{
    const char *ct = req_header(req, "Content-Type");
    struct jsonx_error err;
    struct jsonx *doc = NULL;
    const struct jsonx *other;
    struct auth a, b;
    struct signin_op *op = NULL;
    enum req_result out = REQ_DONE;
    const char *key_text;

    secure(req);
    if (!same_origin(req))
        goto done;
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        problem_sendf(req, 415, "unsupported_media_type",
                      "send the body as Content-Type: application/json");
        goto done;
    }
    doc = jsonx_parse(req->body, req->body_len, LIMIT_JSON_DEPTH, &err);
    if (doc == NULL || jsonx_type(doc) != JX_OBJECT) {
        problem_sendf(req, 400, "invalid_body",
                      "the body must be a JSON object {\"key\":\"sk_...\"}");
        goto done;
    }
    if (jsonx_get(doc, "key") == NULL || (jsonx_type(jsonx_get(doc, "key")) == JX_STRING &&
                                          jsonx_strlen(jsonx_get(doc, "key")) == 0)) {
        problem_sendf(req, 401, "missing_api_key",
                      "enter your secret key (sk_test_... or sk_live_...)");
        goto done;
    }
    if (!signin_key(req, doc, "key", &a))
        goto done;
    other = jsonx_get(doc, "other_key");
    if (other != NULL && jsonx_type(other) == JX_STRING && jsonx_strlen(other) == 0)
        other = NULL;
    if (other != NULL && !signin_key(req, doc, "other_key", &b))
        goto done;
    if (other != NULL && (strcmp(a.org_id, b.org_id) != 0 || a.mode == b.mode)) {
        problem_sendf(req, 422, "invalid_other_key",
                      "the second key must be the same org's secret key of the other mode");
        goto done;
    }
    op = calloc(1, sizeof *op);
    if (op == NULL) {
        store_error(req, STORE_FAIL);
        goto done;
    }
    key_text = jsonx_str(jsonx_get(doc, "key"));
    crypto_sha256(key_text, strlen(key_text), op->s.key_hash);
    if (other != NULL) {
        op->s.has_other = true;
        crypto_sha256(jsonx_str(other), jsonx_strlen(other), op->s.other_hash);
    }
    {
        uint8_t raw[TOKEN_BYTES];
        crypto_random(raw, sizeof raw);
        crypto_hex(raw, sizeof raw, op->token);
        crypto_random(raw, sizeof raw); /* scrub */
    }
    crypto_sha256(op->token, TOKEN_HEX, op->s.token_hash);
    memcpy(op->s.org_id, a.org_id, sizeof op->s.org_id);
    op->s.mode = a.mode;
    op->s.created_ms = op->s.seen_ms = clock_now_ms();
    op->s.expires_ms = session_expiry(op->s.created_ms, op->s.created_ms);
    op->req = req;
    op->w.kind = SW_CUSTOM;
    op->w.custom = signin_tx;
    op->w.hook_arg = op;
    op->w.done = signin_done;
    op->w.arg = op;
    req->suspend(req); /* before submit: the answer may come at once */
    store_submit(req->app->store, &op->w);
    out = REQ_PENDING;
done:
    jsonx_free(doc);
    return out;
}

static enum req_result
h_whoami(struct req *req)
{
    static const char *const allowed[] = {NULL};
    struct dash_session s;
    struct org_rec org;
    struct buf b = {0};
    enum store_rc rc;

    secure(req);
    memset(&org, 0, sizeof org);
    if (!session_auth(req, &s) || !query_known(req, allowed))
        return REQ_DONE;
    rc = req->app->store->ops->org_get(req->app->store, s.org_id, &org);
    if (rc != STORE_OK) {
        store_error(req, rc);
    } else {
        session_json(&b, &s, org.name);
        send_buf(req, 200, &b);
    }
    org_rec_free(&org);
    return REQ_DONE;
}

struct signout_op {
    struct store_write w;
    struct req *req;
    uint8_t hash[CRYPTO_HASH_LEN];
};

static enum store_rc
signout_tx(struct store_conn *c, void *arg)
{
    struct signout_op *op = arg;

    return dash_session_delete(c, op->hash);
}

static void
signout_done(struct store_write *w)
{
    struct signout_op *op = w->arg;
    struct req *req = op->req;

    if (w->rc != STORE_OK) {
        store_error(req, w->rc);
    } else {
        resp_json(&req->resp, 204, NULL, 0);
        req->resp.content_type = NULL;
        cookie_set(req, NULL);
    }
    free(op);
    req->resume(req);
}

/* Deletes the session server-side (idempotent: 204 without a session too). */
static enum req_result
h_signout(struct req *req)
{
    char token[TOKEN_HEX + 1];
    struct signout_op *op;
    enum req_result out = REQ_DONE;

    secure(req);
    if (!same_origin(req))
        return REQ_DONE;
    if (!cookie_token(req, token)) {
        resp_json(&req->resp, 204, NULL, 0);
        req->resp.content_type = NULL;
        cookie_set(req, NULL);
    } else if ((op = calloc(1, sizeof *op)) == NULL) {
        store_error(req, STORE_FAIL);
    } else {
        crypto_sha256(token, TOKEN_HEX, op->hash);
        op->req = req;
        op->w.kind = SW_CUSTOM;
        op->w.custom = signout_tx;
        op->w.hook_arg = op;
        op->w.done = signout_done;
        op->w.arg = op;
        req->suspend(req);
        store_submit(req->app->store, &op->w);
        out = REQ_PENDING;
    }
    return out;
}

/* ---- orders ---- */

static bool
time_query(struct req *req, const char *name, bool *has, int64_t *ms)
{
    const char *v = req_query(req, name);

    *has = v != NULL && v[0] != '\0';
    return !*has || clock_parse(v, ms) == 0 ||
           bad_query(req, name, "must be RFC 3339 or Unix seconds");
}

static void
order_summary_json(struct buf *b, const struct order_row *o)
{
    buf_printf(b,
               "{\"id\":\"%s\",\"short_id\":\"%s\",\"dialect\":\"%s\",\"status\":\"%s\","
               "\"currency\":\"%s\",\"total_amount\":%lld,\"version\":%lld,",
               o->id, o->short_id, o->dialect, o->status, o->currency, (long long)o->total_amount,
               (long long)o->version);
    json_str(b, "external_id", o->external_id);
    buf_puts(b, ",");
    json_str(b, "customer_email", o->customer_email);
    buf_puts(b, ",");
    json_time(b, "created_at", o->created_ms);
    buf_puts(b, ",");
    json_time(b, "updated_at", o->updated_ms);
    buf_puts(b, "}");
}

struct list_read {
    struct dash_order_query q;
    struct order_row *rows;
    size_t n;
    bool more;
};

static enum store_rc
list_read_fn(struct store_conn *c, void *arg)
{
    struct list_read *r = arg;

    return dash_order_list(c, &r->q, &r->rows, &r->n, &r->more);
}

static enum req_result
h_orders(struct req *req)
{
    static const char *const allowed[] = {"mode",          "status", "dialect", "created_gte",
                                          "created_lte",   "q",      "limit",   "starting_after",
                                          "ending_before", NULL};
    struct dash_session s;
    struct list_read r;
    struct buf b = {0};
    char email[LIMIT_EMAIL_LEN + 1];
    const char *d;
    int64_t t0;
    enum store_rc rc;

    secure(req);
    memset(&r, 0, sizeof r);
    if (!session_auth(req, &s) || !query_known(req, allowed) || !session_mode(req, &s, &r.q.mode) ||
        !query_limit(req, LIST_DEFAULT, &r.q.limit) ||
        !time_query(req, "created_gte", &r.q.has_gte, &r.q.created_gte) ||
        !time_query(req, "created_lte", &r.q.has_lte, &r.q.created_lte))
        return REQ_DONE;
    memcpy(r.q.org_id, s.org_id, sizeof r.q.org_id);
    r.q.status = req_query(req, "status");
    if (r.q.status != NULL && r.q.status[0] == '\0')
        r.q.status = NULL;
    if (r.q.status != NULL && !order_status_valid(r.q.status))
        return bad_query(req, "status", "must be pending, confirmed, fulfilled or canceled"),
               REQ_DONE;
    d = req_query(req, "dialect");
    r.q.dialect = d != NULL && d[0] != '\0' ? d : NULL;
    if (r.q.dialect != NULL && strcmp(d, "v1") != 0 && api_dialect_find(d) == NULL)
        return bad_query(req, "dialect", "unknown dialect"), REQ_DONE;
    r.q.search = req_query(req, "q");
    if (r.q.search != NULL && r.q.search[0] == '\0')
        r.q.search = NULL;
    if (r.q.search != NULL) {
        snprintf(email, sizeof email, "%s", r.q.search);
        for (char *c = email; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        r.q.search_email = email;
    }
    r.q.starting_after = req_query(req, "starting_after");
    r.q.ending_before = req_query(req, "ending_before");
    if ((r.q.starting_after != NULL && !ids_is_uuid(r.q.starting_after)) ||
        (r.q.ending_before != NULL && !ids_is_uuid(r.q.ending_before)))
        return bad_query(req, r.q.starting_after ? "starting_after" : "ending_before",
                         "must be an order id from a previous page"),
               REQ_DONE;
    t0 = clock_mono_us();
    rc = req->app->store->ops->read(req->app->store, list_read_fn, &r);
    if (rc != STORE_OK) {
        store_error(req, rc);
        return REQ_DONE;
    }
    buf_printf(&b,
               "{\"object\":\"list\",\"mode\":\"%s\",\"has_more\":%s,\"took_ms\":%.3f,\"data\":[",
               ids_mode_name(r.q.mode), r.more ? "true" : "false",
               (double)(clock_mono_us() - t0) / 1000.0);
    for (size_t i = 0; i < r.n; i++) {
        if (i > 0)
            buf_puts(&b, ",");
        order_summary_json(&b, &r.rows[i]);
    }
    buf_puts(&b, "]}");
    order_rows_free(r.rows, r.n);
    send_buf(req, 200, &b);
    return REQ_DONE;
}

static enum req_result
h_order(struct req *req)
{
    static const char *const allowed[] = {"mode", NULL};
    struct dash_session s;
    struct order_row row;
    struct event_query q;
    struct event_row *ev = NULL;
    size_t n = 0;
    bool more = false;
    enum key_mode mode;
    enum store_rc rc;
    char ts[CLOCK_RFC3339_LEN];
    struct buf b = {0};

    secure(req);
    memset(&row, 0, sizeof row);
    if (!session_auth(req, &s) || !query_known(req, allowed) || !session_mode(req, &s, &mode))
        return REQ_DONE;
    if (!ids_is_uuid(req->param[0]) && !ids_is_short(req->param[0])) {
        problem_sendf(req, 404, "order_not_found", "no such order");
        return REQ_DONE;
    }
    rc = req->app->store->ops->order_get(req->app->store, s.org_id, mode, req->param[0], &row);
    if (rc == STORE_OK) {
        memset(&q, 0, sizeof q);
        memcpy(q.org_id, s.org_id, sizeof q.org_id);
        q.mode = mode;
        q.order_id = row.id;
        q.limit = EVENTS_MAX;
        rc = req->app->store->ops->event_list(req->app->store, &q, &ev, &n, &more);
    }
    if (rc == STORE_NOT_FOUND) {
        problem_sendf(req, 404, "order_not_found", "no such order");
    } else if (rc != STORE_OK) {
        store_error(req, rc);
    } else {
        buf_puts(&b, "{\"object\":\"dashboard_order\",\"summary\":");
        order_summary_json(&b, &row);
        buf_puts(&b, ",\"order\":");
        buf_append(&b, row.body, row.body_len);
        buf_printf(&b, ",\"events_has_more\":%s,\"events\":[", more ? "true" : "false");
        for (size_t i = 0; i < n; i++) {
            clock_format_ms(ev[i].created_ms, ts);
            buf_printf(&b,
                       "%s{\"id\":\"%s\",\"type\":\"%s\",\"created_at\":\"%s\","
                       "\"request_id\":\"%s\",\"data\":",
                       i ? "," : "", ev[i].id, ev[i].type, ts, ev[i].request_id);
            buf_puts(&b, ev[i].data);
            buf_puts(&b, "}");
        }
        buf_puts(&b, "]}");
        send_buf(req, 200, &b);
    }
    event_rows_free(ev, n);
    order_row_free(&row);
    return REQ_DONE;
}

/* ---- charts ---- */

struct stats_read {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    int64_t from, to, bucket_ms;
    struct dash_stat_row *rows;
    size_t n;
};

static enum store_rc
stats_read_fn(struct store_conn *c, void *arg)
{
    struct stats_read *r = arg;

    return dash_stats(c, r->org_id, r->mode, r->from, r->to, r->bucket_ms, &r->rows, &r->n);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Orders and revenue over the last 24 hours by hour (range=24h) or 7 days by day
 * (range=7d), the current hour or day included; days start at local midnight for
 * tz_offset (minutes east of UTC, as the browser knows it). */
static enum req_result
h_stats(struct req *req)
{
    static const char *const allowed[] = {"mode", "range", "tz_offset", NULL};
    const char *range = req_query(req, "range"), *tz = req_query(req, "tz_offset");
    struct dash_session s;
    struct stats_read r;
    struct buf b = {0};
    char *end = NULL;
    long off = 0;
    int n_buckets;
    int64_t t0, now = clock_now_ms(), off_ms;
    enum store_rc rc;
    char ts[CLOCK_RFC3339_LEN];

    secure(req);
    memset(&r, 0, sizeof r);
    if (!session_auth(req, &s) || !query_known(req, allowed) || !session_mode(req, &s, &r.mode))
        return REQ_DONE;
    if (range == NULL || strcmp(range, "24h") == 0) {
        r.bucket_ms = HOUR_MS;
        n_buckets = 24;
        range = "24h";
    } else if (strcmp(range, "7d") == 0) {
        r.bucket_ms = DAY_MS;
        n_buckets = 7;
    } else {
        return bad_query(req, "range", "must be 24h or 7d"), REQ_DONE;
    }
    if (tz != NULL) {
        off = strtol(tz, &end, 10);
        if (tz[0] == '\0' || *end != '\0' || off < -840 || off > 840 || off % 15 != 0)
            return bad_query(req, "tz_offset",
                             "must be minutes east of UTC, -840 to 840, a multiple of 15"),
                   REQ_DONE;
    }
    off_ms = (int64_t)off * 60000; /* a multiple of DASH_STATS_GRAIN_MS, as from and to */
    memcpy(r.org_id, s.org_id, sizeof r.org_id);
    r.to = (floor_div(now + off_ms, r.bucket_ms) + 1) * r.bucket_ms - off_ms;
    r.from = r.to - n_buckets * r.bucket_ms;
    t0 = clock_mono_us();
    rc = req->app->store->ops->read(req->app->store, stats_read_fn, &r);
    if (rc != STORE_OK) {
        store_error(req, rc);
        return REQ_DONE;
    }
    buf_printf(&b,
               "{\"object\":\"dashboard_stats\",\"mode\":\"%s\",\"range\":\"%s\","
               "\"bucket_ms\":%lld,\"buckets\":%d,\"took_ms\":%.3f,",
               ids_mode_name(r.mode), range, (long long)r.bucket_ms, n_buckets,
               (double)(clock_mono_us() - t0) / 1000.0);
    json_time(&b, "from", r.from);
    buf_puts(&b, ",");
    json_time(&b, "to", r.to);
    buf_puts(&b, ",\"rows\":[");
    for (size_t i = 0; i < r.n; i++) {
        clock_format_ms(r.from + r.rows[i].bucket * r.bucket_ms, ts);
        buf_printf(&b,
                   "%s{\"bucket\":%lld,\"start\":\"%s\",\"dialect\":\"%s\",\"currency\":\"%s\","
                   "\"orders\":%lld,\"revenue\":%lld}",
                   i ? "," : "", (long long)r.rows[i].bucket, ts, r.rows[i].dialect,
                   r.rows[i].currency, (long long)r.rows[i].orders, (long long)r.rows[i].revenue);
    }
    buf_puts(&b, "]}");
    free(r.rows);
    send_buf(req, 200, &b);
    return REQ_DONE;
}

/* ---- webhooks (read-only; changes go through /v1/webhook_endpoints) ---- */

struct wh_read {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *id, *after, *before;
    int limit;
    struct wh_endpoint ep, *eps;
    struct wh_delivery *dl;
    size_t n;
    bool more;
};

static enum store_rc
wh_list_fn(struct store_conn *c, void *arg)
{
    struct wh_read *r = arg;

    return wh_endpoint_list(c, r->org_id, r->mode, &r->eps, &r->n);
}

static enum store_rc
wh_deliveries_fn(struct store_conn *c, void *arg)
{
    struct wh_read *r = arg;
    enum store_rc rc = wh_endpoint_get(c, r->org_id, r->mode, r->id, &r->ep);

    if (rc == STORE_OK)
        rc = wh_delivery_list(c, r->org_id, r->mode, r->id, r->after, r->before, r->limit, &r->dl,
                              &r->n, &r->more);
    return rc;
}

static enum req_result
h_webhooks(struct req *req)
{
    static const char *const allowed[] = {"mode", NULL};
    struct dash_session s;
    struct wh_read r;
    struct buf b = {0};
    enum store_rc rc;

    secure(req);
    memset(&r, 0, sizeof r);
    if (!session_auth(req, &s) || !query_known(req, allowed) || !session_mode(req, &s, &r.mode))
        return REQ_DONE;
    memcpy(r.org_id, s.org_id, sizeof r.org_id);
    rc = req->app->store->ops->read(req->app->store, wh_list_fn, &r);
    if (rc != STORE_OK) {
        store_error(req, rc);
    } else {
        buf_printf(&b, "{\"object\":\"list\",\"mode\":\"%s\",\"has_more\":false,\"data\":[",
                   ids_mode_name(r.mode));
        for (size_t i = 0; i < r.n; i++) {
            if (i > 0)
                buf_puts(&b, ",");
            webhook_endpoint_json(&b, &r.eps[i], NULL);
        }
        buf_puts(&b, "]}");
        send_buf(req, 200, &b);
    }
    wh_endpoints_free(r.eps, r.n);
    return REQ_DONE;
}

static enum req_result
h_deliveries(struct req *req)
{
    static const char *const allowed[] = {"mode", "limit", "starting_after", "ending_before", NULL};
    struct dash_session s;
    struct wh_read r;
    struct buf b = {0};
    enum store_rc rc;

    secure(req);
    memset(&r, 0, sizeof r);
    if (!session_auth(req, &s) || !query_known(req, allowed) || !session_mode(req, &s, &r.mode) ||
        !query_limit(req, LIST_DEFAULT, &r.limit))
        return REQ_DONE;
    memcpy(r.org_id, s.org_id, sizeof r.org_id);
    r.id = req->param[0];
    r.after = req_query(req, "starting_after");
    r.before = req_query(req, "ending_before");
    if ((r.after != NULL && !webhook_is_delivery_id(r.after)) ||
        (r.before != NULL && !webhook_is_delivery_id(r.before)))
        return bad_query(req, r.after ? "starting_after" : "ending_before",
                         "must be a delivery id from a previous page"),
               REQ_DONE;
    rc = webhook_is_endpoint_id(r.id)
             ? req->app->store->ops->read(req->app->store, wh_deliveries_fn, &r)
             : STORE_NOT_FOUND;
    if (rc == STORE_NOT_FOUND) {
        problem_sendf(req, 404, "webhook_endpoint_not_found", "no such webhook endpoint");
    } else if (rc != STORE_OK) {
        store_error(req, rc);
    } else {
        buf_puts(&b, "{\"object\":\"list\",\"endpoint\":");
        webhook_endpoint_json(&b, &r.ep, NULL);
        buf_printf(&b, ",\"has_more\":%s,\"data\":[", r.more ? "true" : "false");
        for (size_t i = 0; i < r.n; i++) {
            if (i > 0)
                buf_puts(&b, ",");
            webhook_delivery_json(&b, &r.dl[i]);
        }
        buf_puts(&b, "]}");
        send_buf(req, 200, &b);
    }
    wh_endpoint_free(&r.ep);
    wh_deliveries_free(r.dl, r.n);
    return REQ_DONE;
}

/* ---- the org's settings (read-only: `orderd org set` changes them) ---- */

static enum req_result
h_settings(struct req *req)
{
    static const char *const allowed[] = {NULL};
    struct dash_session s;
    struct org_rec org;
    struct key_rec *keys = NULL;
    size_t n = 0;
    enum store_rc rc;
    struct buf b = {0};

    secure(req);
    memset(&org, 0, sizeof org);
    if (!session_auth(req, &s) || !query_known(req, allowed))
        return REQ_DONE;
    rc = req->app->store->ops->org_get(req->app->store, s.org_id, &org);
    if (rc == STORE_OK)
        rc = req->app->store->ops->org_keys(req->app->store, s.org_id, &keys, &n);
    if (rc != STORE_OK) {
        store_error(req, rc);
    } else {
        buf_printf(&b, "{\"object\":\"dashboard_settings\",\"org\":{\"id\":\"%s\",\"uuid\":\"%s\",",
                   org.id, org.uuid);
        json_str(&b, "name", org.name);
        buf_puts(&b, ",");
        json_time(&b, "created_at", org.created_ms);
        buf_puts(&b, "},\"settings\":");
        buf_puts(&b, org.settings != NULL ? org.settings : "{}");
        buf_puts(&b, ",\"keys\":[");
        for (size_t i = 0; i < n; i++) {
            buf_printf(&b, "%s{\"id\":\"%s\",\"mode\":\"%s\",\"kind\":\"%s\",", i ? "," : "",
                       keys[i].id, ids_mode_name(keys[i].mode),
                       keys[i].kind == KEY_SECRET ? "secret" : "publishable");
            json_str(&b, "display", keys[i].display);
            buf_puts(&b, ",");
            json_time(&b, "created_at", keys[i].created_ms);
            buf_puts(&b, ",");
            json_time(&b, "expires_at", keys[i].expires_ms);
            buf_puts(&b, ",");
            json_time(&b, "revoked_at", keys[i].revoked_ms);
            buf_puts(&b, ",");
            json_time(&b, "last_used_at", keys[i].last_used_ms);
            buf_puts(&b, "}");
        }
        buf_puts(&b, "]}");
        send_buf(req, 200, &b);
    }
    for (size_t i = 0; i < n; i++)
        key_rec_free(&keys[i]);
    free(keys);
    org_rec_free(&org);
    return REQ_DONE;
}

/* ---- the mount ---- */

static const struct api_route dash_routes[] = {
    {"POST", "/api/session", h_signin},
    {"GET", "/api/session", h_whoami},
    {"DELETE", "/api/session", h_signout},
    {"GET", "/api/orders", h_orders},
    {"GET", "/api/orders/{}", h_order},
    {"GET", "/api/stats", h_stats},
    {"GET", "/api/webhook_endpoints", h_webhooks},
    {"GET", "/api/webhook_endpoints/{}/deliveries", h_deliveries},
    {"GET", "/api/settings", h_settings},
    {"GET", "/", h_index},
    {"GET", "/{}", h_asset},
    {NULL, NULL, NULL},
};

static void
dash_http_error(struct req *req, int status, const char *code, const char *detail)
{
    problem_send(req, status, code, detail, NULL, NULL);
    secure(req);
}

static int
knob(const char *name, int64_t min, int64_t max, int64_t *out)
{
    const char *v = getenv(name);
    char *end = NULL;
    long long n;
    int rc = 0;

    if (v != NULL && v[0] != '\0') {
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno != 0 || *end != '\0' || n < min || n > max) {
            log_error("dashboard: %s=%s: must be an integer from %lld to %lld", name, v,
                      (long long)min, (long long)max);
            rc = -1;
        } else {
            *out = n;
        }
    }
    return rc;
}

static int
dash_start(struct app *app)
{
    (void)app;
    idle_ms = 12 * HOUR_MS;
    max_age_ms = 7 * DAY_MS;
    if (knob("ORDERD_DASHBOARD_IDLE_MS", 1000, 30 * DAY_MS, &idle_ms) != 0 ||
        knob("ORDERD_DASHBOARD_MAX_AGE_MS", 1000, 365 * DAY_MS, &max_age_ms) != 0)
        return -1;
    return 0;
}

const struct api_dialect api_dialect_dashboard = {
    .name = "dashboard",
    .prefix = "/dashboard",
    .routes = dash_routes,
    .http_error = dash_http_error,
    .start = dash_start,
    .main_only = true,
};

/* SPDX-License-Identifier: MIT */
/*
 * kohort.c -- the Kohort API, wire-compatible (../shared/dialects/kohort.md,
 * docs/dialects/kohort.md). Mounted at /kohort on the main listener and alone on
 * --dialect-listen kohort=ADDR:PORT.
 *
 * An order is a core order (one synthetic line of `amount` cents, EUR) whose body
 * carries the Kohort fields under "kohort"; its Kohort id is "ord_" + its short id.
 * Group joins, customers created on the fly and the order's link row are written by
 * a before_row hook in the order's own transaction, so a join is atomic with the order
 * and a full group refuses exactly the joins beyond its capacity. A background job
 * settles groups at expiry (one conditional UPDATE per group, exactly once).
 */
#include "api/api.h"

#include "core/metrics.h"
#include "core/app.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/kohort_rules.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/order.h"
#include "core/risk.h"
#include "core/settings.h"
#include "core/svc.h"
#include "core/validate.h"
#include "store/kohort_store.h"
#include "store/store.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define K_TAKE_MAX       25
#define K_MSGS           16
#define K_NAME_MAX       100
#define K_EMAIL_MAX      255
#define K_REF_MAX        50
#define K_PHONE_MAX      50
#define K_SETTLE_BATCH   32
#define K_JOB_MAX_SLEEP  30000
#define K_RISK_WINDOW_MS (24LL * 3600 * 1000)
#define K_TEST_DURATION  (10LL * 60 * 1000)
#define K_LIVE_DURATION  (90LL * 24 * 3600 * 1000)
#define K_CASE_SNAKE     1

/* ---- errors: {"error":{"type","message","code"}} ---- */

static void
k_send_error(struct req *req, int status, const char *code, const struct jsonx *message)
{
    struct jsonx *doc = jsonx_object(), *e = jsonx_object();
    size_t len = 0;
    char *body;

    jsonx_set_str(e, "type", status >= 500 ? "api_error" : "invalid_request_error");
    jsonx_set(e, "message", jsonx_copy(message));
    jsonx_set_str(e, "code", code);
    jsonx_set(doc, "error", e);
    body = jsonx_dump(doc, &len);
    jsonx_free(doc);
    resp_clear(&req->resp);
    resp_json(&req->resp, status, body, body ? len : 0);
}

static void k_error(struct req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
k_error(struct req *req, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    struct jsonx *m;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m = jsonx_text(msg);
    k_send_error(req, status, code, m);
    jsonx_free(m);
}

/* Body validation failures: message is an array of strings, as class-validator gives. */
struct msgs {
    int n;
    char m[K_MSGS][200];
};

static void msgs_add(struct msgs *ms, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
msgs_add(struct msgs *ms, const char *fmt, ...)
{
    va_list ap;

    if (ms->n >= K_MSGS)
        return;
    va_start(ap, fmt);
    vsnprintf(ms->m[ms->n++], sizeof ms->m[0], fmt, ap);
    va_end(ap);
}

static void
msgs_send(struct req *req, const struct msgs *ms)
{
    struct jsonx *arr = jsonx_array();

    for (int i = 0; i < ms->n; i++)
        jsonx_append(arr, jsonx_text(ms->m[i]));
    k_send_error(req, 400, "Bad Request", arr);
    jsonx_free(arr);
}

static void
k_store_error(struct req *req, enum store_rc rc)
{
    if (rc == STORE_UNAVAILABLE) {
        k_error(req, 503, "Service Unavailable", "The service is unavailable; retry.");
        resp_header(&req->resp, "Retry-After", "1");
    } else {
        k_error(req, 500, "Internal Server Error", "Internal Server Error");
    }
}

static const char *
status_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Bad Request";
    }
}

static void
k_http_error(struct req *req, int status, const char *code, const char *detail)
{
    (void)code;
    if (status == 404 && strcmp(code, "route_not_found") == 0)
        k_error(req, 404, "Not Found", "Cannot %s %s", req->method, req->path);
    else if (status >= 500)
        k_error(req, status, status_phrase(status),
                status == 503 ? "The service is unavailable; retry." : "Internal Server Error");
    else
        k_error(req, status, status_phrase(status), "%s", detail ? detail : status_phrase(status));
}

/* ---- case conversion ---- */

/* "customerEmail" -> "customer_email". */
static void
snake_of(const char *camel, char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = camel; *p && n + 2 < size; p++) {
        if (isupper((unsigned char)*p)) {
            if (n > 0)
                out[n++] = '_';
            out[n++] = (char)tolower((unsigned char)*p);
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* "customer_email" -> "customerEmail". */
static void
camel_of(const char *snake, char *out, size_t size)
{
    size_t n = 0;
    bool up = false;

    for (const char *p = snake; *p && n + 1 < size; p++) {
        if (*p == '_' && n > 0) {
            up = true;
            continue;
        }
        out[n++] = up ? (char)toupper((unsigned char)*p) : *p;
        up = false;
    }
    out[n] = '\0';
}

/* A new copy of v with every object key snake_cased, except inside "metadata". */
static struct jsonx *
snakeize(const struct jsonx *v)
{
    struct jsonx *out;
    char key[128];

    if (jsonx_type(v) == JX_ARRAY) {
        out = jsonx_array();
        for (size_t i = 0; i < jsonx_size(v); i++)
            jsonx_append(out, snakeize(jsonx_at(v, i)));
        return out;
    }
    if (jsonx_type(v) != JX_OBJECT)
        return jsonx_copy(v);
    out = jsonx_object();
    for (void *it = jsonx_iter(v); it != NULL; it = jsonx_next(v, it)) {
        const char *k = jsonx_iter_key(it);
        snake_of(k, key, sizeof key);
        jsonx_set(out, key,
                  strcmp(k, "metadata") == 0 ? jsonx_copy(jsonx_iter_value(it))
                                             : snakeize(jsonx_iter_value(it)));
    }
    return out;
}

/* Member of a request object by its camelCase name, or its snake_case form. */
static const struct jsonx *
kin(const struct jsonx *obj, const char *camel)
{
    char snake[64];
    const struct jsonx *v = jsonx_get(obj, camel);

    if (v != NULL)
        return v;
    snake_of(camel, snake, sizeof snake);
    return jsonx_get(obj, snake);
}

/* Sends doc (camelCase) in the org's response case; takes doc. */
static void
k_send(struct req *req, int status, struct jsonx *doc, bool snake)
{
    struct jsonx *out = snake ? snakeize(doc) : doc;
    size_t len = 0;
    char *body = jsonx_dump(out, &len);

    if (snake)
        jsonx_free(out);
    jsonx_free(doc);
    if (body == NULL) {
        k_store_error(req, STORE_FAIL);
        return;
    }
    resp_clear(&req->resp);
    resp_json(&req->resp, status, body, len);
}

/* ---- auth and body ---- */

static int
b64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Decodes base64 text into out (NUL-terminated). Returns 0 or -1. */
static int
b64_decode(const char *in, char *out, size_t size)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;

    for (; *in && *in != '='; in++) {
        int v = b64_value((unsigned char)*in);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= size)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    return 0;
}

/* Authenticates (Bearer KEY, or Basic with KEY as user name). */
static bool
k_auth(struct req *req, bool pk_ok)
{
    const char *h = req_header(req, "Authorization");
    char key[512], decoded[512];
    enum auth_rc rc;

    if (h == NULL || h[0] == '\0') {
        k_error(req, 401, "Unauthorized",
                "Invalid Authorization header. Expected: [Basic|Bearer] <credentials>");
        return false;
    }
    if (strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        snprintf(key, sizeof key, "%s", h);
    } else if (strncasecmp(h, "Basic ", 6) == 0) {
        h += 6;
        while (*h == ' ')
            h++;
        if (strlen(h) >= sizeof decoded || b64_decode(h, decoded, sizeof decoded) != 0) {
            k_error(req, 401, "Unauthorized", "Invalid Basic credentials.");
            return false;
        }
        decoded[strcspn(decoded, ":")] = '\0';
        snprintf(key, sizeof key, "%s", decoded);
    } else {
        k_error(req, 400, "Bad Request",
                "Authentication type 'Bearer' or 'Basic' required. Expected: [Basic|Bearer] "
                "<credentials>");
        return false;
    }
    rc = auth_key(req->app, key, &req->auth);
    if (rc == AUTH_UNAVAILABLE) {
        k_store_error(req, STORE_UNAVAILABLE);
        return false;
    }
    if (rc == AUTH_RATE_LIMITED) {
        k_error(req, 429, "Too Many Requests", "ThrottlerException: Too Many Requests");
        return false;
    }
    if (rc != AUTH_OK) {
        k_error(req, 401, "Unauthorized", "Invalid API key. Please check your api key.");
        return false;
    }
    if (req->auth.kind != KEY_SECRET && !pk_ok) {
        k_error(req, 403, "Forbidden",
                "This endpoint requires a secret key (sk_...); publishable keys are accepted "
                "on /payment-groups, /customers and code validation only.");
        return false;
    }
    return true;
}

/* The JSON object body; an empty body is an empty object when optional. */
static struct jsonx *
k_body(struct req *req, bool optional)
{
    const char *ct = req_header(req, "Content-Type");
    struct jsonx_error err;
    struct jsonx *doc;

    if (req->body_len == 0) {
        if (optional)
            return jsonx_object();
        k_error(req, 400, "Bad Request", "The request body must be a JSON object.");
        return NULL;
    }
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
        k_error(req, 415, "Unsupported Media Type",
                "Send the body as Content-Type: application/json.");
        return NULL;
    }
    doc = jsonx_parse(req->body, req->body_len, LIMIT_JSON_DEPTH, &err);
    if (doc == NULL) {
        if (err.code == JX_ERR_DEPTH)
            k_error(req, 400, "Bad Request", "JSON nesting deeper than %d.", LIMIT_JSON_DEPTH);
        else
            k_error(req, 400, "Bad Request", "Invalid JSON at line %d, column %d: %s", err.line,
                    err.column, err.text);
        return NULL;
    }
    if (jsonx_type(doc) != JX_OBJECT) {
        k_error(req, 400, "Bad Request", "The request body must be a JSON object, not %s.",
                jsonx_type_name(doc));
        jsonx_free(doc);
        return NULL;
    }
    return doc;
}

/* ---- the org's Kohort settings ---- */

struct kset {
    bool snake;
    struct kohort_tiers tiers;
    char tiers_text[128];
    int64_t duration_ms;
    int max_participants;
    int64_t min_amount;
};

/* Reads the org's settings; answers and returns false on a store error. */
static bool
kset_load(struct req *req, struct kset *ks)
{
    struct org_rec org;
    enum store_rc rc = req->app->store->ops->org_get(req->app->store, req->auth.org_id, &org);
    char v[LIMIT_SETTING_LEN], err[160];
    const char *s;

    memset(ks, 0, sizeof *ks);
    if (rc != STORE_OK) {
        k_store_error(req, rc == STORE_NOT_FOUND ? STORE_FAIL : rc);
        return false;
    }
    s = org.settings ? org.settings : "{}";
    settings_get(s, "kohort.response_case", v, sizeof v);
    ks->snake = strcmp(v, "snake") == 0;
    settings_get(s, "kohort.tiers", v, sizeof v);
    if (v[0] == '\0' || kohort_tiers_parse(v, &ks->tiers, err, sizeof err) != 0)
        kohort_tiers_default(&ks->tiers);
    kohort_tiers_format(&ks->tiers, ks->tiers_text, sizeof ks->tiers_text);
    settings_get(s, "kohort.group_duration", v, sizeof v);
    if (v[0] == '\0' || kohort_duration_parse(v, &ks->duration_ms, err, sizeof err) != 0)
        ks->duration_ms = req->auth.mode == MODE_LIVE ? K_LIVE_DURATION : K_TEST_DURATION;
    settings_get(s, "kohort.max_participants", v, sizeof v);
    ks->max_participants = v[0] ? (int)strtol(v, NULL, 10) : KOHORT_DEFAULT_MAX;
    if (ks->max_participants < KOHORT_MIN_PARTICIPANTS)
        ks->max_participants = KOHORT_DEFAULT_MAX;
    settings_get(s, "kohort.min_amount", v, sizeof v);
    ks->min_amount = v[0] ? strtoll(v, NULL, 10) : 0;
    org_rec_free(&org);
    return true;
}

/* The settings snapshot a group keeps (JSON text, malloc'd). */
static char *
kset_snapshot(const struct kset *ks)
{
    struct jsonx *o = jsonx_object();
    char *text;

    jsonx_set_str(o, "tiers", ks->tiers_text);
    jsonx_set_int(o, "maxParticipants", ks->max_participants);
    jsonx_set_int(o, "minPurchaseValue", ks->min_amount);
    jsonx_set_int(o, "durationMs", ks->duration_ms);
    text = jsonx_dump(o, NULL);
    jsonx_free(o);
    return text;
}

/* The tiers of a group's snapshot. */
static void
group_tiers(const struct kohort_group *g, struct kohort_tiers *t, int64_t *duration_ms)
{
    struct jsonx_error jerr;
    struct jsonx *o = jsonx_parse(g->settings, strlen(g->settings), 8, &jerr);
    const struct jsonx *v = o ? jsonx_get(o, "tiers") : NULL;
    char err[160];

    if (v == NULL || jsonx_type(v) != JX_STRING ||
        kohort_tiers_parse(jsonx_str(v), t, err, sizeof err) != 0)
        kohort_tiers_default(t);
    v = o ? jsonx_get(o, "durationMs") : NULL;
    if (duration_ms != NULL)
        *duration_ms = v && jsonx_type(v) == JX_INT ? jsonx_int(v) : g->expires_ms - g->created_ms;
    jsonx_free(o);
}

/* ---- rendering ---- */

static void
set_time(struct jsonx *o, const char *key, int64_t ms)
{
    char ts[CLOCK_RFC3339_LEN];

    if (ms <= 0) {
        jsonx_set_null(o, key);
        return;
    }
    clock_format_ms(ms, ts);
    jsonx_set_str(o, key, ts);
}

static struct jsonx *
json_text(const char *text)
{
    struct jsonx_error jerr;
    struct jsonx *v = text ? jsonx_parse(text, strlen(text), LIMIT_JSON_DEPTH, &jerr) : NULL;

    return v != NULL ? v : jsonx_object();
}

/* Copies key from src (or null). */
static void
copy_key(struct jsonx *dst, const struct jsonx *src, const char *key)
{
    const struct jsonx *v = src ? jsonx_get(src, key) : NULL;

    jsonx_set(dst, key, v != NULL ? jsonx_copy(v) : jsonx_null());
}

/* The Kohort order object (camelCase) of a stored order row. */
static struct jsonx *
order_json(const struct order_row *row)
{
    struct jsonx *doc = order_doc(row), *o = jsonx_object();
    const struct jsonx *k = doc ? jsonx_get(doc, "kohort") : NULL;
    char id[IDS_SHORT_LEN + 8];

    snprintf(id, sizeof id, "ord_%s", row->short_id);
    jsonx_set_str(o, "id", id);
    jsonx_set_bool(o, "livemode", row->mode == MODE_LIVE);
    jsonx_set_str(o, "organizationId", row->org_id);
    jsonx_set_int(o, "amount", row->total_amount);
    copy_key(o, k, "amountCashback");
    copy_key(o, k, "applicationFeeAmount");
    copy_key(o, k, "customerEmail");
    copy_key(o, k, "customerFirstName");
    copy_key(o, k, "customerLastName");
    copy_key(o, k, "customerPhoneNumber");
    copy_key(o, k, "paymentGroupShareId");
    copy_key(o, k, "customerId");
    jsonx_set_str(o, "currency", row->currency);
    copy_key(o, k, "locale");
    copy_key(o, k, "status");
    copy_key(o, doc, "metadata");
    copy_key(o, k, "paymentGroupId");
    copy_key(o, k, "ambassadorId");
    copy_key(o, k, "clientReferenceId");
    copy_key(o, k, "riskLevel");
    set_time(o, "createdAt", row->created_ms);
    copy_key(o, k, "createdBy");
    set_time(o, "updatedAt", row->updated_ms);
    copy_key(o, k, "updatedBy");
    jsonx_free(doc);
    return o;
}

static struct jsonx *
group_json(const struct kohort_group *g)
{
    struct jsonx *o = jsonx_object();
    int64_t dur = g->expires_ms - g->created_ms;

    jsonx_set_str(o, "id", g->id);
    jsonx_set_str(o, "shareId", g->share_id);
    jsonx_set_bool(o, "livemode", g->mode == MODE_LIVE);
    jsonx_set_str(o, "organizationId", g->org_id);
    jsonx_set_str(o, "customerId", g->customer_id);
    jsonx_set_str(o, "creatorEmail", g->creator_email);
    jsonx_set_str(o, "status", g->status);
    jsonx_set(o, "metadata", json_text(g->metadata));
    set_time(o, "expiresAt", g->expires_ms);
    set_time(o, "midExpireAt", dur <= 7LL * 86400000 ? g->created_ms + dur / 2 : 0);
    set_time(o, "jMinus2ExpireAt", dur > 7LL * 86400000 ? g->expires_ms - 5LL * 86400000 : 0);
    set_time(o, "jPlus3StartAt", dur > 7LL * 86400000 ? g->created_ms + 7LL * 86400000 : 0);
    jsonx_set_str(o, "reminderEmailSent", "NOT_SENT");
    jsonx_set_int(o, "participantsCount", g->n_orders);
    set_time(o, "createdAt", g->created_ms);
    jsonx_set_null(o, "createdBy");
    set_time(o, "updatedAt", g->updated_ms);
    jsonx_set_null(o, "updatedBy");
    set_time(o, "canceledAt", g->canceled_ms);
    set_time(o, "completedAt", g->completed_ms);
    return o;
}

static struct jsonx *
level_json(const struct kohort_tiers *t, int i)
{
    struct jsonx *o = jsonx_object();

    jsonx_set_int(o, "level", i + 1);
    if (t->fixed)
        jsonx_set(o, "value",
                  t->t[i].value % 100 == 0 ? jsonx_integer(t->t[i].value / 100)
                                           : jsonx_real_new((double)t->t[i].value / 100.0));
    else
        jsonx_set_int(o, "value", t->t[i].value);
    jsonx_set_int(o, "participantsToUnlock", t->t[i].members);
    return o;
}

/* The group with its settings and the level a new member would reach (validate). */
static struct jsonx *
group_validate_json(const struct kohort_group *g)
{
    struct jsonx *o = group_json(g), *levels = jsonx_array();
    struct kohort_tiers t;
    int64_t dur;
    int members = g->n_orders + 1, lvl;

    group_tiers(g, &t, &dur);
    if (members < 2)
        members = 2;
    lvl = kohort_tier_reached(&t, members);
    jsonx_set_str(o, "discountType", t.fixed ? "AMOUNT" : "PERCENTAGE");
    for (int i = 0; i < t.n; i++)
        jsonx_append(levels, level_json(&t, i));
    jsonx_set(o, "discountLevels", levels);
    jsonx_set_int(o, "maxParticipants", g->max_participants);
    jsonx_set_int(o, "minutesDuration", dur / 60000);
    jsonx_set_int(o, "minPurchaseValue", g->min_amount);
    jsonx_set(o, "currentDiscountLevel", lvl >= 0 ? level_json(&t, lvl) : jsonx_null());
    return o;
}

static struct jsonx *
customer_json(const struct kohort_customer *cu)
{
    struct jsonx *o = jsonx_object();

    jsonx_set_str(o, "id", cu->id);
    jsonx_set_str(o, "emailAddress", cu->email);
    jsonx_set_str(o, "firstName", cu->first_name);
    jsonx_set_str(o, "lastName", cu->last_name);
    jsonx_set_str(o, "phoneNumber", cu->phone);
    jsonx_set_bool(o, "livemode", cu->mode == MODE_LIVE);
    jsonx_set_str(o, "locale", cu->locale ? cu->locale : "fr_FR");
    jsonx_set_bool(o, "isBlocked", cu->blocked);
    jsonx_set_str(o, "organizationId", cu->org_id);
    jsonx_set_str(o, "clientReferenceId", cu->client_ref);
    jsonx_set(o, "metadata", json_text(cu->metadata));
    set_time(o, "createdAt", cu->created_ms);
    jsonx_set_null(o, "createdBy");
    set_time(o, "updatedAt", cu->updated_ms);
    jsonx_set_null(o, "updatedBy");
    set_time(o, "blockedAt", cu->blocked_ms);
    jsonx_set_null(o, "blockedBy");
    set_time(o, "deletedAt", cu->deleted_ms);
    return o;
}

/* Fills an event row; data is taken. */
static void
event_make(struct event_row *e, const char *org_id, enum key_mode mode, const char *type,
           const char *order_id, const char *request_id, char *data, int64_t now)
{
    memset(e, 0, sizeof *e);
    ids_event(now, e->id);
    snprintf(e->org_id, sizeof e->org_id, "%s", org_id);
    e->mode = mode;
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->order_id, sizeof e->order_id, "%s", order_id);
    e->created_ms = now;
    snprintf(e->request_id, sizeof e->request_id, "%s", request_id);
    e->data = data;
}

/* Writes a payment_group.* event for g (its creator order's id, else the group id). */
static enum store_rc
group_event(struct store_conn *c, const struct kohort_group *g, const char *type,
            const char *request_id, int64_t now)
{
    struct jsonx *doc = group_json(g);
    struct event_row e;
    enum store_rc rc;

    event_make(&e, g->org_id, g->mode, type, g->creator_order[0] ? g->creator_order : g->id,
               request_id, jsonx_dump(doc, NULL), now);
    jsonx_free(doc);
    rc = e.data != NULL ? kohort_event_insert(c, &e) : STORE_FAIL;
    free(e.data);
    return rc;
}

/* Share codes as people type them: "kht-test-ab12cd34" is "KHT-test-AB12CD34". */
static void
share_norm(char *s)
{
    if (strncasecmp(s, "KHT-", 4) != 0)
        return;
    for (char *p = s; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strncmp(s, "KHT-TEST-", 9) == 0)
        memcpy(s + 4, "test", 4);
}

/* ---- field checks ---- */

/* Optional string of at most max characters; NULL when absent or null. Returns false
 * (message added) when present with a wrong type or length. */
static bool
v_str(struct msgs *ms, const struct jsonx *obj, const char *name, size_t max, const char **out)
{
    const struct jsonx *v = kin(obj, name);

    *out = NULL;
    if (v == NULL || jsonx_type(v) == JX_NULL)
        return true;
    if (jsonx_type(v) != JX_STRING) {
        msgs_add(ms, "%s must be a string", name);
        return false;
    }
    if (validate_utf8_len(jsonx_str(v)) > max) {
        msgs_add(ms, "%s must be shorter than or equal to %zu characters", name, max);
        return false;
    }
    if (!validate_text(jsonx_str(v), jsonx_strlen(v), false)) {
        msgs_add(ms, "%s must not contain control characters", name);
        return false;
    }
    *out = jsonx_str(v);
    return true;
}

static void
v_email(struct msgs *ms, const struct jsonx *obj, const char *name, const char **out)
{
    if (!v_str(ms, obj, name, K_EMAIL_MAX, out) || *out == NULL)
        return;
    if (!validate_email(*out)) {
        msgs_add(ms, "%s must be an email", name);
        *out = NULL;
    } else if (risk_email_disposable(*out)) {
        msgs_add(ms, "%s must not be a disposable email address", name);
        *out = NULL;
    }
}

/* metadata: an object of string values (the canonical rules check the bounds). */
static const struct jsonx *
v_meta(struct msgs *ms, const struct jsonx *obj)
{
    const struct jsonx *m = kin(obj, "metadata");

    if (m == NULL || jsonx_type(m) == JX_NULL)
        return NULL;
    if (jsonx_type(m) != JX_OBJECT) {
        msgs_add(ms, "metadata must be an object");
        return NULL;
    }
    for (void *it = jsonx_iter(m); it != NULL; it = jsonx_next(m, it))
        if (jsonx_type(jsonx_iter_value(it)) != JX_STRING) {
            msgs_add(ms, "metadata.%s must be a string", jsonx_iter_key(it));
            return NULL;
        }
    if (jsonx_size(m) > LIMIT_META_KEYS) {
        msgs_add(ms, "metadata must have at most %d keys", LIMIT_META_KEYS);
        return NULL;
    }
    return m;
}

/* locale: en_US, en_GB (stored as en_US) or fr_FR; default fr_FR. */
static const char *
v_locale(struct msgs *ms, const struct jsonx *obj)
{
    const char *s;

    if (!v_str(ms, obj, "locale", 16, &s))
        return NULL;
    if (s == NULL || strcmp(s, "fr_FR") == 0)
        return "fr_FR";
    if (strcmp(s, "en_US") == 0 || strcmp(s, "en_GB") == 0)
        return "en_US";
    msgs_add(ms, "locale must be one of the following values: en_US, en_GB, fr_FR");
    return NULL;
}

/* amount: integer cents > 0 (a whole number sent as 1000.0 is accepted). */
static bool
v_amount(struct msgs *ms, const struct jsonx *obj, bool required, int64_t *out)
{
    const struct jsonx *v = kin(obj, "amount");
    int64_t cents = 0;

    *out = 0;
    if (v == NULL || jsonx_type(v) == JX_NULL) {
        if (required)
            msgs_add(ms, "amount must be a positive number");
        return !required;
    }
    if (jsonx_type(v) == JX_INT) {
        cents = jsonx_int(v);
    } else if (jsonx_type(v) == JX_REAL && jsonx_real(v) < 9.0e15 && jsonx_real(v) > -9.0e15 &&
               jsonx_real(v) == (double)(int64_t)jsonx_real(v)) { /* in range, then cast */
        cents = (int64_t)jsonx_real(v);
    } else {
        msgs_add(ms, jsonx_type(v) == JX_REAL ? "amount must be an integer number of cents"
                                              : "amount must be a positive number");
        return false;
    }
    if (cents <= 0) {
        msgs_add(ms, "amount must be a positive number");
        return false;
    }
    if (cents > LIMIT_AMOUNT_MAX) {
        msgs_add(ms, "amount must not be greater than %lld", (long long)LIMIT_AMOUNT_MAX);
        return false;
    }
    *out = cents;
    return true;
}

static void
lower_copy(char *dst, size_t size, const char *src)
{
    size_t i = 0;

    for (; src && src[i] && i + 1 < size; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

/* Maps a canonical field path back to its Kohort name. */
static const char *
wire_field(const char *field)
{
    static const char *const map[][2] = {
        {"customer.email", "customerEmail"},
        {"customer.first_name", "customerFirstName"},
        {"customer.last_name", "customerLastName"},
        {"customer.phone", "customerPhoneNumber"},
        {"customer.id", "customerId"},
        {"external_id", "clientReferenceId"},
        {"total_amount", "amount"},
        {"line_items", "amount"},
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(field, map[i][0], strlen(map[i][0])) == 0)
            return map[i][1];
    return field;
}

/* ---- POST /orders ---- */

enum kfail {
    KF_NONE,
    KF_GROUP_NOT_FOUND,
    KF_GROUP_CLOSED,
    KF_GROUP_FULL,
    KF_EMAIL_USED,
    KF_AMOUNT_LOW,
    KF_BLOCKED,
    KF_CUSTOMER_NOT_FOUND,
    KF_RETRY,
};

struct kcreate {
    struct kset ks;
    bool join;                 /* else a new group */
    struct kohort_group group; /* the new group, or the group to join (as read) */
    struct kohort_customer cu; /* the customer (existing, or to create) */
    bool cu_new, cu_touch;     /* create it; restore it / store a new phone */
    char email_lc[K_EMAIL_MAX + 1];
    char *client_ref, *phone; /* owned copies */
    int64_t amount;
    enum kfail fail;
    char req_id[IDS_REQUEST_LEN];
};

static void
kcreate_free(struct kcreate *kc)
{
    if (kc == NULL)
        return;
    kohort_group_free(&kc->group);
    kohort_customer_free(&kc->cu);
    free(kc->client_ref);
    free(kc->phone);
    free(kc);
}

static void
kfail_send(struct req *req, enum kfail f, const struct kcreate *kc)
{
    switch (f) {
    case KF_GROUP_NOT_FOUND:
        k_error(req, 404, "NOT_FOUND", "Payment group not found.");
        break;
    case KF_GROUP_CLOSED:
        k_error(req, 400, "COMPLETED_EXPIRED_CANCELED",
                "The payment group is completed, expired or canceled.");
        break;
    case KF_GROUP_FULL:
        k_error(req, 400, "MAX_PARTICIPANTS_REACHED",
                "The payment group has reached its maximum number of participants.");
        break;
    case KF_EMAIL_USED:
        k_error(req, 400, "EMAIL_ALREADY_USED", "This email is already used in the payment group.");
        break;
    case KF_AMOUNT_LOW:
        k_error(req, 400, "AMOUNT_TOO_LOW", "The minimum purchase value is %lld.",
                (long long)(kc && kc->join ? kc->group.min_amount
                            : kc           ? kc->ks.min_amount
                                           : 0));
        break;
    case KF_BLOCKED:
        k_error(req, 400, "CUSTOMER_BLOCKED", "The customer is blocked.");
        break;
    case KF_CUSTOMER_NOT_FOUND:
        k_error(req, 404, "NOT_FOUND", "Customer not found.");
        break;
    case KF_RETRY:
        k_error(req, 409, "Conflict", "A concurrent request changed this customer; retry.");
        break;
    case KF_NONE:
        k_store_error(req, STORE_FAIL);
        break;
    }
}

/* Why a group cannot take one more order now (KF_NONE when it can). */
static enum kfail
group_refusal(const struct kohort_group *g, int64_t now)
{
    if (strcmp(g->status, "OPEN") != 0 || g->expires_ms <= now)
        return KF_GROUP_CLOSED;
    if (g->n_orders >= g->max_participants)
        return KF_GROUP_FULL;
    return KF_NONE;
}

/* In the order's transaction, with its final id: the customer, the group (created or
 * joined), the link row, and the payment_group.* event. */
static enum store_rc
create_before_row(struct store_conn *c, struct order_row *row, void *arg)
{
    struct kcreate *kc = arg;
    struct kohort_customer cur;
    struct kohort_link l;
    struct kohort_group g;
    int64_t now = row->created_ms;
    enum store_rc rc;
    bool used;

    if (kc->cu_new) {
        rc = kohort_customer_by_email(c, row->org_id, row->mode, kc->email_lc, &cur);
        if (rc == STORE_OK) {
            bool same = strcmp(cur.id, kc->cu.id) == 0;
            kohort_customer_free(&cur);
            if (!same) {
                kc->fail = KF_RETRY;
                return STORE_CONFLICT;
            }
        } else if (rc == STORE_NOT_FOUND) {
            kc->cu.created_ms = kc->cu.updated_ms = now;
            if ((rc = kohort_customer_insert(c, &kc->cu)) != STORE_OK) {
                kc->fail = rc == STORE_CONFLICT ? KF_RETRY : KF_NONE;
                return rc;
            }
        } else {
            return rc;
        }
    } else {
        rc = kohort_customer_get(c, row->org_id, row->mode, kc->cu.id, &cur);
        if (rc != STORE_OK) {
            kc->fail = rc == STORE_NOT_FOUND ? KF_CUSTOMER_NOT_FOUND : KF_NONE;
            return rc == STORE_NOT_FOUND ? STORE_CONFLICT : rc;
        }
        if (cur.blocked) {
            kohort_customer_free(&cur);
            kc->fail = KF_BLOCKED;
            return STORE_CONFLICT;
        }
        if (cur.deleted_ms != 0 ||
            (kc->phone != NULL && (cur.phone == NULL || strcmp(cur.phone, kc->phone) != 0))) {
            cur.deleted_ms = 0;
            if (kc->phone != NULL) {
                free(cur.phone);
                cur.phone = strdup(kc->phone);
            }
            cur.updated_ms = now;
            rc = kohort_customer_update(c, &cur);
        }
        kohort_customer_free(&cur);
        if (rc != STORE_OK)
            return rc;
    }
    if (!kc->join) {
        snprintf(kc->group.creator_order, sizeof kc->group.creator_order, "%s", row->id);
        kc->group.created_ms = kc->group.updated_ms = now;
        kc->group.expires_ms = now + kc->ks.duration_ms;
        if ((rc = kohort_group_insert(c, &kc->group)) != STORE_OK) {
            kc->fail = rc == STORE_CONFLICT ? KF_RETRY : KF_NONE;
            return rc;
        }
    } else {
        if (kc->amount < kc->group.min_amount) {
            kc->fail = KF_AMOUNT_LOW;
            return STORE_CONFLICT;
        }
        rc = kohort_link_email_used(c, row->org_id, row->mode, kc->group.id, kc->email_lc, &used);
        if (rc != STORE_OK)
            return rc;
        if (used) {
            kc->fail = KF_EMAIL_USED;
            return STORE_CONFLICT;
        }
        rc = kohort_group_join(c, row->org_id, row->mode, kc->group.id, now);
        if (rc == STORE_CONFLICT) {
            if (kohort_group_get(c, row->org_id, row->mode, kc->group.id, &g) == STORE_OK) {
                kc->fail = group_refusal(&g, now);
                kohort_group_free(&g);
            }
            if (kc->fail == KF_NONE)
                kc->fail = KF_GROUP_CLOSED;
            return STORE_CONFLICT;
        }
        if (rc != STORE_OK)
            return rc;
    }
    memset(&l, 0, sizeof l);
    snprintf(l.org_id, sizeof l.org_id, "%s", row->org_id);
    l.mode = row->mode;
    snprintf(l.order_id, sizeof l.order_id, "%s", row->id);
    snprintf(l.group_id, sizeof l.group_id, "%s", kc->group.id);
    snprintf(l.customer_id, sizeof l.customer_id, "%s", kc->cu.id);
    l.customer_email = kc->email_lc;
    l.customer_phone = kc->phone;
    l.client_ref = kc->client_ref;
    snprintf(l.status, sizeof l.status, "CREATED");
    l.amount = kc->amount;
    l.created_ms = now;
    rc = kohort_link_insert(c, &l);
    if (rc == STORE_CONFLICT)
        kc->fail = KF_EMAIL_USED;
    if (rc != STORE_OK)
        return rc;
    rc = kohort_group_get(c, row->org_id, row->mode, kc->group.id, &g);
    if (rc != STORE_OK)
        return rc;
    rc = group_event(c, &g, kc->join ? "payment_group.joined" : "payment_group.created", kc->req_id,
                     now);
    kohort_group_free(&g);
    return rc;
}

static void job_kick(int64_t at_ms);

static void
create_ok(struct req *req, const struct order_row *row, bool created, void *arg)
{
    struct kcreate *kc = arg;

    (void)created;
    k_send(req, 201, order_json(row), kc->ks.snake);
    if (!kc->join)
        job_kick(row->created_ms + kc->ks.duration_ms);
}

static void
create_err(struct req *req, enum svc_err err, const struct svc_info *info, void *arg)
{
    struct kcreate *kc = arg;

    (void)info;
    switch (err) {
    case SVC_EXTERNAL_ID_CONFLICT:
        k_error(req, 400, "Bad Request", "Order with client reference id %s already exists.",
                kc->client_ref ? kc->client_ref : "");
        break;
    case SVC_HOOK_FAILED:
        kfail_send(req, kc->fail, kc);
        break;
    case SVC_IDEM_BAD_KEY:
        k_error(req, 400, "Bad Request", "Invalid Idempotency-Key header.");
        break;
    case SVC_IDEM_IN_USE:
    case SVC_IDEM_MISMATCH:
        k_error(req, 409, "Conflict", "This Idempotency-Key is in use by another request.");
        break;
    case SVC_UNAVAILABLE:
        k_store_error(req, STORE_UNAVAILABLE);
        break;
    default:
        k_store_error(req, STORE_FAIL);
        break;
    }
}

static void
create_release(void *arg)
{
    kcreate_free(arg);
}

/* What the create needs from the store before the write. */
struct kprep {
    struct kcreate *kc;
    const char *customer_id, *share;
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    struct risk_input risk;
    struct risk_peer peer;
    struct kohort_customer creator;
    int64_t now;
};

static enum store_rc
create_prepare(struct store_conn *c, void *arg)
{
    struct kprep *p = arg;
    struct kcreate *kc = p->kc;
    enum store_rc rc;

    if (p->customer_id != NULL) {
        rc = kohort_customer_get(c, p->org_id, p->mode, p->customer_id, &kc->cu);
        if (rc == STORE_NOT_FOUND) {
            kc->fail = KF_CUSTOMER_NOT_FOUND;
            return STORE_OK;
        }
    } else {
        rc = kohort_customer_by_email(c, p->org_id, p->mode, kc->email_lc, &kc->cu);
        if (rc == STORE_NOT_FOUND) {
            kc->cu_new = true;
            rc = STORE_OK;
        }
    }
    if (rc != STORE_OK)
        return rc;
    snprintf(kc->cu.org_id, sizeof kc->cu.org_id, "%s", p->org_id);
    kc->cu.mode = p->mode;
    if (!kc->cu_new && kc->cu.blocked) {
        kc->fail = KF_BLOCKED;
        return STORE_OK;
    }
    if (!kc->cu_new)
        lower_copy(kc->email_lc, sizeof kc->email_lc, kc->cu.email);
    if (p->share != NULL) {
        bool used = false;
        rc = kohort_group_get(c, kc->cu.org_id, kc->cu.mode, p->share, &kc->group);
        if (rc == STORE_NOT_FOUND) {
            kc->fail = KF_GROUP_NOT_FOUND;
            return STORE_OK;
        }
        if (rc != STORE_OK)
            return rc;
        kc->fail = group_refusal(&kc->group, p->now);
        if (kc->fail != KF_NONE)
            return STORE_OK;
        rc = kohort_link_email_used(c, kc->cu.org_id, kc->cu.mode, kc->group.id, kc->email_lc,
                                    &used);
        if (rc != STORE_OK)
            return rc;
        if (used) {
            kc->fail = KF_EMAIL_USED;
            return STORE_OK;
        }
        if (kc->amount < kc->group.min_amount) {
            kc->fail = KF_AMOUNT_LOW;
            return STORE_OK;
        }
        if (kohort_customer_get(c, kc->cu.org_id, kc->cu.mode, kc->group.customer_id,
                                &p->creator) == STORE_OK) {
            p->peer.email = p->creator.email;
            p->peer.phone = p->creator.phone;
            p->peer.first_name = p->creator.first_name;
            p->peer.last_name = p->creator.last_name;
            p->risk.peers = &p->peer;
            p->risk.n_peers = 1;
        }
    }
    return kohort_risk_stats(c, kc->cu.org_id, kc->cu.mode, kc->email_lc, kc->phone,
                             p->now - K_RISK_WINDOW_MS, &p->risk.n_email_recent,
                             &p->risk.n_phone_recent, &p->risk.mean_amount, &p->risk.n_history);
}

/* Is clientReferenceId already used by a Kohort order of this org and mode? */
static enum store_rc
client_ref_used(struct req *req, const char *ref, bool *used)
{
    struct order_query q;
    struct order_row *rows = NULL;
    size_t n = 0;
    bool more = false;
    enum store_rc rc;

    memset(&q, 0, sizeof q);
    snprintf(q.org_id, sizeof q.org_id, "%s", req->auth.org_id);
    q.mode = req->auth.mode;
    q.limit = 1;
    q.external_id = ref;
    q.dialect = "kohort";
    rc = req->app->store->ops->order_list(req->app->store, &q, &rows, &n, &more);
    *used = rc == STORE_OK && n > 0;
    order_rows_free(rows, n);
    return rc;
}

/* The canonical create document of a Kohort order. */
static struct jsonx *
canon_doc(const struct kcreate *kc, const struct jsonx *meta, const char *locale, const char *first,
          const char *last, const char *email)
{
    struct jsonx *d = jsonx_object(), *li = jsonx_object(), *items = jsonx_array();
    struct jsonx *cu = jsonx_object();

    jsonx_set_str(d, "external_id", kc->client_ref);
    jsonx_set_str(d, "currency", "EUR");
    jsonx_set_str(li, "name", "Kohort order");
    jsonx_set_int(li, "quantity", 1);
    jsonx_set_int(li, "unit_price", kc->amount);
    jsonx_append(items, li);
    jsonx_set(d, "line_items", items);
    jsonx_set_str(cu, "id", kc->cu.id);
    jsonx_set_str(cu, "first_name", first);
    jsonx_set_str(cu, "last_name", last);
    jsonx_set_str(cu, "email", email);
    if (kc->phone != NULL && validate_phone_e164(kc->phone))
        jsonx_set_str(cu, "phone", kc->phone);
    jsonx_set(d, "customer", cu);
    jsonx_set(d, "metadata", meta ? jsonx_copy(meta) : jsonx_object());
    jsonx_set_str(d, "locale", strcmp(locale, "en_US") == 0 ? "en-US" : "fr-FR");
    jsonx_set_str(d, "source", "kohort");
    return d;
}

static enum req_result
h_order_create(struct req *req)
{
    struct msgs ms = {0};
    struct problems p = {0};
    struct jsonx *doc = NULL, *canon = NULL, *valid = NULL, *k;
    const char *email, *first, *last, *phone, *cid, *ref, *share = NULL, *locale;
    const struct jsonx *meta, *sv;
    struct kcreate *kc = NULL;
    struct kprep prep;
    struct order_row row;
    struct svc_hooks hooks = {0};
    enum store_rc rc;
    enum risk_level risk;
    bool used, idem;
    int64_t amount;
    char share_buf[K_REF_MAX * 4 + 1];

    memset(&prep, 0, sizeof prep);
    if (!k_auth(req, false) || (doc = k_body(req, false)) == NULL)
        return REQ_DONE;
    v_amount(&ms, doc, true, &amount);
    v_email(&ms, doc, "customerEmail", &email);
    v_str(&ms, doc, "customerFirstName", K_NAME_MAX, &first);
    v_str(&ms, doc, "customerLastName", K_NAME_MAX, &last);
    v_str(&ms, doc, "customerPhoneNumber", K_PHONE_MAX, &phone);
    v_str(&ms, doc, "customerId", K_REF_MAX, &cid);
    meta = v_meta(&ms, doc);
    locale = v_locale(&ms, doc);
    v_str(&ms, doc, "clientReferenceId", K_REF_MAX, &ref);
    sv = kin(doc, "paymentGroupShareId");
    if (sv != NULL && jsonx_type(sv) != JX_NULL)
        v_str(&ms, doc, "paymentGroupShareId", K_REF_MAX, &share);
    /* Kohort tests these with JavaScript truthiness: "" is as good as absent */
    if (share != NULL && share[0] == '\0')
        share = NULL;
    if (cid != NULL && cid[0] == '\0')
        cid = NULL;
    if (ref != NULL && ref[0] == '\0')
        ref = NULL;
    if (ms.n == 0 && email == NULL && cid == NULL)
        msgs_add(&ms, "Either customer email or customer id must be provided.");
    if (ms.n > 0) {
        msgs_send(req, &ms);
        goto out;
    }
    /* With an Idempotency-Key the checks that a replay must not trip over (a reused
     * reference, a group now full...) are left to the write: svc replays first, and the
     * transaction enforces them otherwise. */
    idem = req_header(req, "Idempotency-Key") != NULL;
    if (ref != NULL && !idem) {
        if ((rc = client_ref_used(req, ref, &used)) != STORE_OK) {
            k_store_error(req, rc);
            goto out;
        }
        if (used) {
            k_error(req, 400, "Bad Request", "Order with client reference id %s already exists.",
                    ref);
            goto out;
        }
    }
    kc = calloc(1, sizeof *kc);
    if (kc == NULL || !kset_load(req, &kc->ks)) {
        if (kc == NULL)
            k_store_error(req, STORE_FAIL);
        goto out;
    }
    snprintf(kc->req_id, sizeof kc->req_id, "%s", req->id);
    kc->amount = amount;
    kc->join = share != NULL;
    kc->client_ref = ref ? strdup(ref) : NULL;
    kc->phone = phone ? strdup(phone) : NULL;
    snprintf(kc->cu.org_id, sizeof kc->cu.org_id, "%s", req->auth.org_id);
    kc->cu.mode = req->auth.mode;
    lower_copy(kc->email_lc, sizeof kc->email_lc, email);
    prep.kc = kc;
    prep.customer_id = cid;
    snprintf(prep.org_id, sizeof prep.org_id, "%s", req->auth.org_id);
    prep.mode = req->auth.mode;
    if (share != NULL) {
        snprintf(share_buf, sizeof share_buf, "%s", share);
        share_norm(share_buf);
        share = share_buf;
    }
    prep.share = share;
    prep.now = clock_now_ms();
    rc = req->app->store->ops->read(req->app->store, create_prepare, &prep);
    if (rc != STORE_OK) {
        k_store_error(req, rc);
        goto out;
    }
    if (kc->fail == KF_NONE && !kc->join && amount < kc->ks.min_amount)
        kc->fail = KF_AMOUNT_LOW;
    if (idem && (kc->fail == KF_GROUP_CLOSED || kc->fail == KF_GROUP_FULL ||
                 kc->fail == KF_EMAIL_USED || (kc->fail == KF_AMOUNT_LOW && kc->join)))
        kc->fail = KF_NONE;
    if (kc->fail != KF_NONE) {
        kfail_send(req, kc->fail, kc);
        goto out;
    }
    if (kc->cu_new) {
        if (first == NULL || last == NULL) {
            msgs_add(&ms, "customerFirstName and customerLastName are required to create a "
                          "new customer (or send customerId)");
            msgs_send(req, &ms);
            goto out;
        }
        kohort_customer_id_for(req->auth.org_id, req->auth.mode, kc->email_lc, kc->cu.id);
        kc->cu.email = strdup(email);
        kc->cu.first_name = strdup(first);
        kc->cu.last_name = strdup(last);
        kc->cu.phone = phone ? strdup(phone) : NULL;
        kc->cu.locale = strdup(locale);
        kc->cu.metadata = strdup("{}");
        if (kc->cu.email == NULL || kc->cu.first_name == NULL || kc->cu.last_name == NULL ||
            kc->cu.locale == NULL || kc->cu.metadata == NULL) {
            k_store_error(req, STORE_FAIL);
            goto out;
        }
    }
    if (first == NULL)
        first = kc->cu.first_name;
    if (last == NULL)
        last = kc->cu.last_name;
    if (email == NULL)
        email = kc->cu.email;
    if (phone == NULL && kc->cu.phone != NULL) {
        kc->phone = strdup(kc->cu.phone);
        phone = kc->phone;
    }
    if (!kc->join) {
        kohort_id("pg_", kc->group.id);
        kohort_share_code(req->auth.mode, kc->group.share_id);
        snprintf(kc->group.org_id, sizeof kc->group.org_id, "%s", req->auth.org_id);
        kc->group.mode = req->auth.mode;
        snprintf(kc->group.status, sizeof kc->group.status, "OPEN");
        snprintf(kc->group.customer_id, sizeof kc->group.customer_id, "%s", kc->cu.id);
        kc->group.creator_email = strdup(email);
        kc->group.metadata = strdup("{}");
        kc->group.settings = kset_snapshot(&kc->ks);
        kc->group.max_participants = kc->ks.max_participants;
        kc->group.min_amount = kc->ks.min_amount;
        kc->group.n_orders = 1;
        if (kc->group.creator_email == NULL || kc->group.metadata == NULL ||
            kc->group.settings == NULL) {
            k_store_error(req, STORE_FAIL);
            goto out;
        }
    }
    prep.risk.email = email;
    prep.risk.phone = phone;
    prep.risk.first_name = first;
    prep.risk.last_name = last;
    prep.risk.amount = amount;
    risk = risk_assess(&prep.risk, NULL);

    canon = canon_doc(kc, meta, locale, first, last, email);
    if (order_validate_create(canon, &p, &valid, &row) != 0) {
        for (int i = 0; i < p.n; i++)
            msgs_add(&ms, "%s %s", wire_field(p.e[i].field), p.e[i].message);
        msgs_send(req, &ms);
        goto out;
    }
    k = jsonx_object();
    jsonx_set_str(k, "status", "CREATED");
    jsonx_set_null(k, "amountCashback");
    jsonx_set_int(k, "applicationFeeAmount", kc->join ? kohort_fee(amount) : 0);
    jsonx_set_str(k, "customerEmail", email);
    jsonx_set_str(k, "customerFirstName", first);
    jsonx_set_str(k, "customerLastName", last);
    jsonx_set_str(k, "customerPhoneNumber", phone);
    jsonx_set_str(k, "customerId", kc->cu.id);
    jsonx_set_str(k, "paymentGroupShareId", share);
    jsonx_set_str(k, "paymentGroupId", kc->group.id);
    jsonx_set_null(k, "ambassadorId");
    jsonx_set_str(k, "clientReferenceId", ref);
    jsonx_set_str(k, "locale", locale);
    jsonx_set_str(k, "riskLevel", risk_level_name(risk));
    jsonx_set_null(k, "createdBy");
    jsonx_set_null(k, "updatedBy");
    jsonx_set(valid, "kohort", k);
    hooks.ok = create_ok;
    hooks.err = create_err;
    hooks.arg = kc;
    hooks.before_row = create_before_row;
    hooks.tx_arg = kc;
    hooks.release = create_release;
    kohort_customer_free(&prep.creator);
    jsonx_free(doc);
    jsonx_free(canon);
    return svc_order_create(req, valid, &row, "kohort", &hooks);
out:
    kohort_customer_free(&prep.creator);
    kcreate_free(kc);
    jsonx_free(doc);
    jsonx_free(canon);
    return REQ_DONE;
}

/* ---- lists: take, skip, orderBy=field:asc|desc, search ---- */

struct kcol {
    const char *name;
    char kind; /* 's' text, 'i' integer, 't' time, 'b' boolean */
};

struct klist {
    struct kohort_list_query q;
    char order_col[64];
    char cols[KOHORT_MAX_CONDS][64];
    char vals[KOHORT_MAX_CONDS][260];
};

static const struct kcol *
kcol_find(const struct kcol *cols, const char *name)
{
    for (; cols->name != NULL; cols++)
        if (strcmp(cols->name, name) == 0)
            return cols;
    return NULL;
}

/* Parses one search condition "field<op>value" into q.cond[i]. */
static bool
search_cond(struct req *req, struct klist *l, const struct kcol *cols, const char *text, size_t len)
{
    struct kohort_cond *cd = &l->q.cond[l->q.n_cond];
    char field[64], value[256], camel[64];
    size_t f = 0, i = 0;
    const struct kcol *col;
    int64_t ms;
    char *end = NULL;

    while (i < len && text[i] == ' ')
        i++;
    while (i < len && (isalnum((unsigned char)text[i]) || text[i] == '_') && f + 1 < sizeof field)
        field[f++] = text[i++];
    field[f] = '\0';
    if (l->q.n_cond >= KOHORT_MAX_CONDS) {
        k_error(req, 400, "Bad Request", "search: at most %d conditions", KOHORT_MAX_CONDS);
        return false;
    }
    if (i + 1 < len && text[i + 1] == '=' && (text[i] == '>' || text[i] == '<')) {
        cd->cmp = text[i] == '>' ? KC_GE : KC_LE;
        i += 2;
    } else if (i < len && strchr(":=~!<>", text[i]) != NULL) {
        cd->cmp = text[i] == '~'   ? KC_LIKE
                  : text[i] == '!' ? KC_NE
                  : text[i] == '>' ? KC_GT
                  : text[i] == '<' ? KC_LT
                                   : KC_EQ;
        i++;
    } else {
        k_error(req, 400, "Bad Request",
                "search: want field:value conditions (operators : ~ > >= < <= = !)");
        return false;
    }
    snprintf(value, sizeof value, "%.*s", (int)(len - i), text + i);
    camel_of(field, camel, sizeof camel);
    snake_of(camel, l->cols[l->q.n_cond], sizeof l->cols[0]);
    col = kcol_find(cols, l->cols[l->q.n_cond]);
    if (col == NULL || f == 0) {
        k_error(req, 400, "Bad Request", "search: unknown field '%s'", field);
        return false;
    }
    cd->column = col->name;
    if (col->kind == 't') {
        if (clock_parse(value, &ms) != 0) {
            k_error(req, 400, "Bad Request", "search: %s wants a date", field);
            return false;
        }
        cd->is_int = true;
        cd->i = ms;
    } else if (col->kind == 'i' || col->kind == 'b') {
        cd->is_int = true;
        if (col->kind == 'b' && (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
            cd->i = value[0] == 't';
        } else {
            cd->i = strtoll(value, &end, 10);
            if (value[0] == '\0' || *end != '\0') {
                k_error(req, 400, "Bad Request", "search: %s wants a number", field);
                return false;
            }
        }
        if (cd->cmp == KC_LIKE)
            cd->cmp = KC_EQ;
    } else {
        if (cd->cmp == KC_LIKE)
            snprintf(l->vals[l->q.n_cond], sizeof l->vals[0], "%%%s%%", value);
        else
            snprintf(l->vals[l->q.n_cond], sizeof l->vals[0], "%s", value);
        cd->s = l->vals[l->q.n_cond];
    }
    l->q.n_cond++;
    return true;
}

static bool
int_param(struct req *req, const char *name, int min, int *out)
{
    const char *v = req_query(req, name);
    char *end = NULL;
    long n;

    if (v == NULL)
        return true;
    n = strtol(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || n < min || n > 1000000000L) {
        k_error(req, 400, "Bad Request", "%s must be an integer not less than %d", name, min);
        return false;
    }
    *out = (int)n;
    return true;
}

/* Reads the list parameters. Returns false after answering. */
static bool
list_params(struct req *req, struct klist *l, const struct kcol *cols)
{
    const char *ob = req_query(req, "orderBy"), *search = req_query(req, "search");
    char field[64], camel[64];
    const char *colon;

    memset(l, 0, sizeof *l);
    snprintf(l->q.org_id, sizeof l->q.org_id, "%s", req->auth.org_id);
    l->q.mode = req->auth.mode;
    l->q.take = K_TAKE_MAX;
    l->q.order_col = "created_at";
    l->q.desc = true;
    if (ob == NULL)
        ob = req_query(req, "order_by");
    if (!int_param(req, "take", 1, &l->q.take) || !int_param(req, "skip", 0, &l->q.skip))
        return false;
    if (l->q.take > K_TAKE_MAX)
        l->q.take = K_TAKE_MAX;
    if (ob != NULL && (colon = strchr(ob, ':')) != NULL && colon - ob < (long)sizeof field &&
        (strcmp(colon + 1, "asc") == 0 || strcmp(colon + 1, "desc") == 0)) {
        snprintf(field, sizeof field, "%.*s", (int)(colon - ob), ob);
        camel_of(field, camel, sizeof camel);
        snake_of(camel, l->order_col, sizeof l->order_col);
        if (kcol_find(cols, l->order_col) != NULL) {
            l->q.order_col = l->order_col;
            l->q.desc = strcmp(colon + 1, "desc") == 0;
        }
    }
    if (search != NULL && search[0] != '\0') {
        const char *sep = strstr(search, " OR ") ? " OR " : strstr(search, " AND ") ? " AND " : ",";
        const char *p = search;
        l->q.any = strcmp(sep, " OR ") == 0;
        for (;;) {
            const char *e = strstr(p, sep);
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (!search_cond(req, l, cols, p, n))
                return false;
            if (e == NULL)
                break;
            p = e + strlen(sep);
        }
    }
    return true;
}

static void
list_send(struct req *req, struct jsonx *data, int64_t count, bool snake)
{
    struct jsonx *o = jsonx_object();

    jsonx_set(o, "data", data);
    jsonx_set_int(o, "count", count);
    k_send(req, 200, o, snake);
}

/* ---- expand[]=customer, expand[]=paymentGroup on order reads ---- */

enum { EX_CUSTOMER = 1, EX_GROUP = 2 };

struct kexpand {
    struct req *req;
    unsigned bits;
    const char *bad;
    struct jsonx *o; /* the order being expanded */
};

static void
expand_one(void *arg, const char *k, const char *v)
{
    struct kexpand *x = arg;

    if (strcmp(k, "expand[]") != 0 && strcmp(k, "expand") != 0)
        return;
    if (v != NULL && strcmp(v, "customer") == 0)
        x->bits |= EX_CUSTOMER;
    else if (v != NULL && (strcmp(v, "paymentGroup") == 0 || strcmp(v, "payment_group") == 0))
        x->bits |= EX_GROUP;
    else if (x->bad == NULL)
        x->bad = v != NULL ? v : "";
}

/* Reads expand[]; answers 400 and returns false on an unknown value. */
static bool
expand_params(struct req *req, struct kexpand *x)
{
    memset(x, 0, sizeof *x);
    x->req = req;
    req->query_each(req, expand_one, x);
    if (x->bad != NULL) {
        struct msgs ms = {0};
        msgs_add(&ms, "each value in expand must be one of the following values: customer, "
                      "paymentGroup");
        msgs_send(req, &ms);
        return false;
    }
    return true;
}

static enum store_rc
expand_tx(struct store_conn *c, void *arg)
{
    struct kexpand *x = arg;
    const struct jsonx *cid = jsonx_get(x->o, "customerId"),
                       *gid = jsonx_get(x->o, "paymentGroupId");
    struct kohort_customer cu;
    struct kohort_group g;
    enum store_rc rc = STORE_OK;

    if ((x->bits & EX_CUSTOMER) && cid != NULL && jsonx_type(cid) == JX_STRING) {
        rc = kohort_customer_get(c, x->req->auth.org_id, x->req->auth.mode, jsonx_str(cid), &cu);
        jsonx_set(x->o, "customer", rc == STORE_OK ? customer_json(&cu) : jsonx_null());
        kohort_customer_free(&cu);
        if (rc == STORE_NOT_FOUND)
            rc = STORE_OK;
    }
    if (rc == STORE_OK && (x->bits & EX_GROUP) && gid != NULL && jsonx_type(gid) == JX_STRING) {
        rc = kohort_group_get(c, x->req->auth.org_id, x->req->auth.mode, jsonx_str(gid), &g);
        jsonx_set(x->o, "paymentGroup", rc == STORE_OK ? group_json(&g) : jsonx_null());
        kohort_group_free(&g);
        if (rc == STORE_NOT_FOUND)
            rc = STORE_OK;
    }
    return rc;
}

/* Adds the expanded objects to order o. */
static enum store_rc
order_expand(struct kexpand *x, struct jsonx *o)
{
    if (x->bits == 0)
        return STORE_OK;
    x->o = o;
    return x->req->app->store->ops->read(x->req->app->store, expand_tx, x);
}

/* ---- GET /orders, GET /orders/{id} ---- */

static const struct kcol order_cols[] = {
    {"created_at", 't'},       {"updated_at", 't'},
    {"amount", 'i'},           {"amount_cashback", 'i'},
    {"status", 's'},           {"client_reference_id", 's'},
    {"customer_email", 's'},   {"customer_id", 's'},
    {"payment_group_id", 's'}, {NULL, 0},
};

struct kolist {
    struct klist l;
    const char *group_id;
    struct order_row *rows;
    size_t n;
    int64_t count;
};

static enum store_rc
order_list_tx(struct store_conn *c, void *arg)
{
    struct kolist *ol = arg;

    return kohort_order_list(c, &ol->l.q, ol->group_id, &ol->rows, &ol->n, &ol->count);
}

static void
order_list_answer(struct req *req, struct kolist *ol, struct kexpand *x, bool snake)
{
    struct jsonx *data = jsonx_array(), *o;
    enum store_rc rc = req->app->store->ops->read(req->app->store, order_list_tx, ol);

    if (rc != STORE_OK) {
        jsonx_free(data);
        k_store_error(req, rc);
        return;
    }
    for (size_t i = 0; i < ol->n; i++) {
        o = order_json(&ol->rows[i]);
        if (rc == STORE_OK && x != NULL)
            rc = order_expand(x, o);
        jsonx_append(data, o);
    }
    order_rows_free(ol->rows, ol->n);
    if (rc != STORE_OK) {
        jsonx_free(data);
        k_store_error(req, rc);
        return;
    }
    list_send(req, data, ol->count, snake);
}

static enum req_result
h_order_list(struct req *req)
{
    struct kolist ol;
    struct kexpand x;
    struct kset ks;

    memset(&ol, 0, sizeof ol);
    if (!k_auth(req, false) || !expand_params(req, &x) || !list_params(req, &ol.l, order_cols) ||
        !kset_load(req, &ks))
        return REQ_DONE;
    order_list_answer(req, &ol, &x, ks.snake);
    return REQ_DONE;
}

static enum req_result
h_order_get(struct req *req)
{
    const char *ref = req->param[0];
    struct order_row row;
    struct kexpand x;
    struct jsonx *o;
    struct kset ks;
    enum store_rc rc;

    if (!k_auth(req, false) || !expand_params(req, &x) || !kset_load(req, &ks))
        return REQ_DONE;
    if (strncmp(ref, "ord_", 4) == 0)
        ref += 4;
    if (!ids_is_uuid(ref) && !ids_is_short(ref)) {
        k_error(req, 404, "NOT_FOUND", "Order not found.");
        return REQ_DONE;
    }
    rc = req->app->store->ops->order_get(req->app->store, req->auth.org_id, req->auth.mode, ref,
                                         &row);
    if (rc == STORE_OK && strcmp(row.dialect, "kohort") != 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_NOT_FOUND)
        k_error(req, 404, "NOT_FOUND", "Order not found.");
    else if (rc != STORE_OK)
        k_store_error(req, rc);
    else if ((rc = order_expand(&x, (o = order_json(&row)))) != STORE_OK) {
        jsonx_free(o);
        k_store_error(req, rc);
    } else
        k_send(req, 200, o, ks.snake);
    order_row_free(&row);
    return REQ_DONE;
}

/* ---- writes of groups and customers (SW_CUSTOM, answered after commit) ---- */

struct kw;
typedef enum store_rc (*kw_fn)(struct store_conn *c, struct kw *kw);

struct kw {
    struct store_write w;
    struct req *req;
    struct kset ks;
    kw_fn tx;
    int status_ok;
    bool is_customer;
    char ref[128];
    struct kohort_group g;
    struct kohort_customer cu;
    struct jsonx *body; /* the validated request body (owned) */
    int64_t now;
    int fail_status;
    const char *fail_code;
    char fail_msg[200];
    int64_t kick;
};

static enum store_rc kw_fail(struct kw *kw, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum store_rc
kw_fail(struct kw *kw, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    kw->fail_status = status;
    kw->fail_code = code;
    va_start(ap, fmt);
    vsnprintf(kw->fail_msg, sizeof kw->fail_msg, fmt, ap);
    va_end(ap);
    return STORE_CONFLICT;
}

static enum store_rc
kw_custom(struct store_conn *c, void *arg)
{
    struct kw *kw = arg;

    return kw->tx(c, kw);
}

static void
kw_free(struct kw *kw)
{
    kohort_group_free(&kw->g);
    kohort_customer_free(&kw->cu);
    jsonx_free(kw->body);
    free(kw);
}

static void
kw_done(struct store_write *w)
{
    struct kw *kw = w->arg;
    struct req *req = kw->req;

    if (w->rc == STORE_OK) {
        k_send(req, kw->status_ok, kw->is_customer ? customer_json(&kw->cu) : group_json(&kw->g),
               kw->ks.snake);
        if (kw->kick > 0)
            job_kick(kw->kick);
    } else if (kw->fail_status != 0 && w->rc == STORE_CONFLICT) {
        k_error(req, kw->fail_status, kw->fail_code, "%s", kw->fail_msg);
    } else {
        k_store_error(req, w->rc);
    }
    kw_free(kw);
    req->resume(req);
}

static struct kw *
kw_new(struct req *req, kw_fn tx, int status_ok)
{
    struct kw *kw = calloc(1, sizeof *kw);

    if (kw == NULL) {
        k_store_error(req, STORE_FAIL);
        return NULL;
    }
    kw->req = req;
    kw->tx = tx;
    kw->status_ok = status_ok;
    kw->now = clock_now_ms();
    snprintf(kw->ref, sizeof kw->ref, "%s", req->param[0]);
    if (!kset_load(req, &kw->ks)) {
        kw_free(kw);
        return NULL;
    }
    return kw;
}

static enum req_result
kw_submit(struct kw *kw)
{
    struct req *req = kw->req;

    kw->w.kind = SW_CUSTOM;
    kw->w.custom = kw_custom;
    kw->w.hook_arg = kw;
    kw->w.done = kw_done;
    kw->w.arg = kw;
    req->suspend(req);
    store_submit(req->app->store, &kw->w);
    return REQ_PENDING;
}

/* ---- groups ---- */

static const struct kcol group_cols[] = {
    {"created_at", 't'}, {"updated_at", 't'},  {"expires_at", 't'},    {"status", 's'},
    {"share_id", 's'},   {"customer_id", 's'}, {"creator_email", 's'}, {NULL, 0},
};

/* Reads the group named by kw->ref into kw->g; fails NOT_FOUND. */
static enum store_rc
kw_group(struct store_conn *c, struct kw *kw)
{
    enum store_rc rc =
        kohort_group_get(c, kw->req->auth.org_id, kw->req->auth.mode, kw->ref, &kw->g);

    if (rc == STORE_NOT_FOUND)
        return kw_fail(kw, 404, "NOT_FOUND", "Payment group %s not found.", kw->ref);
    return rc;
}

static enum store_rc
kw_group_reread(struct store_conn *c, struct kw *kw)
{
    char id[KOHORT_ID_LEN];

    snprintf(id, sizeof id, "%s", kw->g.id);
    kohort_group_free(&kw->g);
    return kohort_group_get(c, kw->req->auth.org_id, kw->req->auth.mode, id, &kw->g);
}

static enum store_rc
group_create_tx(struct store_conn *c, struct kw *kw)
{
    struct req *req = kw->req;
    const struct jsonx *v = kin(kw->body, "customerId");
    enum store_rc rc;
    char email_lc[K_EMAIL_MAX + 1];

    if (v != NULL && jsonx_type(v) == JX_STRING) {
        rc = kohort_customer_get(c, req->auth.org_id, req->auth.mode, jsonx_str(v), &kw->cu);
        if (rc == STORE_NOT_FOUND)
            return kw_fail(kw, 404, "NOT_FOUND", "Customer not found.");
    } else {
        v = kin(kw->body, "customerEmail");
        lower_copy(email_lc, sizeof email_lc, jsonx_str(v));
        rc = kohort_customer_by_email(c, req->auth.org_id, req->auth.mode, email_lc, &kw->cu);
        if (rc == STORE_NOT_FOUND) {
            const struct jsonx *fn = kin(kw->body, "customerFirstName");
            const struct jsonx *ln = kin(kw->body, "customerLastName");
            kohort_customer_id_for(req->auth.org_id, req->auth.mode, email_lc, kw->cu.id);
            snprintf(kw->cu.org_id, sizeof kw->cu.org_id, "%s", req->auth.org_id);
            kw->cu.mode = req->auth.mode;
            kw->cu.email = strdup(jsonx_str(v));
            kw->cu.first_name = fn && jsonx_type(fn) == JX_STRING ? strdup(jsonx_str(fn)) : NULL;
            kw->cu.last_name = ln && jsonx_type(ln) == JX_STRING ? strdup(jsonx_str(ln)) : NULL;
            kw->cu.metadata = strdup("{}");
            kw->cu.created_ms = kw->cu.updated_ms = kw->now;
            rc = kw->cu.email && kw->cu.metadata ? kohort_customer_insert(c, &kw->cu) : STORE_FAIL;
        }
    }
    if (rc != STORE_OK)
        return rc;
    if (kw->cu.blocked)
        return kw_fail(kw, 400, "CUSTOMER_BLOCKED", "The customer is blocked.");
    snprintf(kw->g.customer_id, sizeof kw->g.customer_id, "%s", kw->cu.id);
    if (kw->g.creator_email == NULL && (kw->g.creator_email = strdup(kw->cu.email)) == NULL)
        return STORE_FAIL;
    rc = kohort_group_insert(c, &kw->g);
    if (rc == STORE_OK)
        rc = group_event(c, &kw->g, "payment_group.created", req->id, kw->now);
    kohort_customer_free(&kw->cu);
    return rc;
}

static enum req_result
h_group_create(struct req *req)
{
    struct msgs ms = {0};
    const char *email, *cid, *s;
    const struct jsonx *meta, *exp;
    struct jsonx *doc;
    struct kw *kw;
    int64_t expires = 0;
    char *m;

    if (!k_auth(req, true) || (doc = k_body(req, false)) == NULL)
        return REQ_DONE;
    v_email(&ms, doc, "customerEmail", &email);
    v_str(&ms, doc, "customerId", K_REF_MAX, &cid);
    v_str(&ms, doc, "customerFirstName", K_NAME_MAX, &s);
    v_str(&ms, doc, "customerLastName", K_NAME_MAX, &s);
    meta = v_meta(&ms, doc);
    exp = kin(doc, "expiresAt");
    if (exp != NULL && jsonx_type(exp) != JX_NULL &&
        (jsonx_type(exp) != JX_STRING || clock_parse(jsonx_str(exp), &expires) != 0))
        msgs_add(&ms, "expiresAt must be a valid ISO 8601 date string");
    if (ms.n == 0 && email == NULL && cid == NULL)
        msgs_add(&ms, "Either customer email or customer id must be provided.");
    if (ms.n > 0) {
        msgs_send(req, &ms);
        jsonx_free(doc);
        return REQ_DONE;
    }
    if ((kw = kw_new(req, group_create_tx, 201)) == NULL) {
        jsonx_free(doc);
        return REQ_DONE;
    }
    kw->body = doc;
    if (expires != 0 && (expires < kw->now + 60000 || expires > kw->now + KOHORT_MAX_DURATION_MS)) {
        msgs_add(&ms, "expiresAt must be between 1 minute and 90 days from now");
        msgs_send(req, &ms);
        kw_free(kw);
        return REQ_DONE;
    }
    kohort_id("pg_", kw->g.id);
    kohort_share_code(req->auth.mode, kw->g.share_id);
    snprintf(kw->g.org_id, sizeof kw->g.org_id, "%s", req->auth.org_id);
    kw->g.mode = req->auth.mode;
    snprintf(kw->g.status, sizeof kw->g.status, "OPEN");
    m = meta ? jsonx_dump(meta, NULL) : strdup("{}");
    kw->g.metadata = m;
    kw->g.settings = kset_snapshot(&kw->ks);
    kw->g.creator_email = email ? strdup(email) : NULL;
    kw->g.max_participants = kw->ks.max_participants;
    kw->g.min_amount = kw->ks.min_amount;
    kw->g.created_ms = kw->g.updated_ms = kw->now;
    kw->g.expires_ms = expires != 0 ? expires : kw->now + kw->ks.duration_ms;
    kw->kick = kw->g.expires_ms;
    if (kw->g.metadata == NULL || kw->g.settings == NULL) {
        k_store_error(req, STORE_FAIL);
        kw_free(kw);
        return REQ_DONE;
    }
    return kw_submit(kw);
}

struct kgread {
    struct req *req;
    const char *ref;
    struct kohort_group g;
    struct klist l;
    struct kohort_group *rows;
    size_t n;
    int64_t count;
};

static enum store_rc
group_get_tx(struct store_conn *c, void *arg)
{
    struct kgread *r = arg;

    return kohort_group_get(c, r->req->auth.org_id, r->req->auth.mode, r->ref, &r->g);
}

static enum req_result
h_group_get(struct req *req)
{
    struct kgread r = {.req = req, .ref = req->param[0]};
    struct kset ks;
    enum store_rc rc;

    share_norm(req->param[0]);
    if (!k_auth(req, true) || !kset_load(req, &ks))
        return REQ_DONE;
    rc = req->app->store->ops->read(req->app->store, group_get_tx, &r);
    if (rc == STORE_NOT_FOUND)
        k_error(req, 404, "NOT_FOUND", "Payment group %s not found.", r.ref);
    else if (rc != STORE_OK)
        k_store_error(req, rc);
    else
        k_send(req, 200, group_json(&r.g), ks.snake);
    kohort_group_free(&r.g);
    return REQ_DONE;
}

static enum store_rc
group_list_tx(struct store_conn *c, void *arg)
{
    struct kgread *r = arg;

    return kohort_group_list(c, &r->l.q, &r->rows, &r->n, &r->count);
}

static enum req_result
h_group_list(struct req *req)
{
    struct kgread r = {.req = req};
    struct jsonx *data;
    struct kset ks;
    enum store_rc rc;

    if (!k_auth(req, true) || !list_params(req, &r.l, group_cols) || !kset_load(req, &ks))
        return REQ_DONE;
    rc = req->app->store->ops->read(req->app->store, group_list_tx, &r);
    if (rc != STORE_OK) {
        k_store_error(req, rc);
        return REQ_DONE;
    }
    data = jsonx_array();
    for (size_t i = 0; i < r.n; i++)
        jsonx_append(data, group_json(&r.rows[i]));
    kohort_groups_free(r.rows, r.n);
    list_send(req, data, r.count, ks.snake);
    return REQ_DONE;
}

static enum req_result
h_group_orders(struct req *req)
{
    struct kgread r = {.req = req, .ref = req->param[0]};
    struct kolist ol;
    struct kset ks;
    enum store_rc rc;

    memset(&ol, 0, sizeof ol);
    share_norm(req->param[0]);
    if (!k_auth(req, true) || !list_params(req, &ol.l, order_cols) || !kset_load(req, &ks))
        return REQ_DONE;
    rc = req->app->store->ops->read(req->app->store, group_get_tx, &r);
    if (rc == STORE_NOT_FOUND) {
        k_error(req, 404, "NOT_FOUND", "Payment group %s not found.", r.ref);
    } else if (rc != STORE_OK) {
        k_store_error(req, rc);
    } else {
        ol.group_id = r.g.id;
        order_list_answer(req, &ol, NULL, ks.snake);
    }
    kohort_group_free(&r.g);
    return REQ_DONE;
}

static enum store_rc
group_update_tx(struct store_conn *c, struct kw *kw)
{
    const struct jsonx *meta = kin(kw->body, "metadata"), *email = kin(kw->body, "creatorEmail");
    enum store_rc rc = kw_group(c, kw);

    if (rc != STORE_OK)
        return rc;
    free(kw->g.metadata);
    kw->g.metadata = jsonx_dump(meta, NULL);
    if (email != NULL && jsonx_type(email) == JX_STRING) {
        free(kw->g.creator_email);
        kw->g.creator_email = strdup(jsonx_str(email));
    }
    kw->g.updated_ms = kw->now;
    if (kw->g.metadata == NULL)
        return STORE_FAIL;
    rc = kohort_group_update(c, &kw->g);
    return rc == STORE_OK ? kw_group_reread(c, kw) : rc;
}

static enum req_result
h_group_update(struct req *req)
{
    struct msgs ms = {0};
    const char *email;
    struct jsonx *doc;
    struct kw *kw;

    share_norm(req->param[0]);
    if (!k_auth(req, true) || (doc = k_body(req, false)) == NULL)
        return REQ_DONE;
    if (kin(doc, "metadata") == NULL || jsonx_type(kin(doc, "metadata")) == JX_NULL)
        msgs_add(&ms, "metadata must be an object");
    else
        v_meta(&ms, doc);
    v_email(&ms, doc, "creatorEmail", &email);
    if (ms.n > 0) {
        msgs_send(req, &ms);
        jsonx_free(doc);
        return REQ_DONE;
    }
    if ((kw = kw_new(req, group_update_tx, 200)) == NULL) {
        jsonx_free(doc);
        return REQ_DONE;
    }
    kw->body = doc;
    return kw_submit(kw);
}

static enum store_rc
group_cancel_tx(struct store_conn *c, struct kw *kw)
{
    enum store_rc rc = kw_group(c, kw);
    bool changed = false;

    if (rc != STORE_OK)
        return rc;
    if (kw->g.n_orders > 1)
        return kw_fail(kw, 400, "Bad Request",
                       "Payment group %s has participants and is not cancelable.", kw->g.id);
    rc = kohort_group_close(c, kw->g.org_id, kw->g.mode, kw->g.id, "CANCELED", KG_BEFORE_EXPIRY,
                            kw->now, &changed);
    if (rc == STORE_OK && !changed)
        return kw_fail(kw, 400, "COMPLETED_EXPIRED_CANCELED", "Payment group %s is not cancelable.",
                       kw->g.id);
    return rc == STORE_OK ? kw_group_reread(c, kw) : rc;
}

static enum store_rc
group_expire_tx(struct store_conn *c, struct kw *kw)
{
    enum store_rc rc = kw_group(c, kw);
    bool changed = false;

    if (rc != STORE_OK)
        return rc;
    if (strcmp(kw->g.status, "OPEN") != 0)
        return kw_fail(kw, 400, "COMPLETED_EXPIRED_CANCELED",
                       "Payment group %s is already canceled, expired or completed.", kw->g.id);
    if (kw->g.expires_ms > kw->now)
        return kw_fail(kw, 400, "Bad Request", "Payment group %s is still in progress.", kw->g.id);
    if (kw->g.n_orders > 1)
        return kw_fail(kw, 400, "Bad Request", "Payment group %s has participants.", kw->g.id);
    rc = kohort_group_close(c, kw->g.org_id, kw->g.mode, kw->g.id, "EXPIRED", KG_AFTER_EXPIRY_ALONE,
                            kw->now, &changed);
    if (rc == STORE_OK && !changed)
        return kw_fail(kw, 400, "COMPLETED_EXPIRED_CANCELED",
                       "Payment group %s is already canceled, expired or completed.", kw->g.id);
    if (rc == STORE_OK)
        rc = kw_group_reread(c, kw);
    if (rc == STORE_OK)
        rc = group_event(c, &kw->g, "payment_group.expired", kw->req->id, kw->now);
    return rc;
}

static enum req_result
group_action(struct req *req, kw_fn tx)
{
    struct jsonx *doc;
    struct kw *kw;

    share_norm(req->param[0]);
    if (!k_auth(req, true) || (doc = k_body(req, true)) == NULL)
        return REQ_DONE;
    jsonx_free(doc);
    if ((kw = kw_new(req, tx, 201)) == NULL)
        return REQ_DONE;
    return kw_submit(kw);
}

static enum req_result
h_group_cancel(struct req *req)
{
    return group_action(req, group_cancel_tx);
}

static enum req_result
h_group_expire(struct req *req)
{
    return group_action(req, group_expire_tx);
}

struct kvalidate {
    struct req *req;
    const char *ref;
    char email[K_EMAIL_MAX + 1];
    struct kohort_group g;
    bool used;
};

static enum store_rc
validate_tx(struct store_conn *c, void *arg)
{
    struct kvalidate *v = arg;
    enum store_rc rc = kohort_group_get(c, v->req->auth.org_id, v->req->auth.mode, v->ref, &v->g);

    if (rc == STORE_OK && v->email[0] != '\0')
        rc = kohort_link_email_used(c, v->g.org_id, v->g.mode, v->g.id, v->email, &v->used);
    return rc;
}

static enum req_result
h_group_validate(struct req *req)
{
    struct kvalidate v = {.req = req, .ref = req->param[0]};
    struct msgs ms = {0};
    const char *email;
    struct jsonx *doc;
    struct kset ks;
    enum store_rc rc;
    enum kfail f;
    int64_t amount;

    share_norm(req->param[0]);
    if (!k_auth(req, true) || (doc = k_body(req, true)) == NULL)
        return REQ_DONE;
    v_email(&ms, doc, "customerEmail", &email);
    v_amount(&ms, doc, false, &amount);
    lower_copy(v.email, sizeof v.email, email);
    jsonx_free(doc);
    if (ms.n > 0) {
        msgs_send(req, &ms);
        return REQ_DONE;
    }
    if (!kset_load(req, &ks))
        return REQ_DONE;
    rc = req->app->store->ops->read(req->app->store, validate_tx, &v);
    if (rc == STORE_NOT_FOUND) {
        kfail_send(req, KF_GROUP_NOT_FOUND, NULL);
    } else if (rc != STORE_OK) {
        k_store_error(req, rc);
    } else if ((f = group_refusal(&v.g, clock_now_ms())) != KF_NONE ||
               (f = v.used ? KF_EMAIL_USED : KF_NONE) != KF_NONE) {
        kfail_send(req, f, NULL);
    } else if (amount > 0 && amount < v.g.min_amount) {
        k_error(req, 400, "AMOUNT_TOO_LOW", "The minimum purchase value is %lld.",
                (long long)v.g.min_amount);
    } else {
        k_send(req, 201, group_validate_json(&v.g), ks.snake);
    }
    kohort_group_free(&v.g);
    return REQ_DONE;
}

/* ---- customers ---- */

static const struct kcol customer_cols[] = {
    {"created_at", 't'}, {"updated_at", 't'},          {"email_address", 's'}, {"first_name", 's'},
    {"last_name", 's'},  {"client_reference_id", 's'}, {"is_blocked", 'b'},    {NULL, 0},
};

enum cust_op { CO_CREATE, CO_UPDATE, CO_DELETE, CO_BLOCK, CO_UNBLOCK };

/* Replaces *dst with a copy of the string member name of body when present. */
static int
take_str(char **dst, const struct jsonx *body, const char *name)
{
    const struct jsonx *v = kin(body, name);

    if (v == NULL)
        return 0;
    free(*dst);
    *dst = jsonx_type(v) == JX_STRING ? strdup(jsonx_str(v)) : NULL;
    return jsonx_type(v) == JX_STRING && *dst == NULL ? -1 : 0;
}

static enum store_rc
customer_fields(struct kw *kw)
{
    const struct jsonx *b = kw->body, *v;
    char *lc;

    if (take_str(&kw->cu.email, b, "emailAddress") != 0 ||
        take_str(&kw->cu.first_name, b, "firstName") != 0 ||
        take_str(&kw->cu.last_name, b, "lastName") != 0 ||
        take_str(&kw->cu.phone, b, "phoneNumber") != 0 ||
        take_str(&kw->cu.client_ref, b, "clientReferenceId") != 0)
        return STORE_FAIL;
    if ((v = kin(b, "locale")) != NULL && jsonx_type(v) == JX_STRING) {
        free(kw->cu.locale);
        kw->cu.locale = strdup(strcmp(jsonx_str(v), "fr_FR") == 0 ? "fr_FR" : "en_US");
    }
    if ((v = kin(b, "metadata")) != NULL) {
        free(kw->cu.metadata);
        kw->cu.metadata = jsonx_type(v) == JX_OBJECT ? jsonx_dump(v, NULL) : strdup("{}");
    }
    if ((v = kin(b, "deletedAt")) != NULL) {
        int64_t ms = 0;
        if (jsonx_type(v) == JX_STRING)
            clock_parse(jsonx_str(v), &ms);
        kw->cu.deleted_ms = ms;
    }
    if (kw->cu.email != NULL) {
        lc = kw->cu.email;
        for (; *lc; lc++)
            *lc = (char)tolower((unsigned char)*lc);
    }
    return kw->cu.metadata != NULL && kw->cu.email != NULL ? STORE_OK : STORE_FAIL;
}

static enum store_rc
customer_tx(struct store_conn *c, struct kw *kw)
{
    struct req *req = kw->req;
    struct kohort_customer other;
    enum store_rc rc = STORE_OK;

    if (kw->status_ok == 201) {
        snprintf(kw->cu.org_id, sizeof kw->cu.org_id, "%s", req->auth.org_id);
        kw->cu.mode = req->auth.mode;
        kw->cu.metadata = strdup("{}");
        kw->cu.created_ms = kw->now;
        kohort_id("cus_", kw->cu.id);
    } else {
        rc = kohort_customer_get(c, req->auth.org_id, req->auth.mode, kw->ref, &kw->cu);
        if (rc == STORE_NOT_FOUND)
            return kw_fail(kw, 404, "NOT_FOUND", "Customer %s not found.", kw->ref);
        if (rc != STORE_OK)
            return rc;
    }
    kw->cu.updated_ms = kw->now;
    if ((rc = customer_fields(kw)) != STORE_OK)
        return rc;
    rc = kohort_customer_by_email(c, req->auth.org_id, req->auth.mode, kw->cu.email, &other);
    if (rc == STORE_OK) {
        bool dup = strcmp(other.id, kw->cu.id) != 0;
        kohort_customer_free(&other);
        if (dup)
            return kw_fail(kw, 409, "Conflict",
                           "Unique constraint failed on the fields: (`emailAddress`)");
    } else if (rc != STORE_NOT_FOUND) {
        return rc;
    }
    rc = kw->status_ok == 201 ? kohort_customer_insert(c, &kw->cu)
                              : kohort_customer_update(c, &kw->cu);
    if (rc == STORE_CONFLICT)
        return kw_fail(kw, 400, "Bad Request",
                       "Customer with client reference id %s already exists.",
                       kw->cu.client_ref ? kw->cu.client_ref : "");
    return rc;
}

/* Checks the customer body; on create emailAddress is required. */
static bool
customer_check(struct req *req, struct jsonx *doc, bool create)
{
    struct msgs ms = {0};
    const char *email, *s;
    const struct jsonx *d;
    int64_t ms_v;

    v_email(&ms, doc, "emailAddress", &email);
    if (create && email == NULL && ms.n == 0)
        msgs_add(&ms, "emailAddress must be an email");
    if (!create && kin(doc, "emailAddress") != NULL && email == NULL && ms.n == 0)
        msgs_add(&ms, "emailAddress must be an email");
    v_str(&ms, doc, "firstName", K_NAME_MAX, &s);
    v_str(&ms, doc, "lastName", K_NAME_MAX, &s);
    v_str(&ms, doc, "phoneNumber", K_PHONE_MAX, &s);
    v_str(&ms, doc, "clientReferenceId", K_REF_MAX, &s);
    v_meta(&ms, doc);
    if (kin(doc, "locale") != NULL)
        v_locale(&ms, doc);
    d = kin(doc, "deletedAt");
    if (!create && d != NULL && jsonx_type(d) != JX_NULL &&
        (jsonx_type(d) != JX_STRING || clock_parse(jsonx_str(d), &ms_v) != 0))
        msgs_add(&ms, "deletedAt must be a valid ISO 8601 date string");
    if (ms.n > 0)
        msgs_send(req, &ms);
    return ms.n == 0;
}

static enum req_result
h_customer_create(struct req *req)
{
    struct jsonx *doc;
    struct kw *kw;

    if (!k_auth(req, true) || (doc = k_body(req, false)) == NULL)
        return REQ_DONE;
    if (!customer_check(req, doc, true) || (kw = kw_new(req, customer_tx, 201)) == NULL) {
        jsonx_free(doc);
        return REQ_DONE;
    }
    kw->is_customer = true;
    kw->body = doc;
    kw->ref[0] = '\0';
    return kw_submit(kw);
}

static enum req_result
h_customer_update(struct req *req)
{
    struct jsonx *doc;
    struct kw *kw;

    if (!k_auth(req, true) || (doc = k_body(req, false)) == NULL)
        return REQ_DONE;
    if (!customer_check(req, doc, false) || (kw = kw_new(req, customer_tx, 200)) == NULL) {
        jsonx_free(doc);
        return REQ_DONE;
    }
    kw->is_customer = true;
    kw->body = doc;
    return kw_submit(kw);
}

static enum store_rc
customer_flag_tx(struct store_conn *c, struct kw *kw)
{
    struct req *req = kw->req;
    const char *what = kw->fail_code;
    enum store_rc rc = kohort_customer_get(c, req->auth.org_id, req->auth.mode, kw->ref, &kw->cu);

    kw->fail_code = NULL;
    if (rc == STORE_NOT_FOUND)
        return kw_fail(kw, 404, "NOT_FOUND", "Customer %s not found.", kw->ref);
    if (rc != STORE_OK)
        return rc;
    if (strcmp(what, "delete") == 0) {
        kw->cu.deleted_ms = kw->now;
    } else if (strcmp(what, "block") == 0) {
        kw->cu.blocked = true;
        kw->cu.blocked_ms = kw->now;
    } else {
        kw->cu.blocked = false;
        kw->cu.blocked_ms = 0;
    }
    kw->cu.updated_ms = kw->now;
    return kohort_customer_update(c, &kw->cu);
}

static enum req_result
customer_flag(struct req *req, const char *what)
{
    struct kw *kw;

    if (!k_auth(req, true) || (kw = kw_new(req, customer_flag_tx, 200)) == NULL)
        return REQ_DONE;
    kw->is_customer = true;
    kw->fail_code = what;
    return kw_submit(kw);
}

static enum req_result
h_customer_delete(struct req *req)
{
    return customer_flag(req, "delete");
}

static enum req_result
h_customer_block(struct req *req)
{
    return customer_flag(req, "block");
}

static enum req_result
h_customer_unblock(struct req *req)
{
    return customer_flag(req, "unblock");
}

struct kcread {
    struct req *req;
    struct kohort_customer cu;
    struct klist l;
    struct kohort_customer *rows;
    size_t n;
    int64_t count;
};

static enum store_rc
customer_get_tx(struct store_conn *c, void *arg)
{
    struct kcread *r = arg;

    return kohort_customer_get(c, r->req->auth.org_id, r->req->auth.mode, r->req->param[0], &r->cu);
}

static enum req_result
h_customer_get(struct req *req)
{
    struct kcread r = {.req = req};
    struct kset ks;
    enum store_rc rc;

    if (!k_auth(req, true) || !kset_load(req, &ks))
        return REQ_DONE;
    rc = req->app->store->ops->read(req->app->store, customer_get_tx, &r);
    if (rc == STORE_NOT_FOUND)
        k_error(req, 404, "NOT_FOUND", "Customer %s not found.", req->param[0]);
    else if (rc != STORE_OK)
        k_store_error(req, rc);
    else
        k_send(req, 200, customer_json(&r.cu), ks.snake);
    kohort_customer_free(&r.cu);
    return REQ_DONE;
}

static enum store_rc
customer_list_tx(struct store_conn *c, void *arg)
{
    struct kcread *r = arg;

    return kohort_customer_list(c, &r->l.q, &r->rows, &r->n, &r->count);
}

static enum req_result
h_customer_list(struct req *req)
{
    struct kcread r = {.req = req};
    struct jsonx *data;
    struct kset ks;
    enum store_rc rc;

    if (!k_auth(req, true) || !list_params(req, &r.l, customer_cols) || !kset_load(req, &ks))
        return REQ_DONE;
    rc = req->app->store->ops->read(req->app->store, customer_list_tx, &r);
    if (rc != STORE_OK) {
        k_store_error(req, rc);
        return REQ_DONE;
    }
    data = jsonx_array();
    for (size_t i = 0; i < r.n; i++)
        jsonx_append(data, customer_json(&r.rows[i]));
    kohort_customers_free(r.rows, r.n);
    list_send(req, data, r.count, ks.snake);
    return REQ_DONE;
}

/* ---- payout: CASHBACK_AVAILABLE -> CASHBACK_PROCESSING -> CASHBACK_SENT ---- */

struct kpay {
    struct kset ks;
    char to[KOHORT_STATUS_LEN];
    bool not_kohort, bad_step;
    char from[KOHORT_STATUS_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char order_id[IDS_UUID_LEN];
    int64_t cashback;
};

/* In the transaction: the order's next Kohort status, its canonical mapping and event. */
static int
payout_mutate(void *arg, const struct order_row *cur, struct order_row *next,
              const char **event_type)
{
    struct kpay *kp = arg;
    struct jsonx *doc;
    struct jsonx *k;
    const struct jsonx *st, *cb;
    int rc = -2;

    if (strcmp(cur->dialect, "kohort") != 0) {
        kp->not_kohort = true;
        return -1;
    }
    doc = order_doc(cur);
    k = doc ? jsonx_get(doc, "kohort") : NULL;
    st = k ? jsonx_get(k, "status") : NULL;
    if (st == NULL || jsonx_type(st) != JX_STRING)
        goto out;
    snprintf(kp->from, sizeof kp->from, "%s", jsonx_str(st));
    if (strcmp(kp->from, kp->to) == 0) {
        rc = 0;
        goto out;
    }
    if (!(strcmp(kp->from, "CASHBACK_AVAILABLE") == 0 ||
          (strcmp(kp->from, "CASHBACK_PROCESSING") == 0 && strcmp(kp->to, "CASHBACK_SENT") == 0)) ||
        strcmp(cur->status, "canceled") == 0) {
        kp->bad_step = true;
        rc = -1;
        goto out;
    }
    cb = jsonx_get(k, "amountCashback");
    kp->cashback = cb && jsonx_type(cb) == JX_INT ? jsonx_int(cb) : -1;
    jsonx_set_str(k, "status", kp->to);
    jsonx_set_null(k, "updatedBy");
    if (strcmp(kp->to, "CASHBACK_SENT") == 0) {
        jsonx_set_str(doc, "status", "fulfilled");
        *event_type = "order.cashback_sent";
    } else {
        *event_type = "order.updated";
    }
    snprintf(kp->org_id, sizeof kp->org_id, "%s", cur->org_id);
    kp->mode = cur->mode;
    snprintf(kp->order_id, sizeof kp->order_id, "%s", cur->id);
    rc = order_commit_doc(doc, next, clock_now_ms());
out:
    jsonx_free(doc);
    return rc;
}

static enum store_rc
payout_after(struct store_conn *c, void *arg)
{
    struct kpay *kp = arg;

    return kohort_link_set_status(c, kp->org_id, kp->mode, kp->order_id, kp->to, kp->cashback);
}

static void
payout_ok(struct req *req, const struct order_row *row, bool created, void *arg)
{
    struct kpay *kp = arg;

    (void)created;
    k_send(req, 201, order_json(row), kp->ks.snake);
}

static void
payout_err(struct req *req, enum svc_err err, const struct svc_info *info, void *arg)
{
    struct kpay *kp = arg;

    if (err == SVC_NOT_FOUND || (err == SVC_INVALID_TRANSITION && kp->not_kohort))
        k_error(req, 404, "NOT_FOUND", "Order not found.");
    else if (err == SVC_INVALID_TRANSITION)
        k_error(req, 400, "Bad Request", "The order is %s; it cannot move to %s.",
                kp->from[0] ? kp->from : info->status, kp->to);
    else if (err == SVC_UNAVAILABLE)
        k_store_error(req, STORE_UNAVAILABLE);
    else if (err == SVC_IDEM_BAD_KEY || err == SVC_IDEM_IN_USE || err == SVC_IDEM_MISMATCH)
        create_err(req, err, info, NULL);
    else
        k_store_error(req, STORE_FAIL);
}

static void
payout_release(void *arg)
{
    free(arg);
}

/* POST /orders/{id}/payout {"status": "CASHBACK_PROCESSING" | "CASHBACK_SENT"}: records
 * the customer's cashback payout (orderd's addition: Kohort pays out itself). */
static enum req_result
h_order_payout(struct req *req)
{
    struct svc_change change = {0};
    struct svc_hooks hooks = {0};
    const struct jsonx *st;
    struct jsonx *doc;
    struct kpay *kp;
    const char *ref = req->param[0];

    if (!k_auth(req, false) || (doc = k_body(req, true)) == NULL)
        return REQ_DONE;
    st = kin(doc, "status");
    if (st != NULL &&
        (jsonx_type(st) != JX_STRING || (strcmp(jsonx_str(st), "CASHBACK_PROCESSING") != 0 &&
                                         strcmp(jsonx_str(st), "CASHBACK_SENT") != 0))) {
        k_error(req, 400, "Bad Request", "status must be CASHBACK_PROCESSING or CASHBACK_SENT");
        jsonx_free(doc);
        return REQ_DONE;
    }
    kp = calloc(1, sizeof *kp);
    if (kp == NULL || !kset_load(req, &kp->ks)) {
        if (kp == NULL)
            k_store_error(req, STORE_FAIL);
        free(kp);
        jsonx_free(doc);
        return REQ_DONE;
    }
    snprintf(kp->to, sizeof kp->to, "%s", st ? jsonx_str(st) : "CASHBACK_SENT");
    jsonx_free(doc);
    if (strncmp(ref, "ord_", 4) == 0)
        ref += 4;
    if (!ids_is_uuid(ref) && !ids_is_short(ref)) {
        k_error(req, 404, "NOT_FOUND", "Order not found.");
        free(kp);
        return REQ_DONE;
    }
    change.kind = SVC_CUSTOM;
    change.mutate = payout_mutate;
    change.mutate_arg = kp;
    hooks.ok = payout_ok;
    hooks.err = payout_err;
    hooks.arg = kp;
    hooks.after = payout_after;
    hooks.tx_arg = kp;
    hooks.release = payout_release;
    return svc_order_change(req, ref, &change, &hooks);
}

/* ---- settlement: a background job settles each group at its expiry ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool started, stopping;
    int64_t kick_ms; /* a group expires then: wake no later */
    struct app *app;
} job = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, false, INT64_MAX, NULL};

static void
job_kick(int64_t at_ms)
{
    pthread_mutex_lock(&job.lock);
    if (at_ms < job.kick_ms) {
        job.kick_ms = at_ms;
        pthread_cond_signal(&job.cond);
    }
    pthread_mutex_unlock(&job.lock);
}

struct settle {
    struct kohort_group g; /* as found due */
    char req_id[IDS_REQUEST_LEN];
    int64_t now;
};

/* Moves one member order to CASHBACK_AVAILABLE with its cashback. */
static enum store_rc
settle_order(struct store_conn *c, const struct settle *s, const char *order_id,
             const struct kohort_tiers *t, int level)
{
    struct order_row cur, next;
    struct jsonx *doc = NULL, *k, *amt;
    struct event_row e;
    enum store_rc rc;
    int64_t cashback;

    memset(&next, 0, sizeof next);
    memset(&e, 0, sizeof e);
    rc = kohort_order_get(c, s->g.org_id, s->g.mode, order_id, &cur);
    if (rc != STORE_OK)
        return rc == STORE_NOT_FOUND ? STORE_OK : rc;
    doc = order_doc(&cur);
    k = doc ? jsonx_get(doc, "kohort") : NULL;
    rc = STORE_FAIL;
    if (k == NULL || jsonx_type(k) != JX_OBJECT)
        goto out;
    rc = STORE_OK;
    if (strcmp(cur.status, "canceled") == 0) /* canceled through /v1: no cashback */
        goto out;
    amt = jsonx_get(doc, "total_amount");
    cashback = kohort_cashback(t, level, amt && jsonx_type(amt) == JX_INT ? jsonx_int(amt) : 0);
    jsonx_set_str(k, "status", "CASHBACK_AVAILABLE");
    jsonx_set_int(k, "amountCashback", cashback);
    jsonx_set_str(k, "updatedBy", "system");
    if (strcmp(cur.status, "pending") == 0)
        jsonx_set_str(doc, "status", "confirmed");
    rc = STORE_FAIL;
    if (order_row_copy(&next, &cur) != 0 || order_commit_doc(doc, &next, s->now) != 1)
        goto out;
    rc = kohort_order_update(c, &next, cur.version);
    if (rc == STORE_OK)
        rc = kohort_link_set_status(c, s->g.org_id, s->g.mode, order_id, "CASHBACK_AVAILABLE",
                                    cashback);
    if (rc == STORE_OK) {
        event_make(&e, s->g.org_id, s->g.mode, "order.cashback_available", order_id, s->req_id,
                   strndup(next.body, next.body_len), s->now);
        rc = e.data != NULL ? kohort_event_insert(c, &e) : STORE_FAIL;
    }
out:
    free(e.data);
    jsonx_free(doc);
    order_row_free(&cur);
    order_row_free(&next);
    return rc;
}

/* One group, in one transaction: the conditional status change decides who settles. */
static enum store_rc
settle_tx(struct store_conn *c, void *arg)
{
    struct settle *s = arg;
    struct kohort_group g;
    struct kohort_tiers t;
    char(*ids)[IDS_UUID_LEN] = NULL;
    size_t n = 0;
    bool changed = false, success;
    enum store_rc rc;
    int level;

    rc = kohort_group_get(c, s->g.org_id, s->g.mode, s->g.id, &g);
    if (rc != STORE_OK)
        return rc == STORE_NOT_FOUND ? STORE_OK : rc;
    success = g.n_orders > 1;
    rc = kohort_group_close(c, g.org_id, g.mode, g.id, success ? "COMPLETED" : "EXPIRED",
                            KG_AFTER_EXPIRY, s->now, &changed);
    if (rc != STORE_OK || !changed)
        goto out;
    if (success) {
        group_tiers(&g, &t, NULL);
        rc = kohort_group_order_ids(c, g.org_id, g.mode, g.id, &ids, &n);
        level = kohort_tier_reached(&t, (int)n);
        for (size_t i = 0; rc == STORE_OK && i < n; i++)
            rc = settle_order(c, s, ids[i], &t, level);
    }
    kohort_group_free(&g);
    if (rc == STORE_OK)
        rc = kohort_group_get(c, s->g.org_id, s->g.mode, s->g.id, &g);
    if (rc == STORE_OK)
        rc = group_event(c, &g, success ? "payment_group.succeeded" : "payment_group.expired",
                         s->req_id, s->now);
out:
    free(ids);
    kohort_group_free(&g);
    return rc;
}

struct due {
    int64_t now;
    struct kohort_group *rows;
    size_t n;
    int64_t next;
    bool found;
};

static enum store_rc
due_tx(struct store_conn *c, void *arg)
{
    struct due *d = arg;
    enum store_rc rc = kohort_groups_due(c, d->now, K_SETTLE_BATCH, &d->rows, &d->n);

    if (rc == STORE_OK)
        rc = kohort_groups_next_expiry(c, &d->next, &d->found);
    return rc;
}

/* Settles what is due; returns the next time to look (ms). */
static int64_t
settle_due(struct app *app)
{
    struct store *st = app->store;
    struct due d;
    int64_t next = clock_now_ms() + K_JOB_MAX_SLEEP;
    bool failed = false;
    int settled = 0;

    for (int round = 0; round < 64; round++) {
        memset(&d, 0, sizeof d);
        d.now = clock_now_ms();
        if (st->ops->read(st, due_tx, &d) != STORE_OK)
            return d.now + 1000; /* store trouble: look again in a second */
        for (size_t i = 0; i < d.n; i++) {
            struct settle s;
            struct store_write w;
            memset(&s, 0, sizeof s);
            memset(&w, 0, sizeof w);
            s.g = d.rows[i];
            s.now = clock_now_ms();
            ids_request(s.req_id);
            w.kind = SW_CUSTOM;
            w.custom = settle_tx;
            w.hook_arg = &s;
            if (store_write_wait(st, &w) != STORE_OK) {
                log_error("kohort: settling group %s failed (rc %d)", s.g.id, (int)w.rc);
                failed = true;
            } else {
                settled++;
            }
        }
        kohort_groups_free(d.rows, d.n);
        if (d.n < K_SETTLE_BATCH) {
            if (d.found && d.next > d.now && d.next < next)
                next = d.next;
            if (failed || (d.found && d.next <= d.now && d.n == 0))
                next = d.now + 1000; /* a failed settlement is tried again in a second */
            break;
        }
    }
    if (settled > 0)
        metrics_settlement(settled);
    return next;
}

static void *
job_main(void *arg)
{
    struct app *app = arg;
    struct timespec ts;
    int64_t next, deadline, now;

    for (;;) {
        next = settle_due(app);
        pthread_mutex_lock(&job.lock);
        for (;;) {
            now = clock_now_ms();
            deadline = next < job.kick_ms ? next : job.kick_ms;
            if (job.stopping || now >= deadline)
                break;
            ts.tv_sec = (time_t)(deadline / 1000);
            ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
            pthread_cond_timedwait(&job.cond, &job.lock, &ts);
        }
        if (job.kick_ms <= clock_now_ms())
            job.kick_ms = INT64_MAX;
        if (job.stopping) {
            pthread_mutex_unlock(&job.lock);
            break;
        }
        pthread_mutex_unlock(&job.lock);
    }
    return NULL;
}

static int
k_start(struct app *app)
{
    job.app = app;
    job.stopping = false;
    job.kick_ms = INT64_MAX;
    if (pthread_create(&job.thread, NULL, job_main, app) != 0) {
        log_error("kohort: cannot start the settlement job");
        return -1;
    }
    job.started = true;
    return 0;
}

static void
k_stop(void)
{
    if (!job.started)
        return;
    pthread_mutex_lock(&job.lock);
    job.stopping = true;
    pthread_cond_signal(&job.cond);
    pthread_mutex_unlock(&job.lock);
    pthread_join(job.thread, NULL);
    job.started = false;
}

/* ---- routes ---- */

static const struct api_route routes[] = {
    {"POST", "/orders", h_order_create},
    {"GET", "/orders", h_order_list},
    {"GET", "/orders/{}", h_order_get},
    {"POST", "/orders/{}/payout", h_order_payout},
    {"POST", "/payment-groups", h_group_create},
    {"GET", "/payment-groups", h_group_list},
    {"GET", "/payment-groups/{}", h_group_get},
    {"PATCH", "/payment-groups/{}", h_group_update},
    {"GET", "/payment-groups/{}/participants", h_group_orders},
    {"GET", "/payment-groups/{}/orders", h_group_orders},
    {"POST", "/payment-groups/{}/cancel", h_group_cancel},
    {"POST", "/payment-groups/{}/expire", h_group_expire},
    {"POST", "/payment-groups/{}/validate", h_group_validate},
    {"POST", "/groups", h_group_create},
    {"GET", "/groups", h_group_list},
    {"GET", "/groups/{}", h_group_get},
    {"PATCH", "/groups/{}", h_group_update},
    {"GET", "/groups/{}/participants", h_group_orders},
    {"GET", "/groups/{}/orders", h_group_orders},
    {"POST", "/groups/{}/cancel", h_group_cancel},
    {"POST", "/groups/{}/expire", h_group_expire},
    {"POST", "/groups/{}/validate", h_group_validate},
    {"POST", "/customers", h_customer_create},
    {"GET", "/customers", h_customer_list},
    {"GET", "/customers/{}", h_customer_get},
    {"PATCH", "/customers/{}", h_customer_update},
    {"DELETE", "/customers/{}", h_customer_delete},
    {"PATCH", "/customers/{}/block", h_customer_block},
    {"PATCH", "/customers/{}/unblock", h_customer_unblock},
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_kohort = {
    .name = "kohort",
    .prefix = "/kohort",
    .routes = routes,
    .http_error = k_http_error,
    .preflight = NULL,
    .start = k_start,
    .stop = k_stop,
};

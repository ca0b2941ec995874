/* SPDX-License-Identifier: MIT */
/*
 * threekit.c -- the Threekit Orders API, wire-compatible (../shared/dialects/threekit.md,
 * docs/dialects/threekit.md). Mounted at /threekit on the main listener and alone on
 * --dialect-listen threekit=ADDR:PORT.
 *
 * An order is stored as the canonical /v1 order (its cart as zero-priced line items, the
 * vendor status mapped onto the canonical lifecycle) plus a "threekit" member holding
 * every Threekit field as validated: orgId (the org's UUID), name, customerId,
 * originOrgId, platform, metadata, derivative, cart, items and the vendor status. Every
 * answer is rendered from that member and the row's ids and times.
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
#include "store/threekit_store.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TK_NAME_MAX         255              /* order name, ids, platform fields */
#define TK_PLATFORM_MAX     LIMIT_STR_SHORT  /* platform.platform (the canonical platform) */
#define TK_CART_MAX         LIMIT_LINE_ITEMS /* cart entries, items entries */
#define TK_COUNT_MAX        LIMIT_QUANTITY_MAX
#define TK_META_KEYS        100   /* metadata / derivative / cart metadata keys */
#define TK_META_KEY_LEN     255   /* one key */
#define TK_META_STR_LEN     2048  /* one string value */
#define TK_META_OBJ_BYTES   16384 /* one object value of order metadata, as compact JSON */
#define TK_PER_PAGE_DEFAULT 50
#define TK_PER_PAGE_MAX     100
#define TK_PAGE_MAX         1000000

/* The vendor statuses and the canonical status each maps onto. */
static const struct {
    const char *vendor, *canon;
} tk_statuses[] = {
    {"List", "pending"},          {"In Cart", "pending"},    {"New", "pending"},
    {"In Progress", "confirmed"}, {"Complete", "fulfilled"},
};

#define TK_N_STATUSES (sizeof tk_statuses / sizeof tk_statuses[0])

static const char *
tk_status_canon(const char *vendor)
{
    for (size_t i = 0; i < TK_N_STATUSES; i++)
        if (strcmp(tk_statuses[i].vendor, vendor) == 0)
            return tk_statuses[i].canon;
    return NULL;
}

/* Rank of a canonical status on the forward path; -1 for canceled (or unknown). */
static int
canon_rank(const char *s)
{
    if (strcmp(s, "pending") == 0)
        return 0;
    if (strcmp(s, "confirmed") == 0)
        return 1;
    if (strcmp(s, "fulfilled") == 0)
        return 2;
    return -1;
}

/* A Threekit status change may move the canonical status forward only (pending ->
 * confirmed -> fulfilled, steps may be skipped), or re-open a canceled order. */
static bool
tk_transition_ok(const char *from, const char *to)
{
    int rf = canon_rank(from), rt = canon_rank(to);

    if (strcmp(from, to) == 0 || order_transition_ok(from, to))
        return true;
    return rf >= 0 && rt > rf;
}

static bool
tk_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* ---- answers ---- */

/* Threekit-style error: {"error":{"status","code","message","errors"?},"requestId"}. */
static void
tk_error(struct req *req, int status, const char *code, const char *message,
         const struct problems *p)
{
    struct buf b = {0};
    size_t len = 0;
    char *body;

    buf_printf(&b, "{\"error\":{\"status\":%d,\"code\":", status);
    jsonx_quote(&b, code);
    buf_puts(&b, ",\"message\":");
    jsonx_quote(&b, message);
    if (p != NULL && p->n > 0) {
        buf_puts(&b, ",\"errors\":[");
        for (int i = 0; i < p->n; i++) {
            buf_puts(&b, i ? ",{\"field\":" : "{\"field\":");
            jsonx_quote(&b, p->e[i].field);
            buf_puts(&b, ",\"code\":");
            jsonx_quote(&b, p->e[i].code);
            buf_puts(&b, ",\"message\":");
            jsonx_quote(&b, p->e[i].message);
            buf_puts(&b, "}");
        }
        buf_puts(&b, "]");
    }
    buf_puts(&b, "},\"requestId\":");
    jsonx_quote(&b, req->id);
    buf_puts(&b, "}");
    body = buf_take(&b, &len);
    resp_json(&req->resp, status, body, body ? len : 0);
}

static void tk_errorf(struct req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
tk_errorf(struct req *req, int status, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tk_error(req, status, code, msg, NULL);
}

static bool
store_error(struct req *req, enum store_rc rc)
{
    if (rc == STORE_OK || rc == STORE_NOT_FOUND)
        return false;
    if (rc == STORE_UNAVAILABLE) {
        tk_errorf(req, 503, "store_unavailable", "the order store is unavailable; retry");
        resp_header(&req->resp, "Retry-After", "1");
    } else {
        tk_errorf(req, 500, "internal_error", "internal error; quote request id %s", req->id);
    }
    return true;
}

static void
not_found(struct req *req)
{
    tk_errorf(req, 404, "order_not_found", "no such order");
}

static void
invalid(struct req *req, const struct problems *p)
{
    char msg[96];

    snprintf(msg, sizeof msg, "%d field%s invalid", p->n + p->dropped,
             p->n + p->dropped == 1 ? " is" : "s are");
    tk_error(req, 422, "validation_failed", msg, p);
}

/* The Threekit view of a stored order (new), or NULL when it is not a Threekit order. */
static struct jsonx *
tk_view(const struct order_row *row)
{
    static const char *const members[] = {"orgId",    "name",     "customerId", "originOrgId",
                                          "platform", "metadata", "derivative", "cart",
                                          "items",    "status",   NULL};
    struct jsonx *doc = order_doc(row), *out = NULL;
    const struct jsonx *tk;
    char ts[CLOCK_RFC3339_LEN];

    if (doc == NULL)
        return NULL;
    tk = jsonx_get(doc, "threekit");
    if (tk == NULL || jsonx_type(tk) != JX_OBJECT)
        goto out;
    out = jsonx_object();
    jsonx_set_str(out, "id", row->id);
    jsonx_set_str(out, "shortId", row->short_id);
    for (int i = 0; members[i] != NULL; i++) {
        const struct jsonx *v = jsonx_get(tk, members[i]);
        jsonx_set(out, members[i], v != NULL ? jsonx_ref((struct jsonx *)v) : jsonx_null());
    }
    clock_format_ms(row->created_ms, ts);
    jsonx_set_str(out, "createdAt", ts);
    clock_format_ms(row->updated_ms, ts);
    jsonx_set_str(out, "updatedAt", ts);
    jsonx_set_null(out, "deletedAt");
out:
    jsonx_free(doc);
    return out;
}

static void
tk_ok(struct req *req, const struct order_row *row, bool created, void *arg)
{
    struct jsonx *v = tk_view(row);
    size_t len = 0;
    char *body = v != NULL ? jsonx_dump(v, &len) : NULL;

    (void)created;
    (void)arg;
    jsonx_free(v);
    if (body == NULL) {
        tk_errorf(req, 500, "internal_error", "internal error; quote request id %s", req->id);
        return;
    }
    resp_json(&req->resp, 200, body, len);
}

/* For changes, arg is the change context (struct change_ctx below, a jsonx object):
 * a refusal decided inside the transaction is in its "deny" member. */
static void
tk_err(struct req *req, enum svc_err err, const struct svc_info *info, void *arg)
{
    const struct jsonx *deny = arg != NULL ? jsonx_get(arg, "deny") : NULL;

    (void)info;
    switch (err) {
    case SVC_IDEM_BAD_KEY:
        tk_errorf(req, 400, "invalid_header",
                  "Idempotency-Key must be 1 to %d printable ASCII characters", LIMIT_IDEM_KEY_LEN);
        break;
    case SVC_IDEM_IN_USE:
        tk_errorf(req, 409, "idempotency_key_in_use",
                  "a request with this Idempotency-Key is still running; retry");
        resp_header(&req->resp, "Retry-After", "1");
        break;
    case SVC_IDEM_MISMATCH:
        tk_errorf(req, 422, "idempotency_key_reused",
                  "this Idempotency-Key was used with a different request");
        break;
    case SVC_NOT_FOUND:
        not_found(req);
        break;
    case SVC_INVALID_TRANSITION:
        if (deny != NULL && jsonx_type(deny) == JX_OBJECT) {
            const struct jsonx *st = jsonx_get(deny, "status"), *code = jsonx_get(deny, "code"),
                               *msg = jsonx_get(deny, "message"), *field = jsonx_get(deny, "field");
            struct problems p = {0};
            if (field != NULL && jsonx_str(field) != NULL) {
                problems_add(&p, jsonx_str(field), jsonx_str(code), "%s", jsonx_str(msg));
                invalid(req, &p);
            } else {
                tk_error(req, (int)jsonx_int(st), jsonx_str(code), jsonx_str(msg), NULL);
            }
        } else {
            tk_errorf(req, 500, "internal_error", "internal error; quote request id %s", req->id);
        }
        break;
    case SVC_UNAVAILABLE:
        store_error(req, STORE_UNAVAILABLE);
        break;
    case SVC_EXTERNAL_ID_CONFLICT: /* Threekit orders have no external id */
    case SVC_VERSION_CONFLICT:     /* no version checks here */
    case SVC_PRECONDITION:
    case SVC_INTERNAL:
    case SVC_HOOK_FAILED:
        store_error(req, STORE_FAIL);
        break;
    }
}

/* ---- authentication ---- */

struct caller {
    bool secret;
    char org_uuid[IDS_UUID_LEN];
    char currency[4];
};

/* The origin (scheme://host[:port]) of a Referer URL into out; false when it has none. */
static bool
referer_origin(const char *ref, char *out, size_t size)
{
    const char *sep = strstr(ref, "://");
    size_t n;

    if (sep == NULL || sep == ref)
        return false;
    n = (size_t)(sep - ref) + 3;
    n += strcspn(ref + n, "/?#");
    if (n >= size)
        return false;
    memcpy(out, ref, n);
    out[n] = '\0';
    return true;
}

/* Does id (an org id or UUID) name the caller's org? */
static bool
org_matches(const struct req *req, const struct caller *who, const char *id)
{
    return strcmp(id, req->auth.org_id) == 0 || strcasecmp(id, who->org_uuid) == 0;
}

/* Authenticates the token (Authorization: Bearer, else ?bearer_token=), checks a public
 * token's origin and the orgId query parameter. Answers and returns false on failure. */
static bool
tk_auth(struct req *req, struct caller *who)
{
    const char *h = req_header(req, "Authorization"), *token = NULL, *origin, *q_org;
    char derived[256], setting[16];
    struct org_rec org;
    enum auth_rc rc;
    bool ok = false;

    memset(who, 0, sizeof *who);
    if (h != NULL && h[0] != '\0') {
        if (strncasecmp(h, "Bearer ", 7) != 0) {
            tk_errorf(req, 401, "invalid_token", "send the token as Authorization: Bearer <token>");
            return false;
        }
        for (token = h + 7; *token == ' '; token++)
            ;
    } else {
        token = req_query(req, "bearer_token");
    }
    rc = auth_key(req->app, token, &req->auth);
    if (rc == AUTH_MISSING) {
        tk_errorf(req, 401, "missing_token",
                  "send a token as ?bearer_token=<token> or Authorization: Bearer <token>");
        return false;
    }
    if (rc == AUTH_INVALID) {
        tk_errorf(req, 401, "invalid_token", "the token is not valid");
        return false;
    }
    if (rc == AUTH_RATE_LIMITED) {
        tk_errorf(req, 429, "rate_limited", "too many requests with this token; retry after %u s",
                  (unsigned)req->auth.rate.retry_after);
        return false;
    }
    if (rc != AUTH_OK) {
        store_error(req, STORE_UNAVAILABLE);
        return false;
    }
    if (store_error(req, req->app->store->ops->org_get(req->app->store, req->auth.org_id, &org)))
        return false;
    who->secret = req->auth.kind == KEY_SECRET;
    snprintf(who->org_uuid, sizeof who->org_uuid, "%s", org.uuid);
    settings_get(org.settings ? org.settings : "{}", "threekit.currency", who->currency,
                 sizeof who->currency);
    if (who->currency[0] == '\0')
        snprintf(who->currency, sizeof who->currency, "USD");
    if (!who->secret) {
        origin = req_header(req, "Origin");
        if (origin == NULL && req_header(req, "Referer") != NULL)
            origin =
                referer_origin(req_header(req, "Referer"), derived, sizeof derived) ? derived : "";
        if (origin == NULL) {
            settings_get(org.settings ? org.settings : "{}", "threekit.public_token_without_origin",
                         setting, sizeof setting);
            if (strcmp(setting, "allow") != 0) {
                tk_errorf(req, 403, "origin_required",
                          "a public token is accepted only from an allowed origin (Origin or "
                          "Referer header); use a private token outside a browser");
                goto out;
            }
        } else if (!settings_origin_allowed(org.settings ? org.settings : "{}", origin)) {
            tk_errorf(req, 403, "origin_not_allowed",
                      "this origin is not one of the token's allowed origins");
            goto out;
        } else {
            snprintf(req->cors_origin, sizeof req->cors_origin, "%s", origin);
        }
    }
    q_org = req_query(req, "orgId");
    if (q_org != NULL && !org_matches(req, who, q_org)) {
        tk_errorf(req, 403, "org_mismatch", "orgId is not the token's organization");
        goto out;
    }
    ok = true;
out:
    org_rec_free(&org);
    return ok;
}

/* Parses the JSON body; answers and returns NULL on failure. */
static struct jsonx *
tk_body(struct req *req)
{
    const char *ct = req_header(req, "Content-Type");
    struct jsonx_error err;
    struct jsonx *doc;

    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
        tk_errorf(req, 415, "unsupported_media_type",
                  "send the body as Content-Type: application/json");
        return NULL;
    }
    doc = jsonx_parse(req->body, req->body_len, LIMIT_JSON_DEPTH, &err);
    if (doc == NULL) {
        if (err.code == JX_ERR_DEPTH)
            tk_errorf(req, 400, "json_too_deep", "JSON nesting deeper than %d", LIMIT_JSON_DEPTH);
        else
            tk_errorf(req, 400, "invalid_json", "line %d, column %d: %s", err.line, err.column,
                      err.text);
    }
    return doc;
}

/* ---- validation of Threekit fields ---- */

static void
path_join(char *out, size_t size, const char *base, const char *key)
{
    snprintf(out, size, "%.80s%s%.40s", base, base[0] && key[0] != '[' ? "." : "", key);
}

/* Optional string (or null). Returns a new string or null; errors into p. */
static struct jsonx *
v_str(struct problems *p, const struct jsonx *v, const char *path, size_t max, bool uuid)
{
    size_t n;

    if (v == NULL || jsonx_type(v) == JX_NULL)
        return jsonx_null();
    if (jsonx_type(v) != JX_STRING) {
        problems_add(p, path, "invalid_type", "must be a string or null, not %s",
                     jsonx_type_name(v));
        return jsonx_null();
    }
    n = validate_utf8_len(jsonx_str(v));
    if (n > max) {
        problems_add(p, path, "too_long", "must be at most %zu characters", max);
        return jsonx_null();
    }
    if (!validate_text(jsonx_str(v), jsonx_strlen(v), false)) {
        problems_add(p, path, "invalid_value", "must not contain control characters");
        return jsonx_null();
    }
    if (uuid && !tk_is_uuid(jsonx_str(v))) {
        problems_add(p, path, "invalid_value", "must be a UUID");
        return jsonx_null();
    }
    return jsonx_string(jsonx_str(v));
}

enum meta_kind {
    META_ORDER,      /* string, number or object values */
    META_DERIVATIVE, /* string values */
    META_CART,       /* string or number values */
};

/* metadata / derivative / cart item metadata: an object (null -> {}). Returns new. */
static struct jsonx *
v_meta(struct problems *p, const struct jsonx *m, const char *path, enum meta_kind kind)
{
    static const char *const expect[] = {"a string, a number or an object", "a string",
                                         "a string or a number"};
    struct jsonx *out = jsonx_object();
    char kpath[160];

    if (m == NULL || jsonx_type(m) == JX_NULL)
        return out;
    if (jsonx_type(m) != JX_OBJECT) {
        problems_add(p, path, "invalid_type", "must be an object, not %s", jsonx_type_name(m));
        return out;
    }
    if (jsonx_size(m) > TK_META_KEYS) {
        problems_add(p, path, "too_many", "at most %d keys", TK_META_KEYS);
        return out;
    }
    for (void *it = jsonx_iter(m); it != NULL; it = jsonx_next(m, it)) {
        const char *k = jsonx_iter_key(it);
        const struct jsonx *v = jsonx_iter_value(it);
        enum jsonx_type t = jsonx_type(v);
        size_t kl = validate_utf8_len(k);
        bool type_ok = t == JX_STRING ||
                       (kind != META_DERIVATIVE && (t == JX_INT || t == JX_REAL)) ||
                       (kind == META_ORDER && t == JX_OBJECT);

        snprintf(kpath, sizeof kpath, "%s.%s", path, k);
        if (kl == 0 || kl > TK_META_KEY_LEN || !validate_text(k, strlen(k), false)) {
            problems_add(p, kpath, "invalid_value", "keys are 1 to %d characters", TK_META_KEY_LEN);
            continue;
        }
        if (!type_ok) {
            problems_add(p, kpath, "invalid_type", "must be %s, not %s", expect[kind],
                         jsonx_type_name(v));
            continue;
        }
        if (t == JX_STRING && validate_utf8_len(jsonx_str(v)) > TK_META_STR_LEN) {
            problems_add(p, kpath, "too_long", "must be at most %d characters", TK_META_STR_LEN);
            continue;
        }
        if (t == JX_STRING && !validate_text(jsonx_str(v), jsonx_strlen(v), true)) {
            problems_add(p, kpath, "invalid_value", "must not contain control characters");
            continue;
        }
        if (t == JX_OBJECT) {
            size_t len = 0;
            char *text = jsonx_dump(v, &len);
            free(text);
            if (text == NULL || len > TK_META_OBJ_BYTES) {
                problems_add(p, kpath, "too_long", "at most %d bytes of JSON", TK_META_OBJ_BYTES);
                continue;
            }
        }
        jsonx_set(out, k, jsonx_copy(v));
    }
    return out;
}

/* One cart entry {configurationId, count, metadata?}; with legacy, also the deprecated
 * item shapes {id, count, metadata?} and a bare configuration UUID (count 1). Returns a
 * new cart item, or NULL with errors in p. */
static struct jsonx *
v_cart_item(struct problems *p, const struct jsonx *it, const char *path, bool legacy)
{
    const struct jsonx *cid, *count, *meta;
    struct jsonx *out, *m;
    char sub[128];
    int n_before = p->n + p->dropped;

    if (legacy && jsonx_type(it) == JX_STRING && tk_is_uuid(jsonx_str(it))) {
        out = jsonx_object();
        jsonx_set_str(out, "configurationId", jsonx_str(it));
        jsonx_set_int(out, "count", 1);
        return out;
    }
    if (jsonx_type(it) != JX_OBJECT) {
        problems_add(p, path, "invalid_type", "must be an object, not %s", jsonx_type_name(it));
        return NULL;
    }
    for (void *i = jsonx_iter(it); i != NULL; i = jsonx_next(it, i)) {
        const char *k = jsonx_iter_key(i);
        if (strcmp(k, "configurationId") != 0 && strcmp(k, "count") != 0 &&
            strcmp(k, "metadata") != 0 && !(legacy && strcmp(k, "id") == 0)) {
            path_join(sub, sizeof sub, path, k);
            problems_add(p, sub, "unknown_field", "unknown field");
        }
    }
    cid = jsonx_get(it, "configurationId");
    path_join(sub, sizeof sub, path, "configurationId");
    if (legacy && cid == NULL && jsonx_get(it, "id") != NULL) {
        cid = jsonx_get(it, "id");
        path_join(sub, sizeof sub, path, "id");
    }
    if (cid == NULL || jsonx_type(cid) == JX_NULL)
        problems_add(p, sub, "required", "is required");
    else if (jsonx_type(cid) != JX_STRING)
        problems_add(p, sub, "invalid_type", "must be a string, not %s", jsonx_type_name(cid));
    else if (!tk_is_uuid(jsonx_str(cid)))
        problems_add(p, sub, "invalid_value", "must be a saved configuration's UUID");
    count = jsonx_get(it, "count");
    path_join(sub, sizeof sub, path, "count");
    if (count == NULL || jsonx_type(count) == JX_NULL)
        problems_add(p, sub, "required", "is required");
    else if (jsonx_type(count) != JX_INT)
        problems_add(p, sub, "invalid_type", "must be an integer, not %s", jsonx_type_name(count));
    else if (jsonx_int(count) < 1 || jsonx_int(count) > TK_COUNT_MAX)
        problems_add(p, sub, "out_of_range", "must be between 1 and %d", TK_COUNT_MAX);
    meta = jsonx_get(it, "metadata");
    path_join(sub, sizeof sub, path, "metadata");
    m = v_meta(p, meta, sub, META_CART);
    if (p->n + p->dropped > n_before) {
        jsonx_free(m);
        return NULL;
    }
    out = jsonx_object();
    jsonx_set_str(out, "configurationId", jsonx_str(cid));
    jsonx_set_int(out, "count", jsonx_int(count));
    if (meta != NULL && jsonx_type(meta) != JX_NULL)
        jsonx_set(out, "metadata", m);
    else
        jsonx_free(m);
    return out;
}

/* A cart array (1 to TK_CART_MAX entries unless may_be_empty). Returns new or NULL. */
static struct jsonx *
v_cart(struct problems *p, const struct jsonx *arr, const char *path, bool legacy,
       bool may_be_empty)
{
    struct jsonx *out;
    char sub[128];
    size_t n;
    int n_before = p->n + p->dropped;

    if (arr == NULL || jsonx_type(arr) != JX_ARRAY) {
        problems_add(p, path[0] ? path : "cart", "invalid_type", "must be an array, not %s",
                     arr ? jsonx_type_name(arr) : "nothing");
        return NULL;
    }
    n = jsonx_size(arr);
    if ((n == 0 && !may_be_empty) || n > TK_CART_MAX) {
        problems_add(p, path[0] ? path : "cart", n == 0 ? "too_short" : "too_many",
                     "must have %d to %d entries", may_be_empty ? 0 : 1, TK_CART_MAX);
        return NULL;
    }
    out = jsonx_array();
    for (size_t i = 0; i < n; i++) {
        struct jsonx *item;
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        item = v_cart_item(p, jsonx_at(arr, i), sub, legacy);
        if (item != NULL)
            jsonx_append(out, item);
    }
    if (p->n + p->dropped > n_before) {
        jsonx_free(out);
        return NULL;
    }
    return out;
}

static struct jsonx *
v_platform(struct problems *p, const struct jsonx *v)
{
    struct jsonx *out = jsonx_object(), *s;
    const struct jsonx *name;
    char sub[64];

    if (v == NULL || jsonx_type(v) == JX_NULL)
        return out;
    if (jsonx_type(v) != JX_OBJECT) {
        problems_add(p, "platform", "invalid_type", "must be an object, not %s",
                     jsonx_type_name(v));
        return out;
    }
    for (void *it = jsonx_iter(v); it != NULL; it = jsonx_next(v, it)) {
        const char *k = jsonx_iter_key(it);
        if (strcmp(k, "id") != 0 && strcmp(k, "platform") != 0 && strcmp(k, "storeName") != 0) {
            snprintf(sub, sizeof sub, "platform.%.40s", k);
            problems_add(p, sub, "unknown_field", "unknown field");
        }
    }
    if (jsonx_get(v, "id") != NULL)
        jsonx_set(out, "id", v_str(p, jsonx_get(v, "id"), "platform.id", TK_NAME_MAX, false));
    name = jsonx_get(v, "platform");
    if (name != NULL && jsonx_type(name) != JX_NULL) {
        s = v_str(p, name, "platform.platform", TK_PLATFORM_MAX, false);
        if (jsonx_type(s) == JX_STRING)
            jsonx_set(out, "platform", s);
        else
            jsonx_free(s);
    }
    if (jsonx_get(v, "storeName") != NULL)
        jsonx_set(out, "storeName",
                  v_str(p, jsonx_get(v, "storeName"), "platform.storeName", TK_NAME_MAX, false));
    return out;
}

static struct jsonx *
v_status(struct problems *p, const struct jsonx *v)
{
    if (v == NULL || jsonx_type(v) == JX_NULL)
        return NULL;
    if (jsonx_type(v) != JX_STRING || tk_status_canon(jsonx_str(v)) == NULL) {
        problems_add(p, "status", "invalid_status",
                     "must be List, In Cart, New, In Progress or Complete");
        return NULL;
    }
    return jsonx_string(jsonx_str(v));
}

/* The deprecated items: an array kept as sent (null -> []). */
static struct jsonx *
v_items(struct problems *p, const struct jsonx *v)
{
    if (v == NULL || jsonx_type(v) == JX_NULL)
        return jsonx_array();
    if (jsonx_type(v) != JX_ARRAY) {
        problems_add(p, "items", "invalid_type", "must be an array, not %s", jsonx_type_name(v));
        return jsonx_array();
    }
    if (jsonx_size(v) > TK_CART_MAX) {
        problems_add(p, "items", "too_many", "must have at most %d entries", TK_CART_MAX);
        return jsonx_array();
    }
    return jsonx_copy(v);
}

/* items -> cart: the converted cart when every entry is well-formed, else []. */
static struct jsonx *
items_to_cart(const struct jsonx *items)
{
    struct problems scratch = {0};
    struct jsonx *cart;

    if (jsonx_size(items) == 0)
        return jsonx_array();
    cart = v_cart(&scratch, items, "items", true, false);
    return cart != NULL ? cart : jsonx_array();
}

/* Canonical line items for a cart: one zero-priced line per configuration. */
static struct jsonx *
cart_lines(const struct jsonx *cart)
{
    struct jsonx *lines = jsonx_array();
    char name[64];

    for (size_t i = 0; i < jsonx_size(cart); i++) {
        const struct jsonx *c = jsonx_at(cart, i);
        const char *cid = jsonx_str(jsonx_get(c, "configurationId"));
        struct jsonx *li = jsonx_object();
        snprintf(name, sizeof name, "Configuration %s", cid ? cid : "");
        jsonx_set_str(li, "external_id", cid);
        jsonx_set_str(li, "name", name);
        jsonx_set_int(li, "quantity", jsonx_int(jsonx_get(c, "count")));
        jsonx_set_int(li, "unit_price", 0);
        jsonx_append(lines, li);
    }
    return lines;
}

/* The same lines in their canonical (validated) form, for a change. */
static struct jsonx *
cart_lines_canon(const struct jsonx *cart)
{
    struct jsonx *lines = jsonx_array();

    for (size_t i = 0; i < jsonx_size(cart); i++) {
        const struct jsonx *c = jsonx_at(cart, i);
        const char *cid = jsonx_str(jsonx_get(c, "configurationId"));
        struct jsonx *li = jsonx_object();
        char name[64];
        snprintf(name, sizeof name, "Configuration %s", cid ? cid : "");
        jsonx_set_str(li, "external_id", cid);
        jsonx_set_str(li, "name", name);
        jsonx_set_null(li, "sku");
        jsonx_set_null(li, "ean13");
        jsonx_set_int(li, "quantity", jsonx_int(jsonx_get(c, "count")));
        jsonx_set_int(li, "unit_price", 0);
        jsonx_set_int(li, "amount", 0);
        jsonx_set_null(li, "brand");
        jsonx_set_null(li, "category");
        jsonx_set_null(li, "supplier");
        jsonx_set_null(li, "image_url");
        jsonx_set(li, "custom", jsonx_object());
        jsonx_append(lines, li);
    }
    return lines;
}

/* ---- create ---- */

static const struct svc_hooks tk_hooks = {.ok = tk_ok, .err = tk_err};

/* Validates a create body into the "threekit" member (new) or NULL with errors in p;
 * *forbidden when orgId names another org. */
static struct jsonx *
tk_validate_create(struct req *req, const struct caller *who, const struct jsonx *in,
                   struct problems *p, bool *forbidden)
{
    static const char *const allowed[] = {"name",     "customerId", "originOrgId", "platform",
                                          "metadata", "items",      "cart",        "derivative",
                                          "status",   "orgId",      NULL};
    struct jsonx *tk = jsonx_object(), *items, *cart = NULL, *st;
    const struct jsonx *org = jsonx_get(in, "orgId"), *c;

    *forbidden = false;
    for (void *it = jsonx_iter(in); it != NULL; it = jsonx_next(in, it)) {
        const char *k = jsonx_iter_key(it);
        bool known = false;
        for (int i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], k) == 0;
        if (!known) {
            char f[64];
            snprintf(f, sizeof f, "%.60s", k);
            problems_add(p, f, "unknown_field", "unknown field");
        }
    }
    if (org != NULL && jsonx_type(org) != JX_NULL) {
        if (jsonx_type(org) != JX_STRING)
            problems_add(p, "orgId", "invalid_type", "must be a string, not %s",
                         jsonx_type_name(org));
        else if (!org_matches(req, who, jsonx_str(org)))
            *forbidden = true;
    }
    jsonx_set_str(tk, "orgId", who->org_uuid);
    jsonx_set(tk, "name", v_str(p, jsonx_get(in, "name"), "name", TK_NAME_MAX, false));
    jsonx_set(tk, "customerId", v_str(p, jsonx_get(in, "customerId"), "customerId", 36, true));
    jsonx_set(tk, "originOrgId",
              v_str(p, jsonx_get(in, "originOrgId"), "originOrgId", TK_NAME_MAX, false));
    jsonx_set(tk, "platform", v_platform(p, jsonx_get(in, "platform")));
    jsonx_set(tk, "metadata", v_meta(p, jsonx_get(in, "metadata"), "metadata", META_ORDER));
    jsonx_set(tk, "derivative",
              v_meta(p, jsonx_get(in, "derivative"), "derivative", META_DERIVATIVE));
    items = v_items(p, jsonx_get(in, "items"));
    c = jsonx_get(in, "cart");
    if (c != NULL && jsonx_type(c) != JX_NULL)
        cart = v_cart(p, c, "cart", false, true);
    else
        cart = items_to_cart(items);
    jsonx_set(tk, "cart", cart != NULL ? cart : jsonx_array());
    jsonx_set(tk, "items", items);
    st = v_status(p, jsonx_get(in, "status"));
    jsonx_set(tk, "status", st != NULL ? st : jsonx_string("New"));
    if (p->n > 0 || p->dropped > 0) {
        jsonx_free(tk);
        return NULL;
    }
    return tk;
}

static enum req_result
h_create(struct req *req)
{
    struct problems p = {0};
    struct caller who;
    struct jsonx *doc = NULL, *tk = NULL, *v1 = NULL, *canon = NULL;
    const struct jsonx *cart, *pf;
    struct order_row row;
    const char *status;
    bool forbidden = false, empty;
    enum req_result rc = REQ_DONE;

    if (!tk_auth(req, &who) || (doc = tk_body(req)) == NULL)
        return REQ_DONE;
    if (jsonx_type(doc) != JX_OBJECT) {
        tk_errorf(req, 400, "invalid_body", "the body must be a JSON object, not %s",
                  jsonx_type_name(doc));
        goto out;
    }
    tk = tk_validate_create(req, &who, doc, &p, &forbidden);
    if (forbidden) {
        tk_errorf(req, 403, "org_mismatch", "orgId is not the token's organization");
        goto out;
    }
    if (tk == NULL) {
        invalid(req, &p);
        goto out;
    }
    /* the canonical order: zero-priced lines for the cart (a placeholder line when the
     * cart is empty, removed after validation), the customer, the platform name */
    cart = jsonx_get(tk, "cart");
    empty = jsonx_size(cart) == 0;
    v1 = jsonx_object();
    jsonx_set_str(v1, "currency", who.currency);
    if (empty) {
        struct jsonx *lines = jsonx_array(), *li = jsonx_object();
        jsonx_set_str(li, "name", "empty cart");
        jsonx_set_int(li, "quantity", 1);
        jsonx_set_int(li, "unit_price", 0);
        jsonx_append(lines, li);
        jsonx_set(v1, "line_items", lines);
    } else {
        jsonx_set(v1, "line_items", cart_lines(cart));
    }
    if (jsonx_type(jsonx_get(tk, "customerId")) == JX_STRING) {
        struct jsonx *cust = jsonx_object();
        jsonx_set_str(cust, "id", jsonx_str(jsonx_get(tk, "customerId")));
        jsonx_set(v1, "customer", cust);
    }
    pf = jsonx_get(jsonx_get(tk, "platform"), "platform");
    if (pf != NULL && jsonx_type(pf) == JX_STRING)
        jsonx_set_str(v1, "platform", jsonx_str(pf));
    jsonx_set_str(v1, "source", "threekit");
    if (order_validate_create(v1, &p, &canon, &row) != 0) {
        invalid(req, &p);
        goto out;
    }
    if (empty)
        jsonx_set(canon, "line_items", jsonx_array());
    status = tk_status_canon(jsonx_str(jsonx_get(tk, "status")));
    jsonx_set_str(canon, "status", status);
    snprintf(row.status, sizeof row.status, "%s", status);
    jsonx_set(canon, "threekit", tk);
    tk = NULL;
    rc = svc_order_create(req, canon, &row, "threekit", &tk_hooks);
out:
    jsonx_free(doc);
    jsonx_free(tk);
    jsonx_free(v1);
    return rc;
}

/* ---- read ---- */

static bool
ref_ok(const char *ref)
{
    return ids_is_uuid(ref) || ids_is_short(ref);
}

static enum req_result
h_get(struct req *req)
{
    struct caller who;
    struct order_row row;
    enum store_rc rc;

    if (!tk_auth(req, &who))
        return REQ_DONE;
    if (!ref_ok(req->param[0])) {
        not_found(req);
        return REQ_DONE;
    }
    rc = req->app->store->ops->order_get(req->app->store, req->auth.org_id, req->auth.mode,
                                         req->param[0], &row);
    if (rc == STORE_NOT_FOUND || (rc == STORE_OK && strcmp(row.dialect, "threekit") != 0))
        not_found(req);
    else if (!store_error(req, rc))
        tk_ok(req, &row, false, NULL);
    order_row_free(&row);
    return REQ_DONE;
}

static void
bad_query(struct req *req, const char *name, const char *code, const char *msg)
{
    struct problems p = {0};

    problems_add(&p, name, code, "%s", msg);
    tk_error(req, 400, "invalid_query", "invalid query parameter", &p);
}

/* A positive integer query parameter in [1, max]; absent -> def. */
static bool
int_param(struct req *req, const char *name, long def, long max, bool clamp, long *out)
{
    const char *s = req_query(req, name);
    char *end = NULL, msg[96];
    long v;

    *out = def;
    if (s == NULL)
        return true;
    errno = 0;
    v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < 1 || (!clamp && v > max)) {
        if (clamp)
            snprintf(msg, sizeof msg, "must be a positive integer (pages hold at most %ld)", max);
        else
            snprintf(msg, sizeof msg, "must be an integer from 1 to %ld", max);
        bad_query(req, name, "out_of_range", msg);
        return false;
    }
    *out = v > max ? max : v;
    return true;
}

/* platform={"id":…,"platform":…,"storeName":…} (URL-encoded JSON). */
static bool
platform_param(struct req *req, struct threekit_list_query *q, struct jsonx **doc)
{
    const char *s = req_query(req, "platform");
    struct jsonx_error err;
    struct threekit_filter *f;

    *doc = NULL;
    if (s == NULL)
        return true;
    *doc = jsonx_parse(s, strlen(s), 4, &err);
    if (*doc == NULL || jsonx_type(*doc) != JX_OBJECT) {
        bad_query(req, "platform", "invalid_json",
                  "must be a JSON object such as {\"id\":\"…\",\"platform\":\"shopify\"}");
        return false;
    }
    for (void *it = jsonx_iter(*doc); it != NULL; it = jsonx_next(*doc, it)) {
        const char *k = jsonx_iter_key(it);
        const struct jsonx *v = jsonx_iter_value(it);
        if (strcmp(k, "id") == 0)
            f = &q->platform_id;
        else if (strcmp(k, "platform") == 0)
            f = &q->platform_name;
        else if (strcmp(k, "storeName") == 0)
            f = &q->store_name;
        else {
            bad_query(req, "platform", "unknown_field",
                      "may only hold the members id, platform and storeName");
            return false;
        }
        if (jsonx_type(v) != JX_STRING && jsonx_type(v) != JX_NULL) {
            bad_query(req, "platform", "invalid_type", "members must be strings or null");
            return false;
        }
        f->set = true;
        f->value = jsonx_str(v);
    }
    return true;
}

static const struct {
    const char *name;
    enum threekit_sort sort;
} tk_sorts[] = {
    {"createdAt", TK_SORT_CREATED},
    {"updatedAt", TK_SORT_UPDATED},
    {"name", TK_SORT_NAME},
    {"shortId", TK_SORT_SHORT_ID},
};

static enum req_result
h_list(struct req *req)
{
    struct caller who;
    struct threekit_list_query q;
    struct jsonx *pf = NULL;
    struct order_row *rows = NULL;
    size_t n = 0, len = 0;
    int64_t count = 0;
    long page, per_page;
    const char *sort = req_query(req, "sort"), *key;
    char sort_out[16];
    bool found = false;
    struct buf b = {0};
    char *body;

    if (!tk_auth(req, &who))
        return REQ_DONE;
    memset(&q, 0, sizeof q);
    memcpy(q.org_id, req->auth.org_id, sizeof q.org_id);
    q.mode = req->auth.mode;
    q.short_id = req_query(req, "shortId");
    if (!who.secret && q.short_id == NULL) {
        tk_errorf(req, 403, "forbidden",
                  "a public token may only look an order up by shortId; list with a private "
                  "token");
        goto out;
    }
    if (req_query(req, "originOrgId") != NULL) {
        q.origin_org_id.set = true;
        q.origin_org_id.value = req_query(req, "originOrgId");
    }
    if (!platform_param(req, &q, &pf) || !int_param(req, "page", 1, TK_PAGE_MAX, false, &page) ||
        !int_param(req, "perPage", TK_PER_PAGE_DEFAULT, TK_PER_PAGE_MAX, true, &per_page))
        goto out;
    if (sort == NULL || sort[0] == '\0')
        sort = "-createdAt";
    q.descending = sort[0] == '-';
    key = sort[0] == '-' || sort[0] == '+' ? sort + 1 : sort;
    for (size_t i = 0; i < sizeof tk_sorts / sizeof tk_sorts[0] && !found; i++) {
        if (strcmp(tk_sorts[i].name, key) == 0) {
            q.sort = tk_sorts[i].sort;
            found = true;
        }
    }
    if (!found) {
        bad_query(req, "sort", "invalid_value",
                  "must be createdAt, updatedAt, name or shortId, with - for descending");
        goto out;
    }
    snprintf(sort_out, sizeof sort_out, "%s%s", q.descending ? "-" : "", key);
    q.limit = (int)per_page;
    q.offset = (int64_t)(page - 1) * per_page;
    if (store_error(req, threekit_store_list(req->app->store, &q, &rows, &n, &count)))
        goto out;
    buf_printf(&b, "{\"count\":%lld,\"page\":%ld,\"perPage\":%ld,\"sort\":\"%s\",\"orders\":[",
               (long long)count, page, per_page, sort_out);
    for (size_t i = 0, shown = 0; i < n; i++) {
        struct jsonx *v = tk_view(&rows[i]);
        if (v == NULL)
            continue;
        if (shown++ > 0)
            buf_puts(&b, ",");
        jsonx_dump_buf(v, &b);
        jsonx_free(v);
    }
    buf_puts(&b, "]}");
    body = buf_take(&b, &len);
    if (body == NULL)
        store_error(req, STORE_FAIL);
    else
        resp_json(&req->resp, 200, body, len);
out:
    order_rows_free(rows, n);
    jsonx_free(pf);
    buf_free(&b);
    return REQ_DONE;
}

/* ---- changes ---- */

/*
 * A change context is one jsonx object, handed to svc as the change's `patch` (which
 * svc frees once the answer is sent) and used as mutate_arg and hooks.arg:
 *   op: "update" | "add" | "replace"; secret: bool;
 *   set: {name?, status?, metadata?, derivative?, cart?}    (update, validated)
 *   keep: {customerId?, originOrgId?, platform?, items?}   (update: must equal the order)
 *   cart: [...]                                             (add, replace: validated)
 *   deny: {status, code, message, field?}                   (set by mutate on refusal)
 */
static int
deny(struct jsonx *ctx, int status, const char *code, const char *field, const char *msg)
{
    struct jsonx *d = jsonx_object();

    jsonx_set_int(d, "status", status);
    jsonx_set_str(d, "code", code);
    jsonx_set_str(d, "message", msg);
    if (field != NULL)
        jsonx_set_str(d, "field", field);
    jsonx_set(ctx, "deny", d);
    return -1;
}

/* Adds entries to a cart: an entry with the same configuration and metadata as one
 * already there adds to its count. Returns false when the cart would be too big. */
static bool
cart_add(struct jsonx *cart, const struct jsonx *add)
{
    for (size_t i = 0; i < jsonx_size(add); i++) {
        const struct jsonx *a = jsonx_at(add, i);
        bool merged = false;
        for (size_t j = 0; j < jsonx_size(cart) && !merged; j++) {
            struct jsonx *c = jsonx_at(cart, j);
            int64_t sum = jsonx_int(jsonx_get(c, "count")) + jsonx_int(jsonx_get(a, "count"));
            const struct jsonx *ma = jsonx_get(a, "metadata"), *mc = jsonx_get(c, "metadata");
            if (!jsonx_equal(jsonx_get(c, "configurationId"), jsonx_get(a, "configurationId")) ||
                (ma == NULL) != (mc == NULL) || (ma != NULL && !jsonx_equal(ma, mc)))
                continue;
            if (sum > TK_COUNT_MAX)
                return false;
            jsonx_set_int(c, "count", sum);
            merged = true;
        }
        if (!merged) {
            if (jsonx_size(cart) >= TK_CART_MAX)
                return false;
            jsonx_append(cart, jsonx_copy(a));
        }
    }
    return true;
}

static int
tk_mutate(void *arg, const struct order_row *cur, struct order_row *next, const char **event_type)
{
    struct jsonx *ctx = arg, *doc = NULL, *orig = NULL, *tk, *cart = NULL;
    const struct jsonx *set = jsonx_get(ctx, "set"), *keep = jsonx_get(ctx, "keep"), *v;
    const char *op = jsonx_str(jsonx_get(ctx, "op")), *vendor, *to;
    char msg[160];
    int rc = -2;

    *event_type = "order.updated";
    if (strcmp(cur->dialect, "threekit") != 0)
        return deny(ctx, 404, "order_not_found", NULL, "no such order");
    doc = order_doc(cur);
    tk = doc != NULL ? jsonx_get(doc, "threekit") : NULL;
    if (tk == NULL || jsonx_type(tk) != JX_OBJECT)
        goto out;
    orig = jsonx_copy(doc);
    vendor = jsonx_str(jsonx_get(tk, "status"));
    if (vendor == NULL)
        goto out;
    if (!jsonx_bool(jsonx_get(ctx, "secret")) && strcmp(vendor, "List") != 0 &&
        strcmp(vendor, "In Cart") != 0) {
        snprintf(msg, sizeof msg,
                 "the order is %s: only a private token may change it (a public token may "
                 "change orders in List or In Cart)",
                 vendor);
        rc = deny(ctx, 403, "forbidden", NULL, msg);
        goto out;
    }
    for (void *it = keep ? jsonx_iter(keep) : NULL; it != NULL; it = jsonx_next(keep, it)) {
        const struct jsonx *have = jsonx_get(tk, jsonx_iter_key(it));
        struct jsonx *null = jsonx_null();
        bool same = jsonx_equal(jsonx_iter_value(it), have != NULL ? have : null);
        jsonx_free(null);
        if (!same) {
            rc = deny(ctx, 422, "not_updatable", jsonx_iter_key(it),
                      "cannot be changed after the order is created");
            goto out;
        }
    }
    if (strcmp(op, "update") == 0) {
        static const char *const replace[] = {"name", "metadata", "derivative", "cart", NULL};
        for (int i = 0; replace[i] != NULL; i++)
            if ((v = jsonx_get(set, replace[i])) != NULL)
                jsonx_set(tk, replace[i], jsonx_copy(v));
        v = jsonx_get(set, "status");
        if (v != NULL && strcmp(jsonx_str(v), vendor) != 0) {
            to = tk_status_canon(jsonx_str(v));
            if (!tk_transition_ok(cur->status, to)) {
                snprintf(msg, sizeof msg,
                         "the order is %s (%s); it cannot become %s (%s): statuses only move "
                         "forward",
                         vendor, cur->status, jsonx_str(v), to);
                rc = deny(ctx, 422, "invalid_status_change", "status", msg);
                goto out;
            }
            jsonx_set_str(tk, "status", jsonx_str(v));
            jsonx_set_str(doc, "status", to);
            if (strcmp(cur->status, "canceled") == 0) {
                jsonx_set_null(doc, "canceled_at");
                jsonx_set_null(doc, "cancellation_reason");
            }
        }
    } else {
        cart = strcmp(op, "add") == 0 ? jsonx_copy(jsonx_get(tk, "cart")) : jsonx_array();
        if (cart == NULL || jsonx_type(cart) != JX_ARRAY)
            goto out;
        if (!cart_add(cart, jsonx_get(ctx, "cart"))) {
            snprintf(msg, sizeof msg, "a cart holds at most %d entries of at most %d each",
                     TK_CART_MAX, TK_COUNT_MAX);
            rc = deny(ctx, 422, "too_many", "cart", msg);
            goto out;
        }
        jsonx_set(tk, "cart", cart);
        cart = NULL;
    }
    jsonx_set(doc, "line_items", cart_lines_canon(jsonx_get(tk, "cart")));
    rc = jsonx_equal(doc, orig) ? 0 : order_commit_doc(doc, next, clock_now_ms());
out:
    jsonx_free(cart);
    jsonx_free(doc);
    jsonx_free(orig);
    return rc;
}

/* Runs a change whose context is ctx (taken). */
static enum req_result
change(struct req *req, const struct caller *who, struct jsonx *ctx)
{
    struct svc_change c = {0};
    struct svc_hooks hooks = tk_hooks;

    jsonx_set_bool(ctx, "secret", who->secret);
    if (!ref_ok(req->param[0])) {
        jsonx_free(ctx);
        not_found(req);
        return REQ_DONE;
    }
    c.kind = SVC_CUSTOM;
    c.patch = ctx;
    c.mutate = tk_mutate;
    c.mutate_arg = ctx;
    hooks.arg = ctx;
    return svc_order_change(req, req->param[0], &c, &hooks);
}

/* A cart body: a bare array, or {"cart": [...]} (or {"items": [...]} when items_ok). */
static struct jsonx *
cart_body(struct req *req, const struct jsonx *doc, bool items_ok, bool may_be_empty)
{
    struct problems p = {0};
    const struct jsonx *arr = doc;
    const char *path = "";
    struct jsonx *cart;

    if (jsonx_type(doc) == JX_OBJECT) {
        for (void *it = jsonx_iter(doc); it != NULL; it = jsonx_next(doc, it)) {
            const char *k = jsonx_iter_key(it);
            if (strcmp(k, "cart") != 0 && !(items_ok && strcmp(k, "items") == 0)) {
                char f[64];
                snprintf(f, sizeof f, "%.60s", k);
                problems_add(&p, f, "unknown_field", "unknown field");
            }
        }
        path = jsonx_get(doc, "cart") != NULL || !items_ok ? "cart" : "items";
        arr = jsonx_get(doc, path);
        if (arr == NULL) {
            problems_add(&p, path, "required", "is required");
            invalid(req, &p);
            return NULL;
        }
    } else if (jsonx_type(doc) != JX_ARRAY) {
        tk_errorf(req, 400, "invalid_body", "the body must be an array of cart entries, not %s",
                  jsonx_type_name(doc));
        return NULL;
    }
    cart = p.n == 0 ? v_cart(&p, arr, path, true, may_be_empty) : NULL;
    if (cart == NULL)
        invalid(req, &p);
    return cart;
}

static enum req_result
cart_change(struct req *req, const char *op, bool items_ok)
{
    struct caller who;
    struct jsonx *doc, *cart, *ctx;

    if (!tk_auth(req, &who) || (doc = tk_body(req)) == NULL)
        return REQ_DONE;
    cart = cart_body(req, doc, items_ok, strcmp(op, "replace") == 0);
    jsonx_free(doc);
    if (cart == NULL)
        return REQ_DONE;
    ctx = jsonx_object();
    jsonx_set_str(ctx, "op", op);
    jsonx_set(ctx, "cart", cart);
    return change(req, &who, ctx);
}

static enum req_result
h_add_items(struct req *req)
{
    return cart_change(req, "add", true);
}

static enum req_result
h_add_cart(struct req *req)
{
    return cart_change(req, "add", false);
}

static enum req_result
h_replace_cart(struct req *req)
{
    return cart_change(req, "replace", false);
}

/* PUT /api/orders/{id}: an object updates name, status, metadata, derivative, cart; a
 * bare array replaces the cart (what Treble sends). */
static enum req_result
h_update(struct req *req)
{
    static const char *const ignored[] = {"id",        "shortId",   "createdAt", "updatedAt",
                                          "createdBy", "deletedAt", NULL};
    static const char *const kept[] = {"customerId", "originOrgId", "platform", "items", NULL};
    struct problems p = {0};
    struct caller who;
    struct jsonx *doc, *ctx = NULL, *set, *keep, *v;
    const struct jsonx *org;
    enum req_result rc = REQ_DONE;

    if (!tk_auth(req, &who) || (doc = tk_body(req)) == NULL)
        return REQ_DONE;
    if (jsonx_type(doc) == JX_ARRAY) {
        struct jsonx *cart = cart_body(req, doc, false, true);
        jsonx_free(doc);
        if (cart == NULL)
            return REQ_DONE;
        ctx = jsonx_object();
        jsonx_set_str(ctx, "op", "replace");
        jsonx_set(ctx, "cart", cart);
        return change(req, &who, ctx);
    }
    if (jsonx_type(doc) != JX_OBJECT) {
        tk_errorf(req, 400, "invalid_body", "the body must be a JSON object, not %s",
                  jsonx_type_name(doc));
        goto out;
    }
    org = jsonx_get(doc, "orgId");
    if (org != NULL && jsonx_type(org) == JX_STRING && !org_matches(req, &who, jsonx_str(org))) {
        tk_errorf(req, 403, "org_mismatch", "orgId is not the token's organization");
        goto out;
    }
    set = jsonx_object();
    keep = jsonx_object();
    ctx = jsonx_object();
    jsonx_set_str(ctx, "op", "update");
    jsonx_set(ctx, "set", set);
    jsonx_set(ctx, "keep", keep);
    for (void *it = jsonx_iter(doc); it != NULL; it = jsonx_next(doc, it)) {
        const char *k = jsonx_iter_key(it);
        const struct jsonx *val = jsonx_iter_value(it);
        bool skip = strcmp(k, "orgId") == 0;
        for (int i = 0; ignored[i] != NULL && !skip; i++)
            skip = strcmp(ignored[i], k) == 0;
        for (int i = 0; kept[i] != NULL && !skip; i++) {
            if (strcmp(kept[i], k) == 0) {
                jsonx_set(keep, k, jsonx_copy(val));
                skip = true;
            }
        }
        if (skip)
            continue;
        if (strcmp(k, "name") == 0) {
            jsonx_set(set, "name", v_str(&p, val, "name", TK_NAME_MAX, false));
        } else if (strcmp(k, "status") == 0) {
            v = v_status(&p, val);
            if (v != NULL)
                jsonx_set(set, "status", v);
            else if (jsonx_type(val) == JX_NULL)
                problems_add(&p, "status", "invalid_status",
                             "must be List, In Cart, New, In Progress or Complete");
        } else if (strcmp(k, "metadata") == 0) {
            jsonx_set(set, "metadata", v_meta(&p, val, "metadata", META_ORDER));
        } else if (strcmp(k, "derivative") == 0) {
            jsonx_set(set, "derivative", v_meta(&p, val, "derivative", META_DERIVATIVE));
        } else if (strcmp(k, "cart") == 0) {
            v = v_cart(&p, val, "cart", false, true);
            if (v != NULL)
                jsonx_set(set, "cart", v);
        } else {
            char f[64];
            snprintf(f, sizeof f, "%.60s", k);
            problems_add(&p, f, "unknown_field", "unknown field");
        }
    }
    if (p.n > 0 || p.dropped > 0) {
        invalid(req, &p);
        goto out;
    }
    rc = change(req, &who, ctx);
    ctx = NULL;
out:
    jsonx_free(ctx);
    jsonx_free(doc);
    return rc;
}

/* ---- service ---- */

static enum req_result
h_healthcheck(struct req *req)
{
    char *body;

    if (req->app->store->ops->ping(req->app->store) != STORE_OK) {
        tk_errorf(req, 503, "store_unavailable", "the order store does not answer");
        return REQ_DONE;
    }
    body = strdup("{\"status\":\"ok\"}");
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
    return !s->allowed;
}

/* CORS preflight: the Origin must be allowed by the org of ?bearer_token= (or, without
 * one, by some org). */
static enum req_result
tk_preflight(struct req *req)
{
    struct origin_scan scan = {req_header(req, "Origin"), false};
    const char *token = req_query(req, "bearer_token");
    struct org_rec org;
    enum auth_rc rc;

    if (scan.origin == NULL || !validate_origin(scan.origin, false)) {
        tk_errorf(req, 403, "origin_not_allowed", "a preflight needs a valid Origin");
        return REQ_DONE;
    }
    if (token != NULL) {
        rc = auth_key(req->app, token, &req->auth);
        if (rc == AUTH_UNAVAILABLE) {
            store_error(req, STORE_UNAVAILABLE);
            return REQ_DONE;
        }
        if (rc == AUTH_RATE_LIMITED) {
            tk_errorf(req, 429, "rate_limited",
                      "too many requests with this token; retry after %u s",
                      (unsigned)req->auth.rate.retry_after);
            return REQ_DONE;
        }
        if (rc == AUTH_OK) {
            if (store_error(req,
                            req->app->store->ops->org_get(req->app->store, req->auth.org_id, &org)))
                return REQ_DONE;
            scan.allowed =
                org.settings != NULL && settings_origin_allowed(org.settings, scan.origin);
            org_rec_free(&org);
        }
    } else if (store_error(req, req->app->store->ops->orgs_settings_each(req->app->store,
                                                                         origin_scan_one, &scan))) {
        return REQ_DONE;
    }
    if (!scan.allowed) {
        tk_errorf(req, 403, "origin_not_allowed",
                  "this origin is not one of the token's allowed origins");
        return REQ_DONE;
    }
    resp_json(&req->resp, 204, NULL, 0);
    req->resp.content_type = NULL;
    snprintf(req->cors_origin, sizeof req->cors_origin, "%s", scan.origin);
    resp_header(&req->resp, "Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS");
    resp_header(&req->resp, "Access-Control-Allow-Headers",
                "Authorization, Content-Type, Idempotency-Key");
    resp_header(&req->resp, "Access-Control-Max-Age", "600");
    return REQ_DONE;
}

static void
tk_http_error(struct req *req, int status, const char *code, const char *detail)
{
    tk_error(req, status, code, detail != NULL ? detail : problem_title(code), NULL);
}

/* healthcheck is matched before {} (it also has the shape of a shortId). */
static const struct api_route routes[] = {
    {"GET", "/api/orders/healthcheck", h_healthcheck},
    {"POST", "/api/orders", h_create},
    {"GET", "/api/orders", h_list},
    {"GET", "/api/orders/{}", h_get},
    {"PUT", "/api/orders/{}", h_update},
    {"POST", "/api/orders/{}/items", h_add_items},
    {"POST", "/api/orders/{}/cart", h_add_cart},
    {"PUT", "/api/orders/{}/cart", h_replace_cart},
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_threekit = {
    .name = "threekit",
    .prefix = "/threekit",
    .routes = routes,
    .http_error = tk_http_error,
    .preflight = tk_preflight,
};

/* SPDX-License-Identifier: MIT */
/*
 * dropday.c -- the Dropday API, wire-compatible (../shared/dialects/dropday.md,
 * docs/dialects/dropday.md). Mounted at /dropday on the main listener and alone on
 * --dialect-listen dropday=ADDR:PORT.
 *
 * A create body (JSON, or a PHP form from the Magento plugin) is checked field by
 * field with Laravel's wording, mapped to a canonical order (products -> line_items,
 * shipping_address -> shipping_address + customer) and validated by the core; every
 * error of both passes goes into one 422. What only Dropday answers (order lines with
 * their status, shipping, custom, the shop's own test flag) is kept under "dropday" in
 * the stored order. The order's reference comes from a per-org (and mode) sequence
 * allocated in the create transaction (before_row hook), so it is atomic with the order.
 */
#include "api/api.h"

#include "core/app.h"
#include "core/auth.h"
#include "core/buf.h"
#include "core/currency.h"
#include "core/dropday_country.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/money.h"
#include "core/order.h"
#include "core/problem.h"
#include "core/settings.h"
#include "core/svc.h"
#include "core/validate.h"
#include "store/dropday_store.h"
#include "store/store.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DD_PATH_LEN      128
#define DD_PER_PAGE      50 /* GET /orders default */
#define DD_PRODUCTS_PAGE 100
#define DD_NOTE_LEN      2000
#define DD_TS_LEN        64 /* 2025-09-22T14:30:00.000000Z */

/* ---- answers ---- */

/* Sends body (taken) as JSON with status. */
static void
dd_send(struct req *req, int status, struct jsonx *body)
{
    size_t len = 0;
    char *text = jsonx_dump(body, &len);

    jsonx_free(body);
    resp_clear(&req->resp);
    if (text == NULL) {
        text = strdup("{\"message\":\"Internal Server Error\",\"error\":\"An unexpected error "
                      "occurred. Please try again later.\"}");
        status = 500;
        len = text != NULL ? strlen(text) : 0;
    }
    resp_json(&req->resp, status, text, len);
}

/* {"message": message, "error": error}: Dropday's documented error body. */
static void
dd_error(struct req *req, int status, const char *message, const char *error)
{
    struct jsonx *o = jsonx_object();

    jsonx_set(o, "message", jsonx_text(message));
    jsonx_set(o, "error", jsonx_text(error));
    dd_send(req, status, o);
}

static const char *
dd_reason(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Errors";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void
dd_http_error(struct req *req, int status, const char *code, const char *detail)
{
    (void)code;
    if (status >= 500 && status != 503)
        detail = "An unexpected error occurred. Please try again later.";
    dd_error(req, status, dd_reason(status), detail != NULL ? detail : dd_reason(status));
}

/* Store trouble: 503 (retry) or 500. */
static void
dd_store_error(struct req *req, enum store_rc rc)
{
    if (rc == STORE_UNAVAILABLE) {
        dd_http_error(req, 503, "store_unavailable", "The order store is unavailable; retry.");
        resp_header(&req->resp, "Retry-After", "1");
    } else {
        log_error("%s: dropday store error %d", req->id, (int)rc);
        dd_http_error(req, 500, "internal_error", NULL);
    }
}

/* ---- auth: api-key (the org's secret key) + account-id (the org id or uuid) ---- */

static bool
dd_auth(struct req *req, char currency[4])
{
    static const char *const why = "Invalid or missing api-key or account-id header";
    const char *key = req_header(req, "api-key"), *account = req_header(req, "account-id");
    struct org_rec org;
    enum auth_rc arc;
    enum store_rc rc;
    bool ok;

    if (key == NULL || account == NULL || key[0] == '\0' || account[0] == '\0') {
        dd_error(req, 401, "Unauthorized", why);
        return false;
    }
    arc = auth_key(req->app, key, &req->auth);
    if (arc == AUTH_UNAVAILABLE) {
        dd_store_error(req, STORE_UNAVAILABLE);
        return false;
    }
    if (arc == AUTH_RATE_LIMITED) {
        dd_error(req, 429, "Too Many Attempts.", "Rate limit exceeded for this api-key");
        return false;
    }
    if (arc != AUTH_OK || req->auth.kind != KEY_SECRET) {
        req->auth.ok = false;
        dd_error(req, 401, "Unauthorized", why);
        return false;
    }
    rc = req->app->store->ops->org_get(req->app->store, account, &org);
    if (rc == STORE_NOT_FOUND) {
        dd_error(req, 401, "Unauthorized", why);
        return false;
    }
    if (rc != STORE_OK) {
        dd_store_error(req, rc);
        return false;
    }
    ok = strcmp(org.id, req->auth.org_id) == 0;
    snprintf(currency, 4, "EUR");
    if (ok && org.settings != NULL) {
        char cur[8];
        settings_get(org.settings, "dropday.currency", cur, sizeof cur);
        if (strlen(cur) == 3)
            memcpy(currency, cur, 4);
    }
    org_rec_free(&org);
    if (!ok)
        dd_error(req, 401, "Unauthorized", why);
    return ok;
}

/* ---- body: JSON, or a PHP form (products[0][name]=...) ---- */

struct form_build {
    struct jsonx *root;
    bool bad;
};

/* Splits "a[b][0][]" into segments; returns their count, or -1 when too deep. */
static int
form_segments(const char *k, char seg[][DD_PATH_LEN], int max)
{
    const char *p = strchr(k, '[');
    int n = 0;
    size_t len = p != NULL && p != k ? (size_t)(p - k) : strlen(k);

    if (p == k || (p != NULL && strchr(p, ']') == NULL)) { /* not PHP brackets: literal */
        p = NULL;
        len = strlen(k);
    }
    snprintf(seg[n++], DD_PATH_LEN, "%.*s", (int)(len < DD_PATH_LEN ? len : DD_PATH_LEN - 1), k);
    while (p != NULL && *p == '[') {
        const char *e = strchr(p, ']');
        if (e == NULL)
            break;
        if (n >= max)
            return -1;
        len = (size_t)(e - p - 1);
        snprintf(seg[n++], DD_PATH_LEN, "%.*s", (int)(len < DD_PATH_LEN ? len : DD_PATH_LEN - 1),
                 p + 1);
        p = e + 1;
    }
    return n;
}

static void
form_one(void *arg, const char *k, const char *v)
{
    struct form_build *fb = arg;
    char seg[LIMIT_JSON_DEPTH][DD_PATH_LEN];
    struct jsonx *node = fb->root;
    int n = form_segments(k, seg, LIMIT_JSON_DEPTH);

    if (n < 0) {
        fb->bad = true;
        return;
    }
    for (int i = 0; i < n && !fb->bad; i++) {
        char idx[24];
        const char *name = seg[i];
        struct jsonx *child;
        if (name[0] == '\0' && i > 0) { /* "[]": append */
            snprintf(idx, sizeof idx, "%zu", jsonx_size(node));
            name = idx;
        }
        if (i == n - 1) {
            jsonx_set_str(node, name, v);
            fb->bad = jsonx_get(node, name) == NULL; /* invalid UTF-8 */
            return;
        }
        child = jsonx_get(node, name);
        if (child == NULL || jsonx_type(child) != JX_OBJECT) {
            jsonx_set(node, name, jsonx_object());
            child = jsonx_get(node, name);
            fb->bad = child == NULL;
        }
        node = child;
    }
}

static int
cmp_index(const void *a, const void *b)
{
    long long x = strtoll(jsonx_iter_key(*(void *const *)a), NULL, 10);
    long long y = strtoll(jsonx_iter_key(*(void *const *)b), NULL, 10);

    return x < y ? -1 : x > y;
}

/* PHP arrays: an object whose keys are all indexes becomes a list, in index order. */
static struct jsonx *
form_listify(struct jsonx *v)
{
    struct jsonx *arr;
    void **its;
    size_t n = 0, i = 0;
    bool all_index = true;

    if (jsonx_type(v) != JX_OBJECT)
        return v;
    for (void *it = jsonx_iter(v); it != NULL; it = jsonx_next(v, it)) {
        const char *k = jsonx_iter_key(it);
        jsonx_set(v, k, form_listify(jsonx_ref(jsonx_iter_value(it))));
        all_index &= k[0] != '\0' && strlen(k) < 10 && strspn(k, "0123456789") == strlen(k);
        n++;
    }
    if (!all_index || n == 0)
        return v;
    its = calloc(n, sizeof *its);
    if (its == NULL)
        return v;
    for (void *it = jsonx_iter(v); it != NULL; it = jsonx_next(v, it))
        its[i++] = it;
    qsort(its, n, sizeof *its, cmp_index);
    arr = jsonx_array();
    for (i = 0; i < n; i++)
        jsonx_append(arr, jsonx_ref(jsonx_iter_value(its[i])));
    free(its);
    jsonx_free(v);
    return arr;
}

static bool
ct_is(const char *ct, const char *type)
{
    size_t n = strlen(type);

    return ct != NULL && strncasecmp(ct, type, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The request body as a JSON object; NULL after answering. */
static struct jsonx *
dd_body(struct req *req)
{
    const char *ct = req_header(req, "Content-Type");
    struct jsonx_error err;
    struct jsonx *doc;
    size_t i = 0;
    char msg[256];

    if (ct_is(ct, "application/x-www-form-urlencoded") || ct_is(ct, "multipart/form-data")) {
        struct form_build fb = {jsonx_object(), false};
        if (req->form_each(req, form_one, &fb) != 0 || fb.bad) {
            jsonx_free(fb.root);
            dd_error(req, 400, "Bad Request", "The form body is malformed or nested too deeply.");
            return NULL;
        }
        return form_listify(fb.root);
    }
    while (i < req->body_len && isspace((unsigned char)req->body[i]))
        i++;
    if (i == req->body_len) /* Laravel: no input, every required field is missing */
        return jsonx_object();
    doc = jsonx_parse(req->body, req->body_len, LIMIT_JSON_DEPTH, &err);
    if (doc == NULL) {
        if (ct != NULL && strstr(ct, "json") == NULL) {
            dd_error(req, 415, "Unsupported Media Type",
                     "Send the body as application/json or application/x-www-form-urlencoded.");
            return NULL;
        }
        if (err.code == JX_ERR_DEPTH)
            snprintf(msg, sizeof msg, "Malformed JSON: nested deeper than %d levels.",
                     LIMIT_JSON_DEPTH);
        else
            snprintf(msg, sizeof msg, "Malformed JSON at line %d, column %d: %s", err.line,
                     err.column, err.text);
        dd_error(req, 400, "Bad Request", msg);
        return NULL;
    }
    if (jsonx_type(doc) != JX_OBJECT) {
        jsonx_free(doc);
        dd_error(req, 400, "Bad Request", "The body must be a JSON object.");
        return NULL;
    }
    return doc;
}

/* ---- Laravel-style field errors ---- */

struct dd_errs {
    struct jsonx *errors; /* path -> [messages] */
    int n;
};

/* Laravel's displayable attribute: array lines keep their raw path
 * ("products.0.external_id"), other paths get spaces for underscores. */
static void
dd_attr(const char *path, char *out, size_t size)
{
    bool indexed = false;

    for (const char *p = path; *p; p++)
        if (isdigit((unsigned char)*p) && (p == path || p[-1] == '.') &&
            (p[strspn(p, "0123456789")] == '.' || p[strspn(p, "0123456789")] == '\0'))
            indexed = true;
    snprintf(out, size, "%s", path);
    if (!indexed)
        for (char *p = out; *p; p++)
            if (*p == '_')
                *p = ' ';
}

static bool
dd_has(const struct dd_errs *e, const char *path)
{
    return jsonx_get(e->errors, path) != NULL;
}

/* Adds "fmt" with %s replaced by the attribute (the first %s); one argument more may
 * follow (an int). */
static void
dd_fail(struct dd_errs *e, const char *path, const char *fmt, long long n)
{
    char attr[DD_PATH_LEN + 8], msg[320];
    struct jsonx *list = jsonx_get(e->errors, path);

    dd_attr(path, attr, sizeof attr);
    snprintf(msg, sizeof msg, fmt, attr, n);
    if (list == NULL) {
        list = jsonx_array();
        jsonx_set(e->errors, path, list);
    }
    jsonx_append(list, jsonx_string(msg));
    e->n++;
}

#define MSG_REQUIRED "The %s field is required."
#define MSG_STRING   "The %s field must be a string."
#define MSG_NUMBER   "The %s field must be a number."
#define MSG_INTEGER  "The %s field must be an integer."
#define MSG_ARRAY    "The %s field must be an array."
#define MSG_BOOLEAN  "The %s field must be true or false."
#define MSG_MAXLEN   "The %s field must not be greater than %lld characters."
#define MSG_MIN      "The %s field must be at least %lld."
#define MSG_MAX      "The %s field must not be greater than %lld."
#define MSG_DECIMALS "The %s field must have at most %lld decimal places."
#define MSG_EMAIL    "The %s field must be a valid email address."
#define MSG_SELECTED "The selected %s is invalid."
#define MSG_DATE     "The %s field must match the format d-m-Y."
#define MSG_ITEMS    "The %s field must not have more than %lld items."
#define MSG_INVALID  "The %s field is invalid."

static void
path_of(char *out, const char *base, const char *key)
{
    snprintf(out, DD_PATH_LEN, "%s%s%s", base, base[0] ? "." : "", key);
}

/* Trimmed text of a scalar member (numbers as their text). NULL when absent, null or
 * empty (Laravel turns "" into null); false after an error. */
static bool
dd_text(struct dd_errs *e, const struct jsonx *obj, const char *key, const char *base,
        bool required, size_t max, char **out)
{
    const struct jsonx *v = obj != NULL ? jsonx_get(obj, key) : NULL;
    char path[DD_PATH_LEN], num[64];
    const char *s = NULL;
    size_t len;

    *out = NULL;
    path_of(path, base, key);
    if (v != NULL) {
        switch (jsonx_type(v)) {
        case JX_STRING:
            s = jsonx_str(v);
            break;
        case JX_INT:
            snprintf(num, sizeof num, "%lld", (long long)jsonx_int(v));
            s = num;
            break;
        case JX_REAL:
            snprintf(num, sizeof num, "%.15g", jsonx_real(v));
            s = num;
            break;
        case JX_NULL:
            break;
        default:
            dd_fail(e, path, MSG_STRING, 0);
            return false;
        }
    }
    if (s != NULL) {
        while (isspace((unsigned char)*s))
            s++;
        len = strlen(s);
        while (len > 0 && isspace((unsigned char)s[len - 1]))
            len--;
        if (len > 0) {
            *out = strndup(s, len);
            if (*out == NULL)
                return false;
        }
    }
    if (*out == NULL) {
        if (required)
            dd_fail(e, path, MSG_REQUIRED, 0);
        return !required;
    }
    if (validate_utf8_len(*out) > max) {
        dd_fail(e, path, MSG_MAXLEN, (long long)max);
        free(*out);
        *out = NULL;
        return false;
    }
    if (!validate_text(*out, strlen(*out), max > LIMIT_STR_NAME)) {
        dd_fail(e, path, MSG_INVALID, 0);
        free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

/* A number member (JSON number or numeric string). *present false when absent/empty. */
static bool
dd_number(struct dd_errs *e, const struct jsonx *obj, const char *key, const char *base,
          bool required, double *out, bool *present)
{
    const struct jsonx *v = obj != NULL ? jsonx_get(obj, key) : NULL;
    char path[DD_PATH_LEN];
    const char *s;
    char *end;

    *present = false;
    *out = 0;
    path_of(path, base, key);
    if (v != NULL && (jsonx_type(v) == JX_INT || jsonx_type(v) == JX_REAL)) {
        *out = jsonx_real(v);
        *present = true;
        return true;
    }
    if (v != NULL && jsonx_type(v) == JX_STRING) {
        s = jsonx_str(v);
        while (isspace((unsigned char)*s))
            s++;
        if (*s != '\0') {
            size_t len = strlen(s);
            while (len > 0 && isspace((unsigned char)s[len - 1]))
                len--;
            if (strspn(s, "0123456789+-.eE") < len || len > 40) {
                dd_fail(e, path, MSG_NUMBER, 0);
                return false;
            }
            *out = strtod(s, &end);
            if (end != s + len || !isfinite(*out)) {
                dd_fail(e, path, MSG_NUMBER, 0);
                return false;
            }
            *present = true;
            return true;
        }
    } else if (v != NULL && jsonx_type(v) != JX_NULL) {
        dd_fail(e, path, MSG_NUMBER, 0);
        return false;
    }
    if (required)
        dd_fail(e, path, MSG_REQUIRED, 0);
    return !required;
}

/* An amount >= 0 in major units, exact in the currency's minor units. */
static bool
dd_money(struct dd_errs *e, const struct jsonx *obj, const char *key, const char *base,
         bool required, int exp, int64_t *minor, bool *present)
{
    char path[DD_PATH_LEN];
    double d;

    *minor = 0;
    if (!dd_number(e, obj, key, base, required, &d, present) || !*present)
        return !required || *present;
    path_of(path, base, key);
    if (d < 0) {
        dd_fail(e, path, MSG_MIN, 0);
        return false;
    }
    switch (money_from_major(d, exp, minor)) {
    case MONEY_OK:
        break;
    case MONEY_NOT_EXACT:
        dd_fail(e, path, MSG_DECIMALS, exp);
        return false;
    case MONEY_RANGE:
        dd_fail(e, path, MSG_MAX, LIMIT_AMOUNT_MAX / 100);
        return false;
    }
    if (*minor > LIMIT_AMOUNT_MAX) {
        dd_fail(e, path, MSG_MAX, LIMIT_AMOUNT_MAX / 100);
        return false;
    }
    return true;
}

static bool
dd_integer(struct dd_errs *e, const struct jsonx *obj, const char *key, const char *base,
           bool required, int64_t min, int64_t max, int64_t *out, bool *present)
{
    char path[DD_PATH_LEN];
    double d;

    *out = 0;
    if (!dd_number(e, obj, key, base, required, &d, present) || !*present)
        return !required || *present;
    path_of(path, base, key);
    if (d != floor(d) || fabs(d) > 9007199254740992.0) {
        dd_fail(e, path, MSG_INTEGER, 0);
        return false;
    }
    if (d < (double)min) {
        dd_fail(e, path, MSG_MIN, (long long)min);
        return false;
    }
    if (d > (double)max) {
        dd_fail(e, path, MSG_MAX, (long long)max);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

/* Laravel's boolean: true, false, 1, 0, "1", "0" (and "true"/"false"); null/"" absent. */
static bool
dd_bool(struct dd_errs *e, const struct jsonx *obj, const char *key, bool *out)
{
    const struct jsonx *v = jsonx_get(obj, key);
    const char *s;

    *out = false;
    if (v == NULL || jsonx_type(v) == JX_NULL)
        return true;
    if (jsonx_type(v) == JX_BOOL) {
        *out = jsonx_bool(v);
        return true;
    }
    if (jsonx_type(v) == JX_INT && (jsonx_int(v) == 0 || jsonx_int(v) == 1)) {
        *out = jsonx_int(v) == 1;
        return true;
    }
    if (jsonx_type(v) == JX_STRING) {
        s = jsonx_str(v);
        if (s[0] == '\0' || strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0)
            return true;
        if (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0) {
            *out = true;
            return true;
        }
    }
    dd_fail(e, key, MSG_BOOLEAN, 0);
    return false;
}

/* An object member (PHP's empty array [] counts as an empty object). NULL when absent
 * or null; *bad after an error. */
static const struct jsonx *
dd_object(struct dd_errs *e, const struct jsonx *obj, const char *key, const char *base,
          bool required, bool *bad)
{
    const struct jsonx *v = obj != NULL ? jsonx_get(obj, key) : NULL;
    char path[DD_PATH_LEN];

    *bad = false;
    path_of(path, base, key);
    if (v != NULL && jsonx_type(v) == JX_OBJECT)
        return v;
    if (v != NULL && jsonx_type(v) == JX_ARRAY && jsonx_size(v) == 0) {
        if (required)
            dd_fail(e, path, MSG_REQUIRED, 0);
        return NULL;
    }
    if (v != NULL && jsonx_type(v) != JX_NULL &&
        !(jsonx_type(v) == JX_STRING && jsonx_strlen(v) == 0)) {
        dd_fail(e, path, MSG_ARRAY, 0);
        *bad = true;
        return NULL;
    }
    if (required) {
        dd_fail(e, path, MSG_REQUIRED, 0);
        *bad = true;
    }
    return NULL;
}

/* custom: any object, kept as sent; null when absent. */
static struct jsonx *
dd_custom(struct dd_errs *e, const struct jsonx *obj, const char *base)
{
    bool bad;
    const struct jsonx *c = dd_object(e, obj, "custom", base, false, &bad);

    return c != NULL ? jsonx_copy(c) : jsonx_null();
}

/* custom -> canonical custom: string-able scalar values within the core's limits. */
static struct jsonx *
canon_custom(const struct jsonx *custom)
{
    struct jsonx *out = jsonx_object();
    char num[64];

    if (custom == NULL || jsonx_type(custom) != JX_OBJECT)
        return out;
    for (void *it = jsonx_iter(custom); it != NULL; it = jsonx_next(custom, it)) {
        const char *k = jsonx_iter_key(it);
        const struct jsonx *v = jsonx_iter_value(it);
        const char *s = NULL;
        if (jsonx_size(out) >= LIMIT_META_KEYS)
            break;
        if (k[0] == '\0' || validate_utf8_len(k) > LIMIT_META_KEY_LEN || strpbrk(k, "[]") ||
            !validate_text(k, strlen(k), false))
            continue;
        if (jsonx_type(v) == JX_STRING) {
            s = jsonx_str(v);
        } else if (jsonx_type(v) == JX_INT) {
            snprintf(num, sizeof num, "%lld", (long long)jsonx_int(v));
            s = num;
        } else if (jsonx_type(v) == JX_REAL) {
            snprintf(num, sizeof num, "%.15g", jsonx_real(v));
            s = num;
        } else if (jsonx_type(v) == JX_BOOL) {
            s = jsonx_bool(v) ? "true" : "false";
        }
        if (s != NULL && validate_utf8_len(s) <= LIMIT_META_VALUE_LEN &&
            validate_text(s, strlen(s), true))
            jsonx_set_str(out, k, s);
    }
    return out;
}

/* Sets key to the string s (taken; NULL -> null). */
static void
set_own(struct jsonx *o, const char *key, char *s)
{
    jsonx_set_str(o, key, s);
    free(s);
}

static struct jsonx *
money_json(int64_t minor, int exp)
{
    return jsonx_real_new(money_to_major(minor, exp));
}

/* delivery_date: DD-MM-YYYY (or YYYY-MM-DD) -> "YYYY-MM-DD"; NULL when empty. */
static bool
dd_delivery_date(struct dd_errs *e, const struct jsonx *ship, char **out)
{
    char *s = NULL, iso[16];

    *out = NULL;
    if (!dd_text(e, ship, "delivery_date", "shipping", false, 32, &s))
        return false;
    if (s == NULL)
        return true;
    if (strlen(s) == 10 && s[2] == '-' && s[5] == '-')
        snprintf(iso, sizeof iso, "%.4s-%.2s-%.2s", s + 6, s + 3, s);
    else
        snprintf(iso, sizeof iso, "%.10s", s);
    if (strspn(iso, "0123456789-") != 10 || strlen(s) != 10 || !validate_date(iso, false)) {
        dd_fail(e, "shipping.delivery_date", MSG_DATE, 0);
        free(s);
        return false;
    }
    free(s);
    *out = strdup(iso);
    return *out != NULL;
}

/* ---- create: wire -> canonical + Dropday data ---- */

struct dd_build {
    struct dd_errs e;
    int exp;
    char currency[4];
    struct jsonx *canon; /* input for order_validate_create */
    struct jsonx *dd;    /* the "dropday" object */
    int64_t subtotal, shipping, total;
    bool totals_ok;
    size_t line_map[LIMIT_LINE_ITEMS]; /* canonical line index -> products index */
    size_t n_lines;
};

static void
build_address(struct dd_build *b, const struct jsonx *in, const char *email)
{
    static const char *const base = "shipping_address";
    struct jsonx *ca = jsonx_object(), *cust = jsonx_object(), *da = jsonx_object();
    char *first = NULL, *last = NULL, *company = NULL, *a1 = NULL, *a2 = NULL, *pc = NULL,
         *city = NULL, *state = NULL, *country = NULL, *phone = NULL, name[2 * LIMIT_STR_NAME + 2];
    char iso[3] = "";
    bool bad;
    const struct jsonx *sa = dd_object(&b->e, in, base, "", true, &bad);

    if (sa == NULL) { /* Laravel checks the nested rules too */
        static const char *const req_fields[] = {"first_name", "last_name", "address1",
                                                 "postcode",   "city",      "country"};
        char path[DD_PATH_LEN];
        bad = true;
        for (size_t i = 0; i < sizeof req_fields / sizeof req_fields[0]; i++) {
            path_of(path, base, req_fields[i]);
            dd_fail(&b->e, path, MSG_REQUIRED, 0);
        }
    }
    if (sa != NULL) {
        dd_text(&b->e, sa, "first_name", base, true, LIMIT_STR_NAME, &first);
        dd_text(&b->e, sa, "last_name", base, true, LIMIT_STR_NAME, &last);
        dd_text(&b->e, sa, "company_name", base, false, LIMIT_STR_NAME, &company);
        dd_text(&b->e, sa, "address1", base, true, LIMIT_STR_NAME, &a1);
        dd_text(&b->e, sa, "address2", base, false, LIMIT_STR_NAME, &a2);
        dd_text(&b->e, sa, "postcode", base, true, LIMIT_POSTAL_LEN, &pc);
        dd_text(&b->e, sa, "city", base, true, LIMIT_STR_NAME, &city);
        dd_text(&b->e, sa, "state", base, false, LIMIT_STR_NAME, &state);
        dd_text(&b->e, sa, "phone", base, false, LIMIT_STR_NAME, &phone);
        if (dd_text(&b->e, sa, "country", base, true, LIMIT_STR_NAME, &country) &&
            country != NULL && !dropday_country_resolve(country, iso))
            dd_fail(&b->e, "shipping_address.country", MSG_SELECTED, 0);
    }
    snprintf(name, sizeof name, "%s%s%s", first ? first : "", first && last ? " " : "",
             last ? last : "");
    jsonx_set_str(ca, "name", name[0] ? name : NULL);
    jsonx_set_str(ca, "line1", a1);
    jsonx_set_str(ca, "line2", a2);
    jsonx_set_str(ca, "city", city);
    jsonx_set_str(ca, "postal_code", pc);
    jsonx_set_str(ca, "state", state);
    jsonx_set_str(ca, "country", iso[0] ? iso : NULL);
    if (phone != NULL && validate_phone_e164(phone))
        jsonx_set_str(ca, "phone", phone);
    if (sa != NULL || !bad)
        jsonx_set(b->canon, "shipping_address", ca);
    else
        jsonx_free(ca);
    jsonx_set_str(cust, "first_name", first);
    jsonx_set_str(cust, "last_name", last);
    jsonx_set_str(cust, "email", email);
    if (phone != NULL && validate_phone_e164(phone))
        jsonx_set_str(cust, "phone", phone);
    jsonx_set(b->canon, "customer", cust);

    jsonx_set_str(da, "email", email);
    set_own(da, "first_name", first);
    set_own(da, "last_name", last);
    set_own(da, "company_name", company);
    set_own(da, "phone", phone);
    set_own(da, "address1", a1);
    set_own(da, "address2", a2);
    set_own(da, "city", city);
    set_own(da, "postcode", pc);
    set_own(da, "state", state);
    jsonx_set_str(da, "country", iso[0] ? iso : NULL);
    free(country);
    jsonx_set(b->dd, "shipping_address", da);
}

static void
build_line(struct dd_build *b, const struct jsonx *p, size_t i, struct jsonx *items,
           struct jsonx *lines)
{
    char base[32], *ext = NULL, *ean = NULL, *name = NULL, *ref = NULL, *img = NULL, *brand = NULL,
                   *cat = NULL, *sup = NULL;
    struct jsonx *li = jsonx_object(), *dl = jsonx_object(), *custom;
    int64_t qty = 0, stock = 0, price = 0, purchase = 0, amount = 0;
    bool has_qty, has_stock, has_price, has_purchase, ok;

    snprintf(base, sizeof base, "products.%zu", i);
    ok = dd_text(&b->e, p, "external_id", base, true, LIMIT_STR_NAME, &ext);
    ok &= dd_text(&b->e, p, "ean13", base, false, LIMIT_STR_NAME, &ean);
    ok &= dd_text(&b->e, p, "name", base, true, LIMIT_STR_TEXT, &name);
    ok &= dd_text(&b->e, p, "reference", base, false, LIMIT_STR_NAME, &ref);
    ok &= dd_integer(&b->e, p, "quantity", base, true, 1, LIMIT_QUANTITY_MAX, &qty, &has_qty);
    ok &= dd_integer(&b->e, p, "stock_quantity", base, false, -LIMIT_QUANTITY_MAX * 1000LL,
                     LIMIT_QUANTITY_MAX * 1000LL, &stock, &has_stock);
    ok &= dd_money(&b->e, p, "price", base, true, b->exp, &price, &has_price);
    ok &= dd_money(&b->e, p, "purchase_price", base, false, b->exp, &purchase, &has_purchase);
    ok &= dd_text(&b->e, p, "image_url", base, false, LIMIT_URL_LEN, &img);
    ok &= dd_text(&b->e, p, "brand", base, false, LIMIT_STR_NAME, &brand);
    ok &= dd_text(&b->e, p, "category", base, false, LIMIT_STR_NAME, &cat);
    ok &= dd_text(&b->e, p, "supplier", base, false, LIMIT_STR_NAME, &sup);
    custom = dd_custom(&b->e, p, base);
    if (!ok || !has_qty || !has_price || __builtin_mul_overflow(qty, price, &amount) ||
        __builtin_add_overflow(b->subtotal, amount, &b->subtotal))
        b->totals_ok = false;

    jsonx_set_str(li, "external_id", ext);
    jsonx_set_str(li, "name", name);
    jsonx_set_str(li, "sku", ref);
    if (ean != NULL && validate_ean13(ean))
        jsonx_set_str(li, "ean13", ean);
    jsonx_set_int(li, "quantity", has_qty ? qty : 1);
    jsonx_set_int(li, "unit_price", price);
    jsonx_set_str(li, "brand", brand);
    jsonx_set_str(li, "category", cat);
    jsonx_set_str(li, "supplier", sup);
    if (img != NULL && validate_url(img))
        jsonx_set_str(li, "image_url", img);
    jsonx_set(li, "custom", canon_custom(custom));
    jsonx_append(items, li);
    b->line_map[b->n_lines++] = i;

    jsonx_set_int(dl, "id", (int64_t)i + 1);
    set_own(dl, "external_id", ext);
    set_own(dl, "name", name);
    set_own(dl, "ean13", ean);
    set_own(dl, "reference", ref);
    jsonx_set_int(dl, "quantity", qty);
    if (has_stock)
        jsonx_set_int(dl, "stock_quantity", stock);
    else
        jsonx_set_null(dl, "stock_quantity");
    jsonx_set(dl, "price", money_json(price, b->exp));
    jsonx_set(dl, "purchase_price", has_purchase ? money_json(purchase, b->exp) : jsonx_null());
    set_own(dl, "brand", brand);
    set_own(dl, "category", cat);
    set_own(dl, "image_url", img);
    set_own(dl, "supplier", sup);
    jsonx_set(dl, "custom", custom);
    jsonx_set_str(dl, "current_status", "pending");
    jsonx_set_null(dl, "matched_supplier");
    jsonx_append(lines, dl);
}

static void
build_products(struct dd_build *b, const struct jsonx *in)
{
    const struct jsonx *ps = jsonx_get(in, "products");
    struct jsonx *items = jsonx_array(), *lines = jsonx_array();
    char path[32];
    size_t n;

    if (ps == NULL || jsonx_type(ps) == JX_NULL ||
        (jsonx_type(ps) == JX_STRING && jsonx_strlen(ps) == 0) ||
        (jsonx_type(ps) == JX_ARRAY && jsonx_size(ps) == 0) ||
        (jsonx_type(ps) == JX_OBJECT && jsonx_size(ps) == 0)) {
        dd_fail(&b->e, "products", MSG_REQUIRED, 0);
        b->totals_ok = false;
    } else if (jsonx_type(ps) != JX_ARRAY) {
        dd_fail(&b->e, "products", MSG_ARRAY, 0);
        b->totals_ok = false;
    } else if ((n = jsonx_size(ps)) > LIMIT_LINE_ITEMS) {
        dd_fail(&b->e, "products", MSG_ITEMS, LIMIT_LINE_ITEMS);
        b->totals_ok = false;
    } else {
        for (size_t i = 0; i < n; i++) {
            const struct jsonx *p = jsonx_at(ps, i);
            if (jsonx_type(p) != JX_OBJECT) {
                snprintf(path, sizeof path, "products.%zu", i);
                dd_fail(&b->e, path, MSG_ARRAY, 0);
                b->totals_ok = false;
                continue;
            }
            build_line(b, p, i, items, lines);
        }
    }
    jsonx_set(b->canon, "line_items", items);
    jsonx_set(b->dd, "order_lines", lines);
}

static void
build_order(struct dd_build *b, const struct jsonx *in)
{
    struct jsonx *ship = jsonx_object();
    const struct jsonx *sh;
    char *ext = NULL, *source = NULL, *email = NULL, *sname = NULL, *sdesc = NULL, *snote = NULL,
         *sdate = NULL;
    int64_t ship_top = 0, ship_obj = 0;
    bool test, has_total, has_top = false, has_obj = false, bad;

    b->totals_ok = true;
    dd_text(&b->e, in, "external_id", "", true, LIMIT_STR_NAME, &ext);
    dd_text(&b->e, in, "source", "", true, LIMIT_STR_NAME, &source);
    dd_bool(&b->e, in, "test", &test);
    b->totals_ok &= dd_money(&b->e, in, "total", "", true, b->exp, &b->total, &has_total);
    b->totals_ok &= dd_money(&b->e, in, "shipping_cost", "", false, b->exp, &ship_top, &has_top);
    sh = dd_object(&b->e, in, "shipping", "", false, &bad);
    if (sh != NULL) {
        b->totals_ok &= dd_money(&b->e, sh, "cost", "shipping", false, b->exp, &ship_obj, &has_obj);
        dd_text(&b->e, sh, "name", "shipping", false, LIMIT_STR_NAME, &sname);
        dd_text(&b->e, sh, "description", "shipping", false, LIMIT_STR_TEXT, &sdesc);
        dd_text(&b->e, sh, "note", "shipping", false, DD_NOTE_LEN, &snote);
        dd_delivery_date(&b->e, sh, &sdate);
    }
    if (dd_text(&b->e, in, "email", "", false, LIMIT_EMAIL_LEN, &email) && email != NULL &&
        !validate_email(email)) {
        dd_fail(&b->e, "email", MSG_EMAIL, 0);
        free(email);
        email = NULL;
    }
    b->shipping = has_obj ? ship_obj : ship_top;

    jsonx_set_str(b->canon, "external_id", ext);
    jsonx_set_str(b->canon, "currency", b->currency);
    if (source != NULL && validate_utf8_len(source) <= LIMIT_STR_SHORT)
        jsonx_set_str(b->canon, "source", source);

    jsonx_set_int(b->dd, "reference", 0); /* set in the create transaction */
    jsonx_set_str(b->dd, "external_id", ext);
    jsonx_set_str(b->dd, "source", source);
    jsonx_set_bool(b->dd, "test", test);
    jsonx_set_bool(b->dd, "blocked", false);
    jsonx_set(b->dd, "total", money_json(b->total, b->exp));
    jsonx_set(b->dd, "shipping_cost", has_top ? money_json(ship_top, b->exp) : jsonx_null());
    build_address(b, in, email);
    jsonx_set(ship, "cost", has_obj || has_top ? money_json(b->shipping, b->exp) : jsonx_null());
    set_own(ship, "name", sname);
    set_own(ship, "description", sdesc);
    set_own(ship, "note", snote);
    set_own(ship, "delivery_date", sdate);
    jsonx_set(b->dd, "shipping", ship);
    jsonx_set(b->dd, "custom", dd_custom(&b->e, in, ""));
    build_products(b, in);
    jsonx_set(b->dd, "suppliers", jsonx_array());
    free(ext);
    free(source);
    free(email);

    /* Dropday's total is the shop's; lines + shipping rarely add up to it (taxes,
     * discounts, fees). The difference becomes tax (above) or discount (below) so the
     * canonical total is the shop's total. */
    jsonx_set_int(b->canon, "shipping_amount", b->shipping);
    if (b->totals_ok && b->subtotal <= LIMIT_AMOUNT_MAX * 2) {
        int64_t diff = b->total - (b->subtotal + b->shipping);
        if (diff > 0)
            jsonx_set_int(b->canon, "tax_amount", diff);
        else if (diff < 0)
            jsonx_set_int(b->canon, "discount_amount", -diff);
    }
}

/* A core field path ("line_items[2].sku") back to Dropday's ("products.2.reference"). */
static void
map_field(const struct dd_build *b, const char *f, char *out, size_t size)
{
    static const char *const pairs[][2] = {
        {"customer.first_name", "shipping_address.first_name"},
        {"customer.last_name", "shipping_address.last_name"},
        {"customer.email", "email"},
        {"customer.phone", "shipping_address.phone"},
        {"shipping_address.line1", "shipping_address.address1"},
        {"shipping_address.line2", "shipping_address.address2"},
        {"shipping_address.postal_code", "shipping_address.postcode"},
        {"shipping_address.name", "shipping_address.first_name"},
        {"shipping_amount", "shipping.cost"},
        {"discount_amount", "total"},
        {"tax_amount", "total"},
        {"total_amount", "total"},
        {"line_items", "products"},
    };
    static const char *const line_pairs[][2] = {
        {"sku", "reference"}, {"unit_price", "price"}, {"amount", "price"}};
    size_t idx;
    const char *rest;
    char *end;

    if (strncmp(f, "line_items[", 11) == 0) {
        idx = strtoul(f + 11, &end, 10);
        if (idx < b->n_lines)
            idx = b->line_map[idx];
        rest = *end == ']' ? end + 1 : "";
        if (*rest == '.')
            rest++;
        for (size_t i = 0; i < sizeof line_pairs / sizeof line_pairs[0]; i++)
            if (strcmp(rest, line_pairs[i][0]) == 0)
                rest = line_pairs[i][1];
        snprintf(out, size, "products.%zu%s%s", idx, *rest ? "." : "", rest);
        return;
    }
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (strcmp(f, pairs[i][0]) == 0) {
            snprintf(out, size, "%s", pairs[i][1]);
            return;
        }
    }
    snprintf(out, size, "%s", f);
}

static void
map_problems(struct dd_build *b, const struct problems *p)
{
    struct dd_errs *e = &b->e;
    char path[DD_PATH_LEN];

    for (int i = 0; i < p->n; i++) {
        const struct field_error *fe = &p->e[i];
        map_field(b, fe->field, path, sizeof path);
        if (dd_has(e, path))
            continue;
        if (strcmp(fe->code, "required") == 0)
            dd_fail(e, path, MSG_REQUIRED, 0);
        else if (strcmp(fe->code, "invalid_email") == 0)
            dd_fail(e, path, MSG_EMAIL, 0);
        else if (strcmp(fe->code, "invalid_country") == 0)
            dd_fail(e, path, MSG_SELECTED, 0);
        else if (strcmp(fe->code, "invalid_type") == 0)
            dd_fail(e, path, MSG_STRING, 0);
        else if (strcmp(fe->code, "out_of_range") == 0)
            dd_fail(e, path, MSG_MAX, LIMIT_AMOUNT_MAX / 100);
        else
            dd_fail(e, path, MSG_INVALID, 0);
    }
}

static void
dd_validation_failed(struct req *req, struct dd_errs *e)
{
    struct jsonx *o = jsonx_object();

    jsonx_set_str(o, "message", "Errors");
    jsonx_set(o, "errors", e->errors);
    e->errors = NULL;
    dd_send(req, 422, o);
}

/* ---- create: svc hooks ---- */

/* In the create transaction: allocate the reference, match supplier names to ids,
 * remember products, map reference -> order, and write all that into the order. */
static enum store_rc
dd_before_row(struct store_conn *c, struct order_row *row, void *tx_arg)
{
    struct jsonx *doc = order_doc(row), *dd, *lines, *sups;
    int64_t ref = 0, sup_ids[LIMIT_LINE_ITEMS];
    size_t n_sup = 0, len = 0;
    enum store_rc rc = STORE_FAIL;
    char *body;

    (void)tx_arg;
    if (doc == NULL || (dd = jsonx_get(doc, "dropday")) == NULL)
        goto out;
    lines = jsonx_get(dd, "order_lines");
    sups = jsonx_array();
    jsonx_set(dd, "suppliers", sups);
    if ((rc = dropday_store_next_reference(c, row->org_id, row->mode, &ref)) != STORE_OK)
        goto out;
    jsonx_set_int(dd, "reference", ref);
    for (size_t i = 0; i < jsonx_size(lines); i++) {
        struct jsonx *l = jsonx_at(lines, i), *ms;
        const char *sup = jsonx_str(jsonx_get(l, "supplier"));
        struct dropday_product_rec p = {0};
        const struct jsonx *v;
        int64_t id;
        bool seen = false;
        if (sup != NULL) {
            if ((rc = dropday_store_supplier_id(c, row->org_id, row->mode, sup, &id)) != STORE_OK)
                goto out;
            ms = jsonx_object();
            jsonx_set_int(ms, "id", id);
            jsonx_set_str(ms, "name", sup);
            for (size_t k = 0; k < n_sup && !seen; k++)
                seen = sup_ids[k] == id;
            if (!seen) {
                sup_ids[n_sup++] = id;
                jsonx_append(sups, jsonx_copy(ms));
            }
            jsonx_set(l, "matched_supplier", ms);
        }
        p.external_id = (char *)jsonx_str(jsonx_get(l, "external_id"));
        p.name = (char *)jsonx_str(jsonx_get(l, "name"));
        p.sku = (char *)jsonx_str(jsonx_get(l, "reference"));
        p.ean13 = (char *)jsonx_str(jsonx_get(l, "ean13"));
        v = jsonx_get(l, "purchase_price");
        p.has_purchase_price = v != NULL && jsonx_type(v) != JX_NULL;
        p.purchase_price = p.has_purchase_price ? jsonx_real(v) : 0;
        v = jsonx_get(l, "stock_quantity");
        p.has_stock = v != NULL && jsonx_type(v) == JX_INT;
        p.stock_quantity = p.has_stock ? jsonx_int(v) : 0;
        if (p.external_id != NULL && p.name != NULL &&
            (rc = dropday_store_product_upsert(c, row->org_id, row->mode, &p, row->created_ms)) !=
                STORE_OK)
            goto out;
    }
    {
        struct dropday_order_rec r = {
            .org_id = row->org_id,
            .mode = row->mode,
            .reference = ref,
            .order_id = row->id,
            .external_id = row->external_id ? row->external_id : "",
            .test = jsonx_bool(jsonx_get(dd, "test")),
            .total = jsonx_real(jsonx_get(dd, "total")),
            .created_ms = row->created_ms,
        };
        if ((rc = dropday_store_order_insert(c, &r, sup_ids, n_sup)) != STORE_OK)
            goto out;
    }
    body = jsonx_dump(doc, &len);
    if (body == NULL) {
        rc = STORE_FAIL;
        goto out;
    }
    free(row->body);
    row->body = body;
    row->body_len = len;
    rc = STORE_OK;
out:
    jsonx_free(doc);
    return rc;
}

static void
dd_reference_answer(struct req *req, const char *message, int64_t ref)
{
    struct jsonx *o = jsonx_object();

    jsonx_set_str(o, "message", message);
    jsonx_set_int(o, "reference", ref);
    dd_send(req, 200, o);
}

/* The reference in a stored body: the "dropday" object is the last member the dialect
 * adds and starts with "reference" (build_order), and no earlier member can hold that
 * text (quotes inside strings are escaped), so the first match is it. Saves parsing the
 * whole order on the committer thread. */
static int64_t
body_reference(const struct order_row *row)
{
    static const char key[] = "\"dropday\":{\"reference\":";
    const char *p = row->body != NULL ? strstr(row->body, key) : NULL;

    return p != NULL ? strtoll(p + sizeof key - 1, NULL, 10) : 0;
}

static void
dd_ok(struct req *req, const struct order_row *row, bool created, void *arg)
{
    int64_t ref = body_reference(row);

    (void)arg;
    if (ref <= 0)
        dd_http_error(req, 500, "internal_error", NULL);
    else
        dd_reference_answer(req, created ? "Order created" : "Order already exists", ref);
}

struct ref_lookup {
    const char *org_id;
    enum key_mode mode;
    const char *order_id;
    int64_t ref;
};

static enum store_rc
ref_lookup_fn(struct store_conn *c, void *arg)
{
    struct ref_lookup *l = arg;

    return dropday_store_reference_of(c, l->org_id, l->mode, l->order_id, &l->ref);
}

static void
dd_err(struct req *req, enum svc_err err, const struct svc_info *info, void *arg)
{
    struct ref_lookup l = {req->auth.org_id, req->auth.mode, NULL, 0};
    enum store_rc rc;

    (void)arg;
    switch (err) {
    case SVC_EXTERNAL_ID_CONFLICT:
        l.order_id = info->existing_id;
        rc = req->app->store->ops->read(req->app->store, ref_lookup_fn, &l);
        if (rc == STORE_OK)
            dd_reference_answer(req, "Order already exists", l.ref);
        else
            dd_store_error(req, rc == STORE_NOT_FOUND ? STORE_FAIL : rc);
        break;
    case SVC_IDEM_BAD_KEY:
        dd_error(req, 400, "Bad Request", "Idempotency-Key must be 1 to 255 printable characters.");
        break;
    case SVC_IDEM_IN_USE:
        dd_error(req, 409, "Conflict", "A request with this Idempotency-Key is still running.");
        resp_header(&req->resp, "Retry-After", "1");
        break;
    case SVC_IDEM_MISMATCH:
        dd_error(req, 422, "Errors", "This Idempotency-Key was used with a different request.");
        break;
    case SVC_UNAVAILABLE:
        dd_store_error(req, STORE_UNAVAILABLE);
        break;
    default:
        dd_store_error(req, STORE_FAIL);
        break;
    }
}

static const struct svc_hooks dd_hooks = {
    .ok = dd_ok,
    .err = dd_err,
    .before_row = dd_before_row,
};

static enum req_result
h_create(struct req *req)
{
    struct dd_build b = {0};
    struct problems p = {0};
    struct jsonx *in, *canon = NULL;
    struct order_row row;
    enum req_result rc = REQ_DONE;

    if (!dd_auth(req, b.currency) || (in = dd_body(req)) == NULL)
        return REQ_DONE;
    b.exp = currency_exponent(b.currency);
    if (b.exp < 0)
        b.exp = 2;
    b.e.errors = jsonx_object();
    b.canon = jsonx_object();
    b.dd = jsonx_object();
    build_order(&b, in);
    jsonx_free(in);
    if (order_validate_create(b.canon, &p, &canon, &row) != 0)
        map_problems(&b, &p);
    if (b.e.n > 0) {
        if (canon != NULL) {
            jsonx_free(canon);
            order_row_free(&row);
        }
        dd_validation_failed(req, &b.e);
        goto out;
    }
    jsonx_set(canon, "dropday", b.dd);
    b.dd = NULL;
    rc = svc_order_create(req, canon, &row, "dropday", &dd_hooks);
out:
    jsonx_free(b.e.errors);
    jsonx_free(b.canon);
    jsonx_free(b.dd);
    return rc;
}

/* ---- reads ---- */

static void
dd_time(int64_t ms, char out[DD_TS_LEN])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    if (ms < 0) {
        s = 0;
        ms = 0;
    }
    gmtime_r(&s, &tm);
    snprintf(out, DD_TS_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000) * 1000);
}

/* A line's status from the order's canonical status (changed through /v1). */
static const char *
line_status(const char *canonical, const char *stored)
{
    if (strcmp(canonical, "confirmed") == 0)
        return "ruled";
    if (strcmp(canonical, "fulfilled") == 0)
        return "completed";
    if (strcmp(canonical, "canceled") == 0)
        return "declined";
    return stored != NULL ? stored : "pending";
}

static void
copy_member(struct jsonx *dst, const struct jsonx *src, const char *key)
{
    const struct jsonx *v = src != NULL ? jsonx_get(src, key) : NULL;

    jsonx_set(dst, key, v != NULL ? jsonx_copy(v) : jsonx_null());
}

/* The Dropday order object of a stored order; NULL when it has no Dropday data. */
static struct jsonx *
dd_order_json(const struct dropday_hit *h, bool with_logs)
{
    struct jsonx_error jerr;
    struct jsonx *doc = jsonx_parse(h->body, h->body_len, 64, &jerr), *o = NULL, *lines;
    const struct jsonx *dd, *src;
    char ts_c[DD_TS_LEN], ts_u[DD_TS_LEN], ref[24];

    if (doc == NULL || (dd = jsonx_get(doc, "dropday")) == NULL)
        goto out;
    dd_time(h->created_ms, ts_c);
    dd_time(h->updated_ms, ts_u);
    snprintf(ref, sizeof ref, "%lld", (long long)h->reference);
    o = jsonx_object();
    jsonx_set_int(o, "id", h->reference);
    copy_member(o, dd, "external_id");
    jsonx_set_str(o, "reference", ref);
    copy_member(o, dd, "source");
    copy_member(o, dd, "test");
    copy_member(o, dd, "blocked");
    copy_member(o, dd, "total");
    copy_member(o, dd, "shipping_address");
    copy_member(o, dd, "shipping");
    copy_member(o, dd, "custom");
    lines = jsonx_array();
    src = jsonx_get(dd, "order_lines");
    for (size_t i = 0; src != NULL && i < jsonx_size(src); i++) {
        const struct jsonx *l = jsonx_at(src, i);
        struct jsonx *ol = jsonx_copy(l), *logs, *log;
        const char *st = line_status(h->status, jsonx_str(jsonx_get(l, "current_status")));
        jsonx_del(ol, "supplier");
        jsonx_set_str(ol, "current_status", st);
        if (with_logs) {
            logs = jsonx_array();
            log = jsonx_object();
            jsonx_set_int(log, "id", 1);
            jsonx_set_str(log, "status", "pending");
            jsonx_set_str(log, "message", "Order line created");
            jsonx_set_str(log, "created_at", ts_c);
            jsonx_append(logs, log);
            if (strcmp(st, "pending") != 0) {
                log = jsonx_object();
                jsonx_set_int(log, "id", 2);
                jsonx_set_str(log, "status", st);
                jsonx_set_str(log, "message", "Order status changed");
                jsonx_set_str(log, "created_at", ts_u);
                jsonx_append(logs, log);
            }
            jsonx_set(ol, "logs", logs);
        }
        jsonx_append(lines, ol);
    }
    jsonx_set(o, "order_lines", lines);
    copy_member(o, dd, "suppliers");
    jsonx_set_str(o, "created_at", ts_c);
    jsonx_set_str(o, "updated_at", ts_u);
out:
    jsonx_free(doc);
    return o;
}

struct get_arg {
    const char *org_id;
    enum key_mode mode;
    int64_t ref;
    struct dropday_hit hit;
};

static enum store_rc
get_fn(struct store_conn *c, void *arg)
{
    struct get_arg *g = arg;

    return dropday_store_order_get(c, g->org_id, g->mode, g->ref, &g->hit);
}

/* Parses a whole decimal number in [min, max]. */
static bool
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || s[0] == '\0' || strspn(s, "0123456789-+") != strlen(s) || strlen(s) > 18)
        return false;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static enum req_result
h_get(struct req *req)
{
    struct get_arg g = {req->auth.org_id, MODE_TEST, 0, {0}};
    char currency[4], msg[200];
    struct jsonx *o;
    enum store_rc rc;

    if (!dd_auth(req, currency))
        return REQ_DONE;
    g.org_id = req->auth.org_id;
    g.mode = req->auth.mode;
    if (!parse_int(req->param[0], 1, INT64_MAX, &g.ref)) {
        snprintf(msg, sizeof msg, "Order with reference '%.100s' not found", req->param[0]);
        dd_error(req, 404, "Not Found", msg);
        return REQ_DONE;
    }
    rc = req->app->store->ops->read(req->app->store, get_fn, &g);
    if (rc == STORE_NOT_FOUND) {
        snprintf(msg, sizeof msg, "Order with reference '%.100s' not found", req->param[0]);
        dd_error(req, 404, "Not Found", msg);
    } else if (rc != STORE_OK) {
        dd_store_error(req, rc);
    } else if ((o = dd_order_json(&g.hit, true)) == NULL) {
        dd_store_error(req, STORE_FAIL);
    } else {
        dd_send(req, 200, o);
    }
    free(g.hit.body);
    return REQ_DONE;
}

/* Laravel's boolean query values. Returns -1 absent, 0, 1, or -2 invalid. */
static int
query_bool(struct req *req, const char *name)
{
    const char *v = req_query(req, name);

    if (v == NULL || v[0] == '\0')
        return -1;
    if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0)
        return 1;
    if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0)
        return 0;
    return -2;
}

/* ISO 8601: YYYY-MM-DD, or with THH:MM[:SS[.fff]] and Z or +hh:mm (none: UTC). A date
 * alone is its first millisecond, or its last when end_of_day. */
static bool
parse_when(const char *s, bool end_of_day, int64_t *ms)
{
    int f[6] = {0, 0, 0, 0, 0, 0}, w[6] = {4, 2, 2, 2, 2, 2};
    const char sep[6] = {'-', '-', 'T', ':', ':', '\0'};
    const char *p = s;
    struct tm tm = {0};
    int i, off = 0, frac = 0;
    char date[11];
    int64_t t;

    for (i = 0; i < 6; i++) {
        for (int k = 0; k < w[i]; k++, p++) {
            if (!isdigit((unsigned char)*p))
                return false;
            f[i] = f[i] * 10 + (*p - '0');
        }
        if (i == 2 && *p == '\0')
            break;
        if (i == 4 && *p != ':')
            break;
        if (i < 5 && *p != sep[i] && !(i == 2 && *p == ' '))
            return false;
        if (i < 5)
            p++;
    }
    snprintf(date, sizeof date, "%04d-%02d-%02d", f[0], f[1], f[2]);
    if (!validate_date(date, false) || f[3] > 23 || f[4] > 59 || f[5] > 60)
        return false;
    if (*p == '.') {
        for (int k = 0; isdigit((unsigned char)*++p); k++)
            if (k < 3)
                frac = frac * 10 + (*p - '0') + 0 * k;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
            !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
            return false;
        off = sign * (((p[1] - '0') * 10 + (p[2] - '0')) * 60 + (p[4] - '0') * 10 + (p[5] - '0'));
        p += 6;
    }
    if (*p != '\0')
        return false;
    tm.tm_year = f[0] - 1900;
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    t = (int64_t)timegm(&tm) - (int64_t)off * 60;
    *ms = t * 1000;
    if (strlen(s) == 10 && end_of_day)
        *ms += 86400000 - 1;
    return true;
}

static bool
list_query(struct req *req, struct dd_errs *e, struct dropday_query *q, int64_t *page,
           char *statuses, size_t slen, char *sups, size_t suplen)
{
    static const char *const names[][2] = {
        {"pending", "pending"},   {"ruled", "confirmed"},        {"completed", "fulfilled"},
        {"declined", "canceled"}, {"partially_completed", NULL}, {"failed", NULL},
        {"skipped", NULL},
    };
    const char *v;
    int64_t per = DD_PER_PAGE;
    int b;

    *page = 1;
    if ((v = req_query(req, "per_page")) != NULL && v[0] != '\0') {
        if (!parse_int(v, INT64_MIN / 2, INT64_MAX / 2, &per))
            dd_fail(e, "per_page", MSG_INTEGER, 0);
        else if (per < 1)
            dd_fail(e, "per_page", MSG_MIN, 1);
        else if (per > LIMIT_LIST_MAX)
            dd_fail(e, "per_page", MSG_MAX, LIMIT_LIST_MAX);
    }
    if ((v = req_query(req, "page")) != NULL && v[0] != '\0') {
        if (!parse_int(v, INT64_MIN / 2, INT64_MAX / 2, page))
            dd_fail(e, "page", MSG_INTEGER, 0);
        else if (*page < 1 || *page > 1000000000)
            dd_fail(e, "page", MSG_MIN, 1);
    }
    q->limit = per;
    if (e->n == 0) /* both in range: no overflow */
        q->offset = (*page - 1) * per;
    if ((v = req_query(req, "date_from")) != NULL && v[0] != '\0') {
        q->has_from = parse_when(v, false, &q->from_ms);
        if (!q->has_from)
            dd_fail(e, "date_from", "The %s field must be a valid date.", 0);
    }
    if ((v = req_query(req, "date_to")) != NULL && v[0] != '\0') {
        q->has_to = parse_when(v, true, &q->to_ms);
        if (!q->has_to)
            dd_fail(e, "date_to", "The %s field must be a valid date.", 0);
    }
    q->external_id = req_query(req, "external_id");
    if (q->external_id != NULL && q->external_id[0] == '\0')
        q->external_id = NULL;
    for (int i = 0; i < 2; i++) {
        const char *name = i == 0 ? "total_min" : "total_max";
        double d;
        char *end;
        v = req_query(req, name);
        if (v == NULL || v[0] == '\0')
            continue;
        d = strtod(v, &end);
        if (*end != '\0' || !isfinite(d) || strspn(v, "0123456789+-.eE") != strlen(v)) {
            dd_fail(e, name, MSG_NUMBER, 0);
            continue;
        }
        if (i == 0) {
            q->has_min = true;
            q->total_min = d;
        } else {
            q->has_max = true;
            q->total_max = d;
        }
    }
    if ((b = query_bool(req, "blocked")) == -2)
        dd_fail(e, "blocked", MSG_BOOLEAN, 0);
    q->blocked = b < 0 ? -1 : b;
    if ((b = query_bool(req, "include_test")) == -2)
        dd_fail(e, "include_test", MSG_BOOLEAN, 0);
    q->include_test = b == 1;
    if ((v = req_query(req, "statuses")) != NULL && v[0] != '\0') {
        char tok[32];
        const char *p = v;
        snprintf(statuses, slen, ",");
        while (*p != '\0') {
            size_t n = strcspn(p, ",");
            bool known = false;
            snprintf(tok, sizeof tok, "%.*s", (int)(n < sizeof tok ? n : sizeof tok - 1), p);
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                if (strcmp(tok, names[i][0]) == 0) {
                    known = true;
                    if (names[i][1] != NULL && strlen(statuses) + strlen(names[i][1]) + 2 < slen) {
                        size_t l = strlen(statuses);
                        snprintf(statuses + l, slen - l, "%s,", names[i][1]);
                    }
                }
            }
            if (!known && n > 0) {
                dd_fail(e, "statuses", MSG_SELECTED, 0);
                break;
            }
            p += n;
            if (*p == ',')
                p++;
        }
        q->statuses = statuses;
    }
    if ((v = req_query(req, "supplier_ids")) != NULL && v[0] != '\0') {
        size_t l = strlen(v);
        if (strspn(v, "0123456789, ") != l || l + 3 > suplen) {
            dd_fail(e, "supplier_ids", MSG_INVALID, 0);
        } else {
            size_t o = 0;
            sups[o++] = ',';
            for (size_t i = 0; i < l; i++)
                if (v[i] != ' ')
                    sups[o++] = v[i];
            sups[o++] = ',';
            sups[o] = '\0';
            q->supplier_ids = sups;
        }
    }
    return e->n == 0;
}

struct list_arg {
    const struct dropday_query *q;
    struct dropday_hit *hits;
    size_t n;
    int64_t total;
};

static enum store_rc
list_fn(struct store_conn *c, void *arg)
{
    struct list_arg *l = arg;

    return dropday_store_order_list(c, l->q, &l->hits, &l->n, &l->total);
}

/* The URL of this list for page (NULL when out of range). */
static struct jsonx *
page_url(struct req *req, int64_t page, int64_t last)
{
    const char *host = req_header(req, "Host");
    char url[512];

    if (page < 1 || page > last)
        return jsonx_null();
    snprintf(url, sizeof url, "%s%s%.200s?page=%lld", host ? "http://" : "", host ? host : "",
             req->path, (long long)page);
    return jsonx_string(url);
}

/* Laravel's paginator fields onto o (plain layout); *meta gets the API-resource ones. */
static void
paginate(struct req *req, struct jsonx *o, struct jsonx **meta, struct jsonx **links, int64_t page,
         int64_t per, int64_t total, size_t n)
{
    const char *host = req_header(req, "Host");
    int64_t last = total > 0 ? (total + per - 1) / per : 1;
    int64_t from = (page - 1) * per + 1;
    char path[320];

    snprintf(path, sizeof path, "%s%s%.200s", host ? "http://" : "", host ? host : "", req->path);
    jsonx_set(o, "first_page_url", page_url(req, 1, last));
    jsonx_set(o, "from", n > 0 ? jsonx_integer(from) : jsonx_null());
    jsonx_set_int(o, "last_page", last);
    jsonx_set(o, "last_page_url", page_url(req, last, last));
    jsonx_set(o, "next_page_url", page_url(req, page + 1, last));
    jsonx_set_str(o, "path", path);
    jsonx_set_int(o, "per_page", per);
    jsonx_set(o, "prev_page_url", page_url(req, page - 1, last));
    jsonx_set(o, "to", n > 0 ? jsonx_integer(from + (int64_t)n - 1) : jsonx_null());
    jsonx_set_int(o, "total", total);
    if (meta != NULL) {
        *meta = jsonx_object();
        jsonx_set_int(*meta, "current_page", page);
        jsonx_set(*meta, "from", n > 0 ? jsonx_integer(from) : jsonx_null());
        jsonx_set_int(*meta, "last_page", last);
        jsonx_set_str(*meta, "path", path);
        jsonx_set_int(*meta, "per_page", per);
        jsonx_set(*meta, "to", n > 0 ? jsonx_integer(from + (int64_t)n - 1) : jsonx_null());
        jsonx_set_int(*meta, "total", total);
        *links = jsonx_object();
        jsonx_set(*links, "first", page_url(req, 1, last));
        jsonx_set(*links, "last", page_url(req, last, last));
        jsonx_set(*links, "prev", page_url(req, page - 1, last));
        jsonx_set(*links, "next", page_url(req, page + 1, last));
    }
}

static enum req_result
h_list(struct req *req)
{
    struct dropday_query q = {0};
    struct dd_errs e = {jsonx_object(), 0};
    struct list_arg l = {&q, NULL, 0, 0};
    char currency[4], statuses[128], sups[512];
    struct jsonx *o, *data, *meta = NULL, *links = NULL;
    int64_t page = 1;
    enum store_rc rc;

    if (!dd_auth(req, currency))
        goto out;
    memcpy(q.org_id, req->auth.org_id, sizeof q.org_id);
    q.mode = req->auth.mode;
    if (!list_query(req, &e, &q, &page, statuses, sizeof statuses, sups, sizeof sups)) {
        dd_validation_failed(req, &e);
        goto out;
    }
    rc = req->app->store->ops->read(req->app->store, list_fn, &l);
    if (rc != STORE_OK) {
        dd_store_error(req, rc);
        goto out;
    }
    o = jsonx_object();
    jsonx_set_int(o, "current_page", page);
    data = jsonx_array();
    for (size_t i = 0; i < l.n; i++) {
        struct jsonx *one = dd_order_json(&l.hits[i], false);
        if (one != NULL)
            jsonx_append(data, one);
    }
    jsonx_set(o, "data", data);
    paginate(req, o, &meta, &links, page, q.limit, l.total, l.n);
    jsonx_set(o, "links", links);
    jsonx_set(o, "meta", meta);
    dd_send(req, 200, o);
out:
    dropday_hits_free(l.hits, l.n);
    jsonx_free(e.errors);
    return REQ_DONE;
}

struct products_arg {
    const char *org_id;
    enum key_mode mode;
    int64_t limit, offset;
    struct dropday_product_rec *rows;
    size_t n;
    int64_t total;
};

static enum store_rc
products_fn(struct store_conn *c, void *arg)
{
    struct products_arg *p = arg;

    return dropday_store_product_list(c, p->org_id, p->mode, p->limit, p->offset, &p->rows, &p->n,
                                      &p->total);
}

static enum req_result
h_products(struct req *req)
{
    struct products_arg a = {0};
    struct dd_errs e = {jsonx_object(), 0};
    char currency[4], ts[DD_TS_LEN];
    struct jsonx *o, *data;
    const char *v;
    int64_t page = 1;
    enum store_rc rc;

    if (!dd_auth(req, currency))
        goto out;
    if ((v = req_query(req, "page")) != NULL && v[0] != '\0' &&
        (!parse_int(v, INT64_MIN / 2, INT64_MAX / 2, &page) || page < 1 || page > 1000000000)) {
        dd_fail(&e, "page", MSG_MIN, 1);
        dd_validation_failed(req, &e);
        goto out;
    }
    a.org_id = req->auth.org_id;
    a.mode = req->auth.mode;
    a.limit = DD_PRODUCTS_PAGE;
    a.offset = (page - 1) * DD_PRODUCTS_PAGE;
    rc = req->app->store->ops->read(req->app->store, products_fn, &a);
    if (rc != STORE_OK) {
        dd_store_error(req, rc);
        goto out;
    }
    o = jsonx_object();
    jsonx_set_int(o, "current_page", page);
    data = jsonx_array();
    for (size_t i = 0; i < a.n; i++) {
        const struct dropday_product_rec *p = &a.rows[i];
        struct jsonx *it = jsonx_object();
        jsonx_set_int(it, "id", p->id);
        jsonx_set_str(it, "project_id", req->auth.org_id);
        jsonx_set_null(it, "product_feed_id");
        jsonx_set_str(it, "external_id", p->external_id);
        jsonx_set_str(it, "sku", p->sku);
        jsonx_set_str(it, "ean13", p->ean13);
        jsonx_set_str(it, "name", p->name);
        jsonx_set(it, "purchase_price",
                  p->has_purchase_price ? jsonx_real_new(p->purchase_price) : jsonx_null());
        jsonx_set(it, "stock_quantity",
                  p->has_stock ? jsonx_integer(p->stock_quantity) : jsonx_null());
        jsonx_set_int(it, "active", 1);
        dd_time(p->created_ms, ts);
        jsonx_set_str(it, "created_at", ts);
        dd_time(p->updated_ms, ts);
        jsonx_set_str(it, "updated_at", ts);
        jsonx_append(data, it);
    }
    jsonx_set(o, "data", data);
    paginate(req, o, NULL, NULL, page, DD_PRODUCTS_PAGE, a.total, a.n);
    dd_send(req, 200, o);
out:
    dropday_products_free(a.rows, a.n);
    jsonx_free(e.errors);
    return REQ_DONE;
}

/* GET /api/v1: the connection test. */
static enum req_result
h_root(struct req *req)
{
    struct jsonx *o;
    char currency[4];

    if (!dd_auth(req, currency))
        return REQ_DONE;
    o = jsonx_object();
    jsonx_set_str(o, "message", "Authenticated");
    jsonx_set_str(o, "account_id", req->auth.org_id);
    jsonx_set_bool(o, "test_mode", req->auth.mode == MODE_TEST);
    jsonx_set_str(o, "currency", currency);
    dd_send(req, 200, o);
    return REQ_DONE;
}

static const struct api_route routes[] = {
    {"GET", "/api/v1/", h_root},
    {"POST", "/api/v1/orders/", h_create},
    {"GET", "/api/v1/orders/", h_list},
    {"GET", "/api/v1/orders/{}", h_get},
    {"GET", "/api/v1/products/", h_products},
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_dropday = {
    .name = "dropday",
    .prefix = "/dropday",
    .routes = routes,
    .http_error = dd_http_error,
    .preflight = NULL,
    .x_ratelimit_headers = true, /* Laravel's throttle middleware sends them */
};

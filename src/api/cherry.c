/* SPDX-License-Identifier: MIT */
/*
 * cherry.c -- the Cherry Checkout API, wire-compatible (../shared/dialects/cherry-checkout.md,
 * docs/dialects/cherry.md). Mounted at /cherry on the main listener and alone on
 * --dialect-listen cherry=ADDR:PORT, at the vendor's paths: POST /v2/orders,
 * PUT /v2/orders/{trackId}, GET and PUT /v2/app/me.
 *
 * Every request is signed (authorization: <pk>:<token>, timestamp: <ts>). A request
 * that writes records its (key, ts, method, path, body hash) in the same transaction as
 * its write (cherry_store_seen_record), which refuses exact replays and timestamps more
 * than CHERRY_TS_WINDOW seconds older than the newest accepted for the key. Errors are
 * {"code", "error", "message"} with the message in French when Accept-Language prefers
 * fr; when several rules fail, the first in the vendor's table order wins.
 */
#include "api/api.h"

#include "core/app.h"
#include "core/auth.h"
#include "core/cherry_rules.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/money.h"
#include "core/order.h"
#include "core/settings.h"
#include "core/svc.h"
#include "core/validate.h"
#include "store/cherry_store.h"
#include "store/store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHERRY_TS_WINDOW     2   /* seconds a timestamp may lag the newest accepted */
#define CHERRY_TS_FUTURE     300 /* seconds a timestamp may lead the server clock */
#define CHERRY_TRACK_ID_MAX  100 /* characters of a trackId (it travels in a URL path) */
#define CHERRY_SECRET_MAX    128
#define CHERRY_PLUGIN_STRMAX 64

/* ---- error catalogue: the vendor's codes, labels and wording (seeds 000/001) ---- */

struct cherry_msg {
    int code;
    int http;
    const char *label;
    const char *en;
    const char *fr;
};

enum {
    E3001,
    E3004,
    E3006,
    E3010,
    E3030,
    E3031,
    E3032,
    E3033,
    E3040,
    E3041,
    E3042,
    E3043,
    E3101,
    E3130,
    E3131,
    E3133,
    E3201,
    E1001,
    E1002,
    E1003,
    E1004,
    E1005,
    E1006,
    E8000,
    E8001,
    E_COUNT
};

static const struct cherry_msg msgs[E_COUNT] = {
    [E3001] = {3001, 400, "trackId already exists",
               "You already have made an order with this track ID.",
               "Vous avez déjà crée une commande avec ce Track ID."},
    [E3004] = {3004, 400, "no charity available",
               "This exception appear when no charity is linked to your e-commerce website. In "
               "this case, contact us.",
               "Vous n'êtes lié à aucune œuvre caritative. Si cette erreur se produit, "
               "contactez-nous."},
    [E3006] = {3006, 400, "customer not set", "You haven’t defined the customer field.",
               "Vous n'avez pas définis le champs Customer."},
    [E3010] = {3010, 400, "customer email is missing",
               "You didn’t give the customer e-mail address.",
               "Vous n'avez pas renseigné l'adresse e-mail du client"},
    [E3030] = {3030, 400, "unknown error",
               "There is an unknown error when creating your order. Please contact-us.",
               "Il s'est produit une erreur inconnue lors de la création de la commande. Si "
               "cette erreur se produit, contactez-nous."},
    [E3031] = {3031, 400, "orderPrice required",
               "The order amount hasn’t been send or is not correct.",
               "Le montant total de la commande n'a pas été saisi, ou est invalide."},
    [E3032] = {3032, 400, "wrong currency", "The currency is not correct.",
               "La devise que vous avez fourni est incorrecte."},
    [E3033] = {3033, 400, "wrong status", "The order statut is not correct.",
               "Le statut de la commande n'est pas correct."},
    [E3040] = {3040, 400, "unknown error",
               "There is an unknown error when creating your order. Please contact-us.",
               "Il s'est produit une erreur inconnue lors de la création du client. Si cette "
               "erreur se produit, contactez-nous."},
    [E3041] = {3041, 400, "invalid customer email", "The customer e-mail is wrong.",
               "L'e-mail du client que vous avez fourni n'est pas valide."},
    [E3042] = {3042, 400, "missing customer firstname", "You didn’t send the customer first name.",
               "Vous n'avez pas fourni le prénom du client."},
    [E3043] = {3043, 400, "missing customer lastname", "You didn’t send the customer name.",
               "Vous n'avez pas fourni le nom du client."},
    [E3101] = {3101, 400, "order not found", "There is no order with this track ID.",
               "Aucune commande ne correspond à ce Track ID."},
    [E3130] = {3130, 400, "unknown error",
               "There is an unknown error when creating your order. Please contact-us.",
               "Il s'est produit une erreur inconnue lors de la modification de la commande. Si "
               "cette erreur se produit, contactez-nous."},
    [E3131] = {3131, 400, "orderPrice required",
               "The order amount hasn’t been send or is not correct.",
               "Le montant total de la commande n'a pas été saisi, ou est invalide."},
    [E3133] = {3133, 400, "wrong status", "The order statut is not correct.",
               "Le statut de la commande n'est pas correct."},
    [E3201] = {3201, 400, "invalid plugin information", "The plugin information is not correct.",
               "Les informations du plugin ne sont pas correctes."},
    [E1001] = {1001, 401, "missing credentials",
               "Send the headers authorization: <publicKey>:<token> and timestamp: <timestamp>.",
               "Envoyez les en-têtes authorization: <publicKey>:<token> et timestamp: "
               "<timestamp>."},
    [E1002] = {1002, 401, "invalid credentials", "The public key or the token is not valid.",
               "La clé publique ou le jeton n'est pas valide."},
    [E1003] = {1003, 401, "timestamp too old",
               "The timestamp is older than the last one accepted for this key: it must increase "
               "with every call.",
               "Le timestamp est plus ancien que le dernier accepté pour cette clé : il doit "
               "augmenter à chaque appel."},
    [E1004] = {1004, 401, "request replayed",
               "This request was already received with this timestamp.",
               "Cette requête a déjà été reçue avec ce timestamp."},
    [E1005] = {1005, 401, "timestamp in the future",
               "The timestamp is more than 5 minutes ahead of our clock.",
               "Le timestamp est en avance de plus de 5 minutes sur notre horloge."},
    [E1006] = {1006, 429, "too many requests",
               "Too many requests with this public key; retry after the number of seconds in "
               "the Retry-After header.",
               "Trop de requêtes avec cette clé publique ; réessayez après le nombre de "
               "secondes indiqué dans l'en-tête Retry-After."},
    [E8000] = {8000, 500, "server error", "We have a server error.",
               "Une erreur s'est produite sur nos serveurs."},
    [E8001] = {8001, 503, "server error", "The service is temporarily unavailable; please retry.",
               "Le service est momentanément indisponible ; veuillez réessayer."},
};

/* Sends {"code", "error", "message"[, "detail"]} with the entry's HTTP status. */
static void
send_error(struct req *req, bool fr, int e, const char *detail)
{
    struct jsonx *o = jsonx_object();
    size_t len = 0;
    char *body;

    jsonx_set_int(o, "code", msgs[e].code);
    jsonx_set_str(o, "error", msgs[e].label);
    jsonx_set_str(o, "message", fr ? msgs[e].fr : msgs[e].en);
    if (detail != NULL)
        jsonx_set(o, "detail", jsonx_text(detail));
    body = jsonx_dump(o, &len);
    jsonx_free(o);
    resp_clear(&req->resp);
    resp_json(&req->resp, msgs[e].http, body, body ? len : 0);
    if (msgs[e].http == 503)
        resp_header(&req->resp, "Retry-After", "1");
}

/* ---- per-request context ---- */

struct cctx {
    bool fr;
    bool is_update;
    struct cherry_seen seen;
    enum cherry_verdict verdict;
    /* org settings */
    char *settings;
    struct cherry_scale scale;
    bool allow_extra;
    /* update */
    bool has_price, has_cherry, has_status;
    int64_t price_cents, cherry_units;
    char status[16]; /* canonical */
    /* PUT /v2/app/me */
    struct store_write w;
    struct req *req;
    struct jsonx *info; /* what was sent */
    char *merged;       /* what is stored after the write */
};

static void
ctx_free(struct cctx *x)
{
    if (x == NULL)
        return;
    free(x->settings);
    jsonx_free(x->info);
    free(x->merged);
    free(x);
}

static void
ctx_release(void *arg)
{
    ctx_free(arg);
}

static const char *
mode_wire(enum key_mode m)
{
    return m == MODE_LIVE ? "prod" : "test";
}

/* The request's path inside the API ("/v2/orders"), whatever the listener. */
static const char *
vendor_path(const struct req *req)
{
    const char *p = req->path;

    if (req->listener_dialect == NULL && strncmp(p, "/cherry", 7) == 0)
        p += 7;
    return p;
}

static bool
all_digits(const char *s, size_t n)
{
    return n > 0 && strspn(s, "0123456789") == n;
}

/* Reads the org's settings into x (scale, allow_extra); false after answering. */
static bool
load_settings(struct req *req, struct cctx *x)
{
    char v[LIMIT_SETTING_LEN], err[256];
    struct org_rec org;
    enum store_rc rc = req->app->store->ops->org_get(req->app->store, req->auth.org_id, &org);

    if (rc != STORE_OK) {
        send_error(req, x->fr, rc == STORE_UNAVAILABLE ? E8001 : E8000, NULL);
        return false;
    }
    x->settings = org.settings != NULL ? strdup(org.settings) : strdup("{}");
    org_rec_free(&org);
    if (x->settings == NULL) {
        send_error(req, x->fr, E8000, NULL);
        return false;
    }
    settings_get(x->settings, "cherry.price_scale", v, sizeof v);
    if (v[0] == '\0' || cherry_scale_parse(v, &x->scale, NULL, 0, err, sizeof err) != 0)
        cherry_scale_parse(cherry_scale_default, &x->scale, NULL, 0, err, sizeof err);
    settings_get(x->settings, "cherry.allow_extra", v, sizeof v);
    x->allow_extra = strcmp(v, "false") != 0;
    return true;
}

/* Authenticates the request; returns a new context, or NULL after answering. */
static struct cctx *
cherry_auth(struct req *req)
{
    const char *authz = req_header(req, "authorization"), *ts = req_header(req, "timestamp");
    char pk[IDS_KEY_LEN], expect[CHERRY_TOKEN_LEN];
    uint8_t secret[CHERRY_SECRET_MAX];
    struct key_rec sk;
    struct cctx *x = calloc(1, sizeof *x);
    const char *colon, *token;
    size_t pk_len, sk_len = 0;
    enum auth_rc arc;
    enum store_rc rc;
    int e = -1;
    bool ok = false;
    int64_t t = 0;

    memset(&sk, 0, sizeof sk);
    if (x == NULL) {
        send_error(req, cherry_lang_fr(req_header(req, "Accept-Language")), E8000, NULL);
        return NULL;
    }
    x->fr = cherry_lang_fr(req_header(req, "Accept-Language"));
    x->req = req;
    colon = authz != NULL ? strchr(authz, ':') : NULL;
    if (authz == NULL || ts == NULL || colon == NULL || colon == authz || strlen(ts) > 15 ||
        !all_digits(ts, strlen(ts))) {
        e = E1001;
        goto out;
    }
    pk_len = (size_t)(colon - authz);
    token = colon + 1;
    while (*token == ' ')
        token++;
    if (pk_len >= sizeof pk) {
        e = E1002;
        goto out;
    }
    memcpy(pk, authz, pk_len);
    pk[pk_len] = '\0';
    while (pk_len > 0 && pk[pk_len - 1] == ' ')
        pk[--pk_len] = '\0';
    arc = auth_key_check(req->app, pk, &req->auth);
    if (arc == AUTH_UNAVAILABLE) {
        e = E8001;
        goto out;
    }
    if (arc != AUTH_OK || req->auth.kind != KEY_PUBLISHABLE) {
        e = E1002;
        goto out;
    }
    rc = req->app->store->ops->key_secret(req->app->store, req->auth.org_id, req->auth.mode, &sk);
    if (rc != STORE_OK || sk.sealed == NULL || sk.sealed_len <= CRYPTO_SEAL_EXTRA ||
        sk.sealed_len - CRYPTO_SEAL_EXTRA > sizeof secret) {
        e = rc == STORE_UNAVAILABLE ? E8001 : E8000;
        goto out;
    }
    sk_len = sk.sealed_len - CRYPTO_SEAL_EXTRA;
    if (crypto_open(req->app->master, sk.sealed, sk.sealed_len, secret) != 0 ||
        cherry_token(pk, (const char *)secret, sk_len, ts, expect) != 0) {
        log_error("%s: cherry: cannot open the secret key of org %s (another master key?)", req->id,
                  req->auth.org_id);
        e = E8000;
        goto out;
    }
    if (strlen(token) != strlen(expect) || !crypto_equal(token, expect, strlen(expect))) {
        e = E1002;
        goto out;
    }
    if (auth_rate_limit(req->app, &req->auth, KEY_SECRET) == AUTH_RATE_LIMITED) {
        e = E1006;
        goto out;
    }
    t = strtoll(ts, NULL, 10);
    if (t > clock_now_ms() / 1000 + CHERRY_TS_FUTURE) {
        e = E1005;
        goto out;
    }
    crypto_sha256(pk, strlen(pk), x->seen.key);
    x->seen.ts = t;
    snprintf(x->seen.method, sizeof x->seen.method, "%s", req->method);
    snprintf(x->seen.path, sizeof x->seen.path, "%s", vendor_path(req));
    crypto_sha256(req->body ? req->body : "", req->body ? req->body_len : 0, x->seen.body_hash);
    rc = cherry_store_seen_check(req->app->store, &x->seen, CHERRY_TS_WINDOW, &x->verdict);
    if (rc != STORE_OK)
        e = rc == STORE_UNAVAILABLE ? E8001 : E8000;
    else if (x->verdict == CHERRY_OLD)
        e = E1003;
    else if (x->verdict == CHERRY_REPLAY)
        e = E1004;
    else
        ok = load_settings(req, x);
out:
    memset(secret, 0, sizeof secret);
    key_rec_free(&sk);
    if (e >= 0)
        send_error(req, x->fr, e, NULL);
    if (!ok) {
        ctx_free(x);
        return NULL;
    }
    return x;
}

/* Parses the body as a JSON object; NULL when it is not one (*why says how). */
static struct jsonx *
parse_body(struct req *req, char *why, size_t whylen)
{
    struct jsonx_error err;
    struct jsonx *doc;

    if (req->body_len == 0) {
        snprintf(why, whylen, "the body is empty; send a JSON object");
        return NULL;
    }
    doc = jsonx_parse(req->body, req->body_len, LIMIT_JSON_DEPTH, &err);
    if (doc == NULL) {
        if (err.code == JX_ERR_DEPTH)
            snprintf(why, whylen, "JSON nesting deeper than %d", LIMIT_JSON_DEPTH);
        else
            snprintf(why, whylen, "invalid JSON at line %d, column %d: %s", err.line, err.column,
                     err.text);
        return NULL;
    }
    if (jsonx_type(doc) != JX_OBJECT) {
        snprintf(why, whylen, "the body must be a JSON object, not %s", jsonx_type_name(doc));
        jsonx_free(doc);
        return NULL;
    }
    return doc;
}

static void send_http(struct req *req, bool fr, int status, const char *detail);

/* A Content-Type, when sent, must be JSON; false after answering 415. */
static bool
content_type_ok(struct req *req, bool fr)
{
    const char *ct = req_header(req, "Content-Type");

    if (ct == NULL || ct[0] == '\0' || strncasecmp(ct, "application/json", 16) == 0)
        return true;
    send_http(req, fr, 415, NULL);
    return false;
}

/* ---- money and status ---- */

/* orderPrice: a non-negative JSON number of whole cents. */
static bool
price_parse(const struct jsonx *v, int64_t *cents)
{
    if (v == NULL || (jsonx_type(v) != JX_INT && jsonx_type(v) != JX_REAL))
        return false;
    if (jsonx_type(v) == JX_INT) {
        if (jsonx_int(v) < 0 || jsonx_int(v) > LIMIT_AMOUNT_MAX / 100)
            return false;
        *cents = jsonx_int(v) * 100;
        return true;
    }
    return money_from_major(jsonx_real(v), 2, cents) == MONEY_OK && *cents >= 0 &&
           *cents <= LIMIT_AMOUNT_MAX;
}

/* cherryPrice: an integer number of currency units (2.0 counts as 2). */
static bool
cherry_parse(const struct jsonx *v, int64_t *units)
{
    int64_t cents;

    if (v == NULL)
        return false;
    if (jsonx_type(v) == JX_INT) {
        *units = jsonx_int(v);
    } else if (jsonx_type(v) == JX_REAL && money_from_major(jsonx_real(v), 0, &cents) == MONEY_OK) {
        *units = cents;
    } else {
        return false;
    }
    return *units >= 0 && *units <= CHERRY_AMOUNT_MAX;
}

/* "validated"/"canceled" in any case -> canonical status, or NULL. */
static const char *
status_parse(const struct jsonx *v)
{
    if (v == NULL || jsonx_type(v) != JX_STRING)
        return NULL;
    if (strcasecmp(jsonx_str(v), "validated") == 0)
        return "confirmed";
    if (strcasecmp(jsonx_str(v), "canceled") == 0)
        return "canceled";
    return NULL;
}

/* The warning data for a contribution, or NULL when it is as expected. */
static struct jsonx *
warning_new(const struct cctx *x, int64_t price_cents, int64_t cherry_units)
{
    int64_t min = cherry_scale_min(&x->scale, price_cents);
    struct jsonx *w;

    if (cherry_units >= min && (x->allow_extra || cherry_units == min))
        return NULL;
    w = jsonx_object();
    jsonx_set_int(w, "expected", min);
    jsonx_set_bool(w, "allowExtra", x->allow_extra);
    return w;
}

/* ---- success answers ---- */

static const struct jsonx *
obj_get(const struct jsonx *o, const char *k)
{
    return o != NULL && jsonx_type(o) == JX_OBJECT ? jsonx_get(o, k) : NULL;
}

static void
cherry_ok(struct req *req, const struct order_row *row, bool created, void *arg)
{
    struct cctx *x = arg;
    struct jsonx *doc = order_doc(row), *o = jsonx_object(), *w;
    const struct jsonx *ch = obj_get(doc, "cherry"), *cp = obj_get(ch, "cherryPrice"),
                       *warn = obj_get(ch, "warning");
    char cur[4], msg[256];
    size_t len = 0;
    char *body;

    (void)created;
    snprintf(cur, sizeof cur, "%s", row->currency);
    for (char *c = cur; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    jsonx_set_str(o, "trackId", row->external_id);
    jsonx_set(o, "orderPrice", jsonx_real_new(money_to_major(row->total_amount, 2)));
    jsonx_set_int(o, "cherryPrice", cp != NULL && jsonx_type(cp) == JX_INT ? jsonx_int(cp) : 0);
    jsonx_set_str(o, "currency", cur);
    jsonx_set_str(o, "status", strcmp(row->status, "canceled") == 0 ? "canceled" : "validated");
    jsonx_set_str(o, "mode", mode_wire(row->mode));
    if (warn != NULL && jsonx_type(warn) == JX_OBJECT) {
        const struct jsonx *ex = jsonx_get(warn, "expected"), *ae = jsonx_get(warn, "allowExtra");
        long long exp = ex != NULL && jsonx_type(ex) == JX_INT ? (long long)jsonx_int(ex) : 0;
        bool extra = ae == NULL || jsonx_type(ae) != JX_BOOL || jsonx_bool(ae);
        w = jsonx_object();
        jsonx_set_str(w, "field", "cherryPrice");
        if (extra)
            snprintf(msg, sizeof msg,
                     x->fr ? "Le montant de la participation attendu est d'au moins %lld."
                           : "The expected cherryPrice is at least %lld.",
                     exp);
        else
            snprintf(msg, sizeof msg,
                     x->fr ? "Le montant de la participation attendu est de %lld."
                           : "The expected cherryPrice is %lld.",
                     exp);
        jsonx_set_str(w, "message", msg);
        jsonx_set_int(w, "expectedCherryPrice", exp);
        jsonx_set_bool(w, "allowCharityExtraPart", extra);
        jsonx_set(o, "warning", w);
    }
    body = jsonx_dump(o, &len);
    jsonx_free(o);
    jsonx_free(doc);
    resp_json(&req->resp, body ? 200 : 500, body, body ? len : 0);
}

static void
cherry_err(struct req *req, enum svc_err err, const struct svc_info *info, void *arg)
{
    struct cctx *x = arg;
    bool fr = x != NULL && x->fr, upd = x != NULL && x->is_update;

    (void)info;
    switch (err) {
    case SVC_EXTERNAL_ID_CONFLICT:
        send_error(req, fr, E3001, NULL);
        break;
    case SVC_HOOK_FAILED:
        if (x != NULL && x->verdict == CHERRY_OLD)
            send_error(req, fr, E1003, NULL);
        else if (x != NULL && x->verdict == CHERRY_REPLAY)
            send_error(req, fr, E1004, NULL);
        else
            send_error(req, fr, E8000, NULL);
        break;
    case SVC_NOT_FOUND:
        send_error(req, fr, E3101, NULL);
        break;
    case SVC_INVALID_TRANSITION:
        send_error(req, fr, upd ? E3133 : E3033, "this status change is not allowed");
        break;
    case SVC_IDEM_BAD_KEY:
    case SVC_IDEM_MISMATCH:
    case SVC_IDEM_IN_USE:
        send_error(req, fr, upd ? E3130 : E3030, "Idempotency-Key refused");
        break;
    case SVC_UNAVAILABLE:
        send_error(req, fr, E8001, NULL);
        break;
    case SVC_VERSION_CONFLICT:
    case SVC_PRECONDITION:
    case SVC_INTERNAL:
        send_error(req, fr, E8000, NULL);
        break;
    }
}

/* In the write transaction, before the order: the replay rule. */
static enum store_rc
cherry_before(struct store_conn *c, void *arg)
{
    struct cctx *x = arg;

    return cherry_store_seen_record(c, &x->seen, CHERRY_TS_WINDOW, &x->verdict);
}

/* ---- POST /v2/orders ---- */

/* Rule failures in the vendor's table order: the lowest wins. */
enum rank { R3001, R3004, R3006, R3010, R3030, R3031, R3032, R3033, R3040, R3041, R3042, R3043 };

static const int rank_err[] = {E3001, E3004, E3006, E3010, E3030, E3031,
                               E3032, E3033, E3040, E3041, E3042, E3043};

struct verdict {
    int rank; /* -1: none yet */
    char detail[200];
};

static void
fail(struct verdict *v, int rank, const char *detail)
{
    if (v->rank < 0 || rank < v->rank) {
        v->rank = rank;
        snprintf(v->detail, sizeof v->detail, "%s", detail);
    }
}

/* An optional customer string: absent, null or "" -> NULL; *bad when not a clean string
 * of at most max characters. */
static const char *
opt_str(const struct jsonx *c, const char *k, size_t max, bool *bad)
{
    const struct jsonx *v = jsonx_get(c, k);

    *bad = false;
    if (v == NULL || jsonx_type(v) == JX_NULL)
        return NULL;
    if (jsonx_type(v) != JX_STRING || validate_utf8_len(jsonx_str(v)) > max ||
        !validate_text(jsonx_str(v), jsonx_strlen(v), false)) {
        *bad = true;
        return NULL;
    }
    return jsonx_strlen(v) > 0 ? jsonx_str(v) : NULL;
}

/* A required name: missing/empty/not a string -> missing_rank; too long or with control
 * characters -> 3040. */
static const char *
name_str(const struct jsonx *c, const char *k, int missing_rank, struct verdict *v)
{
    const struct jsonx *n = jsonx_get(c, k);
    const char *s;

    if (n == NULL || jsonx_type(n) != JX_STRING) {
        fail(v, missing_rank, "missing customer name");
        return NULL;
    }
    s = jsonx_str(n);
    if (strspn(s, " \t") == strlen(s)) {
        fail(v, missing_rank, "empty customer name");
        return NULL;
    }
    if (validate_utf8_len(s) > LIMIT_STR_NAME || !validate_text(s, jsonx_strlen(n), false)) {
        fail(v, R3040, "customer names are at most 255 characters without control characters");
        return NULL;
    }
    return s;
}

/* Builds the canonical customer from the vendor's; extras (address...) go to *extra. */
static struct jsonx *
customer_map(const struct jsonx *c, struct verdict *v, struct jsonx **extra)
{
    static const struct {
        const char *key;
        size_t max;
    } extras[] = {{"address", LIMIT_STR_NAME},
                  {"zipCode", LIMIT_POSTAL_LEN},
                  {"city", LIMIT_STR_NAME},
                  {"country", LIMIT_STR_NAME}};
    struct jsonx *out = jsonx_object();
    const struct jsonx *em = jsonx_get(c, "email");
    const char *s;
    char phone[64];
    size_t n = 0;
    bool bad;

    *extra = jsonx_object();
    s = name_str(c, "firstname", R3042, v);
    jsonx_set_str(out, "first_name", s);
    s = name_str(c, "lastname", R3043, v);
    jsonx_set_str(out, "last_name", s);
    if (em == NULL || jsonx_type(em) == JX_NULL ||
        (jsonx_type(em) == JX_STRING && jsonx_strlen(em) == 0))
        fail(v, R3010, "customer.email is missing");
    else if (jsonx_type(em) != JX_STRING)
        fail(v, R3041, "customer.email must be a string");
    else
        jsonx_set_str(out, "email", jsonx_str(em));
    s = opt_str(c, "phoneNumber", 40, &bad);
    if (bad)
        fail(v, R3040, "customer.phoneNumber must be a string");
    if (s != NULL) {
        /* "+33 6 70-23.08.52" is the same number as "+33670230852" */
        for (; *s && n < sizeof phone - 1; s++)
            if (strchr(" .-()", *s) == NULL)
                phone[n++] = *s;
        phone[n] = '\0';
        jsonx_set_str(out, "phone", phone);
    }
    s = opt_str(c, "birthday", 10, &bad);
    if (bad)
        fail(v, R3040, "customer.birthday must be YYYY-MM-DD");
    if (s != NULL && strcmp(s, "0000-00-00") != 0)
        jsonx_set_str(out, "birthday", s);
    s = opt_str(c, "gender", 1, &bad);
    if (bad || (s != NULL && strcasecmp(s, "m") != 0 && strcasecmp(s, "f") != 0))
        fail(v, R3040, "customer.gender must be m or f");
    else if (s != NULL) {
        jsonx_set_str(out, "gender", tolower((unsigned char)s[0]) == 'm' ? "male" : "female");
        jsonx_set_str(*extra, "gender", tolower((unsigned char)s[0]) == 'm' ? "m" : "f");
    }
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        s = opt_str(c, extras[i].key, extras[i].max, &bad);
        if (bad)
            fail(v, R3040, "customer address fields are strings without control characters");
        else if (s != NULL)
            jsonx_set_str(*extra, extras[i].key, s);
    }
    return out;
}

/* A canonical validation error -> the vendor's rule. */
static int
rank_of_field(const char *f)
{
    if (strcmp(f, "currency") == 0)
        return R3032;
    if (strcmp(f, "status") == 0)
        return R3033;
    if (strcmp(f, "customer.email") == 0)
        return R3041;
    if (strcmp(f, "customer.first_name") == 0)
        return R3042;
    if (strcmp(f, "customer.last_name") == 0)
        return R3043;
    if (strncmp(f, "customer", 8) == 0)
        return R3040;
    if (strncmp(f, "line_items", 10) == 0 || strcmp(f, "total_amount") == 0)
        return R3031;
    return R3030;
}

static bool
track_id_ok(const char *s, size_t len)
{
    size_t n = validate_utf8_len(s);

    return n >= 1 && n <= CHERRY_TRACK_ID_MAX && strchr(s, '/') == NULL &&
           validate_text(s, len, false);
}

static enum req_result
h_create(struct req *req)
{
    struct svc_hooks hooks = {
        .ok = cherry_ok, .err = cherry_err, .before = cherry_before, .release = ctx_release};
    struct verdict v = {.rank = -1};
    struct cctx *x = cherry_auth(req);
    struct jsonx *doc = NULL, *in = NULL, *canon = NULL, *ch = NULL, *cx = NULL, *line;
    const struct jsonx *tid, *cust, *cur, *cp;
    const char *status = "confirmed", *track = NULL;
    struct problems p = {0};
    struct order_row row;
    char found[IDS_UUID_LEN];
    int64_t cents = 0, cherry = 0;
    char why[200], code[4] = "", charity[LIMIT_SETTING_LEN], ts[CLOCK_RFC3339_LEN];
    bool cherry_sent = false;
    enum store_rc rc;

    memset(&row, 0, sizeof row);
    if (x == NULL)
        return REQ_DONE;
    if (!content_type_ok(req, x->fr))
        goto answered;
    settings_get(x->settings, "cherry.charity", charity, sizeof charity);
    if (charity[0] == '\0')
        fail(&v, R3004, "no charity is set for this merchant (cherry.charity)");
    doc = parse_body(req, why, sizeof why);
    if (doc == NULL) {
        fail(&v, R3030, why);
        goto decide;
    }
    in = jsonx_object();
    tid = jsonx_get(doc, "trackId");
    if (tid == NULL || jsonx_type(tid) != JX_STRING ||
        !track_id_ok(jsonx_str(tid), jsonx_strlen(tid))) {
        fail(&v, R3030, "trackId must be a string of 1 to 100 characters without '/'");
    } else {
        track = jsonx_str(tid);
        jsonx_set_str(in, "external_id", track);
        /* a read first, so that 3001 wins as the table says; the constraint decides races */
        rc = cherry_store_order_find(req->app->store, req->auth.org_id, req->auth.mode, track,
                                     found);
        if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
            send_error(req, x->fr, rc == STORE_UNAVAILABLE ? E8001 : E8000, NULL);
            goto answered;
        }
        if (rc == STORE_OK)
            fail(&v, R3001, "");
    }
    cust = jsonx_get(doc, "customer");
    if (cust == NULL || jsonx_type(cust) != JX_OBJECT)
        fail(&v, R3006, "customer must be an object");
    else
        jsonx_set(in, "customer", customer_map(cust, &v, &cx));
    if (!price_parse(jsonx_get(doc, "orderPrice"), &cents))
        fail(&v, R3031, "orderPrice must be a non-negative number of whole cents");
    cur = jsonx_get(doc, "currency");
    if (cur == NULL || jsonx_type(cur) != JX_STRING ||
        (strcasecmp(jsonx_str(cur), "chf") != 0 && strcasecmp(jsonx_str(cur), "eur") != 0)) {
        fail(&v, R3032, "currency must be chf or eur");
    } else {
        for (int i = 0; i < 3; i++)
            code[i] = (char)toupper((unsigned char)jsonx_str(cur)[i]);
        code[3] = '\0';
        jsonx_set_str(in, "currency", code);
    }
    cur = jsonx_get(doc, "status");
    if (cur != NULL && jsonx_type(cur) != JX_NULL && (status = status_parse(cur)) == NULL)
        fail(&v, R3033, "status must be validated or canceled");
    cp = jsonx_get(doc, "cherryPrice");
    if (cp != NULL && jsonx_type(cp) != JX_NULL) {
        cherry_sent = true;
        if (!cherry_parse(cp, &cherry))
            fail(&v, R3030, "cherryPrice must be an integer from 0 to 1000");
    }
    jsonx_set_str(in, "status", "confirmed");
    line = jsonx_object();
    jsonx_set_str(line, "name", "Order total (Cherry Checkout)");
    jsonx_set_int(line, "quantity", 1);
    jsonx_set_int(line, "unit_price", cents);
    jsonx_set(in, "line_items", jsonx_array());
    jsonx_append(jsonx_get(in, "line_items"), line);
    jsonx_set_str(in, "source", "cherry");
    if (order_validate_create(in, &p, &canon, &row) != 0) {
        for (int i = 0; i < p.n; i++) {
            snprintf(why, sizeof why, "%.60s: %.130s", p.e[i].field, p.e[i].message);
            fail(&v, rank_of_field(p.e[i].field), why);
        }
        if (p.n == 0)
            fail(&v, R3030, "invalid order");
    }
decide:
    if (v.rank >= 0) {
        const char *d = v.rank == R3030 || v.rank == R3040 ? v.detail : NULL;
        send_error(req, x->fr, rank_err[v.rank], d);
        goto answered;
    }
    if (strcmp(status, "canceled") == 0) {
        clock_format_ms(clock_now_ms(), ts);
        jsonx_set_str(canon, "status", "canceled");
        jsonx_set_str(canon, "canceled_at", ts);
        snprintf(row.status, sizeof row.status, "canceled");
    }
    ch = jsonx_object();
    jsonx_set_int(ch, "cherryPrice", cherry);
    jsonx_set_bool(ch, "cherryPriceSent", cherry_sent);
    jsonx_set_str(ch, "charity", charity);
    jsonx_set(ch, "customer", cx);
    cx = NULL;
    {
        struct jsonx *w = warning_new(x, cents, cherry);
        jsonx_set(ch, "warning", w != NULL ? w : jsonx_null());
    }
    jsonx_set(canon, "cherry", ch);
    jsonx_free(doc);
    jsonx_free(in);
    hooks.arg = hooks.tx_arg = x;
    return svc_order_create(req, canon, &row, "cherry", &hooks);
answered:
    jsonx_free(doc);
    jsonx_free(in);
    jsonx_free(cx);
    jsonx_free(canon);
    order_row_free(&row);
    ctx_free(x);
    return REQ_DONE;
}

/* ---- PUT /v2/orders/{trackId} ---- */

/* In the transaction, on the current order: the vendor's update. */
static int
cherry_mutate(void *arg, const struct order_row *cur, struct order_row *next,
              const char **event_type)
{
    struct cctx *x = arg;
    struct jsonx *doc = order_doc(cur), *orig = NULL, *line, *items, *ch;
    const struct jsonx *v;
    char ts[CLOCK_RFC3339_LEN];
    int64_t now = clock_now_ms(), price, cherry = 0, extra = 0, t;
    int rc = -2;

    *event_type = "order.updated";
    if (doc == NULL || (orig = jsonx_copy(doc)) == NULL)
        goto out;
    ch = jsonx_get(doc, "cherry");
    if (ch == NULL || jsonx_type(ch) != JX_OBJECT) {
        ch = jsonx_object();
        jsonx_set(doc, "cherry", ch);
    }
    if (x->has_status && strcmp(cur->status, x->status) != 0) {
        if (!order_transition_ok(cur->status, x->status)) {
            rc = -1;
            goto out;
        }
        jsonx_set_str(doc, "status", x->status);
        if (strcmp(x->status, "canceled") == 0) {
            *event_type = "order.canceled";
            clock_format_ms(now, ts);
            jsonx_set_str(doc, "canceled_at", ts);
        } else {
            jsonx_set_null(doc, "canceled_at");
            jsonx_set_null(doc, "cancellation_reason");
        }
    }
    price = cur->total_amount;
    if (x->has_price) {
        price = x->price_cents;
        /* one line, the order total: the first line's other fields are kept */
        v = jsonx_at(jsonx_get(doc, "line_items"), 0);
        line = v != NULL && jsonx_type(v) == JX_OBJECT ? jsonx_copy(v) : jsonx_object();
        if (jsonx_get(line, "name") == NULL)
            jsonx_set_str(line, "name", "Order total (Cherry Checkout)");
        jsonx_set_int(line, "quantity", 1);
        jsonx_set_int(line, "unit_price", price);
        jsonx_set_int(line, "amount", price);
        items = jsonx_array();
        jsonx_append(items, line);
        jsonx_set(doc, "line_items", items);
        jsonx_set_int(doc, "subtotal_amount", price);
        for (const char *const *k = (const char *const[]){"shipping_amount", "tax_amount", NULL};
             *k != NULL; k++)
            if ((v = jsonx_get(doc, *k)) != NULL && jsonx_type(v) == JX_INT)
                extra += jsonx_int(v);
        if ((v = jsonx_get(doc, "discount_amount")) != NULL && jsonx_type(v) == JX_INT)
            extra -= jsonx_int(v);
        t = price + extra;
        jsonx_set_int(doc, "total_amount", t < 0 ? 0 : t);
    }
    v = jsonx_get(ch, "cherryPrice");
    cherry = v != NULL && jsonx_type(v) == JX_INT ? jsonx_int(v) : 0;
    if (x->has_cherry) {
        cherry = x->cherry_units;
        jsonx_set_int(ch, "cherryPrice", cherry);
        jsonx_set_bool(ch, "cherryPriceSent", true);
    }
    if (x->has_price || x->has_cherry) {
        struct jsonx *w = warning_new(x, price, cherry);
        jsonx_set(ch, "warning", w != NULL ? w : jsonx_null());
    }
    rc = jsonx_equal(doc, orig) ? 0 : order_commit_doc(doc, next, now);
out:
    jsonx_free(doc);
    jsonx_free(orig);
    return rc;
}

static enum req_result
h_update(struct req *req)
{
    struct svc_hooks hooks = {
        .ok = cherry_ok, .err = cherry_err, .before = cherry_before, .release = ctx_release};
    struct svc_change change = {0};
    struct cctx *x = cherry_auth(req);
    struct jsonx *doc = NULL;
    const struct jsonx *v;
    const char *st;
    char why[200], id[IDS_UUID_LEN];
    enum store_rc rc;

    if (x == NULL)
        return REQ_DONE;
    x->is_update = true;
    if (!content_type_ok(req, x->fr))
        goto answered;
    if (req->param[0][0] == '\0' || !track_id_ok(req->param[0], strlen(req->param[0]))) {
        send_error(req, x->fr, E3101, NULL);
        goto answered;
    }
    rc = cherry_store_order_find(req->app->store, req->auth.org_id, req->auth.mode, req->param[0],
                                 id);
    if (rc != STORE_OK) {
        send_error(req, x->fr,
                   rc == STORE_NOT_FOUND     ? E3101
                   : rc == STORE_UNAVAILABLE ? E8001
                                             : E8000,
                   NULL);
        goto answered;
    }
    if ((doc = parse_body(req, why, sizeof why)) == NULL) {
        send_error(req, x->fr, E3130, why);
        goto answered;
    }
    if ((v = jsonx_get(doc, "cherryPrice")) != NULL && jsonx_type(v) != JX_NULL) {
        x->has_cherry = true;
        if (!cherry_parse(v, &x->cherry_units)) {
            send_error(req, x->fr, E3130, "cherryPrice must be an integer from 0 to 1000");
            goto answered;
        }
    }
    if ((v = jsonx_get(doc, "orderPrice")) != NULL) {
        x->has_price = true;
        if (!price_parse(v, &x->price_cents)) {
            send_error(req, x->fr, E3131, NULL);
            goto answered;
        }
    }
    if ((v = jsonx_get(doc, "status")) != NULL) {
        x->has_status = true;
        if ((st = status_parse(v)) == NULL) {
            send_error(req, x->fr, E3133, NULL);
            goto answered;
        }
        snprintf(x->status, sizeof x->status, "%s", st);
    }
    jsonx_free(doc);
    change.kind = SVC_CUSTOM;
    change.mutate = cherry_mutate;
    change.mutate_arg = x;
    hooks.arg = hooks.tx_arg = x;
    /* the router's param buffer lives as long as the request */
    memcpy(req->param[1], id, sizeof id);
    return svc_order_change(req, req->param[1], &change, &hooks);
answered:
    jsonx_free(doc);
    ctx_free(x);
    return REQ_DONE;
}

/* ---- GET and PUT /v2/app/me ---- */

static const char plugin_en[] =
    "<div class=\"cherrycheckout\"><p>Add a cherry on top: give {cherryPrice} to charity with "
    "your order.</p><button type=\"submit\" name=\"cherrycheckout_submit\">Add</button></div>";
static const char plugin_fr[] =
    "<div class=\"cherrycheckout\"><p>Ajoutez la cerise sur le gâteau : donnez {cherryPrice} à "
    "une œuvre caritative avec votre commande.</p><button type=\"submit\" "
    "name=\"cherrycheckout_submit\">Ajouter</button></div>";

static struct jsonx *
percent(const char *settings, const char *key, double def)
{
    char v[64], *end = NULL;
    double d;

    settings_get(settings, key, v, sizeof v);
    if (v[0] == '\0')
        return jsonx_integer((int64_t)def);
    d = strtod(v, &end);
    if (end == v || *end != '\0')
        return jsonx_integer((int64_t)def);
    if (d == (double)(int64_t)d)
        return jsonx_integer((int64_t)d);
    return jsonx_real_new(d);
}

/* The merchant account document (GET /v2/app/me), from settings and stored info. */
static void
me_send(struct req *req, const struct cctx *x, const char *info)
{
    struct jsonx *o = jsonx_object(), *contract = jsonx_object(), *plugin = jsonx_object(),
                 *scale = NULL, *stored = NULL;
    struct jsonx_error jerr;
    char v[LIMIT_SETTING_LEN], key[32];
    size_t len = 0;
    char *body;

    settings_get(x->settings, "cherry.price_scale", v, sizeof v);
    if (v[0] != '\0')
        scale = jsonx_parse(v, strlen(v), 4, &jerr);
    if (scale == NULL)
        scale = jsonx_parse(cherry_scale_default, strlen(cherry_scale_default), 4, &jerr);
    jsonx_set_str(o, "mode", mode_wire(req->auth.mode));
    settings_get(x->settings, "cherry.charity", v, sizeof v);
    jsonx_set_str(o, "charity", v[0] ? v : NULL);
    jsonx_set(contract, "charityOrderPercentage",
              percent(x->settings, "cherry.charity_percentage", 100));
    jsonx_set(contract, "gameOrderPercentage", percent(x->settings, "cherry.game_percentage", 0));
    jsonx_set(contract, "priceScale", scale != NULL ? scale : jsonx_array());
    jsonx_set(o, "contract", contract);
    jsonx_set_bool(o, "allowCharityExtraPart", x->allow_extra);
    jsonx_set_str(plugin, "en", plugin_en);
    jsonx_set_str(plugin, "fr", plugin_fr);
    for (int i = 0; cherry_plugin_langs[i] != NULL; i++) {
        snprintf(key, sizeof key, "cherry.plugin.%s", cherry_plugin_langs[i]);
        settings_get(x->settings, key, v, sizeof v);
        if (v[0] != '\0')
            jsonx_set_str(plugin, cherry_plugin_langs[i], v);
    }
    jsonx_set(o, "plugin", plugin);
    if (info != NULL)
        stored = jsonx_parse(info, strlen(info), 4, &jerr);
    for (void *it = stored && jsonx_type(stored) == JX_OBJECT ? jsonx_iter(stored) : NULL;
         it != NULL; it = jsonx_next(stored, it))
        if (jsonx_get(o, jsonx_iter_key(it)) == NULL)
            jsonx_set(o, jsonx_iter_key(it), jsonx_ref(jsonx_iter_value(it)));
    jsonx_free(stored);
    body = jsonx_dump(o, &len);
    jsonx_free(o);
    resp_clear(&req->resp);
    resp_json(&req->resp, body ? 200 : 500, body, body ? len : 0);
}

static enum req_result
h_me_get(struct req *req)
{
    struct cctx *x = cherry_auth(req);
    char *info = NULL;
    enum store_rc rc;

    if (x == NULL)
        return REQ_DONE;
    rc = cherry_store_app_get(req->app->store, req->auth.org_id, req->auth.mode, &info);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        send_error(req, x->fr, rc == STORE_UNAVAILABLE ? E8001 : E8000, NULL);
    else
        me_send(req, x, info);
    free(info);
    ctx_free(x);
    return REQ_DONE;
}

/* The plugin information a PUT may carry, checked and normalised into out. */
static bool
me_info_check(const struct jsonx *doc, struct jsonx *out, char *why, size_t whylen)
{
    static const char *const strs[] = {"cms", "cmsVersion", "pluginInstalledVersion", NULL};
    const struct jsonx *v;

    for (int i = 0; strs[i] != NULL; i++) {
        if ((v = jsonx_get(doc, strs[i])) == NULL || jsonx_type(v) == JX_NULL)
            continue;
        if (jsonx_type(v) != JX_STRING || validate_utf8_len(jsonx_str(v)) > CHERRY_PLUGIN_STRMAX ||
            !validate_text(jsonx_str(v), jsonx_strlen(v), false)) {
            snprintf(why, whylen, "%s must be a string of at most %d characters", strs[i],
                     CHERRY_PLUGIN_STRMAX);
            return false;
        }
        jsonx_set_str(out, strs[i], jsonx_str(v));
    }
    if ((v = jsonx_get(doc, "moduleApiEndpoint")) != NULL && jsonx_type(v) != JX_NULL) {
        if (jsonx_type(v) != JX_STRING || validate_utf8_len(jsonx_str(v)) > LIMIT_URL_LEN ||
            (jsonx_strlen(v) > 0 && !validate_url(jsonx_str(v)))) {
            snprintf(why, whylen, "moduleApiEndpoint must be an http or https URL");
            return false;
        }
        jsonx_set_str(out, "moduleApiEndpoint", jsonx_str(v));
    }
    if ((v = jsonx_get(doc, "pluginInstalled")) != NULL && jsonx_type(v) != JX_NULL) {
        if (jsonx_type(v) == JX_BOOL)
            jsonx_set_bool(out, "pluginInstalled", jsonx_bool(v));
        else if (jsonx_type(v) == JX_INT && (jsonx_int(v) == 0 || jsonx_int(v) == 1))
            jsonx_set_bool(out, "pluginInstalled", jsonx_int(v) == 1);
        else if (jsonx_type(v) == JX_STRING &&
                 (strcmp(jsonx_str(v), "1") == 0 || strcmp(jsonx_str(v), "0") == 0 ||
                  strcmp(jsonx_str(v), "") == 0 || strcmp(jsonx_str(v), "true") == 0 ||
                  strcmp(jsonx_str(v), "false") == 0))
            jsonx_set_bool(out, "pluginInstalled",
                           strcmp(jsonx_str(v), "1") == 0 || strcmp(jsonx_str(v), "true") == 0);
        else {
            snprintf(why, whylen, "pluginInstalled must be true or false");
            return false;
        }
    }
    if ((v = jsonx_get(doc, "pluginInstalledMode")) != NULL && jsonx_type(v) != JX_NULL) {
        if (jsonx_type(v) != JX_STRING ||
            (strcmp(jsonx_str(v), "test") != 0 && strcmp(jsonx_str(v), "prod") != 0)) {
            snprintf(why, whylen, "pluginInstalledMode must be test or prod");
            return false;
        }
        jsonx_set_str(out, "pluginInstalledMode", jsonx_str(v));
    }
    return true;
}

/* SW_CUSTOM, in the transaction: the replay rule, then the merge of the sent fields. */
static enum store_rc
me_put_tx(struct store_conn *c, void *arg)
{
    struct cctx *x = arg;
    struct jsonx_error jerr;
    struct jsonx *cur = NULL;
    char *old = NULL;
    enum store_rc rc = cherry_store_seen_record(c, &x->seen, CHERRY_TS_WINDOW, &x->verdict);

    if (rc != STORE_OK)
        goto out;
    rc = cherry_store_app_get_on(c, x->req->auth.org_id, x->req->auth.mode, &old);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        goto out;
    cur = old != NULL ? jsonx_parse(old, strlen(old), 4, &jerr) : NULL;
    if (cur == NULL || jsonx_type(cur) != JX_OBJECT) {
        jsonx_free(cur);
        cur = jsonx_object();
    }
    for (void *it = jsonx_iter(x->info); it != NULL; it = jsonx_next(x->info, it))
        jsonx_set(cur, jsonx_iter_key(it), jsonx_ref(jsonx_iter_value(it)));
    free(x->merged);
    x->merged = jsonx_dump(cur, NULL);
    rc = x->merged != NULL ? cherry_store_app_put(c, x->req->auth.org_id, x->req->auth.mode,
                                                  x->merged, clock_now_ms())
                           : STORE_FAIL;
out:
    free(old);
    jsonx_free(cur);
    return rc;
}

static void
me_put_done(struct store_write *w)
{
    struct cctx *x = w->arg;
    struct req *req = x->req;

    if (w->rc == STORE_OK)
        me_send(req, x, x->merged);
    else if (x->verdict == CHERRY_OLD)
        send_error(req, x->fr, E1003, NULL);
    else if (x->verdict == CHERRY_REPLAY)
        send_error(req, x->fr, E1004, NULL);
    else
        send_error(req, x->fr, w->rc == STORE_UNAVAILABLE ? E8001 : E8000, NULL);
    ctx_free(x);
    req->resume(req);
}

static enum req_result
h_me_put(struct req *req)
{
    struct cctx *x = cherry_auth(req);
    struct jsonx *doc;
    char why[200];

    if (x == NULL)
        return REQ_DONE;
    if (!content_type_ok(req, x->fr))
        goto answered;
    doc = req->body_len == 0 ? jsonx_object() : parse_body(req, why, sizeof why);
    if (doc == NULL) {
        send_error(req, x->fr, E3201, why);
        goto answered;
    }
    x->info = jsonx_object();
    if (!me_info_check(doc, x->info, why, sizeof why)) {
        jsonx_free(doc);
        send_error(req, x->fr, E3201, why);
        goto answered;
    }
    jsonx_free(doc);
    x->w.kind = SW_CUSTOM;
    x->w.custom = me_put_tx;
    x->w.hook_arg = x;
    x->w.done = me_put_done;
    x->w.arg = x;
    req->suspend(req); /* before submit: the answer may come at once */
    store_submit(req->app->store, &x->w);
    return REQ_PENDING;
answered:
    ctx_free(x);
    return REQ_DONE;
}

/* ---- HTTP-level errors in the vendor's format ---- */

static const struct {
    int status;
    const char *label, *en, *fr;
} http_msgs[] = {
    {404, "not found", "This route does not exist.", "Cette route n'existe pas."},
    {405, "method not allowed", "This method is not allowed on this route.",
     "Cette méthode n'est pas autorisée sur cette route."},
    {413, "request too large", "The request body is too large.",
     "Le corps de la requête est trop volumineux."},
    {415, "unsupported media type", "Send the body as Content-Type: application/json.",
     "Envoyez le corps en Content-Type: application/json."},
    {431, "headers too large", "The request headers are too large.",
     "Les en-têtes de la requête sont trop volumineux."},
    {0, "bad request", "The request is not correct.", "La requête n'est pas correcte."},
};

/* {"code": status, "error", "message"[, "detail"]} for an HTTP-level error. */
static void
send_http(struct req *req, bool fr, int status, const char *detail)
{
    struct jsonx *o;
    size_t i = 0, len = 0;
    char *body;

    if (status == 500 || status == 503) {
        send_error(req, fr, status == 500 ? E8000 : E8001, NULL);
        return;
    }
    while (http_msgs[i].status != 0 && http_msgs[i].status != status)
        i++;
    o = jsonx_object();
    jsonx_set_int(o, "code", status);
    jsonx_set_str(o, "error", http_msgs[i].label);
    jsonx_set_str(o, "message", fr ? http_msgs[i].fr : http_msgs[i].en);
    if (detail != NULL)
        jsonx_set(o, "detail", jsonx_text(detail));
    body = jsonx_dump(o, &len);
    jsonx_free(o);
    resp_clear(&req->resp);
    resp_json(&req->resp, status, body, body ? len : 0);
}

static void
cherry_http_error(struct req *req, int status, const char *code, const char *detail)
{
    (void)code;
    send_http(req, cherry_lang_fr(req_header(req, "Accept-Language")), status, detail);
}

static const struct api_route routes[] = {
    {"POST", "/v2/orders", h_create},
    {"PUT", "/v2/orders/{}", h_update},
    {"GET", "/v2/app/me", h_me_get},
    {"PUT", "/v2/app/me", h_me_put},
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_cherry = {
    .name = "cherry",
    .prefix = "/cherry",
    .routes = routes,
    .http_error = cherry_http_error,
    .preflight = NULL,
};

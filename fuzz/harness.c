/* SPDX-License-Identifier: MIT */
/*
 * harness.c -- the request-level fuzz harness (harness.h): a fake http layer (headers,
 * query arguments, form fields, suspend/resume) around api_dispatch, and a store
 * wrapper that reads from a seeded scratch SQLite store and never commits.
 */
#include "harness.h"

#include "api/api.h"
#include "core/app.h"
#include "core/auth.h"
#include "core/cherry_rules.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/req.h"
#include "core/settings.h"
#include "core/svc.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FZ_ORGS 2

/* One org's keys and the ids of what was seeded in it (test mode). */
struct fz_org {
    char id[IDS_ORG_LEN], uuid[IDS_UUID_LEN];
    char key[4][IDS_KEY_LEN]; /* test pk, test sk, live pk, live sk */
    char v1[IDS_UUID_LEN], v1_short[IDS_SHORT_LEN], wh[64];
    char cherry[32], dd[24], tk[IDS_SHORT_LEN], tk_id[IDS_UUID_LEN], tk_cart[IDS_SHORT_LEN];
    char ko[32], pg[32], share[40], cus[32], session[80];
};

static struct {
    bool ready;
    bool passthrough; /* while seeding: writes reach SQLite */
    char dir[80], db[96];
    struct app app;
    struct store *real;
    struct fz_org org[FZ_ORGS];
} g;

/* ---- the store wrapper ---- */

struct fz_store {
    struct store base;
    struct store *real;
};

#define REAL(s) (((struct fz_store *)(s))->real)

static void
w_close(struct store *s)
{
    (void)s;
}

static int
w_migrate(struct store *s, char *err, size_t errlen)
{
    (void)s;
    (void)err;
    (void)errlen;
    return 0;
}

static enum store_rc
w_ping(struct store *s)
{
    return REAL(s)->ops->ping(REAL(s));
}

/* An order change: the handler's mutate callback on the stored row, answered as if it
 * had committed. */
static void
fake_mutate(struct store *s, struct store_write *w)
{
    struct order_row cur, next;

    memset(&cur, 0, sizeof cur);
    memset(&next, 0, sizeof next);
    w->rc = REAL(s)->ops->order_get(REAL(s), w->org_id, w->mode, w->ref, &cur);
    if (w->rc == STORE_OK && order_row_copy(&next, &cur) != 0)
        w->rc = STORE_FAIL;
    if (w->rc == STORE_OK)
        w->mutate_result = w->mutate(w->mutate_arg, &cur, &next);
    order_row_free(&cur);
    order_row_free(&next);
}

/* A create whose hooks use no SQL: its hooks run with no connection, as the PostgreSQL
 * store runs them (they render the answer), and it answers as if it had committed. */
static void
fake_insert(struct store_write *w)
{
    w->rc = STORE_OK;
    if (w->before != NULL && (w->rc = w->before(NULL, w->hook_arg)) != STORE_OK)
        w->hook_code = 1;
    else if (w->after != NULL && (w->rc = w->after(NULL, w->hook_arg)) != STORE_OK)
        w->hook_code = 1;
}

static void
w_submit(struct store *s, struct store_write *w)
{
    if (g.passthrough) {
        store_submit(REAL(s), w);
        return;
    }
    w->conflict = SC_NONE;
    w->hook_code = 0;
    w->mutate_result = STORE_MUTATE_NOOP;
    if (w->kind == SW_ORDER_MUTATE && w->mutate != NULL)
        fake_mutate(s, w);
    else if (w->kind == SW_ORDER_INSERT && w->hooks_no_sql)
        fake_insert(w);
    else
        w->rc = STORE_UNAVAILABLE;
    w->done(w);
}

static enum store_rc
w_org_get(struct store *s, const char *id, struct org_rec *out)
{
    return REAL(s)->ops->org_get(REAL(s), id, out);
}

static enum store_rc
w_org_keys(struct store *s, const char *org_id, struct key_rec **keys, size_t *n)
{
    return REAL(s)->ops->org_keys(REAL(s), org_id, keys, n);
}

static enum store_rc
w_orgs_settings_each(struct store *s, bool (*fn)(void *arg, const char *settings), void *arg)
{
    return REAL(s)->ops->orgs_settings_each(REAL(s), fn, arg);
}

static enum store_rc
w_key_find(struct store *s, const uint8_t hash[CRYPTO_HASH_LEN], struct key_rec *out)
{
    return REAL(s)->ops->key_find(REAL(s), hash, out);
}

static enum store_rc
w_order_get(struct store *s, const char *org_id, enum key_mode mode, const char *ref,
            struct order_row *out)
{
    return REAL(s)->ops->order_get(REAL(s), org_id, mode, ref, out);
}

static enum store_rc
w_order_list(struct store *s, const struct order_query *q, struct order_row **rows, size_t *n,
             bool *has_more)
{
    return REAL(s)->ops->order_list(REAL(s), q, rows, n, has_more);
}

static enum store_rc
w_event_list(struct store *s, const struct event_query *q, struct event_row **rows, size_t *n,
             bool *has_more)
{
    return REAL(s)->ops->event_list(REAL(s), q, rows, n, has_more);
}

static enum store_rc
w_idem_get(struct store *s, const char *org_id, enum key_mode mode, const char *key,
           struct idem_row *out)
{
    return REAL(s)->ops->idem_get(REAL(s), org_id, mode, key, out);
}

static enum store_rc
w_key_secret(struct store *s, const char *org_id, enum key_mode mode, struct key_rec *out)
{
    return REAL(s)->ops->key_secret(REAL(s), org_id, mode, out);
}

static enum store_rc
w_read(struct store *s, store_tx_fn fn, void *arg)
{
    return REAL(s)->ops->read(REAL(s), fn, arg);
}

static void
w_key_touch(struct store *s, const uint8_t hash[CRYPTO_HASH_LEN])
{
    (void)s;
    (void)hash;
}

static enum store_rc
w_audit_list(struct store *s, const char *org_id, int limit, struct audit_row **rows, size_t *n)
{
    return REAL(s)->ops->audit_list(REAL(s), org_id, limit, rows, n);
}

static enum store_rc
w_write_health(struct store *s, char *why, size_t whylen)
{
    if (REAL(s)->ops->write_health == NULL)
        return STORE_OK;
    return REAL(s)->ops->write_health(REAL(s), why, whylen);
}

static const struct store_ops wrapper_ops = {
    .close = w_close,
    .migrate = w_migrate,
    .ping = w_ping,
    .submit = w_submit,
    .org_get = w_org_get,
    .org_keys = w_org_keys,
    .orgs_settings_each = w_orgs_settings_each,
    .key_find = w_key_find,
    .order_get = w_order_get,
    .order_list = w_order_list,
    .event_list = w_event_list,
    .idem_get = w_idem_get,
    .key_secret = w_key_secret,
    .read = w_read,
    .key_touch = w_key_touch,
    .audit_list = w_audit_list,
    .write_health = w_write_health,
};

static struct fz_store wrapper = {{&wrapper_ops}, NULL};

/* ---- the fake http layer ---- */

struct kv {
    char *k, *v; /* v NULL: a query argument without '=' */
};

struct fz_ctx {
    struct req req;
    struct kv hdr[FZ_MAX_HEADERS + 4];
    int n_hdr;
    struct kv *q, *form;
    size_t n_q, n_form;
    char *qbuf, *formbuf;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool suspended, resumed;
};

static const char *
get_header(struct req *req, const char *name)
{
    struct fz_ctx *c = req->http;

    for (int i = 0; i < c->n_hdr; i++)
        if (strcasecmp(c->hdr[i].k, name) == 0)
            return c->hdr[i].v;
    return NULL;
}

/* MHD compares argument names without case, and the first one wins. */
static const char *
get_query(struct req *req, const char *name)
{
    struct fz_ctx *c = req->http;

    for (size_t i = 0; i < c->n_q; i++)
        if (strcasecmp(c->q[i].k, name) == 0)
            return c->q[i].v;
    return NULL;
}

static void
query_each(struct req *req, void (*fn)(void *arg, const char *k, const char *v), void *arg)
{
    struct fz_ctx *c = req->http;

    for (size_t i = 0; i < c->n_q; i++)
        fn(arg, c->q[i].k, c->q[i].v ? c->q[i].v : "");
}

static int
form_each(struct req *req, void (*fn)(void *arg, const char *k, const char *v), void *arg)
{
    struct fz_ctx *c = req->http;

    for (size_t i = 0; i < c->n_form; i++)
        fn(arg, c->form[i].k, c->form[i].v ? c->form[i].v : "");
    return 0;
}

static void
do_suspend(struct req *req)
{
    struct fz_ctx *c = req->http;

    pthread_mutex_lock(&c->lock);
    c->suspended = true;
    pthread_mutex_unlock(&c->lock);
}

static void
do_resume(struct req *req)
{
    struct fz_ctx *c = req->http;

    pthread_mutex_lock(&c->lock);
    c->resumed = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* Splits buf (modified) at sep into key[=value] pairs. */
static struct kv *
split_pairs(char *buf, char sep, size_t *n)
{
    size_t cap = 1;
    struct kv *out;
    char *p = buf;

    for (const char *s = buf; *s; s++)
        cap += *s == sep;
    out = calloc(cap, sizeof *out);
    *n = 0;
    if (out == NULL)
        return NULL;
    while (p != NULL) {
        char *end = strchr(p, sep), *eq;
        if (end != NULL)
            *end = '\0';
        if (*p != '\0') {
            eq = strchr(p, '=');
            if (eq != NULL)
                *eq = '\0';
            out[*n].k = p;
            out[*n].v = eq != NULL ? eq + 1 : NULL;
            (*n)++;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return out;
}

/* ---- placeholders ---- */

static const char *
placeholder(const struct fz_org *o, const char *name, size_t n)
{
    static const struct {
        const char *name;
        size_t off;
    } names[] = {
        {"pk", offsetof(struct fz_org, key[0])},
        {"sk", offsetof(struct fz_org, key[1])},
        {"pk_live", offsetof(struct fz_org, key[2])},
        {"sk_live", offsetof(struct fz_org, key[3])},
        {"org", offsetof(struct fz_org, id)},
        {"uuid", offsetof(struct fz_org, uuid)},
        {"v1", offsetof(struct fz_org, v1)},
        {"v1_short", offsetof(struct fz_org, v1_short)},
        {"wh", offsetof(struct fz_org, wh)},
        {"cherry", offsetof(struct fz_org, cherry)},
        {"dd", offsetof(struct fz_org, dd)},
        {"tk", offsetof(struct fz_org, tk)},
        {"tk_id", offsetof(struct fz_org, tk_id)},
        {"tk_cart", offsetof(struct fz_org, tk_cart)},
        {"ko", offsetof(struct fz_org, ko)},
        {"pg", offsetof(struct fz_org, pg)},
        {"share", offsetof(struct fz_org, share)},
        {"cus", offsetof(struct fz_org, cus)},
        {"session", offsetof(struct fz_org, session)},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, name, n) == 0)
            return (const char *)o + names[i].off;
    return NULL;
}

char *
fz_expand(const char *text, size_t len, int org, size_t *out_len)
{
    const struct fz_org *o = &g.org[org % FZ_ORGS];
    size_t cap = len + 1, used = 0;
    char *out = malloc(cap);

    for (size_t i = 0; out != NULL && i < len;) {
        const char *close = text[i] == '{' ? memchr(text + i, '}', len - i) : NULL;
        const char *rep = close != NULL && close - (text + i) <= 9
                              ? placeholder(o, text + i + 1, (size_t)(close - (text + i) - 1))
                              : NULL;
        size_t add = rep != NULL ? strlen(rep) : 1;
        if (used + add + 1 > cap) {
            char *grown = realloc(out, cap * 2 + add);
            if (grown == NULL) {
                free(out);
                out = NULL;
                break;
            }
            out = grown;
            cap = cap * 2 + add;
        }
        if (rep != NULL) {
            memcpy(out + used, rep, add);
            i = (size_t)(close - text) + 1;
        } else {
            out[used] = text[i++];
        }
        used += add;
    }
    if (out == NULL)
        abort();
    out[used] = '\0';
    if (out_len != NULL)
        *out_len = used;
    return out;
}

char *
fz_line(const uint8_t **data, size_t *size)
{
    const uint8_t *nl = memchr(*data, '\n', *size);
    size_t n = nl != NULL ? (size_t)(nl - *data) : *size;
    char *s = malloc(n + 1);

    if (s == NULL)
        abort();
    memcpy(s, *data, n);
    s[n] = '\0';
    *data += nl != NULL ? n + 1 : n;
    *size -= nl != NULL ? n + 1 : n;
    return s;
}

struct app *
fz_app(void)
{
    fz_init();
    return &g.app;
}

const char *
fz_org_id(int org)
{
    fz_init();
    return g.org[org % FZ_ORGS].id;
}

void
fz_header(struct fz_request *r, const char *name, const char *value)
{
    if (r->n_hdr < FZ_MAX_HEADERS) {
        r->hdr[r->n_hdr][0] = name;
        r->hdr[r->n_hdr][1] = value;
        r->n_hdr++;
    }
}

/* ---- one request ---- */

static void
add_hdr(struct fz_ctx *c, const char *k, const char *v, int org)
{
    if (c->n_hdr < (int)(sizeof c->hdr / sizeof c->hdr[0])) {
        c->hdr[c->n_hdr].k = strdup(k);
        c->hdr[c->n_hdr].v = fz_expand(v, strlen(v), org, NULL);
        if (c->hdr[c->n_hdr].k == NULL)
            abort();
        c->n_hdr++;
    }
}

/* Adds the credentials r->auth names, with the keys of r's org and mode. */
static void
add_auth(struct fz_ctx *c, const struct fz_request *r)
{
    const struct fz_org *o = &g.org[r->org % FZ_ORGS];
    const char *pk = o->key[r->live ? 2 : 0], *sk = o->key[r->live ? 3 : 1];
    char v[256], token[CHERRY_TOKEN_LEN], ts[24], b64[128];

    switch (r->auth) {
    case FZ_AUTH_BEARER_SK:
    case FZ_AUTH_BEARER_PK:
        snprintf(v, sizeof v, "Bearer %s", r->auth == FZ_AUTH_BEARER_SK ? sk : pk);
        add_hdr(c, "Authorization", v, r->org);
        break;
    case FZ_AUTH_DROPDAY:
        add_hdr(c, "api-key", sk, r->org);
        add_hdr(c, "account-id", o->id, r->org);
        break;
    case FZ_AUTH_CHERRY:
        /* the seeds are signed a minute back, so no fuzzed request replays one */
        snprintf(ts, sizeof ts, "%lld",
                 (long long)(clock_now_ms() / 1000 - (g.passthrough ? 60 : 0)));
        if (cherry_token(pk, sk, strlen(sk), ts, token) != 0)
            abort();
        snprintf(v, sizeof v, "%s:%s", pk, token);
        add_hdr(c, "authorization", v, r->org);
        add_hdr(c, "timestamp", ts, r->org);
        break;
    case FZ_AUTH_DASHBOARD:
        snprintf(v, sizeof v, "orderd_dashboard=%s", o->session);
        add_hdr(c, "Cookie", v, r->org);
        add_hdr(c, "X-Orderd-Dashboard", "1", r->org);
        break;
    case FZ_AUTH_BASIC_SK:
        snprintf(v, sizeof v, "%s:", sk);
        if (crypto_base64((const uint8_t *)v, strlen(v), b64, sizeof b64) != 0)
            abort();
        snprintf(v, sizeof v, "Basic %s", b64);
        add_hdr(c, "Authorization", v, r->org);
        break;
    default:
        break;
    }
}

static bool
is_type(const struct jsonx *v, enum jsonx_type t)
{
    return v != NULL && jsonx_type(v) == t;
}

/* An error answer is in the format of the API the request addressed (a house rule: bad
 * input gets a specific error in the API's own format). */
static bool
error_format_ok(const struct req *req, const struct jsonx *d)
{
    const char *api = req->dialect != NULL ? req->dialect->name : "v1";
    const struct jsonx *e = jsonx_get(d, "error"), *m;
    int status = req->resp.status;

    if (strcmp(api, "cherry") == 0)
        return is_type(jsonx_get(d, "code"), JX_INT) && is_type(e, JX_STRING) &&
               is_type(jsonx_get(d, "message"), JX_STRING);
    if (strcmp(api, "dropday") == 0)
        return is_type(jsonx_get(d, "message"), JX_STRING) &&
               (is_type(e, JX_STRING) || is_type(jsonx_get(d, "errors"), JX_OBJECT));
    if (strcmp(api, "threekit") == 0)
        return is_type(e, JX_OBJECT) && is_type(jsonx_get(e, "status"), JX_INT) &&
               jsonx_int(jsonx_get(e, "status")) == status &&
               is_type(jsonx_get(e, "code"), JX_STRING) &&
               is_type(jsonx_get(e, "message"), JX_STRING);
    if (strcmp(api, "kohort") == 0) {
        m = is_type(e, JX_OBJECT) ? jsonx_get(e, "message") : NULL;
        return is_type(e, JX_OBJECT) && is_type(jsonx_get(e, "type"), JX_STRING) &&
               is_type(jsonx_get(e, "code"), JX_STRING) &&
               (is_type(m, JX_STRING) || is_type(m, JX_ARRAY));
    }
    return is_type(jsonx_get(d, "type"), JX_STRING) && is_type(jsonx_get(d, "code"), JX_STRING) &&
           is_type(jsonx_get(d, "status"), JX_INT) && jsonx_int(jsonx_get(d, "status")) == status;
}

/* Every answer has a status other than 500 (the store here does not fail: a 500 is a
 * bug); a JSON answer parses; an error is a JSON body in the addressed API's format. */
static void
check_answer(const struct req *req)
{
    struct jsonx_error err;
    struct jsonx *doc;
    const struct resp *resp = &req->resp;

    if (resp->status < 100 || resp->status > 599 || resp->status == 500) {
        fprintf(stderr, "fuzz: %s %s answered status %d: %.*s\n", req->method, req->path,
                resp->status, (int)(resp->body_len > 400 ? 400 : resp->body_len),
                resp->body ? resp->body : "");
        abort();
    }
    if (resp->body != NULL && resp->content_type != NULL &&
        (strcmp(resp->content_type, "application/json") == 0 ||
         strcmp(resp->content_type, "application/problem+json") == 0)) {
        doc = jsonx_parse(resp->body, resp->body_len, 256, &err);
        if (doc == NULL || (resp->status >= 400 && !error_format_ok(req, doc))) {
            fprintf(stderr, "fuzz: %s %s answered %s: %d %.*s\n", req->method, req->path,
                    doc == NULL ? "invalid JSON" : "an error in another format", resp->status,
                    (int)(resp->body_len > 400 ? 400 : resp->body_len), resp->body);
            abort();
        }
        jsonx_free(doc);
    } else if (resp->status >= 400) {
        fprintf(stderr, "fuzz: %s %s answered %d without a JSON body\n", req->method, req->path,
                resp->status);
        abort();
    }
}

/* Runs r; the answer stays in c->req.resp (the caller clears it). */
static void
run(struct fz_ctx *c, const struct fz_request *r)
{
    size_t body_len = 0;
    char *path = fz_expand(r->path, strlen(r->path), r->org, NULL);
    char *body = fz_expand(r->body ? r->body : "", r->body ? r->body_len : 0, r->org, &body_len);
    enum req_result rr;

    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    for (int i = 0; i < r->n_hdr; i++)
        add_hdr(c, r->hdr[i][0], r->hdr[i][1], r->org);
    add_auth(c, r);
    if (r->query != NULL) {
        c->qbuf = fz_expand(r->query, strlen(r->query), r->org, NULL);
        c->q = split_pairs(c->qbuf, '&', &c->n_q);
    }
    if (r->form) {
        c->formbuf = malloc(body_len + 1);
        if (c->formbuf == NULL)
            abort();
        memcpy(c->formbuf, body, body_len + 1);
        c->form = split_pairs(c->formbuf, '\n', &c->n_form);
    }
    ids_request(c->req.id);
    c->req.method = r->method;
    c->req.path = path;
    c->req.body = body;
    c->req.body_len = body_len;
    c->req.start_ms = clock_now_ms();
    c->req.app = &g.app;
    c->req.listener_dialect = r->listener;
    c->req.header = get_header;
    c->req.query = get_query;
    c->req.query_each = query_each;
    c->req.form_each = form_each;
    c->req.suspend = do_suspend;
    c->req.resume = do_resume;
    c->req.http = c;
    rr = api_dispatch(&c->req);
    pthread_mutex_lock(&c->lock);
    if (rr == REQ_PENDING && !g.passthrough && !c->resumed) {
        fprintf(stderr, "fuzz: %s %s suspended and was never resumed\n", r->method, path);
        abort();
    }
    while (rr == REQ_PENDING && !c->resumed)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
    if (c->req.resp.status == 0) /* http.c answers 500 then */
        api_http_problem(&c->req, 500, "internal_error", NULL);
    check_answer(&c->req);
    for (int i = 0; i < c->n_hdr; i++) {
        free(c->hdr[i].k);
        free(c->hdr[i].v);
    }
    free(c->q);
    free(c->qbuf);
    free(c->form);
    free(c->formbuf);
    free(path);
    free(body);
    c->req.path = NULL;
    c->req.body = NULL;
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

int
fz_run(const struct fz_request *r)
{
    struct fz_ctx c;
    int status;

    fz_init();
    run(&c, r);
    status = c.req.resp.status;
    if (getenv("FZ_DEBUG") != NULL) /* FZ_DEBUG=full: whole bodies */
        fprintf(stderr, "fuzz: %s %s -> %d %.*s\n", r->method, r->path, status,
                (int)(c.req.resp.body_len > 600 && strcmp(getenv("FZ_DEBUG"), "full") != 0
                          ? 600
                          : c.req.resp.body_len),
                c.req.resp.body ? c.req.resp.body : "");
    resp_clear(&c.req.resp);
    return status;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* libFuzzer calls this once before the first input. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_init();
    return 0;
}

/* ---- seeding ---- */

/* Runs a seeding request (writes commit) and returns its answer parsed, or aborts. */
static struct jsonx *
seed(int org, enum fz_auth auth, const char *method, const char *path, const char *body)
{
    struct fz_request r = {.method = method, .path = path, .auth = auth, .org = org};
    struct jsonx_error err;
    struct jsonx *doc;
    struct fz_ctx c;
    const char *cookie;

    r.body = body;
    r.body_len = body != NULL ? strlen(body) : 0;
    if (body != NULL)
        fz_header(&r, "Content-Type", "application/json");
    fz_header(&r, "X-Orderd-Dashboard", "1");
    run(&c, &r);
    /* the dashboard's sign-in: "orderd_dashboard=TOKEN; Path=…" */
    cookie = resp_header_get(&c.req.resp, "Set-Cookie");
    if (cookie != NULL && strncmp(cookie, "orderd_dashboard=", 17) == 0)
        snprintf(g.org[org].session, sizeof g.org[org].session, "%.*s",
                 (int)strcspn(cookie + 17, ";"), cookie + 17);
    doc = c.req.resp.body ? jsonx_parse(c.req.resp.body, c.req.resp.body_len, 64, &err) : NULL;
    if (c.req.resp.status < 200 || c.req.resp.status > 299 || doc == NULL) {
        fprintf(stderr, "fuzz: seeding %s %s failed: %d %.*s\n", method, path, c.req.resp.status,
                (int)c.req.resp.body_len, c.req.resp.body ? c.req.resp.body : "");
        abort();
    }
    resp_clear(&c.req.resp);
    return doc;
}

/* Copies the string member path ("a.b") of doc into out; aborts when missing. */
static void
take(struct jsonx *doc, const char *key, const char *key2, char *out, size_t size)
{
    const struct jsonx *v = jsonx_get(doc, key);
    char num[24];

    if (key2 != NULL)
        v = v != NULL ? jsonx_get(v, key2) : NULL;
    if (v != NULL && jsonx_type(v) == JX_INT) {
        snprintf(num, sizeof num, "%lld", (long long)jsonx_int(v));
        snprintf(out, size, "%s", num);
    } else if (v != NULL && jsonx_type(v) == JX_STRING) {
        snprintf(out, size, "%s", jsonx_str(v));
    } else {
        fprintf(stderr, "fuzz: seeding: no %s%s%s in the answer\n", key, key2 ? "." : "",
                key2 ? key2 : "");
        abort();
    }
}

static void
org_create(int i, const char *const *settings)
{
    struct fz_org *o = &g.org[i];
    struct org_rec org = {0};
    struct key_rec keys[4];
    struct store_write w = {0};
    char *next = NULL, err[256];

    ids_org(o->id);
    ids_uuid4(o->uuid);
    memcpy(org.id, o->id, sizeof org.id);
    memcpy(org.uuid, o->uuid, sizeof org.uuid);
    org.name = (char *)(i ? "Fuzz B" : "Fuzz A");
    org.settings = strdup("{}");
    org.created_ms = clock_now_ms();
    auth_keys_new(&g.app, org.id, keys, o->key);
    for (int k = 0; settings[k] != NULL; k += 2) {
        if (settings_apply(org.settings, settings[k], settings[k + 1], &next, err, sizeof err) !=
            0) {
            fprintf(stderr, "fuzz: setting %s: %s\n", settings[k], err);
            abort();
        }
        free(org.settings);
        org.settings = next;
    }
    w.kind = SW_ORG_INSERT;
    w.org = &org;
    w.keys = keys;
    w.n_keys = 4;
    if (store_write_wait(g.real, &w) != STORE_OK)
        abort();
    for (int k = 0; k < 4; k++)
        key_rec_free(&keys[k]);
    free(org.settings);
}

static const char v1_order[] =
    "{\"external_id\":\"fz-1\",\"currency\":\"EUR\",\"customer\":{\"email\":\"ann@example.com\","
    "\"first_name\":\"Ann\",\"last_name\":\"Lee\"},\"line_items\":[{\"name\":\"Mug\","
    "\"quantity\":2,\"unit_price\":1250}],\"shipping_amount\":495}";
static const char v1_webhook[] =
    "{\"url\":\"https://hooks.example.com/orderd\",\"enabled_events\":[\"order.created\"]}";
static const char cherry_order[] =
    "{\"trackId\":\"ODR-5736\",\"orderPrice\":85.90,\"cherryPrice\":2,\"currency\":\"eur\","
    "\"status\":\"validated\",\"customer\":{\"firstname\":\"Michael\",\"lastname\":\"Jackson\","
    "\"email\":\"mj@example.com\",\"phoneNumber\":\"+33670230852\",\"birthday\":\"1958-08-29\","
    "\"gender\":\"m\",\"address\":\"55 rue de la republique\",\"zipCode\":\"75000\","
    "\"city\":\"Paris\",\"country\":\"France\"}}";
static const char cherry_me[] =
    "{\"cms\":\"prestashop\",\"cmsVersion\":\"1.7.8\",\"pluginInstalled\":true,"
    "\"pluginInstalledMode\":\"test\",\"pluginInstalledVersion\":\"2.0.1\","
    "\"moduleApiEndpoint\":\"https://shop.example.com/module/cherry\"}";
static const char dropday_order[] =
    "{\"external_id\":\"L41223D\",\"source\":\"Example Shop Dot Org\",\"test\":false,"
    "\"total\":435.45,\"shipping_cost\":4.95,\"email\":\"\",\"shipping_address\":{"
    "\"first_name\":\"John\",\"last_name\":\"Doe\",\"company_name\":\"Jeff\","
    "\"address1\":\"Jumpstreet 23\",\"postcode\":\"4500\",\"city\":\"LA\",\"country\":\"US\","
    "\"phone\":\"222 222\"},\"products\":[{\"external_id\":\"1\",\"ean13\":\"87235211235464\","
    "\"name\":\"Pizza margerita\",\"reference\":\"PZZA00001\",\"quantity\":2,"
    "\"stock_quantity\":424,\"price\":10.99,\"image_url\":\"\",\"brand\":\"Italian\","
    "\"category\":\"Pizza's\",\"supplier\":\"Mario\",\"custom\":{\"toppings\":\"onions\"}}]}";
static const char dropday_order_jpy[] =
    "{\"external_id\":\"J-100\",\"source\":\"Tokyo Shop\",\"total\":2500,"
    "\"shipping_cost\":500,\"email\":\"yuki@example.jp\",\"shipping_address\":{"
    "\"first_name\":\"Yuki\",\"last_name\":\"Sato\",\"address1\":\"1-1 Chiyoda\","
    "\"postcode\":\"100-0001\",\"city\":\"Tokyo\",\"country\":\"Japan\"},\"products\":[{"
    "\"external_id\":\"9\",\"name\":\"Tea\",\"reference\":\"TEA-1\",\"quantity\":2,"
    "\"price\":1000,\"supplier\":\"Uji\"}]}";
static const char threekit_order[] =
    "{\"name\":\"Living room set\",\"customerId\":\"11111111-1111-4111-8111-111111111111\","
    "\"platform\":{\"id\":\"shop-123\",\"platform\":\"shopify\",\"storeName\":\"demo\"},"
    "\"metadata\":{\"Color\":\"Red\",\"Size\":3},\"derivative\":{\"Finish\":\"Matte\"},"
    "\"cart\":[{\"configurationId\":\"44444444-4444-4444-8444-444444444444\",\"count\":2,"
    "\"metadata\":{\"note\":\"x\"}}],\"status\":\"New\"}";
static const char threekit_cart[] = "{\"name\":\"Cart\",\"status\":\"In Cart\",\"items\":[{\"id\":"
                                    "\"55555555-5555-4555-8555-555555555555\",\"count\":1}]}";
static const char kohort_customer[] =
    "{\"emailAddress\":\"cus@example.com\",\"firstName\":\"Cus\",\"lastName\":\"Tomer\","
    "\"phoneNumber\":\"+33612345678\",\"locale\":\"fr_FR\"}";
static const char kohort_order[] =
    "{\"amount\":12000,\"customerEmail\":\"kim@example.com\",\"customerFirstName\":\"Kim\","
    "\"customerLastName\":\"Doe\",\"clientReferenceId\":\"ref-1\",\"locale\":\"en_US\"}";

static void
seed_org(int i)
{
    struct fz_org *o = &g.org[i];
    struct jsonx *d;

    d = seed(i, FZ_AUTH_BEARER_SK, "POST", "/v1/orders", v1_order);
    take(d, "id", NULL, o->v1, sizeof o->v1);
    take(d, "short_id", NULL, o->v1_short, sizeof o->v1_short);
    jsonx_free(d);
    d = seed(i, FZ_AUTH_BEARER_SK, "POST", "/v1/webhook_endpoints", v1_webhook);
    take(d, "id", NULL, o->wh, sizeof o->wh);
    jsonx_free(d);
    d = seed(i, FZ_AUTH_CHERRY, "POST", "/cherry/v2/orders", cherry_order);
    take(d, "trackId", NULL, o->cherry, sizeof o->cherry);
    jsonx_free(d);
    jsonx_free(seed(i, FZ_AUTH_CHERRY, "PUT", "/cherry/v2/app/me", cherry_me));
    d = seed(i, FZ_AUTH_DROPDAY, "POST", "/dropday/api/v1/orders/",
             i ? dropday_order_jpy : dropday_order);
    take(d, "reference", NULL, o->dd, sizeof o->dd);
    jsonx_free(d);
    d = seed(i, FZ_AUTH_BEARER_SK, "POST", "/threekit/api/orders", threekit_order);
    take(d, "shortId", NULL, o->tk, sizeof o->tk);
    take(d, "id", NULL, o->tk_id, sizeof o->tk_id);
    jsonx_free(d);
    d = seed(i, FZ_AUTH_BEARER_SK, "POST", "/threekit/api/orders", threekit_cart);
    take(d, "shortId", NULL, o->tk_cart, sizeof o->tk_cart);
    jsonx_free(d);
    d = seed(i, FZ_AUTH_BEARER_SK, "POST", "/kohort/customers", kohort_customer);
    take(d, "id", NULL, o->cus, sizeof o->cus);
    jsonx_free(d);
    d = seed(i, FZ_AUTH_BEARER_SK, "POST", "/kohort/orders", kohort_order);
    take(d, "id", NULL, o->ko, sizeof o->ko);
    take(d, i ? "payment_group_id" : "paymentGroupId", NULL, o->pg, sizeof o->pg);
    jsonx_free(d);
    d = seed(i, FZ_AUTH_BEARER_SK, "GET", "/kohort/payment-groups/{pg}", NULL);
    take(d, i ? "share_id" : "shareId", NULL, o->share, sizeof o->share);
    jsonx_free(d);
    jsonx_free(seed(i, FZ_AUTH_NONE, "POST", "/dashboard/api/session",
                    "{\"key\":\"{sk}\",\"other_key\":\"{sk_live}\"}"));
    if (o->session[0] == '\0')
        abort();
}

static void
remove_db_dir(const char *dir)
{
    static const char *const files[] = {"fuzz.db", "fuzz.db-wal", "fuzz.db-shm", "fuzz.db-journal"};
    char path[512];

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* A crash skips atexit: the scratch stores of fuzz processes that are gone are removed
 * by the next one (the directory names carry the pid). */
static void
remove_stale(const char *tmp)
{
    DIR *d = opendir(tmp);
    struct dirent *e;
    char path[512];
    long pid;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (sscanf(e->d_name, "orderd-fuzz-%ld-", &pid) != 1 || pid <= 0 ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
        remove_db_dir(path);
    }
    closedir(d);
}

static void
cleanup(void)
{
    if (g.real != NULL)
        store_close(g.real);
    g.real = NULL;
    remove_db_dir(g.dir);
    svc_inflight_free(g.app.inflight);
    g.app.inflight = NULL;
}

void
fz_init(void)
{
    static const char *const settings_a[] = {
        "cherry.charity", "Les Restos du Coeur", "allowed_origins",
        "https://shop.example.com,https://*.example.org", NULL};
    static const char *const settings_b[] = {
        "cherry.charity",
        "Croix-Rouge",
        "cherry.allow_extra",
        "false",
        "cherry.price_scale",
        "[{\"from\":0,\"to\":50,\"amount\":1},{\"from\":50,\"to\":500,"
        "\"amount\":3}]",
        "cherry.charity_percentage",
        "50.5",
        "cherry.plugin.de",
        "<b>Kirsche {cherryPrice}</b>",
        "dropday.currency",
        "JPY",
        "threekit.currency",
        "EUR",
        "threekit.public_token_without_origin",
        "allow",
        "kohort.response_case",
        "snake",
        "kohort.tiers",
        "2:500,5:1000",
        "kohort.group_duration",
        "1h",
        "kohort.max_participants",
        "3",
        "kohort.min_amount",
        "100",
        "allowed_origins",
        "http://localhost:3000",
        NULL};
    const char *tmp = getenv("TMPDIR");
    char err[256];

    if (g.ready)
        return;
    g.ready = true;
    if (crypto_init() != 0)
        abort();
    tmp = tmp != NULL && tmp[0] != '\0' && strlen(tmp) < 32 ? tmp : "/tmp";
    remove_stale(tmp);
    snprintf(g.dir, sizeof g.dir, "%s/orderd-fuzz-%ld-XXXXXX", tmp, (long)getpid());
    if (mkdtemp(g.dir) == NULL)
        abort();
    snprintf(g.db, sizeof g.db, "%s/fuzz.db", g.dir);
    {
        char url[128];
        snprintf(url, sizeof url, "sqlite:%s", g.db);
        g.real = store_open(url, err, sizeof err);
    }
    if (g.real == NULL || g.real->ops->migrate(g.real, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: cannot open the scratch store: %s\n", err);
        abort();
    }
    atexit(cleanup);
    memset(g.app.master, 0x5a, sizeof g.app.master);
    g.app.inflight = svc_inflight_new();
    wrapper.real = g.real;
    g.app.store = &wrapper.base;
    org_create(0, settings_a);
    org_create(1, settings_b);
    g.passthrough = true;
    seed_org(0);
    seed_org(1);
    g.passthrough = false;
}

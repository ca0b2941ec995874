/* SPDX-License-Identifier: MIT */
/*
 * harness.h -- what the request-level fuzz targets share: one fake HTTP request run
 * through the real router and handlers (api_dispatch), as src/http/http.c would run it,
 * without a socket.
 *
 * fz_init (once per process) opens a scratch SQLite store in a temporary directory,
 * creates two orgs (A with default settings, B with every dialect setting changed:
 * Kohort snake case, JPY for Dropday, a Cherry price scale...) and seeds each through
 * the APIs themselves (a /v1 order and webhook endpoint, a Cherry order and plugin
 * info, a Dropday order, Threekit orders, a Kohort customer, group and order, a
 * dashboard session). From then
 * on the store the handlers see is a wrapper: reads go to SQLite, writes are never
 * committed, so every run sees the same data and is reproducible:
 *   - an order change (SW_ORDER_MUTATE) runs the handler's mutate callback on the
 *     stored order and answers as if it had committed (without the dialect's
 *     before/after hooks, which need the write connection);
 *   - an order create whose hooks use no SQL (hooks_no_sql: /v1, Threekit) runs them
 *     with no connection, as the PostgreSQL store does, and answers as if committed;
 *   - every other write answers STORE_UNAVAILABLE (the handler's 503 path).
 *
 * Placeholders in paths, queries, headers and bodies name the seeded data of the
 * request's org ({pk}, {sk}, {org}, {uuid}, {v1}, {cherry}, {dd}, {tk}, {tk_cart},
 * {ko}, {pg}, {share}, {cus}, {wh}, {session}: the dashboard session token; see
 * fz_expand), so that a fuzzer can reach past "not found". Every answer must have a status other
 * than 500 (nothing here fails, so an internal error is a bug) and, when JSON, parse as JSON.
 */
#ifndef ORDERD_FUZZ_HARNESS_H
#define ORDERD_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;

#define FZ_MAX_HEADERS 16

/* The credentials fz_run adds (the request's own headers come first and win). */
enum fz_auth {
    FZ_AUTH_NONE,
    FZ_AUTH_BEARER_SK, /* Authorization: Bearer sk_… */
    FZ_AUTH_BEARER_PK, /* Authorization: Bearer pk_… */
    FZ_AUTH_DROPDAY,   /* api-key: sk_…, account-id: org_… */
    FZ_AUTH_CHERRY,    /* authorization: pk:token, timestamp: now (signed over the path) */
    FZ_AUTH_BASIC_SK,  /* Authorization: Basic base64(sk_…:) */
    FZ_AUTH_DASHBOARD, /* the dashboard's session cookie and CSRF header (test mode) */
    FZ_AUTH_COUNT
};

struct fz_request {
    const char *method;
    const char *path;     /* without query; placeholders are expanded */
    const char *query;    /* "k=v&k2=v2" as MHD would have decoded it, or NULL */
    const char *listener; /* NULL: the main listener; else the one dialect it serves */
    const char *hdr[FZ_MAX_HEADERS][2];
    int n_hdr;
    const char *body; /* placeholders are expanded */
    size_t body_len;
    bool form; /* form_each yields the body's lines "key=value" (what MHD's post
                * processor hands over after decoding) */
    enum fz_auth auth;
    int org;   /* 0: org A, 1: org B */
    bool live; /* live-mode keys (the seeded data is in test mode) */
};

/* Opens the scratch store and seeds it; aborts when that fails. Idempotent. */
void fz_init(void);
/* Adds a header; name and value are borrowed until fz_run returns. */
void fz_header(struct fz_request *r, const char *name, const char *value);
/* Runs the request; returns the answer's HTTP status. */
int fz_run(const struct fz_request *r);
/* A malloc'd, NUL-terminated copy of text (len bytes) with the placeholders of org
 * replaced; *out_len gets its length. */
char *fz_expand(const char *text, size_t len, int org, size_t *out_len);
/* The app (its store is the wrapper) and an org's id, for targets that call core
 * entry points directly (fuzz_import). */
struct app *fz_app(void);
const char *fz_org_id(int org);
/* The next line of the input (up to '\n' or the end) as a malloc'd string; advances
 * *data and *size past it. */
char *fz_line(const uint8_t **data, size_t *size);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * api.h -- the API layer's entry point: route a request to its dialect and handler.
 * The http layer calls api_dispatch once the whole body has arrived. Each dialect
 * (v1, cherry, dropday, threekit, kohort) is one `struct api_dialect` in its own file,
 * listed once in router.c. On the main listener a dialect's routes live under its
 * prefix ("/cherry"); on a --dialect-listen listener they are served alone, at the
 * vendor's own paths. Handlers answer through req->resp (REQ_DONE) or suspend the
 * request (REQ_PENDING).
 */
#ifndef ORDERD_API_H
#define ORDERD_API_H

#include "core/req.h"

struct app;

typedef enum req_result (*api_handler)(struct req *req);

struct api_route {
    const char *method;
    const char *pattern; /* "/orders/{}": {} matches one path segment; "" is the root */
    api_handler fn;
};

struct api_dialect {
    const char *name;               /* "v1", "cherry"...: also the order's `dialect` */
    const char *prefix;             /* mount on the main listener: "" for v1, "/cherry"... */
    const struct api_route *routes; /* ends with a NULL method */
    /* Answers an HTTP-level error (404 no route, 405, 413, 415, 431, 500, 503) in this
     * API's own error format. code is a stable /v1 problem code. */
    void (*http_error)(struct req *req, int status, const char *code, const char *detail);
    /* Optional: answers OPTIONS (CORS preflight) for this API; NULL -> 405. */
    api_handler preflight;
    /* Optional: background work of this API (e.g. settling groups), started by `serve`
     * once the store is open and stopped before it closes. start returns 0 or -1. */
    int (*start)(struct app *app);
    void (*stop)(void);
    /* Also send X-RateLimit-Limit / X-RateLimit-Remaining (what this API's clients read). */
    bool x_ratelimit_headers;
    /* Served on the main listener only, never alone on a --dialect-listen listener (the
     * dashboard: its cookie and its pages live under its prefix). */
    bool main_only;
};

/* Starts every API's background work; stops the ones started if one fails. */
int api_start_all(struct app *app);
void api_stop_all(void);

/* The dialect named name, or NULL. */
const struct api_dialect *api_dialect_find(const char *name);
/* Comma-separated names of the dialects that can have their own listener. */
const char *api_dialect_names(void);

/* Routes req. listener_dialect is NULL on the main listener, else the one dialect the
 * listener serves. */
enum req_result api_dispatch(struct req *req);

/* Answers an HTTP-level error in the format of the API the request addressed. */
void api_http_problem(struct req *req, int status, const char *code, const char *detail);

extern const struct api_dialect api_dialect_v1;
extern const struct api_dialect api_dialect_cherry;
extern const struct api_dialect api_dialect_dropday;
extern const struct api_dialect api_dialect_threekit;
extern const struct api_dialect api_dialect_kohort;
extern const struct api_dialect api_dialect_dashboard;

#endif

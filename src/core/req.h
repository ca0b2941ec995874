/* SPDX-License-Identifier: MIT */
/*
 * req.h -- one HTTP request as core and the APIs see it, without any HTTP library type.
 * The http layer fills it, gives accessors for headers and query arguments, and sends
 * `resp` when the handler is done. A handler either answers at once (returns REQ_DONE)
 * or suspends the request (req_suspend) and later calls req_resume from any thread.
 *
 * Ownership: method/path/body and accessor results are borrowed from the http layer
 * and valid until the response is sent. resp.body and header values are owned by the
 * request and freed by the http layer.
 */
#ifndef ORDERD_REQ_H
#define ORDERD_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ids.h"
#include "core/ratelimit.h"

#define REQ_MAX_HEADERS 12

struct app;         /* core/app.h */
struct api_dialect; /* api/api.h */

enum req_result { REQ_DONE = 0, REQ_PENDING = 1 };

struct resp_header {
    const char *name; /* static string */
    char *value;      /* owned */
};

struct resp {
    int status;
    const char *content_type; /* static string */
    char *body;               /* owned, may be NULL */
    size_t body_len;
    struct resp_header headers[REQ_MAX_HEADERS];
    int n_headers;
};

/* Who is calling, once authenticated. */
struct auth {
    bool ok;
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    enum key_kind kind;
    uint8_t key_hash[32];          /* SHA-256 of the key: its rate-limit bucket */
    struct ratelimit_verdict rate; /* the key's bucket after this request (limit 0: none) */
};

struct req {
    char id[IDS_REQUEST_LEN];
    const char *method;
    const char *path; /* decoded path, no query */
    const char *body;
    size_t body_len;
    int64_t start_ms;
    struct app *app;
    struct auth auth;
    struct resp resp;
    const char *route;                 /* route pattern that matched, for logs */
    const char *listener_dialect;      /* NULL: main listener; else the one dialect served */
    bool tls;                          /* the listener speaks HTTPS */
    const struct api_dialect *dialect; /* set by the router */
    char param[2][128];    /* path parameters captured by the router ("" when too long) */
    char cors_origin[256]; /* set: the http layer adds CORS headers for this origin */

    /* provided by the http layer */
    const char *(*header)(struct req *req, const char *name);
    const char *(*query)(struct req *req, const char *name);
    /* Calls fn(arg, key, value) for each query argument; used to reject unknown ones. */
    void (*query_each)(struct req *req, void (*fn)(void *arg, const char *k, const char *v),
                       void *arg);
    /* Decodes the body as an HTML form (application/x-www-form-urlencoded or
     * multipart/form-data, by its Content-Type) and calls fn(arg, key, value) for each
     * field, in order, with the value whole (files are skipped). Returns 0, or -1 when
     * the Content-Type is not a form type or the body is malformed. */
    int (*form_each)(struct req *req, void (*fn)(void *arg, const char *k, const char *v),
                     void *arg);
    void (*suspend)(struct req *req);
    void (*resume)(struct req *req);
    void *http; /* http layer's context */
};

static inline const char *
req_header(struct req *req, const char *name)
{
    return req->header(req, name);
}

static inline const char *
req_query(struct req *req, const char *name)
{
    return req->query(req, name);
}

/* The first query parameter not named in allowed (NULL-terminated), or NULL. The name
 * is the http layer's (valid while the request is). */
const char *req_query_unknown(struct req *req, const char *const *allowed);

/* Adds a response header (value copied). */
void resp_header(struct resp *r, const char *name, const char *value);
const char *resp_header_get(const struct resp *r, const char *name);
/* Sets a JSON body (takes ownership of body). */
void resp_json(struct resp *r, int status, char *body, size_t len);
/* Frees what the response owns and resets it. */
void resp_clear(struct resp *r);

#endif

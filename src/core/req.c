/* SPDX-License-Identifier: MIT */
/*
 * req.c -- response building helpers (req.h).
 */
#include "core/req.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
resp_header(struct resp *r, const char *name, const char *value)
{
    char *v;

    if (r->n_headers >= REQ_MAX_HEADERS)
        return;
    v = strdup(value);
    if (v == NULL)
        return;
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = v;
    r->n_headers++;
}

const char *
resp_header_get(const struct resp *r, const char *name)
{
    for (int i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void
resp_json(struct resp *r, int status, char *body, size_t len)
{
    free(r->body);
    r->status = status;
    r->content_type = "application/json";
    r->body = body;
    r->body_len = len;
}

void
resp_clear(struct resp *r)
{
    for (int i = 0; i < r->n_headers; i++)
        free(r->headers[i].value);
    free(r->body);
    memset(r, 0, sizeof *r);
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

const char *
req_query_unknown(struct req *req, const char *const *allowed)
{
    struct query_check qc = {allowed, NULL};

    req->query_each(req, query_check_one, &qc);
    return qc.bad;
}

/* SPDX-License-Identifier: MIT */
/*
 * router.c -- the dialect list and the route matcher. On the main listener the
 * longest matching prefix picks the dialect (v1's empty prefix matches the rest); a
 * dialect listener serves one dialect without prefix. A path that matches some route
 * pattern but not its method gets 405 with Allow; no match at all gets 404, each in
 * the addressed API's own error format.
 */
#include "api/api.h"

#include "core/problem.h"

#include <stdio.h>
#include <string.h>

/* Every API orderd speaks; add a dialect here (and nowhere else in this layer). */
static const struct api_dialect *const dialects[] = {
    &api_dialect_v1,       &api_dialect_cherry, &api_dialect_dropday,
    &api_dialect_threekit, &api_dialect_kohort, &api_dialect_dashboard,
};

#define N_DIALECTS (sizeof dialects / sizeof dialects[0])

const struct api_dialect *
api_dialect_find(const char *name)
{
    for (size_t i = 0; i < N_DIALECTS; i++)
        if (strcmp(dialects[i]->name, name) == 0 && !dialects[i]->main_only)
            return dialects[i];
    return NULL;
}

const char *
api_dialect_names(void)
{
    static char names[128];

    if (names[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < N_DIALECTS; i++)
            if (!dialects[i]->main_only)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                         used ? ", " : "", dialects[i]->name);
    }
    return names;
}

int
api_start_all(struct app *app)
{
    for (size_t i = 0; i < N_DIALECTS; i++) {
        if (dialects[i]->start != NULL && dialects[i]->start(app) != 0) {
            while (i-- > 0)
                if (dialects[i]->stop != NULL)
                    dialects[i]->stop();
            return -1;
        }
    }
    return 0;
}

void
api_stop_all(void)
{
    for (size_t i = N_DIALECTS; i-- > 0;)
        if (dialects[i]->stop != NULL)
            dialects[i]->stop();
}

/* Which dialect does this request address, and what is its path inside it? */
static const struct api_dialect *
resolve(struct req *req, const char **sub)
{
    const struct api_dialect *best = NULL;
    size_t best_len = 0;

    if (req->listener_dialect != NULL) {
        *sub = req->path;
        return api_dialect_find(req->listener_dialect);
    }
    for (size_t i = 0; i < N_DIALECTS; i++) {
        size_t n = strlen(dialects[i]->prefix);
        if (strncmp(req->path, dialects[i]->prefix, n) == 0 &&
            (req->path[n] == '/' || req->path[n] == '\0') && (best == NULL || n > best_len)) {
            best = dialects[i];
            best_len = n;
        }
    }
    *sub = req->path + best_len;
    return best;
}

/* Matches path against pattern, capturing {} segments into req->param. A pattern
 * ending in '/' also matches the path without it ("/api/v1/" and "/api/v1"). */
static bool
match(const char *pattern, const char *path, struct req *req)
{
    int n_param = 0;

    while (*pattern != '\0' && *path != '\0') {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t seg = strcspn(path, "/");
            if (seg == 0 || n_param >= 2)
                return false;
            if (seg < sizeof req->param[0]) {
                memcpy(req->param[n_param], path, seg);
                req->param[n_param][seg] = '\0';
            } else {
                req->param[n_param][0] = '\0';
            }
            n_param++;
            path += seg;
            pattern += 2;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    if (*pattern == '/' && pattern[1] == '\0' && *path == '\0')
        return true;
    return *pattern == '\0' && *path == '\0';
}

void
api_http_problem(struct req *req, int status, const char *code, const char *detail)
{
    const char *sub;
    const struct api_dialect *d = resolve(req, &sub);

    if (d != NULL && d->http_error != NULL)
        d->http_error(req, status, code, detail);
    else
        problem_send(req, status, code, detail, NULL, NULL);
}

enum req_result
api_dispatch(struct req *req)
{
    char allow[64] = "", detail[160];
    size_t used = 0;
    const char *sub = req->path;
    const struct api_dialect *d = resolve(req, &sub);

    req->dialect = d;
    if (d == NULL) {
        snprintf(detail, sizeof detail, "no route for %s %s", req->method, req->path);
        api_http_problem(req, 404, "route_not_found", detail);
        return REQ_DONE;
    }
    if (strcmp(req->method, "OPTIONS") == 0 && d->preflight != NULL)
        return d->preflight(req);
    /* a listener of one API still answers the health checks, at the same paths */
    if (req->listener_dialect != NULL && d != &api_dialect_v1 &&
        (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0)) {
        for (const struct api_route *r = api_dialect_v1.routes; r->method != NULL; r++)
            if (strcmp(r->pattern, req->path) == 0 && strcmp(r->method, req->method) == 0)
                return r->fn(req);
    }
    if (sub[0] == '\0')
        sub = "/";
    for (const struct api_route *r = d->routes; r->method != NULL; r++) {
        if (!match(r->pattern, sub, req))
            continue;
        if (strcmp(r->method, req->method) == 0) {
            req->route = r->pattern;
            return r->fn(req);
        }
        if (strstr(allow, r->method) == NULL)
            used += (size_t)snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
                                     r->method);
    }
    if (used > 0) {
        snprintf(detail, sizeof detail, "%s is not allowed here; use %s", req->method, allow);
        api_http_problem(req, 405, "method_not_allowed", detail);
        resp_header(&req->resp, "Allow", allow);
    } else {
        snprintf(detail, sizeof detail, "no route for %s %s", req->method, req->path);
        api_http_problem(req, 404, "route_not_found", detail);
    }
    return REQ_DONE;
}

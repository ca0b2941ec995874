/* SPDX-License-Identifier: MIT */
/*
 * router.c -- the route table and its matcher. A path that matches some route's
 * pattern but not its method gets 405 with Allow; no match at all gets 404. OPTIONS
 * under /v1/ is the CORS preflight.
 */
#include "api/api.h"

#include "core/problem.h"

#include <stdio.h>
#include <string.h>

static const struct api_route *const tables[] = {api_v1_routes};

/* Matches path against pattern, capturing {} segments into req->param. */
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
    return *pattern == '\0' && *path == '\0';
}

void
api_http_problem(struct req *req, int status, const char *code, const char *detail)
{
    problem_send(req, status, code, detail, NULL, NULL);
}

enum req_result
api_dispatch(struct req *req)
{
    char allow[64] = "";
    size_t used = 0;

    if (strcmp(req->method, "OPTIONS") == 0 && strncmp(req->path, "/v1/", 4) == 0)
        return api_v1_preflight(req);
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (const struct api_route *r = tables[t]; r->method != NULL; r++) {
            if (!match(r->pattern, req->path, req))
                continue;
            if (strcmp(r->method, req->method) == 0) {
                req->route = r->pattern;
                return r->fn(req);
            }
            if (strstr(allow, r->method) == NULL)
                used += (size_t)snprintf(allow + used, sizeof allow - used, "%s%s",
                                         used ? ", " : "", r->method);
        }
    }
    if (used > 0) {
        problem_sendf(req, 405, "method_not_allowed", "%s is not allowed here; use %s", req->method,
                      allow);
        resp_header(&req->resp, "Allow", allow);
    } else {
        problem_sendf(req, 404, "route_not_found", "no route for %s %s", req->method, req->path);
    }
    return REQ_DONE;
}

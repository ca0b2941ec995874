/* SPDX-License-Identifier: MIT */
/*
 * api.h -- the API layer's entry point: route a request to its handler. The http layer
 * calls api_dispatch once the whole body has arrived; every dialect registers its
 * routes in router.c's table. Handlers answer through req->resp (REQ_DONE) or suspend
 * the request (REQ_PENDING).
 */
#ifndef ORDERD_API_H
#define ORDERD_API_H

#include "core/req.h"

typedef enum req_result (*api_handler)(struct req *req);

struct api_route {
    const char *method;
    const char *pattern; /* "/v1/orders/{}": {} matches one path segment */
    api_handler fn;
};

enum req_result api_dispatch(struct req *req);

/* /v1 (api/v1.c) */
extern const struct api_route api_v1_routes[];
enum req_result api_v1_preflight(struct req *req);

/* Answers an HTTP-level problem (413, 431, 415...) in the /v1 format. */
void api_http_problem(struct req *req, int status, const char *code, const char *detail);

#endif

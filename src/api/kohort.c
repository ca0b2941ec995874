/* SPDX-License-Identifier: MIT */
/*
 * kohort.c -- the Kohort API, wire-compatible (../shared/dialects/kohort.md,
 * docs/dialects/kohort.md). Mounted at /kohort on the main listener and alone on
 * --dialect-listen kohort=ADDR:PORT. Not implemented yet: every path answers 404.
 */
#include "api/api.h"

#include <stddef.h>

static const struct api_route routes[] = {
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_kohort = {
    .name = "kohort",
    .prefix = "/kohort",
    .routes = routes,
    .http_error = NULL,
    .preflight = NULL,
};

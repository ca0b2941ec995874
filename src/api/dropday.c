/* SPDX-License-Identifier: MIT */
/*
 * dropday.c -- the Dropday API, wire-compatible (../shared/dialects/dropday.md,
 * docs/dialects/dropday.md). Mounted at /dropday on the main listener and alone on
 * --dialect-listen dropday=ADDR:PORT. Not implemented yet: every path answers 404.
 */
#include "api/api.h"

#include <stddef.h>

static const struct api_route routes[] = {
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_dropday = {
    .name = "dropday",
    .prefix = "/dropday",
    .routes = routes,
    .http_error = NULL,
    .preflight = NULL,
};

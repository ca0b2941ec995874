/* SPDX-License-Identifier: MIT */
/*
 * threekit.c -- the Threekit API, wire-compatible (../shared/dialects/threekit.md,
 * docs/dialects/threekit.md). Mounted at /threekit on the main listener and alone on
 * --dialect-listen threekit=ADDR:PORT. Not implemented yet: every path answers 404.
 */
#include "api/api.h"

#include <stddef.h>

static const struct api_route routes[] = {
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_threekit = {
    .name = "threekit",
    .prefix = "/threekit",
    .routes = routes,
    .http_error = NULL,
    .preflight = NULL,
};

/* SPDX-License-Identifier: MIT */
/*
 * cherry.c -- the Cherry Checkout API, wire-compatible (../shared/dialects/cherry-checkout.md,
 * docs/dialects/cherry.md). Mounted at /cherry on the main listener and alone on
 * --dialect-listen cherry=ADDR:PORT. Not implemented yet: every path answers 404.
 */
#include "api/api.h"

#include <stddef.h>

static const struct api_route routes[] = {
    {NULL, NULL, NULL},
};

const struct api_dialect api_dialect_cherry = {
    .name = "cherry",
    .prefix = "/cherry",
    .routes = routes,
    .http_error = NULL,
    .preflight = NULL,
};

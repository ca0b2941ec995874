/* SPDX-License-Identifier: MIT */
/*
 * fuzz_threekit.c -- libFuzzer target: a Threekit request body through the real
 * handlers (api/threekit.c): create (body -> order), update, cart additions
 * (…/items, …/cart) and cart replacement, on the seeded orders (a "New" one and an
 * "In Cart" one, by shortId or id). The first byte picks the route, the token kind
 * (private, or public with an allowed Origin or none), the org, the listener and an
 * Idempotency-Key; the rest is the body.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        const char *method, *path;
    } routes[] = {
        {"POST", "/api/orders"},
        {"PUT", "/api/orders/{tk}"},
        {"PUT", "/api/orders/{tk_cart}"},
        {"POST", "/api/orders/{tk}/items"},
        {"POST", "/api/orders/{tk_cart}/cart"},
        {"PUT", "/api/orders/{tk_cart}/cart"},
        {"PUT", "/api/orders/{tk_id}"},
        {"POST", "/api/orders/{tk_cart}/items"},
    };
    static const char *const origins[] = {"https://shop.example.com", "http://localhost:3000"};
    struct fz_request r = {0};
    char path[64];
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    r.method = routes[sel & 7].method;
    r.auth = (sel & 8) ? FZ_AUTH_BEARER_PK : FZ_AUTH_BEARER_SK;
    r.org = (sel >> 4) & 1;
    if (sel & 0x20)
        fz_header(&r, "Origin", origins[r.org]);
    r.listener = (sel & 0x40) ? "threekit" : NULL;
    snprintf(path, sizeof path, "%s%s", r.listener ? "" : "/threekit", routes[sel & 7].path);
    r.path = path;
    if (sel & 0x80)
        fz_header(&r, "Idempotency-Key", "fz-idem-1");
    fz_header(&r, "Content-Type", "application/json");
    r.body = (const char *)data + 1;
    r.body_len = size - 1;
    fz_run(&r);
    return 0;
}

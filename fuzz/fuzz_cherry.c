/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cherry.c -- libFuzzer target: a Cherry Checkout request body through the real
 * handlers (api/cherry.c), correctly signed: POST /v2/orders (body -> order), PUT
 * /v2/orders/{trackId} (the update body, applied to the seeded order) and PUT
 * /v2/app/me (plugin information). The first byte chooses the route and the variants
 * (org, Accept-Language, listener, Content-Type, Idempotency-Key); the rest is the body.
 * For the route with a fuzzed trackId, the first line of the rest is the trackId.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const langs[] = {"en-US,en;q=0.9", "fr-CH, fr;q=0.9, en;q=0.8"};
    struct fz_request r = {.auth = FZ_AUTH_CHERRY};
    uint8_t sel;
    char *track = NULL, path[512], full[520];

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    switch (sel & 3) {
    case 0:
        r.method = "POST";
        snprintf(path, sizeof path, "/v2/orders");
        break;
    case 1:
        r.method = "PUT";
        snprintf(path, sizeof path, "/v2/orders/{cherry}");
        break;
    case 2:
        r.method = "PUT";
        snprintf(path, sizeof path, "/v2/app/me");
        break;
    default:
        r.method = "PUT";
        track = fz_line(&data, &size);
        snprintf(path, sizeof path, "/v2/orders/%s", track);
        break;
    }
    r.org = (sel >> 2) & 1;
    fz_header(&r, "Accept-Language", langs[(sel >> 3) & 1]);
    snprintf(full, sizeof full, "/cherry%s", path);
    r.listener = sel & 0x10 ? "cherry" : NULL;
    r.path = sel & 0x10 ? path : full;
    if (sel & 0x20)
        fz_header(&r, "Content-Type", sel & 0x40 ? "text/plain" : "application/json");
    if (sel & 0x80)
        fz_header(&r, "Idempotency-Key", "fz-idem-1");
    r.body = (const char *)data;
    r.body_len = size;
    fz_run(&r);
    free(track);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dropday.c -- libFuzzer target: a Dropday JSON request body through the real
 * handler (api/dropday.c): POST /api/v1/orders/ (the Laravel-style field checks, money
 * in the org's currency, countries by name, products -> line items, the canonical
 * validation and the 422 body). The first byte picks the Content-Type, the org (B
 * counts in JPY), the listener and the key mode; the rest is the body.
 */
#include "harness.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"application/json", NULL, "application/json; charset=utf-8",
                                        "text/plain"};
    struct fz_request r = {.method = "POST", .auth = FZ_AUTH_DROPDAY};
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    if (types[sel & 3] != NULL)
        fz_header(&r, "Content-Type", types[sel & 3]);
    r.org = (sel >> 2) & 1;
    r.listener = (sel & 8) ? "dropday" : NULL;
    r.path = (sel & 8) ? "/api/v1/orders/" : "/dropday/api/v1/orders";
    r.live = (sel >> 4) & 1;
    r.body = (const char *)data + 1;
    r.body_len = size - 1;
    fz_run(&r);
    return 0;
}

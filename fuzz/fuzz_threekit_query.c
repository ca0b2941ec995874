/* SPDX-License-Identifier: MIT */
/*
 * fuzz_threekit_query.c -- libFuzzer target: Threekit query strings through the real
 * handlers (api/threekit.c): the list (the `platform` JSON filter, shortId, originOrgId,
 * page, perPage, sort), one order, and the CORS preflight, with the token in the
 * Authorization header or in ?bearer_token= (write {pk} or {sk} for the org's keys) and
 * ?orgId=. The first byte picks the route, how the token is sent, the org and the
 * listener; the rest (up to a newline) is the query string as MHD decodes it, "k=v&…".
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        const char *method, *path;
    } routes[] = {
        {"GET", "/api/orders"},
        {"GET", "/api/orders/{tk}"},
        {"OPTIONS", "/api/orders"},
        {"GET", "/api/orders/{tk_cart}"},
    };
    static const char *const origins[] = {"https://shop.example.com", "http://localhost:3000"};
    struct fz_request r = {0};
    char path[64], *query;
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    r.method = routes[sel & 3].method;
    switch ((sel >> 2) & 3) {
    case 0:
        r.auth = FZ_AUTH_BEARER_SK;
        break;
    case 1:
        r.auth = FZ_AUTH_BEARER_PK;
        break;
    default:
        r.auth = FZ_AUTH_NONE;
        break;
    }
    r.org = (sel >> 4) & 1;
    if ((sel & 0x40) || r.method[0] == 'O')
        fz_header(&r, "Origin", origins[r.org]);
    r.listener = (sel & 0x20) ? "threekit" : NULL;
    snprintf(path, sizeof path, "%s%s", r.listener ? "" : "/threekit", routes[sel & 3].path);
    r.path = path;
    query = fz_line(&data, &size);
    r.query = query;
    fz_run(&r);
    free(query);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_kohort.c -- libFuzzer target: Kohort requests through the real handlers
 * (api/kohort.c): order, payment group and customer bodies (camelCase or snake_case
 * members; org B answers in snake_case), group and customer updates, payouts, the group
 * actions, and the list query strings (take, skip, orderBy, search conditions,
 * expand[]). The first byte picks the route, the org, the credentials (Bearer or Basic
 * secret key, or the publishable key) and the listener. For the GET routes the first
 * line of the rest is the query string ("k=v&…"); otherwise the rest is the JSON body.
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
        {"POST", "/orders"},
        {"POST", "/payment-groups"},
        {"POST", "/groups"},
        {"PATCH", "/payment-groups/{pg}"},
        {"POST", "/customers"},
        {"PATCH", "/customers/{cus}"},
        {"POST", "/orders/{ko}/payout"},
        {"POST", "/payment-groups/{pg}/validate"},
        {"POST", "/payment-groups/{pg}/cancel"},
        {"POST", "/groups/{pg}/expire"},
        {"PATCH", "/customers/{cus}/block"},
        {"DELETE", "/customers/{cus}"},
        {"GET", "/orders"},
        {"GET", "/payment-groups"},
        {"GET", "/customers"},
        {"GET", "/orders/{ko}"},
    };
    struct fz_request r = {0};
    char path[64], *query = NULL;
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    r.method = routes[sel & 15].method;
    r.org = (sel >> 4) & 1;
    r.auth = (sel & 0x40) ? FZ_AUTH_BEARER_PK : (sel & 0x20) ? FZ_AUTH_BASIC_SK : FZ_AUTH_BEARER_SK;
    r.listener = (sel & 0x80) ? "kohort" : NULL;
    snprintf(path, sizeof path, "%s%s", r.listener ? "" : "/kohort", routes[sel & 15].path);
    r.path = path;
    if (r.method[0] == 'G') {
        query = fz_line(&data, &size);
        r.query = query;
    } else {
        fz_header(&r, "Content-Type", "application/json");
        r.body = (const char *)data;
        r.body_len = size;
    }
    fz_run(&r);
    free(query);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cherry_auth.c -- libFuzzer target: the Cherry Checkout request signature, the
 * `authorization: <publicKey>:<token>` and `timestamp: <ts>` headers (api/cherry.c
 * cherry_auth, core/cherry_rules.c cherry_token), with Accept-Language
 * (cherry_lang_fr). The first byte picks the mode, the route, the org and the key mode:
 *   mode 0: line 1 is the authorization header, line 2 the timestamp, as sent;
 *   mode 1: line 2 is the timestamp, the header is the org's key with a valid token
 *           for it (so the timestamp rules run: digits, length, future, replay, age);
 *   mode 2: line 1 is the public key part, the token is computed for it with the org's
 *           secret key (unknown, revoked, secret or other-mode keys);
 *   mode 3: as mode 0 without a timestamp header when line 2 is empty.
 * Line 3 is Accept-Language; the rest is the body.
 */
#include "harness.h"

#include "core/cherry_rules.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PUT"};
    static const char *const paths[] = {"/cherry/v2/app/me", "/cherry/v2/orders",
                                        "/cherry/v2/app/me", "/cherry/v2/orders/{cherry}"};
    struct fz_request r = {0};
    char *l1, *l2, *l3, *pk, *sk, token[CHERRY_TOKEN_LEN], authz[512];
    int mode, route;
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    mode = sel & 3;
    route = (sel >> 2) & 3;
    r.org = (sel >> 4) & 1;
    r.method = methods[route];
    r.path = paths[route];
    l1 = fz_line(&data, &size);
    l2 = fz_line(&data, &size);
    l3 = fz_line(&data, &size);
    pk = fz_expand((sel & 0x20) ? "{pk_live}" : "{pk}", (sel & 0x20) ? 9 : 4, r.org, NULL);
    sk = fz_expand((sel & 0x20) ? "{sk_live}" : "{sk}", (sel & 0x20) ? 9 : 4, r.org, NULL);
    if (mode == 1 || mode == 2) {
        const char *key = mode == 1 ? pk : l1;
        if (cherry_token(key, sk, strlen(sk), l2, token) != 0)
            snprintf(token, sizeof token, "x");
        snprintf(authz, sizeof authz, "%s:%s", key, token);
        fz_header(&r, "authorization", authz);
    } else {
        fz_header(&r, "authorization", l1);
    }
    if (mode != 3 || l2[0] != '\0')
        fz_header(&r, "timestamp", l2);
    fz_header(&r, "Accept-Language", l3);
    r.body = (const char *)data;
    r.body_len = size;
    fz_run(&r);
    free(pk);
    free(sk);
    free(l1);
    free(l2);
    free(l3);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_v1_order.c -- libFuzzer target: an untrusted /v1 body through the strict JSON
 * parser and order validation, then (when valid) identity and rendering, PATCH
 * validation, and the stored body parsed back. Invariants: no crash, no leak, a valid
 * order renders to JSON that parses again.
 */
#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/order.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct jsonx_error err;
    struct problems p;
    struct jsonx *in, *canon = NULL, *back;
    struct order_row row;

    if (!ready) {
        assert(crypto_init() == 0);
        ready = 1;
    }
    in = jsonx_parse((const char *)data, size, LIMIT_JSON_DEPTH, &err);
    if (in == NULL || jsonx_type(in) != JX_OBJECT) {
        jsonx_free(in);
        return 0;
    }
    memset(&p, 0, sizeof p);
    (void)order_validate_patch(in, &p);
    memset(&p, 0, sizeof p);
    if (order_validate_create(in, &p, &canon, &row) == 0) {
        assert(order_finalize_new(canon, &row, "org_fuzz", MODE_TEST, "v1", 1700000000000) == 0);
        back = jsonx_parse(row.body, row.body_len, 64, &err);
        assert(back != NULL);
        jsonx_free(back);
        order_row_free(&row);
        jsonx_free(canon);
    } else {
        assert(p.n > 0);
    }
    jsonx_free(in);
    return 0;
}

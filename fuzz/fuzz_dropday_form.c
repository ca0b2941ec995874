/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dropday_form.c -- libFuzzer target: a Dropday create body sent as an HTML form
 * (what the Magento plugin sends: products[0][name]=...), from the decoded fields on:
 * the PHP bracket-key parser and the list/object rebuilding (api/dropday.c form_one,
 * form_segments, form_listify), then the same field checks and mapping as a JSON body.
 * MHD's post processor decodes the body in the server; here each input line "key=value"
 * is one decoded field, in order. The first byte picks the Content-Type (urlencoded or
 * multipart), the org and the listener.
 */
#include "harness.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_request r = {.method = "POST", .auth = FZ_AUTH_DROPDAY, .form = true};
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    fz_header(&r, "Content-Type",
              (sel & 1) ? "multipart/form-data; boundary=fz" : "application/x-www-form-urlencoded");
    r.org = (sel >> 1) & 1;
    r.listener = (sel & 4) ? "dropday" : NULL;
    r.path = (sel & 4) ? "/api/v1/orders" : "/dropday/api/v1/orders/";
    r.body = (const char *)data + 1;
    r.body_len = size - 1;
    fz_run(&r);
    return 0;
}

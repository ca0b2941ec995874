/* SPDX-License-Identifier: MIT */
/*
 * fuzz_route.c -- libFuzzer target: an arbitrary request through the router
 * (api/router.c: prefix and listener resolution, pattern matching, 404/405 in each
 * API's format) and on into whatever handler it reaches, with its query string and
 * headers. The first byte picks the credentials fz_run adds (none, Bearer sk/pk,
 * Dropday headers, a Cherry signature, Basic, the dashboard's session cookie), the
 * listener (main or one dialect's), the
 * org and the key mode. Then one line "METHOD PATH[?QUERY]", header lines "Name: value"
 * up to an empty line, and the body.
 */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const listeners[] = {NULL, "cherry", "dropday", "threekit", "kohort", "v1"};
    struct fz_request r = {0};
    char *line, *sp, *q, *hdr[FZ_MAX_HEADERS];
    int n_hdr = 0;
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    r.auth = (enum fz_auth)((sel & 7) % FZ_AUTH_COUNT);
    r.listener = listeners[((sel >> 3) & 7) % 6];
    r.org = (sel >> 6) & 1;
    r.live = (sel >> 7) & 1;
    line = fz_line(&data, &size);
    sp = strchr(line, ' ');
    if (sp != NULL)
        *sp = '\0';
    r.method = line;
    r.path = sp != NULL ? sp + 1 : "/";
    q = sp != NULL ? strchr(sp + 1, '?') : NULL;
    if (q != NULL) {
        *q = '\0';
        r.query = q + 1;
    }
    while (size > 0 && n_hdr < FZ_MAX_HEADERS) {
        char *h = fz_line(&data, &size), *colon = strchr(h, ':');
        if (h[0] == '\0') {
            free(h);
            break;
        }
        hdr[n_hdr++] = h;
        if (colon != NULL) {
            *colon = '\0';
            for (colon++; *colon == ' '; colon++)
                ;
        }
        fz_header(&r, h, colon != NULL ? colon : "");
    }
    r.body = (const char *)data;
    r.body_len = size;
    fz_run(&r);
    for (int i = 0; i < n_hdr; i++)
        free(hdr[i]);
    free(line);
    return 0;
}

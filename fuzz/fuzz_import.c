/* SPDX-License-Identifier: MIT */
/*
 * fuzz_import.c -- libFuzzer target: `orderd import` input, NDJSON lines of orders in
 * the /v1 create format or the export format (core/orderio.c: parsing, the export
 * format's kept fields and dialect blocks, the existence check, validation, and the
 * create through svc_order_create), on the harness's scratch store: lines naming the
 * seeded orders are "existing", the others reach the write, which the harness refuses
 * (503). Invariants: every line gets exactly one report; a failure has a /v1 status
 * (not 500) and code. The first byte picks the org and the mode; the rest is the file.
 * The importer of each org and mode is made once and kept: after orderio_import_finish
 * nothing of an input is left in it.
 */
#include "harness.h"

#include "api/api.h"
#include "core/orderio.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
    long lines, reports;
};

static bool
dialect_known(const char *name)
{
    return api_dialect_find(name) != NULL;
}

static void
report(void *arg, const struct orderio_report *r)
{
    struct tally *t = arg;

    t->reports++;
    if (getenv("FZ_DEBUG") != NULL)
        fprintf(stderr, "fuzz: import line %ld: outcome %d status %d %s %s\n", r->line,
                (int)r->outcome, r->status, r->code ? r->code : "", r->detail);
    assert(r->line >= 1 && r->line <= t->lines);
    if (r->outcome == ORDERIO_FAILED) {
        if (r->status < 400 || r->status > 599 || r->status == 500 || r->code == NULL) {
            fprintf(stderr, "fuzz: import line %ld: status %d code %s: %s\n", r->line, r->status,
                    r->code ? r->code : "(none)", r->detail);
            abort();
        }
    } else {
        assert(r->order_id[0] != '\0');
    }
}

/* One importer per org and mode, kept across inputs (each holds a window of 1024
 * requests; every input ends with orderio_import_finish, so none is in flight). */
static struct orderio_import *importers[4];
static struct tally tally;

static void
importers_free(void)
{
    for (int i = 0; i < 4; i++)
        orderio_import_free(importers[i]);
}

static struct orderio_import *
importer(int i)
{
    static bool registered;
    struct orderio_opts o;

    if (importers[i] == NULL) {
        memset(&o, 0, sizeof o);
        o.app = fz_app();
        snprintf(o.org_id, sizeof o.org_id, "%s", fz_org_id(i & 1));
        o.mode = (i & 2) ? MODE_LIVE : MODE_TEST;
        snprintf(o.request_id, sizeof o.request_id, "req_fuzzimport0000000000");
        o.dialect_known = dialect_known;
        o.report = report;
        o.arg = &tally;
        if ((importers[i] = orderio_import_new(&o)) == NULL)
            abort();
        if (!registered) {
            atexit(importers_free);
            registered = true;
        }
    }
    return importers[i];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct orderio_import *im;
    const uint8_t *p, *end;

    if (size < 1)
        return 0;
    im = importer(data[0] & 3);
    tally.lines = tally.reports = 0;
    for (p = data + 1, end = data + size; p < end;) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        tally.lines++;
        orderio_import_line(im, tally.lines, (const char *)p, len);
        p += len + (nl != NULL);
    }
    orderio_import_finish(im);
    assert(tally.reports == tally.lines);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * cli_io.c -- `orderd export` and `orderd import` (cli_io.h). Export pages through the
 * store's order list (newest first, the order id as cursor, a page in memory at a time)
 * and writes each page with write(2), so that a full disk or a closed pipe is seen at
 * once. Import reads its input in large blocks, cuts lines (refusing any longer than the
 * API's body limit without buffering it), hands them to core/orderio.c, and reports:
 * bad lines on stderr with their number, a progress bar when stderr is a terminal, a
 * summary on stdout.
 */
#include "cli_io.h"

#include "api/api.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/orderio.h"
#include "core/svc.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT_PAGE     500          /* orders read (and held) at a time */
#define READ_CHUNK      (256 * 1024) /* input read size */
#define PROGRESS_EVERY  100000       /* µs between progress redraws */
#define PROGRESS_BAR    24           /* characters of the bar */
#define REPORT_MAX_TEXT 4096         /* one text report line */

/* ---- export ---- */

static int
write_all(int fd, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0 && ((w = write(fd, p, n)) > 0 || (w < 0 && errno == EINTR))) {
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    return n == 0 ? 0 : -1;
}

int
cli_export(struct app *app, const char *org_id, enum key_mode mode)
{
    struct store *s = app->store;
    struct order_query q;
    struct order_row *rows = NULL;
    char after[IDS_UUID_LEN] = "";
    unsigned long long count = 0;
    struct buf b = {0};
    struct stat st;
    bool more = true;
    size_t n = 0;
    int rc = 1;

    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error (EPIPE), reported */
    memset(&q, 0, sizeof q);
    snprintf(q.org_id, sizeof q.org_id, "%s", org_id);
    q.mode = mode;
    q.limit = EXPORT_PAGE;
    while (more) {
        q.starting_after = after[0] != '\0' ? after : NULL;
        if (s->ops->order_list(s, &q, &rows, &n, &more) != STORE_OK) {
            fprintf(stderr, "orderd: export: cannot read the orders (after %llu written)\n", count);
            goto out;
        }
        b.len = 0;
        for (size_t i = 0; i < n; i++) {
            buf_append(&b, rows[i].body, rows[i].body_len);
            buf_append(&b, "\n", 1);
        }
        if (n > 0)
            memcpy(after, rows[n - 1].id, sizeof after);
        order_rows_free(rows, n);
        if (b.failed) {
            fprintf(stderr, "orderd: export: out of memory\n");
            goto out;
        }
        if (write_all(STDOUT_FILENO, b.data, b.len) != 0) {
            fprintf(stderr, "orderd: export: cannot write the output (after %llu orders): %s\n",
                    count, strerror(errno));
            goto out;
        }
        count += n;
        more = more && n > 0;
    }
    /* a file is complete on disk when the command says so */
    if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && fsync(STDOUT_FILENO) != 0) {
        fprintf(stderr, "orderd: export: cannot write the output: %s\n", strerror(errno));
        goto out;
    }
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "orderd: exported %llu orders (%s mode)\n", count, ids_mode_name(mode));
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

/* ---- import: reading lines ---- */

struct reader {
    int fd;
    char *buf;
    size_t cap, pos, end;
    bool eof;
    unsigned long long consumed; /* bytes of the lines returned so far */
};

/* Reads more input after r->end. Returns 2 (go on) or -1 on a read error (errno). */
static int
reader_fill(struct reader *r)
{
    size_t room = r->cap - r->end;
    ssize_t got;

    do
        got = read(r->fd, r->buf + r->end, room < READ_CHUNK ? room : READ_CHUNK);
    while (got < 0 && errno == EINTR);
    if (got >= 0) {
        r->eof = got == 0;
        r->end += (size_t)got;
    }
    return got < 0 ? -1 : 2;
}

/* The next line, without its newline (nor a CR before it). Returns 1 with *line and *len,
 * or with *too_long set (and *len its length) for a line over the limit, which is
 * skipped without being held; 0 at the end; -1 on a read error (errno). */
static int
reader_next(struct reader *r, const char **line, size_t *len, bool *too_long)
{
    size_t skipped = 0;
    bool skipping = false;
    int rc = 2; /* not decided yet */

    while (rc == 2) {
        char *start = r->buf + r->pos;
        char *nl = memchr(start, '\n', r->end - r->pos);
        size_t n;

        if (nl != NULL || (r->eof && (r->pos < r->end || skipping))) {
            n = nl != NULL ? (size_t)(nl - start) : r->end - r->pos;
            r->pos += n + (nl != NULL);
            r->consumed += n + (nl != NULL);
            if (n > 0 && start[n - 1] == '\r')
                n--;
            *line = start;
            *len = skipped + n;
            *too_long = skipping || n > LIMIT_BODY_MAX;
            rc = 1;
        } else if (r->eof) {
            rc = 0;
        } else {
            if (r->end - r->pos > LIMIT_BODY_MAX + 1) { /* no newline in sight: too long */
                skipping = true;
                skipped += r->end - r->pos;
                r->consumed += r->end - r->pos;
                r->pos = r->end = 0;
            } else if (r->pos > 0) {
                memmove(r->buf, r->buf + r->pos, r->end - r->pos);
                r->end -= r->pos;
                r->pos = 0;
            }
            rc = reader_fill(r);
        }
    }
    return rc;
}

/* ---- import: reports ---- */

struct run {
    bool json, tty, drawn;
    unsigned long long lines, created, existing, failed;
    unsigned long long total; /* input size when known, else 0 */
    const struct reader *rd;
    int64_t started_us, drawn_us;
};

static void
progress_clear(struct run *run)
{
    if (run->drawn)
        fputs("\r\033[K", stderr);
    run->drawn = false;
}

static void
progress_draw(struct run *run, bool force)
{
    int64_t now = clock_mono_us();
    double secs = (double)(now - run->started_us) / 1e6, mb = (double)run->rd->consumed / 1e6;
    char bar[PROGRESS_BAR + 1];
    int fill;

    /* only on a terminal, at most every PROGRESS_EVERY */
    if (run->tty && (force || now - run->drawn_us >= PROGRESS_EVERY)) {
        run->drawn_us = now;
        fputs("\r\033[K", stderr);
        if (run->total > 0) {
            fill = (int)((double)run->rd->consumed * PROGRESS_BAR / (double)run->total);
            for (int i = 0; i < PROGRESS_BAR; i++)
                bar[i] = i < fill ? '#' : '.';
            bar[PROGRESS_BAR] = '\0';
            fprintf(stderr, "import [%s] %3d%% %.1f/%.1f MB, ", bar,
                    (int)(run->rd->consumed * 100 / run->total), mb, (double)run->total / 1e6);
        } else {
            fprintf(stderr, "import %.1f MB, ", mb);
        }
        fprintf(stderr, "%llu lines, %.0f lines/s, %llu failed", run->lines,
                secs > 0 ? (double)run->lines / secs : 0.0, run->failed);
        run->drawn = true;
    }
}

static void
report_failure(struct run *run, const struct orderio_report *r)
{
    struct buf b = {0};

    if (run->json) {
        struct jsonx *o = jsonx_object(), *errs = jsonx_array();
        jsonx_set_int(o, "line", r->line);
        jsonx_set_int(o, "status", r->status);
        jsonx_set_str(o, "code", r->code);
        jsonx_set_str(o, "detail", r->detail);
        for (int i = 0; r->fields != NULL && i < r->fields->n; i++) {
            struct jsonx *e = jsonx_object();
            jsonx_set_str(e, "field", r->fields->e[i].field);
            jsonx_set_str(e, "code", r->fields->e[i].code);
            jsonx_set_str(e, "message", r->fields->e[i].message);
            jsonx_append(errs, e);
        }
        jsonx_set(o, "errors", errs);
        jsonx_dump_buf(o, &b);
        jsonx_free(o);
    } else {
        buf_printf(&b, "orderd: line %ld: %s: %s", r->line, r->code, r->detail);
        for (int i = 0; r->fields != NULL && i < r->fields->n && b.len < REPORT_MAX_TEXT; i++)
            buf_printf(&b, "%s %s: %s (%s)", i ? ";" : ":", r->fields->e[i].field,
                       r->fields->e[i].message, r->fields->e[i].code);
    }
    progress_clear(run);
    if (buf_cstr(&b) != NULL)
        fprintf(stderr, "%s\n", b.data);
    buf_free(&b);
}

static void
on_report(void *arg, const struct orderio_report *r)
{
    struct run *run = arg;

    if (r->outcome == ORDERIO_CREATED) {
        run->created++;
    } else if (r->outcome == ORDERIO_EXISTING) {
        run->existing++;
    } else {
        run->failed++;
        report_failure(run, r);
    }
}

static bool
dialect_known(const char *name)
{
    return api_dialect_find(name) != NULL;
}

int
cli_import(struct app *app, const char *org_id, enum key_mode mode, const char *file, bool json)
{
    struct orderio_opts o;
    struct orderio_import *im = NULL;
    struct reader rd = {.fd = -1};
    struct run run = {.json = json};
    struct stat st;
    const char *line;
    size_t len;
    bool too_long;
    int got = 0, rc = 1;

    rd.fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
    if (rd.fd < 0) {
        fprintf(stderr, "orderd: import: cannot open %s: %s\n", file, strerror(errno));
        goto out;
    }
    if (fstat(rd.fd, &st) == 0 && S_ISREG(st.st_mode))
        run.total = (unsigned long long)st.st_size;
    rd.cap = LIMIT_BODY_MAX + 2 + READ_CHUNK;
    rd.buf = malloc(rd.cap);
    app->inflight = svc_inflight_new();
    memset(&o, 0, sizeof o);
    o.app = app;
    snprintf(o.org_id, sizeof o.org_id, "%s", org_id);
    o.mode = mode;
    ids_request(o.request_id);
    o.dialect_known = dialect_known;
    o.report = on_report;
    o.arg = &run;
    if (rd.buf == NULL || app->inflight == NULL || (im = orderio_import_new(&o)) == NULL) {
        fprintf(stderr, "orderd: import: out of memory\n");
        goto out;
    }
    run.tty = isatty(STDERR_FILENO) == 1;
    run.rd = &rd;
    run.started_us = clock_mono_us();
    while ((got = reader_next(&rd, &line, &len, &too_long)) == 1) {
        run.lines++;
        if (too_long)
            orderio_import_too_long(im, (long)run.lines, len);
        else
            orderio_import_line(im, (long)run.lines, line, len);
        progress_draw(&run, false);
    }
    if (got < 0)
        fprintf(stderr, "orderd: import: cannot read %s after line %llu: %s\n",
                strcmp(file, "-") == 0 ? "stdin" : file, run.lines, strerror(errno));
    orderio_import_finish(im);
    progress_draw(&run, true);
    progress_clear(&run);
    if (json)
        printf("{\"lines\":%llu,\"created\":%llu,\"existing\":%llu,\"failed\":%llu,"
               "\"request_id\":\"%s\"}\n",
               run.lines, run.created, run.existing, run.failed, o.request_id);
    else
        printf("created %llu, existing %llu, failed %llu\n", run.created, run.existing, run.failed);
    rc = got < 0 || run.failed > 0 || fflush(stdout) != 0 ? 1 : 0;
out:
    orderio_import_free(im);
    svc_inflight_free(app->inflight);
    app->inflight = NULL;
    free(rd.buf);
    if (rd.fd > STDERR_FILENO)
        close(rd.fd);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * store.c -- picks the backend from the URL and holds what every backend shares: row
 * freeing and the synchronous write helper used by the command line.
 */
#include "store/store.h"

#include "store/pg/store_pg.h"
#include "store/sqlite/store_sqlite.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store *
store_open(const char *url, char *err, size_t errlen)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return store_sqlite_open(url + 7, err, errlen);
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return store_pg_open(url, err, errlen);
    snprintf(err, errlen, "unknown database URL (want sqlite:PATH or postgres://…)");
    return NULL;
}

void
store_url_for_log(const char *url, char *out, size_t size)
{
    const char *auth = strstr(url, "://"), *end, *at, *colon, *pw;
    char tmp[1024];

    snprintf(out, size, "%s", url);
    if (strncmp(url, "postgres", 8) != 0 || auth == NULL)
        return;
    auth += 3;
    end = auth + strcspn(auth, "/?");
    at = memchr(auth, '@', (size_t)(end - auth));
    colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon != NULL)
        snprintf(out, size, "%.*s:***%s", (int)(colon - url), url, at);
    pw = strstr(out, "password=");
    if (pw != NULL) { /* a password given as a URI parameter */
        snprintf(tmp, sizeof tmp, "%.*s***%s", (int)(pw + 9 - out), out,
                 pw + 9 + strcspn(pw + 9, "&"));
        snprintf(out, size, "%s", tmp);
    }
}

void
store_close(struct store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void
wait_done(struct store_write *w)
{
    struct waiter *wt = w->arg;

    pthread_mutex_lock(&wt->lock);
    wt->done = true;
    pthread_cond_signal(&wt->cond);
    pthread_mutex_unlock(&wt->lock);
}

enum store_rc
store_write_wait(struct store *s, struct store_write *w)
{
    struct waiter wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};

    w->done = wait_done;
    w->arg = &wt;
    store_submit(s, w);
    pthread_mutex_lock(&wt.lock);
    while (!wt.done)
        pthread_cond_wait(&wt.cond, &wt.lock);
    pthread_mutex_unlock(&wt.lock);
    return w->rc;
}

void
org_rec_free(struct org_rec *r)
{
    free(r->name);
    free(r->settings);
    r->name = r->settings = NULL;
}

void
key_rec_free(struct key_rec *r)
{
    free(r->sealed);
    r->sealed = NULL;
}

void
order_row_free(struct order_row *r)
{
    free(r->external_id);
    free(r->customer_email);
    free(r->body);
    r->external_id = r->customer_email = r->body = NULL;
}

void
order_rows_free(struct order_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order_row_free(&rows[i]);
    free(rows);
}

void
event_row_free(struct event_row *r)
{
    free(r->data);
    r->data = NULL;
}

void
event_rows_free(struct event_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        event_row_free(&rows[i]);
    free(rows);
}

void
audit_rows_free(struct audit_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].detail);
    free(rows);
}

void
idem_row_free(struct idem_row *r)
{
    free(r->key);
    free(r->headers);
    free(r->body);
    r->key = r->headers = r->body = NULL;
}

static int
dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst == NULL ? -1 : 0;
}

int
order_row_copy(struct order_row *dst, const struct order_row *src)
{
    *dst = *src;
    dst->external_id = dst->customer_email = dst->body = NULL;
    if (dup_opt(&dst->external_id, src->external_id) != 0 ||
        dup_opt(&dst->customer_email, src->customer_email) != 0 ||
        dup_opt(&dst->body, src->body) != 0) {
        order_row_free(dst);
        return -1;
    }
    return 0;
}

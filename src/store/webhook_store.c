/* SPDX-License-Identifier: MIT */
/*
 * webhook_store.c -- sends each call of store/webhook_store.h to the backend of the
 * connection it is given (store/sqlite/webhooks.c or store/pg/webhooks.c); the row
 * freeing and the worker wake-up both share.
 */
#include "store/webhook_store.h"

#include "store/pg/store_pg_api.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_int.h"

#include <stdatomic.h>
#include <stdlib.h>

static void (*_Atomic notify_fn)(void);

void
wh_store_set_notify(void (*fn)(void))
{
    atomic_store(&notify_fn, fn);
}

void
wh_store_notify(void)
{
    void (*fn)(void) = atomic_load(&notify_fn);

    if (fn != NULL)
        fn();
}

enum store_rc
wh_endpoint_insert(struct store_conn *c, const struct wh_endpoint *e)
{
    if (store_conn_is_pg(c))
        return wh_pg_endpoint_insert(c, e);
    return wh_sqlite_endpoint_insert(c, e);
}

enum store_rc
wh_endpoint_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                struct wh_endpoint *out)
{
    if (store_conn_is_pg(c))
        return wh_pg_endpoint_get(c, org_id, mode, id, out);
    return wh_sqlite_endpoint_get(c, org_id, mode, id, out);
}

enum store_rc
wh_endpoint_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                 struct wh_endpoint **rows, size_t *n)
{
    if (store_conn_is_pg(c))
        return wh_pg_endpoint_list(c, org_id, mode, rows, n);
    return wh_sqlite_endpoint_list(c, org_id, mode, rows, n);
}

enum store_rc
wh_endpoint_count(struct store_conn *c, const char *org_id, enum key_mode mode, int *n)
{
    if (store_conn_is_pg(c))
        return wh_pg_endpoint_count(c, org_id, mode, n);
    return wh_sqlite_endpoint_count(c, org_id, mode, n);
}

enum store_rc
wh_backlog(struct store_conn *c, int64_t *pending, int64_t *retrying)
{
    if (store_conn_is_pg(c))
        return wh_pg_backlog(c, pending, retrying);
    return wh_sqlite_backlog(c, pending, retrying);
}

enum store_rc
wh_endpoint_update(struct store_conn *c, const struct wh_endpoint *e, bool reenable, bool disable,
                   const char *reason)
{
    if (store_conn_is_pg(c))
        return wh_pg_endpoint_update(c, e, reenable, disable, reason);
    return wh_sqlite_endpoint_update(c, e, reenable, disable, reason);
}

enum store_rc
wh_endpoint_delete(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id)
{
    if (store_conn_is_pg(c))
        return wh_pg_endpoint_delete(c, org_id, mode, id);
    return wh_sqlite_endpoint_delete(c, org_id, mode, id);
}

enum store_rc
wh_event_insert(struct store_conn *c, const struct event_row *e)
{
    if (store_conn_is_pg(c))
        return wh_pg_event_insert(c, e);
    return wh_sqlite_event_insert(c, e);
}

enum store_rc
wh_claim(struct store_conn *c, int64_t now, int64_t lease_until, const char *owner, int limit,
         struct wh_job **jobs, size_t *n, int64_t *next_due)
{
    if (store_conn_is_pg(c))
        return wh_pg_claim(c, now, lease_until, owner, limit, jobs, n, next_due);
    return wh_sqlite_claim(c, now, lease_until, owner, limit, jobs, n, next_due);
}

enum store_rc
wh_record(struct store_conn *c, const struct wh_result *r, bool *recorded, int *failures,
          int64_t *failing_since)
{
    if (store_conn_is_pg(c))
        return wh_pg_record(c, r, recorded, failures, failing_since);
    return wh_sqlite_record(c, r, recorded, failures, failing_since);
}

enum store_rc
wh_release(struct store_conn *c, const char *owner)
{
    if (store_conn_is_pg(c))
        return wh_pg_release(c, owner);
    return wh_sqlite_release(c, owner);
}

enum store_rc
wh_delivery_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                 const char *endpoint_id, const char *starting_after, const char *ending_before,
                 int limit, struct wh_delivery **rows, size_t *n, bool *has_more)
{
    if (store_conn_is_pg(c))
        return wh_pg_delivery_list(c, org_id, mode, endpoint_id, starting_after, ending_before,
                                   limit, rows, n, has_more);
    return wh_sqlite_delivery_list(c, org_id, mode, endpoint_id, starting_after, ending_before,
                                   limit, rows, n, has_more);
}

enum store_rc
wh_delivery_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                const char *endpoint_id, const char *id, struct wh_delivery *out)
{
    if (store_conn_is_pg(c))
        return wh_pg_delivery_get(c, org_id, mode, endpoint_id, id, out);
    return wh_sqlite_delivery_get(c, org_id, mode, endpoint_id, id, out);
}

enum store_rc
wh_redeliver(struct store_conn *c, const char *org_id, enum key_mode mode, const char *endpoint_id,
             const char *id, const char *new_id, int64_t now)
{
    if (store_conn_is_pg(c))
        return wh_pg_redeliver(c, org_id, mode, endpoint_id, id, new_id, now);
    return wh_sqlite_redeliver(c, org_id, mode, endpoint_id, id, new_id, now);
}

void
wh_jobs_free(struct wh_job *jobs, size_t n)
{
    for (size_t i = 0; jobs != NULL && i < n; i++) {
        free(jobs[i].url);
        free(jobs[i].secret_sealed);
        free(jobs[i].data);
    }
    free(jobs);
}

void
wh_endpoint_free(struct wh_endpoint *e)
{
    free(e->url);
    free(e->description);
    free(e->secret_sealed);
    e->url = e->description = NULL;
    e->secret_sealed = NULL;
}

void
wh_endpoints_free(struct wh_endpoint *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        wh_endpoint_free(&rows[i]);
    free(rows);
}

void
wh_delivery_free(struct wh_delivery *d)
{
    free(d->last_error);
    free(d->log);
    d->last_error = d->log = NULL;
}

void
wh_deliveries_free(struct wh_delivery *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        wh_delivery_free(&rows[i]);
    free(rows);
}

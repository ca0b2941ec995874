/* SPDX-License-Identifier: MIT */
/*
 * webhooks.c -- the PostgreSQL side of store/webhook_store.h: not written yet; every call
 * answers STORE_UNAVAILABLE (the API answers 503) with a log line.
 */
#include "store/pg/store_pg_api.h"

#include "core/log.h"

enum store_rc
wh_pg_endpoint_insert(struct store_conn *c, const struct wh_endpoint *e)
{
    (void)c;
    (void)e;
    log_error("store: the PostgreSQL store does not implement webhook yet (endpoint_insert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_endpoint_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                   struct wh_endpoint *out)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)id;
    (void)out;
    log_error("store: the PostgreSQL store does not implement webhook yet (endpoint_get)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_endpoint_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                    struct wh_endpoint **rows, size_t *n)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)rows;
    (void)n;
    log_error("store: the PostgreSQL store does not implement webhook yet (endpoint_list)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_endpoint_count(struct store_conn *c, const char *org_id, enum key_mode mode, int *n)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)n;
    log_error("store: the PostgreSQL store does not implement webhook yet (endpoint_count)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_endpoint_update(struct store_conn *c, const struct wh_endpoint *e, bool reenable,
                      bool disable, const char *reason)
{
    (void)c;
    (void)e;
    (void)reenable;
    (void)disable;
    (void)reason;
    log_error("store: the PostgreSQL store does not implement webhook yet (endpoint_update)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_endpoint_delete(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)id;
    log_error("store: the PostgreSQL store does not implement webhook yet (endpoint_delete)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_event_insert(struct store_conn *c, const struct event_row *e)
{
    (void)c;
    (void)e;
    log_error("store: the PostgreSQL store does not implement webhook yet (event_insert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_claim(struct store_conn *c, int64_t now, int64_t lease_until, const char *owner, int limit,
            struct wh_job **jobs, size_t *n, int64_t *next_due)
{
    (void)c;
    (void)now;
    (void)lease_until;
    (void)owner;
    (void)limit;
    (void)jobs;
    (void)n;
    (void)next_due;
    log_error("store: the PostgreSQL store does not implement webhook yet (claim)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_record(struct store_conn *c, const struct wh_result *r, bool *recorded, int *failures,
             int64_t *failing_since)
{
    (void)c;
    (void)r;
    (void)recorded;
    (void)failures;
    (void)failing_since;
    log_error("store: the PostgreSQL store does not implement webhook yet (record)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_release(struct store_conn *c, const char *owner)
{
    (void)c;
    (void)owner;
    log_error("store: the PostgreSQL store does not implement webhook yet (release)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_delivery_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                    const char *endpoint_id, const char *starting_after, const char *ending_before,
                    int limit, struct wh_delivery **rows, size_t *n, bool *has_more)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)endpoint_id;
    (void)starting_after;
    (void)ending_before;
    (void)limit;
    (void)rows;
    (void)n;
    (void)has_more;
    log_error("store: the PostgreSQL store does not implement webhook yet (delivery_list)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_delivery_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                   const char *endpoint_id, const char *id, struct wh_delivery *out)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)endpoint_id;
    (void)id;
    (void)out;
    log_error("store: the PostgreSQL store does not implement webhook yet (delivery_get)");
    return STORE_UNAVAILABLE;
}

enum store_rc
wh_pg_redeliver(struct store_conn *c, const char *org_id, enum key_mode mode,
                const char *endpoint_id, const char *id, const char *new_id, int64_t now)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)endpoint_id;
    (void)id;
    (void)new_id;
    (void)now;
    log_error("store: the PostgreSQL store does not implement webhook yet (redeliver)");
    return STORE_UNAVAILABLE;
}

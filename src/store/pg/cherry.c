/* SPDX-License-Identifier: MIT */
/*
 * cherry.c -- the PostgreSQL side of store/cherry_store.h: not written yet; every call
 * answers STORE_UNAVAILABLE (the API answers 503) with a log line.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include "core/log.h"

const struct pg_migrations pg_migrations_cherry = {"cherry", NULL, 0};

enum store_rc
cherry_pg_seen_check(struct store *s, const struct cherry_seen *r, int window,
                     enum cherry_verdict *verdict)
{
    (void)s;
    (void)r;
    (void)window;
    (void)verdict;
    log_error("store: the PostgreSQL store does not implement cherry yet (seen_check)");
    return STORE_UNAVAILABLE;
}

enum store_rc
cherry_pg_seen_record(struct store_conn *c, const struct cherry_seen *r, int window,
                      enum cherry_verdict *verdict)
{
    (void)c;
    (void)r;
    (void)window;
    (void)verdict;
    log_error("store: the PostgreSQL store does not implement cherry yet (seen_record)");
    return STORE_UNAVAILABLE;
}

enum store_rc
cherry_pg_order_find(struct store *s, const char *org_id, enum key_mode mode, const char *track_id,
                     char id[IDS_UUID_LEN])
{
    (void)s;
    (void)org_id;
    (void)mode;
    (void)track_id;
    (void)id;
    log_error("store: the PostgreSQL store does not implement cherry yet (order_find)");
    return STORE_UNAVAILABLE;
}

enum store_rc
cherry_pg_app_get(struct store *s, const char *org_id, enum key_mode mode, char **info)
{
    (void)s;
    (void)org_id;
    (void)mode;
    (void)info;
    log_error("store: the PostgreSQL store does not implement cherry yet (app_get)");
    return STORE_UNAVAILABLE;
}

enum store_rc
cherry_pg_app_get_on(struct store_conn *c, const char *org_id, enum key_mode mode, char **info)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)info;
    log_error("store: the PostgreSQL store does not implement cherry yet (app_get_on)");
    return STORE_UNAVAILABLE;
}

enum store_rc
cherry_pg_app_put(struct store_conn *c, const char *org_id, enum key_mode mode, const char *info,
                  int64_t now_ms)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)info;
    (void)now_ms;
    log_error("store: the PostgreSQL store does not implement cherry yet (app_put)");
    return STORE_UNAVAILABLE;
}

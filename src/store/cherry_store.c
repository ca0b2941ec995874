/* SPDX-License-Identifier: MIT */
/*
 * cherry_store.c -- sends each call of store/cherry_store.h to the backend of the store
 * or connection it is given (store/sqlite/cherry.c or store/pg/cherry.c).
 */
#include "store/cherry_store.h"

#include "store/pg/store_pg_api.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_int.h"

enum store_rc
cherry_store_seen_check(struct store *s, const struct cherry_seen *r, int window,
                        enum cherry_verdict *verdict)
{
    if (store_pg_is(s))
        return cherry_pg_seen_check(s, r, window, verdict);
    return cherry_sqlite_seen_check(s, r, window, verdict);
}

enum store_rc
cherry_store_seen_record(struct store_conn *c, const struct cherry_seen *r, int window,
                         enum cherry_verdict *verdict)
{
    if (store_conn_is_pg(c))
        return cherry_pg_seen_record(c, r, window, verdict);
    return cherry_sqlite_seen_record(c, r, window, verdict);
}

enum store_rc
cherry_store_order_find(struct store *s, const char *org_id, enum key_mode mode,
                        const char *track_id, char id[IDS_UUID_LEN])
{
    if (store_pg_is(s))
        return cherry_pg_order_find(s, org_id, mode, track_id, id);
    return cherry_sqlite_order_find(s, org_id, mode, track_id, id);
}

enum store_rc
cherry_store_app_get(struct store *s, const char *org_id, enum key_mode mode, char **info)
{
    if (store_pg_is(s))
        return cherry_pg_app_get(s, org_id, mode, info);
    return cherry_sqlite_app_get(s, org_id, mode, info);
}

enum store_rc
cherry_store_app_get_on(struct store_conn *c, const char *org_id, enum key_mode mode, char **info)
{
    if (store_conn_is_pg(c))
        return cherry_pg_app_get_on(c, org_id, mode, info);
    return cherry_sqlite_app_get_on(c, org_id, mode, info);
}

enum store_rc
cherry_store_app_put(struct store_conn *c, const char *org_id, enum key_mode mode, const char *info,
                     int64_t now_ms)
{
    if (store_conn_is_pg(c))
        return cherry_pg_app_put(c, org_id, mode, info, now_ms);
    return cherry_sqlite_app_put(c, org_id, mode, info, now_ms);
}

/* SPDX-License-Identifier: MIT */
/*
 * dashboard_store.c -- sends each call of store/dashboard_store.h to the backend of the
 * connection it is given (store/sqlite/dashboard.c or store/pg/dashboard.c).
 */
#include "store/dashboard_store.h"

#include "store/pg/store_pg_api.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_int.h"

enum store_rc
dash_session_insert(struct store_conn *c, const struct dash_session *s)
{
    if (store_conn_is_pg(c))
        return dash_pg_session_insert(c, s);
    return dash_sqlite_session_insert(c, s);
}

enum store_rc
dash_session_get(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN], int64_t now,
                 struct dash_session *out)
{
    if (store_conn_is_pg(c))
        return dash_pg_session_get(c, token_hash, now, out);
    return dash_sqlite_session_get(c, token_hash, now, out);
}

enum store_rc
dash_session_touch(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN], int64_t seen_ms,
                   int64_t expires_ms)
{
    if (store_conn_is_pg(c))
        return dash_pg_session_touch(c, token_hash, seen_ms, expires_ms);
    return dash_sqlite_session_touch(c, token_hash, seen_ms, expires_ms);
}

enum store_rc
dash_session_delete(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN])
{
    if (store_conn_is_pg(c))
        return dash_pg_session_delete(c, token_hash);
    return dash_sqlite_session_delete(c, token_hash);
}

enum store_rc
dash_session_purge(struct store_conn *c, int64_t now)
{
    if (store_conn_is_pg(c))
        return dash_pg_session_purge(c, now);
    return dash_sqlite_session_purge(c, now);
}

enum store_rc
dash_order_list(struct store_conn *c, const struct dash_order_query *q, struct order_row **rows,
                size_t *n, bool *has_more)
{
    if (store_conn_is_pg(c))
        return dash_pg_order_list(c, q, rows, n, has_more);
    return dash_sqlite_order_list(c, q, rows, n, has_more);
}

enum store_rc
dash_stats(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t from, int64_t to,
           int64_t bucket_ms, struct dash_stat_row **rows, size_t *n)
{
    if (store_conn_is_pg(c))
        return dash_pg_stats(c, org_id, mode, from, to, bucket_ms, rows, n);
    return dash_sqlite_stats(c, org_id, mode, from, to, bucket_ms, rows, n);
}

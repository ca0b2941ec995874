/* SPDX-License-Identifier: MIT */
/*
 * dashboard.c -- the PostgreSQL side of store/dashboard_store.h: the sessions table, the
 * orders list with its filters and search, and the chart aggregates (from an index on
 * (org_id, mode, quarter hour, dialect, currency, status, total_amount), so they never
 * read the order bodies). Sessions are found by the hash of the cookie's token before the
 * org is known, like api_keys by the key hash: the key starts with org_id and an index
 * on the hash serves the lookup. The list's SQL is built from the filters given and run
 * unprepared: there are many shapes.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: sessions; indexes for the charts and the search by external id */
    "CREATE TABLE dashboard_sessions ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  token_hash BYTEA NOT NULL,"
    "  mode " PG_TEXT " NOT NULL CHECK (mode IN ('test','live')),"
    "  key_hash BYTEA NOT NULL,"
    "  other_key_hash BYTEA,"
    "  created_ms BIGINT NOT NULL,"
    "  seen_ms BIGINT NOT NULL,"
    "  expires_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (org_id, token_hash));"
    "CREATE INDEX dashboard_sessions_token ON dashboard_sessions (token_hash);"
    "CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_ms);"
    "CREATE INDEX dashboard_orders_quarter ON orders (org_id, mode, (created_ms / 900000), "
    "dialect, currency, status, total_amount, created_ms, id);"
    "CREATE INDEX dashboard_orders_external ON orders (org_id, mode, external_id);",
};

const struct pg_migrations pg_migrations_dashboard = {
    "dashboard", migrations, (int)(sizeof migrations / sizeof migrations[0])};

/* a key is valid while not revoked and not expired (as api_keys lookups require) */
#define KEY_VALID(col)                                                                             \
    "EXISTS (SELECT 1 FROM api_keys k WHERE k.hash = " col " AND k.revoked_ms IS NULL AND "        \
    "(k.expires_ms IS NULL OR k.expires_ms > $2::bigint))"

static const char sql_insert[] =
    "INSERT INTO dashboard_sessions (token_hash, org_id, mode, key_hash, other_key_hash, "
    "created_ms, seen_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char sql_get[] =
    "SELECT s.org_id, s.mode, s.key_hash, s.other_key_hash, s.created_ms, s.seen_ms, "
    "s.expires_ms, s.other_key_hash IS NOT NULL AND " KEY_VALID(
        "s.other_key_hash") " FROM dashboard_sessions s WHERE s.token_hash = $1 AND "
                            "s.expires_ms > $2::bigint AND " KEY_VALID("s.key_hash");
static const char sql_touch[] = "UPDATE dashboard_sessions SET seen_ms = $2, expires_ms = $3 "
                                "WHERE token_hash = $1 AND seen_ms < $2";
static const char sql_delete[] = "DELETE FROM dashboard_sessions WHERE token_hash = $1";
static const char sql_purge[] = "DELETE FROM dashboard_sessions WHERE expires_ms <= $1";
/* grouped by quarter hour along the index, then the quarter groups into the buckets */
static const char sql_stats[] =
    "SELECT (q * 900000 - $3::bigint) / $5::bigint AS b, dialect, currency, sum(n)::bigint, "
    "sum(rev)::bigint FROM (SELECT created_ms / 900000 AS q, dialect, currency, count(*) AS n, "
    "sum(CASE WHEN status <> 'canceled' THEN total_amount ELSE 0 END) AS rev FROM orders "
    "WHERE org_id = $1 AND mode = $2 AND created_ms / 900000 >= $3::bigint / 900000 AND "
    "created_ms / 900000 < $4::bigint / 900000 GROUP BY created_ms / 900000, dialect, "
    "currency) AS quarters GROUP BY b, dialect, currency ORDER BY b, dialect, currency";

static void
copy_hash(const PGresult *res, int i, uint8_t out[CRYPTO_HASH_LEN], bool *present)
{
    uint8_t *b = NULL;
    size_t len = 0;
    bool ok = pg_bytea(res, 0, i, &b, &len) == 0 && len == CRYPTO_HASH_LEN;

    if (ok)
        memcpy(out, b, CRYPTO_HASH_LEN);
    if (present != NULL)
        *present = ok;
    free(b);
}

enum store_rc
dash_pg_session_insert(struct store_conn *c, const struct dash_session *s)
{
    struct pg_params p = {0};

    pg_p_bytea(&p, s->token_hash, CRYPTO_HASH_LEN);
    pg_p_text(&p, s->org_id);
    pg_p_mode(&p, s->mode);
    pg_p_bytea(&p, s->key_hash, CRYPTO_HASH_LEN);
    pg_p_bytea(&p, s->has_other ? s->other_hash : NULL, CRYPTO_HASH_LEN);
    pg_p_int(&p, s->created_ms);
    pg_p_int(&p, s->seen_ms);
    pg_p_int(&p, s->expires_ms);
    return pg_exec(c, sql_insert, &p, NULL, "dashboard session insert");
}

enum store_rc
dash_pg_session_get(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN], int64_t now,
                    struct dash_session *out)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    memset(out, 0, sizeof *out);
    pg_p_bytea(&p, token_hash, CRYPTO_HASH_LEN);
    pg_p_int(&p, now);
    res = pg_query(c, sql_get, &p, &rc, "dashboard session get");
    if (res != NULL && PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else if (res != NULL) {
        memcpy(out->token_hash, token_hash, CRYPTO_HASH_LEN);
        pg_copy(res, 0, 0, out->org_id, sizeof out->org_id);
        out->mode = pg_mode_parse(PQgetvalue(res, 0, 1));
        copy_hash(res, 2, out->key_hash, NULL);
        copy_hash(res, 3, out->other_hash, &out->has_other);
        out->created_ms = pg_i64(res, 0, 4);
        out->seen_ms = pg_i64(res, 0, 5);
        out->expires_ms = pg_i64(res, 0, 6);
        out->other_ok = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
    }
    PQclear(res);
    return rc;
}

enum store_rc
dash_pg_session_touch(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN],
                      int64_t seen_ms, int64_t expires_ms)
{
    struct pg_params p = {0};

    pg_p_bytea(&p, token_hash, CRYPTO_HASH_LEN);
    pg_p_int(&p, seen_ms);
    pg_p_int(&p, expires_ms);
    return pg_exec(c, sql_touch, &p, NULL, "dashboard session touch");
}

enum store_rc
dash_pg_session_delete(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN])
{
    struct pg_params p = {0};

    pg_p_bytea(&p, token_hash, CRYPTO_HASH_LEN);
    return pg_exec(c, sql_delete, &p, NULL, "dashboard session delete");
}

enum store_rc
dash_pg_session_purge(struct store_conn *c, int64_t now)
{
    struct pg_params p = {0};

    pg_p_int(&p, now);
    return pg_exec(c, sql_purge, &p, NULL, "dashboard session purge");
}

/* ---- orders list ---- */

/* The order columns with an empty body: the list shows columns, not bodies. */
#define LIST_COLS                                                                                  \
    "org_id, mode, id, short_id, dialect, external_id, status, currency, total_amount, "           \
    "customer_email, version, created_ms, updated_ms, ''"

/* Appends " AND <clause>" with its parameter (the clause has one %d for its number). */
static void
add_text(struct buf *b, struct pg_params *p, const char *clause, const char *value)
{
    buf_puts(b, " AND ");
    buf_printf(b, clause, p->n + 1);
    pg_p_text(p, value);
}

static void
add_int(struct buf *b, struct pg_params *p, const char *clause, int64_t value)
{
    buf_puts(b, " AND ");
    buf_printf(b, clause, p->n + 1, p->n + 1);
    pg_p_int(p, value);
}

/* The list's SQL for the filters given, with its parameters in p. */
static char *
list_sql(const struct dash_order_query *q, bool asc, struct pg_params *p)
{
    struct buf b = {0};
    int q_param;

    buf_puts(&b, "SELECT " LIST_COLS " FROM orders WHERE org_id = $1 AND mode = $2");
    pg_p_text(p, q->org_id);
    pg_p_mode(p, q->mode);
    if (q->starting_after != NULL)
        add_text(&b, p, "id < $%d", q->starting_after);
    if (q->ending_before != NULL)
        add_text(&b, p, "id > $%d", q->ending_before);
    if (q->status != NULL)
        add_text(&b, p, "status = $%d", q->status);
    if (q->dialect != NULL)
        add_text(&b, p, "dialect = $%d", q->dialect);
    if (q->has_gte)
        add_int(&b, p, "created_ms / 900000 >= $%d::bigint / 900000 AND created_ms >= $%d::bigint",
                q->created_gte);
    if (q->has_lte)
        add_int(&b, p, "created_ms / 900000 <= $%d::bigint / 900000 AND created_ms <= $%d::bigint",
                q->created_lte);
    if (q->search != NULL) {
        q_param = p->n + 1;
        pg_p_text(p, q->search);
        pg_p_text(p, q->search_email);
        buf_printf(&b,
                   " AND (external_id = $%d OR customer_email = $%d OR id = $%d OR "
                   "short_id = $%d)",
                   q_param, q_param + 1, q_param, q_param);
    }
    buf_printf(&b, " ORDER BY id %s LIMIT $%d", asc ? "ASC" : "DESC", p->n + 1);
    pg_p_int(p, q->limit + 1);
    return buf_take(&b, NULL);
}

enum store_rc
dash_pg_order_list(struct store_conn *c, const struct dash_order_query *q, struct order_row **rows,
                   size_t *n, bool *has_more)
{
    bool asc = q->ending_before != NULL && q->starting_after == NULL;
    struct pg_params p = {0};
    char *sql = list_sql(q, asc, &p);
    struct order_row *out = NULL;
    enum store_rc rc = STORE_FAIL;
    PGresult *res = NULL;
    size_t k = 0, total;

    *rows = NULL;
    *n = 0;
    *has_more = false;
    if (sql != NULL)
        res = pg_query_once(c, sql, &p, &rc, "dashboard order list");
    if (res != NULL) {
        total = (size_t)PQntuples(res);
        k = total > (size_t)q->limit ? (size_t)q->limit : total;
        *has_more = total > (size_t)q->limit;
        out = calloc(k + 1, sizeof *out);
        if (out == NULL)
            rc = STORE_FAIL;
        /* an ascending page is read backwards: newest first either way */
        for (size_t i = 0; out != NULL && i < k; i++)
            if (pg_order_from(res, (int)i, &out[asc ? k - 1 - i : i]) != 0)
                rc = STORE_FAIL;
    }
    PQclear(res);
    free(sql);
    if (rc != STORE_OK) {
        order_rows_free(out, k);
        out = NULL;
        k = 0;
    }
    *rows = out;
    *n = k;
    return rc;
}

/* ---- chart aggregates ---- */

static int
stat_from(const PGresult *res, int r, void *row)
{
    struct dash_stat_row *s = row;

    s->bucket = pg_i64(res, r, 0);
    pg_copy(res, r, 1, s->dialect, sizeof s->dialect);
    pg_copy(res, r, 2, s->currency, sizeof s->currency);
    s->orders = pg_i64(res, r, 3);
    s->revenue = pg_i64(res, r, 4);
    return 0;
}

static void
stats_free(void *rows, size_t n)
{
    (void)n;
    free(rows);
}

enum store_rc
dash_pg_stats(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t from,
              int64_t to, int64_t bucket_ms, struct dash_stat_row **rows, size_t *n)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;
    void *out = NULL;

    *n = 0;
    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    pg_p_int(&p, from);
    pg_p_int(&p, to);
    pg_p_int(&p, bucket_ms);
    res = pg_query(c, sql_stats, &p, &rc, "dashboard stats");
    if (res != NULL)
        rc = pg_collect(res, sizeof **rows, stat_from, stats_free, &out, n);
    PQclear(res);
    *rows = out;
    return rc;
}

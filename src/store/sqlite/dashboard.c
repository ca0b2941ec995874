/* SPDX-License-Identifier: MIT */
/*
 * dashboard.c -- the SQLite side of store/dashboard_store.h: the sessions table, the
 * orders list with its filters and search, and the chart aggregates. The aggregates
 * read one covering index, orders(org_id, mode, created_ms, dialect, currency, status,
 * total_amount), over the asked range, so they never touch the order bodies. The list's
 * SQL is built from the filters given (an "?x IS NULL OR ..." form would hide the
 * indexes from the planner) and prepared per call, not cached: there are many shapes.
 */
#include "store/dashboard_store.h"

#include "core/buf.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/sqlite/store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: sessions; indexes for the charts (covering) and the search by external id */
    "CREATE TABLE dashboard_sessions ("
    "  token_hash BLOB PRIMARY KEY,"
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL CHECK (mode IN ('test','live')),"
    "  key_hash BLOB NOT NULL,"
    "  other_key_hash BLOB,"
    "  created_ms INTEGER NOT NULL,"
    "  seen_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL);"
    "CREATE INDEX dashboard_sessions_expires ON dashboard_sessions(expires_ms);"
    "CREATE INDEX dashboard_orders_quarter ON orders(org_id, mode, created_ms / 900000, "
    "dialect, currency, status, total_amount, created_ms, id);"
    "CREATE INDEX dashboard_orders_external ON orders(org_id, mode, external_id);",
};

const struct sqlite_migrations sqlite_migrations_dashboard = {
    "dashboard", migrations, (int)(sizeof migrations / sizeof migrations[0])};

/* a key is valid while not revoked and not expired (as api_keys lookups require) */
#define KEY_VALID(col)                                                                             \
    "EXISTS (SELECT 1 FROM api_keys k WHERE k.hash = " col " AND k.revoked_ms IS NULL AND "        \
    "(k.expires_ms IS NULL OR k.expires_ms > ?2))"

static const char *const sql_insert =
    "INSERT INTO dashboard_sessions (token_hash, org_id, mode, key_hash, other_key_hash, "
    "created_ms, seen_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char *const sql_get =
    "SELECT s.org_id, s.mode, s.key_hash, s.other_key_hash, s.created_ms, s.seen_ms, "
    "s.expires_ms, s.other_key_hash IS NOT NULL AND " KEY_VALID(
        "s.other_key_hash") " FROM dashboard_sessions s WHERE s.token_hash = ?1 AND "
                            "s.expires_ms > ?2 AND " KEY_VALID("s.key_hash");
static const char *const sql_touch =
    "UPDATE dashboard_sessions SET seen_ms = ?2, expires_ms = ?3 WHERE token_hash = ?1 AND "
    "seen_ms < ?2";
static const char *const sql_delete = "DELETE FROM dashboard_sessions WHERE token_hash = ?1";
static const char *const sql_purge = "DELETE FROM dashboard_sessions WHERE expires_ms <= ?1";
/* Grouped by quarter hour in index order (no sort of the orders), then the few quarter
 * groups into the asked buckets. */
static const char *const sql_stats =
    "SELECT (q * 900000 - ?3) / ?5 AS b, dialect, currency, sum(n), sum(rev) FROM (SELECT "
    "created_ms / 900000 AS q, dialect, currency, count(*) AS n, sum(CASE WHEN status <> "
    "'canceled' THEN total_amount ELSE 0 END) AS rev FROM orders INDEXED BY "
    "dashboard_orders_quarter WHERE org_id = ?1 AND mode = ?2 AND created_ms / 900000 >= ?3 / "
    "900000 AND created_ms / 900000 < ?4 / 900000 GROUP BY created_ms / 900000, dialect, "
    "currency) GROUP BY b, dialect, currency ORDER BY b, dialect, currency";

/* Steps a statement that returns no row. */
static enum store_rc
run(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);

    return store_sqlite_rc(c, r == SQLITE_ROW ? SQLITE_DONE : r, what);
}

static void
copy_hash(sqlite3_stmt *st, int i, uint8_t out[CRYPTO_HASH_LEN], bool *present)
{
    const void *b = sqlite3_column_blob(st, i);
    bool ok = b != NULL && sqlite3_column_bytes(st, i) == CRYPTO_HASH_LEN;

    if (ok)
        memcpy(out, b, CRYPTO_HASH_LEN);
    if (present != NULL)
        *present = ok;
}

enum store_rc
dash_sqlite_session_insert(struct store_conn *c, const struct dash_session *s)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_insert);

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, s->token_hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    store_sqlite_bind_text(st, 2, s->org_id);
    store_sqlite_bind_text(st, 3, store_sqlite_mode_text(s->mode));
    sqlite3_bind_blob(st, 4, s->key_hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    if (s->has_other)
        sqlite3_bind_blob(st, 5, s->other_hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, s->created_ms);
    sqlite3_bind_int64(st, 7, s->seen_ms);
    sqlite3_bind_int64(st, 8, s->expires_ms);
    return run(c, st, "dashboard session insert");
}

enum store_rc
dash_sqlite_session_get(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN],
                        int64_t now, struct dash_session *out)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_get);
    enum store_rc rc;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, token_hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        memcpy(out->token_hash, token_hash, CRYPTO_HASH_LEN);
        store_sqlite_col_copy(st, 0, out->org_id, sizeof out->org_id);
        out->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
        copy_hash(st, 2, out->key_hash, NULL);
        copy_hash(st, 3, out->other_hash, &out->has_other);
        out->created_ms = sqlite3_column_int64(st, 4);
        out->seen_ms = sqlite3_column_int64(st, 5);
        out->expires_ms = sqlite3_column_int64(st, 6);
        out->other_ok = sqlite3_column_int(st, 7) != 0;
        rc = STORE_OK;
    } else {
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : store_sqlite_rc(c, r, "dashboard session get");
    }
    sqlite3_reset(st);
    return rc;
}

enum store_rc
dash_sqlite_session_touch(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN],
                          int64_t seen_ms, int64_t expires_ms)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_touch);

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, token_hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seen_ms);
    sqlite3_bind_int64(st, 3, expires_ms);
    return run(c, st, "dashboard session touch");
}

enum store_rc
dash_sqlite_session_delete(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN])
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_delete);

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, token_hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    return run(c, st, "dashboard session delete");
}

enum store_rc
dash_sqlite_session_purge(struct store_conn *c, int64_t now)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_purge);

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_int64(st, 1, now);
    return run(c, st, "dashboard session purge");
}

/* ---- orders list ---- */

/* The order columns with an empty body: the list shows columns, not bodies. */
#define LIST_COLS                                                                                  \
    "org_id, mode, id, short_id, dialect, external_id, status, currency, total_amount, "           \
    "customer_email, version, created_ms, updated_ms, ''"

static void
bind_named(sqlite3_stmt *st, const char *name, const char *value)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i > 0)
        store_sqlite_bind_text(st, i, value);
}

static void
bind_named_int(sqlite3_stmt *st, const char *name, int64_t value)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i > 0)
        sqlite3_bind_int64(st, i, value);
}

/* The list's SQL for the filters given. A search is driven by the few rowids its
 * lookups find (the unary + keeps the planner from walking the org's whole index in id
 * order instead); a created-date range picks the page's ids from
 * dashboard_orders_quarter alone (covering: it holds status, dialect and id too) before
 * reading those rows. */
static char *
list_sql(const struct dash_order_query *q, bool asc)
{
    const char *dir = asc ? "ASC" : "DESC";
    bool by_date = (q->has_gte || q->has_lte) && q->search == NULL;
    struct buf b = {0};

    if (q->search != NULL)
        buf_puts(&b, "SELECT " LIST_COLS " FROM orders WHERE +org_id = :org AND +mode = :mode");
    else if (by_date)
        buf_puts(&b, "SELECT " LIST_COLS " FROM orders WHERE org_id = :org AND mode = :mode AND "
                     "id IN (SELECT id FROM orders INDEXED BY dashboard_orders_quarter WHERE "
                     "org_id = :org AND mode = :mode");
    else
        buf_puts(&b, "SELECT " LIST_COLS " FROM orders WHERE org_id = :org AND mode = :mode");
    if (q->starting_after != NULL)
        buf_puts(&b, " AND id < :after");
    if (q->ending_before != NULL)
        buf_puts(&b, " AND id > :before");
    if (q->status != NULL)
        buf_puts(&b, " AND status = :status");
    if (q->dialect != NULL)
        buf_puts(&b, " AND dialect = :dialect");
    if (q->has_gte)
        buf_puts(&b, " AND created_ms / 900000 >= :gte / 900000 AND created_ms >= :gte");
    if (q->has_lte)
        buf_puts(&b, " AND created_ms / 900000 <= :lte / 900000 AND created_ms <= :lte");
    if (q->search != NULL)
        buf_puts(&b, " AND rowid IN (SELECT rowid FROM orders WHERE org_id = :org AND mode = :mode "
                     "AND external_id = :q UNION ALL SELECT rowid FROM orders WHERE org_id = :org "
                     "AND mode = :mode AND customer_email = :email UNION ALL SELECT rowid FROM "
                     "orders WHERE org_id = :org AND mode = :mode AND id = :q UNION ALL SELECT "
                     "rowid FROM orders WHERE org_id = :org AND short_id = :q)");
    if (by_date)
        buf_printf(&b, " ORDER BY id %s LIMIT :limit) ORDER BY id %s", dir, dir);
    else
        buf_printf(&b, " ORDER BY id %s LIMIT :limit", dir);
    return buf_take(&b, NULL);
}

enum store_rc
dash_sqlite_order_list(struct store_conn *c, const struct dash_order_query *q,
                       struct order_row **rows, size_t *n, bool *has_more)
{
    bool asc = q->ending_before != NULL && q->starting_after == NULL;
    char *sql = list_sql(q, asc);
    sqlite3_stmt *st = NULL;
    struct order_row *out = calloc((size_t)q->limit + 1, sizeof *out), tmp;
    enum store_rc rc = STORE_FAIL;
    size_t k = 0;
    int r = SQLITE_DONE;

    *rows = NULL;
    *n = 0;
    *has_more = false;
    if (sql == NULL || out == NULL)
        goto done;
    r = sqlite3_prepare_v2(store_sqlite_db(c), sql, -1, &st, NULL);
    if (r != SQLITE_OK) {
        rc = store_sqlite_rc(c, r, "dashboard order list");
        goto done;
    }
    bind_named(st, ":org", q->org_id);
    bind_named(st, ":mode", store_sqlite_mode_text(q->mode));
    bind_named(st, ":after", q->starting_after);
    bind_named(st, ":before", q->ending_before);
    bind_named(st, ":status", q->status);
    bind_named(st, ":dialect", q->dialect);
    bind_named_int(st, ":gte", q->created_gte);
    bind_named_int(st, ":lte", q->created_lte);
    bind_named(st, ":q", q->search);
    bind_named(st, ":email", q->search_email);
    bind_named_int(st, ":limit", q->limit + 1);
    while (k <= (size_t)q->limit && (r = sqlite3_step(st)) == SQLITE_ROW)
        if (store_sqlite_order_from(st, &out[k++]) != 0)
            goto done;
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = store_sqlite_rc(c, r, "dashboard order list");
        goto done;
    }
    *has_more = k > (size_t)q->limit;
    if (*has_more)
        order_row_free(&out[--k]);
    for (size_t i = 0; asc && i < k / 2; i++) {
        tmp = out[i];
        out[i] = out[k - 1 - i];
        out[k - 1 - i] = tmp;
    }
    rc = STORE_OK;
done:
    sqlite3_finalize(st);
    free(sql);
    if (rc != STORE_OK && out != NULL) {
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
stat_from(sqlite3_stmt *st, void *row)
{
    struct dash_stat_row *s = row;

    s->bucket = sqlite3_column_int64(st, 0);
    store_sqlite_col_copy(st, 1, s->dialect, sizeof s->dialect);
    store_sqlite_col_copy(st, 2, s->currency, sizeof s->currency);
    s->orders = sqlite3_column_int64(st, 3);
    s->revenue = sqlite3_column_int64(st, 4);
    return 0;
}

static void
stats_free(void *rows, size_t n)
{
    (void)n;
    free(rows);
}

enum store_rc
dash_sqlite_stats(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t from,
                  int64_t to, int64_t bucket_ms, struct dash_stat_row **rows, size_t *n)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_stats);
    enum store_rc rc = STORE_FAIL;
    void *out = NULL;

    *n = 0;
    if (st != NULL) {
        store_sqlite_bind_text(st, 1, org_id);
        store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
        sqlite3_bind_int64(st, 3, from);
        sqlite3_bind_int64(st, 4, to);
        sqlite3_bind_int64(st, 5, bucket_ms);
        rc = store_sqlite_collect(c, st, sizeof **rows, stat_from, stats_free, &out, n,
                                  "dashboard stats");
        sqlite3_reset(st);
    }
    *rows = out;
    return rc;
}

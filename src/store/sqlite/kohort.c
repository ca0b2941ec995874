/* SPDX-License-Identifier: MIT */
/*
 * kohort.c -- the SQLite tables and queries of the kohort API (store/kohort_store.h):
 * payment groups, customers, and one link row per Kohort order that carries what its
 * lists search and sort on. Joins are a conditional UPDATE of the group's order count,
 * so they are atomic whatever the concurrency; settlement is a conditional status
 * change, so a group settles once even when several processes share the database.
 */
#include "store/kohort_store.h"

#include "store/sqlite/store_sqlite_api.h"
#include "store/sqlite/store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: groups, customers, order links */
    "CREATE TABLE kohort_groups ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  share_id TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL,"
    "  customer_id TEXT NOT NULL,"
    "  creator_email TEXT,"
    "  creator_order TEXT NOT NULL,"
    "  metadata TEXT NOT NULL,"
    "  settings TEXT NOT NULL,"
    "  max_participants INTEGER NOT NULL,"
    "  min_amount INTEGER NOT NULL,"
    "  n_orders INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  canceled_ms INTEGER,"
    "  completed_ms INTEGER,"
    "  PRIMARY KEY (org_id, mode, id));"
    "CREATE INDEX kohort_groups_due ON kohort_groups(status, expires_ms);"
    "CREATE INDEX kohort_groups_created ON kohort_groups(org_id, mode, created_ms);"
    "CREATE TABLE kohort_customers ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  first_name TEXT,"
    "  last_name TEXT,"
    "  phone TEXT,"
    "  locale TEXT,"
    "  client_ref TEXT,"
    "  metadata TEXT NOT NULL,"
    "  blocked INTEGER NOT NULL DEFAULT 0,"
    "  blocked_ms INTEGER,"
    "  deleted_ms INTEGER,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (org_id, mode, id),"
    "  UNIQUE (org_id, mode, email),"
    "  UNIQUE (org_id, mode, client_ref));"
    "CREATE TABLE kohort_orders ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  order_id TEXT NOT NULL,"
    "  group_id TEXT NOT NULL,"
    "  customer_id TEXT NOT NULL,"
    "  customer_email TEXT NOT NULL,"
    "  customer_phone TEXT,"
    "  client_ref TEXT,"
    "  status TEXT NOT NULL,"
    "  amount INTEGER NOT NULL,"
    "  amount_cashback INTEGER,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (org_id, mode, order_id),"
    "  UNIQUE (org_id, mode, group_id, customer_email));"
    "CREATE INDEX kohort_orders_created ON kohort_orders(org_id, mode, created_ms);"
    "CREATE INDEX kohort_orders_phone ON kohort_orders(org_id, mode, customer_phone, created_ms);",
};

const struct sqlite_migrations sqlite_migrations_kohort = {
    "kohort", migrations, (int)(sizeof migrations / sizeof migrations[0])};

#define GROUP_COLS                                                                                 \
    "org_id, mode, id, share_id, status, customer_id, creator_email, creator_order, metadata, "    \
    "settings, max_participants, min_amount, n_orders, expires_ms, created_ms, updated_ms, "       \
    "canceled_ms, completed_ms"
#define CUSTOMER_COLS                                                                              \
    "org_id, mode, id, email, first_name, last_name, phone, locale, client_ref, metadata, "        \
    "blocked, blocked_ms, deleted_ms, created_ms, updated_ms"
#define ORDER_COLS                                                                                 \
    "o.org_id, o.mode, o.id, o.short_id, o.dialect, o.external_id, o.status, o.currency, "         \
    "o.total_amount, o.customer_email, o.version, o.created_ms, o.updated_ms, o.body"

static const char *const sql_group_get =
    "SELECT " GROUP_COLS " FROM kohort_groups WHERE org_id = ?1 AND mode = ?2 AND "
    "(id = ?3 OR share_id = ?3)";
static const char *const sql_group_insert =
    "INSERT INTO kohort_groups (" GROUP_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
    "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
static const char *const sql_group_join =
    "UPDATE kohort_groups SET n_orders = n_orders + 1, updated_ms = ?4 WHERE org_id = ?1 AND "
    "mode = ?2 AND id = ?3 AND status = 'OPEN' AND expires_ms > ?4 AND "
    "n_orders < max_participants";
static const char *const sql_group_update =
    "UPDATE kohort_groups SET metadata = ?4, creator_email = ?5, updated_ms = ?6 WHERE "
    "org_id = ?1 AND mode = ?2 AND id = ?3";
static const char *const sql_group_close =
    "UPDATE kohort_groups SET status = ?4, updated_ms = ?5, "
    "canceled_ms = CASE WHEN ?4 = 'CANCELED' THEN ?5 ELSE canceled_ms END, "
    "completed_ms = CASE WHEN ?4 = 'COMPLETED' THEN ?5 ELSE completed_ms END "
    "WHERE org_id = ?1 AND mode = ?2 AND id = ?3 AND status = 'OPEN' AND "
    "((?6 = 0 AND expires_ms > ?5) OR (?6 = 1 AND expires_ms <= ?5) OR "
    "(?6 = 2 AND expires_ms <= ?5 AND n_orders <= 1))";
static const char *const sql_groups_due =
    "SELECT " GROUP_COLS " FROM kohort_groups WHERE status = 'OPEN' AND expires_ms <= ?1 "
    "ORDER BY expires_ms LIMIT ?2";
static const char *const sql_groups_next =
    "SELECT min(expires_ms) FROM kohort_groups WHERE status = 'OPEN'";
static const char *const sql_customer_get =
    "SELECT " CUSTOMER_COLS " FROM kohort_customers WHERE org_id = ?1 AND mode = ?2 AND id = ?3";
static const char *const sql_customer_by_email =
    "SELECT " CUSTOMER_COLS " FROM kohort_customers WHERE org_id = ?1 AND mode = ?2 AND "
    "email = ?3";
static const char *const sql_customer_insert =
    "INSERT INTO kohort_customers (" CUSTOMER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
    "?9, ?10, ?11, ?12, ?13, ?14, ?15)";
static const char *const sql_customer_update =
    "UPDATE kohort_customers SET email = ?4, first_name = ?5, last_name = ?6, phone = ?7, "
    "locale = ?8, client_ref = ?9, metadata = ?10, blocked = ?11, blocked_ms = ?12, "
    "deleted_ms = ?13, updated_ms = ?15 WHERE org_id = ?1 AND mode = ?2 AND id = ?3 AND "
    "created_ms = ?14";
static const char *const sql_link_insert =
    "INSERT INTO kohort_orders (org_id, mode, order_id, group_id, customer_id, customer_email, "
    "customer_phone, client_ref, status, amount, amount_cashback, created_ms, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?11)";
static const char *const sql_link_email =
    "SELECT 1 FROM kohort_orders WHERE org_id = ?1 AND mode = ?2 AND group_id = ?3 AND "
    "customer_email = ?4";
static const char *const sql_link_status =
    "UPDATE kohort_orders SET status = ?4, amount_cashback = ?5 WHERE org_id = ?1 AND "
    "mode = ?2 AND order_id = ?3";
static const char *const sql_group_orders =
    "SELECT order_id FROM kohort_orders WHERE org_id = ?1 AND mode = ?2 AND group_id = ?3 "
    "ORDER BY created_ms, order_id";
static const char *const sql_order_get =
    "SELECT " ORDER_COLS " FROM orders o WHERE o.org_id = ?1 AND o.mode = ?2 AND o.id = ?3";
static const char *const sql_order_update =
    "UPDATE orders SET status = ?4, customer_email = ?5, version = ?6, updated_ms = ?7, "
    "body = ?8 WHERE org_id = ?1 AND mode = ?2 AND id = ?3 AND version = ?9";
static const char *const sql_event_insert =
    "INSERT INTO events (org_id, mode, id, type, order_id, created_ms, request_id, data) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char *const sql_risk_email =
    "SELECT count(*) FROM orders WHERE org_id = ?1 AND mode = ?2 AND customer_email = ?3 AND "
    "created_ms >= ?4";
static const char *const sql_risk_phone =
    "SELECT count(*) FROM kohort_orders WHERE org_id = ?1 AND mode = ?2 AND customer_phone = ?3 "
    "AND created_ms >= ?4";
static const char *const sql_risk_mean =
    "SELECT count(*), coalesce(avg(total_amount), 0) FROM (SELECT total_amount FROM orders "
    "WHERE org_id = ?1 AND mode = ?2 ORDER BY id DESC LIMIT 500)";

static void
bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
    if (ms == 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, ms);
}

/* Steps a statement that returns no row. */
static enum store_rc
run(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);
    enum store_rc rc = store_sqlite_rc(c, r == SQLITE_ROW ? SQLITE_DONE : r, what);

    sqlite3_reset(st);
    return rc;
}

static int
group_from(sqlite3_stmt *st, struct kohort_group *g)
{
    memset(g, 0, sizeof *g);
    store_sqlite_col_copy(st, 0, g->org_id, sizeof g->org_id);
    g->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
    store_sqlite_col_copy(st, 2, g->id, sizeof g->id);
    store_sqlite_col_copy(st, 3, g->share_id, sizeof g->share_id);
    store_sqlite_col_copy(st, 4, g->status, sizeof g->status);
    store_sqlite_col_copy(st, 5, g->customer_id, sizeof g->customer_id);
    g->creator_email = store_sqlite_col_dup(st, 6);
    store_sqlite_col_copy(st, 7, g->creator_order, sizeof g->creator_order);
    g->metadata = store_sqlite_col_dup(st, 8);
    g->settings = store_sqlite_col_dup(st, 9);
    g->max_participants = sqlite3_column_int(st, 10);
    g->min_amount = sqlite3_column_int64(st, 11);
    g->n_orders = sqlite3_column_int(st, 12);
    g->expires_ms = sqlite3_column_int64(st, 13);
    g->created_ms = sqlite3_column_int64(st, 14);
    g->updated_ms = sqlite3_column_int64(st, 15);
    g->canceled_ms = sqlite3_column_int64(st, 16);
    g->completed_ms = sqlite3_column_int64(st, 17);
    return g->metadata != NULL && g->settings != NULL ? 0 : -1;
}

static int
customer_from(sqlite3_stmt *st, struct kohort_customer *cu)
{
    memset(cu, 0, sizeof *cu);
    store_sqlite_col_copy(st, 0, cu->org_id, sizeof cu->org_id);
    cu->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
    store_sqlite_col_copy(st, 2, cu->id, sizeof cu->id);
    cu->email = store_sqlite_col_dup(st, 3);
    cu->first_name = store_sqlite_col_dup(st, 4);
    cu->last_name = store_sqlite_col_dup(st, 5);
    cu->phone = store_sqlite_col_dup(st, 6);
    cu->locale = store_sqlite_col_dup(st, 7);
    cu->client_ref = store_sqlite_col_dup(st, 8);
    cu->metadata = store_sqlite_col_dup(st, 9);
    cu->blocked = sqlite3_column_int(st, 10) != 0;
    cu->blocked_ms = sqlite3_column_int64(st, 11);
    cu->deleted_ms = sqlite3_column_int64(st, 12);
    cu->created_ms = sqlite3_column_int64(st, 13);
    cu->updated_ms = sqlite3_column_int64(st, 14);
    return cu->email != NULL && cu->metadata != NULL ? 0 : -1;
}

/* Adapters for store_sqlite_collect. */
static int
group_from_void(sqlite3_stmt *st, void *row)
{
    return group_from(st, row);
}

static int
customer_from_void(sqlite3_stmt *st, void *row)
{
    return customer_from(st, row);
}

static int
order_from_void(sqlite3_stmt *st, void *row)
{
    return store_sqlite_order_from(st, row);
}

static int
id_from_void(sqlite3_stmt *st, void *row)
{
    store_sqlite_col_copy(st, 0, row, IDS_UUID_LEN);
    return 0;
}

static void
groups_free_void(void *rows, size_t n)
{
    kohort_groups_free(rows, n);
}

static void
customers_free_void(void *rows, size_t n)
{
    kohort_customers_free(rows, n);
}

static void
orders_free_void(void *rows, size_t n)
{
    order_rows_free(rows, n);
}

static void
ids_free_void(void *rows, size_t n)
{
    (void)n;
    free(rows);
}

/* ---- groups ---- */

enum store_rc
kohort_sqlite_group_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                        const char *id_or_share, struct kohort_group *out)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_group_get);
    enum store_rc rc = STORE_FAIL;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, id_or_share);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = group_from(st, out) == 0 ? STORE_OK : STORE_FAIL;
    else
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : store_sqlite_rc(c, r, "kohort group get");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
kohort_sqlite_group_insert(struct store_conn *c, const struct kohort_group *g)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_group_insert);

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, g->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(g->mode));
    store_sqlite_bind_text(st, 3, g->id);
    store_sqlite_bind_text(st, 4, g->share_id);
    store_sqlite_bind_text(st, 5, g->status);
    store_sqlite_bind_text(st, 6, g->customer_id);
    store_sqlite_bind_text(st, 7, g->creator_email);
    store_sqlite_bind_text(st, 8, g->creator_order);
    store_sqlite_bind_text(st, 9, g->metadata ? g->metadata : "{}");
    store_sqlite_bind_text(st, 10, g->settings ? g->settings : "{}");
    sqlite3_bind_int(st, 11, g->max_participants);
    sqlite3_bind_int64(st, 12, g->min_amount);
    sqlite3_bind_int(st, 13, g->n_orders);
    sqlite3_bind_int64(st, 14, g->expires_ms);
    sqlite3_bind_int64(st, 15, g->created_ms);
    sqlite3_bind_int64(st, 16, g->updated_ms);
    bind_ms(st, 17, g->canceled_ms);
    bind_ms(st, 18, g->completed_ms);
    return run(c, st, "kohort group insert");
}

enum store_rc
kohort_sqlite_group_join(struct store_conn *c, const char *org_id, enum key_mode mode,
                         const char *group_id, int64_t now_ms)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_group_join);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, group_id);
    sqlite3_bind_int64(st, 4, now_ms);
    rc = run(c, st, "kohort group join");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) != 1)
        rc = STORE_CONFLICT;
    return rc;
}

enum store_rc
kohort_sqlite_group_update(struct store_conn *c, const struct kohort_group *g)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_group_update);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, g->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(g->mode));
    store_sqlite_bind_text(st, 3, g->id);
    store_sqlite_bind_text(st, 4, g->metadata ? g->metadata : "{}");
    store_sqlite_bind_text(st, 5, g->creator_email);
    sqlite3_bind_int64(st, 6, g->updated_ms);
    rc = run(c, st, "kohort group update");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) != 1)
        rc = STORE_NOT_FOUND;
    return rc;
}

enum store_rc
kohort_sqlite_group_close(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *group_id, const char *status, enum kohort_close_when when,
                          int64_t now_ms, bool *changed)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_group_close);
    enum store_rc rc;

    *changed = false;
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, group_id);
    store_sqlite_bind_text(st, 4, status);
    sqlite3_bind_int64(st, 5, now_ms);
    sqlite3_bind_int(st, 6, (int)when);
    rc = run(c, st, "kohort group close");
    if (rc == STORE_OK)
        *changed = sqlite3_changes(store_sqlite_db(c)) == 1;
    return rc;
}

static const char *
cmp_sql(enum kohort_cmp cmp)
{
    switch (cmp) {
    case KC_EQ:
        return "=";
    case KC_NE:
        return "<>";
    case KC_LIKE:
        return "LIKE";
    case KC_GT:
        return ">";
    case KC_GE:
        return ">=";
    case KC_LT:
        return "<";
    case KC_LE:
        return "<=";
    }
    return "=";
}

/* Maps an API column name to its SQL expression through a whitelist. */
struct colmap {
    const char *name, *sql;
};

static const char *
col_sql(const struct colmap *map, const char *name)
{
    for (; name != NULL && map->name != NULL; map++)
        if (strcmp(map->name, name) == 0)
            return map->sql;
    return NULL;
}

/* Builds "WHERE … ORDER BY … LIMIT … OFFSET …" for q (columns through map) into
 * where/order and prepares count and page statements from the given heads. Binds ?1
 * org, ?2 mode, ?3 extra (may be NULL), then the conditions from ?4. */
static enum store_rc
list_prepare(struct store_conn *c, const struct kohort_list_query *q, const struct colmap *map,
             const char *page_head, const char *count_head, const char *extra_where,
             const char *extra, sqlite3_stmt **page, sqlite3_stmt **count)
{
    char where[2048], sql[4096];
    const char *order = col_sql(map, q->order_col);
    size_t used;
    sqlite3_stmt *sts[2] = {NULL, NULL};

    *page = *count = NULL;
    used = (size_t)snprintf(where, sizeof where, " WHERE %s", extra_where);
    for (int i = 0; i < q->n_cond && used < sizeof where; i++) {
        const char *col = col_sql(map, q->cond[i].column);
        if (col == NULL)
            return STORE_FAIL;
        used += (size_t)snprintf(where + used, sizeof where - used, "%s%s %s ?%d",
                                 i == 0 ? " AND (" : (q->any ? " OR " : " AND "), col,
                                 cmp_sql(q->cond[i].cmp), i + 4);
        if (i == q->n_cond - 1 && used < sizeof where)
            used += (size_t)snprintf(where + used, sizeof where - used, ")");
    }
    if (used >= sizeof where || order == NULL)
        return STORE_FAIL;
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            snprintf(sql, sizeof sql, "%s%s ORDER BY %s %s, 3 %s LIMIT %d OFFSET %d", page_head,
                     where, order, q->desc ? "DESC" : "ASC", q->desc ? "DESC" : "ASC", q->take,
                     q->skip);
        else
            snprintf(sql, sizeof sql, "%s%s", count_head, where);
        if (sqlite3_prepare_v2(store_sqlite_db(c), sql, -1, &sts[k], NULL) != SQLITE_OK) {
            store_sqlite_rc(c, SQLITE_ERROR, "kohort list prepare");
            sqlite3_finalize(sts[0]);
            sqlite3_finalize(sts[1]);
            return STORE_FAIL;
        }
        store_sqlite_bind_text(sts[k], 1, q->org_id);
        store_sqlite_bind_text(sts[k], 2, store_sqlite_mode_text(q->mode));
        store_sqlite_bind_text(sts[k], 3, extra);
        for (int i = 0; i < q->n_cond; i++) {
            if (q->cond[i].is_int)
                sqlite3_bind_int64(sts[k], i + 4, q->cond[i].i);
            else
                store_sqlite_bind_text(sts[k], i + 4, q->cond[i].s);
        }
    }
    *page = sts[0];
    *count = sts[1];
    return STORE_OK;
}

static enum store_rc
count_run(struct store_conn *c, sqlite3_stmt *st, int64_t *count)
{
    int r = sqlite3_step(st);

    if (r != SQLITE_ROW)
        return store_sqlite_rc(c, r, "kohort list count");
    *count = sqlite3_column_int64(st, 0);
    return STORE_OK;
}

enum store_rc
kohort_sqlite_group_list(struct store_conn *c, const struct kohort_list_query *q,
                         struct kohort_group **rows, size_t *n, int64_t *count)
{
    static const struct colmap map[] = {
        {"created_at", "created_ms"},       {"updated_at", "updated_ms"},
        {"expires_at", "expires_ms"},       {"status", "status"},
        {"share_id", "share_id"},           {"customer_id", "customer_id"},
        {"creator_email", "creator_email"}, {NULL, NULL},
    };
    sqlite3_stmt *page = NULL, *cnt = NULL;
    void *out = NULL;
    enum store_rc rc;

    *rows = NULL;
    *n = 0;
    *count = 0;
    rc = list_prepare(c, q, map, "SELECT " GROUP_COLS " FROM kohort_groups",
                      "SELECT count(*) FROM kohort_groups",
                      "org_id = ?1 AND mode = ?2 AND ?3 IS NULL", NULL, &page, &cnt);
    if (rc != STORE_OK)
        return rc;
    rc = count_run(c, cnt, count);
    if (rc == STORE_OK)
        rc = store_sqlite_collect(c, page, sizeof **rows, group_from_void, groups_free_void, &out,
                                  n, "kohort group list");
    sqlite3_finalize(page);
    sqlite3_finalize(cnt);
    *rows = out;
    return rc;
}

enum store_rc
kohort_sqlite_groups_due(struct store_conn *c, int64_t now_ms, int limit,
                         struct kohort_group **rows, size_t *n)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_groups_due);
    void *out = NULL;
    enum store_rc rc = STORE_OK;

    *rows = NULL;
    *n = 0;
    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, limit);
    rc = store_sqlite_collect(c, st, sizeof **rows, group_from_void, groups_free_void, &out, n,
                              "kohort groups due");
    sqlite3_reset(st);
    *rows = out;
    return rc;
}

enum store_rc
kohort_sqlite_groups_next_expiry(struct store_conn *c, int64_t *ms, bool *found)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_groups_next);
    enum store_rc rc;
    int r;

    *found = false;
    if (st == NULL)
        return STORE_FAIL;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *found = sqlite3_column_type(st, 0) != SQLITE_NULL;
        *ms = sqlite3_column_int64(st, 0);
        rc = STORE_OK;
    } else {
        rc = store_sqlite_rc(c, r, "kohort groups next");
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- customers ---- */

static enum store_rc
customer_one(struct store_conn *c, const char *sql, const char *org_id, enum key_mode mode,
             const char *key, struct kohort_customer *out)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, key);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = customer_from(st, out) == 0 ? STORE_OK : STORE_FAIL;
    else
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : store_sqlite_rc(c, r, "kohort customer get");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
kohort_sqlite_customer_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                           const char *id, struct kohort_customer *out)
{
    return customer_one(c, sql_customer_get, org_id, mode, id, out);
}

enum store_rc
kohort_sqlite_customer_by_email(struct store_conn *c, const char *org_id, enum key_mode mode,
                                const char *email, struct kohort_customer *out)
{
    return customer_one(c, sql_customer_by_email, org_id, mode, email, out);
}

static void
customer_bind(sqlite3_stmt *st, const struct kohort_customer *cu)
{
    store_sqlite_bind_text(st, 1, cu->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(cu->mode));
    store_sqlite_bind_text(st, 3, cu->id);
    store_sqlite_bind_text(st, 4, cu->email);
    store_sqlite_bind_text(st, 5, cu->first_name);
    store_sqlite_bind_text(st, 6, cu->last_name);
    store_sqlite_bind_text(st, 7, cu->phone);
    store_sqlite_bind_text(st, 8, cu->locale);
    store_sqlite_bind_text(st, 9, cu->client_ref);
    store_sqlite_bind_text(st, 10, cu->metadata ? cu->metadata : "{}");
    sqlite3_bind_int(st, 11, cu->blocked ? 1 : 0);
    bind_ms(st, 12, cu->blocked_ms);
    bind_ms(st, 13, cu->deleted_ms);
    sqlite3_bind_int64(st, 14, cu->created_ms);
    sqlite3_bind_int64(st, 15, cu->updated_ms);
}

enum store_rc
kohort_sqlite_customer_insert(struct store_conn *c, const struct kohort_customer *cu)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_customer_insert);

    if (st == NULL)
        return STORE_FAIL;
    customer_bind(st, cu);
    return run(c, st, "kohort customer insert");
}

enum store_rc
kohort_sqlite_customer_update(struct store_conn *c, const struct kohort_customer *cu)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_customer_update);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    customer_bind(st, cu);
    rc = run(c, st, "kohort customer update");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) != 1)
        rc = STORE_NOT_FOUND;
    return rc;
}

enum store_rc
kohort_sqlite_customer_list(struct store_conn *c, const struct kohort_list_query *q,
                            struct kohort_customer **rows, size_t *n, int64_t *count)
{
    static const struct colmap map[] = {
        {"created_at", "created_ms"}, {"updated_at", "updated_ms"},
        {"email_address", "email"},   {"first_name", "first_name"},
        {"last_name", "last_name"},   {"client_reference_id", "client_ref"},
        {"is_blocked", "blocked"},    {NULL, NULL},
    };
    sqlite3_stmt *page = NULL, *cnt = NULL;
    void *out = NULL;
    enum store_rc rc;

    *rows = NULL;
    *n = 0;
    *count = 0;
    rc = list_prepare(c, q, map, "SELECT " CUSTOMER_COLS " FROM kohort_customers",
                      "SELECT count(*) FROM kohort_customers",
                      "org_id = ?1 AND mode = ?2 AND ?3 IS NULL", NULL, &page, &cnt);
    if (rc != STORE_OK)
        return rc;
    rc = count_run(c, cnt, count);
    if (rc == STORE_OK)
        rc = store_sqlite_collect(c, page, sizeof **rows, customer_from_void, customers_free_void,
                                  &out, n, "kohort customer list");
    sqlite3_finalize(page);
    sqlite3_finalize(cnt);
    *rows = out;
    return rc;
}

/* ---- orders ---- */

enum store_rc
kohort_sqlite_link_insert(struct store_conn *c, const struct kohort_link *l)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_link_insert);

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, l->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(l->mode));
    store_sqlite_bind_text(st, 3, l->order_id);
    store_sqlite_bind_text(st, 4, l->group_id);
    store_sqlite_bind_text(st, 5, l->customer_id);
    store_sqlite_bind_text(st, 6, l->customer_email);
    store_sqlite_bind_text(st, 7, l->customer_phone);
    store_sqlite_bind_text(st, 8, l->client_ref);
    store_sqlite_bind_text(st, 9, l->status);
    sqlite3_bind_int64(st, 10, l->amount);
    sqlite3_bind_int64(st, 11, l->created_ms);
    return run(c, st, "kohort link insert");
}

enum store_rc
kohort_sqlite_link_email_used(struct store_conn *c, const char *org_id, enum key_mode mode,
                              const char *group_id, const char *email, bool *used)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_link_email);
    enum store_rc rc = STORE_OK;
    int r;

    *used = false;
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, group_id);
    store_sqlite_bind_text(st, 4, email);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *used = true;
    else if (r != SQLITE_DONE)
        rc = store_sqlite_rc(c, r, "kohort link email");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
kohort_sqlite_link_set_status(struct store_conn *c, const char *org_id, enum key_mode mode,
                              const char *order_id, const char *status, int64_t amount_cashback)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_link_status);

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, order_id);
    store_sqlite_bind_text(st, 4, status);
    if (amount_cashback < 0)
        sqlite3_bind_null(st, 5);
    else
        sqlite3_bind_int64(st, 5, amount_cashback);
    return run(c, st, "kohort link status");
}

enum store_rc
kohort_sqlite_group_order_ids(struct store_conn *c, const char *org_id, enum key_mode mode,
                              const char *group_id, char (**ids)[IDS_UUID_LEN], size_t *n)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_group_orders);
    void *out = NULL;
    enum store_rc rc = STORE_OK;

    *ids = NULL;
    *n = 0;
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, group_id);
    rc = store_sqlite_collect(c, st, sizeof **ids, id_from_void, ids_free_void, &out, n,
                              "kohort group orders");
    sqlite3_reset(st);
    *ids = out;
    return rc;
}

enum store_rc
kohort_sqlite_order_list(struct store_conn *c, const struct kohort_list_query *q,
                         const char *group_id, struct order_row **rows, size_t *n, int64_t *count)
{
    static const struct colmap map[] = {
        {"created_at", "k.created_ms"},
        {"updated_at", "o.updated_ms"},
        {"amount", "k.amount"},
        {"amount_cashback", "k.amount_cashback"},
        {"status", "k.status"},
        {"client_reference_id", "k.client_ref"},
        {"customer_email", "k.customer_email"},
        {"customer_id", "k.customer_id"},
        {"payment_group_id", "k.group_id"},
        {NULL, NULL},
    };
    sqlite3_stmt *page = NULL, *cnt = NULL;
    void *out = NULL;
    enum store_rc rc;

    *rows = NULL;
    *n = 0;
    *count = 0;
    rc = list_prepare(c, q, map,
                      "SELECT " ORDER_COLS " FROM kohort_orders k JOIN orders o ON "
                      "o.org_id = k.org_id AND o.mode = k.mode AND o.id = k.order_id",
                      "SELECT count(*) FROM kohort_orders k JOIN orders o ON "
                      "o.org_id = k.org_id AND o.mode = k.mode AND o.id = k.order_id",
                      "k.org_id = ?1 AND k.mode = ?2 AND (?3 IS NULL OR k.group_id = ?3)", group_id,
                      &page, &cnt);
    if (rc != STORE_OK)
        return rc;
    rc = count_run(c, cnt, count);
    if (rc == STORE_OK)
        rc = store_sqlite_collect(c, page, sizeof **rows, order_from_void, orders_free_void, &out,
                                  n, "kohort order list");
    sqlite3_finalize(page);
    sqlite3_finalize(cnt);
    *rows = out;
    return rc;
}

enum store_rc
kohort_sqlite_order_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                        const char *id, struct order_row *out)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_order_get);
    enum store_rc rc;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = store_sqlite_order_from(st, out) == 0 ? STORE_OK : STORE_FAIL;
    else
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : store_sqlite_rc(c, r, "kohort order get");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
kohort_sqlite_order_update(struct store_conn *c, const struct order_row *next, int64_t cur_version)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_order_update);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, next->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(next->mode));
    store_sqlite_bind_text(st, 3, next->id);
    store_sqlite_bind_text(st, 4, next->status);
    store_sqlite_bind_text(st, 5, next->customer_email);
    sqlite3_bind_int64(st, 6, next->version);
    sqlite3_bind_int64(st, 7, next->updated_ms);
    sqlite3_bind_text(st, 8, next->body, (int)next->body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, cur_version);
    rc = run(c, st, "kohort order update");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) != 1)
        rc = STORE_CONFLICT;
    return rc;
}

enum store_rc
kohort_sqlite_event_insert(struct store_conn *c, const struct event_row *e)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_event_insert);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, e->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(e->mode));
    store_sqlite_bind_text(st, 3, e->id);
    store_sqlite_bind_text(st, 4, e->type);
    store_sqlite_bind_text(st, 5, e->order_id);
    sqlite3_bind_int64(st, 6, e->created_ms);
    store_sqlite_bind_text(st, 7, e->request_id);
    store_sqlite_bind_text(st, 8, e->data);
    rc = run(c, st, "kohort event insert");
    return rc == STORE_OK ? store_sqlite_webhook_fanout(c, e) : rc; /* the outbox */
}

static enum store_rc
count_one(struct store_conn *c, const char *sql, const char *org_id, enum key_mode mode,
          const char *key, int64_t since_ms, int *out)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc = STORE_OK;
    int r;

    *out = 0;
    if (key == NULL)
        return STORE_OK;
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, key);
    sqlite3_bind_int64(st, 4, since_ms);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        rc = store_sqlite_rc(c, r, "kohort risk count");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
kohort_sqlite_risk_stats(struct store_conn *c, const char *org_id, enum key_mode mode,
                         const char *email, const char *phone, int64_t since_ms, int *n_email,
                         int *n_phone, int64_t *mean_amount, int *n_history)
{
    sqlite3_stmt *st;
    enum store_rc rc;
    int r;

    *mean_amount = 0;
    *n_history = 0;
    rc = count_one(c, sql_risk_email, org_id, mode, email, since_ms, n_email);
    if (rc == STORE_OK)
        rc = count_one(c, sql_risk_phone, org_id, mode, phone, since_ms, n_phone);
    if (rc != STORE_OK)
        return rc;
    st = store_sqlite_stmt(c, sql_risk_mean);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *n_history = sqlite3_column_int(st, 0);
        *mean_amount = (int64_t)sqlite3_column_double(st, 1);
    } else {
        rc = store_sqlite_rc(c, r, "kohort risk mean");
    }
    sqlite3_reset(st);
    return rc;
}

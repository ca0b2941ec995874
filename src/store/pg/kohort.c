/* SPDX-License-Identifier: MIT */
/*
 * kohort.c -- the PostgreSQL tables and queries of the kohort API (store/kohort_store.h):
 * payment groups, customers, and one link row per Kohort order that carries what its
 * lists search and sort on. Joins are a conditional UPDATE of the group's order count
 * (the row lock orders concurrent joins, from any process), settlement a conditional
 * status change, so a group fills at most to max_participants and settles once. Inserts
 * that can meet a unique key use ON CONFLICT DO NOTHING, so a conflict leaves the write's
 * transaction usable for the API's next statement.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: groups, customers, order links */
    "CREATE TABLE kohort_groups ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  id " PG_TEXT " NOT NULL,"
    "  share_id " PG_TEXT " NOT NULL,"
    "  status " PG_TEXT " NOT NULL,"
    "  customer_id " PG_TEXT " NOT NULL,"
    "  creator_email " PG_TEXT ","
    "  creator_order " PG_TEXT " NOT NULL,"
    "  metadata TEXT NOT NULL,"
    "  settings TEXT NOT NULL,"
    "  max_participants INTEGER NOT NULL,"
    "  min_amount BIGINT NOT NULL,"
    "  n_orders INTEGER NOT NULL,"
    "  expires_ms BIGINT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  canceled_ms BIGINT,"
    "  completed_ms BIGINT,"
    "  PRIMARY KEY (org_id, mode, id),"
    "  UNIQUE (org_id, share_id));"
    "CREATE INDEX kohort_groups_due ON kohort_groups (expires_ms) WHERE status = 'OPEN';"
    "CREATE INDEX kohort_groups_created ON kohort_groups (org_id, mode, created_ms);"
    "CREATE TABLE kohort_customers ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  id " PG_TEXT " NOT NULL,"
    "  email " PG_TEXT " NOT NULL,"
    "  first_name " PG_TEXT ","
    "  last_name " PG_TEXT ","
    "  phone " PG_TEXT ","
    "  locale " PG_TEXT ","
    "  client_ref " PG_TEXT ","
    "  metadata TEXT NOT NULL,"
    "  blocked INTEGER NOT NULL DEFAULT 0,"
    "  blocked_ms BIGINT,"
    "  deleted_ms BIGINT,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (org_id, mode, id),"
    "  UNIQUE (org_id, mode, email),"
    "  UNIQUE (org_id, mode, client_ref));"
    "CREATE TABLE kohort_orders ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  order_id " PG_TEXT " NOT NULL,"
    "  group_id " PG_TEXT " NOT NULL,"
    "  customer_id " PG_TEXT " NOT NULL,"
    "  customer_email " PG_TEXT " NOT NULL,"
    "  customer_phone " PG_TEXT ","
    "  client_ref " PG_TEXT ","
    "  status " PG_TEXT " NOT NULL,"
    "  amount BIGINT NOT NULL,"
    "  amount_cashback BIGINT,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (org_id, mode, order_id),"
    "  UNIQUE (org_id, mode, group_id, customer_email));"
    "CREATE INDEX kohort_orders_created ON kohort_orders (org_id, mode, created_ms);"
    "CREATE INDEX kohort_orders_phone ON kohort_orders (org_id, mode, customer_phone, "
    "created_ms);",
};

const struct pg_migrations pg_migrations_kohort = {"kohort", migrations,
                                                   (int)(sizeof migrations / sizeof migrations[0])};

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

static const char sql_group_get[] =
    "SELECT " GROUP_COLS " FROM kohort_groups WHERE org_id = $1 AND mode = $2 AND "
    "(id = $3 OR share_id = $3)";
static const char sql_group_insert[] =
    "INSERT INTO kohort_groups (" GROUP_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    "$10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT DO NOTHING";
static const char sql_group_join[] =
    "UPDATE kohort_groups SET n_orders = n_orders + 1, updated_ms = $4 WHERE org_id = $1 AND "
    "mode = $2 AND id = $3 AND status = 'OPEN' AND expires_ms > $4 AND "
    "n_orders < max_participants";
static const char sql_group_update[] =
    "UPDATE kohort_groups SET metadata = $4, creator_email = $5, updated_ms = $6 WHERE "
    "org_id = $1 AND mode = $2 AND id = $3";
static const char sql_group_close[] =
    "UPDATE kohort_groups SET status = $4::text, updated_ms = $5::bigint, "
    "canceled_ms = CASE WHEN $4::text = 'CANCELED' THEN $5::bigint ELSE canceled_ms END, "
    "completed_ms = CASE WHEN $4::text = 'COMPLETED' THEN $5::bigint ELSE completed_ms END "
    "WHERE org_id = $1 AND mode = $2 AND id = $3 AND status = 'OPEN' AND "
    "(($6::integer = 0 AND expires_ms > $5::bigint) OR ($6::integer = 1 AND expires_ms <= "
    "$5::bigint) OR ($6::integer = 2 AND expires_ms <= $5::bigint AND n_orders <= 1))";
static const char sql_groups_due[] =
    "SELECT " GROUP_COLS " FROM kohort_groups WHERE status = 'OPEN' AND expires_ms <= $1 "
    "ORDER BY expires_ms LIMIT $2";
static const char sql_groups_next[] =
    "SELECT min(expires_ms) FROM kohort_groups WHERE status = 'OPEN'";
static const char sql_customer_get[] = "SELECT " CUSTOMER_COLS " FROM kohort_customers WHERE "
                                       "org_id = $1 AND mode = $2 AND id = $3";
static const char sql_customer_by_email[] = "SELECT " CUSTOMER_COLS " FROM kohort_customers "
                                            "WHERE org_id = $1 AND mode = $2 AND email = $3";
static const char sql_customer_insert[] =
    "INSERT INTO kohort_customers (" CUSTOMER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
    "$9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING";
static const char sql_customer_update[] =
    "UPDATE kohort_customers SET email = $4, first_name = $5, last_name = $6, phone = $7, "
    "locale = $8, client_ref = $9, metadata = $10, blocked = $11, blocked_ms = $12, "
    "deleted_ms = $13, updated_ms = $15 WHERE org_id = $1 AND mode = $2 AND id = $3 AND "
    "created_ms = $14";
static const char sql_link_insert[] =
    "INSERT INTO kohort_orders (org_id, mode, order_id, group_id, customer_id, customer_email, "
    "customer_phone, client_ref, status, amount, amount_cashback, created_ms, updated_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $11) ON CONFLICT DO NOTHING";
static const char sql_link_email[] = "SELECT 1 FROM kohort_orders WHERE org_id = $1 AND mode = $2 "
                                     "AND group_id = $3 AND customer_email = $4";
static const char sql_link_status[] = "UPDATE kohort_orders SET status = $4, amount_cashback = $5 "
                                      "WHERE org_id = $1 AND mode = $2 AND order_id = $3";
static const char sql_group_orders[] =
    "SELECT order_id FROM kohort_orders WHERE org_id = $1 AND mode = $2 AND group_id = $3 "
    "ORDER BY created_ms, order_id";
static const char sql_order_get[] =
    "SELECT " ORDER_COLS " FROM orders o WHERE o.org_id = $1 AND o.mode = $2 AND o.id = $3";
static const char sql_order_update[] =
    "UPDATE orders SET status = $4, customer_email = $5, version = $6, updated_ms = $7, "
    "body = $8 WHERE org_id = $1 AND mode = $2 AND id = $3 AND version = $9";
static const char sql_event_insert[] =
    "INSERT INTO events (org_id, mode, id, type, order_id, created_ms, request_id, data) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char sql_risk_email[] =
    "SELECT count(*) FROM orders WHERE org_id = $1 AND mode = $2 AND customer_email = $3 AND "
    "created_ms >= $4";
static const char sql_risk_phone[] =
    "SELECT count(*) FROM kohort_orders WHERE org_id = $1 AND mode = $2 AND customer_phone = $3 "
    "AND created_ms >= $4";
static const char sql_risk_mean[] =
    "SELECT count(*), coalesce(avg(total_amount), 0) FROM (SELECT total_amount FROM orders "
    "WHERE org_id = $1 AND mode = $2 ORDER BY id DESC LIMIT 500) AS recent";

static void
key_params(struct pg_params *p, const char *org_id, enum key_mode mode, const char *id)
{
    pg_p_text(p, org_id);
    pg_p_mode(p, mode);
    pg_p_text(p, id);
}

static int
group_from(const PGresult *res, int r, void *row)
{
    struct kohort_group *g = row;

    memset(g, 0, sizeof *g);
    pg_copy(res, r, 0, g->org_id, sizeof g->org_id);
    g->mode = pg_mode_parse(PQgetvalue(res, r, 1));
    pg_copy(res, r, 2, g->id, sizeof g->id);
    pg_copy(res, r, 3, g->share_id, sizeof g->share_id);
    pg_copy(res, r, 4, g->status, sizeof g->status);
    pg_copy(res, r, 5, g->customer_id, sizeof g->customer_id);
    g->creator_email = pg_dup(res, r, 6);
    pg_copy(res, r, 7, g->creator_order, sizeof g->creator_order);
    g->metadata = pg_dup(res, r, 8);
    g->settings = pg_dup(res, r, 9);
    g->max_participants = (int)pg_i64(res, r, 10);
    g->min_amount = pg_i64(res, r, 11);
    g->n_orders = (int)pg_i64(res, r, 12);
    g->expires_ms = pg_i64(res, r, 13);
    g->created_ms = pg_i64(res, r, 14);
    g->updated_ms = pg_i64(res, r, 15);
    g->canceled_ms = pg_i64(res, r, 16);
    g->completed_ms = pg_i64(res, r, 17);
    return g->metadata != NULL && g->settings != NULL ? 0 : -1;
}

static int
customer_from(const PGresult *res, int r, void *row)
{
    struct kohort_customer *cu = row;

    memset(cu, 0, sizeof *cu);
    pg_copy(res, r, 0, cu->org_id, sizeof cu->org_id);
    cu->mode = pg_mode_parse(PQgetvalue(res, r, 1));
    pg_copy(res, r, 2, cu->id, sizeof cu->id);
    cu->email = pg_dup(res, r, 3);
    cu->first_name = pg_dup(res, r, 4);
    cu->last_name = pg_dup(res, r, 5);
    cu->phone = pg_dup(res, r, 6);
    cu->locale = pg_dup(res, r, 7);
    cu->client_ref = pg_dup(res, r, 8);
    cu->metadata = pg_dup(res, r, 9);
    cu->blocked = pg_i64(res, r, 10) != 0;
    cu->blocked_ms = pg_i64(res, r, 11);
    cu->deleted_ms = pg_i64(res, r, 12);
    cu->created_ms = pg_i64(res, r, 13);
    cu->updated_ms = pg_i64(res, r, 14);
    return cu->email != NULL && cu->metadata != NULL ? 0 : -1;
}

static int
order_from(const PGresult *res, int r, void *row)
{
    return pg_order_from(res, r, row);
}

static int
id_from(const PGresult *res, int r, void *row)
{
    pg_copy(res, r, 0, row, IDS_UUID_LEN);
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

/* One row of sql into out with from(); STORE_NOT_FOUND when there is none. */
static enum store_rc
one_row(struct store_conn *c, const char *sql, const struct pg_params *p,
        int (*from)(const PGresult *, int, void *), void *out, const char *what)
{
    enum store_rc rc;
    PGresult *res = pg_query(c, sql, p, &rc, what);

    if (res != NULL)
        rc = PQntuples(res) == 0 ? STORE_NOT_FOUND : from(res, 0, out) == 0 ? STORE_OK : STORE_FAIL;
    PQclear(res);
    return rc;
}

/* Every row of sql into a new array (*rows, *n). */
static enum store_rc
all_rows(struct store_conn *c, const char *sql, const struct pg_params *p, bool prepared,
         size_t row_size, int (*from)(const PGresult *, int, void *),
         void (*free_rows)(void *, size_t), void **rows, size_t *n, const char *what)
{
    enum store_rc rc;
    PGresult *res = prepared ? pg_query(c, sql, p, &rc, what) : pg_query_once(c, sql, p, &rc, what);

    *rows = NULL;
    *n = 0;
    if (res != NULL)
        rc = pg_collect(res, row_size, from, free_rows, rows, n);
    PQclear(res);
    return rc;
}

/* ---- groups ---- */

enum store_rc
kohort_pg_group_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                    const char *id_or_share, struct kohort_group *out)
{
    struct pg_params p = {0};

    memset(out, 0, sizeof *out);
    key_params(&p, org_id, mode, id_or_share);
    return one_row(c, sql_group_get, &p, group_from, out, "kohort group get");
}

enum store_rc
kohort_pg_group_insert(struct store_conn *c, const struct kohort_group *g)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long added = 0;

    key_params(&p, g->org_id, g->mode, g->id);
    pg_p_text(&p, g->share_id);
    pg_p_text(&p, g->status);
    pg_p_text(&p, g->customer_id);
    pg_p_text(&p, g->creator_email);
    pg_p_text(&p, g->creator_order);
    pg_p_text(&p, g->metadata ? g->metadata : "{}");
    pg_p_text(&p, g->settings ? g->settings : "{}");
    pg_p_int(&p, g->max_participants);
    pg_p_int(&p, g->min_amount);
    pg_p_int(&p, g->n_orders);
    pg_p_int(&p, g->expires_ms);
    pg_p_int(&p, g->created_ms);
    pg_p_int(&p, g->updated_ms);
    pg_p_ms(&p, g->canceled_ms);
    pg_p_ms(&p, g->completed_ms);
    rc = pg_exec(c, sql_group_insert, &p, &added, "kohort group insert");
    return rc == STORE_OK && added == 0 ? STORE_CONFLICT : rc;
}

enum store_rc
kohort_pg_group_join(struct store_conn *c, const char *org_id, enum key_mode mode,
                     const char *group_id, int64_t now_ms)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    key_params(&p, org_id, mode, group_id);
    pg_p_int(&p, now_ms);
    rc = pg_exec(c, sql_group_join, &p, &changed, "kohort group join");
    return rc == STORE_OK && changed != 1 ? STORE_CONFLICT : rc;
}

enum store_rc
kohort_pg_group_update(struct store_conn *c, const struct kohort_group *g)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    key_params(&p, g->org_id, g->mode, g->id);
    pg_p_text(&p, g->metadata ? g->metadata : "{}");
    pg_p_text(&p, g->creator_email);
    pg_p_int(&p, g->updated_ms);
    rc = pg_exec(c, sql_group_update, &p, &changed, "kohort group update");
    return rc == STORE_OK && changed != 1 ? STORE_NOT_FOUND : rc;
}

enum store_rc
kohort_pg_group_close(struct store_conn *c, const char *org_id, enum key_mode mode,
                      const char *group_id, const char *status, enum kohort_close_when when,
                      int64_t now_ms, bool *changed)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long n = 0;

    key_params(&p, org_id, mode, group_id);
    pg_p_text(&p, status);
    pg_p_int(&p, now_ms);
    pg_p_int(&p, (int)when);
    rc = pg_exec(c, sql_group_close, &p, &n, "kohort group close");
    *changed = rc == STORE_OK && n == 1;
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
        return "ILIKE"; /* SQLite's LIKE ignores ASCII case */
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

/* Builds the page and count SQL of q (columns through map) from the given heads and
 * their parameters: $1 org, $2 mode, $3 extra (may be NULL), then the conditions. NULLs
 * sort first ascending and last descending, as in SQLite. */
static enum store_rc
list_build(const struct kohort_list_query *q, const struct colmap *map, const char *page_head,
           const char *count_head, const char *extra_where, const char *extra, char *page,
           size_t page_size, char *count, size_t count_size, struct pg_params *p)
{
    char where[2048];
    const char *order = col_sql(map, q->order_col);
    size_t used;
    int n;

    used = (size_t)snprintf(where, sizeof where, " WHERE %s", extra_where);
    for (int i = 0; i < q->n_cond && used < sizeof where; i++) {
        const char *col = col_sql(map, q->cond[i].column);
        if (col == NULL)
            return STORE_FAIL;
        used += (size_t)snprintf(where + used, sizeof where - used, "%s%s %s $%d%s",
                                 i == 0 ? " AND (" : (q->any ? " OR " : " AND "), col,
                                 cmp_sql(q->cond[i].cmp), i + 4,
                                 q->cond[i].cmp == KC_LIKE ? " ESCAPE ''" : "");
        if (i == q->n_cond - 1 && used < sizeof where)
            used += (size_t)snprintf(where + used, sizeof where - used, ")");
    }
    if (used >= sizeof where || order == NULL)
        return STORE_FAIL;
    n = snprintf(page, page_size, "%s%s ORDER BY %s %s, 3 %s LIMIT %d OFFSET %d", page_head, where,
                 order, q->desc ? "DESC NULLS LAST" : "ASC NULLS FIRST", q->desc ? "DESC" : "ASC",
                 q->take, q->skip);
    if (n < 0 || (size_t)n >= page_size)
        return STORE_FAIL;
    n = snprintf(count, count_size, "%s%s", count_head, where);
    if (n < 0 || (size_t)n >= count_size)
        return STORE_FAIL;
    pg_p_text(p, q->org_id);
    pg_p_mode(p, q->mode);
    pg_p_text(p, extra);
    for (int i = 0; i < q->n_cond; i++) {
        if (q->cond[i].is_int)
            pg_p_int(p, q->cond[i].i);
        else
            pg_p_text(p, q->cond[i].s);
    }
    return STORE_OK;
}

/* Runs a built list: the count, then the page. */
static enum store_rc
list_run(struct store_conn *c, const char *page, const char *count, const struct pg_params *p,
         size_t row_size, int (*from)(const PGresult *, int, void *),
         void (*free_rows)(void *, size_t), void **rows, size_t *n, int64_t *total,
         const char *what)
{
    enum store_rc rc;
    PGresult *res = pg_query_once(c, count, p, &rc, what);

    if (res != NULL)
        *total = pg_i64(res, 0, 0);
    PQclear(res);
    if (rc == STORE_OK)
        rc = all_rows(c, page, p, false, row_size, from, free_rows, rows, n, what);
    return rc;
}

enum store_rc
kohort_pg_group_list(struct store_conn *c, const struct kohort_list_query *q,
                     struct kohort_group **rows, size_t *n, int64_t *count)
{
    static const struct colmap map[] = {
        {"created_at", "created_ms"},       {"updated_at", "updated_ms"},
        {"expires_at", "expires_ms"},       {"status", "status"},
        {"share_id", "share_id"},           {"customer_id", "customer_id"},
        {"creator_email", "creator_email"}, {NULL, NULL},
    };
    char page[4096], cnt[4096];
    struct pg_params p = {0};
    void *out = NULL;
    enum store_rc rc;

    *rows = NULL;
    *n = 0;
    *count = 0;
    rc = list_build(q, map, "SELECT " GROUP_COLS " FROM kohort_groups",
                    "SELECT count(*) FROM kohort_groups",
                    "org_id = $1 AND mode = $2 AND $3::text IS NULL", NULL, page, sizeof page, cnt,
                    sizeof cnt, &p);
    if (rc == STORE_OK)
        rc = list_run(c, page, cnt, &p, sizeof **rows, group_from, groups_free_void, &out, n, count,
                      "kohort group list");
    *rows = out;
    return rc;
}

enum store_rc
kohort_pg_groups_due(struct store_conn *c, int64_t now_ms, int limit, struct kohort_group **rows,
                     size_t *n)
{
    struct pg_params p = {0};
    void *out = NULL;
    enum store_rc rc;

    pg_p_int(&p, now_ms);
    pg_p_int(&p, limit);
    rc = all_rows(c, sql_groups_due, &p, true, sizeof **rows, group_from, groups_free_void, &out, n,
                  "kohort groups due");
    *rows = out;
    return rc;
}

enum store_rc
kohort_pg_groups_next_expiry(struct store_conn *c, int64_t *ms, bool *found)
{
    enum store_rc rc;
    PGresult *res = pg_query(c, sql_groups_next, NULL, &rc, "kohort groups next");

    *found = false;
    if (res != NULL && PQntuples(res) > 0) {
        *found = !pg_null(res, 0, 0);
        *ms = pg_i64(res, 0, 0);
    }
    PQclear(res);
    return rc;
}

/* ---- customers ---- */

enum store_rc
kohort_pg_customer_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                       struct kohort_customer *out)
{
    struct pg_params p = {0};

    memset(out, 0, sizeof *out);
    key_params(&p, org_id, mode, id);
    return one_row(c, sql_customer_get, &p, customer_from, out, "kohort customer get");
}

enum store_rc
kohort_pg_customer_by_email(struct store_conn *c, const char *org_id, enum key_mode mode,
                            const char *email, struct kohort_customer *out)
{
    struct pg_params p = {0};

    memset(out, 0, sizeof *out);
    key_params(&p, org_id, mode, email);
    return one_row(c, sql_customer_by_email, &p, customer_from, out, "kohort customer get");
}

static void
customer_params(struct pg_params *p, const struct kohort_customer *cu)
{
    key_params(p, cu->org_id, cu->mode, cu->id);
    pg_p_text(p, cu->email);
    pg_p_text(p, cu->first_name);
    pg_p_text(p, cu->last_name);
    pg_p_text(p, cu->phone);
    pg_p_text(p, cu->locale);
    pg_p_text(p, cu->client_ref);
    pg_p_text(p, cu->metadata ? cu->metadata : "{}");
    pg_p_int(p, cu->blocked ? 1 : 0);
    pg_p_ms(p, cu->blocked_ms);
    pg_p_ms(p, cu->deleted_ms);
    pg_p_int(p, cu->created_ms);
    pg_p_int(p, cu->updated_ms);
}

enum store_rc
kohort_pg_customer_insert(struct store_conn *c, const struct kohort_customer *cu)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long added = 0;

    customer_params(&p, cu);
    rc = pg_exec(c, sql_customer_insert, &p, &added, "kohort customer insert");
    return rc == STORE_OK && added == 0 ? STORE_CONFLICT : rc;
}

enum store_rc
kohort_pg_customer_update(struct store_conn *c, const struct kohort_customer *cu)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    customer_params(&p, cu);
    /* a duplicate e-mail or client reference is a conflict the API answers */
    rc = pg_exec_guarded(c, sql_customer_update, &p, &changed, "kohort customer update");
    return rc == STORE_OK && changed != 1 ? STORE_NOT_FOUND : rc;
}

enum store_rc
kohort_pg_customer_list(struct store_conn *c, const struct kohort_list_query *q,
                        struct kohort_customer **rows, size_t *n, int64_t *count)
{
    static const struct colmap map[] = {
        {"created_at", "created_ms"}, {"updated_at", "updated_ms"},
        {"email_address", "email"},   {"first_name", "first_name"},
        {"last_name", "last_name"},   {"client_reference_id", "client_ref"},
        {"is_blocked", "blocked"},    {NULL, NULL},
    };
    char page[4096], cnt[4096];
    struct pg_params p = {0};
    void *out = NULL;
    enum store_rc rc;

    *rows = NULL;
    *n = 0;
    *count = 0;
    rc = list_build(q, map, "SELECT " CUSTOMER_COLS " FROM kohort_customers",
                    "SELECT count(*) FROM kohort_customers",
                    "org_id = $1 AND mode = $2 AND $3::text IS NULL", NULL, page, sizeof page, cnt,
                    sizeof cnt, &p);
    if (rc == STORE_OK)
        rc = list_run(c, page, cnt, &p, sizeof **rows, customer_from, customers_free_void, &out, n,
                      count, "kohort customer list");
    *rows = out;
    return rc;
}

/* ---- orders ---- */

enum store_rc
kohort_pg_link_insert(struct store_conn *c, const struct kohort_link *l)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long added = 0;

    key_params(&p, l->org_id, l->mode, l->order_id);
    pg_p_text(&p, l->group_id);
    pg_p_text(&p, l->customer_id);
    pg_p_text(&p, l->customer_email);
    pg_p_text(&p, l->customer_phone);
    pg_p_text(&p, l->client_ref);
    pg_p_text(&p, l->status);
    pg_p_int(&p, l->amount);
    pg_p_int(&p, l->created_ms);
    rc = pg_exec(c, sql_link_insert, &p, &added, "kohort link insert");
    return rc == STORE_OK && added == 0 ? STORE_CONFLICT : rc;
}

enum store_rc
kohort_pg_link_email_used(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *group_id, const char *email, bool *used)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    key_params(&p, org_id, mode, group_id);
    pg_p_text(&p, email);
    res = pg_query(c, sql_link_email, &p, &rc, "kohort link email");
    *used = res != NULL && PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

enum store_rc
kohort_pg_link_set_status(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *order_id, const char *status, int64_t amount_cashback)
{
    struct pg_params p = {0};

    key_params(&p, org_id, mode, order_id);
    pg_p_text(&p, status);
    if (amount_cashback < 0)
        pg_p_text(&p, NULL);
    else
        pg_p_int(&p, amount_cashback);
    return pg_exec(c, sql_link_status, &p, NULL, "kohort link status");
}

enum store_rc
kohort_pg_group_order_ids(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *group_id, char (**ids)[IDS_UUID_LEN], size_t *n)
{
    struct pg_params p = {0};
    void *out = NULL;
    enum store_rc rc;

    key_params(&p, org_id, mode, group_id);
    rc = all_rows(c, sql_group_orders, &p, true, sizeof **ids, id_from, ids_free_void, &out, n,
                  "kohort group orders");
    *ids = out;
    return rc;
}

enum store_rc
kohort_pg_order_list(struct store_conn *c, const struct kohort_list_query *q, const char *group_id,
                     struct order_row **rows, size_t *n, int64_t *count)
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
    char page[4096], cnt[4096];
    struct pg_params p = {0};
    void *out = NULL;
    enum store_rc rc;

    *rows = NULL;
    *n = 0;
    *count = 0;
    rc = list_build(q, map,
                    "SELECT " ORDER_COLS " FROM kohort_orders k JOIN orders o ON "
                    "o.org_id = k.org_id AND o.mode = k.mode AND o.id = k.order_id",
                    "SELECT count(*) FROM kohort_orders k JOIN orders o ON "
                    "o.org_id = k.org_id AND o.mode = k.mode AND o.id = k.order_id",
                    "k.org_id = $1 AND k.mode = $2 AND ($3::text IS NULL OR k.group_id = $3::text)",
                    group_id, page, sizeof page, cnt, sizeof cnt, &p);
    if (rc == STORE_OK)
        rc = list_run(c, page, cnt, &p, sizeof **rows, order_from, orders_free_void, &out, n, count,
                      "kohort order list");
    *rows = out;
    return rc;
}

enum store_rc
kohort_pg_order_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                    struct order_row *out)
{
    struct pg_params p = {0};

    memset(out, 0, sizeof *out);
    key_params(&p, org_id, mode, id);
    return one_row(c, sql_order_get, &p, order_from, out, "kohort order get");
}

enum store_rc
kohort_pg_order_update(struct store_conn *c, const struct order_row *next, int64_t cur_version)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    key_params(&p, next->org_id, next->mode, next->id);
    pg_p_text(&p, next->status);
    pg_p_text(&p, next->customer_email);
    pg_p_int(&p, next->version);
    pg_p_int(&p, next->updated_ms);
    pg_p_text(&p, next->body);
    pg_p_int(&p, cur_version);
    rc = pg_exec(c, sql_order_update, &p, &changed, "kohort order update");
    return rc == STORE_OK && changed != 1 ? STORE_CONFLICT : rc;
}

enum store_rc
kohort_pg_event_insert(struct store_conn *c, const struct event_row *e)
{
    struct pg_params p = {0};
    enum store_rc rc;

    key_params(&p, e->org_id, e->mode, e->id);
    pg_p_text(&p, e->type);
    pg_p_text(&p, e->order_id);
    pg_p_int(&p, e->created_ms);
    pg_p_text(&p, e->request_id);
    pg_p_text(&p, e->data);
    rc = pg_exec(c, sql_event_insert, &p, NULL, "kohort event insert");
    return rc == STORE_OK ? pg_webhook_fanout(c, e) : rc; /* the outbox */
}

static enum store_rc
count_one(struct store_conn *c, const char *sql, const char *org_id, enum key_mode mode,
          const char *key, int64_t since_ms, int *out)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    *out = 0;
    if (key == NULL)
        return STORE_OK;
    key_params(&p, org_id, mode, key);
    pg_p_int(&p, since_ms);
    res = pg_query(c, sql, &p, &rc, "kohort risk count");
    if (res != NULL)
        *out = (int)pg_i64(res, 0, 0);
    PQclear(res);
    return rc;
}

enum store_rc
kohort_pg_risk_stats(struct store_conn *c, const char *org_id, enum key_mode mode,
                     const char *email, const char *phone, int64_t since_ms, int *n_email,
                     int *n_phone, int64_t *mean_amount, int *n_history)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    *mean_amount = 0;
    *n_history = 0;
    rc = count_one(c, sql_risk_email, org_id, mode, email, since_ms, n_email);
    if (rc == STORE_OK)
        rc = count_one(c, sql_risk_phone, org_id, mode, phone, since_ms, n_phone);
    if (rc != STORE_OK)
        return rc;
    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    res = pg_query(c, sql_risk_mean, &p, &rc, "kohort risk mean");
    if (res != NULL) {
        *n_history = (int)pg_i64(res, 0, 0);
        *mean_amount = (int64_t)pg_double(res, 0, 1);
    }
    PQclear(res);
    return rc;
}

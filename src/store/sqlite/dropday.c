/* SPDX-License-Identifier: MIT */
/*
 * dropday.c -- the SQLite tables and queries of the dropday API (store/dropday_store.h).
 */
#include "store/dropday_store.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/sqlite/store_sqlite_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: reference sequence, reference -> order, suppliers, products */
    "CREATE TABLE dropday_counters ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  last INTEGER NOT NULL,"
    "  PRIMARY KEY (org_id, mode));"
    "CREATE TABLE dropday_orders ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  reference INTEGER NOT NULL,"
    "  order_id TEXT NOT NULL,"
    "  external_id TEXT NOT NULL,"
    "  test INTEGER NOT NULL,"
    "  blocked INTEGER NOT NULL DEFAULT 0,"
    "  total REAL NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (org_id, mode, reference),"
    "  UNIQUE (org_id, mode, order_id));"
    "CREATE INDEX dropday_orders_created ON dropday_orders(org_id, mode, created_ms);"
    "CREATE TABLE dropday_suppliers ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  UNIQUE (org_id, mode, name));"
    "CREATE TABLE dropday_order_suppliers ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  reference INTEGER NOT NULL,"
    "  supplier_id INTEGER NOT NULL,"
    "  PRIMARY KEY (org_id, mode, reference, supplier_id));"
    "CREATE INDEX dropday_order_suppliers_s ON dropday_order_suppliers(org_id, mode, supplier_id);"
    "CREATE TABLE dropday_products ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  external_id TEXT NOT NULL,"
    "  sku TEXT,"
    "  ean13 TEXT,"
    "  name TEXT NOT NULL,"
    "  purchase_price REAL,"
    "  stock_quantity INTEGER,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  UNIQUE (org_id, mode, external_id));",
};

const struct sqlite_migrations sqlite_migrations_dropday = {
    "dropday", migrations, (int)(sizeof migrations / sizeof migrations[0])};

/* Steps a statement that returns at most one row; STORE_NOT_FOUND when none. */
static enum store_rc
step_one(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return STORE_OK;
    if (rc == SQLITE_DONE)
        return STORE_NOT_FOUND;
    return store_sqlite_rc(c, rc, what);
}

static enum store_rc
step_done(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return STORE_OK;
    return store_sqlite_rc(c, rc, what);
}

enum store_rc
dropday_sqlite_next_reference(struct store_conn *c, const char *org_id, enum key_mode mode,
                              int64_t *ref)
{
    static const char sql[] =
        "INSERT INTO dropday_counters (org_id, mode, last) VALUES (?1, ?2, 1)"
        " ON CONFLICT (org_id, mode) DO UPDATE SET last = last + 1 RETURNING last";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    rc = step_one(c, st, "dropday reference");
    if (rc == STORE_OK)
        *ref = sqlite3_column_int64(st, 0);
    else if (rc == STORE_NOT_FOUND)
        rc = STORE_FAIL;
    sqlite3_reset(st);
    return rc;
}

enum store_rc
dropday_sqlite_supplier_id(struct store_conn *c, const char *org_id, enum key_mode mode,
                           const char *name, int64_t *id)
{
    static const char sql[] =
        "INSERT INTO dropday_suppliers (org_id, mode, name) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (org_id, mode, name) DO UPDATE SET name = excluded.name RETURNING id";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, name);
    rc = step_one(c, st, "dropday supplier");
    if (rc == STORE_OK)
        *id = sqlite3_column_int64(st, 0);
    else if (rc == STORE_NOT_FOUND)
        rc = STORE_FAIL;
    sqlite3_reset(st);
    return rc;
}

enum store_rc
dropday_sqlite_order_insert(struct store_conn *c, const struct dropday_order_rec *r,
                            const int64_t *supplier_ids, size_t n_suppliers)
{
    static const char sql[] =
        "INSERT INTO dropday_orders (org_id, mode, reference, order_id, external_id, test,"
        " total, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    static const char sql_sup[] = "INSERT OR IGNORE INTO dropday_order_suppliers"
                                  " (org_id, mode, reference, supplier_id) VALUES (?1, ?2, ?3, ?4)";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, r->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(r->mode));
    sqlite3_bind_int64(st, 3, r->reference);
    store_sqlite_bind_text(st, 4, r->order_id);
    store_sqlite_bind_text(st, 5, r->external_id);
    sqlite3_bind_int(st, 6, r->test ? 1 : 0);
    sqlite3_bind_double(st, 7, r->total);
    sqlite3_bind_int64(st, 8, r->created_ms);
    rc = step_done(c, st, "dropday order insert");
    sqlite3_reset(st);
    for (size_t i = 0; rc == STORE_OK && i < n_suppliers; i++) {
        st = store_sqlite_stmt(c, sql_sup);
        if (st == NULL)
            return STORE_FAIL;
        store_sqlite_bind_text(st, 1, r->org_id);
        store_sqlite_bind_text(st, 2, store_sqlite_mode_text(r->mode));
        sqlite3_bind_int64(st, 3, r->reference);
        sqlite3_bind_int64(st, 4, supplier_ids[i]);
        rc = step_done(c, st, "dropday order supplier");
        sqlite3_reset(st);
    }
    return rc;
}

enum store_rc
dropday_sqlite_product_upsert(struct store_conn *c, const char *org_id, enum key_mode mode,
                              const struct dropday_product_rec *p, int64_t now_ms)
{
    static const char sql[] =
        "INSERT INTO dropday_products (org_id, mode, external_id, sku, ean13, name,"
        " purchase_price, stock_quantity, created_ms, updated_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
        " ON CONFLICT (org_id, mode, external_id) DO UPDATE SET sku = excluded.sku,"
        " ean13 = excluded.ean13, name = excluded.name,"
        " purchase_price = excluded.purchase_price, stock_quantity = excluded.stock_quantity,"
        " updated_ms = excluded.updated_ms";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, p->external_id);
    store_sqlite_bind_text(st, 4, p->sku);
    store_sqlite_bind_text(st, 5, p->ean13);
    store_sqlite_bind_text(st, 6, p->name);
    if (p->has_purchase_price)
        sqlite3_bind_double(st, 7, p->purchase_price);
    else
        sqlite3_bind_null(st, 7);
    if (p->has_stock)
        sqlite3_bind_int64(st, 8, p->stock_quantity);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_int64(st, 9, now_ms);
    rc = step_done(c, st, "dropday product");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
dropday_sqlite_reference_of(struct store_conn *c, const char *org_id, enum key_mode mode,
                            const char *order_id, int64_t *ref)
{
    static const char sql[] = "SELECT reference FROM dropday_orders"
                              " WHERE org_id = ?1 AND mode = ?2 AND order_id = ?3";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, order_id);
    rc = step_one(c, st, "dropday reference of");
    if (rc == STORE_OK)
        *ref = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc;
}

static int
hit_fill(sqlite3_stmt *st, struct dropday_hit *h)
{
    const unsigned char *s = sqlite3_column_text(st, 1);

    memset(h, 0, sizeof *h);
    h->reference = sqlite3_column_int64(st, 0);
    if (s != NULL)
        snprintf(h->status, sizeof h->status, "%s", (const char *)s);
    h->created_ms = sqlite3_column_int64(st, 2);
    h->updated_ms = sqlite3_column_int64(st, 3);
    h->body = store_sqlite_col_dup(st, 4);
    h->body_len = h->body != NULL ? strlen(h->body) : 0;
    return h->body != NULL ? 0 : -1;
}

enum store_rc
dropday_sqlite_order_get(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t ref,
                         struct dropday_hit *out)
{
    static const char sql[] = "SELECT d.reference, o.status, o.created_ms, o.updated_ms, o.body"
                              " FROM dropday_orders d JOIN orders o"
                              " ON o.org_id = d.org_id AND o.mode = d.mode AND o.id = d.order_id"
                              " WHERE d.org_id = ?1 AND d.mode = ?2 AND d.reference = ?3";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql);
    enum store_rc rc;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    sqlite3_bind_int64(st, 3, ref);
    rc = step_one(c, st, "dropday order get");
    if (rc == STORE_OK && hit_fill(st, out) != 0)
        rc = STORE_FAIL;
    sqlite3_reset(st);
    return rc;
}

#define DROPDAY_WHERE                                                                              \
    " FROM dropday_orders d JOIN orders o"                                                         \
    " ON o.org_id = d.org_id AND o.mode = d.mode AND o.id = d.order_id"                            \
    " WHERE d.org_id = ?1 AND d.mode = ?2"                                                         \
    " AND (?3 IS NULL OR instr(lower(d.external_id), lower(?3)) > 0)"                              \
    " AND (?4 IS NULL OR d.created_ms >= ?4) AND (?5 IS NULL OR d.created_ms <= ?5)"               \
    " AND (?6 IS NULL OR d.total >= ?6) AND (?7 IS NULL OR d.total <= ?7)"                         \
    " AND (?8 IS NULL OR d.blocked = ?8) AND (?9 = 1 OR d.test = 0)"                               \
    " AND (?10 IS NULL OR instr(?10, ',' || o.status || ',') > 0)"                                 \
    " AND (?11 IS NULL OR EXISTS (SELECT 1 FROM dropday_order_suppliers s"                         \
    " WHERE s.org_id = d.org_id AND s.mode = d.mode AND s.reference = d.reference"                 \
    " AND instr(?11, ',' || s.supplier_id || ',') > 0))"

static void
bind_query(sqlite3_stmt *st, const struct dropday_query *q)
{
    store_sqlite_bind_text(st, 1, q->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(q->mode));
    store_sqlite_bind_text(st, 3, q->external_id);
    if (q->has_from)
        sqlite3_bind_int64(st, 4, q->from_ms);
    if (q->has_to)
        sqlite3_bind_int64(st, 5, q->to_ms);
    if (q->has_min)
        sqlite3_bind_double(st, 6, q->total_min);
    if (q->has_max)
        sqlite3_bind_double(st, 7, q->total_max);
    if (q->blocked >= 0)
        sqlite3_bind_int(st, 8, q->blocked);
    sqlite3_bind_int(st, 9, q->include_test ? 1 : 0);
    store_sqlite_bind_text(st, 10, q->statuses);
    store_sqlite_bind_text(st, 11, q->supplier_ids);
}

enum store_rc
dropday_sqlite_order_list(struct store_conn *c, const struct dropday_query *q,
                          struct dropday_hit **hits, size_t *n, int64_t *total)
{
    static const char sql_count[] = "SELECT count(*)" DROPDAY_WHERE;
    static const char sql[] =
        "SELECT d.reference, o.status, o.created_ms, o.updated_ms, o.body" DROPDAY_WHERE
        " ORDER BY d.reference DESC LIMIT ?12 OFFSET ?13";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_count);
    struct dropday_hit *out = NULL;
    size_t cnt = 0;
    enum store_rc rc;
    int src;

    *hits = NULL;
    *n = 0;
    *total = 0;
    if (st == NULL)
        return STORE_FAIL;
    bind_query(st, q);
    rc = step_one(c, st, "dropday order count");
    if (rc == STORE_OK)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != STORE_OK)
        return rc;
    st = store_sqlite_stmt(c, sql);
    if (st == NULL)
        return STORE_FAIL;
    bind_query(st, q);
    sqlite3_bind_int64(st, 12, q->limit);
    sqlite3_bind_int64(st, 13, q->offset);
    out = calloc((size_t)(q->limit > 0 ? q->limit : 1), sizeof *out);
    if (out == NULL) {
        sqlite3_reset(st);
        return STORE_FAIL;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW && cnt < (size_t)q->limit) {
        if (hit_fill(st, &out[cnt++]) != 0) {
            src = SQLITE_NOMEM;
            break;
        }
    }
    rc = src == SQLITE_DONE || src == SQLITE_ROW ? STORE_OK
                                                 : store_sqlite_rc(c, src, "dropday order list");
    sqlite3_reset(st);
    if (rc != STORE_OK) {
        dropday_hits_free(out, cnt);
        return rc;
    }
    *hits = out;
    *n = cnt;
    return STORE_OK;
}

enum store_rc
dropday_sqlite_product_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                            int64_t limit, int64_t offset, struct dropday_product_rec **rows,
                            size_t *n, int64_t *total)
{
    static const char sql_count[] =
        "SELECT count(*) FROM dropday_products WHERE org_id = ?1 AND mode = ?2";
    static const char sql[] =
        "SELECT id, external_id, sku, ean13, name, purchase_price, stock_quantity, created_ms,"
        " updated_ms FROM dropday_products WHERE org_id = ?1 AND mode = ?2"
        " ORDER BY id LIMIT ?3 OFFSET ?4";
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_count);
    struct dropday_product_rec *out;
    size_t cnt = 0;
    enum store_rc rc;
    int src;

    *rows = NULL;
    *n = 0;
    *total = 0;
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    rc = step_one(c, st, "dropday product count");
    if (rc == STORE_OK)
        *total = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != STORE_OK)
        return rc;
    st = store_sqlite_stmt(c, sql);
    if (st == NULL)
        return STORE_FAIL;
    out = calloc((size_t)(limit > 0 ? limit : 1), sizeof *out);
    if (out == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    sqlite3_bind_int64(st, 3, limit);
    sqlite3_bind_int64(st, 4, offset);
    while ((src = sqlite3_step(st)) == SQLITE_ROW && cnt < (size_t)limit) {
        struct dropday_product_rec *p = &out[cnt++];
        p->id = sqlite3_column_int64(st, 0);
        p->external_id = store_sqlite_col_dup(st, 1);
        p->sku = store_sqlite_col_dup(st, 2);
        p->ean13 = store_sqlite_col_dup(st, 3);
        p->name = store_sqlite_col_dup(st, 4);
        p->has_purchase_price = sqlite3_column_type(st, 5) != SQLITE_NULL;
        p->purchase_price = sqlite3_column_double(st, 5);
        p->has_stock = sqlite3_column_type(st, 6) != SQLITE_NULL;
        p->stock_quantity = sqlite3_column_int64(st, 6);
        p->created_ms = sqlite3_column_int64(st, 7);
        p->updated_ms = sqlite3_column_int64(st, 8);
        if (p->external_id == NULL || p->name == NULL) {
            src = SQLITE_NOMEM;
            break;
        }
    }
    rc = src == SQLITE_DONE || src == SQLITE_ROW ? STORE_OK
                                                 : store_sqlite_rc(c, src, "dropday product list");
    sqlite3_reset(st);
    if (rc != STORE_OK) {
        dropday_products_free(out, cnt);
        return rc;
    }
    *rows = out;
    *n = cnt;
    return STORE_OK;
}

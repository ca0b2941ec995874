/* SPDX-License-Identifier: MIT */
/*
 * threekit.c -- the SQLite queries of the Threekit API (store/threekit_store.h). The
 * Threekit fields of an order live in its stored body under "threekit" (the /v1 order
 * plus that key), so the list filters read them with json_extract from the core orders
 * table, restricted to the org, mode and dialect by the primary key prefix. No tables of
 * its own yet.
 */
#include "store/sqlite/store_sqlite_api.h"
#include "store/sqlite/store_sqlite_int.h"
#include "store/threekit_store.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {NULL};

const struct sqlite_migrations sqlite_migrations_threekit = {"threekit", migrations, 0};

#define TK_FILTERS                                                                                 \
    " FROM orders WHERE org_id = ?1 AND mode = ?2 AND dialect = 'threekit'"                        \
    " AND (?3 IS NULL OR short_id = ?3)"                                                           \
    " AND (?4 = 0 OR json_extract(body, '$.threekit.originOrgId') IS ?5)"                          \
    " AND (?6 = 0 OR json_extract(body, '$.threekit.platform.id') IS ?7)"                          \
    " AND (?8 = 0 OR json_extract(body, '$.threekit.platform.platform') IS ?9)"                    \
    " AND (?10 = 0 OR json_extract(body, '$.threekit.platform.storeName') IS ?11)"
#define TK_SELECT                                                                                  \
    "SELECT id, short_id, status, version, created_ms, updated_ms, body" TK_FILTERS " ORDER BY "
#define TK_PAGE " LIMIT ?12 OFFSET ?13"

/* [sort][descending] */
static const char *const list_sql[4][2] = {
    /* ids are UUIDv7 made from created_ms: id order is creation order, on the key */
    {TK_SELECT "id ASC" TK_PAGE, TK_SELECT "id DESC" TK_PAGE},
    {TK_SELECT "updated_ms ASC, id ASC" TK_PAGE, TK_SELECT "updated_ms DESC, id DESC" TK_PAGE},
    {TK_SELECT "json_extract(body, '$.threekit.name') ASC, id ASC" TK_PAGE,
     TK_SELECT "json_extract(body, '$.threekit.name') DESC, id DESC" TK_PAGE},
    {TK_SELECT "short_id ASC" TK_PAGE, TK_SELECT "short_id DESC" TK_PAGE},
};

static const char count_sql[] = "SELECT count(*)" TK_FILTERS;

struct list_ctx {
    const struct threekit_list_query *q;
    struct order_row *rows;
    size_t n;
    int64_t count;
};

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void
bind_filter(sqlite3_stmt *st, int i, const struct threekit_filter *f)
{
    sqlite3_bind_int(st, i, f->set ? 1 : 0);
    bind_text(st, i + 1, f->set ? f->value : NULL);
}

static void
bind_filters(sqlite3_stmt *st, const struct threekit_list_query *q)
{
    bind_text(st, 1, q->org_id);
    bind_text(st, 2, q->mode == MODE_LIVE ? "live" : "test");
    bind_text(st, 3, q->short_id);
    bind_filter(st, 4, &q->origin_org_id);
    bind_filter(st, 6, &q->platform_id);
    bind_filter(st, 8, &q->platform_name);
    bind_filter(st, 10, &q->store_name);
}

static int
row_from(sqlite3_stmt *st, struct order_row *r)
{
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *sid = (const char *)sqlite3_column_text(st, 1);
    const char *status = (const char *)sqlite3_column_text(st, 2);
    const char *body = (const char *)sqlite3_column_text(st, 6);

    memset(r, 0, sizeof *r);
    if (id == NULL || sid == NULL || status == NULL || body == NULL)
        return -1;
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->short_id, sizeof r->short_id, "%s", sid);
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->dialect, sizeof r->dialect, "threekit");
    r->version = sqlite3_column_int64(st, 3);
    r->created_ms = sqlite3_column_int64(st, 4);
    r->updated_ms = sqlite3_column_int64(st, 5);
    r->body_len = (size_t)sqlite3_column_bytes(st, 6);
    r->body = malloc(r->body_len + 1);
    if (r->body == NULL)
        return -1;
    memcpy(r->body, body, r->body_len + 1);
    return 0;
}

static enum store_rc
list_on(struct store_conn *c, void *arg)
{
    struct list_ctx *x = arg;
    const struct threekit_list_query *q = x->q;
    sqlite3_stmt *st = store_sqlite_stmt(c, count_sql);
    enum store_rc rc = STORE_FAIL;
    int r;

    if (st == NULL)
        return STORE_FAIL;
    bind_filters(st, q);
    r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        rc = store_sqlite_rc(c, r, "threekit count");
        goto out;
    }
    x->count = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    st = NULL;
    if (x->count <= q->offset)
        return STORE_OK;
    st = store_sqlite_stmt(c, list_sql[q->sort][q->descending ? 1 : 0]);
    x->rows = calloc((size_t)q->limit, sizeof *x->rows);
    if (st == NULL || x->rows == NULL)
        goto out;
    bind_filters(st, q);
    sqlite3_bind_int(st, 12, q->limit);
    sqlite3_bind_int64(st, 13, q->offset);
    r = SQLITE_DONE;
    while (x->n < (size_t)q->limit && (r = sqlite3_step(st)) == SQLITE_ROW)
        if (row_from(st, &x->rows[x->n++]) != 0)
            goto out;
    rc = r == SQLITE_ROW || r == SQLITE_DONE ? STORE_OK : store_sqlite_rc(c, r, "threekit list");
out:
    if (st != NULL)
        sqlite3_reset(st);
    return rc;
}

enum store_rc
threekit_sqlite_list(struct store *s, const struct threekit_list_query *q, struct order_row **rows,
                     size_t *n, int64_t *count)
{
    struct list_ctx x = {q, NULL, 0, 0};
    enum store_rc rc = s->ops->read(s, list_on, &x);

    if (rc != STORE_OK) {
        order_rows_free(x.rows, x.n);
        x.rows = NULL;
        x.n = 0;
        x.count = 0;
    }
    *rows = x.rows;
    *n = x.n;
    *count = x.count;
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * threekit.c -- the PostgreSQL queries of the Threekit API (store/threekit_store.h). The
 * Threekit fields of an order live in its stored body under "threekit", so the list
 * filters read them with jsonb path operators from the core orders table, restricted to
 * the org, mode and dialect by the primary key prefix. No tables of its own yet.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct pg_migrations pg_migrations_threekit = {"threekit", NULL, 0};

/* a JSON null or a missing member reads as SQL NULL and matches a NULL filter value */
#define TK_FIELD(path, set, value)                                                                 \
    " AND ($" set "::integer = 0 OR (body::jsonb #>> '{threekit," path "}') IS NOT DISTINCT "      \
    "FROM $" value "::text)"
#define TK_FILTERS                                                                                 \
    " FROM orders WHERE org_id = $1 AND mode = $2 AND dialect = 'threekit'"                        \
    " AND ($3::text IS NULL OR short_id = $3::text)" TK_FIELD("originOrgId", "4", "5")             \
        TK_FIELD("platform,id", "6", "7") TK_FIELD("platform,platform", "8", "9")                  \
            TK_FIELD("platform,storeName", "10", "11")
#define TK_SELECT                                                                                  \
    "SELECT id, short_id, status, version, created_ms, updated_ms, body" TK_FILTERS " ORDER BY "
#define TK_PAGE " LIMIT $12 OFFSET $13"
#define TK_NAME "(body::jsonb #>> '{threekit,name}') COLLATE \"C\""

/* [sort][descending]; NULL names sort first ascending, as in SQLite */
static const char *const list_sql[4][2] = {
    /* ids are UUIDv7 made from created_ms: id order is creation order, on the key */
    {TK_SELECT "id ASC" TK_PAGE, TK_SELECT "id DESC" TK_PAGE},
    {TK_SELECT "updated_ms ASC, id ASC" TK_PAGE, TK_SELECT "updated_ms DESC, id DESC" TK_PAGE},
    {TK_SELECT TK_NAME " ASC NULLS FIRST, id ASC" TK_PAGE,
     TK_SELECT TK_NAME " DESC NULLS LAST, id DESC" TK_PAGE},
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
filter_params(struct pg_params *p, const struct threekit_filter *f)
{
    pg_p_int(p, f->set ? 1 : 0);
    pg_p_text(p, f->set ? f->value : NULL);
}

static void
query_params(struct pg_params *p, const struct threekit_list_query *q)
{
    pg_p_text(p, q->org_id);
    pg_p_mode(p, q->mode);
    pg_p_text(p, q->short_id);
    filter_params(p, &q->origin_org_id);
    filter_params(p, &q->platform_id);
    filter_params(p, &q->platform_name);
    filter_params(p, &q->store_name);
}

static int
row_from(const PGresult *res, int r, void *row)
{
    struct order_row *o = row;

    memset(o, 0, sizeof *o);
    pg_copy(res, r, 0, o->id, sizeof o->id);
    pg_copy(res, r, 1, o->short_id, sizeof o->short_id);
    pg_copy(res, r, 2, o->status, sizeof o->status);
    snprintf(o->dialect, sizeof o->dialect, "threekit");
    o->version = pg_i64(res, r, 3);
    o->created_ms = pg_i64(res, r, 4);
    o->updated_ms = pg_i64(res, r, 5);
    o->body = pg_dup(res, r, 6);
    o->body_len = o->body != NULL ? (size_t)PQgetlength(res, r, 6) : 0;
    return o->body != NULL ? 0 : -1;
}

static void
rows_free_void(void *rows, size_t n)
{
    order_rows_free(rows, n);
}

static enum store_rc
list_on(struct store_conn *c, void *arg)
{
    struct list_ctx *x = arg;
    const struct threekit_list_query *q = x->q;
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;
    void *out = NULL;

    query_params(&p, q);
    res = pg_query(c, count_sql, &p, &rc, "threekit count");
    if (res != NULL)
        x->count = pg_i64(res, 0, 0);
    PQclear(res);
    if (rc != STORE_OK || x->count <= q->offset)
        return rc;
    pg_p_int(&p, q->limit);
    pg_p_int(&p, q->offset);
    res = pg_query(c, list_sql[q->sort][q->descending ? 1 : 0], &p, &rc, "threekit list");
    if (res != NULL)
        rc = pg_collect(res, sizeof *x->rows, row_from, rows_free_void, &out, &x->n);
    PQclear(res);
    x->rows = out;
    return rc;
}

enum store_rc
threekit_pg_list(struct store *s, const struct threekit_list_query *q, struct order_row **rows,
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

/* SPDX-License-Identifier: MIT */
/*
 * dropday_store.c -- sends each call of store/dropday_store.h to the backend of the
 * connection it is given (store/sqlite/dropday.c or store/pg/dropday.c); the row freeing
 * both share.
 */
#include "store/dropday_store.h"

#include "store/pg/store_pg_api.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_int.h"

#include <stdlib.h>

enum store_rc
dropday_store_next_reference(struct store_conn *c, const char *org_id, enum key_mode mode,
                             int64_t *ref)
{
    if (store_conn_is_pg(c))
        return dropday_pg_next_reference(c, org_id, mode, ref);
    return dropday_sqlite_next_reference(c, org_id, mode, ref);
}

enum store_rc
dropday_store_supplier_id(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *name, int64_t *id)
{
    if (store_conn_is_pg(c))
        return dropday_pg_supplier_id(c, org_id, mode, name, id);
    return dropday_sqlite_supplier_id(c, org_id, mode, name, id);
}

enum store_rc
dropday_store_order_insert(struct store_conn *c, const struct dropday_order_rec *r,
                           const int64_t *supplier_ids, size_t n_suppliers)
{
    if (store_conn_is_pg(c))
        return dropday_pg_order_insert(c, r, supplier_ids, n_suppliers);
    return dropday_sqlite_order_insert(c, r, supplier_ids, n_suppliers);
}

enum store_rc
dropday_store_product_upsert(struct store_conn *c, const char *org_id, enum key_mode mode,
                             const struct dropday_product_rec *p, int64_t now_ms)
{
    if (store_conn_is_pg(c))
        return dropday_pg_product_upsert(c, org_id, mode, p, now_ms);
    return dropday_sqlite_product_upsert(c, org_id, mode, p, now_ms);
}

enum store_rc
dropday_store_reference_of(struct store_conn *c, const char *org_id, enum key_mode mode,
                           const char *order_id, int64_t *ref)
{
    if (store_conn_is_pg(c))
        return dropday_pg_reference_of(c, org_id, mode, order_id, ref);
    return dropday_sqlite_reference_of(c, org_id, mode, order_id, ref);
}

enum store_rc
dropday_store_order_get(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t ref,
                        struct dropday_hit *out)
{
    if (store_conn_is_pg(c))
        return dropday_pg_order_get(c, org_id, mode, ref, out);
    return dropday_sqlite_order_get(c, org_id, mode, ref, out);
}

enum store_rc
dropday_store_order_list(struct store_conn *c, const struct dropday_query *q,
                         struct dropday_hit **hits, size_t *n, int64_t *total)
{
    if (store_conn_is_pg(c))
        return dropday_pg_order_list(c, q, hits, n, total);
    return dropday_sqlite_order_list(c, q, hits, n, total);
}

enum store_rc
dropday_store_product_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                           int64_t limit, int64_t offset, struct dropday_product_rec **rows,
                           size_t *n, int64_t *total)
{
    if (store_conn_is_pg(c))
        return dropday_pg_product_list(c, org_id, mode, limit, offset, rows, n, total);
    return dropday_sqlite_product_list(c, org_id, mode, limit, offset, rows, n, total);
}

void
dropday_hits_free(struct dropday_hit *h, size_t n)
{
    for (size_t i = 0; h != NULL && i < n; i++)
        free(h[i].body);
    free(h);
}

void
dropday_products_free(struct dropday_product_rec *p, size_t n)
{
    for (size_t i = 0; p != NULL && i < n; i++) {
        free(p[i].external_id);
        free(p[i].sku);
        free(p[i].ean13);
        free(p[i].name);
    }
    free(p);
}

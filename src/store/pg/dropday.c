/* SPDX-License-Identifier: MIT */
/*
 * dropday.c -- the PostgreSQL side of store/dropday_store.h: not written yet; every call
 * answers STORE_UNAVAILABLE (the API answers 503) with a log line.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include "core/log.h"

const struct pg_migrations pg_migrations_dropday = {"dropday", NULL, 0};

enum store_rc
dropday_pg_next_reference(struct store_conn *c, const char *org_id, enum key_mode mode,
                          int64_t *ref)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)ref;
    log_error("store: the PostgreSQL store does not implement dropday yet (next_reference)");
    return STORE_UNAVAILABLE;
}

enum store_rc
dropday_pg_supplier_id(struct store_conn *c, const char *org_id, enum key_mode mode,
                       const char *name, int64_t *id)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)name;
    (void)id;
    log_error("store: the PostgreSQL store does not implement dropday yet (supplier_id)");
    return STORE_UNAVAILABLE;
}

enum store_rc
dropday_pg_order_insert(struct store_conn *c, const struct dropday_order_rec *r,
                        const int64_t *supplier_ids, size_t n_suppliers)
{
    (void)c;
    (void)r;
    (void)supplier_ids;
    (void)n_suppliers;
    log_error("store: the PostgreSQL store does not implement dropday yet (order_insert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
dropday_pg_product_upsert(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const struct dropday_product_rec *p, int64_t now_ms)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)p;
    (void)now_ms;
    log_error("store: the PostgreSQL store does not implement dropday yet (product_upsert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
dropday_pg_reference_of(struct store_conn *c, const char *org_id, enum key_mode mode,
                        const char *order_id, int64_t *ref)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)order_id;
    (void)ref;
    log_error("store: the PostgreSQL store does not implement dropday yet (reference_of)");
    return STORE_UNAVAILABLE;
}

enum store_rc
dropday_pg_order_get(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t ref,
                     struct dropday_hit *out)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)ref;
    (void)out;
    log_error("store: the PostgreSQL store does not implement dropday yet (order_get)");
    return STORE_UNAVAILABLE;
}

enum store_rc
dropday_pg_order_list(struct store_conn *c, const struct dropday_query *q,
                      struct dropday_hit **hits, size_t *n, int64_t *total)
{
    (void)c;
    (void)q;
    (void)hits;
    (void)n;
    (void)total;
    log_error("store: the PostgreSQL store does not implement dropday yet (order_list)");
    return STORE_UNAVAILABLE;
}

enum store_rc
dropday_pg_product_list(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t limit,
                        int64_t offset, struct dropday_product_rec **rows, size_t *n,
                        int64_t *total)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)limit;
    (void)offset;
    (void)rows;
    (void)n;
    (void)total;
    log_error("store: the PostgreSQL store does not implement dropday yet (product_list)");
    return STORE_UNAVAILABLE;
}

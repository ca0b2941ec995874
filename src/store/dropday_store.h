/* SPDX-License-Identifier: MIT */
/*
 * dropday_store.h -- the Dropday API's own tables, backend-neutral: the per-org
 * reference sequence, reference -> order mapping with the columns its list filters on,
 * the supplier names its orders mention and the products they name. Writes run inside
 * the order's create transaction (svc hooks); reads run through store_ops.read.
 */
#ifndef ORDERD_DROPDAY_STORE_H
#define ORDERD_DROPDAY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct dropday_order_rec {
    const char *org_id;
    enum key_mode mode;
    int64_t reference;
    const char *order_id;
    const char *external_id;
    bool test;
    double total;
    int64_t created_ms;
};

struct dropday_product_rec {
    int64_t id;
    char *external_id, *sku, *ean13, *name; /* owned when read */
    bool has_purchase_price, has_stock;
    double purchase_price;
    int64_t stock_quantity;
    int64_t created_ms, updated_ms;
};

/* One order as lists and reads see it. */
struct dropday_hit {
    int64_t reference;
    char status[16]; /* the canonical status */
    int64_t created_ms, updated_ms;
    char *body; /* owned */
    size_t body_len;
};

struct dropday_query {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *external_id; /* partial, case-insensitive; NULL = any */
    bool has_from, has_to, has_min, has_max;
    int64_t from_ms, to_ms;
    double total_min, total_max;
    int blocked; /* -1 any, 0, 1 */
    bool include_test;
    const char *statuses;     /* ",pending,canceled," canonical statuses, or NULL */
    const char *supplier_ids; /* ",1,7," or NULL */
    int64_t limit, offset;
};

/* Inside a write transaction. */
enum store_rc dropday_store_next_reference(struct store_conn *c, const char *org_id,
                                           enum key_mode mode, int64_t *ref);
enum store_rc dropday_store_supplier_id(struct store_conn *c, const char *org_id,
                                        enum key_mode mode, const char *name, int64_t *id);
enum store_rc dropday_store_order_insert(struct store_conn *c, const struct dropday_order_rec *r,
                                         const int64_t *supplier_ids, size_t n_suppliers);
enum store_rc dropday_store_product_upsert(struct store_conn *c, const char *org_id,
                                           enum key_mode mode, const struct dropday_product_rec *p,
                                           int64_t now_ms);

/* Reads (any connection). */
enum store_rc dropday_store_reference_of(struct store_conn *c, const char *org_id,
                                         enum key_mode mode, const char *order_id, int64_t *ref);
enum store_rc dropday_store_order_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                      int64_t ref, struct dropday_hit *out);
enum store_rc dropday_store_order_list(struct store_conn *c, const struct dropday_query *q,
                                       struct dropday_hit **hits, size_t *n, int64_t *total);
enum store_rc dropday_store_product_list(struct store_conn *c, const char *org_id,
                                         enum key_mode mode, int64_t limit, int64_t offset,
                                         struct dropday_product_rec **rows, size_t *n,
                                         int64_t *total);

void dropday_hits_free(struct dropday_hit *h, size_t n);
void dropday_products_free(struct dropday_product_rec *p, size_t n);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * threekit_store.h -- the Threekit API's own queries (GET /api/orders: filters on the
 * Threekit fields of an order, offset paging, a total count and a choice of sort).
 * Backend-neutral: each backend implements it in store/<backend>/threekit.c.
 */
#ifndef ORDERD_THREEKIT_STORE_H
#define ORDERD_THREEKIT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

enum threekit_sort { TK_SORT_CREATED, TK_SORT_UPDATED, TK_SORT_NAME, TK_SORT_SHORT_ID };

/* One optional string filter: when set, value NULL matches a JSON null or a missing
 * member. */
struct threekit_filter {
    bool set;
    const char *value;
};

struct threekit_list_query {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *short_id; /* NULL = any */
    struct threekit_filter origin_org_id, platform_id, platform_name, store_name;
    enum threekit_sort sort;
    bool descending;
    int64_t offset;
    int limit;
};

/* The Threekit orders of q's org and mode matching q, one page of them in *rows
 * (id, short_id, dialect, status, version, times and body filled; free with
 * order_rows_free) and the number of all matches in *count. */
enum store_rc threekit_store_list(struct store *s, const struct threekit_list_query *q,
                                  struct order_row **rows, size_t *n, int64_t *count);

#endif

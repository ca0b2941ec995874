/* SPDX-License-Identifier: MIT */
/*
 * threekit.c -- the PostgreSQL side of store/threekit_store.h: not written yet; every call
 * answers STORE_UNAVAILABLE (the API answers 503) with a log line.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include "core/log.h"

const struct pg_migrations pg_migrations_threekit = {"threekit", NULL, 0};

enum store_rc
threekit_pg_list(struct store *s, const struct threekit_list_query *q, struct order_row **rows,
                 size_t *n, int64_t *count)
{
    (void)s;
    (void)q;
    (void)rows;
    (void)n;
    (void)count;
    log_error("store: the PostgreSQL store does not implement threekit yet (list)");
    return STORE_UNAVAILABLE;
}

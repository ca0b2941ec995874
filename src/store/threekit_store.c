/* SPDX-License-Identifier: MIT */
/*
 * threekit_store.c -- sends threekit_store_list to the backend of the store
 * (store/sqlite/threekit.c or store/pg/threekit.c).
 */
#include "store/threekit_store.h"

#include "store/pg/store_pg_api.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_int.h"

enum store_rc
threekit_store_list(struct store *s, const struct threekit_list_query *q, struct order_row **rows,
                    size_t *n, int64_t *count)
{
    if (store_pg_is(s))
        return threekit_pg_list(s, q, rows, n, count);
    return threekit_sqlite_list(s, q, rows, n, count);
}

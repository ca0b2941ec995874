/* SPDX-License-Identifier: MIT */
/*
 * store_pg.c -- the PostgreSQL backend of store.h (not written yet).
 */
#include "store/store_int.h"

bool
store_pg_is(const struct store *s)
{
    (void)s;
    return false;
}

/* SPDX-License-Identifier: MIT */
/*
 * store_int.h -- shared inside store/ only: which backend a store or a connection
 * belongs to (the per-API dispatchers, store/<api>_store.c, pick the implementation
 * with it) and the webhook wake-up both backends call.
 */
#ifndef ORDERD_STORE_INT_H
#define ORDERD_STORE_INT_H

#include <stdbool.h>

#include "store/store.h"

enum store_backend { STORE_BACKEND_SQLITE = 0, STORE_BACKEND_PG = 1 };

/* Every backend's connection structure starts with its enum store_backend, so a
 * dispatcher can tell them apart through the opaque struct store_conn pointer. */
static inline bool
store_conn_is_pg(const struct store_conn *c)
{
    return *(const enum store_backend *)(const void *)c == STORE_BACKEND_PG;
}

/* True when s was opened by the PostgreSQL backend (store/pg/store_pg.c). */
bool store_pg_is(const struct store *s);

/* Tells the webhook worker that deliveries were queued (store/webhook_store.c). */
void wh_store_notify(void);

#endif

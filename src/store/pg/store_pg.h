/* SPDX-License-Identifier: MIT */
/*
 * store_pg.h -- the PostgreSQL backend of store.h (libpq).
 */
#ifndef ORDERD_STORE_PG_H
#define ORDERD_STORE_PG_H

#include <stddef.h>

struct store;

/* Connects to the server named by url ("postgres://…" or "postgresql://…", any libpq
 * connection URI). NULL with err when the server cannot be reached. */
struct store *store_pg_open(const char *url, char *err, size_t errlen);

#endif

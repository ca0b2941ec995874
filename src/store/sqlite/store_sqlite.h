/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite.h -- the embedded SQLite backend of store.h.
 */
#ifndef ORDERD_STORE_SQLITE_H
#define ORDERD_STORE_SQLITE_H

#include <stddef.h>

struct store;

/* Opens (creating if needed) the database file at path. NULL with err on failure. */
struct store *store_sqlite_open(const char *path, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * dropday.c -- the SQLite tables and queries of the dropday API.
 */
#include "store/sqlite/store_sqlite_int.h"

#include <stddef.h>

static const char *const migrations[] = {NULL};

const struct sqlite_migrations sqlite_migrations_dropday = {"dropday", migrations, 0};

/* SPDX-License-Identifier: MIT */
/*
 * cherry.c -- the SQLite tables and queries of the cherry API.
 */
#include "store/sqlite/store_sqlite_int.h"

#include <stddef.h>

static const char *const migrations[] = {NULL};

const struct sqlite_migrations sqlite_migrations_cherry = {"cherry", migrations, 0};

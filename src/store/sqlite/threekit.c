/* SPDX-License-Identifier: MIT */
/*
 * threekit.c -- the SQLite tables and queries of the threekit API.
 */
#include "store/sqlite/store_sqlite_int.h"

#include <stddef.h>

static const char *const migrations[] = {NULL};

const struct sqlite_migrations sqlite_migrations_threekit = {"threekit", migrations, 0};

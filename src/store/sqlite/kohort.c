/* SPDX-License-Identifier: MIT */
/*
 * kohort.c -- the SQLite tables and queries of the kohort API.
 */
#include "store/sqlite/store_sqlite_int.h"

#include <stddef.h>

static const char *const migrations[] = {NULL};

const struct sqlite_migrations sqlite_migrations_kohort = {"kohort", migrations, 0};

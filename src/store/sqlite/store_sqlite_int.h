/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_int.h -- for the SQLite files of each API (store/sqlite/<api>.c): the
 * native handle behind a struct store_conn, cached statements, result mapping, and
 * each API's schema migrations. Only files under store/sqlite/ include this.
 */
#ifndef ORDERD_STORE_SQLITE_INT_H
#define ORDERD_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* One component's migrations: sql[i] brings it from version i to i + 1. Applied
 * migrations are never edited, only appended to. */
struct sqlite_migrations {
    const char *component; /* "core", "cherry"... */
    const char *const *sql;
    int n;
};

extern const struct sqlite_migrations sqlite_migrations_cherry;
extern const struct sqlite_migrations sqlite_migrations_dropday;
extern const struct sqlite_migrations sqlite_migrations_threekit;
extern const struct sqlite_migrations sqlite_migrations_kohort;
extern const struct sqlite_migrations sqlite_migrations_webhooks;

/* Queues one webhook delivery per enabled endpoint of the event's org and mode that
 * subscribes to its type (one INSERT ... SELECT; store/sqlite/webhooks.c). Call it in the
 * savepoint that inserted the event, right after the insert. */
enum store_rc store_sqlite_webhook_fanout(struct store_conn *c, const struct event_row *e);

sqlite3 *store_sqlite_db(struct store_conn *c);
/* A statement for sql, prepared once per connection (keyed by the sql pointer: pass a
 * string literal or a static), reset and unbound. NULL on error (logged). */
sqlite3_stmt *store_sqlite_stmt(struct store_conn *c, const char *sql);
/* Maps an SQLite result code to a store result (constraint -> STORE_CONFLICT, I/O and
 * full disk -> STORE_UNAVAILABLE), logging unexpected ones with what. */
enum store_rc store_sqlite_rc(struct store_conn *c, int rc, const char *what);

#endif

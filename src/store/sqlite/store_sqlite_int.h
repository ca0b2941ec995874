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
extern const struct sqlite_migrations sqlite_migrations_dashboard;

/* Queues one webhook delivery per enabled endpoint of the event's org and mode that
 * subscribes to its type (one INSERT ... SELECT; store/sqlite/webhooks.c). Call it in the
 * savepoint that inserted the event, right after the insert. */
enum store_rc store_sqlite_webhook_fanout(struct store_conn *c, const struct event_row *e);

/* An event's data as readers must select it from events table (or alias) t: '' means the
 * event shares its order's current body (core schema migration 3). */
#define STORE_SQLITE_EVENT_DATA(t)                                                                 \
    "CASE WHEN " t ".data = '' THEN (SELECT o.body FROM orders o WHERE o.org_id = " t              \
    ".org_id AND o.mode = " t ".mode AND o.id = " t ".order_id) ELSE " t ".data END"

/* The order columns in the order store_sqlite_order_from reads them. */
#define STORE_SQLITE_ORDER_COLS                                                                    \
    "org_id, mode, id, short_id, dialect, external_id, status, currency, total_amount, "           \
    "customer_email, version, created_ms, updated_ms, body"

/* Row helpers shared by every API's SQL: modes as text, NULL-aware binding (the string
 * must live until the statement is stepped), copies of column text, and a whole order
 * row from STORE_SQLITE_ORDER_COLS (members malloc'd; order_row_free). */
const char *store_sqlite_mode_text(enum key_mode m);
enum key_mode store_sqlite_mode_parse(const unsigned char *t);
void store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s);
char *store_sqlite_col_dup(sqlite3_stmt *st, int i); /* malloc'd or NULL */
void store_sqlite_col_copy(sqlite3_stmt *st, int i, char *dst, size_t size);
int store_sqlite_order_from(sqlite3_stmt *st, struct order_row *r);
/* Steps st to its end, reading each row with from() into a new array of row_size
 * elements (zeroed before from() fills them). On failure free_rows() gets what was
 * read and *rows is NULL. *rows is malloc'd (NULL when no row); the caller frees it. */
enum store_rc store_sqlite_collect(struct store_conn *c, sqlite3_stmt *st, size_t row_size,
                                   int (*from)(sqlite3_stmt *st, void *row),
                                   void (*free_rows)(void *rows, size_t n), void **rows, size_t *n,
                                   const char *what);

/* The VFS every connection of the store opens with (store/sqlite/vfs.c): the default one,
 * with the writes of a commit to the WAL gathered into few calls until its sync.
 * Registered once by store_sqlite_vfs_init (0, or -1 when it could not be: then the
 * default VFS is used). Every connection that writes must use synchronous=FULL. */
#define STORE_SQLITE_VFS "orderd"
int store_sqlite_vfs_init(void);

sqlite3 *store_sqlite_db(struct store_conn *c);
/* A statement for sql, prepared once per connection (keyed by the sql pointer: pass a
 * string literal or a static), reset and unbound. NULL on error (logged). */
sqlite3_stmt *store_sqlite_stmt(struct store_conn *c, const char *sql);
/* Maps an SQLite result code to a store result (constraint -> STORE_CONFLICT, I/O and
 * full disk -> STORE_UNAVAILABLE), logging unexpected ones with what. */
enum store_rc store_sqlite_rc(struct store_conn *c, int rc, const char *what);

#endif

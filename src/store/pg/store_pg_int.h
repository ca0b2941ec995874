/* SPDX-License-Identifier: MIT */
/*
 * store_pg_int.h -- for the PostgreSQL files of each API (store/pg/<api>.c): parameters,
 * statements prepared once per connection, result mapping (SQLSTATE -> enum store_rc),
 * column readers and each API's schema migrations. Only files under store/pg/ include
 * this (it is the only way to libpq-fe.h).
 */
#ifndef ORDERD_STORE_PG_INT_H
#define ORDERD_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_int.h"

/* Text columns compare byte by byte whatever the database's locale, as in SQLite: ids
 * are paged with < and >, and lists sort the same on both backends. */
#define PG_TEXT "TEXT COLLATE \"C\""

/* One component's migrations: sql[i] brings it from version i to i + 1 (one or more
 * statements, run in the migration's transaction). Applied ones are never edited. */
struct pg_migrations {
    const char *component;
    const char *const *sql;
    int n;
};

extern const struct pg_migrations pg_migrations_cherry;
extern const struct pg_migrations pg_migrations_dropday;
extern const struct pg_migrations pg_migrations_threekit;
extern const struct pg_migrations pg_migrations_kohort;
extern const struct pg_migrations pg_migrations_webhooks;
extern const struct pg_migrations pg_migrations_dashboard;

#define PG_MAX_PARAMS 32

/* Statement parameters, all sent as text except bytea (binary). Values are borrowed:
 * they must live until the statement has run. */
struct pg_params {
    int n;
    const char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
};

void pg_p_text(struct pg_params *p, const char *s); /* NULL: SQL NULL */
void pg_p_int(struct pg_params *p, int64_t v);
void pg_p_ms(struct pg_params *p, int64_t ms); /* 0: SQL NULL */
void pg_p_double(struct pg_params *p, double v);
void pg_p_bytea(struct pg_params *p, const void *b, size_t len); /* NULL: SQL NULL */
void pg_p_mode(struct pg_params *p, enum key_mode m);

const char *pg_mode_text(enum key_mode m);
enum key_mode pg_mode_parse(const char *t);

/* Runs sql with p on c; sql is prepared once per connection and keyed by its pointer
 * (pass a string literal or a static). Returns the result (the caller PQclear()s it)
 * with *rc STORE_OK, or NULL with *rc mapped from the SQLSTATE and logged with what
 * (unique violations are not logged: callers turn them into conflicts). */
PGresult *pg_query(struct store_conn *c, const char *sql, const struct pg_params *p,
                   enum store_rc *rc, const char *what);
/* The same for SQL built at run time (not prepared). */
PGresult *pg_query_once(struct store_conn *c, const char *sql, const struct pg_params *p,
                        enum store_rc *rc, const char *what);
/* Runs a statement that returns no rows we need; *changed (may be NULL) gets the
 * number of rows it inserted, updated or deleted. */
enum store_rc pg_exec(struct store_conn *c, const char *sql, const struct pg_params *p,
                      long *changed, const char *what);
/* pg_exec inside a savepoint when c is in a transaction, so that a constraint
 * violation (STORE_CONFLICT) leaves the transaction usable for the caller's next
 * statement. For UPDATEs that can hit a unique key (INSERTs use ON CONFLICT). */
enum store_rc pg_exec_guarded(struct store_conn *c, const char *sql, const struct pg_params *p,
                              long *changed, const char *what);

/* Column readers (row r, column i). NULL text reads as "" / NULL / 0. */
bool pg_null(const PGresult *res, int r, int i);
char *pg_dup(const PGresult *res, int r, int i); /* malloc'd, NULL when SQL NULL */
void pg_copy(const PGresult *res, int r, int i, char *dst, size_t size);
int64_t pg_i64(const PGresult *res, int r, int i);
double pg_double(const PGresult *res, int r, int i);
/* A bytea column (text format) into a new buffer; -1 when NULL or on OOM. */
int pg_bytea(const PGresult *res, int r, int i, uint8_t **out, size_t *len);

/* The order columns in the order pg_order_from reads them (from column 0). */
#define PG_ORDER_COLS                                                                              \
    "org_id, mode, id, short_id, dialect, external_id, status, currency, total_amount, "           \
    "customer_email, version, created_ms, updated_ms, body"
int pg_order_from(const PGresult *res, int r, struct order_row *o);

/* Reads every row of res with from() into a new array of row_size elements (zeroed
 * first); on failure free_rows() gets what was read. *rows is NULL when there is none. */
enum store_rc pg_collect(const PGresult *res, size_t row_size,
                         int (*from)(const PGresult *res, int r, void *row),
                         void (*free_rows)(void *rows, size_t n), void **rows, size_t *n);

/* Queues one webhook delivery per enabled endpoint of the event's org and mode that
 * subscribes to its type (store/pg/webhooks.c); call it right after inserting e. */
enum store_rc pg_webhook_fanout(struct store_conn *c, const struct event_row *e);
/* The fan-out statement for pg_webhook_fanout's parameters: org_id, mode, event id,
 * type, created_ms. Used by the committer's pipeline too. */
extern const char pg_sql_fanout[];

#endif

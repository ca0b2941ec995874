/* SPDX-License-Identifier: MIT */
/*
 * store_pg.c -- PostgreSQL backend of store.h (with store/pg/<api>.c, the only users of
 * libpq-fe.h).
 *
 * A fixed pool of read connections serves the HTTP threads; one committer connection,
 * owned by the committer thread, does group commit: it takes every queued write, runs
 * them in one transaction and calls each w->done only after COMMIT has returned
 * (synchronous_commit on: the commit is flushed on the server before a 2xx). Plain
 * creates (no API hooks) go out as one pipeline (BEGIN, every statement, COMMIT, one
 * round trip for the batch); if any statement of the pipeline fails (a duplicate
 * external id or idempotency key, often from another orderd process), the transaction
 * is rolled back and the batch is run again statement by statement with a SAVEPOINT
 * per write, so one write's conflict does not undo the others. Writes with hooks always
 * take that path.
 *
 * Uniqueness holds in the database (unique keys, row locks taken with FOR UPDATE or a
 * conditional UPDATE), because several orderd processes may share the database. A lost
 * connection answers STORE_UNAVAILABLE and is opened again on next use, with a backoff.
 * SQL text and server messages go to the log only.
 */
#include "store/pg/store_pg.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/pg/store_pg_int.h"
#include "store/store.h"
#include "store/store_int.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PG_READ_CONNS   LIMIT_READ_CONNS
#define PG_STMTS        256     /* statements prepared per connection */
#define PG_BACKOFF_MIN  100     /* ms before the first reconnection attempt */
#define PG_BACKOFF_MAX  5000    /* ... doubling up to this */
#define TOUCH_MAX       256     /* distinct keys remembered between flushes */
#define TOUCH_FLUSH_MS  10000   /* last-used times reach the database this often */
#define EXPIRE_EVERY_MS 60000   /* expired idempotency records are deleted this often */
#define EXPIRE_ROWS     5000    /* ... at most this many at a time */
#define MIGRATE_LOCK    7242017 /* pg_advisory_xact_lock key: one migrating process */

#define ORDER_COLS PG_ORDER_COLS
#define KEY_COLS                                                                                   \
    "hash, org_id, mode, kind, display, sealed, created_ms, id, expires_ms, revoked_ms, "          \
    "last_used_ms"
#define EVENT_COLS "org_id, mode, id, type, order_id, created_ms, request_id, data"
#define IDEM_COLS  "org_id, mode, key, endpoint, fingerprint, status, headers, body, created_ms"

/* The core tables (component "core"); each API's own tables migrate in store/pg/<api>.c.
 * Every key of a per-org table starts with org_id; orgs and api_keys are looked up by
 * uuid and key hash before the org is known (see docs/scaling.md). */
static const char *const core_sql[] = {
    /* 1: orgs, keys, orders, events, idempotency, audit */
    "CREATE TABLE orgs ("
    "  id " PG_TEXT " PRIMARY KEY,"
    "  uuid " PG_TEXT " NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  settings TEXT NOT NULL DEFAULT '{}',"
    "  created_ms BIGINT NOT NULL);"
    "CREATE TABLE api_keys ("
    "  org_id " PG_TEXT " NOT NULL REFERENCES orgs(id),"
    "  id " PG_TEXT " NOT NULL,"
    "  hash BYTEA NOT NULL,"
    "  mode " PG_TEXT " NOT NULL CHECK (mode IN ('test','live')),"
    "  kind " PG_TEXT " NOT NULL CHECK (kind IN ('publishable','secret')),"
    "  display TEXT NOT NULL,"
    "  sealed BYTEA,"
    "  created_ms BIGINT NOT NULL,"
    "  expires_ms BIGINT,"
    "  revoked_ms BIGINT,"
    "  last_used_ms BIGINT,"
    "  PRIMARY KEY (org_id, id),"
    "  UNIQUE (org_id, hash));"
    "CREATE INDEX api_keys_hash ON api_keys (hash);"
    "CREATE TABLE orders ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  id " PG_TEXT " NOT NULL,"
    "  short_id " PG_TEXT " NOT NULL,"
    "  dialect " PG_TEXT " NOT NULL,"
    "  external_id " PG_TEXT ","
    "  status " PG_TEXT " NOT NULL,"
    "  currency " PG_TEXT " NOT NULL,"
    "  total_amount BIGINT NOT NULL,"
    "  customer_email " PG_TEXT ","
    "  version BIGINT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  PRIMARY KEY (org_id, mode, id),"
    "  UNIQUE (org_id, short_id),"
    "  UNIQUE (org_id, mode, dialect, external_id));"
    "CREATE INDEX orders_status ON orders (org_id, mode, status, id);"
    "CREATE INDEX orders_email ON orders (org_id, mode, customer_email, id);"
    "CREATE TABLE events ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  id " PG_TEXT " NOT NULL,"
    "  type " PG_TEXT " NOT NULL,"
    "  order_id " PG_TEXT " NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  request_id " PG_TEXT " NOT NULL,"
    "  data TEXT NOT NULL,"
    "  PRIMARY KEY (org_id, mode, id));"
    "CREATE INDEX events_order ON events (org_id, mode, order_id, id);"
    "CREATE TABLE idempotency ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  key " PG_TEXT " NOT NULL,"
    "  endpoint TEXT NOT NULL,"
    "  fingerprint BYTEA NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  headers TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (org_id, mode, key));"
    "CREATE INDEX idempotency_created ON idempotency (created_ms);"
    "CREATE TABLE audit ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  id " PG_TEXT " NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  PRIMARY KEY (org_id, id));",
};

static const struct pg_migrations core_migrations = {"core", core_sql,
                                                     (int)(sizeof core_sql / sizeof core_sql[0])};

/* Every component's migrations, core first. */
static const struct pg_migrations *const components[] = {
    &core_migrations,         &pg_migrations_cherry, &pg_migrations_dropday,
    &pg_migrations_threekit,  &pg_migrations_kohort, &pg_migrations_webhooks,
    &pg_migrations_dashboard,
};

static const char sql_ping[] = "SELECT 1";
static const char sql_org_get[] =
    "SELECT id, uuid, name, settings, created_ms FROM orgs WHERE id = $1 OR uuid = lower($1)";
static const char sql_org_keys[] =
    "SELECT " KEY_COLS " FROM api_keys WHERE org_id = $1 ORDER BY mode, kind, created_ms";
static const char sql_orgs_settings[] = "SELECT settings FROM orgs WHERE settings <> '{}'";
static const char sql_key_find[] =
    "SELECT " KEY_COLS " FROM api_keys WHERE hash = $1 AND revoked_ms IS NULL AND "
    "(expires_ms IS NULL OR expires_ms > $2)";
static const char sql_key_secret[] =
    "SELECT " KEY_COLS " FROM api_keys WHERE org_id = $1 AND mode = $2 AND kind = 'secret' AND "
    "revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > $3) ORDER BY created_ms DESC "
    "LIMIT 1";
static const char sql_order_get[] = "SELECT " ORDER_COLS " FROM orders WHERE org_id = $1 AND "
                                    "mode = $2 AND (id = $3 OR short_id = $3)";
static const char sql_order_lock[] = "SELECT " ORDER_COLS " FROM orders WHERE org_id = $1 AND "
                                     "mode = $2 AND (id = $3 OR short_id = $3) FOR UPDATE";
static const char sql_idem_get[] =
    "SELECT " IDEM_COLS " FROM idempotency WHERE org_id = $1 AND mode = $2 AND key = $3 AND "
    "created_ms >= $4";
static const char sql_order_insert[] =
    "INSERT INTO orders (" ORDER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
    "$12, $13, $14)";
static const char sql_order_insert_try[] =
    "INSERT INTO orders (" ORDER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
    "$12, $13, $14) ON CONFLICT DO NOTHING";
static const char sql_order_update[] =
    "UPDATE orders SET status = $4, customer_email = $5, version = $6, updated_ms = $7, "
    "body = $8 WHERE org_id = $1 AND mode = $2 AND id = $3 AND version = $9";
static const char sql_order_by_external[] = "SELECT id FROM orders WHERE org_id = $1 AND "
                                            "mode = $2 AND dialect = $3 AND external_id = $4";
static const char sql_order_by_short[] =
    "SELECT id FROM orders WHERE org_id = $1 AND short_id = $2";
static const char sql_event_insert[] =
    "INSERT INTO events (" EVENT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char sql_idem_insert[] =
    "INSERT INTO idempotency (" IDEM_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
static const char sql_idem_insert_try[] =
    "INSERT INTO idempotency (" IDEM_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT DO NOTHING";
static const char sql_idem_expire_one[] = "DELETE FROM idempotency WHERE org_id = $1 AND "
                                          "mode = $2 AND key = $3 AND created_ms < $4";
static const char sql_idem_expire_all[] =
    "DELETE FROM idempotency WHERE (org_id, mode, key) IN (SELECT org_id, mode, key FROM "
    "idempotency WHERE created_ms < $1 LIMIT $2)";
static const char sql_org_insert[] =
    "INSERT INTO orgs (id, uuid, name, settings, created_ms) VALUES ($1, $2, $3, $4, $5)";
static const char sql_key_insert[] =
    "INSERT INTO api_keys (hash, org_id, mode, kind, display, sealed, created_ms, id, "
    "expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
static const char sql_org_settings[] = "UPDATE orgs SET settings = $2 WHERE id = $1";
static const char sql_key_expire_others[] =
    "UPDATE api_keys SET expires_ms = $4 WHERE org_id = $1 AND mode = $2 AND kind = $3 AND "
    "revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > $4)";
static const char sql_key_revoke[] = "UPDATE api_keys SET revoked_ms = $3 WHERE org_id = $1 AND "
                                     "id = $2 AND revoked_ms IS NULL";
static const char sql_key_touch[] = "UPDATE api_keys SET last_used_ms = $2 WHERE hash = $1 AND "
                                    "(last_used_ms IS NULL OR last_used_ms < $2)";
static const char sql_audit_insert[] = "INSERT INTO audit (org_id, id, created_ms, actor, action, "
                                       "detail) VALUES ($1, $2, $3, $4, $5, $6)";
static const char sql_audit_list[] =
    "SELECT org_id, id, created_ms, actor, action, detail FROM audit WHERE org_id = $1 "
    "ORDER BY id DESC LIMIT $2";

/* List filters: each is added to the SQL only when given, so that the planner uses the
 * indexes. Bit i of a mask is clause i; the SQL for each (mask, order) is built once. */
static const char *const order_clauses[] = {
    "id < $%d",
    "id > $%d",
    "status = $%d",
    "external_id = $%d",
    "customer_email = $%d",
    "created_ms >= $%d",
    "created_ms <= $%d",
    "dialect = $%d",
};
static const char *const event_clauses[] = {
    "id < $%d",
    "id > $%d",
    "type = $%d",
    "order_id = $%d",
};

struct pg_conn {
    enum store_backend backend; /* first (store_int.h): STORE_BACKEND_PG */
    PGconn *pg;
    struct pg_store *store;
    bool busy;   /* readers: checked out of the pool */
    bool writer; /* the committer's: writes happen inside its transaction */
    bool in_tx;  /* a transaction is open: guarded statements use a savepoint */
    bool down;   /* the last attempt to connect failed (logged once) */
    int64_t retry_at_ms, backoff_ms;
    int n_stmts;
    const char *stmts[PG_STMTS]; /* prepared as "o<index>", keyed by the sql pointer */
};

struct pg_store {
    struct store base;
    char *url;
    struct pg_conn writer;
    struct pg_conn readers[PG_READ_CONNS];
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;

    pthread_t committer;
    bool committer_started;
    pthread_mutex_t writer_lock; /* the committer's connection: committer or migrate */
    pthread_mutex_t q_lock;
    pthread_cond_t q_cond;
    struct store_write *q_head, *q_tail;
    bool stopping;
    int64_t last_expire_ms;

    /* keys used since the last flush (key_touch); written by the committer */
    pthread_mutex_t touch_lock;
    struct {
        uint8_t hash[CRYPTO_HASH_LEN];
        int64_t ms;
    } touch[TOUCH_MAX];
    int n_touch;
    int64_t last_touch_flush_ms;
};

static const struct store_ops pg_ops;

#define S(s) ((struct pg_store *)(s))

static struct pg_conn *
conn_of(struct store_conn *c)
{
    return (struct pg_conn *)(void *)c;
}

static struct store_conn *
as_store_conn(struct pg_conn *c)
{
    return (struct store_conn *)(void *)c;
}

bool
store_pg_is(const struct store *s)
{
    return s != NULL && s->ops == &pg_ops;
}

/* ---- parameters and columns ---- */

static void
p_add(struct pg_params *p, const char *v, int len, int fmt)
{
    if (p->n >= PG_MAX_PARAMS) {
        log_error("postgres: more than %d parameters", PG_MAX_PARAMS);
        return;
    }
    p->values[p->n] = v;
    p->lengths[p->n] = len;
    p->formats[p->n] = fmt;
    p->n++;
}

void
pg_p_text(struct pg_params *p, const char *s)
{
    p_add(p, s, 0, 0);
}

void
pg_p_int(struct pg_params *p, int64_t v)
{
    if (p->n < PG_MAX_PARAMS) {
        snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, v);
        p_add(p, p->num[p->n], 0, 0);
    }
}

void
pg_p_ms(struct pg_params *p, int64_t ms)
{
    if (ms == 0)
        p_add(p, NULL, 0, 0);
    else
        pg_p_int(p, ms);
}

void
pg_p_double(struct pg_params *p, double v)
{
    if (p->n < PG_MAX_PARAMS) {
        snprintf(p->num[p->n], sizeof p->num[p->n], "%.17g", v);
        p_add(p, p->num[p->n], 0, 0);
    }
}

void
pg_p_bytea(struct pg_params *p, const void *b, size_t len)
{
    p_add(p, b, b != NULL ? (int)len : 0, 1);
}

const char *
pg_mode_text(enum key_mode m)
{
    return m == MODE_LIVE ? "live" : "test";
}

enum key_mode
pg_mode_parse(const char *t)
{
    return t != NULL && strcmp(t, "live") == 0 ? MODE_LIVE : MODE_TEST;
}

void
pg_p_mode(struct pg_params *p, enum key_mode m)
{
    pg_p_text(p, pg_mode_text(m));
}

bool
pg_null(const PGresult *res, int r, int i)
{
    return PQgetisnull(res, r, i) != 0;
}

char *
pg_dup(const PGresult *res, int r, int i)
{
    return pg_null(res, r, i) ? NULL : strdup(PQgetvalue(res, r, i));
}

void
pg_copy(const PGresult *res, int r, int i, char *dst, size_t size)
{
    snprintf(dst, size, "%s", pg_null(res, r, i) ? "" : PQgetvalue(res, r, i));
}

int64_t
pg_i64(const PGresult *res, int r, int i)
{
    return pg_null(res, r, i) ? 0 : strtoll(PQgetvalue(res, r, i), NULL, 10);
}

double
pg_double(const PGresult *res, int r, int i)
{
    return pg_null(res, r, i) ? 0 : strtod(PQgetvalue(res, r, i), NULL);
}

int
pg_bytea(const PGresult *res, int r, int i, uint8_t **out, size_t *len)
{
    unsigned char *raw;
    size_t n = 0;
    int rc = -1;

    *out = NULL;
    *len = 0;
    if (pg_null(res, r, i))
        return -1;
    raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, i), &n);
    if (raw != NULL && (*out = malloc(n > 0 ? n : 1)) != NULL) {
        memcpy(*out, raw, n);
        *len = n;
        rc = 0;
    }
    PQfreemem(raw);
    return rc;
}

int
pg_order_from(const PGresult *res, int r, struct order_row *o)
{
    memset(o, 0, sizeof *o);
    pg_copy(res, r, 0, o->org_id, sizeof o->org_id);
    o->mode = pg_mode_parse(PQgetvalue(res, r, 1));
    pg_copy(res, r, 2, o->id, sizeof o->id);
    pg_copy(res, r, 3, o->short_id, sizeof o->short_id);
    pg_copy(res, r, 4, o->dialect, sizeof o->dialect);
    o->external_id = pg_dup(res, r, 5);
    pg_copy(res, r, 6, o->status, sizeof o->status);
    pg_copy(res, r, 7, o->currency, sizeof o->currency);
    o->total_amount = pg_i64(res, r, 8);
    o->customer_email = pg_dup(res, r, 9);
    o->version = pg_i64(res, r, 10);
    o->created_ms = pg_i64(res, r, 11);
    o->updated_ms = pg_i64(res, r, 12);
    o->body = pg_dup(res, r, 13);
    o->body_len = o->body != NULL ? (size_t)PQgetlength(res, r, 13) : 0;
    return o->body != NULL ? 0 : -1;
}

enum store_rc
pg_collect(const PGresult *res, size_t row_size, int (*from)(const PGresult *res, int r, void *row),
           void (*free_rows)(void *rows, size_t n), void **rows, size_t *n)
{
    int count = PQntuples(res);
    char *arr = count > 0 ? calloc((size_t)count, row_size) : NULL;
    size_t k = 0;
    enum store_rc rc = STORE_OK;

    if (count > 0 && arr == NULL)
        rc = STORE_FAIL;
    for (int i = 0; rc == STORE_OK && i < count; i++)
        if (from(res, i, arr + k++ * row_size) != 0)
            rc = STORE_FAIL;
    if (rc != STORE_OK) {
        free_rows(arr, k);
        arr = NULL;
        k = 0;
    }
    *rows = arr;
    *n = k;
    return rc;
}

/* ---- connections ---- */

/* Maps a failed result to a store result and logs it (not unique violations: they are
 * conflicts the caller reports). */
static enum store_rc
map_result(struct pg_conn *c, const PGresult *res, const char *what)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    enum store_rc rc = STORE_FAIL;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return STORE_OK;
    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(c->pg);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        log_error("postgres %s: connection lost: %s", what, msg);
        return STORE_UNAVAILABLE;
    }
    if (state == NULL)
        state = "";
    if (strcmp(state, "23505") == 0)
        return STORE_CONFLICT; /* a unique key: the caller tells which */
    if (strncmp(state, "23", 2) == 0)
        rc = STORE_CONFLICT; /* other integrity violations: conflicts too, but logged */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strncmp(state, "58", 2) == 0 ||
        strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0 || strcmp(state, "25006") == 0)
        rc = STORE_UNAVAILABLE; /* down, full, busy, read-only, deadlock: retry later */
    log_error("postgres %s: SQLSTATE %s: %.*s", what, state, (int)strcspn(msg, "\n"), msg);
    return rc;
}

/* The session settings every connection gets. */
static int
conn_setup(struct pg_conn *c)
{
    static const char reader_sql[] = "SET default_transaction_read_only = on; "
                                     "SET statement_timeout = '10s'";
    static const char writer_sql[] = "SET statement_timeout = '30s'";
    PGresult *res = PQexec(c->pg, c->writer ? writer_sql : reader_sql);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

    PQclear(res);
    if (rc == 0 && c->writer) {
        /* a 2xx means flushed on the server: never run with synchronous_commit off */
        res = PQexec(c->pg, "SELECT current_setting('synchronous_commit'), "
                            "current_setting('fsync')");
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            rc = -1;
        else if (strcmp(PQgetvalue(res, 0, 1), "off") == 0)
            log_error("store: the PostgreSQL server runs with fsync=off: its commits are not "
                      "durable");
        if (rc == 0 && strcmp(PQgetvalue(res, 0, 0), "off") == 0) {
            PQclear(res);
            log_info("store: the server runs with synchronous_commit=off; orderd sets it on");
            res = PQexec(c->pg, "SET synchronous_commit = on");
            rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
        }
        PQclear(res);
    }
    return rc;
}

/* Server notices: warnings go to the log, notices ("already exists, skipping") do not. */
static void
notice(void *arg, const char *msg)
{
    (void)arg;
    if (strncmp(msg, "NOTICE", 6) != 0 && strncmp(msg, "DEBUG", 5) != 0)
        log_info("postgres: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Opens c's connection. 0, or -1 with the reason in err. */
static int
conn_connect(struct pg_conn *c, char *err, size_t errlen)
{
    /* orderd's defaults first: anything in the URL overrides them */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {"5", "orderd", c->store->url, NULL};
    int rc = -1;

    if (c->pg != NULL)
        PQfinish(c->pg);
    c->n_stmts = 0;
    c->in_tx = false;
    c->pg = PQconnectdbParams(keys, values, 1);
    if (c->pg != NULL)
        PQsetNoticeProcessor(c->pg, notice, NULL);
    if (c->pg == NULL)
        snprintf(err, errlen, "out of memory");
    else if (PQstatus(c->pg) != CONNECTION_OK)
        snprintf(err, errlen, "%.*s", (int)strcspn(PQerrorMessage(c->pg), "\n"),
                 PQerrorMessage(c->pg));
    else if (conn_setup(c) != 0)
        snprintf(err, errlen, "cannot set up the session: %.*s",
                 (int)strcspn(PQerrorMessage(c->pg), "\n"), PQerrorMessage(c->pg));
    else
        rc = 0;
    return rc;
}

/* Makes sure c is connected: reconnects a lost connection, at most once per backoff
 * period (100 ms doubling to 5 s). STORE_UNAVAILABLE while the server cannot be
 * reached. */
static enum store_rc
conn_ready(struct pg_conn *c)
{
    char err[256];
    int64_t now;

    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
        return STORE_OK;
    now = clock_now_ms();
    if (now < c->retry_at_ms)
        return STORE_UNAVAILABLE;
    if (conn_connect(c, err, sizeof err) == 0) {
        if (c->down)
            log_info("store: connected to PostgreSQL again");
        c->down = false;
        c->backoff_ms = 0;
        c->retry_at_ms = 0;
        return STORE_OK;
    }
    if (!c->down)
        log_error("store: cannot connect to PostgreSQL: %s", err);
    c->down = true;
    c->backoff_ms = c->backoff_ms == 0 ? PG_BACKOFF_MIN : c->backoff_ms * 2;
    if (c->backoff_ms > PG_BACKOFF_MAX)
        c->backoff_ms = PG_BACKOFF_MAX;
    c->retry_at_ms = now + c->backoff_ms;
    return STORE_UNAVAILABLE;
}

static void
conn_close(struct pg_conn *c)
{
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
    c->n_stmts = 0;
}

/* The name of sql's prepared statement on c ("" when the cache is full: run it
 * unprepared), preparing it on first use. NULL on failure (*rc set, logged). */
static const char *
stmt_name(struct pg_conn *c, const char *sql, char name[16], enum store_rc *rc)
{
    PGresult *res;
    int i;

    for (i = 0; i < c->n_stmts && c->stmts[i] != sql; i++)
        ;
    if (i == PG_STMTS) {
        name[0] = '\0';
        return name;
    }
    snprintf(name, 16, "o%d", i);
    if (i < c->n_stmts)
        return name;
    res = PQprepare(c->pg, name, sql, 0, NULL);
    *rc = map_result(c, res, "prepare");
    PQclear(res);
    if (*rc != STORE_OK)
        return NULL;
    c->stmts[c->n_stmts++] = sql;
    return name;
}

static PGresult *
query(struct store_conn *sc, const char *sql, const struct pg_params *p, bool prepared,
      enum store_rc *rc, const char *what)
{
    static const struct pg_params none = {0};
    struct pg_conn *c = conn_of(sc);
    PGresult *res = NULL;
    const char *name = NULL;
    char buf[16];

    if (p == NULL)
        p = &none;
    *rc = c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK ? STORE_OK : STORE_UNAVAILABLE;
    if (*rc == STORE_OK && prepared)
        name = stmt_name(c, sql, buf, rc);
    if (*rc != STORE_OK)
        return NULL;
    if (name != NULL && name[0] != '\0')
        res = PQexecPrepared(c->pg, name, p->n, p->values, p->lengths, p->formats, 0);
    else
        res = PQexecParams(c->pg, sql, p->n, NULL, p->values, p->lengths, p->formats, 0);
    *rc = map_result(c, res, what);
    if (*rc != STORE_OK) {
        PQclear(res);
        res = NULL;
    }
    return res;
}

PGresult *
pg_query(struct store_conn *c, const char *sql, const struct pg_params *p, enum store_rc *rc,
         const char *what)
{
    return query(c, sql, p, true, rc, what);
}

PGresult *
pg_query_once(struct store_conn *c, const char *sql, const struct pg_params *p, enum store_rc *rc,
              const char *what)
{
    return query(c, sql, p, false, rc, what);
}

enum store_rc
pg_exec(struct store_conn *c, const char *sql, const struct pg_params *p, long *changed,
        const char *what)
{
    enum store_rc rc;
    PGresult *res = query(c, sql, p, true, &rc, what);

    if (changed != NULL)
        *changed = res != NULL ? strtol(PQcmdTuples(res), NULL, 10) : 0;
    PQclear(res);
    return rc;
}

/* Runs a statement without parameters and unprepared (transaction control). */
static enum store_rc
exec_plain(struct pg_conn *c, const char *sql)
{
    enum store_rc rc;
    PGresult *res = query(as_store_conn(c), sql, NULL, false, &rc, sql);

    PQclear(res);
    return rc;
}

enum store_rc
pg_exec_guarded(struct store_conn *sc, const char *sql, const struct pg_params *p, long *changed,
                const char *what)
{
    struct pg_conn *c = conn_of(sc);
    enum store_rc rc;

    if (!c->in_tx)
        return pg_exec(sc, sql, p, changed, what);
    rc = exec_plain(c, "SAVEPOINT g");
    if (rc == STORE_OK) {
        rc = pg_exec(sc, sql, p, changed, what);
        if (rc != STORE_OK && exec_plain(c, "ROLLBACK TO SAVEPOINT g") != STORE_OK)
            rc = STORE_UNAVAILABLE;
        if (exec_plain(c, "RELEASE SAVEPOINT g") != STORE_OK && rc == STORE_OK)
            rc = STORE_UNAVAILABLE;
    }
    return rc;
}

static enum store_rc
reader_get(struct pg_store *s, struct pg_conn **out)
{
    struct pg_conn *c = NULL;
    enum store_rc rc;

    pthread_mutex_lock(&s->pool_lock);
    while (c == NULL) {
        for (int i = 0; i < PG_READ_CONNS && c == NULL; i++)
            if (!s->readers[i].busy)
                c = &s->readers[i];
        if (c == NULL)
            pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    }
    c->busy = true;
    pthread_mutex_unlock(&s->pool_lock);
    rc = conn_ready(c);
    *out = c;
    return rc;
}

static void
reader_put(struct pg_store *s, struct pg_conn *c)
{
    pthread_mutex_lock(&s->pool_lock);
    c->busy = false;
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
}

/* ---- rows ---- */

static int
key_from(const PGresult *res, int r, struct key_rec *k)
{
    uint8_t *h = NULL;
    size_t hlen = 0;
    int rc = -1;

    memset(k, 0, sizeof *k);
    if (pg_bytea(res, r, 0, &h, &hlen) == 0 && hlen == CRYPTO_HASH_LEN) {
        memcpy(k->hash, h, CRYPTO_HASH_LEN);
        rc = 0;
    }
    free(h);
    pg_copy(res, r, 1, k->org_id, sizeof k->org_id);
    k->mode = pg_mode_parse(PQgetvalue(res, r, 2));
    k->kind = strcmp(PQgetvalue(res, r, 3), "secret") == 0 ? KEY_SECRET : KEY_PUBLISHABLE;
    pg_copy(res, r, 4, k->display, sizeof k->display);
    if (rc == 0 && !pg_null(res, r, 5) && pg_bytea(res, r, 5, &k->sealed, &k->sealed_len) != 0)
        rc = -1;
    k->created_ms = pg_i64(res, r, 6);
    pg_copy(res, r, 7, k->id, sizeof k->id);
    k->expires_ms = pg_i64(res, r, 8);
    k->revoked_ms = pg_i64(res, r, 9);
    k->last_used_ms = pg_i64(res, r, 10);
    return rc;
}

static int
event_from(const PGresult *res, int r, struct event_row *e)
{
    memset(e, 0, sizeof *e);
    pg_copy(res, r, 0, e->org_id, sizeof e->org_id);
    e->mode = pg_mode_parse(PQgetvalue(res, r, 1));
    pg_copy(res, r, 2, e->id, sizeof e->id);
    pg_copy(res, r, 3, e->type, sizeof e->type);
    pg_copy(res, r, 4, e->order_id, sizeof e->order_id);
    e->created_ms = pg_i64(res, r, 5);
    pg_copy(res, r, 6, e->request_id, sizeof e->request_id);
    e->data = pg_dup(res, r, 7);
    return e->data != NULL ? 0 : -1;
}

static int
idem_from(const PGresult *res, int r, struct idem_row *i)
{
    uint8_t *fp = NULL;
    size_t fplen = 0;

    memset(i, 0, sizeof *i);
    pg_copy(res, r, 0, i->org_id, sizeof i->org_id);
    i->mode = pg_mode_parse(PQgetvalue(res, r, 1));
    i->key = pg_dup(res, r, 2);
    pg_copy(res, r, 3, i->endpoint, sizeof i->endpoint);
    if (pg_bytea(res, r, 4, &fp, &fplen) == 0 && fplen == CRYPTO_HASH_LEN)
        memcpy(i->fingerprint, fp, CRYPTO_HASH_LEN);
    free(fp);
    i->status = (int)pg_i64(res, r, 5);
    i->headers = pg_dup(res, r, 6);
    i->body = pg_dup(res, r, 7);
    i->created_ms = pg_i64(res, r, 8);
    return i->key && i->headers && i->body ? 0 : -1;
}

/* ---- reads ---- */

static enum store_rc
s_ping(struct store *base)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    enum store_rc rc = reader_get(s, &c);

    if (rc == STORE_OK)
        rc = pg_exec(as_store_conn(c), sql_ping, NULL, NULL, "ping");
    reader_put(s, c);
    return rc;
}

static enum store_rc
s_org_get(struct store *base, const char *id_or_uuid, struct org_rec *out)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    struct pg_params p = {0};
    PGresult *res = NULL;
    enum store_rc rc = reader_get(s, &c);

    memset(out, 0, sizeof *out);
    pg_p_text(&p, id_or_uuid);
    if (rc == STORE_OK)
        res = pg_query(as_store_conn(c), sql_org_get, &p, &rc, "org get");
    if (res != NULL && PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else if (res != NULL) {
        pg_copy(res, 0, 0, out->id, sizeof out->id);
        pg_copy(res, 0, 1, out->uuid, sizeof out->uuid);
        out->name = pg_dup(res, 0, 2);
        out->settings = pg_dup(res, 0, 3);
        out->created_ms = pg_i64(res, 0, 4);
        rc = out->name && out->settings ? STORE_OK : STORE_FAIL;
    }
    PQclear(res);
    reader_put(s, c);
    return rc;
}

static int
key_from_void(const PGresult *res, int r, void *row)
{
    return key_from(res, r, row);
}

static void
keys_free_void(void *rows, size_t n)
{
    struct key_rec *keys = rows;

    for (size_t i = 0; i < n; i++)
        key_rec_free(&keys[i]);
    free(keys);
}

static enum store_rc
s_org_keys(struct store *base, const char *org_id, struct key_rec **keys, size_t *n)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    struct pg_params p = {0};
    PGresult *res = NULL;
    void *out = NULL;
    enum store_rc rc = reader_get(s, &c);

    *n = 0;
    pg_p_text(&p, org_id);
    if (rc == STORE_OK)
        res = pg_query(as_store_conn(c), sql_org_keys, &p, &rc, "org keys");
    if (res != NULL)
        rc = pg_collect(res, sizeof **keys, key_from_void, keys_free_void, &out, n);
    PQclear(res);
    reader_put(s, c);
    *keys = out;
    return rc;
}

static enum store_rc
s_orgs_settings_each(struct store *base, bool (*fn)(void *arg, const char *settings), void *arg)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    PGresult *res = NULL;
    enum store_rc rc = reader_get(s, &c);

    if (rc == STORE_OK)
        res = pg_query(as_store_conn(c), sql_orgs_settings, NULL, &rc, "orgs settings");
    for (int i = 0; res != NULL && i < PQntuples(res); i++)
        if (!fn(arg, PQgetvalue(res, i, 0)))
            break;
    PQclear(res);
    reader_put(s, c);
    return rc;
}

/* One key row from sql with p on a reader. */
static enum store_rc
key_one(struct pg_store *s, const char *sql, const struct pg_params *p, struct key_rec *out,
        const char *what)
{
    struct pg_conn *c;
    PGresult *res = NULL;
    enum store_rc rc = reader_get(s, &c);

    memset(out, 0, sizeof *out);
    if (rc == STORE_OK)
        res = pg_query(as_store_conn(c), sql, p, &rc, what);
    if (res != NULL)
        rc = PQntuples(res) == 0          ? STORE_NOT_FOUND
             : key_from(res, 0, out) == 0 ? STORE_OK
                                          : STORE_FAIL;
    PQclear(res);
    reader_put(s, c);
    return rc;
}

static enum store_rc
s_key_find(struct store *base, const uint8_t hash[CRYPTO_HASH_LEN], struct key_rec *out)
{
    struct pg_params p = {0};

    pg_p_bytea(&p, hash, CRYPTO_HASH_LEN);
    pg_p_int(&p, clock_now_ms());
    return key_one(S(base), sql_key_find, &p, out, "key find");
}

static enum store_rc
s_key_secret(struct store *base, const char *org_id, enum key_mode mode, struct key_rec *out)
{
    struct pg_params p = {0};

    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    pg_p_int(&p, clock_now_ms());
    return key_one(S(base), sql_key_secret, &p, out, "key secret");
}

static enum store_rc
s_read(struct store *base, store_tx_fn fn, void *arg)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    enum store_rc rc = reader_get(s, &c);

    if (rc == STORE_OK)
        rc = fn(as_store_conn(c), arg);
    reader_put(s, c);
    return rc;
}

static void
s_key_touch(struct store *base, const uint8_t hash[CRYPTO_HASH_LEN])
{
    struct pg_store *s = S(base);
    int64_t now = clock_now_ms();
    int i;

    pthread_mutex_lock(&s->touch_lock);
    for (i = 0; i < s->n_touch && memcmp(s->touch[i].hash, hash, CRYPTO_HASH_LEN) != 0; i++)
        ;
    if (i < TOUCH_MAX) {
        if (i == s->n_touch) {
            memcpy(s->touch[i].hash, hash, CRYPTO_HASH_LEN);
            s->n_touch++;
        }
        s->touch[i].ms = now;
    }
    pthread_mutex_unlock(&s->touch_lock);
}

static int
audit_from(const PGresult *res, int r, void *row)
{
    struct audit_row *a = row;

    pg_copy(res, r, 0, a->org_id, sizeof a->org_id);
    pg_copy(res, r, 1, a->id, sizeof a->id);
    a->created_ms = pg_i64(res, r, 2);
    pg_copy(res, r, 3, a->actor, sizeof a->actor);
    pg_copy(res, r, 4, a->action, sizeof a->action);
    a->detail = pg_dup(res, r, 5);
    return a->detail != NULL ? 0 : -1;
}

static void
audit_free_void(void *rows, size_t n)
{
    audit_rows_free(rows, n);
}

static enum store_rc
s_audit_list(struct store *base, const char *org_id, int limit, struct audit_row **rows, size_t *n)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    struct pg_params p = {0};
    PGresult *res = NULL;
    void *out = NULL;
    enum store_rc rc = reader_get(s, &c);

    *n = 0;
    pg_p_text(&p, org_id);
    pg_p_int(&p, limit);
    if (rc == STORE_OK)
        res = pg_query(as_store_conn(c), sql_audit_list, &p, &rc, "audit list");
    if (res != NULL)
        rc = pg_collect(res, sizeof **rows, audit_from, audit_free_void, &out, n);
    PQclear(res);
    reader_put(s, c);
    *rows = out;
    return rc;
}

/* The order by id or short id; with lock, locked until the transaction ends. */
static enum store_rc
order_get_on(struct pg_conn *c, const char *org_id, enum key_mode mode, const char *ref, bool lock,
             struct order_row *out)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    memset(out, 0, sizeof *out);
    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    pg_p_text(&p, ref);
    res = pg_query(as_store_conn(c), lock ? sql_order_lock : sql_order_get, &p, &rc, "order get");
    if (res != NULL)
        rc = PQntuples(res) == 0               ? STORE_NOT_FOUND
             : pg_order_from(res, 0, out) == 0 ? STORE_OK
                                               : STORE_FAIL;
    PQclear(res);
    return rc;
}

static enum store_rc
s_order_get(struct store *base, const char *org_id, enum key_mode mode, const char *ref,
            struct order_row *out)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    enum store_rc rc = reader_get(s, &c);

    memset(out, 0, sizeof *out);
    if (rc == STORE_OK)
        rc = order_get_on(c, org_id, mode, ref, false, out);
    reader_put(s, c);
    return rc;
}

static pthread_mutex_t list_sql_lock = PTHREAD_MUTEX_INITIALIZER;
static char *list_sql_cache[2][256][2]; /* [orders|events][mask][desc|asc], built once */

/* The list SQL for table (0 orders, 1 events) with the clauses in mask: $1 org, $2 mode,
 * then one parameter per clause in clause order, then the limit. NULL on OOM. */
static const char *
list_sql(int table, unsigned mask, bool asc)
{
    const char *const *clauses = table == 0 ? order_clauses : event_clauses;
    size_t n = table == 0 ? sizeof order_clauses / sizeof order_clauses[0]
                          : sizeof event_clauses / sizeof event_clauses[0];
    char **slot = &list_sql_cache[table][mask & 0xff][asc];
    struct buf b = {0};
    int param = 3;

    pthread_mutex_lock(&list_sql_lock);
    if (*slot == NULL) {
        buf_printf(&b, "SELECT %s FROM %s WHERE org_id = $1 AND mode = $2",
                   table == 0 ? ORDER_COLS : EVENT_COLS, table == 0 ? "orders" : "events");
        for (size_t i = 0; i < n; i++) {
            if (mask & (1u << i)) {
                buf_puts(&b, " AND ");
                buf_printf(&b, clauses[i], param++);
            }
        }
        buf_printf(&b, " ORDER BY id %s LIMIT $%d", asc ? "ASC" : "DESC", param);
        *slot = buf_take(&b, NULL);
    }
    pthread_mutex_unlock(&list_sql_lock);
    return *slot;
}

/* Reads a list page of up to limit + 1 rows: reverses an ascending page (so that it is
 * newest first either way) and tells whether one more row existed. */
static enum store_rc
list_rows(const PGresult *res, int limit, bool asc, size_t row_size,
          int (*from)(const PGresult *, int, void *), void (*free_row)(void *), void **rows_out,
          size_t *n_out, bool *has_more)
{
    int total = PQntuples(res);
    size_t n = (size_t)(total > limit ? limit : total);
    char *rows = calloc(n + 1, row_size);
    enum store_rc rc = rows != NULL ? STORE_OK : STORE_FAIL;

    *has_more = total > limit;
    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        size_t slot = asc ? n - 1 - i : i;
        if (from(res, (int)i, rows + slot * row_size) != 0)
            rc = STORE_FAIL;
    }
    if (rc != STORE_OK && rows != NULL) {
        for (size_t i = 0; i < n; i++)
            free_row(rows + i * row_size);
        free(rows);
        rows = NULL;
        n = 0;
    }
    *rows_out = rows;
    *n_out = n;
    return rc;
}

static int
order_from_void(const PGresult *res, int r, void *row)
{
    return pg_order_from(res, r, row);
}

static void
order_free_void(void *r)
{
    order_row_free(r);
}

static int
event_from_void(const PGresult *res, int r, void *row)
{
    return event_from(res, r, row);
}

static void
event_free_void(void *r)
{
    event_row_free(r);
}

static enum store_rc
s_order_list(struct store *base, const struct order_query *q, struct order_row **rows, size_t *n,
             bool *has_more)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    bool asc = q->ending_before != NULL && q->starting_after == NULL;
    unsigned mask = (unsigned)(q->starting_after != NULL) |
                    (unsigned)(q->ending_before != NULL) << 1 | (unsigned)(q->status != NULL) << 2 |
                    (unsigned)(q->external_id != NULL) << 3 |
                    (unsigned)(q->customer_email != NULL) << 4 | (unsigned)q->has_created_gte << 5 |
                    (unsigned)q->has_created_lte << 6 | (unsigned)(q->dialect != NULL) << 7;
    const char *sql = list_sql(0, mask, asc);
    struct pg_params p = {0};
    PGresult *res = NULL;
    void *out = NULL;
    enum store_rc rc = reader_get(s, &c);

    *rows = NULL;
    *n = 0;
    *has_more = false;
    pg_p_text(&p, q->org_id);
    pg_p_mode(&p, q->mode);
    if (q->starting_after != NULL)
        pg_p_text(&p, q->starting_after);
    if (q->ending_before != NULL)
        pg_p_text(&p, q->ending_before);
    if (q->status != NULL)
        pg_p_text(&p, q->status);
    if (q->external_id != NULL)
        pg_p_text(&p, q->external_id);
    if (q->customer_email != NULL)
        pg_p_text(&p, q->customer_email);
    if (q->has_created_gte)
        pg_p_int(&p, q->created_gte);
    if (q->has_created_lte)
        pg_p_int(&p, q->created_lte);
    if (q->dialect != NULL)
        pg_p_text(&p, q->dialect);
    pg_p_int(&p, q->limit + 1);
    if (rc == STORE_OK && sql == NULL)
        rc = STORE_FAIL;
    if (rc == STORE_OK)
        res = pg_query(as_store_conn(c), sql, &p, &rc, "order list");
    if (res != NULL)
        rc = list_rows(res, q->limit, asc, sizeof(struct order_row), order_from_void,
                       order_free_void, &out, n, has_more);
    PQclear(res);
    reader_put(s, c);
    *rows = out;
    return rc;
}

static enum store_rc
s_event_list(struct store *base, const struct event_query *q, struct event_row **rows, size_t *n,
             bool *has_more)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    bool asc = q->ending_before != NULL && q->starting_after == NULL;
    unsigned mask = (unsigned)(q->starting_after != NULL) |
                    (unsigned)(q->ending_before != NULL) << 1 | (unsigned)(q->type != NULL) << 2 |
                    (unsigned)(q->order_id != NULL) << 3;
    const char *sql = list_sql(1, mask, asc);
    struct pg_params p = {0};
    PGresult *res = NULL;
    void *out = NULL;
    enum store_rc rc = reader_get(s, &c);

    *rows = NULL;
    *n = 0;
    *has_more = false;
    pg_p_text(&p, q->org_id);
    pg_p_mode(&p, q->mode);
    if (q->starting_after != NULL)
        pg_p_text(&p, q->starting_after);
    if (q->ending_before != NULL)
        pg_p_text(&p, q->ending_before);
    if (q->type != NULL)
        pg_p_text(&p, q->type);
    if (q->order_id != NULL)
        pg_p_text(&p, q->order_id);
    pg_p_int(&p, q->limit + 1);
    if (rc == STORE_OK && sql == NULL)
        rc = STORE_FAIL;
    if (rc == STORE_OK)
        res = pg_query(as_store_conn(c), sql, &p, &rc, "event list");
    if (res != NULL)
        rc = list_rows(res, q->limit, asc, sizeof(struct event_row), event_from_void,
                       event_free_void, &out, n, has_more);
    PQclear(res);
    reader_put(s, c);
    *rows = out;
    return rc;
}

static enum store_rc
idem_get_on(struct pg_conn *c, const char *org_id, enum key_mode mode, const char *key,
            struct idem_row *out)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    memset(out, 0, sizeof *out);
    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    pg_p_text(&p, key);
    pg_p_int(&p, clock_now_ms() - LIMIT_IDEM_TTL_MS);
    res = pg_query(as_store_conn(c), sql_idem_get, &p, &rc, "idem get");
    if (res != NULL)
        rc = PQntuples(res) == 0           ? STORE_NOT_FOUND
             : idem_from(res, 0, out) == 0 ? STORE_OK
                                           : STORE_FAIL;
    PQclear(res);
    return rc;
}

static enum store_rc
s_idem_get(struct store *base, const char *org_id, enum key_mode mode, const char *key,
           struct idem_row *out)
{
    struct pg_store *s = S(base);
    struct pg_conn *c;
    enum store_rc rc = reader_get(s, &c);

    memset(out, 0, sizeof *out);
    if (rc == STORE_OK)
        rc = idem_get_on(c, org_id, mode, key, out);
    reader_put(s, c);
    return rc;
}

/* ---- statement parameters of the writes (shared by both write paths) ---- */

static void
order_params(struct pg_params *p, const struct order_row *o)
{
    pg_p_text(p, o->org_id);
    pg_p_mode(p, o->mode);
    pg_p_text(p, o->id);
    pg_p_text(p, o->short_id);
    pg_p_text(p, o->dialect);
    pg_p_text(p, o->external_id);
    pg_p_text(p, o->status);
    pg_p_text(p, o->currency);
    pg_p_int(p, o->total_amount);
    pg_p_text(p, o->customer_email);
    pg_p_int(p, o->version);
    pg_p_int(p, o->created_ms);
    pg_p_int(p, o->updated_ms);
    pg_p_text(p, o->body);
}

static void
event_params(struct pg_params *p, const struct event_row *e)
{
    pg_p_text(p, e->org_id);
    pg_p_mode(p, e->mode);
    pg_p_text(p, e->id);
    pg_p_text(p, e->type);
    pg_p_text(p, e->order_id);
    pg_p_int(p, e->created_ms);
    pg_p_text(p, e->request_id);
    pg_p_text(p, e->data);
}

static void
fanout_params(struct pg_params *p, const struct event_row *e)
{
    pg_p_text(p, e->org_id);
    pg_p_mode(p, e->mode);
    pg_p_text(p, e->id);
    pg_p_text(p, e->type);
    pg_p_int(p, e->created_ms);
}

static void
idem_expire_params(struct pg_params *p, const struct idem_row *i)
{
    pg_p_text(p, i->org_id);
    pg_p_mode(p, i->mode);
    pg_p_text(p, i->key);
    pg_p_int(p, clock_now_ms() - LIMIT_IDEM_TTL_MS);
}

static void
idem_params(struct pg_params *p, const struct idem_row *i)
{
    pg_p_text(p, i->org_id);
    pg_p_mode(p, i->mode);
    pg_p_text(p, i->key);
    pg_p_text(p, i->endpoint);
    pg_p_bytea(p, i->fingerprint, CRYPTO_HASH_LEN);
    pg_p_int(p, i->status);
    pg_p_text(p, i->headers ? i->headers : "{}");
    pg_p_text(p, i->body);
    pg_p_int(p, i->created_ms);
}

static bool
has_event(const struct event_row *e)
{
    return e != NULL && e->type[0] != '\0';
}

static bool
has_idem(const struct idem_row *i)
{
    return i != NULL && i->key != NULL && i->body != NULL;
}

/* ---- writes, one statement at a time (committer thread only) ---- */

static enum store_rc
idem_insert(struct pg_conn *c, struct store_write *w)
{
    struct pg_params p = {0}, q = {0};
    enum store_rc rc;
    long added = 0;

    if (!has_idem(w->idem))
        return STORE_OK;
    idem_expire_params(&p, w->idem);
    rc = pg_exec(as_store_conn(c), sql_idem_expire_one, &p, NULL, "idem expire");
    idem_params(&q, w->idem);
    if (rc == STORE_OK)
        rc = pg_exec(as_store_conn(c), sql_idem_insert_try, &q, &added, "idem insert");
    if (rc == STORE_OK && added == 0) {
        /* another write (maybe another process) stored an answer for this key first */
        rc = STORE_CONFLICT;
        w->conflict = SC_IDEMPOTENCY;
        if (idem_get_on(c, w->idem->org_id, w->idem->mode, w->idem->key, &w->existing) != STORE_OK)
            w->conflict = SC_OTHER;
    }
    return rc;
}

static enum store_rc
event_insert(struct pg_conn *c, const struct event_row *e)
{
    struct pg_params p = {0};
    enum store_rc rc;

    if (!has_event(e))
        return STORE_OK;
    event_params(&p, e);
    rc = pg_exec(as_store_conn(c), sql_event_insert, &p, NULL, "event insert");
    return rc == STORE_OK ? pg_webhook_fanout(as_store_conn(c), e) : rc; /* the outbox */
}

/* After an insert that changed nothing: which key was taken? */
static void
order_conflict(struct pg_conn *c, struct store_write *w)
{
    const struct order_row *o = w->order;
    struct pg_params p = {0}, q = {0};
    enum store_rc rc;
    PGresult *res = NULL;

    w->conflict = SC_OTHER;
    if (o->external_id != NULL) {
        pg_p_text(&p, o->org_id);
        pg_p_mode(&p, o->mode);
        pg_p_text(&p, o->dialect);
        pg_p_text(&p, o->external_id);
        res = pg_query(as_store_conn(c), sql_order_by_external, &p, &rc, "order by external");
        if (res != NULL && PQntuples(res) > 0) {
            w->conflict = SC_EXTERNAL_ID;
            pg_copy(res, 0, 0, w->conflict_id, sizeof w->conflict_id);
        }
        PQclear(res);
    }
    if (w->conflict == SC_OTHER) {
        pg_p_text(&q, o->org_id);
        pg_p_text(&q, o->short_id);
        res = pg_query(as_store_conn(c), sql_order_by_short, &q, &rc, "order by short id");
        if (res != NULL && PQntuples(res) > 0)
            w->conflict = SC_SHORT_ID;
        PQclear(res);
    }
}

static enum store_rc
apply_order_insert(struct pg_conn *c, struct store_write *w)
{
    struct pg_params p = {0};
    enum store_rc rc = STORE_OK;
    long added = 0;

    /* A stored answer for this key wins over any other outcome (a retry of a create
     * that succeeded must replay, not hit its own external_id). */
    if (w->idem != NULL && w->idem->key != NULL &&
        idem_get_on(c, w->idem->org_id, w->idem->mode, w->idem->key, &w->existing) == STORE_OK) {
        w->conflict = SC_IDEMPOTENCY;
        return STORE_CONFLICT;
    }
    if (w->before != NULL && (rc = w->before(as_store_conn(c), w->hook_arg)) != STORE_OK) {
        w->hook_code = 1;
        return rc;
    }
    order_params(&p, w->order);
    rc = pg_exec(as_store_conn(c), sql_order_insert_try, &p, &added, "order insert");
    if (rc == STORE_OK && added == 0) {
        /* The insert waited for the transaction that holds the key to end. If that was
         * the same request through another process, its stored answer wins here too. */
        if (w->idem != NULL && w->idem->key != NULL &&
            idem_get_on(c, w->idem->org_id, w->idem->mode, w->idem->key, &w->existing) == STORE_OK)
            w->conflict = SC_IDEMPOTENCY;
        else
            order_conflict(c, w);
        return STORE_CONFLICT;
    }
    if (rc == STORE_OK)
        rc = event_insert(c, w->event);
    if (rc == STORE_OK && w->after != NULL &&
        (rc = w->after(as_store_conn(c), w->hook_arg)) != STORE_OK)
        w->hook_code = 1;
    if (rc == STORE_OK)
        rc = idem_insert(c, w); /* last: `after` may have rendered the answer */
    return rc;
}

static enum store_rc
apply_order_mutate(struct pg_conn *c, struct store_write *w)
{
    struct order_row cur, next;
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    memset(&next, 0, sizeof next);
    rc = order_get_on(c, w->org_id, w->mode, w->ref, true, &cur); /* locked until COMMIT */
    if (rc != STORE_OK)
        return rc;
    if (w->idem != NULL && w->idem->key != NULL &&
        idem_get_on(c, w->idem->org_id, w->idem->mode, w->idem->key, &w->existing) == STORE_OK) {
        w->conflict = SC_IDEMPOTENCY;
        rc = STORE_CONFLICT;
        goto out;
    }
    if (order_row_copy(&next, &cur) != 0) {
        rc = STORE_FAIL;
        goto out;
    }
    if (w->before != NULL && (rc = w->before(as_store_conn(c), w->hook_arg)) != STORE_OK) {
        w->hook_code = 1;
        goto out;
    }
    w->mutate_result = w->mutate(w->mutate_arg, &cur, &next);
    if (w->mutate_result == STORE_MUTATE_ABORT)
        goto out;
    if (w->mutate_result == STORE_MUTATE_WRITE) {
        pg_p_text(&p, cur.org_id);
        pg_p_mode(&p, cur.mode);
        pg_p_text(&p, cur.id);
        pg_p_text(&p, next.status);
        pg_p_text(&p, next.customer_email);
        pg_p_int(&p, next.version);
        pg_p_int(&p, next.updated_ms);
        pg_p_text(&p, next.body);
        pg_p_int(&p, cur.version);
        rc = pg_exec(as_store_conn(c), sql_order_update, &p, &changed, "order update");
        if (rc == STORE_OK && changed != 1)
            rc = STORE_FAIL;
        if (rc == STORE_OK)
            rc = event_insert(c, w->event);
        if (rc == STORE_OK && w->after != NULL &&
            (rc = w->after(as_store_conn(c), w->hook_arg)) != STORE_OK)
            w->hook_code = 1;
    }
    if (rc == STORE_OK)
        rc = idem_insert(c, w);
out:
    order_row_free(&cur);
    order_row_free(&next);
    return rc;
}

static enum store_rc
key_insert(struct pg_conn *c, const char *org_id, const struct key_rec *k)
{
    struct pg_params p = {0};

    pg_p_bytea(&p, k->hash, CRYPTO_HASH_LEN);
    pg_p_text(&p, org_id);
    pg_p_mode(&p, k->mode);
    pg_p_text(&p, k->kind == KEY_SECRET ? "secret" : "publishable");
    pg_p_text(&p, k->display);
    pg_p_bytea(&p, k->sealed, k->sealed_len);
    pg_p_int(&p, k->created_ms);
    pg_p_text(&p, k->id);
    pg_p_ms(&p, k->expires_ms);
    return pg_exec(as_store_conn(c), sql_key_insert, &p, NULL, "key insert");
}

static enum store_rc
apply_org_insert(struct pg_conn *c, struct store_write *w)
{
    struct pg_params p = {0};
    enum store_rc rc;

    pg_p_text(&p, w->org->id);
    pg_p_text(&p, w->org->uuid);
    pg_p_text(&p, w->org->name);
    pg_p_text(&p, w->org->settings ? w->org->settings : "{}");
    pg_p_int(&p, w->org->created_ms);
    rc = pg_exec(as_store_conn(c), sql_org_insert, &p, NULL, "org insert");
    for (int i = 0; rc == STORE_OK && i < w->n_keys; i++)
        rc = key_insert(c, w->org->id, &w->keys[i]);
    return rc;
}

/* The new key, and the grace period of the keys it replaces. */
static enum store_rc
apply_key_roll(struct pg_conn *c, struct store_write *w)
{
    const struct key_rec *k = &w->keys[0];
    struct pg_params p = {0};
    enum store_rc rc;

    pg_p_text(&p, k->org_id);
    pg_p_mode(&p, k->mode);
    pg_p_text(&p, k->kind == KEY_SECRET ? "secret" : "publishable");
    pg_p_int(&p, w->key_grace_until);
    rc = pg_exec(as_store_conn(c), sql_key_expire_others, &p, NULL, "key expire others");
    return rc == STORE_OK ? key_insert(c, k->org_id, k) : rc;
}

static enum store_rc
apply_key_revoke(struct pg_conn *c, struct store_write *w)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    pg_p_text(&p, w->org_id);
    pg_p_text(&p, w->key_id);
    pg_p_int(&p, clock_now_ms());
    rc = pg_exec(as_store_conn(c), sql_key_revoke, &p, &changed, "key revoke");
    return rc == STORE_OK && changed == 0 ? STORE_NOT_FOUND : rc;
}

static enum store_rc
audit_insert(struct pg_conn *c, const struct audit_row *a)
{
    struct pg_params p = {0};

    pg_p_text(&p, a->org_id);
    pg_p_text(&p, a->id);
    pg_p_int(&p, a->created_ms);
    pg_p_text(&p, a->actor);
    pg_p_text(&p, a->action);
    pg_p_text(&p, a->detail ? a->detail : "{}");
    return pg_exec(as_store_conn(c), sql_audit_insert, &p, NULL, "audit insert");
}

static enum store_rc
apply_org_settings(struct pg_conn *c, struct store_write *w)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    pg_p_text(&p, w->org->id);
    pg_p_text(&p, w->org->settings);
    rc = pg_exec(as_store_conn(c), sql_org_settings, &p, &changed, "org settings");
    return rc == STORE_OK && changed == 0 ? STORE_NOT_FOUND : rc;
}

static enum store_rc
apply_kind(struct pg_conn *c, struct store_write *w)
{
    switch (w->kind) {
    case SW_ORDER_INSERT:
        return apply_order_insert(c, w);
    case SW_ORDER_MUTATE:
        return apply_order_mutate(c, w);
    case SW_ORG_INSERT:
        return apply_org_insert(c, w);
    case SW_ORG_SETTINGS:
        return apply_org_settings(c, w);
    case SW_CUSTOM:
        return w->custom != NULL ? w->custom(as_store_conn(c), w->hook_arg) : STORE_FAIL;
    case SW_KEY_ROLL:
        return apply_key_roll(c, w);
    case SW_KEY_REVOKE:
        return apply_key_revoke(c, w);
    }
    return STORE_FAIL;
}

static enum store_rc
apply(struct pg_conn *c, struct store_write *w)
{
    enum store_rc rc = apply_kind(c, w);

    if (rc == STORE_OK && w->audit != NULL)
        rc = audit_insert(c, w->audit);
    return rc;
}

/* ---- writes, as one pipeline ---- */

/* A write the pipeline can carry: a create whose hooks use no SQL, and whose every
 * statement either succeeds or fails (a failure sends the batch down the other path). */
static bool
pipelinable(const struct store_write *w)
{
    return w->kind == SW_ORDER_INSERT && w->audit == NULL &&
           ((w->before == NULL && w->after == NULL) || w->hooks_no_sql);
}

/* Where each write of a batch goes. */
enum piped { PIPED_NO, PIPED_YES, PIPED_DONE /* finished before any SQL: w->rc set */ };

enum pipe_result {
    PIPE_OPEN,      /* the writes are applied; the transaction is still open */
    PIPE_COMMITTED, /* the writes are applied and committed */
    PIPE_REDO,      /* a statement failed; rolled back: run the batch the other way */
    PIPE_DOWN,      /* the connection failed; nothing is known to be committed */
};

/* The statements one pipelined write sends, with their parameters (which borrow w's
 * strings, so params lives as long as the pipeline). Returns how many, at most 5. */
static int
pipe_statements(const struct store_write *w, const char *sql[5], struct pg_params params[5])
{
    int n = 0;

    memset(params, 0, 5 * sizeof params[0]);
    if (has_idem(w->idem)) {
        idem_expire_params(&params[n], w->idem);
        sql[n++] = sql_idem_expire_one;
        idem_params(&params[n], w->idem);
        sql[n++] = sql_idem_insert;
    }
    order_params(&params[n], w->order);
    sql[n++] = sql_order_insert;
    if (has_event(w->event)) {
        event_params(&params[n], w->event);
        sql[n++] = sql_event_insert;
        fanout_params(&params[n], w->event);
        sql[n++] = pg_sql_fanout;
    }
    return n;
}

/* Runs the SQL-free hooks of a piped write (the answer and its idempotency record are
 * rendered there); a failure finishes the write at once, as it would undo it. */
static bool
pipe_hooks(struct store_write *w)
{
    enum store_rc rc = STORE_OK;

    if (w->before != NULL)
        rc = w->before(NULL, w->hook_arg);
    if (rc == STORE_OK && w->after != NULL)
        rc = w->after(NULL, w->hook_arg);
    if (rc != STORE_OK) {
        w->rc = rc;
        w->hook_code = 1;
    }
    return rc == STORE_OK;
}

/* Sends BEGIN, every pipelinable write of the batch (PIPED_YES in piped[]) and, when
 * commit, COMMIT, then one sync, and reads every result. */
static enum pipe_result
pipe_run(struct pg_conn *c, struct store_write *batch, unsigned char *piped, bool commit)
{
    struct pipe_write {
        const char *sql[5];
        struct pg_params params[5];
        int n;
    } *pw = NULL;
    const char **sent = NULL; /* the statement of each query sent, in order */
    char name[16];
    enum store_rc rc = STORE_OK;
    enum pipe_result pr = PIPE_REDO;
    int n_writes = 0, n_sent = 0, q = 0, k = 0;
    long fanned = 0;
    bool ok = false, failed = false;
    struct store_write *w;

    for (w = batch; w != NULL; w = w->next)
        n_writes++;
    pw = calloc((size_t)n_writes, sizeof *pw);
    sent = calloc((size_t)n_writes * 5 + 2, sizeof *sent);
    if (pw == NULL || sent == NULL)
        goto out;
    /* prepare first: synchronous calls are not allowed inside a pipeline */
    for (w = batch; w != NULL && rc == STORE_OK; w = w->next, k++) {
        if (piped[k] != PIPED_YES)
            continue;
        if (!pipe_hooks(w)) {
            piped[k] = PIPED_DONE;
            continue;
        }
        pw[k].n = pipe_statements(w, pw[k].sql, pw[k].params);
        for (int i = 0; i < pw[k].n && rc == STORE_OK; i++)
            if (stmt_name(c, pw[k].sql[i], name, &rc) != NULL && name[0] == '\0')
                rc = STORE_FAIL; /* the statement cache is full: no pipeline */
    }
    if (rc != STORE_OK) {
        pr = rc == STORE_UNAVAILABLE ? PIPE_DOWN : PIPE_REDO;
        goto out;
    }
    if (PQenterPipelineMode(c->pg) != 1)
        goto out;
    ok = PQsendQueryParams(c->pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
    sent[n_sent++] = "BEGIN";
    k = 0;
    for (w = batch; ok && w != NULL; w = w->next, k++) {
        for (int i = 0; piped[k] == PIPED_YES && ok && i < pw[k].n; i++) {
            const struct pg_params *p = &pw[k].params[i];
            stmt_name(c, pw[k].sql[i], name, &rc);
            ok = PQsendQueryPrepared(c->pg, name, p->n, p->values, p->lengths, p->formats, 0) == 1;
            sent[n_sent++] = pw[k].sql[i];
        }
    }
    if (ok && commit) {
        ok = PQsendQueryParams(c->pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1;
        sent[n_sent++] = "COMMIT";
    }
    if (ok)
        ok = PQpipelineSync(c->pg) == 1;
    /* each query's results end with a NULL; the sync's result ends the pipeline */
    while (ok) {
        PGresult *res = PQgetResult(c->pg);
        ExecStatusType st;
        if (res == NULL) {
            if (PQstatus(c->pg) != CONNECTION_OK || ++q > n_sent)
                ok = false;
            continue;
        }
        st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        if (st == PGRES_FATAL_ERROR && !failed) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            failed = true;
            if (state == NULL || strncmp(state, "23", 2) != 0)
                map_result(c, res, "pipeline"); /* a conflict is expected; others logged */
        } else if (st == PGRES_COMMAND_OK && q < n_sent && sent[q] == pg_sql_fanout) {
            fanned += strtol(PQcmdTuples(res), NULL, 10);
        }
        PQclear(res);
    }
    if (ok && PQexitPipelineMode(c->pg) != 1)
        ok = false;
    if (!ok || PQstatus(c->pg) != CONNECTION_OK) {
        log_error("postgres pipeline: %.*s", (int)strcspn(PQerrorMessage(c->pg), "\n"),
                  PQerrorMessage(c->pg));
        conn_close(c); /* whatever state it is in: connect again for the next batch */
        pr = PIPE_DOWN;
    } else if (failed) {
        pr = exec_plain(c, "ROLLBACK") == STORE_OK ? PIPE_REDO : PIPE_DOWN;
    } else {
        pr = commit ? PIPE_COMMITTED : PIPE_OPEN;
        if (fanned > 0)
            wh_store_notify();
    }
out:
    free(sent);
    free(pw);
    return pr;
}

/* ---- the committer ---- */

/* The last-used times of keys, in their own transaction (a failure only loses these
 * hints). */
static void
touch_flush(struct pg_store *s, int64_t now)
{
    struct pg_params p;
    int n;

    pthread_mutex_lock(&s->touch_lock);
    n = s->n_touch;
    for (int i = 0; i < n; i++) {
        memset(&p, 0, sizeof p);
        pg_p_bytea(&p, s->touch[i].hash, CRYPTO_HASH_LEN);
        pg_p_int(&p, s->touch[i].ms);
        if (pg_exec(as_store_conn(&s->writer), sql_key_touch, &p, NULL, "key touch") != STORE_OK)
            break;
    }
    s->n_touch = 0;
    pthread_mutex_unlock(&s->touch_lock);
    s->last_touch_flush_ms = now;
}

static bool
touch_due(struct pg_store *s, int64_t now, bool force)
{
    bool pending;

    pthread_mutex_lock(&s->touch_lock);
    pending = s->n_touch > 0;
    pthread_mutex_unlock(&s->touch_lock);
    return pending && (force || now - s->last_touch_flush_ms >= TOUCH_FLUSH_MS);
}

/* Housekeeping after a batch, outside its transaction: last-used times, and expired
 * idempotency records (every orderd process does it; they delete the same rows). */
static void
housekeeping(struct pg_store *s, bool force)
{
    int64_t now = clock_now_ms();
    struct pg_params p = {0};

    if (conn_ready(&s->writer) != STORE_OK)
        return;
    if (touch_due(s, now, force))
        touch_flush(s, now);
    if (now - s->last_expire_ms > EXPIRE_EVERY_MS) {
        pg_p_int(&p, now - LIMIT_IDEM_TTL_MS);
        pg_p_int(&p, EXPIRE_ROWS);
        pg_exec(as_store_conn(&s->writer), sql_idem_expire_all, &p, NULL, "idem expire all");
        s->last_expire_ms = now;
    }
}

/* Runs one batch: the plain creates as one pipeline, then the other writes one by one
 * with a SAVEPOINT each, one COMMIT. */
static void
run_batch(struct pg_store *s, struct store_write *batch)
{
    struct pg_conn *c = &s->writer;
    unsigned char piped[LIMIT_COMMIT_BATCH] = {PIPED_NO}; /* committer_main takes no more */
    bool any_piped = false, all_piped = true;
    bool open = false, committed = false;
    enum store_rc rc = conn_ready(c);
    struct store_write *w;
    int n = 0, k;

    for (w = batch; w != NULL; w = w->next, n++) {
        w->conflict = SC_NONE;
        w->hook_code = 0;
        w->mutate_result = STORE_MUTATE_NOOP;
        w->rc = STORE_OK;
        piped[n] = pipelinable(w) ? PIPED_YES : PIPED_NO;
        any_piped |= piped[n] == PIPED_YES;
        all_piped &= piped[n] == PIPED_YES;
    }
    if (rc == STORE_OK && any_piped) {
        switch (pipe_run(c, batch, piped, all_piped)) {
        case PIPE_COMMITTED:
            committed = true;
            break;
        case PIPE_OPEN:
            open = true;
            break;
        case PIPE_REDO:
            for (k = 0; k < n; k++)
                if (piped[k] == PIPED_YES)
                    piped[k] = PIPED_NO;
            break;
        case PIPE_DOWN:
            rc = STORE_UNAVAILABLE;
            break;
        }
    }
    if (rc == STORE_OK && !committed) {
        if (!open)
            rc = exec_plain(c, "BEGIN");
        c->in_tx = rc == STORE_OK;
        for (w = batch, k = 0; rc == STORE_OK && w != NULL; w = w->next, k++) {
            if (piped[k] != PIPED_NO)
                continue;
            if (exec_plain(c, "SAVEPOINT w") != STORE_OK) {
                rc = STORE_UNAVAILABLE;
                break;
            }
            w->rc = apply(c, w);
            if ((w->rc != STORE_OK || w->mutate_result == STORE_MUTATE_ABORT) &&
                exec_plain(c, "ROLLBACK TO SAVEPOINT w") != STORE_OK)
                rc = STORE_UNAVAILABLE;
            if (rc == STORE_OK && exec_plain(c, "RELEASE SAVEPOINT w") != STORE_OK)
                rc = STORE_UNAVAILABLE;
        }
        c->in_tx = false;
        committed = rc == STORE_OK && exec_plain(c, "COMMIT") == STORE_OK;
        if (rc == STORE_OK && !committed)
            rc = STORE_UNAVAILABLE;
        if (!committed && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
            PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            exec_plain(c, "ROLLBACK");
    }
    /* nothing of an uncommitted batch is durable: nobody gets a 2xx */
    for (w = batch; !committed && w != NULL; w = w->next)
        if (w->rc == STORE_OK || w->rc == STORE_CONFLICT)
            w->rc = STORE_UNAVAILABLE;
    metrics_commit(n, committed);
}

static void *
committer_main(void *arg)
{
    struct pg_store *s = arg;
    struct store_write *batch, *w, *next, *last;
    int n;

    for (;;) {
        pthread_mutex_lock(&s->q_lock);
        while (s->q_head == NULL && !s->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += TOUCH_FLUSH_MS / 1000;
            if (pthread_cond_timedwait(&s->q_cond, &s->q_lock, &until) != 0 && s->q_head == NULL) {
                pthread_mutex_unlock(&s->q_lock);
                pthread_mutex_lock(&s->writer_lock);
                housekeeping(s, true); /* idle: write the last-used times */
                pthread_mutex_unlock(&s->writer_lock);
                pthread_mutex_lock(&s->q_lock);
            }
        }
        if (s->q_head == NULL && s->stopping) {
            pthread_mutex_unlock(&s->q_lock);
            pthread_mutex_lock(&s->writer_lock);
            if (touch_due(s, clock_now_ms(), true))
                housekeeping(s, true);
            pthread_mutex_unlock(&s->writer_lock);
            break;
        }
        batch = last = s->q_head;
        for (n = 1; n < LIMIT_COMMIT_BATCH && last->next != NULL; n++)
            last = last->next;
        s->q_head = last->next;
        if (s->q_head == NULL)
            s->q_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->q_lock);
        metrics_queue_add(-n);

        pthread_mutex_lock(&s->writer_lock);
        run_batch(s, batch);
        pthread_mutex_unlock(&s->writer_lock);
        for (w = batch; w != NULL; w = next) {
            next = w->next; /* done may free or resubmit w */
            w->next = NULL;
            w->done(w);
        }
        pthread_mutex_lock(&s->writer_lock);
        housekeeping(s, false);
        pthread_mutex_unlock(&s->writer_lock);
    }
    return NULL;
}

static void
s_submit(struct store *base, struct store_write *w)
{
    struct pg_store *s = S(base);

    w->next = NULL;
    w->rc = STORE_FAIL;
    pthread_mutex_lock(&s->q_lock);
    if (s->q_tail != NULL)
        s->q_tail->next = w;
    else
        s->q_head = w;
    s->q_tail = w;
    metrics_queue_add(1);
    pthread_cond_signal(&s->q_cond);
    pthread_mutex_unlock(&s->q_lock);
}

/* ---- migrations ---- */

/* Brings one component up to date inside the open transaction. */
static int
migrate_component(struct pg_conn *c, const struct pg_migrations *m, char *err, size_t errlen)
{
    const char *vals[2];
    char vbuf[16];
    PGresult *res;
    int version, rc = -1;

    vals[0] = m->component;
    res = PQexecParams(c->pg,
                       "SELECT coalesce(max(version), 0) FROM schema_version "
                       "WHERE component = $1",
                       1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "cannot read the schema version of %s: %s", m->component,
                 PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (version > m->n) {
        snprintf(err, errlen, "database schema %s version %d is newer than this orderd (%d)",
                 m->component, version, m->n);
        return -1;
    }
    rc = 0;
    for (int v = version + 1; rc == 0 && v <= m->n; v++) {
        res = PQexec(c->pg, m->sql[v - 1]);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "migration %d of %s failed: %.*s", v, m->component,
                     (int)strcspn(PQresultErrorMessage(res), "\n"), PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
        if (rc != 0)
            break;
        snprintf(vbuf, sizeof vbuf, "%d", v);
        vals[1] = vbuf;
        res = PQexecParams(c->pg,
                           "INSERT INTO schema_version (component, version) "
                           "VALUES ($1, $2)",
                           2, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "cannot record migration %d of %s: %s", v, m->component,
                     PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
        if (rc == 0)
            log_info("store: migrated %s to schema version %d", m->component, v);
    }
    return rc;
}

static int
s_migrate(struct store *base, char *err, size_t errlen)
{
    struct pg_store *s = S(base);
    struct pg_conn *c = &s->writer;
    char sql[256];
    PGresult *res;
    int rc = -1;

    err[0] = '\0';
    /* serve migrates before listening and the CLI before its first write; the lock keeps
     * the committer's housekeeping off the connection meanwhile, and the advisory lock
     * serialises processes */
    pthread_mutex_lock(&s->writer_lock);
    if (conn_ready(c) != STORE_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL to migrate");
        pthread_mutex_unlock(&s->writer_lock);
        return -1;
    }
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT pg_advisory_xact_lock(%d); CREATE TABLE IF NOT EXISTS "
             "schema_version (component TEXT NOT NULL, version INTEGER NOT NULL, "
             "PRIMARY KEY (component, version))",
             MIGRATE_LOCK);
    res = PQexec(c->pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "cannot migrate: %.*s", (int)strcspn(PQresultErrorMessage(res), "\n"),
                 PQresultErrorMessage(res));
        PQclear(res);
        goto out;
    }
    PQclear(res);
    for (size_t i = 0; i < sizeof components / sizeof components[0]; i++)
        if (migrate_component(c, components[i], err, errlen) != 0)
            goto out;
    res = PQexec(c->pg, "COMMIT");
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = 0;
    else
        snprintf(err, errlen, "cannot commit the migration: %s", PQresultErrorMessage(res));
    PQclear(res);
out:
    if (rc != 0 && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
    c->n_stmts = 0; /* statements prepared before may name tables that did not exist */
    PQclear(PQexec(c->pg, "DEALLOCATE ALL"));
    pthread_mutex_unlock(&s->writer_lock);
    return rc;
}

static void
s_close(struct store *base)
{
    struct pg_store *s = S(base);

    if (s->committer_started) {
        pthread_mutex_lock(&s->q_lock);
        s->stopping = true;
        pthread_cond_signal(&s->q_cond);
        pthread_mutex_unlock(&s->q_lock);
        pthread_join(s->committer, NULL);
    }
    for (int i = 0; i < PG_READ_CONNS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->pool_cond);
    pthread_mutex_destroy(&s->q_lock);
    pthread_cond_destroy(&s->q_cond);
    pthread_mutex_destroy(&s->touch_lock);
    pthread_mutex_destroy(&s->writer_lock);
    free(s->url);
    free(s);
}

static const struct store_ops pg_ops = {
    .close = s_close,
    .migrate = s_migrate,
    .ping = s_ping,
    .submit = s_submit,
    .org_get = s_org_get,
    .org_keys = s_org_keys,
    .orgs_settings_each = s_orgs_settings_each,
    .key_find = s_key_find,
    .order_get = s_order_get,
    .order_list = s_order_list,
    .event_list = s_event_list,
    .idem_get = s_idem_get,
    .key_secret = s_key_secret,
    .read = s_read,
    .key_touch = s_key_touch,
    .audit_list = s_audit_list,
};

struct store *
store_pg_open(const char *url, char *err, size_t errlen)
{
    struct pg_store *s = calloc(1, sizeof *s);
    char why[256];

    err[0] = '\0';
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &pg_ops;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_cond, NULL);
    pthread_mutex_init(&s->q_lock, NULL);
    pthread_cond_init(&s->q_cond, NULL);
    pthread_mutex_init(&s->touch_lock, NULL);
    pthread_mutex_init(&s->writer_lock, NULL);
    s->last_expire_ms = clock_now_ms(); /* the first sweep a minute after start */
    s->url = strdup(url);
    s->writer.backend = STORE_BACKEND_PG;
    s->writer.store = s;
    s->writer.writer = true;
    for (int i = 0; i < PG_READ_CONNS; i++) {
        s->readers[i].backend = STORE_BACKEND_PG;
        s->readers[i].store = s;
    }
    if (s->url == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* the committer's connection now, so that a wrong URL is told at once; the readers
     * connect on first use */
    if (conn_connect(&s->writer, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", why);
        goto fail;
    }
    if (pthread_create(&s->committer, NULL, committer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the committer thread");
        goto fail;
    }
    s->committer_started = true;
    return &s->base;
fail:
    s_close(&s->base);
    return NULL;
}

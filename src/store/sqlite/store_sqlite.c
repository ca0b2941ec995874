/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite.c -- SQLite backend of store.h (the only includer of sqlite3.h).
 *
 * One writer connection owned by the committer thread; a small pool of read
 * connections for the HTTP workers (WAL lets them read while the committer writes).
 * The committer drains the write queue into one BEGIN IMMEDIATE ... COMMIT with a
 * SAVEPOINT per write, so one write's constraint failure does not undo the others, and
 * one fsync (synchronous=FULL) covers the whole batch. w->done runs only after COMMIT
 * has returned: a 2xx is never sent before the order is on disk.
 */
#include "store/sqlite/store_sqlite.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/store_sqlite_int.h"
#include "store/store.h"
#include "store/store_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define ORDER_COLS STORE_SQLITE_ORDER_COLS
#define KEY_COLS                                                                                   \
    "hash, org_id, mode, kind, display, sealed, created_ms, id, expires_ms, revoked_ms, "          \
    "last_used_ms"
#define EVENT_COLS "org_id, mode, id, type, order_id, created_ms, request_id, data"
#define EVENT_SELECT                                                                               \
    "org_id, mode, id, type, order_id, created_ms, request_id, " STORE_SQLITE_EVENT_DATA("events")
#define IDEM_COLS "org_id, mode, key, endpoint, fingerprint, status, headers, body, created_ms"
/* List filters: each is added to the SQL only when given, so SQLite can use the
 * indexes (an "?x IS NULL OR col = ?x" form would force a scan). Bit i of a mask is
 * clause i; the SQL text for each (mask, order) is built once and shared. */
static const char *const order_clauses[] = {
    "id < :after",
    "id > :before",
    "status = :status",
    "external_id = :external_id",
    "customer_email = :email",
    "created_ms >= :gte",
    "created_ms <= :lte",
    "dialect = :dialect",
};
static const char *const event_clauses[] = {
    "id < :after",
    "id > :before",
    "type = :type",
    "order_id = :order_id",
};

enum stmt_id {
    ST_PING,
    ST_ORG_GET,
    ST_ORG_KEYS,
    ST_ORGS_SETTINGS,
    ST_KEY_FIND,
    ST_ORDER_GET,
    ST_IDEM_GET,
    ST_ORDER_INSERT,
    ST_ORDER_UPDATE,
    ST_ORDER_BY_EXTERNAL,
    ST_ORDER_BY_SHORT,
    ST_EVENT_INSERT,
    ST_IDEM_INSERT,
    ST_IDEM_EXPIRE_ONE,
    ST_IDEM_EXPIRE_ALL,
    ST_ORG_INSERT,
    ST_KEY_INSERT,
    ST_ORG_SETTINGS,
    ST_KEY_SECRET,
    ST_KEY_EXPIRE_OTHERS,
    ST_KEY_REVOKE,
    ST_KEY_TOUCH,
    ST_AUDIT_INSERT,
    ST_AUDIT_LIST,
    ST_BEGIN, /* the committer's transaction statements, prepared once */
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_PROBE,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_PING] = "SELECT 1",
    [ST_ORG_GET] = "SELECT id, uuid, name, settings, created_ms FROM orgs WHERE id = ?1 OR "
                   "uuid = lower(?1)",
    [ST_ORG_KEYS] = "SELECT " KEY_COLS " FROM api_keys WHERE org_id = ?1 "
                    "ORDER BY mode, kind, created_ms",
    [ST_ORGS_SETTINGS] = "SELECT settings FROM orgs WHERE settings <> '{}'",
    [ST_KEY_FIND] = "SELECT " KEY_COLS " FROM api_keys "
                    "WHERE hash = ?1 AND revoked_ms IS NULL AND (expires_ms IS NULL OR "
                    "expires_ms > ?2)",
    [ST_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE org_id = ?1 AND mode = ?2 AND "
                     "(id = ?3 OR short_id = ?3)",
    [ST_IDEM_GET] = "SELECT " IDEM_COLS " FROM idempotency WHERE org_id = ?1 AND mode = ?2 AND "
                    "key = ?3 AND created_ms >= ?4",
    [ST_ORDER_INSERT] = "INSERT INTO orders (" ORDER_COLS
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_ORDER_UPDATE] = "UPDATE orders SET status = ?4, customer_email = ?5, version = ?6, "
                        "updated_ms = ?7, body = ?8 WHERE org_id = ?1 AND mode = ?2 AND id = ?3 "
                        "AND version = ?9",
    [ST_ORDER_BY_EXTERNAL] = "SELECT id FROM orders WHERE org_id = ?1 AND mode = ?2 AND "
                             "dialect = ?3 AND external_id = ?4",
    [ST_ORDER_BY_SHORT] = "SELECT id FROM orders WHERE org_id = ?1 AND short_id = ?2",
    [ST_EVENT_INSERT] =
        "INSERT INTO events (" EVENT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_IDEM_INSERT] =
        "INSERT INTO idempotency (" IDEM_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_IDEM_EXPIRE_ONE] = "DELETE FROM idempotency WHERE org_id = ?1 AND mode = ?2 AND "
                           "key = ?3 AND created_ms < ?4",
    [ST_IDEM_EXPIRE_ALL] = "DELETE FROM idempotency WHERE created_ms < ?1",
    [ST_ORG_INSERT] = "INSERT INTO orgs (id, uuid, name, settings, created_ms) VALUES "
                      "(?1, ?2, ?3, ?4, ?5)",
    [ST_KEY_INSERT] = "INSERT INTO api_keys (hash, org_id, mode, kind, display, sealed, "
                      "created_ms, id, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_ORG_SETTINGS] = "UPDATE orgs SET settings = ?2 WHERE id = ?1",
    [ST_KEY_SECRET] = "SELECT " KEY_COLS " FROM api_keys "
                      "WHERE org_id = ?1 AND mode = ?2 AND kind = 'secret' AND revoked_ms IS "
                      "NULL AND (expires_ms IS NULL OR expires_ms > ?3) ORDER BY created_ms DESC "
                      "LIMIT 1",
    [ST_KEY_EXPIRE_OTHERS] = "UPDATE api_keys SET expires_ms = ?4 WHERE org_id = ?1 AND mode = ?2 "
                             "AND kind = ?3 AND revoked_ms IS NULL AND (expires_ms IS NULL OR "
                             "expires_ms > ?4)",
    [ST_KEY_REVOKE] = "UPDATE api_keys SET revoked_ms = ?3 WHERE org_id = ?1 AND id = ?2 AND "
                      "revoked_ms IS NULL",
    [ST_KEY_TOUCH] = "UPDATE api_keys SET last_used_ms = ?2 WHERE hash = ?1 AND "
                     "(last_used_ms IS NULL OR last_used_ms < ?2)",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (org_id, id, created_ms, actor, action, detail) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_AUDIT_LIST] = "SELECT org_id, id, created_ms, actor, action, detail FROM audit "
                      "WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_SAVEPOINT] = "SAVEPOINT w",
    [ST_RELEASE] = "RELEASE w",
    [ST_ROLLBACK_TO] = "ROLLBACK TO w",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* a write that changes nothing: a row rewritten with its own value */
    [ST_PROBE] = "UPDATE schema_version SET version = version WHERE component = 'core' AND "
                 "version = 1",
};

#define CUSTOM_STMTS   96
#define TOUCH_MAX      256       /* distinct keys remembered between flushes */
#define TOUCH_FLUSH_MS 10000     /* last-used times reach the database this often */
#define PROBE_MS       1000      /* while writes fail, an idle committer tries a write this often */
#define PROBE_MIN_FREE (4 << 20) /* a full disk ends with this much free (a WAL's worth) */
#define CKPT_FRAMES    4096      /* WAL frames (16 MiB of 4 KiB pages) that wake the checkpointer */
#define CKPT_RETRY_MS  1000      /* a failed checkpoint is tried again this often */
#define CKPT_RESTART   4         /* WAL longer than this many CKPT_FRAMES: make it start over */

struct store_conn {
    enum store_backend backend; /* first (store_int.h); zero: SQLite */
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    bool busy;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } custom[CUSTOM_STMTS]; /* the APIs' own statements, keyed by sql pointer */
};

struct sqlite_store {
    struct store base;
    char *path;
    struct store_conn writer;
    struct store_conn readers[LIMIT_READ_CONNS];
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;

    pthread_t committer;
    bool committer_started;
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

    /* A write-failure episode (full disk, I/O errors, database locked): set by the committer
     * when a transaction fails for want of the database, cleared by the next one that
     * commits. Logged once at each end; read by write_health (/readyz). */
    pthread_mutex_t health_lock;
    bool failing;
    char fail_why[64];
    int64_t fail_since_ms;
    uint64_t fail_count;

    /* Checkpoints (WAL -> database file) run on their own thread and connection, so no
     * commit waits for one: the writer's automatic checkpoint is off, and its WAL hook
     * wakes the checkpointer once CKPT_FRAMES frames were added since the last one. */
    struct store_conn ckpt_conn;
    pthread_t checkpointer;
    bool checkpointer_started;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    int wal_frames;  /* frames in the WAL after the last commit */
    int ckpt_base;   /* frames in the WAL at the last checkpoint */
    int ckpt_frames; /* CKPT_FRAMES, or ORDERD_SQLITE_CHECKPOINT_FRAMES */
    bool ckpt_stop;
};

/* On the committer thread: an unavailable database is logged once per episode by the
 * committer, not by every statement that fails; the last reason is kept here. */
static _Thread_local bool on_committer;
static _Thread_local int last_unavailable;           /* SQLite result code, 0: none */
static _Thread_local char last_unavailable_msg[160]; /* what failed and SQLite's message */

#define S(s) ((struct sqlite_store *)(s))

const char *
store_sqlite_mode_text(enum key_mode m)
{
    return m == MODE_LIVE ? "live" : "test";
}

enum key_mode
store_sqlite_mode_parse(const unsigned char *t)
{
    return t != NULL && strcmp((const char *)t, "live") == 0 ? MODE_LIVE : MODE_TEST;
}

/* Maps an SQLite result to a store result; logs unexpected failures. */
static enum store_rc
map_rc(sqlite3 *db, int rc, const char *what)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return STORE_OK;
    case SQLITE_CONSTRAINT:
        return STORE_CONFLICT;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
        if (!on_committer) {
            log_error("sqlite %s: %s (%d)", what, sqlite3_errmsg(db), rc);
        } else if (last_unavailable == 0) {
            last_unavailable = rc;
            snprintf(last_unavailable_msg, sizeof last_unavailable_msg, "%.40s: %.80s (%d)", what,
                     sqlite3_errmsg(db), rc);
        }
        return STORE_UNAVAILABLE;
    default:
        log_error("sqlite %s: %s (%d)", what, sqlite3_errmsg(db), rc);
        return STORE_FAIL;
    }
}

/* Returns the prepared statement, reset and unbound, or NULL (logged). */
static sqlite3_stmt *
stmt(struct store_conn *c, enum stmt_id id)
{
    if (c->st[id] == NULL) {
        if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                               NULL) != SQLITE_OK) {
            log_error("sqlite prepare %d: %s", (int)id, sqlite3_errmsg(c->db));
            return NULL;
        }
    }
    sqlite3_reset(c->st[id]);
    sqlite3_clear_bindings(c->st[id]);
    return c->st[id];
}

sqlite3 *
store_sqlite_db(struct store_conn *c)
{
    return c->db;
}

sqlite3_stmt *
store_sqlite_stmt(struct store_conn *c, const char *sql)
{
    int i;

    for (i = 0; i < CUSTOM_STMTS && c->custom[i].sql != NULL; i++) {
        if (c->custom[i].sql == sql) {
            sqlite3_reset(c->custom[i].st);
            sqlite3_clear_bindings(c->custom[i].st);
            return c->custom[i].st;
        }
    }
    if (i == CUSTOM_STMTS) {
        log_error("sqlite: more than %d API statements; raise CUSTOM_STMTS", CUSTOM_STMTS);
        return NULL;
    }
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->custom[i].st, NULL) !=
        SQLITE_OK) {
        log_error("sqlite prepare: %s", sqlite3_errmsg(c->db));
        c->custom[i].st = NULL;
        return NULL;
    }
    c->custom[i].sql = sql;
    return c->custom[i].st;
}

enum store_rc
store_sqlite_rc(struct store_conn *c, int rc, const char *what)
{
    return map_rc(c->db, rc, what);
}

void
store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

char *
store_sqlite_col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t != NULL ? strdup((const char *)t) : NULL;
}

void
store_sqlite_col_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

static int
conn_open(struct store_conn *c, const char *path, bool writer, char *err, size_t errlen)
{
    /* temp_store=MEMORY: the savepoint of each write keeps the pages it changes in an
     * in-memory statement journal; in a temp file that was two pwrite calls per page.
     * cache_size: 8 MiB of pages for the writer, so the index pages a batch touches stay
     * cached (the default 2 MiB made a pread per random index leaf; 64 MiB spent more in
     * growing the heap than it saved). */
    static const char *const pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
        "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8192;";
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

    memset(c, 0, sizeof *c);
    if (sqlite3_open_v2(path, &c->db, flags,
                        store_sqlite_vfs_init() == 0 ? STORE_SQLITE_VFS : NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite3_exec(c->db, writer ? pragmas : "PRAGMA query_only=ON;", NULL, NULL, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot set up %s: %s", path, sqlite3_errmsg(c->db));
        return -1;
    }
    return 0;
}

static void
conn_close(struct store_conn *c)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    for (int i = 0; i < CUSTOM_STMTS; i++)
        sqlite3_finalize(c->custom[i].st);
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

static struct store_conn *
reader_get(struct sqlite_store *s)
{
    struct store_conn *c = NULL;

    pthread_mutex_lock(&s->pool_lock);
    while (c == NULL) {
        for (int i = 0; i < LIMIT_READ_CONNS && c == NULL; i++)
            if (!s->readers[i].busy)
                c = &s->readers[i];
        if (c == NULL)
            pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    }
    c->busy = true;
    pthread_mutex_unlock(&s->pool_lock);
    return c;
}

static void
reader_put(struct sqlite_store *s, struct store_conn *c)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (c->st[i] != NULL)
            sqlite3_reset(c->st[i]); /* end the read transaction */
    for (int i = 0; i < CUSTOM_STMTS && c->custom[i].sql != NULL; i++)
        sqlite3_reset(c->custom[i].st);
    pthread_mutex_lock(&s->pool_lock);
    c->busy = false;
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
}

/* ---- rows ---- */

int
store_sqlite_order_from(sqlite3_stmt *st, struct order_row *r)
{
    memset(r, 0, sizeof *r);
    store_sqlite_col_copy(st, 0, r->org_id, sizeof r->org_id);
    r->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
    store_sqlite_col_copy(st, 2, r->id, sizeof r->id);
    store_sqlite_col_copy(st, 3, r->short_id, sizeof r->short_id);
    store_sqlite_col_copy(st, 4, r->dialect, sizeof r->dialect);
    r->external_id = store_sqlite_col_dup(st, 5);
    store_sqlite_col_copy(st, 6, r->status, sizeof r->status);
    store_sqlite_col_copy(st, 7, r->currency, sizeof r->currency);
    r->total_amount = sqlite3_column_int64(st, 8);
    r->customer_email = store_sqlite_col_dup(st, 9);
    r->version = sqlite3_column_int64(st, 10);
    r->created_ms = sqlite3_column_int64(st, 11);
    r->updated_ms = sqlite3_column_int64(st, 12);
    r->body = store_sqlite_col_dup(st, 13);
    r->body_len = r->body ? strlen(r->body) : 0;
    return r->body != NULL ? 0 : -1;
}

static int
event_from_stmt(sqlite3_stmt *st, struct event_row *r)
{
    memset(r, 0, sizeof *r);
    store_sqlite_col_copy(st, 0, r->org_id, sizeof r->org_id);
    r->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
    store_sqlite_col_copy(st, 2, r->id, sizeof r->id);
    store_sqlite_col_copy(st, 3, r->type, sizeof r->type);
    store_sqlite_col_copy(st, 4, r->order_id, sizeof r->order_id);
    r->created_ms = sqlite3_column_int64(st, 5);
    store_sqlite_col_copy(st, 6, r->request_id, sizeof r->request_id);
    r->data = store_sqlite_col_dup(st, 7);
    return r->data != NULL ? 0 : -1;
}

static int
idem_from_stmt(sqlite3_stmt *st, struct idem_row *r)
{
    const void *fp = sqlite3_column_blob(st, 4);

    memset(r, 0, sizeof *r);
    store_sqlite_col_copy(st, 0, r->org_id, sizeof r->org_id);
    r->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
    r->key = store_sqlite_col_dup(st, 2);
    store_sqlite_col_copy(st, 3, r->endpoint, sizeof r->endpoint);
    if (fp != NULL && sqlite3_column_bytes(st, 4) == CRYPTO_HASH_LEN)
        memcpy(r->fingerprint, fp, CRYPTO_HASH_LEN);
    r->status = sqlite3_column_int(st, 5);
    r->headers = store_sqlite_col_dup(st, 6);
    r->body = store_sqlite_col_dup(st, 7);
    r->created_ms = sqlite3_column_int64(st, 8);
    return r->key && r->headers && r->body ? 0 : -1;
}

static int
key_from_stmt(sqlite3_stmt *st, struct key_rec *r)
{
    const void *h = sqlite3_column_blob(st, 0), *sealed = sqlite3_column_blob(st, 5);
    int sealed_len = sqlite3_column_bytes(st, 5);

    memset(r, 0, sizeof *r);
    if (h == NULL || sqlite3_column_bytes(st, 0) != CRYPTO_HASH_LEN)
        return -1;
    memcpy(r->hash, h, CRYPTO_HASH_LEN);
    store_sqlite_col_copy(st, 1, r->org_id, sizeof r->org_id);
    r->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 2));
    r->kind = strcmp((const char *)sqlite3_column_text(st, 3), "secret") == 0 ? KEY_SECRET
                                                                              : KEY_PUBLISHABLE;
    store_sqlite_col_copy(st, 4, r->display, sizeof r->display);
    if (sealed != NULL && sealed_len > 0) {
        r->sealed = malloc((size_t)sealed_len);
        if (r->sealed == NULL)
            return -1;
        memcpy(r->sealed, sealed, (size_t)sealed_len);
        r->sealed_len = (size_t)sealed_len;
    }
    r->created_ms = sqlite3_column_int64(st, 6);
    store_sqlite_col_copy(st, 7, r->id, sizeof r->id);
    r->expires_ms = sqlite3_column_int64(st, 8);
    r->revoked_ms = sqlite3_column_int64(st, 9);
    r->last_used_ms = sqlite3_column_int64(st, 10);
    return 0;
}

/* ---- reads ---- */

static enum store_rc
s_ping(struct store *base)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    sqlite3_stmt *st = stmt(c, ST_PING);
    enum store_rc rc = STORE_FAIL;

    if (st != NULL)
        rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : map_rc(c->db, SQLITE_IOERR, "ping");
    reader_put(s, c);
    return rc;
}

static enum store_rc
s_org_get(struct store *base, const char *id_or_uuid, struct org_rec *out)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    sqlite3_stmt *st = stmt(c, ST_ORG_GET);
    enum store_rc rc = STORE_FAIL;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        goto out;
    store_sqlite_bind_text(st, 1, id_or_uuid);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        store_sqlite_col_copy(st, 0, out->id, sizeof out->id);
        store_sqlite_col_copy(st, 1, out->uuid, sizeof out->uuid);
        out->name = store_sqlite_col_dup(st, 2);
        out->settings = store_sqlite_col_dup(st, 3);
        out->created_ms = sqlite3_column_int64(st, 4);
        rc = out->name && out->settings ? STORE_OK : STORE_FAIL;
    } else {
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c->db, r, "org get");
    }
out:
    reader_put(s, c);
    return rc;
}

static int
key_from_void(sqlite3_stmt *st, void *row)
{
    return key_from_stmt(st, row);
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
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    sqlite3_stmt *st = stmt(c, ST_ORG_KEYS);
    enum store_rc rc = STORE_FAIL;
    void *out = NULL;

    *n = 0;
    if (st != NULL) {
        store_sqlite_bind_text(st, 1, org_id);
        rc = store_sqlite_collect(c, st, sizeof **keys, key_from_void, keys_free_void, &out, n,
                                  "org keys");
    }
    reader_put(s, c);
    *keys = out;
    return rc;
}

static enum store_rc
s_orgs_settings_each(struct store *base, bool (*fn)(void *arg, const char *settings), void *arg)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    sqlite3_stmt *st = stmt(c, ST_ORGS_SETTINGS);
    enum store_rc rc = STORE_FAIL;
    int r = SQLITE_DONE;

    if (st == NULL)
        goto out;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (!fn(arg, (const char *)sqlite3_column_text(st, 0))) {
            r = SQLITE_DONE;
            break;
        }
    rc = r == SQLITE_DONE ? STORE_OK : map_rc(c->db, r, "orgs settings");
out:
    reader_put(s, c);
    return rc;
}

static enum store_rc
s_key_find(struct store *base, const uint8_t hash[CRYPTO_HASH_LEN], struct key_rec *out)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    sqlite3_stmt *st = stmt(c, ST_KEY_FIND);
    enum store_rc rc = STORE_FAIL;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        goto out;
    sqlite3_bind_blob(st, 1, hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clock_now_ms());
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = key_from_stmt(st, out) == 0 ? STORE_OK : STORE_FAIL;
    else
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c->db, r, "key find");
out:
    reader_put(s, c);
    return rc;
}

static enum store_rc
s_key_secret(struct store *base, const char *org_id, enum key_mode mode, struct key_rec *out)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    sqlite3_stmt *st = stmt(c, ST_KEY_SECRET);
    enum store_rc rc = STORE_FAIL;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        goto out;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    sqlite3_bind_int64(st, 3, clock_now_ms());
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = key_from_stmt(st, out) == 0 ? STORE_OK : STORE_FAIL;
    else
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c->db, r, "key secret");
out:
    reader_put(s, c);
    return rc;
}

static enum store_rc
s_read(struct store *base, store_tx_fn fn, void *arg)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    enum store_rc rc = fn(c, arg);

    reader_put(s, c);
    return rc;
}

static void
s_key_touch(struct store *base, const uint8_t hash[CRYPTO_HASH_LEN])
{
    struct sqlite_store *s = S(base);
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
audit_from(sqlite3_stmt *st, void *row)
{
    struct audit_row *a = row;

    store_sqlite_col_copy(st, 0, a->org_id, sizeof a->org_id);
    store_sqlite_col_copy(st, 1, a->id, sizeof a->id);
    a->created_ms = sqlite3_column_int64(st, 2);
    store_sqlite_col_copy(st, 3, a->actor, sizeof a->actor);
    store_sqlite_col_copy(st, 4, a->action, sizeof a->action);
    a->detail = store_sqlite_col_dup(st, 5);
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
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    sqlite3_stmt *st = stmt(c, ST_AUDIT_LIST);
    enum store_rc rc = STORE_FAIL;
    void *out = NULL;

    *n = 0;
    if (st != NULL) {
        store_sqlite_bind_text(st, 1, org_id);
        sqlite3_bind_int(st, 2, limit);
        rc = store_sqlite_collect(c, st, sizeof **rows, audit_from, audit_free_void, &out, n,
                                  "audit list");
    }
    reader_put(s, c);
    *rows = out;
    return rc;
}

static enum store_rc
order_get_on(struct store_conn *c, const char *org_id, enum key_mode mode, const char *ref,
             struct order_row *out)
{
    sqlite3_stmt *st = stmt(c, ST_ORDER_GET);
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, ref);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        return store_sqlite_order_from(st, out) == 0 ? STORE_OK : STORE_FAIL;
    return r == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c->db, r, "order get");
}

static enum store_rc
s_order_get(struct store *base, const char *org_id, enum key_mode mode, const char *ref,
            struct order_row *out)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    enum store_rc rc = order_get_on(c, org_id, mode, ref, out);

    reader_put(s, c);
    return rc;
}

enum store_rc
store_sqlite_collect(struct store_conn *c, sqlite3_stmt *st, size_t row_size,
                     int (*from)(sqlite3_stmt *st, void *row),
                     void (*free_rows)(void *rows, size_t n), void **rows, size_t *n,
                     const char *what)
{
    char *arr = NULL, *grown;
    size_t k = 0;
    enum store_rc rc = STORE_OK;
    int r;

    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        grown = realloc(arr, (k + 1) * row_size);
        if (grown == NULL) {
            rc = STORE_FAIL;
            break;
        }
        arr = grown;
        memset(arr + k * row_size, 0, row_size);
        if (from(st, arr + k++ * row_size) != 0) {
            rc = STORE_FAIL;
            break;
        }
    }
    if (rc == STORE_OK && r != SQLITE_DONE)
        rc = map_rc(c->db, r, what);
    if (rc != STORE_OK) {
        free_rows(arr, k);
        arr = NULL;
        k = 0;
    }
    *rows = arr;
    *n = k;
    return rc;
}

/* Steps a list statement into an array of rows; reverses when ascending (so the page
 * is newest first either way) and reports whether one more row existed. */
static enum store_rc
list_rows(struct store_conn *c, sqlite3_stmt *st, int limit, bool ascending, size_t row_size,
          int (*from)(sqlite3_stmt *, void *), void (*free_row)(void *), void **rows_out,
          size_t *n_out, bool *has_more)
{
    char *rows = calloc((size_t)limit + 1, row_size), tmp[512];
    size_t n = 0;
    int r = SQLITE_DONE;
    enum store_rc rc = STORE_FAIL;

    if (rows == NULL || row_size > sizeof tmp)
        goto out;
    while (n <= (size_t)limit && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (from(st, rows + n * row_size) != 0) {
            n++;
            goto out;
        }
        n++;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = map_rc(c->db, r, "list");
        goto out;
    }
    *has_more = n > (size_t)limit;
    if (*has_more)
        free_row(rows + --n * row_size);
    if (ascending) {
        for (size_t i = 0; i < n / 2; i++) {
            memcpy(tmp, rows + i * row_size, row_size);
            memcpy(rows + i * row_size, rows + (n - 1 - i) * row_size, row_size);
            memcpy(rows + (n - 1 - i) * row_size, tmp, row_size);
        }
    }
    rc = STORE_OK;
out:
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
order_from_void(sqlite3_stmt *st, void *r)
{
    return store_sqlite_order_from(st, r);
}

static void
order_free_void(void *r)
{
    order_row_free(r);
}

static int
event_from_void(sqlite3_stmt *st, void *r)
{
    return event_from_stmt(st, r);
}

static void
event_free_void(void *r)
{
    event_row_free(r);
}

static pthread_mutex_t list_sql_lock = PTHREAD_MUTEX_INITIALIZER;
static char *list_sql_cache[2][256][2]; /* [orders|events][mask][desc|asc], built once */

/* The list SQL for table (0 orders, 1 events) with the clauses in mask; NULL on OOM. */
static const char *
list_sql(int table, unsigned mask, bool asc)
{
    const char *const *clauses = table == 0 ? order_clauses : event_clauses;
    size_t n = table == 0 ? sizeof order_clauses / sizeof order_clauses[0]
                          : sizeof event_clauses / sizeof event_clauses[0];
    char **slot = &list_sql_cache[table][mask & 0xff][asc];
    struct buf b = {0};

    pthread_mutex_lock(&list_sql_lock);
    if (*slot == NULL) {
        buf_printf(&b, "SELECT %s FROM %s WHERE org_id = :org AND mode = :mode",
                   table == 0 ? ORDER_COLS : EVENT_SELECT, table == 0 ? "orders" : "events");
        for (size_t i = 0; i < n; i++)
            if (mask & (1u << i))
                buf_printf(&b, " AND %s", clauses[i]);
        buf_printf(&b, " ORDER BY id %s LIMIT :limit", asc ? "ASC" : "DESC");
        *slot = buf_take(&b, NULL);
    }
    pthread_mutex_unlock(&list_sql_lock);
    return *slot;
}

/* Binds value to the named parameter when the statement has it. */
static void
bind_named(sqlite3_stmt *st, const char *name, const char *value)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i > 0 && value != NULL)
        sqlite3_bind_text(st, i, value, -1, SQLITE_STATIC);
}

static void
bind_named_int(sqlite3_stmt *st, const char *name, int64_t value)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i > 0)
        sqlite3_bind_int64(st, i, value);
}

static enum store_rc
s_order_list(struct store *base, const struct order_query *q, struct order_row **rows, size_t *n,
             bool *has_more)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    bool asc = q->ending_before != NULL && q->starting_after == NULL;
    unsigned mask = (unsigned)(q->starting_after != NULL) |
                    (unsigned)(q->ending_before != NULL) << 1 | (unsigned)(q->status != NULL) << 2 |
                    (unsigned)(q->external_id != NULL) << 3 |
                    (unsigned)(q->customer_email != NULL) << 4 | (unsigned)q->has_created_gte << 5 |
                    (unsigned)q->has_created_lte << 6 | (unsigned)(q->dialect != NULL) << 7;
    const char *sql = list_sql(0, mask, asc);
    sqlite3_stmt *st = sql != NULL ? store_sqlite_stmt(c, sql) : NULL;
    enum store_rc rc = STORE_FAIL;
    void *out = NULL;

    *rows = NULL;
    *n = 0;
    if (st == NULL)
        goto done;
    bind_named(st, ":org", q->org_id);
    bind_named(st, ":mode", store_sqlite_mode_text(q->mode));
    bind_named(st, ":after", q->starting_after);
    bind_named(st, ":before", q->ending_before);
    bind_named(st, ":status", q->status);
    bind_named(st, ":external_id", q->external_id);
    bind_named(st, ":email", q->customer_email);
    bind_named_int(st, ":gte", q->created_gte);
    bind_named_int(st, ":lte", q->created_lte);
    bind_named(st, ":dialect", q->dialect);
    bind_named_int(st, ":limit", q->limit + 1);
    rc = list_rows(c, st, q->limit, asc, sizeof(struct order_row), order_from_void, order_free_void,
                   &out, n, has_more);
    *rows = out;
done:
    reader_put(s, c);
    return rc;
}

static enum store_rc
s_event_list(struct store *base, const struct event_query *q, struct event_row **rows, size_t *n,
             bool *has_more)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    bool asc = q->ending_before != NULL && q->starting_after == NULL;
    unsigned mask = (unsigned)(q->starting_after != NULL) |
                    (unsigned)(q->ending_before != NULL) << 1 | (unsigned)(q->type != NULL) << 2 |
                    (unsigned)(q->order_id != NULL) << 3;
    const char *sql = list_sql(1, mask, asc);
    sqlite3_stmt *st = sql != NULL ? store_sqlite_stmt(c, sql) : NULL;
    enum store_rc rc = STORE_FAIL;
    void *out = NULL;

    *rows = NULL;
    *n = 0;
    if (st == NULL)
        goto done;
    bind_named(st, ":org", q->org_id);
    bind_named(st, ":mode", store_sqlite_mode_text(q->mode));
    bind_named(st, ":after", q->starting_after);
    bind_named(st, ":before", q->ending_before);
    bind_named(st, ":type", q->type);
    bind_named(st, ":order_id", q->order_id);
    bind_named_int(st, ":limit", q->limit + 1);
    rc = list_rows(c, st, q->limit, asc, sizeof(struct event_row), event_from_void, event_free_void,
                   &out, n, has_more);
    *rows = out;
done:
    reader_put(s, c);
    return rc;
}

static enum store_rc
idem_get_on(struct store_conn *c, const char *org_id, enum key_mode mode, const char *key,
            struct idem_row *out)
{
    sqlite3_stmt *st = stmt(c, ST_IDEM_GET);
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, key);
    sqlite3_bind_int64(st, 4, clock_now_ms() - LIMIT_IDEM_TTL_MS);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        return idem_from_stmt(st, out) == 0 ? STORE_OK : STORE_FAIL;
    return r == SQLITE_DONE ? STORE_NOT_FOUND : map_rc(c->db, r, "idem get");
}

static enum store_rc
s_idem_get(struct store *base, const char *org_id, enum key_mode mode, const char *key,
           struct idem_row *out)
{
    struct sqlite_store *s = S(base);
    struct store_conn *c = reader_get(s);
    enum store_rc rc = idem_get_on(c, org_id, mode, key, out);

    reader_put(s, c);
    return rc;
}

/* ---- writes (committer thread only) ---- */

static enum store_rc
exec_step(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);

    return r == SQLITE_DONE || r == SQLITE_ROW ? STORE_OK : map_rc(c->db, r, what);
}

/* Runs one of the committer's transaction statements (prepared once per connection:
 * BEGIN, SAVEPOINT, RELEASE and COMMIT run for every write, and parsing them each time
 * with sqlite3_exec cost more than the INSERTs). */
static enum store_rc
exec_sql(struct store_conn *c, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(c, id);
    int r;

    if (st == NULL)
        return STORE_FAIL; /* logged */
    r = sqlite3_step(st);
    sqlite3_reset(st);
    return map_rc(c->db, r, stmt_sql[id]);
}

static enum store_rc
idem_insert(struct store_conn *c, struct store_write *w)
{
    struct idem_row *i = w->idem;
    sqlite3_stmt *st;
    enum store_rc rc;

    if (i == NULL || i->body == NULL)
        return STORE_OK;
    st = stmt(c, ST_IDEM_EXPIRE_ONE);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, i->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(i->mode));
    store_sqlite_bind_text(st, 3, i->key);
    sqlite3_bind_int64(st, 4, clock_now_ms() - LIMIT_IDEM_TTL_MS);
    rc = exec_step(c, st, "idem expire");
    if (rc != STORE_OK)
        return rc;
    st = stmt(c, ST_IDEM_INSERT);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, i->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(i->mode));
    store_sqlite_bind_text(st, 3, i->key);
    store_sqlite_bind_text(st, 4, i->endpoint);
    sqlite3_bind_blob(st, 5, i->fingerprint, CRYPTO_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, i->status);
    store_sqlite_bind_text(st, 7, i->headers ? i->headers : "{}");
    store_sqlite_bind_text(st, 8, i->body);
    sqlite3_bind_int64(st, 9, i->created_ms);
    rc = exec_step(c, st, "idem insert");
    if (rc == STORE_CONFLICT) {
        w->conflict = SC_IDEMPOTENCY;
        if (idem_get_on(c, i->org_id, i->mode, i->key, &w->existing) != STORE_OK)
            w->conflict = SC_OTHER;
    }
    return rc;
}

/* Inserts the event of a write that left its order's body as body (len bytes): an event
 * whose data is that same body shares it (data ''; see schema migration 3) rather than
 * storing a second copy. */
static enum store_rc
event_insert(struct store_conn *c, const struct event_row *e, const char *body, size_t len)
{
    sqlite3_stmt *st;
    enum store_rc rc;

    if (e == NULL || e->type[0] == '\0')
        return STORE_OK;
    st = stmt(c, ST_EVENT_INSERT);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, e->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(e->mode));
    store_sqlite_bind_text(st, 3, e->id);
    store_sqlite_bind_text(st, 4, e->type);
    store_sqlite_bind_text(st, 5, e->order_id);
    sqlite3_bind_int64(st, 6, e->created_ms);
    store_sqlite_bind_text(st, 7, e->request_id);
    if (body != NULL && e->data != NULL && strlen(e->data) == len &&
        memcmp(e->data, body, len) == 0)
        sqlite3_bind_text(st, 8, "", 0, SQLITE_STATIC);
    else
        store_sqlite_bind_text(st, 8, e->data);
    rc = exec_step(c, st, "event insert");
    return rc == STORE_OK ? store_sqlite_webhook_fanout(c, e) : rc; /* the outbox */
}

/* After a constraint failure on insert: which one? */
static void
order_conflict(struct store_conn *c, struct store_write *w)
{
    const struct order_row *o = w->order;
    sqlite3_stmt *st;

    w->conflict = SC_OTHER;
    if (o->external_id != NULL && (st = stmt(c, ST_ORDER_BY_EXTERNAL)) != NULL) {
        store_sqlite_bind_text(st, 1, o->org_id);
        store_sqlite_bind_text(st, 2, store_sqlite_mode_text(o->mode));
        store_sqlite_bind_text(st, 3, o->dialect);
        store_sqlite_bind_text(st, 4, o->external_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            w->conflict = SC_EXTERNAL_ID;
            store_sqlite_col_copy(st, 0, w->conflict_id, sizeof w->conflict_id);
            return;
        }
    }
    if ((st = stmt(c, ST_ORDER_BY_SHORT)) != NULL) {
        store_sqlite_bind_text(st, 1, o->org_id);
        store_sqlite_bind_text(st, 2, o->short_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            w->conflict = SC_SHORT_ID;
    }
}

static enum store_rc
apply_order_insert(struct store_conn *c, struct store_write *w)
{
    const struct order_row *o = w->order;
    sqlite3_stmt *st;
    enum store_rc rc;

    /* A stored answer for this key wins over any other outcome (a retry of a create
     * that succeeded must replay, not hit its own external_id). */
    if (w->idem != NULL && w->idem->key != NULL &&
        idem_get_on(c, w->idem->org_id, w->idem->mode, w->idem->key, &w->existing) == STORE_OK) {
        w->conflict = SC_IDEMPOTENCY;
        return STORE_CONFLICT;
    }
    if (w->before != NULL && (rc = w->before(c, w->hook_arg)) != STORE_OK) {
        w->hook_code = 1;
        return rc;
    }
    st = stmt(c, ST_ORDER_INSERT);
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, o->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(o->mode));
    store_sqlite_bind_text(st, 3, o->id);
    store_sqlite_bind_text(st, 4, o->short_id);
    store_sqlite_bind_text(st, 5, o->dialect);
    store_sqlite_bind_text(st, 6, o->external_id);
    store_sqlite_bind_text(st, 7, o->status);
    store_sqlite_bind_text(st, 8, o->currency);
    sqlite3_bind_int64(st, 9, o->total_amount);
    store_sqlite_bind_text(st, 10, o->customer_email);
    sqlite3_bind_int64(st, 11, o->version);
    sqlite3_bind_int64(st, 12, o->created_ms);
    sqlite3_bind_int64(st, 13, o->updated_ms);
    sqlite3_bind_text(st, 14, o->body, (int)o->body_len, SQLITE_STATIC);
    rc = exec_step(c, st, "order insert");
    if (rc == STORE_CONFLICT) {
        order_conflict(c, w);
        return rc;
    }
    if (rc == STORE_OK)
        rc = event_insert(c, w->event, o->body, o->body_len);
    if (rc == STORE_OK && w->after != NULL && (rc = w->after(c, w->hook_arg)) != STORE_OK)
        w->hook_code = 1;
    if (rc == STORE_OK)
        rc = idem_insert(c, w); /* last: `after` may have rendered the answer */
    return rc;
}

static enum store_rc
apply_order_mutate(struct store_conn *c, struct store_write *w)
{
    struct order_row cur, next;
    sqlite3_stmt *st;
    enum store_rc rc;

    memset(&next, 0, sizeof next);
    rc = order_get_on(c, w->org_id, w->mode, w->ref, &cur);
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
    if (w->before != NULL && (rc = w->before(c, w->hook_arg)) != STORE_OK) {
        w->hook_code = 1;
        goto out;
    }
    w->mutate_result = w->mutate(w->mutate_arg, &cur, &next);
    if (w->mutate_result == STORE_MUTATE_ABORT)
        goto out;
    if (w->mutate_result == STORE_MUTATE_WRITE) {
        st = stmt(c, ST_ORDER_UPDATE);
        if (st == NULL) {
            rc = STORE_FAIL;
            goto out;
        }
        store_sqlite_bind_text(st, 1, cur.org_id);
        store_sqlite_bind_text(st, 2, store_sqlite_mode_text(cur.mode));
        store_sqlite_bind_text(st, 3, cur.id);
        store_sqlite_bind_text(st, 4, next.status);
        store_sqlite_bind_text(st, 5, next.customer_email);
        sqlite3_bind_int64(st, 6, next.version);
        sqlite3_bind_int64(st, 7, next.updated_ms);
        store_sqlite_bind_text(st, 8, next.body);
        sqlite3_bind_int64(st, 9, cur.version);
        rc = exec_step(c, st, "order update");
        if (rc == STORE_OK && sqlite3_changes(c->db) != 1)
            rc = STORE_FAIL;
        if (rc == STORE_OK)
            rc = event_insert(c, w->event, next.body, next.body ? strlen(next.body) : 0);
        if (rc == STORE_OK && w->after != NULL && (rc = w->after(c, w->hook_arg)) != STORE_OK)
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
key_insert(struct store_conn *c, const char *org_id, const struct key_rec *k)
{
    sqlite3_stmt *st = stmt(c, ST_KEY_INSERT);

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, k->hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
    store_sqlite_bind_text(st, 2, org_id);
    store_sqlite_bind_text(st, 3, store_sqlite_mode_text(k->mode));
    store_sqlite_bind_text(st, 4, k->kind == KEY_SECRET ? "secret" : "publishable");
    store_sqlite_bind_text(st, 5, k->display);
    if (k->sealed != NULL)
        sqlite3_bind_blob(st, 6, k->sealed, (int)k->sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, k->created_ms);
    store_sqlite_bind_text(st, 8, k->id);
    if (k->expires_ms > 0)
        sqlite3_bind_int64(st, 9, k->expires_ms);
    return exec_step(c, st, "key insert");
}

static enum store_rc
apply_org_insert(struct store_conn *c, struct store_write *w)
{
    sqlite3_stmt *st = stmt(c, ST_ORG_INSERT);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, w->org->id);
    store_sqlite_bind_text(st, 2, w->org->uuid);
    store_sqlite_bind_text(st, 3, w->org->name);
    store_sqlite_bind_text(st, 4, w->org->settings ? w->org->settings : "{}");
    sqlite3_bind_int64(st, 5, w->org->created_ms);
    rc = exec_step(c, st, "org insert");
    for (int i = 0; rc == STORE_OK && i < w->n_keys; i++)
        rc = key_insert(c, w->org->id, &w->keys[i]);
    return rc;
}

/* The new key, and the grace period of the keys it replaces. */
static enum store_rc
apply_key_roll(struct store_conn *c, struct store_write *w)
{
    const struct key_rec *k = &w->keys[0];
    sqlite3_stmt *st = stmt(c, ST_KEY_EXPIRE_OTHERS);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, k->org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(k->mode));
    store_sqlite_bind_text(st, 3, k->kind == KEY_SECRET ? "secret" : "publishable");
    sqlite3_bind_int64(st, 4, w->key_grace_until);
    rc = exec_step(c, st, "key expire others");
    return rc == STORE_OK ? key_insert(c, k->org_id, k) : rc;
}

static enum store_rc
apply_key_revoke(struct store_conn *c, struct store_write *w)
{
    sqlite3_stmt *st = stmt(c, ST_KEY_REVOKE);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, w->org_id);
    store_sqlite_bind_text(st, 2, w->key_id);
    sqlite3_bind_int64(st, 3, clock_now_ms());
    rc = exec_step(c, st, "key revoke");
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = STORE_NOT_FOUND;
    return rc;
}

static enum store_rc
audit_insert(struct store_conn *c, const struct audit_row *a)
{
    sqlite3_stmt *st = stmt(c, ST_AUDIT_INSERT);

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, a->org_id);
    store_sqlite_bind_text(st, 2, a->id);
    sqlite3_bind_int64(st, 3, a->created_ms);
    store_sqlite_bind_text(st, 4, a->actor);
    store_sqlite_bind_text(st, 5, a->action);
    store_sqlite_bind_text(st, 6, a->detail ? a->detail : "{}");
    return exec_step(c, st, "audit insert");
}

static enum store_rc
apply_org_settings(struct store_conn *c, struct store_write *w)
{
    sqlite3_stmt *st = stmt(c, ST_ORG_SETTINGS);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, w->org->id);
    store_sqlite_bind_text(st, 2, w->org->settings);
    rc = exec_step(c, st, "org settings");
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = STORE_NOT_FOUND;
    return rc;
}

static enum store_rc
apply_kind(struct store_conn *c, struct store_write *w)
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
        return w->custom != NULL ? w->custom(c, w->hook_arg) : STORE_FAIL;
    case SW_KEY_ROLL:
        return apply_key_roll(c, w);
    case SW_KEY_REVOKE:
        return apply_key_revoke(c, w);
    }
    return STORE_FAIL;
}

static enum store_rc
apply(struct store_conn *c, struct store_write *w)
{
    enum store_rc rc = apply_kind(c, w);

    if (rc == STORE_OK && w->audit != NULL)
        rc = audit_insert(c, w->audit);
    return rc;
}

/* Writes the remembered last-used times (inside the batch's transaction). A failure
 * only loses these hints. */
static void
touch_flush(struct sqlite_store *s, int64_t now)
{
    sqlite3_stmt *st;
    int n;

    pthread_mutex_lock(&s->touch_lock);
    n = s->n_touch;
    for (int i = 0; i < n && (st = stmt(&s->writer, ST_KEY_TOUCH)) != NULL; i++) {
        sqlite3_bind_blob(st, 1, s->touch[i].hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, s->touch[i].ms);
        exec_step(&s->writer, st, "key touch");
    }
    s->n_touch = 0;
    pthread_mutex_unlock(&s->touch_lock);
    s->last_touch_flush_ms = now;
}

static bool
touch_due(struct sqlite_store *s, int64_t now, bool force)
{
    bool pending;

    pthread_mutex_lock(&s->touch_lock);
    pending = s->n_touch > 0;
    pthread_mutex_unlock(&s->touch_lock);
    return pending && (force || now - s->last_touch_flush_ms >= TOUCH_FLUSH_MS);
}

/* A short reason for /readyz (names no library): what an operator has to fix. */
static const char *
unavailable_reason(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return "the disk is full";
    case SQLITE_IOERR:
        return "I/O error";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "the database is locked by another process";
    case SQLITE_READONLY:
        return "the database is read-only";
    case SQLITE_CANTOPEN:
        return "the database files cannot be opened";
    case SQLITE_NOMEM:
        return "out of memory";
    default:
        return "the database is unavailable";
    }
}

/* During a full-disk episode: is less than PROBE_MIN_FREE free? A small commit can still
 * fit in WAL space a failed batch took; that does not end the episode. */
static bool
disk_still_full(struct sqlite_store *s)
{
    struct statvfs fs;

    return s->failing && strcmp(s->fail_why, unavailable_reason(SQLITE_FULL)) == 0 &&
           statvfs(s->path, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < PROBE_MIN_FREE;
}

/* After a transaction that wrote (ok) or failed for want of the database (!ok): starts or
 * ends a write-failure episode, with one log line at each end. Committer thread only. */
static void
health_note(struct sqlite_store *s, bool ok)
{
    int64_t now = clock_now_ms();

    if (!ok)
        s->fail_count++;
    if (ok == !s->failing || (ok && disk_still_full(s)))
        return;
    pthread_mutex_lock(&s->health_lock);
    s->failing = !ok;
    if (!ok) {
        snprintf(s->fail_why, sizeof s->fail_why, "%s", unavailable_reason(last_unavailable));
        s->fail_since_ms = now;
        s->fail_count = 1;
    }
    pthread_mutex_unlock(&s->health_lock);
    if (!ok)
        log_error("store: writes are failing: %s (%s); writes that fail are answered 503",
                  s->fail_why, last_unavailable_msg);
    else
        log_info("store: writes succeed again after %lld ms (%llu failed transactions)",
                 (long long)(now - s->fail_since_ms), (unsigned long long)s->fail_count);
    metrics_store_failing(!ok);
}

/* While writes fail and nothing is queued: one small write (a row rewritten with its own
 * value), so the end of an episode is seen without client traffic. After a full disk, only
 * once there is room again. */
static void
probe(struct sqlite_store *s)
{
    struct store_conn *c = &s->writer;
    bool ok;

    if (disk_still_full(s))
        return;
    last_unavailable = 0;
    ok = exec_sql(c, ST_BEGIN) == STORE_OK && exec_sql(c, ST_PROBE) == STORE_OK &&
         exec_sql(c, ST_COMMIT) == STORE_OK;
    if (!ok) {
        if (!sqlite3_get_autocommit(c->db))
            exec_sql(c, ST_ROLLBACK);
    }
    if (ok || last_unavailable != 0)
        health_note(s, ok);
}

/* Runs one batch: one transaction, a savepoint per write, one COMMIT (one fsync). A NULL
 * batch only does the housekeeping (last-used times).
 *
 * A write whose own statements fail is rolled back to its savepoint; the others go on.
 * But a full disk or an I/O error can make SQLite roll back the whole transaction, and a
 * savepoint that cannot be rolled back would leave half a write: then, as when COMMIT
 * fails, nothing of the batch is durable and every write of it is answered "unavailable"
 * (503), never 2xx. */
static void
run_batch(struct sqlite_store *s, struct store_write *batch)
{
    bool committed, wrote = false;
    int n = 0;
    struct store_conn *c = &s->writer;
    struct store_write *w;
    enum store_rc rc;
    sqlite3_stmt *st;
    int64_t now = clock_now_ms(), changes;

    last_unavailable = 0;
    rc = exec_sql(c, ST_BEGIN);
    for (w = batch; w != NULL; w = w->next) {
        n++;
        w->conflict = SC_NONE;
        w->hook_code = 0;
        w->mutate_result = STORE_MUTATE_NOOP;
        if (rc != STORE_OK) {
            w->rc = rc;
            continue;
        }
        changes = sqlite3_total_changes64(c->db);
        rc = exec_sql(c, ST_SAVEPOINT);
        if (rc != STORE_OK) {
            w->rc = rc;
            continue;
        }
        w->rc = apply(c, w);
        if (sqlite3_get_autocommit(c->db)) {
            rc = STORE_UNAVAILABLE; /* SQLite rolled the transaction back */
            continue;
        }
        if (w->rc != STORE_OK || w->mutate_result == STORE_MUTATE_ABORT)
            rc = exec_sql(c, ST_ROLLBACK_TO);
        else
            wrote = wrote || sqlite3_total_changes64(c->db) > changes;
        if (rc == STORE_OK)
            rc = exec_sql(c, ST_RELEASE);
    }
    if (rc == STORE_OK && touch_due(s, now, batch == NULL)) {
        touch_flush(s, now);
        wrote = wrote || batch == NULL;
    }
    if (rc == STORE_OK && now - s->last_expire_ms > 60000 &&
        (st = stmt(c, ST_IDEM_EXPIRE_ALL)) != NULL) {
        sqlite3_bind_int64(st, 1, now - LIMIT_IDEM_TTL_MS);
        exec_step(c, st, "idem expire all");
        s->last_expire_ms = now;
    }
    if (rc == STORE_OK && sqlite3_get_autocommit(c->db))
        rc = STORE_UNAVAILABLE; /* the housekeeping lost the transaction */
    if (rc == STORE_OK)
        rc = exec_sql(c, ST_COMMIT);
    committed = rc == STORE_OK;
    if (!committed) {
        /* nothing of this batch is durable: nobody gets a 2xx */
        if (!sqlite3_get_autocommit(c->db))
            exec_sql(c, ST_ROLLBACK);
        for (w = batch; w != NULL; w = w->next)
            if (w->rc != STORE_FAIL)
                w->rc = STORE_UNAVAILABLE;
    }
    if (batch != NULL)
        metrics_commit(n, committed);
    if (last_unavailable != 0 || (committed && wrote))
        health_note(s, committed && last_unavailable == 0);
    for (int i = 0; i < ST_COUNT; i++)
        if (c->st[i] != NULL)
            sqlite3_reset(c->st[i]);
    for (int i = 0; i < CUSTOM_STMTS && c->custom[i].sql != NULL; i++)
        sqlite3_reset(c->custom[i].st);
}

static void *
committer_main(void *arg)
{
    struct sqlite_store *s = arg;
    struct store_write *batch, *w, *next, *last;
    int n;

    on_committer = true;
    for (;;) {
        pthread_mutex_lock(&s->q_lock);
        while (s->q_head == NULL && !s->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += (s->failing ? PROBE_MS : TOUCH_FLUSH_MS) / 1000;
            if (pthread_cond_timedwait(&s->q_cond, &s->q_lock, &until) != 0 && s->q_head == NULL &&
                (s->failing || touch_due(s, clock_now_ms(), true))) {
                pthread_mutex_unlock(&s->q_lock);
                if (s->failing)
                    probe(s); /* idle while writes fail: has the cause gone? */
                else
                    run_batch(s, NULL); /* idle: write the last-used times */
                pthread_mutex_lock(&s->q_lock);
            }
        }
        if (s->q_head == NULL && s->stopping) {
            pthread_mutex_unlock(&s->q_lock);
            if (touch_due(s, clock_now_ms(), true))
                run_batch(s, NULL);
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

        run_batch(s, batch);
        for (w = batch; w != NULL; w = next) {
            next = w->next; /* done may free or resubmit w */
            w->next = NULL;
            w->done(w);
        }
    }
    return NULL;
}

/* The writer's WAL hook (after each commit, on the committer thread): wakes the
 * checkpointer when CKPT_FRAMES frames were added since its last run (fewer runs copy each
 * often-rewritten page fewer times). Always SQLITE_OK: the commit stands. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sqlite_store *s = arg;

    (void)db;
    (void)name;
    pthread_mutex_lock(&s->ckpt_lock);
    if (frames < s->ckpt_base)
        s->ckpt_base = 0; /* the WAL started over */
    s->wal_frames = frames;
    if (frames - s->ckpt_base >= s->ckpt_frames)
        pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->ckpt_lock);
    return SQLITE_OK;
}

/* Copies the WAL into the database file. PASSIVE never blocks the committer or a reader;
 * the WAL starts over from its beginning at the first commit after a checkpoint copied
 * all of it. Under steady writes that never happens (more frames arrive while one runs),
 * so once the WAL is CKPT_RESTART times CKPT_FRAMES long, a RESTART checkpoint follows
 * the PASSIVE one: it waits for the transaction in progress, copies the few frames left
 * and makes the next commit start the WAL over. A failure (full disk, I/O) is logged
 * once until a checkpoint succeeds again; meanwhile the WAL grows and commits go on, and
 * it is tried again every CKPT_RETRY_MS. */
static void *
checkpointer_main(void *arg)
{
    struct sqlite_store *s = arg;
    sqlite3 *db = s->ckpt_conn.db;
    bool failing = false;
    int frames, log_frames = 0, done_frames = 0, r;

    pthread_mutex_lock(&s->ckpt_lock);
    for (;;) {
        while (!s->ckpt_stop && s->wal_frames - s->ckpt_base < s->ckpt_frames) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += CKPT_RETRY_MS / 1000;
            if (pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &until) != 0 && failing)
                break;
        }
        if (s->ckpt_stop)
            break;
        frames = s->wal_frames;
        pthread_mutex_unlock(&s->ckpt_lock);
        r = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                      &done_frames);
        if (r == SQLITE_OK && log_frames >= CKPT_RESTART * s->ckpt_frames)
            r = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &log_frames,
                                          &done_frames);
        if (r == SQLITE_BUSY)
            r = SQLITE_OK; /* a RESTART that met a reader: the next run tries again */
        if (r != SQLITE_OK && !failing)
            log_error("store: checkpoints are failing: %s (%d); the WAL grows (%d frames) until "
                      "one succeeds",
                      sqlite3_errmsg(db), r, frames);
        else if (r == SQLITE_OK && failing)
            log_info("store: checkpoints succeed again (%d of %d WAL frames copied)", done_frames,
                     log_frames);
        failing = r != SQLITE_OK;
        pthread_mutex_lock(&s->ckpt_lock);
        if (!failing)
            s->ckpt_base = done_frames < s->wal_frames ? done_frames : s->wal_frames;
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    return NULL;
}

static enum store_rc
s_write_health(struct store *base, char *why, size_t whylen)
{
    struct sqlite_store *s = S(base);
    enum store_rc rc;

    pthread_mutex_lock(&s->health_lock);
    rc = s->failing ? STORE_UNAVAILABLE : STORE_OK;
    snprintf(why, whylen, "%s", s->failing ? s->fail_why : "");
    pthread_mutex_unlock(&s->health_lock);
    return rc;
}

static void
s_submit(struct store *base, struct store_write *w)
{
    struct sqlite_store *s = S(base);

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

static const struct sqlite_migrations core_migrations = {
    "core", sqlite_migrations, (int)(sizeof sqlite_migrations / sizeof sqlite_migrations[0])};

/* Every component's migrations, core first. */
static const struct sqlite_migrations *const components[] = {
    &core_migrations,
    &sqlite_migrations_cherry,
    &sqlite_migrations_dropday,
    &sqlite_migrations_threekit,
    &sqlite_migrations_kohort,
    &sqlite_migrations_webhooks,
    &sqlite_migrations_dashboard,
};

/* Brings one component up to date inside the open transaction. */
static int
migrate_component(struct sqlite_store *s, const struct sqlite_migrations *m, char *err,
                  size_t errlen)
{
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    char *msg = NULL;
    int version = 0, rc = -1;

    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version WHERE component = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, m->component, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (version > m->n) {
        snprintf(err, errlen, "database schema %s version %d is newer than this orderd (%d)",
                 m->component, version, m->n);
        return -1;
    }
    for (int v = version + 1; v <= m->n; v++) {
        if (sqlite3_exec(db, m->sql[v - 1], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_prepare_v2(db, "INSERT INTO schema_version VALUES (?1, ?2)", -1, &st, NULL) !=
                SQLITE_OK)
            goto out;
        sqlite3_bind_text(st, 1, m->component, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, v);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto out;
        sqlite3_finalize(st);
        st = NULL;
        log_info("store: migrated %s: %s schema version %d", s->path, m->component, v);
    }
    rc = 0;
out:
    if (rc != 0 && err[0] == '\0')
        snprintf(err, errlen, "migration of %s (%s) failed: %s", s->path, m->component,
                 msg ? msg : sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_free(msg);
    return rc;
}

static int
s_migrate(struct store *base, char *err, size_t errlen)
{
    struct sqlite_store *s = S(base);
    int rc = -1;

    err[0] = '\0';
    /* The committer is idle during migration: serve migrates before listening, and the
     * CLI migrates before its first write. BEGIN IMMEDIATE serialises processes. */
    if (sqlite3_exec(s->writer.db,
                     "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version "
                     "(component TEXT NOT NULL, version INTEGER NOT NULL, "
                     "PRIMARY KEY (component, version));",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot migrate %s: %s", s->path, sqlite3_errmsg(s->writer.db));
        goto out;
    }
    for (size_t i = 0; i < sizeof components / sizeof components[0]; i++)
        if (migrate_component(s, components[i], err, errlen) != 0)
            goto out;
    if (sqlite3_exec(s->writer.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot commit the migration of %s: %s", s->path,
                 sqlite3_errmsg(s->writer.db));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        sqlite3_exec(s->writer.db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void
s_close(struct store *base)
{
    struct sqlite_store *s = S(base);

    if (s->committer_started) {
        pthread_mutex_lock(&s->q_lock);
        s->stopping = true;
        pthread_cond_signal(&s->q_cond);
        pthread_mutex_unlock(&s->q_lock);
        pthread_join(s->committer, NULL);
    }
    if (s->checkpointer_started) {
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_stop = true;
        pthread_cond_signal(&s->ckpt_cond);
        pthread_mutex_unlock(&s->ckpt_lock);
        pthread_join(s->checkpointer, NULL);
    }
    conn_close(&s->ckpt_conn);
    for (int i = 0; i < LIMIT_READ_CONNS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer); /* the last connection: SQLite checkpoints and removes the WAL */
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->pool_cond);
    pthread_mutex_destroy(&s->q_lock);
    pthread_cond_destroy(&s->q_cond);
    pthread_mutex_destroy(&s->touch_lock);
    pthread_mutex_destroy(&s->health_lock);
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    free(s->path);
    free(s);
}

static const struct store_ops sqlite_ops = {
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
    .write_health = s_write_health,
};

struct store *
store_sqlite_open(const char *path, char *err, size_t errlen)
{
    struct sqlite_store *s = calloc(1, sizeof *s);
    const char *env;
    char *end;

    err[0] = '\0';
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_cond, NULL);
    pthread_mutex_init(&s->q_lock, NULL);
    pthread_cond_init(&s->q_cond, NULL);
    pthread_mutex_init(&s->touch_lock, NULL);
    pthread_mutex_init(&s->health_lock, NULL);
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    s->ckpt_frames = CKPT_FRAMES;
    if ((env = getenv("ORDERD_SQLITE_CHECKPOINT_FRAMES")) != NULL) {
        long v = strtol(env, &end, 10);
        if (*env == '\0' || *end != '\0' || v < 16 || v > 1000000) {
            snprintf(err, errlen, "ORDERD_SQLITE_CHECKPOINT_FRAMES must be 16 to 1000000");
            goto fail;
        }
        s->ckpt_frames = (int)v;
    }
    s->path = strdup(path);
    if (s->path == NULL || conn_open(&s->writer, path, true, err, errlen) != 0)
        goto fail;
    for (int i = 0; i < LIMIT_READ_CONNS; i++)
        if (conn_open(&s->readers[i], path, false, err, errlen) != 0)
            goto fail;
    if (conn_open(&s->ckpt_conn, path, false, err, errlen) != 0 ||
        sqlite3_exec(s->ckpt_conn.db, "PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(s->ckpt_conn.db, 200); /* a RESTART waits this long at most */
    sqlite3_wal_autocheckpoint(s->writer.db, 0);
    sqlite3_wal_hook(s->writer.db, wal_hook, s);
    if (pthread_create(&s->checkpointer, NULL, checkpointer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the checkpointer thread");
        goto fail;
    }
    s->checkpointer_started = true;
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

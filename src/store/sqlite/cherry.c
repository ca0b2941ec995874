/* SPDX-License-Identifier: MIT */
/*
 * cherry.c -- the SQLite tables and queries of the cherry API (store/cherry_store.h).
 * cherry_auth_seen holds the accepted requests still inside the replay window (older
 * ones are pruned as the newest timestamp moves on); its primary key decides exact
 * replays, also between processes sharing the database. cherry_auth_newest holds the
 * newest accepted timestamp per publishable key.
 */
#include "store/sqlite/store_sqlite_api.h"
#include "store/sqlite/store_sqlite_int.h"

#include "core/clock.h"
#include "store/cherry_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    "CREATE TABLE cherry_auth_seen ("
    " key BLOB NOT NULL, ts INTEGER NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,"
    " body_hash BLOB NOT NULL, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (key, ts, method, path, body_hash)) WITHOUT ROWID;"
    "CREATE TABLE cherry_auth_newest ("
    " key BLOB NOT NULL PRIMARY KEY, ts INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE cherry_app ("
    " org_id TEXT NOT NULL, mode TEXT NOT NULL, info TEXT NOT NULL, updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY (org_id, mode)) WITHOUT ROWID;",
};

const struct sqlite_migrations sqlite_migrations_cherry = {
    "cherry", migrations, (int)(sizeof migrations / sizeof migrations[0])};

static const char sql_newest[] = "SELECT ts FROM cherry_auth_newest WHERE key = ?1";
static const char sql_seen_get[] =
    "SELECT 1 FROM cherry_auth_seen WHERE key = ?1 AND ts = ?2 AND method = ?3 AND path = ?4"
    " AND body_hash = ?5";
static const char sql_seen_insert[] =
    "INSERT INTO cherry_auth_seen (key, ts, method, path, body_hash, created_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_newest_up[] = "INSERT INTO cherry_auth_newest (key, ts) VALUES (?1, ?2)"
                                    " ON CONFLICT (key) DO UPDATE SET ts = max(ts, excluded.ts)";
static const char sql_seen_prune[] = "DELETE FROM cherry_auth_seen WHERE key = ?1 AND ts < ?2";
static const char sql_app_get[] = "SELECT info FROM cherry_app WHERE org_id = ?1 AND mode = ?2";
static const char sql_app_put[] =
    "INSERT INTO cherry_app (org_id, mode, info, updated_ms) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (org_id, mode) DO UPDATE SET info = excluded.info,"
    " updated_ms = excluded.updated_ms";

/* The key's newest accepted timestamp, or -1 when none. */
static enum store_rc
newest_get(struct store_conn *c, const uint8_t key[CRYPTO_HASH_LEN], int64_t *ts)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_newest);
    int r;

    *ts = -1;
    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, key, CRYPTO_HASH_LEN, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *ts = sqlite3_column_int64(st, 0);
    r = r == SQLITE_ROW || r == SQLITE_DONE ? SQLITE_OK : r;
    sqlite3_reset(st);
    return store_sqlite_rc(c, r, "cherry newest");
}

static void
bind_seen(sqlite3_stmt *st, const struct cherry_seen *r)
{
    sqlite3_bind_blob(st, 1, r->key, CRYPTO_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->ts);
    sqlite3_bind_text(st, 3, r->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->path, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, r->body_hash, CRYPTO_HASH_LEN, SQLITE_STATIC);
}

struct check_arg {
    const struct cherry_seen *r;
    int window;
    enum cherry_verdict verdict;
};

static enum store_rc
check_on(struct store_conn *c, void *arg)
{
    struct check_arg *a = arg;
    sqlite3_stmt *st;
    int64_t newest;
    enum store_rc rc = newest_get(c, a->r->key, &newest);
    int r;

    a->verdict = CHERRY_FRESH;
    if (rc != STORE_OK)
        return rc;
    if (newest >= 0 && a->r->ts < newest - a->window) {
        a->verdict = CHERRY_OLD;
        return STORE_OK;
    }
    st = store_sqlite_stmt(c, sql_seen_get);
    if (st == NULL)
        return STORE_FAIL;
    bind_seen(st, a->r);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        a->verdict = CHERRY_REPLAY;
    r = r == SQLITE_ROW || r == SQLITE_DONE ? SQLITE_OK : r;
    sqlite3_reset(st);
    return store_sqlite_rc(c, r, "cherry seen");
}

enum store_rc
cherry_sqlite_seen_check(struct store *s, const struct cherry_seen *r, int window,
                         enum cherry_verdict *verdict)
{
    struct check_arg a = {r, window, CHERRY_FRESH};
    enum store_rc rc = s->ops->read(s, check_on, &a);

    *verdict = a.verdict;
    return rc;
}

enum store_rc
cherry_sqlite_seen_record(struct store_conn *c, const struct cherry_seen *r, int window,
                          enum cherry_verdict *verdict)
{
    sqlite3_stmt *st;
    int64_t newest;
    enum store_rc rc = newest_get(c, r->key, &newest);

    *verdict = CHERRY_FRESH;
    if (rc != STORE_OK)
        return rc;
    if (newest >= 0 && r->ts < newest - window) {
        *verdict = CHERRY_OLD;
        return STORE_CONFLICT;
    }
    if ((st = store_sqlite_stmt(c, sql_seen_insert)) == NULL)
        return STORE_FAIL;
    bind_seen(st, r);
    sqlite3_bind_int64(st, 6, clock_now_ms());
    rc = store_sqlite_rc(c, sqlite3_step(st), "cherry seen insert");
    sqlite3_reset(st);
    if (rc == STORE_CONFLICT)
        *verdict = CHERRY_REPLAY;
    if (rc != STORE_OK)
        return rc;
    if ((st = store_sqlite_stmt(c, sql_newest_up)) == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, r->key, CRYPTO_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->ts);
    rc = store_sqlite_rc(c, sqlite3_step(st), "cherry newest update");
    sqlite3_reset(st);
    if (rc != STORE_OK || r->ts <= newest)
        return rc;
    /* the window moved: what fell out of it can never be accepted again anyway */
    if ((st = store_sqlite_stmt(c, sql_seen_prune)) == NULL)
        return STORE_FAIL;
    sqlite3_bind_blob(st, 1, r->key, CRYPTO_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->ts - window);
    rc = store_sqlite_rc(c, sqlite3_step(st), "cherry seen prune");
    sqlite3_reset(st);
    return rc;
}

static const char sql_order_find[] =
    "SELECT id FROM orders WHERE org_id = ?1 AND mode = ?2 AND dialect = 'cherry'"
    " AND external_id = ?3";

struct find_arg {
    const char *org_id, *track_id;
    enum key_mode mode;
    char *id;
};

static enum store_rc
order_find_on(struct store_conn *c, void *arg)
{
    struct find_arg *a = arg;
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_order_find);
    enum store_rc rc = STORE_NOT_FOUND;
    int r;

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_text(st, 1, a->org_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, store_sqlite_mode_text(a->mode), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->track_id, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(a->id, IDS_UUID_LEN, "%s", t != NULL ? (const char *)t : "");
        rc = t != NULL ? STORE_OK : STORE_FAIL;
    } else if (r != SQLITE_DONE) {
        rc = store_sqlite_rc(c, r, "cherry order find");
    }
    sqlite3_reset(st);
    return rc;
}

enum store_rc
cherry_sqlite_order_find(struct store *s, const char *org_id, enum key_mode mode,
                         const char *track_id, char id[IDS_UUID_LEN])
{
    struct find_arg a = {org_id, track_id, mode, id};

    id[0] = '\0';
    return s->ops->read(s, order_find_on, &a);
}

struct app_arg {
    const char *org_id;
    enum key_mode mode;
    char *info;
};

static enum store_rc
app_get_on(struct store_conn *c, void *arg)
{
    struct app_arg *a = arg;
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_app_get);
    enum store_rc rc = STORE_NOT_FOUND;
    int r;

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_text(st, 1, a->org_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, store_sqlite_mode_text(a->mode), -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        a->info = t != NULL ? strdup((const char *)t) : NULL;
        rc = a->info != NULL ? STORE_OK : STORE_FAIL;
    } else if (r != SQLITE_DONE) {
        rc = store_sqlite_rc(c, r, "cherry app get");
    }
    sqlite3_reset(st);
    return rc;
}

enum store_rc
cherry_sqlite_app_get(struct store *s, const char *org_id, enum key_mode mode, char **info)
{
    struct app_arg a = {org_id, mode, NULL};
    enum store_rc rc = s->ops->read(s, app_get_on, &a);

    *info = rc == STORE_OK ? a.info : NULL;
    if (rc != STORE_OK)
        free(a.info);
    return rc;
}

enum store_rc
cherry_sqlite_app_get_on(struct store_conn *c, const char *org_id, enum key_mode mode, char **info)
{
    struct app_arg a = {org_id, mode, NULL};
    enum store_rc rc = app_get_on(c, &a);

    *info = rc == STORE_OK ? a.info : NULL;
    if (rc != STORE_OK)
        free(a.info);
    return rc;
}

enum store_rc
cherry_sqlite_app_put(struct store_conn *c, const char *org_id, enum key_mode mode,
                      const char *info, int64_t now_ms)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_app_put);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    sqlite3_bind_text(st, 1, org_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, store_sqlite_mode_text(mode), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, info, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    rc = store_sqlite_rc(c, sqlite3_step(st), "cherry app put");
    sqlite3_reset(st);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * cherry.c -- the PostgreSQL tables and queries of the cherry API (store/cherry_store.h).
 * cherry_auth_seen holds the accepted requests still inside the replay window; its
 * primary key decides exact replays, also between processes sharing the database.
 * cherry_auth_newest holds the newest accepted timestamp per publishable key; a write
 * locks that row, so concurrent requests with one key are judged one after the other.
 * Both carry the key's org (found from the key hash in api_keys), which leads their keys.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    "CREATE TABLE cherry_auth_seen ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  key BYTEA NOT NULL,"
    "  ts BIGINT NOT NULL,"
    "  method " PG_TEXT " NOT NULL,"
    "  path " PG_TEXT " NOT NULL,"
    "  body_hash BYTEA NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (org_id, key, ts, method, path, body_hash));"
    "CREATE TABLE cherry_auth_newest ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  key BYTEA NOT NULL,"
    "  ts BIGINT NOT NULL,"
    "  PRIMARY KEY (org_id, key));"
    "CREATE TABLE cherry_app ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  info TEXT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (org_id, mode));",
};

const struct pg_migrations pg_migrations_cherry = {"cherry", migrations,
                                                   (int)(sizeof migrations / sizeof migrations[0])};

/* the org of the publishable key whose hash is $1 */
#define KEY_ORG "(SELECT org_id FROM api_keys WHERE hash = $1::bytea)"

static const char sql_newest[] =
    "SELECT ts FROM cherry_auth_newest WHERE org_id = " KEY_ORG " AND key = $1::bytea";
static const char sql_newest_lock[] =
    "SELECT ts FROM cherry_auth_newest WHERE org_id = " KEY_ORG " AND key = $1::bytea FOR UPDATE";
static const char sql_seen_get[] = "SELECT 1 FROM cherry_auth_seen WHERE org_id = " KEY_ORG
                                   " AND key = $1::bytea AND ts = $2 AND method = $3 AND "
                                   "path = $4 AND body_hash = $5";
static const char sql_seen_insert[] =
    "INSERT INTO cherry_auth_seen (org_id, key, ts, method, path, body_hash, created_ms) "
    "VALUES (" KEY_ORG ", $1::bytea, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
static const char sql_newest_up[] =
    "INSERT INTO cherry_auth_newest (org_id, key, ts) VALUES (" KEY_ORG ", $1::bytea, $2) "
    "ON CONFLICT (org_id, key) DO UPDATE SET ts = greatest(cherry_auth_newest.ts, excluded.ts)";
static const char sql_seen_prune[] =
    "DELETE FROM cherry_auth_seen WHERE org_id = " KEY_ORG " AND key = $1::bytea AND ts < $2";
static const char sql_app_get[] = "SELECT info FROM cherry_app WHERE org_id = $1 AND mode = $2";
static const char sql_app_put[] =
    "INSERT INTO cherry_app (org_id, mode, info, updated_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (org_id, mode) DO UPDATE SET info = excluded.info, "
    "updated_ms = excluded.updated_ms";
static const char sql_order_find[] = "SELECT id FROM orders WHERE org_id = $1 AND mode = $2 AND "
                                     "dialect = 'cherry' AND external_id = $3";

/* The key's newest accepted timestamp (locked when lock), or -1 when none. */
static enum store_rc
newest_get(struct store_conn *c, const uint8_t key[CRYPTO_HASH_LEN], bool lock, int64_t *ts)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    *ts = -1;
    pg_p_bytea(&p, key, CRYPTO_HASH_LEN);
    res = pg_query(c, lock ? sql_newest_lock : sql_newest, &p, &rc, "cherry newest");
    if (res != NULL && PQntuples(res) > 0)
        *ts = pg_i64(res, 0, 0);
    PQclear(res);
    return rc;
}

static void
seen_params(struct pg_params *p, const struct cherry_seen *r)
{
    pg_p_bytea(p, r->key, CRYPTO_HASH_LEN);
    pg_p_int(p, r->ts);
    pg_p_text(p, r->method);
    pg_p_text(p, r->path);
    pg_p_bytea(p, r->body_hash, CRYPTO_HASH_LEN);
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
    struct pg_params p = {0};
    int64_t newest;
    enum store_rc rc = newest_get(c, a->r->key, false, &newest);
    PGresult *res;

    a->verdict = CHERRY_FRESH;
    if (rc != STORE_OK)
        return rc;
    if (newest >= 0 && a->r->ts < newest - a->window) {
        a->verdict = CHERRY_OLD;
        return STORE_OK;
    }
    seen_params(&p, a->r);
    res = pg_query(c, sql_seen_get, &p, &rc, "cherry seen");
    if (res != NULL && PQntuples(res) > 0)
        a->verdict = CHERRY_REPLAY;
    PQclear(res);
    return rc;
}

enum store_rc
cherry_pg_seen_check(struct store *s, const struct cherry_seen *r, int window,
                     enum cherry_verdict *verdict)
{
    struct check_arg a = {r, window, CHERRY_FRESH};
    enum store_rc rc = s->ops->read(s, check_on, &a);

    *verdict = a.verdict;
    return rc;
}

enum store_rc
cherry_pg_seen_record(struct store_conn *c, const struct cherry_seen *r, int window,
                      enum cherry_verdict *verdict)
{
    struct pg_params p = {0}, q = {0};
    int64_t newest;
    enum store_rc rc = newest_get(c, r->key, true, &newest);
    long added = 0;

    *verdict = CHERRY_FRESH;
    if (rc != STORE_OK)
        return rc;
    if (newest >= 0 && r->ts < newest - window) {
        *verdict = CHERRY_OLD;
        return STORE_CONFLICT;
    }
    seen_params(&p, r);
    pg_p_int(&p, clock_now_ms());
    rc = pg_exec(c, sql_seen_insert, &p, &added, "cherry seen insert");
    if (rc == STORE_OK && added == 0) {
        *verdict = CHERRY_REPLAY;
        return STORE_CONFLICT;
    }
    pg_p_bytea(&q, r->key, CRYPTO_HASH_LEN);
    pg_p_int(&q, r->ts);
    if (rc == STORE_OK)
        rc = pg_exec(c, sql_newest_up, &q, NULL, "cherry newest update");
    if (rc != STORE_OK || r->ts <= newest)
        return rc;
    /* the window moved: what fell out of it can never be accepted again anyway */
    memset(&q, 0, sizeof q);
    pg_p_bytea(&q, r->key, CRYPTO_HASH_LEN);
    pg_p_int(&q, r->ts - window);
    return pg_exec(c, sql_seen_prune, &q, NULL, "cherry seen prune");
}

struct find_arg {
    const char *org_id, *track_id;
    enum key_mode mode;
    char *id;
};

static enum store_rc
order_find_on(struct store_conn *c, void *arg)
{
    struct find_arg *a = arg;
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    pg_p_text(&p, a->org_id);
    pg_p_mode(&p, a->mode);
    pg_p_text(&p, a->track_id);
    res = pg_query(c, sql_order_find, &p, &rc, "cherry order find");
    if (res != NULL && PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else if (res != NULL)
        pg_copy(res, 0, 0, a->id, IDS_UUID_LEN);
    PQclear(res);
    return rc;
}

enum store_rc
cherry_pg_order_find(struct store *s, const char *org_id, enum key_mode mode, const char *track_id,
                     char id[IDS_UUID_LEN])
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
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    pg_p_text(&p, a->org_id);
    pg_p_mode(&p, a->mode);
    res = pg_query(c, sql_app_get, &p, &rc, "cherry app get");
    if (res != NULL && PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else if (res != NULL)
        rc = (a->info = pg_dup(res, 0, 0)) != NULL ? STORE_OK : STORE_FAIL;
    PQclear(res);
    return rc;
}

enum store_rc
cherry_pg_app_get(struct store *s, const char *org_id, enum key_mode mode, char **info)
{
    struct app_arg a = {org_id, mode, NULL};
    enum store_rc rc = s->ops->read(s, app_get_on, &a);

    *info = rc == STORE_OK ? a.info : NULL;
    if (rc != STORE_OK)
        free(a.info);
    return rc;
}

enum store_rc
cherry_pg_app_get_on(struct store_conn *c, const char *org_id, enum key_mode mode, char **info)
{
    struct app_arg a = {org_id, mode, NULL};
    enum store_rc rc = app_get_on(c, &a);

    *info = rc == STORE_OK ? a.info : NULL;
    if (rc != STORE_OK)
        free(a.info);
    return rc;
}

enum store_rc
cherry_pg_app_put(struct store_conn *c, const char *org_id, enum key_mode mode, const char *info,
                  int64_t now_ms)
{
    struct pg_params p = {0};

    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    pg_p_text(&p, info);
    pg_p_int(&p, now_ms);
    return pg_exec(c, sql_app_put, &p, NULL, "cherry app put");
}

/* SPDX-License-Identifier: MIT */
/*
 * webhooks.c -- the SQLite tables and queries of signed webhooks (store/webhook_store.h):
 * endpoints and the delivery queue. Deliveries are queued by one INSERT ... SELECT in
 * the savepoint that inserts the event (transactional outbox); workers claim due ones
 * with a conditional UPDATE ... RETURNING that sets a lease, so one delivery attempt is
 * made by one worker even when several processes share the database, and a result is
 * written only by the lease holder.
 */
#include "store/webhook_store.h"

#include "store/sqlite/store_sqlite_api.h"
#include "store/sqlite/store_sqlite_int.h"
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: endpoints, deliveries */
    "CREATE TABLE webhook_endpoints ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  description TEXT,"
    "  events TEXT NOT NULL,"
    "  secret BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  disabled_ms INTEGER,"
    "  disabled_reason TEXT,"
    "  consecutive_failures INTEGER NOT NULL DEFAULT 0,"
    "  failing_since_ms INTEGER,"
    "  PRIMARY KEY (org_id, mode, id));"
    "CREATE TABLE webhook_deliveries ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  endpoint_id TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  event_type TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_ms INTEGER,"
    "  lease_until_ms INTEGER,"
    "  lease_owner TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  delivered_ms INTEGER,"
    "  last_attempt_ms INTEGER,"
    "  last_status INTEGER,"
    "  last_latency_ms INTEGER,"
    "  last_error TEXT,"
    "  log TEXT NOT NULL DEFAULT '[]',"
    "  PRIMARY KEY (org_id, mode, id));"
    "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(org_id, mode, endpoint_id, "
    "id);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_ms) WHERE status = "
    "'pending';",
};

const struct sqlite_migrations sqlite_migrations_webhooks = {
    "webhooks", migrations, (int)(sizeof migrations / sizeof migrations[0])};

#define EP_COLS                                                                                    \
    "org_id, mode, id, url, description, events, secret, created_ms, updated_ms, disabled_ms, "    \
    "disabled_reason, consecutive_failures, failing_since_ms"
#define DL_COLS                                                                                    \
    "org_id, mode, id, endpoint_id, event_id, event_type, status, attempts, next_attempt_ms, "     \
    "created_ms, updated_ms, delivered_ms, last_attempt_ms, last_status, last_latency_ms, "        \
    "last_error, log"

static const char *const sql_fanout =
    "INSERT INTO webhook_deliveries (org_id, mode, id, endpoint_id, event_id, event_type, "
    "status, next_attempt_ms, created_ms, updated_ms) "
    "SELECT org_id, mode, 'whd_' || printf('%012x', ?5) || lower(hex(randomblob(10))), id, ?3, "
    "?4, 'pending', ?5, ?5, ?5 FROM webhook_endpoints WHERE org_id = ?1 AND mode = ?2 AND "
    "disabled_ms IS NULL AND (events = ',*,' OR instr(events, ',' || ?4 || ',') > 0)";
static const char *const sql_event_insert =
    "INSERT INTO events (org_id, mode, id, type, order_id, created_ms, request_id, data) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char *const sql_ep_insert =
    "INSERT INTO webhook_endpoints (org_id, mode, id, url, description, events, secret, "
    "created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char *const sql_ep_get =
    "SELECT " EP_COLS " FROM webhook_endpoints WHERE org_id = ?1 AND mode = ?2 AND id = ?3";
static const char *const sql_ep_list = "SELECT " EP_COLS " FROM webhook_endpoints WHERE org_id = "
                                       "?1 AND mode = ?2 ORDER BY created_ms DESC, id DESC";
static const char *const sql_ep_count =
    "SELECT count(*) FROM webhook_endpoints WHERE org_id = ?1 AND mode = ?2";
/* the partial index webhook_deliveries_due holds exactly the pending rows */
static const char *const sql_backlog =
    "SELECT coalesce(sum(attempts = 0), 0), coalesce(sum(attempts > 0), 0) FROM "
    "webhook_deliveries WHERE status = 'pending'";
static const char *const sql_ep_update =
    "UPDATE webhook_endpoints SET url = ?4, description = ?5, events = ?6, updated_ms = ?7, "
    "disabled_ms = CASE WHEN ?8 THEN NULL WHEN ?9 THEN coalesce(disabled_ms, ?7) ELSE "
    "disabled_ms END, disabled_reason = CASE WHEN ?8 THEN NULL WHEN ?9 THEN "
    "coalesce(disabled_reason, ?10) ELSE disabled_reason END, consecutive_failures = CASE WHEN "
    "?8 THEN 0 ELSE consecutive_failures END, failing_since_ms = CASE WHEN ?8 THEN NULL ELSE "
    "failing_since_ms END WHERE org_id = ?1 AND mode = ?2 AND id = ?3";
static const char *const sql_ep_wake =
    "UPDATE webhook_deliveries SET next_attempt_ms = ?4 WHERE org_id = ?1 AND mode = ?2 AND "
    "endpoint_id = ?3 AND status = 'pending' AND next_attempt_ms > ?4";
static const char *const sql_ep_delete =
    "DELETE FROM webhook_endpoints WHERE org_id = ?1 AND mode = ?2 AND id = ?3";
static const char *const sql_ep_delete_deliveries =
    "DELETE FROM webhook_deliveries WHERE org_id = ?1 AND mode = ?2 AND endpoint_id = ?3";
static const char *const sql_claim =
    "UPDATE webhook_deliveries SET lease_until_ms = ?2, lease_owner = ?3 WHERE rowid IN ("
    "SELECT d.rowid FROM webhook_deliveries d JOIN webhook_endpoints e ON e.org_id = d.org_id "
    "AND e.mode = d.mode AND e.id = d.endpoint_id WHERE d.status = 'pending' AND "
    "d.next_attempt_ms <= ?1 AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ?1) AND "
    "e.disabled_ms IS NULL ORDER BY d.next_attempt_ms LIMIT ?4) "
    "RETURNING org_id, mode, id, endpoint_id, event_id, event_type, attempts, created_ms";
static const char *const sql_job_load =
    "SELECT e.url, e.secret, v.created_ms, " STORE_SQLITE_EVENT_DATA(
        "v") " FROM webhook_endpoints e, events v WHERE "
             "e.org_id = ?1 AND e.mode = ?2 AND e.id = ?3 AND v.org_id = ?1 AND v.mode = ?2 AND "
             "v.id = ?4";
static const char *const sql_next_due =
    "SELECT min(max(d.next_attempt_ms, coalesce(d.lease_until_ms, 0))) FROM webhook_deliveries d "
    "JOIN webhook_endpoints e ON e.org_id = d.org_id AND e.mode = d.mode AND e.id = "
    "d.endpoint_id WHERE d.status = 'pending' AND e.disabled_ms IS NULL";
static const char *const sql_record =
    "UPDATE webhook_deliveries SET status = ?9, attempts = attempts + 1, lease_until_ms = NULL, "
    "lease_owner = NULL, next_attempt_ms = ?10, delivered_ms = ?12, updated_ms = ?4, "
    "last_attempt_ms = ?4, last_status = ?5, last_latency_ms = ?6, last_error = ?11, "
    "log = json_insert(log, '$[#]', json_object('attempt', attempts + 1, 'attempted_at', ?7, "
    "'response_status', ?5, 'latency_ms', ?6, 'error', ?11)) WHERE org_id = ?1 AND mode = ?2 "
    "AND id = ?3 AND lease_owner = ?8";
static const char *const sql_ep_ok =
    "UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since_ms = NULL WHERE "
    "org_id = ?1 AND mode = ?2 AND id = ?3 AND consecutive_failures <> 0";
static const char *const sql_ep_fail =
    "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, "
    "failing_since_ms = coalesce(failing_since_ms, ?4) WHERE org_id = ?1 AND mode = ?2 AND "
    "id = ?3 RETURNING consecutive_failures, failing_since_ms";
static const char *const sql_release =
    "UPDATE webhook_deliveries SET lease_until_ms = NULL, lease_owner = NULL WHERE lease_owner = "
    "?1 AND status = 'pending'";
static const char *const sql_dl_desc =
    "SELECT " DL_COLS " FROM webhook_deliveries WHERE org_id = ?1 AND mode = ?2 AND endpoint_id "
    "= ?3 AND (?4 IS NULL OR id < ?4) AND (?5 IS NULL OR id > ?5) ORDER BY id DESC LIMIT ?6";
static const char *const sql_dl_asc =
    "SELECT " DL_COLS " FROM webhook_deliveries WHERE org_id = ?1 AND mode = ?2 AND endpoint_id "
    "= ?3 AND (?4 IS NULL OR id < ?4) AND (?5 IS NULL OR id > ?5) ORDER BY id ASC LIMIT ?6";
static const char *const sql_dl_get = "SELECT " DL_COLS " FROM webhook_deliveries WHERE org_id = "
                                      "?1 AND mode = ?2 AND endpoint_id = ?3 AND id = ?4";
static const char *const sql_redeliver =
    "INSERT INTO webhook_deliveries (org_id, mode, id, endpoint_id, event_id, event_type, "
    "status, next_attempt_ms, created_ms, updated_ms) SELECT org_id, mode, ?5, endpoint_id, "
    "event_id, event_type, 'pending', ?6, ?6, ?6 FROM webhook_deliveries WHERE org_id = ?1 AND "
    "mode = ?2 AND endpoint_id = ?3 AND id = ?4";

static void
bind_key(sqlite3_stmt *st, const char *org_id, enum key_mode mode, const char *id)
{
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    store_sqlite_bind_text(st, 3, id);
}

static int
col_blob(sqlite3_stmt *st, int i, uint8_t **out, size_t *len)
{
    const void *b = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);

    *out = NULL;
    *len = 0;
    if (b == NULL || n <= 0)
        return -1;
    *out = malloc((size_t)n);
    if (*out == NULL)
        return -1;
    memcpy(*out, b, (size_t)n);
    *len = (size_t)n;
    return 0;
}

/* Steps a statement that returns no row. */
static enum store_rc
run(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);
    enum store_rc rc = store_sqlite_rc(c, r == SQLITE_ROW ? SQLITE_DONE : r, what);

    sqlite3_reset(st);
    return rc;
}

/* ---- outbox fan-out ---- */

enum store_rc
store_sqlite_webhook_fanout(struct store_conn *c, const struct event_row *e)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_fanout);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, e->org_id, e->mode, e->id);
    store_sqlite_bind_text(st, 4, e->type);
    sqlite3_bind_int64(st, 5, e->created_ms);
    rc = run(c, st, "webhook fan-out");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) > 0)
        wh_store_notify();
    return rc;
}

enum store_rc
wh_sqlite_event_insert(struct store_conn *c, const struct event_row *e)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_event_insert);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, e->org_id, e->mode, e->id);
    store_sqlite_bind_text(st, 4, e->type);
    store_sqlite_bind_text(st, 5, e->order_id);
    sqlite3_bind_int64(st, 6, e->created_ms);
    store_sqlite_bind_text(st, 7, e->request_id);
    store_sqlite_bind_text(st, 8, e->data);
    rc = run(c, st, "webhook event insert");
    return rc == STORE_OK ? store_sqlite_webhook_fanout(c, e) : rc;
}

/* ---- endpoints ---- */

static int
ep_from(sqlite3_stmt *st, struct wh_endpoint *e)
{
    memset(e, 0, sizeof *e);
    store_sqlite_col_copy(st, 0, e->org_id, sizeof e->org_id);
    e->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
    store_sqlite_col_copy(st, 2, e->id, sizeof e->id);
    e->url = store_sqlite_col_dup(st, 3);
    e->description = store_sqlite_col_dup(st, 4);
    store_sqlite_col_copy(st, 5, e->events, sizeof e->events);
    if (col_blob(st, 6, &e->secret_sealed, &e->secret_sealed_len) != 0)
        return -1;
    e->created_ms = sqlite3_column_int64(st, 7);
    e->updated_ms = sqlite3_column_int64(st, 8);
    e->disabled_ms = sqlite3_column_int64(st, 9);
    store_sqlite_col_copy(st, 10, e->disabled_reason, sizeof e->disabled_reason);
    e->consecutive_failures = sqlite3_column_int(st, 11);
    e->failing_since_ms = sqlite3_column_int64(st, 12);
    return e->url != NULL ? 0 : -1;
}

enum store_rc
wh_sqlite_endpoint_insert(struct store_conn *c, const struct wh_endpoint *e)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_ep_insert);

    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, e->org_id, e->mode, e->id);
    store_sqlite_bind_text(st, 4, e->url);
    store_sqlite_bind_text(st, 5, e->description);
    store_sqlite_bind_text(st, 6, e->events);
    sqlite3_bind_blob(st, 7, e->secret_sealed, (int)e->secret_sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, e->created_ms);
    sqlite3_bind_int64(st, 9, e->updated_ms);
    return run(c, st, "webhook endpoint insert");
}

enum store_rc
wh_sqlite_endpoint_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                       struct wh_endpoint *out)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_ep_get);
    enum store_rc rc;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, org_id, mode, id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = ep_from(st, out) == 0 ? STORE_OK : STORE_FAIL;
    else
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : store_sqlite_rc(c, r, "webhook endpoint get");
    sqlite3_reset(st);
    return rc;
}

static int
ep_from_void(sqlite3_stmt *st, void *row)
{
    return ep_from(st, row);
}

static void
eps_free_void(void *rows, size_t n)
{
    wh_endpoints_free(rows, n);
}

enum store_rc
wh_sqlite_endpoint_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                        struct wh_endpoint **rows, size_t *n)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_ep_list);
    enum store_rc rc = STORE_FAIL;
    void *out = NULL;

    *n = 0;
    if (st != NULL) {
        store_sqlite_bind_text(st, 1, org_id);
        store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
        rc = store_sqlite_collect(c, st, sizeof **rows, ep_from_void, eps_free_void, &out, n,
                                  "webhook endpoint list");
        sqlite3_reset(st);
    }
    *rows = out;
    return rc;
}

enum store_rc
wh_sqlite_endpoint_count(struct store_conn *c, const char *org_id, enum key_mode mode, int *n)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_ep_count);
    enum store_rc rc;
    int r;

    *n = 0;
    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, org_id);
    store_sqlite_bind_text(st, 2, store_sqlite_mode_text(mode));
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *n = sqlite3_column_int(st, 0);
    rc = store_sqlite_rc(c, r, "webhook endpoint count");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
wh_sqlite_backlog(struct store_conn *c, int64_t *pending, int64_t *retrying)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_backlog);
    enum store_rc rc;
    int r;

    *pending = *retrying = 0;
    if (st == NULL)
        return STORE_FAIL;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *pending = sqlite3_column_int64(st, 0);
        *retrying = sqlite3_column_int64(st, 1);
    }
    rc = store_sqlite_rc(c, r, "webhook backlog");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
wh_sqlite_endpoint_update(struct store_conn *c, const struct wh_endpoint *e, bool reenable,
                          bool disable, const char *reason)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_ep_update);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, e->org_id, e->mode, e->id);
    store_sqlite_bind_text(st, 4, e->url);
    store_sqlite_bind_text(st, 5, e->description);
    store_sqlite_bind_text(st, 6, e->events);
    sqlite3_bind_int64(st, 7, e->updated_ms);
    sqlite3_bind_int(st, 8, reenable);
    sqlite3_bind_int(st, 9, disable);
    store_sqlite_bind_text(st, 10, reason != NULL ? reason : "manual");
    rc = run(c, st, "webhook endpoint update");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK && reenable) {
        st = store_sqlite_stmt(c, sql_ep_wake);
        if (st == NULL)
            return STORE_FAIL;
        bind_key(st, e->org_id, e->mode, e->id);
        sqlite3_bind_int64(st, 4, e->updated_ms);
        rc = run(c, st, "webhook endpoint wake");
        wh_store_notify();
    }
    return rc;
}

enum store_rc
wh_sqlite_endpoint_delete(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *id)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_ep_delete);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, org_id, mode, id);
    rc = run(c, st, "webhook endpoint delete");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) == 0)
        return STORE_NOT_FOUND;
    if (rc != STORE_OK)
        return rc;
    st = store_sqlite_stmt(c, sql_ep_delete_deliveries);
    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, org_id, mode, id);
    return run(c, st, "webhook deliveries delete");
}

/* ---- the worker's side ---- */

static void
job_clear(struct wh_job *j)
{
    free(j->url);
    free(j->secret_sealed);
    free(j->data);
    j->url = j->data = NULL;
    j->secret_sealed = NULL;
}

static enum store_rc
job_load(struct store_conn *c, struct wh_job *j)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_job_load);
    enum store_rc rc = STORE_FAIL;
    int r;

    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, j->org_id, j->mode, j->endpoint_id);
    store_sqlite_bind_text(st, 4, j->event_id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        j->url = store_sqlite_col_dup(st, 0);
        j->event_created_ms = sqlite3_column_int64(st, 2);
        j->data = store_sqlite_col_dup(st, 3);
        if (j->url != NULL && j->data != NULL &&
            col_blob(st, 1, &j->secret_sealed, &j->secret_sealed_len) == 0)
            rc = STORE_OK;
    } else {
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : store_sqlite_rc(c, r, "webhook job load");
    }
    sqlite3_reset(st);
    return rc;
}

enum store_rc
wh_sqlite_claim(struct store_conn *c, int64_t now, int64_t lease_until, const char *owner,
                int limit, struct wh_job **jobs, size_t *n, int64_t *next_due)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_claim);
    struct wh_job *arr = NULL, *grown;
    size_t count = 0, kept = 0;
    enum store_rc rc = STORE_FAIL;
    int r = SQLITE_DONE;

    *next_due = 0;
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, lease_until);
    store_sqlite_bind_text(st, 3, owner);
    sqlite3_bind_int(st, 4, limit);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        grown = realloc(arr, (count + 1) * sizeof *arr);
        if (grown == NULL)
            goto out;
        arr = grown;
        memset(&arr[count], 0, sizeof arr[count]);
        store_sqlite_col_copy(st, 0, arr[count].org_id, sizeof arr[count].org_id);
        arr[count].mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
        store_sqlite_col_copy(st, 2, arr[count].id, sizeof arr[count].id);
        store_sqlite_col_copy(st, 3, arr[count].endpoint_id, sizeof arr[count].endpoint_id);
        store_sqlite_col_copy(st, 4, arr[count].event_id, sizeof arr[count].event_id);
        store_sqlite_col_copy(st, 5, arr[count].event_type, sizeof arr[count].event_type);
        arr[count].attempts = sqlite3_column_int(st, 6);
        arr[count].created_ms = sqlite3_column_int64(st, 7);
        count++;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        rc = store_sqlite_rc(c, r, "webhook claim");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        rc = job_load(c, &arr[i]);
        if (rc == STORE_NOT_FOUND) { /* its event is gone: leave it to the lease */
            job_clear(&arr[i]);
            continue;
        }
        if (rc != STORE_OK)
            goto out;
        if (kept != i) {
            arr[kept] = arr[i];
            memset(&arr[i], 0, sizeof arr[i]);
        }
        kept++;
    }
    count = kept;
    st = store_sqlite_stmt(c, sql_next_due);
    if (st == NULL) {
        rc = STORE_FAIL;
        goto out;
    }
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *next_due = sqlite3_column_int64(st, 0);
    rc = store_sqlite_rc(c, r, "webhook next due");
    sqlite3_reset(st);
out:
    if (rc != STORE_OK) {
        wh_jobs_free(arr, count);
        arr = NULL;
        count = 0;
    }
    *jobs = arr;
    *n = count;
    return rc;
}

enum store_rc
wh_sqlite_record(struct store_conn *c, const struct wh_result *r, bool *recorded, int *failures,
                 int64_t *failing_since)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_record);
    enum store_rc rc;
    int s;

    *recorded = false;
    *failures = 0;
    *failing_since = 0;
    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, r->org_id, r->mode, r->id);
    sqlite3_bind_int64(st, 4, r->now);
    if (r->response_status > 0)
        sqlite3_bind_int(st, 5, r->response_status);
    sqlite3_bind_int64(st, 6, r->latency_ms);
    store_sqlite_bind_text(st, 7, r->attempted_at);
    store_sqlite_bind_text(st, 8, r->owner);
    store_sqlite_bind_text(st, 9,
                           r->ok                    ? "delivered"
                           : r->next_attempt_ms > 0 ? "pending"
                                                    : "failed");
    if (!r->ok && r->next_attempt_ms > 0)
        sqlite3_bind_int64(st, 10, r->next_attempt_ms);
    store_sqlite_bind_text(st, 11, r->ok ? NULL : r->error);
    if (r->ok)
        sqlite3_bind_int64(st, 12, r->now);
    rc = run(c, st, "webhook record");
    if (rc != STORE_OK || sqlite3_changes(store_sqlite_db(c)) != 1)
        return rc;
    *recorded = true;
    st = store_sqlite_stmt(c, r->ok ? sql_ep_ok : sql_ep_fail);
    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, r->org_id, r->mode, r->endpoint_id);
    if (r->ok)
        return run(c, st, "webhook endpoint ok");
    sqlite3_bind_int64(st, 4, r->now);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *failures = sqlite3_column_int(st, 0);
        *failing_since = sqlite3_column_int64(st, 1);
        s = sqlite3_step(st);
    }
    rc = store_sqlite_rc(c, s, "webhook endpoint failure");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
wh_sqlite_release(struct store_conn *c, const char *owner)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_release);

    if (st == NULL)
        return STORE_FAIL;
    store_sqlite_bind_text(st, 1, owner);
    return run(c, st, "webhook release");
}

/* ---- the delivery log ---- */

static int
dl_from(sqlite3_stmt *st, struct wh_delivery *d)
{
    memset(d, 0, sizeof *d);
    store_sqlite_col_copy(st, 0, d->org_id, sizeof d->org_id);
    d->mode = store_sqlite_mode_parse(sqlite3_column_text(st, 1));
    store_sqlite_col_copy(st, 2, d->id, sizeof d->id);
    store_sqlite_col_copy(st, 3, d->endpoint_id, sizeof d->endpoint_id);
    store_sqlite_col_copy(st, 4, d->event_id, sizeof d->event_id);
    store_sqlite_col_copy(st, 5, d->event_type, sizeof d->event_type);
    store_sqlite_col_copy(st, 6, d->status, sizeof d->status);
    d->attempts = sqlite3_column_int(st, 7);
    d->next_attempt_ms = sqlite3_column_int64(st, 8);
    d->created_ms = sqlite3_column_int64(st, 9);
    d->updated_ms = sqlite3_column_int64(st, 10);
    d->delivered_ms = sqlite3_column_int64(st, 11);
    d->last_attempt_ms = sqlite3_column_int64(st, 12);
    d->last_status = sqlite3_column_int(st, 13);
    d->last_latency_ms =
        sqlite3_column_type(st, 14) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 14);
    d->last_error = store_sqlite_col_dup(st, 15);
    d->log = store_sqlite_col_dup(st, 16);
    return d->log != NULL ? 0 : -1;
}

enum store_rc
wh_sqlite_delivery_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                        const char *endpoint_id, const char *starting_after,
                        const char *ending_before, int limit, struct wh_delivery **rows, size_t *n,
                        bool *has_more)
{
    bool asc = ending_before != NULL && starting_after == NULL;
    sqlite3_stmt *st = store_sqlite_stmt(c, asc ? sql_dl_asc : sql_dl_desc);
    struct wh_delivery *arr = calloc((size_t)limit + 1, sizeof *arr), tmp;
    size_t count = 0;
    enum store_rc rc = STORE_FAIL;
    int r = SQLITE_DONE;

    *has_more = false;
    if (st == NULL || arr == NULL)
        goto out;
    bind_key(st, org_id, mode, endpoint_id);
    store_sqlite_bind_text(st, 4, starting_after);
    store_sqlite_bind_text(st, 5, ending_before);
    sqlite3_bind_int(st, 6, limit + 1);
    while (count <= (size_t)limit && (r = sqlite3_step(st)) == SQLITE_ROW)
        if (dl_from(st, &arr[count++]) != 0)
            goto out;
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = store_sqlite_rc(c, r, "webhook delivery list");
        goto out;
    }
    *has_more = count > (size_t)limit;
    if (*has_more)
        wh_delivery_free(&arr[--count]);
    for (size_t i = 0; asc && i < count / 2; i++) {
        tmp = arr[i];
        arr[i] = arr[count - 1 - i];
        arr[count - 1 - i] = tmp;
    }
    rc = STORE_OK;
out:
    if (st != NULL)
        sqlite3_reset(st);
    if (rc != STORE_OK) {
        wh_deliveries_free(arr, count);
        arr = NULL;
        count = 0;
    }
    *rows = arr;
    *n = count;
    return rc;
}

enum store_rc
wh_sqlite_delivery_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                       const char *endpoint_id, const char *id, struct wh_delivery *out)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_dl_get);
    enum store_rc rc;
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, org_id, mode, endpoint_id);
    store_sqlite_bind_text(st, 4, id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = dl_from(st, out) == 0 ? STORE_OK : STORE_FAIL;
    else
        rc = r == SQLITE_DONE ? STORE_NOT_FOUND : store_sqlite_rc(c, r, "webhook delivery get");
    sqlite3_reset(st);
    return rc;
}

enum store_rc
wh_sqlite_redeliver(struct store_conn *c, const char *org_id, enum key_mode mode,
                    const char *endpoint_id, const char *id, const char *new_id, int64_t now)
{
    sqlite3_stmt *st = store_sqlite_stmt(c, sql_redeliver);
    enum store_rc rc;

    if (st == NULL)
        return STORE_FAIL;
    bind_key(st, org_id, mode, endpoint_id);
    store_sqlite_bind_text(st, 4, id);
    store_sqlite_bind_text(st, 5, new_id);
    sqlite3_bind_int64(st, 6, now);
    rc = run(c, st, "webhook redeliver");
    if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(c)) == 0)
        return STORE_NOT_FOUND;
    if (rc == STORE_OK)
        wh_store_notify();
    return rc;
}

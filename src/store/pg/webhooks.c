/* SPDX-License-Identifier: MIT */
/*
 * webhooks.c -- the PostgreSQL tables and queries of signed webhooks
 * (store/webhook_store.h): endpoints and the delivery queue. Deliveries are queued by one
 * INSERT ... SELECT in the transaction that inserts the event (transactional outbox);
 * workers claim due ones with an UPDATE whose rows are picked FOR UPDATE SKIP LOCKED and
 * get a lease, so one delivery attempt is made by one worker even when several orderd
 * processes share the database, and a result is written only by the lease holder.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: endpoints, deliveries */
    "CREATE TABLE webhook_endpoints ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  id " PG_TEXT " NOT NULL,"
    "  url TEXT NOT NULL,"
    "  description TEXT,"
    "  events TEXT NOT NULL,"
    "  secret BYTEA NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  disabled_ms BIGINT,"
    "  disabled_reason TEXT,"
    "  consecutive_failures INTEGER NOT NULL DEFAULT 0,"
    "  failing_since_ms BIGINT,"
    "  PRIMARY KEY (org_id, mode, id));"
    "CREATE TABLE webhook_deliveries ("
    "  org_id " PG_TEXT " NOT NULL,"
    "  mode " PG_TEXT " NOT NULL,"
    "  id " PG_TEXT " NOT NULL,"
    "  endpoint_id " PG_TEXT " NOT NULL,"
    "  event_id " PG_TEXT " NOT NULL,"
    "  event_type " PG_TEXT " NOT NULL,"
    "  status " PG_TEXT " NOT NULL CHECK (status IN ('pending','delivered','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_ms BIGINT,"
    "  lease_until_ms BIGINT,"
    "  lease_owner TEXT,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  delivered_ms BIGINT,"
    "  last_attempt_ms BIGINT,"
    "  last_status INTEGER,"
    "  last_latency_ms BIGINT,"
    "  last_error TEXT,"
    "  log TEXT NOT NULL DEFAULT '[]',"
    "  PRIMARY KEY (org_id, mode, id));"
    "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries "
    "(org_id, mode, endpoint_id, id);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) "
    "WHERE status = 'pending';",
};

const struct pg_migrations pg_migrations_webhooks = {
    "webhooks", migrations, (int)(sizeof migrations / sizeof migrations[0])};

#define EP_COLS                                                                                    \
    "org_id, mode, id, url, description, events, secret, created_ms, updated_ms, disabled_ms, "    \
    "disabled_reason, consecutive_failures, failing_since_ms"
#define DL_COLS                                                                                    \
    "org_id, mode, id, endpoint_id, event_id, event_type, status, attempts, next_attempt_ms, "     \
    "created_ms, updated_ms, delivered_ms, last_attempt_ms, last_status, last_latency_ms, "        \
    "last_error, log"

/* $1 org, $2 mode, $3 event id, $4 type, $5 created_ms. Delivery ids: "whd_", the time
 * in 12 hex digits, 20 random hex digits. */
const char pg_sql_fanout[] =
    "INSERT INTO webhook_deliveries (org_id, mode, id, endpoint_id, event_id, event_type, "
    "status, next_attempt_ms, created_ms, updated_ms) "
    "SELECT org_id, mode, 'whd_' || lpad(to_hex($5::bigint), 12, '0') || "
    "substr(encode(sha256(uuid_send(gen_random_uuid())), 'hex'), 1, 20), id, $3::text, "
    "$4::text, 'pending', $5::bigint, $5::bigint, $5::bigint FROM webhook_endpoints "
    "WHERE org_id = $1::text AND mode = $2::text AND disabled_ms IS NULL AND "
    "(events = ',*,' OR strpos(events, ',' || $4::text || ',') > 0)";
static const char sql_event_insert[] =
    "INSERT INTO events (org_id, mode, id, type, order_id, created_ms, request_id, data) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char sql_ep_insert[] =
    "INSERT INTO webhook_endpoints (org_id, mode, id, url, description, events, secret, "
    "created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
static const char sql_ep_get[] =
    "SELECT " EP_COLS " FROM webhook_endpoints WHERE org_id = $1 AND mode = $2 AND id = $3";
static const char sql_ep_list[] = "SELECT " EP_COLS " FROM webhook_endpoints WHERE org_id = $1 "
                                  "AND mode = $2 ORDER BY created_ms DESC, id DESC";
static const char sql_ep_count[] =
    "SELECT count(*) FROM webhook_endpoints WHERE org_id = $1 AND mode = $2";
/* the partial index webhook_deliveries_due holds exactly the pending rows */
static const char sql_backlog[] =
    "SELECT count(*) FILTER (WHERE attempts = 0), count(*) FILTER (WHERE attempts > 0) FROM "
    "webhook_deliveries WHERE status = 'pending'";
static const char sql_ep_update[] =
    "UPDATE webhook_endpoints SET url = $4, description = $5, events = $6, updated_ms = $7, "
    "disabled_ms = CASE WHEN $8::boolean THEN NULL WHEN $9::boolean THEN "
    "coalesce(disabled_ms, $7) ELSE disabled_ms END, disabled_reason = CASE WHEN $8::boolean "
    "THEN NULL WHEN $9::boolean THEN coalesce(disabled_reason, $10::text) ELSE disabled_reason "
    "END, consecutive_failures = CASE WHEN $8::boolean THEN 0 ELSE consecutive_failures END, "
    "failing_since_ms = CASE WHEN $8::boolean THEN NULL ELSE failing_since_ms END "
    "WHERE org_id = $1 AND mode = $2 AND id = $3";
static const char sql_ep_wake[] =
    "UPDATE webhook_deliveries SET next_attempt_ms = $4 WHERE org_id = $1 AND mode = $2 AND "
    "endpoint_id = $3 AND status = 'pending' AND next_attempt_ms > $4";
static const char sql_ep_delete[] =
    "DELETE FROM webhook_endpoints WHERE org_id = $1 AND mode = $2 AND id = $3";
static const char sql_ep_delete_deliveries[] =
    "DELETE FROM webhook_deliveries WHERE org_id = $1 AND mode = $2 AND endpoint_id = $3";
static const char sql_claim[] =
    "UPDATE webhook_deliveries d SET lease_until_ms = $2, lease_owner = $3 FROM ("
    "SELECT c.org_id, c.mode, c.id FROM webhook_deliveries c JOIN webhook_endpoints e ON "
    "e.org_id = c.org_id AND e.mode = c.mode AND e.id = c.endpoint_id WHERE c.status = "
    "'pending' AND c.next_attempt_ms <= $1 AND (c.lease_until_ms IS NULL OR c.lease_until_ms "
    "<= $1) AND e.disabled_ms IS NULL ORDER BY c.next_attempt_ms LIMIT $4 "
    "FOR UPDATE OF c SKIP LOCKED) s WHERE d.org_id = s.org_id AND d.mode = s.mode AND "
    "d.id = s.id RETURNING d.org_id, d.mode, d.id, d.endpoint_id, d.event_id, d.event_type, "
    "d.attempts, d.created_ms";
static const char sql_job_load[] =
    "SELECT e.url, e.secret, v.created_ms, v.data FROM webhook_endpoints e, events v WHERE "
    "e.org_id = $1 AND e.mode = $2 AND e.id = $3 AND v.org_id = $1 AND v.mode = $2 AND "
    "v.id = $4";
static const char sql_next_due[] =
    "SELECT min(greatest(d.next_attempt_ms, coalesce(d.lease_until_ms, 0))) FROM "
    "webhook_deliveries d JOIN webhook_endpoints e ON e.org_id = d.org_id AND e.mode = d.mode "
    "AND e.id = d.endpoint_id WHERE d.status = 'pending' AND e.disabled_ms IS NULL";
/* the attempt log keeps its members in order (json, not jsonb) */
static const char sql_record[] =
    "UPDATE webhook_deliveries SET status = $9, attempts = attempts + 1, lease_until_ms = NULL, "
    "lease_owner = NULL, next_attempt_ms = $10, delivered_ms = $12, updated_ms = $4, "
    "last_attempt_ms = $4, last_status = $5, last_latency_ms = $6, last_error = $11, "
    "log = CASE WHEN log = '[]' THEN '[' ELSE left(log, -1) || ',' END || "
    "json_build_object('attempt', attempts + 1, 'attempted_at', $7::text, 'response_status', "
    "$5::integer, 'latency_ms', $6::bigint, 'error', $11::text)::text || ']' "
    "WHERE org_id = $1 AND mode = $2 AND id = $3 AND lease_owner = $8";
static const char sql_ep_ok[] =
    "UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since_ms = NULL WHERE "
    "org_id = $1 AND mode = $2 AND id = $3 AND consecutive_failures <> 0";
static const char sql_ep_fail[] =
    "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, "
    "failing_since_ms = coalesce(failing_since_ms, $4) WHERE org_id = $1 AND mode = $2 AND "
    "id = $3 RETURNING consecutive_failures, failing_since_ms";
static const char sql_release[] =
    "UPDATE webhook_deliveries SET lease_until_ms = NULL, lease_owner = NULL WHERE "
    "lease_owner = $1 AND status = 'pending'";
static const char sql_dl_desc[] =
    "SELECT " DL_COLS " FROM webhook_deliveries WHERE org_id = $1 AND mode = $2 AND "
    "endpoint_id = $3 AND ($4::text IS NULL OR id < $4::text) AND ($5::text IS NULL OR "
    "id > $5::text) ORDER BY id DESC LIMIT $6";
static const char sql_dl_asc[] =
    "SELECT " DL_COLS " FROM webhook_deliveries WHERE org_id = $1 AND mode = $2 AND "
    "endpoint_id = $3 AND ($4::text IS NULL OR id < $4::text) AND ($5::text IS NULL OR "
    "id > $5::text) ORDER BY id ASC LIMIT $6";
static const char sql_dl_get[] = "SELECT " DL_COLS " FROM webhook_deliveries WHERE org_id = $1 "
                                 "AND mode = $2 AND endpoint_id = $3 AND id = $4";
static const char sql_redeliver[] =
    "INSERT INTO webhook_deliveries (org_id, mode, id, endpoint_id, event_id, event_type, "
    "status, next_attempt_ms, created_ms, updated_ms) SELECT org_id, mode, $5::text, "
    "endpoint_id, event_id, event_type, 'pending', $6::bigint, $6::bigint, $6::bigint FROM "
    "webhook_deliveries WHERE org_id = $1 AND mode = $2 AND endpoint_id = $3 AND id = $4";

static void
key_params(struct pg_params *p, const char *org_id, enum key_mode mode, const char *id)
{
    pg_p_text(p, org_id);
    pg_p_mode(p, mode);
    pg_p_text(p, id);
}

/* ---- outbox fan-out ---- */

enum store_rc
pg_webhook_fanout(struct store_conn *c, const struct event_row *e)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long added = 0;

    key_params(&p, e->org_id, e->mode, e->id);
    pg_p_text(&p, e->type);
    pg_p_int(&p, e->created_ms);
    rc = pg_exec(c, pg_sql_fanout, &p, &added, "webhook fan-out");
    if (rc == STORE_OK && added > 0)
        wh_store_notify();
    return rc;
}

enum store_rc
wh_pg_event_insert(struct store_conn *c, const struct event_row *e)
{
    struct pg_params p = {0};
    enum store_rc rc;

    key_params(&p, e->org_id, e->mode, e->id);
    pg_p_text(&p, e->type);
    pg_p_text(&p, e->order_id);
    pg_p_int(&p, e->created_ms);
    pg_p_text(&p, e->request_id);
    pg_p_text(&p, e->data);
    rc = pg_exec(c, sql_event_insert, &p, NULL, "webhook event insert");
    return rc == STORE_OK ? pg_webhook_fanout(c, e) : rc;
}

/* ---- endpoints ---- */

static int
ep_from(const PGresult *res, int r, struct wh_endpoint *e)
{
    memset(e, 0, sizeof *e);
    pg_copy(res, r, 0, e->org_id, sizeof e->org_id);
    e->mode = pg_mode_parse(PQgetvalue(res, r, 1));
    pg_copy(res, r, 2, e->id, sizeof e->id);
    e->url = pg_dup(res, r, 3);
    e->description = pg_dup(res, r, 4);
    pg_copy(res, r, 5, e->events, sizeof e->events);
    if (pg_bytea(res, r, 6, &e->secret_sealed, &e->secret_sealed_len) != 0)
        return -1;
    e->created_ms = pg_i64(res, r, 7);
    e->updated_ms = pg_i64(res, r, 8);
    e->disabled_ms = pg_i64(res, r, 9);
    pg_copy(res, r, 10, e->disabled_reason, sizeof e->disabled_reason);
    e->consecutive_failures = (int)pg_i64(res, r, 11);
    e->failing_since_ms = pg_i64(res, r, 12);
    return e->url != NULL ? 0 : -1;
}

static int
ep_from_void(const PGresult *res, int r, void *row)
{
    return ep_from(res, r, row);
}

static void
eps_free_void(void *rows, size_t n)
{
    wh_endpoints_free(rows, n);
}

enum store_rc
wh_pg_endpoint_insert(struct store_conn *c, const struct wh_endpoint *e)
{
    struct pg_params p = {0};

    key_params(&p, e->org_id, e->mode, e->id);
    pg_p_text(&p, e->url);
    pg_p_text(&p, e->description);
    pg_p_text(&p, e->events);
    pg_p_bytea(&p, e->secret_sealed, e->secret_sealed_len);
    pg_p_int(&p, e->created_ms);
    pg_p_int(&p, e->updated_ms);
    return pg_exec(c, sql_ep_insert, &p, NULL, "webhook endpoint insert");
}

enum store_rc
wh_pg_endpoint_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                   struct wh_endpoint *out)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    memset(out, 0, sizeof *out);
    key_params(&p, org_id, mode, id);
    res = pg_query(c, sql_ep_get, &p, &rc, "webhook endpoint get");
    if (res != NULL)
        rc = PQntuples(res) == 0         ? STORE_NOT_FOUND
             : ep_from(res, 0, out) == 0 ? STORE_OK
                                         : STORE_FAIL;
    PQclear(res);
    return rc;
}

enum store_rc
wh_pg_endpoint_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                    struct wh_endpoint **rows, size_t *n)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;
    void *out = NULL;

    *n = 0;
    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    res = pg_query(c, sql_ep_list, &p, &rc, "webhook endpoint list");
    if (res != NULL)
        rc = pg_collect(res, sizeof **rows, ep_from_void, eps_free_void, &out, n);
    PQclear(res);
    *rows = out;
    return rc;
}

enum store_rc
wh_pg_endpoint_count(struct store_conn *c, const char *org_id, enum key_mode mode, int *n)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    *n = 0;
    pg_p_text(&p, org_id);
    pg_p_mode(&p, mode);
    res = pg_query(c, sql_ep_count, &p, &rc, "webhook endpoint count");
    if (res != NULL)
        *n = (int)pg_i64(res, 0, 0);
    PQclear(res);
    return rc;
}

enum store_rc
wh_pg_backlog(struct store_conn *c, int64_t *pending, int64_t *retrying)
{
    enum store_rc rc;
    PGresult *res = pg_query(c, sql_backlog, NULL, &rc, "webhook backlog");

    *pending = *retrying = 0;
    if (res != NULL) {
        *pending = pg_i64(res, 0, 0);
        *retrying = pg_i64(res, 0, 1);
    }
    PQclear(res);
    return rc;
}

enum store_rc
wh_pg_endpoint_update(struct store_conn *c, const struct wh_endpoint *e, bool reenable,
                      bool disable, const char *reason)
{
    struct pg_params p = {0}, q = {0};
    enum store_rc rc;
    long changed = 0;

    key_params(&p, e->org_id, e->mode, e->id);
    pg_p_text(&p, e->url);
    pg_p_text(&p, e->description);
    pg_p_text(&p, e->events);
    pg_p_int(&p, e->updated_ms);
    pg_p_text(&p, reenable ? "t" : "f");
    pg_p_text(&p, disable ? "t" : "f");
    pg_p_text(&p, reason != NULL ? reason : "manual");
    rc = pg_exec(c, sql_ep_update, &p, &changed, "webhook endpoint update");
    if (rc == STORE_OK && changed == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK && reenable) {
        key_params(&q, e->org_id, e->mode, e->id);
        pg_p_int(&q, e->updated_ms);
        rc = pg_exec(c, sql_ep_wake, &q, NULL, "webhook endpoint wake");
        wh_store_notify();
    }
    return rc;
}

enum store_rc
wh_pg_endpoint_delete(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long changed = 0;

    key_params(&p, org_id, mode, id);
    rc = pg_exec(c, sql_ep_delete, &p, &changed, "webhook endpoint delete");
    if (rc == STORE_OK && changed == 0)
        return STORE_NOT_FOUND;
    if (rc == STORE_OK)
        rc = pg_exec(c, sql_ep_delete_deliveries, &p, NULL, "webhook deliveries delete");
    return rc;
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
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    key_params(&p, j->org_id, j->mode, j->endpoint_id);
    pg_p_text(&p, j->event_id);
    res = pg_query(c, sql_job_load, &p, &rc, "webhook job load");
    if (res != NULL && PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else if (res != NULL) {
        j->url = pg_dup(res, 0, 0);
        j->event_created_ms = pg_i64(res, 0, 2);
        j->data = pg_dup(res, 0, 3);
        rc = j->url != NULL && j->data != NULL &&
                     pg_bytea(res, 0, 1, &j->secret_sealed, &j->secret_sealed_len) == 0
                 ? STORE_OK
                 : STORE_FAIL;
    }
    PQclear(res);
    return rc;
}

enum store_rc
wh_pg_claim(struct store_conn *c, int64_t now, int64_t lease_until, const char *owner, int limit,
            struct wh_job **jobs, size_t *n, int64_t *next_due)
{
    struct pg_params p = {0};
    struct wh_job *arr = NULL;
    size_t count = 0, kept = 0;
    enum store_rc rc;
    PGresult *res;

    *next_due = 0;
    pg_p_int(&p, now);
    pg_p_int(&p, lease_until);
    pg_p_text(&p, owner);
    pg_p_int(&p, limit);
    res = pg_query(c, sql_claim, &p, &rc, "webhook claim");
    if (res != NULL && PQntuples(res) > 0) {
        arr = calloc((size_t)PQntuples(res), sizeof *arr);
        if (arr == NULL)
            rc = STORE_FAIL;
        for (int i = 0; arr != NULL && i < PQntuples(res); i++, count++) {
            pg_copy(res, i, 0, arr[i].org_id, sizeof arr[i].org_id);
            arr[i].mode = pg_mode_parse(PQgetvalue(res, i, 1));
            pg_copy(res, i, 2, arr[i].id, sizeof arr[i].id);
            pg_copy(res, i, 3, arr[i].endpoint_id, sizeof arr[i].endpoint_id);
            pg_copy(res, i, 4, arr[i].event_id, sizeof arr[i].event_id);
            pg_copy(res, i, 5, arr[i].event_type, sizeof arr[i].event_type);
            arr[i].attempts = (int)pg_i64(res, i, 6);
            arr[i].created_ms = pg_i64(res, i, 7);
        }
    }
    PQclear(res);
    for (size_t i = 0; rc == STORE_OK && i < count; i++) {
        rc = job_load(c, &arr[i]);
        if (rc == STORE_NOT_FOUND) { /* its event is gone: leave it to the lease */
            job_clear(&arr[i]);
            rc = STORE_OK;
            continue;
        }
        if (rc == STORE_OK && kept != i) {
            arr[kept] = arr[i];
            memset(&arr[i], 0, sizeof arr[i]);
        }
        kept += rc == STORE_OK;
    }
    if (rc == STORE_OK) {
        count = kept;
        res = pg_query(c, sql_next_due, NULL, &rc, "webhook next due");
        if (res != NULL)
            *next_due = pg_i64(res, 0, 0);
        PQclear(res);
    }
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
wh_pg_record(struct store_conn *c, const struct wh_result *r, bool *recorded, int *failures,
             int64_t *failing_since)
{
    struct pg_params p = {0}, q = {0};
    enum store_rc rc;
    PGresult *res;
    long changed = 0;

    *recorded = false;
    *failures = 0;
    *failing_since = 0;
    key_params(&p, r->org_id, r->mode, r->id);
    pg_p_int(&p, r->now);
    if (r->response_status > 0)
        pg_p_int(&p, r->response_status);
    else
        pg_p_text(&p, NULL);
    pg_p_int(&p, r->latency_ms);
    pg_p_text(&p, r->attempted_at);
    pg_p_text(&p, r->owner);
    pg_p_text(&p, r->ok ? "delivered" : r->next_attempt_ms > 0 ? "pending" : "failed");
    pg_p_ms(&p, !r->ok && r->next_attempt_ms > 0 ? r->next_attempt_ms : 0);
    pg_p_text(&p, r->ok ? NULL : r->error);
    pg_p_ms(&p, r->ok ? r->now : 0);
    rc = pg_exec(c, sql_record, &p, &changed, "webhook record");
    if (rc != STORE_OK || changed != 1)
        return rc;
    *recorded = true;
    key_params(&q, r->org_id, r->mode, r->endpoint_id);
    if (r->ok)
        return pg_exec(c, sql_ep_ok, &q, NULL, "webhook endpoint ok");
    pg_p_int(&q, r->now);
    res = pg_query(c, sql_ep_fail, &q, &rc, "webhook endpoint failure");
    if (res != NULL && PQntuples(res) > 0) {
        *failures = (int)pg_i64(res, 0, 0);
        *failing_since = pg_i64(res, 0, 1);
    }
    PQclear(res);
    return rc;
}

enum store_rc
wh_pg_release(struct store_conn *c, const char *owner)
{
    struct pg_params p = {0};

    pg_p_text(&p, owner);
    return pg_exec(c, sql_release, &p, NULL, "webhook release");
}

/* ---- the delivery log ---- */

static int
dl_from(const PGresult *res, int r, struct wh_delivery *d)
{
    memset(d, 0, sizeof *d);
    pg_copy(res, r, 0, d->org_id, sizeof d->org_id);
    d->mode = pg_mode_parse(PQgetvalue(res, r, 1));
    pg_copy(res, r, 2, d->id, sizeof d->id);
    pg_copy(res, r, 3, d->endpoint_id, sizeof d->endpoint_id);
    pg_copy(res, r, 4, d->event_id, sizeof d->event_id);
    pg_copy(res, r, 5, d->event_type, sizeof d->event_type);
    pg_copy(res, r, 6, d->status, sizeof d->status);
    d->attempts = (int)pg_i64(res, r, 7);
    d->next_attempt_ms = pg_i64(res, r, 8);
    d->created_ms = pg_i64(res, r, 9);
    d->updated_ms = pg_i64(res, r, 10);
    d->delivered_ms = pg_i64(res, r, 11);
    d->last_attempt_ms = pg_i64(res, r, 12);
    d->last_status = (int)pg_i64(res, r, 13);
    d->last_latency_ms = pg_null(res, r, 14) ? -1 : pg_i64(res, r, 14);
    d->last_error = pg_dup(res, r, 15);
    d->log = pg_dup(res, r, 16);
    return d->log != NULL ? 0 : -1;
}

enum store_rc
wh_pg_delivery_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                    const char *endpoint_id, const char *starting_after, const char *ending_before,
                    int limit, struct wh_delivery **rows, size_t *n, bool *has_more)
{
    bool asc = ending_before != NULL && starting_after == NULL;
    struct pg_params p = {0};
    struct wh_delivery *arr = NULL;
    size_t count = 0;
    enum store_rc rc;
    PGresult *res;
    int total;

    *has_more = false;
    key_params(&p, org_id, mode, endpoint_id);
    pg_p_text(&p, starting_after);
    pg_p_text(&p, ending_before);
    pg_p_int(&p, limit + 1);
    res = pg_query(c, asc ? sql_dl_asc : sql_dl_desc, &p, &rc, "webhook delivery list");
    if (res != NULL) {
        total = PQntuples(res);
        count = (size_t)(total > limit ? limit : total);
        *has_more = total > limit;
        arr = calloc(count + 1, sizeof *arr);
        if (arr == NULL)
            rc = STORE_FAIL;
        /* an ascending page is read backwards: newest first either way */
        for (size_t i = 0; arr != NULL && i < count; i++)
            if (dl_from(res, (int)i, &arr[asc ? count - 1 - i : i]) != 0)
                rc = STORE_FAIL;
    }
    PQclear(res);
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
wh_pg_delivery_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                   const char *endpoint_id, const char *id, struct wh_delivery *out)
{
    struct pg_params p = {0};
    enum store_rc rc;
    PGresult *res;

    memset(out, 0, sizeof *out);
    key_params(&p, org_id, mode, endpoint_id);
    pg_p_text(&p, id);
    res = pg_query(c, sql_dl_get, &p, &rc, "webhook delivery get");
    if (res != NULL)
        rc = PQntuples(res) == 0         ? STORE_NOT_FOUND
             : dl_from(res, 0, out) == 0 ? STORE_OK
                                         : STORE_FAIL;
    PQclear(res);
    return rc;
}

enum store_rc
wh_pg_redeliver(struct store_conn *c, const char *org_id, enum key_mode mode,
                const char *endpoint_id, const char *id, const char *new_id, int64_t now)
{
    struct pg_params p = {0};
    enum store_rc rc;
    long added = 0;

    key_params(&p, org_id, mode, endpoint_id);
    pg_p_text(&p, id);
    pg_p_text(&p, new_id);
    pg_p_int(&p, now);
    rc = pg_exec(c, sql_redeliver, &p, &added, "webhook redeliver");
    if (rc == STORE_OK && added == 0)
        return STORE_NOT_FOUND;
    if (rc == STORE_OK)
        wh_store_notify();
    return rc;
}

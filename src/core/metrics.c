/* SPDX-License-Identifier: MIT */
/*
 * metrics.c -- counters and histograms behind GET /metrics (metrics.h). A series is
 * claimed under a mutex the first time its labels are seen and counted with atomics
 * after that; the tables are fixed-size (a full table counts into an "other" series),
 * so a flood of odd paths cannot grow memory: unmatched requests share one route label.
 */
#include "core/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define HTTP_SERIES     512
#define LATENCY_SERIES  128
#define N_LAT_BUCKETS   12
#define N_BATCH_BUCKETS 9

/* seconds, as Prometheus expects */
static const double lat_bounds[N_LAT_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
static const int batch_bounds[N_BATCH_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

struct http_series {
    atomic_bool used;
    const char *api, *route;
    char method[12];
    int status;
    atomic_uint_fast64_t count;
};

struct latency_series {
    atomic_bool used;
    const char *api, *route;
    atomic_uint_fast64_t bucket[N_LAT_BUCKETS];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

static pthread_mutex_t claim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_series http[HTTP_SERIES];
static struct latency_series latency[LATENCY_SERIES];
static atomic_uint_fast64_t batch_bucket[N_BATCH_BUCKETS];
static atomic_uint_fast64_t batch_count, batch_sum, commit_failures;
static atomic_int_fast64_t queue_depth;
static atomic_uint_fast64_t wh_delivered, wh_failed, wh_abandoned;
static atomic_uint_fast64_t settle_runs, settle_groups;
static atomic_int_fast64_t conns_open;
static atomic_uint_fast64_t conns_reaped_headers, conns_reaped_body;
static atomic_int store_failing;
static atomic_uint_fast64_t store_fail_episodes;

static bool
http_match(const struct http_series *s, const char *api, const char *route, const char *method,
           int status)
{
    return s->api == api && s->route == route && s->status == status &&
           strcmp(s->method, method) == 0;
}

/* The series for these labels, claimed on first use; the last slot absorbs overflow. */
static struct http_series *
http_find(const char *api, const char *route, const char *method, int status)
{
    struct http_series *s = NULL;
    int i;

    for (i = 0; i < HTTP_SERIES && atomic_load(&http[i].used); i++)
        if (http_match(&http[i], api, route, method, status))
            return &http[i];
    pthread_mutex_lock(&claim_lock);
    for (i = 0; i < HTTP_SERIES - 1 && s == NULL; i++) {
        if (!atomic_load(&http[i].used)) {
            http[i].api = api;
            http[i].route = route;
            memcpy(http[i].method, method, strnlen(method, sizeof http[i].method - 1));
            http[i].status = status;
            atomic_store(&http[i].used, true);
            s = &http[i];
        } else if (http_match(&http[i], api, route, method, status)) {
            s = &http[i];
        }
    }
    if (s == NULL) {
        s = &http[HTTP_SERIES - 1];
        if (!atomic_load(&s->used)) {
            s->api = "other";
            s->route = "other";
            memcpy(s->method, "other", 6);
            atomic_store(&s->used, true);
        }
    }
    pthread_mutex_unlock(&claim_lock);
    return s;
}

static struct latency_series *
latency_find(const char *api, const char *route)
{
    struct latency_series *s = NULL;
    int i;

    for (i = 0; i < LATENCY_SERIES && atomic_load(&latency[i].used); i++)
        if (latency[i].api == api && latency[i].route == route)
            return &latency[i];
    pthread_mutex_lock(&claim_lock);
    for (i = 0; i < LATENCY_SERIES - 1 && s == NULL; i++) {
        if (!atomic_load(&latency[i].used)) {
            latency[i].api = api;
            latency[i].route = route;
            atomic_store(&latency[i].used, true);
            s = &latency[i];
        } else if (latency[i].api == api && latency[i].route == route) {
            s = &latency[i];
        }
    }
    if (s == NULL) {
        s = &latency[LATENCY_SERIES - 1];
        if (!atomic_load(&s->used)) {
            s->api = "other";
            s->route = "other";
            atomic_store(&s->used, true);
        }
    }
    pthread_mutex_unlock(&claim_lock);
    return s;
}

void
metrics_http(const char *api, const char *route, const char *method, int status, int64_t latency_us)
{
    struct latency_series *l;
    double secs = (double)latency_us / 1e6;

    api = api != NULL ? api : "none";
    route = route != NULL ? route : "unmatched";
    atomic_fetch_add(&http_find(api, route, method, status)->count, 1);
    l = latency_find(api, route);
    for (int i = 0; i < N_LAT_BUCKETS; i++)
        if (secs <= lat_bounds[i])
            atomic_fetch_add(&l->bucket[i], 1);
    atomic_fetch_add(&l->count, 1);
    atomic_fetch_add(&l->sum_us, latency_us > 0 ? (uint64_t)latency_us : 0);
}

void
metrics_commit(int n, int ok)
{
    for (int i = 0; i < N_BATCH_BUCKETS; i++)
        if (n <= batch_bounds[i])
            atomic_fetch_add(&batch_bucket[i], 1);
    atomic_fetch_add(&batch_count, 1);
    atomic_fetch_add(&batch_sum, n > 0 ? (uint64_t)n : 0);
    if (!ok)
        atomic_fetch_add(&commit_failures, 1);
}

void
metrics_store_failing(int failing)
{
    atomic_store(&store_failing, failing ? 1 : 0);
    if (failing)
        atomic_fetch_add(&store_fail_episodes, 1);
}

void
metrics_queue_add(int delta)
{
    atomic_fetch_add(&queue_depth, delta);
}

void
metrics_webhook(const char *outcome)
{
    if (strcmp(outcome, "delivered") == 0)
        atomic_fetch_add(&wh_delivered, 1);
    else if (strcmp(outcome, "failed") == 0)
        atomic_fetch_add(&wh_failed, 1);
    else
        atomic_fetch_add(&wh_abandoned, 1);
}

void
metrics_settlement(int n)
{
    atomic_fetch_add(&settle_runs, 1);
    atomic_fetch_add(&settle_groups, n > 0 ? (uint64_t)n : 0);
}

void
metrics_conn_open(int delta)
{
    atomic_fetch_add(&conns_open, delta);
}

void
metrics_conn_reaped(int body)
{
    atomic_fetch_add(body ? &conns_reaped_body : &conns_reaped_headers, 1);
}

static void
header(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_render(struct buf *b, const struct metrics_scrape *sc)
{
    header(b, "orderd_http_requests_total", "counter", "HTTP requests answered.");
    for (int i = 0; i < HTTP_SERIES && atomic_load(&http[i].used); i++)
        buf_printf(b,
                   "orderd_http_requests_total{api=\"%s\",route=\"%s\",method=\"%s\","
                   "status=\"%d\"} %llu\n",
                   http[i].api, http[i].route, http[i].method, http[i].status,
                   (unsigned long long)atomic_load(&http[i].count));
    if (atomic_load(&http[HTTP_SERIES - 1].used))
        buf_printf(b,
                   "orderd_http_requests_total{api=\"other\",route=\"other\",method=\"other\","
                   "status=\"0\"} %llu\n",
                   (unsigned long long)atomic_load(&http[HTTP_SERIES - 1].count));
    header(b, "orderd_http_request_duration_seconds", "histogram",
           "Time from the first byte of a request to its answer being queued.");
    for (int i = 0; i < LATENCY_SERIES && atomic_load(&latency[i].used); i++) {
        const struct latency_series *l = &latency[i];
        for (int k = 0; k < N_LAT_BUCKETS; k++)
            buf_printf(b,
                       "orderd_http_request_duration_seconds_bucket{api=\"%s\",route=\"%s\","
                       "le=\"%g\"} %llu\n",
                       l->api, l->route, lat_bounds[k],
                       (unsigned long long)atomic_load(&l->bucket[k]));
        buf_printf(b,
                   "orderd_http_request_duration_seconds_bucket{api=\"%s\",route=\"%s\","
                   "le=\"+Inf\"} %llu\n",
                   l->api, l->route, (unsigned long long)atomic_load(&l->count));
        buf_printf(b, "orderd_http_request_duration_seconds_sum{api=\"%s\",route=\"%s\"} %.6f\n",
                   l->api, l->route, (double)atomic_load(&l->sum_us) / 1e6);
        buf_printf(b, "orderd_http_request_duration_seconds_count{api=\"%s\",route=\"%s\"} %llu\n",
                   l->api, l->route, (unsigned long long)atomic_load(&l->count));
    }
    header(b, "orderd_http_connections", "gauge", "Open HTTP connections, idle ones included.");
    buf_printf(b, "orderd_http_connections %lld\n", (long long)atomic_load(&conns_open));
    header(b, "orderd_http_connections_reaped_total", "counter",
           "Connections closed because a request's headers or body came in too slowly.");
    buf_printf(b, "orderd_http_connections_reaped_total{phase=\"headers\"} %llu\n",
               (unsigned long long)atomic_load(&conns_reaped_headers));
    buf_printf(b, "orderd_http_connections_reaped_total{phase=\"body\"} %llu\n",
               (unsigned long long)atomic_load(&conns_reaped_body));
    header(b, "orderd_commit_batch_size", "histogram",
           "Writes per group-commit transaction (one fsync each).");
    for (int k = 0; k < N_BATCH_BUCKETS; k++)
        buf_printf(b, "orderd_commit_batch_size_bucket{le=\"%d\"} %llu\n", batch_bounds[k],
                   (unsigned long long)atomic_load(&batch_bucket[k]));
    buf_printf(b, "orderd_commit_batch_size_bucket{le=\"+Inf\"} %llu\n",
               (unsigned long long)atomic_load(&batch_count));
    buf_printf(b, "orderd_commit_batch_size_sum %llu\n",
               (unsigned long long)atomic_load(&batch_sum));
    buf_printf(b, "orderd_commit_batch_size_count %llu\n",
               (unsigned long long)atomic_load(&batch_count));
    header(b, "orderd_commit_failures_total", "counter",
           "Group-commit transactions whose COMMIT failed (every write in them got a 5xx).");
    buf_printf(b, "orderd_commit_failures_total %llu\n",
               (unsigned long long)atomic_load(&commit_failures));
    header(b, "orderd_store_writes_failing", "gauge",
           "1 while writes fail for want of the database (full disk, I/O errors): each is "
           "answered 503 until one commits again.");
    buf_printf(b, "orderd_store_writes_failing %d\n", atomic_load(&store_failing));
    header(b, "orderd_store_write_failure_episodes_total", "counter",
           "Times writes started failing for want of the database.");
    buf_printf(b, "orderd_store_write_failure_episodes_total %llu\n",
               (unsigned long long)atomic_load(&store_fail_episodes));
    header(b, "orderd_commit_queue_depth", "gauge", "Writes waiting for the committer.");
    buf_printf(b, "orderd_commit_queue_depth %lld\n", (long long)atomic_load(&queue_depth));
    header(b, "orderd_webhook_attempts_total", "counter", "Webhook delivery attempts.");
    buf_printf(b, "orderd_webhook_attempts_total{outcome=\"delivered\"} %llu\n",
               (unsigned long long)atomic_load(&wh_delivered));
    buf_printf(b, "orderd_webhook_attempts_total{outcome=\"failed\"} %llu\n",
               (unsigned long long)atomic_load(&wh_failed));
    buf_printf(b, "orderd_webhook_attempts_total{outcome=\"abandoned\"} %llu\n",
               (unsigned long long)atomic_load(&wh_abandoned));
    if (sc->backlog_ok) {
        header(b, "orderd_webhook_backlog", "gauge",
               "Webhook deliveries waiting, in every process sharing the store: not yet "
               "attempted (pending) or failed and due again (retrying).");
        buf_printf(b, "orderd_webhook_backlog{state=\"pending\"} %lld\n",
                   (long long)sc->wh_pending);
        buf_printf(b, "orderd_webhook_backlog{state=\"retrying\"} %lld\n",
                   (long long)sc->wh_retrying);
    }
    header(b, "orderd_settlement_runs_total", "counter",
           "Runs of a settlement job (Kohort groups) that settled at least one group.");
    buf_printf(b, "orderd_settlement_runs_total %llu\n",
               (unsigned long long)atomic_load(&settle_runs));
    header(b, "orderd_settlement_groups_total", "counter",
           "Payment groups this process ran a settlement transaction for (with several "
           "processes, one of them settles each group).");
    buf_printf(b, "orderd_settlement_groups_total %llu\n",
               (unsigned long long)atomic_load(&settle_groups));
}

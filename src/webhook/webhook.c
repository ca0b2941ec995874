/* SPDX-License-Identifier: MIT */
/*
 * webhook.c -- webhook delivery workers (the only includer of curl/curl.h), the
 * signature scheme, endpoint ids and secrets, and the JSON of endpoints and deliveries.
 *
 * WEBHOOK_WORKERS threads each loop: claim up to WEBHOOK_CLAIM_BATCH due deliveries (an
 * SW_CUSTOM write through the committer that leases them to this thread), POST each
 * signed with a 10 s timeout, record the attempt (again through the committer, fenced
 * by the lease), and when nothing is due, wait on a condition variable until the next
 * delivery is due, a kick (the store queued deliveries), or WEBHOOK_IDLE_MS (work queued
 * by another process sharing the database).
 */
#include "webhook/webhook.h"

#include "core/metrics.h"
#include "core/app.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "store/store.h"
#include "store/webhook_store.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WEBHOOK_WORKERS        4
#define WEBHOOK_CLAIM_BATCH    4
#define WEBHOOK_LEASE_MS       120000 /* > WEBHOOK_CLAIM_BATCH attempts of 10 s each */
#define WEBHOOK_IDLE_MS        5000   /* worker 0 looks for other processes' work this often */
#define WEBHOOK_HELPER_IDLE_MS 60000  /* the other workers, when never kicked */
#define WEBHOOK_RETRY_CAP      360    /* the delay stops doubling at 360 x base (6 h by default) */
#define WEBHOOK_OWNER_LEN      48

static const char *const known_types[] = {
    "order.created",
    "order.updated",
    "order.canceled",
    "order.cashback_available",
    "order.cashback_sent",
    "payment_group.created",
    "payment_group.joined",
    "payment_group.succeeded",
    "payment_group.expired",
    WEBHOOK_ENDPOINT_DISABLED,
    NULL,
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t threads[WEBHOOK_WORKERS];
    int n_threads;
    bool stopping;
    uint64_t gen; /* bumped by each kick */
    struct app *app;
    char owner[WEBHOOK_OWNER_LEN]; /* this process's lease token prefix */
    int64_t base_ms;               /* ORDERD_WEBHOOK_RETRY_BASE_MS */
    int disable_after;             /* ORDERD_WEBHOOK_DISABLE_AFTER */
    int64_t disable_window_ms;     /* ORDERD_WEBHOOK_DISABLE_WINDOW_MS */
} wk = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static atomic_bool stop_flag;

/* ---- ids, secrets, signatures ---- */

static void
random_hex(size_t bytes, char *out)
{
    uint8_t r[16];

    crypto_random(r, bytes);
    crypto_hex(r, bytes, out);
}

void
webhook_secret_new(char out[WEBHOOK_SECRET_LEN])
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t n = strlen("whsec_");

    memcpy(out, "whsec_", n);
    for (int i = 0; i < 32; i++)
        out[n++] = b62[crypto_random_below(62)];
    out[n] = '\0';
}

static void
time_id(const char *prefix, int64_t ms, char out[WH_ID_LEN], size_t random_bytes)
{
    char hex[33];

    random_hex(random_bytes, hex);
    snprintf(out, WH_ID_LEN, "%.4s%012llx%.20s", prefix, (unsigned long long)ms & 0xffffffffffffULL,
             hex);
}

void
webhook_endpoint_id_new(int64_t ms, char out[WH_ID_LEN])
{
    time_id("we_", ms, out, 6);
}

void
webhook_delivery_id_new(int64_t ms, char out[WH_ID_LEN])
{
    time_id("whd_", ms, out, 10);
}

static bool
hex_id(const char *s, const char *prefix, size_t n_hex)
{
    size_t p = strlen(prefix);

    return s != NULL && strncmp(s, prefix, p) == 0 && strlen(s + p) == n_hex &&
           strspn(s + p, "0123456789abcdef") == n_hex;
}

bool
webhook_is_endpoint_id(const char *s)
{
    return hex_id(s, "we_", 24);
}

bool
webhook_is_delivery_id(const char *s)
{
    return hex_id(s, "whd_", 32);
}

bool
webhook_event_type_known(const char *type)
{
    for (int i = 0; known_types[i] != NULL; i++)
        if (strcmp(known_types[i], type) == 0)
            return true;
    return false;
}

void
webhook_signature(const char *secret, int64_t t, const char *body, size_t len,
                  char out[WEBHOOK_SIGNATURE_MAX])
{
    struct buf b = {0};
    uint8_t mac[CRYPTO_HASH_LEN];
    char hex[2 * CRYPTO_HASH_LEN + 1];

    buf_printf(&b, "%lld.", (long long)t);
    buf_append(&b, body, len);
    if (b.failed) {
        out[0] = '\0';
        buf_free(&b);
        return;
    }
    crypto_hmac_sha256(secret, strlen(secret), b.data, b.len, mac);
    crypto_hex(mac, sizeof mac, hex);
    snprintf(out, WEBHOOK_SIGNATURE_MAX, "t=%lld,v1=%s", (long long)t, hex);
    buf_free(&b);
}

/* ---- JSON ---- */

static void
json_time(struct buf *b, const char *key, int64_t ms)
{
    char ts[CLOCK_RFC3339_LEN];

    if (ms <= 0) {
        buf_printf(b, ",\"%s\":null", key);
        return;
    }
    clock_format_ms(ms, ts);
    buf_printf(b, ",\"%s\":\"%s\"", key, ts);
}

static void
json_str(struct buf *b, const char *key, const char *s)
{
    buf_printf(b, ",\"%s\":", key);
    if (s == NULL)
        buf_puts(b, "null");
    else
        jsonx_quote(b, s);
}

void
webhook_endpoint_json(struct buf *b, const struct wh_endpoint *e, const char *secret)
{
    const char *p = e->events;
    bool first = true;

    buf_printf(b, "{\"id\":\"%s\",\"object\":\"webhook_endpoint\"", e->id);
    json_str(b, "url", e->url);
    json_str(b, "description", e->description);
    buf_puts(b, ",\"enabled_events\":[");
    while (*p == ',' && p[1] != '\0') {
        size_t n = strcspn(p + 1, ",");
        char type[64];
        snprintf(type, sizeof type, "%.*s", (int)(n < sizeof type ? n : sizeof type - 1), p + 1);
        if (!first)
            buf_puts(b, ",");
        jsonx_quote(b, type);
        first = false;
        p += n + 1;
    }
    buf_printf(b, "],\"livemode\":%s,\"status\":\"%s\",\"disabled\":%s",
               e->mode == MODE_LIVE ? "true" : "false", e->disabled_ms ? "disabled" : "enabled",
               e->disabled_ms ? "true" : "false");
    json_time(b, "disabled_at", e->disabled_ms);
    json_str(b, "disabled_reason",
             e->disabled_ms && e->disabled_reason[0] ? e->disabled_reason : NULL);
    buf_printf(b, ",\"consecutive_failures\":%d", e->consecutive_failures);
    json_time(b, "created_at", e->created_ms);
    json_time(b, "updated_at", e->updated_ms);
    if (secret != NULL)
        json_str(b, "secret", secret);
    buf_puts(b, "}");
}

void
webhook_delivery_json(struct buf *b, const struct wh_delivery *d)
{
    buf_printf(b,
               "{\"id\":\"%s\",\"object\":\"webhook_delivery\",\"endpoint_id\":\"%s\","
               "\"event_id\":\"%s\",\"event_type\":\"%s\",\"livemode\":%s,\"status\":\"%s\","
               "\"attempts\":%d",
               d->id, d->endpoint_id, d->event_id, d->event_type,
               d->mode == MODE_LIVE ? "true" : "false", d->status, d->attempts);
    if (d->last_status > 0)
        buf_printf(b, ",\"response_status\":%d", d->last_status);
    else
        buf_puts(b, ",\"response_status\":null");
    if (d->last_latency_ms >= 0 && d->attempts > 0)
        buf_printf(b, ",\"latency_ms\":%lld", (long long)d->last_latency_ms);
    else
        buf_puts(b, ",\"latency_ms\":null");
    json_str(b, "error", d->last_error);
    json_time(b, "last_attempt_at", d->last_attempt_ms);
    json_time(b, "next_attempt_at", strcmp(d->status, "pending") == 0 ? d->next_attempt_ms : 0);
    json_time(b, "delivered_at", d->delivered_ms);
    json_time(b, "created_at", d->created_ms);
    buf_puts(b, ",\"attempt_log\":");
    buf_puts(b, d->log != NULL ? d->log : "[]");
    buf_puts(b, "}");
}

/* ---- knobs ---- */

static int
knob(const char *name, int64_t dflt, int64_t min, int64_t max, int64_t *out)
{
    const char *v = getenv(name);
    char *end = NULL;
    long long n;

    *out = dflt;
    if (v == NULL || v[0] == '\0')
        return 0;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        log_error("webhooks: %s=%s: must be an integer from %lld to %lld", name, v, (long long)min,
                  (long long)max);
        return -1;
    }
    *out = n;
    return 0;
}

/* ---- one attempt ---- */

struct claim {
    int64_t now;
    const char *owner;
    struct wh_job *jobs;
    size_t n;
    int64_t next_due;
};

static enum store_rc
claim_tx(struct store_conn *c, void *arg)
{
    struct claim *cl = arg;

    return wh_claim(c, cl->now, cl->now + WEBHOOK_LEASE_MS, cl->owner, WEBHOOK_CLAIM_BATCH,
                    &cl->jobs, &cl->n, &cl->next_due);
}

struct record {
    struct wh_result r;
    const uint8_t *master;
    bool disabled; /* out: this attempt disabled the endpoint */
};

/* Disables a failing endpoint and writes the event that says so. */
static enum store_rc
disable_endpoint(struct store_conn *c, struct record *rec)
{
    struct wh_endpoint e;
    struct event_row ev;
    struct buf b = {0};
    enum store_rc rc;

    memset(&ev, 0, sizeof ev);
    rc = wh_endpoint_get(c, rec->r.org_id, rec->r.mode, rec->r.endpoint_id, &e);
    if (rc != STORE_OK || e.disabled_ms != 0)
        goto out;
    e.updated_ms = rec->r.now;
    rc = wh_endpoint_update(c, &e, false, true, "failing");
    if (rc != STORE_OK)
        goto out;
    e.disabled_ms = rec->r.now;
    snprintf(e.disabled_reason, sizeof e.disabled_reason, "failing");
    webhook_endpoint_json(&b, &e, NULL);
    rc = STORE_FAIL;
    if (b.failed)
        goto out;
    ids_event(rec->r.now, ev.id);
    memcpy(ev.org_id, rec->r.org_id, sizeof ev.org_id);
    ev.mode = rec->r.mode;
    snprintf(ev.type, sizeof ev.type, "%s", WEBHOOK_ENDPOINT_DISABLED);
    ev.created_ms = rec->r.now;
    ids_request(ev.request_id);
    ev.data = (char *)buf_cstr(&b);
    rc = wh_event_insert(c, &ev);
    rec->disabled = rc == STORE_OK;
out:
    wh_endpoint_free(&e);
    buf_free(&b);
    return rc;
}

static enum store_rc
record_tx(struct store_conn *c, void *arg)
{
    struct record *rec = arg;
    bool recorded;
    int failures;
    int64_t since;
    enum store_rc rc = wh_record(c, &rec->r, &recorded, &failures, &since);

    rec->disabled = false;
    if (rc == STORE_OK && recorded && !rec->r.ok && failures >= wk.disable_after &&
        rec->r.now - since >= wk.disable_window_ms)
        rc = disable_endpoint(c, rec);
    return rc;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int
progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)arg;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return atomic_load(&stop_flag) ? 1 : 0;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A short reason without internals (no library text, no addresses). */
static const char *
curl_reason(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out after 10 s";
    case CURLE_COULDNT_CONNECT:
        return "could not connect";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "could not resolve the host";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "TLS handshake or certificate verification failed";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return "the connection closed without a complete response";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return "the endpoint URL cannot be used";
    default:
        return "network error";
    }
}

/* Delay before attempt n + 1 after n failed attempts: base x 2^(n-1), capped, +-25 %. */
static int64_t
retry_delay(int failed_attempts)
{
    int shift = failed_attempts - 1 < 0 ? 0 : failed_attempts - 1;
    int64_t d = wk.base_ms, cap = wk.base_ms * WEBHOOK_RETRY_CAP;

    for (int i = 0; i < shift && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d * (750 + (int64_t)crypto_random_below(501)) / 1000;
}

/* Sends one claimed delivery and records the attempt. Returns false when it was
 * abandoned because the worker is stopping. */
static bool
deliver(CURL *curl, const struct wh_job *j, const char *owner)
{
    struct record rec;
    struct store_write w;
    struct curl_slist *hdrs = NULL;
    struct buf body = {0}, h = {0};
    char secret[WEBHOOK_SECRET_LEN + 64], sig[WEBHOOK_SIGNATURE_MAX], err[64],
        at[CLOCK_RFC3339_LEN];
    int64_t t0, now = clock_now_ms();
    long code = 0;
    CURLcode cr = CURLE_OK;
    bool sent = true;

    memset(&rec, 0, sizeof rec);
    memset(secret, 0, sizeof secret);
    err[0] = '\0';
    buf_printf(&body,
               "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"%s\",\"created\":%lld,"
               "\"livemode\":%s,\"data\":{\"object\":",
               j->event_id, j->event_type, (long long)(j->event_created_ms / 1000),
               j->mode == MODE_LIVE ? "true" : "false");
    buf_puts(&body, j->data);
    buf_puts(&body, "}}");
    if (j->secret_sealed_len <= CRYPTO_SEAL_EXTRA ||
        j->secret_sealed_len - CRYPTO_SEAL_EXTRA >= sizeof secret ||
        crypto_open(wk.app->master, j->secret_sealed, j->secret_sealed_len, secret) != 0) {
        snprintf(err, sizeof err, "the signing secret cannot be opened");
        log_error("webhooks: endpoint %s: the signing secret does not open with this master key",
                  j->endpoint_id);
        goto record;
    }
    if (body.failed) {
        snprintf(err, sizeof err, "out of memory");
        goto record;
    }
    webhook_signature(secret, now / 1000, body.data, body.len, sig);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    buf_printf(&h, "orderd-signature: %s", sig);
    hdrs = curl_slist_append(hdrs, buf_cstr(&h));
    buf_free(&h);
    buf_printf(&h, "orderd-event-id: %s", j->event_id);
    hdrs = curl_slist_append(hdrs, buf_cstr(&h));
    buf_free(&h);
    buf_printf(&h, "orderd-delivery-id: %s", j->id);
    hdrs = curl_slist_append(hdrs, buf_cstr(&h));
    buf_free(&h);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, j->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "orderd-webhooks/1");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
    t0 = mono_ms();
    cr = curl_easy_perform(curl);
    rec.r.latency_ms = mono_ms() - t0;
    if (cr == CURLE_ABORTED_BY_CALLBACK && atomic_load(&stop_flag)) {
        sent = false; /* left to the lease release at stop: made again later */
        metrics_webhook("abandoned");
        goto out;
    }
    if (cr == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299)
            snprintf(err, sizeof err, "the endpoint answered HTTP %ld", code);
    } else {
        snprintf(err, sizeof err, "%s", curl_reason(cr));
    }
record:
    now = clock_now_ms();
    clock_format_ms(now, at);
    memcpy(rec.r.id, j->id, sizeof rec.r.id);
    memcpy(rec.r.org_id, j->org_id, sizeof rec.r.org_id);
    rec.r.mode = j->mode;
    memcpy(rec.r.endpoint_id, j->endpoint_id, sizeof rec.r.endpoint_id);
    rec.r.owner = owner;
    rec.r.ok = err[0] == '\0';
    metrics_webhook(rec.r.ok ? "delivered" : "failed");
    rec.r.now = now;
    rec.r.response_status = (int)code;
    rec.r.error = rec.r.ok ? NULL : err;
    rec.r.attempted_at = at;
    if (!rec.r.ok) {
        rec.r.next_attempt_ms = now + retry_delay(j->attempts + 1);
        if (rec.r.next_attempt_ms > j->created_ms + WEBHOOK_RETRY_FOR_MS)
            rec.r.next_attempt_ms = 0; /* give up: failed */
    }
    memset(&w, 0, sizeof w);
    w.kind = SW_CUSTOM;
    w.custom = record_tx;
    w.hook_arg = &rec;
    if (store_write_wait(wk.app->store, &w) != STORE_OK)
        log_error("webhooks: cannot record delivery %s (rc %d); it will be made again", j->id,
                  (int)w.rc);
    else if (rec.disabled)
        log_info("webhooks: endpoint %s disabled after %d failed attempts", j->endpoint_id,
                 wk.disable_after);
out:
    crypto_random(secret, sizeof secret); /* scrub */
    curl_slist_free_all(hdrs);
    buf_free(&body);
    return sent;
}

/* ---- workers ---- */

static void *
worker_main(void *arg)
{
    char owner[WEBHOOK_OWNER_LEN + 8];
    struct claim cl;
    struct store_write w;
    struct timespec ts;
    CURL *curl = curl_easy_init();
    uint64_t seen;
    int64_t deadline, now;
    bool stopping;
    int index = (int)(intptr_t)arg;

    snprintf(owner, sizeof owner, "%s-%d", wk.owner, index);
    if (curl == NULL) {
        log_error("webhooks: cannot initialise libcurl; this worker stops");
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&wk.lock);
        seen = wk.gen;
        stopping = wk.stopping;
        pthread_mutex_unlock(&wk.lock);
        if (stopping)
            break;
        memset(&cl, 0, sizeof cl);
        memset(&w, 0, sizeof w);
        cl.now = clock_now_ms();
        cl.owner = owner;
        w.kind = SW_CUSTOM;
        w.custom = claim_tx;
        w.hook_arg = &cl;
        if (store_write_wait(wk.app->store, &w) != STORE_OK) {
            wh_jobs_free(cl.jobs, cl.n);
            cl.jobs = NULL;
            cl.n = 0;
            cl.next_due = cl.now + 1000; /* store trouble: look again in a second */
        }
        if (cl.n == WEBHOOK_CLAIM_BATCH)
            webhook_kick(); /* more may be due: wake another worker */
        for (size_t i = 0; i < cl.n; i++)
            if (atomic_load(&stop_flag) || !deliver(curl, &cl.jobs[i], owner))
                break;
        wh_jobs_free(cl.jobs, cl.n);
        if (cl.n > 0)
            continue; /* results change what is due next: claim again */
        /* Worker 0 keeps time (retries coming due, other processes' work) and kicks the
         * others when there is more than a batch; they wait for kicks, with a long
         * safety deadline, so that a due retry does not wake every worker at once. */
        now = clock_now_ms();
        deadline = now + (index == 0 ? WEBHOOK_IDLE_MS : WEBHOOK_HELPER_IDLE_MS);
        if (index == 0 && cl.next_due > 0 && cl.next_due < deadline)
            deadline = cl.next_due > now ? cl.next_due : now + 100;
        pthread_mutex_lock(&wk.lock);
        while (!wk.stopping && wk.gen == seen && clock_now_ms() < deadline) {
            ts.tv_sec = (time_t)(deadline / 1000);
            ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
            pthread_cond_timedwait(&wk.cond, &wk.lock, &ts);
        }
        pthread_mutex_unlock(&wk.lock);
    }
    /* the caller releases what this worker holds (an abandoned attempt, the rest of a
     * batch) under this token, so that it is due again at once */
    curl_easy_cleanup(curl);
    return strdup(owner);
}

static enum store_rc
release_tx(struct store_conn *c, void *arg)
{
    return wh_release(c, arg);
}

void
webhook_kick(void)
{
    pthread_mutex_lock(&wk.lock);
    wk.gen++;
    pthread_cond_signal(&wk.cond);
    pthread_mutex_unlock(&wk.lock);
}

int
webhook_start(struct app *app)
{
    int64_t after = 0;

    if (knob("ORDERD_WEBHOOK_RETRY_BASE_MS", 60000, 1, 3600000, &wk.base_ms) != 0 ||
        knob("ORDERD_WEBHOOK_DISABLE_AFTER", 15, 1, 100000, &after) != 0 ||
        knob("ORDERD_WEBHOOK_DISABLE_WINDOW_MS", 24LL * 3600 * 1000, 0, WEBHOOK_RETRY_FOR_MS,
             &wk.disable_window_ms) != 0)
        return -1;
    wk.disable_after = (int)after;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("webhooks: cannot initialise libcurl");
        return -1;
    }
    wk.app = app;
    wk.stopping = false;
    atomic_store(&stop_flag, false);
    random_hex(8, wk.owner);
    wh_store_set_notify(webhook_kick);
    for (intptr_t i = 0; i < WEBHOOK_WORKERS; i++) {
        if (pthread_create(&wk.threads[i], NULL, worker_main, (void *)i) != 0) {
            log_error("webhooks: cannot start a delivery worker");
            webhook_stop();
            return -1;
        }
        wk.n_threads++;
    }
    return 0;
}

void
webhook_stop(void)
{
    struct store_write w;
    void *owner;

    if (wk.app == NULL)
        return;
    wh_store_set_notify(NULL);
    pthread_mutex_lock(&wk.lock);
    wk.stopping = true;
    pthread_cond_broadcast(&wk.cond);
    pthread_mutex_unlock(&wk.lock);
    atomic_store(&stop_flag, true);
    for (int i = 0; i < wk.n_threads; i++) {
        owner = NULL;
        pthread_join(wk.threads[i], &owner);
        if (owner == NULL)
            continue;
        memset(&w, 0, sizeof w);
        w.kind = SW_CUSTOM;
        w.custom = release_tx;
        w.hook_arg = owner;
        if (store_write_wait(wk.app->store, &w) != STORE_OK)
            log_error("webhooks: cannot release leases at stop; they expire in %d s",
                      WEBHOOK_LEASE_MS / 1000);
        free(owner);
    }
    wk.n_threads = 0;
    curl_global_cleanup();
    wk.app = NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * webhook_store.h -- signed webhooks' rows, backend-neutral: endpoints (per org and
 * mode, secret sealed with the master key) and deliveries (one per endpoint and event,
 * queued in the same transaction as the event: the transactional outbox). Every call
 * runs on a connection from store_ops.read (reads) or inside an SW_CUSTOM write, so
 * several calls compose into one transaction. The SQL is in store/<backend>/webhooks.c.
 * Members documented "owned" are malloc'd; free a row with its *_free function.
 */
#ifndef ORDERD_WEBHOOK_STORE_H
#define ORDERD_WEBHOOK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define WH_ID_LEN     40  /* "we_" + 24 hex, "whd_" + 32 hex, + NUL, with room */
#define WH_EVENTS_LEN 640 /* ",order.created,order.updated," */
#define WH_STATUS_LEN 16

struct wh_endpoint {
    char id[WH_ID_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char *url;                  /* owned */
    char *description;          /* owned or NULL */
    char events[WH_EVENTS_LEN]; /* comma-framed list: ",a,b," or ",*," */
    uint8_t *secret_sealed;     /* owned; the signing secret sealed with the master key */
    size_t secret_sealed_len;
    int64_t created_ms, updated_ms;
    int64_t disabled_ms; /* 0: enabled */
    char disabled_reason[32];
    int consecutive_failures;
    int64_t failing_since_ms; /* 0: not failing */
};

struct wh_delivery {
    char id[WH_ID_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char endpoint_id[WH_ID_LEN];
    char event_id[IDS_EVENT_LEN];
    char event_type[32];
    char status[WH_STATUS_LEN]; /* pending, delivered, failed */
    int attempts;
    int64_t next_attempt_ms;                                       /* 0: none */
    int64_t created_ms, updated_ms, delivered_ms, last_attempt_ms; /* 0: not set */
    int last_status;         /* receiver's HTTP status; 0: none */
    int64_t last_latency_ms; /* -1: none */
    char *last_error;        /* owned or NULL */
    char *log;               /* owned: JSON array text of the attempts */
};

/* A claimed delivery, with what the worker needs to send it. */
struct wh_job {
    char id[WH_ID_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char endpoint_id[WH_ID_LEN];
    char event_id[IDS_EVENT_LEN];
    char event_type[32];
    int attempts;             /* before this one */
    int64_t created_ms;       /* the delivery's */
    int64_t event_created_ms; /* the event's */
    char *url;                /* owned */
    uint8_t *secret_sealed;   /* owned */
    size_t secret_sealed_len;
    char *data; /* owned: the event's data (order body JSON text) */
};

/* The outcome of one attempt. */
struct wh_result {
    char id[WH_ID_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char endpoint_id[WH_ID_LEN];
    const char *owner; /* the lease token: a stale worker's result is dropped */
    bool ok;
    int64_t now;
    int64_t next_attempt_ms; /* !ok: 0 means give up (status failed) */
    int response_status;     /* 0: no answer */
    int64_t latency_ms;
    const char *error;        /* NULL when ok */
    const char *attempted_at; /* RFC 3339 */
};

/* Called (from the committer thread, before COMMIT) whenever deliveries were queued, so
 * that the worker can wake; it must not block. NULL: nobody to tell. */
void wh_store_set_notify(void (*fn)(void));

enum store_rc wh_endpoint_insert(struct store_conn *c, const struct wh_endpoint *e);
enum store_rc wh_endpoint_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                              const char *id, struct wh_endpoint *out);
/* Every endpoint of the org and mode, newest first. */
enum store_rc wh_endpoint_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                               struct wh_endpoint **rows, size_t *n);
enum store_rc wh_endpoint_count(struct store_conn *c, const char *org_id, enum key_mode mode,
                                int *n);
/* The delivery backlog of every org (for GET /metrics): deliveries still to be made,
 * split into those never attempted and those waiting to be retried. */
enum store_rc wh_backlog(struct store_conn *c, int64_t *pending, int64_t *retrying);
/* Writes url, description, events, updated_ms. reenable: clears disabled_ms and the
 * failure streak and makes the endpoint's pending deliveries due now; disable: sets
 * disabled_ms with reason. */
enum store_rc wh_endpoint_update(struct store_conn *c, const struct wh_endpoint *e, bool reenable,
                                 bool disable, const char *reason);
/* Deletes the endpoint and its deliveries. STORE_NOT_FOUND when absent. */
enum store_rc wh_endpoint_delete(struct store_conn *c, const char *org_id, enum key_mode mode,
                                 const char *id);

/* Inserts an event (not an order's: those go through the core write path) and queues
 * its deliveries. */
enum store_rc wh_event_insert(struct store_conn *c, const struct event_row *e);

/* Leases up to limit due deliveries of enabled endpoints to owner until lease_until;
 * *next_due: when the next pending one (not leased) becomes due, 0 when none. */
enum store_rc wh_claim(struct store_conn *c, int64_t now, int64_t lease_until, const char *owner,
                       int limit, struct wh_job **jobs, size_t *n, int64_t *next_due);
void wh_jobs_free(struct wh_job *jobs, size_t n);
/* Records an attempt. *recorded is false when the lease was lost (nothing written).
 * On a failure, *failures and *failing_since are the endpoint's streak after it. */
enum store_rc wh_record(struct store_conn *c, const struct wh_result *r, bool *recorded,
                        int *failures, int64_t *failing_since);
/* Releases every lease owner holds (clean stop). */
enum store_rc wh_release(struct store_conn *c, const char *owner);

/* Deliveries of one endpoint, newest first, cursor paging by delivery id. */
enum store_rc wh_delivery_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                               const char *endpoint_id, const char *starting_after,
                               const char *ending_before, int limit, struct wh_delivery **rows,
                               size_t *n, bool *has_more);
enum store_rc wh_delivery_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                              const char *endpoint_id, const char *id, struct wh_delivery *out);
/* Queues a new delivery (new_id, due now) of the event of delivery id to its endpoint. */
enum store_rc wh_redeliver(struct store_conn *c, const char *org_id, enum key_mode mode,
                           const char *endpoint_id, const char *id, const char *new_id,
                           int64_t now);

void wh_endpoint_free(struct wh_endpoint *e);
void wh_endpoints_free(struct wh_endpoint *rows, size_t n);
void wh_delivery_free(struct wh_delivery *d);
void wh_deliveries_free(struct wh_delivery *rows, size_t n);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * webhook.h -- signed webhooks: the delivery workers (libcurl, included in
 * src/webhook/ only), the signature scheme, ids and secrets of endpoints, and the JSON
 * of an endpoint and of a delivery. Deliveries are queued by the store in the
 * transaction that writes the event (store/webhook_store.h); the workers claim them
 * with a lease, POST them signed, and record each attempt (docs/webhooks.md).
 */
#ifndef ORDERD_WEBHOOK_H
#define ORDERD_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/webhook_store.h"

struct app;

#define WEBHOOK_SECRET_LEN        48 /* "whsec_" + 32 base62 + NUL, with room */
#define WEBHOOK_MAX_ENDPOINTS     16 /* per org and mode */
#define WEBHOOK_URL_MAX           2048
#define WEBHOOK_DESCRIPTION_MAX   500
#define WEBHOOK_MAX_EVENT_TYPES   16
#define WEBHOOK_TIMEOUT_MS        10000
#define WEBHOOK_RETRY_FOR_MS      (3LL * 24 * 3600 * 1000)
#define WEBHOOK_SIGNATURE_MAX     96 /* "t=<10 digits>,v1=<64 hex>" + NUL, with room */
#define WEBHOOK_ENDPOINT_DISABLED "webhook_endpoint.disabled"

/* Reads the ORDERD_WEBHOOK_* knobs and starts the workers. Returns 0, or -1 (logged)
 * when a knob is malformed or a thread cannot start. */
int webhook_start(struct app *app);
/* Stops the workers: an attempt in flight is abandoned and its delivery released, to be
 * made again. */
void webhook_stop(void);
/* Wakes a worker: deliveries were queued. Never blocks for long; safe from any thread. */
void webhook_kick(void);

void webhook_secret_new(char out[WEBHOOK_SECRET_LEN]);
/* "we_" / "whd_" + 12 hex digits of ms + random hex: ids sort by creation time. */
void webhook_endpoint_id_new(int64_t ms, char out[WH_ID_LEN]);
void webhook_delivery_id_new(int64_t ms, char out[WH_ID_LEN]);
bool webhook_is_endpoint_id(const char *s);
bool webhook_is_delivery_id(const char *s);
/* Known event types a subscription may name ("*" is handled by the caller). */
bool webhook_event_type_known(const char *type);
/* "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>". */
void webhook_signature(const char *secret, int64_t t, const char *body, size_t len,
                       char out[WEBHOOK_SIGNATURE_MAX]);
/* The JSON of an endpoint; secret (shown once, at creation) or NULL. */
void webhook_endpoint_json(struct buf *b, const struct wh_endpoint *e, const char *secret);
void webhook_delivery_json(struct buf *b, const struct wh_delivery *d);

#endif

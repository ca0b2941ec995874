/* SPDX-License-Identifier: MIT */
/*
 * cherry_store.h -- the Cherry Checkout API's own rows, backend-neutral: the accepted
 * authenticated requests (timestamp replay rule) and the merchant's plugin information
 * (PUT /v2/app/me). Implemented per backend (store/sqlite/cherry.c).
 */
#ifndef ORDERD_CHERRY_STORE_H
#define ORDERD_CHERRY_STORE_H

#include "store/store.h"

/* One authenticated request, as the replay rule sees it. */
struct cherry_seen {
    uint8_t key[CRYPTO_HASH_LEN]; /* SHA-256 of the publishable key */
    int64_t ts;                   /* the request's timestamp header, Unix seconds */
    char method[8];
    char path[160]; /* the vendor path ("/v2/orders"), without mount prefix */
    uint8_t body_hash[CRYPTO_HASH_LEN];
};

enum cherry_verdict {
    CHERRY_FRESH = 0,  /* acceptable */
    CHERRY_OLD = 1,    /* more than the window older than the newest accepted */
    CHERRY_REPLAY = 2, /* the same request was already accepted */
};

/* Read side (no write): would r be accepted now? */
enum store_rc cherry_store_seen_check(struct store *s, const struct cherry_seen *r, int window,
                                      enum cherry_verdict *verdict);
/* Inside a write transaction: refuses r (verdict not CHERRY_FRESH, rc STORE_CONFLICT) or
 * records it and raises the key's newest timestamp. */
enum store_rc cherry_store_seen_record(struct store_conn *c, const struct cherry_seen *r,
                                       int window, enum cherry_verdict *verdict);

/* The id of the Cherry order with this trackId (external id) in the org and mode, or
 * STORE_NOT_FOUND. One index probe (the list query's optional filters would scan). */
enum store_rc cherry_store_order_find(struct store *s, const char *org_id, enum key_mode mode,
                                      const char *track_id, char id[IDS_UUID_LEN]);

/* The merchant's plugin information (JSON object text, malloc'd) or STORE_NOT_FOUND. */
enum store_rc cherry_store_app_get(struct store *s, const char *org_id, enum key_mode mode,
                                   char **info);
/* The same inside a write transaction. */
enum store_rc cherry_store_app_get_on(struct store_conn *c, const char *org_id, enum key_mode mode,
                                      char **info);
/* Inside a write transaction: stores it. */
enum store_rc cherry_store_app_put(struct store_conn *c, const char *org_id, enum key_mode mode,
                                   const char *info, int64_t now_ms);

#endif

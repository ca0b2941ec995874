/* SPDX-License-Identifier: MIT */
/*
 * dashboard_store.h -- the merchant dashboard's rows and queries, backend-neutral:
 * sign-in sessions (kept server-side, looked up by the SHA-256 of the cookie's token,
 * so that several orderd processes on one database share them), the orders list with
 * its search, and the chart aggregates (GROUP BY over an indexed created_ms range).
 * Every call runs on a connection from store_ops.read (reads) or inside an SW_CUSTOM
 * write. The SQL is in store/<backend>/dashboard.c.
 */
#ifndef ORDERD_DASHBOARD_STORE_H
#define ORDERD_DASHBOARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct dash_session {
    uint8_t token_hash[CRYPTO_HASH_LEN]; /* SHA-256 of the cookie's token */
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;                  /* the mode of the key signed in with */
    uint8_t key_hash[CRYPTO_HASH_LEN];   /* that key: the session ends when it does */
    bool has_other;                      /* the other mode's secret key was given too */
    uint8_t other_hash[CRYPTO_HASH_LEN]; /* ... its hash */
    bool other_ok;                       /* read: that key is still valid */
    int64_t created_ms, seen_ms, expires_ms;
};

/* A page of the orders list; NULL members do not filter. */
struct dash_order_query {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *status, *dialect;
    const char *search; /* an external id, a customer e-mail (lower case), an id or short id */
    const char *search_email;
    bool has_gte, has_lte;
    int64_t created_gte, created_lte;
    const char *starting_after, *ending_before; /* order ids */
    int limit;
};

/* One group of the chart aggregates. */
struct dash_stat_row {
    int64_t bucket; /* (created_ms - from) / bucket_ms */
    char dialect[16];
    char currency[4];
    int64_t orders;
    int64_t revenue; /* total_amount of the orders that are not canceled, minor units */
};

enum store_rc dash_session_insert(struct store_conn *c, const struct dash_session *s);
/* The session whose token hashes to token_hash, unexpired at now and whose key is still
 * valid (not revoked, not expired); STORE_NOT_FOUND otherwise. */
enum store_rc dash_session_get(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN],
                               int64_t now, struct dash_session *out);
/* Sliding expiry: records a use at seen_ms, the session now ends at expires_ms. */
enum store_rc dash_session_touch(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN],
                                 int64_t seen_ms, int64_t expires_ms);
enum store_rc dash_session_delete(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN]);
/* Deletes every session that expired before now. */
enum store_rc dash_session_purge(struct store_conn *c, int64_t now);

/* A page of orders, newest first (bodies left empty: the list needs the columns only). */
enum store_rc dash_order_list(struct store_conn *c, const struct dash_order_query *q,
                              struct order_row **rows, size_t *n, bool *has_more);
/* The grain of the aggregates: from, to and bucket_ms are multiples of it. */
#define DASH_STATS_GRAIN_MS (15 * 60 * 1000)

/* Orders and revenue of org and mode created in [from, to), grouped by bucket of
 * bucket_ms, dialect and currency. *rows is malloc'd; the caller frees it. */
enum store_rc dash_stats(struct store_conn *c, const char *org_id, enum key_mode mode, int64_t from,
                         int64_t to, int64_t bucket_ms, struct dash_stat_row **rows, size_t *n);

#endif

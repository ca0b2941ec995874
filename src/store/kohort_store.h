/* SPDX-License-Identifier: MIT */
/*
 * kohort_store.h -- the Kohort API's own rows (payment groups, customers, and one link
 * row per Kohort order), backend-neutral. Every call runs on a connection the caller
 * got from store_ops.read (reads) or inside a write (store_write before/after/custom
 * hooks), so several calls compose into one transaction. The SQL is in
 * store/<backend>/kohort.c. Text members documented "owned" are malloc'd; free a row
 * with its *_free function.
 */
#ifndef ORDERD_KOHORT_STORE_H
#define ORDERD_KOHORT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define KOHORT_ID_LEN     24 /* "cus_" / "pg_" + 14 chars + NUL, with room */
#define KOHORT_SHARE_LEN  32 /* "KHT-test-" + 8 chars + NUL, with room */
#define KOHORT_STATUS_LEN 24

struct kohort_group {
    char id[KOHORT_ID_LEN];
    char share_id[KOHORT_SHARE_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char status[KOHORT_STATUS_LEN]; /* OPEN, COMPLETED, EXPIRED, CANCELED */
    char customer_id[KOHORT_ID_LEN];
    char *creator_email;              /* owned or NULL */
    char creator_order[IDS_UUID_LEN]; /* "" when the group was created without an order */
    char *metadata;                   /* owned: JSON object text */
    char *settings;                   /* owned: JSON text of the settings snapshot */
    int max_participants;
    int64_t min_amount;
    int n_orders;
    int64_t expires_ms, created_ms, updated_ms;
    int64_t canceled_ms, completed_ms; /* 0: not set */
};

struct kohort_customer {
    char id[KOHORT_ID_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char *email, *first_name, *last_name, *phone, *locale, *client_ref; /* owned or NULL */
    char *metadata;                                                     /* owned JSON text */
    bool blocked;
    int64_t blocked_ms, deleted_ms, created_ms, updated_ms; /* 0: not set */
};

/* One Kohort order's searchable facts (the order itself is the core order row). */
struct kohort_link {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char order_id[IDS_UUID_LEN];
    char group_id[KOHORT_ID_LEN];
    char customer_id[KOHORT_ID_LEN];
    const char *customer_email; /* borrowed, lower case */
    const char *customer_phone; /* borrowed or NULL */
    const char *client_ref;     /* borrowed or NULL */
    char status[KOHORT_STATUS_LEN];
    int64_t amount;
    int64_t created_ms;
};

/* Conditions of kohort_group_close. */
enum kohort_close_when {
    KG_BEFORE_EXPIRY,      /* cancel: open and not yet expired */
    KG_AFTER_EXPIRY,       /* settle: open and expired */
    KG_AFTER_EXPIRY_ALONE, /* manual expire: open, expired, at most one order */
};

/* A list page: skip/take, one sort column and direction, and filters. */
enum kohort_cmp { KC_EQ, KC_NE, KC_LIKE, KC_GT, KC_GE, KC_LT, KC_LE };

struct kohort_cond {
    const char *column; /* one of the whitelisted column names of the list */
    enum kohort_cmp cmp;
    bool is_int;
    int64_t i;
    const char *s;
};

#define KOHORT_MAX_CONDS 8

struct kohort_list_query {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    int skip, take;
    const char *order_col; /* whitelisted column */
    bool desc;
    struct kohort_cond cond[KOHORT_MAX_CONDS];
    int n_cond;
    bool any; /* conditions joined with OR instead of AND */
};

/* Groups */
enum store_rc kohort_group_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                               const char *id_or_share, struct kohort_group *out);
enum store_rc kohort_group_insert(struct store_conn *c, const struct kohort_group *g);
/* Adds one order to an open, unexpired, not full group. STORE_CONFLICT when the group
 * is not joinable (the caller reads it again to say why). */
enum store_rc kohort_group_join(struct store_conn *c, const char *org_id, enum key_mode mode,
                                const char *group_id, int64_t now_ms);
/* Writes metadata and creator_email of g (updated_ms too). */
enum store_rc kohort_group_update(struct store_conn *c, const struct kohort_group *g);
/* Moves an OPEN group to status when `when` holds; *changed tells whether it did. */
enum store_rc kohort_group_close(struct store_conn *c, const char *org_id, enum key_mode mode,
                                 const char *group_id, const char *status,
                                 enum kohort_close_when when, int64_t now_ms, bool *changed);
/* Columns: created_at, updated_at, expires_at, status, share_id, customer_id,
 * creator_email. */
enum store_rc kohort_group_list(struct store_conn *c, const struct kohort_list_query *q,
                                struct kohort_group **rows, size_t *n, int64_t *count);
/* Open groups of every org whose expiry is at or before now_ms (at most limit). */
enum store_rc kohort_groups_due(struct store_conn *c, int64_t now_ms, int limit,
                                struct kohort_group **rows, size_t *n);
/* Earliest expiry of any open group; *found false when there is none. */
enum store_rc kohort_groups_next_expiry(struct store_conn *c, int64_t *ms, bool *found);
void kohort_group_free(struct kohort_group *g);
void kohort_groups_free(struct kohort_group *g, size_t n);

/* Customers */
enum store_rc kohort_customer_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                  const char *id, struct kohort_customer *out);
enum store_rc kohort_customer_by_email(struct store_conn *c, const char *org_id, enum key_mode mode,
                                       const char *email, struct kohort_customer *out);
/* STORE_CONFLICT on a duplicate e-mail or client reference. */
enum store_rc kohort_customer_insert(struct store_conn *c, const struct kohort_customer *cu);
/* Writes every member of cu over the stored row (STORE_CONFLICT on a duplicate). */
enum store_rc kohort_customer_update(struct store_conn *c, const struct kohort_customer *cu);
/* Columns: created_at, updated_at, email_address, first_name, last_name,
 * client_reference_id, is_blocked. Soft-deleted customers are listed too. */
enum store_rc kohort_customer_list(struct store_conn *c, const struct kohort_list_query *q,
                                   struct kohort_customer **rows, size_t *n, int64_t *count);
void kohort_customer_free(struct kohort_customer *cu);
void kohort_customers_free(struct kohort_customer *cu, size_t n);

/* Orders */
enum store_rc kohort_link_insert(struct store_conn *c, const struct kohort_link *l);
/* Is email (lower case) already an order of the group? */
enum store_rc kohort_link_email_used(struct store_conn *c, const char *org_id, enum key_mode mode,
                                     const char *group_id, const char *email, bool *used);
enum store_rc kohort_link_set_status(struct store_conn *c, const char *org_id, enum key_mode mode,
                                     const char *order_id, const char *status,
                                     int64_t amount_cashback);
/* Order ids of a group, oldest first (caller frees *ids). */
enum store_rc kohort_group_order_ids(struct store_conn *c, const char *org_id, enum key_mode mode,
                                     const char *group_id, char (**ids)[IDS_UUID_LEN], size_t *n);
/* Kohort orders (core rows) of a list query. Columns: created_at, updated_at, amount,
 * amount_cashback, status, client_reference_id, customer_email, customer_id,
 * payment_group_id. group_id, when not NULL, restricts to one group. */
enum store_rc kohort_order_list(struct store_conn *c, const struct kohort_list_query *q,
                                const char *group_id, struct order_row **rows, size_t *n,
                                int64_t *count);
/* The core order row on this connection (inside a write: the committed state). */
enum store_rc kohort_order_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                               const char *id, struct order_row *out);
/* Writes next over the order whose version is still cur_version (STORE_CONFLICT if not). */
enum store_rc kohort_order_update(struct store_conn *c, const struct order_row *next,
                                  int64_t cur_version);
/* Appends an event to the order event log (group events use the creator order's id)
 * and queues its webhook deliveries in the same transaction. */
enum store_rc kohort_event_insert(struct store_conn *c, const struct event_row *e);

/* Risk inputs: orders of this org and mode since since_ms with this e-mail (any API) and
 * with this phone (Kohort orders); and the mean total of the org's last 500 orders with
 * how many there were. */
enum store_rc kohort_risk_stats(struct store_conn *c, const char *org_id, enum key_mode mode,
                                const char *email, const char *phone, int64_t since_ms,
                                int *n_email, int *n_phone, int64_t *mean_amount, int *n_history);

#endif

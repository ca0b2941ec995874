/* SPDX-License-Identifier: MIT */
/*
 * store_pg_api.h -- the PostgreSQL implementations of the per-API store calls
 * (store/<api>_store.h), named <api>_pg_*; store/<api>_store.c dispatches to them.
 */
#ifndef ORDERD_STORE_PG_API_H
#define ORDERD_STORE_PG_API_H

#include "store/cherry_store.h"
#include "store/dropday_store.h"
#include "store/threekit_store.h"
#include "store/kohort_store.h"
#include "store/webhook_store.h"
#include "store/dashboard_store.h"

/* cherry_store.h */
enum store_rc cherry_pg_seen_check(struct store *s, const struct cherry_seen *r, int window,
                                   enum cherry_verdict *verdict);
enum store_rc cherry_pg_seen_record(struct store_conn *c, const struct cherry_seen *r, int window,
                                    enum cherry_verdict *verdict);
enum store_rc cherry_pg_order_find(struct store *s, const char *org_id, enum key_mode mode,
                                   const char *track_id, char id[IDS_UUID_LEN]);
enum store_rc cherry_pg_app_get(struct store *s, const char *org_id, enum key_mode mode,
                                char **info);
enum store_rc cherry_pg_app_get_on(struct store_conn *c, const char *org_id, enum key_mode mode,
                                   char **info);
enum store_rc cherry_pg_app_put(struct store_conn *c, const char *org_id, enum key_mode mode,
                                const char *info, int64_t now_ms);

/* dropday_store.h */
enum store_rc dropday_pg_next_reference(struct store_conn *c, const char *org_id,
                                        enum key_mode mode, int64_t *ref);
enum store_rc dropday_pg_supplier_id(struct store_conn *c, const char *org_id, enum key_mode mode,
                                     const char *name, int64_t *id);
enum store_rc dropday_pg_order_insert(struct store_conn *c, const struct dropday_order_rec *r,
                                      const int64_t *supplier_ids, size_t n_suppliers);
enum store_rc dropday_pg_product_upsert(struct store_conn *c, const char *org_id,
                                        enum key_mode mode, const struct dropday_product_rec *p,
                                        int64_t now_ms);
enum store_rc dropday_pg_reference_of(struct store_conn *c, const char *org_id, enum key_mode mode,
                                      const char *order_id, int64_t *ref);
enum store_rc dropday_pg_order_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                   int64_t ref, struct dropday_hit *out);
enum store_rc dropday_pg_order_list(struct store_conn *c, const struct dropday_query *q,
                                    struct dropday_hit **hits, size_t *n, int64_t *total);
enum store_rc dropday_pg_product_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                                      int64_t limit, int64_t offset,
                                      struct dropday_product_rec **rows, size_t *n, int64_t *total);

/* threekit_store.h */
enum store_rc threekit_pg_list(struct store *s, const struct threekit_list_query *q,
                               struct order_row **rows, size_t *n, int64_t *count);

/* kohort_store.h */
enum store_rc kohort_pg_group_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                  const char *id_or_share, struct kohort_group *out);
enum store_rc kohort_pg_group_insert(struct store_conn *c, const struct kohort_group *g);
enum store_rc kohort_pg_group_join(struct store_conn *c, const char *org_id, enum key_mode mode,
                                   const char *group_id, int64_t now_ms);
enum store_rc kohort_pg_group_update(struct store_conn *c, const struct kohort_group *g);
enum store_rc kohort_pg_group_close(struct store_conn *c, const char *org_id, enum key_mode mode,
                                    const char *group_id, const char *status,
                                    enum kohort_close_when when, int64_t now_ms, bool *changed);
enum store_rc kohort_pg_group_list(struct store_conn *c, const struct kohort_list_query *q,
                                   struct kohort_group **rows, size_t *n, int64_t *count);
enum store_rc kohort_pg_groups_due(struct store_conn *c, int64_t now_ms, int limit,
                                   struct kohort_group **rows, size_t *n);
enum store_rc kohort_pg_groups_next_expiry(struct store_conn *c, int64_t *ms, bool *found);
enum store_rc kohort_pg_customer_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                     const char *id, struct kohort_customer *out);
enum store_rc kohort_pg_customer_by_email(struct store_conn *c, const char *org_id,
                                          enum key_mode mode, const char *email,
                                          struct kohort_customer *out);
enum store_rc kohort_pg_customer_insert(struct store_conn *c, const struct kohort_customer *cu);
enum store_rc kohort_pg_customer_update(struct store_conn *c, const struct kohort_customer *cu);
enum store_rc kohort_pg_customer_list(struct store_conn *c, const struct kohort_list_query *q,
                                      struct kohort_customer **rows, size_t *n, int64_t *count);
enum store_rc kohort_pg_link_insert(struct store_conn *c, const struct kohort_link *l);
enum store_rc kohort_pg_link_email_used(struct store_conn *c, const char *org_id,
                                        enum key_mode mode, const char *group_id, const char *email,
                                        bool *used);
enum store_rc kohort_pg_link_set_status(struct store_conn *c, const char *org_id,
                                        enum key_mode mode, const char *order_id,
                                        const char *status, int64_t amount_cashback);
enum store_rc kohort_pg_group_order_ids(struct store_conn *c, const char *org_id,
                                        enum key_mode mode, const char *group_id,
                                        char (**ids)[IDS_UUID_LEN], size_t *n);
enum store_rc kohort_pg_order_list(struct store_conn *c, const struct kohort_list_query *q,
                                   const char *group_id, struct order_row **rows, size_t *n,
                                   int64_t *count);
enum store_rc kohort_pg_order_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                  const char *id, struct order_row *out);
enum store_rc kohort_pg_order_update(struct store_conn *c, const struct order_row *next,
                                     int64_t cur_version);
enum store_rc kohort_pg_event_insert(struct store_conn *c, const struct event_row *e);
enum store_rc kohort_pg_risk_stats(struct store_conn *c, const char *org_id, enum key_mode mode,
                                   const char *email, const char *phone, int64_t since_ms,
                                   int *n_email, int *n_phone, int64_t *mean_amount,
                                   int *n_history);

/* webhook_store.h */
enum store_rc wh_pg_endpoint_insert(struct store_conn *c, const struct wh_endpoint *e);
enum store_rc wh_pg_endpoint_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                 const char *id, struct wh_endpoint *out);
enum store_rc wh_pg_endpoint_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                                  struct wh_endpoint **rows, size_t *n);
enum store_rc wh_pg_endpoint_count(struct store_conn *c, const char *org_id, enum key_mode mode,
                                   int *n);
enum store_rc wh_pg_backlog(struct store_conn *c, int64_t *pending, int64_t *retrying);
enum store_rc wh_pg_endpoint_update(struct store_conn *c, const struct wh_endpoint *e,
                                    bool reenable, bool disable, const char *reason);
enum store_rc wh_pg_endpoint_delete(struct store_conn *c, const char *org_id, enum key_mode mode,
                                    const char *id);
enum store_rc wh_pg_event_insert(struct store_conn *c, const struct event_row *e);
enum store_rc wh_pg_claim(struct store_conn *c, int64_t now, int64_t lease_until, const char *owner,
                          int limit, struct wh_job **jobs, size_t *n, int64_t *next_due);
enum store_rc wh_pg_record(struct store_conn *c, const struct wh_result *r, bool *recorded,
                           int *failures, int64_t *failing_since);
enum store_rc wh_pg_release(struct store_conn *c, const char *owner);
enum store_rc wh_pg_delivery_list(struct store_conn *c, const char *org_id, enum key_mode mode,
                                  const char *endpoint_id, const char *starting_after,
                                  const char *ending_before, int limit, struct wh_delivery **rows,
                                  size_t *n, bool *has_more);
enum store_rc wh_pg_delivery_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                                 const char *endpoint_id, const char *id, struct wh_delivery *out);
enum store_rc wh_pg_redeliver(struct store_conn *c, const char *org_id, enum key_mode mode,
                              const char *endpoint_id, const char *id, const char *new_id,
                              int64_t now);

/* dashboard_store.h */
enum store_rc dash_pg_session_insert(struct store_conn *c, const struct dash_session *s);
enum store_rc dash_pg_session_get(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN],
                                  int64_t now, struct dash_session *out);
enum store_rc dash_pg_session_touch(struct store_conn *c, const uint8_t token_hash[CRYPTO_HASH_LEN],
                                    int64_t seen_ms, int64_t expires_ms);
enum store_rc dash_pg_session_delete(struct store_conn *c,
                                     const uint8_t token_hash[CRYPTO_HASH_LEN]);
enum store_rc dash_pg_session_purge(struct store_conn *c, int64_t now);
enum store_rc dash_pg_order_list(struct store_conn *c, const struct dash_order_query *q,
                                 struct order_row **rows, size_t *n, bool *has_more);
enum store_rc dash_pg_stats(struct store_conn *c, const char *org_id, enum key_mode mode,
                            int64_t from, int64_t to, int64_t bucket_ms,
                            struct dash_stat_row **rows, size_t *n);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * kohort.c -- the PostgreSQL side of store/kohort_store.h: not written yet; every call
 * answers STORE_UNAVAILABLE (the API answers 503) with a log line.
 */
#include "store/pg/store_pg_api.h"
#include "store/pg/store_pg_int.h"

#include "core/log.h"

const struct pg_migrations pg_migrations_kohort = {"kohort", NULL, 0};

enum store_rc
kohort_pg_group_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                    const char *id_or_share, struct kohort_group *out)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)id_or_share;
    (void)out;
    log_error("store: the PostgreSQL store does not implement kohort yet (group_get)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_group_insert(struct store_conn *c, const struct kohort_group *g)
{
    (void)c;
    (void)g;
    log_error("store: the PostgreSQL store does not implement kohort yet (group_insert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_group_join(struct store_conn *c, const char *org_id, enum key_mode mode,
                     const char *group_id, int64_t now_ms)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)group_id;
    (void)now_ms;
    log_error("store: the PostgreSQL store does not implement kohort yet (group_join)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_group_update(struct store_conn *c, const struct kohort_group *g)
{
    (void)c;
    (void)g;
    log_error("store: the PostgreSQL store does not implement kohort yet (group_update)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_group_close(struct store_conn *c, const char *org_id, enum key_mode mode,
                      const char *group_id, const char *status, enum kohort_close_when when,
                      int64_t now_ms, bool *changed)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)group_id;
    (void)status;
    (void)when;
    (void)now_ms;
    (void)changed;
    log_error("store: the PostgreSQL store does not implement kohort yet (group_close)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_group_list(struct store_conn *c, const struct kohort_list_query *q,
                     struct kohort_group **rows, size_t *n, int64_t *count)
{
    (void)c;
    (void)q;
    (void)rows;
    (void)n;
    (void)count;
    log_error("store: the PostgreSQL store does not implement kohort yet (group_list)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_groups_due(struct store_conn *c, int64_t now_ms, int limit, struct kohort_group **rows,
                     size_t *n)
{
    (void)c;
    (void)now_ms;
    (void)limit;
    (void)rows;
    (void)n;
    log_error("store: the PostgreSQL store does not implement kohort yet (groups_due)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_groups_next_expiry(struct store_conn *c, int64_t *ms, bool *found)
{
    (void)c;
    (void)ms;
    (void)found;
    log_error("store: the PostgreSQL store does not implement kohort yet (groups_next_expiry)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_customer_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                       struct kohort_customer *out)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)id;
    (void)out;
    log_error("store: the PostgreSQL store does not implement kohort yet (customer_get)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_customer_by_email(struct store_conn *c, const char *org_id, enum key_mode mode,
                            const char *email, struct kohort_customer *out)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)email;
    (void)out;
    log_error("store: the PostgreSQL store does not implement kohort yet (customer_by_email)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_customer_insert(struct store_conn *c, const struct kohort_customer *cu)
{
    (void)c;
    (void)cu;
    log_error("store: the PostgreSQL store does not implement kohort yet (customer_insert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_customer_update(struct store_conn *c, const struct kohort_customer *cu)
{
    (void)c;
    (void)cu;
    log_error("store: the PostgreSQL store does not implement kohort yet (customer_update)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_customer_list(struct store_conn *c, const struct kohort_list_query *q,
                        struct kohort_customer **rows, size_t *n, int64_t *count)
{
    (void)c;
    (void)q;
    (void)rows;
    (void)n;
    (void)count;
    log_error("store: the PostgreSQL store does not implement kohort yet (customer_list)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_link_insert(struct store_conn *c, const struct kohort_link *l)
{
    (void)c;
    (void)l;
    log_error("store: the PostgreSQL store does not implement kohort yet (link_insert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_link_email_used(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *group_id, const char *email, bool *used)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)group_id;
    (void)email;
    (void)used;
    log_error("store: the PostgreSQL store does not implement kohort yet (link_email_used)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_link_set_status(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *order_id, const char *status, int64_t amount_cashback)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)order_id;
    (void)status;
    (void)amount_cashback;
    log_error("store: the PostgreSQL store does not implement kohort yet (link_set_status)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_group_order_ids(struct store_conn *c, const char *org_id, enum key_mode mode,
                          const char *group_id, char (**ids)[IDS_UUID_LEN], size_t *n)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)group_id;
    (void)ids;
    (void)n;
    log_error("store: the PostgreSQL store does not implement kohort yet (group_order_ids)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_order_list(struct store_conn *c, const struct kohort_list_query *q, const char *group_id,
                     struct order_row **rows, size_t *n, int64_t *count)
{
    (void)c;
    (void)q;
    (void)group_id;
    (void)rows;
    (void)n;
    (void)count;
    log_error("store: the PostgreSQL store does not implement kohort yet (order_list)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_order_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                    struct order_row *out)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)id;
    (void)out;
    log_error("store: the PostgreSQL store does not implement kohort yet (order_get)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_order_update(struct store_conn *c, const struct order_row *next, int64_t cur_version)
{
    (void)c;
    (void)next;
    (void)cur_version;
    log_error("store: the PostgreSQL store does not implement kohort yet (order_update)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_event_insert(struct store_conn *c, const struct event_row *e)
{
    (void)c;
    (void)e;
    log_error("store: the PostgreSQL store does not implement kohort yet (event_insert)");
    return STORE_UNAVAILABLE;
}

enum store_rc
kohort_pg_risk_stats(struct store_conn *c, const char *org_id, enum key_mode mode,
                     const char *email, const char *phone, int64_t since_ms, int *n_email,
                     int *n_phone, int64_t *mean_amount, int *n_history)
{
    (void)c;
    (void)org_id;
    (void)mode;
    (void)email;
    (void)phone;
    (void)since_ms;
    (void)n_email;
    (void)n_phone;
    (void)mean_amount;
    (void)n_history;
    log_error("store: the PostgreSQL store does not implement kohort yet (risk_stats)");
    return STORE_UNAVAILABLE;
}

/* SPDX-License-Identifier: MIT */
/*
 * kohort_store.c -- sends each call of store/kohort_store.h to the backend of the
 * connection it is given (store/sqlite/kohort.c or store/pg/kohort.c); the row freeing
 * both share.
 */
#include "store/kohort_store.h"

#include "store/pg/store_pg_api.h"
#include "store/sqlite/store_sqlite_api.h"
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

enum store_rc
kohort_group_get(struct store_conn *c, const char *org_id, enum key_mode mode,
                 const char *id_or_share, struct kohort_group *out)
{
    if (store_conn_is_pg(c))
        return kohort_pg_group_get(c, org_id, mode, id_or_share, out);
    return kohort_sqlite_group_get(c, org_id, mode, id_or_share, out);
}

enum store_rc
kohort_group_insert(struct store_conn *c, const struct kohort_group *g)
{
    if (store_conn_is_pg(c))
        return kohort_pg_group_insert(c, g);
    return kohort_sqlite_group_insert(c, g);
}

enum store_rc
kohort_group_join(struct store_conn *c, const char *org_id, enum key_mode mode,
                  const char *group_id, int64_t now_ms)
{
    if (store_conn_is_pg(c))
        return kohort_pg_group_join(c, org_id, mode, group_id, now_ms);
    return kohort_sqlite_group_join(c, org_id, mode, group_id, now_ms);
}

enum store_rc
kohort_group_update(struct store_conn *c, const struct kohort_group *g)
{
    if (store_conn_is_pg(c))
        return kohort_pg_group_update(c, g);
    return kohort_sqlite_group_update(c, g);
}

enum store_rc
kohort_group_close(struct store_conn *c, const char *org_id, enum key_mode mode,
                   const char *group_id, const char *status, enum kohort_close_when when,
                   int64_t now_ms, bool *changed)
{
    if (store_conn_is_pg(c))
        return kohort_pg_group_close(c, org_id, mode, group_id, status, when, now_ms, changed);
    return kohort_sqlite_group_close(c, org_id, mode, group_id, status, when, now_ms, changed);
}

enum store_rc
kohort_group_list(struct store_conn *c, const struct kohort_list_query *q,
                  struct kohort_group **rows, size_t *n, int64_t *count)
{
    if (store_conn_is_pg(c))
        return kohort_pg_group_list(c, q, rows, n, count);
    return kohort_sqlite_group_list(c, q, rows, n, count);
}

enum store_rc
kohort_groups_due(struct store_conn *c, int64_t now_ms, int limit, struct kohort_group **rows,
                  size_t *n)
{
    if (store_conn_is_pg(c))
        return kohort_pg_groups_due(c, now_ms, limit, rows, n);
    return kohort_sqlite_groups_due(c, now_ms, limit, rows, n);
}

enum store_rc
kohort_groups_next_expiry(struct store_conn *c, int64_t *ms, bool *found)
{
    if (store_conn_is_pg(c))
        return kohort_pg_groups_next_expiry(c, ms, found);
    return kohort_sqlite_groups_next_expiry(c, ms, found);
}

enum store_rc
kohort_customer_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                    struct kohort_customer *out)
{
    if (store_conn_is_pg(c))
        return kohort_pg_customer_get(c, org_id, mode, id, out);
    return kohort_sqlite_customer_get(c, org_id, mode, id, out);
}

enum store_rc
kohort_customer_by_email(struct store_conn *c, const char *org_id, enum key_mode mode,
                         const char *email, struct kohort_customer *out)
{
    if (store_conn_is_pg(c))
        return kohort_pg_customer_by_email(c, org_id, mode, email, out);
    return kohort_sqlite_customer_by_email(c, org_id, mode, email, out);
}

enum store_rc
kohort_customer_insert(struct store_conn *c, const struct kohort_customer *cu)
{
    if (store_conn_is_pg(c))
        return kohort_pg_customer_insert(c, cu);
    return kohort_sqlite_customer_insert(c, cu);
}

enum store_rc
kohort_customer_update(struct store_conn *c, const struct kohort_customer *cu)
{
    if (store_conn_is_pg(c))
        return kohort_pg_customer_update(c, cu);
    return kohort_sqlite_customer_update(c, cu);
}

enum store_rc
kohort_customer_list(struct store_conn *c, const struct kohort_list_query *q,
                     struct kohort_customer **rows, size_t *n, int64_t *count)
{
    if (store_conn_is_pg(c))
        return kohort_pg_customer_list(c, q, rows, n, count);
    return kohort_sqlite_customer_list(c, q, rows, n, count);
}

enum store_rc
kohort_link_insert(struct store_conn *c, const struct kohort_link *l)
{
    if (store_conn_is_pg(c))
        return kohort_pg_link_insert(c, l);
    return kohort_sqlite_link_insert(c, l);
}

enum store_rc
kohort_link_email_used(struct store_conn *c, const char *org_id, enum key_mode mode,
                       const char *group_id, const char *email, bool *used)
{
    if (store_conn_is_pg(c))
        return kohort_pg_link_email_used(c, org_id, mode, group_id, email, used);
    return kohort_sqlite_link_email_used(c, org_id, mode, group_id, email, used);
}

enum store_rc
kohort_link_set_status(struct store_conn *c, const char *org_id, enum key_mode mode,
                       const char *order_id, const char *status, int64_t amount_cashback)
{
    if (store_conn_is_pg(c))
        return kohort_pg_link_set_status(c, org_id, mode, order_id, status, amount_cashback);
    return kohort_sqlite_link_set_status(c, org_id, mode, order_id, status, amount_cashback);
}

enum store_rc
kohort_group_order_ids(struct store_conn *c, const char *org_id, enum key_mode mode,
                       const char *group_id, char (**ids)[IDS_UUID_LEN], size_t *n)
{
    if (store_conn_is_pg(c))
        return kohort_pg_group_order_ids(c, org_id, mode, group_id, ids, n);
    return kohort_sqlite_group_order_ids(c, org_id, mode, group_id, ids, n);
}

enum store_rc
kohort_order_list(struct store_conn *c, const struct kohort_list_query *q, const char *group_id,
                  struct order_row **rows, size_t *n, int64_t *count)
{
    if (store_conn_is_pg(c))
        return kohort_pg_order_list(c, q, group_id, rows, n, count);
    return kohort_sqlite_order_list(c, q, group_id, rows, n, count);
}

enum store_rc
kohort_order_get(struct store_conn *c, const char *org_id, enum key_mode mode, const char *id,
                 struct order_row *out)
{
    if (store_conn_is_pg(c))
        return kohort_pg_order_get(c, org_id, mode, id, out);
    return kohort_sqlite_order_get(c, org_id, mode, id, out);
}

enum store_rc
kohort_order_update(struct store_conn *c, const struct order_row *next, int64_t cur_version)
{
    if (store_conn_is_pg(c))
        return kohort_pg_order_update(c, next, cur_version);
    return kohort_sqlite_order_update(c, next, cur_version);
}

enum store_rc
kohort_event_insert(struct store_conn *c, const struct event_row *e)
{
    if (store_conn_is_pg(c))
        return kohort_pg_event_insert(c, e);
    return kohort_sqlite_event_insert(c, e);
}

enum store_rc
kohort_risk_stats(struct store_conn *c, const char *org_id, enum key_mode mode, const char *email,
                  const char *phone, int64_t since_ms, int *n_email, int *n_phone,
                  int64_t *mean_amount, int *n_history)
{
    if (store_conn_is_pg(c))
        return kohort_pg_risk_stats(c, org_id, mode, email, phone, since_ms, n_email, n_phone,
                                    mean_amount, n_history);
    return kohort_sqlite_risk_stats(c, org_id, mode, email, phone, since_ms, n_email, n_phone,
                                    mean_amount, n_history);
}

void
kohort_group_free(struct kohort_group *g)
{
    if (g == NULL)
        return;
    free(g->creator_email);
    free(g->metadata);
    free(g->settings);
    g->creator_email = g->metadata = g->settings = NULL;
}

void
kohort_groups_free(struct kohort_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kohort_group_free(&g[i]);
    free(g);
}

void
kohort_customer_free(struct kohort_customer *cu)
{
    if (cu == NULL)
        return;
    free(cu->email);
    free(cu->first_name);
    free(cu->last_name);
    free(cu->phone);
    free(cu->locale);
    free(cu->client_ref);
    free(cu->metadata);
    memset(cu, 0, sizeof *cu);
}

void
kohort_customers_free(struct kohort_customer *cu, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kohort_customer_free(&cu[i]);
    free(cu);
}

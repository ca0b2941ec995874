/* SPDX-License-Identifier: MIT */
/*
 * store.h -- the storage contract. Core talks to storage only through these calls; a
 * backend (store/sqlite today, store/pg next) implements struct store_ops. The store
 * knows rows and text, not wire formats: order bodies are opaque JSON text to it.
 *
 * Reads are synchronous and never wait behind the committer. Writes are submitted as
 * struct store_write to the backend's single committer, which batches concurrent
 * writes into one transaction (group commit) and calls w->done once that transaction
 * is durable (or failed). Uniqueness (external ids, short ids, idempotency keys) is
 * enforced by database constraints.
 *
 * Ownership: rows returned by reads are filled with malloc'd members the caller frees
 * with the matching *_free function. Rows handed to a write stay owned by the caller
 * and must live until w->done has run.
 */
#ifndef ORDERD_STORE_H
#define ORDERD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/ids.h"

enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND = 1,
    STORE_CONFLICT = 2,    /* a uniqueness constraint; see store_write.conflict */
    STORE_UNAVAILABLE = 3, /* cannot read or commit now (disk full, I/O, database down) */
    STORE_FAIL = 4,        /* a bug or corrupt data; logged */
};

struct org_rec {
    char id[IDS_ORG_LEN];
    char uuid[IDS_UUID_LEN];
    char *name;     /* owned */
    char *settings; /* owned, JSON object text */
    int64_t created_ms;
};

struct key_rec {
    char id[IDS_KEY_ID_LEN];       /* "key_…": names the key in the CLI and the audit log */
    uint8_t hash[CRYPTO_HASH_LEN]; /* SHA-256 of the whole key: the lookup handle */
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    enum key_kind kind;
    char display[IDS_KEY_LEN]; /* pk: the key; sk: "sk_test_…" + last 4 */
    uint8_t *sealed;           /* owned; the key sealed with the master key, or NULL */
    size_t sealed_len;
    int64_t created_ms;
    int64_t expires_ms;   /* 0: does not expire */
    int64_t revoked_ms;   /* 0: not revoked */
    int64_t last_used_ms; /* 0: never used (recorded within about a minute of use) */
};

/* One entry of an org's audit log: who changed a key or a setting, when, and how. */
struct audit_row {
    char org_id[IDS_ORG_LEN];
    char id[IDS_UUID_LEN]; /* UUIDv7: time-ordered */
    int64_t created_ms;
    char actor[64];
    char action[32]; /* "org.created", "setting.changed", "key.rolled", "key.revoked" */
    char *detail;    /* owned: JSON object text */
};

struct order_row {
    char id[IDS_UUID_LEN];
    char short_id[IDS_SHORT_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char dialect[16];
    char *external_id; /* owned or NULL */
    char status[16];
    char currency[4];
    int64_t total_amount;
    char *customer_email; /* owned or NULL, lower case */
    int64_t version;
    int64_t created_ms;
    int64_t updated_ms;
    char *body; /* owned: the order's JSON text as /v1 renders it */
    size_t body_len;
};

struct event_row {
    char id[IDS_EVENT_LEN];
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char type[32]; /* empty: no event */
    char order_id[IDS_UUID_LEN];
    int64_t created_ms;
    char request_id[IDS_REQUEST_LEN];
    char *data; /* owned: the order body after the change */
};

struct idem_row {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    char *key;         /* owned */
    char endpoint[96]; /* "POST /v1/orders" */
    uint8_t fingerprint[CRYPTO_HASH_LEN];
    int status;
    char *headers; /* owned: JSON object of response headers to replay */
    char *body;    /* owned: response body; NULL means "store nothing" */
    int64_t created_ms;
};

struct order_query {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *starting_after; /* order id or NULL */
    const char *ending_before;  /* order id or NULL */
    int limit;
    const char *status, *external_id, *customer_email, *dialect; /* NULL = any */
    bool has_created_gte, has_created_lte;
    int64_t created_gte, created_lte;
};

struct event_query {
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *starting_after, *ending_before; /* event ids or NULL */
    int limit;
    const char *type, *order_id; /* NULL = any */
};

enum store_write_kind {
    SW_ORDER_INSERT,
    SW_ORDER_MUTATE,
    SW_ORG_INSERT,
    SW_ORG_SETTINGS,
    SW_CUSTOM,     /* w->custom only: an API's own tables */
    SW_KEY_ROLL,   /* insert keys[0]; the org's other keys of its mode and kind expire at
                    * key_grace_until (or at once when earlier) */
    SW_KEY_REVOKE, /* revoke the key key_id of org_id */
};

/* A backend connection inside a read or a write transaction. Opaque outside the
 * backend: an API's own SQL lives in store/<backend>/<api>.c, which gets the native
 * handle from the backend's internal header (store/sqlite/store_sqlite_int.h). */
struct store_conn;
/* Runs on a connection. Any result but STORE_OK undoes what this write did. */
typedef enum store_rc (*store_tx_fn)(struct store_conn *c, void *arg);
enum store_conflict { SC_NONE, SC_EXTERNAL_ID, SC_SHORT_ID, SC_IDEMPOTENCY, SC_OTHER };
enum store_mutate { STORE_MUTATE_WRITE, STORE_MUTATE_NOOP, STORE_MUTATE_ABORT };

/* Runs inside the write transaction with the current row; fills next (a copy to
 * change), and may fill w->event / w->idem. Returns enum store_mutate. */
typedef enum store_mutate (*store_mutate_fn)(void *arg, const struct order_row *cur,
                                             struct order_row *next);

struct store_write {
    enum store_write_kind kind;
    /* SW_ORDER_INSERT: order (+ optional event, idem). SW_ORDER_MUTATE: org_id, mode,
     * ref (id or short id), mutate; event/idem as filled by mutate. */
    struct order_row *order;
    struct event_row *event;
    struct idem_row *idem;
    char org_id[IDS_ORG_LEN];
    enum key_mode mode;
    const char *ref;
    store_mutate_fn mutate;
    void *mutate_arg;
    enum store_mutate mutate_result;
    /* SW_ORDER_INSERT and SW_ORDER_MUTATE: optional hooks run in the same savepoint,
     * before and after the order is written (an API's own rows: a group join, a
     * per-org sequence, a replay record). hook_arg is theirs. The store sets hook_code
     * to 1 when a hook's failure undid the write. SW_CUSTOM: custom alone. */
    store_tx_fn before, after, custom;
    void *hook_arg;
    int hook_code;
    /* SW_ORDER_INSERT: before and after use no SQL (they get a NULL connection): the
     * store may run them apart from the write's statements, before or after them, and
     * more than once. PostgreSQL then sends the write in its pipeline. */
    bool hooks_no_sql;
    /* SW_ORG_INSERT: org + keys. SW_ORG_SETTINGS: org->id and org->settings. */
    struct org_rec *org;
    struct key_rec *keys;
    int n_keys;
    int64_t key_grace_until; /* SW_KEY_ROLL */
    const char *key_id;      /* SW_KEY_REVOKE */
    /* Any write: an audit entry committed with it (or NULL). */
    const struct audit_row *audit;

    /* results, set before done runs */
    enum store_rc rc;
    enum store_conflict conflict;
    char conflict_id[IDS_UUID_LEN]; /* SC_EXTERNAL_ID: the existing order's id */
    struct idem_row existing;       /* SC_IDEMPOTENCY: the stored record (owned by w) */

    void (*done)(struct store_write *w); /* on the committer thread; may resubmit */
    void *arg;
    struct store_write *next; /* committer queue link */
};

struct store;

struct store_ops {
    void (*close)(struct store *s);
    int (*migrate)(struct store *s, char *err, size_t errlen);
    enum store_rc (*ping)(struct store *s);
    void (*submit)(struct store *s, struct store_write *w);
    enum store_rc (*org_get)(struct store *s, const char *id_or_uuid, struct org_rec *out);
    enum store_rc (*org_keys)(struct store *s, const char *org_id, struct key_rec **keys,
                              size_t *n);
    enum store_rc (*orgs_settings_each)(struct store *s,
                                        bool (*fn)(void *arg, const char *settings), void *arg);
    enum store_rc (*key_find)(struct store *s, const uint8_t hash[CRYPTO_HASH_LEN],
                              struct key_rec *out);
    enum store_rc (*order_get)(struct store *s, const char *org_id, enum key_mode mode,
                               const char *ref, struct order_row *out);
    enum store_rc (*order_list)(struct store *s, const struct order_query *q,
                                struct order_row **rows, size_t *n, bool *has_more);
    enum store_rc (*event_list)(struct store *s, const struct event_query *q,
                                struct event_row **rows, size_t *n, bool *has_more);
    enum store_rc (*idem_get)(struct store *s, const char *org_id, enum key_mode mode,
                              const char *key, struct idem_row *out);
    /* The org's current secret key of that mode (for HMAC schemes: it carries the
     * sealed key). */
    enum store_rc (*key_secret)(struct store *s, const char *org_id, enum key_mode mode,
                                struct key_rec *out);
    /* Runs fn on a read connection (an API's own tables). */
    enum store_rc (*read)(struct store *s, store_tx_fn fn, void *arg);
    /* Notes that a key was used now; written in batches, not on every request. */
    void (*key_touch)(struct store *s, const uint8_t hash[CRYPTO_HASH_LEN]);
    /* The org's audit log, newest first, at most limit entries. */
    enum store_rc (*audit_list)(struct store *s, const char *org_id, int limit,
                                struct audit_row **rows, size_t *n);
    /* Optional (NULL: no such state). STORE_UNAVAILABLE while writes fail for want of the
     * database (full disk, I/O errors), with a short reason for operators in why; the
     * backend keeps trying and returns STORE_OK once a write commits again. */
    enum store_rc (*write_health)(struct store *s, char *why, size_t whylen);
};

struct store {
    const struct store_ops *ops;
};

/* Opens the store named by url ("sqlite:PATH" or "postgres://…"). Returns NULL with a
 * message in err. The committer thread starts here. */
struct store *store_open(const char *url, char *err, size_t errlen);
void store_close(struct store *s);
/* url with any password replaced by "***", for logs (postgres://user:***@host/db). */
void store_url_for_log(const char *url, char *out, size_t size);
/* Submits a write and waits for it (for the CLI); returns w->rc. */
enum store_rc store_write_wait(struct store *s, struct store_write *w);

static inline void
store_submit(struct store *s, struct store_write *w)
{
    s->ops->submit(s, w);
}

void org_rec_free(struct org_rec *r);
void key_rec_free(struct key_rec *r);
void order_row_free(struct order_row *r);
void order_rows_free(struct order_row *rows, size_t n);
void event_row_free(struct event_row *r);
void event_rows_free(struct event_row *rows, size_t n);
void idem_row_free(struct idem_row *r);
void audit_rows_free(struct audit_row *rows, size_t n);
/* Deep copy of an order row (owned members duplicated); returns 0 or -1 on OOM. */
int order_row_copy(struct order_row *dst, const struct order_row *src);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * limits.h -- every limit orderd enforces, in one place. Anything that bounds input
 * (bodies, headers, JSON shapes, string lengths, counts) takes its number from here so
 * that the README, the OpenAPI document and the code can be checked against one list.
 */
#ifndef ORDERD_LIMITS_H
#define ORDERD_LIMITS_H

#define LIMIT_BODY_MAX         (1024 * 1024)        /* request body bytes -> 413 */
#define LIMIT_HEADERS_MAX      (10 * 1024)          /* request line + headers bytes -> 431 */
#define LIMIT_JSON_DEPTH       32                   /* nesting of request JSON -> 400 */
#define LIMIT_LINE_ITEMS       250                  /* line items per order */
#define LIMIT_META_KEYS        50                   /* metadata / custom keys */
#define LIMIT_META_KEY_LEN     40                   /* metadata key length */
#define LIMIT_META_VALUE_LEN   500                  /* metadata value length */
#define LIMIT_STR_SHORT        64                   /* platform, source */
#define LIMIT_STR_NAME         255                  /* names, ids, address lines */
#define LIMIT_STR_TEXT         500                  /* item names, reasons */
#define LIMIT_URL_LEN          2048                 /* image urls */
#define LIMIT_POSTAL_LEN       32                   /* postal codes */
#define LIMIT_GENDER_LEN       32                   /* customer gender */
#define LIMIT_LOCALE_LEN       35                   /* locale tags */
#define LIMIT_EMAIL_LEN        254                  /* whole address (RFC 5321 path minus <>) */
#define LIMIT_EMAIL_LOCAL      64                   /* local part */
#define LIMIT_EMAIL_DOMAIN     255                  /* domain */
#define LIMIT_QUANTITY_MAX     1000000              /* units per line */
#define LIMIT_AMOUNT_MAX       10000000000000LL     /* 10^13 minor units per amount */
#define LIMIT_IDEM_KEY_LEN     255                  /* Idempotency-Key */
#define LIMIT_IDEM_TTL_MS      (24LL * 3600 * 1000) /* idempotency records kept */
#define LIMIT_LIST_DEFAULT     10                   /* list page size default */
#define LIMIT_LIST_MAX         100                  /* list page size maximum */
#define LIMIT_FIELD_ERRORS     50                   /* field errors reported in one problem */
#define LIMIT_ORIGINS          64                   /* allowed_origins entries */
#define LIMIT_SETTING_LEN      4096                 /* one org setting value */
#define LIMIT_CONN_TIMEOUT_S   30                   /* idle connection timeout */
#define LIMIT_HEADERS_WAIT_MS  10000                /* first byte to end of headers */
#define LIMIT_BODY_WAIT_MS     60000                /* end of headers to end of body */
#define LIMIT_CONNECTIONS      16384                /* connections in all, per listener */
#define LIMIT_FD_RESERVE       512                  /* files kept for the store, logs... */
#define LIMIT_CONN_PER_IP      256                  /* connections per client address */
#define LIMIT_CONN_MEMORY      (14 * 1024)          /* libmicrohttpd pool: headers to ~13 KiB */
#define LIMIT_COMMIT_BATCH     256                  /* writes per group-commit transaction */
#define LIMIT_SHUTDOWN_WAIT_MS 10000                /* graceful shutdown: in-flight drain */
#define LIMIT_SHUTDOWN_DB_MS   30000                /* ... then requests waiting on the store */
#define LIMIT_LINGER_MS        3000                 /* lingering close after an early 413/431 */
#define LIMIT_LINGER_BYTES     (8 * 1024 * 1024)    /* ... drains at most this much */
#define LIMIT_LINGER_THREADS   32                   /* ... for at most this many sockets at once */
#define LIMIT_READ_CONNS       4                    /* SQLite read connections */

#endif

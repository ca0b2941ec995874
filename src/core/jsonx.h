/* SPDX-License-Identifier: MIT */
/*
 * jsonx.h -- orderd's JSON module. jansson is included here only (jsonx.c), so that the
 * parser can be measured and replaced without touching core or dialect code.
 *
 * Ownership: functions documented "new" return a reference the caller must release with
 * jsonx_free; "borrowed" pointers live as long as their container; setters and
 * jsonx_append *take* the value passed to them (the caller must not free it).
 */
#ifndef ORDERD_JSONX_H
#define ORDERD_JSONX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct jsonx; /* opaque */

enum jsonx_type { JX_OBJECT, JX_ARRAY, JX_STRING, JX_INT, JX_REAL, JX_BOOL, JX_NULL };

enum jsonx_err { JX_ERR_SYNTAX = 1, JX_ERR_DEPTH = 2 };

struct jsonx_error {
    enum jsonx_err code;
    int line;
    int column;
    char text[160]; /* printable ASCII (input bytes near the error shown as \xNN) */
};

/* Strict parse of one JSON value (callers check its type): invalid UTF-8, NUL (raw or \u0000),
 * duplicate keys, out-of-range numbers and nesting beyond max_depth are errors.
 * Returns new, or NULL with err filled in. */
struct jsonx *jsonx_parse(const char *buf, size_t len, int max_depth, struct jsonx_error *err);
void jsonx_free(struct jsonx *v);
struct jsonx *jsonx_ref(struct jsonx *v); /* new reference to the same value */

enum jsonx_type jsonx_type(const struct jsonx *v);
const char *jsonx_type_name(const struct jsonx *v);                /* "string", "integer", ... */
struct jsonx *jsonx_get(const struct jsonx *obj, const char *key); /* borrowed or NULL */
size_t jsonx_size(const struct jsonx *v);                          /* object or array */
struct jsonx *jsonx_at(const struct jsonx *arr, size_t i);         /* borrowed or NULL */
const char *jsonx_str(const struct jsonx *v);                      /* borrowed or NULL */
size_t jsonx_strlen(const struct jsonx *v);
int64_t jsonx_int(const struct jsonx *v);
double jsonx_real(const struct jsonx *v); /* integers too */
bool jsonx_bool(const struct jsonx *v);

/* Object iteration: for (it = jsonx_iter(o); it; it = jsonx_next(o, it)) */
void *jsonx_iter(const struct jsonx *obj);
void *jsonx_next(const struct jsonx *obj, void *it);
const char *jsonx_iter_key(void *it);
struct jsonx *jsonx_iter_value(void *it); /* borrowed */

struct jsonx *jsonx_object(void);                                        /* new */
struct jsonx *jsonx_array(void);                                         /* new */
struct jsonx *jsonx_string(const char *s);                               /* new; NULL s -> null */
struct jsonx *jsonx_integer(int64_t i);                                  /* new */
struct jsonx *jsonx_real_new(double d);                                  /* new */
struct jsonx *jsonx_null(void);                                          /* new */
struct jsonx *jsonx_copy(const struct jsonx *v);                         /* new deep copy */
void jsonx_set(struct jsonx *obj, const char *key, struct jsonx *value); /* takes value */
void jsonx_set_str(struct jsonx *obj, const char *key, const char *s);   /* NULL -> null */
void jsonx_set_int(struct jsonx *obj, const char *key, int64_t i);
void jsonx_set_bool(struct jsonx *obj, const char *key, bool b);
void jsonx_set_null(struct jsonx *obj, const char *key);
void jsonx_del(struct jsonx *obj, const char *key);
void jsonx_append(struct jsonx *arr, struct jsonx *value); /* takes value */
bool jsonx_equal(const struct jsonx *a, const struct jsonx *b);
/* New string for message text (errors quoting what a client sent): s when it is UTF-8,
 * else a copy with each byte above 0x7f replaced by '?'. NULL s -> null. jsonx_string
 * refuses text that is not UTF-8 (returns NULL): it is the one for data. */
struct jsonx *jsonx_text(const char *s);

/* Compact text, keys in insertion order, reals with 15 significant digits (85.9, not
 * 85.900000000000006). Returns malloc'd text (caller frees) or NULL. */
char *jsonx_dump(const struct jsonx *v, size_t *len);
/* Appends the compact text of v to b. */
void jsonx_dump_buf(const struct jsonx *v, struct buf *b);
/* Appends s as a JSON string literal (quotes and escapes) to b, as jsonx_text makes it. */
void jsonx_quote(struct buf *b, const char *s);

#endif

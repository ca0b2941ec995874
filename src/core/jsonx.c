/* SPDX-License-Identifier: MIT */
/*
 * jsonx.c -- jansson behind jsonx.h. struct jsonx is never defined: pointers are
 * jansson's json_t, converted at this boundary only.
 */
#include "core/jsonx.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define J(v)  ((json_t *)(v))
#define X(v)  ((struct jsonx *)(v))
#define JC(v) ((const json_t *)(v))

/* Depth of a parsed value, stopping as soon as max is exceeded. */
static bool
too_deep(const json_t *v, int depth, int max)
{
    const char *key;
    json_t *child;
    size_t i;

    if (depth > max)
        return true;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child)
        {
            if (too_deep(child, depth + 1, max))
                return true;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
        {
            if (too_deep(child, depth + 1, max))
                return true;
        }
    }
    return false;
}

/* jansson's message quotes the input near the error ("invalid escape near '"ab\xe7'"),
 * cut anywhere, even inside a UTF-8 sequence. APIs put the message in JSON answers, so
 * it is made printable ASCII: other bytes become \xNN. */
static void
error_text(char *out, size_t size, const char *in)
{
    size_t n = 0;

    for (; *in != '\0' && n + 5 < size; in++) {
        unsigned char c = (unsigned char)*in;
        if (c >= 0x20 && c < 0x7f)
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
    }
    out[n] = '\0';
}

struct jsonx *
jsonx_parse(const char *buf, size_t len, int max_depth, struct jsonx_error *err)
{
    json_error_t je;
    json_t *v;

    memset(err, 0, sizeof *err);
    v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v == NULL) {
        err->code =
            json_error_code(&je) == json_error_stack_overflow ? JX_ERR_DEPTH : JX_ERR_SYNTAX;
        err->line = je.line;
        err->column = je.column;
        error_text(err->text, sizeof err->text, je.text);
        return NULL;
    }
    if (too_deep(v, 1, max_depth)) {
        json_decref(v);
        err->code = JX_ERR_DEPTH;
        snprintf(err->text, sizeof err->text, "maximum nesting depth exceeded");
        return NULL;
    }
    return X(v);
}

void
jsonx_free(struct jsonx *v)
{
    json_decref(J(v));
}

struct jsonx *
jsonx_ref(struct jsonx *v)
{
    return X(json_incref(J(v)));
}

enum jsonx_type
jsonx_type(const struct jsonx *v)
{
    switch (json_typeof(JC(v))) {
    case JSON_OBJECT:
        return JX_OBJECT;
    case JSON_ARRAY:
        return JX_ARRAY;
    case JSON_STRING:
        return JX_STRING;
    case JSON_INTEGER:
        return JX_INT;
    case JSON_REAL:
        return JX_REAL;
    case JSON_TRUE:
    case JSON_FALSE:
        return JX_BOOL;
    default:
        return JX_NULL;
    }
}

const char *
jsonx_type_name(const struct jsonx *v)
{
    static const char *names[] = {"object", "array",   "string", "integer",
                                  "number", "boolean", "null"};

    return names[jsonx_type(v)];
}

struct jsonx *
jsonx_get(const struct jsonx *obj, const char *key)
{
    return X(json_object_get(JC(obj), key));
}

size_t
jsonx_size(const struct jsonx *v)
{
    if (json_is_object(JC(v)))
        return json_object_size(JC(v));
    return json_array_size(JC(v));
}

struct jsonx *
jsonx_at(const struct jsonx *arr, size_t i)
{
    return X(json_array_get(JC(arr), i));
}

const char *
jsonx_str(const struct jsonx *v)
{
    return json_string_value(JC(v));
}

size_t
jsonx_strlen(const struct jsonx *v)
{
    return json_string_length(JC(v));
}

int64_t
jsonx_int(const struct jsonx *v)
{
    return (int64_t)json_integer_value(JC(v));
}

double
jsonx_real(const struct jsonx *v)
{
    return json_number_value(JC(v));
}

bool
jsonx_bool(const struct jsonx *v)
{
    return json_is_true(JC(v));
}

void *
jsonx_iter(const struct jsonx *obj)
{
    return json_object_iter((json_t *)JC(obj));
}

void *
jsonx_next(const struct jsonx *obj, void *it)
{
    return json_object_iter_next((json_t *)JC(obj), it);
}

const char *
jsonx_iter_key(void *it)
{
    return json_object_iter_key(it);
}

struct jsonx *
jsonx_iter_value(void *it)
{
    return X(json_object_iter_value(it));
}

struct jsonx *
jsonx_object(void)
{
    return X(json_object());
}

struct jsonx *
jsonx_array(void)
{
    return X(json_array());
}

struct jsonx *
jsonx_string(const char *s)
{
    return X(s != NULL ? json_string(s) : json_null());
}

struct jsonx *
jsonx_integer(int64_t i)
{
    return X(json_integer((json_int_t)i));
}

struct jsonx *
jsonx_real_new(double d)
{
    return X(json_real(d));
}

struct jsonx *
jsonx_null(void)
{
    return X(json_null());
}

struct jsonx *
jsonx_copy(const struct jsonx *v)
{
    return X(json_deep_copy(JC(v)));
}

void
jsonx_set(struct jsonx *obj, const char *key, struct jsonx *value)
{
    json_object_set_new(J(obj), key, J(value));
}

void
jsonx_set_str(struct jsonx *obj, const char *key, const char *s)
{
    jsonx_set(obj, key, jsonx_string(s));
}

void
jsonx_set_int(struct jsonx *obj, const char *key, int64_t i)
{
    json_object_set_new(J(obj), key, json_integer((json_int_t)i));
}

void
jsonx_set_bool(struct jsonx *obj, const char *key, bool b)
{
    json_object_set_new(J(obj), key, json_boolean(b));
}

void
jsonx_set_null(struct jsonx *obj, const char *key)
{
    json_object_set_new(J(obj), key, json_null());
}

void
jsonx_del(struct jsonx *obj, const char *key)
{
    json_object_del(J(obj), key);
}

void
jsonx_append(struct jsonx *arr, struct jsonx *value)
{
    json_array_append_new(J(arr), J(value));
}

bool
jsonx_equal(const struct jsonx *a, const struct jsonx *b)
{
    return json_equal(JC(a), JC(b)) != 0;
}

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)

char *
jsonx_dump(const struct jsonx *v, size_t *len)
{
    char *s = json_dumps(JC(v), DUMP_FLAGS);

    if (s != NULL && len != NULL)
        *len = strlen(s);
    return s;
}

static int
dump_cb(const char *p, size_t n, void *arg)
{
    struct buf *b = arg;

    buf_append(b, p, n);
    return b->failed ? -1 : 0;
}

void
jsonx_dump_buf(const struct jsonx *v, struct buf *b)
{
    if (json_dump_callback(JC(v), dump_cb, b, DUMP_FLAGS) != 0)
        b->failed = true;
}

struct jsonx *
jsonx_text(const char *s)
{
    json_t *str;
    char *safe;

    if (s == NULL)
        return X(json_null());
    str = json_string(s);
    if (str == NULL && (safe = strdup(s)) != NULL) {
        /* not valid UTF-8 (a decoded path, a message cut inside a character) */
        for (char *p = safe; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        str = json_string(safe);
        free(safe);
    }
    return X(str);
}

void
jsonx_quote(struct buf *b, const char *s)
{
    struct jsonx *str = jsonx_text(s);

    if (str == NULL) {
        b->failed = true;
        return;
    }
    jsonx_dump_buf(str, b);
    jsonx_free(str);
}

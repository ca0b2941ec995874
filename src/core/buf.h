/* SPDX-License-Identifier: MIT */
/*
 * buf.h -- a growable byte buffer for building response bodies and SQL-free text.
 * The buffer owns its memory (buf_free); on allocation failure it sets `failed` and
 * ignores further appends, so callers check once at the end.
 */
#ifndef ORDERD_BUF_H
#define ORDERD_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated when len > 0 or after buf_cstr */
    size_t len;
    size_t cap;
    bool failed;
};

void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents as a C string (never NULL unless failed). */
const char *buf_cstr(struct buf *b);
/* Hands the memory to the caller (caller frees); the buffer is reset. */
char *buf_take(struct buf *b, size_t *len);
void buf_free(struct buf *b);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * http.h -- the HTTP front: listeners, limits, request contexts, responses. Built on
 * libmicrohttpd, which is included in http.c only.
 */
#ifndef ORDERD_HTTP_H
#define ORDERD_HTTP_H

#include <stddef.h>

struct app;
struct http_server;

/* Starts serving on listen ("ADDR:PORT", "[::1]:PORT" or ":PORT"). NULL with err. */
struct http_server *http_start(struct app *app, const char *listen, char *err, size_t errlen);
/* Stops accepting, lets in-flight requests finish (bounded), closes everything. */
void http_stop(struct http_server *s);

#endif

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

/* PEM texts of a certificate chain and its key, for HTTPS listeners. */
struct http_tls {
    char *cert;
    char *key;
};

/* Starts serving on listen ("ADDR:PORT", "[::1]:PORT" or ":PORT"): every API under its
 * prefix when dialect is NULL, else that one API alone at its vendor's paths. NULL with
 * a message in err on failure. */
struct http_server *http_start(struct app *app, const char *listen, const char *dialect,
                               const struct http_tls *tls, char *err, size_t errlen);
/* Stops accepting, lets in-flight requests finish (bounded), closes everything. */
void http_stop(struct http_server *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * auth.h -- API keys: creating an org's four keys, and resolving a presented key to
 * its org, mode and kind. Keys are looked up by SHA-256; the database holds no usable
 * secret in clear (secret keys are also kept sealed with the master key, for the HMAC
 * schemes of some dialects).
 */
#ifndef ORDERD_AUTH_H
#define ORDERD_AUTH_H

#include "core/app.h"
#include "core/req.h"
#include "store/store.h"

enum auth_rc {
    AUTH_OK = 0,
    AUTH_MISSING = 1,
    AUTH_INVALID = 2,
    AUTH_UNAVAILABLE = 3,
    AUTH_RATE_LIMITED = 4, /* a valid key over its rate limit: a->rate says when to retry */
};

/* Resolves key (the whole key text) into a, and takes a token from the key's rate
 * limit (a->rate fills the response's RateLimit headers). */
enum auth_rc auth_key(struct app *app, const char *key, struct auth *a);
/* The same without the rate limit, for schemes that must verify more than the key
 * first (a signature): they call auth_rate_limit once it is verified. */
enum auth_rc auth_key_check(struct app *app, const char *key, struct auth *a);
/* Takes a token from the bucket of the key a was resolved from, with the limits of keys
 * of kind `as` (a signed request proves the secret key: it gets the secret's limits):
 * AUTH_OK or AUTH_RATE_LIMITED. */
enum auth_rc auth_rate_limit(struct app *app, struct auth *a, enum key_kind as);
/* Reads "Authorization: Bearer <key>" and resolves it into req->auth. */
enum auth_rc auth_bearer(struct req *req);

/* Fills k with a fresh key of that mode and kind for org_id; its text goes to plain. */
void auth_key_new(const struct app *app, const char *org_id, enum key_mode mode, enum key_kind kind,
                  struct key_rec *k, char plain[IDS_KEY_LEN]);
/* Fills keys[4] (test pk, test sk, live pk, live sk) for org_id with fresh keys whose
 * text goes to plain[4]. */
void auth_keys_new(const struct app *app, const char *org_id, struct key_rec keys[4],
                   char plain[4][IDS_KEY_LEN]);

#endif

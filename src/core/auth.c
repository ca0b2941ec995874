/* SPDX-License-Identifier: MIT */
/*
 * auth.c -- key creation and lookup (auth.h). The hash lookup is constant-time with
 * respect to the secret (only its SHA-256 reaches the database index), and the
 * returned hash is compared again with crypto_equal.
 */
#include "core/auth.h"

#include "core/clock.h"
#include "core/ratelimit.h"
#include "core/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Takes a token from the key's bucket; reads the org's policy when the bucket has none
 * (or an old one). A store that cannot be read means the default policy. */
enum auth_rc
auth_rate_limit(struct app *app, struct auth *a, enum key_kind as)
{
    struct ratelimit_policy pol;
    struct org_rec org;
    char text[64], norm[64], err[160];
    int64_t now = clock_mono_us();
    enum ratelimit_rc rc;

    if (app->ratelimit == NULL || !a->ok)
        return AUTH_OK;
    rc = ratelimit_take(app->ratelimit, a->key_hash, NULL, now, &a->rate);
    if (rc == RL_NEED_POLICY) {
        ratelimit_default(as, &pol);
        if (app->store->ops->org_get(app->store, a->org_id, &org) == STORE_OK) {
            settings_get(org.settings != NULL ? org.settings : "{}",
                         as == KEY_SECRET ? "rate_limit.secret" : "rate_limit.publishable", text,
                         sizeof text);
            if (text[0] != '\0' &&
                ratelimit_parse(text, &pol, norm, sizeof norm, err, sizeof err) != 0)
                ratelimit_default(as, &pol);
            org_rec_free(&org);
        }
        rc = ratelimit_take(app->ratelimit, a->key_hash, &pol, now, &a->rate);
    }
    return rc == RL_LIMITED ? AUTH_RATE_LIMITED : AUTH_OK;
}

enum auth_rc
auth_key_check(struct app *app, const char *key, struct auth *a)
{
    uint8_t hash[CRYPTO_HASH_LEN];
    enum key_kind kind;
    enum key_mode mode;
    struct key_rec rec;
    enum store_rc rc;
    enum auth_rc out = AUTH_INVALID;

    memset(a, 0, sizeof *a);
    if (key == NULL || key[0] == '\0')
        return AUTH_MISSING;
    if (ids_key_parse(key, &kind, &mode) != 0)
        return AUTH_INVALID;
    crypto_sha256(key, strlen(key), hash);
    rc = app->store->ops->key_find(app->store, hash, &rec);
    if (rc == STORE_OK && crypto_equal(rec.hash, hash, CRYPTO_HASH_LEN) && rec.kind == kind &&
        rec.mode == mode) {
        a->ok = true;
        app->store->ops->key_touch(app->store, hash);
        memcpy(a->org_id, rec.org_id, sizeof a->org_id);
        a->mode = mode;
        a->kind = kind;
        memcpy(a->key_hash, hash, sizeof a->key_hash);
        out = AUTH_OK;
    } else if (rc == STORE_UNAVAILABLE || rc == STORE_FAIL) {
        out = AUTH_UNAVAILABLE;
    }
    key_rec_free(&rec);
    return out;
}

enum auth_rc
auth_key(struct app *app, const char *key, struct auth *a)
{
    enum auth_rc rc = auth_key_check(app, key, a);

    return rc == AUTH_OK ? auth_rate_limit(app, a, a->kind) : rc;
}

enum auth_rc
auth_bearer(struct req *req)
{
    const char *h = req_header(req, "Authorization");

    if (h == NULL || h[0] == '\0')
        return AUTH_MISSING;
    if (strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        return auth_key(req->app, h, &req->auth);
    }
    return AUTH_INVALID;
}

void
auth_key_new(const struct app *app, const char *org_id, enum key_mode mode, enum key_kind kind,
             struct key_rec *k, char plain[IDS_KEY_LEN])
{
    size_t len;

    memset(k, 0, sizeof *k);
    ids_key(kind, mode, plain);
    ids_key_id(k->id);
    len = strlen(plain);
    crypto_sha256(plain, len, k->hash);
    snprintf(k->org_id, sizeof k->org_id, "%s", org_id);
    k->mode = mode;
    k->kind = kind;
    k->created_ms = clock_now_ms();
    if (kind == KEY_PUBLISHABLE) {
        memcpy(k->display, plain, sizeof k->display);
    } else {
        memcpy(k->display, plain, 8);
        memcpy(k->display + 8, "...", 3);
        memcpy(k->display + 11, plain + len - 4, 5);
    }
    /* sealed copy for HMAC-based dialects; the hash alone cannot serve them */
    k->sealed = malloc(len + CRYPTO_SEAL_EXTRA);
    if (k->sealed != NULL) {
        crypto_seal(app->master, plain, len, k->sealed);
        k->sealed_len = len + CRYPTO_SEAL_EXTRA;
    }
}

void
auth_keys_new(const struct app *app, const char *org_id, struct key_rec keys[4],
              char plain[4][IDS_KEY_LEN])
{
    for (int i = 0; i < 4; i++)
        auth_key_new(app, org_id, i < 2 ? MODE_TEST : MODE_LIVE,
                     i % 2 ? KEY_SECRET : KEY_PUBLISHABLE, &keys[i], plain[i]);
}

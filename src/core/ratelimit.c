/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.c -- per-key token buckets (ratelimit.h). 64 shards, each a mutex and a
 * chained hash table that grows; a key's shard and chain come from its SHA-256, which
 * is already uniformly distributed. Buckets live as long as the process: there is one
 * per key that ever authenticated, which the key table bounds.
 */
#include "core/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_SHARDS 64

struct rl_bucket {
    uint8_t key[32];
    double tokens;
    int64_t last_us;
    int64_t policy_us; /* when the policy was read; 0: never */
    struct ratelimit_policy policy;
    struct rl_bucket *next;
};

struct rl_shard {
    pthread_mutex_t mu;
    struct rl_bucket **slots;
    size_t n_slots, n;
};

struct ratelimit {
    struct rl_shard shards[RL_SHARDS];
};

static uint64_t
rl_hash(const uint8_t key[32])
{
    uint64_t h;

    memcpy(&h, key + 8, sizeof h);
    return h;
}

struct ratelimit *
ratelimit_new(void)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);

    if (rl == NULL)
        return NULL;
    for (int i = 0; i < RL_SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].mu, NULL);
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (int i = 0; i < RL_SHARDS; i++) {
        struct rl_shard *s = &rl->shards[i];
        for (size_t j = 0; j < s->n_slots; j++) {
            struct rl_bucket *b = s->slots[j], *next;
            for (; b != NULL; b = next) {
                next = b->next;
                free(b);
            }
        }
        free(s->slots);
        pthread_mutex_destroy(&s->mu);
    }
    free(rl);
}

/* Doubles the shard's table (16 slots at first). Returns 0 or -1 on OOM. */
static int
rl_grow(struct rl_shard *s)
{
    size_t n = s->n_slots ? s->n_slots * 2 : 16;
    struct rl_bucket **slots = calloc(n, sizeof *slots);

    if (slots == NULL)
        return -1;
    for (size_t j = 0; j < s->n_slots; j++) {
        struct rl_bucket *b = s->slots[j], *next;
        for (; b != NULL; b = next) {
            size_t k = (rl_hash(b->key) >> 6) & (n - 1);
            next = b->next;
            b->next = slots[k];
            slots[k] = b;
        }
    }
    free(s->slots);
    s->slots = slots;
    s->n_slots = n;
    return 0;
}

/* The key's bucket in s (locked), created when missing; NULL on OOM. */
static struct rl_bucket *
rl_find(struct rl_shard *s, const uint8_t key[32], int64_t now_us)
{
    uint64_t h = rl_hash(key) >> 6;
    struct rl_bucket *b = NULL;

    if (s->n_slots > 0)
        for (b = s->slots[h & (s->n_slots - 1)]; b != NULL; b = b->next)
            if (memcmp(b->key, key, 32) == 0)
                return b;
    if ((s->n + 1 > s->n_slots * 2 && rl_grow(s) != 0) || (b = calloc(1, sizeof *b)) == NULL)
        return NULL;
    memcpy(b->key, key, 32);
    b->last_us = now_us;
    b->tokens = -1; /* filled to the burst once the policy is known */
    b->next = s->slots[h & (s->n_slots - 1)];
    s->slots[h & (s->n_slots - 1)] = b;
    s->n++;
    return b;
}

static uint32_t
rl_ceil(double x)
{
    double c = ceil(x);

    return c <= 0 ? 0 : c >= 4e9 ? 4000000000u : (uint32_t)c;
}

enum ratelimit_rc
ratelimit_take(struct ratelimit *rl, const uint8_t key[32], const struct ratelimit_policy *policy,
               int64_t now_us, struct ratelimit_verdict *v)
{
    struct rl_shard *s = &rl->shards[rl_hash(key) % RL_SHARDS];
    struct rl_bucket *b;
    enum ratelimit_rc rc = RL_OK;
    double rate, burst;

    memset(v, 0, sizeof *v);
    pthread_mutex_lock(&s->mu);
    b = rl_find(s, key, now_us);
    if (b == NULL)
        goto out; /* out of memory: let the request through rather than refuse it */
    if (policy != NULL) {
        b->policy = *policy;
        b->policy_us = now_us;
    } else if (b->policy_us == 0 || now_us - b->policy_us > RATELIMIT_POLICY_TTL_MS * 1000LL) {
        rc = RL_NEED_POLICY;
        goto out;
    }
    if (b->policy.rate == 0)
        goto out;
    rate = b->policy.rate;
    burst = b->policy.burst > 0 ? b->policy.burst : 1;
    if (b->tokens < 0)
        b->tokens = burst;
    if (now_us > b->last_us)
        b->tokens += (double)(now_us - b->last_us) * rate / 1e6;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_us = now_us > b->last_us ? now_us : b->last_us;
    if (b->tokens >= 1) {
        b->tokens -= 1;
    } else {
        rc = RL_LIMITED;
        v->retry_after = rl_ceil((1 - b->tokens) / rate);
        if (v->retry_after == 0)
            v->retry_after = 1;
    }
    v->limit = (uint32_t)burst;
    v->remaining = (uint32_t)floor(b->tokens);
    v->reset_s = rl_ceil((burst - b->tokens) / rate);
    v->window_s = rl_ceil(burst / rate);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void
ratelimit_default(enum key_kind kind, struct ratelimit_policy *p)
{
    p->rate = kind == KEY_SECRET ? 100 : 10;
    p->burst = kind == KEY_SECRET ? 500 : 50;
}

/* A whole decimal number from 1 to RATELIMIT_MAX; -1 otherwise. */
static long
rl_number(const char *s, size_t n)
{
    char tmp[16], *end = NULL;
    long v;

    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (tmp[i] < '0' || tmp[i] > '9')
            return -1;
    errno = 0;
    v = strtol(tmp, &end, 10);
    return errno == 0 && *end == '\0' && v >= 1 && v <= RATELIMIT_MAX ? v : -1;
}

int
ratelimit_parse(const char *text, struct ratelimit_policy *p, char *norm, size_t normlen, char *err,
                size_t errlen)
{
    const char *comma = strchr(text, ',');
    long rate, burst;
    int rc = -1;

    memset(p, 0, sizeof *p);
    if (strcmp(text, "off") == 0) {
        snprintf(norm, normlen, "off");
        rc = 0;
        goto out;
    }
    rate = rl_number(text, comma ? (size_t)(comma - text) : strlen(text));
    burst = comma ? rl_number(comma + 1, strlen(comma + 1)) : rate;
    if (rate < 0 || burst < 0) {
        snprintf(err, errlen,
                 "want RATE (requests per second) or RATE,BURST, whole numbers from 1 to %d, "
                 "or off",
                 RATELIMIT_MAX);
        goto out;
    }
    p->rate = (uint32_t)rate;
    p->burst = (uint32_t)burst;
    snprintf(norm, normlen, "%ld,%ld", rate, burst);
    rc = 0;
out:
    return rc;
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for ratelimit.h: bucket arithmetic on a given clock, the remembered policy
 * and its expiry, the headers' numbers, setting values, and exactness across threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/ratelimit.h"

static void
key_of(int n, uint8_t key[32])
{
    memset(key, 0, 32);
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(n * 31 + i * 7);
}

static void
test_burst_then_refill(void **state)
{
    struct ratelimit *rl = ratelimit_new();
    struct ratelimit_policy p = {2, 3}; /* 2/s, burst 3 */
    struct ratelimit_verdict v;
    uint8_t k[32];
    int64_t t = 1000000;

    (void)state;
    key_of(1, k);
    assert_int_equal(ratelimit_take(rl, k, NULL, t, &v), RL_NEED_POLICY);
    assert_int_equal(ratelimit_take(rl, k, &p, t, &v), RL_OK);
    assert_int_equal(v.limit, 3);
    assert_int_equal(v.remaining, 2);
    assert_int_equal(v.window_s, 2); /* 3 / 2, rounded up */
    assert_int_equal(ratelimit_take(rl, k, NULL, t, &v), RL_OK);
    assert_int_equal(ratelimit_take(rl, k, NULL, t, &v), RL_OK);
    assert_int_equal(v.remaining, 0);
    assert_int_equal(v.reset_s, 2); /* 3 tokens at 2/s */
    assert_int_equal(ratelimit_take(rl, k, NULL, t, &v), RL_LIMITED);
    assert_int_equal(v.retry_after, 1);
    /* half a second later one token is back */
    assert_int_equal(ratelimit_take(rl, k, NULL, t + 499999, &v), RL_LIMITED);
    assert_int_equal(ratelimit_take(rl, k, NULL, t + 500000, &v), RL_OK);
    assert_int_equal(ratelimit_take(rl, k, NULL, t + 500000, &v), RL_LIMITED);
    /* a long pause fills the bucket to the burst, not beyond */
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_take(rl, k, NULL, t + 4000000, &v), RL_OK);
    assert_int_equal(ratelimit_take(rl, k, NULL, t + 4000000, &v), RL_LIMITED);
    ratelimit_free(rl);
}

static void
test_policy_expires_and_keys_are_separate(void **state)
{
    struct ratelimit *rl = ratelimit_new();
    struct ratelimit_policy one = {1, 1}, off = {0, 0};
    struct ratelimit_verdict v;
    uint8_t a[32], b[32];
    int64_t t = 5000000, ttl = RATELIMIT_POLICY_TTL_MS * 1000LL;

    (void)state;
    key_of(2, a);
    key_of(3, b);
    assert_int_equal(ratelimit_take(rl, a, &one, t, &v), RL_OK);
    assert_int_equal(ratelimit_take(rl, a, NULL, t, &v), RL_LIMITED);
    assert_int_equal(ratelimit_take(rl, b, &one, t, &v), RL_OK); /* its own bucket */
    assert_int_equal(ratelimit_take(rl, a, NULL, t + ttl, &v), RL_OK);
    assert_int_equal(ratelimit_take(rl, a, NULL, t + ttl + 1, &v), RL_NEED_POLICY);
    /* unlimited: always OK, no headers */
    assert_int_equal(ratelimit_take(rl, a, &off, t + ttl + 1, &v), RL_OK);
    assert_int_equal(v.limit, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ratelimit_take(rl, a, NULL, t + ttl + 1, &v), RL_OK);
    ratelimit_free(rl);
}

static void
test_many_keys_grow_the_table(void **state)
{
    struct ratelimit *rl = ratelimit_new();
    struct ratelimit_policy p = {1, 2};
    struct ratelimit_verdict v;
    uint8_t k[32];

    (void)state;
    for (int i = 0; i < 5000; i++) {
        key_of(i + 10, k);
        memcpy(k, &i, sizeof i); /* distinct whatever the pattern */
        memcpy(k + 8, &i, sizeof i);
        assert_int_equal(ratelimit_take(rl, k, &p, 1, &v), RL_OK);
    }
    for (int i = 0; i < 5000; i++) {
        key_of(i + 10, k);
        memcpy(k, &i, sizeof i);
        memcpy(k + 8, &i, sizeof i);
        assert_int_equal(ratelimit_take(rl, k, NULL, 1, &v), RL_OK);
        assert_int_equal(ratelimit_take(rl, k, NULL, 1, &v), RL_LIMITED);
    }
    ratelimit_free(rl);
}

struct race {
    struct ratelimit *rl;
    uint8_t key[32];
    atomic_int ok;
};

static void *
race_main(void *arg)
{
    struct race *r = arg;
    struct ratelimit_verdict v;

    for (int i = 0; i < 2000; i++)
        if (ratelimit_take(r->rl, r->key, NULL, 7, &v) == RL_OK)
            atomic_fetch_add(&r->ok, 1);
    return NULL;
}

static void
test_exact_across_threads(void **state)
{
    struct race r = {.rl = ratelimit_new()};
    struct ratelimit_policy p = {1, 1000};
    struct ratelimit_verdict v;
    pthread_t t[4];

    (void)state;
    key_of(4, r.key);
    atomic_init(&r.ok, 0);
    assert_int_equal(ratelimit_take(r.rl, r.key, &p, 7, &v), RL_OK);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, race_main, &r);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&r.ok), 999); /* the clock stands still: no refill */
    ratelimit_free(r.rl);
}

static void
test_parse(void **state)
{
    struct ratelimit_policy p;
    char norm[64], err[160];
    static const char *const bad[] = {"",
                                      "abc",
                                      "0",
                                      "1,0",
                                      "-1",
                                      "10,",
                                      ",10",
                                      "1000001",
                                      "1.5",
                                      "10 ,20",
                                      "10,20,30",
                                      "OFF",
                                      "99999999999999999999"};

    (void)state;
    assert_int_equal(ratelimit_parse("100", &p, norm, sizeof norm, err, sizeof err), 0);
    assert_int_equal(p.rate, 100);
    assert_int_equal(p.burst, 100);
    assert_string_equal(norm, "100,100");
    assert_int_equal(ratelimit_parse("5,50", &p, norm, sizeof norm, err, sizeof err), 0);
    assert_int_equal(p.rate, 5);
    assert_int_equal(p.burst, 50);
    assert_int_equal(ratelimit_parse("off", &p, norm, sizeof norm, err, sizeof err), 0);
    assert_int_equal(p.rate, 0);
    assert_string_equal(norm, "off");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(ratelimit_parse(bad[i], &p, norm, sizeof norm, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
    ratelimit_default(KEY_SECRET, &p);
    assert_int_equal(p.rate, 100);
    assert_int_equal(p.burst, 500);
    ratelimit_default(KEY_PUBLISHABLE, &p);
    assert_int_equal(p.rate, 10);
    assert_int_equal(p.burst, 50);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_policy_expires_and_keys_are_separate),
        cmocka_unit_test(test_many_keys_grow_the_table),
        cmocka_unit_test(test_exact_across_threads),
        cmocka_unit_test(test_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

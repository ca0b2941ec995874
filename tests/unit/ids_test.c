/* SPDX-License-Identifier: MIT */
/* Unit tests for ids.h: UUIDv7/v4 shapes and ordering, short, event, request and org ids,
 * API keys and their parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
assert_uuid_shape(const char *s, char version)
{
    assert_int_equal(strlen(s), 36);
    assert_true(ids_is_uuid(s));
    assert_int_equal(s[8], '-');
    assert_int_equal(s[13], '-');
    assert_int_equal(s[18], '-');
    assert_int_equal(s[23], '-');
    assert_int_equal(s[14], version);
    assert_non_null(strchr("89ab", s[19]));
}

static void
test_uuid7_shape_and_time(void **state)
{
    char id[IDS_UUID_LEN], hex[13], want[13];
    int64_t ms = clock_now_ms();

    (void)state;
    ids_uuid7(ms, id);
    assert_uuid_shape(id, '7');
    /* the first 48 bits are the Unix time in ms */
    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    snprintf(want, sizeof want, "%012llx", (unsigned long long)ms);
    assert_string_equal(hex, want);
}

static void
test_uuid7_strictly_increasing_same_ms(void **state)
{
    /* later than anything the previous test made, so the first id carries ms */
    int64_t ms = clock_now_ms() + 3600 * 1000;
    char prev[IDS_UUID_LEN], cur[IDS_UUID_LEN];

    (void)state;
    ids_uuid7(ms, prev);
    assert_uuid_shape(prev, '7');
    for (int i = 0; i < 10000; i++) {
        ids_uuid7(ms, cur);
        assert_uuid_shape(cur, '7');
        if (strcmp(prev, cur) >= 0)
            fail_msg("id %d not increasing: %s then %s", i, prev, cur);
        memcpy(prev, cur, sizeof prev);
    }
    /* the clock going backwards does not break the order either */
    ids_uuid7(1, cur);
    assert_uuid_shape(cur, '7');
    assert_true(strcmp(prev, cur) < 0);
    ids_uuid7(0, cur);
    assert_true(strcmp(prev, cur) < 0);
}

static void
test_uuid4_shape(void **state)
{
    char a[IDS_UUID_LEN], b[IDS_UUID_LEN];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        ids_uuid4(a);
        assert_uuid_shape(a, '4');
    }
    ids_uuid4(b);
    assert_string_not_equal(a, b);
}

static void
test_short_ids(void **state)
{
    char s[IDS_SHORT_LEN], other[IDS_SHORT_LEN];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        ids_short(s);
        assert_int_equal(strlen(s), 10);
        assert_int_equal(strspn(s, crockford), 10);
        assert_true(ids_is_short(s));
    }
    ids_short(other);
    assert_string_not_equal(s, other);
    assert_true(ids_is_short("K7QM2X9PTA"));
    assert_true(ids_is_short("0000000000"));
    assert_false(ids_is_short("K7QM2X9PT"));   /* 9 */
    assert_false(ids_is_short("K7QM2X9PTAB")); /* 11 */
    assert_false(ids_is_short("k7qm2x9pta"));  /* lower case */
    assert_false(ids_is_short("K7QM2X9PTI"));  /* I, L, O, U are not Crockford */
    assert_false(ids_is_short("K7QM2X9PTL"));
    assert_false(ids_is_short("K7QM2X9PTO"));
    assert_false(ids_is_short("K7QM2X9PTU"));
    assert_false(ids_is_short(""));
}

static void
test_event_ids(void **state)
{
    char e[IDS_EVENT_LEN], prev[IDS_EVENT_LEN];
    int64_t ms = clock_now_ms() + 7200 * 1000;

    (void)state;
    ids_event(ms, prev);
    assert_int_equal(strlen(prev), 36);
    assert_memory_equal(prev, "evt_", 4);
    assert_true(ids_is_event(prev));
    /* the hex of a UUIDv7: version nibble 7 at offset 12 */
    assert_int_equal(prev[4 + 12], '7');
    for (int i = 0; i < 100; i++) {
        ids_event(ms, e);
        assert_true(ids_is_event(e));
        assert_true(strcmp(prev, e) < 0);
        memcpy(prev, e, sizeof prev);
    }
    assert_false(ids_is_event("evt_019A5F7E3B2C7D419A8E2F6C1D0B4E77")); /* upper case */
    assert_false(ids_is_event("evx_019a5f7e3b2c7d419a8e2f6c1d0b4e77"));
    assert_false(ids_is_event("evt_019a5f7e3b2c7d419a8e2f6c1d0b4e7"));
    assert_false(ids_is_event("evt_019a5f7e3b2c7d419a8e2f6c1d0b4e777"));
    assert_false(ids_is_event("evt_019a5f7e-3b2c-7d41-9a8e-2f6c1d0b"));
    assert_true(ids_is_event("evt_019a5f7e3b2c7d419a8e2f6c1d0b4e77"));
}

static void
test_request_and_org_ids(void **state)
{
    char r[IDS_REQUEST_LEN], o[IDS_ORG_LEN];

    (void)state;
    for (int i = 0; i < 100; i++) {
        ids_request(r);
        assert_int_equal(strlen(r), 24);
        assert_memory_equal(r, "req_", 4);
        assert_int_equal(strspn(r + 4, base62), 20);
        ids_org(o);
        assert_int_equal(strlen(o), 24);
        assert_memory_equal(o, "org_", 4);
        assert_int_equal(strspn(o + 4, "0123456789abcdefghjkmnpqrstvwxyz"), 20);
    }
}

static void
test_keys_round_trip(void **state)
{
    static const struct {
        enum key_kind kind;
        enum key_mode mode;
        const char *prefix;
    } cases[] = {
        {KEY_PUBLISHABLE, MODE_TEST, "pk_test_"},
        {KEY_SECRET, MODE_TEST, "sk_test_"},
        {KEY_PUBLISHABLE, MODE_LIVE, "pk_live_"},
        {KEY_SECRET, MODE_LIVE, "sk_live_"},
    };
    char key[IDS_KEY_LEN], other[IDS_KEY_LEN];
    enum key_kind kind;
    enum key_mode mode;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int j = 0; j < 50; j++) {
            ids_key(cases[i].kind, cases[i].mode, key);
            assert_int_equal(strlen(key), 40);
            assert_memory_equal(key, cases[i].prefix, 8);
            assert_int_equal(strspn(key + 8, base62), 32);
            kind = (enum key_kind) - 1;
            mode = (enum key_mode) - 1;
            assert_int_equal(ids_key_parse(key, &kind, &mode), 0);
            assert_int_equal(kind, cases[i].kind);
            assert_int_equal(mode, cases[i].mode);
        }
        ids_key(cases[i].kind, cases[i].mode, other);
        assert_string_not_equal(key, other);
    }
    assert_string_equal(ids_mode_name(MODE_TEST), "test");
    assert_string_equal(ids_mode_name(MODE_LIVE), "live");
}

static void
test_key_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "sk_test_",
        "sk_test_0123456789abcdefghijABCDEFGHIJ0",   /* 31 */
        "sk_test_0123456789abcdefghijABCDEFGHIJ012", /* 33 */
        "sk_test_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",  /* 32 bad chars */
        "sk_test_0123456789abcdefghijABCDEFGHIJ-1",  /* one bad char */
        "sk_test_0123456789abcdefghijABCDEFGHIJ 1",
        "rk_test_0123456789abcdefghijABCDEFGHIJ01",
        "sk_prod_0123456789abcdefghijABCDEFGHIJ01",
        "SK_TEST_0123456789abcdefghijABCDEFGHIJ01",
        "sk_TEST_0123456789abcdefghijABCDEFGHIJ01",
        "sk-test_0123456789abcdefghijABCDEFGHIJ01",
        "sk_test-0123456789abcdefghijABCDEFGHIJ01",
        "sktest__0123456789abcdefghijABCDEFGHIJ01",
        "pk_lives0123456789abcdefghijABCDEFGHIJ01",
        " sk_test_0123456789abcdefghijABCDEFGHIJ0",
    };
    enum key_kind kind;
    enum key_mode mode;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ids_key_parse(bad[i], &kind, &mode) != -1)
            fail_msg("ids_key_parse accepted '%s'", bad[i]);
    }
    assert_int_equal(ids_key_parse("sk_test_0123456789abcdefghijABCDEFGHIJ01", &kind, &mode), 0);
    assert_int_equal(kind, KEY_SECRET);
    assert_int_equal(mode, MODE_TEST);
    assert_int_equal(ids_key_parse("pk_live_0123456789abcdefghijABCDEFGHIJ01", &kind, &mode), 0);
    assert_int_equal(kind, KEY_PUBLISHABLE);
    assert_int_equal(mode, MODE_LIVE);
}

static void
test_is_uuid(void **state)
{
    static const char *const bad[] = {
        "",
        "019A5F7E-3B2C-7D41-9A8E-2F6C1D0B4E77", /* upper case */
        "019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4E77", /* one upper-case digit */
        "019a5f7e3-b2c-7d41-9a8e-2f6c1d0b4e77", /* dash moved */
        "019a5f7e-3b2c7-d41-9a8e-2f6c1d0b4e77",
        "019a5f7e-3b2c-7d41-9a8e2-f6c1d0b4e77",
        "019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e7",   /* 35 */
        "019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e777", /* 37 */
        "019a5f7e03b2c07d4109a8e02f6c1d0b4e77",  /* no dashes, 36 */
        "019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e7g",  /* not hex */
        "019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e7-",
        "{19a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e7}",
    };

    (void)state;
    assert_true(ids_is_uuid("019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e77"));
    assert_true(ids_is_uuid("00000000-0000-0000-0000-000000000000"));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ids_is_uuid(bad[i]))
            fail_msg("ids_is_uuid accepted '%s'", bad[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid7_shape_and_time),
        cmocka_unit_test(test_uuid7_strictly_increasing_same_ms),
        cmocka_unit_test(test_uuid4_shape),
        cmocka_unit_test(test_short_ids),
        cmocka_unit_test(test_event_ids),
        cmocka_unit_test(test_request_and_org_ids),
        cmocka_unit_test(test_keys_round_trip),
        cmocka_unit_test(test_key_parse_rejects),
        cmocka_unit_test(test_is_uuid),
    };

    if (crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

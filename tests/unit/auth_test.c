/* SPDX-License-Identifier: MIT */
/* Unit tests for settings.h (allowed_origins), auth.h key creation and crypto.h
 * (SHA-256, HMAC, constant-time compare, sealing, the master key file). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/app.h"
#include "core/auth.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/settings.h"
#include "store/store.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
hex_of(const uint8_t *b, size_t n, char *out)
{
    crypto_hex(b, n, out);
}

/* ---- settings ------------------------------------------------------------------------ */

static void
test_settings_apply_origins(void **state)
{
    char err[512] = "", got[1024];
    char *out = NULL;

    (void)state;
    assert_int_equal(settings_apply("{}", "allowed_origins",
                                    " https://shop.example.com ,https://*.example.org:8443,  "
                                    "http://localhost:3000",
                                    &out, err, sizeof err),
                     0);
    assert_non_null(out);
    assert_string_equal(out, "{\"allowed_origins\":\"https://shop.example.com,"
                             "https://*.example.org:8443,http://localhost:3000\"}");
    settings_get(out, "allowed_origins", got, sizeof got);
    assert_string_equal(got, "https://shop.example.com,https://*.example.org:8443,"
                             "http://localhost:3000");
    settings_get(out, "nothing", got, sizeof got);
    assert_string_equal(got, "");
    free(out);

    /* replacing keeps other members */
    assert_int_equal(settings_apply("{\"other\":\"x\",\"allowed_origins\":\"https://a.example\"}",
                                    "allowed_origins", "https://b.example", &out, err, sizeof err),
                     0);
    settings_get(out, "allowed_origins", got, sizeof got);
    assert_string_equal(got, "https://b.example");
    settings_get(out, "other", got, sizeof got);
    assert_string_equal(got, "x");
    free(out);

    /* an empty value removes the key */
    assert_int_equal(settings_apply("{\"allowed_origins\":\"https://a.example\"}",
                                    "allowed_origins", "", &out, err, sizeof err),
                     0);
    assert_string_equal(out, "{}");
    free(out);
    assert_int_equal(settings_apply("{}", "allowed_origins", "", &out, err, sizeof err), 0);
    assert_string_equal(out, "{}");
    free(out);
}

static void
test_settings_apply_errors(void **state)
{
    static const char *const bad_values[] = {
        "https://shop.example.com/",
        "shop.example.com",
        "https://shop.example.com,ftp//x",
        "https://shop.example.com,,https://b.example",
        " , ",
        "https://shop example.com",
        "https://shop.example.com:99999999",
        "https://*",
    };
    char err[512], *out, *many;
    size_t used = 0;

    (void)state;
    for (size_t i = 0; i < N(bad_values); i++) {
        err[0] = '\0';
        out = (char *)err;
        if (settings_apply("{}", "allowed_origins", bad_values[i], &out, err, sizeof err) != -1)
            fail_msg("allowed_origins=%s accepted", bad_values[i]);
        assert_null(out);
        if (strstr(err, "allowed_origins") == NULL)
            fail_msg("error for '%s' does not name the key: %s", bad_values[i], err);
    }

    /* the message names the bad origin */
    assert_int_equal(settings_apply("{}", "allowed_origins", "https://ok.example,http://bad/x",
                                    &out, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "http://bad/x"));

    /* unknown key */
    err[0] = '\0';
    assert_int_equal(
        settings_apply("{}", "webhook_url", "https://x.example", &out, err, sizeof err), -1);
    assert_null(out);
    assert_non_null(strstr(err, "webhook_url"));
    assert_int_equal(settings_apply("{}", "", "x", &out, err, sizeof err), -1);
    assert_int_equal(
        settings_apply("{}", "allowed_origins ", "https://a.example", &out, err, sizeof err), -1);

    /* 65 origins are too many, 64 are fine */
    many = malloc(65 * 32);
    assert_non_null(many);
    many[0] = '\0';
    for (int i = 0; i < 64; i++)
        used +=
            (size_t)snprintf(many + used, 65 * 32 - used, "%shttps://s%d.example", i ? "," : "", i);
    assert_int_equal(settings_apply("{}", "allowed_origins", many, &out, err, sizeof err), 0);
    free(out);
    snprintf(many + used, 65 * 32 - used, ",https://s64.example");
    assert_int_equal(settings_apply("{}", "allowed_origins", many, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "allowed_origins"));
    free(many);

    /* corrupt stored settings */
    assert_int_equal(
        settings_apply("{not json", "allowed_origins", "https://a.example", &out, err, sizeof err),
        -1);
    assert_null(out);
}

static void
test_settings_origin_allowed(void **state)
{
    static const char settings[] =
        "{\"allowed_origins\":\"https://shop.example.com,https://*.example.org,"
        "http://localhost:3000\"}";
    static const struct {
        const char *origin;
        bool ok;
    } cases[] = {
        {"https://shop.example.com", true},
        {"https://SHOP.example.com", true},
        {"https://a.example.org", true},
        {"https://a.b.example.org", true},
        {"http://localhost:3000", true},
        {"https://example.org", false},
        {"https://evil-example.org", false},
        {"http://shop.example.com", false},
        {"https://shop.example.com:8443", false},
        {"http://localhost:3001", false},
        {"http://localhost", false},
        {"https://www.example.com", false},
        {"https://*.example.org", false}, /* a wildcard is not an origin */
        {"null", false},
        {"", false},
    };

    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        if (settings_origin_allowed(settings, cases[i].origin) != cases[i].ok)
            fail_msg("settings_origin_allowed(%s) != %s", cases[i].origin,
                     cases[i].ok ? "true" : "false");
    }
    assert_false(settings_origin_allowed(settings, NULL));
    assert_false(settings_origin_allowed("{}", "https://shop.example.com"));
    assert_false(settings_origin_allowed("{\"allowed_origins\":\"\"}", "https://a.example"));
    assert_false(settings_origin_allowed("", "https://shop.example.com"));
    assert_false(settings_origin_allowed("garbage", "https://shop.example.com"));
    assert_non_null(settings_help());
}

/* ---- auth_keys_new -------------------------------------------------------------------- */

static void
test_auth_keys_new(void **state)
{
    static const struct {
        enum key_kind kind;
        enum key_mode mode;
        const char *prefix;
    } order[4] = {
        {KEY_PUBLISHABLE, MODE_TEST, "pk_test_"},
        {KEY_SECRET, MODE_TEST, "sk_test_"},
        {KEY_PUBLISHABLE, MODE_LIVE, "pk_live_"},
        {KEY_SECRET, MODE_LIVE, "sk_live_"},
    };
    struct app app;
    struct key_rec keys[4];
    char plain[4][IDS_KEY_LEN];
    char org[IDS_ORG_LEN];
    uint8_t other_master[CRYPTO_MASTER_LEN], hash[CRYPTO_HASH_LEN];
    char opened[IDS_KEY_LEN + 1];
    int64_t before = clock_now_ms(), after;

    (void)state;
    memset(&app, 0, sizeof app);
    for (int i = 0; i < CRYPTO_MASTER_LEN; i++) {
        app.master[i] = (uint8_t)(i * 7 + 1);
        other_master[i] = (uint8_t)(i * 7 + 2);
    }
    ids_org(org);
    auth_keys_new(&app, org, keys, plain);
    after = clock_now_ms();

    for (int i = 0; i < 4; i++) {
        const struct key_rec *k = &keys[i];
        size_t len = strlen(plain[i]);
        enum key_kind kind;
        enum key_mode mode;

        assert_int_equal(k->kind, order[i].kind);
        assert_int_equal(k->mode, order[i].mode);
        assert_int_equal(len, 40);
        assert_memory_equal(plain[i], order[i].prefix, 8);
        assert_int_equal(ids_key_parse(plain[i], &kind, &mode), 0);
        assert_int_equal(kind, order[i].kind);
        assert_int_equal(mode, order[i].mode);
        assert_string_equal(k->org_id, org);
        assert_in_range(k->created_ms, before, after);

        /* lookup handle: SHA-256 of the whole key */
        crypto_sha256(plain[i], len, hash);
        assert_memory_equal(k->hash, hash, CRYPTO_HASH_LEN);

        /* display: publishable in full, secret masked */
        if (order[i].kind == KEY_PUBLISHABLE) {
            assert_string_equal(k->display, plain[i]);
        } else {
            char tail[5];
            size_t dl = strlen(k->display);
            assert_true(dl < len);
            assert_memory_equal(k->display, order[i].prefix, 8);
            assert_null(strstr(k->display, plain[i]));
            assert_null(strstr(k->display, plain[i] + 8)); /* the random part */
            memcpy(tail, plain[i] + len - 4, 5);
            assert_string_equal(k->display + dl - 4, tail);
        }

        /* the sealed copy opens with the master key only */
        assert_non_null(k->sealed);
        assert_int_equal(k->sealed_len, len + CRYPTO_SEAL_EXTRA);
        assert_null(memmem(k->sealed, k->sealed_len, plain[i] + 8, 32));
        memset(opened, 0, sizeof opened);
        assert_int_equal(crypto_open(app.master, k->sealed, k->sealed_len, opened), 0);
        assert_string_equal(opened, plain[i]);
        assert_int_equal(crypto_open(other_master, k->sealed, k->sealed_len, opened), -1);
        /* tampering is detected */
        k->sealed[k->sealed_len - 1] ^= 1;
        assert_int_equal(crypto_open(app.master, k->sealed, k->sealed_len, opened), -1);
        k->sealed[k->sealed_len - 1] ^= 1;
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            assert_string_not_equal(plain[i] + 8, plain[j] + 8);
    for (int i = 0; i < 4; i++)
        key_rec_free(&keys[i]);
}

/* ---- crypto primitives ---------------------------------------------------------------- */

static void
test_sha256_and_hex(void **state)
{
    uint8_t h[CRYPTO_HASH_LEN];
    char hex[2 * CRYPTO_HASH_LEN + 1];
    const uint8_t bytes[] = {0x00, 0x0f, 0xa5, 0xff};

    (void)state;
    crypto_sha256("abc", 3, h);
    hex_of(h, sizeof h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256("", 0, h);
    hex_of(h, sizeof h, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    crypto_hex(bytes, sizeof bytes, hex);
    assert_string_equal(hex, "000fa5ff");
}

static void
test_hmac_sha256_rfc4231(void **state)
{
    uint8_t mac[CRYPTO_HASH_LEN], key1[20], key3[20], data3[50];
    char hex[2 * CRYPTO_HASH_LEN + 1];
    const char *data2 = "what do ya want for nothing?";

    (void)state;
    /* test case 2 */
    crypto_hmac_sha256("Jefe", 4, data2, strlen(data2), mac);
    hex_of(mac, sizeof mac, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 1 */
    memset(key1, 0x0b, sizeof key1);
    crypto_hmac_sha256(key1, sizeof key1, "Hi There", 8, mac);
    hex_of(mac, sizeof mac, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* test case 3 */
    memset(key3, 0xaa, sizeof key3);
    memset(data3, 0xdd, sizeof data3);
    crypto_hmac_sha256(key3, sizeof key3, data3, sizeof data3, mac);
    hex_of(mac, sizeof mac, hex);
    assert_string_equal(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

static void
test_hmac_sha256_long_key(void **state)
{
    /* RFC 4231 test case 6: a 131-byte key is hashed first */
    uint8_t key[131], mac[CRYPTO_HASH_LEN];
    char hex[2 * CRYPTO_HASH_LEN + 1];
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";

    (void)state;
    memset(key, 0xaa, sizeof key);
    crypto_hmac_sha256(key, sizeof key, data, strlen(data), mac);
    hex_of(mac, sizeof mac, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
test_crypto_equal(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    for (int i = 0; i < 32; i++)
        a[i] = b[i] = (uint8_t)i;
    assert_true(crypto_equal(a, b, sizeof a));
    assert_true(crypto_equal(a, b, 0));
    b[31] ^= 0x80;
    assert_false(crypto_equal(a, b, sizeof a));
    assert_true(crypto_equal(a, b, 31));
    b[31] ^= 0x80;
    b[0] ^= 1;
    assert_false(crypto_equal(a, b, sizeof a));
    assert_true(crypto_equal("sk_test_x", "sk_test_x", 9));
    assert_false(crypto_equal("sk_test_x", "sk_test_y", 9));
}

static void
test_seal_open(void **state)
{
    uint8_t master[CRYPTO_MASTER_LEN], sealed[64 + CRYPTO_SEAL_EXTRA], sealed2[sizeof sealed];
    char out[65];
    const char *msg = "sk_live_0123456789abcdefghijABCDEFGHIJ01";
    size_t len = strlen(msg);

    (void)state;
    crypto_random(master, sizeof master);
    crypto_seal(master, msg, len, sealed);
    crypto_seal(master, msg, len, sealed2);
    /* fresh nonce each time */
    assert_false(crypto_equal(sealed, sealed2, len + CRYPTO_SEAL_EXTRA));
    memset(out, 0, sizeof out);
    assert_int_equal(crypto_open(master, sealed, len + CRYPTO_SEAL_EXTRA, out), 0);
    assert_string_equal(out, msg);
    memset(out, 0, sizeof out);
    assert_int_equal(crypto_open(master, sealed2, len + CRYPTO_SEAL_EXTRA, out), 0);
    assert_string_equal(out, msg);
    /* truncated blobs */
    assert_int_equal(crypto_open(master, sealed, CRYPTO_SEAL_EXTRA - 1, out), -1);
    assert_int_equal(crypto_open(master, sealed, len + CRYPTO_SEAL_EXTRA - 1, out), -1);
    /* an empty secret */
    crypto_seal(master, "", 0, sealed);
    assert_int_equal(crypto_open(master, sealed, CRYPTO_SEAL_EXTRA, out), 0);
    /* random_below stays below */
    for (int i = 0; i < 1000; i++)
        assert_true(crypto_random_below(62) < 62);
}

/* ---- master key file ---------------------------------------------------------------- */

static void
write_file(const char *path, const char *text, mode_t mode)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void
test_master_load(void **state)
{
    char dir[] = "/tmp/orderd-auth-test-XXXXXX";
    char path[256], err[512];
    uint8_t k1[CRYPTO_MASTER_LEN], k2[CRYPTO_MASTER_LEN], zero[CRYPTO_MASTER_LEN] = {0};
    uint8_t want[CRYPTO_MASTER_LEN];
    struct stat st;
    char buf[128];
    ssize_t n;
    int fd;
    static const char valid_hex[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/master.key", dir);

    /* absent: created with mode 0600, 64 hex digits and a newline */
    memset(k1, 0, sizeof k1);
    err[0] = '\0';
    if (crypto_master_load(path, k1, err, sizeof err) != 0)
        fail_msg("crypto_master_load: %s", err);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_int_equal(n, 65);
    buf[n] = '\0';
    assert_int_equal(strspn(buf, "0123456789abcdef"), 64);
    assert_int_equal(buf[64], '\n');
    assert_false(crypto_equal(k1, zero, sizeof k1));

    /* loaded again: the same key */
    memset(k2, 0, sizeof k2);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), 0);
    assert_memory_equal(k1, k2, sizeof k1);

    /* a known key, without a trailing newline */
    write_file(path, valid_hex, 0600);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), 0);
    for (int i = 0; i < CRYPTO_MASTER_LEN; i++)
        want[i] = (uint8_t)i;
    assert_memory_equal(k2, want, sizeof want);

    /* readable by group or others: refused */
    write_file(path, valid_hex, 0644);
    err[0] = '\0';
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);
    assert_true(err[0] != '\0');
    write_file(path, valid_hex, 0640);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);
    write_file(path, valid_hex, 0602);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);

    /* garbage, too short, too long */
    write_file(path, "this is not a master key, only some garbage text that is long enough\n",
               0600);
    err[0] = '\0';
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);
    assert_true(err[0] != '\0');
    write_file(path, "0001020304\n", 0600);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);
    write_file(path, "", 0600);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);
    write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021\n",
               0600);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);
    write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n", 0600);
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);

    /* a directory that does not exist */
    unlink(path);
    snprintf(path, sizeof path, "%s/missing/master.key", dir);
    err[0] = '\0';
    assert_int_equal(crypto_master_load(path, k2, err, sizeof err), -1);
    assert_true(err[0] != '\0');

    snprintf(path, sizeof path, "%s/master.key", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_apply_origins),
        cmocka_unit_test(test_settings_apply_errors),
        cmocka_unit_test(test_settings_origin_allowed),
        cmocka_unit_test(test_auth_keys_new),
        cmocka_unit_test(test_sha256_and_hex),
        cmocka_unit_test(test_hmac_sha256_rfc4231),
        cmocka_unit_test(test_hmac_sha256_long_key),
        cmocka_unit_test(test_crypto_equal),
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_master_load),
    };

    if (crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

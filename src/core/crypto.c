/* SPDX-License-Identifier: MIT */
/*
 * crypto.c -- libsodium behind crypto.h. The master key file is 32 random bytes,
 * hex-encoded on one line, mode 0600; it never enters the database.
 */
#include "core/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
crypto_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

/* Small draws (ids) come from a per-thread pool refilled from the kernel, so an id is
 * not one getrandom syscall per character; every pooled byte is used once and wiped. */
#define POOL_SIZE 1024
static _Thread_local uint8_t pool[POOL_SIZE];
static _Thread_local size_t pool_left;

void
crypto_random(void *buf, size_t len)
{
    if (len > POOL_SIZE / 8) {
        randombytes_buf(buf, len);
        return;
    }
    if (pool_left < len) {
        randombytes_buf(pool, sizeof pool);
        pool_left = sizeof pool;
    }
    memcpy(buf, pool + sizeof pool - pool_left, len);
    sodium_memzero(pool + sizeof pool - pool_left, len);
    pool_left -= len;
}

uint32_t
crypto_random_below(uint32_t upper)
{
    return randombytes_uniform(upper);
}

void
crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
    crypto_hash_sha256(out, data, len);
}

void
crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                   uint8_t out[CRYPTO_HASH_LEN])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, data, len);
    crypto_auth_hmacsha256_final(&st, out);
}

bool
crypto_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}

void
crypto_seal(const uint8_t master[CRYPTO_MASTER_LEN], const void *plain, size_t len, uint8_t *out)
{
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, plain, len, out, master);
}

int
crypto_open(const uint8_t master[CRYPTO_MASTER_LEN], const uint8_t *sealed, size_t sealed_len,
            void *out)
{
    if (sealed_len < CRYPTO_SEAL_EXTRA)
        return -1;
    return crypto_secretbox_open_easy(out, sealed + crypto_secretbox_NONCEBYTES,
                                      sealed_len - crypto_secretbox_NONCEBYTES, sealed, master);
}

void
crypto_hex(const uint8_t *in, size_t len, char *out)
{
    sodium_bin2hex(out, len * 2 + 1, in, len);
}

int
crypto_base64(const uint8_t *in, size_t len, char *out, size_t outlen)
{
    if (outlen < sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL))
        return -1;
    sodium_bin2base64(out, outlen, in, len, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

static int
master_create(const char *path, char *err, size_t errlen)
{
    uint8_t key[CRYPTO_MASTER_LEN];
    char hex[CRYPTO_MASTER_LEN * 2 + 2];
    int fd, rc = -1;

    randombytes_buf(key, sizeof key);
    sodium_bin2hex(hex, sizeof hex - 1, key, sizeof key);
    hex[CRYPTO_MASTER_LEN * 2] = '\n';
    hex[CRYPTO_MASTER_LEN * 2 + 1] = '\0';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create master key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write master key file %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(key, sizeof key);
    sodium_memzero(hex, sizeof hex);
    return rc;
}

int
crypto_master_load(const char *path, uint8_t out[CRYPTO_MASTER_LEN], char *err, size_t errlen)
{
    struct stat st;
    char hex[CRYPTO_MASTER_LEN * 2 + 8];
    size_t binlen = 0;
    ssize_t n;
    int fd = -1, rc = -1;

    if (stat(path, &st) != 0) {
        if (errno != ENOENT || master_create(path, err, errlen) != 0)
            goto fail_stat;
        if (stat(path, &st) != 0)
            goto fail_stat;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(err, errlen,
                 "master key file %s is accessible by group or others (mode %03o); "
                 "run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 0777), path);
        goto out;
    }
    fd = open(path, O_RDONLY);
    if (fd < 0)
        goto fail_stat;
    n = read(fd, hex, sizeof hex - 1);
    if (n < CRYPTO_MASTER_LEN * 2)
        goto fail_format;
    hex[n] = '\0';
    if (sodium_hex2bin(out, CRYPTO_MASTER_LEN, hex, (size_t)n, "\n", &binlen, NULL) != 0 ||
        binlen != CRYPTO_MASTER_LEN)
        goto fail_format;
    rc = 0;
    goto out;
fail_stat:
    snprintf(err, errlen, "cannot read master key file %s: %s", path, strerror(errno));
    goto out;
fail_format:
    snprintf(err, errlen, "master key file %s is not 64 hex digits", path);
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(hex, sizeof hex);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * crypto.h -- the few primitives orderd needs, over libsodium (the only includer of
 * sodium.h): random bytes, SHA-256, HMAC-SHA256, constant-time compare, and sealing of
 * secrets with the server master key (XSalsa20-Poly1305).
 */
#ifndef ORDERD_CRYPTO_H
#define ORDERD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_HASH_LEN   32
#define CRYPTO_MASTER_LEN 32
#define CRYPTO_SEAL_EXTRA (24 + 16) /* nonce + MAC added by crypto_seal */

/* Must be called once before anything else; returns 0 or -1. */
int crypto_init(void);
void crypto_random(void *buf, size_t len);
/* Uniform random integer in [0, upper). */
uint32_t crypto_random_below(uint32_t upper);
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_HASH_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        uint8_t out[CRYPTO_HASH_LEN]);
/* Constant-time equality of two equally long byte strings. */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Seals plain (len bytes) into out (len + CRYPTO_SEAL_EXTRA bytes). */
void crypto_seal(const uint8_t master[CRYPTO_MASTER_LEN], const void *plain, size_t len,
                 uint8_t *out);
/* Opens a sealed blob of sealed_len bytes into out (sealed_len - CRYPTO_SEAL_EXTRA
 * bytes). Returns 0, or -1 when the blob was not sealed with this key. */
int crypto_open(const uint8_t master[CRYPTO_MASTER_LEN], const uint8_t *sealed, size_t sealed_len,
                void *out);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void crypto_hex(const uint8_t *in, size_t len, char *out);
/* Standard Base64 (RFC 4648, with padding) of len bytes into out (outlen bytes, NUL
 * included; 4 * ((len + 2) / 3) + 1 suffice). Returns 0, or -1 when out is too small. */
int crypto_base64(const uint8_t *in, size_t len, char *out, size_t outlen);
/* Loads the master key file, creating it (0600) when absent. Refuses a file readable or
 * writable by group or others. Returns 0, or -1 with a message in err. */
int crypto_master_load(const char *path, uint8_t out[CRYPTO_MASTER_LEN], char *err, size_t errlen);

#endif

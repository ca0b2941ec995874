/* SPDX-License-Identifier: MIT */
/*
 * ids.c -- identifier generation and shape checks (see ids.h). UUIDv7 layout (RFC 9562):
 * 48-bit Unix ms, version 7, 12 bits of sub-ms sequence, variant, 62 random bits. The
 * 60-bit (ms << 12 | seq) prefix is kept strictly increasing under a mutex, so ids
 * from one process sort in creation order even within one millisecond.
 */
#include "core/ids.h"

#include "core/crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford */
static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seq_last;

static void
uuid_format(const uint8_t b[16], char out[IDS_UUID_LEN])
{
    char hex[33];

    crypto_hex(b, 16, hex);
    snprintf(out, IDS_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

static void
uuid7_bytes(int64_t ms, uint8_t b[16])
{
    uint64_t prefix;

    pthread_mutex_lock(&seq_lock);
    prefix = (uint64_t)ms << 12;
    if (prefix <= seq_last)
        prefix = seq_last + 1;
    seq_last = prefix;
    pthread_mutex_unlock(&seq_lock);
    crypto_random(b + 8, 8);
    /* 48 bits of ms, then version 7 and the 12-bit sequence */
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(prefix >> (12 + 8 * (5 - i)));
    b[6] = (uint8_t)(0x70 | ((prefix >> 8) & 0x0f));
    b[7] = (uint8_t)(prefix & 0xff);
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
}

void
ids_uuid7(int64_t ms, char out[IDS_UUID_LEN])
{
    uint8_t b[16];

    uuid7_bytes(ms, b);
    uuid_format(b, out);
}

void
ids_uuid4(char out[IDS_UUID_LEN])
{
    uint8_t b[16];

    crypto_random(b, sizeof b);
    b[6] = (uint8_t)(0x40 | (b[6] & 0x0f));
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
    uuid_format(b, out);
}

/* n uniform characters of alphabet (32 or 62 letters): one random draw per id, with
 * rejection of the bytes that would bias a 62-letter alphabet. */
static void
random_chars(const char *alphabet, uint32_t n_alpha, char *out, size_t n)
{
    uint8_t rnd[64];
    size_t used = sizeof rnd, i = 0;
    uint32_t limit = 256 - 256 % n_alpha;

    while (i < n) {
        if (used == sizeof rnd) {
            crypto_random(rnd, sizeof rnd);
            used = 0;
        }
        if (rnd[used] < limit)
            out[i++] = alphabet[rnd[used] % n_alpha];
        used++;
    }
    out[n] = '\0';
}

void
ids_short(char out[IDS_SHORT_LEN])
{
    random_chars(b32, 32, out, IDS_SHORT_LEN - 1);
}

void
ids_event(int64_t ms, char out[IDS_EVENT_LEN])
{
    uint8_t b[16];

    uuid7_bytes(ms, b);
    memcpy(out, "evt_", 4);
    crypto_hex(b, 16, out + 4);
}

void
ids_request(char out[IDS_REQUEST_LEN])
{
    memcpy(out, "req_", 4);
    random_chars(b62, 62, out + 4, IDS_REQUEST_LEN - 5);
}

void
ids_org(char out[IDS_ORG_LEN])
{
    memcpy(out, "org_", 4);
    random_chars(b32, 32, out + 4, IDS_ORG_LEN - 5);
    for (char *p = out + 4; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

void
ids_key_id(char out[IDS_KEY_ID_LEN])
{
    memcpy(out, "key_", 4);
    random_chars(b32, 32, out + 4, IDS_KEY_ID_LEN - 5);
    for (char *p = out + 4; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

const char *
ids_mode_name(enum key_mode mode)
{
    return mode == MODE_LIVE ? "live" : "test";
}

void
ids_key(enum key_kind kind, enum key_mode mode, char out[IDS_KEY_LEN])
{
    char rnd[33];

    random_chars(b62, 62, rnd, 32);
    snprintf(out, IDS_KEY_LEN, "%s_%s_%s", kind == KEY_SECRET ? "sk" : "pk", ids_mode_name(mode),
             rnd);
}

int
ids_key_parse(const char *key, enum key_kind *kind, enum key_mode *mode)
{
    size_t n = strlen(key);

    if (n != 40 || key[2] != '_' || key[7] != '_')
        return -1;
    if (strncmp(key, "sk", 2) == 0)
        *kind = KEY_SECRET;
    else if (strncmp(key, "pk", 2) == 0)
        *kind = KEY_PUBLISHABLE;
    else
        return -1;
    if (strncmp(key + 3, "test", 4) == 0)
        *mode = MODE_TEST;
    else if (strncmp(key + 3, "live", 4) == 0)
        *mode = MODE_LIVE;
    else
        return -1;
    return strspn(key + 8, b62) == 32 ? 0 : -1;
}

bool
ids_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
            return false;
    }
    return true;
}

bool
ids_is_short(const char *s)
{
    return strlen(s) == IDS_SHORT_LEN - 1 && strspn(s, b32) == IDS_SHORT_LEN - 1;
}

bool
ids_is_event(const char *s)
{
    return strlen(s) == 36 && strncmp(s, "evt_", 4) == 0 && strspn(s + 4, "0123456789abcdef") == 32;
}

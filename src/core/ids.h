/* SPDX-License-Identifier: MIT */
/*
 * ids.h -- identifiers: UUIDv7 order ids (time-ordered, strictly increasing within a
 * process), short ids, event, request and org ids, UUIDv4 org uuids, and API keys.
 */
#ifndef ORDERD_IDS_H
#define ORDERD_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDS_UUID_LEN    37 /* 36 chars + NUL */
#define IDS_SHORT_LEN   11 /* 10 chars + NUL */
#define IDS_EVENT_LEN   37 /* "evt_" + 32 hex + NUL */
#define IDS_REQUEST_LEN 25 /* "req_" + 20 chars + NUL */
#define IDS_ORG_LEN     25 /* "org_" + 20 chars + NUL */
#define IDS_KEY_LEN     48 /* "sk_test_" + 32 chars + NUL (with room) */
#define IDS_KEY_ID_LEN  25 /* "key_" + 20 chars + NUL */

enum key_kind { KEY_PUBLISHABLE = 0, KEY_SECRET = 1 };
enum key_mode { MODE_TEST = 0, MODE_LIVE = 1 };

/* UUIDv7 for time ms; ids made by one process are strictly increasing. */
void ids_uuid7(int64_t ms, char out[IDS_UUID_LEN]);
void ids_uuid4(char out[IDS_UUID_LEN]);
void ids_short(char out[IDS_SHORT_LEN]);
/* "evt_" + the 32 hex digits of a fresh UUIDv7. */
void ids_event(int64_t ms, char out[IDS_EVENT_LEN]);
void ids_request(char out[IDS_REQUEST_LEN]);
void ids_org(char out[IDS_ORG_LEN]);
/* "key_" + 20 lower-case base32 characters: a key's public name. */
void ids_key_id(char out[IDS_KEY_ID_LEN]);
/* "pk_test_…", "sk_live_…": 32 base62 characters of randomness (190 bits). */
void ids_key(enum key_kind kind, enum key_mode mode, char out[IDS_KEY_LEN]);
/* Parses a key's prefix. Returns 0 and sets kind/mode, or -1 when it is not shaped like
 * an orderd key. */
int ids_key_parse(const char *key, enum key_kind *kind, enum key_mode *mode);
bool ids_is_uuid(const char *s);
bool ids_is_short(const char *s);
bool ids_is_event(const char *s);
const char *ids_mode_name(enum key_mode mode);

#endif

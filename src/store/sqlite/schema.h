/* SPDX-License-Identifier: MIT */
/*
 * schema.h -- versioned migrations of the SQLite store's core tables (component
 * "core"; each API's own tables migrate separately, in store/sqlite/<api>.c).
 * Migration N brings the schema from version N-1 to N; applied ones are never edited,
 * only appended to.
 * Every key starts with org_id so the same shape can be distributed by org later.
 */
#ifndef ORDERD_SQLITE_SCHEMA_H
#define ORDERD_SQLITE_SCHEMA_H

static const char *const sqlite_migrations[] = {
    /* 1: orgs, keys, orders, events, idempotency */
    "CREATE TABLE orgs ("
    "  id TEXT PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  settings TEXT NOT NULL DEFAULT '{}',"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE api_keys ("
    "  hash BLOB PRIMARY KEY,"
    "  org_id TEXT NOT NULL REFERENCES orgs(id),"
    "  mode TEXT NOT NULL CHECK (mode IN ('test','live')),"
    "  kind TEXT NOT NULL CHECK (kind IN ('publishable','secret')),"
    "  display TEXT NOT NULL,"
    "  sealed BLOB,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER,"
    "  revoked_ms INTEGER);"
    "CREATE INDEX api_keys_org ON api_keys(org_id);"
    "CREATE TABLE orders ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  short_id TEXT NOT NULL,"
    "  dialect TEXT NOT NULL,"
    "  external_id TEXT,"
    "  status TEXT NOT NULL,"
    "  currency TEXT NOT NULL,"
    "  total_amount INTEGER NOT NULL,"
    "  customer_email TEXT,"
    "  version INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  PRIMARY KEY (org_id, mode, id),"
    "  UNIQUE (org_id, short_id),"
    "  UNIQUE (org_id, mode, dialect, external_id));"
    "CREATE INDEX orders_status ON orders(org_id, mode, status, id);"
    "CREATE INDEX orders_email ON orders(org_id, mode, customer_email, id);"
    "CREATE TABLE events ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  order_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  request_id TEXT NOT NULL,"
    "  data TEXT NOT NULL,"
    "  PRIMARY KEY (org_id, mode, id));"
    "CREATE INDEX events_order ON events(org_id, mode, order_id, id);"
    "CREATE TABLE idempotency ("
    "  org_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  endpoint TEXT NOT NULL,"
    "  fingerprint BLOB NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  headers TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (org_id, mode, key));"
    "CREATE INDEX idempotency_created ON idempotency(created_ms);",
    /* 2: key ids and last use (rotation, revocation), the audit log */
    "ALTER TABLE api_keys ADD COLUMN id TEXT;"
    "ALTER TABLE api_keys ADD COLUMN last_used_ms INTEGER;"
    "UPDATE api_keys SET id = 'key_' || lower(hex(randomblob(10))) WHERE id IS NULL;"
    "CREATE UNIQUE INDEX api_keys_id ON api_keys(id);"
    "CREATE TABLE audit ("
    "  org_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  PRIMARY KEY (org_id, id));",
    /* 3: an event may share its order's body instead of holding a copy: data '' stands for
     * the order's current body (the store writes it so only when the two are equal, and
     * readers use STORE_SQLITE_EVENT_DATA). Before an order's body changes, or the order
     * goes, these triggers copy the old body into its sharing events, so an event keeps
     * the order as it was after its own change. */
    "CREATE TRIGGER orders_body_to_events BEFORE UPDATE OF body ON orders BEGIN "
    "UPDATE events SET data = OLD.body WHERE org_id = OLD.org_id AND mode = OLD.mode AND "
    "order_id = OLD.id AND data = ''; END;"
    "CREATE TRIGGER orders_delete_to_events BEFORE DELETE ON orders BEGIN "
    "UPDATE events SET data = OLD.body WHERE org_id = OLD.org_id AND mode = OLD.mode AND "
    "order_id = OLD.id AND data = ''; END;",
};

#endif

// Key rotation and revocation, last-used times, the audit log, the master key file's
// permissions: `orderd key roll|revoke`, `orderd audit`, `orderd org show`.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Sandbox, api, parseCliJson, minimalOrder } from './lib/harness.mjs';

const T = { timeout: 60_000 };
let sb;
let org;
let srv;

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Keys Co');
  srv = await sb.start();
});
after(async () => { await sb?.cleanup(); });

const show = () => parseCliJson(sb.cli(['org', 'show', org.id]), 'org show');
const audit = () => {
  const r = sb.cli(['audit', org.id]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
};
const create = (key) => api(srv.base, key).post('/v1/orders', minimalOrder());

describe('key roll', () => {
  test('with a grace period both keys work; the new one is listed', T, async () => {
    const r = sb.cli(['key', 'roll', org.id, '--mode', 'test', '--kind', 'secret', '--expires-in', '1h']);
    assert.equal(r.code, 0, r.stderr);
    const rolled = parseCliJson(r, 'key roll');
    assert.match(rolled.key, /^sk_test_[0-9A-Za-z]{32}$/);
    assert.match(rolled.id, /^key_[0-9a-z]{20}$/);
    assert.notEqual(rolled.key, org.keys.test.secret);
    assert.equal((await create(org.keys.test.secret)).status, 201, 'old key inside its grace period');
    assert.equal((await create(rolled.key)).status, 201, 'new key');
    const keys = show().keys.filter((k) => k.mode === 'test' && k.kind === 'secret');
    assert.equal(keys.length, 2);
    const old = keys.find((k) => k.id !== rolled.id);
    assert.ok(old.expires_at, 'the old key has an expiry');
    const hours = (Date.parse(old.expires_at) - Date.now()) / 3_600_000;
    assert.ok(hours > 0.9 && hours <= 1.0, `expires in ~1 h, got ${hours}`);
    assert.equal(keys.find((k) => k.id === rolled.id).expires_at, null);
    org.keys.test.secret = rolled.key;
  });

  test('--expires-in 0: the old key stops at once, the new one works', T, async () => {
    const before = org.keys.test.secret;
    const rolled = parseCliJson(sb.cli(['key', 'roll', org.id, '--mode', 'test', '--kind', 'secret',
      '--expires-in', '0']), 'key roll');
    const r = await create(before);
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.code, 'invalid_api_key');
    assert.equal((await create(rolled.key)).status, 201);
    org.keys.test.secret = rolled.key;
  });

  test('a live key roll leaves test keys alone', T, async () => {
    parseCliJson(sb.cli(['key', 'roll', org.id, '--mode', 'live', '--kind', 'secret', '--expires-in', '0']), 'roll');
    assert.equal((await create(org.keys.test.secret)).status, 201);
    assert.equal((await create(org.keys.live.secret)).status, 401);
  });

  test('bad arguments → exit 2', T, () => {
    for (const args of [
      ['key', 'roll', org.id, '--mode', 'prod', '--kind', 'secret'],
      ['key', 'roll', org.id, '--mode', 'test', '--kind', 'restricted'],
      ['key', 'roll', org.id, '--mode', 'test', '--kind', 'secret', '--expires-in', '3 weeks'],
      ['key', 'roll', org.id],
    ]) {
      const r = sb.cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal(sb.cli(['key', 'roll', 'org_nope', '--mode', 'test', '--kind', 'secret']).code, 1);
  });
});

describe('key revoke', () => {
  test('a revoked publishable key is refused; revoking twice fails', T, async () => {
    sb.setOrg(org.id, 'allowed_origins=https://shop.example.com');
    const pk = org.keys.test.publishable;
    const ok = await api(srv.base, pk).post('/v1/orders', minimalOrder(), { headers: { Origin: 'https://shop.example.com' } });
    assert.equal(ok.status, 201, ok.text);
    const id = show().keys.find((k) => k.key === pk).id;
    const r = sb.cli(['key', 'revoke', org.id, id]);
    assert.equal(r.code, 0, r.stderr);
    const refused = await api(srv.base, pk).post('/v1/orders', minimalOrder(), { headers: { Origin: 'https://shop.example.com' } });
    assert.equal(refused.status, 401);
    assert.ok(show().keys.find((k) => k.id === id).revoked_at);
    const again = sb.cli(['key', 'revoke', org.id, id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no active key/);
  });
});

describe('last use and audit', () => {
  test('last_used_at is recorded (written at the latest when the server stops)', T, async () => {
    assert.equal((await api(srv.base, org.keys.test.secret).get('/v1/orders')).status, 200);
    await srv.stop();
    const used = show().keys.find((k) => k.mode === 'test' && k.kind === 'secret' && k.expires_at === null);
    assert.ok(used.last_used_at, 'last_used_at set');
    assert.ok(Date.now() - Date.parse(used.last_used_at) < 60_000);
    const never = show().keys.find((k) => k.mode === 'live' && k.kind === 'publishable');
    assert.equal(never.last_used_at, null);
    srv = await sb.start();
  });

  test('every key and setting change is in the audit log, newest first', T, () => {
    const entries = audit();
    const actions = entries.map((e) => e.action);
    assert.deepEqual(actions.slice().reverse(),
      ['org.created', 'key.rolled', 'key.rolled', 'key.rolled', 'setting.changed', 'key.revoked']);
    const setting = entries.find((e) => e.action === 'setting.changed');
    assert.deepEqual(setting.detail.allowed_origins, { from: null, to: 'https://shop.example.com' });
    for (const e of entries) {
      assert.match(e.actor, /^cli:/);
      assert.ok(!Number.isNaN(Date.parse(e.at)));
    }
    const limited = sb.cli(['audit', org.id, '--limit', '2']).stdout.trim().split('\n');
    assert.equal(limited.length, 2);
  });
});

describe('master key file', () => {
  test('serve refuses a master key readable by others, with a clear message', T, async () => {
    const keyFile = sb.masterKeyPath;
    assert.ok(fs.existsSync(keyFile));
    await srv.stop();
    fs.chmodSync(keyFile, 0o644);
    try {
      const r = sb.cli(['org', 'show', org.id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /master key file .* accessible by group or others/);
    } finally {
      fs.chmodSync(keyFile, 0o600);
    }
    srv = await sb.start();
    assert.equal((await api(srv.base, org.keys.test.secret).get('/v1/orders')).status, 200);
  });
});

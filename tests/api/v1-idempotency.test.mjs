// Idempotency-Key semantics and concurrent creates.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, assertProblem, listAll, minimalOrder, uniq } from './lib/harness.mjs';

let sb, srv, orgA, orgB, sk, skLive, skB;
const T = { timeout: 120_000 };

before(async () => {
  sb = new Sandbox();
  orgA = sb.createOrg('Idem Org A');
  orgB = sb.createOrg('Idem Org B');
  srv = await sb.start();
  sk = api(srv.base, orgA.keys.test.secret);
  skLive = api(srv.base, orgA.keys.live.secret);
  skB = api(srv.base, orgB.keys.test.secret);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

const withKey = (key) => ({ headers: { 'Idempotency-Key': key } });

async function countByExternalId(client, ext) {
  const r = await client.get(`/v1/orders?limit=100&external_id=${encodeURIComponent(ext)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

describe('replay', () => {
  test('same key and body → same response with Idempotent-Replayed: true, no second order', T, async () => {
    const key = uniq('idem');
    const body = minimalOrder({ external_id: uniq('IDEM') });
    const first = await sk.post('/v1/orders', body, withKey(key));
    assert.equal(first.status, 201, first.text);
    assert.notEqual(first.headers.get('idempotent-replayed'), 'true', 'the first response is not a replay');
    const again = await sk.post('/v1/orders', body, withKey(key));
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.json, first.json);
    assert.equal(again.headers.get('location'), first.headers.get('location'));
    assert.equal(again.headers.get('etag'), first.headers.get('etag'));
    const found = await countByExternalId(sk, body.external_id);
    assert.equal(found.length, 1);
    // a third time, too
    const third = await sk.post('/v1/orders', body, withKey(key));
    assert.equal(third.headers.get('idempotent-replayed'), 'true');
    assert.equal(third.json.id, first.json.id);
  });

  test('same key without external_id still creates a single order', T, async () => {
    const key = uniq('idem-noext');
    const body = minimalOrder({ metadata: { marker: key } });
    const a = await sk.post('/v1/orders', body, withKey(key));
    const b = await sk.post('/v1/orders', body, withKey(key));
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.equal(b.json.id, a.json.id);
    const list = await sk.get('/v1/orders?limit=100');
    assert.equal(list.json.data.filter((o) => o.metadata.marker === key).length, 1);
  });

  test('same key, different body → 422 idempotency_key_reused', T, async () => {
    const key = uniq('idem');
    const body = minimalOrder({ external_id: uniq('IDEM') });
    assert.equal((await sk.post('/v1/orders', body, withKey(key))).status, 201);
    const other = { ...body, line_items: [{ name: 'Other', quantity: 2, unit_price: 100 }] };
    assertProblem(await sk.post('/v1/orders', other, withKey(key)), 422, 'idempotency_key_reused');
    assert.equal((await countByExternalId(sk, body.external_id)).length, 1);
  });

  test('same key, different endpoint → 422 idempotency_key_reused', T, async () => {
    const key = uniq('idem');
    const created = await sk.post('/v1/orders', minimalOrder(), withKey(key));
    assert.equal(created.status, 201, created.text);
    const r = await sk.patch(`/v1/orders/${created.json.id}`, { platform: 'x' }, withKey(key));
    assertProblem(r, 422, 'idempotency_key_reused');
    assert.equal((await sk.get(`/v1/orders/${created.json.id}`)).json.version, 1);
  });

  test('keys are scoped to org and mode', T, async () => {
    const key = uniq('idem-scope');
    const body = minimalOrder();
    const a = await sk.post('/v1/orders', body, withKey(key));
    const l = await skLive.post('/v1/orders', body, withKey(key));
    const b = await skB.post('/v1/orders', body, withKey(key));
    for (const r of [a, l, b]) {
      assert.equal(r.status, 201, r.text);
      assert.notEqual(r.headers.get('idempotent-replayed'), 'true');
    }
    assert.equal(new Set([a.json.id, l.json.id, b.json.id]).size, 3);
    assert.equal(l.json.livemode, true);
  });

  test('a failed first request stores nothing; the key can be used again', T, async () => {
    const key = uniq('idem-fail');
    const bad = minimalOrder({ currency: 'QQQ' });
    const r1 = await sk.post('/v1/orders', bad, withKey(key));
    assert.equal(r1.status, 422, r1.text);
    const r2 = await sk.post('/v1/orders', bad, withKey(key));
    assert.equal(r2.status, 422, r2.text);
    assert.equal(r2.json.code, 'validation_failed');
    assert.notEqual(r2.headers.get('idempotent-replayed'), 'true');
    const good = await sk.post('/v1/orders', minimalOrder(), withKey(key));
    assert.equal(good.status, 201, good.text);
  });

  test('PATCH and cancel replay without a second version', T, async () => {
    const o = (await sk.post('/v1/orders', minimalOrder())).json;
    const k1 = uniq('idem-patch');
    const p1 = await sk.patch(`/v1/orders/${o.id}`, { platform: 'a' }, withKey(k1));
    const p2 = await sk.patch(`/v1/orders/${o.id}`, { platform: 'a' }, withKey(k1));
    assert.equal(p1.status, 200, p1.text);
    assert.equal(p2.status, 200, p2.text);
    assert.equal(p2.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(p2.json, p1.json);
    const k2 = uniq('idem-cancel');
    const c1 = await sk.post(`/v1/orders/${o.id}/cancel`, { reason: 'r' }, withKey(k2));
    const c2 = await sk.post(`/v1/orders/${o.id}/cancel`, { reason: 'r' }, withKey(k2));
    assert.equal(c1.status, 200, c1.text);
    assert.equal(c2.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(c2.json, c1.json);
    const g = await sk.get(`/v1/orders/${o.id}`);
    assert.equal(g.json.version, 3);
    const ev = await sk.get(`/v1/events?order_id=${o.id}&limit=100`);
    assert.deepEqual(ev.json.data.map((e) => e.type), ['order.canceled', 'order.updated', 'order.created']);
  });

  test('bad Idempotency-Key header → 400 invalid_header', T, async () => {
    assertProblem(await sk.post('/v1/orders', minimalOrder(), withKey('')), 400, 'invalid_header', 'empty');
    assertProblem(await sk.post('/v1/orders', minimalOrder(), withKey('k'.repeat(256))), 400, 'invalid_header', '256 chars');
    assertProblem(await sk.post('/v1/orders', minimalOrder(), withKey('a\tb')), 400, 'invalid_header', 'tab');
    const ok = await sk.post('/v1/orders', minimalOrder(), withKey('k'.repeat(255)));
    assert.equal(ok.status, 201, ok.text);
  });
});

describe('concurrency', () => {
  test('64 concurrent POSTs with one Idempotency-Key → exactly one order', T, async () => {
    const key = uniq('idem-race');
    const body = minimalOrder({ external_id: uniq('RACE-IDEM') });
    const rs = await Promise.all(Array.from({ length: 64 }, () => sk.post('/v1/orders', body, withKey(key))));
    const created = rs.filter((r) => r.status === 201);
    const inUse = rs.filter((r) => r.status === 409);
    assert.equal(created.length + inUse.length, 64, `statuses: ${rs.map((r) => r.status).join(',')}\n${rs.find((r) => r.status !== 201 && r.status !== 409)?.text}`);
    assert.ok(created.length >= 1, 'at least one 201');
    for (const r of inUse) {
      assertProblem(r, 409, 'idempotency_key_in_use');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.equal(new Set(created.map((r) => r.json.id)).size, 1, 'all 201 bodies carry the same id');
    const found = await countByExternalId(sk, body.external_id);
    assert.equal(found.length, 1);
    assert.equal(found[0].id, created[0].json.id);
    // afterwards, the key replays
    const after = await sk.post('/v1/orders', body, withKey(key));
    assert.equal(after.status, 201);
    assert.equal(after.headers.get('idempotent-replayed'), 'true');
    assert.equal(after.json.id, created[0].json.id);
  });

  test('64 concurrent creates with one external_id → one 201, 63 × 409 external_id_conflict', T, async () => {
    const ext = uniq('RACE-EXT');
    const rs = await Promise.all(Array.from({ length: 64 }, (_, i) =>
      sk.post('/v1/orders', minimalOrder({ external_id: ext, metadata: { n: String(i) } }))));
    const created = rs.filter((r) => r.status === 201);
    const conflicts = rs.filter((r) => r.status === 409);
    assert.equal(created.length, 1, `statuses: ${rs.map((r) => r.status).join(',')}`);
    assert.equal(conflicts.length, 63);
    const winner = created[0].json.id;
    for (const r of conflicts) {
      const p = assertProblem(r, 409, 'external_id_conflict');
      assert.equal(p.existing_order_id, winner);
      assert.equal(r.headers.get('location'), `/v1/orders/${winner}`);
    }
    const found = await countByExternalId(sk, ext);
    assert.deepEqual(found.map((o) => o.id), [winner]);
  });
});

describe('two processes on one database', () => {
  let srv2, sk2;
  before(async () => {
    srv2 = await sb.start();
    sk2 = api(srv2.base, orgA.keys.test.secret);
  });
  after(async () => { if (srv2?.running) await srv2.stop(); });
  const either = (i) => (i % 2 ? sk2 : sk);

  test('64 concurrent POSTs with one Idempotency-Key over two processes → exactly one order', T, async () => {
    const key = uniq('idem-race2');
    const body = minimalOrder({ external_id: uniq('RACE2-IDEM') });
    const rs = await Promise.all(Array.from({ length: 64 }, (_, i) => either(i).post('/v1/orders', body, withKey(key))));
    const created = rs.filter((r) => r.status === 201);
    const inUse = rs.filter((r) => r.status === 409);
    assert.equal(created.length + inUse.length, 64, `statuses: ${rs.map((r) => r.status).join(',')}\n${rs.find((r) => r.status !== 201 && r.status !== 409)?.text}`);
    assert.ok(created.length >= 1, 'at least one 201');
    for (const r of inUse) assertProblem(r, 409, 'idempotency_key_in_use');
    assert.equal(new Set(created.map((r) => r.json.id)).size, 1, 'all 201 bodies carry the same id');
    const found = await countByExternalId(sk2, body.external_id);
    assert.deepEqual(found.map((o) => o.id), [created[0].json.id]);
    for (const client of [sk, sk2]) {
      const again = await client.post('/v1/orders', body, withKey(key));
      assert.equal(again.status, 201);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.json.id, created[0].json.id);
    }
  });

  test('64 concurrent POSTs with one Idempotency-Key and no external_id over two processes → one order', T, async () => {
    const key = uniq('idem-race3');
    const body = minimalOrder({ metadata: { race: key } });
    const before = (await listAll(sk, '/v1/orders')).length;
    const rs = await Promise.all(Array.from({ length: 64 }, (_, i) => either(i).post('/v1/orders', body, withKey(key))));
    const created = rs.filter((r) => r.status === 201);
    assert.equal(created.length + rs.filter((r) => r.status === 409).length, 64, `statuses: ${rs.map((r) => r.status).join(',')}`);
    assert.equal(new Set(created.map((r) => r.json.id)).size, 1, 'all 201 bodies carry the same id');
    const all = await listAll(sk, '/v1/orders');
    assert.equal(all.length, before + 1, 'one new order');
    assert.equal(all.filter((o) => o.metadata?.race === key).length, 1);
  });

  test('64 concurrent creates with one external_id over two processes → one 201, 63 × 409', T, async () => {
    const ext = uniq('RACE2-EXT');
    const rs = await Promise.all(Array.from({ length: 64 }, (_, i) =>
      either(i).post('/v1/orders', minimalOrder({ external_id: ext, metadata: { n: String(i) } }))));
    const created = rs.filter((r) => r.status === 201);
    const conflicts = rs.filter((r) => r.status === 409);
    assert.equal(created.length, 1, `statuses: ${rs.map((r) => r.status).join(',')}`);
    assert.equal(conflicts.length, 63);
    const winner = created[0].json.id;
    for (const r of conflicts) assert.equal(assertProblem(r, 409, 'external_id_conflict').existing_order_id, winner);
    assert.deepEqual((await countByExternalId(sk, ext)).map((o) => o.id), [winner]);
    assert.deepEqual((await countByExternalId(sk2, ext)).map((o) => o.id), [winner]);
  });
});

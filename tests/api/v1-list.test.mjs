// GET /v1/orders: cursor pagination, stability, filters, bad queries.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, assertProblem, minimalOrder, uniq, listAll } from './lib/harness.mjs';

let sb, srv, org, sk;
const T = { timeout: 60_000 };
const N = 25;
/** created[i] is the i-th order created (oldest first). */
let created = [];
const ids = (list) => list.map((o) => o.id);
const newestFirst = (from, to) => created.slice(from, to).reverse().map((o) => o.id); // [from, to) newest first

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('List Org');
  srv = await sb.start();
  sk = api(srv.base, org.keys.test.secret);
  for (let i = 0; i < N; i++) {
    const body = minimalOrder({
      external_id: uniq(`L${i}`),
      status: i % 5 === 0 ? 'confirmed' : 'pending',
      customer: i % 4 === 0 ? { email: 'Buyer.One@Example.com' } : { email: `other${i}@example.com` },
    });
    const r = await sk.post('/v1/orders', body);
    assert.equal(r.status, 201, r.text);
    created.push(r.json);
  }
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

describe('pagination', () => {
  test('list object shape and default limit 10', T, async () => {
    const r = await sk.get('/v1/orders');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'list');
    assert.equal(r.json.url, '/v1/orders');
    assert.equal(r.json.has_more, true);
    assert.deepEqual(ids(r.json.data), newestFirst(N - 10, N));
    assert.deepEqual(r.json.data[0], created[N - 1], 'list items are full orders');
  });

  test('starting_after walks 25 orders in pages of 10, newest first', T, async () => {
    const p1 = await sk.get('/v1/orders?limit=10');
    assert.deepEqual(ids(p1.json.data), newestFirst(15, 25));
    assert.equal(p1.json.has_more, true);
    const p2 = await sk.get(`/v1/orders?limit=10&starting_after=${p1.json.data.at(-1).id}`);
    assert.equal(p2.status, 200, p2.text);
    assert.deepEqual(ids(p2.json.data), newestFirst(5, 15));
    assert.equal(p2.json.has_more, true);
    const p3 = await sk.get(`/v1/orders?limit=10&starting_after=${p2.json.data.at(-1).id}`);
    assert.deepEqual(ids(p3.json.data), newestFirst(0, 5));
    assert.equal(p3.json.has_more, false);
  });

  test('limit=100 returns everything with has_more false; limit=1 and limit=25', T, async () => {
    const all = await sk.get('/v1/orders?limit=100');
    assert.deepEqual(ids(all.json.data).slice(-N), newestFirst(0, N));
    assert.equal(all.json.has_more, false);
    const one = await sk.get('/v1/orders?limit=1');
    assert.equal(one.json.data.length, 1);
    assert.equal(one.json.has_more, true);
    const exact = await sk.get(`/v1/orders?limit=25&starting_after=${created[N - 1].id}`);
    assert.deepEqual(ids(exact.json.data), newestFirst(0, N - 1));
    assert.equal(exact.json.has_more, false);
  });

  test('ending_before gives the newer neighbours, still newest first', T, async () => {
    const r = await sk.get(`/v1/orders?limit=10&ending_before=${created[4].id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ids(r.json.data), newestFirst(5, 15));
    const r2 = await sk.get(`/v1/orders?limit=10&ending_before=${created[20].id}`);
    assert.deepEqual(ids(r2.json.data), newestFirst(21, 25));
  });

  test('starting_after from the middle with limit=3', T, async () => {
    const r = await sk.get(`/v1/orders?limit=3&starting_after=${created[10].id}`);
    assert.deepEqual(ids(r.json.data), newestFirst(7, 10));
  });

  test('pages stay stable while new orders are created between fetches', T, async () => {
    const p1 = await sk.get('/v1/orders?limit=10');
    assert.equal(p1.status, 200, p1.text);
    const seen = [...ids(p1.json.data)];
    let cursor = p1.json.data.at(-1).id;
    const fresh = [];
    for (;;) {
      for (let k = 0; k < 3; k++) {
        const r = await sk.post('/v1/orders', minimalOrder({ external_id: uniq('NEW') }));
        assert.equal(r.status, 201, r.text);
        fresh.push(r.json.id);
      }
      const p = await sk.get(`/v1/orders?limit=10&starting_after=${cursor}`);
      assert.equal(p.status, 200, p.text);
      seen.push(...ids(p.json.data));
      if (!p.json.has_more) break;
      cursor = p.json.data.at(-1).id;
    }
    assert.equal(new Set(seen).size, seen.length, 'no order appears twice');
    assert.ok(!seen.some((id) => fresh.includes(id)), 'orders created after the first page do not leak into later pages');
    assert.deepEqual(seen.slice(-N), newestFirst(0, N), 'every original order is seen once, in order');
    const top = await sk.get('/v1/orders?limit=3');
    assert.deepEqual(ids(top.json.data), fresh.slice(-3).reverse(), 'new orders are at the top of a fresh first page');
  });
});

describe('filters', () => {
  // Only the 25 original orders carry these emails/statuses patterns; new orders made by the
  // stability test have no customer and are pending.
  test('status', T, async () => {
    const r = await sk.get('/v1/orders?status=confirmed&limit=100');
    assert.equal(r.status, 200, r.text);
    const want = created.filter((o) => o.status === 'confirmed').reverse().map((o) => o.id);
    assert.deepEqual(ids(r.json.data), want);
    assert.ok(r.json.data.every((o) => o.status === 'confirmed'));
    const c = await sk.get('/v1/orders?status=canceled');
    assert.deepEqual(c.json.data, []);
  });

  test('external_id (exact)', T, async () => {
    const r = await sk.get(`/v1/orders?external_id=${encodeURIComponent(created[7].external_id)}`);
    assert.deepEqual(ids(r.json.data), [created[7].id]);
    assert.equal(r.json.has_more, false);
    const prefix = await sk.get(`/v1/orders?external_id=${encodeURIComponent(created[7].external_id.slice(0, -1))}`);
    assert.deepEqual(prefix.json.data.filter((o) => o.id === created[7].id), [], 'a prefix does not match');
  });

  test('customer_email (exact, case-insensitive)', T, async () => {
    const want = created.filter((o) => o.customer.email === 'Buyer.One@Example.com').reverse().map((o) => o.id);
    assert.ok(want.length >= 5);
    for (const q of ['buyer.one@example.com', 'BUYER.ONE@EXAMPLE.COM', 'Buyer.One@Example.com']) {
      const r = await sk.get(`/v1/orders?limit=100&customer_email=${encodeURIComponent(q)}`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(ids(r.json.data), want, q);
    }
    const none = await sk.get(`/v1/orders?customer_email=${encodeURIComponent('buyer.one@example.co')}`);
    assert.deepEqual(none.json.data, []);
  });

  test('filters combine with pagination', T, async () => {
    const want = created.filter((o) => o.customer.email === 'Buyer.One@Example.com').reverse().map((o) => o.id);
    const got = ids(await listAll(sk, '/v1/orders?customer_email=buyer.one%40example.com', { limit: 2 }));
    assert.deepEqual(got, want);
  });

  test('created_gte / created_lte (RFC 3339)', T, async () => {
    const ms = (o) => Date.parse(o.created_at);
    // pick a boundary where the timestamp strictly increases
    let k = 12;
    while (k < N - 1 && ms(created[k - 1]) === ms(created[k])) k++;
    assert.ok(ms(created[k - 1]) < ms(created[k]), 'need two orders with different created_at');
    const t = created[k].created_at;
    const gte = ids(await listAll(sk, `/v1/orders?created_gte=${encodeURIComponent(t)}`));
    for (const o of created) {
      if (ms(o) > ms(created[k])) assert.ok(gte.includes(o.id), `created_gte includes later order ${o.created_at}`);
      if (ms(o) < ms(created[k])) assert.ok(!gte.includes(o.id), `created_gte excludes earlier order ${o.created_at}`);
    }
    assert.ok(gte.includes(created[k].id), 'created_gte is inclusive');
    const lte = ids(await listAll(sk, `/v1/orders?created_lte=${encodeURIComponent(created[k - 1].created_at)}`));
    for (const o of created) {
      if (ms(o) < ms(created[k - 1])) assert.ok(lte.includes(o.id), `created_lte includes earlier order ${o.created_at}`);
      if (ms(o) > ms(created[k - 1])) assert.ok(!lte.includes(o.id), `created_lte excludes later order ${o.created_at}`);
    }
    const hourAgo = new Date(ms(created[0]) - 3600_000).toISOString();
    const hourAhead = new Date(Date.now() + 3600_000).toISOString();
    const both = ids(await listAll(sk, `/v1/orders?created_gte=${encodeURIComponent(hourAgo)}&created_lte=${encodeURIComponent(hourAhead)}`));
    for (const o of created) assert.ok(both.includes(o.id));
    const none = await sk.get(`/v1/orders?created_gte=${encodeURIComponent(hourAhead)}`);
    assert.deepEqual(none.json.data, []);
  });

  test('created_gte / created_lte (Unix seconds)', T, async () => {
    const first = Math.floor(Date.parse(created[0].created_at) / 1000);
    const all = ids(await listAll(sk, `/v1/orders?created_gte=${first}`));
    for (const o of created) assert.ok(all.includes(o.id), 'created_gte=<unix> includes every order');
    const before = await sk.get(`/v1/orders?created_lte=${first - 3600}`);
    assert.equal(before.status, 200, before.text);
    assert.deepEqual(before.json.data, []);
    const future = await sk.get(`/v1/orders?created_gte=${Math.floor(Date.now() / 1000) + 3600}`);
    assert.deepEqual(future.json.data, []);
  });

  test('dialect=v1', T, async () => {
    const r = await sk.get('/v1/orders?dialect=v1&limit=100');
    assert.equal(r.status, 200, r.text);
    for (const o of created) assert.ok(ids(r.json.data).includes(o.id));
    assert.ok(r.json.data.every((o) => o.dialect === 'v1'));
  });
});

describe('bad query values → 400 invalid_query naming the parameter', () => {
  const cases = [
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1.5', 'limit'],
    ['status=shipped', 'status'],
    ['created_gte=yesterday', 'created_gte'],
    ['created_lte=2026-13-45T99:00:00Z', 'created_lte'],
  ];
  for (const [q, name] of cases) {
    test(q, T, async () => {
      const p = assertProblem(await sk.get(`/v1/orders?${q}`), 400, 'invalid_query', q);
      assert.ok(Array.isArray(p.errors) && JSON.stringify(p.errors).includes(name), `errors[] names ${name}: ${JSON.stringify(p.errors)}`);
    });
  }
  test('starting_after and ending_before together', T, async () => {
    assertProblem(await sk.get(`/v1/orders?starting_after=${created[5].id}&ending_before=${created[3].id}`), 400, 'invalid_query');
  });
  test('a cursor that is not an order id', T, async () => {
    const r = await sk.get('/v1/orders?starting_after=not%20an%20id');
    assertProblem(r, 400, 'invalid_query');
  });
});

// Keys, modes, publishable-key rules, CORS, org and mode isolation.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, assertProblem, assertCommonHeaders, minimalOrder, uniq, listAll } from './lib/harness.mjs';

let sb, srv, orgA, orgB;
let skA, skLiveA, skB, skLiveB;
const T = { timeout: 60_000 };
const SHOP = 'https://shop.example.com';
const WILD_SUB = 'https://eu.example.org';
const EVIL = 'https://evil.example.net';

before(async () => {
  sb = new Sandbox();
  orgA = sb.createOrg('Org A');
  orgB = sb.createOrg('Org B');
  sb.setOrg(orgA.id, `allowed_origins=${SHOP},https://*.example.org`);
  sb.setOrg(orgB.uuid, 'allowed_origins=https://b-shop.example.net');
  srv = await sb.start();
  skA = api(srv.base, orgA.keys.test.secret);
  skLiveA = api(srv.base, orgA.keys.live.secret);
  skB = api(srv.base, orgB.keys.test.secret);
  skLiveB = api(srv.base, orgB.keys.live.secret);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

describe('missing and invalid keys', () => {
  test('no Authorization → 401 missing_api_key', T, async () => {
    const anon = api(srv.base, null);
    assertProblem(await anon.get('/v1/orders'), 401, 'missing_api_key', 'GET list');
    assertProblem(await anon.post('/v1/orders', minimalOrder()), 401, 'missing_api_key', 'POST');
    assertProblem(await anon.get('/v1/events'), 401, 'missing_api_key', 'GET events');
  });

  test('unknown or malformed key → 401 invalid_api_key', T, async () => {
    const fake = `sk_test_${'0'.repeat(32)}`;
    assertProblem(await api(srv.base, fake).get('/v1/orders'), 401, 'invalid_api_key', 'unknown sk');
    assertProblem(await api(srv.base, `${orgA.keys.test.secret}x`).get('/v1/orders'), 401, 'invalid_api_key', 'sk with a suffix');
    const h = (v) => api(srv.base, null).get('/v1/orders', { headers: { Authorization: v } });
    assertProblem(await h(`Basic ${Buffer.from('a:b').toString('base64')}`), 401, 'invalid_api_key', 'Basic auth');
    assertProblem(await h('Bearer'), 401, 'invalid_api_key', 'Bearer without a key');
    assertProblem(await h(orgA.keys.test.secret), 401, 'invalid_api_key', 'key without Bearer');
  });

  test('all four keys of an org are distinct and the two secret keys work', T, async () => {
    const ks = [orgA.keys.test.publishable, orgA.keys.test.secret, orgA.keys.live.publishable, orgA.keys.live.secret];
    assert.equal(new Set(ks).size, 4);
    assert.equal((await skA.get('/v1/orders')).status, 200);
    assert.equal((await skLiveA.get('/v1/orders')).status, 200);
  });
});

describe('publishable keys', () => {
  const pk = (k, origin) => api(srv.base, k, origin ? { headers: { Origin: origin } } : {});

  test('pk + listed Origin may create; response carries the CORS headers', T, async () => {
    const r = await pk(orgA.keys.test.publishable, SHOP).post('/v1/orders', minimalOrder());
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.livemode, false);
    assert.equal(r.headers.get('access-control-allow-origin'), SHOP);
    const expose = (r.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    for (const h of ['request-id', 'location', 'etag', 'idempotent-replayed']) {
      assert.ok(expose.includes(h), `Access-Control-Expose-Headers lists ${h}: ${expose}`);
    }
    // the order is really there for the secret key of the same org and mode
    const g = await skA.get(`/v1/orders/${r.json.id}`);
    assert.equal(g.status, 200, g.text);
  });

  test('pk + Origin matching a *. wildcard may create', T, async () => {
    const r = await pk(orgA.keys.test.publishable, WILD_SUB).post('/v1/orders', minimalOrder());
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), WILD_SUB);
  });

  test('live pk creates a live order', T, async () => {
    const r = await pk(orgA.keys.live.publishable, SHOP).post('/v1/orders', minimalOrder());
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.livemode, true);
    assert.equal(r.json.mode, 'live');
  });

  test('pk without Origin or with an unlisted Origin → 403 origin_not_allowed', T, async () => {
    const k = orgA.keys.test.publishable;
    assertProblem(await pk(k, null).post('/v1/orders', minimalOrder()), 403, 'origin_not_allowed', 'no Origin');
    assertProblem(await pk(k, EVIL).post('/v1/orders', minimalOrder()), 403, 'origin_not_allowed', 'unlisted');
    assertProblem(await pk(k, 'http://shop.example.com').post('/v1/orders', minimalOrder()), 403, 'origin_not_allowed', 'other scheme');
    assertProblem(await pk(k, 'https://shop.example.com:8443').post('/v1/orders', minimalOrder()), 403, 'origin_not_allowed', 'other port');
    // org B's origin is not org A's
    assertProblem(await pk(k, 'https://b-shop.example.net').post('/v1/orders', minimalOrder()), 403, 'origin_not_allowed', "org B's origin");
    // and org A's origin is not org B's
    assertProblem(await pk(orgB.keys.test.publishable, SHOP).post('/v1/orders', minimalOrder()), 403, 'origin_not_allowed', "A's origin with B's pk");
  });

  test('pk may do nothing else → 403 permission_denied', T, async () => {
    const created = await skA.post('/v1/orders', minimalOrder());
    assert.equal(created.status, 201, created.text);
    const id = created.json.id;
    const c = pk(orgA.keys.test.publishable, SHOP);
    assertProblem(await c.get('/v1/orders'), 403, 'permission_denied', 'pk list');
    assertProblem(await c.get(`/v1/orders/${id}`), 403, 'permission_denied', 'pk get');
    assertProblem(await c.patch(`/v1/orders/${id}`, { platform: 'x' }), 403, 'permission_denied', 'pk patch');
    assertProblem(await c.post(`/v1/orders/${id}/cancel`, {}), 403, 'permission_denied', 'pk cancel');
    assertProblem(await c.get('/v1/events'), 403, 'permission_denied', 'pk events');
    // nothing changed
    const g = await skA.get(`/v1/orders/${id}`);
    assert.equal(g.json.status, 'pending');
    assert.equal(g.json.version, 1);
    // without an Origin, a pk GET is refused too (either 403 code is in the contract)
    const noOrigin = await pk(orgA.keys.test.publishable, null).get('/v1/orders');
    assert.equal(noOrigin.status, 403, noOrigin.text);
    assert.ok(['permission_denied', 'origin_not_allowed'].includes(noOrigin.json?.code), noOrigin.text);
  });
});

describe('CORS preflight', () => {
  const preflight = (p, origin) => api(srv.base, null).options(p, {
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization, content-type, idempotency-key',
    },
  });

  for (const [label, origin] of [['listed origin', SHOP], ['wildcard origin', WILD_SUB], ["another org's origin", 'https://b-shop.example.net']]) {
    test(`${label} → 204 with the CORS headers`, T, async () => {
      for (const p of ['/v1/orders', '/v1/orders/anything/cancel', '/v1/events']) {
        const r = await preflight(p, origin);
        assert.equal(r.status, 204, `${p}: ${r.text}`);
        assert.equal(r.headers.get('access-control-allow-origin'), origin);
        const methods = (r.headers.get('access-control-allow-methods') ?? '').toUpperCase();
        assert.ok(methods.includes('POST'), `Allow-Methods includes POST: ${methods}`);
        const allowH = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
        for (const h of ['authorization', 'content-type', 'idempotency-key', 'if-match']) {
          assert.ok(allowH.includes(h), `Allow-Headers includes ${h}: ${allowH}`);
        }
        assert.equal(r.headers.get('access-control-max-age'), '600');
        assert.ok(/(^|,\s*)origin(\s*,|$)/i.test(r.headers.get('vary') ?? ''), `Vary: Origin, got ${r.headers.get('vary')}`);
        assert.match(r.headers.get('request-id') ?? '', /^req_/);
      }
    });
  }

  test('unlisted origin → 403 origin_not_allowed', T, async () => {
    const r = await preflight('/v1/orders', EVIL);
    assertProblem(r, 403, 'origin_not_allowed');
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });
});

describe('isolation', () => {
  test("org A's key on org B's order → 404 order_not_found", T, async () => {
    const b = await skB.post('/v1/orders', minimalOrder({ external_id: uniq('B') }));
    assert.equal(b.status, 201, b.text);
    assertProblem(await skA.get(`/v1/orders/${b.json.id}`), 404, 'order_not_found', 'by id');
    assertProblem(await skA.get(`/v1/orders/${b.json.short_id}`), 404, 'order_not_found', 'by short id');
    assertProblem(await skA.patch(`/v1/orders/${b.json.id}`, { platform: 'x' }), 404, 'order_not_found', 'patch');
    assertProblem(await skA.post(`/v1/orders/${b.json.id}/cancel`, undefined), 404, 'order_not_found', 'cancel');
    const listed = await skA.get(`/v1/orders?external_id=${encodeURIComponent(b.json.external_id)}`);
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.json.data, []);
    const ev = await listAll(skA, '/v1/events');
    assert.ok(!ev.some((e) => e.order_id === b.json.id), "org A sees none of org B's events");
    // B's order is untouched
    const g = await skB.get(`/v1/orders/${b.json.id}`);
    assert.equal(g.status, 200);
    assert.equal(g.json.version, 1);
    assert.equal(g.json.status, 'pending');
  });

  test('the same external_id may be used by two orgs and by both modes', T, async () => {
    const ext = uniq('SHARED');
    const r1 = await skA.post('/v1/orders', minimalOrder({ external_id: ext }));
    const r2 = await skB.post('/v1/orders', minimalOrder({ external_id: ext }));
    const r3 = await skLiveA.post('/v1/orders', minimalOrder({ external_id: ext }));
    for (const r of [r1, r2, r3]) assert.equal(r.status, 201, r.text);
    assert.equal(new Set([r1.json.id, r2.json.id, r3.json.id]).size, 3);
  });

  test('test and live never mix: get, list and events', T, async () => {
    const ext = uniq('MODE');
    const t = await skA.post('/v1/orders', minimalOrder({ external_id: ext }));
    const l = await skLiveA.post('/v1/orders', minimalOrder({ external_id: ext, currency: 'USD' }));
    assert.equal(t.status, 201, t.text);
    assert.equal(l.status, 201, l.text);
    assert.equal(t.json.livemode, false);
    assert.equal(t.json.mode, 'test');
    assert.equal(l.json.livemode, true);
    assert.equal(l.json.mode, 'live');

    // GET by id and short id
    assertProblem(await skLiveA.get(`/v1/orders/${t.json.id}`), 404, 'order_not_found', 'live key, test order');
    assertProblem(await skLiveA.get(`/v1/orders/${t.json.short_id}`), 404, 'order_not_found', 'live key, test short id');
    assertProblem(await skA.get(`/v1/orders/${l.json.id}`), 404, 'order_not_found', 'test key, live order');
    assertProblem(await skLiveB.get(`/v1/orders/${l.json.id}`), 404, 'order_not_found', "org B live key, org A's live order");
    assert.equal((await skA.get(`/v1/orders/${t.json.id}`)).status, 200);
    assert.equal((await skLiveA.get(`/v1/orders/${l.json.id}`)).status, 200);

    // lists
    const tl = await skA.get(`/v1/orders?external_id=${encodeURIComponent(ext)}`);
    const ll = await skLiveA.get(`/v1/orders?external_id=${encodeURIComponent(ext)}`);
    assert.deepEqual(tl.json.data.map((o) => o.id), [t.json.id]);
    assert.deepEqual(ll.json.data.map((o) => o.id), [l.json.id]);
    const allTest = await listAll(skA, '/v1/orders');
    const allLive = await listAll(skLiveA, '/v1/orders');
    assert.ok(allTest.every((o) => o.livemode === false), 'test list holds only test orders');
    assert.ok(allLive.every((o) => o.livemode === true), 'live list holds only live orders');
    assert.ok(!allTest.some((o) => o.id === l.json.id));
    assert.ok(!allLive.some((o) => o.id === t.json.id));

    // events
    const evTest = await listAll(skA, '/v1/events');
    const evLive = await listAll(skLiveA, '/v1/events');
    assert.ok(evTest.some((e) => e.order_id === t.json.id && e.type === 'order.created'), 'test key sees the test order.created');
    assert.ok(evLive.some((e) => e.order_id === l.json.id && e.type === 'order.created'), 'live key sees the live order.created');
    assert.ok(!evTest.some((e) => e.order_id === l.json.id), 'test key sees no live event');
    assert.ok(!evLive.some((e) => e.order_id === t.json.id), 'live key sees no test event');
    assert.ok(evTest.every((e) => e.livemode === false));
    assert.ok(evLive.every((e) => e.livemode === true));
    const byOrder = await skLiveA.get(`/v1/events?order_id=${t.json.id}`);
    if (byOrder.status === 200) assert.deepEqual(byOrder.json.data, [], 'live key, order_id filter on a test order');
    else assert.ok(byOrder.status === 400 || byOrder.status === 404, byOrder.text);

    // writes across modes
    assertProblem(await skLiveA.patch(`/v1/orders/${t.json.id}`, { platform: 'x' }), 404, 'order_not_found', 'live patch of a test order');
    assertProblem(await skA.post(`/v1/orders/${l.json.id}/cancel`, undefined), 404, 'order_not_found', 'test cancel of a live order');
  });

  test('a successful response carries the common headers', T, async () => {
    const r = await skA.get('/v1/orders');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/i);
    assertCommonHeaders(r, 'GET /v1/orders');
  });
});

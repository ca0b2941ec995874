// Threekit dialect (docs/dialects/threekit.md): create with every field, items → cart,
// tokens and origins, permissions by token kind × status, lookups, list filters and
// paging, cart changes, updates, errors in the Threekit format, reads through /v1.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, freePort, rawRequest, runCli, uniq } from './lib/harness.mjs';

const T = { timeout: 60_000 };
const SHOP = 'https://shop.example.com';
const WILD = 'https://eu.example.org';
const EVIL = 'https://evil.example.net';
const SHORT_RE = /^[a-zA-Z0-9_-]{7,14}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CFG = (n) => `4444444${n}-4444-4444-8444-444444444444`;
const STATUSES = ['List', 'In Cart', 'New', 'In Progress', 'Complete'];

let sb, srv, org, orgB, orgOpen, tkPort, vendor, mount;

// Threekit client: tk(base)(method, path, { token, auth, body, headers, query }).
function tk(base) {
  return async (method, path, { token, auth, body, headers = {}, query = {}, contentType = 'application/json' } = {}) => {
    const qs = new URLSearchParams();
    if (token) qs.set('bearer_token', token);
    for (const [k, v] of Object.entries(query)) qs.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    const h = { ...headers };
    if (auth) h.Authorization = `Bearer ${auth}`;
    let b;
    if (body !== undefined) {
      b = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      if (contentType) h['Content-Type'] = contentType;
    }
    const q = qs.toString();
    const res = await fetch(`${base}${path}${q ? `?${q}` : ''}`, { method, headers: h, body: b, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text };
  };
}

/** Asserts a Threekit error answer: {error:{status,code,message,errors?},requestId}. */
function assertTkError(res, status, code, ctx = '') {
  const where = `${ctx} → ${res.status} ${res.text.slice(0, 500)}`;
  assert.equal(res.status, status, `status ${where}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `content-type ${where}`);
  assert.ok(res.json && typeof res.json.error === 'object', `error object ${where}`);
  assert.equal(res.json.error.code, code, `code ${where}`);
  assert.equal(res.json.error.status, status, `error.status ${where}`);
  assert.equal(typeof res.json.error.message, 'string', `message ${where}`);
  assert.match(res.json.requestId ?? '', /^req_/, `requestId ${where}`);
  assert.equal(res.headers.get('request-id'), res.json.requestId, `Request-Id header ${where}`);
  return res.json.error;
}

function assertFieldErr(res, field, code, ctx = '') {
  const e = assertTkError(res, 422, 'validation_failed', ctx);
  assert.ok(Array.isArray(e.errors), `errors[] ${ctx}: ${res.text}`);
  const hit = e.errors.find((x) => x.field === field && (code === undefined || x.code === code));
  assert.ok(hit, `expected ${field}/${code} ${ctx}; got ${JSON.stringify(e.errors)}`);
}

function assertOrderShape(o, ctx = '') {
  assert.match(o.id, UUID_RE, `id ${ctx}`);
  assert.match(o.shortId, SHORT_RE, `shortId ${ctx}`);
  assert.equal(o.orgId, org.uuid, `orgId ${ctx}`);
  for (const k of ['name', 'customerId', 'originOrgId', 'platform', 'metadata', 'derivative', 'cart', 'items', 'status', 'createdAt', 'updatedAt']) {
    assert.ok(k in o, `${k} present ${ctx}`);
  }
  assert.ok(!Number.isNaN(Date.parse(o.createdAt)), `createdAt ${ctx}`);
}

const sk = () => org.keys.test.secret;
const pk = () => org.keys.test.publishable;

async function create(body, opts = {}) {
  const r = await vendor('POST', '/api/orders', { token: sk(), body, ...opts });
  assert.equal(r.status, 200, `create: ${r.text}`);
  return r.json;
}

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Threekit A');
  orgB = sb.createOrg('Threekit B');
  orgOpen = sb.createOrg('Threekit server-side');
  sb.setOrg(org.id, `allowed_origins=${SHOP},https://*.example.org`);
  sb.setOrg(orgOpen.id, 'threekit.public_token_without_origin=allow');
  tkPort = await freePort();
  srv = await sb.start({ extraArgs: ['--dialect-listen', `threekit=127.0.0.1:${tkPort}`] });
  vendor = tk(`http://127.0.0.1:${tkPort}`);
  mount = tk(`${srv.base}/threekit`);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

describe('create', () => {
  test('every field of seed 003 is stored and answered; reads back by id, shortId and /v1', T, async () => {
    const body = {
      name: 'Living room set',
      customerId: '11111111-1111-4111-8111-111111111111',
      originOrgId: 'reseller-9',
      platform: { id: 'shop-123', platform: 'shopify', storeName: 'demo' },
      metadata: { Color: 'Red', Size: 3, Nested: { a: [1, 2] } },
      cart: [{ configurationId: CFG(1), count: 2, metadata: { note: 'x', n: 1.5 } }, { configurationId: CFG(2), count: 1 }],
      derivative: { Finish: 'Matte' },
      status: 'In Cart',
      orgId: org.uuid,
    };
    const r = await vendor('POST', '/api/orders', { token: sk(), body });
    assert.equal(r.status, 200, r.text);
    const o = r.json;
    assertOrderShape(o, 'create');
    for (const k of ['name', 'customerId', 'originOrgId', 'platform', 'metadata', 'cart', 'derivative', 'status']) {
      assert.deepEqual(o[k], body[k], k);
    }
    assert.deepEqual(o.items, []);
    assert.equal(o.createdAt, o.updatedAt);
    assert.equal(o.deletedAt, null);
    assert.match(r.headers.get('request-id') ?? '', /^req_/);

    for (const ref of [o.id, o.shortId]) {
      const g = await vendor('GET', `/api/orders/${ref}`, { token: sk(), query: { orgId: org.uuid, cacheScope: 'x', cacheMaxAge: 60 } });
      assert.equal(g.status, 200, g.text);
      assert.deepEqual(g.json, o, `GET ${ref}`);
      const m = await mount('GET', `/api/orders/${ref}`, { auth: sk() });
      assert.deepEqual(m.json, o, `GET /threekit mount ${ref}`);
    }

    const v1 = await api(srv.base, sk()).get(`/v1/orders/${o.id}`);
    assert.equal(v1.status, 200, v1.text);
    assert.equal(v1.json.dialect, 'threekit');
    assert.equal(v1.json.short_id, o.shortId);
    assert.equal(v1.json.status, 'pending', 'In Cart maps to pending');
    assert.equal(v1.json.currency, 'USD');
    assert.equal(v1.json.total_amount, 0);
    assert.equal(v1.json.platform, 'shopify');
    assert.equal(v1.json.customer.id, body.customerId);
    assert.deepEqual(v1.json.line_items.map((l) => [l.external_id, l.quantity, l.unit_price]), [[CFG(1), 2, 0], [CFG(2), 1, 0]]);
    assert.deepEqual(v1.json.threekit.cart, body.cart);
    assert.equal(v1.json.threekit.status, 'In Cart');
    const ev = await api(srv.base, sk()).get(`/v1/events?order_id=${o.id}`);
    assert.deepEqual(ev.json.data.map((e) => e.type), ['order.created']);
  });

  test('defaults: status New, nulls and empty objects, empty cart and items', T, async () => {
    const o = await create({});
    assertOrderShape(o);
    assert.equal(o.status, 'New');
    assert.equal(o.name, null);
    assert.equal(o.customerId, null);
    assert.equal(o.originOrgId, null);
    assert.deepEqual(o.platform, {});
    assert.deepEqual(o.metadata, {});
    assert.deepEqual(o.derivative, {});
    assert.deepEqual(o.cart, []);
    assert.deepEqual(o.items, []);
    const v1 = await api(srv.base, sk()).get(`/v1/orders/${o.id}`);
    assert.deepEqual(v1.json.line_items, []);
    assert.equal(v1.json.status, 'pending');
  });

  test('orgId may be the org id or its UUID; another org → 403', T, async () => {
    assert.equal((await create({ orgId: org.id })).orgId, org.uuid);
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: { orgId: orgB.uuid } }), 403, 'org_mismatch', 'body orgId');
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: {}, query: { orgId: orgB.uuid } }), 403, 'org_mismatch', 'query orgId');
  });

  test('Idempotency-Key replays the create', T, async () => {
    const key = uniq('tk');
    const a = await vendor('POST', '/api/orders', { token: sk(), body: { name: 'idem' }, headers: { 'Idempotency-Key': key } });
    const b = await vendor('POST', '/api/orders', { token: sk(), body: { name: 'idem' }, headers: { 'Idempotency-Key': key } });
    assert.equal(a.status, 200);
    assert.equal(b.json.id, a.json.id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: { name: 'other' }, headers: { 'Idempotency-Key': key } }), 422, 'idempotency_key_reused');
  });
});

describe('deprecated items', () => {
  test('well-formed items are kept as sent and converted into cart', T, async () => {
    const items = [{ id: CFG(1), count: 2 }, CFG(2), { id: CFG(3), count: 1, metadata: { k: 'v' } }, { configurationId: CFG(4), count: 5 }];
    const o = await create({ items });
    assert.deepEqual(o.items, items);
    assert.deepEqual(o.cart, [
      { configurationId: CFG(1), count: 2 },
      { configurationId: CFG(2), count: 1 },
      { configurationId: CFG(3), count: 1, metadata: { k: 'v' } },
      { configurationId: CFG(4), count: 5 },
    ]);
    const v1 = await api(srv.base, sk()).get(`/v1/orders/${o.id}`);
    assert.equal(v1.json.line_items.length, 4);
  });

  test('malformed items: the order is created, items untouched, cart empty', T, async () => {
    for (const items of [
      [{ id: CFG(1), count: 0 }],
      [{ id: 'not-a-uuid', count: 1 }],
      [{ id: CFG(1), count: 1 }, { sku: 'x' }],
      ['hello', 3, null],
      [{ id: CFG(1), count: 1.5 }],
    ]) {
      const o = await create({ items });
      assert.deepEqual(o.items, items, JSON.stringify(items));
      assert.deepEqual(o.cart, [], JSON.stringify(items));
    }
  });

  test('cart and items together: cart is used, items kept as sent', T, async () => {
    const o = await create({ cart: [{ configurationId: CFG(5), count: 1 }], items: [{ id: CFG(6), count: 9 }] });
    assert.deepEqual(o.cart, [{ configurationId: CFG(5), count: 1 }]);
    assert.deepEqual(o.items, [{ id: CFG(6), count: 9 }]);
  });
});

describe('validation (422 in the Threekit format)', () => {
  const cases = [
    ['name over 255', { name: 'x'.repeat(256) }, 'name', 'too_long'],
    ['name not a string', { name: 5 }, 'name', 'invalid_type'],
    ['customerId not a UUID', { customerId: 'cust-1' }, 'customerId', 'invalid_value'],
    ['status unknown', { status: 'Shipped' }, 'status', 'invalid_status'],
    ['cart not an array', { cart: { configurationId: CFG(1), count: 1 } }, 'cart', 'invalid_type'],
    ['count 0', { cart: [{ configurationId: CFG(1), count: 0 }] }, 'cart[0].count', 'out_of_range'],
    ['count fractional', { cart: [{ configurationId: CFG(1), count: 1.5 }] }, 'cart[0].count', 'invalid_type'],
    ['count missing', { cart: [{ configurationId: CFG(1) }] }, 'cart[0].count', 'required'],
    ['configurationId not a UUID', { cart: [{ configurationId: 'abc', count: 1 }] }, 'cart[0].configurationId', 'invalid_value'],
    ['cart entry unknown field', { cart: [{ configurationId: CFG(1), count: 1, price: 3 }] }, 'cart[0].price', 'unknown_field'],
    ['cart metadata bool', { cart: [{ configurationId: CFG(1), count: 1, metadata: { a: true } }] }, 'cart[0].metadata.a', 'invalid_type'],
    ['cart too long', { cart: Array.from({ length: 251 }, () => ({ configurationId: CFG(1), count: 1 })) }, 'cart', 'too_many'],
    ['items not an array', { items: 'x' }, 'items', 'invalid_type'],
    ['platform not an object', { platform: 'shopify' }, 'platform', 'invalid_type'],
    ['platform unknown member', { platform: { shop: 1 } }, 'platform.shop', 'unknown_field'],
    ['platform.platform over 64', { platform: { platform: 'p'.repeat(65) } }, 'platform.platform', 'too_long'],
    ['platform.id not a string', { platform: { id: 12 } }, 'platform.id', 'invalid_type'],
    ['metadata array', { metadata: [] }, 'metadata', 'invalid_type'],
    ['metadata boolean value', { metadata: { a: false } }, 'metadata.a', 'invalid_type'],
    ['derivative number value', { derivative: { a: 1 } }, 'derivative.a', 'invalid_type'],
    ['unknown top-level field', { carts: [] }, 'carts', 'unknown_field'],
    ['orgId wrong type', { orgId: 7 }, 'orgId', 'invalid_type'],
  ];
  for (const [label, body, field, code] of cases) {
    test(label, T, async () => {
      assertFieldErr(await vendor('POST', '/api/orders', { token: sk(), body }), field, code, label);
    });
  }

  test('no order is written by a refused create', T, async () => {
    const before = await vendor('GET', '/api/orders', { token: sk(), query: { perPage: 1 } });
    await vendor('POST', '/api/orders', { token: sk(), body: { status: 'Nope' } });
    const afterList = await vendor('GET', '/api/orders', { token: sk(), query: { perPage: 1 } });
    assert.equal(afterList.json.count, before.json.count);
  });
});

describe('bad input', () => {
  test('malformed JSON, deep JSON, non-object body, no Content-Type', T, async () => {
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: '{"name":' }), 400, 'invalid_json');
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: '{"name":"a","name":"b"}' }), 400, 'invalid_json', 'duplicate key');
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: `${'['.repeat(40)}${']'.repeat(40)}` }), 400, 'json_too_deep');
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: '[1]' }), 400, 'invalid_body');
    assertTkError(await vendor('POST', '/api/orders', { token: sk(), body: '{}', contentType: 'text/plain' }), 415, 'unsupported_media_type');
  });

  test('body over 1 MiB → 413, unknown path → 404, wrong method → 405, all in the Threekit format', T, async () => {
    const big = JSON.stringify({ name: 'x', metadata: { a: 'y'.repeat(1024 * 1024 + 10) } });
    const raw = await rawRequest(tkPort, `POST /api/orders?bearer_token=${sk()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
    assert.equal(raw.status, 413);
    assert.equal(raw.json?.error?.code, 'body_too_large');
    assertTkError(await vendor('GET', '/api/nothing', { token: sk() }), 404, 'route_not_found');
    assertTkError(await mount('GET', '/api/nothing', { token: sk() }), 404, 'route_not_found', 'mount');
    const m = await vendor('DELETE', `/api/orders/${CFG(1)}`, { token: sk() });
    assertTkError(m, 405, 'method_not_allowed');
    assert.match(m.headers.get('allow') ?? '', /GET/);
  });

  test('request headers over 10 KiB → 431 in the Threekit format', T, async () => {
    const raw = await rawRequest(tkPort, `GET /api/orders HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(11 * 1024)}\r\n\r\n`);
    assert.equal(raw.status, 431);
    assert.equal(raw.json?.error?.code, 'headers_too_large');
  });

  test('the server stays healthy', T, async () => {
    const h = await vendor('GET', '/api/orders/healthcheck');
    assert.equal(h.status, 200);
  });
});

describe('tokens and origins', () => {
  test('missing or invalid token → 401', T, async () => {
    assertTkError(await vendor('GET', '/api/orders'), 401, 'missing_token');
    assertTkError(await vendor('POST', '/api/orders', { body: {} }), 401, 'missing_token');
    assertTkError(await vendor('GET', '/api/orders', { token: `sk_test_${'0'.repeat(32)}` }), 401, 'invalid_token');
    assertTkError(await vendor('GET', '/api/orders', { token: '33333333-3333-4333-8333-333333333333' }), 401, 'invalid_token', 'UUID token');
    assertTkError(await vendor('GET', '/api/orders', { headers: { Authorization: `Basic ${sk()}` } }), 401, 'invalid_token');
  });

  test('private token in the query or in Authorization: Bearer', T, async () => {
    assert.equal((await vendor('GET', '/api/orders', { token: sk() })).status, 200);
    assert.equal((await vendor('GET', '/api/orders', { auth: sk() })).status, 200);
  });

  test('public token: allowed Origin, wildcard Referer, refused origin, none', T, async () => {
    const ok = await vendor('POST', '/api/orders', { token: pk(), body: { name: 'from shop' }, headers: { Origin: SHOP } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get('access-control-allow-origin'), SHOP);
    const ref = await vendor('POST', '/api/orders', { token: pk(), body: {}, headers: { Referer: `${WILD}/configurator/page?x=1` } });
    assert.equal(ref.status, 200, ref.text);
    assertTkError(await vendor('POST', '/api/orders', { token: pk(), body: {}, headers: { Origin: EVIL } }), 403, 'origin_not_allowed', 'Origin');
    assertTkError(await vendor('POST', '/api/orders', { token: pk(), body: {}, headers: { Referer: `${EVIL}/a` } }), 403, 'origin_not_allowed', 'Referer');
    assertTkError(await vendor('POST', '/api/orders', { token: pk(), body: {}, headers: { Referer: 'nonsense' } }), 403, 'origin_not_allowed', 'bad Referer');
    assertTkError(await vendor('POST', '/api/orders', { token: pk(), body: {}, headers: { Origin: 'https://example.org' } }), 403, 'origin_not_allowed', 'bare domain of a wildcard');
    assertTkError(await vendor('POST', '/api/orders', { token: pk(), body: {} }), 403, 'origin_required', 'no header');
    // Origin wins over Referer
    assertTkError(await vendor('POST', '/api/orders', { token: pk(), body: {}, headers: { Origin: EVIL, Referer: `${SHOP}/` } }), 403, 'origin_not_allowed', 'Origin first');
  });

  test('threekit.public_token_without_origin=allow accepts a public token from a server', T, async () => {
    const r = await vendor('POST', '/api/orders', { token: orgOpen.keys.test.publishable, body: {} });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.orgId, orgOpen.uuid);
    // an Origin that is not allowed is still refused
    assertTkError(await vendor('POST', '/api/orders', { token: orgOpen.keys.test.publishable, body: {}, headers: { Origin: SHOP } }), 403, 'origin_not_allowed');
  });

  test('public token reads one order, lists only by shortId', T, async () => {
    const o = await create({ name: 'p' });
    const h = { Origin: SHOP };
    assert.equal((await vendor('GET', `/api/orders/${o.id}`, { token: pk(), headers: h })).status, 200);
    assertTkError(await vendor('GET', '/api/orders', { token: pk(), headers: h }), 403, 'forbidden');
    const l = await vendor('GET', '/api/orders', { token: pk(), headers: h, query: { shortId: o.shortId } });
    assert.equal(l.status, 200);
    assert.deepEqual(l.json.orders.map((x) => x.id), [o.id]);
  });

  test('orgs, modes and dialects are isolated', T, async () => {
    const o = await create({ name: 'iso' });
    assertTkError(await vendor('GET', `/api/orders/${o.id}`, { token: orgB.keys.test.secret }), 404, 'order_not_found', 'other org');
    assertTkError(await vendor('GET', `/api/orders/${o.id}`, { token: org.keys.live.secret }), 404, 'order_not_found', 'live key');
    assertTkError(await vendor('GET', `/api/orders/${o.id}`, { token: sk(), query: { orgId: orgB.uuid } }), 403, 'org_mismatch');
    const v1o = await api(srv.base, sk()).post('/v1/orders', { currency: 'EUR', line_items: [{ name: 'W', quantity: 1, unit_price: 1 }] });
    assert.equal(v1o.status, 201);
    assertTkError(await vendor('GET', `/api/orders/${v1o.json.id}`, { token: sk() }), 404, 'order_not_found', 'a /v1 order');
    assertTkError(await vendor('PUT', `/api/orders/${v1o.json.id}`, { token: sk(), body: { name: 'x' } }), 404, 'order_not_found', 'PUT a /v1 order');
    const lb = await vendor('GET', '/api/orders', { token: orgB.keys.test.secret });
    assert.equal(lb.json.count, 0);
  });

  test('CORS preflight with the public token', T, async () => {
    const ok = await vendor('OPTIONS', '/api/orders', { token: pk(), headers: { Origin: SHOP, 'Access-Control-Request-Method': 'POST' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), SHOP);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assertTkError(await vendor('OPTIONS', '/api/orders', { token: pk(), headers: { Origin: EVIL } }), 403, 'origin_not_allowed');
    assert.equal((await vendor('OPTIONS', '/api/orders', { headers: { Origin: WILD } })).status, 204, 'no token: any org allowing it');
  });
});

describe('permissions by token kind × status', () => {
  for (const status of STATUSES) {
    const open = status === 'List' || status === 'In Cart';
    test(`order in ${status}: public token ${open ? 'may' : 'may not'} change it, private may`, T, async () => {
      const o = await create({ status, cart: [{ configurationId: CFG(1), count: 1 }] });
      const h = { Origin: SHOP };
      const put = await vendor('PUT', `/api/orders/${o.shortId}`, { token: pk(), headers: h, body: { name: 'by pk' } });
      const add = await vendor('POST', `/api/orders/${o.id}/cart`, { token: pk(), headers: h, body: [{ configurationId: CFG(2), count: 1 }] });
      const items = await vendor('POST', `/api/orders/${o.id}/items`, { token: pk(), headers: h, body: { cart: [{ configurationId: CFG(2), count: 1 }] } });
      const rep = await vendor('PUT', `/api/orders/${o.id}/cart`, { token: pk(), headers: h, body: [{ configurationId: CFG(3), count: 1 }] });
      if (open) {
        for (const r of [put, add, items, rep]) assert.equal(r.status, 200, r.text);
        assert.equal(put.json.name, 'by pk');
        assert.deepEqual(rep.json.cart, [{ configurationId: CFG(3), count: 1 }]);
      } else {
        for (const r of [put, add, items, rep]) assertTkError(r, 403, 'forbidden', status);
        const g = await vendor('GET', `/api/orders/${o.id}`, { token: sk() });
        assert.deepEqual(g.json, o, 'unchanged');
      }
      const bySk = await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { name: 'by sk' } });
      assert.equal(bySk.status, 200, bySk.text);
      assert.equal(bySk.json.name, 'by sk');
    });
  }

  test('a public token from a refused origin cannot change an open order', T, async () => {
    const o = await create({ status: 'List' });
    assertTkError(await vendor('PUT', `/api/orders/${o.id}`, { token: pk(), headers: { Origin: EVIL }, body: { name: 'x' } }), 403, 'origin_not_allowed');
  });
});

describe('status changes', () => {
  test('forward moves map onto the canonical lifecycle; backward ones are refused', T, async () => {
    const o = await create({ status: 'List' });
    const v1 = api(srv.base, sk());
    const step = async (status, canon) => {
      const r = await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { status } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, status);
      assert.equal((await v1.get(`/v1/orders/${o.id}`)).json.status, canon, status);
    };
    await step('In Cart', 'pending');
    await step('List', 'pending');
    await step('New', 'pending');
    await step('In Progress', 'confirmed');
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { status: 'New' } }), 'status', 'invalid_status_change');
    assert.equal((await v1.get(`/v1/orders/${o.id}`)).json.status, 'confirmed', 'unchanged');
    await step('Complete', 'fulfilled');
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { status: 'In Progress' } }), 'status', 'invalid_status_change');
    const ev = await v1.get(`/v1/events?order_id=${o.id}&limit=100`);
    assert.equal(ev.json.data.filter((e) => e.type === 'order.updated').length, 5);
  });

  test('New can jump to Complete; invalid status value → 422', T, async () => {
    const o = await create({});
    const r = await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { status: 'Complete' } });
    assert.equal(r.status, 200, r.text);
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { status: 'Done' } }), 'status', 'invalid_status');
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { status: null } }), 'status', 'invalid_status');
  });
});

describe('cart changes', () => {
  test('POST /cart adds (same configuration and metadata add up), /items takes legacy entries', T, async () => {
    const o = await create({ status: 'In Cart', cart: [{ configurationId: CFG(1), count: 1 }] });
    const a = await mount('POST', `/api/orders/${o.id}/cart`, { token: sk(), body: [{ configurationId: CFG(1), count: 2 }, { configurationId: CFG(1), count: 1, metadata: { k: 'v' } }] });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json.cart, [{ configurationId: CFG(1), count: 3 }, { configurationId: CFG(1), count: 1, metadata: { k: 'v' } }]);
    const b = await vendor('POST', `/api/orders/${o.shortId}/items`, { token: sk(), body: [{ id: CFG(2), count: 4 }] });
    assert.equal(b.status, 200, b.text);
    assert.deepEqual(b.json.cart.at(-1), { configurationId: CFG(2), count: 4 });
    const c = await vendor('POST', `/api/orders/${o.id}/items`, { token: sk(), body: { items: [CFG(3)] } });
    assert.deepEqual(c.json.cart.at(-1), { configurationId: CFG(3), count: 1 });
    const v1 = await api(srv.base, sk()).get(`/v1/orders/${o.id}`);
    assert.deepEqual(v1.json.line_items.map((l) => l.quantity), [3, 1, 4, 1]);
  });

  test('PUT /cart and a bare-array PUT /{id} replace the cart; {cart} on PUT /{id} too', T, async () => {
    const o = await create({ cart: [{ configurationId: CFG(1), count: 1 }] });
    const a = await vendor('PUT', `/api/orders/${o.id}/cart`, { token: sk(), body: { cart: [{ configurationId: CFG(2), count: 2 }] } });
    assert.deepEqual(a.json.cart, [{ configurationId: CFG(2), count: 2 }]);
    const b = await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: [{ configurationId: CFG(3), count: 3 }] });
    assert.equal(b.status, 200, b.text);
    assert.deepEqual(b.json.cart, [{ configurationId: CFG(3), count: 3 }]);
    const c = await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { cart: [{ configurationId: CFG(4), count: 4 }] } });
    assert.deepEqual(c.json.cart, [{ configurationId: CFG(4), count: 4 }]);
    const d = await vendor('PUT', `/api/orders/${o.id}/cart`, { token: sk(), body: [] });
    assert.deepEqual(d.json.cart, []);
    assert.deepEqual((await api(srv.base, sk()).get(`/v1/orders/${o.id}`)).json.line_items, []);
  });

  test('concurrent additions to one cart are all kept (no lost update)', T, async () => {
    const o = await create({ status: 'List' });
    const n = 24;
    const cfg = (i) => `${String(i).padStart(8, '0')}-4444-4444-8444-444444444444`;
    const rs = await Promise.all(Array.from({ length: n }, (_, i) =>
      vendor('POST', `/api/orders/${o.id}/cart`, { token: sk(), body: [{ configurationId: cfg(i), count: 1 }] })));
    for (const r of rs) assert.equal(r.status, 200, r.text);
    const g = await vendor('GET', `/api/orders/${o.id}`, { token: sk() });
    assert.deepEqual(g.json.cart.map((c) => c.configurationId).sort(), Array.from({ length: n }, (_, i) => cfg(i)).sort());
    const v1 = await api(srv.base, sk()).get(`/v1/orders/${o.id}`);
    assert.equal(v1.json.version, n + 1);
  });

  test('bad cart bodies → 422 / 400; unknown order → 404', T, async () => {
    const o = await create({});
    assertFieldErr(await vendor('POST', `/api/orders/${o.id}/cart`, { token: sk(), body: [] }), 'cart', 'too_short');
    assertFieldErr(await vendor('POST', `/api/orders/${o.id}/cart`, { token: sk(), body: [{ configurationId: CFG(1), count: -1 }] }), '[0].count', 'out_of_range');
    assertFieldErr(await vendor('POST', `/api/orders/${o.id}/cart`, { token: sk(), body: { carts: [] } }), 'carts', 'unknown_field');
    assertTkError(await vendor('POST', `/api/orders/${o.id}/cart`, { token: sk(), body: '"x"' }), 400, 'invalid_body');
    assertTkError(await vendor('POST', `/api/orders/${CFG(9)}/cart`, { token: sk(), body: [{ configurationId: CFG(1), count: 1 }] }), 404, 'order_not_found');
    assertTkError(await vendor('POST', '/api/orders/bad!ref/cart', { token: sk(), body: [{ configurationId: CFG(1), count: 1 }] }), 404, 'order_not_found');
    const full = await create({ cart: Array.from({ length: 250 }, (_, i) => ({ configurationId: CFG(1), count: 1, metadata: { i } })) });
    assertFieldErr(await vendor('POST', `/api/orders/${full.id}/cart`, { token: sk(), body: [{ configurationId: CFG(2), count: 1 }] }), 'cart', 'too_many');
  });
});

describe('updates', () => {
  test('name, metadata and derivative are replaced; PUT of the order as read is a no-op', T, async () => {
    const o = await create({ name: 'a', metadata: { a: '1' }, derivative: { d: 'x' }, platform: { platform: 'woo' }, customerId: '11111111-1111-4111-8111-111111111111' });
    const r = await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { name: null, metadata: { b: 2 }, derivative: { e: 'y' } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, null);
    assert.deepEqual(r.json.metadata, { b: 2 });
    assert.deepEqual(r.json.derivative, { e: 'y' });
    assert.ok(Date.parse(r.json.updatedAt) >= Date.parse(o.updatedAt));
    assert.equal((await api(srv.base, sk()).get(`/v1/orders/${o.id}`)).json.version, 2);
    const again = await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: r.json });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, r.json, 'PUT back unchanged');
    const ev = await api(srv.base, sk()).get(`/v1/events?order_id=${o.id}`);
    assert.deepEqual(ev.json.data.map((e) => e.type), ['order.updated', 'order.created'], 'no event for a no-op');
  });

  test('fields fixed at creation cannot change; unknown fields and orgId mismatch refused', T, async () => {
    const o = await create({ platform: { id: 'p1' }, originOrgId: 'o1' });
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { platform: { id: 'p2' } } }), 'platform', 'not_updatable');
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { originOrgId: 'o2' } }), 'originOrgId', 'not_updatable');
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { customerId: '11111111-1111-4111-8111-111111111111' } }), 'customerId', 'not_updatable');
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { colour: 'x' } }), 'colour', 'unknown_field');
    assertFieldErr(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { metadata: { a: true } } }), 'metadata.a', 'invalid_type');
    assertTkError(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { orgId: orgB.uuid } }), 403, 'org_mismatch');
    assertTkError(await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: 'nope' }), 400, 'invalid_json');
    assert.equal((await vendor('PUT', `/api/orders/${o.id}`, { token: sk(), body: { platform: { id: 'p1' }, originOrgId: 'o1', id: 'ignored' } })).status, 200);
  });
});

describe('list', () => {
  let orders, lorg;
  before(async () => {
    // a fresh org so that counts are exact
    lorg = sb.createOrg('Lister');
    orders = [];
    const specs = [
      { name: 'c', originOrgId: 'r1', platform: { id: 'A-1', platform: 'shopify', storeName: 's1' } },
      { name: 'a', originOrgId: 'r1', platform: { id: 'A-2', platform: 'shopify', storeName: null } },
      { name: 'e', originOrgId: 'r2', platform: { id: 'A-1', platform: 'woo', storeName: 's2' } },
      { name: 'b', platform: {} },
      { name: 'd', originOrgId: 'r2', platform: { id: 'A-3', platform: 'shopify', storeName: 's1' } },
    ];
    for (const s of specs) {
      const r = await vendor('POST', '/api/orders', { token: lorg.keys.test.secret, body: s });
      assert.equal(r.status, 200, r.text);
      orders.push(r.json);
    }
  });
  const ids = (r) => r.json.orders.map((o) => o.name);
  const L = (query) => vendor('GET', '/api/orders', { token: lorg.keys.test.secret, query });

  test('default: newest first, count, page 1, perPage 50, sort -createdAt', T, async () => {
    const r = await L({});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.count, 5);
    assert.equal(r.json.page, 1);
    assert.equal(r.json.perPage, 50);
    assert.equal(r.json.sort, '-createdAt');
    assert.deepEqual(ids(r), ['d', 'b', 'e', 'a', 'c']);
  });

  test('filters: originOrgId, platform JSON (id, platform, storeName, null), shortId', T, async () => {
    assert.deepEqual(ids(await L({ originOrgId: 'r1' })), ['a', 'c']);
    assert.deepEqual(ids(await L({ platform: { id: 'A-1' } })), ['e', 'c']);
    assert.deepEqual(ids(await L({ platform: { id: 'A-1', platform: 'shopify' } })), ['c']);
    assert.deepEqual(ids(await L({ platform: { storeName: 's1' } })), ['d', 'c']);
    assert.deepEqual(ids(await L({ platform: { storeName: null } })), ['b', 'a']);
    assert.deepEqual(ids(await L({ platform: { platform: 'shopify' }, originOrgId: 'r2' })), ['d']);
    const s = await L({ shortId: orders[2].shortId, orgId: lorg.uuid, cacheScope: 'x' });
    assert.deepEqual(ids(s), ['e']);
    assert.equal(s.json.count, 1);
    assert.equal((await L({ shortId: 'ZZZZZZZZZZ' })).json.count, 0);
  });

  test('paging and sort', T, async () => {
    const p1 = await L({ perPage: 2, page: 1, sort: 'name' });
    const p2 = await L({ perPage: 2, page: 2, sort: 'name' });
    const p3 = await L({ perPage: 2, page: 3, sort: 'name' });
    const p4 = await L({ perPage: 2, page: 4, sort: 'name' });
    assert.deepEqual([ids(p1), ids(p2), ids(p3), ids(p4)], [['a', 'b'], ['c', 'd'], ['e'], []]);
    for (const p of [p1, p2, p3, p4]) assert.equal(p.json.count, 5);
    assert.equal(p2.json.page, 2);
    assert.equal(p2.json.sort, 'name');
    assert.deepEqual(ids(await L({ sort: '-name' })), ['e', 'd', 'c', 'b', 'a']);
    assert.deepEqual(ids(await L({ sort: 'createdAt' })), ['c', 'a', 'e', 'b', 'd']);
    assert.deepEqual(ids(await L({ sort: '+createdAt' })), ['c', 'a', 'e', 'b', 'd']);
    const byShort = await L({ sort: 'shortId' });
    assert.deepEqual(byShort.json.orders.map((o) => o.shortId), orders.map((o) => o.shortId).sort());
    const u = await L({ sort: '-updatedAt', perPage: 1 });
    assert.equal(u.json.orders.length, 1);
    assert.equal((await L({ perPage: 1000 })).json.perPage, 100, 'perPage is clamped');
  });

  test('bad query parameters → 400 invalid_query', T, async () => {
    const bad = async (query, field) => {
      const e = assertTkError(await L(query), 400, 'invalid_query', JSON.stringify(query));
      assert.equal(e.errors[0].field, field);
    };
    await bad({ platform: '{"id":' }, 'platform');
    await bad({ platform: '"shopify"' }, 'platform');
    await bad({ platform: { shop: 'x' } }, 'platform');
    await bad({ platform: { id: 5 } }, 'platform');
    await bad({ page: '0' }, 'page');
    await bad({ page: 'x' }, 'page');
    await bad({ perPage: '-1' }, 'perPage');
    await bad({ sort: 'price' }, 'sort');
  });
});

describe('settings and healthcheck', () => {
  test('threekit.* settings are checked', T, async () => {
    const o = sb.createOrg('Settings');
    for (const kv of ['threekit.currency=XYZ', 'threekit.currency=EURO', 'threekit.public_token_without_origin=maybe']) {
      const r = runCli(['org', 'set', o.id, kv, '--db', sb.db], { cwd: sb.dir });
      assert.notEqual(r.code, 0, kv);
      assert.match(r.stderr, /threekit\./, kv);
    }
    const set = sb.setOrg(o.id, 'threekit.currency=eur');
    assert.equal(JSON.stringify(set).includes('"EUR"'), true, JSON.stringify(set));
    const c = await vendor('POST', '/api/orders', { token: o.keys.test.secret, body: {} });
    assert.equal(c.status, 200, c.text);
    assert.equal((await api(srv.base, o.keys.test.secret).get(`/v1/orders/${c.json.id}`)).json.currency, 'EUR');
  });

  test('GET /api/orders/healthcheck needs no token and is routed before /{id}', T, async () => {
    for (const f of [vendor, mount]) {
      const r = await f('GET', '/api/orders/healthcheck');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { status: 'ok' });
    }
  });
});

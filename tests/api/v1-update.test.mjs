// PATCH /v1/orders/{id}, POST /v1/orders/{id}/cancel, GET /v1/events.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, assertProblem, assertFieldError, fullOrder, minimalOrder, uniq, listAll, softly } from './lib/harness.mjs';

let sb, srv, org, sk;
const T = { timeout: 60_000 };

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Update Org');
  srv = await sb.start();
  sk = api(srv.base, org.keys.test.secret);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

async function newOrder(extra = {}) {
  const r = await sk.post('/v1/orders', minimalOrder({ external_id: uniq('U'), ...extra }));
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function eventsFor(id) {
  return listAll(sk, `/v1/events?order_id=${id}`);
}

function patchOk(r, ctx = '') {
  assert.equal(r.status, 200, `${ctx}: ${r.text}`);
  assert.equal(r.headers.get('etag'), `"${r.json.version}"`, `ETag matches version ${ctx}`);
  return r.json;
}

describe('optimistic concurrency', () => {
  test('If-Match: current → 200 and version+1; stale → 412 precondition_failed', T, async () => {
    const o = await newOrder();
    const a = patchOk(await sk.patch(`/v1/orders/${o.id}`, { platform: 'shopify' }, { headers: { 'If-Match': '"1"' } }));
    assert.equal(a.version, 2);
    assert.equal(a.platform, 'shopify');
    assert.notEqual(a.updated_at, undefined);
    assert.equal(a.created_at, o.created_at);
    assert.ok(Date.parse(a.updated_at) >= Date.parse(o.updated_at));
    const stale = await sk.patch(`/v1/orders/${o.id}`, { platform: 'magento' }, { headers: { 'If-Match': '"1"' } });
    assertProblem(stale, 412, 'precondition_failed');
    const g = await sk.get(`/v1/orders/${o.id}`);
    assert.equal(g.json.platform, 'shopify', 'a refused update changes nothing');
    assert.equal(g.json.version, 2);
    assert.equal(g.headers.get('etag'), '"2"');
  });

  test('body version: stale → 409 version_conflict with current_version; current → 200', T, async () => {
    const o = await newOrder();
    patchOk(await sk.patch(`/v1/orders/${o.id}`, { source: 'pos' }));
    const c = await sk.patch(`/v1/orders/${o.id}`, { source: 'web', version: 1 });
    const p = assertProblem(c, 409, 'version_conflict');
    assert.equal(p.current_version, 2);
    const ok = patchOk(await sk.patch(`/v1/orders/${o.id}`, { source: 'web', version: 2 }));
    assert.equal(ok.version, 3);
    assert.equal(ok.source, 'web');
  });

  test('without If-Match or version the update applies to the current version', T, async () => {
    const o = await newOrder();
    const a = patchOk(await sk.patch(`/v1/orders/${o.id}`, { locale: 'de' }));
    const b = patchOk(await sk.patch(`/v1/orders/${o.id}`, { locale: 'de-AT' }));
    assert.equal(a.version, 2);
    assert.equal(b.version, 3);
    assert.equal(b.locale, 'de-AT');
  });

  test('bad If-Match (empty, > 255 chars) → 400 invalid_header', T, async () => {
    const o = await newOrder();
    const soft = softly();
    for (const [label, v] of [['empty', ''], ['300 chars', `"${'9'.repeat(300)}"`]]) {
      const r = await sk.patch(`/v1/orders/${o.id}`, { platform: 'x' }, { headers: { 'If-Match': v } });
      await soft.check(`If-Match ${label}`, () => assertProblem(r, 400, 'invalid_header'));
    }
    soft.done('If-Match cases');
    assert.equal((await sk.get(`/v1/orders/${o.id}`)).json.version, 1);
  });

  test('unknown order → 404 order_not_found', T, async () => {
    assertProblem(await sk.patch('/v1/orders/01900000-0000-7000-8000-000000000000', { platform: 'x' }), 404, 'order_not_found');
    assertProblem(await sk.post('/v1/orders/01900000-0000-7000-8000-000000000000/cancel', undefined), 404, 'order_not_found');
  });

  test('PATCH by short id', T, async () => {
    const o = await newOrder();
    const r = patchOk(await sk.patch(`/v1/orders/${o.short_id}`, { platform: 'by-short-id' }));
    assert.equal(r.id, o.id);
    assert.equal(r.platform, 'by-short-id');
  });
});

describe('what a PATCH changes', () => {
  test('metadata merges; a null value removes a key; metadata null clears all', T, async () => {
    const o = await newOrder({ metadata: { a: '1', b: '2' } });
    const m1 = patchOk(await sk.patch(`/v1/orders/${o.id}`, { metadata: { b: null, c: '3' } }));
    assert.deepEqual(m1.metadata, { a: '1', c: '3' });
    const m2 = patchOk(await sk.patch(`/v1/orders/${o.id}`, { metadata: { a: 'one' } }));
    assert.deepEqual(m2.metadata, { a: 'one', c: '3' });
    const m3 = patchOk(await sk.patch(`/v1/orders/${o.id}`, { metadata: null }));
    assert.deepEqual(m3.metadata, {});
    assert.equal(m3.version, 4);
  });

  test('customer and addresses are replaced, not merged', T, async () => {
    const r = await sk.post('/v1/orders', fullOrder());
    assert.equal(r.status, 201, r.text);
    const o = r.json;
    const u = patchOk(await sk.patch(`/v1/orders/${o.id}`, {
      customer: { email: 'grace@example.com' },
      shipping_address: { line1: '10 Downing St', city: 'London', country: 'GB' },
      billing_address: null,
    }));
    assert.equal(u.customer.email, 'grace@example.com');
    assert.equal(u.customer.first_name, null, 'customer was replaced');
    assert.equal(u.customer.phone, null);
    assert.equal(u.shipping_address.line1, '10 Downing St');
    assert.equal(u.shipping_address.name, null, 'shipping_address was replaced');
    assert.equal(u.shipping_address.postal_code, null);
    assert.equal(u.billing_address, null);
    // untouched fields survive
    assert.deepEqual(u.line_items, o.line_items);
    assert.equal(u.total_amount, o.total_amount);
    assert.equal(u.external_id, o.external_id);
    assert.deepEqual(u.metadata, o.metadata);
  });

  test('fields that are not updatable → 422 not_updatable', T, async () => {
    const o = await newOrder();
    const cases = {
      currency: 'USD',
      line_items: [{ name: 'x', quantity: 1, unit_price: 1 }],
      external_id: 'other',
      total_amount: 5,
      shipping_amount: 5,
      id: o.id,
      short_id: 'AAAAAAAAAA',
      created_at: '2020-01-01T00:00:00Z',
    };
    for (const [f, v] of Object.entries(cases)) {
      assertFieldError(await sk.patch(`/v1/orders/${o.id}`, { [f]: v }), f, 'not_updatable', `PATCH ${f}`);
    }
    const g = await sk.get(`/v1/orders/${o.id}`);
    assert.equal(g.json.version, 1);
    assert.equal(g.json.currency, 'EUR');
  });

  test('updated fields are validated', T, async () => {
    const o = await newOrder();
    assertFieldError(await sk.patch(`/v1/orders/${o.id}`, { status: 'shipped' }), 'status', 'invalid_status');
    assertFieldError(await sk.patch(`/v1/orders/${o.id}`, { customer: { email: 'nope' } }), 'customer.email', 'invalid_email');
    assertFieldError(await sk.patch(`/v1/orders/${o.id}`, { platform: 'x'.repeat(65) }), 'platform', 'too_long');
    assertFieldError(await sk.patch(`/v1/orders/${o.id}`, { shipping_address: { city: 'x', country: 'FR' } }), 'shipping_address.line1', 'required');
    const bad = await sk.patch(`/v1/orders/${o.id}`, { colour: 'red' });
    assert.equal(bad.status, 422, bad.text);
    assert.equal((await sk.get(`/v1/orders/${o.id}`)).json.version, 1);
  });

  test('a PATCH that changes nothing keeps the version and emits no event', T, async () => {
    const o = await newOrder({ platform: 'web', metadata: { a: '1' } });
    const before = await eventsFor(o.id);
    for (const body of [{}, { platform: 'web' }, { status: 'pending' }, { metadata: { a: '1' } }]) {
      const r = patchOk(await sk.patch(`/v1/orders/${o.id}`, body), JSON.stringify(body));
      assert.equal(r.version, 1, `no-op ${JSON.stringify(body)} keeps version 1`);
      assert.deepEqual(r, o, `no-op ${JSON.stringify(body)} returns the order unchanged`);
    }
    assert.deepEqual(await eventsFor(o.id), before);
  });
});

describe('statuses', () => {
  const setStatus = (id, status) => sk.patch(`/v1/orders/${id}`, { status });

  test('pending → confirmed → fulfilled', T, async () => {
    const o = await newOrder();
    assert.equal(patchOk(await setStatus(o.id, 'confirmed')).status, 'confirmed');
    const f = patchOk(await setStatus(o.id, 'fulfilled'));
    assert.equal(f.status, 'fulfilled');
    assert.equal(f.version, 3);
  });

  test('transitions outside the graph → 409 invalid_state_transition', T, async () => {
    const soft = softly();
    const refused = async (label, res, id, wantStatus, wantVersion) => {
      await soft.check(label, async () => {
        assertProblem(res, 409, 'invalid_state_transition');
        const g = await sk.get(`/v1/orders/${id}`);
        assert.equal(g.json.status, wantStatus, 'status unchanged');
        assert.equal(g.json.version, wantVersion, 'version unchanged');
      });
    };
    const p = await newOrder();
    await refused('pending → fulfilled', await setStatus(p.id, 'fulfilled'), p.id, 'pending', 1);
    const c = await newOrder({ status: 'confirmed' });
    await refused('confirmed → pending', await setStatus(c.id, 'pending'), c.id, 'confirmed', 1);
    const f = await newOrder({ status: 'confirmed' });
    patchOk(await setStatus(f.id, 'fulfilled'));
    for (const st of ['pending', 'confirmed', 'canceled']) {
      await refused(`fulfilled → ${st}`, await setStatus(f.id, st), f.id, 'fulfilled', 2);
    }
    await refused('cancel a fulfilled order', await sk.post(`/v1/orders/${f.id}/cancel`, undefined), f.id, 'fulfilled', 2);
    const x = await newOrder();
    patchOk(await setStatus(x.id, 'canceled'));
    await refused('canceled → fulfilled', await setStatus(x.id, 'fulfilled'), x.id, 'canceled', 2);
    await refused('canceled → pending', await setStatus(x.id, 'pending'), x.id, 'canceled', 2);
    soft.done('transitions');
  });

  test('canceled → confirmed re-opens; confirmed → canceled', T, async () => {
    const o = await newOrder({ status: 'confirmed' });
    assert.equal(patchOk(await setStatus(o.id, 'canceled')).status, 'canceled');
    const re = patchOk(await setStatus(o.id, 'confirmed'));
    assert.equal(re.status, 'confirmed');
    assert.equal(re.version, 3);
  });
});

describe('cancel', () => {
  test('cancel → 200 canceled; cancel again → 200, same body, same version, no event', T, async () => {
    const o = await newOrder();
    const c1 = await sk.post(`/v1/orders/${o.id}/cancel`, undefined); // no body, no Content-Type
    assert.equal(c1.status, 200, c1.text);
    assert.equal(c1.json.status, 'canceled');
    assert.equal(c1.json.version, 2);
    assert.equal(c1.headers.get('etag'), '"2"');
    const evBefore = await eventsFor(o.id);
    const c2 = await sk.post(`/v1/orders/${o.id}/cancel`, undefined);
    assert.equal(c2.status, 200, c2.text);
    assert.deepEqual(c2.json, c1.json);
    assert.deepEqual(await eventsFor(o.id), evBefore);
  });

  test('cancel with a reason; a reason over 500 chars is refused', T, async () => {
    const o = await newOrder({ status: 'confirmed' });
    assertFieldError(await sk.post(`/v1/orders/${o.id}/cancel`, { reason: 'r'.repeat(501) }), 'reason', 'too_long');
    const r = await sk.post(`/v1/orders/${o.id}/cancel`, { reason: 'customer asked' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'canceled');
  });

  test('cancel by short id', T, async () => {
    const o = await newOrder();
    const r = await sk.post(`/v1/orders/${o.short_id}/cancel`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, o.id);
    assert.equal(r.json.status, 'canceled');
  });
});

describe('events', () => {
  let o, createRes, upd, can, evs;
  before(async () => {
    createRes = await sk.post('/v1/orders', minimalOrder({ external_id: uniq('EV') }));
    assert.equal(createRes.status, 201, createRes.text);
    o = createRes.json;
    upd = await sk.patch(`/v1/orders/${o.id}`, { platform: 'p1' });
    assert.equal(upd.status, 200, upd.text);
    can = await sk.post(`/v1/orders/${o.id}/cancel`, undefined);
    assert.equal(can.status, 200, can.text);
    evs = await eventsFor(o.id);
  });

  test('order.created, order.updated, order.canceled, newest first, each with the order after the write', T, () => {
    assert.deepEqual(evs.map((e) => e.type), ['order.canceled', 'order.updated', 'order.created']);
    const pairs = [[evs[2], createRes], [evs[1], upd], [evs[0], can]];
    for (const [e, r] of pairs) {
      assert.equal(e.object, 'event');
      assert.match(e.id, /^evt_\S+$/);
      assert.equal(e.livemode, false);
      assert.equal(e.order_id, o.id);
      assert.match(e.request_id, /^req_/);
      assert.equal(e.request_id, r.headers.get('request-id'), `${e.type} carries the request id of the write`);
      assert.ok(!Number.isNaN(Date.parse(e.created_at)));
      assert.deepEqual(e.data.object, r.json, `${e.type} data.object is the order as written`);
    }
  });

  test('a PATCH that sets canceled emits order.canceled', T, async () => {
    const x = await newOrder();
    patchOk(await sk.patch(`/v1/orders/${x.id}`, { status: 'canceled' }));
    const e = await eventsFor(x.id);
    assert.deepEqual(e.map((v) => v.type), ['order.canceled', 'order.created']);
  });

  test('events cursor: limit=1 pages, starting_after and ending_before', T, async () => {
    const p1 = await sk.get(`/v1/events?order_id=${o.id}&limit=1`);
    assert.equal(p1.status, 200, p1.text);
    assert.equal(p1.json.object, 'list');
    assert.equal(p1.json.has_more, true);
    assert.deepEqual(p1.json.data.map((e) => e.id), [evs[0].id]);
    const p2 = await sk.get(`/v1/events?order_id=${o.id}&limit=1&starting_after=${p1.json.data[0].id}`);
    assert.deepEqual(p2.json.data.map((e) => e.id), [evs[1].id]);
    const p3 = await sk.get(`/v1/events?order_id=${o.id}&limit=1&starting_after=${p2.json.data[0].id}`);
    assert.deepEqual(p3.json.data.map((e) => e.id), [evs[2].id]);
    assert.equal(p3.json.has_more, false);
    const back = await sk.get(`/v1/events?order_id=${o.id}&limit=10&ending_before=${evs[2].id}`);
    assert.deepEqual(back.json.data.map((e) => e.id), [evs[0].id, evs[1].id]);
  });

  test('events filter by type', T, async () => {
    const r = await listAll(sk, '/v1/events?type=order.canceled');
    assert.ok(r.length > 0);
    assert.ok(r.every((e) => e.type === 'order.canceled'));
    assert.ok(r.some((e) => e.order_id === o.id));
    const all = await listAll(sk, '/v1/events');
    const ts = all.map((e) => e.id);
    assert.equal(new Set(ts).size, ts.length, 'no duplicate events across pages');
    assert.ok(all.length > r.length);
  });

  test('bad events query → 400 invalid_query', T, async () => {
    assertProblem(await sk.get('/v1/events?limit=0'), 400, 'invalid_query');
    assertProblem(await sk.get('/v1/events?limit=101'), 400, 'invalid_query');
  });
});

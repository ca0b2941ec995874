// Durability: orders survive SIGTERM and restart, and kill -9 under load, round after round,
// loses no acknowledged write of any kind and leaves nothing half-written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Sandbox, api, mapLimit, pollUntil, canConnect, listAll, uniq, parseRawResponse } from './lib/harness.mjs';

let sb, org;
let srv; // the server currently running on sb's database
const T = { timeout: 180_000 };
const RUN = uniq('DUR');

before(() => {
  sb = new Sandbox();
  org = sb.createOrg('Durability Org');
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

/** A deterministic body for order number i, so any stored order can be checked for completeness. */
function orderBody(tag, i) {
  return {
    external_id: `${RUN}-${tag}-${i}`,
    currency: 'EUR',
    customer: { email: `buyer${i}@example.com`, first_name: 'Buyer', last_name: String(i) },
    shipping_address: { line1: `${i} Durable Road`, city: 'Paris', country: 'FR' },
    line_items: [
      { name: 'A', quantity: 1 + (i % 3), unit_price: 1000 + i },
      { name: 'B', quantity: 2, unit_price: 250 },
      { name: 'C', sku: `SKU-${i}`, quantity: 1, unit_price: 99 },
    ],
    shipping_amount: 500,
    metadata: { i: String(i), tag },
  };
}

function assertComplete(o) {
  const i = Number(o.metadata?.i);
  const tag = o.metadata?.tag;
  assert.ok(Number.isInteger(i) && tag, `order ${o.id} has its metadata: ${JSON.stringify(o.metadata)}`);
  const b = orderBody(tag, i);
  assert.equal(o.external_id, b.external_id);
  assert.equal(o.line_items.length, 3, `order ${o.id} has all its line items`);
  b.line_items.forEach((li, k) => {
    assert.equal(o.line_items[k].name, li.name);
    assert.equal(o.line_items[k].quantity, li.quantity);
    assert.equal(o.line_items[k].unit_price, li.unit_price);
  });
  const subtotal = b.line_items.reduce((s, li) => s + li.quantity * li.unit_price, 0);
  assert.equal(o.subtotal_amount, subtotal);
  assert.equal(o.total_amount, subtotal + 500);
  assert.equal(o.customer.email, b.customer.email);
  assert.equal(o.shipping_address.line1, b.shipping_address.line1);
}

test('50 orders survive SIGTERM and a restart on the same database', T, async () => {
  srv = await sb.start();
  const sk = api(srv.base, org.keys.test.secret);
  const created = await mapLimit(50, 10, async (i) => {
    const r = await sk.post('/v1/orders', orderBody('term', i));
    assert.equal(r.status, 201, r.text);
    return r.json;
  });
  await srv.stop();
  srv = await sb.start();
  const sk2 = api(srv.base, org.keys.test.secret);
  for (const o of created) {
    const g = await sk2.get(`/v1/orders/${o.id}`);
    assert.equal(g.status, 200, `order ${o.id} after restart: ${g.text}`);
    assert.deepEqual(g.json, o);
  }
});

test('SIGINT also stops the server with exit 0', T, async () => {
  if (!srv?.running) srv = await sb.start();
  await srv.stop({ signal: 'SIGINT' });
  srv = await sb.start();
  const r = await fetch(`${srv.base}/readyz`);
  assert.equal(r.status, 200);
  await r.arrayBuffer();
});

test('SIGTERM: new connections are refused, an in-flight request is finished, exit 0', T, async () => {
  if (!srv?.running) srv = await sb.start();
  const body = Buffer.from(JSON.stringify(orderBody('inflight', 0)));
  const half = Math.floor(body.length / 2);
  const chunks = [];
  const sock = net.connect({ host: '127.0.0.1', port: srv.port });
  let closed = false;
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  sock.on('data', (d) => chunks.push(d));
  await new Promise((resolve) => sock.on('connect', resolve));
  const head = [
    'POST /v1/orders HTTP/1.1', `Host: 127.0.0.1:${srv.port}`, `Authorization: Bearer ${org.keys.test.secret}`,
    'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close', '', '',
  ].join('\r\n');
  await new Promise((resolve) => sock.write(Buffer.concat([Buffer.from(head), body.subarray(0, half)]), resolve));
  // a full round trip on another connection, so the server has had the chance to read the first one
  const h = await fetch(`${srv.base}/healthz`, { headers: { Connection: 'close' } });
  assert.equal(h.status, 200);
  await h.arrayBuffer();

  srv.signal('SIGTERM');
  let res;
  try {
    const refused = await pollUntil(async () => !(await canConnect(srv.port)) || !srv.running);
    assert.ok(refused, `new connections still accepted 5 s after SIGTERM\n${srv.describe()}`);
    sock.write(body.subarray(half));
    await pollUntil(() => closed || parseRawResponse(Buffer.concat(chunks)).complete, { tries: 400 });
    res = parseRawResponse(Buffer.concat(chunks));
    assert.equal(res.status, 201, `in-flight request answered 201, got: ${JSON.stringify(Buffer.concat(chunks).toString('utf8').slice(0, 500))}\n${srv.describe()}`);
    assert.ok(res.complete && res.json, 'a complete JSON response');
  } finally {
    sock.destroy();
    await srv.awaitCleanExit('SIGTERM');
  }
  const json = res.json;

  srv = await sb.start();
  const g = await api(srv.base, org.keys.test.secret).get(`/v1/orders/${json.id}`);
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.json, json);
});

/** A Dropday order (seed 002's shape, small) with external id `${RUN}-dd-${i}`. */
function ddOrder(i) {
  return {
    external_id: `${RUN}-dd-${i}`,
    source: 'Durable Shop',
    total: 21.5,
    shipping_address: { first_name: 'Jo', last_name: String(i), address1: `${i} Rue`, postcode: '75001', city: 'Paris', country: 'FR' },
    products: [{ external_id: '1', name: 'Mug', reference: 'MUG', quantity: 2, price: 9.5 }, { external_id: '2', name: 'Tea', quantity: 1, price: 2.5 }],
  };
}

const WIDTH = 48; // requests in flight at once in the rounds
const counts = (xs) => xs.reduce((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {});

test('kill -9 under load, three rounds: every acknowledged write of every kind is there, nothing half-written', T, async (t) => {
  if (!srv?.running) srv = await sb.start();
  sb.setOrg(org.id, 'kohort.max_participants=1000', 'kohort.group_duration=1h');
  const clients = (base) => ({
    sk: api(base, org.keys.test.secret),
    dd: api(`${base}/dropday/api/v1`, null, { headers: { 'api-key': org.keys.test.secret, 'account-id': org.id } }),
    ko: api(`${base}/kohort`, org.keys.test.secret),
  });
  let c = clients(srv.base);

  // what was acknowledged, across rounds
  const plain = new Map(); // order id -> 201 body (POST /v1/orders, no key)
  const keyed = new Map(); // Idempotency-Key -> { body, answer: 201 body or null when unanswered }
  const patched = new Map(); // order id -> highest version acknowledged by a PATCH
  const ddAcked = new Map(); // reference -> external_id
  const joined = new Set(); // Kohort order ids acknowledged as joining the group
  let fired = 0;
  const baseline = (await listAll(c.sk, '/v1/orders')).length; // the earlier tests' orders

  // before the rounds: orders to PATCH, and a Kohort group to join
  const targets = [];
  for (let i = 0; i < 6; i++) {
    const r = await c.sk.post('/v1/orders', orderBody('target', i));
    assert.equal(r.status, 201, r.text);
    targets.push(r.json.id);
    patched.set(r.json.id, 1);
  }
  const creator = await c.ko.post('/orders', { amount: 5000, customerEmail: `creator-${RUN}@example.com`, customerFirstName: 'C', customerLastName: 'R' });
  assert.equal(creator.status, 201, creator.text);
  const groupId = creator.json.paymentGroupId;
  const shareId = (await c.ko.get(`/groups/${groupId}`)).json.shareId;
  assert.ok(shareId, 'the group has a share code');

  // one request of kind i % 5; records what a 2xx acknowledged
  const one = async (i) => {
    fired++;
    const opt = { timeout: 20_000 };
    switch (i % 5) {
      case 0: {
        const r = await c.sk.post('/v1/orders', orderBody('kill', i), opt);
        if (r.status === 201) plain.set(r.json.id, r.json);
        return r.status;
      }
      case 1: {
        const key = `${RUN}-key-${i}`;
        keyed.set(key, { body: orderBody('keyed', i), answer: null });
        const r = await c.sk.post('/v1/orders', keyed.get(key).body, { ...opt, headers: { 'Idempotency-Key': key } });
        if (r.status === 201) keyed.get(key).answer = r.json;
        return r.status;
      }
      case 2: {
        const id = targets[i % targets.length];
        const r = await c.sk.patch(`/v1/orders/${id}`, { metadata: { p: String(i) } }, opt);
        if (r.status === 200 && r.json.version > patched.get(id)) patched.set(id, r.json.version);
        return r.status;
      }
      case 3: {
        const r = await c.dd.post('/orders', ddOrder(i), opt);
        if (r.status === 200) ddAcked.set(r.json.reference, `${RUN}-dd-${i}`);
        return r.status;
      }
      default: {
        const r = await c.ko.post('/orders', {
          amount: 2000 + i, customerEmail: `j${i}-${RUN}@example.com`.toLowerCase(), customerFirstName: 'J', customerLastName: String(i),
          paymentGroupShareId: shareId,
        }, opt);
        if (r.status === 201) joined.add(r.json.id);
        return r.status;
      }
    }
  };

  let next = 0;
  for (let round = 0; round < 3; round++) {
    // a wave run to completion: every write is acknowledged
    const statuses = await Promise.all(Array.from({ length: 40 }, () => one(next++)));
    assert.deepEqual(statuses.filter((s) => s !== 201 && s !== 200), [], `round ${round}: the wave before the kill`);
    // then 48 at a time, each answer starting another request; the 60th answer sends kill -9,
    // so 47 requests are in flight when it lands
    let settled = 0;
    let killed = false;
    const wave = [];
    const launch = () => {
      const i = next++;
      wave.push(one(i).then((s) => s, (e) => `error: ${e.cause?.code ?? e.name}`).then((s) => {
        settled++;
        if (settled === 60) {
          killed = true;
          srv.signal('SIGKILL');
        }
        if (!killed) launch();
        return s;
      }));
    };
    for (let k = 0; k < WIDTH; k++) launch();
    const busy = await pollUntil(() => killed, { tries: 800 });
    assert.ok(busy, `round ${round}: 60 answers before the kill`);
    const exit = await srv.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    let last = [];
    for (let n = 0; n !== wave.length;) { n = wave.length; last = await Promise.all(wave); }
    t.diagnostic(`round ${round}: fired ${fired}; after the kill: ${JSON.stringify(counts(last.filter((s) => typeof s === 'string')))}`);

    srv = await sb.start();
    c = clients(srv.base);
    const ready = await fetch(`${srv.base}/readyz`);
    assert.equal(ready.status, 200);
    await ready.arrayBuffer();

    // every order and event of the org, read back
    const orders = await listAll(c.sk, '/v1/orders');
    const byId = new Map(orders.map((o) => [o.id, o]));
    const byShort = new Map(orders.map((o) => [o.short_id, o]));
    const events = await listAll(c.sk, '/v1/events');
    const evOf = new Map();
    for (const e of events) {
      // no event without its order
      assert.ok(byId.has(e.order_id), `round ${round}: event ${e.id} (${e.type}) of a missing order ${e.order_id}`);
      if (!evOf.has(e.order_id)) evOf.set(e.order_id, []);
      evOf.get(e.order_id).push(e); // newest first
    }
    assert.ok(orders.length <= baseline + fired + targets.length + 1, `stored ${orders.length}, fired ${fired}`);
    for (const o of orders) {
      // each order has exactly one order.created event, and one event per later version; the
      // newest of them holds the order as it is now
      const evs = (evOf.get(o.id) ?? []).filter((e) => e.type.startsWith('order.'));
      assert.equal(evs.filter((e) => e.type === 'order.created').length, 1, `round ${round}: order ${o.id} has its order.created event`);
      assert.equal(evs.length, o.version, `round ${round}: order ${o.id} at version ${o.version} has ${evs.length} order events`);
      assert.deepEqual(evs.map((e) => e.data.object.version), Array.from({ length: o.version }, (_, k) => o.version - k));
      if (o.dialect !== 'kohort') assert.deepEqual(evs[0].data.object, o, `round ${round}: the newest event of ${o.id} is the order`);
      if (o.dialect === 'v1') assertComplete(o);
    }
    const exts = orders.filter((o) => o.external_id !== null).map((o) => `${o.dialect}|${o.external_id}`);
    assert.equal(new Set(exts).size, exts.length, 'no external_id twice');

    // /v1 creates: each acknowledged one as answered
    for (const [id, body] of plain) assert.deepEqual(byId.get(id), body, `round ${round}: acknowledged order ${id}`);
    // PATCH: the version acknowledged (or a later one sent before the kill), the body complete
    for (const [id, v] of patched) {
      assert.ok(byId.get(id)?.version >= v, `round ${round}: ${id} has version ${byId.get(id)?.version}, acknowledged ${v}`);
      assert.ok(byId.get(id).version <= fired, 'no version from nowhere');
    }
    // Idempotency-Key: an acknowledged answer replays as it was; an unanswered request either
    // replays a stored answer whose order is there as answered, or runs now; never two orders
    for (const [key, k] of keyed) {
      const r = await c.sk.post('/v1/orders', k.body, { headers: { 'Idempotency-Key': key } });
      assert.equal(r.status, 201, `round ${round}: replay of ${key}: ${r.text}`);
      if (k.answer) {
        assert.equal(r.headers.get('idempotent-replayed'), 'true', `round ${round}: ${key} replays`);
        assert.deepEqual(r.json, k.answer, `round ${round}: ${key} replays the same answer`);
      }
      if (r.headers.get('idempotent-replayed') === 'true') {
        assert.deepEqual(byId.get(r.json.id), r.json, `round ${round}: the order of the stored answer of ${key}`);
      }
      k.answer = r.json;
      const same = await c.sk.get(`/v1/orders?external_id=${encodeURIComponent(k.body.external_id)}`);
      assert.deepEqual(same.json.data.map((o) => o.id), [r.json.id], `round ${round}: one order for ${key}`);
    }
    // Dropday: references 1..N without a gap or a repeat, each acknowledged one as answered
    const dd = orders.filter((o) => o.dialect === 'dropday').map((o) => Number(o.dropday.reference)).sort((a, b) => a - b);
    assert.deepEqual(dd, Array.from({ length: dd.length }, (_, k) => k + 1), `round ${round}: Dropday references`);
    for (const [ref, ext] of ddAcked) {
      const g = await c.dd.get(`/orders/${ref}`);
      assert.equal(g.status, 200, `round ${round}: Dropday order ${ref}: ${g.text}`);
      assert.equal(g.json.external_id, ext);
    }
    // Kohort: the group counts exactly the orders in it, and holds every acknowledged join
    const members = orders.filter((o) => o.dialect === 'kohort');
    const group = await c.ko.get(`/groups/${groupId}`);
    assert.equal(group.status, 200, group.text);
    assert.equal(group.json.participantsCount, members.length, `round ${round}: participantsCount`);
    for (const id of joined) {
      const o = byShort.get(id.replace(/^ord_/, ''));
      assert.ok(o, `round ${round}: acknowledged join ${id}`);
      assert.equal(o.kohort?.paymentGroupId, groupId, `round ${round}: ${id} is in the group`);
    }
    t.diagnostic(`round ${round}: ${orders.length} orders, ${events.length} events; acknowledged: ${plain.size} creates, ${[...keyed.values()].filter((k) => k.answer).length} keyed, ${ddAcked.size} Dropday, ${joined.size} joins`);
  }
  // the restarted server takes writes
  const r = await c.sk.post('/v1/orders', orderBody('after', 0));
  assert.equal(r.status, 201, r.text);
});

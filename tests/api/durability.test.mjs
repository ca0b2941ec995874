// Durability: orders survive SIGTERM and restart, and kill -9 under load loses no acknowledged order.
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

test('kill -9 under load: every acknowledged order is present and complete after restart', T, async (t) => {
  if (!srv?.running) srv = await sb.start();
  const sk = api(srv.base, org.keys.test.secret);
  const acked = new Map(); // id → body answered with 201
  let settled = 0;
  const fire = (i) => sk.post('/v1/orders', orderBody('kill', i), { timeout: 20_000 }).then(
    (r) => { settled++; if (r.status === 201) acked.set(r.json.id, r.json); return r.status; },
    (e) => { settled++; return `error: ${e.cause?.code ?? e.message}`; },
  );

  // three waves of 50 run to completion: all must be 201
  for (let w = 0; w < 3; w++) {
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, k) => fire(w * 50 + k)));
    assert.deepEqual(statuses.filter((s) => s !== 201), [], `wave ${w} before the kill`);
  }
  // the fourth wave is cut by kill -9 while requests are in flight: 50 at once, and each answer
  // starts another request (up to 400 in all), so the server is busy when it is killed
  const before = settled;
  let next = 150;
  let killed = false;
  const wave = [];
  const launch = () => {
    const i = next++;
    wave.push(fire(i).then((s) => { if (!killed && next < 400) launch(); return s; }));
  };
  for (let k = 0; k < 50; k++) launch();
  await pollUntil(() => settled - before >= 50, { tries: 400 });
  const inFlightAtKill = next - settled;
  killed = true;
  const exit = await srv.kill9();
  assert.equal(exit.signal, 'SIGKILL');
  let last = [];
  for (let n = 0; n !== wave.length;) { n = wave.length; last = await Promise.all(wave); }
  t.diagnostic(`fired ${next}; in flight at kill -9: ${inFlightAtKill}; acknowledged: ${acked.size}; after the first 150: ${JSON.stringify(last.reduce((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {}))}`);
  assert.ok(acked.size >= 150);

  srv = await sb.start();
  const sk2 = api(srv.base, org.keys.test.secret);
  const ready = await fetch(`${srv.base}/readyz`);
  assert.equal(ready.status, 200);
  await ready.arrayBuffer();
  for (const [id, body] of acked) {
    const g = await sk2.get(`/v1/orders/${id}`);
    assert.equal(g.status, 200, `acknowledged order ${id} after kill -9: ${g.text}`);
    assert.deepEqual(g.json, body, `order ${id} is the same after restart`);
    assertComplete(g.json);
  }
  // each acknowledged order has its order.created event (same transaction)
  const created = new Set((await listAll(sk2, '/v1/events?type=order.created')).map((e) => e.order_id));
  for (const id of acked.keys()) assert.ok(created.has(id), `order.created event for ${id}`);
  // nothing half-written: every stored order of this run is complete, and none appears twice
  const all = (await listAll(sk2, '/v1/orders')).filter((o) => o.external_id?.startsWith(`${RUN}-kill-`));
  assert.ok(all.length >= acked.size && all.length <= next, `stored ${all.length}, acknowledged ${acked.size}, fired ${next}`);
  assert.equal(new Set(all.map((o) => o.external_id)).size, all.length, 'no external_id twice');
  for (const o of all) assertComplete(o);
  // the restarted server takes writes
  const r = await sk2.post('/v1/orders', orderBody('after', 0));
  assert.equal(r.status, 201, r.text);
});

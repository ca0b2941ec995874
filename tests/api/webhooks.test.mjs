// Signed webhooks (docs/webhooks.md): endpoints through /v1, delivery from the outbox to
// a real local receiver (node:http on 127.0.0.1), signatures, retries, redelivery,
// disabling, event filtering, errors.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Sandbox, api, assertProblem, assertFieldError, minimalOrder, uniq, pollUntil, listAll, mapLimit, REPO_ROOT } from './lib/harness.mjs';

const T = { timeout: 60_000 };
const POLL = { tries: 400, interval: 25 }; // at most ~10 s
const DISABLE_AFTER = 3;

let sb, srv, receiver, hookBase;

// ---- the receiver: /hook/<name> answers from a per-name script, records every request ----
const hooks = new Map(); // name -> { script: [status… or 'hang'], dflt, got: [{ headers, body, json }] }
const held = [];

function hook(script = [], dflt = 200) {
  const name = uniq('h');
  hooks.set(name, { script: [...script], dflt, got: [] });
  return { name, url: `${hookBase}/hook/${name}`, get got() { return hooks.get(name).got; } };
}

function startReceiver() {
  return new Promise((resolve) => {
    const s = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const name = req.url.split('/')[2];
        const h = hooks.get(name);
        let status = 404;
        if (h) {
          let json;
          try { json = JSON.parse(body); } catch { json = undefined; }
          h.got.push({ method: req.method, headers: req.headers, body, json });
          status = h.script.length > 0 ? h.script.shift() : h.dflt;
          if (status === 'hang') { // never answered: held until the test ends
            held.push(res);
            return;
          }
        }
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(status < 300 ? 'ok' : 'nope');
      });
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function verify(sigHeader, body, secret) {
  const parts = Object.fromEntries(String(sigHeader).split(',').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  assert.match(parts.t ?? '', /^\d+$/, `t= in ${sigHeader}`);
  assert.match(parts.v1 ?? '', /^[0-9a-f]{64}$/, `v1= in ${sigHeader}`);
  assert.ok(Math.abs(Date.now() / 1000 - Number(parts.t)) < 300, 'timestamp within 300 s');
  const expected = crypto.createHmac('sha256', secret).update(`${parts.t}.${body}`).digest('hex');
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(parts.v1));
}

before(async () => {
  receiver = await startReceiver();
  hookBase = `http://127.0.0.1:${receiver.address().port}`;
  sb = new Sandbox({
    env: {
      ORDERD_WEBHOOK_RETRY_BASE_MS: '50',
      ORDERD_WEBHOOK_DISABLE_AFTER: String(DISABLE_AFTER),
      ORDERD_WEBHOOK_DISABLE_WINDOW_MS: '0',
    },
  });
  srv = await sb.start();
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally {
    await sb?.cleanup();
    for (const res of held) res.destroy();
    await new Promise((r) => receiver.close(r));
  }
});

function newOrg() {
  const org = sb.createOrg(uniq('Hooks'));
  return { org, sk: api(srv.base, org.keys.test.secret), pk: api(srv.base, org.keys.test.publishable), live: api(srv.base, org.keys.live.secret) };
}

async function createEndpoint(client, url, events = ['*'], extra = {}) {
  const r = await client.post('/v1/webhook_endpoints', { url, enabled_events: events, ...extra });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function createOrder(client) {
  const r = await client.post('/v1/orders', minimalOrder({ external_id: uniq('W') }));
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function deliveries(client, epId) {
  const r = await client.get(`/v1/webhook_endpoints/${epId}/deliveries?limit=100`);
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

async function waitDelivery(client, epId, pred, what) {
  const d = await pollUntil(async () => (await deliveries(client, epId)).find(pred), POLL);
  assert.ok(d, `no delivery ${what} within the polling bound: ${JSON.stringify(await deliveries(client, epId))}`);
  return d;
}

describe('endpoints', () => {
  test('create → 201 with a whsec_ secret shown once; get and list never show it; not stored in clear', T, async () => {
    const { sk } = newOrg();
    const h = hook();
    const r = await sk.post('/v1/webhook_endpoints', { url: h.url, enabled_events: ['order.created', 'order.canceled'], description: 'shop' });
    assert.equal(r.status, 201, r.text);
    const ep = r.json;
    assert.match(ep.id, /^we_[0-9a-f]{24}$/);
    assert.equal(ep.object, 'webhook_endpoint');
    assert.match(ep.secret, /^whsec_[0-9A-Za-z]{32}$/);
    assert.deepEqual(ep.enabled_events, ['order.created', 'order.canceled']);
    assert.equal(ep.url, h.url);
    assert.equal(ep.description, 'shop');
    assert.equal(ep.disabled, false);
    assert.equal(ep.livemode, false);
    assert.equal(r.headers.get('location'), `/v1/webhook_endpoints/${ep.id}`);
    const g = await sk.get(`/v1/webhook_endpoints/${ep.id}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.secret, undefined);
    assert.equal(g.json.url, h.url);
    const l = await sk.get('/v1/webhook_endpoints');
    assert.equal(l.status, 200);
    assert.deepEqual(l.json.data.map((e) => e.id), [ep.id]);
    assert.equal(l.json.data[0].secret, undefined);
    const stored = sb.storedBytes();
    assert.ok(stored.indexOf(ep.id) >= 0, 'the endpoint is in what the database stores');
    assert.equal(stored.indexOf(ep.secret), -1, 'secret in clear in the database');
  });

  test('PATCH and DELETE round trip', T, async () => {
    const { sk } = newOrg();
    const ep = await createEndpoint(sk, hook().url, ['order.created']);
    const h2 = hook();
    const p = await sk.patch(`/v1/webhook_endpoints/${ep.id}`, { url: h2.url, enabled_events: ['order.updated', 'order.canceled'], description: 'new' });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.url, h2.url);
    assert.deepEqual(p.json.enabled_events, ['order.updated', 'order.canceled']);
    assert.equal(p.json.description, 'new');
    assert.equal(p.json.secret, undefined);
    const p2 = await sk.patch(`/v1/webhook_endpoints/${ep.id}`, { description: null });
    assert.equal(p2.status, 200, p2.text);
    assert.equal(p2.json.description, null);
    assert.equal(p2.json.url, h2.url, 'fields not sent are kept');
    const g = await sk.get(`/v1/webhook_endpoints/${ep.id}`);
    assert.deepEqual(g.json, p2.json);
    const d = await sk.del(`/v1/webhook_endpoints/${ep.id}`);
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json, { id: ep.id, object: 'webhook_endpoint', deleted: true });
    assertProblem(await sk.get(`/v1/webhook_endpoints/${ep.id}`), 404, 'webhook_endpoint_not_found');
    assertProblem(await sk.del(`/v1/webhook_endpoints/${ep.id}`), 404, 'webhook_endpoint_not_found');
    assert.deepEqual((await sk.get('/v1/webhook_endpoints')).json.data, []);
  });

  test('errors: bad URL, bad events, unknown endpoint, publishable key, other mode', T, async () => {
    const { sk, pk, live } = newOrg();
    assertFieldError(await sk.post('/v1/webhook_endpoints', { url: 'ftp://example.com/x', enabled_events: ['*'] }), 'url', 'invalid_url');
    assertFieldError(await sk.post('/v1/webhook_endpoints', { url: 'not a url', enabled_events: ['*'] }), 'url', 'invalid_url');
    assertFieldError(await sk.post('/v1/webhook_endpoints', { enabled_events: ['*'] }), 'url', 'required');
    assertFieldError(await sk.post('/v1/webhook_endpoints', { url: hookBase }), 'enabled_events', 'required');
    assertFieldError(await sk.post('/v1/webhook_endpoints', { url: hookBase, enabled_events: [] }), 'enabled_events', 'invalid_value');
    assertFieldError(await sk.post('/v1/webhook_endpoints', { url: hookBase, enabled_events: ['order.create'] }), 'enabled_events[0]', 'invalid_value');
    assertFieldError(await sk.post('/v1/webhook_endpoints', { url: hookBase, enabled_events: ['*', 'order.created'] }), 'enabled_events[0]', 'invalid_value');
    assertFieldError(await sk.post('/v1/webhook_endpoints', { url: hookBase, enabled_events: ['*'], secret: 'x' }), 'secret', 'unknown_field');
    const ep = await createEndpoint(sk, hook().url);
    assertFieldError(await sk.patch(`/v1/webhook_endpoints/${ep.id}`, { url: 'mailto:a@b.c' }), 'url', 'invalid_url');
    assertFieldError(await sk.patch(`/v1/webhook_endpoints/${ep.id}`, { disabled: 'no' }), 'disabled', 'invalid_type');
    const missing = 'we_000000000000000000000000';
    assertProblem(await sk.get(`/v1/webhook_endpoints/${missing}`), 404, 'webhook_endpoint_not_found');
    assertProblem(await sk.get('/v1/webhook_endpoints/nope'), 404, 'webhook_endpoint_not_found');
    assertProblem(await sk.patch(`/v1/webhook_endpoints/${missing}`, { description: 'x' }), 404, 'webhook_endpoint_not_found');
    assertProblem(await sk.get(`/v1/webhook_endpoints/${missing}/deliveries`), 404, 'webhook_endpoint_not_found');
    assertProblem(await sk.post(`/v1/webhook_endpoints/${ep.id}/deliveries/whd_00000000000000000000000000000000/redeliver`), 404, 'webhook_delivery_not_found');
    assertProblem(await pk.post('/v1/webhook_endpoints', { url: hookBase, enabled_events: ['*'] }, { headers: { Origin: 'https://shop.example' } }), 403, 'permission_denied');
    assertProblem(await pk.get('/v1/webhook_endpoints'), 403, 'permission_denied');
    assertProblem(await live.get(`/v1/webhook_endpoints/${ep.id}`), 404, 'webhook_endpoint_not_found');
    assert.deepEqual((await live.get('/v1/webhook_endpoints')).json.data, [], 'live mode does not see test endpoints');
  });
});

describe('delivery', () => {
  test('an order create → exactly one signed order.created delivery with the right ids', T, async () => {
    const { sk } = newOrg();
    const h = hook();
    const ep = await createEndpoint(sk, h.url, ['order.created']);
    const order = await createOrder(sk);
    const d = await waitDelivery(sk, ep.id, (x) => x.status === 'delivered', 'delivered');
    assert.equal(h.got.length, 1, 'one request');
    const got = h.got[0];
    assert.equal(got.method, 'POST');
    assert.match(got.headers['content-type'], /^application\/json/);
    assert.ok(verify(got.headers['orderd-signature'], got.body, ep.secret), 'signature verifies with the secret');
    assert.ok(!verify(got.headers['orderd-signature'], got.body + ' ', ep.secret), 'a changed body does not verify');
    const ev = (await sk.get(`/v1/events?order_id=${order.id}`)).json.data;
    assert.equal(ev.length, 1);
    assert.equal(got.json.id, ev[0].id);
    assert.equal(got.json.type, 'order.created');
    assert.equal(typeof got.json.created, 'number');
    assert.equal(got.json.data.object.id, order.id);
    assert.equal(got.headers['orderd-event-id'], ev[0].id);
    assert.equal(got.headers['orderd-delivery-id'], d.id);
    assert.equal(d.event_id, ev[0].id);
    assert.equal(d.event_type, 'order.created');
    assert.equal(d.attempts, 1);
    assert.equal(d.response_status, 200);
    assert.equal(typeof d.latency_ms, 'number');
    assert.equal(d.error, null);
    assert.equal(d.attempt_log.length, 1);
    const all = await deliveries(sk, ep.id);
    assert.equal(all.length, 1, 'one delivery in the log');
  });

  test('a receiver failing twice (500) gets the event on the third try', T, async () => {
    const { sk } = newOrg();
    const h = hook([500, 500], 200);
    const ep = await createEndpoint(sk, h.url, ['order.created']);
    await createOrder(sk);
    const d = await waitDelivery(sk, ep.id, (x) => x.status === 'delivered', 'delivered after retries');
    assert.equal(d.attempts, 3);
    assert.deepEqual(d.attempt_log.map((a) => a.response_status), [500, 500, 200]);
    assert.equal(d.attempt_log[0].error, 'the endpoint answered HTTP 500');
    assert.equal(h.got.length, 3);
    assert.equal(new Set(h.got.map((g) => g.headers['orderd-event-id'])).size, 1, 'same event id every time');
    assert.equal(new Set(h.got.map((g) => g.headers['orderd-delivery-id'])).size, 1, 'same delivery id every time');
    for (const g of h.got) assert.ok(verify(g.headers['orderd-signature'], g.body, ep.secret));
    const e = (await sk.get(`/v1/webhook_endpoints/${ep.id}`)).json;
    assert.equal(e.disabled, false);
    assert.equal(e.consecutive_failures, 0, 'a success ends the failure streak');
  });

  test('redelivery sends the same event again under a new delivery id', T, async () => {
    const { sk } = newOrg();
    const h = hook();
    const ep = await createEndpoint(sk, h.url, ['order.created']);
    await createOrder(sk);
    const d = await waitDelivery(sk, ep.id, (x) => x.status === 'delivered', 'delivered');
    const r = await sk.post(`/v1/webhook_endpoints/${ep.id}/deliveries/${d.id}/redeliver`);
    assert.equal(r.status, 202, r.text);
    assert.notEqual(r.json.id, d.id);
    assert.equal(r.json.event_id, d.event_id);
    assert.equal(r.json.status, 'pending');
    const d2 = await waitDelivery(sk, ep.id, (x) => x.id === r.json.id && x.status === 'delivered', 'redelivered');
    assert.equal(d2.attempts, 1);
    const ok = await pollUntil(() => h.got.length >= 2, POLL);
    assert.ok(ok);
    assert.equal(h.got.length, 2);
    assert.equal(h.got[1].headers['orderd-event-id'], d.event_id);
    assert.equal(h.got[1].headers['orderd-delivery-id'], r.json.id);
    assert.equal(h.got[1].json.id, h.got[0].json.id, 'same event id: receivers deduplicate on it');
  });

  test('event-type filtering: only subscribed types are delivered', T, async () => {
    const { sk } = newOrg();
    const hc = hook();
    const hall = hook();
    const ep = await createEndpoint(sk, hc.url, ['order.canceled']);
    const all = await createEndpoint(sk, hall.url, ['*']);
    const order = await createOrder(sk);
    const c = await sk.post(`/v1/orders/${order.id}/cancel`, {});
    assert.equal(c.status, 200, c.text);
    await waitDelivery(sk, ep.id, (x) => x.status === 'delivered', 'canceled delivered');
    await pollUntil(async () => (await deliveries(sk, all.id)).filter((x) => x.status === 'delivered').length === 2, POLL);
    const types = (await deliveries(sk, all.id)).map((x) => x.event_type).sort();
    assert.deepEqual(types, ['order.canceled', 'order.created']);
    const only = await deliveries(sk, ep.id);
    assert.deepEqual(only.map((x) => x.event_type), ['order.canceled']);
    assert.deepEqual(hc.got.map((g) => g.json.type), ['order.canceled']);
  });

  test(`disabled after ${DISABLE_AFTER} failed attempts, with a webhook_endpoint.disabled event; re-enable`, T, async () => {
    const { sk } = newOrg();
    const bad = hook([], 500);
    const watch = hook();
    const ep = await createEndpoint(sk, bad.url, ['order.created']);
    await createEndpoint(sk, watch.url, ['webhook_endpoint.disabled']);
    await createOrder(sk);
    const dis = await pollUntil(async () => {
      const g = (await sk.get(`/v1/webhook_endpoints/${ep.id}`)).json;
      return g.disabled ? g : false;
    }, POLL);
    assert.ok(dis, 'endpoint disabled');
    assert.equal(dis.disabled_reason, 'failing');
    assert.equal(dis.status, 'disabled');
    assert.equal(bad.got.length, DISABLE_AFTER);
    const ev = (await sk.get('/v1/events?type=webhook_endpoint.disabled')).json.data;
    assert.equal(ev.length, 1);
    assert.equal(ev[0].data.object.id, ep.id);
    const seen = await pollUntil(() => watch.got.length >= 1, POLL);
    assert.ok(seen, 'the watcher got the disabled event');
    assert.equal(watch.got[0].json.type, 'webhook_endpoint.disabled');
    assert.equal(watch.got[0].json.id, ev[0].id);
    const [d] = await deliveries(sk, ep.id);
    assert.equal(d.status, 'pending', 'kept for when the endpoint is re-enabled');
    assertProblem(await sk.post(`/v1/webhook_endpoints/${ep.id}/deliveries/${d.id}/redeliver`), 409, 'webhook_endpoint_disabled');
    await createOrder(sk); // while disabled: not queued for it
    assert.equal((await deliveries(sk, ep.id)).length, 1);
    hooks.get(bad.name).dflt = 200;
    const en = await sk.patch(`/v1/webhook_endpoints/${ep.id}`, { disabled: false });
    assert.equal(en.status, 200, en.text);
    assert.equal(en.json.disabled, false);
    assert.equal(en.json.consecutive_failures, 0);
    const back = await waitDelivery(sk, ep.id, (x) => x.id === d.id && x.status === 'delivered', 'delivered after re-enable');
    assert.equal(back.attempts, DISABLE_AFTER + 1);
  });
});

describe('documented examples, several processes, shutdown', () => {
  test('the openapi request examples work against the server', T, async () => {
    const { sk } = newOrg();
    const doc = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'openapi.json'), 'utf8'));
    const create = doc.paths['/v1/webhook_endpoints'].post.requestBody.content['application/json'].examples.endpoint.value;
    const patch = doc.paths['/v1/webhook_endpoints/{id}'].patch.requestBody.content['application/json'].examples.reenable.value;
    // No event is written in this org, so nothing is sent to the example's host.
    const c = await sk.post('/v1/webhook_endpoints', create);
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json.url, create.url);
    const p = await sk.patch(`/v1/webhook_endpoints/${c.json.id}`, patch);
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.json.enabled_events, ['*']);
    assert.equal((await sk.del(`/v1/webhook_endpoints/${c.json.id}`)).status, 200);
  });

  test('two processes on one database: every event delivered once, log pages cleanly', T, async () => {
    const own = new Sandbox({ env: sb.env });
    try {
      const org = own.createOrg('Two');
      const a = await own.start();
      const b = await own.start();
      const ska = api(a.base, org.keys.test.secret);
      const skb = api(b.base, org.keys.test.secret);
      const h = hook();
      const ep = await createEndpoint(ska, h.url, ['order.created']);
      const N = 40;
      await mapLimit(N, 8, (i) => createOrder(i % 2 ? ska : skb));
      const all = await pollUntil(async () => {
        const l = await listAll(skb, `/v1/webhook_endpoints/${ep.id}/deliveries`, { limit: 7 });
        return l.length === N && l.every((d) => d.status === 'delivered') ? l : false;
      }, POLL);
      assert.ok(all, 'every delivery delivered');
      assert.equal(new Set(all.map((d) => d.id)).size, N, 'pages do not repeat');
      assert.deepEqual(all.map((d) => d.id), [...all.map((d) => d.id)].sort().reverse(), 'newest first');
      assert.ok(all.every((d) => d.attempts === 1));
      assert.equal(h.got.length, N, 'one request per delivery');
      assert.equal(new Set(h.got.map((g) => g.headers['orderd-event-id'])).size, N);
      await a.stop();
      await b.stop();
    } finally {
      await own.cleanup();
    }
  });

  test('stop during an attempt: the server exits 0 at once and the delivery is made after a restart', T, async () => {
    const own = new Sandbox({ env: sb.env });
    try {
      const org = own.createOrg('Stop');
      let s = await own.start();
      let sk = api(s.base, org.keys.test.secret);
      const h = hook(['hang'], 200);
      const ep = await createEndpoint(sk, h.url, ['order.created']);
      await createOrder(sk);
      assert.ok(await pollUntil(() => h.got.length === 1, POLL), 'the attempt started');
      const t0 = Date.now();
      await s.stop();
      assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
      s = await own.start();
      sk = api(s.base, org.keys.test.secret);
      const d = await waitDelivery(sk, ep.id, (x) => x.status === 'delivered', 'delivered after restart');
      assert.equal(h.got.length, 2);
      assert.equal(h.got[1].headers['orderd-event-id'], h.got[0].headers['orderd-event-id']);
      assert.equal(d.attempts, 1, 'the abandoned attempt is not counted');
      await s.stop();
    } finally {
      await own.cleanup();
    }
  });
});

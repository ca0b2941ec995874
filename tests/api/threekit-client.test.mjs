// The real npm client @threekit/rest-api against orderd over https (a self-signed
// certificate made by this test with openssl): create, get, list and add to orders, every
// answer checked with the package's own zod schemas (Order, OrderListing).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { ThreekitClient, Order, OrderListing } from '@threekit/rest-api';
import { Sandbox, Server, freePort, pollUntil, ORDERD_BIN } from './lib/harness.mjs';

const T = { timeout: 60_000 };
const CFG = (n) => `4444444${n}-4444-4444-8444-444444444444`;

// rest-api chains a side .then() on every request that throws on a transport failure
// (../shared/dialects/threekit.md §7): record it instead of letting it kill the runner.
const transportErrors = [];
process.on('unhandledRejection', (e) => transportErrors.push(String(e?.message ?? e)));

let sb, srv, org, ca, agent, mainPort, tkPort;

function httpsGet(port, p) {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: p, ca, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

/** A client on the dialect listener (vendor paths, https://127.0.0.1:PORT). */
function client(auth) {
  const c = new ThreekitClient({ host: `127.0.0.1:${tkPort}`, orgId: org.uuid, ...auth });
  c.orders.context.axios.defaults.httpsAgent = agent;
  return c;
}

function assertOrder(res, ctx) {
  assert.ok(res, `${ctx}: no response (transport error: ${transportErrors.join('; ')})`);
  assert.equal(res.status, 200, `${ctx}: ${JSON.stringify(res.data)}`);
  const parsed = Order.safeParse(res.data);
  assert.ok(parsed.success, `${ctx}: Order schema: ${JSON.stringify(parsed.error?.issues)}`);
  return res.data;
}

before(async () => {
  sb = new Sandbox();
  const cert = path.join(sb.dir, 'cert.pem');
  const key = path.join(sb.dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl: ${r.error?.message ?? r.stderr}`);
  ca = (await import('node:fs')).readFileSync(cert);
  agent = new https.Agent({ ca });
  org = sb.createOrg('Real client');
  mainPort = await freePort();
  tkPort = await freePort();
  const child = spawn(ORDERD_BIN, ['serve', '--listen', `127.0.0.1:${mainPort}`, '--dialect-listen', `threekit=127.0.0.1:${tkPort}`,
    '--tls-cert', cert, '--tls-key', key, '--db', sb.db], { cwd: sb.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...sb.env } });
  srv = new Server(child, mainPort, sb.db);
  sb.servers.push(srv);
  const up = await pollUntil(async () => !srv.running || (await httpsGet(tkPort, '/api/orders/healthcheck')) === 200);
  assert.ok(up && srv.running, `orderd did not come up over https\n${srv.describe()}`);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

test('healthcheck over https', T, async () => {
  const res = await client({ privateToken: org.keys.test.secret }).orders.healthcheck();
  assert.equal(res?.status, 200);
});

test('create, getById, get by shortId and platform, addToOrder, removeFromOrder: all pass the Order schema', T, async () => {
  const c = client({ privateToken: org.keys.test.secret });
  const created = assertOrder(await c.orders.create({
    name: 'demo',
    platform: { id: 'shop-order-1', platform: 'shopify', storeName: 'demo-store' },
    cart: [{ configurationId: CFG(1), count: 1, metadata: { note: 'x', n: 2 } }],
    metadata: { a: '1', b: 2, c: { d: 'e' } },
    customerId: '11111111-1111-4111-8111-111111111111',
    status: 'In Cart',
  }), 'create');
  assert.equal(created.orgId, org.uuid);
  assert.equal(created.status, 'In Cart');
  assert.deepEqual(created.items, []);

  const one = assertOrder(await c.orders.getById(created.id, { cacheScope: 'x', cacheMaxAge: 10 }), 'getById');
  assert.deepEqual(one, created);

  const list = await c.orders.get({ shortId: created.shortId }, { page: 1, perPage: 10 });
  assert.equal(list.status, 200, JSON.stringify(list.data));
  const parsed = OrderListing.safeParse(list.data);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  assert.deepEqual(list.data.orders.map((o) => o.id), [created.id]);
  assert.equal(list.data.count, 1);
  for (const o of list.data.orders) assert.ok(Order.safeParse(o).success);

  // a non-string query value is JSON-stringified by the client: the platform filter
  const byPlatform = await c.orders.get({ platform: { id: 'shop-order-1', platform: 'shopify' } });
  assert.equal(byPlatform.status, 200, JSON.stringify(byPlatform.data));
  assert.deepEqual(byPlatform.data.orders.map((o) => o.id), [created.id]);
  assert.equal((await c.orders.get({ platform: { id: 'nope' } })).data.count, 0);

  const added = assertOrder(await c.orders.addToOrder(created.id, [{ configurationId: CFG(2), count: 3 }]), 'addToOrder');
  assert.deepEqual(added.cart.map((x) => [x.configurationId, x.count]), [[CFG(1), 1], [CFG(2), 3]]);
  const replaced = assertOrder(await c.orders.removeFromOrder(created.id, [{ configurationId: CFG(3), count: 1 }]), 'removeFromOrder');
  assert.deepEqual(replaced.cart, [{ configurationId: CFG(3), count: 1 }]);
  assert.deepEqual(transportErrors, []);
});

test('errors resolve with their status (the client does not throw)', T, async () => {
  const c = client({ privateToken: org.keys.test.secret });
  const missing = await c.orders.getById('01a20000-0000-7000-8000-000000000000');
  assert.equal(missing.status, 404);
  assert.equal(missing.data.error.code, 'order_not_found');
  const bad = await c.orders.create({ platform: {}, cart: [{ configurationId: 'nope', count: 0 }] });
  assert.equal(bad.status, 422);
  assert.ok(bad.data.error.errors.some((e) => e.field === 'cart[0].count'));
  const pub = await client({ publicToken: org.keys.test.publishable }).orders.create({ platform: {}, cart: [{ configurationId: CFG(1), count: 1 }] });
  assert.equal(pub.status, 403, 'a public token from Node sends no Origin');
  assert.equal(pub.data.error.code, 'origin_required');
});

test('a public token works from Node once the org allows it', T, async () => {
  sb.setOrg(org.id, 'threekit.public_token_without_origin=allow');
  const c = client({ publicToken: org.keys.test.publishable });
  const o = assertOrder(await c.orders.create({ platform: {}, cart: [{ configurationId: CFG(4), count: 2 }] }), 'create with pk');
  assert.equal(o.status, 'New');
  assertOrder(await c.orders.getById(o.id), 'getById with pk');
  // New: only a private token may change it
  const denied = await c.orders.addToOrder(o.id, [{ configurationId: CFG(5), count: 1 }]);
  assert.equal(denied.status, 403);
});

test('the /threekit mount on the main https listener', T, async () => {
  const c = client({ privateToken: org.keys.test.secret });
  c.orders.context.axios.defaults.baseURL = `https://127.0.0.1:${mainPort}/threekit`;
  const o = assertOrder(await c.orders.create({ platform: { platform: 'woo' }, cart: [{ configurationId: CFG(6), count: 1 }] }), 'create via mount');
  assertOrder(await c.orders.getById(o.id), 'getById via mount');
});

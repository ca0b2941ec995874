// /healthz, /readyz and /v1/openapi.json need no key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Sandbox, api, assertCommonHeaders, REPO_ROOT } from './lib/harness.mjs';

let sb, srv, anon;
const T = { timeout: 30_000 };

before(async () => {
  sb = new Sandbox();
  srv = await sb.start();
  anon = api(srv.base, null);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

test('GET /healthz → 200 {"status":"ok"} without a key', T, async () => {
  const r = await anon.get('/healthz');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'ok' });
  assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/i);
  assertCommonHeaders(r, '/healthz');
});

test('GET /readyz → 200 {"status":"ready"} without a key', T, async () => {
  const r = await anon.get('/readyz');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'ready' });
  assertCommonHeaders(r, '/readyz');
});

test('GET /v1/openapi.json → 200 JSON without a key, the document in docs/openapi.json', T, async () => {
  const r = await anon.get('/v1/openapi.json');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/i);
  assert.ok(r.json && typeof r.json === 'object', 'served body parses as JSON');
  assert.match(String(r.json.openapi), /^3\./, 'an OpenAPI 3.x document');
  assert.ok(r.json.paths && r.json.paths['/v1/orders'], 'describes /v1/orders');
  assertCommonHeaders(r, '/v1/openapi.json');
  const file = path.join(REPO_ROOT, 'docs', 'openapi.json');
  assert.ok(fs.existsSync(file), `${file} exists`);
  assert.deepEqual(r.json, JSON.parse(fs.readFileSync(file, 'utf8')), 'served document equals docs/openapi.json');
});

test('Request-Id differs between requests', T, async () => {
  const a = await anon.get('/healthz');
  const b = await anon.get('/healthz');
  assert.notEqual(a.headers.get('request-id'), b.headers.get('request-id'));
});

test('an invalid key does not matter on /healthz', T, async () => {
  const r = await api(srv.base, 'sk_test_nope').get('/healthz');
  assert.equal(r.status, 200, r.text);
});

test('--dialect-listen: each API alone at its vendor paths, health checks on every listener', T, async () => {
  const { freePort, runCli } = await import('./lib/harness.mjs');
  const box = new Sandbox();
  try {
    const [pd, pc] = [await freePort(), await freePort()];
    const s = await box.start({ extraArgs: ['--dialect-listen', `dropday=127.0.0.1:${pd}`,
      '--dialect-listen', `cherry=127.0.0.1:${pc}`] });
    for (const port of [pd, pc]) {
      const h = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(h.status, 200, `healthz on ${port}`);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    }
    // vendor paths without the prefix, each API's own error format
    const dd = await fetch(`http://127.0.0.1:${pd}/api/v1/orders`);
    assert.equal(dd.status, 401);
    assert.equal((await dd.json()).message, 'Unauthorized');
    // the /v1 API is not on an API's own listener
    assert.equal((await fetch(`http://127.0.0.1:${pd}/v1/orders`)).status, 404);
    await s.stop();
    const bad = runCli(['serve', '--dialect-listen', 'nope=127.0.0.1:1', '--db', box.db], { cwd: box.dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown API 'nope'/);
  } finally {
    await box.cleanup();
  }
});

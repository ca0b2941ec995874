// The create example in docs/openapi.json is accepted by the server as is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Sandbox, api, REPO_ROOT } from './lib/harness.mjs';

let sb, srv, org;

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('OpenAPI Example Org');
  srv = await sb.start();
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

test('POST the documented example order → 201 and its external_id echoed', { timeout: 30_000 }, async () => {
  const file = path.join(REPO_ROOT, 'docs', 'openapi.json');
  assert.ok(fs.existsSync(file), `${file} must exist`);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const example = doc?.paths?.['/v1/orders']?.post?.requestBody?.content?.['application/json']?.examples?.order?.value;
  assert.ok(example && typeof example === 'object', "paths['/v1/orders'].post.requestBody.content['application/json'].examples.order.value exists");
  assert.equal(typeof example.external_id, 'string', 'the example has an external_id');
  const r = await api(srv.base, org.keys.test.secret).post('/v1/orders', example);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.external_id, example.external_id);
  assert.equal(r.json.currency, String(example.currency).toUpperCase());
  assert.equal(r.json.line_items.length, example.line_items.length);
});

// Lints docs/openapi.json with Redocly CLI (config: redocly.yaml) and checks what the lint
// cannot: operation ids, request examples, and the createOrder example's business rules.
// Run: node --test tests/api/openapi-lint.test.mjs  (after `npm install` / `npm ci`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SPEC = path.join(ROOT, 'docs', 'openapi.json');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function loadSpec() {
  return JSON.parse(readFileSync(SPEC, 'utf8'));
}

// Follows a local "#/..." reference (one level is all the document uses, but loop anyway).
function deref(spec, obj) {
  let seen = 0;
  while (obj && typeof obj.$ref === 'string') {
    assert.ok(obj.$ref.startsWith('#/'), `only local $refs expected, got ${obj.$ref}`);
    obj = obj.$ref
      .slice(2)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, k) => (o == null ? undefined : o[k]), spec);
    assert.ok(++seen < 10, 'reference loop');
  }
  return obj;
}

function* operations(spec) {
  for (const [p, item] of Object.entries(spec.paths ?? {})) {
    for (const m of METHODS) {
      if (item[m]) yield { path: p, method: m, op: item[m] };
    }
  }
}

test('redocly lint reports no errors and no warnings', () => {
  const res = spawnSync(
    'npx',
    ['--no-install', 'redocly', 'lint', 'docs/openapi.json', '--format=stylish'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: '0',
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_NOTIFICATIONS: 'true',
      },
    },
  );
  assert.equal(res.error, undefined, `could not run npx: ${res.error}`);
  const out = `${res.stdout}\n${res.stderr}`;
  const msg = `redocly lint output:\n${out}`;
  assert.equal(res.status, 0, msg);
  assert.match(out, /validating docs\/openapi\.json/, msg);
  // Stylish format: one "line:col  severity  rule  message" row per problem.
  assert.doesNotMatch(out, /^\s*\d+:\d+\s+(error|warning|warn)\s/m, msg);
  assert.doesNotMatch(out, /You have \d+ warnings?/, msg);
  assert.doesNotMatch(out, /Validation failed with \d+ errors?/, msg);
  assert.match(out, /Your API description is valid/, msg);
});

test('operations have ids, request examples, and a valid createOrder example', () => {
  const spec = loadSpec();
  assert.equal(spec.openapi, '3.1.0');

  const ids = new Map();
  for (const { path: p, method, op } of operations(spec)) {
    const where = `${method.toUpperCase()} ${p}`;
    assert.equal(typeof op.operationId, 'string', `${where} has no operationId`);
    assert.ok(op.operationId.length > 0, `${where} has an empty operationId`);
    assert.ok(!ids.has(op.operationId), `${where} repeats operationId ${op.operationId}`);
    ids.set(op.operationId, where);

    if (op.requestBody) {
      const body = deref(spec, op.requestBody);
      const media = Object.entries(body.content ?? {});
      assert.ok(media.length > 0, `${where} requestBody has no content`);
      for (const [type, mt] of media) {
        const examples = Object.values(mt.examples ?? {}).map((e) => deref(spec, e));
        const hasExample =
          mt.example !== undefined || examples.some((e) => e && e.value !== undefined);
        assert.ok(hasExample, `${where} requestBody ${type} has no example`);
      }
    }
  }

  for (const id of [
    'createOrder', 'listOrders', 'getOrder', 'updateOrder', 'cancelOrder',
    'listEvents', 'getOpenApi',
  ]) {
    assert.ok(ids.has(id), `operationId ${id} is missing`);
  }

  for (const p of ['/healthz', '/readyz', '/v1/openapi.json']) {
    assert.deepEqual(spec.paths[p]?.get?.security, [], `GET ${p} must not need a key`);
  }

  const create = spec.paths['/v1/orders'].post;
  assert.equal(create.operationId, 'createOrder');
  const order = create.requestBody.content['application/json'].examples.order.value;
  assert.equal(typeof order.external_id, 'string', 'createOrder example has no external_id');
  assert.ok(order.external_id.length >= 1 && order.external_id.length <= 255);

  // Rules the JSON Schema cannot express, checked as docs/api-v1.md states them.
  const ean13ok = (s) => {
    if (!/^[0-9]{13}$/.test(s)) return false;
    const d = [...s].map(Number);
    const sum = d.slice(0, 12).reduce((a, x, i) => a + x * (i % 2 ? 3 : 1), 0);
    return (10 - (sum % 10)) % 10 === d[12];
  };
  let subtotal = 0;
  for (const li of order.line_items) {
    assert.ok(Number.isInteger(li.quantity) && Number.isInteger(li.unit_price));
    subtotal += li.quantity * li.unit_price;
    if (li.ean13 !== undefined) assert.ok(ean13ok(li.ean13), `bad EAN-13 ${li.ean13}`);
  }
  if (order.total_amount !== undefined) {
    const total =
      subtotal + (order.shipping_amount ?? 0) + (order.tax_amount ?? 0) - (order.discount_amount ?? 0);
    assert.equal(order.total_amount, total, 'total_amount must equal the computed total');
  }
  const birthday = order.customer?.birthday;
  if (birthday !== undefined) {
    const d = new Date(`${birthday}T00:00:00Z`);
    assert.ok(!Number.isNaN(d.getTime()) && d.toISOString().startsWith(birthday), `bad date ${birthday}`);
    assert.ok(d.getTime() < Date.now(), 'birthday must not be in the future');
  }
});

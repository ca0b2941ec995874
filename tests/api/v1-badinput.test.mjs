// Malformed requests: JSON errors, limits, media types, routes. The server must stay up.
import { test, before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, assertProblem, assertFieldError, minimalOrder, rawRequest, softly } from './lib/harness.mjs';

let sb, srv, org, sk, key;
const T = { timeout: 60_000 };

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Bad Input Org');
  srv = await sb.start();
  key = org.keys.test.secret;
  sk = api(srv.base, key);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

afterEach(async () => {
  const h = await fetch(`${srv.base}/healthz`, { signal: AbortSignal.timeout(5000) });
  assert.equal(h.status, 200, `/healthz after the case\n${srv.describe()}`);
  await h.arrayBuffer();
});

const post = (body, opts) => sk.post('/v1/orders', body, opts);
const MiB = 1024 * 1024;

function rawHead(method, path, headers) {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${srv.port}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function assertRawProblem(r, status, code, ctx) {
  assert.equal(r.status, status, `${ctx}: no ${status} response read (socket ${r.why}${r.error ? ` ${r.error}` : ''} after ${r.elapsedMs} ms, ${r.bytesWritten} bytes written) ${r.raw ?? r.body}`);
  assert.match(r.headers['content-type'] ?? '', /^application\/problem\+json/i, ctx);
  assert.ok(r.json, `${ctx}: body is JSON: ${r.body}`);
  assert.equal(r.json.code, code, ctx);
  assert.equal(r.json.type, `urn:orderd:problem:${code}`, ctx);
  assert.equal(r.json.status, status, ctx);
  assert.match(r.json.request_id ?? '', /^req_/, ctx);
  assert.equal(r.headers['request-id'], r.json.request_id, ctx);
}

describe('JSON syntax', () => {
  test('malformed JSON → 400 invalid_json with line and column in detail', T, async () => {
    const lines = ['{', '  "currency": "EUR",', '  "line_items": [', '    {"name": "a",', '     "quantity": 1,', '     "unit_price": 1}', '  ]  "x": 1', '}'];
    const p = assertProblem(await post(lines.join('\n')), 400, 'invalid_json');
    assert.equal(typeof p.detail, 'string');
    assert.ok(p.detail.includes('7'), `detail names line 7: ${p.detail}`);
    assertProblem(await post('{"currency": "EUR",'), 400, 'invalid_json', 'truncated');
    assertProblem(await post("{'currency': 'EUR'}"), 400, 'invalid_json', 'single quotes');
    assertProblem(await post('{"currency": "EUR", }'), 400, 'invalid_json', 'trailing comma');
    assertProblem(await post(''), 400, 'invalid_json', 'empty body');
  });

  test('duplicate keys → 400 invalid_json', T, async () => {
    assertProblem(await post('{"currency":"EUR","currency":"USD","line_items":[{"name":"a","quantity":1,"unit_price":1}]}'), 400, 'invalid_json');
  });

  test('numbers out of range → 400 invalid_json', T, async () => {
    assertProblem(await post('{"currency":"EUR","line_items":[{"name":"a","quantity":1,"unit_price":1e400}]}'), 400, 'invalid_json');
  });

  test('raw NUL byte and \\u0000 inside a string → 400 invalid_json', T, async () => {
    const raw = Buffer.from('{"currency":"EUR","external_id":"a\u0000b","line_items":[{"name":"a","quantity":1,"unit_price":1}]}', 'utf8');
    assert.ok(raw.includes(0));
    assertProblem(await post(raw), 400, 'invalid_json', 'raw NUL');
    assertProblem(await post('{"currency":"EUR","external_id":"a\\u0000b","line_items":[{"name":"a","quantity":1,"unit_price":1}]}'), 400, 'invalid_json', 'escaped NUL');
  });

  test('invalid UTF-8 → 400 invalid_json', T, async () => {
    const head = Buffer.from('{"currency":"EUR","external_id":"a', 'utf8');
    const tail = Buffer.from('b","line_items":[{"name":"a","quantity":1,"unit_price":1}]}', 'utf8');
    for (const bad of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      assertProblem(await post(Buffer.concat([head, Buffer.from(bad), tail])), 400, 'invalid_json', `bytes ${bad}`);
    }
  });

  test('10 000-deep nesting → 400 json_too_deep', T, async () => {
    const deep = `{"currency":"EUR","metadata":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"line_items":[{"name":"a","quantity":1,"unit_price":1}]}`;
    assertProblem(await post(deep), 400, 'json_too_deep', 'objects');
    assertProblem(await post(`${'['.repeat(10_000)}${']'.repeat(10_000)}`), 400, 'json_too_deep', 'arrays');
    assertProblem(await post(`{"metadata":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`), 400, 'json_too_deep', '41 levels');
  });
});

describe('body shape', () => {
  test('a JSON array, string, number or null body → 400 invalid_body', T, async () => {
    const soft = softly();
    for (const [label, body] of [['array', [minimalOrder()]], ['string', '"order"'], ['number', '42'], ['null', 'null'], ['true', 'true']]) {
      const r = await post(body);
      await soft.check(label, () => assertProblem(r, 400, 'invalid_body', label));
    }
    soft.done('non-object bodies');
  });

  test('wrong types → 422 invalid_type', T, async () => {
    const soft = softly();
    const cases = [
      ['currency', { currency: ['EUR'], line_items: [{ name: 'a', quantity: 1, unit_price: 1 }] }],
      ['line_items', { currency: 'EUR', line_items: 'a' }],
      ['line_items[0]', { currency: 'EUR', line_items: ['a'] }],
      ['line_items[0].quantity', { currency: 'EUR', line_items: [{ name: 'a', quantity: true, unit_price: 1 }] }],
      ['customer', minimalOrder({ customer: [] })],
      ['platform', minimalOrder({ platform: { name: 'x' } })],
    ];
    for (const [field, body] of cases) {
      const r = await post(body);
      await soft.check(field, () => assertFieldError(r, field, 'invalid_type', JSON.stringify(body)));
    }
    soft.done('wrong-type cases');
  });

  test('missing required fields → 422 required', T, async () => {
    const r = await post({});
    assertFieldError(r, 'currency', 'required');
    assertFieldError(r, 'line_items', 'required');
  });

  test('PATCH with an array body → 400 invalid_body', T, async () => {
    const o = await post(minimalOrder());
    assert.equal(o.status, 201, o.text);
    assertProblem(await sk.patch(`/v1/orders/${o.json.id}`, [{ platform: 'x' }]), 400, 'invalid_body');
    assertProblem(await sk.patch(`/v1/orders/${o.json.id}`, '{"platform":'), 400, 'invalid_json');
  });
});

describe('media type', () => {
  test('POST without Content-Type → 415 unsupported_media_type', T, async () => {
    assertProblem(await post(minimalOrder(), { contentType: null }), 415, 'unsupported_media_type', 'none');
    assertProblem(await post(JSON.stringify(minimalOrder()), { contentType: 'text/plain' }), 415, 'unsupported_media_type', 'text/plain');
    assertProblem(await post(JSON.stringify(minimalOrder()), { contentType: 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type', 'form');
  });

  test('PATCH without Content-Type → 415', T, async () => {
    const o = await post(minimalOrder());
    assert.equal(o.status, 201, o.text);
    assertProblem(await sk.patch(`/v1/orders/${o.json.id}`, { platform: 'x' }, { contentType: null }), 415, 'unsupported_media_type');
  });

  test('application/json with a charset is accepted', T, async () => {
    const r = await post(minimalOrder(), { contentType: 'application/json; charset=utf-8' });
    assert.equal(r.status, 201, r.text);
  });
});

describe('limits', () => {
  test('2 MiB body → 413 body_too_large', T, async () => {
    const filler = 'x'.repeat(2 * MiB);
    const body = Buffer.from(JSON.stringify({ currency: 'EUR', line_items: [{ name: 'a', quantity: 1, unit_price: 1 }], metadata: { k: filler } }));
    const head = rawHead('POST', '/v1/orders', {
      Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Content-Length': body.length,
    });
    const r = await rawRequest(srv.port, [head, body], { timeoutMs: 15_000 });
    assertRawProblem(r, 413, 'body_too_large', '2 MiB body');
  });

  test('Content-Length: 2097152 with no body sent → 413 at once', T, async () => {
    const head = rawHead('POST', '/v1/orders', {
      Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Content-Length': 2 * MiB,
    });
    const r = await rawRequest(srv.port, head, { timeoutMs: 5000 });
    assert.notEqual(r.why, 'timeout', 'the 413 must come without waiting for the body');
    assertRawProblem(r, 413, 'body_too_large', 'announced Content-Length');
  });

  test('a body just under 1 MiB is read (not 413)', T, async () => {
    const pad = 'y'.repeat(MiB - 4096);
    const r = await post(`{"currency":"EUR","line_items":[{"name":"a","quantity":1,"unit_price":1}],"padding":"${pad}"}`);
    assert.notEqual(r.status, 413, r.text.slice(0, 300));
    assertFieldError(r, 'padding', 'unknown_field');
  });

  test('request headers over 10 KiB → 431 headers_too_large', T, async () => {
    const head = rawHead('GET', '/v1/orders', { Authorization: `Bearer ${key}`, 'X-Filler': 'h'.repeat(11 * 1024), Connection: 'close' });
    const r = await rawRequest(srv.port, head, { timeoutMs: 10_000 });
    assertRawProblem(r, 431, 'headers_too_large', '11 KiB header');
    const many = {};
    for (let i = 0; i < 22; i++) many[`X-F${i}`] = 'm'.repeat(500);
    const r2 = await rawRequest(srv.port, rawHead('GET', '/v1/orders', { Authorization: `Bearer ${key}`, ...many, Connection: 'close' }), { timeoutMs: 10_000 });
    assertRawProblem(r2, 431, 'headers_too_large', '22 × 500 B headers');
  });

  test('headers beyond the connection buffer (~13 KiB) are refused by libmicrohttpd itself; the server keeps serving', T, async () => {
    const head = rawHead('GET', '/v1/orders', { Authorization: `Bearer ${key}`, 'X-Filler': 'h'.repeat(16 * 1024), Connection: 'close' });
    const r = await rawRequest(srv.port, head, { timeoutMs: 10_000 });
    // its HTML 431, or a reset when it closes with the rest of the headers unread
    assert.ok(r.status === 431 || /ECONNRESET|EPIPE/.test(String(r.error)), `${r.status} ${r.why} ${r.error}`);
    assert.notEqual(r.status, 200);
    assert.equal((await sk.get('/v1/orders')).status, 200);
  });

  test('headers well under 10 KiB are fine', T, async () => {
    const r = await sk.get('/v1/orders', { headers: { 'X-Filler': 'h'.repeat(8 * 1024) } });
    assert.equal(r.status, 200, r.text);
  });
});

describe('routes and methods', () => {
  test('unknown route → 404 route_not_found', T, async () => {
    assertProblem(await sk.get('/v1/nope'), 404, 'route_not_found', '/v1/nope');
    assertProblem(await sk.get('/v2/orders'), 404, 'route_not_found', '/v2/orders');
    assertProblem(await sk.get('/'), 404, 'route_not_found', '/');
    assertProblem(await sk.get('/v1/orders/x/y/z'), 404, 'route_not_found', '/v1/orders/x/y/z');
  });

  test('wrong method → 405 method_not_allowed with Allow', T, async () => {
    const allow = (r) => (r.headers.get('allow') ?? '').toUpperCase().split(/\s*,\s*/);
    const r1 = await sk.del('/v1/orders');
    assertProblem(r1, 405, 'method_not_allowed', 'DELETE /v1/orders');
    for (const m of ['GET', 'POST']) assert.ok(allow(r1).includes(m), `Allow has ${m}: ${r1.headers.get('allow')}`);
    const r2 = await sk.put('/v1/orders/01900000-0000-7000-8000-000000000000', minimalOrder());
    assertProblem(r2, 405, 'method_not_allowed', 'PUT /v1/orders/{id}');
    for (const m of ['GET', 'PATCH']) assert.ok(allow(r2).includes(m), `Allow has ${m}: ${r2.headers.get('allow')}`);
    const r3 = await sk.get('/v1/orders/01900000-0000-7000-8000-000000000000/cancel');
    assertProblem(r3, 405, 'method_not_allowed', 'GET …/cancel');
    assert.ok(allow(r3).includes('POST'), `Allow has POST: ${r3.headers.get('allow')}`);
    const r4 = await sk.post('/v1/events', {});
    assertProblem(r4, 405, 'method_not_allowed', 'POST /v1/events');
    assert.ok(allow(r4).includes('GET'));
  });

  test('after all of this the server still creates orders', T, async () => {
    const r = await post(minimalOrder());
    assert.equal(r.status, 201, r.text);
  });
});

// orderd export / orderd import (README "Import and export"): export writes every order
// of an org and mode as GET /v1/orders/{id} returns it; import creates orders from the
// /v1 create format and from the export format through the same validation as
// POST /v1/orders, idempotently, reporting each bad line; both run beside a live server
// on the same SQLite database.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  Sandbox, api, fullOrder, minimalOrder, uniq, listAll, pollUntil, ORDERD_BIN, mergeEnv,
} from './lib/harness.mjs';

const T = { timeout: 120_000 };
let sb;
let srv;

before(async () => {
  sb = new Sandbox();
  srv = await sb.start();
});
after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

/** orderd export --org ORG [--mode M]: { code, stdout, stderr, lines (parsed) }. */
function exportOrders(org, ...args) {
  const c = spawnSync(ORDERD_BIN, ['export', '--org', org, ...args, '--db', sb.db], {
    cwd: sb.dir, env: mergeEnv(), encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024,
  });
  assert.ok(!c.error, String(c.error));
  const r = { code: c.status, stdout: c.stdout, stderr: c.stderr };
  const lines = r.stdout === '' ? [] : r.stdout.replace(/\n$/, '').split('\n');
  return { ...r, text: lines, orders: r.code === 0 ? lines.map((l) => JSON.parse(l)) : [] };
}

/** orderd import --json --org ORG FILE ...: summary from stdout, reports from stderr. */
function importOrders(org, file, { input, args = [] } = {}) {
  const r = sb.cli(['import', '--json', '--org', org, ...args, file], { input, timeout: 120_000 });
  let summary;
  try { summary = JSON.parse(r.stdout); } catch { assert.fail(`import summary is not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`); }
  const reports = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { ...r, summary, reports };
}

function writeFile(name, content) {
  const p = path.join(sb.dir, name);
  fs.writeFileSync(p, content);
  return p;
}

const ndjson = (objs) => objs.map((o) => JSON.stringify(o)).join('\n') + '\n';

/** The order fields that an import keeps (all but the per-store write history). */
function kept(o) {
  const { version, updated_at: updated, ...rest } = o;
  assert.ok(version >= 1 && typeof updated === 'string');
  return rest;
}

describe('export, and a round trip into another org', () => {
  let A;
  let B;
  let exported;
  const made = {};

  before(async () => {
    A = sb.createOrg('Export source');
    B = sb.createOrg('Import target');
    const v1 = api(srv.base, A.keys.test.secret);
    // /v1: a full order, a canceled one, a fulfilled one, one without external_id
    made.full = (await v1.post('/v1/orders', fullOrder())).json;
    const c = (await v1.post('/v1/orders', fullOrder({ status: 'confirmed' }))).json;
    made.canceled = (await v1.post(`/v1/orders/${c.id}/cancel`, { reason: 'customer asked' })).json;
    const f = (await v1.post('/v1/orders', minimalOrder({ external_id: uniq('F'), status: 'confirmed' }))).json;
    made.fulfilled = (await v1.patch(`/v1/orders/${f.id}`, { status: 'fulfilled', metadata: { shipped: 'yes' } })).json;
    made.anonymous = (await v1.post('/v1/orders', minimalOrder())).json;
    // dialects: Kohort, Threekit (with a cart and with an empty one), Dropday
    const ko = await api(`${srv.base}/kohort`, A.keys.test.secret).post('/orders', {
      customerEmail: 'ada@example.com', customerFirstName: 'Ada', customerLastName: 'Lovelace',
      amount: 12990, clientReferenceId: uniq('ref-'), metadata: { cartId: 'c-1' },
    });
    assert.equal(ko.status, 201, ko.text);
    const tk = async (body) => {
      const r = await fetch(`${srv.base}/threekit/api/orders?bearer_token=${A.keys.test.secret}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      assert.equal(r.status, 200, await r.text());
    };
    await tk({ name: 'Sofa', cart: [{ configurationId: '44444441-4444-4444-8444-444444444444', count: 2 }], status: 'In Cart' });
    await tk({});
    const dd = await api(`${srv.base}/dropday/api/v1`, null, { headers: { 'api-key': A.keys.test.secret, 'account-id': A.id } }).post('/orders', {
      external_id: uniq('DD'), source: 'Shop', test: false, total: 26.93, shipping_cost: 4.95, email: 'jo@example.com',
      shipping_address: { first_name: 'Jo', last_name: 'Doe', address1: 'Street 1', postcode: '4500', city: 'LA', country: 'US' },
      products: [{ external_id: '1', name: 'Pizza', reference: 'P1', quantity: 2, price: 10.99 }],
    });
    assert.equal(dd.status, 200, dd.text);
    // a live order, which a test-mode export must leave out
    made.live = (await api(srv.base, A.keys.live.secret).post('/v1/orders', minimalOrder({ external_id: uniq('L') }))).json;
    exported = exportOrders(A.id);
    assert.equal(exported.code, 0, exported.stderr);
  });

  test('every test-mode order, newest first, each line exactly GET /v1/orders/{id}', T, async () => {
    const v1 = api(srv.base, A.keys.test.secret);
    const all = await listAll(v1, '/v1/orders');
    assert.equal(all.length, 8);
    assert.deepEqual(exported.orders.map((o) => o.id), all.map((o) => o.id), 'same orders, same order as the API list');
    for (let i = 1; i < exported.orders.length; i++) assert.ok(exported.orders[i - 1].id > exported.orders[i].id, 'newest first');
    for (const line of exported.text) {
      const { id } = JSON.parse(line);
      const got = await v1.get(`/v1/orders/${id}`);
      assert.equal(line, got.text, `export line of ${id} is the GET body byte for byte`);
    }
    const dialects = new Set(exported.orders.map((o) => o.dialect));
    assert.deepEqual([...dialects].sort(), ['dropday', 'kohort', 'threekit', 'v1']);
    assert.ok(!exported.orders.some((o) => o.id === made.live.id), 'no live order in a test export');
    const live = exportOrders(A.id, '--mode', 'live');
    assert.equal(live.code, 0, live.stderr);
    assert.deepEqual(live.orders.map((o) => o.id), [made.live.id]);
  });

  test('imported into another org: the same orders, field by field; a re-run creates nothing', T, async () => {
    const file = writeFile('round-trip.ndjson', exported.text.join('\n') + '\n');
    const first = importOrders(B.id, file);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.summary, { lines: 8, created: 8, existing: 0, failed: 0, request_id: first.summary.request_id });
    assert.match(first.summary.request_id, /^req_/);

    const back = exportOrders(B.id);
    assert.equal(back.code, 0, back.stderr);
    const byId = new Map(back.orders.map((o) => [o.id, o]));
    assert.equal(byId.size, 8);
    for (const src of exported.orders) {
      const dst = byId.get(src.id);
      assert.ok(dst, `order ${src.id} (${src.dialect}) imported with its id`);
      assert.deepEqual(kept(dst), kept(src), `order ${src.id} (${src.dialect}) equal but for version and updated_at`);
      assert.equal(dst.version, 1);
    }
    // the imported orders are the target org's: readable with its key, with events
    const v1b = api(srv.base, B.keys.test.secret);
    const canceled = await v1b.get(`/v1/orders/${made.canceled.short_id}`);
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.json.status, 'canceled');
    assert.equal(canceled.json.cancellation_reason, 'customer asked');
    const events = await listAll(v1b, '/v1/events?type=order.created');
    assert.equal(events.length, 8, 'one order.created per imported order');
    assert.ok(events.every((e) => e.request_id === first.summary.request_id), 'events carry the import run id');

    const again = importOrders(B.id, file);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([again.summary.created, again.summary.existing, again.summary.failed], [0, 8, 0]);
    assert.equal((await listAll(v1b, '/v1/orders')).length, 8);
  });

  test('into the live mode of the same org: kept apart, new short ids (they are unique per org)', T, async () => {
    const file = writeFile('to-live.ndjson', exported.text.join('\n') + '\n');
    const r = importOrders(A.id, file, { args: ['--mode', 'live'] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary.created, 8);
    const live = await listAll(api(srv.base, A.keys.live.secret), '/v1/orders');
    assert.equal(live.length, 9, 'the 8 imported and the one made live through the API');
    const test = new Map(exported.orders.map((o) => [o.id, o]));
    for (const o of live.filter((x) => x.id !== made.live.id)) {
      const src = test.get(o.id);
      assert.ok(src, `live order ${o.id} has the id of a test order`);
      assert.equal(o.mode, 'live');
      assert.equal(o.livemode, true);
      assert.notEqual(o.short_id, src.short_id, 'the short id was taken in this org: a new one');
      const { short_id: s1, mode: m1, livemode: l1, ...a } = kept(o);
      const { short_id: s2, mode: m2, livemode: l2, ...b } = kept(src);
      assert.deepEqual(a, b);
    }
    assert.equal((await listAll(api(srv.base, A.keys.test.secret), '/v1/orders')).length, 8, 'test mode unchanged');
  });
});

describe('import of the create format', () => {
  test('good lines are created, each bad line is reported with its number and the API\'s answer', T, async () => {
    const org = sb.createOrg('Bad lines');
    const v1 = api(srv.base, org.keys.test.secret);
    const ext = (n) => `BAD-${n}`;
    const good = (n) => JSON.stringify(minimalOrder({ external_id: ext(n) }));
    const wrongTypes = { external_id: ext(3), currency: 'EUR', line_items: 'nope', shipping_amount: 1.5 };
    const missing = { external_id: ext(4) };
    const lines = [
      good(1), // 1
      '{"external_id":"BAD-2","currency":', // 2 malformed
      JSON.stringify(wrongTypes), // 3
      JSON.stringify(missing), // 4
      Buffer.concat([Buffer.from('{"external_id":"BAD-5\x00","currency":"EUR"}')]), // 5 raw NUL
      '{"external_id":"BAD-6\\u0000","currency":"EUR"}', // 6 escaped NUL
      Buffer.concat([Buffer.from('{"external_id":"BAD-7'), Buffer.from([0xff, 0xfe]), Buffer.from('","currency":"EUR"}')]), // 7 invalid UTF-8
      '', // 8 blank
      JSON.stringify(minimalOrder({ external_id: ext(9), metadata: { pad: 'x'.repeat(400) }, note: 'y'.repeat(1024 * 1024) })), // 9 over 1 MiB
      `${good(10)}\r`, // 10 CRLF
      ' \t ', // 11 white space only
      JSON.stringify(minimalOrder()), // 12 no external_id
      '[1,2,3]', // 13 not an object
      '['.repeat(40) + ']'.repeat(40), // 14 too deep
      JSON.stringify(minimalOrder({ external_id: ext(15), status: 'fulfilled' })), // 15 create format: no fulfilled
      good(16), // 16, no newline at the end
    ];
    const body = Buffer.concat(lines.map((l, i) => Buffer.concat([Buffer.from(l), Buffer.from(i < lines.length - 1 ? '\n' : '')])));
    const file = writeFile('bad.ndjson', body);
    const r = importOrders(org.id, file);
    assert.equal(r.code, 1, 'exit 1 when a line failed');
    assert.deepEqual(r.summary, { lines: 16, created: 3, existing: 0, failed: 13, request_id: r.summary.request_id });
    const byLine = new Map(r.reports.map((x) => [x.line, x]));
    assert.deepEqual([...byLine.keys()].sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15]);
    const codes = Object.fromEntries([...byLine].map(([k, v]) => [k, v.code]));
    assert.deepEqual(codes, {
      2: 'invalid_json', 3: 'validation_failed', 4: 'validation_failed', 5: 'invalid_json', 6: 'invalid_json',
      7: 'invalid_json', 8: 'invalid_json', 9: 'body_too_large', 11: 'invalid_json', 12: 'validation_failed',
      13: 'invalid_body', 14: 'json_too_deep', 15: 'validation_failed',
    });
    assert.equal(byLine.get(9).status, 413);
    assert.equal(byLine.get(2).status, 400);
    assert.deepEqual(byLine.get(12).errors.map((e) => [e.field, e.code]), [['external_id', 'required']]);
    // the field errors are the API's, to the message
    for (const [n, doc] of [[3, wrongTypes], [4, missing], [15, JSON.parse(lines[14])]]) {
      const api422 = await v1.post('/v1/orders', doc);
      assert.equal(api422.status, 422, api422.text);
      assert.equal(byLine.get(n).detail, api422.json.detail, `line ${n} detail`);
      assert.deepEqual(byLine.get(n).errors, api422.json.errors, `line ${n} errors`);
    }
    // the good lines exist; no bad one does
    for (const n of [1, 10, 16]) {
      const l = await v1.get(`/v1/orders?external_id=${ext(n)}`);
      assert.equal(l.json.data.length, 1, `line ${n} created`);
    }
    assert.equal((await listAll(v1, '/v1/orders')).length, 3);

    // without --json: one human line per bad line, with its number; no progress output
    const text = sb.cli(['import', '--org', org.id, file]);
    assert.equal(text.code, 1);
    assert.equal(text.stdout, 'created 0, existing 3, failed 13\n');
    const reported = text.stderr.split('\n').filter((l) => /^orderd: line \d+: /.test(l));
    assert.equal(reported.length, 13, text.stderr);
    assert.match(text.stderr, /^orderd: line 4: validation_failed: 2 fields are invalid: currency: is required \(required\); line_items: is required \(required\)$/m);
    assert.ok(!text.stderr.includes('\r') && !text.stderr.includes('import ['), 'no progress bar when stderr is not a terminal');
  });

  test('idempotent on external_id: a re-run, and orders made through the API first, are "existing"', T, async () => {
    const org = sb.createOrg('Idempotent');
    const v1 = api(srv.base, org.keys.test.secret);
    const viaApi = (await v1.post('/v1/orders', minimalOrder({ external_id: 'IDEM-0' }))).json;
    const file = writeFile('idem.ndjson', ndjson([0, 1, 2, 3].map((n) => minimalOrder({ external_id: `IDEM-${n}` }))));
    const one = importOrders(org.id, file);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual([one.summary.created, one.summary.existing, one.summary.failed], [3, 1, 0]);
    const two = importOrders(org.id, file);
    assert.deepEqual([two.summary.created, two.summary.existing, two.summary.failed], [0, 4, 0]);
    const all = await listAll(v1, '/v1/orders');
    assert.equal(all.length, 4);
    assert.equal((await v1.get(`/v1/orders/${viaApi.id}`)).json.version, 1, 'the existing order is untouched');
  });

  test('two imports of one file at once: each order made once (the database decides)', T, async () => {
    const org = sb.createOrg('Racing imports');
    const n = 600;
    const file = writeFile('race.ndjson', ndjson(Array.from({ length: n }, (_, i) => minimalOrder({ external_id: `RACE-${i}` }))));
    const run = () => new Promise((resolve) => {
      const c = spawn(ORDERD_BIN, ['import', '--json', '--org', org.id, '--db', sb.db, file], { cwd: sb.dir, env: mergeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => { out += d; });
      c.stderr.on('data', (d) => { err += d; });
      c.on('exit', (code) => resolve({ code, out, err }));
    });
    const [x, y] = await Promise.all([run(), run()]);
    assert.equal(x.code, 0, x.err);
    assert.equal(y.code, 0, y.err);
    const a = JSON.parse(x.out);
    const b = JSON.parse(y.out);
    assert.equal(a.created + b.created, n);
    assert.equal(a.existing + b.existing, n);
    assert.equal(a.failed + b.failed, 0);
    assert.equal((await listAll(api(srv.base, org.keys.test.secret), '/v1/orders')).length, n);
  });

  test('stdin ("-")', T, async () => {
    const org = sb.createOrg('Stdin');
    const input = ndjson([minimalOrder({ external_id: 'S1' }), fullOrder({ external_id: 'S2' })]);
    const r = importOrders(org.id, '-', { input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary.created, 2);
    const got = await listAll(api(srv.base, org.keys.test.secret), '/v1/orders');
    assert.deepEqual(got.map((o) => o.external_id).sort(), ['S1', 'S2']);
    const full = got.find((o) => o.external_id === 'S2');
    assert.equal(full.total_amount, 10685);
    assert.equal(full.dialect, 'v1');
    assert.equal(full.customer.email, 'ada@example.com');
  });
});

describe('import of the export format', () => {
  test('read-only fields: kept, recomputed or refused', T, async () => {
    const org = sb.createOrg('Export format');
    const v1 = api(srv.base, org.keys.test.secret);
    const base = JSON.parse(exportOrDie(await seedOne(org)));
    const bad = (patch) => ({ ...base, ...patch });
    const lines = [
      bad({ id: '019a5f7e-3b2c-4d41-9a8e-2f6c1d0b4e77' }), // 1: not a UUIDv7
      bad({ created_at: '2999-01-01T00:00:00Z' }), // 2: future
      bad({ dialect: 'shopify' }), // 3: unknown API
      bad({ status: 'shipped' }), // 4: unknown status
      bad({ total_amount: base.total_amount + 1 }), // 5: checked against the lines
      bad({ id: null, external_id: null }), // 6: nothing to be idempotent on
      // 7: recomputed members may be anything; id, short id, time and status kept
      bad({ id: '019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e77', short_id: 'K7QM2X9PTA', external_id: 'EXP-7', version: 42,
        subtotal_amount: -1, livemode: true, mode: 'live', updated_at: 'never', created_at: '2024-02-29T12:00:00.000Z',
        status: 'fulfilled', line_items: base.line_items.map((l) => ({ ...l, amount: 0 })) }),
      // 8: no id but an external_id: a new id (and short id), the creation time kept
      bad({ id: undefined, short_id: undefined, external_id: 'EXP-8', created_at: '2025-06-01T08:00:00.000Z' }),
    ];
    const r = importOrders(org.id, writeFile('export-format.ndjson', ndjson(lines)));
    assert.equal(r.code, 1);
    const errs = Object.fromEntries(r.reports.map((x) => [x.line, x.errors.map((e) => `${e.field}:${e.code}`)]));
    assert.deepEqual(errs, {
      1: ['id:invalid_value'], 2: ['created_at:invalid_date'], 3: ['dialect:invalid_value'], 4: ['status:invalid_status'],
      5: ['total_amount:total_mismatch'], 6: ['external_id:required'],
    });
    assert.deepEqual([r.summary.created, r.summary.existing, r.summary.failed], [2, 0, 6]);
    const seven = await v1.get('/v1/orders/019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e77');
    assert.equal(seven.status, 200, seven.text);
    assert.equal(seven.json.short_id, 'K7QM2X9PTA');
    assert.equal(seven.json.created_at, '2024-02-29T12:00:00.000Z');
    assert.equal(seven.json.status, 'fulfilled');
    assert.equal(seven.json.version, 1);
    assert.equal(seven.json.mode, 'test');
    assert.equal(seven.json.subtotal_amount, base.subtotal_amount);
    assert.deepEqual(seven.json.line_items.map((l) => l.amount), base.line_items.map((l) => l.amount));
    assert.equal((await v1.get('/v1/orders/K7QM2X9PTA')).json.id, seven.json.id);
    const eight = (await v1.get('/v1/orders?external_id=EXP-8')).json.data[0];
    assert.equal(eight.created_at, '2025-06-01T08:00:00.000Z');
    assert.notEqual(eight.id, base.id);
    assert.notEqual(eight.short_id, base.short_id);
  });
});

/** Creates one full /v1 order in org; returns its id. */
async function seedOne(org) {
  const r = await api(srv.base, org.keys.test.secret).post('/v1/orders', fullOrder());
  assert.equal(r.status, 201, r.text);
  return { org, id: r.json.id };
}

function exportOrDie({ org, id }) {
  const e = exportOrders(org.id);
  assert.equal(e.code, 0, e.stderr);
  return e.text.find((l) => JSON.parse(l).id === id);
}

describe('beside a running server', () => {
  test('imported orders are visible through the API at once, and fire webhooks', T, async () => {
    const org = sb.createOrg('Live server');
    const v1 = api(srv.base, org.keys.test.secret);
    const got = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { got.push(JSON.parse(body)); res.end('ok'); });
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const ep = await v1.post('/v1/webhook_endpoints', {
        url: `http://127.0.0.1:${receiver.address().port}/hook`, enabled_events: ['order.created'],
      });
      assert.equal(ep.status, 201, ep.text);
      const n = 50;
      // the server takes API creates while the import runs
      const file = writeFile('beside.ndjson', ndjson(Array.from({ length: n }, (_, i) => fullOrder({ external_id: `LIVE-${i}` }))));
      const child = spawn(ORDERD_BIN, ['import', '--json', '--org', org.id, '--db', sb.db, file], { cwd: sb.dir, env: mergeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      const apiCreates = await Promise.all(Array.from({ length: 10 }, (_, i) => v1.post('/v1/orders', minimalOrder({ external_id: `API-${i}` }))));
      assert.ok(apiCreates.every((x) => x.status === 201));
      const code = await new Promise((r) => child.on('exit', r));
      assert.equal(code, 0, out);
      assert.equal(JSON.parse(out).created, n);
      const all = await listAll(v1, '/v1/orders');
      assert.equal(all.length, n + 10);
      // the server's webhook workers pick up the import's deliveries (outbox rows
      // written by another process) within their idle poll
      const delivered = await pollUntil(() => got.length >= n + 10, { tries: 300, interval: 100 });
      assert.ok(delivered, `deliveries: ${got.length} of ${n + 10}`);
      const imported = got.filter((e) => e.data.object.external_id?.startsWith('LIVE-'));
      assert.equal(imported.length, n);
      assert.ok(imported.every((e) => e.type === 'order.created'));
    } finally {
      receiver.close();
    }
  });
});

describe('errors', () => {
  test('usage errors exit 2; an unknown org or file exits 1', T, () => {
    const org = sb.createOrg('Usage');
    const usage = [
      ['export'],
      ['export', '--org'],
      ['export', '--org', org.id, 'extra'],
      ['export', '--org', org.id, '--mode', 'prod'],
      ['export', '--org', org.id, '--json'],
      ['import', '--org', org.id],
      ['import', '--org', org.id, 'a', 'b'],
      ['import', 'file.ndjson'],
      ['import', '--org', org.id, '--mode', 'both', 'file'],
      ['import', '--org', org.id, '--frobnicate', 'file'],
    ];
    for (const args of usage) {
      const r = sb.cli(args);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code} ${r.stderr}`);
      assert.match(r.stderr, /orderd: |usage: /);
      assert.equal(r.stdout, '');
    }
    const noOrg = sb.cli(['export', '--org', 'org_nope']);
    assert.equal(noOrg.code, 1);
    assert.match(noOrg.stderr, /no org org_nope/);
    const noFile = sb.cli(['import', '--org', org.id, path.join(sb.dir, 'missing.ndjson')]);
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /cannot open .*missing\.ndjson: No such file or directory/);
  });

  test('export: a full disk or a closed pipe is an error with a message', T, async () => {
    const org = sb.createOrg('Write errors');
    const n = 1500; // well over a pipe's buffer
    const file = writeFile('many.ndjson', ndjson(Array.from({ length: n }, (_, i) => fullOrder({ external_id: `W-${i}` }))));
    const imp = importOrders(org.id, file);
    assert.equal(imp.summary.created, n, imp.stderr);

    const full = fs.openSync('/dev/full', 'w');
    try {
      const r = spawnSync(ORDERD_BIN, ['export', '--org', org.id, '--db', sb.db], { cwd: sb.dir, env: mergeEnv(), stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /orderd: export: cannot write the output .*No space left on device/);
    } finally {
      fs.closeSync(full);
    }

    const child = spawn(ORDERD_BIN, ['export', '--org', org.id, '--db', sb.db], { cwd: sb.dir, env: mergeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.once('data', () => child.stdout.destroy()); // the reader goes away
    const code = await new Promise((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 1, err);
    assert.match(err, /orderd: export: cannot write the output \(after \d+ orders\): Broken pipe/);

    const ok = exportOrders(org.id);
    assert.equal(ok.orders.length, n);
  });
});

describe('on a terminal', () => {
  test('a progress bar on stderr, then the summary', T, () => {
    const org = sb.createOrg('Terminal');
    const file = writeFile('tty.ndjson', ndjson(Array.from({ length: 20 }, (_, i) => minimalOrder({ external_id: `TTY-${i}` }))));
    // script(1) gives the command a pseudo-terminal; its output is what the terminal shows
    const cmd = [ORDERD_BIN, 'import', '--org', org.id, '--db', sb.db, file].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: sb.dir, env: mergeEnv(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /import \[#+\] 100% .* 20 lines, \d+ lines\/s, 0 failed/);
    assert.match(r.stdout, /\r\x1b\[K/, 'the bar is redrawn in place and cleared');
    assert.match(r.stdout, /created 20, existing 0, failed 0/);
  });
});

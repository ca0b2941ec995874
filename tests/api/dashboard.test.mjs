// The merchant dashboard's HTTP side (docs/dashboard.md), black-box: the session cookie's
// attributes (Secure under TLS), sign-in errors, CSRF refusals, sign-out and expiry
// (server-side), key revocation ending sessions, two processes sharing sessions, /v1
// refusing the cookie, test/live access, filters, search, paging, the aggregates, the
// security headers and the embedded files.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {
  Sandbox, Server, ORDERD_BIN, api, assertProblem, freePort, minimalOrder, pause, pollUntil,
  parseCliJson, uniq,
} from './lib/harness.mjs';

const T = { timeout: 60_000 };
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const MARK = { 'X-Orderd-Dashboard': '1' };

let sb, srv, org, other;

/** A dashboard client with a cookie jar of one cookie. */
function dash(base) {
  const c = { base, cookie: null, last: null };
  c.req = async (method, p, { body, headers = {}, cookie = c.cookie } = {}) => {
    const h = { ...headers };
    if (cookie) h.Cookie = `orderd_dashboard=${cookie}`;
    if (body !== undefined) h['Content-Type'] ??= 'application/json';
    const res = await fetch(base + p, {
      method, headers: h, redirect: 'manual', signal: AbortSignal.timeout(30_000),
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  };
  c.signIn = async (key, extra = {}) => {
    const r = await c.req('POST', '/dashboard/api/session', { body: { key, ...extra }, headers: { ...MARK, Origin: base } });
    assert.equal(r.status, 201, r.text);
    const m = /^orderd_dashboard=([0-9a-f]{64});/.exec(r.headers.get('set-cookie') ?? '');
    assert.ok(m, `a session cookie: ${r.headers.get('set-cookie')}`);
    c.cookie = m[1];
    c.last = r;
    return r;
  };
  c.get = (p, opts) => c.req('GET', p, opts);
  return c;
}

function assertSecurityHeaders(res, ctx = '') {
  assert.equal(res.headers.get('content-security-policy'), CSP, `CSP ${ctx}`);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', `X-Frame-Options ${ctx}`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `nosniff ${ctx}`);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `Referrer-Policy ${ctx}`);
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, `Cache-Control ${ctx}`);
}

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Dashboard HTTP');
  other = sb.createOrg('Someone else');
  srv = await sb.start();
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

describe('sign-in and the session cookie', () => {
  test('a secret key gets an HttpOnly, SameSite=Strict cookie on Path=/dashboard, not Secure over http', T, async () => {
    const d = dash(srv.base);
    const r = await d.signIn(org.keys.test.secret);
    const sc = r.headers.get('set-cookie');
    assert.match(sc, /; Path=\/dashboard(;|$)/);
    assert.match(sc, /; HttpOnly(;|$)/);
    assert.match(sc, /; SameSite=Strict(;|$)/);
    assert.doesNotMatch(sc, /Secure/);
    assert.doesNotMatch(sc, /Max-Age|Expires/, 'a browser-session cookie; the server decides the expiry');
    assert.equal(r.json.org.id, org.id);
    assert.equal(r.json.org.name, 'Dashboard HTTP');
    assert.equal(r.json.mode, 'test');
    assert.deepEqual(r.json.modes, ['test']);
    assertSecurityHeaders(r, 'sign-in');
    assert.doesNotMatch(r.text, new RegExp(org.keys.test.secret), 'the key is not echoed');
    const me = await d.get('/dashboard/api/session');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.org.id, org.id);
    const d2 = dash(srv.base);
    await d2.signIn(org.keys.test.secret);
    assert.notEqual(d2.cookie, d.cookie, 'each sign-in gets a fresh random token');
  });

  test('a wrong, publishable, missing or malformed key is refused with a clear error', T, async () => {
    const d = dash(srv.base);
    const post = (body, headers = {}) => d.req('POST', '/dashboard/api/session', { body, headers: { ...MARK, ...headers } });
    let r = await post({ key: 'sk_test_0000000000000000000000000000000x' });
    assertProblem(r, 401, 'invalid_api_key');
    assert.equal(r.headers.get('set-cookie'), null, 'no cookie for a refused key');
    r = await post({ key: 'not a key at all' });
    assertProblem(r, 401, 'invalid_api_key');
    r = await post({ key: org.keys.test.publishable });
    assertProblem(r, 401, 'secret_key_required');
    r = await post({ key: '' });
    assertProblem(r, 401, 'missing_api_key');
    r = await post({});
    assertProblem(r, 401, 'missing_api_key');
    r = await post('key=sk_test_x', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assertProblem(r, 415, 'unsupported_media_type');
    r = await post('{"key":');
    assertProblem(r, 400, 'invalid_body');
    r = await post({ key: org.keys.test.secret, other_key: other.keys.live.secret });
    assertProblem(r, 422, 'invalid_other_key');
    r = await post({ key: org.keys.test.secret, other_key: org.keys.test.secret });
    assertProblem(r, 422, 'invalid_other_key');
  });

  test('no cookie, a garbage cookie or an unknown token: 401 not_signed_in and the cookie is cleared', T, async () => {
    const d = dash(srv.base);
    for (const cookie of [null, 'zz', 'a'.repeat(64)]) {
      const r = await d.get('/dashboard/api/orders', { cookie });
      assertProblem(r, 401, 'not_signed_in', `cookie ${cookie}`);
      assert.match(r.headers.get('set-cookie') ?? '', /^orderd_dashboard=; Path=\/dashboard; Max-Age=0/);
      assertSecurityHeaders(r, 'a 401');
    }
  });
});

describe('CSRF: state-changing calls must come from the dashboard itself', () => {
  test('sign-in without the X-Orderd-Dashboard header, from another Origin or cross-site is refused', T, async () => {
    const d = dash(srv.base);
    const key = org.keys.test.secret;
    const tries = [
      {},
      { 'X-Orderd-Dashboard': '0' },
      { ...MARK, Origin: 'https://evil.example.net' },
      { ...MARK, Origin: 'null' },
      { ...MARK, 'Sec-Fetch-Site': 'cross-site' },
      { ...MARK, 'Sec-Fetch-Site': 'same-site' },
    ];
    for (const headers of tries) {
      const r = await d.req('POST', '/dashboard/api/session', { body: { key }, headers });
      assertProblem(r, 403, 'cross_origin_refused', JSON.stringify(headers));
      assert.equal(r.headers.get('set-cookie'), null);
    }
    const ok = await d.req('POST', '/dashboard/api/session', { body: { key }, headers: { ...MARK, Origin: srv.base, 'Sec-Fetch-Site': 'same-origin' } });
    assert.equal(ok.status, 201, ok.text);
  });

  test('sign-out without the header or from another Origin is refused and the session lives on', T, async () => {
    const d = dash(srv.base);
    await d.signIn(org.keys.test.secret);
    let r = await d.req('DELETE', '/dashboard/api/session');
    assertProblem(r, 403, 'cross_origin_refused');
    r = await d.req('DELETE', '/dashboard/api/session', { headers: { ...MARK, Origin: 'http://127.0.0.1:1' } });
    assertProblem(r, 403, 'cross_origin_refused');
    assert.equal((await d.get('/dashboard/api/session')).status, 200);
  });

  test('no CORS: an OPTIONS preflight to the dashboard is not granted', T, async () => {
    const d = dash(srv.base);
    const r = await d.req('OPTIONS', '/dashboard/api/session', { headers: { Origin: 'https://evil.example.net', 'Access-Control-Request-Method': 'POST' } });
    assert.notEqual(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });
});

describe('sign-out and expiry end the session server-side', () => {
  test('after sign-out the old cookie no longer works, even if a client kept it', T, async () => {
    const d = dash(srv.base);
    await d.signIn(org.keys.test.secret);
    const kept = d.cookie;
    const r = await d.req('DELETE', '/dashboard/api/session', { headers: { ...MARK, Origin: srv.base } });
    assert.equal(r.status, 204, r.text);
    assert.match(r.headers.get('set-cookie') ?? '', /^orderd_dashboard=; Path=\/dashboard; Max-Age=0; HttpOnly; SameSite=Strict/);
    assertProblem(await d.get('/dashboard/api/orders', { cookie: kept }), 401, 'not_signed_in');
    const again = await d.req('DELETE', '/dashboard/api/session', { headers: MARK, cookie: kept });
    assert.equal(again.status, 204, 'signing out twice is harmless');
  });

  test('revoking the key signed in with ends its sessions', T, async () => {
    const o = sb.createOrg('Revoked');
    const d = dash(srv.base);
    await d.signIn(o.keys.test.secret);
    assert.equal((await d.get('/dashboard/api/orders')).status, 200);
    const show = parseCliJson(sb.cli(['org', 'show', o.id]), 'org show');
    const id = show.keys.find((k) => k.key?.startsWith('sk_test_') || (k.mode === 'test' && k.kind === 'secret')).id;
    const r = sb.cli(['key', 'revoke', o.id, id]);
    assert.equal(r.code, 0, r.stderr);
    assertProblem(await d.get('/dashboard/api/orders'), 401, 'not_signed_in');
  });

  test('an idle session expires (ORDERD_DASHBOARD_IDLE_MS); use slides the expiry', T, async () => {
    const s2 = await sb.start({ env: { ORDERD_DASHBOARD_IDLE_MS: '2000' } });
    try {
      const d = dash(s2.base);
      const r = await d.signIn(org.keys.test.secret);
      const exp = Date.parse(r.json.expires_at) - Date.parse(r.json.created_at);
      assert.equal(exp, 2000, 'expires_at is idle time after sign-in');
      // used every 250 ms for 3.5 s (longer than the idle time): stays valid
      const until = Date.now() + 3500;
      while (Date.now() < until) {
        const g = await d.get('/dashboard/api/session');
        assert.equal(g.status, 200, `still signed in while used: ${g.text}`);
        await pause(250);
      }
      // left alone: ends (each look is itself a use, so the looks are further apart
      // than the idle time; bounded)
      const ended = await pollUntil(async () => (await d.get('/dashboard/api/session')).status === 401, { tries: 6, interval: 2500 });
      assert.ok(ended, 'the idle session ended');
    } finally {
      await s2.stop();
    }
  });
});

describe('sessions are in the store: two processes on one database', () => {
  test('a session made by one process works on the other; sign-out on one ends it on both', T, async () => {
    const s2 = await sb.start();
    try {
      const a = dash(srv.base);
      await a.signIn(org.keys.test.secret);
      const b = dash(s2.base);
      b.cookie = a.cookie;
      assert.equal((await b.get('/dashboard/api/session')).status, 200);
      const out = await b.req('DELETE', '/dashboard/api/session', { headers: { ...MARK, Origin: s2.base } });
      assert.equal(out.status, 204);
      assertProblem(await a.get('/dashboard/api/session'), 401, 'not_signed_in');
    } finally {
      await s2.stop();
    }
  });
});

describe('/v1 stays key-only', () => {
  test('the dashboard cookie opens nothing under /v1', T, async () => {
    const d = dash(srv.base);
    await d.signIn(org.keys.test.secret);
    for (const p of ['/v1/orders', '/v1/events', '/v1/webhook_endpoints']) {
      const r = await d.get(p);
      assertProblem(r, 401, 'missing_api_key', p);
    }
    const r = await d.req('POST', '/v1/orders', { body: minimalOrder(), headers: MARK });
    assertProblem(r, 401, 'missing_api_key');
  });

  test('a key as Bearer opens nothing under /dashboard/api', T, async () => {
    const r = await api(srv.base, org.keys.test.secret).get('/dashboard/api/orders');
    assertProblem(r, 401, 'not_signed_in');
  });
});

describe('data: modes, filters, search, paging, detail, aggregates', () => {
  let d, both, ids;
  before(async () => {
    const o = sb.createOrg('Data');
    const v1 = api(srv.base, o.keys.test.secret);
    const kohort = api(`${srv.base}/kohort`, o.keys.test.secret);
    ids = [];
    for (let i = 0; i < 5; i++) {
      const r = await v1.post('/v1/orders', minimalOrder({ external_id: `EXT-${i}`, customer: { email: `Buyer${i}@Example.com` }, line_items: [{ name: 'W', quantity: 1, unit_price: 1000 + i }] }));
      assert.equal(r.status, 201, r.text);
      ids.push(r.json.id);
    }
    const c = await v1.post(`/v1/orders/${ids[0]}/cancel`, { reason: 'test' });
    assert.equal(c.status, 200, c.text);
    const k = await kohort.post('/orders', { customerEmail: 'kim@example.com', customerFirstName: 'Kim', customerLastName: 'K', customerPhoneNumber: '+33612345678', amount: 2500, locale: 'en_US', clientReferenceId: uniq('k') });
    assert.equal(k.status, 201, k.text);
    const live = await api(srv.base, o.keys.live.secret).post('/v1/orders', minimalOrder({ currency: 'USD' }));
    assert.equal(live.status, 201, live.text);
    d = dash(srv.base);
    await d.signIn(o.keys.test.secret);
    both = dash(srv.base);
    const r = await both.signIn(o.keys.test.secret, { other_key: o.keys.live.secret });
    assert.deepEqual(r.json.modes, ['test', 'live']);
  });

  test('a test-key session reads test data only; with the live key too it may switch', T, async () => {
    assertProblem(await d.get('/dashboard/api/orders?mode=live'), 403, 'mode_not_allowed');
    assertProblem(await d.get('/dashboard/api/orders?mode=prod'), 400, 'invalid_query');
    const t = await d.get('/dashboard/api/orders');
    assert.equal(t.json.mode, 'test');
    assert.equal(t.json.data.length, 6);
    const l = await both.get('/dashboard/api/orders?mode=live');
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.data.length, 1);
    assert.equal(l.json.data[0].currency, 'USD');
  });

  test('filters: status, dialect, created range; search by external id, e-mail (any case), id; unknown parameters refused', T, async () => {
    const q = async (s) => (await d.get(`/dashboard/api/orders?${s}`)).json.data;
    assert.deepEqual((await q('status=canceled')).map((o) => o.id), [ids[0]]);
    assert.equal((await q('dialect=kohort')).length, 1);
    assert.equal((await q('dialect=kohort'))[0].dialect, 'kohort');
    assert.equal((await q('dialect=v1')).length, 5);
    assert.deepEqual((await q('q=EXT-3')).map((o) => o.id), [ids[3]]);
    assert.deepEqual((await q('q=buyer2%40example.com')).map((o) => o.id), [ids[2]]);
    assert.deepEqual((await q('q=BUYER2%40EXAMPLE.COM')).map((o) => o.id), [ids[2]]);
    assert.deepEqual((await q(`q=${ids[4]}`)).map((o) => o.id), [ids[4]]);
    assert.equal((await q('q=kim%40example.com&dialect=v1')).length, 0);
    assert.equal((await q('created_gte=2000-01-01T00:00:00Z&created_lte=2001-01-01T00:00:00Z')).length, 0);
    assert.equal((await q(`created_gte=${encodeURIComponent(new Date(Date.now() - 3600e3).toISOString())}`)).length, 6);
    assertProblem(await d.get('/dashboard/api/orders?sort=id'), 400, 'invalid_query');
    assertProblem(await d.get('/dashboard/api/orders?status=lost'), 400, 'invalid_query');
    assertProblem(await d.get('/dashboard/api/orders?dialect=acme'), 400, 'invalid_query');
    assertProblem(await d.get('/dashboard/api/orders?created_gte=yesterday'), 400, 'invalid_query');
    assertProblem(await d.get('/dashboard/api/orders?limit=1000'), 400, 'invalid_query');
  });

  test('cursor paging walks every order once, newest first, both ways', T, async () => {
    const seen = [];
    let after = null;
    for (let i = 0; i < 10; i++) {
      const r = await d.get(`/dashboard/api/orders?limit=2${after ? `&starting_after=${after}` : ''}`);
      seen.push(...r.json.data.map((o) => o.id));
      if (!r.json.has_more) break;
      after = r.json.data.at(-1).id;
    }
    assert.equal(seen.length, 6);
    assert.equal(new Set(seen).size, 6);
    assert.deepEqual([...seen].sort().reverse(), seen, 'newest first');
    const back = await d.get(`/dashboard/api/orders?limit=2&ending_before=${seen[4]}`);
    assert.deepEqual(back.json.data.map((o) => o.id), [seen[2], seen[3]]);
    // the same inside a created-date range (another query plan: ids from the index first)
    const since = encodeURIComponent(new Date(Date.now() - 3600e3).toISOString());
    const dated = [];
    after = null;
    for (let i = 0; i < 10; i++) {
      const r = await d.get(`/dashboard/api/orders?limit=4&created_gte=${since}${after ? `&starting_after=${after}` : ''}`);
      dated.push(...r.json.data.map((o) => o.id));
      if (!r.json.has_more) break;
      after = r.json.data.at(-1).id;
    }
    assert.deepEqual(dated, seen);
    const datedBack = await d.get(`/dashboard/api/orders?limit=2&created_gte=${since}&ending_before=${seen[4]}`);
    assert.deepEqual(datedBack.json.data.map((o) => o.id), [seen[2], seen[3]]);
    assert.equal(datedBack.json.has_more, true);
    const datedCanceled = await d.get(`/dashboard/api/orders?created_gte=${since}&status=canceled&dialect=v1`);
    assert.equal(datedCanceled.json.data.length, 1);
  });

  test('an order: summary, body, dialect and the event timeline', T, async () => {
    const r = await d.get(`/dashboard/api/orders/${ids[0]}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.summary.dialect, 'v1');
    assert.equal(r.json.order.id, ids[0]);
    assert.equal(r.json.summary.status, 'canceled');
    assert.deepEqual(r.json.events.map((e) => e.type).sort(), ['order.canceled', 'order.created'].sort());
    assertProblem(await d.get('/dashboard/api/orders/01900000-0000-7000-8000-000000000000'), 404, 'order_not_found');
    assertProblem(await d.get('/dashboard/api/orders/nope'), 404, 'order_not_found');
    assertProblem(await d.get(`/dashboard/api/orders/${ids[0]}?mode=live`), 403, 'mode_not_allowed');
  });

  test('aggregates: 24 hourly and 7 daily buckets, orders by dialect, revenue without canceled orders', T, async () => {
    for (const [range, buckets, ms] of [['24h', 24, 3600e3], ['7d', 7, 86400e3]]) {
      const r = await d.get(`/dashboard/api/stats?range=${range}&tz_offset=120`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.buckets, buckets);
      assert.equal(r.json.bucket_ms, ms);
      assert.equal(Date.parse(r.json.to) - Date.parse(r.json.from), buckets * ms);
      assert.ok(Date.parse(r.json.to) > Date.now(), 'the current bucket is included');
      const by = (dia) => r.json.rows.filter((x) => x.dialect === dia);
      assert.equal(by('v1').reduce((s, x) => s + x.orders, 0), 5);
      assert.equal(by('kohort').reduce((s, x) => s + x.orders, 0), 1);
      assert.equal(by('v1').reduce((s, x) => s + x.revenue, 0), 1001 + 1002 + 1003 + 1004, 'the canceled order is not revenue');
      assert.ok(r.json.rows.every((x) => x.bucket >= 0 && x.bucket < buckets));
    }
    assertProblem(await d.get('/dashboard/api/stats?range=30d'), 400, 'invalid_query');
    assertProblem(await d.get('/dashboard/api/stats?tz_offset=9999'), 400, 'invalid_query');
    assertProblem(await d.get('/dashboard/api/stats?tz_offset=7'), 400, 'invalid_query');
    for (const tz of [330, -345, 765]) { // India, a quarter-hour zone west, Chatham
      const r = await d.get(`/dashboard/api/stats?range=7d&tz_offset=${tz}`);
      assert.equal(r.status, 200, r.text);
      assert.equal((Date.parse(r.json.from) + tz * 60e3) % 86400e3, 0, `days start at local midnight for ${tz}`);
      assert.equal(r.json.rows.reduce((s, x) => s + x.orders, 0), 6, `every order counted once for ${tz}`);
    }
  });

  test('webhook endpoints and their deliveries, and the settings, read-only', T, async () => {
    const w = await d.get('/dashboard/api/webhook_endpoints');
    assert.equal(w.status, 200, w.text);
    assert.deepEqual(w.json.data, []);
    assertProblem(await d.get('/dashboard/api/webhook_endpoints/we_000000000000000000000000/deliveries'), 404, 'webhook_endpoint_not_found');
    const s = await d.get('/dashboard/api/settings');
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.keys.length, 4);
    for (const k of s.json.keys.filter((x) => x.kind === 'secret')) assert.match(k.display, /^sk_(test|live)_\.\.\.\w{4}$/, 'secret keys are never shown whole');
  });
});

describe('the files and the headers', () => {
  test('/dashboard redirects to /dashboard/; the page, script and styles come from the binary with the CSP', T, async () => {
    const d = dash(srv.base);
    const r = await d.get('/dashboard');
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('location'), '/dashboard/');
    const want = { '/dashboard/': /^text\/html/, '/dashboard/app.js': /^text\/javascript/, '/dashboard/app.css': /^text\/css/, '/dashboard/charts.js': /^text\/javascript/ };
    for (const [p, ct] of Object.entries(want)) {
      const x = await d.get(p);
      assert.equal(x.status, 200, p);
      assert.match(x.headers.get('content-type'), ct, p);
      assertSecurityHeaders(x, p);
      assert.equal(x.text, fs.readFileSync(path.join(import.meta.dirname, '../../web/dashboard', p === '/dashboard/' ? 'index.html' : p.slice(11)), 'utf8'), `${p} is the file as written`);
    }
    const html = (await d.get('/dashboard/')).text;
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline style');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from outside');
  });

  test('404 and 405 under /dashboard carry the security headers too', T, async () => {
    const d = dash(srv.base);
    const nf = await d.get('/dashboard/nothing.js');
    assertProblem(nf, 404, 'route_not_found');
    assertSecurityHeaders(nf, '404');
    const na = await d.req('PUT', '/dashboard/api/session', { body: {} });
    assertProblem(na, 405, 'method_not_allowed');
    assertSecurityHeaders(na, '405');
  });

  test('the dashboard cannot be served alone on a --dialect-listen listener', T, async () => {
    const r = sb.cli(['serve', '--listen', '127.0.0.1:0', '--dialect-listen', 'dashboard=127.0.0.1:0']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown API 'dashboard'/);
  });
});

describe('TLS', () => {
  test('over https the cookie is also Secure', T, async () => {
    const dir = sb.dir;
    const cert = path.join(dir, 'dash-cert.pem');
    const key = path.join(dir, 'dash-key.pem');
    const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    const ca = fs.readFileSync(cert);
    const port = await freePort();
    const child = spawn(ORDERD_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--tls-cert', cert, '--tls-key', key, '--db', sb.db],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...sb.env } });
    const s = new Server(child, port, sb.db);
    sb.servers.push(s);
    const post = () => new Promise((resolve) => {
      const body = JSON.stringify({ key: org.keys.test.secret });
      const rq = https.request({ host: '127.0.0.1', port, path: '/dashboard/api/session', method: 'POST', ca, timeout: 2000,
        headers: { ...MARK, Origin: `https://127.0.0.1:${port}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, cookie: res.headers['set-cookie'] }));
      });
      rq.on('error', () => resolve(null));
      rq.on('timeout', () => { rq.destroy(); resolve(null); });
      rq.end(body);
    });
    try {
      const r = await pollUntil(async () => (s.running ? post() : 'exited'));
      assert.ok(r && r !== 'exited', `orderd over https did not answer\n${s.describe()}`);
      assert.equal(r.status, 201);
      assert.match(r.cookie[0], /; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await s.stop();
    }
  });
});

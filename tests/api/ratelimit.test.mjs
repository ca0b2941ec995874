// Per-key rate limits (issue 9): token buckets per key, 429 with Retry-After and RateLimit
// headers in each API's own error format, recovery once tokens are back, the org settings
// rate_limit.secret / rate_limit.publishable, limits shared by the server's threads.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Sandbox, api, minimalOrder, pollUntil, uniq } from './lib/harness.mjs';

const T = { timeout: 60_000 };
let sb;
let srv;

before(async () => {
  sb = new Sandbox();
  srv = await sb.start();
});
after(async () => { await sb?.cleanup(); });

/** An org with its limits set before its keys are first used. */
function org(name, ...settings) {
  const o = sb.createOrg(name);
  if (settings.length) sb.setOrg(o.id, ...settings);
  return o;
}

function assertRateHeaders(r, limit, ctx) {
  assert.equal(r.headers.get('ratelimit-limit'), String(limit), `RateLimit-Limit ${ctx}`);
  assert.match(r.headers.get('ratelimit-remaining') ?? '', /^\d+$/, `RateLimit-Remaining ${ctx}`);
  assert.match(r.headers.get('ratelimit-reset') ?? '', /^\d+$/, `RateLimit-Reset ${ctx}`);
  assert.match(r.headers.get('ratelimit-policy') ?? '', new RegExp(`^${limit};w=\\d+$`), `RateLimit-Policy ${ctx}`);
}

function assert429(r, ctx) {
  assert.equal(r.status, 429, `${ctx}: ${r.status} ${r.text}`);
  const ra = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(ra) && ra >= 1, `${ctx}: Retry-After ${r.headers.get('retry-after')}`);
  assert.equal(r.headers.get('ratelimit-remaining'), '0', `${ctx}: RateLimit-Remaining`);
}

describe('defaults', () => {
  test('every authenticated answer carries the key\'s RateLimit headers (secret: 500 burst)', T, async () => {
    const o = org('Defaults Co');
    const r = await api(srv.base, o.keys.test.secret).post('/v1/orders', minimalOrder());
    assert.equal(r.status, 201, r.text);
    assertRateHeaders(r, 500, 'secret key');
    assert.equal(r.headers.get('ratelimit-remaining'), '499');
    assert.equal(r.headers.get('ratelimit-policy'), '500;w=5');
    assert.equal(r.headers.get('retry-after'), null, 'no Retry-After on a success');
    const u = await api(srv.base, null).get('/v1/orders');
    assert.equal(u.status, 401);
    assert.equal(u.headers.get('ratelimit-limit'), null, 'no bucket for an unauthenticated call');
  });
});

describe('over the limit', () => {
  let o;
  const refusedExt = uniq('RL');
  before(() => { o = org('Limited Co', 'rate_limit.secret=1,3'); });

  test('/v1: the burst passes, the next request is 429 rate_limited; other keys are not affected', T, async () => {
    const v1 = api(srv.base, o.keys.test.secret);
    for (let i = 0; i < 3; i++) {
      const r = await v1.post('/v1/orders', minimalOrder());
      assert.equal(r.status, 201, `request ${i + 1}: ${r.text}`);
      assertRateHeaders(r, 3, `request ${i + 1}`);
    }
    const r = await v1.post('/v1/orders', minimalOrder({ external_id: refusedExt }));
    assert429(r, '/v1');
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.json.code, 'rate_limited');
    assert.equal(r.json.status, 429);
    // the live key and another org have their own buckets
    assert.equal((await api(srv.base, o.keys.live.secret).get('/v1/orders')).status, 200);
    const other = org('Other Co');
    assert.equal((await api(srv.base, other.keys.test.secret).get('/v1/orders')).status, 200);
  });

  test('Dropday and Kohort answer 429 in their own formats with the same key', T, async () => {
    const dd = await fetch(`${srv.base}/dropday/api/v1/orders`, {
      headers: { 'api-key': o.keys.test.secret, 'account-id': o.id, Accept: 'application/json' },
    });
    const ddBody = await dd.json();
    assert429({ status: dd.status, headers: dd.headers, text: JSON.stringify(ddBody) }, 'dropday');
    assert.equal(ddBody.message, 'Too Many Attempts.');
    assert.equal(dd.headers.get('x-ratelimit-limit'), '3', 'Laravel-style X-RateLimit-Limit');
    assert.equal(dd.headers.get('x-ratelimit-remaining'), '0');

    const k = await fetch(`${srv.base}/kohort/orders`, { headers: { Authorization: `Bearer ${o.keys.test.secret}` } });
    const kBody = await k.json();
    assert429({ status: k.status, headers: k.headers, text: JSON.stringify(kBody) }, 'kohort');
    assert.deepEqual(kBody, {
      error: { type: 'invalid_request_error', code: 'Too Many Requests', message: 'ThrottlerException: Too Many Requests' },
    });
  });

  test('Threekit answers 429 rate_limited in its format', T, async () => {
    const r = await fetch(`${srv.base}/threekit/api/orders?bearer_token=${o.keys.test.secret}`);
    const b = await r.json();
    assert429({ status: r.status, headers: r.headers, text: JSON.stringify(b) }, 'threekit');
    assert.equal(b.error.code, 'rate_limited');
    assert.equal(b.error.status, 429);
  });

  test('requests pass again once tokens are back (after Retry-After)', T, async () => {
    const v1 = api(srv.base, o.keys.test.secret);
    const r = await v1.get('/v1/orders');
    assert.equal(r.status, 429, r.text);
    const ok = await pollUntil(async () => (await v1.get('/v1/orders')).status === 200,
      { tries: 40, interval: 100 });
    assert.ok(ok, 'a request passes within about a second at 1 request/s');
    await pollUntil(async () => {
      const l = await v1.get(`/v1/orders?external_id=${refusedExt}`);
      if (l.status === 429) return false;
      assert.equal(l.status, 200, l.text);
      assert.equal(l.json.data.length, 0, 'the refused create wrote nothing');
      return true;
    }, { tries: 40, interval: 100 });
  });
});

describe('Cherry Checkout', () => {
  const token = (pk, sk, ts) => Buffer.from(crypto.createHmac('sha256', sk).update(pk + String(ts)).digest('hex')).toString('base64');
  const me = (pk, tok, ts, lang) => fetch(`${srv.base}/cherry/v2/app/me`, {
    headers: { authorization: `${pk}:${tok}`, timestamp: String(ts), ...(lang ? { 'Accept-Language': lang } : {}) },
  });

  test('only signed requests take tokens, with the secret key\'s limits; over them: code 1006, 429, in French too', T, async () => {
    const o = org('Cherry RL', 'rate_limit.secret=1,2');
    const pk = o.keys.test.publishable;
    const sk = o.keys.test.secret;
    const ts = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 5; i++) {
      const bad = await me(pk, 'bm90LWEtdG9rZW4=', ts);
      assert.equal(bad.status, 401, 'a wrong token is refused before the rate limit');
    }
    for (let i = 0; i < 2; i++) {
      const r = await me(pk, token(pk, sk, ts), ts);
      assert.notEqual(r.status, 429, `signed request ${i + 1} is within the burst`);
      assert.equal(r.headers.get('ratelimit-limit'), '2');
    }
    const r = await me(pk, token(pk, sk, ts), ts, 'fr-FR');
    const b = await r.json();
    assert429({ status: r.status, headers: r.headers, text: JSON.stringify(b) }, 'cherry');
    assert.equal(b.code, 1006);
    assert.equal(b.error, 'too many requests');
    assert.match(b.message, /^Trop de requêtes/);
  });
});

describe('concurrency and settings', () => {
  test('a burst of 20 holds across the server\'s threads: 60 concurrent requests, at most 20 + refill pass', T, async () => {
    const o = org('Burst Co', 'rate_limit.secret=1,20');
    const v1 = api(srv.base, o.keys.test.secret);
    const started = Date.now();
    const codes = await Promise.all(Array.from({ length: 60 }, () => v1.get('/v1/orders').then((r) => r.status)));
    const seconds = Math.ceil((Date.now() - started) / 1000);
    const ok = codes.filter((c) => c === 200).length;
    assert.equal(codes.filter((c) => c !== 200 && c !== 429).length, 0, `only 200 or 429: ${codes}`);
    assert.ok(ok >= 20 && ok <= 20 + seconds, `${ok} passed in ${seconds} s`);
  });

  test('publishable keys have their own, smaller default (10/s, burst 50)', T, async () => {
    const o = org('Pk Co');
    sb.setOrg(o.id, 'allowed_origins=https://shop.example.com');
    const r = await api(srv.base, o.keys.test.publishable).post('/v1/orders', minimalOrder(),
      { headers: { Origin: 'https://shop.example.com' } });
    assert.equal(r.status, 201, r.text);
    assertRateHeaders(r, 50, 'publishable key');
  });

  test('a changed setting reaches the running server within 5 s; off removes the limit', T, async () => {
    const o = org('Change Co', 'rate_limit.secret=1,1');
    const v1 = api(srv.base, o.keys.test.secret);
    assert.equal((await v1.get('/v1/orders')).status, 200);
    assert.equal((await v1.get('/v1/orders')).status, 429);
    sb.setOrg(o.id, 'rate_limit.secret=off');
    const off = await pollUntil(async () => {
      const r = await v1.get('/v1/orders');
      return r.status === 200 && r.headers.get('ratelimit-limit') === null;
    }, { tries: 80, interval: 100 });
    assert.ok(off, 'no limit and no RateLimit headers after the setting is off');
    for (let i = 0; i < 5; i++) assert.equal((await v1.get('/v1/orders')).status, 200);
  });

  test('org set refuses malformed limits with a message', T, () => {
    const o = org('Bad Settings Co');
    for (const v of ['abc', '0', '1,0', '-1', '10,', ',10', '5000000', '1.5', '10 ,20']) {
      const r = sb.cli(['org', 'set', o.id, `rate_limit.secret=${v}`]);
      assert.equal(r.code, 2, `rate_limit.secret=${v} must be refused (usage error): ${r.stdout}`);
      assert.match(r.stderr, /rate_limit: want RATE/, v);
    }
    assert.equal(sb.cli(['org', 'set', o.id, 'rate_limit.publishable=25']).code, 0);
    const shown = JSON.parse(sb.cli(['org', 'show', o.id]).stdout);
    assert.equal(shown.settings['rate_limit.publishable'], '25,25');
  });
});

// Regressions for what the fuzz targets (fuzz/, README "Fuzzing") found, over HTTP: an
// error answer keeps its message in every API's format when it quotes bytes that are
// not UTF-8 (a JSON parse error near a multi-byte character, a decoded path); Dropday
// list paging out of range and a Kohort amount far beyond an integer are refused without
// undefined behaviour (an overflowing offset, a double cast out of range: the ASan+UBSan
// build aborted).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Sandbox, api } from './lib/harness.mjs';

let sb, srv, org;
const T = { timeout: 60_000 };
// fuzz/corpus/kohort/crash-error-text-not-utf8: jansson quotes '"custom\<E7>' in its
// message, cut after the first byte of a three-byte character.
const BAD_ESCAPE = Buffer.concat([
  Buffer.from('{"custom\\', 'latin1'),
  Buffer.from([0xe7, 0x9d, 0xae]),
  Buffer.from('tGj":"01T00:00:00Z"}', 'latin1'),
]);

function cherryHeaders(keys) {
  const ts = String(Math.floor(Date.now() / 1000));
  const pk = keys.publishable;
  const hex = crypto.createHmac('sha256', keys.secret).update(pk + ts).digest('hex');
  return { authorization: `${pk}:${Buffer.from(hex).toString('base64')}`, timestamp: ts };
}

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Fuzz findings');
  sb.setOrg(org.id, 'cherry.charity=Les Restos du Coeur');
  srv = await sb.start();
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

describe('a JSON parse error near a multi-byte character keeps its message', () => {
  const sk = () => org.keys.test.secret;

  test('Kohort: error.message', T, async () => {
    const r = await api(`${srv.base}/kohort`, sk()).post('/orders', BAD_ESCAPE);
    assert.equal(r.status, 400, r.text);
    assert.equal(typeof r.json.error.message, 'string', r.text);
    assert.match(r.json.error.message, /^Invalid JSON at line 1, column \d+: invalid escape near .*\\xe7/);
    assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'type']);
  });

  test('Dropday: error', T, async () => {
    const r = await api(`${srv.base}/dropday/api/v1`, null, {
      headers: { 'api-key': sk(), 'account-id': org.id },
    }).post('/orders', BAD_ESCAPE);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.message, 'Bad Request', r.text);
    assert.match(r.json.error ?? '', /^Malformed JSON at line 1, column \d+: .*\\xe7/, r.text);
  });

  test('Cherry Checkout: detail', T, async () => {
    const r = await api(`${srv.base}/cherry`, null, { headers: cherryHeaders(org.keys.test) })
      .post('/v2/orders', BAD_ESCAPE);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, 3030, r.text);
    assert.match(r.json.detail ?? '', /^invalid JSON at line 1, column \d+: .*\\xe7/, r.text);
  });

  test('Threekit: error.message', T, async () => {
    const r = await api(`${srv.base}/threekit`, sk()).post('/api/orders', BAD_ESCAPE);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'invalid_json', r.text);
    assert.match(r.json.error.message, /\\xe7/, r.text);
  });

  test('/v1: detail', T, async () => {
    const r = await api(srv.base, sk()).post('/v1/orders', BAD_ESCAPE);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.detail, /\\xe7/, r.text);
  });
});

describe('a 404 quoting a path that is not UTF-8 keeps its message', () => {
  // %D7G: a lead byte without its continuation once MHD has decoded the path
  test('Dropday: error', T, async () => {
    const r = await api(`${srv.base}/dropday`, null).get('/api/v1/%D7G%FF');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.message, 'Not Found', r.text);
    assert.equal(r.json.error, 'no route for GET /dropday/api/v1/?G?', r.text);
  });

  test('Kohort: error.message', T, async () => {
    const r = await api(`${srv.base}/kohort`, null).get('/x%D7G%FF');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error.message, 'Cannot GET /kohort/x?G?', r.text);
    assert.equal(r.json.error.code, 'Not Found', r.text);
  });

  test('Cherry Checkout: detail', T, async () => {
    const r = await api(`${srv.base}/cherry`, null).get('/v2/%D7G%FF');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.code, 404, r.text);
    assert.equal(r.json.detail, 'no route for GET /cherry/v2/?G?', r.text);
  });

  test('Threekit and /v1: message and detail', T, async () => {
    let r = await api(`${srv.base}/threekit`, null).get('/api/%D7G%FF');
    assert.equal(r.status, 404, r.text);
    assert.equal(typeof r.json.error.message, 'string', r.text);
    r = await api(srv.base, null).get('/v1/%D7G%FF');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.detail, 'no route for GET /v1/?G?', r.text);
  });
});

describe('Dropday list paging far out of range', () => {
  // fuzz/corpus/route/crash-dropday-page-overflow: (page - 1) * per_page overflowed
  for (const q of ['page=391007199254740993', 'per_page=4611686018427387903&page=3']) {
    test(q, T, async () => {
      const dd = api(`${srv.base}/dropday/api/v1`, null, {
        headers: { 'api-key': org.keys.test.secret, 'account-id': org.id },
      });
      const r = await dd.get(`/orders?${q}`);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.message, 'Errors', r.text);
      assert.ok(r.json.errors.page || r.json.errors.per_page, r.text);
      assert.equal((await dd.get('/orders?page=1')).status, 200, 'the server still answers');
    });
  }
});

describe('Kohort amount far beyond an integer', () => {
  // fuzz/corpus/kohort/crash-amount-huge-real: the real was cast to int64 before its range check
  for (const amount of ['7.77e113', '-1e300', '9.0e15', '1000.0']) {
    test(amount, T, async () => {
      const body = `{"amount":${amount},"customerEmail":"amount@example.com",` +
        '"customerFirstName":"A","customerLastName":"B"}';
      const r = await api(`${srv.base}/kohort`, org.keys.test.secret).post('/orders', body);
      if (amount === '1000.0') {
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.amount, 1000, r.text);
      } else {
        assert.equal(r.status, 400, r.text);
        assert.deepEqual(r.json.error.message, ['amount must be an integer number of cents'], r.text);
      }
    });
  }
});

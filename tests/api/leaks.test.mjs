// No error answer of any API leaks internals: no SQL, no file paths, no library names or
// messages, no source locations. Table-driven over every mount point and a set of bad
// requests; each answer must also keep the server serving.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, rawRequest } from './lib/harness.mjs';

const T = { timeout: 120_000 };
const LEAK = new RegExp([
  '\\bsqlite', '\\bSELECT\\b', '\\bINSERT\\b', '\\bUPDATE\\s+\\w+\\s+SET\\b', '\\bconstraint\\b',
  'UNIQUE constraint', 'no such (table|column)', '\\bjansson\\b', 'microhttpd', '\\bMHD_',
  'libsodium', '\\bsodium_', 'libcurl', '\\berrno\\b', '/tmp/', '/work/', '/home/', '/usr/',
  '\\.c:\\d+', 'segmentation', 'Assertion', '0x[0-9a-f]{8,}',
].join('|'), 'i');

// [mount, create path] for every API on the main listener.
const MOUNTS = [
  ['v1', '/v1/orders'],
  ['cherry', '/cherry/v2/orders'],
  ['dropday', '/dropday/api/v1/orders'],
  ['threekit', '/threekit/api/orders'],
  ['kohort', '/kohort/orders'],
];

let sb;
let org;
let srv;
before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Leak Check');
  srv = await sb.start();
});
after(async () => { await sb?.cleanup(); });

async function send(method, path, { headers = {}, body } = {}) {
  const res = await fetch(srv.base + path, { method, headers, body });
  return { status: res.status, text: await res.text() };
}

function auths() {
  const sk = org.keys.test.secret;
  const pk = org.keys.test.publishable;
  return {
    none: {},
    bearer: { Authorization: `Bearer ${sk}` },
    'bad bearer': { Authorization: 'Bearer sk_test_' + 'x'.repeat(32) },
    garbage: { Authorization: '\u00ff\u00fe' },
    // the shapes the dialects use, with the org's keys
    'dialect headers': {
      Authorization: `Bearer ${sk}`, 'api-key': sk, 'account-id': org.id,
      timestamp: String(Math.floor(Date.now() / 1000)),
    },
    'cherry-style': { authorization: `${pk}:not-a-token`, timestamp: 'yesterday' },
  };
}

const BODIES = {
  'malformed JSON': '{"a": ',
  'not an object': '[1,2,3]',
  'wrong types': JSON.stringify({ currency: 5, line_items: 'x', amount: 'ten', trackId: {}, products: 7 }),
  'deep nesting': '['.repeat(5000) + ']'.repeat(5000),
  'NUL byte': '{"a":"\u0000"}',
  'huge number': '{"amount": 1e999, "orderPrice": 123456789012345678901234567890}',
  'sql-looking': JSON.stringify({ external_id: "x'); DROP TABLE orders;--", trackId: "' OR 1=1 --" }),
  empty: '',
};

describe('no error body leaks internals', () => {
  for (const [name, create] of MOUNTS) {
    test(`${name}: bad bodies × credentials, unknown routes and methods`, T, async () => {
      const seen = [];
      for (const [aname, headers] of Object.entries(auths())) {
        for (const [bname, body] of Object.entries(BODIES)) {
          const r = await send('POST', create, { headers: { ...headers, 'Content-Type': 'application/json' }, body });
          seen.push(r.status);
          assert.ok(r.status >= 200 && r.status < 600, `${name} ${aname} ${bname}: status ${r.status}`);
          assert.ok(!LEAK.test(r.text), `${name} ${aname} ${bname} → ${r.status} leaks: ${r.text.slice(0, 400)}`);
          assert.notEqual(r.status, 500, `${name} ${aname} ${bname}: a 500 for bad input: ${r.text.slice(0, 300)}`);
        }
      }
      const prefix = create.slice(0, create.lastIndexOf('/')) || '/';
      for (const [method, path] of [
        ['GET', `${prefix}/definitely/not/here`],
        ['DELETE', create],
        ['PUT', `${create}/%00%ff`],
        ['GET', `${create}/${'9'.repeat(300)}`],
        ['GET', `${create}/../../etc/passwd`],
      ]) {
        const r = await send(method, path, { headers: auths().bearer });
        assert.ok(!LEAK.test(r.text), `${name} ${method} ${path} → ${r.status} leaks: ${r.text.slice(0, 400)}`);
      }
      assert.ok(seen.every((s) => s >= 200), 'every request got an HTTP answer');
      const health = await send('GET', '/healthz');
      assert.equal(health.status, 200, 'still serving');
    });
  }

  test('HTTP-level errors (413, 431) carry no internals either', T, async () => {
    for (const [, create] of MOUNTS) {
      const big = await rawRequest(srv.port, [
        `POST ${create} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n`,
      ], { timeoutMs: 5000 });
      assert.equal(big.status, 413, `${create}: ${big.why} ${big.error}`);
      assert.ok(!LEAK.test(big.body ?? ''), `${create} 413 leaks`);
      const hdr = await rawRequest(srv.port, [
        `GET ${create} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(11 * 1024)}\r\n\r\n`,
      ], { timeoutMs: 5000 });
      assert.equal(hdr.status, 431, `${create}: ${hdr.why} ${hdr.error}`);
      assert.ok(!LEAK.test(hdr.body ?? ''), `${create} 431 leaks`);
    }
  });
});

// The PostgreSQL store's failure modes: an unreachable server at start (any pass: it
// needs no cluster), and in the PostgreSQL pass connections killed under a running
// server and a database that refuses connections for a while: 503 store_unavailable
// (no SQL or server text), then recovery without a restart.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, PG_MODE, api, assertProblem, freePort, minimalOrder, pgSql, pollUntil, runCli, uniq } from './lib/harness.mjs';

const T = { timeout: 60_000 };
const LEAKS = /SQLSTATE|postgres|libpq|terminat|SELECT|INSERT|connection/i;

describe('unreachable server', () => {
  test('serve and migrate against a closed port exit 1 with a clear message and no password', T, async () => {
    const port = await freePort();
    const db = `postgres://orderd:hunter2@127.0.0.1:${port}/orderd`;
    for (const args of [['serve', '--listen', '127.0.0.1:0'], ['migrate']]) {
      const r = runCli([...args, '--db', db], { timeout: 20_000 });
      assert.equal(r.code, 1, `${args[0]}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, /cannot connect to PostgreSQL/);
      assert.ok(!r.stderr.includes('hunter2'), `the password is not printed: ${r.stderr}`);
    }
  });
});

if (PG_MODE) {
  describe('lost connections (PostgreSQL)', () => {
    let sb, srv, org, sk;
    before(async () => {
      sb = new Sandbox();
      org = sb.createOrg('Lost');
      srv = await sb.start();
      sk = api(srv.base, org.keys.test.secret);
    });
    after(async () => {
      try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
    });

    const kill = () => pgSql('postgres', `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${sb.pgDb}'`);
    const unavailable = (r, ctx) => {
      assertProblem(r, 503, 'store_unavailable', ctx);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.ok(!LEAKS.test(r.text), `no internals in ${r.text}`);
    };

    test('killed connections: 503 at most once per connection, then the same server recovers', T, async () => {
      const first = await sk.post('/v1/orders', minimalOrder({ external_id: uniq('before') }));
      assert.equal(first.status, 201, first.text);
      assert.ok(Number(kill()) >= 1, 'the server had connections to kill');
      // the next request finds its connection dead: a clean 503, never a crash or a hang
      unavailable(await sk.post('/v1/orders', minimalOrder({ external_id: uniq('lost') })), 'first create after the kill');
      const created = await pollUntil(async () => {
        const r = await sk.post('/v1/orders', minimalOrder({ external_id: uniq('after') }));
        if (r.status !== 201) unavailable(r, 'create after the kill');
        return r.status === 201 ? r : false;
      });
      assert.ok(created, 'creates work again');
      const read = await pollUntil(async () => {
        const r = await sk.get(`/v1/orders/${first.json.id}`);
        if (r.status !== 200) unavailable(r, 'read after the kill');
        return r.status === 200 ? r : false;
      });
      assert.equal(read.json.id, first.json.id, 'what was committed before is still there');
      assert.equal((await sk.get(`/v1/orders/${created.json.id}`)).status, 200);
      assert.ok(srv.running, 'the server did not exit');
    });

    test('a database that refuses connections: 503 and not ready, then back without a restart', T, async () => {
      pgSql('postgres', `ALTER DATABASE ${sb.pgDb} ALLOW_CONNECTIONS false`);
      try {
        kill();
        const down = await pollUntil(async () => {
          const r = await sk.post('/v1/orders', minimalOrder());
          if (r.status === 201) return false; // a connection that was still open: try again
          unavailable(r, 'create while refused');
          return r;
        });
        assert.ok(down, 'a create answered 503 while the database refused connections');
        const ready = await pollUntil(async () => (await fetch(`${srv.base}/readyz`)).status === 503);
        assert.ok(ready, '/readyz says not ready');
        assert.match(srv.stderr, /cannot connect to PostgreSQL/, 'the log says why');
      } finally {
        pgSql('postgres', `ALTER DATABASE ${sb.pgDb} ALLOW_CONNECTIONS true`);
      }
      const back = await pollUntil(async () => (await sk.post('/v1/orders', minimalOrder())).status === 201, { tries: 400 });
      assert.ok(back, 'creates work again within the reconnection backoff');
      assert.equal((await fetch(`${srv.base}/readyz`)).status, 200);
    });
  });
}

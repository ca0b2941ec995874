// PostgreSQL stopped and started again under load (in every pass: it brings its own
// cluster, so it does not depend on the pass's store): on a cluster of its own (tools/pg-test-cluster.sh), 16 clients keep creating orders while the server is
// stopped (pg_ctl stop -m fast) and started again on the same port. While it is down
// creates answer 503 store_unavailable and /readyz 503, nothing hangs, orderd stays up;
// afterwards the same orderd process creates again without a restart, and every
// acknowledged order is in the database exactly once with its order.created event.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  REPO_ROOT, api, assertProblem, makeTempDir, mapLimit, minimalOrder, parseCliJson, pause,
  pollUntil, removeDir, runCli, startServer,
} from './lib/harness.mjs';

const SCRIPT = path.join(REPO_ROOT, 'tools', 'pg-test-cluster.sh');
const CLIENTS = 16;
const REQUEST_TIMEOUT_MS = 5_000; // a request that takes longer has hung
const T = { timeout: 90_000 };

/** Runs the cluster script without blocking the event loop (the clients go on meanwhile). */
function cluster(...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`pg-test-cluster.sh ${args.join(' ')}: exit ${code}: ${out}`));
    });
  });
}

{
  describe('PostgreSQL stopped and restarted under load', () => {
    let pg, dir, srv, sk;
    const psql = (sql, db = 'orderd_restart') => {
      const r = spawnSync(path.join(pg.bin, 'psql'), ['-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-d', `${pg.url}/${db}`, '-c', sql], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `psql ${sql}: ${r.stderr}`);
      return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('|'));
    };

    before(() => {
      // a cluster of its own: the one the other test files share is never stopped
      const r = spawnSync(SCRIPT, ['start'], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `cannot start a PostgreSQL cluster: ${r.stderr}`);
      const env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      pg = { url: env.ORDERD_TEST_PG_URL, dir: env.ORDERD_TEST_PG_DIR, bin: env.ORDERD_TEST_PG_BIN };
      dir = makeTempDir();
      psql('CREATE DATABASE orderd_restart', 'postgres');
    });
    after(async () => {
      try {
        await srv?.ensureStopped();
      } finally {
        if (dir) removeDir(dir);
        if (pg) spawnSync(SCRIPT, ['stop', pg.dir], { timeout: 60_000 });
      }
    });

    test('503 store_unavailable while it is down, recovery without a restart, no acknowledged order lost', T, async (t) => {
      const db = `${pg.url}/orderd_restart`;
      const created = runCli(['org', 'create', '--name', 'Restart', '--db', db], { cwd: dir });
      assert.equal(created.code, 0, `org create: ${created.stderr}`);
      const org = parseCliJson(created, 'org create');
      const set = runCli(['org', 'set', org.id, 'rate_limit.secret=off', '--db', db], { cwd: dir });
      assert.equal(set.code, 0, `org set: ${set.stderr}`);
      srv = await startServer({ db, cwd: dir });
      sk = api(srv.base, org.keys.test.secret);

      // the load: every create has its own external_id, one in four an Idempotency-Key
      const sent = []; // { ext, key, body, t0, t1, status, json, replayed, retryAfter, err }
      let loading = true;
      const times = {};
      const send = async (e) => {
        try {
          const r = await sk.post('/v1/orders', e.body, { headers: e.key ? { 'Idempotency-Key': e.key } : {}, timeout: REQUEST_TIMEOUT_MS });
          return r;
        } catch (err) {
          return { err: String(err?.name ?? err) };
        }
      };
      const client = async (w) => {
        for (let i = 0; loading; i++) {
          const ext = `pgr-${w}-${i}`;
          const e = { ext, key: i % 4 === 0 ? `key-${ext}` : null, body: minimalOrder({ external_id: ext }), t0: Date.now() };
          sent.push(e);
          const r = await send(e);
          e.t1 = Date.now();
          e.res = r;
          e.status = r.status;
          if (r.status !== 201) await pause(20); // a client's pacing after a refusal
        }
      };
      const since = (t, status) => sent.filter((e) => e.t0 >= t && e.status === status).length;
      let downAt = 0; // when PostgreSQL was down: the in-doubt check below needs it
      const clients = Array.from({ length: CLIENTS }, (_, w) => client(w));

      try {
        assert.ok(await pollUntil(() => since(0, 201) >= 100, { tries: 400 }), `creates go through before the stop: ${since(0, 201)}`);

        // PostgreSQL goes away (fast shutdown: sessions are terminated, in-flight commits cut)
        const stopAt = Date.now();
        await cluster('stop-server', pg.dir);
        downAt = Date.now();
        assert.ok(srv.running, `orderd survived the stop\n${srv.describe()}`);
        const direct = await sk.post('/v1/orders', minimalOrder({ external_id: 'pgr-direct-down' }), { timeout: REQUEST_TIMEOUT_MS });
        assertProblem(direct, 503, 'store_unavailable', 'a create while PostgreSQL is down');
        assert.equal(direct.headers.get('retry-after'), '1');
        const readyz = await pollUntil(async () => (await fetch(`${srv.base}/readyz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).status === 503);
        assert.ok(readyz, '/readyz answers 503 while PostgreSQL is down');
        assert.ok(await pollUntil(() => since(downAt, 503) >= 2 * CLIENTS, { tries: 400 }), `the clients get 503s while it is down: ${since(downAt, 503)}`);
        const upAt = Date.now();
        // every create sent while it was down got a clean 503 (none acknowledged, none hung)
        const whileDown = sent.filter((e) => e.t0 >= downAt && e.t1 !== undefined && e.t1 <= upAt);
        for (const e of whileDown) {
          assert.ok(e.res.err === undefined, `${e.ext}: ${e.res.err}`);
          assertProblem(e.res, 503, 'store_unavailable', `${e.ext} while down`);
          assert.equal(e.res.headers.get('retry-after'), '1');
        }
        assert.ok(srv.running, `orderd is still up while PostgreSQL is down\n${srv.describe()}`);

        // PostgreSQL comes back on the same port: the same orderd recovers by itself
        await cluster('start-server', pg.dir);
        const backAt = Date.now();
        const back = await pollUntil(async () => (await sk.post('/v1/orders', minimalOrder({ external_id: `pgr-probe-${Date.now()}` }), { timeout: REQUEST_TIMEOUT_MS })).status === 201, { tries: 600 });
        assert.ok(back, `creates answer 201 again without a restart\n${srv.describe()}`);
        assert.ok(await pollUntil(() => since(backAt, 201) >= 100, { tries: 400 }), `the clients' creates go through again: ${since(backAt, 201)}`);
        assert.ok(await pollUntil(async () => (await fetch(`${srv.base}/readyz`)).status === 200), '/readyz answers 200 again');
        assert.ok(srv.running, 'the same orderd process');
        Object.assign(times, { stop: downAt - stopAt, down: backAt - downAt, recovery: Date.now() - backAt, whileDown: whileDown.length });
      } finally {
        loading = false;
        await Promise.all(clients); // each request is bounded by REQUEST_TIMEOUT_MS
      }

      // nothing hung, nothing but 201 and 503
      const hung = sent.filter((e) => e.res.err !== undefined);
      assert.deepEqual(hung.map((e) => `${e.ext}: ${e.res.err}`), [], 'no request failed or timed out');
      const other = sent.filter((e) => e.status !== 201 && e.status !== 503);
      assert.deepEqual(other.map((e) => `${e.ext}: ${e.status} ${e.res.text}`), [], 'every create answered 201 or 503');
      for (const e of sent.filter((x) => x.status === 201)) {
        assert.equal(e.res.json.external_id, e.ext);
        e.id = e.res.json.id;
      }

      // every 503 is sent again, same body and key: a key replays what was committed, an
      // external_id names the order that was; the rest are created now
      const refused = sent.filter((e) => e.status === 503);
      const inDoubt = [];
      await mapLimit(refused.length, CLIENTS, async (n) => {
        const e = refused[n];
        const r = await pollUntil(async () => {
          const x = await send(e);
          return x.status === 503 ? false : x;
        }, { tries: 200 });
        assert.ok(r, `${e.ext}: the retry went through`);
        if (r.status === 409) {
          assert.ok(!e.key, `${e.ext}: a key replays, no 409: ${r.text}`);
          const p = assertProblem(r, 409, 'external_id_conflict', `${e.ext} retried`);
          e.id = p.existing_order_id;
          inDoubt.push(e);
        } else {
          assert.equal(r.status, 201, `${e.ext} retried: ${r.text}`);
          assert.equal(r.json.external_id, e.ext);
          e.id = r.json.id;
          if (r.headers.get('idempotent-replayed') === 'true') inDoubt.push(e);
        }
      });
      // a 503 that had committed was one whose COMMIT was cut by the stop: sent before it
      for (const e of inDoubt) assert.ok(e.t0 < downAt, `${e.ext} committed although refused, and sent after the stop`);

      // the database: each external_id once, with its order.created event, and nothing else
      const rows = psql("SELECT o.external_id, o.id, (SELECT count(*) FROM events v WHERE v.org_id = o.org_id AND v.mode = o.mode AND v.order_id = o.id AND v.type = 'order.created') FROM orders o WHERE o.external_id LIKE 'pgr-%-%' AND o.external_id NOT LIKE 'pgr-probe-%' AND o.external_id <> 'pgr-direct-down'");
      const inDb = new Map();
      for (const [ext, id, events] of rows) {
        assert.ok(!inDb.has(ext), `${ext} is stored once`);
        assert.equal(events, '1', `${ext} has one order.created event`);
        inDb.set(ext, id);
      }
      assert.equal(inDb.size, sent.length, 'every create sent is stored, and no other');
      for (const e of sent) assert.equal(inDb.get(e.ext), e.id, `${e.ext}: the acknowledged order is the stored one`);
      const orphans = psql("SELECT count(*) FROM events v WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.org_id = v.org_id AND o.mode = v.mode AND o.id = v.order_id)");
      assert.equal(orphans[0][0], '0', 'no event without its order');

      // and through the API
      const acked = sent.filter((e) => e.status === 201);
      for (let i = 0; i < acked.length; i += CLIENTS) {
        const got = await Promise.all(acked.slice(i, i + CLIENTS).map((e) => sk.get(`/v1/orders/${e.id}`)));
        got.forEach((g, j) => {
          assert.equal(g.status, 200, g.text);
          assert.equal(g.json.external_id, acked[i + j].ext);
        });
      }
      t.diagnostic(`creates ${sent.length}: acknowledged at once ${acked.length}, refused ${refused.length} (committed although refused: ${inDoubt.length}); ${JSON.stringify(times)}`);

      assert.ok(srv.running, 'orderd never exited');
      await srv.stop();
    });
  });
}

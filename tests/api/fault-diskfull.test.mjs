// Fault: the SQLite data directory is a small tmpfs that fills up. Writes answer 503 in each
// API's format and acknowledge nothing, reads go on, /readyz says why, the server neither exits
// nor wedges, and once space is freed writes succeed again without a restart; every order
// acknowledged before, during and after the episode is there (also after a restart).
//
// The tmpfs is mounted in a private mount namespace (unshare -m) held by a small process; the
// CLI and the server enter it with nsenter, and this test reaches its files through
// /proc/<holder>/root. The namespace, and the mount with it, goes away with its last process;
// the finally block also unmounts it explicitly. No mount, no test: it fails, it does not skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ORDERD_BIN, Server, api, freePort, listAll, makeTempDir, mergeEnv, pollUntil, removeDir, uniq,
} from './lib/harness.mjs';

const T = { timeout: 120_000 };
const TMPFS_SIZE = '24m';
const RUN = uniq('FULL');

/** A tmpfs at dir, visible only inside a mount namespace held by one `cat` process. */
class PrivateTmpfs {
  static async mount(dir, size) {
    const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
      'mount -t tmpfs -o "size=$1" tmpfs "$0" && echo mounted && exec cat >/dev/null', dir, size],
    { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    holder.stdout.on('data', (d) => { out += d; });
    holder.stderr.on('data', (d) => { err += d; });
    let exited = null;
    holder.on('exit', (code, signal) => { exited = { code, signal }; });
    holder.on('error', (e) => { exited = { error: e.message }; });
    const ok = await pollUntil(() => out.includes('mounted') || exited !== null, { tries: 400 });
    if (!out.includes('mounted')) {
      if (exited === null) holder.kill('SIGKILL');
      assert.fail(`cannot mount a ${size} tmpfs at ${dir} in a private mount namespace ` +
        `(the fault tests need root and CAP_SYS_ADMIN: unshare -m, mount -t tmpfs): ` +
        `${ok ? JSON.stringify(exited) : 'no answer'} ${err.trim()}`);
    }
    return new PrivateTmpfs(dir, holder);
  }

  constructor(dir, holder) {
    this.dir = dir;
    this.holder = holder;
    this.pid = holder.pid;
    this.gone = new Promise((resolve) => holder.on('exit', resolve));
  }

  /** The path of a file of the tmpfs, as this process reaches it. */
  path(rel) { return `/proc/${this.pid}/root${path.join(this.dir, rel)}`; }

  /** argv run inside the namespace (nsenter execs it: the child's PID is the program's). */
  argv(args) { return ['-t', String(this.pid), '-m', '--', ...args]; }

  run(args, env = {}) {
    const r = spawnSync('nsenter', this.argv(args), { encoding: 'utf8', env: mergeEnv(env), timeout: 30_000 });
    if (r.error) throw r.error;
    return r;
  }

  async unmount() {
    try {
      const r = this.run(['umount', this.dir]);
      assert.equal(r.status, 0, `umount ${this.dir}: ${r.stderr}`);
    } finally {
      this.holder.stdin.end(); // cat sees EOF and exits: the namespace ends
      await this.gone;
    }
  }
}

/** Starts orderd serve inside the tmpfs's namespace and polls /healthz. */
async function startIn(fsx, db) {
  const port = await freePort();
  const child = spawn('nsenter', fsx.argv([ORDERD_BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--db', db]), {
    // checkpoints after every 64 WAL frames, so they run (and fail) while the disk is full
    cwd: '/', env: mergeEnv({ ORDERD_ACCESS_LOG: '0', ORDERD_SQLITE_CHECKPOINT_FRAMES: '64' }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  const srv = new Server(child, port, db);
  const up = await pollUntil(async () => {
    if (!srv.running) return 'exited';
    try {
      const res = await fetch(`${srv.base}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status === 200 ? 'up' : false;
    } catch {
      return false;
    }
  });
  if (up !== 'up') {
    await srv.ensureStopped();
    assert.fail(`orderd did not start on the tmpfs\n${srv.describe()}`);
  }
  return srv;
}

/** Writes a filler file until the tmpfs says ENOSPC; returns its size. */
function fill(file) {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  let size = 0;
  try {
    for (let i = 0; i < 4096; i++) { // bounded: 1 GiB, far above the tmpfs size
      let n;
      try {
        n = fs.writeSync(fd, chunk);
      } catch (e) {
        if (e.code === 'ENOSPC') return size;
        throw e;
      }
      size += n;
      if (n < chunk.length) {
        // a short write: the next one must fail
        try { fs.writeSync(fd, chunk.subarray(0, 4096)); } catch (e) { if (e.code === 'ENOSPC') return size; throw e; }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  assert.fail(`the tmpfs never filled (wrote ${size} bytes)`);
}

function v1Order(i, tag) {
  return {
    external_id: `${RUN}-${tag}-${i}`,
    currency: 'EUR',
    customer: { email: `b${i}@example.com`, first_name: 'B', last_name: String(i) },
    shipping_address: { line1: `${i} Full Street`, city: 'Lyon', country: 'FR' },
    line_items: [{ name: 'Pad', sku: `P-${i}`, quantity: 1 + (i % 4), unit_price: 700 + i }],
    metadata: { i: String(i), tag },
  };
}

function ddOrder(i) {
  return {
    external_id: `${RUN}-dd-${i}`,
    source: 'Full Shop',
    total: 9.5,
    shipping_address: { first_name: 'Jo', last_name: 'Doe', address1: 'Rue 1', postcode: '69001', city: 'Lyon', country: 'FR' },
    products: [{ external_id: '1', name: 'Mug', reference: 'MUG', quantity: 1, price: 9.5 }],
  };
}

function assert503Problem(r, what) {
  assert.equal(r.status, 503, `${what}: ${r.text}`);
  assert.equal(r.headers.get('location'), null, `${what}: no Location on a 503`);
  assert.equal(r.headers.get('retry-after'), '1', `${what}: Retry-After`);
}

test('a full disk: 503 without acknowledgement, reads go on, recovery without a restart', T, async (t) => {
  const dir = makeTempDir();
  let fsx;
  let srv;
  try {
    fsx = await PrivateTmpfs.mount(dir, TMPFS_SIZE);
    const db = `sqlite:${path.join(dir, 'orderd.db')}`;
    const c = fsx.run([ORDERD_BIN, 'org', 'create', '--name', 'Full Org', '--db', db]);
    assert.equal(c.status, 0, `org create on the tmpfs: ${c.stderr}`);
    const org = JSON.parse(c.stdout);
    srv = await startIn(fsx, db);
    const sk = api(srv.base, org.keys.test.secret);
    const dd = api(`${srv.base}/dropday/api/v1`, null, { headers: { 'api-key': org.keys.test.secret, 'account-id': org.id } });
    const ko = api(`${srv.base}/kohort`, org.keys.test.secret);
    const acked = new Map(); // order id -> the 201 body
    const refused = []; // external ids answered 503
    let n = 0;
    const create = async (tag) => {
      const i = n++;
      const r = await sk.post('/v1/orders', v1Order(i, tag));
      if (r.status === 201) acked.set(r.json.id, r.json);
      else refused.push({ ext: `${RUN}-${tag}-${i}`, r });
      return r;
    };

    const kohortOk = []; // Kohort orders acknowledged while the disk was full
    // every acknowledged order is stored as answered, no refused create is
    const check = async (client, label) => {
      const all = await listAll(client, '/v1/orders');
      const byId = new Map(all.map((o) => [o.id, o]));
      for (const [id, body] of acked) assert.deepEqual(byId.get(id), body, `${label}: acknowledged order ${id}`);
      const exts = new Set(all.map((o) => o.external_id));
      for (const { ext } of refused) assert.ok(!exts.has(ext), `${label}: the refused create ${ext} is not stored`);
      const shorts = new Set(all.map((o) => o.short_id));
      for (const id of kohortOk) assert.ok(shorts.has(id.replace(/^ord_/, '')), `${label}: acknowledged Kohort order ${id}`);
      const g = await client.get(`/v1/orders/${[...acked.keys()][0]}`); // and one read by id
      assert.equal(g.status, 200, g.text);
    };

    // before: orders of /v1 and Dropday; enough for the WAL to have been checkpointed and
    // restarted, so after the fill some commits still fit in its old frames and a
    // checkpoint (which has to grow the database file) is what fails first
    for (let k = 0; k < 25; k++) {
      const wave = await Promise.all(Array.from({ length: 16 }, () => create('before')));
      for (const r of wave) assert.equal(r.status, 201, r.text);
    }
    const beforeFill = acked.size;
    const refs = [];
    for (let k = 0; k < 3; k++) {
      const r = await dd.post('/orders', ddOrder(k));
      assert.equal(r.status, 200, r.text);
      refs.push(r.json.reference);
    }
    const ddOk = 3;
    assert.deepEqual(refs, [1, 2, 3]);

    // fill the tmpfs; the WAL may still have room for a few commits: write until the first 503
    const filler = fsx.path('filler');
    const filled = fill(filler);
    t.diagnostic(`filler: ${filled} bytes`);
    // waves of 16 concurrent creates, so the failing transactions hold several writes
    let first503;
    for (let k = 0; k < 200 && !first503; k++) {
      const wave = await Promise.all(Array.from({ length: 16 }, () => create('during')));
      for (const r of wave) assert.ok(r.status === 201 || r.status === 503, `${r.status} ${r.text}`);
      first503 = wave.find((r) => r.status === 503);
    }
    assert.ok(first503, `no write failed after the disk filled (${acked.size} acknowledged)\n${srv.describe()}`);
    t.diagnostic(`acknowledged after the fill, before the first 503: ${acked.size - beforeFill}`);
    assert503Problem(first503, '/v1 create on a full disk');
    assert.equal(first503.json?.code, 'store_unavailable', first503.text);
    assert.match(first503.headers.get('content-type'), /^application\/problem\+json/);

    // while full: writes of every kind. Each is answered 503 in its API's format, or 2xx when
    // it happens to fit in space a failed write already took (then it must be stored, and is
    // checked below like every acknowledged one): each kind is sent until it gets its 503.
    const until503 = async (label, attempt, onOk) => {
      for (let k = 0; k < 100; k++) {
        const r = await attempt(k);
        if (r.status === 503) return r;
        assert.ok(r.status >= 200 && r.status < 300, `${label}: ${r.status} ${r.text}`);
        onOk(r);
      }
      return assert.fail(`${label}: never answered 503 while the disk was full\n${srv.describe()}`);
    };
    for (let k = 0; k < 3; k++) {
      assert503Problem(await until503('/v1 create', () => create('during'), () => {}), '/v1 create while full');
    }
    let idem;
    const ri = await until503('/v1 create with an Idempotency-Key', (k) => {
      idem = { key: `${RUN}-idem-${k}`, body: v1Order(9000 + k, 'idem') };
      return sk.post('/v1/orders', idem.body, { headers: { 'Idempotency-Key': idem.key } });
    }, (r) => acked.set(r.json.id, r.json));
    assert503Problem(ri, '/v1 create with an Idempotency-Key while full');
    refused.push({ ext: idem.body.external_id });
    const someId = [...acked.keys()][0];
    let version = acked.get(someId).version;
    const rp = await until503('/v1 PATCH', (k) => sk.patch(`/v1/orders/${someId}`, { metadata: { full: `yes-${k}` } }),
      (r) => { acked.set(someId, r.json); version = r.json.version; });
    assert503Problem(rp, '/v1 PATCH while full');
    assert.equal(rp.json?.code, 'store_unavailable');
    let ddRefs = ddOk;
    const rd = await until503('Dropday create', (k) => dd.post('/orders', ddOrder(100 + k)), (r) => {
      ddRefs++;
      assert.equal(r.json.reference, ddRefs);
    });
    assert503Problem(rd, 'Dropday create while full');
    assert.deepEqual(rd.json, { message: 'Service Unavailable', error: 'The order store is unavailable; retry.' });
    const rk = await until503('Kohort create', (k) => ko.post('/orders', {
      amount: 1500 + k, customerEmail: `k${k}@example.com`, customerFirstName: 'K', customerLastName: 'L',
    }), (r) => kohortOk.push(r.json.id));
    assert503Problem(rk, 'Kohort create while full');
    assert.equal(rk.json?.error?.type, 'api_error', rk.text);
    assert.equal(rk.json?.error?.code, 'Service Unavailable', rk.text);

    // reads go on
    for (const id of [...acked.keys()].slice(-20)) {
      const g = await sk.get(`/v1/orders/${id}`);
      assert.equal(g.status, 200, `GET ${id} while full: ${g.text}`);
      assert.deepEqual(g.json, acked.get(id));
    }
    await check(sk, 'while full');
    const l = await sk.get('/v1/orders?limit=5');
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.data.length, 5);
    const dl = await dd.get('/orders');
    assert.equal(dl.status, 200, dl.text);
    // /readyz says what is wrong; /healthz: the process is alive
    const ready = await sk.get('/readyz');
    assert.equal(ready.status, 503, ready.text);
    assert.match(ready.json?.detail ?? '', /writes are failing: the disk is full/, ready.text);
    assert.equal((await sk.get('/healthz')).status, 200);
    const m = await sk.get('/metrics');
    assert.match(m.text, /^orderd_store_writes_failing 1$/m);
    assert.ok(srv.running, 'the server still runs');

    // free the space: without a request and without a restart, the committer's probe sees it
    // (it tries a small write every second while writes fail), then every write succeeds
    const episodes = Number(/^orderd_store_write_failure_episodes_total (\d+)$/m.exec((await sk.get('/metrics')).text)?.[1]);
    assert.ok(episodes >= 1, 'episodes are counted');
    fs.unlinkSync(filler);
    const readyAgain = await pollUntil(async () => (await sk.get('/readyz')).status === 200, { tries: 200, interval: 50 });
    assert.ok(readyAgain, `/readyz is 200 again within 10 s of freeing space\n${srv.describe()}`);
    assert.match((await sk.get('/metrics')).text, /^orderd_store_writes_failing 0$/m);
    for (let k = 0; k < 10; k++) {
      const r = await create('after');
      assert.equal(r.status, 201, `write ${k} after freeing space: ${r.text}\n${srv.describe()}`);
    }
    // the key of the refused write was not stored: the same request now creates the order
    refused.pop();
    const ri2 = await sk.post('/v1/orders', idem.body, { headers: { 'Idempotency-Key': idem.key } });
    assert.equal(ri2.status, 201, ri2.text);
    assert.equal(ri2.headers.get('idempotent-replayed'), null);
    acked.set(ri2.json.id, ri2.json);
    const ri3 = await sk.post('/v1/orders', idem.body, { headers: { 'Idempotency-Key': idem.key } });
    assert.equal(ri3.status, 201);
    assert.equal(ri3.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(ri3.json, ri2.json);
    // the refused Dropday create took no reference: the sequence goes on without a gap
    const rd2 = await dd.post('/orders', ddOrder(101));
    assert.equal(rd2.status, 200, rd2.text);
    assert.equal(rd2.json.reference, ddRefs + 1);
    const rp2 = await sk.patch(`/v1/orders/${someId}`, { metadata: { full: 'no' } });
    assert.equal(rp2.status, 200, rp2.text);
    assert.equal(rp2.json.version, version + 1, 'the refused PATCH made no version');
    acked.set(someId, rp2.json);

    // one log line when the episode starts, one when it ends (a commit that fits in WAL space
    // a failed batch took does not end it), and no line per failed statement
    const log = srv.stderr;
    assert.equal(episodes, 1, 'one episode');
    assert.equal((log.match(/store: writes are failing: the disk is full/g) ?? []).length, 1, log.slice(-4000));
    assert.equal((log.match(/store: writes succeed again/g) ?? []).length, 1, log.slice(-4000));
    assert.doesNotMatch(log, /sqlite .*full/, 'no log line per failed statement');
    // the checkpointer (its own thread) failed too, said so once, and recovers by itself
    const ckptFailed = (log.match(/store: checkpoints are failing: database or disk is full/g) ?? []).length;
    assert.equal(ckptFailed, 1, log.slice(-4000));
    const ckptBack = await pollUntil(() => (srv.stderr.match(/store: checkpoints succeed again/g) ?? []).length === ckptFailed, { tries: 200, interval: 50 });
    assert.ok(ckptBack, `checkpoints recover\n${srv.describe()}`);
    t.diagnostic(`checkpoint failures logged: ${ckptFailed}`);

    await check(sk, 'after recovery');
    t.diagnostic(`acknowledged ${acked.size}, refused ${refused.length}`);

    await srv.stop();
    srv = await startIn(fsx, db);
    await check(api(srv.base, org.keys.test.secret), 'after a restart');
    await srv.stop();
  } finally {
    if (srv?.running) await srv.ensureStopped();
    if (fsx) await fsx.unmount();
    removeDir(dir);
  }
});

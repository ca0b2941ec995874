// Black-box test harness for orderd: temp dirs, CLI runs, server lifecycle,
// a tiny HTTP client and a raw-socket client. Node 20 built-ins only.
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// <repo root> = three levels above this file (tests/api/lib/harness.mjs).
export const REPO_ROOT = path.resolve(decodeURIComponent(new URL('../../../', import.meta.url).pathname));
export const ORDERD_BIN = process.env.ORDERD_BIN || path.join(REPO_ROOT, 'build', 'orderd');

// PostgreSQL mode (ORDERD_TEST_PG=1): every Sandbox gets its own database on one test
// cluster, ORDERD_TEST_PG_URL (tools/test.sh starts it with tools/pg-test-cluster.sh),
// or, when that is not set, a cluster this test process starts and stops itself.
export const PG_MODE = process.env.ORDERD_TEST_PG === '1';

const POLL_TRIES = 200;
const POLL_INTERVAL_MS = 25;
const STOP_TIMEOUT_MS = 15_000;
const STDERR_KEEP = 64 * 1024;

// Children still running when the test process exits are killed (by PID).
const liveChildren = new Set();
process.on('exit', () => {
  for (const c of liveChildren) {
    try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

let pgCluster = null;
let pgDbSeq = 0;

/** The test cluster: { url (no database part), bin }. */
export function pgTestCluster() {
  if (pgCluster) return pgCluster;
  if (process.env.ORDERD_TEST_PG_URL) {
    pgCluster = { url: process.env.ORDERD_TEST_PG_URL, bin: process.env.ORDERD_TEST_PG_BIN || '/usr/lib/postgresql/15/bin' };
    return pgCluster;
  }
  const script = path.join(REPO_ROOT, 'tools', 'pg-test-cluster.sh');
  const r = spawnSync(script, ['start'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `cannot start a PostgreSQL test cluster: ${r.stderr}`);
  const env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  pgCluster = { url: env.ORDERD_TEST_PG_URL, bin: env.ORDERD_TEST_PG_BIN, dir: env.ORDERD_TEST_PG_DIR };
  process.on('exit', () => { spawnSync(script, ['stop', pgCluster.dir], { timeout: 60_000 }); });
  return pgCluster;
}

/** Runs one SQL command on the test cluster's `db` with psql; returns stdout (asserts success). */
export function pgSql(db, sql, { args = [] } = {}) {
  const c = pgTestCluster();
  const r = spawnSync(path.join(c.bin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', `${c.url}/${db}`, ...args, '-c', sql], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `psql ${sql}: ${r.stderr}`);
  return r.stdout;
}

/** Resolves after `ms`; used only as the interval between polls of a condition. */
export function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` (sync or async, truthy = done) at most `tries` times. Returns the truthy value or undefined. */
export async function pollUntil(cond, { tries = POLL_TRIES, interval = POLL_INTERVAL_MS } = {}) {
  for (let i = 0; i < tries; i++) {
    const v = await cond();
    if (v) return v;
    await pause(interval);
  }
  return undefined;
}

export function makeTempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'orderd-test-'));
}

export function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** process.env plus `extra`; a key whose value is undefined is removed. */
export function mergeEnv(extra = {}) {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `orderd ARGS…` synchronously. */
export function runCli(args, { env = {}, input, timeout = 30_000, cwd = os.tmpdir() } = {}) {
  const r = spawnSync(ORDERD_BIN, args, {
    cwd, // never the repo: a default path the binary picks must not land in the work tree
    env: mergeEnv(env),
    input,
    encoding: 'utf8',
    timeout,
  });
  if (r.error) {
    throw new Error(`cannot run ${ORDERD_BIN} ${args.join(' ')}: ${r.error.message}`);
  }
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Parses one JSON object from CLI stdout, with a useful failure message. */
export function parseCliJson(r, what = 'CLI output') {
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    assert.fail(`${what} is not JSON (${e.message}); exit=${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/** Picks a free TCP port on 127.0.0.1 (listen on 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true if a TCP connection to 127.0.0.1:port is accepted (then closes it), false if refused. */
export function canConnect(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (v) => { clearTimeout(timer); sock.destroy(); resolve(v); };
    const timer = setTimeout(() => done(true), timeoutMs); // a hung connect is not a refusal
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

/** A running `orderd serve` process. */
export class Server {
  constructor(child, port, db) {
    this.child = child;
    this.pid = child.pid;
    this.port = port;
    this.db = db;
    this.base = `http://127.0.0.1:${port}`;
    this._stderr = '';
    this._stdout = '';
    this.exitInfo = null;
    child.stderr.setEncoding('utf8');
    child.stdout.setEncoding('utf8');
    child.stderr.on('data', (d) => { this._stderr = (this._stderr + d).slice(-STDERR_KEEP); });
    child.stdout.on('data', (d) => { this._stdout = (this._stdout + d).slice(-STDERR_KEEP); });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        liveChildren.delete(child);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    this.spawnError = null;
    child.on('error', (e) => { this.spawnError = e; });
  }

  get stderr() { return this._stderr; }
  get running() { return this.exitInfo === null && this.spawnError === null; }

  describe() {
    return `orderd serve pid=${this.pid} port=${this.port} exit=${JSON.stringify(this.exitInfo)}\n--- stderr (tail) ---\n${this._stderr.slice(-8000)}`;
  }

  async _awaitExit(ms) {
    let timer;
    const t = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
    const r = await Promise.race([this.exited, t]);
    clearTimeout(timer);
    return r;
  }

  /** Sends `signal` (SIGTERM by default; SIGINT works too) without waiting. */
  signal(sig = 'SIGTERM') {
    process.kill(this.pid, sig);
  }

  /** SIGTERM (or `signal`), await exit, assert exit code 0. */
  async stop({ signal = 'SIGTERM' } = {}) {
    if (!this.running) {
      assert.fail(`server was not running when asked to stop\n${this.describe()}`);
    }
    process.kill(this.pid, signal);
    return this.awaitCleanExit(signal);
  }

  /** Awaits exit after a stop signal was sent; asserts exit code 0. */
  async awaitCleanExit(signal = 'SIGTERM') {
    const r = await this._awaitExit(STOP_TIMEOUT_MS);
    if (r === null) {
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
      await this.exited;
      assert.fail(`server did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}\n${this.describe()}`);
    }
    assert.equal(r.code, 0, `server should exit 0 after ${signal}\n${this.describe()}`);
    return r;
  }

  /** SIGKILL (kill -9) and await exit. */
  async kill9() {
    if (this.running) process.kill(this.pid, 'SIGKILL');
    return this.exited;
  }

  /** Best-effort cleanup for after() hooks: kill -9 if still running. */
  async ensureStopped() {
    if (this.exitInfo === null) {
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
      await this.exited;
    }
  }
}

/** Spawns `orderd serve` and polls GET /healthz until 200 (≈ 200 × 25 ms). */
export async function startServer({ db, port, env = {}, extraArgs = [], cwd = os.tmpdir() } = {}) {
  if (!fs.existsSync(ORDERD_BIN)) {
    assert.fail(`orderd binary not found at ${ORDERD_BIN} (build it, or set ORDERD_BIN)`);
  }
  let lastFailure = '';
  // A port picked by freePort() can, rarely, be taken by someone else before
  // the server binds it: retry with a new port if the process exits early.
  for (let attempt = 0; attempt < 3; attempt++) {
    const p = port ?? (await freePort());
    const child = spawn(ORDERD_BIN, ['serve', '--listen', `127.0.0.1:${p}`, '--db', db, ...extraArgs], {
      cwd,
      env: mergeEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    const srv = new Server(child, p, db);
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
    if (up === 'up' && srv.running) return srv;
    if (srv.spawnError) assert.fail(`cannot spawn ${ORDERD_BIN}: ${srv.spawnError.message}`);
    if (up === 'exited') {
      await srv.exited;
      lastFailure = `server exited before /healthz answered 200\n${srv.describe()}`;
      if (port !== undefined) break;
      continue;
    }
    await srv.ensureStopped();
    assert.fail(`server did not answer 200 on /healthz within ${POLL_TRIES} tries\n${srv.describe()}`);
  }
  assert.fail(lastFailure);
}

/**
 * One temp dir + a database (a SQLite file in the dir, or in PostgreSQL mode a new
 * database on the test cluster) + any servers started on it.
 *   const sb = new Sandbox(); const org = sb.createOrg('A'); const srv = await sb.start();
 *   … await sb.cleanup();
 */
export class Sandbox {
  constructor({ env = {} } = {}) {
    this.dir = makeTempDir();
    if (PG_MODE) {
      pgDbSeq += 1;
      this.pgDb = `orderd_t_${process.pid}_${pgDbSeq}`;
      pgSql('postgres', `CREATE DATABASE ${this.pgDb}`);
      this.dbPath = null;
      this.db = `${pgTestCluster().url}/${this.pgDb}`;
      this.masterKeyPath = path.join(this.dir, 'data', 'master.key'); // ./data/master.key (cwd)
    } else {
      this.dbPath = path.join(this.dir, 'orderd.db');
      this.db = `sqlite:${this.dbPath}`;
      this.masterKeyPath = path.join(this.dir, 'master.key'); // beside the SQLite file
    }
    this.env = env;
    this.servers = [];
  }

  /** Everything the database holds, as stored (SQLite files; a data-only dump in PostgreSQL). */
  storedBytes() {
    if (this.pgDb) {
      const c = pgTestCluster();
      const r = spawnSync(path.join(c.bin, 'pg_dump'), ['--data-only', '-d', `${c.url}/${this.pgDb}`], { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
      assert.equal(r.status, 0, `pg_dump: ${r.stderr}`);
      return r.stdout;
    }
    return Buffer.concat([this.dbPath, `${this.dbPath}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
  }

  cli(args, opts = {}) {
    return runCli([...args, '--db', this.db], { cwd: this.dir, ...opts, env: { ...this.env, ...(opts.env || {}) } });
  }

  createOrg(name = 'Test Org') {
    const r = this.cli(['org', 'create', '--name', name]);
    assert.equal(r.code, 0, `org create failed: ${r.stderr}`);
    return parseCliJson(r, 'org create');
  }

  /** orderd org set ORG KEY=VALUE… (asserts exit 0). */
  setOrg(orgId, ...pairs) {
    const r = this.cli(['org', 'set', orgId, ...pairs]);
    assert.equal(r.code, 0, `org set ${pairs.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
    return parseCliJson(r, 'org set');
  }

  async start(opts = {}) {
    const srv = await startServer({ db: this.db, cwd: this.dir, ...opts, env: { ...this.env, ...(opts.env || {}) } });
    this.servers.push(srv);
    return srv;
  }

  /** Kills (-9) any server still running, removes the temp dir (and drops the database). */
  async cleanup() {
    for (const s of this.servers) await s.ensureStopped();
    removeDir(this.dir);
    if (this.pgDb) pgSql('postgres', `DROP DATABASE IF EXISTS ${this.pgDb} WITH (FORCE)`);
  }
}

/**
 * Tiny client. api(base, key).post('/v1/orders', body, { headers, contentType, raw })
 * returns { status, headers, json, text }.
 *  - body: object → JSON; string/Buffer → sent as is.
 *  - contentType: defaults to application/json when there is a body; null → no Content-Type
 *    (the body is then sent as a Buffer so fetch adds none).
 *  - key null/undefined → no Authorization header.
 */
export function api(base, key, defaults = {}) {
  async function request(method, p, opts = {}) {
    const headers = { ...(defaults.headers || {}), ...(opts.headers || {}) };
    if (key) headers.Authorization ??= `Bearer ${key}`;
    let body;
    if (opts.body !== undefined) {
      const b = opts.body;
      body = typeof b === 'string' || Buffer.isBuffer(b) || b instanceof Uint8Array ? b : JSON.stringify(b);
      const ct = 'contentType' in opts ? opts.contentType : 'application/json';
      if (ct === null) {
        if (typeof body === 'string') body = Buffer.from(body, 'utf8');
      } else if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = ct;
      }
    } else if (opts.contentType) {
      headers['Content-Type'] = opts.contentType;
    }
    const res = await fetch(base + p, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeout ?? 30_000),
    });
    const text = await res.text();
    let json;
    if (text.length > 0) {
      try { json = JSON.parse(text); } catch { json = undefined; }
    }
    return { status: res.status, headers: res.headers, json, text };
  }
  return {
    base,
    key,
    request,
    get: (p, opts) => request('GET', p, opts),
    post: (p, body, opts = {}) => request('POST', p, { ...opts, body }),
    patch: (p, body, opts = {}) => request('PATCH', p, { ...opts, body }),
    put: (p, body, opts = {}) => request('PUT', p, { ...opts, body }),
    del: (p, opts) => request('DELETE', p, opts),
    options: (p, opts) => request('OPTIONS', p, opts),
  };
}

/**
 * Raw HTTP/1.1 over a socket to 127.0.0.1:port. `data` (string or Buffer or array of them) is
 * written as is. Resolves with the first response (status, lower-cased headers, body, elapsed ms)
 * as soon as it is complete, or with what was read when the socket closes / errors.
 * `endAfterWrite` half-closes; otherwise the socket stays open (e.g. a body that is never sent).
 */
export function rawRequest(port, data, { timeoutMs = 10_000, endAfterWrite = false } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks = [];
    let done = false;
    const sock = net.connect({ host: '127.0.0.1', port });
    let error = null;
    const finish = (why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const buf = Buffer.concat(chunks);
      resolve({ ...parseRawResponse(buf), elapsedMs: Date.now() - started, why, error, bytesWritten: sock.bytesWritten });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      const parsed = parseRawResponse(Buffer.concat(chunks));
      if (parsed.complete) finish('complete');
    });
    sock.on('error', (e) => { error = e.code ?? e.message; finish('error'); });
    sock.on('close', () => finish('close'));
    sock.on('connect', async () => {
      // Written in slices, each awaited, and stopped as soon as a response starts to arrive:
      // a server may answer early (e.g. 413) and close, and a write error must not hide that answer.
      const parts = (Array.isArray(data) ? data : [data]).map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'latin1')));
      for (const p of parts) {
        for (let off = 0; off < p.length; off += 16 * 1024) {
          if (done || chunks.length > 0) return;
          const ok = await new Promise((res) => sock.write(p.subarray(off, off + 16 * 1024), (err) => res(!err)));
          if (!ok) return;
        }
      }
      if (endAfterWrite && !done) sock.end();
    });
  });
}

export function parseRawResponse(buf) {
  const sep = buf.indexOf('\r\n\r\n');
  if (sep < 0) return { status: null, headers: {}, body: '', json: undefined, complete: false, raw: buf.toString('latin1') };
  const head = buf.subarray(0, sep).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const bodyBuf = buf.subarray(sep + 4);
  const status = m ? Number(m[1]) : null;
  let complete = status === 204 || status === 304 || (status !== null && status < 200);
  let body = bodyBuf;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    complete = bodyBuf.length >= n;
    body = bodyBuf.subarray(0, n);
  } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const dec = decodeChunked(bodyBuf);
    complete = dec.complete;
    body = dec.body;
  }
  const text = body.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status, headers, body: text, json, complete };
}

function decodeChunked(buf) {
  const out = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return { complete: false, body: Buffer.concat(out) };
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return { complete: false, body: Buffer.concat(out) };
    if (size === 0) return { complete: true, body: Buffer.concat(out) };
    if (buf.length < eol + 2 + size + 2) return { complete: false, body: Buffer.concat(out) };
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

/**
 * Soft assertions: `await soft.check(label, fn)` records a failure instead of stopping,
 * `soft.done()` fails with every recorded mismatch. Useful where a test walks many rules.
 */
export function softly() {
  const failures = [];
  return {
    failures,
    async check(label, fn) {
      try {
        await fn();
      } catch (e) {
        failures.push(`${label}: ${String(e.message).split('\n')[0].slice(0, 400)}`);
      }
    },
    done(what = 'checks') {
      assert.ok(failures.length === 0, `${failures.length} ${what} failed:\n  - ${failures.join('\n  - ')}`);
    },
  };
}

// ---------------------------------------------------------------------------
// Assertions shared by the test files.

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const SHORT_ID = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{10}$/;
export const UUID_ANY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Headers every response carries (docs/api-v1.md "Every response"). */
export function assertCommonHeaders(res, ctx = '') {
  const rid = res.headers.get('request-id');
  assert.match(rid ?? '', /^req_\S+$/, `Request-Id header missing or malformed ${ctx}: ${rid}`);
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, `Cache-Control: no-store expected ${ctx}`);
  assert.equal((res.headers.get('x-content-type-options') ?? '').toLowerCase(), 'nosniff', `X-Content-Type-Options: nosniff expected ${ctx}`);
}

/** Asserts an RFC 9457 problem response with the given status and code. */
export function assertProblem(res, status, code, ctx = '') {
  const where = `${ctx} → ${res.status} ${res.text?.slice(0, 600)}`;
  assert.equal(res.status, status, `status ${where}`);
  const ct = res.headers.get ? res.headers.get('content-type') : res.headers['content-type'];
  assert.match(ct ?? '', /^application\/problem\+json\b/i, `Content-Type of a problem ${where}`);
  assert.ok(res.json && typeof res.json === 'object' && !Array.isArray(res.json), `problem body is a JSON object ${where}`);
  assert.equal(res.json.code, code, `problem code ${where}`);
  assert.equal(res.json.type, `urn:orderd:problem:${code}`, `problem type ${where}`);
  assert.equal(res.json.status, status, `problem status member ${where}`);
  assert.match(String(res.json.request_id), /^req_\S+$/, `problem request_id ${where}`);
  const rid = res.headers.get ? res.headers.get('request-id') : res.headers['request-id'];
  assert.equal(rid, res.json.request_id, `Request-Id header equals problem request_id ${where}`);
  return res.json;
}

/**
 * Asserts a 422 validation_failed naming `field` (string, array of acceptable fields, or RegExp)
 * with `code` (string, array of acceptable codes, or undefined = any code).
 */
export function assertFieldError(res, field, code, ctx = '') {
  const p = assertProblem(res, 422, 'validation_failed', ctx);
  assert.ok(Array.isArray(p.errors) && p.errors.length > 0, `errors[] present ${ctx}: ${res.text}`);
  for (const e of p.errors) {
    assert.equal(typeof e.field, 'string', `errors[].field is a string ${ctx}: ${res.text}`);
    assert.equal(typeof e.code, 'string', `errors[].code is a string ${ctx}: ${res.text}`);
    assert.equal(typeof e.message, 'string', `errors[].message is a string ${ctx}: ${res.text}`);
  }
  const fieldOk = (f) => (field instanceof RegExp ? field.test(f) : Array.isArray(field) ? field.includes(f) : f === field);
  const codeOk = (c) => (code === undefined ? true : Array.isArray(code) ? code.includes(c) : c === code);
  const hit = p.errors.find((e) => fieldOk(e.field) && codeOk(e.code));
  assert.ok(hit, `expected a field error ${String(field)} / ${code ?? '*'} ${ctx}; got ${JSON.stringify(p.errors)}`);
  return hit;
}

// ---------------------------------------------------------------------------
// Order fixtures.

let seq = 0;
/** A unique string for external ids and keys (unique per process and run). */
export function uniq(prefix = 'T') {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}

/** The smallest valid create body. */
export function minimalOrder(extra = {}) {
  return { currency: 'EUR', line_items: [{ name: 'Widget', quantity: 1, unit_price: 100 }], ...extra };
}

/** A create body using every field. Totals: subtotal 10090, total 10685. */
export function fullOrder(extra = {}) {
  return {
    external_id: uniq('ORD'),
    status: 'pending',
    currency: 'eur',
    customer: {
      id: 'c-77',
      first_name: 'Ada',
      last_name: 'Lovelace',
      email: 'ada@example.com',
      phone: '+33612345678',
      birthday: '1990-12-10',
      gender: 'female',
      address: { line1: '1 rue de la Paix', city: 'Paris', postal_code: '75002', country: 'FR' },
    },
    shipping_address: {
      name: 'Ada Lovelace',
      line1: '2 avenue Foch',
      line2: 'Bât. B',
      city: 'Lyon',
      postal_code: '69006',
      state: 'Rhône',
      country: 'FR',
      phone: '+33699999999',
    },
    billing_address: { line1: '3 Baker Street', city: 'London', postal_code: 'NW1 6XE', country: 'GB' },
    line_items: [
      {
        external_id: 'L1',
        name: 'Tea pot',
        sku: 'TP-1',
        ean13: '4006381333931',
        quantity: 2,
        unit_price: 4295,
        brand: 'Acme',
        category: 'Kitchen',
        supplier: 'Acme Supply',
        image_url: 'https://img.example.com/tp-1.png',
        custom: { colour: 'blue', note: 'gift\twrap\nplease' },
      },
      { name: 'Cup', quantity: 3, unit_price: 500 },
    ],
    shipping_amount: 495,
    discount_amount: 100,
    tax_amount: 200,
    total_amount: 10685,
    metadata: { cart_id: 'abc', memo: 'line one\nline two' },
    platform: 'woocommerce',
    source: 'web',
    locale: 'fr-FR',
    ...extra,
  };
}

/** Collects every page of a list endpoint (newest first) via starting_after. */
export async function listAll(client, pathWithQuery, { limit = 100, maxPages = 1000 } = {}) {
  const out = [];
  let after = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = pathWithQuery.includes('?') ? '&' : '?';
    const q = `${pathWithQuery}${sep}limit=${limit}${after ? `&starting_after=${encodeURIComponent(after)}` : ''}`;
    const r = await client.get(q);
    assert.equal(r.status, 200, `list ${q}: ${r.text}`);
    out.push(...r.json.data);
    if (!r.json.has_more) return out;
    assert.ok(r.json.data.length > 0, `has_more with an empty page at ${q}`);
    after = r.json.data[r.json.data.length - 1].id;
  }
  assert.fail(`list ${pathWithQuery} did not end within ${maxPages} pages`);
}

/** Runs `fn(i)` for i in [0,n) with at most `width` in flight; returns results in order. */
export async function mapLimit(n, width, fn) {
  const results = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      results[i] = await fn(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return results;
}

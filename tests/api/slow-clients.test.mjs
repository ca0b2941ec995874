// Slow and idle clients (issue 9): 1 000 connections sending one byte a second do not
// hold up normal clients and are closed once their headers are overdue; a body that
// trickles in is cut too; idle keep-alive connections are left alone; 10 000 idle
// keep-alive connections are held while normal traffic is served, in little memory.
// Loopback only: the clients use source addresses 127.0.0.2… (all of 127/8 is loopback)
// so that the per-address connection cap (256) is not what is being tested.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { Sandbox, api, minimalOrder, pollUntil } from './lib/harness.mjs';

const underAsan = process.env.ASAN_OPTIONS !== undefined;

/** Opens one TCP connection to 127.0.0.1:port from the given source address. */
function connect(port, localAddress) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.on('connect', () => resolve(s));
    s.on('error', reject);
  });
}

/** n connections spread over source addresses 127.0.0.{first…}, perAddr on each. */
async function openMany(port, n, { first = 2, perAddr = 250, width = 200 } = {}) {
  const socks = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      socks[i] = await connect(port, `127.0.0.${first + Math.floor(i / perAddr)}`);
    }
  }
  await Promise.all(Array.from({ length: width }, worker));
  return socks;
}

function closedPromise(s) {
  return new Promise((resolve) => {
    if (s.destroyed || s.readyState === 'closed') resolve(true);
    s.on('close', () => resolve(true));
  });
}

function metricLine(text, prefix) {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('slow senders', () => {
  let sb;
  let srv;
  let org;
  before(async () => {
    sb = new Sandbox();
    org = sb.createOrg('Slow Co');
    srv = await sb.start({ env: { ORDERD_HEADER_TIMEOUT_MS: '5000', ORDERD_BODY_TIMEOUT_MS: '3000' } });
  });
  after(async () => { await sb?.cleanup(); });

  test('1 000 connections sending a byte a second: normal clients are served meanwhile; the slow ones are closed once overdue', { timeout: 90_000 }, async () => {
    // an idle keep-alive connection that has done one request: must survive the reaping
    const idle = await connect(srv.port, '127.0.0.1');
    let idleData = '';
    idle.on('data', (d) => { idleData += d.toString('latin1'); });
    idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(await pollUntil(() => idleData.includes('\r\n\r\n'), { tries: 100, interval: 50 }), 'first answer on the idle connection');
    assert.match(idleData, /^HTTP\/1\.1 200/);

    const slow = await openMany(srv.port, 1000);
    const closed = slow.map(closedPromise);
    let gotAnswer = 0;
    for (const s of slow) {
      s.on('data', () => { gotAnswer++; });
      s.on('error', () => {});
    }
    const request = 'POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
    let pos = 0;
    const drip = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write(request[pos % request.length]);
      pos++;
    }, 1000);
    try {
      for (const s of slow) s.write(request[0]);
      // normal traffic while every slow connection is open and mid-request
      const client = api(srv.base, org.keys.test.secret);
      let okCount = 0;
      for (let i = 0; i < 100; i++) {
        const r = i % 2 ? await client.post('/v1/orders', minimalOrder()) : await client.get('/v1/orders?limit=1');
        if (r.status === (i % 2 ? 201 : 200)) okCount++;
      }
      const stillOpen = slow.filter((s) => !s.destroyed && s.readyState === 'open').length;
      assert.equal(okCount, 100, 'every normal request succeeded');
      assert.equal(stillOpen, 1000, 'the normal requests finished while all 1 000 slow senders were still connected');

      // the reaper closes them (5 s after their first byte), without an answer
      const all = await Promise.race([
        Promise.all(closed).then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 30_000)),
      ]);
      assert.ok(all, `all slow connections closed by the server (${slow.filter((s) => s.destroyed).length} of 1000)`);
      assert.equal(gotAnswer, 0, 'no answer is sent to a request whose headers never completed');
    } finally {
      clearInterval(drip);
      for (const s of slow) s.destroy();
    }
    const text = await (await fetch(`${srv.base}/metrics`)).text();
    assert.ok(metricLine(text, 'orderd_http_connections_reaped_total{phase="headers"}') >= 1000, 'counted');

    // the idle keep-alive connection was not reaped: it still serves a request
    idleData = '';
    idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(await pollUntil(() => idleData.includes('\r\n\r\n'), { tries: 100, interval: 50 }), 'answer on the idle connection');
    assert.match(idleData, /^HTTP\/1\.1 200/);
    idle.destroy();
  });

  test('a body that trickles in is cut once overdue; the server keeps serving', { timeout: 60_000 }, async () => {
    const s = await connect(srv.port, '127.0.0.1');
    s.on('error', () => {});
    let data = '';
    s.on('data', (d) => { data += d.toString('latin1'); });
    const closed = closedPromise(s);
    s.write(`POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${org.keys.test.secret}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const drip = setInterval(() => { if (!s.destroyed) s.write(' '); }, 500);
    const before = await (await fetch(`${srv.base}/metrics`)).text();
    try {
      const cut = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve(false), 20_000))]);
      assert.equal(cut, true, 'the connection is closed by the server');
    } finally {
      clearInterval(drip);
      s.destroy();
    }
    assert.equal(data, '', 'no order was created for it');
    const after = await (await fetch(`${srv.base}/metrics`)).text();
    assert.equal(metricLine(after, 'orderd_http_connections_reaped_total{phase="body"}'),
      metricLine(before, 'orderd_http_connections_reaped_total{phase="body"}') + 1);
    assert.equal((await api(srv.base, org.keys.test.secret).post('/v1/orders', minimalOrder())).status, 201);
  });
});

describe('idle keep-alive connections', () => {
  let sb;
  let srv;
  let org;
  let socks = [];
  before(async () => {
    sb = new Sandbox();
    org = sb.createOrg('Idle Co');
    srv = await sb.start();
  });
  after(async () => {
    for (const s of socks) s.destroy();
    await sb?.cleanup();
  });

  test('10 000 idle keep-alive connections are held while normal traffic is served', { timeout: 120_000 }, async () => {
    socks = await openMany(srv.port, 10_000, { first: 10 });
    // each makes one request and then stays open, idle
    let answered = 0;
    await Promise.all(socks.map((s) => new Promise((resolve) => {
      let buf = '';
      s.on('error', () => resolve());
      s.on('data', function onData(d) {
        buf += d.toString('latin1');
        if (/\r\n\r\n[\s\S]*\}/.test(buf)) {
          if (buf.startsWith('HTTP/1.1 200')) answered++;
          s.off('data', onData);
          resolve();
        }
      });
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    })));
    assert.equal(answered, 10_000, 'every connection got its answer and stays open');
    const text = await (await fetch(`${srv.base}/metrics`)).text();
    assert.ok(metricLine(text, 'orderd_http_connections') >= 10_000, 'the server holds them');
    const client = api(srv.base, org.keys.test.secret);
    for (let i = 0; i < 50; i++) {
      assert.equal((await client.post('/v1/orders', minimalOrder())).status, 201);
      assert.equal((await client.get('/v1/orders?limit=1')).status, 200);
    }
    assert.equal(socks.filter((s) => s.destroyed).length, 0, 'none was dropped');
    if (!underAsan) {
      // the release build: resident memory with every connection open
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1]);
      console.log(`# RSS with 10 000 idle connections: ${Math.round(rss / 1024)} MB`);
      assert.ok(rss < 200 * 1024, `RSS ${Math.round(rss / 1024)} MB, want under 200 MB`);
    }
  });
});

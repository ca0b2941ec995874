// GET /metrics: Prometheus text format, counters checked after known traffic on a fresh
// server (so the expected values are exact); the webhook backlog and settlement runs on a
// second server with short webhook retries.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Sandbox, api, minimalOrder, freePort, pollUntil } from './lib/harness.mjs';

const T = { timeout: 60_000 };
let sb;
let srv;
let org;

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Metrics');
  srv = await sb.start();
});
after(async () => { await sb?.cleanup(); });

/** Parses the exposition into { samples: Map(line name+labels -> value), types: Map }. */
function parse(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = line.match(/^# TYPE (\S+) (counter|gauge|histogram)$/);
    if (t) { types.set(t[1], t[2]); continue; }
    if (line.startsWith('# HELP ')) continue;
    const m = line.match(/^([a-z_]+)(\{[^}]*\})? (\S+)$/);
    assert.ok(m, `not a sample line: ${line}`);
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return { samples, types };
}

test('counters, histograms and gauges after known traffic', T, async () => {
  const sk = api(srv.base, org.keys.test.secret);
  for (let i = 0; i < 3; i++) assert.equal((await sk.post('/v1/orders', minimalOrder())).status, 201);
  assert.equal((await sk.post('/v1/orders', { currency: 'EUR' })).status, 422);
  assert.equal((await sk.get('/no/such/route')).status, 404);
  assert.equal((await api(srv.base, null).get('/cherry/v2/app/me')).status, 401);

  const res = await fetch(`${srv.base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const { samples, types } = parse(await res.text());
  const get = (k) => samples.get(k);

  assert.equal(types.get('orderd_http_requests_total'), 'counter');
  assert.equal(types.get('orderd_http_request_duration_seconds'), 'histogram');
  assert.equal(types.get('orderd_commit_batch_size'), 'histogram');
  assert.equal(types.get('orderd_commit_queue_depth'), 'gauge');

  assert.equal(get('orderd_http_requests_total{api="v1",route="/v1/orders",method="POST",status="201"}'), 3);
  assert.equal(get('orderd_http_requests_total{api="v1",route="/v1/orders",method="POST",status="422"}'), 1);
  assert.equal(get('orderd_http_requests_total{api="v1",route="unmatched",method="GET",status="404"}'), 1);
  assert.equal(get('orderd_http_requests_total{api="cherry",route="/v2/app/me",method="GET",status="401"}'), 1);

  // histogram: cumulative buckets, +Inf = count
  const lat = (le) => get(`orderd_http_request_duration_seconds_bucket{api="v1",route="/v1/orders",le="${le}"}`);
  const les = ['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  for (let i = 1; i < les.length; i++) assert.ok(lat(les[i]) >= lat(les[i - 1]), `bucket ${les[i]} cumulative`);
  assert.equal(lat('+Inf'), 4);
  assert.equal(get('orderd_http_request_duration_seconds_count{api="v1",route="/v1/orders"}'), 4);
  assert.ok(get('orderd_http_request_duration_seconds_sum{api="v1",route="/v1/orders"}') > 0);

  // the three creates went through the committer (so did the webhook workers' lease
  // claims, which are writes too)
  const writes = get('orderd_commit_batch_size_sum');
  const batches = get('orderd_commit_batch_size_count');
  assert.ok(writes >= 3, `writes ${writes}`);
  assert.ok(batches >= 1 && batches <= writes, `batches ${batches}`);
  assert.equal(get('orderd_commit_batch_size_bucket{le="+Inf"}'), batches);
  assert.equal(get('orderd_commit_failures_total'), 0);
  assert.equal(get('orderd_commit_queue_depth'), 0);
  assert.equal(get('orderd_webhook_attempts_total{outcome="delivered"}'), 0);
  assert.equal(get('orderd_settlement_runs_total'), 0);
});

test('no key needed, no org data in labels', T, async () => {
  const text = await (await fetch(`${srv.base}/metrics`)).text();
  assert.ok(!text.includes(org.id) && !text.includes(org.uuid), 'no org ids');
  assert.ok(!/sk_(test|live)_|pk_(test|live)_/.test(text), 'no keys');
});

test('webhook attempts are counted by outcome', T, async () => {
  const http = await import('node:http');
  let hits = 0;
  const receiver = http.createServer((req, res) => { hits++; req.resume(); res.end('ok'); });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const sk = api(srv.base, org.keys.test.secret);
    const ep = await sk.post('/v1/webhook_endpoints', {
      url: `http://127.0.0.1:${receiver.address().port}/hook`, enabled_events: ['order.created'],
    });
    assert.equal(ep.status, 201, ep.text);
    assert.equal((await sk.post('/v1/orders', minimalOrder())).status, 201);
    let delivered = 0;
    for (let i = 0; i < 200 && delivered < 1; i++) {
      const { samples } = parse(await (await fetch(`${srv.base}/metrics`)).text());
      delivered = samples.get('orderd_webhook_attempts_total{outcome="delivered"}');
      if (delivered < 1) await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(delivered, 1);
    assert.equal(hits, 1, 'the receiver saw the one delivery the counter reports');
  } finally {
    receiver.close();
  }
});

describe('webhook backlog and settlement runs', () => {
  let sb2;
  let srv2;
  let org2;
  const scrape = async () => parse(await (await fetch(`${srv2.base}/metrics`)).text());

  before(async () => {
    // short retries so that a failed delivery is tried again within the test
    sb2 = new Sandbox({ env: { ORDERD_WEBHOOK_RETRY_BASE_MS: '200' } });
    org2 = sb2.createOrg('Backlog');
    sb2.setOrg(org2.id, 'kohort.group_duration=1s');
    srv2 = await sb2.start();
  });
  after(async () => {
    try { if (srv2?.running) await srv2.stop(); } finally { await sb2?.cleanup(); }
  });

  test('a delivery to a closed port is backlog (retrying) until it succeeds', T, async () => {
    const { samples, types } = await scrape();
    assert.equal(types.get('orderd_webhook_backlog'), 'gauge');
    assert.equal(samples.get('orderd_webhook_backlog{state="pending"}'), 0);
    assert.equal(samples.get('orderd_webhook_backlog{state="retrying"}'), 0);

    const port = await freePort(); // nothing listens there yet
    const sk = api(srv2.base, org2.keys.test.secret);
    const ep = await sk.post('/v1/webhook_endpoints', { url: `http://127.0.0.1:${port}/hook`, enabled_events: ['order.created'] });
    assert.equal(ep.status, 201, ep.text);
    assert.equal((await sk.post('/v1/orders', minimalOrder())).status, 201);
    const failing = await pollUntil(async () => {
      const s = (await scrape()).samples;
      return s.get('orderd_webhook_backlog{state="retrying"}') === 1 && s.get('orderd_webhook_backlog{state="pending"}') === 0 ? s : false;
    }, { tries: 400, interval: 25 });
    assert.ok(failing, 'the failed delivery shows as retrying');
    assert.ok(failing.get('orderd_webhook_attempts_total{outcome="failed"}') >= 1);
    assert.equal(failing.get('orderd_webhook_attempts_total{outcome="delivered"}'), 0);

    let hits = 0;
    const receiver = http.createServer((req, res) => { hits++; req.resume(); res.end('ok'); });
    await new Promise((r) => receiver.listen(port, '127.0.0.1', r));
    try {
      const drained = await pollUntil(async () => {
        const s = (await scrape()).samples;
        return s.get('orderd_webhook_backlog{state="retrying"}') === 0 ? s : false;
      }, { tries: 400, interval: 25 });
      assert.ok(drained, 'the backlog drains once the receiver answers');
      assert.equal(drained.get('orderd_webhook_backlog{state="pending"}'), 0);
      assert.equal(drained.get('orderd_webhook_attempts_total{outcome="delivered"}'), 1);
      assert.equal(hits, 1);
    } finally {
      receiver.close();
    }
  });

  test('a Kohort group that settles counts one settlement run', T, async () => {
    const before0 = (await scrape()).samples;
    assert.equal(before0.get('orderd_settlement_runs_total'), 0);
    assert.equal(before0.get('orderd_settlement_groups_total'), 0);
    const ko = api(`${srv2.base}/kohort`, org2.keys.test.secret);
    const r = await ko.post('/orders', { amount: 4000, customerEmail: 'lone@example.com', customerFirstName: 'Lo', customerLastName: 'Ne' });
    assert.equal(r.status, 201, r.text);
    // the group (1 s) expires and the settlement job settles it
    const counted = await pollUntil(async () => {
      const s = (await scrape()).samples;
      return s.get('orderd_settlement_runs_total') >= 1 ? s : false;
    }, { tries: 600, interval: 25 });
    assert.ok(counted, 'a settlement run is counted');
    assert.equal(counted.get('orderd_settlement_runs_total'), 1);
    assert.equal(counted.get('orderd_settlement_groups_total'), 1);
    const g = await ko.get(`/groups/${r.json.paymentGroupId}`);
    assert.equal(g.json.status, 'EXPIRED');
  });
});

// Kohort dialect: payment groups, joins (atomic capacity), settlement and cashback.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Sandbox, api, pollUntil } from './lib/harness.mjs';

let sb, srv;
const T = { timeout: 90_000 };
let seq = 0;
const uniq = (p = 'x') => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

before(async () => {
  sb = new Sandbox();
  srv = await sb.start();
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

function newOrg(name, ...settings) {
  const o = sb.createOrg(name);
  if (settings.length) sb.setOrg(o.id, ...settings);
  return { org: o, sk: api(`${srv.base}/kohort`, o.keys.test.secret), pk: api(`${srv.base}/kohort`, o.keys.test.publishable), v1: api(srv.base, o.keys.test.secret) };
}

function person(extra = {}) {
  const n = uniq('p');
  return { customerEmail: `${n}@example.com`, customerFirstName: `F${n}`, customerLastName: `L${n}`, ...extra };
}

async function shareOf(c, order) {
  const g = await c.get(`/groups/${order.paymentGroupId}`);
  assert.equal(g.status, 200, g.text);
  return g.json.shareId;
}

function assertErr(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error?.code, code, r.text);
}

// Polls (bounded: about 60 s) until the group leaves OPEN.
async function settled(c, groupId) {
  return pollUntil(async () => {
    const g = await c.get(`/groups/${groupId}`);
    return g.json && g.json.status !== 'OPEN' ? g.json : false;
  }, { tries: 600, interval: 100 });
}

describe('a group joined by 4 more orders settles with cashback per member', () => {
  let c, creator, joins, group;
  const amounts = [10000, 5000, 8000, 2000, 12345];
  before(async () => {
    c = newOrg('Settle', 'kohort.group_duration=8s');
    const r = await c.sk.post('/orders', { amount: amounts[0], ...person() });
    assert.equal(r.status, 201, r.text);
    creator = r.json;
    const code = await shareOf(c.sk, creator);
    joins = await Promise.all(amounts.slice(1).map((amount) => c.sk.post('/orders', { amount, ...person(), paymentGroupShareId: code })));
    group = await settled(c.sk, creator.paymentGroupId);
  });

  test('joins answer 201 with the group and the fee on referred orders', T, () => {
    for (const [i, j] of joins.entries()) {
      assert.equal(j.status, 201, j.text);
      assert.equal(j.json.paymentGroupId, creator.paymentGroupId);
      assert.match(j.json.paymentGroupShareId, /^KHT-test-/);
      assert.equal(j.json.status, 'CREATED');
      const fee = Math.round(amounts[i + 1] * 0.1);
      assert.equal(j.json.applicationFeeAmount, fee + Math.round(fee * 0.2));
    }
    assert.equal(creator.applicationFeeAmount, 0);
  });

  test('the group completes at expiry', T, () => {
    assert.ok(group, 'group settled within the polling bound');
    assert.equal(group.status, 'COMPLETED');
    assert.ok(group.completedAt);
    assert.equal(group.participantsCount, 5);
  });

  test('every member gets 10 % (5 members reach the 5-member tier)', T, async () => {
    const ids = [creator.id, ...joins.map((j) => j.json.id)];
    for (const [i, id] of ids.entries()) {
      const o = await c.sk.get(`/orders/${id}`);
      assert.equal(o.json.status, 'CASHBACK_AVAILABLE', o.text);
      assert.equal(o.json.amountCashback, Math.round(amounts[i] * 0.1));
    }
    const l = await c.sk.get('/orders?search=status:CASHBACK_AVAILABLE');
    assert.equal(l.json.count, 5);
    const p = await c.sk.get(`/payment-groups/${creator.paymentGroupId}/participants`);
    assert.equal(p.json.count, 5);
  });

  test('events and the canonical status', T, async () => {
    const v1o = await c.v1.get(`/v1/orders/${creator.id.slice(4)}`);
    assert.equal(v1o.json.status, 'confirmed');
    assert.equal(v1o.json.kohort.status, 'CASHBACK_AVAILABLE');
    const ev = await c.v1.get('/v1/events?limit=100');
    const count = (t) => ev.json.data.filter((e) => e.type === t).length;
    assert.equal(count('order.created'), 5);
    assert.equal(count('payment_group.created'), 1);
    assert.equal(count('payment_group.joined'), 4);
    assert.equal(count('order.cashback_available'), 5);
    assert.equal(count('payment_group.succeeded'), 1);
    assert.equal(count('payment_group.expired'), 0);
  });

  test('payout: CASHBACK_PROCESSING then CASHBACK_SENT with order.cashback_sent', T, async () => {
    const id = joins[0].json.id;
    const p1 = await c.sk.post(`/orders/${id}/payout`, { status: 'CASHBACK_PROCESSING' });
    assert.equal(p1.status, 201, p1.text);
    assert.equal(p1.json.status, 'CASHBACK_PROCESSING');
    assert.equal(p1.json.amountCashback, 500);
    const p2 = await c.sk.post(`/orders/${id}/payout`, {});
    assert.equal(p2.json.status, 'CASHBACK_SENT');
    assertErr(await c.sk.post(`/orders/${id}/payout`, { status: 'CASHBACK_PROCESSING' }), 400, 'Bad Request');
    assertErr(await c.sk.post(`/orders/${id}/payout`, { status: 'CREATED' }), 400, 'Bad Request');
    assertErr(await c.sk.post('/orders/ord_ZZZZZZZZZZ/payout', {}), 404, 'NOT_FOUND');
    const v1o = await c.v1.get(`/v1/orders/${id.slice(4)}`);
    assert.equal(v1o.json.status, 'fulfilled');
    assert.equal(v1o.json.kohort.status, 'CASHBACK_SENT');
    const ev = await c.v1.get(`/v1/events?type=order.cashback_sent&order_id=${v1o.json.id}`);
    assert.equal(ev.json.data.length, 1);
    const l = await c.sk.get('/orders?search=status:CASHBACK_SENT');
    assert.equal(l.json.count, 1);
  });
});

describe('a lone creator', () => {
  test('the group expires with no cashback', T, async () => {
    const c = newOrg('Lone', 'kohort.group_duration=1s');
    const r = await c.sk.post('/orders', { amount: 4000, ...person() });
    assert.equal(r.status, 201, r.text);
    const g = await settled(c.sk, r.json.paymentGroupId);
    assert.equal(g?.status, 'EXPIRED');
    assert.equal(g.completedAt, null);
    const o = await c.sk.get(`/orders/${r.json.id}`);
    assert.equal(o.json.status, 'CREATED');
    assert.equal(o.json.amountCashback, null);
    const ev = await c.v1.get('/v1/events?type=payment_group.expired');
    assert.equal(ev.json.data.length, 1);
    // joining it now is refused, and no order is made
    assertErr(await c.sk.post(`/orders/${r.json.id}/payout`, {}), 400, 'Bad Request');
    const late = await c.sk.post('/orders', { amount: 100, ...person(), paymentGroupShareId: g.shareId });
    assertErr(late, 400, 'COMPLETED_EXPIRED_CANCELED');
    assert.equal((await c.sk.get('/orders')).json.count, 1);
  });
});

describe('joins refused', () => {
  let c;
  before(() => {
    c = newOrg('Refuse', 'kohort.max_participants=2', 'kohort.min_amount=50');
  });

  test('unknown code → 404 NOT_FOUND', T, async () => {
    assertErr(await c.sk.post('/orders', { amount: 100, ...person(), paymentGroupShareId: 'KHT-test-NOPE0000' }), 404, 'NOT_FOUND');
  });

  test('full group → MAX_PARTICIPANTS_REACHED; same e-mail → EMAIL_ALREADY_USED; low amount → AMOUNT_TOO_LOW', T, async () => {
    const p = person();
    const r = await c.sk.post('/orders', { amount: 100, ...p });
    const code = await shareOf(c.sk, r.json);
    assertErr(await c.sk.post('/orders', { amount: 100, ...p, paymentGroupShareId: code }), 400, 'EMAIL_ALREADY_USED');
    assertErr(await c.sk.post('/orders', { amount: 10, ...person(), paymentGroupShareId: code }), 400, 'AMOUNT_TOO_LOW');
    assertErr(await c.sk.post('/orders', { amount: 10, ...person() }), 400, 'AMOUNT_TOO_LOW');
    assert.equal((await c.sk.post('/orders', { amount: 100, ...person(), paymentGroupShareId: code })).status, 201);
    assertErr(await c.sk.post('/orders', { amount: 100, ...person(), paymentGroupShareId: code }), 400, 'MAX_PARTICIPANTS_REACHED');
    const parts = await c.sk.get(`/groups/${code}/participants`);
    assert.equal(parts.json.count, 2);
  });

  test('canceled group → COMPLETED_EXPIRED_CANCELED', T, async () => {
    const r = await c.sk.post('/orders', { amount: 100, ...person() });
    const code = await shareOf(c.sk, r.json);
    const cancel = await c.pk.post(`/groups/${code}/cancel`, {});
    assert.equal(cancel.status, 201, cancel.text);
    assert.equal(cancel.json.status, 'CANCELED');
    assert.ok(cancel.json.canceledAt);
    assertErr(await c.sk.post(`/groups/${code}/cancel`, {}), 400, 'COMPLETED_EXPIRED_CANCELED');
    assertErr(await c.sk.post('/orders', { amount: 100, ...person(), paymentGroupShareId: code }), 400, 'COMPLETED_EXPIRED_CANCELED');
    assertErr(await c.sk.post(`/groups/${code}/validate`, {}), 400, 'COMPLETED_EXPIRED_CANCELED');
  });
});

describe('capacity under concurrency', () => {
  test('max_participants=10: 1 creator + 20 concurrent joins → 9 in, 11 refused', T, async () => {
    const c = newOrg('Race', 'kohort.max_participants=10', 'kohort.group_duration=10m');
    const r = await c.sk.post('/orders', { amount: 1000, ...person() });
    const code = await shareOf(c.sk, r.json);
    const res = await Promise.all(Array.from({ length: 20 }, () => c.sk.post('/orders', { amount: 1000, ...person(), paymentGroupShareId: code })));
    const ok = res.filter((x) => x.status === 201);
    const full = res.filter((x) => x.status === 400 && x.json?.error?.code === 'MAX_PARTICIPANTS_REACHED');
    assert.equal(ok.length, 9, res.map((x) => x.status).join(','));
    assert.equal(full.length, 11);
    const g = await c.sk.get(`/groups/${code}`);
    assert.equal(g.json.participantsCount, 10);
    assert.equal((await c.sk.get('/orders')).json.count, 10);
    assert.equal((await c.sk.get(`/groups/${code}/participants?take=25`)).json.data.length, 10);
  });
});

describe('group endpoints', () => {
  let c, order, code;
  before(async () => {
    c = newOrg('Groups', 'kohort.tiers=2:500,4:1500', 'kohort.group_duration=10m');
    order = (await c.sk.post('/orders', { amount: 3000, ...person() })).json;
    code = await shareOf(c.sk, order);
  });

  test('get by id and by share code on both prefixes', T, async () => {
    const a = await c.pk.get(`/payment-groups/${order.paymentGroupId}`);
    const b = await c.pk.get(`/groups/${code}`);
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, b.json);
    assert.equal(a.json.id, order.paymentGroupId);
    assertErr(await c.pk.get('/groups/pg_unknown'), 404, 'NOT_FOUND');
    const typed = await c.pk.get(`/groups/${code.toLowerCase()}`);
    assert.equal(typed.json?.id, order.paymentGroupId, 'a share code typed in lower case is found');
    const j = await c.sk.post('/orders', { amount: 3000, ...person(), paymentGroupShareId: code.toLowerCase() });
    assert.equal(j.status, 201, j.text);
    assert.equal(j.json.paymentGroupId, order.paymentGroupId);
  });

  test('list {data, count}', T, async () => {
    const l = await c.pk.get('/groups?take=10');
    assert.equal(l.status, 200);
    assert.equal(l.json.count, 1);
    assert.equal(l.json.data[0].shareId, code);
  });

  test('validate gives the settings and the level with one more member', T, async () => {
    const v = await c.pk.post(`/payment-groups/${code}/validate`, { amount: 1000 });
    assert.equal(v.status, 201, v.text);
    assert.equal(v.json.discountType, 'AMOUNT');
    assert.deepEqual(v.json.currentDiscountLevel, { level: 1, value: 5, participantsToUnlock: 2 });
    assert.equal(v.json.discountLevels.length, 2);
    assert.equal(v.json.maxParticipants, 15);
    assertErr(await c.pk.post('/groups/KHT-test-ZZZZZZZZ/validate', {}), 404, 'NOT_FOUND');
    const sameEmail = await c.pk.post(`/groups/${code}/validate`, { customerEmail: order.customerEmail });
    assertErr(sameEmail, 400, 'EMAIL_ALREADY_USED');
  });

  test('update metadata and creatorEmail', T, async () => {
    const u = await c.sk.patch(`/groups/${code}`, { metadata: { campaign: 'spring' }, creatorEmail: 'new@example.com' });
    assert.equal(u.status, 200, u.text);
    assert.deepEqual(u.json.metadata, { campaign: 'spring' });
    assert.equal(u.json.creatorEmail, 'new@example.com');
    assertErr(await c.sk.patch(`/groups/${code}`, { creatorEmail: 'x@example.com' }), 400, 'Bad Request');
  });

  test('expire before the end is refused; manual group create', T, async () => {
    assertErr(await c.sk.post(`/groups/${code}/expire`, {}), 400, 'Bad Request');
    const g = await c.pk.post('/groups', { customerEmail: `${uniq('m')}@example.com`, metadata: { a: 'b' } });
    assert.equal(g.status, 201, g.text);
    assert.equal(g.json.status, 'OPEN');
    assert.equal(g.json.participantsCount, 0);
    assert.match(g.json.customerId, /^cus_/);
  });

  test('fixed-amount tiers settle as fixed cashback', T, async () => {
    const f = newOrg('Fixed', 'kohort.tiers=2:500,4:1500', 'kohort.group_duration=5s');
    const a = (await f.sk.post('/orders', { amount: 3000, ...person() })).json;
    const share = await shareOf(f.sk, a);
    const b = await f.sk.post('/orders', { amount: 100, ...person(), paymentGroupShareId: share });
    assert.equal(b.status, 201, b.text);
    const g = await settled(f.sk, a.paymentGroupId);
    assert.equal(g?.status, 'COMPLETED');
    assert.equal((await f.sk.get(`/orders/${a.id}`)).json.amountCashback, 500);
    assert.equal((await f.sk.get(`/orders/${b.json.id}`)).json.amountCashback, 500);
  });
});

describe('two processes on one database', () => {
  test('each group settles exactly once', T, async () => {
    const c = newOrg('Two', 'kohort.group_duration=10s');
    const creators = await Promise.all([0, 1, 2].map(() => c.sk.post('/orders', { amount: 1000, ...person() })));
    const groups = creators.map((r) => r.json.paymentGroupId);
    const codes = await Promise.all(creators.map((r) => shareOf(c.sk, r.json)));
    const joins = await Promise.all(codes.map((code) => c.sk.post('/orders', { amount: 2000, ...person(), paymentGroupShareId: code })));
    for (const b of joins) assert.equal(b.status, 201, b.text);
    // a second server on the same database finds the same groups due at the same time
    const srv2 = await sb.start();
    try {
      for (const g of groups) assert.equal((await settled(c.sk, g))?.status, 'COMPLETED');
      const ev = await c.v1.get('/v1/events?limit=100');
      const count = (t) => ev.json.data.filter((e) => e.type === t).length;
      assert.equal(count('payment_group.succeeded'), 3);
      assert.equal(count('order.cashback_available'), 6);
      const l = await c.sk.get('/orders?orderBy=amount:asc');
      assert.deepEqual(l.json.data.map((o) => o.amountCashback), [50, 50, 50, 100, 100, 100]);
    } finally {
      await srv2.stop();
    }
  });
});

describe('group events reach webhooks', () => {
  test('payment_group.created, joined and succeeded are delivered with the group as data.object', T, async () => {
    const got = [];
    const rcv = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (ch) => chunks.push(ch));
      req.on('end', () => {
        try { got.push(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch { /* counted as missing */ }
        res.writeHead(200);
        res.end('ok');
      });
    });
    await new Promise((resolve) => rcv.listen(0, '127.0.0.1', resolve));
    try {
      const c = newOrg('Hooks', 'kohort.group_duration=3s');
      const ep = await c.v1.post('/v1/webhook_endpoints', {
        url: `http://127.0.0.1:${rcv.address().port}/hook`,
        enabled_events: ['payment_group.created', 'payment_group.joined', 'payment_group.succeeded', 'order.cashback_available'],
      });
      assert.equal(ep.status, 201, ep.text);
      const a = (await c.sk.post('/orders', { amount: 1000, ...person() })).json;
      const code = await shareOf(c.sk, a);
      assert.equal((await c.sk.post('/orders', { amount: 1000, ...person(), paymentGroupShareId: code })).status, 201);
      const done = await pollUntil(() => got.filter((e) => e.type === 'order.cashback_available').length === 2 &&
        got.some((e) => e.type === 'payment_group.succeeded'), { tries: 600, interval: 100 });
      assert.ok(done, `deliveries: ${got.map((e) => e.type).join(',')}`);
      const created = got.find((e) => e.type === 'payment_group.created');
      assert.equal(created.data.object.shareId, code);
      assert.equal(got.find((e) => e.type === 'payment_group.succeeded').data.object.status, 'COMPLETED');
      assert.equal(got.filter((e) => e.type === 'payment_group.joined').length, 1);
      assert.equal(got.filter((e) => e.type === 'order.created').length, 0);
    } finally {
      rcv.closeAllConnections();
      await new Promise((resolve) => rcv.close(resolve));
    }
  });
});

describe('settings are checked', () => {
  test('bad values are refused with a message', T, () => {
    const o = sb.createOrg('Bad settings');
    for (const kv of ['kohort.tiers=3:5%', 'kohort.tiers=2:5%,5:4%', 'kohort.tiers=2:5%,3:500', 'kohort.tiers=2:5%,3:6%,4:7%,5:8%,6:9%,7:10%',
      'kohort.group_duration=0s', 'kohort.group_duration=91d', 'kohort.group_duration=10x', 'kohort.max_participants=1',
      'kohort.min_amount=-1', 'kohort.response_case=kebab']) {
      const r = sb.cli(['org', 'set', o.id, kv]);
      assert.notEqual(r.code, 0, `${kv} should be refused`);
      assert.match(r.stderr, /kohort\./, kv);
    }
    const ok = sb.setOrg(o.id, 'kohort.tiers=2:5%, 5:10%', 'kohort.group_duration=30s');
    assert.equal(ok.settings['kohort.tiers'], '2:5%,5:10%');
  });
});

// Kohort dialect: POST/GET /orders (seed 004), auth, errors, casing, list paging.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, rawRequest } from './lib/harness.mjs';

let sb, srv, org, org2, sk, pk, live;
const T = { timeout: 60_000 };
let seq = 0;
const uniq = (p = 'x') => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Kohort Orders');
  org2 = sb.createOrg('Kohort Snake');
  sb.setOrg(org2.id, 'kohort.response_case=snake');
  srv = await sb.start();
  sk = api(`${srv.base}/kohort`, org.keys.test.secret);
  pk = api(`${srv.base}/kohort`, org.keys.test.publishable);
  live = api(`${srv.base}/kohort`, org.keys.live.secret);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

const ORDER_FIELDS = [
  'id', 'livemode', 'organizationId', 'amount', 'amountCashback', 'applicationFeeAmount',
  'customerEmail', 'customerFirstName', 'customerLastName', 'customerPhoneNumber',
  'paymentGroupShareId', 'customerId', 'currency', 'locale', 'status', 'metadata',
  'paymentGroupId', 'ambassadorId', 'clientReferenceId', 'riskLevel', 'createdAt',
  'createdBy', 'updatedAt', 'updatedBy',
];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function seedBody(extra = {}) {
  return {
    customerEmail: `${uniq('ada')}@example.com`,
    customerPhoneNumber: '+33612345678',
    customerFirstName: 'Ada',
    customerLastName: 'Lovelace',
    metadata: { cartId: 'c-1', order_ref: 'A1' },
    amount: 12990,
    locale: 'en_US',
    clientReferenceId: uniq('ref-'),
    paymentGroupShareId: null,
    ...extra,
  };
}

function assertKohortError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.ok(r.json && r.json.error, `Kohort error body expected: ${r.text}`);
  assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'type']);
  assert.equal(r.json.error.type, status >= 500 ? 'api_error' : 'invalid_request_error');
  if (code) assert.equal(r.json.error.code, code, r.text);
}

describe('seed 004: create and read an order', () => {
  let body, res;
  before(async () => {
    body = seedBody();
    res = await sk.post('/orders', body);
  });

  test('201 with every documented field, camelCase', T, () => {
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.json).sort(), [...ORDER_FIELDS].sort());
    const o = res.json;
    assert.match(o.id, /^ord_[0-9A-Z]{10}$/);
    assert.equal(o.livemode, false);
    assert.equal(o.organizationId, org.id);
    assert.equal(o.amount, 12990);
    assert.equal(o.amountCashback, null);
    assert.equal(o.applicationFeeAmount, 0);
    assert.equal(o.customerEmail, body.customerEmail);
    assert.equal(o.customerFirstName, 'Ada');
    assert.equal(o.customerLastName, 'Lovelace');
    assert.equal(o.customerPhoneNumber, '+33612345678');
    assert.equal(o.paymentGroupShareId, null);
    assert.match(o.customerId, /^cus_[0-9A-Za-z]{14}$/);
    assert.equal(o.currency, 'EUR');
    assert.equal(o.locale, 'en_US');
    assert.equal(o.status, 'CREATED');
    assert.deepEqual(o.metadata, body.metadata);
    assert.match(o.paymentGroupId, /^pg_[0-9A-Za-z]{14}$/);
    assert.equal(o.ambassadorId, null);
    assert.equal(o.clientReferenceId, body.clientReferenceId);
    assert.ok(['LOW', 'MEDIUM', 'HIGH', 'HIGHEST'].includes(o.riskLevel));
    assert.match(o.createdAt, ISO);
    assert.match(o.updatedAt, ISO);
    assert.equal(o.createdBy, null);
    assert.equal(o.updatedBy, null);
  });

  test('GET /orders/{id} returns the same order', T, async () => {
    const r = await sk.get(`/orders/${res.json.id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, res.json);
  });

  test('the creator opened a group with a KHT-test- share code', T, async () => {
    const r = await sk.get(`/groups/${res.json.paymentGroupId}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.shareId, /^KHT-test-[0-9A-Z]{8}$/);
    assert.equal(r.json.status, 'OPEN');
    assert.equal(r.json.customerId, res.json.customerId);
    assert.equal(r.json.creatorEmail, body.customerEmail);
  });

  test('expand[]=paymentGroup and expand[]=customer', T, async () => {
    const r = await sk.get(`/orders/${res.json.id}?expand[]=paymentGroup&expand[]=customer`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.paymentGroup.id, res.json.paymentGroupId);
    assert.match(r.json.paymentGroup.shareId, /^KHT-test-/);
    assert.equal(r.json.customer.id, res.json.customerId);
    assert.equal(r.json.customer.emailAddress, body.customerEmail.toLowerCase());
    const l = await sk.get(`/orders?take=1&expand[]=paymentGroup&search=client_reference_id:${body.clientReferenceId}`);
    assert.equal(l.json.data[0].paymentGroup.id, res.json.paymentGroupId);
    const bad = await sk.get(`/orders/${res.json.id}?expand[]=organization.secrets`);
    assert.equal(bad.status, 400);
    assert.ok(Array.isArray(bad.json.error.message));
  });

  test('readable through /v1 with dialect kohort and the Kohort data', T, async () => {
    const v1 = api(srv.base, org.keys.test.secret);
    const short = res.json.id.slice(4);
    const r = await v1.get(`/v1/orders/${short}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.dialect, 'kohort');
    assert.equal(r.json.external_id, body.clientReferenceId);
    assert.equal(r.json.total_amount, 12990);
    assert.equal(r.json.currency, 'EUR');
    assert.equal(r.json.status, 'pending');
    assert.equal(r.json.customer.email, body.customerEmail);
    assert.equal(r.json.kohort.status, 'CREATED');
    assert.equal(r.json.kohort.paymentGroupId, res.json.paymentGroupId);
    const list = await v1.get(`/v1/orders?dialect=kohort&external_id=${body.clientReferenceId}`);
    assert.equal(list.json.data.length, 1);
    const ev = await v1.get(`/v1/events?order_id=${r.json.id}`);
    const types = ev.json.data.map((e) => e.type).sort();
    assert.deepEqual(types, ['order.created', 'payment_group.created']);
  });

  test('a reused clientReferenceId is refused with 400 and makes no second order', T, async () => {
    const again = await sk.post('/orders', { ...seedBody(), clientReferenceId: body.clientReferenceId });
    assertKohortError(again, 400, 'Bad Request');
    assert.match(again.json.error.message, /client reference id .* already exists/);
    const l = await sk.get(`/orders?search=client_reference_id:${body.clientReferenceId}`);
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.count, 1);
  });
});

describe('Idempotency-Key (orderd addition)', () => {
  test('a retried create with the same key replays the first answer', T, async () => {
    const body = seedBody();
    const key = uniq('idem-');
    const a = await sk.post('/orders', body, { headers: { 'Idempotency-Key': key } });
    const b = await sk.post('/orders', body, { headers: { 'Idempotency-Key': key } });
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.deepEqual(b.json, a.json);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    const l = await sk.get(`/orders?search=client_reference_id:${body.clientReferenceId}`);
    assert.equal(l.json.count, 1);
  });

  test('a retried join replays even once the e-mail is in the group; a new key is refused', T, async () => {
    const creator = await sk.post('/orders', seedBody());
    const code = (await sk.get(`/groups/${creator.json.paymentGroupId}`)).json.shareId;
    const body = seedBody({ paymentGroupShareId: code });
    const key = uniq('idem-');
    const a = await sk.post('/orders', body, { headers: { 'Idempotency-Key': key } });
    assert.equal(a.status, 201, a.text);
    const b = await sk.post('/orders', body, { headers: { 'Idempotency-Key': key } });
    assert.deepEqual(b.json, a.json);
    const c = await sk.post('/orders', { ...body, clientReferenceId: uniq('r') }, { headers: { 'Idempotency-Key': uniq('other-') } });
    assertKohortError(c, 400, 'EMAIL_ALREADY_USED');
    const d = await sk.post('/orders', { ...seedBody(), clientReferenceId: body.clientReferenceId }, { headers: { 'Idempotency-Key': uniq('other-') } });
    assertKohortError(d, 400, 'Bad Request');
  });
});

describe('input and output casing', () => {
  test('snake_case request keys are accepted', T, async () => {
    const ref = uniq('snake-');
    const r = await sk.post('/orders', {
      amount: 2500, customer_email: `${uniq('s')}@example.org`, customer_first_name: 'Sam',
      customer_last_name: 'Snake', customer_phone_number: '0612345678', client_reference_id: ref,
      payment_group_share_id: null,
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.customerFirstName, 'Sam');
    assert.equal(r.json.customerPhoneNumber, '0612345678');
    assert.equal(r.json.clientReferenceId, ref);
    assert.equal(r.json.locale, 'fr_FR');
  });

  test('kohort.response_case=snake answers in snake_case, metadata untouched', T, async () => {
    const s = api(`${srv.base}/kohort`, org2.keys.test.secret);
    const r = await s.post('/orders', seedBody({ metadata: { camelKey: 'v' } }));
    assert.equal(r.status, 201, r.text);
    for (const k of ORDER_FIELDS) {
      const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      assert.ok(snake in r.json, `missing ${snake}`);
    }
    assert.equal(r.json.amount_cashback, null);
    assert.deepEqual(r.json.metadata, { camelKey: 'v' });
    const g = await s.get(`/payment-groups/${r.json.payment_group_id}`);
    assert.match(g.json.share_id, /^KHT-test-/);
    assert.equal(g.json.organization_id, org2.id);
  });

  test('en_GB is stored as en_US; bad locale refused', T, async () => {
    const r = await sk.post('/orders', seedBody({ locale: 'en_GB' }));
    assert.equal(r.json.locale, 'en_US');
    const bad = await sk.post('/orders', seedBody({ locale: 'de_DE' }));
    assertKohortError(bad, 400, 'Bad Request');
    assert.ok(Array.isArray(bad.json.error.message));
  });
});

describe('authentication', () => {
  test('HTTP Basic with the key as user name', T, async () => {
    const b = api(`${srv.base}/kohort`, null, {
      headers: { Authorization: `Basic ${Buffer.from(`${org.keys.test.secret}:`).toString('base64')}` },
    });
    const r = await b.post('/orders', seedBody());
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.organizationId, org.id);
  });

  test('missing header 401, other scheme 400, unknown key 401', T, async () => {
    const none = await api(`${srv.base}/kohort`, null).get('/orders');
    assertKohortError(none, 401, 'Unauthorized');
    assert.match(none.json.error.message, /Expected: \[Basic\|Bearer\]/);
    const other = await api(`${srv.base}/kohort`, null, { headers: { Authorization: 'Digest x' } }).get('/orders');
    assertKohortError(other, 400);
    const bad = await api(`${srv.base}/kohort`, 'sk_test_nope').get('/orders');
    assertKohortError(bad, 401);
  });

  test('a publishable key cannot use /orders but can use groups and customers', T, async () => {
    assertKohortError(await pk.post('/orders', seedBody()), 403, 'Forbidden');
    assertKohortError(await pk.get('/orders'), 403);
    assert.equal((await pk.get('/payment-groups')).status, 200);
    assert.equal((await pk.get('/customers')).status, 200);
  });

  test('the key decides livemode; test and live never mix', T, async () => {
    const r = await live.post('/orders', seedBody());
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.livemode, true);
    const g = await live.get(`/groups/${r.json.paymentGroupId}`);
    assert.match(g.json.shareId, /^KHT-[0-9A-Z]{8}$/);
    assertKohortError(await sk.get(`/orders/${r.json.id}`), 404, 'NOT_FOUND');
    assertKohortError(await sk.get(`/groups/${r.json.paymentGroupId}`), 404, 'NOT_FOUND');
  });
});

describe('bad input, in Kohort error format', () => {
  const cases = [
    ['amount missing', { amount: undefined }],
    ['amount zero', { amount: 0 }],
    ['amount negative', { amount: -5 }],
    ['amount fractional', { amount: 10.5 }],
    ['amount as string', { amount: '100' }],
    ['email invalid', { customerEmail: 'nope' }],
    ['email disposable', { customerEmail: 'x@mailinator.com' }],
    ['first name too long', { customerFirstName: 'x'.repeat(101) }],
    ['metadata not an object', { metadata: 'x' }],
    ['metadata value not a string', { metadata: { a: 1 } }],
    ['clientReferenceId too long', { clientReferenceId: 'r'.repeat(51) }],
    ['paymentGroupShareId number', { paymentGroupShareId: 12 }],
  ];
  for (const [name, patch] of cases) {
    test(`400 for ${name}`, T, async () => {
      const body = seedBody(patch);
      const r = await sk.post('/orders', JSON.stringify(body));
      assertKohortError(r, 400, 'Bad Request');
      assert.ok(Array.isArray(r.json.error.message) && r.json.error.message.length > 0, r.text);
    });
  }

  test('no e-mail and no customerId → 400', T, async () => {
    const r = await sk.post('/orders', { amount: 100 });
    assertKohortError(r, 400);
    assert.match(JSON.stringify(r.json.error.message), /Either customer email or customer id/);
  });

  test('e-mail alone for a new customer → 400, never 500', T, async () => {
    const r = await sk.post('/orders', { amount: 100, customerEmail: `${uniq('lone')}@example.com` });
    assertKohortError(r, 400);
  });

  test('unknown customerId → 404 NOT_FOUND', T, async () => {
    assertKohortError(await sk.post('/orders', { amount: 100, customerId: 'cus_doesnotexist00' }), 404, 'NOT_FOUND');
  });

  test('empty strings count as absent (paymentGroupShareId "" opens a group)', T, async () => {
    const r = await sk.post('/orders', seedBody({ paymentGroupShareId: '', customerId: '', clientReferenceId: '' }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.clientReferenceId, null);
    assert.match(r.json.paymentGroupId, /^pg_/);
  });

  test('unknown body fields are ignored', T, async () => {
    const r = await sk.post('/orders', seedBody({ somethingElse: { deep: true } }));
    assert.equal(r.status, 201, r.text);
  });

  test('malformed JSON, non-object, wrong content type, deep nesting', T, async () => {
    assertKohortError(await sk.post('/orders', '{"amount":'), 400, 'Bad Request');
    assertKohortError(await sk.post('/orders', '[1,2]'), 400, 'Bad Request');
    assertKohortError(await sk.post('/orders', 'amount=1', { contentType: 'text/plain' }), 415);
    const deep = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`;
    assertKohortError(await sk.post('/orders', deep), 400);
  });

  test('huge body → 413, unknown path → 404, wrong method → 405, in Kohort format', T, async () => {
    const big = JSON.stringify(seedBody({ metadata: { a: 'x'.repeat(1100 * 1024) } }));
    assertKohortError(await sk.post('/orders', big), 413);
    assertKohortError(await sk.get('/nothing-here'), 404, 'Not Found');
    assertKohortError(await sk.del('/orders'), 405);
    const raw = await rawRequest(srv.port, 'GET /kohort/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { endAfterWrite: true });
    assert.equal(raw.status, 404);
    assert.equal(raw.json.error.type, 'invalid_request_error');
  });

  test('unknown order id → 404 NOT_FOUND', T, async () => {
    assertKohortError(await sk.get('/orders/ord_ZZZZZZZZZZ'), 404, 'NOT_FOUND');
    assertKohortError(await sk.get('/orders/whatever'), 404, 'NOT_FOUND');
  });
});

describe('GET /orders: take, skip, orderBy, search', () => {
  let o3, refs;
  before(async () => {
    o3 = sb.createOrg('Kohort List');
    const c = api(`${srv.base}/kohort`, o3.keys.test.secret);
    refs = [];
    for (const amount of [300, 100, 500, 200, 400]) {
      const r = await c.post('/orders', seedBody({ amount }));
      assert.equal(r.status, 201, r.text);
      refs.push(r.json.id);
    }
  });

  test('{data, count} with take and skip; default newest first', T, async () => {
    const c = api(`${srv.base}/kohort`, o3.keys.test.secret);
    const all = await c.get('/orders');
    assert.equal(all.status, 200);
    assert.equal(all.json.count, 5);
    assert.deepEqual(all.json.data.map((o) => o.id), [...refs].reverse());
    const p1 = await c.get('/orders?take=2');
    assert.equal(p1.json.data.length, 2);
    assert.equal(p1.json.count, 5);
    const p3 = await c.get('/orders?take=2&skip=4');
    assert.deepEqual(p3.json.data.map((o) => o.id), [refs[0]]);
    const big = await c.get('/orders?take=1000');
    assert.equal(big.json.data.length, 5);
  });

  test('orderBy and search', T, async () => {
    const c = api(`${srv.base}/kohort`, o3.keys.test.secret);
    const asc = await c.get('/orders?orderBy=amount:asc');
    assert.deepEqual(asc.json.data.map((o) => o.amount), [100, 200, 300, 400, 500]);
    const bad = await c.get('/orders?orderBy=nonsense:sideways');
    assert.equal(bad.status, 200);
    assert.equal(bad.json.data.length, 5);
    const ge = await c.get(`/orders?search=${encodeURIComponent('amount>=300')}&orderBy=amount:desc`);
    assert.deepEqual(ge.json.data.map((o) => o.amount), [500, 400, 300]);
    assert.equal(ge.json.count, 3);
    const st = await c.get('/orders?search=status:CREATED');
    assert.equal(st.json.count, 5);
    const none = await c.get('/orders?search=status:CASHBACK_SENT');
    assert.equal(none.json.count, 0);
  });

  test('bad take/skip/search → 400', T, async () => {
    const c = api(`${srv.base}/kohort`, o3.keys.test.secret);
    assertKohortError(await c.get('/orders?take=abc'), 400);
    assertKohortError(await c.get('/orders?skip=-1'), 400);
    assertKohortError(await c.get('/orders?search=password:x'), 400);
  });
});

describe('riskLevel rules (docs/dialects/kohort.md)', () => {
  let c;
  before(() => {
    const o = sb.createOrg('Kohort Risk');
    c = api(`${srv.base}/kohort`, o.keys.test.secret);
  });

  async function group(creator) {
    const r = await c.post('/orders', { amount: 1000, ...creator });
    assert.equal(r.status, 201, r.text);
    const g = await c.get(`/groups/${r.json.paymentGroupId}`);
    return { order: r.json, code: g.json.shareId };
  }

  test('a plain order and a plain join are LOW', T, async () => {
    const { order, code } = await group({ customerEmail: `${uniq('a')}@gmail.com`, customerFirstName: 'Ann', customerLastName: 'One' });
    assert.equal(order.riskLevel, 'LOW');
    const j = await c.post('/orders', { amount: 1000, customerEmail: `${uniq('b')}@gmail.com`, customerFirstName: 'Bob', customerLastName: 'Two', paymentGroupShareId: code });
    assert.equal(j.json.riskLevel, 'LOW');
  });

  test('same names as the creator → HIGHEST; same phone → HIGH; same local part → HIGH; same company domain → MEDIUM', T, async () => {
    const dom = `${uniq('corp')}.example`;
    const { code } = await group({ customerEmail: `jane.doe+x@${dom}`, customerFirstName: 'Jane', customerLastName: 'Doe', customerPhoneNumber: '+33611111111' });
    const join = (p) => c.post('/orders', { amount: 1000, paymentGroupShareId: code, ...p });
    assert.equal((await join({ customerEmail: `${uniq('z')}@gmail.com`, customerFirstName: 'JANE', customerLastName: 'doe' })).json.riskLevel, 'HIGHEST');
    assert.equal((await join({ customerEmail: `${uniq('y')}@gmail.com`, customerFirstName: 'P', customerLastName: 'Q', customerPhoneNumber: '+33611111111' })).json.riskLevel, 'HIGH');
    assert.equal((await join({ customerEmail: 'janedoe@gmail.com', customerFirstName: 'R', customerLastName: 'S' })).json.riskLevel, 'HIGH');
    assert.equal((await join({ customerEmail: `${uniq('colleague')}@${dom}`, customerFirstName: 'T', customerLastName: 'U' })).json.riskLevel, 'MEDIUM');
  });

  test('velocity: the 4th order from one e-mail within 24 h is MEDIUM', T, async () => {
    const p = { customerEmail: `${uniq('v')}@gmail.com`, customerFirstName: 'Vel', customerLastName: 'Ocity' };
    const levels = [];
    for (let i = 0; i < 4; i++) levels.push((await c.post('/orders', { amount: 1000, ...p })).json.riskLevel);
    assert.deepEqual(levels, ['LOW', 'LOW', 'LOW', 'MEDIUM']);
  });
});

describe('--dialect-listen kohort=…', () => {
  test('serves Kohort alone at its vendor paths', T, async () => {
    const { freePort } = await import('./lib/harness.mjs');
    const port = await freePort();
    const s2 = await sb.start({ extraArgs: ['--dialect-listen', `kohort=127.0.0.1:${port}`] });
    try {
      const k = api(`http://127.0.0.1:${port}`, org.keys.test.secret);
      const r = await k.post('/orders', seedBody());
      assert.equal(r.status, 201, r.text);
      assert.equal((await k.get(`/orders/${r.json.id}`)).json.id, r.json.id);
      assert.equal((await k.get(`/payment-groups/${r.json.paymentGroupId}`)).status, 200);
      assertKohortError(await k.get('/v1/orders'), 404, 'Not Found');
    } finally {
      await s2.stop();
    }
  });
});

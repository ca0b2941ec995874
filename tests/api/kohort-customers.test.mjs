// Kohort dialect: customers (create, get, list, update, delete, block, unblock) and
// their effect on orders.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api } from './lib/harness.mjs';

let sb, srv, org, sk, pk;
const T = { timeout: 60_000 };
let seq = 0;
const uniq = (p = 'x') => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Kohort Customers');
  srv = await sb.start();
  sk = api(`${srv.base}/kohort`, org.keys.test.secret);
  pk = api(`${srv.base}/kohort`, org.keys.test.publishable);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

function assertErr(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error?.type, 'invalid_request_error');
  if (code) assert.equal(r.json.error.code, code, r.text);
}

const FIELDS = ['id', 'emailAddress', 'firstName', 'lastName', 'phoneNumber', 'livemode', 'locale',
  'isBlocked', 'organizationId', 'clientReferenceId', 'metadata', 'createdAt', 'createdBy',
  'updatedAt', 'updatedBy', 'blockedAt', 'blockedBy', 'deletedAt'];

describe('customers', () => {
  let cu;
  before(async () => {
    const r = await pk.post('/customers', { emailAddress: `${uniq('c')}@example.com`, firstName: 'Grace', lastName: 'Hopper', phoneNumber: '+33600000000', metadata: { tier: 'gold' }, clientReferenceId: uniq('cr-') });
    assert.equal(r.status, 201, r.text);
    cu = r.json;
  });

  test('create answers every field', T, () => {
    assert.deepEqual(Object.keys(cu).sort(), [...FIELDS].sort());
    assert.match(cu.id, /^cus_[0-9A-Za-z]{14}$/);
    assert.equal(cu.isBlocked, false);
    assert.equal(cu.deletedAt, null);
    assert.deepEqual(cu.metadata, { tier: 'gold' });
  });

  test('duplicate e-mail → 409, duplicate clientReferenceId → 400, bad e-mail → 400', T, async () => {
    assertErr(await sk.post('/customers', { emailAddress: cu.emailAddress.toUpperCase() }), 409);
    assertErr(await sk.post('/customers', { emailAddress: `${uniq('d')}@example.com`, clientReferenceId: cu.clientReferenceId }), 400);
    assertErr(await sk.post('/customers', { emailAddress: 'nope' }), 400, 'Bad Request');
    assertErr(await sk.post('/customers', {}), 400, 'Bad Request');
  });

  test('get, list, update', T, async () => {
    assert.deepEqual((await sk.get(`/customers/${cu.id}`)).json, cu);
    assertErr(await sk.get('/customers/cus_nope'), 404, 'NOT_FOUND');
    const l = await sk.get('/customers');
    assert.equal(l.json.count >= 1, true);
    assert.ok(l.json.data.some((x) => x.id === cu.id));
    const s = await sk.get(`/customers?search=email_address:${encodeURIComponent(cu.emailAddress)}`);
    assert.equal(s.json.count, 1);
    const u = await sk.patch(`/customers/${cu.id}`, { firstName: 'Amazing', locale: 'en_US' });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.firstName, 'Amazing');
    assert.equal(u.json.lastName, 'Hopper');
    assert.equal(u.json.locale, 'en_US');
    const other = await sk.post('/customers', { emailAddress: `${uniq('o')}@example.com` });
    assert.equal(other.status, 201, other.text);
    assertErr(await sk.patch(`/customers/${other.json.id}`, { emailAddress: cu.emailAddress }), 409);
    assertErr(await sk.patch(`/customers/${other.json.id}`, { emailAddress: 'bad' }), 400, 'Bad Request');
    assertErr(await sk.patch('/customers/cus_nope', { firstName: 'x' }), 404, 'NOT_FOUND');
  });

  test('an order with customerId uses the customer; a blocked customer is refused', T, async () => {
    const o = await sk.post('/orders', { amount: 1500, customerId: cu.id });
    assert.equal(o.status, 201, o.text);
    assert.equal(o.json.customerId, cu.id);
    assert.equal(o.json.customerEmail, cu.emailAddress);
    assert.equal(o.json.customerLastName, 'Hopper');
    const b = await sk.patch(`/customers/${cu.id}/block`, {});
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.isBlocked, true);
    assert.ok(b.json.blockedAt);
    assertErr(await sk.post('/orders', { amount: 1500, customerId: cu.id }), 400, 'CUSTOMER_BLOCKED');
    assertErr(await sk.post('/orders', { amount: 1500, customerEmail: cu.emailAddress, customerFirstName: 'G', customerLastName: 'H' }), 400, 'CUSTOMER_BLOCKED');
    const ub = await sk.patch(`/customers/${cu.id}/unblock`, {});
    assert.equal(ub.json.isBlocked, false);
    assert.equal((await sk.post('/orders', { amount: 1500, customerId: cu.id })).status, 201);
  });

  test('an order by e-mail reuses the customer created for an earlier order', T, async () => {
    const p = { customerEmail: `${uniq('r')}@example.com`, customerFirstName: 'Re', customerLastName: 'Use' };
    const a = await sk.post('/orders', { amount: 100, ...p });
    const b = await sk.post('/orders', { amount: 100, customerEmail: p.customerEmail.toUpperCase() });
    assert.equal(b.status, 201, b.text);
    assert.equal(b.json.customerId, a.json.customerId);
    const c = await sk.get(`/customers/${a.json.customerId}`);
    assert.equal(c.json.firstName, 'Re');
  });

  test('delete is a soft delete; an order restores the customer', T, async () => {
    const d = await sk.del(`/customers/${cu.id}`);
    assert.equal(d.status, 200, d.text);
    assert.ok(d.json.deletedAt);
    assert.equal((await sk.get(`/customers/${cu.id}`)).json.id, cu.id);
    assert.equal((await sk.post('/orders', { amount: 900, customerId: cu.id })).status, 201);
    assert.equal((await sk.get(`/customers/${cu.id}`)).json.deletedAt, null);
    assertErr(await sk.del('/customers/cus_nope'), 404, 'NOT_FOUND');
  });
});

// POST /v1/orders and GET /v1/orders/{id}: shape, echo, computed amounts, field rules.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Sandbox, api, assertProblem, assertFieldError, assertCommonHeaders, softly,
  fullOrder, minimalOrder, uniq, UUID_V7, SHORT_ID,
} from './lib/harness.mjs';

let sb, srv, org, sk;
const T = { timeout: 60_000 };

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Orders Org');
  srv = await sb.start();
  sk = api(srv.base, org.keys.test.secret);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

async function create(body, opts) {
  return sk.post('/v1/orders', body, opts);
}

// Inside rules(…) tests, field-rule mismatches are collected and reported together.
let soft = null;
async function expectFieldError(body, field, code) {
  const r = await create(body);
  const check = () => assertFieldError(r, field, code, `POST ${JSON.stringify(body).slice(0, 200)}`);
  if (soft) await soft.check(`${String(field)} → ${Array.isArray(code) ? code.join('|') : code ?? '(any code)'}`, check);
  else check();
  return r;
}

function rules(fn) {
  return async () => {
    soft = softly();
    try {
      await fn();
      soft.done('field rules');
    } finally {
      soft = null;
    }
  };
}

function withItem(patch, base = minimalOrder()) {
  return { ...base, line_items: [{ ...base.line_items[0], ...patch }] };
}

describe('create a full order', () => {
  let body, res;
  before(async () => {
    body = fullOrder();
    res = await create(body);
  });

  test('201 with Location, ETag "1" and the common headers', T, () => {
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/i);
    assert.equal(res.headers.get('location'), `/v1/orders/${res.json.id}`);
    assert.equal(res.headers.get('etag'), '"1"');
    assertCommonHeaders(res, 'POST /v1/orders');
  });

  test('ids, mode, dialect, version and timestamps', T, () => {
    const o = res.json;
    assert.equal(o.object, 'order');
    assert.match(o.id, UUID_V7);
    assert.match(o.short_id, SHORT_ID);
    assert.equal(o.livemode, false);
    assert.equal(o.mode, 'test');
    assert.equal(o.dialect, 'v1');
    assert.equal(o.version, 1);
    assert.match(o.created_at, RFC3339_MS);
    assert.match(o.updated_at, RFC3339_MS);
    assert.equal(o.created_at, o.updated_at);
    const age = Math.abs(Date.now() - Date.parse(o.created_at));
    assert.ok(age < 10 * 60_000, `created_at ${o.created_at} should be about now`);
  });

  test('every field sent is echoed (currency upper-cased)', T, () => {
    const o = res.json;
    assert.equal(o.external_id, body.external_id);
    assert.equal(o.status, 'pending');
    assert.equal(o.currency, 'EUR');
    for (const k of ['id', 'first_name', 'last_name', 'email', 'phone', 'birthday', 'gender']) {
      assert.equal(o.customer[k], body.customer[k], `customer.${k}`);
    }
    for (const [k, v] of Object.entries(body.customer.address)) assert.equal(o.customer.address[k], v, `customer.address.${k}`);
    assert.equal(o.customer.address.line2, null, 'absent customer.address.line2 → null');
    assert.equal(o.customer.address.state, null, 'absent customer.address.state → null');
    for (const [k, v] of Object.entries(body.shipping_address)) assert.equal(o.shipping_address[k], v, `shipping_address.${k}`);
    for (const [k, v] of Object.entries(body.billing_address)) assert.equal(o.billing_address[k], v, `billing_address.${k}`);
    for (const k of ['name', 'phone', 'line2', 'state']) assert.equal(o.billing_address[k], null, `absent billing_address.${k} → null`);
    assert.equal(o.line_items.length, 2);
    const [l1, l2] = o.line_items;
    for (const [k, v] of Object.entries(body.line_items[0])) assert.deepEqual(l1[k], v, `line_items[0].${k}`);
    assert.equal(l2.name, 'Cup');
    assert.equal(l2.quantity, 3);
    assert.equal(l2.unit_price, 500);
    for (const k of ['external_id', 'sku', 'ean13', 'brand', 'category', 'supplier', 'image_url']) {
      assert.equal(l2[k], null, `absent line_items[1].${k} → null`);
    }
    assert.deepEqual(l2.custom, {}, 'absent custom → {}');
    assert.deepEqual(o.metadata, body.metadata);
    assert.equal(o.platform, 'woocommerce');
    assert.equal(o.source, 'web');
    assert.equal(o.locale, 'fr-FR');
    assert.equal(o.shipping_amount, 495);
    assert.equal(o.discount_amount, 100);
    assert.equal(o.tax_amount, 200);
  });

  test('computed amounts', T, () => {
    const o = res.json;
    assert.equal(o.line_items[0].amount, 2 * 4295);
    assert.equal(o.line_items[1].amount, 3 * 500);
    assert.equal(o.subtotal_amount, 8590 + 1500);
    assert.equal(o.total_amount, 10090 + 495 + 200 - 100);
  });

  test('GET by id and by short_id return the same order with ETag', T, async () => {
    const byId = await sk.get(`/v1/orders/${res.json.id}`);
    assert.equal(byId.status, 200, byId.text);
    assert.deepEqual(byId.json, res.json);
    assert.equal(byId.headers.get('etag'), '"1"');
    assertCommonHeaders(byId, 'GET by id');
    const byShort = await sk.get(`/v1/orders/${res.json.short_id}`);
    assert.equal(byShort.status, 200, byShort.text);
    assert.deepEqual(byShort.json, res.json);
    assert.equal(byShort.headers.get('etag'), '"1"');
  });
});

test('minimal order: defaults and nulls', T, async () => {
  const r = await create(minimalOrder());
  assert.equal(r.status, 201, r.text);
  const o = r.json;
  assert.equal(o.status, 'pending');
  assert.equal(o.currency, 'EUR');
  for (const k of ['external_id', 'customer', 'shipping_address', 'billing_address', 'platform', 'source', 'locale']) {
    assert.equal(o[k], null, `${k} defaults to null`);
  }
  for (const k of ['shipping_amount', 'discount_amount', 'tax_amount']) assert.equal(o[k], 0, `${k} defaults to 0`);
  assert.deepEqual(o.metadata, {});
  assert.equal(o.subtotal_amount, 100);
  assert.equal(o.total_amount, 100);
  const li = o.line_items[0];
  assert.equal(li.amount, 100);
  for (const k of ['external_id', 'sku', 'ean13', 'brand', 'category', 'supplier', 'image_url']) assert.equal(li[k], null, `line ${k}`);
  assert.deepEqual(li.custom, {});
});

test('create with status confirmed', T, async () => {
  const r = await create(minimalOrder({ status: 'confirmed' }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'confirmed');
});

test('currency in lower case is answered upper case (JPY, KWD)', T, async () => {
  for (const c of ['jpy', 'Kwd', 'usd']) {
    const r = await create(minimalOrder({ currency: c }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.currency, c.toUpperCase());
    assert.equal(r.json.total_amount, 100);
  }
});

test('unknown order → 404 order_not_found (id and short id)', T, async () => {
  assertProblem(await sk.get('/v1/orders/01900000-0000-7000-8000-000000000000'), 404, 'order_not_found');
  assertProblem(await sk.get('/v1/orders/ZZZZZZZZZZ'), 404, 'order_not_found');
});

test('external_id reused → 409 external_id_conflict pointing at the existing order', T, async () => {
  const ext = uniq('DUP');
  const a = await create(minimalOrder({ external_id: ext }));
  assert.equal(a.status, 201, a.text);
  const b = await create(minimalOrder({ external_id: ext, currency: 'USD' }));
  const p = assertProblem(b, 409, 'external_id_conflict');
  assert.equal(p.existing_order_id, a.json.id);
  assert.equal(b.headers.get('location'), `/v1/orders/${a.json.id}`);
});

test('unknown fields → unknown_field with the path', T, async () => {
  await expectFieldError(minimalOrder({ colour: 'red' }), 'colour', 'unknown_field');
  await expectFieldError(withItem({ bogus: 1 }), 'line_items[0].bogus', 'unknown_field');
  await expectFieldError(minimalOrder({ customer: { email: 'a@example.com', shoe_size: 42 } }), 'customer.shoe_size', 'unknown_field');
});

test('several invalid fields are all reported', T, async () => {
  const r = await create({ currency: 'QQQ', line_items: [{ name: 'x', quantity: 0, unit_price: 1 }] });
  assertFieldError(r, 'currency', 'invalid_currency');
  assertFieldError(r, 'line_items[0].quantity', 'out_of_range');
  assert.ok(r.json.errors.length >= 2);
});

describe('field rules', () => {
  test('currency', T, rules(async () => {
    const { currency, ...noCurrency } = minimalOrder();
    await expectFieldError(noCurrency, 'currency', 'required');
    await expectFieldError(minimalOrder({ currency: 'QQQ' }), 'currency', 'invalid_currency');
    await expectFieldError(minimalOrder({ currency: 'EURO' }), 'currency', 'invalid_currency');
    await expectFieldError(minimalOrder({ currency: 978 }), 'currency', 'invalid_type');
  }));

  test('line_items count and type', T, rules(async () => {
    await expectFieldError({ currency: 'EUR' }, 'line_items', 'required');
    await expectFieldError({ currency: 'EUR', line_items: [] }, 'line_items', 'too_short');
    await expectFieldError({ currency: 'EUR', line_items: { name: 'x', quantity: 1, unit_price: 1 } }, 'line_items', 'invalid_type');
    const many = Array.from({ length: 251 }, (_, i) => ({ name: `item ${i}`, quantity: 1, unit_price: 1 }));
    await expectFieldError({ currency: 'EUR', line_items: many }, 'line_items', 'too_many');
    const r = await create({ currency: 'EUR', line_items: many.slice(0, 250) });
    assert.equal(r.status, 201, `250 line items are allowed: ${r.text.slice(0, 300)}`);
    assert.equal(r.json.line_items.length, 250);
    assert.equal(r.json.subtotal_amount, 250);
  }));

  test('line_items[].name', T, rules(async () => {
    await expectFieldError({ currency: 'EUR', line_items: [{ quantity: 1, unit_price: 1 }] }, 'line_items[0].name', 'required');
    await expectFieldError(withItem({ name: '' }), 'line_items[0].name', ['too_short', 'required']);
    await expectFieldError(withItem({ name: 'x'.repeat(501) }), 'line_items[0].name', 'too_long');
    await expectFieldError(withItem({ name: 7 }), 'line_items[0].name', 'invalid_type');
    const ok = await create(withItem({ name: 'n'.repeat(500) }));
    assert.equal(ok.status, 201, ok.text);
    const second = { currency: 'EUR', line_items: [{ name: 'a', quantity: 1, unit_price: 1 }, { quantity: 1, unit_price: 1 }] };
    await expectFieldError(second, 'line_items[1].name', 'required');
  }));

  test('line_items[].quantity', T, rules(async () => {
    await expectFieldError({ currency: 'EUR', line_items: [{ name: 'x', unit_price: 1 }] }, 'line_items[0].quantity', 'required');
    await expectFieldError(withItem({ quantity: 0 }), 'line_items[0].quantity', 'out_of_range');
    await expectFieldError(withItem({ quantity: 1_000_001 }), 'line_items[0].quantity', 'out_of_range');
    await expectFieldError(withItem({ quantity: 1.5 }), 'line_items[0].quantity', 'invalid_type');
    await expectFieldError(withItem({ quantity: '2' }), 'line_items[0].quantity', 'invalid_type');
    const ok = await create(withItem({ quantity: 1_000_000 }));
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.line_items[0].amount, 100_000_000);
  }));

  test('line_items[].unit_price', T, rules(async () => {
    await expectFieldError({ currency: 'EUR', line_items: [{ name: 'x', quantity: 1 }] }, 'line_items[0].unit_price', 'required');
    await expectFieldError(withItem({ unit_price: -1 }), 'line_items[0].unit_price', 'out_of_range');
    await expectFieldError(withItem({ unit_price: 10 ** 13 + 1 }), 'line_items[0].unit_price', 'out_of_range');
    const ok = await create(withItem({ unit_price: 10 ** 13 }));
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.total_amount, 10 ** 13);
    const zero = await create(withItem({ unit_price: 0 }));
    assert.equal(zero.status, 201, zero.text);
    assert.equal(zero.json.total_amount, 0);
  }));

  test('non-integer amounts are refused, never rounded', T, rules(async () => {
    await expectFieldError(withItem({ unit_price: 42.95 }), 'line_items[0].unit_price', 'invalid_type');
    await expectFieldError(minimalOrder({ shipping_amount: 4.95 }), 'shipping_amount', 'invalid_type');
    await expectFieldError(minimalOrder({ tax_amount: 0.5 }), 'tax_amount', 'invalid_type');
    await expectFieldError(minimalOrder({ total_amount: 100.4 }), 'total_amount', 'invalid_type');
    await expectFieldError(minimalOrder({ discount_amount: '10' }), 'discount_amount', 'invalid_type');
  }));

  test('line_items[] optional strings ≤ 255', T, rules(async () => {
    for (const k of ['external_id', 'sku', 'brand', 'category', 'supplier']) {
      await expectFieldError(withItem({ [k]: 'x'.repeat(256) }), `line_items[0].${k}`, 'too_long');
    }
    const ok = await create(withItem({ sku: 's'.repeat(255) }));
    assert.equal(ok.status, 201, ok.text);
  }));

  test('line_items[].ean13', T, rules(async () => {
    await expectFieldError(withItem({ ean13: '4006381333932' }), 'line_items[0].ean13', undefined); // bad check digit
    await expectFieldError(withItem({ ean13: '400638133393' }), 'line_items[0].ean13', undefined); // 12 digits
    await expectFieldError(withItem({ ean13: '40063813339A1' }), 'line_items[0].ean13', undefined);
    const ok = await create(withItem({ ean13: '5901234123457' }));
    assert.equal(ok.status, 201, ok.text);
  }));

  test('line_items[].image_url', T, rules(async () => {
    await expectFieldError(withItem({ image_url: 'ftp://example.com/a.png' }), 'line_items[0].image_url', 'invalid_url');
    await expectFieldError(withItem({ image_url: 'not a url' }), 'line_items[0].image_url', 'invalid_url');
    await expectFieldError(withItem({ image_url: `https://example.com/${'a'.repeat(2048)}` }), 'line_items[0].image_url', ['too_long', 'invalid_url']);
    const ok = await create(withItem({ image_url: 'http://example.com/a.png' }));
    assert.equal(ok.status, 201, ok.text);
  }));

  test('line_items[].custom', T, rules(async () => {
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    await expectFieldError(withItem({ custom: many }), /^line_items\[0\]\.custom/, 'too_many');
    await expectFieldError(withItem({ custom: { k: 'x'.repeat(501) } }), /^line_items\[0\]\.custom/, 'too_long');
    await expectFieldError(withItem({ custom: { k: 5 } }), /^line_items\[0\]\.custom/, 'invalid_type');
    await expectFieldError(withItem({ custom: 'x' }), 'line_items[0].custom', 'invalid_type');
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    const ok = await create(withItem({ custom: fifty }));
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json.line_items[0].custom, fifty);
  }));

  test('external_id', T, rules(async () => {
    await expectFieldError(minimalOrder({ external_id: '' }), 'external_id', 'too_short');
    await expectFieldError(minimalOrder({ external_id: 'x'.repeat(256) }), 'external_id', 'too_long');
    await expectFieldError(minimalOrder({ external_id: 'a\u0001b' }), 'external_id', undefined);
    await expectFieldError(minimalOrder({ external_id: 12 }), 'external_id', 'invalid_type');
  }));

  test('status', T, rules(async () => {
    await expectFieldError(minimalOrder({ status: 'shipped' }), 'status', 'invalid_status');
    await expectFieldError(minimalOrder({ status: 'fulfilled' }), 'status', undefined);
    await expectFieldError(minimalOrder({ status: 'canceled' }), 'status', undefined);
  }));

  test('customer', T, rules(async () => {
    const c = (customer) => minimalOrder({ customer });
    await expectFieldError(c({ email: 'not-an-email' }), 'customer.email', 'invalid_email');
    await expectFieldError(c({ email: 'a@b@example.com' }), 'customer.email', 'invalid_email');
    await expectFieldError(c({ email: `${'l'.repeat(65)}@example.com` }), 'customer.email', 'invalid_email');
    await expectFieldError(c({ email: `a@${'d'.repeat(250)}.com` }), 'customer.email', ['invalid_email', 'too_long']);
    await expectFieldError(c({ phone: '0612345678' }), 'customer.phone', 'invalid_phone');
    await expectFieldError(c({ phone: '+0612345678' }), 'customer.phone', 'invalid_phone');
    await expectFieldError(c({ phone: '+1' }), 'customer.phone', 'invalid_phone');
    await expectFieldError(c({ phone: '+1234567890123456' }), 'customer.phone', 'invalid_phone');
    await expectFieldError(c({ birthday: '1990-02-30' }), 'customer.birthday', 'invalid_date');
    await expectFieldError(c({ birthday: '1990-13-01' }), 'customer.birthday', 'invalid_date');
    await expectFieldError(c({ birthday: '10/12/1990' }), 'customer.birthday', 'invalid_date');
    const future = `${new Date().getUTCFullYear() + 2}-01-01`;
    await expectFieldError(c({ birthday: future }), 'customer.birthday', ['invalid_date', 'out_of_range']);
    await expectFieldError(c({ id: 'x'.repeat(256) }), 'customer.id', 'too_long');
    await expectFieldError(c({ first_name: 'x'.repeat(256) }), 'customer.first_name', 'too_long');
    await expectFieldError(c({ last_name: 'x'.repeat(256) }), 'customer.last_name', 'too_long');
    await expectFieldError(c({ gender: 'x'.repeat(33) }), 'customer.gender', 'too_long');
    await expectFieldError(c({ first_name: 'Ada\u0007' }), 'customer.first_name', undefined);
    await expectFieldError(c('Ada'), 'customer', 'invalid_type');
    await expectFieldError(c({ address: { line1: 'x', city: 'y', country: 'fr' } }), 'customer.address.country', 'invalid_country');
    const ok = await create(c({ email: 'x@example.com', phone: '+12025550123', birthday: '2000-02-29' }));
    assert.equal(ok.status, 201, ok.text);
  }));

  test('shipping_address and billing_address', T, rules(async () => {
    const good = { line1: '1 Main St', city: 'Springfield', country: 'US' };
    for (const f of ['shipping_address', 'billing_address']) {
      const { line1, ...noLine1 } = good;
      const { city, ...noCity } = good;
      const { country, ...noCountry } = good;
      await expectFieldError(minimalOrder({ [f]: noLine1 }), `${f}.line1`, 'required');
      await expectFieldError(minimalOrder({ [f]: noCity }), `${f}.city`, 'required');
      await expectFieldError(minimalOrder({ [f]: noCountry }), `${f}.country`, 'required');
      await expectFieldError(minimalOrder({ [f]: { ...good, line1: 'x'.repeat(256) } }), `${f}.line1`, 'too_long');
      await expectFieldError(minimalOrder({ [f]: { ...good, postal_code: '1'.repeat(33) } }), `${f}.postal_code`, 'too_long');
      await expectFieldError(minimalOrder({ [f]: { ...good, state: 'x'.repeat(256) } }), `${f}.state`, 'too_long');
      await expectFieldError(minimalOrder({ [f]: { ...good, name: 'x'.repeat(256) } }), `${f}.name`, 'too_long');
      await expectFieldError(minimalOrder({ [f]: { ...good, country: 'us' } }), `${f}.country`, 'invalid_country');
      await expectFieldError(minimalOrder({ [f]: { ...good, country: 'ZZ' } }), `${f}.country`, 'invalid_country');
      await expectFieldError(minimalOrder({ [f]: { ...good, country: 'USA' } }), `${f}.country`, 'invalid_country');
      await expectFieldError(minimalOrder({ [f]: { ...good, phone: '12345' } }), `${f}.phone`, 'invalid_phone');
    }
    const xk = await create(minimalOrder({ shipping_address: { ...good, country: 'XK' } }));
    assert.equal(xk.status, 201, `XK is accepted: ${xk.text}`);
    assert.equal(xk.json.shipping_address.country, 'XK');
  }));

  test('optional amounts', T, rules(async () => {
    for (const f of ['shipping_amount', 'discount_amount', 'tax_amount']) {
      await expectFieldError(minimalOrder({ [f]: -1 }), f, 'out_of_range');
      await expectFieldError(minimalOrder({ [f]: 10 ** 13 + 1 }), f, 'out_of_range');
    }
  }));

  test('total_amount check: total_mismatch, and total below 0', T, rules(async () => {
    await expectFieldError(minimalOrder({ total_amount: 101 }), 'total_amount', 'total_mismatch');
    const ok = await create(minimalOrder({ total_amount: 100 }));
    assert.equal(ok.status, 201, ok.text);
    const neg = await create(minimalOrder({ discount_amount: 101 }));
    assertFieldError(neg, ['total_amount', 'discount_amount'], 'out_of_range');
  }));

  test('metadata', T, rules(async () => {
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    await expectFieldError(minimalOrder({ metadata: many }), 'metadata', 'too_many');
    await expectFieldError(minimalOrder({ metadata: { ['k'.repeat(41)]: 'v' } }), /^metadata/, undefined);
    await expectFieldError(minimalOrder({ metadata: { '': 'v' } }), /^metadata/, undefined);
    await expectFieldError(minimalOrder({ metadata: { 'a[0]': 'v' } }), /^metadata/, undefined);
    await expectFieldError(minimalOrder({ metadata: { k: 'x'.repeat(501) } }), /^metadata/, 'too_long');
    await expectFieldError(minimalOrder({ metadata: { k: 1 } }), /^metadata/, 'invalid_type');
    await expectFieldError(minimalOrder({ metadata: ['a'] }), 'metadata', 'invalid_type');
    const ok = await create(minimalOrder({ metadata: { ['k'.repeat(40)]: 'v'.repeat(500), tabbed: 'a\tb\nc' } }));
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.metadata.tabbed, 'a\tb\nc');
  }));

  test('platform, source, locale', T, rules(async () => {
    await expectFieldError(minimalOrder({ platform: 'x'.repeat(65) }), 'platform', 'too_long');
    await expectFieldError(minimalOrder({ source: 'x'.repeat(65) }), 'source', 'too_long');
    await expectFieldError(minimalOrder({ locale: 'french language' }), 'locale', undefined);
    await expectFieldError(minimalOrder({ locale: 7 }), 'locale', 'invalid_type');
    for (const locale of ['fr', 'en-GB']) {
      const ok = await create(minimalOrder({ locale }));
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.json.locale, locale);
    }
  }));
});

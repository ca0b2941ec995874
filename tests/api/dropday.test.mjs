// Dropday dialect (issue 6): create (seed 002), duplicates, Laravel-style 422s, auth,
// reads, lists and filters, products, PHP form bodies, country names, /v1 read-back.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, api, uniq, mapLimit, freePort, startServer } from './lib/harness.mjs';

let sb, srv, org, org2, dd, ddLive, v1, v1Live;
const T = { timeout: 60_000 };
const UNAUTHORIZED = { message: 'Unauthorized', error: 'Invalid or missing api-key or account-id header' };

/** A Dropday client: api-key + account-id headers, paths under /dropday/api/v1. */
function ddClient(base, key, account, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  if (key !== null) headers['api-key'] = key;
  if (account !== null) headers['account-id'] = account;
  return api(`${base}/dropday/api/v1`, null, { headers });
}

/** Seed 002's request example, with a fresh external_id unless given. */
function seedOrder(extra = {}) {
  return {
    external_id: uniq('L41223D'),
    source: 'Example Shop Dot Org',
    test: false,
    total: 435.45,
    shipping_cost: 4.95,
    email: '',
    shipping_address: {
      first_name: 'John',
      last_name: 'Doe',
      company_name: 'Jeff',
      address1: 'Jumpstreet 23',
      postcode: '4500',
      city: 'LA',
      country: 'US',
      phone: '222 222',
    },
    products: [
      {
        external_id: '1',
        ean13: '87235211235464',
        name: 'Pizza margerita',
        reference: 'PZZA00001',
        quantity: 2,
        stock_quantity: 424,
        price: 10.99,
        image_url: '',
        brand: 'Italian',
        category: "Pizza's",
        supplier: 'Mario',
        custom: { toppings: 'onions, olives', customer_message: 'No ananas/pineapple' },
      },
      {
        external_id: '2',
        ean13: '07235211235464',
        reference: 'COKE',
        name: 'Coca Cola',
        quantity: 2,
        stock_quantity: 34,
        price: 2.5,
        image_url: '',
        brand: 'Coca Cola',
        category: 'Drinks',
        supplier: 'The Coca Cola Company',
        custom: { customer_message: 'No ice' },
      },
    ],
    ...extra,
  };
}

function assertJson(r, ctx = '') {
  assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/, `JSON content type ${ctx}: ${r.text}`);
}

async function create(client, body, ctx = '') {
  const r = await client.post('/orders', body);
  assert.equal(r.status, 200, `${ctx} ${r.text}`);
  assertJson(r, ctx);
  assert.equal(r.json.message, 'Order created', `${ctx} ${r.text}`);
  assert.equal(typeof r.json.reference, 'number', `reference is a number: ${r.text}`);
  return r.json.reference;
}

async function v1ByExternal(client, ext) {
  const r = await client.get(`/v1/orders?dialect=dropday&external_id=${encodeURIComponent(ext)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Dropday Shop');
  org2 = sb.createOrg('Other Shop');
  srv = await sb.start();
  dd = ddClient(srv.base, org.keys.test.secret, org.id);
  ddLive = ddClient(srv.base, org.keys.live.secret, org.id);
  v1 = api(srv.base, org.keys.test.secret);
  v1Live = api(srv.base, org.keys.live.secret);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

describe('create (seed 002)', () => {
  test("the seed's example request → 200 Order created with a numeric reference", T, async () => {
    const body = seedOrder();
    const ref = await create(dd, body, 'seed');
    assert.ok(ref >= 1);
    const ref2 = await create(dd, seedOrder(), 'second');
    assert.equal(ref2, ref + 1, 'references are a per-org sequence');
  });

  test('the order reads back through /v1 with the canonical mapping and the dropday data', T, async () => {
    const body = seedOrder();
    const ref = await create(dd, body);
    const [o] = await v1ByExternal(v1, body.external_id);
    assert.ok(o, 'visible through /v1');
    assert.equal(o.dialect, 'dropday');
    assert.equal(o.mode, 'test');
    assert.equal(o.status, 'pending');
    assert.equal(o.currency, 'EUR');
    assert.equal(o.external_id, body.external_id);
    assert.equal(o.source, 'Example Shop Dot Org');
    assert.equal(o.shipping_amount, 495);
    assert.equal(o.subtotal_amount, 2 * 1099 + 2 * 250);
    assert.equal(o.total_amount, 43545, 'canonical total is the shop total');
    assert.equal(o.tax_amount, 43545 - 2698 - 495, 'a total above lines + shipping is tax');
    assert.equal(o.discount_amount, 0);
    assert.deepEqual(o.shipping_address, {
      name: 'John Doe', line1: 'Jumpstreet 23', line2: null, city: 'LA', postal_code: '4500',
      state: null, country: 'US', phone: null,
    });
    assert.equal(o.customer.first_name, 'John');
    assert.equal(o.customer.last_name, 'Doe');
    assert.equal(o.line_items.length, 2);
    assert.equal(o.line_items[0].unit_price, 1099);
    assert.equal(o.line_items[0].sku, 'PZZA00001');
    assert.equal(o.line_items[0].supplier, 'Mario');
    assert.deepEqual(o.line_items[0].custom, { toppings: 'onions, olives', customer_message: 'No ananas/pineapple' });
    assert.equal(o.line_items[1].unit_price, 250);
    assert.equal(o.dropday.reference, ref);
    assert.equal(o.dropday.shipping_address.phone, '222 222');
    assert.equal(o.dropday.order_lines[0].ean13, '87235211235464');
    const ev = await v1.get(`/v1/events?order_id=${o.id}`);
    assert.equal(ev.status, 200, ev.text);
    assert.equal(ev.json.data[0].type, 'order.created');
    assert.equal(ev.json.data[0].data.object.dropday.reference, ref, 'the event carries the reference');
  });

  test('GET /orders/{reference} answers the Dropday order object', T, async () => {
    const body = seedOrder({
      custom: { channel: 'web' },
      shipping: { name: 'UPS', description: 'Standard delivery', cost: 6.5, note: 'Ring twice', delivery_date: '25-09-2025' },
      products: [{ ...seedOrder().products[0], purchase_price: 4.2 }],
    });
    const ref = await create(dd, body);
    const r = await dd.get(`/orders/${ref}`);
    assert.equal(r.status, 200, r.text);
    assertJson(r);
    const o = r.json;
    assert.equal(o.id, ref);
    assert.equal(o.reference, String(ref));
    assert.equal(o.external_id, body.external_id);
    assert.equal(o.source, body.source);
    assert.equal(o.test, false);
    assert.equal(o.blocked, false);
    assert.equal(o.total, 435.45);
    assert.deepEqual(o.shipping_address, {
      email: null, first_name: 'John', last_name: 'Doe', company_name: 'Jeff', phone: '222 222',
      address1: 'Jumpstreet 23', address2: null, city: 'LA', postcode: '4500', state: null, country: 'US',
    });
    assert.deepEqual(o.shipping, { cost: 6.5, name: 'UPS', description: 'Standard delivery', note: 'Ring twice', delivery_date: '2025-09-25' });
    assert.deepEqual(o.custom, { channel: 'web' });
    assert.equal(o.order_lines.length, 1);
    const l = o.order_lines[0];
    assert.equal(l.current_status, 'pending');
    assert.equal(l.external_id, '1');
    assert.equal(l.name, 'Pizza margerita');
    assert.equal(l.reference, 'PZZA00001');
    assert.equal(l.ean13, '87235211235464');
    assert.equal(l.quantity, 2);
    assert.equal(l.stock_quantity, 424);
    assert.equal(l.price, 10.99);
    assert.equal(l.purchase_price, 4.2);
    assert.equal(l.image_url, null);
    assert.deepEqual(l.matched_supplier?.name, 'Mario');
    assert.equal(typeof l.matched_supplier.id, 'number');
    assert.equal(l.logs[0].status, 'pending');
    assert.equal(l.supplier, undefined, 'responses have no supplier string');
    assert.deepEqual(o.suppliers, [l.matched_supplier]);
    assert.match(o.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(o.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const [v] = await v1ByExternal(v1, body.external_id);
    assert.equal(v.shipping_amount, 650, 'shipping.cost wins over shipping_cost');
  });

  test('unknown reference → 404 {"message":"Not Found","error":…}', T, async () => {
    for (const ref of ['999999', 'INVALID-REF']) {
      const r = await dd.get(`/orders/${ref}`);
      assert.equal(r.status, 404, r.text);
      assertJson(r);
      assert.deepEqual(r.json, { message: 'Not Found', error: `Order with reference '${ref}' not found` });
    }
  });
});

describe('duplicates', () => {
  test('a repeated external_id → 200 Order already exists with the same reference, no second order', T, async () => {
    const body = seedOrder();
    const ref = await create(dd, body);
    const r = await dd.post('/orders', { ...body, total: 1, products: [{ external_id: 'x', name: 'y', quantity: 1, price: 1 }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { message: 'Order already exists', reference: ref });
    assert.equal((await v1ByExternal(v1, body.external_id)).length, 1);
  });

  test('32 concurrent creates with one external_id → one order, one reference, no gap after', T, async () => {
    const body = seedOrder();
    const results = await mapLimit(32, 32, () => dd.post('/orders', body));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const created = results.filter((r) => r.json.message === 'Order created');
    const existing = results.filter((r) => r.json.message === 'Order already exists');
    assert.equal(created.length, 1, results.map((r) => r.text).join('\n'));
    assert.equal(existing.length, 31);
    const ref = created[0].json.reference;
    for (const r of existing) assert.equal(r.json.reference, ref);
    assert.equal((await v1ByExternal(v1, body.external_id)).length, 1);
    const next = await create(dd, seedOrder());
    assert.equal(next, ref + 1, 'losing creates did not consume references');
  });

  test('the external_id is per mode: the live key creates its own order with its own sequence', T, async () => {
    const body = seedOrder();
    const refTest = await create(dd, body);
    const refLive = await create(ddLive, body);
    assert.ok(refLive >= 1);
    assert.equal((await v1ByExternal(v1Live, body.external_id)).length, 1);
    const r = await ddLive.get(`/orders/${refLive}`);
    assert.equal(r.json.external_id, body.external_id);
    const lt = await dd.get(`/orders/${refTest}`);
    assert.equal(lt.json.reference, String(refTest));
  });
});

describe('validation (422, Laravel wording)', () => {
  test('every required field missing → every message in one 422', T, async () => {
    const r = await dd.post('/orders', {});
    assert.equal(r.status, 422, r.text);
    assertJson(r);
    assert.equal(r.json.message, 'Errors');
    assert.deepEqual(r.json.errors, {
      external_id: ['The external id field is required.'],
      source: ['The source field is required.'],
      total: ['The total field is required.'],
      shipping_address: ['The shipping address field is required.'],
      'shipping_address.first_name': ['The shipping address.first name field is required.'],
      'shipping_address.last_name': ['The shipping address.last name field is required.'],
      'shipping_address.address1': ['The shipping address.address1 field is required.'],
      'shipping_address.postcode': ['The shipping address.postcode field is required.'],
      'shipping_address.city': ['The shipping address.city field is required.'],
      'shipping_address.country': ['The shipping address.country field is required.'],
      products: ['The products field is required.'],
    });
  });

  test('an empty body is every required field missing too', T, async () => {
    const r = await dd.post('/orders', '');
    assert.equal(r.status, 422, r.text);
    assert.equal(Object.keys(r.json.errors).length, 11);
  });

  test('every bad product line is reported at once, with raw array paths', T, async () => {
    const body = seedOrder({
      products: [
        { name: 'No id', quantity: 1, price: 1 },
        { external_id: 'b', name: 'Bad qty', quantity: 'abc', price: 1 },
        'not an object',
        { external_id: 'd', name: 'Zero', quantity: 0, price: -1 },
        { external_id: 'e', quantity: 1.5, price: 85.905 },
      ],
    });
    const r = await dd.post('/orders', body);
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.errors, {
      'products.0.external_id': ['The products.0.external_id field is required.'],
      'products.1.quantity': ['The products.1.quantity field must be a number.'],
      'products.2': ['The products.2 field must be an array.'],
      'products.3.quantity': ['The products.3.quantity field must be at least 1.'],
      'products.3.price': ['The products.3.price field must be at least 0.'],
      'products.4.name': ['The products.4.name field is required.'],
      'products.4.quantity': ['The products.4.quantity field must be an integer.'],
      'products.4.price': ['The products.4.price field must have at most 2 decimal places.'],
    });
  });

  test('type rules: numbers, booleans, objects, e-mail, dates, lengths', T, async () => {
    const r = await dd.post('/orders', seedOrder({
      external_id: 'x'.repeat(256),
      total: 'lots',
      test: 'maybe',
      email: 'not-an-email',
      shipping_cost: [],
      custom: 'text',
      shipping: { delivery_date: '2025/09/25', cost: 'free' },
      shipping_address: { ...seedOrder().shipping_address, first_name: { a: 1 } },
    }));
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.errors, {
      external_id: ['The external id field must not be greater than 255 characters.'],
      total: ['The total field must be a number.'],
      test: ['The test field must be true or false.'],
      shipping_cost: ['The shipping cost field must be a number.'],
      'shipping.cost': ['The shipping.cost field must be a number.'],
      'shipping.delivery_date': ['The shipping.delivery date field must match the format d-m-Y.'],
      email: ['The email field must be a valid email address.'],
      'shipping_address.first_name': ['The shipping address.first name field must be a string.'],
      custom: ['The custom field must be an array.'],
    });
  });

  test('an unrecognised country → 422 on shipping_address.country', T, async () => {
    const r = await dd.post('/orders', seedOrder({ shipping_address: { ...seedOrder().shipping_address, country: 'Atlantis' } }));
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.errors, { 'shipping_address.country': ['The selected shipping address.country is invalid.'] });
  });

  test('nothing is stored after a 422', T, async () => {
    const body = seedOrder({ total: 'x' });
    assert.equal((await dd.post('/orders', body)).status, 422);
    assert.equal((await v1ByExternal(v1, body.external_id)).length, 0);
  });
});

describe('what the official plugins send', () => {
  test('numbers as strings, integer ids, numeric phone and ean13, test "0"/"1"/null', T, async () => {
    const ext = Math.floor(Math.random() * 1e9) + 1000;
    const body = seedOrder({
      external_id: ext,
      test: '1',
      total: '435.45',
      shipping_cost: '4.95',
      shipping_address: { ...seedOrder().shipping_address, phone: 612345678 },
      products: [
        { ...seedOrder().products[0], external_id: 77, ean13: 4006381333931, quantity: '2', price: '10.99', stock_quantity: '424', image_url: null },
        { ...seedOrder().products[1], price: '2.50', quantity: 2.0 },
      ],
    });
    const ref = await create(dd, body);
    const o = (await dd.get(`/orders/${ref}`)).json;
    assert.equal(o.external_id, String(ext));
    assert.equal(o.test, true);
    assert.equal(o.total, 435.45);
    assert.equal(o.shipping_address.phone, '612345678');
    assert.equal(o.order_lines[0].external_id, '77');
    assert.equal(o.order_lines[0].ean13, '4006381333931');
    assert.equal(o.order_lines[0].quantity, 2);
    assert.equal(o.order_lines[0].stock_quantity, 424);
    assert.equal(o.order_lines[0].price, 10.99);
    assert.equal(o.order_lines[1].price, 2.5);
    const [v] = await v1ByExternal(v1, String(ext));
    assert.equal(v.line_items[0].ean13, '4006381333931', 'a valid EAN-13 reaches the canonical line');
    assert.equal(v.line_items[1].ean13, null, 'the 14-digit seed value stays Dropday-only');
    for (const t of ['0', null, 0, false]) {
      const ref2 = await create(dd, seedOrder({ test: t }), `test=${JSON.stringify(t)}`);
      assert.equal((await dd.get(`/orders/${ref2}`)).json.test, false);
    }
  });

  test('binary floating point totals (31.009999999999998) are exact minor units', T, async () => {
    const body = seedOrder({ total: 31.009999999999998, shipping_cost: 0, products: [{ external_id: 'f', name: 'F', quantity: 1, price: 31.009999999999998 }] });
    await create(dd, body);
    const [v] = await v1ByExternal(v1, body.external_id);
    assert.equal(v.total_amount, 3101);
    assert.equal(v.line_items[0].unit_price, 3101);
    assert.equal(v.tax_amount, 0);
    assert.equal(v.discount_amount, 0);
  });

  test('only shipping (WooCommerce), only shipping_cost (Magento), empty delivery_date, unknown keys', T, async () => {
    const woo = seedOrder({ shipping_cost: undefined, shipping: { name: 'Flat rate', cost: 7, delivery_date: '' }, weight: 3, products: [{ ...seedOrder().products[0], height: 1.5, width: 2 }] });
    const refW = await create(dd, woo, 'woo');
    const w = (await dd.get(`/orders/${refW}`)).json;
    assert.equal(w.shipping.cost, 7);
    assert.equal(w.shipping.delivery_date, null);
    assert.equal(w.order_lines[0].height, undefined, 'unknown keys are ignored');
    const mag = seedOrder({ shipping_cost: 3.5 });
    const refM = await create(dd, mag, 'magento');
    assert.equal((await dd.get(`/orders/${refM}`)).json.shipping.cost, 3.5);
  });

  test('a lower total than lines + shipping is a discount; a higher one a tax', T, async () => {
    const low = seedOrder({ total: 20 });
    await create(dd, low);
    const [l] = await v1ByExternal(v1, low.external_id);
    assert.equal(l.discount_amount, 2698 + 495 - 2000);
    assert.equal(l.total_amount, 2000);
  });

  test('country names in English and local languages are stored as ISO-2', T, async () => {
    const cases = {
      Netherlands: 'NL', Nederland: 'NL', 'the Netherlands': 'NL', Deutschland: 'DE', Germany: 'DE',
      'United Kingdom': 'GB', 'Royaume-Uni': 'GB', België: 'BE', Belgique: 'BE', 'united states': 'US',
      nl: 'NL', España: 'ES', Österreich: 'AT', Schweiz: 'CH', 'Česko': 'CZ', Polska: 'PL',
      'Côte d’Ivoire': 'CI', 'U.S.A.': 'US', UK: 'GB', Türkiye: 'TR',
    };
    for (const [name, iso] of Object.entries(cases)) {
      const body = seedOrder({ shipping_address: { ...seedOrder().shipping_address, country: name } });
      const ref = await create(dd, body, name);
      const o = (await dd.get(`/orders/${ref}`)).json;
      assert.equal(o.shipping_address.country, iso, name);
      const [v] = await v1ByExternal(v1, body.external_id);
      assert.equal(v.shipping_address.country, iso, `${name} (canonical)`);
    }
  });

  test('a form-encoded body with PHP bracket keys (Magento) creates the same order', T, async () => {
    const ext = uniq('MAG');
    const f = new URLSearchParams();
    const pairs = {
      external_id: ext, source: 'Magento Store', test: '1', total: '31.01', shipping_cost: '5',
      email: 'jan@example.nl',
      'shipping_address[first_name]': 'Jan', 'shipping_address[last_name]': 'de Vries',
      'shipping_address[address1]': 'Damrak 1', 'shipping_address[postcode]': '1012 LG',
      'shipping_address[city]': 'Amsterdam', 'shipping_address[country]': 'Nederland',
      'shipping_address[phone]': '+31612345678',
      'products[0][external_id]': '55', 'products[0][name]': 'Thé vert & co', 'products[0][quantity]': '2',
      'products[0][price]': '13', 'products[1][external_id]': '56', 'products[1][name]': 'Cup',
      'products[1][quantity]': '1', 'products[1][price]': '0', 'products[1][custom][color]': 'blue',
    };
    for (const [k, v] of Object.entries(pairs)) f.append(k, v);
    const long = 'é'.repeat(3000) + ' + & = ' + 'x'.repeat(5000); // several post-processor chunks
    f.append('products[1][custom][long]', long);
    const r = await dd.post('/orders', f.toString(), { contentType: 'application/x-www-form-urlencoded' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.message, 'Order created');
    const o = (await dd.get(`/orders/${r.json.reference}`)).json;
    assert.equal(o.external_id, ext);
    assert.equal(o.test, true);
    assert.equal(o.total, 31.01);
    assert.equal(o.shipping_address.country, 'NL');
    assert.equal(o.shipping_address.email, 'jan@example.nl');
    assert.equal(o.order_lines.length, 2);
    assert.equal(o.order_lines[0].name, 'Thé vert & co');
    assert.equal(o.order_lines[0].quantity, 2);
    assert.deepEqual(o.order_lines[1].custom, { color: 'blue', long });
    const [v] = await v1ByExternal(v1, ext);
    assert.equal(v.customer.email, 'jan@example.nl');
    assert.equal(v.shipping_address.phone, '+31612345678', 'an E.164 phone reaches the canonical address');
    const bad = await dd.post('/orders', 'external_id=&products[0][name]=x', { contentType: 'application/x-www-form-urlencoded' });
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(bad.json.errors['external_id'], ['The external id field is required.']);
    assert.deepEqual(bad.json.errors['products.0.external_id'], ['The products.0.external_id field is required.']);
  });
});

describe('more bodies and settings', () => {
  test('a multipart/form-data body is read like the urlencoded one', T, async () => {
    const fd = new FormData();
    const ext = uniq('MP');
    const pairs = {
      external_id: ext, source: 'Multipart', total: '12', 'shipping_address[first_name]': 'A',
      'shipping_address[last_name]': 'B', 'shipping_address[address1]': 'C 1', 'shipping_address[postcode]': '1000',
      'shipping_address[city]': 'Brussel', 'shipping_address[country]': 'Belgique',
      'products[0][external_id]': 'm1', 'products[0][name]': 'M', 'products[0][quantity]': '3', 'products[0][price]': '4',
    };
    for (const [k, v] of Object.entries(pairs)) fd.append(k, v);
    const res = await fetch(`${srv.base}/dropday/api/v1/orders`, {
      method: 'POST', body: fd, headers: { 'api-key': org.keys.test.secret, 'account-id': org.id },
    });
    const j = await res.json();
    assert.equal(res.status, 200, JSON.stringify(j));
    assert.equal(j.message, 'Order created');
    const o = (await dd.get(`/orders/${j.reference}`)).json;
    assert.equal(o.shipping_address.country, 'BE');
    assert.equal(o.order_lines[0].quantity, 3);
  });

  test('more than 250 products → 422 on products', T, async () => {
    const line = { external_id: 'x', name: 'X', quantity: 1, price: 1 };
    const r = await dd.post('/orders', seedOrder({ products: Array.from({ length: 251 }, () => line) }));
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.errors, { products: ['The products field must not have more than 250 items.'] });
  });

  test('dropday.currency sets the currency and its decimals; a bad value is refused', T, async () => {
    const o = sb.createOrg('Yen Shop');
    const bad = sb.cli(['org', 'set', o.id, 'dropday.currency=XYZ']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /dropday\.currency/);
    sb.setOrg(o.id, 'dropday.currency=jpy');
    const c = ddClient(srv.base, o.keys.test.secret, o.id);
    const body = seedOrder({ total: 2500, shipping_cost: 500, products: [{ external_id: 'y', name: 'Y', quantity: 2, price: 1000 }] });
    await create(c, body);
    const [v] = await v1ByExternal(api(srv.base, o.keys.test.secret), body.external_id);
    assert.equal(v.currency, 'JPY');
    assert.equal(v.line_items[0].unit_price, 1000);
    assert.equal(v.total_amount, 2500);
    const r = await c.post('/orders', seedOrder({ products: [{ external_id: 'y', name: 'Y', quantity: 1, price: 10.5 }] }));
    assert.equal(r.status, 422, r.text);
    assert.deepEqual(r.json.errors['products.0.price'], ['The products.0.price field must have at most 0 decimal places.']);
  });
});

describe('auth (401)', () => {
  test('missing, wrong or mismatched credentials → 401 Unauthorized', T, async () => {
    const base = srv.base;
    const cases = [
      ['no headers', ddClient(base, null, null)],
      ['no account-id', ddClient(base, org.keys.test.secret, null)],
      ['no api-key', ddClient(base, null, org.id)],
      ['unknown key', ddClient(base, `sk_test_${'0'.repeat(32)}`, org.id)],
      ['publishable key', ddClient(base, org.keys.test.publishable, org.id)],
      ['another org\'s account id', ddClient(base, org.keys.test.secret, org2.id)],
      ['another org\'s key', ddClient(base, org2.keys.test.secret, org.id)],
      ['unknown account id', ddClient(base, org.keys.test.secret, '101')],
    ];
    for (const [what, c] of cases) {
      for (const [m, p] of [['get', '/'], ['get', '/orders'], ['post', '/orders'], ['get', '/orders/1'], ['get', '/products']]) {
        const r = m === 'get' ? await c.get(p) : await c.post(p, seedOrder());
        assert.equal(r.status, 401, `${what} ${m} ${p}: ${r.text}`);
        assertJson(r, what);
        assert.deepEqual(r.json, UNAUTHORIZED, what);
      }
    }
  });

  test('header names in any case, the org uuid as account-id, JSON whatever the Accept', T, async () => {
    const title = api(`${srv.base}/dropday/api/v1`, null, { headers: { 'Api-Key': org.keys.test.secret, 'Account-Id': org.uuid, Accept: 'text/html' } });
    const r = await title.get('/');
    assert.equal(r.status, 200, r.text);
    assertJson(r);
    assert.equal(r.json.account_id, org.id);
    const upper = api(`${srv.base}/dropday/api/v1`, null, { headers: { 'API-KEY': org.keys.test.secret, 'ACCOUNT-ID': org.id } });
    assert.equal((await upper.get('/orders')).status, 200);
  });

  test('/api/v1 answers with and without the trailing slash', T, async () => {
    const c = api(`${srv.base}/dropday`, null, { headers: { 'api-key': org.keys.test.secret, 'account-id': org.id } });
    for (const p of ['/api/v1', '/api/v1/', '/api/v1/orders/', '/api/v1/products/']) {
      const r = await c.get(p);
      assert.equal(r.status, 200, `${p}: ${r.text}`);
    }
  });
});

describe('bad input in Dropday format', () => {
  test('malformed JSON, a non-object, deep nesting → 400 {"message","error"}', T, async () => {
    for (const [what, body] of [['syntax', '{"external_id": '], ['array', '[1,2]'], ['deep', '['.repeat(100) + ']'.repeat(100)], ['bad utf-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])]]) {
      const r = await dd.post('/orders', body);
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assertJson(r, what);
      assert.equal(r.json.message, 'Bad Request');
      assert.equal(typeof r.json.error, 'string');
    }
  });

  test('a non-JSON content type with a non-JSON body → 415; a huge body → 413; unknown path → 404; wrong method → 405', T, async () => {
    const r415 = await dd.post('/orders', '<xml/>', { contentType: 'text/xml' });
    assert.equal(r415.status, 415, r415.text);
    assert.equal(r415.json.message, 'Unsupported Media Type');
    const big = JSON.stringify({ external_id: 'x', pad: 'y'.repeat(1024 * 1024 + 10) });
    const r413 = await dd.post('/orders', big);
    assert.equal(r413.status, 413, r413.text);
    assert.equal(r413.json.message, 'Payload Too Large');
    const r404 = await dd.get('/nope');
    assert.equal(r404.status, 404, r404.text);
    assert.equal(r404.json.message, 'Not Found');
    assert.equal(typeof r404.json.error, 'string');
    const r431 = await dd.get('/orders', { headers: { 'X-Big': 'h'.repeat(11 * 1024) } });
    assert.equal(r431.status, 431, r431.text);
    assert.equal(r431.json?.message, 'Request Header Fields Too Large');
    const r405 = await dd.del('/orders');
    assert.equal(r405.status, 405, r405.text);
    assert.equal(r405.json.message, 'Method Not Allowed');
  });
});

describe('GET /orders: list and filters', () => {
  let s, c, cv1;
  const refs = {};
  before(async () => {
    // A separate org so the counts are exact.
    const o = sb.createOrg('List Shop');
    s = o;
    c = ddClient(srv.base, o.keys.test.secret, o.id);
    cv1 = api(srv.base, o.keys.test.secret);
    const mk = (name, extra) => seedOrder({ external_id: `${name}-${uniq('X')}`, ...extra });
    refs.a = await create(c, mk('alpha', { total: 10, shipping_cost: 0, products: [{ external_id: 'p1', name: 'P1', quantity: 1, price: 10, supplier: 'Acme' }] }));
    refs.b = await create(c, mk('beta', { total: 50, products: [{ external_id: 'p2', name: 'P2', quantity: 1, price: 1, supplier: 'Bolt', purchase_price: 0.5 }] }));
    refs.t = await create(c, mk('alpha-test', { test: true, total: 99 }));
    refs.c = await create(c, mk('gamma', { total: 200 }));
  });

  test('test orders are left out unless include_test=true; newest first; Laravel paginator', T, async () => {
    const r = await c.get('/orders');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data.map((o) => o.id), [refs.c, refs.b, refs.a]);
    assert.equal(r.json.current_page, 1);
    assert.equal(r.json.meta.total, 3);
    assert.equal(r.json.meta.per_page, 50);
    assert.equal(r.json.links.next, null);
    const all = await c.get('/orders?include_test=true');
    assert.deepEqual(all.json.data.map((o) => o.id), [refs.c, refs.t, refs.b, refs.a]);
    assert.equal(all.json.data[1].test, true);
    assert.equal(all.json.data[0].order_lines[0].logs, undefined, 'lists carry no logs');
  });

  test('per_page and page', T, async () => {
    const p1 = await c.get('/orders?per_page=2');
    assert.deepEqual(p1.json.data.map((o) => o.id), [refs.c, refs.b]);
    assert.equal(p1.json.meta.last_page, 2);
    assert.match(p1.json.links.next, /page=2$/);
    const p2 = await c.get('/orders?per_page=2&page=2');
    assert.deepEqual(p2.json.data.map((o) => o.id), [refs.a]);
    assert.equal(p2.json.meta.from, 3);
    const bad = await c.get('/orders?per_page=101');
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(bad.json.errors, { per_page: ['The per page field must not be greater than 100.'] });
  });

  test('external_id partial match, totals, blocked, dates', T, async () => {
    const ids = async (q) => {
      const r = await c.get(`/orders?${q}`);
      assert.equal(r.status, 200, `${q}: ${r.text}`);
      return r.json.data.map((o) => o.id);
    };
    assert.deepEqual(await ids('external_id=ALPHA'), [refs.a]);
    assert.deepEqual(await ids('external_id=alpha&include_test=1'), [refs.t, refs.a]);
    assert.deepEqual(await ids('total_min=50&total_max=200'), [refs.c, refs.b]);
    assert.deepEqual(await ids('total_max=49.99'), [refs.a]);
    assert.deepEqual(await ids('blocked=true'), []);
    assert.deepEqual(await ids('blocked=false'), [refs.c, refs.b, refs.a]);
    assert.deepEqual(await ids('date_from=2000-01-01T00:00:00'), [refs.c, refs.b, refs.a]);
    assert.deepEqual(await ids('date_to=2000-01-01'), []);
    const today = new Date().toISOString().slice(0, 10);
    assert.deepEqual(await ids(`date_from=${today}&date_to=${today}`), [refs.c, refs.b, refs.a]);
    const bad = await c.get('/orders?date_from=yesterday&total_min=abc&blocked=maybe&statuses=shipped');
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(Object.keys(bad.json.errors).sort(), ['blocked', 'date_from', 'statuses', 'total_min']);
  });

  test('statuses follow /v1 status changes; supplier_ids', T, async () => {
    const one = (await c.get(`/orders/${refs.b}`)).json;
    const supplierId = one.order_lines[0].matched_supplier.id;
    const [vb] = await v1ByExternal(cv1, one.external_id);
    const cancel = await cv1.post(`/v1/orders/${vb.id}/cancel`, {});
    assert.equal(cancel.status, 200, cancel.text);
    const after = (await c.get(`/orders/${refs.b}`)).json;
    assert.equal(after.order_lines[0].current_status, 'declined');
    const ids = async (q) => (await c.get(`/orders?${q}`)).json.data.map((o) => o.id);
    assert.deepEqual(await ids('statuses=declined'), [refs.b]);
    assert.deepEqual(await ids('statuses=pending'), [refs.c, refs.a]);
    assert.deepEqual(await ids('statuses=pending,declined'), [refs.c, refs.b, refs.a]);
    assert.deepEqual(await ids('statuses=completed'), []);
    assert.deepEqual(await ids(`supplier_ids=${supplierId}`), [refs.b]);
    assert.deepEqual(await ids(`supplier_ids=${supplierId},999999`), [refs.b]);
  });

  test('GET /products lists the products named by this org\'s orders', T, async () => {
    const r = await c.get('/products');
    assert.equal(r.status, 200, r.text);
    assertJson(r);
    assert.equal(r.json.per_page, 100);
    assert.equal(r.json.current_page, 1);
    const byExt = Object.fromEntries(r.json.data.map((p) => [p.external_id, p]));
    assert.deepEqual(Object.keys(byExt).sort(), ['1', '2', 'p1', 'p2']);
    assert.equal(byExt.p2.name, 'P2');
    assert.equal(byExt.p2.purchase_price, 0.5);
    assert.equal(byExt.p2.active, 1);
    assert.equal(byExt['1'].sku, 'PZZA00001');
    assert.equal(r.json.total, 4);
    assert.equal(r.json.next_page_url, null);
    const other = await dd.get('/products');
    assert.ok(!other.json.data.some((p) => p.external_id === 'p1'), 'products are per org');
    assert.equal(s.id.startsWith('org_'), true);
  });
});

describe('--dialect-listen dropday', () => {
  test('serves the vendor paths without the /dropday prefix', T, async () => {
    const port = await freePort();
    const own = await startServer({ db: sb.db, cwd: sb.dir, extraArgs: ['--dialect-listen', `dropday=127.0.0.1:${port}`] });
    try {
      const c = api(`http://127.0.0.1:${port}/api/v1`, null, { headers: { 'api-key': org.keys.test.secret, 'account-id': org.id } });
      const ref = await create(c, seedOrder(), 'dialect listener');
      const r = await c.get(`/orders/${ref}`);
      assert.equal(r.status, 200, r.text);
      const nf = await c.get('/v1/orders');
      assert.equal(nf.status, 404);
      assert.equal(nf.json.message, 'Not Found');
    } finally {
      await own.stop();
    }
  });
});

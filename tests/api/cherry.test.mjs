// Cherry Checkout dialect (issue 3): wire-compatible create/update/app-me, signed requests,
// the timestamp replay rule, bilingual errors, price-scale warnings, /v1 read-back.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { Sandbox, api, uniq, freePort, rawRequest } from './lib/harness.mjs';

const T = { timeout: 60_000 };

// ---- a Cherry client as the vendor's PrestaShop module builds its requests ----

export function cherryToken(pk, sk, ts) {
  const hex = crypto.createHmac('sha256', sk).update(pk + String(ts)).digest('hex');
  return Buffer.from(hex, 'utf8').toString('base64');
}

const nowTs = () => Math.floor(Date.now() / 1000);

function cherry(base, pk, sk) {
  async function request(method, path, body, opts = {}) {
    const ts = opts.ts ?? nowTs();
    const headers = {
      'Content-type': 'application/json',
      authorization: `${pk}:${opts.token ?? cherryToken(pk, sk, ts)}`,
      timestamp: String(ts),
      ...(opts.lang ? { 'Accept-Language': opts.lang } : {}),
      ...(opts.headers || {}),
    };
    for (const [k, v] of Object.entries(headers)) if (v === null) delete headers[k];
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text, ts };
  }
  return {
    request,
    create: (body, opts) => request('POST', '/cherry/v2/orders', body, opts),
    update: (trackId, body, opts) => request('PUT', `/cherry/v2/orders/${encodeURIComponent(trackId)}`, body, opts),
    me: (opts) => request('GET', '/cherry/v2/app/me', undefined, opts),
    putMe: (body, opts) => request('PUT', '/cherry/v2/app/me', body, opts),
  };
}

// Seed 001's example request, with its e-mail.
function seedOrder(extra = {}) {
  return {
    trackId: 'ODR-5736',
    orderPrice: 85.90,
    cherryPrice: 2,
    currency: 'eur',
    status: 'validated',
    customer: {
      firstname: 'Michael',
      lastname: 'Jackson',
      email: 'kingofpop@mjcompany.com',
      phoneNumber: '+33670230852',
      birthday: '1958-08-29',
      gender: 'm',
      address: '55 rue de la république',
      zipCode: '75000',
      city: 'Paris',
      country: 'France',
    },
    ...extra,
  };
}

function order(extra = {}) {
  return { ...seedOrder(), trackId: uniq('ODR'), ...extra };
}

function withCustomer(patch) {
  const o = order();
  o.customer = { ...o.customer, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete o.customer[k];
  return o;
}

// Seed 000 (English) and seed 001 (French) wording.
const MSG = {
  3001: ['trackId already exists', 'You already have made an order with this track ID.', 'Vous avez déjà crée une commande avec ce Track ID.'],
  3004: ['no charity available', 'This exception appear when no charity is linked to your e-commerce website. In this case, contact us.', "Vous n'êtes lié à aucune œuvre caritative. Si cette erreur se produit, contactez-nous."],
  3006: ['customer not set', 'You haven’t defined the customer field.', "Vous n'avez pas définis le champs Customer."],
  3010: ['customer email is missing', 'You didn’t give the customer e-mail address.', "Vous n'avez pas renseigné l'adresse e-mail du client"],
  3030: ['unknown error', 'There is an unknown error when creating your order. Please contact-us.', "Il s'est produit une erreur inconnue lors de la création de la commande. Si cette erreur se produit, contactez-nous."],
  3031: ['orderPrice required', 'The order amount hasn’t been send or is not correct.', "Le montant total de la commande n'a pas été saisi, ou est invalide."],
  3032: ['wrong currency', 'The currency is not correct.', 'La devise que vous avez fourni est incorrecte.'],
  3033: ['wrong status', 'The order statut is not correct.', "Le statut de la commande n'est pas correct."],
  3040: ['unknown error', 'There is an unknown error when creating your order. Please contact-us.', "Il s'est produit une erreur inconnue lors de la création du client. Si cette erreur se produit, contactez-nous."],
  3041: ['invalid customer email', 'The customer e-mail is wrong.', "L'e-mail du client que vous avez fourni n'est pas valide."],
  3042: ['missing customer firstname', 'You didn’t send the customer first name.', "Vous n'avez pas fourni le prénom du client."],
  3043: ['missing customer lastname', 'You didn’t send the customer name.', "Vous n'avez pas fourni le nom du client."],
};

function assertCherryError(res, status, code, lang = 'en', ctx = '') {
  const where = `${ctx} → ${res.status} ${res.text?.slice(0, 400)}`;
  assert.equal(res.status, status, `status ${where}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/i, `content-type ${where}`);
  assert.equal(res.json?.code, code, `code ${where}`);
  assert.equal(typeof res.json.error, 'string', `error label ${where}`);
  assert.equal(typeof res.json.message, 'string', `message ${where}`);
  if (MSG[code]) {
    assert.equal(res.json.error, MSG[code][0], `label ${where}`);
    assert.equal(res.json.message, lang === 'fr' ? MSG[code][2] : MSG[code][1], `message (${lang}) ${where}`);
  }
}

let sb, srv, org, c, v1;

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Cherry Org');
  sb.setOrg(org.id, 'cherry.charity=Les Restos du Coeur');
  srv = await sb.start();
  c = cherry(srv.base, org.keys.test.publishable, org.keys.test.secret);
  v1 = api(srv.base, org.keys.test.secret);
});

after(async () => {
  try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
});

/** A fresh org with a charity (so replay tests do not disturb each other's keys). */
function freshOrg(name, ...settings) {
  const o = sb.createOrg(name);
  sb.setOrg(o.id, 'cherry.charity=Charity', ...settings);
  return o;
}

describe('authentication token', () => {
  test('the docs test vector (the client helper computes what the server checks)', T, () => {
    assert.equal(cherryToken('pk_test_abc', 'sk_test_456', 1500000000),
      'MzZhZTI4NTYxNDE0MWFjOGNjOWVhYWUyZjk4NmU2NTU0MjFjYzhlNmMwODgxZDljY2Q1ZWIxMzQ2YzVjYmI1Ng==');
  });

  test('missing, malformed and wrong credentials → 401 in both languages', T, async () => {
    const { publishable: pk, secret: sk } = org.keys.test;
    const ts = nowTs();
    const cases = [
      [{ authorization: null }, 1001],
      [{ timestamp: null }, 1001],
      [{ authorization: `${pk}${cherryToken(pk, sk, ts)}` }, 1001],
      [{ timestamp: 'yesterday' }, 1001],
      [{ authorization: `${pk}:${cherryToken(pk, sk, ts + 1)}` }, 1002],
      [{ authorization: `${pk}:${Buffer.from('0'.repeat(64)).toString('base64')}` }, 1002],
      [{ authorization: `pk_test_${'x'.repeat(32)}:${cherryToken(`pk_test_${'x'.repeat(32)}`, sk, ts)}` }, 1002],
      // a secret key in the public key's place is refused
      [{ authorization: `${sk}:${cherryToken(sk, sk, ts)}` }, 1002],
      // raw-bytes Base64 (not what the clients send) is refused
      [{ authorization: `${pk}:${crypto.createHmac('sha256', sk).update(pk + ts).digest('base64')}` }, 1002],
    ];
    for (const [headers, code] of cases) {
      for (const lang of ['en', 'fr']) {
        const r = await c.create(order(), { ts, headers, lang: lang === 'fr' ? 'fr-CH,fr;q=0.9,en;q=0.5' : 'en-US' });
        assertCherryError(r, 401, code, lang, JSON.stringify(headers));
        if (lang === 'fr') assert.match(r.json.message, /[éèà]|clé|en-têtes/, 'French message');
      }
    }
  });

  test('test keys → mode "test", live keys → mode "prod"', T, async () => {
    const live = cherry(srv.base, org.keys.live.publishable, org.keys.live.secret);
    const t = await c.create(order());
    const l = await live.create(order());
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.mode, 'test');
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.mode, 'prod');
    const me = await live.me();
    assert.equal(me.json.mode, 'prod');
    // the live order is not visible with the test secret key
    const list = await v1.get(`/v1/orders?external_id=${l.json.trackId}`);
    assert.equal(list.json.data.length, 0);
    const listLive = await api(srv.base, org.keys.live.secret).get(`/v1/orders?external_id=${l.json.trackId}`);
    assert.equal(listLive.json.data.length, 1);
    assert.equal(listLive.json.data[0].mode, 'live');
  });
});

describe('create an order (POST /v2/orders)', () => {
  test("seed 001's example request and answer, field by field", T, async () => {
    // the seed's text as is (85.90 with its trailing zero, pretty-printed)
    const text = JSON.stringify(seedOrder(), null, 2).replace('"orderPrice": 85.9,', '"orderPrice": 85.90,');
    assert.match(text, /"orderPrice": 85\.90,/);
    const r = await c.create(text);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      trackId: 'ODR-5736', orderPrice: 85.90, cherryPrice: 2, currency: 'eur', status: 'validated', mode: 'test',
    });
    assert.match(r.text, /"orderPrice":85\.9[,}]/, 'orderPrice rendered as 85.9, not 85.900000000000006');
  });

  test('the order reads back through /v1 with dialect "cherry"', T, async () => {
    const list = await v1.get('/v1/orders?external_id=ODR-5736&dialect=cherry');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.data.length, 1);
    const o = list.json.data[0];
    assert.equal(o.dialect, 'cherry');
    assert.equal(o.external_id, 'ODR-5736');
    assert.equal(o.total_amount, 8590);
    assert.equal(o.currency, 'EUR');
    assert.equal(o.status, 'confirmed');
    assert.equal(o.customer.first_name, 'Michael');
    assert.equal(o.customer.last_name, 'Jackson');
    assert.equal(o.customer.email, 'kingofpop@mjcompany.com');
    assert.equal(o.customer.phone, '+33670230852');
    assert.equal(o.customer.birthday, '1958-08-29');
    assert.equal(o.cherry.cherryPrice, 2);
    assert.equal(o.cherry.customer.city, 'Paris');
    assert.equal(o.cherry.customer.country, 'France');
    const one = await v1.get(`/v1/orders/${o.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.id, o.id);
    const ev = await v1.get(`/v1/events?order_id=${o.id}`);
    assert.deepEqual(ev.json.data.map((e) => e.type), ['order.created']);
  });

  test('currency in any case, answered lower-case; status defaults to validated; no status field', T, async () => {
    const body = order({ currency: 'CHF' });
    delete body.status;
    const r = await c.create(body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.currency, 'chf');
    assert.equal(r.json.status, 'validated');
  });

  test('binary floating-point amounts are whole cents (31.009999999999998 → 31.01)', T, async () => {
    const r = await c.create(order({ orderPrice: 31.009999999999998, currency: 'EUR' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.orderPrice, 31.01);
    const list = await v1.get(`/v1/orders?external_id=${r.json.trackId}`);
    assert.equal(list.json.data[0].total_amount, 3101);
  });

  test('the module\'s own body (upper-case currency, no status, gender/birthday only) is accepted', T, async () => {
    const r = await c.create({
      trackId: uniq('XKBKNABJK'), cherryPrice: 1, orderPrice: 47.5, currency: 'EUR',
      customer: { firstname: 'Jane', lastname: 'Doe', email: 'jane@example.com', gender: 'f', birthday: '1980-01-31' },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['cherryPrice', 'currency', 'mode', 'orderPrice', 'status', 'trackId']);
  });

  test('created canceled', T, async () => {
    const r = await c.create(order({ status: 'canceled' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'canceled');
    const list = await v1.get(`/v1/orders?external_id=${r.json.trackId}`);
    assert.equal(list.json.data[0].status, 'canceled');
  });
});

describe('create errors, each code in English and in French', () => {
  const noCustomer = () => { const o = order(); delete o.customer; return o; };
  const noTrack = () => { const o = order(); delete o.trackId; return o; };
  const noPrice = () => { const o = order(); delete o.orderPrice; return o; };
  const cases = [
    ['3006 customer missing', noCustomer, 3006],
    ['3006 customer not an object', () => order({ customer: 'Michael' }), 3006],
    ['3010 e-mail empty (seed 000 example)', () => withCustomer({ email: '' }), 3010],
    ['3010 e-mail missing', () => withCustomer({ email: undefined }), 3010],
    ['3030 trackId missing', noTrack, 3030],
    ['3030 trackId not a string', () => order({ trackId: 5736 }), 3030],
    ['3030 cherryPrice not an integer', () => order({ cherryPrice: 2.5 }), 3030],
    ['3030 cherryPrice negative', () => order({ cherryPrice: -1 }), 3030],
    ['3030 malformed JSON', () => '{"trackId": "x",', 3030],
    ['3030 body not an object', () => '[1,2]', 3030],
    ['3031 orderPrice missing', noPrice, 3031],
    ['3031 orderPrice a string', () => order({ orderPrice: '85.90' }), 3031],
    ['3031 orderPrice not whole cents (85.905)', () => order({ orderPrice: 85.905 }), 3031],
    ['3031 orderPrice negative', () => order({ orderPrice: -1 }), 3031],
    ['3032 currency usd', () => order({ currency: 'usd' }), 3032],
    ['3032 currency missing', () => { const o = order(); delete o.currency; return o; }, 3032],
    ['3033 status pending', () => order({ status: 'pending' }), 3033],
    ['3033 status not a string', () => order({ status: 1 }), 3033],
    ['3040 gender x', () => withCustomer({ gender: 'x' }), 3040],
    ['3040 birthday not a date', () => withCustomer({ birthday: '1958-13-45' }), 3040],
    ['3040 birthday in the future', () => withCustomer({ birthday: '2999-01-01' }), 3040],
    ['3040 phone not a number', () => withCustomer({ phoneNumber: 'call me' }), 3040],
    ['3041 invalid e-mail', () => withCustomer({ email: 'kingofpop-at-mjcompany' }), 3041],
    ['3041 e-mail not a string', () => withCustomer({ email: 42 }), 3041],
    ['3042 firstname missing', () => withCustomer({ firstname: undefined }), 3042],
    ['3042 firstname empty', () => withCustomer({ firstname: '' }), 3042],
    ['3043 lastname missing', () => withCustomer({ lastname: undefined }), 3043],
  ];
  for (const [name, make, code] of cases) {
    test(name, T, async () => {
      for (const lang of ['en', 'fr']) {
        const body = make();
        const r = await c.create(body, { lang: lang === 'fr' ? 'fr' : 'en-GB,en;q=0.9,fr;q=0.8' });
        assertCherryError(r, 400, code, lang, name);
        if (typeof body === 'object' && body.trackId) {
          const list = await v1.get(`/v1/orders?external_id=${encodeURIComponent(body.trackId)}`);
          assert.equal(list.json.data.length, 0, 'nothing stored');
        }
      }
    });
  }

  test('3001 trackId already exists (per org and mode)', T, async () => {
    const body = order();
    assert.equal((await c.create(body)).status, 200);
    for (const lang of ['en', 'fr']) {
      const r = await c.create({ ...body, orderPrice: 10 }, { lang });
      assertCherryError(r, 400, 3001, lang);
    }
    // the same trackId in live mode, or for another org, is another order
    const live = cherry(srv.base, org.keys.live.publishable, org.keys.live.secret);
    assert.equal((await live.create(body)).status, 200);
  });

  test('3004 no charity (cherry.charity unset)', T, async () => {
    const o = sb.createOrg('No Charity');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    for (const lang of ['en', 'fr']) assertCherryError(await cc.create(order(), { lang }), 400, 3004, lang);
  });

  test('several rules fail: the first in the seed table order wins', T, async () => {
    const dup = order();
    assert.equal((await c.create(dup)).status, 200);
    const combos = [
      [{ ...dup, currency: 'usd', customer: undefined }, 3001],
      [{ ...order(), customer: undefined, currency: 'usd', status: 'x' }, 3006],
      [{ ...withCustomer({ email: '' }), orderPrice: 'x', currency: 'usd' }, 3010],
      [{ ...order(), trackId: 1, orderPrice: 'x' }, 3030],
      [{ ...order(), orderPrice: 'x', currency: 'usd', status: 'x' }, 3031],
      [{ ...order(), currency: 'usd', status: 'x' }, 3032],
      [{ ...withCustomer({ gender: 'x', email: 'bad' }), status: 'x' }, 3033],
      [withCustomer({ gender: 'x', email: 'bad', firstname: '' }), 3040],
      [withCustomer({ email: 'bad', firstname: '', lastname: '' }), 3041],
      [withCustomer({ firstname: '', lastname: '' }), 3042],
    ];
    for (const [body, code] of combos) {
      const r = await c.create(JSON.parse(JSON.stringify(body)));
      assertCherryError(r, 400, code, 'en', JSON.stringify(body).slice(0, 120));
    }
    const o = sb.createOrg('No Charity 2');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    assertCherryError(await cc.create({ ...order(), customer: undefined }), 400, 3004);
  });

  test('bad input in the Cherry format: huge body 413, deep JSON, wrong Content-Type 415, unknown route 404', T, async () => {
    const big = JSON.stringify(order({ pad: 'x'.repeat(1_100_000) }));
    const r413 = await c.create(big);
    assert.equal(r413.status, 413);
    assert.equal(r413.json?.code, 413);
    assert.equal(typeof r413.json.message, 'string');
    const deep = '{"trackId":"D","x":' + '['.repeat(100) + ']'.repeat(100) + '}';
    const rd = await c.create(deep);
    assertCherryError(rd, 400, 3030);
    assert.match(rd.json.detail, /deeper/);
    const r415 = await c.create(JSON.stringify(order()), { headers: { 'Content-type': 'text/plain' } });
    assert.equal(r415.status, 415, r415.text);
    assert.equal(r415.json?.code, 415);
    const r404 = await c.request('GET', '/cherry/v2/nothing', undefined, { lang: 'fr' });
    assert.equal(r404.status, 404);
    assert.equal(r404.json?.code, 404);
    assert.equal(r404.json.message, "Cette route n'existe pas.");
    const r405 = await c.request('DELETE', '/cherry/v2/orders');
    assert.equal(r405.status, 405);
    assert.equal(r405.json?.code, 405);
    const r415fr = await c.create(JSON.stringify(order()), { headers: { 'Content-type': 'application/x-www-form-urlencoded' }, lang: 'fr' });
    assert.equal(r415fr.status, 415);
    assert.equal(r415fr.json.message, 'Envoyez le corps en Content-Type: application/json.');
    // headers over the limit: 431, still in the Cherry format
    const r431 = await rawRequest(srv.port,
      `POST /cherry/v2/orders HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(11 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`);
    assert.equal(r431.status, 431, r431.body);
    assert.equal(r431.json?.code, 431, r431.body);
    assert.equal(typeof r431.json.message, 'string');
    const empty = await c.create('');
    assertCherryError(empty, 400, 3030);
    const health = await fetch(`${srv.base}/healthz`);
    assert.equal(health.status, 200);
  });
});

describe('timestamp replay rule', () => {
  test('two orders in the same second with the same timestamp: both accepted; exact replay refused', T, async () => {
    const o = freshOrg('Replay');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    const ts = nowTs();
    const a = order(), b = order();
    assert.equal((await cc.create(a, { ts })).status, 200);
    assert.equal((await cc.create(b, { ts })).status, 200);
    for (const lang of ['en', 'fr']) assertCherryError(await cc.create(a, { ts, lang }), 401, 1004, lang);
    // same timestamp, another path or method is not a replay
    const me = await cc.putMe({ cms: 'prestashop' }, { ts });
    assert.equal(me.status, 200, me.text);
    assertCherryError(await cc.putMe({ cms: 'prestashop' }, { ts }), 401, 1004);
  });

  test('an older timestamp (more than 2 s behind the newest accepted) is refused; within 2 s accepted', T, async () => {
    const o = freshOrg('Older');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    const ts = nowTs();
    assert.equal((await cc.create(order(), { ts })).status, 200);
    for (const lang of ['en', 'fr']) assertCherryError(await cc.create(order(), { ts: ts - 3, lang }), 401, 1003, lang);
    // out-of-order workers: 1 and 2 s behind are fine
    assert.equal((await cc.create(order(), { ts: ts - 2 })).status, 200);
    assert.equal((await cc.create(order(), { ts: ts - 1 })).status, 200);
    // a refused request wrote nothing
    const body = order();
    assertCherryError(await cc.create(body, { ts: ts - 10 }), 401, 1003);
    const list = await api(srv.base, o.keys.test.secret).get(`/v1/orders?external_id=${body.trackId}`);
    assert.equal(list.json.data.length, 0);
    // a failed request (400) does not consume its timestamp
    assertCherryError(await cc.create({ ...body, currency: 'usd' }, { ts: ts + 1 }), 400, 3032);
    assert.equal((await cc.create(body, { ts: ts + 1 })).status, 200);
  });

  test('timestamps more than 5 minutes in the future are refused', T, async () => {
    const o = freshOrg('Future');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    for (const lang of ['en', 'fr']) assertCherryError(await cc.create(order(), { ts: nowTs() + 400, lang }), 401, 1005, lang);
    assert.equal((await cc.create(order(), { ts: nowTs() + 200 })).status, 200);
    // milliseconds instead of seconds are far in the future
    assertCherryError(await cc.create(order(), { ts: Date.now() }), 401, 1005);
  });

  test('32 concurrent creates, one trackId, one timestamp, different bodies → one order, 31 × 3001', T, async () => {
    const o = freshOrg('Race');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    const trackId = uniq('RACE');
    const ts = nowTs();
    const results = await Promise.all(Array.from({ length: 32 }, (_, i) =>
      cc.create(order({ trackId, orderPrice: 10 + i / 100 }), { ts })));
    const ok = results.filter((r) => r.status === 200);
    const dup = results.filter((r) => r.status === 400 && r.json?.code === 3001);
    assert.equal(ok.length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
    assert.equal(dup.length, 31);
    const list = await api(srv.base, o.keys.test.secret).get(`/v1/orders?external_id=${trackId}`);
    assert.equal(list.json.data.length, 1);
    assert.equal(list.json.data[0].total_amount, Math.round(ok[0].json.orderPrice * 100));
  });

  test('32 concurrent exact replays of one request → exactly one accepted', T, async () => {
    const o = freshOrg('Replay race');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    const body = order();
    const ts = nowTs();
    const results = await Promise.all(Array.from({ length: 32 }, () => cc.create(body, { ts })));
    assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.text).join('\n'));
    // the others: refused as replays (or as 3001 when they ran before the first was committed)
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.ok((r.status === 401 && r.json.code === 1004) || (r.status === 400 && r.json.code === 3001), r.text);
    }
  });
});

describe('two processes on one database', () => {
  test('32 concurrent exact replays of one request over two processes → exactly one accepted', T, async () => {
    const o = freshOrg('Replay race, two processes');
    const srv2 = await sb.start();
    try {
      const ccs = [srv, srv2].map((s) => cherry(s.base, o.keys.test.publishable, o.keys.test.secret));
      const body = order();
      const ts = nowTs();
      const results = await Promise.all(Array.from({ length: 32 }, (_, i) => ccs[i % 2].create(body, { ts })));
      assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.text).join('\n'));
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.ok((r.status === 401 && r.json.code === 1004) || (r.status === 400 && r.json.code === 3001), r.text);
      }
      const list = await api(srv2.base, o.keys.test.secret).get(`/v1/orders?external_id=${body.trackId}`);
      assert.equal(list.json.data.length, 1);
      // an older timestamp than the window allows, through the other process
      assertCherryError(await ccs[1].create(order(), { ts: ts - 10 }), 401, 1003);
    } finally {
      await srv2.stop();
    }
  });
});

describe('update and cancel (PUT /v2/orders/{trackId})', () => {
  test('round trip: change amounts, cancel, re-validate; /v1 and events follow', T, async () => {
    const body = order();
    const created = await c.create(body);
    assert.equal(created.status, 200, created.text);
    let r = await c.update(body.trackId, { orderPrice: 95.90, cherryPrice: 3 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { trackId: body.trackId, orderPrice: 95.9, cherryPrice: 3, currency: 'eur', status: 'validated', mode: 'test' });
    r = await c.update(body.trackId, { status: 'canceled' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'canceled');
    assert.equal(r.json.orderPrice, 95.9);
    let o = (await v1.get(`/v1/orders?external_id=${body.trackId}`)).json.data[0];
    assert.equal(o.status, 'canceled');
    assert.equal(o.total_amount, 9590);
    assert.equal(o.line_items[0].unit_price, 9590);
    assert.ok(o.canceled_at);
    r = await c.update(body.trackId, { status: 'validated' }, { lang: 'fr' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'validated');
    o = (await v1.get(`/v1/orders?external_id=${body.trackId}`)).json.data[0];
    assert.equal(o.status, 'confirmed');
    assert.equal(o.canceled_at, null);
    assert.equal(o.version, 4);
    const ev = await v1.get(`/v1/events?order_id=${o.id}&limit=10`);
    assert.deepEqual(ev.json.data.map((e) => e.type).sort(), ['order.canceled', 'order.created', 'order.updated', 'order.updated']);
    // the doc example body in one call
    r = await c.update(body.trackId, { orderPrice: 95.90, cherryPrice: 2, status: 'canceled' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.orderPrice, r.json.cherryPrice, r.json.status], [95.9, 2, 'canceled']);
    // nothing to change: answered as is, version unchanged
    const before = (await v1.get(`/v1/orders?external_id=${body.trackId}`)).json.data[0].version;
    // (another body than the earlier cancel: the same body in the same second is a replay)
    r = await c.update(body.trackId, { status: 'canceled', orderPrice: 95.9 });
    assert.equal(r.status, 200, r.text);
    assert.equal((await v1.get(`/v1/orders?external_id=${body.trackId}`)).json.data[0].version, before);
  });

  test('update errors: 3101, 3130, 3131, 3133 in both languages', T, async () => {
    const body = order();
    assert.equal((await c.create(body)).status, 200);
    const EXPECT = {
      3101: ['order not found', 'There is no order with this track ID.', 'Aucune commande ne correspond à ce Track ID.'],
      3130: ['unknown error', null, null],
      3131: ['orderPrice required', MSG[3031][1], MSG[3031][2]],
      3133: ['wrong status', MSG[3033][1], MSG[3033][2]],
    };
    const cases = [
      [uniq('NOPE'), { status: 'canceled' }, 3101],
      [body.trackId, '{"status":', 3130],
      [body.trackId, { cherryPrice: 'two' }, 3130],
      [body.trackId, { orderPrice: 'abc' }, 3131],
      [body.trackId, { orderPrice: 1.234 }, 3131],
      [body.trackId, { orderPrice: null }, 3131],
      [body.trackId, { status: 'shipped' }, 3133],
      [body.trackId, { orderPrice: 'x', status: 'x' }, 3131],
    ];
    for (const [id, b, code] of cases) {
      for (const lang of ['en', 'fr']) {
        const r = await c.update(id, b, { lang });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.code, code, r.text);
        assert.equal(r.json.error, EXPECT[code][0]);
        if (EXPECT[code][1]) assert.equal(r.json.message, lang === 'fr' ? EXPECT[code][2] : EXPECT[code][1]);
      }
    }
    // nothing changed
    const o = (await v1.get(`/v1/orders?external_id=${body.trackId}`)).json.data[0];
    assert.equal(o.version, 1);
    // an order of another dialect with that external id is not a Cherry order
    const other = await v1.post('/v1/orders', { external_id: 'V1-ONLY', currency: 'EUR', line_items: [{ name: 'x', quantity: 1, unit_price: 1 }] });
    assert.equal(other.status, 201, other.text);
    assertCherryError(await c.update('V1-ONLY', { status: 'canceled' }), 400, 3101);
  });

  test('a fulfilled order cannot be canceled through Cherry (3133)', T, async () => {
    const body = order();
    assert.equal((await c.create(body)).status, 200);
    const id = (await v1.get(`/v1/orders?external_id=${body.trackId}`)).json.data[0].id;
    assert.equal((await v1.patch(`/v1/orders/${id}`, { status: 'fulfilled' })).status, 200);
    const r = await c.update(body.trackId, { status: 'canceled' });
    assertCherryError(r, 400, 3133);
  });
});

describe('price scale and warnings', () => {
  test('cherryPrice below the scale minimum, or above it without extra: saved with a warning', T, async () => {
    const o = freshOrg('Scale',
      'cherry.price_scale=[{"from":0,"to":50,"amount":1},{"from":50,"to":100,"amount":3}]');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    let r = await cc.create(order({ orderPrice: 85.9, cherryPrice: 2 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.cherryPrice, 2);
    assert.equal(r.json.warning?.expectedCherryPrice, 3, r.text);
    assert.equal(typeof r.json.warning.message, 'string');
    r = await cc.create(order({ orderPrice: 85.9, cherryPrice: 5 }));
    assert.equal(r.json.warning, undefined, 'extra allowed by default');
    r = await cc.create(order({ orderPrice: 20, cherryPrice: 1 }));
    assert.equal(r.json.warning, undefined);
    // update recomputes
    const body = order({ orderPrice: 20, cherryPrice: 1 });
    assert.equal((await cc.create(body)).status, 200);
    r = await cc.update(body.trackId, { orderPrice: 60 });
    assert.equal(r.json.warning?.expectedCherryPrice, 3, r.text);
    r = await cc.update(body.trackId, { cherryPrice: 3 });
    assert.equal(r.json.warning, undefined, r.text);
    sb.setOrg(o.id, 'cherry.allow_extra=false');
    r = await cc.create(order({ orderPrice: 85.9, cherryPrice: 5 }), { lang: 'fr' });
    assert.equal(r.status, 200);
    assert.equal(r.json.warning?.expectedCherryPrice, 3);
    assert.equal(r.json.warning.allowCharityExtraPart, false);
    assert.match(r.json.warning.message, /participation/);
  });

  test('settings are validated', T, () => {
    const o = sb.createOrg('Bad settings');
    for (const kv of ['cherry.price_scale=[{"from":0,"to":-1,"amount":1}]', 'cherry.price_scale=nope',
      'cherry.price_scale=[{"from":0,"to":10,"amount":1.5}]', 'cherry.allow_extra=maybe',
      'cherry.charity_percentage=101', 'cherry.game_percentage=abc', 'cherry.plugin.xx=<p>hi</p>']) {
      const r = sb.cli(['org', 'set', o.id, kv]);
      assert.notEqual(r.code, 0, `${kv} should be refused`);
      assert.match(r.stderr, /cherry|percentage|setting|must/i, r.stderr);
    }
  });
});

describe('merchant account (GET and PUT /v2/app/me)', () => {
  test('defaults, then values from the org settings', T, async () => {
    const o = sb.createOrg('Me');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    let r = await cc.me();
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.mode, 'test');
    assert.equal(r.json.contract.charityOrderPercentage, 100);
    assert.equal(r.json.contract.gameOrderPercentage, 0);
    assert.ok(Array.isArray(r.json.contract.priceScale) && r.json.contract.priceScale.length >= 1);
    assert.equal(r.json.allowCharityExtraPart, true);
    assert.match(r.json.plugin.en, /\{cherryPrice\}/);
    assert.match(r.json.plugin.fr, /\{cherryPrice\}/);
    sb.setOrg(o.id, 'cherry.charity=Charity', 'cherry.charity_percentage=60', 'cherry.game_percentage=40',
      'cherry.allow_extra=false', 'cherry.price_scale=[{"from":0,"to":30,"amount":1},{"from":30,"to":1000,"amount":2}]',
      'cherry.plugin.de=<p>Spenden Sie {cherryPrice}</p>');
    r = await cc.me();
    assert.equal(r.json.contract.charityOrderPercentage, 60);
    assert.equal(r.json.contract.gameOrderPercentage, 40);
    assert.deepEqual(r.json.contract.priceScale, [{ from: 0, to: 30, amount: 1 }, { from: 30, to: 1000, amount: 2 }]);
    assert.equal(r.json.allowCharityExtraPart, false);
    assert.equal(r.json.plugin.de, '<p>Spenden Sie {cherryPrice}</p>');
  });

  test('PUT stores the plugin information; GET returns it; bad values refused', T, async () => {
    const o = sb.createOrg('Me put');
    const cc = cherry(srv.base, o.keys.test.publishable, o.keys.test.secret);
    const info = {
      cms: 'prestashop', cmsVersion: '1.7.8.5', pluginInstalledVersion: '2.0.0',
      moduleApiEndpoint: 'https://shop.example.com/modules/cherrycheckout/webservice.php', pluginInstalled: true,
    };
    let r = await cc.putMe(info);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.cms, 'prestashop');
    r = await cc.putMe({ pluginInstalledMode: 'test' });
    assert.equal(r.status, 200, r.text);
    r = await cc.me();
    for (const [k, v] of Object.entries(info)) assert.equal(r.json[k], v, k);
    assert.equal(r.json.pluginInstalledMode, 'test');
    for (const lang of ['en', 'fr']) {
      r = await cc.putMe({ moduleApiEndpoint: 'not a url' }, { lang });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.code, 3201);
    }
    assert.equal((await cc.putMe('{"cms":')).json?.code, 3201);
  });
});

describe('dedicated listener and restarts', () => {
  test('--dialect-listen cherry serves the vendor paths; the replay rule holds after a restart and across processes', T, async () => {
    const sb2 = new Sandbox();
    try {
      const o = sb2.createOrg('Listener');
      sb2.setOrg(o.id, 'cherry.charity=Charity');
      const port = await freePort();
      let s = await sb2.start({ extraArgs: ['--dialect-listen', `cherry=127.0.0.1:${port}`] });
      const base = `http://127.0.0.1:${port}`;
      const cc = cherry(base, o.keys.test.publishable, o.keys.test.secret);
      const vendor = {
        create: (b, opts) => cc.request('POST', '/v2/orders', b, opts),
        update: (id, b, opts) => cc.request('PUT', `/v2/orders/${id}`, b, opts),
      };
      const ts = nowTs();
      const body = order();
      const r = await vendor.create(body, { ts });
      assert.equal(r.status, 200, r.text);
      assert.equal((await vendor.update(body.trackId, { status: 'canceled' }, { ts })).status, 200);
      const nf = await cc.request('GET', '/v1/orders', undefined, {});
      assert.equal(nf.status, 404);
      assert.equal(nf.json?.code, 404);
      // the same request through the /cherry mount is the same request: a replay
      const main = cherry(s.base, o.keys.test.publishable, o.keys.test.secret);
      assertCherryError(await main.create(body, { ts }), 401, 1004);
      await s.stop();
      s = await sb2.start({ extraArgs: ['--dialect-listen', `cherry=127.0.0.1:${port}`] });
      assertCherryError(await vendor.create(body, { ts }), 401, 1004);
      assertCherryError(await vendor.create(order(), { ts: ts - 5 }), 401, 1003);
      // a second process on the same database sees what the first accepted
      const s2 = await sb2.start();
      const other = cherry(s2.base, o.keys.test.publishable, o.keys.test.secret);
      const b2 = order();
      const ts2 = ts + 1;
      assert.equal((await vendor.create(b2, { ts: ts2 })).status, 200);
      assertCherryError(await other.create(b2, { ts: ts2 }), 401, 1004);
      await s2.stop();
      await s.stop();
    } finally {
      await sb2.cleanup();
    }
  });
});

describe('server errors', () => {
  test('8000: the server cannot open the secret key (started with another master key) → 500 in both languages', T, async () => {
    const sb3 = new Sandbox();
    try {
      const o = sb3.createOrg('Other master');
      sb3.setOrg(o.id, 'cherry.charity=Charity');
      const s = await sb3.start({ env: { ORDERD_MASTER_KEY_FILE: path.join(sb3.dir, 'another.key') } });
      const cc = cherry(s.base, o.keys.test.publishable, o.keys.test.secret);
      for (const lang of ['en', 'fr']) {
        const r = await cc.create(order(), { lang });
        assert.equal(r.status, 500, r.text);
        assert.equal(r.json.code, 8000);
        assert.equal(r.json.error, 'server error');
        assert.equal(r.json.message, lang === 'fr' ? 'Une erreur s\'est produite sur nos serveurs.' : 'We have a server error.');
      }
      assert.match(s.stderr, /cannot open the secret key/);
      await s.stop();
    } finally {
      await sb3.cleanup();
    }
  });
});

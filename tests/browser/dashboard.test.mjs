// The merchant dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core; nothing is downloaded): sign-in (wrong key refused), orders made
// through /v1 and the Kohort dialect appear, filters and search, the order's timeline,
// the SVG charts (bar counts, labels; a screenshot is saved as a test artifact),
// sign-out ending the session server-side, the test/live switch with both keys, the CSP
// header and no CSP violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT, Sandbox, api, minimalOrder, uniq } from '../api/lib/harness.mjs';

const T = { timeout: 120_000 };
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR || path.join(REPO_ROOT, 'build', 'test-artifacts');
const WAIT = { timeout: 30_000 };

let sb, srv, org, ctx, page, profile, liveId;
const v1Ids = [];
const kohortIds = [];
const consoleLines = [];
const pageErrors = [];
const outside = [];

before(async () => {
  sb = new Sandbox();
  org = sb.createOrg('Browser Shop');
  srv = await sb.start();
  const v1 = api(srv.base, org.keys.test.secret);
  for (let i = 0; i < 3; i++) {
    const r = await v1.post('/v1/orders', minimalOrder({
      external_id: `WEB-${i}`, customer: { email: `shopper${i}@example.com` },
      line_items: [{ name: 'Lamp', quantity: 1 + i, unit_price: 1250 }],
    }));
    assert.equal(r.status, 201, r.text);
    v1Ids.push(r.json.id);
  }
  const c = await v1.post(`/v1/orders/${v1Ids[0]}/cancel`, { reason: 'customer asked' });
  assert.equal(c.status, 200, c.text);
  const kohort = api(`${srv.base}/kohort`, org.keys.test.secret);
  for (let i = 0; i < 2; i++) {
    const r = await kohort.post('/orders', {
      customerEmail: `kohort${i}@example.com`, customerFirstName: 'Kim', customerLastName: 'Lee',
      customerPhoneNumber: '+33612345678', amount: 4000 + i, locale: 'en_US', clientReferenceId: uniq('kref'),
    });
    assert.equal(r.status, 201, r.text);
    kohortIds.push(r.json.id);
  }

  const live = await api(srv.base, org.keys.live.secret).post('/v1/orders', minimalOrder({ external_id: 'LIVE-1', currency: 'USD' }));
  assert.equal(live.status, 201, live.text);
  liveId = live.json.id;

  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (make deps)`);
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'orderd-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  // only 127.0.0.1: anything else is recorded and refused
  await ctx.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1') return route.continue();
    outside.push(u.href);
    return route.abort();
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
});

after(async () => {
  try {
    await ctx?.close();
  } finally {
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    try { if (srv?.running) await srv.stop(); } finally { await sb?.cleanup(); }
  }
});

const rows = () => page.$$eval('table.orders tbody tr', (trs) => trs.map((tr) => ({
  id: tr.dataset.id, dialect: tr.querySelector('.tag')?.textContent, status: tr.querySelector('.status')?.textContent,
})));

test('without a session the sign-in page shows; a wrong or publishable key is refused with a clear error', T, async () => {
  const res = await page.goto(`${srv.base}/dashboard/`);
  assert.equal(res.status(), 200);
  const h = res.headers();
  assert.match(h['content-security-policy'], /^default-src 'self'; script-src 'self'; style-src 'self';/);
  assert.equal(h['x-frame-options'], 'DENY');
  await page.locator('#signin').waitFor({ state: 'visible', ...WAIT });
  assert.equal(await page.locator('#top').isVisible(), false);
  await page.fill('#key', 'sk_test_thisIsNotAKeyOfAnyOrg00000000000');
  await page.click('#signin-form button[type=submit]');
  await page.locator('#signin-error').waitFor({ state: 'visible', ...WAIT });
  assert.match(await page.textContent('#signin-error'), /Sign-in refused: .*not a valid API key/);
  await page.fill('#key', org.keys.test.publishable);
  await page.click('#signin-form button[type=submit]');
  await page.waitForFunction(() => /secret key/.test(document.getElementById('signin-error').textContent), null, WAIT);
  assert.equal((await ctx.cookies(srv.base)).length, 0, 'no cookie after a refused key');
});

test('sign in: orders created through /v1 and Kohort are listed; the token is an HttpOnly cookie only', T, async () => {
  await page.fill('#key', org.keys.test.secret);
  await page.click('#signin-form button[type=submit]');
  await page.locator('table.orders').waitFor(WAIT);
  const r = await rows();
  assert.equal(r.length, 5);
  assert.deepEqual(new Set(r.map((x) => x.dialect)), new Set(['v1', 'kohort']));
  assert.deepEqual(new Set(r.map((x) => x.id)), new Set([...v1Ids, ...r.filter((x) => x.dialect === 'kohort').map((x) => x.id)]));
  assert.equal(await page.textContent('#org-name'), 'Browser Shop');
  assert.equal(await page.textContent('#mode-badge'), 'test mode');
  assert.equal(await page.locator('#mode-switch').isVisible(), false, 'one key, one mode: no switch');
  const cookies = await ctx.cookies(srv.base + '/dashboard/');
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].name, 'orderd_dashboard');
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  assert.equal(cookies[0].path, '/dashboard');
  const storage = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length }));
  assert.deepEqual(storage, { cookie: '', local: 0, session: 0 }, 'nothing readable by script, nothing in storage');
  assert.equal(await page.inputValue('#key'), '', 'the key is not left in the form');
});

test('filters and search narrow the list on the server', T, async () => {
  await page.selectOption('#f-dialect', 'kohort');
  await page.click('#order-filters button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('table.orders tbody tr .tag')].every((t) => t.textContent === 'kohort') && document.querySelectorAll('table.orders tbody tr').length === 2, null, WAIT);
  assert.match(page.url(), /dialect=kohort/);

  await page.click('#order-filters button.secondary');
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 5, null, WAIT);
  await page.fill('#f-q', 'SHOPPER2@example.com');
  await page.click('#order-filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 1, null, WAIT);
  assert.deepEqual((await rows()).map((x) => x.id), [v1Ids[2]]);

  await page.fill('#f-q', 'WEB-1');
  await page.click('#order-filters button[type=submit]');
  await page.waitForFunction((id) => document.querySelectorAll('table.orders tbody tr').length === 1 && document.querySelector('table.orders tbody tr').dataset.id === id, v1Ids[1], WAIT);

  await page.fill('#f-q', '');
  await page.selectOption('#f-status', 'canceled');
  await page.click('#order-filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 1, null, WAIT);
  assert.deepEqual(await rows(), [{ id: v1Ids[0], dialect: 'v1', status: 'canceled' }]);

  await page.selectOption('#f-status', 'fulfilled');
  await page.click('#order-filters button[type=submit]');
  await page.locator('#orders-empty').waitFor(WAIT);
});

test('paging: Older and Newer walk the list with server-side cursors', T, async () => {
  await page.goto(`${srv.base}/dashboard/#/orders?limit=2&mode=test`);
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 2, null, WAIT);
  const seen = (await rows()).map((x) => x.id);
  assert.equal(await page.locator('#page-newer').count(), 0, 'no Newer on the first page');
  await page.click('#page-older');
  await page.waitForFunction((prev) => !document.querySelector(`tr[data-id="${prev}"]`) && document.querySelectorAll('table.orders tbody tr').length === 2, seen[0], WAIT);
  seen.push(...(await rows()).map((x) => x.id));
  await page.click('#page-older');
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 1, null, WAIT);
  seen.push(...(await rows()).map((x) => x.id));
  assert.equal(await page.locator('#page-older').count(), 0, 'no Older on the last page');
  assert.equal(new Set(seen).size, 5, 'five different orders over three pages');
  await page.click('#page-newer');
  await page.waitForFunction((id) => document.querySelectorAll('table.orders tbody tr').length === 2 && document.querySelector('table.orders tbody tr').dataset.id === id, seen[2], WAIT);
  await page.click('#page-newer');
  await page.waitForFunction((id) => document.querySelector('table.orders tbody tr')?.dataset.id === id, seen[0], WAIT);
  assert.equal(await page.locator('#page-newer').count(), 0, 'back on the first page: no Newer');
});

test('an order shows every field, the API that created it, its timeline and its raw JSON', T, async () => {
  await page.selectOption('#f-status', 'canceled');
  await page.click('#order-filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 1, null, WAIT);
  await page.click('table.orders tbody tr a');
  await page.locator('#timeline li').first().waitFor(WAIT);
  const types = await page.$$eval('#timeline li', (lis) => lis.map((li) => li.dataset.type));
  assert.deepEqual(types, ['order.created', 'order.canceled'], 'oldest first');
  assert.match(await page.textContent('#order-dialect'), /v1/);
  const raw = JSON.parse(await page.textContent('#raw-json'));
  assert.equal(raw.id, v1Ids[0]);
  assert.equal(raw.status, 'canceled');
  const fields = await page.$$eval('table.fields tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  for (const f of ['id', 'status', 'currency', 'line_items[0].name', 'customer.email', 'external_id']) assert.ok(fields.includes(f), `field ${f} shown`);

  await page.goto(`${srv.base}/dashboard/#/orders?dialect=kohort&mode=test`);
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 2, null, WAIT);
  await page.click('table.orders tbody tr a');
  await page.locator('#timeline li').first().waitFor(WAIT);
  assert.match(await page.textContent('#order-dialect'), /kohort dialect/);
});

test('charts: SVG bars per hour (24) and per day (7), by API, with labels; a screenshot is saved', T, async () => {
  await page.click('nav a[data-page=charts]');
  await page.locator('#chart-orders-24h svg').waitFor(WAIT);
  await page.locator('#chart-orders-7d svg').waitFor(WAIT);
  const chart = (id) => page.$eval(`#${id}`, (fig) => ({
    bars: fig.querySelectorAll('g.bar').length,
    total: [...fig.querySelectorAll('g.bar')].reduce((s, g) => s + Number(g.dataset.total), 0),
    nonEmpty: [...fig.querySelectorAll('g.bar')].filter((g) => Number(g.dataset.total) > 0).length,
    rects: fig.querySelectorAll('rect.seg').length,
    xlabels: [...fig.querySelectorAll('text.xlabel')].map((t) => t.textContent),
    legend: [...fig.querySelectorAll('ul.legend li')].map((li) => li.textContent),
    caption: fig.querySelector('figcaption').textContent,
  }));
  const day = await chart('chart-orders-24h');
  assert.equal(day.bars, 24);
  assert.equal(day.total, 5, 'every order of the last 24 hours is counted');
  assert.ok(day.nonEmpty >= 1 && day.rects >= 2, 'bars are drawn, stacked by API');
  assert.ok(day.xlabels.length >= 6 && day.xlabels.every((l) => /^\d\d:00$/.test(l)), `hour labels: ${day.xlabels}`);
  assert.deepEqual(day.legend, ['kohort', 'v1']);
  assert.match(day.caption, /Orders per hour/);
  const week = await chart('chart-orders-7d');
  assert.equal(week.bars, 7);
  assert.equal(week.total, 5);
  assert.equal(week.xlabels.length, 7);
  assert.deepEqual(week.legend, ['kohort', 'v1']);
  const rev = await chart('chart-revenue-24h-EUR');
  assert.equal(rev.bars, 24);
  assert.equal(rev.total, 1250 * 2 + 1250 * 3 + 4000 + 4001, 'revenue without the canceled order, in minor units');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const shot = path.join(ARTIFACTS, 'dashboard-charts.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000, `screenshot written to ${shot}`);
});

test('webhooks and settings pages render (read-only settings say where to change them)', T, async () => {
  await page.click('nav a[data-page=webhooks]');
  await page.waitForFunction(() => /Webhook endpoints/.test(document.querySelector('#webhooks h1')?.textContent ?? '') && !/Loading/.test(document.querySelector('#webhooks').textContent), null, WAIT);
  await page.click('nav a[data-page=settings]');
  await page.locator('#settings-readonly').waitFor(WAIT);
  assert.match(await page.textContent('#settings-readonly'), /orderd org set/);
  const keys = await page.$$eval('table.keys tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(keys.length, 4);
  assert.ok(!keys.join(' ').includes(org.keys.test.secret), 'the secret key is never shown');
});

test('sign-out ends the session on the server: the old cookie no longer works', T, async () => {
  const [cookie] = await ctx.cookies(srv.base + '/dashboard/');
  const before = await fetch(`${srv.base}/dashboard/api/session`, { headers: { Cookie: `orderd_dashboard=${cookie.value}` } });
  assert.equal(before.status, 200);
  await page.click('#signout');
  await page.locator('#signin').waitFor({ state: 'visible', ...WAIT });
  assert.equal((await ctx.cookies(srv.base + '/dashboard/')).length, 0, 'the browser dropped the cookie');
  const afterRes = await fetch(`${srv.base}/dashboard/api/session`, { headers: { Cookie: `orderd_dashboard=${cookie.value}` } });
  assert.equal(afterRes.status, 401, 'the server refuses the kept cookie');
  await page.reload();
  await page.locator('#signin').waitFor({ state: 'visible', ...WAIT });
});

test("with the other mode's key too, the test/live switch shows the live orders", T, async () => {
  await page.click('#signin details summary');
  await page.fill('#key', org.keys.test.secret);
  await page.fill('#other-key', org.keys.live.secret);
  await page.click('#signin-form button[type=submit]');
  await page.locator('table.orders').waitFor(WAIT);
  assert.equal(await page.locator('#mode-switch').isVisible(), true);
  assert.equal((await rows()).length, 5);
  await page.selectOption('#mode-select', 'live');
  await page.waitForFunction((id) => document.querySelectorAll('table.orders tbody tr').length === 1 && document.querySelector('table.orders tbody tr').dataset.id === id, liveId, WAIT);
  assert.equal(await page.textContent('#mode-badge'), 'live mode');
  assert.match(page.url(), /mode=live/);
  await page.selectOption('#mode-select', 'test');
  await page.waitForFunction(() => document.querySelectorAll('table.orders tbody tr').length === 5, null, WAIT);
  await page.click('#signout');
  await page.locator('#signin').waitFor({ state: 'visible', ...WAIT });
});

test('no CSP violation, no script error, nothing fetched from outside', T, async () => {
  const csp = consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l));
  assert.deepEqual(csp, [], 'no CSP violation in the console');
  assert.deepEqual(pageErrors, [], 'no uncaught script error');
  assert.deepEqual(outside, [], 'no request left 127.0.0.1');
});

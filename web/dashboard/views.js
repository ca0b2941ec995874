// SPDX-License-Identifier: MIT
// views.js -- the dashboard's pages: orders (filters, search, cursor paging), one order
// (every field, its dialect, the event timeline, the raw JSON), charts, webhook
// endpoints and their deliveries, the org's settings. DOM is built with textContent
// only (never innerHTML), so order data cannot inject markup.
import { call } from './api.js';
import { barChart } from './charts.js';

const STATUSES = ['pending', 'confirmed', 'fulfilled', 'canceled'];
const DIALECTS = ['v1', 'cherry', 'dropday', 'threekit', 'kohort'];

/** h('tag.class', {attr: v, onclick: fn}, children...) */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const e = document.createElement(tag);
  if (classes.length) e.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const digitsCache = new Map();
function currencyDigits(cur) {
  if (!digitsCache.has(cur)) {
    let d = 2;
    try { d = new Intl.NumberFormat('en', { style: 'currency', currency: cur }).resolvedOptions().maximumFractionDigits; } catch { d = 2; }
    digitsCache.set(cur, d);
  }
  return digitsCache.get(cur);
}

/** Minor units to text: 10685, "EUR" -> "€106.85". */
export function money(minor, cur) {
  const d = currencyDigits(cur);
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: cur }).format(minor / 10 ** d);
  } catch {
    return `${(minor / 10 ** d).toFixed(d)} ${cur}`;
  }
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

function link(route, params, text) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
  return h('a', { href: `#${route}${qs ? `?${qs}` : ''}` }, text);
}

function errorBox(e) {
  return h('p.error', { role: 'alert' }, e.message || String(e));
}

function table(head, rows, cls = '') {
  return h(`table${cls ? `.${cls}` : ''}`, {},
    h('thead', {}, h('tr', {}, head.map((t) => h('th', {}, t)))),
    h('tbody', {}, rows));
}

/* ---- orders ---- */

function dateToIso(value, endOfDay) {
  if (!value) return undefined;
  const [y, m, d] = value.split('-').map(Number);
  const t = endOfDay ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d, 0, 0, 0, 0);
  return t.toISOString();
}

export async function ordersPage(ctx, params) {
  const f = {
    status: params.get('status') || '',
    dialect: params.get('dialect') || '',
    from: params.get('from') || '',
    to: params.get('to') || '',
    q: params.get('q') || '',
    limit: /^[1-9][0-9]?$|^100$/.test(params.get('limit') || '') ? params.get('limit') : '',
  };
  const go = (extra) => ctx.navigate('/orders', { ...f, ...extra });
  const form = h('form.filters', {
    id: 'order-filters',
    onsubmit: (ev) => {
      ev.preventDefault();
      const fd = new FormData(ev.target);
      go({ status: fd.get('status'), dialect: fd.get('dialect'), from: fd.get('from'), to: fd.get('to'), q: fd.get('q').trim(), after: undefined, before: undefined });
    },
  },
  h('label', {}, 'Status ', h('select', { name: 'status', id: 'f-status' },
    h('option', { value: '' }, 'any'), STATUSES.map((s) => h('option', { value: s, selected: s === f.status }, s)))),
  h('label', {}, 'API ', h('select', { name: 'dialect', id: 'f-dialect' },
    h('option', { value: '' }, 'any'), DIALECTS.map((s) => h('option', { value: s, selected: s === f.dialect }, s)))),
  h('label', {}, 'From ', h('input', { type: 'date', name: 'from', id: 'f-from', value: f.from })),
  h('label', {}, 'To ', h('input', { type: 'date', name: 'to', id: 'f-to', value: f.to })),
  h('label.grow', {}, 'Search ', h('input', { type: 'search', name: 'q', id: 'f-q', value: f.q, placeholder: 'external id, customer e-mail or order id' })),
  h('button', { type: 'submit' }, 'Apply'),
  h('button.secondary', { type: 'button', onclick: () => ctx.navigate('/orders', {}) }, 'Clear'));

  const body = h('div', {}, h('p.muted', {}, 'Loading…'));
  ctx.render(h('section', { id: 'orders' }, h('h1', {}, 'Orders'), form, body));
  let list;
  try {
    list = await call('orders', {
      params: {
        mode: ctx.mode, status: f.status, dialect: f.dialect, q: f.q,
        created_gte: dateToIso(f.from, false), created_lte: dateToIso(f.to, true),
        limit: f.limit || 25, starting_after: params.get('after'), ending_before: params.get('before'),
      },
    });
  } catch (e) {
    body.replaceChildren(errorBox(e));
    return;
  }
  const rows = list.data.map((o) => h('tr', { 'data-id': o.id },
    h('td', {}, when(o.created_at)),
    h('td', {}, link(`/orders/${o.id}`, { mode: ctx.mode }, o.short_id)),
    h('td', {}, o.external_id ?? '—'),
    h('td', {}, o.customer_email ?? '—'),
    h('td', {}, h('span.tag', {}, o.dialect)),
    h('td', {}, h(`span.status.status-${o.status}`, {}, o.status)),
    h('td.num', {}, money(o.total_amount, o.currency))));
  const first = list.data[0];
  const last = list.data[list.data.length - 1];
  // has_more looks further in the direction the page was asked for
  const back = Boolean(params.get('before'));
  const hasNewer = back ? list.has_more : Boolean(params.get('after'));
  const hasOlder = back || list.has_more;
  const newer = hasNewer && first ? h('button.secondary', { type: 'button', id: 'page-newer', onclick: () => go({ before: first.id }) }, '← Newer') : null;
  const older = hasOlder && last ? h('button.secondary', { type: 'button', id: 'page-older', onclick: () => go({ after: last.id }) }, 'Older →') : null;
  body.replaceChildren(
    list.data.length === 0
      ? h('p.muted', { id: 'orders-empty' }, 'No orders match.')
      : table(['Created', 'Order', 'External id', 'Customer', 'API', 'Status', 'Total'], rows, 'orders'),
    h('div.pager', {}, newer, older, h('span.muted', {}, `${list.data.length} shown · ${ctx.mode} mode · ${list.took_ms.toFixed(1)} ms`)));
}

/* ---- one order ---- */

function flatten(v, prefix, out) {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(v)) {
    if (v.length === 0) out.push([prefix, '[]']);
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else {
    out.push([prefix, v === null ? 'null' : String(v)]);
  }
  return out;
}

const EVENT_TEXT = {
  'order.created': 'Created',
  'order.updated': 'Updated',
  'order.canceled': 'Canceled',
};

export async function orderPage(ctx, params, id) {
  ctx.render(h('section', { id: 'order' }, h('p.muted', {}, 'Loading…')));
  let d;
  try {
    d = await call(`orders/${encodeURIComponent(id)}`, { params: { mode: ctx.mode } });
  } catch (e) {
    ctx.render(h('section', { id: 'order' }, h('h1', {}, 'Order'), errorBox(e)));
    return;
  }
  const s = d.summary;
  const events = [...d.events].reverse();
  const fields = flatten(d.order, '', []);
  ctx.render(h('section', { id: 'order' },
    h('p', {}, link('/orders', { mode: ctx.mode }, '← Orders')),
    h('h1', {}, `Order ${s.short_id}`),
    h('dl.summary', {},
      h('dt', {}, 'Id'), h('dd', {}, s.id),
      h('dt', {}, 'Created through'), h('dd', { id: 'order-dialect' }, h('span.tag', {}, s.dialect), s.dialect === 'v1' ? ' (orderd /v1 API)' : ` (${s.dialect} dialect)`),
      h('dt', {}, 'Status'), h('dd', {}, h(`span.status.status-${s.status}`, {}, s.status)),
      h('dt', {}, 'Total'), h('dd', {}, money(s.total_amount, s.currency)),
      h('dt', {}, 'External id'), h('dd', {}, s.external_id ?? '—'),
      h('dt', {}, 'Customer'), h('dd', {}, s.customer_email ?? '—'),
      h('dt', {}, 'Version'), h('dd', {}, String(s.version)),
      h('dt', {}, 'Created'), h('dd', {}, when(s.created_at)),
      h('dt', {}, 'Updated'), h('dd', {}, when(s.updated_at))),
    h('h2', {}, 'Timeline'),
    h('ol.timeline', { id: 'timeline' }, events.map((e) => h('li', { 'data-type': e.type },
      h('time', { datetime: e.created_at }, when(e.created_at)), ' ',
      h('strong', {}, EVENT_TEXT[e.type] || e.type), ' ',
      h('code', {}, e.type), ' · ', h('span.muted', {}, `status ${e.data && e.data.status} · ${e.request_id}`)))),
    d.events_has_more ? h('p.muted', {}, 'Older events are not shown.') : null,
    h('h2', {}, 'Every field'),
    table(['Field', 'Value'], fields.map(([k, v]) => h('tr', {}, h('td', {}, h('code', {}, k)), h('td', {}, v))), 'fields'),
    h('h2', {}, 'Raw JSON'),
    h('pre.raw', { id: 'raw-json' }, JSON.stringify(d.order, null, 2))));
}

/* ---- charts ---- */

function pivot(stats, label) {
  const dialects = [...new Set(stats.rows.map((r) => r.dialect))].sort();
  const currencies = [...new Set(stats.rows.map((r) => r.currency))].sort();
  const from = Date.parse(stats.from);
  const buckets = Array.from({ length: stats.buckets }, (_, i) => ({ label: label(new Date(from + i * stats.bucket_ms)), orders: {}, revenue: {} }));
  for (const r of stats.rows) {
    const b = buckets[r.bucket];
    if (!b) continue;
    b.orders[r.dialect] = (b.orders[r.dialect] || 0) + r.orders;
    b.revenue[r.currency] ??= {};
    b.revenue[r.currency][r.dialect] = (b.revenue[r.currency][r.dialect] || 0) + r.revenue;
  }
  return { dialects, currencies, buckets };
}

function chartsFor(stats, range) {
  const label = range === '24h'
    ? (d) => `${String(d.getHours()).padStart(2, '0')}:00`
    : (d) => d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric' });
  const p = pivot(stats, label);
  const unit = range === '24h' ? 'hour' : 'day';
  const span = range === '24h' ? 'last 24 hours' : 'last 7 days';
  const out = [barChart({
    id: `chart-orders-${range}`,
    title: `Orders per ${unit}, ${span}, by API`,
    buckets: p.buckets.map((b) => ({ label: b.label, values: b.orders })),
    series: p.dialects,
    format: (n) => String(Math.round(n)),
  })];
  for (const cur of p.currencies) {
    out.push(barChart({
      id: `chart-revenue-${range}-${cur}`,
      title: `Revenue in ${cur} per ${unit}, ${span}, by API (canceled orders excluded)`,
      buckets: p.buckets.map((b) => ({ label: b.label, values: b.revenue[cur] || {} })),
      series: p.dialects,
      format: (n) => money(n, cur),
    }));
  }
  const totals = {};
  for (const r of stats.rows) {
    const k = `${r.dialect} ${r.currency}`;
    totals[k] ??= { dialect: r.dialect, currency: r.currency, orders: 0, revenue: 0 };
    totals[k].orders += r.orders;
    totals[k].revenue += r.revenue;
  }
  out.push(table(['API', 'Currency', 'Orders', 'Revenue'], Object.values(totals).map((t) => h('tr', {},
    h('td', {}, t.dialect), h('td', {}, t.currency), h('td.num', {}, String(t.orders)), h('td.num', {}, money(t.revenue, t.currency)))), 'totals'));
  out.push(h('p.muted', {}, `aggregated by the server in ${stats.took_ms.toFixed(1)} ms`));
  return out;
}

export async function chartsPage(ctx) {
  const tz = -new Date().getTimezoneOffset();
  ctx.render(h('section', { id: 'charts' }, h('h1', {}, 'Charts'), h('p.muted', {}, 'Loading…')));
  try {
    const [day, week] = await Promise.all([
      call('stats', { params: { mode: ctx.mode, range: '24h', tz_offset: tz } }),
      call('stats', { params: { mode: ctx.mode, range: '7d', tz_offset: tz } }),
    ]);
    ctx.render(h('section', { id: 'charts' }, h('h1', {}, `Charts · ${ctx.mode} mode`),
      h('h2', {}, 'Last 24 hours'), h('div.charts', { id: 'charts-24h' }, chartsFor(day, '24h')),
      h('h2', {}, 'Last 7 days'), h('div.charts', { id: 'charts-7d' }, chartsFor(week, '7d'))));
  } catch (e) {
    ctx.render(h('section', { id: 'charts' }, h('h1', {}, 'Charts'), errorBox(e)));
  }
}

/* ---- webhooks ---- */

export async function webhooksPage(ctx) {
  ctx.render(h('section', { id: 'webhooks' }, h('h1', {}, 'Webhook endpoints'), h('p.muted', {}, 'Loading…')));
  let list;
  try {
    list = await call('webhook_endpoints', { params: { mode: ctx.mode } });
  } catch (e) {
    ctx.render(h('section', { id: 'webhooks' }, h('h1', {}, 'Webhook endpoints'), errorBox(e)));
    return;
  }
  const rows = list.data.map((e) => h('tr', { 'data-id': e.id },
    h('td', {}, link(`/webhooks/${e.id}`, { mode: ctx.mode }, e.url)),
    h('td', {}, (e.enabled_events || []).join(', ')),
    h('td', {}, e.disabled ? h('span.status.status-canceled', {}, `disabled${e.disabled_reason ? ` (${e.disabled_reason})` : ''}`) : h('span.status.status-confirmed', {}, 'enabled')),
    h('td', {}, e.description ?? ''),
    h('td', {}, when(e.created_at))));
  ctx.render(h('section', { id: 'webhooks' }, h('h1', {}, `Webhook endpoints · ${ctx.mode} mode`),
    list.data.length === 0 ? h('p.muted', {}, 'No webhook endpoints. Create them with POST /v1/webhook_endpoints.')
      : table(['URL', 'Events', 'State', 'Description', 'Created'], rows, 'endpoints'),
    h('p.hint', {}, 'Endpoints are created and changed through the /v1/webhook_endpoints API (docs/webhooks.md); this page shows them and their delivery log.')));
}

export async function deliveriesPage(ctx, params, id) {
  ctx.render(h('section', { id: 'deliveries' }, h('p.muted', {}, 'Loading…')));
  let list;
  try {
    list = await call(`webhook_endpoints/${encodeURIComponent(id)}/deliveries`, {
      params: { mode: ctx.mode, limit: 25, starting_after: params.get('after'), ending_before: params.get('before') },
    });
  } catch (e) {
    ctx.render(h('section', { id: 'deliveries' }, h('h1', {}, 'Deliveries'), errorBox(e)));
    return;
  }
  const rows = list.data.map((d) => h('tr', { 'data-id': d.id },
    h('td', {}, when(d.created_at)),
    h('td', {}, d.event_type),
    h('td', {}, h(`span.status.status-${d.status === 'delivered' ? 'confirmed' : d.status === 'failed' ? 'canceled' : 'pending'}`, {}, d.status)),
    h('td.num', {}, String(d.attempts)),
    h('td.num', {}, d.response_status ?? '—'),
    h('td.num', {}, d.latency_ms === null ? '—' : `${d.latency_ms} ms`),
    h('td', {}, d.error ?? '')));
  const last = list.data[list.data.length - 1];
  ctx.render(h('section', { id: 'deliveries' },
    h('p', {}, link('/webhooks', { mode: ctx.mode }, '← Webhook endpoints')),
    h('h1', {}, 'Deliveries'), h('p', {}, h('code', {}, list.endpoint.url)),
    list.data.length === 0 ? h('p.muted', {}, 'No deliveries yet.') : table(['Created', 'Event', 'Status', 'Attempts', 'Last HTTP status', 'Latency', 'Last error'], rows, 'deliveries'),
    h('div.pager', {}, list.has_more && last ? h('button.secondary', { type: 'button', onclick: () => ctx.navigate(`/webhooks/${id}`, { after: last.id }) }, 'Older →') : null)));
}

/* ---- settings ---- */

export async function settingsPage(ctx) {
  ctx.render(h('section', { id: 'settings' }, h('h1', {}, 'Settings'), h('p.muted', {}, 'Loading…')));
  let s;
  try {
    s = await call('settings');
  } catch (e) {
    ctx.render(h('section', { id: 'settings' }, h('h1', {}, 'Settings'), errorBox(e)));
    return;
  }
  const settings = Object.entries(s.settings || {});
  ctx.render(h('section', { id: 'settings' }, h('h1', {}, 'Settings'),
    h('p.hint', { id: 'settings-readonly' }, 'Read-only. Settings are changed on the server with ',
      h('code', {}, `orderd org set ${s.org.id} KEY=VALUE`), '; keys with ', h('code', {}, 'orderd key roll'), ' and ', h('code', {}, 'orderd key revoke'), '.'),
    h('dl.summary', {},
      h('dt', {}, 'Organisation'), h('dd', {}, s.org.name),
      h('dt', {}, 'Id'), h('dd', {}, s.org.id),
      h('dt', {}, 'UUID'), h('dd', {}, s.org.uuid),
      h('dt', {}, 'Created'), h('dd', {}, when(s.org.created_at))),
    h('h2', {}, 'Org settings'),
    settings.length === 0 ? h('p.muted', {}, 'No settings: every default applies.')
      : table(['Setting', 'Value'], settings.map(([k, v]) => h('tr', {}, h('td', {}, h('code', {}, k)), h('td', {}, h('pre.value', {}, String(v))))), 'settings'),
    h('h2', {}, 'API keys'),
    table(['Key', 'Mode', 'Kind', 'Created', 'Last used', 'Expires', 'Revoked'], s.keys.map((k) => h('tr', {},
      h('td', {}, h('code', {}, k.display)), h('td', {}, k.mode), h('td', {}, k.kind), h('td', {}, when(k.created_at)),
      h('td', {}, when(k.last_used_at)), h('td', {}, when(k.expires_at)), h('td', {}, when(k.revoked_at)))), 'keys')));
}

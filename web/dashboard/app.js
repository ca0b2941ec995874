// SPDX-License-Identifier: MIT
// app.js -- the dashboard's entry point: the session (sign in, sign out, who am I), the
// test/live switch and the hash router (#/orders, #/orders/ID, #/charts, #/webhooks,
// #/webhooks/ID, #/settings). Pages are in views.js, calls in api.js.
import { call, whenSignedOut } from './api.js';
import * as views from './views.js';

const $ = (id) => document.getElementById(id);
const state = { session: null, mode: 'test' };

function render(node) {
  $('main').replaceChildren(node);
}

function parseHash() {
  const raw = window.location.hash.replace(/^#/, '') || '/orders';
  const [path, query = ''] = raw.split('?');
  return { path, params: new URLSearchParams(query) };
}

function navigate(path, params = {}) {
  const qs = new URLSearchParams(Object.entries({ ...params, mode: state.mode })
    .filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();
  const next = `#${path}${qs ? `?${qs}` : ''}`;
  if (window.location.hash === next) route();
  else window.location.hash = next;
}

const ctx = { render, navigate, get mode() { return state.mode; } };

function showSignin(message) {
  state.session = null;
  $('top').hidden = true;
  $('main').hidden = true;
  $('signin').hidden = false;
  const err = $('signin-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('key').focus();
}

function showApp() {
  const s = state.session;
  $('signin').hidden = true;
  $('top').hidden = false;
  $('main').hidden = false;
  $('org-name').textContent = s.org.name;
  $('mode-badge').textContent = `${state.mode} mode`;
  $('mode-badge').className = `badge mode-${state.mode}`;
  $('mode-switch').hidden = s.modes.length < 2;
  $('mode-select').value = state.mode;
}

async function route() {
  if (!state.session) return;
  const { path, params } = parseHash();
  const m = params.get('mode');
  if (m && state.session.modes.includes(m)) state.mode = m;
  showApp();
  const parts = path.split('/').filter(Boolean);
  const page = parts[0] || 'orders';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page);
  if (page === 'orders' && parts[1]) await views.orderPage(ctx, params, parts[1]);
  else if (page === 'charts') await views.chartsPage(ctx, params);
  else if (page === 'webhooks' && parts[1]) await views.deliveriesPage(ctx, params, parts[1]);
  else if (page === 'webhooks') await views.webhooksPage(ctx, params);
  else if (page === 'settings') await views.settingsPage(ctx, params);
  else await views.ordersPage(ctx, params);
  document.body.dataset.ready = page;
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $('key').value.trim();
  const other = $('other-key').value.trim();
  const button = ev.target.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    state.session = await call('session', { method: 'POST', body: other ? { key, other_key: other } : { key } });
    state.mode = state.session.mode;
    $('key').value = '';
    $('other-key').value = '';
    window.location.hash = `#/orders?mode=${state.mode}`;
    await route();
  } catch (e) {
    showSignin(e.status === 401 || e.status === 422 ? `Sign-in refused: ${e.message}` : `Cannot sign in: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await call('session', { method: 'DELETE' });
  } finally {
    document.body.dataset.ready = 'signed-out';
    showSignin('Signed out.');
  }
}

async function boot() {
  whenSignedOut(() => showSignin('Your session has ended; sign in again.'));
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  $('mode-select').addEventListener('change', (ev) => {
    state.mode = ev.target.value;
    const { path } = parseHash();
    navigate(path.startsWith('/orders/') || path.startsWith('/webhooks/') ? `/${path.split('/')[1]}` : path);
  });
  window.addEventListener('hashchange', route);
  try {
    state.session = await call('session');
    state.mode = state.session.mode;
    await route();
  } catch (e) {
    showSignin(e.code === 'not_signed_in' ? '' : e.message);
    document.body.dataset.ready = 'signin';
  }
}

boot();

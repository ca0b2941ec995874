// SPDX-License-Identifier: MIT
// api.js -- the dashboard's calls to its own JSON API (/dashboard/api/...). The session
// is an HttpOnly cookie the browser sends by itself; nothing is kept in storage. Every
// call carries the X-Orderd-Dashboard header, which state-changing calls need (CSRF).

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

let onSignedOut = () => {};

/** fn() runs whenever an answer says the session is missing or has ended. */
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

/** Calls the API; resolves with the parsed JSON (null for 204), throws ApiError. */
export async function call(path, { method = 'GET', params, body } = {}) {
  const url = new URL(`/dashboard/api/${path}`, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { 'X-Orderd-Dashboard': '1', Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    if (res.status === 401 && err.code === 'not_signed_in') onSignedOut();
    throw err;
  }
  return json;
}

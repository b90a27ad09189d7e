// api.js: every call the page makes to infera's /api goes through here.
//
// - Tokens (access + refresh) live in sessionStorage; every request sends
//   `Authorization: Bearer <access>`.
// - A 401 triggers one refresh (POST /api/auth/refresh) and one retry. Refresh tokens are
//   single use, so refreshes are serialized: parallel 401s share one refresh, and a
//   request whose token was already replaced just retries with the new one.
// - When the session cannot be renewed, listeners registered with onAuthLost() are told
//   (the shell then shows the login screen).
// - Errors are thrown as ApiError with a message people can act on: the server's
//   `{"error": "..."}` text, or a sentence for network failures and odd answers.
// - upload() uses XMLHttpRequest for upload progress; blob()/download() fetch images and
//   ZIPs with the Bearer header (an <img src> could not send it).

const ACCESS_KEY = 'infera.access_token';
const REFRESH_KEY = 'infera.refresh_token';

/** An API failure: `status` is the HTTP code (0 when the server was not reached). */
export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

const authLostListeners = new Set();
/** Calls `fn(message)` whenever the session is over (refresh impossible or refused). */
export function onAuthLost(fn) {
  authLostListeners.add(fn);
  return () => authLostListeners.delete(fn);
}

export const tokens = {
  get access() { return sessionStorage.getItem(ACCESS_KEY); },
  get refresh() { return sessionStorage.getItem(REFRESH_KEY); },
  set(pair) {
    sessionStorage.setItem(ACCESS_KEY, pair.access_token);
    sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  },
  clear() {
    sessionStorage.removeItem(ACCESS_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
  },
};

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Reads a response body as JSON when it is JSON; null otherwise. */
async function readJson(response) {
  const type = response.headers.get('content-type') || '';
  if (!type.includes('json')) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** The sentence shown for a failed answer (status + server's {"error": ...}). */
export function errorMessage(status, body, fallbackText = '') {
  const serverText = body && typeof body.error === 'string' ? body.error : '';
  if (status === 0) return 'Cannot reach the server. Check that it is running and your network, then try again.';
  if (status === 401) return serverText ? `Not signed in: ${serverText}` : 'Not signed in.';
  if (status === 403) return serverText ? `Not allowed: ${serverText}` : 'You are not allowed to do this.';
  if (status === 404) return serverText ? `Not found: ${serverText}` : 'Not found.';
  if (status === 413) return serverText || 'The upload is larger than the server accepts.';
  if (status === 429) return serverText || 'Too many attempts; wait a moment and try again.';
  if (status === 503) return serverText ? `The server is busy: ${serverText}. Try again shortly.` : 'The server is busy; try again shortly.';
  if (status >= 500) return `The server failed (${status})${serverText ? `: ${serverText}` : ''}. Try again; if it persists, check the server log.`;
  return serverText || fallbackText || `Request failed (${status}).`;
}

let refreshing = null;

/**
 * Renews the token pair once; concurrent callers share the same attempt. Resolves true
 * when a new access token is stored, false when the session is over.
 */
function refreshOnce() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const refreshToken = tokens.refresh;
    if (!refreshToken) return false;
    try {
      const r = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
      if (!r.ok) return false;
      const pair = await r.json();
      tokens.set(pair);
      return true;
    } catch {
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function sessionLost(message) {
  tokens.clear();
  for (const fn of authLostListeners) fn(message);
}

/**
 * Runs `send(token)` (which returns a Response-like {status}) with the current access
 * token; on 401, refreshes (serialized) and retries once. A request sent without a
 * token (auth off, or before login) is returned as it is.
 */
async function withAuth(send) {
  const used = tokens.access;
  const first = await send(used);
  if (first.status !== 401 || !used) return first;
  // Another request may already have renewed the token while this one was in flight.
  if (tokens.access && tokens.access !== used) return send(tokens.access);
  if (await refreshOnce()) return send(tokens.access);
  sessionLost('Your session has ended; sign in again.');
  return first;
}

/**
 * fetch() with auth and refresh. Returns the Response (ok or not); throws ApiError(0)
 * when the server cannot be reached, and passes AbortError through.
 */
export async function rawFetch(path, options = {}) {
  try {
    return await withAuth((token) =>
      fetch(path, { ...options, headers: { ...(options.headers || {}), ...authHeaders(token) } }));
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, errorMessage(0));
  }
}

/**
 * A JSON API call. `json` is sent as the body; resolves to the parsed answer; throws
 * ApiError (with the server's message) for any non-2xx status.
 */
export async function request(method, path, { json, signal } = {}) {
  const options = { method, signal, headers: {} };
  if (json !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(json);
  }
  const response = await rawFetch(path, options);
  const body = await readJson(response);
  if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, body), body);
  return body;
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, json, opts) => request('POST', path, { ...opts, json });
export const del = (path, opts) => request('DELETE', path, opts);

/** GET `path` as a Blob (images, ZIPs); ApiError on failure. */
export async function blob(path, { signal } = {}) {
  const response = await rawFetch(path, { signal });
  if (!response.ok) {
    const body = await readJson(response);
    throw new ApiError(response.status, errorMessage(response.status, body), body);
  }
  return response.blob();
}

/** Fetches `path` and saves it as `filename` through a temporary blob: URL. */
export async function download(path, filename, { signal } = {}) {
  const data = await blob(path, { signal });
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the bytes once the click is handled; keep the URL a little.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return data.size;
}

/**
 * POSTs `body` (FormData or Blob) with XMLHttpRequest so that upload progress can be
 * shown: onProgress(loaded, total). Resolves {status, body} for every HTTP answer (the
 * caller decides what a 400 with per-file errors means); rejects ApiError(0) when the
 * server was not reached, and AbortError when `signal` aborts.
 */
export function upload(path, body, { onProgress, signal, contentType } = {}) {
  const sendOnce = (token) => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    if (contentType) xhr.setRequestHeader('Content-Type', contentType);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => onProgress && onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    xhr.onload = () => {
      let parsed = null;
      try { parsed = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      resolve({ status: xhr.status, body: parsed });
    };
    xhr.onerror = () => reject(new ApiError(0, errorMessage(0)));
    xhr.onabort = () => reject(new DOMException('upload canceled', 'AbortError'));
    if (signal) {
      if (signal.aborted) return xhr.abort();
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(body);
  });
  return withAuth(sendOnce);
}

/** Signs in; stores the tokens. Throws ApiError (401 bad credentials, 429 throttled). */
export async function login(username, password) {
  let response;
  try {
    response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new ApiError(0, errorMessage(0));
  }
  const body = await readJson(response);
  if (!response.ok) {
    let message = errorMessage(response.status, body);
    if (response.status === 401) message = 'Wrong user name or password.';
    if (response.status === 429) {
      const wait = response.headers.get('retry-after');
      message = `Too many failed attempts. Wait ${wait || 'a few'} seconds and try again.`;
    }
    throw new ApiError(response.status, message, body);
  }
  tokens.set(body);
  return body;
}

/** Signs out (revokes the session server-side; best effort) and forgets the tokens. */
export async function logout() {
  const refreshToken = tokens.refresh;
  const access = tokens.access;
  tokens.clear();
  if (!access) return;
  try {
    await fetch('/api/auth/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeaders(access) },
      body: JSON.stringify(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  } catch {
    /* offline: the tokens are gone locally anyway */
  }
}

/**
 * Who is signed in: {mode: 'on', user} | {mode: 'off'} (auth disabled on the server:
 * /api/auth/me answers 409) | {mode: 'signed-out'}. Throws ApiError for other failures.
 */
export async function whoAmI() {
  const response = await rawFetch('/api/auth/me');
  const body = await readJson(response);
  if (response.ok) return { mode: 'on', user: body };
  if (response.status === 409) return { mode: 'off' };
  if (response.status === 401) {
    tokens.clear();
    return { mode: 'signed-out' };
  }
  throw new ApiError(response.status, errorMessage(response.status, body), body);
}

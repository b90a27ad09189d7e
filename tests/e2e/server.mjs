// The e2e scripts' shared server side. Every web e2e test (e2e.mjs, editor.mjs,
// retrain.mjs, dicom.mjs, labels.mjs) has its server started through this file (by
// run.mjs's runE2E) and calls the API through it:
//
//   startServer(options)   a real `infera serve` on 127.0.0.1 port 0 from a temp folder,
//                          with the named test models, auth on (the default) and the
//                          admin password given; {child, ready, stderrTail()}
//   stopServer(child)      SIGTERM, then SIGKILL after 5 s; resolves once it has exited
//   api(base, token, ...)  one HTTP call: a JSON, FormData or Buffer body; {status, bytes, json()}
//   loginToken(base, u, p) POST /api/auth/login; the access token (a failed check otherwise)
//   check(cond, message)   throws CheckError(message) when cond is false
//
// CheckError marks a failed expectation (its message is the whole report); anything else
// thrown is a bug in the script and is reported with its stack.

import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class CheckError extends Error {}
export function check(condition, message) { if (!condition) throw new CheckError(message); }

/**
 * Starts `bin` serving `models` (folders of `modelsDir`/repo, copied into `work`/repo, or
 * linked as they are with `linkModels` where the test never writes into them) with its
 * storage in `work`/data, the admin password `adminPassword`, when given the web page
 * from `webDir`, and `config` (YAML lines) added to its configuration. Returns
 * {child, ready (a promise of the base URL; rejects with a CheckError after 60 s, if the
 * server exits, or if `bin` cannot be started), stderrTail() (its last 40 lines)}.
 */
export function startServer({ bin, work, modelsDir, models, adminPassword, webDir = null, linkModels = false, config = [] }) {
  const repo = join(work, 'repo');
  mkdirSync(repo);
  for (const m of models) {
    if (linkModels) symlinkSync(join(modelsDir, 'repo', m), join(repo, m));
    else cpSync(join(modelsDir, 'repo', m), join(repo, m), { recursive: true });
  }
  const configPath = join(work, 'infera.yaml');
  writeFileSync(configPath, [
    `server: {host: 127.0.0.1, port: 0${webDir ? `, web_dir: ${JSON.stringify(webDir)}` : ''}}`,
    `model_repository: ${JSON.stringify(repo)}`,
    `storage: {path: ${JSON.stringify(join(work, 'data'))}}`,
    'auth: {enabled: true}',
    ...config,
    '',
  ].join('\n'));
  const child = spawn(bin, ['serve', '--config', configPath], { env: { ...process.env, INFERA_ADMIN_PASSWORD: adminPassword }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (c) => { stderr.push(String(c)); if (stderr.length > 200) stderr.shift(); });
  const ready = new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new CheckError('the server did not start within 60 s')), 60_000);
    child.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) { clearTimeout(timer); ok(m[1].replace(/\/$/, '')); }
    });
    child.on('exit', (code, signal) => { clearTimeout(timer); fail(new CheckError(`the server exited during start-up (code ${code}, signal ${signal})`)); });
    child.on('error', (e) => { clearTimeout(timer); fail(new CheckError(`cannot start ${bin}: ${e.message}`)); });
  });
  return { child, ready, stderrTail: () => stderr.join('').split('\n').slice(-40).join('\n') };
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
export async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * One API call. `body`: undefined (none), FormData or a Buffer (sent as it is, a Buffer
 * with `contentType`), or anything else (sent as JSON). {status, bytes, json()}.
 */
export async function api(base, token, method, path, body, contentType = 'application/json') {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (body !== undefined && !(body instanceof FormData)) headers['Content-Type'] = contentType;
  const raw = body === undefined || body instanceof FormData || Buffer.isBuffer(body);
  const r = await fetch(base + path, { method, headers, body: raw ? body : JSON.stringify(body) });
  const bytes = Buffer.from(await r.arrayBuffer());
  return { status: r.status, bytes, json: () => JSON.parse(bytes.toString('utf8')) };
}

/** Signs `username` in through the API; its access token. A failed check unless HTTP 200. */
export async function loginToken(base, username, password) {
  const r = await api(base, null, 'POST', '/api/auth/login', { username, password });
  check(r.status === 200, `login ${username}: HTTP ${r.status} ${r.bytes}`);
  return r.json().access_token;
}

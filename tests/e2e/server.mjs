// The e2e scripts' shared server side: a real `infera serve` on 127.0.0.1 port 0 with a
// repository of the named test models and auth on, its stop, and JSON calls to its API.
// CheckError marks a failed expectation (its message is the whole report); anything else
// thrown is a bug in the script and is reported with its stack.

import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class CheckError extends Error {}
export function check(condition, message) { if (!condition) throw new CheckError(message); }

/**
 * Starts `bin` serving `models` (folders of `modelsDir`/repo) from `work`, with the admin
 * password `adminPassword` and, when given, the web page from `webDir`. Returns
 * {child, ready (a promise of the base URL; rejects after 60 s or if the server exits),
 * stderrTail()}.
 */
export function startServer({ bin, work, modelsDir, models, adminPassword, webDir = null }) {
  const repo = join(work, 'repo');
  mkdirSync(repo);
  for (const m of models) cpSync(join(modelsDir, 'repo', m), join(repo, m), { recursive: true });
  const config = join(work, 'infera.yaml');
  writeFileSync(config, [
    `server: {host: 127.0.0.1, port: 0${webDir ? `, web_dir: ${JSON.stringify(webDir)}` : ''}}`,
    `model_repository: ${JSON.stringify(repo)}`,
    `storage: {path: ${JSON.stringify(join(work, 'data'))}}`,
    'auth: {enabled: true}',
    '',
  ].join('\n'));
  const child = spawn(bin, ['serve', '--config', config], { env: { ...process.env, INFERA_ADMIN_PASSWORD: adminPassword }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.on('exit', (code) => { clearTimeout(timer); fail(new CheckError(`the server exited during start-up (code ${code})`)); });
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

/** One API call: a JSON body (or FormData as it is); {status, bytes, json()}. */
export async function api(base, token, method, path, body) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (body !== undefined && !(body instanceof FormData)) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined || body instanceof FormData ? body : JSON.stringify(body) });
  const bytes = Buffer.from(await r.arrayBuffer());
  return { status: r.status, bytes, json: () => JSON.parse(bytes.toString('utf8')) };
}

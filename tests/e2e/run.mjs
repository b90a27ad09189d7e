// The e2e scripts' shared run: every web e2e script (e2e.mjs, editor.mjs, retrain.mjs,
// dicom.mjs, labels.mjs) reads its environment with testEnv and hands its scenario to
// runE2E, which starts the server (server.mjs) and headless Chromium, reports a failure
// the same way for all, and exits.
//
//   testEnv(name)               the variables every script reads (INFERA_BIN,
//                               INFERA_TEST_MODELS, INFERA_E2E_ARTIFACTS required: exit 2
//                               when one is missing; INFERA_WEB_DIR, CHROMIUM)
//   runE2E(options, scenario)   exit 0 when scenario(page, base) passes, 1 when it fails
//                               or the whole run outlasts its limit
//   signIn(page, base, u, p)    signs `u` in through the page's login form (signing the
//                               current user out first), then waits for the Datasets page

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CheckError, check, startServer, stopServer } from './server.mjs';

/**
 * The environment of the script `name` (its messages' prefix, e.g. 'editor e2e'):
 * {bin, models, artifacts, webDir (null: the page embedded in the binary), chromium}.
 * Exits the process with code 2, naming the variable, when a required one is not set.
 */
export function testEnv(name) {
  const env = process.env;
  for (const variable of ['INFERA_BIN', 'INFERA_TEST_MODELS', 'INFERA_E2E_ARTIFACTS']) {
    if (!env[variable]) {
      console.error(`${name}: ${variable} is not set (see tests/e2e/README.md)`);
      process.exit(2);
    }
  }
  return {
    bin: resolve(env.INFERA_BIN),
    models: resolve(env.INFERA_TEST_MODELS),
    artifacts: resolve(env.INFERA_E2E_ARTIFACTS),
    webDir: env.INFERA_WEB_DIR ? resolve(env.INFERA_WEB_DIR) : null,
    chromium: env.CHROMIUM || '/usr/bin/chromium',
  };
}

/**
 * Runs one script's scenario, bounded by `timeoutMs` in all:
 *  - checks that INFERA_BIN, Chromium, the server's models and the `requires` paths
 *    ([path, message] pairs) exist; makes the artifacts folder and a work folder in the
 *    temp dir (infera-`name`-...);
 *  - starts the server (server.mjs's startServer with `server`: {models, adminPassword,
 *    linkModels, config}, the binary, models and web dir of `env`, testEnv's result);
 *  - opens a Chromium page of `viewport` (1280x900 unless given; with `contextOptions`,
 *    e.g. acceptDownloads), a 15 s default timeout, collecting page errors and console
 *    errors;
 *  - awaits scenario(page, base) (base: the server's URL); then no page error may be left
 *    but those `ignoredPageErrors` matches (the HTTP errors the scenario causes on purpose).
 * On failure: `name`: FAILED with the reason (a CheckError's message, anything else's stack),
 * a screenshot `failureShot` (default: the name's first word + '-failure.png') in the
 * artifacts folder, the page errors, the server's stderr
 * tail, and the work folder kept (removed on success). `log` prints the progress lines.
 */
export async function runE2E({ name, env, log, timeoutMs, server: serverOptions, requires = [],
  viewport = { width: 1280, height: 900 }, contextOptions = {}, ignoredPageErrors,
  failureShot = `${name.split(' ')[0]}-failure.png` }, scenario) {
  let work = null;
  let server = null;
  let browser = null;
  let page = null;
  const pageErrors = [];
  let failed = false;
  const watchdog = setTimeout(() => {
    console.error(`${name}: FAILED: the whole test took more than ${timeoutMs / 1000} s`);
    if (server) console.error(`--- server stderr (tail) ---\n${server.stderrTail()}`);
    server?.child.kill('SIGKILL');
    process.exit(1);
  }, timeoutMs);
  try {
    mkdirSync(env.artifacts, { recursive: true });
    rmSync(join(env.artifacts, failureShot), { force: true }); // from an earlier run
    check(existsSync(env.bin), `INFERA_BIN ${env.bin} does not exist`);
    check(existsSync(env.chromium), `no Chromium at ${env.chromium} (set CHROMIUM)`);
    for (const m of serverOptions.models) {
      check(existsSync(join(env.models, 'repo', m)), `no repo/${m} under INFERA_TEST_MODELS ${env.models}`);
    }
    for (const [path, message] of requires) check(existsSync(path), message);
    work = mkdtempSync(join(tmpdir(), `infera-${name.replaceAll(' ', '-')}-`));
    server = startServer({ bin: env.bin, work, modelsDir: env.models, webDir: env.webDir, ...serverOptions });
    const base = await server.ready;
    log(`server at ${base}${env.webDir ? ` (web_dir ${env.webDir})` : ''}`);
    browser = await chromium.launch({ executablePath: env.chromium, headless: true, args: ['--no-sandbox'], timeout: 60_000 });
    const context = await browser.newContext({ viewport, ...contextOptions });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    await scenario(page, base);
    const unexpected = pageErrors.filter((e) => !ignoredPageErrors.test(e));
    check(unexpected.length === 0, `errors in the page:\n  ${unexpected.join('\n  ')}`);
    log(`PASSED; screenshots in ${env.artifacts}`);
  } catch (e) {
    failed = true;
    console.error(`\n${name}: FAILED: ${e instanceof CheckError ? e.message : e.stack || e}`);
    if (page) {
      const shot = join(env.artifacts, failureShot);
      try {
        await page.screenshot({ path: shot, fullPage: true, timeout: 10_000 });
        console.error(`${name}: failure screenshot: ${shot} (page at ${page.url()})`);
      } catch (err) {
        console.error(`${name}: no failure screenshot: ${err.message}`);
      }
    }
    if (pageErrors.length) console.error(`--- page errors ---\n${pageErrors.slice(-20).join('\n')}`);
    if (server) console.error(`--- server stderr (tail) ---\n${server.stderrTail()}`);
  } finally {
    await browser?.close().catch(() => {});
    await stopServer(server?.child);
    clearTimeout(watchdog);
    if (failed && work) console.error(`${name}: work folder kept: ${work}`);
    else if (work) rmSync(work, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

/**
 * Signs `username` in through the page's login form: logs the current user out first
 * (the header's logout button) when one is signed in, else opens #/login; waits for the
 * form (20 s: the first load) and then for the Datasets page it lands on.
 */
export async function signIn(page, base, username, password) {
  if (await page.isVisible('#logout').catch(() => false)) await page.click('#logout');
  else await page.goto(`${base}/#/login`);
  await page.waitForSelector('#login-username', { timeout: 20_000 });
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('h1:has-text("Datasets")');
}

// End-to-end test of the retraining loop in the web page (issue 18): annotate → retrain →
// new version → compare → activate, on a real server (INFERA_BIN, auth on) with a copy of
// the test models' tiny_unet (INFERA_TEST_MODELS), driven through headless Chromium.
//
//   INFERA_BIN=build/infera INFERA_TEST_MODELS=build/test-models \
//   INFERA_E2E_ARTIFACTS=build/e2e-artifacts [INFERA_WEB_DIR=web] [CHROMIUM=/usr/bin/chromium] \
//   node tests/e2e/retrain.mjs
//
// Scenario (as an admin: activating a version is an admin's): 8 synthetic images (dark disks on a bright background — what
// tiny_unet was not built to find) and stores their masks in a semantic set (through the
// API: the editor's own drawing is editor.mjs's); the editor of that set offers
// "Retrain a model", which opens the form built from the params schema; bob sets 3 epochs
// and starts it; the job's page shows the epochs live (the chart's points and the table),
// completes with version 2, compares v1 and v2 on a held-out image side by side, and the
// roll back / activate buttons switch the version /api/models says is active — after a
// roll back the comparison shows both versions' outputs (one version serves at a time;
// the page keeps what each answered). Exit 0 on
// success; on failure the reason, a screenshot in INFERA_E2E_ARTIFACTS, the server's
// stderr tail, exit 1.

import { join } from 'node:path';
import { grayPng } from './png.mjs';
import { check, api, loginToken } from './server.mjs';
import { runE2E, signIn, testEnv } from './run.mjs';

const T0 = Date.now();
const ADMIN_PASSWORD = 'e2e-admin-pass';
const ENV = testEnv('retrain e2e');
const ARTIFACTS = ENV.artifacts;

const log = (m) => console.log(`[retrain e2e ${((Date.now() - T0) / 1000).toFixed(1)}s] ${m}`);

// ---------------------------------------------------------------- PNG (gray 8-bit; writer in png.mjs)
/** A 64x64 image of 1-3 dark disks on a noisy bright background, and its 0/1 mask. */
function diskImage(seed) {
  let s = seed * 2654435761 % 4294967296;
  const rand = () => { s = (s * 1664525 + 1013904223) % 4294967296; return s / 4294967296; };
  const disks = Array.from({ length: 1 + Math.floor(rand() * 3) },
    () => [12 + Math.floor(rand() * 40), 12 + Math.floor(rand() * 40), 5 + Math.floor(rand() * 6)]);
  const inside = (x, y) => disks.some(([cx, cy, r]) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r);
  const noise = Array.from({ length: 64 * 64 }, () => Math.floor(rand() * 25) - 12);
  return {
    png: grayPng(64, 64, (x, y) => Math.max(0, Math.min(255, (inside(x, y) ? 50 : 200) + noise[y * 64 + x]))),
    mask: grayPng(64, 64, (x, y) => (inside(x, y) ? 1 : 0)),
  };
}

// ---------------------------------------------------------------- the API
/** The version /api/models says serves tiny_unet now (the `active` entry of its versions). */
async function activeVersion(base, token) {
  const { models } = (await api(base, token, 'GET', '/api/models')).json();
  const m = models.find((x) => x.name === 'tiny_unet');
  const active = (m?.versions || []).filter((v) => typeof v === 'object' && v.active).map((v) => v.version);
  return active.length === 1 ? active[0] : `unclear (${JSON.stringify(m?.versions)})`;
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  log(`screenshot ${name}`);
}

// ---------------------------------------------------------------- the scenario
async function scenario(page, base) {
  const bob = await loginToken(base, 'admin', ADMIN_PASSWORD);

  // -- annotate: 8 images and their masks in a semantic set
  const ds = (await api(base, bob, 'POST', '/api/datasets', { name: 'disks' })).json();
  const images = Array.from({ length: 8 }, (_, i) => diskImage(i + 1));
  const form = new FormData();
  images.forEach((im, i) => form.append('files', new Blob([im.png], { type: 'image/png' }), `disk${i}.png`));
  const up = await api(base, bob, 'POST', `/api/datasets/${ds.id}/files`, form);
  check(up.status === 201, `upload: HTTP ${up.status} ${up.bytes}`);
  const files = up.json().files;
  const set = (await api(base, bob, 'POST', `/api/datasets/${ds.id}/annotations`,
    { name: 'disks', kind: 'semantic', labels: [{ id: 1, name: 'disk' }] })).json();
  for (const [i, f] of files.entries()) {
    const r = await api(base, bob, 'PUT', `/api/annotations/${set.id}/images/${f.id}/mask`, images[i].mask, 'image/png');
    check(r.status === 200 || r.status === 201, `mask ${i}: HTTP ${r.status} ${r.bytes}`);
  }
  log(`set ${set.id}: ${files.length} masks`);

  await signIn(page, base, 'admin', ADMIN_PASSWORD);

  // -- the editor offers the retraining; the form comes from the params schema
  await page.goto(`${base}/#/annotations/${set.id}/images/${files[0].id}`);
  await page.waitForSelector('#editor-canvas[data-ready="true"]');
  await page.click('#retrain-link');
  await page.waitForSelector('#retrain-form');
  check(await page.isChecked(`#retrain-set-${set.id}`), 'the set is not chosen on the form');
  check(await page.isVisible('#train-epochs'), 'the form has no epochs field (params schema)');
  await page.selectOption('#retrain-model', 'tiny_unet');
  await page.fill('#train-epochs', '3');
  await page.fill('#train-lr', '0.01');
  await shot(page, 'retrain-form.png');
  await page.click('#start-retraining');
  await page.waitForURL(/#\/retraining\/\d+/);
  const id = Number(/#\/retraining\/(\d+)/.exec(page.url())[1]);
  log(`retraining ${id} started`);

  // -- the job's page follows the epochs and completes with version 2
  await page.waitForSelector('.page-header[data-status="completed"]', { timeout: 150_000 });
  const points = Number(await page.getAttribute('svg.epoch-chart', 'data-epochs'));
  check(points >= 2, `the chart shows ${points} epochs`);
  check(await page.locator('table.epochs tbody tr').count() === points, 'the table and the chart disagree');
  const job = (await api(base, bob, 'GET', `/api/retraining/${id}`)).json();
  check(job.new_version === 2, `new version: ${JSON.stringify(job.new_version)} (${job.note})`);
  log(`completed: v2 ${job.held_back ? 'held back' : 'serving'} (best ${job.best_score}, parent ${job.parent_score})`);
  await page.waitForSelector('#retraining-outcome h2:has-text("Version 2")');

  // -- compare the two versions on a held-out image
  await page.waitForSelector('.compare[data-ready="true"]', { timeout: 30_000 });
  check(await page.locator('.compare figure').count() === 3, 'the comparison does not show the image and two versions');
  await shot(page, 'retraining-done.png');

  // -- activate / roll back: first away from the version serving now (v2, or v1 when v2
  // was held back), then back; after the first switch the comparison has both outputs
  const order = job.held_back ? [['#activate-new', 2], ['#roll-back', 1]] : [['#roll-back', 1], ['#activate-new', 2]];
  for (const [i, [button, version]] of order.entries()) {
    await page.click(button);
    for (let k = 0; k < 50 && await activeVersion(base, bob) !== version; k += 1) await new Promise((r) => setTimeout(r, 200));
    check(await activeVersion(base, bob) === version, `after ${button}: ${await activeVersion(base, bob)}`);
    await page.waitForFunction(() => document.querySelector('.compare')?.dataset.ready === 'true'
      && document.querySelectorAll('.compare img').length === 3, null, { timeout: 30_000 });
    await shot(page, `retraining-${i === 0 ? 'compare' : 'switched-back'}.png`);
  }

  // -- the list
  await page.goto(`${base}/#/retraining`);
  await page.waitForSelector(`table.retrainings tr[data-id="${id}"]`);
  log('activate and roll back switch the served version');
}

// ---------------------------------------------------------------- main
runE2E({
  name: 'retrain e2e', env: ENV, log, timeoutMs: 240_000,
  // A copy of tiny_unet: the retraining writes version 2 into the model's folder.
  server: { models: ['tiny_unet'], adminPassword: ADMIN_PASSWORD, config: ['training: {threads: 2}'] },
  ignoredPageErrors: /status of 40[014]/,
}, scenario);

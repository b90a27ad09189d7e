// End-to-end test of image labels in the web page (issue 18): an annotation set of kind
// image_labels ("image labels": one class per image) labelled in the page, checked
// through the API, on a real server (INFERA_BIN, auth on, a copy of the test models'
// tiny_cls from INFERA_TEST_MODELS), driven through headless Chromium.
//
//   INFERA_BIN=build/infera INFERA_TEST_MODELS=build/test-models \
//   INFERA_E2E_ARTIFACTS=build/e2e-artifacts [INFERA_WEB_DIR=web] [CHROMIUM=/usr/bin/chromium] \
//   node tests/e2e/labels.mjs
//
// Scenario: a dataset of 4 images; the dataset page creates an image_labels set with
// three labels (its form); the set opens in the label picker (#/annotations/{set}); a
// label is picked with the select for one image, with the keys 1–9 for another, then one
// is cleared with 0; "Annotate next" focuses an unlabelled image; the API then reports
// exactly those labels (GET /api/annotations/{set}) with a revision history, and the
// retrain form offers the classifier for the set. Exit 0 on success; on failure the
// reason, a screenshot in INFERA_E2E_ARTIFACTS, the server's stderr tail, exit 1.

import { join } from 'node:path';
import { grayPng } from './png.mjs';
import { check, api, loginToken } from './server.mjs';
import { runE2E, testEnv } from './run.mjs';

const T0 = Date.now();
const ADMIN_PASSWORD = 'e2e-admin-pass';
const ENV = testEnv('labels e2e');
const ARTIFACTS = ENV.artifacts;

const log = (m) => console.log(`[labels e2e ${((Date.now() - T0) / 1000).toFixed(1)}s] ${m}`);

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  log(`screenshot ${name}`);
}

/** Waits until the row of `fileId` shows `label` ('' for none) as saved. */
async function saved(page, fileId, label) {
  await page.waitForFunction(([id, want]) => {
    const row = document.querySelector(`li.label-row[data-file-id="${id}"]`);
    return row && row.dataset.label === want && /saved/.test(row.querySelector('.label-status')?.textContent || '');
  }, [String(fileId), label]);
}

// ---------------------------------------------------------------- the scenario
async function scenario(page, base) {
  const token = await loginToken(base, 'admin', ADMIN_PASSWORD);
  const ds = (await api(base, token, 'POST', '/api/datasets', { name: 'shapes' })).json();
  const form = new FormData();
  for (let i = 0; i < 4; i += 1) {
    form.append('files', new Blob([grayPng(64, 64, (x, y) => ((x + y * i) % 32) * 8)], { type: 'image/png' }), `img${i}.png`);
  }
  const up = await api(base, token, 'POST', `/api/datasets/${ds.id}/files`, form);
  check(up.status === 201, `upload: HTTP ${up.status} ${up.bytes}`);
  const files = up.json().files.sort((a, b) => a.id - b.id);

  await page.goto(`${base}/#/login`);
  await page.waitForSelector('#login-username', { timeout: 20_000 });
  await page.fill('#login-username', 'admin');
  await page.fill('#login-password', ADMIN_PASSWORD);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('h1:has-text("Datasets")');

  // -- the dataset page creates the set; it opens in the label picker
  await page.goto(`${base}/#/datasets/${ds.id}`);
  await page.waitForSelector('#new-set');
  await page.fill('#set-name', 'shape labels');
  await page.selectOption('#set-kind', 'image_labels');
  await page.fill('#set-labels', '1 disk\n2 square\n3 stripes');
  await page.click('#new-set button[type=submit]');
  await page.waitForURL(/#\/annotations\/\d+$/);
  const setId = Number(/#\/annotations\/(\d+)/.exec(page.url())[1]);
  await page.waitForSelector('#image-labels li.label-row');
  check(await page.locator('#image-labels li.label-row').count() === 4, 'the picker does not list the 4 images');
  log(`set ${setId} open in the label picker`);

  // -- a select, the keys, a clear
  await page.selectOption(`#label-${files[0].id}`, '2');
  await saved(page, files[0].id, '2');
  await page.focus(`li.label-row[data-file-id="${files[1].id}"]`);
  await page.keyboard.press('3');
  await saved(page, files[1].id, '3');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('1');
  await saved(page, files[2].id, '1');
  await page.keyboard.press('0');
  await saved(page, files[2].id, '');
  await page.focus(`li.label-row[data-file-id="${files[3].id}"]`);
  await page.keyboard.press('1');
  await saved(page, files[3].id, '1');
  check(/3 of 4 labelled/.test(await page.textContent('#label-counts')), `counts: ${await page.textContent('#label-counts')}`);
  await shot(page, 'labels-picker.png');

  // -- annotate next: the only unlabelled image
  await page.selectOption('#rank-strategy', 'first');
  await page.click('#annotate-next');
  await page.waitForFunction(() => document.querySelector('#annotate-next')?.dataset.ranked);
  const ranked = Number(await page.getAttribute('#annotate-next', 'data-ranked'));
  check(ranked === files[2].id, `annotate next chose ${ranked}, not the unlabelled ${files[2].id}`);

  // -- the API has exactly what the page saved
  const set = (await api(base, token, 'GET', `/api/annotations/${setId}`)).json();
  check(set.kind === 'image_labels', `kind ${set.kind}`);
  const got = Object.fromEntries(set.image_labels.map((l) => [l.file_id, l.label]));
  const want = { [files[0].id]: 2, [files[1].id]: 3, [files[3].id]: 1 };
  check(JSON.stringify(got) === JSON.stringify(want), `labels ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  const revs = (await api(base, token, 'GET', `/api/annotations/${setId}/images/${files[2].id}/revisions`)).json().revisions;
  check(revs.length === 2 && revs[0].label === 1 && revs[1].label === null, `revisions of the cleared image: ${JSON.stringify(revs)}`);
  log('the API reports the labels the page saved');

  // -- the retrain form offers the classifier for the set
  await page.click('a:has-text("Retrain a model")');
  await page.waitForSelector('#retrain-form');
  check(await page.isChecked(`#retrain-set-${setId}`), 'the set is not chosen on the retrain form');
  const options = await page.locator('#retrain-model option').allTextContents();
  check(options.length === 1 && options[0].startsWith('tiny_cls'), `retrain models: ${JSON.stringify(options)}`);
  await shot(page, 'labels-retrain-form.png');
}

// ---------------------------------------------------------------- main
runE2E({
  name: 'labels e2e', env: ENV, log, timeoutMs: 180_000,
  server: { models: ['tiny_cls'], adminPassword: ADMIN_PASSWORD },
  ignoredPageErrors: /status of 40[014]/,
}, scenario);

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
// retrain form offers the classifier for the set; a tiny_cls job's page offers its
// labels CSV (the download is the API's export). Exit 0 on success; on failure the
// reason, a screenshot in INFERA_E2E_ARTIFACTS, the server's stderr tail, exit 1.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { grayPng } from './png.mjs';
import { check, api, loginToken } from './server.mjs';
import { runE2E, signIn, testEnv } from './run.mjs';

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

  await signIn(page, base, 'admin', ADMIN_PASSWORD);

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

  // -- a classification job's page offers its top-1 labels as CSV (export_formats has
  //    labels_csv); the downloaded file is the API's export, one line per image
  const start = await api(base, token, 'POST', '/api/inferences/start', { dataset_id: ds.id, model_id: 'tiny_cls' });
  check(start.status === 202, `start tiny_cls: HTTP ${start.status} ${start.bytes}`);
  const jobId = start.json().inference_id;
  await page.goto(`${base}/#/jobs/${jobId}`);
  await page.waitForSelector('.page-header[data-status="completed"]', { timeout: 60_000 });
  await page.waitForSelector('#download-labels-csv');
  const job = (await api(base, token, 'GET', `/api/inferences/${jobId}`)).json();
  check(JSON.stringify(job.export_formats) === '["labels_csv"]', `export_formats ${JSON.stringify(job.export_formats)}`);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.click('#download-labels-csv'),
  ]);
  check(download.suggestedFilename() === `inference_${jobId}_labels.csv`, `CSV named ${download.suggestedFilename()}`);
  const csvPath = join(ARTIFACTS, `inference_${jobId}_labels.csv`);
  await download.saveAs(csvPath);
  const csv = readFileSync(csvPath, 'utf8');
  const fromApi = await api(base, token, 'GET', `/api/inferences/${jobId}/export?format=labels_csv`);
  check(fromApi.status === 200 && csv === fromApi.bytes.toString('utf8'), `the page's CSV differs from the API's:\n${csv}\n---\n${fromApi.bytes}`);
  const lines = csv.trimEnd().split('\n');
  const shapes = ['disk', 'square', 'stripes'];
  check(lines[0] === 'file,label' && lines.length === 5 &&
    lines.slice(1).every((l, i) => l.startsWith(`img${i}.png,`) && shapes.includes(l.split(',')[1])),
  `the job's labels CSV:\n${csv}`);
  await shot(page, 'labels-job-page.png');
  log(`job ${jobId}: the page's labels CSV has ${lines.length - 1} images`);
}

// ---------------------------------------------------------------- main
runE2E({
  name: 'labels e2e', env: ENV, log, timeoutMs: 180_000,
  server: { models: ['tiny_cls'], adminPassword: ADMIN_PASSWORD },
  contextOptions: { acceptDownloads: true },
  ignoredPageErrors: /status of 40[014]/,
}, scenario);

// End-to-end test of DICOM on the web page (web/js/views/dicom_viewer.js, the series list
// of views/dataset.js, the window field of views/run.js): a real server (INFERA_BIN, auth
// on, the test repository's tiny_unet) driven through headless Chromium.
//
//   INFERA_BIN=build/infera INFERA_TEST_MODELS=build/test-models \
//   INFERA_E2E_ARTIFACTS=build/e2e-artifacts [INFERA_WEB_DIR=web] \
//   [CHROMIUM=/usr/bin/chromium] [PYDICOM_TEST_FILES=...] node tests/e2e/dicom.mjs
//
// Scenario: bob uploads pydicom's CT_small.dcm, MR_small.dcm and SC_rgb_rle_2frame.dcm
// (python3-pydicom's test files; missing files fail the test) through the dataset page's
// file picker; the page lists three series (modality, instance count, size). In the CT
// series the image first comes with the file's window (no ?window=), then with the lung
// preset, then with an explicit centre/width typed in the fields: each image request
// must carry that window, the canvas pixels must change each time and equal the
// server's own PNG for that window (the API's thumbnail, decoded here), and the value
// under the cursor must be pydicom's HU for that pixel. The MR series
// shows its file's window (600/1600) in the fields; the brain preset changes its pixels.
// The two-frame series shows a frame slider whose second frame is requested with
// ?frame=1 and looks different. Then "Run a model on this series" with centre 40, width
// 80: the run form carries the window, and the job started from it has
// params.window = [40, 80] in the API. Exit 0 on success; on failure the reason, a
// screenshot in INFERA_E2E_ARTIFACTS, the server's stderr tail, exit 1.

import { join, resolve } from 'node:path';
import { decodeGrayPng } from './png.mjs';
import { check, api, loginToken } from './server.mjs';
import { runE2E, signIn, testEnv } from './run.mjs';

const T0 = Date.now();
const ADMIN_PASSWORD = 'e2e-admin-pass';
const ENV = testEnv('dicom e2e');
const ARTIFACTS = ENV.artifacts;
const PYDICOM_FILES = resolve(process.env.PYDICOM_TEST_FILES || '/usr/lib/python3/dist-packages/pydicom/data/test_files');
const CT = join(PYDICOM_FILES, 'CT_small.dcm');
const MR = join(PYDICOM_FILES, 'MR_small.dcm');
const TWO_FRAMES = join(PYDICOM_FILES, 'SC_rgb_rle_2frame.dcm');

const log = (m) => console.log(`[dicom e2e ${((Date.now() - T0) / 1000).toFixed(1)}s] ${m}`);

// ---------------------------------------------------------------- page helpers
/** The viewer's canvas: its gray levels (R of RGBA), size and data attributes. */
async function canvasState(page) {
  return page.evaluate(() => {
    const c = document.querySelector('#dicom-canvas');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const gray = []; const rgb = [];
    for (let i = 0; i < data.length; i += 4) { gray.push(data[i]); rgb.push(data[i], data[i + 1], data[i + 2]); }
    return { w: c.width, h: c.height, gray, rgb, ...c.dataset };
  });
}
/** Waits for the canvas to show an image newer than `after` loads with `window` and `frame`. */
async function waitForImage(page, after, window, frame = '0') {
  await page.waitForFunction(([n, w, f]) => {
    const c = document.querySelector('#dicom-canvas');
    return c && Number(c.dataset.loads) > n && c.dataset.window === w && c.dataset.frame === f;
  }, [Number(after), window, frame], { timeout: 15_000 });
  return canvasState(page);
}
function differing(a, b) {
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) if (a[i] !== b[i]) n += 1;
  return n;
}

// ---------------------------------------------------------------- the scenario
async function scenario(page, base) {
  // The image requests the page makes (their ?window= and ?frame=), from its first load on.
  const requests = [];
  page.on('request', (r) => { if (r.url().includes('/thumbnail')) requests.push(r.url()); });
  const admin = await loginToken(base, 'admin', ADMIN_PASSWORD);
  const made = await api(base, admin, 'POST', '/api/users', { username: 'bob', password: 'bob-password-1', role: 'user' });
  check(made.status === 201, `create bob: HTTP ${made.status} ${made.bytes}`);
  const bob = await loginToken(base, 'bob', 'bob-password-1');
  const ds = (await api(base, bob, 'POST', '/api/datasets', { name: 'dicom e2e' })).json();

  // -- the upload through the page's file picker; three series listed
  await signIn(page, base, 'bob', 'bob-password-1');
  await page.goto(`${base}/#/datasets/${ds.id}`);
  await page.setInputFiles('#file-input', [CT, MR, TWO_FRAMES]);
  await page.waitForFunction(() => document.querySelectorAll('#dicom-series .series-card').length === 3, null, { timeout: 30_000 });
  const cards = await page.$$eval('#dicom-series .series-card', (els) => els.map((e) => e.textContent));
  const ctCard = cards.find((t) => /\bCT\b/.test(t));
  check(ctCard && /1 instance\b/.test(ctCard) && /128×128/.test(ctCard), `the CT series card: ${JSON.stringify(cards)}`);
  check(cards.some((t) => /\bMR\b/.test(t) && /64×64/.test(t)), `no MR series card: ${JSON.stringify(cards)}`);
  check(cards.some((t) => /2 frames/.test(t)), `no two-frame series card: ${JSON.stringify(cards)}`);
  check(!cards.some((t) => /CompressedSamples|Anonymized|\^/.test(t)), `patient data on a card: ${JSON.stringify(cards)}`);
  await page.screenshot({ path: join(ARTIFACTS, 'dicom-series.png') });
  const series = (await api(base, bob, 'GET', `/api/datasets/${ds.id}/series`)).json().series;
  const ct = series.find((s) => s.modality === 'CT');
  const mr = series.find((s) => s.modality === 'MR');
  const sc = series.find((s) => s.files[0].frames === 2);
  check(ct && mr && sc, `series: ${JSON.stringify(series)}`);
  log('three series listed after the upload through the page');

  // -- the CT series: the file's window, then lung, then centre/width typed in
  await page.click(`#dicom-series .series-card[data-series-uid="${ct.series_instance_uid}"] a`);
  await page.waitForURL(new RegExp(`#/datasets/${ds.id}/series/${ct.series_instance_uid.replace(/\./g, '\\.')}$`));
  const ctFile = ct.files[0].id;
  const own = await waitForImage(page, 0, '');
  check(own.w === 128 && own.h === 128, `the CT canvas is ${own.w}x${own.h}`);
  const thumbs = () => requests.filter((u) => u.includes(`/api/files/${ctFile}/thumbnail`)).map((u) => new URL(u));
  check(thumbs().length >= 1 && !thumbs()[0].searchParams.has('window'), `the first CT image request: ${thumbs()[0]}`);

  await page.click('#preset-lung');
  const lung = await waitForImage(page, own.loads, 'lung');
  check(thumbs().some((u) => u.searchParams.get('window') === 'lung'), `no image request with window=lung: ${thumbs().join(' ')}`);
  check(differing(lung.gray, own.gray) > 1000, `the lung window changed only ${differing(lung.gray, own.gray)} pixels`);
  check(await page.inputValue('#window-center') === '-600' && await page.inputValue('#window-width') === '1500', 'the fields do not show the lung preset');

  const before = thumbs().length;
  await page.fill('#window-center', '40');
  await page.fill('#window-width', '80');
  const typed = await waitForImage(page, lung.loads, '40,80');
  const windowed = thumbs().slice(before).map((u) => u.searchParams.get('window'));
  check(windowed.at(-1) === '40,80', `the image requests after typing carried ${JSON.stringify(windowed)}`);
  check(windowed.length <= 2, `typing made ${windowed.length} image requests (not debounced)`);
  check(differing(typed.gray, lung.gray) > 1000, `centre 40 width 80 changed only ${differing(typed.gray, lung.gray)} pixels`);
  // The canvas shows what the server windows for 40,80.
  const server = await api(base, bob, 'GET', `/api/files/${ctFile}/thumbnail?size=128&window=40,80`);
  check(server.status === 200, `thumbnail 40,80: HTTP ${server.status}`);
  const expected = decodeGrayPng(server.bytes);
  let off = 0;
  for (let i = 0; i < expected.px.length; i += 1) if (Math.abs(expected.px[i] - typed.gray[i]) > 1) off += 1;
  check(expected.w === 128 && off === 0, `${off} canvas pixels differ from the server's 40,80 image`);
  await page.screenshot({ path: join(ARTIFACTS, 'dicom-ct-window.png') });
  log('CT: file window, lung preset and explicit 40/80 requested and shown');

  // -- the value under the cursor: HU from the API's modality values (pydicom's
  // pixel_array * slope + intercept of CT_small.dcm: -839 at row 10, column 20)
  const box = await page.locator('#dicom-canvas').boundingBox();
  await page.mouse.move(box.x + (20.5 / 128) * box.width, box.y + (10.5 / 128) * box.height);
  await page.waitForFunction(() => /:/.test(document.querySelector('#pixel-value').textContent));
  const under = await page.textContent('#pixel-value');
  check(under === '20, 10: -839 HU', `the value under the cursor reads "${under}"`);
  log(`under the cursor: ${under}`);

  // -- the slider moves the centre too
  const beforeSlider = typed.loads;
  await page.evaluate(() => {
    const r = document.querySelector('#window-center-range');
    r.value = '300';
    r.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await waitForImage(page, beforeSlider, '300,80');
  check(await page.inputValue('#window-center') === '300', 'the centre slider did not update the field');

  // -- the MR series: its file's window in the fields; the brain preset
  await page.goto(`${base}/#/datasets/${ds.id}/series/${mr.series_instance_uid}`);
  const mrOwn = await waitForImage(page, 0, '');
  check(await page.inputValue('#window-center') === '600' && await page.inputValue('#window-width') === '1600',
    `the MR fields show ${await page.inputValue('#window-center')}/${await page.inputValue('#window-width')}, not the file's 600/1600`);
  await page.click('#preset-brain');
  const brain = await waitForImage(page, mrOwn.loads, 'brain');
  check(differing(brain.gray, mrOwn.gray) > 500, `the brain window changed only ${differing(brain.gray, mrOwn.gray)} MR pixels`);
  log('MR: file window 600/1600 shown, brain preset applied');

  // -- two frames: the frame slider
  await page.goto(`${base}/#/datasets/${ds.id}/series/${sc.series_instance_uid}`);
  const first = await waitForImage(page, 0, '', '0');
  check(await page.isVisible('#frame-slider'), 'no frame slider for a two-frame instance');
  await page.evaluate(() => {
    const r = document.querySelector('#frame-slider');
    r.value = '2';
    r.dispatchEvent(new Event('input', { bubbles: true }));
  });
  const second = await waitForImage(page, first.loads, '', '1');
  check(requests.some((u) => u.includes(`/api/files/${sc.files[0].id}/thumbnail`) && new URL(u).searchParams.get('frame') === '1'), 'no request of frame 1');
  check(differing(second.rgb, first.rgb) > 1000, 'the second frame looks like the first');
  log('two-frame instance: the frame slider shows frame 2');

  // -- run a model with the chosen window
  await page.goto(`${base}/#/datasets/${ds.id}/series/${ct.series_instance_uid}`);
  const again = await waitForImage(page, 0, '');
  await page.fill('#window-center', '40');
  await page.fill('#window-width', '80');
  await waitForImage(page, again.loads, '40,80');
  await page.click('#run-series');
  await page.waitForSelector('#run-window');
  check(await page.inputValue('#run-window') === '40,80', `the run form's window is ${await page.inputValue('#run-window')}`);
  await page.selectOption('#run-dataset', String(ds.id));
  await page.selectOption('#run-model', 'tiny_unet');
  await page.click('button:has-text("Start inference")');
  await page.waitForURL(/#\/jobs\/\d+/);
  const jobId = Number(/#\/jobs\/(\d+)/.exec(page.url())[1]);
  const job = (await api(base, bob, 'GET', `/api/inferences/${jobId}`)).json();
  check(JSON.stringify(job.params?.window) === JSON.stringify([40, 80]), `the job's params: ${JSON.stringify(job.params)}`);
  await page.screenshot({ path: join(ARTIFACTS, 'dicom-job.png') });
  log(`job ${jobId} started with params.window [40, 80]`);
}

// ---------------------------------------------------------------- main
runE2E({
  name: 'dicom e2e', env: ENV, log, timeoutMs: 180_000,
  server: { models: ['tiny_unet'], adminPassword: ADMIN_PASSWORD },
  requires: [CT, MR, TWO_FRAMES].map((f) => [f, `${f} is missing (python3-pydicom's test files; set PYDICOM_TEST_FILES)`]),
  ignoredPageErrors: /status of 40[134]/,
}, scenario);

// End-to-end test of infera's web page: a real server (INFERA_BIN) with real test models
// (INFERA_TEST_MODELS), driven through headless Chromium (playwright-core, CHROMIUM).
//
//   INFERA_BIN=build/infera INFERA_TEST_MODELS=build/test-models \
//   INFERA_E2E_ARTIFACTS=build/e2e-artifacts [INFERA_WEB_DIR=web] [CHROMIUM=/usr/bin/chromium] \
//   node tests/e2e/e2e.mjs
//
// Scenario: wrong password -> message; sign in; create a dataset; upload images (file
// input and drag-and-drop), a corrupt .png (its error shown) and a ZIP; thumbnails; the
// models screen; a params form from params_schema (an invalid value is refused in the
// page); binary (tiny_unet) and instance (cellpose_tiny, 16-bit TIFFs) jobs with live
// progress to completed; the viewer: pixel checks of the mask overlay at opacity 1, 0.5
// and 0, ArrowRight, zoom (button, wheel) and pan, legend and object count, side by side;
// the results ZIP; "Correct masks" opening the job's masks in the annotation editor;
// token refresh; a 400-px-wide window without horizontal overflow;
// logout. Screenshots of every screen go to INFERA_E2E_ARTIFACTS. Exit 0 on success;
// on failure: the reason, a failure screenshot, the server's stderr tail, exit 1.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckError, check } from './server.mjs';
import { runE2E, testEnv } from './run.mjs';

const T0 = Date.now();
const JOB_TIMEOUT_MS = 120_000;
const PASSWORD = 'e2e-secret-pass';
const UNET_RGB = [0xe6, 0x19, 0x4b]; // LabelColor(1): a binary mask's colour

const ENV = testEnv('e2e');
const MODELS = ENV.models;
const ARTIFACTS = ENV.artifacts;
const WEB_DIR = ENV.webDir;
const IMAGES = join(MODELS, 'images');

function log(message) {
  console.log(`[e2e ${((Date.now() - T0) / 1000).toFixed(1)}s] ${message}`);
}

// ---------------------------------------------------------------- tiny ZIP writer (STORE)
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** A ZIP of [{name, data}] with stored (uncompressed) entries. */
function makeZip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralDir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDir, end]);
}
/** The entry names of a ZIP, from its central directory. */
function zipNames(buf) {
  check(buf.length > 22 && buf.readUInt32LE(0) === 0x04034b50, 'the download is not a ZIP (no PK\\3\\4 at the start)');
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i -= 1) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  check(eocd >= 0, 'the ZIP has no end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const names = [];
  for (let i = 0; i < count; i += 1) {
    check(buf.readUInt32LE(p) === 0x02014b50, 'bad ZIP central directory');
    const n = buf.readUInt16LE(p + 28);
    const extra = buf.readUInt16LE(p + 30);
    const comment = buf.readUInt16LE(p + 32);
    names.push(buf.subarray(p + 46, p + 46 + n).toString('utf8'));
    p += 46 + n + extra + comment;
  }
  return names;
}

// ---------------------------------------------------------------- page helpers
async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  log(`screenshot ${name}`);
}

async function noHorizontalOverflow(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
  }));
  check(scrollWidth <= innerWidth + 1, `${what}: the page is ${scrollWidth}px wide in a ${innerWidth}px window (horizontal overflow)`);
}

/** GET an API path from inside the page (with the page's token). */
function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { headers: { Authorization: `Bearer ${sessionStorage.getItem('infera.access_token')}` } });
    if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  }, path);
}

/** Waits until the viewer shows `filename` and has drawn it. */
async function waitViewer(page, filename) {
  await page.waitForFunction((name) => {
    const c = document.querySelector('#viewer-canvas');
    const t = document.querySelector('.viewer-title');
    return c && c.dataset.ready === 'true' && t && t.textContent.startsWith(name);
  }, filename, { timeout: 20_000 });
}

/**
 * The pixel check: the viewer's canvas against the job's class mask (fetched and decoded
 * in the page). For image pixels inside the mask (3x3 neighbourhood all foreground) and
 * inside the background, reads the canvas pixel at the image pixel's centre at opacity
 * 1, 0.5 and 0. The source (blobs.png) is grayscale, so the plain image is R = G = B.
 */
function overlayPixelCheck(page, jobId, index) {
  return page.evaluate(async ({ jobId, index, color }) => {
    const token = sessionStorage.getItem('infera.access_token');
    const get = async (p) => {
      const r = await fetch(p, { headers: { Authorization: `Bearer ${token}` } });
      if (!r.ok) throw new Error(`${p}: HTTP ${r.status}`);
      return r;
    };
    const job = await (await get(`/api/inferences/${jobId}`)).json();
    const result = job.results[index];
    const maskBitmap = await createImageBitmap(await (await get(`/api/files/${result.class_mask_id}`)).blob());
    const mw = maskBitmap.width;
    const mh = maskBitmap.height;
    const off = new OffscreenCanvas(mw, mh);
    const og = off.getContext('2d');
    og.drawImage(maskBitmap, 0, 0);
    const mdata = og.getImageData(0, 0, mw, mh).data;
    const fg = (x, y) => mdata[4 * (y * mw + x)] > 0;
    const interior = (x, y, want) => {
      for (let dy = -1; dy <= 1; dy += 1) for (let dx = -1; dx <= 1; dx += 1) {
        const xx = x + dx; const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= mw || yy >= mh || fg(xx, yy) !== want) return false;
      }
      return true;
    };
    const canvas = document.querySelector('#viewer-canvas');
    const slider = document.querySelector('#opacity');
    const setOpacity = (v) => {
      slider.value = String(v);
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    };
    const read = () => {
      const g = canvas.getContext('2d');
      const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
      const scale = Number(canvas.dataset.scale);
      const ox = Number(canvas.dataset.ox);
      const oy = Number(canvas.dataset.oy);
      return (x, y) => {
        const cx = Math.floor(ox + (x + 0.5) * scale);
        const cy = Math.floor(oy + (y + 0.5) * scale);
        const i = 4 * (cy * canvas.width + cx);
        return [data[i], data[i + 1], data[i + 2]];
      };
    };
    const inside = [];
    const outside = [];
    for (let y = 0; y < mh; y += 1) for (let x = 0; x < mw; x += 1) {
      if (interior(x, y, true)) inside.push([x, y]);
      else if (interior(x, y, false)) outside.push([x, y]);
    }
    setOpacity(100);
    const full = read();
    setOpacity(0);
    const none = read();
    setOpacity(50);
    const half = read();
    const near = (a, b, tol) => a.every((v, i) => Math.abs(v - b[i]) <= tol);
    const gray = (p) => Math.max(...p) - Math.min(...p) <= 1;
    let fullIsColor = 0; let noneIsGray = 0; let halfBlends = 0; let outsideUnchanged = 0;
    for (const [x, y] of inside) {
      const plain = none(x, y);
      if (near(full(x, y), color, 2)) fullIsColor += 1;
      if (gray(plain)) noneIsGray += 1;
      const expect = plain.map((v, i) => Math.round(0.5 * v + 0.5 * color[i]));
      if (near(half(x, y), expect, 3)) halfBlends += 1;
    }
    for (const [x, y] of outside) if (near(full(x, y), none(x, y), 0) && gray(none(x, y))) outsideUnchanged += 1;
    return {
      mask: [mw, mh], inside: inside.length, outside: outside.length,
      fullIsColor, noneIsGray, halfBlends, outsideUnchanged,
      scale: Number(canvas.dataset.scale),
    };
  }, { jobId, index, color: UNET_RGB });
}

/** Fills the run form for `model` and starts the job; returns the job id. */
async function startJob(page, datasetId, model, fill) {
  await page.goto(`${page.baseUrl}/#/run?dataset=${datasetId}&model=${model}`);
  await page.waitForSelector('#run-model');
  await page.selectOption('#run-model', model);
  await page.waitForSelector('.params legend:has-text("Params for")');
  await fill();
  await page.click('button:has-text("Start inference")');
  await page.waitForFunction(() => /^#\/jobs\/\d+$/.test(location.hash), null, { timeout: 15_000 });
  const id = Number((await page.evaluate(() => location.hash)).split('/').pop());
  log(`job ${id} (${model}) started`);
  return id;
}

async function waitJobCompleted(page, jobId) {
  await page.waitForSelector(`.page-header[data-status]`, { timeout: 15_000 });
  const handle = await page.waitForFunction(() => {
    const s = document.querySelector('.page-header')?.dataset.status;
    return s && s !== 'queued' && s !== 'running' ? s : null;
  }, null, { timeout: JOB_TIMEOUT_MS, polling: 250 });
  const status = await handle.jsonValue();
  check(status === 'completed', `job ${jobId} ended ${status}, expected completed`);
  const text = await page.textContent('.progress-text');
  check(/(\d+) of \1 images/.test(text), `job ${jobId}: the progress bar says "${text}" at the end`);
}

// ---------------------------------------------------------------- the scenario
async function scenario(page, base) {
  page.baseUrl = base;

  // -- login: a wrong password, then the right one
  await page.goto(`${base}/`);
  try {
    await page.waitForSelector('#login-username', { timeout: 20_000 });
  } catch {
    throw new CheckError(`no login form at ${base}/: the server does not serve the web page${WEB_DIR ? '' : ' (set INFERA_WEB_DIR to serve web/ from disk)'}; the page says: ${(await page.textContent('body').catch(() => '')).slice(0, 200)}`);
  }
  await shot(page, 'login.png');
  await page.fill('#login-username', 'admin');
  await page.fill('#login-password', 'not-the-password');
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('.login-form .message.error:not([hidden])');
  const loginError = await page.textContent('.login-form .message.error');
  check(/wrong user name or password/i.test(loginError), `wrong password: the message is "${loginError}"`);
  log(`wrong password shows: ${loginError}`);
  await page.fill('#login-password', PASSWORD);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('h1:has-text("Datasets")');
  check((await page.textContent('.user-name')).includes('admin'), 'the header does not show the user name');
  check(await page.isVisible('#logout'), 'no logout button');
  log('signed in');

  // -- create a dataset
  await page.fill('#dataset-name', 'e2e cells');
  await page.fill('#dataset-description', 'uploaded by tests/e2e/e2e.mjs');
  await page.click('button:has-text("Create dataset")');
  await page.waitForSelector('h1:has-text("e2e cells")');
  const datasetId = Number((await page.evaluate(() => location.hash)).split('/').pop());
  check(datasetId > 0, 'no dataset id in the URL after creating one');
  log(`dataset ${datasetId} created`);

  // -- uploads: three images, a corrupt .png and a ZIP through the file input...
  const zip = makeZip([
    { name: 'zipped/disk.png', data: readFileSync(join(IMAGES, 'disk.png')) },
    { name: 'zipped/cells_01.tif', data: readFileSync(join(IMAGES, 'cells', 'cells_01.tif')) },
  ]);
  await page.setInputFiles('#file-input', [
    { name: 'blobs.png', mimeType: 'image/png', buffer: readFileSync(join(IMAGES, 'blobs.png')) },
    { name: 'cells_00.tif', mimeType: 'image/tiff', buffer: readFileSync(join(IMAGES, 'cells', 'cells_00.tif')) },
    { name: 'corrupt.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG, just some garbage bytes\n'.repeat(20)) },
    { name: 'more.zip', mimeType: 'application/zip', buffer: zip },
  ]);
  // ... and one more by drag-and-drop onto the drop zone.
  const square = readFileSync(join(IMAGES, 'square.png')).toString('base64');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'square.png', { type: 'image/png' }));
    const zone = document.querySelector('.dropzone');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, square);
  const row = (name) => `li.upload[data-filename="${name}"]`;
  for (const name of ['blobs.png', 'cells_00.tif', 'more.zip', 'square.png']) {
    await page.waitForSelector(`${row(name)}.ok`, { timeout: 30_000 });
  }
  await page.waitForSelector(`${row('corrupt.png')}.error`, { timeout: 30_000 });
  const corruptText = await page.textContent(`${row('corrupt.png')} .upload-errors`);
  check(/not an image/i.test(corruptText), `corrupt.png: the error shown is "${corruptText}"`);
  check((await page.textContent(`${row('more.zip')} .upload-status`)).includes('2 images stored'), 'the ZIP row does not say 2 images stored');
  check(await page.locator(`${row('blobs.png')} progress`).count() === 1, 'an upload has no progress bar');
  await page.waitForFunction(() => document.querySelectorAll('.thumb.loaded').length === 5, null, { timeout: 30_000 });
  log(`uploads done; corrupt.png refused: ${corruptText.trim()}`);
  await shot(page, 'dataset.png');

  // -- the datasets list
  await page.click('nav a:has-text("Datasets")');
  await page.waitForSelector(`tr[data-id="${datasetId}"]`);
  check((await page.textContent(`tr[data-id="${datasetId}"]`)).includes('5'), 'the datasets list does not show 5 files');
  await shot(page, 'datasets.png');

  // -- models
  await page.click('nav a:has-text("Models")');
  for (const m of ['tiny_unet', 'cellpose_tiny']) {
    await page.waitForSelector(`li.model[data-model="${m}"] .badge.ready`);
  }
  check((await page.textContent('li.model[data-model="cellpose_tiny"]')).includes('cellpose'), 'the runner is not shown');
  await shot(page, 'models.png');

  // -- run tiny_unet: the params form from the schema, an invalid value, then a good one
  const unetJob = await startJob(page, datasetId, 'tiny_unet', async () => {
    check(await page.inputValue('#param-threshold') === '0.5', 'threshold does not show its default 0.5');
    check(await page.isVisible('#param-output_is_probability'), 'no checkbox for output_is_probability');
    await page.fill('#param-threshold', '1.5');
    await page.click('button:has-text("Start inference")');
    await page.waitForSelector('[data-param="threshold"] .field-error:not([hidden])');
    const msg = await page.textContent('[data-param="threshold"] .field-error');
    check(/between 0 and 1/.test(msg), `threshold 1.5: the message is "${msg}"`);
    check((await page.evaluate(() => location.hash)).startsWith('#/run'), 'an invalid param still started a job');
    log(`invalid threshold refused in the page: ${msg}`);
    await page.fill('#param-threshold', '0.4');
    await shot(page, 'run.png');
  });
  await waitJobCompleted(page, unetJob);
  // A segmentation job's page: the results ZIP, but no labels CSV (a classifier's export).
  await page.waitForSelector('#download-zip');
  check(await page.locator('#download-labels-csv').count() === 0, 'a tiny_unet job offers a labels CSV');
  log(`job ${unetJob} completed`);

  // -- run cellpose_tiny on the 16-bit cells ([cyto, nucleus] = [1, 2])
  const cellposeJob = await startJob(page, datasetId, 'cellpose_tiny', async () => {
    await page.fill('#param-channels-0', '1');
    await page.fill('#param-channels-1', '2');
    // model_channels 1 is within the schema's bounds (0..3) but the runner refuses it:
    // the server's 400 message must be shown.
    await page.fill('#param-model_channels', '1');
    await page.click('button:has-text("Start inference")');
    await page.waitForSelector('.run-form > .message.error:not([hidden])');
    const refused = await page.textContent('.run-form > .message.error');
    check(/model_channels must be/.test(refused), `server 400: the page shows "${refused}"`);
    log(`server 400 shown: ${refused}`);
    await page.fill('#param-model_channels', '0');
  });
  await page.waitForSelector('.progress progress');
  await waitJobCompleted(page, cellposeJob);
  log(`job ${cellposeJob} completed`);

  // -- the jobs list
  await page.click('nav a:has-text("Jobs")');
  await page.waitForSelector(`tr[data-job-id="${cellposeJob}"][data-status="completed"]`);
  await page.waitForSelector(`tr[data-job-id="${unetJob}"][data-status="completed"]`);
  await shot(page, 'jobs.png');

  // -- cancel: 12 large 16-bit cell images (~0.5 s each), a cellpose job canceled from
  //    its page while it runs; it ends canceled with images left undone.
  await page.click('nav a:has-text("Datasets")');
  await page.waitForSelector('#dataset-name');
  await page.fill('#dataset-name', 'e2e cancel');
  await page.click('button:has-text("Create dataset")');
  await page.waitForSelector('h1:has-text("e2e cancel")');
  const cancelDataset = Number((await page.evaluate(() => location.hash)).split('/').pop());
  const large = readFileSync(join(IMAGES, 'cells', 'cells_large.tif'));
  const largeNames = Array.from({ length: 12 }, (_, i) => `large_${String(i).padStart(2, '0')}.tif`);
  await page.setInputFiles('#file-input', largeNames.map((name) => ({ name, mimeType: 'image/tiff', buffer: large })));
  for (const name of largeNames) await page.waitForSelector(`${row(name)}.ok`, { timeout: 30_000 });
  const cancelJob = await startJob(page, cancelDataset, 'cellpose_tiny', async () => {
    await page.fill('#param-channels-0', '1');
    await page.fill('#param-channels-1', '2');
  });
  await page.waitForSelector('#cancel-job:not([disabled])', { timeout: 15_000 });
  await page.click('#cancel-job');
  const ended = await page.waitForFunction(() => {
    const s = document.querySelector('.page-header')?.dataset.status;
    return s === 'canceled' || s === 'completed' || s === 'failed' ? s : null;
  }, null, { timeout: JOB_TIMEOUT_MS, polling: 250 });
  const cancelStatus = await ended.jsonValue();
  check(cancelStatus === 'canceled', `job ${cancelJob} ended ${cancelStatus} after Cancel, expected canceled`);
  const canceled = await apiGet(page, `/api/inferences/${cancelJob}`);
  check(canceled.progress.done < canceled.progress.total,
    `canceled job ${cancelJob} still did ${canceled.progress.done} of ${canceled.progress.total} images`);
  check(!(await page.isVisible('#cancel-job')), 'the cancel button is still shown on a canceled job');
  log(`job ${cancelJob} canceled after ${canceled.progress.done} of ${canceled.progress.total} images`);

  // -- the viewer on tiny_unet: pixel checks on blobs.png (grayscale source)
  const unet = await apiGet(page, `/api/inferences/${unetJob}`);
  const blobsIndex = unet.results.findIndex((r) => r.source_filename === 'blobs.png');
  check(blobsIndex >= 0 && unet.results.length === 5, `tiny_unet job: ${unet.results.length} results`);
  await page.goto(`${base}/#/jobs/${unetJob}/view/${blobsIndex}`);
  await waitViewer(page, 'blobs.png');
  const px = await overlayPixelCheck(page, unetJob, blobsIndex);
  log(`pixel check: ${JSON.stringify(px)}`);
  check(px.inside >= 20 && px.outside >= 20, `too few mask/background pixels to check (${px.inside}/${px.outside})`);
  check(px.fullIsColor === px.inside, `opacity 100%: only ${px.fullIsColor}/${px.inside} mask pixels show the overlay colour`);
  check(px.noneIsGray === px.inside, `opacity 0%: ${px.inside - px.noneIsGray}/${px.inside} mask pixels are still coloured`);
  check(px.halfBlends >= px.inside * 0.98, `opacity 50%: only ${px.halfBlends}/${px.inside} mask pixels are a 50% blend`);
  check(px.outsideUnchanged === px.outside, `background pixels change with the overlay (${px.outsideUnchanged}/${px.outside})`);
  const legend = await page.textContent('#legend');
  check(legend.length > 0, 'no legend');
  const swatch = await page.evaluate(() => getComputedStyle(document.querySelector('#legend .swatch')).backgroundColor);
  check(swatch === `rgb(${UNET_RGB.join(', ')})`, `the legend swatch is ${swatch}`);

  // ArrowRight: from the first image to the second
  await page.selectOption('#image-select', '0');
  await waitViewer(page, unet.results[0].source_filename);
  await page.focus('#viewer-canvas');
  await page.keyboard.press('ArrowRight');
  await waitViewer(page, unet.results[1].source_filename);
  check((await page.evaluate(() => location.hash)).endsWith('/view/1'), 'ArrowRight did not update the URL');
  log(`ArrowRight: ${unet.results[0].source_filename} -> ${unet.results[1].source_filename}`);

  // zoom (button, wheel) and pan (drag)
  const view = () => page.evaluate(() => {
    const d = document.querySelector('#viewer-canvas').dataset;
    return { scale: Number(d.scale), ox: Number(d.ox), oy: Number(d.oy) };
  });
  const v0 = await view();
  await page.click('#zoom-in');
  const v1 = await view();
  check(Math.abs(v1.scale / v0.scale - 1.25) < 1e-6, `zoom in: scale ${v0.scale} -> ${v1.scale}`);
  const box = await page.locator('#viewer-canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 3, box.y + box.height / 3);
  await page.mouse.wheel(0, -200);
  await page.waitForFunction((s) => Number(document.querySelector('#viewer-canvas').dataset.scale) > s * 1.2, v1.scale, { timeout: 5000 });
  const v2 = await view();
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 3 + 60, box.y + box.height / 3 + 40, { steps: 4 });
  await page.mouse.up();
  const v3 = await view();
  check(Math.abs(v3.ox - v2.ox - 60) < 2 && Math.abs(v3.oy - v2.oy - 40) < 2, `pan: ${JSON.stringify(v2)} -> ${JSON.stringify(v3)}`);
  await page.click('#zoom-fit');
  check(Math.abs((await view()).scale - v0.scale) < 1e-6, 'Fit does not restore the view');
  log(`zoom ${v0.scale.toFixed(2)} -> ${v1.scale.toFixed(2)} -> ${v2.scale.toFixed(2)}, pan ok`);

  // -- the viewer on cellpose: instance colours, object count, side by side
  const cp = await apiGet(page, `/api/inferences/${cellposeJob}`);
  const cellsIndex = cp.results.findIndex((r) => r.source_filename === 'cells_00.tif');
  await page.goto(`${base}/#/jobs/${cellposeJob}/view/${cellsIndex}`);
  await waitViewer(page, 'cells_00.tif');
  const count = Number(await page.textContent('#object-count'));
  check(count === cp.results[cellsIndex].summary.count && count > 5, `object count shown ${count}, summary ${cp.results[cellsIndex].summary.count}`);
  const colours = await page.evaluate(() => {
    const slider = document.querySelector('#opacity');
    slider.value = '100';
    slider.dispatchEvent(new Event('input'));
    const c = document.querySelector('#viewer-canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 30) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    slider.value = '50';
    slider.dispatchEvent(new Event('input'));
    return seen.size;
  });
  check(colours >= Math.min(count, 10), `instance overlay: only ${colours} distinct colours for ${count} objects`);
  log(`cellpose viewer: ${count} objects, ${colours} colours`);
  await shot(page, 'viewer.png');
  await page.check('#side-by-side');
  await page.waitForSelector('#viewer-plain:visible');
  await shot(page, 'viewer-side-by-side.png');
  await page.uncheck('#side-by-side');

  // -- the results ZIP
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.click('#download-zip'),
  ]);
  const zipPath = join(ARTIFACTS, `inference_${cellposeJob}.zip`);
  await download.saveAs(zipPath);
  const names = zipNames(readFileSync(zipPath));
  check(names.includes('results.json'), `the ZIP has no results.json (${names.join(', ')})`);
  check(names.some((n) => n.startsWith('masks/')), 'the ZIP has no masks/');
  log(`download: ${download.suggestedFilename()} with ${names.length} entries`);

  // -- "Correct masks": the job's masks become an instance set, opened in the editor at
  // this image with the job's mask as revision 1; a second press opens the same set
  for (let round = 0; round < 2; round += 1) {
    await page.goto(`${base}/#/jobs/${cellposeJob}/view/${cellsIndex}`);
    await waitViewer(page, 'cells_00.tif');
    await page.click('#correct-masks');
    await page.waitForSelector('#editor-canvas[data-ready="true"]', { timeout: 20_000 });
    check(await page.getAttribute('#editor-canvas', 'data-revision') === '1', 'the editor did not open the job\'s mask');
    check(await page.isVisible('#new-instance'), 'the job\'s set is not an instance set in the editor');
  }
  const correctedSets = (await apiGet(page, `/api/datasets/${cp.dataset_id}/annotations`)).annotation_sets;
  check(correctedSets.length === 1 && correctedSets[0].kind === 'instances', `sets after "Correct masks": ${JSON.stringify(correctedSets)}`);
  await shot(page, 'editor-from-viewer.png');
  log('"Correct masks" opens the job\'s masks in the editor');

  // -- an expired/invalid access token is renewed with the refresh token, once, even
  // when two requests fail at the same time (the run screen loads datasets and models
  // in parallel; a second refresh would replay the single-use token and end the session)
  await page.evaluate(() => {
    sessionStorage.setItem('infera.access_token', 'expired.token.value');
    location.hash = '#/run';
  });
  await page.waitForSelector('#run-model');
  check(await page.evaluate(() => sessionStorage.getItem('infera.access_token') !== 'expired.token.value'), 'the access token was not refreshed');
  await page.goto(`${base}/#/jobs`);
  await page.reload();
  await page.waitForSelector(`tr[data-job-id="${cellposeJob}"]`);
  log('token refresh ok');

  // -- a narrow window: every screen stacks without horizontal overflow
  await page.setViewportSize({ width: 400, height: 800 });
  for (const [hash, selector] of [
    [`#/datasets`, `tr[data-id="${datasetId}"]`],
    [`#/datasets/${datasetId}`, '.thumb.loaded'],
    ['#/models', 'li.model'],
    [`#/run?dataset=${datasetId}&model=cellpose_tiny`, '#param-channels-0'],
    ['#/jobs', `tr[data-job-id="${unetJob}"]`],
    [`#/jobs/${cellposeJob}`, '.page-header[data-status="completed"]'],
    [`#/jobs/${cellposeJob}/view/${cellsIndex}`, '#viewer-canvas[data-ready="true"]'],
  ]) {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector(selector);
    await noHorizontalOverflow(page, `400px ${hash}`);
  }
  await shot(page, 'narrow.png');
  await page.setViewportSize({ width: 1280, height: 800 });

  // -- logout
  await page.click('#logout');
  await page.waitForSelector('#login-username');
  check(await page.evaluate(() => sessionStorage.getItem('infera.access_token')) === null, 'logout left the token');
  log('logged out');
}

// ---------------------------------------------------------------- main
runE2E({
  name: 'e2e', env: ENV, log, timeoutMs: 240_000,
  // The two models the scenario uses, linked as they are (warm-up included).
  server: { models: ['tiny_unet', 'cellpose_tiny'], adminPassword: PASSWORD, linkModels: true },
  viewport: { width: 1280, height: 800 },
  contextOptions: { acceptDownloads: true },
  ignoredPageErrors: /status of 40[01]/, failureShot: 'failure.png',
}, scenario);

// End-to-end test of the annotation editor (web/js/views/annotate.js): a real server
// (INFERA_BIN, auth on, the test repository's tiny_unet for "Annotate next") driven
// through headless Chromium.
//
//   INFERA_BIN=build/infera INFERA_TEST_MODELS=build/test-models \
//   INFERA_E2E_ARTIFACTS=build/e2e-artifacts [INFERA_WEB_DIR=web] \
//   [CHROMIUM=/usr/bin/chromium] node tests/e2e/editor.mjs
//
// Scenario: bob signs in, makes a semantic set over a 64x48 image from the dataset page,
// and in the editor (at 400%, so image pixel (x, y) is at a known spot) draws a square
// outline with the 1-pixel brush, flood-fills its inside with another label, draws a
// stroke and undoes it (and redoes and undoes it again), erases one pixel, fills a
// polygon, and saves (one PUT); in an instance set it splits a piece off an instance and
// merges it into another. The stored mask, fetched with bob's token and decoded
// here, must equal the expected pixels exactly; eve gets 404 for the set and its mask and
// the editor shows her an error. Then a 2048x2048 image: 95% of 200 brush moves (size 25)
// must paint within a frame (16 ms). Then "Annotate next" over a dataset of a black, a
// blobs and an ambiguous grey image with tiny_unet (strategy uncertainty by default once
// the model is chosen): it must open the image POST /api/datasets/{id}/rank puts first,
// and after that image gets a mask, the next one the ranking names. Exit 0 on success; on failure the reason, a screenshot in
// INFERA_E2E_ARTIFACTS, the server's stderr tail, exit 1.

import { join } from 'node:path';
import { grayPng, decodeGrayPng } from './png.mjs';
import { check, api, loginToken } from './server.mjs';
import { runE2E, signIn, testEnv } from './run.mjs';

const T0 = Date.now();
const ADMIN_PASSWORD = 'e2e-admin-pass';
const ENV = testEnv('editor e2e');
const ARTIFACTS = ENV.artifacts;

const log = (m) => console.log(`[editor e2e ${((Date.now() - T0) / 1000).toFixed(1)}s] ${m}`);

// ---------------------------------------------------------------- page helpers
/** The page point of image pixel (x, y)'s centre in the editor. */
async function pixelPoint(page) {
  const box = await page.locator('#editor-canvas').boundingBox();
  const w = Number(await page.getAttribute('#editor-canvas', 'width'));
  const s = box.width / w;
  return (x, y) => [box.x + (x + 0.5) * s, box.y + (y + 0.5) * s];
}
async function stroke(page, at, points) {
  const [x0, y0] = at(...points[0]);
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  for (const p of points.slice(1)) {
    const [x, y] = at(...p);
    await page.mouse.move(x, y, { steps: 6 });
  }
  await page.mouse.up();
}
async function click(page, at, x, y, options) {
  const [px, py] = at(x, y);
  await page.mouse.click(px, py, options);
}

// ---------------------------------------------------------------- the scenario
async function scenario(page, base) {
  const admin = await loginToken(base, 'admin', ADMIN_PASSWORD);
  for (const u of ['bob', 'eve']) {
    const r = await api(base, admin, 'POST', '/api/users', { username: u, password: `${u}-password-1`, role: 'user' });
    check(r.status === 201, `create ${u}: HTTP ${r.status} ${r.bytes}`);
  }
  const bob = await loginToken(base, 'bob', 'bob-password-1');
  const eve = await loginToken(base, 'eve', 'eve-password-1');
  const W = 64; const H = 48;
  const ds = (await api(base, bob, 'POST', '/api/datasets', { name: 'editor e2e' })).json();
  const form = new FormData();
  form.append('files', new Blob([grayPng(W, H, (x, y) => (x * 3 + y * 2) % 200)], { type: 'image/png' }), 'gradient.png');
  form.append('files', new Blob([grayPng(2048, 2048, (x, y) => (x ^ y) & 0xff)], { type: 'image/png' }), 'big.png');
  const up = await api(base, bob, 'POST', `/api/datasets/${ds.id}/files`, form);
  check(up.status === 201, `upload: HTTP ${up.status} ${up.bytes}`);
  const fileId = Object.fromEntries(up.json().files.map((f) => [f.filename, f.id]));

  // -- bob makes the set on the dataset page and lands in the editor
  await signIn(page, base, 'bob', 'bob-password-1');
  await page.goto(`${base}/#/datasets/${ds.id}`);
  await page.fill('#set-name', 'ground truth');
  await page.selectOption('#set-kind', 'semantic');
  await page.fill('#set-labels', '1 cell #ff0000\n2 nucleus #00ff00');
  await page.click('button:has-text("Create and annotate")');
  await page.waitForURL(/#\/annotations\/\d+/);
  const setId = Number(/#\/annotations\/(\d+)/.exec(page.url())[1]);
  await page.goto(`${base}/#/annotations/${setId}/images/${fileId['gradient.png']}`);
  await page.waitForSelector('#editor-canvas[data-ready="true"]');
  await page.selectOption('#editor-zoom', '4');
  log(`set ${setId} open in the editor`);
  const at = await pixelPoint(page);

  // -- a 1-pixel square outline in label 1
  await page.click('#tool-brush');
  await page.fill('#brush-size', '1');
  await page.click('#label-1');
  await stroke(page, at, [[10, 10], [30, 10], [30, 30], [10, 30], [10, 10]]);
  // -- its inside filled with label 2
  await page.click('#label-2');
  await page.click('#tool-fill');
  await click(page, at, 20, 20);
  // -- a stroke, undone; redone and undone again (keys and buttons)
  await page.click('#tool-brush');
  await stroke(page, at, [[40, 5], [50, 5]]);
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+Shift+z');
  await page.click('#undo');
  // -- one pixel erased, then a polygon in label 1 (pixels whose centres are inside)
  await page.click('#tool-eraser');
  await click(page, at, 10, 10);
  await page.click('#label-1');
  await page.click('#tool-polygon');
  for (const [x, y] of [[40, 35], [55, 35], [55, 44], [40, 44]]) await click(page, at, x, y);
  await page.keyboard.press('Enter');
  check(await page.getAttribute('#editor-canvas', 'data-dirty') === 'true', 'the edits did not mark the mask unsaved');
  await page.screenshot({ path: join(ARTIFACTS, 'editor.png') });
  await page.keyboard.press('Control+s');
  await page.waitForSelector('#editor-canvas[data-revision="1"]');
  log('saved revision 1');

  // -- the stored mask, pixel for pixel
  const expected = new Array(W * H).fill(0);
  for (let y = 10; y <= 30; y += 1) for (let x = 10; x <= 30; x += 1) expected[y * W + x] = (x === 10 || x === 30 || y === 10 || y === 30) ? 1 : 2;
  expected[10 * W + 10] = 0;
  for (let y = 35; y <= 43; y += 1) for (let x = 40; x <= 54; x += 1) expected[y * W + x] = 1;
  const stored = await api(base, bob, 'GET', `/api/annotations/${setId}/images/${fileId['gradient.png']}/mask`);
  check(stored.status === 200, `GET mask: HTTP ${stored.status}`);
  const mask = decodeGrayPng(stored.bytes);
  check(mask.w === W && mask.h === H, `the mask is ${mask.w}x${mask.h}`);
  const wrong = [];
  for (let i = 0; i < W * H; i += 1) if (mask.px[i] !== expected[i]) wrong.push(`(${i % W},${Math.floor(i / W)}) ${mask.px[i]} != ${expected[i]}`);
  check(wrong.length === 0, `${wrong.length} mask pixels differ: ${wrong.slice(0, 10).join('; ')}`);
  const revisions = (await api(base, bob, 'GET', `/api/annotations/${setId}/images/${fileId['gradient.png']}/revisions`)).json().revisions;
  check(revisions.length === 1 && revisions[0].origin === 'edit', `revisions: ${JSON.stringify(revisions)}`);
  log('the stored mask equals the expected pixels');

  // -- an instance set: two pieces of instance 1, the second split off (instance 2), a
  // new instance 3 drawn, then instance 2 merged into 3
  const inst = await api(base, bob, 'POST', `/api/datasets/${ds.id}/annotations`,
    { name: 'objects', kind: 'instances', labels: [{ id: 1, name: 'cell', colour: '#ff0000' }, { id: 2, name: 'nucleus', colour: '#00ff00' }] });
  check(inst.status === 201, `instance set: HTTP ${inst.status} ${inst.bytes}`);
  const instSet = inst.json().id;
  await page.goto(`${base}/#/annotations/${instSet}/images/${fileId['gradient.png']}`);
  await page.waitForSelector('#editor-canvas[data-ready="true"]');
  await page.selectOption('#editor-zoom', '4');
  const at2 = await pixelPoint(page);
  await page.click('#tool-brush');
  await page.fill('#brush-size', '1');
  await stroke(page, at2, [[5, 40], [15, 40]]);
  await stroke(page, at2, [[20, 40], [25, 40]]);
  await page.click('#tool-split');
  await click(page, at2, 22, 40);
  await page.click('#new-instance');
  await page.click('#tool-brush');
  await stroke(page, at2, [[5, 45], [10, 45]]);
  await page.click('#tool-merge');
  await click(page, at2, 5, 45);
  await click(page, at2, 22, 40);
  await page.click('#save-mask');
  await page.waitForSelector('#editor-canvas[data-revision="1"]');
  const instances = decodeGrayPng((await api(base, bob, 'GET', `/api/annotations/${instSet}/images/${fileId['gradient.png']}/mask`)).bytes);
  const want = new Array(W * H).fill(0);
  for (let x = 5; x <= 15; x += 1) want[40 * W + x] = 1;
  for (let x = 20; x <= 25; x += 1) want[40 * W + x] = 3;
  for (let x = 5; x <= 10; x += 1) want[45 * W + x] = 3;
  const off = [];
  for (let i = 0; i < W * H; i += 1) if (instances.px[i] !== want[i]) off.push(`(${i % W},${Math.floor(i / W)}) ${instances.px[i]} != ${want[i]}`);
  check(off.length === 0, `instance mask: ${off.length} pixels differ: ${off.slice(0, 10).join('; ')}`);
  log('split and merge of instances stored as expected');
  // Classes: the set's first label (cell) for every instance so far, the split-off
  // piece keeping its instance's class.
  const instRevisions = async () => (await api(base, bob, 'GET', `/api/annotations/${instSet}/images/${fileId['gradient.png']}/revisions`)).json().revisions;
  let classes = (await instRevisions()).at(-1).classes;
  check(JSON.stringify(classes) === JSON.stringify({ 1: 1, 3: 1 }), `revision 1 classes: ${JSON.stringify(classes)}`);

  // -- a new instance drawn as a nucleus, and instance 1 picked and changed to nucleus
  await page.click('#new-instance');
  await page.click('#class-2');
  check(/instance 4 · nucleus/.test(await page.textContent('#label-4')), 'the new instance does not show its class');
  await page.click('#tool-brush');
  await stroke(page, at2, [[30, 20], [40, 20]]);
  await page.click('#tool-pick');
  await click(page, at2, 7, 40);
  check(/instance 1 · cell/.test(await page.textContent('#label-1')), 'the picked instance does not show its class');
  await page.click('#class-2');
  await page.waitForSelector('#instance-list li[data-instance="4"][data-class="2"]');
  await page.waitForSelector('#instance-list li[data-instance="1"][data-class="2"]');
  check(/nucleus/.test(await page.textContent('#instance-list li[data-instance="4"]')), 'the instance list does not name the class');
  await page.check('#colour-by-class');
  const overlayRgb = await page.evaluate(() => {
    const c = document.querySelector('#editor-canvas');
    return [...c.getContext('2d').getImageData(35, 20, 1, 1).data];
  });
  check(overlayRgb[0] === 0 && overlayRgb[1] === 255 && overlayRgb[2] === 0, `colour by class paints instance 4 ${overlayRgb}, not the nucleus green`);
  await page.screenshot({ path: join(ARTIFACTS, 'editor-classes.png') });
  await page.click('#save-mask');
  await page.waitForSelector('#editor-canvas[data-revision="2"]');
  classes = (await instRevisions()).at(-1).classes;
  check(JSON.stringify(classes) === JSON.stringify({ 1: 2, 3: 1, 4: 2 }), `revision 2 classes: ${JSON.stringify(classes)}`);
  const coco = (await api(base, bob, 'GET', `/api/annotations/${instSet}/export?format=coco`)).json();
  const categoryOf = Object.fromEntries(coco.annotations.map((a) => [a.attributes.instance_id, a.category_id]));
  const nucleus = coco.categories.find((c) => c.name === 'nucleus');
  check(nucleus && categoryOf[4] === nucleus.id && categoryOf[1] === nucleus.id && categoryOf[3] !== nucleus.id,
    `COCO export categories ${JSON.stringify(categoryOf)} (nucleus: ${JSON.stringify(nucleus)})`);
  log('instance classes chosen in the editor are stored and exported');

  // -- eve cannot see the set
  check((await api(base, eve, 'GET', `/api/annotations/${setId}`)).status === 404, 'eve sees the set');
  check((await api(base, eve, 'GET', `/api/annotations/${setId}/images/${fileId['gradient.png']}/mask`)).status === 404, 'eve sees the mask');
  await signIn(page, base, 'eve', 'eve-password-1');
  await page.goto(`${base}/#/annotations/${setId}/images/${fileId['gradient.png']}`);
  await page.waitForSelector('.error-box');
  check(/not found/i.test(await page.textContent('.error-box')), 'eve: no "not found" in the editor');
  log('eve gets 404');

  // -- a 2048x2048 image stays interactive: each brush move paints within a frame
  await signIn(page, base, 'bob', 'bob-password-1');
  await page.goto(`${base}/#/annotations/${setId}/images/${fileId['big.png']}`);
  await page.waitForSelector('#editor-canvas[data-ready="true"]', { timeout: 30_000 });
  await page.fill('#brush-size', '25');
  const timing = await page.evaluate(() => {
    const c = document.querySelector('#editor-canvas');
    const r = c.getBoundingClientRect();
    const ev = (type, i) => new PointerEvent(type, { bubbles: true, button: 0, buttons: 1, pointerId: 1, clientX: r.left + 20 + (i % 400) * (r.width / 500), clientY: r.top + r.height / 2 + (i % 7) });
    c.dispatchEvent(ev('pointerdown', 0));
    const times = [];
    for (let i = 1; i <= 200; i += 1) {
      const t = performance.now();
      c.dispatchEvent(ev('pointermove', i));
      times.push(performance.now() - t);
    }
    const t = performance.now();
    c.dispatchEvent(ev('pointerup', 200));
    times.sort((a, b) => a - b);
    return { median: times[100], p95: times[190], worst: times[199], up: performance.now() - t };
  });
  log(`2048x2048 brush moves: median ${timing.median.toFixed(2)} ms, p95 ${timing.p95.toFixed(2)} ms, ` +
      `slowest ${timing.worst.toFixed(2)} ms; stroke end ${timing.up.toFixed(1)} ms`);
  // A frame is 16 ms; the slowest single move is left to the machine's load (GC, other jobs).
  check(timing.p95 < 16, `brush moves on a 2048x2048 image: p95 ${timing.p95.toFixed(1)} ms (> one frame)`);

  await annotateNext(page, base, bob);
}

// "Annotate next": the editor opens the image the server's ranking puts first.
async function annotateNext(page, base, bob) {
  const ds = (await api(base, bob, 'POST', '/api/datasets', { name: 'active learning' })).json();
  const form = new FormData();
  const images = {
    'black.png': grayPng(64, 64, () => 0),
    'blobs.png': grayPng(64, 64, (x, y) => ((x - 20) ** 2 + (y - 24) ** 2 < 100 || (x - 44) ** 2 + (y - 40) ** 2 < 64 ? 230 : 10)),
    'grey.png': grayPng(64, 64, () => 115), // tiny_unet's threshold: the most uncertain
  };
  for (const [name, png] of Object.entries(images)) form.append('files', new Blob([png], { type: 'image/png' }), name);
  const up = await api(base, bob, 'POST', `/api/datasets/${ds.id}/files`, form);
  check(up.status === 201, `upload: HTTP ${up.status} ${up.bytes}`);
  const id = Object.fromEntries(up.json().files.map((f) => [f.filename, f.id]));
  const set = (await api(base, bob, 'POST', `/api/datasets/${ds.id}/annotations`,
    { name: 'round 1', kind: 'semantic', labels: [{ id: 1, name: 'blob' }] })).json();
  const rank = async () => {
    const r = await api(base, bob, 'POST', `/api/datasets/${ds.id}/rank`,
      { model_id: 'tiny_unet', strategy: 'uncertainty', annotation_set_id: set.id });
    check(r.status === 200, `rank: HTTP ${r.status} ${r.bytes}`);
    return r.json().images;
  };

  await page.goto(`${base}/#/annotations/${set.id}/images/${id['black.png']}`);
  await page.waitForSelector('#editor-canvas[data-ready="true"]');
  check(await page.inputValue('#rank-strategy') === 'first', 'without a model the strategy is not dataset order');
  await page.selectOption('#rank-model', 'tiny_unet');
  check(await page.inputValue('#rank-strategy') === 'uncertainty', 'choosing a model did not select uncertainty');
  let ranked = await rank();
  check(ranked.length === 3 && ranked[0].file === id['grey.png'],
    `the API ranks ${JSON.stringify(ranked.map((i) => i.filename))} (grey.png first expected)`);
  await page.click('#annotate-next');
  await page.waitForURL(new RegExp(`#/annotations/${set.id}/images/${ranked[0].file}$`));
  await page.waitForSelector('#editor-canvas[data-ready="true"]');
  log(`annotate next opened ${ranked[0].filename}, the API's first`);

  // The grey image gets a mask (drawn and saved here): the ranking moves on, and so does
  // the editor (model and strategy kept).
  await page.selectOption('#editor-zoom', '4');
  const at = await pixelPoint(page);
  await page.click('#tool-brush');
  await page.fill('#brush-size', '3');
  await stroke(page, at, [[10, 10], [20, 10]]);
  await page.keyboard.press('Control+s');
  await page.waitForSelector('#editor-canvas[data-revision="1"]');
  ranked = await rank();
  check(ranked.length === 2 && !ranked.some((i) => i.file === id['grey.png']), `annotated image still ranked: ${JSON.stringify(ranked)}`);
  check(await page.inputValue('#rank-model') === 'tiny_unet', 'the model choice was not kept');
  await page.click('#annotate-next');
  await page.waitForURL(new RegExp(`#/annotations/${set.id}/images/${ranked[0].file}$`));
  await page.waitForSelector('#editor-canvas[data-ready="true"]');
  check(await page.inputValue('#rank-strategy') === 'uncertainty', 'the strategy choice was not kept');
  await page.screenshot({ path: join(ARTIFACTS, 'editor-annotate-next.png') });
  log(`then ${ranked[0].filename}, the API's first once grey.png has a mask`);
}

// ---------------------------------------------------------------- main
runE2E({
  name: 'editor e2e', env: ENV, log, timeoutMs: 180_000,
  // tiny_unet (bright blobs are foreground) ranks the images for "Annotate next".
  server: { models: ['tiny_unet'], adminPassword: ADMIN_PASSWORD },
  ignoredPageErrors: /status of 40[134]/,
}, scenario);

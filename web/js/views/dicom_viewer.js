// views/dicom_viewer.js: one DICOM series of a dataset (#/datasets/{id}/series/{uid}),
// from GET /api/datasets/{id}/series (instances in slice order).
//
// The image is GET /api/files/{file}/thumbnail at the series' own size with `?frame=`
// and `?window=` (the server windows the modality values: dicom/windowing.h), drawn on a
// canvas. Controls: an instance slider (and a frame slider for multi-frame instances);
// window presets (lung, soft tissue, bone, brain) and the file's own window (the default);
// explicit centre and width, as number fields and sliders, the image re-requested
// 250 ms after the last change (older answers are dropped). "Run a model on this series"
// opens the run form (#/run?dataset=&window=) with the chosen window as the job's
// params.window. Under the cursor the pixel's modality value (HU for CT) is shown, from
// GET /api/files/{file}/values?frame= (the frame's float32 values, fetched once per
// frame on the first hover).
//
// For tests the canvas (#dicom-canvas) carries data-file, data-frame and data-window
// (the `?window=` value of the image shown, "" for the file's) and data-loads (how many
// images it has shown); #pixel-value shows "x, y: value unit".

import { get, blob, rawFetch, ApiError, errorMessage } from '../api.js';
import { h, setChildren, pageHeader, errorBox, formatBytes } from '../ui.js';
import {
  WINDOW_PRESETS, FILE_WINDOW, presetWindow, explicitWindow, windowQuery, describeWindow,
} from '../dicom_window.js';

const DEBOUNCE_MS = 250;

export async function render(ctx) {
  const { root, signal, params } = ctx;
  const datasetId = Number(params.id);
  const uid = params.uid;
  let listing; let dataset;
  try {
    [listing, dataset] = await Promise.all([
      get(`/api/datasets/${datasetId}/series`, { signal }),
      get(`/api/datasets/${datasetId}`, { signal }),
    ]);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader('DICOM series'), errorBox(e, () => render(ctx)));
    return;
  }
  const series = (listing.series || []).find((s) => s.series_instance_uid === uid);
  const back = h('p.breadcrumb', h('a', { href: `#/datasets/${datasetId}` }, `← ${dataset.name}`));
  if (!series) {
    setChildren(root, back, pageHeader('DICOM series'),
      errorBox(new Error('This series is not in the dataset (any more).')));
    return;
  }
  const title = series.series_description || `${series.modality || 'DICOM'} series`;
  ctx.setTitle(title);
  const sizeOf = new Map((dataset.files || []).map((f) => [f.id, f.size || 0]));
  const instances = series.files;
  const bytes = instances.reduce((sum, f) => sum + (sizeOf.get(f.id) || 0), 0);
  const fileWindow = Array.isArray(series.window) ? series.window : null;
  const longest = Math.min(4096, Math.max(16, series.rows, series.columns));

  // ---- state ----
  let index = Math.floor((instances.length - 1) / 2); // the middle slice first
  let frame = 0;
  let win = FILE_WINDOW;
  let seq = 0; // the latest image request; older answers are dropped
  let loads = 0;
  let timer = null;
  ctx.onCleanup(() => clearTimeout(timer));

  // ---- elements ----
  const canvas = h('canvas#dicom-canvas', { width: series.columns, height: series.rows, 'aria-label': 'DICOM image', dataset: { loads: '0' } });
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const status = h('p#dicom-status.muted.small', { role: 'status', 'aria-live': 'polite' });
  const pixelValue = h('p#pixel-value.small', 'Point at the image for its values.');

  // ---- the modality values under the cursor (one fetch per file and frame) ----
  const valueCache = new Map(); // "file/frame" -> Promise<{w, h, channels, unit, values}>
  function frameValues(fileId, k) {
    const key = `${fileId}/${k}`;
    if (!valueCache.has(key)) {
      valueCache.set(key, (async () => {
        const r = await rawFetch(`/api/files/${fileId}/values?frame=${k}`, { signal });
        if (!r.ok) {
          const body = await r.json().catch(() => null);
          throw new ApiError(r.status, errorMessage(r.status, body), body);
        }
        return {
          w: Number(r.headers.get('x-width')), h: Number(r.headers.get('x-height')),
          channels: Number(r.headers.get('x-channels')) || 1, unit: r.headers.get('x-unit') || '',
          values: new Float32Array(await r.arrayBuffer()),
        };
      })());
      valueCache.get(key).catch(() => valueCache.delete(key));
    }
    return valueCache.get(key);
  }
  let hoverSeq = 0;
  canvas.addEventListener('pointermove', async (e) => {
    const mine = ++hoverSeq;
    const r = canvas.getBoundingClientRect();
    const f = instances[index]; const k = frame;
    try {
      const v = await frameValues(f.id, k);
      if (mine !== hoverSeq) return;
      const x = Math.min(v.w - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * v.w)));
      const y = Math.min(v.h - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * v.h)));
      const at = (y * v.w + x) * v.channels;
      const shown = [...v.values.subarray(at, at + v.channels)].map((n) => (Number.isInteger(n) ? String(n) : n.toFixed(2)));
      pixelValue.textContent = `${x}, ${y}: ${shown.join(' / ')}${v.unit ? ` ${v.unit}` : ''}`;
    } catch (err) {
      if (err.name !== 'AbortError' && mine === hoverSeq) pixelValue.textContent = `No values: ${err.message}`;
    }
  });

  const instanceSlider = h('input#instance-slider', {
    type: 'range', min: '1', max: String(instances.length), step: '1', value: String(index + 1),
    disabled: instances.length < 2, 'aria-label': 'Instance',
    oninput: () => { index = Number(instanceSlider.value) - 1; frame = 0; showPosition(); schedule(0); },
  });
  const instanceText = h('span#instance-text');
  const frameSlider = h('input#frame-slider', {
    type: 'range', min: '1', max: '1', step: '1', value: '1', 'aria-label': 'Frame',
    oninput: () => { frame = Number(frameSlider.value) - 1; showPosition(); schedule(0); },
  });
  const frameText = h('span#frame-text');
  const frameRow = h('div.field', h('label', { for: 'frame-slider' }, 'Frame ', frameText), frameSlider);

  const presetButtons = [
    h('button#preset-file', { type: 'button', title: 'The window stored in the file', onclick: () => setWindow(FILE_WINDOW, 0) }, "File's"),
    ...WINDOW_PRESETS.map((p) => h(`button#preset-${p.name}`, {
      type: 'button', title: `${p.label}: centre ${p.center}, width ${p.width}`, onclick: () => setWindow(presetWindow(p.name), 0),
    }, p.label)),
  ];
  const lo = Math.min(-2000, ...(fileWindow ? [fileWindow[0] - fileWindow[1]] : []));
  const hi = Math.max(4000, ...(fileWindow ? [fileWindow[0] + fileWindow[1]] : []));
  const centerNumber = h('input#window-center', { type: 'number', step: 'any', placeholder: 'auto', 'aria-label': 'Window centre' });
  const centerRange = h('input#window-center-range', { type: 'range', min: String(Math.floor(lo)), max: String(Math.ceil(hi)), step: '1', 'aria-label': 'Window centre slider' });
  const widthNumber = h('input#window-width', { type: 'number', min: '1', step: 'any', placeholder: 'auto', 'aria-label': 'Window width' });
  const widthRange = h('input#window-width-range', { type: 'range', min: '1', max: String(Math.ceil(Math.max(5000, hi - lo))), step: '1', 'aria-label': 'Window width slider' });
  const windowText = h('p#window-text.muted.small');
  const runLink = h('a.button.primary#run-series', { href: '#' }, 'Run a model on this series');

  // An explicit centre/width from the fields (a missing one from its slider).
  function fromFields(changed) {
    if (changed === 'center-range') centerNumber.value = centerRange.value;
    if (changed === 'width-range') widthNumber.value = widthRange.value;
    const c = centerNumber.value !== '' ? Number(centerNumber.value) : Number(centerRange.value);
    const w = widthNumber.value !== '' ? Number(widthNumber.value) : Number(widthRange.value);
    if (!Number.isFinite(c) || !Number.isFinite(w) || w < 1) {
      windowText.textContent = 'The width must be a number of at least 1.';
      return;
    }
    setWindow(explicitWindow(c, w), DEBOUNCE_MS, changed);
  }
  centerNumber.addEventListener('input', () => fromFields('center'));
  widthNumber.addEventListener('input', () => fromFields('width'));
  centerRange.addEventListener('input', () => fromFields('center-range'));
  widthRange.addEventListener('input', () => fromFields('width-range'));

  /** Shows `w` in the controls and requests the image `delay` ms later. */
  function setWindow(w, delay, typing = null) {
    win = w;
    const shown = w.kind === 'file' ? fileWindow : [w.center, w.width];
    if (typing !== 'center') centerNumber.value = shown ? String(shown[0]) : '';
    if (typing !== 'width') widthNumber.value = shown ? String(shown[1]) : '';
    if (shown) { centerRange.value = String(shown[0]); widthRange.value = String(shown[1]); }
    for (const b of presetButtons) {
      const name = b.id.slice('preset-'.length);
      b.setAttribute('aria-pressed', String(w.kind === 'file' ? name === 'file' : w.kind === 'preset' && w.name === name));
    }
    windowText.textContent = `Window: ${describeWindow(w, fileWindow)}`;
    const value = windowQuery(w) || 'file';
    runLink.href = `#/run?dataset=${datasetId}&window=${encodeURIComponent(value)}`;
    schedule(delay);
  }

  function showPosition() {
    const f = instances[index];
    instanceText.textContent = `${index + 1} of ${instances.length}${f.instance_number != null ? ` (instance number ${f.instance_number})` : ''}`;
    frameRow.hidden = (f.frames || 1) < 2;
    frameSlider.max = String(f.frames || 1);
    frameSlider.value = String(frame + 1);
    frameText.textContent = `${frame + 1} of ${f.frames || 1}`;
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(load, delay);
  }

  async function load() {
    const mine = ++seq;
    const f = instances[index];
    const w = windowQuery(win);
    const path = `/api/files/${f.id}/thumbnail?size=${longest}&frame=${frame}${w ? `&window=${encodeURIComponent(w)}` : ''}`;
    status.textContent = 'Loading…';
    try {
      const bitmap = await createImageBitmap(await blob(path, { signal }));
      if (mine !== seq) { bitmap.close?.(); return; }
      canvas.width = bitmap.width; canvas.height = bitmap.height;
      g.drawImage(bitmap, 0, 0);
      bitmap.close?.();
      loads += 1;
      Object.assign(canvas.dataset, { file: String(f.id), frame: String(frame), window: w, loads: String(loads) });
      status.textContent = `${f.filename} · frame ${frame + 1} of ${f.frames || 1}`;
    } catch (e) {
      if (e.name === 'AbortError' || mine !== seq) return;
      status.textContent = `The image could not be shown: ${e.message}`;
    }
  }

  const facts = [
    series.modality || 'unknown modality',
    `${instances.length} instance${instances.length === 1 ? '' : 's'}`,
    `${series.columns}×${series.rows}`,
    series.pixel_spacing ? `${series.pixel_spacing[1]}×${series.pixel_spacing[0]} mm pixels` : null,
    formatBytes(bytes),
    series.ordered_by ? `ordered by ${series.ordered_by.replace('_', ' ')}` : null,
  ].filter(Boolean).join(' · ');

  setChildren(root, back,
    pageHeader(title, runLink),
    h('p.muted', facts),
    h('div.dicom-viewer',
      h('div.dicom-stage', canvas),
      h('div.dicom-controls.card',
        h('div.field', h('label', { for: 'instance-slider' }, 'Instance ', instanceText), instanceSlider),
        frameRow,
        h('div.field', h('span.label', h('strong', 'Window')), h('div.preset-buttons', { role: 'group', 'aria-label': 'Window presets' }, presetButtons)),
        h('div.field', h('label', { for: 'window-center' }, 'Centre'), h('div.form-row', centerNumber), centerRange),
        h('div.field', h('label', { for: 'window-width' }, 'Width'), h('div.form-row', widthNumber), widthRange),
        windowText,
        pixelValue,
        h('p.help', 'Runs the model on this dataset, DICOM images windowed like this (the job\'s params.window).'),
        status)));
  showPosition();
  setWindow(FILE_WINDOW, 0);
}

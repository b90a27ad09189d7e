// views/viewer.js: the results viewer (#/jobs/{id}/view/{index}).
//
// Each result's source image is drawn on a <canvas> from GET /api/files/{id}/thumbnail
// at full size (up to 4096 px; the server contrast-stretches 16-bit and float images),
// then its mask on top from GET /api/files/{mask}/overlay (RGBA: label 0 transparent,
// classes in their legend colours, instances each in its own colour) with
// globalAlpha = the opacity slider. Around it: the class legend (summary.classes), the
// object count of instance results, a side-by-side mode (plain image next to the
// overlay), previous/next (buttons, the image list, ArrowLeft/ArrowRight), zoom (buttons,
// wheel, +/-/0 keys) and pan (drag), and the results ZIP.
//
// For tests and tools the main canvas exposes its view as data attributes: data-scale
// (canvas pixels per image pixel), data-ox/data-oy (canvas position of image pixel 0,0),
// data-image-width/-height, and data-ready="true" once the current image is drawn.

import { get, post, blob, ApiError } from '../api.js';
import { h, setChildren, pageHeader, errorBox, formatBytes } from '../ui.js';
import { downloadResults } from './jobs.js';
import { resultText } from './job.js';
import { colorizeMask } from '../palette.js';

const MAX_SOURCE_SIZE = 4096;
const ZOOM_STEP = 1.25;
const MIN_ZOOM = 0.125;
const MAX_ZOOM = 64;

export async function render(ctx) {
  const { root, signal, params } = ctx;
  const jobId = Number(params.id);
  let job;
  try {
    job = await get(`/api/inferences/${jobId}`, { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader(`Results of job #${jobId}`), errorBox(e, () => render(ctx)));
    return;
  }
  const results = job.results || [];
  if (!results.length) {
    setChildren(root, h('p.breadcrumb', h('a', { href: `#/jobs/${jobId}` }, `← Job #${jobId}`)),
      pageHeader(`Results of job #${jobId}`),
      h('p.empty', job.status === 'queued' || job.status === 'running'
        ? 'No image has finished yet; the job is still running.'
        : 'This job has no results.'));
    return;
  }

  // ---- state ----
  let index = Math.min(Number(params.index || 0), results.length - 1);
  let opacity = 0.5;
  let sideBySide = false;
  let view = { zoom: 1, cx: 0, cy: 0 }; // zoom relative to "fit"; cx, cy: image point at the centre
  let current = null; // {source, overlay, width, height}
  let loadSeq = 0;

  // ---- elements ----
  const mainCanvas = h('canvas#viewer-canvas', { role: 'img', 'aria-label': 'Image with mask overlay', tabindex: '0' });
  const plainCanvas = h('canvas#viewer-plain', { role: 'img', 'aria-label': 'Image without overlay', hidden: true });
  const stageMessage = h('div.stage-message', { role: 'status', 'aria-live': 'polite' });
  const stage = h('div.viewer-stage', plainCanvas, mainCanvas, stageMessage);

  const prevButton = h('button#prev-image', { type: 'button', 'aria-label': 'Previous image (Left arrow)', onclick: () => go(index - 1) }, '◀');
  const nextButton = h('button#next-image', { type: 'button', 'aria-label': 'Next image (Right arrow)', onclick: () => go(index + 1) }, '▶');
  const imageSelect = h('select#image-select', { 'aria-label': 'Image', onchange: () => go(Number(imageSelect.value)) },
    results.map((r, i) => h('option', { value: i }, `${i + 1}. ${r.source_filename}${r.error ? ' (failed)' : ''}`)));
  const opacityInput = h('input#opacity', {
    type: 'range', min: 0, max: 100, step: 1, value: String(opacity * 100),
    oninput: () => { opacity = Number(opacityInput.value) / 100; opacityValue.textContent = `${opacityInput.value}%`; draw(); },
  });
  const opacityValue = h('output', { for: 'opacity' }, '50%');
  const splitInput = h('input#side-by-side', {
    type: 'checkbox',
    onchange: () => { sideBySide = splitInput.checked; layout(); },
  });
  const zoomLabel = h('output#zoom-level', { 'aria-live': 'polite' }, '100%');
  const zoomOut = h('button#zoom-out', { type: 'button', 'aria-label': 'Zoom out (-)', onclick: () => zoomBy(1 / ZOOM_STEP) }, '−');
  const zoomIn = h('button#zoom-in', { type: 'button', 'aria-label': 'Zoom in (+)', onclick: () => zoomBy(ZOOM_STEP) }, '+');
  const zoomFit = h('button#zoom-fit', { type: 'button', 'aria-label': 'Fit image to view (0)', onclick: () => { resetView(); draw(); } }, 'Fit');
  const downloadButton = h('button#download-zip', { type: 'button', onclick: (e) => downloadResults(jobId, e.currentTarget) }, 'Download ZIP');
  // The job's masks as an annotation set (POST /api/inferences/{id}/annotations, once),
  // opened in the editor at this image.
  const correctButton = h('button#correct-masks', {
    type: 'button',
    hidden: job.status !== 'completed' && job.status !== 'failed' && job.status !== 'canceled',
    onclick: async (e) => {
      e.currentTarget.disabled = true;
      try {
        // A set made from this job before (its default name) is opened again.
        const { annotation_sets: sets } = await get(`/api/datasets/${job.dataset_id}/annotations`, { signal });
        const earlier = sets.find((s) => s.name === `inference ${jobId}`);
        const setId = earlier ? earlier.id
          : (await post(`/api/inferences/${jobId}/annotations`, {}, { signal })).annotation_set.id;
        ctx.navigate(`#/annotations/${setId}/images/${results[index].source_file_id}`);
      } catch (err) {
        if (err.name !== 'AbortError') setChildren(stageMessage, err.message);
        e.currentTarget.disabled = false;
      }
    },
  }, 'Correct masks');

  const title = h('h2.viewer-title');
  const sidebar = h('aside.viewer-side', { 'aria-label': 'About this image' });

  const toolbar = h('div.viewer-toolbar', { role: 'toolbar', 'aria-label': 'Viewer controls' },
    h('div.tool-group', prevButton, imageSelect, nextButton),
    h('div.tool-group', h('label', { for: 'opacity' }, 'Mask opacity'), opacityInput, opacityValue),
    h('div.tool-group', h('div.check', splitInput, h('label', { for: 'side-by-side' }, 'Side by side'))),
    h('div.tool-group', zoomOut, zoomFit, zoomIn, zoomLabel));

  setChildren(root,
    h('p.breadcrumb', h('a', { href: `#/jobs/${jobId}` }, `← Job #${jobId}`)),
    pageHeader(`Results of job #${jobId}`, correctButton, downloadButton),
    h('p.muted', `${job.model_id} v${job.model_version} (${job.runner_name}) · ${results.length} image${results.length === 1 ? '' : 's'}${job.status !== 'completed' ? ` · job ${job.status}` : ''}`),
    toolbar,
    h('div.viewer-body', h('div.viewer-main', title, stage), sidebar));

  // ---- drawing ----
  function canvasSize(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const hgt = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== hgt) {
      canvas.width = w;
      canvas.height = hgt;
    }
    return [w, hgt];
  }

  function transformFor(canvas) {
    const [w, hgt] = canvasSize(canvas);
    const fit = Math.min(w / current.width, hgt / current.height);
    const scale = fit * view.zoom;
    return { w, hgt, scale, ox: w / 2 - view.cx * scale, oy: hgt / 2 - view.cy * scale };
  }

  function paint(canvas, withOverlay) {
    const g = canvas.getContext('2d');
    const [w, hgt] = canvasSize(canvas);
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, w, hgt);
    if (!current) return;
    const t = transformFor(canvas);
    const dw = current.width * t.scale;
    const dh = current.height * t.scale;
    // Smooth when shrinking; show crisp pixels when zoomed in.
    g.imageSmoothingEnabled = t.scale < 1;
    g.drawImage(current.source, t.ox, t.oy, dw, dh);
    if (withOverlay && current.overlay && opacity > 0) {
      g.imageSmoothingEnabled = false; // labels must stay crisp
      g.globalAlpha = opacity;
      g.drawImage(current.overlay, t.ox, t.oy, dw, dh);
      g.globalAlpha = 1;
    }
    Object.assign(canvas.dataset, {
      scale: String(t.scale), ox: String(t.ox), oy: String(t.oy),
      imageWidth: String(current.width), imageHeight: String(current.height),
    });
  }

  function draw() {
    if (signal.aborted) return;
    paint(mainCanvas, true);
    if (sideBySide) paint(plainCanvas, false);
    zoomLabel.textContent = `${Math.round(view.zoom * 100)}%`;
  }

  function layout() {
    plainCanvas.hidden = !sideBySide;
    stage.classList.toggle('split', sideBySide);
    draw();
  }

  function resetView() {
    view = { zoom: 1, cx: current ? current.width / 2 : 0, cy: current ? current.height / 2 : 0 };
  }

  /** Zooms by `factor` around canvas point (px, py) (default: the centre). */
  function zoomBy(factor, px, py) {
    if (!current) return;
    const t = transformFor(mainCanvas);
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view.zoom * factor));
    const x = px ?? t.w / 2;
    const y = py ?? t.hgt / 2;
    const ix = (x - t.ox) / t.scale; // image point under the cursor stays put
    const iy = (y - t.oy) / t.scale;
    const scale = (t.scale / view.zoom) * zoom;
    view = { zoom, cx: (t.w / 2 - (x - ix * scale)) / scale, cy: (t.hgt / 2 - (y - iy * scale)) / scale };
    draw();
  }

  // Wheel zoom and drag pan on both canvases.
  for (const canvas of [mainCanvas, plainCanvas]) {
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const dpr = window.devicePixelRatio || 1;
      const rect = canvas.getBoundingClientRect();
      zoomBy(e.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, (e.clientX - rect.left) * dpr, (e.clientY - rect.top) * dpr);
    }, { passive: false });
    let drag = null;
    canvas.addEventListener('pointerdown', (e) => {
      if (!current) return;
      drag = { x: e.clientX, y: e.clientY };
      canvas.setPointerCapture(e.pointerId);
      canvas.classList.add('dragging');
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const dpr = window.devicePixelRatio || 1;
      const { scale } = transformFor(canvas);
      view.cx -= ((e.clientX - drag.x) * dpr) / scale;
      view.cy -= ((e.clientY - drag.y) * dpr) / scale;
      drag = { x: e.clientX, y: e.clientY };
      draw();
    });
    const end = () => { drag = null; canvas.classList.remove('dragging'); };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  const resize = new ResizeObserver(() => draw());
  resize.observe(stage);
  ctx.onCleanup(() => resize.disconnect());

  function onKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = e.target?.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return; // their own keys
    if (e.key === 'ArrowRight') go(index + 1);
    else if (e.key === 'ArrowLeft') go(index - 1);
    else if (e.key === '+' || e.key === '=') zoomBy(ZOOM_STEP);
    else if (e.key === '-') zoomBy(1 / ZOOM_STEP);
    else if (e.key === '0') { resetView(); draw(); }
    else return;
    e.preventDefault();
  }
  document.addEventListener('keydown', onKey);
  ctx.onCleanup(() => document.removeEventListener('keydown', onKey));
  ctx.onCleanup(() => release(current));

  // ---- loading one result ----
  function go(i) {
    if (i < 0 || i >= results.length || i === index) return;
    index = i;
    history.replaceState(null, '', `#/jobs/${jobId}/view/${index}`);
    load();
  }

  function release(item) {
    item?.source?.close?.();
    item?.overlay?.close?.();
  }

  async function load() {
    const seq = ++loadSeq;
    const r = results[index];
    mainCanvas.dataset.ready = 'false';
    imageSelect.value = String(index);
    prevButton.disabled = index === 0;
    nextButton.disabled = index === results.length - 1;
    setChildren(title, `${r.source_filename}`, h('span.muted.small', ` (${index + 1} of ${results.length})`));
    mainCanvas.setAttribute('aria-label', `${r.source_filename} with its mask overlaid`);
    showSidebar(r, null);
    if (r.error) {
      release(current);
      current = null;
      draw();
      stageMessage.className = 'stage-message error';
      stageMessage.textContent = `This image failed: ${r.error}`;
      mainCanvas.dataset.ready = 'true';
      return;
    }
    stageMessage.className = 'stage-message';
    stageMessage.textContent = 'Loading image…';
    try {
      const item = await loadResult(r, signal);
      if (seq !== loadSeq || signal.aborted) {
        release(item);
        return;
      }
      release(current);
      current = item;
      stageMessage.textContent = '';
      resetView();
      draw();
      showSidebar(r, item);
      mainCanvas.dataset.ready = 'true';
    } catch (e) {
      if (e.name === 'AbortError' || seq !== loadSeq) return;
      release(current);
      current = null;
      draw();
      stageMessage.className = 'stage-message error';
      stageMessage.textContent = `Could not show this image: ${e.message}`;
      mainCanvas.dataset.ready = 'true';
    }
  }

  function showSidebar(r, item) {
    const s = r.summary || {};
    const legend = legendEntries(r);
    const isInstances = !!r.instance_mask_id;
    const predictions = Array.isArray(s.predictions) ? s.predictions : null;
    setChildren(sidebar,
      isInstances && typeof s.count === 'number'
        ? h('div.object-count', h('span.count#object-count', String(s.count)), ` object${s.count === 1 ? '' : 's'}`)
        : null,
      isInstances ? h('p.muted.small', 'Each object is drawn in its own colour.') : null,
      legend.length ? h('div.legend', h('h3', 'Legend'), h('ul#legend', legend.map((c) =>
        h('li', h('span.swatch', { style: `background:${c.color}`, 'aria-hidden': 'true' }),
          h('span.legend-label', c.label), c.fraction !== undefined ? h('span.muted.small', ` ${(100 * c.fraction).toFixed(1)}%`) : null)))) : null,
      predictions ? h('div.legend', h('h3', 'Predictions'), h('ol', predictions.map((p) =>
        h('li', `${p.label} `, h('span.muted', `${(100 * p.confidence).toFixed(1)}%`))))) : null,
      h('dl.facts',
        h('dt', 'Result'), h('dd', r.error ? h('span.error-text', r.error) : resultText(s)),
        s.width ? [h('dt', 'Size'), h('dd', `${s.width} × ${s.height} px`)] : null,
        typeof s.mean_area === 'number' && s.count ? [h('dt', 'Mean area'), h('dd', `${s.mean_area.toFixed(0)} px`)] : null,
        item?.meta ? [h('dt', 'Source'), h('dd', `${item.meta.bit_depth}-bit, ${item.meta.channels} ch, ${formatBytes(item.meta.size)}`)] : null,
        item?.note ? [h('dt', 'Note'), h('dd', item.note)] : null),
      h('p.muted.small', 'Keys: ← → images · + − zoom · 0 fit · drag to pan.'));
  }

  load();
}

/** The legend: summary.classes without the background; else the binary foreground. */
function legendEntries(r) {
  const s = r.summary || {};
  if (Array.isArray(s.classes)) {
    return s.classes.filter((c) => c.class_id !== 0 && c.color)
      .map((c) => ({ label: c.label ?? `class ${c.class_id}`, color: c.color, fraction: c.fraction }));
  }
  if (s.foreground_color) {
    return [{ label: 'foreground', color: s.foreground_color, fraction: s.foreground_fraction }];
  }
  return [];
}

/** Fetches a result's source (full size, contrast-stretched) and overlay as bitmaps. */
async function loadResult(r, signal) {
  const s = r.summary || {};
  let meta = null;
  let width = s.width;
  let height = s.height;
  try {
    meta = await get(`/api/files/${r.source_file_id}/meta`, { signal });
    width = meta.width;
    height = meta.height;
  } catch (e) {
    if (e.name === 'AbortError' || !width) throw e;
  }
  const size = Math.max(16, Math.min(MAX_SOURCE_SIZE, Math.max(width, height)));
  const maskId = r.instance_mask_id || r.class_mask_id;
  const palette = r.instance_mask_id ? 'instances' : 'classes';
  const thumbnail = (n) => blob(`/api/files/${r.source_file_id}/thumbnail?size=${n}`, { signal });
  const [sourceBlob, overlay] = await Promise.all([
    // Servers before the 4096 cap refuse sizes above 1024 (400): ask again at 1024.
    thumbnail(size).catch((e) => {
      if (e instanceof ApiError && e.status === 400 && size > 1024) return thumbnail(1024);
      throw e;
    }),
    maskId ? loadOverlay(maskId, r.class_mask_id, palette, signal) : null,
  ]);
  const source = await createImageBitmap(sourceBlob);
  const note = Math.max(width, height) > MAX_SOURCE_SIZE
    ? `Shown at ${source.width}×${source.height} (the image is larger).` : '';
  return { source, overlay: overlay?.bitmap || null, width, height, meta, note: [note, overlay?.note].filter(Boolean).join(' ') };
}

/** The mask as an RGBA bitmap; servers without /overlay get it coloured here instead. */
async function loadOverlay(maskId, classMaskId, palette, signal) {
  try {
    const data = await blob(`/api/files/${maskId}/overlay?palette=${palette}`, { signal });
    return { bitmap: await createImageBitmap(data) };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404 || !classMaskId) throw e;
    // An older server: colour the 8-bit class mask in the browser (classes palette).
    const data = await blob(`/api/files/${classMaskId}`, { signal });
    const bitmap = await colorizeMask(await createImageBitmap(data));
    return { bitmap, note: 'Mask coloured in the browser (the server has no overlay endpoint).' };
  }
}

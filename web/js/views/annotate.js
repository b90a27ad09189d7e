// views/annotate.js: the annotation editor (#/annotations/{set}[/images/{file}]).
//
// One image of an annotation set at a time: the image (GET /api/files/{id}/thumbnail at
// full size) with the set's current mask over it, edited in the browser and saved as a
// new revision with one PUT of a label PNG (label_png.js: exact 8/16-bit labels).
//
// The mask lives in an offscreen label buffer (Uint16Array, one value per pixel); the
// overlay canvas shows it through an RGBA ImageData that is repainted only inside the
// rectangle an edit touched, so a brush stroke on a 2048x2048 image costs its own pixels.
// Tools (key): brush (B) and eraser (E) with a size ([ and ]), polygon (P: click the
// vertices, Enter or a click on the first vertex closes it, Escape drops it), flood fill
// (F, 4-connected), pick a label (I), delete an instance or class region (X), GrabCut from
// a dragged box (G) and watershed from seeds (W: click = the current label, Shift+click =
// background, Enter runs) — both answered by the server's assist route and applied as one
// edit — and in instance sets merge (M: click two instances, the second joins the first)
// and split (S: the connected piece under the click becomes a new instance). Labels: the
// set's labels with their colours (keys 1-9); instance sets paint instance ids (A: a new
// instance) and give each instance a class from the set's labels: the class picker sets
// the class of the instance being drawn (a new instance takes the class chosen last; a
// piece split off keeps its instance's class) and, after a pick (I) or a click in the
// instance list, changes the class of the picked instance. The instance list shows each
// instance with its class's colour and name; "Colour by class" paints the overlay in the
// class colours. Saving sends the classes that changed since the last revision in the
// PUT's X-Infera-Classes header ({"<instance>": class}; the server keeps the others).
// Class changes are not in the undo history. Undo (Ctrl+Z) and redo (Ctrl+Shift+Z, Ctrl+Y) keep
// each edit's rectangle before and after. Ctrl+S saves; N goes to the next image without
// a mask. "Annotate next" asks the server which image to annotate next (POST
// /api/datasets/{id}/rank with the chosen model and strategy — uncertainty by default when
// a model is chosen, dataset order without one — skipping the set's annotated images) and
// opens the best one; the choice is kept in localStorage. Leaving with unsaved edits asks
// first.
//
// For tests the overlay canvas exposes data-ready="true" once the image and mask are
// loaded, data-dirty, and data-revision (the last saved revision); each entry of the
// instance list (#instance-list) carries data-instance and data-class.

import { get, post, blob, rawFetch, ApiError, errorMessage } from '../api.js';
import { h, setChildren, pageHeader, errorBox, toast } from '../ui.js';
import { decodeLabelPng, encodeLabelPng } from '../label_png.js';

const MAX_SOURCE_SIZE = 4096;
const RANK_STRATEGIES = [
  ['uncertainty', 'Most uncertain'], ['tta', 'Flip disagreement'], ['random', 'Random'], ['first', 'Dataset order'],
];
const MODEL_STRATEGIES = new Set(['uncertainty', 'tta']);
const RANK_MODEL_KEY = 'infera.annotateNext.model';
const RANK_STRATEGY_KEY = 'infera.annotateNext.strategy';
const MAX_UNDO = 50;

/** The set's first image without a mask (after `after` when given), or null. */
function nextUnannotated(files, annotated, after) {
  const start = after == null ? 0 : files.findIndex((f) => f.id === after) + 1;
  for (let k = 0; k < files.length; k += 1) {
    const f = files[(start + k) % files.length];
    if (!annotated.has(f.id) && f.id !== after) return f;
  }
  return null;
}

function hexToRgb(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || '');
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 0];
}

/** An instance's colour: a golden-ratio walk around the hue circle. */
function instanceRgb(id) {
  const hue = (id * 0.618033988749895) % 1;
  const s = 0.65 + 0.3 * ((id >> 3) % 2);
  const v = 0.95 - 0.25 * ((id >> 4) % 2);
  const i = Math.floor(hue * 6); const f = hue * 6 - i;
  const p = v * (1 - s); const q = v * (1 - f * s); const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** PUTs the label PNG; `classes` ({"<instance>": class}, may be empty) goes in X-Infera-Classes. */
async function putMask(setId, fileId, png, classes = {}) {
  const headers = { 'Content-Type': 'image/png' };
  if (Object.keys(classes).length) headers['X-Infera-Classes'] = JSON.stringify(classes);
  const response = await rawFetch(`/api/annotations/${setId}/images/${fileId}/mask`, {
    method: 'PUT', headers, body: png,
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, body), body);
  return body;
}

async function assist(setId, fileId, request) {
  const response = await rawFetch(`/api/annotations/${setId}/images/${fileId}/assist`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, errorMessage(response.status, body), body);
  }
  return decodeLabelPng(await response.arrayBuffer());
}

export async function render(ctx) {
  const { root, signal, params } = ctx;
  const setId = Number(params.set);
  let set; let dataset;
  try {
    set = await get(`/api/annotations/${setId}`, { signal });
    dataset = await get(`/api/datasets/${set.dataset_id}`, { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader('Annotation set'), errorBox(e, () => render(ctx)));
    return;
  }
  const files = dataset.files || [];
  // Models for "annotate next" (the editor works without them).
  const models = await get('/api/models', { signal }).then((d) => d.models || []).catch((e) => {
    if (e.name === 'AbortError') throw e;
    return [];
  });
  const annotated = new Set((set.masks || []).map((m) => m.file_id ?? m.source_file_id));
  if (!params.file) {
    const target = nextUnannotated(files, annotated, null) || files[0];
    if (!target) {
      setChildren(root, pageHeader(set.name), h('p.empty', 'The dataset has no images yet.'));
      return;
    }
    location.replace(`#/annotations/${setId}/images/${target.id}`);
    return;
  }
  const fileId = Number(params.file);
  const file = files.find((f) => f.id === fileId);
  if (!file) {
    setChildren(root, pageHeader(set.name), errorBox(new Error(`image ${fileId} is not in this set's dataset`)));
    return;
  }
  ctx.setTitle(`${set.name}: ${file.filename}`);
  const instances = set.kind === 'instances';
  const W = file.width; const H = file.height;

  // ---- the image and the current mask ----
  const size = Math.min(Math.max(W, H), MAX_SOURCE_SIZE);
  const [bitmap, mask] = await Promise.all([
    blob(`/api/files/${fileId}/thumbnail?size=${size}`, { signal }).then((b) => createImageBitmap(b)),
    rawFetch(`/api/annotations/${setId}/images/${fileId}/mask`, { signal }).then(async (r) => {
      if (r.status === 404) return null;
      if (!r.ok) throw new ApiError(r.status, errorMessage(r.status, await r.json().catch(() => null)));
      return decodeLabelPng(await r.arrayBuffer());
    }),
  ]);
  signal.throwIfAborted?.();
  const labels = mask ? mask.labels : new Uint16Array(W * H);
  if (mask && (mask.width !== W || mask.height !== H)) throw new Error('the stored mask does not fit the image');
  const currentMask = mask ? set.masks.find((m) => (m.file_id ?? m.source_file_id) === fileId) : null;
  let revision = currentMask ? Number(currentMask.revision || 0) : 0;

  // ---- state ----
  const labelList = (set.labels || []).map((l) => ({ id: l.id, name: l.name, rgb: hexToRgb(l.colour) }));
  const colourOf = new Map(labelList.map((l) => [l.id, l.rgb]));
  const nameOf = new Map(labelList.map((l) => [l.id, l.name]));
  // Instance sets: each instance's class (label id); savedClasses is what the server holds.
  const classesOf = (json) => new Map(Object.entries(json || {}).map(([k, v]) => [Number(k), Number(v)]));
  let savedClasses = classesOf(currentMask?.classes);
  const classOf = new Map(savedClasses);
  let currentClass = labelList[0]?.id ?? null; // the class a new instance gets
  let colourByClass = false;
  const rgbOf = (v) => {
    if (!instances) return colourOf.get(v) || instanceRgb(v);
    if (colourByClass && classOf.has(v)) return colourOf.get(classOf.get(v)) || instanceRgb(v);
    return instanceRgb(v);
  };
  let maxInstance = 0;
  if (instances) for (let i = 0; i < labels.length; i += 1) if (labels[i] > maxInstance) maxInstance = labels[i];
  let current = instances ? Math.max(1, maxInstance) : (labelList[0]?.id ?? 1);
  let tool = 'brush';
  let brushSize = 5;
  let dirty = false;
  const undo = []; const redo = [];
  let polygon = []; // [[x, y], ...] image pixels
  let seeds = []; // [{x, y, label}]
  let drag = null; // the edit in progress: {snapshot, box, last} or {boxStart}
  let mergeFrom = 0; // merge: the instance the next click's instance joins

  // ---- elements ----
  const base = h('canvas.editor-base', { width: W, height: H });
  const overlay = h('canvas#editor-canvas.editor-overlay', { width: W, height: H, tabindex: '0', 'aria-label': 'Mask (draw here)' });
  const guide = h('canvas.editor-guide', { width: W, height: H, 'aria-hidden': 'true' });
  const stack = h('div.editor-stack', base, overlay, guide);
  const g = overlay.getContext('2d', { willReadFrequently: false });
  const gg = guide.getContext('2d');
  base.getContext('2d').drawImage(bitmap, 0, 0, W, H);
  // Repaints the overlay inside a rectangle through an ImageData of that rectangle only.
  function paint(x0, y0, x1, y1) {
    x0 = Math.max(0, x0); y0 = Math.max(0, y0); x1 = Math.min(W - 1, x1); y1 = Math.min(H - 1, y1);
    if (x1 < x0 || y1 < y0) return;
    const w = x1 - x0 + 1;
    const part = g.createImageData(w, y1 - y0 + 1);
    const px = part.data;
    let lastV = -1; let rgb = null;
    for (let y = y0; y <= y1; y += 1) {
      for (let x = x0; x <= x1; x += 1) {
        const v = labels[y * W + x];
        if (v === 0) continue; // transparent
        if (v !== lastV) { rgb = rgbOf(v); lastV = v; }
        const o = 4 * ((y - y0) * w + (x - x0));
        px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; px[o + 3] = 255;
      }
    }
    g.putImageData(part, x0, y0);
  }

  // ---- edits: each is a rectangle's labels before and after ----
  function begin() { return { snapshot: labels.slice(), box: [W, H, -1, -1] }; }
  function touch(op, x, y) {
    const b = op.box;
    if (x < b[0]) b[0] = x; if (y < b[1]) b[1] = y; if (x > b[2]) b[2] = x; if (y > b[3]) b[3] = y;
  }
  function rect(source, [x0, y0, x1, y1]) {
    const w = x1 - x0 + 1; const out = new Uint16Array(w * (y1 - y0 + 1));
    for (let y = y0; y <= y1; y += 1) out.set(source.subarray(y * W + x0, y * W + x1 + 1), (y - y0) * w);
    return out;
  }
  function put(values, [x0, y0, x1, y1]) {
    const w = x1 - x0 + 1;
    for (let y = y0; y <= y1; y += 1) labels.set(values.subarray((y - y0) * w, (y - y0 + 1) * w), y * W + x0);
    paint(x0, y0, x1, y1);
  }
  function commit(op) {
    if (op.box[2] < 0) return;
    const before = rect(op.snapshot, op.box); const after = rect(labels, op.box);
    let changed = false;
    for (let i = 0; i < before.length && !changed; i += 1) changed = before[i] !== after[i];
    if (!changed) return;
    undo.push({ box: op.box, before, after });
    if (undo.length > MAX_UNDO) undo.shift();
    redo.length = 0;
    if (instances && !classOf.has(current) && currentClass != null) classOf.set(current, currentClass);
    setDirty(true);
    scheduleInstanceList();
  }
  function doUndo() {
    const e = undo.pop(); if (!e) return;
    put(e.before, e.box); redo.push(e); setDirty(true); scheduleInstanceList();
  }
  function doRedo() {
    const e = redo.pop(); if (!e) return;
    put(e.after, e.box); undo.push(e); setDirty(true); scheduleInstanceList();
  }

  // The brush: the pixels within (size - 1) / 2 of the centre pixel. Returns its reach.
  function stamp(op, cx, cy, value, repaint = true) {
    const r = (brushSize - 1) / 2; const k = Math.ceil(r);
    for (let dy = -k; dy <= k; dy += 1) {
      for (let dx = -k; dx <= k; dx += 1) {
        const x = cx + dx; const y = cy + dy;
        if (x < 0 || y < 0 || x >= W || y >= H || dx * dx + dy * dy > r * r) continue;
        labels[y * W + x] = value; touch(op, x, y);
      }
    }
    if (repaint) paint(cx - k, cy - k, cx + k, cy + k);
    return k;
  }
  // Stamps along the segment (Bresenham), then repaints its bounding box once.
  function line(op, x0, y0, x1, y1, value) {
    const k = Math.ceil((brushSize - 1) / 2);
    const box = [Math.min(x0, x1) - k, Math.min(y0, y1) - k, Math.max(x0, x1) + k, Math.max(y0, y1) + k];
    const dx = Math.abs(x1 - x0); const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1; const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      stamp(op, x0, y0, value, false);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
    paint(...box);
  }
  function fill(x, y, value) {
    const from = labels[y * W + x];
    if (from === value) return;
    const op = begin();
    const todo = [y * W + x];
    labels[y * W + x] = value;
    while (todo.length) {
      const i = todo.pop(); const px = i % W; const py = (i - px) / W;
      touch(op, px, py);
      if (px > 0 && labels[i - 1] === from) { labels[i - 1] = value; todo.push(i - 1); }
      if (px < W - 1 && labels[i + 1] === from) { labels[i + 1] = value; todo.push(i + 1); }
      if (py > 0 && labels[i - W] === from) { labels[i - W] = value; todo.push(i - W); }
      if (py < H - 1 && labels[i + W] === from) { labels[i + W] = value; todo.push(i + W); }
    }
    paint(...op.box); commit(op);
  }
  function replaceAll(from, to) {
    if (from === to) return;
    const op = begin();
    for (let i = 0; i < labels.length; i += 1) {
      if (labels[i] === from) { labels[i] = to; touch(op, i % W, Math.floor(i / W)); }
    }
    paint(...op.box); commit(op);
  }
  /** Fills the polygon's pixels whose centres are inside it (even-odd). */
  function fillPolygon(points, value) {
    if (points.length < 3) return;
    const op = begin();
    for (let y = 0; y < H; y += 1) {
      const cy = y + 0.5; const xs = [];
      for (let i = 0; i < points.length; i += 1) {
        const [ax, ay] = points[i]; const [bx, by] = points[(i + 1) % points.length];
        const y0 = ay + 0.5; const y1 = by + 0.5;
        if ((y0 <= cy && y1 > cy) || (y1 <= cy && y0 > cy)) xs.push(ax + 0.5 + ((cy - y0) / (y1 - y0)) * (bx - ax));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        for (let x = Math.max(0, Math.ceil(xs[k] - 0.5)); x < W && x + 0.5 < xs[k + 1]; x += 1) {
          labels[y * W + x] = value; touch(op, x, y);
        }
      }
    }
    paint(...op.box); commit(op);
  }
  function applyProposal(proposal, recolour) {
    const op = begin();
    for (let i = 0; i < labels.length; i += 1) {
      const v = proposal.labels[i];
      if (v !== 0) { labels[i] = recolour ? current : v; touch(op, i % W, Math.floor(i / W)); }
    }
    paint(...op.box); commit(op);
  }

  // ---- the guide layer: polygon, seeds, box ----
  function drawGuide(box) {
    gg.clearRect(0, 0, W, H);
    gg.lineWidth = Math.max(1, W / 600);
    gg.strokeStyle = '#ffffff';
    if (polygon.length) {
      gg.beginPath();
      polygon.forEach(([x, y], i) => (i ? gg.lineTo(x + 0.5, y + 0.5) : gg.moveTo(x + 0.5, y + 0.5)));
      gg.stroke();
    }
    for (const s of seeds) {
      gg.fillStyle = s.label === 0 ? '#000000' : `rgb(${rgbOf(s.label).join(',')})`;
      gg.beginPath(); gg.arc(s.x + 0.5, s.y + 0.5, Math.max(2, W / 200), 0, 2 * Math.PI); gg.fill(); gg.stroke();
    }
    if (box) gg.strokeRect(box[0], box[1], box[2], box[3]);
  }

  // ---- controls ----
  const status = h('span#editor-status.muted', { role: 'status', 'aria-live': 'polite' });
  function setDirty(d) {
    dirty = d;
    overlay.dataset.dirty = String(d);
    status.textContent = d ? 'Unsaved changes' : (revision ? `Saved: revision ${revision}` : 'No mask yet');
    saveButton.disabled = !d;
    undoButton.disabled = !undo.length; redoButton.disabled = !redo.length;
  }
  const tools = [
    ['brush', 'Brush', 'B'], ['eraser', 'Eraser', 'E'], ['polygon', 'Polygon', 'P'], ['fill', 'Fill', 'F'],
    ['pick', 'Pick label', 'I'], ['delete', instances ? 'Delete instance' : 'Delete region', 'X'],
    ['grabcut', 'GrabCut box', 'G'], ['watershed', 'Watershed seeds', 'W'],
    ...(instances ? [['merge', 'Merge instances', 'M'], ['split', 'Split off a piece', 'S']] : []),
  ];
  const toolButtons = new Map(tools.map(([id, label, key]) => [id, h(`button#tool-${id}`, {
    type: 'button', title: `${label} (${key})`, 'aria-pressed': 'false', onclick: () => setTool(id),
  }, label)]));
  function setTool(id) {
    tool = id;
    for (const [k, b] of toolButtons) b.setAttribute('aria-pressed', String(k === id));
    polygon = []; mergeFrom = 0; if (id !== 'watershed') seeds = [];
    runSeeds.hidden = id !== 'watershed';
    drawGuide();
  }
  const sizeInput = h('input#brush-size', { type: 'number', min: '1', max: '200', value: String(brushSize), oninput: () => { brushSize = Math.max(1, Math.min(200, Number(sizeInput.value) || 1)); } });
  function setSize(s) { brushSize = Math.max(1, Math.min(200, s)); sizeInput.value = String(brushSize); }
  const labelSelect = h('div.label-picker', { role: 'radiogroup', 'aria-label': 'Label' });
  const classPicker = h('div.label-picker.class-picker', { role: 'radiogroup', 'aria-label': 'Class of the instance', hidden: !instances });
  function showLabels() {
    if (instances) {
      const cls = classOf.get(current) ?? currentClass;
      const className = cls == null ? 'no class' : (nameOf.get(cls) || `class ${cls}`);
      setChildren(labelSelect,
        h(`button.label-chip#label-${current}`, { type: 'button', role: 'radio', 'aria-checked': 'true', title: `instance ${current}: ${className}` },
          h('span.swatch', { style: `background: rgb(${instanceRgb(current).join(',')})` }), `instance ${current} · ${className}`),
        h('button#new-instance', { type: 'button', title: 'New instance (A)', onclick: newInstance }, 'New instance'));
      setChildren(classPicker, h('span.muted.small', 'Class:'), ...labelList.map((l, i) => h(`button.label-chip#class-${l.id}`, {
        type: 'button', role: 'radio', 'aria-checked': String(l.id === cls), title: `Class ${l.name}${i < 9 ? ` (${i + 1})` : ''}`,
        onclick: () => setClass(l.id),
      }, h('span.swatch', { style: `background: rgb(${l.rgb.join(',')})` }), l.name)));
      return;
    }
    setChildren(labelSelect, ...labelList.map((l, i) => h(`button.label-chip#label-${l.id}`, {
      type: 'button', role: 'radio', 'aria-checked': String(l.id === current), title: `${l.name}${i < 9 ? ` (${i + 1})` : ''}`,
      onclick: () => { current = l.id; showLabels(); },
    }, h('span.swatch', { style: `background: rgb(${l.rgb.join(',')})` }), l.name)));
  }
  /** Instance sets: `cls` becomes the class of the current instance and of new ones. */
  function setClass(cls) {
    currentClass = cls;
    const before = classOf.get(current);
    classOf.set(current, cls);
    if (before !== cls && labels.includes(current)) {
      setDirty(true);
      if (colourByClass) paint(0, 0, W - 1, H - 1);
      scheduleInstanceList();
    }
    showLabels();
  }
  function selectInstance(v) {
    current = v;
    if (classOf.has(v)) currentClass = classOf.get(v);
    showLabels();
  }
  function newInstance() {
    for (let i = 0; i < labels.length; i += 1) if (labels[i] > maxInstance) maxInstance = labels[i];
    maxInstance += 1; current = maxInstance;
    if (currentClass != null) classOf.set(current, currentClass); else classOf.delete(current);
    showLabels();
  }
  // The instances present with their classes (instance sets); rebuilt shortly after edits.
  const instanceList = h('ul#instance-list.instance-list', { 'aria-label': 'Instances', hidden: !instances });
  const MAX_LISTED = 300;
  let listTimer = null;
  function scheduleInstanceList() {
    if (!instances) return;
    clearTimeout(listTimer);
    listTimer = setTimeout(showInstanceList, 120);
  }
  ctx.onCleanup(() => clearTimeout(listTimer));
  function presentInstances() {
    const seen = new Uint8Array(65536);
    for (let i = 0; i < labels.length; i += 1) seen[labels[i]] = 1;
    const out = [];
    for (let v = 1; v < seen.length; v += 1) if (seen[v]) out.push(v);
    return out;
  }
  function showInstanceList() {
    const present = presentInstances();
    const items = present.slice(0, MAX_LISTED).map((v) => {
      const cls = classOf.get(v);
      const rgb = cls != null ? (colourOf.get(cls) || instanceRgb(v)) : [128, 128, 128];
      return h('li', { dataset: { instance: String(v), class: cls == null ? '' : String(cls) } },
        h('button.link', { type: 'button', title: `Select instance ${v}`, onclick: () => selectInstance(v) },
          h('span.swatch', { style: `background: rgb(${rgb.join(',')})` }),
          `${v} · ${cls == null ? 'no class' : (nameOf.get(cls) || `class ${cls}`)}`));
    });
    if (present.length > MAX_LISTED) items.push(h('li.muted', `and ${present.length - MAX_LISTED} more`));
    setChildren(instanceList, ...(items.length ? items : [h('li.muted', 'No instances yet.')]));
  }
  const colourByClassInput = h('input#colour-by-class', { type: 'checkbox', onchange: () => {
    colourByClass = colourByClassInput.checked; paint(0, 0, W - 1, H - 1);
  } });
  const opacityInput = h('input#editor-opacity', { type: 'range', min: '0', max: '1', step: '0.05', value: '0.5', oninput: () => { overlay.style.opacity = opacityInput.value; } });
  overlay.style.opacity = '0.5';
  const undoButton = h('button#undo', { type: 'button', title: 'Undo (Ctrl+Z)', onclick: doUndo }, 'Undo');
  const redoButton = h('button#redo', { type: 'button', title: 'Redo (Ctrl+Shift+Z)', onclick: doRedo }, 'Redo');
  const saveButton = h('button#save-mask.primary', { type: 'button', title: 'Save a new revision (Ctrl+S)', onclick: save }, 'Save');
  const runSeeds = h('button#run-watershed', { type: 'button', hidden: true, onclick: runWatershed }, 'Run watershed');
  const zoomInput = h('select#editor-zoom', { 'aria-label': 'Zoom', onchange: () => applyZoom() },
    ['fit', '0.25', '0.5', '1', '2', '4', '8'].map((z) => h('option', { value: z, selected: z === 'fit' }, z === 'fit' ? 'Fit' : `${Number(z) * 100}%`)));
  function applyZoom() {
    const z = zoomInput.value === 'fit' ? Math.min(1, (root.clientWidth - 16) / W) : Number(zoomInput.value);
    stack.style.width = `${Math.max(1, Math.round(W * z))}px`;
    stack.style.height = `${Math.max(1, Math.round(H * z))}px`;
  }
  const index = files.findIndex((f) => f.id === fileId);
  const go = (f) => f && ctx.navigate(`#/annotations/${setId}/images/${f.id}`);
  const nextButton = h('button#next-unannotated', { type: 'button', title: 'Next image without a mask (N)', onclick: () => {
    const f = nextUnannotated(files, annotated, fileId);
    if (f) go(f); else toast('Every image of the set has a mask.', 'ok');
  } }, 'Next unannotated');

  // ---- annotate next: the server's ranking of the images without a mask ----
  const readyModels = models.filter((m) => m.ready !== false);
  const savedModel = localStorage.getItem(RANK_MODEL_KEY) || '';
  const rankModel = h('select#rank-model', { 'aria-label': 'Model that ranks the images' },
    h('option', { value: '' }, 'No model'),
    readyModels.map((m) => h('option', { value: m.name, selected: m.name === savedModel }, m.name)));
  const rankStrategy = h('select#rank-strategy', { 'aria-label': 'Ranking strategy' },
    RANK_STRATEGIES.map(([value, text]) => h('option', { value }, text)));
  function syncStrategy(preferred) {
    const hasModel = rankModel.value !== '';
    for (const option of rankStrategy.options) option.disabled = !hasModel && MODEL_STRATEGIES.has(option.value);
    let wanted = preferred || rankStrategy.value;
    if (!hasModel && MODEL_STRATEGIES.has(wanted)) wanted = 'first';
    if (hasModel && !preferred && wanted === 'first') wanted = 'uncertainty';
    rankStrategy.value = wanted;
  }
  syncStrategy(localStorage.getItem(RANK_STRATEGY_KEY) || (rankModel.value ? 'uncertainty' : 'first'));
  rankModel.addEventListener('change', () => syncStrategy(rankModel.value ? 'uncertainty' : 'first'));
  const annotateNextButton = h('button#annotate-next', { type: 'button', title: 'Open the image the ranking puts first', onclick: annotateNext }, 'Annotate next');
  async function annotateNext() {
    const body = { strategy: rankStrategy.value, annotation_set_id: setId, limit: 2 };
    if (rankModel.value) body.model_id = rankModel.value;
    localStorage.setItem(RANK_MODEL_KEY, rankModel.value);
    localStorage.setItem(RANK_STRATEGY_KEY, rankStrategy.value);
    annotateNextButton.disabled = true;
    status.textContent = 'Ranking the images…';
    try {
      const ranking = await post(`/api/datasets/${set.dataset_id}/rank`, body);
      // The current image is left for last: it is open already.
      const best = (ranking.images || []).find((i) => i.file !== fileId);
      annotateNextButton.dataset.ranked = best ? String(best.file) : '';
      if (best) go(files.find((f) => f.id === best.file) || { id: best.file });
      else toast('Every image of the set has a mask.', 'ok');
    } catch (e) {
      toast(`Annotate next: ${e.message}`, 'error');
    } finally {
      annotateNextButton.disabled = false;
      setDirty(dirty);
    }
  }

  async function save() {
    if (!dirty) return;
    saveButton.disabled = true;
    status.textContent = 'Saving…';
    try {
      // Instance sets: the classes the server does not hold yet, for the instances present.
      const classes = {};
      if (instances) {
        for (const v of presentInstances()) {
          const cls = classOf.get(v);
          if (cls != null && savedClasses.get(v) !== cls) classes[v] = cls;
        }
      }
      const written = await putMask(setId, fileId, await encodeLabelPng(labels, W, H), classes);
      if (instances) {
        savedClasses = classesOf(written.classes);
        for (const [v, cls] of savedClasses) classOf.set(v, cls);
        scheduleInstanceList();
      }
      revision = written.revision;
      overlay.dataset.revision = String(revision);
      annotated.add(fileId);
      setDirty(false);
      toast(`Saved revision ${revision}.`, 'ok');
    } catch (e) {
      setDirty(true);
      toast(`Not saved: ${e.message}`, 'error');
    }
  }
  async function runGrabCut(box) {
    status.textContent = 'GrabCut…';
    try {
      applyProposal(await assist(setId, fileId, { tool: 'grabcut', box, label: Math.max(1, current) }), true);
    } catch (e) { toast(`GrabCut: ${e.message}`, 'error'); }
    setDirty(dirty);
  }
  async function runWatershed() {
    status.textContent = 'Watershed…';
    try {
      applyProposal(await assist(setId, fileId, { tool: 'watershed', seeds }), false);
      seeds = []; drawGuide();
    } catch (e) { toast(`Watershed: ${e.message}`, 'error'); }
    setDirty(dirty);
  }

  // ---- pointer ----
  function at(e) {
    const r = overlay.getBoundingClientRect();
    return [Math.min(W - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * W))),
      Math.min(H - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * H)))];
  }
  overlay.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    overlay.focus({ preventScroll: true });
    const [x, y] = at(e);
    if (tool === 'brush' || tool === 'eraser') {
      try { overlay.setPointerCapture(e.pointerId); } catch { /* a synthetic pointer */ }
      drag = begin(); drag.last = [x, y];
      stamp(drag, x, y, tool === 'eraser' ? 0 : current);
    } else if (tool === 'fill') fill(x, y, current);
    else if (tool === 'pick') {
      const v = labels[y * W + x];
      if (v && instances) selectInstance(v);
      else if (v) { current = v; showLabels(); }
    } else if (tool === 'delete') replaceAll(labels[y * W + x], 0);
    else if (tool === 'merge') {
      const v = labels[y * W + x];
      if (!v) return;
      if (!mergeFrom) { mergeFrom = v; status.textContent = `Merging into instance ${v}: click the other instance`; }
      else { replaceAll(v, mergeFrom); mergeFrom = 0; setDirty(dirty); }
    } else if (tool === 'split') {
      // The 4-connected piece under the click becomes a new instance.
      const from = labels[y * W + x];
      if (from) {
        const cls = classOf.get(from);
        newInstance();
        if (cls != null) classOf.set(current, cls);
        showLabels();
        fill(x, y, current);
      }
    }
    else if (tool === 'polygon') {
      const first = polygon[0];
      if (first && polygon.length > 2 && Math.abs(first[0] - x) <= 2 && Math.abs(first[1] - y) <= 2) {
        fillPolygon(polygon, current); polygon = [];
      } else polygon.push([x, y]);
      drawGuide();
    } else if (tool === 'watershed') {
      seeds.push({ x, y, label: e.shiftKey ? 0 : current }); drawGuide();
    } else if (tool === 'grabcut') {
      try { overlay.setPointerCapture(e.pointerId); } catch { /* a synthetic pointer */ }
      drag = { boxStart: [x, y] };
    }
  });
  overlay.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const [x, y] = at(e);
    if (drag.boxStart) {
      const [sx, sy] = drag.boxStart;
      drawGuide([Math.min(sx, x), Math.min(sy, y), Math.abs(x - sx) + 1, Math.abs(y - sy) + 1]);
      return;
    }
    line(drag, drag.last[0], drag.last[1], x, y, tool === 'eraser' ? 0 : current);
    drag.last = [x, y];
  });
  const endDrag = (e) => {
    if (!drag) return;
    const d = drag; drag = null;
    if (d.boxStart) {
      const [x, y] = at(e); const [sx, sy] = d.boxStart;
      drawGuide();
      const box = [Math.min(sx, x), Math.min(sy, y), Math.abs(x - sx) + 1, Math.abs(y - sy) + 1];
      if (box[2] > 2 && box[3] > 2) runGrabCut(box);
      return;
    }
    commit(d);
  };
  overlay.addEventListener('pointerup', endDrag);
  overlay.addEventListener('pointercancel', endDrag);
  overlay.addEventListener('dblclick', () => { if (tool === 'polygon' && polygon.length > 2) { fillPolygon(polygon, current); polygon = []; drawGuide(); } });

  // ---- keys ----
  const onKey = (e) => {
    if (e.target.closest?.('input, select, textarea')) return;
    const key = e.key.toLowerCase();
    const mod = e.ctrlKey || e.metaKey;
    if (mod && key === 'z') { e.preventDefault(); if (e.shiftKey) doRedo(); else doUndo(); return; }
    if (mod && key === 'y') { e.preventDefault(); doRedo(); return; }
    if (mod && key === 's') { e.preventDefault(); save(); return; }
    if (mod || e.altKey) return;
    const byKey = { b: 'brush', e: 'eraser', p: 'polygon', f: 'fill', i: 'pick', x: 'delete', g: 'grabcut', w: 'watershed',
      ...(instances ? { m: 'merge', s: 'split' } : {}) };
    if (byKey[key]) { setTool(byKey[key]); return; }
    if (key === '[') setSize(brushSize - 1);
    else if (key === ']') setSize(brushSize + 1);
    else if (key === 'n') nextButton.click();
    else if (key === 'a' && instances) newInstance();
    else if (key === 'escape') { polygon = []; seeds = []; drawGuide(); }
    else if (key === 'enter' && tool === 'polygon') { fillPolygon(polygon, current); polygon = []; drawGuide(); }
    else if (key === 'enter' && tool === 'watershed') runWatershed();
    else if (!instances && /^[1-9]$/.test(key) && labelList[Number(key) - 1]) { current = labelList[Number(key) - 1].id; showLabels(); }
    else if (instances && /^[1-9]$/.test(key) && labelList[Number(key) - 1]) setClass(labelList[Number(key) - 1].id);
  };
  document.addEventListener('keydown', onKey);
  ctx.onCleanup(() => document.removeEventListener('keydown', onKey));
  const beforeUnload = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);
  ctx.onCleanup(() => window.removeEventListener('beforeunload', beforeUnload));
  window.addEventListener('resize', applyZoom);
  ctx.onCleanup(() => window.removeEventListener('resize', applyZoom));

  setChildren(root,
    h('p.breadcrumb', h('a', { href: `#/datasets/${set.dataset_id}` }, `← ${dataset.name}`)),
    pageHeader(`${set.name}: ${file.filename}`, saveButton,
      h('a.button#retrain-link', { href: `#/retrain?set=${set.id}` }, 'Retrain a model')),
    h('p.muted', `${instances ? 'Instances' : 'Semantic'} · image ${index + 1} of ${files.length} · ${W}×${H} · ${annotated.size} annotated`),
    h('div.editor-toolbar', { role: 'toolbar', 'aria-label': 'Editor tools' },
      h('div.tool-group', ...toolButtons.values()),
      h('div.tool-group', h('label', { for: 'brush-size' }, 'Size'), sizeInput),
      h('div.tool-group', undoButton, redoButton, runSeeds),
      h('div.tool-group', h('label', { for: 'editor-opacity' }, 'Opacity'), opacityInput, zoomInput),
      h('div.tool-group',
        h('button#prev-image', { type: 'button', disabled: index <= 0, onclick: () => go(files[index - 1]) }, '←'),
        h('button#next-image', { type: 'button', disabled: index >= files.length - 1, onclick: () => go(files[index + 1]) }, '→'),
        nextButton),
      h('div.tool-group', rankModel, rankStrategy, annotateNextButton)),
    labelSelect, classPicker,
    instances ? h('div.check', colourByClassInput, h('label', { for: 'colour-by-class' }, 'Colour by class')) : null,
    status,
    h('div.editor-main', h('div.editor-viewport', stack),
      instances ? h('details.instance-panel', { open: true }, h('summary', 'Instances'), instanceList) : null));
  showLabels();
  if (instances) showInstanceList();
  setTool('brush');
  paint(0, 0, W - 1, H - 1);
  applyZoom();
  setDirty(false);
  overlay.dataset.revision = String(revision);
  overlay.dataset.ready = 'true';
}

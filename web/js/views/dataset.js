// views/dataset.js: one dataset (GET /api/datasets/{id}): its images as thumbnails, and
// uploads by drag-and-drop or a file picker. Every file is its own request with its own
// progress bar (XMLHttpRequest upload progress): images go to
// POST /api/datasets/{id}/files (multipart field `files`), .zip files to
// POST /api/datasets/{id}/archive (multipart field `file`). The server checks each file
// on its own; refused files (and refused ZIP entries) are listed under their row with
// the server's reason. Leaving the screen cancels uploads still in flight.
// DICOM: .dcm files (and ZIPs of series) go the same way, with `?anonymize=true` when
// "De-identify DICOM" is ticked; the dataset's DICOM series (GET /api/datasets/{id}/series)
// are listed with their description, modality, instance count and size, each opening the
// series viewer (views/dicom_viewer.js).

import { get, post, upload, ApiError, errorMessage } from '../api.js';
import { h, setChildren, pageHeader, errorBox, progressBar, formatBytes, ThumbnailLoader, toast } from '../ui.js';

const PARALLEL_UPLOADS = 2;
const IMAGE_EXTENSIONS = /\.(png|jpe?g|tiff?|dcm)$/i;

export async function render(ctx) {
  const { root, signal, params } = ctx;
  const id = Number(params.id);
  let dataset;
  try {
    dataset = await get(`/api/datasets/${id}`, { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader('Dataset'), errorBox(e, () => render(ctx)),
      h('p', h('a', { href: '#/datasets' }, '← All datasets')));
    return;
  }
  ctx.setTitle(dataset.name);

  const thumbs = new ThumbnailLoader(4);
  ctx.onCleanup(() => thumbs.dispose());
  const uploads = new AbortController();
  ctx.onCleanup(() => uploads.abort());

  // --- the drop zone and the upload queue ---
  const input = h('input#file-input.visually-hidden', {
    type: 'file', multiple: true, accept: '.png,.jpg,.jpeg,.tif,.tiff,.dcm,.zip,image/png,image/jpeg,image/tiff,application/dicom,application/zip',
    onchange: () => { enqueue([...input.files]); input.value = ''; },
  });
  const zone = h('div.dropzone', {
    ondragenter: (e) => { e.preventDefault(); zone.classList.add('over'); },
    ondragover: (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; },
    ondragleave: (e) => { if (!zone.contains(e.relatedTarget)) zone.classList.remove('over'); },
    ondrop: (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      enqueue([...(e.dataTransfer?.files || [])]);
    },
  },
  h('p.drop-title', 'Drop images or ZIP files here'),
  h('p.muted', 'PNG, JPEG and TIFF (8/16-bit, multi-channel), DICOM (.dcm); ZIP archives of them. Many at once is fine.'),
  input,
  h('label.button.primary', { for: 'file-input' }, 'Choose files…'));
  const anonymize = h('input#anonymize-dicom', { type: 'checkbox' });
  const anonymizeRow = h('div.check', anonymize,
    h('label', { for: 'anonymize-dicom', title: 'Removes or replaces the patient attributes of the basic de-identification profile before storing' }, 'De-identify DICOM files'));

  const queueList = h('ul.upload-list', { 'aria-label': 'Uploads', 'aria-live': 'polite' });
  const pending = [];
  let running = 0;

  function enqueue(files) {
    if (!files.length) return;
    for (const file of files) {
      const row = uploadRow(file);
      queueList.prepend(row.el);
      pending.push(row);
    }
    pump();
  }

  function pump() {
    while (running < PARALLEL_UPLOADS && pending.length) {
      const row = pending.shift();
      running += 1;
      row.start().finally(() => {
        running -= 1;
        refreshFiles();
        pump();
      });
    }
  }

  function uploadRow(file) {
    const isZip = /\.zip$/i.test(file.name) || file.type === 'application/zip' || file.type === 'application/x-zip-compressed';
    const bar = progressBar(`Upload of ${file.name}`);
    bar.set(0, 1, 'waiting');
    const details = h('ul.upload-errors');
    const status = h('span.upload-status', 'waiting');
    const el = h('li.upload', { dataset: { filename: file.name } },
      h('div.upload-head', h('span.upload-name', file.name), h('span.muted.small', formatBytes(file.size)), status),
      bar, details);
    const setStatus = (text, kind) => {
      status.textContent = text;
      el.classList.remove('ok', 'error', 'partial');
      if (kind) el.classList.add(kind);
    };
    async function start() {
      if (!isZip && !IMAGE_EXTENSIONS.test(file.name)) {
        // Not refused here: the server decides by content; just a hint.
        details.append(h('li.muted', 'Not a .png/.jpg/.tif name; the server will check the content.'));
      }
      const form = new FormData();
      form.append(isZip ? 'file' : 'files', file, file.name);
      setStatus('uploading');
      const query = anonymize.checked ? '?anonymize=true' : '';
      try {
        const answer = await upload(`/api/datasets/${id}/${isZip ? 'archive' : 'files'}${query}`, form, {
          signal: uploads.signal,
          onProgress: (loaded, total) => {
            const t = total || file.size || 1;
            bar.set(loaded, t, `${Math.round((100 * loaded) / t)}%`);
            if (loaded >= t) setStatus('checking…');
          },
        });
        bar.set(1, 1, '100%');
        const stored = answer.body?.files?.length || 0;
        const errors = answer.body?.errors || [];
        for (const err of errors) {
          details.append(h('li.error', isZip || err.filename !== file.name ? `${err.filename}: ${err.error}` : err.error));
        }
        if (answer.status >= 200 && answer.status < 300) {
          if (isZip) setStatus(`${stored} image${stored === 1 ? '' : 's'} stored${errors.length ? `, ${errors.length} refused` : ''}`, errors.length ? 'partial' : 'ok');
          else setStatus('stored', 'ok');
        } else if (answer.status === 400 && errors.length) {
          setStatus(isZip ? 'nothing stored' : 'refused', 'error');
        } else {
          setStatus('failed', 'error');
          details.append(h('li.error', errorMessage(answer.status, answer.body)));
        }
      } catch (e) {
        if (e.name === 'AbortError') {
          setStatus('canceled', 'error');
          return;
        }
        setStatus('failed', 'error');
        details.append(h('li.error', e instanceof ApiError ? e.message : String(e)));
      }
    }
    return { el, start };
  }

  // --- the files grid ---
  const grid = h('ul.thumb-grid', { 'aria-label': 'Images in this dataset' });
  const summary = h('p.muted');
  const tiles = new Map();

  function showFiles(files) {
    summary.textContent = `${files.length} image${files.length === 1 ? '' : 's'} · ${formatBytes(files.reduce((s, f) => s + (f.size || 0), 0))}`;
    if (!files.length) {
      setChildren(grid, h('li.empty', 'No images yet: drop some above.'));
      tiles.clear();
      return;
    }
    const keep = new Set(files.map((f) => f.id));
    for (const [fid, tile] of tiles) if (!keep.has(fid)) { tile.remove(); tiles.delete(fid); }
    grid.querySelector('.empty')?.remove();
    for (const f of files) {
      if (tiles.has(f.id)) continue;
      const img = h('img', { alt: f.filename, width: 160, height: 160, decoding: 'async' });
      const depth = f.bit_depth ? `${f.bit_depth}-bit` : '';
      const tile = h('li.thumb', { dataset: { fileId: f.id }, title: `${f.filename} (${f.type})` },
        h('div.thumb-img', img),
        h('div.thumb-name', f.filename),
        h('div.thumb-meta.muted.small', `${f.width}×${f.height} · ${f.channels} ch · ${depth}${f.pages > 1 ? ` · ${f.pages} pages` : ''}`));
      tiles.set(f.id, tile);
      grid.append(tile);
      thumbs.load(img, f.id, 192);
    }
  }

  const series = dicomSeries(id, signal, thumbs);

  let refreshTimer = null;
  function refreshFiles() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      try {
        const fresh = await get(`/api/datasets/${id}`, { signal });
        showFiles(fresh.files || []);
        series.refresh(fresh.files || []);
      } catch (e) {
        if (e.name !== 'AbortError') toast(`Could not refresh the file list: ${e.message}`, 'error');
      }
    }, 150);
  }
  ctx.onCleanup(() => clearTimeout(refreshTimer));

  setChildren(root,
    h('p.breadcrumb', h('a', { href: '#/datasets' }, '← All datasets')),
    pageHeader(dataset.name,
      h('a.button.primary', { href: `#/run?dataset=${id}` }, 'Run a model on this dataset'),
      h('a.button', { href: `#/jobs?dataset=${id}` }, 'Jobs')),
    dataset.description ? h('p', dataset.description) : null,
    h('section.card', { 'aria-label': 'Upload' }, h('h2', 'Add images'), zone, anonymizeRow, queueList),
    series.el,
    h('section', { 'aria-label': 'Images' }, h('h2', 'Images'), summary, grid),
    annotationSets(id, signal));
  showFiles(dataset.files || []);
  series.refresh(dataset.files || []);
}

/**
 * The dataset's DICOM series (GET /api/datasets/{id}/series): a card per series with the
 * middle instance's thumbnail, its description, modality, instance count, size and bytes,
 * linking to the viewer. Patient attributes are not shown. Hidden while there is none;
 * refresh(files) reloads it (files: the dataset's files, for their byte sizes).
 */
function dicomSeries(datasetId, signal, thumbs) {
  const list = h('ul#dicom-series.series-list', { 'aria-label': 'DICOM series' });
  const el = h('section.card', { 'aria-label': 'DICOM series', hidden: true }, h('h2', 'DICOM series'), list);
  const shown = new Map(); // uid -> the card's key (to keep thumbnails when nothing changed)
  async function refresh(files) {
    let answer;
    try {
      answer = await get(`/api/datasets/${datasetId}/series`, { signal });
    } catch (e) {
      if (e.name !== 'AbortError') setChildren(list, h('li.error', e.message));
      el.hidden = false;
      return;
    }
    const all = answer.series || [];
    el.hidden = all.length === 0;
    const sizeOf = new Map(files.map((f) => [f.id, f.size || 0]));
    const key = (s) => s.files.map((f) => f.id).join(',');
    if (all.length === shown.size && all.every((s) => shown.get(s.series_instance_uid) === key(s))) return;
    shown.clear();
    setChildren(list, ...all.map((s) => {
      shown.set(s.series_instance_uid, key(s));
      const middle = s.files[Math.floor((s.files.length - 1) / 2)];
      const img = h('img', { alt: '', width: 72, height: 72, decoding: 'async' });
      if (middle) thumbs.load(img, middle.id, 96);
      const bytes = s.files.reduce((sum, f) => sum + (sizeOf.get(f.id) || 0), 0);
      const frames = s.files.reduce((sum, f) => sum + (f.frames || 1), 0);
      return h('li.series-card', { dataset: { seriesUid: s.series_instance_uid } }, img,
        h('div',
          h('a.series-link', { href: `#/datasets/${datasetId}/series/${s.series_instance_uid}` },
            s.series_description || `${s.modality || 'DICOM'} series (no description)`),
          h('div.muted.small', [s.modality || '?', `${s.files.length} instance${s.files.length === 1 ? '' : 's'}`,
            frames > s.files.length ? `${frames} frames` : null, `${s.columns}×${s.rows}`, formatBytes(bytes)].filter(Boolean).join(' · '))));
    }));
  }
  return { el, refresh };
}

/**
 * The dataset's annotation sets (GET /api/datasets/{id}/annotations), each a link to the
 * editor, and a form to create one: name, kind and labels, one per line as
 * "<id> <name> [#rrggbb]" (POST /api/datasets/{id}/annotations).
 */
function annotationSets(datasetId, signal) {
  const list = h('ul#annotation-sets.plain-list');
  const refresh = async () => {
    try {
      const { annotation_sets: sets } = await get(`/api/datasets/${datasetId}/annotations`, { signal });
      setChildren(list, ...(sets.length ? sets.map((s) => h('li', h('a', { href: `#/annotations/${s.id}` }, s.name),
        h('span.muted', s.kind === 'image_labels'
          ? ` · image labels · ${s.mask_count} labelled`
          : ` · ${s.kind} · ${s.mask_count} mask${s.mask_count === 1 ? '' : 's'}`),
        s.mask_count ? [' ', h('a.button.small', { href: `#/retrain?set=${s.id}`, 'aria-label': `Retrain a model on ${s.name}` }, 'Retrain a model')] : null))
        : [h('li.muted', 'No annotation sets yet.')]));
    } catch (e) {
      if (e.name !== 'AbortError') setChildren(list, h('li.error', e.message));
    }
  };
  const name = h('input#set-name', { required: true, maxlength: '200', placeholder: 'ground truth' });
  const kind = h('select#set-kind', h('option', { value: 'semantic' }, 'semantic (a class per pixel)'),
    h('option', { value: 'instances' }, 'instances (an object per pixel)'),
    h('option', { value: 'image_labels' }, 'image labels (a class per image)'));
  const labels = h('textarea#set-labels', { rows: '3', placeholder: '1 cell #e6194b\n2 nucleus' }, '1 object');
  const form = h('form#new-set.stack', {
    onsubmit: async (e) => {
      e.preventDefault();
      const parsed = [];
      for (const raw of labels.value.split('\n')) {
        const line = raw.trim();
        if (!line) continue;
        const m = /^(\d+)\s+(.+?)(?:\s+(#[0-9a-fA-F]{6}))?$/.exec(line);
        if (!m) { toast(`Label line "${line}": expected "<id> <name> [#rrggbb]"`, 'error'); return; }
        parsed.push({ id: Number(m[1]), name: m[2], ...(m[3] ? { colour: m[3] } : {}) });
      }
      try {
        const set = await post(`/api/datasets/${datasetId}/annotations`, { name: name.value, kind: kind.value, labels: parsed }, { signal });
        location.hash = `#/annotations/${set.id}`;
      } catch (err) {
        if (err.name !== 'AbortError') toast(err.message, 'error');
      }
    },
  },
  h('label', { for: 'set-name' }, 'Name'), name,
  h('label', { for: 'set-kind' }, 'Kind'), kind,
  h('label', { for: 'set-labels' }, 'Labels (id name [#colour], one a line)'), labels,
  h('button.primary', { type: 'submit' }, 'Create and annotate'));
  refresh();
  return h('section.card', { 'aria-label': 'Annotation sets' }, h('h2', 'Annotation sets'), list, form);
}

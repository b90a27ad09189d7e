// views/labels.js: an annotation set of kind image_labels ("image labels": one class per
// image), reached through #/annotations/{set} (views/annotation_set.js sends labels sets
// here, mask sets to the editor).
//
// Every image of the dataset as a row: its thumbnail, its name and a label picker (a
// <select> of the set's labels, "—" for none). Changing a picker saves at once with
// PUT /api/annotations/{set}/images/{file}/label ({"label": id} or {"label": null}); the
// row shows "saved" or the server's reason. Keys: with a row focused, 1–9 pick the
// set's first nine labels, 0 clears, ↑/↓ (or j/k) move between rows. "Annotate next"
// asks the server which unlabelled image to label next (POST /api/datasets/{id}/rank
// with the chosen model and strategy, skipping labelled images) and focuses it. The set's
// labels go out and come in as CSV (format labels_csv: "file,label" lines); "Retrain a
// model" opens #/retrain?set={id}.
//
// For tests each row has data-file-id and data-label (the saved label id, '' for none)
// and its select the id label-{file id}.

import { get, post, request, download, upload } from '../api.js';
import { h, setChildren, pageHeader, errorBox, toast, ThumbnailLoader } from '../ui.js';

const RANK_STRATEGIES = [['uncertainty', 'Most uncertain'], ['random', 'Random'], ['first', 'Dataset order']];

export async function render(ctx, set) {
  const { root, signal } = ctx;
  let dataset; let models = [];
  try {
    [dataset, { models = [] }] = await Promise.all([
      get(`/api/datasets/${set.dataset_id}`, { signal }),
      get('/api/models', { signal }).catch(() => ({ models: [] })),
    ]);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader(set.name), errorBox(e, () => render(ctx, set)));
    return;
  }
  ctx.setTitle?.(set.name);
  const thumbs = new ThumbnailLoader(4);
  ctx.onCleanup(() => thumbs.dispose());

  const labels = set.labels || [];
  const current = new Map((set.image_labels || []).map((l) => [l.file_id, l.label]));
  const files = (dataset.files || []).filter((f) => !f.role || f.role === 'source');
  const counts = h('p#label-counts.muted');
  const showCounts = () => {
    const per = new Map(labels.map((l) => [l.id, 0]));
    for (const id of current.values()) if (per.has(id)) per.set(id, per.get(id) + 1);
    const parts = labels.map((l) => `${l.name}: ${per.get(l.id)}`);
    const unlabelled = files.filter((f) => !current.has(f.id)).length;
    counts.textContent = `${files.length - unlabelled} of ${files.length} labelled · ${parts.join(' · ')}`;
  };

  const rows = new Map();
  function row(f) {
    const picker = h('select', { id: `label-${f.id}`, 'aria-label': `Label of ${f.filename}` },
      h('option', { value: '' }, '—'),
      labels.map((l, i) => h('option', { value: String(l.id) }, `${i < 9 ? `${i + 1}: ` : ''}${l.name}`)));
    picker.value = current.has(f.id) ? String(current.get(f.id)) : '';
    const status = h('span.label-status.muted.small');
    const img = h('img', { alt: f.filename, width: 96, height: 96, decoding: 'async' });
    const el = h('li.label-row', {
      tabindex: '0',
      dataset: { fileId: String(f.id), label: current.has(f.id) ? String(current.get(f.id)) : '' },
      onkeydown: (e) => onKey(e, f, picker),
    },
    h('div.thumb', h('div.thumb-img', img)),
    h('div.label-name', f.filename),
    picker, status);
    picker.addEventListener('change', () => save(f, picker, el, status));
    thumbs.load(img, f.id, 96);
    rows.set(f.id, el);
    return el;
  }

  async function save(f, picker, el, status) {
    const label = picker.value === '' ? null : Number(picker.value);
    status.textContent = 'saving…';
    status.className = 'label-status muted small';
    try {
      const saved = await request('PUT', `/api/annotations/${set.id}/images/${f.id}/label`, { json: { label }, signal });
      if (saved.label == null) current.delete(f.id); else current.set(f.id, saved.label);
      el.dataset.label = saved.label == null ? '' : String(saved.label);
      status.textContent = `saved (revision ${saved.revision})`;
      status.className = 'label-status ok small';
      showCounts();
    } catch (e) {
      if (e.name === 'AbortError') return;
      picker.value = el.dataset.label;
      status.textContent = e.message;
      status.className = 'label-status error small';
    }
  }

  function onKey(e, f, picker) {
    if (e.target !== e.currentTarget || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = e.currentTarget;
    if (/^[0-9]$/.test(e.key)) {
      const n = Number(e.key);
      if (n > 0 && n > labels.length) return;
      picker.value = n === 0 ? '' : String(labels[n - 1].id);
      picker.dispatchEvent(new Event('change'));
      e.preventDefault();
    } else if (e.key === 'ArrowDown' || e.key === 'j') {
      el.nextElementSibling?.focus();
      e.preventDefault();
    } else if (e.key === 'ArrowUp' || e.key === 'k') {
      el.previousElementSibling?.focus();
      e.preventDefault();
    }
  }

  const list = h('ul#image-labels.plain-list.label-list', { 'aria-label': 'Images and their labels' },
    files.length ? files.map(row) : h('li.empty', 'The dataset has no images.'));
  showCounts();

  // ---- annotate next: the server's ranking of the unlabelled images ----
  const classifiers = models.filter((m) => m.ready && m.runner_name === 'classify');
  const rankModel = h('select#rank-model', { 'aria-label': 'Model that ranks the images' },
    h('option', { value: '' }, 'no model'),
    classifiers.map((m) => h('option', { value: m.name }, m.name)));
  const rankStrategy = h('select#rank-strategy', { 'aria-label': 'Ranking strategy' },
    RANK_STRATEGIES.map(([v, text]) => h('option', { value: v }, text)));
  rankStrategy.value = classifiers.length ? 'uncertainty' : 'first';
  if (classifiers.length) rankModel.value = classifiers[0].name;
  const nextButton = h('button#annotate-next', { type: 'button', onclick: async () => {
    const body = { strategy: rankStrategy.value, annotation_set_id: set.id, limit: 1 };
    if (rankModel.value && rankStrategy.value === 'uncertainty') body.model_id = rankModel.value;
    if (body.strategy === 'uncertainty' && !body.model_id) body.strategy = 'first';
    nextButton.disabled = true;
    try {
      const ranking = await post(`/api/datasets/${set.dataset_id}/rank`, body, { signal });
      const best = (ranking.images || [])[0];
      nextButton.dataset.ranked = best ? String(best.file) : '';
      if (!best) { toast('Every image has a label.', 'info'); return; }
      const el = rows.get(best.file);
      el?.scrollIntoView({ block: 'center' });
      el?.focus();
    } catch (e) {
      if (e.name !== 'AbortError') toast(`Annotate next: ${e.message}`, 'error');
    } finally {
      nextButton.disabled = false;
    }
  } }, 'Annotate next');

  // ---- CSV in and out ----
  const csvInput = h('input#labels-csv-input.visually-hidden', { type: 'file', accept: '.csv,text/csv', onchange: async () => {
    const file = csvInput.files[0];
    csvInput.value = '';
    if (!file) return;
    const form = new FormData();
    form.append('format', 'labels_csv');
    form.append('file', file, file.name);
    try {
      const answer = await upload(`/api/annotations/${set.id}/import`, form, { signal });
      const imported = answer.body?.imported?.length || 0;
      const refused = answer.body?.refused || [];
      toast(`${imported} label${imported === 1 ? '' : 's'} imported${refused.length ? `; refused: ${refused.slice(0, 3).map((r) => `${r.source}: ${r.reason}`).join('; ')}` : ''}`,
        answer.status === 200 ? 'info' : 'error', 10000);
      if (imported) render(ctx, await get(`/api/annotations/${set.id}`, { signal }));
    } catch (e) {
      if (e.name !== 'AbortError') toast(e.message, 'error');
    }
  } });

  setChildren(root,
    h('p.breadcrumb', h('a', { href: `#/datasets/${set.dataset_id}` }, `← ${dataset.name}`)),
    pageHeader(set.name,
      h('a.button', { href: `#/retrain?set=${set.id}` }, 'Retrain a model'),
      h('button', { type: 'button', onclick: () => download(`/api/annotations/${set.id}/export?format=labels_csv`, `${set.name}_labels.csv`).catch((e) => toast(e.message, 'error')) }, 'Export CSV'),
      csvInput, h('label.button', { for: 'labels-csv-input' }, 'Import CSV…')),
    h('p.muted', 'Image labels: one class per image. Pick a label for each image (focus a row: keys 1–9 pick, 0 clears, ↑/↓ move); each change is saved as a new revision.'),
    counts,
    h('div.rank-bar', rankModel, rankStrategy, nextButton),
    list);
}

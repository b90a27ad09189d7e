// views/retrainings.js: the retraining jobs the caller may see (GET /api/retraining;
// an admin sees everyone's), newest first, each with its model, status, epochs done and
// outcome (the new version, held back or serving); re-read every second while one runs.
// A retraining starts from an annotation set (views/retrain.js).

import { get } from '../api.js';
import { h, setChildren, pageHeader, errorBox, statusBadge, formatTime } from '../ui.js';

const ACTIVE = new Set(['queued', 'running']);
const POLL_MS = 1000;

export async function render(ctx) {
  const { root, signal } = ctx;
  const body = h('div');
  setChildren(root, pageHeader('Retraining'),
    h('p.muted', 'Start one from an annotation set: Datasets → a dataset → an annotation set → “Retrain a model”.'),
    body);
  let timer = null;
  ctx.onCleanup(() => clearTimeout(timer));
  let lastKey = '';

  async function refresh() {
    let list;
    try {
      ({ retrainings: list } = await get('/api/retraining?limit=100', { signal }));
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      setChildren(body, errorBox(e, () => refresh()));
      return;
    }
    if (signal.aborted) return;
    const key = JSON.stringify(list.map((j) => [j.retraining_id, j.status, j.progress, j.new_version]));
    if (key !== lastKey) {
      lastKey = key;
      setChildren(body, list.length ? h('div.table-wrap', h('table.list.retrainings',
        h('thead', h('tr', h('th', 'Job'), h('th', 'Model'), h('th', 'Status'), h('th', 'Epochs'), h('th', 'Result'), h('th', 'Created'))),
        h('tbody', list.map((j) => h('tr', { dataset: { id: j.retraining_id } },
          h('td', h('a', { href: `#/retraining/${j.retraining_id}` }, `#${j.retraining_id}`)),
          h('td', `${j.model} v${j.parent_version}`),
          h('td', statusBadge(j.status)),
          h('td', `${j.progress.epochs_done} / ${j.progress.epochs}`),
          h('td', j.new_version ? `v${j.new_version}${j.held_back ? ' (held back)' : ''}` : (j.note || '—')),
          h('td', formatTime(j.created_at))))))) : h('p.empty', 'No retraining yet.'));
    }
    if (list.some((j) => ACTIVE.has(j.status))) timer = setTimeout(refresh, POLL_MS);
  }
  await refresh();
}

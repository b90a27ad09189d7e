// views/job.js: one inference job (GET /api/inferences/{id}): status, a live progress
// bar (re-read every second while queued or running), params, timings, and the table of
// images with their per-image errors. Buttons: cancel (while active), view results
// (the viewer), download the results ZIP, and the exports the job's `export_formats`
// (GET /api/inferences/{id}) offer: a classification job's labels CSV
// (/api/inferences/{id}/export?format=labels_csv).

import { download, get, post } from '../api.js';
import { h, setChildren, pageHeader, errorBox, statusBadge, progressBar, formatTime, formatDuration, toast } from '../ui.js';
import { ACTIVE, downloadResults } from './jobs.js';

const POLL_MS = 1000;

export async function render(ctx) {
  const { root, signal, params } = ctx;
  const id = Number(params.id);
  let timer = null;
  let failures = 0;
  ctx.onCleanup(() => clearTimeout(timer));

  const bar = progressBar(`Progress of job ${id}`);
  const statusLine = h('div.job-status');
  const actions = h('div.actions');
  const details = h('div');
  const resultsBox = h('section', { 'aria-label': 'Images' });
  setChildren(root,
    h('p.breadcrumb', h('a', { href: '#/jobs' }, '← All jobs')),
    h('div.page-header', h('h1', { tabindex: '-1' }, `Job #${id}`), actions),
    h('section.card', statusLine, bar, details),
    resultsBox);

  let lastRendered = '';
  let lastActions = '';

  async function refresh() {
    let job;
    try {
      job = await get(`/api/inferences/${id}`, { signal });
      failures = 0;
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      failures += 1;
      if (e.status === 404 || !lastRendered || failures > 3) {
        setChildren(root, h('p.breadcrumb', h('a', { href: '#/jobs' }, '← All jobs')),
          pageHeader(`Job #${id}`), errorBox(e, e.status === 404 ? null : () => render(ctx)));
        return;
      }
      timer = setTimeout(refresh, POLL_MS * 2 ** failures);
      return;
    }
    if (signal.aborted) return;
    show(job);
    if (ACTIVE.has(job.status)) timer = setTimeout(refresh, POLL_MS);
  }

  function show(job) {
    const p = job.progress || {};
    bar.set(p.done || 0, p.total || 1,
      `${p.done ?? 0} of ${p.total ?? 0} images${p.failed ? ` · ${p.failed} failed` : ''}`);
    root.querySelector('.page-header')?.setAttribute('data-status', job.status);
    setChildren(statusLine,
      statusBadge(job.status),
      h('span', ` ${job.model_id} v${job.model_version} (${job.runner_name}) on `,
        h('a', { href: `#/datasets/${job.dataset_id}` }, `dataset ${job.dataset_id}`)),
      job.cancel_requested && ACTIVE.has(job.status) ? h('span.muted', ' · cancel requested') : null,
      job.note ? h('p.note', job.note) : null);

    const active = ACTIVE.has(job.status);
    const hasResults = (job.results || []).some((r) => !r.error);
    // Rebuild the buttons only when they change (keeps keyboard focus while polling).
    const labelsCsv = !active && (job.export_formats || []).includes('labels_csv');
    const actionsKey = JSON.stringify([active, job.cancel_requested, hasResults, labelsCsv]);
    if (actionsKey !== lastActions) {
      lastActions = actionsKey;
      setChildren(actions,
        active ? h('button.danger#cancel-job', {
          type: 'button',
          disabled: job.cancel_requested,
          onclick: async (e) => {
            const button = e.currentTarget;
            button.disabled = true;
            try {
              await post(`/api/inferences/${id}/cancel`);
              toast(`Job ${id}: cancel requested.`, 'ok');
              clearTimeout(timer);
              refresh();
            } catch (err) {
              toast(err.message, 'error');
              button.disabled = false;
            }
          },
        }, 'Cancel job') : null,
        hasResults ? h('a.button.primary', { href: `#/jobs/${id}/view/0` }, 'View results') : null,
        !active && hasResults ? h('button#download-zip', { type: 'button', onclick: (e) => downloadResults(id, e.currentTarget) }, 'Download ZIP') : null,
        labelsCsv ? h('button#download-labels-csv', {
          type: 'button',
          'aria-label': `Download the top-1 labels of job ${id} as CSV`,
          onclick: () => download(`/api/inferences/${id}/export?format=labels_csv`, `inference_${id}_labels.csv`)
            .catch((err) => toast(`Download failed: ${err.message}`, 'error')),
        }, 'Labels CSV') : null);
    }

    // Details change rarely; only rebuild the tables when something changed.
    const key = JSON.stringify([job.status, p.done, p.failed, (job.results || []).length]);
    if (key === lastRendered) return;
    lastRendered = key;
    const t = job.timings || {};
    setChildren(details, h('dl.facts',
      h('dt', 'Created'), h('dd', formatTime(job.created_at)),
      h('dt', 'Started'), h('dd', formatTime(job.started_at)),
      h('dt', 'Finished'), h('dd', formatTime(job.finished_at)),
      t.wall_ms ? [h('dt', 'Time'), h('dd', `${formatDuration(t.wall_ms)}${t.images_per_s ? ` · ${t.images_per_s.toFixed(1)} images/s` : ''}`)] : null),
    h('details', h('summary', 'Params'), h('pre.params-json', JSON.stringify(job.params, null, 2))));

    const results = job.results || [];
    if (!results.length) {
      setChildren(resultsBox, h('h2', 'Images'), h('p.muted', active ? 'No image finished yet…' : 'No images were processed.'));
      return;
    }
    setChildren(resultsBox, h('h2', 'Images'), h('div.table-wrap', h('table.list.results',
      h('caption.visually-hidden', 'Per-image results'),
      h('thead', h('tr', h('th', 'Image'), h('th', 'Result'), h('th', h('span.visually-hidden', 'Open')))),
      h('tbody', results.map((r, i) => h('tr', { class: r.error ? 'failed' : '' },
        h('td', r.source_filename),
        h('td', r.error ? h('span.error-text', r.error) : resultText(r.summary)),
        h('td', r.error ? null : h('a.button', { href: `#/jobs/${id}/view/${i}`, 'aria-label': `View ${r.source_filename}` }, 'View'))))))));
  }

  await refresh();
}

/** A one-line summary of a result, whatever the runner. */
export function resultText(s = {}) {
  const parts = [];
  if (typeof s.count === 'number') parts.push(`${s.count} object${s.count === 1 ? '' : 's'}`);
  if (typeof s.foreground_fraction === 'number') parts.push(`${(100 * s.foreground_fraction).toFixed(1)}% foreground`);
  if (Array.isArray(s.classes)) {
    const named = s.classes.filter((c) => c.class_id !== 0).map((c) => c.label);
    if (named.length) parts.push(named.join(', '));
  }
  const top = s.predictions || s.top_k || s.top;
  if (Array.isArray(top) && top.length) parts.push(`${top[0].label} (${(100 * top[0].confidence).toFixed(0)}%)`);
  return parts.join(' · ') || 'done';
}

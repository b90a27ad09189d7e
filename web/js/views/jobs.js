// views/jobs.js: the list of inference jobs (GET /api/inferences, optionally
// ?dataset=ID), newest first, with live progress: while any job is queued or running the
// list is re-read every second (no reload), and stops polling when all are finished.
// Each row links to the job (job.js) and its results viewer, and can cancel
// (POST /api/inferences/{id}/cancel) or download (GET /api/inferences/{id}/download).

import { get, post, download } from '../api.js';
import { h, setChildren, pageHeader, errorBox, statusBadge, progressBar, formatTime, toast } from '../ui.js';

export const ACTIVE = new Set(['queued', 'running']);
const POLL_MS = 1000;

export async function render(ctx) {
  const { root, signal, query } = ctx;
  const datasetFilter = query.get('dataset');
  const listPath = `/api/inferences?limit=100${datasetFilter ? `&dataset_id=${encodeURIComponent(datasetFilter)}` : ''}`;

  let datasetNames = new Map();
  const body = h('div');
  const status = h('p.muted.small', { role: 'status' });
  setChildren(root, pageHeader(datasetFilter ? `Jobs of dataset ${datasetFilter}` : 'Jobs',
    h('a.button.primary', { href: datasetFilter ? `#/run?dataset=${datasetFilter}` : '#/run' }, 'New job')),
  datasetFilter ? h('p', h('a', { href: '#/jobs' }, 'Show all jobs')) : null,
  status, body);

  let timer = null;
  ctx.onCleanup(() => clearTimeout(timer));
  let failures = 0;

  async function refresh() {
    let jobs;
    try {
      const [list, ds] = await Promise.all([
        get(listPath, { signal }),
        datasetNames.size ? null : get('/api/datasets', { signal }).catch(() => null),
      ]);
      jobs = list.inferences || [];
      if (ds) datasetNames = new Map(ds.datasets.map((d) => [d.id, d.name]));
      failures = 0;
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      failures += 1;
      if (!body.firstChild || failures > 3) setChildren(body, errorBox(e, () => { failures = 0; refresh(); }));
      else status.textContent = `Could not refresh (${e.message}); retrying…`;
      timer = setTimeout(refresh, POLL_MS * Math.min(10, 2 ** failures));
      return;
    }
    if (signal.aborted) return;
    showJobs(jobs);
    const live = jobs.some((j) => ACTIVE.has(j.status));
    status.textContent = live ? 'Updating every second while jobs run.' : `Updated ${new Date().toLocaleTimeString()}.`;
    if (live) timer = setTimeout(refresh, POLL_MS);
  }

  let lastKey = '';
  function showJobs(jobs) {
    // Rebuild the table only when something shown changed (keeps keyboard focus).
    const key = JSON.stringify(jobs.map((j) => [j.id, j.status, j.progress, j.cancel_requested, j.note]));
    if (key === lastKey) return;
    lastKey = key;
    if (!jobs.length) {
      setChildren(body, h('p.empty', 'No jobs yet. ', h('a', { href: '#/run' }, 'Run a model'), ' on a dataset to see results here.'));
      return;
    }
    setChildren(body, h('div.table-wrap', h('table.list.jobs',
      h('caption.visually-hidden', 'Inference jobs'),
      h('thead', h('tr', h('th', 'Job'), h('th', 'Model'), h('th.hide-narrow', 'Dataset'), h('th', 'Status'), h('th', 'Progress'), h('th.hide-narrow', 'Created'), h('th', h('span.visually-hidden', 'Actions')))),
      h('tbody', jobs.map((j) => jobRow(j, datasetNames, () => { clearTimeout(timer); refresh(); }))))));
  }

  await refresh();
}

/** One row of the jobs table (also used nowhere else; kept separate for readability). */
function jobRow(j, datasetNames, onChange) {
  const p = j.progress || {};
  const bar = progressBar(`Progress of job ${j.id}`);
  bar.set(p.done || 0, p.total || 1, `${p.done ?? 0}/${p.total ?? 0}${p.failed ? ` · ${p.failed} failed` : ''}`);
  const actions = [h('a.button', { href: `#/jobs/${j.id}`, 'aria-label': `Details of job ${j.id}` }, 'Details')];
  if (!ACTIVE.has(j.status) && (p.done || 0) > 0) {
    actions.push(h('a.button', { href: `#/jobs/${j.id}/view/0`, 'aria-label': `View results of job ${j.id}` }, 'View'));
    actions.push(h('button', { type: 'button', 'aria-label': `Download results of job ${j.id} as ZIP`, onclick: (e) => downloadResults(j.id, e.currentTarget) }, 'ZIP'));
  }
  if (ACTIVE.has(j.status)) {
    actions.push(h('button.danger', {
      type: 'button',
      'aria-label': `Cancel job ${j.id}`,
      disabled: j.cancel_requested,
      onclick: async (e) => {
        e.currentTarget.disabled = true;
        try {
          await post(`/api/inferences/${j.id}/cancel`);
          toast(`Job ${j.id}: cancel requested.`, 'ok');
          onChange();
        } catch (err) {
          toast(err.message, 'error');
        }
      },
    }, j.cancel_requested ? 'Canceling…' : 'Cancel'));
  }
  return h('tr', { dataset: { jobId: j.id, status: j.status } },
    h('td', h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`)),
    h('td', j.model_id, h('span.muted.small', ` v${j.model_version}`)),
    h('td.hide-narrow', datasetNames.get(j.dataset_id) || `dataset ${j.dataset_id}`),
    h('td', statusBadge(j.status), j.note ? h('div.muted.small', j.note) : null),
    h('td.progress-cell', bar),
    h('td.hide-narrow', formatTime(j.created_at)),
    h('td.row-actions', actions));
}

/** Downloads a job's results ZIP, with a busy state on `button`. */
export async function downloadResults(jobId, button) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = 'Preparing ZIP…';
  try {
    await download(`/api/inferences/${jobId}/download`, `inference_${jobId}.zip`);
  } catch (e) {
    toast(`Download failed: ${e.message}`, 'error');
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// views/retraining.js: one retraining job (#/retraining/{id}, GET /api/retraining/{id}),
// re-read every second while queued or running: status and progress (epochs done of
// epochs), a live chart of the training loss, the validation loss and the validation
// score per epoch (epoch 0: the starting model on the same split), the job's log lines,
// and a cancel button while it runs.
//
// When it completed: the new version (served, or held back with the reason), a side by
// side comparison of the parent and the new version on a held-out image (one of the job's
// validation images, POST /predict/{model}/versions/{v} on each: the previews), and, for
// admins, buttons to activate the new version or roll back to the parent
// (POST /api/models/{model}/versions/{v}/activate). A repository model serves one version
// at a time, so the version not served answers 404: the page keeps each version's output
// once it has it (roll back, and both show side by side).
//
// For tests: the chart's <svg> carries data-epochs (points drawn), the page header
// data-status, the comparison data-ready="true" once both sides answered.

import { get, post, blob } from '../api.js';
import { h, setChildren, pageHeader, errorBox, statusBadge, progressBar, formatTime, toast } from '../ui.js';

const POLL_MS = 1000;
const ACTIVE = new Set(['queued', 'running']);
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

/**
 * The per-epoch chart: losses on the left axis, the validation score on the right
 * (0..1 when it fits), one polyline each, with the best epoch marked.
 */
export function epochChart(epochs, bestEpoch) {
  const W = 560; const H = 220; const L = 44; const R = 44; const T = 12; const B = 28;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'epoch-chart', role: 'img', 'data-epochs': epochs.length,
    'aria-label': `Loss and validation score over ${epochs.length} epochs` });
  if (!epochs.length) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'muted' }, document.createTextNode('No epoch yet…')));
    return root;
  }
  const maxEpoch = Math.max(1, ...epochs.map((e) => e.epoch));
  const losses = epochs.flatMap((e) => [e.train_loss, e.val_loss]).filter(Number.isFinite);
  const maxLoss = Math.max(1e-6, ...losses);
  const scores = epochs.map((e) => e.score).filter(Number.isFinite);
  const maxScore = Math.max(1, ...scores);
  const x = (epoch) => L + ((W - L - R) * epoch) / maxEpoch;
  const yLoss = (v) => T + (H - T - B) * (1 - v / maxLoss);
  const yScore = (v) => T + (H - T - B) * (1 - v / maxScore);
  const line = (points, cls) => svg('polyline', { points: points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' '), class: cls, fill: 'none' });
  const text = (tx, ty, s, anchor = 'middle') => svg('text', { x: tx, y: ty, 'text-anchor': anchor, class: 'axis' }, document.createTextNode(s));
  root.append(
    svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis-line' }),
    svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis-line' }),
    svg('line', { x1: W - R, y1: T, x2: W - R, y2: H - B, class: 'axis-line' }),
    text(L - 4, T + 8, maxLoss.toPrecision(2), 'end'), text(L - 4, H - B, '0', 'end'),
    text(W - R + 4, T + 8, maxScore.toPrecision(2), 'start'), text(W - R + 4, H - B, '0', 'start'),
    text(L, H - 8, '0'), text(W - R, H - 8, String(maxEpoch)), text(W / 2, H - 8, 'epoch'));
  const trained = epochs.filter((e) => e.epoch > 0 && Number.isFinite(e.train_loss));
  if (trained.length) root.append(line(trained.map((e) => [x(e.epoch), yLoss(e.train_loss)]), 'series train-loss'));
  root.append(line(epochs.filter((e) => Number.isFinite(e.val_loss)).map((e) => [x(e.epoch), yLoss(e.val_loss)]), 'series val-loss'));
  root.append(line(epochs.filter((e) => Number.isFinite(e.score)).map((e) => [x(e.epoch), yScore(e.score)]), 'series score'));
  const best = epochs.find((e) => e.epoch === bestEpoch);
  if (best) root.append(svg('circle', { cx: x(best.epoch), cy: yScore(best.score), r: 4, class: 'best' }));
  return root;
}

function legend() {
  return h('p.chart-legend.small',
    h('span.key.train-loss', 'training loss'), ' ', h('span.key.val-loss', 'validation loss'), ' ',
    h('span.key.score', 'validation score (right axis; ● best epoch)'));
}

function formatNumber(v) {
  return Number.isFinite(v) ? v.toFixed(4) : '—';
}

export async function render(ctx) {
  const { root, signal, params } = ctx;
  const id = Number(params.id);
  let timer = null;
  let failures = 0;
  ctx.onCleanup(() => clearTimeout(timer));
  const urls = [];
  ctx.onCleanup(() => urls.forEach((u) => URL.revokeObjectURL(u)));

  const bar = progressBar(`Epochs of retraining ${id}`);
  const statusLine = h('div.job-status');
  const actions = h('div.actions');
  const chartBox = h('div.chart-box');
  const table = h('div.table-wrap');
  const logs = h('pre.logs#retraining-logs', { 'aria-label': 'Log', tabindex: '0' });
  const outcome = h('section#retraining-outcome', { 'aria-label': 'New version' });
  const back = h('p.breadcrumb', h('a', { href: '#/retraining' }, '← All retrainings'));
  setChildren(root, back,
    h('div.page-header', h('h1', { tabindex: '-1' }, `Retraining #${id}`), actions),
    h('section.card', statusLine, bar),
    h('section.card', { 'aria-label': 'Metrics per epoch' }, h('h2', 'Per epoch'), chartBox, legend(), table),
    outcome,
    h('section.card', h('details', h('summary', 'Log'), logs)));

  let lastKey = '';
  let outcomeShown = false;

  async function refresh() {
    let job;
    try {
      job = await get(`/api/retraining/${id}`, { signal });
      failures = 0;
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      failures += 1;
      if (e.status === 404 || !lastKey || failures > 3) {
        setChildren(root, back, pageHeader(`Retraining #${id}`), errorBox(e, e.status === 404 ? null : () => render(ctx)));
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
    root.querySelector('.page-header')?.setAttribute('data-status', job.status);
    bar.set(p.epochs_done || 0, p.epochs || 1, `${p.epochs_done ?? 0} of ${p.epochs ?? 0} epochs`);
    const key = JSON.stringify([job.status, job.cancel_requested, (job.epochs || []).length, (job.logs || []).length, job.note]);
    if (key === lastKey) return;
    lastKey = key;
    setChildren(statusLine, statusBadge(job.status),
      h('span', ` ${job.model} v${job.parent_version} (${job.runner}) on annotation set${job.annotation_set_ids.length === 1 ? '' : 's'} `,
        job.annotation_set_ids.map((s, i) => [i ? ', ' : '', h('a', { href: `#/annotations/${s}` }, `#${s}`)])),
      job.cancel_requested && ACTIVE.has(job.status) ? h('span.muted', ' · cancel requested') : null,
      job.resumed_from_epoch?.length ? h('span.muted', ` · resumed after epoch ${job.resumed_from_epoch.join(', ')}`) : null,
      job.note ? h('p.note', job.note) : null,
      h('dl.facts',
        h('dt', 'Created'), h('dd', formatTime(job.created_at)),
        h('dt', 'Finished'), h('dd', formatTime(job.finished_at))),
      h('details', h('summary', 'Params'), h('pre.params-json', JSON.stringify(job.params, null, 2))));
    setChildren(actions, ACTIVE.has(job.status) ? h('button.danger#cancel-retraining', {
      type: 'button',
      disabled: job.cancel_requested,
      onclick: async (e) => {
        e.currentTarget.disabled = true;
        try {
          await post(`/api/retraining/${id}/cancel`);
          toast(`Retraining ${id}: cancel requested.`, 'ok');
          clearTimeout(timer);
          refresh();
        } catch (err) {
          toast(err.message, 'error');
        }
      },
    }, 'Cancel retraining') : null);
    const epochs = job.epochs || [];
    setChildren(chartBox, epochChart(epochs, job.best_epoch));
    setChildren(table, epochs.length ? h('table.list.epochs',
      h('caption.visually-hidden', 'Metrics per epoch'),
      h('thead', h('tr', h('th', 'Epoch'), h('th', 'Training loss'), h('th', 'Validation loss'), h('th', 'Score'), h('th', 'Metrics'))),
      h('tbody', epochs.map((e) => h('tr', { class: e.epoch === job.best_epoch ? 'best' : '' },
        h('td', e.epoch === 0 ? '0 (start)' : String(e.epoch)), h('td', e.epoch === 0 ? '—' : formatNumber(e.train_loss)),
        h('td', formatNumber(e.val_loss)), h('td', formatNumber(e.score)),
        h('td.small', Object.entries(e.metrics || {}).map(([k, v]) => `${k} ${formatNumber(v)}`).join(' · ')))))) : null);
    logs.textContent = (job.logs || []).join('\n');
    logs.scrollTop = logs.scrollHeight;
    if (job.status === 'completed' && job.new_version && !outcomeShown) {
      outcomeShown = true;
      showOutcome(job);
    }
  }

  async function showOutcome(job) {
    const model = job.model;
    const parent = job.parent_version;
    const fresh = job.new_version;
    const summary = h('p', job.held_back
      ? `Version ${fresh} is held back: it validated at ${formatNumber(job.best_score)}, the parent v${parent} at ${formatNumber(job.parent_score)}.`
      : `Version ${fresh} serves now (validation score ${formatNumber(job.best_score)}; the parent v${parent}: ${formatNumber(job.parent_score)}).`);
    const activate = (version, label, idAttr) => h(`button${idAttr}`, {
      type: 'button',
      onclick: async (e) => {
        const button = e.currentTarget;
        button.disabled = true;
        try {
          await post(`/api/models/${encodeURIComponent(model)}/versions/${version}/activate`);
          toast(`${model} v${version} serves now.`, 'ok');
          compare();
        } catch (err) {
          toast(err.message, 'error');
        } finally {
          button.disabled = false;
        }
      },
    }, label);
    const sides = h('div.compare', { 'data-ready': 'false' });
    const seen = new Map(); // "<image>|<version>" -> the output's element, once answered
    const admin = ctx.session?.mode !== 'on' || ctx.session.user?.role === 'admin';
    const picker = h('select#compare-image', { 'aria-label': 'Held-out image' },
      (job.val_images || []).map((name) => h('option', { value: name }, name)));
    picker.addEventListener('change', () => compare());
    setChildren(outcome, h('div.card',
      h('h2', `Version ${fresh}`), summary,
      admin
        ? h('div.actions', activate(fresh, `Activate v${fresh}`, '.primary#activate-new'),
          activate(parent, `Roll back to v${parent}`, '#roll-back'))
        : h('p.muted', 'An admin can activate either version.'),
      h('h3', 'Compare on a held-out image'),
      (job.val_images || []).length ? picker : h('p.muted', 'The job kept no validation image.'),
      sides));

    // The preview (or mask) /predict returns for one version, as an <img>.
    async function predict(version, bytes) {
      const b64 = await new Promise((resolve) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result).split(',')[1]);
        reader.readAsDataURL(bytes);
      });
      const r = await post(`/predict/${encodeURIComponent(model)}/versions/${version}`, { image: b64 }, { signal });
      const art = r.artifacts?.preview || r.artifacts?.class_mask || r.artifacts?.instance_mask;
      if (!art) return h('pre.small', JSON.stringify(r.summary ?? r, null, 2).slice(0, 600));
      return h('img', { src: `data:${art.content_type};base64,${art.data}`, alt: `${model} v${version}` });
    }

    async function compare() {
      const name = picker.value;
      if (!name) return;
      sides.setAttribute('data-ready', 'false');
      setChildren(sides, h('p.muted', 'Running both versions…'));
      try {
        const [datasetId, ...rest] = name.split('/');
        const filename = rest.join('/');
        const dataset = await get(`/api/datasets/${datasetId}`, { signal });
        const file = (dataset.files || []).find((f) => f.filename === filename);
        if (!file) throw new Error(`${name} is no longer in its dataset`);
        const bytes = await blob(`/api/files/${file.id}`, { signal });
        const source = URL.createObjectURL(bytes);
        urls.push(source);
        const panel = async (version) => {
          const key = `${name}|${version}`;
          try {
            const out = await predict(version, bytes);
            seen.set(key, out);
            return out;
          } catch (err) {
            if (err.name === 'AbortError') throw err;
            if (err.status === 404 && seen.has(key)) return seen.get(key).cloneNode(true);
            return h('p.message.error', err.status === 404
              ? `v${version} is not served now: activate it (or roll back) to see its output; it stays here afterwards.`
              : err.message);
          }
        };
        const [before, after] = await Promise.all([panel(parent), panel(fresh)]);
        setChildren(sides,
          h('figure', h('img', { src: source, alt: filename }), h('figcaption', `${filename} (held out)`)),
          h('figure.version-parent', before, h('figcaption', `v${parent} (parent)`)),
          h('figure.version-new', after, h('figcaption', `v${fresh} (new)`)));
        sides.setAttribute('data-ready', 'true');
      } catch (err) {
        if (err.name !== 'AbortError') setChildren(sides, h('p.message.error', err.message));
      }
    }
    compare();
  }

  await refresh();
}

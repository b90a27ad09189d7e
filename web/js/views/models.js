// views/models.js: the models the server offers (GET /api/models): name, runner, engine,
// versions (each with its parent, the active one marked), ready state (with the reason when not ready), description, and the params
// each runner takes (from params_schema), with a link to run one on a dataset.

import { get } from '../api.js';
import { h, setChildren, pageHeader, errorBox } from '../ui.js';

export async function render(ctx) {
  const { root, signal } = ctx;
  let data;
  try {
    data = await get('/api/models', { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader('Models'), errorBox(e, () => render(ctx)));
    return;
  }
  const models = data.models || [];
  const cards = models.length === 0
    ? h('p.empty', 'The server has no models. Add folders to its model repository, or upload one (POST /api/models/upload).')
    : h('ul.model-list', models.map(modelCard));
  setChildren(root, pageHeader('Models'),
    h('p.muted', `${models.length} model${models.length === 1 ? '' : 's'}; runners on this server: ${(data.runners || []).join(', ')}`),
    cards);
}

function modelCard(m) {
  const props = m.params_schema?.properties || {};
  const ready = m.ready
    ? h('span.badge.ready', 'ready')
    : h('span.badge.not-ready', { title: m.reason || '' }, (m.state || 'not loaded').toLowerCase());
  // versions: the lineage [{version, active, parent, training}]; the active one marked.
  const versions = (m.versions || []).length
    ? m.versions.map((v) => `v${v.version}${v.active ? ' (active)' : ''}${v.parent ? ` ← v${v.parent}` : ''}`).join(', ')
    : 'no version';
  return h('li.card.model', { dataset: { model: m.name } },
    h('div.model-head', h('h2', m.name), ready),
    h('dl.facts',
      h('dt', 'Runner'), h('dd', m.runner_name || '—'),
      h('dt', 'Engine'), h('dd', m.backend || '—'),
      h('dt', 'Versions'), h('dd', versions)),
    m.description ? h('p.description', m.description) : null,
    !m.ready && m.reason ? h('p.message.error', m.reason) : null,
    Object.keys(props).length
      ? h('details', h('summary', `Params (${Object.keys(props).length})`),
        h('ul.param-list', Object.entries(props).map(([name, p]) =>
          h('li', h('code', name), ` = ${JSON.stringify(p.default)}`, p.description ? h('span.muted', ` — ${p.description}`) : null))))
      : h('p.muted.small', 'No params.'),
    m.ready ? h('a.button', { href: `#/run?model=${encodeURIComponent(m.name)}`, 'aria-label': `Run ${m.name} on a dataset` }, 'Run on a dataset') : null);
}

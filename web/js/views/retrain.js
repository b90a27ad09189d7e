// views/retrain.js: start a retraining (#/retrain?set={id}) — a model fine-tuned on the
// current masks of annotation sets, or a classifier on the labels of image_labels sets
// (issue 18). The set given in the URL is checked; the
// other sets of its dataset can be added. The model is one of the server's models whose
// runner can train (GET /api/retraining/params_schema lists them), and the params form is
// built from the training params' JSON Schema (params_form.js). Submitting posts
// POST /api/retraining/start and opens the job (#/retraining/{id}); the server's 400/404
// message is shown as it is.

import { get, post } from '../api.js';
import { h, setChildren, pageHeader, errorBox, messageSlot } from '../ui.js';
import { paramsForm } from '../params_form.js';

export async function render(ctx) {
  const { root, signal, query } = ctx;
  const setId = Number(query.get('set'));
  let set; let schema; let models; let sets = [];
  try {
    [schema, { models }] = await Promise.all([
      get('/api/retraining/params_schema', { signal }),
      get('/api/models', { signal }),
    ]);
    if (setId) {
      set = await get(`/api/annotations/${setId}`, { signal });
      ({ annotation_sets: sets } = await get(`/api/datasets/${set.dataset_id}/annotations`, { signal }));
    }
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader('Retrain a model'), errorBox(e, () => render(ctx)));
    return;
  }
  const trainable = new Set(schema.trainable_runners || []);
  // Image labels train classifiers; masks train the other runners.
  const labelsSet = set?.kind === 'image_labels';
  const candidates = (models || []).filter((m) => m.ready && trainable.has(m.runner_name)
    && (m.runner_name === 'classify') === labelsSet);
  const back = set
    ? h('p.breadcrumb', h('a', { href: `#/annotations/${set.id}` }, `← ${set.name}`))
    : h('p.breadcrumb', h('a', { href: '#/retraining' }, '← Retrainings'));
  if (!set) {
    setChildren(root, back, pageHeader('Retrain a model'),
      h('p.empty', 'Open an annotation set (a dataset\'s "Annotation sets") and choose "Retrain a model" there.'));
    return;
  }
  if (!candidates.length) {
    setChildren(root, back, pageHeader('Retrain a model'),
      h('p.empty', labelsSet
        ? 'No loaded classifier (runner classify) can be trained on these image labels.'
        : `No loaded model can be trained. Runners that can: ${[...trainable].join(', ') || 'none'}.`));
    return;
  }

  const model = h('select#retrain-model', candidates.map((m) => h('option', { value: m.name },
    `${m.name} (${m.runner_name}, v${m.version})`)));
  const setBoxes = sets.filter((s) => (s.mask_count > 0 && (s.kind === 'image_labels') === labelsSet)
    || s.id === set.id).map((s) => {
    const box = h('input', { type: 'checkbox', id: `retrain-set-${s.id}`, value: String(s.id), checked: s.id === set.id });
    return h('div.check', box, h('label', { for: `retrain-set-${s.id}` }, s.kind === 'image_labels'
      ? `${s.name} (image labels, ${s.mask_count} labelled)`
      : `${s.name} (${s.kind}, ${s.mask_count} mask${s.mask_count === 1 ? '' : 's'})`));
  });
  const form = paramsForm(schema.schema, 'train');
  const message = messageSlot('error');
  const submit = h('button.primary#start-retraining', { type: 'submit' }, 'Start retraining');
  const el = h('form#retrain-form.card.stack', {
    onsubmit: async (e) => {
      e.preventDefault();
      message.set('');
      const params = form.read();
      if (!params.ok) return;
      const ids = [...el.querySelectorAll('input[type=checkbox][id^="retrain-set-"]')]
        .filter((b) => b.checked).map((b) => Number(b.value));
      if (!ids.length) { message.set('Choose at least one annotation set.'); return; }
      submit.disabled = true;
      try {
        const started = await post('/api/retraining/start',
          { model_id: model.value, annotation_set_ids: ids, params: params.values }, { signal });
        ctx.navigate(`#/retraining/${started.retraining_id}`);
      } catch (err) {
        if (err.name === 'AbortError') return;
        message.set(err.message);
        submit.disabled = false;
      }
    },
  },
  h('label', { for: 'retrain-model' }, 'Model'), model,
  h('fieldset.sets', h('legend', 'Annotation sets (their current masks or image labels)'), setBoxes),
  h('details', { open: true }, h('summary', 'Training params'), form.el),
  message, submit);
  setChildren(root, back, pageHeader(`Retrain a model on “${set.name}”`),
    h('p.muted', 'The model is fine-tuned on the masks of the chosen sets; the result becomes its next version — served at once when it validates at least as well as the version it starts from, else held back for you to compare and promote.'),
    el);
}

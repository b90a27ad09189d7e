// views/run.js: start an inference job: pick a dataset (GET /api/datasets) and a model
// (GET /api/models), fill the params form generated from the model's params_schema
// (params_form.js), then POST /api/inferences/start {dataset_id, model_id, params}.
// The server's 400 (bad params, unknown model...) is shown above the button; on 202 the
// page moves to the job, which shows its progress live. #/run?dataset=3&model=x
// preselects. #/run?window=lung (or "c,w", or "file"; the DICOM viewer's "Run a model on
// this series") shows a "DICOM window" field sent as params.window (dicom_window.js).

import { get, post } from '../api.js';
import { h, setChildren, pageHeader, errorBox, messageSlot, toast } from '../ui.js';
import { paramsForm } from '../params_form.js';
import { parseWindowText, windowParam } from '../dicom_window.js';

export async function render(ctx) {
  const { root, signal, query } = ctx;
  let datasets;
  let models;
  try {
    [datasets, models] = await Promise.all([
      get('/api/datasets', { signal }).then((d) => d.datasets || []),
      get('/api/models', { signal }).then((d) => d.models || []),
    ]);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader('Run inference'), errorBox(e, () => render(ctx)));
    return;
  }

  if (!datasets.length) {
    setChildren(root, pageHeader('Run inference'),
      h('p.empty', 'There is no dataset to run on yet. ', h('a', { href: '#/datasets' }, 'Create a dataset'), ' and add images first.'));
    return;
  }

  const wantDataset = query.get('dataset');
  const wantModel = query.get('model');
  const datasetSelect = h('select#run-dataset', { name: 'dataset' },
    datasets.map((d) => h('option', { value: d.id, selected: String(d.id) === wantDataset },
      `${d.name} (${d.file_count} image${d.file_count === 1 ? '' : 's'})`)));
  const firstReady = models.find((m) => m.ready);
  const modelSelect = h('select#run-model', { name: 'model' },
    models.map((m) => h('option', {
      value: m.name,
      disabled: !m.ready,
      selected: wantModel ? m.name === wantModel : m === firstReady,
    }, `${m.name} — ${m.runner_name}${m.ready ? '' : ' (not ready)'}`)));
  const wantWindow = query.get('window');
  const windowInput = h('input#run-window', { name: 'window', value: wantWindow || '', placeholder: 'file, lung, soft_tissue, bone, brain or centre,width' });
  const windowError = h('p.field-error', { hidden: true });
  const windowField = wantWindow === null ? null : h('div.field.grow',
    h('label', { for: 'run-window' }, 'DICOM window'), windowInput,
    h('p.help', 'How DICOM images are windowed into grey levels (the job\'s params.window).'), windowError);
  const modelInfo = h('p.muted.model-info');
  const paramsBox = h('fieldset.params', h('legend', 'Params'));
  const message = messageSlot('error');
  const submit = h('button.primary', { type: 'submit' }, 'Start inference');
  let form = null;

  function showModel() {
    const m = models.find((x) => x.name === modelSelect.value);
    if (!m) {
      modelInfo.textContent = 'No model is ready on this server.';
      setChildren(paramsBox, h('legend', 'Params'));
      submit.disabled = true;
      form = null;
      return;
    }
    submit.disabled = false;
    modelInfo.textContent = m.description || '';
    form = paramsForm(m.params_schema, 'param');
    setChildren(paramsBox, h('legend', `Params for ${m.runner_name}`), form.el);
    message.set('');
  }
  modelSelect.addEventListener('change', showModel);

  async function onSubmit(event) {
    event.preventDefault();
    message.set('');
    if (!form) return;
    const params = form.read();
    if (!params.ok) {
      message.set('Some params are not valid; see the messages above.');
      return;
    }
    const values = { ...params.values };
    if (windowField) {
      const w = parseWindowText(windowInput.value);
      windowError.hidden = w !== null;
      windowInput.setAttribute('aria-invalid', String(w === null));
      if (w === null) {
        windowError.textContent = 'Expected file, a preset (lung, soft_tissue, bone, brain) or centre,width.';
        message.set('The DICOM window is not valid.');
        return;
      }
      values.window = windowParam(w);
    }
    submit.disabled = true;
    submit.textContent = 'Starting…';
    try {
      const started = await post('/api/inferences/start', {
        dataset_id: Number(datasetSelect.value),
        model_id: modelSelect.value,
        params: values,
      });
      toast(`Job ${started.inference_id} queued.`, 'ok');
      ctx.navigate(`#/jobs/${started.inference_id}`);
    } catch (e) {
      message.set(e.status === 400 ? `The server refused the job: ${e.message}` : e.message);
    } finally {
      submit.disabled = false;
      submit.textContent = 'Start inference';
    }
  }

  setChildren(root, pageHeader('Run inference'),
    h('form.card.run-form', { novalidate: true, onsubmit: onSubmit, 'aria-label': 'Run inference' },
      h('div.form-row',
        h('div.field.grow', h('label', { for: 'run-dataset' }, 'Dataset'), datasetSelect),
        h('div.field.grow', h('label', { for: 'run-model' }, 'Model'), modelSelect)),
      windowField ? h('div.form-row', windowField) : null,
      modelInfo,
      paramsBox,
      message,
      h('div.form-actions', submit)));
  showModel();
}

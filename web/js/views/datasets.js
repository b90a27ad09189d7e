// views/datasets.js: the list of datasets (GET /api/datasets), a form to create one
// (POST /api/datasets {name, description}) and a two-step delete (DELETE
// /api/datasets/{id}). Opening a dataset leads to its files and uploads (dataset.js).

import { get, post, del } from '../api.js';
import { h, setChildren, pageHeader, errorBox, messageSlot, formatBytes, formatTime, toast, confirmButton } from '../ui.js';

export async function render(ctx) {
  const { root, signal } = ctx;
  let data;
  try {
    data = await get('/api/datasets', { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    setChildren(root, pageHeader('Datasets'), errorBox(e, () => render(ctx)));
    return;
  }

  const message = messageSlot('error');
  const name = h('input#dataset-name', { name: 'name', required: true, maxlength: 200, placeholder: 'e.g. plate 3, DAPI' });
  const description = h('input#dataset-description', { name: 'description', maxlength: 10000, placeholder: 'optional' });
  const create = h('button.primary', { type: 'submit' }, 'Create dataset');
  const form = h('form.card.create-form', { novalidate: true, onsubmit: onCreate, 'aria-label': 'New dataset' },
    h('h2', 'New dataset'),
    h('div.form-row',
      h('div.field', h('label', { for: 'dataset-name' }, 'Name'), name),
      h('div.field.grow', h('label', { for: 'dataset-description' }, 'Description'), description),
      h('div.field.submit', create)),
    message);

  async function onCreate(event) {
    event.preventDefault();
    if (!name.value.trim()) {
      message.set('Give the dataset a name.');
      name.setAttribute('aria-invalid', 'true');
      name.focus();
      return;
    }
    name.removeAttribute('aria-invalid');
    create.disabled = true;
    message.set('');
    try {
      const created = await post('/api/datasets', { name: name.value.trim(), description: description.value });
      toast(`Dataset “${created.name}” created. Add images to it.`, 'ok');
      ctx.navigate(`#/datasets/${created.id}`);
    } catch (e) {
      message.set(e.message);
    } finally {
      create.disabled = false;
    }
  }

  const list = data.datasets || [];
  const table = list.length === 0
    ? h('p.empty', 'No datasets yet. Create one above, then drop your images or ZIP files into it.')
    : h('div.table-wrap', h('table.list',
      h('caption.visually-hidden', 'Your datasets'),
      h('thead', h('tr', h('th', 'Name'), h('th', 'Files'), h('th.hide-narrow', 'Size'), h('th.hide-narrow', 'Created'), h('th', h('span.visually-hidden', 'Actions')))),
      h('tbody', list.map((d) => h('tr', { dataset: { id: d.id } },
        h('td', h('a', { href: `#/datasets/${d.id}` }, d.name), d.description ? h('div.muted.small', d.description) : null),
        h('td', String(d.file_count)),
        h('td.hide-narrow', formatBytes(d.total_bytes)),
        h('td.hide-narrow', formatTime(d.created_at)),
        h('td.row-actions',
          h('a.button', { href: `#/run?dataset=${d.id}`, 'aria-label': `Run a model on ${d.name}` }, 'Run'),
          confirmButton('Delete', `Delete “${d.name}”?`, 'Delete', async () => {
            try {
              await del(`/api/datasets/${d.id}`);
              toast(`Dataset “${d.name}” deleted.`, 'ok');
              render(ctx);
            } catch (e) {
              toast(e.message, 'error');
            }
          }, { 'aria-label': `Delete dataset ${d.name}` })))))));

  setChildren(root, pageHeader('Datasets'), form, h('section', { 'aria-label': 'Datasets' }, table));
}

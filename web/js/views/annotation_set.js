// views/annotation_set.js: #/annotations/{set}[/images/{file}] — an annotation set opens
// by its kind: image_labels sets in the label picker (labels.js), mask sets in the
// editor (annotate.js, which loads the set itself; it also shows the errors of a set
// that cannot be read).

import { get } from '../api.js';
import * as annotateView from './annotate.js';
import * as labelsView from './labels.js';

export async function render(ctx) {
  let set = null;
  try {
    set = await get(`/api/annotations/${Number(ctx.params.set)}`, { signal: ctx.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
  }
  if (set?.kind === 'image_labels') return labelsView.render(ctx, set);
  return annotateView.render(ctx);
}

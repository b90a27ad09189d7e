// params_form.js: a form generated from a runner's params_schema (GET /api/models), with
// each param's default filled in and client-side validation that mirrors the server's
// (runners/params.h): booleans as checkboxes, integers/numbers as number inputs with
// their bounds, enums as selects, fixed-length integer arrays (cellpose `channels`) as one
// input per item. The server still validates; its 400 message is shown by the caller.
//
// paramsForm(schema, idPrefix) -> {el, read()} where read() returns
// {ok: true, values} or {ok: false} after marking the invalid fields.

import { h } from './ui.js';

const num = (v) => (typeof v === 'number' ? v : undefined);

/** The message for a bad number, worded as the server words it. */
function numberProblem(text, spec, name) {
  const kind = spec.type === 'integer' ? 'a whole number' : 'a number';
  const bounds = num(spec.minimum) !== undefined && num(spec.maximum) !== undefined
    ? ` between ${spec.minimum} and ${spec.maximum}`
    : num(spec.minimum) !== undefined ? ` of at least ${spec.minimum}`
      : num(spec.maximum) !== undefined ? ` of at most ${spec.maximum}` : '';
  const message = `${name} must be ${kind}${bounds}.`;
  if (text.trim() === '') return { message };
  const value = Number(text);
  if (!Number.isFinite(value)) return { message };
  if (spec.type === 'integer' && !Number.isInteger(value)) return { message };
  if (num(spec.minimum) !== undefined && value < spec.minimum) return { message };
  if (num(spec.maximum) !== undefined && value > spec.maximum) return { message };
  return { value };
}

function numberInput(id, spec, value, describedBy) {
  return h('input', {
    id,
    type: 'number',
    inputmode: spec.type === 'integer' ? 'numeric' : 'decimal',
    step: spec.type === 'integer' ? 1 : 'any',
    min: num(spec.minimum),
    max: num(spec.maximum),
    value: value === undefined ? '' : String(value),
    'aria-describedby': describedBy,
  });
}

/** One field: {el, read() -> {value} | {message}, input (to focus)}. */
function field(name, spec, idPrefix) {
  const id = `${idPrefix}-${name}`;
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const help = spec.description ? h('p.help', { id: helpId }, spec.description) : null;
  const error = h('p.field-error', { id: errorId, role: 'alert', hidden: true });
  const describedBy = [help ? helpId : null, errorId].filter(Boolean).join(' ');
  const label = name.replace(/_/g, ' ');
  let input;
  let control;
  let read;

  if (spec.type === 'boolean') {
    input = h('input', { id, type: 'checkbox', checked: !!spec.default, 'aria-describedby': describedBy });
    control = h('div.check', input, h('label', { for: id }, label));
    read = () => ({ value: input.checked });
  } else if (spec.type === 'string' && Array.isArray(spec.enum)) {
    input = h('select', { id, 'aria-describedby': describedBy },
      spec.enum.map((v) => h('option', { value: v, selected: v === spec.default }, v)));
    control = [h('label', { for: id }, label), input];
    read = () => ({ value: input.value });
  } else if (spec.type === 'integer' || spec.type === 'number') {
    input = numberInput(id, spec, spec.default, describedBy);
    control = [h('label', { for: id }, label), input];
    read = () => numberProblem(input.value, spec, name);
  } else if (spec.type === 'array' && spec.items && ['integer', 'number'].includes(spec.items.type)
             && spec.minItems && spec.minItems === spec.maxItems && spec.minItems <= 8) {
    const defaults = Array.isArray(spec.default) ? spec.default : [];
    const inputs = Array.from({ length: spec.minItems }, (_, i) => {
      const el = numberInput(`${id}-${i}`, spec.items, defaults[i], describedBy);
      el.setAttribute('aria-label', `${label} item ${i + 1}`);
      return el;
    });
    input = inputs[0];
    control = h('fieldset.array', { 'aria-describedby': describedBy }, h('legend', label), h('div.array-items', inputs));
    read = () => {
      const values = [];
      for (const [i, el] of inputs.entries()) {
        const r = numberProblem(el.value, spec.items, `${name}[${i}]`);
        if (r.message) return r;
        values.push(r.value);
      }
      return { value: values };
    };
  } else {
    // Anything else: JSON text (kept generic so new runner params still get a field).
    input = h('input', { id, value: JSON.stringify(spec.default ?? null), 'aria-describedby': describedBy });
    control = [h('label', { for: id }, `${label} (JSON)`), input];
    read = () => {
      try {
        return { value: JSON.parse(input.value) };
      } catch {
        return { message: `${name} must be valid JSON.` };
      }
    };
  }

  const el = h('div.field.param', { dataset: { param: name } }, control, help, error);
  return {
    el,
    invalid: () => !error.hidden,
    /** Shows or clears the field's message; with onlyClear, never shows a new one. */
    check(onlyClear = false) {
      const r = read();
      if (onlyClear && r.message) return r;
      error.textContent = r.message || '';
      error.hidden = !r.message;
      for (const i of el.querySelectorAll('input, select')) {
        if (r.message) i.setAttribute('aria-invalid', 'true');
        else i.removeAttribute('aria-invalid');
      }
      return r;
    },
    input,
  };
}

export function paramsForm(schema, idPrefix = 'param') {
  const properties = schema?.properties || {};
  const fields = Object.entries(properties).map(([name, spec]) => ({ name, ...field(name, spec, idPrefix) }));
  const el = fields.length
    ? h('div.params-grid', fields.map((f) => f.el))
    : h('p.muted', 'This model takes no params.');
  // Validate a field when it is left, so mistakes show before submitting; while typing,
  // only clear a message once the value is right (no new messages mid-typing, and no
  // layout jump under the pointer when the field loses focus to a click).
  for (const f of fields) {
    f.el.addEventListener('change', () => f.check());
    f.el.addEventListener('input', () => { if (f.invalid()) f.check(true); });
  }
  return {
    el,
    read() {
      const values = {};
      let firstBad = null;
      for (const f of fields) {
        const r = f.check();
        if (r.message) firstBad = firstBad || f;
        else values[f.name] = r.value;
      }
      if (firstBad) {
        firstBad.input.focus();
        return { ok: false };
      }
      return { ok: true, values };
    },
  };
}

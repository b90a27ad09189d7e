// ui.js: small DOM helpers shared by the views: an element builder (h), toasts in a
// live region, loading and error blocks (every failure becomes a message with a retry
// button, never a blank screen), formatting of sizes/dates, a progress bar, and a
// thumbnail loader that fetches images with the Bearer token and revokes its blob: URLs.

import { blob } from './api.js';

/**
 * h('button.primary', {onclick, 'aria-label': 'x'}, 'text', child...) -> element.
 * The tag may carry .classes and a #id. Attributes: on* are listeners, `class`,
 * `dataset` (object), `style` (string), booleans set/omit the attribute, others
 * are set as attributes or properties (value, checked).
 */
export function h(tag, attrs = {}, ...children) {
  if (attrs === null || typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [, name = 'div', rest = ''] = tag.match(/^([a-z0-9-]*)(.*)$/i);
  const el = document.createElement(name || 'div');
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className += ` ${value}`;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value' || key === 'checked' || key === 'selected') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A transient message at the bottom of the page: kind 'info' | 'ok' | 'error'. */
export function toast(message, kind = 'info', ms = 5000) {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = h(`div.toast.${kind}`, { role: kind === 'error' ? 'alert' : 'status' },
    h('span', message),
    h('button.icon', { 'aria-label': 'Dismiss message', onclick: () => item.remove() }, '×'));
  region.append(item);
  setTimeout(() => item.remove(), ms);
}

/** A "Loading…" placeholder (announced to screen readers). */
export function loading(text = 'Loading…') {
  return h('div.loading', { role: 'status', 'aria-live': 'polite' }, h('span.spinner', { 'aria-hidden': 'true' }), text);
}

/** An error block with the message and an optional "Try again" button. */
export function errorBox(error, retry) {
  const message = error && error.message ? error.message : String(error);
  return h('div.error-box', { role: 'alert' },
    h('p', message),
    retry ? h('button', { type: 'button', onclick: retry }, 'Try again') : null);
}

/** An inline message slot for forms: set(text) shows it, set('') hides it. */
export function messageSlot(kind = 'error') {
  const el = h(`p.message.${kind}`, { role: kind === 'error' ? 'alert' : 'status', hidden: true });
  el.set = (text) => {
    el.textContent = text || '';
    el.hidden = !text;
  };
  return el;
}

/** A labelled progress bar; update with .set(value, max, text). */
export function progressBar(label) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': label });
  const text = h('span.progress-text');
  const el = h('div.progress', bar, text);
  el.set = (value, max, caption) => {
    bar.max = max || 1;
    bar.value = Math.min(value, max || 1);
    text.textContent = caption ?? '';
  };
  return el;
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** Server timestamps are milliseconds since the epoch (0: never). */
export function formatTime(ms) {
  if (!ms) return '—';
  return new Date(ms).toLocaleString();
}

export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A status badge for a job status (queued, running, completed, failed, canceled). */
export function statusBadge(status) {
  return h(`span.badge.status-${status}`, status);
}

/**
 * Loads thumbnails (GET /api/files/{id}/thumbnail) into <img> elements, a few at a
 * time, as blob: URLs that dispose() revokes. Failed thumbnails show a short text.
 */
export class ThumbnailLoader {
  constructor(concurrency = 4) {
    this.concurrency = concurrency;
    this.queue = [];
    this.active = 0;
    this.urls = new Set();
    this.disposed = false;
  }

  load(img, fileId, size = 192) {
    this.queue.push({ img, path: `/api/files/${fileId}/thumbnail?size=${size}` });
    this.pump();
  }

  pump() {
    while (!this.disposed && this.active < this.concurrency && this.queue.length) {
      const { img, path } = this.queue.shift();
      this.active += 1;
      blob(path)
        .then((data) => {
          if (this.disposed) return;
          const url = URL.createObjectURL(data);
          this.urls.add(url);
          img.src = url;
          img.closest('.thumb')?.classList.add('loaded');
        })
        .catch((e) => {
          const box = img.closest('.thumb');
          if (box) {
            box.classList.add('failed');
            box.title = e.message;
          }
          img.alt = `${img.alt} (preview unavailable: ${e.message})`;
        })
        .finally(() => {
          this.active -= 1;
          this.pump();
        });
    }
  }

  dispose() {
    this.disposed = true;
    this.queue = [];
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls.clear();
  }
}

/**
 * A two-step confirmation inside a button's place: the first click swaps the button for
 * "question [confirmLabel] [Cancel]"; confirming runs `action`.
 */
export function confirmButton(label, question, confirmLabel, action, attrs = {}) {
  const wrap = h('span.confirm');
  const button = h('button.danger', { type: 'button', ...attrs, onclick: ask }, label);
  wrap.append(button);
  function ask() {
    const yes = h('button.danger', { type: 'button', onclick: async () => {
      yes.disabled = true;
      try { await action(); } finally { reset(); }
    } }, confirmLabel);
    const no = h('button', { type: 'button', onclick: reset }, 'Cancel');
    setChildren(wrap, h('span.confirm-question', question), yes, no);
    yes.focus();
  }
  function reset() {
    if (wrap.isConnected) setChildren(wrap, button);
  }
  return wrap;
}

/** A screen's title row: <h1> (focusable, so the router can move focus to it) + actions. */
export function pageHeader(title, ...actions) {
  return h('div.page-header', h('h1', { tabindex: '-1' }, title), h('div.actions', actions));
}

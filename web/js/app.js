// app.js: the page's shell and router.
//
// Hash routes (#/datasets/3) map to views in js/views/. Each view is
// `render(ctx)` with ctx = {root, params, query, signal, session, navigate, onCleanup};
// on navigation the previous view's signal aborts and its cleanups run (timers, key
// listeners, blob: URLs), so nothing leaks between screens. The shell also keeps the
// header (navigation, signed-in user, logout) and sends people to the login screen when
// the session ends. With auth off on the server, there is no login and no logout.

import { onAuthLost, whoAmI, logout } from './api.js';
import { h, setChildren, loading, errorBox, toast } from './ui.js';
import * as loginView from './views/login.js';
import * as datasetsView from './views/datasets.js';
import * as datasetView from './views/dataset.js';
import * as dicomViewerView from './views/dicom_viewer.js';
import * as modelsView from './views/models.js';
import * as runView from './views/run.js';
import * as jobsView from './views/jobs.js';
import * as jobView from './views/job.js';
import * as viewerView from './views/viewer.js';
import * as annotationSetView from './views/annotation_set.js';
import * as retrainView from './views/retrain.js';
import * as retrainingsView from './views/retrainings.js';
import * as retrainingView from './views/retraining.js';

const routes = [
  { pattern: /^\/login$/, view: loginView, title: 'Sign in', public: true },
  { pattern: /^\/datasets$/, view: datasetsView, title: 'Datasets', nav: 'datasets' },
  { pattern: /^\/datasets\/(?<id>\d+)$/, view: datasetView, title: 'Dataset', nav: 'datasets' },
  { pattern: /^\/datasets\/(?<id>\d+)\/series\/(?<uid>[0-9.]+)$/, view: dicomViewerView, title: 'DICOM series', nav: 'datasets' },
  { pattern: /^\/models$/, view: modelsView, title: 'Models', nav: 'models' },
  { pattern: /^\/run$/, view: runView, title: 'Run inference', nav: 'run' },
  { pattern: /^\/jobs$/, view: jobsView, title: 'Jobs', nav: 'jobs' },
  { pattern: /^\/jobs\/(?<id>\d+)$/, view: jobView, title: 'Job', nav: 'jobs' },
  { pattern: /^\/jobs\/(?<id>\d+)\/view(?:\/(?<index>\d+))?$/, view: viewerView, title: 'Results', nav: 'jobs' },
  { pattern: /^\/annotations\/(?<set>\d+)(?:\/images\/(?<file>\d+))?$/, view: annotationSetView, title: 'Annotate', nav: 'datasets' },
  { pattern: /^\/retrain$/, view: retrainView, title: 'Retrain a model', nav: 'retraining' },
  { pattern: /^\/retraining$/, view: retrainingsView, title: 'Retraining', nav: 'retraining' },
  { pattern: /^\/retraining\/(?<id>\d+)$/, view: retrainingView, title: 'Retraining', nav: 'retraining' },
];

const NAV = [
  ['datasets', 'Datasets'],
  ['models', 'Models'],
  ['run', 'Run'],
  ['jobs', 'Jobs'],
  ['retraining', 'Retraining'],
];

// {mode: 'on', user} | {mode: 'off'} | {mode: 'signed-out'} | null (not known yet)
let session = null;
let current = null; // {controller, cleanups}
let afterLogin = '#/datasets';

const main = () => document.getElementById('main');
const header = () => document.getElementById('header');

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/datasets';
  const [path, queryString = ''] = raw.split('?');
  return { path, query: new URLSearchParams(queryString) };
}

function renderHeader(activeNav) {
  const signedIn = session && (session.mode === 'on' || session.mode === 'off');
  const nav = signedIn
    ? h('nav.main-nav', { 'aria-label': 'Main' },
      NAV.map(([key, label]) => h('a', {
        href: `#/${key}`,
        'aria-current': key === activeNav ? 'page' : false,
      }, label)))
    : null;
  let user = null;
  if (session?.mode === 'on') {
    user = h('div.user',
      h('span.user-name', { title: `role: ${session.user.role}` }, session.user.username,
        session.user.role === 'admin' ? h('span.badge', 'admin') : null),
      h('button#logout', { type: 'button', onclick: doLogout }, 'Log out'));
  } else if (session?.mode === 'off') {
    user = h('div.user', h('span.muted', { title: 'auth: {enabled: false} in the server config' }, 'Sign-in disabled on this server'));
  }
  setChildren(header(), h('a.brand', { href: '#/datasets' }, h('span.logo', { 'aria-hidden': 'true' }), 'infera'), nav, user);
}

async function doLogout() {
  await logout();
  session = { mode: 'signed-out' };
  toast('Signed out.', 'ok');
  navigate('#/login');
}

function endCurrent() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups) {
    try { fn(); } catch (e) { console.error(e); }
  }
  current = null;
}

async function route() {
  const { path, query } = parseHash();
  let match = null;
  let entry = routes.find((r) => (match = r.pattern.exec(path)));
  if (!entry) {
    location.replace('#/datasets');
    return;
  }
  if (session === null) {
    boot();
    return;
  }
  if (!entry.public && session.mode === 'signed-out') {
    afterLogin = `#${path}${query.toString() ? `?${query}` : ''}`;
    location.replace('#/login');
    return;
  }
  if (entry.public && session.mode !== 'signed-out') {
    location.replace(afterLogin);
    return;
  }
  endCurrent();
  const controller = new AbortController();
  current = { controller, cleanups: [] };
  const mine = current;
  renderHeader(entry.nav);
  document.title = `${entry.title} · infera`;
  const root = main();
  setChildren(root, loading());
  const ctx = {
    root,
    params: match.groups || {},
    query,
    signal: controller.signal,
    session,
    navigate,
    onCleanup: (fn) => mine.cleanups.push(fn),
    setTitle: (t) => { document.title = `${t} · infera`; },
    signedIn: (newSession) => {
      session = newSession;
      const target = afterLogin;
      afterLogin = '#/datasets';
      navigate(target);
    },
  };
  try {
    await entry.view.render(ctx);
  } catch (e) {
    if (e.name === 'AbortError' || controller.signal.aborted) return;
    console.error(e);
    setChildren(root, errorBox(e, () => route()));
  }
  // Move focus to the new screen's heading for keyboard and screen-reader users.
  if (!controller.signal.aborted) root.querySelector('h1')?.focus({ preventScroll: true });
}

let booting = null;
/** Learns who is signed in (once; concurrent callers share it), then routes. */
function boot() {
  booting = booting || bootOnce().finally(() => { booting = null; });
  return booting;
}

async function bootOnce() {
  renderHeader(null);
  setChildren(main(), loading('Connecting to the server…'));
  try {
    session = await whoAmI();
  } catch (e) {
    setChildren(main(), errorBox(e, () => boot()));
    return;
  }
  setTimeout(route);
}

onAuthLost((message) => {
  if (session?.mode === 'off') return;
  session = { mode: 'signed-out' };
  if (!location.hash.startsWith('#/login')) {
    const { path, query } = parseHash();
    afterLogin = `#${path}${query.toString() ? `?${query}` : ''}`;
    toast(message, 'error');
    navigate('#/login');
  }
});

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason?.name === 'AbortError') return e.preventDefault();
  toast(e.reason?.message || 'Something went wrong.', 'error');
});
route();

// The admin page: lists updates per scope over the admin JSON API and runs rollbacks,
// rollouts and republishes. No framework, no inline handlers (the page's CSP forbids them),
// and text is always inserted as text, never as HTML.
'use strict';

// The API sits beside the page: /admin/ui -> /admin/, /{app}/admin/ui -> /{app}/admin/
// (works behind a path prefix too).
const API = new URL('.', window.location.href);
// Each app has its own token: keep one per admin API.
const TOKEN_KEY = `expo-update-server.admin-token:${API.pathname}`;
const LIMIT = 500;

const $ = (id) => document.getElementById(id);

function element(tag, properties = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function say(message) {
  $('error').textContent = '';
  $('status').textContent = message;
}

function fail(message) {
  $('status').textContent = '';
  $('error').textContent = message;
}

class Unauthorized extends Error {}

async function call(method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}` };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(new URL(path, API), init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  // Errors are {"error": {"code", "message", "header" | "field" | "parameter"}}.
  const message = typeof data?.error?.message === 'string' ? data.error.message : null;
  if (response.status === 401) throw new Unauthorized(message ?? 'unauthorized');
  if (!response.ok) throw new Error(message ?? `${response.status} ${response.statusText}`);
  return data;
}

function showSignedIn(signedIn) {
  $('login').hidden = signedIn;
  $('updates').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('scopes').replaceChildren();
  showSignedIn(false);
  if (message) fail(message);
  $('token').focus();
}

async function guarded(action) {
  try {
    await action();
  } catch (error) {
    if (error instanceof Unauthorized) signOut(`The server refused the token: ${error.message}.`);
    else fail(error.message);
  }
}

function scopeKey(u) {
  return JSON.stringify([u.app, u.channel, u.runtime_version, u.platform]);
}

function scopeLabel(u) {
  const app = u.app === 'default' ? '' : ` (app ${u.app})`;
  return `channel ${u.channel}, runtime ${u.runtime_version}, ${u.platform}${app}`;
}

function kindLabel(u) {
  if (u.kind === 'rollback_to_embedded') return 'embedded';
  return u.republished_from ? 'republish' : 'publish';
}

async function refresh() {
  const query = new URLSearchParams({ limit: String(LIMIT) });
  for (const [name, id] of [['channel', 'filter-channel'], ['runtime_version', 'filter-runtime'],
    ['platform', 'filter-platform']]) {
    const value = $(id).value.trim();
    if (value) query.set(name, value);
  }
  const updates = await call('GET', `updates?${query}`);
  const groups = new Map();
  for (const u of updates) {
    const key = scopeKey(u);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(u);
  }
  const sections = [...groups.values()].map(renderScope);
  if (sections.length === 0) sections.push(element('p', { text: 'No updates.' }));
  $('scopes').replaceChildren(...sections);
  showSignedIn(true);
}

function renderScope(updates) {
  const first = updates[0];
  const label = scopeLabel(first);
  const titleId = `scope-${first.id}`;
  const scope = {
    app: first.app, channel: first.channel, runtime_version: first.runtime_version,
    platform: first.platform,
  };
  const actions = element('div', { class: 'scope-actions' }, [
    element('button', {
      type: 'button', class: 'danger', text: 'Roll back to previous',
      'aria-label': `Roll back to previous: ${label}`,
      dataset: { action: 'rollback', scope: JSON.stringify(scope) },
    }),
    element('button', {
      type: 'button', class: 'danger', text: 'Roll back to embedded',
      'aria-label': `Roll back to embedded: ${label}`,
      dataset: { action: 'embedded', scope: JSON.stringify(scope) },
    }),
  ]);
  const head = element('div', { class: 'scope-head' }, [
    element('h3', { id: titleId, text: label }), actions,
  ]);
  const header = element('tr', {}, ['Created', 'Update id', 'Kind', 'Rollout', 'Message', 'Actions']
    .map((text) => element('th', { scope: 'col', text })));
  let everyone = false;
  const rows = updates.map((u) => {
    let served = '';
    if (!everyone && u.rollout_percent > 0) {
      served = u.rollout_percent === 100 ? 'served' : 'partly served';
      everyone = u.rollout_percent === 100;
    }
    return renderRow(u, served);
  });
  const table = element('table', { 'aria-labelledby': titleId }, [
    element('thead', {}, [header]), element('tbody', {}, rows),
  ]);
  return element('section', { class: 'scope', 'aria-labelledby': titleId }, [head, table]);
}

function renderRow(u, served) {
  const inputId = `percent-${u.id}`;
  const rollout = element('form', { class: 'rollout', dataset: { id: u.id } }, [
    element('label', { for: inputId, class: 'visually-hidden', text: `Rollout percent of ${u.id}` }),
    element('input', {
      id: inputId, name: 'percent', type: 'number', min: '0', max: '100', step: '1',
      required: '', class: 'percent', value: String(u.rollout_percent),
    }),
    element('button', { type: 'submit', text: 'Set rollout', 'aria-label': `Set rollout of ${u.id}` }),
  ]);
  const republish = element('button', {
    type: 'button', text: 'Republish', 'aria-label': `Republish ${u.id}`,
    dataset: { action: 'republish', id: u.id },
  });
  const kind = element('td', { text: kindLabel(u) });
  if (served) kind.append(' ', element('span', { class: 'badge', text: served }));
  return element('tr', { dataset: { id: u.id } }, [
    element('td', { class: 'created', text: u.created_at_iso }),
    element('td', { class: 'id', text: u.id }),
    kind,
    element('td', { text: `${u.rollout_percent}%` }),
    element('td', { text: u.message ?? '' }),
    element('td', { class: 'actions' }, u.kind === 'update' ? [rollout, ' ', republish] : [rollout]),
  ]);
}

async function onAction(button) {
  const { action } = button.dataset;
  if (action === 'rollback' || action === 'embedded') {
    const scope = JSON.parse(button.dataset.scope);
    const what = action === 'embedded' ? 'the embedded update' : 'the previous update';
    if (!window.confirm(`Roll back ${scopeLabel(scope)} to ${what}?`)) return;
    const created = await call('POST', 'rollback', { ...scope, embedded: action === 'embedded' });
    await refresh();
    say(`Rolled back ${scopeLabel(scope)}: now serving ${created.map((u) => u.id).join(', ')}.`);
  } else if (action === 'republish') {
    if (!window.confirm(`Serve a copy of ${button.dataset.id} again?`)) return;
    const created = await call('POST', `updates/${button.dataset.id}/republish`, {});
    await refresh();
    say(`Republished ${button.dataset.id} as ${created.map((u) => u.id).join(', ')}.`);
  }
}

async function onRollout(form) {
  const percent = Number(form.elements.percent.value);
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    fail('A rollout is a whole number from 0 to 100.');
    return;
  }
  const updated = await call('POST', `updates/${form.dataset.id}/rollout`, { percent });
  await refresh();
  say(`${updated.id} is now rolled out to ${updated.rollout_percent}% of installs.`);
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    guarded(async () => {
      await refresh();
      say('Signed in.');
    });
  });
  $('sign-out').addEventListener('click', () => {
    signOut();
    say('Signed out.');
  });
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(refresh);
  });
  $('scopes').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button) guarded(() => onAction(button));
  });
  $('scopes').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(() => onRollout(event.target));
  });
  if (sessionStorage.getItem(TOKEN_KEY)) guarded(refresh);
  else $('token').focus();
});

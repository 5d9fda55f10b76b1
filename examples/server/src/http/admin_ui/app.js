// The admin page: shows which branch each channel serves (and splits), lists updates per
// scope (branch, runtime version, platform) over the admin JSON API and runs rollbacks,
// rollouts, republishes and channel changes. No framework, no inline handlers (the page's CSP forbids them),
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
  $('channels').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('scopes').replaceChildren();
  $('channel-map').replaceChildren();
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
  // One request first: a refused token is then refused once, not by three requests racing.
  const channels = await call('GET', 'channels');
  const [updates, branches] = await Promise.all([
    call('GET', `updates?${query}`), call('GET', 'branches'),
  ]);
  renderChannels(channels, branches.map((b) => b.name));
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

// The channel map: per channel, the branch it serves and its split, with the forms that
// point it at another branch, start or resize a split, and end it.
function renderChannels(channels, branches) {
  const options = (selected) => branches.map((name) => {
    const option = element('option', { value: name, text: name });
    if (name === selected) option.setAttribute('selected', '');
    return option;
  });
  const sections = channels.map((c, i) => {
    // Ids by position: a channel name may hold spaces.
    const titleId = `channel-${i}`;
    const serves = c.split
      ? `serves branch ${c.branch}, and branch ${c.split.branch} to ${c.split.percent}% of installs`
      : `serves branch ${c.branch}`;
    const point = element('form', { class: 'point', dataset: { channel: c.name } }, [
      element('label', { for: `point-${i}`, text: 'Branch' }),
      element('select', { id: `point-${i}`, name: 'branch', 'aria-label': `Branch of ${c.name}` },
        options(c.branch)),
      element('button', { type: 'submit', text: 'Point', 'aria-label': `Point ${c.name} at the branch` }),
    ]);
    const split = element('form', { class: 'split', dataset: { channel: c.name } }, [
      element('label', { for: `split-branch-${i}`, text: 'Split branch' }),
      element('select', {
        id: `split-branch-${i}`, name: 'branch', 'aria-label': `Split branch of ${c.name}`,
      }, options(c.split?.branch ?? branches.find((b) => b !== c.branch) ?? '')),
      element('label', { for: `split-percent-${i}`, text: 'Percent' }),
      element('input', {
        id: `split-percent-${i}`, name: 'percent', type: 'number', min: '0', max: '100',
        step: '1', required: '', class: 'percent', value: String(c.split?.percent ?? 10),
        'aria-label': `Split percent of ${c.name}`,
      }),
      element('button', {
        type: 'submit', text: c.split ? 'Resize split' : 'Start split',
        'aria-label': `Split ${c.name}`,
      }),
    ]);
    const children = [element('h3', { id: titleId, text: `channel ${c.name}` }),
      element('p', { class: 'serves', text: serves }), point, split];
    if (c.split) {
      children.push(element('div', { class: 'scope-actions' }, [['main', c.branch], ['split', c.split.branch]]
        .map(([keep, branch]) => element('button', {
          type: 'button', text: `End split, keep ${branch}`,
          'aria-label': `End the split of ${c.name} keeping ${branch}`,
          dataset: { action: 'end-split', channel: c.name, keep },
        }))));
    }
    return element('section', { class: 'channel', 'aria-labelledby': titleId }, children);
  });
  if (sections.length === 0) sections.push(element('p', { text: 'No channels yet: publish an update.' }));
  $('channel-map').replaceChildren(...sections);
}

function channelPath(name) {
  return `channels/${encodeURIComponent(name)}`;
}

async function onChannelForm(form) {
  const name = form.dataset.channel;
  const branch = form.elements.branch.value;
  if (form.classList.contains('point')) {
    await call('PUT', channelPath(name), { branch });
    await refresh();
    say(`Channel ${name} now serves branch ${branch}.`);
    return;
  }
  const percent = Number(form.elements.percent.value);
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    fail('A split is a whole number from 0 to 100.');
    return;
  }
  await call('PUT', `${channelPath(name)}/split`, { branch, percent });
  await refresh();
  say(`Channel ${name} now serves branch ${branch} to ${percent}% of installs.`);
}

async function onChannelAction(button) {
  const { channel, keep } = button.dataset;
  const kept = await call('DELETE', `${channelPath(channel)}/split?keep=${keep}`);
  await refresh();
  say(`Split of ${channel} ended: it serves branch ${kept.branch}.`);
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
  return element('section', { class: 'scope', 'aria-labelledby': titleId },
    [head, table, element('div', { class: 'health-panel' })]);
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
  const health = element('button', {
    type: 'button', text: 'Health', 'aria-label': `Health of ${u.id}`,
    dataset: { action: 'health', id: u.id },
  });
  const kind = element('td', { text: kindLabel(u) });
  if (served) kind.append(' ', element('span', { class: 'badge', text: served }));
  return element('tr', { dataset: { id: u.id } }, [
    element('td', { class: 'created', text: u.created_at_iso }),
    element('td', { class: 'id', text: u.id }),
    kind,
    element('td', { text: `${u.rollout_percent}%` }),
    element('td', { text: u.message ?? '' }),
    element('td', { class: 'actions' },
      u.kind === 'update' ? [rollout, ' ', republish, ' ', health] : [rollout]),
  ]);
}

// Update health: the counts of one update over time, as SVG bar charts drawn here (no
// library: the CSP allows this file only), each with a title, a description and a
// visually hidden table of the same numbers.
const SVG_NS = 'http://www.w3.org/2000/svg';
const CHART = { width: 640, height: 200, left: 44, right: 12, top: 12, bottom: 36 };

function svg(tag, attributes = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

// "2026-12-02 23:00" (UTC), the start of a bucket.
function timeLabel(millis) {
  return new Date(millis).toISOString().slice(0, 16).replace('T', ' ');
}

function widthLabel(millis) {
  const units = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']];
  for (const [size, name] of units) {
    if (millis % size === 0) {
      const n = millis / size;
      return n === 1 ? `1 ${name}` : `${n} ${name}s`;
    }
  }
  return `${millis} ms`;
}

// One bar chart of `series` ([{ name, label, values }]) over the buckets of `s`.
function barChart(id, title, description, s, series) {
  const { width, height, left, right, top, bottom } = CHART;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const max = Math.max(1, ...series.flatMap((one) => one.values));
  const slot = plotWidth / s.count;
  // Thin bars even when there are few buckets: a wide block reads as an area, not a count.
  const barWidth = Math.max(1, Math.min(32, (slot * 0.8) / series.length));
  const y = (value) => top + plotHeight - (value / max) * plotHeight;
  const bars = [];
  series.forEach((one, index) => {
    one.values.forEach((value, bucket) => {
      const x = left + bucket * slot + slot * 0.1 + index * barWidth;
      bars.push(svg('rect', {
        class: `bar ${one.name}`, x: x.toFixed(2), y: y(value).toFixed(2),
        width: barWidth.toFixed(2), height: (top + plotHeight - y(value)).toFixed(2),
        'data-series': one.name, 'data-bucket': bucket, 'data-value': value,
      }, [svg('title', { text: `${timeLabel(s.start + bucket * s.width)}: ${value} ${one.label}` })]));
    });
  });
  const end = s.start + s.count * s.width;
  const axes = [
    svg('line', { class: 'axis', x1: left, y1: top + plotHeight, x2: width - right, y2: top + plotHeight }),
    svg('line', { class: 'axis', x1: left, y1: top, x2: left, y2: top + plotHeight }),
    svg('text', { class: 'tick', x: left - 6, y: top + plotHeight, 'text-anchor': 'end', text: '0' }),
    svg('text', { class: 'tick', x: left - 6, y: top + 10, 'text-anchor': 'end', text: String(max) }),
    svg('text', { class: 'tick', x: left, y: height - bottom + 16, text: timeLabel(s.start) }),
    svg('text', {
      class: 'tick', x: width - right, y: height - bottom + 16, 'text-anchor': 'end',
      text: `${timeLabel(end)} UTC`,
    }),
    svg('text', {
      class: 'tick', x: left + plotWidth / 2, y: height - 4, 'text-anchor': 'middle',
      text: `one bar per ${widthLabel(s.width)}`,
    }),
  ];
  const chart = svg('svg', {
    class: 'chart', role: 'img', viewBox: `0 0 ${width} ${height}`,
    'aria-labelledby': `${id}-title ${id}-desc`, 'data-chart': id.split('-')[0],
  }, [
    svg('title', { id: `${id}-title`, text: title }),
    svg('desc', { id: `${id}-desc`, text: description }),
    ...axes, ...bars,
  ]);
  const legend = element('ul', { class: 'legend' }, series.map((one) => element('li', {}, [
    element('span', { class: `swatch ${one.name}`, 'aria-hidden': 'true' }), one.label,
  ])));
  const header = element('tr', {}, ['Bucket start (UTC)', ...series.map((one) => one.label)]
    .map((text) => element('th', { scope: 'col', text })));
  const rows = Array.from({ length: s.count }, (_, bucket) => element('tr', {}, [
    element('th', { scope: 'row', text: timeLabel(s.start + bucket * s.width) }),
    ...series.map((one) => element('td', { text: String(one.values[bucket]) })),
  ]));
  const table = element('table', { class: 'visually-hidden' }, [
    element('caption', { text: title }), element('thead', {}, [header]), element('tbody', {}, rows),
  ]);
  return element('figure', { class: 'chart-figure' }, [
    element('figcaption', { text: title }), chart, legend, table,
  ]);
}

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

function rollbackText(state) {
  if (state.rolled_back) {
    const r = state.rolled_back;
    return `Rolled back automatically at ${r.at_iso} (now serving ${r.rollback_id}): ${r.message ?? ''}`;
  }
  if (!state.enabled) return 'Automatic rollback is off on this server.';
  const policy = `at ${Math.round(state.threshold * 100)}% failed of at least ${state.min_devices} devices`;
  if (!state.judged) return `Not judged by the automatic rollback (${policy}): a copy or a rollback is never rolled back.`;
  if (state.fires) return `Automatic rollback (${policy}): the counts meet the policy.`;
  return `Automatic rollback is on (${policy}); not rolled back.`;
}

function renderHealth(data) {
  const s = data.series;
  const h = data.health;
  const titleId = `health-${data.id}`;
  const rate = `${(h.failure_rate * 100).toFixed(1)}%`;
  const children = [
    element('h4', { id: titleId, text: `Health of ${data.id}` }),
    element('p', {
      class: 'totals',
      text: `Served to ${h.served} installs; ${h.launched} launched it, ${h.failed} failed on it `
        + `(${rate} of ${h.devices} reporting).`,
    }),
    element('p', { class: 'auto-rollback', text: rollbackText(data.auto_rollback) }),
  ];
  const events = sum(s.served) + sum(s.launched) + sum(s.failed);
  if (h.served === 0 && h.devices === 0 && events === 0) {
    children.push(element('p', { class: 'empty', text: 'No reports yet: no install was served this update or reported on it.' }));
  } else {
    const range = `from ${timeLabel(s.start)} to ${timeLabel(s.start + s.count * s.width)} UTC, `
      + `${s.count} bars of ${widthLabel(s.width)}`;
    children.push(barChart(`launches-${data.id}`, 'Launches and failures over time',
      `Installs that first reported running the update and failing on it, ${range}: `
        + `${sum(s.launched)} launches, ${sum(s.failed)} failures.`,
      s, [{ name: 'launched', label: 'launched', values: s.launched },
        { name: 'failed', label: 'failed', values: s.failed }]));
    children.push(barChart(`downloads-${data.id}`, 'Downloads over time',
      `Installs the server sent the update's manifest to, ${range}: ${sum(s.served)} downloads.`,
      s, [{ name: 'served', label: 'downloads', values: s.served }]));
  }
  return element('section', { class: 'health', 'aria-labelledby': titleId, dataset: { id: data.id } }, children);
}

async function showHealth(button) {
  const data = await call('GET', `updates/${button.dataset.id}/health`);
  const panel = button.closest('section.scope').querySelector('.health-panel');
  panel.replaceChildren(renderHealth(data));
  say(`Health of ${data.id} shown.`);
}

async function onAction(button) {
  const { action } = button.dataset;
  if (action === 'rollback' || action === 'embedded') {
    const scope = JSON.parse(button.dataset.scope);
    const what = action === 'embedded' ? 'the embedded update' : 'the previous update';
    if (!window.confirm(`Roll back ${scopeLabel(scope)} to ${what}?`)) return;
    // The scope's stream is a branch (`channel` in a rollback body names a channel).
    const { channel: branch, ...rest } = scope;
    const created = await call('POST', 'rollback', { ...rest, branch, embedded: action === 'embedded' });
    await refresh();
    say(`Rolled back ${scopeLabel(scope)}: now serving ${created.map((u) => u.id).join(', ')}.`);
  } else if (action === 'health') {
    await showHealth(button);
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
  $('channel-map').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(() => onChannelForm(event.target));
  });
  $('channel-map').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button) guarded(() => onChannelAction(button));
  });
  $('scopes').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(() => onRollout(event.target));
  });
  if (sessionStorage.getItem(TOKEN_KEY)) guarded(refresh);
  else $('token').focus();
});

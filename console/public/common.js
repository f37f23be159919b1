/*
 * gflow console: what every page shares. DOM built with textContent only
 * (`el`), or, for the large matrix, HTML strings whose every data value
 * goes through `esc`; the API client that sends actions as JSON with the
 * X-Gflow-Console header and the token; the navigation bar; a confirm
 * dialog; and the poller of a rerun's progress.
 */
'use strict';
window.gflow = (() => {
  const TOKEN_KEY = 'gflow.console.token';

  // `#token=<token>` once: kept for this tab, and taken out of the address bar (and of history).
  if (location.hash.startsWith('#token=')) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(location.hash.slice('#token='.length)));
    history.replaceState(null, '', location.pathname + location.search);
  }

  /** Text for HTML: every data value in an HTML string goes through here. */
  function esc(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }

  /** Only http(s) and same-site links: a `javascript:` URL from data never becomes a link. */
  function safeHref(href) {
    const s = String(href ?? '');
    if (s.startsWith('/') && !s.startsWith('//')) return s;
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : '#';
    } catch {
      return '#';
    }
  }

  /**
   * An element: `attrs` may hold class, text, href, title, data-*, on<event>
   * (functions) and other attributes; children are nodes, text (as text), arrays or nothing.
   */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = String(v);
      else if (k === 'href') node.setAttribute('href', safeHref(v));
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      if (Array.isArray(c)) append(node, c);
      else node.append(c instanceof window.Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /** Empty `node`, then append `children` (nodes, text, arrays) as `el` does. */
  function clear(node, ...children) {
    node.replaceChildren();
    return append(node, children);
  }

  /** A link into the Temporal web UI, in a new tab. */
  function temporal(href, label) {
    return el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'temporal', title: 'open in the Temporal web UI' }, label || 'Temporal ↗');
  }

  function pill(state) {
    return el('span', { class: `pill ${state}`, text: String(state).replace('_', ' ') });
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.error ? body.error : `HTTP ${status}`);
      this.status = status;
      this.field = body ? body.field : null;
      this.body = body;
    }
  }

  /** Call the API; POSTs carry a JSON body, the action header and the token. @throws ApiError */
  async function api(path, options) {
    const o = options || {};
    const init = { method: o.method || 'GET', headers: { accept: 'application/json' }, credentials: 'same-origin' };
    if (init.method !== 'GET') {
      init.headers['content-type'] = 'application/json';
      init.headers['x-gflow-console'] = '1';
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) init.headers.authorization = `Bearer ${token}`;
      init.body = JSON.stringify(o.body || {});
    }
    const response = await fetch(path, init);
    const type = response.headers.get('content-type') || '';
    const body = type.includes('json') ? await response.json() : await response.text();
    if (!response.ok) {
      if (response.status === 401) askToken(body && body.error);
      throw new ApiError(response.status, typeof body === 'object' ? body : { error: String(body), field: null });
    }
    return body;
  }

  let infoPromise;
  function info() {
    infoPromise = infoPromise || api('/api/info');
    return infoPromise;
  }

  function askToken(message) {
    const bar = document.getElementById('token-bar');
    if (bar) {
      bar.hidden = false;
      const note = bar.querySelector('.note');
      if (note && message) note.textContent = message;
      bar.querySelector('input').focus();
    }
  }

  /** The navigation bar, the installation's name and the actions note (read-only, token). */
  async function nav(active) {
    const header = el('header', { class: 'nav' },
      el('a', { class: 'brand', href: '/' }, 'gflow console'),
      [['/', 'Overview'], ['/reruns', 'Reruns'], ['/reports', 'Reports'], ['/analyses', 'Analyses']].map(([href, label]) => el('a', { href, class: label === active ? 'active' : '' }, label)),
      el('span', { class: 'spacer' }),
    );
    document.body.prepend(header);
    try {
      const i = await info();
      header.append(el('span', { class: 'meta' }, `prefix ${i.prefix} · ${i.tz} · Temporal ${i.temporal.address}`), temporal(i.links.allRuns, 'Temporal web UI ↗'));
      const banner = el('div', { class: 'banner', id: 'token-bar', hidden: i.actions.allowed && !i.actions.needsToken ? true : undefined },
        el('span', { class: 'note', text: i.actions.note }));
      if (i.actions.needsToken) {
        const input = el('input', { type: 'password', placeholder: 'console token', autocomplete: 'off', value: sessionStorage.getItem(TOKEN_KEY) || '' });
        banner.append(' ', input, ' ', el('button', { onclick: () => { sessionStorage.setItem(TOKEN_KEY, input.value.trim()); banner.querySelector('.note').textContent = 'token kept for this tab'; } }, 'Use token'));
      }
      header.after(banner);
    } catch (err) {
      header.after(el('div', { class: 'banner error', text: `the console's API does not answer: ${err.message}` }));
    }
  }

  /** Whether actions can be offered at all (read-only consoles grey their buttons out). */
  async function actionsAllowed() {
    try {
      return (await info()).actions.allowed;
    } catch {
      return false;
    }
  }

  /** A modal asking to confirm; resolves true on confirm. */
  function confirmBox(title, body, confirmLabel, danger) {
    return new Promise((resolve) => {
      const dialog = el('dialog', { class: 'confirm' });
      const done = (answer) => {
        dialog.close();
        dialog.remove();
        resolve(answer);
      };
      dialog.append(
        el('h2', { text: title }),
        body,
        el('div', { class: 'actions' },
          el('button', { class: 'cancel', onclick: () => done(false) }, 'Cancel'),
          el('button', { class: danger ? 'danger confirm-button' : 'primary confirm-button', onclick: () => done(true) }, confirmLabel)),
      );
      dialog.addEventListener('cancel', () => done(false));
      document.body.append(dialog);
      dialog.showModal();
    });
  }

  /** A message box for an error, in place. */
  function showError(where, err) {
    clear(where, el('div', { class: 'error', role: 'alert', text: err && err.message ? err.message : String(err) }));
  }

  const fmt = {
    n: (v, digits) => (v === null || v === undefined ? '' : Number(v).toLocaleString('en', { maximumFractionDigits: digits ?? 0, minimumFractionDigits: digits ?? 0 })),
    pct: (v) => (v === null || v === undefined ? '' : `${(v * 100).toFixed(1)}%`),
    ms: (v) => (v === null || v === undefined ? '' : v < 1000 ? `${Math.round(v)} ms` : v < 120000 ? `${(v / 1000).toFixed(1)} s` : `${(v / 60000).toFixed(1)} min`),
    // The ledger's times and Temporal's are UTC: said so, whatever the installation's zone.
    time: (t) => (t ? `${String(t).replace('T', ' ').replace(/\.\d+Z?$/, '').replace(/Z$/, '')} UTC` : ''),
  };

  /** The query string's parameters. */
  function params() {
    return new URLSearchParams(location.search);
  }

  /** A rerun's progress, polled every second until it ends; `onUpdate` gets each answer. */
  async function pollRerun(rerunId, onUpdate) {
    for (;;) {
      let p;
      try {
        p = await api(`/api/reruns/${encodeURIComponent(rerunId)}/progress`);
      } catch (err) {
        p = { state: 'unknown', finished: false, error: err.message };
      }
      onUpdate(p);
      if (p.finished) return p;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** A progress box for a rerun or retry: returns the box and its update function. */
  function progressBox(rerunId, kind) {
    const text = el('span', { class: 'text', text: `${kind} ${rerunId}: starting…` });
    const fill = el('div');
    const box = el('div', { class: 'progress', 'data-rerun': rerunId }, text, el('div', { class: 'bar' }, fill));
    const update = (p) => {
      box.dataset.state = p.state;
      if (p.progress) {
        const q = p.progress;
        fill.style.width = `${q.total ? Math.round((q.done / q.total) * 100) : 0}%`;
        text.textContent = `${kind} ${rerunId}: ${q.done}/${q.total} periods · ${q.gamesFailed} games failed · ${q.checksFailed} checks failed${q.running.length ? ` · running ${q.running.join(', ')}` : ''}`;
      } else if (p.finished) {
        fill.style.width = '100%';
        text.textContent = `${kind} ${rerunId}: ${p.state}`;
      } else {
        text.textContent = `${kind} ${rerunId}: ${p.state}…`;
      }
    };
    return { box, update };
  }

  /** The impact of a dry run (client/dry-run.ts), as a table. */
  function impactTable(impact) {
    const rows = impact.tasks.map((t) =>
      el('tr', {},
        el('td', { text: t.task }), el('td', { class: 'num', text: t.periods }), el('td', { class: 'num', text: t.cells }),
        el('td', { text: t.first }), el('td', { text: t.last }),
        el('td', { text: Object.entries(t.rows).map(([table, n]) => `${table} ${n}`).join(', ') || '-' }),
        el('td', { text: t.busy.map((b) => `${b.period} (${b.holder})`).join(', ') || '-' })));
    const estimate = impact.estimatedMs === undefined ? 'no estimate yet (no past ok run of every task)' : `about ${fmt.ms(impact.estimatedMs)} from past run times`;
    return el('div', { class: 'impact' },
      el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ['task', 'periods', 'game-periods', 'from', 'to', 'rows backed up and overwritten', 'being written now'].map((h) => el('th', { text: h })))),
        el('tbody', {}, rows)),
      el('p', { class: 'muted', text: `dry run of ${impact.kind} ${impact.rerunId}: nothing started yet; ${estimate}` }));
  }

  return { esc, el, append, clear, temporal, pill, api, info, nav, actionsAllowed, confirmBox, showError, fmt, params, pollRerun, progressBox, impactTable, ApiError };
})();

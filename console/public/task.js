/*
 * Task page: the games × periods matrix (sticky headers, filter by game,
 * scrolling both ways); a cell opens its run (items, errors, checks,
 * duration, slave, Temporal link); failed or missing cells can be selected
 * (Ctrl/Shift-click, or all at once) and retried: dry-run impact first,
 * then the retry on confirmation, with its progress live.
 */
'use strict';
(async () => {
  const { el, esc, api, clear, temporal, pill, fmt } = gflow;
  const STATE = { o: 'ok', f: 'failed', p: 'partial', m: 'missing', r: 'running', s: 'skipped', '-': 'none' };
  const RETRYABLE = new Set(['f', 'p', 'm']);
  const q = gflow.params();
  const job = q.get('job') || '';
  const task = q.get('task') || '';
  await gflow.nav('');
  const main = clear(document.getElementById('main'));
  const allowed = await gflow.actionsAllowed();

  const range = el('input', { name: 'range', placeholder: 'first,last (e.g. 20261101,20261130)', value: q.get('range') || '', size: 26 });
  const gamesFilter = el('input', { name: 'games', placeholder: 'only games (ids, e.g. 1,2,3)', value: q.get('games') || '', size: 18 });
  const find = el('input', { name: 'filter', type: 'search', placeholder: 'filter by game id or name', size: 22 });
  const onlyBad = el('input', { type: 'checkbox', name: 'attention', id: 'only-attention' });
  const legend = el('div', { class: 'legend' });
  const status = el('div', { class: 'small muted', id: 'matrix-status' });
  const selInfo = el('span', { class: 'small', id: 'selection', text: 'no cell selected' });
  const retryButton = el('button', { class: 'primary', id: 'retry', disabled: true }, 'Retry selected');
  const wrap = el('div', { class: 'matrix-wrap', id: 'matrix' }, el('p', { class: 'muted', text: 'Loading…' }));
  const progress = el('div', { id: 'retry-progress' });
  const panel = el('section', { class: 'panel', id: 'run' });
  const runsLink = el('span');
  main.append(
    el('div', { class: 'toolbar' }, el('h1', { style: 'margin:0', text: `${job}.${task}` }), runsLink),
    el('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); reload(true); } },
      el('label', {}, 'periods ', range), el('label', {}, 'games ', gamesFilter), el('button', { type: 'submit' }, 'Show'),
      el('span', { style: 'flex:1' }), el('label', {}, onlyBad, 'only games needing attention'), el('label', {}, 'find ', find)),
    el('div', { class: 'toolbar' }, legend),
    el('div', { class: 'toolbar' },
      el('button', { id: 'select-failed', onclick: () => selectAll('fp') }, 'Select failed'),
      el('button', { id: 'select-missing', onclick: () => selectAll('m') }, 'Select missing'),
      el('button', { id: 'select-clear', onclick: () => { selected.clear(); paintSelection(); } }, 'Clear'),
      retryButton, selInfo,
      el('span', { class: 'small muted', text: 'click a cell to open its run; Ctrl- or Shift-click to select failed or missing cells' })),
    progress, status, wrap, panel);

  let m; // the matrix as the API sends it
  const selected = new Set(); // cell indexes
  const errors = new Map(); // cell index → error text

  async function reload(pushState) {
    const qs = new URLSearchParams({ ...(range.value.trim() && { range: range.value.trim() }), ...(gamesFilter.value.trim() && { games: gamesFilter.value.trim() }) });
    if (pushState) history.replaceState(null, '', `/task?${new URLSearchParams({ job, task, ...Object.fromEntries(qs) })}`);
    const t0 = performance.now();
    try {
      m = await api(`/api/jobs/${encodeURIComponent(job)}/tasks/${encodeURIComponent(task)}/matrix?${qs}`);
    } catch (err) {
      gflow.showError(wrap, err);
      return;
    }
    const t1 = performance.now();
    errors.clear();
    clear(panel);
    for (const [cell, e] of m.cellErrors) errors.set(cell, m.errors[e]);
    selected.clear();
    render();
    void wrap.offsetHeight; // lay the table out now, so the time below includes it
    const t2 = performance.now();
    clear(runsLink, temporal(m.links.runs, 'runs of the task ↗'));
    clear(legend, ['ok', 'partial', 'failed', 'missing', 'running', 'skipped', 'none'].map((s) => el('span', { style: `--swatch: var(--${s})`, 'data-state': s, text: `${s} ${m.counts[s] || 0}` })));
    status.textContent = `${m.games.length} games × ${m.periods.length} ${m.unit}s (${m.periods[0]} .. ${m.periods[m.periods.length - 1]})${m.startedAt ? `, started ${fmt.time(m.startedAt)}` : ', never started: no cell counts as missing'}; fetched in ${Math.round(t1 - t0)} ms, drawn in ${Math.round(t2 - t1)} ms${m.temporal ? ` — ${m.temporal.reason}` : ''}`;
    document.body.dataset.ready = '1';
  }

  /** One HTML string for the whole table: 15,000 cells build in a few ms; every data value is escaped. */
  function render() {
    const width = m.periods.length;
    const head = m.periods.map((p) => `<th title="${esc(p)}">${esc(p.slice(-2))}</th>`).join('');
    const rows = m.games.map((g, gi) => {
      const codes = m.states[gi];
      let cells = '';
      for (let pi = 0; pi < width; pi++) {
        const i = gi * width + pi;
        const code = codes[pi];
        const error = errors.get(i);
        cells += `<td class="c s-${code}" data-i="${i}" title="${esc(`${g.name} · ${m.periods[pi]} · ${STATE[code]}${error ? ` · ${error}` : ''}`)}"></td>`;
      }
      return `<tr data-game="${g.id}"${/[fpm]/.test(codes) ? ' data-attention="1"' : ''} data-find="${esc(`${g.id} ${g.name}`.toLowerCase())}"><td class="game" title="${esc(g.name)}">${esc(g.id)} · ${esc(g.name)}</td>${cells}</tr>`;
    });
    wrap.innerHTML = `<table class="matrix"><thead><tr><th class="game">game \\ ${esc(m.unit)}</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
    applyFind();
    paintSelection();
  }

  function cellAt(i) {
    const width = m.periods.length;
    const gi = Math.floor(i / width);
    const pi = i % width;
    return { i, game: m.games[gi], period: m.periods[pi], code: m.states[gi][pi], run: m.runs[m.cellRuns[i]], error: errors.get(i) };
  }

  function applyFind() {
    const needle = find.value.trim().toLowerCase();
    const bad = onlyBad.checked;
    for (const tr of wrap.querySelectorAll('tbody tr')) tr.classList.toggle('hidden', (needle !== '' && !tr.dataset.find.includes(needle)) || (bad && !tr.dataset.attention));
  }
  find.addEventListener('input', applyFind);
  onlyBad.addEventListener('change', applyFind);

  function selectAll(codes) {
    const hidden = new Set([...wrap.querySelectorAll('tbody tr.hidden')].map((tr) => Number(tr.dataset.game)));
    m.states.forEach((row, gi) => {
      if (hidden.has(m.games[gi].id)) return;
      for (let pi = 0; pi < row.length; pi++) if (codes.includes(row[pi])) selected.add(gi * m.periods.length + pi);
    });
    paintSelection();
  }

  function paintSelection() {
    for (const td of wrap.querySelectorAll('td.sel')) td.classList.remove('sel');
    for (const i of selected) wrap.querySelector(`td[data-i="${i}"]`)?.classList.add('sel');
    selInfo.textContent = selected.size === 0 ? 'no cell selected' : `${selected.size} cells selected`;
    retryButton.disabled = !allowed || selected.size === 0;
  }

  wrap.addEventListener('click', (e) => {
    const td = e.target.closest('td.c');
    if (!td) return;
    const cell = cellAt(Number(td.dataset.i));
    if (e.ctrlKey || e.metaKey || e.shiftKey) {
      if (!RETRYABLE.has(cell.code)) return;
      if (selected.has(cell.i)) selected.delete(cell.i);
      else selected.add(cell.i);
      paintSelection();
      return;
    }
    for (const open of wrap.querySelectorAll('td.open')) open.classList.remove('open');
    td.classList.add('open');
    openRun(cell);
  });

  async function openRun(cell) {
    clear(panel, el('h2', { text: `game ${cell.game.id} · ${cell.game.name} · ${cell.period}` }), el('p', {}, pill(STATE[cell.code]), cell.error ? el('span', { class: 'error', text: ` ${cell.error}` }) : null));
    if (cell.code === 'm' || cell.code === '-') return panel.append(el('p', { class: 'muted', text: cell.code === 'm' ? 'no run covered this period since the task was started: select it and press Retry to fill it' : 'nothing was due' }));
    try {
      const qs = new URLSearchParams({ game: cell.game.id, ...(cell.run && { workflowId: cell.run }) });
      const d = await api(`/api/jobs/${encodeURIComponent(job)}/tasks/${encodeURIComponent(task)}/periods/${encodeURIComponent(cell.period)}/run?${qs}`);
      const r = d.run;
      const mine = d.items.filter((it) => it.game === cell.game.id);
      const kv = el('dl', { class: 'kv' });
      for (const [k, v] of [
        ['run', r.workflowId], ['origin', `${r.origin}${r.rerunId ? ` of ${r.rerunId}` : ''}`], ['outcome', r.outcome], ['started', fmt.time(r.startedAt)], ['finished', fmt.time(r.finishedAt)],
        ['duration', fmt.ms(r.durationMs)], ['items', `${r.itemsOk}/${r.itemsTotal} ok, ${r.itemsFailed} failed, ${r.itemsPending} pending`], ['checks', `${r.checkErrors} failed, ${r.checkWarnings} warnings`],
        ['slave', mine.map((it) => it.slave).filter(Boolean).join(', ') || d.slaves.join(', ') || '-'], ['started by', `${r.startedBy || '-'}${r.reason ? ` (${r.reason})` : ''}`], ['code version', r.codeVersion || '-'],
      ]) kv.append(el('dt', { text: k }), el('dd', { text: v ?? '' }));
      if (r.error) kv.append(el('dt', { text: 'error' }), el('dd', { class: 'error', text: r.error }));
      panel.append(el('div', { class: 'card' }, el('div', { class: 'toolbar' }, temporal(d.links.workflow, 'this run in Temporal ↗'), d.links.rerun ? temporal(d.links.rerun, 'its rerun ↗') : null, r.rerunId ? el('a', { href: `/rerun?id=${encodeURIComponent(r.rerunId)}`, text: 'rerun page' }) : null), kv));
      panel.append(el('h2', { text: 'Items' }), el('div', { class: 'table-wrap' }, el('table', { class: 'grid', id: 'run-items' },
        el('thead', {}, el('tr', {}, ['#', 'item', 'game', 'slave', 'attempts', 'outcome', 'duration', 'error'].map((h) => el('th', { text: h })))),
        el('tbody', {}, d.items.map((it) => el('tr', { class: it.game === cell.game.id ? 'highlight' : '' },
          el('td', { class: 'num', text: it.index }), el('td', { text: it.label }), el('td', { text: it.game ?? '-' }), el('td', { text: it.slave || '-' }),
          el('td', { class: 'num', text: it.attempts }), el('td', {}, pill(it.outcome)), el('td', { class: 'num', text: fmt.ms(it.durationMs) }), el('td', { class: 'error', text: it.error || '' })))))));
      panel.append(el('h2', { text: 'Failed checks' }), d.checks.length === 0 ? el('p', { class: 'muted', text: 'every check passed' }) : el('table', { class: 'grid', id: 'run-checks' },
        el('thead', {}, el('tr', {}, ['severity', 'check', 'table', 'game', 'period', 'offending values'].map((h) => el('th', { text: h })))),
        el('tbody', {}, d.checks.map((c) => el('tr', { class: c.game === cell.game.id ? 'highlight' : '' }, el('td', {}, pill(c.severity === 'error' ? 'failed' : 'partial')), el('td', { text: c.check }), el('td', { text: c.table }), el('td', { text: c.game ?? '-' }), el('td', { text: c.period }), el('td', { class: 'mono', text: c.detail }))))));
      if (d.earlier.length > 0) panel.append(el('p', { class: 'small muted', text: `earlier runs of this period: ${d.earlier.map((e) => `${e.workflowId} (${e.origin}${e.segment ? ` ${e.segment}` : ''}, ${e.outcome})`).join('; ')}` }));
      panel.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      panel.append(el('p', { class: 'error', text: err.message }));
    }
  }

  retryButton.addEventListener('click', async () => {
    const byPeriod = new Map();
    for (const i of selected) {
      const c = cellAt(i);
      if (!byPeriod.has(c.period)) byPeriod.set(c.period, []);
      byPeriod.get(c.period).push(c.game.id);
    }
    const cells = [...byPeriod.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([period, games]) => ({ period, games }));
    const body = { job, task, cells };
    let dry;
    try {
      dry = await api('/api/retry', { method: 'POST', body: { ...body, dryRun: true } });
    } catch (err) {
      return gflow.showError(progress, err);
    }
    const note = dry.waitsFor.length > 0 ? el('p', { class: 'warn', text: `it waits for the running rerun ${dry.waitsFor.join(', ')} where their periods overlap` }) : null;
    if (!(await gflow.confirmBox(`Retry ${selected.size} cells of ${job}.${task}?`, el('div', {}, gflow.impactTable(dry.impact), note), 'Start the retry'))) return;
    let started;
    try {
      started = await api('/api/retry', { method: 'POST', body });
    } catch (err) {
      return gflow.showError(progress, err);
    }
    const { box, update } = gflow.progressBox(started.rerunId, 'retry');
    clear(progress, box, started.warnings.map((w) => el('div', { class: 'warn', text: w })), el('div', { class: 'small' }, el('a', { href: `/rerun?id=${encodeURIComponent(started.rerunId)}`, text: 'its page' }), ' · ', temporal(started.links.workflow, 'in Temporal ↗')));
    selected.clear();
    paintSelection();
    const end = await gflow.pollRerun(started.rerunId, update);
    box.dataset.finished = end.state;
    await reload(false);
  });

  await reload(false);
})();

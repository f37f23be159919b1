/*
 * A rerun's page: what it was (range, tasks, who, why, outcome), its live
 * progress while it runs, its per-period table, its diff a period at a time
 * (`column: old → new`), its failed checks, and Restore (impact first,
 * then confirmation, then the restore's progress).
 */
'use strict';
(async () => {
  const { el, api, clear, temporal, pill, fmt } = gflow;
  const id = gflow.params().get('id') || '';
  await gflow.nav('Reruns');
  const main = clear(document.getElementById('main'));
  const allowed = await gflow.actionsAllowed();
  const head = el('section', { id: 'head' });
  const live = el('section', { id: 'live' });
  const periods = el('section', { id: 'periods' });
  const diff = el('section', { id: 'diff' });
  const checks = el('section', { id: 'checks' });
  const restoreBox = el('section', { id: 'restore' });
  main.append(el('h1', { class: 'mono', text: id }), head, live, el('h2', { text: 'Periods' }), periods, el('h2', { text: 'Diff' }), diff, el('h2', { text: 'Failed checks' }), checks, el('h2', { text: 'Restore' }), restoreBox);
  const enc = encodeURIComponent(id);

  let record;
  async function loadRecord() {
    // A rerun just started is in the ledger once its workflow's first step ran: wait for it a while.
    for (let attempt = 0; ; attempt++) {
      try {
        record = await api(`/api/reruns/${enc}`);
        break;
      } catch (err) {
        if (err.status !== 404 || attempt >= 60) {
          gflow.showError(head, err);
          return false;
        }
        clear(head, el('p', { class: 'muted', text: 'starting: waiting for the rerun to be recorded in the ledger…' }));
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const r = record;
    const kv = el('dl', { class: 'kv' });
    for (const [k, v] of [['kind', r.kind], ['job', r.job], ['range', r.range || '-'], ['tasks', r.tasks.join(', ')], ['games', r.cells !== undefined ? `${r.cells} cells` : r.games ? r.games.join(', ') : 'all'],
      ['started by', r.startedBy || '-'], ['why', r.reason || '-'], ['started', fmt.time(r.startedAt)], ['finished', fmt.time(r.finishedAt) || '-'],
      ['restored', r.restoredAt ? `${fmt.time(r.restoredAt)} by ${r.restoredBy || '?'}` : '-']]) kv.append(el('dt', { text: k }), el('dd', { text: v }));
    kv.append(el('dt', { text: 'outcome' }), el('dd', { id: 'outcome' }, pill(r.outcome), r.prunedAt ? ` (pruned ${fmt.time(r.prunedAt)})` : null, r.summary && r.summary.error ? el('span', { class: 'error', text: ` ${r.summary.error}` }) : null));
    clear(head, el('div', { class: 'card' }, el('div', { class: 'toolbar' }, temporal(r.links.workflow, 'the rerun in Temporal ↗'), r.restoredAt ? temporal(r.links.restore, 'its restore ↗') : null), kv));
    renderPeriods();
    return true;
  }

  function renderPeriods() {
    const s = record.summary;
    const box = clear(periods);
    if (!s || !s.periods) return box.append(el('p', { class: 'muted', text: record.outcome === 'running' ? 'running: the table shows once it ends' : 'no summary recorded' }));
    box.append(el('table', { class: 'grid' },
      el('thead', {}, el('tr', {}, ['task', 'period', 'backed up', 'changed', 'added', 'removed', 'checks failed', 'warnings', 'games failed', 'Temporal'].map((h) => el('th', { text: h })))),
      el('tbody', {}, s.periods.map((p) => el('tr', {},
        el('td', { text: p.task }), el('td', { text: p.period.key }), el('td', { class: 'num', text: p.backedUp }), el('td', { class: 'num', text: p.changed }), el('td', { class: 'num', text: p.added }),
        el('td', { class: 'num', text: p.removed }), el('td', { class: 'num', text: p.checkErrors }), el('td', { class: 'num', text: p.checkWarnings }),
        el('td', { class: p.error || p.gamesFailed.length ? 'error' : '', text: p.error ? `period failed: ${p.error}` : p.gamesFailed.join(', ') || '-' }, p.rolledBack ? el('span', { class: 'warn', text: ' (rolled back)' }) : null),
        el('td', {}, temporal(`${record.links.period}${encodeURIComponent(`${p.task}.${p.period.key}`)}`, '↗')))))));
    const sum = (f) => s.periods.reduce((n, p) => n + f(p), 0);
    box.append(el('p', { class: 'muted', text: `${s.periods.length} periods in ${(s.durationMs / 1000).toFixed(1)} s; rows changed ${sum((p) => p.changed)}, added ${sum((p) => p.added)}, removed ${sum((p) => p.removed)}; checks failed ${sum((p) => p.checkErrors)}; games failed ${sum((p) => p.gamesFailed.length)}${s.ok ? '' : ' — NOT all succeeded'}` }));
  }

  async function followIfRunning() {
    if (record.outcome !== 'running') return;
    const { box, update } = gflow.progressBox(id, record.kind);
    const cancel = el('button', { class: 'danger', disabled: !allowed, onclick: async () => {
      if (!(await gflow.confirmBox('Cancel this rerun?', el('p', { text: 'Backups and diffs made so far stay.' }), 'Cancel the rerun', true))) return;
      try {
        await api(`/api/reruns/${enc}/cancel`, { method: 'POST', body: {} });
      } catch (err) {
        live.append(el('p', { class: 'error', text: err.message }));
      }
    } }, 'Cancel rerun');
    clear(live, box, cancel);
    await gflow.pollRerun(id, update);
    cancel.remove();
    await loadRecord();
    await Promise.all([loadDiff(), loadChecks()]);
  }

  const diffGames = el('input', { name: 'games', placeholder: 'games (e.g. 3,7)', size: 14 });
  const periodSelect = el('select', { name: 'period' });
  async function loadDiff(period) {
    const qs = new URLSearchParams({ ...(period && { period }), ...(diffGames.value.trim() && { games: diffGames.value.trim() }) });
    let d;
    try {
      d = await api(`/api/reruns/${enc}/diff?${qs}`);
    } catch (err) {
      return gflow.showError(diff, err);
    }
    clear(periodSelect, d.periods.map((p) => el('option', { value: p.period, selected: p.period === d.period, text: `${p.period} (${p.changes} rows)` })));
    const at = d.periods.findIndex((p) => p.period === d.period);
    const go = (k) => () => { if (d.periods[k]) loadDiff(d.periods[k].period); };
    const show = (v) => (v === null || v === undefined ? 'NULL' : String(v));
    clear(diff, 
      el('div', { class: 'toolbar' },
        el('button', { disabled: at <= 0, onclick: go(at - 1) }, '← previous period'), periodSelect, el('button', { disabled: at < 0 || at >= d.periods.length - 1, onclick: go(at + 1) }, 'next period →'),
        el('label', {}, 'games ', diffGames), el('button', { onclick: () => loadDiff(periodSelect.value) }, 'Filter')),
      d.rows.length === 0 ? el('p', { class: 'muted', text: `no changes${d.period ? ` in ${d.period}` : ''}` }) : el('div', { class: 'table-wrap' }, el('table', { class: 'grid', id: 'diff-rows' },
        el('thead', {}, el('tr', {}, ['period', 'table', 'game', 'key', 'change', 'columns'].map((h) => el('th', { text: h })))),
        el('tbody', {}, d.rows.map((r) => el('tr', { 'data-game': r.game },
          el('td', { text: r.period }), el('td', { text: r.table }), el('td', { text: r.game }), el('td', { class: 'mono', text: Object.values(r.key).join(' ') }), el('td', { text: r.change }),
          el('td', { class: 'mono' }, Object.entries(r.columns).map(([c, v], k) => [k > 0 ? '; ' : '', el('span', { class: 'diff-col', text: `${c}: ` }), el('span', { class: 'diff-old', text: show(v.old) }), ' → ', el('span', { class: 'diff-new', text: show(v.new) })]))))))),
      d.truncated ? el('p', { class: 'warn', text: `showing the first ${d.limit} rows of this period: filter by games to see the others` }) : null);
  }
  periodSelect.addEventListener('change', () => loadDiff(periodSelect.value));

  async function loadChecks() {
    try {
      const { checks: list } = await api(`/api/reruns/${enc}/checks`);
      clear(checks, list.length === 0 ? el('p', { class: 'muted', text: 'every check passed' }) : el('table', { class: 'grid', id: 'failed-checks' },
        el('thead', {}, el('tr', {}, ['task', 'period', 'severity', 'table', 'game', 'check', 'offending values'].map((h) => el('th', { text: h })))),
        el('tbody', {}, list.map((c) => el('tr', {}, el('td', { text: c.task }), el('td', { text: c.period }), el('td', {}, pill(c.severity === 'error' ? 'failed' : 'partial')), el('td', { text: c.table }), el('td', { text: c.game ?? '-' }), el('td', { text: c.check }), el('td', { class: 'mono', text: c.detail }))))));
    } catch (err) {
      gflow.showError(checks, err);
    }
  }

  function renderRestore() {
    const which = el('select', { name: 'restore-period' }, el('option', { value: '', text: 'every period (latest first)' }), [...new Set(record.steps.map((s) => s.period))].map((p) => el('option', { value: p, text: p })));
    const out = el('div', { id: 'restore-result' });
    const button = el('button', { class: 'danger', id: 'restore-button', disabled: !allowed || record.outcome === 'running' || Boolean(record.prunedAt) }, 'Restore…');
    button.addEventListener('click', async () => {
      const body = which.value ? { period: which.value } : {};
      let dry;
      try {
        dry = await api(`/api/reruns/${enc}/restore`, { method: 'POST', body: { ...body, dryRun: true } });
      } catch (err) {
        return gflow.showError(out, err);
      }
      const table = el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ['task', 'period', 'games', 'rows put back (backed up)', 'rows in place now, replaced'].map((h) => el('th', { text: h })))),
        el('tbody', {}, dry.steps.map((s) => el('tr', {}, el('td', { text: s.task }), el('td', { text: s.period }), el('td', { text: s.games ? s.games.join(', ') : 'all' }), el('td', { class: 'num', text: s.putBack ?? '?' }), el('td', { class: 'num', text: s.replaced })))));
      const again = dry.restoredAt ? el('p', { class: 'warn', text: `restored already on ${fmt.time(dry.restoredAt)}: restoring again puts the same backups back` }) : null;
      if (!(await gflow.confirmBox(`Restore ${dry.steps.length} period(s) of ${id}?`, el('div', {}, el('p', { text: 'The report rows this rerun backed up are put back, period by period, latest first.' }), table, again), 'Restore', true))) return;
      let started;
      try {
        started = await api(`/api/reruns/${enc}/restore`, { method: 'POST', body });
      } catch (err) {
        return gflow.showError(out, err);
      }
      const text = el('span', { text: `restore ${started.restoreId}: running…` });
      const box = el('div', { class: 'progress', id: 'restore-progress' }, text, ' ', temporal(started.links.workflow, '↗'));
      clear(out, box, started.warnings.map((w) => el('div', { class: 'warn', text: w })));
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        let s;
        try {
          s = await api(`/api/reruns/${enc}/restore${body.period ? `?period=${encodeURIComponent(body.period)}` : ''}`);
        } catch (err) {
          text.textContent = `restore ${started.restoreId}: ${err.message}`;
          continue;
        }
        if (s.state === 'RUNNING' || s.state === 'NONE') continue;
        box.dataset.state = s.state;
        text.textContent = s.result ? `restore ${started.restoreId}: ${s.state.toLowerCase()}: ${s.result.periods} period(s), ${s.result.restored} rows put back, ${s.result.deleted} recomputed rows removed` : `restore ${started.restoreId}: ${s.state.toLowerCase()}`;
        break;
      }
      await loadRecord();
    });
    clear(restoreBox, el('div', { class: 'toolbar' }, el('label', {}, 'periods ', which), button, el('span', { class: 'small muted', text: 'puts back the rows this rerun backed up (gflow restore)' })), out);
  }

  if (await loadRecord()) {
    renderRestore();
    await Promise.all([loadDiff(), loadChecks()]);
    document.body.dataset.ready = '1';
    await followIfRunning();
    renderRestore();
  }
})();

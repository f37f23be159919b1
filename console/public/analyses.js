/*
 * Analyses: ask one of the jobs' analyses as a front end does (POST /api/analyses, then GET its id while it runs) and show the answer's JSON;
 * below, the ledger's recent computations (GET /api/analyses/recent, as gflow analyses lists them), refreshed after each answer.
 */
'use strict';
(async () => {
  const { el, api, clear, pill, temporal, fmt } = gflow;
  await gflow.nav('Analyses');
  const main = clear(document.getElementById('main'));
  const allowed = await gflow.actionsAllowed();
  const which = el('select', { name: 'analysis' });
  // Its labels are the form's own flex items.
  const fields = el('span', { id: 'analysis-params', style: 'display: contents' });
  const wait = el('input', { type: 'checkbox', name: 'wait', checked: true });
  const submit = el('button', { class: 'primary', type: 'submit', disabled: !allowed }, 'Ask');
  const form = el('form', { class: 'card toolbar', id: 'ask-form' }, el('label', {}, 'analysis ', which), fields, el('label', { title: 'wait for the answer (at most a minute), else poll it' }, wait, ' wait'), submit);
  const note = el('p', { class: 'muted', id: 'analysis-note' });
  const result = el('div', { id: 'ask-result' });
  const answer = el('pre', { id: 'answer', class: 'mono' });
  const recentAnalysis = el('select', { name: 'recent-analysis' }, el('option', { value: '', text: 'every analysis' }));
  const recentOutcome = el('select', { name: 'recent-outcome' }, ['', 'running', 'ok', 'failed'].map((o) => el('option', { value: o, text: o || 'any outcome' })));
  const recentForm = el('form', { class: 'toolbar', id: 'recent-form' }, recentAnalysis, recentOutcome, el('button', { type: 'submit' }, 'Refresh'));
  const recent = el('section', { id: 'recent' }, el('p', { class: 'muted', text: 'Loading…' }));
  main.append(el('h1', { text: 'Analyses' }), el('p', { class: 'muted', text: 'The questions the jobs answer on demand: from the cache, or computed on the slaves.' }), form, note, result, answer,
    el('h2', { text: 'Recent computations' }), el('p', { class: 'muted small', text: 'From the ledger, newest first (answers served from the cache compute nothing and are not listed).' }), recentForm, recent);

  let declared = [];
  try {
    declared = (await api('/api/analyses')).analyses;
  } catch (err) {
    gflow.showError(result, err);
  }
  for (const a of declared) {
    which.append(el('option', { value: a.name, text: a.name }));
    recentAnalysis.append(el('option', { value: a.name, text: a.name }));
  }
  const show = () => {
    const a = declared.find((x) => x.name === which.value);
    clear(fields, a ? a.params.map((p) => el('label', { title: p.expected }, `${p.name}${p.optional ? '?' : ''} `, el('input', { name: p.name, placeholder: p.expected, size: 16 }))) : []);
    note.textContent = a ? [a.description, a.days && `${a.days.from}..${a.days.to}: at most ${a.days.maxDays} days`, `cached ${a.cacheSeconds} s`].filter(Boolean).join(' · ') : 'no analyses: the jobs declare none';
  };
  which.addEventListener('change', show);
  show();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const params = {};
    for (const input of fields.querySelectorAll('input')) {
      input.classList.remove('error');
      if (input.value.trim()) params[input.name] = input.value.trim();
    }
    clear(result);
    answer.textContent = '';
    delete answer.dataset.status;
    try {
      let state = await api('/api/analyses', { method: 'POST', body: { analysis: which.value, params, wait: wait.checked } });
      while (state.status === 'running') {
        answer.textContent = JSON.stringify(state, null, 2);
        await new Promise((r) => setTimeout(r, 1000));
        state = await api(state.links.self);
      }
      answer.textContent = JSON.stringify(state, null, 2);
      answer.dataset.status = state.status;
      if (!state.answer || !state.answer.cached) await loadRecent();
    } catch (err) {
      const input = [...fields.querySelectorAll('input')].find((i) => i.name === err.field);
      if (input) input.classList.add('error');
      gflow.showError(result, err);
    }
  });

  /** `game=7,from=20261101,to=20261115,server=3-5`, as the request's id and gflow analyses show them. */
  const compact = (params) => Object.entries(params || {}).map(([k, v]) => `${k}=${v && typeof v === 'object' && 'from' in v ? `${v.from}-${v.to}` : typeof v === 'object' ? JSON.stringify(v) : v}`).join(',');
  const firstLine = (text) => {
    const line = String(text).split('\n', 1)[0];
    return line.length > 80 ? `${line.slice(0, 79)}…` : line;
  };

  async function loadRecent() {
    const query = new URLSearchParams({ limit: '50' });
    if (recentAnalysis.value) query.set('analysis', recentAnalysis.value);
    if (recentOutcome.value) query.set('outcome', recentOutcome.value);
    try {
      const { computations } = await api(`/api/analyses/recent?${query}`);
      if (computations.length === 0) return clear(recent, el('p', { class: 'muted', text: 'no computations recorded' }));
      clear(recent, el('div', { class: 'table-wrap' }, el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ['#', 'analysis', 'params', 'origin', 'started by', 'started', 'duration', 'outcome', 'provisional', 'error', 'Temporal'].map((h) => el('th', { text: h })))),
        el('tbody', {}, computations.map((c) => el('tr', { 'data-id': c.id },
          el('td', { class: 'num', text: c.id }), el('td', { text: `${c.job}.${c.analysis}` }), el('td', { class: 'mono', text: compact(c.params) || '-' }),
          el('td', { text: c.origin }), el('td', { text: c.startedBy || '-' }), el('td', { text: fmt.time(c.startedAt) }),
          el('td', { class: 'num', text: c.durationMs === undefined ? '-' : fmt.ms(c.durationMs) }), el('td', {}, pill(c.outcome)),
          el('td', { text: c.provisional === undefined ? '-' : c.provisional ? 'yes' : 'no' }),
          el('td', { class: c.error ? 'error' : '', title: c.error, text: c.error ? firstLine(c.error) : '-' }),
          el('td', {}, temporal(c.links.workflow, '↗'))))))));
    } catch (err) {
      gflow.showError(recent, err);
    }
  }
  recentForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void loadRecent();
  });
  await loadRecent();
  document.body.dataset.ready = '1';
})();

/* Reruns: the ledger's reruns and retries, and a form that starts one (dry run first, as gflow restart -d --dry-run). */
'use strict';
(async () => {
  const { el, api, clear, temporal, pill, fmt } = gflow;
  await gflow.nav('Reruns');
  const main = clear(document.getElementById('main'));
  const allowed = await gflow.actionsAllowed();
  const list = el('section', { id: 'reruns' }, el('p', { class: 'muted', text: 'Loading…' }));
  const result = el('div', { id: 'rerun-result' });

  const job = el('select', { name: 'job' });
  const tasks = el('input', { name: 'tasks', placeholder: 'all rerunnable tasks (or a,b)', size: 22 });
  const range = el('input', { name: 'range', placeholder: '20261101,20261114', size: 20, required: true });
  const games = el('input', { name: 'games', placeholder: 'all games (or 3,7)', size: 14 });
  const reason = el('input', { name: 'reason', placeholder: 'why (recorded in the ledger)', size: 28 });
  const submit = el('button', { class: 'primary', type: 'submit', disabled: !allowed }, 'Rerun…');
  const form = el('form', { class: 'card toolbar', id: 'rerun-form' },
    el('label', {}, 'job ', job), el('label', {}, 'tasks ', tasks), el('label', {}, 'periods ', range), el('label', {}, 'games ', games), el('label', {}, 'reason ', reason), submit);
  main.append(el('h1', { text: 'Reruns and retries' }), el('h2', { text: 'Rerun past periods' }), form, result, el('h2', { text: 'Reruns' }), list);

  try {
    const jobs = await api('/api/jobs');
    for (const j of jobs.jobs) if (j.tasks.some((t) => t.rerunnable)) job.append(el('option', { value: j.name, text: j.name }));
  } catch (err) {
    gflow.showError(result, err);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const split = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
    const body = {
      job: job.value,
      range: range.value.trim(),
      ...(tasks.value.trim() && { tasks: split(tasks.value) }),
      ...(games.value.trim() && { games: split(games.value).map(Number) }),
      ...(reason.value.trim() && { reason: reason.value.trim() }),
    };
    let dry;
    try {
      dry = await api('/api/reruns', { method: 'POST', body: { ...body, dryRun: true } });
    } catch (err) {
      return gflow.showError(result, err);
    }
    clear(result);
    const note = dry.waitsFor.length > 0 ? el('p', { class: 'warn', text: `it waits for the running rerun ${dry.waitsFor.join(', ')} where their periods overlap` }) : null;
    if (!(await gflow.confirmBox(`Rerun ${dry.periods} periods of ${body.job}?`, el('div', {}, gflow.impactTable(dry.impact), note), 'Start the rerun'))) return;
    try {
      const started = await api('/api/reruns', { method: 'POST', body });
      location.href = `/rerun?id=${encodeURIComponent(started.rerunId)}`;
    } catch (err) {
      gflow.showError(result, err);
    }
  });

  try {
    const data = await api('/api/reruns');
    const box = clear(list);
    if (data.reruns.length === 0) box.append(el('p', { class: 'muted', text: 'no reruns' }));
    else {
      box.append(el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ['rerun', 'kind', 'range', 'tasks', 'games', 'who', 'why', 'outcome', 'started', 'restored', 'Temporal'].map((h) => el('th', { text: h })))),
        el('tbody', {}, data.reruns.map((r) => el('tr', { 'data-rerun': r.rerunId },
          el('td', { class: 'mono' }, el('a', { href: `/rerun?id=${encodeURIComponent(r.rerunId)}`, text: r.rerunId })),
          el('td', { text: r.kind }), el('td', { text: r.range || '-' }), el('td', { text: r.tasks.join(', ') || '-' }),
          el('td', { text: r.cells !== undefined ? `${r.cells} cells` : r.games ? r.games.join(', ') : 'all' }),
          el('td', { text: r.startedBy || '-' }), el('td', { text: r.reason || '-' }),
          el('td', {}, pill(r.outcome), r.prunedAt ? el('span', { class: 'muted', text: ' pruned' }) : null),
          el('td', { text: fmt.time(r.startedAt) }), el('td', { text: fmt.time(r.restoredAt) || '-' }),
          el('td', {}, temporal(r.links.workflow, '↗')))))));
    }
  } catch (err) {
    gflow.showError(list, err);
  }
  document.body.dataset.ready = '1';
})();

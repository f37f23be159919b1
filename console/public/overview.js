/* Overview: jobs and tasks (schedules, next fire times, last runs), live slaves, alerts of the last day. */
'use strict';
(async () => {
  const { el, api, clear, temporal, pill, fmt } = gflow;
  await gflow.nav('Overview');
  const main = clear(document.getElementById('main'));
  const allowed = await gflow.actionsAllowed();
  const jobsBox = el('section', { id: 'jobs' }, el('p', { class: 'muted', text: 'Loading jobs…' }));
  const slavesBox = el('section', { id: 'slaves' }, el('p', { class: 'muted', text: 'Loading slaves…' }));
  const alertsBox = el('section', { id: 'alerts' }, el('p', { class: 'muted', text: 'Loading alerts…' }));
  const infoBox = el('section', { id: 'installation' });
  main.append(el('h1', { text: 'Overview' }), el('h2', { text: 'Alerts of the last day' }), alertsBox, el('h2', { text: 'Jobs and tasks' }), jobsBox, el('h2', { text: 'Live slaves' }), slavesBox, el('h2', { text: 'Installation' }), infoBox);

  const act = async (job, verb, now) => {
    const body = el('p', { text: `${verb} every task of ${job}${now ? ', and fire the schedules now' : ''}? (as gflow ${verb} ${job}${now ? ' --now' : ''})` });
    if (!(await gflow.confirmBox(`${verb} ${job}`, body, verb, verb === 'stop'))) return;
    const out = document.getElementById(`job-result-${job}`);
    try {
      const r = await api(`/api/jobs/${encodeURIComponent(job)}/${verb}`, { method: 'POST', body: { now: Boolean(now) } });
      clear(out, 
        el('table', { class: 'grid small' }, el('tbody', {}, r.actions.map((a) => el('tr', {}, el('td', { text: a.task }), el('td', { text: a.action }), el('td', { class: 'mono', text: a.id }))))),
        r.warnings.map((w) => el('div', { class: 'warn', text: w })),
      );
      await loadJobs();
    } catch (err) {
      gflow.showError(out, err);
    }
  };

  async function loadJobs() {
    try {
      const data = await api('/api/jobs');
      const box = clear(jobsBox);
      if (!data.temporal.ok) box.append(el('p', { class: 'warn', text: `Temporal: ${data.temporal.reason} (schedules and running runs unknown; the ledger's last runs still show)` }));
      if (data.jobs.length === 0) box.append(el('p', { class: 'muted', text: 'no jobs in the jobs folder' }));
      for (const job of data.jobs) {
        const rows = job.tasks.map((t) => {
          const name = t.kind === 'calendar' ? el('a', { href: `/task?job=${encodeURIComponent(job.name)}&task=${encodeURIComponent(t.task)}`, text: t.task }) : el('span', { text: t.task });
          const last = t.last;
          return el('tr', { 'data-task': `${job.name}.${t.task}` },
            el('td', {}, name),
            el('td', { text: t.when }),
            el('td', {}, t.schedule ? [pill(t.schedule.state.replace(' ', '_')), ' ', t.schedule.nextRuns[0] ? el('span', { class: 'small muted', text: `next ${fmt.time(t.schedule.nextRuns[0])}` }) : null] : el('span', { class: 'muted', text: t.kind === 'once' ? 'once' : '?' })),
            el('td', { text: t.running.map((r) => r.period || r.id).join(', ') || '-' }),
            el('td', {}, last ? [el('span', { text: `${last.period} ` }), pill(last.outcome), el('span', { class: 'small muted', text: ` ${last.itemsOk}/${last.itemsTotal} ok` })] : '-'),
            el('td', {}, last ? [last.error ? el('div', { class: 'error small', text: last.error }) : null, last.failed.map((f) => el('div', { class: 'small' }, el('b', { text: f.label }), ': ', el('span', { class: 'error', text: f.error })))] : null),
            el('td', {}, t.lastRerun ? [el('span', { text: `${t.lastRerun.period} ` }), pill(t.lastRerun.outcome)] : '-'),
            el('td', {}, temporal(t.links.runs, 'runs ↗'), t.links.schedule ? [' ', temporal(t.links.schedule, 'schedule ↗')] : null),
          );
        });
        box.append(el('div', { class: 'card job', 'data-job': job.name },
          el('div', { class: 'toolbar' },
            el('h2', { style: 'margin:0', text: job.name }),
            temporal(job.links.runs, 'runs of the job ↗'),
            el('span', { class: 'spacer', style: 'flex:1' }),
            ['start', 'stop', 'restart'].map((verb) => el('button', { disabled: !allowed, 'data-action': verb, onclick: () => act(job.name, verb, false) }, verb)),
            el('button', { disabled: !allowed, 'data-action': 'start-now', onclick: () => act(job.name, 'start', true) }, 'start --now')),
          el('table', { class: 'grid' },
            el('thead', {}, el('tr', {}, ['task', 'when', 'schedule', 'running', 'last run', 'failed games', 'last rerun', 'Temporal'].map((h) => el('th', { text: h })))),
            el('tbody', {}, rows)),
          el('div', { id: `job-result-${job.name}` })));
      }
    } catch (err) {
      gflow.showError(jobsBox, err);
    }
  }

  async function loadSlaves() {
    try {
      const data = await api('/api/slaves');
      const box = clear(slavesBox);
      if (!data.temporal.ok) return box.append(el('p', { class: 'warn', text: `Temporal: ${data.temporal.reason}` }));
      if (data.slaves.length === 0) return box.append(el('p', { class: 'muted', text: 'no live slaves (start one with gflow slave start --slave <name>, or gflow worker --slave <name> in the foreground)' }));
      box.append(el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ['slave', 'pid', 'code version', 'queues', 'last contact'].map((h) => el('th', { text: h })))),
        el('tbody', {}, data.slaves.map((s) => el('tr', { class: s.versionWarning ? 'highlight' : '' },
          el('td', { text: s.slave }), el('td', { text: s.pid ?? '-' }),
          el('td', { class: 'mono' }, `${s.buildId ?? '?'}`, s.versionWarning ? el('span', { class: 'error', title: s.versionWarning, text: ' !' }) : null),
          el('td', { class: 'small', text: s.queues.join(', ') }), el('td', { text: fmt.time(s.lastContact) }))))));
      const flagged = data.slaves.filter((s) => s.versionWarning);
      if (flagged.length > 0) for (const s of flagged) box.append(el('p', { class: 'error', text: `warning: slave ${s.slave} (pid ${s.pid ?? '?'}) ${s.versionWarning}` }));
      else box.append(el('p', { class: 'muted', text: `all slaves run this checkout's code (${data.buildId})` }));
    } catch (err) {
      gflow.showError(slavesBox, err);
    }
  }

  async function loadAlerts() {
    try {
      const data = await api('/api/incidents');
      const box = clear(alertsBox);
      if (data.incidents.length === 0) return box.append(el('p', { class: 'muted', text: `no incidents in the last ${data.hours} hours` }));
      box.append(el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ['when', 'task', 'period', 'incident', 'what', 'games', 'Temporal'].map((h) => el('th', { text: h })))),
        el('tbody', {}, data.incidents.map((i) => el('tr', { 'data-incident': `${i.runId}:${i.kind}` },
          el('td', { text: fmt.time(i.at) }),
          el('td', {}, el('a', { href: `/task?job=${encodeURIComponent(i.job)}&task=${encodeURIComponent(i.task)}`, text: `${i.job}.${i.task}` })),
          el('td', { text: i.period }),
          el('td', {}, pill(i.outcome), ' ', el('span', { class: 'small', text: i.kind })),
          el('td', { text: i.summary }),
          el('td', { class: 'small' }, i.games.slice(0, 10).map((g) => el('div', {}, el('b', { text: g.label }), ': ', el('span', { class: 'error', text: g.error }))), i.gameCount > 10 ? el('div', { class: 'muted', text: `and ${i.gameCount - 10} more` }) : null),
          el('td', {}, temporal(i.links.run, 'run ↗'), i.rerunId ? [' ', el('a', { href: `/rerun?id=${encodeURIComponent(i.rerunId)}`, text: 'rerun' })] : null))))));
    } catch (err) {
      gflow.showError(alertsBox, err);
    }
  }

  async function loadInfo() {
    const i = await gflow.info();
    const kv = el('dl', { class: 'kv card' });
    for (const [k, v] of [['prefix', i.prefix], ['time zone', i.tz], ['Temporal', `${i.temporal.address} (namespace ${i.temporal.namespace})`], ['Temporal web UI', i.temporal.ui], ['Redis', i.redis], ['MySQL', i.mysql], ['jobs folder', i.jobsDir], ['actions', i.actions.note], ['gflow', i.version]]) kv.append(el('dt', { text: k }), el('dd', { text: v }));
    infoBox.append(kv);
  }

  await Promise.all([loadJobs(), loadAlerts(), loadSlaves(), loadInfo()]);
  document.body.dataset.ready = '1';
})();

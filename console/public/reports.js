/*
 * Reports: per game and date range, the report job's figures as charts
 * (Apache ECharts, served by the console itself), several games side by
 * side, the same data as tables and as CSV. Charts render as SVG and their
 * tooltips as rich text inside the chart, so a game's name is never HTML.
 */
'use strict';
(async () => {
  const { el, api, clear, temporal, fmt } = gflow;
  await gflow.nav('Reports');
  const main = clear(document.getElementById('main'));
  const q = gflow.params();

  const pick = el('div', { class: 'games-pick', id: 'games' });
  const iso = (k) => (k ? `${k.slice(0, 4)}-${k.slice(4, 6)}-${k.slice(6, 8)}` : '');
  const from = el('input', { type: 'date', name: 'from', value: iso(q.get('from')) });
  const to = el('input', { type: 'date', name: 'to', value: iso(q.get('to')) });
  const links = el('span', { class: 'toolbar', id: 'downloads' });
  const form = el('form', { class: 'card' }, el('div', { class: 'toolbar' }, el('label', {}, 'from ', from), el('label', {}, 'to ', to), el('button', { class: 'primary', type: 'submit' }, 'Show'), links), pick);
  const charts = el('section', { class: 'charts', id: 'charts' });
  const tables = el('section', { id: 'tables' });
  const note = el('p', { class: 'muted small' });
  main.append(el('h1', { text: 'Reports' }), form, note, charts, tables);

  const wanted = new Set((q.get('games') || '').split(',').filter(Boolean).map(Number));
  let games = [];
  try {
    games = (await api('/api/games')).games.filter((g) => g.enabled || wanted.has(g.id));
  } catch (err) {
    gflow.showError(note, err);
  }
  for (const [i, g] of games.entries()) {
    pick.append(el('label', { class: 'small' }, el('input', { type: 'checkbox', name: 'game', value: g.id, checked: wanted.size === 0 ? i < 5 : wanted.has(g.id) }), `${g.id} · ${g.name}`));
  }

  const instances = [];
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load(true);
  });

  async function load(push) {
    const chosen = [...pick.querySelectorAll('input[name=game]:checked')].map((i) => i.value);
    const qs = new URLSearchParams({ ...(chosen.length && { games: chosen.join(',') }), ...(from.value && { from: from.value.replaceAll('-', '') }), ...(to.value && { to: to.value.replaceAll('-', '') }) });
    if (push) history.replaceState(null, '', `/reports?${qs}`);
    let d;
    try {
      d = await api(`/api/reports?${qs}`);
    } catch (err) {
      return gflow.showError(charts, err);
    }
    from.value = iso(d.from);
    to.value = iso(d.to);
    const csv = (kind) => `/api/reports.csv?${new URLSearchParams({ ...Object.fromEntries(qs), from: d.from, to: d.to, kind })}`;
    clear(links, 
      el('a', { href: csv('daily'), id: 'csv-daily', download: `gflow-daily-${d.from}-${d.to}.csv` }, 'CSV: daily figures'),
      el('a', { href: csv('retention'), id: 'csv-retention', download: `gflow-retention-${d.from}-${d.to}.csv` }, 'CSV: retention'),
      temporal(d.links.runs, 'report runs ↗'));
    note.textContent = `${d.games.length} games, ${d.days.length} days (${iso(d.from)} .. ${iso(d.to)}): ${d.daily.length} game-days, ${d.cohorts.length} cohorts`;
    draw(d);
    tabulate(d);
    document.body.dataset.ready = '1';
  }

  function draw(d) {
    for (const c of instances.splice(0)) c.dispose();
    clear(charts);
    const byGame = new Map(d.games.map((g) => [g.id, new Map()]));
    for (const r of d.daily) byGame.get(r.game)?.set(r.day, r);
    const seriesOf = (metric, type) => d.games.map((g) => ({
      name: `${g.id} · ${g.name}`,
      type: type || 'line',
      showSymbol: d.days.length < 40,
      connectNulls: false,
      data: d.days.map((day) => { const r = byGame.get(g.id).get(day); return r ? r[metric] : null; }),
    }));
    const axisChart = (id, title, series, yFormat) => chart(id, title, {
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 56, right: 16, top: 16, bottom: 48 },
      xAxis: { type: 'category', data: d.days, axisLabel: { formatter: (v) => v.slice(5) } },
      yAxis: { type: 'value', axisLabel: yFormat ? { formatter: yFormat } : {} },
      series,
    });
    axisChart('dau', 'Daily active users (DAU)', seriesOf('dau'));
    axisChart('wau', 'Weekly active users (WAU)', seriesOf('wau'));
    axisChart('mau', 'Monthly active users (MAU)', seriesOf('mau'));
    axisChart('new', 'New users', seriesOf('newUsers', 'bar'));
    axisChart('pcu', 'Peak concurrent users (PCU)', seriesOf('pcu'));
    axisChart('acu', 'Average concurrent users (ACU)', seriesOf('acu'));
    axisChart('revenue', 'Revenue', seriesOf('revenue', 'bar'));
    axisChart('payers', 'Payers', seriesOf('payers', 'bar'));
    axisChart('payrate', 'Pay rate', seriesOf('payRate'), (v) => `${(v * 100).toFixed(1)}%`);
    axisChart('arpu', 'ARPU (revenue per active user)', seriesOf('arpu'));
    axisChart('arppu', 'ARPPU (revenue per paying user)', seriesOf('arppu'));

    // Retention curves: per game, the share of a cohort back on day N, over the cohorts that have dN.
    const dn = d.retentionDays;
    chart('retention-curves', 'Retention curves (mean share of new users back on day N)', {
      tooltip: { trigger: 'axis', renderMode: 'richText', valueFormatter: (v) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`) },
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 56, right: 16, top: 16, bottom: 48 },
      xAxis: { type: 'category', data: dn.map((n) => `d${n}`) },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
      series: d.games.map((g) => ({
        name: `${g.id} · ${g.name}`,
        type: 'line',
        data: dn.map((n) => {
          const shares = d.cohorts.filter((c) => c.game === g.id && c.newUsers > 0 && c.retained[n] !== null).map((c) => c.retained[n] / c.newUsers);
          return shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : null;
        }),
      })),
    });
    // One cohort heatmap per game: cohort day × dN, the share back.
    for (const g of d.games) {
      const cohorts = d.cohorts.filter((c) => c.game === g.id);
      const cells = [];
      cohorts.forEach((c, y) => dn.forEach((n, x) => { if (c.retained[n] !== null && c.newUsers > 0) cells.push([x, y, Math.round((c.retained[n] / c.newUsers) * 1000) / 10]); }));
      chart(`heatmap-${g.id}`, `Retention cohorts of ${g.id} · ${g.name} (% back on day N)`, {
        tooltip: { renderMode: 'richText' },
        grid: { left: 80, right: 64, top: 16, bottom: 28 },
        xAxis: { type: 'category', data: dn.map((n) => `d${n}`), splitArea: { show: true } },
        yAxis: { type: 'category', data: cohorts.map((c) => c.cohortDay), inverse: true, splitArea: { show: true } },
        visualMap: { min: 0, max: Math.max(1, ...cells.map((c) => c[2])), calculable: false, orient: 'vertical', right: 4, top: 'middle', itemHeight: 140, itemWidth: 12, precision: 0 },
        series: [{ name: `${g.id} · ${g.name}`, type: 'heatmap', data: cells, label: { show: cohorts.length <= 16, fontSize: 10 } }],
      });
    }
  }

  function chart(id, title, option) {
    const box = el('div', { class: 'chart', id: `chart-${id}`, 'data-chart': id });
    charts.append(el('div', { class: 'chart-card' }, el('h3', { text: title }), box));
    const c = echarts.init(box, null, { renderer: 'svg' });
    c.setOption({ animation: false, ...option });
    instances.push(c);
  }

  function tabulate(d) {
    const name = new Map(d.games.map((g) => [g.id, g.name]));
    const cols = [['dau', 0], ['wau', 0], ['mau', 0], ['newUsers', 0], ['pcu', 0], ['acu', 1], ['payers', 0], ['revenue', 2], ['payRate', -1], ['arpu', 3], ['arppu', 2]];
    clear(tables, 
      el('h2', { text: 'Daily figures' }),
      el('div', { class: 'table-wrap' }, el('table', { class: 'grid', id: 'daily-table' },
        el('thead', {}, el('tr', {}, ['game', 'day', 'dau', 'wau', 'mau', 'new', 'pcu', 'acu', 'payers', 'revenue', 'pay rate', 'arpu', 'arppu'].map((h, i) => el('th', { class: i > 1 ? 'num' : '', text: h })))),
        el('tbody', {}, d.daily.map((r) => el('tr', {}, el('td', { text: `${r.game} · ${name.get(r.game) ?? ''}` }), el('td', { text: r.day }), cols.map(([c, digits]) => el('td', { class: 'num', text: digits < 0 ? fmt.pct(r[c]) : fmt.n(r[c], digits) }))))))),
      el('h2', { text: 'Retention: share of each day\'s new players back N days later' }),
      el('div', { class: 'table-wrap' }, el('table', { class: 'grid', id: 'retention-table' },
        el('thead', {}, el('tr', {}, ['game', 'cohort', 'new', ...d.retentionDays.map((n) => `d${n}`)].map((h) => el('th', { text: h })))),
        el('tbody', {}, d.cohorts.map((c) => el('tr', {}, el('td', { text: `${c.game} · ${name.get(c.game) ?? ''}` }), el('td', { text: c.cohortDay }), el('td', { class: 'num', text: c.newUsers }),
          d.retentionDays.map((n) => el('td', { class: 'num', text: c.retained[n] === null || c.newUsers === 0 ? '' : fmt.pct(c.retained[n] / c.newUsers) }))))))));
  }

  await load(false);
})();

/* Analyses: ask one of the jobs' analyses as a front end does (POST /api/analyses, then GET its id while it runs) and show the answer's JSON. */
'use strict';
(async () => {
  const { el, api, clear } = gflow;
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
  main.append(el('h1', { text: 'Analyses' }), el('p', { class: 'muted', text: 'The questions the jobs answer on demand: from the cache, or computed on the slaves.' }), form, note, result, answer);

  let declared = [];
  try {
    declared = (await api('/api/analyses')).analyses;
  } catch (err) {
    gflow.showError(result, err);
  }
  for (const a of declared) which.append(el('option', { value: a.name, text: a.name }));
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
    } catch (err) {
      const input = [...fields.querySelectorAll('input')].find((i) => i.name === err.field);
      if (input) input.classList.add('error');
      gflow.showError(result, err);
    }
  });
  document.body.dataset.ready = '1';
})();

/**
 * Analyses over the console's HTTP API, against a real dev server, slave,
 * Redis and MariaDB, with the fixture job test/fixtures/jobs/ask: the
 * answer (waited for, from the cache, polled after a 202, asked as the CLI
 * does, or from the Analyses page in headless Chromium) equals the figures
 * this test counts from what it put in Redis; the second identical request
 * is served from the cache without a second workflow or ledger row; bad
 * requests are 400s naming the field and start nothing; asking needs the
 * token once one is set, reading does not; an unknown id is a 404; a
 * compute that throws is a failed request with its error; a cached answer
 * is served while Temporal is down; the ledger's recent computations are
 * listed over GET /api/analyses/recent and on the page, their text escaped.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { RowDataPacket } from 'mysql2/promise';
import { chromium } from 'playwright-core';
import { ask, prepareAsk } from '../../client/analyses';
import { loadJobs } from '../../infra/jobs';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import { setConfig } from '../../store/config/runtime-config';
import { closeAnalysis, openAnalysis, type LedgerAnalysis } from '../../store/ledger/analyses';
import { startConsole, type RunningConsole } from '../../console/server';
import { withSlaves } from '../helpers/slaves';
import { startStack, stopStack, type TestStack } from '../helpers/stack';
import { until } from '../helpers/until';

const ASK_JOBS = resolve(__dirname, '../fixtures/jobs/ask');
const TOKEN = 'analyses-test-token-0123456789';
const CHROMIUM = process.env.GFLOW_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = resolve(__dirname, '../../test-artifacts/console');
const GAME = 7;
/** Markup in data the recent computations show: it must stay text. */
const XSS = '<img src=x onerror=alert(1)>';
/** Who was seen on which day: the Redis sets the fixture's `ask.users` counts. */
const SEEN: Readonly<Record<string, readonly string[]>> = {
  '20261101': ['u1', 'u2', 'u3'],
  '20261102': ['u2', 'u4'],
  '20261103': [],
  '20261104': ['u1', 'u5', 'u6', 'u7'],
  '20261105': ['u8', 'u2'],
};

let stack: TestStack;
let consoleServer: RunningConsole;
const mysql = () => getMysql(stack.config.mysqlUrl);
const redis = () => getRedis(stack.config.redisUrl);

/** The figures `ask.users` should answer, counted here from {@link SEEN}. */
function expected(from: string, to: string) {
  const days = Object.keys(SEEN).filter((d) => d >= from && d <= to);
  return { users: new Set(days.flatMap((d) => SEEN[d]!)).size, days: Object.fromEntries(days.map((day) => [day, new Set(SEEN[day]).size])) };
}

interface Response {
  readonly status: number;
  readonly location: string | null;
  readonly body: Record<string, unknown> & { error?: string; field?: string | null; id?: string; status?: string; answer?: { id: string; result: unknown; cached: boolean; provisional: boolean } };
}

async function call(base: string, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const res = await fetch(new URL(path, base), { method, headers: options.headers ?? {}, ...(options.body !== undefined && { body: options.body }) });
  const text = await res.text();
  return { status: res.status, location: res.headers.get('location'), body: text.startsWith('{') ? (JSON.parse(text) as Response['body']) : { error: text } };
}

const ACTION = { 'content-type': 'application/json', 'x-gflow-console': '1' };
const post = (body: unknown, { base = consoleServer.url, headers = ACTION as Record<string, string> } = {}) =>
  call(base, 'POST', '/api/analyses', { body: typeof body === 'string' ? body : JSON.stringify(body), headers });
const get = (path: string, base = consoleServer.url) => call(base, 'GET', path);

const users = (from: string, to: string) => ({ analysis: 'ask.users', params: { game: GAME, from, to } });
const idOf = (readable: string) => `${stack.config.prefix}.ask.users.ask.${readable}`;

async function ledgerRows(workflowId?: string): Promise<RowDataPacket[]> {
  const [rows] = await mysql().query<RowDataPacket[]>(
    `SELECT workflow_id, origin, started_by, outcome, error FROM \`${stack.names.schema('meta')}\`.ledger_analyses ${workflowId === undefined ? '' : 'WHERE workflow_id = ?'} ORDER BY id`,
    workflowId === undefined ? [] : [workflowId],
  );
  return rows;
}

/** Whether Temporal has a workflow `id` (describe is strongly consistent, unlike a visibility list). */
async function exists(id: string): Promise<boolean> {
  try {
    await stack.env.client.workflow.getHandle(id).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

before(async () => {
  stack = await startStack({ jobsDir: ASK_JOBS }, { games: [GAME] });
  for (const [day, seen] of Object.entries(SEEN)) {
    if (seen.length > 0) await redis().sadd(stack.names.redisKey('ask', GAME, day), ...seen);
  }
  consoleServer = await startConsole(stack.config, { host: '127.0.0.1', port: 0 });
});

after(async () => {
  await consoleServer?.close();
  await stopStack(stack);
});

describe('analyses over the console API', { timeout: 300_000 }, () => {
  test('GET /api/analyses lists what the jobs declare, with each parameter’s type and optionality', async () => {
    const res = await get('/api/analyses');
    assert.equal(res.status, 200);
    const analyses = res.body.analyses as Array<{ name: string; description: string | null; params: Array<{ name: string; kind: string; expected: string; optional: boolean }>; days: { from: string; to: string; maxDays: number } | null; cacheSeconds: number; precompute: { atExecute: string } | null }>;
    assert.deepEqual(analyses.map((a) => a.name), ['ask.users', 'ask.fails', 'ask.gated']);
    const [u, f] = analyses;
    assert.equal(u!.description, 'users seen, per day and in all');
    assert.deepEqual(u!.params.map((p) => [p.name, p.kind, p.optional]), [['game', 'game', false], ['from', 'day', false], ['to', 'day', false]]);
    assert.match(u!.params[1]!.expected, /YYYYMMDD/);
    assert.deepEqual(u!.days, { from: 'from', to: 'to', maxDays: 92 });
    assert.equal(u!.cacheSeconds, 3600);
    assert.deepEqual(u!.precompute, { atExecute: 'd6H0' });
    assert.deepEqual([f!.days, f!.precompute], [null, null]);
  });

  test('POST with wait: computed, equal to the figures counted here; the same request again: from the cache, no second workflow', async () => {
    const id = idOf('game=7,from=20261101,to=20261105');
    const want = expected('20261101', '20261105');
    await withSlaves(stack.config, ['s1'], async () => {
      const first = await post({ ...users('20261101', '20261105'), wait: true });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.id, id);
      assert.equal(first.body.status, 'done');
      assert.deepEqual(first.body.answer!.result, want);
      assert.equal(first.body.answer!.cached, false);
      assert.equal(first.body.answer!.provisional, false);
    });
    const run = (await stack.env.client.workflow.getHandle(id).describe()).runId;
    const rows = await ledgerRows(id);
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]!.origin, rows[0]!.outcome], ['http', 'ok']);
    assert.match(rows[0]!.started_by, / via console$/);

    // The same question (parameters in another order, the game as text), with no slave running: from the cache.
    const again = await post({ analysis: 'ask.users', params: { to: '20261105', from: '20261101', game: '7' }, wait: true });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.id, id);
    assert.equal(again.body.answer!.cached, true);
    assert.deepEqual(again.body.answer!.result, want);
    assert.equal((await stack.env.client.workflow.getHandle(id).describe()).runId, run, 'no new run of the workflow');
    assert.equal((await ledgerRows(id)).length, 1, 'no new computation in the ledger');

    // GET by id, and the CLI's way of asking: the same answer.
    const byId = await get(`/api/analyses/${encodeURIComponent(id)}`);
    assert.equal(byId.status, 200);
    assert.equal(byId.body.status, 'done');
    assert.deepEqual(byId.body.answer!.result, want);
    const deps = { config: stack.config, registry: loadJobs(ASK_JOBS), redis: redis() };
    const cli = await ask(stack.env.client, deps, await prepareAsk(deps, 'ask.users', { game: '7', from: '20261101', to: '20261105' }), { origin: 'cli', wait: true });
    assert.equal(cli.status, 'done');
    assert.deepEqual(cli.status === 'done' && cli.answer.result, want);
  });

  test('POST without wait: 202 and a Location; GET says running, then done once a slave has computed it', async () => {
    // No slave runs yet: the request is certainly still running when answered.
    const accepted = await post(users('20261102', '20261104'));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal(accepted.body.status, 'running');
    const id = idOf('game=7,from=20261102,to=20261104');
    assert.equal(accepted.body.id, id);
    assert.equal(accepted.location, `/api/analyses/${encodeURIComponent(id)}`);
    assert.equal((accepted.body.links as { self: string }).self, accepted.location);
    const running = await get(accepted.location!);
    assert.deepEqual([running.status, running.body.status], [200, 'running']);
    // The same request while it runs joins it.
    const joined = await post(users('20261102', '20261104'));
    assert.deepEqual([joined.status, joined.body.id], [202, id]);

    const done = await withSlaves(stack.config, ['s1'], () =>
      until('the analysis to be answered', async () => {
        const res = await get(accepted.location!);
        return res.body.status === 'running' ? undefined : res;
      }),
    );
    assert.equal(done.status, 200);
    assert.equal(done.body.status, 'done', JSON.stringify(done.body));
    assert.deepEqual(done.body.answer!.result, expected('20261102', '20261104'));
    assert.equal((await ledgerRows(id)).length, 1, 'computed once for both requests');
  });

  test('bad requests: 400 naming the field, and nothing started', async () => {
    const before = (await ledgerRows()).length;
    const refused = async (body: unknown, field: string, error?: RegExp) => {
      const res = await post(body);
      assert.deepEqual([res.status, res.body.field], [400, field], `${typeof body === 'string' ? body : JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      if (error) assert.match(res.body.error ?? '', error);
    };
    await withSlaves(stack.config, ['s1'], async () => {
      await refused({ analysis: 'ask.nope', params: {} }, 'analysis', /unknown analysis "ask\.nope"; known: ask\.users, ask\.fails, ask\.gated/);
      await refused({ analysis: 'nope', params: {} }, 'analysis');
      await refused({ params: { game: GAME } }, 'analysis');
      await refused({ analysis: 'ask.users', params: { game: GAME, from: '20261101' } }, 'to', /parameter to is missing: expected a day as YYYYMMDD/);
      await refused({ analysis: 'ask.users', params: { game: 'seven', from: '20261101', to: '20261102' } }, 'game', /expected a game id/);
      await refused({ analysis: 'ask.users', params: { game: GAME, from: '2026-11-01', to: '20261102' } }, 'from');
      await refused({ analysis: 'ask.users', params: { game: 0, from: '20261101', to: '20261102' } }, 'game');
      await refused({ analysis: 'ask.users', params: { game: GAME + 1, from: '20261101', to: '20261102' } }, 'game', /no such game in the games registry/);
      await refused({ analysis: 'ask.users', params: { game: GAME, from: '20261101', to: '20261102', region: 'eu' } }, 'region', /unknown parameter "region"/);
      await refused({ analysis: 'ask.users', params: { game: GAME, from: '20261103', to: '20261101' } }, 'to', /is before from/);
      await refused({ analysis: 'ask.users', params: [GAME] }, 'params');
      await refused({ ...users('20261101', '20261102'), extra: 1 }, 'extra', /unknown field extra/);
      await refused({ ...users('20261101', '20261102'), wait: 'yes' }, 'wait');
      await refused('this is not JSON', 'body', /not valid JSON/);
      await refused('[1, 2]', 'body');
      await refused('"report.retention"', 'body');

      // Over the installation's cap (a runtime setting), even for a range whose answer is cached.
      await setConfig(redis(), stack.names, 'analyses.maxDays', '3');
      try {
        await refused(users('20261110', '20261115'), 'to', /covers 6 days; at most 3/);
        await refused(users('20261101', '20261105'), 'to', /covers 5 days; at most 3/);
        assert.equal((await post(users('20261101', '20261103'))).status, 202, 'three days are within the cap');
      } finally {
        await setConfig(redis(), stack.names, 'analyses.maxDays', '92');
      }
    });
    assert.equal(await exists(idOf('game=7,from=20261110,to=20261115')), false, 'no workflow for the refused range');
    assert.equal(await exists(idOf('game=7,from=20261101,to=20261102')), false, 'no workflow for the requests refused for their body');
    const rows = await ledgerRows();
    assert.deepEqual(rows.slice(before).map((r) => r.workflow_id).filter((w) => w !== idOf('game=7,from=20261101,to=20261103')), [], 'nothing computed but the accepted request');
  });

  test('a compute that throws: a failed request with its error, over POST and GET', async () => {
    const id = `${stack.config.prefix}.ask.fails.ask.game=7`;
    const failed = await withSlaves(stack.config, ['s1'], () => post({ analysis: 'ask.fails', params: { game: GAME }, wait: true }));
    assert.equal(failed.status, 200, JSON.stringify(failed.body));
    assert.deepEqual([failed.body.id, failed.body.status], [id, 'failed']);
    assert.match(String(failed.body.error), /the source of game 7 is unreachable/);
    const byId = await get(`/api/analyses/${encodeURIComponent(id)}`);
    assert.deepEqual([byId.status, byId.body.status, byId.body.error], [200, 'failed', failed.body.error]);
    const rows = await ledgerRows(id);
    assert.ok(rows.length >= 1 && rows.every((r) => r.outcome === 'failed' && /unreachable/.test(r.error)), JSON.stringify(rows));
  });

  test('GET of an id that is no analysis of this installation: 404', async () => {
    const unknown = await get(`/api/analyses/${encodeURIComponent(idOf('game=9,from=20261101,to=20261101'))}`);
    assert.deepEqual([unknown.status, unknown.body.field], [404, 'id']);
    const elsewhere = await get('/api/analyses/other.ask.users.ask.game=7');
    assert.deepEqual([elsewhere.status, elsewhere.body.field], [404, 'id']);
    // An id longer than the router's default limit on a parameter (100) still reaches the route.
    const long = await get(`/api/analyses/${encodeURIComponent(idOf(`game=7,${'x'.repeat(200)}`))}`);
    assert.deepEqual([long.status, long.body.field], [404, 'id']);
    // A workflow of this installation that is not an analysis.
    const other = `${stack.config.prefix}.not-an-analysis`;
    const handle = await stack.env.client.workflow.start('taskRun', { workflowId: other, taskQueue: `${stack.config.prefix}-nobody`, args: [] });
    try {
      const res = await get(`/api/analyses/${encodeURIComponent(other)}`);
      assert.deepEqual([res.status, res.body.field], [404, 'id']);
    } finally {
      await handle.terminate();
    }
  });

  test('asking needs the token once one is set (reading does not); beyond loopback without one, it is refused', async () => {
    const guarded = await startConsole({ ...stack.config, consoleToken: TOKEN }, { host: '127.0.0.1', port: 0 });
    try {
      const asking = (headers: Record<string, string>) => post(users('20261101', '20261105'), { base: guarded.url, headers });
      const none = await asking(ACTION);
      assert.deepEqual([none.status, none.body.field], [401, 'token']);
      const wrong = await asking({ ...ACTION, authorization: 'Bearer not-the-token-at-all' });
      assert.deepEqual([wrong.status, wrong.body.error], [401, 'the console token is wrong']);
      const noHeader = await asking({ 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` });
      assert.deepEqual([noHeader.status, noHeader.body.field], [403, 'X-Gflow-Console']);
      const form = await post('analysis=ask.users', { base: guarded.url, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-gflow-console': '1', authorization: `Bearer ${TOKEN}` } });
      assert.deepEqual([form.status, form.body.field], [415, 'Content-Type']);
      const crossSite = await asking({ ...ACTION, authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site' });
      assert.deepEqual([crossSite.status, crossSite.body.field], [403, 'Sec-Fetch-Site']);
      const right = await asking({ ...ACTION, authorization: `Bearer ${TOKEN}` });
      assert.equal(right.status, 200, JSON.stringify(right.body));
      assert.equal(right.body.answer!.cached, true);
      assert.deepEqual(right.body.answer!.result, expected('20261101', '20261105'));
      const read = await get(`/api/analyses/${encodeURIComponent(right.body.id!)}`, guarded.url);
      assert.deepEqual([read.status, read.body.status], [200, 'done']);
      assert.equal((await get('/api/analyses', guarded.url)).status, 200);
    } finally {
      await guarded.close();
    }
    const readOnly = await startConsole(stack.config, { host: '0.0.0.0', port: 0 });
    try {
      const refused = await post(users('20261101', '20261105'), { base: readOnly.url });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error ?? '', /read-only/);
    } finally {
      await readOnly.close();
    }
  });
  test('while Temporal is down, a cached answer is still served; another request is a 503', async () => {
    const down = await startConsole({ ...stack.config, temporalAddress: '127.0.0.1:1' }, { host: '127.0.0.1', port: 0 });
    try {
      const cached = await post({ ...users('20261101', '20261105'), wait: true }, { base: down.url });
      assert.equal(cached.status, 200, JSON.stringify(cached.body));
      assert.deepEqual(cached.body.answer!.result, expected('20261101', '20261105'));
      const uncached = await post(users('20261120', '20261121'), { base: down.url });
      assert.equal(uncached.status, 503, JSON.stringify(uncached.body));
    } finally {
      await down.close();
    }
  });

  test('the Analyses page asks one and shows its answer; a bad parameter is shown next to its field', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(new URL('/analyses', consoleServer.url).href);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
      assert.deepEqual(await page.$$eval('select[name=analysis] option', (os) => os.map((o) => o.textContent)), ['ask.users', 'ask.fails', 'ask.gated']);
      await page.fill('#analysis-params input[name=game]', String(GAME));
      await page.fill('#analysis-params input[name=from]', '20261101');
      await page.fill('#analysis-params input[name=to]', '2026-11-05');
      await page.click('#ask-form button[type=submit]');
      await page.waitForSelector('#ask-result .error');
      assert.match((await page.textContent('#ask-result')) ?? '', /parameter to "2026-11-05": expected a day as YYYYMMDD/);
      assert.equal(await page.getAttribute('#analysis-params input[name=to]', 'class'), 'error');
      await page.fill('#analysis-params input[name=to]', '20261105');
      await page.click('#ask-form button[type=submit]');
      await page.waitForSelector('#answer[data-status]');
      const shown = JSON.parse((await page.textContent('#answer')) ?? '') as { status: string; answer: { result: unknown; cached: boolean } };
      assert.equal(shown.status, 'done');
      assert.deepEqual(shown.answer.result, expected('20261101', '20261105'));
      await page.screenshot({ path: resolve(SHOTS, 'analyses.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  describe('recent computations', () => {
    /** Rows of a job no other test asks, recorded as the analysis activity records them; the newest in the ledger. */
    const recorded: Record<'ok' | 'failed' | 'running', number> = { ok: 0, failed: 0, running: 0 };
    const JOB = 'ledgerview';

    before(async () => {
      const at = Date.now();
      const open = (n: number, analysis: string, params: Record<string, unknown>) =>
        openAnalysis(mysql(), stack.names, { workflowId: `${stack.config.prefix}.${JOB}.${analysis}.ask.n=${n}`, execution: `run-${n}`, job: JOB, analysis, params: JSON.stringify(params), origin: 'stream', startedAt: at + n });
      recorded.ok = await open(1, 'users', { game: GAME, from: '20261101', to: '20261102', server: { from: 3, to: 5 } });
      await closeAnalysis(mysql(), stack.names, recorded.ok, { ok: true, provisional: false, finishedAt: at + 1 + 1500 });
      recorded.failed = await open(2, 'users', { game: GAME, from: '20261103', to: '20261103', note: XSS });
      await closeAnalysis(mysql(), stack.names, recorded.failed, { ok: false, error: `${XSS} the source is unreachable`, finishedAt: at + 2 + 40 });
      recorded.running = await open(3, 'other', { game: GAME });
    });

    const recent = async (query: string) => {
      const res = await get(`/api/analyses/recent${query}`);
      return { ...res, computations: (res.body.computations ?? []) as Array<LedgerAnalysis & { links: { workflow: string } }> };
    };

    test('GET /api/analyses/recent: the ledger\'s rows newest first, filtered as gflow analyses filters them', async () => {
      const mine = await recent(`?job=${JOB}`);
      assert.equal(mine.status, 200, JSON.stringify(mine.body));
      assert.deepEqual(mine.computations.map((c) => c.id), [recorded.running, recorded.failed, recorded.ok]);
      const ok = mine.computations[2]!;
      assert.deepEqual([ok.job, ok.analysis, ok.origin, ok.outcome, ok.provisional, ok.durationMs], [JOB, 'users', 'stream', 'ok', false, 1500]);
      assert.deepEqual(ok.params, { game: GAME, from: '20261101', to: '20261102', server: { from: 3, to: 5 } });
      assert.ok(ok.links.workflow.endsWith(`/workflows/${encodeURIComponent(ok.workflowId)}`), ok.links.workflow);
      assert.deepEqual(Object.keys(mine.computations[0]!).sort(), ['analysis', 'execution', 'id', 'job', 'links', 'origin', 'outcome', 'params', 'startedAt', 'workflowId']);

      assert.deepEqual((await recent(`?analysis=${JOB}.users`)).computations.map((c) => c.id), [recorded.failed, recorded.ok]);
      assert.deepEqual((await recent(`?job=${JOB}&outcome=failed`)).computations.map((c) => c.id), [recorded.failed]);
      assert.deepEqual((await recent(`?job=${JOB}&limit=1`)).computations.map((c) => c.id), [recorded.running]);
      // The computations the tests above asked for are there too, by the CLI's rule for a bare analysis name.
      const users = await recent('?analysis=users&outcome=ok');
      assert.ok(users.computations.some((c) => c.job === 'ask' && c.origin === 'http'), JSON.stringify(users.computations));
      // Empty values, as a form sends them: no filter, the default limit.
      const all = await recent('?job=&analysis=&outcome=&limit=');
      assert.equal(all.status, 200);
      assert.deepEqual(all.computations.slice(0, 3).map((c) => c.id), [recorded.running, recorded.failed, recorded.ok]);
      assert.ok(all.computations.length > 3 && all.computations.length <= 50);
    });

    test('GET /api/analyses/recent refuses bad values with a 400 naming the field', async () => {
      const cases: Array<[string, string, RegExp]> = [
        ['?limit=0', 'limit', /^limit "0": expected a whole number from 1 to 10000$/],
        ['?limit=many', 'limit', /^limit "many": expected a whole number from 1 to 10000$/],
        ['?limit=10001', 'limit', /^limit "10001": expected a whole number/],
        ['?outcome=done', 'outcome', /^outcome "done": expected running, ok or failed$/],
        [`?job=report&analysis=${JOB}.users`, 'analysis', /is an analysis of job ledgerview, and job says report/],
        ['?game=7', 'game', /^unknown field game$/],
      ];
      for (const [query, field, error] of cases) {
        const res = await get(`/api/analyses/recent${query}`);
        assert.deepEqual([res.status, res.body.field], [400, field], `${query}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error ?? '', error);
      }
    });

    test('the Analyses page lists them, markup in data as text; its filter narrows the list', async () => {
      mkdirSync(SHOTS, { recursive: true });
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
      const said: string[] = [];
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        page.on('dialog', (d) => {
          said.push(d.message());
          void d.dismiss();
        });
        page.on('pageerror', (err) => said.push(`page error: ${err.message}`));
        await page.goto(new URL('/analyses', consoleServer.url).href);
        await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
        const cells = (id: number) => page.$$eval(`#recent tr[data-id="${id}"] td`, (tds) => tds.map((td) => td.textContent ?? ''));
        const failed = await cells(recorded.failed);
        assert.deepEqual(failed.slice(0, 5), [String(recorded.failed), `${JOB}.users`, `game=7,from=20261103,to=20261103,note=${XSS}`, 'stream', '-']);
        assert.deepEqual(failed.slice(6, 10), ['40 ms', 'failed', '-', `${XSS} the source is unreachable`]);
        assert.deepEqual((await cells(recorded.ok)).slice(6, 9), ['1.5 s', 'ok', 'no']);
        assert.deepEqual((await cells(recorded.running)).slice(6, 9), ['-', 'running', '-']);
        assert.equal(await page.$$eval('#recent img', (imgs) => imgs.length), 0, 'no markup from data became an element');
        await page.screenshot({ path: resolve(SHOTS, 'analyses-recent.png'), fullPage: true });

        await page.selectOption('select[name=recent-outcome]', 'failed');
        await page.click('#recent-form button[type=submit]');
        await page.waitForSelector(`#recent tr[data-id="${recorded.ok}"]`, { state: 'detached' });
        const outcomes = await page.$$eval('#recent tbody tr td:nth-child(8)', (tds) => tds.map((td) => td.textContent));
        assert.ok(outcomes.length > 0 && outcomes.every((o) => o === 'failed'), JSON.stringify(outcomes));
        assert.ok(await page.$(`#recent tr[data-id="${recorded.failed}"]`), 'the failed row stays');
      } finally {
        await browser.close();
      }
      assert.deepEqual(said, []);
    });
  });
});

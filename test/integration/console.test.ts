/**
 * The console in a real headless Chromium (Debian's, driven by
 * playwright-core: no browser download) against a real dev server, slave,
 * Redis and MariaDB: the overview lists the fixture jobs and the day's
 * incidents; the task page shows a seeded failure's cells, opens a cell's
 * run, and a Retry from the page (impact first) turns them green; a rerun
 * started from the reruns page shows `value: old → new` and its failed
 * check, and Restore puts the row back in MySQL; the reports page draws
 * every chart with data and its CSV matches the report tables; a game
 * named like an HTML tag renders as text; actions are refused cross-site,
 * without the token, or at all when listening beyond loopback without one.
 *
 * Screenshots of every page land in test-artifacts/console/ (gitignored).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parsePeriodKey } from '../../core/period';
import { runSearchAttributes } from '../../core/search-attributes';
import { loadJobs } from '../../infra/jobs';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import { addGame, validateGame } from '../../store/games/registry';
import { migrate } from '../../store/schema/migrations';
import { closeRun, openRun } from '../../store/ledger/runs';
import { taskRun } from '../../workflows/task-run';
import { startConsole, type RunningConsole } from '../../console/server';
import { withSlaves } from '../helpers/slaves';
import { startStack, stopStack, type TestStack } from '../helpers/stack';

const CHROMIUM = process.env.GFLOW_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = resolve(__dirname, '../../test-artifacts/console');
const XSS = '<img src=x onerror=alert(1)>';
const DAYS = ['20260901', '20260902', '20260903', '20260904', '20260905'];
const TOKEN = 'console-test-token-0123456789';

let stack: TestStack;
let consoleServer: RunningConsole;
let browser: Browser;
/** Dialogs any page opened (an alert() from injected markup would land here). */
const dialogs: string[] = [];
const mysql = () => getMysql(stack.config.mysqlUrl);
const redis = () => getRedis(stack.config.redisUrl);
const key = (...parts: Array<string | number>) => stack.names.redisKey(...parts);
const report = (table: string) => `\`${stack.names.schema('report')}\`.\`${table}\``;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({}, { games: [1, 2, 3] });
  await addGame(mysql(), stack.names, validateGame({ id: 4, name: XSS }));
  // The report job's tables, for the reports page (its rows are seeded below).
  await migrate(mysql(), stack.names, { jobs: loadJobs(resolve(__dirname, '../../jobs')).list() });
  consoleServer = await startConsole(stack.config, { host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  await consoleServer?.close();
  await stopStack(stack);
});

async function open(path: string, base = consoleServer.url): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (err) => dialogs.push(`page error: ${err.message}`));
  await page.goto(new URL(path, base).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: resolve(SHOTS, `${name}.png`), fullPage: true });
}

function scheduled(day: string) {
  return stack.env.client.workflow.start(taskRun, {
    workflowId: stack.names.runId('fx', 'daily', day),
    taskQueue: stack.names.sharedQueue,
    args: [{ job: 'fx', task: 'daily', period: parsePeriodKey('day', day, 'UTC'), prefix: stack.config.prefix, origin: 'schedule' as const }],
    typedSearchAttributes: runSearchAttributes({ prefix: stack.config.prefix, job: 'fx', task: 'daily', period: day }),
  });
}

async function fxValue(game: number, day: string): Promise<number | null> {
  const [rows] = await mysql().query<RowDataPacket[]>(`SELECT value FROM ${report('fx_daily')} WHERE game_id = ? AND day = ?`, [game, day]);
  return rows[0] ? Number(rows[0].value) : null;
}

/** A raw HTTP request (node:http lets a test set Host and Origin as a browser of another site would). */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: { error?: string; field?: string | null } & Record<string, unknown> }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text.startsWith('{') ? (JSON.parse(text) as { error?: string }) : { error: text } }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const ACTION = { 'content-type': 'application/json', 'x-gflow-console': '1' };

/** The DOM the callbacks run inside the page use (tests compile without TypeScript's DOM library). */
interface PageElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): { readonly length: number };
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): { readonly length: number } };
declare const window: {
  echarts: { getInstanceByDom(el: unknown): { getOption(): { series: Array<{ name: string; data: unknown[] }> } } };
  gflow: { api(path: string, options: object): Promise<{ verb: string }> };
};

describe('the console', { timeout: 600_000 }, () => {
  test('a seeded failure: the overview lists the jobs and the incident; the task page shows exactly the failed cells and their run; Retry turns them green', async () => {
    await redis().set(key('fx', 'fail', 2, '20260902'), '1');
    await redis().set(key('fx', 'fail', 2, '20260904'), '1');
    await withSlaves(stack.config, ['s1'], async () => {
      for (const day of DAYS) await (await scheduled(day)).result();
    });

    const overview = await open('/');
    for (const job of ['fx', 'work', 'deps']) assert.ok(await overview.$(`[data-job="${job}"]`), `job ${job} listed`);
    assert.ok(await overview.$('tr[data-task="fx.daily"] a[href*="task=daily"]'), 'fx.daily links to its task page');
    const incidents = await overview.$$eval('#alerts tr[data-incident]', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.equal(incidents.length, 2, 'the two partial runs of the day are incidents');
    assert.ok(incidents.every((t) => t.includes('fx.daily') && t.includes('source unreachable')), incidents.join('\n'));
    assert.match(await overview.textContent('#installation') ?? '', /mysql:\/\/root@127\.0\.0\.1/);
    await shot(overview, 'overview');
    await overview.close();

    const page = await open('/task?job=fx&task=daily&range=20260901,20260905');
    const failed = await page.$$eval('td.c.s-f', (tds) => tds.map((td) => td.getAttribute('title') ?? ''));
    assert.deepEqual(failed.map((t) => t.split(' · ').slice(0, 2).join(' ')).sort(), ['game 2 20260902', 'game 2 20260904']);
    assert.ok(failed.every((t) => t.includes('source unreachable')));
    assert.equal(await page.$$eval('td.c.s-o', (tds) => tds.length), 4 * 5 - 2);
    // The XSS game's row: its name is text, no element was made of it.
    assert.equal(await page.textContent('tr[data-game="4"] td.game'), `4 · ${XSS}`);
    assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0);
    // Filters: by name (the XSS game's name is matched as text), and only the games needing attention.
    await page.fill('input[name=filter]', '<img');
    assert.deepEqual(await page.$$eval('tbody tr:not(.hidden)', (rows) => rows.map((r) => r.getAttribute('data-game'))), ['4']);
    await page.fill('input[name=filter]', '');
    await page.check('#only-attention');
    assert.deepEqual(await page.$$eval('tbody tr:not(.hidden)', (rows) => rows.map((r) => r.getAttribute('data-game'))), ['2']);
    await page.uncheck('#only-attention');

    // A failed cell opens its run: items with the error, the slave, a Temporal link.
    await page.click('tr[data-game="2"] td.c.s-f >> nth=0');
    await page.waitForSelector('#run-items');
    const items = await page.textContent('#run-items');
    assert.match(items ?? '', /source unreachable/);
    assert.match(items ?? '', /s1/);
    const link = await page.getAttribute('#run a.temporal', 'href');
    assert.equal(link, `http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(stack.names.runId('fx', 'daily', '20260902'))}`);
    await shot(page, 'task');

    await redis().del(key('fx', 'fail', 2, '20260902'), key('fx', 'fail', 2, '20260904'));
    await withSlaves(stack.config, ['s1'], async () => {
      await page.click('#select-failed');
      assert.equal(await page.textContent('#selection'), '2 cells selected');
      await page.click('#retry');
      const dialog = await page.waitForSelector('dialog.confirm');
      const impact = (await dialog.textContent()) ?? '';
      assert.match(impact, /dry run of retry/);
      assert.match(impact, /20260902/);
      await shot(page, 'task-retry-impact');
      await page.click('dialog.confirm .confirm-button');
      await page.waitForSelector('#retry-progress .progress[data-finished]', { timeout: 120_000 });
      assert.equal(await page.getAttribute('#retry-progress .progress', 'data-finished'), 'ok');
    });
    await page.waitForFunction(() => document.querySelectorAll('td.c.s-f').length === 0 && document.querySelectorAll('td.c.s-o').length === 20);
    await shot(page, 'task-after-retry');
    await page.close();
  });

  test("a rerun started from the reruns page shows old → new and its failed check; Restore puts the row back", async () => {
    assert.equal(await fxValue(3, '2026-09-03'), 30);
    await redis().set(key('fx', 3, '20260903'), '-7');
    try {
      await withSlaves(stack.config, ['s1'], async () => {
        const page = await open('/reruns');
        await page.selectOption('#rerun-form select[name=job]', 'fx');
        await page.fill('#rerun-form input[name=tasks]', 'daily');
        await page.fill('#rerun-form input[name=range]', '20260903');
        await page.fill('#rerun-form input[name=reason]', 'console test');
        await page.click('#rerun-form button[type=submit]');
        await page.waitForSelector('dialog.confirm');
        assert.match((await page.textContent('dialog.confirm')) ?? '', /fx_daily 4/);
        await page.click('dialog.confirm .confirm-button');
        await page.waitForURL(/\/rerun\?id=/);
        await page.waitForSelector('body[data-ready="1"]');
        await page.waitForFunction(() => (document.querySelector('#outcome .pill')?.textContent ?? 'running') !== 'running', undefined, { timeout: 120_000 });
        await page.waitForSelector('#diff-rows');
        const row = await page.textContent('#diff-rows tr[data-game="3"]');
        assert.match(row ?? '', /value: 30 → -7/);
        assert.match((await page.textContent('#failed-checks')) ?? '', /-7/);
        assert.match((await page.textContent('#head')) ?? '', /console test/);
        await shot(page, 'rerun');
        assert.equal(await fxValue(3, '2026-09-03'), -7);

        await page.click('#restore-button');
        await page.waitForSelector('dialog.confirm');
        // Impact first: per period, the rows that come back and the rows in place they replace.
        assert.match((await page.textContent('dialog.confirm')) ?? '', /daily20260903all44/);
        await page.click('dialog.confirm .confirm-button');
        await page.waitForSelector('#restore-progress[data-state]', { timeout: 120_000 });
        assert.equal(await page.getAttribute('#restore-progress', 'data-state'), 'COMPLETED');
        await shot(page, 'rerun-restored');
        await page.close();
      });
      assert.equal(await fxValue(3, '2026-09-03'), 30, 'restore put the backed-up row back');
      const reruns = await open('/reruns');
      assert.equal(await reruns.$$eval('tr[data-rerun]', (rows) => rows.length), 2, 'the retry and the rerun');
      await shot(reruns, 'reruns');
      await reruns.close();
    } finally {
      await redis().del(key('fx', 3, '20260903'));
    }
  });

  test('the reports page draws every chart with data, lists the rows, and its CSV matches the report tables', async () => {
    const days = ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07'];
    for (const game of [1, 4]) {
      for (const [i, day] of days.entries()) {
        const dau = 100 * game + i * 7;
        await mysql().query(`INSERT INTO ${report('report_active')} (game_id, day, dau, wau, mau, new_users) VALUES (?, ?, ?, ?, ?, ?)`, [game, day, dau, dau * 3, dau * 9, 10 + i]);
        await mysql().query(`INSERT INTO ${report('report_online')} (game_id, day, pcu, acu, buckets) VALUES (?, ?, ?, ?, 288)`, [game, day, 20 + i, (12.5 + i).toFixed(4)]);
        await mysql().query(`INSERT INTO ${report('report_pay')} (game_id, day, payers, revenue, pay_rate, arpu, arppu) VALUES (?, ?, ?, ?, ?, ?, ?)`, [game, day, 3 + i, (99.5 + i).toFixed(4), ((3 + i) / dau).toFixed(6), ((99.5 + i) / dau).toFixed(4), ((99.5 + i) / (3 + i)).toFixed(4)]);
        await mysql().query(`INSERT INTO ${report('report_retention')} (game_id, cohort_day, new_users, d1, d2, d3, d7, d14, d30) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL)`, [game, day, 10 + i, 6, i < 6 ? 4 : null, i < 5 ? 3 : null]);
      }
    }
    const page = await open('/reports?games=1,4&from=20261001&to=20261007');
    const charts = await page.$$eval('.chart', (boxes) =>
      boxes.map((box) => {
        const chart = window.echarts.getInstanceByDom(box);
        const series = chart.getOption().series;
        return {
          id: box.getAttribute('data-chart'),
          svgPaths: box.querySelectorAll('svg path').length,
          series: series.map((s) => ({ name: s.name, points: s.data.filter((v) => v !== null && v !== undefined).length })),
        };
      }),
    );
    const ids = charts.map((c) => c.id);
    for (const id of ['dau', 'wau', 'mau', 'new', 'pcu', 'acu', 'revenue', 'payers', 'payrate', 'arpu', 'arppu', 'retention-curves', 'heatmap-1', 'heatmap-4']) assert.ok(ids.includes(id), `chart ${id} drawn`);
    for (const c of charts) {
      assert.ok(c.svgPaths > 0, `chart ${c.id} rendered SVG`);
      assert.ok(c.series.length > 0 && c.series.every((s) => s.points > 0), `chart ${c.id}: every series has data: ${JSON.stringify(c.series)}`);
    }
    assert.deepEqual(charts.find((c) => c.id === 'dau')!.series.map((s) => s.name), ['1 · game 1', `4 · ${XSS}`], 'two games side by side, the XSS name as a series name');
    assert.equal(await page.$$eval('#daily-table tbody tr', (rows) => rows.length), 14);
    assert.match((await page.textContent('#daily-table')) ?? '', new RegExp(XSS.replace(/[()]/g, '\\$&')));
    assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0);
    await shot(page, 'reports');

    const csv = await page.evaluate(async () => (await fetch(document.querySelector('#csv-daily')!.getAttribute('href')!)).text());
    const lines = csv.trim().split('\r\n');
    assert.equal(lines[0], 'game_id,game,day,dau,wau,mau,new_users,pcu,acu,payers,revenue,pay_rate,arpu,arppu');
    const [rows] = await mysql().query<RowDataPacket[]>(
      `SELECT a.game_id, a.day, a.dau, a.wau, a.mau, a.new_users, o.pcu, o.acu, p.payers, p.revenue, p.pay_rate, p.arpu, p.arppu
       FROM ${report('report_active')} a JOIN ${report('report_online')} o USING (game_id, day) JOIN ${report('report_pay')} p USING (game_id, day)
       WHERE a.game_id IN (1, 4) AND a.day BETWEEN '2026-10-01' AND '2026-10-07' ORDER BY a.game_id, a.day`,
    );
    assert.equal(lines.length - 1, rows.length);
    for (const [i, r] of rows.entries()) {
      const cells = lines[i + 1]!.split(',');
      // The game's name is quoted text; the XSS name has no comma, so the columns stay aligned.
      assert.equal(cells[1], r.game_id === 4 ? XSS : 'game 1');
      const expected = [r.game_id, r.day, r.dau, r.wau, r.mau, r.new_users, r.pcu, r.acu, r.payers, r.revenue, r.pay_rate, r.arpu, r.arppu];
      const got = [cells[0], cells[2], ...cells.slice(3)];
      assert.deepEqual(got.map((v, k) => (k === 1 ? v : Number(v))), expected.map((v, k) => (k === 1 ? String(v) : Number(v))), `CSV row ${i + 1}`);
    }
    const retention = await page.evaluate(async () => (await fetch(document.querySelector('#csv-retention')!.getAttribute('href')!)).text());
    assert.equal(retention.split('\r\n')[0], 'game_id,game,cohort_day,new_users,d1,d2,d3,d7,d14,d30');
    assert.equal(retention.trim().split('\r\n').length - 1, 14);
    await page.close();
  });

  test("a period's run detail is the cell's run, over whole games: a segment's later run is among the earlier ones, never the cell's", async () => {
    const opening = (day: string, suffix: string, segment?: string) => ({
      workflowId: `${stack.names.prefix}.fx.daily.${day}.${suffix}`,
      temporalRunId: suffix,
      job: 'fx',
      task: 'daily',
      period: parsePeriodKey('day', day, 'UTC'),
      origin: 'rerun' as const,
      ...(segment && { segment }),
      startedAt: Date.now(),
    });
    const record = async (day: string, suffix: string, outcome: 'ok' | 'failed', segment?: string) =>
      closeRun(mysql(), stack.names, await openRun(mysql(), stack.names, opening(day, suffix, segment)), { outcome, finishedAt: Date.now(), items: [] });
    await record('20260920', 'whole', 'ok');
    await record('20260920', 'ads', 'failed', '-c ads');
    await record('20260921', 'ads', 'ok', '-c ads');
    const detail = async (day: string) => {
      const res = await fetch(new URL(`/api/jobs/fx/tasks/daily/periods/${day}/run`, consoleServer.url));
      return { status: res.status, body: (await res.json()) as { run?: { workflowId: string }; earlier?: Array<{ workflowId: string; segment?: string }>; error?: string } };
    };
    const both = await detail('20260920');
    assert.equal(both.status, 200, JSON.stringify(both.body));
    assert.equal(both.body.run?.workflowId, opening('20260920', 'whole').workflowId);
    assert.deepEqual(both.body.earlier?.map((e) => [e.workflowId, e.segment]), [[opening('20260920', 'ads').workflowId, '-c ads']]);
    const segmentOnly = await detail('20260921');
    assert.equal(segmentOnly.status, 404);
    assert.match(segmentOnly.body.error ?? '', /no run of fx\.daily for period 20260921 over whole games \(only runs of a segment: .*ads -c ads\)/);
  });

  test('a rerun asked over HTTP with a bad range or an unknown game: a 400 in the API\'s own words, naming the field', async () => {
    const rerun = async (body: object) => {
      const res = await fetch(new URL('/api/reruns', consoleServer.url), { method: 'POST', headers: { 'X-Gflow-Console': '1', 'Content-Type': 'application/json' }, body: JSON.stringify({ job: 'fx', tasks: ['daily'], dryRun: true, ...body }) });
      return { status: res.status, body: (await res.json()) as { error?: string; field?: string } };
    };
    const badRange = await rerun({ range: '2026-09-01' });
    assert.deepEqual([badRange.status, badRange.body.field], [400, 'range']);
    assert.match(badRange.body.error ?? '', /^range for fx\.daily: /);
    const open = await rerun({ range: '20991231' });
    assert.deepEqual([open.status, open.body.field], [400, 'range']);
    assert.match(open.body.error ?? '', /^range 20991231: period 20991231 of daily has not ended yet/);
    const unknown = await rerun({ range: '20260901', games: [99] });
    assert.deepEqual([unknown.status, unknown.body.field, unknown.body.error], [400, 'games', 'games: game 99 not in the games registry (see gflow games list)']);
  });

  test('no page ran script from data: no dialog opened, no page error', () => {
    assert.deepEqual(dialogs, []);
  });

  test('actions are refused cross-site, with another Host, and without the JSON body and header', async () => {
    const base = consoleServer.url;
    const port = new URL(base).port;
    const info = await raw(`${base}api/info`, { headers: { host: `127.0.0.1:${port}` } });
    assert.equal(info.status, 200);
    const rebound = await raw(`${base}api/info`, { headers: { host: `evil.example:${port}` } });
    assert.deepEqual([rebound.status, rebound.body.field], [403, 'Host']);
    const tunnel = await raw(`${base}api/info`, { headers: { host: 'localhost:9000' } });
    assert.equal(tunnel.status, 200, 'loopback by another port (an SSH tunnel) is still loopback');
    const post = (headers: Record<string, string>, body = '{}') => raw(`${base}api/jobs/fx/stop`, { method: 'POST', headers: { host: `127.0.0.1:${port}`, ...headers }, body });
    const noHeader = await post({ 'content-type': 'application/json' });
    assert.deepEqual([noHeader.status, noHeader.body.field], [403, 'X-Gflow-Console']);
    const form = await post({ 'content-type': 'application/x-www-form-urlencoded', 'x-gflow-console': '1' }, 'tasks=daily');
    assert.deepEqual([form.status, form.body.field], [415, 'Content-Type']);
    const crossSite = await post({ ...ACTION, 'sec-fetch-site': 'cross-site' });
    assert.deepEqual([crossSite.status, crossSite.body.field], [403, 'Sec-Fetch-Site']);
    const otherOrigin = await post({ ...ACTION, origin: 'http://evil.example' });
    assert.deepEqual([otherOrigin.status, otherOrigin.body.field], [403, 'Origin']);
    const badBody = await post(ACTION, '{"tasks": ["daily"], "extra": 1}');
    assert.deepEqual([badBody.status, badBody.body.error, badBody.body.field], [400, 'unknown field extra', 'extra']);
    const unknownTask = await post(ACTION, '{"tasks": ["nope"]}');
    assert.deepEqual([unknownTask.status, unknownTask.body.field], [400, 'tasks']);
    assert.match(unknownTask.body.error ?? '', /job fx has no task "nope"; its tasks: daily, live, frozen/);
    const ok = await post({ ...ACTION, origin: base.replace(/\/$/, '') });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const headers = await fetch(base);
    assert.match(headers.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });

  test('beyond loopback: read-only without a token; with one, an action needs it', async () => {
    const open0 = await startConsole(stack.config, { host: '0.0.0.0', port: 0 });
    try {
      assert.match(open0.actions, /read-only/);
      const info = await (await fetch(`${open0.url}api/info`)).json() as { actions: { allowed: boolean } };
      assert.equal(info.actions.allowed, false);
      const refused = await raw(`${open0.url}api/jobs/fx/start`, { method: 'POST', headers: { ...ACTION, host: new URL(open0.url).host }, body: '{}' });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error ?? '', /read-only: the console listens on 0\.0\.0\.0, beyond loopback, and no console token is set/);
      const page = await open('/', open0.url);
      assert.equal(await page.getAttribute('[data-job="fx"] button[data-action="start"]', 'disabled'), '');
      assert.match((await page.textContent('#token-bar')) ?? '', /read-only/);
      await shot(page, 'overview-read-only');
      await page.close();
    } finally {
      await open0.close();
    }
    // The console reads no Redis: a password in its URL is only shown, and must not be.
    const guarded = await startConsole({ ...stack.config, consoleToken: TOKEN, redisUrl: 'redis://ops:redis-s3cret@127.0.0.1:6379' }, { host: '0.0.0.0', port: 0 });
    await addGame(mysql(), stack.names, validateGame({ id: 5, name: 'sharded', redisUrl: 'redis://:game-s3cret@10.0.0.7:6379/2', mysqlUrl: 'mysql://app:db-s3cret@10.0.0.8:3306' }));
    try {
      const host = new URL(guarded.url).host;
      for (const path of ['api/info', 'api/games']) {
        const text = await (await fetch(`${guarded.url}${path}`)).text();
        assert.doesNotMatch(text, /s3cret/, `${path} shows no password`);
        assert.match(text, /\*\*\*/, `${path} shows where a password was`);
      }
      const stop = (auth?: string) => raw(`${guarded.url}api/jobs/fx/stop`, { method: 'POST', headers: { ...ACTION, host, ...(auth && { authorization: auth }) }, body: '{}' });
      const none = await stop();
      assert.deepEqual([none.status, none.body.field], [401, 'token']);
      const wrong = await stop('Bearer not-the-token-at-all');
      assert.deepEqual([wrong.status, wrong.body.error], [401, 'the console token is wrong']);
      const right = await stop(`Bearer ${TOKEN}`);
      assert.equal(right.status, 200, JSON.stringify(right.body));
      // The page takes the token from #token=… and sends it with its actions.
      const page = await open(`/#token=${TOKEN}`, guarded.url);
      assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
      const done = await page.evaluate(async () => {
        return (await window.gflow.api('/api/jobs/fx/stop', { method: 'POST', body: {} })).verb;
      });
      assert.equal(done, 'stop');
      await page.close();
    } finally {
      await guarded.close();
    }
  });
});

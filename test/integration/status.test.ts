/**
 * The games × periods state against a real dev server, slave, Redis and
 * MariaDB: the matrix shows exactly the failed and missing cells, a retry
 * recomputes exactly those, a dry run counts what a rerun then backs up and
 * starts nothing, failed checks can roll a period back, and progress
 * advances per period.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rerunImpact } from '../../client/dry-run';
import { scheduleCreated, taskMatrix, type TaskMatrix } from '../../client/matrix';
import { planRerun, planRetry, startRerun } from '../../client/reruns';
import { JobControl } from '../../client/control';
import { lastRuns, StatusReader } from '../../client/status';
import { cellsToRetry, periodsWithGames } from '../../core/matrix';
import { loadJobs } from '../../infra/jobs';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import type { RowDataPacket } from 'mysql2/promise';
import type { RunFilters } from '../../core/job';
import { parsePeriodKey } from '../../core/period';
import { closeRun, listRuns, openRun, periodSucceeded } from '../../store/ledger/runs';
import { MIGRATIONS } from '../../store/schema/migrations';
import { rerunProgressQuery } from '../../workflows/messages';
import type { RerunInput, RerunResult } from '../../workflows/rerun';
import { updateGame, validateGameChanges } from '../../store/games/registry';
import { freePort } from '../helpers/processes';
import { runInProcess } from '../helpers/in-process-cli';
import { cliEnv } from '../helpers/temporal';
import { retryCommand } from '../../cli/commands/retry';
import { Receiver } from '../helpers/receiver';
import { startScheduled } from '../helpers/runs';
import { withSlaves } from '../helpers/slaves';
import { until } from '../helpers/until';
import { startStack, stopStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const receiver = new Receiver();
const registry = loadJobs(`${__dirname}/../fixtures/jobs`);
const daily = registry.task('fx', 'daily');
const mysql = () => getMysql(stack.config.mysqlUrl);
const redis = () => getRedis(stack.config.redisUrl);
const key = (...parts: Array<string | number>) => stack.names.redisKey(...parts);
const DAYS = ['20260901', '20260902', '20260903', '20260904', '20260905'];

before(async () => {
  stack = await startStack({ alertWebhook: await receiver.start() }, { games: [1, 2, 3] });
});

after(async () => {
  await stopStack(stack);
  await receiver.stop();
});

const scheduled = (day: string) => startScheduled(stack, 'fx', 'daily', day);

/** The matrix of fx.daily over `range`, as if its schedule was created at `createdAt`. */
function matrix(range: string, createdAt: number | undefined, now?: number): Promise<TaskMatrix> {
  return taskMatrix(mysql(), stack.names, { job: 'fx', task: daily, range, zone: 'UTC', maxPeriods: 400, ...(now !== undefined && { now }) }, createdAt);
}

const states = (m: TaskMatrix) => m.cells.filter((c) => c.state !== 'ok').map((c) => `${c.game} ${c.period} ${c.state}`);

async function run(input: RerunInput): Promise<RerunResult> {
  return (await startRerun(stack.env.client, stack.config, input)).result();
}

describe('the matrix and retry', { timeout: 400_000 }, () => {
  test('one game failing on two days: exactly those cells fail, and retry --failed reruns exactly them', async () => {
    const sept = Date.parse('2026-08-31T00:00:00Z');
    await redis().set(key('fx', 'fail', 2, '20260902'), '1');
    await redis().set(key('fx', 'fail', 2, '20260904'), '1');
    await withSlaves(stack.config, ['s1'], async () => {
      for (const day of DAYS) await (await scheduled(day)).result();
    });
    const before = await matrix('20260901,20260905', sept);
    assert.deepEqual(states(before), ['2 20260902 failed', '2 20260904 failed']);
    assert.match(before.cells.find((c) => c.state === 'failed')!.error ?? '', /source unreachable/);

    await redis().del(key('fx', 'fail', 2, '20260902'), key('fx', 'fail', 2, '20260904'));
    const cells = periodsWithGames(cellsToRetry(before.cells, 'failed'));
    assert.deepEqual(cells, [{ period: '20260902', games: [2] }, { period: '20260904', games: [2] }]);
    const input = planRetry(stack.config, { job: 'fx', tasks: [{ task: daily, cells }], parallelism: 2 });
    assert.equal(input.kind, 'retry');
    const result = await withSlaves(stack.config, ['s1'], () => run(input));
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(
      result.periods.map((p) => [p.period.key, p.backedUp]),
      [['20260902', 0], ['20260904', 0]],
      'only game 2 of two days was recomputed (it had no rows there)',
    );
    assert.deepEqual(states(await matrix('20260901,20260905', sept)), []);
  });

  test("a segment's rerun (-s / -c) never decides its games' cells: not green over a failed game, not red over a good one", async () => {
    const sept = Date.parse('2026-08-31T00:00:00Z');
    const rerun = (day: string, filters: RunFilters) => run(planRerun(stack.config, { job: 'fx', tasks: [daily], range: day, filters, parallelism: 1, maxPeriods: 400 }));
    await withSlaves(stack.config, ['s1'], async () => {
      // Game 1 fails in a rerun over whole games of 20260903, then its channel's rerun is green.
      await redis().set(key('fx', 'fail', 1, '20260903'), '1');
      assert.equal((await rerun('20260903', {})).ok, false);
      await redis().del(key('fx', 'fail', 1, '20260903'));
      assert.equal((await rerun('20260903', { channel: 'ads' })).ok, true);
      // Game 2 is good over whole games of 20260905; a server range's rerun of it fails.
      await redis().set(key('fx', 'fail', 2, '20260905'), '1');
      assert.equal((await rerun('20260905', { servers: { from: 3, to: 5 } })).ok, false);
      await redis().del(key('fx', 'fail', 2, '20260905'));
    });
    const m = await matrix('20260901,20260905', sept);
    assert.deepEqual(states(m), ['1 20260903 failed'], 'the segment runs changed no cell');
    assert.deepEqual(periodsWithGames(cellsToRetry(m.cells, 'failed')), [{ period: '20260903', games: [1] }]);

    const latest = async (day: string) => (await listRuns(mysql(), stack.names, { job: 'fx', task: 'daily', periodKey: day, limit: 1 }))[0]!;
    assert.deepEqual([(await latest('20260903')).segment, (await latest('20260903')).outcome], ['-c ads', 'ok']);
    assert.deepEqual([(await latest('20260905')).segment, (await latest('20260905')).outcome], ['-s 3,5', 'partial']);
    // gflow top's "last rerun" is the last over whole games too, not the segment's later one.
    const { lastRerun } = await lastRuns(mysql(), stack.names, 'fx', 'daily');
    assert.deepEqual([lastRerun?.period, lastRerun?.outcome], ['20260903', 'partial']);

    // A task waiting on a period needs its games' rows: a segment's green run is not enough.
    const day = '20260920';
    const opened = await openRun(mysql(), stack.names, {
      workflowId: `${stack.names.prefix}.segment-only`,
      temporalRunId: 'r1',
      job: 'fx',
      task: 'daily',
      period: parsePeriodKey('day', day, 'UTC'),
      origin: 'rerun',
      segment: '-c ads',
      startedAt: Date.now(),
    });
    await closeRun(mysql(), stack.names, opened, { outcome: 'ok', finishedAt: Date.now(), items: [] });
    assert.equal(await periodSucceeded(mysql(), stack.names, 'fx', 'daily', day), false);
  });

  test('migration 0013 gives the runs of earlier reruns with -s / -c their segment, and runs again harmlessly', async () => {
    const t = `\`${stack.names.schema('meta')}\``;
    const rows: Array<[string, string]> = [
      ['{"servers":{"from":3,"to":5},"channel":"ads"}', '-s 3,5 -c ads'],
      ['{"servers":{"from":7,"to":7}}', '-s 7'],
      ['{"games":[1,2]}', ''],
      ['{"servers":null,"channel":null}', ''],
    ];
    for (const [i, [filters]] of rows.entries()) {
      const rerunId = `${stack.names.prefix}.backfill-${i}`;
      await mysql().query(`INSERT INTO ${t}.ledger_reruns (rerun_id, job, plan, filters, started_at) VALUES (?, 'fx', '{}', ?, NOW(3))`, [rerunId, filters]);
      const id = await openRun(mysql(), stack.names, { workflowId: `${rerunId}.daily.20260921`, temporalRunId: 'r', job: 'fx', task: 'daily', period: parsePeriodKey('day', '20260921', 'UTC'), origin: 'rerun', rerunId, startedAt: Date.now() });
      await mysql().query(`UPDATE ${t}.ledger_runs SET segment = NULL WHERE id = ?`, [id]);
    }
    const migration = MIGRATIONS.find((m) => m.version === '0013_ledger_runs_segment')!;
    for (let twice = 0; twice < 2; twice++) for (const sql of migration.up(stack.names)) await mysql().query(sql);
    const [got] = await mysql().query<RowDataPacket[]>(`SELECT r.segment FROM ${t}.ledger_runs r WHERE r.rerun_id LIKE ? ORDER BY r.rerun_id`, [`${stack.names.prefix}.backfill-%`]);
    assert.deepEqual(got.map((r) => r.segment ?? ''), rows.map(([, want]) => want));
  });

  test('a game whose Redis URL is dead fails; games update fixes the URL and retry --failed turns its cells green', async () => {
    const pergame = registry.task('lg', 'pergame');
    const dead = `redis://127.0.0.1:${await freePort()}`;
    await updateGame(mysql(), stack.names, 3, validateGameChanges({ redisUrl: dead }));
    const days = ['20260910', '20260911'];
    await withSlaves(stack.config, ['s1'], async () => {
      for (const day of days) {
        await (await startScheduled(stack, 'lg', 'pergame', day)).result();
      }
    });
    const m = () => taskMatrix(mysql(), stack.names, { job: 'lg', task: pergame, range: '20260910,20260911', zone: 'UTC', maxPeriods: 400 }, Date.parse('2026-09-09T00:00:00Z'));
    const before = await m();
    assert.deepEqual(states(before), ['3 20260910 failed', '3 20260911 failed']);
    assert.ok(before.cells.find((c) => c.state === 'failed')!.error?.includes(dead), before.cells.find((c) => c.state === 'failed')!.error);
    await updateGame(mysql(), stack.names, 3, validateGameChanges({ redisUrl: stack.config.redisUrl }));
    const cells = periodsWithGames(cellsToRetry(before.cells, 'failed'));
    const result = await withSlaves(stack.config, ['s1'], () => run(planRetry(stack.config, { job: 'lg', tasks: [{ task: pergame, cells }], parallelism: 2 })));
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(states(await m()), []);
  });

  test('a calendar task started while no slave runs shows its closed periods missing, and retry --missing fills them', async () => {
    const control = new JobControl(stack.env.client, stack.config);
    await control.start('fx', [daily]);
    try {
      const created = await scheduleCreated(stack.env.client, stack.names, 'fx', 'daily');
      assert.ok(created !== undefined);
      // Two fire times later, with no slave to run them.
      const later = created + 2 * 86_400_000 + 3_600_000;
      const first = new Date(created + 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
      const second = new Date(created + 2 * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
      const today = new Date(created).toISOString().slice(0, 10).replaceAll('-', '');
      const m = await matrix(`${today},${second}`, created, later);
      const missing = m.cells.filter((c) => c.state === 'missing').map((c) => c.period);
      assert.deepEqual([...new Set(missing)], [today, first], 'the two days that closed after the schedule was created');
      assert.equal(missing.length, 6, 'every game of both days');
      // Filling them needs days that have ended for real: the same task, as if started four days ago.
      const fourDaysAgo = Date.now() - 4 * 86_400_000;
      const past = [1, 2, 3].map((n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')).reverse();
      const range = `${past[0]},${past.at(-1)}`;
      const gaps = await matrix(range, fourDaysAgo);
      assert.deepEqual([...new Set(gaps.cells.map((c) => c.state))], ['missing']);
      const cells = periodsWithGames(cellsToRetry(gaps.cells, 'missing'));
      assert.deepEqual(cells.map((c) => c.period), past);
      const result = await withSlaves(stack.config, ['s1'], () => run(planRetry(stack.config, { job: 'fx', tasks: [{ task: daily, cells }], parallelism: 2 })));
      assert.equal(result.ok, true);
      assert.deepEqual(states(await matrix(range, fourDaysAgo)), []);
    } finally {
      await control.stop('fx', [daily]);
    }
  });

  test('a dry run counts the rows the real rerun then backs up, and starts no workflow', async () => {
    const input = planRerun(stack.config, { job: 'fx', tasks: [daily], range: '20260901,20260905', filters: {}, parallelism: 2, maxPeriods: 400 });
    const before = (await stack.env.client.workflow.count(`GflowPrefix = '${stack.config.prefix}'`)).count;
    const impact = await rerunImpact(mysql(), stack.names, input, new Map([['daily', daily]]), 3);
    assert.equal((await stack.env.client.workflow.count(`GflowPrefix = '${stack.config.prefix}'`)).count, before);
    assert.deepEqual([impact.tasks[0]!.periods, impact.tasks[0]!.cells, impact.tasks[0]!.rows.fx_daily], [5, 15, 15]);
    assert.ok(impact.estimatedMs !== undefined && impact.estimatedMs > 0);
    const result = await withSlaves(stack.config, ['s1'], () => run(input));
    assert.equal(result.periods.reduce((n, p) => n + p.backedUp, 0), impact.tasks[0]!.rows.fx_daily);
  });

  test('a rerun whose checks fail, with rollback, puts the old rows back and says so', async () => {
    const row = async () => (await mysql().query(`SELECT value FROM \`${stack.names.schema('report')}\`.fx_daily WHERE game_id = 3 AND day = '2026-09-03'`))[0];
    const old = await row();
    await redis().set(key('fx', 3, '20260903'), '-7');
    try {
      const input = planRerun(stack.config, { job: 'fx', tasks: [daily], range: '20260903', filters: {}, parallelism: 1, maxPeriods: 400, onCheckError: 'rollback' });
      const result = await withSlaves(stack.config, ['s1'], () => run(input));
      assert.equal(result.periods[0]!.rolledBack, true);
      assert.equal(result.periods[0]!.checkErrors, 1);
      assert.deepEqual(await row(), old);
      const alert = receiver.requests.find((r) => r.body.kind === 'rolledBack');
      assert.match(alert?.body.summary ?? '', /rolled back/);
    } finally {
      await redis().del(key('fx', 3, '20260903'));
    }
  });

  test('top lists a slave while it polls, and stops listing it once stopped', async () => {
    const reader = new StatusReader(stack.env.client, stack.config);
    const listed = await withSlaves(stack.config, ['topper'], async () => until('the slave to be listed', async () => ((await reader.slaves()).some((s) => s.slave === 'topper') ? true : undefined)));
    assert.equal(listed, true);
    // Temporal keeps listing a poller for minutes; gflow shows only those seen within a minute or so.
    const gone = await until('the stopped slave to leave the list', async () => ((await reader.slaves()).some((s) => s.slave === 'topper') ? undefined : true), { seconds: 150, everyMs: 2000 });
    assert.equal(gone, true);
  });

  test('gflow retry --failed with nothing failed says so and exits 0: the good case of a nightly retry is no error', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, cliEnv(stack.config));
    try {
      const { code, out } = await runInProcess(retryCommand(), ['fx', '--failed', '-d', '20260901,20260902'], stack.config.prefix);
      assert.equal(code, 0, out);
      assert.equal(out.trim(), 'nothing to retry in fx: no cell is failed (gflow status fx shows them all)');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  test('progress observed mid-rerun is strictly between 0 and the total', async () => {
    await redis().set(key('fx', 'slow'), '700');
    try {
      await withSlaves(stack.config, ['s1'], async () => {
        const input = planRerun(stack.config, { job: 'fx', tasks: [daily], range: '20260901,20260904', filters: {}, parallelism: 1, maxPeriods: 400 });
        const handle = await startRerun(stack.env.client, stack.config, input);
        let seen: number | undefined;
        for (let i = 0; i < 600 && seen === undefined; i++) {
          const p = await handle.query(rerunProgressQuery).catch(() => undefined);
          if (p && p.done > 0 && p.done < p.total) seen = p.done;
          else await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(seen !== undefined, 'progress moved before the end');
        await handle.result();
      });
    } finally {
      await redis().del(key('fx', 'slow'));
    }
  });
});

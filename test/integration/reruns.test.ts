/**
 * Reruns against a real dev server, slave, Redis and MySQL: backup →
 * recompute → check → diff per period, same result twice, restore, and the
 * CLI's refusals (one line, exit 2, nothing started).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Names } from '../../core/names';
import { readDiff } from '../../store/reruns/backup';
import type { Config } from '../../infra/config';
import { loadJobs } from '../../infra/jobs';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { rerunPlan, restoreSteps } from '../../client/rerun-history';
import { planRerun, startRerun } from '../../client/reruns';
import type { RunFilters } from '../../core/job';
import { type RerunResult } from '../../workflows/rerun';
import { restore } from '../../workflows/restore';
import { gflow } from '../helpers/cli';
import { dropAll, prepareMysql } from '../helpers/reports';
import { withSlaves } from '../helpers/slaves';
import { cliEnv, startTemporal, testConfig } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let config: Config;
let names: Names;
const registry = loadJobs(testConfig().jobsDir);
const RANGE = '20261101,20261103';

before(async () => {
  env = await startTemporal();
  config = testConfig({ temporalAddress: env.address });
  names = new Names(config.prefix);
  await prepareMysql(getMysql(config.mysqlUrl), names, [1, 2, 3]);
});

after(async () => {
  await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), names);
  await closeRedis();
  await closeMysql();
  await env?.teardown();
});

async function rerunFx(range: string, filters: RunFilters = {}): Promise<RerunResult> {
  const input = planRerun(config, { job: 'fx', tasks: registry.tasks('fx', ['daily']), range, filters, parallelism: 2, maxPeriods: 400 });
  const handle = await startRerun(env.client, config, input);
  return handle.result();
}

async function rows(): Promise<Array<[number, string, number | null]>> {
  const [result] = await getMysql(config.mysqlUrl).query(`SELECT game_id, day, value FROM \`${names.schema('report')}\`.fx_daily ORDER BY day, game_id`);
  return (result as Array<{ game_id: number; day: string; value: number | null }>).map((r) => [r.game_id, r.day, r.value]);
}

const redis = () => getRedis(config.redisUrl);

describe('reruns', () => {
  test('each period is backed up, recomputed, checked and diffed', async () => {
    const result = await withSlaves(config, ['s1'], () => rerunFx(RANGE));
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(
      result.periods.map((p) => [p.period.key, p.added, p.removed, p.changed, p.checkErrors, p.gamesFailed.length]),
      [
        ['20261101', 3, 0, 0, 0, 0],
        ['20261102', 3, 0, 0, 0, 0],
        ['20261103', 3, 0, 0, 0, 0],
      ],
    );
    assert.equal((await rows()).length, 9);
  });

  test('rerunning the same range again changes nothing', async () => {
    const result = await withSlaves(config, ['s1'], () => rerunFx(RANGE));
    assert.deepEqual(
      result.periods.map((p) => p.added + p.removed + p.changed),
      [0, 0, 0],
    );
    assert.deepEqual(await readDiff(getMysql(config.mysqlUrl), names, result.rerunId), []);
  });

  test('changed inputs show as per-column diffs; failing checks are reported; restore puts the rows back', async () => {
    const before = await rows();
    await redis().set(names.redisKey('fx', 1, '20261102'), '-5');
    await redis().set(names.redisKey('fx', 2, '20261102'), '2000');
    const result = await withSlaves(config, ['s1'], () => rerunFx(RANGE));
    assert.equal(result.ok, false);
    const day2 = result.periods.find((p) => p.period.key === "20261102")!;
    assert.deepEqual([day2.changed, day2.checkErrors, day2.checkWarnings], [2, 1, 1]);
    const diff = await readDiff(getMysql(config.mysqlUrl), names, result.rerunId, { period: '20261102' });
    assert.deepEqual(
      diff.map((d) => [d.game, d.change, d.columns]),
      [
        [1, 'changed', { value: { old: 10, new: -5 } }],
        [2, 'changed', { value: { old: 20, new: 2000 } }],
      ],
    );
    assert.notDeepEqual(await rows(), before);

    await withSlaves(config, ['s1'], async () => {
      const { plan } = await rerunPlan(getMysql(config.mysqlUrl), names, result.rerunId);
      const steps = restoreSteps(plan, new Map(registry.tasks('fx', ['daily']).map((t) => [t.name, t])));
      const outcome = await env.client.workflow.execute(restore, { workflowId: names.restoreId(result.rerunId), taskQueue: names.sharedQueue, args: [{ steps }] });
      assert.equal(outcome.periods, 3);
    });
    assert.deepEqual(await rows(), before);
  });

  test("a failing game is recorded and the other games' periods complete", async () => {
    await redis().set(names.redisKey('fx', 'fail', 2), '1');
    try {
      const result = await withSlaves(config, ['s1'], () => rerunFx('20261104'));
      assert.equal(result.ok, false);
      assert.deepEqual(result.periods[0]!.gamesFailed, ['game 2']);
      // The failed game has no row: the rowPerGame check says so.
      assert.equal(result.periods[0]!.checkErrors, 1);
      assert.deepEqual((await rows()).filter(([, day]) => day === '2026-11-04').map(([g]) => g), [1, 3]);
    } finally {
      await redis().del(names.redisKey('fx', 'fail', 2));
    }
  });

  test('-g reruns only those games', async () => {
    await redis().set(names.redisKey('fx', 3, '20261101'), '33');
    await redis().set(names.redisKey('fx', 1, '20261101'), '11');
    const result = await withSlaves(config, ['s1'], () => rerunFx('20261101', { games: [3] }));
    assert.equal(result.ok, true);
    const diff = await readDiff(getMysql(config.mysqlUrl), names, result.rerunId);
    assert.deepEqual(diff.map((d) => [d.game, d.columns]), [[3, { value: { old: 30, new: 33 } }]]);
  });
});

describe('rerun scale', () => {
  test('a long rerun continues as new and still reports every period', async () => {
    const input = planRerun(config, { job: 'fx', tasks: registry.tasks('fx', ['daily']), range: '20260901,20260905', filters: {}, parallelism: 2, maxPeriods: 400 });
    const handle = await startRerun(env.client, config, { ...input, periodsPerRun: 2 });
    const result = await withSlaves(config, ['s1'], () => handle.result());
    assert.deepEqual(result.periods.map((p) => p.period.key), ['20260901', '20260902', '20260903', '20260904', '20260905']);
    assert.equal(result.ok, true);
    const runs = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = '${input.rerunId}'` })) runs.push(run.runId);
    assert.equal(runs.length, 3, 'five periods, two per run: three runs chained by continue-as-new');
  });
});

describe('rerun CLI', () => {
  const refusals: Array<[string, string[], RegExp]> = [
    ['a form that does not match the period', ['-d', '201511'], /task period is day: use YYYYMMDD/],
    ['an impossible date', ['-d', '20150431'], /April 2015 has days 01\.\.30/],
    ['an end before the start', ['-d', '20261103,20261101'], /before/],
    ['a range over the cap', ['-d', '20261101,20261103', '--max-periods', '2'], /more than 2/],
    ['an interval task, by name', ['-d', '20261101', '-t', 'live'], /fx\.live runs at an interval/],
    ['a task that forbids reruns, by name', ['-d', '20261101', '-t', 'frozen'], /fx\.frozen forbids reruns/],
    ['a malformed game', ['-d', '20261101', '-g', '1;DROP TABLE x'], /-g "1;DROP TABLE x": expected a game id/],
    ['an unknown game', ['-d', '20261101', '-g', '99'], /game 99 not in the games registry/],
    ['a period not yet over', ['-d', '20991231'], /has not ended yet/],
  ];

  for (const [what, args, pattern] of refusals) {
    test(`refuses ${what}: one line, exit 2, nothing started`, async () => {
      const before = (await env.client.workflow.count(names.rerunsQuery('fx'))).count;
      const result = await gflow(['restart', 'fx', '-t', 'daily', ...args], cliEnv(config));
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, pattern);
      assert.equal((await env.client.workflow.count(names.rerunsQuery('fx'))).count, before);
    });
  }

  test('runs a rerun with a summary table, lists it, shows its diff', async () => {
    await redis().set(names.redisKey('fx', 2, '20261103'), '21');
    await withSlaves(config, ['s1'], async () => {
      const run = await gflow(['restart', 'fx', '-d', '20261103', '--now'], cliEnv(config));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /not rerunnable, skipped: live, frozen/);
      assert.match(run.stdout, /daily\s+20261103\s+1\s+0\s+0\s+0\s+0\s+-/);
      const rerunId = /rerun (\S+): 1 period in /.exec(run.stdout)![1]!;

      // Listed from the ledger: who started it, and how it ended.
      const listed = JSON.parse((await gflow(['reruns', '--json'], cliEnv(config))).stdout) as Array<{ rerunId: string; outcome: string; startedBy?: string }>;
      const mine = listed.find((r) => r.rerunId === rerunId);
      assert.equal(mine?.outcome, 'ok');
      assert.match(mine?.startedBy ?? '', /.+@.+/);

      const diff = await gflow(['diff', rerunId], cliEnv(config));
      assert.equal(diff.code, 0, diff.stderr);
      assert.match(diff.stdout, /20261103\s+fx_daily\s+2\s+.*changed\s+value: 20 → 21/);
    });
  });
});

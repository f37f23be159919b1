/**
 * The ledger against a real dev server, slave, Redis and MariaDB: every run
 * records a truthful outcome (partial, cancelled, failed) with its items and
 * checks, one writer per task and period, dependencies found in the ledger,
 * overlapping reruns in order, and alerts with their causes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { RunSummary } from '../../activities/types';
import { rerunPlan, restoreSteps } from '../../client/rerun-history';
import { planRerun, startRerun } from '../../client/reruns';
import { JobControl } from '../../client/control';
import { StatusReader } from '../../client/status';
import { loadJobs } from '../../infra/jobs';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import { listRuns, readLedgerChecks, runItems } from '../../store/ledger/runs';
import { getRerun } from '../../store/ledger/reruns';
import { restore } from '../../workflows/restore';
import type { RerunResult } from '../../workflows/rerun';
import { gflow } from '../helpers/cli';
import { Receiver } from '../helpers/receiver';
import { startScheduled } from '../helpers/runs';
import { withSlaves } from '../helpers/slaves';
import { until } from '../helpers/until';
import { cliEnv } from '../helpers/temporal';
import { startStack, stopStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const receiver = new Receiver();
const registry = loadJobs(`${__dirname}/../fixtures/jobs`);
const mysql = () => getMysql(stack.config.mysqlUrl);
const redis = () => getRedis(stack.config.redisUrl);
const key = (...parts: Array<string | number>) => stack.names.redisKey(...parts);

before(async () => {
  const alertWebhook = await receiver.start();
  stack = await startStack({ alertWebhook }, { games: [1, 2, 3] });
});

after(async () => {
  await stopStack(stack);
  await receiver.stop();
});

const start = (job: string, task: string, day: string) => startScheduled(stack, job, task, day);

async function rerun(job: string, tasks: string[], range: string): Promise<RerunResult> {
  const input = planRerun(stack.config, { job, tasks: registry.tasks(job, tasks), range, filters: {}, parallelism: 2, maxPeriods: 400 });
  return (await startRerun(stack.env.client, stack.config, input)).result();
}

async function fxRows(): Promise<string> {
  const [rows] = await mysql().query(`SELECT game_id, day, value FROM \`${stack.names.schema('report')}\`.fx_daily ORDER BY day, game_id`);
  return JSON.stringify(rows);
}

describe('the ledger records truthful outcomes', { timeout: 180_000 }, () => {
  test('a run where a game failed is partial: in the ledger, with the failed item and its error, and in Temporal', async () => {
    await redis().set(key('fx', 'fail', 2), '1');
    try {
      const summary: RunSummary = await withSlaves(stack.config, ['s1'], async () => (await start('fx', 'daily', '20261001')).result());
      assert.equal(summary.outcome, 'partial');
    } finally {
      await redis().del(key('fx', 'fail', 2));
    }
    const [run] = await listRuns(mysql(), stack.names, { job: 'fx', task: 'daily', periodKey: '20261001' });
    assert.ok(run);
    assert.deepEqual([run.outcome, run.origin, run.itemsTotal, run.itemsOk, run.itemsFailed], ['partial', 'schedule', 3, 2, 1]);
    const failed = (await runItems(mysql(), stack.names, run.id)).filter((i) => i.outcome === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.game, 2);
    assert.match(failed[0]!.error ?? '', /game 2: source unreachable/);
    assert.ok(failed[0]!.attempts >= 1);
    const found = await until('the outcome in Temporal', async () => {
      const { count } = await stack.env.client.workflow.count(`GflowPrefix = '${stack.config.prefix}' AND GflowOutcome = 'partial'`);
      return count > 0 ? count : undefined;
    });
    assert.equal(found, 1);
    const alert = receiver.requests.find((r) => r.body.kind === 'gamesFailed' && r.body.period === '20261001');
    assert.match(alert?.body.games?.[0]?.error ?? '', /source unreachable/);
  });

  test('a run stopped by gflow stop is cancelled, never a success, and the task waiting for it does not run', async () => {
    await redis().set(key('lg', 'hold'), '1');
    await withSlaves(stack.config, ['s1'], async () => {
      const upRun = await start('lg', 'up', '20261002');
      await until('up to be running in the ledger', async () => (await listRuns(mysql(), stack.names, { job: 'lg', task: 'up', periodKey: '20261002' }))[0]);
      // What `gflow top` shows of it meanwhile: items done / total as the run answers.
      const reader = new StatusReader(stack.env.client, stack.config);
      const shown = await until('top to show its item running', async () => {
        const running = (await reader.task('lg', registry.task('lg', 'up'), { runs: true })).running[0];
        return running?.progress?.total === 1 ? running : undefined;
      });
      assert.deepEqual([shown.period, shown.progress], ['20261002', { total: 1, done: 0, failed: 0 }]);
      const control = new JobControl(stack.env.client, stack.config);
      await control.stop('lg', registry.tasks('lg', ['up']));
      await assert.rejects(upRun.result(), WorkflowFailedError);
      assert.equal((await upRun.describe()).status.name, 'CANCELLED');
      const [run] = await listRuns(mysql(), stack.names, { job: 'lg', task: 'up', periodKey: '20261002' });
      assert.equal(run?.outcome, 'cancelled');
      assert.equal(run?.itemsOk, 0);

      const downRun = await start('lg', 'down', '20261002');
      // Long enough for several dependency polls: a cancelled `up` must not count as done.
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal((await downRun.describe()).status.name, 'RUNNING');
      assert.equal(await redis().get(key('lg', 'ran', 'down', '20261002')), null);
      await downRun.cancel();
    });
    await redis().del(key('lg', 'hold'));
  });

  test('a run whose mapTask throws is failed with its cause, and the alert says it', async () => {
    const run = await withSlaves(stack.config, ['s1'], async () => {
      const handle = await start('lg', 'broken', '20261003');
      await assert.rejects(handle.result(), WorkflowFailedError);
      return (await listRuns(mysql(), stack.names, { job: 'lg', task: 'broken' }))[0];
    });
    assert.equal(run?.outcome, 'failed');
    assert.match(run?.error ?? '', /games registry unreachable/);
    const alert = receiver.requests.find((r) => r.body.kind === 'runFailed' && r.body.task === 'broken');
    assert.ok(alert, JSON.stringify(receiver.requests.map((r) => r.body.kind)));
    assert.match(alert.body.summary, /games registry unreachable: MySQL at mysql:\/\/db\.example:3306/);
  });

  test('a scheduled run whose check fails stores the offending row and raises the alert', async () => {
    await redis().set(key('fx', 2, '20261004'), '-5');
    const summary: RunSummary = await withSlaves(stack.config, ['s1'], async () => (await start('fx', 'daily', '20261004')).result());
    assert.equal(summary.checkErrors, 1);
    const checks = await readLedgerChecks(mysql(), stack.names, { runId: summary.ledgerId });
    assert.equal(checks.length, 1);
    assert.equal(checks[0]!.game, 2);
    assert.match(checks[0]!.detail, /value=-5 < 0/);
    const alert = receiver.requests.find((r) => r.body.kind === 'checksFailed' && r.body.period === '20261004');
    assert.match(alert?.body.games?.[0]?.error ?? '', /value=-5 < 0/);
  });
});

describe('one writer per task and period', { timeout: 180_000 }, () => {
  test('a scheduled run and a rerun of one period started together: the rerun waits, and backs up finished rows', async () => {
    await redis().set(key('fx', 'slow'), '1500');
    try {
      await withSlaves(stack.config, ['s1'], async () => {
        const scheduled = await start('fx', 'daily', '20261005');
        await until('the scheduled run in the ledger', async () => (await listRuns(mysql(), stack.names, { job: 'fx', periodKey: '20261005' }))[0]);
        const result = await rerun('fx', ['daily'], '20261005');
        await scheduled.result();
        // Had the rerun backed up before the scheduled run wrote, its recompute would show as 3 rows added.
        assert.deepEqual([result.periods[0]!.added, result.periods[0]!.changed], [0, 0]);
      });
    } finally {
      await redis().del(key('fx', 'slow'));
    }
    const runs = await listRuns(mysql(), stack.names, { job: 'fx', periodKey: '20261005' });
    const sched = runs.find((r) => r.origin === 'schedule')!;
    const re = runs.find((r) => r.origin === 'rerun')!;
    assert.ok(re.startedAt >= sched.finishedAt!, `rerun started ${re.startedAt}, scheduled finished ${sched.finishedAt}`);
  });

  test('two reruns of one range started together: restoring both, newest first, returns every row', async () => {
    await withSlaves(stack.config, ['s1'], async () => {
      await rerun('fx', ['daily'], '20261006,20261007');
      const before = await fxRows();
      for (const g of [1, 2, 3]) for (const d of ['20261006', '20261007']) await redis().set(key('fx', g, d), String(100 + g));
      const [first, second] = await Promise.all([rerun('fx', ['daily'], '20261006,20261007'), rerun('fx', ['daily'], '20261006,20261007')]);
      const newestFirst = [first, second].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.rerunId < b.rerunId ? 1 : -1));
      for (const r of newestFirst) {
        const { plan } = await rerunPlan(mysql(), stack.names, r.rerunId);
        const steps = restoreSteps(plan, new Map(registry.tasks('fx', ['daily']).map((t) => [t.name, t])));
        await stack.env.client.workflow.execute(restore, { workflowId: stack.names.restoreId(r.rerunId), taskQueue: stack.names.sharedQueue, args: [{ steps }] });
      }
      assert.equal(await fxRows(), before);
      assert.ok((await getRerun(mysql(), stack.names, newestFirst[0]!.rerunId))?.restoredAt);
    });
  });
});

describe('reruns and restores outlive Temporal\'s history', { timeout: 180_000 }, () => {
  test('gflow restore works from MySQL alone after the rerun\'s history is deleted, and is recorded', async () => {
    await withSlaves(stack.config, ['s1'], async () => {
      await rerun('fx', ['daily'], '20261020');
      const before = await fxRows();
      for (const g of [1, 2, 3]) await redis().set(key('fx', g, '20261020'), String(500 + g));
      const changed = await rerun('fx', ['daily'], '20261020');
      assert.notEqual(await fxRows(), before);
      // What the namespace's retention does to a rerun and its children.
      for (const workflowId of [changed.rerunId, stack.names.rerunPeriodId(changed.rerunId, 'daily', '20261020')]) {
        await stack.env.client.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId } });
      }
      await until('the history to be gone', async () => {
        try {
          await stack.env.client.workflow.getHandle(changed.rerunId).describe();
          return undefined;
        } catch {
          return true;
        }
      });
      const restored = await gflow(['restore', changed.rerunId, '--reason', 'wrong inputs'], cliEnv(stack.config));
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(restored.stdout, /restored 1 period\(s\)/);
      assert.equal(await fxRows(), before);
      const record = await getRerun(mysql(), stack.names, changed.rerunId);
      assert.ok(record?.restoredAt);
      assert.match(record?.restoredBy ?? '', /.+@.+/);
      const listed = await gflow(['reruns'], cliEnv(stack.config));
      assert.match(listed.stdout, new RegExp(`${changed.rerunId.replaceAll('.', '\\.')}\\s+rerun\\s+20261020`));
      const unknown = await gflow(['restore', `${changed.rerunId}x`], cliEnv(stack.config));
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^gflow: no rerun ".*x" in the ledger \(see gflow reruns\)\n$/);
    });
  });
});

describe('dependencies and reruns read the ledger', { timeout: 180_000 }, () => {
  test('a rerun of down,up runs up first and down right after, without waiting out the give-up time', async () => {
    const result = await withSlaves(stack.config, ['s1'], () => rerun('lg', ['down', 'up'], '20261008,20261009'));
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(
      result.periods.map((p) => `${p.task} ${p.period.key}`),
      ['up 20261008', 'up 20261009', 'down 20261008', 'down 20261009'],
    );
    assert.equal(await redis().get(key('lg', 'ran', 'down', '20261009')), '1');
    const downRuns = await listRuns(mysql(), stack.names, { job: 'lg', task: 'down', rerunId: result.rerunId });
    assert.deepEqual(
      downRuns.map((r) => r.outcome),
      ['ok', 'ok'],
    );
  });

  test('a rerun of a period not yet over is refused before anything starts', () => {
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    assert.throws(
      () => planRerun(stack.config, { job: 'fx', tasks: registry.tasks('fx', ['daily']), range: today, filters: {}, parallelism: 1, maxPeriods: 400 }),
      /has not ended yet/,
    );
  });

  test('restoring one period of a task whose periods write overlapping rows is refused, naming the periods', () => {
    const input = planRerun(stack.config, { job: 'lg', tasks: registry.tasks('lg', ['cohort']), range: '20261010,20261012', filters: {}, parallelism: 1, maxPeriods: 400 });
    const tasks = new Map(registry.tasks('lg', ['cohort']).map((t) => [t.name, t]));
    assert.throws(() => restoreSteps(input, tasks, '20261011'), /restore periods 20261010\.\.20261012 together/);
    assert.equal(restoreSteps(input, tasks).length, 3);
  });
});

/**
 * Items run by batches (issue 14) against a real dev server, real slaves,
 * Redis and MariaDB: one game failing inside a batch fails only that game
 * and is retried alone; a transient failure is retried alone and succeeds;
 * a cancelled run records what its batches finished and cancels the rest;
 * a slave killed mid-batch loses nothing and doubles nothing, and the retry
 * skips what the dead slave finished. The job: test/fixtures/batch-jobs.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { PlannedItem, RunPlan, RunSummary } from '../../activities/types';
import type { ResultSet } from '../../core/job';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import { listRuns, runItems, type LedgerItem } from '../../store/ledger/runs';
import { progressQuery } from '../../workflows/messages';
import { unitsOf } from '../../workflows/task-run';
import type { Ran } from '../fixtures/batch-jobs/batch';
import { spawnSlave, stopSlaves, waitForSlaves } from '../helpers/processes';
import { startScheduled } from '../helpers/runs';
import { withSlaves } from '../helpers/slaves';
import { startStack, stopStack, type TestStack } from '../helpers/stack';
import { until } from '../helpers/until';

const BATCH_JOBS = resolve(__dirname, '../fixtures/batch-jobs');
let stack: TestStack | undefined;
const mysql = () => getMysql(stack!.config.mysqlUrl);
const redis = () => getRedis(stack!.config.redisUrl);
const key = (...parts: Array<string | number>) => stack!.names.redisKey('batch', ...parts);

before(async () => {
  stack = await startStack({ jobsDir: BATCH_JOBS });
});

after(() => stopStack(stack));

/** Every execution of every item so far, per game: the activity types that ran it, in order. */
async function executions(): Promise<Map<number, Ran[]>> {
  const all = (await redis().lrange(key('ran'), 0, -1)).map((r) => JSON.parse(r) as Ran);
  const byGame = new Map<number, Ran[]>();
  for (const r of all) byGame.set(r.game, [...(byGame.get(r.game) ?? []), r]);
  return byGame;
}

async function ledgerItems(task: string, day: string): Promise<{ outcome: string; items: LedgerItem[] }> {
  const [run] = await listRuns(mysql(), stack!.names, { job: 'batch', task, periodKey: day });
  assert.ok(run, `no ledger run of ${task} ${day}`);
  return { outcome: run.outcome, items: await runItems(mysql(), stack!.names, run.id) };
}

async function scheduledActivities(workflowId: string): Promise<string[]> {
  const history = await stack!.env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

describe('cutting a run into batches', () => {
  const plan = (items: PlannedItem[], concurrency: number, batchSize?: number): RunPlan => ({
    items,
    concurrency,
    maxAttempts: 3,
    itemTimeoutSeconds: 60,
    slaveWaitSeconds: 60,
    slaveFallback: 'fail',
    hasAfterExecute: false,
    ...(batchSize !== undefined && { batchSize }),
  });
  const games = (n: number, pinned: readonly number[] = []): PlannedItem[] =>
    Array.from({ length: n }, (_, index) => ({ index, label: `game ${index + 1}`, game: index + 1, ...(pinned.includes(index + 1) && { slave: 's1' }), item: { game: index + 1 } }));
  const sizes = (p: RunPlan) => unitsOf(p).map((u) => u.map((i) => i.game));

  test('a plan from before batches, or a run with few items, keeps one item per activity', () => {
    assert.deepEqual(sizes(plan(games(500), 10)), Array.from({ length: 500 }, (_, i) => [i + 1]));
    assert.deepEqual(sizes(plan(games(19), 10, 50)), Array.from({ length: 19 }, (_, i) => [i + 1]));
    assert.deepEqual(sizes(plan(games(40), 10, 1)), Array.from({ length: 40 }, (_, i) => [i + 1]));
  });

  test('batches hold at most batchSize items, and there are at least as many as lanes', () => {
    assert.deepEqual(
      unitsOf(plan(games(500), 10, 50)).map((u) => u.length),
      Array.from({ length: 10 }, () => 50),
    );
    assert.deepEqual(
      unitsOf(plan(games(500), 20, 50)).map((u) => u.length),
      Array.from({ length: 20 }, () => 25),
    );
    assert.deepEqual(sizes(plan(games(12), 2, 5)), [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]);
  });

  test('pinned items run alone, the others in batches around them', () => {
    assert.deepEqual(sizes(plan(games(9, [2, 6]), 2, 5)), [[1, 3, 4], [2], [5, 7, 8], [6], [9]]);
  });
});

describe('items in batches', { timeout: 300_000 }, () => {
  test('one game failing inside a batch fails only that game, is retried alone, and a UserError is not retried', async () => {
    await redis().set(key('fail', 3), '1');
    await redis().set(key('user', 9), '1');
    let summary: RunSummary;
    try {
      summary = await withSlaves(stack!.config, ['s1'], async () => (await startScheduled(stack!, 'batch', 'many', '20261101')).result());
    } finally {
      await redis().del(key('fail', 3), key('user', 9));
    }
    assert.equal(summary.outcome, 'partial');
    assert.equal(summary.items, 12);
    assert.equal(summary.ok, 10);
    assert.deepEqual(summary.failed, [
      { label: 'game 3', game: 3, error: 'game 3: source unreachable' },
      { label: 'game 9', game: 9, error: 'game 9: bad input' },
    ]);

    // The ledger: one row per game, with its own outcome, attempts, duration and slave.
    const { outcome, items } = await ledgerItems('many', '20261101');
    assert.equal(outcome, 'partial');
    assert.deepEqual(
      items.map((i) => [i.game, i.outcome, i.attempts]),
      Array.from({ length: 12 }, (_, i) => [i + 1, i + 1 === 3 || i + 1 === 9 ? 'failed' : 'ok', i + 1 === 3 ? 3 : 1]),
    );
    for (const item of items.filter((i) => i.outcome === 'ok')) {
      assert.match(item.slave ?? '', /^s1@/, JSON.stringify(item));
      assert.equal(typeof item.durationMs, 'number');
    }
    assert.match(items[2]!.error ?? '', /game 3: source unreachable/);

    // Game 3 ran once in its batch and twice alone (3 attempts); game 9 once; every other game once, in a batch.
    const ran = await executions();
    assert.deepEqual(ran.get(3)?.map((r) => r.type), ['executeBatch', 'executeItem', 'executeItem']);
    for (let game = 1; game <= 12; game++) if (game !== 3) assert.deepEqual(ran.get(game)?.map((r) => r.type), ['executeBatch'], `game ${game}`);
    const scheduled = await scheduledActivities(stack!.names.runId('batch', 'many', '20261101'));
    assert.equal(scheduled.filter((t) => t === 'executeBatch').length, 3);
    assert.equal(scheduled.filter((t) => t === 'executeItem').length, 1);

    // afterExecute sees every item's outcome, in order, results included.
    const seen = JSON.parse((await redis().get(key('afterExecute', '20261101')))!) as Array<ResultSet<{ game: number }, { game: number; period: string }>>;
    assert.deepEqual(
      seen.map((r) => [r.item.game, r.ok, r.ok ? r.result.game : r.error]),
      Array.from({ length: 12 }, (_, i) => [i + 1, i + 1 !== 3 && i + 1 !== 9, i + 1 === 3 ? 'game 3: source unreachable' : i + 1 === 9 ? 'game 9: bad input' : i + 1]),
    );
  });

  test('a game failing once inside a batch is retried alone and succeeds', async () => {
    await redis().del(key('ran'));
    await redis().set(key('flaky', 7), '1');
    const summary: RunSummary = await withSlaves(stack!.config, ['s1'], async () => (await startScheduled(stack!, 'batch', 'many', '20261102')).result());
    assert.equal(summary.outcome, 'ok');
    assert.equal(summary.ok, 12);
    const { items } = await ledgerItems('many', '20261102');
    assert.deepEqual(
      items.map((i) => [i.game, i.outcome, i.attempts]),
      Array.from({ length: 12 }, (_, i) => [i + 1, 'ok', i + 1 === 7 ? 2 : 1]),
    );
    const ran = await executions();
    assert.deepEqual(ran.get(7)?.map((r) => r.type), ['executeBatch', 'executeItem']);
    for (let game = 1; game <= 12; game++) if (game !== 7) assert.equal(ran.get(game)?.length, 1, `game ${game}`);
  });

  test('an item over its time limit inside a batch fails alone, the batch goes on, and its retry alone succeeds', async () => {
    await redis().del(key('ran'));
    await redis().set(key('late', 2), '1');
    const summary: RunSummary = await withSlaves(stack!.config, ['s1'], async () => (await startScheduled(stack!, 'batch', 'late', '20261105')).result());
    assert.equal(summary.outcome, 'ok');
    const { items } = await ledgerItems('late', '20261105');
    assert.deepEqual(
      items.map((i) => [i.game, i.outcome, i.attempts]),
      [
        [1, 'ok', 1],
        [2, 'ok', 2],
        [3, 'ok', 1],
        [4, 'ok', 1],
      ],
    );
    const ran = await executions();
    assert.deepEqual(ran.get(2)?.map((r) => r.type), ['executeBatch', 'executeItem']);
    for (const game of [3, 4]) assert.deepEqual(ran.get(game)?.map((r) => r.type), ['executeBatch'], `game ${game} ran in the batch after game 2 timed out`);
  });

  test('a run cancelled mid-batch records the finished batches ok and the rest cancelled, and stops its batch', async () => {
    await redis().del(key('ran'));
    await redis().set(key('hold', 11), '1');
    try {
      await withSlaves(stack!.config, ['s1'], async () => {
        const handle = await startScheduled(stack!, 'batch', 'many', '20261103');
        // Games 1–10 are two batches that finish; 11–12 the third, held at game 11.
        await until('two batches done', async () => ((await handle.query(progressQuery).catch(() => undefined))?.done === 10 ? true : undefined));
        await until('game 11 to start', async () => ((await executions()).has(11) ? true : undefined));
        await handle.cancel();
        await assert.rejects(handle.result(), WorkflowFailedError);
        assert.equal((await handle.describe()).status.name, 'CANCELLED');
        // The held item hears of the cancellation (through the batch's heartbeat), and the batch ends there.
        await until('game 11 to see the cancellation', async () => ((await redis().lrange(key('aborted'), 0, -1)).includes('11') ? true : undefined));
      });
    } finally {
      await redis().del(key('hold', 11));
    }
    const { outcome, items } = await ledgerItems('many', '20261103');
    assert.equal(outcome, 'cancelled');
    assert.deepEqual(
      items.map((i) => [i.game, i.outcome]),
      Array.from({ length: 12 }, (_, i) => [i + 1, i + 1 <= 10 ? 'ok' : 'cancelled']),
    );
    const ran = await executions();
    assert.equal(ran.get(11)?.length, 1);
    assert.equal(ran.has(12), false, 'game 12 never started');
  });

  test('a slave killed mid-batch: the retried batch skips what it finished, nothing is lost or doubled', async () => {
    await redis().del(key('ran'));
    await redis().set(key('slow'), '200');
    await redis().set(key('hold', 3), '1');
    const slaves = [spawnSlave(stack!.config, 'a'), spawnSlave(stack!.config, 'b')];
    try {
      await waitForSlaves(stack!.env.client, stack!.config, ['a', 'b']);
      const handle = await startScheduled(stack!, 'batch', 'one', '20261104');
      const held = await until('game 3 to start', async () => (await executions()).get(3)?.[0]);
      // Long enough for a heartbeat to record games 1 and 2 as finished (one a second, sent within 2 s).
      await new Promise((r) => setTimeout(r, 4000));
      const doomed = slaves.find((s) => s.child.pid === held.pid);
      assert.ok(doomed, `no slave process with pid ${held.pid}`);
      doomed.child.kill('SIGKILL');
      await redis().del(key('hold', 3));
      const summary = (await handle.result()) as RunSummary;
      assert.equal(summary.outcome, 'ok');
      assert.equal(summary.ok, 4);

      const ran = await executions();
      // Games 1 and 2 finished on the dead slave and were not run again; game 3 ran there and again elsewhere.
      assert.deepEqual(ran.get(1)?.map((r) => [r.pid, r.attempt]), [[held.pid, 1]]);
      assert.deepEqual(ran.get(2)?.map((r) => [r.pid, r.attempt]), [[held.pid, 1]]);
      assert.deepEqual(ran.get(3)?.map((r) => r.attempt), [1, 2]);
      assert.notEqual(ran.get(3)?.[1]?.pid, held.pid);
      assert.equal(ran.get(4)?.length, 1);

      const { items } = await ledgerItems('one', '20261104');
      assert.deepEqual(
        items.map((i) => [i.game, i.outcome, i.attempts]),
        [
          [1, 'ok', 1],
          [2, 'ok', 1],
          [3, 'ok', 2],
          [4, 'ok', 1],
        ],
      );
      assert.match(items[0]!.slave ?? '', new RegExp(`^${doomed.name}@`));
      assert.doesNotMatch(items[2]!.slave ?? '', new RegExp(`^${doomed.name}@`));
    } finally {
      await redis().del(key('hold', 3), key('slow'));
      await stopSlaves(slaves);
    }
  });
});

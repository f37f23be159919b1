/**
 * Against a real dev server, real slaves and real Redis: a run isolates
 * failing games, pins items to their slaves, hands every result to
 * afterExecute, keeps once-tasks single, and stops when told.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunSummary } from '../../activities/types';
import { Names } from '../../core/names';
import type { Config } from '../../infra/config';
import { JobControl } from '../../client/control';
import { loadJobs } from '../../infra/jobs';
import { findTemporalCli } from '../../dev/temporal-cli';
import { getRedis } from '../../infra/redis';
import { withSlaves } from '../helpers/slaves';
import { startStack, stopStack, type TestStack } from '../helpers/stack';
import { testConfig } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let config: Config;
let names: Names;
const registry = loadJobs(testConfig().jobsDir);

let stack: TestStack | undefined;

before(async () => {
  stack = await startStack();
  ({ env, config, names } = stack);
});

after(() => stopStack(stack));

async function runOnce(task: string): Promise<RunSummary> {
  const control = new JobControl(env.client, config);
  const [action] = await control.start('work', registry.tasks('work', [task]));
  assert.equal(action!.action, 'started once');
  return env.client.workflow.getHandle(action!.id).result() as Promise<RunSummary>;
}

describe('runs', () => {
  test("one game's failure fails that game only, and afterExecute sees every result", async () => {
    const summary = await withSlaves(config, ['s1'], () => runOnce('isolated'));
    assert.equal(summary.items, 3);
    assert.equal(summary.ok, 2);
    assert.deepEqual(summary.failed, [{ label: 'game 2', game: 2, error: 'game 2: database unreachable' }]);
    assert.deepEqual(summary.afterExecute, { ok: true });
    assert.match(summary.period, /^\d{14}$/);

    const seen = JSON.parse((await getRedis(config.redisUrl).get(names.redisKey('test', 'afterExecute')))!) as Array<{
      item: { game: number };
      ok: boolean;
      result?: { game: number };
      error?: string;
    }>;
    // The real temporal CLI finds the run by job, under its readable id.
    const listed = JSON.parse(
      execFileSync(findTemporalCli(), ['workflow', 'list', '--address', env.address, '--query', `GflowJob = 'work' AND GflowPrefix = '${config.prefix}'`, '-o', 'json'], {
        encoding: 'utf8',
      }),
    ) as Array<{ execution: { workflowId: string } }>;
    assert.ok(listed.some((w) => w.execution.workflowId === names.onceRunId('work', 'isolated')), JSON.stringify(listed));

    assert.deepEqual(
      seen.map((r) => [r.item.game, r.ok, r.result?.game ?? r.error]),
      [
        [1, true, 1],
        [2, false, 'game 2: database unreachable'],
        [3, true, 3],
      ],
    );
  });

  test('pinned items run on their slave; the rest on the shared queue', async () => {
    const summary = await withSlaves(config, ['s1', 's2'], () => runOnce('pinned'));
    assert.equal(summary.ok, 4, JSON.stringify(summary.failed));
    const run = env.client.workflow.getHandle(names.onceRunId('work', 'pinned'));
    const history = await run.fetchHistory();
    const queues = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeItem')
      .map((e) => e.activityTaskScheduledEventAttributes!.taskQueue!.name);
    assert.deepEqual(queues.sort(), [names.sharedQueue, names.slaveQueue('s1'), names.slaveQueue('s1'), names.slaveQueue('s2')].sort());
  });

  test('mapTask returning a slave name runs one item on that slave', async () => {
    const summary = await withSlaves(config, ['s1', 's2'], () => runOnce('onSlave'));
    assert.equal(summary.items, 1);
    assert.equal(summary.ok, 1);
  });

  test('an item pinned to a slave nobody runs is reported unavailable', async () => {
    const impatient = { ...config, slaveWaitSeconds: 1 };
    const control = new JobControl(env.client, impatient);
    const summary = await withSlaves(impatient, ['s1'], async () => {
      const [action] = await control.start('work', registry.tasks('work', ['pinned']));
      return env.client.workflow.getHandle(action!.id).result() as Promise<RunSummary>;
    });
    assert.deepEqual(summary.failed.map((f) => f.label), ['game 2']);
    assert.match(summary.failed[0]!.error, /slave s2 unavailable/);
  });

  test('a second start of a running once-task is refused; stop cancels it', async () => {
    const control = new JobControl(env.client, config);
    await withSlaves(config, ['s1'], async () => {
      const tasks = registry.tasks('work', ['slow']);
      const [first] = await control.start('work', tasks);
      assert.equal(first!.action, 'started once');
      const [second] = await control.start('work', tasks);
      assert.equal(second!.refused, true);

      const stopped = await control.stop('work', tasks);
      assert.deepEqual(stopped.map((a) => [a.action, a.id]), [['running run cancelled', first!.id]]);
      const run = env.client.workflow.getHandle(first!.id);
      await assert.rejects(run.result());
      assert.equal((await run.describe()).status.name, 'CANCELLED');
    });
  });
});

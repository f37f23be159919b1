/**
 * Against a real dev server and slave: a run waits for the task it depends
 * on (durable timers), gives up after its give-up time (running anyway or
 * failing, as the task says), and a run that outlives its time limit ends
 * with the still-pending games reported.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import type { RunSummary } from '../../activities/types';
import { Names } from '../../core/names';
import { parsePeriodKey } from '../../core/period';
import type { Config } from '../../infra/config';
import { getRedis } from '../../infra/redis';
import { taskRun } from '../../workflows/task-run';
import { withSlaves } from '../helpers/slaves';
import { startStack, stopStack, type TestStack } from '../helpers/stack';

let env: TestWorkflowEnvironment;
let config: Config;
let names: Names;

let stack: TestStack | undefined;

before(async () => {
  stack = await startStack();
  ({ env, config, names } = stack);
});

after(() => stopStack(stack));

/** Start `deps.<task>` for a day, under the id a scheduled run of that day has. */
function start(task: string, day: string) {
  return env.client.workflow.start(taskRun, {
    workflowId: names.runId('deps', task, day),
    taskQueue: names.sharedQueue,
    args: [{ job: 'deps', task, period: parsePeriodKey('day', day, 'UTC'), prefix: config.prefix }],
  });
}

describe('dependencies (waiteForTask)', () => {
  test('a run waits until its dependency has finished for the same period', async () => {
    await withSlaves(config, ['s1'], async () => {
      const waiting = await start('after', '20261101');
      const source = await start('source', '20261101');
      // The dependent cannot finish before the source, which waits for the release.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await waiting.describe()).status.name, 'RUNNING');
      await getRedis(config.redisUrl).set(names.redisKey('deps', 'release'), '1');
      const summary: RunSummary = await waiting.result();
      assert.equal(summary.ok, 1);
      assert.equal(summary.gaveUpWaitingFor, undefined);
      const [src, dep] = await Promise.all([source.describe(), waiting.describe()]);
      assert.ok(dep.closeTime! >= src.closeTime!, 'the dependent closed after its source');
    });
  });

  test('a dependency that never comes: fail, or run anyway, as the task says', async () => {
    await withSlaves(config, ['s1'], async () => {
      const failing = await start('impatient', '20261102');
      await assert.rejects(failing.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String((err.cause as Error).message), /gave up waiting for deps\.source \(period 20261102\) after 2 s/);
        return true;
      });
      const anyway: RunSummary = await (await start('anyway', '20261102')).result();
      assert.equal(anyway.gaveUpWaitingFor, 'deps.source');
      assert.equal(anyway.ok, 1);
    });
  });
});

describe('time limits (executeTimeout)', () => {
  test('a run cut off at its limit reports the games still pending', async () => {
    const summary: RunSummary = await withSlaves(config, ['s1'], async () => (await start('limited', '20261103')).result());
    assert.deepEqual(summary.timedOut, { afterSeconds: 2, pending: ['game 2'] });
    assert.equal(summary.ok, 1);
  });
});

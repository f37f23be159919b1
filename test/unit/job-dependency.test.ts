/** `waitForTask`, and the original gflow's spelling `waiteForTask` as its alias. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineTask } from '../../core/job';

const base = { name: 't', atExecute: 'd1', execute: () => null };

describe('waitForTask', () => {
  test('either spelling names the dependency, and the loaded task has both', () => {
    for (const spelling of ['waitForTask', 'waiteForTask'] as const) {
      const task = defineTask({ ...base, [spelling]: 'report.active' });
      assert.equal(task.waitForTask, 'report.active');
      assert.equal(task.waiteForTask, 'report.active');
    }
  });

  test('both spellings naming different tasks are refused, naming the task', () => {
    assert.throws(() => defineTask({ ...base, waitForTask: 'a.b', waiteForTask: 'a.c' }), /task t: waitForTask and its alias waiteForTask name different tasks/);
    assert.equal(defineTask({ ...base, waitForTask: 'a.b', waiteForTask: 'a.b' }).waitForTask, 'a.b');
  });

  test('a dependency that is not job.task is refused', () => {
    assert.throws(() => defineTask({ ...base, waitForTask: 'active' }), /must name a task as "job\.task"/);
    assert.equal(defineTask(base).waitForTask, undefined);
  });
});

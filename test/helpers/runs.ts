/** Starting a task's run for a day the way its schedule would: same id, search attributes and origin. */
import { parsePeriodKey } from '../../core/period';
import { runSearchAttributes } from '../../core/search-attributes';
import { taskRun } from '../../workflows/task-run';
import type { TestStack } from './stack';

export function startScheduled(stack: TestStack, job: string, task: string, day: string) {
  return stack.env.client.workflow.start(taskRun, {
    workflowId: stack.names.runId(job, task, day),
    taskQueue: stack.names.sharedQueue,
    args: [{ job, task, period: parsePeriodKey('day', day, 'UTC'), prefix: stack.config.prefix, origin: 'schedule' as const }],
    typedSearchAttributes: runSearchAttributes({ prefix: stack.config.prefix, job, task, period: day }),
  });
}

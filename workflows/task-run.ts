/**
 * One run of one task for one period: `mapTask` → one `execute` activity
 * per item (bounded concurrency, each item isolated from the others'
 * failures) → `afterExecute` with every result → a summary.
 *
 * Started by a schedule (through `scheduledRun`), by `gflow start` for a
 * once-task, and by reruns: one code path for every way a period is computed.
 */
import {
  ActivityFailure,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { RunActivities } from '../activities/run';
import type { ItemOutcome, PlannedItem, RunInput, RunPlan, RunProgress, RunSummary } from '../activities/types';
import { Names } from '../core/names';
import { failureMessage } from './failures';
import { progressQuery } from './messages';
import { mapBounded } from './pool';

const { planRun, afterExecute } = proxyActivities<RunActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['UserError', 'UnknownTask'] },
});

export async function taskRun(input: RunInput): Promise<RunSummary> {
  const startedAt = Date.now();
  const names = new Names(input.prefix);
  let progress: RunProgress = { total: 0, done: 0, failed: 0 };
  setHandler(progressQuery, () => progress);

  const plan = await planRun(input);
  progress = { ...progress, total: plan.items.length };

  const outcomes = await mapBounded(plan.items, plan.concurrency, async (item) => {
    const outcome = await runItem(input, plan, item, names);
    progress = { ...progress, done: progress.done + 1, failed: progress.failed + (outcome.ok ? 0 : 1) };
    return outcome;
  });

  let after: RunSummary['afterExecute'];
  if (plan.hasAfterExecute) {
    try {
      await afterExecute(input, outcomes, plan.items);
      after = { ok: true };
    } catch (err) {
      if (isCancellation(err)) throw err;
      after = { ok: false, error: failureMessage(err) };
    }
  }

  const failed = outcomes.flatMap((o) => (o.ok ? [] : [{ label: o.label, ...(o.game !== undefined && { game: o.game }), error: o.error }]));
  return {
    job: input.job,
    task: input.task,
    period: input.period.key,
    items: outcomes.length,
    ok: outcomes.length - failed.length,
    games: [...new Set(outcomes.flatMap((o) => (o.game === undefined ? [] : [o.game])))],
    failed,
    ...(after && { afterExecute: after }),
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
  };
}

async function runItem(input: RunInput, plan: RunPlan, item: PlannedItem, names: Names): Promise<ItemOutcome> {
  const options: ActivityOptions = {
    taskQueue: item.slave ? names.slaveQueue(item.slave) : workflowInfo().taskQueue,
    startToCloseTimeout: `${plan.itemTimeoutSeconds}s`,
    // A pinned item waits for its slave a bounded time; the timeout is not retried.
    ...(item.slave && { scheduleToStartTimeout: `${plan.slaveWaitSeconds}s` }),
    retry: { maximumAttempts: plan.maxAttempts, nonRetryableErrorTypes: ['UserError', 'UnknownTask'] },
    summary: `${item.label} · ${input.period.key}`,
  };
  const { executeItem } = proxyActivities<RunActivities>(options);
  const base = { index: item.index, label: item.label, ...(item.game !== undefined && { game: item.game }), ...(item.slave && { slave: item.slave }) };
  try {
    return { ...base, ok: true, result: await executeItem(input, item) };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const error = item.slave && isScheduleToStartTimeout(err) ? `slave ${item.slave} unavailable (no worker polled its queue for ${plan.slaveWaitSeconds} s)` : failureMessage(err);
    return { ...base, ok: false, error };
  }
}

function isScheduleToStartTimeout(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

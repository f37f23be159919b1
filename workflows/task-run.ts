/**
 * One run of one task for one period: wait for the task it depends on
 * (if any), `mapTask` → one `execute` activity per item (bounded
 * concurrency, each item isolated from the others' failures, the whole
 * within the run's time limit) → `afterExecute` with every result → a summary.
 *
 * Started by a schedule (through `scheduledRun`), by `gflow start` for a
 * once-task, and by reruns: one code path for every way a period is computed.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Incident } from '../activities/alerts';
import type { RunActivities } from '../activities/run';
import type { ItemOutcome, PlannedItem, RunInput, RunPlan, RunProgress, RunSettings, RunSummary } from '../activities/types';
import { Names } from '../core/names';
import { raise } from './alerts';
import { failureMessage } from './failures';
import { progressQuery } from './messages';
import { mapBounded } from './pool';

const { dependencyState, planRun, afterExecute } = proxyActivities<RunActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['UserError', 'UnknownTask'] },
});

// Reading the task's definition does no I/O: a local activity spares a round trip through the server.
const { runSettings } = proxyLocalActivities<RunActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['UserError', 'UnknownTask'] },
});

export async function taskRun(input: RunInput): Promise<RunSummary> {
  const startedAt = Date.now();
  const names = new Names(input.prefix);
  let progress: RunProgress = { total: 0, done: 0, failed: 0 };
  setHandler(progressQuery, () => progress);

  const settings = await runSettings(input);
  const gaveUpWaitingFor = settings.dependency ? await waitForDependency(input, settings.dependency) : undefined;
  if (gaveUpWaitingFor) await alert(input, 'gaveUp', `gave up waiting for ${gaveUpWaitingFor} after ${settings.dependency!.giveUpSeconds} s; running anyway`);

  const plan = await planRun(input);
  progress = { ...progress, total: plan.items.length };
  const outcomes = new Map<number, ItemOutcome>();
  const itemsScope = new CancellationScope();
  const items = itemsScope.run(() =>
    mapBounded(plan.items, plan.concurrency, async (item) => {
      const outcome = await runItem(input, plan, item, names);
      outcomes.set(item.index, outcome);
      progress = { ...progress, done: progress.done + 1, failed: progress.failed + (outcome.ok ? 0 : 1) };
    }),
  );
  const timedOut = await withinLimit(items, itemsScope, settings.timeoutSeconds);

  const settled = plan.items.flatMap((i) => outcomes.get(i.index) ?? []);
  let after: RunSummary['afterExecute'];
  if (plan.hasAfterExecute) {
    try {
      await afterExecute(input, settled, plan.items);
      after = { ok: true };
    } catch (err) {
      if (isCancellation(err)) throw err;
      after = { ok: false, error: failureMessage(err) };
    }
  }

  const failed = settled.flatMap((o) => (o.ok ? [] : [{ label: o.label, ...(o.game !== undefined && { game: o.game }), error: o.error }]));
  if (failed.length > 0) await alert(input, 'gamesFailed', `${failed.length} of ${plan.items.length} items failed`, failed);
  if (timedOut) {
    const pending = plan.items.filter((i) => !outcomes.has(i.index)).map((i) => ({ ...(i.game !== undefined && { game: i.game }), label: i.label, error: 'pending at the time limit' }));
    await alert(input, 'timeout', `cut off after ${settings.timeoutSeconds} s, ${pending.length} items pending`, pending);
  }
  return {
    job: input.job,
    task: input.task,
    period: input.period.key,
    items: plan.items.length,
    ok: settled.length - failed.length,
    games: [...new Set(plan.items.flatMap((i) => (i.game === undefined ? [] : [i.game])))],
    failed,
    ...(after && { afterExecute: after }),
    ...(timedOut && { timedOut: { afterSeconds: settings.timeoutSeconds!, pending: plan.items.filter((i) => !outcomes.has(i.index)).map((i) => i.label) } }),
    ...(gaveUpWaitingFor && { gaveUpWaitingFor }),
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
  };
}

/**
 * Race the items against the run's time limit; at the limit, cancel the
 * items still running (they are reported as pending). Returns whether the
 * limit struck.
 */
async function withinLimit(items: Promise<unknown>, itemsScope: CancellationScope, seconds: number | undefined): Promise<boolean> {
  if (seconds === undefined) {
    await items;
    return false;
  }
  const timerScope = new CancellationScope();
  // A cancelled timer rejects: map that to 'done' so no rejection is left unhandled.
  const limit = timerScope.run(() => sleep(`${seconds}s`)).then(
    () => 'limit' as const,
    () => 'done' as const,
  );
  const winner = await Promise.race([items.then(() => 'done' as const), limit]);
  if (winner === 'done') {
    timerScope.cancel();
    return false;
  }
  itemsScope.cancel();
  await items.catch((err: unknown) => {
    if (!isCancellation(err)) throw err;
  });
  return true;
}

/** Wait, with durable timers, until the dependency's run for this period succeeded or the give-up time passed. */
async function waitForDependency(input: RunInput, dep: NonNullable<RunSettings['dependency']>): Promise<string | undefined> {
  const name = `${dep.job}.${dep.task}`;
  const deadline = workflowInfo().startTime.getTime() + dep.giveUpSeconds * 1000;
  const pollMs = Math.min(30_000, Math.max(1000, (dep.giveUpSeconds * 1000) / 20));
  for (;;) {
    if ((await dependencyState(input, dep.job, dep.task)) === 'succeeded') return undefined;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(pollMs, deadline - Date.now()));
  }
  if (dep.onGiveUp === 'fail') {
    await alert(input, 'gaveUp', `gave up waiting for ${name} after ${dep.giveUpSeconds} s; run failed`);
    throw ApplicationFailure.create({
      message: `gave up waiting for ${name} (period ${input.period.key}) after ${dep.giveUpSeconds} s`,
      type: 'DependencyGaveUp',
      nonRetryable: true,
    });
  }
  return name;
}

async function runItem(input: RunInput, plan: RunPlan, item: PlannedItem, names: Names): Promise<ItemOutcome> {
  const base = { index: item.index, label: item.label, ...(item.game !== undefined && { game: item.game }), ...(item.slave && { slave: item.slave }) };
  try {
    return { ...base, ok: true, result: await execute(input, plan, item, item.slave ? names.slaveQueue(item.slave) : workflowInfo().taskQueue) };
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (item.slave && isScheduleToStartTimeout(err)) {
      if (plan.slaveFallback === 'shared') {
        try {
          return { ...base, ok: true, result: await execute(input, plan, item, workflowInfo().taskQueue) };
        } catch (retryErr) {
          if (isCancellation(retryErr)) throw retryErr;
          return { ...base, ok: false, error: failureMessage(retryErr) };
        }
      }
      return { ...base, ok: false, error: `slave ${item.slave} unavailable (no worker polled its queue for ${plan.slaveWaitSeconds} s)` };
    }
    return { ...base, ok: false, error: failureMessage(err) };
  }
}

function execute(input: RunInput, plan: RunPlan, item: PlannedItem, taskQueue: string): Promise<unknown> {
  const pinned = taskQueue !== workflowInfo().taskQueue;
  const options: ActivityOptions = {
    taskQueue,
    startToCloseTimeout: `${plan.itemTimeoutSeconds}s`,
    // A pinned item waits for its slave a bounded time; that timeout is never retried.
    ...(pinned && { scheduleToStartTimeout: `${plan.slaveWaitSeconds}s` }),
    retry: { maximumAttempts: plan.maxAttempts, nonRetryableErrorTypes: ['UserError', 'UnknownTask'] },
    summary: `${item.label} · ${input.period.key}`,
  };
  return proxyActivities<RunActivities>(options).executeItem(input, item);
}

function alert(input: RunInput, kind: Incident['kind'], summary: string, games?: Incident['games']): Promise<void> {
  if (input.alerts === false) return Promise.resolve();
  return raise({ kind, job: input.job, task: input.task, period: input.period.key, runId: workflowInfo().workflowId, summary, ...(games && { games }) });
}

function isScheduleToStartTimeout(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

/**
 * One run of one task for one period: record it in the ledger, claim the
 * task's period (one writer at a time), wait for the task it depends on (if
 * any), `mapTask` → the items, each run by an `execute` activity of its own
 * or, when the run has many, by batches of them (bounded concurrency, each
 * item isolated from the others' failures, the whole within the run's time
 * limit) → `afterExecute` → the task's checks → the outcome, written to the
 * ledger and shown in Temporal (`GflowOutcome`, the run's details).
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
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Incident } from '../activities/alerts';
import type { CheckCounts, LedgerActivities } from '../activities/ledger';
import type { RunActivities } from '../activities/run';
import type {
  BatchItemOutcome,
  BatchProgress,
  BatchResult,
  ExecutedItem,
  ItemOutcome,
  PlannedItem,
  RunInput,
  RunPlan,
  RunProgress,
  RunSettings,
  RunSummary,
} from '../activities/types';
import { Names, searchAttributes } from '../core/names';
import { decideOutcome, outcomeWords, type FinalOutcome } from '../core/outcome';
import type { LedgerItem } from '../activities/ledger';
import { raise } from './alerts';
import { failureMessage } from './failures';
import { progressQuery } from './messages';
import { claimPeriod, releasePeriod } from './period-lock';
import { cutBatches, mapBounded } from './pool';
import { DEPENDENCY_GAVE_UP, retryPolicy } from '../core/retry';

const { planRun, afterExecute } = proxyActivities<RunActivities>({
  startToCloseTimeout: '10 minutes',
  // A slave killed mid-mapTask is noticed within a minute, not after the 10-minute limit.
  heartbeatTimeout: '1 minute',
  retry: retryPolicy(5),
});

const { ledgerOpen, ledgerClose, dependencyState, runChecks } = proxyActivities<LedgerActivities>({
  startToCloseTimeout: '2 minutes',
  retry: retryPolicy(10),
});

// Reading the task's definition does no I/O: a local activity spares a round trip through the server.
const { runSettings } = proxyLocalActivities<RunActivities>({
  startToCloseTimeout: '1 minute',
  retry: retryPolicy(5),
});

/** An item's error text kept in the ledger and in the run's result. */
const MAX_ERROR_CHARS = 2000;

/**
 * Attempts of one batch activity. It fails only when its slave does (a
 * heartbeat timeout): one retry rides out a slave restarted or killed
 * mid-batch, skipping what it finished; a second death suggests an item that
 * kills its slave, so the items left run one per activity, where only that
 * item fails.
 */
const BATCH_ATTEMPTS = 2;

/** Before the items that failed in a batch are retried alone: the item policy's first backoff. */
const RETRY_ALONE_AFTER = '1s';

export async function taskRun(input: RunInput): Promise<RunSummary> {
  const startedAt = workflowInfo().startTime.getTime();
  const names = new Names(input.prefix);
  const holder = input.periodHeldBy ?? workflowInfo().workflowId;
  let progress: RunProgress = { total: 0, done: 0, failed: 0 };
  setHandler(progressQuery, () => progress);

  const ledgerId = await ledgerOpen(input, startedAt);
  let plan: RunPlan | undefined;
  const outcomes = new Map<number, ItemOutcome>();
  let claimed = false;
  try {
    if (input.periodHeldBy === undefined) {
      await claimPeriod(input, holder);
      claimed = true;
    }
    const settings = await runSettings(input);
    const gaveUpWaitingFor = settings.dependency ? await waitForDependency(input, settings.dependency) : undefined;
    if (gaveUpWaitingFor) await alert(input, 'gaveUp', `gave up waiting for ${gaveUpWaitingFor} after ${settings.dependency!.giveUpSeconds} s; running anyway`);

    setCurrentDetails('mapping items');
    const planned = await planRun(input);
    plan = planned;
    progress = { ...progress, total: planned.items.length };
    setCurrentDetails(`running ${planned.items.length} items`);
    const itemsScope = new CancellationScope();
    const settle = (outcome: ItemOutcome): void => {
      outcomes.set(outcome.index, outcome);
      progress = { ...progress, done: progress.done + 1, failed: progress.failed + (outcome.ok ? 0 : 1) };
    };
    // A unit of one item runs exactly as before batches existed (and as a replayed older run scheduled it).
    const items = itemsScope.run(() =>
      mapBounded(unitsOf(planned), planned.concurrency, async (unit) => {
        if (unit.length === 1) settle(await runItem(input, planned, unit[0]!, names));
        else await runBatch(input, planned, unit, names, settle);
      }),
    );
    const timedOut = await withinLimit(items, itemsScope, settings.timeoutSeconds);

    const settled = planned.items.flatMap((i) => outcomes.get(i.index) ?? []);
    let after: RunSummary['afterExecute'];
    if (planned.hasAfterExecute) {
      try {
        await afterExecute(input, settled, planned.items);
        after = { ok: true };
      } catch (err) {
        if (isCancellation(err)) throw err;
        after = { ok: false, error: failureMessage(err) };
      }
    }

    const games = [...new Set(planned.items.flatMap((i) => (i.game === undefined ? [] : [i.game])))];
    const checks = await runChecks(input, ledgerId, games);
    const failed = settled.flatMap((o) => (o.ok ? [] : [{ label: o.label, ...(o.game !== undefined && { game: o.game }), error: o.error }]));
    const pending = planned.items.filter((i) => !outcomes.has(i.index));
    const outcome = decideOutcome({ cancelled: false, timedOut, itemsFailed: failed.length, afterExecuteFailed: after?.ok === false });
    const summary: RunSummary = {
      outcome,
      ledgerId,
      checkErrors: checks.errors,
      checkWarnings: checks.warnings,
      job: input.job,
      task: input.task,
      period: input.period.key,
      items: planned.items.length,
      ok: settled.length - failed.length,
      games,
      failed,
      ...(after && { afterExecute: after }),
      ...(timedOut && { timedOut: { afterSeconds: settings.timeoutSeconds!, pending: pending.map((i) => i.label) } }),
      ...(gaveUpWaitingFor && { gaveUpWaitingFor }),
      startedAt: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt,
    };
    await record(ledgerId, outcome, planned, outcomes, detailsOf(summary));
    await alertOutcome(input, summary, pending, checks);
    return summary;
  } catch (err) {
    const cancelled = isCancellation(err);
    const cause = cancelled ? undefined : failureMessage(err);
    await CancellationScope.nonCancellable(async () => {
      const outcome = decideOutcome({ cancelled, error: cause ?? '', timedOut: false, itemsFailed: 0, afterExecuteFailed: false });
      const details = cancelled
        ? `cancelled${plan ? `; ${outcomes.size} of ${plan.items.length} items had finished` : ''}`
        : `failed: ${cause}`;
      await record(ledgerId, outcome, plan, outcomes, details, cause);
      if (!cancelled) await alert(input, 'runFailed', `run failed: ${cause}`);
    });
    throw err;
  } finally {
    if (claimed) await releasePeriod(input, holder);
  }
}

/** Ledger, search attribute and the run's details: the three places an outcome shows. */
async function record(ledgerId: number, outcome: FinalOutcome, plan: RunPlan | undefined, outcomes: ReadonlyMap<number, ItemOutcome>, details: string, error?: string): Promise<void> {
  const items: LedgerItem[] = (plan?.items ?? []).map((item) => ledgerItem(item, outcomes.get(item.index), outcome));
  await ledgerClose(ledgerId, { outcome, finishedAt: Date.now(), items, ...(error !== undefined && { error: error.slice(0, MAX_ERROR_CHARS) }) });
  upsertSearchAttributes([{ key: searchAttributes.outcome, value: outcome }]);
  setCurrentDetails(details);
}

function ledgerItem(item: PlannedItem, settled: ItemOutcome | undefined, runOutcome: FinalOutcome): LedgerItem {
  const base = { index: item.index, label: item.label, ...(item.game !== undefined && { game: item.game }) };
  if (!settled) return { ...base, ...(item.slave && { slave: item.slave }), attempts: 0, outcome: runOutcome === 'cancelled' ? 'cancelled' : 'pending' };
  const where = settled.ranOn ?? settled.slave;
  return {
    ...base,
    ...(where && { slave: where }),
    attempts: settled.attempts ?? 1,
    outcome: settled.ok ? 'ok' : 'failed',
    ...(!settled.ok && { error: settled.error.slice(0, MAX_ERROR_CHARS) }),
    ...(settled.durationMs !== undefined && { durationMs: settled.durationMs }),
  };
}

/** "2 of 200 games failed: game 7: …": what the web UI shows as the run's details. */
function detailsOf(summary: RunSummary): string {
  const parts = [`${outcomeWords(summary.outcome)}: ${summary.ok} of ${summary.items} items ok`];
  if (summary.failed.length > 0) {
    parts.push(`${summary.failed.length} of ${summary.items} failed: ${summary.failed.slice(0, 3).map((f) => `${f.label}: ${f.error}`).join('; ')}${summary.failed.length > 3 ? '; …' : ''}`);
  }
  if (summary.timedOut) parts.push(`cut off after ${summary.timedOut.afterSeconds} s with ${summary.timedOut.pending.length} pending`);
  if (summary.checkErrors > 0) parts.push(`${summary.checkErrors} check errors`);
  if (summary.afterExecute?.ok === false) parts.push(`afterExecute failed: ${summary.afterExecute.error}`);
  return parts.join('; ');
}

async function alertOutcome(input: RunInput, summary: RunSummary, pending: readonly PlannedItem[], checks: CheckCounts): Promise<void> {
  if (summary.failed.length > 0) await alert(input, 'gamesFailed', `${summary.failed.length} of ${summary.items} items failed`, summary.failed);
  if (summary.timedOut) {
    await alert(
      input,
      'timeout',
      `cut off after ${summary.timedOut.afterSeconds} s, ${pending.length} items pending`,
      pending.map((i) => ({ ...(i.game !== undefined && { game: i.game }), label: i.label, error: 'pending at the time limit' })),
    );
  }
  if (checks.errors > 0) await alert(input, 'checksFailed', `${checks.errors} check errors (gflow status shows them)`, checks.firstErrors);
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

/**
 * Wait, with durable timers, until some run of the dependency for this
 * period succeeded (the ledger knows: scheduled, rerun or retry) or the
 * give-up time passed. Polls fast first, so a dependency that just finished
 * is seen at once.
 */
async function waitForDependency(input: RunInput, dep: NonNullable<RunSettings['dependency']>): Promise<string | undefined> {
  const name = `${dep.job}.${dep.task}`;
  const deadline = workflowInfo().startTime.getTime() + dep.giveUpSeconds * 1000;
  const longest = Math.min(30_000, Math.max(1000, (dep.giveUpSeconds * 1000) / 20));
  for (let pollMs = 1000; ; pollMs = Math.min(longest, pollMs * 2)) {
    if ((await dependencyState(input, dep.job, dep.task)) === 'succeeded') return undefined;
    if (Date.now() >= deadline) break;
    setCurrentDetails(`waiting for ${name} ${input.period.key} to succeed`);
    await sleep(Math.min(pollMs, deadline - Date.now()));
  }
  if (dep.onGiveUp === 'fail') {
    await alert(input, 'gaveUp', `gave up waiting for ${name} after ${dep.giveUpSeconds} s; run failed`);
    throw ApplicationFailure.create({
      message: `gave up waiting for ${name} (period ${input.period.key}) after ${dep.giveUpSeconds} s`,
      type: DEPENDENCY_GAVE_UP,
      nonRetryable: true,
    });
  }
  return name;
}

/**
 * The units a run's lanes take, in order: batches of unpinned items when the
 * run has many of them, else one item each (as every run did before batches).
 *
 * A batch holds at most the task's `batchSize` items, and the run is cut into
 * at least `concurrency` batches: batching never leaves a lane idle nor piles
 * a mid-sized run onto one slave, and, since a batch runs its items one at a
 * time, a run still executes at most `concurrency` items at once. A run with
 * fewer than twice `concurrency` unpinned items gains little and keeps one
 * activity per item. Pinned items always run alone, on their slave's queue.
 */
export function unitsOf(plan: RunPlan): PlannedItem[][] {
  const shared = plan.items.filter((i) => !i.slave).length;
  const size = Math.min(plan.batchSize ?? 1, Math.floor(shared / plan.concurrency));
  return size < 2 ? plan.items.map((i) => [i]) : cutBatches(plan.items, size, (i) => i.slave !== undefined);
}

/**
 * Run `items` as batches, settling each item once its outcome is final.
 *
 * - An item that failed with a retryable error is retried alone, once the
 *   batch has returned, by an item activity with the attempts it has left
 *   (`maxAttempts` less those it used): one game's failure fails only that
 *   game, and retries only it. A non-retryable failure (`UserError`) is
 *   final at once, as for an item activity.
 * - Items a stopping slave left unrun go back into a batch, to another slave.
 * - A batch that failed as a whole (its slave died twice; or the slave lacks
 *   the task) keeps what its last heartbeat recorded as finished; the rest
 *   run one per activity (or fail, if no retry can mend it).
 *
 * Everything happens in the lane that took the batch, so the run's bound on
 * items at once holds; a cancelled run or one at its time limit cancels the
 * batch and its items are reported pending, like a running item activity's.
 */
async function runBatch(input: RunInput, plan: RunPlan, items: readonly PlannedItem[], names: Names, settle: (outcome: ItemOutcome) => void): Promise<void> {
  const alone: Array<{ item: PlannedItem; used: number }> = [];
  const take = (item: PlannedItem, o: BatchItemOutcome): void => {
    if (o.ok) settle({ ...baseOf(item), ok: true, result: o.result, attempts: o.attempts, ranOn: o.ranOn, durationMs: o.durationMs });
    else if (o.retryable && o.attempts < plan.maxAttempts) alone.push({ item, used: o.attempts });
    else settle({ ...baseOf(item), ok: false, error: o.error, attempts: o.attempts });
  };
  let todo = items;
  while (todo.length > 0) {
    let result: BatchResult;
    try {
      result = await executeBatch(input, plan, todo);
    } catch (err) {
      if (isCancellation(err)) throw err;
      const last = lastProgress(err);
      const finished = new Map((last?.done ?? []).map((o) => [o.index, o]));
      for (const item of todo) {
        const o = finished.get(item.index);
        if (o) take(item, o);
        else if (isNonRetryable(err)) settle({ ...baseOf(item), ok: false, error: failureMessage(err), attempts: 1 });
        else alone.push({ item, used: last?.tries[item.index] ?? 0 });
      }
      break;
    }
    const ran = new Map(result.outcomes.map((o) => [o.index, o]));
    for (const item of todo) {
      const o = ran.get(item.index);
      if (o) take(item, o);
    }
    const unrun = todo.filter((i) => !ran.has(i.index));
    // A batch that ran nothing (its slave stopping as it began): the rest go one per activity rather than loop.
    if (unrun.length === todo.length) {
      alone.push(...unrun.map((item) => ({ item, used: 0 })));
      break;
    }
    todo = unrun;
  }
  // One pause for all of them: each failed a while ago, somewhere in the batch.
  if (alone.some((a) => a.used > 0)) await sleep(RETRY_ALONE_AFTER);
  for (const { item, used } of alone) settle(await runItem(input, plan, item, names, used));
}

function baseOf(item: PlannedItem): Pick<ItemOutcome, 'index' | 'label' | 'game' | 'slave'> {
  return { index: item.index, label: item.label, ...(item.game !== undefined && { game: item.game }), ...(item.slave && { slave: item.slave }) };
}

/** What the batch's last heartbeat recorded, when it failed by a heartbeat timeout (its slave died). */
function lastProgress(err: unknown): BatchProgress | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  const details: unknown = cause instanceof TimeoutFailure ? cause.lastHeartbeatDetails : undefined;
  const d = details as Partial<BatchProgress> | null | undefined;
  return typeof d === 'object' && d !== null && d.batch === 1 && Array.isArray(d.done) && typeof d.tries === 'object' && d.tries !== null ? (d as BatchProgress) : undefined;
}

function isNonRetryable(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.nonRetryable === true;
}

/**
 * One item as its own activity. `used`: attempts it already had in a batch;
 * it then has the rest of `maxAttempts` (at least one), and the ledger counts
 * them all.
 */
async function runItem(input: RunInput, plan: RunPlan, item: PlannedItem, names: Names, used = 0): Promise<ItemOutcome> {
  const base = baseOf(item);
  const attempts = Math.max(1, plan.maxAttempts - used);
  const ran = (done: ExecutedItem): ItemOutcome => ({ ...base, ok: true, result: done.result, attempts: used + done.attempt, ranOn: done.ranOn, durationMs: done.durationMs });
  const failed = (err: unknown): ItemOutcome => ({ ...base, ok: false, error: failureMessage(err), attempts: used + attemptsOf(err, attempts) });
  try {
    return ran(await execute(input, plan, item, item.slave ? names.slaveQueue(item.slave) : workflowInfo().taskQueue, attempts));
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (item.slave && isScheduleToStartTimeout(err)) {
      if (plan.slaveFallback === 'shared') {
        try {
          return ran(await execute(input, plan, item, workflowInfo().taskQueue, attempts));
        } catch (retryErr) {
          if (isCancellation(retryErr)) throw retryErr;
          return failed(retryErr);
        }
      }
      return { ...base, ok: false, error: `slave ${item.slave} unavailable (no worker polled its queue for ${plan.slaveWaitSeconds} s)`, attempts: 0 };
    }
    return failed(err);
  }
}

/** A non-retryable failure ends after its first attempt that says so; otherwise the policy ran out. */
function attemptsOf(err: unknown, maxAttempts: number): number {
  return isNonRetryable(err) ? 1 : maxAttempts;
}

function execute(input: RunInput, plan: RunPlan, item: PlannedItem, taskQueue: string, maxAttempts: number): Promise<ExecutedItem> {
  const pinned = taskQueue !== workflowInfo().taskQueue;
  const options: ActivityOptions = {
    taskQueue,
    startToCloseTimeout: `${plan.itemTimeoutSeconds}s`,
    // gflow heartbeats every item while it runs: a killed slave's item is retried elsewhere within a minute.
    heartbeatTimeout: '1 minute',
    // A pinned item waits for its slave a bounded time; that timeout is never retried.
    ...(pinned && { scheduleToStartTimeout: `${plan.slaveWaitSeconds}s` }),
    retry: retryPolicy(maxAttempts),
    summary: `${item.label} · ${input.period.key}`,
  };
  return proxyActivities<RunActivities>(options).executeItem(input, item);
}

function executeBatch(input: RunInput, plan: RunPlan, items: readonly PlannedItem[]): Promise<BatchResult> {
  const options: ActivityOptions = {
    // Each item has the task's time limit inside the batch; this only backs them up.
    startToCloseTimeout: `${items.length * plan.itemTimeoutSeconds + 60}s`,
    // As for an item: a killed slave's batch is retried elsewhere within a minute, from its last heartbeat.
    heartbeatTimeout: '1 minute',
    retry: retryPolicy(BATCH_ATTEMPTS),
    summary: `${items[0]!.label} … ${items[items.length - 1]!.label} (${items.length} items) · ${input.period.key}`,
  };
  // Results travel only to afterExecute: without one, the history need not carry them.
  return proxyActivities<RunActivities>(options).executeBatch(input, items, { itemTimeoutSeconds: plan.itemTimeoutSeconds, keepResults: plan.hasAfterExecute });
}

function alert(input: RunInput, kind: Incident['kind'], summary: string, games?: Incident['games']): Promise<void> {
  if (input.alerts === false) return Promise.resolve();
  return raise({ kind, job: input.job, task: input.task, period: input.period.key, runId: workflowInfo().workflowId, summary, ...(games && { games }) });
}

function isScheduleToStartTimeout(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

/**
 * A rerun: for every period of a range, as durable steps, (a) back up the
 * rows the task owns, (b) recompute the period with `taskRun` — the code
 * path of scheduled runs, so a rerun of P computes what the schedule did —,
 * whose run checks the rows, (c) diff the new rows against the backup. The
 * rerun holds the task's period in the ledger across all three, so no
 * scheduled run or other rerun writes it in between, and records itself in
 * the ledger (plan, who, why, outcome) so restore works from MySQL alone.
 *
 * Periods run with bounded parallelism (one at a time for tasks that ask),
 * each recompute a child workflow `<rerun>.<task>.<period>`. The rerun
 * continues as new every few hundred periods, so a year of days over
 * hundreds of games stays far inside Temporal's history limits.
 */
import {
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { RerunActivities } from '../activities/rerun';
import type { PeriodResult, RerunStep, RunSummary } from '../activities/types';
import type { RunFilters } from '../core/job';
import type { StartedBy } from '../core/outcome';
import { Names } from '../core/names';
import type { Period } from '../core/period';
import { periodsOf, type PeriodRange } from '../core/range';
import { retryPolicy } from '../core/retry';
import { runSearchAttributes } from '../core/search-attributes';
import { rerunProgressQuery, type RerunProgress } from './messages';
import { raise } from './alerts';
import { claimPeriod, releasePeriod } from './period-lock';
import { mapBounded } from './pool';
import { failureMessage } from './failures';
import { taskRun } from './task-run';

const { rerunSnapshot, rerunDiff, rerunOpen, rerunClose, rerunsAhead, restoreBackup } = proxyActivities<RerunActivities>({
  startToCloseTimeout: '2 minutes',
  retry: retryPolicy(undefined, { initialInterval: '1s', maximumInterval: '30s' }),
});

/** Periods a run handles before it continues as new: ~25 history events each, far below the 51,200 limit. */
const PERIODS_PER_RUN = 200;

export interface RerunTaskPlan {
  readonly task: string;
  /** The periods' span; every period in it is recomputed unless `cells` names some. */
  readonly range: PeriodRange;
  readonly sequential: boolean;
  /** What to do with a period whose error-level checks fail: keep the new rows and report, or put the backup back at once. @defaultValue `'keep'` */
  readonly onCheckError?: 'keep' | 'rollback';
  /** A retry: only these periods, each for only these games (the failed or missing cells). */
  readonly cells?: ReadonlyArray<{ readonly period: Period; readonly games: readonly number[] }>;
}

/** Every (task, period) a plan recomputes, with the games of each when it is a retry of chosen cells. */
export function planSteps(tasks: readonly RerunTaskPlan[]): Array<{ plan: RerunTaskPlan; period: Period; games?: readonly number[] }> {
  return tasks.flatMap((plan) => (plan.cells ? plan.cells.map((c) => ({ plan, period: c.period, games: c.games })) : periodsOf(plan.range).map((period) => ({ plan, period }))));
}

export interface RerunInput {
  readonly rerunId: string;
  readonly job: string;
  readonly prefix: string;
  readonly tasks: readonly RerunTaskPlan[];
  readonly filters: RunFilters;
  /** A rerun of a range, or a retry of chosen cells (recorded as such in the ledger). @defaultValue `'rerun'` */
  readonly kind?: 'rerun' | 'retry';
  /** Who started it, and why. */
  readonly startedBy?: StartedBy;
  /** Periods recomputed at once. */
  readonly parallelism: number;
  /** Periods per workflow run before continuing as new. @defaultValue 200 */
  readonly periodsPerRun?: number;
  /** Carried across continue-as-new. */
  readonly carried?: { readonly done: number; readonly results: readonly PeriodResult[]; readonly startedAt: number };
}

export interface RerunResult {
  readonly rerunId: string;
  /** A rerun of a range or a retry of chosen cells. */
  readonly kind?: 'rerun' | 'retry';
  readonly job: string;
  readonly filters: RunFilters;
  readonly periods: readonly PeriodResult[];
  readonly ok: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
}

interface WorkItem {
  readonly plan: RerunTaskPlan;
  readonly period: Period;
  /** A retry's games for this period; else the rerun's `-g` filter. */
  readonly games?: readonly number[];
}

export async function rerun(input: RerunInput): Promise<RerunResult> {
  const names = new Names(input.prefix);
  const work: WorkItem[] = planSteps(input.tasks);
  const results: PeriodResult[] = [...(input.carried?.results ?? [])];
  const startedAt = input.carried?.startedAt ?? Date.now();
  let done = input.carried?.done ?? 0;
  const running = new Set<string>();
  setHandler(rerunProgressQuery, (): RerunProgress => ({
    total: work.length,
    done,
    gamesFailed: results.reduce((n, r) => n + r.gamesFailed.length, 0),
    checksFailed: results.reduce((n, r) => n + r.checkErrors, 0),
    periodsFailed: results.filter((r) => r.error).length,
    startedAt: new Date(startedAt).toISOString(),
    running: [...running],
  }));

  if (!input.carried) {
    const { rerunId, job, filters, kind, startedBy } = input;
    await rerunOpen({ rerunId, job, kind: kind ?? 'rerun', plan: input, filters, ...(startedBy && { startedBy }), startedAt: startedAt });
  }
  try {
    if (!input.carried) await waitForRerunsAhead(input);
    return await runAll(input, names, work, results, startedAt, done, running, (n) => (done = n));
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => rerunClose(input.rerunId, 'cancelled', summaryOf(input, results, startedAt), Date.now()));
    } else if (!isContinueAsNew(err)) {
      await rerunClose(input.rerunId, 'failed', { ...summaryOf(input, results, startedAt), error: failureMessage(err) }, Date.now());
    }
    throw err;
  }
}

/** Overlapping reruns run one after the other, in the order they started (durable timers; restarts lose nothing). */
async function waitForRerunsAhead(input: RerunInput): Promise<void> {
  for (let wait = 1; ; wait = Math.min(30, wait * 2)) {
    const ahead = await rerunsAhead(input.job, input.rerunId, input.tasks);
    if (ahead.length === 0) return;
    setCurrentDetails(`waiting for the overlapping rerun ${ahead.join(', ')} to finish`);
    await sleep(`${wait}s`);
  }
}

async function runAll(
  input: RerunInput,
  names: Names,
  work: readonly WorkItem[],
  results: PeriodResult[],
  startedAt: number,
  from: number,
  running: Set<string>,
  setDone: (n: number) => void,
): Promise<RerunResult> {
  let done = from;
  const stopAt = Math.min(work.length, done + (input.periodsPerRun ?? PERIODS_PER_RUN));
  while (done < stopAt) {
    // One task at a time, so a sequential task's periods stay in order and parallel ones share the bound.
    const { plan } = work[done]!;
    const batch: WorkItem[] = [];
    for (let i = done; i < stopAt && work[i]!.plan === plan; i++) batch.push(work[i]!);
    let finished = 0;
    await mapBounded(batch, plan.sequential ? 1 : input.parallelism, async (item) => {
      const label = `${item.plan.task}.${item.period.key}`;
      running.add(label);
      const result = await runPeriod(input, names, item);
      running.delete(label);
      // Kept as each period ends: progress advances per period, and a cancelled rerun's summary has every finished period.
      results.push(result);
      setDone(done + ++finished);
    });
    done += batch.length;
    setDone(done);
  }

  if (done < work.length) {
    await continueAsNew<typeof rerun>({ ...input, carried: { done, results, startedAt } });
  }
  const summary = summaryOf(input, results, startedAt);
  await alertOnce(input, summary.periods);
  const periodsOk = results.filter((r) => !r.error && r.gamesFailed.length === 0 && r.checkErrors === 0).length;
  await rerunClose(input.rerunId, periodsOk === results.length ? 'ok' : periodsOk === 0 && results.every((r) => r.error) ? 'failed' : 'partial', summary, Date.now());
  return summary;
}

function summaryOf(input: RerunInput, results: readonly PeriodResult[], startedAt: number): RerunResult {
  const taskOrder = new Map(input.tasks.map((t, i) => [t.task, i]));
  return {
    rerunId: input.rerunId,
    kind: input.kind ?? 'rerun',
    job: input.job,
    filters: input.filters,
    // In plan order (tasks as planned, periods oldest first), whatever order they finished in.
    periods: [...results].sort((a, b) => taskOrder.get(a.task)! - taskOrder.get(b.task)! || a.period.start - b.period.start),
    ok: results.every((r) => !r.error && r.gamesFailed.length === 0 && r.checkErrors === 0),
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
  };
}

/** continueAsNew() ends the run by throwing; that is no failure to record. */
function isContinueAsNew(err: unknown): boolean {
  return err instanceof ContinueAsNew;
}

/** One alert for the whole rerun: the periods whose checks failed, and the games that failed, with their periods. */
async function alertOnce(input: RerunInput, results: readonly PeriodResult[]): Promise<void> {
  const tasks = input.tasks.map((t) => t.task).join(',');
  const range = `${input.tasks[0]?.range.first.key}..${input.tasks[0]?.range.last.key}`;
  const rolledBack = results.filter((r) => r.rolledBack);
  if (rolledBack.length > 0) {
    await raise({
      kind: 'rolledBack',
      job: input.job,
      task: tasks,
      period: range,
      runId: input.rerunId,
      summary: `checks failed in ${rolledBack.length} periods, which were rolled back to their backups (gflow reruns ${input.rerunId} --checks)`,
      games: rolledBack.map((r) => ({ label: `${r.task} ${r.period.key}`, error: `${r.checkErrors} check errors; rolled back` })),
    });
  }
  const failedChecks = results.filter((r) => r.checkErrors > 0 && !r.rolledBack);
  if (failedChecks.length > 0) {
    await raise({
      kind: 'checksFailed',
      job: input.job,
      task: tasks,
      period: range,
      runId: input.rerunId,
      summary: `checks failed in ${failedChecks.length} of ${results.length} periods (gflow reruns ${input.rerunId})`,
      games: failedChecks.map((r) => ({ label: `${r.task} ${r.period.key}`, error: `${r.checkErrors} check errors` })),
    });
  }
  const failed = results.flatMap((r) => [
    ...r.failures.map((f) => ({ ...(f.game !== undefined && { game: f.game }), label: `${f.label} ${r.task} ${r.period.key}`, error: f.error })),
    ...(r.error ? [{ label: `${r.task} ${r.period.key}`, error: r.error }] : []),
  ]);
  if (failed.length > 0) {
    await raise({ kind: 'gamesFailed', job: input.job, task: tasks, period: range, runId: input.rerunId, summary: `${failed.length} game-periods failed in rerun ${input.rerunId}`, games: failed });
  }
}

async function runPeriod(input: RerunInput, names: Names, { plan, period, games: cellGames }: WorkItem): Promise<PeriodResult> {
  const games = cellGames ?? input.filters.games;
  const filters: RunFilters = { ...input.filters, ...(games && { games }) };
  const step: RerunStep = {
    rerunId: input.rerunId,
    job: input.job,
    task: plan.task,
    period,
    ...(games && { games }),
  };
  const empty = { task: plan.task, period, backedUp: 0, added: 0, removed: 0, changed: 0, checkErrors: 0, checkWarnings: 0, gamesFailed: [] as string[], failures: [] as PeriodResult['failures'] };
  const holder = workflowInfo().workflowId;
  const taskPeriod = { job: input.job, task: plan.task, period };
  let claimed = false;
  try {
    // Backup, recompute and diff see no other writer: a scheduled run of this period or another rerun waits.
    await claimPeriod(taskPeriod, holder);
    claimed = true;
    const { rows: backedUp } = await rerunSnapshot(step);
    const summary: RunSummary = await executeChild(taskRun, {
      workflowId: names.rerunPeriodId(input.rerunId, plan.task, period.key),
      // The rerun alerts once for all its periods, not once per period.
      args: [
        {
          job: input.job,
          task: plan.task,
          period,
          prefix: input.prefix,
          filters,
          alerts: false,
          origin: input.kind ?? 'rerun',
          rerunId: input.rerunId,
          periodHeldBy: holder,
          ...(input.startedBy && { startedBy: input.startedBy }),
        },
      ],
      typedSearchAttributes: runSearchAttributes({ prefix: input.prefix, job: input.job, task: plan.task, period: period.key, rerun: input.rerunId }),
      staticSummary: `rerun ${input.rerunId}: ${input.job}.${plan.task} for ${period.key}`,
    });
    const { added, removed, changed } = await rerunDiff(step);
    // Checks failed and the task (or the operator) asked for it: the period goes back to its backup, still held.
    const rolledBack = summary.checkErrors > 0 && plan.onCheckError === 'rollback' ? (await restoreBackup(step), true) : false;
    const pending = (summary.timedOut?.pending ?? []).map((label) => ({ label, error: `pending when the run was cut off after ${summary.timedOut!.afterSeconds} s` }));
    return {
      ...empty,
      backedUp,
      added,
      removed,
      changed,
      checkErrors: summary.checkErrors,
      checkWarnings: summary.checkWarnings,
      ...(rolledBack && { rolledBack }),
      gamesFailed: [...summary.failed.map((f) => f.label), ...pending.map((p) => p.label)],
      failures: [
        ...summary.failed,
        ...pending,
        ...(summary.gaveUpWaitingFor ? [{ label: 'dependency', error: `gave up waiting for ${summary.gaveUpWaitingFor}; ran anyway` }] : []),
        ...(summary.afterExecute?.ok === false ? [{ label: 'afterExecute', error: summary.afterExecute.error ?? 'failed' }] : []),
      ],
    };
  } catch (err) {
    if (isCancellation(err)) throw err;
    // A period that cannot be recomputed is recorded; the other periods go on.
    return { ...empty, error: failureMessage(err) };
  } finally {
    if (claimed) await releasePeriod(taskPeriod, holder);
  }
}

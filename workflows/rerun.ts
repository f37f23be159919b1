/**
 * A rerun: for every period of a range, as durable steps, (a) back up the
 * rows the task owns, (b) recompute the period with `taskRun` — the code
 * path of scheduled runs, so a rerun of P computes what the schedule did —,
 * (c) run the task's checks, (d) diff the new rows against the backup.
 *
 * Periods run with bounded parallelism (one at a time for tasks that ask),
 * each recompute a child workflow `<rerun>.<task>.<period>`. The rerun
 * continues as new every few hundred periods, so a year of days over
 * hundreds of games stays far inside Temporal's history limits.
 */
import { continueAsNew, executeChild, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { RerunActivities } from '../activities/rerun';
import type { PeriodResult, RerunStep, RunSummary } from '../activities/types';
import type { RunFilters } from '../core/job';
import { Names, searchAttributes } from '../core/names';
import type { Period } from '../core/period';
import { periodsOf, type PeriodRange } from '../core/range';
import { rerunProgressQuery, type RerunProgress } from './messages';
import { raise } from './alerts';
import { mapBounded } from './pool';
import { failureMessage } from './failures';
import { taskRun } from './task-run';

const { rerunSnapshot, rerunVerify } = proxyActivities<RerunActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['UserError', 'UnknownTask'] },
});

/** Periods a run handles before it continues as new: ~25 history events each, far below the 51,200 limit. */
const PERIODS_PER_RUN = 200;

export interface RerunTaskPlan {
  readonly task: string;
  readonly range: PeriodRange;
  readonly sequential: boolean;
}

export interface RerunInput {
  readonly rerunId: string;
  readonly job: string;
  readonly prefix: string;
  readonly tasks: readonly RerunTaskPlan[];
  readonly filters: RunFilters;
  /** Periods recomputed at once. */
  readonly parallelism: number;
  /** Periods per workflow run before continuing as new. @defaultValue 200 */
  readonly periodsPerRun?: number;
  /** Carried across continue-as-new. */
  readonly carried?: { readonly done: number; readonly results: readonly PeriodResult[]; readonly startedAt: number };
}

export interface RerunResult {
  readonly rerunId: string;
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
}

export async function rerun(input: RerunInput): Promise<RerunResult> {
  const names = new Names(input.prefix);
  const work: WorkItem[] = input.tasks.flatMap((plan) => periodsOf(plan.range).map((period) => ({ plan, period })));
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

  const stopAt = Math.min(work.length, done + (input.periodsPerRun ?? PERIODS_PER_RUN));
  while (done < stopAt) {
    // One task at a time, so a sequential task's periods stay in order and parallel ones share the bound.
    const { plan } = work[done]!;
    const batch: WorkItem[] = [];
    for (let i = done; i < stopAt && work[i]!.plan === plan; i++) batch.push(work[i]!);
    const out = await mapBounded(batch, plan.sequential ? 1 : input.parallelism, async (item) => {
      const label = `${item.plan.task}.${item.period.key}`;
      running.add(label);
      const result = await runPeriod(input, names, item);
      running.delete(label);
      return result;
    });
    results.push(...out);
    done += batch.length;
  }

  if (done < work.length) {
    await continueAsNew<typeof rerun>({ ...input, carried: { done, results, startedAt } });
  }
  await alertOnce(input, results);
  return {
    rerunId: input.rerunId,
    job: input.job,
    filters: input.filters,
    periods: results,
    ok: results.every((r) => !r.error && r.gamesFailed.length === 0 && r.checkErrors === 0),
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
  };
}

/** One alert for the whole rerun: the periods whose checks failed, and the games that failed, with their periods. */
async function alertOnce(input: RerunInput, results: readonly PeriodResult[]): Promise<void> {
  const tasks = input.tasks.map((t) => t.task).join(',');
  const range = `${input.tasks[0]?.range.first.key}..${input.tasks[0]?.range.last.key}`;
  const failedChecks = results.filter((r) => r.checkErrors > 0);
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
    ...r.gamesFailed.map((label) => ({ label: `${label} ${r.task} ${r.period.key}`, error: 'failed' })),
    ...(r.error ? [{ label: `${r.task} ${r.period.key}`, error: r.error }] : []),
  ]);
  if (failed.length > 0) {
    await raise({ kind: 'gamesFailed', job: input.job, task: tasks, period: range, runId: input.rerunId, summary: `${failed.length} game-periods failed in rerun ${input.rerunId}`, games: failed });
  }
}

async function runPeriod(input: RerunInput, names: Names, { plan, period }: WorkItem): Promise<PeriodResult> {
  const step: RerunStep = {
    rerunId: input.rerunId,
    job: input.job,
    task: plan.task,
    period,
    ...(input.filters.games && { games: input.filters.games }),
  };
  const empty = { task: plan.task, period, added: 0, removed: 0, changed: 0, checkErrors: 0, checkWarnings: 0, gamesFailed: [] as string[] };
  try {
    await rerunSnapshot(step);
    const summary: RunSummary = await executeChild(taskRun, {
      workflowId: names.rerunPeriodId(input.rerunId, plan.task, period.key),
      // The rerun alerts once for all its periods, not once per period.
      args: [{ job: input.job, task: plan.task, period, prefix: input.prefix, filters: input.filters, alerts: false }],
      typedSearchAttributes: [
        { key: searchAttributes.prefix, value: input.prefix },
        { key: searchAttributes.job, value: input.job },
        { key: searchAttributes.task, value: plan.task },
        { key: searchAttributes.period, value: period.key },
        { key: searchAttributes.rerun, value: input.rerunId },
      ],
      staticSummary: `rerun ${input.rerunId}: ${input.job}.${plan.task} for ${period.key}`,
    });
    const { added, removed, changed, errors, warnings } = await rerunVerify(step, summary.games);
    return { ...empty, added, removed, changed, checkErrors: errors, checkWarnings: warnings, gamesFailed: summary.failed.map((f) => f.label) };
  } catch (err) {
    if (isCancellation(err)) throw err;
    // A period that cannot be recomputed is recorded; the other periods go on.
    return { ...empty, error: failureMessage(err) };
  }
}

/** Put a rerun's backups back, period by period, latest first so each row ends at its earliest backup. */
export async function restore(input: { readonly steps: readonly RerunStep[] }): Promise<{ periods: number; deleted: number; restored: number }> {
  const { restoreBackup } = proxyActivities<RerunActivities>({ startToCloseTimeout: '5 minutes', retry: { maximumInterval: '30s' } });
  let deleted = 0;
  let restored = 0;
  for (const step of input.steps) {
    const r = await restoreBackup(step);
    deleted += r.deleted;
    restored += r.restored;
  }
  return { periods: input.steps.length, deleted, restored };
}

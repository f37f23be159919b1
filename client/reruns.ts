/**
 * Planning and starting reruns from the CLI: every refusal (a task that
 * cannot rerun, a range in the wrong form, unknown games) happens here,
 * before anything starts.
 */
import { randomBytes } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { DateTime } from 'luxon';
import { usageError } from '../core/errors';
import type { AnyTask, RunFilters } from '../core/job';
import type { StartedBy } from '../core/outcome';
import { Names } from '../core/names';
import { runSearchAttributes } from '../core/search-attributes';
import { parsePeriodKey } from '../core/period';
import { parseRange } from '../core/range';
import { rerun, type RerunInput, type RerunTaskPlan } from '../workflows/rerun';
import type { Config } from '../infra/config';

export interface RerunRequest {
  readonly job: string;
  readonly tasks: readonly AnyTask[];
  /** `-d`: one period key or `first,last`. */
  readonly range: string;
  readonly filters: RunFilters;
  readonly parallelism: number;
  readonly maxPeriods: number;
  /** Overrides each task's `onCheckError` for this rerun. */
  readonly onCheckError?: 'keep' | 'rollback';
  /** A retry of failed or missing cells is recorded as such. @defaultValue `'rerun'` */
  readonly kind?: 'rerun' | 'retry';
  /** Who asks, and why (`--reason`). */
  readonly startedBy?: StartedBy;
  /** How the caller names the range in a refusal: the CLI's `-d`, the console's `range`. @defaultValue `'-d'` */
  readonly rangeLabel?: string;
}

/** Validate a rerun request against the job's tasks; throws a usage error naming the first problem. */
export function planRerun(config: Config, request: RerunRequest, now = Date.now()): RerunInput {
  const plans: RerunTaskPlan[] = request.tasks.map((task) => {
    const schedule = task.schedule;
    if (schedule.kind !== 'calendar') {
      const what = schedule.kind === 'once' ? 'runs once (breakExecute)' : 'runs at an interval (sleepExecute)';
      throw usageError(`task ${request.job}.${task.name} ${what}: only calendar (atExecute) tasks compute periods that can be rerun`);
    }
    if (task.enableReExecute === false) throw usageError(`task ${request.job}.${task.name} forbids reruns (enableReExecute: false)`);
    refuseFilters(request.job, task, request.filters);
    let range;
    try {
      range = parseRange(request.range, schedule.unit, config.tz, { maxPeriods: request.maxPeriods });
    } catch (err) {
      throw usageError(`${request.rangeLabel ?? '-d'} for ${request.job}.${task.name}: ${(err as Error).message}`);
    }
    // A period is closed at its end, not its start: today is not over until midnight.
    if (range.last.end > now && task.computesOpenPeriods !== true) {
      throw usageError(`${request.rangeLabel ?? '-d'} ${request.range}: period ${range.last.key} of ${task.name} has not ended yet (it ends ${new Date(range.last.end).toISOString()}); rerun only closed periods`);
    }
    const onCheckError = request.onCheckError ?? task.onCheckError ?? 'keep';
    return { task: task.name, range, sequential: task.rerunOrder === 'sequential', ...(onCheckError === 'rollback' && { onCheckError }) };
  });
  const ordered = dependenciesFirst(request.job, request.tasks, plans);
  return {
    rerunId: new Names(config.prefix).rerunId(request.job, stampOf(now)),
    job: request.job,
    prefix: config.prefix,
    tasks: ordered,
    filters: request.filters,
    parallelism: request.parallelism,
    ...(request.kind && { kind: request.kind }),
    ...(request.startedBy && { startedBy: request.startedBy }),
  };
}

/** The filters a task may declare it honours, and their options. */
const FILTER_OPTIONS = { servers: '-s (servers)', channel: '-c (channel)' } as const;

/**
 * Refuse a filter the task declares it does not honour (`filters`), before
 * anything is backed up: a task that cannot compute a server or channel
 * segment would otherwise fail every game after the backup. A task that
 * declares nothing is passed every filter, to honour or refuse itself.
 */
function refuseFilters(job: string, task: AnyTask, filters: RunFilters): void {
  if (task.filters === undefined) return;
  for (const filter of ['servers', 'channel'] as const) {
    if (filters[filter] === undefined || task.filters.includes(filter)) continue;
    const honours = task.filters.length > 0 ? `it honours only ${task.filters.map((f) => FILTER_OPTIONS[f]).join(' and ')}` : 'it computes whole games';
    throw usageError(`${FILTER_OPTIONS[filter]} does not apply to task ${job}.${task.name}: ${honours}; leave it out, or name the tasks that honour it with -t`);
  }
}

/**
 * The rerun walks tasks in this order: a task that waits for another task of
 * the same rerun comes after it, so its dependency's period is already done
 * when it looks (no waiting out the give-up time).
 */
function dependenciesFirst(job: string, tasks: readonly AnyTask[], plans: readonly RerunTaskPlan[]): RerunTaskPlan[] {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const inPlan = new Set(plans.map((p) => p.task));
  const out: RerunTaskPlan[] = [];
  const placed = new Set<string>();
  const visit = (plan: RerunTaskPlan, path: readonly string[]): void => {
    if (placed.has(plan.task)) return;
    if (path.includes(plan.task)) throw usageError(`tasks ${[...path, plan.task].join(' → ')} of ${job} wait for each other in a circle`);
    const dep = byName.get(plan.task)?.waitForTask;
    const depTask = dep?.startsWith(`${job}.`) ? dep.slice(job.length + 1) : undefined;
    if (depTask !== undefined && inPlan.has(depTask)) visit(plans.find((p) => p.task === depTask)!, [...path, plan.task]);
    placed.add(plan.task);
    out.push(plan);
  };
  for (const plan of plans) visit(plan, []);
  return out;
}

/** A retry of chosen cells: per task, the periods needing it, each with its games. */
export interface RetryRequest {
  readonly job: string;
  readonly tasks: ReadonlyArray<{ readonly task: AnyTask; readonly cells: ReadonlyArray<{ readonly period: string; readonly games: readonly number[] }> }>;
  readonly parallelism: number;
  readonly onCheckError?: 'keep' | 'rollback';
  readonly startedBy?: StartedBy;
}

/**
 * Plan a retry: one rerun (recorded as a retry) recomputing exactly the
 * given cells, with backup, checks and diff like any rerun.
 * @throws UserError when there is nothing to retry.
 */
export function planRetry(config: Config, request: RetryRequest, now = Date.now()): RerunInput {
  const withCells = request.tasks.filter((t) => t.cells.length > 0);
  if (withCells.length === 0) throw usageError(`nothing to retry in ${request.job}: no cell is in the state asked for (see gflow status ${request.job})`);
  const plans: RerunTaskPlan[] = withCells.map(({ task, cells }) => {
    if (task.schedule.kind !== 'calendar') throw usageError(`task ${request.job}.${task.name} is not a calendar task: it has no periods to retry`);
    const unit = task.schedule.unit;
    const periods = cells.map((c) => ({ period: parsePeriodKey(unit, c.period, config.tz), games: c.games }));
    for (const { period } of periods) {
      if (period.end > now && task.computesOpenPeriods !== true) throw usageError(`period ${period.key} of ${task.name} has not ended yet; retry only closed periods`);
    }
    const onCheckError = request.onCheckError ?? task.onCheckError ?? 'keep';
    const first = periods[0]!.period;
    const last = periods.at(-1)!.period;
    return {
      task: task.name,
      range: { unit, first, last, count: periods.length },
      sequential: task.rerunOrder === 'sequential',
      cells: periods,
      ...(onCheckError === 'rollback' && { onCheckError }),
    };
  });
  return {
    rerunId: new Names(config.prefix).retryId(request.job, stampOf(now)),
    job: request.job,
    prefix: config.prefix,
    tasks: dependenciesFirst(request.job, withCells.map((t) => t.task), plans),
    filters: {},
    parallelism: request.parallelism,
    kind: 'retry',
    ...(request.startedBy && { startedBy: request.startedBy }),
  };
}

function stampOf(now: number): string {
  return `${DateTime.fromMillis(now, { zone: 'utc' }).toFormat('yyyyMMddHHmmss')}-${randomBytes(2).toString('hex')}`;
}

/** Start the rerun workflow; it is found in the web UI by job and rerun id. */
export async function startRerun(client: Client, config: Config, input: RerunInput): Promise<WorkflowHandle<typeof rerun>> {
  return client.workflow.start(rerun, {
    workflowId: input.rerunId,
    taskQueue: new Names(config.prefix).sharedQueue,
    args: [input],
    typedSearchAttributes: runSearchAttributes({ prefix: config.prefix, job: input.job, rerun: input.rerunId }),
    staticSummary: `rerun ${input.job} -d ${input.tasks[0]?.range.first.key ?? ''}..${input.tasks[0]?.range.last.key ?? ''} (${input.tasks.map((t) => t.task).join(', ')})`,
  });
}

/** Other reruns of the job still running (the "slot" `--now` does not wait for). */
export async function runningReruns(client: Client, config: Config, job: string): Promise<string[]> {
  const ids: string[] = [];
  const query = `${new Names(config.prefix).rerunsQuery(job)} AND ExecutionStatus = 'Running'`;
  for await (const run of client.workflow.list({ query })) ids.push(run.workflowId);
  return ids;
}

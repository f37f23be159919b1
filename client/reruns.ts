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
  /** A retry of failed or missing cells is recorded as such. @defaultValue `'rerun'` */
  readonly kind?: 'rerun' | 'retry';
  /** Who asks, and why (`--reason`). */
  readonly startedBy?: StartedBy;
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
    let range;
    try {
      range = parseRange(request.range, schedule.unit, config.tz, { maxPeriods: request.maxPeriods });
    } catch (err) {
      throw usageError(`-d for ${request.job}.${task.name}: ${(err as Error).message}`);
    }
    // A period is closed at its end, not its start: today is not over until midnight.
    if (range.last.end > now && task.computesOpenPeriods !== true) {
      throw usageError(`-d ${request.range}: period ${range.last.key} of ${task.name} has not ended yet (it ends ${new Date(range.last.end).toISOString()}); rerun only closed periods`);
    }
    return { task: task.name, range, sequential: task.rerunOrder === 'sequential' };
  });
  const ordered = dependenciesFirst(request.job, request.tasks, plans);
  const stamp = `${DateTime.fromMillis(now, { zone: 'utc' }).toFormat('yyyyMMddHHmmss')}-${randomBytes(2).toString('hex')}`;
  return {
    rerunId: new Names(config.prefix).rerunId(request.job, stamp),
    job: request.job,
    prefix: config.prefix,
    tasks: ordered,
    filters: request.filters,
    parallelism: request.parallelism,
    ...(request.kind && { kind: request.kind }),
    ...(request.startedBy && { startedBy: request.startedBy }),
  };
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

/**
 * The impact of a rerun or retry, worked out without starting anything
 * (`--dry-run`): tasks × periods × games, the report rows each table would
 * have backed up and overwritten (counted in MySQL), the periods another
 * writer holds right now, and an estimated duration from the ledger's past
 * run times.
 */
import type { AnyTask } from '../core/job';
import type { Names } from '../core/names';
import type { Pool } from '../infra/mysql';
import { busyPeriods, typicalDuration } from '../store/ledger/runs';
import { countScope } from '../store/reruns/impact';
import { planSteps, type RerunInput } from '../workflows/rerun';

export interface TaskImpact {
  readonly task: string;
  readonly periods: number;
  /** Game-periods: a period counts once per game it recomputes (all games: the registry's count). */
  readonly cells: number;
  readonly first: string;
  readonly last: string;
  /** Rows per report table that would be backed up and overwritten. */
  readonly rows: Readonly<Record<string, number>>;
  /** Periods another workflow writes now: the rerun would wait for them. */
  readonly busy: ReadonlyArray<{ readonly period: string; readonly holder: string }>;
  /** Median of the task's recent ok runs, ms; absent before its first. */
  readonly typicalRunMs?: number;
}

export interface Impact {
  readonly rerunId: string;
  readonly job: string;
  readonly kind: 'rerun' | 'retry';
  readonly tasks: readonly TaskImpact[];
  /** A rough duration: each task's typical run × its periods ÷ the parallelism, tasks one after the other. */
  readonly estimatedMs?: number;
}

export async function rerunImpact(pool: Pool, names: Names, input: RerunInput, tasks: ReadonlyMap<string, AnyTask>, gameCount: number): Promise<Impact> {
  const out: TaskImpact[] = [];
  let estimate: number | undefined = 0;
  for (const plan of input.tasks) {
    const task = tasks.get(plan.task)!;
    const steps = planSteps([plan]);
    const rows: Record<string, number> = {};
    let cells = 0;
    for (const step of steps) {
      const games = step.games ?? input.filters.games;
      cells += games ? games.length : gameCount;
      for (const { table, rows: n } of await countScope(pool, names, { period: step.period, tables: task.reports ?? [], ...(games && { games }) })) {
        rows[table] = (rows[table] ?? 0) + n;
      }
    }
    const typical = await typicalDuration(pool, names, input.job, plan.task);
    const lanes = plan.sequential ? 1 : Math.max(1, input.parallelism);
    estimate = typical === undefined || estimate === undefined ? undefined : estimate + (typical * Math.ceil(steps.length / lanes));
    out.push({
      task: plan.task,
      periods: steps.length,
      cells,
      first: steps[0]!.period.key,
      last: steps.at(-1)!.period.key,
      rows,
      busy: await busyPeriods(pool, names, input.job, plan.task, steps.map((s) => s.period.key)),
      ...(typical !== undefined && { typicalRunMs: typical }),
    });
  }
  return { rerunId: input.rerunId, job: input.job, kind: input.kind ?? 'rerun', tasks: out, ...(estimate !== undefined && { estimatedMs: estimate }) };
}

/**
 * What a rerun planned, read back from the ledger (MySQL): the plan each
 * rerun recorded when it started, so restore works from MySQL alone, long
 * after Temporal's retention has dropped the rerun's history.
 */
import { usageError } from '../core/errors';
import type { AnyTask } from '../core/job';
import type { Names } from '../core/names';
import { periodValuesOf } from '../core/report';
import type { RerunStep } from '../activities/types';
import type { Pool } from '../infra/mysql';
import { getRerun, type LedgerRerun } from '../store/ledger/reruns';
import { planSteps, type RerunInput } from '../workflows/rerun';

/** A recorded rerun and its plan. @throws UserError (exit 2) for an unknown or pruned rerun. */
export async function rerunPlan(pool: Pool, names: Names, rerunId: string): Promise<{ record: LedgerRerun; plan: RerunInput }> {
  const record = await getRerun(pool, names, rerunId);
  if (!record) throw usageError(`no rerun ${JSON.stringify(rerunId)} in the ledger (see gflow reruns)`);
  if (record.prunedAt) throw usageError(`rerun ${rerunId} was pruned on ${record.prunedAt}: its backups and diffs are gone`);
  return { record, plan: record.plan as RerunInput };
}

/**
 * Every (task, period) step of the plan, optionally of one period, latest
 * period first (the restore order). A single period of a task whose periods
 * write each other's rows (retention fills earlier cohorts) is refused when
 * other periods of the rerun touched the same rows: restoring it alone would
 * leave rows that never existed.
 */
export function restoreSteps(plan: RerunInput, tasks: ReadonlyMap<string, AnyTask>, period?: string): RerunStep[] {
  const steps: RerunStep[] = planSteps(plan.tasks).map(({ plan: t, period: p, games }) => {
    const only = games ?? plan.filters.games;
    return { rerunId: plan.rerunId, job: plan.job, task: t.task, period: p, ...(only && { games: only }) };
  });
  if (period === undefined) return steps.sort((a, b) => b.period.start - a.period.start);
  const chosen = steps.filter((s) => s.period.key === period);
  if (chosen.length === 0) {
    throw usageError(`--period ${period} is not a period of rerun ${plan.rerunId} (${steps[0]?.period.key} .. ${steps.at(-1)?.period.key})`);
  }
  for (const step of chosen) {
    const tables = tasks.get(step.task)?.reports ?? [];
    const overlapping = steps.filter(
      (other) =>
        other.task === step.task &&
        other.period.key !== step.period.key &&
        tables.some((t) => {
          const mine = new Set(periodValuesOf(t, step.period));
          return periodValuesOf(t, other.period).some((v) => mine.has(v));
        }),
    );
    if (overlapping.length > 0) {
      const keys = [step, ...overlapping].map((s) => s.period.key).sort();
      throw usageError(
        `--period ${period}: periods of task ${step.task} write overlapping rows; restore periods ${keys[0]}..${keys.at(-1)} together (gflow restore ${plan.rerunId} without --period)`,
      );
    }
  }
  return chosen.sort((a, b) => b.period.start - a.period.start);
}

/**
 * The rerun steps around a period's recompute: back up the rows the task
 * owns, check them once recomputed, diff them against the backup; and put a
 * backup back. Each is idempotent, so Temporal may retry it anywhere.
 */
import type { AnyTask } from '../core/job';
import type { Names } from '../core/names';
import { diffPeriod, restorePeriod, runChecks, snapshot, type DiffCounts, type RerunScope } from '../store/reruns/backup';
import type { JobRegistry } from '../infra/jobs';
import type { Pool } from '../infra/mysql';
import { classified, lookupTask } from './failures';
import type { RerunStep } from './types';

export interface RerunDependencies {
  readonly registry: JobRegistry;
  readonly names: Names;
  readonly mysql: Pool;
}

export function createRerunActivities(deps: RerunDependencies) {
  const task = (step: RerunStep): AnyTask => lookupTask(deps.registry, step.job, step.task);

  function scope(step: RerunStep): RerunScope {
    return { rerunId: step.rerunId, period: step.period, tables: task(step).reports ?? [], ...(step.games && { games: step.games }) };
  }

  return {
    /** Copy the rows the task owns for the period into the rerun's backup. */
    async rerunSnapshot(step: RerunStep): Promise<{ rows: number }> {
      return classified(() => snapshot(deps.mysql, deps.names, scope(step)));
    },

    /**
     * The task's consistency checks over the recomputed rows, then the rows
     * added, removed and changed against the backup (stored for `gflow diff`).
     * One activity for both: each is idempotent, and a period saves a round trip.
     */
    async rerunVerify(step: RerunStep, expectedGames: readonly number[]): Promise<DiffCounts & { errors: number; warnings: number }> {
      const results = await classified(() => runChecks(deps.mysql, deps.names, scope(step), task(step).checks ?? [], expectedGames));
      const diff = await classified(() => diffPeriod(deps.mysql, deps.names, scope(step)));
      return {
        ...diff,
        errors: results.filter((r) => r.severity === 'error').length,
        warnings: results.filter((r) => r.severity === 'warning').length,
      };
    },

    /** Put the period's backed-up rows back. */
    async restoreBackup(step: RerunStep): Promise<{ deleted: number; restored: number }> {
      return classified(() => restorePeriod(deps.mysql, deps.names, scope(step)));
    },
  };
}

export type RerunActivities = ReturnType<typeof createRerunActivities>;

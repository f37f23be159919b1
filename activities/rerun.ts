/**
 * The rerun steps around a period's recompute: back up the rows the task
 * owns, check them once recomputed, diff them against the backup; and put a
 * backup back. Each is idempotent, so Temporal may retry it anywhere.
 */
import type { AnyTask } from '../core/job';
import type { Names } from '../core/names';
import type { StartedBy } from '../core/outcome';
import { diffPeriod, restorePeriod, snapshot, type DiffCounts, type RerunScope } from '../store/reruns/backup';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { closeRerun, earlierOverlapping, markAbandoned, markRestored, openRerun, type PlannedRange, type RerunOpening, type RerunOutcome } from '../store/ledger/reruns';
import type { JobRegistry } from '../infra/jobs';
import type { Pool } from '../infra/mysql';
import { classified, lookupTask } from './failures';
import type { RerunStep } from './types';

export interface RerunDependencies {
  readonly registry: JobRegistry;
  readonly names: Names;
  readonly mysql: Pool;
  /** A Temporal client, for asking whether an earlier rerun still runs. */
  readonly temporal: () => Promise<Client>;
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

    /** The rows added, removed and changed against the backup (stored for `gflow diff`); the run itself checked them. */
    async rerunDiff(step: RerunStep): Promise<DiffCounts> {
      return classified(() => diffPeriod(deps.mysql, deps.names, scope(step)));
    },

    /** Record the rerun in the ledger as it starts (again after continue-as-new: a no-op). */
    async rerunOpen(opening: RerunOpening): Promise<void> {
      await classified(() => openRerun(deps.mysql, deps.names, opening));
    },

    /**
     * Earlier reruns of the job, still running, that overlap this one's tasks
     * and periods: it waits for them. One whose workflow is gone is marked so
     * and no longer waited for.
     */
    async rerunsAhead(job: string, rerunId: string, ranges: readonly PlannedRange[]): Promise<string[]> {
      const ahead = await classified(() => earlierOverlapping(deps.mysql, deps.names, job, rerunId, ranges));
      const client = await deps.temporal();
      const alive: string[] = [];
      for (const id of ahead) {
        let running = false;
        try {
          running = (await client.workflow.getHandle(id).describe()).status.name === 'RUNNING';
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (running) alive.push(id);
        else await markAbandoned(deps.mysql, deps.names, id, Date.now());
      }
      return alive;
    },

    /** Record how the rerun ended. */
    async rerunClose(rerunId: string, outcome: Exclude<RerunOutcome, 'running'>, summary: unknown, finishedAt: number): Promise<void> {
      await classified(() => closeRerun(deps.mysql, deps.names, rerunId, outcome, summary, finishedAt));
    },

    /** Record a finished restore. */
    async restoreRecorded(rerunId: string, by: StartedBy | undefined, summary: unknown, at: number): Promise<void> {
      await classified(() => markRestored(deps.mysql, deps.names, rerunId, by, summary, at));
    },

    /** Put the period's backed-up rows back. */
    async restoreBackup(step: RerunStep): Promise<{ deleted: number; restored: number }> {
      return classified(() => restorePeriod(deps.mysql, deps.names, scope(step)));
    },
  };
}

export type RerunActivities = ReturnType<typeof createRerunActivities>;

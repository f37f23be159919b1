/**
 * Putting a rerun's backups back: period by period, latest first, so each
 * row ends at its earliest backup. Each period is claimed like any writer's
 * (no scheduled run or rerun writes it meanwhile), and the finished restore
 * is recorded in the ledger with who asked for it.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RerunActivities } from '../activities/rerun';
import type { RerunStep } from '../activities/types';
import type { StartedBy } from '../core/outcome';
import { retryPolicy } from '../core/retry';
import { claimPeriod, releasePeriod } from './period-lock';

const { restoreBackup, restoreRecorded } = proxyActivities<RerunActivities>({
  startToCloseTimeout: '5 minutes',
  retry: retryPolicy(undefined, { maximumInterval: '30s' }),
});

export interface RestoreInput {
  /** The steps to put back, in order (latest period first). */
  readonly steps: readonly RerunStep[];
  /** Who asked, recorded with the rerun in the ledger. */
  readonly by?: StartedBy;
  /** Holder name of the periods while they are restored; the restore's own workflow id by default. */
  readonly holder?: string;
}

export interface RestoreResult {
  readonly periods: number;
  readonly deleted: number;
  readonly restored: number;
}

export async function restore(input: RestoreInput): Promise<RestoreResult> {
  const holder = input.holder ?? workflowInfo().workflowId;
  let deleted = 0;
  let restored = 0;
  for (const step of input.steps) {
    const taskPeriod = { job: step.job, task: step.task, period: step.period };
    await claimPeriod(taskPeriod, holder);
    try {
      const r = await restoreBackup(step);
      deleted += r.deleted;
      restored += r.restored;
    } finally {
      await releasePeriod(taskPeriod, holder);
    }
  }
  const result = { periods: input.steps.length, deleted, restored };
  const rerunId = input.steps[0]?.rerunId;
  if (rerunId !== undefined) {
    await restoreRecorded(rerunId, input.by, { ...result, periodKeys: input.steps.map((s) => `${s.task} ${s.period.key}`) }, Date.now());
  }
  return result;
}

/**
 * Starting a restore of a rerun's backups, from its plan in the ledger: the
 * same refusals and the same durable workflow for the CLI and the console.
 */
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { failure } from '../core/errors';
import type { AnyTask } from '../core/job';
import { Names } from '../core/names';
import type { StartedBy } from '../core/outcome';
import { runSearchAttributes } from '../core/search-attributes';
import type { RerunStep } from '../activities/types';
import type { Config } from '../infra/config';
import type { Pool } from '../infra/mysql';
import type { LedgerRerun } from '../store/ledger/reruns';
import { restore } from '../workflows/restore';
import { rerunPlan, restoreSteps } from './rerun-history';

export interface PlannedRestore {
  readonly record: LedgerRerun;
  readonly job: string;
  /** Latest period first. */
  readonly steps: readonly RerunStep[];
  readonly workflowId: string;
}

/**
 * The steps of a restore of `rerunId` (one period, or all).
 * @throws UserError for an unknown, pruned or still running rerun, or a period that cannot be restored alone.
 */
export async function planRestore(mysql: Pool, config: Config, rerunId: string, tasksOf: (job: string) => readonly AnyTask[], period?: string): Promise<PlannedRestore> {
  const names = new Names(config.prefix);
  const { record, plan } = await rerunPlan(mysql, names, rerunId);
  // The ledger knows, even after Temporal's retention has dropped the rerun.
  if (record.outcome === 'running') throw failure(`rerun ${rerunId} is still running: cancel it first (gflow reruns ${rerunId} --cancel)`);
  const steps = restoreSteps(plan, new Map(tasksOf(plan.job).map((t) => [t.name, t])), period);
  return { record, job: plan.job, steps, workflowId: names.restoreId(rerunId) + (period ? `.${period}` : '') };
}

/** Start the restore workflow. @throws UserError when a restore of the same rerun (and period) is running. */
export async function startRestore(client: Client, config: Config, planned: PlannedRestore, by: StartedBy, period?: string): Promise<WorkflowHandle<typeof restore>> {
  const rerunId = planned.record.rerunId;
  try {
    return await client.workflow.start(restore, {
      workflowId: planned.workflowId,
      taskQueue: new Names(config.prefix).sharedQueue,
      args: [{ steps: planned.steps, by }],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: runSearchAttributes({ prefix: config.prefix, job: planned.job, rerun: rerunId }),
      staticSummary: `restore ${rerunId}${period ? ` period ${period}` : ''}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw failure(`a restore of ${rerunId} is already running`);
    throw err;
  }
}

/**
 * What a rerun planned, read back from Temporal: every run's input holds
 * the plan (continue-as-new carries it), so restore needs no bookkeeping of
 * its own.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { usageError } from '../core/errors';
import type { RerunStep } from '../activities/types';
import { periodsOf } from '../core/range';
import type { RerunInput } from '../workflows/rerun';

export async function rerunPlan(client: Client, rerunId: string): Promise<RerunInput> {
  try {
    // Any run of the chain starts with the plan (continue-as-new carries it unchanged): read the latest.
    const history = await client.workflow.getHandle(rerunId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const payload = started?.input?.payloads?.[0];
    if (!payload?.data) throw usageError(`${rerunId} is not a rerun`);
    return JSON.parse(Buffer.from(payload.data).toString('utf8')) as RerunInput;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw usageError(`no rerun ${JSON.stringify(rerunId)} (see gflow reruns)`);
    throw err;
  }
}

/** Every (task, period) step of the plan, optionally of one period, latest period first (the restore order). */
export function restoreSteps(plan: RerunInput, period?: string): RerunStep[] {
  const steps = plan.tasks.flatMap((t) =>
    periodsOf(t.range).map((p) => ({
      rerunId: plan.rerunId,
      job: plan.job,
      task: t.task,
      period: p,
      ...(plan.filters.games && { games: plan.filters.games }),
    })),
  );
  const chosen = period ? steps.filter((s) => s.period.key === period) : steps;
  if (period && chosen.length === 0) {
    throw usageError(`--period ${period} is not a period of rerun ${plan.rerunId} (${steps[0]?.period.key} .. ${steps.at(-1)?.period.key})`);
  }
  return chosen.sort((a, b) => b.period.start - a.period.start);
}

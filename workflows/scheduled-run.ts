/**
 * What a task's Schedule starts each time it fires: it learns when it was
 * due, turns that into the period that just ended, and runs `taskRun` for
 * that period as a child with a readable id (`<prefix>.<job>.<task>.<period>`).
 * It waits for the child, so the schedule's SKIP overlap policy keeps one
 * run per task at a time (the original gflow's singleton).
 */
import { WorkflowExecutionAlreadyStartedError, type TypedSearchAttributes } from '@temporalio/common';
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { LedgerActivities } from '../activities/ledger';
import type { RunInput, RunSummary } from '../activities/types';
import { Names } from '../core/names';
import { instantPeriod, periodForFireTime, type Period } from '../core/period';
import type { PeriodUnit } from '../core/schedule';
import { runSearchAttributes, scheduledStartTime } from '../core/search-attributes';
import type { StartedBy } from '../core/outcome';
import { retryPolicy } from '../core/retry';
import { taskRun } from './task-run';

const { ledgerSkipped } = proxyActivities<LedgerActivities>({ startToCloseTimeout: '1 minute', retry: retryPolicy(10) });

export interface ScheduledRunInput {
  readonly job: string;
  readonly task: string;
  /** A calendar task's period unit, or `instant` for interval tasks (they compute "now"). */
  readonly unit: PeriodUnit | 'instant';
  /** IANA zone the schedule fires in and periods are cut in. */
  readonly zone: string;
  readonly prefix: string;
  /** Who started the schedule (`gflow start`), recorded with each run it fires. */
  readonly startedBy?: StartedBy;
}

export type ScheduledRunResult = RunSummary | { readonly skipped: string; readonly period: string };

export async function scheduledRun(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const info = workflowInfo();
  const due = dueTime(info.typedSearchAttributes) ?? info.startTime.getTime();
  const period: Period = input.unit === 'instant' ? instantPeriod(due, input.zone) : periodForFireTime(input.unit, due, input.zone);
  const names = new Names(input.prefix);
  const workflowId = names.runId(input.job, input.task, period.key);
  const args: RunInput = { job: input.job, task: input.task, period, prefix: input.prefix, origin: 'schedule', ...(input.startedBy && { startedBy: input.startedBy }) };
  try {
    return await executeChild(taskRun, {
      workflowId,
      args: [args],
      typedSearchAttributes: runSearchAttributes({ prefix: input.prefix, job: input.job, task: input.task, period: period.key }),
      staticSummary: `${input.job}.${input.task} for ${period.key}`,
    });
  } catch (err) {
    // Another run of this period is already going (a --now, a rerun): one at a time.
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const reason = `${workflowId} is already running`;
      await ledgerSkipped(args, info.startTime.getTime(), reason);
      return { skipped: reason, period: period.key };
    }
    throw err;
  }
}

function dueTime(attributes: TypedSearchAttributes): number | undefined {
  const value = attributes.get(scheduledStartTime);
  return value instanceof Date ? value.getTime() : undefined;
}

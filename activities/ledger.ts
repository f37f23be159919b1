/**
 * The ledger's activities: a run records itself when it starts and when it
 * ends, claims its task's period so no other writer runs beside it, checks
 * the rows it wrote, and finds its dependency's success. Each write is
 * idempotent (keyed by the Temporal execution), so Temporal may retry any of
 * them and a replayed workflow writes nothing twice.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Names } from '../core/names';
import { segmentOfRun } from '../core/job';
import type { JobRegistry } from '../infra/jobs';
import type { Pool } from '../infra/mysql';
import { evaluateChecks, type CheckResult } from '../store/reruns/backup';
import { claimPeriod, releasePeriod, takeOverPeriod, type PeriodKey } from '../store/ledger/locks';
import { closeRun, openRun, periodSucceeded, recordChecks, type RunClosing } from '../store/ledger/runs';

export type { LedgerItem, RunClosing } from '../store/ledger/runs';
import { classified, lookupTask } from './failures';
import type { DependencyState, RunInput } from './types';

/** A task's period, as the period lock names it. */
export type TaskPeriod = Pick<RunInput, 'job' | 'task' | 'period'>;

export interface LedgerDependencies {
  readonly registry: JobRegistry;
  readonly names: Names;
  readonly mysql: Pool;
  /** The code version this slave runs. */
  readonly buildId: string;
  /** A Temporal client, for asking whether a period's holder still runs. */
  readonly temporal: () => Promise<Client>;
}

/** Failed checks an alert lists; the ledger keeps them all. */
const CHECKS_IN_ALERT = 20;

export interface CheckCounts {
  readonly errors: number;
  readonly warnings: number;
  /** The first error-level failures, for the alert. */
  readonly firstErrors: ReadonlyArray<{ readonly game?: number; readonly label: string; readonly error: string }>;
}

export function createLedgerActivities(deps: LedgerDependencies) {
  const periodOf = (input: TaskPeriod): PeriodKey => ({ job: input.job, task: input.task, periodKey: input.period.key });

  async function stillRunning(workflowId: string): Promise<boolean> {
    const client = await deps.temporal();
    try {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      return status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  return {
    /** Record the run as running. @returns its ledger id. */
    async ledgerOpen(input: RunInput, startedAt: number): Promise<number> {
      const execution = Context.current().info.workflowExecution;
      if (!execution) throw new Error('ledgerOpen runs only inside a workflow');
      const { workflowId, runId } = execution;
      const segment = segmentOfRun(input.filters);
      return classified(() =>
        openRun(deps.mysql, deps.names, {
          workflowId,
          temporalRunId: runId,
          job: input.job,
          task: input.task,
          period: input.period,
          origin: input.origin ?? 'start',
          ...(input.rerunId !== undefined && { rerunId: input.rerunId }),
          ...(segment !== undefined && { segment }),
          ...(input.startedBy && { startedBy: input.startedBy }),
          codeVersion: deps.buildId,
          startedAt,
        }),
      );
    },

    /** Record a scheduled firing that did not run because another run of the period was going. */
    async ledgerSkipped(input: RunInput, startedAt: number, reason: string): Promise<void> {
      const execution = Context.current().info.workflowExecution;
      if (!execution) throw new Error('ledgerSkipped runs only inside a workflow');
      await classified(async () => {
        const id = await openRun(deps.mysql, deps.names, {
          workflowId: execution.workflowId,
          temporalRunId: execution.runId,
          job: input.job,
          task: input.task,
          period: input.period,
          origin: input.origin ?? 'schedule',
          ...(input.startedBy && { startedBy: input.startedBy }),
          codeVersion: deps.buildId,
          startedAt,
        });
        await closeRun(deps.mysql, deps.names, id, { outcome: 'skipped', finishedAt: Date.now(), items: [], error: reason });
      });
    },

    /** Record how the run ended, with its items. */
    async ledgerClose(ledgerId: number, closing: RunClosing): Promise<void> {
      await classified(() => closeRun(deps.mysql, deps.names, ledgerId, closing));
    },

    /**
     * Claim the task's period for `holder`. A holder whose workflow no longer
     * runs is replaced. @returns `null` once held, else the holder to wait for.
     */
    async claimTaskPeriod(input: TaskPeriod, holder: string): Promise<string | null> {
      const key = periodOf(input);
      const current = await classified(() => claimPeriod(deps.mysql, deps.names, key, holder, Date.now()));
      if (current === holder) return null;
      if (current === '') return 'a writer that just finished';
      if (!(await stillRunning(current)) && (await takeOverPeriod(deps.mysql, deps.names, key, current, holder, Date.now()))) return null;
      return current;
    },

    async releaseTaskPeriod(input: TaskPeriod, holder: string): Promise<void> {
      await classified(() => releasePeriod(deps.mysql, deps.names, periodOf(input), holder));
    },

    /** Whether some run of `job.task` for this period succeeded, found in the ledger. */
    async dependencyState(input: RunInput, job: string, task: string): Promise<DependencyState> {
      return (await classified(() => periodSucceeded(deps.mysql, deps.names, job, task, input.period.key))) ? 'succeeded' : 'pending';
    },

    /** The task's declared checks over the rows this run wrote, stored with the run. */
    async runChecks(input: RunInput, ledgerId: number, expectedGames: readonly number[]): Promise<CheckCounts> {
      const task = lookupTask(deps.registry, input.job, input.task);
      const checks = task.checks ?? [];
      const results: CheckResult[] =
        checks.length === 0
          ? []
          : await classified(() =>
              evaluateChecks(deps.mysql, deps.names, { period: input.period, tables: task.reports ?? [], ...(input.filters?.games && { games: input.filters.games }) }, checks, expectedGames),
            );
      await classified(() => recordChecks(deps.mysql, deps.names, ledgerId, results));
      const errors = results.filter((r) => r.severity === 'error');
      return {
        errors: errors.length,
        warnings: results.length - errors.length,
        firstErrors: errors.slice(0, CHECKS_IN_ALERT).map((r) => ({
          ...(r.game !== undefined && { game: r.game }),
          label: `${r.table}${r.game === undefined ? '' : ` game ${r.game}`}`,
          error: `${r.check}: ${r.detail}`,
        })),
      };
    },
  };
}

export type LedgerActivities = ReturnType<typeof createLedgerActivities>;

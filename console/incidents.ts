/**
 * The alerts of the last day, as the overview lists them. Alerts are sent,
 * not stored; what raised them is in the ledger, so the incidents are
 * derived from it: every run of the window that failed, was cut off, left
 * failed games, or whose error-level checks failed — one incident each, as
 * the notifier raises one per run, listing every game concerned.
 */
import type { Names } from '../core/names';
import type { Outcome } from '../core/outcome';
import type { Incident, IncidentKind } from '../infra/notifier';
import type { Pool } from '../infra/mysql';
import { listRuns, runItems, sqlTime, type LedgerRun } from '../store/ledger/runs';

/** Runs looked at: the newest of the ledger, enough for a day of every task of a studio. */
const RUNS_SCANNED = 5000;
/** Incidents whose failed games are read item by item; the rest show their counts. */
const DETAILED = 50;

export interface ConsoleIncident extends Incident {
  readonly at: string;
  readonly outcome: Outcome;
  /** Set for a run of a rerun or retry. */
  readonly rerunId?: string;
  readonly gameCount: number;
}

/** The kind the notifier would have raised for a run, or none. */
export function incidentKind(run: Pick<LedgerRun, 'outcome' | 'checkErrors' | 'itemsFailed'>): IncidentKind | undefined {
  if (run.outcome === 'failed') return 'runFailed';
  if (run.outcome === 'timed_out') return 'timeout';
  if (run.outcome === 'partial' || run.itemsFailed > 0) return 'gamesFailed';
  if (run.checkErrors > 0 && run.outcome !== 'running') return 'checksFailed';
  return undefined;
}

/** Incidents of runs started since `since` (epoch ms), newest first. */
export async function recentIncidents(pool: Pool, names: Names, since: number): Promise<ConsoleIncident[]> {
  const from = sqlTime(since);
  const runs = (await listRuns(pool, names, { limit: RUNS_SCANNED })).filter((r) => r.startedAt >= from && incidentKind(r) !== undefined);
  return Promise.all(
    runs.map(async (run, i): Promise<ConsoleIncident> => {
      const kind = incidentKind(run)!;
      const failed = i < DETAILED && run.itemsFailed + run.itemsPending > 0 ? (await runItems(pool, names, run.id)).filter((it) => it.outcome !== 'ok') : [];
      const games = failed.map((it) => ({ ...(it.game !== undefined && { game: it.game }), label: it.label, error: it.error ?? it.outcome }));
      return {
        kind,
        job: run.job,
        task: run.task,
        period: run.periodKey,
        runId: run.workflowId,
        summary: summaryOf(run, kind),
        games,
        gameCount: Math.max(games.length, run.itemsFailed + run.itemsPending),
        at: run.startedAt,
        outcome: run.outcome,
        ...(run.rerunId !== undefined && { rerunId: run.rerunId }),
      };
    }),
  );
}

function summaryOf(run: LedgerRun, kind: IncidentKind): string {
  const items = `${run.itemsFailed + run.itemsPending} of ${run.itemsTotal} items`;
  switch (kind) {
    case 'runFailed':
      return `the run failed: ${run.error ?? 'no error recorded'}`;
    case 'timeout':
      return `cut off at its time limit; ${items} pending or failed`;
    case 'gamesFailed':
      return `${items} failed${run.checkErrors > 0 ? `; ${run.checkErrors} failed checks` : ''}`;
    default:
      return `${run.checkErrors} failed checks`;
  }
}

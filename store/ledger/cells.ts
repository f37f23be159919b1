/**
 * The ledger rows behind a task's games × periods matrix: its runs over a
 * range of period keys and their items, with each game's failed checks.
 * Two indexed queries whatever the range (`task_period` on runs, the primary
 * key on items), so a 500 games × 31 days page reads ~15k item rows.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { ItemRow, RunRow } from '../../core/matrix';
import type { Names } from '../../core/names';
import type { Outcome } from '../../core/outcome';
import { ledgerTables } from './schema';

export interface CellQuery {
  readonly job: string;
  readonly task: string;
  /** Inclusive period-key bounds (keys of one unit sort as text). */
  readonly from: string;
  readonly to: string;
  readonly games?: readonly number[];
}

/**
 * The SQL of {@link matrixRows}'s run query, for EXPLAIN in the benchmark.
 * The index is forced: on a young ledger MariaDB would scan the table, and the
 * plan must not change as it grows. Runs of a segment (`-s` / `-c`) are left
 * out: they wrote the segment's rows, not the game's, so a green segment
 * must not paint a failed game green, nor a failed one a good game red.
 */
export function runsSql(names: Names): string {
  return `SELECT id, workflow_id, period_key, outcome, started_at, error FROM ${ledgerTables(names).runs} FORCE INDEX (task_period) WHERE job = ? AND task = ? AND period_key BETWEEN ? AND ? AND segment IS NULL`;
}

export async function matrixRows(pool: Pool, names: Names, q: CellQuery): Promise<{ runs: RunRow[]; items: ItemRow[] }> {
  const t = ledgerTables(names);
  const [runRows] = await pool.query<RowDataPacket[]>(runsSql(names), [q.job, q.task, q.from, q.to]);
  const runs: RunRow[] = runRows.map((r) => ({
    runId: Number(r.id),
    workflowId: String(r.workflow_id),
    periodKey: String(r.period_key),
    outcome: r.outcome as Outcome,
    startedAt: String(r.started_at),
    ...(r.error !== null && { error: String(r.error) }),
  }));
  if (runs.length === 0) return { runs, items: [] };
  const byId = new Map(runs.map((r) => [r.runId, r]));
  const games = q.games && q.games.length > 0 ? ` AND i.game_id IN (${q.games.map(() => '?').join(', ')})` : '';
  const ids = [...byId.keys()];
  const items: ItemRow[] = [];
  // In slices of run ids: a year of hourly runs would otherwise make one giant IN list.
  for (let i = 0; i < ids.length; i += 1000) {
    const slice = ids.slice(i, i + 1000);
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT i.run_id, i.game_id, i.outcome, i.error, r.finished_at,
         (SELECT COUNT(*) FROM ${t.checks} c WHERE c.run_id = i.run_id AND c.game_id = i.game_id AND c.severity = 'error') AS check_errors
       FROM ${t.items} i JOIN ${t.runs} r ON r.id = i.run_id
       WHERE i.run_id IN (${slice.map(() => '?').join(', ')}) AND i.game_id IS NOT NULL${games}`,
      [...slice, ...(q.games ?? [])],
    );
    for (const r of rows) {
      const run = byId.get(Number(r.run_id))!;
      items.push({
        runId: run.runId,
        workflowId: run.workflowId,
        periodKey: run.periodKey,
        game: Number(r.game_id),
        outcome: r.outcome as ItemRow['outcome'],
        ...(r.error !== null && { error: String(r.error) }),
        ...(r.finished_at !== null && { finishedAt: String(r.finished_at) }),
        checkErrors: Number(r.check_errors),
      });
    }
  }
  return { runs, items };
}

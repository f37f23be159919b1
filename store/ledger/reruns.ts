/**
 * Reruns (and retries) in the ledger: the plan each started with, who started
 * it and why, how it ended, and whether it was restored or pruned. Restore
 * reads the plan from here, so it works long after Temporal has forgotten
 * the rerun's history.
 */
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { sqlId } from '../identifiers';
import type { Names } from '../../core/names';
import type { StartedBy } from '../../core/outcome';
import { ledgerTables } from './schema';
import { whereEqual } from './where';
import { sqlTime, who } from './runs';

export type RerunOutcome = 'running' | 'ok' | 'partial' | 'failed' | 'cancelled';

/** A rerun as recorded when it starts. */
export interface RerunOpening {
  readonly rerunId: string;
  readonly job: string;
  readonly kind: 'rerun' | 'retry';
  /** The workflow's input: tasks with their ranges, filters, parallelism (JSON). */
  readonly plan: unknown;
  readonly filters: unknown;
  readonly startedBy?: StartedBy;
  readonly startedAt: number;
}

export interface LedgerRerun {
  readonly rerunId: string;
  readonly job: string;
  readonly kind: 'rerun' | 'retry';
  readonly plan: unknown;
  readonly filters: unknown;
  readonly startedBy?: string;
  readonly reason?: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly outcome: RerunOutcome;
  readonly summary?: unknown;
  readonly restoredAt?: string;
  readonly restoredBy?: string;
  readonly restoreSummary?: unknown;
  readonly prunedAt?: string;
}

/** Record a rerun as running; a repeated call (a retried activity, a continued-as-new run) changes nothing. */
export async function openRerun(pool: Pool, names: Names, r: RerunOpening): Promise<void> {
  await pool.query(
    `INSERT IGNORE INTO ${ledgerTables(names).reruns} (rerun_id, job, kind, plan, filters, started_by, reason, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [r.rerunId, r.job, r.kind, JSON.stringify(r.plan), JSON.stringify(r.filters), who(r.startedBy), r.startedBy?.reason ?? null, sqlTime(r.startedAt)],
  );
}

/** Record how a rerun ended, with its summary. */
export async function closeRerun(pool: Pool, names: Names, rerunId: string, outcome: Exclude<RerunOutcome, 'running'>, summary: unknown, finishedAt: number): Promise<void> {
  await pool.query(`UPDATE ${ledgerTables(names).reruns} SET outcome = ?, summary = ?, finished_at = ? WHERE rerun_id = ?`, [
    outcome,
    JSON.stringify(summary),
    sqlTime(finishedAt),
    rerunId,
  ]);
}

/** Record a restore of a rerun (all of it, or some periods). */
export async function markRestored(pool: Pool, names: Names, rerunId: string, by: StartedBy | undefined, summary: unknown, at: number): Promise<void> {
  await pool.query(`UPDATE ${ledgerTables(names).reruns} SET restored_at = ?, restored_by = ?, restore_summary = ? WHERE rerun_id = ?`, [
    sqlTime(at),
    who(by),
    JSON.stringify(summary),
    rerunId,
  ]);
}

export async function getRerun(pool: Pool, names: Names, rerunId: string): Promise<LedgerRerun | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${ledgerTables(names).reruns} WHERE rerun_id = ?`, [rerunId]);
  return rows[0] ? toRerun(rows[0]) : undefined;
}

/** Reruns newest first, optionally of one job. */
export async function listReruns(pool: Pool, names: Names, filter: { job?: string; limit?: number } = {}): Promise<LedgerRerun[]> {
  const { sql: where, params } = whereEqual([['job', filter.job]]);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT * FROM ${ledgerTables(names).reruns} ${where} ORDER BY started_at DESC, rerun_id DESC LIMIT ${Math.min(10_000, filter.limit ?? 200)}`,
    params,
  );
  return rows.map(toRerun);
}

function toRerun(r: RowDataPacket): LedgerRerun {
  const opt = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
  const json = (v: unknown) => (v === null || v === undefined ? undefined : (JSON.parse(String(v)) as unknown));
  return {
    rerunId: String(r.rerun_id),
    job: String(r.job),
    kind: r.kind === 'retry' ? 'retry' : 'rerun',
    plan: json(r.plan),
    filters: json(r.filters),
    ...(opt(r.started_by) !== undefined && { startedBy: opt(r.started_by)! }),
    ...(opt(r.reason) !== undefined && { reason: opt(r.reason)! }),
    startedAt: String(r.started_at),
    ...(opt(r.finished_at) !== undefined && { finishedAt: opt(r.finished_at)! }),
    outcome: r.outcome as RerunOutcome,
    ...(r.summary !== null && { summary: json(r.summary) }),
    ...(opt(r.restored_at) !== undefined && { restoredAt: opt(r.restored_at)! }),
    ...(opt(r.restored_by) !== undefined && { restoredBy: opt(r.restored_by)! }),
    ...(r.restore_summary !== null && { restoreSummary: json(r.restore_summary) }),
    ...(opt(r.pruned_at) !== undefined && { prunedAt: opt(r.pruned_at)! }),
  };
}

/** A rerun's tasks and ranges, as its plan holds them. */
export interface PlannedRange {
  readonly task: string;
  readonly range: { readonly first: { readonly start: number }; readonly last: { readonly end: number } };
}

/**
 * Running reruns of `job` started before `rerunId` whose tasks and periods
 * overlap `ranges`: a later rerun waits for them, so that each period's
 * backups are taken in the order the reruns started and restoring them
 * newest first returns every row to where it was.
 */
export async function earlierOverlapping(pool: Pool, names: Names, job: string, rerunId: string, ranges: readonly PlannedRange[]): Promise<string[]> {
  const t = ledgerTables(names).reruns;
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT o.rerun_id, o.plan FROM ${t} o JOIN ${t} me ON me.rerun_id = ?
     WHERE o.job = ? AND o.outcome = 'running' AND o.rerun_id <> me.rerun_id
       AND (o.started_at < me.started_at OR (o.started_at = me.started_at AND o.rerun_id < me.rerun_id))`,
    [rerunId, job],
  );
  return rows
    .filter((r) => {
      const theirs = ((JSON.parse(String(r.plan)) as { tasks?: PlannedRange[] }).tasks ?? []) as PlannedRange[];
      return theirs.some((a) => ranges.some((b) => a.task === b.task && a.range.first.start < b.range.last.end && b.range.first.start < a.range.last.end));
    })
    .map((r) => String(r.rerun_id));
}

/** Mark a rerun whose workflow is gone (terminated, history deleted) as no longer running. */
export async function markAbandoned(pool: Pool, names: Names, rerunId: string, at: number): Promise<void> {
  await pool.query(`UPDATE ${ledgerTables(names).reruns} SET outcome = 'failed', finished_at = ?, summary = COALESCE(summary, ?) WHERE rerun_id = ? AND outcome = 'running'`, [
    sqlTime(at),
    JSON.stringify({ error: 'the rerun workflow ended without recording its outcome (terminated?)' }),
    rerunId,
  ]);
}

/** Rows one DELETE of a prune removes at most. */
const PRUNE_SLICE = 10_000;

/** What a prune did: reruns whose backups and diffs were deleted, and those it left because they still run. */
export interface PruneResult {
  readonly pruned: readonly string[];
  readonly stillRunning: readonly string[];
  readonly rowsDeleted: number;
}

/**
 * Delete the backups, snapshot manifests and diffs of reruns started before
 * `before` (epoch ms), keeping their ledger rows (marked pruned: restore then
 * says why it cannot). A rerun still running is never pruned.
 */
export async function pruneReruns(pool: Pool, names: Names, before: number, at: number): Promise<PruneResult> {
  const t = ledgerTables(names).reruns;
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT rerun_id, outcome FROM ${t} WHERE started_at < ? AND pruned_at IS NULL ORDER BY started_at`, [sqlTime(before)]);
  const stillRunning = rows.filter((r) => r.outcome === 'running').map((r) => String(r.rerun_id));
  const pruned = rows.filter((r) => r.outcome !== 'running').map((r) => String(r.rerun_id));
  let rowsDeleted = 0;
  for (const id of pruned) {
    for (const table of ['rerun_backup', 'rerun_snapshot', 'rerun_diff', 'rerun_check']) {
      // In slices: a year of backups is millions of rows, and one DELETE would hold its locks for minutes.
      for (;;) {
        const [res] = await pool.query<ResultSetHeader>(`DELETE FROM ${sqlId(names.schema('report'), table)} WHERE rerun_id = ? LIMIT ${PRUNE_SLICE}`, [id]);
        rowsDeleted += res.affectedRows;
        if (res.affectedRows < PRUNE_SLICE) break;
      }
    }
    await pool.query(`UPDATE ${t} SET pruned_at = ? WHERE rerun_id = ?`, [sqlTime(at), id]);
  }
  return { pruned, stillRunning, rowsDeleted };
}

/**
 * Writing and reading the ledger's runs. Every write is idempotent: a run is
 * keyed by its Temporal execution (workflow id and run id), so a retried
 * activity or a replayed workflow finds its row instead of adding one, and
 * closing a run replaces its items and checks in one transaction.
 */
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { inTransaction as transaction } from '../../infra/mysql';
import type { Names } from '../../core/names';
import type { FinalOutcome, ItemOutcomeName, Origin, Outcome, StartedBy } from '../../core/outcome';
import type { Period } from '../../core/period';
import type { CheckResult } from '../reruns/checks';
import { ledgerTables } from './schema';
import { whereEqual } from './where';

/** What is known of a run when it starts. */
export interface RunOpening {
  readonly workflowId: string;
  readonly temporalRunId: string;
  readonly job: string;
  readonly task: string;
  readonly period: Period;
  readonly origin: Origin;
  readonly rerunId?: string;
  /** The run's `-s` / `-c` (core/job `segmentOfRun`): it computed a segment, not whole games. */
  readonly segment?: string;
  readonly startedBy?: StartedBy;
  readonly codeVersion?: string;
  /** Epoch ms; the workflow's start, so a replay writes the same value. */
  readonly startedAt: number;
}

/** One item's final state. */
export interface LedgerItem {
  readonly index: number;
  readonly label: string;
  readonly game?: number;
  readonly slave?: string;
  readonly attempts: number;
  readonly outcome: ItemOutcomeName;
  readonly error?: string;
  readonly durationMs?: number;
}

/** What is known of a run when it ends. */
export interface RunClosing {
  readonly outcome: FinalOutcome;
  readonly finishedAt: number;
  readonly items: readonly LedgerItem[];
  readonly error?: string;
}

/** A run as the ledger holds it. */
export interface LedgerRun {
  readonly id: number;
  readonly workflowId: string;
  readonly job: string;
  readonly task: string;
  readonly periodKey: string;
  readonly origin: Origin;
  readonly rerunId?: string;
  readonly segment?: string;
  readonly startedBy?: string;
  readonly reason?: string;
  readonly codeVersion?: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly outcome: Outcome;
  readonly itemsTotal: number;
  readonly itemsOk: number;
  readonly itemsFailed: number;
  readonly itemsPending: number;
  readonly checkErrors: number;
  readonly checkWarnings: number;
  readonly error?: string;
}

const BATCH = 500;

/** UTC text MySQL's DATETIME(3) takes. */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** `user@host`, the way the ledger shows who started something. */
export function who(by: StartedBy | undefined): string | null {
  return by ? `${by.user}@${by.host}` : null;
}

/** Record a run as running (or find it, when this is a retry of the same write). @returns the ledger's run id. */
export async function openRun(pool: Pool, names: Names, run: RunOpening): Promise<number> {
  const t = ledgerTables(names);
  const [res] = await pool.query<ResultSetHeader>(
    `INSERT INTO ${t.runs} (workflow_id, temporal_run_id, job, task, period_key, period_unit, period_start, period_end, zone,
       origin, rerun_id, segment, started_by, reason, code_version, started_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)`,
    [
      run.workflowId,
      run.temporalRunId,
      run.job,
      run.task,
      run.period.key,
      run.period.unit,
      sqlTime(run.period.start),
      sqlTime(run.period.end),
      run.period.zone,
      run.origin,
      run.rerunId ?? null,
      run.segment ?? null,
      who(run.startedBy),
      run.startedBy?.reason ?? null,
      run.codeVersion ?? null,
      sqlTime(run.startedAt),
    ],
  );
  return res.insertId;
}

/** Record how a run ended, with every item; replaces what an earlier attempt of this write left. */
export async function closeRun(pool: Pool, names: Names, runId: number, closing: RunClosing): Promise<void> {
  const t = ledgerTables(names);
  const count = (o: ItemOutcomeName) => closing.items.filter((i) => i.outcome === o).length;
  await transaction(pool, async (conn) => {
    await conn.query(`DELETE FROM ${t.items} WHERE run_id = ?`, [runId]);
    for (let i = 0; i < closing.items.length; i += BATCH) {
      const batch = closing.items.slice(i, i + BATCH);
      await conn.query(
        `INSERT INTO ${t.items} (run_id, item_index, label, game_id, slave, attempts, outcome, error, duration_ms) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        batch.flatMap((item) => [
          runId,
          item.index,
          item.label.slice(0, 255),
          item.game ?? null,
          item.slave?.slice(0, 255) ?? null,
          item.attempts,
          item.outcome,
          item.error ?? null,
          item.durationMs === undefined ? null : Math.max(0, Math.round(item.durationMs)),
        ]),
      );
    }
    await conn.query(
      `UPDATE ${t.runs} SET outcome = ?, finished_at = ?, items_total = ?, items_ok = ?, items_failed = ?, items_pending = ?, error = ? WHERE id = ?`,
      [
        closing.outcome,
        sqlTime(closing.finishedAt),
        closing.items.length,
        count('ok'),
        count('failed'),
        count('pending') + count('cancelled'),
        closing.error ?? null,
        runId,
      ],
    );
  });
}

/** One failed check, as stored with its run: what the checks found. */
export type LedgerCheck = CheckResult;

/** Replace a run's failed checks and their counts. */
export async function recordChecks(pool: Pool, names: Names, runId: number, checks: readonly LedgerCheck[]): Promise<void> {
  const t = ledgerTables(names);
  await transaction(pool, async (conn) => {
    await conn.query(`DELETE FROM ${t.checks} WHERE run_id = ?`, [runId]);
    for (let i = 0; i < checks.length; i += BATCH) {
      const batch = checks.slice(i, i + BATCH);
      await conn.query(
        `INSERT INTO ${t.checks} (run_id, seq, check_name, severity, tbl, game_id, period, detail) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        batch.flatMap((c, j) => [runId, i + j, c.check.slice(0, 255), c.severity, c.table, c.game ?? null, c.period, c.detail]),
      );
    }
    const errors = checks.filter((c) => c.severity === 'error').length;
    await conn.query(`UPDATE ${t.runs} SET check_errors = ?, check_warnings = ? WHERE id = ?`, [errors, checks.length - errors, runId]);
  });
}

/**
 * Whether some run of `job.task` over whole games ended `ok` for the period
 * (scheduled, once, rerun or retry). A segment's run (`-s` / `-c`) wrote
 * that segment's rows only, so it does not count: a task waiting on the
 * period needs the games' rows.
 */
export async function periodSucceeded(pool: Pool, names: Names, job: string, task: string, periodKey: string): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${ledgerTables(names).runs} WHERE job = ? AND task = ? AND period_key = ? AND outcome = 'ok' AND segment IS NULL LIMIT 1`, [
    job,
    task,
    periodKey,
  ]);
  return rows.length > 0;
}

/** The latest run of each (job, task, period) matching the filter, newest first. */
export async function listRuns(
  pool: Pool,
  names: Names,
  filter: { job?: string; task?: string; periodKey?: string; rerunId?: string; limit?: number } = {},
): Promise<LedgerRun[]> {
  const { sql: where, params } = whereEqual([
    ['job', filter.job],
    ['task', filter.task],
    ['period_key', filter.periodKey],
    ['rerun_id', filter.rerunId],
  ]);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT * FROM ${ledgerTables(names).runs} ${where} ORDER BY id DESC LIMIT ${Math.min(10_000, filter.limit ?? 1000)}`,
    params,
  );
  return rows.map(toRun);
}

/** A run's items, in item order. */
export async function runItems(pool: Pool, names: Names, runId: number): Promise<LedgerItem[]> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${ledgerTables(names).items} WHERE run_id = ? ORDER BY item_index`, [runId]);
  return rows.map((r) => ({
    index: Number(r.item_index),
    label: String(r.label),
    ...(r.game_id !== null && { game: Number(r.game_id) }),
    ...(r.slave !== null && { slave: String(r.slave) }),
    attempts: Number(r.attempts),
    outcome: r.outcome as ItemOutcomeName,
    ...(r.error !== null && { error: String(r.error) }),
    ...(r.duration_ms !== null && { durationMs: Number(r.duration_ms) }),
  }));
}

/** Failed checks of a run, or of every run of a rerun. */
export async function readLedgerChecks(pool: Pool, names: Names, by: { runId: number } | { rerunId: string; period?: string }): Promise<Array<LedgerCheck & { task: string }>> {
  const t = ledgerTables(names);
  const [where, params] =
    'runId' in by
      ? ['r.id = ?', [by.runId]]
      : [`r.rerun_id = ?${by.period === undefined ? '' : ' AND r.period_key = ?'}`, by.period === undefined ? [by.rerunId] : [by.rerunId, by.period]];
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT r.task, c.* FROM ${t.checks} c JOIN ${t.runs} r ON r.id = c.run_id WHERE ${where} ORDER BY r.period_key, c.tbl, c.seq`,
    params,
  );
  return rows.map((r) => ({
    task: String(r.task),
    check: String(r.check_name),
    severity: r.severity === 'warning' ? 'warning' : 'error',
    table: String(r.tbl),
    ...(r.game_id !== null && { game: Number(r.game_id) }),
    period: String(r.period),
    detail: String(r.detail),
  }));
}

function toRun(r: RowDataPacket): LedgerRun {
  const opt = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
  return {
    id: Number(r.id),
    workflowId: String(r.workflow_id),
    job: String(r.job),
    task: String(r.task),
    periodKey: String(r.period_key),
    origin: r.origin as Origin,
    ...(opt(r.rerun_id) !== undefined && { rerunId: opt(r.rerun_id)! }),
    ...(opt(r.segment) !== undefined && { segment: opt(r.segment)! }),
    ...(opt(r.started_by) !== undefined && { startedBy: opt(r.started_by)! }),
    ...(opt(r.reason) !== undefined && { reason: opt(r.reason)! }),
    ...(opt(r.code_version) !== undefined && { codeVersion: opt(r.code_version)! }),
    startedAt: String(r.started_at),
    ...(opt(r.finished_at) !== undefined && { finishedAt: opt(r.finished_at)! }),
    outcome: r.outcome as Outcome,
    itemsTotal: Number(r.items_total),
    itemsOk: Number(r.items_ok),
    itemsFailed: Number(r.items_failed),
    itemsPending: Number(r.items_pending),
    checkErrors: Number(r.check_errors),
    checkWarnings: Number(r.check_warnings),
    ...(opt(r.error) !== undefined && { error: opt(r.error)! }),
  };
}

/** The median duration (ms) of a task's recent ok runs, for estimates; undefined before its first. */
export async function typicalDuration(pool: Pool, names: Names, job: string, task: string): Promise<number | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1000 AS ms FROM ${ledgerTables(names).runs}
     WHERE job = ? AND task = ? AND outcome = 'ok' AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 50`,
    [job, task],
  );
  const all = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
  return all.length === 0 ? undefined : all[Math.floor(all.length / 2)];
}

/** Runs of a task's periods that are running now, and who holds each period. */
export async function busyPeriods(pool: Pool, names: Names, job: string, task: string, periodKeys: readonly string[]): Promise<Array<{ period: string; holder: string }>> {
  if (periodKeys.length === 0) return [];
  const t = ledgerTables(names);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT period_key, holder FROM ${t.locks} WHERE job = ? AND task = ? AND period_key IN (${periodKeys.map(() => '?').join(', ')})`,
    [job, task, ...periodKeys],
  );
  return rows.map((r) => ({ period: String(r.period_key), holder: String(r.holder) }));
}

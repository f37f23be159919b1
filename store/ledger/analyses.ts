/**
 * Analyses in the ledger: every computation of an analysis (asked from the
 * CLI, HTTP, the request stream, or pre-computed by its task), with its
 * parameters, who asked, how it ended and whether its answer was
 * provisional. Answers served from the cache compute nothing and are not
 * recorded. Keyed by execution, so a retried activity finds its row.
 *
 * Operators read the rows newest first (`gflow analyses`, the console's
 * Analyses page) and prune the finished ones by age (`gflow analyses
 * prune`): a front end may ask thousands of times a day, and nothing else
 * ever deletes a row.
 */
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Names } from '../../core/names';
import { sqlId } from '../identifiers';
import { ddlUnlessPresent } from '../schema/migration';
import { sqlTime } from './runs';
import { whereEqual } from './where';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** Where a request came from. */
export type AnalysisOrigin = 'cli' | 'http' | 'stream' | 'task';

function analysesTable(names: Names): string {
  return sqlId(names.schema('meta'), 'ledger_analyses');
}

/** Shaped like store/schema's Migration. */
export const ANALYSIS_MIGRATIONS = [
  {
    version: '0011_ledger_analyses',
    description: 'the ledger: analyses computed on demand or ahead',
    up: (n: Names): readonly string[] => [
      `CREATE TABLE IF NOT EXISTS ${analysesTable(n)} (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        workflow_id VARCHAR(255) NOT NULL,
        execution VARCHAR(255) NOT NULL,
        job VARCHAR(100) NOT NULL,
        analysis VARCHAR(64) NOT NULL,
        params TEXT NOT NULL,
        origin ENUM('cli','http','stream','task') NOT NULL,
        started_by VARCHAR(255) NULL,
        started_at DATETIME(3) NOT NULL,
        finished_at DATETIME(3) NULL,
        outcome ENUM('running','ok','failed') NOT NULL DEFAULT 'running',
        provisional TINYINT(1) NULL,
        error TEXT NULL,
        UNIQUE KEY execution (workflow_id, execution),
        KEY analysis_started (job, analysis, started_at)
      ) ${TABLE}`,
    ],
  },
  {
    version: '0012_ledger_analyses_started',
    description: 'the ledger: analyses listed newest first and pruned by age (keys on started_at and on outcome, started_at)',
    // The list without filters walks `started` backwards and stops at its limit; `--outcome` walks
    // `outcome_started` the same way (running and failed rows are few among thousands of ok ones);
    // a prune finds its old finished rows on either. Job and analysis filters have `analysis_started`.
    up: (n: Names): readonly string[] => [...addKeyIfMissing(n, 'started', '(started_at)'), ...addKeyIfMissing(n, 'outcome_started', '(outcome, started_at)')],
  },
] as const;

/**
 * An ALTER TABLE adding `key` to ledger_analyses unless it is there: re-runnable on
 * MySQL and MariaDB alike (MySQL has no ADD KEY IF NOT EXISTS), as a migration must be.
 */
function addKeyIfMissing(n: Names, key: string, columns: string): string[] {
  return ddlUnlessPresent(n.schema('meta'), 'ledger_analyses', { index: key }, `ALTER TABLE ${analysesTable(n)} ADD KEY ${key} ${columns}`);
}

export interface AnalysisOpening {
  readonly workflowId: string;
  /** The Temporal run (or, for `ctx.ask`, the task's activity) that computes it. */
  readonly execution: string;
  readonly job: string;
  readonly analysis: string;
  readonly params: string;
  readonly origin: AnalysisOrigin;
  readonly startedBy?: string;
  readonly startedAt: number;
}

/** Record a computation as running; a retry of the same execution finds its row. @returns its id. */
export async function openAnalysis(pool: Pool, names: Names, a: AnalysisOpening): Promise<number> {
  const [res] = await pool.query<ResultSetHeader>(
    `INSERT INTO ${analysesTable(names)} (workflow_id, execution, job, analysis, params, origin, started_by, started_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)`,
    [a.workflowId, a.execution, a.job, a.analysis, a.params, a.origin, a.startedBy ?? null, sqlTime(a.startedAt)],
  );
  return res.insertId;
}

/** Record how a computation ended. */
export async function closeAnalysis(pool: Pool, names: Names, id: number, closing: { readonly ok: boolean; readonly provisional?: boolean; readonly error?: string; readonly finishedAt: number }): Promise<void> {
  await pool.query(`UPDATE ${analysesTable(names)} SET outcome = ?, provisional = ?, error = ?, finished_at = ? WHERE id = ?`, [
    closing.ok ? 'ok' : 'failed',
    closing.provisional === undefined ? null : closing.provisional ? 1 : 0,
    closing.error?.slice(0, 2000) ?? null,
    sqlTime(closing.finishedAt),
    id,
  ]);
}

/** How a computation stands: `running` until its compute returns or throws. */
export const ANALYSIS_OUTCOMES = ['running', 'ok', 'failed'] as const;
export type AnalysisOutcome = (typeof ANALYSIS_OUTCOMES)[number];

export function isAnalysisOutcome(value: unknown): value is AnalysisOutcome {
  return (ANALYSIS_OUTCOMES as readonly unknown[]).includes(value);
}

/** Rows a listing returns unless told otherwise: a screenful. */
export const DEFAULT_ANALYSIS_LIST = 50;
/** The most rows one listing returns, whatever it is asked: the ledger can hold millions. */
export const MAX_ANALYSIS_LIST = 10_000;

/** Which computations to list; every field narrows, none: all of them. */
export interface AnalysisListFilter {
  /** Only analyses of this job, e.g. `report`. */
  readonly job?: string;
  /** Only this analysis, by its name in its job (`retention` of `report.retention`); of any job unless `job` is set. */
  readonly analysis?: string;
  readonly outcome?: AnalysisOutcome;
  /**
   * At most this many rows, the newest.
   * @defaultValue {@link DEFAULT_ANALYSIS_LIST}, and never more than {@link MAX_ANALYSIS_LIST}
   */
  readonly limit?: number;
}

/** One computation as the ledger recorded it. Times are the ledger's UTC text, `2026-11-25 02:05:12.345`. */
export interface LedgerAnalysis {
  readonly id: number;
  /** The request's id: the analysis workflow (or, for `ctx.ask`, the task's run) that computed it. */
  readonly workflowId: string;
  readonly execution: string;
  readonly job: string;
  /** Its name in its job: `retention` of `report.retention`. */
  readonly analysis: string;
  /** The parameters as checked and normalised when asked, in their declared order. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly origin: AnalysisOrigin;
  /** `user@host` of who asked, when a person did. */
  readonly startedBy?: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** From start to end; unset while it runs. */
  readonly durationMs?: number;
  readonly outcome: AnalysisOutcome;
  /** Whether the answer covered a day not yet over; unset unless it ended ok. */
  readonly provisional?: boolean;
  /** Why it failed (the first 2000 characters). */
  readonly error?: string;
}

/**
 * Computations newest first (by start, then by id: rows started in the same
 * millisecond come latest-recorded first), narrowed by `filter`.
 */
export async function listAnalyses(pool: Pool, names: Names, filter: AnalysisListFilter = {}): Promise<LedgerAnalysis[]> {
  const { sql: where, params: values } = whereEqual([
    ['job', filter.job],
    ['analysis', filter.analysis],
    ['outcome', filter.outcome],
  ]);
  const wanted = filter.limit !== undefined && Number.isFinite(filter.limit) ? Math.trunc(filter.limit) : DEFAULT_ANALYSIS_LIST;
  const limit = Math.max(1, Math.min(MAX_ANALYSIS_LIST, wanted));
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT id, workflow_id, execution, job, analysis, params, origin, started_by, started_at, finished_at, outcome, provisional, error,
       TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) DIV 1000 AS duration_ms
     FROM ${analysesTable(names)} ${where}
     ORDER BY started_at DESC, id DESC LIMIT ${limit}`,
    values,
  );
  return rows.map(toAnalysis);
}

function toAnalysis(r: RowDataPacket): LedgerAnalysis {
  const opt = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
  return {
    id: Number(r.id),
    workflowId: String(r.workflow_id),
    execution: String(r.execution),
    job: String(r.job),
    analysis: String(r.analysis),
    params: JSON.parse(String(r.params)) as Record<string, unknown>,
    origin: r.origin as AnalysisOrigin,
    ...(opt(r.started_by) !== undefined && { startedBy: opt(r.started_by)! }),
    startedAt: String(r.started_at),
    ...(opt(r.finished_at) !== undefined && { finishedAt: opt(r.finished_at)! }),
    ...(r.duration_ms !== null && r.duration_ms !== undefined && { durationMs: Number(r.duration_ms) }),
    outcome: r.outcome as AnalysisOutcome,
    ...(r.provisional !== null && r.provisional !== undefined && { provisional: Number(r.provisional) === 1 }),
    ...(opt(r.error) !== undefined && { error: opt(r.error)! }),
  };
}

/** Rows one DELETE of a prune removes at most, so that no DELETE holds its locks for long. */
const PRUNE_SLICE = 10_000;

/** What a prune did. */
export interface AnalysisPruneResult {
  /** Finished computations deleted. */
  readonly deleted: number;
  /**
   * Computations as old that are still running, left alone. More than a few
   * means computations that died without recording their end (their
   * workflow terminated, say): their rows stay until looked at.
   */
  readonly stillRunning: number;
}

/** How {@link pruneAnalyses} deletes. */
export interface AnalysisPruneOptions {
  /**
   * Rows one DELETE removes at most.
   * @defaultValue 10,000
   * @example pruneAnalyses(pool, names, before, { sliceRows: 1000 })
   */
  readonly sliceRows?: number;
  /**
   * Stop after this many DELETEs, the oldest rows gone, the rest left for
   * the next prune: a prune that must be brief.
   * @defaultValue no bound: until no old finished row is left
   * @example pruneAnalyses(pool, names, before, { sliceRows: 1000, maxSlices: 5 })
   */
  readonly maxSlices?: number;
}

/**
 * Delete the rows of computations that finished (ok or failed) and started
 * before `before` (epoch ms), in DELETEs of at most `sliceRows` rows, oldest
 * first. A running computation's row is never deleted: its end is still to
 * be recorded there.
 */
export async function pruneAnalyses(pool: Pool, names: Names, before: number, options: AnalysisPruneOptions = {}): Promise<AnalysisPruneResult> {
  const t = analysesTable(names);
  const slice = Math.max(1, Math.trunc(options.sliceRows ?? PRUNE_SLICE));
  const slices = options.maxSlices === undefined ? Infinity : Math.max(1, Math.trunc(options.maxSlices));
  const cutoff = sqlTime(before);
  let deleted = 0;
  for (let n = 0; n < slices; n++) {
    const [res] = await pool.query<ResultSetHeader>(`DELETE FROM ${t} WHERE outcome IN ('ok', 'failed') AND started_at < ? ORDER BY started_at, id LIMIT ${slice}`, [cutoff]);
    deleted += res.affectedRows;
    if (res.affectedRows < slice) break;
  }
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t} WHERE outcome = 'running' AND started_at < ?`, [cutoff]);
  return { deleted, stillRunning: Number(rows[0]?.n ?? 0) };
}

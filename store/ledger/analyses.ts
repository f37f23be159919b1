/**
 * Analyses in the ledger: every computation of an analysis (asked from the
 * CLI, HTTP, the request stream, or pre-computed by its task), with its
 * parameters, who asked, how it ended and whether its answer was
 * provisional. Answers served from the cache compute nothing and are not
 * recorded. Keyed by execution, so a retried activity finds its row.
 */
import type { Pool, ResultSetHeader } from 'mysql2/promise';
import type { Names } from '../../core/names';
import { sqlId } from '../identifiers';
import { sqlTime } from './runs';

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
] as const;

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

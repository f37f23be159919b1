/**
 * The ledger's tables in `<prefix>_meta`: the durable record of every run of
 * a task for a period (`ledger_runs`), its items (`ledger_items`), its failed
 * checks (`ledger_checks`), who holds a task's period (`ledger_locks`), and
 * every rerun and restore (`ledger_reruns`). Temporal's history is gone after
 * the namespace's retention; these rows are not.
 *
 * Times are DATETIME(3) in UTC. The migration also drops `meta.runs` and
 * `log.events`, which earlier versions created and nothing ever wrote.
 */
import type { Names } from '../../core/names';
import { sqlId } from '../identifiers';
import { ddlUnlessPresent } from '../schema/migration';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** The ledger tables' escaped names. */
export function ledgerTables(names: Names) {
  const meta = names.schema('meta');
  return {
    runs: sqlId(meta, 'ledger_runs'),
    items: sqlId(meta, 'ledger_items'),
    checks: sqlId(meta, 'ledger_checks'),
    locks: sqlId(meta, 'ledger_locks'),
    reruns: sqlId(meta, 'ledger_reruns'),
  };
}

/** Shaped like store/schema's Migration (structurally, so that module can list these without a cycle). */
export const LEDGER_MIGRATIONS = [
  {
    version: '0010_ledger',
    description: 'the ledger: runs, items, checks, period locks, reruns; drops the never-written meta.runs and log.events',
    up: (n: Names): readonly string[] => {
      const t = ledgerTables(n);
      return [
        `DROP TABLE IF EXISTS ${sqlId(n.schema('meta'), 'runs')}`,
        `DROP TABLE IF EXISTS ${sqlId(n.schema('log'), 'events')}`,
        `CREATE TABLE IF NOT EXISTS ${t.runs} (
          id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
          workflow_id VARCHAR(255) NOT NULL,
          temporal_run_id VARCHAR(64) NOT NULL,
          job VARCHAR(100) NOT NULL,
          task VARCHAR(64) NOT NULL,
          period_key VARCHAR(16) NOT NULL,
          period_unit VARCHAR(8) NOT NULL,
          period_start DATETIME(3) NOT NULL,
          period_end DATETIME(3) NOT NULL,
          zone VARCHAR(64) NOT NULL,
          origin ENUM('schedule','start','rerun','retry') NOT NULL,
          rerun_id VARCHAR(255) NULL,
          started_by VARCHAR(255) NULL,
          reason VARCHAR(500) NULL,
          code_version VARCHAR(32) NULL,
          started_at DATETIME(3) NOT NULL,
          finished_at DATETIME(3) NULL,
          outcome ENUM('running','ok','partial','failed','cancelled','timed_out','skipped') NOT NULL DEFAULT 'running',
          items_total INT UNSIGNED NOT NULL DEFAULT 0,
          items_ok INT UNSIGNED NOT NULL DEFAULT 0,
          items_failed INT UNSIGNED NOT NULL DEFAULT 0,
          items_pending INT UNSIGNED NOT NULL DEFAULT 0,
          check_errors INT UNSIGNED NOT NULL DEFAULT 0,
          check_warnings INT UNSIGNED NOT NULL DEFAULT 0,
          error TEXT NULL,
          UNIQUE KEY execution (workflow_id, temporal_run_id),
          KEY task_period (job, task, period_key, outcome),
          KEY rerun (rerun_id),
          KEY started (started_at)
        ) ${TABLE}`,
        `CREATE TABLE IF NOT EXISTS ${t.items} (
          run_id BIGINT UNSIGNED NOT NULL,
          item_index INT UNSIGNED NOT NULL,
          label VARCHAR(255) NOT NULL,
          game_id INT UNSIGNED NULL,
          slave VARCHAR(255) NULL,
          attempts INT UNSIGNED NOT NULL DEFAULT 0,
          outcome ENUM('ok','failed','pending','cancelled') NOT NULL,
          error TEXT NULL,
          duration_ms INT UNSIGNED NULL,
          PRIMARY KEY (run_id, item_index),
          KEY game (game_id, run_id)
        ) ${TABLE}`,
        `CREATE TABLE IF NOT EXISTS ${t.checks} (
          run_id BIGINT UNSIGNED NOT NULL,
          seq INT UNSIGNED NOT NULL,
          check_name VARCHAR(255) NOT NULL,
          severity ENUM('error','warning') NOT NULL,
          tbl VARCHAR(64) NOT NULL,
          game_id INT UNSIGNED NULL,
          period VARCHAR(16) NOT NULL,
          detail TEXT NOT NULL,
          PRIMARY KEY (run_id, seq)
        ) ${TABLE}`,
        `CREATE TABLE IF NOT EXISTS ${t.locks} (
          job VARCHAR(100) NOT NULL,
          task VARCHAR(64) NOT NULL,
          period_key VARCHAR(16) NOT NULL,
          holder VARCHAR(255) NOT NULL,
          acquired_at DATETIME(3) NOT NULL,
          PRIMARY KEY (job, task, period_key)
        ) ${TABLE}`,
        `CREATE TABLE IF NOT EXISTS ${t.reruns} (
          rerun_id VARCHAR(255) NOT NULL PRIMARY KEY,
          job VARCHAR(100) NOT NULL,
          kind ENUM('rerun','retry') NOT NULL DEFAULT 'rerun',
          plan LONGTEXT NOT NULL,
          filters TEXT NOT NULL,
          started_by VARCHAR(255) NULL,
          reason VARCHAR(500) NULL,
          started_at DATETIME(3) NOT NULL,
          finished_at DATETIME(3) NULL,
          outcome ENUM('running','ok','partial','failed','cancelled') NOT NULL DEFAULT 'running',
          summary LONGTEXT NULL,
          restored_at DATETIME(3) NULL,
          restored_by VARCHAR(255) NULL,
          restore_summary TEXT NULL,
          pruned_at DATETIME(3) NULL,
          KEY job_started (job, started_at)
        ) ${TABLE}`,
      ];
    },
  },
  {
    version: '0013_ledger_runs_segment',
    description: "the ledger: a run's -s / -c segment, so a segment's run no longer decides its games' cells",
    up: (n: Names): readonly string[] => {
      const t = ledgerTables(n);
      // Runs of earlier reruns with -s / -c get theirs from the rerun's recorded filters (JSON text).
      const has = (path: string) => `JSON_CONTAINS_PATH(x.filters, 'one', '$.${path}')`;
      const value = (path: string) => `JSON_UNQUOTE(JSON_EXTRACT(x.filters, '$.${path}'))`;
      return [
        ...ddlUnlessPresent(n.schema('meta'), 'ledger_runs', { column: 'segment' }, `ALTER TABLE ${t.runs} ADD COLUMN segment VARCHAR(100) NULL AFTER rerun_id`),
        `UPDATE ${t.runs} r JOIN ${t.reruns} x ON x.rerun_id = r.rerun_id
           SET r.segment = NULLIF(CONCAT_WS(' ',
             IF(${has('servers')} AND JSON_TYPE(JSON_EXTRACT(x.filters, '$.servers')) = 'OBJECT', CONCAT('-s ', ${value('servers.from')}, IF(${value('servers.from')} = ${value('servers.to')}, '', CONCAT(',', ${value('servers.to')}))), NULL),
             IF(${has('channel')} AND JSON_TYPE(JSON_EXTRACT(x.filters, '$.channel')) = 'STRING', CONCAT('-c ', ${value('channel')}), NULL)), '')
         WHERE r.segment IS NULL AND JSON_VALID(x.filters) AND (${has('servers')} OR ${has('channel')})`,
      ];
    },
  },
] as const;

/**
 * The MySQL side of reruns (docs/architecture.md "Reruns"): for each period of a rerun,
 * back up the report rows the task owns ({@link snapshot}), and after the
 * recompute diff them ({@link diffPeriod}), check them ({@link evaluateChecks}) and,
 * on demand, put the backup back ({@link restorePeriod}).
 *
 * The rows a task owns for a period are, in each declared table, those whose
 * period column is in `periodValuesOf(table, period)` and, when the scope
 * names games, whose game column is one of them. Every step is idempotent:
 * Temporal may run an activity again after a worker died, and the result
 * must not depend on how often it ran.
 *
 * One call covers one period and all the scope's games: a step replaces what
 * the rerun had for that (period, table), so do not split a period across calls by game.
 */
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { failure } from '../../core/errors';
import type { Names } from '../../core/names';
import { sqlId } from '../identifiers';
import type { Migration } from '../schema/migration';
import {
  BATCH,
  checkGames,
  coveredGames,
  checkScopeIds,
  chunks,
  decodePlaceholder,
  explainError,
  inTransaction,
  JSON_TEXT,
  parseRow,
  requireManifests,
  resolveTables,
  scopePeriodValues,
  scopeWhere,
  selectRows,
  type ResolvedTable,
  type RerunScope,
} from './scope';

export type { RerunScope } from './scope';
export { diffPeriod, readDiff, type DiffCounts, type DiffRow } from './diff';
export { evaluateChecks, type CheckResult, type CheckScope } from './checks';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
/** Rerun ids compare byte for byte, as Temporal's ids do. */
const RERUN_ID = 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';
const PERIOD_KEY = 'VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL';
const TABLE_NAME = 'VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL';

/** The rerun store's tables, in `<prefix>_report`; `MIGRATIONS` in migrations.ts includes them. */
export const RERUN_MIGRATIONS: readonly Migration[] = [
  {
    version: '0100_report_rerun_backup',
    description: 'rerun backups: one manifest row per snapshot of a table, and the backed-up rows',
    up: (n) => [
      // The manifest exists even for an empty snapshot (a first run ever), so that a
      // restore knows it may delete what the recompute wrote; it also pins the
      // snapshot's scope, so a later restore deletes no row it cannot put back.
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('report'), 'rerun_snapshot')} (
        rerun_id ${RERUN_ID},
        period ${PERIOD_KEY},
        tbl ${TABLE_NAME},
        period_values ${JSON_TEXT} NOT NULL,
        games ${JSON_TEXT} NULL,
        row_count INT UNSIGNED NOT NULL,
        taken_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (rerun_id, period, tbl)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('report'), 'rerun_backup')} (
        rerun_id ${RERUN_ID},
        period ${PERIOD_KEY},
        tbl ${TABLE_NAME},
        key_hash BINARY(32) NOT NULL,
        game_id INT UNSIGNED NOT NULL,
        row_key ${JSON_TEXT} NOT NULL,
        row_data ${JSON_TEXT} NOT NULL,
        PRIMARY KEY (rerun_id, period, tbl, key_hash),
        KEY rerun_game (rerun_id, period, tbl, game_id)
      ) ${TABLE}`,
    ],
  },
  {
    version: '0101_report_rerun_diff',
    description: 'rerun diffs: rows added, removed or changed, with per-column old and new values',
    up: (n) => [
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('report'), 'rerun_diff')} (
        rerun_id ${RERUN_ID},
        period ${PERIOD_KEY},
        tbl ${TABLE_NAME},
        key_hash BINARY(32) NOT NULL,
        game_id INT UNSIGNED NOT NULL,
        change_kind ENUM('added', 'removed', 'changed') NOT NULL,
        row_key ${JSON_TEXT} NOT NULL,
        columns ${JSON_TEXT} NOT NULL,
        PRIMARY KEY (rerun_id, period, tbl, key_hash),
        KEY rerun_game (rerun_id, game_id)
      ) ${TABLE}`,
    ],
  },
  {
    version: '0102_report_rerun_check',
    description: 'rerun check results: one row per offending report row or game',
    up: (n) => [
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('report'), 'rerun_check')} (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        rerun_id ${RERUN_ID},
        period ${PERIOD_KEY},
        tbl ${TABLE_NAME},
        check_name TEXT NOT NULL,
        severity ENUM('error', 'warning') NOT NULL,
        game_id INT UNSIGNED NULL,
        detail TEXT NOT NULL,
        KEY rerun_period (rerun_id, period, tbl)
      ) ${TABLE}`,
    ],
  },
];

/**
 * Back up the rows the scope owns into `rerun_backup`, keyed by rerun id,
 * period key, table and row key (game, period column, key columns), with the
 * whole row as JSON. In one transaction per call: each table's previous backup
 * for this (rerun, period) is replaced, so a snapshot retried any number of
 * times before the recompute yields the same backup. A table that does not
 * exist yet backs up zero rows, and is still recorded as backed up, so that
 * a restore removes what the first run ever wrote.
 *
 * Call it only before the recompute of the period: after it, it would back up the new rows.
 * @returns the number of rows backed up over all tables.
 */
export async function snapshot(pool: Pool, names: Names, scope: RerunScope): Promise<{ rows: number }> {
  checkScopeIds(scope.rerunId, scope.period.key);
  const games = checkGames(scope.games);
  const tables = await resolveTables(pool, names, scope.tables);
  const report = names.schema('report');
  let current: string | undefined;
  try {
    return await inTransaction(pool, async (conn) => {
      let rows = 0;
      for (const t of tables) {
        current = t.table;
        const values = scopePeriodValues(t.decl, scope.period);
        const ids = [scope.rerunId, scope.period.key, t.table];
        await conn.query(`DELETE FROM ${sqlId(report, 'rerun_backup')} WHERE rerun_id = ? AND period = ? AND tbl = ?`, ids);
        let count = 0;
        if (t.exists) {
          const rowsSql = selectRows(t, values, games);
          const [res] = await conn.query<ResultSetHeader>(
            `INSERT INTO ${sqlId(report, 'rerun_backup')} (rerun_id, period, tbl, key_hash, game_id, row_key, row_data)
             SELECT ?, ?, ?, r.key_hash, r.game_id, r.row_key, r.row_data FROM (${rowsSql.sql}) AS r`,
            [...ids, ...rowsSql.params],
          );
          count = res.affectedRows;
        }
        await conn.query(
          `REPLACE INTO ${sqlId(report, 'rerun_snapshot')} (rerun_id, period, tbl, period_values, games, row_count) VALUES (?, ?, ?, ?, ?, ?)`,
          [...ids, JSON.stringify(values), games === undefined ? null : JSON.stringify(games), count],
        );
        rows += count;
      }
      return { rows };
    });
  } catch (err) {
    return explainError(err, names, current);
  }
}

/**
 * Put the backed-up rows of one period back: in one transaction, delete the
 * rows now in scope and insert the backup's rows exactly as they were (their
 * columns checked against the table's real ones; generated columns are left
 * to MySQL). Idempotent. The scope is the snapshot's: its period values, and
 * its games unless the call names a subset of them; a table with no backup
 * for this period is refused before anything changes.
 *
 * Restore several periods of one rerun in reverse period order (latest
 * first). Where two periods' backups overlap — retention computing day D
 * rewrites the cohorts of D−1, D−2, … — the later period's backup holds rows
 * the earlier recompute had already changed; restoring the earliest period
 * last lets its snapshot, taken before any recompute, win.
 */
export async function restorePeriod(pool: Pool, names: Names, scope: RerunScope): Promise<{ deleted: number; restored: number }> {
  checkScopeIds(scope.rerunId, scope.period.key);
  const games = checkGames(scope.games);
  const tables = await resolveTables(pool, names, scope.tables);
  try {
    return await inTransaction(pool, async (conn) => {
      const manifests = await requireManifests(conn, names, scope.rerunId, scope.period.key, tables);
      let deleted = 0;
      let restored = 0;
      for (const t of tables) {
        const m = manifests.get(t.table)!;
        const covered = coveredGames(m, games, scope, t.table);
        if (!t.exists) {
          if (m.rowCount > 0) throw failure(`cannot restore ${m.rowCount} rows of report table ${t.table}: the table no longer exists`);
          continue;
        }
        const where = scopeWhere(t, m.periodValues, covered);
        const [res] = await conn.query<ResultSetHeader>(`DELETE FROM ${t.id} WHERE ${where.sql}`, where.params);
        deleted += res.affectedRows;
        restored += await reinsert(conn, names, scope, t, covered);
      }
      return { deleted, restored };
    });
  } catch (err) {
    return explainError(err, names);
  }
}

/** The period keys of a rerun that have a backup (possibly of zero rows), in period order. */
export async function backedUpPeriods(pool: Pool, names: Names, rerunId: string): Promise<string[]> {
  checkScopeIds(rerunId);
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT DISTINCT period FROM ${sqlId(names.schema('report'), 'rerun_snapshot')} WHERE rerun_id = ? ORDER BY period`,
      [rerunId],
    );
    return rows.map((r) => String(r.period));
  } catch (err) {
    return explainError(err, names);
  }
}

/** Copy the backup of one table back in pages, so that memory stays bounded whatever the period's size. */
async function reinsert(conn: PoolConnection, names: Names, scope: RerunScope, t: ResolvedTable, games: readonly number[] | undefined): Promise<number> {
  const columns = new Map(t.columns.map((c) => [c.name, c]));
  const gameFilter = games === undefined ? '' : games.length === 0 ? ' AND FALSE' : ` AND game_id IN (${games.map(() => '?').join(', ')})`;
  let after: Buffer | undefined;
  let restored = 0;
  for (;;) {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT key_hash, row_data FROM ${sqlId(names.schema('report'), 'rerun_backup')}
       WHERE rerun_id = ? AND period = ? AND tbl = ?${gameFilter}${after ? ' AND key_hash > ?' : ''} ORDER BY key_hash LIMIT ${BATCH}`,
      [scope.rerunId, scope.period.key, t.table, ...(games ?? []), ...(after ? [after] : [])],
    );
    if (rows.length === 0) return restored;
    after = rows[rows.length - 1]!.key_hash as Buffer;
    // Rows backed up before a column was added lack it: insert each column set on its own.
    const bySignature = new Map<string, { names: string[]; rows: Array<Record<string, string | null>> }>();
    for (const r of rows) {
      const data = parseRow(r.row_data, `backup of report table ${t.table}`);
      for (const name of Object.keys(data)) {
        const info = columns.get(name);
        if (!info) throw failure(`backup of report table ${t.table} has column ${name}, which the table no longer has: restore refused, nothing changed`);
        if (info.generated) delete data[name];
      }
      const cols = Object.keys(data).sort();
      const signature = cols.join(',');
      const group = bySignature.get(signature) ?? { names: cols, rows: [] };
      group.rows.push(data);
      bySignature.set(signature, group);
    }
    for (const group of bySignature.values()) {
      const infos = group.names.map((n) => columns.get(n)!);
      const tuple = `(${infos.map(decodePlaceholder).join(', ')})`;
      for (const batch of chunks(group.rows, BATCH)) {
        await conn.query(
          `INSERT INTO ${t.id} (${group.names.map((n) => sqlId(n)).join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`,
          batch.flatMap((row) => group.names.map((n) => row[n])),
        );
        restored += batch.length;
      }
    }
  }
}

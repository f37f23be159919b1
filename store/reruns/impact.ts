/**
 * What a rerun would touch, counted before it starts (`--dry-run`): per
 * report table, the rows of a period's scope, the same rows a snapshot would
 * back up and the recompute overwrite. Reads only.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Names } from '../../core/names';
import { checkGames, explainError, resolveTables, scopePeriodValues, scopeWhere, type RerunScope } from './scope';

/** The rows in scope per table (0 for a table not created yet). */
export async function countScope(pool: Pool, names: Names, scope: Omit<RerunScope, 'rerunId'>): Promise<Array<{ table: string; rows: number }>> {
  const games = checkGames(scope.games);
  try {
    const out: Array<{ table: string; rows: number }> = [];
    for (const t of await resolveTables(pool, names, scope.tables)) {
      if (!t.exists) {
        out.push({ table: t.table, rows: 0 });
        continue;
      }
      const where = scopeWhere(t, scopePeriodValues(t.decl, scope.period), games);
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t.id} WHERE ${where.sql}`, where.params);
      out.push({ table: t.table, rows: Number(rows[0]?.n ?? 0) });
    }
    return out;
  } catch (err) {
    return explainError(err, names);
  }
}

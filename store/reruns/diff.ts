/**
 * Diffing a recomputed period against its backup. The rows in scope are
 * staged, hashed by key, in a temporary table on the diff's own connection,
 * so that MySQL joins them to the backup by index and only rows that differ
 * travel to Node, a page at a time.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { sqlId } from '../identifiers';
import {
  BATCH,
  checkGames,
  coveredGames,
  checkScopeIds,
  chunks,
  explainError,
  inTransaction,
  JSON_TEXT,
  parseRow,
  requireManifests,
  resolveTables,
  selectRows,
  type ColumnInfo,
  type RerunScope,
  type ResolvedTable,
} from './scope';


/** How many rows of a period were added, removed and changed by a rerun. */
export interface DiffCounts {
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
}

/**
 * One row that differs. `key` and the values are typed as the pool reads
 * them (numbers where exact, dates as strings). `columns` holds, for a changed
 * row, the columns that differ; for an added row every non-key column with
 * `old: null`; for a removed row every non-key column with `new: null`.
 */
export interface DiffRow {
  readonly rerunId: string;
  /** The rerun's period key (the row's own period value is in `key`). */
  readonly period: string;
  readonly table: string;
  readonly game: number;
  readonly key: Record<string, unknown>;
  readonly change: 'added' | 'removed' | 'changed';
  readonly columns: Record<string, { old: unknown; new: unknown }>;
}

type Change = DiffRow['change'];
type Texts = Record<string, string | null>;

/**
 * Compare the rows now in scope with the backup and store the differences in
 * `rerun_diff`, replacing what this rerun had for the period's tables (so a
 * retry gives the same diff). Values are compared as MySQL prints them,
 * normalised: `3` equals `3.00`, `2015-04-20 00:00:00.000` equals
 * `2015-04-20 00:00:00`. Runs over the snapshot's period values and games
 * (or the subset of games the scope names).
 * @throws UserError when a table of the scope has no backup for this period.
 */
export async function diffPeriod(pool: Pool, names: Names, scope: RerunScope): Promise<DiffCounts> {
  checkScopeIds(scope.rerunId, scope.period.key);
  const games = checkGames(scope.games);
  const tables = await resolveTables(pool, names, scope.tables);
  const staged = sqlId(names.schema('report'), 'rerun_diff_current');
  let current: string | undefined;
  try {
    return await inTransaction(pool, async (conn) => {
      const manifests = await requireManifests(conn, names, scope.rerunId, scope.period.key, tables);
      const counts = { added: 0, removed: 0, changed: 0 };
      await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${staged}`);
      await conn.query(
        `CREATE TEMPORARY TABLE ${staged} (key_hash BINARY(32) NOT NULL PRIMARY KEY, game_id INT UNSIGNED NOT NULL,
         row_key ${JSON_TEXT} NOT NULL, row_data ${JSON_TEXT} NOT NULL) ENGINE=InnoDB`,
      );
      try {
        for (const t of tables) {
          current = t.table;
          const m = manifests.get(t.table)!;
          const covered = coveredGames(m, games, scope, t.table);
          await conn.query(`DELETE FROM ${sqlId(names.schema('report'), 'rerun_diff')} WHERE rerun_id = ? AND period = ? AND tbl = ?`, [scope.rerunId, scope.period.key, t.table]);
          await conn.query(`DELETE FROM ${staged}`);
          if (t.exists) {
            const rows = selectRows(t, m.periodValues, covered);
            await conn.query(`INSERT INTO ${staged} (key_hash, game_id, row_key, row_data) ${rows.sql}`, rows.params);
          }
          for (const change of ['added', 'removed', 'changed'] as const) {
            counts[change] += await diffPages(conn, names, scope, t, covered, staged, change);
          }
        }
      } finally {
        await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${staged}`).catch(() => undefined);
      }
      return counts;
    });
  } catch (err) {
    return explainError(err, names, current);
  }
}

/** Find one kind of change a page at a time, keep the real differences, and store them. */
async function diffPages(conn: PoolConnection, names: Names, scope: RerunScope, t: ResolvedTable, games: readonly number[] | undefined, staged: string, change: Change): Promise<number> {
  const backup = sqlId(names.schema('report'), 'rerun_backup');
  const ids = [scope.rerunId, scope.period.key, t.table];
  const gameFilter = games === undefined ? '' : games.length === 0 ? ' AND FALSE' : ` AND b.game_id IN (${games.map(() => '?').join(', ')})`;
  const gameParams = games ?? [];
  const infos = new Map(t.columns.map((c) => [c.name, c]));
  const keyNames = new Set([t.gameColumn, t.periodColumn, ...t.keyColumns]);
  let after: Buffer | undefined;
  let found = 0;
  for (;;) {
    // Page on the joined table's own key column, so each page is an index range, not a sort of the whole set.
    const side = change === 'added' ? 'c' : 'b';
    const page = after ? ` AND ${side}.key_hash > ?` : '';
    const pageParams = after ? [after] : [];
    const query =
      change === 'added'
        ? `SELECT c.key_hash AS h, c.game_id AS g, c.row_key AS k, NULL AS o, c.row_data AS n FROM ${staged} c
           LEFT JOIN ${backup} b ON b.rerun_id = ? AND b.period = ? AND b.tbl = ? AND b.key_hash = c.key_hash WHERE b.key_hash IS NULL`
        : change === 'removed'
          ? `SELECT b.key_hash AS h, b.game_id AS g, b.row_key AS k, b.row_data AS o, NULL AS n FROM ${backup} b
             LEFT JOIN ${staged} c ON c.key_hash = b.key_hash WHERE b.rerun_id = ? AND b.period = ? AND b.tbl = ?${gameFilter} AND c.key_hash IS NULL`
          : `SELECT b.key_hash AS h, b.game_id AS g, b.row_key AS k, b.row_data AS o, c.row_data AS n FROM ${backup} b
             JOIN ${staged} c ON c.key_hash = b.key_hash WHERE b.rerun_id = ? AND b.period = ? AND b.tbl = ?${gameFilter} AND b.row_data <> c.row_data`;
    const params = change === 'added' ? [...ids, ...pageParams] : [...ids, ...gameParams, ...pageParams];
    const [rows] = await conn.query<RowDataPacket[]>(`${query}${page} ORDER BY ${side}.key_hash LIMIT ${BATCH}`, params);
    if (rows.length === 0) return found;
    after = rows[rows.length - 1]!.h as Buffer;
    const out: unknown[][] = [];
    for (const r of rows) {
      const what = `backup of report table ${t.table}`;
      const key = parseRow(r.k, what);
      const old = r.o === null ? undefined : parseRow(r.o, what);
      const now = r.n === null ? undefined : parseRow(r.n, what);
      const columns = columnChanges(old, now, keyNames, infos);
      if (change === 'changed' && Object.keys(columns).length === 0) continue;
      const typedKey = Object.fromEntries(Object.entries(key).map(([k, v]) => [k, present(infos.get(k), v)]));
      out.push([...ids, r.h, r.g, change, JSON.stringify(typedKey), JSON.stringify(columns)]);
    }
    for (const batch of chunks(out, BATCH)) {
      await conn.query(
        `INSERT INTO ${sqlId(names.schema('report'), 'rerun_diff')} (rerun_id, period, tbl, key_hash, game_id, change_kind, row_key, columns) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        batch.flat(),
      );
    }
    found += out.length;
  }
}

/** The non-key columns that differ (all of them for an added or removed row), typed for people. */
function columnChanges(old: Texts | undefined, now: Texts | undefined, keyNames: ReadonlySet<string>, infos: ReadonlyMap<string, ColumnInfo>): Record<string, { old: unknown; new: unknown }> {
  const out: Record<string, { old: unknown; new: unknown }> = {};
  const names = [...new Set([...Object.keys(old ?? {}), ...Object.keys(now ?? {})])];
  for (const name of names) {
    if (keyNames.has(name)) continue;
    const a = old?.[name] ?? null;
    const b = now?.[name] ?? null;
    if (old && now && sameValue(a, b)) continue;
    out[name] = { old: old ? present(infos.get(name), a) : null, new: now ? present(infos.get(name), b) : null };
  }
  return out;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INTEGER_TYPE = /^(tinyint|smallint|mediumint|int|integer|bigint|year|bit)$/;
const FLOAT_TYPE = /^(float|double|real)$/;

/** A plain decimal as one canonical text (`007.50` → `7.5`), or undefined for anything else. */
export function canonicalDecimal(text: string): string | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const int = m[2]!.replace(/^0+/, '') || '0';
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return m[1] === '-' && body !== '0' ? `-${body}` : body;
}

/** Whether two backed-up texts hold the same value, whatever the column's type printed. */
export function sameValue(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  const da = canonicalDecimal(a);
  const db = canonicalDecimal(b);
  if (da !== undefined && db !== undefined) return da === db;
  if (NUMBER.test(a) && NUMBER.test(b)) return Number(a) === Number(b);
  const trim = (s: string): string => (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+$/.test(s) ? s.replace(/\.?0+$/, '') : s);
  return trim(a) === trim(b);
}

/** A backed-up text as the pool would read it: a number where that is exact, the text otherwise. */
export function present(info: ColumnInfo | undefined, text: string | null): unknown {
  if (text === null || info === undefined) return text;
  if (INTEGER_TYPE.test(info.dataType)) return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text;
  if (FLOAT_TYPE.test(info.dataType)) return Number.isFinite(Number(text)) ? Number(text) : text;
  if (info.dataType === 'decimal') {
    const n = Number(text);
    return Number.isFinite(n) && canonicalDecimal(String(n)) === canonicalDecimal(text) ? n : text;
  }
  return text;
}

/**
 * The stored diff of a rerun, ordered by period, table, game and key.
 * @param filter.period only this period key; `games` only these games; `limit` at most this many rows.
 */
export async function readDiff(pool: Pool, names: Names, rerunId: string, filter: { period?: string; games?: readonly number[]; limit?: number } = {}): Promise<DiffRow[]> {
  checkScopeIds(rerunId, filter.period);
  const games = checkGames(filter.games);
  if (filter.limit !== undefined && (!Number.isSafeInteger(filter.limit) || filter.limit < 1)) throw usageError(`diff limit ${filter.limit} is not a positive whole number`);
  if (games?.length === 0) return [];
  const where = ['rerun_id = ?'];
  const params: unknown[] = [rerunId];
  if (filter.period !== undefined) {
    where.push('period = ?');
    params.push(filter.period);
  }
  if (games !== undefined) {
    where.push(`game_id IN (${games.map(() => '?').join(', ')})`);
    params.push(...games);
  }
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT period, tbl, game_id, change_kind, row_key, columns FROM ${sqlId(names.schema('report'), 'rerun_diff')}
       WHERE ${where.join(' AND ')} ORDER BY period, tbl, game_id, row_key${filter.limit === undefined ? '' : ` LIMIT ${filter.limit}`}`,
      params,
    );
    return rows.map((r) => ({
      rerunId,
      period: String(r.period),
      table: String(r.tbl),
      game: Number(r.game_id),
      key: JSON.parse(String(r.row_key)) as Record<string, unknown>,
      change: String(r.change_kind) as Change,
      columns: JSON.parse(String(r.columns)) as Record<string, { old: unknown; new: unknown }>,
    }));
  } catch (err) {
    return explainError(err, names);
  }
}

/**
 * What the rerun store's steps share: the validated shape of a rerun's scope,
 * the real columns of a declared report table, the snapshot manifest, and how
 * a report row of any declared table is turned into exact text (and back) so
 * that a backup can be diffed and restored without losing a digit.
 *
 * Every value is encoded as MySQL's own text for it (`CAST(c AS CHAR)`), not
 * as a JSON number: a BIGINT UNSIGNED or DECIMAL(30,10) survives the trip
 * through Node unchanged, and restoring inserts the same text MySQL printed.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import type { Period } from '../../core/period';
import { periodValuesOf, type ReportTable } from '../../core/report';
import { GAME_ID_FORM, isGameId } from '../../core/game';
import { assertSqlName, describeValue, sqlId } from '../identifiers';
import { isMissingSchema } from '../../infra/sql-errors';

/** Binary collation: JSON text is compared byte for byte (a changed letter case is a change). */
export const JSON_TEXT = 'LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';

/** What a rerun step works on: one period of one rerun, the task's report tables, and optionally some games. */
export interface RerunScope {
  readonly rerunId: string;
  readonly period: Period;
  readonly tables: readonly ReportTable[];
  /** Only these games; undefined: every game. */
  readonly games?: readonly number[];
}

/** How a column's value is written as text in a backup, and read back. */
type Codec = 'text' | 'float' | 'base64' | 'bit';

export interface ColumnInfo {
  readonly name: string;
  readonly dataType: string;
  readonly codec: Codec;
  /** Generated columns are backed up and diffed, never inserted. */
  readonly generated: boolean;
}

/** A declared report table, its names checked and its real columns read from information_schema. */
export interface ResolvedTable {
  readonly decl: ReportTable;
  readonly table: string;
  /** `schema`.`table`, escaped. */
  readonly id: string;
  readonly gameColumn: string;
  readonly periodColumn: string;
  readonly keyColumns: readonly string[];
  /** Empty when the table does not exist (yet). */
  readonly columns: readonly ColumnInfo[];
  readonly exists: boolean;
}

/** A fragment of SQL text and its placeholder values, in text order. */
export interface Sql {
  readonly sql: string;
  readonly params: unknown[];
}

const GEOMETRY = /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)$/;
const BINARY = /^(binary|varbinary|tinyblob|blob|mediumblob|longblob)$/;
const MAX_PERIOD_VALUES = 10_000;

/** Refuse a malformed rerun id or period before anything is read or written. */
export function checkScopeIds(rerunId: unknown, periodKey?: unknown): asserts rerunId is string {
  // eslint-disable-next-line no-control-regex
  if (typeof rerunId !== 'string' || rerunId.length === 0 || rerunId.length > 255 || /[\u0000-\u001f\u007f]/.test(rerunId)) {
    throw usageError(`rerun id ${describeValue(rerunId)} is not valid: use 1 to 255 printable characters`);
  }
  if (periodKey !== undefined && (typeof periodKey !== 'string' || !/^[0-9]{6,14}$/.test(periodKey))) {
    throw usageError(`period ${describeValue(periodKey)} is not a period key such as 20150420`);
  }
}

/** Games as a checked list; undefined stays "every game". */
export function checkGames(games: readonly number[] | undefined, what = 'game'): readonly number[] | undefined {
  if (games === undefined) return undefined;
  for (const g of games) if (!isGameId(g)) throw usageError(`${what} ${describeValue(g)} is not valid: use ${GAME_ID_FORM}`);
  return [...new Set(games)].sort((a, b) => a - b);
}

/** The period-column values of `table` for `period`, checked. */
export function scopePeriodValues(table: ReportTable, period: Period): readonly string[] {
  const values = periodValuesOf(table, period);
  if (values.length === 0 || values.length > MAX_PERIOD_VALUES) {
    throw usageError(`report table ${table.table} maps period ${period.key} to ${values.length} period values: expected 1 to ${MAX_PERIOD_VALUES}`);
  }
  for (const v of values) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 32) throw usageError(`report table ${table.table}: period value ${describeValue(v)} is not valid`);
  }
  return [...new Set(values)];
}

function codecOf(table: string, name: string, dataType: string): Codec {
  if (GEOMETRY.test(dataType)) throw failure(`report table ${table} column ${name} is of type ${dataType}, which reruns cannot back up`);
  if (BINARY.test(dataType)) return 'base64';
  if (dataType === 'bit') return 'bit';
  // MariaDB prints a FLOAT with 6 digits; as a DOUBLE it prints enough to read back the same FLOAT.
  if (dataType === 'float') return 'float';
  return 'text';
}

/** Check a declared table's names, and read its real columns (none if it does not exist yet). */
export async function resolveTable(db: Pool | PoolConnection, names: Names, decl: ReportTable): Promise<ResolvedTable> {
  const schema = names.schema('report');
  assertSqlName(decl.table, 'report table');
  const gameColumn = decl.gameColumn ?? 'game_id';
  const keyColumns = decl.keyColumns ?? [];
  const declared = [gameColumn, decl.periodColumn, ...keyColumns];
  for (const c of declared) assertSqlName(c, `report table ${decl.table} column`);
  if (new Set(declared).size !== declared.length) throw usageError(`report table ${decl.table} declares a key column twice: ${declared.join(', ')}`);
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS type, IS_GENERATED AS gen FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [schema, decl.table],
  );
  const columns = rows.map((r): ColumnInfo => {
    const name = String(r.name);
    const dataType = String(r.type).toLowerCase();
    return { name, dataType, codec: codecOf(decl.table, name, dataType), generated: String(r.gen) === 'ALWAYS' };
  });
  const exists = columns.length > 0;
  if (exists) {
    const have = new Set(columns.map((c) => c.name));
    const missing = declared.filter((c) => !have.has(c));
    if (missing.length > 0) throw failure(`report table ${decl.table} has no column ${missing.join(', ')}, which the task declares as a key column`);
  }
  return { decl, table: decl.table, id: sqlId(schema, decl.table), gameColumn, periodColumn: decl.periodColumn, keyColumns, columns, exists };
}

/** A task's declared report tables, resolved; two declarations of one table are refused. */
export async function resolveTables(db: Pool | PoolConnection, names: Names, tables: readonly ReportTable[]): Promise<ResolvedTable[]> {
  const seen = new Set<string>();
  const out: ResolvedTable[] = [];
  for (const decl of tables) {
    const t = await resolveTable(db, names, decl);
    if (seen.has(t.table)) throw usageError(`report table ${t.table} is declared twice`);
    seen.add(t.table);
    out.push(t);
  }
  return out;
}

/** The row filter of a scope: period column in the values and, when given, game in the games. */
export function scopeWhere(t: ResolvedTable, periodValues: readonly string[], games: readonly number[] | undefined): Sql {
  const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
  let sql = `${sqlId(t.periodColumn)} IN (${marks(periodValues.length)})`;
  const params: unknown[] = [...periodValues];
  if (games !== undefined) {
    sql += games.length === 0 ? ' AND FALSE' : ` AND ${sqlId(t.gameColumn)} IN (${marks(games.length)})`;
    params.push(...games);
  }
  return { sql, params };
}

/** A column's value as exact text (NULL stays NULL). */
export function encodeColumn(c: ColumnInfo): string {
  const id = sqlId(c.name);
  switch (c.codec) {
    case 'base64':
      return `TO_BASE64(${id})`;
    case 'bit':
      return `CAST(${id} + 0 AS CHAR)`;
    case 'float':
      return `CAST(CAST(${id} AS DOUBLE) AS CHAR)`;
    case 'text':
      return `CAST(${id} AS CHAR)`;
  }
}

/** The placeholder that turns a backed-up text back into the column's value. */
export function decodePlaceholder(c: ColumnInfo): string {
  if (c.codec === 'base64') return 'FROM_BASE64(?)';
  if (c.codec === 'bit') return 'CAST(? AS UNSIGNED)';
  return '?';
}

function jsonObject(columns: readonly ColumnInfo[]): Sql {
  return { sql: `JSON_OBJECT(${columns.map((c) => `?, ${encodeColumn(c)}`).join(', ')})`, params: columns.map((c) => c.name) };
}

/** The key columns' info, in key order: game, period, then the declared key columns. */
export function keyInfo(t: ResolvedTable): ColumnInfo[] {
  const byName = new Map(t.columns.map((c) => [c.name, c]));
  return [t.gameColumn, t.periodColumn, ...t.keyColumns].map((n) => byName.get(n)!);
}

/** The row key (game, period, key columns) as a JSON object of texts. */
export function keyJson(t: ResolvedTable): Sql {
  return jsonObject(keyInfo(t));
}

/**
 * `SELECT key_hash, game_id, row_key, row_data FROM <table> WHERE <scope>`:
 * the rows in scope, as the backup stores them. The key is hashed so that
 * any key shape (several columns, long strings) fits one fixed-size index.
 */
export function selectRows(t: ResolvedTable, periodValues: readonly string[], games: readonly number[] | undefined): Sql {
  const key = keyJson(t);
  const data = jsonObject(t.columns);
  const where = scopeWhere(t, periodValues, games);
  return {
    sql: `SELECT UNHEX(SHA2(s.k, 256)) AS key_hash, s.g AS game_id, s.k AS row_key, s.r AS row_data
      FROM (SELECT ${key.sql} AS k, ${sqlId(t.gameColumn)} AS g, ${data.sql} AS r FROM ${t.id} WHERE ${where.sql}) AS s`,
    params: [...key.params, ...data.params, ...where.params],
  };
}

export { inTransaction } from '../../infra/mysql';

/** Say "migrate first" for a missing rerun table, and "declare the key" for duplicate keys; rethrow anything else. */
export function explainError(err: unknown, names: Names, table?: string): never {
  if (isMissingSchema(err)) throw failure(`the rerun tables in ${names.schema('report')} do not exist: run gflow db migrate first`, err);
  if ((err as { errno?: number } | null)?.errno === 1062 && table !== undefined) {
    throw failure(`report table ${table} has several rows with one key (game, period and key columns): declare all of its key columns in keyColumns`, err);
  }
  throw err;
}

/**
 * A backed-up row or key as its columns' texts; anything else in the JSON is
 * refused, not guessed at. Accepts the text, or the object mysql2 makes of a
 * JSON expression selected directly.
 */
export function parseRow(raw: unknown, what: string): Record<string, string | null> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw failure(`${what} is not valid JSON`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw failure(`${what} is not a JSON object`);
  const row: Record<string, string | null> = {};
  for (const [name, v] of Object.entries(value)) {
    assertSqlName(name, `${what}: column`);
    if (v !== null && typeof v !== 'string' && typeof v !== 'number') throw failure(`${what}: column ${name} holds ${describeValue(v)}, not a value`);
    row[name] = v === null ? null : String(v);
  }
  return row;
}

/** `n` values per chunk: every INSERT from Node stays bounded. */
export function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

/** Rows per INSERT and per page read from the backup. */
export const BATCH = 500;

/** What one snapshot of one table covered. */
export interface Manifest {
  readonly periodValues: readonly string[];
  /** undefined: every game. */
  readonly games: readonly number[] | undefined;
  readonly rowCount: number;
}

/**
 * The manifests of every table of a scope for one period.
 * @throws UserError (exit 2) naming the tables that have no backup: nothing may be diffed or restored against a missing backup.
 */
export async function requireManifests(db: Pool | PoolConnection, names: Names, rerunId: string, period: string, tables: readonly ResolvedTable[]): Promise<Map<string, Manifest>> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT tbl, period_values, games, row_count FROM ${sqlId(names.schema('report'), 'rerun_snapshot')} WHERE rerun_id = ? AND period = ?`,
    [rerunId, period],
  );
  const out = new Map<string, Manifest>();
  for (const r of rows) {
    const where = `snapshot manifest of rerun ${rerunId} period ${period} table ${String(r.tbl)}`;
    const values = JSON.parse(String(r.period_values)) as unknown;
    const games = r.games === null ? undefined : (JSON.parse(String(r.games)) as unknown);
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw failure(`${where}: period values are not a list of strings`);
    if (games !== undefined && (!Array.isArray(games) || !games.every((g) => typeof g === 'number'))) throw failure(`${where}: games are not a list of numbers`);
    out.set(String(r.tbl), { periodValues: values as string[], games: games as number[] | undefined, rowCount: Number(r.row_count) });
  }
  const missing = tables.filter((t) => !out.has(t.table)).map((t) => t.table);
  if (missing.length > 0) throw usageError(`rerun ${rerunId} has no backup of period ${period} for report table ${missing.join(', ')}: nothing was changed`);
  return out;
}

/**
 * The games a diff or restore covers: the snapshot's, or the subset the call
 * names. A game outside the snapshot is refused: its rows would be deleted
 * and nothing put back.
 */
export function coveredGames(m: Manifest, games: readonly number[] | undefined, scope: RerunScope, table: string): readonly number[] | undefined {
  if (games === undefined) return m.games;
  if (m.games === undefined) return games;
  const backed = new Set(m.games);
  const outside = games.filter((g) => !backed.has(g));
  if (outside.length > 0) {
    const list = (ids: readonly number[]): string => (ids.length > 10 ? `${ids.slice(0, 10).join(', ')} … (${ids.length} games)` : ids.join(', '));
    throw usageError(`rerun ${scope.rerunId} backed up games ${list(m.games)} of report table ${table} for period ${scope.period.key}, not game ${list(outside)}`);
  }
  return games;
}

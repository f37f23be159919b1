/**
 * Writing a job's report tables (in `<prefix>_report`, created by the job's
 * migrations): the escaped table name, and the idempotent upsert every
 * report task writes its rows with, so retries and reruns overwrite rather
 * than duplicate. index.ts re-exports both as part of 'gflow'.
 */
import type { Pool } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { assertSqlName, sqlId } from '../identifiers';
import { isMissingSchema } from '../../infra/sql-errors';

/**
 * `` `<prefix>_report`.`table` ``: the table checked (letters, digits, `_`)
 * and escaped, for SQL text.
 *
 * @example
 * ```ts
 * const [rows] = await ctx.mysql.query(`SELECT * FROM ${reportTableId(ctx.names, 'report_levels')} WHERE day = ?`, ['2026-11-24']);
 * ```
 */
export function reportTableId(names: Names, table: string): string {
  return sqlId(names.schema('report'), table);
}

/** A cell as the upsert sends it: always a placeholder value, never SQL text. */
export type ReportCell = string | number | null;

/**
 * `INSERT … ON DUPLICATE KEY UPDATE` of `rows` into the report table: rows
 * whose primary (or unique) key exists are overwritten, so a retried or
 * rerun item never duplicates. Values travel as placeholders; column names
 * are checked. `update` says what a duplicate does: a list of columns to
 * overwrite with the new value, or per column an SQL expression (code, not
 * data), e.g. `COALESCE(VALUES(d7), d7)` to keep what another day wrote.
 * @throws UserError (exit 1) naming `gflow db migrate` when the table is missing.
 *
 * @example
 * ```ts
 * await upsertReport(ctx.mysql, ctx.names, 'report_levels', ['game_id', 'day', 'level', 'users'], [[7, '2026-11-24', 3, 120]], ['users']);
 * ```
 */
export async function upsertReport(
  mysql: Pool,
  names: Names,
  table: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly ReportCell[]>,
  update: readonly string[] | Readonly<Record<string, string>>,
): Promise<void> {
  if (rows.length === 0) return;
  if (columns.length === 0) throw usageError(`upsert into ${table}: no columns`);
  for (const column of columns) assertSqlName(column, `column of ${table}`);
  for (const row of rows) if (row.length !== columns.length) throw usageError(`upsert into ${table}: a row has ${row.length} values for ${columns.length} columns`);
  const sets = Array.isArray(update) ? update.map((column) => [column, `VALUES(${column})`] as const) : Object.entries(update);
  if (sets.length === 0) throw usageError(`upsert into ${table}: name the columns a duplicate key overwrites`);
  for (const [column] of sets) assertSqlName(column, `column of ${table}`);
  const placeholders = rows.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
  const sql = `INSERT INTO ${reportTableId(names, table)} (${columns.join(', ')}) VALUES ${placeholders} ON DUPLICATE KEY UPDATE ${sets.map(([c, v]) => `${c} = ${v}`).join(', ')}`;
  try {
    await mysql.query(sql, rows.flat());
  } catch (err) {
    if (isMissingSchema(err)) throw failure(`report table ${names.schema('report')}.${table} does not exist: run gflow db migrate (with the job's file in the jobs folder)`, err);
    throw err;
  }
}

/**
 * A task's consistency checks (the original gflow's business point 4), evaluated in SQL over
 * the rows a run's period owns. Only offending rows leave MySQL, and at most
 * {@link MAX_ROWS_PER_CHECK} of them per check: a broken job must not turn a
 * check into a table dump.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { checkName, type OrderedCheck, type RangeCheck, type ReportCheck, type RowPerGameCheck } from '../../core/report';
import { assertSqlName, describeValue, sqlId } from '../identifiers';
import {
  checkGames,
  checkScopeIds,
  explainError,
  keyJson,
  parseRow,
  resolveTables,
  scopePeriodValues,
  scopeWhere,
  type RerunScope,
  type ResolvedTable,
  type Sql,
} from './scope';

/** Offending rows listed per check; past it, one more entry counts the rest. */
export const MAX_ROWS_PER_CHECK = 1000;

/** One failed check: an offending row (game and detail say which) or a game without its row. */
export interface CheckResult {
  readonly check: string;
  readonly severity: 'error' | 'warning';
  readonly table: string;
  /** Absent for an entry about many rows (the count past {@link MAX_ROWS_PER_CHECK}). */
  readonly game?: number;
  /** The rerun's period key. */
  readonly period: string;
  /** What is wrong, e.g. `dau=5 > wau=3 (day=2015-04-20)`. */
  readonly detail: string;
}

type Base = Omit<CheckResult, 'game' | 'detail'>;

/** What checks read: the task's report tables for one period, optionally some games. */
export type CheckScope = Pick<RerunScope, 'period' | 'tables' | 'games'>;

/**
 * Evaluate `checks` over the rows in scope. The caller stores the failures
 * (the ledger keeps them with the run that wrote the rows).
 * range: rows whose column is outside [min, max]; ordered: rows where some
 * consecutive pair has a > b; rowPerGame: games of `expectedGames` (within the
 * scope's games) lacking a row for some period value. NULL passes range and
 * ordered: it is a value not computable yet, not a wrong one.
 * @returns the failures, one per offending row or game; empty when all pass.
 */
export async function evaluateChecks(pool: Pool, names: Names, scope: CheckScope, checks: readonly ReportCheck[], expectedGames: readonly number[]): Promise<CheckResult[]> {
  checkScopeIds('checks', scope.period.key);
  const games = checkGames(scope.games);
  const expected = checkGames(expectedGames, 'expected game') ?? [];
  const tables = new Map((await resolveTables(pool, names, scope.tables)).map((t) => [t.table, t]));
  const results: CheckResult[] = [];
  try {
    for (const check of checks) {
      const t = tables.get(check.table);
      const name = checkName(check);
      if (!t) throw usageError(`check ${describeValue(name)} reads report table ${describeValue(check.table)}, which the task does not declare`);
      const severity = check.severity ?? 'error';
      if (severity !== 'error' && severity !== 'warning') throw usageError(`check ${describeValue(name)}: severity ${describeValue(severity)} is not error or warning`);
      const base: Base = { check: name, severity, table: t.table, period: scope.period.key };
      const values = scopePeriodValues(t.decl, scope.period);
      if (check.kind === 'range') results.push(...(await rangeCheck(pool, t, check, base, values, games)));
      else if (check.kind === 'ordered') results.push(...(await orderedCheck(pool, t, check, base, values, games)));
      else if (check.kind === 'rowPerGame') results.push(...(await rowPerGameCheck(pool, t, check, base, values, games === undefined ? expected : expected.filter((g) => games.includes(g)))));
      else throw usageError(`check kind ${describeValue((check as { kind: unknown }).kind)} is not range, ordered or rowPerGame`);
    }
    return results;
  } catch (err) {
    return explainError(err, names);
  }
}

function checkColumn(t: ResolvedTable, column: unknown, check: string): string {
  assertSqlName(column, `check ${describeValue(check)} column`);
  if (t.exists && !t.columns.some((c) => c.name === column)) throw failure(`report table ${t.table} has no column ${column}, which check ${describeValue(check)} reads`);
  return column;
}

function checkBound(value: number | undefined, what: string, check: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) throw usageError(`check ${describeValue(check)}: ${what} ${describeValue(value)} is not a finite number`);
}

async function rangeCheck(pool: Pool, t: ResolvedTable, check: RangeCheck, base: Base, values: readonly string[], games: readonly number[] | undefined): Promise<CheckResult[]> {
  const column = checkColumn(t, check.column, base.check);
  checkBound(check.min, 'min', base.check);
  checkBound(check.max, 'max', base.check);
  if (check.min === undefined && check.max === undefined) throw usageError(`check ${describeValue(base.check)} has neither min nor max`);
  if (!t.exists) return [];
  const col = sqlId(column);
  const low: Sql = check.min === undefined ? { sql: 'FALSE', params: [] } : { sql: `${col} < ?`, params: [check.min] };
  const high: Sql = check.max === undefined ? { sql: 'FALSE', params: [] } : { sql: `${col} > ?`, params: [check.max] };
  const select: Sql = { sql: `CAST(${col} AS CHAR) AS v0, (${low.sql}) AS lo, (${high.sql}) AS hi`, params: [...low.params, ...high.params] };
  const failing: Sql = { sql: `(${low.sql}) OR (${high.sql})`, params: [...low.params, ...high.params] };
  return offendingRows(pool, t, base, values, games, select, failing, (r) =>
    Number(r.lo) === 1 ? `${column}=${String(r.v0)} < ${check.min}` : `${column}=${String(r.v0)} > ${check.max}`,
  );
}

async function orderedCheck(pool: Pool, t: ResolvedTable, check: OrderedCheck, base: Base, values: readonly string[], games: readonly number[] | undefined): Promise<CheckResult[]> {
  if (!Array.isArray(check.columns) || check.columns.length < 2) throw usageError(`check ${describeValue(base.check)} orders fewer than two columns`);
  const columns = check.columns.map((c) => checkColumn(t, c, base.check));
  if (!t.exists) return [];
  const pairs = columns.slice(1).map((b, i) => `${sqlId(columns[i]!)} > ${sqlId(b)}`);
  const select: Sql = {
    sql: [...columns.map((c, i) => `CAST(${sqlId(c)} AS CHAR) AS v${i}`), ...pairs.map((p, i) => `(${p}) AS p${i}`)].join(', '),
    params: [],
  };
  const failing: Sql = { sql: pairs.map((p) => `(${p})`).join(' OR '), params: [] };
  return offendingRows(pool, t, base, values, games, select, failing, (r) =>
    pairs
      .map((_, i) => (Number(r[`p${i}`]) === 1 ? `${columns[i]}=${String(r[`v${i}`])} > ${columns[i + 1]}=${String(r[`v${i + 1}`])}` : undefined))
      .filter((s) => s !== undefined)
      .join('; '),
  );
}

/** The rows in scope matching `failing`, one result each, capped; the count of the rest as one more result. */
async function offendingRows(
  pool: Pool,
  t: ResolvedTable,
  base: Base,
  values: readonly string[],
  games: readonly number[] | undefined,
  select: Sql,
  failing: Sql,
  describe: (row: RowDataPacket) => string,
): Promise<CheckResult[]> {
  const where = scopeWhere(t, values, games);
  const key = keyJson(t);
  const order = [t.gameColumn, t.periodColumn, ...t.keyColumns].map((c) => sqlId(c)).join(', ');
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT ${sqlId(t.gameColumn)} AS g, ${key.sql} AS k, ${select.sql} FROM ${t.id} WHERE ${where.sql} AND (${failing.sql}) ORDER BY ${order} LIMIT ${MAX_ROWS_PER_CHECK + 1}`,
    [...key.params, ...select.params, ...where.params, ...failing.params],
  );
  const out = rows.slice(0, MAX_ROWS_PER_CHECK).map((r): CheckResult => {
    const rowKey = parseRow(r.k, `key of report table ${t.table}`);
    const at = Object.entries(rowKey)
      .filter(([c]) => c !== t.gameColumn)
      .map(([c, v]) => `${c}=${v ?? 'NULL'}`)
      .join(', ');
    return { ...base, game: Number(r.g), detail: `${describe(r)} (${at})` };
  });
  if (rows.length > MAX_ROWS_PER_CHECK) {
    const [count] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t.id} WHERE ${where.sql} AND (${failing.sql})`, [...where.params, ...failing.params]);
    out.push({ ...base, detail: `${Number(count[0]?.n) - MAX_ROWS_PER_CHECK} more rows fail this check (the first ${MAX_ROWS_PER_CHECK} are listed)` });
  }
  return out;
}

async function rowPerGameCheck(pool: Pool, t: ResolvedTable, _check: RowPerGameCheck, base: Base, values: readonly string[], expected: readonly number[]): Promise<CheckResult[]> {
  if (expected.length === 0) return [];
  const present = new Map<number, Set<number>>();
  if (t.exists) {
    const pc = sqlId(t.periodColumn);
    const which = `CASE ${values.map((_, i) => `WHEN ${pc} = ? THEN ${i}`).join(' ')} END`;
    const where = scopeWhere(t, values, expected);
    // Grouped: one row per (game, period value) at most, however many rows a game has.
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT ${sqlId(t.gameColumn)} AS g, ${which} AS i FROM ${t.id} WHERE ${where.sql} GROUP BY g, i`, [...values, ...where.params]);
    for (const r of rows) {
      const set = present.get(Number(r.g)) ?? new Set<number>();
      set.add(Number(r.i));
      present.set(Number(r.g), set);
    }
  }
  const out: CheckResult[] = [];
  for (const game of expected) {
    const have = present.get(game);
    const missing = values.filter((_, i) => !have?.has(i));
    if (missing.length === 0) continue;
    const shown = missing.slice(0, 5).join(', ');
    const more = missing.length > 5 ? ` and ${missing.length - 5} more (${missing.length} of ${values.length})` : '';
    out.push({ ...base, game, detail: `no row for ${t.periodColumn}=${shown}${more}` });
  }
  return out;
}

/**
 * Report tables a task owns, and the consistency checks declared on them
 * (the original gflow's business points 4 and 5). Reruns back up exactly these rows, diff
 * them against the recomputed ones, and restore them on demand.
 */
import { DateTime } from 'luxon';
import type { Period } from './period';

/**
 * A table in the `<prefix>_report` schema that a task writes, one or more
 * rows per game and period. Writes must be idempotent upserts keyed by
 * `gameColumn`, `periodColumn` and `keyColumns`.
 *
 * @example
 * ```ts
 * { table: 'report_active', periodColumn: 'day' }
 * ```
 */
export interface ReportTable {
  /** Table name in the `<prefix>_report` schema. */
  readonly table: string;
  /**
   * Column holding the game id.
   * @defaultValue `'game_id'`
   */
  readonly gameColumn?: string;
  /** Column holding the period (a DATE or DATETIME: the period's local start). */
  readonly periodColumn: string;
  /** Further columns that, with game and period, identify a row. @defaultValue none */
  readonly keyColumns?: readonly string[];
  /**
   * The values of `periodColumn` that computing `period` writes. Most tasks
   * write their own period only; retention computing day D also fills the
   * cohorts D−1, D−2, ... @defaultValue `[periodValue(period)]`
   */
  readonly periodValues?: (period: Period) => readonly string[];
}

/** How bad a failed check is: an error fails the period, a warning is reported only. */
export type CheckSeverity = 'error' | 'warning';

interface CheckBase {
  /** Shown in reports. @defaultValue derived from the check */
  readonly name?: string;
  /** @defaultValue `'error'` */
  readonly severity?: CheckSeverity;
  readonly table: string;
}

/** `min ≤ column ≤ max` on every row in scope (NULL passes: not computable yet). */
export interface RangeCheck extends CheckBase {
  readonly kind: 'range';
  readonly column: string;
  readonly min?: number;
  readonly max?: number;
}

/** `columns[0] ≤ columns[1] ≤ …` on every row (e.g. new_users ≤ dau ≤ wau ≤ mau). */
export interface OrderedCheck extends CheckBase {
  readonly kind: 'ordered';
  readonly columns: readonly string[];
}

/** A row for every game the run covered. */
export interface RowPerGameCheck extends CheckBase {
  readonly kind: 'rowPerGame';
}

export type ReportCheck = RangeCheck | OrderedCheck | RowPerGameCheck;

/** The value of a period column for `period`: its local start, as MySQL reads DATE/DATETIME literals. */
export function periodValue(period: Period): string {
  const start = DateTime.fromMillis(period.start, { zone: period.zone });
  return period.unit === 'day' || period.unit === 'week' || period.unit === 'month'
    ? start.toFormat('yyyy-MM-dd')
    : start.toFormat('yyyy-MM-dd HH:mm:ss');
}

/** The period-column values a table holds for `period`. */
export function periodValuesOf(table: ReportTable, period: Period): readonly string[] {
  return table.periodValues ? table.periodValues(period) : [periodValue(period)];
}

/** A check's name for reports. */
export function checkName(check: ReportCheck): string {
  if (check.name) return check.name;
  switch (check.kind) {
    case 'range':
      return `${check.table}: ${check.min ?? '-∞'} ≤ ${check.column} ≤ ${check.max ?? '∞'}`;
    case 'ordered':
      return `${check.table}: ${check.columns.join(' ≤ ')}`;
    case 'rowPerGame':
      return `${check.table}: a row for every game`;
  }
}

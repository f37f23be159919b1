/** The ledger's listings narrow by equal columns; one way to write that WHERE. */

/**
 * `WHERE a = ? AND b = ?` for the pairs whose value is given (none: `''`),
 * and the values in order. Columns are the caller's constants, never input.
 *
 * @example
 * ```ts
 * const { sql, params } = whereEqual([['job', filter.job], ['task', filter.task]]);
 * await pool.query(`SELECT * FROM t ${sql} ORDER BY id DESC`, params);
 * ```
 */
export function whereEqual(pairs: ReadonlyArray<readonly [column: string, value: string | undefined]>): { sql: string; params: string[] } {
  const given = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  return { sql: given.length > 0 ? `WHERE ${given.map(([c]) => `${c} = ?`).join(' AND ')}` : '', params: given.map(([, v]) => v) };
}

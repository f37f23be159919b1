/**
 * What a gflow-own migration is: a versioned change whose statements are
 * built from the installation's names. Its own module, with no imports, so
 * stores that declare their tables (the rerun store) and the migrator
 * (migrations.ts) both depend on it and not on each other.
 *
 * Jobs declare theirs differently, versioned per job: see `JobMigration`
 * in core/job.ts.
 */
import type { Names } from '../../core/names';

/**
 * One versioned change to gflow's own tables.
 *
 * @example
 * ```ts
 * const m: Migration = {
 *   version: '0006_meta_example',
 *   description: 'an example table',
 *   up: (n) => [`CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('meta'), 'example')} (id INT PRIMARY KEY)`],
 * };
 * ```
 */
export interface Migration {
  /** Sortable and unique, e.g. `0001_meta_games`; applied in version order. */
  readonly version: string;
  readonly description: string;
  readonly up: (names: Names) => readonly string[];
}

/** What {@link ddlUnlessPresent} looks for in `information_schema` before it alters a table. */
export type SchemaPart = { readonly column: string } | { readonly index: string };

/**
 * Statements that run `ddl` on `schema`.`table` only when `part` is not there
 * yet, so a migration stays re-runnable on MySQL and MariaDB alike (MySQL has
 * neither ADD COLUMN IF NOT EXISTS nor ADD KEY IF NOT EXISTS). The names
 * appear in string literals, so anything but a plain name is refused.
 *
 * @example
 * ```ts
 * ddlUnlessPresent(n.schema('meta'), 'games', { column: 'updated_by' }, `ALTER TABLE ${games} ADD COLUMN updated_by VARCHAR(255) NULL`)
 * ```
 */
export function ddlUnlessPresent(schema: string, table: string, part: SchemaPart, ddl: string): string[] {
  // They stand in string literals below: plain names only, whoever the caller.
  for (const name of [schema, table, 'column' in part ? part.column : part.index]) {
    if (!/^[A-Za-z0-9_$]{1,64}$/.test(name)) throw new Error(`ddlUnlessPresent: ${JSON.stringify(name)} is not a plain SQL name`);
  }
  const probe =
    'column' in part
      ? `SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${schema}' AND TABLE_NAME = '${table}' AND COLUMN_NAME = '${part.column}'`
      : `SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '${schema}' AND TABLE_NAME = '${table}' AND INDEX_NAME = '${part.index}'`;
  return [
    `SET @gflow_ddl = IF((${probe}) = 0, '${ddl.replace(/'/g, "''")}', 'DO 0')`,
    'PREPARE gflow_ddl FROM @gflow_ddl',
    'EXECUTE gflow_ddl',
    'DEALLOCATE PREPARE gflow_ddl',
  ];
}

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

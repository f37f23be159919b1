/**
 * `gflow db migrate`: create and upgrade the MySQL layers (meta, tag, report,
 * log): gflow's own tables, then the report tables each job of the jobs
 * folder declares (`defineJob({ migrations })`).
 */
import { Command } from 'commander';
import { Names } from '../../core/names';
import type { Config } from '../../infra/config';
import { cliContext, lazyImport, print, printJson } from '../context';

/** What one migration of the installation did, and where it stands. */
export interface InstallationMigration {
  readonly schemas: string[];
  /** gflow's versions applied now. */
  readonly applied: string[];
  /** gflow's latest version applied (now or before). */
  readonly current: string | null;
  /** The jobs folder read, or `null` when it does not exist (gflow's own tables only). */
  readonly jobsDir: string | null;
  /** Per job declaring migrations: the versions applied now, and the latest applied. */
  readonly jobs: Array<{ job: string; applied: number[]; current: number | null }>;
}

/**
 * Load the jobs folder (if any; a job file that fails to load fails the
 * command before anything changes), then migrate gflow's tables and the jobs'.
 */
export async function migrateInstallation(config: Config): Promise<InstallationMigration> {
  const { appliedJobMigrations, appliedMigrations, LAYERS, migrate, MIGRATIONS } = lazyImport('store/schema/migrations');
  const { loadJobsIfPresent } = lazyImport('infra/jobs');
  const { getMysql } = lazyImport('infra/mysql');
  const registry = loadJobsIfPresent(config.jobsDir);
  const jobs = (registry?.list() ?? []).filter((j) => (j.migrations ?? []).length > 0);
  const names = new Names(config.prefix);
  const pool = getMysql(config.mysqlUrl);
  const result = await migrate(pool, names, { jobs });
  const known = new Set(MIGRATIONS.map((m) => m.version));
  const current = (await appliedMigrations(pool, names)).filter((v) => known.has(v)).pop() ?? null;
  const recorded = await appliedJobMigrations(pool, names);
  return {
    schemas: LAYERS.map((layer) => names.schema(layer)),
    applied: result.applied,
    current,
    jobsDir: registry ? config.jobsDir : null,
    jobs: jobs.map((j) => ({
      job: j.name,
      applied: result.jobs.filter((a) => a.job === j.name).map((a) => a.version),
      current: recorded[j.name]?.at(-1) ?? null,
    })),
  };
}

export function dbCommand(): Command {
  const db = new Command('db').description('the MySQL layers: schemas and versioned tables').addHelpText('after', `
Examples:
  $ gflow db migrate
  $ GFLOW_PREFIX=staging gflow db migrate`);
  db.command('migrate')
    .description("create the four schemas, apply gflow's pending migrations, then those the jobs folder's jobs declare (safe to run again)")
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
A job declares its report tables with defineJob({ migrations: [{ version: 1, up: 'CREATE TABLE IF NOT EXISTS {report}.t (...)' }] }):
versions are per job and recorded in <prefix>_meta.job_migrations.

Examples:
  $ gflow db migrate
  $ GFLOW_JOBS=./jobs GFLOW_PREFIX=staging gflow db migrate --json`)
    .action(async function (this: Command, options: { json?: boolean }) {
      const { config } = cliContext(this);
      const done = await migrateInstallation(config);
      if (options.json) return printJson(done);
      print(`schemas: ${done.schemas.join(', ')}`);
      print(done.applied.length > 0 ? `applied: ${done.applied.join(', ')}` : `up to date at ${done.current ?? '(none)'}`);
      if (done.jobsDir === null) print(`jobs folder ${config.jobsDir} does not exist: no job's tables migrated`);
      for (const j of done.jobs) {
        print(j.applied.length > 0 ? `job ${j.job}: applied ${j.applied.map((v) => `v${v}`).join(', ')}` : `job ${j.job}: up to date at v${j.current}`);
      }
    });
  return db;
}

/** `gflow db migrate`: create and upgrade the MySQL layers (meta, tag, report, log). */
import { Command } from 'commander';
import { appliedMigrations, LAYERS, migrate } from '../../store/schema/migrations';
import { getMysql } from '../../infra/mysql';
import { Names } from '../../core/names';
import { cliContext, print, printJson } from '../context';

export function dbCommand(): Command {
  const db = new Command('db').description('the MySQL layers: schemas and versioned tables').addHelpText('after', `
Examples:
  $ gflow db migrate
  $ GFLOW_PREFIX=staging gflow db migrate`);
  db.command('migrate')
    .description('create the four schemas and apply pending migrations (safe to run again)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  $ gflow db migrate
  $ GFLOW_PREFIX=staging gflow db migrate --json`)
    .action(async function (this: Command, options: { json?: boolean }) {
      const { config } = cliContext(this);
      const names = new Names(config.prefix);
      const pool = getMysql(config.mysqlUrl);
      const { applied } = await migrate(pool, names);
      const all = await appliedMigrations(pool, names);
      const schemas = LAYERS.map((layer) => names.schema(layer));
      if (options.json) return printJson({ schemas, applied, current: all[all.length - 1] ?? null });
      print(`schemas: ${schemas.join(', ')}`);
      print(applied.length > 0 ? `applied: ${applied.join(', ')}` : `up to date at ${all[all.length - 1] ?? '(none)'}`);
    });
  return db;
}

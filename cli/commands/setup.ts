/**
 * `gflow setup`: prepare a Temporal cluster and MySQL for gflow — register
 * the search attributes runs are found by, and migrate the schemas (gflow's
 * tables, then the jobs folder's report tables). The embedded dev server
 * gets its search attributes as start flags instead.
 */
import { Command } from 'commander';
import { cliContext, lazyImport, print } from '../context';
import { migrateInstallation } from './db';

export function setupCommand(): Command {
  return new Command('setup')
    .description('register gflow search attributes on the Temporal cluster and migrate the MySQL schemas (gflow\'s and the jobs\')')
    .addHelpText('after', `
Examples:
  $ TEMPORAL_ADDRESS=temporal.internal:7233 gflow setup`)
    .action(async function (this: Command) {
      const { config } = cliContext(this);
      const { pingMysql } = lazyImport('infra/mysql');
      const { registerSearchAttributes } = lazyImport('infra/temporal');
      const { withClient } = lazyImport('client/connect');
      await pingMysql(config.mysqlUrl);
      const added = await withClient(config, (client) => registerSearchAttributes(client, config.temporalNamespace));
      print(added.length > 0 ? `search attributes registered: ${added.join(', ')}` : 'search attributes already registered');
      const done = await migrateInstallation(config);
      const applied = [...done.applied, ...done.jobs.flatMap((j) => j.applied.map((v) => `${j.job} v${v}`))];
      print(applied.length > 0 ? `MySQL migrations applied: ${applied.join(', ')}` : 'MySQL schemas up to date');
      if (done.jobsDir === null) print(`jobs folder ${config.jobsDir} does not exist: no job's tables migrated`);
    });
}

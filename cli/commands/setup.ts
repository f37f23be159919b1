/**
 * `gflow setup`: prepare a Temporal cluster and MySQL for gflow — register
 * the search attributes runs are found by, and migrate the schemas. The
 * embedded dev server gets its search attributes as start flags instead.
 */
import { Command } from 'commander';
import { Names } from '../../core/names';
import { migrate } from '../../store/schema/migrations';
import { getMysql, pingMysql } from '../../infra/mysql';
import { registerSearchAttributes } from '../../infra/temporal';
import { cliContext, print } from '../context';
import { withClient } from '../../client/connect';

export function setupCommand(): Command {
  return new Command('setup')
    .description('register gflow search attributes on the Temporal cluster and migrate the MySQL schemas')
    .addHelpText('after', `
Examples:
  $ TEMPORAL_ADDRESS=temporal.internal:7233 gflow setup`)
    .action(async function (this: Command) {
      const { config } = cliContext(this);
      await pingMysql(config.mysqlUrl);
      const added = await withClient(config, (client) => registerSearchAttributes(client, config.temporalNamespace));
      print(added.length > 0 ? `search attributes registered: ${added.join(', ')}` : 'search attributes already registered');
      const { applied } = await migrate(getMysql(config.mysqlUrl), new Names(config.prefix));
      print(applied.length > 0 ? `MySQL migrations applied: ${applied.join(', ')}` : 'MySQL schemas up to date');
    });
}

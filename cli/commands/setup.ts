/**
 * `gflow setup`: prepare a Temporal cluster and MySQL for gflow — register
 * the search attributes runs are found by, and migrate the schemas (gflow's
 * tables, then the jobs folder's report tables). The embedded dev server
 * gets its search attributes as start flags instead.
 */
import { Command } from 'commander';
import type { Config } from '../../infra/config';
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
      await warnOfOldKeys(config);
    });
}

/** An upgrade from a gflow whose keys had no hash tags: say so, as nothing written then would be read. */
async function warnOfOldKeys(config: Config): Promise<void> {
  const names = new (lazyImport('core/names').Names)(config.prefix);
  const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
  const redis = lazyImport('infra/redis').getRedis(config.redisUrl);
  const games = await lazyImport('store/games/registry').listGames(mysql, names);
  const old = await lazyImport('store/activity/legacy-layout').gamesInOldLayout(games, { redis, mysql }, names);
  if (old.length === 0) return;
  const shown = old.slice(0, 10).join(', ') + (old.length > 10 ? ', …' : '');
  print(`warning: ${old.length} games have activity keys under the layout before hash tags (e.g. ${names.redisKey('uidx', old[0]!)}), which this version does not read: rename them as docs/architecture.md "Moving an installation's keys" says (games ${shown})`);
}

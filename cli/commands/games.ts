/** `gflow games add|update|list|disable|enable`: the games registry. */
import { Command } from 'commander';
import type { Names } from '../../core/names';
import type { Config } from '../../infra/config';
import type { Pool } from '../../infra/mysql';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';

interface AddOptions {
  name?: string;
  redis?: string;
  mysql?: string;
  tz?: string;
}

export function gamesCommand(): Command {
  const games = new Command('games').description('the games registry: one report item per enabled game').addHelpText('after', `
Examples:
  $ gflow games add 7 --name "Dragon Saga" --tz Asia/Shanghai
  $ gflow games update 7 --redis redis://10.0.0.9:6379
  $ gflow games list --json
  $ gflow games disable 7`);

  games
    .command('add <id>')
    .description('register a game (enabled)')
    .option('--name <name>', 'display name (default: "game <id>")')
    .option('--redis <url>', "the game's own Redis: redis://, rediss:// (TLS), or a cluster's seeds, redis+cluster://host:port,host:port (rediss+cluster:// with TLS); default: the configured one")
    .option('--mysql <url>', "the game's own MySQL (default: the configured one)")
    .option('--tz <zone>', 'IANA time zone of its days (default: the configured one)')
    .addHelpText('after', `
Examples:
  $ gflow games add 7 --name "Dragon Quest" --tz Asia/Shanghai
  $ gflow games add 12 --redis redis://10.0.0.5:6379 --mysql mysql://report@10.0.0.6:3306`)
    .action(async function (this: Command, id: string, options: AddOptions) {
      const { config } = cliContext(this);
      const { addGame, validateGame } = lazyImport('store/games/registry');
      const game = validateGame({ id, name: options.name, tz: options.tz, redisUrl: options.redis, mysqlUrl: options.mysql });
      const { mysql, names } = registryOf(config);
      const added = await addGame(mysql, names, game);
      print(`added game ${added.id} (${added.name})`);
    });

  games
    .command('update <id>')
    .description("change a registered game's name, zone or URLs (only the options given; records who and when)")
    .option('--name <name>', 'display name')
    .option('--redis <url>', "the game's own Redis: redis://host:port[/db] or rediss://…")
    .option('--mysql <url>', "the game's own MySQL: mysql://[user:password@]host:port[/database]")
    .option('--tz <zone>', 'IANA time zone of its days')
    .addHelpText('after', `
Running slaves keep their clients for the old URLs until they restart.

Examples:
  $ gflow games update 12 --redis redis://10.0.0.9:6379
  $ gflow games update 7 --name "Dragon Saga" --tz Asia/Shanghai`)
    .action(async function (this: Command, id: string, options: AddOptions) {
      const { config } = cliContext(this);
      const { updateGame, validateGameChanges } = lazyImport('store/games/registry');
      const { parseGameId } = lazyImport('store/identifiers');
      // Checked before connecting: a bad id or URL is refused (exit 2) even with MySQL down.
      const gameId = parseGameId(id, 'game id');
      const changes = validateGameChanges({ name: options.name, tz: options.tz, redisUrl: options.redis, mysqlUrl: options.mysql });
      const { mysql, names } = registryOf(config);
      const updated = await updateGame(mysql, names, gameId, changes);
      print(`updated game ${updated.id} (${updated.name}): ${Object.keys(changes).join(', ')}`);
    });

  games
    .command('list')
    .description('list registered games')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow games list
  $ gflow games list --json | jq '.[] | select(.enabled) | .id'`)
    .action(async function (this: Command, options: { json?: boolean }) {
      const { config } = cliContext(this);
      const { listGames, publicGame } = lazyImport('store/games/registry');
      const { mysql, names } = registryOf(config);
      const all = (await listGames(mysql, names)).map(publicGame);
      if (options.json) return printJson(all);
      if (all.length === 0) return print('no games registered (gflow games add <id>)');
      printTable(
        ['id', 'name', 'enabled', 'tz', 'redis', 'mysql'],
        all.map((g) => [g.id, g.name, g.enabled ? 'yes' : 'no', g.tz ?? `(${config.tz})`, g.redisUrl ?? '(default)', g.mysqlUrl ?? '(default)']),
      );
    });

  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    games
      .command(`${verb} <id>`)
      .description(enabled ? 'give a disabled game report items again' : 'stop making report items for a game (its data stays)')
      .addHelpText('after', `
Examples:
  $ gflow games ${verb} 7`)
      .action(async function (this: Command, id: string) {
        const { config } = cliContext(this);
        const { parseGameId } = lazyImport('store/identifiers');
        const { mysql, names } = registryOf(config);
        const game = await lazyImport('store/games/registry').setGameEnabled(mysql, names, parseGameId(id, 'game id'), enabled);
        print(`game ${game.id} (${game.name}) ${enabled ? 'enabled' : 'disabled'}`);
      });
  }
  return games;
}

/** Where the games registry is: the MySQL pool and the installation's names. */
function registryOf(config: Config): { mysql: Pool; names: Names } {
  const { Names } = lazyImport('core/names');
  return { mysql: lazyImport('infra/mysql').getMysql(config.mysqlUrl), names: new Names(config.prefix) };
}

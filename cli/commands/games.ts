/** `gflow games add|list|disable|enable`: the games registry. */
import { Command } from 'commander';
import { Names } from '../../core/names';
import { addGame, listGames, publicGame, setGameEnabled, validateGame } from '../../store/games/registry';
import { parseGameId } from '../../store/identifiers';
import { getMysql } from '../../infra/mysql';
import { cliContext, print, printJson, printTable } from '../context';

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
  $ gflow games list --json
  $ gflow games disable 7`);

  games
    .command('add <id>')
    .description('register a game (enabled)')
    .option('--name <name>', 'display name (default: "game <id>")')
    .option('--redis <url>', "the game's own Redis (default: the configured one)")
    .option('--mysql <url>', "the game's own MySQL (default: the configured one)")
    .option('--tz <zone>', 'IANA time zone of its days (default: the configured one)')
    .addHelpText('after', `
Examples:
  $ gflow games add 7 --name "Dragon Quest" --tz Asia/Shanghai
  $ gflow games add 12 --redis redis://10.0.0.5:6379 --mysql mysql://report@10.0.0.6:3306`)
    .action(async function (this: Command, id: string, options: AddOptions) {
      const { config } = cliContext(this);
      const game = validateGame({ id, name: options.name, tz: options.tz, redisUrl: options.redis, mysqlUrl: options.mysql });
      const added = await addGame(getMysql(config.mysqlUrl), new Names(config.prefix), game);
      print(`added game ${added.id} (${added.name})`);
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
      const all = (await listGames(getMysql(config.mysqlUrl), new Names(config.prefix))).map(publicGame);
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
        const game = await setGameEnabled(getMysql(config.mysqlUrl), new Names(config.prefix), parseGameId(id, 'game id'), enabled);
        print(`game ${game.id} (${game.name}) ${enabled ? 'enabled' : 'disabled'}`);
      });
  }
  return games;
}

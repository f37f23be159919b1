/** `gflow config get|set`: runtime configuration in Redis (landed in MySQL by the ingest job's landConfig task). */
import { Command } from 'commander';
import { usageError } from '../../core/errors';
import { Names } from '../../core/names';
import { describeConfig, getConfig, KNOWN_KEYS, setConfig, validateConfig } from '../../store/config/runtime-config';
import { getRedis, pingRedis } from '../../infra/redis';
import { cliContext, print, printJson, printTable } from '../context';

export function configCommand(): Command {
  const config = new Command('config').description('runtime configuration, kept in Redis and landed in MySQL').addHelpText('after', `
Examples:
  $ gflow config get
  $ gflow config set activity.threshold 500000`);

  config
    .command('get [key]')
    .description('show one key, or every known and set key with its source')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Known keys:
${Object.entries(KNOWN_KEYS)
  .map(([key, k]) => `  ${key.padEnd(24)} ${k.help} (default ${k.default})`)
  .join('\n')}

Examples:
  $ gflow config get
  $ gflow config get activity.threshold`)
    .action(async function (this: Command, key: string | undefined, options: { json?: boolean }) {
      const { config: c } = cliContext(this);
      await pingRedis(c.redisUrl);
      const redis = getRedis(c.redisUrl);
      const names = new Names(c.prefix);
      if (key !== undefined) {
        const value = await getConfig(redis, names, key);
        if (value === undefined) throw usageError(`config ${key} is not set (gflow config set ${key} <value>)`);
        return options.json ? printJson({ key, value }) : print(value);
      }
      const entries = await describeConfig(redis, names);
      if (options.json) return printJson(entries);
      printTable(['key', 'value', 'source'], entries.map((e) => [e.key, e.value, e.source]));
    });

  config
    .command('set <key> <value>')
    .description('set one key in Redis (validated; known keys by their rule)')
    .addHelpText('after', `
Examples:
  $ gflow config set activity.threshold 500000
  $ gflow config set ingest.stream events`)
    .action(async function (this: Command, key: string, value: string) {
      const { config: c } = cliContext(this);
      validateConfig(key, value); // bad input is refused even when Redis is down
      await pingRedis(c.redisUrl);
      await setConfig(getRedis(c.redisUrl), new Names(c.prefix), key, value);
      print(`${key} = ${value}`);
    });
  return config;
}

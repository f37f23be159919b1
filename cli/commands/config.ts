/**
 * `gflow config get|set`: every setting of the one catalogue (`infra/config.ts`),
 * wherever it lives — the config file (overridden by the environment) or the
 * runtime hash in Redis (landed in MySQL by the ingest job's landConfig task).
 * Modules load inside the actions (and the help) that need them (`lazyImport`).
 */
import { Command } from 'commander';
import { usageError } from '../../core/errors';
import type { Setting, SettingValue } from '../../infra/config';
import type * as RuntimeConfig from '../../store/config/runtime-config';
import { cliContext, lazyImport, print, printJson, printTable, type GlobalOptions } from '../context';

function describeSetting(s: Setting): string {
  const where = s.home === 'runtime' ? 'redis' : s.env ? `file, ${s.env}` : 'file';
  const def = s.default === undefined ? 'unset' : `default ${s.default}`;
  return `  ${s.key.padEnd(24)} ${s.help} (${where}; ${def})`;
}

/** The catalogue in words, for `gflow config get --help`. */
function settingsHelp(): string {
  const { FILE_SETTINGS, RUNTIME_SETTINGS } = lazyImport('infra/config');
  return `
Settings of the config file (gflow.config.json, --config or GFLOW_CONFIG), overridden by the environment:
${FILE_SETTINGS.map(describeSetting).join('\n')}

Runtime settings, kept in Redis (read while gflow runs; no restart needed):
${RUNTIME_SETTINGS.map(describeSetting).join('\n')}
Other dotted keys (e.g. report.note) are kept in Redis as given, for jobs to read.`;
}

/** Settings whose whole value is a secret: shown as set or not, never in clear. */
const SECRETS = new Set(['consoleToken']);

/** A value for display: URLs without their passwords, secrets hidden. */
function shown(entry: SettingValue): SettingValue {
  if (entry.value === undefined) return entry;
  return { ...entry, value: SECRETS.has(entry.key) ? '***' : lazyImport('infra/config').redact(entry.value) };
}

function homeOf(key: string): Setting['home'] | undefined {
  return lazyImport('infra/config').findSetting(key)?.home;
}

function configFileOptions(command: Command): { file?: string } {
  const { config } = command.optsWithGlobals<GlobalOptions>();
  return config === undefined ? {} : { file: config };
}

/** The runtime entries (Redis, else defaults), after checking Redis answers. */
async function runtimeEntries(command: Command, key?: string): Promise<SettingValue[]> {
  const { config } = cliContext(command);
  const { getRedis, pingRedis } = lazyImport('infra/redis');
  const runtime: typeof RuntimeConfig = lazyImport('store/config/runtime-config');
  const { Names } = lazyImport('core/names');
  if (key !== undefined) runtime.validateConfigKey(key); // a bad key is refused even when Redis is down
  await pingRedis(config.redisUrl);
  const entries = await runtime.describeConfig(getRedis(config.redisUrl), new Names(config.prefix));
  return entries.filter((e) => key === undefined || e.key === key).map((e) => ({ key: e.key, home: 'runtime', value: e.value, source: e.source }));
}

export function configCommand(): Command {
  const config = new Command('config').description('every setting: the config file, the environment and the runtime settings in Redis').addHelpText('after', `
Examples:
  $ gflow config get
  $ gflow config get tz
  $ gflow config set activity.threshold 500000
  $ gflow config set tz Europe/Berlin`);

  config
    .command('get [key]')
    .description('show one setting, or every setting, with its value and where it comes from')
    .option('--json', 'print as JSON')
    .addHelpText('after', () => `${settingsHelp()}

Sources: default, the config file's path, environment <VAR>, redis.

Examples:
  $ gflow config get
  $ gflow config get activity.threshold
  $ gflow config get --json`)
    .action(async function (this: Command, key: string | undefined, options: { json?: boolean }) {
      const { fileSettingValues } = lazyImport('infra/config');
      let entries: SettingValue[];
      if (key !== undefined && homeOf(key) === 'file') {
        // A file setting needs neither Redis nor a valid rest of the config: it can be looked at to be mended.
        entries = fileSettingValues(configFileOptions(this)).filter((e) => e.key === key);
      } else if (key !== undefined) {
        entries = await runtimeEntries(this, key);
      } else {
        entries = [...fileSettingValues(configFileOptions(this)), ...(await runtimeEntries(this))];
      }
      entries = entries.map(shown);
      if (key !== undefined) {
        const entry = entries[0];
        if (entry?.value === undefined) throw usageError(`config ${key} is not set (gflow config set ${key} <value>)`);
        return options.json ? printJson(entry) : print(entry.value);
      }
      if (options.json) return printJson(entries.map((e) => ({ ...e, value: e.value ?? null })));
      printTable(['key', 'value', 'source'], entries.map((e) => [e.key, e.value ?? '(unset)', e.source]));
    });

  config
    .command('set <key> <value>')
    .description('set one setting: a runtime one in Redis, a file one in the config file (validated either way)')
    .addHelpText('after', `
A file setting is written to the config file (gflow.config.json here, or
--config / GFLOW_CONFIG), created if missing, after the whole file is
checked; an environment variable that overrides it still wins. A runtime
setting is written to Redis and applies without a restart. Anything
invalid (including text that is not valid UTF-8) is refused and nothing
is written.

Examples:
  $ gflow config set activity.threshold 500000
  $ gflow config set ingest.stream events
  $ gflow config set concurrency 20
  $ gflow --config prod.json config set temporal.address temporal.internal:7233`)
    .action(async function (this: Command, key: string, value: string) {
      const { redact, setFileSetting } = lazyImport('infra/config');
      if (homeOf(key) === 'file') {
        const written = setFileSetting(key, value, configFileOptions(this));
        print(`${key} = ${SECRETS.has(key) ? '***' : redact(String(written.value))} (in ${written.file})`);
        if (written.overriddenBy) process.stderr.write(`gflow: note: the environment variable ${written.overriddenBy} overrides ${key} where it is set\n`);
        return;
      }
      const runtime: typeof RuntimeConfig = lazyImport('store/config/runtime-config');
      runtime.validateConfig(key, value); // bad input is refused even when Redis is down
      const { config: c } = cliContext(this);
      const { getRedis, pingRedis } = lazyImport('infra/redis');
      const { Names } = lazyImport('core/names');
      await pingRedis(c.redisUrl);
      await runtime.setConfig(getRedis(c.redisUrl), new Names(c.prefix), key, value);
      print(`${key} = ${redact(value)}`);
    });
  return config;
}

/**
 * What every command shares: the global options, the config, the logger,
 * the way results are printed, and the way heavy modules are loaded.
 * Commands throw; `cli/index.ts` catches.
 */
import type { Command } from 'commander';
import { parseList } from '../core/parse';
import type { Config } from '../infra/config';
import { createLogger, setLogLevel, type Logger } from '../infra/logger';

export interface GlobalOptions {
  verbose?: boolean;
  config?: string;
}

export interface CliContext {
  readonly config: Config;
  readonly log: Logger;
  readonly verbose: boolean;
}

/** The context of the command being run: config loaded once, logger set to the verbosity. */
export function cliContext(command: Command): CliContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  if (options.verbose) setLogLevel('debug');
  const { loadConfig } = lazyImport('infra/config');
  return { config: loadConfig({ file: options.config }), log: createLogger('gflow'), verbose: Boolean(options.verbose) };
}

/**
 * The modules an action loads when it runs, not when its command is defined:
 * the Temporal client and worker, the MySQL and Redis drivers, zod and luxon
 * cost about a second to load, and `gflow help <command>` needs none of them.
 * Command modules import a module that loads such a package with
 * `import type` only, and call `lazyImport(id)` inside their actions; Node's
 * own modules and light ones (core/errors, core/parse...) import as usual.
 * (A `require`, not `await import()`: `import()` goes through Node's ESM
 * loader, which neither tsx's CommonJS hooks nor bin/gflow.js's compiled
 * twins serve; and a `require` shares the one module cache, so the single
 * Redis and MySQL pools stay single.)
 */
interface LazyModules {
  '@temporalio/client': typeof import('@temporalio/client');
  'client/analyses': typeof import('../client/analyses');
  'client/analysis-history': typeof import('../client/analysis-history');
  'client/connect': typeof import('../client/connect');
  'client/control': typeof import('../client/control');
  'client/dry-run': typeof import('../client/dry-run');
  'client/matrix': typeof import('../client/matrix');
  'client/rerun-history': typeof import('../client/rerun-history');
  'client/reruns': typeof import('../client/reruns');
  'client/restore': typeof import('../client/restore');
  'client/status': typeof import('../client/status');
  'console/server': typeof import('../console/server');
  'core/matrix': typeof import('../core/matrix');
  'core/names': typeof import('../core/names');
  'dev/embedded': typeof import('../dev/embedded');
  'dev/synth': typeof import('../dev/synth');
  'infra/config': typeof import('../infra/config');
  'infra/jobs': typeof import('../infra/jobs');
  'infra/mysql': typeof import('../infra/mysql');
  'infra/redis': typeof import('../infra/redis');
  'infra/temporal': typeof import('../infra/temporal');
  'infra/who': typeof import('../infra/who');
  'jobs/report/compute': typeof import('../jobs/report/compute');
  'jobs/report/read': typeof import('../jobs/report/read');
  'store/activity/ingest': typeof import('../store/activity/ingest');
  'store/activity/legacy-layout': typeof import('../store/activity/legacy-layout');
  'store/analyses/answers': typeof import('../store/analyses/answers');
  'store/config/runtime-config': typeof import('../store/config/runtime-config');
  'store/games/registry': typeof import('../store/games/registry');
  'store/identifiers': typeof import('../store/identifiers');
  'store/ledger/analyses': typeof import('../store/ledger/analyses');
  'store/ledger/reruns': typeof import('../store/ledger/reruns');
  'store/ledger/runs': typeof import('../store/ledger/runs');
  'store/reruns/backup': typeof import('../store/reruns/backup');
  'store/schema/migrations': typeof import('../store/schema/migrations');
  'worker/build-id': typeof import('../worker/build-id');
  'worker/slave': typeof import('../worker/slave');
  'workflows/messages': typeof import('../workflows/messages');
  'workflows/restore': typeof import('../workflows/restore');
  'workflows/rerun': typeof import('../workflows/rerun');
}

/** A module of gflow (its path from the repository root) or a package, loaded on first use. */
export function lazyImport<K extends keyof LazyModules>(id: K): LazyModules[K] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(resolved(id)) as LazyModules[K];
}

/** Whether this process has loaded the module (to close what it opened without loading it to find out). */
export function isLoaded(id: keyof LazyModules): boolean {
  return require.cache[require.resolve(resolved(id))] !== undefined;
}

function resolved(id: keyof LazyModules): string {
  return id.startsWith('@') ? id : `../${id}`;
}

/** Results go to stdout, logs to stderr: `--json` output stays parseable. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function print(line = ''): void {
  process.stdout.write(line + '\n');
}

/** A fixed-width table for terminals; columns sized to their widest cell. */
export function printTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const cells = [headers, ...rows].map((row) => row.map((c) => String(c)));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  print(line(cells[0]!));
  print(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells.slice(1)) print(line(row));
}

/**
 * The parser of a comma-separated list option (`-t a,b`, repeated or not):
 * an empty element (`-g 1,,2`) is refused, naming `what`.
 */
export function listOption(what: string): (value: string, previous?: string[]) => string[] {
  return (value, previous = []) => [...previous, ...parseList(value, what)];
}

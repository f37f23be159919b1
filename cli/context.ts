/**
 * What every command shares: the global options, the config, the logger,
 * and the way results are printed. Commands throw; `cli/index.ts` catches.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../infra/config';
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
  return { config: loadConfig({ file: options.config }), log: createLogger('gflow'), verbose: Boolean(options.verbose) };
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

/** Parse a comma-separated list option (`-t a,b`, repeated or not). */
export function listOption(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

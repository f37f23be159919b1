/**
 * The `gflow` CLI: wires the commands and is the one place that turns an
 * error into an exit code.
 */
import { Command, CommanderError } from 'commander';
import { version } from '../package.json';
import { isUserError, messageOf } from '../core/errors';
import { closeMysql } from '../infra/mysql';
import { configCommand } from './commands/config';
import { dbCommand } from './commands/db';
import { demoCommand } from './commands/demo';
import { devCommand } from './commands/dev';
import { gamesCommand } from './commands/games';
import { ingestCommand } from './commands/ingest';
import { diffCommand } from './commands/diff';
import { rerunsCommand } from './commands/reruns';
import { restoreCommand } from './commands/restore';
import { jobsCommand } from './commands/jobs';
import { lifecycleCommand } from './commands/lifecycle';
import { setupCommand } from './commands/setup';
import { slaveCommand } from './commands/slave';
import { topCommand } from './commands/top';
import { workerCommand } from './commands/worker';
import { closeRedis } from '../infra/redis';

export function buildProgram(): Command {
  const program = new Command('gflow')
    .description('Durable job orchestrator for game analytics, on Temporal')
    .version(version)
    .option('-v, --verbose', 'show debug logs and stack traces')
    .option('--config <file>', 'config file (default: gflow.config.json here, or GFLOW_CONFIG)')
    .showHelpAfterError('(run gflow help <command> for usage)')
    .addHelpText('after', `
Examples (the seed's master commands):
  $ gflow start demo                          start a job's schedules and once-tasks
  $ gflow stop demo                           pause them, cancel running runs
  $ gflow restart report -t active,retention  only some tasks
  $ gflow restart report --now                and run at once
  $ gflow restart report -d 20150420,20150421 rerun two days (backup, recompute, check, diff)
  $ gflow restart report -d 20150420 -t retention -g 3 --now
  $ gflow top                                 runs, failed games, live slaves
  $ gflow slave start --slave s1              a background slave on this host
  $ gflow demo                                the whole thing on a synthetic studio`)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  for (const command of commands()) {
    program.addCommand(command.exitOverride());
  }
  return program;
}

function commands(): Command[] {
  return [
    lifecycleCommand('start'),
    lifecycleCommand('stop'),
    lifecycleCommand('restart'),
    jobsCommand(),
    topCommand(),
    workerCommand(),
    devCommand(),
    demoCommand(),
    slaveCommand(),
    setupCommand(),
    rerunsCommand(),
    ingestCommand(),
    gamesCommand(),
    dbCommand(),
    configCommand(),
    diffCommand(),
    restoreCommand(),
  ];
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (err) {
    return reportError(err, verbose);
  } finally {
    await Promise.all([closeRedis(), closeMysql()]);
  }
}

function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // commander has printed its message already; help and version are not errors.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (isUserError(err)) {
    process.stderr.write(`gflow: ${err.message}\n`);
    if (verbose && err.cause) process.stderr.write(`${(err.cause as Error).stack ?? String(err.cause)}\n`);
    return err.exitCode;
  }
  process.stderr.write(`gflow: ${messageOf(err)}\n`);
  if (verbose) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
  else process.stderr.write('(run with --verbose for the stack trace)\n');
  return 1;
}

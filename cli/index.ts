/**
 * The `gflow` CLI: finds the command the arguments name and loads only its
 * module (the others are a static table below, enough for the top-level
 * help), and is the one place that turns an error into an exit code.
 */
import { Command, CommanderError, Help } from 'commander';
import { version } from '../package.json';
import { isUserError, messageOf } from '../core/errors';
import { isMissingSchema } from '../infra/sql-errors';
import { isLoaded, lazyImport } from './context';

interface CommandEntry {
  /** As the top-level help lists it: the name, `[options]` if it has any, then its arguments. */
  readonly term: string;
  readonly description: string;
  /** Loads the command's module (and only that): called when the arguments name the command. */
  readonly load: () => Command;
}

/*
 * Every command, in the order the help lists them. The term and description
 * repeat what each module defines: commandTableDrift() says where they differ.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: readonly CommandEntry[] = [
  { term: 'start [options] <job>', description: "create or unpause the job's schedules and start its once-tasks", load: () => lifecycle().lifecycleCommand('start') },
  { term: 'stop [options] <job>', description: "pause the job's schedules and cancel its running runs", load: () => lifecycle().lifecycleCommand('stop') },
  { term: 'restart [options] <job>', description: 'stop, then start', load: () => lifecycle().lifecycleCommand('restart') },
  { term: 'jobs [options]', description: 'list jobs, their tasks, schedules and next fire times', load: () => (require('./commands/jobs') as typeof import('./commands/jobs')).jobsCommand() },
  { term: 'top [options] [job]', description: 'show running and last runs per task, failed games, and live slaves', load: () => (require('./commands/top') as typeof import('./commands/top')).topCommand() },
  { term: 'worker [options]', description: "run a slave in the foreground: polls the shared queue and the slave's own", load: () => (require('./commands/worker') as typeof import('./commands/worker')).workerCommand() },
  { term: 'dev [options] [job]', description: 'embedded default: start a Temporal dev server and a slave, then run a job (default: demo)', load: () => (require('./commands/dev') as typeof import('./commands/dev')).devCommand() },
  { term: 'demo [options]', description: 'generate a synthetic studio, ingest it, compute its reports across two slaves and print them', load: () => (require('./commands/demo') as typeof import('./commands/demo')).demoCommand() },
  { term: 'slave', description: "run this host's slave in the background: start, stop, restart, status", load: () => (require('./commands/slave') as typeof import('./commands/slave')).slaveCommand() },
  { term: 'setup', description: "register gflow search attributes on the Temporal cluster and migrate the MySQL schemas (gflow's and the jobs')", load: () => (require('./commands/setup') as typeof import('./commands/setup')).setupCommand() },
  { term: 'status [options] <job>', description: "the games × periods matrix of a job's tasks, from the ledger", load: () => (require('./commands/status') as typeof import('./commands/status')).statusCommand() },
  { term: 'retry [options] <job>', description: 'rerun exactly the failed (or missing) games × periods of a job, as one retry', load: () => (require('./commands/retry') as typeof import('./commands/retry')).retryCommand() },
  { term: 'reruns [options] [rerun]', description: 'list reruns; with an id, show its progress or summary', load: () => (require('./commands/reruns') as typeof import('./commands/reruns')).rerunsCommand() },
  { term: 'ask [options] <analysis>', description: "ask an analysis (a job's on-demand question): answered from the cache or computed on the slaves", load: () => (require('./commands/ask') as typeof import('./commands/ask')).askCommand() },
  { term: 'analyses [options]', description: 'list the computations of analyses the ledger recorded, newest first; prune old ones', load: () => (require('./commands/analyses') as typeof import('./commands/analyses')).analysesCommand() },
  { term: 'ingest [options] <files...>', description: 'ingest player events from JSON-lines files (- for stdin); exit 1 if any line was rejected', load: () => (require('./commands/ingest') as typeof import('./commands/ingest')).ingestCommand() },
  { term: 'games', description: 'the games registry: one report item per enabled game', load: () => (require('./commands/games') as typeof import('./commands/games')).gamesCommand() },
  { term: 'db', description: 'the MySQL layers: schemas and versioned tables', load: () => (require('./commands/db') as typeof import('./commands/db')).dbCommand() },
  { term: 'config', description: 'every setting: the config file, the environment and the runtime settings in Redis', load: () => (require('./commands/config') as typeof import('./commands/config')).configCommand() },
  { term: 'diff [options] <rerun>', description: "show a rerun's diff: rows added, removed and changed, with old → new values", load: () => (require('./commands/diff') as typeof import('./commands/diff')).diffCommand() },
  { term: 'restore [options] <rerun>', description: 'restore the report rows a rerun backed up (all its periods, or one)', load: () => (require('./commands/restore') as typeof import('./commands/restore')).restoreCommand() },
  { term: 'console [options]', description: "serve the console: the studio's reports, runs, reruns and retries in a web page", load: () => (require('./commands/console') as typeof import('./commands/console')).consoleCommand() },
];

function lifecycle(): typeof import('./commands/lifecycle') {
  return require('./commands/lifecycle') as typeof import('./commands/lifecycle');
}
/* eslint-enable @typescript-eslint/no-require-imports */

const nameOf = (entry: CommandEntry) => entry.term.split(' ')[0]!;

/**
 * Where the table above no longer says what the command modules define (it
 * loads every module): one line per difference, none when in step.
 */
export function commandTableDrift(): string[] {
  const help = new Help();
  return COMMANDS.flatMap((entry) => {
    const command = entry.load();
    const term = help.subcommandTerm(command);
    return [
      ...(term === entry.term ? [] : [`${nameOf(entry)}: the table's term is ${JSON.stringify(entry.term)}, the module's ${JSON.stringify(term)}`]),
      ...(command.description() === entry.description ? [] : [`${nameOf(entry)}: the table's description is ${JSON.stringify(entry.description)}, the module's ${JSON.stringify(command.description())}`]),
    ];
  });
}

/**
 * The program, with the modules of the commands in `load` (default: all of
 * them); each other command is a stand-in that only names and describes it.
 */
export function buildProgram(load: readonly string[] | 'all' = 'all'): Command {
  const standIns = new WeakSet<Command>();
  const terms = new Map(COMMANDS.map((entry) => [nameOf(entry), entry.term]));
  const help = new Help();
  const program = new Command('gflow')
    .description('Durable job orchestrator for game analytics, on Temporal')
    .version(version)
    .option('-v, --verbose', 'show debug logs and stack traces')
    .option('--config <file>', 'config file (default: gflow.config.json here, or GFLOW_CONFIG)')
    .showHelpAfterError('(run gflow help <command> for usage)')
    // Stand-ins have no options or arguments of their own: the help lists every command by the table's term.
    .configureHelp({ subcommandTerm: (command) => terms.get(command.name()) ?? help.subcommandTerm(command) })
    .addHelpText('after', `
Examples (the original gflow's master commands):
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
    .configureOutput({ outputError: writeUsageError })
    .hook('preSubcommand', (_program, command) => {
      if (standIns.has(command)) throw new Error(`command ${command.name()} was dispatched but not loaded (a bug: commandNamed() in cli/index.ts missed it)`);
    });
  for (const entry of COMMANDS) {
    const name = nameOf(entry);
    if (load === 'all' || load.includes(name)) {
      program.addCommand(throwingOnUsage(entry.load()));
    } else {
      const standIn = new Command(name).description(entry.description);
      standIns.add(standIn);
      program.addCommand(standIn.exitOverride());
    }
  }
  return program;
}

/**
 * A command and every subcommand under it throw on a usage error instead of
 * exiting, so {@link reportError} turns it into exit 2. commander copies
 * this setting only to subcommands made after it is set, and a command
 * group's file makes its subcommands first (`gflow reruns prune`).
 */
export function throwingOnUsage(command: Command): Command {
  command.exitOverride();
  command.configureOutput({ outputError: writeUsageError });
  for (const sub of command.commands) throwingOnUsage(sub);
  return command;
}

/** commander's `error: …` as every other refusal reads: `gflow: …`. */
function writeUsageError(text: string, write: (text: string) => void): void {
  write(text.replace(/^error: /, 'gflow: '));
}

const PROGRAM_FLAGS = /^(-[vV]+|--verbose|--version)$/;

/**
 * The command `args` (the arguments after the script) name, read as
 * commander reads them: the first operand after the program's own options,
 * or the operand after `help`. Once an option the program does not know
 * comes first (`--help`, a typo), commander dispatches to no command.
 */
export function commandNamed(args: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < args.length && operands.length < 2; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (arg === '--config') i++;
    else if (arg.startsWith('--config=') || PROGRAM_FLAGS.test(arg)) continue;
    else if (arg.length > 1 && arg.startsWith('-')) break;
    else operands.push(arg);
  }
  const [first, second] = operands;
  return first === 'help' ? second : first;
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  quietOnClosedPipe();
  try {
    const named = commandNamed(argv.slice(2));
    const program = buildProgram(named === undefined ? [] : [named]);
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (err) {
    return reportError(err, verbose);
  } finally {
    await closeConnections();
  }
}

/** Close the shared Redis and MySQL connections if this run opened any — without loading their drivers to find out. */
async function closeConnections(): Promise<void> {
  await Promise.all([
    isLoaded('infra/redis') ? lazyImport('infra/redis').closeRedis() : undefined,
    isLoaded('infra/mysql') ? lazyImport('infra/mysql').closeMysql() : undefined,
  ]);
}

/** Output into a closed pipe (`gflow diff … | head`) ends quietly: the reader has what it wanted. */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
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
  // An installation not migrated (or not since an upgrade): say what to run, not a raw SQL error.
  if (isMissingSchema(err)) {
    process.stderr.write(`gflow: ${messageOf(err)}: run gflow db migrate\n`);
    if (verbose) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return 1;
  }
  process.stderr.write(`gflow: ${messageOf(err)}\n`);
  if (verbose) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
  else process.stderr.write('(run with --verbose for the stack trace)\n');
  return 1;
}

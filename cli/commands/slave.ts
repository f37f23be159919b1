/**
 * `gflow slave start|stop|restart|status`: this host's slave as a daemon
 * (the original gflow's `slave start|stop|restart`), one pid file per user, prefix and
 * slave name, logs in a rotating file beside it. `gflow worker` stays the
 * foreground form, for containers and supervisors.
 */
import { Command } from 'commander';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { usageError } from '../../core/errors';
import { SLAVE_NAME } from '../../core/job';
import { parsePositiveNumber, parseWholeNumber } from '../../core/parse';
import { daemonFiles, daemonStatus, READY_MESSAGE, startDaemon, stopDaemon, type DaemonTarget, type StopResult } from '../../worker/daemon';
import { releasePidFile, resolveRunDir } from '../../worker/pidfile';
import { DEFAULT_LOG_KEEP, redirectStream, RotatingLog } from '../../infra/rotating-log';
import { cliContext, lazyImport, print, printJson, printTable, type GlobalOptions } from '../context';

interface SlaveOptions {
  slave: string;
  runDir?: string;
}

interface StartOptions extends SlaveOptions {
  grace: number;
  logSize: number;
  logKeep: number;
}

const DEFAULT_GRACE_SECONDS = 30;
const DEFAULT_LOG_MB = 10;

export function slaveCommand(): Command {
  const slave = new Command('slave')
    .description("run this host's slave in the background: start, stop, restart, status")
    .addHelpText('after', `
Examples:
  $ gflow slave start                        start the slave named after this host
  $ gflow slave start --slave s2             a second slave on this host
  $ gflow slave status
  $ gflow slave restart --slave s2           after deploying new code (gflow top shows each slave's code version)
  $ gflow slave stop --slave s2              in-flight items finish first (up to the grace time)

Pid files and logs live in --run-dir, GFLOW_RUN_DIR, $XDG_RUNTIME_DIR/gflow or
~/.gflow/run: one per user, prefix and slave name, so users and slaves never
clash. In a container, run gflow worker --slave <name> in the foreground instead.`);
  slave.addCommand(withStartOptions(common(new Command('start')))
    .description('start the slave in the background; refused if it runs already')
    .addHelpText('after', `
Examples:
  $ gflow slave start --slave s1
  $ gflow slave start --slave s1 --grace 120 --log-size 50 --log-keep 10`)
    .action(async function (this: Command, options: StartOptions) {
      await start(this, options);
    }));
  slave.addCommand(common(new Command('stop'))
    .description('stop the slave: in-flight items finish within the grace time, then it exits')
    .option('--timeout <seconds>', 'SIGKILL after this long (default: grace time + 15 s)', (value: string) => parsePositiveNumber(value, '--timeout'))
    .addHelpText('after', `
Examples:
  $ gflow slave stop --slave s1
  $ gflow slave stop --slave s1 --timeout 5`)
    .action(async function (this: Command, options: SlaveOptions & { timeout?: number }) {
      await stop(this, options, options.timeout);
    }));
  slave.addCommand(withStartOptions(common(new Command('restart')))
    .description('stop the slave (if running), then start it')
    .addHelpText('after', `
Examples:
  $ gflow slave restart --slave s1`)
    .action(async function (this: Command, options: StartOptions) {
      await stop(this, options);
      await start(this, options);
    }));
  slave.addCommand(new Command('status')
    .description("this user's slave daemons: pid, uptime, alive or stale, log file")
    .option('-s, --slave <name>', 'only this slave')
    .option('--run-dir <dir>', 'where pid files and logs are (default: GFLOW_RUN_DIR, $XDG_RUNTIME_DIR/gflow, ~/.gflow/run)')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow slave status
  $ gflow slave status --slave s1 --json`)
    .action((options: { slave?: string; runDir?: string; json?: boolean }) => status(options)));
  // What `start` launches; not for people (use gflow worker in the foreground).
  slave.addCommand(withStartOptions(common(new Command('run'))).action(async function (this: Command, options: StartOptions) {
    await runDaemon(this, options);
  }), { hidden: true });
  return slave;
}

function common(command: Command): Command {
  return command
    .option('-s, --slave <name>', 'slave name (items pinned to it run here)', hostname().split('.')[0])
    .option('--run-dir <dir>', 'where pid files and logs are (default: GFLOW_RUN_DIR, $XDG_RUNTIME_DIR/gflow, ~/.gflow/run)');
}

function withStartOptions(command: Command): Command {
  return command
    .option('--grace <seconds>', 'on stop, how long in-flight items may take to finish', (value: string) => parsePositiveNumber(value, '--grace'), DEFAULT_GRACE_SECONDS)
    .option('--log-size <MB>', 'rotate the log file at this size', (value: string) => parsePositiveNumber(value, '--log-size'), DEFAULT_LOG_MB)
    .option('--log-keep <n>', 'rotated log files kept', (value: string) => parseWholeNumber(value, '--log-keep', { min: 1 }), DEFAULT_LOG_KEEP);
}

function target(command: Command, options: SlaveOptions): DaemonTarget {
  if (!SLAVE_NAME.test(options.slave)) throw usageError(`slave name ${JSON.stringify(options.slave)} is not valid: letters, digits, . _ - (at most 63)`);
  const { config } = cliContext(command);
  return { runDir: resolve(resolveRunDir(options.runDir, process.env)), prefix: config.prefix, slave: options.slave };
}

async function start(command: Command, options: StartOptions): Promise<void> {
  const { log } = cliContext(command);
  const t = target(command, options);
  const globals = command.optsWithGlobals<GlobalOptions>();
  const globalArgs = [...(globals.config ? ['--config', resolve(globals.config)] : []), ...(globals.verbose ? ['--verbose'] : [])];
  const started = await startDaemon({
    ...t,
    graceSeconds: options.grace,
    globalArgs,
    env: process.env,
    logSize: options.logSize,
    logKeep: options.logKeep,
  });
  if (started.staleRemoved) log.warn(`removed a stale pid file: ${started.staleRemoved}`);
  print(`slave ${t.slave} started: pid ${started.pid}, log ${started.logFile}`);
}

async function stop(command: Command, options: SlaveOptions, timeoutSeconds?: number): Promise<StopResult> {
  const t = target(command, options);
  const result = await stopDaemon(t, timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000);
  const what: Record<StopResult['outcome'], string> = {
    'not running': `slave ${t.slave} is not running`,
    'stale removed': `slave ${t.slave} was not running (pid ${result.pid ?? '?'} gone): removed its stale pid file`,
    stopped: `slave ${t.slave} stopped (pid ${result.pid})`,
    killed: `slave ${t.slave} did not stop in time: killed (pid ${result.pid}); its in-flight items will be retried elsewhere`,
  };
  print(what[result.outcome]);
  return result;
}

function status(options: { slave?: string; runDir?: string; json?: boolean }): void {
  const runDir = resolve(resolveRunDir(options.runDir, process.env));
  const daemons = daemonStatus(runDir).filter((d) => options.slave === undefined || d.slave === options.slave);
  if (options.json) return printJson(daemons);
  if (daemons.length === 0) return print(`no slave daemons in ${runDir}`);
  printTable(
    ['slave', 'prefix', 'pid', 'state', 'uptime', 'log'],
    daemons.map((d) => [d.slave, d.prefix, d.pid ?? '-', d.state, d.uptimeSeconds === undefined ? '-' : uptime(d.uptimeSeconds), d.logFile ?? '-']),
  );
  if (daemons.some((d) => d.state === 'stale')) print('\nstale: the process is gone; gflow slave start or stop cleans its pid file');
}

/** The daemon itself: logs to its rotating file, runs the slave, tells the launcher when it polls. */
async function runDaemon(command: Command, options: StartOptions): Promise<void> {
  const t = target(command, options);
  const files = daemonFiles(t);
  const logFile = new RotatingLog(files.logFile, { maxBytes: options.logSize * 1024 * 1024, keep: options.logKeep });
  redirectStream(process.stdout, logFile);
  redirectStream(process.stderr, logFile);
  const { config, log } = cliContext(command);
  const slaveLog = log.child(`slave.${t.slave}`);
  slaveLog.info(`starting (pid ${process.pid}, grace ${options.grace} s)`);
  try {
    const slave = await lazyImport('worker/slave').createSlave({ config, slave: t.slave, log: slaveLog, shutdownGraceSeconds: options.grace, exitProcessOnAbandon: true });
    // The launcher may have gone (Ctrl-C): a failed send is not this process's problem.
    process.send?.(READY_MESSAGE, undefined, undefined, () => undefined);
    slaveLog.info(`polling ${slave.queues.join(' and ')}`);
    await slave.run();
    slaveLog.info('stopped');
  } finally {
    releasePidFile(files.pidFile, process.pid);
  }
}

function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${seconds % 60}s` : `${seconds}s`;
}

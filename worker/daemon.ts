/**
 * Slave daemons: `gflow slave start` launches the slave as a detached
 * process (`gflow slave run`), claims its pid file first so that two starts
 * cannot both launch one, and returns once the slave polls; `stop` sends
 * SIGTERM so in-flight activities finish within the grace time, then waits,
 * then SIGKILLs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { failure } from '../core/errors';
import {
  claimPidFile,
  ensureRunDir,
  listPidFiles,
  liveness,
  pidFilePath,
  procStat,
  readPidFile,
  releasePidFile,
  removeStalePidFile,
  replacePidFile,
  type Liveness,
  type PidRecord,
} from './pidfile';

const BIN = resolve(__dirname, '../bin/gflow.js');

/** The message a daemon sends its launcher over IPC once its workers poll. */
export const READY_MESSAGE = 'gflow-slave-ready';

export interface DaemonTarget {
  readonly runDir: string;
  readonly prefix: string;
  readonly slave: string;
}

/** Where one daemon keeps its pid file and logs: `<run dir>/<prefix>.<slave>.{pid,log,out}`. */
export function daemonFiles(target: DaemonTarget): { pidFile: string; logFile: string; outFile: string } {
  return {
    pidFile: pidFilePath(target.runDir, target.prefix, target.slave),
    logFile: join(target.runDir, `${target.prefix}.${target.slave}.log`),
    // Raw stdout/stderr: what native code or a crash writes past the rotating log. Truncated at each start.
    outFile: join(target.runDir, `${target.prefix}.${target.slave}.out`),
  };
}

export interface StartDaemonOptions extends DaemonTarget {
  readonly graceSeconds: number;
  /** Rotate the log at this many MiB, keeping `logKeep` old files. */
  readonly logSize: number;
  readonly logKeep: number;
  /** Options the daemon's `gflow` needs before the subcommand (`--config`, `--verbose`). */
  readonly globalArgs: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** How long to wait for the slave to poll. @defaultValue 120 s */
  readonly readyTimeoutMs?: number;
}

export interface Started {
  readonly pid: number;
  readonly logFile: string;
  /** The stale pid file found and removed on the way, if any. */
  readonly staleRemoved?: string;
}

/** Start the daemon; a one-line failure if it runs already or dies before it polls. */
export async function startDaemon(options: StartDaemonOptions): Promise<Started> {
  ensureRunDir(options.runDir);
  const { pidFile, logFile, outFile } = daemonFiles(options);
  const base = { slave: options.slave, prefix: options.prefix, logFile, graceSeconds: options.graceSeconds };
  // The launcher holds the file under its own pid while it launches: a crash here leaves a stale file, never two slaves.
  const staleRemoved = claim(pidFile, { ...base, pid: process.pid, startedAt: new Date().toISOString(), state: 'starting', ...procStart(process.pid) });
  let out: number | undefined;
  let child: ChildProcess;
  try {
    out = openSync(outFile, 'w', 0o600);
    const args = [BIN, ...options.globalArgs, 'slave', 'run', '--slave', options.slave, '--run-dir', options.runDir, '--grace', String(options.graceSeconds),
      '--log-size', String(options.logSize), '--log-keep', String(options.logKeep)];
    child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out, 'ipc'], env: options.env });
  } catch (err) {
    releasePidFile(pidFile, process.pid);
    throw err;
  } finally {
    if (out !== undefined) closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) {
    releasePidFile(pidFile, process.pid);
    throw failure(`could not launch slave ${options.slave} (see ${outFile})`);
  }
  replacePidFile(pidFile, { ...base, pid, startedAt: new Date().toISOString(), state: 'running', ...procStart(pid) });
  const outcome = await waitReady(child, options.readyTimeoutMs ?? 120_000);
  if (outcome !== 'ready') {
    if (outcome === 'timeout') await terminate(pid, undefined, 10_000);
    releasePidFile(pidFile, pid);
    const why = outcome === 'timeout' ? 'did not start polling in time' : `exited at start (${outcome})`;
    throw failure(`slave ${options.slave} ${why}: ${lastLine(logFile) ?? lastLine(outFile) ?? 'no output'} (log: ${logFile})`);
  }
  if (child.connected) child.disconnect();
  child.unref();
  return { pid, logFile, ...(staleRemoved && { staleRemoved }) };
}

export interface StopResult {
  readonly outcome: 'not running' | 'stale removed' | 'stopped' | 'killed';
  readonly pid?: number;
}

/** Stop the daemon: SIGTERM, wait up to `timeoutMs` (default: its grace time + 15 s), then SIGKILL. */
export async function stopDaemon(target: DaemonTarget, timeoutMs?: number): Promise<StopResult> {
  const { pidFile } = daemonFiles(target);
  const found = readPidFile(pidFile);
  if (!found) return { outcome: 'not running' };
  const { record, raw } = found;
  if (record === 'corrupt' || liveness(record) !== 'alive') {
    removeStalePidFile(pidFile, raw);
    return { outcome: 'stale removed', ...(record !== 'corrupt' && { pid: record.pid }) };
  }
  if (record.state === 'starting') throw failure(`slave ${target.slave} is being started (pid ${record.pid}): try again in a moment`);
  const killed = await terminate(record.pid, record.procStart, timeoutMs ?? (record.graceSeconds + 15) * 1000);
  releasePidFile(pidFile, record.pid);
  return { outcome: killed ? 'killed' : 'stopped', pid: record.pid };
}

export interface DaemonStatus {
  readonly slave: string;
  readonly prefix: string;
  readonly pid: number | undefined;
  readonly state: 'alive' | 'starting' | 'stale';
  readonly startedAt: string | undefined;
  readonly uptimeSeconds: number | undefined;
  readonly logFile: string | undefined;
  readonly pidFile: string;
}

/** Every daemon with a pid file in the run dir (this user's), judged alive or stale. */
export function daemonStatus(runDir: string, now: Date = new Date()): DaemonStatus[] {
  return listPidFiles(runDir).flatMap((pidFile): DaemonStatus[] => {
    const found = readPidFile(pidFile);
    if (!found) return [];
    const { record } = found;
    if (record === 'corrupt') {
      const name = pidFile.slice(runDir.length + 1, -'.pid'.length);
      const dot = name.indexOf('.');
      return [{ slave: name.slice(dot + 1), prefix: name.slice(0, dot), pid: undefined, state: 'stale', startedAt: undefined, uptimeSeconds: undefined, logFile: undefined, pidFile }];
    }
    const alive = liveness(record) === 'alive';
    return [{
      slave: record.slave,
      prefix: record.prefix,
      pid: record.pid,
      state: alive ? (record.state === 'starting' ? 'starting' : 'alive') : 'stale',
      startedAt: record.startedAt,
      uptimeSeconds: alive ? Math.max(0, Math.round((now.getTime() - Date.parse(record.startedAt)) / 1000)) : undefined,
      logFile: record.logFile,
      pidFile,
    }];
  });
}

/** Claim the pid file, cleaning a stale one; throws a one-line failure when a live daemon holds it. */
function claim(pidFile: string, record: PidRecord): string | undefined {
  let staleRemoved: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (claimPidFile(pidFile, record)) return staleRemoved;
    const found = readPidFile(pidFile);
    if (!found) continue; // Removed between our two looks: try again.
    const state: Liveness = found.record === 'corrupt' ? 'gone' : liveness(found.record);
    if (state === 'alive' && found.record !== 'corrupt') {
      const r = found.record;
      throw failure(`slave ${r.slave} (prefix ${r.prefix}) is already ${r.state === 'starting' ? 'being started' : 'running'}: pid ${r.pid}, since ${r.startedAt} (${pidFile})`);
    }
    if (removeStalePidFile(pidFile, found.raw)) staleRemoved = pidFile;
  }
  throw failure(`could not claim ${pidFile}: another start is racing this one`);
}

function procStart(pid: number): { procStart?: number } {
  const stat = procStat(pid);
  return stat && Number.isFinite(stat.start) ? { procStart: stat.start } : {};
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<'ready' | 'timeout' | string> {
  return new Promise((resolveOutcome) => {
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const onMessage = (message: unknown) => {
      if (message === READY_MESSAGE) finish('ready');
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => finish(signal ? `killed by ${signal}` : `exit code ${code}`);
    child.on('message', onMessage);
    child.once('exit', onExit);
    function finish(outcome: string): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolveOutcome(outcome);
    }
  });
}

/** SIGTERM, wait for the process to go, SIGKILL after `timeoutMs`. True when it had to be killed. */
async function terminate(pid: number, start: number | undefined, timeoutMs: number): Promise<boolean> {
  const gone = () => liveness({ pid, ...(start !== undefined && { procStart: start }) }) !== 'alive';
  if (!signal(pid, 'SIGTERM')) return false;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone()) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (gone()) return false;
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 50 && !gone(); i++) await new Promise((r) => setTimeout(r, 100));
  return true;
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

function lastLine(file: string): string | undefined {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
    return lines.at(-1);
  } catch {
    return undefined;
  }
}

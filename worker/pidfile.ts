/**
 * Pid files of slave daemons: one per user (the run dir is the user's) and
 * per prefix and slave name, created with O_EXCL so two starts cannot both
 * win, and judged stale when their process is gone or its pid now belongs to
 * something else (the original gflow's "pid files with multi-process and multi-user
 * support").
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What a pid file holds: enough to find, judge and describe the daemon. */
export interface PidRecord {
  readonly pid: number;
  readonly slave: string;
  readonly prefix: string;
  readonly startedAt: string;
  readonly logFile: string;
  /** The worker's shutdown grace time: `stop` waits a little longer than this before SIGKILL. */
  readonly graceSeconds: number;
  /** `starting` while the launcher holds the file (its own pid) before the daemon reports ready. */
  readonly state: 'starting' | 'running';
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is told apart from ours. */
  readonly procStart?: number;
}

/** Whether the process a pid file names is ours and alive. */
export type Liveness = 'alive' | 'gone' | 'reused';

/** The user's run dir: `--run-dir`, else `GFLOW_RUN_DIR`, else `$XDG_RUNTIME_DIR/gflow`, else `~/.gflow/run`. */
export function resolveRunDir(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  if (explicit) return explicit;
  if (env.GFLOW_RUN_DIR) return env.GFLOW_RUN_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'gflow');
  return join(homedir(), '.gflow', 'run');
}

/** Create the run dir readable by its user only: pid files and logs are nobody else's business. */
export function ensureRunDir(runDir: string): void {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
}

export function pidFilePath(runDir: string, prefix: string, slave: string): string {
  return join(runDir, `${prefix}.${slave}.pid`);
}

/** Create the pid file only if none exists (`wx`); false when another holds it. */
export function claimPidFile(path: string, record: PidRecord): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, serialise(record));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Replace the content of a pid file we hold, atomically: readers see the old record or the new, never half. */
export function replacePidFile(path: string, record: PidRecord): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, serialise(record), { mode: 0o600 });
  renameSync(tmp, path);
}

/** The pid file's record (`undefined` if there is none; `corrupt` when unreadable, which counts as stale). */
export function readPidFile(path: string): { raw: string; record: PidRecord | 'corrupt' } | undefined {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<PidRecord>;
    if (typeof parsed.pid !== 'number' || typeof parsed.slave !== 'string' || typeof parsed.prefix !== 'string') return { raw, record: 'corrupt' };
    return { raw, record: parsed as PidRecord };
  } catch {
    return { raw, record: 'corrupt' };
  }
}

/**
 * Remove a stale pid file, unless someone replaced it since we read `raw`:
 * it is moved aside first and checked, so two starts that both found it
 * stale cannot remove each other's fresh file. True when it is gone.
 */
export function removeStalePidFile(path: string, raw: string): boolean {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  if (readFileSync(aside, 'utf8') === raw) {
    unlinkSync(aside);
    return true;
  }
  // We moved a fresh file of another start: put it back (link fails if yet another start took the name).
  try {
    linkSync(aside, path);
  } catch {
    // The name is taken again: whoever holds it now is the one running.
  }
  unlinkSync(aside);
  return false;
}

/** Remove the pid file if it still names `pid` (a newer daemon's file is left alone). */
export function releasePidFile(path: string, pid: number): void {
  const current = readPidFile(path);
  if (current && current.record !== 'corrupt' && current.record.pid === pid) removeStalePidFile(path, current.raw);
}

/** The pid files in a run dir, by name. */
export function listPidFiles(runDir: string): string[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((name) => name.endsWith('.pid'))
    .sort()
    .map((name) => join(runDir, name));
}

/**
 * Whether `record`'s process still runs and is a gflow process: a dead pid,
 * a zombie, a pid now held by another program (its command line) or by a
 * later process (its start time) all mean the file is stale.
 */
export function liveness(record: Pick<PidRecord, 'pid' | 'procStart'>): Liveness {
  try {
    process.kill(record.pid, 0);
  } catch (err) {
    // EPERM: the pid exists but belongs to another user, so it is not our daemon.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'reused' : 'gone';
  }
  const stat = procStat(record.pid);
  if (stat === undefined) return 'alive'; // No /proc (not Linux): the signal check is all we have.
  if (stat.state === 'Z' || stat.state === 'X') return 'gone';
  if (record.procStart !== undefined && stat.start !== record.procStart) return 'reused';
  const cmdline = readProc(record.pid, 'cmdline');
  if (cmdline !== undefined && !cmdline.split('\0').some((arg) => /gflow/.test(arg))) return 'reused';
  return 'alive';
}

/** A process's state letter and start time (clock ticks after boot), from /proc; undefined off Linux. */
export function procStat(pid: number): { state: string; start: number } | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', start: Number(fields[19]) };
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

function serialise(record: PidRecord): string {
  return JSON.stringify(record, null, 2) + '\n';
}

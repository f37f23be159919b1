/**
 * The pieces of a slave daemon that need no Temporal: pid files claimed
 * once, stale ones told apart from live ones, run dirs per user, and a log
 * that rotates at its size and keeps its count.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { claimPidFile, liveness, pidFilePath, readPidFile, releasePidFile, removeStalePidFile, resolveRunDir, type PidRecord } from '../../worker/pidfile';
import { RotatingLog } from '../../infra/rotating-log';

const scratch = mkdtempSync(join(tmpdir(), 'gflow-daemon-unit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const record = (pid: number, extra: Partial<PidRecord> = {}): PidRecord => ({
  pid,
  slave: 's1',
  prefix: 'gflow',
  startedAt: new Date().toISOString(),
  logFile: '/dev/null',
  graceSeconds: 30,
  state: 'running',
  ...extra,
});

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('pid files', () => {
  test('the first claim wins, the second does not', () => {
    const path = pidFilePath(scratch, 'gflow', 'claim');
    assert.equal(claimPidFile(path, record(process.pid)), true);
    assert.equal(claimPidFile(path, record(process.pid + 1)), false);
    const found = readPidFile(path);
    assert.ok(found && found.record !== 'corrupt');
    assert.equal(found.record.pid, process.pid);
  });

  test('file names keep prefixes and slaves apart', () => {
    assert.notEqual(pidFilePath(scratch, 'a', 's1'), pidFilePath(scratch, 'b', 's1'));
    assert.notEqual(pidFilePath(scratch, 'a', 's1'), pidFilePath(scratch, 'a', 's2'));
  });

  test('a live gflow process is alive; a dead pid is gone; a pid held by another program is reused', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      assert.equal(liveness({ pid: sleeper.pid! }), 'reused');
      assert.equal(liveness({ pid: await deadPid() }), 'gone');
      const gflowLike = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'gflow']);
      try {
        assert.equal(liveness({ pid: gflowLike.pid! }), 'alive');
        assert.equal(liveness({ pid: gflowLike.pid!, procStart: 1 }), 'reused', 'a start time that does not match is another process');
      } finally {
        gflowLike.kill();
      }
    } finally {
      sleeper.kill();
    }
  });

  test('a stale file is removed, but not a file someone replaced meanwhile', () => {
    const path = pidFilePath(scratch, 'gflow', 'stale');
    writeFileSync(path, JSON.stringify(record(1)));
    const stale = readPidFile(path)!;
    writeFileSync(path, JSON.stringify(record(2)));
    assert.equal(removeStalePidFile(path, stale.raw), false);
    assert.ok(existsSync(path), 'the fresh file stays');
    assert.equal((readPidFile(path)!.record as PidRecord).pid, 2);
    assert.equal(removeStalePidFile(path, readPidFile(path)!.raw), true);
    assert.equal(existsSync(path), false);
    assert.deepEqual(readdirSync(scratch).filter((f) => f.includes('stale.pid.')), [], 'nothing left aside');
  });

  test("release removes only the daemon's own file", () => {
    const path = pidFilePath(scratch, 'gflow', 'release');
    claimPidFile(path, record(4242));
    releasePidFile(path, 4343);
    assert.ok(existsSync(path));
    releasePidFile(path, 4242);
    assert.equal(existsSync(path), false);
  });

  test('an unreadable file reads as corrupt (and so counts as stale)', () => {
    const path = pidFilePath(scratch, 'gflow', 'corrupt');
    writeFileSync(path, 'not json');
    assert.equal(readPidFile(path)?.record, 'corrupt');
  });
});

describe('resolveRunDir', () => {
  test('flag, then GFLOW_RUN_DIR, then XDG_RUNTIME_DIR, then the home folder', () => {
    assert.equal(resolveRunDir('/x', { GFLOW_RUN_DIR: '/y' }), '/x');
    assert.equal(resolveRunDir(undefined, { GFLOW_RUN_DIR: '/y', XDG_RUNTIME_DIR: '/run/user/1000' }), '/y');
    assert.equal(resolveRunDir(undefined, { XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/gflow');
    assert.equal(resolveRunDir(undefined, {}), join(homedir(), '.gflow', 'run'));
  });
});

describe('RotatingLog', () => {
  test('rotates at its size and keeps its count of old files', () => {
    const dir = mkdtempSync(join(scratch, 'log-'));
    const path = join(dir, 'gflow.s1.log');
    const log = new RotatingLog(path, { maxBytes: 100, keep: 2 });
    const line = (i: number) => `line ${String(i).padStart(3, '0')} ${'x'.repeat(30)}\n`; // 40 bytes
    for (let i = 0; i < 20; i++) log.write(line(i));
    log.close();
    assert.deepEqual(readdirSync(dir).sort(), ['gflow.s1.log', 'gflow.s1.log.1', 'gflow.s1.log.2']);
    for (const f of readdirSync(dir)) assert.ok(statSync(join(dir, f)).size <= 100, `${f} is over the limit`);
    // The newest lines are in the current file, the ones before in .1, .2.
    assert.equal(readFileSync(path, 'utf8'), line(18) + line(19));
    assert.equal(readFileSync(`${path}.1`, 'utf8'), line(16) + line(17));
    assert.equal(readFileSync(`${path}.2`, 'utf8'), line(14) + line(15));
  });

  test('appends to an existing file and counts its size', () => {
    const dir = mkdtempSync(join(scratch, 'log-'));
    const path = join(dir, 'a.log');
    writeFileSync(path, 'x'.repeat(90));
    const log = new RotatingLog(path, { maxBytes: 100, keep: 1 });
    log.write('y'.repeat(20));
    log.close();
    assert.equal(readFileSync(`${path}.1`, 'utf8'), 'x'.repeat(90));
    assert.equal(readFileSync(path, 'utf8'), 'y'.repeat(20));
  });
});

/**
 * Slave daemons as real processes, driven by the CLI: pid files per user
 * (two run dirs stand for two users) and per slave name, stale files
 * cleaned, a second start refused, `gflow top` showing each slave's code
 * version, and a stop that lets the in-flight item finish before exiting.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunSummary } from '../../activities/types';
import { Names } from '../../core/names';
import { computeBuildId } from '../../worker/build-id';
import type { Config } from '../../infra/config';
import { JobControl } from '../../client/control';
import { daemonStatus, type DaemonStatus } from '../../worker/daemon';
import { loadJobs } from '../../infra/jobs';
import { liveness, pidFilePath } from '../../worker/pidfile';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import type { LiveSlave } from '../../client/status';
import { gflow, type CliResult } from '../helpers/cli';
import { dropAll, prepareMysql } from '../helpers/reports';
import { cliEnv, startTemporal, testConfig } from '../helpers/temporal';

const scratch = mkdtempSync(join(tmpdir(), 'gflow-daemon-'));
/** Two users on one host: each has their own run dir. */
const alice = join(scratch, 'alice-run');
const bob = join(scratch, 'bob-run');
const jobsDir = join(scratch, 'jobs');

let env: TestWorkflowEnvironment;
let config: Config;
let names: Names;
let cli: (args: string[]) => Promise<CliResult>;
const strays: number[] = [];

/** A job whose one item is pinned to slave d2 and takes a few seconds, recording its start and end in Redis. */
function writeJobs(): void {
  mkdirSync(jobsDir, { recursive: true });
  writeFileSync(join(jobsDir, 'daemon.ts'), `
import { defineJob, defineTask } from ${JSON.stringify(resolve(__dirname, '../../core/job'))};

const linger = defineTask({
  name: 'linger',
  breakExecute: true,
  maxAttempts: 1,
  mapTask: () => 'd2',
  async execute(_item, ctx) {
    await ctx.redis.incr(ctx.names.redisKey('test', 'linger', 'started'));
    // Deaf to cancellation on purpose: a draining worker must let it finish.
    await new Promise((r) => setTimeout(r, 3000));
    await ctx.redis.incr(ctx.names.redisKey('test', 'linger', 'finished'));
    return 'done';
  },
});

export default defineJob({ name: 'daemon', registerTask: [linger] });
`);
}

before(async () => {
  writeJobs();
  env = await startTemporal();
  config = testConfig({ temporalAddress: env.address, jobsDir });
  names = new Names(config.prefix);
  await prepareMysql(getMysql(config.mysqlUrl), names, []);
  cli = (args) => gflow(args, cliEnv(config));
});

after(async () => {
  // Whatever a failed assertion left running is ours to stop.
  for (const d of [...daemonStatus(alice), ...daemonStatus(bob)]) if (d.state !== 'stale' && d.pid) strays.push(d.pid);
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), names);
  await closeRedis();
  await closeMysql();
  await env?.teardown();
  rmSync(scratch, { recursive: true, force: true });
});

const ok = (r: CliResult, what: string) => assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}${r.stderr}`);
const statusOf = async (runDir: string): Promise<DaemonStatus[]> => {
  const r = await cli(['slave', 'status', '--run-dir', runDir, '--json']);
  ok(r, 'status');
  return JSON.parse(r.stdout) as DaemonStatus[];
};

async function waitForKey(key: string, value: string, timeoutMs = 30_000): Promise<void> {
  const redis = getRedis(config.redisUrl);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await redis.get(key)) === value) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${key} did not become ${value} within ${timeoutMs} ms`);
}

test('slave daemons: pid files per user and name, stale files, refusal, versions, a draining stop', async () => {
  // Stale pid files: alice's names a pid now held by another program, bob's a process long gone.
  mkdirSync(alice, { recursive: true });
  mkdirSync(bob, { recursive: true });
  const other = spawn('sleep', ['120']);
  strays.push(other.pid!);
  const stale = (pid: number) => JSON.stringify({ pid, slave: 'd1', prefix: config.prefix, startedAt: new Date(0).toISOString(), logFile: '/dev/null', graceSeconds: 30, state: 'running' });
  writeFileSync(pidFilePath(alice, config.prefix, 'd1'), stale(other.pid!));
  writeFileSync(pidFilePath(bob, config.prefix, 'd1'), stale(2 ** 22 + 1));
  assert.deepEqual(daemonStatus(alice).map((d) => [d.slave, d.state]), [['d1', 'stale']]);

  // Two slave names for alice, and bob's slave of the same name as alice's: no clash.
  const starts = await Promise.all([
    cli(['slave', 'start', '--slave', 'd1', '--run-dir', alice, '--grace', '20']),
    cli(['slave', 'start', '--slave', 'd2', '--run-dir', alice, '--grace', '20']),
    cli(['slave', 'start', '--slave', 'd1', '--run-dir', bob, '--grace', '20']),
  ]);
  starts.forEach((r, i) => ok(r, `start ${i}`));
  assert.match(starts[0]!.stderr, /removed a stale pid file/);
  assert.match(starts[2]!.stderr, /removed a stale pid file/);

  const aliceDaemons = await statusOf(alice);
  const bobDaemons = await statusOf(bob);
  assert.deepEqual(aliceDaemons.map((d) => [d.slave, d.state]), [['d1', 'alive'], ['d2', 'alive']]);
  assert.deepEqual(bobDaemons.map((d) => [d.slave, d.state]), [['d1', 'alive']]);
  const pids = [...aliceDaemons, ...bobDaemons].map((d) => d.pid!);
  assert.equal(new Set(pids).size, 3, 'three processes');
  assert.match(readFileSync(aliceDaemons[0]!.logFile!, 'utf8'), /polling .*\.shared and .*\.slave\.d1/);

  // A second start of a running slave is refused, in one line.
  const again = await cli(['slave', 'start', '--slave', 'd1', '--run-dir', alice]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
  assert.match(again.stderr, /slave d1 .* is already running: pid \d+/);

  // gflow top: every live slave, with the code version it runs, which is this checkout's.
  const top = await cli(['top', '--json']);
  ok(top, 'top');
  const { slaves, buildId } = JSON.parse(top.stdout) as { slaves: LiveSlave[]; buildId: string };
  assert.equal(buildId, computeBuildId(jobsDir));
  assert.deepEqual(slaves.map((s) => s.pid).sort(), [...pids].sort());
  for (const s of slaves) {
    assert.equal(s.buildId, buildId, s.identity);
    assert.equal(s.versionWarning, undefined);
    assert.ok(s.queues.includes(names.slaveQueue(s.slave)), s.identity);
  }

  // A draining stop: the item pinned to d2 is in flight; stop returns only after it finished.
  const [action] = await new JobControl(env.client, config).start('daemon', loadJobs(jobsDir).tasks('daemon', ['linger']));
  await waitForKey(names.redisKey('test', 'linger', 'started'), '1');
  const d2 = aliceDaemons[1]!;
  const stopped = await cli(['slave', 'stop', '--slave', 'd2', '--run-dir', alice]);
  ok(stopped, 'stop d2');
  assert.match(stopped.stdout, /slave d2 stopped/);
  assert.equal(await getRedis(config.redisUrl).get(names.redisKey('test', 'linger', 'finished')), '1', 'the in-flight item finished before the slave exited');
  assert.notEqual(liveness({ pid: d2.pid! }), 'alive');
  assert.equal(existsSync(d2.pidFile), false);
  const summary = (await env.client.workflow.getHandle(action!.id).result()) as RunSummary;
  assert.equal(summary.ok, 1, JSON.stringify(summary.failed));
  assert.equal(await getRedis(config.redisUrl).get(names.redisKey('test', 'linger', 'started')), '1', 'ran once: its result was not lost');

  // Restart gives bob's slave a new process; stop ends it, and a second stop finds nothing to do.
  const restarted = await cli(['slave', 'restart', '--slave', 'd1', '--run-dir', bob]);
  ok(restarted, 'restart');
  const [bobAfter] = daemonStatus(bob);
  assert.equal(bobAfter!.state, 'alive');
  assert.notEqual(bobAfter!.pid, bobDaemons[0]!.pid);
  assert.notEqual(liveness({ pid: bobDaemons[0]!.pid! }), 'alive');
  ok(await cli(['slave', 'stop', '--slave', 'd1', '--run-dir', bob]), 'stop bob d1');
  ok(await cli(['slave', 'stop', '--slave', 'd1', '--run-dir', alice]), 'stop alice d1');
  const none = await cli(['slave', 'stop', '--slave', 'd1', '--run-dir', alice]);
  ok(none, 'second stop');
  assert.match(none.stdout, /not running/);
  assert.deepEqual(daemonStatus(alice), []);
  assert.deepEqual(daemonStatus(bob), []);
  assert.equal(other.exitCode, null, 'the stale file cleanup left the other program alone');
  other.kill();
});

/**
 * Fail fast, name the culprit, against real Redis, MySQL, Temporal and slave
 * processes: a game whose own Redis or MySQL is down fails its item within
 * seconds per attempt, naming the server's URL (without password); ingest
 * sets such a game's events aside and says so; a killed slave's item is
 * picked up by another; a slave told to stop while its Temporal is gone
 * exits within its grace time; the CLI exits right after reporting a dead
 * service. Times are checked only against generous bounds: each one is
 * several times what the behaviour needs, and a fraction of what it took
 * before (minutes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunSummary } from '../../activities/types';
import { JobControl } from '../../client/control';
import type { Config } from '../../infra/config';
import { loadJobs } from '../../infra/jobs';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import { ingestFiles } from '../../store/activity/ingest';
import { ActivityStore } from '../../store/activity/store';
import { addGame, validateGame } from '../../store/games/registry';
import { gflow } from '../helpers/cli';
import { freePort, spawnSlave, waitForSlaves } from '../helpers/processes';
import { withSlaves } from '../helpers/slaves';
import { startStack, stopStack, type TestStack } from '../helpers/stack';
import { cliEnv, startTemporal } from '../helpers/temporal';

const BIN = resolve(__dirname, '../../bin/gflow.js');
const DAY = '20261124';
const TS = '2026-11-24T10:00:00Z';
/** `gflow worker`'s grace time (it has no option for it). */
const WORKER_GRACE_SECONDS = 30;

let stack: TestStack | undefined;
let config: Config;
let dir: string;
/** Ports nothing listens on, with a password that must never show. */
let deadRedis: { url: string; shown: RegExp };
let deadMysql: { url: string; shown: RegExp };

before(async () => {
  stack = await startStack();
  config = stack.config;
  dir = await mkdtemp(join(tmpdir(), 'gflow-failfast-'));
  const [redisPort, mysqlPort] = [await freePort(), await freePort()];
  deadRedis = { url: `redis://:secret@127.0.0.1:${redisPort}`, shown: new RegExp(`Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redisPort}/? is unreachable: connect ECONNREFUSED`) };
  deadMysql = { url: `mysql://root:secret@127.0.0.1:${mysqlPort}`, shown: new RegExp(`MySQL at mysql://root:\\*\\*\\*@127\\.0\\.0\\.1:${mysqlPort}/? is unreachable: connect ECONNREFUSED`) };
  const mysql = getMysql(config.mysqlUrl);
  await addGame(mysql, stack.names, validateGame({ id: 71, redisUrl: deadRedis.url }));
  await addGame(mysql, stack.names, validateGame({ id: 72, mysqlUrl: deadMysql.url }));
  await addGame(mysql, stack.names, validateGame({ id: 73 }));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await stopStack(stack);
});

const registry = () => loadJobs(config.jobsDir);
const key = (...parts: string[]) => stack!.names.redisKey('failfast', ...parts);

async function startOnce(env: TestWorkflowEnvironment, cfg: Config, task: string): Promise<string> {
  const [action] = await new JobControl(env.client, cfg).start('failfast', registry().tasks('failfast', [task]));
  assert.equal(action!.action, 'started once');
  return action!.id;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

describe("a game's dead Redis or MySQL", () => {
  // The errors' own reason (ECONNREFUSED, not a command time-out) shows the fast path was taken; the
  // time-out only stops a hang: two attempts each (maxAttempts 2) once took 42 s apiece.
  test('fails only its item, within seconds per attempt, and the error names the URL without password', { timeout: 60_000 }, async (t) => {
    const started = Date.now();
    const summary = await withSlaves(config, ['f1'], async () => {
      const id = await startOnce(stack!.env, config, 'reach');
      return (await stack!.env.client.workflow.getHandle(id).result()) as RunSummary;
    });
    const elapsed = Date.now() - started;
    t.diagnostic(`run of 3 items, 2 failing twice each: ${elapsed} ms`);
    assert.equal(summary.items, 3);
    assert.equal(summary.ok, 1, JSON.stringify(summary.failed));
    const byGame = new Map(summary.failed.map((f) => [f.game, f.error]));
    assert.deepEqual([...byGame.keys()].sort(), [71, 72]);
    assert.match(byGame.get(71)!, deadRedis.shown);
    assert.match(byGame.get(72)!, deadMysql.shown);
    for (const error of byGame.values()) assert.doesNotMatch(error, /secret/);
    assert.equal(await getRedis(config.redisUrl).get(key('reach', '73')), '1', 'the healthy game ran');
  });
});

describe('gflow ingest', () => {
  // A hang guard, not a measure: each batch once waited on the dead Redis again (42 s each, minutes in all).
  test("sets aside a dead-Redis game's events, stores the others, reports the game and URL, and exits 1", { timeout: 60_000 }, async (t) => {
    const lines: string[] = [];
    for (let i = 0; i < 12; i++) {
      lines.push(JSON.stringify({ game: 71, user: `d${i}`, type: 'login', ts: TS }));
      lines.push(JSON.stringify({ game: 73, user: `l${i}`, type: 'login', ts: TS }));
    }
    const path = join(dir, 'mixed.jsonl');
    await writeFile(path, lines.join('\n') + '\n');
    const started = Date.now();
    // Small batches: before, each batch waited on the dead Redis again (42 s each, minutes in all).
    const result = await gflow(['ingest', path, '--batch-size', '4'], cliEnv(config));
    const elapsed = Date.now() - started;
    t.diagnostic(`gflow ingest: ${elapsed} ms`);
    assert.equal(result.code, 1, result.stderr);
    const reported = result.stdout.split('\n').filter((l) => l.startsWith('game '));
    assert.equal(reported.length, 1, result.stdout);
    assert.match(reported[0]!, /^game 71: 12 events set aside/);
    assert.match(reported[0]!, deadRedis.shown);
    assert.doesNotMatch(result.stdout + result.stderr, /secret/);
    assert.match(result.stderr, /12 events of game 71 set aside/);
    assert.equal(await new ActivityStore(getRedis(config.redisUrl), stack!.names).count(73, 'active', DAY), 12, "the live game's events are stored");
  });

  test('skips a UTF-8 byte order mark at the start of a file', async () => {
    const path = join(dir, 'bom.jsonl');
    await writeFile(path, '\uFEFF' + [JSON.stringify({ game: 73, user: 'bom-1', type: 'register', ts: TS }), JSON.stringify({ game: 73, user: 'bom-2', type: 'login', ts: TS })].join('\r\n') + '\r\n');
    const report = await ingestFiles([path], { names: stack!.names, redisFor: () => getRedis(config.redisUrl), zoneFor: () => 'UTC' });
    assert.deepEqual({ accepted: report.accepted, rejected: report.rejected, rejections: report.rejections }, { accepted: 2, rejected: 0, rejections: [] });
    assert.equal(await new ActivityStore(getRedis(config.redisUrl), stack!.names).count(73, 'new', DAY), 1, 'the first event, after the mark, counts');
  });
});

describe('the CLI and a dead service', () => {
  test('reports a dead default Redis or MySQL in one line naming the URL, and exits right after', { timeout: 60_000 }, async (t) => {
    const path = join(dir, 'one.jsonl');
    await writeFile(path, JSON.stringify({ game: 73, user: 'x', type: 'login', ts: TS }) + '\n');
    for (const [args, env, shown] of [
      [['ingest', path], { ...cliEnv(config), GFLOW_REDIS_URL: deadRedis.url }, deadRedis.shown],
      [['games', 'list'], { ...cliEnv(config), GFLOW_MYSQL_URL: deadMysql.url }, deadMysql.shown],
    ] as const) {
      const started = Date.now();
      const result = await gflow(args, env);
      const elapsed = Date.now() - started;
      t.diagnostic(`gflow ${args.join(' ')}: ${elapsed} ms`);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr.split('\n')[0]!, shown);
      assert.doesNotMatch(result.stderr, /secret/);
    }
  });
});

describe('slaves that go away', () => {
  // The heartbeat timeout is a minute, the item's own time limit far longer: finishing within the
  // test's time-out shows the heartbeats' silence, not the time limit, handed the item on.
  test("a SIGKILLed slave's item is run by another slave once its heartbeats stop", { timeout: 180_000 }, async (t) => {
    const killed = spawnSlave(config, 'fk1');
    await waitForSlaves(stack!.env.client, config, ['fk1'], 60_000);
    const id = await startOnce(stack!.env, config, 'long');
    const redis = getRedis(config.redisUrl);
    await waitFor('the first attempt', async () => ((await redis.llen(key('long'))) > 0 ? true : undefined), 60_000);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const killedAt = Date.now();

    const summary = await withSlaves(config, ['fk2'], () => stack!.env.client.workflow.getHandle(id).result() as Promise<RunSummary>);
    const done = Date.now() - killedAt;
    assert.equal(summary.ok, 1, JSON.stringify(summary.failed));
    const attempts = (await redis.lrange(key('long'), 0, -1)).map((a) => JSON.parse(a) as { attempt: number; at: number });
    assert.deepEqual(attempts.map((a) => a.attempt), [1, 2]);
    const pickedUp = attempts[1]!.at - killedAt;
    t.diagnostic(`picked up ${pickedUp} ms after the kill, run done ${done} ms after it`);
  });

  test('a slave told to stop while its Temporal is unreachable exits by itself after its grace time, abandoning the item, not waiting for it', async (t) => {
    // A server of its own, to take away.
    const env = await startTemporal();
    const cfg = { ...config, temporalAddress: env.address };
    const child = spawn(process.execPath, [BIN, 'worker', '--slave', 'ft1'], { env: cliEnv(cfg), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitForSlaves(env.client, cfg, ['ft1'], 60_000);
      await startOnce(env, cfg, 'stubborn');
      await waitFor('the stubborn item', async () => (await getRedis(config.redisUrl).exists(key('stubborn'))) || undefined, 60_000);
    } finally {
      await env.teardown();
    }
    const told = Date.now();
    child.kill('SIGTERM');
    // The item ignores cancellation and runs two minutes: a slave that waited for it (as it once did, and then for
    // Temporal) is killed here first, and has no exit code of its own; one that gave up after its grace time exits 1.
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await exited;
    clearTimeout(timer);
    t.diagnostic(`exited ${Date.now() - told} ms after SIGTERM (grace ${WORKER_GRACE_SECONDS} s)`);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /slave ft1: items still running .* were abandoned/);
  });
});

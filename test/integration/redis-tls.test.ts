/**
 * gflow on Redis over TLS: a 3-master Redis Cluster that speaks TLS only
 * (`rediss+cluster://`, cluster bus over TLS too) and a single TLS Redis
 * (`rediss://`), both with certificates from a CA made for this file.
 *
 * The CLI runs as a user would, trusting the CA the way Node does
 * (`NODE_EXTRA_CA_CERTS`, read once at start: so these spawn `gflow`):
 * events ingested into each land in the game's keys; `gflow config`
 * writes and reads; and a server whose certificate the process does not
 * trust is one line naming the URL (password hidden) and the certificate
 * problem, exit 1, nothing written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Names } from '../../core/names';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis } from '../../infra/redis';
import { assertOneLine, gflow, type CliResult } from '../helpers/cli';
import { MYSQL_URL, testPrefix } from '../helpers/data';
import { makeTestCertificates, startRedisCluster, startRedisServer, tlsCliArgs, type RedisCluster, type TestCertificates } from '../helpers/redis-cluster';
import { prepareMysql } from '../helpers/reports';
import { LAYERS } from '../../store/schema/migrations';

const run = promisify(execFile);
const names = new Names(testPrefix());
const DAY_TS = Date.UTC(2026, 10, 24, 12) / 1000;

let dir: string;
let certs: TestCertificates;
let cluster: RedisCluster;
let single: Awaited<ReturnType<typeof startRedisServer>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gflow-tls-'));
  certs = await makeTestCertificates(dir);
  [cluster, single] = await Promise.all([startRedisCluster({ password: 'tls s3cret', tls: certs }), startRedisServer({ tls: certs })]);
  await prepareMysql(getMysql(MYSQL_URL), names, [1, 2]);
});

after(async () => {
  try {
    for (const layer of LAYERS) await getMysql(MYSQL_URL).query(`DROP DATABASE IF EXISTS \`${names.schema(layer)}\``);
  } finally {
    await Promise.all([closeRedis(), closeMysql()]);
    await Promise.all([cluster?.stop(), single?.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
});

/** The CLI against `redisUrl`, trusting the test CA unless told not to. */
function cli(args: readonly string[], redisUrl: string, trusted = true): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, GFLOW_PREFIX: names.prefix, GFLOW_REDIS_URL: redisUrl, GFLOW_MYSQL_URL: MYSQL_URL, GFLOW_CONFIG: '', GFLOW_TZ: 'UTC' };
  if (trusted) env.NODE_EXTRA_CA_CERTS = certs.ca;
  else delete env.NODE_EXTRA_CA_CERTS;
  return gflow(args, env);
}

/** redis-cli over TLS against one node (`-c`: follows the cluster's redirections). */
async function redisCli(port: number, password: string | undefined, ...args: string[]): Promise<string> {
  const auth = password === undefined ? [] : ['-a', password, '--no-auth-warning'];
  return (await run('redis-cli', ['-c', '-h', '127.0.0.1', '-p', String(port), ...auth, ...tlsCliArgs(certs), ...args], { timeout: 10_000 })).stdout.trim();
}

async function eventsFile(name: string): Promise<string> {
  const lines = [1, 2].flatMap((game) => Array.from({ length: 5 }, (_, i) => JSON.stringify({ game, user: `u${game}-${i}`, type: 'login', ts: DAY_TS + i })));
  const path = join(dir, name);
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

const servers = () =>
  [
    { what: 'a Redis Cluster over TLS (rediss+cluster://)', url: cluster.url, port: cluster.ports[0]!, password: cluster.password },
    { what: 'a single Redis over TLS (rediss://)', url: single.url, port: single.port, password: undefined },
  ] as const;

describe('Redis over TLS', () => {
  test('gflow ingest writes each game\'s day users, and gflow config sets and gets, over TLS', async () => {
    for (const s of servers()) {
      const ingested = await cli(['ingest', await eventsFile(`events-${s.port}.jsonl`)], s.url);
      assert.equal(ingested.code, 0, `${s.what}: ${ingested.stderr}`);
      for (const game of [1, 2]) {
        assert.equal(await redisCli(s.port, s.password, 'SCARD', names.gameKey('act', game, '20261124', 'active')), '5', `${s.what}, game ${game}`);
      }
      assert.equal((await cli(['config', 'set', 'activity.bucketMinutes', '10'], s.url)).code, 0, s.what);
      const got = await cli(['config', 'get', 'activity.bucketMinutes'], s.url);
      assert.equal(got.code, 0, `${s.what}: ${got.stderr}`);
      assert.match(got.stdout, /\b10\b/, s.what);
      assert.equal(await redisCli(s.port, s.password, 'HGET', names.redisKey('config'), 'activity.bucketMinutes'), '10', s.what);
    }
  });

  test('a certificate the process does not trust: one line naming the URL, password hidden, and why; exit 1; nothing written', async (t) => {
    for (const s of servers()) {
      const stored = () => redisCli(s.port, s.password, 'HGET', names.redisKey('config'), 'activity.bucketMinutes');
      await redisCli(s.port, s.password, 'HSET', names.redisKey('config'), 'activity.bucketMinutes', '10');
      const result = await cli(['config', 'set', 'activity.bucketMinutes', '15'], s.url, false);
      t.diagnostic(result.stderr.trim());
      assertOneLine(result, 1, /^gflow: Redis at rediss(\+cluster)?:\/\/.*127\.0\.0\.1:\d+.* is unreachable: .*certificate.*NODE_EXTRA_CA_CERTS=/);
      assert.doesNotMatch(result.stderr, /s3cret/);
      assert.equal(await stored(), '10', `${s.what}: nothing written`);
    }
  });

  test('a rediss+cluster:// URL is checked like any other: one line, exit 2', async () => {
    const result = await cli(['config', 'get', 'activity.threshold'], 'rediss+cluster://127.0.0.1:7000/2');
    assertOneLine(result, 2, /^gflow: .*GFLOW_REDIS_URL.*the path "\/2" is not allowed: a Redis Cluster has only database 0/);
  });
});

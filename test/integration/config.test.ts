/**
 * `gflow config` run as a process against the real Redis: one command for
 * every setting, wherever it lives; bad input refused in one line with exit 2;
 * a dead Redis reported in one line, and the process gone right after.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Names } from '../../core/names';
import { FILE_SETTINGS, RUNTIME_SETTINGS } from '../../infra/config';
import { closeRedis, getRedis } from '../../infra/redis';
import { configHashKey } from '../../store/config/runtime-config';
import { assertOneLine, gflow, type CliResult } from '../helpers/cli';
import { uniquePrefix } from '../helpers/temporal';

const BIN = resolve(__dirname, '../../bin/gflow.js');
const REDIS_URL = process.env.GFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379';


let prefix: string;
let dir: string;
let file: string;
let env: NodeJS.ProcessEnv;

before(() => {
  prefix = uniquePrefix();
  dir = mkdtempSync(join(tmpdir(), 'gflow-config-'));
  file = join(dir, 'gflow.config.json');
  env = { ...process.env, GFLOW_PREFIX: prefix, GFLOW_REDIS_URL: REDIS_URL, GFLOW_CONFIG: file, GFLOW_TZ: '' };
  delete env.GFLOW_JOBS;
  delete env.TEMPORAL_ADDRESS;
});

after(async () => {
  await getRedis(REDIS_URL).del(configHashKey(new Names(prefix)));
  await closeRedis();
  rmSync(dir, { recursive: true, force: true });
});

describe('gflow config get', () => {
  test('lists every setting of the catalogue with its value and source', async () => {
    writeFileSync(file, JSON.stringify({ tz: 'Europe/Berlin', concurrency: 7, mysqlUrl: 'mysql://app:secret@127.0.0.1:3306' }));
    assert.equal((await gflow(['config', 'set', 'activity.threshold', '500'], env)).code, 0);
    assert.equal((await gflow(['config', 'set', 'report.note', 'hello'], env)).code, 0);

    const result = await gflow(['config', 'get', '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    const entries = JSON.parse(result.stdout) as Array<{ key: string; value: string | null; source: string; home: string }>;
    const byKey = new Map(entries.map((e) => [e.key, e]));
    for (const s of [...FILE_SETTINGS, ...RUNTIME_SETTINGS]) assert.ok(byKey.has(s.key), `${s.key} listed`);
    assert.deepEqual(byKey.get('prefix'), { key: 'prefix', home: 'file', value: prefix, source: 'environment GFLOW_PREFIX' });
    assert.deepEqual(byKey.get('tz'), { key: 'tz', home: 'file', value: 'Europe/Berlin', source: file });
    assert.deepEqual(byKey.get('concurrency'), { key: 'concurrency', home: 'file', value: '7', source: file });
    assert.deepEqual(byKey.get('jobs'), { key: 'jobs', home: 'file', value: 'jobs', source: 'default' });
    assert.deepEqual(byKey.get('temporal.address'), { key: 'temporal.address', home: 'file', value: null, source: 'default' });
    assert.equal(byKey.get('mysqlUrl')?.value, 'mysql://app:***@127.0.0.1:3306', 'passwords are not shown');
    assert.deepEqual(byKey.get('activity.threshold'), { key: 'activity.threshold', home: 'runtime', value: '500', source: 'redis' });
    assert.deepEqual(byKey.get('activity.ttlDays'), { key: 'activity.ttlDays', home: 'runtime', value: '400', source: 'default' });
    assert.deepEqual(byKey.get('report.note'), { key: 'report.note', home: 'runtime', value: 'hello', source: 'redis' });

    const table = await gflow(['config', 'get'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^key\s+value\s+source$/m);
    assert.match(table.stdout, /^tz\s+Europe\/Berlin\s+\S+gflow\.config\.json$/m);
    assert.match(table.stdout, /^activity\.threshold\s+500\s+redis$/m);
  });

  test('one setting, file or runtime', async () => {
    writeFileSync(file, JSON.stringify({ tz: 'Asia/Tokyo' }));
    assert.deepEqual(await gflow(['config', 'get', 'tz'], env), { code: 0, stdout: 'Asia/Tokyo\n', stderr: '' });
    const fromEnv = await gflow(['config', 'get', 'tz', '--json'], { ...env, GFLOW_TZ: 'UTC' });
    assert.deepEqual(JSON.parse(fromEnv.stdout), { key: 'tz', home: 'file', value: 'UTC', source: 'environment GFLOW_TZ' });
    assert.equal((await gflow(['config', 'get', 'ingest.batchSize'], env)).stdout, '1000\n');
    assert.equal((await gflow(['config', 'get', 'analyses.maxFailures'], env)).stdout, '5\n');
    assertOneLine(await gflow(['config', 'get', 'alertWebhook'], env), 2, /config alertWebhook is not set/);
  });
});

describe('gflow config set', () => {
  test('a file setting goes to the config file, validated by its schema', async () => {
    writeFileSync(file, JSON.stringify({ prefix }));
    const set = await gflow(['config', 'set', 'temporal.namespace', 'analytics'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, `temporal.namespace = analytics (in ${file})\n`);
    assert.equal((await gflow(['config', 'set', 'maxRerunPeriods', '1000'], env)).code, 0);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { prefix, temporal: { namespace: 'analytics' }, maxRerunPeriods: 1000 });

    assertOneLine(await gflow(['config', 'set', 'maxRerunPeriods', 'lots'], env), 2, /config maxRerunPeriods "lots".*whole number from 1 to 100000/);
    assertOneLine(await gflow(['config', 'set', 'tz', 'Mars/Olympus'], env), 2, /config tz "Mars\/Olympus" is not valid: not an IANA time zone/);
    assertOneLine(await gflow(['config', 'set', 'prefx', 'p'], env), 2, /config key "prefx" is not valid: use a known setting/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { prefix, temporal: { namespace: 'analytics' }, maxRerunPeriods: 1000 }, 'nothing written');
  });

  test('--config names the file written, and it is created if missing', async () => {
    const other = join(dir, 'other.json');
    const result = await gflow(['--config', other, 'config', 'set', 'slaveWaitSeconds', '60'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(readFileSync(other, 'utf8')), { slaveWaitSeconds: 60 });
  });

  test('an overriding environment variable is pointed out', async () => {
    const result = await gflow(['config', 'set', 'tz', 'UTC'], { ...env, GFLOW_TZ: 'Asia/Tokyo' });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /GFLOW_TZ overrides tz/);
  });

  test('a runtime setting goes to Redis; a typo in gflow’s namespaces is refused', async () => {
    assert.equal((await gflow(['config', 'set', 'ingest.batchSize', '250'], env)).stdout, 'ingest.batchSize = 250\n');
    assert.equal(await getRedis(REDIS_URL).hget(configHashKey(new Names(prefix)), 'ingest.batchSize'), '250');
    assertOneLine(await gflow(['config', 'set', 'ingest.batchSize', '0'], env), 2, /config ingest\.batchSize "0".*whole number from 1 to 100000/);
    assertOneLine(await gflow(['config', 'set', 'activity.bucketMinutes', '7'], env), 2, /divisor of 60/);
    assertOneLine(await gflow(['config', 'set', 'analyses.maxFailures', '0'], env), 2, /config analyses\.maxFailures "0".*whole number from 1 to 1000/);
    assertOneLine(await gflow(['config', 'set', 'analyses.maxFailures', 'often'], env), 2, /config analyses\.maxFailures "often".*whole number from 1 to 1000/);
    assert.equal(await getRedis(REDIS_URL).hget(configHashKey(new Names(prefix)), 'analyses.maxFailures'), null, 'nothing stored');
    assert.equal((await gflow(['config', 'set', 'analyses.maxFailures', '8'], env)).stdout, 'analyses.maxFailures = 8\n');
    assert.equal(await getRedis(REDIS_URL).hget(configHashKey(new Names(prefix)), 'analyses.maxFailures'), '8');
    assertOneLine(await gflow(['config', 'set', 'activity.treshold', '5'], env), 2, /not a setting: known activity\.\* settings/);
  });

  test('a value that is not valid UTF-8 is refused, never stored altered', async () => {
    writeFileSync(file, '{}');
    // The shell passes the raw byte 0xFF, which no UTF-8 text holds.
    const run = (args: string) =>
      new Promise<CliResult>((done) => {
        execFile('bash', ['-c', `"${process.execPath}" "${BIN}" ${args}`], { env }, (err, stdout, stderr) => {
          done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      });
    assertOneLine(await run(`config set alertCommand "$(printf 'page\\xffops')"`), 2, /config alertCommand: the value is not valid UTF-8 text/);
    assertOneLine(await run(`config set report.note "$(printf 'caf\\xe9')"`), 2, /config report\.note: the value is not valid UTF-8 text/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {});
    assert.equal(await getRedis(REDIS_URL).hget(configHashKey(new Names(prefix)), 'report.note'), 'hello', 'the old value stays');
    assert.equal((await run(`config set report.note "$(printf 'caf\\xc3\\xa9')"`)).code, 0);
    assert.equal(await getRedis(REDIS_URL).hget(configHashKey(new Names(prefix)), 'report.note'), 'café');
  });
});

describe('a dead Redis', () => {
  const dead = () => ({ ...env, GFLOW_REDIS_URL: 'redis://127.0.0.1:1' });

  // A hang guard: a process waiting on its dead Redis would never exit.
  test('is reported in one line and the process exits at once', { timeout: 60_000 }, async () => {
    for (const args of [['config', 'get'], ['config', 'get', 'activity.threshold'], ['config', 'set', 'activity.threshold', '5']]) {
      const result = await gflow(args, dead());
      assertOneLine(result, 1, /Redis at redis:\/\/127\.0\.0\.1:1\/? is unreachable: connect ECONNREFUSED/);
    }
  });

  test('does not stop file settings from being read or written, nor bad input from being refused first', async () => {
    assert.equal((await gflow(['config', 'get', 'redisUrl'], dead())).stdout, 'redis://127.0.0.1:1\n');
    assert.equal((await gflow(['config', 'set', 'concurrency', '5'], dead())).code, 0);
    assertOneLine(await gflow(['config', 'set', 'activity.threshold', 'many'], dead()), 2, /whole number/);
    assert.ok(existsSync(file));
  });
});

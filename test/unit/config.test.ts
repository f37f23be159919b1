/**
 * The one catalogue of settings: the loader, the file writer and the runtime
 * rules all come from it, and the README's Configuration table lists it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors';
import {
  assertUtf8Text,
  FILE_SETTINGS,
  fileSettingValues,
  findSetting,
  loadConfig,
  redact,
  RUNTIME_SETTINGS,
  setFileSetting,
  SETTINGS,
} from '../../infra/config';
import { DEFAULT_ACTIVITY_SETTINGS, activitySettings } from '../../store/activity/keys';
import { KNOWN_KEYS, validateConfig } from '../../store/config/runtime-config';

/** A usage error (exit 2) in one line. */
function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gflow-config-'));
  dirs.push(dir);
  return dir;
}

describe('the catalogue', () => {
  test('every key is declared once, in one home', () => {
    const keys = SETTINGS.map((s) => s.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual([...FILE_SETTINGS, ...RUNTIME_SETTINGS].map((s) => s.key).sort(), [...keys].sort());
    assert.equal(findSetting('tz')?.home, 'file');
    assert.equal(findSetting('activity.threshold')?.home, 'runtime');
    assert.equal(findSetting('report.note'), undefined);
  });

  test('the README’s Configuration table lists exactly the file settings, with their variables', () => {
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const rows = [...section.matchAll(/^\| `([^`]+)` \| (?:`([A-Z_]+)`)? *\|/gm)].map((m) => [m[1], m[2] ?? '']);
    assert.deepEqual(
      rows.sort(),
      FILE_SETTINGS.map((s) => [s.key, s.env ?? '']).sort(),
    );
  });

  test('the runtime keys of the store are the catalogue’s, defaults included', () => {
    assert.deepEqual(Object.keys(KNOWN_KEYS).sort(), RUNTIME_SETTINGS.map((s) => s.key).sort());
    for (const s of RUNTIME_SETTINGS) assert.equal(KNOWN_KEYS[s.key]!.default, s.default);
    assert.deepEqual(DEFAULT_ACTIVITY_SETTINGS, { threshold: 1_000_000, bucketMinutes: 5, ttlDays: 400, onlineTtlDays: 35 });
  });

  test('the activity store and `gflow config set` apply the same rules', () => {
    refused(() => validateConfig('activity.bucketMinutes', '7'), /activity\.bucketMinutes.*divisor of 60/);
    refused(() => activitySettings({ bucketMinutes: 7 }), /activity\.bucketMinutes.*divisor of 60/);
    refused(() => validateConfig('activity.ttlDays', '-1'), /whole number/);
    refused(() => activitySettings({ ttlDays: -1 }), /activity\.ttlDays.*whole number/);
    refused(() => activitySettings({ threshold: 1.5 }), /activity\.threshold/);
    assert.equal(activitySettings({ bucketMinutes: 12 }).bucketMinutes, 12);
  });

  test('analyses.maxFailures: a whole number from 1 to 1000, 5 by default', () => {
    assert.equal(KNOWN_KEYS['analyses.maxFailures']?.default, '5');
    for (const good of ['1', '5', '1000']) validateConfig('analyses.maxFailures', good);
    for (const bad of ['0', '1001', '-1', '2.5', '1e2', 'five', '', ' 5']) {
      refused(() => validateConfig('analyses.maxFailures', bad), /^config analyses\.maxFailures ".*": expected a whole number from 1 to 1000$/);
    }
    refused(() => validateConfig('analyses.maxFailure', '5'), /not a setting: known analyses\.\* settings are .*analyses\.maxFailures/);
  });

  test('runtime keys: a file setting or a typo in gflow’s namespaces is refused, a job’s own key is kept', () => {
    validateConfig('report.note', 'anything');
    refused(() => validateConfig('temporal.address', 'x:7233'), /lives in the config file/);
    refused(() => validateConfig('activity.treshold', '5'), /not a setting: known activity\.\* settings are activity\.threshold/);
    refused(() => validateConfig('ingest.strem', 'x'), /ingest\.stream/);
    refused(() => validateConfig('prefx', 'x'), /config key "prefx" is not valid: use a known setting \(prefix, /);
  });
});

describe('loadConfig', () => {
  test('defaults are the catalogue’s', () => {
    const c = loadConfig({ cwd: '/nonexistent', env: {} });
    assert.equal(c.prefix, 'gflow');
    assert.equal(c.tz, 'UTC');
    assert.equal(c.jobsDir, '/nonexistent/jobs');
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(c.mysqlUrl, 'mysql://root@127.0.0.1:3306');
    assert.equal(c.temporalAddress, undefined);
    assert.equal(c.temporalNamespace, 'default');
    assert.equal(c.concurrency, 10);
    assert.equal(c.slaveWaitSeconds, 600);
    assert.equal(c.maxRerunPeriods, 400);
    assert.equal(c.source, 'defaults and environment');
  });

  test('the environment overrides the file, nested settings included; empty variables are ignored', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'gflow.config.json'), JSON.stringify({ tz: 'Asia/Tokyo', concurrency: 3, temporal: { address: 'file:7233', namespace: 'ns' } }));
    const c = loadConfig({ cwd: dir, env: { GFLOW_TZ: 'Europe/Berlin', TEMPORAL_ADDRESS: 'env:7233', TEMPORAL_NAMESPACE: '' } });
    assert.equal(c.tz, 'Europe/Berlin');
    assert.equal(c.concurrency, 3);
    assert.equal(c.temporalAddress, 'env:7233');
    assert.equal(c.temporalNamespace, 'ns');
    assert.equal(c.source, join(dir, 'gflow.config.json'));
  });

  test('a bad value is refused naming the setting and where it came from', () => {
    refused(() => loadConfig({ cwd: '/nonexistent', env: { GFLOW_TZ: 'Mars/Olympus' } }), /invalid setting tz in environment GFLOW_TZ: not an IANA time zone/);
    const dir = tempDir();
    const file = join(dir, 'gflow.config.json');
    writeFileSync(file, JSON.stringify({ concurrency: 0 }));
    refused(() => loadConfig({ cwd: dir, env: {} }), /invalid setting concurrency in .*gflow\.config\.json/);
    writeFileSync(file, JSON.stringify({ temporal: { adress: 'x' } }));
    refused(() => loadConfig({ cwd: dir, env: {} }), /unknown setting temporal\.adress .*known settings are temporal\.address, temporal\.namespace/);
    writeFileSync(file, Buffer.from('{"alertCommand":"a\xffb"}', 'latin1'));
    refused(() => loadConfig({ cwd: dir, env: {} }), /not valid UTF-8/);
    writeFileSync(file, '[1]');
    refused(() => loadConfig({ cwd: dir, env: {} }), /one JSON object/);
  });

  test('fileSettingValues says where each value comes from', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'gflow.config.json'), JSON.stringify({ tz: 'Asia/Tokyo', temporal: { namespace: 'ns' }, concurrency: 3 }));
    const values = new Map(fileSettingValues({ cwd: dir, env: { GFLOW_PREFIX: 'p1' } }).map((v) => [v.key, v]));
    assert.deepEqual([...values.keys()], FILE_SETTINGS.map((s) => s.key));
    assert.deepEqual(values.get('prefix'), { key: 'prefix', home: 'file', value: 'p1', source: 'environment GFLOW_PREFIX' });
    assert.deepEqual(values.get('tz'), { key: 'tz', home: 'file', value: 'Asia/Tokyo', source: join(dir, 'gflow.config.json') });
    assert.equal(values.get('temporal.namespace')?.value, 'ns');
    assert.equal(values.get('concurrency')?.value, '3');
    assert.deepEqual(values.get('jobs'), { key: 'jobs', home: 'file', value: 'jobs', source: 'default' });
    assert.deepEqual(values.get('temporal.address'), { key: 'temporal.address', home: 'file', value: undefined, source: 'default' });
  });
});

describe('setFileSetting', () => {
  test('writes the setting, keeps the others, creates the file and nested objects, keeps the mode', () => {
    const dir = tempDir();
    const file = join(dir, 'gflow.config.json');
    assert.deepEqual(setFileSetting('tz', 'Europe/Berlin', { cwd: dir, env: {} }), { key: 'tz', value: 'Europe/Berlin', file });
    writeFileSync(file, JSON.stringify({ tz: 'Europe/Berlin', prefix: 'studio' }));
    chmodSync(file, 0o600);
    assert.equal(setFileSetting('concurrency', '20', { cwd: dir, env: {} }).value, 20);
    setFileSetting('temporal.address', 'temporal.internal:7233', { cwd: dir, env: {} });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { tz: 'Europe/Berlin', prefix: 'studio', concurrency: 20, temporal: { address: 'temporal.internal:7233' } });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const c = loadConfig({ cwd: dir, env: {} });
    assert.equal(c.concurrency, 20);
    assert.equal(c.temporalAddress, 'temporal.internal:7233');
  });

  test('an explicit file (--config, GFLOW_CONFIG) is the one written', () => {
    const dir = tempDir();
    const written = setFileSetting('prefix', 'prod', { cwd: dir, env: { GFLOW_CONFIG: 'prod.json' } });
    assert.equal(written.file, join(dir, 'prod.json'));
    assert.equal(loadConfig({ cwd: dir, env: { GFLOW_CONFIG: 'prod.json' } }).prefix, 'prod');
  });

  test('says when the environment overrides what was written', () => {
    const dir = tempDir();
    assert.equal(setFileSetting('tz', 'UTC', { cwd: dir, env: { GFLOW_TZ: 'Asia/Tokyo' } }).overriddenBy, 'GFLOW_TZ');
  });

  test('refuses invalid values and unknown keys, and writes nothing', () => {
    const dir = tempDir();
    const file = join(dir, 'gflow.config.json');
    writeFileSync(file, JSON.stringify({ tz: 'UTC' }));
    const opts = { cwd: dir, env: {} };
    refused(() => setFileSetting('tz', 'Mars/Olympus', opts), /config tz "Mars\/Olympus" is not valid: not an IANA time zone/);
    refused(() => setFileSetting('concurrency', '0', opts), /config concurrency "0".*whole number from 1 to 1000/);
    refused(() => setFileSetting('concurrency', '1e3', opts), /whole number/);
    refused(() => setFileSetting('redisUrl', 'localhost:6379', opts), /redis:\/\/host:port/);
    refused(() => setFileSetting('prefix', 'Bad-Prefix', opts), /lowercase letters/);
    refused(() => setFileSetting('temporal.address', '', opts), /must not be empty/);
    refused(() => setFileSetting('activity.threshold', '5', opts), /not a setting of the config file/);
    refused(() => setFileSetting('nope', '5', opts), /not a setting of the config file: known: prefix, tz/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { tz: 'UTC' });
  });

  test('refuses to write a file that would not be valid, naming the bad setting', () => {
    const dir = tempDir();
    const file = join(dir, 'gflow.config.json');
    writeFileSync(file, JSON.stringify({ tz: 'Mars/Olympus' }));
    refused(() => setFileSetting('concurrency', '4', { cwd: dir, env: {} }), /not written, .* would not be valid: invalid setting tz/);
    setFileSetting('tz', 'UTC', { cwd: dir, env: {} });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { tz: 'UTC' });
  });

  test('text that is not valid UTF-8 is refused, never altered', () => {
    const dir = tempDir();
    const opts = { cwd: dir, env: {} };
    // Node decodes an invalid byte of argv as U+FFFD; a lone surrogate cannot be encoded.
    refused(() => setFileSetting('alertCommand', 'page \uFFFD ops', opts), /not valid UTF-8/);
    refused(() => setFileSetting('alertCommand', 'page \uD800 ops', opts), /not valid UTF-8/);
    refused(() => validateConfig('report.note', 'a\uFFFDb'), /not valid UTF-8/);
    refused(() => validateConfig('report.note', 'a\uDC00b'), /not valid UTF-8/);
    assertUtf8Text('naïve 日本語 🎮', 'x');
    assert.equal(setFileSetting('alertCommand', 'page 日本語 🎮', opts).value, 'page 日本語 🎮');
  });
});

test('redact hides passwords only', () => {
  assert.equal(redact('mysql://u:secret@h:3306'), 'mysql://u:***@h:3306');
  assert.equal(redact('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  // A cluster's comma-separated seeds are no WHATWG URL: its password is hidden all the same.
  assert.equal(redact('redis+cluster://:secret@h1:7000,h2:7001'), 'redis+cluster://:***@h1:7000,h2:7001');
  assert.equal(redact('redis+cluster://app:secret@h1:7000'), 'redis+cluster://app:***@h1:7000');
  assert.equal(redact('redis+cluster://h1:7000,h2:7001'), 'redis+cluster://h1:7000,h2:7001');
  assert.equal(redact('UTC'), 'UTC');
});

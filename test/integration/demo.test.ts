/**
 * `gflow demo` as a user runs it, at a tiny size, against this file's own
 * dev server (TEMPORAL_ADDRESS), so it starts none on 7233: the rerun
 * summary, one daily table and one retention triangle per game, the web UI
 * links; `--out` writes the same studio as JSON lines; bad sizes are refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Names } from '../../core/names';
import { getRerun } from '../../store/ledger/reruns';
import { synthEvents, windowEndingYesterday } from '../../dev/synth';
import type { Config } from '../../infra/config';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { gflow } from '../helpers/cli';
import { dropAll } from '../helpers/reports';
import { cliEnv, startTemporal, testConfig } from '../helpers/temporal';

const SIZE = ['--games', '2', '--days', '3', '--users', '60', '--seed', 'test'];

let env: TestWorkflowEnvironment;
let config: Config;
let dir: string;

before(async () => {
  env = await startTemporal();
  config = testConfig({ temporalAddress: env.address, jobsDir: resolve(__dirname, '../../jobs') });
  dir = await mkdtemp(join(tmpdir(), 'gflow-demo-'));
});

after(async () => {
  if (config) await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), new Names(config.prefix));
  await closeRedis();
  await closeMysql();
  if (dir) await rm(dir, { recursive: true, force: true });
  await env?.teardown();
});

describe('gflow demo', () => {
  test('computes the studio across two slaves and prints its reports', { timeout: 120_000 }, async () => {
    const run = await gflow(['demo', ...SIZE, '--exit'], cliEnv(config));
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout;
    for (const task of ['active', 'retention', 'online', 'pay']) {
      assert.match(out, new RegExp(`^${task}\\s+3\\s+\\d+\\s+\\d+\\s+0\\s+-$`, 'm'), `${task}: 3 days, no check failed, no game failed`);
    }
    assert.match(out, /^rerun \S+\.report\.rerun-\S+: 12 periods in [\d.]+ s$/m);
    // Recorded in the ledger like any rerun: who ran it, and why.
    const rerunId = /^rerun (\S+): 12 periods/m.exec(out)![1]!;
    const recorded = await getRerun(getMysql(config.mysqlUrl), new Names(config.prefix), rerunId);
    assert.match(recorded?.startedBy ?? '', /^.+@.+$/);
    assert.equal(recorded?.reason, 'gflow demo');
    for (const game of ['Dragon Saga \\(game 1, 60 players\\)', 'Puzzle Pop \\(game 2, 20 players\\)']) assert.match(out, new RegExp(`^${game}$`, 'm'));
    assert.equal(out.match(/^day\s+dau\s+wau\s+mau\s+new\s+pcu\s+acu\s+payers\s+revenue\s+pay rate\s+arpu\s+arppu$/gm)?.length, 2);
    // Three days fill d1 of two cohorts and d2 of one: a triangle.
    const triangles = out.match(/^cohort\s+new\s+d1\s+d2$(\n.*){4}/gm) ?? [];
    assert.equal(triangles.length, 2, out);
    const rows = triangles[0]!.split('\n').slice(2);
    assert.deepEqual(rows.map((r) => (r.match(/%/g) ?? []).length), [2, 1, 0]);
    assert.match(out, new RegExp(`^In the web UI of Temporal at ${env.address}, namespace default: workflow ${config.prefix}\\.report\\.rerun-`, 'm'));
    assert.match(out, new RegExp(`every report run: the query GflowPrefix="${config.prefix}" AND GflowJob="report"`));
    assert.doesNotMatch(run.stderr, /Temporal dev server started/);
  });

  test('--out writes the same deterministic studio as JSON lines, and nothing else', async () => {
    const file = join(dir, 'studio.jsonl');
    const run = await gflow(['demo', ...SIZE, '--out', file], { ...cliEnv(config), TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(run.code, 0, run.stderr);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    const expected = [...synthEvents({ games: 2, days: 3, users: 60, seed: 'test', firstDay: windowEndingYesterday(3, config.tz), zone: config.tz })];
    assert.equal(lines.length, expected.length);
    assert.deepEqual(JSON.parse(lines[0]!), expected[0]);
    assert.match(run.stdout, new RegExp(`^wrote ${expected.length} events of 2 games`, 'm'));
  });

  test('refuses a size out of range: one line, exit 2', async () => {
    const run = await gflow(['demo', '--days', '0', '--exit'], cliEnv(config));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--days "0": expected a whole number from 1 to 400/);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  });
});

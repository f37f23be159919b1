/**
 * The CLI run as a process, as a user runs it: bad input gets one line and
 * exit code 2, a failure one line and exit code 1, and the commands change
 * the real Temporal's state.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Names, searchAttributeTypes } from '../../core/names';
import type { Config } from '../../infra/config';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { createSlave } from '../../worker/slave';
import { findTemporalCli } from '../../dev/temporal-cli';
import { assertOneLine, gflow } from '../helpers/cli';
import { dropAll, prepareMysql } from '../helpers/reports';
import { addGame, validateGame } from '../../store/games/registry';
import { cliEnv, startTemporal, testConfig } from '../helpers/temporal';

const FIXTURES = resolve(__dirname, '../fixtures');


describe('bad input', () => {
  const env = cliEnv(testConfig({ temporalAddress: '127.0.0.1:1' }));

  test('an unknown job is refused with the known ones', async () => {
    assertOneLine(await gflow(['start', 'nope'], env), 2, /unknown job "nope" .*known jobs: deps, failfast, fx, lg, sched, tables, work/);
  });

  test('an unknown task is refused with the job’s tasks', async () => {
    assertOneLine(await gflow(['stop', 'sched', '-t', 'daily,nope'], env), 2, /job sched has no task "nope"; its tasks: weekly, daily/);
  });

  test('a malformed schedule is refused at load, naming the file, the task and the grammar', async () => {
    const result = await gflow(['jobs', '--offline'], { ...env, GFLOW_JOBS: resolve(FIXTURES, 'bad-spec') });
    assertOneLine(result, 2, /bad\.ts.*task weekly: .*"w8".*weekday.*1\.\.7/);
    assert.match(result.stderr, /w1d2/, 'shows the grammar with examples');
  });

  test('a job file that throws on load is named', async () => {
    const result = await gflow(['jobs', '--offline'], { ...env, GFLOW_JOBS: resolve(FIXTURES, 'throws') });
    assertOneLine(result, 2, /job file .*throws\.ts failed to load: cannot reach the config service/);
  });

  test('an invalid time zone is refused, naming the variable', async () => {
    assertOneLine(await gflow(['jobs', '--offline'], { ...env, GFLOW_TZ: 'Mars/Olympus' }), 2, /invalid setting tz in environment GFLOW_TZ: not an IANA time zone/);
  });

  test('an unknown option is a usage error', async () => {
    const result = await gflow(['start', 'sched', '--nope'], env);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '--nope'/);
  });

  test('an unreachable Temporal is a failure: one line, exit 1', async () => {
    assertOneLine(await gflow(['start', 'sched'], env), 1, /Temporal at 127\.0\.0\.1:1 is unreachable \(check TEMPORAL_ADDRESS\)/);
  });

  test('--verbose shows the stack trace', async () => {
    const result = await gflow(['start', 'sched', '--verbose'], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\n\s+at /);
  });
});

describe('against a real Temporal', () => {
  let temporal: TestWorkflowEnvironment;
  let config: Config;

  before(async () => {
    temporal = await startTemporal();
    config = testConfig({ temporalAddress: temporal.address });
    await prepareMysql(getMysql(config.mysqlUrl), new Names(config.prefix), []);
  });

  after(async () => {
    await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), new Names(config.prefix));
    await temporal?.teardown();
  });

  test('start, jobs, stop and top', async () => {
    const env = cliEnv(config);
    const started = await gflow(['start', 'sched', '-t', 'daily,hourly'], env);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, new RegExp(`daily\\s+schedule created\\s+${config.prefix}\\.sched\\.daily`));
    assert.match(started.stderr, /no slave polls .*\.shared: the work waits until one does/, 'no slave runs in this test: the operator is told');

    const jobs = await gflow(['jobs', '--json'], env);
    assert.equal(jobs.code, 0, jobs.stderr);
    const listed = JSON.parse(jobs.stdout) as Array<{ job: string; task: string; when: string; schedule?: { state: string; nextRuns: string[] } }>;
    const daily = listed.find((t) => t.job === 'sched' && t.task === 'daily')!;
    assert.equal(daily.when, 'daily at 02:30 (UTC)');
    assert.equal(daily.schedule?.state, 'active');
    assert.match(daily.schedule!.nextRuns[0]!, /T02:30:00\.000Z$/);
    assert.equal(listed.find((t) => t.task === 'weekly')?.schedule?.state, 'not started');

    const stopped = await gflow(['stop', 'sched', '-t', 'daily'], env);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((await temporal.client.schedule.getHandle(`${config.prefix}.sched.daily`).describe()).state.paused, true);

    const top = await gflow(['top', 'sched', '--json'], env);
    assert.equal(top.code, 0, top.stderr);
    const shown = JSON.parse(top.stdout) as { tasks: Array<{ task: string; schedule?: { state: string; nextRuns: string[] } }>; slaves: unknown[] };
    assert.deepEqual(
      shown.tasks.filter((t) => t.schedule).map((t) => [t.task, t.schedule!.state]),
      [['weekly', 'not started'], ['daily', 'paused'], ['monthly', 'not started'], ['hourly', 'active'], ['minutely', 'not started'], ['interval', 'not started']],
    );
    assert.deepEqual(shown.tasks.find((t) => t.task === 'daily')!.schedule!.nextRuns, [], 'a paused schedule fires nothing next');
    assert.equal(shown.tasks.find((t) => t.task === 'hourly')!.schedule!.nextRuns.length, 3);
    assert.deepEqual(shown.slaves, []);
  });
});

describe('gflow setup on a cluster without gflow\'s search attributes', () => {
  let bare: TestWorkflowEnvironment;
  let config: Config;

  before(async () => {
    bare = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: findTemporalCli() }, extraArgs: ['--log-level', 'error'] },
    });
    config = testConfig({ temporalAddress: bare.address });
  });

  after(async () => {
    await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), new Names(config.prefix));
    await closeMysql();
    await closeRedis();
    await bare?.teardown();
  });

  test('a slave refuses to start before setup, naming the missing attributes and gflow setup', async () => {
    await assert.rejects(createSlave({ config, slave: 'early', shutdownGraceSeconds: 1 }), /lacks gflow's search attributes .*GflowOutcome.*: run gflow setup/);
  });

  test('gflow start before setup says to run gflow setup, in one line', async () => {
    const started = await gflow(['start', 'sched', '-t', 'daily'], cliEnv(config));
    assert.equal(started.code, 1, started.stderr);
    assert.match(started.stderr, /^gflow: Temporal namespace default at .* lacks gflow's search attributes .*GflowOutcome.*: run gflow setup\n$/);
  });

  test('registers the search attributes and migrates MySQL; a second run changes nothing', async () => {
    const first = await gflow(['setup'], cliEnv(config));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /search attributes registered: .*GflowJob/);
    assert.match(first.stdout, /MySQL migrations applied: 0001_meta_games/);
    const { customAttributes } = await bare.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const name of Object.keys(searchAttributeTypes)) assert.ok(name in (customAttributes ?? {}), name);

    const again = await gflow(['setup'], cliEnv(config));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /search attributes already registered\nMySQL schemas up to date\n$/);

    // An upgrade from the layout before hash tags: its keys would not be read, and setup says so.
    const names = new Names(config.prefix);
    await addGame(getMysql(config.mysqlUrl), names, validateGame({ id: 7 }));
    await getRedis(config.redisUrl).hset(names.redisKey('uidx', 7), 'u1', 0);
    const upgraded = await gflow(['setup'], cliEnv(config));
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.match(upgraded.stdout, /warning: 1 games have activity keys under the layout before hash tags \(e\.g\. .*:uidx:7\), .*"Moving an installation's keys" says \(games 7\)\n$/);
  });
});

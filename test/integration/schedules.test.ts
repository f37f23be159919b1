/**
 * Against a real dev server: each schedule form becomes a Temporal Schedule
 * with the expected fire times, and start/stop/restart/--now change
 * Temporal's state as the original gflow's master commands did.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import { Names } from '../../core/names';
import type { Config } from '../../infra/config';
import { JobControl } from '../../client/control';
import { loadJobs } from '../../infra/jobs';
import { findTemporalCli } from '../../dev/temporal-cli';
import { startTemporal, testConfig } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let config: Config;
let control: JobControl;
const registry = loadJobs(testConfig().jobsDir);
const tasks = registry.tasks('sched');

before(async () => {
  env = await startTemporal();
  // A zone away from UTC shows that calendars are read in the configured zone.
  config = testConfig({ temporalAddress: env.address, tz: 'Asia/Shanghai' });
  control = new JobControl(env.client, config);
});

after(async () => {
  await env?.teardown();
});

async function describeTask(task: string) {
  return env.client.schedule.getHandle(new Names(config.prefix).scheduleId('sched', task)).describe();
}

/** Fire times as wall-clock in Asia/Shanghai. */
async function nextTimes(task: string): Promise<DateTime[]> {
  const d = await describeTask(task);
  assert.ok(d.info.nextActionTimes.length >= 3, `${task}: Temporal lists at least 3 next times`);
  return d.info.nextActionTimes.map((t) => DateTime.fromJSDate(t, { zone: 'Asia/Shanghai' }));
}

function gaps(times: DateTime[], unit: 'weeks' | 'days' | 'months' | 'hours' | 'minutes'): number[] {
  return times.slice(1).map((t, i) => Math.round(t.diff(times[i]!, unit).get(unit)));
}

describe('schedules', () => {
  test('start creates one schedule per calendar/interval task, with readable ids', async () => {
    const actions = await control.start('sched', tasks);
    assert.deepEqual(
      actions.map((a) => [a.task, a.action, a.id]),
      tasks.map((t) => [t.name, 'schedule created', `${config.prefix}.sched.${t.name}`]),
    );
  });

  test('w1d2 fires Mondays 02:00 in the configured zone', async () => {
    const times = await nextTimes('weekly');
    for (const t of times) assert.deepEqual([t.weekday, t.hour, t.minute, t.second], [1, 2, 0, 0], t.toISO()!);
    assert.deepEqual(gaps(times, 'weeks'), times.slice(1).map(() => 1));
    // 02:00 in Shanghai is 18:00 UTC the day before.
    assert.equal(times[0]!.toUTC().hour, 18);
  });

  test('d2H30 fires daily 02:30', async () => {
    const times = await nextTimes('daily');
    for (const t of times) assert.deepEqual([t.hour, t.minute, t.second], [2, 30, 0]);
    assert.deepEqual(gaps(times, 'days'), times.slice(1).map(() => 1));
  });

  test('m1d3 fires the 1st of each month 03:00', async () => {
    const times = await nextTimes('monthly');
    for (const t of times) assert.deepEqual([t.day, t.hour, t.minute, t.second], [1, 3, 0, 0]);
    assert.deepEqual(gaps(times, 'months'), times.slice(1).map(() => 1));
  });

  test('H5 fires hourly at :05', async () => {
    const times = await nextTimes('hourly');
    for (const t of times) assert.deepEqual([t.minute, t.second], [5, 0]);
    assert.deepEqual(gaps(times, 'hours'), times.slice(1).map(() => 1));
  });

  test('M30 fires every minute at :30', async () => {
    const times = await nextTimes('minutely');
    for (const t of times) assert.equal(t.second, 30);
    assert.deepEqual(gaps(times, 'minutes'), times.slice(1).map(() => 1));
  });

  test('sleepExecute 3600 fires every hour', async () => {
    const times = await nextTimes('interval');
    assert.deepEqual(gaps(times, 'hours'), times.slice(1).map(() => 1));
  });

  test('overlap policy is SKIP and the catch-up window is one period, not a year', async () => {
    const d = await describeTask('daily');
    assert.equal(d.policies.overlap, 'SKIP');
    assert.equal(d.policies.catchupWindow, 86_400_000);
  });

  test('stop pauses only the named tasks; restart unpauses them', async () => {
    await control.stop('sched', registry.tasks('sched', ['daily', 'hourly']));
    assert.equal((await describeTask('daily')).state.paused, true);
    assert.equal((await describeTask('hourly')).state.paused, true);
    assert.equal((await describeTask('weekly')).state.paused, false);

    const actions = await control.restart('sched', registry.tasks('sched', ['daily']));
    assert.ok(actions.some((a) => a.action === 'schedule paused'));
    assert.ok(actions.some((a) => a.action === 'schedule updated and unpaused'));
    assert.equal((await describeTask('daily')).state.paused, false);
    assert.equal((await describeTask('hourly')).state.paused, true);
  });

  test('--now triggers the schedule at once', async () => {
    await control.start('sched', registry.tasks('sched', ['weekly']), { now: true });
    let actions = 0;
    for (let i = 0; i < 50 && actions === 0; i++) {
      actions = (await describeTask('weekly')).info.numActionsTaken;
      if (actions === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(actions, 1);
  });

  test('the real temporal CLI shows the schedule gflow created', () => {
    const out = execFileSync(
      findTemporalCli(),
      ['schedule', 'describe', '--address', env.address, '--schedule-id', `${config.prefix}.sched.weekly`, '-o', 'json'],
      { encoding: 'utf8' },
    );
    const described = JSON.parse(out) as { schedule: { spec: { timezoneName?: string } } };
    assert.equal(described.schedule.spec.timezoneName, 'Asia/Shanghai');
  });
});

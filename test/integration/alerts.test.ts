/**
 * Alerts against real receivers: a local HTTP server gets exactly one POST
 * per incident however many games failed, a failing receiver makes the
 * activity throw (so Temporal retries it), a command gets the JSON on stdin;
 * and a real run with a failing game alerts once, through Temporal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createAlertActivities, type Incident } from '../../activities/alerts';
import type { RunSummary } from '../../activities/types';
import { Names } from '../../core/names';
import { JobControl } from '../../client/control';
import { loadJobs } from '../../infra/jobs';
import { createLogger } from '../../infra/logger';
import { closeMysql, getMysql } from '../../infra/mysql';
import type { AlertMessage } from '../../infra/notifier';
import { closeRedis, getRedis } from '../../infra/redis';
import { freePort } from '../helpers/processes';
import { Receiver } from '../helpers/receiver';
import { dropAll, prepareMysql } from '../helpers/reports';
import { withSlaves } from '../helpers/slaves';
import { startTemporal, testConfig } from '../helpers/temporal';

const quiet = createLogger('alerts', () => undefined);
/** The activity context Temporal would give; its logger silenced, since failing is what some tests want. */
const activityEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
const games = Array.from({ length: 200 }, (_, i) => ({ game: i + 1, label: `game ${i + 1}`, error: 'database unreachable' }));
const incident: Incident = {
  kind: 'gamesFailed',
  job: 'report',
  task: 'active',
  period: '20261124',
  runId: 't.report.active.20261124',
  summary: '200 of 200 games failed',
  games,
};

const scratch = mkdtempSync(join(tmpdir(), 'gflow-alerts-'));
const receiver = new Receiver();
let url: string;

before(async () => {
  url = await receiver.start();
});

after(async () => {
  await receiver.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the notify activity', () => {
  test('a 200-game incident is one POST with every game, an incident id and JSON headers', async () => {
    receiver.requests.length = 0;
    const { notify } = createAlertActivities(testConfig({ prefix: 'talerts', alertWebhook: url }), { log: quiet });
    await activityEnv().run(notify, incident);
    assert.equal(receiver.requests.length, 1);
    const [request] = receiver.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers['idempotency-key'], 't.report.active.20261124:gamesFailed');
    assert.equal(request!.body.incidentId, 't.report.active.20261124:gamesFailed');
    assert.equal(request!.body.gameCount, 200);
    assert.deepEqual(request!.body.games.map((g) => g.game), games.map((g) => g.game));
    assert.equal(request!.body.prefix, 'talerts');
  });

  test('a receiver answering 503 makes the activity throw, so Temporal retries it', async () => {
    receiver.requests.length = 0;
    receiver.status = 503;
    try {
      const { notify } = createAlertActivities(testConfig({ alertWebhook: url }), { log: quiet });
      await assert.rejects(activityEnv().run(notify, incident), (err: Error) => {
        assert.match(err.message, /answered 503: receiver down/);
        assert.ok(!err.message.includes('secret-token'), 'the webhook path (a secret) stays out of errors');
        return true;
      });
      assert.equal(receiver.requests.length, 1);
    } finally {
      receiver.status = 200;
    }
  });

  test('an unreachable receiver makes the activity throw', async () => {
    const closed = await freePort();
    const { notify } = createAlertActivities(testConfig({ alertWebhook: `http://127.0.0.1:${closed}/alerts` }), { log: quiet });
    await assert.rejects(activityEnv().run(notify, incident), /unreachable/);
  });

  test('a command gets the JSON on stdin and the text in GFLOW_ALERT_TEXT', async () => {
    const out = join(scratch, 'alert.json');
    const text = join(scratch, 'alert.txt');
    const command = `cat > '${out}' && printf '%s' "$GFLOW_ALERT_TEXT" > '${text}'`;
    const { notify } = createAlertActivities(testConfig({ prefix: 'talerts', alertCommand: command }), { log: quiet });
    await activityEnv().run(notify, incident);
    const body = JSON.parse(readFileSync(out, 'utf8')) as AlertMessage;
    assert.equal(body.incidentId, 't.report.active.20261124:gamesFailed');
    assert.equal(body.games.length, 200);
    assert.match(readFileSync(text, 'utf8'), /^\[talerts\] gamesFailed report\.active 20261124: 200 of 200 games failed \(game 1,/);
  });

  test('a command that exits non-zero makes the activity throw with its stderr', async () => {
    const { notify } = createAlertActivities(testConfig({ alertCommand: 'echo "sms gateway refused" >&2; exit 3' }), { log: quiet });
    await assert.rejects(activityEnv().run(notify, incident), /exited 3: sms gateway refused/);
  });

  test('webhook and command both configured: both get the incident once', async () => {
    receiver.requests.length = 0;
    const out = join(scratch, 'both.json');
    const { notify } = createAlertActivities(testConfig({ alertWebhook: url, alertCommand: `cat > '${out}'` }), { log: quiet });
    await activityEnv().run(notify, incident);
    assert.equal(receiver.requests.length, 1);
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as AlertMessage).incidentId, receiver.requests[0]!.body.incidentId);
  });
});

describe('a run with failed games', () => {
  let env: TestWorkflowEnvironment;

  before(async () => {
    env = await startTemporal();
  });

  after(async () => {
    await closeRedis();
    await closeMysql();
    await env?.teardown();
  });

  test('alerts exactly once, listing the failed game', async () => {
    receiver.requests.length = 0;
    const config = testConfig({ temporalAddress: env.address, alertWebhook: url });
    const names = new Names(config.prefix);
    await prepareMysql(getMysql(config.mysqlUrl), names, []);
    try {
      const summary = await withSlaves(config, ['s1'], async () => {
        const [action] = await new JobControl(env.client, config).start('work', loadJobs(config.jobsDir).tasks('work', ['isolated']));
        return (await env.client.workflow.getHandle(action!.id).result()) as RunSummary;
      });
      assert.equal(summary.failed.length, 1);
      const alerts = receiver.requests.filter((r) => r.body.prefix === config.prefix);
      assert.equal(alerts.length, 1, `expected one alert, got ${alerts.length}`);
      const body = alerts[0]!.body;
      assert.equal(body.kind, 'gamesFailed');
      assert.equal(body.job, 'work');
      assert.equal(body.task, 'isolated');
      assert.equal(body.runId, names.onceRunId('work', 'isolated'));
      assert.deepEqual(body.games.map((g) => g.game), [2]);
      assert.match(body.games[0]!.error, /database unreachable/);
    } finally {
      await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), names);
    }
  });
});

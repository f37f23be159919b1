/**
 * The alert message and the alert activity without a network: one message
 * per incident however many games, a stable incident id for receivers to
 * dedupe, and the settings that turn notifiers on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAlertActivities, type Incident } from '../../activities/alerts';
import { UserError } from '../../core/errors';
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { alertMessage, createNotifier, type AlertMessage, type Notifier } from '../../infra/notifier';
import { testConfig } from '../helpers/temporal';

const failedGames = (n: number) => Array.from({ length: n }, (_, i) => ({ game: i + 1, label: `game ${i + 1}`, error: `game ${i + 1}: database unreachable` }));

const incident: Incident = {
  kind: 'gamesFailed',
  job: 'report',
  task: 'active',
  period: '20261124',
  runId: 'gflow.report.active.20261124',
  summary: '200 of 210 games failed',
  games: failedGames(200),
};

describe('alertMessage', () => {
  test('one message lists every game, with an id stable across retries', () => {
    const at = new Date('2026-11-25T02:00:00Z');
    const message = alertMessage('gflow', incident, at);
    assert.equal(message.incidentId, 'gflow.report.active.20261124:gamesFailed');
    assert.equal(message.gameCount, 200);
    assert.equal(message.games.length, 200);
    assert.deepEqual(message.games[199], { game: 200, label: 'game 200', error: 'game 200: database unreachable' });
    assert.equal(message.at, '2026-11-25T02:00:00.000Z');
    assert.equal(alertMessage('gflow', incident, new Date()).incidentId, message.incidentId);
  });

  test('the text names the first games and counts the rest, so an SMS stays short', () => {
    const { text } = alertMessage('gflow', incident);
    assert.ok(text.startsWith('[gflow] gamesFailed report.active 20261124: 200 of 210 games failed (game 1, game 2,'), text);
    assert.ok(text.endsWith('game 10 and 190 more)'), text);
  });

  test('an incident without games (a timeout) has an empty list', () => {
    const message = alertMessage('gflow', { ...incident, kind: 'timeout', summary: 'cut off after 1800 s', games: undefined });
    assert.equal(message.gameCount, 0);
    assert.deepEqual(message.games, []);
    assert.equal(message.text, '[gflow] timeout report.active 20261124: cut off after 1800 s');
  });

  test('long errors are cut, so 200 games still make one reasonably sized message', () => {
    const message = alertMessage('gflow', { ...incident, games: [{ game: 1, label: 'game 1', error: 'x'.repeat(10_000) }] });
    assert.ok(message.games[0]!.error.length <= 500);
    assert.ok(message.games[0]!.error.endsWith('…'));
  });
});

describe('createNotifier', () => {
  test('no webhook and no command: no notifier', () => {
    assert.equal(createNotifier({}), undefined);
    assert.equal(createNotifier({ webhook: undefined, command: undefined }), undefined);
  });

  test("targets name the webhook's origin only: its path may hold a token", () => {
    const notifier = createNotifier({ webhook: 'https://hooks.example.com/services/T000/SECRET', command: 'true' });
    assert.deepEqual(notifier?.targets, ['webhook https://hooks.example.com', 'command']);
  });
});

describe('the notify activity', () => {
  test('one send per incident, whatever the number of games', async () => {
    const sent: AlertMessage[] = [];
    const notifier: Notifier = { targets: ['test'], send: async (m) => void sent.push(m) };
    const { notify } = createAlertActivities(testConfig({ prefix: 'gflow' }), { notifier, log: createLogger('test', () => undefined) });
    await notify(incident);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.gameCount, 200);
  });

  test('a failing notifier makes the activity throw, so Temporal retries it', async () => {
    const notifier: Notifier = { targets: ['test'], send: () => Promise.reject(new Error('webhook answered 503')) };
    const { notify } = createAlertActivities(testConfig(), { notifier, log: createLogger('test', () => undefined) });
    await assert.rejects(notify(incident), /503/);
  });

  test('without a notifier the incident is logged and the activity returns', async () => {
    const lines: string[] = [];
    const { notify } = createAlertActivities(testConfig({ prefix: 'gflow' }), { log: createLogger('alerts', (l) => lines.push(l)) });
    await notify(incident);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /warn .*\[gflow\] gamesFailed report\.active 20261124: 200 of 210 games failed/);
    assert.match(lines[0]!, /incident=gflow\.report\.active\.20261124:gamesFailed games=200/);
  });
});

describe('alert settings', () => {
  test('GFLOW_ALERT_WEBHOOK and GFLOW_ALERT_COMMAND turn notifiers on', () => {
    const config = loadConfig({ cwd: '/nonexistent', env: { GFLOW_ALERT_WEBHOOK: 'https://hooks.example.com/x', GFLOW_ALERT_COMMAND: 'sms-alert --to ops' } });
    assert.equal(config.alertWebhook, 'https://hooks.example.com/x');
    assert.equal(config.alertCommand, 'sms-alert --to ops');
    const none = loadConfig({ cwd: '/nonexistent', env: {} });
    assert.equal(none.alertWebhook, undefined);
    assert.equal(none.alertCommand, undefined);
  });

  test('a webhook that is not an http(s) URL is refused, naming the variable', () => {
    assert.throws(
      () => loadConfig({ cwd: '/nonexistent', env: { GFLOW_ALERT_WEBHOOK: 'hooks.example.com/x' } }),
      (err: unknown) => err instanceof UserError && err.exitCode === 2 && /alertWebhook in environment GFLOW_ALERT_WEBHOOK/.test(err.message),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalParams, defineAnalysis, param, ParamError, parseParams } from '../../core/analysis';
import { defineJob } from '../../core/job';
import { isUserError } from '../../core/errors';

const retention = defineAnalysis({
  name: 'retention',
  params: { game: param.game(), from: param.day(), to: param.day(), server: param.range().orNot(), channel: param.text({ maxLength: 8 }).orNot(), top: param.whole({ min: 1, max: 50 }).orNot() },
  days: { from: 'from', to: 'to' },
  compute: (p) => p,
});

function refused(raw: unknown, field: string, message: RegExp, maxDays = 92): void {
  assert.throws(
    () => parseParams(retention, raw, maxDays),
    (err: unknown) => err instanceof ParamError && err.field === field && message.test(err.message) && err.exitCode === 2 && !err.message.includes('\n'),
  );
}

describe('analysis parameters', () => {
  test('text from the CLI and JSON from HTTP parse to the same normalised parameters', () => {
    const fromCli = parseParams(retention, { game: '7', from: '20261101', to: '20261115', server: '3,5', channel: ' ads ' }, 92);
    const fromJson = parseParams(retention, { channel: 'ads', server: { from: 3, to: 5 }, to: '20261115', from: '20261101', game: 7 }, 92);
    assert.deepEqual(fromCli, { game: 7, from: '20261101', to: '20261115', server: { from: 3, to: 5 }, channel: 'ads' });
    assert.equal(canonicalParams(fromCli), canonicalParams(fromJson));
    assert.deepEqual(parseParams(retention, { game: 7, from: '20261101', to: '20261101', server: '4' }, 92).server, { from: 4, to: 4 });
  });

  test('optional parameters may be left out, or given empty', () => {
    assert.deepEqual(parseParams(retention, { game: 1, from: '20261101', to: '20261101', channel: '' }, 92), { game: 1, from: '20261101', to: '20261101' });
  });

  test('each refusal names its field and what is accepted', () => {
    refused({ from: '20261101', to: '20261101' }, 'game', /parameter game is missing: expected a game id/);
    refused({ game: 0, from: '20261101', to: '20261101' }, 'game', /parameter game 0: expected a game id/);
    refused({ game: 7.5, from: '20261101', to: '20261101' }, 'game', /game 7\.5/);
    refused({ game: 7, from: '2026-11-01', to: '20261101' }, 'from', /from "2026-11-01": expected a day as YYYYMMDD/);
    refused({ game: 7, from: '20261131', to: '20261201' }, 'from', /from "20261131"/);
    refused({ game: 7, from: '20261101', to: '20261101', server: '5,3' }, 'server', /server "5,3": expected a range from,to/);
    refused({ game: 7, from: '20261101', to: '20261101', server: '1,2,3' }, 'server', /server/);
    refused({ game: 7, from: '20261101', to: '20261101', channel: 'far-too-long' }, 'channel', /text of 1 to 8 characters/);
    refused({ game: 7, from: '20261101', to: '20261101', top: 51 }, 'top', /a whole number from 1 to 50/);
    refused({ game: 7, from: '20261101', to: '20261101', zone: 'UTC' }, 'zone', /unknown parameter "zone"; retention takes game \(game\), from \(day\), to \(day\), server\? \(range\)/);
    refused({ game: 7, from: '20261102', to: '20261101' }, 'to', /to 20261101 is before from 20261102/);
    refused({ game: 7, from: '20261101', to: '20261201' }, 'to', /covers 31 days; at most 30 \(20261101\.\.20261130\)/, 30);
    refused([], 'params', /params must be an object/);
    refused({ game: 7, from: true, to: '20261101' }, 'from', /from true/);
  });

  test('a bad declaration fails when the job file loads, naming the analysis', () => {
    const bad = (definition: object, message: RegExp) => assert.throws(() => defineAnalysis(definition as never), (err: unknown) => isUserError(err) && message.test(err.message));
    bad({ name: '1x', params: {}, compute: () => 1 }, /name is not valid/);
    bad({ name: 'x', params: { game: 'number' }, compute: () => 1 }, /parameter game must be declared with param/);
    bad({ name: 'x', params: { day: param.day(), n: param.whole() }, days: { from: 'day', to: 'n' }, compute: () => 1 }, /days names "n", which is not a param\.day\(\)/);
    bad({ name: 'x', params: {}, cacheSeconds: 0, compute: () => 1 }, /cacheSeconds must be a positive whole number/);
    bad({ name: 'x', params: {} }, /compute\(params, ctx\) is missing/);
  });

  test('a job lists its analyses; precompute adds a task that reruns refuse', () => {
    const pre = defineAnalysis({ name: 'curve', params: { game: param.game() }, precompute: { atExecute: 'd6H0', params: async () => [] }, compute: () => 1 });
    const job = defineJob({ name: 'a', registerTask: [], analyses: [retention, pre] });
    assert.equal(job.analysis('retention'), retention);
    assert.equal(job.analysis('nope'), undefined);
    const task = job.task('curve_precompute');
    assert.equal(task?.schedule.kind, 'calendar');
    assert.equal(task?.enableReExecute, false);
    assert.throws(() => defineJob({ name: 'a', registerTask: [], analyses: [pre, pre] }), /analysis curve is declared twice/);
    assert.throws(() => defineJob({ name: 'a', registerTask: [] }), /registerTask must list at least one task/);
  });
});

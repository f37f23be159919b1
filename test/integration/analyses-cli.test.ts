/**
 * `gflow ask` (in process: its parsing and printing are what is tested) and
 * pre-analysis, against a real dev server, slave, Redis and MySQL, with the
 * fixture job `ask` (test/fixtures/jobs/ask).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { askCommand } from '../../cli/commands/ask';
import { jobsCommand } from '../../cli/commands/jobs';
import { cachedAnswer } from '../../store/analyses/answers';
import { setConfig } from '../../store/config/runtime-config';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import type { Slave } from '../../worker/slave';
import { runInProcess } from '../helpers/in-process-cli';
import { startScheduled } from '../helpers/runs';
import { startStack, stopStack, type TestStack } from '../helpers/stack';
import { withSlaves } from '../helpers/slaves';

const JOBS = join(__dirname, '../fixtures/jobs/ask');

describe('gflow ask and pre-analysis', () => {
  let stack: TestStack | undefined;
  let release: (() => void) | undefined;
  let slavesDone: Promise<unknown> | undefined;
  const env: Record<string, string | undefined> = {};

  before(async () => {
    stack = await startStack({ jobsDir: JOBS }, { games: [7, 8] });
    // The command reads its config from the environment, as from a shell.
    for (const [k, v] of Object.entries({ TEMPORAL_ADDRESS: stack.env.address, GFLOW_JOBS: JOBS })) {
      env[k] = process.env[k];
      process.env[k] = v;
    }
    const redis = getRedis(stack.config.redisUrl);
    await redis.sadd(stack.names.redisKey('ask', 7, '20261101'), 'a', 'b', 'c');
    await redis.sadd(stack.names.redisKey('ask', 7, '20261102'), 'b', 'd');
    await redis.sadd(stack.names.redisKey('ask', 8, '20261101'), 'x');
    const started = new Promise<void>((ready) => {
      slavesDone = withSlaves(stack!.config, ['s1'], (_: Slave[]) => {
        ready();
        return new Promise<void>((r) => (release = r));
      });
    });
    await started;
  });

  after(async () => {
    release?.();
    await slavesDone;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    await stopStack(stack);
  });

  const ask = (...args: string[]) => runInProcess(askCommand(), args, stack!.names.prefix);
  const ledgerRows = async () => {
    const [rows] = await getMysql(stack!.config.mysqlUrl).query<RowDataPacket[]>(
      `SELECT workflow_id, origin, outcome FROM \`${stack!.names.schema('meta')}\`.ledger_analyses ORDER BY id`,
    );
    return rows;
  };

  test('gflow jobs lists the analyses and their parameters, and the pre-analysis task', async () => {
    const { code, out } = await runInProcess(jobsCommand(), ['--offline'], stack!.names.prefix);
    assert.equal(code, 0, out);
    assert.match(out, /^ask\s+users_precompute\s+daily at 06:00/m);
    assert.match(out, /^analysis \(gflow ask\)\s+params \(\? optional\)\s+what$/m);
    assert.match(out, /^ask\.users\s+game \(game\), from \(day\), to \(day\)\s+users seen, per day and in all$/m);
    assert.match(out, /^ask\.fails\s+game \(game\)\s*$/m);
  });

  test('bad requests: one line, exit 2, nothing computed', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['ask.nope', '-p', 'game=7'], /unknown analysis "ask\.nope"; known: ask\.users, ask\.fails, ask\.gated/],
      [['ask.users', '-p', 'game=7', '-p', 'from=20261101'], /parameter to is missing: expected a day as YYYYMMDD/],
      [['ask.users', '-p', 'game=seven', '-p', 'from=20261101', '-p', 'to=20261102'], /parameter game "seven": expected a game id/],
      [['ask.users', '-p', 'game=7', '-p', 'from=20261102', '-p', 'to=20261101'], /parameter to 20261101 is before from 20261102/],
      [['ask.users', '-p', 'game=7', '-p', 'from=20260101', '-p', 'to=20261101'], /covers 305 days; at most 92/],
      [['ask.users', '-p', 'game=7', '-p', 'from=20261101', '-p', 'to=20261101', '-p', 'zone=UTC'], /unknown parameter "zone"; ask\.users takes game \(game\), from \(day\), to \(day\)|unknown parameter "zone"/],
      [['ask.users', '-p', 'game'], /--param "game": expected name=value/],
      [['ask.users', '-p', 'game=7', '-p', 'game=8'], /--param game is given twice/],
      // A game the registry does not know: refused here, not started only to fail in a workflow.
      [['ask.users', '-p', 'game=9', '-p', 'from=20261101', '-p', 'to=20261102', '--wait'], /^parameter game 9: no such game in the games registry \(gflow games list shows them\)$/],
    ];
    for (const [args, message] of cases) {
      const { code, out } = await ask(...args);
      assert.equal(code, 2, `${args.join(' ')} → ${out}`);
      assert.match(out, message);
      assert.equal(out.trim().split('\n').length, 1, out);
    }
    assert.deepEqual(await ledgerRows(), []);
  });

  test('--wait computes on a slave and prints a table; asked again, the answer is the cache', async () => {
    const first = await ask('ask.users', '-p', 'game=7', '-p', 'from=20261101', '-p', 'to=20261102', '--wait', '--json');
    assert.equal(first.code, 0, first.out);
    const answer = JSON.parse(first.out);
    assert.deepEqual(answer.result, { users: 4, days: { '20261101': 3, '20261102': 2 } });
    assert.equal(answer.id, `${stack!.names.prefix}.ask.users.ask.game=7,from=20261101,to=20261102`);
    assert.equal(answer.cached, false);
    assert.equal(answer.provisional, false);

    const again = await ask('ask.users', '-p', 'to=20261102', '-p', 'from=20261101', '-p', 'game=7');
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /^ask\.users game=7,from=20261101,to=20261102: final, from the cache at /);
    // No second computation: one ledger row, one workflow run.
    assert.deepEqual(
      (await ledgerRows()).map((r) => [r.origin, r.outcome]),
      [['cli', 'ok']],
    );
    const runs = [];
    for await (const w of stack!.env.client.workflow.list({ query: `WorkflowId = '${answer.id}'` })) runs.push(w);
    assert.equal(runs.length, 1);
  });

  test('a day not yet over is provisional', async () => {
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const { code, out } = await ask('ask.users', '-p', 'game=8', '-p', `from=${today}`, '-p', `to=${today}`, '--wait', '--json');
    assert.equal(code, 0, out);
    assert.equal(JSON.parse(out).provisional, true);
    const ttl = await getRedis(stack!.config.redisUrl).ttl((await import('../../store/analyses/answers')).answerKey(stack!.names, 'ask.users', { game: 8, from: today, to: today }));
    assert.ok(ttl > 0 && ttl <= 86_400, `cached at most until the day ends, ttl ${ttl}`);
  });

  test('a failing analysis: one line, exit 1, recorded as failed', async () => {
    const { code, out } = await ask('ask.fails', '-p', 'game=7', '--wait');
    assert.equal(code, 1, out);
    assert.match(out, /^ask\.fails failed: the source of game 7 is unreachable \(request .*ask\.fails\.ask\.game=7\)$/);
    assert.ok((await ledgerRows()).some((r) => r.origin === 'cli' && r.outcome === 'failed' && String(r.workflow_id).includes('ask.fails')));
  });

  test('without --wait: the id, then the answer once computed', async () => {
    await setConfig(getRedis(stack!.config.redisUrl), stack!.names, 'analyses.cacheSeconds', '600');
    const { code, out } = await ask('ask.users', '-p', 'game=8', '-p', 'from=20261101', '-p', 'to=20261101', '--json');
    assert.equal(code, 0, out);
    const { id, status } = JSON.parse(out);
    assert.equal(status, 'running');
    const done = await stack!.env.client.workflow.getHandle(id).result();
    assert.deepEqual(done.result, { users: 1, days: { '20261101': 1 } });
    const ttl = await getRedis(stack!.config.redisUrl).ttl((await import('../../store/analyses/answers')).answerKey(stack!.names, 'ask.users', { game: 8, from: '20261101', to: '20261101' }));
    assert.ok(ttl > 0 && ttl <= 600, `the runtime setting's TTL, got ${ttl}`);
  });

  test('pre-analysis: the precompute task fills the cache per game, recorded as a run and as analyses', async () => {
    const handle = await startScheduled(stack!, 'ask', 'users_precompute', '20261102');
    const summary = await handle.result();
    assert.equal(summary.outcome, 'ok');
    assert.deepEqual([...summary.games].sort(), [7, 8]);
    const seven = await cachedAnswer(getRedis(stack!.config.redisUrl), stack!.names, 'ask.users', { game: 7, from: '20261102', to: '20261102' });
    assert.deepEqual(seven?.result, { users: 2, days: { '20261102': 2 } });
    assert.equal(seven?.cached, true);
    const rows = (await ledgerRows()).filter((r) => r.origin === 'task');
    assert.equal(rows.length, 2);
    // The front end's question is now answered from the cache, by the CLI too, and with Temporal unreachable.
    const { out } = await ask('ask.users', '-p', 'game=8', '-p', 'from=20261102', '-p', 'to=20261102', '--json');
    assert.equal(JSON.parse(out).cached, true);
    const address = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
    try {
      const offline = await ask('ask.users', '-p', 'game=8', '-p', 'from=20261102', '-p', 'to=20261102', '--json');
      assert.equal(offline.code, 0, offline.out);
      assert.deepEqual(JSON.parse(offline.out), JSON.parse(out));
      // Not cached: Temporal is needed, and its absence is one line naming it.
      const uncached = await ask('ask.users', '-p', 'game=8', '-p', 'from=20261103', '-p', 'to=20261103');
      assert.equal(uncached.code, 1, uncached.out);
      assert.match(uncached.out, /^Temporal at 127\.0\.0\.1:1 is unreachable/);
    } finally {
      process.env.TEMPORAL_ADDRESS = address;
    }
  });
});

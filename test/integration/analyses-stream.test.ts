/**
 * The Redis request stream against a real dev server, slaves, Redis and
 * MariaDB: a front end XADDs a request and BLPOPs its answer, computed by a
 * workflow with a readable id (or served from the cache), equal to the
 * figures the test computes itself and to the CLI path's; malformed
 * requests get an error reply naming the field (or, with nowhere to reply,
 * land on the rejected stream), with nothing computed; a request read by a
 * consumer that died, re-claimed again and again, or met with Temporal
 * down, is answered exactly once; a compute that throws is an error answer.
 * A request that fails on every delivery holds up none behind it, read or
 * re-claimed with it, and is given up after `analyses.maxFailures` failures
 * (an error reply saying how many, or the rejected stream); neither an
 * outage nor a re-claim while it computes counts as one; a round of which
 * every request failed backs off. Every entry is acknowledged in the
 * end, and the stream is trimmed of what every group (a foreign one too)
 * has acknowledged.
 */
import type { Client } from '@temporalio/client';
import { DEFAULT_ANALYSIS_TIMEOUT_SECONDS } from '../../core/analysis';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { RowDataPacket } from 'mysql2/promise';
import type { AnalysisInput } from '../../activities/analysis';
import { ask, prepareAsk } from '../../client/analyses';
import { dayRange } from '../../core/day';
import { loadJobs } from '../../infra/jobs';
import { createLogger } from '../../infra/logger';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import { answerKey, storeAnswer } from '../../store/analyses/answers';
import { answeredMarker, keySlot, REQUEST_GROUP, rejectedRequestStream, requestFailuresKey, requestStream } from '../../store/analyses/requests';
import { configHashKey, setConfig } from '../../store/config/runtime-config';
import { compareStreamIds, ensureGroup } from '../../store/stream-groups';
import { createRequestConsumer } from '../../worker/requests';
import { createSlave } from '../../worker/slave';
import { withSlaves } from '../helpers/slaves';
import { startStack, stopStack, type TestStack } from '../helpers/stack';
import { until } from '../helpers/until';

const JOBS = resolve(__dirname, '../fixtures/jobs/ask');
const registry = loadJobs(JOBS);

let stack: TestStack;
const redis = () => getRedis(stack.config.redisUrl);
const mysql = () => getMysql(stack.config.mysqlUrl);
const deps = () => ({ config: stack.config, registry, redis: redis() });

/** Who was seen on which day of game 7: what `ask.users` reads, and what the test counts on its own. */
const SEEN: Record<string, readonly string[]> = {
  '20261001': ['u1', 'u2', 'u3'],
  '20261002': ['u2', 'u3', 'u4', 'u5'],
  '20261003': ['u1', 'u6'],
  '20261005': ['u7', 'u8', 'u2'],
};

function expectedUsers(from: string, to: string): { users: number; days: Record<string, number> } {
  const days = dayRange(from, to);
  return { users: new Set(days.flatMap((d) => SEEN[d] ?? [])).size, days: Object.fromEntries(days.map((d) => [d, SEEN[d]?.length ?? 0])) };
}

before(async () => {
  // The games the requests name: an unknown game is refused before anything starts.
  stack = await startStack({ jobsDir: JOBS }, { games: [3, 4, 5, 7] });
  for (const [day, users] of Object.entries(SEEN)) await redis().sadd(stack.names.redisKey('ask', 7, day), ...users);
  // The cap a request's day range must keep to, set at runtime.
  await setConfig(redis(), stack.names, 'analyses.maxDays', '14');
});

after(() => stopStack(stack));

let replies = 0;
/** A fresh reply list (under the test's prefix, so the teardown drops it). */
const replyKey = () => stack.names.redisKey('test', 'reply', ++replies);

/** XADD a request (an object as JSON, or raw fields); its entry id. */
async function send(request: unknown, fields?: string[]): Promise<string> {
  const args = fields ?? ['request', typeof request === 'string' ? request : JSON.stringify(request)];
  return (await redis().xadd(requestStream(stack.names), '*', ...args))!;
}

/** What a front end does: BLPOP the reply list (on its own connection, as it blocks). */
async function blpop(key: string): Promise<Record<string, unknown>> {
  const connection = redis().duplicate();
  try {
    const popped = await connection.blpop(key, 60);
    assert.ok(popped, `no reply on ${key} within a minute`);
    return JSON.parse(popped[1]) as Record<string, unknown>;
  } finally {
    connection.disconnect();
  }
}

async function pendingCount(): Promise<number> {
  const summary = (await redis().call('XPENDING', requestStream(stack.names), REQUEST_GROUP)) as unknown[];
  return Number(summary[0]);
}

const allAcknowledged = () => until('every entry acknowledged', async () => ((await pendingCount()) === 0 ? true : undefined));

/** How many times entry `id` was delivered (read, then re-claimed), by XPENDING; 0 once acknowledged. */
async function deliveries(id: string): Promise<number> {
  const rows = (await redis().call('XPENDING', requestStream(stack.names), REQUEST_GROUP, id, id, 1)) as Array<[string, string, number, number]>;
  return Number(rows[0]?.[3] ?? 0);
}

/** How many times entry `id` failed for a reason of its own, as counted; 0 when it has no count. */
async function failuresOf(id: string): Promise<number> {
  return Number((await redis().hget(requestFailuresKey(stack.names), id)) ?? 0);
}

async function ledger(workflowId?: string): Promise<Array<{ workflow_id: string; origin: string; outcome: string; error: string | null }>> {
  const [rows] = await mysql().query<RowDataPacket[]>(
    `SELECT workflow_id, origin, outcome, error FROM \`${stack.names.schema('meta')}\`.ledger_analyses ${workflowId ? 'WHERE workflow_id = ?' : ''} ORDER BY id`,
    workflowId ? [workflowId] : [],
  );
  return rows as Array<{ workflow_id: string; origin: string; outcome: string; error: string | null }>;
}

/** The id the request's workflow has: readable, from the analysis and its parameters in declared order. */
const runId = (analysis: string, readable: string) => `${stack.config.prefix}.ask.${analysis}.ask.${readable}`;

async function closed(workflowId: string): Promise<void> {
  await until(`${workflowId} closed`, async () => ((await stack.env.client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING' ? undefined : true));
}

/** How many times the workflow was told of a stream request (`replyTo`), or `undefined` before it exists. */
async function replyToSignals(workflowId: string): Promise<number | undefined> {
  try {
    const history = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'replyTo').length;
  } catch {
    return undefined;
  }
}

/**
 * A request consumer of its own, `slave` by name, started now (its log lines
 * to `log`; Temporal from `temporal`, the stack's by default), and with
 * `runner`, a slave that runs the analysis workflows but answers no requests
 * itself. `stop()` ends both.
 */
async function ownConsumer(slave: string, options: { log?: (line: string) => void; temporal?: () => Promise<Client>; runner?: boolean } = {}): Promise<{ stop(): Promise<void> }> {
  const runner = options.runner ? await createSlave({ config: stack.config, slave: 'runner', shutdownGraceSeconds: 1, answerRequests: false }) : undefined;
  const running = runner?.run();
  const consumer = createRequestConsumer({
    config: stack.config,
    registry,
    names: stack.names,
    redis: redis(),
    slave,
    log: createLogger('requests', options.log ?? (() => undefined)),
    temporal: options.temporal ?? (async () => stack.env.client),
  });
  const consuming = consumer.run();
  return {
    async stop() {
      consumer.stop();
      await consuming;
      runner?.shutdown();
      await running;
    },
  };
}

describe('the request stream answers on the reply list', { timeout: 240_000 }, () => {
  test('a request is answered with the figures, by a workflow named after its parameters; the CLI path agrees; the entry is acknowledged', async () => {
    const params = { game: 7, from: '20261001', to: '20261005' };
    const id = runId('users', 'game=7,from=20261001,to=20261005');
    await withSlaves(stack.config, ['s1'], async () => {
      const reply = replyKey();
      await send({ analysis: 'ask.users', params, reply });
      const answer = await blpop(reply);
      assert.deepEqual(answer.result, expectedUsers('20261001', '20261005'));
      assert.deepEqual([answer.ok, answer.id, answer.analysis, answer.cached, answer.provisional], [true, id, 'ask.users', false, false]);
      assert.deepEqual(answer.params, params);

      // In Temporal (the web UI), with the analysis and its parameters.
      const handle = stack.env.client.workflow.getHandle(id);
      assert.equal((await handle.describe()).type, 'analysisRun');
      const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      const input = defaultPayloadConverter.fromPayload(started!.input!.payloads![0] as Payload) as AnalysisInput;
      assert.deepEqual([input.analysis, input.params, input.origin], ['ask.users', params, 'stream']);
      await allAcknowledged();
      assert.equal(await redis().llen(reply), 0);

      // `gflow ask` (and HTTP) computes the same, once the cache is gone (and the run closed: a running one would be joined).
      await closed(id);
      await redis().del(answerKey(stack.names, 'ask.users', input.params));
      const state = await ask(stack.env.client, deps(), await prepareAsk(deps(), 'ask.users', { game: '7', from: '20261001', to: '20261005' }), { origin: 'cli', wait: true });
      assert.ok(state.status === 'done', JSON.stringify(state));
      assert.deepEqual([state.answer.id, state.answer.cached, state.answer.result], [id, false, answer.result]);
      assert.deepEqual(
        (await ledger(id)).map((r) => [r.origin, r.outcome]),
        [
          ['stream', 'ok'],
          ['cli', 'ok'],
        ],
      );
    });
  });

  test('the same request again is answered from the cache: no new workflow run, nothing computed', async () => {
    const id = runId('users', 'game=7,from=20261002,to=20261004');
    await withSlaves(stack.config, ['s1'], async () => {
      const first = replyKey();
      await send({ analysis: 'ask.users', params: { game: 7, from: '20261002', to: '20261004' }, reply: first });
      const computed = await blpop(first);
      assert.deepEqual([computed.ok, computed.id, computed.cached], [true, id, false]);
      await closed(id);
      const { runId: run } = await stack.env.client.workflow.getHandle(id).describe();

      // Identical once normalised: other order, the game as text.
      const second = replyKey();
      const entry = await send({ reply: second, params: { to: '20261004', game: '7', from: '20261002' }, analysis: 'ask.users' });
      const served = await blpop(second);
      assert.deepEqual([served.ok, served.id, served.cached], [true, id, true]);
      assert.deepEqual(served.result, computed.result);
      assert.deepEqual(served.result, expectedUsers('20261002', '20261004'));
      assert.notEqual(entry, undefined);
      // The reply came from the cache, not from a workflow: the workflow's latest run is still the first, computed once.
      assert.equal((await stack.env.client.workflow.getHandle(id).describe()).runId, run);
      assert.equal((await ledger(id)).length, 1);
      await allAcknowledged();
    });
  });

  test('malformed requests get an error reply naming the field (or are kept as rejected when they name no reply list); nothing is computed; all are acknowledged', async () => {
    const computedBefore = (await ledger()).length;
    const notAList = stack.names.redisKey('test', 'not-a-list');
    await redis().set(notAList, 'a string');
    await withSlaves(stack.config, ['s1'], async () => {
      const answered: Array<{ request: unknown; field: string; error: RegExp }> = [
        { request: { analysis: 'ask.nope', params: { game: 7 } }, field: 'analysis', error: /unknown analysis "ask\.nope"; known: ask\.users/ },
        { request: { analysis: 42 }, field: 'analysis', error: /analysis must be/ },
        { request: { analysis: 'ask.users', params: [7] }, field: 'params', error: /params must be an object/ },
        { request: { analysis: 'ask.users', params: { game: 7, from: '20261001' } }, field: 'to', error: /parameter to is missing/ },
        { request: { analysis: 'ask.users', params: { game: 7, from: '20261340', to: '20261341' } }, field: 'from', error: /expected a day as YYYYMMDD/ },
        { request: { analysis: 'ask.users', params: { game: 'seven', from: '20261001', to: '20261002' } }, field: 'game', error: /expected a game id/ },
        { request: { analysis: 'ask.users', params: { game: 9, from: '20261001', to: '20261002' } }, field: 'game', error: /parameter game 9: no such game in the games registry/ },
        { request: { analysis: 'ask.users', params: { game: 7, from: '20261001', to: '20261020' } }, field: 'to', error: /covers 20 days; at most 14/ },
        { request: { analysis: 'ask.users', params: { game: 7, from: '20261005', to: '20261001' } }, field: 'to', error: /before from/ },
        { request: { analysis: 'ask.users', params: { game: 7, from: '20261001', to: '20261002', colour: 'red' } }, field: 'colour', error: /unknown parameter "colour"/ },
      ];
      const sent = [];
      for (const a of answered) {
        const reply = replyKey();
        sent.push({ ...a, reply, entry: await send({ ...(a.request as object), reply }) });
      }
      // Nowhere to answer: no request field, not JSON, not an object, no reply list, a reply key that is not a list.
      const rejected = [
        { entry: await send(undefined, ['event', '{"analysis":"ask.users"}']), reason: /no "request" field/ },
        { entry: await send('{"analysis": "ask.users", "reply": '), reason: /not JSON/ },
        { entry: await send('["ask.users"]'), reason: /must be a JSON object/ },
        { entry: await send({ analysis: 'ask.users', params: { game: 7 } }), reason: /reply must name a Redis list/ },
        { entry: await send({ analysis: 'ask.nope', reply: notAList }), reason: /is not a list/ },
      ];

      for (const s of sent) {
        const reply = await blpop(s.reply);
        assert.deepEqual([reply.ok, reply.id, reply.field], [false, s.entry, s.field], JSON.stringify(s.request));
        assert.match(String(reply.error), s.error);
      }
      await allAcknowledged();
      const kept = (await redis().xrange(rejectedRequestStream(stack.names), '-', '+')).map(([, fields]) => Object.fromEntries(pairs(fields)));
      for (const r of rejected) {
        const found = kept.find((k) => k.id === r.entry);
        assert.ok(found, `entry ${r.entry} kept as rejected`);
        assert.match(found.reason!, r.reason);
      }
      assert.equal(await redis().get(notAList), 'a string');
    });
    assert.equal((await ledger()).length, computedBefore, 'nothing computed');
  });

  test('a compute that throws is an error answer on the reply list', async () => {
    await withSlaves(stack.config, ['s1'], async () => {
      const reply = replyKey();
      await send({ analysis: 'ask.fails', params: { game: 5 }, reply });
      const answer = await blpop(reply);
      assert.equal(answer.ok, false);
      assert.match(String(answer.error), /the source of game 5 is unreachable/);
      await allAcknowledged();
      const rows = await ledger(runId('fails', 'game=5'));
      assert.ok(rows.length >= 1 && rows.every((r) => r.outcome === 'failed'));
      await closed(runId('fails', 'game=5'));
      assert.equal(await redis().llen(reply), 0);
    });
  });
});

describe('compensation: every request is answered exactly once', { timeout: 240_000 }, () => {
  before(async () => {
    await setConfig(redis(), stack.names, 'analyses.claimSeconds', '1');
  });

  test('a request read by a consumer that died is re-claimed by a slave and answered once', async () => {
    const stream = requestStream(stack.names);
    await ensureGroup(redis(), stream, REQUEST_GROUP);
    const reply = replyKey();
    const entry = await send({ analysis: 'ask.users', params: { game: 7, from: '20261003', to: '20261005' }, reply });
    // A slave reads it, then dies before doing anything with it.
    const read = (await redis().call('XREADGROUP', 'GROUP', REQUEST_GROUP, 'dead-slave', 'COUNT', 10, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
    assert.deepEqual(
      read[0]![1].map(([id]) => id),
      [entry],
    );
    await withSlaves(stack.config, ['s2'], async () => {
      const answer = await blpop(reply);
      assert.deepEqual([answer.ok, answer.result], [true, expectedUsers('20261003', '20261005')]);
      await allAcknowledged();
      await closed(String(answer.id));
      assert.equal(await redis().llen(reply), 0, 'one reply only');
    });
  });

  test('a request re-claimed and handed to its workflow again and again, by two slaves, while it computes, gets one reply', async () => {
    const id = runId('gated', 'game=3');
    const reply = replyKey();
    await withSlaves(stack.config, ['s1', 's2'], async () => {
      const entry = await send({ analysis: 'ask.gated', params: { game: 3 }, reply });
      // Idle past claimSeconds while it computes: re-claimed and signalled again (the workflow knows the entry).
      await until('the request signalled three times', async () => ((await replyToSignals(id)) ?? 0) >= 3 || undefined);
      await redis().set(stack.names.redisKey('ask', 'gate'), '1');
      const answer = await blpop(reply);
      assert.deepEqual([answer.ok, answer.id, answer.result], [true, id, { game: 3, opened: true }]);
      await allAcknowledged();
      await closed(id);
      assert.equal(await redis().llen(reply), 0, 'one reply only');
      assert.equal(await redis().exists(answeredMarker(stack.names, entry, reply)), 1);
      assert.equal((await ledger(id)).length, 1, 'computed once');
    });
  });

  test('with Temporal unreachable the request stays pending, and is answered once Temporal is back', async () => {
    // An outage is no fault of the request: even a single allowed failure does not give it up.
    await setConfig(redis(), stack.names, 'analyses.maxFailures', '1');
    let refused = 0;
    const consumer = await ownConsumer('flaky', {
      runner: true,
      temporal: async () => {
        if (refused < 3) {
          refused++;
          throw new Error('Temporal at 127.0.0.1:1 is unreachable');
        }
        return stack.env.client;
      },
    });
    try {
      const reply = replyKey();
      const entry = await send({ analysis: 'ask.users', params: { game: 7, from: '20261001', to: '20261003' }, reply });
      const answer = await blpop(reply);
      assert.deepEqual([answer.ok, answer.result], [true, expectedUsers('20261001', '20261003')]);
      assert.equal(refused, 3);
      assert.equal(await failuresOf(entry), 0, 'no failure counted');
      await allAcknowledged();
      await closed(String(answer.id));
      assert.equal(await redis().llen(reply), 0, 'one reply only');
    } finally {
      await consumer.stop();
      await redis().hdel(configHashKey(stack.names), 'analyses.maxFailures');
    }
  });

  test('a request re-claimed again and again while it computes, then failing once, is not given up: its failures count, not its deliveries', async () => {
    const params = { game: 4 };
    const id = runId('gated', 'game=4');
    const gate = stack.names.redisKey('ask', 'gate');
    // Closed again (a test above opened it): the compute waits, the entry idles past claimSeconds, and is re-claimed.
    await redis().del(gate);
    await setConfig(redis(), stack.names, 'analyses.maxFailures', '2');
    // The poison, once: the cached answer of these parameters a hash, so a re-claim's cache read answers WRONGTYPE.
    const prepared = await prepareAsk(deps(), 'ask.gated', params);
    const cacheKey = answerKey(stack.names, prepared.name, prepared.params);
    const lines: string[] = [];
    let entry = '';
    const consumer = await ownConsumer('slow', {
      runner: true,
      log: (line) => {
        lines.push(line);
        // Mended as its failure is logged: the DEL goes out on the consumer's own connection before its next command, so the entry fails once.
        if (line.includes(`request ${entry} failed`)) void redis().del(cacheKey);
      },
    });
    try {
      const reply = replyKey();
      entry = await send({ analysis: 'ask.gated', params, reply });
      // Handed over, then re-claimed and handed over again while it computes: more deliveries than the failures allowed.
      await until('the request delivered three times', async () => ((await deliveries(entry)) >= 3 ? true : undefined));
      // Its compute is bounded by the analysis's own time limit (ask.gated declares none: the default).
      const scheduled = (await stack.env.client.workflow.getHandle(id).fetchHistory()).events?.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes;
      assert.equal(Number(scheduled?.startToCloseTimeout?.seconds), DEFAULT_ANALYSIS_TIMEOUT_SECONDS);
      await redis().hset(cacheKey, 'not', 'an answer');
      const failed = await until('the request failed, or was given up', async () => lines.find((l) => l.includes(`request ${entry} failed`) || l.includes(`request ${entry} given up`)));
      assert.match(failed, /request \S+ failed \(failure 1 of at most 2\); left pending to be re-claimed: WRONGTYPE/);
      // Handed over again at the next re-claim: the failure it had is forgotten.
      await until('its failure forgotten', async () => ((await failuresOf(entry)) === 0 ? true : undefined));
      assert.equal(await redis().llen(reply), 0, 'not given up');

      await redis().set(gate, '1');
      const answer = await blpop(reply);
      assert.deepEqual([answer.ok, answer.id, answer.result], [true, id, { game: 4, opened: true }]);
      await allAcknowledged();
      await closed(id);
      assert.equal(await redis().llen(reply), 0, 'one reply only');
      const about = lines.filter((l) => l.includes(entry));
      assert.deepEqual(
        about.map((l) => /request \S+ (failed \(failure \d of at most \d\))/.exec(l)?.[1] ?? l),
        ['failed (failure 1 of at most 2)'],
        'one failure, nothing given up',
      );
    } finally {
      await consumer.stop();
      await redis().hdel(configHashKey(stack.names), 'analyses.maxFailures');
      await redis().del(cacheKey);
      await redis().set(gate, '1');
    }
  });

  test('a request that fails on every delivery holds up none behind it, and is given up after analyses.maxFailures failures: an error reply saying how many, or the rejected stream', async () => {
    // The poison: the cached answer of these parameters is a hash, so every delivery's cache read answers WRONGTYPE.
    const poison = { game: 7, from: '20261006', to: '20261006' };
    const prepared = await prepareAsk(deps(), 'ask.users', poison);
    const cacheKey = answerKey(stack.names, prepared.name, prepared.params);
    await redis().hset(cacheKey, 'not', 'an answer');
    const notAList = stack.names.redisKey('test', 'poison-not-a-list');
    await redis().set(notAList, 'a string');
    // No giving up while the test looks at the requests behind the poison.
    await setConfig(redis(), stack.names, 'analyses.maxFailures', '1000');
    const lines: string[] = [];
    // In one read, in this order: each poison entry before a good one.
    const [first, second, toNowhere] = [replyKey(), replyKey(), replyKey()];
    const poisonA = await send({ analysis: 'ask.users', params: poison, reply: toNowhere });
    await send({ analysis: 'ask.users', params: { game: 7, from: '20261001', to: '20261002' }, reply: first });
    const poisonB = await send({ analysis: 'ask.users', params: poison, reply: notAList });
    await send({ analysis: 'ask.users', params: { game: 7, from: '20261002', to: '20261003' }, reply: second });
    const consumer = await ownConsumer('poisoned', { runner: true, log: (line) => lines.push(line) });
    try {
      assert.deepEqual((await blpop(first)).result, expectedUsers('20261001', '20261002'));
      assert.deepEqual((await blpop(second)).result, expectedUsers('20261002', '20261003'));
      // The poison entries stay pending: re-claimed, failing again.
      const pending = async () => ((await redis().call('XPENDING', requestStream(stack.names), REQUEST_GROUP, '-', '+', 100)) as Array<[string, string, number, number]>).map(([id]) => id);
      await until('both poison entries failed twice, alone pending', async () => {
        const ids = await pending();
        return ids.length === 2 && (await failuresOf(poisonA)) >= 2 && (await failuresOf(poisonB)) >= 2 ? ids : undefined;
      }).then((ids) => assert.deepEqual(ids, [poisonA, poisonB]));
      assert.equal(await redis().llen(toNowhere), 0, 'not given up yet');

      await setConfig(redis(), stack.names, 'analyses.maxFailures', '3');
      const given = await blpop(toNowhere);
      assert.deepEqual([given.ok, given.id], [false, poisonA]);
      // The number is its failures: one logged each, but for the last, which gave it up.
      const failures = /^could not be answered after (\d+) failures: WRONGTYPE/.exec(String(given.error));
      const failedLines = lines.filter((l) => l.includes(`request ${poisonA} failed (failure `)).length;
      assert.ok(failures && Number(failures[1]) >= 3, String(given.error));
      assert.equal(Number(failures[1]), failedLines + 1, lines.join('\n'));
      await allAcknowledged();
      for (const id of [poisonA, poisonB]) assert.equal(await failuresOf(id), 0, 'its count dropped once given up');

      // The other's reply list takes no reply: kept on the rejected stream, with what it asked.
      const kept = (await redis().xrange(rejectedRequestStream(stack.names), '-', '+')).map(([, fields]) => Object.fromEntries(pairs(fields)));
      const rejected = kept.filter((k) => k.id === poisonB);
      assert.equal(rejected.length, 1, 'kept once');
      assert.match(rejected[0]!.reason!, /is not a list: .*could not be answered after \d+ failures: WRONGTYPE/);
      assert.match(rejected[0]!.entry!, /20261006/);
      assert.equal(await redis().get(notAList), 'a string');

      // Once each: one reply, one log line, whatever re-claims followed.
      assert.equal(await redis().llen(toNowhere), 0, 'one reply only');
      for (const id of [poisonA, poisonB]) assert.equal(lines.filter((l) => l.includes(`request ${id} given up`)).length, 1, lines.join('\n'));
    } finally {
      await consumer.stop();
      await redis().hdel(configHashKey(stack.names), 'analyses.maxFailures');
      await redis().del(cacheKey);
    }
  });

  test('a good request re-claimed behind a poison one is answered in the same round; a round of which every request failed backs off', async () => {
    const stream = requestStream(stack.names);
    await ensureGroup(redis(), stream, REQUEST_GROUP);
    // The poison: the cached answer of these parameters is a hash, so every delivery's cache read answers WRONGTYPE.
    const poison = { game: 7, from: '20261007', to: '20261007' };
    const prepared = await prepareAsk(deps(), 'ask.users', poison);
    const poisonKey = answerKey(stack.names, prepared.name, prepared.params);
    await redis().hset(poisonKey, 'not', 'an answer');
    // The good one's answer is cached: the consumer replies from it within the round, no workflow in between.
    const goodParams = { game: 7, from: '20261005', to: '20261005' };
    const good = await prepareAsk(deps(), 'ask.users', goodParams);
    const result = expectedUsers('20261005', '20261005');
    await storeAnswer(redis(), stack.names, { id: good.id, analysis: good.name, params: good.params, result, provisional: false, computedAt: new Date().toISOString(), cached: false }, 3600);
    // Given up at its second failure: in the re-claim round after the one that failed it first.
    await setConfig(redis(), stack.names, 'analyses.maxFailures', '2');
    // Both replies on one list: their order is the order they were given in.
    const reply = replyKey();
    const poisonEntry = await send({ analysis: 'ask.users', params: poison, reply });
    const goodEntry = await send({ analysis: 'ask.users', params: goodParams, reply });
    // A slave reads both, then dies: idle alike, they are re-claimed together, the poison first.
    const read = (await redis().call('XREADGROUP', 'GROUP', REQUEST_GROUP, 'dead-slave', 'COUNT', 10, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
    assert.deepEqual(
      read[0]![1].map(([id]) => id),
      [poisonEntry, goodEntry],
    );
    const lines: string[] = [];
    const consumer = await ownConsumer('reclaiming', { log: (line) => lines.push(line) });
    try {
      // The first round: the poison fails (once of two), the good one behind it is answered.
      const answered = await blpop(reply);
      assert.deepEqual([answered.ok, answered.id, answered.cached, answered.result], [true, good.id, true, result]);
      // The next, the poison alone: failed again, given up.
      const given = await blpop(reply);
      assert.deepEqual([given.ok, given.id], [false, poisonEntry]);
      assert.match(String(given.error), /^could not be answered after 2 failures: WRONGTYPE/);
      // A request answered at once: once it is, the loop has gone on from the round that gave the poison up.
      await send({ analysis: 'ask.nope', reply });
      assert.equal((await blpop(reply)).field, 'analysis');
      await allAcknowledged();

      // The round that answered the good one went straight on; the one in which every request failed backed off.
      const seen = lines.flatMap((l) => {
        if (l.includes(`request ${poisonEntry} failed (failure 1 of at most 2)`)) return ['failed once'];
        if (l.includes(`request ${poisonEntry} given up`)) return ['given up'];
        const backOff = /\] requests: (.*) \(attempt \d+; trying again in \d+ ms\)$/.exec(l);
        if (backOff) return [/^the one request of the round failed, the last: WRONGTYPE/.test(backOff[1]!) ? 'backed off' : `backed off: ${backOff[1]}`];
        return [];
      });
      assert.deepEqual(seen, ['failed once', 'given up', 'backed off'], lines.join('\n'));
    } finally {
      await consumer.stop();
      await redis().hdel(configHashKey(stack.names), 'analyses.maxFailures');
      await redis().del(poisonKey, answerKey(stack.names, good.name, good.params));
    }
  });

  test('the stream is trimmed of what every group acknowledged; a foreign group keeps what it has not', async () => {
    const stream = requestStream(stack.names);
    await ensureGroup(redis(), stream, REQUEST_GROUP);
    // Another team's group on the same stream (an audit trail, say), reading at its own pace.
    await redis().call('XGROUP', 'CREATE', stream, 'audit', '0');
    try {
      // Answered at once, nothing computed: an unknown analysis.
      const reply = replyKey();
      const pipeline = redis().pipeline();
      for (let i = 0; i < 300; i++) pipeline.xadd(stream, '*', 'request', JSON.stringify({ analysis: 'ask.nope', reply }));
      const ids = ((await pipeline.exec()) ?? []).map(([, id]) => String(id));
      // The audit group reads everything and acknowledges all before the 151st of these.
      const read = (await redis().call('XREADGROUP', 'GROUP', 'audit', 'auditor', 'COUNT', 100_000, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
      const audited = read[0]![1].map(([id]) => id).filter((id) => compareStreamIds(id, ids[150]!) < 0);
      await redis().xack(stream, 'audit', ...audited);
      const before = await redis().xlen(stream);

      await withSlaves(stack.config, ['s1'], async () => {
        await until('all 300 answered', async () => ((await redis().llen(reply)) === 300 ? true : undefined));
        await allAcknowledged();
        await until('the stream trimmed', async () => ((await redis().xlen(stream)) < before ? true : undefined));
      });
      const left = (await redis().xrange(stream, '-', '+')).map(([id]) => id);
      assert.deepEqual(left.slice(-150), ids.slice(150), 'what the audit group has pending stays');
      assert.ok(left.length >= 150);
    } finally {
      await redis().call('XGROUP', 'DESTROY', stream, 'audit');
    }
  });
});

describe('the push-once marker shares its reply list’s cluster slot', () => {
  test('keySlot is Redis Cluster’s hash slot, and every marker hashes to its reply key’s slot', () => {
    // ioredis's own slot function, as a second opinion.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const clusterSlot = require('cluster-key-slot') as (key: string) => number;
    const names = { redisKey: (...parts: Array<string | number>) => ['gflow', ...parts].join(':') } as never;
    // Not `{}{a}`: Redis hashes it whole (an empty first tag), cluster-key-slot hashes `{a`.
    for (const key of ['app:answers:42', 'a', '{user1000}.following', 'x{}y', 'é:ü:{答え}', 'a}b{c', 'gflow:test:reply:1']) {
      assert.equal(keySlot(key), clusterSlot(key), key);
      assert.equal(clusterSlot(answeredMarker(names, '1700000000000-0', key)), clusterSlot(key), key);
    }
  });
});

function pairs(fields: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push([fields[i]!, fields[i + 1]!]);
  return out;
}

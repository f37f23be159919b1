/**
 * The request stream's consumer, one per slave beside its Temporal workers:
 * reads `<prefix>:stream:requests` in the group `gflow-analyses` and turns
 * each request into an answer on its reply list (store/analyses/requests.ts
 * has the format):
 *
 * - a malformed request, or one a parameter of which is refused: an error
 *   reply naming the field, at once (nothing is computed);
 * - an answer in the cache: replied from it, at once (no workflow);
 * - else the analysis workflow, started or joined with this request's reply
 *   waiting (signal-with-start); the workflow pushes the reply.
 *
 * An entry is acknowledged only once its reply is on the list, by whoever
 * pushed it. An entry read by a slave that died before it was answered
 * stays pending: every `analyses.claimSeconds` each consumer re-claims
 * entries idle that long (XAUTOCLAIM) and handles them again; the push-once
 * marker, and the workflow ignoring a second signal for the same entry,
 * keep that to one reply. Redis or Temporal down: the consumer backs off
 * and tries again; what it had read stays pending and is re-claimed.
 *
 * One entry failing for a reason of its own (a poison request: a cache
 * entry that is not an answer, a payload Temporal refuses, a reply key the
 * ACL refuses) does not hold up the others: each entry is handled on its
 * own, and a failed one stays pending, to be re-claimed. Its failures are
 * counted, not its deliveries: a re-claim while its analysis computes, or
 * one after an outage, is none. Once it has failed `analyses.maxFailures`
 * times, it is given up: an error reply
 * `could not be answered after N failures: <last error>` on its reply list,
 * or, if that list takes none, a copy on the rejected stream; acknowledged
 * either way, and logged. An outage (Redis or Temporal down:
 * infra/outage.ts) gives no entry up: the consumer backs off instead.
 *
 * Every re-claim round also trims the stream of what every consumer group
 * has acknowledged (store/stream-groups.ts): front ends XADD without MAXLEN.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { ParamError } from '../core/analysis';
import { isUserError, messageOf } from '../core/errors';
import type { Names } from '../core/names';
import type { Config } from '../infra/config';
import type { JobRegistry } from '../infra/jobs';
import type { Logger } from '../infra/logger';
import { OutageError, outageOf } from '../infra/outage';
import type { Redis } from '../infra/redis';
import { askForReply, prepareAsk, type PreparedAsk } from '../client/analyses';
import { cachedAnswer } from '../store/analyses/answers';
import {
  answerRequest,
  countFailure,
  forgetFailures,
  giveUpRequest,
  isAnswered,
  pruneFailures,
  readRequest,
  rejectedRequestStream,
  rejectRequest,
  REQUEST_GROUP,
  requestStream,
} from '../store/analyses/requests';
import { dataSettings } from '../store/config/runtime-config';
import { ensureGroup, pruneConsumers, trimConsumed } from '../store/stream-groups';

/** Longest one blocking read waits: a read is also where the loop notices it is due to re-claim. */
const BLOCK_MS = 5000;
/** Entries per read or re-claim. */
const COUNT = 50;
/** Back-off after a failure (Redis or Temporal down): doubling from the first to the last. */
const BACKOFF_MS = [500, 30_000] as const;
/** Consumers of slaves gone for this long, with nothing pending, are removed from the group. */
const FORGET_CONSUMERS_MS = 86_400_000;

export interface RequestConsumerOptions {
  readonly config: Config;
  readonly registry: JobRegistry;
  readonly names: Names;
  /** The process's shared client: everything but the blocking read. */
  readonly redis: Redis;
  /** The slave's Temporal client, connected on first use. */
  readonly temporal: () => Promise<Client>;
  /** The slave's name: this consumer is `<slave>@<host>-<pid>` in the group. */
  readonly slave: string;
  readonly log: Logger;
}

export interface RequestConsumer {
  /** Read and answer requests until {@link stop}; never rejects. */
  run(): Promise<void>;
  /** Stop: the blocking read is cut short, an in-flight Temporal call aborted (its entry stays pending). */
  stop(): void;
}

type Entry = [id: string, fields: string[]];

export function createRequestConsumer(options: RequestConsumerOptions): RequestConsumer {
  const { config, registry, names, redis, log } = options;
  const stream = requestStream(names);
  const consumer = `${options.slave}@${hostname()}-${process.pid}`;
  const stopping = new AbortController();
  // Blocking reads get their own connection: on the shared one they would hold up every activity's command.
  let reader: Redis | undefined;

  function freshReader(): Redis {
    // A connection that gave up for good (a cluster client whose nodes were all down) is replaced.
    if (reader && reader.status !== 'end') return reader;
    reader = redis.duplicate();
    // ioredis reports connection failures as events: the read fails and is retried with back-off.
    reader.on('error', () => undefined);
    return reader;
  }

  /** New entries for this consumer, waiting at most `blockMs`. */
  async function read(blockMs: number): Promise<Entry[]> {
    // Stopped meanwhile: no new connection, no read that would hold the stop for `blockMs`.
    if (stopping.signal.aborted) return [];
    const reply = await freshReader().call('XREADGROUP', 'GROUP', REQUEST_GROUP, consumer, 'COUNT', COUNT, 'BLOCK', blockMs, 'STREAMS', stream, '>');
    return reply === null ? [] : entriesOf(((reply as unknown[])[0] as unknown[])[1]);
  }

  /** Entries another consumer (or this one) read and left unanswered for `idleMs`: now this consumer's. */
  async function claim(idleMs: number): Promise<Entry[]> {
    const claimed: Entry[] = [];
    let cursor = '0-0';
    do {
      const reply = (await redis.call('XAUTOCLAIM', stream, REQUEST_GROUP, consumer, idleMs, cursor, 'COUNT', COUNT)) as unknown[];
      cursor = String(reply[0]);
      claimed.push(...entriesOf(reply[1]));
    } while (cursor !== '0-0' && claimed.length < 10 * COUNT);
    return claimed;
  }

  /** Answer one entry, or hand it to the workflow that will; throws (leaving it pending) when Redis or Temporal fails. */
  async function handle([id, fields]: Entry, reclaimed: boolean): Promise<void> {
    const read = readRequest(fields);
    if (!read.ok) {
      if (read.reply === undefined) {
        // Nowhere to answer: kept on the rejected stream for whoever wonders where their request went.
        log.warn(`request ${id} cannot be answered (kept on ${stream}:rejected): ${read.error}`);
        return rejectRequest(redis, names, id, read.error, fields);
      }
      await answerRequest(redis, names, id, read.reply, { id, ok: false, error: read.error, field: read.field }, fields);
      return;
    }
    const { request } = read;
    // Answered already, its acknowledgement lost (or raced by the workflow): acknowledge, never start it again.
    if (reclaimed && (await isAnswered(redis, names, id, request.reply))) {
      await redis.xack(stream, REQUEST_GROUP, id);
      return;
    }
    let prepared: PreparedAsk;
    try {
      prepared = await prepareAsk({ config, registry, redis }, request.analysis, request.params);
    } catch (err) {
      // A bad request (a ParamError), or a setting no retry can mend, is the front end's answer; anything else is an outage: retried.
      if (!isUserError(err) || err.retryable) throw err;
      await answerRequest(redis, names, id, request.reply, { id, ok: false, error: err.message, ...(err instanceof ParamError && { field: err.field }) }, fields);
      return;
    }
    const cached = await cachedAnswer(redis, names, prepared.name, prepared.params);
    if (cached) {
      await answerRequest(redis, names, id, request.reply, { ok: true, ...cached }, fields);
      return;
    }
    let client: Client;
    try {
      client = await options.temporal();
    } catch (err) {
      // No client, whatever the reason: nothing to do with this entry.
      throw new OutageError(err);
    }
    // A signal per request: the SDK adds an abort listener per call and never removes it, so on the
    // slave-long `stopping` signal they would pile up with every request a slave answers.
    const call = new AbortController();
    const abort = () => call.abort();
    stopping.signal.addEventListener('abort', abort, { once: true });
    try {
      const workflowId = await client.withAbortSignal(call.signal, () => askForReply(client, { config, registry, redis }, prepared, { entryId: id, reply: request.reply }));
      log.debug(`request ${id} handed to ${workflowId}`);
    } finally {
      stopping.signal.removeEventListener('abort', abort);
    }
  }

  /**
   * One after the other, each on its own: one that fails stays pending (to
   * be re-claimed after `analyses.claimSeconds`, or given up: see
   * {@link failedOnce}) and the next is handled. What an outage
   * (infra/outage.ts) does depends on how far it reaches:
   * - the whole service (Redis or Temporal down): no failure of the
   *   entry's; the round stops at once and the loop backs off, the rest
   *   left pending: the next entries would fail alike, and hammering a
   *   server on its way back helps nobody;
   * - perhaps one slot of a Redis Cluster (CLUSTERDOWN, TRYAGAIN): the
   *   round goes on, as the next entries' keys may be in slots that serve.
   *   At its end, if no entry of the round was handled, it may be the whole
   *   cluster: nothing counted, the loop backs off. If another was, the
   *   cluster serves and only this entry's slot does not: that counts as
   *   the entry's own failure. So an entry whose slot stays down is given
   *   up after `analyses.maxFailures` such rounds (a re-claim apart each:
   *   minutes by default, longer than a failover or a slot's migration
   *   takes) rather than tried for ever; alone in its rounds, it is tried
   *   every `claimSeconds` and holds up nobody. (Each such round counts,
   *   not N in a row: no state to keep beyond the failure count.)
   * Every entry of the round failed: the loop backs off too, at the end (an
   * outage that does not say so looks like that; a lone poison entry pays
   * half a second). On a stop, the rest stay pending (another slave
   * re-claims them). Re-claimed entries handled after all lose the
   * failures counted against them.
   */
  async function handleAll(entries: readonly Entry[], reclaimed: boolean): Promise<void> {
    const handled: string[] = [];
    const slotBound: Array<{ entry: Entry; err: unknown }> = [];
    let failed = 0;
    let last: unknown;
    for (const entry of entries) {
      if (stopping.signal.aborted) return;
      try {
        await handle(entry, reclaimed);
        handled.push(entry[0]);
      } catch (err) {
        // A stop aborts the Temporal call in flight: not the entry's failure.
        if (stopping.signal.aborted) return;
        const outage = outageOf(err);
        if (outage === 'service') throw err;
        if (outage === 'slot') {
          slotBound.push({ entry, err });
          continue;
        }
        failed++;
        last = err;
        await failedOnce(entry, err);
      }
    }
    if (slotBound.length > 0) {
      if (handled.length === 0) throw slotBound[0]!.err;
      for (const { entry, err } of slotBound) await failedOnce(entry, err);
    }
    if (reclaimed) await forgetFailures(redis, names, handled);
    if (failed > 0 && handled.length === 0) throw new RoundFailed(failed, last);
  }

  /**
   * Entry `id` failed with `err`, for a reason of its own: one more failure
   * counted (store/analyses/requests.ts `countFailure`). While its failures
   * are fewer than `analyses.maxFailures`, it stays pending, to be tried
   * again at the next re-claim; then it is given up (`giveUpRequest`: an
   * error reply, or the rejected stream; acknowledged; its count dropped).
   *
   * Only by the consumer that holds it (XPENDING): one re-claimed by
   * another while this one was at it is theirs to count and to give up, so
   * two consumers failing it at once count it once each at most (HINCRBY
   * is atomic) and only the holder gives it up. Were the entry re-claimed
   * in the instant between the check and the give-up, the reply is still
   * pushed once (the push-once marker).
   *
   * A slot outage on the way (the count's slot not served: uncounted; the
   * reply list's, to give up) leaves the entry pending, and the round goes on.
   */
  async function failedOnce([id, fields]: Entry, err: unknown): Promise<void> {
    let failures: number;
    let maxFailures: number;
    try {
      // Acknowledged meanwhile, or re-claimed by another consumer while this one was at it: theirs now.
      if (!(await holds(id))) return;
      failures = await countFailure(redis, names, id);
      // Read now: the setting may change while slaves run, and failures are rare.
      ({ maxFailures } = (await dataSettings(redis, names)).analyses);
    } catch (countErr) {
      if (outageOf(countErr) !== 'slot') throw countErr;
      log.warn(`request ${id} failed (${messageOf(err)}); left pending, the failure not counted: ${messageOf(countErr)}`);
      return;
    }
    if (failures < maxFailures) {
      log.warn(`request ${id} failed (failure ${failures} of at most ${maxFailures}); left pending to be re-claimed: ${messageOf(err)}`);
      return;
    }
    try {
      const given = await giveUpRequest(redis, names, id, fields, failures, messageOf(err));
      const where = { pushed: `error reply on ${given.reply}`, 'answered-before': `answered before (only acknowledged)`, rejected: `kept on ${rejectedRequestStream(names)}` }[given.outcome];
      log.error(`request ${id} given up, ${where}: ${given.error}`);
    } catch (giveUpErr) {
      const outage = outageOf(giveUpErr);
      if (outage === 'service') throw giveUpErr;
      if (outage === 'slot') {
        log.warn(`request ${id} failed ${failures} times (${messageOf(err)}) and is left pending: giving it up failed: ${messageOf(giveUpErr)}`);
        return;
      }
      // Neither its reply list nor the rejected stream takes it (a key of another type where the rejected stream should be):
      // this line is its last record, rather than a retry every claimSeconds for ever.
      log.error(`request ${id} given up after ${failures} failures (${messageOf(err)}) and could not be kept (${messageOf(giveUpErr)}); acknowledged: ${JSON.stringify(fields).slice(0, 2048)}`);
      await redis.xack(stream, REQUEST_GROUP, id);
      await forgetFailures(redis, names, [id]);
    }
  }

  /** Whether this consumer holds entry `id` (XPENDING): neither acknowledged nor re-claimed by another since it was handed out. */
  async function holds(id: string): Promise<boolean> {
    const rows = (await redis.call('XPENDING', stream, REQUEST_GROUP, id, id, 1)) as Array<[string, string, number, number]>;
    return rows[0]?.[1] === consumer;
  }

  async function run(): Promise<void> {
    let failures = 0;
    let claimAt = 0;
    let forgetAt = 0;
    log.debug(`answering requests on ${stream} as ${consumer}`);
    while (!stopping.signal.aborted) {
      try {
        if (Date.now() >= claimAt) {
          // Read each time: the setting may change while slaves run.
          const idleMs = (await dataSettings(redis, names)).analyses.claimSeconds * 1000;
          // Every time too: someone may have deleted the stream (and the group with it).
          await ensureGroup(redis, stream, REQUEST_GROUP);
          // What every group (ours, and anyone's on this stream) has acknowledged goes: once a round is often enough.
          await trimConsumed(redis, stream);
          await handleAll(await claim(idleMs), true);
          claimAt = Date.now() + idleMs;
          if (Date.now() >= forgetAt) {
            await pruneConsumers(redis, stream, REQUEST_GROUP, FORGET_CONSUMERS_MS);
            // Counts of entries acknowledged since (by their workflow, after a failed re-claim) go too.
            await pruneFailures(redis, names);
            forgetAt = Date.now() + 3_600_000;
          }
        }
        const entries = await read(Math.max(1, Math.min(BLOCK_MS, claimAt - Date.now())));
        await handleAll(entries, false);
        if (failures > 0) log.info(`answering requests again after ${failures} failed attempt(s)`);
        failures = 0;
      } catch (err) {
        if (stopping.signal.aborted) break;
        failures++;
        // The stream or group gone (NOGROUP): re-create them at once, not after the next re-claim time.
        claimAt = 0;
        const wait = Math.min(BACKOFF_MS[0] * 2 ** (failures - 1), BACKOFF_MS[1]);
        log.warn(`requests: ${messageOf(err)} (attempt ${failures}; trying again in ${wait} ms)`);
        await sleep(wait, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
    reader?.disconnect();
    log.debug('stopped answering requests');
  }

  return {
    run,
    stop() {
      stopping.abort();
      // Cuts the blocking read short; the loop sees it is stopping.
      reader?.disconnect();
    },
  };
}

/** Every entry of a round failed, each seemingly for a reason of its own: the loop backs off all the same. */
class RoundFailed extends Error {
  constructor(count: number, last: unknown) {
    super(`${count === 1 ? 'the one request' : `all ${count} requests`} of the round failed, the last: ${messageOf(last)}`);
    this.name = 'RoundFailed';
  }
}

function entriesOf(value: unknown): Entry[] {
  if (!Array.isArray(value)) return [];
  // XAUTOCLAIM lists an entry deleted from the stream meanwhile as nil in Redis 6.2; skip it.
  return value.filter((e): e is Entry => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]));
}

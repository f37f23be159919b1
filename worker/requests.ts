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
 * entry that is not an answer, a payload Temporal refuses) does not hold up
 * the others: each entry is handled on its own, and a failed one stays
 * pending, to be re-claimed. Once it has failed on `analyses.maxDeliveries`
 * deliveries (XPENDING's count), it is given up: an error reply
 * `could not be answered after N attempts: <last error>` on its reply list,
 * or, if that list takes none, a copy on the rejected stream; acknowledged
 * either way, and logged. An outage (Redis or Temporal down: see
 * {@link isOutage}) gives no entry up: the consumer backs off instead.
 *
 * Every re-claim round also trims the stream of what every consumer group
 * has acknowledged (store/stream-groups.ts): front ends XADD without MAXLEN.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { ParamError } from '../core/analysis';
import { isUserError, messageOf } from '../core/errors';
import type { Names } from '../core/names';
import type { Config } from '../infra/config';
import type { JobRegistry } from '../infra/jobs';
import type { Logger } from '../infra/logger';
import { NETWORK_ERROR_CODES, type Redis } from '../infra/redis';
import { askForReply, prepareAsk, type PreparedAsk } from '../client/analyses';
import { cachedAnswer } from '../store/analyses/answers';
import { answerRequest, giveUpRequest, isAnswered, readRequest, rejectedRequestStream, rejectRequest, REQUEST_GROUP, requestStream } from '../store/analyses/requests';
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
   * {@link failedDelivery}) and the next is handled. Two cases stop the
   * round and make the loop back off, the rest left pending:
   * - an outage ({@link isOutage}: Redis or Temporal down), at once: the
   *   next entries would fail alike, and hammering a server on its way
   *   back helps nobody; an outage never gives an entry up;
   * - every entry of the round failed, at the end: an outage that does not
   *   say so looks like that. A lone poison entry pays half a second.
   * On a stop, the rest stay pending (another slave re-claims them).
   */
  async function handleAll(entries: readonly Entry[], reclaimed: boolean): Promise<void> {
    let failed = 0;
    let last: unknown;
    for (const entry of entries) {
      if (stopping.signal.aborted) return;
      try {
        await handle(entry, reclaimed);
      } catch (err) {
        // A stop aborts the Temporal call in flight: not the entry's failure.
        if (stopping.signal.aborted) return;
        if (isOutage(err)) throw err;
        failed++;
        last = err;
        await failedDelivery(entry, err);
      }
    }
    if (failed > 0 && failed === entries.length) throw new RoundFailed(failed, last);
  }

  /**
   * Entry `id` failed with `err`, not for an outage: while its deliveries
   * (XPENDING's count: the read, then each re-claim) are fewer than
   * `analyses.maxDeliveries`, it stays pending, to be tried again at the
   * next re-claim; then it is given up (store/analyses/requests.ts
   * `giveUpRequest`: an error reply, or the rejected stream; acknowledged).
   */
  async function failedDelivery([id, fields]: Entry, err: unknown): Promise<void> {
    const deliveries = await deliveriesOf(id);
    // Acknowledged meanwhile, or re-claimed by another consumer while this one was at it: theirs now.
    if (deliveries === undefined) return;
    // Read now: the setting may change while slaves run, and failures are rare.
    const { maxDeliveries } = (await dataSettings(redis, names)).analyses;
    if (deliveries < maxDeliveries) {
      log.warn(`request ${id} failed on delivery ${deliveries} of at most ${maxDeliveries}; left pending to be re-claimed: ${messageOf(err)}`);
      return;
    }
    try {
      const given = await giveUpRequest(redis, names, id, fields, deliveries, messageOf(err));
      const where = { pushed: `error reply on ${given.reply}`, 'answered-before': `answered before (only acknowledged)`, rejected: `kept on ${rejectedRequestStream(names)}` }[given.outcome];
      log.error(`request ${id} given up, ${where}: ${given.error}`);
    } catch (giveUpErr) {
      if (isOutage(giveUpErr)) throw giveUpErr;
      // Neither its reply list nor the rejected stream takes it (a key of another type where the rejected stream should be):
      // this line is its last record, rather than a retry every claimSeconds for ever.
      log.error(`request ${id} given up after ${deliveries} attempts (${messageOf(err)}) and could not be kept (${messageOf(giveUpErr)}); acknowledged: ${JSON.stringify(fields).slice(0, 2048)}`);
      await redis.xack(stream, REQUEST_GROUP, id);
    }
  }

  /** How many times entry `id` was delivered, while this consumer holds it; `undefined` when it does not (any more). */
  async function deliveriesOf(id: string): Promise<number | undefined> {
    const rows = (await redis.call('XPENDING', stream, REQUEST_GROUP, id, id, 1)) as Array<[string, string, number, number]>;
    const row = rows[0];
    return row !== undefined && row[1] === consumer ? Number(row[3]) : undefined;
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

/** Temporal could not be reached to hand an entry over: nothing about the entry. */
class OutageError extends Error {
  constructor(cause: unknown) {
    super(messageOf(cause), { cause });
    this.name = 'OutageError';
  }
}

/** Every entry of a round failed, each seemingly for a reason of its own: the loop backs off all the same. */
class RoundFailed extends Error {
  constructor(count: number, last: unknown) {
    super(`${count === 1 ? 'the one request' : `all ${count} requests`} of the round failed, the last: ${messageOf(last)}`);
    this.name = 'RoundFailed';
  }
}

/** Redis error replies that say the server cannot serve now, whatever the command: loading, failing over, out of memory, busy with a script, refusing our credentials. */
const REDIS_OUTAGE = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|NOREPLICAS|MISCONF|NOAUTH|WRONGPASS|NOPERM)\b/;
/** ioredis's own words for a connection that is gone. */
const CONNECTION_GONE = /^(Connection is closed\.|Stream isn't writeable)/;
/**
 * gRPC statuses of a Temporal that cannot serve now (unavailable, overloaded,
 * timed out, its store failing) or that refuses our credentials: nothing
 * about the request. INVALID_ARGUMENT, FAILED_PRECONDITION and the like are
 * the entry's own (a payload Temporal refuses).
 */
const GRPC_OUTAGE: ReadonlySet<number> = new Set([
  4, // DEADLINE_EXCEEDED
  7, // PERMISSION_DENIED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  13, // INTERNAL
  14, // UNAVAILABLE
  16, // UNAUTHENTICATED
]);

/**
 * Whether `err` (or an error it wraps) says Redis or Temporal is down or
 * unusable, rather than something about the entry being handled: a lost
 * connection, a socket error, an UnreachableError, a Redis that is loading
 * or full, a Temporal that is unavailable. An outage backs the consumer off
 * and gives no entry up; anything else is the entry's own failure, which
 * ends, after `analyses.maxDeliveries` deliveries, in its being given up.
 */
export function isOutage(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause) {
    if (e instanceof OutageError) return true;
    // UnreachableError (Redis, MySQL not there), and whatever else says a retry may succeed.
    if (isUserError(e) && e.retryable) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
    if (isGrpcServiceError(e) && GRPC_OUTAGE.has(e.code)) return true;
    if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ClusterAllFailedError') return true;
    if (CONNECTION_GONE.test(e.message) || REDIS_OUTAGE.test(e.message)) return true;
  }
  return false;
}

function entriesOf(value: unknown): Entry[] {
  if (!Array.isArray(value)) return [];
  // XAUTOCLAIM lists an entry deleted from the stream meanwhile as nil in Redis 6.2; skip it.
  return value.filter((e): e is Entry => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]));
}

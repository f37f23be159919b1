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
import type { Redis } from '../infra/redis';
import { askForReply, prepareAsk, type PreparedAsk } from '../client/analyses';
import { ensureGroup, pruneConsumers } from '../store/activity/collector';
import { cachedAnswer } from '../store/analyses/answers';
import { answerRequest, isAnswered, readRequest, rejectRequest, REQUEST_GROUP, requestStream } from '../store/analyses/requests';
import { dataSettings } from '../store/config/runtime-config';

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
      await answerRequest(redis, names, id, read.reply, { id, ok: false, error: read.error, field: read.field });
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
      await answerRequest(redis, names, id, request.reply, { id, ok: false, error: err.message, ...(err instanceof ParamError && { field: err.field }) });
      return;
    }
    const cached = await cachedAnswer(redis, names, prepared.name, prepared.params);
    if (cached) {
      await answerRequest(redis, names, id, request.reply, { ok: true, ...cached });
      return;
    }
    const client = await options.temporal();
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

  /** One after the other; on a stop, the rest stay pending (another slave re-claims them). */
  async function handleAll(entries: readonly Entry[], reclaimed: boolean): Promise<void> {
    for (const entry of entries) {
      if (stopping.signal.aborted) return;
      await handle(entry, reclaimed);
    }
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

function entriesOf(value: unknown): Entry[] {
  if (!Array.isArray(value)) return [];
  // XAUTOCLAIM lists an entry deleted from the stream meanwhile as nil in Redis 6.2; skip it.
  return value.filter((e): e is Entry => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]));
}

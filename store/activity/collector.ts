/**
 * The stream collector: game servers XADD events to `<prefix>:stream:<name>`
 * (one field `event` holding the same JSON object a file line holds):
 *
 *     XADD gflow:stream:events * event '{"game":7,"user":"u1","type":"login","ts":1764000000}'
 *
 * Collectors read it through a consumer group, each message once per group.
 * A message is acknowledged (XACK) only after its event is written, so a
 * collector killed mid-batch leaves its messages pending; the next collector
 * re-claims those idle past `minIdleMs` (XAUTOCLAIM: the original gflow's "message
 * compensation") and writes them again. Writing again counts nothing twice
 * because every write is idempotent (activity-writer.ts): set members and
 * bits are facts, and revenue moves only with a new order id.
 *
 * Acknowledged messages stay in the stream until trimmed: a collector
 * trims it, every few seconds while it drains and when it is done, of the
 * entries every consumer group of the stream has acknowledged
 * (store/stream-groups.ts: a job's group, or another team's, keeps what it
 * has not), so producers need no MAXLEN.
 *
 * Malformed messages are acknowledged (they will never become valid) and
 * copied, with the reason, to `<prefix>:stream:<name>:rejected` (capped).
 * Messages of a game whose Redis refused the write stay pending and are
 * retried after `minIdleMs`: one game's outage holds back only its events.
 *
 * No BLOCK: the collector shares the process's one Redis connection, which a
 * blocking read would hold; the `collect` task polls every few seconds instead.
 *
 * On a Redis Cluster the stream is one key on one master, under the same
 * name (producers need no change); every command here names one key, and
 * the events it carries are written game by game (writer.ts).
 */
import type { Redis } from '../../infra/redis';
import type { Names } from '../../core/names';
import { assertKeyPart } from '../identifiers';
import { LocalDays, placeEvent, type PlayerEvent, type ZoneFor } from './events';
import { CheckedEvent } from './event-check';
import { checkedOf, joinMessages } from './parse-piece';
import { defaultParseThreads, parseHere, sharedParsePool } from './parse-pool';
import type { RoutedWriter } from './ingest';
import { xack } from './wire';
import { ensureGroup, pruneConsumers, trimConsumed } from '../stream-groups';

/** The stream key for stream name `name` (config `ingest.stream`). */
export function streamKey(names: Names, name: string): string {
  assertKeyPart(name, 'stream name');
  return names.redisKey('stream', name);
}

/** Where malformed messages are copied, with the reason. */
export function rejectedStreamKey(names: Names, name: string): string {
  return `${streamKey(names, name)}:rejected`;
}

export interface CollectorOptions {
  /** The Redis holding the stream (the default Redis). */
  readonly redis: Redis;
  readonly names: Names;
  /** Stream name; the key is {@link streamKey}. */
  readonly stream: string;
  readonly group: string;
  /** This collector's name in the group; unique per live process (host and pid). */
  readonly consumer: string;
  readonly writer: RoutedWriter;
  readonly zoneFor: ZoneFor;
  /**
   * Messages per batch.
   * @defaultValue 1000
   */
  readonly count?: number;
  /**
   * Pending messages idle this long belong to a dead (or stuck) collector and are re-claimed.
   * @defaultValue 60000
   */
  readonly minIdleMs?: number;
  /**
   * What every group has read is still kept this long (`ingest.keepHours`),
   * for a group created later: see stream-groups.ts `trimConsumed`.
   * @defaultValue 0
   */
  readonly keepMs?: number;
  /**
   * Called after the events are written and before they are acknowledged:
   * the window in which a crash means redelivery. For metrics and tests.
   */
  readonly onWritten?: (ids: readonly string[]) => void | Promise<void>;
  /**
   * Parse worker threads for batches of at least {@link POOL_MIN_MESSAGES}
   * messages (parse-pool.ts; the same checks); 0: this thread parses.
   * @defaultValue one per core beyond the first, at most 2 (`defaultParseThreads`)
   */
  readonly threads?: number;
}

/** Smaller batches are parsed on the collector's thread: a worker's round trip would cost more than it saves. */
const POOL_MIN_MESSAGES = 256;

export interface BatchResult {
  /** Messages handled: re-claimed or new. */
  readonly messages: number;
  readonly claimed: number;
  readonly written: number;
  readonly rejected: number;
  /** Left pending for a retry (their game's Redis refused). */
  readonly retry: number;
  readonly acked: number;
}

type Message = [id: string, fields: string[]];

/**
 * Handle one batch: re-claimed messages first (they are older), else new
 * ones. Resolves to what was done; `messages: 0` means the stream is drained.
 */
export async function collectBatch(options: CollectorOptions): Promise<BatchResult> {
  const { redis, group, consumer } = options;
  assertKeyPart(consumer, 'consumer name');
  const key = streamKey(options.names, options.stream);
  await ensureGroup(redis, key, group);
  let messages = await claimMessages(options, key);
  const claimed = messages.length;
  if (claimed === 0) messages = await readMessages(options, key);
  if (messages.length === 0) return { messages: 0, claimed: 0, written: 0, rejected: 0, retry: 0, acked: 0 };
  return handleMessages(options, key, messages, claimed, new LocalDays());
}

/** Up to `count` messages pending longer than `minIdleMs` (a dead or stuck collector's), now this consumer's. */
async function claimMessages(options: CollectorOptions, key: string): Promise<Message[]> {
  const reply = await options.redis.call('XAUTOCLAIM', key, options.group, options.consumer, options.minIdleMs ?? 60_000, '0-0', 'COUNT', options.count ?? 1000);
  return messagesOf((reply as unknown[])[1]);
}

/** Up to `count` messages never delivered to the group, now this consumer's. */
async function readMessages(options: CollectorOptions, key: string): Promise<Message[]> {
  const reply = await options.redis.call('XREADGROUP', 'GROUP', options.group, options.consumer, 'COUNT', options.count ?? 1000, 'STREAMS', key, '>');
  return reply === null ? [] : messagesOf(((reply as unknown[])[0] as unknown[])[1]);
}

/**
 * Batches handled at once write in the order read: each waits for the one
 * before to have sent its first round trip (`after`), and says when it has
 * (`started`), so a batch parsed sooner (a smaller one, on this thread)
 * cannot write before an earlier one still being parsed by a worker.
 */
interface Turn {
  readonly after: Promise<void>;
  readonly started: () => void;
}

/** Parse, write, copy the malformed aside, acknowledge: one batch of this consumer's messages. */
async function handleMessages(options: CollectorOptions, key: string, messages: readonly Message[], claimed: number, days: LocalDays, turn?: Turn): Promise<BatchResult> {
  const { redis, names, group } = options;
  const events: Array<{ id: string; event: PlayerEvent }> = [];
  const rejected: Array<{ id: string; reason: string; raw: string }> = [];
  let writing: ReturnType<RoutedWriter['write']>;
  try {
    await parseMessages(options, messages, days, events, rejected);
    if (turn) await turn.after;
    writing = options.writer.write(events.map((e) => e.event));
  } finally {
    turn?.started();
  }
  const { failed } = await writing;
  const done = failed.size === 0 ? events.map((e) => e.id) : events.filter((e) => !failed.has(e.event.game)).map((e) => e.id);
  await options.onWritten?.(done);

  const ack = [...done, ...rejected.map((r) => r.id)];
  // The copies and the acknowledgement are two keys, two slots on a Redis Cluster: not one pipeline.
  // Copies first: a crash in between leaves the messages pending, to be copied again.
  if (rejected.length > 0) {
    const copies = redis.pipeline();
    for (const r of rejected) {
      copies.xadd(rejectedStreamKey(names, options.stream), 'MAXLEN', '~', 10_000, '*', 'id', r.id, 'reason', r.reason, 'event', r.raw);
    }
    await copies.exec();
  }
  if (ack.length > 0) await xack(redis, key, group, ack);
  return { messages: messages.length, claimed, written: done.length, rejected: rejected.length, retry: events.length - done.length, acked: ack.length };
}

/** The batch's events (placed in their days) and its malformed messages, in message order. */
async function parseMessages(
  options: CollectorOptions,
  messages: readonly Message[],
  days: LocalDays,
  events: Array<{ id: string; event: PlayerEvent }>,
  rejected: Array<{ id: string; reason: string; raw: string }>,
): Promise<void> {
  const raws: Array<string | undefined> = messages.map(([, fields]) => fieldOf(fields, 'event'));
  const lines = raws.filter((raw): raw is string => raw !== undefined);
  // A big batch is parsed by a parse worker (parse-pool.ts), the same check as parseEventLine's.
  const threads = options.threads ?? defaultParseThreads();
  const pool = threads > 0 && lines.length >= POOL_MIN_MESSAGES ? sharedParsePool(threads) : undefined;
  pool?.start();
  const work = { messages: joinMessages(lines) };
  const parsed = pool ? await pool.parse(work, lines.length) : parseHere(work, lines.length);
  const reasons = new Map<number, string>(parsed.rejections);
  const checked = new CheckedEvent();
  let line = 0;
  let accepted = 0;
  messages.forEach(([id, fields], m) => {
    const raw = raws[m];
    if (raw === undefined) {
      rejected.push({ id, reason: 'no field "event"', raw: JSON.stringify(fields).slice(0, 1024) });
      return;
    }
    const reason = reasons.get(line++);
    if (reason !== undefined) rejected.push({ id, reason, raw: raw.slice(0, 1024) });
    else events.push({ id, event: placeEvent(checkedOf(parsed, accepted++, checked), options.zoneFor, days) });
  });
}

/**
 * Batches of new messages handled at once: the next batch is read, parsed
 * and its first round trip sent while the last one's writes are in Redis
 * (ingest.ts `WRITES_IN_FLIGHT` says why the stored result is the same).
 */
const BATCHES_IN_FLIGHT = 2;

/**
 * While draining, the stream is trimmed of what every group has consumed
 * (stream-groups.ts `trimConsumed`) once this long has passed since the
 * last trim, or once {@link TRIM_EVERY_ACKED} messages were acknowledged,
 * whichever comes first: at 200,000 events/s that bounds what a stream
 * holds beyond its backlog to a few hundred thousand entries, for three
 * commands per trim.
 */
const TRIM_EVERY_MS = 2000;
const TRIM_EVERY_ACKED = 100_000;

/**
 * Handle batches until the stream is drained, `budgetMs` has passed or
 * `signal` aborts; then trim the stream of what every consumer group has
 * acknowledged (also now and then while draining: {@link TRIM_EVERY_MS})
 * and forget consumers of this group idle for a day with nothing pending
 * (collectors that died and whose messages were re-claimed).
 * Re-claimed messages come first, a batch at a time (they are older); then
 * new ones, the next batch read while the last one is written. A batch read
 * is always handled, even past the budget; on abort, a batch not yet read
 * is not read.
 */
export async function collectFor(options: CollectorOptions, budgetMs: number, signal?: AbortSignal): Promise<BatchResult> {
  const started = Date.now();
  const total = { messages: 0, claimed: 0, written: 0, rejected: 0, retry: 0, acked: 0 };
  const add = (r: BatchResult) => {
    for (const k of Object.keys(total) as Array<keyof BatchResult>) total[k] += r[k];
  };
  const more = () => !signal?.aborted && Date.now() - started < budgetMs;
  const { redis, group, consumer } = options;
  assertKeyPart(consumer, 'consumer name');
  const key = streamKey(options.names, options.stream);
  await ensureGroup(redis, key, group);
  const days = new LocalDays();
  let trimmedAt = started;
  let ackedAtTrim = 0;
  const trimIfDue = async () => {
    if (total.acked === ackedAtTrim || (total.acked - ackedAtTrim < TRIM_EVERY_ACKED && Date.now() - trimmedAt < TRIM_EVERY_MS)) return;
    trimmedAt = Date.now();
    ackedAtTrim = total.acked;
    await trimConsumed(redis, key, { keepMs: options.keepMs ?? 0 });
  };

  while (more()) {
    const messages = await claimMessages(options, key);
    if (messages.length === 0) break;
    const r = await handleMessages(options, key, messages, messages.length, days);
    add(r);
    // Only retries left (a game's Redis down): they wait for minIdle again rather than spin.
    if (r.written + r.rejected === 0) break;
  }

  const handling: Array<Promise<BatchResult>> = [];
  let gate: Promise<void> = Promise.resolve();
  try {
    let next = more() ? readMessages(options, key) : undefined;
    while (next) {
      const messages = await next;
      if (messages.length === 0) break;
      next = more() ? readMessages(options, key) : undefined;
      // Awaited in turn; one failing while another is awaited must not count as unhandled.
      next?.catch(() => undefined);
      let release!: () => void;
      const turn = { after: gate, started: () => release() };
      gate = new Promise<void>((resolve) => (release = resolve));
      const handled = handleMessages(options, key, messages, 0, days, turn);
      handled.catch(() => undefined);
      handling.push(handled);
      while (handling.length >= BATCHES_IN_FLIGHT) add(await handling.shift()!);
      // Between batches, with the next one already read and the last one writing.
      await trimIfDue();
    }
    while (handling.length > 0) add(await handling.shift()!);
  } finally {
    // On a failure, the batches in hand are still written or failed before this returns.
    await Promise.allSettled(handling);
  }
  // Every time, acknowledged here or not: another group (a job's, another team's) may have caught up since.
  await trimConsumed(redis, key, { keepMs: options.keepMs ?? 0 });
  await pruneConsumers(options.redis, key, options.group, 86_400_000);
  return total;
}

/** A consumer name for this process: host and pid, in the key-part alphabet. */
export function defaultConsumerName(host: string, pid: number): string {
  return `${host.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48)}-${pid}`;
}

function messagesOf(value: unknown): Message[] {
  if (!Array.isArray(value)) return [];
  // XAUTOCLAIM lists a message deleted from the stream meanwhile as nil in Redis 6.2; skip it.
  return value.filter((m): m is Message => Array.isArray(m) && typeof m[0] === 'string' && Array.isArray(m[1]));
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

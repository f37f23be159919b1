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
 * Malformed messages are acknowledged (they will never become valid) and
 * copied, with the reason, to `<prefix>:stream:<name>:rejected` (capped).
 * Messages of a game whose Redis refused the write stay pending and are
 * retried after `minIdleMs`: one game's outage holds back only its events.
 *
 * No BLOCK: the collector shares the process's one Redis connection, which a
 * blocking read would hold; the `collect` task polls every few seconds instead.
 */
import type { Redis } from 'ioredis';
import type { Names } from '../../core/names';
import { assertKeyPart } from '../identifiers';
import { LocalDays, parseEventLine, type PlayerEvent, type ZoneFor } from './events';
import type { RoutedWriter } from './ingest';

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
   * Called after the events are written and before they are acknowledged:
   * the window in which a crash means redelivery. For metrics and tests.
   */
  readonly onWritten?: (ids: readonly string[]) => void | Promise<void>;
}

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

/** Create the consumer group (and the stream) if missing; reading starts at the stream's beginning. */
export async function ensureGroup(redis: Redis, key: string, group: string): Promise<void> {
  assertKeyPart(group, 'consumer group');
  try {
    await redis.call('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
  }
}

/**
 * Handle one batch: re-claimed messages first (they are older), else new
 * ones. Resolves to what was done; `messages: 0` means the stream is drained.
 */
export async function collectBatch(options: CollectorOptions): Promise<BatchResult> {
  const { redis, names, group, consumer } = options;
  assertKeyPart(consumer, 'consumer name');
  const key = streamKey(names, options.stream);
  const count = options.count ?? 1000;
  await ensureGroup(redis, key, group);

  const claimedReply = await redis.call('XAUTOCLAIM', key, group, consumer, options.minIdleMs ?? 60_000, '0-0', 'COUNT', count);
  let messages = messagesOf((claimedReply as unknown[])[1]);
  const claimed = messages.length;
  if (claimed === 0) {
    const reply = await redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, '>');
    messages = reply === null ? [] : messagesOf(((reply as unknown[])[0] as unknown[])[1]);
  }
  if (messages.length === 0) return { messages: 0, claimed: 0, written: 0, rejected: 0, retry: 0, acked: 0 };

  const days = new LocalDays();
  const events: Array<{ id: string; event: PlayerEvent }> = [];
  const rejected: Array<{ id: string; reason: string; raw: string }> = [];
  for (const [id, fields] of messages) {
    const raw = fieldOf(fields, 'event');
    const parsed = raw === undefined ? { ok: false as const, reason: 'no field "event"' } : parseEventLine(raw, options.zoneFor, days);
    if (parsed.ok) events.push({ id, event: parsed.event });
    else rejected.push({ id, reason: parsed.reason, raw: (raw ?? JSON.stringify(fields)).slice(0, 1024) });
  }

  const { failed } = await options.writer.write(events.map((e) => e.event));
  const done = events.filter((e) => !failed.has(e.event.game)).map((e) => e.id);
  await options.onWritten?.(done);

  const ack = [...done, ...rejected.map((r) => r.id)];
  const pipeline = redis.pipeline();
  for (const r of rejected) {
    pipeline.xadd(rejectedStreamKey(names, options.stream), 'MAXLEN', '~', 10_000, '*', 'id', r.id, 'reason', r.reason, 'event', r.raw);
  }
  if (ack.length > 0) pipeline.xack(key, group, ...ack);
  await pipeline.exec();
  return { messages: messages.length, claimed, written: done.length, rejected: rejected.length, retry: events.length - done.length, acked: ack.length };
}

/**
 * Handle batches until the stream is drained, `budgetMs` has passed or
 * `signal` aborts; then forget consumers of this group idle for a day with
 * nothing pending (collectors that died and whose messages were re-claimed).
 */
export async function collectFor(options: CollectorOptions, budgetMs: number, signal?: AbortSignal): Promise<BatchResult> {
  const started = Date.now();
  const total = { messages: 0, claimed: 0, written: 0, rejected: 0, retry: 0, acked: 0 };
  while (!signal?.aborted && Date.now() - started < budgetMs) {
    const r = await collectBatch(options);
    for (const k of Object.keys(total) as Array<keyof BatchResult>) total[k] += r[k];
    // Only retries left (a game's Redis down): wait for minIdle rather than spin on them.
    if (r.messages === 0 || r.written + r.rejected === 0) break;
  }
  await pruneConsumers(options.redis, streamKey(options.names, options.stream), options.group, 86_400_000);
  return total;
}

/** Delete group consumers with no pending messages idle longer than `idleMs`. */
export async function pruneConsumers(redis: Redis, key: string, group: string, idleMs: number): Promise<string[]> {
  const reply = (await redis.call('XINFO', 'CONSUMERS', key, group)) as unknown[][];
  const removed: string[] = [];
  for (const entry of reply) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) info.set(String(entry[i]), entry[i + 1]);
    if (Number(info.get('pending')) === 0 && Number(info.get('idle')) > idleMs) {
      await redis.call('XGROUP', 'DELCONSUMER', key, group, String(info.get('name')));
      removed.push(String(info.get('name')));
    }
  }
  return removed;
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

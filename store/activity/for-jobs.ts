/**
 * The data plane's entry points for job code, each taking the task's
 * context (index.ts re-exports them as part of 'gflow'): count a game's
 * activity, announce a finished period, drain the event stream into the
 * activity stores (the `ingest` job), read the stream through a job's own
 * consumer group, and land the runtime configuration in MySQL.
 */
import { hostname } from 'node:os';
import type { Redis } from '../../infra/redis';
import { usageError } from '../../core/errors';
import type { GameContext, TaskContext } from '../../core/job';
import { dataSettings, landConfig } from '../config/runtime-config';
import { gameRouting, listGames } from '../games/registry';
import { collectFor, defaultConsumerName, streamKey, type BatchResult } from './collector';
import { ensureGroup } from '../stream-groups';
import { LocalDays, parseEventLine, type PlayerEvent } from './events';
import { RoutedWriter } from './ingest';
import { publishReportFinished } from './publish';
import { ActivityStore } from './store';

type Awaitable<T> = T | Promise<T>;

/**
 * The game's activity store: its users per day, counted in the game's Redis
 * with the configured activity settings (`gflow config`).
 *
 * @example
 * ```ts
 * const game = await ctx.game(item.game);
 * const store = await activityStore(ctx, game);
 * const dau = await store.count(item.game, 'active', ctx.period.key);
 * const wau = await store.unionCount(item.game, 'active', daysEnding(ctx.period.key, 7));
 * ```
 */
export async function activityStore(ctx: Pick<TaskContext, 'redis' | 'names'>, game: Pick<GameContext, 'redis'>): Promise<ActivityStore> {
  // Settings live in the installation's Redis, whichever Redis holds the game's data.
  const settings = await dataSettings(ctx.redis, ctx.names);
  return new ActivityStore(game.redis, ctx.names, settings.activity);
}

/**
 * Tell front ends (`SUBSCRIBE <prefix>:reports`) that the task's rows of
 * `game` for `period` are written: `{"job","task","game","period"}`.
 * @returns how many subscribers heard it.
 *
 * @example
 * ```ts
 * await writeMyRow(ctx, item.game);
 * await announceFinished(ctx, item.game); // ctx.period.key
 * ```
 */
export function announceFinished(ctx: Pick<TaskContext, 'redis' | 'names' | 'job' | 'task' | 'period'>, game: number, period: string = ctx.period.key): Promise<number> {
  return publishReportFinished(ctx.redis, ctx.names, { job: ctx.job, task: ctx.task, game, period });
}

export type { BatchResult };

/**
 * Drain the event stream (`<prefix>:stream:<ingest.stream>`) into the
 * activity stores through the collectors' group (`ingest.group`), for at
 * most `budgetMs`: events of a game with its own Redis go there, days are
 * the game's zone's. What the `ingest.collect` task does; see collector.ts
 * for the guarantees (acknowledged only once written, re-claimed after a crash).
 *
 * @example
 * ```ts
 * defineTask({ name: 'collect', sleepExecute: 10, mapTask: () => [{ part: 'stream' }], execute: (_item, ctx) => collectStream(ctx) });
 * ```
 */
export async function collectStream(ctx: TaskContext, options: { readonly budgetMs?: number } = {}): Promise<BatchResult> {
  const settings = await dataSettings(ctx.redis, ctx.names);
  const routing = gameRouting(await listGames(ctx.mysql, ctx.names), { redis: ctx.redis, tz: ctx.period.zone });
  return collectFor(
    {
      redis: ctx.redis,
      names: ctx.names,
      stream: settings.ingest.stream,
      group: settings.ingest.group,
      consumer: defaultConsumerName(hostname(), process.pid),
      writer: new RoutedWriter(ctx.names, routing.redisFor, settings.activity),
      zoneFor: routing.zoneFor,
      count: settings.ingest.batchSize,
      minIdleMs: settings.ingest.minIdleSeconds * 1000,
      keepMs: settings.ingest.keepHours * 3_600_000,
      onWritten: () => ctx.heartbeat(),
    },
    options.budgetMs ?? 8_000,
    ctx.signal,
  );
}

/**
 * Copy configuration changed in Redis (`gflow config set`) into
 * `<prefix>_meta.config`, and refill Redis from there after a flush: the
 * `ingest.landConfig` task.
 *
 * @example
 * ```ts
 * defineTask({ name: 'landConfig', sleepExecute: 60, mapTask: () => [{}], execute: (_item, ctx) => landConfiguration(ctx) });
 * ```
 */
export function landConfiguration(ctx: Pick<TaskContext, 'redis' | 'mysql' | 'names'>): Promise<{ landed: string[]; restored: string[] }> {
  return landConfig(ctx.redis, ctx.mysql, ctx.names);
}

export interface ConsumeOptions {
  /**
   * Your consumer group: each group receives every event of the stream once
   * (a new group starts at the oldest event the stream still holds). One per
   * job, never the collectors' own `ingest.group`.
   */
  readonly group: string;
  /** @defaultValue 8000 */
  readonly budgetMs?: number;
  /** Messages per batch. @defaultValue the configured `ingest.batchSize` */
  readonly count?: number;
}

export interface ConsumeResult {
  /** Messages read and acknowledged. */
  readonly messages: number;
  /** Valid events handed to `handle`. */
  readonly events: number;
  /** Messages that are no valid event (the collector reports them; here they are only counted). */
  readonly malformed: number;
  /** Of `messages`, those re-claimed from a consumer that stopped before acknowledging. */
  readonly claimed: number;
}

/**
 * Read the event stream through the job's own consumer group, in batches,
 * for at most `budgetMs`: each batch's valid events (days in each game's
 * zone, as the collector sees them) go to `handle`, and the batch is
 * acknowledged only once `handle` resolves. If `handle` throws, the batch
 * stays pending and is handed again, after `ingest.minIdleSeconds`, to the
 * next call of any consumer of the group: write idempotently (SADD, upserts).
 * The group is created at the first call, at the start of what the stream
 * still holds: the collectors trim what every group has read once it is
 * `ingest.keepHours` (24) old, so a job started after them sees that much
 * of the past, and from then on every event.
 *
 * @example
 * ```ts
 * // Count each channel's registrations per day, in the game's Redis.
 * await consumeEvents(ctx, { group: 'channels' }, async (events) => {
 *   for (const e of events.filter((e) => e.type === 'register')) {
 *     const { redis } = await ctx.game(e.game);
 *     await redis.sadd(ctx.names.redisKey('chn', e.game, e.day, encodeURIComponent(e.channel ?? '')), e.user);
 *   }
 * });
 * ```
 */
export async function consumeEvents(
  ctx: Pick<TaskContext, 'redis' | 'mysql' | 'names' | 'period' | 'heartbeat' | 'signal'>,
  options: ConsumeOptions,
  handle: (events: readonly PlayerEvent[]) => Awaitable<unknown>,
): Promise<ConsumeResult> {
  const settings = await dataSettings(ctx.redis, ctx.names);
  if (options.group === settings.ingest.group) {
    throw usageError(`consumer group ${JSON.stringify(options.group)} is the collectors' (ingest.group): give the job its own, or it takes their events`);
  }
  const count = options.count ?? settings.ingest.batchSize;
  if (!Number.isInteger(count) || count < 1) throw usageError(`batch count ${String(count)} is not valid: use a whole number ≥ 1`);
  const key = streamKey(ctx.names, settings.ingest.stream);
  await ensureGroup(ctx.redis, key, options.group);
  const { zoneFor } = gameRouting(await listGames(ctx.mysql, ctx.names), { redis: ctx.redis, tz: ctx.period.zone });
  const consumer = defaultConsumerName(hostname(), process.pid);
  const budgetMs = options.budgetMs ?? 8_000;
  const total = { messages: 0, events: 0, malformed: 0, claimed: 0 };
  const days = new LocalDays();
  const started = Date.now();
  while (!ctx.signal.aborted && Date.now() - started < budgetMs) {
    const batch = await nextBatch(ctx.redis, key, options.group, consumer, count, settings.ingest.minIdleSeconds * 1000);
    if (batch.messages.length === 0) break;
    const events: PlayerEvent[] = [];
    for (const [, fields] of batch.messages) {
      const raw = fieldOf(fields, 'event');
      const parsed = raw === undefined ? undefined : parseEventLine(raw, zoneFor, days);
      if (parsed?.ok) events.push(parsed.event);
      else total.malformed++;
    }
    if (events.length > 0) await handle(events);
    await ctx.redis.xack(key, options.group, ...batch.messages.map(([id]) => id));
    total.messages += batch.messages.length;
    total.events += events.length;
    total.claimed += batch.claimed ? batch.messages.length : 0;
    ctx.heartbeat();
  }
  return total;
}

type Message = [id: string, fields: string[]];

/** Pending messages idle past `minIdleMs` (a consumer died or its handler threw) first, else new ones. */
async function nextBatch(redis: Redis, key: string, group: string, consumer: string, count: number, minIdleMs: number): Promise<{ messages: Message[]; claimed: boolean }> {
  const claimedReply = await redis.call('XAUTOCLAIM', key, group, consumer, minIdleMs, '0-0', 'COUNT', count);
  const claimed = messagesOf((claimedReply as unknown[])[1]);
  if (claimed.length > 0) return { messages: claimed, claimed: true };
  const reply = await redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, '>');
  return { messages: reply === null ? [] : messagesOf(((reply as unknown[])[0] as unknown[])[1]), claimed: false };
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

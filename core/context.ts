/**
 * What job code (tasks and analyses) is handed besides its input: clients,
 * games, names, a logger. Apart from the task API so analyses share it.
 */
import type { Pool } from 'mysql2/promise';
import type { Cluster, Redis as RedisNode } from 'ioredis';
import type { Names } from './names';

/** One Redis or a Redis Cluster (`redis+cluster://`): infra/redis.ts's `Redis`, which core cannot import. */
export type Redis = RedisNode | Cluster;

/** A logger handed to job code; lines carry job, task, period and item. */
export interface TaskLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The item `assignTask()` makes for each enabled game. */
export interface GameItem {
  readonly game: number;
}

/**
 * One game as job code sees it (`ctx.game(id)`): where its data lives and
 * whose days it counts in, resolved from the games registry. Clients are the
 * process's pooled ones (one per URL), shared by every task; the registry
 * row is cached per process for a minute, so a task may ask once per item.
 *
 * @example
 * ```ts
 * async execute(item, ctx) {
 *   const game = await ctx.game(item.game);
 *   const logins = await game.redis.scard(ctx.names.redisKey('logins', item.game, ctx.period.key)); // the game's own Redis
 *   return { game: game.name, zone: game.zone, logins };
 * }
 * ```
 */
export interface GameContext {
  readonly id: number;
  /** The registry's display name (`game <id>` for a game not in the registry). */
  readonly name: string;
  /** Whether the games registry has this game; if not, everything below is the installation's default. */
  readonly registered: boolean;
  /** IANA zone whose days the game's activity and reports use: the registry's `tz`, else the configured zone. */
  readonly zone: string;
  /** The game's own Redis where the registry names one (`redis_url`), else the installation's `ctx.redis`. */
  readonly redis: Redis;
  /** The game's own MySQL where the registry names one (`mysql_url`), else `ctx.mysql`. Report tables stay in `ctx.mysql`. */
  readonly mysql: Pool;
}

/** What every piece of job code is handed (a task's hooks, an analysis's `compute`): clients, games, names, a logger, liveness. */
export interface CodeContext {
  readonly job: string;
  /** The process's pooled Redis client (one Redis or a Redis Cluster). */
  readonly redis: Redis;
  /** The process's pooled MySQL connections. */
  readonly mysql: Pool;
  /**
   * One game's Redis, MySQL, zone and name, from the games registry (cached
   * per process; pooled clients shared). A game not in the registry resolves
   * to the defaults, with `registered: false`.
   * @example
   * ```ts
   * const { redis, zone } = await ctx.game(item.game);
   * ```
   */
  game(id: number): Promise<GameContext>;
  /** Names under the configured prefix (Redis keys, MySQL schemas). */
  readonly names: Names;
  readonly log: TaskLogger;
  /** Report liveness from long work; cancellation is seen only through heartbeats. */
  heartbeat(details?: unknown): void;
  /** Aborted when the work is cancelled (`gflow stop`) or times out. */
  readonly signal: AbortSignal;
}

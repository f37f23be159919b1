/**
 * What job code (tasks and analyses) is handed besides its input: a logger
 * and the games it works on. Apart from the task API so analyses can use them too.
 */
import type { Pool } from 'mysql2/promise';
import type { Cluster, Redis as RedisNode } from 'ioredis';

/** One Redis or a Redis Cluster (`redis+cluster://`): infra/redis.ts's `Redis`, which core cannot import. */
type Redis = RedisNode | Cluster;

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

/**
 * Keys an older gflow wrote before every game key carried its game as a
 * hash tag (`<prefix>:uidx:7`, now `<prefix>:uidx:{7}`): a gflow of this
 * version reads none of them. Finding them costs one EXISTS per game (every
 * game with activity has a user index), so `gflow setup` can say so instead
 * of an upgrade quietly reporting zeros; docs/architecture.md "Moving an
 * installation's keys" says how to rename them.
 */
import type { Names } from '../../core/names';
import type { Redis } from '../../infra/redis';
import { gameClients, type Game } from '../games/registry';
import type { Pool } from '../../infra/mysql';

/** The games (of `games`) whose user index is still under its old, untagged name. */
export async function gamesInOldLayout(games: readonly Game[], defaults: { readonly redis: Redis; readonly mysql: Pool }, names: Names): Promise<number[]> {
  const found: number[] = [];
  for (const game of games) {
    const { redis } = gameClients(game, defaults);
    if ((await redis.exists(names.redisKey('uidx', game.id))) === 1) found.push(game.id);
  }
  return found;
}

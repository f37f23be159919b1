/**
 * The user-id → dense-index map of a game: a Redis hash (the original gflow's "cache
 * keys in hash tables"), indexes 0, 1, 2, ... in order of first sight. Bitmaps
 * set the bit at a user's index, so indexes must be dense (no holes: a hole is
 * a wasted bit in every day's bitmap) and unique (two users on one bit would
 * count as one). One Lua script reads and assigns, so ingesters running at
 * once never hand out an index twice: Redis runs a script without interleaving.
 * The hash's length is also the game's user count, which picks the representation.
 */
import type { Redis } from '../../infra/redis';
import type { Names } from '../../core/names';
import { parseGameId } from '../identifiers';
import { LuaScript } from './lua';

/**
 * KEYS[1] the index hash; ARGV the user ids. Returns their indexes in order.
 * HLEN is the next index because nothing but this script adds fields.
 */
export const ASSIGN_INDEXES = new LuaScript(`
local n = redis.call('HLEN', KEYS[1])
local out = {}
for i, user in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[1], user)
  if v then
    out[i] = tonumber(v)
  else
    redis.call('HSET', KEYS[1], user, n)
    out[i] = n
    n = n + 1
  end
end
return out
`);

/** Users per script call: keeps one call's time in Redis around a millisecond. */
export const ASSIGN_CHUNK = 5000;

/** The index hash of `game`: `<prefix>:uidx:{<game>}`, in the slot of the game's other keys (keys.ts). */
export function userIndexKey(names: Names, game: number): string {
  return names.gameKey('uidx', parseGameId(game));
}

/**
 * The dense indexes of `users` in `game`, assigning new ones atomically.
 * Repeated ids get the same index.
 */
export async function assignIndexes(redis: Redis, names: Names, game: number, users: readonly string[]): Promise<number[]> {
  const key = userIndexKey(names, game);
  const out: number[] = [];
  for (let i = 0; i < users.length; i += ASSIGN_CHUNK) {
    const chunk = users.slice(i, i + ASSIGN_CHUNK);
    const indexes = (await ASSIGN_INDEXES.run(redis, [key], chunk)) as number[];
    out.push(...indexes);
  }
  return out;
}

/** Users the game has ever seen (the index hash's length). */
export async function userCount(redis: Redis, names: Names, game: number): Promise<number> {
  return redis.hlen(userIndexKey(names, game));
}

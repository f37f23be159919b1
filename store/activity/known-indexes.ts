/**
 * Users whose dense index an ingest has already been told, per game of one
 * Redis, so a later batch does not send them to the index script again: the
 * script's answer for them would be the same (an index, once assigned, never
 * changes; only new users get new ones, in the order sent, and leaving known
 * users out keeps the new ones' order). A user is remembered only after
 * Redis answered. {@link ASSIGN_NEW_INDEXES} checks the hash still holds at
 * least as many users as remembered; if not (the hash was lost, say a Redis
 * restarted without persistence), the writer forgets the game and sends every
 * user, as it always did.
 */
import { LuaScript } from './lua';

/** Users remembered per game at most: bounds memory (~100 bytes a user); the rest are sent each batch. */
const MAX_KNOWN_PER_GAME = 2_000_000;

export class KnownIndexes {
  private readonly games = new Map<number, Map<string, number>>();

  /** The remembered users of `game` and their indexes. */
  of(game: number): ReadonlyMap<string, number> {
    let known = this.games.get(game);
    if (!known) this.games.set(game, (known = new Map()));
    return known;
  }

  remember(game: number, user: string, index: number): void {
    const known = this.of(game) as Map<string, number>;
    if (known.size < MAX_KNOWN_PER_GAME) known.set(user, index);
  }

  forget(game: number): void {
    this.games.delete(game);
  }
}

/**
 * user-index.ts's ASSIGN_INDEXES, guarded: KEYS[1] the index hash; ARGV[1]
 * the users the caller remembers (the hash must have at least that many,
 * else -1 and nothing is assigned), ARGV[2..] user ids. Returns their
 * indexes in order.
 */
export const ASSIGN_NEW_INDEXES = new LuaScript(`
local n = redis.call('HLEN', KEYS[1])
if n < tonumber(ARGV[1]) then return -1 end
-- One HMGET per 4,000 users and one HSET per 2,000 new ones, not two calls per user: the same
-- replies and the same hash (new users get n, n + 1, ... in the order sent), a quarter less Redis time.
local out, fresh, add = {}, {}, {}
for a = 2, #ARGV, 4000 do
  local b = math.min(a + 3999, #ARGV)
  local got = redis.call('HMGET', KEYS[1], unpack(ARGV, a, b))
  for i = a, b do
    local v = got[i - a + 1]
    if v then
      out[i - 1] = tonumber(v)
    else
      local user = ARGV[i]
      local seen = fresh[user]
      if seen then
        out[i - 1] = seen
      else
        fresh[user] = n
        out[i - 1] = n
        add[#add + 1] = user
        add[#add + 1] = n
        n = n + 1
        if #add >= 4000 then
          redis.call('HSET', KEYS[1], unpack(add))
          add = {}
        end
      end
    end
  end
end
if #add > 0 then redis.call('HSET', KEYS[1], unpack(add)) end
return out
`);

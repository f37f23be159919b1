/**
 * The activity store: one interface over the two representations of a
 * game's users per day (docs/architecture.md "Analytics"): a Redis set of user ids
 * while the game has at most `threshold` users, a bitmap on their dense
 * indexes above it. Counting happens in Redis (SCARD / SUNIONSTORE /
 * SINTERCARD, BITCOUNT / BITOP) inside Lua scripts that look at each key's
 * type, so a query spanning days of both kinds (a game that just crossed the
 * threshold) is still exact; no user list ever travels to Node.
 *
 * @example
 * ```ts
 * const store = new ActivityStore(ctx.redis, ctx.names);
 * const dau = await store.count(game, 'active', '20261124');
 * const wau = await store.unionCount(game, 'active', daysEnding('20261124', 7));
 * const d1 = await store.intersectionCount(game, { kind: 'new', day: '20261123' }, { kind: 'active', day: '20261124' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { dayBounds } from '../../core/day';
import { usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { activitySettings, DAY_KINDS, DayKeys, scratchKey, type ActivitySettings, type DayKind, type Representation } from './keys';
import { writeEvents, type WriteSummary } from './writer';
import { formatAmount, type PlayerEvent } from './events';
import { describeValue } from '../identifiers';
import { LuaScript } from './lua';
import { userIndexKey } from './user-index';

export { addDays, daysEnding, DAY_KINDS, type ActivitySettings, type DayKind, type Representation } from './keys';
export type { WriteSummary } from './writer';

/** KEYS: day keys. The cardinality of each, whatever its representation; 0 where absent. */
const COUNTS = new LuaScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k).ok
  if t == 'set' then out[i] = redis.call('SCARD', k)
  elseif t == 'string' then out[i] = redis.call('BITCOUNT', k)
  else out[i] = 0 end
end
return out
`);

/**
 * KEYS[1] scratch, KEYS[2] index hash, KEYS[3..] day keys: the size of their
 * union. Sets only: SUNIONSTORE. Any bitmap: BITOP OR, with set days' members
 * turned into bits through the index hash.
 */
const UNION = new LuaScript(`
local sets, bitmaps = {}, {}
for i = 3, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t == 'set' then sets[#sets + 1] = KEYS[i] elseif t == 'string' then bitmaps[#bitmaps + 1] = KEYS[i] end
end
if #bitmaps == 0 then
  if #sets == 0 then return 0 end
  if #sets == 1 then return redis.call('SCARD', sets[1]) end
  redis.call('SUNIONSTORE', KEYS[1], unpack(sets))
else
  redis.call('BITOP', 'OR', KEYS[1], unpack(bitmaps))
  for _, s in ipairs(sets) do
    for _, m in ipairs(redis.call('SMEMBERS', s)) do
      local idx = redis.call('HGET', KEYS[2], m)
      if idx then redis.call('SETBIT', KEYS[1], tonumber(idx), 1) end
    end
  end
end
local n
if #bitmaps == 0 then n = redis.call('SCARD', KEYS[1]) else n = redis.call('BITCOUNT', KEYS[1]) end
redis.call('DEL', KEYS[1])
return n
`);

/** KEYS[1] scratch, KEYS[2] index hash, KEYS[3], KEYS[4] two day keys: the size of their intersection. */
const INTERSECTION = new LuaScript(`
local ta, tb = redis.call('TYPE', KEYS[3]).ok, redis.call('TYPE', KEYS[4]).ok
if ta == 'none' or tb == 'none' then return 0 end
if ta == 'set' and tb == 'set' then return redis.call('SINTERCARD', 2, KEYS[3], KEYS[4]) end
if ta == 'string' and tb == 'string' then
  redis.call('BITOP', 'AND', KEYS[1], KEYS[3], KEYS[4])
  local n = redis.call('BITCOUNT', KEYS[1])
  redis.call('DEL', KEYS[1])
  return n
end
local s, b = KEYS[3], KEYS[4]
if ta == 'string' then s, b = KEYS[4], KEYS[3] end
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', s)) do
  local idx = redis.call('HGET', KEYS[2], m)
  if idx and redis.call('GETBIT', b, tonumber(idx)) == 1 then n = n + 1 end
end
return n
`);

/** One day of one kind: an operand of {@link ActivityStore.intersectionCount}. */
export interface DayRef {
  readonly kind: DayKind;
  /** `YYYYMMDD` in the game's zone. */
  readonly day: string;
}

/** A game-day's revenue: exact decimal text, integer units of 1/10,000, and distinct orders. */
export interface DayRevenue {
  readonly amount: string;
  readonly units: number;
  readonly orders: number;
}

export class ActivityStore {
  readonly settings: ActivitySettings;

  /**
   * @param redis the game's Redis (its own URL from the games registry, or the default).
   * @param settings threshold, bucket width, TTLs; see {@link ActivitySettings}.
   */
  constructor(
    private readonly redis: Redis,
    private readonly names: Names,
    settings: Partial<ActivitySettings> = {},
  ) {
    this.settings = activitySettings(settings);
  }

  /** Record events (any games and days; idempotent, see activity-writer.ts). */
  write(events: readonly PlayerEvent[]): Promise<WriteSummary> {
    return writeEvents(this.redis, this.names, events, this.settings);
  }

  /** How a game-day is stored, or `null` if nothing was written for it. */
  async representation(game: number, day: string): Promise<Representation | null> {
    const value = await this.redis.get(new DayKeys(this.names, game, day).repr);
    return value === 'set' || value === 'bitmap' ? value : null;
  }

  /** Distinct users of `kind` on `day` (DAU for `active`, new users for `new`, payers). */
  async count(game: number, kind: DayKind, day: string): Promise<number> {
    const [n] = await this.counts([new DayKeys(this.names, game, day).kind(checkKind(kind))]);
    return n!;
  }

  /** Distinct users of `kind` over all `days` (WAU: 7 days, MAU: 30; see `daysEnding`). */
  async unionCount(game: number, kind: DayKind, days: readonly string[]): Promise<number> {
    checkKind(kind);
    if (days.length === 0) return 0;
    if (days.length > 400) throw usageError(`a union over ${days.length} days is too wide: use at most 400`);
    const keys = days.map((day) => new DayKeys(this.names, game, day).kind(kind));
    return Number(await UNION.run(this.redis, [this.scratch(), userIndexKey(this.names, game), ...keys]));
  }

  /** Users in both `a` and `b` (retention Dn: `{new, C}` ∩ `{active, C+n}`). */
  async intersectionCount(game: number, a: DayRef, b: DayRef): Promise<number> {
    const ka = new DayKeys(this.names, game, a.day).kind(checkKind(a.kind));
    const kb = new DayKeys(this.names, game, b.day).kind(checkKind(b.kind));
    return Number(await INTERSECTION.run(this.redis, [this.scratch(), userIndexKey(this.names, game), ka, kb]));
  }

  /**
   * Distinct users with an `online` event in each bucket of `day`, in order:
   * one entry per bucket of the local day in `zone` (288 at 5 minutes; a DST
   * day has 276 or 300), empty buckets as 0.
   */
  async onlineCounts(game: number, day: string, zone: string): Promise<number[]> {
    const keys = new DayKeys(this.names, game, day);
    const buckets = Math.ceil(dayBounds(day, zone).seconds / (this.settings.bucketMinutes * 60));
    return this.counts(Array.from({ length: buckets }, (_, i) => keys.online(i)));
  }

  /** The day's revenue from distinct orders. */
  async revenue(game: number, day: string): Promise<DayRevenue> {
    const [units, orders] = await this.redis.hmget(new DayKeys(this.names, game, day).pay, 'units', 'orders');
    const u = Number(units ?? 0);
    return { amount: formatAmount(u), units: u, orders: Number(orders ?? 0) };
  }

  private async counts(keys: readonly string[]): Promise<number[]> {
    return ((await COUNTS.run(this.redis, keys)) as number[]).map(Number);
  }

  private scratch(): string {
    return scratchKey(this.names, randomUUID());
  }
}

function checkKind(kind: DayKind): DayKind {
  if (!(DAY_KINDS as readonly string[]).includes(kind)) throw usageError(`activity kind ${describeValue(kind)} is not valid: use ${DAY_KINDS.join(', ')}`);
  return kind;
}

/**
 * The activity store: one interface over the two representations of a
 * game's users per day (docs/architecture.md "Analytics"): a Redis set of user ids
 * while the game has at most `threshold` users, a bitmap on their dense
 * indexes above it. Counting happens in Redis (SCARD / SUNIONSTORE /
 * SINTERCARD, BITCOUNT / BITOP / BITPOS) inside Lua scripts that look at each
 * key's type, so a query spanning days of both kinds (a game that just
 * crossed the threshold) is still exact; no user list ever travels to Node.
 *
 * Bitmap days of a big game are counted without ever reading more than a
 * few bitmaps per query, so that no single command holds Redis for more
 * than a few milliseconds at 10 M users:
 *
 * - **Windows** (WAU, MAU: any run of 4 or more consecutive days of
 *   `active`) are the OR of two precomputed unions (a sparse table over
 *   days, base 4: the union of the 4 and of the 16 days ending on a day;
 *   WAU = the 4 days ending on D OR the 4 ending on D − 3, MAU = the 16
 *   ending on D OR the 16 ending on D − 14). A missing union is built from
 *   four of the level below (or four days), one BITOP of four keys at a
 *   time, so a new day costs two builds, and is cached for a couple of weeks
 *   (keys.ts `UNION_TTL_DAYS`); every write to a day deletes the unions
 *   that cover it, after writing (writer.ts). So a union that exists is
 *   always the OR of its days as they are now: built before a late event,
 *   it is deleted by that event's write; built after, it contains it.
 *   Set days (a game below the threshold, or the days before it crossed
 *   it) enter the unions as bitmaps too: each is turned into bits once, a
 *   thousand members a step through the index hash, and cached the same
 *   way. Windows of a small game stay one SUNIONSTORE; unions of other
 *   kinds or of days that are not consecutive are counted by
 *   {@link ActivityStore.unionCount}'s general path in steps (BITOP over at
 *   most 16 keys, sets scanned a thousand members at a time), never one
 *   command over everything.
 * - **Cohorts** (new users of a day, and how many of them are active on a
 *   later day) are read as the runs of consecutive bits of the day's `new`
 *   bitmap: dense indexes are handed out in order of first sight, and the
 *   writer hands a batch's registering players theirs first and together,
 *   so a day's cohort is one run or a few. Its size is the sum of the runs;
 *   its retention is BITCOUNT of the active day over each run (BITFIELD_RO
 *   GETs for single bits: a player seen before registering, whose index is
 *   older). The runs are found with BITPOS, exactly, and cached until the
 *   next write to the day; a cohort of more than {@link MAX_RUNS} runs is
 *   counted with a whole-bitmap BITOP AND instead. Exact either way.
 *
 * @example
 * ```ts
 * const store = new ActivityStore(ctx.redis, ctx.names);
 * const dau = await store.count(game, 'active', '20261124');
 * const wau = await store.unionCount(game, 'active', daysEnding('20261124', 7));
 * const d1 = await store.intersectionCount(game, { kind: 'new', day: '20261123' }, { kind: 'active', day: '20261124' });
 * const { newUsers, retained } = await store.retention(game, '20261123', ['20261124', '20261130']);
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../../infra/redis';
import { addDays, dayBounds } from '../../core/day';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { activitySettings, DAY_KINDS, DayKeys, scratchKey, sinceKey, UNION_FANOUT, UNION_TTL_DAYS, unionSpan, type ActivitySettings, type DayKind, type Representation } from './keys';
import { parseSegmentPayField, writeEvents, type WriteSummary } from './writer';
import { formatAmount, type PlayerEvent } from './events';
import { describeValue } from '../identifiers';
import { execPipeline, LuaScript } from './lua';
import { userIndexKey } from './user-index';

export { addDays, daysEnding, DAY_KINDS, type ActivitySettings, type DayKind, type Representation } from './keys';
export type { WriteSummary } from './writer';

/**
 * Runs of a cohort's bits read one by one; past this the cohort is counted
 * with a whole-bitmap AND. Finding a run costs two BITPOS (~4 µs each at
 * 10 M users, scanning included), so finding 256 about 2 ms, once per day
 * and cohort; reading them back is cheaper.
 */
export const MAX_RUNS = 256;

/** Members of a set scanned per step when a union of sets is built in steps. */
const SCAN_COUNT = 1000;

/** Up to this many members in all, a union of sets is one SUNIONSTORE (a few milliseconds at most). */
const SMALL_SET_UNION = 5_000;

/** A scratch key left by a query that died between steps expires after this. */
const SCRATCH_TTL_MS = 60_000;

/** Union builds sent per round trip: a pipeline runs back to back, so a few at a time (each ~0.2 ms at 10 M users). */
const BUILDS_PER_TRIP = 4;

/**
 * KEYS: day keys; ARGV[1] a budget of bitmap bytes. The cardinality of each,
 * whatever its representation (0 where absent), in order, stopping after
 * the key that spends the budget: the caller asks again for the rest (288
 * online buckets of a 10 M-user game are ~100 ms of BITCOUNT).
 */
const COUNTS = new LuaScript(`
local out, budget = {}, tonumber(ARGV[1])
for i, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k).ok
  if t == 'set' then out[i] = redis.call('SCARD', k)
  elseif t == 'string' then
    budget = budget - redis.call('STRLEN', k)
    out[i] = redis.call('BITCOUNT', k)
  else out[i] = 0 end
  if budget < 0 then break end
end
return out
`);

/** Bitmap bytes one COUNTS call may count: ~4 MB of BITCOUNT is about a millisecond. */
const COUNT_BUDGET_BYTES = 4 << 20;

/** KEYS: day keys. Per key two numbers: 0 absent, 1 set, 2 bitmap; then SCARD or STRLEN. */
const SHAPES = new LuaScript(`
local out = {}
for _, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k).ok
  if t == 'set' then out[#out + 1] = 1; out[#out + 1] = redis.call('SCARD', k)
  elseif t == 'string' then out[#out + 1] = 2; out[#out + 1] = redis.call('STRLEN', k)
  else out[#out + 1] = 0; out[#out + 1] = 0 end
end
return out
`);

/** KEYS[1] scratch, KEYS[2..] sets: the size of their union, in one SUNIONSTORE (small sets only). */
const SMALL_UNION = new LuaScript(`
redis.call('SUNIONSTORE', KEYS[1], unpack(KEYS, 2))
local n = redis.call('SCARD', KEYS[1])
redis.call('DEL', KEYS[1])
return n
`);

/**
 * One step of a union built in steps. KEYS[1] scratch, KEYS[2] a set day,
 * KEYS[3] the index hash; ARGV[1] SSCAN cursor, ARGV[2] count, ARGV[3]
 * scratch TTL (ms), ARGV[4] 'bits' to set the members' bits (the scratch is
 * a bitmap) or 'set' to add them (the scratch is a set). Returns the next cursor.
 */
const SCAN_INTO = new LuaScript(`
local r = redis.call('SSCAN', KEYS[2], ARGV[1], 'COUNT', ARGV[2])
local m = r[2]
if ARGV[4] == 'bits' then
  if #m > 0 then
    local set = {}
    for _, idx in ipairs(redis.call('HMGET', KEYS[3], unpack(m))) do
      if idx then set[#set + 1] = 'SET'; set[#set + 1] = 'u1'; set[#set + 1] = idx; set[#set + 1] = 1 end
    end
    for i = 1, #set, 4000 do redis.call('BITFIELD', KEYS[1], unpack(set, i, math.min(i + 3999, #set))) end
  end
else
  for i = 1, #m, 1000 do redis.call('SADD', KEYS[1], unpack(m, i, math.min(i + 999, #m))) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return r[1]
`);

/**
 * Build one window union. KEYS[1] the union, KEYS[2 .. n+1] its n sources
 * (ARGV[3]): day keys (ARGV[1] = '1'; then KEYS[n+2 .. 2n+1] are their
 * `activeBits` caches, read for a set day) or unions of the level below.
 * ARGV[2] the TTL cap (ms); the union never outlives a source. Returns 1
 * built, 0 a source union is missing (a write deleted it meanwhile: build
 * it first), 2 a source day is a set not yet turned into bits.
 * Empty and missing sources are left out of the BITOP (an absent source
 * would take BITOP off its fast path); an empty union is kept as "".
 */
const BUILD = new LuaScript(`
local n = tonumber(ARGV[3])
local srcs, lives = {}, {}
for i = 2, n + 1 do
  local k = KEYS[i]
  local t = redis.call('TYPE', k).ok
  if t == 'set' then
    k = KEYS[i + n]
    t = redis.call('TYPE', k).ok
    if t == 'none' then return 2 end
  end
  if t == 'string' then
    lives[#lives + 1] = k
    if redis.call('STRLEN', k) > 0 then srcs[#srcs + 1] = k end
  elseif ARGV[1] ~= '1' then
    return 0
  end
end
if #srcs >= 2 then redis.call('BITOP', 'OR', KEYS[1], unpack(srcs))
elseif #srcs == 1 then redis.call('COPY', srcs[1], KEYS[1], 'REPLACE')
else redis.call('SET', KEYS[1], '') end
local ttl = tonumber(ARGV[2])
for _, k in ipairs(lives) do
  local t = redis.call('PTTL', k)
  if t > 0 and t < ttl then ttl = t end
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`);

/** KEYS: pairs of a day key and its `activeBits` cache. Per pair 1 if the day is a set not yet turned into bits, else 0. */
const UNCONVERTED = new LuaScript(`
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('TYPE', KEYS[i]).ok == 'set' and redis.call('EXISTS', KEYS[i + 1]) == 0 then out[#out + 1] = 1 else out[#out + 1] = 0 end
end
return out
`);

/**
 * The last step of turning a set day into bits. KEYS[1] the bitmap built in
 * steps, KEYS[2] the set day, KEYS[3] its `activeBits` cache; ARGV[1] the
 * TTL cap (ms). Kept (1) only if it has a bit for every member: members are
 * only ever added, so equal counts mean the same users (a member added
 * during the steps, or one without an index, makes it 0, and it is dropped).
 */
const INSTALL_BITS = new LuaScript(`
if redis.call('TYPE', KEYS[2]).ok ~= 'set' then redis.call('DEL', KEYS[1]); return 0 end
local have = 0
if redis.call('EXISTS', KEYS[1]) == 1 then have = redis.call('BITCOUNT', KEYS[1]) end
if have ~= redis.call('SCARD', KEYS[2]) then redis.call('DEL', KEYS[1]); return 0 end
redis.call('RENAME', KEYS[1], KEYS[3])
local ttl = tonumber(ARGV[1])
local t = redis.call('PTTL', KEYS[2])
if t > 0 and t < ttl then ttl = t end
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
`);

/**
 * KEYS[1] scratch, KEYS[2] the window's last day, KEYS[3..] the unions
 * covering the window; ARGV[1] the window's width, ARGV[2] the members a
 * union of sets may have to be done in one SUNIONSTORE. Their union's size;
 * or (a table) the positions among KEYS[3..] of those missing; or -1 when
 * the last day is a set so small that the window is (a small game: no
 * unions kept for it).
 */
const WINDOW = new LuaScript(`
if redis.call('TYPE', KEYS[2]).ok == 'set' and redis.call('SCARD', KEYS[2]) * tonumber(ARGV[1]) <= tonumber(ARGV[2]) then return -1 end
local missing, srcs = {}, {}
for i = 3, #KEYS do
  if redis.call('STRLEN', KEYS[i]) > 0 then srcs[#srcs + 1] = KEYS[i]
  elseif redis.call('EXISTS', KEYS[i]) == 0 then missing[#missing + 1] = i - 2 end
end
if #missing > 0 then return missing end
if #srcs == 0 then return 0 end
if #srcs == 1 then return redis.call('BITCOUNT', srcs[1]) end
redis.call('BITOP', 'OR', KEYS[1], unpack(srcs))
local n = redis.call('BITCOUNT', KEYS[1])
redis.call('DEL', KEYS[1])
return n
`);

/**
 * A cohort against other days. KEYS[1] the cohort's `new` key, KEYS[2] its
 * runs cache (a MessagePack array lo, hi, lo, hi … of half-open runs: read
 * in C, not parsed in Lua), KEYS[3] scratch, KEYS[4..] the other days' keys;
 * ARGV[1] the most runs read one by one. Returns {cohort size, |cohort ∩
 * day| for each other day}, or false when a key is a set (the caller counts
 * those as sets).
 */
const COHORT = new LuaScript(`
local out = {}
local tn = redis.call('TYPE', KEYS[1]).ok
if tn == 'none' then
  out[1] = 0
  for i = 4, #KEYS do out[#out + 1] = 0 end
  return out
end
if tn ~= 'string' then return false end
for i = 4, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'string' and t ~= 'none' then return false end
end
local runs = redis.call('GET', KEYS[2])
if not runs then
  local len = redis.call('STRLEN', KEYS[1]) * 8
  local max = tonumber(ARGV[1])
  local b, p = {}, 0
  while p < len do
    local lo = redis.call('BITPOS', KEYS[1], 1, p, len - 1, 'BIT')
    if lo < 0 then break end
    if #b >= 2 * max then b = nil; break end
    local hi = redis.call('BITPOS', KEYS[1], 0, lo, len - 1, 'BIT')
    if hi < 0 then hi = len end
    b[#b + 1] = lo
    b[#b + 1] = hi
    p = hi
  end
  if b then runs = cmsgpack.pack(b) else runs = '!' end
  redis.call('SET', KEYS[2], runs)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
if runs == '!' then
  out[1] = redis.call('BITCOUNT', KEYS[1])
  for i = 4, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 0 then out[#out + 1] = 0
    else
      redis.call('BITOP', 'AND', KEYS[3], KEYS[1], KEYS[i])
      out[#out + 1] = redis.call('BITCOUNT', KEYS[3])
      redis.call('DEL', KEYS[3])
    end
  end
  return out
end
local b = cmsgpack.unpack(runs)
local size = 0
for j = 1, #b, 2 do size = size + b[j + 1] - b[j] end
out[1] = size
for i = 4, #KEYS do
  local kept = 0
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local gets = {}
    local function flush()
      if #gets > 0 then
        for _, v in ipairs(redis.call('BITFIELD_RO', KEYS[i], unpack(gets))) do kept = kept + v end
        gets = {}
      end
    end
    for j = 1, #b, 2 do
      local lo, hi = b[j], b[j + 1]
      if hi - lo <= 8 then
        for x = lo, hi - 1 do gets[#gets + 1] = 'GET'; gets[#gets + 1] = 'u1'; gets[#gets + 1] = x end
        if #gets >= 1500 then flush() end
      else
        kept = kept + redis.call('BITCOUNT', KEYS[i], lo, hi - 1, 'BIT')
      end
    end
    flush()
  end
  out[#out + 1] = kept
end
return out
`);

/** KEYS[1] scratch, KEYS[2] index hash, KEYS[3], KEYS[4] two day keys: the size of their intersection. */
export const INTERSECTION = new LuaScript(`
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

/** A cohort (the users registered on a day) and how many of them were active on given days. */
export interface Retention {
  readonly newUsers: number;
  /** One per day asked, in order. */
  readonly retained: number[];
}

/** One window union: the active users of the unionSpan(level) days (4, 16) ending on `day`. */
interface UnionNode {
  readonly level: number;
  readonly day: string;
}

export class ActivityStore {
  readonly settings: ActivitySettings;
  /** Union builds of each game, one after the other: WAU and MAU asked at once would otherwise build the same unions twice. */
  private readonly building = new Map<number, Promise<unknown>>();

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
    if (checkKind(kind) === 'new') return (await this.retention(game, day, [])).newUsers;
    const [n] = await this.counts([new DayKeys(this.names, game, day).kind(kind)]);
    return n!;
  }

  /**
   * Distinct users of `kind` over all `days` (WAU: 7 days, MAU: 30; see
   * `daysEnding`). Consecutive days of `active` on bitmaps read two cached
   * window unions; anything else is counted in steps.
   */
  async unionCount(game: number, kind: DayKind, days: readonly string[]): Promise<number> {
    checkKind(kind);
    if (days.length === 0) return 0;
    if (days.length > 400) throw usageError(`a union over ${days.length} days is too wide: use at most 400`);
    if (days.length === 1) return this.count(game, kind, days[0]!);
    if (kind === 'active' && consecutive(days)) {
      const n = await this.windowCount(game, days[days.length - 1]!, days.length);
      if (n !== null) return n;
    }
    return this.unionInSteps(game, days.map((day) => new DayKeys(this.names, game, day).kind(kind)));
  }

  /** Users in both `a` and `b` (retention Dn: `{new, C}` ∩ `{active, C+n}`). */
  async intersectionCount(game: number, a: DayRef, b: DayRef): Promise<number> {
    checkKind(a.kind);
    checkKind(b.kind);
    if (a.kind === 'new' || b.kind === 'new') {
      const [cohort, other] = a.kind === 'new' ? [a, b] : [b, a];
      return (await this.cohortAgainst(game, cohort.day, [new DayKeys(this.names, game, other.day).kind(other.kind)])).retained[0]!;
    }
    return this.intersectionOfKeys(game, new DayKeys(this.names, game, a.day).kind(a.kind), new DayKeys(this.names, game, b.day).kind(b.kind));
  }

  /**
   * The users registered on `cohort` and, for each of `days`, how many of
   * them were active that day: retention in one query (a few BITCOUNTs over
   * the cohort's runs of indexes on bitmaps; SCARD and SINTERCARD on sets).
   */
  retention(game: number, cohort: string, days: readonly string[]): Promise<Retention> {
    return this.cohortAgainst(game, cohort, days.map((day) => new DayKeys(this.names, game, day).kind('active')));
  }

  /**
   * Refuse to compute from days whose keys have expired: a missing key reads
   * as nobody, so a rerun of an old period would write zeros over its report
   * rows (and an analysis answer zeros). A game-day's keys live
   * `activity.ttlDays` (online buckets `activity.onlineTtlDays`) after their
   * last write, which is never before the day starts; so only days that
   * started longer ago than that are looked at, and one of them without its
   * `active` key (or without any online bucket) is gone, unless it comes
   * before the first day anything of the game was written for (the writer
   * keeps that day, keys.ts `sinceKey`): then nobody played yet. Days inside
   * the window are never refused: there a missing key means nobody played.
   * 0 (keep forever) refuses nothing, and nor does a game whose first day is
   * unknown (written before the first day was kept: an older installation).
   *
   * @param days the days the computation reads (a day's MAU reads 30).
   * @param zone the game's zone: where its days start.
   * @throws UserError (exit 1, not retried) naming the game, the days gone and the setting.
   * @example
   * ```ts
   * await store.assertKept(game, daysEnding(day, 30), zone); // before activeFigures
   * await store.assertKept(game, [day], zone, 'online'); // before onlineFigures
   * ```
   */
  async assertKept(game: number, days: readonly string[], zone: string, what: 'activity' | 'online' = 'activity', now = Date.now()): Promise<void> {
    const [setting, ttlDays] = what === 'online' ? ['activity.onlineTtlDays', this.settings.onlineTtlDays] : ['activity.ttlDays', this.settings.ttlDays];
    if (ttlDays === 0) return;
    const horizon = now - ttlDays * 86_400_000;
    const candidates = [...new Set(days)].filter((day) => dayBounds(day, zone).start < horizon).sort();
    if (candidates.length === 0) return;
    const since = await this.redis.get(sinceKey(this.names, game));
    const old = since === null ? [] : candidates.filter((day) => day >= since);
    if (old.length === 0) return;
    // One game's keys share a slot: one pipeline, on a cluster too.
    const pipeline = this.redis.pipeline();
    for (const day of old) {
      const keys = new DayKeys(this.names, game, day);
      if (what === 'online') pipeline.exists(...Array.from({ length: Math.ceil(dayBounds(day, zone).seconds / (this.settings.bucketMinutes * 60)) }, (_, i) => keys.online(i)));
      else pipeline.exists(keys.kind('active'));
    }
    const found = (await execPipeline(pipeline)) as number[];
    const gone = old.filter((_, i) => Number(found[i]) === 0);
    if (gone.length === 0) return;
    const which = gone.length === 1 ? gone[0] : `${gone[0]}..${gone.at(-1)} (${gone.length} days)`;
    throw failure(
      `game ${game}: no ${what === 'online' ? 'online buckets' : 'activity'} left in Redis for ${which} (keys are kept ${setting} = ${ttlDays} days after their last write): computing from ${gone.length === 1 ? 'that day' : 'those days'} would count nobody`,
    );
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
    const out: number[] = [];
    while (out.length < keys.length) {
      const part = (await COUNTS.run(this.redis, keys.slice(out.length), [COUNT_BUDGET_BYTES])) as number[];
      out.push(...part.map(Number));
    }
    return out;
  }

  /** A scratch key in `game`'s slot: scripts combine it with the game's keys. */
  private scratch(game: number): string {
    return scratchKey(this.names, game, randomUUID());
  }

  private async cohortAgainst(game: number, cohort: string, others: readonly string[]): Promise<Retention> {
    const keys = new DayKeys(this.names, game, cohort);
    const reply = await COHORT.run(this.redis, [keys.kind('new'), keys.newRuns, this.scratch(game), ...others], [MAX_RUNS]);
    if (Array.isArray(reply)) {
      const [newUsers, ...retained] = reply.map(Number);
      return { newUsers: newUsers!, retained };
    }
    // A set on either side: SCARD, SINTERCARD, or members looked up in the bitmap.
    const [[newUsers], retained] = await Promise.all([this.counts([keys.kind('new')]), Promise.all(others.map((other) => this.intersectionOfKeys(game, keys.kind('new'), other)))]);
    return { newUsers: newUsers!, retained };
  }

  private async intersectionOfKeys(game: number, a: string, b: string): Promise<number> {
    return Number(await INTERSECTION.run(this.redis, [this.scratch(game), userIndexKey(this.names, game), a, b]));
  }

  /**
   * Active users of the `width` days ending on `end`, from window unions
   * (building the missing ones), or `null` for the general path: a small
   * set game, a window wider than 16 unions, a set day that cannot be
   * turned into bits, or unions deleted under us again and again.
   */
  private async windowCount(game: number, end: string, width: number): Promise<number | null> {
    const level = width >= unionSpan(2) ? 2 : width >= unionSpan(1) ? 1 : 0;
    if (level === 0) return null; // 2 or 3 days: one BITOP of the days themselves
    const span = unionSpan(level);
    const tops: UnionNode[] = [];
    for (let back = 0; ; back += span) {
      const shift = Math.min(back, width - span);
      tops.push({ level, day: addDays(end, -shift) });
      if (shift === width - span) break;
    }
    if (tops.length > 16) return null;
    // A write may delete a union between its build and its use: build again, a few times at most.
    for (let attempt = 0; attempt < 4; attempt++) {
      const reply = await WINDOW.run(this.redis, [this.scratch(game), new DayKeys(this.names, game, end).kind('active'), ...tops.map((n) => this.unionKey(game, n))], [width, SMALL_SET_UNION]);
      if (!Array.isArray(reply)) return Number(reply) < 0 ? null : Number(reply);
      if (!(await this.buildUnions(game, reply.map((i) => tops[Number(i) - 1]!)))) return null;
    }
    return null;
  }

  /**
   * Build the `missing` unions and whatever they need, the lowest level
   * first (set days turned into bits before). False when a set day could
   * not be (a member without an index): the caller counts in steps.
   */
  private buildUnions(game: number, missing: readonly UnionNode[]): Promise<boolean> {
    const previous = this.building.get(game) ?? Promise.resolve();
    const next = previous.then(() => this.buildUnionsNow(game, missing));
    const settled = next.catch(() => undefined);
    this.building.set(game, settled);
    void settled.then(() => {
      if (this.building.get(game) === settled) this.building.delete(game);
    });
    return next;
  }

  private async buildUnionsNow(game: number, missing: readonly UnionNode[]): Promise<boolean> {
    const tree = new Map<string, UnionNode>();
    const visit = (n: UnionNode): void => {
      const key = this.unionKey(game, n);
      if (tree.has(key)) return;
      tree.set(key, n);
      if (n.level > 1) for (const s of unionSources(n)) visit(s);
    };
    missing.forEach(visit);
    const keys = [...tree.keys()];
    const probe = this.redis.pipeline();
    for (const key of keys) probe.exists(key);
    const exists = new Set(((await probe.exec()) ?? []).flatMap(([err, n], i) => (!err && Number(n) === 1 ? [keys[i]!] : [])));
    const toBuild = new Map<string, UnionNode>();
    const mark = (n: UnionNode): void => {
      const key = this.unionKey(game, n);
      if (toBuild.has(key) || exists.has(key)) return;
      toBuild.set(key, n);
      if (n.level > 1) for (const s of unionSources(n)) if (!exists.has(this.unionKey(game, s))) mark(s);
    };
    missing.forEach(mark);
    // Built meanwhile by the build before this one (the same store asked for WAU and MAU at once): nothing to do.
    if (missing.every((n) => exists.has(this.unionKey(game, n)))) return true;
    const ordered = [...toBuild.values()].sort((a, b) => a.level - b.level);
    // Set days under the lowest level (a game below the threshold, or one that crossed it) are turned into bits first.
    const days = [...new Set(ordered.filter((n) => n.level === 1).flatMap((n) => dayKeysOf(n)))];
    if (days.length > 0) {
      const dayKeys = days.map((d) => new DayKeys(this.names, game, d));
      const flags = ((await UNCONVERTED.run(this.redis, dayKeys.flatMap((k) => [k.kind('active'), k.activeBits]))) as number[]).map(Number);
      for (let i = 0; i < days.length; i++) if (flags[i] === 1 && !(await this.setToBits(game, days[i]!))) return false;
    }
    for (let i = 0; i < ordered.length; i += BUILDS_PER_TRIP) {
      const trip = this.redis.pipeline();
      BUILD.load(trip);
      const chunk = ordered.slice(i, i + BUILDS_PER_TRIP);
      for (const n of chunk) {
        let sources: string[];
        if (n.level === 1) {
          const days = dayKeysOf(n).map((d) => new DayKeys(this.names, game, d));
          sources = [...days.map((k) => k.kind('active')), ...days.map((k) => k.activeBits)];
        } else {
          sources = unionSources(n).map((s) => this.unionKey(game, s));
        }
        BUILD.queue(trip, [this.unionKey(game, n), ...sources], [n.level === 1 ? 1 : 0, UNION_TTL_DAYS[n.level]! * 86_400_000, UNION_FANOUT]);
      }
      const codes = ((await trip.exec()) ?? []).slice(1).map(([err, code]) => {
        if (err) throw err;
        return Number(code);
      });
      if (codes.some((c) => c !== 1)) return true; // a cache deleted under us: the caller looks again and builds what is missing
    }
    return true;
  }

  /**
   * Turn a set day's active users into its `activeBits` cache, a thousand
   * members a step. False if the result could not be kept (see INSTALL_BITS).
   */
  private async setToBits(game: number, day: string): Promise<boolean> {
    const keys = new DayKeys(this.names, game, day);
    const scratch = this.scratch(game);
    try {
      let cursor = '0';
      do {
        cursor = String(await SCAN_INTO.run(this.redis, [scratch, keys.kind('active'), userIndexKey(this.names, game)], [cursor, SCAN_COUNT, SCRATCH_TTL_MS, 'bits']));
      } while (cursor !== '0');
      return Number(await INSTALL_BITS.run(this.redis, [scratch, keys.kind('active'), keys.activeBits], [UNION_TTL_DAYS[1]! * 86_400_000])) === 1;
    } finally {
      await this.redis.unlink(scratch);
    }
  }

  private unionKey(game: number, n: UnionNode): string {
    return new DayKeys(this.names, game, n.day).activeUnion(n.level);
  }

  /**
   * The size of the union of `keys` (day keys of any representation), in
   * steps that each hold Redis briefly: bitmaps OR-ed at most 16 sources a
   * BITOP into a scratch bitmap, set days' members scanned into it a
   * thousand at a time; sets alone in one SUNIONSTORE when small, else
   * scanned into a scratch set.
   */
  private async unionInSteps(game: number, keys: readonly string[]): Promise<number> {
    const shapes = ((await SHAPES.run(this.redis, keys)) as number[]).map(Number);
    const sets: Array<{ key: string; size: number }> = [];
    const bitmaps: string[] = [];
    keys.forEach((key, i) => {
      const [type, size] = [shapes[2 * i]!, shapes[2 * i + 1]!];
      if (type === 1 && size > 0) sets.push({ key, size });
      else if (type === 2 && size > 0) bitmaps.push(key);
    });
    if (bitmaps.length === 0 && sets.length <= 1) return sets[0]?.size ?? 0;
    if (bitmaps.length === 1 && sets.length === 0) return this.redis.bitcount(bitmaps[0]!);
    const scratch = this.scratch(game);
    try {
      if (bitmaps.length === 0 && sets.reduce((n, s) => n + s.size, 0) <= SMALL_SET_UNION) {
        return Number(await SMALL_UNION.run(this.redis, [scratch, ...sets.map((s) => s.key)]));
      }
      for (let i = 0; i < bitmaps.length; ) {
        const sources = i === 0 ? bitmaps.slice(0, 16) : [scratch, ...bitmaps.slice(i, i + 15)];
        i += i === 0 ? 16 : 15;
        await this.redis.pipeline().bitop('OR', scratch, ...sources).pexpire(scratch, SCRATCH_TTL_MS).exec();
      }
      const into = bitmaps.length > 0 ? 'bits' : 'set';
      for (const s of sets) {
        let cursor = '0';
        do {
          cursor = String(await SCAN_INTO.run(this.redis, [scratch, s.key, userIndexKey(this.names, game)], [cursor, SCAN_COUNT, SCRATCH_TTL_MS, into]));
        } while (cursor !== '0');
      }
      return into === 'bits' ? await this.redis.bitcount(scratch) : await this.redis.scard(scratch);
    } finally {
      await this.redis.unlink(scratch);
    }
  }

  // Segments (issue #15): the same counts restricted to the users seen on some servers and/or with a channel.

  /**
   * Distinct users of `kind` over `days` in the segment `filter`: (users in
   * the days' keys of the servers in range, those seen: {@link segmentsSeen})
   * ∩ (users in the days' keys of the channel). Over several days that is
   * "seen on one of the servers on one of the days, and with the channel on
   * one of the days" (one day: DAU, new users, payers of the segment). No
   * filter: {@link unionCount}, the day's own keys. Exact on sets, bitmaps
   * and a window mixing both: set days are turned into bits when a bitmap
   * is involved, a thousand members a step.
   */
  async segmentCount(game: number, kind: DayKind, days: readonly string[], filter?: SegmentFilter): Promise<number> {
    checkKind(kind);
    if (!hasSegment(filter)) return this.unionCount(game, kind, days);
    if (days.length > 400) throw usageError(`a union over ${days.length} days is too wide: use at most 400`);
    const scratches: string[] = [];
    try {
      const key = await this.intersectionKey(game, await this.segmentSides(game, kind, days, filter), scratches);
      return key === undefined ? 0 : (await this.counts([key]))[0]!;
    } finally {
      if (scratches.length > 0) await this.redis.unlink(...scratches);
    }
  }

  /**
   * {@link retention} of the cohort's users in the segment: those whose
   * `register` carried a server in range and/or the channel; how many of
   * them were active on each of `days`, on any server and channel (a player
   * who registered on server 3 and plays on server 4 the next day is retained).
   */
  async segmentRetention(game: number, cohort: string, days: readonly string[], filter?: SegmentFilter): Promise<Retention> {
    if (!hasSegment(filter)) return this.retention(game, cohort, days);
    const scratches: string[] = [];
    try {
      const key = await this.intersectionKey(game, await this.segmentSides(game, 'new', [cohort], filter), scratches);
      if (key === undefined) return { newUsers: 0, retained: days.map(() => 0) };
      const [[newUsers], retained] = await Promise.all([
        this.counts([key]),
        Promise.all(days.map((day) => this.intersectionOfKeys(game, key, new DayKeys(this.names, game, day).kind('active')))),
      ]);
      return { newUsers: newUsers!, retained };
    } finally {
      if (scratches.length > 0) await this.redis.unlink(...scratches);
    }
  }

  /**
   * The day's revenue from the distinct orders in the segment, each order by
   * the server and channel its first counted event carried (so a payer on
   * server 3 who pays on server 4 adds to server 4's revenue). No filter:
   * {@link revenue}.
   */
  async segmentRevenue(game: number, day: string, filter?: SegmentFilter): Promise<DayRevenue> {
    if (!hasSegment(filter)) return this.revenue(game, day);
    const fields = await this.redis.hgetall(new DayKeys(this.names, game, day).segmentPay);
    let units = 0;
    let orders = 0;
    const channel = filter.channel?.trim();
    for (const [field, value] of Object.entries(fields)) {
      const f = parseSegmentPayField(field);
      if (!f) continue;
      if (filter.servers && (f.server === undefined || f.server < filter.servers.from || f.server > filter.servers.to)) continue;
      if (channel !== undefined && f.channel !== channel) continue;
      if (f.what === 'units') units += Number(value);
      else orders += Number(value);
    }
    return { amount: formatAmount(units), units, orders };
  }

  /** The servers (ascending) and channels (sorted) seen on the game's day. */
  async segmentsSeen(game: number, day: string): Promise<{ servers: number[]; channels: string[] }> {
    const keys = new DayKeys(this.names, game, day);
    const [servers, channels] = await Promise.all([this.redis.smembers(keys.segmentsSeen('server')), this.redis.smembers(keys.segmentsSeen('channel'))]);
    return { servers: servers.map(Number).sort((a, b) => a - b), channels: channels.sort() };
  }

  /** The key lists whose unions a segment intersects: the servers' keys (those seen in range), the channel's. */
  private async segmentSides(game: number, kind: DayKind, days: readonly string[], filter: SegmentFilter): Promise<string[][]> {
    const keys = days.map((day) => new DayKeys(this.names, game, day));
    const sides: string[][] = [];
    if (filter.servers) {
      const { from, to } = filter.servers;
      const pipeline = this.redis.pipeline();
      for (const k of keys) pipeline.smembers(k.segmentsSeen('server'));
      const seen = (await execPipeline(pipeline)) as string[][];
      sides.push(keys.flatMap((k, i) => seen[i]!.map(Number).filter((s) => s >= from && s <= to).map((s) => k.segment(kind, 'server', s))));
    }
    const channel = filter.channel?.trim();
    if (channel !== undefined) sides.push(channel === '' ? [] : keys.map((k) => k.segment(kind, 'channel', channel)));
    return sides;
  }

  /**
   * The users in every side (a side: the union of its keys, of any
   * representation) in one key: a key of the side itself when one suffices,
   * else a scratch key (added to `scratches`, for the caller to delete);
   * `undefined` when a side is empty. Bits when any key is a bitmap, else a set.
   */
  private async intersectionKey(game: number, sides: readonly string[][], scratches: string[]): Promise<string | undefined> {
    if (sides.length === 0 || sides.some((side) => side.length === 0)) return undefined;
    const all = [...new Set(sides.flat())];
    const shapes = ((await SHAPES.run(this.redis, all)) as number[]).map(Number);
    const shape = new Map(all.map((key, i) => [key, { type: shapes[2 * i]!, size: shapes[2 * i + 1]! }]));
    const present = sides.map((side) => [...new Set(side)].filter((key) => shape.get(key)!.size > 0));
    if (present.some((side) => side.length === 0)) return undefined;
    const into = all.some((key) => shape.get(key)!.type === 2 && shape.get(key)!.size > 0) ? 'bits' : 'set';
    const operands: string[] = [];
    for (const side of present) {
      if (side.length === 1 && shape.get(side[0]!)!.type === (into === 'bits' ? 2 : 1)) {
        operands.push(side[0]!);
        continue;
      }
      const scratch = this.scratch(game);
      scratches.push(scratch);
      await this.unionInto(game, side.map((key) => ({ key, ...shape.get(key)! })), into, scratch);
      operands.push(scratch);
    }
    if (operands.length === 1) return operands[0];
    const out = this.scratch(game);
    scratches.push(out);
    const step = this.redis.pipeline();
    if (into === 'bits') step.bitop('AND', out, ...operands);
    else step.sinterstore(out, ...operands);
    await execPipeline(step.pexpire(out, SCRATCH_TTL_MS));
    return out;
  }

  /**
   * Build the union of `keys` (type 1 set, 2 bitmap; none empty) into
   * `scratch` as bits or as a set, in steps that each hold Redis briefly
   * (as {@link unionInSteps}: BITOP of at most 16 sources, sets scanned a
   * thousand members at a time, one SUNIONSTORE when small).
   */
  private async unionInto(game: number, keys: ReadonlyArray<{ key: string; type: number; size: number }>, into: 'bits' | 'set', scratch: string): Promise<void> {
    const bitmaps = keys.filter((k) => k.type === 2).map((k) => k.key);
    const sets = keys.filter((k) => k.type === 1);
    if (into === 'set' && sets.reduce((n, s) => n + s.size, 0) <= SMALL_SET_UNION) {
      await execPipeline(this.redis.pipeline().sunionstore(scratch, ...sets.map((s) => s.key)).pexpire(scratch, SCRATCH_TTL_MS));
      return;
    }
    for (let i = 0; i < bitmaps.length; ) {
      const sources = i === 0 ? bitmaps.slice(0, 16) : [scratch, ...bitmaps.slice(i, i + 15)];
      i += i === 0 ? 16 : 15;
      await execPipeline(this.redis.pipeline().bitop('OR', scratch, ...sources).pexpire(scratch, SCRATCH_TTL_MS));
    }
    for (const s of sets) {
      let cursor = '0';
      do {
        cursor = String(await SCAN_INTO.run(this.redis, [scratch, s.key, userIndexKey(this.names, game)], [cursor, SCAN_COUNT, SCRATCH_TTL_MS, into]));
      } while (cursor !== '0');
    }
  }
}

/**
 * A segment of a game's users (issue #15): those seen on any server of
 * `servers` (both ends included) and/or with `channel` (compared trimmed);
 * with both, the users in both. Kept from the events' `server` and `channel`
 * (writer.ts `queueSegments`).
 */
export interface SegmentFilter {
  readonly servers?: { readonly from: number; readonly to: number };
  readonly channel?: string;
}

/** Whether `filter` restricts anything (else counts are the whole game's). */
export function hasSegment(filter: SegmentFilter | undefined): filter is SegmentFilter {
  return filter !== undefined && (filter.servers !== undefined || filter.channel !== undefined);
}

/** The unions of the level below a union is the OR of (level 2 and up). */
function unionSources(n: UnionNode): UnionNode[] {
  const step = unionSpan(n.level - 1);
  return Array.from({ length: UNION_FANOUT }, (_, i) => ({ level: n.level - 1, day: addDays(n.day, -i * step) }));
}

/** The days a level-1 union is the OR of. */
function dayKeysOf(n: UnionNode): string[] {
  return Array.from({ length: UNION_FANOUT }, (_, i) => addDays(n.day, -i));
}

/** Whether `days` are consecutive calendar days, oldest first (checked day keys: date arithmetic on UTC midnights). */
function consecutive(days: readonly string[]): boolean {
  const utc = (d: string) => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)));
  for (let i = 1; i < days.length; i++) if (utc(days[i]!) - utc(days[i - 1]!) !== 86_400_000) return false;
  return true;
}

function checkKind(kind: DayKind): DayKind {
  if (!(DAY_KINDS as readonly string[]).includes(kind)) throw usageError(`activity kind ${describeValue(kind)} is not valid: use ${DAY_KINDS.join(', ')}`);
  return kind;
}

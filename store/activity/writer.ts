/**
 * Writes a batch of events into the activity keys in two round trips:
 * (1) assign the users' dense indexes and fix each day's representation,
 * (2) one pipeline of aggregated writes: one SADD (or bit-writes.ts OR_BITS call) per key and
 * batch, not one command per event, and one pay script call per game (per
 * 200 pay events) for the orders. On a Redis Cluster each round trip is one
 * pipeline per game, sent together: a game's keys share a slot, two games'
 * need not ({@link RoundTrip}).
 *
 * Each day written then has the caches derived from it deleted (the window
 * unions covering it, its cohort's runs, its set as a bitmap: keys.ts
 * `derivedKeysCovering`), in the same pipeline after the writes, so a late
 * event or a re-ingest is seen by the next report query: the store
 * rebuilds what is missing.
 *
 * Every write here is idempotent — SADD and SETBIT of a member already there
 * change nothing, index assignment returns existing indexes, revenue moves
 * only for an order id not seen before, in the same script that records the
 * id — so a batch written twice (a collector killed before XACK, a file
 * ingested again) counts nothing twice.
 *
 * Pay orders count once per game, not once per day: a payment callback
 * resent after midnight (or days later) is the same order. The day of its
 * first arrival keeps it; a resend on another day writes nothing there — no
 * revenue, no payer, not even an active user (a resent callback is not the
 * player playing). So a day's pay hash and payers never change once its
 * orders are in, and a rerun of the pay report reads exactly what it read.
 *
 * The order memory: per game, one hash order id → day counted per month of
 * that day (`act:<game>:orders:<YYYYMM>`, keys.ts `ordersKey`). A hash, not
 * a set, so a resend can be told from a re-ingest of the same day (which
 * re-asserts the payer, idempotently) and so the memory says where an order
 * went. Memory stays bounded like the day keys': a month's hash expires
 * `activity.ttlDays` after its last write (0: kept, like everything else),
 * so it holds about ttlDays plus a month of orders, what the per-day order
 * sets held before. A lookup looks in the months within
 * {@link ORDER_WINDOW_DAYS} of the event's day, both ways (a file ingested
 * out of order): one HGET per pay event and month hash that exists, 27 at
 * most. Known limits: a resend more than the window after its first arrival
 * counts again, and "first" is first written: a resend ingested before its
 * original keeps the resend's day. Orders counted by versions that
 * deduplicated per day are still found in that day's legacy order set
 * (re-ingesting an old file stays a no-op); their resends on other days are
 * not.
 */
import type { ChainableCommander } from 'ioredis';
import { isCluster, type Redis } from '../../infra/redis';
import type { Names } from '../../core/names';
import { DayKeys, derivedKeysCovering, ordersKey, sinceKey, type ActivitySettings, type Representation } from './keys';
import type { PlayerEvent } from './events';
import { execPipeline, LuaScript } from './lua';
import { OR_BITS, queueBits } from './bit-writes';
import { queueSadd, queueScript } from './wire';
import { ASSIGN_NEW_INDEXES, type KnownIndexes } from './known-indexes';
import { ASSIGN_CHUNK, ASSIGN_INDEXES, userIndexKey } from './user-index';

/**
 * KEYS[1] the index hash, KEYS[2] the game's first-day key, KEYS[3..] the
 * days' repr keys; ARGV[1] threshold, ARGV[2] TTL seconds (0: none), ARGV[3]
 * the earliest of the days. A day keeps the representation it got first;
 * the first-day key keeps the earliest day ever written (days compare as
 * text), without TTL.
 */
const DECIDE = new LuaScript(`
local want = 'set'
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[1]) then want = 'bitmap' end
local since = redis.call('GET', KEYS[2])
if not since or ARGV[3] < since then redis.call('SET', KEYS[2], ARGV[3]) end
local ttl = tonumber(ARGV[2])
local out = {}
for i = 3, #KEYS do
  local r = redis.call('GET', KEYS[i])
  if not r then r = want; redis.call('SET', KEYS[i], r) end
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  out[i - 2] = r
end
return out
`);

/**
 * Pay events of one game, in arrival order; see the module comment.
 *
 * KEYS: the game's order months (ARGV[1] of them, hashes order id → day),
 * then four keys per day: its pay hash, its active and payers keys, its
 * legacy order set (read only).
 * ARGV: [1] months, [2] days, [3] TTL seconds (0: none); per day three: the
 * day, its representation, the KEYS index of its own month; per event six:
 * its day's index, the first and last KEYS index of the months to look in,
 * order id, units, member (user id on a set day, dense index on a bitmap day).
 *
 * Returns per event 1: new, counted on its day; 0: already counted on this
 * day (re-ingested; payer re-asserted); 2: counted on another day, nothing
 * written. Recording the id, adding the amount and marking the payer happen
 * together or not at all.
 */
const PAY = new LuaScript(`
local m, n, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local days, reprs, own = {}, {}, {}
for d = 1, n do
  local a = 3 + 3 * (d - 1)
  days[d], reprs[d], own[d] = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
end
local live, out, touchedDays, touchedMonths = {}, {}, {}, {}
for b = 1, m do live[b] = redis.call('EXISTS', KEYS[b]) == 1 end
for e = 4 + 3 * n, #ARGV, 6 do
  local d, id = tonumber(ARGV[e]), ARGV[e + 3]
  local base = m + 4 * (d - 1)
  local counted = false
  for b = tonumber(ARGV[e + 1]), tonumber(ARGV[e + 2]) do
    if live[b] then
      counted = redis.call('HGET', KEYS[b], id)
      if counted then break end
    end
  end
  local code = 0
  if not counted then
    if redis.call('SISMEMBER', KEYS[base + 4], id) == 0 then
      redis.call('HINCRBY', KEYS[base + 1], 'units', ARGV[e + 4])
      redis.call('HINCRBY', KEYS[base + 1], 'orders', 1)
      code = 1
    end
    redis.call('HSET', KEYS[own[d]], id, days[d])
    live[own[d]], touchedMonths[own[d]] = true, true
    counted = days[d]
  end
  if counted == days[d] then
    local member = ARGV[e + 5]
    if reprs[d] == 'set' then
      redis.call('SADD', KEYS[base + 2], member)
      redis.call('SADD', KEYS[base + 3], member)
    else
      redis.call('SETBIT', KEYS[base + 2], tonumber(member), 1)
      redis.call('SETBIT', KEYS[base + 3], tonumber(member), 1)
    end
    touchedDays[d] = true
  else
    code = 2
  end
  out[#out + 1] = code
end
if ttl > 0 then
  for b = 1, m do
    if touchedMonths[b] then redis.call('EXPIRE', KEYS[b], ttl) end
  end
  for d = 1, n do
    if touchedDays[d] then
      local base = m + 4 * (d - 1)
      for i = 1, 3 do redis.call('EXPIRE', KEYS[base + i], ttl) end
    end
  end
end
return out
`);

/**
 * How far apart, in days, an order's first arrival and a resend may be for
 * the resend to be recognised: a year and a month, the default activity TTL
 * (resent callbacks come hours or days later; this bounds a lookup to ~27
 * month hashes). Fixed, not the TTL: every writer must look in the same places.
 */
export const ORDER_WINDOW_DAYS = 400;

/** Pay events per script call: bounds one call's time in Redis (a few milliseconds; up to ~30 commands each). */
const PAYS_PER_CALL = 200;

/** Members per SADD command: bounds one command's size (bits: bit-writes.ts bounds its calls). */
const MEMBERS_PER_COMMAND = 2000;

export interface WriteSummary {
  readonly events: number;
  /** Pay events whose order id was new. */
  readonly newOrders: number;
  /** Pay events whose order id had been counted already, on their day or another (ignored). */
  readonly duplicateOrders: number;
}

/** A key's pending members: user ids for a set, indexes for a bitmap; and the pipeline of its game. */
type Pending = ({ repr: 'set'; members: Set<string> } | { repr: 'bitmap'; bits: Set<number> }) & { ttl: number; pipeline: ChainableCommander };

/**
 * The pipelines of one round trip. On one Redis, one pipeline carries every
 * game: one round trip, commands in the order queued. On a Redis Cluster a
 * pipeline must keep to the slots of one node, and only the keys of one game
 * are sure to share a slot (keys.ts): there each game gets its own
 * pipeline, and they are sent together. Each pipeline starts by loading the
 * round's scripts (on a cluster, into the node of its game).
 */
class RoundTrip {
  private readonly shared: ChainableCommander | undefined;
  private readonly byGame = new Map<number, ChainableCommander>();

  constructor(
    private readonly redis: Redis,
    private readonly scripts: readonly LuaScript[],
  ) {
    if (!isCluster(redis)) this.shared = this.open();
  }

  /** The pipeline to queue `game`'s commands on; `length` before queueing is the index of the next command's reply. */
  of(game: number): ChainableCommander {
    if (this.shared) return this.shared;
    let pipeline = this.byGame.get(game);
    if (!pipeline) this.byGame.set(game, (pipeline = this.open()));
    return pipeline;
  }

  /** Send every pipeline; each one's replies (the first command error thrown, as execPipeline does). */
  async exec(): Promise<Map<ChainableCommander, unknown[]>> {
    const all = this.shared ? [this.shared] : [...this.byGame.values()];
    const replies = await Promise.all(all.map((pipeline) => execPipeline(pipeline)));
    return new Map(all.map((pipeline, i) => [pipeline, replies[i]!]));
  }

  private open(): ChainableCommander {
    const pipeline = this.redis.pipeline();
    for (const script of this.scripts) script.load(pipeline);
    return pipeline;
  }
}

/** User id → dense index, as far as a batch needs it. */
type IndexOf = Pick<ReadonlyMap<string, number>, 'get'>;

/**
 * Write `events` (any games, any days) to `redis`. The caller routes events
 * of games with their own Redis to that Redis. `known`, kept by the caller
 * across the batches of one ingest into this Redis, spares resending users
 * whose index it has already been told (known-indexes.ts): the same writes.
 */
export async function writeEvents(
  redis: Redis,
  names: Names,
  events: readonly PlayerEvent[],
  settings: ActivitySettings,
  known?: KnownIndexes,
): Promise<WriteSummary> {
  if (events.length === 0) return { events: 0, newOrders: 0, duplicateOrders: 0 };
  const byGame = new Map<number, Map<string, PlayerEvent[]>>();
  /** Each game's pay events in arrival order: the first arrival of an order keeps it. */
  const paysByGame = new Map<number, PlayerEvent[]>();
  for (const e of events) {
    let days = byGame.get(e.game);
    if (!days) byGame.set(e.game, (days = new Map()));
    const list = days.get(e.day);
    if (list) list.push(e);
    else days.set(e.day, [e]);
    if (e.type === 'pay') {
      const pays = paysByGame.get(e.game);
      if (pays) pays.push(e);
      else paysByGame.set(e.game, [e]);
    }
  }

  // Round trip 1: indexes, then representations (after, so a game crossing the threshold is seen).
  const trip1 = new RoundTrip(redis, [known ? ASSIGN_NEW_INDEXES : ASSIGN_INDEXES, DECIDE]);
  /** A game's plan; its replies are `chunks` index lists then one list of representations, from `at` in its pipeline's replies. */
  const plans: Array<{ game: number; users: string[]; chunks: number; days: string[]; known?: ReadonlyMap<string, number>; pipeline: ChainableCommander; at: number }> = [];
  for (const [game, days] of byGame) {
    // Registering players first, day by day: the new players of a day in one batch get consecutive
    // indexes, so a day's cohort is a run of bits (or a few), which the store counts by ranges.
    const users = new Set<string>();
    for (const day of [...days.keys()].sort()) for (const e of days.get(day)!) if (e.type === 'register') users.add(e.user);
    for (const list of days.values()) for (const e of list) users.add(e.user);
    const remembered = known?.of(game);
    // Only users not known yet are sent: in the same order, so new ones get the same indexes.
    const first = trip1.of(game);
    const plan = {
      game,
      users: remembered && remembered.size > 0 ? [...users].filter((u) => !remembered.has(u)) : [...users],
      chunks: 0,
      days: [...days.keys()],
      known: remembered,
      pipeline: first,
      at: first.length,
    };
    const indexKey = userIndexKey(names, game);
    for (let i = 0; i < plan.users.length; i += ASSIGN_CHUNK, plan.chunks++) {
      if (remembered) queueScript(first, ASSIGN_NEW_INDEXES, [indexKey], [remembered.size, ...plan.users.slice(i, i + ASSIGN_CHUNK)]);
      else queueScript(first, ASSIGN_INDEXES, [indexKey], plan.users.slice(i, i + ASSIGN_CHUNK));
    }
    const earliest = plan.days.reduce((a, b) => (b < a ? b : a));
    DECIDE.queue(first, [indexKey, sinceKey(names, game), ...plan.days.map((d) => new DayKeys(names, game, d).repr)], [settings.threshold, ttlSeconds(settings.ttlDays), earliest]);
    plans.push(plan);
  }
  const replies1 = await trip1.exec();
  if (known) {
    // A game's index hash holds fewer users than remembered: it was lost. Forget, and write as if never known.
    let stale = false;
    for (const plan of plans) {
      const results = replies1.get(plan.pipeline)!;
      for (let c = 0; c < plan.chunks; c++) {
        if (!Array.isArray(results[plan.at + c])) {
          stale = true;
          known.forget(plan.game);
        }
      }
    }
    if (stale) return writeEvents(redis, names, events, settings, known);
  }

  // Round trip 2: the writes, aggregated per key.
  const trip2 = new RoundTrip(redis, [PAY, OR_BITS]);
  /** Where each PAY call's reply will be. */
  const payCalls: Array<{ pipeline: ChainableCommander; at: number }> = [];
  const pending = new Map<string, Pending>();
  const ttl = ttlSeconds(settings.ttlDays);
  const onlineTtl = ttlSeconds(settings.onlineTtlDays);
  const bucketSeconds = settings.bucketMinutes * 60;
  for (const plan of plans) {
    const results = replies1.get(plan.pipeline)!;
    let at = plan.at;
    const second = trip2.of(plan.game);
    const fresh = new Map<string, number>();
    let u = 0;
    for (let c = 0; c < plan.chunks; c++) {
      for (const i of results[at++] as number[]) {
        const user = plan.users[u++]!;
        fresh.set(user, i);
        known?.remember(plan.game, user, i);
      }
    }
    const remembered = plan.known;
    const index: IndexOf = remembered ? { get: (user) => fresh.get(user) ?? remembered.get(user) } : fresh;
    const reprs = results[at++] as Representation[];
    const reprOf = new Map(plan.days.map((day, d) => [day, reprs[d]!]));
    const days = byGame.get(plan.game)!;
    for (const day of plan.days) {
      const keys = new DayKeys(names, plan.game, day);
      const repr = reprOf.get(day)!;
      // A key's entry is made at its first member, as before: the pipeline's command order is unchanged.
      const entry = (key: string, keyTtl: number): Pending => {
        let p = pending.get(key);
        if (!p) pending.set(key, (p = repr === 'set' ? { repr, members: new Set(), ttl: keyTtl, pipeline: second } : { repr, bits: new Set(), ttl: keyTtl, pipeline: second }));
        return p;
      };
      // Key names are built once per game-day (and bucket), not per event.
      let active: Pending | undefined;
      let fresh: Pending | undefined;
      const online: Array<Pending | undefined> = [];
      const add = (p: Pending, user: string) => {
        if (p.repr === 'set') p.members.add(user);
        else p.bits.add(index.get(user)!);
      };
      for (const e of days.get(day)!) {
        // A pay event's user is active and a payer only if its order counts on this day: PAY decides.
        if (e.type === 'pay') continue;
        add((active ??= entry(keys.kind('active'), ttl)), e.user);
        if (e.type === 'register') add((fresh ??= entry(keys.kind('new'), ttl)), e.user);
        else if (e.type === 'online') {
          const bucket = Math.floor(e.secondOfDay / bucketSeconds);
          add((online[bucket] ??= entry(keys.online(bucket), onlineTtl)), e.user);
        }
      }
    }
    const pays = paysByGame.get(plan.game) ?? [];
    for (let i = 0; i < pays.length; i += PAYS_PER_CALL) {
      const call = payCall(names, plan.game, pays.slice(i, i + PAYS_PER_CALL), reprOf, index, ttl);
      payCalls.push({ pipeline: second, at: second.length });
      PAY.queue(second, call.keys, call.args);
    }
    queueSegments(second, names, plan.game, days, reprOf, index, ttl);
  }
  queueWrites(pending);
  // After the writes, on the same connection: drop the caches derived from the days written (window
  // unions, cohort runs, a set day's bitmap). One built before this point is deleted; one built after sees the writes.
  for (const plan of plans) for (const day of plan.days) trip2.of(plan.game).unlink(...derivedKeysOf(names, plan.game, day));
  const written = await trip2.exec();
  let payEvents = 0;
  let newOrders = 0;
  for (const call of payCalls) {
    for (const code of written.get(call.pipeline)![call.at] as number[]) {
      payEvents++;
      if (Number(code) === 1) newOrders++;
    }
  }
  return { events: events.length, newOrders, duplicateOrders: payEvents - newOrders };
}

/** The keys and arguments of one {@link PAY} call: `pays` of `game`, in arrival order. */
function payCall(
  names: Names,
  game: number,
  pays: readonly PlayerEvent[],
  reprOf: ReadonlyMap<string, Representation>,
  index: IndexOf,
  ttl: number,
): { keys: string[]; args: Array<string | number> } {
  const days = [...new Set(pays.map((e) => e.day))];
  const windows = days.map((day) => ({ own: monthIndex(day, 0), first: monthIndex(day, -ORDER_WINDOW_DAYS), last: monthIndex(day, ORDER_WINDOW_DAYS) }));
  const from = Math.min(...windows.map((w) => w.first));
  const to = Math.max(...windows.map((w) => w.last));
  const keys: string[] = [];
  for (let month = from; month <= to; month++) keys.push(ordersKey(names, game, monthKey(month)));
  const args: Array<string | number> = [keys.length, days.length, ttl];
  const dayIndex = new Map<string, number>();
  days.forEach((day, d) => {
    const k = new DayKeys(names, game, day);
    keys.push(k.pay, k.kind('active'), k.kind('payers'), k.orders);
    args.push(day, reprOf.get(day)!, windows[d]!.own - from + 1);
    dayIndex.set(day, d);
  });
  for (const e of pays) {
    const d = dayIndex.get(e.day)!;
    const w = windows[d]!;
    args.push(d + 1, w.first - from + 1, w.last - from + 1, e.id!, e.amountUnits!, reprOf.get(e.day) === 'set' ? e.user : index.get(e.user)!);
  }
  return { keys, args };
}

/** The month `shift` days after `day` (`YYYYMMDD`), as a count of months since year 0. */
function monthIndex(day: string, shift: number): number {
  const t = new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8))) + shift * 86_400_000);
  return t.getUTCFullYear() * 12 + t.getUTCMonth();
}

/** `YYYYMM` of a {@link monthIndex}. */
function monthKey(month: number): string {
  return `${Math.floor(month / 12)}${String((month % 12) + 1).padStart(2, '0')}`;
}

function queueWrites(pending: Map<string, Pending>): void {
  for (const [key, p] of pending) {
    const pipeline = p.pipeline;
    if (p.repr === 'set') {
      const members = [...p.members];
      for (let i = 0; i < members.length; i += MEMBERS_PER_COMMAND) queueSadd(pipeline, key, members.slice(i, i + MEMBERS_PER_COMMAND));
    } else queueBits(pipeline, key, p.bits); // OR_BITS: loaded by every round trip 2 pipeline
    if (p.ttl > 0) pipeline.expire(key, p.ttl);
  }
}

/** keys.ts's derivedKeysCovering, remembered: it costs about half a millisecond (day arithmetic), and every batch asks it for the same days. */
const derivedKeysCache = new WeakMap<Names, Map<string, readonly string[]>>();

function derivedKeysOf(names: Names, game: number, day: string): readonly string[] {
  let cache = derivedKeysCache.get(names);
  if (!cache) derivedKeysCache.set(names, (cache = new Map()));
  const id = `${game}:${day}`;
  let keys = cache.get(id);
  if (!keys) {
    if (cache.size >= 10_000) cache.clear();
    cache.set(id, (keys = derivedKeysCovering(names, game, day)));
  }
  return keys;
}

function ttlSeconds(days: number): number {
  return days * 86_400;
}

// ---------------------------------------------------------------------------------------------
// Segments: the day's users per server and per channel, beside the day's own keys.

/**
 * KEYS[1] the order memory of the day's month (order id → day counted),
 * KEYS[2] the day's `segmentOrders`, KEYS[3] its `segmentPay`, KEYS[4..]
 * segment keys. ARGV[1] the day, ARGV[2] its representation, ARGV[3] TTL
 * seconds (0: none); per pay event eight: order id, units, member, the
 * `segmentPay` field suffix, and the KEYS index (0: none) of its server's
 * active and payers keys and of its channel's.
 *
 * Queued after the day's {@link PAY} calls, in the same pipeline: an event
 * whose order PAY counted on this day (the memory says this day) makes its
 * user active and a payer in its segments, as PAY did in the day's own
 * keys; its amount goes to `segmentPay` once per order (`segmentOrders`),
 * so a batch written again adds nothing, and one whose segment write was
 * lost (a crash between PAY and this) adds it then.
 */
const SEGMENT_PAY = new LuaScript(`
local day, repr, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local touched = {}
for e = 4, #ARGV, 8 do
  local id = ARGV[e]
  if redis.call('HGET', KEYS[1], id) == day then
    for j = e + 4, e + 7 do
      local k = tonumber(ARGV[j])
      if k > 0 then
        if repr == 'set' then redis.call('SADD', KEYS[k], ARGV[e + 2])
        else redis.call('SETBIT', KEYS[k], tonumber(ARGV[e + 2]), 1) end
        touched[k] = true
      end
    end
    if redis.call('SADD', KEYS[2], id) == 1 then
      redis.call('HINCRBY', KEYS[3], 'units|' .. ARGV[e + 3], ARGV[e + 1])
      redis.call('HINCRBY', KEYS[3], 'orders|' .. ARGV[e + 3], 1)
      touched[2], touched[3] = true, true
    end
  end
end
if ttl > 0 then
  for k in pairs(touched) do redis.call('EXPIRE', KEYS[k], ttl) end
end
return 0
`);

/** A channel as segments keep it: trimmed (as an analysis's `channel` parameter is), none when empty. */
export function segmentChannel(channel: string | undefined): string | undefined {
  const c = channel?.trim();
  return c === undefined || c === '' ? undefined : c;
}

/**
 * The `segmentPay` field of an order's units or count: `units|<server>|<channel>`,
 * `''` for an absent one (a server id has no `|`: the channel is everything after the second).
 */
export function segmentPayField(what: 'units' | 'orders', server: number | undefined, channel: string | undefined): string {
  return `${what}|${segmentPaySuffix(server, channel)}`;
}

/** A `segmentPay` field read back; `undefined` for one this version does not write. */
export function parseSegmentPayField(field: string): { what: 'units' | 'orders'; server?: number; channel?: string } | undefined {
  const m = /^(units|orders)\|(-?\d*)\|([\s\S]*)$/.exec(field);
  if (!m) return undefined;
  return { what: m[1] as 'units' | 'orders', ...(m[2] !== '' && { server: Number(m[2]) }), ...(m[3] !== '' && { channel: m[3] }) };
}

function segmentPaySuffix(server: number | undefined, channel: string | undefined): string {
  return `${server ?? ''}|${channel ?? ''}`;
}

/**
 * Queue the segments of one game's events of this batch (issue #15): an
 * event with a `server` and/or a (non-empty, trimmed) `channel` also puts
 * its user in that server's and that channel's keys of the day — `active`
 * for every event, `new` for a register, `active` and `payers` for a pay
 * whose order counts on the day ({@link SEGMENT_PAY}, with the revenue per
 * server and channel of the order) — and the server and channel in the
 * day's lists of those seen. Same representation as the day's own keys
 * (set of user ids or bits on dense indexes), same TTL; all SADD / SETBIT,
 * so idempotent like the rest. Derived caches are not kept for segments:
 * nothing here needs deleting after a write.
 */
function queueSegments(
  pipeline: ChainableCommander,
  names: Names,
  game: number,
  days: ReadonlyMap<string, readonly PlayerEvent[]>,
  reprOf: ReadonlyMap<string, Representation>,
  index: IndexOf,
  ttl: number,
): void {
  const pending = new Map<string, Pending>();
  const seen = new Map<string, Set<string>>();
  const pays: Array<{ keys: string[]; args: Array<string | number> }> = [];
  for (const [day, list] of days) {
    const keys = new DayKeys(names, game, day);
    const repr = reprOf.get(day)!;
    const add = (key: string, member: string | number) => {
      let p = pending.get(key);
      if (!p) pending.set(key, (p = repr === 'set' ? { repr, members: new Set(), ttl, pipeline } : { repr, bits: new Set(), ttl, pipeline }));
      if (p.repr === 'set') p.members.add(member as string);
      else p.bits.add(member as number);
    };
    const see = (key: string, value: string) => {
      const s = seen.get(key);
      if (s) s.add(value);
      else seen.set(key, new Set([value]));
    };
    let call: { keys: string[]; args: Array<string | number>; at: Map<string, number>; events: number } | undefined;
    const keyAt = (key: string): number => {
      let i = call!.at.get(key);
      if (i === undefined) call!.at.set(key, (i = call!.keys.push(key)));
      return i;
    };
    for (const e of list) {
      const server = e.server;
      const channel = segmentChannel(e.channel);
      if (server === undefined && channel === undefined) continue;
      if (server !== undefined) see(keys.segmentsSeen('server'), String(server));
      if (channel !== undefined) see(keys.segmentsSeen('channel'), channel);
      const member = repr === 'set' ? e.user : index.get(e.user)!;
      if (e.type !== 'pay') {
        for (const kind of e.type === 'register' ? (['active', 'new'] as const) : (['active'] as const)) {
          if (server !== undefined) add(keys.segment(kind, 'server', server), member);
          if (channel !== undefined) add(keys.segment(kind, 'channel', channel), member);
        }
        continue;
      }
      if (!call || call.events === PAYS_PER_CALL) {
        call = { keys: [ordersKey(names, game, day.slice(0, 6)), keys.segmentOrders, keys.segmentPay], args: [day, repr, ttl], at: new Map(), events: 0 };
        pays.push(call);
      }
      call.events++;
      const pair = (by: 'server' | 'channel', value: number | string | undefined) =>
        value === undefined ? [0, 0] : [keyAt(keys.segment('active', by, value)), keyAt(keys.segment('payers', by, value))];
      call.args.push(e.id!, e.amountUnits!, member, segmentPaySuffix(server, channel), ...pair('server', server), ...pair('channel', channel));
    }
  }
  queueWrites(pending);
  for (const [key, values] of seen) {
    pipeline.sadd(key, ...values);
    if (ttl > 0) pipeline.expire(key, ttl);
  }
  if (pays.length > 0) SEGMENT_PAY.load(pipeline);
  for (const call of pays) SEGMENT_PAY.queue(pipeline, call.keys, call.args);
}

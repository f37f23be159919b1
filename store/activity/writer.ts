/**
 * Writes a batch of events into the activity keys in two round trips:
 * (1) assign the users' dense indexes and fix each day's representation,
 * (2) one pipeline of aggregated writes: one SADD (or BITFIELD) per key and
 * batch, not one command per event.
 *
 * Every write here is idempotent — SADD and SETBIT of a member already there
 * change nothing, index assignment returns existing indexes, revenue moves
 * only for an order id not seen before, in the same script that records the
 * id — so a batch written twice (a collector killed before XACK, a file
 * ingested again) counts nothing twice.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { Names } from '../../core/names';
import { DayKeys, type ActivitySettings, type Representation } from './keys';
import type { PlayerEvent } from './events';
import { execPipeline, LuaScript } from './lua';
import { ASSIGN_CHUNK, ASSIGN_INDEXES, userIndexKey } from './user-index';

/**
 * KEYS[1] the index hash, KEYS[2..] the days' repr keys; ARGV[1] threshold,
 * ARGV[2] TTL seconds (0: none). A day keeps the representation it got first.
 */
const DECIDE = new LuaScript(`
local want = 'set'
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[1]) then want = 'bitmap' end
local ttl = tonumber(ARGV[2])
local out = {}
for i = 2, #KEYS do
  local r = redis.call('GET', KEYS[i])
  if not r then r = want; redis.call('SET', KEYS[i], r) end
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  out[i - 1] = r
end
return out
`);

/**
 * KEYS[1] the day's order-id set, KEYS[2] its pay hash; ARGV order id, units,
 * TTL. Returns 1 for a new order, 0 for a duplicate. Recording the id and
 * adding the amount happen together or not at all.
 */
const PAY = new LuaScript(`
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'units', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'orders', 1)
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
`);

/** Members (or bits) per SADD / BITFIELD command: bounds one command's size. */
const MEMBERS_PER_COMMAND = 2000;

export interface WriteSummary {
  readonly events: number;
  /** Pay events whose order id was new. */
  readonly newOrders: number;
  /** Pay events whose order id had been counted already (ignored). */
  readonly duplicateOrders: number;
}

/** A key's pending members: user ids for a set, indexes for a bitmap. */
type Pending = { repr: 'set'; members: Set<string>; ttl: number } | { repr: 'bitmap'; bits: Set<number>; ttl: number };

/**
 * Write `events` (any games, any days) to `redis`. The caller routes events
 * of games with their own Redis to that Redis.
 */
export async function writeEvents(redis: Redis, names: Names, events: readonly PlayerEvent[], settings: ActivitySettings): Promise<WriteSummary> {
  if (events.length === 0) return { events: 0, newOrders: 0, duplicateOrders: 0 };
  const byGame = new Map<number, Map<string, PlayerEvent[]>>();
  for (const e of events) {
    let days = byGame.get(e.game);
    if (!days) byGame.set(e.game, (days = new Map()));
    const list = days.get(e.day);
    if (list) list.push(e);
    else days.set(e.day, [e]);
  }

  // Round trip 1: indexes, then representations (after, so a game crossing the threshold is seen).
  const first = redis.pipeline();
  ASSIGN_INDEXES.load(first);
  DECIDE.load(first);
  const plans: Array<{ game: number; users: string[]; chunks: number; days: string[] }> = [];
  for (const [game, days] of byGame) {
    const users = new Set<string>();
    for (const list of days.values()) for (const e of list) users.add(e.user);
    const plan = { game, users: [...users], chunks: 0, days: [...days.keys()] };
    const indexKey = userIndexKey(names, game);
    for (let i = 0; i < plan.users.length; i += ASSIGN_CHUNK, plan.chunks++) {
      ASSIGN_INDEXES.queue(first, [indexKey], plan.users.slice(i, i + ASSIGN_CHUNK));
    }
    DECIDE.queue(first, [indexKey, ...plan.days.map((d) => new DayKeys(names, game, d).repr)], [settings.threshold, ttlSeconds(settings.ttlDays)]);
    plans.push(plan);
  }
  const results = await execPipeline(first);
  let at = 2; // the two script loads

  // Round trip 2: the writes, aggregated per key.
  const second = redis.pipeline();
  PAY.load(second);
  let payCalls = 0;
  const pending = new Map<string, Pending>();
  const ttl = ttlSeconds(settings.ttlDays);
  const onlineTtl = ttlSeconds(settings.onlineTtlDays);
  const bucketSeconds = settings.bucketMinutes * 60;
  for (const plan of plans) {
    const index = new Map<string, number>();
    let u = 0;
    for (let c = 0; c < plan.chunks; c++) for (const i of results[at++] as number[]) index.set(plan.users[u++]!, i);
    const reprs = results[at++] as Representation[];
    const days = byGame.get(plan.game)!;
    plan.days.forEach((day, d) => {
      const keys = new DayKeys(names, plan.game, day);
      const repr = reprs[d]!;
      const add = (key: string, user: string, keyTtl: number) => {
        let p = pending.get(key);
        if (!p) pending.set(key, (p = repr === 'set' ? { repr, members: new Set(), ttl: keyTtl } : { repr, bits: new Set(), ttl: keyTtl }));
        if (p.repr === 'set') p.members.add(user);
        else p.bits.add(index.get(user)!);
      };
      for (const e of days.get(day)!) {
        add(keys.kind('active'), e.user, ttl);
        if (e.type === 'register') add(keys.kind('new'), e.user, ttl);
        else if (e.type === 'online') add(keys.online(Math.floor(e.secondOfDay / bucketSeconds)), e.user, onlineTtl);
        else if (e.type === 'pay') {
          add(keys.kind('payers'), e.user, ttl);
          PAY.queue(second, [keys.orders, keys.pay], [e.id!, e.amountUnits!, ttl]);
          payCalls++;
        }
      }
    });
  }
  queueWrites(second, pending);
  const written = await execPipeline(second);
  let newOrders = 0;
  for (let i = 1; i <= payCalls; i++) newOrders += Number(written[i]);
  return { events: events.length, newOrders, duplicateOrders: payCalls - newOrders };
}

function queueWrites(pipeline: ChainableCommander, pending: Map<string, Pending>): void {
  for (const [key, p] of pending) {
    if (p.repr === 'set') {
      const members = [...p.members];
      for (let i = 0; i < members.length; i += MEMBERS_PER_COMMAND) pipeline.sadd(key, ...members.slice(i, i + MEMBERS_PER_COMMAND));
    } else {
      const bits = [...p.bits];
      for (let i = 0; i < bits.length; i += MEMBERS_PER_COMMAND) {
        const args: Array<string | number> = [];
        for (const bit of bits.slice(i, i + MEMBERS_PER_COMMAND)) args.push('SET', 'u1', bit, 1);
        pipeline.call('BITFIELD', key, ...args);
      }
    }
    if (p.ttl > 0) pipeline.expire(key, p.ttl);
  }
}

function ttlSeconds(days: number): number {
  return days * 86_400;
}

/**
 * Where a game's activity lives in Redis, and the settings that shape it.
 * One key per game, day and kind (`<prefix>:act:{<game>}:<day>:<kind>`), a
 * Redis set of user ids or a bitmap on the users' dense indexes; which of
 * the two a day uses is decided once, at its first write, and recorded in
 * the day's `repr` key, so concurrent writers agree and a day never mixes.
 * Pay orders are remembered per game, not per day (`<prefix>:act:{<game>}:orders:<YYYYMM>`,
 * {@link ordersKey}), so an order id counts once whatever day it arrives on.
 * Beside a day's keys the store keeps caches derived from them (window
 * unions `…:<day>:active:u4` and `u16`, the new users' runs `…:<day>:new:runs`, a
 * set day as a bitmap `…:<day>:active:bits`), which every write deletes for
 * the days it touches: {@link derivedKeysCovering}.
 *
 * Every key of a game carries the game as its hash tag (`{7}`,
 * `Names.gameKey`): the index hash, day keys, caches, order memory and
 * scratch keys of one game share one Redis Cluster slot, so every script
 * and pipeline over them runs on a cluster (docs/architecture.md "Redis Cluster").
 */
import { createHash } from 'node:crypto';
import type { Names } from '../../core/names';
import { addDays, assertDayKey } from '../../core/day';
import { checkRuntimeSetting, runtimeDefault } from '../../infra/config';
import { describeValue, parseGameId } from '../identifiers';

/** Kinds kept as one key per day; online users are kept per time bucket. */
export const DAY_KINDS = ['active', 'new', 'payers'] as const;
export type DayKind = (typeof DAY_KINDS)[number];
export type Representation = 'set' | 'bitmap';

/** Settings of the activity store; all have defaults. */
export interface ActivitySettings {
  /**
   * Users a game must exceed for its new days to be bitmaps instead of sets.
   * @defaultValue 1_000_000
   */
  readonly threshold: number;
  /**
   * Width of an online-users bucket in minutes; divides 60.
   * @defaultValue 5
   */
  readonly bucketMinutes: number;
  /**
   * Days a game-day's keys are kept after their last write (reruns need them: keep a year and a month). 0 keeps them forever.
   * @defaultValue 400
   */
  readonly ttlDays: number;
  /**
   * Days online buckets are kept (288 keys a day at 5 minutes: they are many).
   * @defaultValue 35
   */
  readonly onlineTtlDays: number;
}

const ACTIVITY_FIELDS = ['threshold', 'bucketMinutes', 'ttlDays', 'onlineTtlDays'] as const satisfies readonly (keyof ActivitySettings)[];

/** The defaults: the `activity.*` runtime settings' defaults, from the settings catalogue. */
export const DEFAULT_ACTIVITY_SETTINGS: ActivitySettings = Object.freeze(
  Object.fromEntries(ACTIVITY_FIELDS.map((name) => [name, Number(runtimeDefault(`activity.${name}`))])) as unknown as ActivitySettings,
);

/**
 * Merge partial settings over the defaults, refusing impossible values by
 * the `activity.*` settings' rules (the catalogue's).
 * @throws UserError (exit 2) naming the setting and what it accepts.
 */
export function activitySettings(partial: Partial<ActivitySettings> = {}): ActivitySettings {
  const s = { ...DEFAULT_ACTIVITY_SETTINGS, ...partial };
  for (const name of ACTIVITY_FIELDS) {
    const value = s[name];
    checkRuntimeSetting(`activity.${name}`, typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : describeValue(value));
  }
  return Object.freeze(s);
}

/** Key names of one game-day. Game and day are checked: nothing unchecked reaches a key name. */
export class DayKeys {
  /** `<prefix>:act:{<game>}:<day>`: every key of the day is this and more parts. */
  private readonly base: string;

  constructor(names: Names, game: number, day: string) {
    assertDayKey(day);
    this.base = names.gameKey('act', parseGameId(game), day);
  }

  kind(kind: DayKind): string {
    return `${this.base}:${kind}`;
  }

  online(bucket: number): string {
    return `${this.base}:online:${bucket}`;
  }

  /**
   * A cache: the union of the active users of the {@link unionSpan}(level)
   * days ending on this day (level 1: 4 days, `…:active:u4`; level 2: 16,
   * `…:active:u16`), a bitmap built by the store from four unions of the
   * level below (or four day keys), deleted by every write to a day it
   * covers ({@link derivedKeysCovering}).
   */
  activeUnion(level: number): string {
    if (!Number.isInteger(level) || level < 1 || level > UNION_LEVELS) throw new Error(`union level ${describeValue(level)} is not 1..${UNION_LEVELS}`);
    return `${this.base}:active:u${unionSpan(level)}`;
  }

  /**
   * A cache: a set day's active users as a bitmap on their dense indexes,
   * so window unions cover set days too. Built in steps, and kept only if
   * it then has as many bits as the set has members (members are only ever
   * added: equal counts, equal users); deleted by every write to the day.
   */
  get activeBits(): string {
    return `${this.base}:active:bits`;
  }

  /**
   * A cache: the runs of consecutive set bits of the day's `new` bitmap
   * (lo, hi, lo, hi … half-open, as a MessagePack array), or `!` when there
   * are too many; deleted by every write to the day.
   */
  get newRuns(): string {
    return `${this.base}:new:runs`;
  }

  /** The day's representation, fixed at its first write. */
  get repr(): string {
    return `${this.base}:repr`;
  }

  /** Hash of revenue units and order count. */
  get pay(): string {
    return `${this.base}:pay`;
  }

  /**
   * Set of the day's order ids, as versions that deduplicated per game-day
   * wrote it. Only read now (see {@link ordersKey}): an order found here was
   * counted on this day before the game-wide memory existed.
   */
  get orders(): string {
    return `${this.base}:orders`;
  }

  // Segments: the day's users per server and per channel (writer.ts `queueSegments`, store.ts `segmentCount`).

  /**
   * A segment of the day's users of `kind`: those whose events carried
   * server `value` (`…:<day>:<kind>:server:<id>`) or channel `value`
   * (`…:<day>:<kind>:channel:<encoded>`, {@link channelKeyPart}), in the
   * day's representation (set or bitmap, as its `kind` key). Written beside
   * the day's own keys, never instead of them.
   */
  segment(kind: DayKind, by: SegmentBy, value: number | string): string {
    if (by === 'server') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`server ${describeValue(value)} is not a whole number`);
      return `${this.base}:${kind}:server:${value}`;
    }
    if (typeof value !== 'string') throw new Error(`channel ${describeValue(value)} is not text`);
    return `${this.base}:${kind}:channel:${channelKeyPart(value)}`;
  }

  /** A set of the servers (ids) or channels (their text) seen on the day: a server range reads only the keys of servers that exist. */
  segmentsSeen(by: SegmentBy): string {
    return `${this.base}:${by === 'server' ? 'servers' : 'channels'}`;
  }

  /** Hash of revenue units and order count per server and channel of the order (fields: writer.ts `segmentPayField`). */
  get segmentPay(): string {
    return `${this.base}:pay:segments`;
  }

  /** Set of the day's order ids already added to {@link segmentPay}: each order counts there once. */
  get segmentOrders(): string {
    return `${this.base}:orders:segments`;
  }
}

/** Unions of a level are the OR of this many of the level below (or of days). */
export const UNION_FANOUT = 4;

/**
 * Levels of the precomputed window unions: level 1 covers 4 days, level 2
 * 16 (a sparse table over days, base 4). Any window of 4..31 days is the OR
 * of two of them (WAU: the 4 days ending on D and on D − 3; MAU: the 16
 * ending on D and on D − 14), wider ones of up to 16; building one is a
 * BITOP of four keys, so no BITOP ever has more than 16 sources (Redis's
 * fast path stops there). A day costs two builds: its 4-day and 16-day unions.
 */
export const UNION_LEVELS = 2;

/** Days a level's unions cover: 4, 16. */
export function unionSpan(level: number): number {
  return UNION_FANOUT ** level;
}

/**
 * Days a level's union lives after it is built (index = level). A day's
 * 4-day union is read by WAU 3 days later and by 16-day unions up to 12
 * days later; its 16-day union by MAU 14 days later: each outlives its use
 * by a few days, and a union found missing (a rerun of older days) is
 * simply built again. Capped by its sources' own TTLs, so a union never
 * outlives a day it covers.
 */
export const UNION_TTL_DAYS: readonly number[] = [0, 15, 18];

/**
 * The derived keys whose content depends on `day`'s keys: the window unions
 * of every level ending on `day` … `day + span − 1`, the day's new users'
 * runs and its set as a bitmap. A write deletes them after writing the day
 * (see writer.ts): a cache built before the write is deleted, one built
 * after sees it.
 */
export function derivedKeysCovering(names: Names, game: number, day: string): string[] {
  const own = new DayKeys(names, game, day);
  const keys = [own.newRuns, own.activeBits];
  const ahead = [day];
  for (let i = 1; i < unionSpan(UNION_LEVELS); i++) ahead.push(addDays(day, i));
  for (let level = 1; level <= UNION_LEVELS; level++) {
    for (let i = 0; i < unionSpan(level); i++) keys.push(new DayKeys(names, game, ahead[i]!).activeUnion(level));
  }
  return keys;
}

/** A month as `YYYYMM`. */
const MONTH_KEY = /^\d{4}(0[1-9]|1[0-2])$/;

/**
 * The game-wide memory of order ids first counted in `month` (`YYYYMM`, the
 * month of the local day they were counted on): a hash order id → that day
 * (`<prefix>:act:{<game>}:orders:<month>`). An order id counts once per game,
 * on the day of its first arrival, whatever day a resend arrives on; see
 * writer.ts for the lookup window and the TTL.
 */
export function ordersKey(names: Names, game: number, month: string): string {
  if (!MONTH_KEY.test(month)) throw new Error(`month ${describeValue(month)} is not YYYYMM`);
  return names.gameKey('act', parseGameId(game), 'orders', month);
}

/**
 * The first day (`YYYYMMDD`, the game's local day) anything of `game` was
 * written for (`<prefix>:act:{<game>}:since`), kept forever: a day before
 * it had nobody, a later day without keys expired (store.ts `assertKept`).
 */
export function sinceKey(names: Names, game: number): string {
  return names.gameKey('act', parseGameId(game), 'since');
}

/**
 * A scratch key for one query's intermediate result of `game`
 * (`<prefix>:tmp:{<game>}:<id>`), deleted by the same script or query: in
 * the game's slot, as the scripts combine it with the game's keys.
 */
export function scratchKey(names: Names, game: number, id: string): string {
  return names.gameKey('tmp', parseGameId(game), id);
}

// Day arithmetic is core/day's (one date model); re-exported for the store's readers.
export { addDays, daysEnding } from '../../core/day';

/** What a segment of a day's users is cut by. */
export type SegmentBy = 'server' | 'channel';

/**
 * A channel as one key part (`KEY_PART`'s alphabet, at most 64 characters),
 * distinct channels always distinct parts: letters, digits and `-` stay
 * (`ads` → `ads`), every other UTF-8 byte is `_` and two hex digits
 * (`store:eu` → `store_3aeu`); a result longer than 64 is `_h` and a
 * SHA-256 prefix instead (`h` is no hex digit: no escaped text reads so); `''` is `_`.
 */
export function channelKeyPart(channel: string): string {
  if (channel === '') return '_';
  let out = '';
  for (const byte of Buffer.from(channel, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out.length <= 64 ? out : `_h${createHash('sha256').update(channel, 'utf8').digest('hex').slice(0, 40)}`;
}

/**
 * Where a game's activity lives in Redis, and the settings that shape it.
 * One key per game, day and kind (`<prefix>:act:<game>:<day>:<kind>`), a
 * Redis set of user ids or a bitmap on the users' dense indexes; which of
 * the two a day uses is decided once, at its first write, and recorded in
 * the day's `repr` key, so concurrent writers agree and a day never mixes.
 * Pay orders are remembered per game, not per day (`<prefix>:act:<game>:orders:<YYYYMM>`,
 * {@link ordersKey}), so an order id counts once whatever day it arrives on.
 * Beside a day's keys the store keeps caches derived from them (window
 * unions `…:<day>:active:u4` and `u16`, the new users' runs `…:<day>:new:runs`, a
 * set day as a bitmap `…:<day>:active:bits`), which every write deletes for
 * the days it touches: {@link derivedKeysCovering}.
 */
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
  private readonly base: readonly (string | number)[];

  constructor(private readonly names: Names, game: number, day: string) {
    assertDayKey(day);
    this.base = ['act', parseGameId(game), day];
  }

  kind(kind: DayKind): string {
    return this.names.redisKey(...this.base, kind);
  }

  online(bucket: number): string {
    return this.names.redisKey(...this.base, 'online', bucket);
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
    return this.names.redisKey(...this.base, 'active', `u${unionSpan(level)}`);
  }

  /**
   * A cache: a set day's active users as a bitmap on their dense indexes,
   * so window unions cover set days too. Built in steps, and kept only if
   * it then has as many bits as the set has members (members are only ever
   * added: equal counts, equal users); deleted by every write to the day.
   */
  get activeBits(): string {
    return this.names.redisKey(...this.base, 'active', 'bits');
  }

  /**
   * A cache: the runs of consecutive set bits of the day's `new` bitmap
   * (lo, hi, lo, hi … half-open, as a MessagePack array), or `!` when there
   * are too many; deleted by every write to the day.
   */
  get newRuns(): string {
    return this.names.redisKey(...this.base, 'new', 'runs');
  }

  /** The day's representation, fixed at its first write. */
  get repr(): string {
    return this.names.redisKey(...this.base, 'repr');
  }

  /** Hash of revenue units and order count. */
  get pay(): string {
    return this.names.redisKey(...this.base, 'pay');
  }

  /**
   * Set of the day's order ids, as versions that deduplicated per game-day
   * wrote it. Only read now (see {@link ordersKey}): an order found here was
   * counted on this day before the game-wide memory existed.
   */
  get orders(): string {
    return this.names.redisKey(...this.base, 'orders');
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
 * (`<prefix>:act:<game>:orders:<month>`). An order id counts once per game,
 * on the day of its first arrival, whatever day a resend arrives on; see
 * writer.ts for the lookup window and the TTL.
 */
export function ordersKey(names: Names, game: number, month: string): string {
  if (!MONTH_KEY.test(month)) throw new Error(`month ${describeValue(month)} is not YYYYMM`);
  return names.redisKey('act', parseGameId(game), 'orders', month);
}

/** A scratch key for one query's intermediate result, deleted by the same script. */
export function scratchKey(names: Names, id: string): string {
  return names.redisKey('tmp', id);
}

// Day arithmetic is core/day's (one date model); re-exported for the store's readers.
export { addDays, daysEnding } from '../../core/day';

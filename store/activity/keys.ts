/**
 * Where a game's activity lives in Redis, and the settings that shape it.
 * One key per game, day and kind (`<prefix>:act:<game>:<day>:<kind>`), a
 * Redis set of user ids or a bitmap on the users' dense indexes; which of
 * the two a day uses is decided once, at its first write, and recorded in
 * the day's `repr` key, so concurrent writers agree and a day never mixes.
 */
import type { Names } from '../../core/names';
import { usageError } from '../../core/errors';
import { assertDayKey, describeValue, parseGameId } from '../identifiers';

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

export const DEFAULT_ACTIVITY_SETTINGS: ActivitySettings = Object.freeze({
  threshold: 1_000_000,
  bucketMinutes: 5,
  ttlDays: 400,
  onlineTtlDays: 35,
});

/**
 * Merge partial settings over the defaults, refusing impossible values.
 * @throws UserError (exit 2) naming the setting and what it accepts.
 */
export function activitySettings(partial: Partial<ActivitySettings> = {}): ActivitySettings {
  const s = { ...DEFAULT_ACTIVITY_SETTINGS, ...partial };
  const whole = (name: keyof ActivitySettings, min: number) => {
    const v = s[name];
    if (!Number.isSafeInteger(v) || v < min) throw usageError(`activity setting ${name} = ${describeValue(v)} is not valid: use a whole number ≥ ${min}`);
  };
  whole('threshold', 0);
  whole('ttlDays', 0);
  whole('onlineTtlDays', 0);
  if (!Number.isInteger(s.bucketMinutes) || s.bucketMinutes < 1 || 60 % s.bucketMinutes !== 0) {
    throw usageError(`activity setting bucketMinutes = ${describeValue(s.bucketMinutes)} is not valid: use a divisor of 60 (1, 2, 3, 5, 10, 15, 20, 30, 60)`);
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

  /** The day's representation, fixed at its first write. */
  get repr(): string {
    return this.names.redisKey(...this.base, 'repr');
  }

  /** Hash of revenue units and order count. */
  get pay(): string {
    return this.names.redisKey(...this.base, 'pay');
  }

  /** Set of the day's order ids: a pay event counts once, however often it arrives. */
  get orders(): string {
    return this.names.redisKey(...this.base, 'orders');
  }
}

/** A scratch key for one query's intermediate result, deleted by the same script. */
export function scratchKey(names: Names, id: string): string {
  return names.redisKey('tmp', id);
}

/** The `n` calendar days ending with `day` (inclusive), oldest first: WAU is `daysEnding(d, 7)`. */
export function daysEnding(day: string, n: number): string[] {
  assertDayKey(day);
  if (!Number.isInteger(n) || n < 1 || n > 366) throw usageError(`a day window of ${describeValue(n)} days is not valid: use 1 to 366`);
  const end = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(new Date(end - i * 86_400_000).toISOString().slice(0, 10).replace(/-/g, ''));
  return out;
}

/** The day `n` days after `day` (negative: before). Retention Dn of cohort C is active on `addDays(C, n)`. */
export function addDays(day: string, n: number): string {
  assertDayKey(day);
  const t = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8))) + n * 86_400_000;
  return new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
}

/**
 * Player events: one JSON object per line, validated into a typed
 * {@link PlayerEvent} whose day, hour and second-of-day are taken in the
 * game's time zone. Parsing never throws: ingestion skips and reports a bad
 * line and goes on, and exceptions in a loop over millions of lines are slow.
 */
import { DateTime } from 'luxon';
import { dayOf } from '../../core/day';
import { GAME_ID_FORM, isGameId } from '../../core/game';
import { describeValue } from '../identifiers';

export const EVENT_TYPES = ['register', 'login', 'online', 'pay'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Longest user id, order id and channel accepted. */
export const MAX_USER_LENGTH = 64;
export const MAX_ORDER_ID_LENGTH = 128;
export const MAX_CHANNEL_LENGTH = 64;
/** A line longer than this is refused before JSON parsing: no event is that big. */
export const MAX_LINE_LENGTH = 65_536;
/** Amounts are kept as integers of 1/10,000: exact sums, no float drift. */
export const AMOUNT_SCALE = 10_000;

/** Epoch-seconds timestamps outside 2000..2100 are refused (milliseconds sent as seconds land far beyond). */
const MIN_TS_S = 946_684_800;
const MAX_TS_S = 4_102_444_800;
const ISO_TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DECIMAL = /^(\d{1,11})(?:\.(\d{1,4}))?$/;
const TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/** One validated player event. */
export interface PlayerEvent {
  readonly game: number;
  readonly user: string;
  readonly type: EventType;
  /** The instant, in epoch milliseconds. */
  readonly ts: number;
  /** The local day in the game's zone, `YYYYMMDD`. */
  readonly day: string;
  /** The local hour 0..23 in the game's zone. */
  readonly hour: number;
  /** Seconds since the local day's first instant (DST days have 23 or 25 hours of them). */
  readonly secondOfDay: number;
  readonly server?: number;
  readonly channel?: string;
  /** `pay` only: the amount in 1/{@link AMOUNT_SCALE} units. */
  readonly amountUnits?: number;
  /** `pay` only: the order id, the key pay events are deduplicated by. */
  readonly id?: string;
}

export type ParseResult = { readonly ok: true; readonly event: PlayerEvent } | { readonly ok: false; readonly reason: string };

/** The zone whose days an event of `game` falls into (a game's tz override, else the configured zone). */
export type ZoneFor = (game: number) => string;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface DayInterval {
  readonly start: number;
  readonly end: number;
  readonly day: string;
  /** 24 hours long: the hour is arithmetic; else (a DST day) it is asked of luxon. */
  readonly regular: boolean;
}

/**
 * Where an instant falls in local time, cached per zone: the days are
 * core/day's (DST days have 23 or 25 hours), zone arithmetic costs
 * microseconds, and events of a file cluster on a few days.
 */
export class LocalDays {
  private readonly cache = new Map<string, DayInterval[]>();

  /** The local day, hour and second of day of `ts` (epoch ms) in `zone`. */
  /** The last zone asked about and its list: events of a file are mostly of one zone. */
  private lastZone: string | undefined;
  private lastList: DayInterval[] = [];

  locate(ts: number, zone: string): { day: string; hour: number; secondOfDay: number } {
    const interval = this.interval(ts, zone);
    const secondOfDay = Math.floor((ts - interval.start) / 1000);
    return { day: interval.day, hour: this.hourIn(interval, ts, zone, secondOfDay), secondOfDay };
  }

  /** The local hour of `ts`, which falls in `interval` at `secondOfDay`. */
  hourIn(interval: DayInterval, ts: number, zone: string, secondOfDay: number): number {
    return interval.regular ? Math.floor(secondOfDay / 3600) : DateTime.fromMillis(ts, { zone }).hour;
  }

  interval(ts: number, zone: string): DayInterval {
    let list: DayInterval[] | undefined;
    if (zone === this.lastZone) list = this.lastList;
    else {
      list = this.cache.get(zone);
      if (!list) this.cache.set(zone, (list = []));
      this.lastZone = zone;
      this.lastList = list;
    }
    for (let i = 0; i < list.length; i++) {
      const candidate = list[i]!;
      if (ts >= candidate.start && ts < candidate.end) return candidate;
    }
    const { key, start, end } = dayOf(ts, zone);
    const found = { start, end, day: key, regular: end - start === 86_400_000 };
    list.unshift(found);
    if (list.length > 16) list.pop();
    return found;
  }
}

/**
 * Parse and validate one line. Blank lines are not events: the caller skips
 * them before calling. Unknown fields are ignored (producers may add some).
 */
export function parseEventLine(line: string, zoneFor: ZoneFor, days: LocalDays): ParseResult {
  // A UTF-8 byte order mark (editors on Windows write one) starts a file's first line: not part of the event.
  if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
  if (line.length > MAX_LINE_LENGTH) return bad(`line longer than ${MAX_LINE_LENGTH} chars`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return bad('bad JSON');
  }
  return validateEvent(value, zoneFor, days);
}

/** Validate an already-decoded value (a Stream message's JSON, a test fixture) into an event. */
export function validateEvent(value: unknown, zoneFor: ZoneFor, days: LocalDays): ParseResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('not a JSON object');
  const o = value as Record<string, unknown>;

  if (o.game === undefined) return bad('missing field game');
  if (!isGameId(o.game)) return bad(`game must be ${GAME_ID_FORM}, got ${describeValue(o.game)}`);
  if (o.user === undefined) return bad('missing field user');
  if (typeof o.user !== 'string' || o.user.length === 0) return bad(`user must be a non-empty string, got ${describeValue(o.user)}`);
  if (o.user.length > MAX_USER_LENGTH) return bad(`user longer than ${MAX_USER_LENGTH} chars`);
  if (o.type === undefined) return bad('missing field type');
  if (typeof o.type !== 'string' || !TYPE_SET.has(o.type)) {
    return bad(`unknown type ${describeValue(o.type)}: use ${EVENT_TYPES.join(', ')}`);
  }
  const type = o.type as EventType;
  if (o.ts === undefined) return bad('missing field ts');
  const ts = parseTs(o.ts);
  if (typeof ts === 'string') return bad(ts);

  if (o.server !== undefined && !Number.isSafeInteger(o.server)) return bad(`server must be an integer, got ${describeValue(o.server)}`);
  if (o.channel !== undefined && (typeof o.channel !== 'string' || o.channel.length > MAX_CHANNEL_LENGTH)) {
    return bad(`channel must be a string of at most ${MAX_CHANNEL_LENGTH} chars, got ${describeValue(o.channel)}`);
  }

  let id: string | undefined;
  let amountUnits: number | undefined;
  if (type === 'pay') {
    if (o.id === undefined) return bad('pay without id');
    if (typeof o.id === 'string' && o.id.length > 0 && o.id.length <= MAX_ORDER_ID_LENGTH) id = o.id;
    else if (typeof o.id === 'number' && Number.isSafeInteger(o.id) && o.id >= 0) id = String(o.id);
    else return bad(`id must be an order id (string of 1 to ${MAX_ORDER_ID_LENGTH} chars, or a whole number), got ${describeValue(o.id)}`);
    if (o.amount === undefined) return bad('pay without amount');
    const units = parseAmount(o.amount);
    if (typeof units === 'string') return bad(units);
    amountUnits = units;
  }

  // The same fields, in the same order, as ever; no intermediate objects (this runs per event).
  const zone = zoneFor(o.game);
  const interval = days.interval(ts, zone);
  const secondOfDay = Math.floor((ts - interval.start) / 1000);
  const event: Mutable<PlayerEvent> = { game: o.game, user: o.user, type, ts, day: interval.day, hour: days.hourIn(interval, ts, zone, secondOfDay), secondOfDay };
  if (o.server !== undefined) event.server = o.server as number;
  if (o.channel !== undefined) event.channel = o.channel as string;
  if (id !== undefined) {
    event.id = id;
    event.amountUnits = amountUnits;
  }
  return { ok: true, event };
}

/** `ts` as epoch ms, or the reason it is refused. */
function parseTs(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < MIN_TS_S || value > MAX_TS_S) {
      return `bad ts ${describeValue(value)}: epoch seconds must fall in 2000..2100`;
    }
    return Math.floor(value * 1000);
  }
  if (typeof value === 'string') {
    const m = ISO_TS.exec(value);
    if (m) {
      const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
      const check = new Date(Date.UTC(y, mo - 1, d));
      const realDate = check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === d;
      const ms = Date.parse(value);
      // Date.parse rolls 30 February over to March and accepts 24:00; the checks above refuse both.
      if (realDate && h <= 23 && mi <= 59 && s <= 59 && Number.isFinite(ms) && ms >= MIN_TS_S * 1000 && ms <= MAX_TS_S * 1000) return ms;
    }
  }
  return `bad ts ${describeValue(value)}: use ISO-8601 with an offset (2026-11-24T10:00:00+08:00) or epoch seconds`;
}

/** A decimal amount as integer units, or the reason it is refused. */
function parseAmount(value: unknown): number | string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value : undefined;
  const m = text === undefined ? null : DECIMAL.exec(text);
  if (!m) return `amount must be a decimal ≥ 0 with at most 4 decimal places, got ${describeValue(value)}`;
  return Number(m[1]) * AMOUNT_SCALE + Number((m[2] ?? '').padEnd(4, '0'));
}

/** Integer amount units back to a decimal string (`12345` → `"1.2345"`, `20000` → `"2"`). */
export function formatAmount(units: number): string {
  const whole = Math.floor(units / AMOUNT_SCALE);
  const frac = String(units % AMOUNT_SCALE).padStart(4, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

function bad(reason: string): ParseResult {
  return { ok: false, reason };
}

/**
 * Player events: one JSON object per line, validated into a typed
 * {@link PlayerEvent} whose day, hour and second-of-day are taken in the
 * game's time zone. Parsing never throws: ingestion skips and reports a bad
 * line and goes on, and exceptions in a loop over millions of lines are slow.
 * Checking a line's fields is event-check.ts's; placing them in a day is here.
 */
import { DateTime } from 'luxon';
import { dayOf } from '../../core/day';
import { AMOUNT_SCALE, CheckedEvent, checkEventLine, checkEventValue, type EventType } from './event-check';

export { AMOUNT_SCALE, EVENT_TYPES, MAX_CHANNEL_LENGTH, MAX_LINE_LENGTH, MAX_ORDER_ID_LENGTH, MAX_USER_LENGTH, type EventType } from './event-check';

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
  const reason = checkEventLine(line, checked);
  return reason === undefined ? { ok: true, event: placeEvent(checked, zoneFor, days) } : bad(reason);
}

/** Validate an already-decoded value (a Stream message's JSON, a test fixture) into an event. */
export function validateEvent(value: unknown, zoneFor: ZoneFor, days: LocalDays): ParseResult {
  const reason = checkEventValue(value, checked);
  return reason === undefined ? { ok: true, event: placeEvent(checked, zoneFor, days) } : bad(reason);
}

/** The one {@link CheckedEvent} of parseEventLine and validateEvent (this thread's). */
const checked = new CheckedEvent();

/**
 * The event of checked fields, its instant placed in the local day of its
 * game's zone. The same fields, in the same order, as ever; no intermediate
 * objects (this runs per event).
 */
export function placeEvent(c: CheckedEvent, zoneFor: ZoneFor, days: LocalDays): PlayerEvent {
  const { game, ts } = c;
  const zone = zoneFor(game);
  const interval = days.interval(ts, zone);
  const secondOfDay = Math.floor((ts - interval.start) / 1000);
  const event: Mutable<PlayerEvent> = { game, user: c.user, type: c.type, ts, day: interval.day, hour: days.hourIn(interval, ts, zone, secondOfDay), secondOfDay };
  if (c.server !== undefined) event.server = c.server;
  if (c.channel !== undefined) event.channel = c.channel;
  if (c.id !== undefined) {
    event.id = c.id;
    event.amountUnits = c.amountUnits;
  }
  return event;
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

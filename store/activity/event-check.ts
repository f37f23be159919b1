/**
 * Checking one event line (or a decoded value) into its fields: everything
 * about an event but its local day, which needs the game's zone
 * (events.ts places it). Kept apart, with no heavy imports, so a parse
 * worker (parse-worker.ts) loads it in milliseconds. Checking never throws:
 * a bad line is refused with its reason.
 */
import { GAME_ID_FORM, isGameId } from '../../core/game';
import type * as Identifiers from '../identifiers';

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

/**
 * `value` for a reason: identifiers.ts's describeValue, loaded at the first
 * refused line (it brings mysql2, which a parse worker otherwise never needs).
 */
function describeValue(value: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../identifiers') as typeof Identifiers).describeValue(value);
}

/**
 * An event's fields once checked, before its instant is placed in a local
 * day (which needs the game's zone): what a parse worker hands back
 * (parse-worker.ts). One is reused line after line: read it before the next check.
 */
export class CheckedEvent {
  game = 0;
  user = '';
  type: EventType = 'login';
  /** Epoch milliseconds. */
  ts = 0;
  server: number | undefined = undefined;
  channel: string | undefined = undefined;
  /** `pay` only, with {@link amountUnits}. */
  id: string | undefined = undefined;
  amountUnits: number | undefined = undefined;
}

/**
 * Check one line into `out`; the reason it is refused, or undefined when
 * `out` holds its event. The same decisions and reasons as JSON.parse then
 * {@link checkEventValue}: lines of the usual shape are read by a scanner
 * ({@link scanLine}) and anything else by JSON.parse.
 */
export function checkEventLine(line: string, out: CheckedEvent): string | undefined {
  return checkEventSpan(line, 0, line.length, out);
}

/**
 * {@link checkEventLine} of the line `text[start, end)`, read in place: a
 * parse worker checks a piece's lines without cutting each out of it
 * (only a line the fast path declines is cut, for JSON.parse).
 */
export function checkEventSpan(text: string, start: number, end: number, out: CheckedEvent): string | undefined {
  // A UTF-8 byte order mark (editors on Windows write one) starts a file's first line: not part of the event.
  if (start < end && text.charCodeAt(start) === 0xfeff) start++;
  if (end - start > MAX_LINE_LENGTH) return `line longer than ${MAX_LINE_LENGTH} chars`;
  if (scanLine(text, start, end, scanned)) return checkEventValue(scanned, out);
  let value: unknown;
  try {
    value = JSON.parse(start === 0 && end === text.length ? text : text.slice(start, end));
  } catch {
    return 'bad JSON';
  }
  return checkEventValue(value, out);
}

/** Check a decoded value into `out`; the reason it is refused, or undefined. */
export function checkEventValue(value: unknown, out: CheckedEvent): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const o = value as Record<string, unknown>;

  if (o.game === undefined) return 'missing field game';
  if (!isGameId(o.game)) return `game must be ${GAME_ID_FORM}, got ${describeValue(o.game)}`;
  if (o.user === undefined) return 'missing field user';
  if (typeof o.user !== 'string' || o.user.length === 0) return `user must be a non-empty string, got ${describeValue(o.user)}`;
  if (o.user.length > MAX_USER_LENGTH) return `user longer than ${MAX_USER_LENGTH} chars`;
  if (o.type === undefined) return 'missing field type';
  if (typeof o.type !== 'string' || !TYPE_SET.has(o.type)) {
    return `unknown type ${describeValue(o.type)}: use ${EVENT_TYPES.join(', ')}`;
  }
  const type = o.type as EventType;
  if (o.ts === undefined) return 'missing field ts';
  const ts = parseTs(o.ts);
  if (typeof ts === 'string') return ts;

  if (o.server !== undefined && !Number.isSafeInteger(o.server)) return `server must be an integer, got ${describeValue(o.server)}`;
  if (o.channel !== undefined && (typeof o.channel !== 'string' || o.channel.length > MAX_CHANNEL_LENGTH)) {
    return `channel must be a string of at most ${MAX_CHANNEL_LENGTH} chars, got ${describeValue(o.channel)}`;
  }

  let id: string | undefined;
  let amountUnits: number | undefined;
  if (type === 'pay') {
    if (o.id === undefined) return 'pay without id';
    if (typeof o.id === 'string' && o.id.length > 0 && o.id.length <= MAX_ORDER_ID_LENGTH) id = o.id;
    else if (typeof o.id === 'number' && Number.isSafeInteger(o.id) && o.id >= 0) id = String(o.id);
    else return `id must be an order id (string of 1 to ${MAX_ORDER_ID_LENGTH} chars, or a whole number), got ${describeValue(o.id)}`;
    if (o.amount === undefined) return 'pay without amount';
    const units = parseAmount(o.amount);
    if (typeof units === 'string') return units;
    amountUnits = units;
  }
  out.game = o.game;
  out.user = o.user;
  out.type = type;
  out.ts = ts;
  out.server = o.server as number | undefined;
  out.channel = o.channel as string | undefined;
  out.id = id;
  out.amountUnits = amountUnits;
  return undefined;
}

/**
 * The fields validation reads, as JSON.parse would give them (undefined:
 * absent): what {@link scanLine} fills. Fixed shape, so reading it is fast.
 */
interface LineFields {
  game: unknown;
  user: unknown;
  type: unknown;
  ts: unknown;
  server: unknown;
  channel: unknown;
  id: unknown;
  amount: unknown;
}

const scanned: LineFields = { game: undefined, user: undefined, type: undefined, ts: undefined, server: undefined, channel: undefined, id: undefined, amount: undefined };

const enum Field {
  Game,
  User,
  Type,
  Ts,
  Server,
  Channel,
  Id,
  Amount,
}

/**
 * A fast path for the usual line: one JSON object whose keys are all among
 * the fields above, each at most once, with string values without escapes
 * and number values. Fills `out` with exactly what JSON.parse would give
 * and returns true; returns false, having decided nothing, for any other
 * line (other keys, a repeated key, escapes, nested values, true/false/null,
 * bad JSON), which then takes JSON.parse: so accepting and refusing, and the
 * reasons, are JSON.parse's and {@link checkEventValue}'s alone.
 */
function scanLine(s: string, from: number, n: number, out: LineFields): boolean {
  let i = skipSpace(s, from, n);
  if (i >= n || s.charCodeAt(i) !== 0x7b /* { */) return false;
  out.game = out.user = out.type = out.ts = out.server = out.channel = out.id = out.amount = undefined;
  i = skipSpace(s, i + 1, n);
  let seen = 0;
  if (i < n && s.charCodeAt(i) === 0x7d /* } */) return skipSpace(s, i + 1, n) === n;
  for (;;) {
    if (i >= n || s.charCodeAt(i) !== 0x22 /* " */) return false;
    const k = i + 1;
    let j = k;
    for (; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c === 0x22) break;
      if (c === 0x5c /* \ */ || c < 0x20) return false;
    }
    if (j >= n) return false;
    const field = fieldOf(s, k, j - k);
    if (field < 0 || (seen & (1 << field)) !== 0) return false;
    seen |= 1 << field;
    i = skipSpace(s, j + 1, n);
    if (i >= n || s.charCodeAt(i) !== 0x3a /* : */) return false;
    i = skipSpace(s, i + 1, n);
    if (i >= n) return false;
    const c = s.charCodeAt(i);
    let value: string | number;
    if (c === 0x22) {
      const start = i + 1;
      for (j = start; j < n; j++) {
        const d = s.charCodeAt(j);
        if (d === 0x22) break;
        if (d === 0x5c || d < 0x20) return false;
      }
      if (j >= n) return false;
      value = field === Field.Type ? typeOf(s, start, j) : s.slice(start, j);
      i = j + 1;
    } else {
      // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, JSON's number
      const start = i;
      let simple = true;
      if (c === 0x2d /* - */) {
        simple = false;
        i++;
      }
      const d0 = i < n ? s.charCodeAt(i) : -1;
      if (d0 === 0x30) i++;
      else if (d0 > 0x30 && d0 <= 0x39) {
        i++;
        while (i < n && isDigit(s.charCodeAt(i))) i++;
      } else return false;
      if (i < n && s.charCodeAt(i) === 0x2e /* . */) {
        simple = false;
        i++;
        if (i >= n || !isDigit(s.charCodeAt(i))) return false;
        while (i < n && isDigit(s.charCodeAt(i))) i++;
      }
      const e = i < n ? s.charCodeAt(i) : -1;
      if (e === 0x65 || e === 0x45) {
        simple = false;
        i++;
        const sign = i < n ? s.charCodeAt(i) : -1;
        if (sign === 0x2b || sign === 0x2d) i++;
        if (i >= n || !isDigit(s.charCodeAt(i))) return false;
        while (i < n && isDigit(s.charCodeAt(i))) i++;
      }
      if (simple && i - start <= 15) {
        let v = 0;
        for (let p = start; p < i; p++) v = v * 10 + (s.charCodeAt(p) - 0x30);
        value = v;
      } else value = Number(s.slice(start, i));
    }
    switch (field) {
      case Field.Game: out.game = value; break;
      case Field.User: out.user = value; break;
      case Field.Type: out.type = value; break;
      case Field.Ts: out.ts = value; break;
      case Field.Server: out.server = value; break;
      case Field.Channel: out.channel = value; break;
      case Field.Id: out.id = value; break;
      default: out.amount = value;
    }
    i = skipSpace(s, i, n);
    if (i >= n) return false;
    const sep = s.charCodeAt(i);
    if (sep === 0x2c /* , */) i = skipSpace(s, i + 1, n);
    else if (sep === 0x7d) return skipSpace(s, i + 1, n) === n;
    else return false;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The index after JSON whitespace (space, tab, LF, CR) from `i`, at most `n`. */
function skipSpace(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
  return n;
}

/** Which field the key `s[k, k + length)` is, or -1. */
function fieldOf(s: string, k: number, length: number): number {
  switch (length) {
    case 2:
      return s.startsWith('ts', k) ? Field.Ts : s.startsWith('id', k) ? Field.Id : -1;
    case 4:
      return s.startsWith('game', k) ? Field.Game : s.startsWith('user', k) ? Field.User : s.startsWith('type', k) ? Field.Type : -1;
    case 6:
      return s.startsWith('server', k) ? Field.Server : s.startsWith('amount', k) ? Field.Amount : -1;
    case 7:
      return s.startsWith('channel', k) ? Field.Channel : -1;
    default:
      return -1;
  }
}

/** A type value: one of the known types without a new string, else its text. */
function typeOf(s: string, start: number, end: number): string {
  for (const type of EVENT_TYPES) if (end - start === type.length && s.startsWith(type, start)) return type;
  return s.slice(start, end);
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

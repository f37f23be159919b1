/**
 * One piece of a JSON-lines input (whole lines: pieces.ts cuts them) parsed
 * and checked into columns: what a parse worker (parse-worker.ts) hands back
 * to the ingesting thread, which places each event in its game's local day
 * and writes it. Columns, not event objects: typed arrays move between
 * threads without copying, and a structured clone of thousands of small
 * objects costs more than parsing them. Lines are split as lines.ts splits
 * a stream (a line ends at \n, \r\n or a lone \r) and checked by
 * event-check.ts, so a piece's events, rejections and reasons are exactly
 * those of the single-thread path.
 */
import { CheckedEvent, checkEventSpan, EVENT_TYPES } from './event-check';

/** The events and rejections of one piece, in line order. */
export interface ParsedPiece {
  /** Lines in the piece, blank ones included (line numbers go on from here). */
  readonly lines: number;
  /** Lines that are not blank (the report's `lines`). */
  readonly nonBlank: number;
  /** Accepted events: the length that counts in each column. */
  readonly count: number;
  readonly games: Int32Array;
  /** Index into {@link EVENT_TYPES}. */
  readonly types: Uint8Array;
  /** Epoch milliseconds. */
  readonly ts: Float64Array;
  readonly users: string[];
  /** Present when some event has one; NaN where an event has none. */
  readonly servers?: Float64Array;
  /** Present when some event has one; null where an event has none. */
  readonly channels?: Array<string | null>;
  /** Present when some event is a pay: order ids (null for other types). */
  readonly ids?: Array<string | null>;
  /** With `ids`: amount units (NaN for other types). */
  readonly amounts?: Float64Array;
  /** Rejected lines. */
  readonly rejected: number;
  /** The first `maxReported` rejected lines: [index of the line in the piece (0-based, blank lines counted), reason]. */
  readonly rejections: Array<[line: number, reason: string]>;
  /** {@link parseMessages} only: the index of each accepted event's message. */
  readonly at?: Int32Array;
}

const TYPE_CODE: ReadonlyMap<string, number> = new Map(EVENT_TYPES.map((t, i) => [t, i]));

/** A piece's columns as they fill, line by line. */
class Columns {
  readonly games: Int32Array;
  readonly types: Uint8Array;
  readonly ts: Float64Array;
  readonly at: Int32Array | undefined;
  readonly users: string[] = [];
  private servers: Float64Array | undefined;
  private channels: Array<string | null> | undefined;
  private ids: Array<string | null> | undefined;
  private amounts: Float64Array | undefined;
  readonly rejections: Array<[number, string]> = [];
  rejected = 0;
  nonBlank = 0;
  count = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxReported: number,
    withLines: boolean,
  ) {
    this.games = new Int32Array(capacity);
    this.types = new Uint8Array(capacity);
    this.ts = new Float64Array(capacity);
    this.at = withLines ? new Int32Array(capacity) : undefined;
  }

  /** Line `line` (not blank) checked: accepted into `c` when `reason` is undefined. */
  add(line: number, reason: string | undefined, c: CheckedEvent): void {
    this.nonBlank++;
    if (reason !== undefined) {
      this.rejected++;
      if (this.rejections.length < this.maxReported) this.rejections.push([line, reason]);
      return;
    }
    const i = this.count++;
    const n = this.capacity;
    this.games[i] = c.game;
    this.types[i] = TYPE_CODE.get(c.type)!;
    this.ts[i] = c.ts;
    this.users.push(c.user);
    if (this.at) this.at[i] = line;
    if (c.server !== undefined) (this.servers ??= new Float64Array(n).fill(NaN))[i] = c.server;
    if (c.channel !== undefined) (this.channels ??= new Array<string | null>(n).fill(null))[i] = c.channel;
    if (c.id !== undefined) {
      (this.ids ??= new Array<string | null>(n).fill(null))[i] = c.id;
      (this.amounts ??= new Float64Array(n).fill(NaN))[i] = c.amountUnits!;
    }
  }

  finish(lines: number): ParsedPiece {
    const { count, servers, channels, ids, amounts, at } = this;
    return {
      lines,
      nonBlank: this.nonBlank,
      count,
      games: this.games,
      types: this.types,
      ts: this.ts,
      users: this.users,
      ...(servers && { servers }),
      ...(channels && { channels: channels.slice(0, count) }),
      ...(ids && { ids: ids.slice(0, count), amounts }),
      rejected: this.rejected,
      rejections: this.rejections,
      ...(at && { at }),
    };
  }
}

/** Whether `text[a, b)` is blank as String.prototype.trim sees it (a line of the usual shape starts with `{`: no copy). */
function blank(text: string, a: number, b: number): boolean {
  return a === b || (text.charCodeAt(a) !== 0x7b && text.slice(a, b).trim() === '');
}

/**
 * Parse and check every line of `text`, in place: lines end at \n, \r\n or
 * a lone \r, and the text after the last line end is a line only if not
 * empty (a piece ends at a line end or at the input's end: lines.ts), as
 * lineBatches cuts a stream; blank lines are skipped as the single-thread
 * path skips them. `maxReported` bounds the rejections kept with their reason.
 */
export function parsePiece(text: string, maxReported: number): ParsedPiece {
  // At most one line per line end, plus the last: a first count for the columns' size.
  let capacity = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) capacity++;
  const crs = text.indexOf('\r') !== -1;
  if (crs) for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 1)) capacity++;
  const columns = new Columns(capacity, maxReported, false);
  const c = new CheckedEvent();
  let lines = 0;
  let start = 0;
  while (start < text.length) {
    let end: number;
    let next: number;
    if (!crs) {
      end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      next = end + 1;
    } else {
      end = start;
      while (end < text.length && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
      next = text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
    }
    if (!blank(text, start, end)) columns.add(lines, checkEventSpan(text, start, end, c), c);
    lines++;
    start = next;
  }
  return columns.finish(lines);
}

/**
 * Parse and check stream messages, each one line however it looks (a blank
 * one is bad JSON, as parseEventLine finds it): message `i` is
 * `text[ends[i - 1], ends[i])` (one string for all, which costs one copy to
 * send to a worker where an array of strings costs one per message).
 * {@link ParsedPiece.at} says which message each event came from.
 */
export function parseMessages(text: string, ends: ArrayLike<number>, maxReported: number): ParsedPiece {
  const columns = new Columns(ends.length, maxReported, true);
  const c = new CheckedEvent();
  for (let i = 0, start = 0; i < ends.length; start = ends[i++]!) columns.add(i, checkEventSpan(text, start, ends[i]!, c), c);
  return columns.finish(ends.length);
}

/** Stream messages as {@link parseMessages} takes them. */
export function joinMessages(messages: readonly string[]): { text: string; ends: Int32Array } {
  const ends = new Int32Array(messages.length);
  let at = 0;
  messages.forEach((m, i) => (ends[i] = at += m.length));
  return { text: messages.join(''), ends };
}

/** Event `i` of `piece` into `out` (as checkEventLine left it for that line). */
export function checkedOf(piece: ParsedPiece, i: number, out: CheckedEvent): CheckedEvent {
  out.game = piece.games[i]!;
  out.user = piece.users[i]!;
  out.type = EVENT_TYPES[piece.types[i]!]!;
  out.ts = piece.ts[i]!;
  const server = piece.servers?.[i];
  out.server = server === undefined || Number.isNaN(server) ? undefined : server;
  out.channel = piece.channels?.[i] ?? undefined;
  const id = piece.ids?.[i] ?? undefined;
  out.id = id;
  out.amountUnits = id === undefined ? undefined : piece.amounts![i];
  return out;
}

/** The typed arrays of a piece, to transfer (not copy) to another thread. */
export function transferables(piece: ParsedPiece): ArrayBuffer[] {
  const out = [piece.games.buffer, piece.types.buffer, piece.ts.buffer];
  if (piece.servers) out.push(piece.servers.buffer);
  if (piece.amounts) out.push(piece.amounts.buffer);
  if (piece.at) out.push(piece.at.buffer);
  return out as ArrayBuffer[];
}

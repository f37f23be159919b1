/**
 * Ingestion of JSON-lines event files (and stdin): streamed chunk by chunk
 * and split into lines (lines.ts), so a 10 GB file needs no more memory than a batch; parsed,
 * validated, and written in batches of pipelined commands, two batches in
 * flight while the next is parsed. Past the first megabyte, lines are parsed
 * and checked on worker threads (parse-pool.ts) while this thread writes:
 * the same events in the same batches, so the same stored result. A
 * malformed line is skipped, counted and reported with its line number, and
 * never stops the rest. Writes are idempotent (see activity-writer.ts):
 * ingesting a file twice changes no count.
 */
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { messageOf, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { UnreachableError, type Redis } from '../../infra/redis';
import { activitySettings, type ActivitySettings } from './keys';
import { writeEvents, type WriteSummary } from './writer';
import { KnownIndexes } from './known-indexes';
import { lineBatches, linePieces } from './lines';
import { LocalDays, parseEventLine, placeEvent, type PlayerEvent, type ZoneFor } from './events';
import { CheckedEvent } from './event-check';
import { checkedOf, type ParsedPiece } from './parse-piece';
import { defaultParseThreads, sharedParsePool } from './parse-pool';

export interface IngestOptions {
  readonly names: Names;
  /** The Redis of a game: its own from the registry, else the default (`gameRouting`). */
  readonly redisFor: (game: number) => Redis;
  readonly zoneFor: ZoneFor;
  readonly settings?: Partial<ActivitySettings>;
  /**
   * Events per pipelined write.
   * @defaultValue 5000
   */
  readonly batchSize?: number;
  /**
   * Rejected lines reported in detail; the rest are only counted.
   * @defaultValue 10
   */
  readonly maxReported?: number;
  /**
   * Worker threads that parse and check lines (parse-pool.ts) once an input
   * passes {@link THREADS_AFTER} characters; 0: every line on this thread.
   * The stored result is the same either way.
   * @defaultValue one per core beyond the first, at most 2 (`defaultParseThreads`)
   */
  readonly threads?: number;
}

/** Input read before parse workers are started: a small file is over before a thread would be up. */
export const THREADS_AFTER = 1024 * 1024;

/**
 * Batches written at once: the next batch's first round trip goes out while
 * the last one's writes are in Redis, so this thread and Redis work side by
 * side. Still the same stored result: one connection runs a Redis's
 * commands in the order sent, each batch's index assignment and
 * representation decision after the previous batch's, its writes after the
 * previous batch's writes (writer.ts sends a batch's writes as soon as its
 * indexes come back, and replies come back in order). A batch made before
 * the previous one's failure was known is only set aside later, by its own failure.
 */
const WRITES_IN_FLIGHT = 2;

/**
 * Events handled between two looks at the sockets (about a millisecond of
 * this thread's work): a batch's indexes come back while the next events
 * are being handled, and its writes go out only once this thread lets the
 * reply in. Without it a whole read's worth of lines goes first and Redis
 * waits (bench/ingest.ts: about a third more events/s with it).
 */
const YIELD_EVERY = 1000;

/** Let pending I/O (Redis replies) run before going on. */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Pieces (64 KB or a read's worth of lines) parsed ahead of the one being written, per worker. */
const PIECES_AHEAD = 3;

export interface Rejection {
  readonly source: string;
  readonly line: number;
  readonly reason: string;
}

export interface IngestReport {
  readonly sources: string[];
  /** Non-blank lines read. */
  lines: number;
  accepted: number;
  rejected: number;
  /** The first `maxReported` rejected lines. */
  readonly rejections: Rejection[];
  /**
   * Accepted events set aside, not written, by game: their write failed, or
   * their game's Redis had been found unreachable (its later events are not
   * tried again), with the error naming the Redis.
   */
  readonly failedGames: Record<string, { events: number; error: string }>;
  newOrders: number;
  duplicateOrders: number;
  /** Accepted events per game: an unexpected game id shows here. */
  readonly byGame: Record<string, number>;
}

/** The outcome of one routed write: totals, and the games whose Redis refused. */
export interface RoutedResult {
  readonly summary: WriteSummary;
  readonly failed: ReadonlyMap<number, string>;
  /** The games of `failed` whose Redis did not answer at all (not an error reply). */
  readonly unreachable: ReadonlySet<number>;
}

/**
 * Writes events to each game's own Redis. Games on one Redis are written
 * together; a Redis that fails fails only its games' events (docs/architecture.md
 * "Failure isolation"): the others are written and reported as such.
 */
export class RoutedWriter {
  readonly settings: ActivitySettings;
  /** Per Redis, the users whose indexes this writer has been told (known-indexes.ts). */
  private readonly known = new Map<Redis, KnownIndexes>();

  constructor(
    private readonly names: Names,
    private readonly redisFor: (game: number) => Redis,
    settings: Partial<ActivitySettings> = {},
  ) {
    this.settings = activitySettings(settings);
  }

  private knownOf(redis: Redis): KnownIndexes {
    let known = this.known.get(redis);
    if (!known) this.known.set(redis, (known = new KnownIndexes()));
    return known;
  }

  async write(events: readonly PlayerEvent[]): Promise<RoutedResult> {
    const entries = this.byRedis(events);
    const outcomes = await Promise.allSettled(entries.map(([redis, list]) => writeEvents(redis, this.names, list, this.settings, this.knownOf(redis))));
    const failed = new Map<number, string>();
    const unreachable = new Set<number>();
    let newOrders = 0;
    let duplicateOrders = 0;
    let written = 0;
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') {
        newOrders += outcome.value.newOrders;
        duplicateOrders += outcome.value.duplicateOrders;
        written += outcome.value.events;
      } else {
        for (const e of entries[i]![1]) {
          failed.set(e.game, messageOf(outcome.reason));
          if (outcome.reason instanceof UnreachableError) unreachable.add(e.game);
        }
      }
    });
    return { summary: { events: written, newOrders, duplicateOrders }, failed, unreachable };
  }

  /** `events` grouped by the Redis of their game, in order (one group, the common case, without a copy). */
  private byRedis(events: readonly PlayerEvent[]): Array<[Redis, readonly PlayerEvent[]]> {
    let game: number | undefined;
    let redis: Redis | undefined;
    let first: Redis | undefined;
    let groups: Map<Redis, PlayerEvent[]> | undefined;
    events.forEach((e, i) => {
      if (e.game !== game) {
        game = e.game;
        redis = this.redisFor(game);
        first ??= redis;
      }
      if (!groups) {
        if (redis === first) return;
        // A second Redis: group from here on, the events so far all being the first's.
        groups = new Map([[first!, events.slice(0, i)]]);
      }
      const list = groups.get(redis!);
      if (list) list.push(e);
      else groups.set(redis!, [e]);
    });
    if (!groups) return first === undefined ? [] : [[first, events]];
    return [...groups];
  }
}

/**
 * Per report (one ingest, all its files): the Redis clients found
 * unreachable, with the error. Their games' later events are set aside at
 * once instead of each batch waiting on the dead server again.
 */
const unreachableByReport = new WeakMap<IngestReport, Map<Redis, string>>();

/** A fresh, empty report for `sources`. */
export function emptyReport(sources: readonly string[]): IngestReport {
  return { sources: [...sources], lines: 0, accepted: 0, rejected: 0, rejections: [], failedGames: {}, newOrders: 0, duplicateOrders: 0, byGame: {} };
}

/**
 * Ingest every file (`-` is stdin) in order, into one report. Files are
 * checked before anything is written: a missing file changes nothing.
 * @throws UserError (exit 2) for a missing or unreadable file, or `-` given twice.
 */
export async function ingestFiles(paths: readonly string[], options: IngestOptions, stdin: Readable = process.stdin): Promise<IngestReport> {
  if (paths.length === 0) throw usageError('ingest needs at least one file, or - for stdin');
  if (paths.filter((p) => p === '-').length > 1) throw usageError('stdin (-) can be read only once');
  for (const path of paths) {
    if (path === '-') continue;
    try {
      await access(path, constants.R_OK);
      if (!(await stat(path)).isFile()) throw new Error('not a regular file');
    } catch (err) {
      throw usageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}; give JSON-lines files or - for stdin`);
    }
  }
  const report = emptyReport(paths.map((p) => (p === '-' ? 'stdin' : p)));
  for (const path of paths) {
    const input = path === '-' ? stdin : createReadStream(path, { highWaterMark: 256 * 1024 });
    await ingestStream(input, path === '-' ? 'stdin' : path, options, report);
  }
  return report;
}

/**
 * Ingest one stream of JSON lines into `report` (a new one by default).
 * Memory stays bounded: the input is not read while two batches are being written.
 */
export async function ingestStream(input: Readable, source: string, options: IngestOptions, report: IngestReport = emptyReport([source])): Promise<IngestReport> {
  const writer = new RoutedWriter(options.names, options.redisFor, options.settings);
  const batchSize = options.batchSize ?? 5000;
  const maxReported = options.maxReported ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw usageError(`batch size ${batchSize} is not valid: use a whole number ≥ 1`);
  const days = new LocalDays();
  let batch: PlayerEvent[] = [];
  /** Batches being written, oldest first: at most {@link WRITES_IN_FLIGHT}. */
  const inflight: Array<Promise<void>> = [];
  let down = unreachableByReport.get(report);
  if (!down) unreachableByReport.set(report, (down = new Map()));

  const setAside = (game: number, error: string) => {
    const entry = (report.failedGames[game] ??= { events: 0, error });
    entry.events++;
  };
  const record = (events: PlayerEvent[], result: RoutedResult) => {
    report.newOrders += result.summary.newOrders;
    report.duplicateOrders += result.summary.duplicateOrders;
    for (const game of result.unreachable) down.set(options.redisFor(game), result.failed.get(game)!);
    if (result.failed.size === 0) return;
    for (const e of events) {
      const error = result.failed.get(e.game);
      if (error !== undefined) setAside(e.game, error);
    }
  };
  const flush = async () => {
    const events = batch;
    batch = [];
    while (inflight.length >= WRITES_IN_FLIGHT) await inflight.shift();
    const write = writer.write(events).then((result) => record(events, result));
    // Handled when awaited by a later flush; until then a rejection must not count as unhandled.
    write.catch(() => undefined);
    inflight.push(write);
  };

  /** A parsed event: counted, then into the batch, or set aside when its game's Redis is down. True when the batch is full. */
  const accept = (event: PlayerEvent): boolean => {
    report.accepted++;
    report.byGame[event.game] = (report.byGame[event.game] ?? 0) + 1;
    const error = down.size === 0 ? undefined : down.get(options.redisFor(event.game));
    if (error !== undefined) {
      setAside(event.game, error);
      return false;
    }
    batch.push(event);
    return batch.length >= batchSize;
  };

  const threads = options.threads ?? defaultParseThreads();
  if (!Number.isInteger(threads) || threads < 0) throw usageError(`threads ${threads} is not valid: use a whole number ≥ 0`);
  if (threads > 0) {
    await ingestPieces(input, source, options.zoneFor, threads, maxReported, report, days, accept, flush);
  } else {
    const batches = lineBatches(input);
    let lineNo = 0;
    try {
      for await (const lines of batches) {
        for (const line of lines) {
          lineNo++;
          if (line.trim() === '') continue;
          report.lines++;
          const parsed = parseEventLine(line, options.zoneFor, days);
          if (!parsed.ok) {
            report.rejected++;
            if (report.rejections.length < maxReported) report.rejections.push({ source, line: lineNo, reason: parsed.reason });
            continue;
          }
          if (accept(parsed.event)) await flush();
          if (report.lines % YIELD_EVERY === 0) await yieldToIo();
        }
      }
    } finally {
      await batches.return(undefined);
    }
  }
  await flush();
  while (inflight.length > 0) await inflight.shift();
  return report;
}

/**
 * The body of {@link ingestStream} with parse workers: the input in pieces
 * of whole lines, parsed in order by the pool (on this thread until the
 * input passes {@link THREADS_AFTER} and a worker is up), each piece's
 * events placed in their local days and accepted in line order, as the
 * single-thread loop does line by line.
 */
async function ingestPieces(
  input: Readable,
  source: string,
  zoneFor: ZoneFor,
  threads: number,
  maxReported: number,
  report: IngestReport,
  days: LocalDays,
  accept: (event: PlayerEvent) => boolean,
  flush: () => Promise<void>,
): Promise<void> {
  const pool = sharedParsePool(threads);
  const pieces = linePieces(input);
  const queue: Array<Promise<ParsedPiece>> = [];
  const checked = new CheckedEvent();
  let lineNo = 0;
  let read = 0;
  const consume = async (piece: ParsedPiece) => {
    report.lines += piece.nonBlank;
    report.rejected += piece.rejected;
    for (const [line, reason] of piece.rejections) {
      if (report.rejections.length < maxReported) report.rejections.push({ source, line: lineNo + line + 1, reason });
    }
    lineNo += piece.lines;
    for (let i = 0; i < piece.count; i++) {
      if (accept(placeEvent(checkedOf(piece, i, checked), zoneFor, days))) await flush();
      // Now and then let replies in: a batch's writes go out as soon as its indexes are back, not after the whole piece.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToIo();
    }
  };
  try {
    for await (const piece of pieces) {
      read += piece.length;
      if (read >= THREADS_AFTER) pool.start();
      const parsed = pool.parse(piece, maxReported);
      // Awaited in turn below; a failure of one not reached yet must not count as unhandled.
      parsed.catch(() => undefined);
      queue.push(parsed);
      if (queue.length > PIECES_AHEAD * threads) await consume(await queue.shift()!);
    }
    while (queue.length > 0) await consume(await queue.shift()!);
  } finally {
    await pieces.return(undefined);
  }
}

/** Lines of a report for people: totals, the first rejections, failed games. */
export function formatReport(report: IngestReport): string[] {
  const out = [
    `${report.lines} lines from ${report.sources.join(', ')}: ${report.accepted} accepted, ${report.rejected} rejected`,
    `pay orders: ${report.newOrders} new, ${report.duplicateOrders} already counted (ignored)`,
  ];
  const games = Object.entries(report.byGame);
  if (games.length > 0) out.push(`events by game: ${games.map(([g, n]) => `${g}=${n}`).join(' ')}`);
  if (report.rejected > 0) {
    out.push('rejected lines:');
    for (const r of report.rejections) out.push(`  ${r.source}:${r.line}: ${r.reason}`);
    const more = report.rejected - report.rejections.length;
    if (more > 0) out.push(`  ... and ${more} more`);
  }
  for (const [game, f] of Object.entries(report.failedGames)) out.push(`game ${game}: ${f.events} events set aside (not written): ${f.error}`);
  return out;
}

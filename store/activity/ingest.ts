/**
 * Ingestion of JSON-lines event files (and stdin): streamed chunk by chunk
 * and split into lines (lines.ts), so a 10 GB file needs no more memory than a batch; parsed,
 * validated, and written in batches of pipelined commands, one batch in
 * flight while the next is parsed. A malformed line is skipped, counted and
 * reported with its line number, and never stops the rest. Writes are
 * idempotent (see activity-writer.ts): ingesting a file twice changes no count.
 */
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { messageOf, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { UnreachableError } from '../../infra/redis';
import { activitySettings, type ActivitySettings } from './keys';
import { writeEvents, type WriteSummary } from './writer';
import { KnownIndexes } from './known-indexes';
import { lineBatches } from './lines';
import { LocalDays, parseEventLine, type PlayerEvent, type ZoneFor } from './events';

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
}

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
    const groups = new Map<Redis, PlayerEvent[]>();
    for (const e of events) {
      const redis = this.redisFor(e.game);
      const list = groups.get(redis);
      if (list) list.push(e);
      else groups.set(redis, [e]);
    }
    const entries = [...groups];
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
 * Memory stays bounded: the input is not read while a batch is written.
 */
export async function ingestStream(input: Readable, source: string, options: IngestOptions, report: IngestReport = emptyReport([source])): Promise<IngestReport> {
  const writer = new RoutedWriter(options.names, options.redisFor, options.settings);
  const batchSize = options.batchSize ?? 5000;
  const maxReported = options.maxReported ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw usageError(`batch size ${batchSize} is not valid: use a whole number ≥ 1`);
  const days = new LocalDays();
  let batch: PlayerEvent[] = [];
  let inflight: Promise<void> = Promise.resolve();
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
    for (const e of events) {
      const error = result.failed.get(e.game);
      if (error !== undefined) setAside(e.game, error);
    }
  };
  const flush = async () => {
    const events = batch;
    batch = [];
    await inflight;
    inflight = writer.write(events).then((result) => record(events, result));
    // Handled when awaited at the next flush; until then a rejection must not count as unhandled.
    inflight.catch(() => undefined);
  };

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
        report.accepted++;
        report.byGame[parsed.event.game] = (report.byGame[parsed.event.game] ?? 0) + 1;
        const error = down.size === 0 ? undefined : down.get(options.redisFor(parsed.event.game));
        if (error !== undefined) {
          setAside(parsed.event.game, error);
          continue;
        }
        batch.push(parsed.event);
        if (batch.length >= batchSize) await flush();
      }
    }
    await flush();
    await inflight;
  } finally {
    await batches.return(undefined);
  }
  return report;
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

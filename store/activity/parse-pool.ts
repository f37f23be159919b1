/**
 * Parse workers: the ingesting thread hands pieces of JSON lines
 * (lines.ts `linePieces`) to worker threads (parse-worker.ts) and gets
 * their events back as columns (parse-piece.ts), so parsing and checking run
 * beside the writes instead of between them. Answers come back in the
 * order asked (the caller awaits them in turn). Until a worker is up, and
 * if none can start or one dies, a piece is parsed on the calling thread by
 * the same function: the result is the same either way, only the thread differs.
 *
 * A worker loads its module through tsx, from the .ts source (so a thread
 * runs the same code under the tests, from a build, or with a file edited
 * since): parse-worker.ts imports only the line check, so it is up in about
 * a tenth of a second. Workers are kept for the process (later ingests and
 * collector batches reuse them) and do not keep it alive while idle.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseMessages, parsePiece, type ParsedPiece } from './parse-piece';
import type { PieceReply, PieceRequest } from './parse-worker';

/** What to parse: a piece of whole lines (text or bytes), or stream messages (each one line). */
type Work = string | Buffer | { readonly messages: { readonly text: string; readonly ends: Int32Array } };

interface Pending {
  readonly piece: Work;
  readonly maxReported: number;
  readonly resolve: (piece: ParsedPiece) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  dead: boolean;
  readonly pending: Map<number, Pending>;
  /** Resolved once the worker is up or gone. */
  readonly settled: Promise<void>;
}

/** Runs in the new thread: tsx, then the worker module (see the module comment). */
const BOOT = `
const { workerData } = require('node:worker_threads');
require(workerData.tsx).register();
require(workerData.file);
`;

/** Parse `piece` on this thread. */
export function parseHere(piece: Work, maxReported: number): ParsedPiece {
  if (typeof piece === 'string') return parsePiece(piece, maxReported);
  if (Buffer.isBuffer(piece)) return parsePiece(piece.toString('utf8'), maxReported);
  return parseMessages(piece.messages.text, piece.messages.ends, maxReported);
}

/** Worker threads for ingestion by default: one per core beyond the first (Redis and the writes need one), at most 2. */
export function defaultParseThreads(): number {
  return Math.max(0, Math.min(2, availableParallelism() - 1));
}

export class ParsePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  /** Pieces parsed by a worker (the rest were parsed on the calling thread): for tests and benchmarks. */
  parsedByWorkers = 0;

  constructor(readonly threads: number) {}

  /** Start the workers (once); pieces go to them as soon as they are up. */
  start(): void {
    if (this.slots.length > 0 || this.threads < 1) return;
    for (let i = 0; i < this.threads; i++) this.slots.push(this.spawn());
  }

  /** Resolves once every worker started is up (or failed to start). */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.settled));
  }

  /** The events of `piece`, parsed by a worker if one is up, else here. */
  parse(piece: Work, maxReported: number): Promise<ParsedPiece> {
    let best: Slot | undefined;
    for (const slot of this.slots) if (slot.ready && !slot.dead && (!best || slot.pending.size < best.pending.size)) best = slot;
    if (!best) {
      try {
        return Promise.resolve(parseHere(piece, maxReported));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    const slot = best;
    const id = this.nextId++;
    return new Promise<ParsedPiece>((resolve, reject) => {
      slot.pending.set(id, { piece, maxReported, resolve, reject });
      if (slot.pending.size === 1) slot.worker.ref();
      // Copied, not transferred (a copy costs microseconds): if the worker dies, the piece is parsed here.
      const request: PieceRequest =
        typeof piece === 'string' ? { id, text: piece, maxReported } : Buffer.isBuffer(piece) ? { id, bytes: piece, maxReported } : { id, messages: piece.messages, maxReported };
      slot.worker.postMessage(request);
    });
  }

  private spawn(): Slot {
    const worker = new Worker(BOOT, {
      eval: true,
      // Not the parent's flags (`--import tsx` under the tests): the boot code registers tsx itself.
      execArgv: [],
      workerData: { tsx: require.resolve('tsx/cjs/api'), file: join(__dirname, 'parse-worker.ts') },
    });
    let settle!: () => void;
    const slot: Slot = { worker, ready: false, dead: false, pending: new Map(), settled: new Promise<void>((resolve) => (settle = resolve)) };
    worker.unref();
    worker.on('message', (message: PieceReply | 'ready') => {
      if (message === 'ready') {
        slot.ready = true;
        settle();
        return;
      }
      const pending = slot.pending.get(message.id);
      if (!pending) return;
      slot.pending.delete(message.id);
      if (slot.pending.size === 0) worker.unref();
      if ('piece' in message) {
        this.parsedByWorkers++;
        pending.resolve(message.piece);
      }
      else pending.reject(new Error(`parse worker: ${message.error}`));
    });
    const fail = () => {
      settle();
      if (slot.dead) return;
      slot.dead = true;
      // Its pieces are parsed here instead.
      for (const [id, pending] of slot.pending) {
        slot.pending.delete(id);
        try {
          pending.resolve(parseHere(pending.piece, pending.maxReported));
        } catch (err) {
          pending.reject(err as Error);
        }
      }
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    return slot;
  }
}

const pools = new Map<number, ParsePool>();

/** The process's pool of `threads` workers (created, not started: {@link ParsePool.start}). */
export function sharedParsePool(threads: number): ParsePool {
  let pool = pools.get(threads);
  if (!pool) pools.set(threads, (pool = new ParsePool(threads)));
  return pool;
}

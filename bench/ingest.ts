/**
 * Ingestion benchmark (issues 4 and 14), printed side by side in one run:
 *
 * 1. events/s ingesting login events from a JSON-lines file through the
 *    real path (`ingestFiles`: read → split → parse → check → pipelined batch
 *    writes), under both representations, with parse worker threads (the
 *    default) and on one thread, vs one awaited command per event; with
 *    each run's CPU: the ingesting thread, the whole process (workers
 *    included) and the Redis server (INFO cpu: the whole server, so other
 *    clients of a shared Redis count too);
 * 2. the stream collector: the same events XADDed to a stream, drained by
 *    `collectFor` (XREADGROUP, parse, write, XACK);
 * 3. the ceilings on this machine: JSON.parse alone and the line check alone
 *    (one thread, no Redis), and `redis-benchmark -P 100` SADD;
 * 4. bytes per user per game-day, set vs bitmap, at 10k, 1M and 10M users
 *    (MEMORY USAGE), with all users active that day and with 10% active.
 *
 * Run: `npx tsx bench/ingest.ts [events] [--runs N] [--no-memory]` (default
 * 500,000 events, 5 runs; `--no-memory` skips part 4). Uses its own prefix
 * (`bench_<random>`) on GFLOW_REDIS_URL (default 127.0.0.1:6379) and
 * deletes its keys and file at the end.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Names } from '../core/names';
import { ingestFiles, RoutedWriter } from '../store/activity/ingest';
import { collectFor, streamKey } from '../store/activity/collector';
import { ensureGroup } from '../store/stream-groups';
import { checkEventLine, CheckedEvent } from '../store/activity/event-check';
import { defaultParseThreads, sharedParsePool } from '../store/activity/parse-pool';
import { closeRedis, getRedis, type Redis } from '../infra/redis';
import { deleteKeys, loadAverage, median, standalone } from './support';

const DAY_TS = Date.UTC(2026, 10, 24, 0) / 1000;

/** The benchmark's events as JSON lines: logins of `users` users, one game-day. */
function loginLines(events: number, users: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < events; i++) lines.push(`{"game":1,"user":"user-${i % users}","type":"login","ts":${DAY_TS + (i % 86_000)}}`);
  return lines;
}

/** Ceiling 1: lines/s of JSON.parse alone over the file's text (splitting included), no checks, no Redis. */
function jsonParseRate(text: string, events: number): number {
  const started = process.hrtime.bigint();
  let parsed = 0;
  for (const line of text.split('\n')) if (line !== '' && JSON.parse(line) !== null) parsed++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (parsed !== events) throw new Error(`bench: parsed ${parsed} of ${events} lines`);
  return events / seconds;
}

/** Ceiling 2: lines/s of the line check alone (what a parse worker runs per line), one thread, no Redis. */
function lineCheckRate(text: string, events: number): number {
  const started = process.hrtime.bigint();
  const out = new CheckedEvent();
  let accepted = 0;
  for (const line of text.split('\n')) if (line !== '' && checkEventLine(line, out) === undefined) accepted++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (accepted !== events) throw new Error(`bench: checked ${accepted} of ${events} lines`);
  return events / seconds;
}

/** Ceiling 3: `redis-benchmark -P 100` SADD requests/s on the same Redis, or undefined when redis-benchmark is not installed. */
function redisBenchmarkRate(url: string): number | undefined {
  const { hostname, port } = new URL(url);
  try {
    const out = execFileSync('redis-benchmark', ['-h', hostname, '-p', port || '6379', '-P', '100', '-n', '2000000', '-r', '100000', '-q', '-t', 'sadd'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const last = [...out.matchAll(/SADD:\s*([\d.]+)\s*requests per second/g)].pop();
    return last ? Number(last[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process's main thread (Linux; NaN elsewhere). */
function mainThreadCpu(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds the Redis server has used (all its clients). */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
}

interface Measured {
  /** Events per second. */
  readonly rate: number;
  /** CPU seconds: the main thread, the whole process, the Redis server. */
  readonly main: number;
  readonly process: number;
  readonly redis: number;
}

/** Time `work` (which handles `events` events), with the CPU it and Redis took. */
async function measure(redis: Redis, events: number, work: () => Promise<void>): Promise<Measured> {
  const redis0 = await redisCpu(redis);
  const main0 = mainThreadCpu();
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const main = mainThreadCpu() - main0;
  return { rate: events / seconds, main, process: (cpu.user + cpu.system) / 1e6, redis: (await redisCpu(redis)) - redis0 };
}

async function fileRate(redis: Redis, base: string, run: string, file: string, events: number, threshold: number, threads: number): Promise<Measured> {
  const names = new Names(`${base}_${run}`);
  const measured = await measure(redis, events, async () => {
    const report = await ingestFiles([file], { names, redisFor: () => redis, zoneFor: () => 'UTC', settings: { threshold }, threads });
    if (report.accepted !== events) throw new Error(`bench: ${report.accepted} of ${events} events accepted`);
  });
  await deleteKeys(redis, `${names.prefix}:*`);
  return measured;
}

/** The stream collector draining `lines` XADDed beforehand (not timed), with the default batch of the `ingest.batchSize` setting. */
async function collectorRate(redis: Redis, base: string, run: string, lines: readonly string[], threshold: number): Promise<Measured> {
  const names = new Names(`${base}_${run}`);
  const key = streamKey(names, 'bench');
  await ensureGroup(redis, key, 'bench');
  for (let i = 0; i < lines.length; i += 10_000) {
    const pipeline = redis.pipeline();
    for (const line of lines.slice(i, i + 10_000)) pipeline.xadd(key, '*', 'event', line);
    await pipeline.exec();
  }
  const writer = new RoutedWriter(names, () => redis, { threshold });
  const measured = await measure(redis, lines.length, async () => {
    const total = await collectFor({ redis, names, stream: 'bench', group: 'bench', consumer: 'bench', writer, zoneFor: () => 'UTC' }, 600_000);
    if (total.written !== lines.length) throw new Error(`bench: collector wrote ${total.written} of ${lines.length} events`);
  });
  await deleteKeys(redis, `${names.prefix}:*`);
  return measured;
}

async function oneByOneRate(redis: Redis, base: string, run: string, events: number, users: number): Promise<number> {
  const key = new Names(`${base}_${run}`).redisKey('act', 1, '20261124', 'active');
  const started = process.hrtime.bigint();
  for (let i = 0; i < events; i++) await redis.sadd(key, `user-${i % users}`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await redis.unlink(key);
  return events / seconds;
}

/** Bytes of a set of `members` user ids (built in pipelined SADDs of 1,000). */
async function setBytes(redis: Redis, key: string, members: number, step: number): Promise<number> {
  for (let i = 0; i < members; i += 100_000) {
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(i + 100_000, members); j += 1000) {
      const batch: string[] = [];
      for (let k = j; k < Math.min(j + 1000, members); k++) batch.push(`user-${k * step}`);
      pipeline.sadd(key, ...batch);
    }
    await pipeline.exec();
  }
  const bytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  await redis.unlink(key);
  return bytes;
}

/** Bytes of a bitmap over `users` dense indexes with every `step`-th bit set (one SET of the whole buffer). */
async function bitmapBytes(redis: Redis, key: string, users: number, step: number): Promise<number> {
  const buffer = Buffer.alloc(Math.ceil(users / 8));
  for (let i = 0; i < users; i += step) buffer[i >> 3]! |= 0x80 >> (i & 7);
  await redis.set(key, buffer);
  const bytes = Number(await redis.call('MEMORY', 'USAGE', key));
  await redis.unlink(key);
  return bytes;
}

/** Bytes of the user-index hash (one per game, not per day). */
async function indexBytes(redis: Redis, key: string, users: number): Promise<number> {
  for (let i = 0; i < users; i += 100_000) {
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(i + 100_000, users); j += 1000) {
      const args: string[] = [];
      for (let k = j; k < Math.min(j + 1000, users); k++) args.push(`user-${k}`, String(k));
      pipeline.hset(key, ...args);
    }
    await pipeline.exec();
  }
  const bytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  await redis.unlink(key);
  return bytes;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Medians of each figure over the runs. */
function medians(runs: readonly Measured[]): Measured {
  return { rate: median(runs.map((r) => r.rate)), main: median(runs.map((r) => r.main)), process: median(runs.map((r) => r.process)), redis: median(runs.map((r) => r.redis)) };
}

export async function main(argv: readonly string[]): Promise<void> {
  const positional = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  const events = Number(positional[0] ?? 500_000);
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt === -1 ? 5 : Number(argv[runsAt + 1]);
  if (!Number.isInteger(events) || events < 1000) throw new Error('bench/ingest.ts [events] [--runs N]: events must be a whole number ≥ 1000');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('bench/ingest.ts: --runs must be a whole number ≥ 1');
  const url = process.env.GFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = getRedis(url);
  const base = `bench_${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'gflow-bench-ingest-'));
  try {
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    const threads = defaultParseThreads();
    console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, node ${process.version}, redis ${version} (same host)`);
    console.log(`medians of ${runs} runs; load average before: ${loadAverage()}\n`);

    const users = Math.max(1000, Math.floor(events / 5));
    const lines = loginLines(events, users);
    const text = lines.join('\n') + '\n';
    const file = join(dir, 'logins.jsonl');
    await writeFile(file, text);
    const naiveEvents = Math.min(events, 30_000);
    const results: Record<'sets' | 'bitmaps' | 'sets1' | 'bitmaps1' | 'collectorSets' | 'collectorBitmaps', Measured[]> = { sets: [], bitmaps: [], sets1: [], bitmaps1: [], collectorSets: [], collectorBitmaps: [] };
    const naive: number[] = [];
    const pool = sharedParsePool(threads);
    let byWorkers = 0;
    for (let r = 0; r < runs; r++) {
      const before = pool.parsedByWorkers;
      results.sets.push(await fileRate(redis, base, `s${r}`, file, events, 1_000_000, threads));
      results.bitmaps.push(await fileRate(redis, base, `b${r}`, file, events, 0, threads));
      byWorkers += pool.parsedByWorkers - before;
      results.sets1.push(await fileRate(redis, base, `s1${r}`, file, events, 1_000_000, 0));
      results.bitmaps1.push(await fileRate(redis, base, `b1${r}`, file, events, 0, 0));
      if (r < 3) {
        results.collectorSets.push(await collectorRate(redis, base, `cs${r}`, lines, 1_000_000));
        results.collectorBitmaps.push(await collectorRate(redis, base, `cb${r}`, lines, 0));
        naive.push(await oneByOneRate(redis, base, `n${r}`, naiveEvents, users));
      }
    }
    const loadAfter = loadAverage();
    const n = median(naive);
    const parseOnly = median([jsonParseRate(text, events), jsonParseRate(text, events), jsonParseRate(text, events)]);
    const checkOnly = median([lineCheckRate(text, events), lineCheckRate(text, events), lineCheckRate(text, events)]);
    const redisCeiling = redisBenchmarkRate(url);
    const row = (label: string, m: Measured) =>
      `  ${label.padEnd(34)} ${fmt(m.rate).padStart(10)} events/s  (${fmt(m.rate / n, 1)}× one-by-one; CPU s: main thread ${fmt(m.main, 2)}, process ${fmt(m.process, 2)}, Redis ${fmt(m.redis, 2)})`;
    console.log(`ingest: ${fmt(events)} login events of ${fmt(users)} users, one game-day, from a ${fmt(text.length / 1e6, 1)} MB file`);
    const best = { sets: medians(results.sets), bitmaps: medians(results.bitmaps) };
    console.log(row(`file, sets, ${threads} parse thread${threads === 1 ? '' : 's'}`, best.sets));
    console.log(row(`file, bitmaps, ${threads} parse thread${threads === 1 ? '' : 's'}`, best.bitmaps));
    console.log(`    (${fmt(byWorkers / (2 * runs), 1)} pieces of about 256 KB per file parsed by the worker threads; the rest, the first megabyte and any piece read before a worker was up, on the main thread)`);
    console.log(row('file, sets, no parse thread', medians(results.sets1)));
    console.log(row('file, bitmaps, no parse thread', medians(results.bitmaps1)));
    console.log(row('stream collector, sets', medians(results.collectorSets)));
    console.log(row('stream collector, bitmaps', medians(results.collectorBitmaps)));
    console.log(`  one awaited SADD per event          ${fmt(n).padStart(10)} events/s  (measured on ${fmt(naiveEvents)} events)`);
    console.log(`  ceilings: JSON.parse alone          ${fmt(parseOnly).padStart(10)} lines/s   (one thread; file ingest is ${fmt((100 * Math.min(best.sets.rate, best.bitmaps.rate)) / parseOnly, 0)}% of it)`);
    console.log(`  ceilings: line check alone          ${fmt(checkOnly).padStart(10)} lines/s   (one thread: split, parse and check, what a parse worker does)`);
    console.log(
      redisCeiling === undefined
        ? '  ceilings: redis-benchmark -P 100 not run (redis-benchmark not installed)'
        : `  ceilings: redis-benchmark -P 100 SADD ${fmt(redisCeiling).padStart(10)} commands/s (simple commands; an event costs Redis an index lookup and a member)`,
    );
    console.log(`  load average after the ingest runs: ${loadAfter} (${cpus().length} cores)`);
    console.log(`  target ≥ 500,000 events/s from a file: ${Math.min(best.sets.rate, best.bitmaps.rate) >= 500_000 ? 'met' : 'NOT met'}; collector ≥ 200,000: ${Math.min(medians(results.collectorSets).rate, medians(results.collectorBitmaps).rate) >= 200_000 ? 'met' : 'NOT met'}\n`);

    if (argv.includes('--no-memory')) return;
    console.log('memory per game-day key (MEMORY USAGE), bytes per active user; user ids "user-<n>"');
    console.log('  users        active  set B/user  bitmap B/user  set÷bitmap');
    const key = new Names(base).redisKey('mem');
    const indexRows: string[] = [];
    for (const total of [10_000, 1_000_000, 10_000_000]) {
      for (const step of [1, 10]) {
        const active = Math.floor(total / step);
        // A 10M-member set takes minutes to build and ~1 GB: extrapolate from 1M at the same active share.
        const sampled = total > 1_000_000;
        const set = sampled ? ((await setBytes(redis, key, active / 10, step)) * 10) : await setBytes(redis, key, active, step);
        const bitmap = await bitmapBytes(redis, key, total, step);
        console.log(
          `  ${fmt(total).padEnd(11)} ${`${100 / step}%`.padStart(6)}  ${fmt(set / active, 1).padStart(10)}  ${fmt(bitmap / active, 2).padStart(13)}  ${fmt(set / bitmap, 1).padStart(9)}×${sampled ? '  (set: built at 1/10 size, extrapolated ×10)' : ''}`,
        );
      }
      if (total <= 1_000_000) indexRows.push(`  ${fmt(total).padEnd(11)} ${fmt((await indexBytes(redis, key, total)) / total, 1)} B/user`);
    }
    console.log('  (bytes per ACTIVE user; a bitmap costs users/8 bytes whoever is active, a set grows with the day\'s actives)\n');
    console.log('user-index hash (one per game, not per day):');
    for (const row of indexRows) console.log(row);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await deleteKeys(redis, `${base}*`);
    await closeRedis();
  }
}

if (require.main === module) standalone(main);

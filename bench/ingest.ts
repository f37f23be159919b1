/**
 * Ingestion benchmark (issue 4), printed side by side in one run:
 *
 * 1. events/s ingesting login events through the real path (line split →
 *    parse → validate → pipelined batch writes), under both representations,
 *    vs one awaited command per event (SADD per event, one round trip each);
 * 2. bytes per user per game-day, set vs bitmap, at 10k, 1M and 10M users
 *    (MEMORY USAGE), with all users active that day and with 10% active.
 *
 * Run: `npx tsx bench/ingest.ts [events]` (default 500,000). Uses its own
 * prefix (`bench_<random>`) on GFLOW_REDIS_URL (default 127.0.0.1:6379) and
 * deletes its keys at the end.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { Names } from '../core/names';
import { ingestStream } from '../store/activity/ingest';
import { closeRedis, getRedis } from '../infra/redis';
import { deleteKeys, median } from './support';

const RUNS = 3;
const DAY_TS = Date.UTC(2026, 10, 24, 0) / 1000;

/** JSON lines in ~64 KB chunks, built before the clock starts. */
function loginChunks(events: number, users: number): string[] {
  const chunks: string[] = [];
  let chunk = '';
  for (let i = 0; i < events; i++) {
    chunk += `{"game":1,"user":"user-${i % users}","type":"login","ts":${DAY_TS + (i % 86_000)}}\n`;
    if (chunk.length > 65_536) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  if (chunk) chunks.push(chunk);
  return chunks;
}



/** Ceiling 1: lines/s of JSON.parse alone over the same chunks (splitting included), no validation, no Redis. */
function jsonParseRate(chunks: readonly string[], events: number): number {
  const started = process.hrtime.bigint();
  let parsed = 0;
  for (const chunk of chunks) for (const line of chunk.split('\n')) if (line !== '' && JSON.parse(line) !== null) parsed++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (parsed !== events) throw new Error(`bench: parsed ${parsed} of ${events} lines`);
  return events / seconds;
}

/** Ceiling 2: `redis-benchmark -P 100` SADD requests/s on the same Redis, or undefined when redis-benchmark is not installed. */
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

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function pipelinedRate(redis: Redis, base: string, run: string, chunks: readonly string[], events: number, threshold: number): Promise<number> {
  const names = new Names(`${base}_${run}`);
  const started = process.hrtime.bigint();
  const report = await ingestStream(Readable.from(chunks), 'bench', { names, redisFor: () => redis, zoneFor: () => 'UTC', settings: { threshold } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (report.accepted !== events) throw new Error(`bench: ${report.accepted} of ${events} events accepted`);
  await deleteKeys(redis, `${names.prefix}:*`);
  return events / seconds;
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

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const events = Number(argv[0] ?? 500_000);
  if (!Number.isInteger(events) || events < 1000) throw new Error('bench/ingest.ts [events]: events must be a whole number ≥ 1000');
  const url = process.env.GFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = getRedis(url);
  const base = `bench_${randomBytes(3).toString('hex')}`;
  try {
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, node ${process.version}, redis ${version} (same host)`);
    console.log(`medians of ${RUNS} runs; load average before: ${load()}\n`);

    const users = Math.max(1000, Math.floor(events / 5));
    const chunks = loginChunks(events, users);
    const naiveEvents = Math.min(events, 30_000);
    const sets: number[] = [];
    const bitmaps: number[] = [];
    const naive: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      sets.push(await pipelinedRate(redis, base, `s${r}`, chunks, events, 1_000_000));
      bitmaps.push(await pipelinedRate(redis, base, `b${r}`, chunks, events, 0));
      naive.push(await oneByOneRate(redis, base, `n${r}`, naiveEvents, users));
    }
    const [s, b, n] = [median(sets), median(bitmaps), median(naive)];
    const loadAfter = load();
    const parseOnly = median([jsonParseRate(chunks, events), jsonParseRate(chunks, events), jsonParseRate(chunks, events)]);
    const redisCeiling = redisBenchmarkRate(url);
    console.log(`ingest: ${fmt(events)} login events of ${fmt(users)} users, one game-day`);
    console.log(`  pipelined batches, sets      ${fmt(s).padStart(10)} events/s  (${fmt(s / n, 1)}× one-by-one)`);
    console.log(`  pipelined batches, bitmaps   ${fmt(b).padStart(10)} events/s  (${fmt(b / n, 1)}× one-by-one)`);
    console.log(`  one awaited SADD per event   ${fmt(n).padStart(10)} events/s  (measured on ${fmt(naiveEvents)} events)`);
    console.log(`  ceilings: JSON.parse alone   ${fmt(parseOnly).padStart(10)} lines/s   (ingest is ${fmt((100 * Math.min(s, b)) / parseOnly, 0)}% of it)`);
    console.log(
      redisCeiling === undefined
        ? '  ceilings: redis-benchmark -P 100 not run (redis-benchmark not installed)'
        : `  ceilings: redis-benchmark -P 100 SADD ${fmt(redisCeiling).padStart(10)} commands/s (simple commands; an event costs Redis an index lookup and a member)`,
    );
    console.log(`  load average after the ingest runs: ${loadAfter} (${cpus().length} cores)`);
    console.log(`  target ≥ 500,000 events/s pipelined: ${Math.min(s, b) >= 500_000 ? 'met' : 'NOT met'}\n`);

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
    await deleteKeys(redis, `${base}*`);
    await closeRedis();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

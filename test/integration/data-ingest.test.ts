/**
 * File ingestion: the malformed-line corpus is skipped and reported by line,
 * ingesting twice changes nothing, parse worker threads store exactly what
 * one thread stores (files and the stream collector), and the `gflow
 * ingest` command's exit codes (run in-process through its commander definition).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestCommand } from '../../cli/commands/ingest';
import { runInProcess } from '../helpers/in-process-cli';
import { isUserError } from '../../core/errors';
import { ActivityStore } from '../../store/activity/store';
import { ingestFiles, ingestStream, RoutedWriter, THREADS_AFTER, type IngestOptions, type IngestReport } from '../../store/activity/ingest';
import { collectFor, rejectedStreamKey, streamKey } from '../../store/activity/collector';
import { ensureGroup } from '../../store/stream-groups';
import { sharedParsePool } from '../../store/activity/parse-pool';
import { migrate } from '../../store/schema/migrations';
import { Names } from '../../core/names';
import { dataWorld, deleteKeys, MALFORMED, snapshot } from '../helpers/data';

const world = dataWorld();
let dir: string;
let options: IngestOptions;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gflow-ingest-'));
  options = { names: world.names, redisFor: () => world.redis, zoneFor: () => 'UTC', batchSize: 3, maxReported: 5 };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await world.cleanup();
});

const good = [
  { game: 5, user: 'u1', type: 'register', ts: '2026-11-24T08:00:00Z' },
  { game: 5, user: 'u2', type: 'login', ts: 1795514400 },
  { game: 5, user: 'u1', type: 'pay', ts: '2026-11-24T09:00:00+01:00', id: 'A-1', amount: '9.99' },
  { game: 5, user: 'u1', type: 'pay', ts: '2026-11-24T09:00:00+01:00', id: 'A-1', amount: '9.99' },
  { game: 6, user: 'u9', type: 'online', ts: '2026-11-24T00:01:00Z' },
];

/** Good lines with the corpus interleaved; returns the file and the line numbers of the bad ones. */
async function mixedFile(): Promise<{ path: string; badLines: number[] }> {
  const lines: string[] = [];
  const badLines: number[] = [];
  MALFORMED.forEach(([bad], i) => {
    if (i < good.length) lines.push(JSON.stringify(good[i]));
    if (i === 2) lines.push('   '); // blank lines are not events
    lines.push(bad);
    badLines.push(lines.length);
  });
  const path = join(dir, 'mixed.jsonl');
  await writeFile(path, lines.join('\r\n') + '\n');
  return { path, badLines };
}

describe('ingest', () => {
  test('malformed lines are skipped, counted and reported with line numbers', async () => {
    const { path, badLines } = await mixedFile();
    const report = await ingestFiles([path], options);
    assert.equal(report.accepted, good.length);
    assert.equal(report.rejected, MALFORMED.length);
    assert.equal(report.lines, good.length + MALFORMED.length);
    assert.equal(report.rejections.length, 5, 'the first few in detail, then a count');
    assert.deepEqual(report.rejections.map((r) => r.line), badLines.slice(0, 5));
    report.rejections.forEach((r, i) => assert.match(r.reason, MALFORMED[i]![1]));
    assert.deepEqual(report.byGame, { 5: 4, 6: 1 });
    assert.equal(report.newOrders, 1);
    assert.equal(report.duplicateOrders, 1);

    const store = new ActivityStore(world.redis, world.names);
    assert.equal(await store.count(5, 'active', '20261124'), 2);
    assert.equal(await store.count(5, 'new', '20261124'), 1);
    assert.deepEqual(await store.revenue(5, '20261124'), { amount: '9.99', units: 99900, orders: 1 });
    assert.deepEqual((await store.onlineCounts(6, '20261124', 'UTC')).slice(0, 1), [1]);
  });

  test('ingesting the same file twice changes nothing', async () => {
    const { path } = await mixedFile();
    const before = await snapshot(world.redis, world.names.prefix);
    const report = await ingestFiles([path], options);
    assert.equal(report.newOrders, 0);
    assert.deepEqual(await snapshot(world.redis, world.names.prefix), before);
  });

  test('a stream (stdin) with many batches', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ game: 8, user: `p${i % 250}`, type: 'login', ts: 1796724000 + i }));
    const report = await ingestStream(Readable.from([lines.join('\n')]), 'stdin', { ...options, batchSize: 64 });
    assert.equal(report.accepted, 1000);
    assert.equal(await new ActivityStore(world.redis, world.names).count(8, 'active', '20261208'), 250);
  });

  test('a missing file is refused before anything is written', async () => {
    await assert.rejects(ingestFiles([join(dir, 'nope.jsonl')], options), (err: unknown) => isUserError(err) && err.exitCode === 2 && /cannot read/.test(err.message));
  });
});

/**
 * A file of about 3 MB (past THREADS_AFTER, so parse workers take part) meant
 * to catch every way threads could change what is stored: four games over
 * six days, a late event every 40 lines (a day already written), one game
 * (3) registering users fast enough to cross the set→bitmap threshold
 * mid-file, online buckets, servers and channels (segments), pay orders
 * resent on later days, non-ASCII user ids (so multi-byte characters fall
 * across read chunks), a byte order mark, CRLF endings in part, blank lines,
 * and the malformed-line corpus every 500 lines.
 */
function mixedLines(): string[] {
  const lines: string[] = [];
  const day0 = Date.UTC(2026, 10, 20) / 1000;
  const types = ['login', 'online', 'login', 'register', 'online', 'pay'] as const;
  for (let i = 0; i < 36_000; i++) {
    if (i % 500 === 250) lines.push(MALFORMED[(i / 500) % MALFORMED.length | 0]![0]);
    if (i % 777 === 0) lines.push(i % 2 ? '' : '  ');
    const game = 1 + (i % 4);
    const day = Math.min(5, Math.floor(i / 6000));
    const late = i % 40 === 39 && day > 0;
    const ts = day0 + (late ? day - 1 - (i % 2) : day) * 86_400 + ((i * 37) % 86_400);
    const type = types[i % types.length]!;
    const users = game === 3 ? 2 + Math.floor(i / 20) : 300;
    const user = `${i % 9 === 0 ? 'jügador-玩家-' : 'user-'}${(i * 7) % users}`;
    const e: Record<string, unknown> = { game, user, type: game === 3 && i % 4 === 0 ? 'register' : type, ts: i % 3 === 0 ? new Date(ts * 1000).toISOString() : ts };
    if (e.type === 'pay') Object.assign(e, { id: `order-${Math.floor(i / 12) % 900}`, amount: (i % 7) + 0.25 });
    if (i % 5 === 0) e.server = i % 3;
    if (i % 7 === 0) e.channel = i % 2 ? 'ios' : ' android ';
    lines.push(JSON.stringify(e));
  }
  lines[0] = `\ufeff${lines[0]}`;
  return lines;
}

/** A snapshot of `names`' keys with the prefix cut, streams left out (their entry ids differ by run). */
async function stored(names: Names): Promise<Record<string, string>> {
  const all = await snapshot(world.redis, names.prefix);
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== 'stream').map(([k, v]) => [k.slice(names.prefix.length), v]));
}

describe('parse worker threads', () => {
  const runs: Names[] = [];
  const run = (name: string) => {
    const names = new Names(`${world.names.prefix}_${name}`);
    runs.push(names);
    return names;
  };
  after(async () => {
    for (const names of runs) await deleteKeys(world.redis, `${names.prefix}:*`);
  });

  test('a file ingested with worker threads stores exactly what one thread stores, and reports the same', async () => {
    const lines = mixedLines();
    // CRLF for the first half, LF after, and no line end after the last line.
    const half = Math.floor(lines.length / 2);
    const text = `${lines.slice(0, half).join('\r\n')}\r\n${lines.slice(half).join('\n')}`;
    assert.ok(Buffer.byteLength(text) > 2 * THREADS_AFTER, 'large enough for the workers to take part');
    const path = join(dir, 'threads.jsonl');
    await writeFile(path, text);
    const pool = sharedParsePool(2);
    pool.start();
    await pool.ready();
    const before = pool.parsedByWorkers;

    const settings = { threshold: 400 };
    const base = { redisFor: () => world.redis, zoneFor: (game: number) => (game === 2 ? 'Asia/Shanghai' : 'UTC'), settings, batchSize: 700, maxReported: 50 };
    const single = run('one');
    const threaded = run('two');
    const one = await ingestFiles([path], { ...base, names: single, threads: 0 });
    const two = await ingestFiles([path], { ...base, names: threaded, threads: 2 });
    assert.ok(pool.parsedByWorkers - before > 5, `workers parsed ${pool.parsedByWorkers - before} pieces`);

    const comparable = (r: IngestReport) => ({ ...r, sources: [] });
    assert.deepEqual(comparable(two), comparable(one));
    assert.ok(one.rejected > 50 && one.accepted > 30_000 && one.duplicateOrders > 0 && one.newOrders > 0);
    const a = await stored(single);
    const b = await stored(threaded);
    assert.deepEqual(Object.keys(b), Object.keys(a));
    assert.deepEqual(b, a);
    // The threshold was crossed mid-file: game 3 has days of both representations.
    const reprs = Object.entries(a).filter(([k]) => /act:\{?3\}?:\d{8}:repr$/.test(k)).map(([, v]) => Buffer.from(v, 'hex').toString());
    assert.ok(reprs.includes('set') && reprs.includes('bitmap'), `game 3's days: ${reprs.join(' ')}`);
  });

  test('the collector with worker threads stores exactly what it stores on one thread', async () => {
    const lines = mixedLines().slice(0, 6000);
    const pool = sharedParsePool(1);
    pool.start();
    await pool.ready();
    const before = pool.parsedByWorkers;
    const results = [];
    for (const [name, threads] of [['c1', 0], ['c2', 1]] as const) {
      const names = run(name);
      const key = streamKey(names, 'events');
      await ensureGroup(world.redis, key, 'g');
      const pipeline = world.redis.pipeline();
      lines.forEach((line, i) => (i % 1000 === 999 ? pipeline.xadd(key, '*', 'payload', line) : pipeline.xadd(key, '*', 'event', line)));
      await pipeline.exec();
      const writer = new RoutedWriter(names, () => world.redis, { threshold: 400 });
      const total = await collectFor({ redis: world.redis, names, stream: 'events', group: 'g', consumer: 'c', writer, zoneFor: () => 'UTC', count: 1000, threads }, 60_000);
      const dead = (await world.redis.xrange(rejectedStreamKey(names, 'events'), '-', '+')).map(([, f]) => [f[3], f[5]]);
      results.push({ total, dead, stored: await stored(names) });
    }
    assert.ok(pool.parsedByWorkers - before >= 5, `workers parsed ${pool.parsedByWorkers - before} batches`);
    assert.ok(results[0]!.total.rejected > 10);
    assert.deepEqual(results[1], results[0]);
  });
});

describe('gflow ingest', () => {
  const run = (args: string[]) => runInProcess(ingestCommand(), args, world.names.prefix);

  before(() => migrate(world.mysql, world.names));

  test('exit 0 when every line is accepted, 1 when some are rejected, 2 for bad options', async () => {
    const clean = join(dir, 'clean.jsonl');
    await writeFile(clean, good.map((g) => JSON.stringify(g)).join('\n'));
    const ok = await run([clean]);
    assert.equal(ok.code, 0);
    assert.match(ok.out, /5 lines from .*: 5 accepted, 0 rejected/);

    const { path } = await mixedFile();
    const bad = await run([path, '--show-errors', '2']);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /mixed\.jsonl:\d+: bad JSON/);
    assert.match(bad.out, new RegExp(`and ${MALFORMED.length - 2} more`));
    assert.match(bad.out, new RegExp(`${MALFORMED.length} of ${MALFORMED.length + good.length} lines rejected`));

    assert.equal((await run([clean, '--batch-size', '1;DROP'])).code, 2);
  });
});

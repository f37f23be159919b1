/**
 * File ingestion: the malformed-line corpus is skipped and reported by line,
 * ingesting twice changes nothing, and the `gflow ingest` command's exit
 * codes (run in-process through its commander definition).
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
import { ingestFiles, ingestStream, type IngestOptions } from '../../store/activity/ingest';
import { migrate } from '../../store/schema/migrations';
import { dataWorld, MALFORMED, snapshot } from '../helpers/data';

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

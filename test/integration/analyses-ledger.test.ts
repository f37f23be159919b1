/**
 * The ledger's analyses as operators read and prune them: listAnalyses and
 * pruneAnalyses (store/ledger/analyses.ts) and `gflow analyses [prune]` (in
 * process: its parsing and printing are what is tested), against a real
 * MariaDB under a prefix of this file's own. No Temporal: the rows are
 * recorded with openAnalysis/closeAnalysis, as the analysis activity does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { analysesCommand } from '../../cli/commands/analyses';
import { Names } from '../../core/names';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { ANALYSIS_MIGRATIONS, closeAnalysis, listAnalyses, openAnalysis, pruneAnalyses, type AnalysisOrigin, type LedgerAnalysis } from '../../store/ledger/analyses';
import { sqlTime } from '../../store/ledger/runs';
import { runInProcess } from '../helpers/in-process-cli';
import { dropAll, prepareMysql } from '../helpers/reports';
import { testConfig } from '../helpers/temporal';

const config = testConfig();
const names = new Names(config.prefix);
const pool = () => getMysql(config.mysqlUrl);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Every row's start is this long before `now`: fixed here, so the tests read the same ledger whenever they run. */
const now = Date.now();
const LONG_ERROR = `the source of game 7 is unreachable: ${'x'.repeat(200)}\n    at compute (jobs/report/analyses.ts:42)`;

interface Computation {
  readonly job: string;
  readonly analysis: string;
  readonly params: Record<string, unknown>;
  readonly origin: AnalysisOrigin;
  readonly startedBy?: string;
  /** How long before `now` it started. */
  readonly ago: number;
  /** How it ended; unset: still running. */
  readonly end?: { readonly ok: boolean; readonly tookMs: number; readonly provisional?: boolean; readonly error?: string };
}

let recorded = 0;

/** Record `c` as the analysis activity does; @returns its ledger id. */
async function record(c: Computation): Promise<number> {
  const startedAt = now - c.ago;
  const n = ++recorded;
  const id = await openAnalysis(pool(), names, {
    workflowId: `${config.prefix}.${c.job}.${c.analysis}.ask.n=${n}`,
    execution: `run-${n}`,
    job: c.job,
    analysis: c.analysis,
    params: JSON.stringify(c.params),
    origin: c.origin,
    ...(c.startedBy && { startedBy: c.startedBy }),
    startedAt,
  });
  if (c.end) await closeAnalysis(pool(), names, id, { ok: c.end.ok, ...(c.end.provisional !== undefined && { provisional: c.end.provisional }), ...(c.end.error && { error: c.end.error }), finishedAt: startedAt + c.end.tookMs });
  return id;
}

const retention = { game: 7, from: '20261001', to: '20261015', server: { from: 3, to: 5 } };
const FIXTURE = {
  oldOk: { job: 'report', analysis: 'retention', params: retention, origin: 'cli', startedBy: 'ann@host1', ago: 40 * DAY, end: { ok: true, tookMs: 1234, provisional: false } },
  oldFailed: { job: 'report', analysis: 'pay', params: { game: 7, from: '20261001', to: '20261002' }, origin: 'stream', ago: 35 * DAY, end: { ok: false, tookMs: 80, error: LONG_ERROR } },
  oldRunning: { job: 'report', analysis: 'active', params: { game: 8, from: '20261001', to: '20261001' }, origin: 'http', startedBy: 'bob@host2 via console', ago: 31 * DAY },
  tieFirst: { job: 'report', analysis: 'active', params: { game: 1, from: '20261101', to: '20261101' }, origin: 'task', ago: 5 * HOUR, end: { ok: true, tookMs: 10 } },
  tieSecond: { job: 'report', analysis: 'active', params: { game: 2, from: '20261101', to: '20261101' }, origin: 'task', ago: 5 * HOUR, end: { ok: true, tookMs: 20 } },
  recentOk: { job: 'shop', analysis: 'retention', params: { game: 9, from: '20261120', to: '20261121' }, origin: 'http', ago: 2 * HOUR, end: { ok: true, tookMs: 250, provisional: true } },
  recentFailed: { job: 'report', analysis: 'retention', params: { game: 7, from: '20261101', to: '20261102' }, origin: 'cli', startedBy: 'ann@host1', ago: HOUR, end: { ok: false, tookMs: 3000, error: 'redis down' } },
  recentRunning: { job: 'report', analysis: 'retention', params: { game: 7, from: '20261103', to: '20261104' }, origin: 'stream', ago: 10 * MINUTE },
} satisfies Record<string, Computation>;
type Name = keyof typeof FIXTURE;
/** The fixture's ledger ids, by name. */
const ids = {} as Record<Name, number>;
/** Names in the order the list must show them: newest first, and of two started together the later recorded. */
const NEWEST_FIRST: readonly Name[] = ['recentRunning', 'recentFailed', 'recentOk', 'tieSecond', 'tieFirst', 'oldRunning', 'oldFailed', 'oldOk'];

const list = async (filter: Parameters<typeof listAnalyses>[2] = {}) => (await listAnalyses(pool(), names, filter)).map((r) => r.id);
const idsOf = (...which: Name[]) => which.map((w) => ids[w]);
const analyses = (...args: string[]) => runInProcess(analysesCommand(), args, config.prefix);
const count = async () => Number((await pool().query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${names.schema('meta')}\`.ledger_analyses`))[0][0]!.n);

before(async () => {
  await prepareMysql(pool(), names, []);
  // Recorded out of order: ids alone would not give the order the list must show (the tie excepted, which they break).
  for (const name of ['oldRunning', 'oldOk', 'recentOk', 'oldFailed', 'tieFirst', 'tieSecond', 'recentRunning', 'recentFailed'] as const) {
    ids[name] = await record(FIXTURE[name]);
  }
});

after(async () => {
  await dropAll(pool(), getRedis(config.redisUrl), names);
  await closeRedis();
  await closeMysql();
});

describe('the ledger of analyses, listed', () => {
  test('newest first by start; of two started in the same millisecond, the later recorded first', async () => {
    assert.deepEqual(await list(), idsOf(...NEWEST_FIRST));
  });

  test('filters: job, analysis (of any job, or of one), outcome, limit; together they narrow', async () => {
    assert.deepEqual(await list({ job: 'shop' }), idsOf('recentOk'));
    assert.deepEqual(await list({ job: 'report' }), idsOf(...NEWEST_FIRST.filter((n) => n !== 'recentOk')));
    assert.deepEqual(await list({ analysis: 'retention' }), idsOf('recentRunning', 'recentFailed', 'recentOk', 'oldOk'));
    assert.deepEqual(await list({ job: 'report', analysis: 'retention' }), idsOf('recentRunning', 'recentFailed', 'oldOk'));
    assert.deepEqual(await list({ outcome: 'running' }), idsOf('recentRunning', 'oldRunning'));
    assert.deepEqual(await list({ outcome: 'failed' }), idsOf('recentFailed', 'oldFailed'));
    assert.deepEqual(await list({ job: 'report', analysis: 'retention', outcome: 'ok' }), idsOf('oldOk'));
    assert.deepEqual(await list({ limit: 3 }), idsOf('recentRunning', 'recentFailed', 'recentOk'));
    assert.deepEqual(await list({ job: 'nope' }), []);
  });

  test('gflow analyses --json: every field of a row, typed; a running row has no end, duration or provisional', async () => {
    const { code, out } = await analyses('--json');
    assert.equal(code, 0, out);
    const rows = JSON.parse(out) as LedgerAnalysis[];
    assert.deepEqual(rows.map((r) => r.id), idsOf(...NEWEST_FIRST));
    const startedAt = now - FIXTURE.oldOk.ago;
    assert.deepEqual(rows.find((r) => r.id === ids.oldOk), {
      id: ids.oldOk,
      workflowId: `${config.prefix}.report.retention.ask.n=2`,
      execution: 'run-2',
      job: 'report',
      analysis: 'retention',
      params: retention,
      origin: 'cli',
      startedBy: 'ann@host1',
      startedAt: sqlTime(startedAt),
      finishedAt: sqlTime(startedAt + 1234),
      durationMs: 1234,
      outcome: 'ok',
      provisional: false,
    });
    const failed = rows.find((r) => r.id === ids.oldFailed)!;
    assert.deepEqual([failed.outcome, failed.error, failed.durationMs, 'provisional' in failed], ['failed', LONG_ERROR, 80, false]);
    const running = rows.find((r) => r.id === ids.oldRunning)!;
    assert.deepEqual(Object.keys(running).sort(), ['analysis', 'execution', 'id', 'job', 'origin', 'outcome', 'params', 'startedAt', 'startedBy', 'workflowId']);
    assert.equal(running.outcome, 'running');
    assert.equal(rows.find((r) => r.id === ids.recentOk)!.provisional, true);
  });

  test('gflow analyses: a table with compact parameters, durations and shortened errors, newest first', async () => {
    const { code, out } = await analyses();
    assert.equal(code, 0, out);
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0]!, /^id\s+analysis\s+params\s+origin\s+started by\s+started at \(UTC\)\s+duration\s+outcome\s+provisional\s+error$/);
    assert.match(lines[1]!, /^-+( +-+){9}$/);
    assert.equal(lines.length, 2 + NEWEST_FIRST.length, 'one line per row, none for the error’s second line, no "more" note under the limit');
    assert.deepEqual(lines.slice(2).map((l) => Number(l.split(/\s+/)[0])), idsOf(...NEWEST_FIRST));
    const row = (name: Name) => lines.find((l) => l.startsWith(`${ids[name]} `))!;
    assert.match(row('oldOk'), /report\.retention\s+game=7,from=20261001,to=20261015,server=3-5\s+cli\s+ann@host1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+1\.2 s\s+ok\s+no\s+-$/);
    assert.match(row('oldFailed'), /\s+80 ms\s+failed\s+-\s+the source of game 7 is unreachable: x+…$/);
    assert.ok(row('oldFailed').length < 300, 'the 2000-character error is cut');
    assert.match(row('recentRunning'), /stream\s+-\s+\S+ \S+\s+-\s+running\s+-\s+-$/);
    assert.match(row('recentOk'), /shop\.retention .*\s+250 ms\s+ok\s+yes\s+-$/);
    assert.match(row('oldRunning'), /bob@host2 via console/);
  });

  test('gflow analyses with filters: --analysis job.analysis or a bare name, --job, --outcome, --limit', async () => {
    const idsListed = async (...args: string[]) => {
      const { code, out } = await analyses(...args, '--json');
      assert.equal(code, 0, out);
      return (JSON.parse(out) as LedgerAnalysis[]).map((r) => r.id);
    };
    assert.deepEqual(await idsListed('--analysis', 'report.retention'), idsOf('recentRunning', 'recentFailed', 'oldOk'));
    assert.deepEqual(await idsListed('-a', 'retention'), idsOf('recentRunning', 'recentFailed', 'recentOk', 'oldOk'));
    assert.deepEqual(await idsListed('--job', 'report', '--analysis', 'report.retention', '--outcome', 'failed'), idsOf('recentFailed'));
    assert.deepEqual(await idsListed('-j', 'shop'), idsOf('recentOk'));
    assert.deepEqual(await idsListed('--outcome', 'running'), idsOf('recentRunning', 'oldRunning'));
    assert.deepEqual(await idsListed('-n', '2'), idsOf('recentRunning', 'recentFailed'));
    const limited = await analyses('--limit', '2');
    assert.match(limited.out, /^\(the 2 newest; --limit for more\)$/m);
    const none = await analyses('--job', 'nope');
    assert.deepEqual([none.code, none.out], [0, 'no computations recorded that match\n']);
  });

  test('bad options: one line naming the option and what it takes, exit 2, nothing deleted', async () => {
    const before = await count();
    const cases: Array<[string[], RegExp]> = [
      [['--limit', '0'], /^--limit "0": expected a whole number from 1 to 10000$/],
      [['--limit', '10001'], /^--limit "10001": expected a whole number from 1 to 10000$/],
      [['-n', 'ten'], /^--limit "ten": expected a whole number from 1 to 10000$/],
      [['--outcome', 'done'], /^--outcome "done": expected running, ok or failed$/],
      [['--job', 'shop', '--analysis', 'report.retention'], /^--analysis report\.retention is an analysis of job report, and --job says shop/],
      [['prune', '--older-than', '0d'], /^--older-than "0d": expected an age such as 90d/],
      [['prune', '--older-than', '30'], /^--older-than "30": expected an age such as 90d/],
      [['prune', '--older-than', '1y', '--json'], /^--older-than "1y": expected an age/],
    ];
    for (const [args, message] of cases) {
      const { code, out } = await analyses(...args);
      assert.equal(code, 2, `${args.join(' ')} → ${out}`);
      assert.match(out, message);
      assert.equal(out.trim().split('\n').length, 1, out);
    }
    // commander's own usage errors are thrown to cli/index.ts (exit 2 there), not exited on; its message goes to stderr, kept here.
    const write = process.stderr.write.bind(process.stderr);
    let said = '';
    process.stderr.write = ((chunk: string | Uint8Array) => ((said += String(chunk)), true)) as typeof process.stderr.write;
    try {
      assert.equal((await analyses('prune')).code, 2);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(said, "gflow: required option '--older-than <age>' not specified\n");
    assert.equal(await count(), before);
  });
});

describe('the ledger of analyses, pruned', () => {
  test('gflow analyses prune deletes only what finished and started before the age; running and recent rows stay', async () => {
    const { code, out } = await analyses('prune', '--older-than', '30d', '--json');
    assert.equal(code, 0, out);
    assert.deepEqual(JSON.parse(out), { deleted: 2, stillRunning: 1 });
    assert.deepEqual(await list(), idsOf(...NEWEST_FIRST.filter((n) => n !== 'oldOk' && n !== 'oldFailed')));

    const again = await analyses('prune', '--older-than', '4h');
    assert.equal(again.code, 0, again.out);
    assert.equal(again.out.split('\n')[0], 'deleted 2 computations that ended and started over 4h ago');
    assert.match(again.out, /^not deleted, still running: 1 \(gflow analyses --outcome running lists them\)$/m);
    assert.deepEqual(await list(), idsOf('recentRunning', 'recentFailed', 'recentOk', 'oldRunning'));
  });

  test('pruneAnalyses deletes in slices until none is left, oldest first, and never a running row', async () => {
    const bulk = await Promise.all(
      Array.from({ length: 7 }, (_, i) => record({ job: 'bulk', analysis: 'active', params: { game: i + 1 }, origin: 'task', ago: 20 * DAY + i * MINUTE, end: { ok: i % 2 === 0, tookMs: 5, ...(i % 2 === 1 && { error: 'no' }) } })),
    );
    assert.equal((await list({ job: 'bulk' })).length, bulk.length);
    // Three rows a DELETE: a loop that stopped after one slice would leave four.
    const result = await pruneAnalyses(pool(), names, now - 10 * DAY, { sliceRows: 3 });
    assert.deepEqual(result, { deleted: 7, stillRunning: 1 });
    assert.deepEqual(await list({ job: 'bulk' }), []);
    assert.deepEqual(await list(), idsOf('recentRunning', 'recentFailed', 'recentOk', 'oldRunning'));
  });

  test('pruneAnalyses takes the oldest first: stopped after one slice of three, the four newest of seven stay', async () => {
    // Recorded newest first, so the oldest rows have the highest ids: a DELETE in id order would take the newest.
    const sliced: number[] = [];
    for (let i = 0; i < 7; i++) sliced.push(await record({ job: 'sliced', analysis: 'active', params: { game: i + 1 }, origin: 'task', ago: (20 + i) * DAY, end: { ok: true, tookMs: 5 } }));
    const first = await pruneAnalyses(pool(), names, now - 10 * DAY, { sliceRows: 3, maxSlices: 1 });
    assert.deepEqual(first, { deleted: 3, stillRunning: 1 });
    assert.deepEqual(await list({ job: 'sliced' }), sliced.slice(0, 4), 'the three oldest went');
    assert.deepEqual(await pruneAnalyses(pool(), names, now - 10 * DAY, { sliceRows: 3, maxSlices: 1 }), { deleted: 3, stillRunning: 1 });
    assert.deepEqual(await list({ job: 'sliced' }), sliced.slice(0, 1), 'the next three oldest went');
    assert.deepEqual(await pruneAnalyses(pool(), names, now - 10 * DAY, { sliceRows: 3 }), { deleted: 1, stillRunning: 1 });
    assert.deepEqual(await list(), idsOf('recentRunning', 'recentFailed', 'recentOk', 'oldRunning'));
  });

  test('migration 0012 keys the list and the prune, and runs again without error', async () => {
    const keys = async () => {
      const [rows] = await pool().query<RowDataPacket[]>(`SHOW INDEX FROM \`${names.schema('meta')}\`.ledger_analyses`);
      const byKey = new Map<string, string[]>();
      for (const r of rows) byKey.set(String(r.Key_name), [...(byKey.get(String(r.Key_name)) ?? []), String(r.Column_name)]);
      return Object.fromEntries(byKey);
    };
    const first = await keys();
    assert.deepEqual([first.started, first.outcome_started], [['started_at'], ['outcome', 'started_at']]);
    const migration = ANALYSIS_MIGRATIONS.find((m) => m.version === '0012_ledger_analyses_started')!;
    const conn = await pool().getConnection();
    try {
      for (const statement of migration.up(names)) await conn.query(statement);
    } finally {
      conn.release();
    }
    assert.deepEqual(await keys(), first);
  });
});

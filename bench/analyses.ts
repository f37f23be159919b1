/**
 * Analyses benchmark (issue #15): the latency of `report.retention` — the
 * retention curve of 30 cohort days, D1 … D30 of each (900 cells) — for a
 * 1 M-player game stored as bitmaps, answered:
 *
 * 0. **the analysis alone**: its `compute` with a bare context (the Redis
 *    queries and nothing around them), as a floor;
 * 1. **fresh, in process**: `computeAnswer` (activities/analysis.ts), what
 *    the analysis workflow's activity runs — ledger row, the 30 cohort
 *    queries (store.ts `retention`: BITCOUNTs over each cohort's runs of
 *    indexes), the answer cached and published. With the cohorts' runs
 *    cached (as after the daily `report.retention` runs) and without (the
 *    first question ever asked of those days);
 * 2. **fresh, through Temporal**: client/analyses.ts `ask` with `wait`, as
 *    `gflow ask --wait` does (parameters checked, cache missed, the
 *    `analysisRun` workflow started on a dev server this benchmark starts,
 *    computed by a slave in this process, its result awaited);
 * 3. **fresh, over HTTP and through the request stream**: `POST
 *    /api/analyses` with `wait` to the console's server on loopback, and an
 *    `XADD` to `<prefix>:stream:requests` answered on a reply list the
 *    benchmark `BLPOP`s (the slave's consumer starting the workflow);
 * 4. **cached**, through each of the three paths (parameters checked, the
 *    answer read from Redis) and straight from Redis (`cachedAnswer`: what a
 *    front end reading the cache key does);
 * 5. **MySQL**: the same 900 cells and cohort sizes by SQL over the same
 *    events loaded as rows (one row per active player-day, `register` on the
 *    registration day) into an InnoDB table with the indexes
 *    `(game_id, ts, user_id)`, `(game_id, type, ts, user_id)` and
 *    `(game_id, user_id, ts)` (bench/world.ts `loadSql`), by two
 *    statements: the cohorts' sizes from the `register` rows (index
 *    `by_type`), and the curve as each registration joined to its player's
 *    rows of the 30 following days through `by_user` (an index range per
 *    player), grouped by cohort and day: {@link CURVE_SQL}.
 *
 * Every answer is checked equal to the SQL's (and the paths to each other)
 * before any time is shown. The world is bench/world.ts's (`World`: 0.4%
 * of the players register each day, older players play a day in four or a
 * day in a hundred, a new player comes back on day N with probability
 * 40%·N^-½), over 61 days here (Aug–Sep 2026: all ended, no cell null): 30
 * cohorts, each followed for 30 days.
 *
 * Run: `npm run bench -- analyses [--users N --runs N --cached-runs N --no-sql]`.
 * Defaults: 1 M players, 9 fresh runs, 50 cached; about two minutes on 2
 * cores, most of it loading and indexing ~5 M rows into MySQL (`--no-sql`
 * leaves it out). Own redis-server, own Temporal dev server, own prefix
 * (`bench_<random>`); everything is removed at the end.
 */
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import type { AnalysisAnswer, AnalysisContext } from '../core/analysis';
import { addDays } from '../core/day';
import type { Names } from '../core/names';
import { computeAnswer, type AnalysisDependencies } from '../activities/analysis';
import { ask, prepareAsk } from '../client/analyses';
import { DayKeys } from '../store/activity/keys';
import { answerKey, cachedAnswer } from '../store/analyses/answers';
import { gameResolver } from '../store/games/directory';
import { addGame, validateGame } from '../store/games/registry';
import { migrate } from '../store/schema/migrations';
import { loadJobs } from '../infra/jobs';
import { createLogger } from '../infra/logger';
import type { Pool } from '../infra/mysql';
import type { Redis } from '../infra/redis';
import { buildConsole } from '../console/server';
import { requestStream } from '../store/analyses/requests';
import { benchStack } from './stack';
import { loadLine, machineLines, median, ms, option, standalone } from './support';
import { loadSql, World, writeEventTsv } from './world';

/** Day k of the world is START + k, k = 0 … DAYS − 1. */
const START = '20260801';
const DAYS = 61;
/** The curve: cohorts k = 1 … 30 (day 0 has no players returning to it before), D1 … D30 each. */
const COHORTS = 30;
const CURVE = 30;

const dayOf = (k: number) => addDays(START, k);
const dateOf = (day: string) => `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;

/** The curve's cells as SQL computes them: per registration, its player's rows of the 30 days after, by index range. */
export const CURVE_SQL = (table: string) => `
SELECT r.cohort, DATEDIFF(DATE(a.ts), r.cohort) AS n, COUNT(DISTINCT a.user_id) AS users
FROM (SELECT user_id, DATE(ts) AS cohort FROM ${table} WHERE game_id = 1 AND type = 'register' AND ts >= ? AND ts < ?) r
JOIN ${table} a FORCE INDEX (by_user)
  ON a.game_id = 1 AND a.user_id = r.user_id AND a.ts >= r.cohort + INTERVAL 1 DAY AND a.ts < r.cohort + INTERVAL ${CURVE + 1} DAY
GROUP BY r.cohort, n`;

/** The cohorts' sizes: registrations per day. */
const COHORT_SQL = (table: string) =>
  `SELECT DATE(ts) AS cohort, COUNT(DISTINCT user_id) AS users FROM ${table} WHERE game_id = 1 AND type = 'register' AND ts >= ? AND ts < ? GROUP BY cohort`;

interface Curve {
  readonly cohorts: ReadonlyArray<{ readonly day: string; readonly newUsers: number; readonly retained: ReadonlyArray<number | null> }>;
}

/** Game 1's bitmaps: one SET of a prepared buffer per day and kind (the World's days mapped onto START + k). */
async function writeBitmaps(redis: Redis, names: Names, w: World): Promise<void> {
  for (let k = 0; k < DAYS; k++) {
    const keys = new DayKeys(names, 1, dayOf(k));
    // Past the World's 31 days nobody new registers; its older players and cohorts go on playing.
    await redis.pipeline().set(keys.kind('active'), w.bitmap(k, 'active')).set(keys.kind('new'), w.bitmap(k, 'new')).set(keys.repr, 'bitmap').exec();
  }
}

async function sqlCurve(mysql: Pool, table: string, from: string, to: string): Promise<Curve> {
  const range = [dateOf(from), dateOf(addDays(to, 1))];
  const [[sizes], [cells]] = [await mysql.query<RowDataPacket[]>(COHORT_SQL(table), range), await mysql.query<RowDataPacket[]>(CURVE_SQL(table), range)];
  const size = new Map(sizes.map((r) => [String(r.cohort), Number(r.users)]));
  const cell = new Map(cells.map((r) => [`${String(r.cohort)} ${Number(r.n)}`, Number(r.users)]));
  const cohorts = Array.from({ length: COHORTS }, (_, i) => {
    const day = addDays(from, i);
    return { day, newUsers: size.get(dateOf(day)) ?? 0, retained: Array.from({ length: CURVE }, (_, n) => cell.get(`${dateOf(day)} ${n + 1}`) ?? 0) };
  });
  return { cohorts };
}

/** Refuse to time a wrong answer. */
function same(what: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bench: ${what} disagrees:\n${JSON.stringify(got).slice(0, 600)}\n${JSON.stringify(want).slice(0, 600)}`);
}

async function timed<T>(runs: number, before: () => Promise<unknown>, once: () => Promise<T>): Promise<{ ms: number[]; last: T }> {
  const ms: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < runs; i++) {
    await before();
    const t0 = performance.now();
    last = await once();
    ms.push(performance.now() - t0);
  }
  return { ms, last: last! };
}

const fmt = (x: number) => (x >= 1 ? ms(x) : `${(x * 1000).toFixed(0)} µs`);

export async function main(argv: readonly string[]): Promise<void> {
  const users = option(argv, '--users', 1_000_000);
  const runs = option(argv, '--runs', 9);
  const cachedRuns = option(argv, '--cached-runs', 50);
  const withSql = !argv.includes('--no-sql');
  const stack = await benchStack({ name: 'analyses', ownRedis: true, config: { jobsDir: resolve(__dirname, '../jobs'), tz: 'UTC' } });
  const { names, config, redis, mysql } = stack;
  try {
    // startRedis logs every command for bench/reports.ts's SLOWLOG accounting: not needed here.
    await redis.config('SET', 'slowlog-log-slower-than', '-1');
    for (const l of await machineLines(redis, mysql)) process.stdout.write(`${l}\n`);
    process.stdout.write(`${loadLine()} at start\n`);
    const registry = loadJobs(config.jobsDir);
    await migrate(mysql, names, { jobs: registry.list() });
    await addGame(mysql, names, validateGame({ id: 1 }));

    const g0 = performance.now();
    const w = new World(users, 0.001);
    await writeBitmaps(redis, names, w);
    const from = dayOf(1);
    const to = dayOf(COHORTS);
    process.stdout.write(
      `\n${users.toLocaleString('en')} players, game 1 as bitmaps over ${DAYS} days (${dayOf(0)}..${dayOf(DAYS - 1)}), written in ${fmt(performance.now() - g0)}\n` +
        `report.retention of cohorts ${from}..${to}: ${COHORTS} cohorts × D1..D${CURVE} = ${COHORTS * CURVE} cells; medians of ${runs} fresh runs, ${cachedRuns} cached\n`,
    );

    const quiet = createLogger('bench', () => undefined);
    const deps: AnalysisDependencies = { config, registry, names, redis, mysql, log: quiet };
    const prepared = await prepareAsk(deps, 'report.retention', { game: 1, from, to });
    const input = { prefix: config.prefix, analysis: prepared.name, params: prepared.params, origin: 'cli' as const };
    const dropAnswer = () => redis.unlink(answerKey(names, prepared.name, prepared.params));
    const dropRuns = () => redis.unlink(...Array.from({ length: COHORTS }, (_, i) => new DayKeys(names, 1, addDays(from, i)).newRuns));
    let execution = 0;
    const inProcess = () =>
      computeAnswer(deps, input, { workflowId: prepared.id, execution: `bench-${execution++}`, heartbeat: () => undefined, signal: new AbortController().signal });

    // The analysis's own work alone (its 30 cohort queries), without the ledger row, the cache and the publish around it.
    const { analysis } = registry.analysis('report.retention');
    const ctx: AnalysisContext = {
      job: 'report',
      analysis: 'retention',
      redis,
      mysql,
      game: gameResolver({ redis, mysql, names, zone: 'UTC' }),
      names,
      log: quiet,
      heartbeat: () => undefined,
      signal: new AbortController().signal,
      provisional: false,
    };
    const computeOnly = () => Promise.resolve(analysis.compute(prepared.params as never, ctx));
    await computeOnly(); // cohort runs cached, as after the daily report runs
    const bare = await timed(runs, async () => undefined, computeOnly);
    const first = await timed(runs, () => Promise.all([dropAnswer(), dropRuns()]), inProcess);
    const warm = await timed(runs, dropAnswer, inProcess);
    same('in process, runs cached / not', warm.last.result, first.last.result);
    same('compute alone', bare.last, first.last.result);
    const curve = warm.last.result as Curve;
    if (curve.cohorts.some((c) => c.retained.some((n) => n === null))) throw new Error('bench: a cell is null: the world must lie in the past');

    const slave = await stack.startSlaves(['a1']);
    let viaTemporal: { ms: number[]; last: AnalysisAnswer };
    let cachedClient: { ms: number[]; last: AnalysisAnswer };
    let viaHttp: { ms: number[]; last: AnalysisAnswer };
    let cachedHttp: { ms: number[]; last: AnalysisAnswer };
    let viaStream: { ms: number[]; last: AnalysisAnswer };
    let cachedStream: { ms: number[]; last: AnalysisAnswer };
    // The console's server on a loopback port (no token needed there), asked as a front end would.
    const { app } = await buildConsole(config, '127.0.0.1');
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    // BLPOP blocks its connection: a connection of its own, as a front end has.
    const blocking = redis.duplicate();
    try {
      const client = await stack.client();
      const askOnce = async () => {
        const state = await ask(client, deps, await prepareAsk(deps, 'report.retention', { game: 1, from, to }), { origin: 'cli', wait: true });
        if (state.status !== 'done') throw new Error(`bench: ask ended ${JSON.stringify(state)}`);
        return state.answer;
      };
      await dropAnswer();
      await askOnce(); // warm-up: the slave's first workflow task and activity
      viaTemporal = await timed(runs, dropAnswer, askOnce);
      if (viaTemporal.last.cached) throw new Error('bench: the answer through Temporal came from the cache');
      same('through Temporal', viaTemporal.last.result, curve);
      cachedClient = await timed(cachedRuns, async () => undefined, askOnce);
      if (!cachedClient.last.cached) throw new Error('bench: the cached answer was computed again');
      same('cached, client path', cachedClient.last.result, curve);

      const httpOnce = async (): Promise<AnalysisAnswer> => {
        const res = await fetch(`http://127.0.0.1:${port}/api/analyses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gflow-console': '1' },
          body: JSON.stringify({ analysis: 'report.retention', params: { game: 1, from, to }, wait: true }),
        });
        const body = (await res.json()) as { status: string; answer?: AnalysisAnswer };
        if (body.status !== 'done' || !body.answer) throw new Error(`bench: POST /api/analyses answered ${res.status} ${JSON.stringify(body)}`);
        return body.answer;
      };
      // A fresh run must not join the previous one while it is still closing (an identical request would, by design).
      const freshly = async () => {
        await client.workflow.getHandle(prepared.id).result().catch(() => undefined);
        await dropAnswer();
      };
      viaHttp = await timed(runs, freshly, httpOnce);
      same('through HTTP', viaHttp.last.result, curve);
      cachedHttp = await timed(cachedRuns, async () => undefined, httpOnce);
      if (!cachedHttp.last.cached) throw new Error('bench: the cached answer over HTTP was computed again');

      let replies = 0;
      const streamOnce = async (): Promise<AnalysisAnswer> => {
        const reply = names.redisKey('bench', 'reply', replies++);
        await redis.xadd(requestStream(names), '*', 'request', JSON.stringify({ analysis: 'report.retention', params: { game: 1, from, to }, reply }));
        const popped = await blocking.blpop(reply, 120);
        const answer = popped && (JSON.parse(popped[1]) as AnalysisAnswer & { ok: boolean });
        if (!answer?.ok) throw new Error(`bench: the stream answered ${popped?.[1] ?? 'nothing in 120 s'}`);
        return answer;
      };
      viaStream = await timed(runs, freshly, streamOnce);
      same('through the request stream', viaStream.last.result, curve);
      cachedStream = await timed(cachedRuns, async () => undefined, streamOnce);
      if (!cachedStream.last.cached) throw new Error(`bench: the cached answer on the stream was computed again: ${JSON.stringify({ ...cachedStream.last, result: undefined })}`);
    } finally {
      blocking.disconnect();
      await app.close();
      await slave.stop();
    }
    const straight = await timed(cachedRuns, async () => undefined, async () => (await cachedAnswer(redis, names, prepared.name, prepared.params))!);
    same('cached, straight', straight.last.result, curve);

    const rows: Array<[string, number[], string]> = [
      ['the analysis alone (compute, cohort runs cached)', bare.ms, 'analysis.compute: 30 cohort queries, no ledger / cache'],
      ['fresh, in process, first ever (no cohort runs cached)', first.ms, 'computeAnswer'],
      ['fresh, in process (cohort runs cached)', warm.ms, 'computeAnswer'],
      ['fresh, through Temporal (ask --wait, 1 slave)', viaTemporal.ms, 'client/analyses.ts ask'],
      ['fresh, over HTTP (POST /api/analyses, wait)', viaHttp.ms, 'the console server on loopback'],
      ['fresh, through the request stream (XADD, BLPOP)', viaStream.ms, "a slave's consumer"],
      ['cached, through the client path (ask)', cachedClient.ms, 'prepareAsk + ask'],
      ['cached, over HTTP', cachedHttp.ms, 'POST /api/analyses'],
      ['cached, through the request stream', cachedStream.ms, 'XADD + BLPOP'],
      ['cached, straight from Redis (cachedAnswer)', straight.ms, 'one GET'],
    ];
    let sqlMs: number | undefined;
    let sqlWhat = '';
    if (withSql) {
      const schema = `\`${names.schema('log')}\``;
      await mysql.query(`CREATE DATABASE IF NOT EXISTS ${schema}`);
      const tsv = join(stack.dir, 'events.tsv');
      const t0 = performance.now();
      const days = Array.from({ length: DAYS }, (_, k) => dayOf(k));
      const count = await writeEventTsv(tsv, w, days, (u, k) => (u * 7919 + k * 104_729) % 86_400);
      const t1 = performance.now();
      const table = `${schema}.events`;
      const loaded = await loadSql(mysql, table, tsv);
      await rm(tsv, { force: true });
      const sql = await timed(Math.min(runs, 3), async () => undefined, () => sqlCurve(mysql, table, from, to));
      same('MySQL', sql.last, curve);
      sqlMs = median(sql.ms);
      sqlWhat = `${count.toLocaleString('en')} rows: TSV ${fmt(t1 - t0)}, LOAD DATA ${fmt(loaded.loadMs)}, indexes ${fmt(loaded.indexMs)}`;
      rows.push([`MySQL, indexed events table (2 statements)`, sql.ms, sqlWhat]);
    }

    process.stdout.write(`  ${'way'.padEnd(56)} ${'median'.padStart(10)}  ${'min'.padStart(9)}  ${'max'.padStart(9)}  what\n`);
    for (const [what, ms, how] of rows) {
      process.stdout.write(`  ${what.padEnd(56)} ${fmt(median(ms)).padStart(10)}  ${fmt(Math.min(...ms)).padStart(9)}  ${fmt(Math.max(...ms)).padStart(9)}  ${how}\n`);
    }
    const ratio = (a: number, b: number) => `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×`;
    const [fresh, temporal, cached, direct] = [median(warm.ms), median(viaTemporal.ms), median(cachedClient.ms), median(straight.ms)];
    const ratios = [`Temporal / in process ${ratio(temporal, fresh)}`, `fresh in process / cached via client ${ratio(fresh, cached)}`, `cached via client / straight ${ratio(cached, direct)}`];
    if (sqlMs !== undefined) ratios.push(`MySQL / fresh in process ${ratio(sqlMs, fresh)}`, `MySQL / fresh through Temporal ${ratio(sqlMs, temporal)}`, `MySQL / cached via client ${ratio(sqlMs, cached)}`);
    else ratios.push('MySQL left out (--no-sql)');
    process.stdout.write(`  ${ratios.join('; ')}\n`);
    const cells = curve.cohorts.reduce((n, c) => n + c.retained.reduce<number>((a, b) => a + (b ?? 0), 0), 0);
    process.stdout.write(`  answer: ${curve.cohorts.reduce((n, c) => n + c.newUsers, 0).toLocaleString('en')} players in the cohorts, ${cells.toLocaleString('en')} retained player-days; the same on every path${withSql ? ' and in MySQL' : ''}\n`);
    process.stdout.write(`\n${loadLine()} at end\n`);
  } finally {
    await stack.close();
  }
}

if (require.main === module) standalone(main);

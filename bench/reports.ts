/**
 * Report computation benchmark (issues 5 and "Scale"): the whole
 * `report_active` + `report_retention` row of one game-day (DAU, WAU, MAU,
 * new users; the size and D1, D2, D3, D7, D14, D30 of every cohort day D
 * fills) computed over the same activity by:
 *
 * 1. **the activity store** (jobs/report/compute.ts, the code the `report`
 *    job runs) on bitmaps: windows from cached 2^k-day unions, cohorts as
 *    runs of indexes (store/activity/store.ts). Measured three ways: the
 *    daily run (day D's own caches absent, the earlier days' present, as
 *    after yesterday's run: this includes the day's upkeep), a rerun
 *    (everything cached), and a first run (no cache at all);
 * 2. **today's layout**, the baseline: the store's scripts before this
 *    change, kept here (one BITOP OR over all 30 days for MAU, one
 *    whole-bitmap BITOP AND per retention cell);
 * 3. the store on **sets** (the small-game representation: windows read the
 *    same unions, each set day turned into bits once), daily run, rerun and
 *    first run, and today's layout on sets (one SUNIONSTORE), up to `--set-users`;
 * 4. **indexed SQL in MySQL** over the same events stored as rows (one row
 *    per active user-day, `register` on a player's registration day),
 *    COUNT(DISTINCT) and a self-join, up to `--sql-users`;
 * 5. **DuckDB** (the PyPI `duckdb` package, pip-installed if missing) over
 *    the same event rows loaded from the same TSV, up to `--duck-users`: one
 *    statement — each user's last active day in the 30-day window (DAU, WAU,
 *    MAU as filtered counts of one GROUP BY), and the registrations of the
 *    seven cohort days LEFT JOINed to the day's distinct users; a range
 *    predicate on `ts` so the table's min/max zone maps skip other days.
 *
 * The world: 31 days ending on D; 0.4% of the players register each day (a
 * block of fresh indexes, as the writer hands them out), and `--stragglers`
 * (default 0.1%) of each day's registrations come from older players who
 * played before registering (their index is old: single bits far from the
 * cohort's run); of the older players 30% play a day in four, the others a
 * day in a hundred; a new player comes back on day N with probability
 * 40%·N^-½. Every figure is checked equal across all ways before any time is
 * shown.
 *
 * Redis is the benchmark's own `redis-server` on a free port, with
 * `slowlog-log-slower-than 0`: the Redis time of a row is the sum of its
 * commands' SLOWLOG durations (a script counts once, with what it calls;
 * the calls it makes, logged apart by Redis 7 from client `?:0`, are left out),
 * and the longest single command is what blocked other clients longest.
 * Both are wall time inside Redis, which a busy machine inflates (Redis
 * waiting for a core); the CPU its main thread used during the row (INFO
 * cpu) is printed beside them, and the load average with every size.
 *
 * Run: `npm run bench -- reports [--users N --small N --set-users N
 * --sql-users N --duck-users N --stragglers F --runs N --detail]`.
 * Defaults: 10 M and 1 M players; DuckDB at both, sets and MySQL at 1 M
 * only (MySQL needs about five minutes to load and index the 26 M rows of
 * 10 M players here, and sets of 10 M players take gigabytes): about four
 * minutes on 2 cores. `--detail` lists the commands of one daily run. Own
 * prefix (`bench_<random>`); the Redis, the schema and the TSV are removed
 * at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Redis } from '../infra/redis';
import { Names } from '../core/names';
import { DayKeys, scratchKey, UNION_LEVELS } from '../store/activity/keys';
import { addDays, ActivityStore, INTERSECTION } from '../store/activity/store';
import { LuaScript } from '../store/activity/lua';
import { userIndexKey } from '../store/activity/user-index';
import { activeFigures, retentionCells, RETENTION_DAYS, type ActiveFigures, type CohortCell } from '../jobs/report/compute';
import { closeMysql, getMysql } from '../infra/mysql';
import { closeRedis, getRedis } from '../infra/redis';
import { dropSchemas, startRedis } from './stack';
import { deleteKeys, loadLine, machineLines, median, ms, option, standalone } from './support';
import { DAY, hash, loadSql, WINDOW, World, writeEventTsv } from './world';

interface Figures {
  readonly active: ActiveFigures;
  readonly cells: readonly CohortCell[];
}

/**
 * One row's cost: wall clock as the job sees it; Redis time and the longest
 * command from SLOWLOG (wall time inside Redis: on a busy machine it counts
 * the moments redis-server waited for a core); the CPU Redis's main thread
 * used meanwhile (INFO cpu: what the row costs Redis whatever the load).
 */
interface Cost {
  readonly wallMs: number;
  readonly redisMs?: number;
  readonly cpuMs?: number;
  readonly longestMs?: number;
  readonly longest?: string;
  readonly commands?: number;
}

/** Game 1: one SET of a prepared buffer per day and kind (the cheapest way to write 10 M bits). */
async function writeBitmaps(redis: Redis, names: Names, w: World): Promise<void> {
  for (let k = 0; k < WINDOW; k++) {
    const keys = new DayKeys(names, 1, w.days[k]!);
    await redis.pipeline().set(keys.kind('active'), w.bitmap(k, 'active')).set(keys.kind('new'), w.bitmap(k, 'new')).exec();
  }
}

/** Game 2: the same players as sets of user ids, SADD 10,000 members a command, a day per pipeline; their dense indexes as the writer keeps them. */
async function writeSets(redis: Redis, names: Names, w: World): Promise<void> {
  const index = userIndexKey(names, 2);
  for (let u = 0; u < w.users; u += 10_000) {
    const fields: string[] = [];
    for (let v = u; v < Math.min(w.users, u + 10_000); v++) fields.push(String(v), String(v));
    await redis.hset(index, ...fields);
  }
  for (let k = 0; k < WINDOW; k++) {
    const keys = new DayKeys(names, 2, w.days[k]!);
    const pipeline = redis.pipeline();
    let active: string[] = [];
    const fresh: string[] = [];
    w.eachActive(k, (u, registers) => {
      active.push(String(u));
      if (registers) fresh.push(String(u));
      if (active.length === 10_000) {
        pipeline.sadd(keys.kind('active'), ...active);
        active = [];
      }
    });
    if (active.length > 0) pipeline.sadd(keys.kind('active'), ...active);
    for (let i = 0; i < fresh.length; i += 10_000) pipeline.sadd(keys.kind('new'), ...fresh.slice(i, i + 10_000));
    await pipeline.exec();
  }
}

// ---------------------------------------------------------------------------------------------
// Today's layout: the activity store's queries before window unions and cohort runs, verbatim.

const LEGACY_COUNTS = new LuaScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k).ok
  if t == 'set' then out[i] = redis.call('SCARD', k)
  elseif t == 'string' then out[i] = redis.call('BITCOUNT', k)
  else out[i] = 0 end
end
return out
`);

const LEGACY_UNION = new LuaScript(`
local sets, bitmaps = {}, {}
for i = 3, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t == 'set' then sets[#sets + 1] = KEYS[i] elseif t == 'string' then bitmaps[#bitmaps + 1] = KEYS[i] end
end
if #bitmaps == 0 then
  if #sets == 0 then return 0 end
  if #sets == 1 then return redis.call('SCARD', sets[1]) end
  redis.call('SUNIONSTORE', KEYS[1], unpack(sets))
else
  redis.call('BITOP', 'OR', KEYS[1], unpack(bitmaps))
  for _, s in ipairs(sets) do
    for _, m in ipairs(redis.call('SMEMBERS', s)) do
      local idx = redis.call('HGET', KEYS[2], m)
      if idx then redis.call('SETBIT', KEYS[1], tonumber(idx), 1) end
    end
  end
end
local n
if #bitmaps == 0 then n = redis.call('SCARD', KEYS[1]) else n = redis.call('BITCOUNT', KEYS[1]) end
redis.call('DEL', KEYS[1])
return n
`);

// The intersection script is the same in both layouts: the store's own.

/** The row as compute.ts computed it before: same queries, same concurrency. */
async function legacyRow(redis: Redis, names: Names, game: number, day: string): Promise<Figures> {
  const key = (d: string, kind: 'active' | 'new') => new DayKeys(names, game, d).kind(kind);
  const scratch = () => scratchKey(names, game, randomBytes(8).toString('hex'));
  const count = async (k: string) => Number(((await LEGACY_COUNTS.run(redis, [k])) as number[])[0]);
  const union = async (n: number) =>
    Number(await LEGACY_UNION.run(redis, [scratch(), userIndexKey(names, game), ...Array.from({ length: n }, (_, i) => key(addDays(day, i - n + 1), 'active'))]));
  const inter = async (a: string, b: string) => Number(await INTERSECTION.run(redis, [scratch(), userIndexKey(names, game), a, b]));
  const [dau, newUsers, wau, mau] = await Promise.all([count(key(day, 'active')), count(key(day, 'new')), union(7), union(30)]);
  const earlier = RETENTION_DAYS.map(async (n): Promise<CohortCell> => {
    const cohort = addDays(day, -n);
    const [size, retained] = await Promise.all([count(key(cohort, 'new')), inter(key(cohort, 'new'), key(day, 'active'))]);
    return { cohort, newUsers: size, n, retained };
  });
  const [own, cells] = await Promise.all([count(key(day, 'new')), Promise.all(earlier)]);
  return { active: { dau, wau, mau, newUsers }, cells: [{ cohort: day, newUsers: own }, ...cells] };
}

// ---------------------------------------------------------------------------------------------
// What SLOWLOG says a row cost, on the benchmark's own Redis (bench/stack.ts startRedis).

/** Commands logged since the last call: their total and the longest (SLOWLOG's own entries left out). */
let lastCommands: Array<[number, string]> = [];

async function slowlog(redis: Redis): Promise<{ totalUs: number; longestUs: number; longest: string; commands: number }> {
  const entries = (await redis.call('SLOWLOG', 'GET', '-1')) as Array<[number, number, number, string[], string]>;
  await redis.call('SLOWLOG', 'RESET');
  let totalUs = 0;
  let longestUs = 0;
  let longest = '';
  let commands = 0;
  lastCommands = [];
  for (const [, , us, args, client] of entries.reverse()) {
    const name = String(args[0]).toUpperCase();
    // Redis 7 also logs the commands a script calls (client "?:0"): their time is inside the script's.
    if (name === 'SLOWLOG' || client === '?:0') continue;
    commands++;
    totalUs += Number(us);
    lastCommands.push([Number(us), `${name} ${args.slice(1, 5).map((a) => (a.length > 60 ? `${a.slice(0, 20).replace(/\s+/g, ' ')}…` : a)).join(' ').replace(/bench_[0-9a-f]+:/g, '')}`]);
    if (Number(us) > longestUs) {
      longestUs = Number(us);
      longest = name === 'EVALSHA' ? `EVALSHA (${args.length - 3} keys+args)` : `${name} ${args.length - 1} args`;
    }
  }
  return { totalUs, longestUs, longest, commands };
}

/** Seconds of CPU Redis's main thread has used (user + system; the sum is exact on Linux). */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1]);
  const main = get('used_cpu_user_main_thread') + get('used_cpu_sys_main_thread');
  return Number.isFinite(main) ? main : get('used_cpu_user') + get('used_cpu_sys');
}

async function costOf(redis: Redis, row: () => Promise<Figures>): Promise<{ cost: Cost; figures: Figures }> {
  await slowlog(redis);
  const c0 = await redisCpu(redis);
  const t0 = performance.now();
  const figures = await row();
  const wallMs = performance.now() - t0;
  const c1 = await redisCpu(redis);
  const s = await slowlog(redis);
  return { cost: { wallMs, redisMs: s.totalUs / 1000, cpuMs: (c1 - c0) * 1000, longestMs: s.longestUs / 1000, longest: s.longest, commands: s.commands }, figures };
}

async function storeRow(store: ActivityStore, game: number, day: string): Promise<Figures> {
  const [active, cells] = await Promise.all([activeFigures(store, game, day), retentionCells(store, game, day)]);
  return { active, cells };
}

/** Every cache the store derived for `game` (window unions, cohort runs), or only day D's. */
async function dropCaches(redis: Redis, names: Names, game: number, onlyDay?: string): Promise<void> {
  if (onlyDay) {
    const keys = new DayKeys(names, game, onlyDay);
    await redis.unlink(keys.newRuns, keys.activeBits, ...Array.from({ length: UNION_LEVELS }, (_, i) => keys.activeUnion(i + 1)));
    return;
  }
  await deleteKeys(redis, names.gameKey('act', game, '*:active:u*'));
  await deleteKeys(redis, names.gameKey('act', game, '*:active:bits'));
  await deleteKeys(redis, names.gameKey('act', game, '*:new:runs'));
}

async function measure(runs: number, once: () => Promise<{ cost: Cost; figures: Figures }>): Promise<{ cost: Cost; figures: Figures; all: Cost[]; maxLongestMs: number }> {
  const results: Array<{ cost: Cost; figures: Figures }> = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  for (const r of results) same('a run', r.figures, results[0]!.figures);
  const m = (f: (c: Cost) => number | undefined) => median(results.map((r) => f(r.cost) ?? 0));
  const all = results.map((r) => r.cost);
  // The run whose longest command is the median one: a single descheduling of redis-server on a busy machine is not the query's doing.
  const byLongest = [...all].sort((a, b) => (a.longestMs ?? 0) - (b.longestMs ?? 0));
  const typical = byLongest[Math.floor(byLongest.length / 2)]!;
  const cost: Cost = {
    wallMs: m((c) => c.wallMs),
    ...(all[0]!.redisMs === undefined
      ? {}
      : { redisMs: m((c) => c.redisMs), cpuMs: m((c) => c.cpuMs), longestMs: typical.longestMs, longest: typical.longest, commands: m((c) => c.commands) }),
  };
  return { cost, figures: results[0]!.figures, all, maxLongestMs: byLongest[byLongest.length - 1]!.longestMs ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// The same activity as event rows (bench/world.ts writeEventTsv): indexed SQL in MySQL (LOAD DATA), DuckDB (read_csv).

async function sqlRow(mysql: Pool, table: string): Promise<Figures> {
  const day = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  const count = async (sql: string, params: unknown[]) => Number((await mysql.query<RowDataPacket[]>(sql, params))[0][0]!.n);
  const distinct = (from: string, to: string) =>
    count(`SELECT COUNT(DISTINCT user_id) AS n FROM ${table} WHERE game_id = 1 AND ts >= ? AND ts < ?`, [day(from), day(addDays(to, 1))]);
  const registered = (d: string) => count(`SELECT COUNT(DISTINCT user_id) AS n FROM ${table} WHERE game_id = 1 AND type = 'register' AND ts >= ? AND ts < ?`, [day(d), day(addDays(d, 1))]);
  const active = { dau: await distinct(DAY, DAY), wau: await distinct(addDays(DAY, -6), DAY), mau: await distinct(addDays(DAY, -29), DAY), newUsers: await registered(DAY) };
  const cells: CohortCell[] = [{ cohort: DAY, newUsers: await registered(DAY) }];
  for (const n of RETENTION_DAYS) {
    const cohort = addDays(DAY, -n);
    const retained = await count(
      `SELECT COUNT(DISTINCT r.user_id) AS n FROM ${table} r
       JOIN ${table} a ON a.game_id = r.game_id AND a.user_id = r.user_id AND a.ts >= ? AND a.ts < ?
       WHERE r.game_id = 1 AND r.type = 'register' AND r.ts >= ? AND r.ts < ?`,
      [day(DAY), day(addDays(DAY, 1)), day(cohort), day(addDays(cohort, 1))],
    );
    cells.push({ cohort, newUsers: await registered(cohort), n, retained });
  }
  return { active, cells };
}

/**
 * DuckDB in a Python child: loads the TSV into a table (timed), then runs the
 * row's one statement `runs` times; prints JSON.
 */
const DUCKDB_SCRIPT = String.raw`
import duckdb, json, sys, time
path, day, runs, cohorts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(',')
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t0 = time.perf_counter()
con.execute("CREATE TABLE events AS SELECT * FROM read_csv(?, delim = '\t', header = false, "
            "columns = {'game_id': 'INTEGER', 'user_id': 'VARCHAR', 'type': 'VARCHAR', 'ts': 'TIMESTAMP'})", [path])
load_ms = (time.perf_counter() - t0) * 1000
d = "DATE '%s'" % day
cohort_list = ", ".join("DATE '%s'" % c for c in cohorts)
sql = f"""
WITH last AS (        -- each user's last active day of the 30 days ending on D
  SELECT user_id, max(ts) AS last FROM events
  WHERE game_id = 1 AND ts >= {d} - INTERVAL 29 DAY AND ts < {d} + INTERVAL 1 DAY
  GROUP BY user_id
), today AS (
  SELECT DISTINCT user_id FROM events
  WHERE game_id = 1 AND ts >= {d} AND ts < {d} + INTERVAL 1 DAY
), cohorts AS (       -- the registrations of the cohort days D fills
  SELECT DISTINCT user_id, CAST(ts AS DATE) AS cohort FROM events
  WHERE game_id = 1 AND type = 'register' AND ts >= {d} - INTERVAL 30 DAY AND ts < {d} + INTERVAL 1 DAY
    AND CAST(ts AS DATE) IN ({cohort_list})
)
SELECT NULL AS cohort, count(*) FILTER (WHERE last >= {d}) AS a, count(*) FILTER (WHERE last >= {d} - INTERVAL 6 DAY) AS b, count(*) AS c FROM last
UNION ALL
SELECT c.cohort, count(*), count(t.user_id), NULL FROM cohorts c LEFT JOIN today t USING (user_id) GROUP BY c.cohort
"""
times, rows = [], None
for _ in range(runs):
    t = time.perf_counter()
    rows = con.execute(sql).fetchall()
    times.append((time.perf_counter() - t) * 1000)
out = {"version": duckdb.__version__, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0], "load_ms": load_ms, "times": times,
       "rows": [[None if r[0] is None else r[0].strftime('%Y%m%d'), r[1], r[2], r[3]] for r in rows]}
print("RESULT " + json.dumps(out))
`;

/** Python with duckdb importable, installing it with pip if missing; undefined (and why) if that fails. */
function duckdbPython(): { python?: string; why?: string } {
  const python = process.env.PYTHON ?? 'python3';
  const probe = () => spawnSync(python, ['-c', 'import duckdb'], { encoding: 'utf8' });
  if (probe().status === 0) return { python };
  process.stdout.write(`installing the duckdb package (${python} -m pip install duckdb) ...\n`);
  const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', 'duckdb'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (pip.status !== 0 || probe().status !== 0) return { why: `pip install duckdb failed: ${(pip.stderr ?? '').trim().split('\n').pop() ?? pip.error?.message}` };
  return { python };
}

async function duckdbRow(python: string, tsv: string, runs: number): Promise<{ figures: Figures; loadMs: number; times: number[]; version: string; threads: number }> {
  const cohorts = [DAY, ...RETENTION_DAYS.map((n) => addDays(DAY, -n))];
  const day = `${DAY.slice(0, 4)}-${DAY.slice(4, 6)}-${DAY.slice(6, 8)}`;
  const cohortDates = cohorts.map((c) => `${c.slice(0, 4)}-${c.slice(4, 6)}-${c.slice(6, 8)}`);
  const child = spawn(python, ['-c', DUCKDB_SCRIPT, tsv, day, String(runs), cohortDates.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number>((r) => child.once('close', (c) => r(c ?? 1)));
  if (code !== 0) throw new Error(`bench: duckdb failed: ${stderr.trim()}`);
  const result = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!result) throw new Error(`bench: duckdb printed no result: ${stdout.slice(0, 500)}`);
  const out = JSON.parse(result.slice('RESULT '.length)) as { version: string; threads: number; load_ms: number; times: number[]; rows: Array<[string | null, number, number, number | null]> };
  const window = out.rows.find((r) => r[0] === null)!;
  const byCohort = new Map(out.rows.filter((r) => r[0] !== null).map((r) => [r[0]!, r]));
  const size = (c: string) => Number(byCohort.get(c)?.[1] ?? 0);
  const kept = (c: string) => Number(byCohort.get(c)?.[2] ?? 0);
  const cells: CohortCell[] = [{ cohort: DAY, newUsers: size(DAY) }, ...RETENTION_DAYS.map((n) => ({ cohort: addDays(DAY, -n), newUsers: size(addDays(DAY, -n)), n, retained: kept(addDays(DAY, -n)) }))];
  return {
    figures: { active: { dau: Number(window[1]), wau: Number(window[2]), mau: Number(window[3]), newUsers: size(DAY) }, cells },
    loadMs: out.load_ms,
    times: out.times,
    version: out.version,
    threads: Number(out.threads),
  };
}

function fraction(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0 || value > 0.5) throw new Error(`${name} must be a fraction from 0 to 0.5`);
  return value;
}

function line(what: string, c: Cost): string {
  const redisPart =
    c.redisMs === undefined ? '' : `${ms(c.redisMs).padStart(10)} ${ms(c.cpuMs ?? 0).padStart(10)} ${ms(c.longestMs ?? 0).padStart(10)}  ${String(c.commands ?? '').padStart(5)}  ${c.longest ?? ''}`;
  return `  ${what.padEnd(38)} ${ms(c.wallMs).padStart(10)} ${redisPart}`;
}

export async function main(argv: readonly string[]): Promise<void> {
  const users = option(argv, '--users', 10_000_000);
  const small = option(argv, '--small', 1_000_000);
  const setUsers = option(argv, '--set-users', small);
  const sqlUsers = option(argv, '--sql-users', small);
  const duckUsers = option(argv, '--duck-users', users);
  const stragglers = fraction(argv, '--stragglers', 0.001);
  const runs = option(argv, '--runs', 9);
  const detail = argv.includes('--detail');
  const names = new Names(`bench_${randomBytes(4).toString('hex')}`);
  const own = await startRedis();
  const redis = getRedis(own.url);
  const mysql = getMysql(process.env.GFLOW_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
  const schema = `\`${names.schema('log')}\``;
  const dir = await mkdtemp(join(tmpdir(), 'gflow-bench-reports-'));
  let mysqlUp = true;
  try {
    try {
      await mysql.query(`CREATE DATABASE ${schema}`);
    } catch (err) {
      mysqlUp = false;
      process.stdout.write(`MySQL not reachable (${(err as Error).message}): SQL left out\n`);
    }
    for (const l of await machineLines(redis, mysqlUp ? mysql : undefined)) process.stdout.write(`${l}\n`);
    process.stdout.write(`${loadLine()} at start\n`);
    process.stdout.write(
      `day ${DAY}; the whole active + retention row; medians of ${runs} runs (sets, SQL, DuckDB: 3); wall = as the job sees it;\n` +
        `Redis = sum of the row's command times (SLOWLOG, own redis-server); longest = the longest single command (what blocks other clients), median run\n`,
    );
    const duck = duckUsers > 0 && [small, users].some((s) => s <= duckUsers) ? duckdbPython() : {};
    if (duck.why) process.stdout.write(`DuckDB left out: ${duck.why}\n`);
    for (const size of [...new Set([small, users])].sort((a, b) => a - b)) {
      await deleteKeys(redis, `${names.prefix}:*`);
      await redis.call('FLUSHALL');
      const w = new World(size, stragglers);
      const g0 = performance.now();
      await writeBitmaps(redis, names, w);
      const g1 = performance.now();
      const store = new ActivityStore(redis, names);

      // The days before D computed in order, as the daily job did: D finds their caches.
      for (let k = 1; k < WINDOW; k++) await storeRow(store, 1, w.days[k - 1]!);
      const daily = await measure(runs, async () => {
        await dropCaches(redis, names, 1, DAY);
        return costOf(redis, () => storeRow(store, 1, DAY));
      });
      const dailyDetail = lastCommands;
      const rerun = await measure(runs, () => costOf(redis, () => storeRow(store, 1, DAY)));
      const first = await measure(runs, async () => {
        await dropCaches(redis, names, 1);
        return costOf(redis, () => storeRow(store, 1, DAY));
      });
      const legacy = await measure(runs, () => costOf(redis, () => legacyRow(redis, names, 1, DAY)));
      same("today's layout", legacy.figures, daily.figures);
      same('rerun', rerun.figures, daily.figures);
      same('first run', first.figures, daily.figures);
      const f = daily.figures;
      process.stdout.write(
        `\n${size.toLocaleString('en')} players: DAU ${f.active.dau.toLocaleString('en')}, WAU ${f.active.wau.toLocaleString('en')}, MAU ${f.active.mau.toLocaleString('en')}, ` +
          `${w.perDay.toLocaleString('en')} new a day (${w.stragglersPerDay} of them played before registering)\n`,
      );
      process.stdout.write(`  generated: 62 bitmaps in ${ms(g1 - g0)}; ${loadLine()}\n`);
      process.stdout.write(`  ${'way'.padEnd(38)} ${'wall'.padStart(10)} ${'Redis'.padStart(10)} ${'Redis CPU'.padStart(10)} ${'longest'.padStart(10)}  ${'cmds'.padStart(5)}  longest command\n`);
      process.stdout.write(`${line('store, daily run (D not cached)', daily.cost)}\n`);
      process.stdout.write(`${line('store, rerun (all cached)', rerun.cost)}\n`);
      process.stdout.write(`${line('store, first run (nothing cached)', first.cost)}\n`);
      process.stdout.write(`${line("today's layout (baseline)", legacy.cost)}\n`);
      const ratio = (a: number | undefined, b: number | undefined) => `${((a ?? 0) / (b ?? 1)).toFixed(0)}×`;
      const ratios: string[] = [
        `today's layout / daily run: ${ratio(legacy.cost.redisMs, daily.cost.redisMs)} Redis time, ${ratio(legacy.cost.cpuMs, daily.cost.cpuMs)} Redis CPU, ${ratio(legacy.cost.wallMs, daily.cost.wallMs)} wall`,
      ];

      if (size <= setUsers) {
        const s0 = performance.now();
        await writeSets(redis, names, w);
        const s1 = performance.now();
        for (let k = 1; k < WINDOW; k++) await storeRow(store, 2, w.days[k - 1]!);
        const setsDaily = await measure(3, async () => {
          await dropCaches(redis, names, 2, DAY);
          return costOf(redis, () => storeRow(store, 2, DAY));
        });
        const setsRerun = await measure(3, () => costOf(redis, () => storeRow(store, 2, DAY)));
        const setsFirst = await measure(1, async () => {
          await dropCaches(redis, names, 2);
          return costOf(redis, () => storeRow(store, 2, DAY));
        });
        const setsLegacy = await measure(3, () => costOf(redis, () => legacyRow(redis, names, 2, DAY)));
        for (const [what, r] of [['sets', setsDaily], ['sets, rerun', setsRerun], ['sets, first run', setsFirst], ["sets, today's layout", setsLegacy]] as const) same(what, r.figures, f);
        process.stdout.write(`  sets (the same players as sets of user ids, written in ${ms(s1 - s0)}):\n`);
        process.stdout.write(`${line('store on sets, daily run', setsDaily.cost)}\n`);
        process.stdout.write(`${line('store on sets, rerun', setsRerun.cost)}\n`);
        process.stdout.write(`${line('store on sets, first run (1 run)', setsFirst.cost)}\n`);
        process.stdout.write(`${line("sets, today's layout", setsLegacy.cost)}\n`);
        await deleteKeys(redis, names.gameKey('act', 2, '*'));
      }

      const wantSql = mysqlUp && size <= sqlUsers;
      const wantDuck = duck.python !== undefined && size <= duckUsers;
      if (wantSql || wantDuck) {
        const tsv = join(dir, `events_${size}.tsv`);
        const t0 = performance.now();
        const rows = await writeEventTsv(tsv, w, w.days, (u, k) => hash(u, k + 100) % 86_400);
        process.stdout.write(`  ${rows.toLocaleString('en')} event rows written to a TSV in ${ms(performance.now() - t0)}\n`);
        if (wantSql) {
          const table = `${schema}.events_${size}`;
          const loaded = await loadSql(mysql, table, tsv);
          const sql = await measure(3, async () => {
            const t = performance.now();
            const figures = await sqlRow(mysql, table);
            return { cost: { wallMs: performance.now() - t }, figures };
          });
          same('MySQL', sql.figures, f);
          process.stdout.write(`${line(`MySQL, indexed SQL (load ${ms(loaded.loadMs)}, index ${ms(loaded.indexMs)})`, sql.cost)}\n`);
          ratios.push(`MySQL / daily run: ${(sql.cost.wallMs / daily.cost.wallMs).toFixed(0)}× wall`);
          await mysql.query(`DROP TABLE ${table}`);
        }
        if (wantDuck) {
          const d = await duckdbRow(duck.python!, tsv, 3);
          same('DuckDB', d.figures, f);
          const dm = median(d.times);
          process.stdout.write(`${line(`DuckDB ${d.version}, ${d.threads} threads (load ${ms(d.loadMs)})`, { wallMs: dm })}\n`);
          ratios.push(`DuckDB / daily run: ${(dm / daily.cost.wallMs).toFixed(0)}× wall`);
        }
        await rm(tsv, { force: true });
      } else {
        ratios.push(`SQL and DuckDB not run at this size (--sql-users / --duck-users ${size} to include them)`);
      }
      process.stdout.write(`  ${ratios.join('; ')}\n`);
      const [inRedis, cpu] = [daily.cost.redisMs ?? Infinity, daily.cost.cpuMs ?? Infinity];
      process.stdout.write(
        `  target: the row in ≤ 3 ms of Redis time: daily run ${ms(inRedis)} in Redis, ${ms(cpu)} of Redis CPU (${Math.min(inRedis, cpu) <= 3 ? 'met' : 'NOT met'}), ` +
          `rerun ${ms(rerun.cost.redisMs ?? 0)} / ${ms(rerun.cost.cpuMs ?? 0)}; ` +
          `longest single command, median of runs ${ms(Math.max(daily.cost.longestMs ?? 0, rerun.cost.longestMs ?? 0, first.cost.longestMs ?? 0))}, worst run ${ms(Math.max(daily.maxLongestMs, rerun.maxLongestMs, first.maxLongestMs))} ` +
          `(today's layout: ${ms(legacy.cost.longestMs ?? 0)}, worst ${ms(legacy.maxLongestMs)})\n`,
      );
      process.stdout.write(`  daily run, per run: Redis ms ${daily.all.map((c) => (c.redisMs ?? 0).toFixed(2)).join(' ')}; CPU ms ${daily.all.map((c) => (c.cpuMs ?? 0).toFixed(2)).join(' ')}; ${loadLine()}\n`);
      if (detail) for (const [us, what] of dailyDetail) process.stdout.write(`    ${String(us).padStart(6)} µs  ${what}\n`);
    }
    process.stdout.write(`\n${loadLine()} at end\n`);
  } finally {
    if (mysqlUp) await dropSchemas(mysql, names, ['log']).catch(() => undefined);
    await Promise.all([closeRedis(), closeMysql()]);
    own.child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Refuse to report a time for a wrong answer. */
function same(what: string, got: Figures, want: Figures): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bench: ${what} disagree with the store:\n${JSON.stringify(got)}\n${JSON.stringify(want)}`);
}

if (require.main === module) standalone(main);

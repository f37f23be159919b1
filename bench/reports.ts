/**
 * Report computation benchmark (issue 5): one game-day of `report_active` +
 * `report_retention` (DAU, WAU, MAU, new users; the new users and D1, D2,
 * D3, D7, D14, D30 of the cohorts day D fills) computed three ways over the
 * same activity:
 *
 * 1. bitmaps in Redis (the activity store above its threshold),
 * 2. sets in Redis (the store below it), both through jobs/report/compute.ts,
 *    the code the `report` job runs;
 * 3. SQL in MySQL over the same events stored as rows (one row per active
 *    user-day, a `register` row on a player's first day), indexed for the
 *    queries, COUNT(DISTINCT) and a self-join, as one would without gflow.
 *
 * The world: 31 days ending on D; 0.4% of the players register each day;
 * of the older players 30% play a day in four, the others a day in a
 * hundred; a new player comes back on day N with probability 40%·N^-½.
 * Every figure is checked equal across the three ways before it is shown.
 *
 * Run: `npm run bench reports [-- --users N --small N --sql-users N
 * --set-users N --runs N]`: by default all three ways at 10,000,000 players
 * and again at 1,000,000. Here (2 cores, InnoDB's default 128 MB buffer
 * pool) loading and indexing the 26 M event rows of the big size takes
 * about three minutes of the run; `--sql-users 1000000` leaves them out.
 * At 10 M players a set query holds Redis for seconds (a 30-day SUNIONSTORE
 * in one script): run it on a Redis nobody else needs meanwhile, or cap the
 * set path with `--set-users`. Own prefix (`bench_<random>`); keys and
 * schema are removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { Readable } from 'node:stream';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Redis } from 'ioredis';
import { Names } from '../core/names';
import { DayKeys } from '../store/activity/keys';
import { addDays, ActivityStore } from '../store/activity/store';
import { activeFigures, retentionCells, RETENTION_DAYS, type ActiveFigures, type CohortCell } from '../jobs/report/compute';
import { closeMysql, getMysql } from '../infra/mysql';
import { closeRedis, getRedis } from '../infra/redis';
import { deleteKeys, median } from './support';

const DAY = '20261130';
const WINDOW = 31;
/** Older players: 30% regulars, on 25% of days; the rest dormant, on 1% (DAU ≈ 8%, MAU ≈ 48% of them). */
const OLD_REGULAR = 0.3;
const OLD_ACTIVE = { regular: 0.25, dormant: 0.01 } as const;
const NEW_PER_DAY = 0.004;

interface Figures {
  readonly active: ActiveFigures;
  readonly cells: readonly CohortCell[];
}

interface Timing {
  readonly activeMs: number;
  readonly retentionMs: number;
  /** Milliseconds Redis spent running the scripts of each part (INFO commandstats). */
  readonly redis?: { readonly activeMs: number; readonly retentionMs: number };
}

/** The players and days of one size. Day k = 0 … 30 is D − 30 + k. */
class World {
  readonly old: number;
  readonly perDay: number;
  readonly days: string[];

  constructor(readonly users: number) {
    this.perDay = Math.round(users * NEW_PER_DAY);
    this.old = users - WINDOW * this.perDay;
    this.days = Array.from({ length: WINDOW }, (_, k) => addDays(DAY, k - WINDOW + 1));
  }

  /** Calls `visit` for each player active on day k, in index order. */
  eachActive(k: number, visit: (user: number, registers: boolean) => void): void {
    const [regular, dormant] = [OLD_ACTIVE.regular * 2 ** 32, OLD_ACTIVE.dormant * 2 ** 32];
    for (let u = 0; u < this.old; u++) if (hash(u, k) < (hash(u, -1) < OLD_REGULAR * 2 ** 32 ? regular : dormant)) visit(u, false);
    for (let c = 0; c <= k; c++) {
      const limit = c === k ? 2 ** 32 : 0.4 * (k - c) ** -0.5 * 2 ** 32;
      const first = this.old + c * this.perDay;
      for (let u = first; u < first + this.perDay; u++) if (c === k || hash(u, k) < limit) visit(u, c === k);
    }
  }

  bitmap(k: number, kind: 'active' | 'new'): Buffer {
    const bits = Buffer.alloc(Math.ceil(this.users / 8));
    // Redis numbers bits from the most significant bit of byte 0 (SETBIT / BITFIELD order).
    const set = (u: number) => (bits[u >> 3]! |= 0x80 >> (u & 7));
    if (kind === 'active') this.eachActive(k, set);
    else for (let u = this.old + k * this.perDay; u < this.old + (k + 1) * this.perDay; u++) set(u);
    return bits;
  }
}

/** murmur3's finalizer over (user, day): the same activity for every representation. */
function hash(u: number, k: number): number {
  let x = Math.imul(u, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Game 1: one SET of a prepared buffer per day and kind (the cheapest way to write 10 M bits). */
async function writeBitmaps(redis: Redis, names: Names, w: World): Promise<void> {
  for (let k = 0; k < WINDOW; k++) {
    const keys = new DayKeys(names, 1, w.days[k]!);
    await redis.pipeline().set(keys.kind('active'), w.bitmap(k, 'active')).set(keys.kind('new'), w.bitmap(k, 'new')).exec();
  }
}

/** Game 2: the same players as sets of user ids, SADD 10,000 members a command, a day per pipeline. */
async function writeSets(redis: Redis, names: Names, w: World): Promise<void> {
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

async function redisRun(redis: Redis, store: ActivityStore, game: number): Promise<{ timing: Timing; figures: Figures }> {
  const r0 = await scriptMicros(redis);
  const t0 = performance.now();
  const active = await activeFigures(store, game, DAY);
  const t1 = performance.now();
  const r1 = await scriptMicros(redis);
  const t2 = performance.now();
  const cells = await retentionCells(store, game, DAY);
  const t3 = performance.now();
  const r2 = await scriptMicros(redis);
  return { timing: { activeMs: t1 - t0, retentionMs: t3 - t2, redis: { activeMs: (r1 - r0) / 1000, retentionMs: (r2 - r1) / 1000 } }, figures: { active, cells } };
}

/**
 * Microseconds Redis has spent in scripts: every query of the activity store
 * is one script, and the commands a script calls are counted inside it (and
 * again under their own names, so those are left out). Other clients'
 * scripts count too: run on a quiet Redis.
 */
async function scriptMicros(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):.*?usec=(\d+)/gm)) total += Number(m[2]);
  return total;
}

/** The same activity as event rows: LOAD DATA from a stream, then the indexes (faster than indexing row by row). */
async function loadSql(mysql: Pool, table: string, w: World): Promise<{ rows: number; loadMs: number; indexMs: number }> {
  await mysql.query(`CREATE TABLE ${table} (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    game_id INT UNSIGNED NOT NULL,
    user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    type VARCHAR(16) NOT NULL,
    ts DATETIME NOT NULL
  ) ENGINE=InnoDB`);
  let rows = 0;
  // eachActive calls back: a day's rows (~40 MB at 10 M players) are gathered, then streamed out.
  function* tsv(): Generator<Buffer> {
    for (let k = 0; k < WINDOW; k++) {
      const date = w.days[k]!.replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3');
      const chunks: string[] = [];
      let chunk = '';
      w.eachActive(k, (u, registers) => {
        const s = hash(u, k + 100) % 86_400;
        chunk += `1\t${u}\t${registers ? 'register' : 'login'}\t${date} ${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}\n`;
        rows++;
        if (chunk.length > 1 << 20) {
          chunks.push(chunk);
          chunk = '';
        }
      });
      chunks.push(chunk);
      for (const c of chunks) yield Buffer.from(c);
    }
  }
  const t0 = performance.now();
  await mysql.query({ sql: `LOAD DATA LOCAL INFILE 'events.tsv' INTO TABLE ${table} (game_id, user_id, type, ts)`, infileStreamFactory: () => Readable.from(tsv()) });
  const t1 = performance.now();
  await mysql.query(`ALTER TABLE ${table} ADD KEY by_day (game_id, ts, user_id), ADD KEY by_type (game_id, type, ts, user_id), ADD KEY by_user (game_id, user_id, ts)`);
  await mysql.query(`ANALYZE TABLE ${table}`);
  return { rows, loadMs: t1 - t0, indexMs: performance.now() - t1 };
}

async function sqlRun(mysql: Pool, table: string): Promise<{ timing: Timing; figures: Figures }> {
  const day = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  const count = async (sql: string, params: unknown[]) => Number((await mysql.query<RowDataPacket[]>(sql, params))[0][0]!.n);
  const distinct = (from: string, to: string) =>
    count(`SELECT COUNT(DISTINCT user_id) AS n FROM ${table} WHERE game_id = 1 AND ts >= ? AND ts < ?`, [day(from), day(addDays(to, 1))]);
  const registered = (d: string) => count(`SELECT COUNT(*) AS n FROM ${table} WHERE game_id = 1 AND type = 'register' AND ts >= ? AND ts < ?`, [day(d), day(addDays(d, 1))]);
  const t0 = performance.now();
  const active = { dau: await distinct(DAY, DAY), wau: await distinct(addDays(DAY, -6), DAY), mau: await distinct(addDays(DAY, -29), DAY), newUsers: await registered(DAY) };
  const t1 = performance.now();
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
  return { timing: { activeMs: t1 - t0, retentionMs: performance.now() - t1 }, figures: { active, cells } };
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}


async function measure(runs: number, once: () => Promise<{ timing: Timing; figures: Figures }>): Promise<{ timing: Timing; figures: Figures }> {
  const results: Array<{ timing: Timing; figures: Figures }> = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  const m = (f: (t: Timing) => number | undefined) => median(results.map((r) => f(r.timing) ?? 0));
  const timing: Timing = { activeMs: m((t) => t.activeMs), retentionMs: m((t) => t.retentionMs) };
  if (results[0]!.timing.redis === undefined) return { timing, figures: results[0]!.figures };
  return { timing: { ...timing, redis: { activeMs: m((t) => t.redis?.activeMs), retentionMs: m((t) => t.redis?.retentionMs) } }, figures: results[0]!.figures };
}

/** The machine, for the figures' context. */
export async function machineLines(redis?: Redis, mysql?: Pool): Promise<string[]> {
  const cpu = cpus();
  const lines = [`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`];
  if (redis) lines.push(`redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?'}`);
  if (mysql) {
    const [rows] = await mysql.query<RowDataPacket[]>('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool');
    lines.push(`mysql ${String(rows[0]!.v)} (InnoDB buffer pool ${Math.round(Number(rows[0]!.pool) / 2 ** 20)} MB)`);
  }
  return lines;
}

function option(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1`);
  return value;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

export async function main(argv: readonly string[]): Promise<void> {
  const users = option(argv, '--users', 10_000_000);
  const small = option(argv, '--small', 1_000_000);
  const sqlUsers = option(argv, '--sql-users', users);
  const setUsers = option(argv, '--set-users', users);
  const runs = option(argv, '--runs', 5);
  const names = new Names(`bench_${randomBytes(4).toString('hex')}`);
  const redis = getRedis(process.env.GFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const mysql = getMysql(process.env.GFLOW_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
  const schema = `\`${names.schema('log')}\``;
  try {
    for (const line of await machineLines(redis, mysql)) process.stdout.write(`${line}\n`);
    process.stdout.write(`day ${DAY}; medians of ${runs} runs (SQL: ${Math.min(runs, 3)}); times are wall clock as the job sees them; "in Redis": script time from INFO commandstats\n`);
    await mysql.query(`CREATE DATABASE ${schema}`);
    for (const size of [...new Set([small, users])].sort((a, b) => a - b)) {
      await deleteKeys(redis, `${names.prefix}:*`);
      const w = new World(size);
      const g0 = performance.now();
      await writeBitmaps(redis, names, w);
      const g1 = performance.now();
      const withSets = size <= setUsers;
      if (withSets) await writeSets(redis, names, w);
      const g2 = performance.now();
      const store = new ActivityStore(redis, names);
      const bitmap = await measure(runs, () => redisRun(redis, store, 1));
      const set = withSets ? await measure(Math.min(runs, 3), () => redisRun(redis, store, 2)) : undefined;
      process.stdout.write(`\n${size.toLocaleString('en')} players, DAU ${bitmap.figures.active.dau.toLocaleString('en')}, MAU ${bitmap.figures.active.mau.toLocaleString('en')}, ${w.perDay.toLocaleString('en')} new a day\n`);
      process.stdout.write(`  generated: 62 bitmaps in ${ms(g1 - g0)}${withSets ? `, the same as sets in ${ms(g2 - g1)}` : ''}\n`);
      const row = (what: string, t: Timing) =>
        `  ${what.padEnd(8)} active ${ms(t.activeMs).padStart(11)}  retention row ${ms(t.retentionMs).padStart(11)}  total ${ms(t.activeMs + t.retentionMs).padStart(11)}` +
        (t.redis === undefined ? '' : `  (in Redis: ${ms(t.redis.activeMs)} + ${ms(t.redis.retentionMs)})`);
      process.stdout.write(`${row('bitmaps', bitmap.timing)}\n`);
      const total = (t: Timing) => t.activeMs + t.retentionMs;
      let ratios = '  sets not run at this size (--set-users)';
      if (set) {
        process.stdout.write(`${row('sets', set.timing)}\n`);
        same('sets', set.figures, bitmap.figures);
        ratios = `  sets / bitmaps ${(total(set.timing) / total(bitmap.timing)).toFixed(1)}×`;
      }
      if (size <= sqlUsers) {
        const table = `${schema}.events_${size}`;
        const loaded = await loadSql(mysql, table, w);
        const sql = await measure(Math.min(runs, 3), () => sqlRun(mysql, table));
        process.stdout.write(`  SQL: ${loaded.rows.toLocaleString('en')} event rows loaded in ${ms(loaded.loadMs)}, indexed in ${ms(loaded.indexMs)}\n`);
        process.stdout.write(`${row('SQL', { activeMs: sql.timing.activeMs, retentionMs: sql.timing.retentionMs })}\n`);
        same('SQL', sql.figures, bitmap.figures);
        await mysql.query(`DROP TABLE ${table}`);
        ratios += `; SQL / bitmaps ${(total(sql.timing) / total(bitmap.timing)).toFixed(0)}× (target ≥ 100×)`;
      } else {
        ratios += `; SQL not run at this size (--sql-users ${size} to include it)`;
      }
      process.stdout.write(`${ratios}\n  bitmap retention row: ${ms(bitmap.timing.retentionMs)}, of it in Redis ${ms(bitmap.timing.redis?.retentionMs ?? 0)} (target ≤ 50 ms)\n`);
    }
  } finally {
    await deleteKeys(redis, `${names.prefix}:*`);
    await mysql.query(`DROP DATABASE IF EXISTS ${schema}`);
    await Promise.all([closeRedis(), closeMysql()]);
  }
}

/** Refuse to report a time for a wrong answer. */
function same(what: string, got: Figures, want: Figures): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bench: ${what} disagree with bitmaps:\n${JSON.stringify(got)}\n${JSON.stringify(want)}`);
}


if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}

/**
 * The report job's analyses (`report.active`, `report.retention`,
 * `report.pay`) and its server / channel segments, for real: generated
 * events over 22 days (five servers, channels with a `:` and with spaces,
 * events without either, players active before registering, never
 * registering, switching servers, orders resent the same day and the next,
 * late events, a batch written twice) into three games — sets, bitmaps, and
 * one crossing the set → bitmap threshold half way — and every answer
 * compared with figures computed here from the raw events in plain JS sets.
 *
 * - Unfiltered answers equal the rows the report tasks write for the same days.
 * - Filtered answers (server ranges, channels, both, nothing matching) equal
 *   an independent count; sets, bitmaps and the mixed game agree.
 * - The answer is the same computed in process (the workflow's activity),
 *   from the cache, and asked through Temporal (`ask` with wait).
 * - `-s` / `-c` on reruns: `active` and `pay` write their segment rows
 *   (report_segment_*), the whole-game rows untouched; `retention` and
 *   `online` are refused by planRerun before anything starts (exit 2); the
 *   example job `channels` (which declares no `filters`) still takes `-c`.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RowDataPacket } from 'mysql2/promise';
import { ParamError, type AnalysisAnswer } from '../../core/analysis';
import { dayKeyOf, dayRange, daysEnding, addDays } from '../../core/day';
import { UserError } from '../../core/errors';
import type { MapContext, RunFilters, TaskContext } from '../../core/job';
import { Names } from '../../core/names';
import { parsePeriodKey } from '../../core/period';
import { computeAnswer } from '../../activities/analysis';
import { askInProcess } from '../../worker/ask';
import { ask, prepareAsk } from '../../client/analyses';
import { planRerun, startRerun } from '../../client/reruns';
import { ActivityStore, type SegmentFilter } from '../../store/activity/store';
import { channelKeyPart, DayKeys, sinceKey } from '../../store/activity/keys';
import { cachedAnswer } from '../../store/analyses/answers';
import { gameResolver } from '../../store/games/directory';
import { migrate } from '../../store/schema/migrations';
import type { Config } from '../../infra/config';
import { loadJobs } from '../../infra/jobs';
import { createLogger } from '../../infra/logger';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { events } from '../helpers/data';
import { dropAll, prepareMysql } from '../helpers/reports';
import { withSlaves } from '../helpers/slaves';
import { startTemporal, testConfig } from '../helpers/temporal';

const JOBS = resolve(__dirname, '../../jobs');
const DAYS = dayRange('20261020', '20261110');
const FIRST = DAYS[0]!;
const LAST = DAYS.at(-1)!;
/** Game 1: sets; game 2: bitmaps; game 3: sets until it passes 15 players, bitmaps after. */
const GAMES = [1, 2, 3] as const;
const THRESHOLD = { 1: 1_000_000, 2: 0, 3: 15 } as const;
const USERS = 40;
const SERVERS = [1, 2, 3, 4, 5];
/** `' ads '` is `ads` once trimmed; `store:eu` needs encoding into a key part; `undefined`: no channel. */
const CHANNELS = ['ads', 'store:eu', 'organic', ' ads ', undefined] as const;

const registry = loadJobs(JOBS);
let env: TestWorkflowEnvironment;
let config: Config;
let names: Names;
const mysql = () => getMysql(config.mysqlUrl);
const redis = () => getRedis(config.redisUrl);
const quiet = createLogger('test', () => undefined);

// ---------------------------------------------------------------------------------------------
// The events: generated once, written as batches in this order to every game.

interface Raw {
  game?: number;
  user: string;
  type: 'register' | 'login' | 'online' | 'pay';
  ts: string;
  server?: number;
  channel?: string;
  id?: string;
  amount?: string;
}

/** mulberry32: the same events every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The batches, in write order: one per day, then late events of earlier days, then day 10's batch again. */
function generate(): Raw[][] {
  const r = random(15);
  const pick = <T>(list: readonly T[]) => list[Math.floor(r() * list.length)]!;
  const iso = (k: number, second: number) => new Date(Date.UTC(2026, 9, 20 + k) + second * 1000).toISOString().replace('.000', '');
  const perDay: Raw[][] = DAYS.map(() => []);
  const late: Raw[] = [];
  for (let u = 0; u < USERS; u++) {
    const user = `u${u}`;
    const home = SERVERS[u % SERVERS.length]!;
    const channel = CHANNELS[u % CHANNELS.length];
    // The last eight never register; the others register on some day, some after playing first.
    const registers = u < USERS - 8 ? Math.floor(r() * DAYS.length) : -1;
    for (let k = 0; k < DAYS.length; k++) {
      const p = k === registers ? 1 : registers >= 0 && k > registers ? 0.4 : 0.12;
      if (r() >= p) continue;
      const where = (): Pick<Raw, 'server' | 'channel'> => {
        const server = r() < 0.1 ? undefined : r() < 0.15 ? pick(SERVERS) : home;
        const ch = r() < 0.15 ? undefined : channel;
        return { ...(server !== undefined && { server }), ...(ch !== undefined && { channel: ch }) };
      };
      const out = r() < 0.1 && k > 0 ? late : perDay[k]!;
      const second = Math.floor(r() * 86_000);
      if (k === registers) out.push({ user, type: 'register', ts: iso(k, second), ...where() });
      else out.push({ user, type: r() < 0.5 ? 'login' : 'online', ts: iso(k, second), ...where() });
      if (r() < 0.25) {
        const id = `o${u}-${k}`;
        const amount = `${Math.floor(r() * 100)}.${String(Math.floor(r() * 100)).padStart(2, '0')}`;
        const pay = { user, type: 'pay' as const, ts: iso(k, second + 60), id, amount, ...where() };
        out.push(pay);
        // Resent the same day (another server or channel, maybe), and now and then after midnight: counted once, on its first day.
        if (r() < 0.3) out.push({ ...pay, ts: iso(k, second + 120), ...where() });
        if (r() < 0.3 && k + 1 < DAYS.length) perDay[k + 1]!.push({ ...pay, ts: iso(k + 1, 30), ...where() });
      }
    }
  }
  return [...perDay, late, perDay[10]!];
}

const BATCHES = generate();

/** A segment's users per day and kind, by server or channel. */
type Segments = Map<string, Set<string>>;
const segKey = (kind: string, day: string, by: 'server' | 'channel', value: number | string) => `${kind}|${day}|${by}|${value}`;

/**
 * The figures from the raw events alone, as the activity store defines
 * them: every non-pay event makes its user active (and new on a register);
 * an order counts once, on the day it first arrived, where every event of
 * it makes its user active and a payer; segments are the same per the
 * event's server and (trimmed, non-empty) channel, an order's segment
 * revenue going to the first of its counted events that carries either.
 */
class Model {
  private readonly sets = new Map<string, Set<string>>();
  private readonly segments: Segments = new Map();
  private readonly revenueOf = new Map<string, bigint>();
  private readonly segmentOrders = new Map<string, Array<{ server?: number; channel?: string; units: bigint }>>();

  constructor(batches: readonly Raw[][]) {
    const orderDay = new Map<string, string>();
    const segmentCounted = new Set<string>();
    for (const batch of batches) {
      for (const e of batch) {
        const day = e.ts.slice(0, 10).replaceAll('-', '');
        const server = e.server;
        const channel = e.channel?.trim() || undefined;
        const segment = (kind: string) => {
          if (server !== undefined) this.of(this.segments, segKey(kind, day, 'server', server)).add(e.user);
          if (channel !== undefined) this.of(this.segments, segKey(kind, day, 'channel', channel)).add(e.user);
        };
        if (e.type !== 'pay') {
          this.of(this.sets, `active|${day}`).add(e.user);
          segment('active');
          if (e.type === 'register') {
            this.of(this.sets, `new|${day}`).add(e.user);
            segment('new');
          }
          continue;
        }
        const units = BigInt(e.amount!.replace('.', '')) * 100n;
        if (!orderDay.has(e.id!)) {
          orderDay.set(e.id!, day);
          this.revenueOf.set(day, (this.revenueOf.get(day) ?? 0n) + units);
        }
        if (orderDay.get(e.id!) !== day) continue;
        this.of(this.sets, `active|${day}`).add(e.user);
        this.of(this.sets, `payers|${day}`).add(e.user);
        segment('active');
        segment('payers');
        if ((server !== undefined || channel !== undefined) && !segmentCounted.has(e.id!)) {
          segmentCounted.add(e.id!);
          const list = this.segmentOrders.get(day) ?? [];
          list.push({ ...(server !== undefined && { server }), ...(channel !== undefined && { channel }), units });
          this.segmentOrders.set(day, list);
        }
      }
    }
  }

  /** Users of `kind` over `days`, in the segment: (on one of the servers) ∩ (with the channel), each over the days. */
  users(kind: string, days: readonly string[], filter?: SegmentFilter): Set<string> {
    const union = (keys: string[]) => new Set(keys.flatMap((k) => [...(k.includes('|server|') || k.includes('|channel|') ? (this.segments.get(k) ?? []) : (this.sets.get(k) ?? []))]));
    if (!filter) return union(days.map((d) => `${kind}|${d}`));
    const sides: Set<string>[] = [];
    if (filter.servers) {
      const servers = Array.from({ length: filter.servers.to - filter.servers.from + 1 }, (_, i) => filter.servers!.from + i).filter((s) => s <= 1000);
      sides.push(union(days.flatMap((d) => servers.map((s) => segKey(kind, d, 'server', s)))));
    }
    if (filter.channel !== undefined) sides.push(union(days.map((d) => segKey(kind, d, 'channel', filter.channel!))));
    return new Set([...sides[0]!].filter((u) => sides.every((s) => s.has(u))));
  }

  active(day: string, filter?: SegmentFilter) {
    const n = (kind: string, days: readonly string[]) => this.users(kind, days, filter).size;
    return { day, dau: n('active', [day]), wau: n('active', daysEnding(day, 7)), mau: n('active', daysEnding(day, 30)), newUsers: n('new', [day]) };
  }

  retention(cohort: string, today: string, filter?: SegmentFilter) {
    const users = this.users('new', [cohort], filter);
    const retained = Array.from({ length: 30 }, (_, i) => {
      const day = addDays(cohort, i + 1);
      if (day >= today) return null;
      const on = this.users('active', [day]);
      return [...users].filter((u) => on.has(u)).length;
    });
    return { day: cohort, newUsers: users.size, retained };
  }

  pay(day: string, filter?: SegmentFilter) {
    const payers = this.users('payers', [day], filter).size;
    const dau = this.users('active', [day], filter).size;
    const units = filter
      ? (this.segmentOrders.get(day) ?? [])
          .filter((o) => (!filter.servers || (o.server !== undefined && o.server >= filter.servers.from && o.server <= filter.servers.to)) && (filter.channel === undefined || o.channel === filter.channel))
          .reduce((a, o) => a + o.units, 0n)
      : (this.revenueOf.get(day) ?? 0n);
    return { day, payers, revenue: decimal(units, 10_000n, 4), payRate: decimal(BigInt(payers), BigInt(dau), 6), arpu: decimal(units, BigInt(dau) * 10_000n, 4), arppu: decimal(units, BigInt(payers) * 10_000n, 4) };
  }

  private of(map: Map<string, Set<string>>, key: string): Set<string> {
    let s = map.get(key);
    if (!s) map.set(key, (s = new Set()));
    return s;
  }
}

/** a / b rounded half up to `places` decimals, as text; null for b = 0 (written here, not taken from compute.ts). */
function decimal(a: bigint, b: bigint, places: number): string | null {
  if (b === 0n) return null;
  const scale = 10n ** BigInt(places);
  const q = (a * scale * 2n + b) / (2n * b);
  return `${q / scale}.${(q % scale).toString().padStart(places, '0')}`;
}

const model = new Model(BATCHES);

/** The segments asked: ranges, one server, channels (one written with spaces around it too), both, none matching. */
const FILTERS: ReadonlyArray<{ readonly server?: string; readonly channel?: string; readonly filter: SegmentFilter }> = [
  { server: '1,2', filter: { servers: { from: 1, to: 2 } } },
  { server: '3', filter: { servers: { from: 3, to: 3 } } },
  { channel: 'ads', filter: { channel: 'ads' } },
  { channel: 'store:eu', filter: { channel: 'store:eu' } },
  { server: '2,4', channel: 'ads', filter: { servers: { from: 2, to: 4 }, channel: 'ads' } },
  { server: '100,200', filter: { servers: { from: 100, to: 200 } } },
  { channel: 'nope', filter: { channel: 'nope' } },
];

// ---------------------------------------------------------------------------------------------
// Asking, and running report tasks in process.

const deps = () => ({ config, registry, names, redis: redis(), mysql: mysql(), log: quiet });

/** An analysis computed as its workflow's activity computes it (and caches it). */
async function compute(analysis: string, params: Record<string, unknown>): Promise<AnalysisAnswer> {
  const prepared = await prepareAsk(deps(), `report.${analysis}`, params);
  const input = { prefix: config.prefix, analysis: prepared.name, params: prepared.params, origin: 'cli' as const };
  return computeAnswer(deps(), input, { workflowId: prepared.id, execution: `test-${Math.random()}`, heartbeat: () => undefined, signal: new AbortController().signal });
}

function taskContext(task: string, day: string, filters: RunFilters = {}): TaskContext {
  const period = parsePeriodKey('day', day, 'UTC');
  return {
    job: 'report',
    task,
    period,
    curTime: () => Math.floor(period.start / 1000),
    redis: redis(),
    mysql: mysql(),
    names,
    game: gameResolver({ redis: redis(), mysql: mysql(), names, zone: 'UTC' }),
    log: quiet,
    heartbeat: () => undefined,
    signal: new AbortController().signal,
    filters,
    ask: () => Promise.reject(new Error('report tasks ask no analysis')),
  } as TaskContext;
}

async function runTask(task: string, game: number, day: string, filters: RunFilters = {}): Promise<unknown> {
  return registry.task('report', task).execute({ game }, taskContext(task, day, filters));
}

async function rows(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  const [found] = await mysql().query<RowDataPacket[]>(sql.replaceAll('R.', `\`${names.schema('report')}\`.`), params);
  return found.map((r) => ({ ...r }));
}

const iso = (day: string) => `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;

before(async () => {
  env = await startTemporal();
  config = testConfig({ temporalAddress: env.address, jobsDir: JOBS });
  names = new Names(config.prefix);
  await migrate(mysql(), names, { jobs: registry.list() });
  await prepareMysql(mysql(), names, [...GAMES]);
  for (const game of GAMES) {
    const store = new ActivityStore(redis(), names, { threshold: THRESHOLD[game] });
    for (const batch of BATCHES) await store.write(events(batch.map((e) => ({ ...e, game }))));
  }
});

after(async () => {
  if (config) await dropAll(mysql(), redis(), names);
  await closeRedis();
  await closeMysql();
  await env?.teardown();
});

describe('report analyses and segments', () => {
  test('the games are stored as sets, as bitmaps, and as sets then bitmaps', async () => {
    const store = new ActivityStore(redis(), names);
    const reprs = async (game: number) => new Set(await Promise.all(DAYS.map((d) => store.representation(game, d))));
    assert.deepEqual(await reprs(1), new Set(['set']));
    assert.deepEqual(await reprs(2), new Set(['bitmap']));
    assert.deepEqual(await reprs(3), new Set(['set', 'bitmap']), 'game 3 crosses the threshold');
    // Segment keys follow the day's representation; channels are encoded into one key part.
    const keys = new DayKeys(names, 2, LAST);
    assert.equal(await redis().type(keys.segment('active', 'channel', 'ads')), 'string');
    assert.equal(await redis().type(new DayKeys(names, 1, LAST).segment('active', 'channel', 'ads')), 'set');
    assert.equal(channelKeyPart('store:eu'), 'store_3aeu');
    assert.equal(channelKeyPart('_h'), '_5fh');
    assert.match(channelKeyPart('é'.repeat(40)), /^_h[0-9a-f]{40}$/);
    const seen = await store.segmentsSeen(2, LAST);
    assert.deepEqual(seen.channels.filter((c) => c.startsWith(' ')), [], 'channels are kept trimmed');
    assert.ok(seen.servers.every((s) => SERVERS.includes(s)));
  });

  test('unfiltered answers equal the independent figures and the report rows, in every game', async () => {
    const today = dayKeyOf(Date.now(), 'UTC');
    const expected = {
      active: { days: DAYS.map((d) => model.active(d)) },
      retention: { cohorts: DAYS.map((d) => model.retention(d, today)) },
      pay: { days: DAYS.map((d) => model.pay(d)) },
    };
    for (const game of GAMES) {
      for (const analysis of ['active', 'retention', 'pay'] as const) {
        const answer = await compute(analysis, { game, from: FIRST, to: LAST });
        assert.deepEqual(answer.result, expected[analysis], `${analysis} of game ${game}`);
        assert.equal(answer.provisional, false);
      }
      for (const day of DAYS) for (const task of ['active', 'retention', 'pay']) await runTask(task, game, day);
      // The rows the report tasks wrote are the answers' figures, column for column.
      const active = await rows('SELECT day, dau, wau, mau, new_users FROM R.report_active WHERE game_id = ? ORDER BY day', [game]);
      assert.deepEqual(
        active.map((r) => [r.day, r.dau, r.wau, r.mau, r.new_users]),
        expected.active.days.map((d) => [iso(d.day), d.dau, d.wau, d.mau, d.newUsers]),
      );
      const pay = await rows(
        'SELECT day, payers, CAST(revenue AS CHAR) AS revenue, CAST(pay_rate AS CHAR) AS pay_rate, CAST(arpu AS CHAR) AS arpu, CAST(arppu AS CHAR) AS arppu FROM R.report_pay WHERE game_id = ? ORDER BY day',
        [game],
      );
      assert.deepEqual(
        pay.map((r) => [r.day, r.payers, r.revenue, r.pay_rate, r.arpu, r.arppu]),
        expected.pay.days.map((d) => [iso(d.day), d.payers, d.revenue, d.payRate, d.arpu, d.arppu]),
      );
      const cohorts = await rows('SELECT cohort_day, new_users, d1, d2, d3, d7, d14, d30 FROM R.report_retention WHERE game_id = ? AND cohort_day BETWEEN ? AND ?', [game, iso(FIRST), iso(LAST)]);
      assert.equal(cohorts.length, DAYS.length);
      let cells = 0;
      for (const row of cohorts) {
        const mine = expected.retention.cohorts.find((c) => iso(c.day) === row.cohort_day)!;
        assert.equal(row.new_users, mine.newUsers, `cohort ${String(row.cohort_day)} of game ${game}`);
        for (const n of [1, 2, 3, 7, 14, 30]) {
          if (row[`d${n}`] === null) continue; // day cohort + n after LAST: not computed by the tasks
          assert.equal(row[`d${n}`], mine.retained[n - 1], `d${n} of cohort ${String(row.cohort_day)} of game ${game}`);
          cells++;
        }
      }
      assert.ok(cells > 60, `${cells} retention cells compared`);
    }
  });

  test('server and channel filters match an independent count, the same in every game', async () => {
    const today = dayKeyOf(Date.now(), 'UTC');
    let nonZero = 0;
    for (const { server, channel, filter } of FILTERS) {
      const params = { from: FIRST, to: LAST, ...(server !== undefined && { server }), ...(channel !== undefined && { channel }) };
      const expected = {
        active: { days: DAYS.map((d) => model.active(d, filter)) },
        retention: { cohorts: DAYS.map((d) => model.retention(d, today, filter)) },
        pay: { days: DAYS.map((d) => model.pay(d, filter)) },
      };
      nonZero += expected.active.days.reduce((n, d) => n + d.mau, 0) > 0 ? 1 : 0;
      for (const game of GAMES) {
        for (const analysis of ['active', 'retention', 'pay'] as const) {
          const answer = await compute(analysis, { game, ...params });
          assert.deepEqual(answer.result, expected[analysis], `${analysis} of game ${game} with ${JSON.stringify(filter)}`);
        }
      }
    }
    assert.equal(nonZero, FILTERS.length - 2, 'every filter but the two matching nothing counts someone');
  });

  test('a channel written with spaces around it is the trimmed channel; filters narrow the whole game', async () => {
    const store = new ActivityStore(redis(), names);
    for (const game of GAMES) {
      for (const day of DAYS) {
        const all = await store.count(game, 'active', day);
        const ads = await store.segmentCount(game, 'active', [day], { channel: 'ads' });
        const spaced = await store.segmentCount(game, 'active', [day], { channel: ' ads ' });
        assert.equal(spaced, ads);
        assert.ok(ads <= all);
        assert.equal(ads, model.users('active', [day], { channel: 'ads' }).size);
      }
    }
  });

  test('every path returns the same answer: in process, from the cache, through Temporal', async () => {
    const params = { game: 3, from: addDays(LAST, -6), to: LAST, channel: 'organic' };
    const computed = await compute('retention', params);
    const prepared = await prepareAsk(deps(), 'report.retention', params);
    const cached = await cachedAnswer(redis(), names, prepared.name, prepared.params);
    assert.deepEqual(cached?.result, computed.result);
    assert.equal(cached?.cached, true);
    await withSlaves(config, ['s1'], async () => {
      // From the cache through the client path, then computed fresh by the analysis workflow on a slave.
      const fromCache = await ask(env.client, deps(), prepared, { origin: 'cli', wait: true });
      assert.equal(fromCache.status, 'done');
      assert.deepEqual(fromCache.status === 'done' && fromCache.answer.result, computed.result);
      const fresh = await prepareAsk(deps(), 'report.pay', { ...params, server: '1,5' });
      const viaTemporal = await ask(env.client, deps(), fresh, { origin: 'cli', wait: true });
      assert.equal(viaTemporal.status, 'done', JSON.stringify(viaTemporal));
      assert.equal(viaTemporal.status === 'done' && viaTemporal.answer.cached, false);
      assert.deepEqual(viaTemporal.status === 'done' && viaTemporal.answer.result, { days: dayRange(params.from, params.to).map((d) => model.pay(d, { servers: { from: 1, to: 5 }, channel: 'organic' })) });
    });
  });

  test("pre-analysis: every morning, each game's last 30 cohorts are computed into the cache", async () => {
    const task = registry.task('report', 'retention_precompute');
    assert.equal(task.atExecute, 'd6H0');
    const where = { workflowId: 'test.precompute', execution: '1', heartbeat: () => undefined, signal: new AbortController().signal };
    const ctx: MapContext = {
      ...taskContext('retention_precompute', LAST),
      assignTask: async () => GAMES.map((game) => ({ game })),
      ask: (analysis, params, options) => askInProcess(deps())(analysis, params, options ?? {}, where),
    };
    const items = (await task.mapTask!(ctx)) as ReadonlyArray<{ game?: number; params: Record<string, unknown> }>;
    const from = addDays(LAST, -29);
    assert.deepEqual(items, GAMES.map((game) => ({ game, params: { game, from, to: LAST } })));
    await task.execute(items[1]!, ctx);
    const prepared = await prepareAsk(deps(), 'report.retention', { game: 2, from, to: LAST });
    const cached = await cachedAnswer(redis(), names, prepared.name, prepared.params);
    const today = dayKeyOf(Date.now(), 'UTC');
    assert.deepEqual(cached?.result, { cohorts: dayRange(from, LAST).map((d) => model.retention(d, today)) });
  });

  test('bad parameters are refused before anything runs', async () => {
    await assert.rejects(prepareAsk(deps(), 'report.active', { game: 1, from: LAST, to: FIRST }), /to .* is before from/);
    await assert.rejects(prepareAsk(deps(), 'report.pay', { game: 1, from: FIRST, to: LAST, server: '5,3' }), /parameter server/);
    await assert.rejects(compute('active', { game: 9, from: FIRST, to: LAST }), /no such game in the games registry/);
  });

  test('-s / -c: active and pay write their segment rows; the whole-game rows stay', async () => {
    const day = LAST;
    const filter = { servers: { from: 2, to: 4 }, channel: 'ads' };
    const before = await rows('SELECT * FROM R.report_active WHERE day = ? ORDER BY game_id', [iso(day)]);
    for (const game of GAMES) {
      await runTask('active', game, day, filter);
      await runTask('pay', game, day, filter);
    }
    assert.deepEqual(await rows('SELECT * FROM R.report_active WHERE day = ? ORDER BY game_id', [iso(day)]), before, 'report_active untouched');
    const a = model.active(day, filter);
    const p = model.pay(day, filter);
    assert.deepEqual(
      (await rows('SELECT game_id, segment, dau, wau, mau, new_users FROM R.report_segment_active WHERE day = ? ORDER BY game_id', [iso(day)])).map(Object.values),
      GAMES.map((g) => [g, 'server=2-4;channel=ads', a.dau, a.wau, a.mau, a.newUsers]),
    );
    assert.deepEqual(
      (await rows('SELECT game_id, segment, payers, CAST(revenue AS CHAR) r, CAST(pay_rate AS CHAR) pr FROM R.report_segment_pay WHERE day = ? ORDER BY game_id', [iso(day)])).map(Object.values),
      GAMES.map((g) => [g, 'server=2-4;channel=ads', p.payers, p.revenue, p.payRate]),
    );
  });

  test('a rerun with -c writes segment rows through Temporal; tasks that cannot honour -s / -c are refused up front', async () => {
    const range = `${addDays(LAST, -1)},${LAST}`;
    const plan = (tasks: string[], filters: RunFilters) => planRerun(config, { job: 'report', tasks: registry.tasks('report', tasks), range, filters, parallelism: 2, maxPeriods: 10 });
    for (const [tasks, filters, message] of [
      [['retention'], { channel: 'ads' }, /^-c \(channel\) does not apply to task report\.retention: it computes whole games/],
      [['active', 'online'], { servers: { from: 1, to: 2 } }, /^-s \(servers\) does not apply to task report\.online/],
    ] as const) {
      assert.throws(
        () => plan([...tasks], filters),
        (err: unknown) => err instanceof UserError && err.exitCode === 2 && message.test(err.message) && !err.message.includes('\n'),
      );
    }
    // The example job declares no filters: -c still reaches its task, which honours it.
    const examples = loadJobs(resolve(JOBS, 'examples'));
    assert.doesNotThrow(() => planRerun(config, { job: 'channels', tasks: examples.tasks('channels', ['daily']), range, filters: { channel: 'ads' }, parallelism: 1, maxPeriods: 10 }));

    const input = plan(['active', 'pay'], { games: [1, 2], channel: 'organic' });
    const result = await withSlaves(config, ['s1', 's2'], async () => (await startRerun(env.client, config, input)).result());
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(
      result.periods.map((p) => `${p.task} ${p.period.key} +${p.added} ~${p.changed} -${p.removed} checks ${p.checkErrors}`).sort(),
      [addDays(LAST, -1), LAST].flatMap((d) => [`active ${d} +2 ~0 -0 checks 0`, `pay ${d} +2 ~0 -0 checks 0`]).sort(),
    );
    const found = await rows("SELECT game_id, day, dau, wau, mau, new_users FROM R.report_segment_active WHERE segment = 'channel=organic' ORDER BY day, game_id", []);
    assert.deepEqual(
      found.map(Object.values),
      [addDays(LAST, -1), LAST].flatMap((d) => {
        const f = model.active(d, { channel: 'organic' });
        return [1, 2].map((g) => [g, iso(d), f.dau, f.wau, f.mau, f.newUsers]);
      }),
    );
    assert.ok(found.some((r) => Number(r.dau) > 0), 'the segment has players');
  });
  test('a day whose activity (or online buckets) expired is refused, by reruns and analyses alike: its rows stay as they were', async () => {
    const today = dayKeyOf(Date.now(), 'UTC');
    // Before the fixture's first day, older than 35 days: no events were ever written there...
    const [old, oldOnline] = [addDays(today, -500), addDays(FIRST, -5)];
    // ...but game 1 has been played since 600 days ago, as far as the writer knows: so they expired.
    const since = await redis().get(sinceKey(names, 1));
    assert.equal(since, FIRST, "the writer kept the fixture's first day");
    await redis().set(sinceKey(names, 1), addDays(today, -600));
    const R = `\`${names.schema('report')}\``;
    await mysql().query(`REPLACE INTO ${R}.report_active (game_id, day, dau, wau, mau, new_users) VALUES (1, ?, 11, 22, 33, 4)`, [iso(old)]);
    await mysql().query(`REPLACE INTO ${R}.report_online (game_id, day, pcu, acu, buckets) VALUES (1, ?, 123, 45.5, 288)`, [iso(oldOnline)]);
    const before = await Promise.all([
      rows('SELECT * FROM R.report_active WHERE game_id = 1 AND day = ?', [iso(old)]),
      rows('SELECT * FROM R.report_online WHERE game_id = 1 AND day = ?', [iso(oldOnline)]),
    ]);
    for (const task of ['active', 'retention', 'pay']) {
      await assert.rejects(runTask(task, 1, old), new RegExp(`game 1: no activity left in Redis for ${addDays(old, task === 'retention' ? -30 : task === 'active' ? -29 : 0)}`), task);
    }
    await assert.rejects(runTask('online', 1, oldOnline), new RegExp(`game 1: no online buckets left in Redis for ${oldOnline} \\(keys are kept activity\\.onlineTtlDays = 35 days`));
    assert.deepEqual(
      await Promise.all([
        rows('SELECT * FROM R.report_active WHERE game_id = 1 AND day = ?', [iso(old)]),
        rows('SELECT * FROM R.report_online WHERE game_id = 1 AND day = ?', [iso(oldOnline)]),
      ]),
      before,
      'nothing written over the old rows',
    );
    // The days of the fixture are inside the window: computed as ever.
    await runTask('online', 1, LAST);

    await assert.rejects(compute('active', { game: 1, from: old, to: addDays(old, 6) }), (err: unknown) => {
      assert.ok(err instanceof ParamError && err.field === 'from', String(err));
      assert.match(err.message, /^parameter from: game 1: no activity left in Redis for /);
      return true;
    });

    // Before the game's first day nobody played: zeros are the truth, not a loss.
    await redis().set(sinceKey(names, 1), FIRST);
    assert.deepEqual((await compute('active', { game: 1, from: old, to: old })).result, { days: [{ day: old, dau: 0, wau: 0, mau: 0, newUsers: 0 }] });
  });
});

/**
 * The report job's analyses: the questions a front end asks on demand
 * (`gflow ask report.retention --param game=7 --param from=20261101 …`,
 * `POST /api/analyses`, the Redis request stream), answered from the same
 * activity store as the report tables, over any day range, optionally for a
 * server range and/or a channel.
 *
 * | analysis | answers |
 * |---|---|
 * | `report.active` | `{ days: [{ day, dau, wau, mau, newUsers }] }`, one per day `from`..`to` |
 * | `report.retention` | `{ cohorts: [{ day, newUsers, retained: [d1 … d30] }] }`, one per cohort day `from`..`to` |
 * | `report.pay` | `{ days: [{ day, payers, revenue, payRate, arpu, arppu }] }`, one per day `from`..`to` |
 *
 * Each takes `game`, `from` and `to` (`YYYYMMDD`, the game's days), and
 * optionally `server` (`from,to`) and `channel`:
 * - Without a filter every figure is the report row's (the same functions of
 *   report/compute.ts): `report.active` of a day is its `report_active` row,
 *   `report.pay` its `report_pay` row (decimals as the same exact text),
 *   and `report.retention`'s dN is `report_retention`'s where the table has
 *   a column for N (1, 2, 3, 7, 14, 30).
 * - With `server` and/or `channel`, the users counted are those seen on one
 *   of the servers and/or with the channel (the events' own `server` and
 *   `channel`, store.ts `segmentCount`); a cohort is the players whose
 *   registration carried them, retained when active anywhere in the game;
 *   revenue is that of the orders carrying them.
 * - dN is `null` while day cohort + N has not ended (in the game's zone), as
 *   `report_retention` leaves it NULL until it is computed.
 *
 * `report.retention` is pre-computed every morning (task
 * `retention_precompute`, 06:00): per enabled game, the cohorts of the 30
 * days ending yesterday, so the dashboard's default curve is a cache read.
 */
import {
  activityStore,
  addDays,
  dayKeyOf,
  dayRange,
  defineAnalysis,
  param,
  ParamError,
  UserError,
  type ActivityStore,
  type AnalysisContext,
  type SegmentFilter,
  type WholeRange,
} from 'gflow';
import { activeDays, activeFigures, payFigures } from './compute';

/** The days of a retention curve: d1 … d30. */
export const CURVE_DAYS = Array.from({ length: 30 }, (_, i) => i + 1);

/** Days computed at once: each day is a handful of Redis queries already in flight together. */
const DAYS_AT_ONCE = 4;

/** An answer is kept for an hour by default; the retention curve, refreshed every morning, for a day. */
const RETENTION_CACHE_SECONDS = 86_400;

const PARAMS = {
  game: param.game(),
  from: param.day(),
  to: param.day(),
  server: param.range().orNot(),
  channel: param.text({ maxLength: 64 }).orNot(),
};

/** One game, ready to be counted: its activity store (its own Redis, if it has one) and zone. */
async function openGame(ctx: AnalysisContext, id: number, reads: readonly string[]): Promise<{ store: ActivityStore; zone: string }> {
  const game = await ctx.game(id);
  // A game not in the registry would count as all zeros: say so instead.
  if (!game.registered) throw new ParamError('game', `parameter game ${id}: no such game in the games registry`);
  const store = await activityStore(ctx, game);
  // So would days whose activity has expired from Redis: the range starts too early.
  await store.assertKept(id, reads, game.zone).catch((err: unknown) => {
    // Only the refusal: Redis being down stays an outage, retried.
    throw err instanceof UserError && !err.retryable ? new ParamError('from', `parameter from: ${err.message}`) : err;
  });
  return { store, zone: game.zone };
}

/** The segment the parameters ask for; `undefined`: the whole game. */
function segmentOf(server: WholeRange | undefined, channel: string | undefined): SegmentFilter | undefined {
  if (server === undefined && channel === undefined) return undefined;
  return { ...(server && { servers: server }), ...(channel !== undefined && { channel }) };
}

/** `compute(item)` for each of `items`, `DAYS_AT_ONCE` at a time, in order; stops early if the analysis is cancelled. */
async function eachDay<T, R>(ctx: AnalysisContext, items: readonly T[], compute: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += DAYS_AT_ONCE) {
    ctx.signal.throwIfAborted();
    out.push(...(await Promise.all(items.slice(i, i + DAYS_AT_ONCE).map(compute))));
    ctx.heartbeat({ done: out.length, of: items.length });
  }
  return out;
}

/** `{ days: [{ day, …figures }] }` for each day `from`..`to` of the game (and segment the parameters name). */
async function perDay<F extends object>(
  { game, from, to, server, channel }: { readonly game: number; readonly from: string; readonly to: string; readonly server?: WholeRange; readonly channel?: string },
  ctx: AnalysisContext,
  figures: (store: ActivityStore, game: number, day: string, segment: SegmentFilter | undefined) => Promise<F>,
  reads: (day: string) => readonly string[],
): Promise<{ days: Array<{ day: string } & F> }> {
  const { store } = await openGame(ctx, game, [...reads(from), ...dayRange(from, to)]);
  const segment = segmentOf(server, channel);
  return { days: await eachDay(ctx, dayRange(from, to), async (day) => ({ day, ...(await figures(store, game, day, segment)) })) };
}

export const active = defineAnalysis({
  name: 'active',
  description: 'DAU, WAU, MAU and new users per day (optionally of a server range and/or channel)',
  params: PARAMS,
  days: { from: 'from', to: 'to' },
  compute: (params, ctx) => perDay(params, ctx, activeFigures, activeDays),
});

export const retention = defineAnalysis({
  name: 'retention',
  description: 'Per cohort day: new users and how many were active 1 to 30 days later (optionally of a server range and/or channel)',
  params: PARAMS,
  days: { from: 'from', to: 'to' },
  cacheSeconds: RETENTION_CACHE_SECONDS,
  async compute({ game, from, to, server, channel }, ctx) {
    const { store, zone } = await openGame(ctx, game, dayRange(from, to));
    const segment = segmentOf(server, channel);
    const today = dayKeyOf(Date.now(), zone);
    const cohorts = await eachDay(ctx, dayRange(from, to), async (day) => {
      // Only days that have ended: a later one is null (its count would still grow).
      const ended = CURVE_DAYS.map((n) => addDays(day, n)).filter((d) => d < today);
      const { newUsers, retained } = await store.segmentRetention(game, day, ended, segment);
      return { day, newUsers, retained: CURVE_DAYS.map((_, i) => (i < ended.length ? retained[i]! : null)) };
    });
    return { cohorts };
  },
  precompute: {
    // Daily at 06:00 (the installation's zone), for the day that just ended: yesterday's curve is ready before the office opens.
    atExecute: 'd6H0',
    params: async (ctx) => (await ctx.assignTask()).map(({ game }) => ({ game, from: addDays(ctx.period.key, -29), to: ctx.period.key })),
  },
});

export const pay = defineAnalysis({
  name: 'pay',
  description: 'Payers, revenue, pay rate, ARPU and ARPPU per day (optionally of a server range and/or channel)',
  params: PARAMS,
  days: { from: 'from', to: 'to' },
  compute: (params, ctx) => perDay(params, ctx, payFigures, (day) => [day]),
});

/** The analyses of the report job, in the order `gflow jobs` lists them. */
export const REPORT_ANALYSES = [active, retention, pay];

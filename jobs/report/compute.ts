/**
 * The report figures of one game-day, computed in Redis through the
 * {@link ActivityStore}: every number is a BITCOUNT / BITOP or SCARD /
 * SINTERCARD answered by Redis; no user list ever reaches Node. On a big
 * game's bitmaps the whole active + retention row reads cached window
 * unions and the cohorts' runs of indexes (store.ts), a few milliseconds of
 * Redis time at 10 M users. The same
 * functions serve the `report` job, its tests and the benchmarks, so what is
 * measured is what runs.
 */
import { addDays, daysEnding, type ActivityStore, type SegmentFilter } from 'gflow';

/** The retention days of `report_retention` (its columns d1, d2, d3, d7, d14, d30). */
export const RETENTION_DAYS = [1, 2, 3, 7, 14, 30] as const;
export type RetentionDay = (typeof RETENTION_DAYS)[number];

/** A `report_active` row's figures. */
export interface ActiveFigures {
  /** Distinct users with any event on the day. */
  readonly dau: number;
  /** Distinct users active in the 7 days ending on the day. */
  readonly wau: number;
  /** Distinct users active in the 30 days ending on the day. */
  readonly mau: number;
  /** Users whose `register` falls on the day. */
  readonly newUsers: number;
}

/** The days an active row of `day` reads: its MAU window, the 30 days ending on it. */
export function activeDays(day: string): string[] {
  return daysEnding(day, 30);
}

/**
 * A `report_active` row; with `segment`, the same figures of the users in
 * the segment (store.ts `segmentCount`: seen on one of its servers and/or
 * with its channel, over the day or the window).
 */
export async function activeFigures(store: ActivityStore, game: number, day: string, segment?: SegmentFilter): Promise<ActiveFigures> {
  if (segment) {
    const [dau, newUsers, wau, mau] = await Promise.all([
      store.segmentCount(game, 'active', [day], segment),
      store.segmentCount(game, 'new', [day], segment),
      store.segmentCount(game, 'active', daysEnding(day, 7), segment),
      store.segmentCount(game, 'active', daysEnding(day, 30), segment),
    ]);
    return { dau, wau, mau, newUsers };
  }
  const [dau, newUsers, wau, mau] = await Promise.all([
    store.count(game, 'active', day),
    store.count(game, 'new', day),
    store.unionCount(game, 'active', daysEnding(day, 7)),
    store.unionCount(game, 'active', daysEnding(day, 30)),
  ]);
  return { dau, wau, mau, newUsers };
}

/**
 * One cohort's cell filled by computing a day: the cohort's size and, for
 * cohorts before the day, how many of them were active on the day.
 */
export interface CohortCell {
  /** The cohort day, `YYYYMMDD`. */
  readonly cohort: string;
  readonly newUsers: number;
  /** Which `dN` column `retained` fills; absent for the day's own cohort. */
  readonly n?: RetentionDay;
  readonly retained?: number;
}

/** The cohort days computing `day` writes: the day itself, then day − N for each retention day. */
export function cohortDays(day: string): string[] {
  return [day, ...RETENTION_DAYS.map((n) => addDays(day, -n))];
}

/**
 * Computing `day` fills `dN` of cohort `day − N` = |new(day − N) ∩ active(day)|,
 * and the size of every cohort it touches, so a row never carries a `dN`
 * without the `new_users` it is a share of.
 */
export async function retentionCells(store: ActivityStore, game: number, day: string): Promise<CohortCell[]> {
  // One query per cohort: its size and its users active on the day (on bitmaps, BITCOUNTs over the cohort's runs of indexes).
  const earlier = RETENTION_DAYS.map(async (n): Promise<CohortCell> => {
    const cohort = addDays(day, -n);
    const { newUsers, retained } = await store.retention(game, cohort, [day]);
    return { cohort, newUsers, n, retained: retained[0]! };
  });
  const [own, cells] = await Promise.all([store.count(game, 'new', day), Promise.all(earlier)]);
  return [{ cohort: day, newUsers: own }, ...cells];
}

/** A `report_online` row's figures. */
export interface OnlineFigures {
  /** Peak concurrent users: the largest bucket. */
  readonly pcu: number;
  /** Mean over the buckets counted (empty ones as 0), exact to 4 decimals as text. */
  readonly acu: string;
  /** How many buckets were counted: the whole day's (288 at 5 minutes), or those elapsed so far today. */
  readonly buckets: number;
}

/**
 * Concurrent users of `day` in the game's `zone`; with `upTo`, only the first
 * `upTo` buckets (today's so far, so the live average is not diluted by the
 * hours still to come).
 */
export async function onlineFigures(store: ActivityStore, game: number, day: string, zone: string, upTo?: number): Promise<OnlineFigures> {
  const all = await store.onlineCounts(game, day, zone);
  const counts = upTo === undefined ? all : all.slice(0, Math.max(1, Math.min(upTo, all.length)));
  const sum = counts.reduce((a, b) => a + b, 0);
  return { pcu: Math.max(0, ...counts), acu: divide(BigInt(sum), BigInt(counts.length), 4)!, buckets: counts.length };
}

/** A `report_pay` row's figures; decimals as exact text, `null` where the divisor is 0. */
export interface PayFigures {
  readonly payers: number;
  /** Sum of the day's distinct orders. */
  readonly revenue: string;
  /** payers / dau, 6 decimals. */
  readonly payRate: string | null;
  /** revenue / dau, 4 decimals. */
  readonly arpu: string | null;
  /** revenue / payers, 4 decimals. */
  readonly arppu: string | null;
}

/** The scale of {@link DayRevenue.units}: 1/10,000 (data/events.ts `AMOUNT_SCALE`). */
const UNITS_PER_AMOUNT = 10_000n;

/**
 * A `report_pay` row; with `segment`, the segment's payers and active users
 * and the revenue of its orders (each order by its own server and channel).
 */
export async function payFigures(store: ActivityStore, game: number, day: string, segment?: SegmentFilter): Promise<PayFigures> {
  const [payers, dau, revenue] = segment
    ? await Promise.all([store.segmentCount(game, 'payers', [day], segment), store.segmentCount(game, 'active', [day], segment), store.segmentRevenue(game, day, segment)])
    : await Promise.all([store.count(game, 'payers', day), store.count(game, 'active', day), store.revenue(game, day)]);
  const units = BigInt(revenue.units);
  return {
    payers,
    revenue: divide(units, UNITS_PER_AMOUNT, 4)!,
    payRate: divide(BigInt(payers), BigInt(dau), 6),
    arpu: divide(units, BigInt(dau) * UNITS_PER_AMOUNT, 4),
    arppu: divide(units, BigInt(payers) * UNITS_PER_AMOUNT, 4),
  };
}

/**
 * `numerator / denominator` rounded half up to `decimals` places, as decimal
 * text (what a DECIMAL column stores exactly); `null` for a zero divisor.
 * Integer arithmetic: a float would round 0.00005 the wrong way now and then.
 */
export function divide(numerator: bigint, denominator: bigint, decimals: number): string | null {
  if (denominator === 0n) return null;
  const scale = 10n ** BigInt(decimals);
  const scaled = (2n * numerator * scale + denominator) / (2n * denominator);
  const whole = scaled / scale;
  const fraction = (scaled % scale).toString().padStart(decimals, '0');
  return decimals === 0 ? whole.toString() : `${whole}.${fraction}`;
}

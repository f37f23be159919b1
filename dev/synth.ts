/**
 * A synthetic game studio: deterministic player events for demos, tests and
 * anyone who wants realistic input (`gflow demo --out events.jsonl`).
 *
 * From a seed, N games of different sizes (each a third of the one before)
 * over D days: a base of veteran players, daily registrations (busier at
 * weekends), retention that decays as a power law of days since
 * registration (about 40% D1, 16% D7, 7% D30, each player more or less
 * engaged), one to three sessions a day with a login and an `online`
 * heartbeat every 5 minutes, and a few payers with distinct order ids.
 *
 * Every random draw is a hash of (seed, game, user, day): no state carries
 * from one player or day to the next, so events stream out one player-day
 * at a time in bounded memory, and the same options always give the same
 * events, in the same order.
 */
import { usageError } from '../core/errors';
import { addDays, assertDayKey, dayBounds, dayKeyOf, isoWeekday } from '../core/day';
import { describeValue } from '../store/identifiers';

/** One event, in the ingestion format (`gflow ingest`). */
export interface SynthEvent {
  readonly game: number;
  readonly user: string;
  readonly type: 'register' | 'login' | 'online' | 'pay';
  /** Epoch seconds. */
  readonly ts: number;
  readonly server: number;
  readonly channel?: string;
  /** `pay` only: the order id and the amount as decimal text. */
  readonly id?: string;
  readonly amount?: string;
}

export interface SynthOptions {
  /** @defaultValue 3 */
  readonly games?: number;
  /** @defaultValue 14 */
  readonly days?: number;
  /** Players of the biggest game (veterans plus registrations in the window). @defaultValue 3000 */
  readonly users?: number;
  /** Any text or number; the same seed gives the same studio. @defaultValue 1 */
  readonly seed?: string | number;
  /** The first day, `YYYYMMDD` in `zone`. */
  readonly firstDay: string;
  /** @defaultValue `'UTC'` */
  readonly zone?: string;
  /** Id of the first game; the others follow. @defaultValue 1 */
  readonly firstGameId?: number;
}

/** A generated game. */
export interface SynthGame {
  readonly id: number;
  readonly name: string;
  readonly users: number;
}

const NAMES = ['Dragon Saga', 'Puzzle Pop', 'Kart Rush', 'Star Farm', 'Pixel Tactics', 'Ocean Tycoon', 'Mecha Arena', 'Word Quest'];
const CHANNELS = ['appstore', 'googleplay', 'web', 'partner'];
const PRICES = ['0.99', '4.99', '9.99', '19.99', '49.99', '99.99'];
const PRICE_WEIGHTS = [40, 28, 16, 9, 5, 2];
/** Share of a game's players who were already playing before the first day. */
const VETERAN_SHARE = 0.4;
const HEARTBEAT_SECONDS = 300;
const LIMITS = { games: [1, 100], days: [1, 400], users: [1, 50_000_000] } as const;

interface Resolved {
  readonly games: number;
  readonly days: number;
  readonly users: number;
  readonly seed: number;
  readonly firstDay: string;
  readonly zone: string;
  readonly firstGameId: number;
}

/** The games `options` generate, biggest first. */
export function synthGames(options: SynthOptions): SynthGame[] {
  const o = resolve(options);
  return Array.from({ length: o.games }, (_, i) => ({
    id: o.firstGameId + i,
    name: NAMES[i % NAMES.length]! + (i >= NAMES.length ? ` ${Math.floor(i / NAMES.length) + 1}` : ''),
    users: Math.max(1, Math.round(o.users / 3 ** i)),
  }));
}

/** The days generated, `YYYYMMDD`, oldest first. */
export function synthDays(options: SynthOptions): string[] {
  const o = resolve(options);
  return Array.from({ length: o.days }, (_, i) => addDays(o.firstDay, i));
}

/** The first day of a window of `days` days that ends yesterday in `zone`: the last days a rerun can compute. */
export function windowEndingYesterday(days: number, zone: string, now = Date.now()): string {
  return addDays(dayKeyOf(now, zone), -days);
}

/** The studio's events, day by day, game by game, player by player. */
export function* synthEvents(options: SynthOptions): Generator<SynthEvent> {
  const o = resolve(options);
  const games = synthGames(o);
  for (let d = 0; d < o.days; d++) {
    const day = addDays(o.firstDay, d);
    const bounds = dayBounds(day, o.zone);
    const start = Math.floor(bounds.start / 1000);
    for (const game of games) {
      const plan = registrations(o, game);
      const known = plan.veterans + plan.cumulative[d + 1]!;
      for (let u = 0; u < known; u++) {
        const registered = u < plan.veterans ? -1 : plan.dayOf(u);
        yield* playerDay(o, game.id, u, d, registered, start, bounds.seconds);
      }
    }
  }
}

/** The events as JSON lines, joined into chunks of about 64 KB (for a file or `Readable.from`). */
export function* synthJsonChunks(options: SynthOptions): Generator<string> {
  let chunk = '';
  for (const event of synthEvents(options)) {
    chunk += JSON.stringify(event) + '\n';
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

interface Registrations {
  readonly veterans: number;
  /** cumulative[d]: players registered in the window before day d. */
  readonly cumulative: readonly number[];
  /** The window day a non-veteran player registered on. */
  dayOf(user: number): number;
}

/** Daily registrations: about equal, a quarter more at weekends, ±20% noise; rounded so they sum exactly. */
function registrations(o: Resolved, game: SynthGame): Registrations {
  const veterans = Math.round(game.users * VETERAN_SHARE);
  const fresh = game.users - veterans;
  const weights = Array.from({ length: o.days }, (_, d) => {
    return (isoWeekday(addDays(o.firstDay, d)) >= 6 ? 1.25 : 1) * (0.8 + 0.4 * unit(o.seed, game.id, 0x5e9, d));
  });
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = [0];
  let running = 0;
  for (const w of weights) cumulative.push(Math.round(((running += w) / total) * fresh));
  return {
    veterans,
    cumulative,
    dayOf(user) {
      const n = user - veterans;
      let d = 0;
      while (cumulative[d + 1]! <= n) d++;
      return d;
    },
  };
}

/** One player's events on window day `d` (none if they do not play that day). */
function* playerDay(o: Resolved, game: number, u: number, d: number, registered: number, dayStart: number, daySeconds: number): Generator<SynthEvent> {
  const engagement = 0.25 + 1.5 * unit(o.seed, game, u, 0xe11);
  const rand = prng(hash(o.seed, game, u, d + 1));
  const isNew = registered === d;
  const since = d - registered;
  const chance = registered < 0 ? 0.3 * engagement : isNew ? 1 : 0.42 * engagement * since ** -0.5;
  if (!isNew && rand() >= Math.min(0.95, chance)) return;

  const user = `g${game}u${u}`;
  const server = 1 + (hash(o.seed, game, u, 0x5e7) % 4);
  const sessions = 1 + (rand() < 0.35 ? 1 : 0) + (rand() < 0.1 ? 1 : 0);
  const payAt = rand() < 0.03 * engagement * engagement ? Math.floor(rand() * sessions) : -1;
  for (let s = 0; s < sessions; s++) {
    const duration = 300 + Math.floor(rand() ** 2 * 5100);
    // Half the sessions anywhere in the day, half around 20:00: online curves have an evening peak.
    const centre = rand() < 0.5 ? rand() * daySeconds : (20 + 3 * (rand() + rand() - 1)) * 3600;
    const begin = Math.min(daySeconds - 60, Math.max(0, Math.floor(centre)));
    const ts = dayStart + begin;
    if (isNew && s === 0) yield { game, user, type: 'register', ts, server, channel: CHANNELS[hash(o.seed, game, u, 0xc4) % CHANNELS.length]! };
    else yield { game, user, type: 'login', ts, server };
    for (let t = begin; t < Math.min(begin + duration, daySeconds); t += HEARTBEAT_SECONDS) yield { game, user, type: 'online', ts: dayStart + t, server };
    if (s === payAt) {
      yield { game, user, type: 'pay', ts: ts + 30, server, id: `o${game}-${d}-${u}`, amount: pick(PRICES, PRICE_WEIGHTS, rand()) };
    }
  }
}

function pick(values: readonly string[], weights: readonly number[], r: number): string {
  let x = r * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < values.length; i++) if ((x -= weights[i]!) < 0) return values[i]!;
  return values[values.length - 1]!;
}

function resolve(options: SynthOptions): Resolved {
  const whole = (name: keyof typeof LIMITS, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    const [min, max] = LIMITS[name];
    if (!Number.isInteger(v) || v < min || v > max) throw usageError(`synthetic ${name} ${describeValue(v)} is not valid: use a whole number from ${min} to ${max}`);
    return v;
  };
  assertDayKey(options.firstDay, 'first day');
  const firstGameId = options.firstGameId ?? 1;
  if (!Number.isInteger(firstGameId) || firstGameId < 1) throw usageError(`first game id ${describeValue(firstGameId)} is not valid: use a whole number ≥ 1`);
  return {
    games: whole('games', options.games, 3),
    days: whole('days', options.days, 14),
    users: whole('users', options.users, 3000),
    seed: seedOf(options.seed ?? 1),
    firstDay: options.firstDay,
    zone: options.zone ?? 'UTC',
    firstGameId,
  };
}

/** Any seed as 32 bits (FNV-1a over its text). */
function seedOf(seed: string | number): number {
  let h = 0x811c9dc5;
  for (const ch of String(seed)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** murmur3's finalizer: every input bit moves every output bit. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function hash(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = mix(h ^ mix(p >>> 0) ^ Math.floor(p / 2 ** 32));
  return h;
}

/** A number in [0, 1) fixed by its inputs. */
function unit(...parts: number[]): number {
  return hash(...parts) / 2 ** 32;
}

/** mulberry32: a small, fast PRNG for the draws within one player-day. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

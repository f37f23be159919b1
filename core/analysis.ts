/**
 * Analyses: questions a front end asks on demand ("D1–D30 retention of game
 * 7 for players who registered on channel 12 between 1 and 15 November"),
 * declared by a job next to its scheduled tasks — the original gflow's
 * transaction and pre-analysis flows. An analysis has typed parameters,
 * checked before anything runs, and a `compute` that returns JSON.
 *
 * Pure code (no I/O): parameters are parsed here the same way for the CLI
 * (`--param game=7`), HTTP and the Redis request stream.
 *
 * @example
 * ```ts
 * import { defineAnalysis, defineJob, param } from 'gflow';
 *
 * const payers = defineAnalysis({
 *   name: 'payers',
 *   params: { game: param.game(), from: param.day(), to: param.day() },
 *   days: { from: 'from', to: 'to' },
 *   async compute({ game, from, to }, ctx) {
 *     const store = await activityStore(ctx, await ctx.game(game));
 *     return { payers: await store.unionCount(game, 'payers', dayRange(from, to)) };
 *   },
 * });
 * export default defineJob({ name: 'shop', registerTask: [], analyses: [payers] });
 * ```
 */
import { addDays, dayRange, isDayKey } from './day';
import { usageError, UserError } from './errors';
import { shown } from './parse';
import { isGameId, MAX_GAME_ID } from './game';
import type { CodeContext, GameItem, Redis, TaskLogger } from './context';
import type { Period } from './period';
import type { Names } from './names';
import type { Pool } from 'mysql2/promise';

/** Analysis names: one identifier, as task names. */
export const ANALYSIS_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,47}$/;

/** Parameters as a front end sends them, before parsing. */
export type RawParams = Readonly<Record<string, unknown>>;

/** A server-id (or any whole-number) range, both ends included. */
export interface WholeRange {
  readonly from: number;
  readonly to: number;
}

/**
 * A refused parameter: the field it names, for an HTTP 400's body and the
 * stream's error reply; the CLI prints the message (exit 2).
 */
export class ParamError extends UserError {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message, { exitCode: 2 });
    this.name = 'ParamError';
    this.field = field;
  }
}

/** One parameter's type: how its value is read, and whether it may be left out. */
export interface ParamSpec<T, Optional extends boolean = boolean> {
  readonly kind: 'game' | 'day' | 'range' | 'text' | 'whole';
  readonly optional: Optional;
  /** Shown by `gflow jobs` and in errors. */
  readonly expected: string;
  /** Reads one value; throws a message (without the field name) when it is not acceptable. */
  readonly read: (value: unknown) => T;
}

type Spec<T> = ParamSpec<T, false> & { optional: false; orNot(): ParamSpec<T, true> };

function spec<T>(kind: ParamSpec<T>['kind'], expected: string, read: (value: unknown) => T): Spec<T> {
  const required = { kind, optional: false as const, expected, read };
  return { ...required, orNot: () => ({ ...required, optional: true as const }) };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined);

function readWhole(value: unknown, min: number, max: number): number | undefined {
  const t = text(value);
  if (t === undefined || !/^\d{1,16}$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

class Refused extends Error {}

/** An analysis's `timeoutSeconds` when it declares none. */
export const DEFAULT_ANALYSIS_TIMEOUT_SECONDS = 300;

/**
 * The parameter types an analysis declares (`params: { game: param.game(), … }`);
 * `.orNot()` makes one optional.
 */
export const param = {
  /** A game id: a whole number from 1. */
  game: (): Spec<number> =>
    spec('game', `a game id (a whole number from 1 to ${MAX_GAME_ID})`, (v) => {
      const n = readWhole(v, 1, MAX_GAME_ID);
      if (n === undefined || !isGameId(n)) throw new Refused();
      return n;
    }),
  /** A day as `YYYYMMDD`, a real calendar day. */
  day: (): Spec<string> =>
    spec('day', 'a day as YYYYMMDD, e.g. 20261101', (v) => {
      const t = text(v);
      if (t === undefined || !isDayKey(t)) throw new Refused();
      return t;
    }),
  /** A whole-number range `from,to` (both included; one number is a range of one), or `{ "from": 3, "to": 5 }` in JSON. */
  range: ({ min = 0, max = 2 ** 31 - 1 }: { readonly min?: number; readonly max?: number } = {}): Spec<WholeRange> =>
    spec('range', `a range from,to of whole numbers from ${min} to ${max} with from ≤ to, e.g. 3,5`, (v) => {
      const pair =
        typeof v === 'object' && v !== null
          ? [(v as { from?: unknown }).from, (v as { to?: unknown }).to]
          : (text(v) ?? '').split(',').map((s) => s.trim());
      const [a, b = a] = pair;
      const from = readWhole(a, min, max);
      const to = readWhole(b, min, max);
      if (pair.length > 2 || from === undefined || to === undefined || from > to) throw new Refused();
      return { from, to };
    }),
  /** Text of 1 to `maxLength` characters, trimmed. */
  text: ({ maxLength = 64 }: { readonly maxLength?: number } = {}): Spec<string> =>
    spec('text', `text of 1 to ${maxLength} characters`, (v) => {
      const t = text(v);
      if (t === undefined || t.length === 0 || t.length > maxLength) throw new Refused();
      return t;
    }),
  /** A whole number within `[min, max]`. */
  whole: ({ min = 0, max = Number.MAX_SAFE_INTEGER }: { readonly min?: number; readonly max?: number } = {}): Spec<number> =>
    spec('whole', `a whole number from ${min} to ${max}`, (v) => {
      const n = readWhole(v, min, max);
      if (n === undefined) throw new Refused();
      return n;
    }),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ParamSpecs = Readonly<Record<string, ParamSpec<any>>>;

/** The parsed parameters of specs `S`: optional ones may be `undefined`. */
export type ParamsOf<S extends ParamSpecs> = {
  readonly [K in keyof S as S[K] extends ParamSpec<unknown, true> ? never : K]: S[K] extends ParamSpec<infer T> ? T : never;
} & {
  readonly [K in keyof S as S[K] extends ParamSpec<unknown, true> ? K : never]?: S[K] extends ParamSpec<infer T> ? T : never;
};

/** What `compute` receives besides its parameters. */
export interface AnalysisContext extends CodeContext {
  /** The analysis's name in its job (`retention` of `report.retention`). */
  readonly analysis: string;
  /** Whether the answer covers a day that has not ended yet (it is then not cached past that day's end). */
  readonly provisional: boolean;
}

type Awaitable<T> = T | Promise<T>;

/**
 * An analysis: a question with typed parameters whose answer is computed
 * on demand (`gflow ask`, `POST /api/analyses`, the Redis request stream),
 * cached in Redis, and optionally computed ahead on a schedule.
 */
export interface AnalysisDefinition<S extends ParamSpecs = ParamSpecs, R = unknown> {
  /** Unique in its job; asked for as `<job>.<name>`, e.g. `report.retention`. */
  readonly name: string;
  readonly description?: string;
  /** The parameters, by name: `{ game: param.game(), from: param.day(), to: param.day(), server: param.range().orNot() }`. */
  readonly params: S;
  /**
   * The two day parameters that bound what the answer covers: gflow refuses
   * `from` after `to` and spans over `maxDays` (default: the runtime setting
   * `analyses.maxDays`), and marks an answer whose `to` has not ended as provisional.
   */
  readonly days?: { readonly from: string; readonly to: string; readonly maxDays?: number };
  /**
   * How long an answer is served from the cache, in seconds.
   * @defaultValue the runtime setting `analyses.cacheSeconds` (3600)
   */
  readonly cacheSeconds?: number;
  /**
   * Longest time one computation may take, in seconds (each attempt: a
   * failed one is tried again, twice).
   * @defaultValue {@link DEFAULT_ANALYSIS_TIMEOUT_SECONDS} (300)
   */
  readonly timeoutSeconds?: number;
  /** The answer, as JSON. A throw is the request's error answer; user errors are not retried. */
  // A method, not a function property: an analysis of any parameters is then an `Analysis` (its parameters are checked bivariantly).
  compute(params: ParamsOf<S>, ctx: AnalysisContext): Awaitable<R>;
  /**
   * Pre-analysis: compute these parameter sets on a schedule, so the common
   * questions are answered from the cache. It becomes the job's task
   * `<name>_precompute`, started and stopped with the job.
   * @example `precompute: { atExecute: 'd6H0', params: async (ctx) => (await ctx.assignTask()).map(({ game }) => ({ game, from: addDays(ctx.period.key, -29), to: ctx.period.key })) }`
   */
  readonly precompute?: {
    /** When, in the grammar of a task's `atExecute` (`d6H0`: daily at 06:00, for the day that just ended). */
    readonly atExecute: string;
    /** The parameter sets, as they would be sent (one item each; a set with a `game` runs as that game's item). */
    readonly params: (ctx: PrecomputeContext) => Awaitable<readonly RawParams[]>;
  };
}

/** What a pre-analysis's `params` receives: its task's period and games (a task's `mapTask` context). */
export interface PrecomputeContext {
  /** The period that just ended (the day, for `d6H0`). */
  readonly period: Period;
  /** One item per enabled game. */
  assignTask(): Promise<GameItem[]>;
  readonly redis: Redis;
  readonly mysql: Pool;
  readonly names: Names;
  readonly log: TaskLogger;
}

/** An analysis as loaded: its definition, frozen. */
export type Analysis = AnalysisDefinition<ParamSpecs, unknown>;

/** Parsed, normalised parameters: what the cache key and the workflow carry. */
export type NormalParams = Readonly<Record<string, string | number | WholeRange>>;

/** Define an analysis; its parameter declarations are checked when the job file loads. */
// `days` names parameters of `S` here, where the analysis is written; the interface takes any name, so that an
// analysis of any parameters is an `Analysis` (a `keyof S` there would make `S` invariant).
export function defineAnalysis<S extends ParamSpecs, R>(
  definition: AnalysisDefinition<S, R> & { readonly days?: { readonly from: keyof S & string; readonly to: keyof S & string } },
): AnalysisDefinition<S, R> {
  const what = `analysis ${JSON.stringify(definition?.name)}`;
  if (typeof definition.name !== 'string' || !ANALYSIS_NAME.test(definition.name)) {
    throw usageError(`${what}: the name is not valid: use letters, digits, _ or -, starting with a letter`);
  }
  if (typeof definition.compute !== 'function') throw usageError(`${what}: compute(params, ctx) is missing`);
  if (typeof definition.params !== 'object' || definition.params === null) throw usageError(`${what}: params must map names to param.*() types`);
  for (const [name, p] of Object.entries(definition.params)) {
    if (!ANALYSIS_NAME.test(name)) throw usageError(`${what}: parameter name ${JSON.stringify(name)} is not valid`);
    if (typeof p?.read !== 'function') throw usageError(`${what}: parameter ${name} must be declared with param.game(), param.day(), param.range(), param.text() or param.whole()`);
  }
  if (definition.days) {
    for (const end of [definition.days.from, definition.days.to]) {
      if (definition.params[end]?.kind !== 'day') throw usageError(`${what}: days names ${JSON.stringify(end)}, which is not a param.day() parameter`);
    }
    checkWhole(what, 'days.maxDays', definition.days.maxDays);
  }
  checkWhole(what, 'cacheSeconds', definition.cacheSeconds);
  checkWhole(what, 'timeoutSeconds', definition.timeoutSeconds);
  if (definition.precompute !== undefined && (typeof definition.precompute.atExecute !== 'string' || typeof definition.precompute.params !== 'function')) {
    throw usageError(`${what}: precompute needs atExecute (e.g. 'd6H0') and params(ctx)`);
  }
  return Object.freeze({ ...definition });
}

function checkWhole(what: string, field: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw usageError(`${what}: ${field} must be a positive whole number, got ${String(value)}`);
}

/**
 * Check and normalise a request's parameters against the analysis: every
 * unknown or missing name, ill-typed value, reversed or too long day range
 * is refused with a {@link ParamError} naming the field.
 * @param maxDays the installation's cap, for analyses that set none.
 */
export function parseParams(analysis: Analysis, raw: unknown, maxDays: number): NormalParams {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ParamError('params', 'params must be an object of name → value');
  const given = raw as Record<string, unknown>;
  const specs = analysis.params;
  for (const name of Object.keys(given)) {
    if (!(name in specs)) throw new ParamError(name, `unknown parameter ${JSON.stringify(name)}; ${analysis.name} takes ${describeParams(analysis)}`);
  }
  const out: Record<string, string | number | WholeRange> = {};
  for (const [name, p] of Object.entries(specs)) {
    const value = given[name];
    if (value === undefined || value === null || value === '') {
      if (!p.optional) throw new ParamError(name, `parameter ${name} is missing: expected ${p.expected}`);
      continue;
    }
    try {
      out[name] = p.read(value);
    } catch {
      throw new ParamError(name, `parameter ${name} ${shown(value)}: expected ${p.expected}`);
    }
  }
  if (analysis.days) {
    const from = out[analysis.days.from] as string;
    const to = out[analysis.days.to] as string;
    if (from > to) throw new ParamError(analysis.days.to, `parameter ${analysis.days.to} ${to} is before ${analysis.days.from} ${from}`);
    const cap = analysis.days.maxDays ?? maxDays;
    const span = dayRange(from, to).length;
    if (span > cap) throw new ParamError(analysis.days.to, `${analysis.days.from}..${analysis.days.to} covers ${span} days; at most ${cap} (${from}..${addDays(from, cap - 1)})`);
  }
  return Object.freeze(out);
}

/** `game (a game id …), from (a day …), server? (…)`: what an analysis takes, for messages and `gflow jobs`. */
export function describeParams(analysis: Analysis): string {
  return Object.entries(analysis.params)
    .map(([name, p]) => `${name}${p.optional ? '?' : ''} (${p.kind})`)
    .join(', ');
}

/** The same parameters in the same order whatever order they came in: what the cache key is made of. */
export function canonicalParams(params: NormalParams): string {
  const sorted = Object.keys(params)
    .sort()
    .map((k) => [k, params[k]]);
  return JSON.stringify(Object.fromEntries(sorted));
}

/** The task that pre-computes analysis `name`. */
export function precomputeTaskName(analysis: string): string {
  return `${analysis}_precompute`;
}

/** `report.retention` → job `report` (or `layer.job`), analysis `retention`; the last part is the analysis. */
export function splitAnalysisName(spec: string): { job: string; analysis: string } | undefined {
  const dot = typeof spec === 'string' ? spec.lastIndexOf('.') : -1;
  if (dot <= 0) return undefined;
  return { job: spec.slice(0, dot), analysis: spec.slice(dot + 1) };
}

/** An analysis's answer, as every path returns it (and the cache and the `<prefix>:analyses` channel hold it). */
export interface AnalysisAnswer<R = unknown> {
  /** The request's id: the Temporal workflow that computed it (`gflow ask`, `GET /api/analyses/<id>`). */
  readonly id: string;
  /** `<job>.<analysis>`. */
  readonly analysis: string;
  readonly params: NormalParams;
  readonly result: R;
  /** The answer covers a day not yet ended: it will change, and is cached at most until that day ends. */
  readonly provisional: boolean;
  /** When it was computed (ISO 8601). */
  readonly computedAt: string;
  /** Served from the cache rather than computed for this request. */
  readonly cached: boolean;
}

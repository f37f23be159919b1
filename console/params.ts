/** Reading the API's query strings and bodies, by the rules the CLI applies to the same values. */
import { GAME_ID_FORM, MAX_GAME_ID } from '../core/game';
import { parseList, parseWholeNumber } from '../core/parse';
import type { StartedBy } from '../core/outcome';
import { startedBy } from '../infra/who';
import { about, ApiError } from './errors';

/** `games`: ids as a comma-separated text (query) or an array (body); deduplicated, sorted. */
export function parseGames(value: unknown, field = 'games'): number[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : Array.isArray(value) ? value : undefined;
  if (list === undefined) throw new ApiError(400, `${field}: expected a list of game ids`, field);
  const ids = list.map((g) => {
    try {
      return parseWholeNumber(typeof g === 'number' ? g : String(g), field, { min: 1, max: MAX_GAME_ID, expected: `a game id (${GAME_ID_FORM})` });
    } catch (err) {
      throw new ApiError(400, (err as Error).message, field);
    }
  });
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** `tasks`: names as a comma-separated text or an array; empty: all. */
export function parseTaskNames(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  if (typeof value === 'string') {
    try {
      return parseList(value, 'tasks');
    } catch (err) {
      throw new ApiError(400, (err as Error).message, 'tasks');
    }
  }
  throw new ApiError(400, 'tasks: expected a list of task names', 'tasks');
}

/** Who starts something from the console: the console's OS user and host, marked as the console, with the reason given. */
export async function consoleUser(reason: unknown): Promise<StartedBy> {
  if (reason !== undefined && typeof reason !== 'string') throw new ApiError(400, 'reason: expected text', 'reason');
  const by = await about('reason', () => startedBy(reason === '' ? undefined : (reason as string | undefined)));
  return { ...by, user: `${by.user} via console` };
}

/** `parallel`: periods recomputed at once, as `--parallel` (default 4). */
export function parseParallel(value: unknown): number {
  if (value === undefined) return 4;
  try {
    return parseWholeNumber(value as number | string, 'parallel', { min: 1, max: 64 });
  } catch (err) {
    throw new ApiError(400, (err as Error).message, 'parallel');
  }
}

/** `onCheckError`: keep or rollback, as `--on-check-error`. */
export function parseOnCheckError(value: unknown): 'keep' | 'rollback' | undefined {
  if (value === undefined || value === 'keep' || value === 'rollback') return value;
  throw new ApiError(400, `onCheckError ${JSON.stringify(value)}: expected keep or rollback`, 'onCheckError');
}

/** A day key `YYYYMMDD`. */
export function parseDay(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^\d{8}$/.test(value)) throw new ApiError(400, `${field} ${JSON.stringify(value ?? '')}: expected a day as YYYYMMDD`, field);
  const d = new Date(`${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10).replaceAll('-', '') !== value) throw new ApiError(400, `${field} ${value} is not a date`, field);
  return value;
}

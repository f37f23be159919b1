/**
 * Parsing what users type (command-line options, settings): one parser per
 * kind of value, so every whole number and every list is read, and refused,
 * the same way — one line naming what was given, the value, and what is
 * accepted: `--days "0": expected a whole number from 1 to 400`.
 * Pure code: safe to import from workflows.
 */
import { usageError, type UserError } from './errors';

/** The bounds of a whole number; unset: 0 and `Number.MAX_SAFE_INTEGER`. */
export interface WholeNumberRange {
  readonly min?: number;
  readonly max?: number;
  /** What is accepted, for the message (e.g. `a game id (…), e.g. -g 3,7`); default: the range in words. */
  readonly expected?: string;
}

/** A value as a one-line message shows it: long text cut, control characters as `?`. */
export function shown(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value.length > 40 ? `${value.slice(0, 32)}…` : value)
      : typeof value === 'object' && value !== null
        ? (JSON.stringify(value) ?? String(value)).slice(0, 60)
        : String(value);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * The usage error for a value that is refused: `what "value": expected …`,
 * one line whatever the value holds (long values are cut, control characters
 * shown as `?`).
 * @param what names the value, e.g. `--parallel` or `config ingest.batchSize`.
 */
export function badValue(what: string, value: unknown, expected: string): UserError {
  return usageError(`${what} ${shown(value)}: expected ${expected}`);
}

/**
 * A whole number written in decimal digits (`"42"`; no sign, no exponent, no
 * spaces), or given as a number, within `[min, max]`.
 * @param what names the value in the message, e.g. `--parallel` or `config ingest.batchSize`.
 * @throws UserError (exit 2) naming `what`, the value and what is accepted.
 */
export function parseWholeNumber(value: string | number, what: string, { min = 0, max = Number.MAX_SAFE_INTEGER, expected }: WholeNumberRange = {}): number {
  const n = typeof value === 'number' ? value : /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw badValue(what, value, expected ?? `a whole number ${max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`}`);
  }
  return n;
}

/**
 * A number above 0 written in decimal digits, with an optional fraction
 * (`"30"`, `"0.5"`; no sign, no exponent), at most `max`: durations, sizes.
 * @throws UserError (exit 2) naming `what`, the value and what is accepted.
 */
export function parsePositiveNumber(value: string, what: string, { max = Number.MAX_SAFE_INTEGER }: { readonly max?: number } = {}): number {
  const n = /^\d{1,16}(\.\d{1,16})?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 && n <= max)) throw badValue(what, value, `a number above 0${max === Number.MAX_SAFE_INTEGER ? '' : ` and at most ${max}`}, e.g. 30 or 0.5`);
  return n;
}

/**
 * A comma-separated list (`"3,7"`), each element trimmed, then parsed by
 * `parseElement` (which names the element it refuses). An empty element —
 * `"3,,7"`, `"3,"`, `""` — is refused: it is a typo, never "all".
 * @throws UserError (exit 2) naming `what`, the value and what is accepted.
 */
export function parseList(value: string, what: string): string[];
export function parseList<T>(value: string, what: string, parseElement: (element: string, what: string) => T): T[];
export function parseList<T>(value: string, what: string, parseElement?: (element: string, what: string) => T): Array<T | string> {
  const elements = value.split(',').map((e) => e.trim());
  if (elements.includes('')) throw badValue(what, value, 'a comma-separated list with no empty element');
  return parseElement ? elements.map((e) => parseElement(e, what)) : elements;
}

const AGE_UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * An age such as `90d`, `12h`, `30m` or `2w`: a whole number and one unit
 * (m minutes, h hours, d days, w weeks), as milliseconds.
 * @throws UserError (exit 2) naming `what`, the value and the accepted forms.
 */
export function parseAge(value: string, what: string): number {
  const match = /^(\d{1,6})([mhdw])$/.exec(value);
  const n = match ? Number(match[1]) : 0;
  if (!match || n < 1) throw badValue(what, value, 'an age such as 90d, 12h, 30m or 2w (a whole number above 0 and one of m, h, d, w)');
  return n * AGE_UNITS[match[2]!]!;
}

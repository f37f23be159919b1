/**
 * The gate every identifier passes before it reaches SQL text or a Redis key
 * name. Values never go into SQL text (they are placeholders); what does go
 * in — schema, table and column names — comes from declarations in code, is
 * checked against a narrow alphabet and then escaped. Game ids are integers.
 * A hostile value (`1;DROP TABLE x`, `../`, a 10 KB string) is refused with a
 * message that quotes a short, printable excerpt of it.
 */
import { escapeId } from 'mysql2';
import { usageError } from '../core/errors';

/** Largest game id: fits a signed 32-bit INT column everywhere. */
export const MAX_GAME_ID = 2_147_483_647;

/** SQL names we declare: letters, digits and `_`, starting with a letter or `_`, at most 64 (MySQL's limit). */
export const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A name inside a Redis key (stream name, consumer group): no `:` so it cannot pose as another key's part. */
export const KEY_PART = /^[A-Za-z0-9_.-]{1,64}$/;

/** A day as it appears in keys and periods. */
export const DAY_KEY = /^\d{8}$/;

/**
 * A short, printable rendering of any value for an error message: a 10 KB
 * string must not flood the terminal, a control character must not move the cursor.
 */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  if (text.length <= 40) return text;
  const size = typeof value === 'string' ? `${value.length} chars` : `${text.length} chars`;
  return `${text.slice(0, 32)}… (${size})`;
}

/**
 * A game id from anything a user or an event may supply (a number, or a
 * string of digits from the command line), as a positive integer.
 * @throws UserError (exit 2) naming `where` and the accepted form.
 */
export function parseGameId(value: unknown, where = 'game id'): number {
  let id: number | undefined;
  if (typeof value === 'number') id = value;
  else if (typeof value === 'string' && /^[0-9]{1,10}$/.test(value)) id = Number(value);
  if (id === undefined || !Number.isSafeInteger(id) || id < 1 || id > MAX_GAME_ID) {
    throw usageError(`${where} ${describeValue(value)} is not valid: use a whole number from 1 to ${MAX_GAME_ID}`);
  }
  return id;
}

/** Whether `value` is a game id, without throwing (for validators that collect reasons). */
export function isGameId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_GAME_ID;
}

/**
 * Check a declared SQL name (schema, table, column).
 * @throws UserError (exit 2) for anything outside {@link SQL_NAME}.
 */
export function assertSqlName(value: unknown, what = 'SQL name'): asserts value is string {
  if (typeof value !== 'string' || !SQL_NAME.test(value)) {
    throw usageError(`${what} ${describeValue(value)} is not valid: use letters, digits and _, starting with a letter or _, at most 64 chars`);
  }
}

/**
 * An escaped, optionally schema-qualified SQL identifier: `` `gflow_meta`.`games` ``.
 * Each part is checked first, so escaping is a second fence, not the only one.
 */
export function sqlId(...parts: readonly string[]): string {
  if (parts.length === 0 || parts.length > 3) throw usageError('an SQL identifier has one to three parts');
  for (const part of parts) assertSqlName(part);
  return parts.map((part) => escapeId(part, true)).join('.');
}

/**
 * Check a name that becomes one part of a Redis key (a stream, a consumer group, a consumer).
 * @throws UserError (exit 2) for anything outside {@link KEY_PART} or made only of dots.
 */
export function assertKeyPart(value: unknown, what = 'name'): asserts value is string {
  if (typeof value !== 'string' || !KEY_PART.test(value) || /^\.+$/.test(value)) {
    throw usageError(`${what} ${describeValue(value)} is not valid: use 1 to 64 letters, digits, _, . or -`);
  }
}

/**
 * Check a day key `YYYYMMDD` names a real calendar day.
 * @throws UserError (exit 2) otherwise.
 */
export function assertDayKey(value: unknown, what = 'day'): asserts value is string {
  if (typeof value === 'string' && DAY_KEY.test(value)) {
    const y = Number(value.slice(0, 4));
    const m = Number(value.slice(4, 6));
    const d = Number(value.slice(6, 8));
    const date = new Date(Date.UTC(y, m - 1, d));
    if (y >= 1970 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d) return;
  }
  throw usageError(`${what} ${describeValue(value)} is not valid: use a calendar day as YYYYMMDD, e.g. 20261124`);
}

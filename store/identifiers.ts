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
import { GAME_ID_FORM, toGameId } from '../core/game';
import { isKeyPart } from '../core/names';

// What a game id is lives in core/game; re-exported for the store's readers.
export { isGameId, MAX_GAME_ID } from '../core/game';

/** SQL names we declare: letters, digits and `_`, starting with a letter or `_`, at most 64 (MySQL's limit). */
export const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

// What may be part of a Redis key is said with the other names, in core/names.
export { KEY_PART } from '../core/names';

// Day keys are core/day's: one date model.
export { assertDayKey, DAY_KEY } from '../core/day';

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
  const id = toGameId(value);
  if (id === undefined) throw usageError(`${where} ${describeValue(value)} is not valid: use ${GAME_ID_FORM}`);
  return id;
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
  if (!isKeyPart(value)) {
    throw usageError(`${what} ${describeValue(value)} is not valid: use 1 to 64 letters, digits, _, . or -`);
  }
}

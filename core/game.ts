/**
 * What a game id is, said once: a whole number from 1 to {@link MAX_GAME_ID}.
 * Pure code: safe to import from workflows.
 */

/** Largest game id: fits a signed 32-bit INT column everywhere. */
export const MAX_GAME_ID = 2_147_483_647;

/** The accepted form, for messages: "a whole number from 1 to 2147483647". */
export const GAME_ID_FORM = `a whole number from 1 to ${MAX_GAME_ID}`;

/** Whether `value` is a game id, without throwing (for validators that collect reasons). */
export function isGameId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_GAME_ID;
}

/**
 * A game id from the command line or an event, written as digits (`"42"`) or
 * as a number; `undefined` if it is not one.
 */
export function toGameId(value: unknown): number | undefined {
  if (typeof value === 'string') return /^[0-9]{1,10}$/.test(value) && isGameId(Number(value)) ? Number(value) : undefined;
  return isGameId(value) ? value : undefined;
}

/** The rerun filters `-g`, `-s`, `-c`, parsed and checked before anything starts. */
import { usageError } from '../../core/errors';
import { GAME_ID_FORM, MAX_GAME_ID } from '../../core/game';
import type { RunFilters } from '../../core/job';
import { badValue, parseList, parseWholeNumber } from '../../core/parse';

const CHANNEL = /^[A-Za-z0-9_.-]{1,64}$/;

export interface FilterOptions {
  games?: string[];
  servers?: string;
  channel?: string;
}

export function parseFilters(options: FilterOptions): RunFilters {
  const games = options.games?.map((g) => parseWholeNumber(g, '-g', { min: 1, max: MAX_GAME_ID, expected: `a game id (${GAME_ID_FORM}), e.g. -g 3,7` }));
  return {
    ...(games && { games: [...new Set(games)].sort((a, b) => a - b) }),
    ...(options.servers !== undefined && { servers: serverRange(options.servers) }),
    ...(options.channel !== undefined && { channel: channel(options.channel) }),
  };
}

/** Server ids fit a signed 32-bit INT column, as game ids do. */
const MAX_SERVER_ID = 2_147_483_647;

function serverRange(text: string): { from: number; to: number } {
  const expected = `a server id or from,to (whole numbers from 1 to ${MAX_SERVER_ID}), e.g. -s 100,199`;
  const ids = parseList(text, '-s');
  if (ids.length > 2) throw badValue('-s', text, expected);
  const [from, to] = [ids[0]!, ids[1] ?? ids[0]!].map((id) => parseWholeNumber(id, '-s', { min: 1, max: MAX_SERVER_ID, expected })) as [number, number];
  if (to < from) throw usageError(`-s ${text}: the end ${to} is before the start ${from}`);
  return { from, to };
}

function channel(value: string): string {
  if (!CHANNEL.test(value)) throw badValue('-c', value, 'a channel id (letters, digits, _ . -; at most 64)');
  return value;
}

/** The rerun filters `-g`, `-s`, `-c`, parsed and checked before anything starts. */
import { usageError } from '../../core/errors';
import type { RunFilters } from '../../core/job';

const CHANNEL = /^[A-Za-z0-9_.-]{1,64}$/;

export interface FilterOptions {
  games?: string[];
  servers?: string;
  channel?: string;
}

export function parseFilters(options: FilterOptions): RunFilters {
  const games = options.games?.map((g) => positiveInt(g, '-g', 'a game id (positive whole number), e.g. -g 3,7'));
  return {
    ...(games && { games: [...new Set(games)].sort((a, b) => a - b) }),
    ...(options.servers !== undefined && { servers: serverRange(options.servers) }),
    ...(options.channel !== undefined && { channel: channel(options.channel) }),
  };
}

function positiveInt(value: string, option: string, accepted: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > 2_147_483_647) {
    throw usageError(`${option} ${JSON.stringify(value)}: expected ${accepted}`);
  }
  return Number(value);
}

function serverRange(text: string): { from: number; to: number } {
  const accepted = 'a server id or from,to (whole numbers), e.g. -s 100,199';
  const parts = text.split(',');
  if (parts.length > 2) throw usageError(`-s ${JSON.stringify(text)}: expected ${accepted}`);
  const [from, to] = [positiveInt(parts[0]!, '-s', accepted), positiveInt(parts[1] ?? parts[0]!, '-s', accepted)];
  if (to < from) throw usageError(`-s ${text}: the end ${to} is before the start ${from}`);
  return { from, to };
}

function channel(value: string): string {
  if (!CHANNEL.test(value)) throw usageError(`-c ${JSON.stringify(value.slice(0, 80))}: expected a channel id (letters, digits, _ . -; at most 64)`);
  return value;
}

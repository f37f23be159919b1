/**
 * `ctx.game(id)`: one game's clients, zone and name, as job code sees them.
 * The registry row is read once per game and run (a run's items share it, for
 * at most a minute), so a run started after `gflow games update` sees the new
 * URL; clients come from the process's pools (`getRedis` / `getMysql`: one per
 * URL), so asking per item costs nothing.
 *
 * A game not in the registry resolves to the installation's defaults, as the
 * collector routes its events (`gameRouting`); such a lookup is not cached,
 * so a game registered a moment later is seen at once.
 */
import type { Pool } from 'mysql2/promise';
import type { Redis } from '../../infra/redis';
import type { GameContext } from '../../core/job';
import type { Names } from '../../core/names';
import { gameClients, getGame, type Game } from './registry';

/** How long a registry row is reused: a changed `tz` or URL is seen within this. */
export const GAME_CACHE_MS = 60_000;

interface Entry {
  readonly at: number;
  /** The run that read it: another run reads the registry afresh. */
  readonly run: string | undefined;
  readonly row: Promise<Game | undefined>;
}

/** Registry rows of one installation (one MySQL pool and prefix), cached. */
export class GameDirectory {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly mysql: Pool,
    private readonly names: Names,
    private readonly ttlMs = GAME_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Game `id`'s registry row, or `undefined`; concurrent asks share one query. */
  async row(id: number, run?: string): Promise<Game | undefined> {
    const cached = this.entries.get(id);
    if (cached && cached.run === run && this.now() - cached.at < this.ttlMs) return cached.row;
    const row = getGame(this.mysql, this.names, id);
    const entry = { at: this.now(), run, row };
    this.entries.set(id, entry);
    try {
      const found = await row;
      // Only found rows are kept: a miss (or an error) is asked again next time.
      if (found === undefined && this.entries.get(id) === entry) this.entries.delete(id);
      return found;
    } catch (err) {
      if (this.entries.get(id) === entry) this.entries.delete(id);
      throw err;
    }
  }

  /** What `ctx.game(id)` answers: the game's own clients and zone where the registry names them, else `defaults`. */
  async context(id: number, defaults: { readonly redis: Redis; readonly mysql: Pool; readonly zone: string }, run?: string): Promise<GameContext> {
    const game = await this.row(id, run);
    if (!game) return { id, name: `game ${id}`, registered: false, zone: defaults.zone, redis: defaults.redis, mysql: defaults.mysql };
    const { redis, mysql } = gameClients(game, defaults);
    return { id: game.id, name: game.name, registered: true, zone: game.tz ?? defaults.zone, redis, mysql };
  }
}

const directories = new WeakMap<Pool, Map<string, GameDirectory>>();

/**
 * The process's directory for the installation on `mysql` under `names`:
 * every task context of a process shares it.
 */
export function gameDirectory(mysql: Pool, names: Names): GameDirectory {
  let byPrefix = directories.get(mysql);
  if (!byPrefix) directories.set(mysql, (byPrefix = new Map()));
  let directory = byPrefix.get(names.prefix);
  if (!directory) byPrefix.set(names.prefix, (directory = new GameDirectory(mysql, names)));
  return directory;
}

/**
 * `ctx.game` for a task context: games resolved against the installation's
 * clients and configured zone.
 *
 * @example
 * ```ts
 * const ctx: TaskContext = { ..., game: gameResolver({ redis, mysql, names, zone: period.zone }) };
 * ```
 */
export function gameResolver(
  defaults: { readonly redis: Redis; readonly mysql: Pool; readonly names: Names; readonly zone: string },
  run?: string,
): (id: number) => Promise<GameContext> {
  const directory = gameDirectory(defaults.mysql, defaults.names);
  return (id) => directory.context(id, defaults, run);
}

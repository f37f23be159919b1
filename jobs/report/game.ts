/**
 * What every report item starts and ends with: open the game (its registry
 * row, its own Redis, its zone, the activity settings), and announce its
 * finished rows to front ends.
 */
import { activityStore, announceFinished, failure, usageError, type ActivityStore, type GameContext, type GameItem, type TaskContext } from 'gflow';

/** One game, ready to be counted. */
export interface OpenGame {
  readonly game: GameContext;
  /** Counts in the game's own Redis (the registry's `redis_url`), or the default one. */
  readonly store: ActivityStore;
  /** The zone whose days the game's activity keys and reports use. */
  readonly zone: string;
}

/**
 * Open the item's game. Fails the item at once (no retries) if the game left
 * the registry, or if the run asks for a server or channel segment and the
 * task does not compute segments (`segments`): a silent whole-game total
 * would be wrong. Such a rerun is refused before it starts (the tasks
 * declare `filters`, client/reruns.ts): this is the last line only.
 */
export async function openGame(item: GameItem, ctx: TaskContext, { segments = false }: { readonly segments?: boolean } = {}): Promise<OpenGame> {
  if (!segments && (ctx.filters.servers || ctx.filters.channel !== undefined)) {
    throw usageError(`${ctx.job}.${ctx.task} computes whole games: -s (servers) and -c (channel) do not apply`);
  }
  const game = await ctx.game(item.game);
  if (!game.registered) throw failure(`game ${item.game} is not in the games registry any more`);
  // Report rows stay in the central report schema (reruns back up and diff them there): only Redis is per game.
  return { game, store: await activityStore(ctx, game), zone: game.zone };
}

/** Tell subscribers (`<prefix>:reports`) that the game's rows for `period` are written. */
export async function announce(ctx: TaskContext, game: number, period = ctx.period.key): Promise<void> {
  await announceFinished(ctx, game, period);
}

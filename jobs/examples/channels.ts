/**
 * An example job, written as a studio would write its own (it imports
 * 'gflow' and npm packages only): new users and payers per channel, per game
 * and day. The activity store keeps users per day, not per channel, so the
 * job keeps its own tallies from the one place channels arrive: the event
 * stream, read through the job's own consumer group.
 *
 * | task | what | fires (configured zone) |
 * |---|---|---|
 * | `tally` | stream → per game, day and channel: the set of users who registered, and of users who paid, in the game's Redis | every 10 s |
 * | `daily` | those sets counted (SCARD, in Redis) → `report_channel_daily (game_id, day, channel, new_users, payers)` | 00:30, yesterday |
 *
 * - Exact and idempotent: a user is a set member, so an event delivered
 *   twice (a tally killed before acknowledging) counts once; a rerun
 *   recounts the same sets and upserts the same rows.
 * - The day is the game's own (its `tz` in the games registry), as the
 *   `report` job's; a game with its own Redis keeps its tallies there.
 * - An event without a channel counts under the channel `''`; trailing
 *   spaces of a channel are dropped.
 * - `gflow restart channels -t daily -d 20261101,20261130 -c ads` recomputes
 *   one channel; `-s` (servers) does not apply.
 * - The table is the job's (`migrations` below): `gflow db migrate` creates it.
 *
 * Try it: `GFLOW_JOBS=jobs/examples gflow db migrate`, then
 * `GFLOW_JOBS=jobs/examples gflow start channels` next to `gflow start ingest`.
 */
import { announceFinished, consumeEvents, defineJob, defineTask, periodValue, upsertReport, usageError, type GameContext, type Names, type PlayerEvent } from 'gflow';

/**
 * The job's consumer group on the event stream, created at its first run: it sees every event from then
 * on, and the `ingest.keepHours` (24) before it, whatever the collectors do (they trim only what every
 * group has read, and keep that long what was read).
 */
export const GROUP = 'channels';
export const TABLE = 'report_channel_daily';
/** Tallies are kept as long as the activity store's days (`activity.ttlDays`' default): reruns need them. */
const TTL_SECONDS = 400 * 86_400;

type Kind = 'new' | 'payers';
const KIND_OF: Partial<Record<PlayerEvent['type'], Kind>> = { register: 'new', pay: 'payers' };

/**
 * The day's channels, and per channel and kind its users. Channels are encoded: any text may be one, `:` included.
 * Game keys (`<prefix>:channels:{<game>}:…`) share the game's slot, so counting them in one pipeline works on a Redis Cluster too.
 */
export function channelKeys(names: Names, game: number, day: string) {
  return {
    channels: names.gameKey('channels', game, day),
    users: (kind: Kind, channel: string) => names.gameKey('channels', game, day, kind, encodeURIComponent(channel)),
  };
}

const tally = defineTask<{ readonly part: 'stream' }>({
  name: 'tally',
  sleepExecute: 10,
  mapTask: () => [{ part: 'stream' }],
  itemTimeoutSeconds: 60,
  async execute(_item, ctx) {
    return consumeEvents(ctx, { group: GROUP }, async (events) => {
      const byGame = new Map<number, PlayerEvent[]>();
      for (const e of events) {
        if (!KIND_OF[e.type]) continue;
        const list = byGame.get(e.game);
        if (list) list.push(e);
        else byGame.set(e.game, [e]);
      }
      for (const [game, list] of byGame) {
        const { redis } = await ctx.game(game);
        const pipeline = redis.pipeline();
        for (const e of list) {
          const keys = channelKeys(ctx.names, game, e.day);
          // Trailing spaces dropped: MySQL compares VARCHAR keys without them, so 'ads ' and 'ads' are one row.
          const channel = (e.channel ?? '').trimEnd();
          const users = keys.users(KIND_OF[e.type]!, channel);
          pipeline.sadd(users, e.user).expire(users, TTL_SECONDS).sadd(keys.channels, channel).expire(keys.channels, TTL_SECONDS);
        }
        // Throwing leaves the batch unacknowledged: it is handed again, and SADD counts nothing twice.
        for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
      }
    });
  },
});

const daily = defineTask({
  name: 'daily',
  atExecute: 'd0H30',
  itemTimeoutSeconds: 120,
  reports: [{ table: TABLE, periodColumn: 'day', keyColumns: ['channel'] }],
  mapTask: (ctx) => ctx.assignTask(),
  async execute(item, ctx) {
    if (ctx.filters.servers) throw usageError('channels.daily counts whole games per channel: -s (servers) does not apply');
    const { redis, name } = await ctx.game(item.game);
    const day = ctx.period.key;
    const keys = channelKeys(ctx.names, item.game, day);
    const only = ctx.filters.channel;
    const channels = (await redis.smembers(keys.channels)).filter((c) => only === undefined || c === only).sort();
    const counts = await countAll(redis, channels.flatMap((c) => [keys.users('new', c), keys.users('payers', c)]));
    const rows = channels.map((channel, i) => [item.game, periodValue(ctx.period), channel, counts[2 * i]!, counts[2 * i + 1]!]);
    await upsertReport(ctx.mysql, ctx.names, TABLE, ['game_id', 'day', 'channel', 'new_users', 'payers'], rows, ['new_users', 'payers']);
    await announceFinished(ctx, item.game);
    return { game: item.game, name, day, channels: channels.length };
  },
});

/** SCARD of every key, in one round trip. */
async function countAll(redis: GameContext['redis'], keys: readonly string[]): Promise<number[]> {
  if (keys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.scard(key);
  return ((await pipeline.exec()) ?? []).map(([err, n]) => {
    if (err) throw err;
    return Number(n);
  });
}

export default defineJob({
  name: 'channels',
  description: 'New users and payers per channel, per game and day, from the event stream',
  registerTask: [tally, daily],
  migrations: [
    {
      version: 1,
      description: `${TABLE}: new users and payers per game, day and channel`,
      // utf8mb4_bin: channels are compared as the events spell them ('Ads' is not 'ads').
      up: `CREATE TABLE IF NOT EXISTS {report}.${TABLE} (
        game_id INT UNSIGNED NOT NULL,
        day DATE NOT NULL,
        channel VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        new_users INT UNSIGNED NOT NULL,
        payers INT UNSIGNED NOT NULL,
        PRIMARY KEY (game_id, day, channel),
        KEY day (day)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    },
  ],
});

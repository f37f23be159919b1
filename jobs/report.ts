/**
 * The `report` job: the reports a studio reads every morning, one row per
 * game and day in the `<prefix>_report` schema.
 *
 * | task | table | fires (configured zone) |
 * |---|---|---|
 * | `online` | `report_online (game_id, day, pcu, acu, buckets)` | 00:05, final figures of yesterday |
 * | `active` | `report_active (game_id, day, dau, wau, mau, new_users)` | 00:10, yesterday |
 * | `retention` | `report_retention (game_id, cohort_day, new_users, d1, d2, d3, d7, d14, d30)` | 00:15, yesterday |
 * | `pay` | `report_pay (game_id, day, payers, revenue, pay_rate, arpu, arppu)` | 00:20, yesterday |
 * | `onlineToday` | `report_online`, today's row so far | every 5 minutes |
 * | `retention_precompute` | caches `report.retention` of the last 30 cohorts per game | 06:00, yesterday |
 *
 * Analyses (report/analyses.ts): `report.active`, `report.retention` and
 * `report.pay` answer the same figures on demand over any day range,
 * optionally of a server range and/or a channel.
 *
 * Why this shape:
 * - The four daily tasks are calendar tasks over days, so one command reruns
 *   them all over any range: `gflow restart report -d 20261101,20261114`.
 *   They fire a few minutes after midnight, so events still in the stream
 *   (the `ingest.collect` task drains it every 10 s) have landed, and five
 *   minutes apart, so four tasks × hundreds of games do not hit Redis at
 *   once. Without `-t`, a rerun skips `onlineToday` (it has no past periods).
 * - Live online figures are a separate interval task: a minute-level
 *   calendar task would compute minutes, not days, and could not be rerun
 *   with day ranges alongside the others. `onlineToday` writes today's row
 *   over the buckets elapsed so far (`buckets` says how many); `online`
 *   overwrites it with the whole day's after midnight.
 * - One item per enabled game (`assignTask()`, which honours `-g`): a game
 *   whose Redis is down fails alone and is rerun alone with `-g`.
 * - Everything is counted in the game's Redis (its own if the registry names
 *   one) by BITCOUNT / BITOP or SCARD / SINTERCARD; rows are upserts keyed by
 *   game and day, so retries and reruns never duplicate.
 * - Each task declares its table (reruns back it up, diff it, restore it)
 *   and its consistency checks (run after every rerun period).
 * - `-s` / `-c` on a rerun: `active` and `pay` compute the figures of that
 *   segment (users seen on those servers and/or with that channel, kept by
 *   the activity store from the events' own `server` and `channel`) and
 *   write them to `report_segment_active` / `report_segment_pay`, one row
 *   per game, day and segment (`server=3-5;channel=ads`), leaving the whole
 *   game's rows untouched: a filtered rerun never overwrites a total with a
 *   part, and the segment rows are backed up, diffed and restored like any
 *   other. `retention` and `online` keep no segments in their tables
 *   (`filters: []`): a rerun giving them `-s` or `-c` is refused before it
 *   starts, naming the task, rather than failing every game after the
 *   backup. A cohort's segment is what `report.retention` answers.
 *
 * Day keys are the game's local days (`game.tz`, else the configured zone):
 * the run for day D reports each game's own day D. A game far west of the
 * configured zone has not finished day D when the run fires: give the
 * installation that zone, or rerun the day later.
 */
import { dayBounds, dayKeyOf, defineJob, defineTask } from 'gflow';
import { REPORT_ANALYSES } from './report/analyses';
import { activeDays, activeFigures, cohortDays, onlineFigures, payFigures, retentionCells } from './report/compute';
import { announce, openGame } from './report/game';
import { REPORT_MIGRATIONS } from './report/schema';
import {
  ACTIVE_CHECKS,
  ACTIVE_TABLE,
  ONLINE_CHECKS,
  ONLINE_TABLE,
  PAY_CHECKS,
  PAY_TABLE,
  RETENTION_CHECKS,
  RETENTION_TABLE,
  SEGMENT_ACTIVE_CHECKS,
  SEGMENT_ACTIVE_TABLE,
  SEGMENT_PAY_CHECKS,
  SEGMENT_PAY_TABLE,
  segmentLabel,
  segmentOf,
  writeActive,
  writeOnline,
  writePay,
  writeRetention,
  writeSegmentActive,
  writeSegmentPay,
} from './report/tables';

/** A game-day takes well under a second; two minutes covers a ten-million-user game on a busy Redis. */
const ITEM_TIMEOUT_SECONDS = 120;

const active = defineTask({
  name: 'active',
  atExecute: 'd0H10',
  itemTimeoutSeconds: ITEM_TIMEOUT_SECONDS,
  reports: [ACTIVE_TABLE, SEGMENT_ACTIVE_TABLE],
  checks: [...ACTIVE_CHECKS, ...SEGMENT_ACTIVE_CHECKS],
  // -s / -c: the segment's row in report_segment_active; report_active is left as it is.
  filters: ['servers', 'channel'],
  mapTask: (ctx) => ctx.assignTask(),
  async execute(item, ctx) {
    const { store, zone } = await openGame(item, ctx, { segments: true });
    const day = ctx.period.key;
    const segment = segmentOf(ctx.filters);
    // A rerun of a period whose activity expired would write zeros over its row: refused, the row kept.
    await store.assertKept(item.game, activeDays(day), zone);
    const figures = await activeFigures(store, item.game, day, segment);
    if (segment) await writeSegmentActive(ctx.mysql, ctx.names, item.game, day, segmentLabel(segment), figures);
    else await writeActive(ctx.mysql, ctx.names, item.game, day, figures);
    await announce(ctx, item.game);
    return { game: item.game, day, ...(segment && { segment: segmentLabel(segment) }), ...figures };
  },
});

const retention = defineTask({
  name: 'retention',
  atExecute: 'd0H15',
  itemTimeoutSeconds: ITEM_TIMEOUT_SECONDS,
  // Day D rewrites cohort rows that days D−1 … D−30 also wrote: a rerun must
  // back up, recompute and diff one day after the other, or the backups of
  // neighbouring days would hold each other's half-written rows.
  rerunOrder: 'sequential',
  reports: [RETENTION_TABLE],
  checks: RETENTION_CHECKS,
  // A cohort's segment is asked of report.retention (the analysis); the table is whole games'.
  filters: [],
  mapTask: (ctx) => ctx.assignTask(),
  async execute(item, ctx) {
    const { store, zone } = await openGame(item, ctx);
    const day = ctx.period.key;
    await store.assertKept(item.game, cohortDays(day), zone);
    const cells = await retentionCells(store, item.game, day);
    await writeRetention(ctx.mysql, ctx.names, item.game, cells);
    await announce(ctx, item.game);
    return { game: item.game, day, cohorts: cells };
  },
});

const online = defineTask({
  name: 'online',
  atExecute: 'd0H5',
  itemTimeoutSeconds: ITEM_TIMEOUT_SECONDS,
  reports: [ONLINE_TABLE],
  checks: ONLINE_CHECKS,
  // Online buckets are kept per game only.
  filters: [],
  mapTask: (ctx) => ctx.assignTask(),
  async execute(item, ctx) {
    const { store, zone } = await openGame(item, ctx);
    const day = ctx.period.key;
    // Online buckets are kept a few weeks only (activity.onlineTtlDays): an older day is refused, its row kept.
    await store.assertKept(item.game, [day], zone, 'online');
    const figures = await onlineFigures(store, item.game, day, zone);
    await writeOnline(ctx.mysql, ctx.names, item.game, day, figures);
    await announce(ctx, item.game);
    return { game: item.game, day, ...figures };
  },
});

const onlineToday = defineTask({
  name: 'onlineToday',
  // Every bucket: each run sees one more bucket than the last.
  sleepExecute: 300,
  itemTimeoutSeconds: ITEM_TIMEOUT_SECONDS,
  mapTask: (ctx) => ctx.assignTask(),
  async execute(item, ctx) {
    const { store, zone } = await openGame(item, ctx);
    // "Today" is the game's: a game in Asia/Shanghai starts its day 8 hours before UTC does.
    const day = dayKeyOf(ctx.period.start, zone);
    const elapsedSeconds = (ctx.period.start - dayBounds(day, zone).start) / 1000;
    // Up to and including the bucket now filling, so the row shows who is online right now.
    const upTo = Math.floor(elapsedSeconds / (store.settings.bucketMinutes * 60)) + 1;
    const figures = await onlineFigures(store, item.game, day, zone, upTo);
    await writeOnline(ctx.mysql, ctx.names, item.game, day, figures);
    await announce(ctx, item.game, day);
    return { game: item.game, day, ...figures };
  },
});

const pay = defineTask({
  name: 'pay',
  atExecute: 'd0H20',
  itemTimeoutSeconds: ITEM_TIMEOUT_SECONDS,
  reports: [PAY_TABLE, SEGMENT_PAY_TABLE],
  checks: [...PAY_CHECKS, ...SEGMENT_PAY_CHECKS],
  // -s / -c: the segment's row in report_segment_pay; report_pay is left as it is.
  filters: ['servers', 'channel'],
  mapTask: (ctx) => ctx.assignTask(),
  async execute(item, ctx) {
    const { store, zone } = await openGame(item, ctx, { segments: true });
    const day = ctx.period.key;
    const segment = segmentOf(ctx.filters);
    await store.assertKept(item.game, [day], zone);
    const figures = await payFigures(store, item.game, day, segment);
    if (segment) await writeSegmentPay(ctx.mysql, ctx.names, item.game, day, segmentLabel(segment), figures);
    else await writePay(ctx.mysql, ctx.names, item.game, day, figures);
    await announce(ctx, item.game);
    return { game: item.game, day, ...(segment && { segment: segmentLabel(segment) }), ...figures };
  },
});

export default defineJob({
  name: 'report',
  description: 'Daily reports per game: active users, retention, online users, payments',
  registerTask: [active, retention, online, pay, onlineToday],
  // The tables above, created by `gflow db migrate` (report/schema.ts).
  migrations: REPORT_MIGRATIONS,
  // report.active, report.retention (pre-computed every morning: task retention_precompute), report.pay.
  analyses: REPORT_ANALYSES,
});

/**
 * The reports page's data: per game and day the `report` job's figures
 * (DAU/WAU/MAU, new users, PCU/ACU, payers, revenue, pay rate, ARPU,
 * ARPPU) and the retention cohorts, read by the job's own readers
 * (jobs/report/read.ts), as JSON for the charts and as CSV.
 */
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { RETENTION_DAYS } from '../../jobs/report/compute';
import { readCohorts, readDaily, type CohortReport, type DailyReport } from '../../jobs/report/read';
import { listEnabledGames, listGames } from '../../store/games/registry';
import type { ConsoleContext } from '../context';
import { ApiError } from '../errors';
import { parseDay, parseGames } from '../params';

/** The longest range one request reads. */
export const MAX_REPORT_DAYS = 400;
/** The most games side by side. */
export const MAX_REPORT_GAMES = 50;
/** Days shown when no range is given: the last four weeks, ending yesterday. */
const DEFAULT_DAYS = 28;

interface ReportQuery {
  games?: string;
  from?: string;
  to?: string;
  kind?: string;
}

const DAILY_COLUMNS = ['dau', 'wau', 'mau', 'newUsers', 'pcu', 'acu', 'payers', 'revenue', 'payRate', 'arpu', 'arppu'] as const;
/** CSV headers: the report tables' column names. */
const DAILY_HEADERS = ['dau', 'wau', 'mau', 'new_users', 'pcu', 'acu', 'payers', 'revenue', 'pay_rate', 'arpu', 'arppu'];

export function reportsRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { config, names } = ctx;

  /** The games and days asked for (defaults: the enabled games, the last four weeks). */
  const scope = async (q: ReportQuery) => {
    const asked = parseGames(q.games);
    const registered = await listGames(ctx.mysql, names);
    const nameOf = new Map(registered.map((g) => [g.id, g.name]));
    const ids = asked ?? (await listEnabledGames(ctx.mysql, names)).map((g) => g.id).slice(0, 10);
    if (ids.length > MAX_REPORT_GAMES) throw new ApiError(400, `games: at most ${MAX_REPORT_GAMES} games side by side, got ${ids.length}`, 'games');
    const yesterday = DateTime.now().setZone(config.tz).minus({ days: 1 }).toFormat('yyyyMMdd');
    const to = q.to === undefined ? yesterday : parseDay(q.to, 'to');
    const from = q.from === undefined ? DateTime.fromFormat(to, 'yyyyMMdd', { zone: 'utc' }).minus({ days: DEFAULT_DAYS - 1 }).toFormat('yyyyMMdd') : parseDay(q.from, 'from');
    if (from > to) throw new ApiError(400, `from ${from} is after to ${to}`, 'from');
    const span = DateTime.fromFormat(to, 'yyyyMMdd', { zone: 'utc' }).diff(DateTime.fromFormat(from, 'yyyyMMdd', { zone: 'utc' }), 'days').days + 1;
    if (span > MAX_REPORT_DAYS) throw new ApiError(400, `the range ${from}..${to} covers ${span} days; at most ${MAX_REPORT_DAYS}`, 'to');
    const days: string[] = [];
    for (let d = DateTime.fromFormat(from, 'yyyyMMdd', { zone: 'utc' }); d.toFormat('yyyyMMdd') <= to; d = d.plus({ days: 1 })) days.push(d.toFormat('yyyy-MM-dd'));
    return { games: ids.map((id) => ({ id, name: nameOf.get(id) ?? `game ${id}` })), from, to, days };
  };

  const read = async (q: ReportQuery) => {
    const s = await scope(q);
    const ids = s.games.map((g) => g.id);
    const [daily, cohorts] = await Promise.all([readDaily(ctx.mysql, names, ids, s.from, s.to), readCohorts(ctx.mysql, names, ids, s.from, s.to)]);
    return { ...s, daily, cohorts };
  };

  const querySchema = {
    type: 'object',
    properties: { games: { type: 'string', maxLength: 2000 }, from: { type: 'string' }, to: { type: 'string' }, kind: { type: 'string', enum: ['daily', 'retention'] } },
    additionalProperties: false,
  } as const;

  app.get<{ Querystring: ReportQuery }>('/api/reports', { schema: { querystring: querySchema } }, async (request) => {
    const data = await read(request.query);
    const links = ctx.links();
    return { ...data, retentionDays: RETENTION_DAYS, links: { runs: links.query(`GflowPrefix = '${config.prefix}' AND GflowJob = 'report'`) } };
  });

  app.get<{ Querystring: ReportQuery }>('/api/reports.csv', { schema: { querystring: querySchema } }, async (request, reply) => {
    const kind = request.query.kind ?? 'daily';
    const data = await read(request.query);
    const nameOf = new Map(data.games.map((g) => [g.id, g.name]));
    const lines = kind === 'daily' ? dailyCsv(data.daily, nameOf) : retentionCsv(data.cohorts, nameOf);
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="gflow-${kind}-${data.from}-${data.to}.csv"`);
    return lines.map((l) => l.map(csvField).join(',')).join('\r\n') + '\r\n';
  });
}

type Cell = string | number | null;

function dailyCsv(rows: readonly DailyReport[], nameOf: ReadonlyMap<number, string>): Cell[][] {
  return [['game_id', 'game', 'day', ...DAILY_HEADERS], ...rows.map((r) => [r.game, nameOf.get(r.game) ?? '', r.day, ...DAILY_COLUMNS.map((c) => r[c])])];
}

function retentionCsv(rows: readonly CohortReport[], nameOf: ReadonlyMap<number, string>): Cell[][] {
  return [
    ['game_id', 'game', 'cohort_day', 'new_users', ...RETENTION_DAYS.map((n) => `d${n}`)],
    ...rows.map((r) => [r.game, nameOf.get(r.game) ?? '', r.cohortDay, r.newUsers, ...RETENTION_DAYS.map((n) => r.retained[n])]),
  ];
}

/**
 * One CSV field: numbers as they are, NULL as empty, text quoted when it
 * must be, and text a spreadsheet would run as a formula (`=`, `+`, `-`,
 * `@`) made inert with a leading `'`.
 */
export function csvField(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

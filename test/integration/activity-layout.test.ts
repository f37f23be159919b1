/**
 * The activity store's layout for big games (window unions, cohorts as runs
 * of indexes: store.ts) against hand-checked figures and against a plain
 * model of the same events: late events after the caches were built, a
 * player active before registering, a game crossing the set → bitmap
 * threshold, DST days, a cohort too fragmented for runs, and windows of
 * every width. The whole report row (DAU, WAU, MAU, new users, every
 * retention cell) is compared, for bitmaps, sets and mixed days alike.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ActivityStore, addDays, daysEnding, MAX_RUNS } from '../../store/activity/store';
import { DayKeys } from '../../store/activity/keys';
import type { PlayerEvent } from '../../store/activity/events';
import { activeFigures, retentionCells, RETENTION_DAYS, type ActiveFigures, type CohortCell } from '../../jobs/report/compute';
import { Names } from '../../core/names';
import { dataWorld, events } from '../helpers/data';

const world = dataWorld();
after(() => world.cleanup());

interface Row {
  readonly active: ActiveFigures;
  readonly cells: readonly CohortCell[];
}

async function rowOf(store: ActivityStore, game: number, day: string): Promise<Row> {
  const [active, cells] = await Promise.all([activeFigures(store, game, day), retentionCells(store, game, day)]);
  return { active, cells };
}

/** What the store must answer, from the events alone: users per day in plain JS sets. */
class Model {
  private readonly active = new Map<string, Set<string>>();
  private readonly fresh = new Map<string, Set<string>>();

  add(list: readonly PlayerEvent[]): this {
    for (const e of list) {
      // Fixtures here have no pay events: every event makes its user active on its day.
      this.of(this.active, e.day).add(e.user);
      if (e.type === 'register') this.of(this.fresh, e.day).add(e.user);
    }
    return this;
  }

  union(days: readonly string[]): number {
    const all = new Set<string>();
    for (const d of days) for (const u of this.active.get(d) ?? []) all.add(u);
    return all.size;
  }

  row(day: string): Row {
    const newOf = (d: string) => this.fresh.get(d) ?? new Set<string>();
    const activeOn = this.active.get(day) ?? new Set<string>();
    return {
      active: { dau: activeOn.size, wau: this.union(daysEnding(day, 7)), mau: this.union(daysEnding(day, 30)), newUsers: newOf(day).size },
      cells: [
        { cohort: day, newUsers: newOf(day).size },
        ...RETENTION_DAYS.map((n) => {
          const cohort = addDays(day, -n);
          return { cohort, newUsers: newOf(cohort).size, n, retained: [...newOf(cohort)].filter((u) => activeOn.has(u)).length };
        }),
      ],
    };
  }

  private of(map: Map<string, Set<string>>, day: string): Set<string> {
    let s = map.get(day);
    if (!s) map.set(day, (s = new Set()));
    return s;
  }
}

/** The row as numbers: DAU, WAU, MAU, new; then per cohort [size, retained] (D's own: [size]). */
function flat(row: Row): number[][] {
  return [[row.active.dau, row.active.wau, row.active.mau, row.active.newUsers], ...row.cells.map((c) => (c.n === undefined ? [c.newUsers] : [c.newUsers, c.retained!]))];
}

const sets = () => new ActivityStore(world.redis, world.names, { threshold: 1_000_000 });
const bitmaps = () => new ActivityStore(world.redis, world.names, { threshold: 0 });
const exists = async (key: string) => (await world.redis.exists(key)) === 1;

/** A cohort's runs cache as text, "lo hi lo hi …" (it is a MessagePack array), `!`, or null. */
async function runsOf(key: string): Promise<string | null> {
  const text = await world.redis.eval(
    `local v = redis.call('GET', KEYS[1]) if not v or v == '!' then return v end return table.concat(cmsgpack.unpack(v), ' ')`,
    1,
    key,
  );
  return text === null ? null : String(text);
}

describe('late events, a player active before registering (hand-checked)', () => {
  // D = 30 Nov 2026 (UTC). MAU: 1..30 Nov; WAU: 24..30 Nov; cohorts 29, 28, 27, 23, 16 Nov and 31 Oct.
  const e = (game: number) => (user: string, type: string, ts: string) => ({ game, user, type, ts });
  const batches = (game: number) => {
    const x = e(game);
    return [
      // Batch 0: b and e are seen first (b plays before registering: its index is older than its cohort's).
      [x('b', 'login', '2026-11-20T12:00:00Z'), x('e', 'login', '2026-11-01T00:00:00Z')],
      // Batch 1, then the row of D is computed.
      [
        x('a', 'register', '2026-11-29T10:00:00Z'),
        x('a', 'login', '2026-11-30T09:00:00Z'),
        x('b', 'register', '2026-11-27T08:00:00Z'),
        x('b', 'login', '2026-11-30T10:00:00Z'),
        x('c', 'register', '2026-11-27T09:00:00Z'),
        x('d', 'register', '2026-11-16T08:00:00Z'),
        x('d', 'login', '2026-11-30T11:00:00Z'),
        x('f', 'register', '2026-10-31T23:59:59Z'),
        x('f', 'login', '2026-11-30T12:00:00Z'),
        x('g', 'login', '2026-11-24T00:00:00Z'),
        x('k', 'login', '2026-11-23T23:59:59Z'),
      ],
      // Batch 2, late: h on an old day of the month, i registers on D−1 and plays on D, c comes back on D, m is first seen.
      [
        x('h', 'login', '2026-11-10T12:00:00Z'),
        x('i', 'register', '2026-11-29T23:00:00Z'),
        x('i', 'login', '2026-11-30T08:00:00Z'),
        x('c', 'login', '2026-11-30T13:00:00Z'),
        x('m', 'login', '2026-11-03T12:00:00Z'),
      ],
      // Batch 3, late: m registers on D−14 (after playing) and plays on D; n registers on D.
      [x('m', 'register', '2026-11-16T12:00:00Z'), x('m', 'login', '2026-11-30T14:00:00Z'), x('n', 'register', '2026-11-30T15:00:00Z')],
    ].map((b) => events(b));
  };
  // [DAU, WAU, MAU, new], then cohorts 30 Nov [size], 29 [size, D1], 28 [, D2], 27 [, D3], 23 [, D7], 16 [, D14], 31 Oct [, D30].
  const expected = [
    // After batches 0+1: active on D a b d f; the week adds c g; the month adds e k.
    [[4, 6, 8, 0], [0], [1, 1], [0, 0], [2, 1], [0, 0], [1, 1], [1, 1]],
    // After batch 2: i and c on D; i in the week; h, i, m in the month; i joins cohort 29 Nov, c is back.
    [[6, 7, 11, 0], [0], [2, 2], [0, 0], [2, 2], [0, 0], [1, 1], [1, 1]],
    // After batch 3: m and n on D, both in the week; n in the month; m joins cohort 16 Nov; n is D's new user.
    [[8, 9, 12, 1], [1], [2, 2], [0, 0], [2, 2], [0, 0], [2, 2], [1, 1]],
  ];

  for (const [label, make, game] of [['bitmaps', bitmaps, 1], ['sets', sets, 2]] as const) {
    test(`the row before and after late batches (${label})`, async () => {
      const store = make();
      const model = new Model();
      const b = batches(game);
      for (const batch of b.slice(0, 2)) {
        await store.write(batch);
        model.add(batch);
      }
      assert.deepEqual(flat(await rowOf(store, game, '20261130')), expected[0]);
      assert.deepEqual(flat(model.row('20261130')), expected[0], 'the model agrees with the hand count');
      if (label === 'bitmaps') {
        // The caches the row built: the 16-day unions of D and D−14, the cohort runs.
        for (const day of ['20261130', '20261116']) assert.ok(await exists(new DayKeys(world.names, game, day).activeUnion(2)), day);
        // b got index 0 in batch 0, before registering; batch 1 handed its registering players theirs first: f 2, d 3, c 4, a 5.
        assert.equal(await runsOf(new DayKeys(world.names, game, '20261127').newRuns), '0 1 4 5', 'cohort 27 Nov: b and c, two 1-bit runs');
      }
      await store.write(b[2]!);
      model.add(b[2]!);
      if (label === 'bitmaps') {
        // 10 Nov was written: every union covering it is gone, and so is D's.
        assert.equal(await exists(new DayKeys(world.names, game, '20261116').activeUnion(2)), false);
        assert.equal(await exists(new DayKeys(world.names, game, '20261130').activeUnion(2)), false);
        assert.equal(await exists(new DayKeys(world.names, game, '20261129').newRuns), false, 'i joined cohort 29 Nov');
        assert.equal(await exists(new DayKeys(world.names, game, '20261127').newRuns), true, 'nobody joined cohort 27 Nov');
      }
      assert.deepEqual(flat(await rowOf(store, game, '20261130')), expected[1]);
      await store.write(b[3]!);
      model.add(b[3]!);
      const last = await rowOf(store, game, '20261130');
      assert.deepEqual(flat(last), expected[2]);
      assert.deepEqual(last, model.row('20261130'));
      // A rerun reads the caches: the same row.
      assert.deepEqual(await rowOf(store, game, '20261130'), last);
    });
  }
});

describe('DST days (Europe/Berlin)', () => {
  const zone = 'Europe/Berlin';
  const fixture = (game: number) =>
    events(
      [
        // 25 Oct 2026 has 25 hours: 00:00 CEST (22:00Z the day before) to 24:00 CET (23:00Z).
        { user: 's', type: 'register', ts: '2026-10-24T21:59:59Z' }, // 24 Oct 23:59:59 CEST
        { user: 'p', type: 'register', ts: '2026-10-24T22:30:00Z' }, // 25 Oct 00:30 CEST
        { user: 's', type: 'login', ts: '2026-10-25T01:30:00Z' }, // 25 Oct 02:30 CET, the second 02:30
        { user: 'q', type: 'login', ts: '2026-10-25T22:59:59Z' }, // 25 Oct 23:59:59 CET
        { user: 'r', type: 'login', ts: '2026-10-25T23:00:00Z' }, // 26 Oct 00:00 CET
        { user: 'p', type: 'login', ts: '2026-10-26T10:00:00Z' },
        // 29 Mar 2026 has 23 hours.
        { user: 't', type: 'register', ts: '2026-03-28T23:30:00Z' }, // 29 Mar 00:30 CET
        { user: 't', type: 'login', ts: '2026-03-29T21:59:59Z' }, // 29 Mar 23:59:59 CEST
        { user: 'u', type: 'login', ts: '2026-03-29T22:00:00Z' }, // 30 Mar 00:00 CEST
      ].map((o) => ({ game, ...o })),
      zone,
    );

  test('rows of the days around both clock changes: hand-checked, equal for sets, bitmaps and the model', async () => {
    const model = new Model().add(fixture(99));
    const want: Record<string, number[][]> = {
      // 25 Oct: p s q; p is new; cohort 24 Oct {s} is back (s's login at the second 02:30 is 25 Oct).
      '20261025': [[3, 3, 3, 1], [1], [1, 1], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
      // 26 Oct: r p; the week adds q s; cohort 25 Oct {p} back, 24 Oct {s} not.
      '20261026': [[2, 4, 4, 0], [0], [1, 1], [1, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
      // 30 Mar: u; the week adds t; cohort 29 Mar {t} not back.
      '20260330': [[1, 2, 2, 0], [0], [1, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
    };
    for (const [store, game] of [[bitmaps(), 11], [sets(), 12]] as const) {
      await store.write(fixture(game));
      for (const [day, figures] of Object.entries(want)) {
        assert.deepEqual(flat(await rowOf(store, game, day)), figures, `${day}, game ${game}`);
        assert.deepEqual(await rowOf(store, game, day), model.row(day), `${day}, game ${game}: the model`);
      }
      assert.equal((await store.onlineCounts(game, '20261025', zone)).length, 300, '25 hours of 5-minute buckets');
      assert.equal((await store.onlineCounts(game, '20260329', zone)).length, 276, '23 hours');
    }
  });
});

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * 1,500 players over 45 days (15 Oct – 28 Nov 2026): each first seen on a
 * day, registering that day (75%), some days later after playing (20%), or
 * never (5%); active on later days now and then. The events come in four
 * batches in shuffled order, so every batch is full of late events.
 */
function randomWorld(game: number): PlayerEvent[][] {
  const rnd = random(42);
  const days = Array.from({ length: 45 }, (_, i) => addDays('20261015', i));
  const list: object[] = [];
  const at = (day: string, s: number) => `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}Z`;
  for (let u = 0; u < 1500; u++) {
    const user = `p${u}`;
    const first = Math.floor(rnd() * days.length);
    const kind = rnd();
    const registers = kind < 0.75 ? first : kind < 0.95 ? Math.min(days.length - 1, first + 1 + Math.floor(rnd() * 6)) : -1;
    const engaged = 0.05 + rnd() * 0.5;
    for (let d = first; d < days.length; d++) {
      const s = Math.floor(rnd() * 86_400);
      if (d === registers) list.push({ game, user, type: 'register', ts: at(days[d]!, s) });
      if (d === first || d === registers || rnd() < engaged) list.push({ game, user, type: 'login', ts: at(days[d]!, (s + 60) % 86_400) });
    }
  }
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  const all = events(list);
  const cut = [0, 0.4, 0.7, 0.9, 1].map((f) => Math.round(f * all.length));
  return cut.slice(1).map((end, i) => all.slice(cut[i]!, end));
}

describe('a randomised game against the model, batch after batch', () => {
  const checkedDays = Array.from({ length: 14 }, (_, i) => addDays('20261115', i));

  test('bitmaps, sets, and a game that crosses the threshold after two batches: every row of two weeks equals the model after each batch', async () => {
    // Game 23 crosses the threshold on 10 Nov: days first written before are sets, later ones bitmaps (late events keep each day's form).
    const crossing = '20261110';
    const games: Array<{ game: number; write: (batch: PlayerEvent[]) => Promise<unknown> }> = [
      { game: 21, write: (batch) => bitmaps().write(batch) },
      { game: 22, write: (batch) => sets().write(batch) },
      { game: 23, write: async (batch) => [await sets().write(batch.filter((e) => e.day < crossing)), await bitmaps().write(batch.filter((e) => e.day >= crossing))] },
    ];
    const model = new Model();
    const batches = randomWorld(20);
    for (let b = 0; b < batches.length; b++) {
      model.add(batches[b]!);
      for (const { game, write } of games) {
        await write(batches[b]!.map((e) => ({ ...e, game })));
        for (const day of checkedDays) assert.deepEqual(await rowOf(bitmaps(), game, day), model.row(day), `game ${game}, ${day}, after batch ${b}`);
      }
    }
    // The crossing game has both kinds of days; the rows checked read windows and cohorts that mix them.
    assert.deepEqual([await bitmaps().representation(23, '20261101'), await bitmaps().representation(23, '20261120')], ['set', 'bitmap']);
    // Windows of every width, consecutive or not, ending on the last day.
    const store = bitmaps();
    const end = '20261128';
    for (const width of [1, 2, 3, 7, 8, 15, 16, 17, 30, 31, 32, 33, 45, 60]) {
      const days = daysEnding(end, width);
      const want = model.union(days);
      for (const game of [21, 22, 23]) assert.equal(await store.unionCount(game, 'active', days), want, `width ${width}, game ${game}`);
    }
    const scattered = ['20261016', '20261101', '20261103', '20261120', '20261128'];
    for (const game of [21, 22, 23]) assert.equal(await store.unionCount(game, 'active', scattered), model.union(scattered), `scattered days, game ${game}`);
  });

  test('the cohort of a day is a few runs of indexes on bitmaps', async () => {
    // Registering players get their indexes first and together in each batch; those seen before are single bits.
    const runs = await runsOf(new DayKeys(world.names, 21, '20261120').newRuns);
    assert.ok(runs !== null && runs !== '!', String(runs));
    const pairs = runs.split(' ').length / 2;
    assert.ok(pairs >= 1 && pairs < 40, `${pairs} runs`);
  });
});

describe('a cohort too scattered for runs', () => {
  test(`more than ${MAX_RUNS} runs: counted with a whole-bitmap AND, exactly`, async () => {
    const store = bitmaps();
    const game = 31;
    const users = Array.from({ length: 1200 }, (_, i) => `u${String(i).padStart(4, '0')}`);
    // All seen on 1 Nov (indexes 0..1199); the even ones register on 10 Nov: 600 single-bit runs.
    await store.write(events(users.map((user) => ({ game, user, type: 'login', ts: '2026-11-01T10:00:00Z' }))));
    await store.write(events(users.filter((_, i) => i % 2 === 0).map((user) => ({ game, user, type: 'register', ts: '2026-11-10T10:00:00Z' }))));
    // On 11 Nov every fourth player plays: 300 of the cohort.
    await store.write(events(users.filter((_, i) => i % 4 === 0).map((user) => ({ game, user, type: 'login', ts: '2026-11-11T10:00:00Z' }))));
    assert.deepEqual(await store.retention(game, '20261110', ['20261111', '20261101', '20261112']), { newUsers: 600, retained: [300, 600, 0] });
    assert.equal(await runsOf(new DayKeys(world.names, game, '20261110').newRuns), '!');
    assert.equal(await store.count(game, 'new', '20261110'), 600);
    assert.equal(await store.intersectionCount(game, { kind: 'active', day: '20261111' }, { kind: 'new', day: '20261110' }), 300);
    // Active on 10 Nov (they registered) and on 1 Nov: the non-window union path over two far days.
    assert.equal(await store.unionCount(game, 'active', ['20261101', '20261111']), 1200);
  });
});

describe('no command holds Redis long: its own redis-server, every command in SLOWLOG', () => {
  let child: ChildProcess | undefined;
  let redis: Redis;
  const names = new Names('t_slow');

  before(async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as { port: number };
        s.close(() => resolve(p));
      });
    });
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--slowlog-log-slower-than', '0', '--slowlog-max-len', '100000'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 50));
    redis = new Redis(port, '127.0.0.1');
  });

  after(async () => {
    await redis?.quit();
    child?.kill();
  });

  test('unions over 17 to 60 days never BITOP more than 16 keys, and equal the model', async () => {
    const store = new ActivityStore(redis, names, { threshold: 0 });
    const model = new Model();
    const days = Array.from({ length: 60 }, (_, i) => addDays('20261001', i));
    const list = events(days.flatMap((day, d) => Array.from({ length: 40 }, (_, u) => ({ game: 1, user: `u${(u * 7 + d * 3) % 200}`, type: u % 9 === 0 ? 'register' : 'login', ts: `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T12:00:00Z` }))));
    await store.write(list);
    model.add(list);
    await redis.call('SLOWLOG', 'RESET');
    const end = days[days.length - 1]!;
    for (const width of [17, 30, 31, 45, 60]) assert.equal(await store.unionCount(1, 'active', daysEnding(end, width)), model.union(daysEnding(end, width)), `window of ${width}`);
    const everyOther = days.filter((_, i) => i % 2 === 0);
    assert.equal(await store.unionCount(1, 'active', everyOther), model.union(everyOther), '30 days, not consecutive: in steps');
    assert.equal(await store.unionCount(1, 'new', days), new Set(list.filter((e) => e.type === 'register').map((e) => e.user)).size, '60 days of new users: in steps');
    assert.deepEqual(await rowOf(store, 1, end), model.row(end));
    const log = (await redis.call('SLOWLOG', 'GET', '-1')) as Array<[number, number, number, string[]]>;
    const bitops = log.map((entry) => entry[3]).filter((args) => String(args[0]).toUpperCase() === 'BITOP');
    assert.ok(bitops.length > 0);
    for (const args of bitops) {
      assert.ok(!args.some((a) => /more arguments/.test(a)), args.join(' '));
      assert.ok(args.length - 3 <= 16, `BITOP over ${args.length - 3} keys`);
    }
  });
});

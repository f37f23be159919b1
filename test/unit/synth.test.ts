/** The synthetic studio: the same options give the same events; the shapes the demo and the reports rely on hold. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { synthDays, synthEvents, synthGames, synthJsonChunks, windowEndingYesterday, type SynthEvent } from '../../dev/synth';

const OPTIONS = { games: 3, days: 7, users: 300, seed: 42, firstDay: '20261101' } as const;

function digest(events: Iterable<SynthEvent>): { count: number; text: string } {
  let count = 0;
  let text = '';
  for (const e of events) {
    count++;
    if (count % 97 === 0) text += JSON.stringify(e);
  }
  return { count, text };
}

describe('synthetic studio', () => {
  test('the same options give the same events, in the same order', () => {
    assert.deepEqual(digest(synthEvents(OPTIONS)), digest(synthEvents({ ...OPTIONS })));
    assert.equal([...synthJsonChunks(OPTIONS)].join(''), [...synthEvents(OPTIONS)].map((e) => JSON.stringify(e) + '\n').join(''));
  });

  test('another seed gives another studio', () => {
    assert.notDeepEqual(digest(synthEvents(OPTIONS)).text, digest(synthEvents({ ...OPTIONS, seed: 43 })).text);
  });

  test('games shrink by thirds; days run from the first day', () => {
    assert.deepEqual(
      synthGames(OPTIONS).map((g) => [g.id, g.name, g.users]),
      [
        [1, 'Dragon Saga', 300],
        [2, 'Puzzle Pop', 100],
        [3, 'Kart Rush', 33],
      ],
    );
    assert.deepEqual(synthDays(OPTIONS), ['20261101', '20261102', '20261103', '20261104', '20261105', '20261106', '20261107']);
    assert.equal(windowEndingYesterday(14, 'UTC', Date.UTC(2026, 10, 25, 12)), '20261111');
  });

  test('events fall in the window, register once per new player, pay with unique order ids', () => {
    const start = Date.UTC(2026, 10, 1) / 1000;
    const end = Date.UTC(2026, 10, 8) / 1000;
    const registered = new Set<string>();
    const orders = new Set<string>();
    const types = new Set<string>();
    for (const e of synthEvents(OPTIONS)) {
      assert.ok(e.ts >= start && e.ts < end, `ts ${e.ts} outside the window`);
      types.add(e.type);
      if (e.type === 'register') {
        assert.ok(!registered.has(`${e.game}/${e.user}`), `${e.user} registers twice`);
        registered.add(`${e.game}/${e.user}`);
      }
      if (e.type === 'pay') {
        assert.match(e.amount ?? '', /^\d+\.\d{2}$/);
        assert.ok(!orders.has(e.id!), `order ${e.id} repeats`);
        orders.add(e.id!);
      }
    }
    assert.deepEqual([...types].sort(), ['login', 'online', 'pay', 'register']);
    // 60% of each game's players register inside the window.
    assert.equal(registered.size, 180 + 60 + 20);
  });

  test('bad sizes are refused naming the option', () => {
    assert.throws(() => synthGames({ ...OPTIONS, games: 0 }), /synthetic games 0 is not valid/);
    assert.throws(() => synthDays({ ...OPTIONS, firstDay: '2026-11-01' }), /first day/);
  });
});

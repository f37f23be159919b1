/** Dense user indexes under concurrency: many clients assigning overlapping users at once. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assignIndexes, userCount } from '../../store/activity/user-index';
import { dataWorld } from '../helpers/data';

const world = dataWorld();
after(() => world.cleanup());

describe('user index', () => {
  test('parallel assigners never hand out one index twice, and leave no hole', async () => {
    // Separate connections, so the scripts really race at the server.
    const clients = Array.from({ length: 8 }, () => world.redis.duplicate());
    try {
      const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
      const calls = clients.flatMap((client, c) =>
        Array.from({ length: 10 }, (_, k) => {
          // Overlapping, shuffled slices: every user is assigned by several callers.
          const slice = users.filter((_, i) => (i + c + k) % 3 !== 0);
          if ((c + k) % 2 === 0) slice.reverse();
          return assignIndexes(client, world.names, 9, slice).then((indexes) => slice.map((u, i) => [u, indexes[i]!] as const));
        }),
      );
      const seen = new Map<string, number>();
      for (const pairs of await Promise.all(calls)) {
        for (const [user, index] of pairs) {
          const before = seen.get(user);
          if (before !== undefined) assert.equal(index, before, `${user} got two indexes`);
          seen.set(user, index);
        }
      }
      assert.equal(seen.size, users.length);
      const indexes = [...seen.values()].sort((a, b) => a - b);
      assert.deepEqual(indexes, users.map((_, i) => i), 'indexes are exactly 0..n-1');
      assert.equal(await userCount(world.redis, world.names, 9), users.length);
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  test('a repeated user in one call gets one index', async () => {
    const [a, b, c] = await assignIndexes(world.redis, world.names, 10, ['x', 'y', 'x']);
    assert.equal(a, c);
    assert.notEqual(a, b);
  });
});

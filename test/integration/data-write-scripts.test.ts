/**
 * The batched write paths store the bytes the per-item commands stored:
 * bit-writes.ts's OR_BITS against BITFIELD SET u1 per bit, and the index
 * script (known-indexes.ts) against its per-user HGET/HSET form, on random
 * batches written over existing content.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OR_BITS, queueBits } from '../../store/activity/bit-writes';
import { ASSIGN_NEW_INDEXES } from '../../store/activity/known-indexes';
import { execPipeline, LuaScript } from '../../store/activity/lua';
import { dataWorld } from '../helpers/data';

const world = dataWorld();
after(() => world.cleanup());

/** A small deterministic generator (the same batches every run). */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
}

/** The index script as it was, one HGET (and HSET) per user: the reference. */
const ONE_BY_ONE = new LuaScript(`
local n = redis.call('HLEN', KEYS[1])
if n < tonumber(ARGV[1]) then return -1 end
local out = {}
for i = 2, #ARGV do
  local user = ARGV[i]
  local v = redis.call('HGET', KEYS[1], user)
  if v then
    out[i - 1] = tonumber(v)
  else
    redis.call('HSET', KEYS[1], user, n)
    out[i - 1] = n
    n = n + 1
  end
end
return out
`);

describe('batched write scripts', () => {
  test('OR_BITS leaves the bytes BITFIELD SET u1 leaves, dense or sparse, over existing bits', async () => {
    const rnd = random(7);
    // The same {tag} for both keys: one slot on a Redis Cluster.
    const [a, b] = [world.names.redisKey('bits', '{1}', 'a'), world.names.redisKey('bits', '{1}', 'b')];
    for (let t = 0; t < 120; t++) {
      await world.redis.del(a, b);
      for (let round = 0; round < 1 + rnd(4); round++) {
        const span = [64, 1000, 100_000, 5_000_000][rnd(4)]!;
        const n = 1 + rnd(3000);
        const dense = rnd(2) === 0;
        const base = rnd(span);
        const bits = new Set<number>();
        for (let i = 0; i < n; i++) bits.add(dense ? base + rnd(Math.max(8, n * 2)) : rnd(span));
        const pipeline = world.redis.pipeline();
        OR_BITS.load(pipeline);
        queueBits(pipeline, a, bits);
        const args: Array<string | number> = [];
        for (const bit of bits) args.push('SET', 'u1', bit, 1);
        for (let i = 0; i < args.length; i += 8000) pipeline.call('BITFIELD', b, ...args.slice(i, i + 8000));
        await execPipeline(pipeline);
      }
      const [x, y] = await Promise.all([world.redis.getBuffer(a), world.redis.getBuffer(b)]);
      assert.ok(x && y && x.equals(y), `batch ${t}: ${x?.length} bytes vs ${y?.length}`);
    }
    await world.redis.del(a, b);
  });

  test('the index script answers and fills the hash as one HGET/HSET per user did', async () => {
    const rnd = random(11);
    const [a, b] = [world.names.redisKey('uidx', '{2}', 'a'), world.names.redisKey('uidx', '{2}', 'b')];
    for (let t = 0; t < 60; t++) {
      await world.redis.del(a, b);
      for (let round = 0; round < 3; round++) {
        // Up to 9,000 users, repeats included: more than one HMGET chunk and one HSET chunk.
        const users = Array.from({ length: rnd(9000) }, () => `u${rnd(rnd(2) ? 50 : 20_000)}`);
        const known = rnd(4) === 0 ? 1_000_000 : 0; // sometimes the guard: -1, nothing assigned
        assert.deepEqual(await ASSIGN_NEW_INDEXES.run(world.redis, [a], [known, ...users]), await ONE_BY_ONE.run(world.redis, [b], [known, ...users]));
      }
      // The same fields and values; HGETALL's order is the hash table's, which depends on when Redis rehashed it.
      const [x, y] = await Promise.all([world.redis.hgetall(a), world.redis.hgetall(b)]);
      assert.deepEqual(Object.entries(x).sort(), Object.entries(y).sort());
    }
    await world.redis.del(a, b);
  });
});

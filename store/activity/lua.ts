/**
 * Lua scripts run by SHA, loaded on demand. A script is how Redis makes a
 * read-then-write atomic (index assignment, pay dedup + revenue): no other
 * client runs between its commands.
 */
import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { Redis } from '../../infra/redis';

type Arg = string | number;

export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Run once; loads the script when Redis does not know it (after a restart or SCRIPT FLUSH). */
  async run(redis: Redis, keys: readonly string[], args: readonly Arg[] = []): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Queue the script's load into a pipeline. Commands of one pipeline run in
   * order on one connection, so every EVALSHA queued after this finds the
   * script; loading a cached script again costs Redis one hash lookup.
   */
  load(pipeline: ChainableCommander): void {
    pipeline.script('LOAD', this.source);
  }

  /** Queue one call; {@link load} must be queued first in the same pipeline. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly Arg[] = []): void {
    pipeline.evalsha(this.sha, keys.length, ...keys, ...args);
  }
}

/** The results of a pipeline, throwing the first command error (ioredis reports them per command). */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

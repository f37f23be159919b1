/**
 * A collector that dies: run as a child process by data-collector.test.ts,
 * it takes one batch from the stream and is SIGKILLed (by itself, at a
 * precise point, so the test is deterministic) either half way through the
 * write (`mid-write`) or after the write and before XACK (`before-ack`).
 *
 * argv[2]: JSON {prefix, stream, group, consumer, count, die}
 */
import { Names } from '../../core/names';
import { collectBatch } from '../../store/activity/collector';
import type { PlayerEvent } from '../../store/activity/events';
import { RoutedWriter, type RoutedResult } from '../../store/activity/ingest';
import { getRedis } from '../../infra/redis';
import { REDIS_URL } from './data';

interface Args {
  prefix: string;
  stream: string;
  group: string;
  consumer: string;
  count: number;
  die: 'mid-write' | 'before-ack';
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const names = new Names(args.prefix);
const redis = getRedis(REDIS_URL);

class DyingWriter extends RoutedWriter {
  override async write(events: readonly PlayerEvent[]): Promise<RoutedResult> {
    if (args.die !== 'mid-write') return super.write(events);
    await super.write(events.slice(0, Math.floor(events.length / 2)));
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => undefined);
  }
}

void collectBatch({
  redis,
  names,
  stream: args.stream,
  group: args.group,
  consumer: args.consumer,
  count: args.count,
  minIdleMs: 3_600_000,
  writer: new DyingWriter(names, () => redis),
  zoneFor: () => 'UTC',
  onWritten: () => {
    if (args.die === 'before-ack') process.kill(process.pid, 'SIGKILL');
  },
});

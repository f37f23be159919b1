/**
 * The `ingest` job: the data plane's two background tasks.
 *
 * - `collect` (every 10 s): drains the event stream `<prefix>:stream:<name>`
 *   (config `ingest.stream`) through the consumer group `ingest.group` into
 *   the activity stores, for up to 8 s a run. It re-claims messages left
 *   pending by a collector that died (`ingest.minIdleSeconds`) and
 *   acknowledges a message only after its event is written; writes are
 *   idempotent, so a run killed mid-batch loses nothing and counts nothing
 *   twice. Events of a game with its own Redis (games registry) go there.
 * - `landConfig` (every 60 s): copies configuration changed in Redis
 *   (`gflow config set`) into `<prefix>_meta.config`, and refills Redis from
 *   there after a flush.
 *
 * Both are single items: the schedule's overlap policy keeps one run of each
 * at a time; more collectors (several gflow installations reading one stream
 * with one group) would also be safe, the group hands each message to one.
 *
 * Start it with `gflow start ingest`; files are ingested with `gflow ingest`.
 */
import { collectStream, defineJob, defineTask, landConfiguration } from 'gflow';

interface Part {
  readonly part: 'stream' | 'config';
}

const collect = defineTask<Part>({
  name: 'collect',
  sleepExecute: 10,
  mapTask: () => [{ part: 'stream' }],
  itemTimeoutSeconds: 60,
  async execute(_item, ctx) {
    const result = await collectStream(ctx, { budgetMs: 8_000 });
    if (result.rejected > 0 || result.retry > 0) ctx.log.warn('stream batch had problems', { ...result });
    return result;
  },
});

const landConfigTask = defineTask<Part>({
  name: 'landConfig',
  sleepExecute: 60,
  mapTask: () => [{ part: 'config' }],
  async execute(_item, ctx) {
    const result = await landConfiguration(ctx);
    if (result.restored.length > 0) ctx.log.warn('configuration restored into Redis from MySQL', { keys: result.restored });
    return result;
  },
});

export default defineJob({
  name: 'ingest',
  description: 'Collect player events from the Redis Stream; land configuration into MySQL',
  registerTask: [collect, landConfigTask],
});

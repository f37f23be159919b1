/**
 * The rerun-scale benchmark's yardstick (bench/rerun-scale.ts): a workflow
 * that runs `count` no-op activities, `lanes` at a time, so one bare round
 * trip through Temporal is measured on the same server, in the same run, as
 * the reruns it is compared with. Workflow code: bundled on its own.
 */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function bareActivities(count: number, lanes: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await noop();
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

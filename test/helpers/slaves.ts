import type { Config } from '../../infra/config';
import { createSlave, type Slave } from '../../worker/slave';

/** Run slaves for the duration of `fn`, and always stop them. */
export async function withSlaves<T>(config: Config, names: readonly string[], fn: (slaves: Slave[]) => Promise<T>): Promise<T> {
  const slaves = await Promise.all(names.map((slave) => createSlave({ config, slave, shutdownGraceSeconds: 1 })));
  const running = slaves.map((s) => s.run());
  try {
    return await fn(slaves);
  } finally {
    for (const s of slaves) s.shutdown();
    await Promise.all(running);
  }
}

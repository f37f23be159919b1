/**
 * Routes the Temporal SDK's own logs (worker state, activity failures)
 * through gflow's logger, in one line each, at WARN unless asked otherwise.
 * The SDK runtime is process-wide and installed once, before any worker or
 * test server creates it.
 */
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { LogLevel as SdkLevel } from '@temporalio/common';
import type { Logger } from '../infra/logger';

const KEPT = ['workflowId', 'activityType', 'attempt', 'taskQueue', 'error'] as const;
let installed = false;

export function installSdkLogging(log: Logger, level: SdkLevel = 'WARN'): void {
  if (installed) return;
  installed = true;
  const write = (entry: LogEntry) => {
    // A slave's own queue carries only pinned activities, by design: not worth a warning.
    if (entry.message.startsWith('No workflows registered')) return;
    const meta = entry.meta ?? {};
    const fields = Object.fromEntries(
      KEPT.filter((k) => meta[k] !== undefined).map((k) => [k, meta[k] instanceof Error ? (meta[k] as Error).message : meta[k]]),
    );
    const target = entry.level === 'ERROR' ? log.error : entry.level === 'WARN' ? log.warn : entry.level === 'INFO' ? log.info : log.debug;
    target(entry.message, fields);
  };
  try {
    // The Rust core's own logs are forwarded too, so they share the format and the level.
    Runtime.install({
      logger: new DefaultLogger(level, write),
      telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } },
    });
  } catch {
    // Already installed by someone else in this process (an embedding application): keep theirs.
  }
}

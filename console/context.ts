/**
 * What every route of one running console shares: the config, the names,
 * the process's MySQL pool, the jobs, one Temporal client (connected on
 * first use and again after a failure, so the console starts and serves
 * the ledger while Temporal is down), and links into the Temporal web UI.
 */
import type { Client } from '@temporalio/client';
import { messageOf } from '../core/errors';
import type { AnyTask, Job } from '../core/job';
import { Names } from '../core/names';
import type { Config } from '../infra/config';
import { loadJobsIfPresent, type JobRegistry } from '../infra/jobs';
import type { Logger } from '../infra/logger';
import { getMysql, type Pool } from '../infra/mysql';
import { connectClient } from '../infra/temporal';
import { ApiError } from './errors';
import type { ActionPolicy } from './security';

/** The Temporal web UI's address when none is configured (`temporalUiUrl`). */
export const DEFAULT_TEMPORAL_UI = 'http://127.0.0.1:8233';
/** After Temporal failed to answer, how long requests are told so at once before it is tried again. */
const RECONNECT_AFTER_MS = 10_000;

export class ConsoleContext {
  readonly names: Names;
  readonly mysql: Pool;
  private client: Promise<Client> | undefined;
  private registry: JobRegistry | undefined;
  private down: { at: number; reason: string } | undefined;

  constructor(
    readonly config: Config,
    readonly policy: ActionPolicy,
  ) {
    this.names = new Names(config.prefix);
    this.mysql = getMysql(config.mysqlUrl);
  }

  /** The jobs folder's jobs, loaded on first use (a job file that throws is an error on the pages that need jobs, not at start). */
  jobs(): JobRegistry | undefined {
    this.registry ??= loadJobsIfPresent(this.config.jobsDir);
    return this.registry;
  }

  job(name: string): Job {
    const registry = this.jobs();
    if (!registry) throw new ApiError(404, `no jobs folder at ${this.config.jobsDir}`, 'job');
    try {
      return registry.job(name);
    } catch (err) {
      throw new ApiError(404, messageOf(err), 'job');
    }
  }

  /** Tasks of a job by name (all when `only` is empty), as the CLI's `-t` finds them. */
  tasks(job: string, only: readonly string[] = []): AnyTask[] {
    this.job(job);
    try {
      return this.jobs()!.tasks(job, only);
    } catch (err) {
      throw new ApiError(400, messageOf(err), 'tasks');
    }
  }

  /**
   * The Temporal client. A failed connection is said at once for a few
   * seconds (a page asks several times), then tried again.
   * @throws ApiError 503
   */
  async temporal(): Promise<Client> {
    if (this.down && Date.now() - this.down.at < RECONNECT_AFTER_MS) throw new ApiError(503, this.down.reason, null);
    this.client ??= connectClient(this.config);
    try {
      const client = await this.client;
      this.down = undefined;
      return client;
    } catch (err) {
      this.client = undefined;
      this.down = { at: Date.now(), reason: messageOf(err) };
      throw new ApiError(503, this.down.reason, null);
    }
  }

  /** The client if Temporal answers, else the reason it does not (pages show ledger data either way). */
  async temporalOrReason(): Promise<{ client: Client } | { reason: string }> {
    try {
      return { client: await this.temporal() };
    } catch (err) {
      return { reason: messageOf(err) };
    }
  }

  get temporalUi(): string {
    return (this.config.temporalUiUrl ?? DEFAULT_TEMPORAL_UI).replace(/\/+$/, '');
  }

  /** Links into the Temporal web UI: a workflow, a list by visibility query, a schedule. */
  links() {
    const base = `${this.temporalUi}/namespaces/${encodeURIComponent(this.config.temporalNamespace)}`;
    return {
      workflow: (id: string) => `${base}/workflows/${encodeURIComponent(id)}`,
      query: (query: string) => `${base}/workflows?query=${encodeURIComponent(query)}`,
      schedule: (id: string) => `${base}/schedules/${encodeURIComponent(id)}`,
    };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.then((c) => c.connection.close()).catch(() => undefined);
  }
}

/** A logger that keeps what the CLI would print as warnings (no slave polls...), for the page to show. */
export function captureWarnings(): { log: Logger; said: string[] } {
  const said: string[] = [];
  const log: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => void said.push(m), error: (m) => void said.push(m), child: () => log };
  return { log, said };
}

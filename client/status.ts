/**
 * What Temporal knows about a job's tasks: schedule state and next fire
 * times, running runs, the last run's summary, and the live slaves (the
 * pollers of the shared queue). Read-only; `gflow jobs` and `gflow top` show it.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { AnyTask } from '../core/job';
import { Names } from '../core/names';
import { searchAttributes } from '../core/search-attributes';
import { describeSchedule } from '../core/schedule';
import { judgeVersions } from '../core/versions';
import type { RunProgress } from '../activities/types';
import { progressQuery } from '../workflows/messages';
import type { Config } from '../infra/config';
import type { Pool } from '../infra/mysql';
import type { Outcome } from '../core/outcome';
import { listRuns, runItems, type LedgerRun } from '../store/ledger/runs';

export interface ScheduleState {
  readonly id: string;
  readonly state: 'active' | 'paused' | 'not started';
  readonly note?: string;
  readonly nextRuns: string[];
}

export interface TaskStatus {
  readonly job: string;
  readonly task: string;
  /** The schedule in words: "Mondays at 02:00 (UTC)". */
  readonly when: string;
  readonly schedule?: ScheduleState;
  /** Runs going now, with items done / total as the run answers its progress query. */
  readonly running: Array<{ id: string; period?: string; startedAt: string; progress?: RunProgress }>;
  /** The last finished run started by the schedule or `gflow start`, from the ledger. */
  readonly last?: LastRun;
  /** The last finished rerun (or retry) of one of its periods, from the ledger. */
  readonly lastRerun?: LastRun;
}

/** A finished run as `gflow top` shows it. */
export interface LastRun {
  readonly id: string;
  readonly period: string;
  readonly outcome: Outcome;
  readonly closedAt?: string;
  readonly itemsOk: number;
  readonly itemsTotal: number;
  readonly checkErrors: number;
  readonly error?: string;
  /** Items that failed, or were still pending when the run was cut off or cancelled. */
  readonly failed: ReadonlyArray<{ readonly label: string; readonly error: string }>;
}

export interface LiveSlave {
  /** The worker's identity as Temporal shows it: `<slave>@<pid>#<buildId>`. */
  readonly identity: string;
  readonly slave: string;
  readonly pid?: number;
  /** The code version the slave runs (see `worker/build-id.ts`); absent for workers that do not say. */
  readonly buildId?: string;
  readonly queues: string[];
  readonly lastContact: string;
  /** Set when the slave's code differs from this checkout's or from the other slaves'. */
  readonly versionWarning?: string;
}

/** The parts of a slave's worker identity (`<slave>@<pid>#<buildId>`). */
export function parseIdentity(identity: string): { slave: string; pid?: number; buildId?: string } {
  const match = /^([^@#]+)(?:@(\d+))?[^#]*(?:#([0-9a-f]+))?$/.exec(identity);
  if (!match) return { slave: identity.split('@')[0]! };
  return {
    slave: match[1]!,
    ...(match[2] !== undefined && { pid: Number(match[2]) }),
    ...(match[3] !== undefined && { buildId: match[3] }),
  };
}

/** A slave whose last poll is older than this is gone (a poll lasts up to a minute, then is renewed). */
export const LIVE_WITHIN_MS = 70_000;

export class StatusReader {
  private readonly names: Names;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {
    this.names = new Names(config.prefix);
  }

  async schedule(job: string, task: AnyTask): Promise<ScheduleState | undefined> {
    if (task.schedule.kind === 'once') return undefined;
    const id = this.names.scheduleId(job, task.name);
    try {
      const d = await this.client.schedule.getHandle(id).describe();
      return {
        id,
        state: d.state.paused ? 'paused' : 'active',
        ...(d.state.note && { note: d.state.note }),
        // Temporal lists the times a paused schedule would fire: it fires none of them until resumed.
        nextRuns: d.state.paused ? [] : d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return { id, state: 'not started', nextRuns: [] };
      throw err;
    }
  }

  async task(job: string, task: AnyTask, options: { runs?: boolean } = {}): Promise<TaskStatus> {
    const schedule = await this.schedule(job, task);
    const base = { job, task: task.name, when: describeSchedule(task.schedule, this.config.tz), ...(schedule && { schedule }) };
    if (!options.runs) return { ...base, running: [] };
    return { ...base, running: await this.running(job, task.name) };
  }

  private async running(job: string, task: string): Promise<TaskStatus['running']> {
    const out: TaskStatus['running'] = [];
    const query = `${this.names.runsQuery(job, { tasks: [task], running: true })} AND WorkflowType = 'taskRun'`;
    for await (const run of this.client.workflow.list({ query })) {
      const period = run.typedSearchAttributes.get(searchAttributes.period);
      // A run not yet past its first workflow task (or just finishing) does not answer: shown without progress.
      const progress = await this.client.workflow.getHandle(run.workflowId, run.runId).query(progressQuery).catch(() => undefined);
      out.push({ id: run.workflowId, ...(period !== undefined && { period: String(period) }), startedAt: run.startTime.toISOString(), ...(progress && { progress }) });
    }
    return out;
  }

  /**
   * Workers polling the shared queue, with each one's own queue: Temporal's
   * view, not a heartbeat of ours. Each is judged against `checkoutBuildId`
   * (this checkout's code version) when given.
   */
  async slaves(checkoutBuildId?: string): Promise<LiveSlave[]> {
    const byIdentity = new Map<string, { queues: Set<string>; last: number }>();
    const queues = [this.names.sharedQueue];
    const shared = await this.pollers(this.names.sharedQueue);
    for (const p of shared) byIdentity.set(p.identity, { queues: new Set([this.names.sharedQueue]), last: p.last });
    for (const identity of byIdentity.keys()) {
      const { slave } = parseIdentity(identity);
      queues.push(this.names.slaveQueue(slave));
      for (const p of await this.pollers(this.names.slaveQueue(slave))) {
        const entry = byIdentity.get(p.identity);
        if (entry) {
          entry.queues.add(this.names.slaveQueue(slave));
          entry.last = Math.max(entry.last, p.last);
        }
      }
    }
    // Temporal lists a poller for minutes after its worker stopped: only those seen within a minute are live.
    const since = Date.now() - LIVE_WITHIN_MS;
    const live = [...byIdentity.entries()]
      .filter(([, e]) => e.last >= since)
      .map(([identity, e]) => ({ identity, ...parseIdentity(identity), queues: [...e.queues], lastContact: new Date(e.last).toISOString() }))
      .sort((a, b) => a.identity.localeCompare(b.identity));
    if (checkoutBuildId === undefined) return live;
    const verdicts = judgeVersions(live.map((s) => s.buildId), checkoutBuildId);
    return live.map((s, i) => ({ ...s, ...(verdicts[i]!.warning !== undefined && { versionWarning: verdicts[i]!.warning }) }));
  }

  private async pollers(queue: string): Promise<Array<{ identity: string; last: number }>> {
    const out = new Map<string, number>();
    for (const taskQueueType of [
      temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    ]) {
      const response = await this.client.workflowService.describeTaskQueue({
        namespace: this.config.temporalNamespace,
        taskQueue: { name: queue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType,
      });
      for (const poller of response.pollers ?? []) {
        if (!poller.identity) continue;
        const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
        out.set(poller.identity, Math.max(out.get(poller.identity) ?? 0, seconds * 1000));
      }
    }
    return [...out.entries()].map(([identity, last]) => ({ identity, last }));
  }
}

/**
 * The last scheduled (or started) run and the last rerun of the task over
 * whole games, as the ledger recorded them: a rerun with `-s`/`-c` computed
 * a segment only, and would show an older period as the task's latest (as
 * it does not decide the matrix's cells either).
 */
export async function lastRuns(mysql: Pool, names: Names, job: string, task: string): Promise<Pick<TaskStatus, 'last' | 'lastRerun'>> {
  const runs = (await listRuns(mysql, names, { job, task, limit: 200 })).filter((r) => r.outcome !== 'running' && r.segment === undefined);
  const scheduled = runs.find((r) => r.origin === 'schedule' || r.origin === 'start');
  const rerun = runs.find((r) => r.origin === 'rerun' || r.origin === 'retry');
  return {
    ...(scheduled && { last: await describeRun(mysql, names, scheduled) }),
    ...(rerun && { lastRerun: await describeRun(mysql, names, rerun) }),
  };
}

async function describeRun(mysql: Pool, names: Names, run: LedgerRun): Promise<LastRun> {
  const items = run.itemsFailed + run.itemsPending > 0 ? await runItems(mysql, names, run.id) : [];
  return {
    id: run.workflowId,
    period: run.periodKey,
    outcome: run.outcome,
    ...(run.finishedAt && { closedAt: run.finishedAt }),
    itemsOk: run.itemsOk,
    itemsTotal: run.itemsTotal,
    checkErrors: run.checkErrors,
    ...(run.error && { error: run.error }),
    failed: items.filter((i) => i.outcome !== 'ok').map((i) => ({ label: i.label, error: i.error ?? i.outcome })),
  };
}

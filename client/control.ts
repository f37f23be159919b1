/**
 * The master's commands against Temporal: start, stop and restart a job's
 * tasks. A calendar or interval task is a Temporal Schedule (created or
 * updated, unpaused, paused); a once-task is a workflow started under one
 * id, so a second start while it runs is refused (the original gflow's singleton).
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import type { AnyTask } from '../core/job';
import type { StartedBy } from '../core/outcome';
import { Names } from '../core/names';
import { runSearchAttributes, searchAttributes } from '../core/search-attributes';
import { instantPeriod, type Period } from '../core/period';
import { scheduleSpacingSeconds, toTemporalCalendar, type TaskSchedule } from '../core/schedule';
import { scheduledRun } from '../workflows/scheduled-run';
import { taskRun } from '../workflows/task-run';
import type { Config } from '../infra/config';

/** What a command did to one task, for the operator. */
export interface TaskAction {
  readonly task: string;
  readonly action: string;
  readonly id: string;
  /** Set when the command could not do what was asked (a once-task already running). */
  readonly refused?: boolean;
}

export class JobControl {
  private readonly names: Names;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {
    this.names = new Names(config.prefix);
  }

  /** Create or unpause each task's schedule; start once-tasks. `now` also fires schedules at once. */
  async start(job: string, tasks: readonly AnyTask[], options: { now?: boolean; by?: StartedBy } = {}): Promise<TaskAction[]> {
    const actions: TaskAction[] = [];
    for (const task of tasks) {
      if (task.schedule.kind === 'once') {
        actions.push(await this.startOnce(job, task, options.by));
        continue;
      }
      const id = this.names.scheduleId(job, task.name);
      const created = await this.upsertSchedule(job, task, options.by);
      let action = created ? 'schedule created' : 'schedule updated and unpaused';
      if (options.now) {
        // trigger() defaults to ALLOW_ALL: pass SKIP or --now breaks the one-run-at-a-time rule.
        await this.client.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.SKIP);
        action += ', triggered now';
      }
      actions.push({ task: task.name, action, id });
    }
    return actions;
  }

  /** Pause each task's schedule and cancel its running runs. */
  async stop(job: string, tasks: readonly AnyTask[]): Promise<TaskAction[]> {
    const actions: TaskAction[] = [];
    for (const task of tasks) {
      if (task.schedule.kind === 'once') continue;
      const id = this.names.scheduleId(job, task.name);
      try {
        await this.client.schedule.getHandle(id).pause(`gflow stop ${job}`);
        actions.push({ task: task.name, action: 'schedule paused', id });
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
        actions.push({ task: task.name, action: 'no schedule (never started)', id });
      }
    }
    const query = this.names.runsQuery(job, { tasks: tasks.map((t) => t.name), running: true });
    for await (const run of this.client.workflow.list({ query })) {
      try {
        await this.client.workflow.getHandle(run.workflowId, run.runId).cancel();
      } catch (err) {
        // It finished between the listing and the cancel: nothing left to stop.
        if (err instanceof WorkflowNotFoundError) continue;
        throw err;
      }
      const task = run.typedSearchAttributes.get(searchAttributes.task);
      actions.push({ task: String(task ?? '?'), action: 'running run cancelled', id: run.workflowId });
    }
    return actions;
  }

  async restart(job: string, tasks: readonly AnyTask[], options: { now?: boolean; by?: StartedBy } = {}): Promise<TaskAction[]> {
    const stopped = await this.stop(job, tasks);
    await this.waitUntilStopped(job, tasks);
    return [...stopped, ...(await this.start(job, tasks, options))];
  }

  /** The Schedule gflow keeps for a calendar or interval task. */
  scheduleOptions(job: string, task: AnyTask, by?: StartedBy): ScheduleOptions {
    const schedule = task.schedule;
    if (schedule.kind === 'once') throw new Error(`task ${task.name} runs once and has no schedule`);
    const unit = schedule.kind === 'calendar' ? schedule.unit : 'instant';
    return {
      scheduleId: this.names.scheduleId(job, task.name),
      spec: this.spec(schedule),
      action: {
        type: 'startWorkflow',
        workflowType: scheduledRun,
        workflowId: this.names.scheduledTickId(job, task.name),
        taskQueue: this.names.sharedQueue,
        args: [{ job, task: task.name, unit, zone: this.config.tz, prefix: this.config.prefix, ...(by && { startedBy: by }) }],
        typedSearchAttributes: this.attributes(job, task.name),
        staticSummary: `${job}.${task.name}: schedule fired`,
      },
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        // Missed while the server was down: catch up within one period, not the one-year default.
        catchupWindow: `${Math.max(60, scheduleSpacingSeconds(schedule) ?? 0)}s`,
      },
      state: { note: `gflow start ${job}` },
    };
  }

  private spec(schedule: Exclude<TaskSchedule, { kind: 'once' }>): ScheduleSpec {
    if (schedule.kind === 'interval') return { intervals: [{ every: `${schedule.seconds}s` }] };
    return { calendars: [toTemporalCalendar(schedule)], timezone: this.config.tz };
  }

  private async upsertSchedule(job: string, task: AnyTask, by: StartedBy | undefined): Promise<boolean> {
    const options = this.scheduleOptions(job, task, by);
    try {
      await this.client.schedule.create(options);
      return true;
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
    const handle = this.client.schedule.getHandle(options.scheduleId);
    // update() replaces the whole schedule: the job file is the source of truth for spec, action and policies.
    await handle.update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: { ...previous.policies, ...options.policies },
      state: { ...previous.state, paused: false, note: `gflow start ${job}` },
    }));
    return false;
  }

  private async startOnce(job: string, task: AnyTask, by: StartedBy | undefined): Promise<TaskAction> {
    const id = this.names.onceRunId(job, task.name);
    const period: Period = instantPeriod(Date.now(), this.config.tz);
    try {
      await this.client.workflow.start(taskRun, {
        workflowId: id,
        taskQueue: this.names.sharedQueue,
        args: [{ job, task: task.name, period, prefix: this.config.prefix, origin: 'start', ...(by && { startedBy: by }) }],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: runSearchAttributes({ prefix: this.config.prefix, job, task: task.name, period: period.key }),
        staticSummary: `${job}.${task.name} once at ${period.key}`,
      });
      return { task: task.name, action: 'started once', id };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { task: task.name, action: 'refused: already running (stop it first)', id, refused: true };
      throw err;
    }
  }

  /** Cancellation is asynchronous: wait (briefly) until no run of these tasks is left, so a restart does not collide. */
  private async waitUntilStopped(job: string, tasks: readonly AnyTask[]): Promise<void> {
    const query = this.names.runsQuery(job, { tasks: tasks.map((t) => t.name), running: true });
    for (let i = 0; i < 100; i++) {
      const { count } = await this.client.workflow.count(query);
      if (count === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private attributes(job: string, task: string) {
    return runSearchAttributes({ prefix: this.config.prefix, job, task });
  }
}

/**
 * Loads the job files of a folder (TypeScript or JavaScript, no build step:
 * the process runs under tsx) into a registry that answers "which job, which
 * tasks" with one clear line when the answer is "none".
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { usageError } from '../core/errors';
import type { AnyTask, Job } from '../core/job';
import { ParamError, splitAnalysisName, type Analysis } from '../core/analysis';

const JOB_FILE = /\.(ts|js|cjs|mts)$/;
const NOT_JOB_FILE = /(\.d\.ts|\.test\.ts)$/;

export class JobRegistry {
  private readonly jobs = new Map<string, { job: Job; file: string }>();

  constructor(readonly dir: string) {}

  add(job: Job, file: string): void {
    const existing = this.jobs.get(job.name);
    if (existing) throw usageError(`job ${job.name} is defined twice: in ${existing.file} and in ${file}`);
    this.jobs.set(job.name, { job, file });
  }

  list(): Job[] {
    return [...this.jobs.values()].map((j) => j.job).sort((a, b) => a.name.localeCompare(b.name));
  }

  fileOf(job: string): string | undefined {
    return this.jobs.get(job)?.file;
  }

  /** The job named `name`, or a usage error listing the known ones. */
  job(name: string): Job {
    const found = this.jobs.get(name);
    if (!found) {
      const known = this.list().map((j) => j.name);
      throw usageError(`unknown job ${JSON.stringify(name)} in ${this.dir}; known jobs: ${known.join(', ') || '(none)'}`);
    }
    return found.job;
  }

  /** The job's tasks named in `only` (all when empty), or a usage error naming the unknown task. */
  tasks(jobName: string, only: readonly string[] = []): AnyTask[] {
    const job = this.job(jobName);
    if (only.length === 0) return [...job.registerTask];
    return only.map((name) => {
      const task = job.task(name);
      if (!task) {
        const known = job.registerTask.map((t) => t.name).join(', ');
        throw usageError(`job ${jobName} has no task ${JSON.stringify(name)}; its tasks: ${known}`);
      }
      return task;
    });
  }

  /**
   * The analysis `<job>.<analysis>` (e.g. `report.retention`), or a usage
   * error ({@link ParamError} on `analysis`) listing what there is.
   */
  analysis(spec: string): { readonly job: string; readonly analysis: Analysis } {
    const split = splitAnalysisName(spec);
    const job = split && this.jobs.get(split.job)?.job;
    const analysis = split && job?.analysis(split.analysis);
    if (!split || !job || !analysis) {
      const known = this.list().flatMap((j) => (j.analyses ?? []).map((a) => `${j.name}.${a.name}`));
      throw new ParamError('analysis', `unknown analysis ${JSON.stringify(spec)}; known: ${known.join(', ') || '(none)'}`);
    }
    return { job: split.job, analysis };
  }

  /** The task `task` of `job`, or a usage error. */
  task(jobName: string, taskName: string): AnyTask {
    return this.tasks(jobName, [taskName])[0]!;
  }
}

/** Load every job file directly in `dir`. A file that throws on load is reported by name. */
export function loadJobs(dir: string): JobRegistry {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw usageError(`jobs folder ${dir} does not exist (set GFLOW_JOBS or "jobs" in gflow.config.json)`);
  }
  const registry = new JobRegistry(dir);
  const files = readdirSync(dir)
    .filter((f) => JOB_FILE.test(f) && !NOT_JOB_FILE.test(f))
    .sort();
  for (const name of files) {
    const file = join(dir, name);
    registry.add(loadJobFile(file, dir), file);
  }
  return registry;
}

/**
 * The jobs of `dir`, or `undefined` when there is no such folder: for
 * commands that also make sense without jobs (`gflow db migrate` then
 * migrates gflow's own tables only). A job file that fails to load still fails.
 *
 * @example
 * ```ts
 * const jobs = loadJobsIfPresent(config.jobsDir)?.list() ?? [];
 * ```
 */
export function loadJobsIfPresent(dir: string): JobRegistry | undefined {
  if (!existsSync(dir)) return undefined;
  return loadJobs(dir);
}

function loadJobFile(file: string, dir: string): Job {
  const shown = relative(process.cwd(), file) || file;
  let exported: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require(file);
  } catch (err) {
    throw usageError(`job file ${shown} failed to load: ${firstLine(err)}`);
  }
  const job = (exported as { default?: unknown }).default ?? exported;
  if (!isJob(job)) {
    throw usageError(`job file ${shown} must export a job made with defineJob() as its default export (in ${dir})`);
  }
  return job;
}

function isJob(value: unknown): value is Job {
  return typeof value === 'object' && value !== null && 'registerTask' in value && typeof (value as Job).task === 'function';
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

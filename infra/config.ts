/**
 * The one config loader: defaults, then a config file, then the environment,
 * validated by one schema. Every other module receives a `Config`; none reads
 * `process.env` itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { usageError } from '../core/errors';
import { PREFIX_PATTERN } from '../core/names';

const zone = z.string().refine((name) => IANAZone.isValidZone(name), {
  message: 'not an IANA time zone (e.g. UTC, Europe/Berlin, Asia/Shanghai)',
});

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `not a URL of the form ${protocols.map((p) => `${p}//host:port`).join(' or ')}` },
  );

/** The settings in a config file (`gflow.config.json`), all optional. */
const fileSchema = z
  .object({
    prefix: z.string().regex(PREFIX_PATTERN, 'lowercase letters, digits and _, starting with a letter, at most 31 chars'),
    tz: zone,
    jobs: z.string().min(1),
    redisUrl: url(['redis:', 'rediss:']),
    mysqlUrl: url(['mysql:']),
    temporalCli: z.string().min(1),
    temporal: z.object({ address: z.string().min(1), namespace: z.string().min(1) }).partial(),
    /** Items of one run that execute at once, unless a task says otherwise. */
    concurrency: z.number().int().min(1).max(1000),
    /** How long an item pinned to a slave waits for that slave before it is reported unavailable. */
    slaveWaitSeconds: z.number().int().min(1),
    /** The most periods one rerun may cover. */
    maxRerunPeriods: z.number().int().min(1).max(100_000),
    /** Alerts: POST each incident as JSON to this URL. */
    alertWebhook: url(['http:', 'https:']),
    /** Alerts: run this shell command per incident, the JSON on its stdin. */
    alertCommand: z.string().min(1),
  })
  .partial()
  .strict();

export type ConfigFile = z.infer<typeof fileSchema>;

export interface Config {
  /** Prefix of every Temporal id, task queue, Redis key and MySQL schema gflow creates. */
  readonly prefix: string;
  /** IANA zone in which schedules fire and periods are cut. */
  readonly tz: string;
  /** Absolute path of the folder holding job files. */
  readonly jobsDir: string;
  readonly redisUrl: string;
  readonly mysqlUrl: string;
  /** Temporal address; `undefined` means the embedded default (a dev server gflow starts). */
  readonly temporalAddress: string | undefined;
  readonly temporalNamespace: string;
  /** Path of the `temporal` CLI, if configured; otherwise it is looked up on PATH. */
  readonly temporalCli: string | undefined;
  readonly concurrency: number;
  readonly slaveWaitSeconds: number;
  /** The most periods one rerun may cover (`-d` over more is refused). */
  readonly maxRerunPeriods: number;
  /** Alerts webhook (POST, JSON body); unset: no webhook. */
  readonly alertWebhook?: string | undefined;
  /** Alerts command (shell, JSON on stdin); unset: no command. */
  readonly alertCommand?: string | undefined;
  /** Where the config came from, for messages. */
  readonly source: string;
}

const ENV = {
  prefix: 'GFLOW_PREFIX',
  tz: 'GFLOW_TZ',
  jobs: 'GFLOW_JOBS',
  redisUrl: 'GFLOW_REDIS_URL',
  mysqlUrl: 'GFLOW_MYSQL_URL',
  temporalCli: 'GFLOW_TEMPORAL_CLI',
  alertWebhook: 'GFLOW_ALERT_WEBHOOK',
  alertCommand: 'GFLOW_ALERT_COMMAND',
} as const;

export interface LoadConfigOptions {
  /** Explicit config file; else `GFLOW_CONFIG`, else `gflow.config.json` in `cwd` if present. */
  file?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.GFLOW_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, 'gflow.config.json');
  if (explicit && !existsSync(file)) throw usageError(`config file ${file} does not exist`);

  const fromFile = existsSync(file) ? parseFile(file) : {};
  const fromEnv = fromEnvironment(env);
  const merged = { ...fromFile, ...fromEnv };
  const where = (key: string) => (key in fromEnv ? `environment ${ENV[key as keyof typeof ENV] ?? key}` : file);
  const parsed = fileSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw usageError(`invalid setting ${key} in ${where(key)}: ${issue.message}`);
  }
  const c = parsed.data;
  return {
    prefix: c.prefix ?? 'gflow',
    tz: c.tz ?? 'UTC',
    jobsDir: resolve(cwd, c.jobs ?? 'jobs'),
    redisUrl: c.redisUrl ?? 'redis://127.0.0.1:6379',
    mysqlUrl: c.mysqlUrl ?? 'mysql://root@127.0.0.1:3306',
    temporalAddress: env.TEMPORAL_ADDRESS || c.temporal?.address,
    temporalNamespace: env.TEMPORAL_NAMESPACE || c.temporal?.namespace || 'default',
    temporalCli: c.temporalCli,
    concurrency: c.concurrency ?? 10,
    slaveWaitSeconds: c.slaveWaitSeconds ?? 600,
    maxRerunPeriods: c.maxRerunPeriods ?? 400,
    alertWebhook: c.alertWebhook,
    alertCommand: c.alertCommand,
    source: existsSync(file) ? file : 'defaults and environment',
  };
}

function parseFile(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw usageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

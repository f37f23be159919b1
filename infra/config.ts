/**
 * gflow's settings, declared once: every setting is a row of {@link SETTINGS}
 * (key, where it lives, environment variable, default, rule), and everything
 * else is derived from that table — the config file's schema, the loader,
 * `gflow config get|set`, the defaults and rules of the runtime settings.
 *
 * A setting lives in one of two homes:
 * - `file`: the config file (`gflow.config.json`, or `--config` /
 *   `GFLOW_CONFIG`), overridden by the environment; read once when a process
 *   starts, by {@link loadConfig}, the one loader. Every other module receives
 *   a `Config`; none reads `process.env` itself.
 * - `runtime`: a Redis hash (landed in MySQL), read by the data plane while it
 *   runs, so a change needs no restart (`store/config/runtime-config.ts`).
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { usageError } from '../core/errors';
import { isKeyPart, PREFIX_PATTERN } from '../core/names';
import { parseWholeNumber } from '../core/parse';
import { isClusterUrl, urlProblem, type UrlKind } from '../core/urls';

/** Where a setting lives: the config file (and the environment), or the runtime hash in Redis. */
export type SettingHome = 'file' | 'runtime';

interface SettingBase {
  /** Dotted for nesting: `temporal.address` is `{ "temporal": { "address": … } }` in the file. */
  readonly key: string;
  readonly help: string;
}

/** A setting of the config file, which the environment may override. */
export interface FileSetting extends SettingBase {
  readonly home: 'file';
  /** The environment variable that overrides the file; none: the file only. */
  readonly env?: string;
  /** The default as text; none: unset. */
  readonly default?: string;
  /** How the value is written in the file: a JSON string, or a JSON whole number within `range`. */
  readonly type: 'text' | 'whole';
  readonly range?: { readonly min: number; readonly max?: number };
  /** The rule, as the file's schema applies it. */
  readonly schema: z.ZodType;
}

/** A setting kept in Redis at runtime. */
export interface RuntimeSetting extends SettingBase {
  readonly home: 'runtime';
  /** The default as text: runtime values are text. */
  readonly default: string;
  /** The rule: throws a UserError (exit 2) naming `config <key>` if `value` is not acceptable. */
  readonly check: (value: string) => void;
}

export type Setting = FileSetting | RuntimeSetting;

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

/** A Redis or MySQL URL, by the one validator of its kind (core/urls.ts, also the games registry's). */
const serverUrl = (kind: UrlKind) =>
  z.string().superRefine((value, ctx) => {
    const problem = urlProblem(kind, value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

function text(key: string, o: { env?: string; default?: string; help: string; schema?: z.ZodType }): FileSetting {
  return { key, home: 'file', type: 'text', help: o.help, schema: o.schema ?? z.string().min(1, 'must not be empty'), ...(o.env && { env: o.env }), ...(o.default !== undefined && { default: o.default }) };
}

function whole(key: string, o: { default: number; min: number; max?: number; help: string }): FileSetting {
  const schema = o.max === undefined ? z.number().int().min(o.min) : z.number().int().min(o.min).max(o.max);
  return { key, home: 'file', type: 'whole', help: o.help, default: String(o.default), range: { min: o.min, ...(o.max !== undefined && { max: o.max }) }, schema };
}

function runtime(key: string, o: { default: string; help: string; check: (value: string, what: string) => void }): RuntimeSetting {
  return { key, home: 'runtime', default: o.default, help: o.help, check: (value) => o.check(value, `config ${key}`) };
}

const wholeText = (min: number, max: number) => (value: string, what: string) => void parseWholeNumber(value, what, { min, max });

const divisorOf60 = (value: string, what: string) => {
  if (60 % parseWholeNumber(value, what, { min: 1, max: 60 }) !== 0) {
    throw usageError(`${what} ${JSON.stringify(value)} is not valid: use a divisor of 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)`);
  }
};

const keyPart = (value: string, what: string) => {
  if (!isKeyPart(value)) throw usageError(`${what} ${shown(value)} is not valid: use 1 to 64 letters, digits, _, . or -`);
};

/** Every setting gflow reads: the one catalogue. */
export const SETTINGS: readonly Setting[] = [
  text('prefix', {
    env: 'GFLOW_PREFIX',
    default: 'gflow',
    help: 'prefixes every Temporal id, task queue, Redis key and MySQL schema gflow creates',
    schema: z.string().regex(PREFIX_PATTERN, 'lowercase letters, digits and _, starting with a letter, at most 31 chars'),
  }),
  text('tz', { env: 'GFLOW_TZ', default: 'UTC', help: 'IANA zone schedules fire in and periods are cut in', schema: zone }),
  text('jobs', { env: 'GFLOW_JOBS', default: 'jobs', help: 'folder of job files (relative to the working directory)' }),
  text('redisUrl', { env: 'GFLOW_REDIS_URL', default: 'redis://127.0.0.1:6379', help: 'the default Redis (redis://, rediss://), or a Redis Cluster by its seed nodes (redis+cluster://host:port,host:port; rediss+cluster:// over TLS)', schema: serverUrl('redis') }),
  text('mysqlUrl', { env: 'GFLOW_MYSQL_URL', default: 'mysql://root@127.0.0.1:3306', help: 'the default MySQL', schema: serverUrl('mysql') }),
  text('temporal.address', { env: 'TEMPORAL_ADDRESS', help: 'Temporal frontend host:port; unset: the embedded dev server on 127.0.0.1:7233' }),
  text('temporal.namespace', { env: 'TEMPORAL_NAMESPACE', default: 'default', help: 'Temporal namespace' }),
  text('temporalCli', { env: 'GFLOW_TEMPORAL_CLI', help: 'path of the temporal CLI; unset: found on PATH' }),
  whole('concurrency', { default: 10, min: 1, max: 1000, help: 'items of one run that execute at once, unless a task says otherwise' }),
  whole('slaveWaitSeconds', { default: 600, min: 1, help: 'how long an item pinned to a slave waits for it before it is reported unavailable' }),
  whole('maxRerunPeriods', { default: 400, min: 1, max: 100_000, help: 'the most periods one rerun may cover' }),
  text('alertWebhook', { env: 'GFLOW_ALERT_WEBHOOK', help: 'POST each incident as JSON to this URL; unset: no webhook', schema: url(['http:', 'https:']) }),
  text('alertCommand', { env: 'GFLOW_ALERT_COMMAND', help: 'run this shell command per incident, the JSON on its stdin; unset: no command' }),
  text('temporalUiUrl', { env: 'GFLOW_TEMPORAL_UI_URL', default: 'http://127.0.0.1:8233', help: "the Temporal web UI the console's pages link to", schema: url(['http:', 'https:']) }),
  text('consoleToken', { env: 'GFLOW_CONSOLE_TOKEN', help: 'the token the console asks of every action (start, stop, rerun, retry, restore); unset: actions only on loopback', schema: z.string().min(16, 'at least 16 characters').max(512) }),
  runtime('activity.threshold', { default: '1000000', help: 'users above which new days are bitmaps', check: wholeText(0, 2 ** 32) }),
  runtime('activity.bucketMinutes', { default: '5', help: 'online bucket width in minutes (a divisor of 60)', check: divisorOf60 }),
  runtime('activity.ttlDays', { default: '400', help: 'days activity keys are kept (0: forever)', check: wholeText(0, 100_000) }),
  runtime('activity.onlineTtlDays', { default: '35', help: 'days online buckets are kept (0: forever)', check: wholeText(0, 100_000) }),
  runtime('ingest.stream', { default: 'events', help: 'stream name: events are XADDed to <prefix>:stream:<name>', check: keyPart }),
  runtime('ingest.group', { default: 'gflow', help: 'consumer group of the collectors', check: keyPart }),
  runtime('ingest.batchSize', { default: '1000', help: 'stream messages per batch', check: wholeText(1, 100_000) }),
  runtime('ingest.minIdleSeconds', { default: '60', help: 'pending messages idle this long are re-claimed', check: wholeText(1, 86_400) }),
  runtime('ingest.keepHours', { default: '24', help: 'hours the event stream keeps what every consumer group has read, for a group created later (a job started after the collectors) to read; 0: trimmed as soon as read', check: wholeText(0, 8760) }),
  runtime('analyses.maxDays', { default: '92', help: 'the longest day range an analysis may be asked for, unless it sets its own', check: wholeText(1, 3660) }),
  runtime('analyses.cacheSeconds', { default: '3600', help: 'how long an answer is served from the cache, unless the analysis sets its own', check: wholeText(1, 30 * 86_400) }),
  runtime('analyses.claimSeconds', { default: '30', help: 'a stream request read by a slave and not answered this long is re-claimed by another', check: wholeText(1, 86_400) }),
  runtime('analyses.maxFailures', { default: '5', help: 'times a stream request may fail for a reason of its own (an outage is none, nor a re-claim while it computes) before it is given up: an error reply on its list, else the rejected stream; acknowledged', check: wholeText(1, 1000) }),
];

export const FILE_SETTINGS: readonly FileSetting[] = SETTINGS.filter((s): s is FileSetting => s.home === 'file');
export const RUNTIME_SETTINGS: readonly RuntimeSetting[] = SETTINGS.filter((s): s is RuntimeSetting => s.home === 'runtime');

const byKey = new Map(SETTINGS.map((s) => [s.key, s]));

/** The declared setting `key`, if there is one. */
export function findSetting(key: string): Setting | undefined {
  return byKey.get(key);
}

/**
 * Key prefixes gflow's own settings use (`activity.`, `ingest.`, `temporal.`):
 * a runtime key under one of them must be a declared setting, so a typo is
 * refused instead of stored where nothing reads it.
 */
export const RESERVED_NAMESPACES: readonly string[] = [...new Set(SETTINGS.filter((s) => s.key.includes('.')).map((s) => s.key.split('.')[0]!))];

/**
 * The rule of runtime setting `key` applied to `value`.
 * @throws UserError (exit 2) naming `config <key>` and what is accepted.
 */
export function checkRuntimeSetting(key: string, value: string): void {
  const setting = byKey.get(key);
  if (setting?.home === 'runtime') setting.check(value);
}

/** The default of runtime setting `key`. */
export function runtimeDefault(key: string): string {
  const setting = byKey.get(key);
  if (setting?.home !== 'runtime') throw new Error(`${key} is not a runtime setting`);
  return setting.default;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuse text that is not valid UTF-8. Node decodes command-line arguments
 * and files with U+FFFD in place of invalid bytes, and a lone surrogate
 * becomes U+FFFD when encoded: storing either would silently alter the value.
 * @throws UserError (exit 2).
 */
export function assertUtf8Text(value: string, what: string): void {
  if (LONE_SURROGATE.test(value) || value.includes('\uFFFD')) {
    throw usageError(`${what}: the value is not valid UTF-8 text (it holds bytes that are no UTF-8 character, shown as U+FFFD); nothing was stored`);
  }
}

/** The settings in a config file, all optional, nested as written: derived from {@link FILE_SETTINGS}. */
const fileSchema = (() => {
  const top: Record<string, z.ZodType> = {};
  const nested = new Map<string, Record<string, z.ZodType>>();
  for (const s of FILE_SETTINGS) {
    const [head, tail] = s.key.split('.') as [string, string | undefined];
    if (tail === undefined) top[head] = s.schema;
    else nested.set(head, { ...nested.get(head), [tail]: s.schema });
  }
  for (const [head, fields] of nested) top[head] = z.object(fields).partial().strict();
  return z.object(top).partial().strict();
})();

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
  /** The Temporal web UI's base URL, for links from the console. */
  readonly temporalUiUrl?: string | undefined;
  /** The token the console requires of actions; unset: actions are allowed only while it listens on loopback. */
  readonly consoleToken?: string | undefined;
  /** Where the config came from, for messages. */
  readonly source: string;
}

export interface LoadConfigOptions {
  /** Explicit config file; else `GFLOW_CONFIG`, else `gflow.config.json` in `cwd` if present. */
  file?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** What the loader reads, before validation. */
interface Layers {
  readonly file: string;
  readonly fileExists: boolean;
  readonly fromFile: Record<string, unknown>;
  /** Settings the environment sets (non-empty), with the variable that set them. */
  readonly fromEnv: ReadonlyMap<string, { readonly variable: string; readonly value: unknown }>;
}

/** The config file a process reads and `gflow config set` writes. */
export function configFilePath(options: LoadConfigOptions = {}): { file: string; explicit: boolean } {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.GFLOW_CONFIG;
  return { file: resolve(cwd, explicit || 'gflow.config.json'), explicit: Boolean(explicit) };
}

function readLayers(options: LoadConfigOptions): Layers {
  const env = options.env ?? process.env;
  const { file, explicit } = configFilePath(options);
  const fileExists = existsSync(file);
  if (explicit && !fileExists) throw usageError(`config file ${file} does not exist`);
  const fromEnv = new Map<string, { variable: string; value: unknown }>();
  for (const s of FILE_SETTINGS) {
    const value = s.env === undefined ? undefined : env[s.env];
    if (value === undefined || value === '') continue;
    // The environment is text: a whole number is read as one, anything else is left for the schema to refuse.
    fromEnv.set(s.key, { variable: s.env!, value: s.type === 'whole' && /^\d{1,16}$/.test(value) ? Number(value) : value });
  }
  return { file, fileExists, fromFile: fileExists ? parseFile(file) : {}, fromEnv };
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const layers = readLayers(options);
  const merged = structuredClone(layers.fromFile);
  for (const [key, { value }] of layers.fromEnv) setIn(merged, key, value);
  const where = (key: string) => {
    const variable = layers.fromEnv.get(key)?.variable;
    return variable ? `environment ${variable}` : layers.file;
  };
  const parsed = fileSchema.safeParse(merged);
  if (!parsed.success) throw usageError(describeIssue(parsed.error.issues[0]!, where));
  const c = parsed.data as Record<string, unknown>;
  const get = <T>(key: string): T | undefined => getIn(c, key) as T | undefined;
  const def = (key: string): string => (byKey.get(key) as FileSetting).default!;
  const cwd = options.cwd ?? process.cwd();
  return {
    prefix: get<string>('prefix') ?? def('prefix'),
    tz: get<string>('tz') ?? def('tz'),
    jobsDir: resolve(cwd, get<string>('jobs') ?? def('jobs')),
    redisUrl: get<string>('redisUrl') ?? def('redisUrl'),
    mysqlUrl: get<string>('mysqlUrl') ?? def('mysqlUrl'),
    temporalAddress: get<string>('temporal.address'),
    temporalNamespace: get<string>('temporal.namespace') ?? def('temporal.namespace'),
    temporalCli: get<string>('temporalCli'),
    concurrency: get<number>('concurrency') ?? Number(def('concurrency')),
    slaveWaitSeconds: get<number>('slaveWaitSeconds') ?? Number(def('slaveWaitSeconds')),
    maxRerunPeriods: get<number>('maxRerunPeriods') ?? Number(def('maxRerunPeriods')),
    alertWebhook: get<string>('alertWebhook'),
    alertCommand: get<string>('alertCommand'),
    temporalUiUrl: get<string>('temporalUiUrl') ?? def('temporalUiUrl'),
    consoleToken: get<string>('consoleToken'),
    source: layers.fileExists ? layers.file : 'defaults and environment',
  };
}

/** A setting's value and where it came from, as `gflow config get` shows it. */
export interface SettingValue {
  readonly key: string;
  readonly home: SettingHome;
  /** As text; `undefined`: unset. */
  readonly value: string | undefined;
  /** `default`, the config file's path, `environment <VAR>`, or `redis`. */
  readonly source: string;
}

/**
 * Every file setting's value and source: the environment, else the config
 * file, else the default. Values are shown as written, unvalidated (so a
 * broken one can be seen); {@link loadConfig} is what validates.
 */
export function fileSettingValues(options: LoadConfigOptions = {}): SettingValue[] {
  const layers = readLayers(options);
  return FILE_SETTINGS.map((s) => {
    const env = layers.fromEnv.get(s.key);
    if (env) return { key: s.key, home: 'file', value: String(env.value), source: `environment ${env.variable}` };
    const inFile = getIn(layers.fromFile, s.key);
    if (inFile !== undefined) return { key: s.key, home: 'file', value: typeof inFile === 'string' ? inFile : JSON.stringify(inFile), source: layers.file };
    return { key: s.key, home: 'file', value: s.default, source: 'default' };
  });
}

/** What {@link setFileSetting} wrote. */
export interface FileSettingWritten {
  readonly key: string;
  readonly value: string | number;
  readonly file: string;
  /** The environment variable that overrides the file for this setting right now, if any. */
  readonly overriddenBy?: string;
}

/**
 * Write file setting `key` into the config file (created if missing), after
 * checking the value by the setting's rule and the whole file by the schema.
 * Other settings and their order are kept.
 * @throws UserError (exit 2) for an unknown key, a value the rule refuses,
 * text that is not valid UTF-8, or a file that is not valid (nothing is written).
 */
export function setFileSetting(key: string, input: string, options: LoadConfigOptions = {}): FileSettingWritten {
  const setting = byKey.get(key);
  if (setting?.home !== 'file') throw usageError(`${key} is not a setting of the config file: known: ${FILE_SETTINGS.map((s) => s.key).join(', ')}`);
  assertUtf8Text(input, `config ${key}`);
  const value = setting.type === 'whole' ? parseWholeNumber(input, `config ${key}`, setting.range) : input;
  const own = setting.schema.safeParse(value);
  if (!own.success) throw usageError(`config ${key} ${shown(input)} is not valid: ${own.error.issues[0]!.message}`);

  const env = options.env ?? process.env;
  const { file } = configFilePath(options);
  const exists = existsSync(file);
  const content = exists ? parseFile(file) : {};
  setIn(content, key, value);
  const parsed = fileSchema.safeParse(content);
  if (!parsed.success) throw usageError(`config ${key}: not written, ${file} would not be valid: ${describeIssue(parsed.error.issues[0]!, () => file)}`);
  writeAtomically(file, JSON.stringify(content, null, 2) + '\n', exists ? statSync(file).mode & 0o777 : undefined);
  const variable = setting.env !== undefined && env[setting.env] ? setting.env : undefined;
  return { key, value, file, ...(variable && { overriddenBy: variable }) };
}

/** A URL without its password, for messages and listings. */
export function redact(url: string): string {
  // WHATWG URL cannot parse a cluster's comma-separated hosts (and would hand the URL back whole, password included).
  if (isClusterUrl(url)) return url.replace(/^([^:/?#]*:\/\/[^:@/?#]*:)[^/?#@]*@/, '$1***@');
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function describeIssue(issue: z.core.$ZodIssue, where: (key: string) => string): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys.map((k) => [...path, k].join('.'));
    const known = FILE_SETTINGS.map((s) => s.key).filter((k) => path.length === 0 || k.startsWith(`${path.join('.')}.`));
    return `unknown setting ${unknown.join(', ')} in ${where(unknown[0]!)}: known settings are ${known.join(', ')}`;
  }
  const key = path.join('.');
  return `invalid setting ${key} in ${where(key)}: ${issue.message}`;
}

function parseFile(file: string): Record<string, unknown> {
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file));
  } catch (err) {
    if (err instanceof TypeError) throw usageError(`config file ${file} is not valid UTF-8 text`);
    throw usageError(`config file ${file} cannot be read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    throw usageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw usageError(`config file ${file} must hold one JSON object of settings`);
  return value as Record<string, unknown>;
}

function writeAtomically(file: string, text: string, mode: number | undefined): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text, mode === undefined ? {} : { mode });
    renameSync(temp, file);
  } catch (err) {
    throw usageError(`config file ${file} cannot be written: ${(err as Error).message}`);
  }
}

function getIn(obj: Record<string, unknown>, key: string): unknown {
  let current: unknown = obj;
  for (const part of key.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function setIn(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let current = obj;
  for (const part of parts.slice(0, -1)) {
    const next = current[part];
    // A nested object the file lacks is created; one the file spells wrong is replaced (the schema would refuse it anyway).
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[part] = {};
    current = current[part] as Record<string, unknown>;
  }
  current[parts[parts.length - 1]!] = value;
}

function shown(value: string): string {
  const text = JSON.stringify(value.length > 40 ? `${value.slice(0, 32)}…` : value);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

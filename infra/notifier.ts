/**
 * The alert notifier (the original gflow's SMS): one message per incident, sent to a
 * webhook (POST, JSON body) and/or a command (JSON on stdin). A send that
 * fails throws; the caller is a Temporal activity, so Temporal retries with
 * backoff, and receivers dedupe by `incidentId`.
 */
import { spawn } from 'node:child_process';
import { version } from '../package.json';

/** What a receiver gets: the incident, every game it concerns, and a line for people (`text`, also what Slack shows). */
export interface AlertMessage {
  /** Stable across retries of one incident: receivers drop repeats. */
  readonly incidentId: string;
  readonly kind: string;
  readonly prefix: string;
  readonly job: string;
  readonly task: string;
  readonly period: string;
  readonly runId: string;
  readonly summary: string;
  /** How many games the incident concerns; `games` lists them all. */
  readonly gameCount: number;
  readonly games: ReadonlyArray<{ readonly game?: number; readonly label: string; readonly error: string }>;
  /** One human line: `[gflow] gamesFailed report.active 20261124: …`. */
  readonly text: string;
  readonly at: string;
}

export interface NotifierOptions {
  readonly webhook?: string | undefined;
  readonly command?: string | undefined;
  /** How long one webhook call or command may take. @defaultValue 10 s */
  readonly timeoutMs?: number;
}

export interface Notifier {
  /** Where alerts go, for logs: the webhook's origin (its path may hold a secret) and/or `command`. */
  readonly targets: readonly string[];
  send(message: AlertMessage): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Longer errors are cut: 200 failed games must still make one reasonably sized message. */
const MAX_ERROR_CHARS = 500;
const TEXT_GAMES = 10;

/** A notifier for the configured targets, or `undefined` when none is configured. */
export function createNotifier(options: NotifierOptions): Notifier | undefined {
  const { webhook, command } = options;
  if (!webhook && !command) return undefined;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const senders: Array<(body: string, message: AlertMessage) => Promise<void>> = [];
  const targets: string[] = [];
  if (webhook) {
    senders.push((body, message) => postWebhook(webhook, body, message.incidentId, timeoutMs));
    targets.push(`webhook ${new URL(webhook).origin}`);
  }
  if (command) {
    senders.push((body, message) => runCommand(command, body, message, timeoutMs));
    targets.push('command');
  }
  return {
    targets,
    async send(message) {
      const body = JSON.stringify(message);
      // Both targets are tried even if one fails; a retry re-sends to both, and receivers dedupe.
      const results = await Promise.allSettled(senders.map((s) => s(body, message)));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
      if (errors.length > 0) throw new Error(`alert ${message.incidentId} not delivered: ${errors.join('; ')}`);
    },
  };
}

/** What went wrong, as the workflow saw it. */
export type IncidentKind = 'runFailed' | 'gamesFailed' | 'checksFailed' | 'timeout' | 'gaveUp' | 'rolledBack';

/** One incident: everything a receiver needs, every game it concerns, in one call. */
export interface Incident {
  readonly kind: IncidentKind;
  readonly job: string;
  readonly task: string;
  readonly period: string;
  /** The run's workflow id; with `kind` it makes the `incidentId` receivers dedupe by. */
  readonly runId: string;
  /** One line for people: "2 of 200 games failed", "cut off after 1800 s, 3 games pending". */
  readonly summary: string;
  readonly games?: ReadonlyArray<{ readonly game?: number; readonly label: string; readonly error: string }>;
}

/** The message for an incident: one per incident, however many games it lists. */
export function alertMessage(prefix: string, incident: Incident, now: Date = new Date()): AlertMessage {
  const games = (incident.games ?? []).map((g) => ({ ...g, error: truncate(g.error, MAX_ERROR_CHARS) }));
  const labels = games.slice(0, TEXT_GAMES).map((g) => g.label);
  const more = games.length > TEXT_GAMES ? ` and ${games.length - TEXT_GAMES} more` : '';
  const listed = labels.length > 0 ? ` (${labels.join(', ')}${more})` : '';
  return {
    incidentId: `${incident.runId}:${incident.kind}`,
    kind: incident.kind,
    prefix,
    job: incident.job,
    task: incident.task,
    period: incident.period,
    runId: incident.runId,
    summary: incident.summary,
    gameCount: games.length,
    games,
    text: `[${prefix}] ${incident.kind} ${incident.job}.${incident.task} ${incident.period}: ${incident.summary}${listed}`,
    at: now.toISOString(),
  };
}

async function postWebhook(url: string, body: string, incidentId: string, timeoutMs: number): Promise<void> {
  const origin = new URL(url).origin;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': `gflow/${version}`, 'idempotency-key': incidentId },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new Error(`webhook ${origin} unreachable: ${err instanceof Error ? err.message : String(err)}${cause}`);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new Error(`webhook ${origin} answered ${response.status}${text ? `: ${truncate(text.trim(), 200)}` : ''}`);
}

function runCommand(command: string, body: string, message: AlertMessage, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // A shell command line, so operators can write `mail -s gflow ops@example.com` or a script with arguments.
    const child = spawn(command, {
      shell: true,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, GFLOW_ALERT_TEXT: message.text, GFLOW_ALERT_KIND: message.kind, GFLOW_INCIDENT_ID: message.incidentId },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`alert command failed to start: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, over ${timeoutMs} ms?` : ''})` : `exited ${code}`;
      reject(new Error(`alert command ${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
    // A command that does not read stdin closes the pipe early: that is its business, not a failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
  });
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Asking an analysis, the one way every path does it (`gflow ask`, `POST
 * /api/analyses`, the Redis request stream, `ctx.ask`): parse the
 * parameters against the analysis (nothing starts on a bad request), answer
 * from the cache if it holds the answer, else start the analysis workflow —
 * or join the one already computing the same answer, since identical
 * parameters give the same workflow id.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { DEFAULT_ANALYSIS_TIMEOUT_SECONDS, parseParams, ParamError, type Analysis, type AnalysisAnswer, type NormalParams, type WholeRange } from '../core/analysis';
import { Names } from '../core/names';
import { searchAttributes } from '../core/search-attributes';
import type { Config } from '../infra/config';
import type { JobRegistry } from '../infra/jobs';
import { getMysql } from '../infra/mysql';
import type { Redis } from '../infra/redis';
import type { AnalysisInput, Delivery } from '../activities/analysis';
import { cachedAnswer, paramsDigest } from '../store/analyses/answers';
import type { AnalysisOrigin } from '../store/ledger/analyses';
import { dataSettings } from '../store/config/runtime-config';
import { getGame } from '../store/games/registry';
import { analysisRun } from '../workflows/analysis';
import { replyToSignal } from '../workflows/messages';

/** What asking needs besides the Temporal client. */
export interface AskDependencies {
  readonly config: Config;
  readonly registry: JobRegistry;
  readonly redis: Redis;
}

/** A request checked against its analysis: what it computes and under which id. */
export interface PreparedAsk {
  readonly job: string;
  readonly analysis: Analysis;
  /** `<job>.<analysis>`. */
  readonly name: string;
  readonly params: NormalParams;
  /** The workflow that computes it (and the answer's id). */
  readonly id: string;
}

/**
 * Check a request: the analysis exists, every parameter is known, present
 * and well typed, its day range within the cap.
 * @throws ParamError naming the field (CLI: exit 2; HTTP: 400; stream: an error reply).
 */
export async function prepareAsk(deps: AskDependencies, analysis: unknown, params: unknown): Promise<PreparedAsk> {
  if (typeof analysis !== 'string') throw new ParamError('analysis', 'analysis must be "<job>.<analysis>", e.g. "report.retention"');
  const found = deps.registry.analysis(analysis);
  const maxDays = (await dataSettings(deps.redis, new Names(deps.config.prefix))).analyses.maxDays;
  const parsed = parseParams(found.analysis, params ?? {}, maxDays);
  await refuseUnknownGames(deps.config, found.analysis, parsed);
  const name = `${found.job}.${found.analysis.name}`;
  const id = new Names(deps.config.prefix).analysisRunId(found.job, found.analysis.name, readable(found.analysis, parsed), paramsDigest(name, parsed));
  return { job: found.job, analysis: found.analysis, name, params: parsed, id };
}

/**
 * A `param.game()` the games registry does not know is refused here, like
 * any bad parameter (exit 2, a 400, an error reply on the stream): computed,
 * it would start a workflow only to fail in it, or count nobody.
 */
async function refuseUnknownGames(config: Config, analysis: Analysis, params: NormalParams): Promise<void> {
  const games = Object.entries(analysis.params).flatMap(([field, spec]) => (spec.kind === 'game' && typeof params[field] === 'number' ? [[field, params[field]] as const] : []));
  if (games.length === 0) return;
  const pool = getMysql(config.mysqlUrl);
  const names = new Names(config.prefix);
  for (const [field, id] of games) {
    if (!(await getGame(pool, names, id))) throw new ParamError(field, `parameter ${field} ${id}: no such game in the games registry (gflow games list shows them)`);
  }
}

/** `game=7,from=20261101,to=20261115,server=3-5`: the parameters in declared order, for the id. */
function readable(analysis: Analysis, params: NormalParams): string {
  return Object.keys(analysis.params)
    .filter((k) => params[k] !== undefined)
    .map((k) => {
      const v = params[k]!;
      const shown = typeof v === 'object' ? `${(v as WholeRange).from}-${(v as WholeRange).to}` : String(v);
      return `${k}=${encodeURIComponent(shown)}`;
    })
    .join(',');
}

/** Where an answer stands. */
export type AskState =
  | { readonly status: 'done'; readonly answer: AnalysisAnswer }
  | { readonly status: 'running'; readonly id: string }
  | { readonly status: 'failed'; readonly id: string; readonly error: string };

export interface AskOptions {
  readonly origin: AnalysisOrigin;
  readonly startedBy?: string;
  /** Wait for the answer instead of returning `running`. */
  readonly wait?: boolean;
}

/** The cached answer, or the workflow computing it (started, or joined). */
export async function ask(client: Client, deps: AskDependencies, prepared: PreparedAsk, options: AskOptions): Promise<AskState> {
  const cached = await cachedAnswer(deps.redis, new Names(deps.config.prefix), prepared.name, prepared.params);
  if (cached) return { status: 'done', answer: cached };
  const handle = await client.workflow.start(analysisRun, {
    workflowId: prepared.id,
    taskQueue: new Names(deps.config.prefix).sharedQueue,
    args: [inputOf(deps.config, prepared, options)],
    // The same question already being computed: join it rather than compute it twice.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: analysisAttributes(deps.config),
  });
  if (!options.wait) return { status: 'running', id: handle.workflowId };
  return answerOf(client, handle.workflowId);
}

/**
 * Answer a stream request: from the cache by the caller, else by the
 * analysis workflow, started with this request's reply waiting, or told of
 * it when already running (Temporal's signal-with-start does both atomically).
 */
export async function askForReply(client: Client, deps: AskDependencies, prepared: PreparedAsk, delivery: Delivery): Promise<string> {
  const handle = await client.workflow.signalWithStart(analysisRun, {
    workflowId: prepared.id,
    taskQueue: new Names(deps.config.prefix).sharedQueue,
    args: [inputOf(deps.config, prepared, { origin: 'stream' })],
    signal: replyToSignal,
    signalArgs: [delivery],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: analysisAttributes(deps.config),
  });
  return handle.workflowId;
}

/**
 * Only the installation's prefix: with the job's attribute, `gflow top`,
 * `status` and `stop` — which find a job's runs by it — would take an
 * analysis for a run of a task (`report.retention` is both).
 */
function analysisAttributes(config: Config) {
  return [{ key: searchAttributes.prefix, value: config.prefix }];
}

function inputOf(config: Config, prepared: PreparedAsk, options: Pick<AskOptions, 'origin' | 'startedBy'>): AnalysisInput {
  return {
    prefix: config.prefix,
    analysis: prepared.name,
    params: prepared.params,
    origin: options.origin,
    ...(options.startedBy && { startedBy: options.startedBy }),
    timeoutSeconds: prepared.analysis.timeoutSeconds ?? DEFAULT_ANALYSIS_TIMEOUT_SECONDS,
  };
}

/** The state of request `id` (`GET /api/analyses/<id>`, `gflow ask --wait`); `undefined` when Temporal has no such workflow. */
export async function answerOf(client: Client, id: string, { wait = true }: { readonly wait?: boolean } = {}): Promise<AskState> {
  const handle = client.workflow.getHandle<typeof analysisRun>(id);
  if (!wait) {
    const { status, type } = await handle.describe();
    if (type !== 'analysisRun') throw new WorkflowNotFoundError(`${id} is not an analysis`, id, undefined);
    if (status.name === 'RUNNING') return { status: 'running', id };
  }
  try {
    return { status: 'done', answer: await handle.result() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw err;
    return { status: 'failed', id, error: causeOf(err) };
  }
}

/** The analysis's own message, under Temporal's "Workflow execution failed". */
function causeOf(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}


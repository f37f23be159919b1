/**
 * `gflow ask <job>.<analysis> --param k=v …`: ask an analysis from the
 * command line, as a front end would over HTTP or the request stream; an
 * answer in the cache comes back at once, otherwise the analysis runs on
 * the slaves (`--wait` for it, or look it up later by the printed id).
 */
import { Command } from 'commander';
import { failure, usageError } from '../../core/errors';
import type { AskState } from '../../client/analyses';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';

interface AskOptions {
  param: Record<string, string>;
  wait?: boolean;
  json?: boolean;
  reason?: string;
}

/** `--param k=v`, repeated; a name given twice is a typo, not an override. */
function paramOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw usageError(`--param ${JSON.stringify(value)}: expected name=value, e.g. --param game=7`);
  const name = value.slice(0, eq);
  if (name in previous) throw usageError(`--param ${name} is given twice`);
  return { ...previous, [name]: value.slice(eq + 1) };
}

export function askCommand(): Command {
  return new Command('ask')
    .description("ask an analysis (a job's on-demand question): answered from the cache or computed on the slaves")
    .argument('<analysis>', 'job.analysis, e.g. report.retention (gflow jobs lists them)')
    .option('-p, --param <name=value>', 'a parameter, repeated: --param game=7 --param from=20261101', paramOption, {})
    .option('--wait', 'wait for the answer (default: print the request id unless the answer is cached)')
    .option('--json', 'print the answer (or the request) as JSON')
    .option('--reason <text>', 'why: recorded in the ledger with your user and host')
    .addHelpText('after', `
Examples:
  $ gflow ask report.retention --param game=7 --param from=20261101 --param to=20261115 --wait
  $ gflow ask report.active -p game=7 -p from=20261101 -p to=20261107 -p server=3,5 --json --wait`)
    .action(async function (this: Command, spec: string, options: AskOptions) {
      const { config } = cliContext(this);
      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const redis = lazyImport('infra/redis').getRedis(config.redisUrl);
      const { prepareAsk, ask } = lazyImport('client/analyses');
      const deps = { config, registry, redis };
      // Every refusal happens here, before anything starts.
      const prepared = await prepareAsk(deps, spec, options.param);
      const by = lazyImport('infra/who').startedBy(options.reason);
      // A cached answer needs no Temporal, as over HTTP and on the stream: served while Temporal is down.
      const cached = await lazyImport('store/analyses/answers').cachedAnswer(redis, new (lazyImport('core/names').Names)(config.prefix), prepared.name, prepared.params);
      const state: AskState = cached
        ? { status: 'done', answer: cached }
        : await lazyImport('client/connect').withClient(config, (client) => ask(client, deps, prepared, { origin: 'cli', startedBy: `${by.user}@${by.host}`, wait: options.wait ?? false }));
      if (state.status === 'failed') throw failure(`${prepared.name} failed: ${state.error} (request ${state.id})`);
      if (state.status === 'running') {
        if (options.json) return printJson({ id: state.id, status: 'running' });
        return print(`${prepared.name} is running as ${state.id} (gflow ask … --wait to wait for it; the answer is cached once computed)`);
      }
      const { answer } = state;
      if (options.json) return printJson(answer);
      const how = answer.cached ? 'from the cache' : 'computed';
      const params = Object.entries(answer.params).map(([k, v]) => `${k}=${typeof v === 'object' ? `${v.from}-${v.to}` : v}`);
      print(`${answer.analysis} ${params.join(',')}: ${answer.provisional ? 'provisional (covers a day not yet over)' : 'final'}, ${how} at ${answer.computedAt}`);
      printResult(answer.result);
    });
}

/** A result holding a list of flat records prints as a table; anything else as JSON. */
function printResult(result: unknown): void {
  const rows = typeof result === 'object' && result !== null ? Object.values(result).find(isRecordList) : undefined;
  if (!rows || rows.length === 0) return printJson(result);
  const headers = Object.keys(rows[0]!);
  printTable(
    headers,
    rows.map((r) => headers.map((h) => cell(r[h]))),
  );
}

function isRecordList(value: unknown): value is Array<Record<string, unknown>> {
  return Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.map((v) => (v === null ? '-' : String(v))).join(' ');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

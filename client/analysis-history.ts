/**
 * The ledger's record of analyses, as operators filter it: one reading of
 * the filters for `gflow analyses` and the console's recent computations,
 * so a value one refuses the other refuses in the same words.
 */
import { ParamError, splitAnalysisName } from '../core/analysis';
import { badValue, parseWholeNumber } from '../core/parse';
import { DEFAULT_ANALYSIS_LIST, isAnalysisOutcome, MAX_ANALYSIS_LIST, type AnalysisListFilter } from '../store/ledger/analyses';

/** The filters as given: an option's text, a query parameter; `''` (an empty form field) is no filter. */
export interface RawAnalysisListFilter {
  readonly job?: string;
  readonly analysis?: string;
  readonly outcome?: string;
  readonly limit?: string;
}

type Field = keyof RawAnalysisListFilter;

/**
 * The filters checked, as the ledger takes them: `analysis` is `retention`
 * (any job's) or `report.retention` (which also names the job), `outcome`
 * running, ok or failed, `limit` 1 to {@link MAX_ANALYSIS_LIST} (default
 * {@link DEFAULT_ANALYSIS_LIST}).
 *
 * @param label how the caller names a field in a message: `--job` on the CLI, `job` in a query.
 * @throws ParamError (a usage error, exit 2) naming the field.
 * @example
 * ```ts
 * analysisListFilter({ analysis: 'report.retention', outcome: 'failed' }, (f) => `--${f}`)
 * // → { job: 'report', analysis: 'retention', outcome: 'failed', limit: 50 }
 * ```
 */
export function analysisListFilter(raw: RawAnalysisListFilter, label: (field: Field) => string): AnalysisListFilter & { readonly limit: number } {
  const given = (field: Field) => (raw[field] === undefined || raw[field] === '' ? undefined : raw[field]);
  const [job, analysis, outcome, limitText] = [given('job'), given('analysis'), given('outcome'), given('limit')];
  if (outcome !== undefined && !isAnalysisOutcome(outcome)) throw new ParamError('outcome', badValue(label('outcome'), outcome, 'running, ok or failed').message);
  let limit: number = DEFAULT_ANALYSIS_LIST;
  if (limitText !== undefined) {
    try {
      limit = parseWholeNumber(limitText, label('limit'), { min: 1, max: MAX_ANALYSIS_LIST });
    } catch (err) {
      throw new ParamError('limit', (err as Error).message);
    }
  }
  const named = analysis?.includes('.') ? splitAnalysisName(analysis) : undefined;
  if (named && job !== undefined && named.job !== job) {
    throw new ParamError('analysis', `${label('analysis')} ${analysis} is an analysis of job ${named.job}, and ${label('job')} says ${job}: give one of them, or the same job`);
  }
  const [ofJob, name] = [named?.job ?? job, named?.analysis ?? analysis];
  return { ...(ofJob !== undefined && { job: ofJob }), ...(name !== undefined && { analysis: name }), ...(outcome !== undefined && { outcome }), limit };
}

/**
 * The one list of gflow's custom search attributes (name and type), and
 * everything derived from it: the pairs a run is started with, the dev
 * server's `--search-attribute` flags, the types a cluster registers
 * (`gflow setup`). Pure code: safe to import from workflows.
 */
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  TypedSearchAttributes,
  type SearchAttributePair,
} from '@temporalio/common';

/** A search attribute's name and type, as `defineSearchAttributeKey` makes it. */
export type SearchAttributeKey = ReturnType<typeof defineSearchAttributeKey<SearchAttributeType>>;

/** Custom search attributes: register them on the server (`gflow setup`, or the embedded dev server does it). */
export const searchAttributes = {
  job: defineSearchAttributeKey('GflowJob', SearchAttributeType.KEYWORD),
  task: defineSearchAttributeKey('GflowTask', SearchAttributeType.KEYWORD),
  period: defineSearchAttributeKey('GflowPeriod', SearchAttributeType.KEYWORD),
  prefix: defineSearchAttributeKey('GflowPrefix', SearchAttributeType.KEYWORD),
  rerun: defineSearchAttributeKey('GflowRerun', SearchAttributeType.KEYWORD),
  /** How a run ended (`ok`, `partial`, `failed`, `cancelled`, `timed_out`), set when it ends: a filter finds partial runs. */
  outcome: defineSearchAttributeKey('GflowOutcome', SearchAttributeType.KEYWORD),
} as const;

/** The custom search attributes as a list, e.g. for `TestWorkflowEnvironment`'s `server.searchAttributes`. */
export const searchAttributeList: readonly SearchAttributeKey[] = Object.values(searchAttributes);

/** Set by the server on every run a Schedule starts: when it was due. Temporal's own: never registered by gflow. */
export const scheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/**
 * Each attribute's type as the `temporal` CLI (`--search-attribute Name=Type`)
 * and the web UI spell it, e.g. `{ GflowJob: 'Keyword' }`.
 */
export const searchAttributeTypes: Readonly<Record<string, string>> = Object.fromEntries(
  searchAttributeList.map((key) => [key.name, TypedSearchAttributes.toMetadataType(key.type)]),
);

/** The dev server's start flags registering every attribute: `['--search-attribute', 'GflowJob=Keyword', ...]`. */
export function devServerSearchAttributeArgs(): string[] {
  return Object.entries(searchAttributeTypes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}

/**
 * Each attribute's type as the operator API's `IndexedValueType` enum names
 * it, e.g. `{ GflowJob: 'INDEXED_VALUE_TYPE_KEYWORD' }`: look the number up in
 * `temporal.api.enums.v1.IndexedValueType` (`@temporalio/proto`, not for workflows).
 */
export const searchAttributeIndexedTypes: Readonly<Record<string, `INDEXED_VALUE_TYPE_${SearchAttributeType}`>> = Object.fromEntries(
  searchAttributeList.map((key) => [key.name, `INDEXED_VALUE_TYPE_${key.type}` as const]),
);

/** What a run is found by: its installation, job and, where it has them, task, period and rerun. */
export interface RunAttributes {
  readonly prefix: string;
  readonly job: string;
  readonly task?: string;
  readonly period?: string;
  readonly rerun?: string;
}

/** The typed search attributes a run (or a Schedule's action) is started with. */
export function runSearchAttributes(run: RunAttributes): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [
    { key: searchAttributes.prefix, value: run.prefix },
    { key: searchAttributes.job, value: run.job },
  ];
  if (run.task !== undefined) pairs.push({ key: searchAttributes.task, value: run.task });
  if (run.period !== undefined) pairs.push({ key: searchAttributes.period, value: run.period });
  if (run.rerun !== undefined) pairs.push({ key: searchAttributes.rerun, value: run.rerun });
  return pairs;
}

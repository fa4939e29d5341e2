import type { Config } from '../config';
import type { Knex } from 'knex';
import type { Registry } from '../definitions/registry';
import { MAX_REPORTED_ERRORS, type Problem } from '../errors';
import type { IndexerSet } from '../indexing/registry';
import { bodyEvents, type BodyFormat } from './body/read';
import type { Sql } from '../db/sql';
import { NearStatic } from '../definitions/sql/near-static';
import { languageContext } from '../definitions/translations';
import { SyncExecution, type Execution, type ExecutionContext, type ExecutionOptions } from './commit/executor';
import { SyncPipeline } from './pipeline';
import { withSpan } from '../observability/tracing';
import type { WritePath } from '../observability/observers';
import type { SyncResult } from './result';
import { allows } from '../auth/privileges';
import { BoundedPreviewList, type PreviewOutcome, type PreviewSink } from './preview-types';

export interface SyncLimits {
  maxRecords: number;
  retries: number;
  indexingMaxAttempts: number;
  /** Payload records planned and written together (SYNC_CHUNK_RECORDS). */
  chunkRecords: number;
  /** Planned rows kept so that a deadlock can re-run the transaction; past it, a deadlock is answered 503. */
  retryWindowRows: number;
  /** SYNC_CLEAR_MAX_RATIO: the clear guard's default share. */
  clearMaxRatio?: number;
}

/** The limits of the configuration the sync reads (one place for the API process and the job runner). */
export function syncLimitsOf(
  config: Pick<Config, 'SYNC_MAX_RECORDS' | 'SYNC_MAX_RETRIES' | 'INDEXING_MAX_ATTEMPTS' | 'SYNC_CHUNK_RECORDS' | 'SYNC_RETRY_WINDOW_ROWS' | 'SYNC_CLEAR_MAX_RATIO'>,
): SyncLimits {
  return {
    maxRecords: config.SYNC_MAX_RECORDS,
    retries: config.SYNC_MAX_RETRIES,
    indexingMaxAttempts: config.INDEXING_MAX_ATTEMPTS,
    chunkRecords: config.SYNC_CHUNK_RECORDS,
    retryWindowRows: config.SYNC_RETRY_WINDOW_ROWS,
    clearMaxRatio: config.SYNC_CLEAR_MAX_RATIO,
  };
}

/** One sync request as the core sees it: bytes, their format, and typed options (the HTTP edge parsed the headers). */
export interface SyncCall {
  body: AsyncIterable<Buffer | string>;
  format: BodyFormat;
  options: ExecutionOptions;
  /** What the calling integration may do; a request needing more is refused and nothing is written. */
  privileges: readonly string[];
  requestId?: string;
  /** Payload records read so far and written so far, after every chunk. */
  onProgress?: (progress: { records: number; done: number }) => void;
  /** First in the request's transaction (again in a re-run after a deadlock); may throw to refuse the request. */
  onBegin?: ExecutionContext['onBegin'];
  /** Last in the transaction of a request that succeeds, with its outcome, before COMMIT (never on a dry run). */
  beforeCommit?: (sql: Sql, outcome: SyncOutcome) => Promise<void>;
  /** A preview's per-record list goes here (an NDJSON answer's spool); else into a bounded list answered with it. */
  previewSink?: PreviewSink;
}

/** What a request that went through did. */
export interface SyncOutcome {
  result: SyncResult;
  /** Records rolled back alone under fail-on-error: false. */
  errors: Problem[];
  /** Payload records read. */
  records: number;
  /** fail-on-error: false was asked for. */
  partial: boolean;
  /** x-indexing: inline, queued <n>, disabled. */
  indexing: string;
  /** x-indexing-skip-ignored: names in indexing-skip of another system's indexers that bulksync does not have. */
  indexingSkipIgnored: readonly string[];
  /** A dry run's preview (`Prefer: return=representation`); `records` unless they went to the caller's sink. */
  preview?: PreviewOutcome;
}

export type SyncAnswer = ({ ok: true } & SyncOutcome) | { ok: false; problems: Problem[]; records: number };

/**
 * The sync pipeline: streamed body → operations → planned chunks → one transaction (chunk n written while chunk n+1
 * is read and planned) → indexing, events, commit → result. Expected failures come back as problems, never thrown.
 */
export interface SyncServiceDeps {
  knex: Knex;
  registry: Registry;
  indexers: IndexerSet;
  limits: SyncLimits;
  /** Told of each retried transaction (serialization failure, deadlock): the process's log and metrics. */
  onRetry?: (attempt: number, error: unknown) => void;
  /** Told how each run of a chunk's commands was written: the process's metrics. */
  onWritePath?: (path: WritePath) => void;
}

export class SyncService {
  private readonly statics: NearStatic;

  private readonly knex: Knex;
  private readonly registry: Registry;
  private readonly indexers: IndexerSet;
  private readonly limits: SyncLimits;
  private readonly onRetry?: (attempt: number, error: unknown) => void;
  private readonly onWritePath?: (path: WritePath) => void;

  constructor(deps: SyncServiceDeps) {
    ({ knex: this.knex, registry: this.registry, indexers: this.indexers, limits: this.limits, onRetry: this.onRetry, onWritePath: this.onWritePath } = deps);
    this.statics = new NearStatic(this.knex, this.registry);
  }

  async sync(call: SyncCall): Promise<SyncAnswer> {
    // The languages `translations` may name, the records json values reference and the events webhooks want: cached,
    // one round trip to learn whether they changed.
    const statics = await this.statics.current();
    const language = languageContext(call.options.language, statics.languages);
    if (!language.ok) return { ok: false, problems: [language.problem], records: 0 };
    const list = call.options.preview && !call.previewSink ? new BoundedPreviewList() : undefined;
    const previewSink = call.previewSink ?? list;
    const inputs = { i18n: language.value, lookups: statics.lookups, clearMaxRatio: this.limits.clearMaxRatio };
    const execution = new SyncExecution({
      knex: this.knex,
      registry: this.registry,
      indexers: this.indexers,
      options: call.options,
      retries: this.limits.retries,
      indexingMaxAttempts: this.limits.indexingMaxAttempts,
      retryWindowRows: this.limits.retryWindowRows,
      requestId: call.requestId,
      eventNames: statics.eventNames,
      onRetry: this.onRetry,
      onWritePath: this.onWritePath,
      onBegin: call.onBegin,
      beforeCommit: call.beforeCommit && ((sql, done) => call.beforeCommit!(sql, outcome(done))),
      preview: call.options.preview && previewSink ? { sink: previewSink, languageId: language.value.languageId, mayRead: (e) => allows(call.privileges, e, 'read') } : undefined,
    });
    // Set once the body is planned: the outcome of a request that commits counts what planning refused too.
    let planningProblems: Problem[] = [];
    let records = 0;
    const partial = !call.options.failOnError;
    const outcome = (done: Execution): SyncOutcome => ({
      result: done.result,
      errors: [...planningProblems, ...done.errors].slice(0, MAX_REPORTED_ERRORS),
      records,
      partial,
      indexing: done.indexing,
      indexingSkipIgnored: call.options.indexing.ignored ?? [],
      ...(done.changes ? { preview: { changes: done.changes, records: list?.records, omitted: list?.omitted ?? 0 } } : {}),
    });
    const pipeline = new SyncPipeline({
      registry: this.registry,
      limits: { maxRecords: this.limits.maxRecords, chunkRecords: this.limits.chunkRecords },
      privileges: call.privileges,
      failOnError: call.options.failOnError,
      execution,
      inputs,
      onProgress: call.onProgress,
    });
    let planned;
    try {
      planned = await withSpan('sync.read', { 'bulksync.format': call.format }, () => pipeline.run(bodyEvents(call.body, call.format)), (p) => ({ 'bulksync.records': p.records }));
    } catch (e) {
      // The client went away, the connection broke, or a bug: nothing of the request may stay.
      await execution.abort();
      throw e;
    }
    records = planned.records;
    planningProblems = planned.problems;
    if (planned.stopped) {
      await execution.abort();
      return { ok: false, problems: planned.problems, records };
    }
    const failsRequest = (p: Problem) => call.options.failOnError || !(typeof p.meta?.index === 'number' && p.meta.index >= 0);
    if (planned.problems.some(failsRequest)) {
      // Lookups of the chunks ran for their problems; nothing is kept.
      const found = execution.problems;
      await execution.abort();
      return { ok: false, problems: [...planned.problems, ...found].slice(0, MAX_REPORTED_ERRORS), records };
    }
    const done = await execution.finish();
    if ('problems' in done) return { ok: false, problems: [...planned.problems, ...done.problems].slice(0, MAX_REPORTED_ERRORS), records };
    return { ok: true, ...outcome(done) };
  }
}

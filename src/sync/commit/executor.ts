import type { Knex } from 'knex';
import { isRetryable, openTransaction, retryBackoff, type Transaction } from '../../db/sql';
import type { Registry } from '../../definitions/registry';
import { MAX_REPORTED_ERRORS, type Problem } from '../../errors';
import { RequestEvents } from '../../events/emit';
import type { IndexingRequest } from '../../indexing/behavior';
import { IndexMarks } from '../../indexing/marks';
import type { IndexerSet } from '../../indexing/registry';
import { lockNames, lockStatements, type NamedLock } from '../../write/locks';
import { savepoints } from '../../write/savepoints';
import { CHUNK_SAVEPOINT } from './happy-path';
import { indexerLocks } from './indexer-locks';
import { forgetResolutions, planRows } from '../plan/pending';
import { RequestKeys } from './resolve';
import { SyncResult } from '../result';
import { Preview, type PreviewSettings } from './preview';
import type { EntityChanges } from '../preview-types';
import { RequestState, type OperationState, type WritePath } from './state';
import { withSpan } from '../../observability/tracing';
import { finishWork, runChunk, type Chunk } from './unit-of-work';

/** What the request asked for, typed (the HTTP edge parses the headers). */
export interface ExecutionOptions {
  failOnError: boolean;
  indexing: IndexingRequest;
  /** sw-skip-trigger-flow: no events. */
  skipEvents: boolean;
  /** Prefer: return=minimal: counts instead of id lists. */
  minimal: boolean;
  /** Everything runs, then the transaction is rolled back (`dry-run: true`). */
  dryRun?: boolean;
  /** The request's language (sw-language-id, as sent): plain translated values are written for it. */
  language?: string;
  /** A dry run that answers what it would change (`Prefer: return=representation`). */
  preview?: boolean;
}

export interface ExecutionContext {
  knex: Knex;
  registry: Registry;
  indexers: IndexerSet;
  options: ExecutionOptions;
  /** Re-runs of the transaction after a deadlock or serialization failure. */
  retries: number;
  indexingMaxAttempts: number;
  /** Planned rows kept for such a re-run; a request past it that loses to a deadlock is answered 503. */
  retryWindowRows: number;
  requestId?: string;
  /** Event names active webhooks subscribe to, as read before the request (else read in its transaction). */
  eventNames?: readonly string[];
  onRetry?: (attempt: number, error: unknown) => void;
  /** Told how each run of a chunk's commands was written (a transaction run again is told again). */
  onWritePath?: (path: WritePath) => void;
  /** First in every transaction the request opens (a re-run's too); may throw to refuse the request. */
  onBegin?: (sql: Transaction['sql']) => Promise<void>;
  /** Last step inside the transaction of a request that succeeds (e.g. storing its answer with its writes). */
  beforeCommit?: (sql: Transaction['sql'], execution: Execution) => Promise<void>;
  /** Set for a preview (a dry run only): where its records go, and its language. */
  preview?: PreviewSettings;
}

export type { Chunk };

export interface Execution {
  result: SyncResult;
  /** Problems of records rolled back under fail-on-error: false. */
  errors: Problem[];
  /** inline, queued <n>, disabled. */
  indexing: string;
  /** A preview's summary per entity. */
  changes?: Record<string, EntityChanges>;
}

/**
 * The request's one transaction, fed chunk after chunk. Under the default (fail on error) a chunk with problems
 * makes the request fail: later chunks are still looked up (to report their problems too) but nothing more is
 * written, and the transaction is rolled back at the end. Chunks must be given one at a time (the pipeline's queue
 * does that).
 */
export class SyncExecution {
  private tx: Transaction | undefined;
  private result: SyncResult;
  private known: RequestState;
  private events: RequestEvents;
  private operations = new Map<string, OperationState>();
  private held = new Map<string, NamedLock['mode']>();
  /** The chunks whose locks were taken ahead (taken again, first, when the transaction is re-run). */
  private ahead: readonly Chunk[] = [];
  /** Operation → its entity, for operations whose references may wait for later chunks. */
  private readonly deferFor = new Map<string, string>();
  /** Chunks run so far, kept for a re-run while they fit the retry window. */
  private retained: Chunk[] | undefined = [];
  private retainedRows = 0;
  /** Problems the transaction found (a re-run finds them again). */
  private executed: Problem[] = [];
  /** A stage before this one (planning) failed the request: lookups go on, writes stop. */
  private stopped = false;
  /** Payload records planning refused per operation (partial success). */
  private readonly refusedByOperation = new Map<string, number>();
  /** The transaction can take no more statements (a statement failed in it). */
  private aborted = false;
  /** CHUNK_SAVEPOINT was taken with BEGIN and nothing ran since: the first chunk need not take it again. */
  private savepointTaken = false;
  private readonly preview: Preview | undefined;

  constructor(private readonly ctx: ExecutionContext) {
    this.preview = ctx.preview && ctx.options.dryRun ? new Preview(ctx.registry, ctx.preview) : undefined;
    this.result = new SyncResult(ctx.options.minimal);
    this.known = this.freshState();
    this.events = new RequestEvents(ctx.requestId, ctx.options.skipEvents, ctx.eventNames);
  }

  /** The problems the transaction found: failed records (partial), or why the request fails. */
  get problems(): Problem[] {
    return this.executed;
  }

  /** Fail on error and a problem was found, or planning failed the request: nothing more is written. */
  get failing(): boolean {
    return this.stopped || (this.ctx.options.failOnError && this.executed.length > 0);
  }

  /** Planning failed the request: from now on chunks are only looked up (to report their problems), not written. */
  stopWriting(): void {
    this.stopped = true;
  }

  /** Counts records that planning refused under partial success (the snapshot clear then skips). */
  refused(operation: string, count: number): void {
    if (!count) return;
    this.refusedByOperation.set(operation, (this.refusedByOperation.get(operation) ?? 0) + count);
    const s = this.operations.get(operation);
    if (s) s.failed += count;
  }

  private found(problems: readonly Problem[]): void {
    for (const p of problems) if (this.executed.length < MAX_REPORTED_ERRORS) this.executed.push(p);
  }

  /**
   * Takes the locks of the chunks known before the first write all at once, in name order (a lock taken later, by a
   * chunk of a long body, could invert the order against another request: PostgreSQL then reports a deadlock).
   */
  async lockAhead(chunks: readonly Chunk[]): Promise<void> {
    if (!chunks.length) return;
    await this.withRetries(async () => {
      const wanted = indexerLocks(this.ctx.registry, chunks.map((c) => c.plan), this.ctx.indexers, this.ctx.options.indexing);
      if (this.tx) await lockNames(this.tx.sql, wanted);
      else {
        // BEGIN, the locks and the first chunk's savepoint in one round trip (not past a hook that runs first).
        const withSavepoint = !this.ctx.onBegin;
        await this.transaction([...lockStatements(wanted), ...(withSavepoint ? [savepoints.statement(CHUNK_SAVEPOINT)] : [])]);
        this.savepointTaken = withSavepoint;
      }
      for (const l of wanted) this.held.set(l.name, l.mode);
      this.ahead = chunks;
    }, 'before-last');
  }

  /** Runs a chunk; `upcoming` gives the chunk after it once that one is planned (see happy-path.ts, prepareEarly). */
  async run(chunk: Chunk, upcoming?: () => Chunk | undefined): Promise<void> {
    if (this.aborted || this.executed.length >= MAX_REPORTED_ERRORS) return;
    if (this.retained) {
      this.retained.push(chunk);
      this.retainedRows += chunk.rows;
      if (this.retainedRows > this.ctx.retryWindowRows) this.retained = undefined;
    }
    const attrs = { 'bulksync.entity': chunk.plan.operation.entity.name, 'bulksync.action': chunk.plan.operation.action, 'bulksync.rows': chunk.rows };
    await withSpan('sync.write', attrs, () => this.withRetries(() => this.execute(chunk, upcoming), 'before-last'));
  }

  /** After the last chunk: indexing and events in the transaction, then commit; or roll back if the request failed. */
  async finish(): Promise<Execution | { problems: Problem[] }> {
    if (this.failing || this.aborted) {
      await this.close(false);
      return { problems: this.problems };
    }
    const execution = await this.withRetries(async () => {
      const tx = await this.transaction();
      const { options, indexers, indexingMaxAttempts, beforeCommit } = this.ctx;
      const answer = (indexing: string): Execution => ({ result: this.result, errors: this.problems, indexing, changes: this.preview?.changes() });
      // Phase 11 stores the answer with the writes (a dry run, which commits nothing, stores none).
      const store = options.dryRun || !beforeCommit ? undefined : (sql: Transaction['sql'], indexing: string) => beforeCommit(sql, answer(indexing));
      return answer(await finishWork({ sql: tx.sql, marks: this.known.marks, indexing: options.indexing, indexers, indexingMaxAttempts, events: this.events, store }));
    }, 'all');
    if (!execution || this.aborted) {
      await this.close(false);
      return { problems: this.problems };
    }
    await withSpan('sync.commit', { 'bulksync.dry_run': this.ctx.options.dryRun }, () => this.close(!this.ctx.options.dryRun));
    return execution;
  }

  /** Rolls back and gives the connection back (a failed or abandoned request). */
  async abort(): Promise<void> {
    await this.close(false);
  }

  private async close(commit: boolean): Promise<void> {
    const tx = this.tx;
    this.tx = undefined;
    if (tx) await tx.end(commit);
  }

  private async transaction(prelude: readonly string[] = []): Promise<Transaction> {
    if (!this.tx) {
      this.savepointTaken = false;
      this.tx = await openTransaction(this.ctx.knex, prelude);
      await this.ctx.onBegin?.(this.tx.sql);
    }
    return this.tx;
  }

  private operationState(key: string): OperationState {
    let s = this.operations.get(key);
    if (!s) {
      s = { named: new Set(), skipped: new Set(), failed: this.refusedByOperation.get(key) ?? 0, deferred: [], deferFor: this.deferFor.get(key) };
      this.operations.set(key, s);
    }
    return s;
  }

  private freshState(): RequestState {
    const { indexing } = this.ctx.options;
    // With indexing disabled no indexer runs, so none needs to learn what changed.
    const skip = indexing.mode === 'disabled' ? new Set(this.ctx.indexers.names()) : indexing.skip;
    return new RequestState(new RequestKeys(), new IndexMarks(this.ctx.indexers, skip));
  }

  /**
   * Runs `step`; a deadlock or serialization failure rolls the transaction back and runs every retained chunk again
   * in a new one (resolving their references anew against what is committed by then), then `step` again.
   */
  private async withRetries<T>(step: () => Promise<T>, replaying: 'before-last' | 'all'): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (attempt > 0) await this.replay(replaying);
        return await step();
      } catch (e) {
        if (!isRetryable(e)) throw e;
        await this.close(false);
        if (!this.retained || attempt >= this.ctx.retries) {
          this.aborted = true;
          this.found([
            {
              code: 'CONFLICT_RETRY_EXHAUSTED',
              detail: `the request collided with concurrent writes (deadlock or serialization failure) ${attempt + 1} time(s) and was rolled back; nothing was written, send it again`,
              pointer: '',
            },
          ]);
          return undefined;
        }
        this.ctx.onRetry?.(attempt + 1, e);
        await retryBackoff(attempt);
      }
    }
  }

  /** A new transaction that has done again what the rolled-back one had done, minus the chunk being retried. */
  private async replay(replaying: 'before-last' | 'all'): Promise<void> {
    this.result = new SyncResult(this.ctx.options.minimal);
    this.known = this.freshState();
    this.events = new RequestEvents(this.ctx.requestId, this.ctx.options.skipEvents, this.ctx.eventNames);
    this.operations.clear();
    this.held.clear();
    this.executed = [];
    await this.preview?.reset();
    const chunks = this.retained!;
    for (const c of chunks) forgetResolutions(planRows(c.plan));
    if (this.ahead.length) {
      const wanted = indexerLocks(this.ctx.registry, this.ahead.map((c) => c.plan), this.ctx.indexers, this.ctx.options.indexing);
      await lockNames((await this.transaction()).sql, wanted);
      for (const l of wanted) this.held.set(l.name, l.mode);
    }
    for (const c of replaying === 'all' ? chunks : chunks.slice(0, -1)) await this.execute(c);
  }

  /** Runs the unit of work of one chunk (unit-of-work.ts) in the transaction, and keeps what it found and did. */
  private async execute(chunk: Chunk, upcoming?: () => Chunk | undefined): Promise<void> {
    const tx = await this.transaction();
    const { registry, indexers, options } = this.ctx;
    const savepointTaken = this.savepointTaken;
    this.savepointTaken = false;
    const { operation } = chunk.plan;
    // Forward references between chunks wait for the operation's end; under partial success a record is written
    // whole or not at all, so there they are refused at once, as before.
    if (options.failOnError && operation.action === 'upsert') this.deferFor.set(operation.key, operation.entity.name);
    const op = this.operationState(operation.key);
    if (chunk.kind === 'records') this.known.keys.clear();
    const done = await runChunk(
      { sql: tx.sql, registry, indexers, failOnError: options.failOnError, indexing: options.indexing, known: this.known, op, held: this.held, writable: !this.failing, failing: () => this.failing, savepointTaken, preview: this.preview, events: this.events, onWritePath: this.ctx.onWritePath, upcoming: upcoming && (() => upcoming()?.plan) },
      chunk,
    );
    if (done.aborted) this.aborted = true;
    this.found(done.problems);
    if (done.result) this.result.merge(done.result);
  }
}


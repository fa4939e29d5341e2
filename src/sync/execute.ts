import type { Knex } from 'knex';
import { isRetryable, withTransaction, type Sql } from '../db/sql';
import type { Registry } from '../definitions/registry';
import { ApiError, MAX_REPORTED_ERRORS, type Problem } from '../errors';
import { emitEvents } from '../events/emit';
import { applyIndexing, type IndexingRequest } from '../indexing/behavior';
import { IndexMarks } from '../indexing/marks';
import type { IndexerSet } from '../indexing/registry';
import { lockNames } from '../write/locks';
import { indexerLocks } from './indexer-locks';
import { runOperation } from './operation';
import { runPartially } from './partial';
import { PendingRef } from './pending';
import { RequestKeys } from './resolve';
import { SyncResult } from './result';
import { RequestState, type OperationState } from './state';
import type { OperationPlan } from './types';

export { withoutRecords } from './partial';

export interface ExecuteOptions {
  retries: number;
  failOnError: boolean;
  indexers: IndexerSet;
  indexing: IndexingRequest;
  /** Attempts of a queued indexing job before it is dead-lettered. */
  indexingMaxAttempts: number;
  onRetry?: (attempt: number, error: unknown) => void;
  /** What the request's events (webhooks) need: its id, and whether sw-skip-trigger-flow turned them off. */
  events: { requestId?: string; skip: boolean };
  /** Seams of the request's transaction for dry runs, idempotency keys and jobs (docs/imports.md). */
  transaction?: TransactionHooks;
}

/** What a caller may add to the request's transaction without knowing how it writes. */
export interface TransactionHooks {
  /** dry-run: everything runs (writes, indexing marks and queue, events), then the transaction is rolled back. */
  dryRun?: boolean;
  /** First in the transaction (again on a re-run after a deadlock); may throw to refuse the request. */
  onBegin?: (sql: Sql) => Promise<void>;
  /** Last in the transaction, with its outcome, before COMMIT (never on a dry run); may throw to roll back. */
  beforeCommit?: (sql: Sql, outcome: ExecuteOutcome) => Promise<void>;
}

export interface ExecuteOutcome {
  result: SyncResult;
  /** Problems of the records that were rolled back (only with failOnError = false). */
  errors: Problem[];
  /** What was done about indexing: inline, queued <n>, disabled. */
  indexing: string;
}

/**
 * Runs the planned operations in request order inside one transaction.
 * All or nothing (default): lookups of every command run even after a failure, so the response lists every
 * problem; nothing is committed unless all pass.
 * Partial (failOnError = false): each operation runs under a savepoint; records that fail are dropped with
 * their nested records and the operation is run again without them, so the fast set-based path stays the path.
 */
function forgetResolutions(plans: readonly OperationPlan[]): void {
  for (const plan of plans) {
    for (const c of plan.commands) {
      if (c.kind !== 'upsert') continue;
      for (const r of c.rows) for (const v of r.values.values()) if (v instanceof PendingRef) v.reset();
    }
  }
}

/** Carries a dry run's outcome out of the transaction it rolls back. */
class DryRunRollback extends Error {
  constructor(readonly outcome: ExecuteOutcome) {
    super('dry run rolled back');
  }
}

export async function executePlans(knex: Knex, registry: Registry, plans: readonly OperationPlan[], opts: ExecuteOptions): Promise<ExecuteOutcome> {
  let runs = 0;
  const locks = indexerLocks(registry, plans, opts.indexers, opts.indexing);
  return withTransaction(
    knex,
    async (sql) => {
      // A re-run after a deadlock starts from the plan as planned: references resolve again against what is
      // committed by then.
      if (runs++ > 0) forgetResolutions(plans);
      await opts.transaction?.onBegin?.(sql);
      await lockNames(sql, locks);
      const result = new SyncResult();
      const known = new RequestState(new RequestKeys(), new IndexMarks(opts.indexers, opts.indexing.skip));
      const errors: Problem[] = [];
      for (const plan of plans) {
        if (plan.operation.mode === 'create-only') result.reportSkipped();
        const state: OperationState = { named: new Set(), skipped: new Set() };
        if (opts.failOnError) {
          const attempt = await runOperation(sql, registry, plan, known, state, errors.length > 0);
          errors.push(...attempt.problems);
          result.merge(attempt.result);
          if (errors.length >= MAX_REPORTED_ERRORS) break;
        } else {
          errors.push(...(await runPartially(sql, registry, plan, known, state, result, plan.failedRecords ?? 0)));
        }
      }
      if (opts.failOnError && errors.length) throw new ApiError(errors);
      const indexing = await applyIndexing(sql, known.marks, opts.indexing, opts.indexers, opts.indexingMaxAttempts);
      // In the data transaction: a committed write never loses its event, a rolled-back one never has one.
      await emitEvents({ sql, result, requestId: opts.events.requestId, skip: opts.events.skip });
      const outcome = { result, errors: errors.slice(0, MAX_REPORTED_ERRORS), indexing };
      // Thrown, so that withTransaction rolls back what was written, queued and emitted.
      if (opts.transaction?.dryRun) throw new DryRunRollback(outcome);
      await opts.transaction?.beforeCommit?.(sql, outcome);
      return outcome;
    },
    opts,
  ).catch((e: unknown) => {
    if (e instanceof DryRunRollback) return e.outcome;
    if (!isRetryable(e)) throw e;
    // Rolled back: nothing of the request is written, and sending it again is the remedy.
    throw new ApiError({
      code: 'CONFLICT_RETRY_EXHAUSTED',
      detail: `the request collided with concurrent writes (deadlock or serialization failure) ${opts.retries + 1} times and was rolled back; nothing was written, send it again`,
      pointer: '',
    });
  });
}

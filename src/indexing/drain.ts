import type { Knex } from 'knex';
import { withConnection, withTransaction } from '../db/sql';
import { pendingAfterBarrier, readyBatch, recordIdFailure, settlePending, type PendingRow } from './sql/pending-list';
import type { Indexer } from './types';

export interface DrainContext {
  knex: Knex;
  indexer: Indexer;
  /** Ids recomputed per transaction. */
  batchSize: number;
  /** Failures of one id before it is dead. */
  maxAttempts: number;
}

export interface DrainOutcome {
  indexed: number;
  /** Ids that failed on their own this run (kept in the pending list with their error). */
  failed: number;
  lastError: string | null;
}

/**
 * SQLSTATE classes that say nothing about the ids (connection lost, deadlock after its retries, server shutting
 * down, out of resources): the job fails and graphile-worker retries it later. Anything else may be caused by one
 * record, so the batch is split.
 */
const NOT_ABOUT_THE_DATA = /^(08|40|53|57P|58|XX)/;

function isAboutTheData(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !NOT_ABOUT_THE_DATA.test(code);
}

/**
 * Indexes everything pending for one indexer, batch by batch; each batch re-derives its ids and removes them from
 * the pending list in one transaction, so a worker killed at any point leaves exactly the ids it had not committed.
 * A batch that fails because of its data is halved until the failing ids stand alone; those keep their error and
 * are retried later (dead after maxAttempts), and every other id of the batch is indexed.
 */
export async function drain(ctx: DrainContext): Promise<DrainOutcome> {
  const out: DrainOutcome = { indexed: 0, failed: 0, lastError: null };
  for (;;) {
    const batch = await withConnection(ctx.knex, (sql) => readyBatch(sql, ctx.indexer.name, ctx.batchSize));
    if (batch.length) {
      await indexBatch(ctx, batch, out);
      continue;
    }
    // Empty for now: wait for the syncs that counted on this job to commit, then look once more.
    const more = await withTransaction(ctx.knex, (sql) => pendingAfterBarrier(sql, ctx.indexer.name), { retries: 3 });
    if (!more) return out;
  }
}

async function indexBatch(ctx: DrainContext, batch: readonly PendingRow[], out: DrainOutcome): Promise<void> {
  const name = ctx.indexer.name;
  try {
    await withTransaction(
      ctx.knex,
      async (sql) => {
        await ctx.indexer.index(sql, batch.map((r) => r.id));
        await settlePending(sql, name, batch);
      },
      { retries: 3 },
    );
    out.indexed += batch.length;
  } catch (e) {
    if (!isAboutTheData(e)) throw e;
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      await indexBatch(ctx, batch.slice(0, half), out);
      await indexBatch(ctx, batch.slice(half), out);
      return;
    }
    const message = (e as Error).message;
    await withConnection(ctx.knex, (sql) => recordIdFailure(sql, { indexer: name, row: batch[0]!, error: message, maxAttempts: ctx.maxAttempts }));
    out.failed++;
    out.lastError = message;
  }
}

import { runMigrations } from 'graphile-worker';
import type { Sql } from '../db/sql';

/** graphile-worker task names. */
export const INDEX_TASK = 'bulksync_index';
export const FULL_INDEX_TASK = 'bulksync_index_full';

/** One queue per indexer: its jobs run one at a time, in order, and the queue name tells whose job it is. */
export function queueName(indexer: string): string {
  return `bulksync:${indexer}`;
}

export interface IndexJobPayload {
  indexer: string;
  ids: string[];
}

export interface FullIndexPayload {
  indexer: string;
  after: string | null;
}

/**
 * Adds the ids to the indexer's pending job, in the caller's transaction. The job key makes this a batch job: while
 * the job waits, later requests append their ids to it (graphile-worker concatenates array payloads), so a busy
 * import makes one growing job per indexer, not one per request.
 */
export async function enqueueIndexJob(sql: Sql, indexer: string, ids: readonly string[], maxAttempts: number): Promise<void> {
  const payload: IndexJobPayload[] = [{ indexer, ids: [...ids] }];
  await sql.query(`SELECT graphile_worker.add_job($1, $2::json, queue_name => $3, job_key => $4, max_attempts => $5)`, [
    INDEX_TASK,
    JSON.stringify(payload),
    queueName(indexer),
    `bulksync:index:${indexer}`,
    maxAttempts,
  ]);
}

export async function enqueueFullIndex(sql: Sql, indexer: string, after: string | null, maxAttempts: number): Promise<void> {
  const payload: FullIndexPayload = { indexer, after };
  await sql.query(`SELECT graphile_worker.add_job($1, $2::json, queue_name => $3, max_attempts => $4)`, [
    FULL_INDEX_TASK,
    JSON.stringify(payload),
    queueName(indexer),
    maxAttempts,
  ]);
}

/** Creates or upgrades graphile-worker's schema (its own migrations, separate from ours). */
export async function migrateQueue(connectionString: string): Promise<void> {
  await runMigrations({ connectionString, logger: undefined });
}

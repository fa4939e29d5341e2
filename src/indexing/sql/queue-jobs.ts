import type { Sql } from '../../db/sql';
import { indexersWithReadyIds, markPending } from './pending-list';

/** graphile-worker task names. */
export const INDEX_TASK = 'bulksync_index';
export const FULL_INDEX_TASK = 'bulksync_index_full';

/** One queue per indexer: its jobs run one at a time, in order, and the queue name tells whose job it is. */
export function queueName(indexer: string): string {
  return `bulksync:${indexer}`;
}

/** A drain job: "index what is pending for this indexer". The ids themselves live in bulksync_index_pending. */
export interface DrainPayload {
  indexer: string;
}

/** What jobs queued before the pending list carried (arrays of these): still accepted by the worker. */
export interface LegacyIndexPayload {
  indexer: string;
  ids: string[];
}

export interface FullIndexPayload {
  indexer: string;
  after: string | null;
}

/**
 * Queues the ids for their indexers, in the caller's transaction, in three statements whatever the number of ids:
 * the ids go to the durable pending list, and each indexer gets a drain job unless one is already waiting to start.
 * Jobs carry no ids and no job key, so a job a worker is running is never touched (graphile-worker's job_key
 * replacement turns a locked job into a dead one). The shared advisory lock, held until commit, makes the "one is
 * waiting" decision safe: a drain job cannot finish before the ids of a sync that counted on it are visible.
 */
export async function enqueueIndexJobs(sql: Sql, work: readonly (readonly [string, readonly string[]])[], maxAttempts: number): Promise<void> {
  const names = work.filter(([, ids]) => ids.length).map(([name]) => name);
  if (!names.length) return;
  await markPending(sql, work, { lockShared: true });
  await addDrainJobs(sql, names, maxAttempts);
}

/**
 * A drain job for each of these indexers that has none waiting to start now (a job with a future run_at, a
 * running one or a dead one does not count: it would not see these ids soon, or at all).
 */
export async function addDrainJobs(sql: Sql, indexers: readonly string[], maxAttempts: number): Promise<number> {
  const { rows } = await sql.query(
    `SELECT graphile_worker.add_job($2, json_build_object('indexer', n), queue_name => 'bulksync:' || n, max_attempts => $3)
       FROM unnest($1::text[]) AS n
      WHERE NOT EXISTS (
        SELECT 1 FROM graphile_worker.jobs j
         WHERE j.queue_name = 'bulksync:' || n AND j.task_identifier = $2
           AND j.locked_at IS NULL AND j.attempts < j.max_attempts AND j.run_at <= now())`,
    [[...indexers], INDEX_TASK, maxAttempts],
  );
  return rows.length;
}

/**
 * The safety net a worker runs with its heartbeat: an indexer with ready ids and no live drain job (all of them
 * dead, deleted, or scheduled later) gets one. Returns the indexers that got one.
 */
export async function ensureDrainJobs(sql: Sql, indexers: readonly string[], maxAttempts: number): Promise<string[]> {
  const ready = await indexersWithReadyIds(sql, indexers);
  if (!ready.length) return [];
  const { rows } = await sql.query<{ n: string }>(
    `SELECT n, graphile_worker.add_job($2, json_build_object('indexer', n), queue_name => 'bulksync:' || n, max_attempts => $3)
       FROM unnest($1::text[]) AS n
      WHERE NOT EXISTS (
        SELECT 1 FROM graphile_worker.jobs j
         WHERE j.queue_name = 'bulksync:' || n AND j.task_identifier = $2
           AND j.attempts < j.max_attempts AND (j.locked_at IS NOT NULL OR j.run_at <= now()))`,
    [ready, INDEX_TASK, maxAttempts],
  );
  return rows.map((r) => r.n);
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

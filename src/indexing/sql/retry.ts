import type { Sql } from '../../db/sql';
import { indexersWithReadyIds, lockPendingShared, reviveDead } from './pending-list';
import { addDrainJobs } from './queue-jobs';

export interface Retried {
  /** Dead ids given a fresh start. */
  ids: number;
  /** Dead jobs (drain or full re-index batches) given a fresh start. */
  jobs: number;
}

/**
 * Re-runs the dead work of these indexers, in the caller's transaction: dead ids become pending again with their
 * attempts reset, dead jobs are rescheduled with theirs reset (graphile-worker's public reschedule_jobs), and every
 * indexer with ready ids gets a drain job.
 */
export async function retryDead(sql: Sql, indexers: readonly string[], maxAttempts: number): Promise<Retried> {
  const names = [...indexers].sort();
  await lockPendingShared(sql, names);
  const ids = await reviveDead(sql, names);
  const { rows } = await sql.query<{ n: number }>(
    `SELECT count(r.*)::int AS n FROM graphile_worker.reschedule_jobs(
       ARRAY(SELECT id FROM graphile_worker.jobs
              WHERE queue_name = ANY(SELECT 'bulksync:' || n FROM unnest($1::text[]) AS n) AND attempts >= max_attempts),
       run_at => now(), attempts => 0) AS r`,
    [names],
  );
  await addDrainJobs(sql, await indexersWithReadyIds(sql, names), maxAttempts);
  return { ids, jobs: rows[0]!.n };
}

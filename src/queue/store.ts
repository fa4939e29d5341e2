import type { Sql } from '../db/sql';

/**
 * The queue's door to PostgreSQL: worker heartbeats, the release of lost workers' jobs, and the queue's counts.
 * Only graphile-worker's public functions and its jobs view are used; bulksync's jobs are those on a `bulksync:`
 * queue or of a `bulksync_` task.
 */

/** The workers of this process are alive (inserted on their first beat). */
export async function beat(sql: Sql, workerIds: readonly string[]): Promise<void> {
  await sql.query(
    `INSERT INTO bulksync_worker (worker_id, heartbeat_at) SELECT unnest($1::text[]), now()
     ON CONFLICT (worker_id) DO UPDATE SET heartbeat_at = now()`,
    [[...workerIds]],
  );
}

/** A worker that stopped cleanly is forgotten (its jobs were finished or released by graphile-worker). */
export async function forgetWorkers(sql: Sql, workerIds: readonly string[]): Promise<void> {
  await sql.query('DELETE FROM bulksync_worker WHERE worker_id = ANY($1::text[])', [[...workerIds]]);
}

export interface QueueCounts {
  queued: number;
  running: number;
  retrying: number;
  dead: number;
}

/** Jobs on the bulksync queues by state (the indexing queues: one per indexer). */
export async function queueCounts(sql: Sql): Promise<QueueCounts | undefined> {
  const { rows } = await sql.query<QueueCounts>(
    `SELECT count(*) FILTER (WHERE locked_at IS NULL AND attempts = 0)::int AS queued,
            count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
            count(*) FILTER (WHERE locked_at IS NULL AND attempts > 0 AND attempts < max_attempts)::int AS retrying,
            count(*) FILTER (WHERE attempts >= max_attempts)::int AS dead
       FROM graphile_worker.jobs WHERE queue_name LIKE 'bulksync:%'`,
  );
  return rows[0];
}

export interface Released {
  workers: string[];
  jobs: number;
}

/**
 * Finds the workers taken for dead and gives their jobs back to the queue, in the caller's transaction: those whose
 * heartbeat is older than `silentSeconds`, and those holding an indexing job that long without ever having beaten
 * (killed between taking a job and their first heartbeat; indexing jobs and the other bulksync tasks: sync jobs). graphile-worker counted the run as an attempt when the
 * job was taken; a run lost with its worker is not a failure of the job, so the attempt is given back (otherwise a
 * job killed INDEXING_MAX_ATTEMPTS times would be dead with no error). Only graphile-worker's public functions are
 * used (force_unlock_workers, reschedule_jobs).
 */
export async function releaseLostJobs(sql: Sql, silentSeconds: number): Promise<Released> {
  const { rows } = await sql.query<{ worker_id: string }>(
    `WITH silent AS (
       DELETE FROM bulksync_worker WHERE heartbeat_at < now() - make_interval(secs => $1) RETURNING worker_id
     )
     SELECT worker_id FROM silent
     UNION
     SELECT DISTINCT j.locked_by FROM graphile_worker.jobs j
      WHERE (j.queue_name LIKE 'bulksync:%' OR j.task_identifier LIKE 'bulksync\\_%') AND j.locked_by IS NOT NULL AND j.locked_at < now() - make_interval(secs => $1)
        AND NOT EXISTS (SELECT 1 FROM bulksync_worker w WHERE w.worker_id = j.locked_by)`,
    [silentSeconds],
  );
  const workers = rows.map((r) => r.worker_id);
  if (!workers.length) return { workers, jobs: 0 };
  const held = await sql.query<{ id: string; attempts: number }>(
    `SELECT id::text AS id, attempts FROM graphile_worker.jobs WHERE locked_by = ANY($1::text[])`,
    [workers],
  );
  await sql.query(`SELECT graphile_worker.force_unlock_workers($1::text[])`, [workers]);
  if (held.rows.length) {
    await sql.query(
      `SELECT graphile_worker.reschedule_jobs(ARRAY[h.id], run_at => now(), attempts => greatest(h.attempts - 1, 0))
         FROM unnest($1::bigint[], $2::int[]) AS h(id, attempts)`,
      [held.rows.map((r) => r.id), held.rows.map((r) => r.attempts)],
    );
  }
  return { workers, jobs: held.rows.length };
}

import type { Sql } from '../db/sql';
import { toApiId, toDbId } from '../definitions/ids';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** The task that runs a sync job on the durable queue (src/jobs/run-job.ts). */
export const SYNC_JOB_TASK = 'bulksync_sync_job';

/** Attempts of a job lost to crashes or database outages before it is failed. */
export const SYNC_JOB_MAX_ATTEMPTS = 5;

export interface SyncJob {
  id: string;
  integrationId: string;
  requestId: string | null;
  status: JobStatus;
  headers: Record<string, string>;
  contentType: string;
  bodyBytes: number;
  records: number;
  /** Records written in the job's transaction so far, committed or not. */
  processed: number;
  /** Records committed: 0 until the job's transaction commits. */
  done: number;
  result: unknown;
  errors: unknown[] | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface Row {
  id: string;
  integration_id: string;
  request_id: string | null;
  status: JobStatus;
  headers: Record<string, string>;
  content_type: string;
  body_bytes: string;
  records: number;
  processed: number;
  done: number;
  result: unknown;
  errors: unknown[] | null;
  attempts: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toJob(r: Row): SyncJob {
  return {
    id: toApiId(r.id),
    integrationId: toApiId(r.integration_id),
    requestId: r.request_id,
    status: r.status,
    headers: r.headers,
    contentType: r.content_type,
    bodyBytes: Number(r.body_bytes),
    records: r.records,
    processed: r.processed,
    done: r.done,
    result: r.result,
    errors: r.errors,
    attempts: r.attempts,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

export interface NewJob {
  id: string;
  integrationId: string;
  requestId: string;
  headers: Record<string, string>;
  contentType: string;
  retentionDays: number;
}

/** The job's row, in the submission's transaction (its chunks follow, then `queueJob`). */
export async function insertJob(sql: Sql, job: NewJob): Promise<void> {
  await sql.query(
    `INSERT INTO bulksync_sync_job (id, integration_id, request_id, headers, content_type, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6))`,
    [toDbId(job.id), toDbId(job.integrationId), job.requestId, JSON.stringify(job.headers), job.contentType, job.retentionDays],
  );
}

/** One chunk of the body; `seq` counts from 0. */
export async function insertChunk(sql: Sql, jobId: string, seq: number, data: Buffer): Promise<void> {
  await sql.query(`INSERT INTO bulksync_sync_job_chunk (job_id, seq, data) VALUES ($1, $2, $3)`, [toDbId(jobId), seq, data]);
}

/** Closes the submission: the body's size, and the queue job, committed with the body or not at all. */
export async function queueJob(sql: Sql, jobId: string, bodyBytes: number): Promise<void> {
  await sql.query(`UPDATE bulksync_sync_job SET body_bytes = $2 WHERE id = $1`, [toDbId(jobId), bodyBytes]);
  await sql.query(`SELECT graphile_worker.add_job($1, json_build_object('jobId', $2::text), max_attempts => $3)`, [
    SYNC_JOB_TASK,
    toApiId(jobId),
    SYNC_JOB_MAX_ATTEMPTS,
  ]);
}

/** Chunk `seq` of a job's body, or undefined past the last. One row at a time: the body is never read whole. */
export async function readChunk(sql: Sql, jobId: string, seq: number): Promise<Buffer | undefined> {
  const { rows } = await sql.query<{ data: Buffer }>(`SELECT data FROM bulksync_sync_job_chunk WHERE job_id = $1 AND seq = $2`, [toDbId(jobId), seq]);
  return rows[0]?.data;
}

/** A job of this integration (another's is as absent as one that does not exist). */
export async function findJob(sql: Sql, jobId: string, integrationId?: string): Promise<SyncJob | undefined> {
  const { rows } = await sql.query<Row>(
    `SELECT * FROM bulksync_sync_job WHERE id = $1 AND ($2::uuid IS NULL OR integration_id = $2::uuid)`,
    [toDbId(jobId), integrationId ? toDbId(integrationId) : null],
  );
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** The integration's jobs, newest first, one page; and how many it has in all. */
export async function listJobs(sql: Sql, integrationId: string, limit: number, offset: number): Promise<{ jobs: SyncJob[]; total: number }> {
  const [page, total] = await Promise.all([
    sql.query<Row>(
      `SELECT * FROM bulksync_sync_job WHERE integration_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [toDbId(integrationId), limit, offset],
    ),
    sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM bulksync_sync_job WHERE integration_id = $1`, [toDbId(integrationId)]),
  ]);
  return { jobs: page.rows.map(toJob), total: total.rows[0]!.n };
}

/**
 * A worker takes the job: queued (or running, when a worker died with it) becomes running. Undefined when there is
 * nothing to run (cancelled, finished, pruned).
 */
export async function startJob(sql: Sql, jobId: string): Promise<SyncJob | undefined> {
  const { rows } = await sql.query<Row>(
    `UPDATE bulksync_sync_job
        SET status = 'running', started_at = now(), attempts = attempts + 1, records = 0, processed = 0, done = 0
      WHERE id = $1 AND status IN ('queued', 'running')
      RETURNING *`,
    [toDbId(jobId)],
  );
  return rows[0] ? toJob(rows[0]) : undefined;
}

/**
 * Progress while it runs (its own statement, so that readers see it before the data commit): records read and
 * processed; none of them is committed before the job's end.
 */
export async function reportProgress(sql: Sql, jobId: string, records: number, processed: number): Promise<void> {
  await sql.query(`UPDATE bulksync_sync_job SET records = $2, processed = $3 WHERE id = $1 AND status = 'running'`, [toDbId(jobId), records, processed]);
}

/**
 * In the job's data transaction, last: locks the job's row and tells whether it is still running. A cancel that
 * committed first is seen here (the data then rolls back); one that comes later waits for this transaction and
 * finds the job finished.
 */
export async function stillRunning(sql: Sql, jobId: string): Promise<boolean> {
  const { rows } = await sql.query<{ status: JobStatus }>(`SELECT status FROM bulksync_sync_job WHERE id = $1 FOR UPDATE`, [toDbId(jobId)]);
  return rows[0]?.status === 'running';
}

export interface JobEnd {
  status: 'succeeded' | 'failed';
  records: number;
  /** Processed at the end (a failure keeps what was processed before it, when undefined). */
  processed?: number;
  done: number;
  result: unknown;
  errors: unknown[] | null;
}

/** Records the end of a running job; false when it was no longer running (cancelled meanwhile). */
export async function finishJob(sql: Sql, jobId: string, end: JobEnd): Promise<boolean> {
  const { rowCount } = await sql.query(
    `UPDATE bulksync_sync_job
        SET status = $2, records = $3, done = $4, result = $5, errors = $6, processed = COALESCE($7, processed), finished_at = now()
      WHERE id = $1 AND status = 'running'`,
    [toDbId(jobId), end.status, end.records, end.done, end.result === undefined ? null : JSON.stringify(end.result), end.errors ? JSON.stringify(end.errors) : null, end.processed ?? null],
  );
  return rowCount > 0;
}

/** A transient failure: the queue will run the job again. */
export async function requeueJob(sql: Sql, jobId: string): Promise<void> {
  await sql.query(`UPDATE bulksync_sync_job SET status = 'queued' WHERE id = $1 AND status = 'running'`, [toDbId(jobId)]);
}

/**
 * Cancels a queued or running job of the integration. Returns the job after the cancel, or, when it could not be
 * cancelled, the job as it is (finished) or undefined (none of this integration's).
 */
export async function cancelJob(sql: Sql, jobId: string, integrationId: string): Promise<{ cancelled: boolean; job: SyncJob | undefined }> {
  const { rows } = await sql.query<Row>(
    `UPDATE bulksync_sync_job SET status = 'cancelled', finished_at = now()
      WHERE id = $1 AND integration_id = $2 AND status IN ('queued', 'running')
      RETURNING *`,
    [toDbId(jobId), toDbId(integrationId)],
  );
  if (rows[0]) return { cancelled: true, job: toJob(rows[0]) };
  return { cancelled: false, job: await findJob(sql, jobId, integrationId) };
}

/** The pruner's part: jobs (and their bodies) past their retention, unless running. */
export async function pruneJobs(sql: Sql): Promise<number> {
  const { rowCount } = await sql.query(`DELETE FROM bulksync_sync_job WHERE expires_at <= now() AND status <> 'running'`);
  return rowCount;
}

/** Jobs by status, for the metrics. */
export async function jobCounts(sql: Sql): Promise<Record<JobStatus, number>> {
  const { rows } = await sql.query<{ status: JobStatus; n: number }>(`SELECT status, count(*)::int AS n FROM bulksync_sync_job GROUP BY status`);
  const out: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const r of rows) out[r.status] = r.n;
  return out;
}

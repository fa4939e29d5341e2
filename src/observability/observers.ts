/**
 * What the rooms report through, without knowing who listens: a worker tells an observer of each job it ran, and
 * the process's metrics (served over HTTP) are one such observer.
 */

/**
 * How a run of an operation's commands was written (the process's metrics count them by path):
 * - `checked`: one statement per table, PostgreSQL's constraints checking, on the first try;
 * - `checked_again`: the same, after going back to the chunk's savepoint (rows another request inserted meanwhile);
 * - `diagnosed`: the statements failed a check (or would have waited for a row another request holds, out of key
 *   order), so the commands ran again with the lookups that name record and field;
 * - `looked_up`: with those lookups from the start (a record without a required field, a version precondition,
 *   create-only, deletes and the snapshot clear).
 */
export const WRITE_PATHS = ['checked', 'checked_again', 'diagnosed', 'looked_up'] as const;
export type WritePath = (typeof WRITE_PATHS)[number];

/** What a queue worker reports about each indexing job it ran. */
export interface JobObserver {
  job(run: IndexingJobRun): void;
  /** An async sync job a worker of this process ran (src/jobs/run-job.ts). */
  syncJob?(outcome: SyncJobOutcome, seconds: number): void;
  /** How a run of a sync job's chunk was written. */
  writePath?(path: WritePath): void;
}

/** How a worker's run of a sync job ended; `retry`: lost to a transient failure, queued again. */
export type SyncJobOutcome = 'succeeded' | 'failed' | 'cancelled' | 'retry';

/** One indexer's part of a queue job, as a worker reports it. */
export interface IndexingJobRun {
  task: string;
  indexer: string;
  outcome: 'ok' | 'failed';
  seconds: number;
  /** Ids re-derived. */
  records: number;
}

/** A request that got its answer, as the request log and the metrics see it. */
export interface FinishedRequest {
  method: string;
  /** The route pattern (`/api/:entity/:id`), never the path; `unmatched` when no route takes it (404). */
  route: string;
  status: number;
  seconds: number;
}

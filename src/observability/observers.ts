/**
 * What the rooms report through, without knowing who listens: a worker tells an observer of each job it ran, and
 * the process's metrics (served over HTTP) are one such observer.
 */

/** What a queue worker reports about each indexing job it ran. */
export interface JobObserver {
  job(run: IndexingJobRun): void;
  /** An async sync job a worker of this process ran (src/jobs/run-job.ts). */
  syncJob?(outcome: SyncJobOutcome, seconds: number): void;
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

import type { Knex } from 'knex';
import { withConnection, type Sql } from '../../db/sql';
import { toApiId } from '../../definitions/ids';
import type { IndexerSet } from '../registry';

/** How many ids and jobs the status lists by name (the counts are always complete). */
export const STATUS_SAMPLE = 20;

export interface DeadId {
  id: string;
  attempts: number;
  error: string | null;
  failedAt: string | null;
}

export interface DeadJob {
  id: string;
  task: string;
  attempts: number;
  error: string | null;
  failedAt: string;
}

export interface IndexerStatus {
  indexer: string;
  entity: string;
  /** Jobs waiting to start. */
  queued: number;
  running: number;
  /** Failed at least once and waiting for a retry (with backoff). */
  retrying: number;
  /** Jobs that failed as often as allowed; kept, with the error, until re-run. */
  deadLettered: number;
  /** Ids whose derived fields are stale and will be recomputed (failing ones included). */
  pending: number;
  /** Of those, ids that failed at least once and wait for their next attempt. */
  failing: number;
  /** Ids that failed INDEXING_MAX_ATTEMPTS times: kept with their error until re-run or written again. */
  dead: number;
  /** The oldest pending ids (at most STATUS_SAMPLE). */
  pendingIds: string[];
  deadIds: DeadId[];
  deadJobs: DeadJob[];
  lastError: string | null;
  lastErrorAt: string | null;
  lastCompletedAt: string | null;
}

interface JobRow {
  queue_name: string;
  queued: number;
  running: number;
  retrying: number;
  dead: number;
  last_error: string | null;
}

interface PendingCounts {
  indexer: string;
  pending: number;
  failing: number;
  dead: number;
}

interface IdRow {
  indexer: string;
  id: string;
  attempts: number;
  last_error: string | null;
  failed_at: Date | null;
  dead_at: Date | null;
}

interface DeadJobRow {
  queue_name: string;
  id: string;
  task_identifier: string;
  attempts: number;
  last_error: string | null;
  updated_at: Date;
}

/**
 * Per indexer: its jobs by state (graphile-worker's jobs view), its ids (bulksync_index_pending: pending, failing,
 * dead, with samples) and its last run (bulksync_indexer_state).
 */
export function indexingStatus(knex: Knex, indexers: IndexerSet): Promise<IndexerStatus[]> {
  return withConnection(knex, (sql) => readStatus(sql, indexers));
}

async function readStatus(sql: Sql, indexers: IndexerSet): Promise<IndexerStatus[]> {
  const jobs = await sql.query<JobRow>(
    `SELECT queue_name,
            count(*) FILTER (WHERE locked_at IS NULL AND attempts = 0)::int AS queued,
            count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
            count(*) FILTER (WHERE locked_at IS NULL AND attempts > 0 AND attempts < max_attempts)::int AS retrying,
            count(*) FILTER (WHERE attempts >= max_attempts)::int AS dead,
            (array_agg(last_error ORDER BY updated_at DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error
       FROM graphile_worker.jobs WHERE queue_name LIKE 'bulksync:%' GROUP BY queue_name`,
  );
  const deadJobs = await sql.query<DeadJobRow>(
    `SELECT queue_name, id::text AS id, task_identifier, attempts, last_error, updated_at FROM (
       SELECT *, row_number() OVER (PARTITION BY queue_name ORDER BY updated_at DESC) AS n
         FROM graphile_worker.jobs WHERE queue_name LIKE 'bulksync:%' AND attempts >= max_attempts) d
      WHERE n <= $1`,
    [STATUS_SAMPLE],
  );
  const counts = await sql.query<PendingCounts>(
    `SELECT indexer,
            count(*) FILTER (WHERE dead_at IS NULL)::int AS pending,
            count(*) FILTER (WHERE dead_at IS NULL AND attempts > 0)::int AS failing,
            count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead
       FROM bulksync_index_pending GROUP BY indexer`,
  );
  // The oldest pending and the latest dead ids of each indexer, through its primary key and partial index.
  const samples = await sql.query<IdRow>(
    `SELECT s.* FROM unnest($1::text[]) AS n, LATERAL (
       (SELECT indexer, id::text AS id, attempts, last_error, failed_at, dead_at FROM bulksync_index_pending
         WHERE indexer = n AND dead_at IS NULL ORDER BY queued_at, id LIMIT $2)
       UNION ALL
       (SELECT indexer, id::text AS id, attempts, last_error, failed_at, dead_at FROM bulksync_index_pending
         WHERE indexer = n AND dead_at IS NOT NULL ORDER BY dead_at DESC, id LIMIT $2)) s`,
    [indexers.names(), STATUS_SAMPLE],
  );
  const { rows: state } = await sql.query<{ indexer: string; last_completed_at: Date | null; last_error: string | null; last_error_at: Date | null }>(
    'SELECT indexer, last_completed_at, last_error, last_error_at FROM bulksync_indexer_state',
  );
  const byQueue = new Map(jobs.rows.map((r) => [r.queue_name, r]));
  const byName = new Map(state.map((s) => [s.indexer, s]));
  const byIndexer = new Map(counts.rows.map((r) => [r.indexer, r]));
  return indexers.all.map((ix) => {
    const queue = `bulksync:${ix.name}`;
    const j = byQueue.get(queue);
    const s = byName.get(ix.name);
    const c = byIndexer.get(ix.name);
    const mine = samples.rows.filter((r) => r.indexer === ix.name);
    return {
      indexer: ix.name,
      entity: ix.entity.name,
      queued: j?.queued ?? 0,
      running: j?.running ?? 0,
      retrying: j?.retrying ?? 0,
      deadLettered: j?.dead ?? 0,
      pending: c?.pending ?? 0,
      failing: c?.failing ?? 0,
      dead: c?.dead ?? 0,
      pendingIds: mine.filter((r) => !r.dead_at).map((r) => toApiId(r.id)),
      deadIds: mine
        .filter((r) => r.dead_at)
        .map((r) => ({ id: toApiId(r.id), attempts: r.attempts, error: r.last_error, failedAt: r.failed_at?.toISOString() ?? null })),
      deadJobs: deadJobs.rows
        .filter((r) => r.queue_name === queue)
        .map((r) => ({ id: r.id, task: r.task_identifier, attempts: r.attempts, error: r.last_error, failedAt: r.updated_at.toISOString() })),
      lastError: j?.last_error ?? s?.last_error ?? null,
      lastErrorAt: s?.last_error_at?.toISOString() ?? null,
      lastCompletedAt: s?.last_completed_at?.toISOString() ?? null,
    };
  });
}

/** Ids of every indexer by state, for the metrics: pending (failing ones included) and dead. */
export async function countIds(knex: Knex): Promise<{ pending: number; dead: number }> {
  const r = await withConnection(knex, (sql) => sql.query<{ pending: number; dead: number }>(
    `SELECT count(*) FILTER (WHERE dead_at IS NULL)::int AS pending, count(*) FILTER (WHERE dead_at IS NOT NULL)::int AS dead
       FROM bulksync_index_pending`,
  ));
  return r.rows[0]!;
}

export interface IndexerLag {
  indexer: string;
  /** Ids waiting for a worker (failing ones included, dead ones not). */
  pending: number;
  /** Age of the oldest of them (since it was last marked), 0 when none waits. */
  oldestSeconds: number;
}

/** Per indexer with pending ids: how many wait and for how long (for the metrics; one grouped scan). */
export async function lagByIndexer(knex: Knex): Promise<IndexerLag[]> {
  const r = await withConnection(knex, (sql) => sql.query<IndexerLag>(
    `SELECT indexer, count(*)::int AS pending,
            coalesce(extract(epoch FROM now() - min(queued_at)), 0)::float8 AS "oldestSeconds"
       FROM bulksync_index_pending WHERE dead_at IS NULL GROUP BY indexer`,
  ));
  return r.rows;
}

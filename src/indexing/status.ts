import type { Knex } from 'knex';
import type { IndexerSet } from './registry';

export interface IndexerStatus {
  indexer: string;
  entity: string;
  queued: number;
  running: number;
  /** Failed at least once and waiting for a retry (with backoff). */
  retrying: number;
  /** Failed as often as allowed; kept, with the error, until repaired and re-run. */
  deadLettered: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastCompletedAt: string | null;
}

interface Row {
  queue_name: string;
  queued: number;
  running: number;
  retrying: number;
  dead: number;
  last_error: string | null;
}

/** Per indexer: jobs by state (from graphile-worker's jobs view) and the last run (from bulksync_indexer_state). */
export async function indexingStatus(knex: Knex, indexers: IndexerSet): Promise<IndexerStatus[]> {
  const jobs = await knex.raw<{ rows: Row[] }>(
    `SELECT queue_name,
            count(*) FILTER (WHERE locked_at IS NULL AND attempts = 0)::int AS queued,
            count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
            count(*) FILTER (WHERE locked_at IS NULL AND attempts > 0 AND attempts < max_attempts)::int AS retrying,
            count(*) FILTER (WHERE attempts >= max_attempts)::int AS dead,
            (array_agg(last_error ORDER BY updated_at DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error
       FROM graphile_worker.jobs WHERE queue_name LIKE 'bulksync:%' GROUP BY queue_name`,
  );
  const state = await knex('bulksync_indexer_state').select<{ indexer: string; last_completed_at: Date | null; last_error: string | null; last_error_at: Date | null }[]>();
  const byQueue = new Map(jobs.rows.map((r) => [r.queue_name, r]));
  const byName = new Map(state.map((s) => [s.indexer, s]));
  return indexers.all.map((ix) => {
    const j = byQueue.get(`bulksync:${ix.name}`);
    const s = byName.get(ix.name);
    return {
      indexer: ix.name,
      entity: ix.entity.name,
      queued: j?.queued ?? 0,
      running: j?.running ?? 0,
      retrying: j?.retrying ?? 0,
      deadLettered: j?.dead ?? 0,
      lastError: j?.last_error ?? s?.last_error ?? null,
      lastErrorAt: s?.last_error_at?.toISOString() ?? null,
      lastCompletedAt: s?.last_completed_at?.toISOString() ?? null,
    };
  });
}

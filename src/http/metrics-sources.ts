import type { Knex } from 'knex';
import { withConnection } from '../db/sql';
import { countIds, lagByIndexer } from '../indexing/sql/status';
import { Metrics, type MetricsSources } from '../observability/metrics';
import { queueCounts } from '../queue/store';
import { jobCounts } from '../write/sync-jobs';
import { deliveryStats } from '../write/webhook-deliveries';

/** Where the process's gauges read the service's state: every room's door, on the primary's pool. */
export function metricsSources(knex: Knex): MetricsSources {
  return {
    syncJobs: () => withConnection(knex, jobCounts),
    queue: () => withConnection(knex, queueCounts),
    pendingIds: () => countIds(knex),
    deliveries: () => withConnection(knex, deliveryStats),
    lag: () => lagByIndexer(knex),
    pool: () => (knex.client as { pool?: ReturnType<MetricsSources['pool']> }).pool,
  };
}

/** The process's metrics (GET /metrics), reading the database of `knex`. */
export function createMetrics(knex: Knex, indexerNames: readonly string[] = []): Metrics {
  return new Metrics(metricsSources(knex), indexerNames);
}

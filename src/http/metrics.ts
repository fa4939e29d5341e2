import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { withConnection } from '../db/sql';
import { countIds } from '../indexing/status';
import { deliveryStats, type DeliveryStats } from '../write/webhook-deliveries';
import type { SyncResult } from '../sync/result';

interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** The service's Prometheus metrics (GET /metrics); one registry per app, so tests can build many apps. */
export class Metrics {
  readonly registry = new PromRegistry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly records: Counter<'entity' | 'action'>;
  private readonly syncDuration: Histogram<'outcome'>;
  private readonly retries: Counter<'reason'>;

  constructor(knex: Knex) {
    collectDefaultMetrics({ register: this.registry, prefix: 'bulksync_' });
    this.requests = new Counter({
      name: 'bulksync_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.records = new Counter({
      name: 'bulksync_sync_records_total',
      help: 'Records written or deleted by syncs, by entity and action (nested and cascaded ones included)',
      labelNames: ['entity', 'action'],
      registers: [this.registry],
    });
    this.retries = new Counter({
      name: 'bulksync_sync_retries_total',
      help: 'Sync transactions re-run after a deadlock or serialization failure, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.syncDuration = new Histogram({
      name: 'bulksync_sync_duration_seconds',
      help: 'Duration of sync requests',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    new Gauge({
      name: 'bulksync_indexing_jobs',
      help: 'Indexing jobs in the queue by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const r = await knex
          .raw<{ rows: { queued: number; running: number; retrying: number; dead: number }[] }>(
            `SELECT count(*) FILTER (WHERE locked_at IS NULL AND attempts = 0)::int AS queued,
                    count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
                    count(*) FILTER (WHERE locked_at IS NULL AND attempts > 0 AND attempts < max_attempts)::int AS retrying,
                    count(*) FILTER (WHERE attempts >= max_attempts)::int AS dead
               FROM graphile_worker.jobs WHERE queue_name LIKE 'bulksync:%'`,
          )
          .catch(() => undefined);
        const row = r?.rows[0];
        if (!row) return;
        this.set({ state: 'queued' }, row.queued);
        this.set({ state: 'running' }, row.running);
        this.set({ state: 'retrying' }, row.retrying);
        this.set({ state: 'dead' }, row.dead);
      },
    });
    new Gauge({
      name: 'bulksync_indexing_ids',
      help: 'Records whose derived fields wait for a worker (pending) or failed INDEXING_MAX_ATTEMPTS times (dead)',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const ids = await countIds(knex).catch(() => undefined);
        if (!ids) return;
        this.set({ state: 'pending' }, ids.pending);
        this.set({ state: 'dead' }, ids.dead);
      },
    });
    // Read from the delivery log, so that the numbers hold whichever process (API or worker) sent the deliveries.
    let stats: Promise<DeliveryStats | undefined> | undefined;
    const fresh = () => (stats ??= withConnection(knex, deliveryStats).catch(() => undefined).finally(() => void setTimeout(() => (stats = undefined), 1000).unref()));
    new Gauge({
      name: 'bulksync_webhook_deliveries',
      help: 'Webhook deliveries in the log by status (queued, retrying, delivered, failed)',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        const s = await fresh();
        if (!s) return;
        for (const status of ['queued', 'retrying', 'delivered', 'failed']) this.set({ status }, s.byStatus[status] ?? 0);
      },
    });
    new Gauge({
      name: 'bulksync_webhook_queue_lag_seconds',
      help: 'Age of the oldest webhook event not delivered yet (0 when none waits)',
      registers: [this.registry],
      async collect() {
        const s = await fresh();
        if (s) this.set(s.lagSeconds);
      },
    });
    new Gauge({
      name: 'bulksync_webhook_delivery_latency_seconds',
      help: 'From event to delivery, over the deliveries of the last five minutes',
      labelNames: ['stat'],
      registers: [this.registry],
      async collect() {
        const s = await fresh();
        if (!s) return;
        this.set({ stat: 'mean' }, s.latencyMeanSeconds);
        this.set({ stat: 'max' }, s.latencyMaxSeconds);
      },
    });
    new Gauge({
      name: 'bulksync_db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const pool = (knex.client as { pool?: PoolLike }).pool;
        if (!pool) return;
        this.set({ state: 'used' }, pool.numUsed());
        this.set({ state: 'free' }, pool.numFree());
        this.set({ state: 'pending' }, pool.numPendingAcquires());
      },
    });
  }

  /** A sync transaction is run again; `pgCode` 40P01 is a deadlock, 40001 a serialization failure. */
  retry(pgCode: string | undefined): void {
    this.retries.inc({ reason: pgCode === '40P01' ? 'deadlock' : pgCode === '40001' ? 'serialization' : 'other' });
  }

  request(method: string, route: string, status: number): void {
    this.requests.inc({ method, route, status: String(status) });
  }

  sync(result: SyncResult | undefined, seconds: number, outcome: 'ok' | 'partial' | 'error'): void {
    this.syncDuration.observe({ outcome }, seconds);
    if (!result) return;
    for (const [entity, keys] of result.data) this.records.inc({ entity, action: 'upsert' }, keys.length);
    for (const [entity, keys] of result.deleted) this.records.inc({ entity, action: 'delete' }, keys.length);
  }
}

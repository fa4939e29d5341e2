import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { WRITE_PATHS, type FinishedRequest, type IndexingJobRun, type JobObserver, type SyncJobOutcome, type WritePath } from './observers';

interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/**
 * Where the gauges read the service's state at scrape time (the queue, the pending list, the delivery log, the sync
 * jobs, the pool). Handed in by the process's wiring, so that the metrics know no room and no SQL; a reader that
 * fails leaves its gauge as it was.
 */
export interface MetricsSources {
  syncJobs(): Promise<Record<string, number>>;
  queue(): Promise<{ queued: number; running: number; retrying: number; dead: number } | undefined>;
  pendingIds(): Promise<{ pending: number; dead: number }>;
  deliveries(): Promise<{ byStatus: Record<string, number>; lagSeconds: number; latencyMeanSeconds: number; latencyMaxSeconds: number }>;
  /** Per indexer with pending ids: how many wait and the age of the oldest. */
  lag(): Promise<readonly { indexer: string; pending: number; oldestSeconds: number }[]>;
  pool(): PoolLike | undefined;
}

/** What a sync wrote, per entity (the sync's result has this shape). */
export interface WrittenCounts {
  countsOf(map: 'data' | 'deleted'): ReadonlyMap<string, number>;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const COUNTS = [1, 10, 100, 1000, 10_000, 100_000];

/**
 * The service's Prometheus metrics (GET /metrics); one registry per app, so tests can build many apps. Queue and
 * pending-list gauges are read from the database at scrape time, so any API process shows the whole service's.
 */
export class Metrics implements JobObserver {
  readonly registry = new PromRegistry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly rateLimited: Counter<'route'>;
  private readonly records: Counter<'entity' | 'action'>;
  private readonly recordsPerRequest: Histogram<'entity' | 'action'>;
  private readonly syncDuration: Histogram<'outcome'>;
  private readonly retries: Counter<'reason'>;
  private readonly chunks: Counter<'path'>;
  private readonly jobDuration: Histogram<'task' | 'indexer' | 'outcome'>;
  private readonly jobRecords: Counter<'indexer'>;
  private readonly syncJobDuration: Histogram<'outcome'>;
  private readonly replays: Counter;

  constructor(sources: MetricsSources, indexerNames: readonly string[] = []) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'bulksync_' });
    this.requests = new Counter({
      name: 'bulksync_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'bulksync_http_request_duration_seconds',
      help: 'Time from the request to the end of its response, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS,
      registers,
    });
    this.rateLimited = new Counter({
      name: 'bulksync_rate_limit_rejections_total',
      help: 'Requests refused with 429 by a rate limit (per integration on /api, failed attempts on the token route)',
      labelNames: ['route'],
      registers,
    });
    this.records = new Counter({
      name: 'bulksync_sync_records_total',
      help: 'Records written or deleted by syncs, by entity and action (nested and cascaded ones included)',
      labelNames: ['entity', 'action'],
      registers,
    });
    this.recordsPerRequest = new Histogram({
      name: 'bulksync_sync_records_per_request',
      help: 'Records of one sync request, by entity and action (nested and cascaded ones included)',
      labelNames: ['entity', 'action'],
      buckets: COUNTS,
      registers,
    });
    this.retries = new Counter({
      name: 'bulksync_sync_retries_total',
      help: 'Sync transactions re-run after a deadlock or serialization failure, by reason',
      labelNames: ['reason'],
      registers,
    });
    // Present from the start at 0, so that a rate() over them is 0 rather than "no data" until the first retry.
    for (const reason of ['deadlock', 'serialization', 'other']) this.retries.inc({ reason }, 0);
    this.chunks = new Counter({
      name: 'bulksync_sync_chunks_total',
      help: 'Runs of a sync chunk\'s commands by how they were written: checked (one statement per table), checked_again (the same after rows another request inserted meanwhile), diagnosed (a check failed, then the lookups), looked_up',
      labelNames: ['path'],
      registers,
    });
    for (const path of WRITE_PATHS) this.chunks.inc({ path }, 0);
    this.syncDuration = new Histogram({
      name: 'bulksync_sync_duration_seconds',
      help: 'Duration of sync requests',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'bulksync_indexing_job_duration_seconds',
      help: 'Indexing jobs run by the worker of this process (WORKER=on), by task, indexer and outcome',
      labelNames: ['task', 'indexer', 'outcome'],
      buckets: SECONDS,
      registers,
    });
    this.jobRecords = new Counter({
      name: 'bulksync_indexing_records_total',
      help: 'Records re-derived by the worker of this process, by indexer',
      labelNames: ['indexer'],
      registers,
    });
    this.syncJobDuration = new Histogram({
      name: 'bulksync_sync_job_duration_seconds',
      help: 'Runs of async sync jobs by the worker of this process, by outcome (succeeded, failed, cancelled, retry)',
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.replays = new Counter({
      name: 'bulksync_idempotent_replays_total',
      help: 'Sync requests answered with the stored answer of their Idempotency-Key (Idempotent-Replayed: true)',
      registers,
    });
    new Gauge({
      name: 'bulksync_sync_jobs',
      help: 'Async sync jobs by status (kept SYNC_JOB_RETENTION_DAYS)',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await sources.syncJobs().catch(() => undefined);
        if (!counts) return;
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'bulksync_indexing_jobs',
      help: 'Indexing jobs in the queue by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const row = await sources.queue().catch(() => undefined);
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
      registers,
      async collect() {
        const ids = await sources.pendingIds().catch(() => undefined);
        if (!ids) return;
        this.set({ state: 'pending' }, ids.pending);
        this.set({ state: 'dead' }, ids.dead);
      },
    });
    // Read from the delivery log, so that the numbers hold whichever process (API or worker) sent the deliveries.
    let stats: Promise<Awaited<ReturnType<MetricsSources['deliveries']>> | undefined> | undefined;
    const fresh = () => (stats ??= sources.deliveries().catch(() => undefined).finally(() => void setTimeout(() => (stats = undefined), 1000).unref()));
    new Gauge({
      name: 'bulksync_webhook_deliveries',
      help: 'Webhook deliveries in the log by status (queued, retrying, delivered, failed)',
      labelNames: ['status'],
      registers,
      async collect() {
        const s = await fresh();
        if (!s) return;
        for (const status of ['queued', 'retrying', 'delivered', 'failed']) this.set({ status }, s.byStatus[status] ?? 0);
      },
    });
    new Gauge({
      name: 'bulksync_webhook_queue_lag_seconds',
      help: 'Age of the oldest webhook event not delivered yet (0 when none waits)',
      registers,
      async collect() {
        const s = await fresh();
        if (s) this.set(s.lagSeconds);
      },
    });
    new Gauge({
      name: 'bulksync_webhook_delivery_latency_seconds',
      help: 'From event to delivery, over the deliveries of the last five minutes',
      labelNames: ['stat'],
      registers,
      async collect() {
        const s = await fresh();
        if (!s) return;
        this.set({ stat: 'mean' }, s.latencyMeanSeconds);
        this.set({ stat: 'max' }, s.latencyMaxSeconds);
      },
    });
    // Both lag gauges are collected in one scrape: the second shares the first's query while it is in flight.
    let lagInFlight: Promise<Map<string, { pending: number; oldestSeconds: number }> | undefined> | undefined;
    const readLag = () => {
      lagInFlight ??= sources
        .lag()
        .then((rows) => new Map(rows.map((r) => [r.indexer, r])), () => undefined)
        .finally(() => {
          lagInFlight = undefined;
        });
      return lagInFlight;
    };
    new Gauge({
      name: 'bulksync_indexing_queue_depth',
      help: 'Records waiting for a worker, per indexer (the pending list; failing ids included, dead ones not)',
      labelNames: ['indexer'],
      registers,
      async collect() {
        const rows = await readLag();
        if (!rows) return;
        for (const name of new Set([...indexerNames, ...rows.keys()])) this.set({ indexer: name }, rows.get(name)?.pending ?? 0);
      },
    });
    new Gauge({
      name: 'bulksync_indexing_oldest_pending_seconds',
      help: 'Age of the oldest record waiting for a worker, per indexer (0 when none waits): the indexing lag',
      labelNames: ['indexer'],
      registers,
      async collect() {
        const rows = await readLag();
        if (!rows) return;
        for (const name of new Set([...indexerNames, ...rows.keys()])) this.set({ indexer: name }, rows.get(name)?.oldestSeconds ?? 0);
      },
    });
    new Gauge({
      name: 'bulksync_db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = sources.pool();
        if (!pool) return;
        this.set({ state: 'used' }, pool.numUsed());
        this.set({ state: 'free' }, pool.numFree());
        this.set({ state: 'pending' }, pool.numPendingAcquires());
      },
    });
  }

  /** How a run of a sync chunk's commands was written. */
  writePath(path: WritePath): void {
    this.chunks.inc({ path });
  }

  /** A sync transaction is run again; `pgCode` 40P01 is a deadlock, 40001 a serialization failure. */
  retry(pgCode: string | undefined): void {
    this.retries.inc({ reason: pgCode === '40P01' ? 'deadlock' : pgCode === '40001' ? 'serialization' : 'other' });
  }

  request({ method, route, status, seconds }: FinishedRequest): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.requestDuration.observe(labels, seconds);
    if (status === 429) this.rateLimited.inc({ route });
  }

  sync(result: WrittenCounts | undefined, seconds: number, outcome: 'ok' | 'partial' | 'error'): void {
    this.syncDuration.observe({ outcome }, seconds);
    if (!result) return;
    for (const [entity, n] of result.countsOf('data')) this.recorded(entity, 'upsert', n);
    for (const [entity, n] of result.countsOf('deleted')) this.recorded(entity, 'delete', n);
  }

  job({ task, indexer, outcome, seconds, records }: IndexingJobRun): void {
    this.jobDuration.observe({ task, indexer, outcome }, seconds);
    if (records) this.jobRecords.inc({ indexer }, records);
  }

  syncJob(outcome: SyncJobOutcome, seconds: number): void {
    this.syncJobDuration.observe({ outcome }, seconds);
  }

  idempotentReplay(): void {
    this.replays.inc();
  }

  private recorded(entity: string, action: 'upsert' | 'delete', n: number): void {
    this.records.inc({ entity, action }, n);
    this.recordsPerRequest.observe({ entity, action }, n);
  }
}

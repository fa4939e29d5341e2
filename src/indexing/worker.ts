import { EventEmitter } from 'node:events';
import { run, type JobHelpers, type ParsedCronItem, type Runner, type Task, type TaskList, type WorkerEvents } from 'graphile-worker';
import type { Knex } from 'knex';
import { withConnection, withTransaction } from '../db/sql';
import { deliver, type DeliveryConfig, type DeliveryPayload } from '../events/deliver';
import type { FieldCipher } from '../definitions/field-cipher';
import type { JobObserver } from '../http/metrics';
import type { Logger } from '../logger';
import { WEBHOOK_TASK } from '../write/event-outbox';
import { drain } from './drain';
import { graphileLogger } from './graphile-logger';
import { markPending } from './pending';
import { enqueueFullIndex, ensureDrainJobs, FULL_INDEX_TASK, INDEX_TASK, type DrainPayload, type FullIndexPayload, type LegacyIndexPayload } from './queue';
import type { IndexerSet } from './registry';
import { recordFailure, recordSuccess } from './state';
import { releaseLostJobs } from './lost-workers';

export interface WorkerOptions {
  connectionString: string;
  knex: Knex;
  indexers: IndexerSet;
  concurrency: number;
  logger: Logger;
  maxAttempts: number;
  /** How often the worker says it is alive; a worker silent for 3 intervals is taken for dead. */
  heartbeatSeconds: number;
  /** Ids recomputed per transaction. */
  batchSize?: number;
  /** Webhook deliveries run on the same queue and workers (src/events/deliver.ts). */
  webhooks?: { cipher: FieldCipher; config: DeliveryConfig };
  /** Told of every job this worker ran (the metrics of the process, when it serves /metrics). */
  observer?: JobObserver;
  /** Other work on the same queue and workers (async sync jobs, src/jobs/tasks.ts), and its cron items. */
  extra?: { taskList: TaskList; cron: ParsedCronItem[] };
}

export interface IndexWorker {
  stop(): Promise<void>;
}

/**
 * Consumes the indexing queue (graphile-worker: retries with exponential backoff built in; a job that failed
 * maxAttempts times stays as a dead letter with its last error). Concurrency is graphile-worker's own bound;
 * jobs of one indexer share a named queue, so they run one at a time and in order.
 */
export async function startWorker(opts: WorkerOptions): Promise<IndexWorker> {
  const { knex, indexers, logger } = opts;
  const batchSize = opts.batchSize ?? 1000;

  /**
   * One line and one observation per job and indexer: ids, names and counts only. A payload never reaches a log
   * line (one of an older version carried every id: 780 KB for a large sync).
   */
  const finished = (helpers: JobHelpers, indexer: string, started: bigint, outcome: 'ok' | 'failed', records: number, extra: Record<string, unknown> = {}) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    opts.observer?.job(helpers.job.task_identifier, indexer, outcome, seconds, records);
    logger.log(outcome === 'ok' ? 'info' : 'warn', 'indexing job finished', {
      component: 'indexing',
      jobId: helpers.job.id,
      task: helpers.job.task_identifier,
      attempt: helpers.job.attempts,
      indexer,
      entity: indexers.get(indexer)?.entity.name,
      records,
      outcome,
      durationMs: Math.round(seconds * 1e6) / 1000,
      ...extra,
    });
  };

  const index: Task = async (payload, helpers) => {
    // A drain job names its indexer; a job queued by an older version carries ids, which join the pending list.
    const legacy = Array.isArray(payload) ? (payload as LegacyIndexPayload[]) : [];
    const names = legacy.length ? [...new Set(legacy.map((p) => p.indexer))] : [(payload as DrainPayload).indexer];
    if (legacy.length) await withTransaction(knex, (sql) => markPending(sql, legacy.map((p) => [p.indexer, p.ids] as const)), { retries: 3 });
    for (const name of names) {
      const started = process.hrtime.bigint();
      const ix = indexers.get(name);
      if (!ix) throw new Error(`unknown indexer ${name}`);
      try {
        const out = await drain({ knex, indexer: ix, batchSize, maxAttempts: opts.maxAttempts });
        if (out.failed) {
          await recordFailure(knex, name, out.lastError);
          finished(helpers, name, started, 'failed', out.indexed, { failed: out.failed, error: out.lastError });
        } else {
          await recordSuccess(knex, name);
          finished(helpers, name, started, 'ok', out.indexed);
        }
      } catch (e) {
        await recordFailure(knex, name, e);
        finished(helpers, name, started, 'failed', 0, { error: (e as Error).message });
        throw e;
      }
    }
  };

  const fullIndex: Task = async (payload, helpers) => {
    const { indexer, after } = payload as FullIndexPayload;
    const started = process.hrtime.bigint();
    const ix = indexers.get(indexer);
    if (!ix) throw new Error(`unknown indexer ${indexer}`);
    try {
      const records = await withTransaction(
        knex,
        async (sql) => {
          const ids = await ix.batch(sql, after, batchSize);
          await ix.index(sql, ids);
          // The next batch is queued in the same transaction: a crash never loses the rest of a full re-index.
          if (ids.length === batchSize) await enqueueFullIndex(sql, indexer, ids[ids.length - 1]!, opts.maxAttempts);
          else await recordSuccess(knex, indexer);
          return ids.length;
        },
        { retries: 3 },
      );
      finished(helpers, indexer, started, 'ok', records);
    } catch (e) {
      await recordFailure(knex, indexer, e);
      finished(helpers, indexer, started, 'failed', 0, { error: (e as Error).message });
      throw e;
    }
  };

  const hooks = opts.webhooks;
  const webhookTasks: Record<string, Task> = hooks
    ? { [WEBHOOK_TASK]: (payload) => deliver({ knex, logger, ...hooks }, payload as DeliveryPayload) }
    : {};

  // Heartbeats: graphile-worker keeps a job locked by a worker that was killed (SIGKILL, OOM, lost machine) for
  // hours; a live worker releases the jobs and queues of workers that stopped beating. The emitter is ours so
  // that no worker is created before we listen.
  const workerIds = new Set<string>();
  const events: WorkerEvents = new EventEmitter();
  // Jobs are locked by the pool (or, in older modes, by a worker): record both.
  events.on('pool:create', ({ workerPool }) => workerIds.add(workerPool.id));
  events.on('worker:create', ({ worker }) => workerIds.add(worker.workerId));
  const runner: Runner = await run({
    connectionString: opts.connectionString,
    events,
    concurrency: opts.concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: graphileLogger(logger),
    taskList: { [INDEX_TASK]: index, [FULL_INDEX_TASK]: fullIndex, ...webhookTasks, ...opts.extra?.taskList },
    // Our cron items only: without this, graphile-worker looks for a ./crontab file at every start (logging at info
    // that it found none, and running whatever one a working directory happened to hold).
    parsedCronItems: opts.extra?.cron ?? [],
  });

  const beat = async () => {
    try {
      if (workerIds.size) {
        await knex.raw(
          `INSERT INTO bulksync_worker (worker_id, heartbeat_at) SELECT unnest(?::text[]), now()
           ON CONFLICT (worker_id) DO UPDATE SET heartbeat_at = now()`,
          [[...workerIds]],
        );
      }
      const released = await withTransaction(knex, (sql) => releaseLostJobs(sql, opts.heartbeatSeconds * 3), { retries: 2 });
      if (released.workers.length) logger.warn('released the jobs of workers that stopped', released);
      // The safety net: ids pending with no live job to drain them (its job died, or was deleted) get one.
      const added = await withConnection(knex, (sql) => ensureDrainJobs(sql, indexers.names(), opts.maxAttempts));
      if (added.length) logger.info('queued drain jobs for pending ids that had none', { indexers: added });
    } catch (e) {
      logger.warn('worker heartbeat failed', { error: (e as Error).message });
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), opts.heartbeatSeconds * 1000);
  timer.unref();
  logger.info('indexing worker started', { concurrency: opts.concurrency });

  return {
    async stop() {
      clearInterval(timer);
      // Graceful: jobs in hand finish or are released for another worker.
      await runner.stop();
      await knex.raw('DELETE FROM bulksync_worker WHERE worker_id = ANY(?::text[])', [[...workerIds]]).catch(() => undefined);
    },
  };
}

import { EventEmitter } from 'node:events';
import { makeWorkerUtils, run, type Runner, type Task, type WorkerEvents, type WorkerUtils } from 'graphile-worker';
import type { Knex } from 'knex';
import { withTransaction } from '../db/sql';
import type { Logger } from '../logger';
import { graphileLogger } from './graphile-logger';
import { enqueueFullIndex, FULL_INDEX_TASK, INDEX_TASK, type FullIndexPayload, type IndexJobPayload } from './queue';
import type { IndexerSet } from './registry';
import { recordFailure, recordSuccess } from './state';

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

  const index: Task = async (payload) => {
    // A batch job: every request that touched this indexer while the job waited appended its ids.
    const items = (Array.isArray(payload) ? payload : [payload]) as IndexJobPayload[];
    const byIndexer = new Map<string, Set<string>>();
    for (const it of items) {
      const s = byIndexer.get(it.indexer) ?? new Set<string>();
      for (const id of it.ids) s.add(id);
      byIndexer.set(it.indexer, s);
    }
    for (const [name, idSet] of byIndexer) {
      const ix = indexers.get(name);
      if (!ix) throw new Error(`unknown indexer ${name}`);
      const ids = [...idSet].sort();
      try {
        for (let i = 0; i < ids.length; i += batchSize) {
          await withTransaction(knex, (sql) => ix.index(sql, ids.slice(i, i + batchSize)), { retries: 3 });
        }
        await recordSuccess(knex, name);
      } catch (e) {
        await recordFailure(knex, name, e);
        throw e;
      }
    }
  };

  const fullIndex: Task = async (payload) => {
    const { indexer, after } = payload as FullIndexPayload;
    const ix = indexers.get(indexer);
    if (!ix) throw new Error(`unknown indexer ${indexer}`);
    try {
      await withTransaction(
        knex,
        async (sql) => {
          const ids = await ix.batch(sql, after, batchSize);
          await ix.index(sql, ids);
          // The next batch is queued in the same transaction: a crash never loses the rest of a full re-index.
          if (ids.length === batchSize) await enqueueFullIndex(sql, indexer, ids[ids.length - 1]!, opts.maxAttempts);
          else await recordSuccess(knex, indexer);
        },
        { retries: 3 },
      );
    } catch (e) {
      await recordFailure(knex, indexer, e);
      throw e;
    }
  };

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
    taskList: { [INDEX_TASK]: index, [FULL_INDEX_TASK]: fullIndex },
  });
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: opts.connectionString, logger: graphileLogger(logger) });

  const beat = async () => {
    try {
      if (workerIds.size) {
        await knex.raw(
          `INSERT INTO bulksync_worker (worker_id, heartbeat_at) SELECT unnest(?::text[]), now()
           ON CONFLICT (worker_id) DO UPDATE SET heartbeat_at = now()`,
          [[...workerIds]],
        );
      }
      const dead = await knex.raw<{ rows: { worker_id: string }[] }>(
        `DELETE FROM bulksync_worker WHERE heartbeat_at < now() - make_interval(secs => ?) RETURNING worker_id`,
        [opts.heartbeatSeconds * 3],
      );
      const ids = dead.rows.map((r) => r.worker_id);
      if (ids.length) {
        await utils.forceUnlockWorkers(ids);
        logger.warn('released the jobs of workers that stopped', { workers: ids });
      }
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
      await utils.release();
    },
  };
}

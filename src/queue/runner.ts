import { EventEmitter } from 'node:events';
import { run, runMigrations, type Runner, type WorkerEvents } from 'graphile-worker';
import type { Knex } from 'knex';
import pg from 'pg';
import { withConnection, withTransaction } from '../db/sql';
import type { Logger } from '../observability/logger';
import { graphileLogger } from './graphile-logger';
import { beat, forgetWorkers, releaseLostJobs } from './store';
import { mergeTasks, type QueueTasks } from './tasks';

/** How the queue's connections name themselves to PostgreSQL (pg_stat_activity.application_name). */
export const QUEUE_APPLICATION_NAME = 'bulksync-queue';

export interface QueueOptions {
  connectionString: string;
  knex: Knex;
  concurrency: number;
  logger: Logger;
  /** How often the worker says it is alive; a worker silent for 3 intervals is taken for dead. */
  heartbeatSeconds: number;
  /** What the rooms registered (indexing, webhook deliveries, async sync jobs). */
  tasks: readonly QueueTasks[];
}

export interface QueueWorker {
  stop(): Promise<void>;
}

/**
 * Runs the process's queue worker (graphile-worker: retries with exponential backoff built in; a job that failed
 * its max attempts stays as a dead letter with its last error) over the tasks the rooms registered. Concurrency is
 * graphile-worker's own bound. Heartbeats: graphile-worker keeps a job locked by a worker that was killed (SIGKILL,
 * OOM, lost machine) for hours; a live worker releases the jobs and queues of workers that stopped beating.
 */
export async function startQueue(opts: QueueOptions): Promise<QueueWorker> {
  const { knex, logger } = opts;
  const tasks = mergeTasks(opts.tasks);
  // The emitter is ours so that no worker is created before we listen. Jobs are locked by the pool (or, in older
  // modes, by a worker): record both.
  const workerIds = new Set<string>();
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => workerIds.add(workerPool.id));
  events.on('worker:create', ({ worker }) => workerIds.add(worker.workerId));
  // Our own pool, not one graphile-worker makes: it keeps its error listener until it has ended, so a connection the
  // server ends (a restart, a dropped database) while the worker stops is logged, never an unhandled 'error' that
  // kills the process; and stop() returns only once every connection is closed.
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.concurrency + 2, application_name: QUEUE_APPLICATION_NAME });
  pool.on('error', (e) => logger.warn('queue connection lost', { error: e.message }));
  let runner: Runner;
  try {
    runner = await run({
      pgPool: pool,
      events,
      concurrency: opts.concurrency,
      noHandleSignals: true,
      pollInterval: 1000,
      logger: graphileLogger(logger),
      taskList: tasks.taskList,
      // Our cron items only: without this, graphile-worker looks for a ./crontab file at every start (logging at info
      // that it found none, and running whatever one a working directory happened to hold).
      parsedCronItems: tasks.cron,
    });
  } catch (e) {
    await pool.end();
    throw e;
  }

  const heartbeat = async () => {
    try {
      if (workerIds.size) await withConnection(knex, (sql) => beat(sql, [...workerIds]));
      const released = await withTransaction(knex, (sql) => releaseLostJobs(sql, opts.heartbeatSeconds * 3), { retries: 2 });
      if (released.workers.length) logger.warn('released the jobs of workers that stopped', released);
      await tasks.onBeat();
    } catch (e) {
      logger.warn('worker heartbeat failed', { error: (e as Error).message });
    }
  };
  await heartbeat();
  const timer = setInterval(() => void heartbeat(), opts.heartbeatSeconds * 1000);
  timer.unref();
  logger.info('queue worker started', { concurrency: opts.concurrency, tasks: Object.keys(tasks.taskList) });

  return {
    async stop() {
      clearInterval(timer);
      // Graceful: jobs in hand finish or are released for another worker.
      await runner.stop();
      await pool.end();
      await withConnection(knex, (sql) => forgetWorkers(sql, [...workerIds])).catch(() => undefined);
    },
  };
}

/** Creates or upgrades graphile-worker's schema (its own migrations, separate from ours). */
export async function migrateQueue(connectionString: string): Promise<void> {
  await runMigrations({ connectionString, logger: undefined });
}

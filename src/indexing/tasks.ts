import type { JobHelpers, Task } from 'graphile-worker';
import type { Knex } from 'knex';
import { withConnection, withTransaction } from '../db/sql';
import type { Logger } from '../observability/logger';
import type { JobObserver } from '../observability/observers';
import type { QueueTasks } from '../queue/tasks';
import { drain } from './drain';
import { recordFailure, recordSuccess } from './sql/indexer-runs';
import { markPending } from './sql/pending-list';
import { enqueueFullIndex, ensureDrainJobs, FULL_INDEX_TASK, INDEX_TASK, type DrainPayload, type FullIndexPayload, type LegacyIndexPayload } from './sql/queue-jobs';
import type { IndexerSet } from './registry';

export interface IndexingTasksContext {
  knex: Knex;
  indexers: IndexerSet;
  logger: Logger;
  maxAttempts: number;
  /** Ids recomputed per transaction. */
  batchSize?: number;
  /** Told of every job run (the metrics of the process, when it serves /metrics). */
  observer?: JobObserver;
}

/** One indexer's run inside a job, as it is logged and observed. */
interface IndexerRun {
  helpers: JobHelpers;
  indexer: string;
  started: bigint;
  outcome: 'ok' | 'failed';
  records: number;
  extra?: Record<string, unknown>;
}

/**
 * What indexing registers with the queue: drain jobs (one queue per indexer, so they run one at a time and in
 * order), full re-index jobs, and the heartbeat's safety net (ids pending with no live job to drain them get one).
 */
export function indexingTasks(ctx: IndexingTasksContext): QueueTasks {
  const { knex, indexers, logger } = ctx;
  const batchSize = ctx.batchSize ?? 1000;

  /**
   * One line and one observation per job and indexer: ids, names and counts only. A payload never reaches a log
   * line (one of an older version carried every id: 780 KB for a large sync).
   */
  const finished = ({ helpers, indexer, started, outcome, records, extra = {} }: IndexerRun) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    ctx.observer?.job({ task: helpers.job.task_identifier, indexer, outcome, seconds, records });
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
    for (const indexer of names) {
      const started = process.hrtime.bigint();
      const ix = indexers.get(indexer);
      if (!ix) throw new Error(`unknown indexer ${indexer}`);
      try {
        const out = await drain({ knex, indexer: ix, batchSize, maxAttempts: ctx.maxAttempts });
        if (out.failed) {
          await recordFailure(knex, indexer, out.lastError);
          finished({ helpers, indexer, started, outcome: 'failed', records: out.indexed, extra: { failed: out.failed, error: out.lastError } });
        } else {
          await recordSuccess(knex, indexer);
          finished({ helpers, indexer, started, outcome: 'ok', records: out.indexed });
        }
      } catch (e) {
        await recordFailure(knex, indexer, e);
        finished({ helpers, indexer, started, outcome: 'failed', records: 0, extra: { error: (e as Error).message } });
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
          if (ids.length === batchSize) await enqueueFullIndex(sql, indexer, ids[ids.length - 1]!, ctx.maxAttempts);
          else await recordSuccess(knex, indexer);
          return ids.length;
        },
        { retries: 3 },
      );
      finished({ helpers, indexer, started, outcome: 'ok', records });
    } catch (e) {
      await recordFailure(knex, indexer, e);
      finished({ helpers, indexer, started, outcome: 'failed', records: 0, extra: { error: (e as Error).message } });
      throw e;
    }
  };

  return {
    taskList: { [INDEX_TASK]: index, [FULL_INDEX_TASK]: fullIndex },
    onBeat: async () => {
      const added = await withConnection(knex, (sql) => ensureDrainJobs(sql, indexers.names(), ctx.maxAttempts));
      if (added.length) logger.info('queued drain jobs for pending ids that had none', { indexers: added });
    },
  };
}

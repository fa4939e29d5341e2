import type { Task } from 'graphile-worker';
import type { Knex } from 'knex';
import { withConnection } from '../db/sql';
import type { Logger } from '../observability/logger';
import { pruneKeys } from '../write/idempotency-keys';
import { pruneJobs } from '../write/sync-jobs';

export const PRUNE_TASK = 'bulksync_prune_imports';

/**
 * Hourly on the queue (graphile-worker's cron: one run per hour across all workers, not a timer in each API
 * process): expired idempotency keys, and jobs with their bodies past SYNC_JOB_RETENTION_DAYS. Each row carries its
 * own expiry, set when it was written, so the pruner needs no settings.
 */
export const PRUNE_CRONTAB = `17 * * * * ${PRUNE_TASK}`;

export function pruneTask(knex: Knex, logger: Logger): Task {
  return async () => {
    const keys = await withConnection(knex, pruneKeys);
    const jobs = await withConnection(knex, pruneJobs);
    logger.info('pruned idempotency keys and sync jobs', { component: 'sync-jobs', keys, jobs });
  };
}
